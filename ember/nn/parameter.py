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
            self.requires_grad_(True)
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

    # torch's __torch_function__ refuses every call but a few: those that ember's own methods
    # answer for an empty tensor say so as torch does (ember has no dispatch on this class)
    def _refuse(self, name):
        return ValueError(
            f"Attempted to use an uninitialized parameter in <method '{name}' of "
            "'torch._C.TensorBase' objects>. This error happens when you are using a "
            "`LazyModule` or explicitly manipulating `torch.nn.parameter."
            f"{type(self).__name__}` objects. When using LazyModules Call `forward` with a "
            "dummy batch to initialize the parameters before calling torch functions")

    def numel(self):
        raise self._refuse("numel")

    nelement = numel

    def dim(self):
        raise self._refuse("dim")

    def stride(self, dim=None):
        raise self._refuse("stride")

    def __repr__(self):
        return f"<{self.__class__.__name__}>"

    def __reduce_ex__(self, proto):
        return (self.__class__, (self.requires_grad,))


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
