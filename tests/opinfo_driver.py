"""Runs torch's OpInfo samples (torch.testing._internal.common_methods_invocations.op_db)
through ember and compares them with torch: values, dtypes, shapes (strides apart), the
exception class where torch refuses, gradients in float64. Test-time only (ember never imports
torch); tests/test_probe37_opinfo.py runs a chosen few, and

    python tests/opinfo_driver.py [NAME ...] [--kinds sample,noncontig,grad,inplace,error]

sweeps all of op_db (or the OpInfos named), printing each mismatch and the counts."""
import functools
import importlib.util
import math
import os
import sys
import types
import unittest
import warnings

import numpy as np
import torch

import ember

# torch's ops with random or uninitialised values: their samples are compared by shape and dtype
# (and the decompositions whose signs are free, and samples that draw a dropout)
_UNSEEDED = ("rand", "dropout", "normal", "bernoulli", "multinomial", "uniform", "exponential",
             "geometric", "cauchy", "log_normal", "rrelu", "empty", "randperm", "fractional",
             "svd", "lowrank", "multi_head_attention")
KINDS = ("sample", "noncontig", "grad", "inplace", "method", "error")


def op_db():
    """torch's OpInfo database (its test utilities import expecttest, which only their TestCase
    needs: a stand-in where it is not installed)."""
    if "expecttest" not in sys.modules and importlib.util.find_spec("expecttest") is None:
        stub = types.ModuleType("expecttest")
        stub.TestCase = unittest.TestCase
        sys.modules["expecttest"] = stub
    import torch.backends
    frozen, cache = torch.backends.flags_frozen(), os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    from torch.testing._internal.common_methods_invocations import op_db as db
    # (importing torch's test utilities freezes torch.backends' flags and points inductor's
    # cache at a temporary folder, for the whole process: later tests set flags, compile)
    if not frozen:      # (the flag lives in the globals of torch.backends' functions)
        torch.backends.flags_frozen.__globals__["__allow_nonbracketed_mutation_flag"] = True
    if cache is None:
        os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
    return db


def by_name(names):
    """The OpInfos named `names` ("name" or "name.variant_test_name")."""
    want = set(names)
    return [o for o in op_db() if o.name in want or f"{o.name}.{o.variant_test_name}" in want]


# ---- torch -> ember ---------------------------------------------------------------------------
def _dtype(d):
    return getattr(ember, str(d).split(".")[1])


def shared_storages(x):
    """{storage address: None} of the storages two or more of x's tensors view (for to_ember's
    `memo`, which then gives them one ember storage too)."""
    seen = {}
    for t in _flat([x]):
        if isinstance(t, dict):
            t = list(t.values())
        for v in _flat([t]):
            if isinstance(v, torch.Tensor) and v.layout == torch.strided and v.numel():
                p = v.untyped_storage().data_ptr()
                seen[p] = seen.get(p, 0) + 1
    return {p: None for p, n in seen.items() if n > 1}


def to_ember(x, memo=None):
    """x with torch's tensors, dtypes, devices, memory formats and layouts made ember's (a
    tensor keeps its strides and storage offset, and is a leaf with its requires_grad; tensors
    whose storage is a key of `memo` share one ember storage)."""
    if isinstance(x, torch.Tensor):
        if x.layout != torch.strided or x.is_conj() or x.is_neg() or x.device.type != "cpu":
            raise NotImplementedError("layout")
        t = x.detach()
        if not t.numel():
            e = ember.empty_strided(tuple(t.shape), t.stride(), dtype=_dtype(t.dtype))
            return e.requires_grad_() if x.requires_grad else e
        n = t.untyped_storage().nbytes() // t.element_size()
        dense = t.is_contiguous() and not t.storage_offset() and n == t.numel()
        ptr = t.untyped_storage().data_ptr()
        e = None if memo is None else memo.get(ptr)
        if e is None:
            flat = t if dense else torch.empty(0, dtype=t.dtype).set_(
                t.untyped_storage(), 0, (n,), (1,))
            if t.dtype in (torch.bfloat16, torch.float16):
                e = ember.tensor(flat.float().numpy()).to(_dtype(t.dtype))
            else:
                e = ember.tensor(flat.numpy())
            if memo is not None and ptr in memo:
                memo[ptr] = e = e.reshape(-1)
        if not dense or memo is not None and ptr in memo:
            # a view of the same layout over a copy of the storage
            e = e.as_strided(tuple(t.shape), t.stride(), t.storage_offset())
        return e.requires_grad_(x.requires_grad) if x.requires_grad else e
    if isinstance(x, torch.dtype):
        return _dtype(x)
    if isinstance(x, torch.device):
        return ember.device(str(x))
    if isinstance(x, torch.memory_format):
        return getattr(ember, str(x).split(".")[1])
    if isinstance(x, torch.layout):
        return getattr(ember, str(x).split(".")[1])
    if isinstance(x, torch.Size):
        return ember.Size(x)
    if isinstance(x, (list, tuple)):
        return type(x)(to_ember(v, memo) for v in x)
    if isinstance(x, dict):
        return {k: to_ember(v, memo) for k, v in x.items()}
    if isinstance(x, torch.Generator) or callable(x) and not isinstance(x, type) or \
            type(x).__module__.startswith("torch"):     # (an options object of torch's)
        raise NotImplementedError("argument")
    return x


def ember_fn(f):
    """ember's counterpart of torch's function or method `f` (None where ember lacks it): by
    its module and name, or for a lambda of common_methods_invocations the same code seeing
    ember as `torch`."""
    if f is None:
        return None
    if isinstance(f, functools.partial):
        inner = ember_fn(f.func)
        return inner and functools.partial(inner, *to_ember(f.args), **to_ember(f.keywords))
    if getattr(f, "__name__", "") == "<lambda>" and hasattr(f, "__code__"):
        if f.__closure__:
            return None
        g = dict(f.__globals__, torch=ember, np=np)
        return types.FunctionType(f.__code__, g, f.__name__, f.__defaults__)
    name = getattr(f, "__name__", None)
    if name is None:
        return None
    owner = getattr(f, "__objclass__", None) or getattr(f, "__self__", None)
    if owner in (torch.Tensor, torch._C.TensorBase) or getattr(
            f, "__qualname__", "").startswith(("Tensor.", "TensorBase.")):
        return getattr(ember.Tensor, name, None)
    mod = getattr(f, "__module__", None) or "torch"
    if not mod.startswith("torch._C"):      # (torch.masked._ops.sum: ember.masked.sum)
        obj = ember
        for part in mod.split(".")[1:]:
            if not part.startswith("_"):
                obj = getattr(obj, part, None)
                if obj is None:
                    return None
        return getattr(obj, name, None)
    # torch._C._nn.x, torch._C._linalg.linalg_x, torch._C._special.special_x, ...
    for sub, prefix in (("nn.functional", ""), ("linalg", "linalg_"), ("special", "special_"),
                        ("fft", "fft_"), ("", "")):
        obj = ember
        for part in filter(None, sub.split(".")):
            obj = getattr(obj, part)
        if name.startswith(prefix) and hasattr(obj, name[len(prefix):]):
            return getattr(obj, name[len(prefix):])
    return None


# ---- comparing --------------------------------------------------------------------------------
_TOL = {torch.float16: (1e-3, 1e-3), torch.bfloat16: (1.6e-2, 1e-2), torch.float32: (1.3e-6, 1e-5),
        torch.complex64: (1.3e-6, 1e-5)}


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [v for i in x for v in _flat(i)]
    return [x]


def compare(e, t, tol=1.0):
    """None where ember's result `e` is torch's `t`, else what differs."""
    if isinstance(t, torch.Tensor):
        if not isinstance(e, ember.Tensor):
            return f"type {type(e).__name__}"
        if str(e.dtype).split(".")[1] != str(t.dtype).split(".")[1]:
            return f"dtype {e.dtype} vs {t.dtype}"
        if tuple(e.shape) != tuple(t.shape):
            return f"shape {tuple(e.shape)} vs {tuple(t.shape)}"
        if t.layout != torch.strided or t.is_quantized:
            return None
        tv = t.detach().resolve_conj().resolve_neg()
        if tv._is_zerotensor():
            tv = torch.zeros(tv.shape, dtype=tv.dtype)
        if tv.dtype in (torch.bfloat16, torch.float16):
            a, b = e.detach().float().numpy(), tv.float().numpy()
        else:
            a, b = np.asarray(e.detach().resolve_conj().resolve_neg().numpy()), tv.numpy()
        if a.dtype.kind in "biu":
            return None if np.array_equal(a, b) else "values"
        rtol, atol = _TOL.get(t.dtype, (1e-7, 1e-7))
        # (plus rounding at the scale of the largest value: sums of products round there)
        big = np.abs(b[np.isfinite(b)]).max(initial=0) * 8 * np.finfo(b.dtype).eps
        if not np.allclose(a, b, rtol * tol, atol * tol + big, equal_nan=True):
            return "values"
        return None
    if isinstance(t, (list, tuple)):
        if not isinstance(e, (list, tuple)) or len(e) != len(t):
            return f"type {type(e).__name__}"
        for i, (x, y) in enumerate(zip(e, t)):
            d = compare(x, y, tol)
            if d:
                return f"[{i}] {d}"
        return None
    if isinstance(t, torch.Size):
        return None if tuple(e) == tuple(t) else f"{e} vs {t}"
    if isinstance(t, (torch.dtype, torch.device)):
        return None if str(e).replace("ember", "torch") == str(t) else f"{e} vs {t}"
    if isinstance(t, float) and isinstance(e, float):
        return None if math.isclose(e, t, rel_tol=1e-6) or e != e and t != t else f"{e} vs {t}"
    return None if e == t else f"{e!r} vs {t!r}"


def _call(fn, args, kwargs):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return True, fn(*args, **kwargs)
    except Exception as exc:        # noqa: BLE001 - the class is what is compared
        return False, exc


def _outcomes(efn, tfn, args, kwargs, tol=1.0):
    """None where ember's call and torch's agree (both refusing with one exception class), else
    the difference."""
    try:
        memo = shared_storages([args, kwargs])
        eargs, ekw = to_ember(args, memo), to_ember(kwargs, memo)
    except NotImplementedError:
        return None
    ok_t, rt = _call(tfn, args, kwargs)
    ok_e, re = _call(efn, eargs, ekw)
    if ok_t != ok_e:
        return f"torch {'ok' if ok_t else type(rt).__name__ + ': ' + str(rt)[:120]}, ember " + (
            "ok" if ok_e else f"{type(re).__name__}: {str(re)[:160]}")
    if not ok_t:
        return None if type(re).__name__ == type(rt).__name__ else \
            f"{type(re).__name__} vs {type(rt).__name__}: {str(re)[:80]} | {str(rt)[:80]}"
    return compare(re, rt, tol)


def _shape_only(e, t):
    if isinstance(t, torch.Tensor):
        return None if isinstance(e, ember.Tensor) and tuple(e.shape) == tuple(t.shape) and \
            str(e.dtype)[6:] == str(t.dtype)[6:] else "shape/dtype"
    return None


def _grad_diff(op, efn, sample):
    """The float64 gradients of the sample's tensors through op, ember's against torch's."""
    leaves = [x for x in _flat([sample.input, list(sample.args), list(sample.kwargs.values())])
              if isinstance(x, torch.Tensor) and x.requires_grad]
    if not leaves:
        return None
    try:
        eargs = to_ember([sample.input, list(sample.args), sample.kwargs])
    except NotImplementedError:
        return None
    eleaves = [x for x in _flat([eargs[0], eargs[1], list(eargs[2].values())])
               if isinstance(x, ember.Tensor) and x.requires_grad]

    def loss(lib, out):
        outs = [o for o in _flat(sample.output_process_fn_grad(out)) if isinstance(
            o, lib.Tensor) and o.requires_grad and o.dtype.is_floating_point]
        total = 0
        for o in outs:      # weights that tell elements apart
            w = lib.cos(lib.arange(o.numel(), dtype=o.dtype)).reshape(o.shape)
            total = total + (o * w).sum()
        return total, len(outs)

    def grads(lib, fn, inp, args, kw, leaves):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(inp, *args, **kw)
            total, n = loss(lib, out)
            if not n:
                return None
            return lib.autograd.grad(total, leaves, allow_unused=True)

    ok_t, gt = _call(grads, (torch, op.op, sample.input, sample.args, sample.kwargs, leaves), {})
    if not ok_t or gt is None:
        return None
    ok_e, ge = _call(grads, (ember, efn, eargs[0], eargs[1], eargs[2], eleaves), {})
    if not ok_e:
        return f"grad: ember {type(ge).__name__}: {str(ge)[:160]}"
    diffs = []
    for i, (a, b) in enumerate(zip(ge, gt)):
        if (a is None) != (b is None):
            diffs.append(f"grad {i}: {'None' if a is None else 'tensor'} vs "
                         f"{'None' if b is None else 'tensor'}")
        elif a is not None:
            d = compare(a, b, 10.0)
            if d:
                diffs.append(f"grad {i}: {d}")
    return "; ".join(diffs) or None


def _clone(x):
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, (list, tuple)):
        return type(x)(_clone(v) for v in x)
    if isinstance(x, dict):
        return {k: _clone(v) for k, v in x.items()}
    return x


_DTYPES = (torch.float32, torch.float64, torch.int64, torch.bool, torch.complex64)


def run(op, kinds=KINDS, dtypes=_DTYPES, limit=None):
    """[(kind, dtype, sample summary, difference)] of the OpInfo `op` (difference None where
    ember agrees), each kind of sample seeded alike (torch's samples draw from torch's RNG)."""
    efn = ember_fn(op.op)
    if efn is None:
        return []
    shape_only = any(w in op.name for w in _UNSEEDED)
    results = []

    def one(kind, dtype, sample, fn, tfn, tol=1.0):
        try:
            _one(kind, dtype, sample, fn, tfn, tol)
        except Exception as exc:    # noqa: BLE001 - the driver's own failure, reported
            results.append((kind, str(dtype)[6:], "?", f"DRIVER {type(exc).__name__}: {exc}"))

    def _one(kind, dtype, sample, fn, tfn, tol):
        args = (sample.input,) + tuple(sample.args)
        if shape_only or sample.kwargs.get("dropout_p"):
            try:
                eargs, ekw = to_ember(args), to_ember(sample.kwargs)
            except NotImplementedError:
                return
            ok_t, rt = _call(tfn, args, sample.kwargs)
            ok_e, re = _call(fn, eargs, ekw)
            diff = None if ok_t == ok_e and (not ok_t or _shape_only(re, rt) is None) else \
                f"torch {ok_t} ember {ok_e}: {re if not ok_e else ''}"
        else:
            diff = _outcomes(fn, tfn, args, sample.kwargs, tol)
        results.append((kind, str(dtype)[6:], sample.summary()[:300], diff))

    for dtype in dtypes:
        if not op.supports_dtype(dtype, "cpu"):
            continue
        if "sample" in kinds or "noncontig" in kinds or "method" in kinds:
            torch.manual_seed(0)
            try:
                samples = list(op.sample_inputs("cpu", dtype))[:limit]
            except Exception:       # noqa: BLE001 - a sample function torch's build lacks
                samples = []
            for s in samples:
                if "sample" in kinds:
                    one("sample", dtype, s, efn, op.op)
                if "noncontig" in kinds:
                    one("noncontig", dtype, s.noncontiguous(), efn, op.op)
                if "method" in kinds and op.method_variant is not None:
                    m = getattr(ember.Tensor, getattr(op.method_variant, "__name__", "-"), None)
                    if m is not None and isinstance(s.input, torch.Tensor):
                        one("method", dtype, s, m, op.method_variant)
                if "inplace" in kinds and op.inplace_variant is not None and \
                        not s.broadcasts_input and isinstance(s.input, torch.Tensor):
                    m = getattr(ember.Tensor, getattr(op.inplace_variant, "__name__", "-"),
                                None)
                    if m is not None:
                        c = s.transform(_clone)
                        one("inplace", dtype, c, m, op.inplace_variant)
        if "grad" in kinds and dtype == torch.float64 and op.supports_autograd:
            torch.manual_seed(0)
            try:
                samples = list(op.sample_inputs("cpu", dtype, requires_grad=True))[:limit]
            except Exception:       # noqa: BLE001
                samples = []
            if not shape_only:
                for s in samples:
                    if s.kwargs.get("dropout_p"):
                        continue
                    try:
                        diff = _grad_diff(op, efn, s)
                    except Exception as exc:    # noqa: BLE001 - the driver's own, reported
                        diff = f"DRIVER {type(exc).__name__}: {exc}"
                    results.append(("grad", "float64", s.summary()[:300], diff))
    if "error" in kinds:
        torch.manual_seed(0)
        try:
            errs = list(op.error_inputs("cpu"))
        except Exception:           # noqa: BLE001
            errs = []
        for ei in errs[:limit]:
            s = ei.sample_input
            try:
                diff = _outcomes(efn, op.op, (s.input,) + tuple(s.args), s.kwargs)
            except Exception as exc:        # noqa: BLE001 - the driver's own, reported
                diff = f"DRIVER {type(exc).__name__}: {exc}"
            results.append(("error", "-", s.summary()[:300], diff))
    return results


def main(argv):
    kinds = KINDS
    if "--kinds" in argv:
        i = argv.index("--kinds")
        kinds = tuple(argv[i + 1].split(","))
        argv = argv[:i] + argv[i + 2:]
    ops = by_name(argv) if argv else op_db()
    total = bad = 0
    for op in ops:
        try:
            res = run(op, kinds)
        except Exception as exc:    # noqa: BLE001 - the driver itself; reported
            print(f"DRIVER {op.name}.{op.variant_test_name}: {type(exc).__name__}: {exc}")
            continue
        total += len(res)
        for kind, dtype, summary, diff in res:
            if diff:
                bad += 1
                print(f"{op.name}.{op.variant_test_name} [{kind} {dtype}] {summary}\n    {diff}")
        sys.stdout.flush()
    print(f"{total} (op, sample) pairs compared, {bad} differ")


if __name__ == "__main__":
    main(sys.argv[1:])
