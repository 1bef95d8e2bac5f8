"""Module's device and dtype conversion: `to`, `cuda`, `cpu`, `float`, `half`... via `_apply`."""
from ... import __future__
from ..._toplevel import _has_compatible_shallow_copy_type
from ...autograd.grad_mode import no_grad
from ...utils import swap_tensors
from ..parameter import Parameter


def _set_data(tensor, applied):
    """Whether a conversion keeps `tensor` and sets its data (torch's compute_should_use_set_data)."""
    return (_has_compatible_shallow_copy_type(tensor, applied)
            and not __future__.get_overwrite_module_params_on_conversion())


class ConversionMixin:
    """Applying a function to every parameter, gradient and buffer (part of Module)."""

    def share_memory(self):
        return self._apply(lambda t: t.share_memory_())

    def _apply(self, fn, recurse=True):
        """fn applied to every parameter, gradient and buffer. A parameter keeps its object and
        takes the result as its data, unless ember.__future__ asks for new Parameters or swapped
        ones, or the result is another kind of tensor (to or from "meta", dense to sparse)."""
        if recurse:
            for module in self.children():
                module._apply(fn)
        for key, param in self._parameters.items():
            if param is None:
                continue
            with no_grad():
                applied = fn(param)
            swap = __future__.get_swap_module_params_on_conversion()
            grad = param.grad
            if swap:
                try:
                    if grad is not None:
                        param.grad = None
                    swap_tensors(param, Parameter(applied, requires_grad=param.requires_grad))
                except Exception as e:
                    if grad is not None:
                        param.grad = grad
                    raise RuntimeError(f"_apply(): Couldn't swap {self._get_name()}.{key}") from e
                out = param
            elif _set_data(param, applied):
                param.data = applied
                out = param
            else:
                out = self._parameters[key] = Parameter(applied, param.requires_grad)
            if grad is None:
                continue
            with no_grad():
                grad_applied = fn(grad)
            if swap:
                grad_applied.requires_grad_(grad.requires_grad)
                try:
                    swap_tensors(grad, grad_applied)
                except Exception as e:
                    raise RuntimeError(
                        f"_apply(): Couldn't swap {self._get_name()}.{key}.grad") from e
                out.grad = grad
            elif _set_data(grad, grad_applied):
                out.grad.data = grad_applied
            else:
                out.grad = grad_applied.requires_grad_(grad.requires_grad)
        for key, buf in self._buffers.items():
            if buf is not None:
                self._buffers[key] = fn(buf)
        return self

    def to(self, *args, **kwargs):
        from ...ops.creation import _parse_to
        kwargs = dict(kwargs)
        fmt = kwargs.pop("memory_format", None)
        device, dtype, copy = _parse_to(args, kwargs)
        if copy:
            raise RuntimeError(".to() does not accept copy argument")
        if dtype is not None:
            if not (dtype.is_floating_point or dtype.is_complex):
                raise TypeError("nn.Module.to only accepts floating point or complex dtypes, but "
                                f"got desired dtype={dtype}")
            if dtype.is_complex:
                import warnings
                warnings.warn(
                    "Complex modules are a new feature under active development whose design may "
                    "change, and some modules might not work as expected when using complex "
                    "tensors as parameters or buffers. Please file an issue at https://github.com"
                    "/pytorch/pytorch/issues/new?template=bug-report.yml if a complex module does "
                    "not work as expected.", stacklevel=2)

        def convert(t):
            if dtype is not None and (t.is_floating_point() or t.is_complex()):
                t = t.to(device, dtype) if device is not None else t.to(dtype)
            elif device is not None:
                t = t.to(device)
            if fmt is not None and t.ndim in (4, 5):     # torch: 4-d and 5-d tensors only
                t = t.to(memory_format=fmt)
            return t
        return self._apply(convert)

    def cuda(self, device=None):
        return self._apply(lambda t: t.cuda(device))

    def cpu(self):
        return self._apply(lambda t: t.cpu())

    def xpu(self, device=None):
        return self._apply(lambda t: t.xpu(device))

    def ipu(self, device=None):
        return self._apply(lambda t: t.ipu(device))

    def mtia(self, device=None):
        return self._apply(lambda t: t.mtia(device))

    def type(self, dst_type):
        return self._apply(lambda t: t.type(dst_type))

    def _float_cast(dtype_name):
        def fn(self):
            from ... import _dtype
            dt = getattr(_dtype, dtype_name)
            return self._apply(lambda t: t.to(dt) if t.is_floating_point() else t)
        fn.__name__ = {"float32": "float", "float64": "double", "float16": "half",
                       "bfloat16": "bfloat16"}[dtype_name]
        return fn

    float = _float_cast("float32")
    double = _float_cast("float64")
    half = _float_cast("float16")
    bfloat16 = _float_cast("bfloat16")
    del _float_cast

    def to_empty(self, *, device=None, recurse=True):
        from ...ops.creation import empty_like
        return self._apply(lambda t: empty_like(t, device=device), recurse=recurse)
