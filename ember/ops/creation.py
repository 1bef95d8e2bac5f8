"""Tensor factories, conversions between dtypes and devices, and random sampling."""
import builtins
import math

import numpy as np

from .. import _dtype
from .._dtype import DEFAULT, OF_NP, to_dtype
from .._tensor import Tensor, _new, bump_version
from ..autograd.grad_mode import STATE as _grad
from ..autograd.node import Node
from ..backends import CPU, device as _device_cls, get_backend
from ._registry import op
from .random import rng_for

_py_float, _py_int, _py_bool = float, int, bool


def _size(args):
    """Shapes may be given as f(2, 3), f((2, 3)), f([2, 3]) or f(torch.Size)."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer, Tensor)):
        args = tuple(args[0])
    out = []
    for s in args:
        try:
            s = s.__index__()
        except AttributeError:
            raise TypeError(f"size must be tuple of ints, but got {type(s).__name__}") from None
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(args)}")
        out.append(s)
    return tuple(out)


def _finish(arr, be, requires_grad):
    t = _new(arr, be)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _np_dtype(dtype, default=None):
    if dtype is None:
        return (default or DEFAULT.float).np
    return to_dtype(dtype).np


def _infer_dtype(data):
    """torch's dtype inference for nested Python data."""
    kinds = set()
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            kinds.add(x.dtype)
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, _py_bool) or isinstance(x, np.bool_):
            kinds.add("bool")
        elif isinstance(x, (_py_int, np.integer)):
            kinds.add("int")
        elif isinstance(x, (_py_float, np.floating)):
            kinds.add("float")
        elif isinstance(x, (complex, np.complexfloating)):
            kinds.add("complex")
        elif isinstance(x, str):
            raise TypeError(f"new(): invalid data type 'str'")
        else:
            raise TypeError(f"Could not infer dtype of {type(x).__name__}")
    dts = [k for k in kinds if not isinstance(k, str)]
    names = {k for k in kinds if isinstance(k, str)}
    rank = [DEFAULT.complex if "complex" in names else None,
            DEFAULT.float if "float" in names else None,
            _dtype.int64 if "int" in names else None,
            _dtype.bool_ if "bool" in names else None]
    out = None
    for d in dts + [r for r in rank if r is not None]:
        out = d if out is None else _dtype.PROMOTE[out, d]
    return out or DEFAULT.float


def _to_array(data, dtype):
    """Host ndarray from data (no copy promised)."""
    if isinstance(data, Tensor):
        a = data._host()
        return a if dtype is None else a.astype(to_dtype(dtype).np)
    if isinstance(data, np.ndarray):
        if data.dtype.kind in "OUS":
            raise TypeError(f"can't convert np.ndarray of type numpy.{data.dtype.name}")
        return data if dtype is None else data.astype(to_dtype(dtype).np)
    if hasattr(data, "__cuda_array_interface__") or type(data).__module__.startswith("cupy"):
        a = data.get()
        return a if dtype is None else a.astype(to_dtype(dtype).np)
    if isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    d = to_dtype(dtype) if dtype is not None else _infer_dtype(data)
    if isinstance(data, (list, tuple)):
        data = _flatten_tensors(data)
    try:
        return np.array(data, dtype=d.np)
    except ValueError as e:
        if "sequence" in str(e) or "inhomogeneous" in str(e):
            raise ValueError(f"expected sequence of length ... at dim ... ({e})") from None
        raise


def _flatten_tensors(data):
    if isinstance(data, Tensor):
        return data._host()
    if isinstance(data, (list, tuple)):
        return [_flatten_tensors(x) for x in data]
    return data


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    be = get_backend(device)
    a = _to_array(data, dtype)
    if isinstance(data, (Tensor, np.ndarray)) or not a.flags.owndata:
        a = a.copy()
    return _finish(be.from_host(a) if be is not CPU else a, be, requires_grad)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (dtype or device) else data
    be = get_backend(device)
    a = _to_array(data, dtype)
    return _new(be.from_host(a) if be is not CPU else a, be)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    t = as_tensor(obj, dtype, device) if not copy else tensor(obj, dtype, device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_numpy(ndarray):
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype.num not in OF_NP:
        raise TypeError(f"can't convert np.ndarray of type numpy.{ndarray.dtype.name}. The only "
                        "supported types are: float64, float32, float16, complex64, complex128, "
                        "int64, int32, int16, int8, uint8, and bool.")
    return _new(ndarray, CPU)


def from_dlpack(ext_tensor):
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    dev_type = ext_tensor.__dlpack_device__()[0] if hasattr(ext_tensor, "__dlpack_device__") \
        else 1
    if dev_type == 1:
        return _new(np.from_dlpack(ext_tensor), CPU)
    import cupy
    be = get_backend(f"cuda:{ext_tensor.__dlpack_device__()[1]}")
    return _new(cupy.from_dlpack(ext_tensor), be)


def _factory(fill):
    def fn(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
           pin_memory=False, memory_format=None):
        be = get_backend(device)
        return _finish(fill(be.xp, _size(size), _np_dtype(dtype)), be, requires_grad)
    return fn


zeros = _factory(lambda xp, s, d: xp.zeros(s, d))
ones = _factory(lambda xp, s, d: xp.ones(s, d))
empty = _factory(lambda xp, s, d: xp.empty(s, d))


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    if dtype is None:
        dtype = _infer_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    be = get_backend(device)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _finish(be.xp.full(_size((size,)), fill_value, to_dtype(dtype).np), be, requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    return full((), s, dtype=dtype or DEFAULT.float, device=device, requires_grad=requires_grad)


def _like(fn):
    def like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
             memory_format=None, **kw):
        return fn(*input.shape, dtype=dtype or input.dtype, device=device or input.device,
                  requires_grad=requires_grad, **kw)
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    return full(input.shape, fill_value, dtype=dtype or input.dtype,
                device=device or input.device, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        dtype = _infer_dtype(vals)
    d = to_dtype(dtype)
    n = builtins.max(0, math.ceil((end - start) / step))
    be = get_backend(device)
    if d.is_floating_point:
        a = (be.xp.arange(n, dtype=np.float64) * step + start).astype(d.np)
    else:
        a = be.xp.arange(start, start + n * step, step, dtype=np.int64)[:n].astype(d.np)
    return _finish(a, be, requires_grad)


def range_(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Deprecated torch.range: like arange but includes `end`."""
    if end is None:
        start, end = 0, start
    n = math.floor((end - start) / step) + 1
    return arange(start, start + n * step, step, dtype=dtype or DEFAULT.float, device=device,
                  requires_grad=requires_grad)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    be = get_backend(device)
    d = to_dtype(dtype) if dtype is not None else DEFAULT.float
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    # torch fills the first half from start and the second half from end (symmetric rounding)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    i = be.xp.arange(steps, dtype=np.float64)
    half = steps // 2
    a = be.xp.where(i < half, start + step * i, end - step * (steps - 1 - i))
    if d.is_floating_point or d.is_complex:
        a = a.astype(d.np)
    else:
        a = be.xp.trunc(a).astype(d.np) if steps else a.astype(d.np)
    return _finish(a, be, requires_grad)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    lin = linspace(start, end, steps, dtype=_dtype.float64, device=device)
    d = to_dtype(dtype) if dtype is not None else DEFAULT.float
    return _finish((base ** lin.arr).astype(d.np), lin.be, requires_grad)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    be = get_backend(device)
    return _finish(be.xp.eye(n, n if m is None else m, dtype=_np_dtype(dtype)), be,
                   requires_grad)


# ---- random ------------------------------------------------------------------------------------
def _random(sample):
    def fn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
        be = get_backend(device)
        d = _np_dtype(dtype)
        a = sample(rng_for(generator, be), _size(size), d)
        return _finish(a, be, requires_grad)
    return fn


rand = _random(lambda r, s, d: r.random(s, dtype=np.float64).astype(d))
randn = _random(lambda r, s, d: r.standard_normal(s, dtype=np.float64).astype(d))


def rand_like(input, *, dtype=None, device=None, requires_grad=False, **kw):
    return rand(*input.shape, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, **kw):
    return randn(*input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False, **kw):
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    be = get_backend(device)
    a = rng_for(generator, be).integers(low, high, size=_size((size,)), dtype=np.int64)
    return _finish(a.astype(_np_dtype(dtype, _dtype.int64)), be, requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, **kw):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype,
                   device=device or input.device)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False, **kw):
    be = get_backend(device)
    return _finish(rng_for(generator, be).permutation(n).astype(_np_dtype(dtype, _dtype.int64)),
                   be, requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, device=None,
           requires_grad=False):
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(getattr(mean, "shape", ()), getattr(std, "shape", ()))
        if isinstance(std, Tensor) and (std.arr < 0).any():
            raise RuntimeError("normal expects all elements of std >= 0.0")
        noise = randn(*shape, generator=generator, dtype=ref.dtype, device=ref.device)
        return (noise * std + mean).detach()
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    t = randn(*_size((size,)), generator=generator, dtype=dtype, device=device)
    t.arr = t.arr * std + mean if t.arr.size else t.arr
    t.arr = t.arr.astype(_np_dtype(dtype))
    return t.requires_grad_(True) if requires_grad else t


def bernoulli(input, p=None, *, generator=None, out=None):
    be = input.be
    probs = input.arr if p is None else p
    if p is None and ((probs < 0).any() or (probs > 1).any()):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    u = rng_for(generator, be).random(input.shape, dtype=np.float64)
    return _new((u < probs).astype(input.arr.dtype), be)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    be = input.be
    p = be.to_host(input.arr).astype(np.float64)
    if p.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if (p < 0).any() or not np.isfinite(p).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = p.reshape(-1, p.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    r = rng_for(generator, CPU)
    out = np.empty((rows.shape[0], num_samples), np.int64)
    for i, row in enumerate(rows):
        s = row.sum()
        if s <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if replacement:
            out[i] = r.choice(len(row), num_samples, replace=True, p=row / s)
        else:   # Gumbel top-k: sampling without replacement proportional to weights
            keys = np.log(r.random(len(row))) / np.where(row > 0, row, np.nan)
            keys = np.where(row > 0, keys, -np.inf)
            out[i] = np.argsort(-keys, kind="stable")[:num_samples]
    return _new(be.from_host(out.reshape(p.shape[:-1] + (num_samples,))), be)


def poisson(input, generator=None):
    return _new(rng_for(generator, input.be).poisson(input.arr).astype(input.arr.dtype),
                input.be)


# in-place random fills (no autograd: torch records nothing for them either)
def _fill_(self, arr):
    self.be.xp.copyto(self.arr, arr, casting="unsafe")
    bump_version(self)
    return self


def uniform_(self, a=0.0, b=1.0, *, generator=None):
    r = rng_for(generator, self.be).random(self.shape, dtype=np.float64)
    return _fill_(self, r * (b - a) + a)


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    r = rng_for(generator, self.be).standard_normal(self.shape, dtype=np.float64)
    return _fill_(self, r * std + mean)


def bernoulli_(self, p=0.5, *, generator=None):
    pa = p.arr if isinstance(p, Tensor) else p
    return _fill_(self, rng_for(generator, self.be).random(self.shape) < pa)


def random_(self, from_=0, to=None, *, generator=None):
    if to is None:
        to = (2 ** 24 if self.dtype is _dtype.float32 else 2 ** 53) if \
            self.is_floating_point() else int(np.iinfo(self.arr.dtype).max) + 1
    return _fill_(self, rng_for(generator, self.be).integers(from_, to, self.shape))


def exponential_(self, lambd=1.0, *, generator=None):
    return _fill_(self, rng_for(generator, self.be).exponential(1 / lambd, self.shape))


def geometric_(self, p, *, generator=None):
    return _fill_(self, rng_for(generator, self.be).geometric(p, self.shape))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    return _fill_(self, rng_for(generator, self.be).lognormal(mean, std, self.shape))


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    return _fill_(self, median + sigma * rng_for(generator, self.be).standard_cauchy(self.shape))


def zero_(self):
    self.arr[...] = 0
    bump_version(self)
    return self


def fill_(self, value):
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.dim()} dimensions.")
        value = value.item()
    self.arr[...] = value
    bump_version(self)
    return self


# ---- conversion (differentiable dtype and device changes) -----------------------------------
@op("to_copy", saves=None, node="ToCopyBackward0")
def _to_copy(xp, x, np_dtype):
    return x.astype(np_dtype), (x.dtype,)


@_to_copy.vjp
def _(xp, g, src_dtype):
    return (g.astype(src_dtype) if g.dtype != src_dtype else g,)


def _parse_to(args, kwargs):
    dev = dtype = None
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    for a in args:
        if isinstance(a, Tensor):
            dev, dtype = a.device, a.dtype
        elif isinstance(a, _dtype.dtype) or (isinstance(a, type) and a in (float, int, bool)):
            dtype = to_dtype(a)
        elif isinstance(a, (str, _device_cls, int)) and not isinstance(a, bool):
            if isinstance(a, str) and (a in _dtype.ALIASES or a.startswith("torch.")):
                dtype = to_dtype(a)
            else:
                dev = a
        elif isinstance(a, bool):
            copy = a if dev is not None or dtype is not None else copy
        else:
            raise TypeError(f"to() received an invalid combination of arguments - got "
                            f"({type(a).__name__})")
    dev = kwargs.pop("device", dev)
    dtype = kwargs.pop("dtype", dtype)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    return dev, (None if dtype is None else to_dtype(dtype)), copy


def _to(self, *args, **kwargs):
    dev, dtype, copy = _parse_to(args, dict(kwargs))
    be = self.be if dev is None else get_backend(dev)
    t = self
    if be is not self.be:
        t = _to_device(t, be)
    if dtype is not None and dtype.np != t.arr.dtype:
        t = _TO_COPY(t, dtype.np)
    elif copy and t is self:
        from .shape import clone
        t = clone(t)
    return t


@op("to_device", saves=None, node="ToCopyBackward0")
def _to_device_op(xp, x):
    raise AssertionError("device transfers are applied by _to_device")


def _to_device(x, be):
    if be.name == "cuda" or x.be.name == "cuda":
        arr = be.from_host(x.be.to_host(x.arr)) if x.be.name != be.name else be.xp.asarray(x.arr)
    else:
        arr = x.arr.copy()      # cpu <-> mock: a real copy, as a device transfer would be
    t = _new(arr, be)
    if x.requires_grad and _grad.enabled:
        t.requires_grad = True
        t.grad_fn = Node(_to_device_op, _back_to(x.be, be), be.xp, (), (x._edge(),), (x,), ())
    return t


def _back_to(src, dst):
    def bwd(xp, g):
        if src.name == "cuda" or dst.name == "cuda":
            return (src.from_host(dst.to_host(g)),)
        return (g.copy(),)
    return bwd


def as_tensor_like_pair(a, b, ref):
    """Turn scalar operands of ternary ops into 0-d tensors with torch's promotion."""
    from .._dtype import result_type
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        d = result_type(a, b) if not isinstance(a, bool) else _infer_dtype([a, b])
        return (full((), a, dtype=d, device=ref.device), full((), b, dtype=d, device=ref.device))
    if not isinstance(a, Tensor):
        a = full((), a, dtype=result_type(a, b), device=b.device)
    if not isinstance(b, Tensor):
        b = full((), b, dtype=result_type(b, a), device=a.device)
    return a, b


def complex(real, imag):
    from .._dtype import complex64, complex128
    d = complex128 if real.dtype is _dtype.float64 else complex64
    return _new((real.arr + 1j * imag.arr).astype(d.np), real.be)


from ._apply import make_unary as _mu  # noqa: E402

_TO_COPY = _mu(_to_copy)
