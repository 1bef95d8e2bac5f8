"""APIs that libraries call and ember lacked (round 23), compared with torch: selective
activation checkpointing's API, GradScaler's kernels, attention's CausalBias,
torch._C.TensorBase."""
import functools
import warnings

import numpy as np
import pytest
import torch

import ember


def _same(e, t):
    assert e.dtype.__repr__().split(".")[-1] == repr(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())


# ---- torch.utils.checkpoint: selective activation checkpointing ------------------------------

def _sac_run(T, policy, as_list=False):
    T.manual_seed(0)
    x = T.randn(6, 5, requires_grad=True)
    w = T.randn(5, 5, requires_grad=True)
    calls = []     # torch's policy calls (ember has no aten dispatch to call it from)

    def policy_fn(ctx, op, *args, **kwargs):     # torch's aten.mm/bmm/sigmoid: policy
        calls.append(ctx.is_recompute)
        name = str(op)
        if "mm" in name or "sigmoid" in name:
            return policy
        return T.utils.checkpoint.CheckpointPolicy.PREFER_RECOMPUTE

    def fn(x, w):
        h = T.nn.functional.dropout(T.matmul(x, w).sigmoid(), 0.3, training=True)
        return (T.matmul(h, w) * w.sum()).tanh()

    cp = T.utils.checkpoint
    ctx_fn = functools.partial(cp.create_selective_checkpoint_contexts, [] if as_list
                               else policy_fn)
    if policy is None and not as_list:      # plain checkpointing
        ctx_fn = cp.noop_context_fn
    out = cp.checkpoint(fn, x, w, use_reentrant=False, context_fn=ctx_fn)
    out.square().sum().backward()
    return out, x.grad, w.grad


@pytest.mark.parametrize("policy", ["MUST_SAVE", "PREFER_RECOMPUTE", "PREFER_SAVE",
                                    "MUST_RECOMPUTE"])
def test_selective_checkpoint_matches_torch_and_plain_checkpoint(policy):
    e = _sac_run(ember, getattr(ember.utils.checkpoint.CheckpointPolicy, policy))
    t = _sac_run(torch, getattr(torch.utils.checkpoint.CheckpointPolicy, policy))
    el, tl = _sac_run(ember, None, as_list=True), _sac_run(torch, None, as_list=True)
    plain = _sac_run(ember, None)
    for a, b, c, d, p in zip(e, t, el, tl, plain):     # through matmuls: within 1e-4
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(c.detach().numpy(), d.detach().numpy(), rtol=1e-4, atol=1e-5)
        _same(a, p)         # the same numbers as plain checkpointing, bit for bit
        _same(c, p)


def test_checkpoint_policy_enum_and_errors():
    E, T = ember.utils.checkpoint, torch.utils.checkpoint
    assert [(m.name, m.value) for m in E.CheckpointPolicy] == \
        [(m.name, m.value) for m in T.CheckpointPolicy]
    for mod in (E, T):
        with pytest.raises(TypeError, match="policy_fn_or_list must be either a function or a "
                                            "list of ops."):
            mod.create_selective_checkpoint_contexts(3)
        with pytest.raises(ValueError, match="Expected op in `op_list` to be an OpOverload"):
            mod.create_selective_checkpoint_contexts(["mm"])
        ctx = mod.SelectiveCheckpointContext(is_recompute=True)
        assert ctx.is_recompute is True
        fwd, rec = mod.create_selective_checkpoint_contexts(lambda *a, **k: None)
        with fwd, rec:
            pass


# ---- GradScaler's kernels ------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
@pytest.mark.parametrize("inv", [2.0 ** -7, 1 / 3, 1.0])
def test_amp_foreach_non_finite_check_and_unscale(dtype, inv):
    vals = [[1.5, -3.25, 1e4, 7.0], [0.1, 0.2], [float("inf"), 2.0], [float("nan")]]
    for cut in (2, 4):        # without and with a non-finite value
        res = []
        for T in (ember, torch):
            ts = [T.tensor(v, dtype=getattr(T, dtype)) for v in vals[:cut]]
            found = T.zeros(1)
            out = T._amp_foreach_non_finite_check_and_unscale_(ts, found, T.full((1,), inv))
            assert out is None
            res.append((ts, found))
        (ets, ef), (tts, tf) = res
        _same(ef, tf)
        for a, b in zip(ets, tts):
            assert repr(a.dtype) == repr(b.dtype)
            _same(a.float(), b.float())


def test_amp_update_scale():
    for factors in ((2.0, 0.5, 2), (1.1, 0.3, 1), (1.7, 0.9, 3)):
        res = []
        for T in (ember, torch):
            scale, tracker = T.tensor([65536.0]), T.tensor([0], dtype=T.int32)
            log = []
            for inf in (0, 0, 0, 1, 0, 0, 0, 0):
                out = T._amp_update_scale_(scale, tracker, T.tensor([float(inf)]), *factors)
                assert out is scale
                log.append((scale.item(), tracker.item()))
            big = T.tensor([3e38])
            T._amp_update_scale_(big, T.tensor([0], dtype=T.int32), T.zeros(1), 2.0, 0.5, 1)
            log.append(big.item())
            res.append(log)
        assert res[0] == res[1]


# ---- torch.nn.attention.bias ---------------------------------------------------------------

@pytest.mark.parametrize("maker", ["causal_lower_right", "causal_upper_left"])
@pytest.mark.parametrize("lq,lk", [(3, 5), (4, 4), (2, 7)])
def test_causal_bias_sdpa(maker, lq, lk):
    import torch.nn.attention.bias  # noqa: F401   (torch imports it on demand too)
    import ember.nn.attention.bias  # noqa: F401
    res = []
    for T in (ember, torch):
        T.manual_seed(0)
        q = T.randn(2, 3, lq, 8, requires_grad=True)
        k, v = T.randn(2, 3, lk, 8), T.randn(2, 3, lk, 8)
        bias = getattr(T.nn.attention.bias, maker)(lq, lk)
        assert isinstance(bias, T.nn.attention.bias.CausalBias)
        out = T.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        out.sum().backward()
        res.append((out, q.grad, bias._materialize(), repr(bias)))
    for a, b in zip(res[0][:2], res[1][:2]):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-6)
    _same(res[0][2], res[1][2])
    assert res[0][3] == res[1][3]
    for T in (ember, torch):
        q, k = T.randn(2, 3, lq, 8), T.randn(2, 3, lk, 8)
        with pytest.raises(ValueError, match="CausalBias should not be used with causal=True"):
            T.nn.functional.scaled_dot_product_attention(
                q, k, k, attn_mask=getattr(T.nn.attention.bias, maker)(lq, lk), is_causal=True)

def test_causal_bias_warning_and_variants():
    import torch.nn.attention.bias as tb
    import ember.nn.attention.bias as eb
    assert [(m.name, int(m)) for m in eb.CausalVariant] == \
        [(m.name, int(m)) for m in tb.CausalVariant]
    for mod in (eb, tb):
        with pytest.warns(UserWarning, match="Lower right causal bias will produce NaNs"):
            mod.causal_lower_right(5, 3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            mod.causal_upper_left(5, 3)
        with pytest.raises(AssertionError, match="causal_upper_left only supports 2D tensors"):
            mod.causal_upper_left(2, 3, 4)


# ---- torch._C.TensorBase -------------------------------------------------------------------

def test_tensor_base_isinstance():
    for T in (ember, torch):
        base = T._C.TensorBase
        assert base is not T.Tensor and issubclass(T.Tensor, base)
        assert isinstance(T.ones(2), base) and isinstance(T.nn.Parameter(T.ones(1)), base)
        assert not isinstance(np.ones(2), base) and not isinstance(3, base)


# ---- torch.tensor of lists holding 0-d arrays ----------------------------------------------

@pytest.mark.parametrize("case", ["first", "nested_first", "both", "later", "row_array",
                                  "np_scalar"])
def test_tensor_of_list_with_0d_arrays(case):
    """torch sizes nested data by the first element at each depth: a 0-d ndarray there is a
    sequence without a length (TypeError); elsewhere it is a number."""
    data = {"first": lambda: [np.array(1.0), 2], "nested_first": lambda: [[np.array(1.0), 2]],
            "both": lambda: [np.array(1), np.array(2)], "later": lambda: [2, np.array(1.0)],
            "row_array": lambda: [np.array([1.0]), [2.0]],
            "np_scalar": lambda: [np.float64(1.0), 2]}[case]
    res = []
    for T in (ember, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res.append(T.tensor(data()))
            except TypeError as e:
                res.append(str(e))
    if isinstance(res[1], str):
        assert res[0] == res[1] == "len() of unsized object"
    else:
        _same(*res)


# ---- float16/bfloat16 floor division of two tensors ----------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("n", [7, 35, 1000])
@pytest.mark.parametrize("how", ["floor_divide", "div_floor", "operator"])
def test_low_float_floor_division_of_tensors(dtype, n, how):
    """torch runs div_floor_floating op by op in the dtype (vector loop and scalar tail alike);
    ember divided in float32 and rounded once (silent wrong quotients)."""
    rng = np.random.default_rng(n)
    a = (rng.standard_normal(n) * 300).astype(np.float32)
    b = (rng.standard_normal(n) * 0.3).astype(np.float32)
    a[:3], b[:3] = [5.0, -0.0, 3.0], [0.0, 2.0, -0.0]      # zero divisors and a zero dividend
    res = []
    for T in (ember, torch):
        x = T.tensor(a.tolist()).to(getattr(T, dtype))
        y = T.tensor(b.tolist()).to(getattr(T, dtype))
        r = {"floor_divide": lambda: T.floor_divide(x, y),
             "div_floor": lambda: T.div(x, y, rounding_mode="floor"),
             "operator": lambda: x // y}[how]()
        assert repr(r.dtype).endswith(dtype)
        res.append(r.float())
    _same(*res)
    np.testing.assert_array_equal(np.signbit(res[0].numpy()), np.signbit(res[1].numpy()))


# ---- adaptive average pooling: window sums divided by the extents --------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("shape,size", [((2, 3, 13, 11), (5, 4)), ((3, 14, 14), (7, 2)),
                                        ((2, 3, 9, 7, 10), (4, 3, 6)), ((2, 3, 29), (6,)),
                                        ((2, 4, 16, 16), (4, 4)), ((1, 2, 6, 6), (6, 6))])
@pytest.mark.parametrize("channels_last", [False, True])
def test_adaptive_avg_pool_forward_bit_exact(dtype, shape, size, channels_last):
    """torch's CPU kernels sum each window in row-major order and divide by kh then kw; ember
    weighted separable taps by 1/k (one-ulp differences in float32)."""
    rng = np.random.default_rng(len(shape) * 10 + size[0])
    data = rng.standard_normal(shape).tolist()
    res = []
    for T in (ember, torch):
        x = T.tensor(data).to(getattr(T, dtype))
        if channels_last and x.ndim in (4, 5):
            x = x.contiguous(memory_format=T.channels_last if x.ndim == 4
                             else T.channels_last_3d)
        f = getattr(T.nn.functional, f"adaptive_avg_pool{len(size)}d")
        y = f(x, size)
        res.append((y.float(), repr(y.dtype), y.stride()))
    _same(res[0][0], res[1][0])
    assert res[0][1:] == res[1][1:]


# ---- float64 lerp: one rounding, as torch's fused multiply-add ------------------------------

@pytest.mark.parametrize("n", [3, 9, 17, 67, 1000])
@pytest.mark.parametrize("weight", ["tensor", 0.3, 0.7])
def test_float64_lerp_fused_like_torch(n, weight):
    """torch's float64 lerp rounds coeff * (end - start) + base once (vector loop and scalar
    tail); ember rounded the product and the sum (silent one-ulp differences)."""
    rng = np.random.default_rng(n)
    a, b, w = rng.standard_normal(n), rng.standard_normal(n), rng.random(n) * 1.2 - 0.1
    res = []
    for T in (ember, torch):
        x, y = T.tensor(a.tolist(), dtype=T.float64), T.tensor(b.tolist(), dtype=T.float64)
        wt = T.tensor(w.tolist(), dtype=T.float64) if weight == "tensor" else weight
        z = x.clone()
        z.lerp_(y, wt)
        res.append((T.lerp(x, y, wt), z))
    for e, t in zip(*res):
        _same(e, t)


# ---- embedding_bag ---------------------------------------------------------------------------

def _bags(T, mode, weighted):
    rng = np.random.default_rng(3)
    w = T.tensor(rng.standard_normal((50, 7)).tolist())
    idx = T.tensor(rng.integers(0, 50, 40).tolist())
    psw = T.tensor(rng.random(40).tolist()) if weighted else None
    flat = T.nn.functional.embedding_bag(idx, w, T.tensor([0, 3, 4, 11, 11, 20, 33]), mode=mode,
                                         per_sample_weights=psw)
    return flat, T.nn.functional.embedding_bag(idx.view(8, 5), w, mode=mode)


@pytest.mark.parametrize("mode", ["mean", "sum"])
def test_embedding_bag_float32_bit_exact(mode):
    for e, t in zip(_bags(ember, mode, False), _bags(torch, mode, False)):
        _same(e, t)


def test_embedding_bag_per_sample_weights_fused_like_torch():
    """torch's float32 embedding_bag with per_sample_weights accumulates each bag as
    fma(weight, row, acc) in order (fbgemm); ember multiplied, then summed (one-ulp
    differences); the gradients agree within float32 rounding."""
    res = []
    for T in (ember, torch):
        out = _bags(T, "sum", True)[0]
        rng = np.random.default_rng(3)
        w = T.tensor(rng.standard_normal((50, 7)).tolist(), requires_grad=True)
        idx = T.tensor(rng.integers(0, 50, 40).tolist())
        psw = T.tensor(rng.random(40).tolist(), requires_grad=True)
        y = T.nn.functional.embedding_bag(idx, w, T.tensor([0, 3, 4, 11, 11, 20, 33]),
                                          mode="sum", per_sample_weights=psw)
        (y * T.arange(7.0)).sum().backward()
        res.append((out, y, w.grad, psw.grad, type(y.grad_fn).__name__))
    _same(res[0][0], res[1][0])
    _same(res[0][1], res[1][1])
    for a, b in zip(res[0][2:4], res[1][2:4]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)
    assert res[0][4] == res[1][4]
