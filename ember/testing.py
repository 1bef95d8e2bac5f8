"""ember.testing (torch.testing): assert_close with torch's default tolerances and messages.

Tensors (on any device), NumPy arrays, Python numbers, and sequences or mappings of them are
compared pairwise; a failure raises AssertionError with torch's text, naming the item of a
nested input where it occurred."""
import collections.abc
import math
import warnings

import numpy as np

from ._tensor import Tensor

__all__ = ["assert_close", "make_tensor"]   # (assert_allclose: deprecated, as torch's)

# dtype -> (rtol, atol), torch.testing's defaults (complex as their real parts)
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5),
               "complex128": (1e-7, 1e-7)}


class _Mismatch(Exception):
    def __init__(self, exc_type, msg):
        super().__init__(msg)
        self.exc_type, self.msg = exc_type, msg


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {'rtol' if rtol is None else 'atol'}.")
    try:
        _compare(actual, expected, (), dict(rtol=rtol, atol=atol, equal_nan=equal_nan,
                                            check_device=check_device, check_dtype=check_dtype,
                                            check_stride=check_stride, check_layout=check_layout,
                                            allow_subclasses=allow_subclasses))
    except _Mismatch as m:
        text = m.msg if msg is None else (msg(m.msg) if callable(msg) else msg)
        raise m.exc_type(text) from None


# torch.testing.assert_allclose's own (rtol, atol) by dtype (others: exact)
_ALLCLOSE_TOLERANCES = {"float16": (1e-3, 1e-3), "float32": (1e-4, 1e-5),
                        "float64": (1e-5, 1e-8)}


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """torch's deprecated assert_allclose: assert_close without the dtype check, NaNs equal,
    its own default tolerances (the loosest of the two dtypes')."""
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be "
                  "removed in a future release. Please use `torch.testing.assert_close()` "
                  "instead. You can find detailed upgrade instructions in "
                  "https://github.com/pytorch/pytorch/issues/61844.", FutureWarning,
                  stacklevel=2)
    from .ops.creation import tensor
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = _loosest(_ALLCLOSE_TOLERANCES.get(str(x.dtype)[6:], (0.0, 0.0))
                              for x in (actual, expected))
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True,
                 check_dtype=False, check_stride=False, msg=msg or None)


def _where(path):
    return "" if not path else "\n\nThe failure occurred for item " + \
        "".join(f"[{p!r}]" for p in path)


def _is_array(x):
    return isinstance(x, (Tensor, np.ndarray))


def _no_pair(actual, expected):
    return _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type "
                                f"{type(actual)} and {type(expected)}.")


def _compare(actual, expected, path, opts):
    if _is_array(actual) and _is_array(expected):
        # torch's TensorLikePair: types one of the other's (not a tensor and an ndarray)
        if not (isinstance(actual, type(expected)) or isinstance(expected, type(actual))) or \
                not opts["allow_subclasses"] and type(actual) is not type(expected):
            raise _no_pair(actual, expected)
        from .ops.creation import as_tensor
        return _compare_arrays(*(x if isinstance(x, Tensor) else as_tensor(x)
                                 for x in (actual, expected)), path, opts)
    numbers = (bool, int, float, complex, np.number, np.bool_)
    if isinstance(actual, numbers) and isinstance(expected, numbers):
        return _compare_scalars(actual, expected, path, opts)
    strings = (str, bytes)
    if isinstance(actual, collections.abc.Mapping) and \
            isinstance(expected, collections.abc.Mapping):
        a_keys, e_keys = set(actual), set(expected)
        if a_keys != e_keys:
            raise _Mismatch(AssertionError, (
                "The keys of the mappings do not match:\n"
                f"Missing keys in the actual mapping: {sorted(e_keys - a_keys, key=repr)}\n"
                f"Additional keys in the actual mapping: {sorted(a_keys - e_keys, key=repr)}"))
        for k in expected:
            _compare(actual[k], expected[k], path + (k,), opts)
        return
    if isinstance(actual, collections.abc.Sequence) and not isinstance(actual, strings) and \
            isinstance(expected, collections.abc.Sequence) and not isinstance(expected, strings):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: "
                                            f"{len(actual)} != {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, path + (i,), opts)
        return
    if actual is None and expected is None:
        return
    raise _no_pair(actual, expected)


def _attribute(name, a, e, path):
    raise _Mismatch(AssertionError, f"The values for attribute '{name}' do not match: {a} != "
                                    f"{e}.{_where(path)}")


def _compare_arrays(actual, expected, path, opts):
    """torch's TensorLikePair: attributes (shape, layout or stride, device, dtype), then the
    values in a common dtype and layout (sparse ones: their indices equal, values close)."""
    from ._layout import sparse_coo, strided
    if tuple(actual.shape) != tuple(expected.shape):
        _attribute("shape", actual.shape, expected.shape, path)
    if actual.layout is not expected.layout:
        if opts["check_layout"]:
            _attribute("layout", actual.layout, expected.layout, path)
    elif actual.layout is strided and opts["check_stride"] and \
            actual.stride() != expected.stride():
        _attribute("stride()", actual.stride(), expected.stride(), path)
    if opts["check_device"] and actual.device != expected.device:
        _attribute("device", actual.device, expected.device, path)
    if opts["check_dtype"] and actual.dtype != expected.dtype:
        _attribute("dtype", actual.dtype, expected.dtype, path)
    rtol, atol = _loosest(_tolerances(str(x.dtype)[6:], opts) for x in (actual, expected))
    if actual.dtype != expected.dtype:
        from . import _dtype as D
        wide = [D.int64 if x.dtype in (D.uint16, D.uint32, D.uint64) else x.dtype
                for x in (actual, expected)]
        common = D.promote_types(*wide)
        actual, expected = actual.to(common), expected.to(common)
    if actual.layout is not expected.layout:
        actual, expected = (x if x.layout is strided else x.to_dense()
                            for x in (actual, expected))
    eq = dict(rtol=0, atol=0, equal_nan=False, path=path)
    close = dict(rtol=rtol, atol=atol, equal_nan=opts["equal_nan"], path=path)
    if actual.layout is sparse_coo:
        if actual.sparse_dim() != expected.sparse_dim():
            raise _Mismatch(AssertionError, f"The number of sparse dimensions in sparse COO "
                            f"tensors does not match: {actual.sparse_dim()} != "
                            f"{expected.sparse_dim()}" + _where(path))
        _same_nnz(actual, expected, "COO", path)
        _check_tensors(actual._indices(), expected._indices(), "Sparse COO indices", **eq)
        _check_tensors(actual._values(), expected._values(), "Sparse COO values", **close)
    elif actual.layout is not strided:
        name = actual.layout.name.split("_")[1].upper()
        cname, pname = (("crow_indices", "col_indices") if name in ("CSR", "BSR") else
                        ("ccol_indices", "row_indices"))
        _same_nnz(actual, expected, name, path)
        for accessor in (cname, pname):
            _check_tensors(getattr(actual, accessor)(), getattr(expected, accessor)(),
                           f"Sparse {name} {accessor}", **eq)
        _check_tensors(actual.values(), expected.values(), f"Sparse {name} values", **close)
    else:
        _check_tensors(actual, expected, None, **close)


def _same_nnz(actual, expected, name, path):
    if actual._nnz() != expected._nnz():
        raise _Mismatch(AssertionError, f"The number of specified values in sparse {name} "
                        f"tensors does not match: {actual._nnz()} != {expected._nnz()}"
                        + _where(path))


def _check_tensors(actual, expected, identifier, rtol, atol, equal_nan, path):
    a, e = actual._host(), expected._host()
    if a.dtype != e.dtype:          # (sparse indices of two dtypes)
        common = np.promote_types(a.dtype, e.dtype)
        a, e = a.astype(common), e.astype(common)
    if a.dtype.kind == "V":                          # bfloat16: compare in float32
        a, e = a.astype(np.float32), e.astype(np.float32)
    _check_values(a, e, rtol, atol, equal_nan, a.ndim == 0, path, identifier)


def _loosest(pairs):
    """The largest rtol and the largest atol of (rtol, atol) pairs (torch takes the two
    inputs' dtypes' looser tolerances)."""
    rtols, atols = zip(*pairs)
    return max(rtols), max(atols)


def _tolerances(dtype_name, opts):
    if opts["rtol"] is not None:
        return opts["rtol"], opts["atol"]
    return _TOLERANCES.get(dtype_name, (0.0, 0.0))


def _compare_scalars(actual, expected, path, opts):
    if isinstance(actual, (bool, np.bool_)) and isinstance(expected, (bool, np.bool_)):
        if bool(actual) != bool(expected):
            raise _Mismatch(AssertionError, f"Booleans mismatch: {actual} is not {expected}"
                            + _where(path))
        return
    actual, expected = (x.item() if isinstance(x, np.number) else x
                        for x in (actual, expected))
    if opts["check_dtype"] and type(actual) is not type(expected):
        raise _Mismatch(AssertionError, f"The (d)types do not match: {type(actual)} != "
                                        f"{type(expected)}." + _where(path))
    kind = {bool: "bool", int: "int64", float: "float64", complex: "complex128"}
    rtol, atol = _loosest(_tolerances(kind.get(type(x), "int64"), opts)
                          for x in (actual, expected))
    _check_values(np.asarray(actual), np.asarray(expected), rtol, atol, opts["equal_nan"],
                  True, path)


def _check_values(a, e, rtol, atol, equal_nan, scalar, path, identifier=None):
    """torch.isclose's test (equal, or a finite difference within atol + rtol * |e|; NaNs
    equal if asked), and torch's message of the mismatches."""
    if a.dtype.kind == "b":
        a, e = a.astype(np.int64), e.astype(np.int64)
    exact = rtol == 0 and atol == 0
    with np.errstate(all="ignore"):
        ok = a == e
        if not exact:
            if a.dtype.kind in "fc":
                diff = np.abs(a - e)
            else:
                diff = np.abs(a.astype(np.int64) - e.astype(np.int64))
            ok |= np.isfinite(diff) & (diff <= atol + rtol * np.abs(e))
        if equal_nan and a.dtype.kind in "fc":
            ok |= np.isnan(a) & np.isnan(e)
    if ok.all():
        return
    what = "equal" if exact else "close"
    tol_a = "" if exact else f" (up to {atol} allowed)"
    tol_r = "" if exact else f" (up to {rtol} allowed)"
    if scalar:                          # torch computes these with Python numbers
        av, ev = a.item(), e.item()
        diff = abs(av - ev)
        rel = math.inf if ev == 0 else diff / abs(ev)
        text = (f"{identifier or 'Scalars'} are not {what}!\n\nExpected {ev} but got {av}.\n"
                f"Absolute difference: {diff}{tol_a}\nRelative difference: {rel}{tol_r}")
        raise _Mismatch(AssertionError, text + _where(path))
    if a.dtype.kind not in "fc":        # (torch: in int64, the ratio in float32)
        a, e = a.astype(np.int64), e.astype(np.int64)
    with np.errstate(all="ignore"):     # only the mismatches count, as in torch
        abs_diff = np.abs(a - e)
        abs_diff[ok] = 0
        rel_diff = (abs_diff.astype(np.float32) / np.abs(e).astype(np.float32)) \
            if a.dtype.kind not in "fc" else abs_diff / np.abs(e)
        rel_diff[ok] = 0
    bad, total = int((~ok).sum()), ok.size
    ia, ir = _argmax(abs_diff), _argmax(rel_diff)
    text = (f"{identifier or 'Tensor-likes'} are not {what}!\n\n"
            f"Mismatched elements: {bad} / {total} ({bad / total:.1%})\n"
            f"Greatest absolute difference: {abs_diff[ia].item()} at index {ia}{tol_a}\n"
            f"Greatest relative difference: {rel_diff[ir].item()} at index {ir}{tol_r}")
    raise _Mismatch(AssertionError, text + _where(path))


def _argmax(d):
    """torch.max's index: the first NaN if any, else the first maximum."""
    flat = d.reshape(-1)
    nan = np.flatnonzero(np.isnan(flat)) if flat.dtype.kind in "fc" else []
    i = int(nan[0]) if len(nan) else int(np.argmax(flat))
    return tuple(int(k) for k in np.unravel_index(i, d.shape))


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False,
                noncontiguous=False, exclude_zero=False, memory_format=None):
    """torch.testing.make_tensor: values drawn uniformly from [low, high) (dtype-dependent
    defaults, clamped to the dtype's range) from the global generator, as torch draws them."""
    import functools
    import warnings
    from . import _dtype as D
    from . import empty, finfo, iinfo, randint, view_as_real
    ints = (D.uint8, D.int8, D.int16, D.int32, D.int64, D.uint16, D.uint32, D.uint64)
    floats = (D.float16, D.bfloat16, D.float32, D.float64)
    complexes = (D.complex64, D.complex128)

    def bounds(lo, hi, *, lowest, highest, default_low, default_high):
        lo = default_low if lo is None else lo
        hi = default_high if hi is None else hi
        if any(isinstance(v, float) and math.isnan(v) for v in (lo, hi)):
            raise ValueError(f"`low` and `high` cannot be NaN, but got low={lo} and high={hi}")
        if lo == hi and dtype in floats + complexes:
            warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or "
                          "complex types is deprecated since 2.1 and will be removed in 2.3. "
                          "Use `torch.full(...)` instead.", FutureWarning, stacklevel=3)
        elif lo >= hi:
            raise ValueError(f"`low` must be less than `high`, but got {lo} >= {hi}")
        elif hi < lowest or lo >= highest:
            raise ValueError(f"The value interval specified by `low` and `high` is [{lo}, {hi}), "
                             f"but {dtype} only supports [{lowest}, {highest})")
        lo, hi = min(max(lo, lowest), highest), min(max(hi, lowest), highest)
        if dtype is D.bool_ or dtype in ints:
            return math.ceil(lo), math.ceil(hi)
        return lo, hi

    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually "
                         f"exclusive, but got noncontiguous={noncontiguous} and "
                         f"memory_format={memory_format}")
    if requires_grad and (dtype is D.bool_ or dtype in ints):
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral "
                         f"dtypes, but got dtype={dtype}")
    noncontiguous = noncontiguous and functools.reduce(lambda a, b: a * b, shape, 1) > 1
    if noncontiguous:       # twice the last dim, then every other column: distinct values
        shape = (*shape[:-1], 2 * shape[-1])
    if dtype is D.bool_:
        lo, hi = bounds(low, high, lowest=0, highest=2, default_low=0, default_high=2)
        result = randint(lo, hi, shape, device=device, dtype=dtype)
    elif dtype in ints:
        info = iinfo(dtype)
        lo, hi = bounds(low, high, lowest=info.min,
                        highest=info.max + (1 if dtype is not D.int64 else 0),
                        default_low=-9, default_high=10)
        result = randint(lo, hi, shape, device=device, dtype=dtype)
    elif dtype in floats + complexes:
        info = finfo(dtype)
        lo, hi = bounds(low, high, lowest=info.min, highest=info.max, default_low=-9,
                        default_high=9)
        result = empty(shape, device=device, dtype=dtype)
        target = view_as_real(result) if dtype in complexes else result
        if hi - lo >= finfo(target.dtype).max:
            target.uniform_(lo / 2, hi / 2).mul_(2)
        else:
            target.uniform_(lo, hi)
    else:
        raise TypeError(f"The requested dtype '{dtype}' is not supported by "
                        "torch.testing.make_tensor(). To request support, file an issue at: "
                        "https://github.com/pytorch/pytorch/issues")
    if noncontiguous:
        result = result[..., 1::2]
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        result[result == 0] = 1 if dtype is D.bool_ or dtype in ints else finfo(dtype).tiny
    if dtype in floats + complexes:
        result.requires_grad = requires_grad
    return result
