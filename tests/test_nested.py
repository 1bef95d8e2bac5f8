"""torch.nested against torch: construction, metadata, printing, ops on both layouts, the
autograd graph back to the components, and torch's errors."""
import math
import re

import numpy as np
import pytest
import torch

import ember

pytestmark = pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")


def _data():
    rs = np.random.RandomState(0)
    return [rs.randn(2, 4).astype(np.float32), rs.randn(3, 4).astype(np.float32),
            rs.randn(1, 4).astype(np.float32)]


def _nt(L, layout, requires_grad=False, dtype=None):
    lay = getattr(L, layout)
    return L.nested.nested_tensor([L.tensor(a) for a in _data()], layout=lay,
                                  requires_grad=requires_grad, dtype=dtype)


def _norm(text):
    """A repr without what differs between processes (nested int numbers, addresses)."""
    return re.sub(r"\bj\d+\b", "j", re.sub(r" object at 0x[0-9a-f]+", "", text))


def _same(e, t, atol=1e-6):
    """ember result e against torch result t: tensors (nested or not), tuples, plain values."""
    if isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for x, y in zip(e, t):
            _same(x, y, atol)
        return
    if not isinstance(t, torch.Tensor):
        assert e == t
        return
    assert e.is_nested == t.is_nested and str(e.layout) == str(t.layout)
    assert str(e.dtype) == str(t.dtype) and e.dim() == t.dim()
    assert e.requires_grad == t.requires_grad
    assert (e.grad_fn is None) == (t.grad_fn is None)
    if t.is_nested:
        assert _norm(repr(e)) == _norm(repr(t))
        _same(e.unbind(), t.unbind(), atol)
        return
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), atol=atol, rtol=1e-5)


LAYOUTS = ["strided", "jagged"]


# ---- construction, metadata, printing -------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("rg", [False, True])
def test_construct_and_print(layout, rg):
    e, t = _nt(ember, layout, rg), _nt(torch, layout, rg)
    _same(e, t)
    assert e.is_leaf and t.is_leaf
    assert (e.dim(), e.ndim, e.size(0), e.size(-1), e.numel()) == \
        (t.dim(), t.ndim, t.size(0), t.size(-1), t.numel())
    assert str(e.device) == str(t.device)
    _same(e.to_padded_tensor(0.0), t.to_padded_tensor(0.0))
    _same(list(e.unbind()), list(t.unbind()))


def test_jagged_metadata():
    e, t = _nt(ember, "jagged"), _nt(torch, "jagged")
    assert _norm(str(e.shape)) == _norm(str(t.shape)) and _norm(str(e.size(1))) == "j"
    _same(e.values(), t.values())
    _same(e.offsets(), t.offsets())
    assert e.lengths() is None and t.lengths() is None
    _same(list(e), list(t))
    assert len(e) == len(t)


def test_strided_sizes_raise():
    e, t = _nt(ember, "strided"), _nt(torch, "strided")
    for f in (lambda x: x.shape, lambda x: x.size(), lambda x: x.size(1), lambda x: x.size(3),
              lambda x: x.offsets()):
        with pytest.raises(Exception) as te:
            f(t)
        with pytest.raises(type(te.value), match=re.escape(str(te.value))):
            f(e)
    _same(e.values(), t.values())


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("size", [(3, 4, 6), (4, 3, 4), (3, 2, 4), (3, 4)])
def test_padded_output_size(layout, size):
    _compare(lambda L, x: L.nested.to_padded_tensor(x, -1.0, output_size=size), layout)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_to_detach_dtype(layout):
    for f in (lambda x: x.to(ember.float64 if isinstance(x, ember.Tensor) else torch.float64),
              lambda x: x.double(), lambda x: x.detach(), lambda x: x.clone(),
              lambda x: x.to("cpu")):
        _same(f(_nt(ember, layout, True)), f(_nt(torch, layout, True)))
    _same(_nt(ember, layout, dtype=ember.float64), _nt(torch, layout, dtype=torch.float64))
    _same(_nt(ember, layout).requires_grad_(), _nt(torch, layout).requires_grad_())


def test_from_jagged_and_narrow():
    pairs = []
    for L in (ember, torch):
        values = L.arange(24.0).reshape(6, 4)
        pairs.append((L.nested.nested_tensor_from_jagged(values, L.tensor([0, 2, 3, 6])),
                      L.nested.nested_tensor_from_jagged(values, lengths=L.tensor([2, 1, 3])),
                      L.nested.nested_tensor_from_jagged(values, L.tensor([0, 2, 3, 5]),
                                                         L.tensor([1, 1, 2])),
                      L.nested.narrow(L.arange(30.0).reshape(3, 10), 1, L.tensor([0, 2, 5]),
                                      L.tensor([3, 1, 4]), layout=L.jagged),
                      L.nested.narrow(L.arange(30.0).reshape(3, 10), 0, 1, 2)))
    _same(*pairs)
    with pytest.raises(RuntimeError, match="only dim=0 supported for nested tensors"):
        ember.nested.narrow(ember.ones(3, 10), 1, 2, 3)
    with pytest.raises(RuntimeError, match="At least one of offsets or lengths"):
        ember.nested.nested_tensor_from_jagged(ember.ones(3, 2))


# ---- ops ------------------------------------------------------------------------------------
def _ops(L):
    F = L.nn.functional
    W = L.tensor(np.random.RandomState(1).randn(5, 4).astype(np.float32))
    b = L.tensor(np.random.RandomState(2).randn(5).astype(np.float32))
    lw = L.tensor(np.random.RandomState(3).rand(4).astype(np.float32))
    return {
        "add": lambda x: x + x, "add_scalar": lambda x: x + 1, "rmul": lambda x: 2 * x,
        "mul": lambda x: x * x, "sub": lambda x: x - x * 0.5, "div": lambda x: x / 2,
        "neg": lambda x: -x, "abs": lambda x: x.abs(), "relu": lambda x: F.relu(x),
        "torch_relu": lambda x: L.relu(x), "gelu": lambda x: F.gelu(x),
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"), "silu": lambda x: F.silu(x),
        "tanh": lambda x: x.tanh(), "sin": lambda x: x.sin(), "add_0d": lambda x: x + L.tensor(2.0),
        "linear": lambda x: F.linear(x, W, b), "linear_nobias": lambda x: F.linear(x, W),
        "softmax": lambda x: x.softmax(-1), "F_softmax": lambda x: F.softmax(x, dim=-1),
        "sum": lambda x: x.sum(-1, keepdim=True),
        "layer_norm": lambda x: F.layer_norm(x, (4,), lw, lw * 0.5),
        "transpose": lambda x: x.transpose(1, 2),
        "matmul_nt": lambda x: L.matmul(x, x.transpose(1, 2)),
        "gt": lambda x: x > 0, "masked_fill": lambda x: x.masked_fill(x > 0, 0.0),
    }


# ops torch runs on strided tensors only (jagged: test_ops_and_refusals compares its error)
STRIDED_ONLY = {"matmul_nt"}
# torch has no nested tanh_backward, nor a jagged sum's backward
NO_TORCH_GRAD = {("tanh", "strided"), ("sum", "jagged")}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(_ops(ember)))
def test_op_and_grad(layout, name):
    if layout == "jagged" and name in STRIDED_ONLY:
        return
    outs = []
    for L in (ember, torch):
        x = _nt(L, layout, requires_grad=True)
        y = _ops(L)[name](x)
        outs.append((x, y))
    (ex, ey), (tx, ty) = outs
    _same(ey, ty, atol=1e-5)
    if not ty.requires_grad:
        return
    if (name, layout) in NO_TORCH_GRAD:     # (nor ember's, which raises torch's error)
        with pytest.raises(NotImplementedError) as expected:
            sum(c.sum() for c in ty.unbind()).backward()
        with pytest.raises(NotImplementedError) as got:
            sum(c.sum() for c in ey.unbind()).backward()
        assert str(got.value).split(" is only available")[0] == \
            str(expected.value).split(" is only available")[0]
        return
    for y in (ey, ty):
        sum((c * c.detach().cos()).sum() for c in y.unbind()).backward()
    _same(ex.grad, tx.grad, atol=1e-5)


def _compare(f, layout, grad=False):
    """f(L, x) on a nested tensor of each library: torch's result, or torch's exception class
    and message."""
    try:
        t = f(torch, _nt(torch, layout, grad))
    except Exception as exc:
        with pytest.raises(type(exc)) as info:
            f(ember, _nt(ember, layout, grad))
        assert _norm(str(info.value))[:90] == _norm(str(exc))[:90]
        return
    _same(f(ember, _nt(ember, layout, grad)), t, atol=1e-5)


CASES = {
    "sigmoid": lambda L, x: x.sigmoid(), "exp": lambda L, x: x.exp(),
    "log": lambda L, x: x.abs().log(), "rsqrt": lambda L, x: x.abs().rsqrt(),
    "rsub": lambda L, x: 1 - x, "pow": lambda L, x: x ** 2, "lt": lambda L, x: x < 0.5,
    "le": lambda L, x: x <= 0.5, "ne": lambda L, x: x != 0.5, "eq": lambda L, x: x == 0.5,
    "eq_nested": lambda L, x: x == x, "ge": lambda L, x: x >= 0.5,
    "where": lambda L, x: L.where(x > 0, x, 0.0), "where_nested": lambda L, x: L.where(
        x > 0, x, x * 2), "log_softmax": lambda L, x: x.log_softmax(-1),
    "mean": lambda L, x: x.mean(-1, keepdim=True), "mean_nokeep": lambda L, x: x.mean(-1),
    "sum_nokeep": lambda L, x: x.sum(-1), "sum_dim1": lambda L, x: x.sum(1, keepdim=True),
    "sum_dim0": lambda L, x: x.sum(0, keepdim=True), "sum_all": lambda L, x: x.sum(),
    "mean_all": lambda L, x: x.mean(), "mean_dim1": lambda L, x: x.mean(1),
    "sum_dim1_nokeep": lambda L, x: x.sum(1), "sum_dims12": lambda L, x: x.sum((1, 2)),
    "sum_all_grad": lambda L, x: _grad_of(x, x * 3, lambda y: y.sum()),
    "mean_all_grad": lambda L, x: _grad_of(x, x * 3, lambda y: y.mean()),
    "add_dense": lambda L, x: x + L.ones(4), "matmul_dense": lambda L, x: x @ L.ones(4, 3),
    "mul_dense": lambda L, x: x * L.arange(4.0),
    "softmax_dim0": lambda L, x: x.softmax(0), "softmax_dim1": lambda L, x: x.softmax(1),
    "transpose_0": lambda L, x: x.transpose(0, 1), "unbind_1": lambda L, x: x.unbind(1),
    "add_other": lambda L, x: x + L.nested.nested_tensor(
        [L.ones(2, 4), L.ones(2, 4), L.ones(1, 4)], layout=x.layout),
    "bmm": lambda L, x: L.bmm(x, x.transpose(1, 2)), "exp_fn": lambda L, x: L.exp(x),
    "is_contiguous": lambda L, x: (x.is_contiguous(), x.transpose(1, 2).is_contiguous(),
                                   x.transpose(1, 2).transpose(1, 2).is_contiguous()),
    "reciprocal": lambda L, x: 1 / x, "not_implemented": lambda L, x: x.cumsum(-1),
    "size_out_of_range": lambda L, x: x.size(3),
    "max_dim_batch": lambda L, x: x.max(0), "min_dim_batch": lambda L, x: x.min(0),
    "slice_batch": lambda L, x: x[1:], "slice_inner": lambda L, x: x[:, 1:, 0],
    "getitem_row": lambda L, x: x[1, 2],
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_ops_and_refusals(layout, name):
    _compare(CASES[name], layout)


def _qkv(L, layout, heads_first=True):
    rs = np.random.RandomState(4)
    seqs = [L.tensor(rs.randn(n, 2, 8).astype(np.float32)) for n in (3, 5, 1)]
    x = L.nested.nested_tensor(seqs, layout=getattr(L, layout), requires_grad=True)
    return x, (x.transpose(1, 2) if heads_first else x)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("heads_first", [False, True])
def test_sdpa(layout, heads_first):
    """The common jagged use: attention within each variable-length sequence, (B, H, j, D)."""
    def run(L):
        x, q = _qkv(L, layout, heads_first)
        F = L.nn.functional
        out = F.scaled_dot_product_attention(q, q * 0.5, q * 2.0)
        out = out.transpose(1, 2) if heads_first else out
        sum((c * c.detach().cos()).sum() for c in out.unbind()).backward()
        return out, x.grad
    try:
        t = run(torch)
    except RuntimeError as exc:         # torch refuses a transposed strided tensor
        with pytest.raises(RuntimeError, match=re.escape(str(exc))):
            run(ember)
        return
    _same(run(ember), t, atol=1e-5)


@pytest.mark.parametrize("kw, exc, msg", [({"is_causal": True}, RuntimeError, "No viable backend"),
                                          ({"attn_mask": "mask"}, ValueError, "Masks are not")])
def test_sdpa_refusals(kw, exc, msg):
    for L in (ember, torch):
        _, q = _qkv(L, "jagged")
        kw = {k: L.ones(2, 2, dtype=L.bool) if v == "mask" else v for k, v in kw.items()}
        with pytest.raises(exc, match=msg):
            L.nn.functional.scaled_dot_product_attention(q, q, q, **kw)


# ---- autograd across the nested / dense boundary --------------------------------------------
def _leaves(L):
    rs = np.random.RandomState(5)
    return [L.tensor(rs.randn(n, 4).astype(np.float32), requires_grad=True) for n in (2, 3)]


def _loss(y):
    return sum((c * c.detach().cos()).sum() for c in y.unbind())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_as_nested_keeps_graph(layout):
    """as_nested_tensor([a, b]) takes gradients back to a and b; nested_tensor copies them."""
    res = []
    for L in (ember, torch):
        a, b = _leaves(L)
        W = L.ones(5, 4, requires_grad=True)
        nt = L.nested.as_nested_tensor([a * 2, b], layout=getattr(L, layout))
        y = L.nn.functional.linear(nt.relu() + nt, W)
        _loss(y).backward()
        copy = L.nested.nested_tensor([a, b], layout=getattr(L, layout))
        res.append((nt, a.grad, b.grad, W.grad, copy, copy.is_leaf, copy.requires_grad))
    _same(*res, atol=1e-5)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_leaf_grads_and_padded_backward(layout):
    res = []
    for L in (ember, torch):
        x = _nt(L, layout, requires_grad=True)
        p = (x * 3).to_padded_tensor(0.0)
        (p * L.arange(float(p.numel())).reshape(p.shape)).sum().backward()
        res.append((p, x.grad, x.grad.is_nested))
    _same(*res)


def test_jagged_values_and_from_jagged_grads():
    res = []
    for L in (ember, torch):
        values = L.arange(24.0).reshape(6, 4).requires_grad_()
        nt = L.nested.nested_tensor_from_jagged(values * 1.0, L.tensor([0, 2, 3, 6]))
        out = L.nn.functional.softmax(nt, dim=-1)
        (out.values() * L.arange(24.0).reshape(6, 4)).sum().backward()
        res.append((nt, out.values(), values.grad))
    _same(*res, atol=1e-6)


def test_jagged_dense_broadcast_grad():
    res = []
    for L in (ember, torch):
        x = _nt(L, "jagged", requires_grad=True)
        bias = L.arange(4.0).requires_grad_()
        y = x * bias + bias
        _loss(y).backward()
        res.append((y, x.grad, bias.grad))
    _same(*res, atol=1e-5)


VIEWS = {
    "view_heads": lambda L, x: x.view(3, -1, 2, 2), "reshape": lambda L, x: x.reshape(3, -1, 2, 2),
    "unflatten": lambda L, x: x.unflatten(-1, (2, 2)),
    "flatten_back": lambda L, x: x.unflatten(-1, (2, 2)).transpose(1, 2).transpose(1, 2)
    .flatten(-2),
    "view_nested_int": lambda L, x: x.view(3, x.size(1), 2, 2),
    "view_bad": lambda L, x: x.view(3, 2, 8), "view_batch": lambda L, x: x.view(6, -1, 2, 2),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views(layout, name):
    _compare(VIEWS[name], layout)
    if name in ("view_heads", "reshape") and layout == "jagged":    # and their gradient
        _compare(lambda L, x: _grad_of(x, VIEWS[name](L, x)), layout, grad=True)


def _grad_of(x, y, loss=None):
    (loss or _loss)(y).backward()
    return x.grad


@pytest.mark.parametrize("layout", LAYOUTS)
def test_dropout_draws_as_torch(layout):
    """torch's CPU dropout draws over the nested buffer, components in order."""
    res = []
    for L in (ember, torch):
        L.manual_seed(0)
        x = _nt(L, layout, requires_grad=True)
        y = L.nn.functional.dropout(x, 0.4)
        _loss(y).backward()
        res.append((y, x.grad))
    _same(*res, atol=1e-6)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_large_components_backward(layout):
    """Components over the engine's 64 KiB release threshold (the nodes keep them)."""
    res = []
    for L in (ember, torch):
        rs = np.random.RandomState(6)
        x = L.nested.nested_tensor([L.tensor(rs.randn(n, 160).astype(np.float32))
                                    for n in (110, 130)], layout=getattr(L, layout),
                                   requires_grad=True)
        W = L.tensor(rs.randn(160, 160).astype(np.float32) * 0.1, requires_grad=True)
        F = L.nn.functional
        y = F.layer_norm(F.gelu(F.linear(x, W)) + x, (160,), L.ones(160), L.zeros(160))
        _loss(y).backward()
        res.append((x.grad, W.grad))
    _same(*res, atol=2e-4)


def test_masked_select():
    res = []
    for L in (ember, torch):
        x = L.arange(12.0).reshape(3, 4).requires_grad_()
        nt = L.nested.masked_select(x, x.detach() % 3 != 1)
        (nt.values() * L.arange(8.0)).sum().backward()
        res.append((nt, x.grad, L.nested.masked_select(x, L.tensor([False])).offsets()))
    _same(*res)
    with pytest.raises(RuntimeError, match="requires a strided tensor, given torch.jagged"):
        ember.nested.masked_select(_nt(ember, "jagged"), ember.tensor([True]))


MORE = {
    "layer_norm_no_affine": lambda L, x: L.nn.functional.layer_norm(x, (4,)),
    "layer_norm_module": lambda L, x: L.nn.LayerNorm(4)(x),
    "linear_module": lambda L, x: (L.manual_seed(0), L.nn.Linear(4, 3)(x))[1],
    "two_ragged_dims": lambda L, x: L.nested.nested_tensor([L.ones(2, 3), L.ones(3, 2)],
                                                           layout=x.layout),
    "from_lists": lambda L, x: L.nested.nested_tensor([[1, 2, 3], [4]], layout=x.layout),
    "from_lists_float": lambda L, x: L.nested.nested_tensor([[1.5, 2], [4.25]], layout=x.layout,
                                                            dtype=L.float64),
    "getitem": lambda L, x: (x[0], x[-1]), "getitem_grad": lambda L, x: _grad_of(x, x[1] * 2),
    "zeros_like": lambda L, x: L.zeros_like(x), "ones_like": lambda L, x: L.ones_like(x),
    "empty_like": lambda L, x: L.empty_like(x).dim(),
    "backward_nested_grad": lambda L, x: (x * 2).backward(L.ones_like(x)) or x.grad,
    "unsqueeze": lambda L, x: x.unsqueeze(-1), "unsqueeze_0": lambda L, x: x.unsqueeze(0),
    "unsqueeze_1": lambda L, x: x.unsqueeze(1).transpose(1, 2),
    "squeeze": lambda L, x: x.unsqueeze(-1).squeeze(-1),
    "permute": lambda L, x: x.permute(0, 2, 1), "permute_0": lambda L, x: x.permute(1, 0, 2),
    "permute_grad": lambda L, x: _grad_of(x, x.unsqueeze(-1).permute(0, 3, 2, 1)),
    "squeeze_0": lambda L, x: x.squeeze(0),
    "amax": lambda L, x: x.amax(-1), "amax_keepdim": lambda L, x: x.amax(-1, keepdim=True),
    "amin": lambda L, x: x.amin(2), "amax_ragged": lambda L, x: x.amax(1),
    "amin_ragged_keepdim": lambda L, x: x.amin(1, keepdim=True),
    "amax_batch": lambda L, x: x.amax(0), "amax_all": lambda L, x: x.amax(),
    "max_all": lambda L, x: x.max(), "min_all": lambda L, x: x.min(),
    "amax_grad": lambda L, x: _grad_of(x, x.amax(-1, keepdim=True) * 2),
    "amax_ragged_grad": lambda L, x: _grad_of(x, x, lambda y: (y.amin(1) * 3).sum()),
    "max_all_grad": lambda L, x: _grad_of(x, x * 3, lambda y: y.max()), "slice_batch": lambda L, x: x[1:], "slice_all": lambda L, x: x[:],
    "slice_inner": lambda L, x: x[:, :, 0], "getitem_row": lambda L, x: x[2, 0],
    "getitem_row_grad": lambda L, x: _grad_of(x, x[1, 0] * 2, lambda y: y.sum()),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(MORE))
def test_more_ops(layout, name):
    _compare(MORE[name], layout, grad=True)


# ---- conversions to Python and NumPy, in-place ops, dropout outside training ----------------
CONVERSIONS = {
    "item": lambda L, x: x.item(), "bool": lambda L, x: bool(x), "tolist": lambda L, x: x.tolist(),
    "numpy": lambda L, x: x.numpy(), "numpy_detached": lambda L, x: x.detach().numpy(),
    "stride": lambda L, x: x.stride(), "len": lambda L, x: len(x), "list": lambda L, x: list(x),
    "item_one": lambda L, x: L.nested.nested_tensor([L.ones(1)], layout=x.layout).item(),
    "bool_one": lambda L, x: bool(L.nested.nested_tensor([L.ones(1)], layout=x.layout)),
    "unbind_neg": lambda L, x: x.unbind(-1),
}
# torch's jagged stride() is symbolic ((4*j1, 4, 1)); ember's raises (strided: as torch)
NOT_MATCHED = {("stride", "jagged")}


@pytest.mark.parametrize("name, layout", [(n, lay) for n in sorted(CONVERSIONS) for lay in LAYOUTS
                                          if (n, lay) not in NOT_MATCHED])
def test_conversions(layout, name):
    _compare(CONVERSIONS[name], layout, grad=True)


def _nested_other(L, x):
    return (x * 3).abs() + 1        # (a jagged one of the same nested int)


INPLACE = {
    "add_": lambda L, x: x.add_(1), "add_nested": lambda L, x: x.add_(x),
    "mul_": lambda L, x: x.mul_(2), "mul_nested": lambda L, x: x.mul_(_nested_other(L, x)),
    "sub_": lambda L, x: x.sub_(1), "div_": lambda L, x: x.div_(2),
    "zero_": lambda L, x: x.zero_(), "fill_": lambda L, x: x.fill_(2.5),
    "fill_tensor": lambda L, x: x.fill_(L.tensor(2.5)), "relu_": lambda L, x: x.relu_(),
    "F_relu_": lambda L, x: L.nn.functional.relu_(x),
    "F_relu_inplace": lambda L, x: L.nn.functional.relu(x, inplace=True),
    "copy_": lambda L, x: x.copy_(_nested_other(L, x)), "tanh_": lambda L, x: x.tanh_(),
    "masked_fill_": lambda L, x: x.masked_fill_(x > 0, 0.0),
    "copy_dense": lambda L, x: x.copy_(L.ones(4)), "copy_0d": lambda L, x: x.copy_(L.tensor(1.0)),
    "dense_copy_": lambda L, x: L.ones(2, 4).copy_(x),
}
# strided: torch's NotImplementedError, where ember's masked_fill_ raises the sizes error
INPLACE_NOT_MATCHED = {("masked_fill_", "strided")}


@pytest.mark.parametrize("name, layout", [(n, lay) for n in sorted(INPLACE) for lay in LAYOUTS
                                          if (n, lay) not in INPLACE_NOT_MATCHED])
def test_inplace(layout, name):
    """The op writes into the tensor itself (its values, and the result is it), or raises as
    torch does."""
    def run(L, x):
        out = INPLACE[name](L, x)
        return out is x, x
    _compare(run, layout)


def test_inplace_strided_leaf_and_jagged_view():
    """A leaf that requires grad is refused; a jagged tensor's in-place op writes through to
    the values it views."""
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            _nt(L, "strided", requires_grad=True).mul_(2)
        with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
            _nt(L, "jagged", requires_grad=True).relu_()
    res = []
    for L in (ember, torch):
        values = L.arange(12.0).reshape(6, 2)
        nt = L.nested.nested_tensor_from_jagged(values, L.tensor([0, 2, 6]))
        nt.mul_(2).add_(1)
        res.append((nt, values))
    _same(*res)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("p, training", [(0.3, False), (0.0, True)])
def test_dropout_identity_node(layout, p, training):
    """torch runs native_dropout on a nested tensor even when it keeps every element."""
    res = []
    for L in (ember, torch):
        x = _nt(L, layout, requires_grad=True)
        y = L.nn.functional.dropout(x, p, training=training)
        z = L.nn.functional.dropout(x * 2, p, training=training)
        _loss(y + z).backward()
        res.append((y, z, x.grad, y is x))
    _same(*res)


JAGGED_CAT = {
    "last": lambda L, x: L.cat([x, x * 2], -1), "dim2": lambda L, x: L.cat((x * 2, x), 2),
    "grad": lambda L, x: _grad_of(x, L.cat([x, x.sin()], 2)),
    "batch": lambda L, x: L.cat([x, x], 0), "ragged": lambda L, x: L.cat([x, x], 1),
}


@pytest.mark.parametrize("name", sorted(JAGGED_CAT))
def test_jagged_cat(name):
    """torch concatenates jagged tensors of one nested int along a dim after the ragged one
    (strided tensors: test_cat)."""
    _compare(JAGGED_CAT[name], "jagged", grad=True)


STRIDED_SELECT = {
    "select": lambda L, x: x[..., 1], "select_3d": lambda L, x: x.unsqueeze(-1)[..., 0],
    "negative": lambda L, x: x[..., -1], "out_of_range": lambda L, x: x[..., 4],
    "grad": lambda L, x: _grad_of(x, x[..., 2] * 2),
}


@pytest.mark.parametrize("name", sorted(STRIDED_SELECT))
def test_strided_select_last(name):
    """nt[..., k] of a strided tensor: each component's select (torch takes no negative k, and
    its backward fails; a jagged tensor's: test_narrow_select_slice)."""
    _compare(STRIDED_SELECT[name], "strided", grad=True)


SPLITS = {
    "split": lambda L, x: x.split(2, -1), "split_sizes": lambda L, x: x.split([1, 3], -1),
    "split_fn": lambda L, x: L.split(x, [3, 1], dim=2), "split_ragged": lambda L, x: x.split(1, 1),
    "split_batch": lambda L, x: x.split(1, 0), "split_sizes_batch": lambda L, x: x.split([1, 2], 0),
    "split_sizes_ragged": lambda L, x: x.split([1, 3], 1),
    "split_bad_sizes": lambda L, x: x.split([1, 2], -1), "split_neg": lambda L, x: x.split(-1, -1),
    "split_zero": lambda L, x: x.split(0, -1), "split_out_of_range": lambda L, x: x.split(1, 5),
    "split_transposed": lambda L, x: x.transpose(1, 2).split(2, 1),
    "chunk": lambda L, x: x.chunk(2, -1), "chunk_uneven": lambda L, x: x.chunk(3, -1),
    "chunk_more": lambda L, x: x.chunk(5, 2), "chunk_one": lambda L, x: x.chunk(1, -1),
    "chunk_batch": lambda L, x: x.chunk(2, 0), "chunk_batch_all": lambda L, x: x.chunk(3, 0),
    "chunk_ragged": lambda L, x: x.chunk(2, 1), "chunk_zero": lambda L, x: x.chunk(0, -1),
    "chunk_unsqueezed": lambda L, x: x.unsqueeze(1).chunk(2, 1),
    "chunk_batch_offsets": lambda L, x: [c.offsets() for c in x.chunk(2, 0)],
    "contiguous": lambda L, x: [c.is_contiguous() for c in x.chunk(2, -1) + x.chunk(2, 0)],
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(SPLITS))
def test_split_chunk(layout, name):
    """split / chunk as torch: a jagged tensor's along a non-ragged dim (views of its values,
    not contiguous) or chunks of its batch (new offsets); a strided one's along its last dim;
    torch's refusals of the others."""
    _compare(SPLITS[name], layout, grad=layout == "jagged")    # (strided: torch's autograd
    # of these fails inside, reading sizes or buffers)


JAGGED_SPLIT_GRADS = {   # (torch's split_with_sizes backward of a jagged tensor crashes)
    "split": lambda L, x: _grad_of(x, (lambda s: L.cat([s[1] * 3, s[0]], -1))(x.split(2, -1))),
    "chunk": lambda L, x: _grad_of(x, x.chunk(2, -1)[0].relu()),
    "chunk_both": lambda L, x: _grad_of(x, x.chunk(2, -1)[0] * x.chunk(2, -1)[1]),
    "chunk_batch": lambda L, x: _grad_of(x, x.chunk(2, 0)[1] * 3),
}


@pytest.mark.parametrize("name", sorted(JAGGED_SPLIT_GRADS))
def test_jagged_split_grads(name):
    """Gradients through the pieces back to the jagged tensor (zeros where a piece has none)."""
    _compare(JAGGED_SPLIT_GRADS[name], "jagged", grad=True)


def _heads(L, x):
    return x.unflatten(-1, (2, 2)).transpose(1, 2)     # (B, H, j, D)


CONTIGUITY = {
    "transposed": lambda L, x: [y.is_contiguous() for y in (
        _heads(L, x), _heads(L, x).contiguous(), _heads(L, x) * 2, _heads(L, x).transpose(2, 3),
        _heads(L, x).transpose(2, 3).relu(), _heads(L, x).transpose(2, 3).contiguous())],
    "contiguous_values": lambda L, x: _heads(L, x).contiguous().transpose(1, 2).values(),
    "sdpa_out": lambda L, x: (lambda q: L.nn.functional.scaled_dot_product_attention(q, q, q))(
        _heads(L, x)).transpose(1, 2).is_contiguous(),
    "sdpa_noncontiguous": lambda L, x: (lambda q: L.nn.functional.scaled_dot_product_attention(
        q, q, q))(x.unflatten(-1, (2, 2)).transpose(2, 3).transpose(1, 2)),
}


@pytest.mark.parametrize("name", sorted(CONTIGUITY))
def test_jagged_contiguity(name):
    """A jagged tensor is contiguous where torch's values are: not transposed inside, not a
    slice of a dim; torch's attention takes no (B, H, j, D) input whose transpose is not."""
    _compare(CONTIGUITY[name], "jagged")


REDUCTIONS = {
    "sum_01": lambda L, x: x.sum((0, 1)), "sum_10_keepdim": lambda L, x: x.sum((1, 0), True),
    "mean_01": lambda L, x: x.mean((0, 1)), "mean_01_keepdim": lambda L, x: x.mean((0, 1), True),
    "sum_012": lambda L, x: x.sum((0, 1, 2)), "sum_02": lambda L, x: x.sum((0, 2)),
    "mean_12": lambda L, x: x.mean((1, 2)), "sum_12": lambda L, x: x.sum((1, 2)),
    "amax_01": lambda L, x: x.amax((0, 1)), "amin_012": lambda L, x: x.amin((0, 1, 2)),
    "sum_heads": lambda L, x: _heads(L, x).sum(1), "max_heads": lambda L, x: _heads(L, x).max(1),
    "max_dim": lambda L, x: x.max(-1), "max_dim_keepdim": lambda L, x: x.max(-1, keepdim=True),
    "min_dim": lambda L, x: L.min(x, 2), "max_ragged": lambda L, x: x.max(1),
    "min_ragged_keepdim": lambda L, x: x.min(1, keepdim=True), "max_batch": lambda L, x: x.max(0),
    "max_int_ragged": lambda L, x: (x * 10).int().max(1),
    "argmax": lambda L, x: x.argmax(-1), "argmin_keepdim": lambda L, x: x.argmin(-1, True),
    "argmax_ragged": lambda L, x: x.argmax(1), "argmin_ragged_keepdim": lambda L, x: x.argmin(
        1, keepdim=True), "argmax_all": lambda L, x: x.argmax(),
    "argmax_all_keepdim": lambda L, x: x.argmax(keepdim=True),
    "argmax_batch": lambda L, x: x.argmax(0), "argmax_fn": lambda L, x: L.argmax(x, dim=2),
    "argmax_heads": lambda L, x: _heads(L, x).argmax(1),
    "holes_sum_ragged": lambda L, x: L.nested.narrow(L.arange(12.0).reshape(3, 4), 1, 0, 2,
                                                     layout=L.jagged).sum(1),
    # (torch's backward of a dense result over the ragged dim fails inside)
    "max_dim_grad": lambda L, x: _grad_of(x, x.max(-1, keepdim=True)[0] * 2),
    "min_dim_grad": lambda L, x: _grad_of(x, x.min(2).values * 2),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(layout, name):
    """torch's jagged reductions: over non-batch dims a nested result; over the batch and
    ragged dims (the values') or the ragged dim alone a dense one; max / min (dim), argmax /
    argmin; the refusals, and a strided tensor's."""
    _compare(REDUCTIONS[name], layout, grad=name.endswith("_grad") and layout == "jagged")


BROADCASTS = {
    "sub_amax": lambda L, x: x - x.amax(-1, keepdim=True),
    "div_keepdim": lambda L, x: x.max(-1, keepdim=True).values / x,
    "outer": lambda L, x: x.unsqueeze(-1) * x.unsqueeze(-2),
    "mismatch": lambda L, x: x.split([3, 1], -1)[0] * x,
    "grad": lambda L, x: _grad_of(x, x - x.amax(-1, keepdim=True)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(BROADCASTS))
def test_nested_broadcast(layout, name):
    """Jagged tensors of one nested int broadcast their other dims as torch's (x - x.amax(-1,
    keepdim=True)); strided ones refuse."""
    _compare(BROADCASTS[name], layout, grad=name == "grad" and layout == "jagged")


SELECTS = {
    "narrow_batch": lambda L, x: x.narrow(0, 1, 2), "narrow_batch_bad": lambda L, x: x.narrow(
        0, 1, 5), "narrow_ragged": lambda L, x: x.narrow(1, -1, 1),
    "narrow_bad": lambda L, x: x.narrow(2, 1, 5), "narrow_last": lambda L, x: x.narrow(-1, 1, 2),
    "narrow_start_bad": lambda L, x: x.narrow(2, -5, 2),
    "narrow_tensor_start": lambda L, x: L.narrow(x, 2, L.tensor(1), 2),
    "narrow_grad": lambda L, x: _grad_of(x, x.narrow(-1, 1, 2)),
    "select_bad": lambda L, x: x.select(2, 7), "select_ragged": lambda L, x: x.select(1, 7),
    "select_batch_bad": lambda L, x: x.select(0, 7), "select_last": lambda L, x: x.select(2, 3),
    "select_batch": lambda L, x: x.select(0, 1), "select_ragged_0": lambda L, x: L.select(x, 1, 0),
    "select_grad": lambda L, x: _grad_of(x, x.select(2, 1) * 2),
    "slice_last": lambda L, x: x[..., 1:3], "slice_step": lambda L, x: x[..., ::2],
    "index_bad": lambda L, x: x[..., 5], "index_last": lambda L, x: x[..., -1],
    "slice_none": lambda L, x: x[..., 1:3, None], "none": lambda L, x: x[..., None],
    "none_slice": lambda L, x: x[..., None, 1:],
    "slice_grad": lambda L, x: _grad_of(x, x[..., 1:3] * 3),
    "index_grad": lambda L, x: _grad_of(x, x[..., 0] * 3),
    "slice_contiguous": lambda L, x: x[..., 1:3].is_contiguous(),
    "heads_slice": lambda L, x: _heads(L, x)[..., 1:],
    "heads_select": lambda L, x: _heads(L, x).select(1, 0),
    "heads_narrow": lambda L, x: _heads(L, x).narrow(1, 0, 1),
    "heads_index": lambda L, x: _heads(L, x)[..., 0, 1],
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(SELECTS))
def test_narrow_select_slice(layout, name):
    """narrow / select / nt[..., k] / nt[..., a:b]: a jagged tensor's views of the dims past
    its ragged one (torch's refusals of the batch and ragged dims, of a transposed tensor's
    slice; no derivative of narrow), a strided tensor's narrow of its batch and select."""
    _compare(SELECTS[name], layout, grad=name.endswith("_grad") and layout == "jagged")


def _other(L, x):
    return L.nested.nested_tensor([L.ones(2, 3), L.ones(3, 3) * 2, L.ones(1, 3) * 3],
                                  layout=x.layout)


CATS = {
    "batch": lambda L, x: L.cat([x, x * 2], 0), "last": lambda L, x: L.cat([x, x], -1),
    "other_last": lambda L, x: L.cat([x, _other(L, x)], -1),
    "other_batch": lambda L, x: L.cat([x, _other(L, x)], 0),
    "batch_mismatch": lambda L, x: L.cat([x, L.nested.nested_tensor([L.ones(2, 4)],
                                                                    layout=x.layout)], 2),
    "dense": lambda L, x: L.cat([x, L.ones(2, 4)], 0),
    "dense_broadcast": lambda L, x: L.cat([L.ones(4), x], -1),
    "unsqueezed": lambda L, x: L.cat([x.unsqueeze(-1), x.unsqueeze(-1)], 2),
    "one": lambda L, x: L.cat([x], 0), "promoted": lambda L, x: L.cat([x, x.double()], 0),
    "transposed_mismatch": lambda L, x: L.cat([x, x.transpose(1, 2)], 2),
    "transposed": lambda L, x: L.cat([x.transpose(1, 2), x.transpose(1, 2)], 1),
    "grad_parts": lambda L, x: _grad_of(x, L.cat([x * 2, x.unsqueeze(-1).squeeze(-1)], -1)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(CATS))
def test_cat(layout, name):
    """torch's cat of strided tensors (of the batch: the components one list after the
    other; of another dim: each component's) and its refusals; a jagged tensor's, packed.
    (torch's autograd of a strided cat reads its sizes and fails; ember's takes the
    gradient back.)"""
    _compare(CATS[name], layout, grad=layout == "jagged")


def _holes(L):
    return L.nested.narrow(L.arange(30.0).reshape(3, 10), 1, L.tensor([0, 2, 5]),
                           L.tensor([3, 1, 4]), layout=L.jagged)


PADDED = {
    "short": lambda L, x: x.to_padded_tensor(0.0, (3, 2, 4)),
    "longer_last": lambda L, x: x.to_padded_tensor(0.0, (3, 6, 5)),
    "list_size": lambda L, x: L.nested.to_padded_tensor(x, 1.5, [3, 6, 4]),
    "transposed": lambda L, x: x.transpose(1, 2).to_padded_tensor(0.0),
    "heads": lambda L, x: _heads(L, x).to_padded_tensor(-1.0),
    "int": lambda L, x: (x * 10).int().to_padded_tensor(0),
    "holes": lambda L, x: _holes(L).to_padded_tensor(-1.0),
    "offsets_lengths": lambda L, x: L.nested.nested_tensor_from_jagged(
        L.arange(12.0).reshape(6, 2), L.tensor([0, 2, 3, 6]), L.tensor([1, 1, 3])
    ).to_padded_tensor(0.0),
    "holes_unbind": lambda L, x: _holes(L).unbind(),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(PADDED))
def test_to_padded(layout, name):
    """to_padded_tensor with output_size (a jagged tensor's cut or padded ragged dim), of
    transposed tensors, and torch's refusals of a tensor with holes and of a non-contiguous
    strided one."""
    _compare(PADDED[name], layout)


def _block(L, fused):
    """A user's attention block over a batch of variable-length sequences: layer norm, q / k /
    v projections (one fused Linear chunked in three, or three), heads, attention, the output
    projection and a GELU MLP with residuals; pooled by mean and max over the sequence, and
    padded; the gradients back to the sequences and the weights."""
    L.manual_seed(0)
    rs = np.random.RandomState(7)
    seqs = [L.tensor(rs.randn(n, 8).astype(np.float32), requires_grad=True) for n in (3, 5, 2)]
    x = L.nested.as_nested_tensor(seqs, layout=L.jagged)
    qkv, proj = [L.nn.Linear(8, 8) for _ in range(3)], L.nn.Linear(8, 8)
    fused_qkv, norm = L.nn.Linear(8, 24), L.nn.LayerNorm(8)
    mlp = L.nn.Sequential(L.nn.Linear(8, 16), L.nn.GELU(), L.nn.Linear(16, 8))
    h = norm(x)
    q, k, v = (t.unflatten(-1, (2, 4)).transpose(1, 2) for t in (
        fused_qkv(h).chunk(3, dim=-1) if fused else (f(h) for f in qkv)))
    a = L.nn.functional.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(-2)
    y = x + proj(a)
    y = y + mlp(norm(y))
    with L.no_grad():       # (torch's backward of these fails inside)
        pooled, peak = y.mean(1), y.max(1)
    padded = y.to_padded_tensor(0.0, output_size=(3, 6, 8))
    (padded ** 2).sum().backward()
    return (y, pooled, tuple(peak), padded, [s.grad for s in seqs], proj.weight.grad,
            mlp[0].bias.grad, [p.grad for p in qkv[0].parameters()])


def test_attention_block_path():
    _same(_block(ember, False), _block(torch, False), atol=1e-5)
    for L in (ember, torch):      # (a chunk of a fused projection is not contiguous)
        with pytest.raises(RuntimeError, match="No viable backend for scaled_dot_product"):
            _block(L, True)


def _embedded(L, x):
    L.manual_seed(0)
    table = L.nn.Embedding(10, 3)
    ids = L.nested.nested_tensor([L.tensor([1, 2]), L.tensor([3, 4, 1])], layout=x.layout)
    y = table(ids)
    if x.layout == L.jagged:        # (torch's strided embedding has no backward)
        _loss(y).backward()
    return y, table.weight.grad


ACTIVATIONS = {
    "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x, 0.2),
    "elu": lambda L, x: L.nn.functional.elu(x),
    "hardtanh": lambda L, x: L.nn.functional.hardtanh(x, -0.5, 0.5),
    "softplus": lambda L, x: L.nn.functional.softplus(x),
    "mish": lambda L, x: L.nn.functional.mish(x), "hardswish": lambda L, x: L.nn.functional
    .hardswish(x), "clamp": lambda L, x: x.clamp(-0.5, 0.5),
    "clamp_min": lambda L, x: x.clamp(min=0.0), "clamp_max": lambda L, x: L.clamp(x, max=0.0),
    "square": lambda L, x: x.square(), "embedding": _embedded,
    # (torch's jagged leaky_relu and mish have no backward)
    "clamp_grad": lambda L, x: _grad_of(x, x.clamp(-0.5, 0.5)),
    "square_grad": lambda L, x: _grad_of(x, x.square()),
    "softplus_grad": lambda L, x: _grad_of(x, L.nn.functional.softplus(x)),
    "elu_grad": lambda L, x: _grad_of(x, L.nn.functional.elu(x)),
    "hardtanh_grad": lambda L, x: _grad_of(x, L.nn.functional.hardtanh(x, -0.5, 0.5)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_and_embedding(layout, name):
    """Pointwise activations and clamps torch runs on jagged tensors (a strided one refuses
    them), and an embedding of nested token ids."""
    _compare(ACTIVATIONS[name], layout, grad=name.endswith("_grad") and layout == "jagged")


METADATA = {
    "_size": lambda L, x: _norm(str(x._size)), "_ragged_idx": lambda L, x: x._ragged_idx,
    "heads": lambda L, x: (_norm(str(_heads(L, x)._size)), _heads(L, x)._ragged_idx),
    "seqlens": lambda L, x: (x._max_seqlen, x._min_seqlen),
    "holes_seqlens": lambda L, x: (_holes(L)._max_seqlen, _holes(L)._min_seqlen),
    "chunk_sizes": lambda L, x: [_norm(str(c.size())) for c in x.chunk(2, 0)],
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(METADATA))
def test_jagged_metadata_attributes(layout, name):
    """torch's NestedTensor attributes: _size (symbolic, j1), _ragged_idx, _max_seqlen and
    _min_seqlen; a strided tensor has none."""
    _compare(METADATA[name], layout)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_linear_4d(layout):
    """torch's strided linear takes a 3-d tensor only; a jagged one any."""
    _compare(lambda L, x: L.nn.functional.linear(x.unsqueeze(-2), L.ones(3, 4)), layout)


def _strides(x):
    return _norm(str(x.stride()))


STRIDES = {
    "plain": lambda L, x: _strides(x), "dim0": lambda L, x: _norm(str(x.stride(0))),
    "last": lambda L, x: x.stride(-1), "out_of_range": lambda L, x: x.stride(5),
    "transposed": lambda L, x: _strides(x.transpose(1, 2)),
    "unsqueezed": lambda L, x: (_strides(x.unsqueeze(-1)), _strides(x.unsqueeze(2))),
    "heads": lambda L, x: (_strides(_heads(L, x)), _strides(_heads(L, x).contiguous())),
    "sliced": lambda L, x: _strides(x[..., :2]), "holes": lambda L, x: _strides(_holes(L)),
    "one_dim": lambda L, x: _strides(L.nested.nested_tensor([L.ones(2), L.ones(3)],
                                                            layout=x.layout)),
    "equal": lambda L, x: (x.stride(0) == 4 * x.shape[1], x.stride(0) == x.shape[1] * 4),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(STRIDES))
def test_jagged_strides(layout, name):
    """A jagged tensor's strides are its values', the batch's the ragged dim's times the nested
    int (4*j1); a strided tensor has none."""
    _compare(STRIDES[name], layout)


ANY_ALL_PROD = {
    "any": lambda L, x: (x > 0).any(), "all": lambda L, x: (x > 0).all(),
    "any_last": lambda L, x: (x > 0).any(-1), "all_last_keepdim": lambda L, x: (x > 0).all(-1, True),
    "any_ragged": lambda L, x: (x > 0).any(1), "all_ragged_keepdim": lambda L, x: (x > 0).all(
        1, keepdim=True), "all_batch": lambda L, x: (x > 0).all(0),
    "all_batch_ragged": lambda L, x: ((x > 0).all((0, 1)), (x > 0).all((0, 1), True)),
    "any_ragged_inner": lambda L, x: (x > 0).any((1, 2)), "any_float": lambda L, x: x.any(-1),
    "all_float": lambda L, x: x.all(-1), "any_uint8": lambda L, x: (x > 0).to(L.uint8).any(-1),
    "any_fn": lambda L, x: L.any(x), "all_fn": lambda L, x: L.all(x > 0, dim=2),
    "all_heads": lambda L, x: ((_heads(L, x) > 0).any(1), (_heads(L, x) > 0).all(2)),
    "any_holes": lambda L, x: _holes(L).any(1),
    "prod": lambda L, x: (x.prod(), x.prod(dtype=L.float64)), "prod_last": lambda L, x: x.prod(-1),
    "prod_last_keepdim": lambda L, x: x.prod(-1, keepdim=True), "prod_ragged": lambda L, x: (
        x.prod(1), x.prod(1, True)), "prod_batch": lambda L, x: x.prod(0),
    "prod_dtype": lambda L, x: x.prod(-1, dtype=L.float64), "prod_int": lambda L, x: (
        (x * 10).int().prod(-1), (x * 10).int().prod(), (x > 0).prod(1)),
    "prod_fn": lambda L, x: L.prod(x, 2), "prod_heads": lambda L, x: _heads(L, x).prod(1),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(ANY_ALL_PROD))
def test_any_all_prod(layout, name):
    """any / all / prod as torch's other jagged reductions (a nested result over inner dims, a
    dense one over the ragged dim or all of them, its refusals); a strided tensor's all of one
    dim of a bool tensor, its refusals of the others."""
    _compare(ANY_ALL_PROD[name], layout)


STACKS = {
    "inner": lambda L, x: L.stack([x, x * 2], 2), "last": lambda L, x: L.stack([x, x * 2], -1),
    "batch": lambda L, x: L.stack([x, x * 2]), "ragged": lambda L, x: L.stack([x, x * 2], 1),
    "other_structure": lambda L, x: L.stack([x, L.nested.nested_tensor(
        [L.ones(2, 4), L.ones(3, 4), L.ones(1, 4)], layout=x.layout)], 2),
    "dense": lambda L, x: L.stack([x, L.ones(4)], 2),
    "dense_first": lambda L, x: L.stack([L.ones(4), x], 2),
    "sizes": lambda L, x: L.stack([x, x[..., :2]], 2),
    "sizes_batch": lambda L, x: L.stack([x, x[..., :2]], 0),
    "dims": lambda L, x: L.stack([x, x.unsqueeze(-1)], 2),
    "dtypes": lambda L, x: L.stack([x, x.double()], 2), "out_of_range": lambda L, x: L.stack(
        [x, x], 4), "one": lambda L, x: L.stack([x], 2),
    "grad": lambda L, x: _grad_of(x, L.stack([x, x * 2], 2) * L.tensor([1.0, 3.0])[:, None]),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(STACKS))
def test_stack(layout, name):
    """torch.stack of jagged tensors of one nested int: each component's stack along a dim past
    the ragged one (its gradient back to each input), torch's checks in its order; a strided
    tensor has none."""
    _compare(STACKS[name], layout, grad=name == "grad" and layout == "jagged")


NORMS = {
    "norm": lambda L, x: x.norm(), "norm_dim": lambda L, x: x.norm(2, -1, True),
    "norm_fro": lambda L, x: L.norm(x, "fro", dim=-1), "vector_norm": lambda L, x: (
        L.linalg.vector_norm(x, float("inf"), -1)), "linalg_norm": lambda L, x: L.linalg.norm(x),
    "normalize": lambda L, x: L.nn.functional.normalize(x, dim=-1),
    "rms_norm": lambda L, x: L.nn.functional.rms_norm(x, (4,), L.arange(4.0)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(NORMS))
def test_norms(layout, name):
    """torch has no nested norm: its errors name aten's norm (a jagged tensor's norm and
    normalize) or linalg_vector_norm; rms_norm runs on a jagged tensor's components."""
    _compare(NORMS[name], layout)


def _written(L, x, idx, value):
    x[idx] = value
    return x


MASKS = {
    "bool_index": lambda L, x: x[x > 0], "dense_bool_index": lambda L, x: x[L.tensor(
        [True, False, True])], "int_index_last": lambda L, x: x[..., L.tensor([0, 2])],
    "int_index_after_slice": lambda L, x: x[:, L.tensor([0, 2])],
    "int_index_component": lambda L, x: x[0, L.tensor([0, 1])],
    "set_bool": lambda L, x: _written(L, x, x > 0, 0.0),
    "set_component": lambda L, x: _written(L, x, 0, 2.0),
    "set_component_row": lambda L, x: _written(L, x, -1, L.arange(4.0)),
    "set_component_out_of_range": lambda L, x: _written(L, x, 5, 2.0),
    "set_ellipsis": lambda L, x: _written(L, x, (Ellipsis, 0), 1.0),
    "set_slice": lambda L, x: _written(L, x, (slice(None), 0), 1.0),
    "masked_fill": lambda L, x: x.masked_fill(x > 0, 0.0),
    "masked_fill_tensor": lambda L, x: x.masked_fill(x > 0, L.tensor(1.0)),
    "masked_fill_dense_mask": lambda L, x: x.masked_fill(L.tensor([True, False, True, False]),
                                                         0.0),
    "masked_fill_inplace": lambda L, x: x.masked_fill_(x > 0, 0.0),
    "where": lambda L, x: (L.where(x > 0, x, L.tensor(0.0)), L.where(x > 0, 1.0, 0.0)),
    "where_dense_condition": lambda L, x: L.where(L.tensor([True, False, True, False]), x, 0.0),
    "where_grad": lambda L, x: _grad_of(x, L.where(x > 0, x * 2, 0.0)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(MASKS))
def test_masks_and_index_tensors(layout, name):
    """torch has no nested advanced indexing (its index.Tensor / index_put_ errors, after its
    int and slice handling); a jagged tensor's nt[i, ...] = v writes into component i;
    masked_fill takes a number, where a nested condition (torch's errors otherwise)."""
    _compare(MASKS[name], layout, grad=name.endswith("_grad") and layout == "jagged")


def test_jagged_setitem_inside_component():
    _compare(lambda L, x: _written(L, x, (1, 0), L.arange(4.0)), "jagged")


def _node_names(ts):
    return [type(t.grad_fn).__name__ for t in ts]


SPLIT_NODES = {
    "chunk": lambda L, x: _node_names(x.chunk(2, -1)), "chunk_fn": lambda L, x: _node_names(
        L.chunk(x, 2, 2)), "chunk_batch": lambda L, x: _node_names(x.chunk(2, 0)),
    "split_with_sizes": lambda L, x: _node_names(x.split([1, 3], -1)),
    "split_fn": lambda L, x: _node_names(L.split(x, [1, 3], -1)),
    "split_irregular": lambda L, x: x.split(2, 1),
    "split_jagged": lambda L, x: _node_names(x.split(2, -1)) if x.layout is L.jagged else None,
    "dense": lambda L, x: (_node_names(L.ones(4, requires_grad=True).chunk(2)),
                           _node_names(L.ones(4, requires_grad=True).split([1, 3]))),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(SPLIT_NODES))
def test_split_chunk_node_names(layout, name):
    """torch's grad_fn classes of nested chunk and split_with_sizes (its nested autograd
    kernels'), a jagged split's SplitBackward0; a strided split of an irregular dim recording
    raises the sizes error."""
    _compare(SPLIT_NODES[name], layout, grad=True)


MATMULS = {
    "node": lambda L, x: type((x @ L.ones(4, 3)).grad_fn).__name__,
    "batched": lambda L, x: x @ L.arange(24.0).reshape(3, 4, 2),
    "batched_broadcast": lambda L, x: x @ L.arange(12.0).reshape(1, 4, 3),
    "batched_mismatch": lambda L, x: x @ L.ones(2, 4, 3),
    "vector": lambda L, x: x @ L.ones(4), "mm": lambda L, x: L.mm(x, L.ones(4, 3)),
    "dense_first": lambda L, x: L.ones(3, 2) @ x.transpose(1, 2) if x.layout is L.strided
    else None,
    "batched_grad": lambda L, x: _grad_of(x, x @ L.arange(24.0).reshape(3, 4, 2)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(MATMULS))
def test_matmul_dense_operands(layout, name):
    """A jagged matmul's dense (B, D, E) operand gives component i its slice i (or broadcasts
    one), its node MatmulBackward0; torch's refusals of a vector, of mm, of a dense first
    operand of a strided tensor."""
    _compare(MATMULS[name], layout, grad=True)


def test_matmul_batched_weight_grad():
    """The gradient of a jagged matmul's batched dense operand: each component's, stacked."""
    grads = []
    for L in (ember, torch):
        w = L.arange(24.0).reshape(3, 4, 2).requires_grad_()
        ((_nt(L, "jagged") @ w).values() ** 2).sum().backward()
        grads.append(w.grad.numpy())
    np.testing.assert_allclose(*grads, rtol=1e-5)


CONSTRUCTION = {
    "int_lists": lambda L, x: L.nested.nested_tensor([[1, 2], [3]], layout=x.layout),
    "mixed_lists_dtype": lambda L, x: L.nested.nested_tensor([[1.0, 2], [3]], dtype=L.float16,
                                                              layout=x.layout),
    "mixed_dtypes": lambda L, x: L.nested.nested_tensor([L.ones(2, dtype=L.int64), L.ones(3)],
                                                        layout=x.layout),
    "empty": lambda L, x: L.nested.nested_tensor([], layout=x.layout) if x.layout is L.jagged
    else None,
    "zero_dim": lambda L, x: L.nested.nested_tensor([L.tensor(1.0), L.tensor(2.0)],
                                                    layout=x.layout),
    "mixed_dims": lambda L, x: L.nested.nested_tensor([L.ones(2, 3), L.ones(2, 3), L.ones(3)],
                                                      layout=x.layout),
    "tensor": lambda L, x: L.nested.nested_tensor(L.ones(2, 3), layout=x.layout),
    "as_nested_of_nested": lambda L, x: (L.nested.as_nested_tensor(x, layout=x.layout) is x,
                                         L.nested.as_nested_tensor(x)),
    "from_jagged_seqlens": lambda L, x: [(y._min_seqlen, y._max_seqlen) for y in [
        L.nested.nested_tensor_from_jagged(L.arange(10.0).reshape(5, 2), L.tensor([0, 2, 5]),
                                           min_seqlen=1, max_seqlen=7)] for y in (
        y, y * 2, y.transpose(1, 2), y.sum(-1))] if x.layout is L.jagged else None,
    "nested_sizes": lambda L, x: (x._nested_tensor_size(), x._nested_tensor_strides(),
                                  x._nested_tensor_storage_offsets(),
                                  x.transpose(1, 2)._nested_tensor_strides()),
    "nested_sizes_dense": lambda L, x: L.ones(2)._nested_tensor_size(),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(CONSTRUCTION))
def test_construction(layout, name):
    """nested_tensor's checks of its components per layout (dims, dtypes, empty, zero-dim, a
    tensor), a strided tensor's dtype the first component's, as_nested_tensor of a nested one,
    the seqlens given to nested_tensor_from_jagged kept through ops, a strided tensor's
    _nested_tensor_size / _strides / _storage_offsets."""
    _compare(CONSTRUCTION[name], layout)


def _attend(L, q, k=None, v=None, **kw):
    return L.nn.functional.scaled_dot_product_attention(q, q if k is None else k,
                                                        q if v is None else v, **kw)


ATTENTION = {
    "three_dims": lambda L, x: _attend(L, x),
    "dense_key": lambda L, x: _attend(L, x, L.ones(3, 5, 4), L.ones(3, 5, 4)),
    "dense_value": lambda L, x: _attend(L, x, x, L.ones(3, 5, 4)),
    "ragged_dims_differ": lambda L, x: _attend(L, _heads(L, x), _heads(L, x).transpose(1, 2)),
    "dims_differ": lambda L, x: _attend(L, _heads(L, x), x, x),
    "scale_grad": lambda L, x: _grad_of(x, _attend(L, _heads(L, x), _heads(L, x) * 2,
                                                   scale=0.3).transpose(1, 2)),
    "slice_transposed": lambda L, x: _heads(L, x)[:, :1],
    "layer_norm_grad": lambda L, x: _grad_of(x, L.nn.functional.layer_norm(
        x, (4,), L.arange(4.0), L.ones(4))),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(ATTENTION))
def test_attention_checks(layout, name):
    """torch's checks of nested attention inputs (all nested, at least 3 dims, one ragged dim;
    a jagged (B, j, D) query, whose transpose is not contiguous, has no backend), a scaled
    attention's gradients, the slice refusal of a transposed jagged tensor."""
    _compare(ATTENTION[name], layout, grad=name.endswith("_grad"))


def _mha(L, **kw):
    L.manual_seed(0)
    return L.nn.MultiheadAttention(4, 2, batch_first=True, **kw).eval()


def _encoder(L):
    L.manual_seed(0)
    layer = L.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True)
    return L.nn.TransformerEncoder(layer, 2).eval()


MODULES = {
    "mha": lambda L, x: L.no_grad()(lambda: _mha(L)(x, x, x))(),
    "mha_per_head": lambda L, x: L.no_grad()(lambda: _mha(L)(x, x, x,
                                                             average_attn_weights=False))(),
    "mha_no_weights": lambda L, x: L.no_grad()(lambda: _mha(L)(x, x, x, need_weights=False))(),
    "mha_training": lambda L, x: _mha(L).train()(x, x, x),
    "mha_grad": lambda L, x: _mha(L)(x, x, x),
    "mha_not_self": lambda L, x: L.no_grad()(lambda: _mha(L)(x, x * 1, x))(),
    "mha_mask": lambda L, x: L.no_grad()(lambda: _mha(L)(
        x, x, x, key_padding_mask=L.zeros(3, 3, dtype=L.bool)))(),
    "mha_odd_heads": lambda L, x: L.no_grad()(lambda: (lambda m: m.eval()(x, x, x))(
        L.nn.MultiheadAttention(4, 1, batch_first=True)))(),
    "mha_seq_first": lambda L, x: L.no_grad()(lambda: (lambda m: m.eval()(x, x, x))(
        L.nn.MultiheadAttention(4, 2)))(),
    "encoder": lambda L, x: L.no_grad()(lambda: _encoder(L)(x))(),
    "encoder_training": lambda L, x: _encoder(L).train()(x),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(MODULES))
def test_attention_modules(layout, name):
    """nn.MultiheadAttention and TransformerEncoder on nested input: torch's fast path for a
    strided tensor in inference (each sequence alone, the weights padded with zeros), its
    assertion naming the first reason otherwise (a jagged tensor: has_torch_function)."""
    _compare(MODULES[name], layout)


def _saved(L, obj, **kw):
    import io
    buf = io.BytesIO()
    L.save(obj, buf)
    buf.seek(0)
    return L.load(buf, **kw)


SAVES = {
    "save_load": lambda L, x: _saved(L, x), "save_load_full": lambda L, x: _saved(
        L, {"x": x}, weights_only=False)["x"],
    "save_load_grad": lambda L, x: _saved(L, x.detach().requires_grad_()),
    "seqlens": lambda L, x: (lambda y: (y._min_seqlen, y._max_seqlen))(_saved(L, x))
    if x.layout is L.jagged else None,
    "pickle": lambda L, x: __import__("pickle").loads(__import__("pickle").dumps(x)),
    "pickle_new_int": lambda L, x: x + __import__("pickle").loads(__import__("pickle").dumps(x)),
    "deepcopy": lambda L, x: (lambda y: (y, y + x))(__import__("copy").deepcopy(x)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(SAVES))
def test_save_load_copy(layout, name):
    """torch.save / load, pickle and deepcopy of nested tensors as torch's (a pickled jagged
    tensor gets a new nested int, a deep copy keeps it; torch has no strided deepcopy)."""
    _compare(SAVES[name], layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("writer", ["ember", "torch"])
def test_checkpoints_between_libraries(layout, writer, tmp_path):
    """A nested tensor saved by one library loads in the other (torch's pickle records)."""
    src, dst = (ember, torch) if writer == "ember" else (torch, ember)
    path = str(tmp_path / "nt.pt")
    src.save({"x": _nt(src, layout), "t": _nt(src, layout).transpose(1, 2)}, path)
    out = dst.load(path)
    for k in ("x", "t"):
        y = out[k]
        assert y.is_nested and str(y.layout) == f"torch.{layout}"
        for a, b in zip(y.unbind(), _nt(torch, layout).unbind()):
            np.testing.assert_array_equal(a.numpy(), (b.transpose(0, 1) if k == "t" else b).numpy())


REFUSED = {
    "gather": lambda L, x: x.gather(2, x.long()),
    "index_select": lambda L, x: x.index_select(2, L.tensor([0, 1])),
    "masked_select": lambda L, x: x.masked_select(x > 0),
    "masked_select_dense_mask": lambda L, x: x.masked_select(L.tensor([True, False, True,
                                                                         False])),
    "values_node": lambda L, x: type(x.detach().requires_grad_().values().grad_fn).__name__,
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refusals_and_values_node(layout, name):
    """torch's refusals of gather / index_select / masked_select of nested tensors (a jagged
    index_select of an inner dim is each component's), and values()'s node per layout."""
    _compare(REFUSED[name], layout)


POINTWISE = {
    "isnan": lambda L, x: L.isnan(x), "isinf": lambda L, x: L.isinf(x / 0),
    "logical_not": lambda L, x: L.logical_not(x > 0), "nan_to_num": lambda L, x: (
        x / 0).nan_to_num(), "sign": lambda L, x: x.sign(), "floor": lambda L, x: x.floor(),
    "maximum": lambda L, x: L.maximum(x, x * 2), "minimum": lambda L, x: L.minimum(x, x - 1),
    "sign_grad": lambda L, x: _grad_of(x, x.sign() * x),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(POINTWISE))
def test_more_pointwise(layout, name):
    """Predicates (isnan, isinf, logical_not) of each component (ember gave isnan a dense
    False), and the jagged pointwise ops sign / floor / nan_to_num / maximum / minimum (a
    strided tensor refuses them)."""
    _compare(POINTWISE[name], layout, grad=name.endswith("_grad") and layout == "jagged")


def _seeded(L, f):
    L.manual_seed(3)
    return f()


RANDOM = {
    "rand_like": lambda L, x: _seeded(L, lambda: L.rand_like(x)),
    "randn_like": lambda L, x: _seeded(L, lambda: L.randn_like(x)),
    "randn_like_vectorised": lambda L, x: _seeded(L, lambda: L.randn_like(L.nested.nested_tensor(
        [L.ones(5, 4), L.ones(3, 4)], layout=x.layout))),
    "uniform_": lambda L, x: _seeded(L, lambda: x.uniform_(-1, 1)),
    "normal_": lambda L, x: _seeded(L, lambda: x.normal_()),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(RANDOM))
def test_random_fills(layout, name):
    """rand_like / randn_like of a nested tensor draw torch's values over its buffer (the
    components in order); torch refuses a strided rand_like and uniform_, a jagged uniform_
    and normal_ in place."""
    _compare(RANDOM[name], layout)


INPLACE_AND_FACTORIES = {
    **{op + "_": (lambda op: lambda L, x: getattr(x.abs() + 0.5, op + "_")())(op) for op in (
        "sin", "cos", "sqrt", "exp", "sigmoid", "rsqrt", "reciprocal", "sign", "floor", "abs",
        "neg", "tanh", "relu", "exp2", "log1p", "tan", "erf", "round", "frac")},
    "pow_": lambda L, x: x.pow_(2), "square_": lambda L, x: x.square_(),
    "clamp_min_": lambda L, x: x.clamp_min_(0.0), "clamp_": lambda L, x: x.clamp_(0.0),
    "leaky_relu_": lambda L, x: L.nn.functional.leaky_relu_(x),
    "sub_": lambda L, x: x.sub_(1.0), "mul_": lambda L, x: x.mul_(2.0),
    **{op: (lambda op: lambda L, x: getattr(x, op)())(op) for op in (
        "exp2", "expm1", "log2", "log10", "atan", "asin", "acos", "sinh", "cosh", "asinh",
        "atanh", "erfc", "ceil", "trunc")},
    "fmax": lambda L, x: L.fmax(x, x * 0.5), "fmin": lambda L, x: L.fmin(x, x * 0.5),
    "new_zeros": lambda L, x: x.new_zeros(2, 3), "new_zeros_0d": lambda L, x: x.new_zeros(()),
    "new_ones": lambda L, x: x.new_ones((2, 3)), "new_empty_0d": lambda L, x: x.new_empty([]).shape,
    "new_full": lambda L, x: x.new_full((), 1.0), "new_empty": lambda L, x: x.new_empty(2),
    "full_like": lambda L, x: L.full_like(x, 2.0), "zeros_like": lambda L, x: L.zeros_like(x),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(INPLACE_AND_FACTORIES))
def test_inplace_unary_and_factories(layout, name):
    """In-place and unary ops, new_* and *_like as torch's: a strided tensor's refusals name
    the in-place op (aten::exp_, pow_.Scalar; sin_ too, whose out-of-place op it has); a jagged
    one has no abs_ but every other unary op; new_* make a jagged tensor's 0-d tensors only (a
    strided one has none), and no strided full_like."""
    _compare(INPLACE_AND_FACTORIES[name], layout)


GRADS = {
    "prod_inner": lambda L, x: x.prod(-1), "prod_keepdim": lambda L, x: x.prod(2, keepdim=True),
    "prod_ragged": lambda L, x: x.prod(1), "prod_all": lambda L, x: x.prod(),
    "maximum": lambda L, x: L.maximum(x, x * 2), "minimum": lambda L, x: L.minimum(x, x * 2),
    "maximum_dense": lambda L, x: L.maximum(x, L.ones(4)), "fmax": lambda L, x: L.fmax(x, x * 2),
    "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x),
    "sum_ragged": lambda L, x: x.sum(1), "sum_batch_ragged": lambda L, x: x.sum((0, 1)),
    "sum_all": lambda L, x: x.sum(), "mean_ragged": lambda L, x: x.mean(1, keepdim=True),
    "mean_batch_ragged": lambda L, x: x.mean((0, 1)), "mean_all": lambda L, x: x.mean(),
    "amax_ragged": lambda L, x: x.amax(1), "amin_ragged": lambda L, x: x.amin(1),
    "max_ragged": lambda L, x: x.max(1)[0], "min_ragged": lambda L, x: x.min(1, True)[0],
    "max_inner": lambda L, x: x.max(-1)[0],
    "expand": lambda L, x: x.unsqueeze(-1).expand(-1, -1, -1, 2) * L.arange(2.0),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_jagged_backward_as_torch(name):
    """torch's node of a jagged op and its backward: the gradient, or the error of torch's
    backward where it fails on a jagged tensor (ember computed one)."""
    def run(L):
        x = _nt(L, "jagged", True)
        y = GRADS[name](L, x)
        node = y.grad_fn.name()
        try:
            (y.values() if y.is_nested else y).sum().backward()
        except Exception as exc:        # noqa: BLE001 - the class and message are compared
            return node, type(exc).__name__, _norm(str(exc))
        return node, x.grad
    e, t = run(ember), run(torch)
    assert e[0] == t[0]
    if len(t) == 3:
        assert e[1:] == t[1:]
    else:
        _same(e[1], t[1], atol=1e-5)


EXPANDS = {
    "same": lambda L, x: x.expand(3, -1, 4), "inner": lambda L, x: x.unsqueeze(-1).expand(
        -1, -1, -1, 2), "nested_int": lambda L, x: x[..., :1].expand(3, x.shape[1], 5),
    "size": lambda L, x: x.expand(x.size()), "expand_as": lambda L, x: x.expand_as(x),
    "tuple": lambda L, x: x.expand((3, -1, 4)), "ragged_int": lambda L, x: x.expand(3, 2, 4),
    "batch": lambda L, x: x.expand(4, -1, 4), "leading": lambda L, x: x.expand(2, 3, -1, 4),
    "fewer": lambda L, x: x.expand(-1, 4), "as_dense": lambda L, x: x.expand_as(L.ones(3, 2, 4)),
    "inner_bad": lambda L, x: x.expand(3, -1, 5),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(EXPANDS))
def test_expand(layout, name):
    """torch's expand of a jagged tensor: its sizes up to the ragged dim (or -1), the
    components expanded past it (a view of each); a strided tensor has none."""
    _compare(EXPANDS[name], layout)


DETACH_ = {
    "leaf": lambda L, x: x.detach_(), "detached": lambda L, x: x.detach().detach_(),
    "result": lambda L, x: (x * 2).detach_(), "clone": lambda L, x: x.clone().detach_(),
    "zeros_like": lambda L, x: L.zeros_like(x).detach_(),
    "transposed": lambda L, x: x.transpose(1, 2).detach_(),
    "from_jagged": lambda L, x: L.nested.nested_tensor_from_jagged(
        L.ones(6, 4, requires_grad=True), L.tensor([0, 2, 5, 6])).detach_(),
    "as_nested": lambda L, x: L.nested.as_nested_tensor(
        [L.ones(2, 4, requires_grad=True), L.ones(3, 4)], layout=x.layout).detach_(),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(DETACH_))
def test_detach_(layout, name):
    """A jagged tensor torch makes as a view of its values (nested_tensor, as_nested_tensor,
    nested_tensor_from_jagged; a transpose) refuses detach_; an op's result, a detach() or a
    clone does not."""
    _compare(DETACH_[name], layout, grad=True)


SETITEMS = {
    "component": lambda L, y, v: y.__setitem__(1, v), "row": lambda L, y, v: y.__setitem__(
        (1, 0), v[0]), "number": lambda L, y, v: y.__setitem__(-1, 5.0),
    "slice": lambda L, y, v: y.__setitem__((1, slice(0, 1)), v[:1]),
    "ellipsis": lambda L, y, v: y.__setitem__((1, ..., slice(None)), v),
}


@pytest.mark.parametrize("name", sorted(SETITEMS))
@pytest.mark.parametrize("x_grad", [False, True])
@pytest.mark.parametrize("v_grad", [False, True])
@pytest.mark.parametrize("leaf", [False, True])
def test_recorded_setitem(name, x_grad, v_grad, leaf):
    """nt[i] = v under autograd as torch's: a CopySlices node over the old tensor's and v's
    edges, whose backward fails (torch's new_empty_strided has no jagged kernel); torch's
    refusals of a jagged tensor made as a view of its values without grad."""
    def run(L):
        x = _nt(L, "jagged", x_grad and leaf)
        y = x if leaf else (x.requires_grad_(x_grad) * 1)
        v = L.ones(3, 4, requires_grad=v_grad)
        try:
            SETITEMS[name](L, y, v)
        except RuntimeError as exc:
            return _norm(str(exc))
        out = [y._version, [c.tolist() for c in y.detach().unbind()], y.requires_grad]
        if y.grad_fn is not None:
            out.append((y.grad_fn.name(), [f if f is None else f.name()
                                           for f, _ in y.grad_fn.next_functions]))
            with pytest.raises(NotImplementedError) as info:
                y.values().sum().backward()
            out.append(str(info.value))
        return out
    e, t = run(ember), run(torch)
    assert e == t


HOLES = {
    "itself": lambda L, n: n, "mul": lambda L, n: n * 2, "sin": lambda L, n: n.sin(),
    "clone": lambda L, n: n.clone(), "detach": lambda L, n: n.detach() * n,
    "transpose": lambda L, n: n.transpose(1, 2), "softmax": lambda L, n: n.softmax(-1),
    "sum": lambda L, n: n.sum(-1), "to": lambda L, n: n.to(L.float64),
    "matmul": lambda L, n: n @ L.arange(8.0).reshape(4, 2),
    "layer_norm": lambda L, n: L.nn.functional.layer_norm(n, (4,)),
    "where": lambda L, n: L.where(n > 0.5, n, n * n), "cat": lambda L, n: L.cat([n, n.cos()], -1),
    "reshape": lambda L, n: n.reshape(3, -1, 2, 2), "unsqueeze": lambda L, n: n.unsqueeze(-1),
    "softmax_ragged": lambda L, n: n.softmax(1), "linear": lambda L, n: L.nn.functional.linear(
        n, L.ones(3, 4)), "max_dim": lambda L, n: n.max(-1)[0],
    "narrow": lambda L, n: L.nested.narrow(n.values().reshape(3, 2, 4), 1, L.tensor([0, 1, 0]),
                                           L.tensor([1, 1, 2]), layout=L.jagged).exp(),
}


@pytest.mark.parametrize("name", sorted(HOLES))
def test_jagged_with_holes(name):
    """A jagged tensor with holes (offsets and lengths over its values) as torch's: values()
    is all of them, holes too, and ops run on them (their gradient reaches the holes); a
    reshape packs the components; torch's refusals (softmax over the ragged dim, linear).
    (Where torch's backward fails on such a tensor, ember's gradient is not compared.)"""
    def run(L):
        v = L.tensor(np.arange(24.0, dtype=np.float32).reshape(6, 4) / 10, requires_grad=True)
        n = L.nested.nested_tensor_from_jagged(v, L.tensor([0, 2, 5, 6]),
                                               lengths=L.tensor([1, 2, 1]))
        try:
            y = HOLES[name](L, n)
        except (RuntimeError, ValueError) as exc:
            return type(exc).__name__, str(exc)
        w = y.values()
        try:
            w.sin().sum().backward()
        except (RuntimeError, ValueError, NotImplementedError):
            if L is torch:
                return w, list(y.unbind()), None
        return w, list(y.unbind()), v.grad
    t = run(torch)
    e = run(ember)
    if type(t[0]) is str:
        assert e == t
    else:
        _same(e[:2] if t[2] is None else e, t[:2] if t[2] is None else t, atol=1e-5)


MESSAGES = {
    "reshape": lambda L, x: x.reshape(6, 4), "flatten": lambda L, x: x.flatten(),
    "flatten_ragged": lambda L, x: x.unsqueeze(-1).flatten(1, 2),
    "flatten_inner": lambda L, x: x.unsqueeze(-1).flatten(2, 3),
    "squeeze": lambda L, x: x.squeeze(),
    "std": lambda L, x: x.std(-1), "var": lambda L, x: x.var(-1),
    "clamp_tensor": lambda L, x: x.clamp(min=L.zeros(4), max=L.ones(4) * 0.5),
    "clamp_tensor_min": lambda L, x: x.clamp(min=L.ones(4) * 0.5),
    "addmm": lambda L, x: L.addmm(L.ones(4), x, L.ones(4, 4)), "int": lambda L, x: int(x),
    "float": lambda L, x: float(x), "linear_width": lambda L, x: L.nn.functional.linear(
        x, L.ones(3, 5)), "matmul_width": lambda L, x: x @ L.ones(5, 2),
    "add_dense": lambda L, x: x + L.ones(3, 5), "mul_dense": lambda L, x: x * L.ones(2, 4),
    "data_ptr_zero": lambda L, x: x.data_ptr() == 0,
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_messages(layout, name):
    """torch's errors in its words: reshape's and flatten's (the op named, a jagged tensor's
    batch and ragged dims), squeeze(), std/var/addmm's aten names, a dense operand or weight
    that does not fit (a jagged tensor's values' rows), int()/float(); jagged clamp with tensor
    bounds computes, a jagged tensor's data_ptr is 0 (torch's subclass has no storage)."""
    _compare(MESSAGES[name], layout)


def test_to_padded_tensor_of_a_dense_tensor_is_torchs_error_without_importing_nested():
    """Tensor.to_padded_tensor exists before ember.nested is imported (it was bound by that
    import: an AttributeError before, an AttributeError on the NumPy array after); a dense
    tensor has no kernel, as in torch."""
    import subprocess
    import sys
    code = ("import ember\ntry:\n    ember.ones(2).to_padded_tensor(0.0)\n"
            "except NotImplementedError as e:\n    print(str(e).split('.')[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip() == ("Could not run 'aten::to_padded_tensor' with arguments from the "
                           "'CPU' backend")


def test_strided_view_keeps_component_sizes_for_minus_one():
    """A strided nested view's -1 at one of a component's own dims keeps that dim's size
    (torch infers nothing: view(2, -1) of 2-D components is refused), past them it is refused;
    torch's errors in its order (ember inferred -1 as a dense view does)."""
    shapes = [[(2, 3), (2, 4)], [(2, 3), (2, 3)], [(3,), (5,)]]
    views = [(2, -1), (2, 2, -1), (2, -1, -1), (2, 2, -1, 1), (2, 2, 3, -1), (2, -2, 3),
             (2, 1, 2, -1), (2, -1, 3), (2, 6), (2, -1, 1), (2, -1, -1, 1), (2, 1, 2, -1, -1),
             (2, -3, -1, 1)]
    got = []
    for L in (ember, torch):
        r = []
        for parts in shapes:
            nt = L.nested.nested_tensor([L.arange(float(math.prod(s))).reshape(s)
                                         for s in parts])
            for shape in views:
                for name in ("view", "reshape"):
                    try:
                        y = getattr(nt, name)(*shape)
                        r.append([c.tolist() for c in y.unbind()])
                    except RuntimeError as e:
                        r.append(str(e))
        got.append(r)
    assert got[0] == got[1]
