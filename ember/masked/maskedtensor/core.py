"""torch.masked.MaskedTensor (a prototype API in torch): a tensor with a boolean mask of the
elements that are specified. Unary and binary operations keep the mask (binary ones require equal
masks), reductions leave the masked-out elements out (through torch.masked's functions) and are
masked where a lane had none, shape operations (views, slices, cat, stack ...) apply to the data
and the mask alike; other operations are refused as torch's dispatch refuses them.

torch builds it on __torch_dispatch__ over ATen operators; ember has no such level, so the
rules are applied by __torch_function__ to the public functions, as torch's composites reach
them. The tensor itself holds the data (so autograd runs through it); gradients come out as
MaskedTensors with the leaf's mask. Strided layouts only (torch's sparse COO/CSR masked tensors
are refused)."""
import warnings

from ... import _torch_function
from ..._layout import strided
from ..._tensor import Tensor, _as

__all__ = ["MaskedTensor", "is_masked_tensor"]

_TORCH_CLASS = "<class 'torch.masked.maskedtensor.core.MaskedTensor'>"
_DTYPES = ("float16", "float32", "float64", "bool", "int8", "int16", "int32", "int64")


def is_masked_tensor(obj, /):
    """Returns True if the input is a MaskedTensor, else False."""
    return isinstance(obj, MaskedTensor)


def _prototype_warning(stacklevel):
    warnings.warn("The PyTorch API of MaskedTensors is in prototype stage and will change in the "
                  "near future. Please open a Github issue for features requests and see our "
                  "documentation on the torch.masked module for further information about the "
                  "project.", UserWarning, stacklevel=stacklevel + 1)


class MaskedTensor(Tensor):
    def __new__(cls, data, mask, requires_grad=False):
        _check_arguments(data, mask, 3)
        if requires_grad and not (data.is_floating_point() or data.is_complex()):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        with _torch_function.DisableTorchFunctionSubclass():
            t = Tensor._make_subclass(cls, data.detach().clone(), requires_grad)
            t._masked_mask = mask.clone()
        return t

    def __init__(self, data, mask, requires_grad=False):
        _check_members(data, mask)

    def __repr__(self):
        formatter = "{0:8.4f}"
        data, mask = _plain(self), self._masked_mask
        if data.dim() == 0:
            value = data.item()
            text = formatter.format(value) if isinstance(value, float) else str(value)
            if not mask.item():
                text = "--"
            return f"MaskedTensor({text}, {mask.item()})"
        s = _masked_tensor_str(data, mask, formatter)
        s = "\n".join("  " + si for si in s.split("\n"))
        return "MaskedTensor(\n" + s + "\n)"

    __str__ = __repr__

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        from ._ops import handle
        kwargs = kwargs or {}
        if not all(issubclass(cls, t) for t in types):
            return NotImplemented
        return handle(func, args, kwargs)

    def get_data(self):
        from ...autograd.function import Function

        class GetData(Function):
            @staticmethod
            def forward(ctx, self):
                return _plain(self)

            @staticmethod
            def backward(ctx, grad_output):
                return grad_output
        with _torch_function.DisableTorchFunctionSubclass():
            return GetData.apply(self)

    def get_mask(self):
        return self._masked_mask

    def to_tensor(self, value):
        return self.get_data().masked_fill(~self.get_mask(), value)

    def is_sparse_coo(self):
        return False

    def is_sparse_csr(self):
        return False

    @property
    def is_sparse(self):
        return False


def _check_arguments(data, mask, stacklevel):
    """torch's MaskedTensor.__new__: the argument types, then its warnings. (Dispatch is
    installed here: a test may have put the plain functions back since the class was made.)"""
    _torch_function.enable()
    if is_masked_tensor(data) or not isinstance(data, Tensor):
        raise TypeError("data must be a Tensor")
    if is_masked_tensor(mask) or not isinstance(mask, Tensor):
        raise TypeError("mask must be a Tensor")
    _prototype_warning(stacklevel)
    if data.requires_grad:
        warnings.warn("It is not recommended to create a MaskedTensor with a tensor that "
                      "requires_grad. To avoid this, you can use data.detach().clone()",
                      UserWarning, stacklevel=stacklevel)


def _check_members(data, mask):
    """torch's MaskedTensor.__init__ checks (_preprocess_data, _validate_members) for strided
    data and mask; sparse ones are refused."""
    if data.layout != mask.layout:
        raise TypeError("data and mask must have the same layout.")
    if data.layout is not strided:
        raise NotImplementedError(f"MaskedTensor of {data.layout} tensors is not supported in "
                                  "ember (strided tensors only)")
    if type(data) is not type(mask):
        raise TypeError(f"data and mask must have the same type. Got {type(data)} and "
                        f"{type(mask)}")
    if mask.dtype.name != "bool":
        raise TypeError("mask must have dtype bool.")
    if data.dtype.name not in _DTYPES:
        raise TypeError(f"{data.dtype} is not supported in MaskedTensor.")
    if data.dim() != mask.dim():
        raise ValueError("data.dim() must equal mask.dim()")
    if data.size() != mask.size():
        raise ValueError("data.size() must equal mask.size()")


def _plain(t):
    """A MaskedTensor's data as a plain tensor (no graph)."""
    with _torch_function.DisableTorchFunctionSubclass():
        return Tensor.detach(t)


def wrap(result, mask):
    """An operation's plain result (fresh, with its graph) as a MaskedTensor, unchecked and
    without the prototype warning (torch's results are made inside its dispatch)."""
    t = _as(MaskedTensor, result)
    t._masked_mask = mask
    return t


def _masked_tensor_str(data, mask, formatter):
    if data.dim() == 1:
        items = [formatter.format(d.item()) if isinstance(d.item(), float) else str(d.item())
                 for d in data]
        hidden = (~mask).tolist()
        max_len = max(8 if h else len(e) for e, h in zip(items, hidden))
        return "[" + ", ".join("--".rjust(max_len) if h else e
                               for e, h in zip(items, hidden)) + "]"
    subs = [_masked_tensor_str(d, m, formatter) for d, m in zip(data, mask)]
    subs = ["\n".join("  " + si for si in s.split("\n")) for s in subs]
    return "[\n" + ",\n".join(subs) + "\n]"
