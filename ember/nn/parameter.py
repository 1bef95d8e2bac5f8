"""Parameter, Buffer and the uninitialised (lazy) variants: torch.nn.parameter."""
from .._torch_function import _disabled_torch_function_impl
from .._tensor import Tensor, _init_from

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


def _share(dst, src):
    """Make `dst` an alias of `src`'s storage (and version counter), as _make_subclass does."""
    _init_from(dst, src.arr, src.be)
    if src._vc is None:
        src._vc = [0, 0]
    dst._vc = src._vc


class _ParameterMeta(type):
    """`isinstance(t, Parameter)` also holds for a tensor subclass instance flagged `_is_param`
    (what Parameter(instance of a subclass) returns)."""

    def __instancecheck__(cls, instance):
        if cls is Parameter and isinstance(instance, Tensor) and \
                getattr(instance, "_is_param", False):
            return True
        return super().__instancecheck__(instance)


class Parameter(Tensor, metaclass=_ParameterMeta):
    """A Tensor that a Module registers as a parameter when assigned as an attribute.

    As torch, Parameter(t) of a tensor subclass's instance is that subclass: a detached alias
    of `t` flagged `_is_param`."""
    __torch_function__ = _disabled_torch_function_impl      # ops on it return plain Tensors

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):    # (torch calls data.detach() on whatever it got)
            raise AttributeError(f"'{type(data).__name__}' object has no attribute 'detach'")
        if type(data) not in (Tensor, Parameter, _FlaggedTensor):   # (a Buffer is a Tensor)
            t = data.detach().requires_grad_(requires_grad)
            if type(t) is not type(data):
                raise RuntimeError(
                    f"Creating a Parameter from an instance of type {type(data).__name__} "
                    "requires that detach() returns an instance of the same type, but return "
                    f"type {type(t).__name__} was found instead. To use the type as a "
                    "Parameter, please correct the detach() semantics defined by its "
                    "__torch_dispatch__() implementation.")
            t._is_param = True
            return t
        self = object.__new__(cls)
        _share(self, data)
        if requires_grad:
            if not (self.is_floating_point() or self.is_complex()):
                raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                                   "gradients")
            # (not a placeholder's refusing requires_grad_, nor the check torch's
            # requires_grad_ makes under torch.func's transforms: torch makes a Parameter there)
            Tensor._requires_grad_(self, True)
        return self

    def __init__(self, *args, **kwargs):
        pass

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(), self.requires_grad)
        memo[id(self)] = result
        return result

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (self.detach(), self.requires_grad, type(self)))


def _rebuild_parameter(data, requires_grad, cls=Parameter):
    return cls(data, requires_grad)


class _BufferMeta(type):
    def __instancecheck__(cls, instance):
        if cls is Buffer:
            return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """torch.nn.Buffer: a marker; assigning one to a Module registers a buffer.

    Like torch, `Buffer(t)` returns a plain detached Tensor flagged as a buffer."""
    __torch_function__ = _disabled_torch_function_impl

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        t = object.__new__(Tensor)
        _share(t, data.detach())
        t._is_buffer, t.persistent = True, persistent
        return t


class _FlaggedTensor(Tensor):
    """UninitializedBuffer's base: a Tensor whose ops return plain Tensors."""
    __torch_function__ = _disabled_torch_function_impl

    def __init__(self, *args, **kwargs):
        pass

    def __repr__(self):
        return Tensor.__repr__(self)


class UninitializedTensorMixin:
    """Shape-less placeholder of the lazy modules; `materialize` turns it into a real tensor."""
    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None):
        from ..ops.creation import empty
        if device is None:
            device = self.device
        if dtype is None:
            dtype = self.dtype
        t = empty((shape,) if isinstance(shape, int) else tuple(shape), device=device, dtype=dtype)
        requires_grad = self.requires_grad
        _share(self, t)
        self.requires_grad = requires_grad
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes.")

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call "
                           "`forward` to initialize the parameters before calling "
                           "`module.share_memory()`.")

    def __repr__(self):
        return f"<{self.__class__.__name__}>"

    def __reduce_ex__(self, proto):
        return (self.__class__, (self.requires_grad,))


# torch's UninitializedTensorMixin.__torch_function__ refuses every Tensor method but these
# (ember gives the placeholders raising methods instead: a __torch_function__ here would turn
# on ember's dispatchers for every call of every program)
_LAZY_ALLOWED = {"size", "copy_", "is_complex", "is_floating_point", "half", "float", "double",
                 "char", "short", "int", "long", "cuda", "cpu", "to", "get_device",
                 "materialize", "share_memory_"}
# what torch's message names the refused function by: its aten method (dunders and aliases
# through the method they call), a slot wrapper, or (None) a function of torch's Python Tensor
_LAZY_NAMES = {"__add__": "add", "__radd__": "add", "__iadd__": "add_", "__sub__": "sub",
               "__isub__": "sub_", "__mul__": "mul", "__rmul__": "mul", "__imul__": "mul_",
               "__truediv__": "div", "__itruediv__": "div_", "__matmul__": "matmul",
               "__neg__": "neg", "__abs__": "abs", "__mod__": "remainder", "__lt__": "lt",
               "__le__": "le", "__gt__": "gt", "__ge__": "ge", "__iter__": "dim",
               "ndimension": "dim", "nelement": "numel", "__pow__": "TensorBase.pow",
               "__getitem__": "slot", "__setitem__": "slot"}
_LAZY_NAMES.update(dict.fromkeys((
    "__eq__", "__ne__", "__and__", "__or__", "__xor__", "__invert__", "__bool__", "__float__",
    "__int__", "__index__")))
_LAZY_NAMES.update((k, k) for k in list(_LAZY_NAMES) if _LAZY_NAMES[k] is None)
_TORCH_PYTHON_METHODS = {
    "__array__", "__contains__", "__dir__", "__floordiv__", "__format__", "__len__",
    "__rdiv__", "__reversed__", "__rfloordiv__", "__rlshift__", "__rmatmul__", "__rmod__",
    "__rpow__", "__rrshift__", "__rsub__", "__rtruediv__", "backward", "dim_order", "is_shared",
    "istft", "lu", "module_load", "norm", "register_hook", "register_post_accumulate_grad_hook",
    "resize", "resize_as", "split", "stft", "storage", "storage_type", "to_sparse_coo",
    "unflatten", "unique", "unique_consecutive"}


def _lazy_refusal(name):
    torch_name = _LAZY_NAMES.get(name, name)

    def refused(self, *args, **kwargs):
        if torch_name == "slot":
            func = f"<slot wrapper '{name}' of 'torch._C.TensorBase' objects>"
        elif torch_name.startswith("TensorBase.") or name in _TORCH_PYTHON_METHODS:
            func = f"<function {'Tensor.' + name if name == torch_name else torch_name} at " \
                f"{id(refused):#x}>"
        else:
            func = f"<method '{torch_name}' of 'torch._C.TensorBase' objects>"
        raise ValueError(f"Attempted to use an uninitialized parameter in {func}. This error "
                         "happens when you are using a `LazyModule` or explicitly manipulating "
                         f"`torch.nn.parameter.{type(self).__name__}` objects. When using "
                         "LazyModules Call `forward` with a dummy batch to initialize the "
                         "parameters before calling torch functions")
    refused.__name__ = name
    return refused


def _refuse_tensor_methods(cls):
    """Gives the placeholder class a refusing method for each of Tensor's methods that torch's
    __torch_function__ would refuse (properties, dtype and device, stay readable)."""
    import types
    attrs = {}          # Tensor's attributes as its class dicts hold them, nearest class last
    for k in reversed(Tensor.__mro__):      # (inspect.getattr_static per name: 30x slower)
        attrs.update(vars(k))
    for name, value in attrs.items():
        if name in _LAZY_ALLOWED or name in vars(cls) or \
                name.startswith("_") and name not in _LAZY_NAMES and \
                name not in _TORCH_PYTHON_METHODS:
            continue
        if isinstance(value, types.FunctionType):
            setattr(cls, name, _lazy_refusal(name))


_refuse_tensor_methods(UninitializedTensorMixin)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        from ..ops.creation import empty
        return Parameter.__new__(cls, empty(0, device=device, dtype=dtype), requires_grad)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.requires_grad, self.device, self.dtype)
        memo[id(self)] = result
        return result


class UninitializedBuffer(UninitializedTensorMixin, _FlaggedTensor):
    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        from ..ops.creation import empty
        t = object.__new__(cls)
        _share(t, empty(0, device=device, dtype=dtype))
        t.requires_grad = requires_grad
        t._is_buffer, t.persistent = True, persistent
        return t


def is_lazy(param):
    return isinstance(param, UninitializedTensorMixin)
