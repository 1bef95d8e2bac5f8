"""torch.nested against torch: construction, metadata, printing, ops on both layouts, the
autograd graph back to the components, and torch's errors."""
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


# grad_fn names where ember's nested node is its dense op's
NODE_NAMES = {"MatmulBackward0": "UnsafeViewBackward0",
              "SumBackwardAutogradNestedTensor1": "SumBackward1"}


def _norm(text):
    """A repr without what differs between processes (nested int numbers, addresses), torch's
    node names as ember's."""
    text = re.sub(r"\bj\d+\b", "j", re.sub(r" object at 0x[0-9a-f]+", "", text))
    for t, e in NODE_NAMES.items():
        text = text.replace(f"<{t}>", f"<{e}>")
    return text


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
def test_padded_output_size(layout):
    e, t = _nt(ember, layout), _nt(torch, layout)
    _same(ember.nested.to_padded_tensor(e, -1.0, output_size=(3, 4, 6)),
          torch.nested.to_padded_tensor(t, -1.0, output_size=(3, 4, 6)))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_to_detach_dtype(layout):
    for f in (lambda x: x.to(ember.float64 if isinstance(x, ember.Tensor) else torch.float64),
              lambda x: x.double(), lambda x: x.detach(), lambda x: x.clone(),
              lambda x: x.to("cpu")):
        _same(f(_nt(ember, layout, True)), f(_nt(torch, layout, True)))
    _same(_nt(ember, layout, dtype=ember.float64), _nt(torch, layout, dtype=torch.float64))
    _same(_nt(ember, layout).requires_grad_(), _nt(torch, layout).requires_grad_())


def test_from_jagged_and_narrow():
    for L in (ember, torch):
        L.manual_seed(0)
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


# ops torch runs on only one of the layouts (the other raises)
JAGGED_ONLY = {"sigmoid", "exp", "mean"}
STRIDED_ONLY = {"matmul_nt", "bmm"}
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
    if (name, layout) in NO_TORCH_GRAD:
        with pytest.raises(NotImplementedError):
            sum(c.sum() for c in ty.unbind()).backward()
        return
    for y in (ey, ty):
        sum((c * c.detach().cos()).sum() for c in y.unbind()).backward()
    _same(ex.grad, tx.grad, atol=1e-5)
