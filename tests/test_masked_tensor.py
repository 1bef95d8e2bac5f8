"""torch.masked.MaskedTensor against torch: construction and its checks and warnings, printing,
unary/binary/reduction/shape operations and their masks, refused operations, autograd."""
import warnings

import pytest
import torch

import ember
from ember import _torch_function


@pytest.fixture(autouse=True)
def _dispatch_installed():
    """A program using MaskedTensor runs with ember's dispatchers installed (ember.masked defines
    a Tensor subclass with __torch_function__); the rest of the suite runs without them."""
    _torch_function.enable()
    yield
    _torch_function.disable()


def _outcome(fn):
    """What fn returns (MaskedTensors by their printing, tuples item by item), or the class and
    first line of what it raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn()
    except Exception as e:
        return type(e).__name__, str(e).split("\n")[0]
    if isinstance(out, (tuple, list)):
        return [repr(o) for o in out]
    return repr(out)


def _mt(L, shape=(2, 3)):
    x = L.arange(6.0).view(2, 3)
    return L.masked.masked_tensor(x.view(shape), (x > 1).view(shape))


CASES = {
    "print 2-d": lambda L: _mt(L),
    "print 1-d": lambda L: _mt(L, (6,)),
    "print ints": lambda L: L.masked.masked_tensor(L.arange(6).view(2, 3),
                                                   L.arange(6).view(2, 3) > 2),
    "print bools": lambda L: _mt(L) > 3,
    "print 0-d": lambda L: _mt(L).sum(),
    "print 0-d masked": lambda L: L.masked.masked_tensor(L.tensor([1.0]), L.tensor([False])).sum(),
    "print 3-d": lambda L: _mt(L).view(1, 2, 3),
    "str": lambda L: str(_mt(L)),
    "format": lambda L: f"{_mt(L)}",
    "data not a tensor": lambda L: L.masked.masked_tensor([1.0], L.tensor([True])),
    "mask not a tensor": lambda L: L.masked.masked_tensor(L.ones(1), [True]),
    "mask not bool": lambda L: L.masked.masked_tensor(L.ones(2), L.ones(2).int()),
    "sizes differ": lambda L: L.masked.masked_tensor(L.ones(4), L.ones(2).bool()),
    "dims differ": lambda L: L.masked.masked_tensor(L.ones(4), L.ones(2, 2).bool()),
    "dtype refused": lambda L: L.masked.masked_tensor(L.ones(2, dtype=L.uint8), L.ones(2).bool()),
    "is_masked_tensor": lambda L: (L.masked.is_masked_tensor(_mt(L)),
                                   L.masked.is_masked_tensor(L.ones(1))),
    "metadata": lambda L: (tuple(_mt(L).shape), str(_mt(L).dtype), _mt(L).dim(), _mt(L).numel(),
                           len(_mt(L)), _mt(L).requires_grad, _mt(L).is_leaf, _mt(L).is_sparse,
                           str(_mt(L).layout), str(_mt(L).device)),
    "get_data": lambda L: _mt(L).get_data(),
    "get_mask": lambda L: _mt(L).get_mask(),
    "to_tensor": lambda L: _mt(L).to_tensor(-1.0),
    "exp": lambda L: _mt(L).exp(),
    "torch.sqrt": lambda L: L.sqrt(_mt(L)),
    "clamp": lambda L: _mt(L).clamp(0, 3),
    "clamp min=": lambda L: _mt(L).clamp(min=3),
    "pow": lambda L: _mt(L).pow(2),
    "**": lambda L: _mt(L) ** 2,
    "neg": lambda L: -_mt(L),
    "abs()": lambda L: abs(_mt(L) - 3),
    "isnan": lambda L: _mt(L).isnan(),
    "tanh": lambda L: L.tanh(_mt(L)),
    "exp_": lambda L: _mt(L).exp_(),
    "+ scalar": lambda L: _mt(L) + 1,
    "scalar +": lambda L: 1 + _mt(L),
    "+ tensor": lambda L: _mt(L) + L.ones(2, 3),
    "tensor +": lambda L: L.ones(2, 3) + _mt(L),
    "+ itself": lambda L: _mt(L) + _mt(L),
    "* broadcast": lambda L: _mt(L) * L.tensor([1.0, 2.0, 3.0]),
    "masks differ": lambda L: _mt(L) + L.masked.masked_tensor(L.ones(2, 3), L.ones(2, 3).bool()),
    "add alpha": lambda L: _mt(L).add(_mt(L), alpha=2),
    "sub": lambda L: L.sub(_mt(L), 1),
    "div": lambda L: _mt(L) / 2,
    "rtruediv": lambda L: 1 / _mt(L),
    "floordiv": lambda L: _mt(L) // 2,
    "%": lambda L: _mt(L) % 2,
    "rsub": lambda L: 1 - _mt(L),
    "rpow": lambda L: 2 ** _mt(L),
    "gt": lambda L: _mt(L) > 2,
    "==": lambda L: _mt(L) == _mt(L),
    "&": lambda L: (_mt(L) > 2) & (_mt(L) > 3),
    "~": lambda L: ~(_mt(L) > 2),
    "maximum": lambda L: L.maximum(_mt(L), L.full((2, 3), 3.0)),
    "mul_": lambda L: _mt(L).mul_(2),
    "sum": lambda L: _mt(L).sum(),
    "torch.sum": lambda L: L.sum(_mt(L)),
    "sum(0)": lambda L: _mt(L).sum(0),
    "sum(1, keepdim)": lambda L: _mt(L).sum(1, keepdim=True),
    "sum dims": lambda L: _mt(L).sum((0, 1)),
    "mean": lambda L: _mt(L).mean(),
    "mean(dim=1)": lambda L: _mt(L).mean(dim=1),
    "amax": lambda L: _mt(L).amax(),
    "amin(1)": lambda L: _mt(L).amin(1),
    "argmax": lambda L: _mt(L).argmax(),
    "argmin(1)": lambda L: _mt(L).argmin(1),
    "prod": lambda L: _mt(L).prod(),
    "var": lambda L: _mt(L).var(),
    "var(0)": lambda L: _mt(L).var(0),
    "std": lambda L: _mt(L).std(),
    "all": lambda L: (_mt(L) > 1).all(),
    "all(1)": lambda L: (_mt(L) > 2).all(1),
    "norm": lambda L: _mt(L).norm(),
    "max refused": lambda L: _mt(L).max(),
    "cumsum refused": lambda L: _mt(L).cumsum(0),
    "relu refused": lambda L: _mt(L).relu(),
    "permute refused": lambda L: _mt(L).permute(1, 0),
    "T refused": lambda L: _mt(L).T,
    "flip refused": lambda L: _mt(L).flip(0),
    "split sizes refused": lambda L: _mt(L).split([1, 2], 1),
    "log_softmax refused": lambda L: _mt(L).log_softmax(0),
    "matmul refused": lambda L: _mt(L, (6,)) @ _mt(L, (6,)),
    "t": lambda L: _mt(L).t(),
    "mT": lambda L: _mt(L).mT,
    "transpose": lambda L: _mt(L).transpose(0, 1),
    "swapaxes": lambda L: _mt(L).swapaxes(0, 1),
    "view": lambda L: _mt(L).view(3, 2),
    "reshape -1": lambda L: _mt(L).reshape(-1),
    "flatten": lambda L: _mt(L).flatten(),
    "view_as": lambda L: _mt(L).view_as(L.ones(3, 2)),
    "expand": lambda L: _mt(L)[:1].expand(2, 3),
    "unsqueeze": lambda L: _mt(L).unsqueeze(-1),
    "narrow": lambda L: _mt(L).narrow(1, 0, 2),
    "select": lambda L: _mt(L).select(0, 1),
    "x[1:]": lambda L: _mt(L)[1:],
    "x[..., 1]": lambda L: _mt(L)[..., 1],
    "x[:, None]": lambda L: _mt(L)[:, None],
    "x[idx]": lambda L: _mt(L)[L.tensor([1, 0])],
    "split": lambda L: _mt(L).split(1),
    "chunk": lambda L: _mt(L).chunk(3, 1),
    "cat": lambda L: L.cat([_mt(L), _mt(L)]),
    "stack": lambda L: L.stack([_mt(L), _mt(L)], 1),
    "hstack": lambda L: L.hstack([_mt(L), _mt(L)]),
    "unfold": lambda L: _mt(L, (6,)).unfold(0, 2, 2),
    "where": lambda L: L.where(L.tensor([[True, False, True]]), _mt(L), _mt(L) * 10),
    "where plain": lambda L: L.where(L.tensor([[True, False, True]]), _mt(L), L.zeros(2, 3)),
    "where scalar": lambda L: L.where(L.tensor([[True, False, True]]), _mt(L), 0.0),
    "where other=": lambda L: L.where(L.tensor([[True, False, True]]), _mt(L), other=_mt(L)),
    "Tensor.where other=": lambda L: _mt(L).where(L.tensor([[True, False, True]]),
                                                  other=_mt(L)),
    "softmax": lambda L: _mt(L).softmax(1),
    "F.softmax": lambda L: L.nn.functional.softmax(_mt(L), dim=0),
    "torch.softmax": lambda L: L.softmax(_mt(L), -1),
    "to float64": lambda L: _mt(L).to(L.float64),
    "double": lambda L: _mt(L).double(),
    "long": lambda L: _mt(L).long(),
    "byte refused": lambda L: _mt(L).byte(),
    "clone": lambda L: _mt(L).clone(),
    "detach": lambda L: _mt(L).detach(),
    "contiguous": lambda L: _mt(L).t().contiguous(),
    "ones_like": lambda L: L.ones_like(_mt(L)),
    "item": lambda L: _mt(L)[1, 1].item(),
    "item masked": lambda L: _mt(L)[0, 0].item(),
    "item many": lambda L: _mt(L).item(),
    "tolist": lambda L: _mt(L).tolist(),
}


@pytest.mark.parametrize("name", list(CASES))
def test_masked_tensor_like_torch(name):
    assert _outcome(lambda: CASES[name](ember)) == _outcome(lambda: CASES[name](torch))

CASES.update({
    "H": lambda L: _mt(L).H,
    "mH": lambda L: _mt(L).mH,
    "real": lambda L: _mt(L).real,
    "imag": lambda L: _mt(L).imag,
    "data": lambda L: _mt(L).data,
    "ndim and itemsize": lambda L: (_mt(L).ndim, _mt(L).itemsize, _mt(L).is_cuda),
    "movedim refused": lambda L: _mt(L).movedim(0, 1),
})


def _grads(L):
    out = []
    x = L.tensor([1.0, 2.0, 3.0, 4.0])
    m = L.tensor([True, False, True, True])
    for f in (lambda t: t.sum(), lambda t: (t * t).mean(), lambda t: t.exp().sum(),
              lambda t: (t / 2).amax(), lambda t: t.softmax(0).sum(),
              lambda t: t.view(2, 2).sum(1).sum(), lambda t: L.cat([t, t * 3]).sum(),
              lambda t: t.get_data().sum(),
              lambda t: t.to_tensor(0.0).pow(2).sum()):
        mt = L.masked.masked_tensor(x, m, requires_grad=True)
        y = f(mt)
        y.backward()
        out.append((repr(y), repr(mt.grad), mt.grad.get_mask().tolist()))
    return out


def test_gradients_are_masked_tensors_like_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _grads(ember) == _grads(torch)


def _warned(L, fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fn(L)
    return [(type(r.message).__name__, str(r.message)) for r in w]


@pytest.mark.parametrize("fn", [
    lambda L: L.masked.masked_tensor(L.ones(2), L.ones(2).bool()),
    lambda L: L.masked.masked_tensor(L.ones(2, requires_grad=True), L.ones(2).bool()),
    lambda L: L.masked.as_masked_tensor(L.ones(2), L.ones(2).bool()),
    lambda L: L.masked.masked_tensor(L.ones(2), L.ones(2).bool()).exp(),
    lambda L: L.masked.masked_tensor(L.ones(2), L.ones(2).bool()).sum(),
], ids=["masked_tensor", "data requiring grad", "as_masked_tensor", "unary", "reduction"])
def test_warnings_like_torch(fn):
    """torch warns that the API is a prototype at every MaskedTensor it makes (results too)."""
    assert _warned(ember, fn) == _warned(torch, fn)


def test_refusal_warns_with_torchs_message():
    def run(L):
        mt = L.masked.masked_tensor(L.ones(2), L.ones(2).bool())
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            with pytest.raises(TypeError):
                mt.cumsum(0)
        return [str(r.message) for r in w if "__torch_dispatch__" in str(r.message)]
    assert run(ember) == run(torch) and len(run(torch)) == 1


def test_class_and_names_like_torch():
    assert ember.masked.__all__ == torch.masked.__all__
    mt = ember.masked.masked_tensor(ember.ones(1), ember.ones(1).bool())
    assert isinstance(mt, ember.Tensor) and type(mt).__name__ == "MaskedTensor"
    assert ember.masked.MaskedTensor is type(mt)


@pytest.mark.xfail(strict=True, reason="as_masked_tensor's gradient reaches a plain leaf as a "
                   "MaskedTensor in torch (its backward hands one on through the engine); "
                   "ember's engine accumulates arrays, so the leaf's grad is a plain tensor")
def test_plain_leaf_gets_a_masked_gradient_like_torch():
    def run(L):
        a = L.tensor([1.0, 2.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            L.masked.as_masked_tensor(a * 2, L.tensor([True, False])).sum().backward()
        return repr(a.grad)
    assert run(ember) == run(torch)


def _masked_functions(L):
    """torch.masked's functions of a MaskedTensor: its data with its own mask left out, plain
    tensors back (the mask argument only counts, as torch's Combine)."""
    x = L.arange(6.0).view(2, 3)
    mt = L.masked.masked_tensor(x, x > 1, requires_grad=True)
    M = L.masked
    out = [repr(f()) for f in (
        lambda: M.sum(mt), lambda: M.sum(mt, 1), lambda: M.mean(mt, mask=x > 2),
        lambda: M.softmax(mt, 1), lambda: M.amax(mt, 1), lambda: M.var(mt, 1), lambda: M.mean(mt),
        lambda: M.norm(mt, 2.0, 1), lambda: M.prod(mt, 0), lambda: M.logsumexp(mt, 1),
        lambda: M.argmax(mt, 1))]
    M.sum(mt).backward()
    return out + [repr(mt.grad)]


def test_masked_functions_of_a_masked_tensor_like_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _masked_functions(ember) == _masked_functions(torch)


def test_masked_reductions_alone_leave_dispatch_off():
    """torch.masked's reductions do not import MaskedTensor (whose definition installs the
    __torch_function__ dispatchers for the whole process)."""
    import subprocess
    import sys
    code = ("import sys, ember; ember.masked.sum(ember.ones(2), mask=ember.ones(2).bool()); "
            "from ember import _torch_function as tf; "
            "print(tf._ENABLED[0], 'ember.masked.maskedtensor' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def _tutorial(L):
    """The programs of torch's MaskedTensor tutorials: reductions of a 3-d tensor, the safe
    softmax, nanmean, the zero-or-NaN gradients of where."""
    mt = L.masked.masked_tensor
    data = L.arange(24).reshape(2, 3, 4)
    m3 = mt(data.float(), data % 2 == 0)
    out = [m3, m3.sum(), m3.sum(dim=1), m3.amax(dim=(0, 2))]
    d = L.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]])
    m = L.tensor([[True, False, False], [True, False, True], [False, False, False]])
    out += [d.masked_fill(~m, float("-inf")).softmax(0), mt(d, m).softmax(0)]
    x = L.empty(16).fill_(float("nan"))
    x[:3] = L.tensor([1.0, 2.0, 3.0])
    out.append(mt(x, ~L.isnan(x)).mean())
    x = L.tensor([-10.0, -5, 0, 5, 10, 50, 60, 70, 80, 90, 100])
    mask = x < 0
    mx = mt(x, mask, requires_grad=True)
    my = mt(L.ones_like(x), ~mask, requires_grad=True)
    L.where(mask, L.exp(mx), my).sum().backward()
    out += [mx.grad, my.grad]
    a = mt(L.tensor([[1.0, 2.0], [3.0, 4.0]]), L.tensor([[True, False], [False, True]]))
    out += [(a.exp() * 2).log().sum(1), a / a, a < 2.5, a.to_tensor(float("nan")),
            mt(a.get_data(), L.tensor([[False, False], [True, True]])).mean(1)]
    return [repr(o) for o in out]


def test_tutorial_programs_like_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _tutorial(ember) == _tutorial(torch)
