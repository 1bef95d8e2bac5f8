"""Ops on compressed sparse tensors (CSR, CSC, BSR, BSC) against torch: the value-wise unary ops
torch maps over the stored values (and their in-place forms), transposes that switch layout,
sums, row/column selects, zero_, sums and products of two compressed tensors, and torch's
errors for what it refuses (non-zero-preserving ops, comparisons, division, mean, in-place
transposition, contiguous, integer matmul)."""
import warnings

import numpy as np
import pytest
import torch

import ember
from test_sparse_coo_ops import UNARY, _message, outcome

DENSE = [[0., 1.5, 0., -2., 0., 0.], [0.25, 0., 0., 0., 3., 0.],
         [0., 0., 0., 0., 0., 0.], [-0.5, 0., 2., 0., 0., -1.]]
LAYOUTS = {"csr": lambda d: d.to_sparse_csr(), "csc": lambda d: d.to_sparse_csc(),
           "bsr": lambda d: d.to_sparse_bsr((2, 2)), "bsc": lambda d: d.to_sparse_bsc((2, 3)),
           "bsr1": lambda d: d.to_sparse_bsr((1, 1))}
DTYPES = ["float32", "float64", "int64", "bool", "complex64"]
INDEX_ACCESSORS = {"sparse_csr": ("crow_indices", "col_indices"),
                   "sparse_csc": ("ccol_indices", "row_indices"),
                   "sparse_bsr": ("crow_indices", "col_indices"),
                   "sparse_bsc": ("ccol_indices", "row_indices")}


def make(L, layout, dtype, dense=DENSE):
    return LAYOUTS[layout](L.tensor(dense).to(getattr(L, dtype)))


# Known differences: torch checks the dtype of these ops before the layout (ember: the layout
# first, or the dense kernel's own words), so only the exception class is compared ...
MESSAGE_ONLY = {("sign", "complex64"), ("signbit", "complex64"), ("relu", "complex64"),
                ("trunc", "complex64"), ("erf", "complex64"), ("erfinv", "complex64"),
                ("trunc", "bool"), ("ceil", "bool"), ("floor", "bool"), ("round", "bool"),
                ("ceil", "complex64"), ("floor", "complex64"), ("round", "complex64"),
                ("logical_not", None)}
# ... and these raise another class in torch (its dtype error before its layout error)
CLASS_DIFFERS = {("bitwise_not", "float32"), ("gt0", "complex64")}


def check(e, t, message=True):
    """ember's outcome against torch's: the same exception class and message, or the same
    layout, shape, dtype, index arrays, values and grad_fn name (dense results by value)."""
    if isinstance(t, Exception):
        assert type(e) is type(t), (e, t)
        if message:
            assert _message(e) == _message(t)
        return
    assert not isinstance(e, Exception), (e, t)
    if not isinstance(t, torch.Tensor):
        assert e == t
        return
    layout = repr(t.layout).split(".")[-1]
    assert repr(e.layout).split(".")[-1] == layout
    assert (tuple(e.shape), repr(e.dtype)) == (tuple(t.shape), repr(t.dtype))
    tf, ef = t.grad_fn, e.grad_fn
    assert (None if tf is None else type(tf).__name__) == (None if ef is None else ef.name())
    if layout == "sparse_coo":
        assert e._indices().tolist() == t._indices().tolist()
        assert e.is_coalesced() == t.is_coalesced()
        e, t = e._values(), t._values()
    elif layout != "strided":
        for accessor in INDEX_ACCESSORS[layout]:
            assert getattr(e, accessor)().tolist() == getattr(t, accessor)().tolist()
        e, t = e.values(), t.values()
    assert tuple(e.shape) == tuple(t.shape)
    torch.testing.assert_close(torch.from_numpy(np.array(e.detach().tolist())).reshape(t.shape)
                               if e.numel() else t.detach(), t.detach(), equal_nan=True,
                               check_dtype=False)


def run(fn, layouts=LAYOUTS, dtypes=DTYPES, name=None):
    """fn(L, layout, dtype) on both libraries for each layout and dtype, compared (`name`:
    the op's, for the known differences above)."""
    for layout in layouts:
        for dtype in dtypes:
            if (name, dtype) in CLASS_DIFFERS:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                e = outcome(lambda: fn(ember, layout, dtype))
                t = outcome(lambda: fn(torch, layout, dtype))
            check(e, t, not {(name, dtype), (name, None)} & MESSAGE_ONLY)


@pytest.mark.parametrize("name", UNARY + ["angle", "reciprocal", "bitwise_not", "digamma"])
def test_unary(name):
    """torch maps the zero-preserving ops over the values and refuses the others with its
    unsupported-layout error (ember: comparisons inside the kernels gave a 0-d dense result
    for isnan, and most ops raised)."""
    dtypes = ["float32", "int64", "bool"] if name in ("bitwise_not", "digamma") else DTYPES
    run(lambda L, layout, dt: getattr(make(L, layout, dt), name)(), dtypes=dtypes, name=name)


@pytest.mark.parametrize("name", ["neg_", "abs_", "sin_", "sqrt_", "relu_", "trunc_", "sign_",
                                  "tanh_", "zero_", "square_", "exp_", "t_"])
def test_inplace(name):
    """In-place value-wise ops write the values; zero_ empties the tensor; in-place transposes
    and ops without a compressed kernel raise torch's errors."""
    def fn(L, layout, dt):
        x = make(L, layout, dt)
        r = getattr(x, name)()
        assert r is x
        return x
    run(fn, dtypes=["float32", "int64", "complex64"], name=name.rstrip("_"))


@pytest.mark.parametrize("name", ["t", "transpose", "permute"])
def test_transpose_switches_layout(name):
    """CSR <-> CSC and BSR <-> BSC over the same index arrays (ember gave a COO tensor)."""
    args = {"t": (), "transpose": (0, 1), "permute": (1, 0)}[name]
    run(lambda L, layout, dt: getattr(make(L, layout, dt), name)(*args))
    run(lambda L, layout, dt: getattr(make(L, layout, dt), name)(*args).to_dense())


@pytest.mark.parametrize("dims,keepdim", [(None, False), (0, True), (1, True), (-1, True),
                                          ((0, 1), True), (0, False), (1, False)])
def test_sum(dims, keepdim):
    """Sums: all of a tensor in every layout; over dims (kept) of a CSR tensor a CSR result of
    the rows or columns that have entries, integers in int64 (ember raised)."""
    def fn(L, layout, dt):
        x = make(L, layout, dt)
        return x.sum() if dims is None else x.sum(dims, keepdim=keepdim)
    run(fn, dtypes=["float32", "float64", "int32", "int64", "bool"])
    if dims is not None:
        run(lambda L, layout, dt: make(L, layout, dt).sum(dims, keepdim=keepdim,
                                                           dtype=L.float64),
            layouts=["csr"], dtypes=["float32"])


def test_sum_over_dims_of_a_csr_tensor_that_requires_grad_is_refused():
    x = make(ember, "csr", "float32").requires_grad_()
    with pytest.raises(NotImplementedError, match="requires grad"):
        x.sum(1, keepdim=True)


@pytest.mark.parametrize("key", [0, -1, 3, 7, (slice(None), 0), (0, 1), (1, 4),
                                 (Ellipsis, 5), slice(0, 2)])
def test_select(key):
    """Integer indexing of CSR and CSC tensors (and blocks of one) gives torch's COO rows and
    columns; BSR with larger blocks and slices raise torch's errors. Known differences, where
    torch's view machinery decides: torch refuses the last row of a float32 CSC tensor and
    selects columns of an int64 BSR tensor and of BSC tensors with larger blocks, where ember
    selects (CSC) or refuses (BSR, BSC)."""
    layouts = ["csr", "bsr", "bsr1"] + ([] if key in (-1, 3) else ["csc"])
    dtypes = ["float32"] + ([] if key == (slice(None), 0) else ["int64"])
    run(lambda L, layout, dt: make(L, layout, dt)[key], dtypes=dtypes, layouts=layouts)


def test_select_method():
    run(lambda L, layout, dt: make(L, layout, dt).select(1, 0), dtypes=["float32"],
        layouts=["csr", "csc", "bsr", "bsr1"])


OTHER_DENSE = [[1., 0., 0., 2., 0., 0.], [0.5, 0., 0., 0., 0., 0.],
               [0., 0., 0., 0., 0., 0.], [0., 0., 0., 0., 0., 4.]]


@pytest.mark.parametrize("op", ["add", "mul"])
def test_two_compressed_tensors(op):
    """x + y of one layout: the union of the stored blocks, common ones summed (ember raised for
    CSC, BSR, BSC); x * y: the common entries of two CSR tensors (ember raised)."""
    def fn(L, layout, dt):
        x, y = make(L, layout, dt), make(L, layout, dt, OTHER_DENSE)
        return x + y if op == "add" else x * y
    # (known difference: torch's sum of two BSR tensors of 1x1 blocks has (nnz,) values, a
    # tensor its own to_dense refuses, where ember keeps (nnz, 1, 1) blocks)
    run(fn, layouts=[k for k in LAYOUTS if k != "bsr1" or op == "mul"])
    run(lambda L, layout, dt: (lambda x: x + x)(make(L, layout, dt)))


@pytest.mark.parametrize("name", ["mul2", "div2", "eq0", "gt0", "ne_self", "mean", "mean0",
                                  "contiguous", "matmul", "to_csc", "isfinite", "to_float",
                                  "nan_to_num"])
def test_refusals_and_scalars(name):
    """Multiplication by a number keeps the pattern; division, comparisons, mean and
    contiguous raise torch's errors (ember divided, and `x == 0` gave a 0-d dense False);
    integer matmul has no MKL kernel in torch; BSR/BSC do not convert to CSC; complex values
    cast to a real dtype keep the pattern."""
    fns = {"mul2": lambda x, L: x * 2, "div2": lambda x, L: x / 2, "eq0": lambda x, L: x == 0,
           "gt0": lambda x, L: x > 0, "ne_self": lambda x, L: x != x,
           "mean": lambda x, L: x.mean(), "mean0": lambda x, L: x.mean(0),
           "contiguous": lambda x, L: x.contiguous(),
           "matmul": lambda x, L: x @ L.ones(6, 2, dtype=x.dtype),
           "to_csc": lambda x, L: x.to_sparse_csc(), "isfinite": lambda x, L: x.isfinite(),
           "to_float": lambda x, L: x.float(), "nan_to_num": lambda x, L: x.nan_to_num()}
    run(lambda L, layout, dt: fns[name](make(L, layout, dt), L),
        dtypes=["float32", "int64", "complex64"], name=name)


COO_OPS = {"mean": lambda x: x.mean(), "mean0": lambda x: x.mean(0),
           "square_bool": lambda x: x.bool().square(), "contiguous": lambda x: x.contiguous(),
           "any": lambda x: x.any(), "any_empty": lambda x: (x * 0).coalesce().any(),
           "any0": lambda x: x.any(0), "all": lambda x: x.all(), "float": lambda x: x.float(),
           "expand": lambda x: x.expand(2, 4, 6), "expand_same": lambda x: x.expand(4, 6),
           "repeat": lambda x: x.repeat(2, 1), "tile": lambda x: x.tile(2)}


@pytest.mark.parametrize("name", COO_OPS)
def test_coo(name):
    """Sparse COO tensors too: no mean kernel (ember averaged), square of a bool tensor and
    contiguous refused, any() of the stored values and complex values cast to a real dtype
    (ember raised), expand/repeat refused in torch's words."""
    for dt in ("float32", "int64", "complex64"):
        e = outcome(lambda: COO_OPS[name](ember.tensor(DENSE).to(getattr(ember, dt)).to_sparse()))
        t = outcome(lambda: COO_OPS[name](torch.tensor(DENSE).to(getattr(torch, dt)).to_sparse()))
        check(e, t)


# ---- arguments ember ignored -------------------------------------------------------------------
INVARIANT_CASES = [([0, 2, 1], [0, 1], (2, 2)), ([1, 1, 2], [0, 1], (2, 2)),
                   ([0, 1, 2], [0, 5], (2, 2)), ([0, 2, 2], [1, 0], (2, 2)),
                   ([0, 2, 2], [1, 1], (2, 2)), ([0, 2, 1, 2], [0, 1], (3, 3)),
                   ([0, 1], [0], (2, 2)), ([0, 3, 3], [0, 1, 2], (2, 2)),
                   ([0, 1, 2], [0, 1], (2, 2)), ([0, 0, 0], [], (2, 2)),
                   ([0, 1, 2], [0, -1], (2, 2))]


def _said(result):
    return (type(result).__name__, str(result)) if isinstance(result, Exception) else "ok"


@pytest.mark.parametrize("layout", ["sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc"])
def test_constructor_invariant_checks(layout):
    """check_invariants=True (or torch.sparse.check_sparse_tensor_invariants) validates the
    index arrays with torch's checks, in its order (ember accepted every case)."""
    def make(L, compressed, plain, size, check):
        vals = L.ones(len(plain)) if layout in ("sparse_csr", "sparse_csc") else \
            L.ones(len(plain), 1, 1)
        args = (L.tensor(compressed), L.tensor(plain, dtype=L.int64), vals, size)
        if check is None:
            with L.sparse.check_sparse_tensor_invariants():
                return L.sparse_compressed_tensor(*args, layout=getattr(L, layout))
        return L.sparse_compressed_tensor(*args, layout=getattr(L, layout),
                                          check_invariants=check)
    for case in INVARIANT_CASES:
        for check in (True, None, False):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                e = outcome(lambda: make(ember, *case, check))
                t = outcome(lambda: make(torch, *case, check))
            assert _said(e) == _said(t), (case, check)


def test_to_dense_masked_grad():
    """to_dense(masked_grad=False) hands the sparse input the whole gradient's nonzero entries
    (ember masked it at the input's pattern whatever the argument)."""
    def run(L):
        out = []
        for make in (lambda: L.tensor([[0., 2.], [3., 0.]]).to_sparse(),
                     lambda: L.sparse_coo_tensor([[0, 1]], L.tensor([[1., 2.], [3., 4.]]), (2, 2)),
                     lambda: L.sparse_coo_tensor([[1, 0, 1]], L.tensor([1., 2., 3.]), (3,)),
                     lambda: L.tensor([[0., 2.], [3., 0.]]).to_sparse_csr()):
            for masked in (None, True, False):
                s = make().requires_grad_()
                d = s.to_dense() if masked is None else s.to_dense(masked_grad=masked)
                w = L.tensor([[1., 2.], [3., 0.]]) if d.ndim == 2 else L.tensor([0., 5., 7.])
                (d * w).sum().backward()
                g = s.grad
                out.append((masked, d.grad_fn.name() if isinstance(d, ember.Tensor) else
                            type(d.grad_fn).__name__, repr(g.layout).split(".")[-1],
                            g.to_dense().tolist(),
                            g.is_coalesced() if g.layout == L.sparse_coo else None))
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run(ember) == run(torch)


def test_gather_sparse_grad():
    """gather(sparse_grad=True) gives the input torch's uncoalesced COO gradient, one entry
    per gathered element (ember's was dense), accumulated over backward calls as torch's.
    (Known difference: a second backward whose gradient was expanded from a sum concatenates
    the entries in ember where torch's merges some of them.)"""
    def run(L):
        out = []
        x = L.tensor([[1., 2., 3.], [4., 5., 6.]], requires_grad=True)
        for dim, idx in ((1, [[0, 0], [2, 1]]), (0, [[1, 0, 1]]), (1, [[2], [2]])):
            for _ in range(2):
                y = L.gather(x, dim, L.tensor(idx), sparse_grad=True)
                y.backward(L.arange(1., y.numel() + 1).reshape(y.shape))
                g = x.grad
                out.append((repr(g.layout), g._indices().tolist(), g._values().tolist(),
                            g.is_coalesced(), y.tolist()))
            x.grad = None
        x3 = L.arange(12.).reshape(2, 3, 2).requires_grad_()
        y = x3.gather(2, L.tensor([[[1], [0], [1]], [[0], [0], [1]]]), sparse_grad=True)
        y.sum().backward()
        out.append((x3.grad._indices().tolist(), x3.grad._values().tolist()))
        return out
    assert run(ember) == run(torch)


@pytest.mark.filterwarnings("ignore:Sparse")
@pytest.mark.parametrize("layout", ["csr", "csc", "bsr", "bsc"])
def test_save_load_both_ways(layout):
    """torch's _rebuild_sparse_tensor(layout, (compressed, plain, values, size)) form: ember
    reads torch's files (it refused them) and torch reads ember's (legacy format too)."""
    import io
    for src, dst in ((torch, ember), (ember, torch)):
        for kw in ({}, {"_use_new_zipfile_serialization": False}):
            obj = {"a": make(src, layout, "float32"), "b": make(src, layout, "float64")}
            obj["again"] = obj["a"]
            buf = io.BytesIO()
            src.save(obj, buf, **kw)
            got = dst.load(io.BytesIO(buf.getvalue()))     # weights_only: in the allowlist
            assert got["again"] is got["a"]
            for key in ("a", "b"):
                other = make(src, layout, "float32" if key == "a" else "float64")
                check(*((got[key], other) if dst is ember else (other, got[key])))


@pytest.mark.filterwarnings("ignore:Sparse")
@pytest.mark.parametrize("layout", ["sparse_coo", "sparse_csr", "sparse_bsc"])
def test_load_checks_invariants_only_when_asked(layout):
    """torch validates loaded sparse tensors under check_sparse_tensor_invariants only."""
    import io
    if layout == "sparse_coo":
        bad = torch.sparse_coo_tensor(torch.tensor([[0, 5]]), torch.ones(2), (2,),
                                      check_invariants=False)
    else:
        vals = torch.ones(2) if layout == "sparse_csr" else torch.ones(2, 1, 1)
        bad = torch.sparse_compressed_tensor(torch.tensor([0, 1, 2]), torch.tensor([0, 5]),
                                             vals, (2, 2), layout=getattr(torch, layout),
                                             check_invariants=False)
    buf = io.BytesIO()
    torch.save(bad, buf)
    for L in (ember, torch):
        loaded = L.load(io.BytesIO(buf.getvalue()))
        assert loaded._nnz() == 2
    results = []
    for L in (ember, torch):
        with L.sparse.check_sparse_tensor_invariants():
            results.append(_said(outcome(lambda: L.load(io.BytesIO(buf.getvalue())))))
    assert results[0] == results[1] and results[0][0] == "RuntimeError", results
