"""torch.nn.attention.flex_attention's eager path against torch's: outputs, logsumexp, gradients
through q/k/v and score_mod's captured tensors, BlockMask and its printing, the checks.

torch's public flex_attention runs its operator under torch.compile (eager backend), a second
or so a call; most comparisons call that operator directly (the same math_attention), its
base-2 logsumexp converted back as the public function does."""
import math
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.attention.flex_attention as TF
from torch._higher_order_ops.flex_attention import flex_attention as torch_hop

import ember
import ember.nn.attention.flex_attention as EF
from oracle import assert_close, to_ember, to_torch


LIBS = {"torch": (torch, TF), "ember": (ember, EF)}


def _torch_flex(q, k, v, score_mod=None, block_mask=None, scale=None, buffers=()):
    """torch's eager flex_attention (out, natural-log logsumexp), called below torch.compile;
    score_mod takes `buffers` after its five arguments, as torch passes captured tensors."""
    bm = TF._create_empty_block_mask(q, k) if block_mask is None else block_mask
    scale = 1.0 / math.sqrt(q.size(-1)) if scale is None else scale
    out, lse, _ = torch_hop(q, k, v, score_mod or TF._identity, bm.as_tuple(), scale, {},
                            tuple(buffers))
    return out, lse * math.log(2.0)


def _qkv(shape_q, shape_kv, dtype=np.float32, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal(s).astype(dtype) for s in (shape_q, shape_kv, shape_kv)]


# each case: lib -> (mask_mod, score_mod); the captured tensors made in that library
def _causal(lib):
    return (lambda b, h, q, kv: q >= kv), None


def _sliding_window(lib):
    return (lambda b, h, q, kv: (q - kv).abs() <= 3), None


def _prefix_lm(lib):
    return lib[1].or_masks(lambda b, h, q, kv: q >= kv, lambda b, h, q, kv: kv < 5), None


def _document(lib):
    doc = lib[0].tensor([[0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3],
                         [0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3]])
    return lib[1].and_masks(lambda b, h, q, kv: doc[b, q] == doc[b, kv],
                            lambda b, h, q, kv: q >= kv), None


def _alibi(lib):
    slopes = lib[0].tensor([0.5, 0.25, 0.125, 0.0625])
    return (lambda b, h, q, kv: q >= kv), \
        (lambda s, b, h, q, kv: s + slopes[h] * (kv - q))


def _softcap_noop(lib):
    return lib[1].noop_mask, (lambda s, b, h, q, kv: lib[0].tanh(s / 2.0) * 2.0)


def _relative_only(lib):
    """A score_mod ignoring the score: its float32 result (no batch or head dimension) meets
    the float64 -inf as a tensor with dimensions meets a 0-d one (vmap's batched tensors do):
    float32 statistics for float64 inputs."""
    return (lambda b, h, q, kv: q >= kv), (lambda s, b, h, q, kv: (kv - q) * 0.1)


CASES = [_causal, _sliding_window, _prefix_lm, _document, _alibi, _softcap_noop,
         _relative_only]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__.strip("_"))
def test_masks_and_score_mods_match_torch(case, dtype):
    qa, ka, va = _qkv((2, 4, 16, 8), (2, 4, 16, 8), dtype)
    results = {}
    for name, lib in LIBS.items():
        mask_mod, score_mod = case(lib)
        bm = lib[1].create_block_mask(mask_mod, 2, 4, 16, 16, device="cpu", BLOCK_SIZE=4)
        results[name] = bm, mask_mod, score_mod
    tbm, _, tsm = results["torch"]
    ebm, emm, esm = results["ember"]
    for attr in EF.BlockMask._TENSOR_ATTRS:
        t, e = getattr(tbm, attr), getattr(ebm, attr)
        assert (t is None) == (e is None), attr
        if t is not None:
            assert_close(e, t)
    assert repr(ebm) == repr(tbm) and str(ebm) == str(tbm)
    assert_close(ebm.to_dense(), tbm.to_dense())
    assert ebm.sparsity() == tbm.sparsity()
    assert_close(EF.create_mask(emm, 2, 4, 16, 16, device="cpu"),
                 TF.create_mask(results["torch"][1], 2, 4, 16, 16, device="cpu"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, aux = EF.flex_attention(*map(to_ember, (qa, ka, va)), score_mod=esm, block_mask=ebm,
                                     return_aux=EF.AuxRequest(lse=True))
    assert aux.max_scores is None
    assert_close((out, aux.lse), _torch_flex(*map(to_torch, (qa, ka, va)), tsm, tbm))


def test_public_function_warnings_and_captured_bias_grad():
    """The real public torch function: its warnings (once each), its output and logsumexp, and
    the gradient of a learned relative-position bias score_mod indexes (the CPU allows that,
    not q/k/v requiring grad)."""
    qa, ka, va = _qkv((1, 2, 8, 4), (1, 2, 8, 4))
    bias = np.random.default_rng(1).standard_normal((2, 8, 8)).astype(np.float32)
    got = {}
    for name, (lib, F) in LIBS.items():
        F._WARNINGS_SHOWN.clear()
        b = lib.tensor(bias, requires_grad=True)
        q, k, v = (lib.tensor(a) for a in (qa, ka, va))
        bm = F.create_block_mask(lambda b_, h, q_, kv: q_ >= kv, 1, 2, 8, 8, device="cpu",
                                 BLOCK_SIZE=4)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out, lse = F.flex_attention(
                q, k, v, score_mod=lambda s, b_, h, q_, kv: s + b[h, q_, kv], block_mask=bm,
                return_lse=True)
            F.flex_attention(q, k, v, return_lse=True)
        (out.sum() + lse.sum()).backward()
        got[name] = out, lse, b.grad, [(x.category, str(x.message)) for x in w]
    assert_close(got["ember"][:3], got["torch"][:3])
    assert got["ember"][3] == got["torch"][3] and len(got["torch"][3]) == 2


def _grad_case(lib, dev, dtype):
    """q/k/v (GQA: 4 query heads, 2 kv heads), a learned bias and a mask with a fully masked
    query row, on `dev`, all requiring grad."""
    r = np.random.default_rng(2)
    arrays = [r.standard_normal(s).astype(dtype) for s in
              ((2, 4, 8, 4), (2, 2, 8, 4), (2, 2, 8, 6), (4, 8, 8))]
    return [lib.tensor(a, device=dev, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_through_qkv_score_mod_and_lse(dtype):
    """On a non-CPU device ember differentiates q/k/v too (torch's CPU refuses; its operator,
    called directly, gives the oracle). The logsumexp's gradient included."""
    mask = lambda b, h, q, kv: (q >= kv) & (q != 3)     # noqa: E731
    q, k, v, bias = _grad_case(torch, "cpu", dtype)
    tbm = TF.create_block_mask(mask, 2, 4, 8, 8, device="cpu", BLOCK_SIZE=4)
    out, lse = _torch_flex(q, k, v, lambda s, b, h, qi, kv, bias: s + bias[h, qi, kv], tbm, 0.3,
                           (bias,))
    r = np.random.default_rng(3)
    go, gl = r.standard_normal(out.shape).astype(dtype), r.standard_normal(lse.shape).astype(dtype)
    ((out * torch.from_numpy(go)).sum()
     + (torch.where(lse.isinf(), 0, lse) * torch.from_numpy(gl)).sum()).backward()

    eq, ek, ev, eb = _grad_case(ember, "mock", dtype)
    ebm = EF.create_block_mask(mask, 2, 4, 8, 8, device="mock", BLOCK_SIZE=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eo, aux = EF.flex_attention(eq, ek, ev, score_mod=lambda s, b, h, qi, kv: s + eb[h, qi, kv],
                                    block_mask=ebm, scale=0.3, enable_gqa=True,
                                    return_aux=EF.AuxRequest(lse=True))
    ((eo * to_ember(go, "mock")).sum()
     + (ember.where(aux.lse.isinf(), 0, aux.lse) * to_ember(gl, "mock")).sum()).backward()
    assert_close((eo, aux.lse), (out, lse))
    assert_close([t.grad for t in (eq, ek, ev, eb)], [t.grad for t in (q, k, v, bias)])


def test_gradcheck_float64():
    r = np.random.default_rng(4)
    q, k, v = (ember.tensor(r.standard_normal((1, 2, 4, 3)), device="mock", requires_grad=True)
               for _ in range(3))
    bias = ember.tensor(r.standard_normal((2, 4, 4)), device="mock", requires_grad=True)
    bm = EF.create_block_mask(lambda b, h, qi, kv: qi >= kv, 1, 2, 4, 4, device="mock",
                              BLOCK_SIZE=2)

    def f(q, k, v, bias):
        return EF.flex_attention(q, k, v, score_mod=lambda s, b, h, qi, kv: s * bias[h, qi, kv],
                                 block_mask=bm, return_lse=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ember.autograd.gradcheck(f, (q, k, v, bias))


def test_fully_masked_rows_give_zeros_and_finite_grads():
    """A query row no key may see (by the mask, or by a score_mod giving -inf): zeros out,
    -inf logsumexp, and gradients without nan, as torch's backward."""
    def mask(b, h, q, kv):
        return q != 2

    def score_mod(s, b, h, q, kv):
        return s.masked_fill(q == 5, float("-inf"))

    q, k, v, _ = _grad_case(torch, "cpu", np.float64)
    k, v = k[:, :1].repeat(1, 4, 1, 1), v[:, :1].repeat(1, 4, 1, 1)
    tbm = TF.create_block_mask(mask, 2, 4, 8, 8, device="cpu", BLOCK_SIZE=4)
    out, lse = _torch_flex(q, k, v, score_mod, tbm)
    out.sum().backward()
    eq = to_ember(q.detach().numpy(), "mock", requires_grad=True)
    ek = to_ember(k.detach().numpy(), "mock")
    ev = to_ember(v.detach().numpy(), "mock")
    ebm = EF.create_block_mask(mask, 2, 4, 8, 8, device="mock", BLOCK_SIZE=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eo, el = EF.flex_attention(eq, ek, ev, score_mod, ebm, return_lse=True)
    eo.sum().backward()
    assert_close((eo, el, eq.grad), (out, lse, q.grad))
    assert (eo[:, :, [2, 5]] == 0).all() and el[:, :, [2, 5]].isneginf().all()


def test_gqa_batch_broadcast_strides_and_low_precision():
    """GQA with the keys' batch of one broadcast (allowed with a block mask of the queries'
    batch); a query transposed from (B, L, H, E) gives out in its layout; float16/bfloat16
    compute in float32, out in the input dtype."""
    qa, ka, va = _qkv((2, 8, 4, 4), (1, 2, 8, 4))
    for dt in ("float32", "float16", "bfloat16"):
        got = {}
        for name, (lib, F) in LIBS.items():
            q = lib.tensor(qa).to(getattr(lib, dt)).transpose(1, 2)
            k, v = (lib.tensor(a).to(getattr(lib, dt)) for a in (ka, va))
            bm = F.create_block_mask(lambda b, h, qi, kv: (qi + b) >= kv, 2, 1, 8, 8,
                                     device="cpu", BLOCK_SIZE=4)
            if name == "torch":
                got[name] = _torch_flex(q, k, v, block_mask=bm)
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    got[name] = F.flex_attention(q, k, v, block_mask=bm, enable_gqa=True,
                                                 return_lse=True)
        assert_close(got["ember"], got["torch"])
        assert got["ember"][0].stride() == got["torch"][0].stride()


def test_block_sparsity_is_not_used_eagerly():
    """torch's eager path applies only the mask_mod: blocks the BlockMask leaves out still
    count."""
    qa = _qkv((1, 1, 8, 4), (1, 1, 8, 4))[0]
    bms = {name: F.BlockMask.from_kv_blocks(lib.zeros(1, 1, 2, dtype=lib.int32),
                                            lib.zeros(1, 1, 2, 2, dtype=lib.int32),
                                            BLOCK_SIZE=4)
           for name, (lib, F) in LIBS.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = EF.flex_attention(*[to_ember(qa)] * 3, block_mask=bms["ember"])
    assert_close(e, _torch_flex(*[to_torch(qa)] * 3, block_mask=bms["torch"])[0])
    assert repr(bms["ember"]) == repr(bms["torch"]) and str(bms["ember"]) == str(bms["torch"])


def test_block_mask_api():
    """from_kv_blocks, indexing, as_tuple, _adjust, to_string's options, sparsity of lengths
    no multiple of the block, a score_mod's create_mask, to()."""
    def sliding(b, h, q, kv):
        return (q - kv).abs() < 6

    def neg_inf_above(s, b, h, q, kv):
        return ember_or_torch.where(q >= kv, s, float("-inf"))

    out = {}
    for name, (lib, F) in LIBS.items():
        ember_or_torch = lib
        bm = F.create_block_mask(sliding, 3, 2, 30, 22, device="cpu", BLOCK_SIZE=(8, 4))
        nosep = F.create_block_mask(sliding, 1, 1, 16, 16, device="cpu", BLOCK_SIZE=4,
                                    separate_full_blocks=False)
        items = [bm, bm[1], bm[-1, 0], bm[0:2, 1:], bm[:, :, lib.tensor([1, 3])], bm._adjust(16, 8),
                 nosep, F.BlockMask.from_kv_blocks(nosep.kv_num_blocks, nosep.kv_indices,
                                                   mask_mod=sliding, compute_q_blocks=False),
                 bm.to("cpu")]
        out[name] = (
            [repr(m) for m in items] + [str(m) for m in items]
            + [bm.to_string(grid_size=2, limit=7), bm.to_string(grid_size=-1, limit=1)]
            + [bm.sparsity(), bm.numel(), bm.shape, len(bm.as_tuple()),
               len(bm.as_tuple(flatten=False)), bm.as_tuple()[-3:-1]],
            F.create_mask(neg_inf_above, 1, 1, 5, 5, device="cpu"),
            [m.to_dense() for m in items])
    assert out["ember"][0] == out["torch"][0]
    assert_close(out["ember"][1], out["torch"][1])
    assert_close(out["ember"][2], out["torch"][2])


def _bad_calls(lib, F):
    r = lambda *s: lib.ones(*s)      # noqa: E731
    q4 = r(1, 2, 8, 4)
    bm = F.create_block_mask(lambda b, h, q, kv: q >= kv, 1, 1, 8, 8, device="cpu", BLOCK_SIZE=4)
    big = F.create_block_mask(lambda b, h, q, kv: q >= kv, 1, 1, 16, 16, device="cpu",
                              BLOCK_SIZE=4)
    return [
        lambda: F.flex_attention(q4, r(1, 3, 8, 4), r(1, 3, 8, 4)),
        lambda: F.flex_attention(r(1, 3, 8, 4), q4, q4, enable_gqa=True),
        lambda: F.flex_attention(q4, r(1, 2, 8, 5), r(1, 2, 8, 4)),
        lambda: F.flex_attention(q4, r(2, 2, 8, 4), r(2, 2, 8, 4)),
        lambda: F.flex_attention(q4, r(2, 2, 8, 4), r(2, 2, 8, 4), block_mask=bm),
        lambda: F.flex_attention(r(2, 8, 4), r(2, 8, 4), r(2, 8, 4)),
        lambda: F.flex_attention(r(1, 8), r(8), r(1, 8)),
        lambda: F.flex_attention(r(1, 2, 8, 4).requires_grad_(), q4, q4),
        lambda: F.flex_attention(r(1, 2, 4, 4), r(1, 2, 4, 4), r(1, 2, 4, 4), block_mask=bm),
        lambda: F.flex_attention(r(1, 2, 16, 4), r(1, 2, 16, 4), r(1, 2, 16, 4), block_mask=bm),
        lambda: F.flex_attention(q4, q4, q4, block_mask=big[0]),
        lambda: F.flex_attention(q4, q4, q4, return_lse=True, return_aux=F.AuxRequest()),
        lambda: F.flex_attention(q4, q4, q4, kernel_options={"BACKEND": "CUDNN"}),
        lambda: F.flex_attention(q4, q4, q4, kernel_options={"BACKEND": "AUTO",
                                                             "FORCE_USE_FLEX_ATTENTION": True}),
        lambda: F.flex_attention(q4, q4, q4, kernel_options={"OUTPUT_LOGSUMEXP": True}),
        lambda: F.flex_attention(q4, q4, q4, return_aux=F.AuxRequest(max_scores=True)),
        lambda: F.create_block_mask(lambda s, b, h, q, kv: s, 1, 1, 8, 8, device="cpu"),
        lambda: F.create_block_mask(lambda b, h, q, kv: q >= kv, 1, 1, 8, 8, device="cpu",
                                    dq_kv_order=1),
        lambda: F.create_mask(lambda b, h: b, 1, 1, 4, 4, device="cpu"),
        lambda: F.or_masks(lambda b, h, q, kv: q >= kv, 3),
        lambda: F.BlockMask.from_kv_blocks(lib.ones(2, dtype=lib.int32),
                                           lib.ones(2, dtype=lib.int32)),
        lambda: big[0].mask_mod(*[lib.tensor(0)] * 4),
    ]


def test_argument_checks_match_torch():
    calls = {name: _bad_calls(*lib) for name, lib in LIBS.items()}
    for i, (t_call, e_call) in enumerate(zip(calls["torch"], calls["ember"])):
        with pytest.raises(Exception) as te:
            t_call()
        with pytest.raises(Exception) as ee:
            e_call()
        messages = [re.sub(" at 0x[0-9a-f]+", "", str(x.value)) for x in (ee, te)]
        assert (type(ee.value), messages[0]) == (type(te.value), messages[1]), i


def test_backward_needs_q_blocks():
    """A BlockMask made without its Q layout, and a score_mod tensor requiring grad: torch's
    RuntimeError (torch's compile wraps it in a RuntimeError subclass, the message inside)."""
    for lib, F in LIBS.values():
        q, bias = lib.ones(1, 1, 8, 4), lib.ones(8, requires_grad=True)
        bm = F.create_block_mask(lambda b, h, qi, kv: qi >= kv, 1, 1, 8, 8, device="cpu",
                                 BLOCK_SIZE=4)
        bm = F.BlockMask.from_kv_blocks(bm.kv_num_blocks, bm.kv_indices, BLOCK_SIZE=4,
                                        mask_mod=bm.mask_mod, compute_q_blocks=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(RuntimeError, match="BlockMask q_indices is None. Backward pass "
                               "requires q_indices to be computed. Please create the BlockMask "
                               "with compute_q_blocks=True"):
                F.flex_attention(q, q, q, score_mod=lambda s, b, h, qi, kv: s + bias[kv],
                                 block_mask=bm)
            with lib.no_grad():
                assert not F.flex_attention(q, q, q, score_mod=lambda s, b, h, qi, kv: s + bias[kv],
                                            block_mask=bm).requires_grad
