"""Views share memory and the version counter exactly as in torch; copies do not; strides,
contiguity, in-place shape ops, CopySlices (in-place writes through views with autograd) and
the error classes of shape ops, all checked against torch."""
import numpy as np
import pytest
import torch

import ember
import opspecs  # noqa: F401  (imports opspecs_shape itself; import it first)
from opspecs_shape import run_both
from oracle import assert_close

VIEWS = {
    "view": lambda x: x.view(6, 4),
    "view_as": lambda x: x.view_as(x.new_zeros(4, 6)),
    "reshape": lambda x: x.reshape(-1),
    "permute": lambda x: x.permute(2, 0, 1),
    "transpose": lambda x: x.transpose(0, 2),
    "swapaxes": lambda x: x.swapaxes(1, 2),
    "t": lambda x: x[0].t(),
    "T": lambda x: x[0].T,
    "mT": lambda x: x.mT,
    "movedim": lambda x: x.movedim(0, -1),
    "squeeze": lambda x: x[:, :1].squeeze(1),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "flatten": lambda x: x.flatten(1),
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "narrow": lambda x: x.narrow(2, 1, 2),
    "select": lambda x: x.select(1, -1),
    "int": lambda x: x[1],
    "steps": lambda x: x[:, ::2, 1::2],
    "none": lambda x: x[..., None, 1],
    "ellipsis": lambda x: x[...],
    "diagonal": lambda x: x.diagonal(1, 1, 2),
    "unfold": lambda x: x.unfold(2, 2, 2),
    "as_strided": lambda x: x.as_strided((3, 2), (4, 1), 5),
    "split": lambda x: x.split(2, 2)[1],
    "chunk": lambda x: x.chunk(3, 1)[2],
    "unbind": lambda x: x.unbind(2)[3],
    "unbind_1d": lambda x: x.reshape(-1).unbind()[5],      # 0-d views
    "iter_1d": lambda x: list(x[1, 2])[3],
    "tensor_split": lambda x: x.tensor_split(3, 2)[1],
    "detach": lambda x: x.detach(),
    "real_view_of_view": lambda x: x[1].t()[::2],
}


def node_name(fn):
    return fn.name() if type(fn).__module__.startswith("ember") else type(fn).__name__


def _base(lib):
    return lib.arange(24.0).reshape(2, 3, 4)


@pytest.mark.parametrize("name", VIEWS)
def test_write_through_view_shows_in_base(name):
    f = VIEWS[name]
    bases = []
    for lib in (torch, ember):
        x = _base(lib)
        v = f(x)
        v.mul_(-1).add_(0.5)
        assert v._version == x._version == 2
        bases.append(x)
    assert_close(bases[1], bases[0])


@pytest.mark.parametrize("name", VIEWS)
def test_write_to_base_shows_in_view(name):
    f = VIEWS[name]
    views = []
    for lib in (torch, ember):
        x = _base(lib)
        v = f(x)
        x.mul_(2)
        x[0, 0, 0] = -1
        views.append(v)
    assert_close(views[1], views[0])


COPIES = {
    "flip": lambda x: x.flip(0),
    "roll": lambda x: x.roll(1),
    "repeat": lambda x: x.repeat(1, 1, 1),
    "cat": lambda x: ember_or_torch(x).cat([x]),
    "clone": lambda x: x.clone(),
    "reshape_nc": lambda x: x.transpose(0, 1).reshape(-1),
    "contiguous_nc": lambda x: x.transpose(0, 1).contiguous(),
    "adv": lambda x: x[[0, 1]],
    "mask": lambda x: x[x > 3],
    "tril": lambda x: x.tril(),
    "index_select": lambda x: x.index_select(0, ember_or_torch(x).tensor([0])),
    "repeat_interleave": lambda x: x.repeat_interleave(1, 0),
}


def ember_or_torch(x):
    return ember if isinstance(x, ember.Tensor) else torch


@pytest.mark.parametrize("name", COPIES)
def test_copies_do_not_share_memory(name):
    for lib in (torch, ember):
        x = _base(lib)
        c = COPIES[name](x)
        c.fill_(100.0)
        assert x.tolist() == _base(lib).tolist()
        assert x._version == 0


def test_view_on_incompatible_strides_raises():
    run_both(lambda lib: _base(lib).transpose(0, 1).view(-1))
    run_both(lambda lib: _base(lib)[:, ::2].view(4, 2))
    run_both(lambda lib: _base(lib).transpose(1, 2).view(2, 12))
    run_both(lambda lib: _base(lib).transpose(0, 1).view(3, 2, 4))    # splitting is fine
    run_both(lambda lib: _base(lib)[:, :, :2].view(2, 6))
    run_both(lambda lib: _base(lib).expand(2, 2, 3, 4).view(4, 12))


STRIDED = ["x.t()", "x.unsqueeze(1)", "x.unsqueeze(-1)", "x[None]", "x[:, None]",
           "x[None, :, None]", "x.view(3, 1, 4)", "x.expand(2, 3, 4)", "x[1]", "x[:, 1]",
           "x[::2, 1::2]", "x.diagonal()", "x.diagonal(-1)", "x.unfold(1, 2, 1)",
           "x.t().contiguous()", "x.t().clone()", "x.reshape(12)", "x.t().reshape(12)",
           "x.permute(1, 0).unsqueeze(0)", "x[None].expand(5, 3, 4)", "x.narrow(1, 1, 2)",
           "x.split(2, 1)[1]", "x.t().unsqueeze(2)", "x.view(12, 1)", "x[0:1]", "x.squeeze()",
           "x.unflatten(1, (2, 2))", "x.mT", "x.as_strided((2, 2), (1, 2), 1)",
           "x.unbind(1)[2]", "y.squeeze(1)", "y.t()", "y.unsqueeze(0)", "x[..., None, :]",
           "x.expand(1, 3, 4).squeeze(0)", "x.t().expand(2, 4, 3)", "x[:, :0]"]


@pytest.mark.parametrize("expr", STRIDED)
def test_strides_contiguity_offset(expr):
    out = []
    for lib in (torch, ember):
        x = lib.arange(12.0).reshape(3, 4)
        y = lib.arange(3.0).reshape(3, 1)       # noqa: F841 (used by eval)
        r = eval(expr)
        out.append((tuple(r.shape), r.stride(), r.is_contiguous(), r.storage_offset()))
    assert out[1] == out[0]


def test_contiguous_and_clone():
    x = ember.randn(3, 4)
    assert x.contiguous() is x
    xt = x.t()
    c = xt.contiguous()
    assert c is not xt and c.is_contiguous() and c.stride() == (3, 1)
    assert xt.clone().stride() == (1, 4)                    # preserve_format, as torch
    assert xt.clone(memory_format=ember.contiguous_format).stride() == (3, 1)
    e = ember.zeros(2, 1).expand(2, 3).clone()
    assert e.stride() == (3, 1)


def test_version_counter_shared_with_views():
    x = ember.zeros(3, 4)
    v, w = x[0], x.t()
    x.add_(1)
    assert x._version == v._version == w._version == 1
    v.mul_(2)
    assert x._version == w._version == 2
    c = x.clone()
    assert c._version == 0


def test_modified_view_of_saved_tensor_raises():
    def fn(lib):
        x = lib.randn(3, 4, requires_grad=True) if lib is torch else \
            ember.tensor(np.ones((3, 4)), requires_grad=True)
        a = x.clone()
        b = a * a
        a[0].mul_(2)
        b.sum().backward()
    run_both(fn)


@pytest.mark.parametrize("expr", ["x.t_()", "x.transpose_(0, 1)", "x.swapdims_(1, 0)",
                                  "x.unsqueeze_(1)", "x.unsqueeze_(0).squeeze_()",
                                  "x.unsqueeze_(-1).squeeze_(2)", "x.resize_(2, 2)",
                                  "x.resize_(5, 4)", "x.resize_(0)", "x.t().resize_(3, 2)",
                                  "x.as_strided_((2, 2), (1, 3))"])
def test_inplace_shape_ops(expr):
    out = []
    for lib in (torch, ember):
        x = lib.arange(12.0).reshape(3, 4)
        r = eval(expr)
        assert r is x or expr.startswith("x.t()")
        out.append((r.shape, r._version, r.numel() and r.reshape(-1)[:12].tolist()))
    assert out[1] == out[0]


def test_inplace_shape_ops_autograd():
    for expr in ["x.t_()", "x.unsqueeze_(0)", "x.transpose_(0, 1)"]:
        run_both(lambda lib: eval(expr, {"x": lib.ones(2, 3, requires_grad=True)}))
        grads = []
        for lib in (torch, ember):
            x = lib.arange(6.0).reshape(2, 3).requires_grad_()
            y = x * 1
            eval(expr, {"x": y})
            w = lib.arange(float(y.numel())).reshape(y.shape)
            (y * w).sum().backward()
            grads.append(x.grad)
        assert_close(grads[1], grads[0])
    run_both(lambda lib: lib.ones(2, requires_grad=True).resize_(3))


# ---- CopySlices ------------------------------------------------------------------------------
def _pattern_grads(fn):
    out = []
    for lib in (torch, ember):
        x = lib.tensor(np.arange(1.0, 13.0).reshape(3, 4), requires_grad=True)
        w = lib.tensor([2.0, -1.0, 0.5], dtype=lib.float64, requires_grad=True)
        y = fn(lib, x, w)
        g = lib.tensor(np.random.default_rng(0).standard_normal(tuple(y.shape)))
        (y * g).sum().backward()
        out.append((y.detach(), x.grad, w.grad, node_name(y.grad_fn)))
    (yt, gxt, gwt, nt), (ye, gxe, gwe, ne) = out
    assert_close(ye, yt)
    assert_close(gxe, gxt)
    if gwt is None:
        assert gwe is None or not gwe.abs().sum().item()
    else:
        assert_close(gwe, gwt)
    return nt, ne


def _p_row(lib, x, w):
    y = x.clone()
    y[1].mul_(3)
    return y


def _p_col_value(lib, x, w):
    y = x * 1
    y[:, 2] = w
    return y


def _p_nested(lib, x, w):
    y = x + 1
    v = y.t()[1:]
    v[::2].add_(w[0])
    return y.exp()


def _p_view_result(lib, x, w):
    y = x.clone()
    v = y[:, 1:3]
    v.mul_(w[:, None])
    return v * 2 + y.sum()


def _p_base_no_grad(lib, x, w):
    y = lib.zeros(3, 4)
    y[0:2, 1].copy_(w[:2])
    y.diagonal().add_(w)
    return y * x


def _p_setitem_adv_on_view(lib, x, w):
    y = x.clone()
    y[1, [0, 2, 3]] = w
    return y


def _p_two_views(lib, x, w):
    y = x.clone()
    y[0].mul_(w[0])
    y[:, 0].mul_(w[1])
    return y


def _p_mask_setitem(lib, x, w):
    y = x.sin()
    y[y > 0] = 0.0
    return y


@pytest.mark.parametrize("fn", [_p_row, _p_col_value, _p_nested, _p_view_result,
                                _p_base_no_grad, _p_setitem_adv_on_view, _p_two_views,
                                _p_mask_setitem])
def test_copyslices_gradients(fn):
    nt, ne = _pattern_grads(fn)
    assert ne == nt


def test_copyslices_node_names():
    for lib in (torch, ember):
        x = lib.ones(3, 4, requires_grad=True)
        y = x.clone()
        v = y[0]
        v.mul_(2)
        assert node_name(y.grad_fn) == "CopySlices"
        assert node_name(v.grad_fn) == "AsStridedBackward0"
        assert v._version == y._version == 1


def test_inplace_on_view_of_leaf_raises():
    run_both(lambda lib: lib.ones(3, requires_grad=True)[0:2].mul_(2))
    run_both(lambda lib: lib.ones(3, 2, requires_grad=True).t().add_(1))


def test_inplace_on_multi_output_view_raises():
    for op in ("split", "chunk", "unbind"):
        def fn(lib):
            y = lib.ones(4, 3, requires_grad=True) * 2
            parts = getattr(y, op)(2) if op != "unbind" else y.unbind()
            parts[0].mul_(2)
        run_both(fn)


def test_no_grad_view_write_is_allowed():
    x = ember.ones(3, requires_grad=True)
    with ember.no_grad():
        x[0:2].mul_(2)
    assert x.tolist() == [2.0, 2.0, 1.0] and x.grad_fn is None


# ---- shape-op behaviour and errors -----------------------------------------------------------
def test_chunk_split_edge_cases():
    run_both(lambda lib: lib.cat([t.reshape(-1) for t in lib.zeros(6).chunk(4)]))
    run_both(lambda lib: len(lib.zeros(6).chunk(4)))
    run_both(lambda lib: [t.shape for t in lib.zeros(0, 3).chunk(3)])
    run_both(lambda lib: [t.shape for t in lib.zeros(5, 2).split(2)])
    run_both(lambda lib: [t.shape for t in lib.zeros(0).split(0)])
    run_both(lambda lib: [t.shape for t in lib.zeros(7).tensor_split(3)])
    run_both(lambda lib: [t.shape for t in lib.zeros(7).tensor_split([1, 5, 9])])
    run_both(lambda lib: [t.shape for t in lib.zeros(7).tensor_split([4, 2])])
    run_both(lambda lib: [t.shape for t in lib.zeros(7, 2).tensor_split([-2], 0)])
    run_both(lambda lib: [t.shape for t in lib.zeros(0, 2).unbind()])
    run_both(lambda lib: [t.shape for t in lib.zeros(4, 6).hsplit([1, 4])])


def test_cat_stack_edge_cases():
    run_both(lambda lib: lib.cat([lib.zeros(0), lib.ones(2, 3)]))
    run_both(lambda lib: lib.cat([lib.ones(2, 3), lib.zeros(0), lib.ones(1, 3)]))
    run_both(lambda lib: lib.cat([lib.ones(2, dtype=lib.int64), lib.ones(2)]))
    run_both(lambda lib: lib.cat([lib.ones(2, dtype=lib.bool), lib.ones(2, dtype=lib.uint8)]))
    run_both(lambda lib: lib.stack([lib.ones(2), lib.zeros(2)], -1))
    run_both(lambda lib: lib.hstack([lib.ones(2, 1), lib.zeros(2, 2)]))
    run_both(lambda lib: lib.vstack([lib.tensor(1.0), lib.tensor(2.0)]))
    run_both(lambda lib: lib.dstack([lib.ones(2), lib.zeros(2)]))


def test_cat_out():
    for lib in (torch, ember):
        out = lib.empty(0)
        r = lib.cat([lib.ones(2), lib.zeros(1)], out=out)
        assert r is out and out.tolist() == [1.0, 1.0, 0.0]


def test_repeat_interleave_variants():
    run_both(lambda lib: lib.repeat_interleave(lib.tensor([1, 0, 3])))
    run_both(lambda lib: lib.tensor([[1, 2], [3, 4]]).repeat_interleave(lib.tensor([2]), 0))
    run_both(lambda lib: lib.tensor([[1, 2], [3, 4]]).repeat_interleave(lib.tensor([1, 2]),
                                                                        dim=1))
    run_both(lambda lib: lib.tensor([1, 2]).repeat_interleave(lib.tensor([1, 2, 3])))
    run_both(lambda lib: lib.tensor([1, 2]).repeat_interleave(-1))


def test_meshgrid_and_friends():
    for indexing in ("ij", "xy"):
        run_both(lambda lib: lib.meshgrid(lib.arange(3), lib.arange(2), lib.arange(4),
                                          indexing=indexing))
    with pytest.warns(UserWarning):
        ember.meshgrid(ember.arange(2), ember.arange(3))
    run_both(lambda lib: lib.broadcast_shapes((3, 1), (1, 4), (4,)))
    run_both(lambda lib: lib.broadcast_shapes((3, 2), (4,)))
    run_both(lambda lib: lib.tril_indices(4, 3, 1))
    run_both(lambda lib: lib.triu_indices(3, 4, -1))
    run_both(lambda lib: lib.block_diag(lib.ones(2, 2), lib.tensor(3.0), lib.ones(1, 3)))
    run_both(lambda lib: lib.atleast_3d(lib.tensor(1.0), lib.ones(2)))


def test_dtypes_and_integer_tensors():
    run_both(lambda lib: lib.arange(6).reshape(2, 3).t().flip(0).roll(1, 1).tril())
    run_both(lambda lib: lib.tensor([[True, False], [False, True]]).repeat(2, 1).t().diagonal())
    run_both(lambda lib: lib.arange(6, dtype=lib.int32).reshape(2, 3).trace())
    run_both(lambda lib: lib.arange(6).view(lib.float32) if lib is torch else
             lib.arange(6).view(lib.float32), compare=False)
    run_both(lambda lib: lib.arange(4, dtype=lib.int32).view(lib.float32))
    run_both(lambda lib: lib.arange(6.0).reshape(2, 3)[:, :2].view(lib.int32))


SHAPE_ERRORS = [
    lambda lib: lib.zeros(3, 4).view(5, -1),
    lambda lib: lib.zeros(3, 4).view(-1, -1),
    lambda lib: lib.zeros(0, 4).view(-1, 0),
    lambda lib: lib.zeros(3, 4).reshape(5),
    lambda lib: lib.zeros(3, 4).permute(0),
    lambda lib: lib.zeros(3, 4).permute(0, 0),
    lambda lib: lib.zeros(3, 4).permute(0, 2),
    lambda lib: lib.zeros(3, 4).transpose(0, 2),
    lambda lib: lib.zeros(2, 3, 4).t(),
    lambda lib: lib.zeros(3, 4).squeeze(2),
    lambda lib: lib.zeros(3, 4).unsqueeze(3),
    lambda lib: lib.zeros(3, 4).flatten(1, 0),
    lambda lib: lib.zeros(3, 4).flatten(0, 2),
    lambda lib: lib.zeros(3, 4).unflatten(1, (3, 3)),
    lambda lib: lib.zeros(3, 4).expand(3, 5),
    lambda lib: lib.zeros(3, 4).expand(4),
    lambda lib: lib.zeros(3, 4).expand(-1, 3, 4),
    lambda lib: lib.broadcast_tensors(lib.zeros(3), lib.zeros(4)),
    lambda lib: lib.cat([]),
    lambda lib: lib.cat([lib.zeros(3, 4), lib.zeros(3, 5)]),
    lambda lib: lib.cat([lib.zeros(3, 4), lib.zeros(3)]),
    lambda lib: lib.cat([lib.tensor(1.0), lib.tensor(2.0)]),
    lambda lib: lib.cat([lib.zeros(3)], dim=1),
    lambda lib: lib.cat(lib.zeros(3)),
    lambda lib: lib.stack([lib.zeros(3, 4), lib.zeros(3, 5)]),
    lambda lib: lib.stack([]),
    lambda lib: lib.zeros(3, 4).split([1, 1]),
    lambda lib: lib.zeros(3, 4).split(0),
    lambda lib: lib.zeros(3, 4).chunk(0),
    lambda lib: lib.zeros(3, 4).narrow(0, 2, 2),
    lambda lib: lib.zeros(3, 4).narrow(0, -4, 1),
    lambda lib: lib.zeros(3, 4).narrow(2, 0, 1),
    lambda lib: lib.zeros(3, 4).select(0, 3),
    lambda lib: lib.zeros(3, 4).select(2, 0),
    lambda lib: lib.zeros(3, 4).unbind(2),
    lambda lib: lib.zeros(3, 4).flip(0, 0),
    lambda lib: lib.zeros(3, 4).flip(2),
    lambda lib: lib.zeros(3, 4).roll(1, (0, 1)),
    lambda lib: lib.zeros(3, 4).roll((1, 1)),
    lambda lib: lib.zeros(3, 4).repeat(2),
    lambda lib: lib.zeros(3, 4).repeat(2, -1),
    lambda lib: lib.zeros(3, 4).movedim((0, 1), 0),
    lambda lib: lib.zeros(3, 4).movedim((0, 0), (0, 1)),
    lambda lib: lib.zeros(3, 4).diagonal(0, 1, 1),
    lambda lib: lib.zeros(3).diagonal(),
    lambda lib: lib.zeros(2, 3, 4).diag(),
    lambda lib: lib.zeros(3).tril(),
    lambda lib: lib.zeros(3, 4, 5).trace(),
    lambda lib: lib.zeros(3, 4).unfold(1, 5, 1),
    lambda lib: lib.zeros(3, 4).unfold(1, 2, 0),
    lambda lib: lib.zeros(3, 4).unfold(2, 1, 1),
    lambda lib: lib.zeros(3, 4).as_strided((5, 5), (4, 1)),
    lambda lib: lib.zeros(3, 4).tile(2, 2),
    lambda lib: lib.zeros(3, 4).repeat_interleave(lib.tensor([1, 2])),
    lambda lib: lib.zeros(3, 4).repeat_interleave(lib.tensor([1.0, 2.0, 3.0]), 0),
    lambda lib: lib.zeros(3, 4).rot90(1, (0, 0)),
    lambda lib: lib.zeros(3, 4).view(3, 2.0),
    lambda lib: lib.zeros(3).fliplr(),
]


@pytest.mark.parametrize("i", range(len(SHAPE_ERRORS)))
def test_shape_errors_match_torch(i):
    run_both(SHAPE_ERRORS[i])


KEYWORD_FORMS = ["x.flip(dims=[0])", "lib.flip(x, dims=[0])", "x.permute(dims=(1, 0))",
                 "lib.permute(x, dims=(1, 0))", "x.reshape(shape=(3, 2))",
                 "lib.reshape(x, shape=(3, 2))", "x.view(size=(3, 2))",
                 "x.expand(size=(2, 2, 3))", "x.repeat(repeats=(2, 1))", "x.tile(dims=(2,))",
                 "x.view(dtype=lib.int32)", "lib.squeeze(x, dim=0)",
                 "x.unflatten(dim=1, sizes=(3, 1))", "lib.narrow(x, dim=1, start=0, length=2)",
                 "lib.movedim(x, source=0, destination=1)", "x.transpose(dim0=0, dim1=1)",
                 "lib.roll(x, shifts=1, dims=1)", "lib.diagonal(x, offset=1, dim1=1, dim2=0)",
                 "lib.tril(x, diagonal=-1)", "x.split(split_size=2, dim=1)[1]",
                 "lib.chunk(x, chunks=2, dim=1)[0]", "lib.cat(tensors=[x, x], dim=1)",
                 "lib.stack(tensors=[x, x], dim=2)", "x.unsqueeze(dim=-1)"]


@pytest.mark.parametrize("expr", KEYWORD_FORMS)
def test_keyword_forms(expr):
    run_both(lambda lib: eval(expr, {"lib": lib, "x": lib.arange(6).reshape(2, 3)}))


@pytest.mark.parametrize("write", ["setitem", "inplace_base", "through_other_view"])
def test_views_taken_before_an_inplace_write_see_the_new_history(write):
    """torch regenerates a view's grad_fn after its base's history changes in place."""
    def run(lib):
        w = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        y = w * 2
        v = y[0:3]
        if write == "setitem":
            y[1] = w[3] * 10
        elif write == "inplace_base":
            y.mul_(w)
        else:
            y[1:].add_(w[1:] * w[1:])
        (v * lib.tensor([1.0, 5.0, 7.0])).sum().backward()
        return w.grad, v
    (eg, ev), (tg, tv) = run(ember), run(torch)
    np.testing.assert_allclose(eg.numpy(), tg.numpy())
    assert ev.grad_fn.name() == tv.grad_fn.name()


def test_untyped_storage_is_shared_by_views():
    t = ember.ones(3, 4)
    v = t[1:].t()
    assert v.untyped_storage() == t.untyped_storage()
    assert v.untyped_storage().data_ptr() == t.data_ptr()
    assert t.untyped_storage().nbytes() == torch.ones(3, 4).untyped_storage().nbytes()
    assert ember.ones(2).untyped_storage() != t.untyped_storage()


@pytest.mark.parametrize("sizes,dim", [((3, -1), 0), ((4, -1), 0), ((2, 2), -1), ((0, -1), 0),
                                       ((2, -1), 0), ((3, 2), 0)])
def test_unflatten_messages_as_torch(sizes, dim):
    """torch's own message where the sizes cannot multiply up (with -1 too), naming the dim
    wrapped."""
    theirs, ours = run_both(lambda lib: lib.ones(6, 2).unflatten(dim, sizes))
    if isinstance(theirs, Exception):
        assert str(ours) == str(theirs)
