"""Op-table entries for shape/view ops, indexing and linear algebra (picked up by test_ops.py).

Every `fn` runs unchanged on ember and on torch. Multi-output ops are reduced to one tensor
(cat/stack/select) so that the harness can compare values and gradients. Decompositions with
sign/phase freedom (svd, eigh) are compared through gauge-invariant functions of their output."""
from opspecs import B, I, OpSpec, _mod, t

UNARY = [(t(3, 4),), (t(3, 4, nc=True),)]
F32 = {"float32": dict(rtol=1e-4, atol=1e-4)}       # LAPACK paths in float32


def _i(x, data):
    """An int64 index tensor from the library of `x`."""
    return _mod(x).tensor(data, device=x.device)


def _b(x, data):
    return _mod(x).tensor(data, dtype=_mod(x).bool, device=x.device)


def _cat_flat(x, parts):
    return _mod(x).cat([p.reshape(-1) for p in parts])


def _eye(x, n):
    return _mod(x).eye(n, dtype=x.dtype, device=x.device)


def _spd(x):
    """A symmetric positive-definite matrix built (differentiably) from x."""
    n = x.shape[-1]
    return x @ x.mT + n * _eye(x, n)


def _wellcond(x):
    return x + 3 * _eye(x, x.shape[-1])


def _setitem(idx, value=None):
    def fn(x, *v):
        y = x.clone()
        y[idx] = v[0] if v else value
        return y
    return fn


def _setitem_fn(make_idx):
    def fn(x, v):
        y = x.clone()
        y[make_idx(x)] = v
        return y
    return fn


def _inplace_view(x, w):
    y = x.clone()
    y[1:, ::2].mul_(w)          # CopySlices: an in-place op through a view
    return y


def _inplace_diag(x):
    y = x * 1
    y.diagonal().add_(1.5)
    y.t()[0].mul_(2)
    return y


def _copy_into_view(x, w):
    y = x * 2
    y[:, 1].copy_(w)
    return y


def _meta_inplace(x):
    y = x * 1
    y.t_()
    y.unsqueeze_(0)
    y.transpose_(0, 2)
    return y.squeeze_(2)


def _svd_inv(x):
    U, S, Vh = _mod(x).linalg.svd(x, full_matrices=False)
    return _cat_flat(x, [S, U @ Vh, U.abs(), Vh.abs()])


def _svd_full(x):
    U, S, Vh = _mod(x).linalg.svd(x)
    return _cat_flat(x, [S, (U[:, :S.shape[0]] * S) @ Vh[:S.shape[0]]])


def _torch_svd(x):
    U, S, V = _mod(x).svd(x)
    return _cat_flat(x, [S, U @ V.mT, V.abs()])


def _eigh_inv(x):
    L, V = _mod(x).linalg.eigh(x + x.mT)
    return _cat_flat(x, [L, V.abs(), (V * L.unsqueeze(-2)) @ V.mT])


def _qr(x, mode="reduced"):
    Q, R = _mod(x).linalg.qr(x, mode=mode)
    return _cat_flat(x, [Q, R])


SPECS = [
    # ---- views and reshapes --------------------------------------------------------------
    OpSpec("view.infer", lambda x: x.view(-1, 2, 3), [(t(4, 6),), (t(2, 3, 4),)]),
    OpSpec("view.0d", lambda x: x.view(1, 1), [(t(),)]),
    OpSpec("view.empty", lambda x: x.view(-1, 5, 2), [(t(0, 10),)]),
    OpSpec("view_as", lambda x, y: x.view_as(y), [(t(3, 4), t(2, 6, grad=False))]),
    OpSpec("reshape", lambda x: x.reshape(2, -1), [(t(3, 4),), (t(3, 4, nc=True),),
                                                   (t(0, 4),)]),
    OpSpec("reshape.0d", lambda x: x.reshape(()), [(t(1, 1),), (t(),)]),
    OpSpec("reshape_as", lambda x, y: x.reshape_as(y), [(t(3, 4, nc=True), t(12, grad=False))]),
    OpSpec("permute.nc", lambda x: x.permute(-1, 0, 1), [(t(2, 3, 4),), (t(3, 4, 2, nc=True),)]),
    OpSpec("transpose.nc", lambda x: x.transpose(1, 0), UNARY),
    OpSpec("swapaxes", lambda x: x.swapaxes(0, 2), [(t(2, 3, 4),)]),
    OpSpec("swapdims", lambda x: x.swapdims(-1, -2), [(t(2, 3, 4),)]),
    OpSpec("t.1d", lambda x: x.t(), [(t(4),), (t(),)]),
    OpSpec("T", lambda x: x.T, [(t(3, 4),), (t(3, 4, nc=True),)]),
    OpSpec("mT", lambda x: x.mT, [(t(2, 3, 4),)]),
    OpSpec("movedim", lambda x: x.movedim((0, 1), (2, 0)), [(t(2, 3, 4),)]),
    OpSpec("moveaxis", lambda x: x.moveaxis(-1, 0), [(t(2, 3, 4),)]),
    OpSpec("squeeze.dim", lambda x: x.squeeze(1), [(t(3, 1, 4),), (t(3, 2, 4),)]),
    OpSpec("squeeze.0d", lambda x: x.squeeze(-1), [(t(),)]),
    OpSpec("squeeze.dims", lambda x: x.squeeze((0, -1)), [(t(1, 3, 1),), (t(1, 3, 2),)]),
    OpSpec("unsqueeze.0d", lambda x: x.unsqueeze(0), [(t(),), (t(0, 3),)]),
    OpSpec("flatten.range", lambda x: x.flatten(1, 2), [(t(2, 3, 4, 5),),
                                                        (t(3, 4, 2, nc=True),)]),
    OpSpec("flatten.0d", lambda x: x.flatten(0, -1), [(t(),)]),
    OpSpec("ravel", lambda x: x.ravel(), UNARY),
    OpSpec("unflatten", lambda x: x.unflatten(1, (2, -1)), [(t(3, 6),)]),
    OpSpec("expand.lead", lambda x: x.expand(2, 3, 4), [(t(4),), (t(3, 1),), (t(),)]),
    OpSpec("expand_as", lambda x, y: x.expand_as(y), [(t(3, 1), t(2, 3, 4, grad=False))]),
    OpSpec("broadcast_to", lambda x: _mod(x).broadcast_to(x, (2, 3, 4)), [(t(1, 4),)]),
    OpSpec("broadcast_tensors", lambda x, y: _mod(x).stack(_mod(x).broadcast_tensors(x, y)),
           [(t(3, 1), t(4)), (t(), t(2, 3))]),
    OpSpec("contiguous", lambda x: x.contiguous(), [(t(3, 4, nc=True),), (t(3, 4),)]),
    OpSpec("clone.nc", lambda x: x.clone(), UNARY + [(t(),)]),
    OpSpec("as_strided", lambda x: x.as_strided((3, 2), (1, 3)), [(t(3, 4),)]),
    OpSpec("as_strided.overlap", lambda x: x.as_strided((3, 3), (1, 1), 2), [(t(12),)]),
    OpSpec("unfold", lambda x: x.unfold(1, 3, 2), [(t(3, 8),), (t(2, 7, 3, nc=True),)]),
    OpSpec("unfold.0d", lambda x: x.unfold(0, 1, 1), [(t(),)]),
    OpSpec("diagonal", lambda x: x.diagonal(), [(t(3, 4),), (t(4, 3, nc=True),)]),
    OpSpec("diagonal.offset", lambda x: x.diagonal(1, 2, 0), [(t(3, 4, 5),)]),
    OpSpec("diagonal.neg", lambda x: x.diagonal(-2, -1, -2), [(t(2, 4, 5),)]),
    OpSpec("diag.vec", lambda x: _mod(x).diag(x, 1), [(t(3),)]),
    OpSpec("diag.mat", lambda x: _mod(x).diag(x, -1), [(t(3, 4),)]),
    OpSpec("diag_embed", lambda x: _mod(x).diag_embed(x, 1, 0, 2), [(t(2, 3),)]),
    OpSpec("diagflat", lambda x: _mod(x).diagflat(x), [(t(2, 2),)]),
    OpSpec("tril", lambda x: x.tril(), [(t(3, 4),), (t(2, 3, 4, nc=True),)]),
    OpSpec("triu", lambda x: x.triu(-1), [(t(4, 3),), (t(0, 3),)]),
    OpSpec("trace", lambda x: x.trace(), [(t(3, 4),), (t(3, 3, nc=True),)]),
    # ---- copies: cat, stack, repeat ... ---------------------------------------------------
    OpSpec("cat.neg_dim", lambda x, y, z: _mod(x).cat((x, y, z), -1),
           [(t(2, 3), t(2, 1), t(2, 0)), (t(2, 3, nc=True), t(2, 2), t(0))]),
    OpSpec("cat.promote", lambda x, y: _mod(x).cat([x, y.double()]),
           [(t(2, 3), t(1, 3))]),
    OpSpec("concat", lambda x, y: _mod(x).concat([x, y]), [(t(2), t(3))]),
    OpSpec("stack.0d", lambda x, y: _mod(x).stack([x, y], 0), [(t(), t()), (t(0, 2), t(0, 2))]),
    OpSpec("hstack", lambda x, y: _mod(x).hstack([x, y]), [(t(2), t(3)), (t(2, 2), t(2, 1))]),
    OpSpec("vstack", lambda x, y: _mod(x).vstack([x, y]), [(t(3), t(3)), (t(1, 3), t(3))]),
    OpSpec("dstack", lambda x, y: _mod(x).dstack([x, y]), [(t(3), t(3)), (t(2, 3), t(2, 3))]),
    OpSpec("column_stack", lambda x, y: _mod(x).column_stack([x, y]), [(t(3), t(3, 2))]),
    OpSpec("atleast_2d", lambda x: _mod(x).atleast_2d(x), [(t(),), (t(3),)]),
    OpSpec("repeat", lambda x: x.repeat(2, 1, 3), [(t(2, 3),), (t(),), (t(3, 2, nc=True),)]),
    OpSpec("tile", lambda x: x.tile((2,)), [(t(2, 3),), (t(3),)]),
    OpSpec("repeat_interleave", lambda x: x.repeat_interleave(2), [(t(2, 3),), (t(),)]),
    OpSpec("repeat_interleave.dim", lambda x: x.repeat_interleave(3, dim=1), [(t(2, 3),)]),
    OpSpec("repeat_interleave.tensor",
           lambda x: x.repeat_interleave(_i(x, [1, 0, 2]), dim=0), [(t(3, 2),)]),
    OpSpec("flip.neg", lambda x: x.flip(-1), [(t(3, 4),), (t(),), (t(3, 4, nc=True),)]),
    OpSpec("fliplr", lambda x: x.fliplr(), [(t(3, 4),)]),
    OpSpec("flipud", lambda x: x.flipud(), [(t(3, 4),)]),
    OpSpec("rot90", lambda x: _mod(x).cat([x.rot90(1, (0, 1)).reshape(-1),
                                           x.rot90(-1, (1, 0)).reshape(-1),
                                           x.rot90(2).reshape(-1)]), [(t(3, 4),)]),
    OpSpec("roll", lambda x: x.roll(1), [(t(3, 4),), (t(3, 4, nc=True),), (t(),)]),
    OpSpec("roll.dims", lambda x: x.roll((2, -1), (1, 0)), [(t(3, 4),)]),
    # ---- splitting -------------------------------------------------------------------------
    OpSpec("split.sizes", lambda x: _cat_flat(x, x.split([1, 3], 1)[::-1]), [(t(3, 4),)]),
    OpSpec("split.all", lambda x: _mod(x).stack(x.split(1)), [(t(3, 4, nc=True),)]),
    OpSpec("tensor_split", lambda x: _cat_flat(x, x.tensor_split([1, 3], 1)), [(t(2, 5),)]),
    OpSpec("chunk.uneven", lambda x: _cat_flat(x, x.chunk(4)), [(t(6),), (t(7, 2),)]),
    OpSpec("unbind.grad", lambda x: x.unbind(0)[2] * x.unbind(0)[0], [(t(3, 4),)]),
    OpSpec("narrow.neg", lambda x: x.narrow(-1, -3, 2), [(t(3, 4),), (t(3, 4, nc=True),)]),
    OpSpec("select", lambda x: x.select(1, -1), [(t(3, 4),)]),
    OpSpec("hsplit", lambda x: _cat_flat(x, x.hsplit(2)), [(t(3, 4),)]),
    OpSpec("vsplit", lambda x: _cat_flat(x, x.vsplit([1])), [(t(3, 4),)]),
    OpSpec("meshgrid", lambda x, y: _mod(x).stack(_mod(x).meshgrid(x, y, indexing="xy")),
           [(t(3), t(2))]),
    OpSpec("cartesian_prod", lambda x, y: _mod(x).cartesian_prod(x, y), [(t(3), t(2))]),
    OpSpec("block_diag", lambda x, y: _mod(x).block_diag(x, y), [(t(2, 3), t(1, 2))]),
    # ---- in-place shape ops and writes through views --------------------------------------
    OpSpec("inplace.meta", _meta_inplace, [(t(3, 4),)]),
    OpSpec("copy_slices", _inplace_view, [(t(3, 4), t(2, 2))]),
    OpSpec("copy_slices.diag", _inplace_diag, [(t(3, 3),)]),
    OpSpec("copy", _copy_into_view, [(t(3, 4), t(3)), (t(3, 4), t(1))]),
    # ---- __getitem__ ---------------------------------------------------------------------
    OpSpec("getitem.int", lambda x: x[1], [(t(3, 4),), (t(3, 4, nc=True),)]),
    OpSpec("getitem.neg", lambda x: x[-1, -2], [(t(3, 4),)]),
    OpSpec("getitem.steps", lambda x: x[::2, 1::3], [(t(5, 7),), (t(5, 7, nc=True),)]),
    OpSpec("getitem.none", lambda x: x[None, :, None, 1], [(t(3, 4),)]),
    OpSpec("getitem.0d", lambda x: x[None, ...], [(t(),)]),
    OpSpec("getitem.oob_slice", lambda x: x[2:10, -10:2], [(t(3, 4),)]),
    OpSpec("getitem.list", lambda x: x[[2, 0, 2, -1]], [(t(3, 4),), (t(3, 4, nc=True),)]),
    OpSpec("getitem.tensor", lambda x: x[:, _i(x, [[0, 1], [3, 3]])], [(t(3, 4),)]),
    OpSpec("getitem.tensor0d", lambda x: x[_i(x, 1)], [(t(3, 4),)]),
    OpSpec("getitem.int_adv", lambda x: x[0, :, [1, 2]], [(t(2, 3, 4),)]),
    OpSpec("getitem.adv_sep", lambda x: x[[0, 1], :, [1, 2]], [(t(2, 3, 4),)]),
    OpSpec("getitem.adv_adj", lambda x: x[:, [0, 2], [1, 3]], [(t(2, 3, 4),)]),
    OpSpec("getitem.adv_bcast", lambda x: x[[[0], [1]], [0, 2, 3]], [(t(2, 4),)]),
    OpSpec("getitem.mask_dims", lambda x: x[_b(x, [[True, False, True], [False, True, True]])],
           [(t(2, 3, 4),)]),
    OpSpec("getitem.mask_mid", lambda x: x[:, _b(x, [True, False, True])], [(t(2, 3, 4),)]),
    OpSpec("getitem.bool", lambda x: x[True], [(t(3),)]),
    OpSpec("getitem.seq_tuple", lambda x: x[[0, 1], [1, 2]], [(t(3, 4),)]),
    OpSpec("getitem.empty", lambda x: x[[]], [(t(3, 4),)]),
    OpSpec("getitem.ellipsis_adv", lambda x: x[..., [1, 0]], [(t(2, 3, 4),)]),
    # ---- __setitem__ (on a clone) --------------------------------------------------------
    OpSpec("setitem.scalar", _setitem((slice(None), 1), 2.5), [(t(3, 4),)]),
    OpSpec("setitem.tensor", _setitem((1, slice(1, 3))), [(t(3, 4), t(2))]),
    OpSpec("setitem.bcast", _setitem((slice(None, 2),)), [(t(3, 4), t(1, 4))]),
    OpSpec("setitem.adv", _setitem_fn(lambda x: ([0, 2], [1, 3])), [(t(3, 4), t(2))]),
    OpSpec("setitem.mask", _setitem_fn(lambda x: x > 0), [(t(3, 4), t())]),
    OpSpec("setitem.mixed", _setitem_fn(lambda x: (1, slice(None), [0, 2])),
           [(t(2, 3, 4), t(3, 2))]),
    OpSpec("setitem.view_base", _setitem_fn(lambda x: (slice(None), 0)), [(t(3, 4), t(3))]),
    OpSpec("index_put", lambda x, v: x.index_put((_i(x, [0, 2, 0]),), v, accumulate=True),
           [(t(3, 4), t(4))]),
    OpSpec("index_put.nonacc", lambda x, v: x.index_put((_i(x, [0, 2]), _i(x, [1, 1])), v),
           [(t(3, 4), t(2))]),
    # ---- index_* family ------------------------------------------------------------------
    OpSpec("index_select", lambda x: x.index_select(1, _i(x, [2, 0, 2])),
           [(t(3, 4),), (t(3, 4, nc=True),)]),
    OpSpec("index_select.0d", lambda x: x.index_select(0, _i(x, [0])), [(t(),)]),
    OpSpec("index_add", lambda x, s: x.index_add(0, _i(x, [0, 2, 0]), s, alpha=2.0),
           [(t(3, 4), t(3, 4))]),
    OpSpec("index_copy", lambda x, s: x.index_copy(1, _i(x, [3, 0]), s), [(t(3, 4), t(3, 2))]),
    OpSpec("index_fill", lambda x: x.index_fill(1, _i(x, [1, 3]), -1.5), [(t(3, 4),)]),
    OpSpec("index_fill.tensor", lambda x, v: x.index_fill(0, _i(x, [1]), v), [(t(3, 4), t())]),
    OpSpec("gather", lambda x, i: x.gather(1, i), [(t(3, 4), I((3, 5), 0, 4)),
                                                   (t(3, 4, nc=True), I((2, 2), 0, 4))]),
    OpSpec("gather.dim0", lambda x, i: x.gather(0, i), [(t(3, 4), I((5, 4), 0, 3))]),
    OpSpec("take_along_dim", lambda x: x.take_along_dim(x.argsort(1), 1), [(t(3, 4),)]),
    OpSpec("take_along_dim.flat", lambda x: x.take_along_dim(_i(x, [5, 0])), [(t(3, 4),)]),
    OpSpec("take_along_dim.bcast", lambda x: x.take_along_dim(_i(x, [[0], [2]]), 1),
           [(t(2, 3),)]),
    OpSpec("take", lambda x: x.take(_i(x, [[0, -1], [5, 5]])), [(t(3, 4),), (t(3, 4, nc=True),)]),
    OpSpec("scatter", lambda x, s: x.scatter(1, _i(x, [[2, 0], [1, 3], [0, 1]]), s),
           [(t(3, 4), t(3, 2))]),
    # torch's own backward fails when src is larger than index: compare the forward only
    OpSpec("scatter.big_src", lambda x, s: x.scatter(1, _i(x, [[2, 0], [1, 3], [0, 1]]), s),
           [(t(3, 4), t(4, 4))], grad=False),
    OpSpec("scatter.value", lambda x: x.scatter(0, _i(x, [[2, 0, 1, 1]]), 0.5), [(t(3, 4),)]),
    OpSpec("scatter.reduce", lambda x, s: x.scatter(0, _i(x, [[0, 1], [0, 1]]), s,
                                                    reduce="add"), [(t(3, 2), t(2, 2))],
           grad=False),
    OpSpec("scatter_add", lambda x, s: x.scatter_add(0, _i(x, [[0, 1, 0], [0, 2, 0]]), s),
           [(t(3, 3), t(2, 3))]),
    OpSpec("scatter_add.big_src", lambda x, s: x.scatter_add(0, _i(x, [[0, 1, 0], [0, 2, 0]]),
                                                             s), [(t(3, 3), t(3, 4))], grad=False),
]

ONE = ("float32",)      # integer/bool samples: the float dtype parameter does not matter
INT = [(I((3, 4), -5, 5),)]
BOOL = [(B((3, 4)),)]


def _int_bool(name, fn):
    return [OpSpec(f"{name}.int", fn, INT, grad=False, dtypes=ONE),
            OpSpec(f"{name}.bool", fn, BOOL, grad=False, dtypes=ONE)]


for _name, _fn in [
        ("views", lambda x: _cat_flat(x, [x.view(2, 6), x.t(), x.permute(1, 0)[None],
                                          x.unsqueeze(1).expand(3, 2, 4), x.diagonal(),
                                          x.unfold(1, 2, 1), x[::2, 1], x.narrow(1, 1, 2)])),
        ("copies", lambda x: _cat_flat(x, [x.flip(0), x.roll(1, 1), x.repeat(2, 1), x.tril(),
                                           x.triu(1), x.repeat_interleave(2, 0), x.rot90(),
                                           _mod(x).stack([x, x]), x.tile(2)])),
        ("splits", lambda x: _cat_flat(x, list(x.split(3, 1)) + list(x.chunk(2)) +
                                       list(x.unbind(1)))),
        ("indexing", lambda x: _cat_flat(x, [x[[0, 2]], x[:, [1, 1]], x[x.bool()],
                                             x.index_select(1, _i(x, [3, 0])),
                                             x.gather(0, _i(x, [[2, 1, 0, 0]])), x.take(_i(x, [5])),
                                             x.masked_select(x.bool()),
                                             x.take_along_dim(_i(x, [[1], [0], [3]]), 1)])),
        ("writes", lambda x: _cat_flat(x, [x.masked_fill(x.bool(), 1),
                                           x.index_fill(0, _i(x, [1]), 0),
                                           x.scatter(1, _i(x, [[0], [1], [2]]), 1),
                                           x.index_put((_i(x, [0, 2]),), x[1]),
                                           x.index_copy(0, _i(x, [2]), x[:1])])),
        ("sorting", lambda x: _cat_flat(x, [x.sort(dim=1, stable=True)[0], x.argsort(dim=0, stable=True),
                                            x.unique(), x.nonzero(), x.flatten().msort()])),
]:
    SPECS += _int_bool(_name, _fn)

SPECS += [
    OpSpec("products.int", lambda x: _cat_flat(x, [x @ x.t(), x.t().mm(x), x.mv(x[0]),
                                                   x[0].dot(x[1]), x.trace().reshape(1),
                                                   _mod(x).einsum("ij,kj->ik", x, x),
                                                   _mod(x).kron(x, x), x[0].outer(x[1]),
                                                   _mod(x).tensordot(x, x, ([1], [1]))]),
           INT, grad=False, dtypes=ONE),
    OpSpec("scatter_add.int", lambda x: x.scatter_add(1, _i(x, [[0, 0], [1, 1], [3, 3]]),
                                                      x[:, :2]), INT, grad=False, dtypes=ONE),
    OpSpec("topk.int", lambda x: x.topk(2, sorted=True)[0], [(I((3, 4), 0, 100),)],
           grad=False, dtypes=ONE),
    OpSpec("searchsorted.int", lambda x: _mod(x).searchsorted(x.flatten().sort()[0], x),
           INT, grad=False, dtypes=ONE),
]

_IDX = [[0, 1, 0, 2], [1, 1, 3, 3]]
for _red in ("sum", "prod", "mean", "amax", "amin"):
    for _inc in (True, False):
        SPECS.append(OpSpec(f"scatter_reduce.{_red}.{'self' if _inc else 'noself'}",
                            lambda x, s, r=_red, inc=_inc: x.scatter_reduce(
                                1, _i(x, _IDX), s, r, include_self=inc),
                            [(t(2, 4), t(2, 4))]))

SPECS += [
    OpSpec("scatter_reduce.prod_zero",
           lambda x, s: x.scatter_reduce(0, _i(x, [0, 0, 1, 0]), s * _mod(x).tensor(
               [1.0, 0.0, 1.0, 1.0], dtype=x.dtype, device=x.device), "prod"), [(t(3), t(4))]),
    OpSpec("scatter_reduce.amax_ties",
           lambda x, s: x.scatter_reduce(0, _i(x, [0, 0, 1]), s.clamp(max=0.5), "amax"),
           [(t(2, low=0.5, high=0.5), t(3, low=0.6, high=2.0))]),
    OpSpec("masked_fill", lambda x: x.masked_fill(x > 0.5, -2.0), UNARY + [(t(),)]),
    OpSpec("masked_fill.bcast", lambda x, v: x.masked_fill(_b(x, [True, False, True, False]), v),
           [(t(3, 4), t())]),
    OpSpec("masked_select", lambda x: x.masked_select(x > 0), UNARY),
    OpSpec("masked_select.bcast", lambda x: x.masked_select(_b(x, [[True], [False], [True]])),
           [(t(3, 4),)]),
    OpSpec("masked_scatter", lambda x, s: x.masked_scatter(x > 0, s), [(t(3, 4), t(15))]),
    OpSpec("put", lambda x, s: x.put(_i(x, [0, 5, 0]), s, accumulate=True), [(t(3, 4), t(3))]),
    # ---- sorting / selection -------------------------------------------------------------
    OpSpec("sort", lambda x: x.sort()[0], UNARY + [(t(),), (t(0, 3),)]),
    OpSpec("sort.desc", lambda x: _mod(x).sort(x, dim=0, descending=True).values, UNARY),
    OpSpec("sort.indices", lambda x: x.sort(dim=1, stable=True)[1], UNARY, grad=False),
    OpSpec("sort.stable_ties", lambda x: _mod(x).cat(x.round().sort(dim=0, descending=True,
                                                                     stable=True)),
           [(t(7),)], grad=False, domain=(-1.0, 2.0)),
    OpSpec("argsort", lambda x: x.argsort(0, descending=True), UNARY, grad=False),
    OpSpec("msort", lambda x: x.msort(), UNARY),
    OpSpec("topk", lambda x: x.topk(2)[0], UNARY),
    OpSpec("topk.smallest", lambda x: _cat_flat(x, x.topk(2, 0, largest=False)), UNARY),
    OpSpec("kthvalue", lambda x: x.kthvalue(2, 0)[0], UNARY),
    OpSpec("kthvalue.keepdim", lambda x: x.kthvalue(3, keepdim=True)[0], UNARY),
    OpSpec("kthvalue.indices", lambda x: x.kthvalue(3)[1], UNARY, grad=False),
    OpSpec("nonzero", lambda x: (x > 0).nonzero(), UNARY + [(t(),)], grad=False),
    OpSpec("nonzero.tuple", lambda x: _mod(x).stack((x > 0).nonzero(as_tuple=True)), UNARY,
           grad=False),
    OpSpec("argwhere", lambda x: _mod(x).argwhere(x > 0), UNARY, grad=False),
    OpSpec("unique", lambda x: x.round().unique(), UNARY, grad=False, domain=(-3.0, 3.0)),
    OpSpec("unique.inverse", lambda x: _mod(x).cat([a.reshape(-1).to(x.dtype) for a in
                                                    x.round().unique(return_inverse=True,
                                                                     return_counts=True)]),
           UNARY, grad=False, domain=(-3.0, 3.0)),
    OpSpec("unique.dim", lambda x: x.round().clamp(0, 1).unique(dim=0), [(t(6, 2),)],
           grad=False),
    OpSpec("unique_consecutive", lambda x: _mod(x).cat(
        [a.to(x.dtype) for a in x.round().unique_consecutive(return_counts=True)]),
        [(t(9),)], grad=False, domain=(-1.0, 1.0)),
    OpSpec("searchsorted", lambda s, v: _mod(s).searchsorted(s.sort()[0], v),
           [(t(5), t(3, 4)), (t(2, 5), t(2, 3))], grad=False),
    OpSpec("searchsorted.right", lambda s, v: _mod(s).searchsorted(s.sort()[0], v.round(),
                                                                   side="right"),
           [(t(6), t(7))], grad=False),
    OpSpec("bucketize", lambda v, b: _mod(v).bucketize(v, b.sort()[0], right=True),
           [(t(3, 4), t(5))], grad=False),
    # ---- products ------------------------------------------------------------------------
    OpSpec("matmul.ranks", lambda x, y: x @ y,
           [(t(5), t(2, 5, 3)), (t(2, 3, 5), t(5)), (t(1, 3, 4), t(2, 4, 2)),
            (t(4, 3, nc=True), t(3, 2, nc=True)), (t(0, 3), t(3, 2)), (t(3, 0), t(0, 2))],
           tol=F32),
    OpSpec("mm", lambda x, y: x.mm(y), [(t(3, 4), t(4, 2)), (t(3, 4, nc=True), t(4, 2))]),
    OpSpec("mv", lambda x, y: x.mv(y), [(t(3, 4), t(4))]),
    OpSpec("dot", lambda x, y: x.dot(y), [(t(4), t(4))]),
    OpSpec("vdot", lambda x, y: x.vdot(y), [(t(4), t(4))]),
    OpSpec("inner", lambda x, y: x.inner(y), [(t(2, 4), t(3, 4)), (t(), t(3))]),
    OpSpec("outer", lambda x, y: x.outer(y), [(t(3), t(4))]),
    OpSpec("bmm.nc", lambda x, y: _mod(x).bmm(x, y), [(t(2, 3, 4), t(2, 4, 2, nc=True))]),
    OpSpec("addmm", lambda c, a, b: _mod(c).addmm(c, a, b, beta=0.5, alpha=2.0),
           [(t(3, 2), t(3, 4), t(4, 2)), (t(2), t(3, 4), t(4, 2))]),
    OpSpec("addmm.beta0", lambda c, a, b: c.addmm(a, b, beta=0), [(t(3, 2), t(3, 4), t(4, 2))]),
    OpSpec("addmv", lambda c, a, b: _mod(c).addmv(c, a, b, alpha=-1.5), [(t(3), t(3, 4), t(4))]),
    OpSpec("baddbmm", lambda c, a, b: c.baddbmm(a, b, beta=2.0),
           [(t(2, 3, 2), t(2, 3, 4), t(2, 4, 2)), (t(3, 1), t(2, 3, 4), t(2, 4, 2))]),
    OpSpec("addbmm", lambda c, a, b: c.addbmm(a, b, alpha=0.5),
           [(t(3, 2), t(2, 3, 4), t(2, 4, 2))]),
    OpSpec("addr", lambda c, a, b: c.addr(a, b), [(t(3, 2), t(3), t(2))]),
    OpSpec("einsum.mm", lambda x, y: _mod(x).einsum("ij,jk->ik", x, y), [(t(3, 4), t(4, 2))]),
    OpSpec("einsum.batch", lambda x, y: _mod(x).einsum("bij,bjk->bik", x, y),
           [(t(2, 3, 4), t(2, 4, 2, nc=True))]),
    OpSpec("einsum.trace", lambda x: _mod(x).einsum("ii", x), [(t(3, 3),)]),
    OpSpec("einsum.diag", lambda x: _mod(x).einsum("ii->i", x), [(t(3, 3),)]),
    OpSpec("einsum.diag3", lambda x: _mod(x).einsum("iji->j", x), [(t(3, 2, 3),)]),
    OpSpec("einsum.outer", lambda x, y: _mod(x).einsum("i,j", x, y), [(t(3), t(2))]),
    OpSpec("einsum.implicit", lambda x, y: _mod(x).einsum("ba,ca", x, y), [(t(3, 4), t(2, 4))]),
    OpSpec("einsum.sum_only", lambda x, y: _mod(x).einsum("ij,k->j", x, y), [(t(3, 4), t(2))]),
    OpSpec("einsum.ellipsis", lambda x, y: _mod(x).einsum("...ij,...jk->...ik", x, y),
           [(t(2, 1, 3, 4), t(3, 4, 2)), (t(3, 4), t(2, 4, 2))]),
    OpSpec("einsum.ellipsis_mid", lambda x: _mod(x).einsum("i...j->j...", x), [(t(2, 3, 4),)]),
    OpSpec("einsum.bcast1", lambda x, y: _mod(x).einsum("ij,ij->i", x, y), [(t(3, 1), t(3, 4))]),
    OpSpec("einsum.three", lambda a, b, c: _mod(a).einsum("bn,anm,bm->ba", a, b, c),
           [(t(2, 3), t(4, 3, 5), t(2, 5))]),
    OpSpec("einsum.list", lambda x, y: _mod(x).einsum("ij,jk", [x, y]), [(t(3, 4), t(4, 2))]),
    OpSpec("einsum.sublist", lambda x, y: _mod(x).einsum(x, [0, 1], y, [1, 2], [0, 2]),
           [(t(3, 4), t(4, 2))]),
    OpSpec("tensordot", lambda x, y: _mod(x).tensordot(x, y, dims=([1, 0], [0, 2])),
           [(t(3, 4, 5), t(4, 2, 3))]),
    OpSpec("tensordot.int", lambda x, y: _mod(x).tensordot(x, y, 1), [(t(3, 4), t(4, 2))]),
    OpSpec("kron", lambda x, y: _mod(x).kron(x, y), [(t(2, 3), t(3, 2)), (t(2), t(2, 2))]),
    OpSpec("cross", lambda x, y: _mod(x).cross(x, y, dim=0), [(t(3, 4), t(3, 4))]),
    OpSpec("linalg.cross", lambda x, y: _mod(x).linalg.cross(x, y), [(t(2, 3), t(1, 3))]),
    OpSpec("linalg.matmul", lambda x, y: _mod(x).linalg.matmul(x, y), [(t(3, 4), t(4))]),
    OpSpec("chain_matmul", lambda x, y: _mod(x).linalg.multi_dot([x, y, x.mT]),
           [(t(3, 4), t(4, 4))]),
    OpSpec("linalg.vecdot", lambda x, y: _mod(x).linalg.vecdot(x, y), [(t(3, 4), t(4))]),
    # ---- ember.linalg --------------------------------------------------------------------
    OpSpec("linalg.vector_norm", lambda x: _mod(x).linalg.vector_norm(x),
           UNARY + [(t(),), (t(0, 3),)]),
    OpSpec("linalg.vector_norm.ord", lambda x: _mod(x).cat([
        _mod(x).linalg.vector_norm(x, o, 1) for o in (1, 3, 0.5, float("inf"), -float("inf"))]),
        UNARY),
    OpSpec("linalg.vector_norm.ord0", lambda x: _mod(x).linalg.vector_norm(x, 0, (0, 1), True),
           UNARY),
    OpSpec("linalg.vector_norm.zero", lambda x: _mod(x).linalg.vector_norm(x * 0, dim=0),
           [(t(3, 4),)]),
    OpSpec("linalg.norm", lambda x: _mod(x).cat([
        _mod(x).linalg.norm(x).reshape(1), _mod(x).linalg.norm(x, "fro").reshape(1),
        _mod(x).linalg.norm(x, 1, dim=0), _mod(x).linalg.norm(x, keepdim=True).reshape(-1)]),
        UNARY),
    OpSpec("linalg.matrix_norm", lambda x: _mod(x).stack([
        _mod(x).linalg.matrix_norm(x, o) for o in ("fro", "nuc", 2, -2, 1, -1, float("inf"),
                                                   -float("inf"))]), UNARY, tol=F32),
    OpSpec("linalg.matrix_norm.keepdim", lambda x: _mod(x).linalg.matrix_norm(
        x, 1, (0, 2), keepdim=True), [(t(2, 3, 4),)]),
    OpSpec("linalg.inv", lambda x: _mod(x).linalg.inv(_wellcond(x)),
           [(t(3, 3),), (t(2, 3, 3),), (t(3, 3, nc=True),)], tol=F32),
    OpSpec("inverse", lambda x: _wellcond(x).inverse(), [(t(4, 4),)], tol=F32),
    OpSpec("linalg.det", lambda x: _mod(x).linalg.det(x), [(t(3, 3),), (t(2, 4, 4),),
                                                           (t(0, 0),)], tol=F32),
    OpSpec("det.singular", lambda x: (x[:, :1] * x[:1]).det(), [(t(3, 3),)], tol=F32),
    OpSpec("linalg.slogdet", lambda x: _mod(x).stack(_mod(x).linalg.slogdet(x)),
           [(t(3, 3),), (t(2, 3, 3),)], tol=F32),
    OpSpec("logdet", lambda x: _mod(x).logdet(_spd(x)), [(t(3, 3),)], tol=F32),
    OpSpec("linalg.solve", lambda a, b: _mod(a).linalg.solve(_wellcond(a), b),
           [(t(3, 3), t(3, 2)), (t(3, 3), t(3)), (t(2, 3, 3), t(2, 3)), (t(2, 3, 3), t(3)),
            (t(3, 3), t(2, 3, 1))], tol=F32),
    OpSpec("linalg.solve.left", lambda a, b: _mod(a).linalg.solve(_wellcond(a), b, left=False),
           [(t(3, 3), t(2, 3))], tol=F32),
    OpSpec("linalg.cholesky", lambda x: _mod(x).linalg.cholesky(_spd(x)),
           [(t(3, 3),), (t(2, 4, 4),)], tol=F32),
    OpSpec("linalg.cholesky.upper", lambda x: _mod(x).linalg.cholesky(_spd(x), upper=True),
           [(t(3, 3),)], tol=F32),
    OpSpec("cholesky", lambda x: _spd(x).cholesky(), [(t(3, 3),)], tol=F32),
    OpSpec("linalg.qr", _qr, [(t(4, 3),), (t(3, 3),), (t(3, 5),), (t(2, 4, 3),)], tol=F32),
    OpSpec("linalg.qr.complete", lambda x: _qr(x, "complete"), [(t(3, 4),)], tol=F32),
    OpSpec("linalg.qr.r", lambda x: _mod(x).linalg.qr(x, mode="r")[1], [(t(4, 3),)], tol=F32,
           grad=False),
    OpSpec("qr", lambda x: _cat_flat(x, x.qr()), [(t(4, 3),)], tol=F32),
    OpSpec("linalg.svd", _svd_inv, [(t(4, 3),), (t(3, 3),), (t(3, 5),), (t(2, 4, 3),)],
           tol=F32),
    OpSpec("linalg.svd.full", _svd_full, [(t(4, 3),), (t(2, 3),)], tol=F32),
    OpSpec("svd", _torch_svd, [(t(4, 3),)], tol=F32),
    OpSpec("linalg.svdvals", lambda x: _mod(x).linalg.svdvals(x), [(t(4, 3),), (t(2, 3, 5),)],
           tol=F32),
    OpSpec("linalg.eigh", _eigh_inv, [(t(3, 3),), (t(2, 4, 4),)], tol=F32),
    OpSpec("linalg.eigh.upper", lambda x: _mod(x).linalg.eigh(x, UPLO="U")[0], [(t(3, 3),)],
           tol=F32),
    OpSpec("linalg.eigvalsh", lambda x: _mod(x).linalg.eigvalsh(x), [(t(3, 3),), (t(2, 4, 4),)],
           tol=F32),
    OpSpec("linalg.pinv", lambda x: _mod(x).linalg.pinv(x), [(t(4, 3),), (t(3, 5),),
                                                             (t(2, 3, 3),)], tol=F32),
    OpSpec("linalg.pinv.hermitian", lambda x: _mod(x).linalg.pinv(_spd(x), hermitian=True),
           [(t(3, 3),)], tol=F32),
    OpSpec("pinverse", lambda x: x.pinverse(), [(t(3, 4),)], tol=F32),
    OpSpec("linalg.matrix_power", lambda x: _mod(x).cat([
        _mod(x).linalg.matrix_power(x, n).reshape(-1) for n in (0, 1, 3, 6)]), [(t(3, 3),)],
        tol=F32),
    OpSpec("matrix_power.neg", lambda x: _wellcond(x).matrix_power(-2), [(t(3, 3),)], tol=F32),
    OpSpec("linalg.matrix_rank", lambda x: _mod(x).linalg.matrix_rank(x[:, :1] * x[:1]),
           [(t(3, 3),)], grad=False),
    OpSpec("linalg.cond", lambda x: _mod(x).linalg.cond(_wellcond(x)), [(t(3, 3),)], tol=F32),
    OpSpec("linalg.solve_triangular", lambda a, b: _mod(a).linalg.solve_triangular(
        _wellcond(a), b, upper=True), [(t(3, 3), t(3, 2)), (t(2, 3, 3), t(2, 3, 1))], tol=F32),
    OpSpec("linalg.solve_triangular.right", lambda a, b: _mod(a).linalg.solve_triangular(
        _wellcond(a), b, upper=False, left=False, unitriangular=True), [(t(3, 3), t(2, 3))],
        tol=F32),
    OpSpec("linalg.lstsq", lambda a, b: _mod(a).linalg.lstsq(_wellcond(a), b).solution,
           [(t(3, 3), t(3, 2))], tol=F32),
    OpSpec("linalg.lstsq.tall", lambda a, b: _mod(a).linalg.lstsq(a, b).solution,
           [(t(5, 3), t(5, 2))], tol=F32),
    OpSpec("linalg.matrix_exp", lambda x: _mod(x).linalg.matrix_exp(x),
           [(t(3, 3),), (t(2, 3, 3, nc=True),)], tol={"float32": dict(rtol=1e-4, atol=1e-4),
                                                     "float64": dict(rtol=1e-6, atol=1e-7)}),
    OpSpec("linalg.vander", lambda x: _mod(x).linalg.vander(x, N=4), [(t(3),), (t(2, 3),)]),
    OpSpec("linalg.tensorinv", lambda x: _mod(x).linalg.tensorinv(_wellcond(x.reshape(6, 6))
                                                                  .reshape(2, 3, 6), 2),
           [(t(6, 6),)], tol=F32),
    # ---- scatter-into-view ops and more in-place variants ----------------------------------
    OpSpec("slice_scatter", lambda x, s: x.slice_scatter(s, 1, 0, 4, 2), [(t(3, 4), t(3, 2))]),
    OpSpec("select_scatter", lambda x, s: x.select_scatter(s, 0, -1), [(t(3, 4), t(4))]),
    OpSpec("diagonal_scatter", lambda x, s: x.diagonal_scatter(s, -1), [(t(3, 4), t(2))]),
    OpSpec("fill_diagonal", lambda x: (x * 1).fill_diagonal_(0.5, wrap=True), [(t(7, 3),)]),
    OpSpec("tril_", lambda x: (x * 1).tril_(-1), [(t(3, 4),)]),
    OpSpec("narrow_copy", lambda x: x.narrow_copy(0, 1, 2), [(t(3, 4, nc=True),)]),
    OpSpec("addmm_", lambda c, a, b: (c * 1).addmm_(a, b, beta=0.5),
           [(t(3, 2), t(3, 4), t(4, 2))]),
    OpSpec("index_reduce", lambda x, s: x.index_reduce(0, _i(x, [0, 2, 0]), s, "mean",
                                                       include_self=False),
           [(t(3, 4), t(3, 4))]),
]


# ---- helpers for the shape/index/linalg test files ------------------------------------------
def error_kind(exc):
    """The builtin exception class torch users catch (LinAlgError -> RuntimeError ...)."""
    import builtins
    return next(c for c in type(exc).__mro__ if getattr(builtins, c.__name__, None) is c)


def run_both(fn, compare=True, **tol):
    """fn(lib) on torch and on ember: both raise the same kind of exception, or both return
    results that agree (values, shape, dtype; tuples elementwise). Returns the two results."""
    import torch
    import ember
    from oracle import assert_close
    out = []
    for lib in (torch, ember):
        try:
            out.append(("ok", fn(lib)))
        except Exception as e:              # noqa: BLE001 - the class is what we compare
            out.append(("err", e))
    (kt, rt), (ke, re_) = out
    if kt == "err" or ke == "err":
        assert kt == ke, f"torch: {rt!r}, ember: {re_!r}"
        assert error_kind(rt) is error_kind(re_), f"torch raised {rt!r}, ember {re_!r}"
        return rt, re_
    if compare:
        assert_close(_detach(re_), _detach(rt), **tol)
    return rt, re_


def _detach(r):
    if isinstance(r, (tuple, list)):
        return type(r)(_detach(x) for x in r) if not hasattr(r, "_fields") else \
            tuple(_detach(x) for x in r)
    return r.detach() if hasattr(r, "detach") else r
