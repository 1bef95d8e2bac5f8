"""ember.func: torch.func's composable function transforms.

grad, vjp, jacrev and hessian run on ember's tape; jvp and jacfwd use the double-vjp trick
(ember has no forward-mode AD); vmap loops over the mapped dimension (ember has no batched
tensors). See _autodiff and _vmap for how results can differ from torch's."""
from ..nn.utils.stateless import func_functional_call as functional_call
from ._autodiff import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, linearize, vjp
from ._ensemble import replace_all_batch_norm_modules_, stack_module_state
from ._functionalize import functionalize
from ._vmap import vmap

__all__ = ["functional_call", "grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev",
           "jacfwd", "hessian", "vmap", "stack_module_state", "replace_all_batch_norm_modules_",
           "functionalize", "debug_unwrap"]


def debug_unwrap(tensor, *, recurse=True):
    """torch.func.debug_unwrap: the tensor under a transform's wrapper; ember's transforms
    wrap none (vmap runs per sample, grad on plain tensors), so the tensor itself."""
    return tensor
