"""float32/float64 sums in the order torch's CPU sum kernel adds (ATen's cascade_sum in
SumKernel.cpp), so sums and means come out bit for bit as torch's, not merely within an ulp.

torch's kernel, for one reduced dim of a contiguous tensor:
- inner reduction (the reduced dim is the last): rows of at least one 32-byte vector are summed
  as vectors (8 float32 / 4 float64 lanes) with 4 interleaved accumulators, the leftover
  elements added to 0 in order, then the lanes one by one; shorter rows the same way with
  scalars;
- outer reduction: columns in blocks of 4 vectors add row after row; the leftover columns use the
  4 interleaved accumulators along the reduced dim;
- every running sum is a 4-level cascade: blocks of 2**k rows (k >= 4) are summed in order and
  carried upward, which keeps long sums accurate.
Above 32768 elements torch splits a reduction to one number into a chunk a thread, which is
followed here with torch's thread count (set_num_threads, else torch's default); reductions to
several numbers are split by output, which keeps each output's order. Several non-adjacent
reduced dims: see _several. Left to NumPy: non-contiguous inputs torch's iterator cannot lay out
as a contiguous one."""
import numpy as np

from .._threads import intra_op_threads

try:        # np.einsum without its Python wrapper (optimize=False forwards to it): a third of
    # a small einsum's time, and these sums make several
    from numpy._core.multiarray import c_einsum as einsum
except ImportError:                                 # pragma: no cover (another NumPy)
    einsum = np.einsum

_GRAIN = 32768
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))     # (dtypes: `in` meets them first by
                                                           # identity, where types convert)


def _seq(a):
    """Sum over axis 0 in order. NumPy adds a reduced axis row after row when another axis is
    closer in memory; a reduced axis innermost in memory would be summed pairwise, so a single
    column is added up one by one and such a layout copied first. (ndarray.cumsum, not
    np.cumsum: NumPy's Python wrapper would be the module its floating-point warnings come
    from, past ember's filter.)"""
    if a.shape[0] == 0:
        return np.zeros(a.shape[1:], a.dtype)
    if a[0].size == 1:
        return a.reshape(-1).cumsum()[-1].reshape(a.shape[1:])
    if not a.flags.c_contiguous and \
            abs(a.strides[0]) < min(abs(st) for st, n in zip(a.strides[1:], a.shape[1:]) if n > 1):
        a = np.ascontiguousarray(a)
    return np.add.reduce(a, axis=0)


def _groups(a, step, rest=True):
    """(full groups of `step` rows summed in order, the leftover rows summed in order); the
    first alone where not `rest`."""
    g = a.shape[0] // step
    full = np.add.reduce(a[:g * step].reshape((g, step) + a.shape[1:]), axis=1) if g else a[:0]
    return (full, _seq(a[g * step:])) if rest else full


def _cascade(a, axis=0):
    """ATen's multi_row_sum: the sum over axis 0 of a (size, ...) array (axis 1 of an
    (O, size, ...) one, through _seq1/_groups1)."""
    seq, groups = (_seq, _groups) if axis == 0 else (_seq1, _groups1)
    size = a.shape[axis]
    power = max(4, (int(size - 1).bit_length() if size > 1 else 0) // 4)
    step = 1 << power
    if size < step:
        return seq(a)
    if size < step * step and size % step == 0:     # (acc[0] as well stays zeros)
        r = seq(groups(a, step, False))
        r += 0
        return r
    chunks, acc0 = groups(a, step)            # acc[0]: the rows after the last full block
    if chunks.shape[axis] < step:             # (acc[2] and acc[3] stay zeros: + 0 once)
        r = acc0 + seq(chunks)
        r += 0
        return r
    b1, acc1 = groups(chunks, step)           # acc[1]: carried up every `step` blocks
    b2, acc2 = groups(b1, step)               # acc[2]: carried up every step**2 blocks
    acc3 = seq(b2)                            # acc[3]: everything carried up to the top
    return ((acc0 + acc1) + acc2) + acc3


def _row_sum(a):
    """ATen's row_sum: 4 interleaved accumulators over axis 0 of a (n, ...) array, the leftover
    rows into the first, then the other three added to it."""
    n = a.shape[0]
    s = n // 4
    if not s:
        return _seq(a)
    p = _cascade(a[:s * 4].reshape((s, 4) + a.shape[1:]))
    if n == s * 4:
        return _seq(p)                 # ((p0 + p1) + p2) + p3
    return _seq(np.concatenate((p[:1], a[s * 4:], p[1:])))


# The same order for rows, (outer, n) with the reduced dim last, without moving it first: sums
# over the reduced axis (axis 1) by einsum, whose loop runs the kept contiguous axis innermost
# and so adds the reduced one in order (3x faster than reducing a transposed view).
def _seq1(a):
    """Sum over axis 1 of an (O, m, ...) array in order."""
    if a.shape[1] == 0:
        return np.zeros(a.shape[:1] + a.shape[2:], a.dtype)
    if a.ndim == 2:                     # the columns as rows of a (short) transposed copy
        return _seq(np.ascontiguousarray(a.T))
    return einsum("om...->o...", a)


def _groups1(a, step, rest=True):
    g = a.shape[1] // step
    full = einsum("ogt...->og...", a[:, :g * step].reshape(
        (a.shape[0], g, step) + a.shape[2:])) if g else a[:, :0]
    return (full, _seq1(a[:, g * step:])) if rest else full


def _row_sum1(v):
    """_row_sum over axis 1 of (O, nv, lanes) vectors."""
    o, nv, lanes = v.shape
    s = nv // 4
    if not s:
        return _seq1(v)
    p = _cascade(v[:, :s * 4].reshape(o, s, 4 * lanes), 1).reshape(o, 4, lanes)
    if nv == s * 4:
        return ((p[:, 0] + p[:, 1]) + p[:, 2]) + p[:, 3]
    return _seq1(np.concatenate((p[:, :1], v[:, s * 4:], p[:, 1:]), axis=1))


def _inner_rows(x2, lanes):
    """The inner reduction of every row of x2 (O, n), in x2's own layout: vectors of `lanes`
    summed by row_sum, then the leftover elements and the lanes in order (rows shorter than a
    vector: scalar row_sum, x0, x4, ..., x1, x2, x3)."""
    o, n = x2.shape
    if n < lanes:
        return _seq1(x2[:, [0, *range(4, n), 1, 2, 3]] if n > 4 else x2)
    nv = n // lanes
    if nv < 64:
        return _short_rows(x2, lanes, nv)
    v = _row_sum1(x2[:, :nv * lanes].reshape(o, nv, lanes))
    if nv * lanes == n:
        return _seq1(v)
    return _seq1(np.concatenate((x2[:, nv * lanes:], v), axis=1))


def _short_rows(x2, lanes, nv):
    """_inner_rows of rows of 1 to 63 vectors (whose row_sum cascades no block: its four
    accumulators add their s = nv // 4 vectors in order) in three or four NumPy calls: the
    accumulators by one einsum over s, the leftover vectors into the first and the four into
    one by another (written lanes first), then the leftover elements and the lanes in order
    down that transposed layout (the reduced axes never innermost: NumPy adds them in order)."""
    o, n = x2.shape
    w = 4 * lanes
    s = nv >> 2
    cut = nv * lanes
    if s > 1:
        p = einsum("osw->ow", x2[:, :s * w].reshape(o, s, w)).reshape(o, 4, lanes)
    else:       # (one vector an accumulator, or fewer than 4 vectors: added in order)
        p = x2[:, :(w if s else cut)].reshape(o, -1, lanes)
    if s and nv > 4 * s:
        p = np.concatenate((p[:, :1], x2[:, s * w:cut].reshape(o, -1, lanes), p[:, 1:]), axis=1)
    v = einsum("oal->lo", p, order="C")
    if cut < n:
        v = np.concatenate((x2[:, cut:].T, v))
    if o == 1:          # (one column: NumPy would add it pairwise)
        return np.add.accumulate(v.reshape(-1))[-1:]
    return einsum("lo->o", v)       # (onto +0: only a sum of -0.0s differs)


def _outer(a, lanes):
    """Sum over axis 0 of an (n, B, C) array: the B batches' C columns are not reduced; within
    each batch the columns in whole blocks of 4 vectors cascade and the rest use row_sum (fewer
    columns than a vector: torch's scalar_outer_sum, blocks of 4 columns)."""
    block = 4 * lanes if a.shape[2] >= lanes else 4
    cut = a.shape[2] // block * block
    if cut == a.shape[2]:
        return _cascade(a)
    if cut == 0:
        return _row_sum(a)
    return np.concatenate([_cascade(a[:, :, :cut]), _row_sum(a[:, :, cut:])], axis=-1)


def _full(flat, lanes):
    """A reduction to one number: above _GRAIN elements torch cuts the input into one even
    chunk a thread (at most one per _GRAIN elements), sums each as a whole and adds the chunk
    sums in order onto zero."""
    n = flat.size
    if n <= _GRAIN:                 # (one chunk whatever the thread count)
        return _flat_sum(flat, lanes)
    tasks = min(intra_op_threads(), -(-n // _GRAIN))
    if tasks <= 1:
        return _flat_sum(flat, lanes)
    chunk = -(-n // tasks)
    total = np.zeros((), flat.dtype)
    for i in range(0, n, chunk):
        total = total + _flat_sum(flat[i:i + chunk], lanes)
    return total


def _flat_sum(x, lanes):
    """_inner_rows of one row, a 1-D x (every sum to one number), in fewer NumPy calls: the
    vectors' row_sum on axis 0, and below 64 vectors (where its cascade is one block) its four
    accumulators and their sum as in-order reductions of rows."""
    n = x.size
    if n < lanes:       # scalar row_sum: x0, x4, ..., x1, x2, x3 in order
        return np.asarray(np.add.accumulate(x[[0, *range(4, n), 1, 2, 3]] if n > 4 else x)[-1])
    nv = n // lanes
    s = nv // 4
    if s >= 512:        # (long rows: the einsums over rows run faster)
        return _inner_rows(x.reshape(1, -1), lanes).reshape(())
    if s >= 256:
        acc = _row_sum(x[:nv * lanes].reshape(nv, lanes))
    else:
        # (the einsums add in order, as _seq1 says, onto +0: only a sum of -0.0s differs)
        w = 4 * lanes
        if s >= 16:     # _cascade of s < 256 rows: blocks of 16 (fewer than 16 of them)
            g = s >> 4
            # acc[1] from +0 (the + 0 of acc[2], acc[3]: only a -0.0 sum differs)
            p = einsum("gw->w", einsum("gtw->gw", x[:g * 16 * w].reshape(g, 16, w)))
            if s > g * 16:              # the rows after the last block: acc[0]
                p += einsum("tw->w", x[g * 16 * w:s * w].reshape(-1, w))
            p = p.reshape(4, lanes)
        elif s:
            p = einsum("tw->w", x[:s * w].reshape(s, w)).reshape(4, lanes)
        rows = x[:nv * lanes].reshape(nv, lanes)
        if s:           # (the leftover vectors go into the first accumulator)
            rows = np.concatenate((p[:1], rows[4 * s:], p[1:])) if nv > 4 * s else p
        acc = einsum("jl->l", rows)
    if nv * lanes < n:                      # the leftover elements, then the lanes
        acc = np.concatenate((x[nv * lanes:], acc))
    # (ndarray.cumsum's loop, called directly; the last sum in its own 0-d array, not a view
    # into the partial sums: a tensor's storage is its array's base)
    return np.asarray(np.add.accumulate(acc)[-1])


def _several(x, dims, lanes):
    """Non-adjacent reduced dims of a C-contiguous x, as torch's iterator runs them: dims of
    size 1 dropped, adjacent dims of one kind merged, the reduced runs innermost; its 2-D loop
    sums each row of the innermost reduced run (one reduced dim's inner rows) and adds the rows
    onto the zeroed output one after another, the next reduced run fastest. The sums flat in
    kept-dim order."""
    runs = []
    for i, n in enumerate(x.shape):
        if n != 1:
            if runs and runs[-1][1] == (i in dims):
                runs[-1][0] *= n
            else:
                runs.append([n, i in dims])
    reduced = [k for k, (_, red) in enumerate(runs) if red]
    shape = [n for n, _ in runs]
    xr = x.reshape(shape)
    if len(reduced) < 2:        # (size-1 dims apart: one reduced run)
        return torch_sum(xr, tuple(reduced), False) if reduced else xr + 0.0
    inner = reduced[-1]
    if inner == len(shape) - 1:
        rows = torch_sum(xr, (inner,), False)
    else:       # a strided run (kept dims closer in memory): torch's scalar row sums
        rows = _row_sum(np.moveaxis(xr, inner, 0))
    # the outer reduced runs keep their axes (all before the inner run), slowest first
    outer = reduced[:-1]
    kept = [k for k in range(rows.ndim) if k not in outer]
    seq = rows.transpose(kept + outer).reshape(-1, int(np.prod([shape[k] for k in outer])))
    return np.add.accumulate(seq, axis=1)[:, -1] + 0.0     # (+0.0: torch's zeroed output)


def _in_memory_order(x, dims):
    """A dense non-contiguous x (a permutation of a contiguous tensor: x.T, x.mT...) as its
    C-contiguous view in memory order with dims renumbered, where torch's iterator adds in the
    same order: it sorts the reduced dims by the input's strides and the kept ones in the output's
    (logical) order, which is memory order when the kept dims are in memory order (always for
    a reduction to one number; dims of size 1 do not count). (None, None) otherwise."""
    if min(x.strides) < 0:
        return None, None
    perm = sorted(range(x.ndim), key=lambda i: -x.strides[i])
    xc = x.transpose(perm)
    if not xc.flags.c_contiguous:
        return None, None
    if dims is None or len(dims) == x.ndim:
        return xc, None
    kept = [i for i in perm if i not in dims and x.shape[i] != 1]
    if kept != sorted(kept):
        return None, None
    return xc, tuple(perm.index(d) for d in dims)


def torch_sum(x, dims, keepdim):
    """x.sum(dims) added in torch's order, or None where that order is not reproduced."""
    if type(x) is not np.ndarray or x.dtype not in _FLOATS or not x.size:
        return None
    if not x.flags.c_contiguous:
        xc, dims_c = _in_memory_order(x, dims)
        if xc is None:
            return None
        r = torch_sum(xc, dims_c, keepdim)
        # (the kept dims other than 1s are in the same order: the result's shape is only
        # reshaped)
        return None if r is None else r.reshape(
            [1 if dims is None or i in dims else n for i, n in enumerate(x.shape)] if keepdim
            else [n for i, n in enumerate(x.shape) if dims is not None and i not in dims])
    lanes = 32 // x.dtype.itemsize
    shape = x.shape
    if dims is not None and len(dims) == 1:
        d = dims[0]
        n = shape[d]
        if n != x.size and d >= 0:      # (a kept dim above 1: not a reduction to one number)
            return _one_dim(x, shape, d, n, keepdim, lanes)
    if dims is None or len(dims) == x.ndim or all(shape[i] == 1 for i in range(x.ndim)
                                                  if i not in dims):
        # (one output element: the reduction to one number, whatever dims are named)
        r = _full(x.reshape(-1), lanes)
        if dims is None:
            return r.reshape((1,) * x.ndim) if keepdim else r
        # (a copy: _full's number can be a view into its partial sums)
        return r.reshape([1 for i in range(x.ndim) if keepdim or i not in dims]).copy()
    if len(dims) != 1:
        d = min(dims)
        if sorted(dims) != list(range(d, d + len(dims))):
            r = _several(x, dims, lanes)
            if r is None:
                return None
            return r.reshape([1 if i in dims else n for i, n in enumerate(x.shape)] if keepdim
                             else [n for i, n in enumerate(x.shape) if i not in dims])
        # adjacent reduced dims of a contiguous tensor coalesce into one in torch's iterator
        merged = x.reshape(x.shape[:d] + (-1,) + x.shape[d + len(dims):])
        r = torch_sum(merged, (d,), keepdim)
        if r is None or not keepdim:
            return r
        return r.reshape(x.shape[:d] + (1,) * len(dims) + x.shape[d + len(dims):])
    d = dims[0] % x.ndim
    return _one_dim(x, shape, d, shape[d], keepdim, lanes)


def _one_dim(x, shape, d, n, keepdim, lanes):
    """torch_sum over the one dim d (of size n) of a C-contiguous x."""
    inner = 1
    for s in shape[d + 1:]:
        inner *= s
    if inner == 1:
        r = _inner_rows(x.reshape(x.size // n, n), lanes)
    else:   # the reduced dim moved first: a view where the passes over it run along long rows,
        # else a transposed copy (NumPy's per-row overhead on short rows costs more than it)
        outer = x.size // (n * inner)
        cols = x.reshape(outer, n, inner).transpose(1, 0, 2)
        r = _outer(cols if inner >= 256 or outer == 1 else np.ascontiguousarray(cols), lanes)
    return r.reshape(shape[:d] + (1,) + shape[d + 1:] if keepdim else shape[:d] + shape[d + 1:])


_PLANS = {}     # (shape, dtype, dims, keepdim) -> planned_sum's plan for them, or None


def planned_sum(x, dims, keepdim):
    """torch_sum(x, dims, keepdim) begun at +0, as torch's sums are (a sum of -0.0s is +0.0),
    for the common small reductions of a C-contiguous float32/float64 x, else None: a plan made
    once per (shape, dtype, dims, keepdim) runs the einsums of their order (each adds onto +0),
    without torch_sum's dispatch. `dims`: None or sorted non-negative dims."""
    if type(x) is not np.ndarray or not x.flags.c_contiguous:
        return None
    key = (x.shape, x.dtype, dims, keepdim)
    try:
        plan = _PLANS[key]
    except KeyError:
        if len(_PLANS) >= 256:
            _PLANS.clear()
        plan = _PLANS[key] = _plan(*key)
    return None if plan is None else plan(x)


def _plan(shape, dtype, dims, keepdim):
    """planned_sum's function of x for these, or None."""
    if dtype not in _FLOATS:
        return None
    size = 1
    for n in shape:
        size *= n
    if dims is None:
        dims = tuple(range(len(shape)))
    if not size or any(d < 0 for d in dims):
        return None
    out = tuple(1 if i in dims else n for i, n in enumerate(shape) if keepdim or i not in dims)
    lanes = 32 // dtype.itemsize
    if all(shape[i] == 1 for i in range(len(shape)) if i not in dims):
        return _full_plan(size, lanes, out) or _any_full_plan(size, lanes, out)
    if len(dims) != 1:
        return None
    d = dims[0]
    n = shape[d]
    inner = size // n
    for k in shape[:d]:
        inner //= k
    if inner > 1:
        o = size // (n * inner)
        return _outer_plan(o, n, inner, lanes, out) or _any_outer_plan(o, n, inner, lanes, out)
    return _inner_plan(size // n, n, lanes, out) or _any_inner_plan(size // n, n, lanes, out)


# The other shapes' plans: torch_sum's own functions for them, without its dispatch
def _any_full_plan(n, lanes, out):
    if n > _GRAIN:          # (split by threads: _full)
        return None

    def plan(x):
        r = _flat_sum(x.reshape(-1), lanes)
        if not r:
            r += 0.0
        return r.reshape(out)
    return plan


def _any_inner_plan(o, n, lanes, out):
    nv = n // lanes
    if nv and nv < 64:      # (_short_rows: o > 1 rows end in an einsum onto +0)
        def plan(x):
            return _short_rows(x.reshape(o, n), lanes, nv).reshape(out)
    else:
        def plan(x):
            r = _inner_rows(x.reshape(o, n), lanes)
            np.add(r, 0.0, out=r)
            return r.reshape(out)
    return plan


def _any_outer_plan(o, n, inner, lanes, out):
    copy = inner < 256 and o > 1        # (as _one_dim)

    def plan(x):
        cols = x.reshape(o, n, inner).transpose(1, 0, 2)
        r = _outer(np.ascontiguousarray(cols) if copy else cols, lanes)
        np.add(r, 0.0, out=r)
        return r.reshape(out)
    return plan


def _full_plan(n, lanes, out):
    """A reduction to one number (_flat_sum) of whole groups of 4 vectors: s of them, fewer
    than 16 or whole blocks of 16 (fewer than 256 groups: one chunk, no deeper cascade)."""
    nv = n // lanes
    s, w = nv >> 2, 4 * lanes
    if n != nv * lanes or nv != 4 * s or not s or s >= 256 or s > 16 and s % 16:
        return None
    if s == 1:
        def plan(x):
            return _lanes_in_order(einsum("jl->l", x.reshape(4, lanes)), out)
    elif s <= 16:
        def plan(x):
            return _lanes_in_order(einsum("jl->l", einsum("tw->w", x.reshape(s, w))
                                          .reshape(4, lanes)), out)
    else:
        g = s >> 4

        def plan(x):
            p = einsum("gw->w", einsum("gtw->gw", x.reshape(g, 16, w)))
            return _lanes_in_order(einsum("jl->l", p.reshape(4, lanes)), out)
    return plan


def _lanes_in_order(q, out):
    """The lanes q of a reduction to one number added in order, from +0, shaped `out` (in its
    own array: see _flat_sum)."""
    r = np.asarray(np.add.accumulate(q)[-1])
    if not r:
        r += 0.0
    return r.reshape(out)


def _inner_plan(o, n, lanes, out):
    """o > 1 rows of n (_short_rows) in whole groups of 4 vectors, fewer than 16 groups."""
    nv = n // lanes
    s = nv >> 2
    if n != nv * lanes or nv != 4 * s or not s or s >= 16:
        return None
    if s == 1:
        def plan(x):
            return einsum("lo->o", einsum("oal->lo", x.reshape(o, 4, lanes), order="C")) \
                .reshape(out)
    else:
        w = 4 * lanes

        def plan(x):
            p = einsum("osw->ow", x.reshape(o, s, w)).reshape(o, 4, lanes)
            return einsum("lo->o", einsum("oal->lo", p, order="C")).reshape(out)
    return plan


def _outer_plan(o, n, inner, lanes, out):
    """A dim of n with inner > 1 elements after it (_outer), its columns in whole blocks of
    4 vectors (of 4 where fewer than a vector): _cascade's levels in x's own layout, each an
    einsum adding the rows of its blocks in order (onto +0), the accumulators of the rows after
    the last whole block of a level only where there are such rows (an empty one adds +0)."""
    block = 4 * lanes if inner >= lanes else 4
    if inner % block:
        return None
    power = max(4, (n - 1).bit_length() // 4)
    step = 1 << power
    if n < step:
        def plan(x):
            return einsum("oni->oi", x.reshape(o, n, inner)).reshape(out)
        return plan
    g0 = n // step                  # blocks of rows: chunks, acc[0] the rows after them
    if g0 < step:
        def plan(x):
            a = x.reshape(o, n, inner)
            r = einsum("ogi->oi", einsum("ogti->ogi", a[:, :g0 * step].reshape(
                o, g0, step, inner)))
            if n > g0 * step:
                r = einsum("oti->oi", a[:, g0 * step:]) + r
            return r.reshape(out)
        return plan
    g1 = g0 // step                 # blocks of chunks: b1, acc[1] the chunks after them
    g2 = g1 // step                 # blocks of b1: b2 (summed: acc[3]), acc[2] the rest

    def plan(x):
        a = x.reshape(o, n, inner)
        c = einsum("ogti->ogi", a[:, :g0 * step].reshape(o, g0, step, inner))
        b1 = einsum("ogti->ogi", c[:, :g1 * step].reshape(o, g1, step, inner))
        r = einsum("oti->oi", a[:, g0 * step:]) if n > g0 * step else None
        for part, full, done in ((c, g0, g1), (b1, g1, g2)):
            if full > done * step:
                acc = einsum("oti->oi", part[:, done * step:])
                r = acc if r is None else r + acc
        if g2:
            acc = einsum("ogi->oi", einsum("ogti->ogi", b1[:, :g2 * step].reshape(
                o, g2, step, inner)))
            r = acc if r is None else r + acc
        return r.reshape(out)
    return plan
