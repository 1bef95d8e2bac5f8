"""parameters_to_vector / vector_to_parameters."""
import numpy as np

from ..._tensor import Tensor, _new
from ..modules.module import _typename

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_param_device(param, old_param_device):
    if old_param_device is None:
        return param.get_device() if param.device.type == "cuda" else -1
    warn = param.get_device() != old_param_device if param.device.type == "cuda" \
        else old_param_device != -1
    if warn:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")
    return old_param_device


def parameters_to_vector(parameters):
    from ...ops.shape import cat
    device = None
    vec = []
    for param in parameters:
        device = _check_param_device(param, device)
        vec.append(param.view(-1))
    return cat(vec)


def vector_to_parameters(vec, parameters):
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {_typename(vec)}")
    a, be = vec.arr, vec.be
    if type(a) is np.ndarray and a.ndim == 1 and a.flags.c_contiguous and be.name == "cpu":
        parameters = list(parameters)
        if all(getattr(p, "be", None) is be and type(p.arr) is np.ndarray for p in parameters) \
                and sum(p.arr.size for p in parameters) <= a.size:
            # the loop below without its ops: `.data` of the slice's view is a new tensor on
            # the same memory (no version counter, no graph), all on the CPU
            pointer = 0
            for param in parameters:
                shape = param.arr.shape
                n = param.arr.size
                param.data = _new(a[pointer:pointer + n].reshape(shape), be)
                pointer += n
            return
    device = None
    pointer = 0
    for param in parameters:
        device = _check_param_device(param, device)
        n = param.numel()
        param.data = vec[pointer:pointer + n].view_as(param).data
        pointer += n
