"""In-place writes through expanded tensors, as torch allows them: into a view of an expanded
tensor whose elements do not share memory (a row, a column, a diagonal), fill_/zero_ of the
whole expanded tensor, setitem of a row; the deprecated masked_fill_/index_fill_/index_put_ into
shared memory with torch's warnings; gradients of recorded writes through expanded views; torch's
internal-overlap error elsewhere."""
import warnings

import numpy as np
import pytest
import torch

import ember
from test_probe7 import _outcome

E = lambda t: t.zeros(3).expand(2, 3)
_CASES = {
 "fill_": lambda t: E(t).fill_(2), "zero_": lambda t: E(t).zero_(), "normal_": lambda t: E(t).normal_(),
 "uniform_": lambda t: E(t).uniform_(), "random_": lambda t: E(t).random_(5), "bernoulli_": lambda t: E(t).bernoulli_(),
 "mul_": lambda t: E(t).mul_(2), "clamp_": lambda t: E(t).clamp_(0, 1), "copy_": lambda t: E(t).copy_(t.ones(2, 3)),
 "setitem all scalar": lambda t: E(t).__setitem__(slice(None), 5), "setitem all tensor": lambda t: E(t).__setitem__(slice(None), t.ones(3)),
 "setitem row": lambda t: (lambda e: (e.__setitem__(0, 5), e)[1])(E(t)), "setitem elem": lambda t: (lambda e: (e.__setitem__((0, 1), 5), e)[1])(E(t)),
 "row add_": lambda t: E(t)[0].add_(1), "row fill_": lambda t: E(t)[1].fill_(1), "row copy_": lambda t: E(t)[1].copy_(t.ones(3)),
 "out= row": lambda t: t.add(t.ones(3), 1, out=E(t)[1]), "out= whole": lambda t: t.add(t.ones(2, 3), 1, out=E(t)),
 "col": lambda t: t.zeros(3, 1).expand(3, 4)[:, 0].add_(1),
 "col slice 2": lambda t: t.zeros(3, 1).expand(3, 4)[:, 1:3].add_(1),
 "t() row": lambda t: E(t).t()[0].add_(1),
 "diag of expand": lambda t: t.zeros(3).expand(3, 3).diagonal().add_(1),
 "unsqueeze expand": lambda t: t.zeros(3).expand(2, 3).unsqueeze(0)[0, 1].mul_(3),
 "expand 1-elem": lambda t: t.ones(1).expand(3)[1:2].add_(1),
 "grad row": lambda t: (lambda l: (lambda v: (v.add_(1), v.sum().backward(), l.grad)[2])(l.clone().expand(2, 3)[0]))(t.ones(3, requires_grad=True)),
 "grad row value": lambda t: (lambda l: (lambda c: (lambda v: (v.mul_(3), (c * t.arange(3.)).sum().backward(), l.grad, c)[2:])(c.expand(2, 3)[1]))(l.clone()))(t.ones(3, requires_grad=True)),
 "base sees write": lambda t: (lambda x: (x.expand(2, 3)[0].add_(5), x)[1])(t.zeros(3)),
 "noncontig expand row": lambda t: (lambda x: (x[:, 0].expand(2, 3)[1].add_(5), x)[1])(t.zeros(3, 2)),
 "noncontig expand fill": lambda t: (lambda x: (x[:, 0].expand(2, 3).fill_(7), x)[1])(t.zeros(3, 2)),
 "broadcast_to row": lambda t: (lambda x: (t.broadcast_to(x, (2, 3))[1].mul_(2).add_(1), x)[1])(t.ones(3)),
 "fill via zero grad": lambda t: (lambda x: (x.expand(2, 3).zero_(), x)[1])(t.ones(3, requires_grad=True).clone()),
 "repeat after unlock": lambda t: (lambda e: (e[0].add_(1), e[1].add_(1), e)[2])(E(t)),
 "view of row": lambda t: (lambda x: (x.expand(4, 3)[2].view(3, 1).add_(4), x)[1])(t.zeros(3)),
}


@pytest.mark.parametrize("case", list(_CASES))
def test_expanded_writes_like_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _outcome(lambda: _CASES[case](ember)) == _outcome(lambda: _CASES[case](torch))


def test_read_only_memory_stays_read_only():
    ro = np.ones(3)
    ro.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = ember.from_numpy(ro)
        with pytest.raises(ValueError):
            t.expand(2, 3)[0].add_(1)
        with pytest.raises(ValueError):
            t.expand(2, 3).fill_(2)
    assert (ro == 1).all()


def test_autograd_stubs_are_never_written_through():
    from ember.ops._apply import writable_alias
    from ember.autograd._thin import stub
    s = stub(np.ones(1, np.float32), ember.backends.CPU)   # shape (1,): no shared element
    assert writable_alias(s.arr) is None


_M = lambda t: t.tensor([[True, False, False], [False, False, False]])
# torch's deprecated writes into an expanded tensor: each memory location written once, in index
# order (the last write stays; accumulating, all add up), with torch's warnings
_SHARED = {
    "masked_fill_": lambda t, x: x.masked_fill_(_M(t), 1.),
    "masked_fill_ nan": lambda t, x: x.masked_fill_(_M(t).flip(1), float("nan")),
    "index_fill_ kept dim": lambda t, x: x.index_fill_(1, t.tensor([0]), 2.),
    "index_fill_ expanded dim": lambda t, x: x.index_fill_(0, t.tensor([0]), 2.),
    "setitem mask, number": lambda t, x: x.__setitem__(_M(t), 5.),
    "setitem mask, 0-d tensor": lambda t, x: x.__setitem__(_M(t), t.tensor(5.)),
    "setitem mask, 1-element tensor": lambda t, x: x.__setitem__(_M(t), t.tensor([5.])),
    "index_put_ row": lambda t, x: x.index_put_((t.tensor([0]),), t.tensor(3.)),
    "index_put_ rows in order": lambda t, x: x.index_put_((t.tensor([0, 1]),),
                                                           t.tensor([[1., 2, 3], [4, 5, 6]])),
    "index_put_ rows reversed": lambda t, x: x.index_put_((t.tensor([1, 0]),),
                                                           t.tensor([[1., 2, 3], [4, 5, 6]])),
    "index_put_ accumulate": lambda t, x: x.index_put_((t.tensor([0, 1]),), t.tensor(3.),
                                                        accumulate=True),
    "index_put_ accumulate pairs": lambda t, x: x.index_put_(
        (t.tensor([0, 1]), t.tensor([1, 1])), t.tensor([3., 4]), accumulate=True),
    "setitem two indices": lambda t, x: x.__setitem__((t.tensor([0]), t.tensor([2])), 7.),
    "setitem columns": lambda t, x: x.__setitem__((slice(None), t.tensor([2, 0])),
                                                  t.tensor([[1., 2], [3, 4]])),
    "setitem of a row, index tensor": lambda t, x: x.__setitem__((0, t.tensor([2])), 7.),
    "masked_scatter_": lambda t, x: x.masked_scatter_(_M(t), t.ones(6)),
}


@pytest.mark.parametrize("case", list(_SHARED))
def test_deprecated_writes_into_shared_memory_like_torch(case):
    def run(lib):
        x = lib.zeros(3).expand(2, 3)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out = _outcome(lambda: (_SHARED[case](lib, x), x)[1])
        return out, [str(m.message).split(" (Triggered")[0] for m in w]
    assert run(ember) == run(torch)


_RECORDED = {
    "setitem of a row": lambda t, x: x.__setitem__(0, 4.),
    "setitem of an element, value with grad": lambda t, x: x.__setitem__(
        (0, 1), t.tensor(4., requires_grad=True)),
    "setitem of a column's element": lambda t, x: x[:, 1].__setitem__(1, 5.),
    "setitem of a column": lambda t, x: x.__setitem__((slice(None), 1), 5.),
    "mul_ of a row": lambda t, x: x[0].mul_(2),
    "setitem of a slice of a row": lambda t, x: x.__setitem__(
        (0, slice(0, 2)), t.tensor([7., 8], requires_grad=True)),
    "fill_ (torch refuses the backward)": lambda t, x: x.fill_(1.),
    "zero_ (torch refuses the backward)": lambda t, x: x.zero_(),
    "add_": lambda t, x: x.add_(1),
}


@pytest.mark.parametrize("case", list(_RECORDED))
def test_recorded_writes_through_an_expanded_view_like_torch(case):
    """The base's gradient sees each write once; the expanded view's gradient adds up over the
    elements that share memory."""
    def run(lib):
        leaf = lib.tensor([1., 2, 3], requires_grad=True)
        a = leaf * 1
        x = a.expand(2, 3)
        _RECORDED[case](lib, x)
        (a * lib.tensor([1., 10, 100])).sum().backward(retain_graph=True)
        first = leaf.grad.clone()
        (x * lib.tensor([[1., 2, 3], [4, 5, 6]])).sum().backward()
        return a, x, first, leaf.grad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def test_view_of_an_expand_reads_the_rebased_history_once_per_element():
    def run(lib):
        leaf = lib.tensor([1., 2, 3], requires_grad=True)
        a = leaf * 1
        x = a.expand(2, 3)
        a.mul_(2)               # x is regenerated from a's new history
        (x * lib.tensor([[1., 2, 3], [4, 5, 6]])).sum().backward()
        return leaf.grad
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def test_cpp_node_names_as_torch():
    """torch's C++ nodes: name() carries the namespace, repr and printing do not."""
    def run(lib):
        x = lib.ones(2, requires_grad=True).clone()
        x[0] = 3
        b = lib.ones(3)
        b.set_(lib.ones(3, requires_grad=True) * 1)
        return [(n.name(), repr(n).split(" at ")[0], type(n).__name__)
                for n in (x.grad_fn, b.grad_fn)] + [repr(x), repr(b)]
    assert run(ember) == run(torch)


_M2 = lambda t: t.tensor([[True, False, False], [False, False, False]])
# torch's deprecated writes into memory shared by an expanded view, recorded: the forward runs
# (with its values and warnings); the backward is refused where the base's history takes a
# gradient (CopySlices copies the write's gradient back into the shared region), not otherwise
_RECORDED_SHARED = {
    "masked_fill_": lambda t, x: x.masked_fill_(_M2(t), 1.),
    "masked_fill_, value with grad": lambda t, x: x.masked_fill_(
        _M2(t), t.tensor(1., requires_grad=True)),
    "index_fill_": lambda t, x: x.index_fill_(1, t.tensor([0]), 2.),
    "index_fill_ along the expanded dim": lambda t, x: x.index_fill_(0, t.tensor([0]), 2.),
    "index_put_": lambda t, x: x.index_put_((t.tensor([0]),), t.tensor(3.)),
    "index_put_ accumulate": lambda t, x: x.index_put_((t.tensor([0, 1]),), t.tensor(3.),
                                                       accumulate=True),
    "index_put_, values with grad": lambda t, x: x.index_put_(
        (t.tensor([0]),), t.tensor([3., 4, 5], requires_grad=True)),
    "setitem mask": lambda t, x: x.__setitem__(_M2(t), 5.),
    "setitem index tensors": lambda t, x: x.__setitem__((t.tensor([0]), t.tensor([2])), 7.),
}


@pytest.mark.parametrize("case, base", [(c, b) for c in _RECORDED_SHARED
                                         for b in ["clone of a leaf", "product", "no grad"]
                                         if b != "no grad" or "with grad" in c])
def test_recorded_writes_into_shared_memory_like_torch(case, base):
    def run(lib):
        if base == "no grad":
            a = lib.zeros(3)
        else:
            leaf = lib.tensor([1., 2, 3], requires_grad=True)
            a = leaf.clone() if base == "clone of a leaf" else leaf * 1
        x = a.expand(2, 3)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            _RECORDED_SHARED[case](lib, x)
        warned = [str(m.message).split(" (Triggered")[0] for m in w]
        result = [x.tolist(), a.tolist(), type(x.grad_fn).__name__, warned]
        if not x.requires_grad:
            return result
        try:
            (x * lib.tensor([[1., 2, 3], [4, 5, 6]])).sum().backward()
        except RuntimeError as e:
            return result + [str(e)]
        return result
    assert run(ember) == run(torch)
