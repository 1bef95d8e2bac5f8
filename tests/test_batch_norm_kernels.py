"""SyncBatchNorm's kernels, batch_norm_update_stats and native_norm against torch.

torch runs the SyncBatchNorm kernels on CUDA only; ember refuses them on CPU as torch does and
computes them elsewhere (here the mock device), where a two-process SyncBatchNorm step built
from them must give torch's batch_norm output, running statistics and gradients."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
from oracle import assert_close

SYNC = ["batch_norm_stats", "batch_norm_elemt", "batch_norm_gather_stats",
        "batch_norm_gather_stats_with_counts", "batch_norm_backward_reduce",
        "batch_norm_backward_elemt"]


def _sync_args(L, name):
    x, c = L.ones(4, 3, 2), L.ones(3)
    return {"batch_norm_stats": (x, 1e-5), "batch_norm_elemt": (x, c, c, c, c, 1e-5),
            "batch_norm_gather_stats": (x, c[None], c[None], c, c, 0.1, 1e-5, 8),
            "batch_norm_gather_stats_with_counts": (x, c[None], c[None], c, c, 0.1, 1e-5,
                                                    L.tensor([8.])),
            "batch_norm_backward_reduce": (x, x, c, c, c, True, True, True),
            "batch_norm_backward_elemt": (x, x, c, c, c, c, c, L.tensor([8], dtype=L.int32))
            }[name]


@pytest.mark.parametrize("name", SYNC + ["native_norm"])
def test_cuda_only_kernels_refuse_cpu_as_torch(name):
    errors = []
    for L in (ember, torch):
        args = _sync_args(L, name) if name != "native_norm" else (L.ones(3),)
        with pytest.raises(NotImplementedError) as info:
            getattr(L, name)(*args)
        errors.append(str(info.value).split(" is only available")[0])
    assert errors[0] == errors[1]


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sync_batch_norm_step_matches_batch_norm(affine, dtype):
    """torch/nn/modules/_functions.py's SyncBatchNorm forward and backward for two processes
    holding 3 and 5 samples, against batch_norm on all 8."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3, 4)).astype(dtype)
    w, b = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    parts, eps, momentum = (slice(0, 3), slice(3, 8)), 1e-5, 0.1

    def dev(a):
        return ember.tensor(a, device="mock")
    weight, bias = (dev(w), dev(b)) if affine else (None, None)
    rm, rv = dev(np.zeros(3, dtype)), dev(np.ones(3, dtype))
    stats = [ember.batch_norm_stats(dev(x[p]), eps) for p in parts]
    counts = dev(np.array([[x[p].size / 3] for p in parts], dtype))
    mean, invstd = ember.batch_norm_gather_stats_with_counts(
        dev(x), ember.stack([s[0] for s in stats]), ember.stack([s[1] for s in stats]), rm, rv,
        momentum, eps, counts.view(-1))
    out = [ember.batch_norm_elemt(dev(x[p]), weight, bias, mean, invstd, eps) for p in parts]
    red = [ember.batch_norm_backward_reduce(dev(dy[p]), dev(x[p]), mean, invstd, weight, True,
                                            affine, affine) for p in parts]
    sum_dy, sum_dy_xmu = red[0][0] + red[1][0], red[0][1] + red[1][1]
    gx = [ember.batch_norm_backward_elemt(dev(dy[p]), dev(x[p]), mean, invstd, weight, sum_dy,
                                          sum_dy_xmu, counts.view(-1).int()) for p in parts]

    tx = torch.tensor(x, requires_grad=True)
    tw, tb = (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) \
        if affine else (None, None)
    trm, trv = torch.zeros(3, dtype=tx.dtype), torch.ones(3, dtype=tx.dtype)
    ty = TF.batch_norm(tx, trm, trv, tw, tb, True, momentum, eps)
    ty.backward(torch.tensor(dy))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else {}
    assert_close(ember.cat(out).cpu(), ty.detach(), **tol)
    assert_close(ember.cat(gx).cpu(), tx.grad, **tol)
    assert_close(rm.cpu(), trm, **tol)
    assert_close(rv.cpu(), trv, **tol)
    if affine:
        assert_close((red[0][2] + red[1][2]).cpu(), tw.grad, **tol)
        assert_close((red[0][3] + red[1][3]).cpu(), tb.grad, **tol)
    else:
        assert [r[2:] for r in red] == [(None, None)] * 2
    g = ember.batch_norm_gather_stats(dev(x), stats[1][0][None], stats[1][1][None], None, None,
                                      momentum, eps, 20)
    assert_close(g[0].cpu(), torch.tensor(x[parts[1]]).mean((0, 2)), **tol)


@pytest.mark.parametrize("dtypes", [("float64", "float64", "float64"),
                                    ("float32", "float32", "float32"),
                                    ("bfloat16", "float32", "float32"),
                                    ("float16", "float16", "float16"),
                                    ("float32", None, "float32"), ("float64", None, None),
                                    ("float32", "float64", "float64"),
                                    ("float64", "float32", "float32"),
                                    ("float32", "float32", "float64"),
                                    ("float16", "float32", "float16"), ("int64", None, None)])
def test_batch_norm_update_stats_matches_torch(dtypes):
    x = np.random.default_rng(0).standard_normal((4, 3, 5))
    res = []
    for L in (ember, torch):
        xi = L.tensor(x).to(getattr(L, dtypes[0]))
        run = [None if d is None else L.full((3,), 0.5 + i, dtype=getattr(L, d))
               for i, d in enumerate(dtypes[1:])]
        try:
            out = L.batch_norm_update_stats(xi, *run, 0.1)
        except Exception as e:
            res.append((type(e), str(e)))
            continue
        res.append([t.float() for t in list(out) + [r for r in run if r is not None]])
    if isinstance(res[1], tuple):
        assert res[0] == res[1]
        return
    for a, b in zip(*res):
        assert_close(a, b, rtol=1e-2 if "16" in dtypes[0] else 1e-6, atol=1e-3)


def test_batch_norm_update_stats_has_no_derivative_as_torch():
    msgs = []
    for L in (ember, torch):
        x = L.ones(4, 3, dtype=L.float64).requires_grad_()
        m, v = L.batch_norm_update_stats(x, None, None, 0.1)
        assert m.requires_grad and type(m.grad_fn).__name__ == "NotImplemented"
        with pytest.raises(RuntimeError) as info:
            m.sum().backward()
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("args", [(), (1,), (float("inf"),), (0,), (3, [0, 1], False, None),
                                  (2, [], False, None), (None, [1, 0], False, None),
                                  (2, [0], False, None), (2, [0, 1], True, None),
                                  (2, [0, 1], False, "float32"), (2, [0, 5], False, None)])
def test_native_norm_matches_torch(args):
    x = np.random.default_rng(0).standard_normal((4, 3))
    x[1] = 0
    res = []
    for L in (ember, torch):
        a = tuple(getattr(L, v) if isinstance(v, str) else v for v in args)
        try:
            res.append(L.native_norm(L.tensor(x).to_sparse(), *a))
        except (RuntimeError, IndexError) as e:
            res.append(f"{type(e).__name__}: {e}")
    if isinstance(res[1], str):
        assert res[0] == res[1]
    else:
        assert_close(res[0], res[1])
