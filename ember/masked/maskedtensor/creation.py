"""torch.masked's MaskedTensor constructors."""
from ... import _torch_function
from .core import MaskedTensor, _check_arguments, _check_members, wrap

__all__ = ["as_masked_tensor", "masked_tensor"]


def masked_tensor(data, mask, requires_grad=False):
    return MaskedTensor(data, mask, requires_grad)


def as_masked_tensor(data, mask):
    """A MaskedTensor of `data` that stays in data's graph (torch's differentiable
    constructor: gradients flow back to data)."""
    from ...autograd.function import Function

    class Constructor(Function):
        @staticmethod
        def forward(ctx, data, mask):
            return data.clone()

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output, None
    _check_arguments(data, mask, 2)
    _check_members(data, mask)
    with _torch_function.DisableTorchFunctionSubclass():
        out = Constructor.apply(data, mask)
    return wrap(out, mask.clone())
