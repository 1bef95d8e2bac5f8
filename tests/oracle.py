"""Helpers for comparing ember with torch (the test oracle)."""
import numpy as np
import torch

import ember

TOL = {"float16": dict(rtol=1e-3, atol=1e-5), "bfloat16": dict(rtol=1.6e-2, atol=1e-5),
       "float32": dict(rtol=1.3e-6, atol=1e-5), "float64": dict(rtol=1e-7, atol=1e-7),
       "complex64": dict(rtol=1.3e-6, atol=1e-5), "complex128": dict(rtol=1e-7, atol=1e-7)}


def host(t):
    """ember tensor -> numpy array on the host."""
    return t.be.to_host(t.arr) if isinstance(t, ember.Tensor) else np.asarray(t)


def to_torch(a, requires_grad=False):
    if isinstance(a, ember.Tensor):
        a = host(a)
    t = torch.from_numpy(np.array(a, copy=True))
    return t.requires_grad_(requires_grad)


def to_ember(a, device="cpu", requires_grad=False):
    t = ember.tensor(np.array(a, copy=True), device=device)
    return t.requires_grad_(requires_grad) if requires_grad else t


def assert_close(e, t, rtol=None, atol=None, check_dtype=True, equal_nan=True):
    """Same type, shape, dtype and values (within dtype-aware tolerances)."""
    if isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)) and len(e) == len(t), (type(e), len(e), len(t))
        for a, b in zip(e, t):
            assert_close(a, b, rtol, atol, check_dtype, equal_nan)
        return
    if not isinstance(t, torch.Tensor):
        assert not isinstance(e, ember.Tensor), f"ember returned a Tensor, torch {type(t)}"
        if isinstance(t, float):
            np.testing.assert_allclose(e, t, rtol=rtol or 1e-6, atol=atol or 1e-6)
        else:
            assert e == t, (e, t)
        return
    assert isinstance(e, ember.Tensor), f"expected an ember Tensor, got {type(e)}"
    assert tuple(e.shape) == tuple(t.shape), f"shape {tuple(e.shape)} != torch {tuple(t.shape)}"
    if check_dtype:
        assert repr(e.dtype) == repr(t.dtype), f"dtype {e.dtype} != torch {t.dtype}"
    tol = TOL.get(str(t.dtype).replace("torch.", ""), dict(rtol=0, atol=0))
    rtol = tol["rtol"] if rtol is None else rtol
    atol = tol["atol"] if atol is None else atol
    ea = host(e)
    if ea.dtype.name == "bfloat16":
        ea = ea.astype(np.float32)
        t = t.float()
    torch.testing.assert_close(torch.from_numpy(np.array(ea)), t.detach().to(
        torch.from_numpy(np.array(ea)).dtype), rtol=rtol, atol=atol, equal_nan=equal_nan,
        check_dtype=False)


def eval_both(code, env=None):
    """eval(code) with t = ember, then with t = torch (and np, and `env(lib)`'s names), their
    warnings silenced: each result's repr, or its exception's class and message. A statement
    (`x[...] = v`) is exec'd and its `x` taken as the result."""
    import warnings
    out = []
    for lib in (ember, torch):
        names = {"t": lib, "np": np, **(env(lib) if env else {})}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if " = " in code:
                    exec(code, names)
                    out.append(repr(names["x"]))
                else:
                    out.append(repr(eval(code, names)))
            except Exception as e:      # noqa: BLE001 - class and message are compared
                out.append((type(e).__name__, str(e)))
    return out
