"""Public torch functions ember lacked (found by comparing dir(torch) with dir(ember)), each
against torch."""
import numpy as np
import pytest
import torch

import ember
from oracle import assert_close


# ---- torch.from_file -------------------------------------------------------------------------
@pytest.mark.parametrize("args,kw", [((), dict(size=10)), ((), dict(size=4, dtype="float64")),
                                     ((False, 3), dict(dtype="int32")), ((), {}),
                                     ((None, 2), dict(dtype="bool", requires_grad=False)),
                                     ((), dict(size=2, requires_grad=True)),
                                     ((), dict(size=11)), ((), dict(size=-1)),
                                     ((), dict(size=2.0))])
def test_from_file_matches_torch(tmp_path, args, kw):
    path = str(tmp_path / "data.bin")
    np.arange(10, dtype=np.float32).tofile(path)
    res = []
    for L in (ember, torch):
        k = {n: getattr(L, v) if n == "dtype" else v for n, v in kw.items()}
        try:
            res.append(L.from_file(path, *args, **k))
        except (RuntimeError, TypeError) as e:
            res.append((type(e), str(e)))
    if isinstance(res[1], tuple):
        assert res[0] == res[1]
    else:
        assert_close(res[0], res[1])
        assert res[0].requires_grad == res[1].requires_grad


@pytest.mark.parametrize("shared", [True, False])
def test_from_file_sharing_matches_torch(tmp_path, shared):
    """shared=True writes through to the file (creating or extending it); otherwise the
    mapping is private and a missing file is an error."""
    seen = []
    for L in (ember, torch):
        path = str(tmp_path / f"{L.__name__}.bin")
        np.arange(3, dtype=np.float32).tofile(path)
        t = L.from_file(path, shared, 3)
        t[0] = 42
        seen.append((np.fromfile(path, np.float32).tolist(), t.tolist()))
        try:
            seen.append(L.from_file(str(tmp_path / f"new_{L.__name__}.bin"), shared, 2).tolist())
        except RuntimeError as e:
            seen.append(str(e).replace(L.__name__, ""))
    assert seen[:2] == seen[2:]


# ---- torch.func.functionalize ----------------------------------------------------------------
def test_functionalize_matches_torch():
    """The function's values and input mutations; outputs aliasing an input come back with
    storage of their own and the same grad_fn; an untouched input returned is returned as is."""
    def f(x, k=1):
        y = x.view(-1)
        y.add_(k)
        return y, x[0], {"sin": (x * 2).sin()}

    res = []
    for L in (ember, torch):
        x = L.zeros(2, 2)
        w = L.ones(2, 2, requires_grad=True) * 1
        out = L.func.functionalize(f)(x, k=3)
        out[0][0] = 100                                 # not written through to x
        views = L.func.functionalize(lambda a: (a.view(-1), a[0], a, a * 2))(w)
        y = L.ones(3)
        same = L.func.functionalize(lambda a: a)(y)
        mutated = L.func.functionalize(lambda a: a.add_(1))(y)
        res.append((x.tolist(), [o.tolist() for o in out[:2]], out[2]["sin"].tolist(),
                    [type(v.grad_fn).__name__ for v in views], views[2] is w, same is y,
                    mutated is y, mutated.data_ptr() == y.data_ptr(), y.tolist()))
    assert res[0] == res[1]


@pytest.mark.parametrize("remove", ["mutations", "mutations_and_views", "views", None])
def test_functionalize_remove_argument_as_torch(remove):
    res = []
    for L in (ember, torch):
        try:
            res.append(L.func.functionalize(lambda a: a * 2, remove=remove)(L.ones(2)).tolist())
        except RuntimeError as e:
            res.append(str(e))
    assert res[0] == res[1]


# ---- torch.autograd.set_multithreading_enabled -----------------------------------------------
def test_multithreading_flag_as_torch():
    """Set at construction (a plain call keeps it), restored on leaving a with block, per
    thread, bool only; as a decorator, each call sets it."""
    import threading
    res = []
    for L in (ember, torch):
        A = L.autograd
        seen = [A.is_multithreading_enabled()]
        with A.set_multithreading_enabled(False):
            seen.append(A.is_multithreading_enabled())
            other = []
            t = threading.Thread(target=lambda: other.append(A.is_multithreading_enabled()))
            t.start()
            t.join()
            seen += other
        seen.append(A.is_multithreading_enabled())
        A.set_multithreading_enabled(False)
        seen.append(A.is_multithreading_enabled())
        A.set_multithreading_enabled(True)

        @A.set_multithreading_enabled(False)
        def f():
            return A.is_multithreading_enabled()
        seen += [A.is_multithreading_enabled(), f(), A.is_multithreading_enabled()]
        A.set_multithreading_enabled(True)
        with pytest.raises(TypeError) as info:
            A.set_multithreading_enabled(1)
        seen.append(str(info.value))
        res.append(seen)
    assert res[0] == res[1]


# ---- convert_conv2d/3d_weight_memory_format, resize_(memory_format=) -------------------------
def test_convert_conv_weight_memory_format_as_torch():
    res = []
    for L in (ember, torch):
        L.manual_seed(0)
        m = L.nn.Sequential(L.nn.Conv2d(3, 4, 3), L.nn.Sequential(L.nn.ConvTranspose2d(4, 2, 3)),
                            L.nn.Conv3d(2, 2, 2), L.nn.Linear(2, 3))
        w = m[0].weight
        before = [p.tolist() for p in m.parameters()]
        seen = [L.nn.utils.convert_conv2d_weight_memory_format(m, L.channels_last) is m,
                m[0].weight is w, [p.stride() for p in m.parameters()]]
        L.nn.utils.convert_conv3d_weight_memory_format(m, L.channels_last_3d)
        seen += [[p.stride() for p in m.parameters()], [p.tolist() for p in m.parameters()]
                 == before]
        with pytest.raises(RuntimeError) as info:
            L.nn.utils.convert_conv3d_weight_memory_format(m, L.channels_last)
        res.append(seen + [str(info.value)])
    assert res[0] == res[1]


@pytest.mark.parametrize("case", ["cl", "cl back", "cl smaller", "cl grow", "same size",
                                  "preserve", "cl3d on 4d"])
def test_resize_memory_format_as_torch(case):
    res = []
    for L in (ember, torch):
        t = L.arange(24.).reshape(2, 3, 2, 2)
        if case == "cl back":
            t = t.contiguous(memory_format=L.channels_last)
        if case == "same size":
            t = L.arange(6.).reshape(2, 3).t()
        args, fmt = {"cl": (t.shape, L.channels_last), "cl back": (t.shape, L.contiguous_format),
                     "cl smaller": ((2, 3, 2, 1), L.channels_last),
                     "cl grow": ((2, 3, 2, 3), L.channels_last),
                     "same size": (t.shape, None), "preserve": (t.shape, L.preserve_format),
                     "cl3d on 4d": (t.shape, L.channels_last_3d)}[case]
        try:
            t.resize_(args, memory_format=fmt)
            res.append((t.stride(), t.shape, t.flatten()[:20].tolist()))
        except RuntimeError as e:
            res.append(str(e))
    if case == "cl grow":       # the new elements are uninitialised in torch
        res = [(r[0], r[1]) for r in res]
    assert res[0] == res[1]


# ---- conv_tbc --------------------------------------------------------------------------------
@pytest.mark.parametrize("pad", [0, 1, -1, 2])
def test_conv_tbc_matches_torch(pad):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in ((5, 2, 3), (3, 3, 4), (4,))]
    w_out = None
    res = []
    for L in (ember, torch):
        x, w, b = (L.tensor(a, requires_grad=True) for a in arrays)
        out = L.nn.functional.conv_tbc(x, w, b, pad)
        assert type(out.grad_fn).__name__ == "ConvTbcBackward0"
        if w_out is None:
            w_out = rng.standard_normal(tuple(out.shape))
        (out * L.tensor(w_out)).sum().backward()
        res.append([out, x.grad, w.grad, b.grad])
    for a, b in zip(*res):
        assert_close(a, b)


@pytest.mark.parametrize("case", ["short", "too short", "input dims", "weight dims", "bias dims",
                                  "channels", "bias size", "dtype", "pad type", "int64",
                                  "bias dtype", "complex grad"])
def test_conv_tbc_cases_match_torch(case):
    res = []
    for L in (ember, torch):
        x, w, b = L.ones(5, 2, 3), L.ones(3, 3, 4), L.ones(4)
        args = {"short": (x[:2], w, b), "too short": (x[:0], w, b), "input dims": (x[0], w, b),
                "weight dims": (x, w[..., None], b), "bias dims": (x, w, b[None]),
                "channels": (x, w[:, :2], b), "bias size": (x, w, b[:2]),
                "dtype": (x, w.double(), b), "pad type": (x, w, b, 1.5),
                "int64": (x.long(), w.long(), b.long(), 1), "bias dtype": (x, w, b.double()),
                "complex grad": (x.cfloat().requires_grad_(), w.cfloat(), b.cfloat())}[case]
        try:
            out = L.conv_tbc(*args)
            res.append((out.tolist(), str(out.dtype)))
        except (RuntimeError, TypeError) as e:
            res.append((type(e), str(e)))
    assert res[0] == res[1]


def test_build_facts_as_torchs_cpu_wheel():
    for name in ("has_lapack", "has_mkl", "has_openmp", "has_spectral"):
        assert getattr(ember, name) is getattr(torch, name)
    for name in ("compiled_with_cxx11_abi", "is_vulkan_available", "init_num_threads"):
        assert getattr(ember, name)() == getattr(torch, name)()
    assert ember.is_distributed(ember.ones(1)) is torch.is_distributed(torch.ones(1))
    assert ember.legacy_contiguous_format is ember.contiguous_format
    assert repr(ember.legacy_contiguous_format) == repr(torch.legacy_contiguous_format)
    assert ember.Future is ember.futures.Future
