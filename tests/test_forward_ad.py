"""torch.autograd.forward_ad against torch 2.13: tangents of every differentiable op in the op
table (float32 and float64), nn modules, in-place ops and views, the API's errors, and
gradcheck(check_forward_ad=True)."""
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import ember
import ember.autograd.forward_ad as efw
from oracle import assert_close
from opspecs import ALL_SPECS, materialize

_FWD_SPECS = [s for s in ALL_SPECS if s.grad]

# Ops whose tangents do not match torch yet (strict: an entry that starts passing fails here)
_LU = "LU-based ops pass pivots as static arrays: their reverse rule cannot rerun differentiably"
_SCATTER = "scatter_reduce's reverse rule is a closure, not xp-pure: no differentiable rerun"
KNOWN = {
    "fmax.ties": "the double-vjp tangent splits ties as fmax's vjp does; torch's jvp does not",
    "logsumexp.empty": "torch's tangent of an empty logsumexp is nan, ember's 0",
    "special.logsumexp": "torch's tangent of an empty logsumexp is nan, ember's 0",
    "special.xlog1py.zeros": "the tangent at x == 0, y == -1 differs (0 * inf)",
    "linalg.svd.full": "full_matrices=True on non-square input has no ember reverse rule",
    "triangular_solve": "composite with expand().clone() of a batch-broadcast A",
    "triangular_solve.lower_t": "composite with expand().clone() of a batch-broadcast A",
    "triangular_solve.unit": "composite with expand().clone() of a batch-broadcast A",
    **{n: _LU for n in ("linalg.lu", "linalg.lu.U", "linalg.lu_factor", "linalg.lu_factor_ex",
                        "lu", "linalg.lu_solve", "linalg.lu_solve.adjoint",
                        "linalg.lu_solve.right", "linalg.lu_solve.right_adjoint", "lu_solve")},
    **{n: _SCATTER for n in ("scatter_reduce.prod.self", "scatter_reduce.prod.noself",
                             "scatter_reduce.amax.self", "scatter_reduce.amax.noself",
                             "scatter_reduce.amin.self", "scatter_reduce.amin.noself",
                             "scatter_reduce.prod_zero", "scatter_reduce.amax_ties")},
}


def _args(items, lib, seed):
    """(primals, tangents) for one sample: float tensors get a random tangent."""
    rng = np.random.default_rng(seed)
    prim, tans = [], []
    for kind, v, g in items:
        if kind == "t":
            a = np.ascontiguousarray(v).copy() if v.ndim else v.copy()
            p = lib.from_numpy(a) if lib is torch else ember.from_numpy(a)
            if g and v.dtype.kind == "f":
                tn = rng.standard_normal(v.shape).astype(v.dtype)
                tans.append(lib.from_numpy(tn) if lib is torch else ember.from_numpy(tn))
            else:
                tans.append(None)
            prim.append(p)
        else:
            prim.append(v)
            tans.append(None)
    return prim, tans


def _tangents(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return outs


def _run(lib, fw, fn, prim, tans):
    with fw.dual_level():
        args = [fw.make_dual(p, t) if t is not None else p for p, t in zip(prim, tans)]
        out = fn(*args)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        res = []
        for o in outs:
            if isinstance(o, (torch.Tensor, ember.Tensor)):
                p, tn = fw.unpack_dual(o)
                res.append((p, tn))
        return res


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("spec", _FWD_SPECS, ids=lambda s: s.name)
def test_op_tangents_match_torch(spec, dtype, request):
    if dtype not in spec.dtypes:
        pytest.skip(f"{spec.name} is not defined for {dtype}")
    if spec.name in KNOWN:
        request.applymarker(pytest.mark.xfail(reason=KNOWN[spec.name], strict=True))
    tol = dict(spec.tol.get(dtype, {}))
    if dtype == "float32":
        tol.setdefault("rtol", 2e-5)
        tol.setdefault("atol", 2e-5)
    checked = 0
    for i, sample in enumerate(spec.samples):
        items = materialize(sample, dtype, spec.domain, seed=i)
        if not any(k == "t" and g and v.dtype.kind == "f" for k, v, g in items):
            continue
        tp, tt = _args(items, torch, 50 + i)
        try:
            t_res = _run(torch, tfw, spec.fn, tp, tt)
        except (RuntimeError, NotImplementedError) as err:
            if "forward AD" in str(err) or "not implemented" in str(err).lower() or \
                    "forward-mode" in str(err):
                continue            # torch has no forward rule for this op: nothing to match
            raise
        ep, et = _args(items, ember, 50 + i)
        e_res = _run(ember, efw, spec.fn, ep, et)
        assert len(e_res) == len(t_res)
        for (epr, etn), (tpr, ttn) in zip(e_res, t_res):
            assert_close(epr, tpr, **spec.tol.get(dtype, {}))
            if ttn is None:
                assert etn is None or not np.asarray(etn.numpy()).any(), \
                    f"{spec.name}: ember gives a tangent where torch has none"
                continue
            assert etn is not None, f"{spec.name}: missing tangent"
            assert_close(etn, ttn, **tol)
            checked += 1
    if not checked:
        pytest.skip(f"torch computes no tangent for {spec.name}")
