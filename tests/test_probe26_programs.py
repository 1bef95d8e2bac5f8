"""Ordinary PyTorch programs, round 26 (sparse COO and CSR tensors, nested tensors, torch.masked,
torch.fx tracing, nn.utils parametrizations, pruning, norms and clipping, packed sequences at
their edges, window functions, checkpointing, torch.testing.assert_close's messages, Tensor
subclasses with __torch_function__, the type promotion of in-place ops and out=, and printing
under set_printoptions) run under ember and torch from the same seed: everything they record
must agree (the harness is rounds 17 and 18's)."""

from probe_registry import Programs, log_outcome as _err
from test_probe17_programs import _module
from test_probe18_programs import _check

PROGRAMS = Programs()


# the 'beta state', 'invariant checks' and 'prototype stage' warnings of sparse and nested
# tensors, which prototype programs silence as users do (torch gives them for each tensor it
# makes on the way: sparse.mm's CSR temporaries, each op's nested result)
_PROTOTYPE = ("Sparse .* beta state", "Sparse invariant checks",
              "The PyTorch API of nested tensors")


def program(tol=None, xfail=None, prototype=False):
    """Registers a program run with every warning given each time (always_warn)."""
    return PROGRAMS.always(tol, xfail, _PROTOTYPE if prototype else ())


_ULP = 1e-6


def _kind(log, fn):
    """Runs fn, logging only the class of what it raised (torch's dispatcher messages list
    every backend of the build)."""
    try:
        fn()
    except Exception as e:
        log("raised", type(e).__name__)
    else:
        log("ran")


# ---- sparse COO and CSR -------------------------------------------------------------------

@program(prototype=True)
def coo_creation_coalesce_and_accessors(torch, log):
    i = torch.tensor([[0, 1, 1, 0, 2], [2, 0, 0, 2, 1]])
    v = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    s = torch.sparse_coo_tensor(i, v, (3, 3))
    log(s.is_coalesced(), s._nnz(), str(s.layout), s.sparse_dim(), s.dense_dim(), s.shape)
    c = s.coalesce()
    log(c.is_coalesced(), c.indices(), c.values(), c._nnz(), c.to_dense(), s.to_dense())
    log(torch.sparse_coo_tensor(i, v).shape, torch.sparse_coo_tensor(i, v, (3, 4)).size(),
        s.dtype, torch.sparse_coo_tensor(i, torch.arange(5), (3, 3)).dtype,
        torch.sparse_coo_tensor(i, v, (3, 3), dtype=torch.float64).coalesce().values())
    _err(log, lambda: s.indices())
    _err(log, lambda: s.values())
    for ii in (i.int(), i.float() + 0.7, i.to(torch.int16), i.double() - 0.2, i.bool().long()):
        log(torch.sparse_coo_tensor(ii, v, (3, 3)).coalesce().indices())
    _err(log, lambda: torch.sparse_coo_tensor(i, v, (2, 2), check_invariants=True))
    _err(log, lambda: torch.sparse_coo_tensor(i - 1, v, check_invariants=True))
    _err(log, lambda: torch.sparse_coo_tensor(i, v[:4], (3, 3)))


@program(prototype=True)
def coo_hybrid_and_dense_conversion(torch, log):
    d = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    s = d.to_sparse()
    log(s.indices(), s.values(), s.is_coalesced(), s.to_dense())
    h = torch.arange(12.0).reshape(3, 4) * torch.tensor([[1.0], [0.0], [1.0]])
    hs = h.to_sparse(1)
    log(hs.sparse_dim(), hs.dense_dim(), hs.indices(), hs.values(), hs.to_dense())
    log(d.to_sparse_coo().values(), s.coalesce().to_dense().sum(),
        torch.zeros(2, 3).to_sparse()._nnz())
    _err(log, lambda: d.to_sparse(3))


@program(prototype=True)
def coo_arithmetic_and_reductions(torch, log):
    i = torch.tensor([[0, 1, 2, 2], [1, 0, 2, 2]])
    a = torch.sparse_coo_tensor(i, torch.tensor([1.0, -2.0, 3.0, 4.0]), (3, 3))
    b = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 5.0], [0.0, 0.0, 1.0]]).to_sparse()
    log((a + b).coalesce().to_dense(), (a * 2).to_dense(), (a - b).to_dense(),
        (a * b).to_dense(), torch.sparse.sum(a), torch.sparse.sum(a, dim=0).to_dense(),
        torch.sparse.sum(a, dim=1).to_dense(), a.sum(), (-a).to_dense(), a.abs().to_dense(),
        a.neg().coalesce().values())
    log(a.t().to_dense(), a.transpose(0, 1).coalesce().indices(), a.coalesce().pow(2).to_dense(),
        str((a + torch.ones(3, 3)).layout), (torch.ones(3, 3) + a).to_dense())
    _err(log, lambda: a + torch.ones(3, 3).to_sparse()[:2])
    _kind(log, lambda: a.view(9))


@program(tol=_ULP, prototype=True)
def sparse_matmul_addmm_and_autograd(torch, log):
    i = torch.tensor([[0, 1, 1, 2], [0, 0, 2, 1]])
    s = torch.sparse_coo_tensor(i, torch.tensor([1.0, 2.0, -1.0, 0.5]), (3, 3),
                                requires_grad=True)
    d = torch.randn(3, 2, requires_grad=True)
    y = torch.sparse.mm(s, d)
    y.sum().backward()
    log(y, d.grad, str(s.grad.layout), s.grad.coalesce().to_dense())
    log(torch.sparse.addmm(torch.ones(3, 2), s.detach(), d.detach(), beta=0.5, alpha=2.0),
        torch.mm(s.detach(), d.detach()), s.detach() @ d.detach(),
        torch.matmul(s.detach(), d.detach()[:, 0]))
    m = torch.randn(3, 3).relu().to_sparse()
    log(torch.sparse.mm(m, m).to_dense(), torch.spmm(m, torch.eye(3)))
    _err(log, lambda: torch.sparse.mm(s.detach(), torch.ones(2, 2)))


@program(prototype=True)
def csr_creation_and_accessors(torch, log):
    crow = torch.tensor([0, 2, 2, 3])
    col = torch.tensor([0, 2, 1])
    val = torch.tensor([1.0, 2.0, 3.0])
    s = torch.sparse_csr_tensor(crow, col, val, (3, 3))
    log(str(s.layout), s.crow_indices(), s.col_indices(), s.values(), s.to_dense(), s._nnz(),
        s.shape, s.dtype)
    d = torch.tensor([[0, 5, 0], [0, 0, 0], [7, 0, 8]])
    c = d.to_sparse_csr()
    log(c.crow_indices(), c.col_indices(), c.values(), c.to_dense(), c.to_sparse().indices(),
        d.to_sparse().to_sparse_csr().crow_indices(), c.crow_indices().dtype)
    log(torch.sparse_csr_tensor(crow, col, val).shape)
    _err(log, lambda: torch.sparse_csr_tensor(torch.tensor([0, 2, 1, 3]), col, val, (3, 3),
                                                   check_invariants=True))
    _err(log, lambda: torch.sparse_csr_tensor(crow, torch.tensor([0, 5, 1]), val, (3, 3),
                                                   check_invariants=True))
    _err(log, lambda: s.indices())


@program(tol=_ULP, prototype=True)
def csr_matmul_and_ops(torch, log):
    d = torch.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    c = d.to_sparse_csr()
    x = torch.randn(3, 4)
    log(c @ x, torch.mm(c, x), torch.addmm(torch.zeros(2, 4), c, x), (c * 2).to_dense(),
        str(c.t().layout), torch.sparse.mm(c, x),
        c.matmul(torch.ones(3)), (c + c).to_dense())
    log(c.sum(), str(c.to_sparse_csc().layout), c.to_sparse_csc().ccol_indices(),
        c.to_sparse_csc().row_indices(), c.to_sparse_csc().to_dense())


@program(prototype=True)
def sparse_printing(torch, log):
    i = torch.tensor([[0, 1], [2, 0]])
    s = torch.sparse_coo_tensor(i, torch.tensor([1.5, -2.0]), (2, 3))
    print(s)
    print(s.coalesce())
    print(torch.sparse_coo_tensor(i, torch.tensor([1, 2]), (2, 3), dtype=torch.int32))
    print(s.to_sparse_csr())
    print(torch.zeros(2, 2).to_sparse())
    print(torch.sparse_coo_tensor(i, torch.tensor([1.5, -2.0]), (2, 3), requires_grad=True))
    print(repr(torch.tensor([[0.0, 1.0]]).to_sparse_csr().to_sparse_csc()))


@program(prototype=True)
def sparse_errors_users_hit(torch, log):
    s = torch.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse()
    _err(log, lambda: s[0])
    _err(log, lambda: s.stride())
    _err(log, lambda: s.to_sparse_csr().stride())
    _err(log, lambda: s.numpy())
    _kind(log, lambda: s.view(4))
    _err(log, lambda: torch.sparse.mm(torch.ones(2, 2), s))
    _err(log, lambda: s.to_sparse_csr().to_sparse(sparse_dim=1))
    log(s.is_sparse, s.to_dense().is_sparse, s.to_sparse_csr().is_sparse_csr, s.is_sparse_csr)



@program(tol=_ULP, prototype=True)
def sparse_softmax_mask_and_select(torch, log):
    i = torch.tensor([[0, 0, 1, 2], [0, 2, 1, 2]])
    s = torch.sparse_coo_tensor(i, torch.tensor([1.0, 2.0, 3.0, -1.0]), (3, 3)).coalesce()
    log(torch.sparse.softmax(s, 1).to_dense(), torch.sparse.log_softmax(s, 0).to_dense(),
        torch.ones(3, 3).sparse_mask(s).to_dense(),
        s.index_select(0, torch.tensor([2, 0])).to_dense(),
        s.index_select(1, torch.tensor([1])).to_dense(), s.narrow_copy(0, 1, 2).to_dense(),
        torch.cat([s, s], 1).to_dense().shape, torch.stack([s, s]).shape,
        s.to_dense().to_sparse().indices(), s.double().dtype, s.float().is_sparse,
        torch.sparse.spdiags(torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([0]), (3, 3)).to_dense())
    _err(log, lambda: torch.sparse.softmax(s, 2))
    _err(log, lambda: torch.ones(2, 2).sparse_mask(s))


@program(tol=_ULP, prototype=True)
def sparse_values_autograd_and_zero_grad(torch, log):
    i = torch.tensor([[0, 1, 1], [1, 0, 0]])
    v = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    s = torch.sparse_coo_tensor(i, v, (2, 2))
    d = s.to_dense()
    (d * torch.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    log(v.grad, d, s.grad_fn is not None, d.grad_fn is not None)
    c = s.coalesce()
    log(c.values(), c.values().grad_fn is not None)
    w = torch.randn(2, 3, requires_grad=True)
    out = torch.sparse.mm(s, w)
    out.pow(2).sum().backward()
    log(w.grad, v.grad)
    x = torch.tensor([[0.0, 2.0], [3.0, 0.0]], requires_grad=True)
    y = x.to_sparse()
    y.to_dense().sum().backward()
    log(x.grad)
    z = torch.sparse.sum(torch.sparse_coo_tensor(i, v * 2, (2, 2)))
    z.backward()
    log(z, v.grad)


@program(prototype=True)
def sparse_bsr_and_compressed(torch, log):
    d = torch.tensor([[1.0, 2.0, 0.0, 0.0], [3.0, 4.0, 0.0, 0.0], [0.0, 0.0, 5.0, 6.0],
                      [0.0, 0.0, 7.0, 8.0]])
    b = d.to_sparse_bsr((2, 2))
    log(str(b.layout), b.crow_indices(), b.col_indices(), b.values().shape, b.to_dense(),
        d.to_sparse_bsc((2, 2)).ccol_indices(), d.to_sparse_bsc((2, 2)).row_indices())
    print(b)
    c = torch.sparse_compressed_tensor(torch.tensor([0, 1, 2]), torch.tensor([1, 0]),
                                       torch.tensor([5.0, 6.0]), (2, 2), layout=torch.sparse_csc)
    log(c.to_dense(), str(c.layout), c.to_sparse_csr().to_dense(), c.values(), c.dtype)
    _err(log, lambda: d.to_sparse_bsr((3, 3)))
    _err(log, lambda: d.to_sparse_bsr(2))
    _err(log, lambda: torch.sparse_compressed_tensor(torch.tensor([0, 1]), torch.tensor([0]),
                                                     torch.tensor([1.0]), (1, 1)))



@program(prototype=True)
def sparse_comparisons_and_coo_to_csr_grad(torch, log):
    c = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]]).to_sparse().requires_grad_()
    _kind_msg = []
    for f in (lambda: c > 1, lambda: 1 < c, lambda: c != 0, lambda: c.detach() == c.detach(),
              lambda: torch.ones(2, 3) < c.detach(), lambda: c.detach().le(torch.tensor(2.0)),
              lambda: torch.ge(c.detach(), 1.5)):
        try:
            f()
        except NotImplementedError as e:        # (torch's message goes on to list backends)
            _kind_msg.append(str(e).split(" with arguments")[0])
    log(_kind_msg)
    r = c.to_sparse_csr()
    log(r.grad_fn.name(), r.requires_grad, c.detach().to_sparse_csr().requires_grad)
    (r.to_dense() * torch.tensor([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])).sum().backward()
    log(str(c.grad.layout), c.grad.coalesce().indices(), c.grad.coalesce().values())
    c.grad = None
    r2 = c.to_sparse(layout=torch.sparse_csr)
    torch.sparse.mm(r2, torch.ones(3, 2)).sum().backward()
    log(r2.grad_fn.name(), c.grad.coalesce().values())


# ---- nested tensors -----------------------------------------------------------------------

@program(prototype=True)
def nested_strided_basics(torch, log):
    a, b = torch.arange(3.0), torch.arange(5.0) * 2
    nt = torch.nested.nested_tensor([a, b])
    print(nt)
    log(nt.is_nested, str(nt.layout), nt.dim(), nt.size(0), nt.dtype, nt.requires_grad,
        nt.unbind(), nt.to_padded_tensor(-1.0), nt.to_padded_tensor(0.0, (2, 6)),
        torch.nested.to_padded_tensor(nt, 7.0), nt.is_contiguous())
    a[0] = 100.0                          # nested_tensor copies its inputs
    log(nt.unbind()[0], [t.shape for t in nt.unbind()], len(nt.unbind()))
    m = torch.nested.nested_tensor([torch.ones(2, 3), torch.zeros(4, 3)], dtype=torch.float64)
    log(m.dtype, m.to_padded_tensor(5.0).shape, m.size(2), (m + m).unbind(), (m * 2).unbind()[0],
        m.unbind()[1].dtype)
    _err(log, lambda: nt.shape)
    _err(log, lambda: torch.nested.nested_tensor([torch.ones(2), torch.ones(2, 2)]))
    _err(log, lambda: nt.to_padded_tensor(0.0, (2, 3)))


@program(prototype=True)
def nested_as_nested_and_autograd(torch, log):
    a = torch.ones(2, 3, requires_grad=True)
    b = torch.ones(1, 3, requires_grad=True)
    nt = torch.nested.as_nested_tensor([a, b])
    log(nt.requires_grad, nt.grad_fn is not None)
    p = nt.to_padded_tensor(0.0)
    (p * torch.arange(6.0).reshape(1, 1, 6)[..., :3]).sum().backward()
    log(a.grad, b.grad)
    x = torch.randn(3, 4)
    same = torch.nested.as_nested_tensor(x)
    log([t.shape for t in same.unbind()], same.unbind()[2], torch.nested.nested_tensor(
        [torch.tensor(1.5), torch.tensor(2.5)]).unbind())
    q = torch.nested.nested_tensor([torch.arange(4.0).reshape(2, 2), torch.ones(3, 2)],
                                   requires_grad=True)
    out = q.to_padded_tensor(0.0).pow(2).sum()
    out.backward()
    log(out, q.grad.unbind() if q.grad is not None else None)


@program(tol=_ULP, prototype=True)
def nested_jagged_layout(torch, log):
    j = torch.nested.nested_tensor([torch.arange(6.0).reshape(2, 3), torch.ones(4, 3)],
                                   layout=torch.jagged)
    log(str(j.layout), j.dim(), j.offsets(), j.values().shape, j.values(), j.unbind(),
        j.to_padded_tensor(0.0), j.size(0), j.size(2), j.is_contiguous(), j._ragged_idx,
        j.shape[0], j.shape[2])
    k = torch.nested.nested_tensor_from_jagged(torch.arange(10.0), torch.tensor([0, 3, 10]))
    log(k.offsets(), k.unbind(), k.to_padded_tensor(-1.0), (k * 2).values(), k.sin().unbind()[0],
        torch.nested.as_nested_tensor([torch.ones(2), torch.ones(3)], layout=torch.jagged).unbind())
    # the padding: to the longest component once known (given, or asked for), else to the
    # length of the values
    w = torch.nested.nested_tensor_from_jagged(torch.ones(6, 2), torch.tensor([0, 2, 6]))
    u = w * 2
    log(w.to_padded_tensor(0.0).shape, w.transpose(1, 2).to_padded_tensor(0.0).shape,
        w._max_seqlen, w.to_padded_tensor(0.0).shape, u.to_padded_tensor(0.0).shape,
        torch.nested.nested_tensor_from_jagged(torch.ones(6), torch.tensor([0, 2, 6]),
                                               max_seqlen=5).to_padded_tensor(0.0).shape,
        j.transpose(1, 2).to_padded_tensor(0.0).shape, (j + 1).to_padded_tensor(0.0).shape)
    print(j.offsets(), j.values().dtype)



@program(tol=_ULP, prototype=True)
def nested_strided_ops(torch, log):
    nt = torch.nested.nested_tensor([torch.randn(2, 4), torch.randn(3, 4)])
    lin = torch.nn.Linear(4, 2)
    out = lin(nt)
    log([t.shape for t in out.unbind()], out.unbind()[1], torch.nn.functional.softmax(nt, -1)
        .unbind()[0], nt.transpose(1, 2).unbind()[0].shape, (nt @ torch.ones(4, 1)).unbind()[1],
        torch.matmul(nt, nt.transpose(1, 2)).unbind()[0], nt.relu().unbind()[1], nt.to(
            torch.float64).dtype, nt.size(2), nt.dim(),
        torch.nested.nested_tensor([[1, 2], [3]]).unbind(), nt.clone().unbind()[0].shape,
        (nt * torch.tensor(2.0)).unbind()[0])
    _err(log, lambda: nt.size(1))
    _err(log, lambda: nt.view(-1))
    _err(log, lambda: nt + torch.nested.nested_tensor([torch.ones(2, 4)]))
    _err(log, lambda: nt.unbind(1))
    _err(log, lambda: torch.nested.nested_tensor([torch.ones(2), torch.ones(2, dtype=torch.int64)]))


@program(prototype=True)
def nested_printing(torch, log):
    print(torch.nested.nested_tensor([torch.tensor([1, 2]), torch.tensor([3])]))
    print(torch.nested.nested_tensor([torch.ones(2, 2), torch.zeros(1, 2)], dtype=torch.float64))
    print(torch.nested.nested_tensor([torch.tensor([1.5])], requires_grad=True))
    print(torch.nested.nested_tensor([]))
    j = torch.nested.nested_tensor([torch.ones(2, 3), torch.ones(1, 3)], layout=torch.jagged)
    print(j.size(0), j.size(2), j.dim())
    print(torch.nested.nested_tensor([torch.tensor([True]), torch.tensor([False, True])]))
    log(repr(torch.nested.nested_tensor([torch.tensor(1.0), torch.tensor(2.0)])))



@program(prototype=True)
def nested_component_indexing_grads(torch, log):
    nt = torch.nested.nested_tensor([torch.arange(6.0).reshape(2, 3), torch.ones(1, 3)],
                                    requires_grad=True)
    j = torch.nested.nested_tensor([torch.arange(6.0).reshape(2, 3), torch.ones(1, 3)],
                                   layout=torch.jagged, requires_grad=True)
    log(nt[0], nt[-1].grad_fn.name(), nt[1, 0], j[0], j[-1].grad_fn.name(), j[0, 1],
        [t.grad_fn.name() for t in nt.unbind()])
    (nt[1] * 2).sum().backward()
    (j[0] * 3).sum().backward()
    log(nt.grad.unbind(), j.grad.values())
    _err(log, lambda: nt[2])
    _err(log, lambda: j[2])
    _err(log, lambda: j[-3])


# ---- torch.masked -------------------------------------------------------------------------

@program(tol=_ULP)
def masked_reductions(torch, log):
    x = torch.tensor([[1.0, -2.0, 3.0, 4.0], [5.0, 6.0, -7.0, 8.0]])
    m = torch.tensor([[True, False, True, False], [False, False, True, True]])
    M = torch.masked
    log(M.sum(x, 1, mask=m), M.mean(x, 1, mask=m), M.amax(x, 1, mask=m), M.amin(x, 0, mask=m),
        M.prod(x, 1, mask=m), M.sum(x, mask=m), M.argmax(x, 1, mask=m), M.argmin(x, 1, mask=m),
        M.norm(x, 2.0, 1, mask=m), M.var(x, 1, unbiased=False, mask=m), M.std(x, 1, mask=m),
        M.logsumexp(x, 1, mask=m), M.softmax(x, 1, mask=m), M.log_softmax(x, 1, mask=m),
        M.softmin(x, 1, mask=m), M.normalize(x, 2.0, 1, mask=m), M.cumsum(x, 1, mask=m),
        M.cumprod(x, 1, mask=m), M.sum(x, 1, keepdim=True, mask=m), M.mean(x, 1, mask=None),
        M.sum(x, 1, dtype=torch.float64, mask=m))


@program(tol=_ULP)          # (float32 exp: NumPy's loop, an ulp off torch's in 30-40 % of values)
def masked_tensor_objects(torch, log):
    data = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    mask = torch.tensor([[True, False, True], [False, True, True]])
    mt = torch.masked.masked_tensor(data, mask)
    log(mt.get_data(), mt.get_mask(), type(mt).__name__, mt.shape, mt.dtype)
    s = mt.sum()
    log(s.get_data(), s.get_mask(), mt.sum(1).get_data(), mt.sum(1).get_mask(),
        mt.amax(1).get_data(), (mt * 2).get_data(), (mt + mt).get_mask(),
        mt.exp().get_data().masked_fill(~mt.get_mask(), 0.0), mt.to_tensor(-1.0))
    print(mt)
    _err(log, lambda: torch.masked.masked_tensor(data, mask.int()))
    _err(log, lambda: torch.masked.masked_tensor(data, mask[:1]))


@program(prototype=True, xfail="ember splits a jagged tensor's values at its offsets when it is "
         "made: offsets that end before the values do (0, 1, 2 over 4) give two components, "
         "where torch's unbind raises split_with_sizes' error")
def nested_jagged_offsets_short_of_the_values(torch, log):
    _err(log, lambda: torch.nested.nested_tensor_from_jagged(torch.ones(4),
                                                             torch.tensor([0, 1, 2])).unbind())



@program(tol=_ULP)
def masked_reductions_edges(torch, log):
    M = torch.masked
    x = torch.tensor([[1.0, float("nan"), 3.0], [4.0, 5.0, 6.0]])
    m = torch.tensor([[True, False, True], [False, False, False]])
    row = torch.tensor([True, False, True])          # broadcast over the rows
    log(M.sum(x, 1, mask=m), M.mean(x, 1, mask=m), M.amax(x, 1, mask=m), M.amin(x, 1, mask=m),
        M.var(x, 1, mask=m), M.std(x, 1, mask=m), M.median(x, 1, mask=m),
        M.prod(x, 1, mask=m), M.logsumexp(x, 1, mask=m), M.norm(x, float("inf"), 1, mask=m),
        M.sum(x, 1, mask=row), M.softmax(x, 1, mask=row), M.argmax(x, 1, mask=row),
        M.logaddexp(x[0], x[1], input_mask=m[0], other_mask=row))
    xi = torch.tensor([[1, 2, 3], [4, 5, 6]], dtype=torch.int32)
    log(M.sum(xi, 1, mask=m), M.sum(xi, 1, mask=m).dtype, M.prod(xi, mask=m), M.amax(xi, 1, mask=m),
        M.mean(xi.float(), mask=m), M.cumsum(xi, 1, mask=m).dtype)
    _err(log, lambda: M.sum(x, 1, mask=torch.tensor([True, False])))
    _err(log, lambda: M.sum(x, 5, mask=m))


# ---- torch.fx -----------------------------------------------------------------------------

@program(tol=_ULP)
def fx_trace_small_module(torch, log):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 3)
            self.scale = nn.Parameter(torch.ones(3))

        def forward(self, x, y):
            h = torch.relu(self.lin(x)) * self.scale
            return h.sum(-1) + y.mean(), h.shape[0]

    net = Net()
    gm = torch.fx.symbolic_trace(net)
    x, y = torch.randn(2, 4), torch.randn(5)
    log(gm(x, y), net(x, y), type(gm).__name__, [n.op for n in gm.graph.nodes],
        [n.name for n in gm.graph.nodes], [str(n.target) for n in gm.graph.nodes
                                           if n.op in ("call_module", "get_attr")])
    print(gm.graph)
    print(gm.code)


@program(tol=_ULP)
def fx_graph_edit_and_interpreter(torch, log):
    def f(x):
        y = x + 1
        z = torch.sin(y)
        return z * 2

    gm = torch.fx.symbolic_trace(f)
    for n in gm.graph.nodes:
        if n.op == "call_function" and n.target is torch.sin:
            n.target = torch.cos
    gm.recompile()
    x = torch.tensor([0.0, 1.0, 2.0])
    log(gm(x), torch.fx.Interpreter(gm).run(x), len(list(gm.graph.nodes)),
        [str(n.args) for n in gm.graph.nodes])
    print(gm.code)
    g = torch.fx.Graph()
    a = g.placeholder("a")
    b = g.call_function(torch.add, (a, 3))
    g.output(g.call_method("neg", (b,)))
    m = torch.fx.GraphModule(torch.nn.Module(), g)
    log(m(torch.tensor([1, 2])))
    print(g)
    g.lint()


@program()
def fx_control_flow_errors(torch, log):
    def branchy(x):
        if x.sum() > 0:
            return x
        return -x

    _err(log, lambda: torch.fx.symbolic_trace(branchy))

    def lenny(x):
        return x + len(x)

    _err(log, lambda: torch.fx.symbolic_trace(lenny))

    def concrete(x, flag):
        return x * 2 if flag else x

    gm = torch.fx.symbolic_trace(concrete, concrete_args={"flag": True})
    log(gm(torch.tensor([1.0, 2.0]), True))
    print(gm.code)




@program(tol=_ULP)
def fx_graph_surgery(torch, log):
    fx = torch.fx
    nn = torch.nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Linear(3, 3)
            self.register_buffer("offset", torch.tensor([1.0, 2.0, 3.0]))

        def forward(self, x):
            a = self.conv(x)
            a * 100                 # dead code
            b = a.relu() + self.offset
            return torch.add(b, 1).sum(dim=-1, keepdim=True)

    gm = fx.symbolic_trace(M())
    log([(n.op, n.name, [u.name for u in n.users]) for n in gm.graph.nodes])
    log(gm.graph.eliminate_dead_code(), len(list(gm.graph.nodes)))
    for n in list(gm.graph.nodes):
        if n.op == "call_method" and n.target == "relu":
            with gm.graph.inserting_after(n):
                new = gm.graph.call_function(torch.sigmoid, (n.args[0],))
            n.replace_all_uses_with(new)
            gm.graph.erase_node(n)
    gm.recompile()
    x = torch.randn(2, 3)
    log(gm(x), torch.add(torch.sigmoid(gm.conv(x)) + gm.offset, 1).sum(-1, keepdim=True),
        sorted(gm.state_dict()), str(gm.graph).count("sigmoid"))
    print(gm.code)
    print(gm)


@program(tol=_ULP)
def fx_tracer_leaf_modules_and_replace_pattern(torch, log):
    fx, nn = torch.fx, torch.nn

    class Block(nn.Module):
        def forward(self, x):
            return x * 2

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.block(x) - 1)

    class Leafy(fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return isinstance(m, Block) or super().is_leaf_module(m, qualname)

    net = Net()
    g = Leafy().trace(net)
    log([(n.op, str(n.target)) for n in g.nodes])
    g2 = fx.symbolic_trace(net).graph
    log([(n.op, str(n.target)) for n in g2.nodes])

    def pattern(x):
        return torch.sub(x, 1)

    def replacement(x):
        return torch.add(x, 10)

    def f(x):
        return torch.sub(x, 1) * torch.sub(x + 1, 1)

    gm = fx.symbolic_trace(f)
    matches = fx.subgraph_rewriter.replace_pattern(gm, pattern, replacement)
    log(len(matches), gm(torch.tensor([1.0, 2.0])))
    print(gm.code)


# ---- nn.utils -----------------------------------------------------------------------------

@program(tol=_ULP)
def parametrize_orthogonal_and_custom(torch, log):
    nn, P = torch.nn, torch.nn.utils.parametrize

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(0, 1)

        def right_inverse(self, A):
            return A.triu()

    lin = nn.Linear(3, 3)
    P.register_parametrization(lin, "weight", Symmetric())
    log(P.is_parametrized(lin), P.is_parametrized(lin, "weight"), P.is_parametrized(lin, "bias"),
        torch.allclose(lin.weight, lin.weight.T), type(lin).__name__,
        sorted(n for n, _ in lin.named_parameters()), list(lin.state_dict()))
    lin.weight = torch.arange(9.0).reshape(3, 3)
    log(lin.weight, lin.parametrizations.weight.original)
    with P.cached():
        w1 = lin.weight
        log(w1 is lin.weight)
    log(lin.weight is lin.weight)
    P.remove_parametrizations(lin, "weight", leave_parametrized=True)
    log(P.is_parametrized(lin), type(lin).__name__, lin.weight)
    q = nn.utils.parametrizations.orthogonal(nn.Linear(4, 4))
    w = q.weight
    log((w @ w.T - torch.eye(4)).abs().max() < 1e-5, sorted(n for n, _ in q.named_parameters()))
    _err(log, lambda: P.remove_parametrizations(lin, "weight"))
    _err(log, lambda: P.register_parametrization(nn.Linear(2, 2), "nope", Symmetric()))


@program(tol=_ULP)
def pruning_methods(torch, log):
    nn, prune = torch.nn, _module(torch, "nn.utils.prune")
    lin = nn.Linear(4, 3)
    prune.l1_unstructured(lin, "weight", amount=0.5)
    log(sorted(n for n, _ in lin.named_parameters()), sorted(n for n, _ in lin.named_buffers()),
        lin.weight_mask, (lin.weight == 0).sum(), type(lin._forward_pre_hooks[
            next(iter(lin._forward_pre_hooks))]).__name__)
    prune.random_unstructured(lin, "bias", amount=1)
    prune.ln_structured(lin, "weight", amount=1, n=2, dim=0)
    log(lin.weight_mask, lin.bias_mask, prune.is_pruned(lin))
    prune.remove(lin, "weight")
    log(sorted(n for n, _ in lin.named_parameters()), prune.is_pruned(lin))
    convs = [nn.Conv2d(1, 2, 2), nn.Conv2d(2, 2, 2)]
    prune.global_unstructured([(c, "weight") for c in convs], prune.L1Unstructured, amount=5)
    log([c.weight_mask.sum() for c in convs])
    lin2 = nn.Linear(3, 2)
    prune.custom_from_mask(lin2, "weight", torch.tensor([[1, 0, 1], [0, 1, 1]]))
    prune.identity(lin2, "bias")
    log(lin2.weight_mask, lin2.bias_mask)
    _err(log, lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=1.5))
    _err(log, lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=10))
    _err(log, lambda: prune.remove(nn.Linear(2, 2), "weight"))


@program(tol=1e-5)
def spectral_and_weight_norm(torch, log):
    nn = torch.nn
    sn = nn.utils.spectral_norm(nn.Linear(5, 4))
    x = torch.randn(2, 5)
    sn.train()
    y1 = sn(x)
    sn.eval()
    y2 = sn(x)
    log(y1, y2, sorted(n for n, _ in sn.named_parameters()), sorted(n for n, _ in
                                                                   sn.named_buffers()))
    sn2 = nn.utils.parametrizations.spectral_norm(nn.Linear(5, 4), n_power_iterations=3)
    log(torch.linalg.matrix_norm(sn2.weight, 2) < 1.01, sorted(sn2.state_dict()))
    wn = nn.utils.parametrizations.weight_norm(nn.Linear(3, 2), dim=0)
    log(wn.parametrizations.weight.original0.shape, wn.parametrizations.weight.original1.shape,
        wn(torch.ones(1, 3)))
    old = nn.utils.weight_norm(nn.Linear(3, 2), dim=None)
    log(old.weight_g.shape, old.weight_v.shape, old(torch.ones(1, 3)))
    nn.utils.remove_weight_norm(old)
    log(sorted(n for n, _ in old.named_parameters()))
    _err(log, lambda: nn.utils.parametrizations.weight_norm(nn.Linear(3, 2), dim=3))
    _err(log, lambda: nn.utils.weight_norm(nn.Linear(3, 2), dim=-3))
    log(torch.norm_except_dim(torch.arange(6.0).reshape(2, 3), 2, -2),
        torch.norm_except_dim(torch.arange(6.0).reshape(2, 3), 3, 1))
    _err(log, lambda: nn.utils.remove_spectral_norm(nn.Linear(2, 2)))
    _err(log, lambda: nn.utils.spectral_norm(nn.Linear(2, 2), name="nope"))


@program(tol=_ULP)
def clip_grad_and_vector_utils(torch, log):
    nn = torch.nn
    ps = [nn.Parameter(torch.randn(3, 2)), nn.Parameter(torch.randn(4))]
    for p in ps:
        p.grad = torch.randn_like(p) * 10
    n1 = nn.utils.clip_grad_norm_(ps, 1.0, foreach=True)
    log(n1, [p.grad for p in ps])
    n2 = nn.utils.clip_grad_norm_(ps, 0.5, norm_type="inf", foreach=False)
    log(n2, [p.grad for p in ps])
    nn.utils.clip_grad_value_(ps, 0.1, foreach=True)
    log([p.grad for p in ps], nn.utils.get_total_norm([p.grad for p in ps], 3.0),
        nn.utils.clip_grad_norm_([], 1.0), nn.utils.clip_grad_norm_(ps[0], 1e9))
    v = nn.utils.parameters_to_vector(ps)
    nn.utils.vector_to_parameters(torch.arange(10.0), ps)
    log(v.shape, ps[0], ps[1], ps[0].requires_grad)
    ps[1].grad = torch.tensor([float("nan"), 1.0, 2.0, 3.0])
    _err(log, lambda: nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True))
    log(nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=False), ps[0].grad)
    _err(log, lambda: nn.utils.vector_to_parameters(torch.ones(3), ps))
    _err(log, lambda: nn.utils.parameters_to_vector([torch.ones(2, 2).t()]))


@program(tol=_ULP)
def functional_call_and_stateless(torch, log):
    nn = torch.nn
    functional_call = torch.func.functional_call
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    x = torch.randn(4, 2)
    params = {k: torch.ones_like(v) for k, v in m.named_parameters()}
    out = functional_call(m, params, (x,))
    log(out, m[1].running_mean, m[1].num_batches_tracked)
    out2 = functional_call(m, (params, {"1.running_mean": torch.zeros(2)}), x, strict=False)
    log(out2, m[0].weight.sum() != 4)
    tied = {"0.weight": torch.eye(2)}
    log(functional_call(m.eval(), tied, (x,)), nn.utils.stateless.functional_call(
        m, tied, (x,)))
    _err(log, lambda: functional_call(m, {"0.weight": torch.eye(2)}, (x,), strict=True))
    _err(log, lambda: functional_call(m, ({"0.weight": torch.eye(2)}, {"0.weight": torch.eye(2)}),
                                      (x,)))
    _err(log, lambda: functional_call(m, {"bogus": torch.eye(2)}, (x,), strict=True))


@program(tol=_ULP)
def rnn_packing_edges(torch, log):
    U = torch.nn.utils.rnn
    seqs = [torch.tensor([1.0, 2.0, 3.0]), torch.tensor([4.0]), torch.tensor([5.0, 6.0])]
    padded = U.pad_sequence(seqs, batch_first=True, padding_value=-1.0)
    log(padded, U.pad_sequence(seqs), U.pad_sequence(seqs, padding_side="left", batch_first=True))
    packed = U.pack_sequence(seqs, enforce_sorted=False)
    log(packed.data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
    out, lens = U.pad_packed_sequence(packed, batch_first=True, total_length=5)
    log(out, lens)
    p2 = U.pack_padded_sequence(padded, torch.tensor([3, 1, 2]), batch_first=True,
                                enforce_sorted=False)
    log(p2.data, p2.batch_sizes, U.unpack_sequence(p2), U.unpad_sequence(
        padded, torch.tensor([3, 1, 2]), batch_first=True))
    one = U.pack_sequence([torch.ones(2, 3)])
    log(one.data.shape, one.batch_sizes, one.is_cuda, type(one).__name__, one._fields)
    _err(log, lambda: U.pack_padded_sequence(padded, torch.tensor([3, 1, 2]), batch_first=True))
    _err(log, lambda: U.pack_padded_sequence(padded, torch.tensor([3, 0, 2]), batch_first=True,
                                             enforce_sorted=False))
    _err(log, lambda: U.pad_packed_sequence(packed, total_length=2))
    _err(log, lambda: U.pack_sequence([]))
    _err(log, lambda: U.pad_sequence([torch.ones(2, 3), torch.ones(2, 4)]))


# ---- windows ------------------------------------------------------------------------------

@program(tol=_ULP)
def window_functions(torch, log):
    for n in (0, 1, 2, 5, 8):
        for periodic in (True, False):
            log(n, periodic, torch.hann_window(n, periodic), torch.hamming_window(n, periodic),
                torch.blackman_window(n, periodic), torch.bartlett_window(n, periodic),
                torch.kaiser_window(n, periodic, beta=8.0))
    log(torch.hamming_window(6, True, 0.5, 0.5), torch.hann_window(4, dtype=torch.float64),
        torch.kaiser_window(5, dtype=torch.float64), torch.bartlett_window(3).dtype)
    _err(log, lambda: torch.hann_window(-1))
    _err(log, lambda: torch.hann_window(4, dtype=torch.int64))


@program(tol=_ULP)
def signal_windows(torch, log):
    W = torch.signal.windows
    for n in (1, 4, 7):
        log(n, W.gaussian(n), W.gaussian(n, std=0.5, sym=False), W.exponential(n),
            W.exponential(n, tau=2.0, sym=False), W.cosine(n), W.cosine(n, sym=False),
            W.hann(n), W.hamming(n, sym=False), W.blackman(n), W.bartlett(n), W.kaiser(n, beta=4.0),
            W.nuttall(n), W.general_hamming(n, alpha=0.6), W.general_cosine(n, a=[0.5, 0.3, 0.2]))
    log(W.gaussian(0), W.hann(5, dtype=torch.float64), W.kaiser(3, sym=False))
    _err(log, lambda: W.gaussian(4, std=-1.0))
    _err(log, lambda: W.exponential(4, center=1.0))
    _err(log, lambda: W.hann(-2))
    _err(log, lambda: W.kaiser(4, beta=-1.0))
    _err(log, lambda: W.hann(3, dtype=torch.int32))



@program()
def window_functions_in_2_byte_floats(torch, log):
    # torch computes each step in float32 and rounds it (and each scalar) to the dtype
    for dt in (torch.float16, torch.bfloat16):
        for n in (2, 5, 7, 12, 33):
            for periodic in (True, False):
                log(n, periodic, torch.hann_window(n, periodic, dtype=dt),
                    torch.hamming_window(n, periodic, dtype=dt),
                    torch.hamming_window(n, periodic, 0.6, 0.3, dtype=dt),
                    torch.blackman_window(n, periodic, dtype=dt),
                    torch.bartlett_window(n, periodic, dtype=dt),
                    torch.kaiser_window(n, periodic, 5.0, dtype=dt))
    log(torch.hann_window(6, dtype=torch.float64), torch.bartlett_window(9, dtype=torch.float64))


# ---- checkpointing ------------------------------------------------------------------------

@program(tol=_ULP)
def checkpoint_reentrant_and_not(torch, log):
    cp = _module(torch, "utils.checkpoint")
    checkpoint, checkpoint_sequential = cp.checkpoint, cp.checkpoint_sequential
    nn = torch.nn
    block = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1))
    x = torch.randn(4, 3, requires_grad=True)
    calls = []

    def fn(t):
        calls.append(1)
        return block(t)

    for reentrant in (True, False):
        calls.clear()
        block.zero_grad()
        x.grad = None
        y = checkpoint(fn, x, use_reentrant=reentrant)
        y.sum().backward()
        log(reentrant, y, x.grad, block[0].weight.grad, len(calls))
    y = checkpoint(fn, x)                 # no use_reentrant: warns, reentrant
    log(y.requires_grad)
    z = checkpoint_sequential(block, 2, x, use_reentrant=False)
    log(z)
    with torch.no_grad():
        log(checkpoint(fn, x, use_reentrant=False).requires_grad)
    plain = torch.randn(2, 3)
    log(checkpoint(block, plain, use_reentrant=True).requires_grad)
    _err(log, lambda: checkpoint(fn, x, use_reentrant=False, bogus=1))



@program(tol=_ULP)
def checkpoint_errors_and_warnings(torch, log):
    cp = _module(torch, "utils.checkpoint")
    lin = torch.nn.Linear(2, 2)
    x = torch.randn(3, 2, requires_grad=True)
    y = cp.checkpoint(lin, x, use_reentrant=True)
    _err(log, lambda: torch.autograd.grad(y.sum(), x))
    y2 = cp.checkpoint(lambda t: (t * 2, 5), x, use_reentrant=False)
    log(y2[1], y2[0].grad_fn is not None)
    _err(log, lambda: cp.checkpoint(lin, x, use_reentrant=True, context_fn=cp.noop_context_fn,
                                    debug=True))
    _err(log, lambda: cp.checkpoint(lin, x, use_reentrant=False, determinism_check="bogus"))
    _err(log, lambda: cp.checkpoint_sequential(torch.nn.Sequential(lin, lin), 2, x,
                                               use_reentrant=True, bogus=1))
    z = cp.checkpoint_sequential(torch.nn.Sequential(lin, torch.nn.ReLU(), lin), 2, x)
    log(z.shape)


# ---- torch.testing.assert_close -----------------------------------------------------------

@program()
def assert_close_messages(torch, log):
    T = torch.testing
    a = torch.tensor([1.0, 2.0, 3.0, 4.0])
    _err(log, lambda: T.assert_close(a, a + torch.tensor([0.0, 0.0, 1e-3, 0.5])))
    _err(log, lambda: T.assert_close(a, a.double()))
    _err(log, lambda: T.assert_close(a, a, check_dtype=False) or "same")
    _err(log, lambda: T.assert_close(a, a.reshape(2, 2)))
    _err(log, lambda: T.assert_close(torch.tensor([1, 2]), torch.tensor([1, 3])))
    _err(log, lambda: T.assert_close(torch.tensor([float("nan")]), torch.tensor([float("nan")])))
    _err(log, lambda: T.assert_close(torch.tensor([float("nan")]), torch.tensor([float("nan")]),
                                     equal_nan=True))
    _err(log, lambda: T.assert_close(a, a + 1, rtol=0.0, atol=0.5, msg="custom message"))
    _err(log, lambda: T.assert_close(a, a + 1, rtol=0.0, atol=0.5, msg=lambda m: m.upper()))
    _err(log, lambda: T.assert_close(a, a, rtol=1e-3))
    _err(log, lambda: T.assert_close(1.0, 1.1))
    _err(log, lambda: T.assert_close([a, a], [a, a * 2]))
    _err(log, lambda: T.assert_close({"x": a}, {"y": a}))
    _err(log, lambda: T.assert_close(a, a.tolist()))
    _err(log, lambda: T.assert_close(torch.tensor([True, False]), torch.tensor([True, True])))
    _err(log, lambda: T.assert_close(torch.tensor([1 + 1j]), torch.tensor([1 + 2j])))
    _err(log, lambda: T.assert_close(a.requires_grad_(), a.detach(), check_layout=True))
    _err(log, lambda: T.assert_close(torch.ones(2, 3).t(), torch.ones(3, 2), check_stride=True))
    _err(log, lambda: T.assert_close(torch.ones(3, 3) * 1e6, torch.ones(3, 3) * 1e6 + 1.0))
    _err(log, lambda: T.assert_allclose(a, a + 1))



@program(prototype=True)
def assert_close_sparse_mixed_and_infinities(torch, log):
    import numpy as np
    T = torch.testing
    a = torch.tensor([[1.0, 0.0], [3.0, 4.0]])
    for f in (lambda: T.assert_close(a.to_sparse(), a.to_sparse()),
              lambda: T.assert_close(a.to_sparse(), a),
              lambda: T.assert_close(a.to_sparse(), a, check_layout=False),
              lambda: T.assert_close(a.to_sparse(), (a * 2).to_sparse()),
              lambda: T.assert_close(a.to_sparse(), torch.eye(2).to_sparse()),
              lambda: T.assert_close(a.to_sparse_csr(), a.to_sparse_csr()),
              lambda: T.assert_close(a.to_sparse_csr(), (a + 1).to_sparse_csr()),
              lambda: T.assert_close(a.to_sparse_csr(), torch.eye(2).to_sparse_csr()),
              lambda: T.assert_close(a, a.numpy()),
              lambda: T.assert_close(a.numpy(), a.numpy() + 1),
              lambda: T.assert_close(1, 1.0),
              lambda: T.assert_close(1, 1.0, check_dtype=False),
              lambda: T.assert_close(np.float32(1.0), 1.0),
              lambda: T.assert_close(torch.tensor(float("inf")), torch.tensor(float("-inf"))),
              lambda: T.assert_close(torch.tensor([float("inf"), 1.0]),
                                     torch.tensor([float("-inf"), 1.5])),
              lambda: T.assert_close(torch.tensor([1, 2], dtype=torch.uint8),
                                     torch.tensor([3, 2], dtype=torch.uint8)),
              lambda: T.assert_close(a, a + 1, rtol=0, atol=0),
              lambda: T.assert_close(a.half(), a.float() + 1e-4, check_dtype=False),
              lambda: T.assert_close(torch.ones(2), torch.ones(2), allow_subclasses=False)):
        _err(log, f)


# ---- Tensor subclasses --------------------------------------------------------------------

@program()
def tensor_subclass_torch_function(torch, log):
    seen = []

    class Logged(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            seen.append(getattr(func, "__name__", str(func)))
            return super().__torch_function__(func, types, args, kwargs or {})

    x = torch.tensor([1.0, -2.0, 3.0]).as_subclass(Logged)
    y = x * 2 + 1
    z = torch.relu(y)
    log(type(y).__name__, type(z).__name__, type(z.sum()).__name__, z, type(x[0]).__name__,
        type(x.detach()).__name__, type(x.clone()).__name__, isinstance(y, torch.Tensor),
        type(torch.cat([x, x])).__name__, type(x.tolist()).__name__, type(x.shape).__name__)
    log(seen[:12])
    seen.clear()
    w = torch.tensor([1.0]).as_subclass(Logged)
    w.requires_grad_()
    (w * 3).sum().backward()
    log(type(w.grad).__name__, w.grad, seen[:6])


@program()
def tensor_subclass_unwrap_and_handled(torch, log):
    HANDLED = {}

    class Scalar:
        def __init__(self, n, v):
            self.n, self.v = n, v

        def __repr__(self):
            return f"Scalar(n={self.n}, v={self.v})"

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func not in HANDLED:
                return NotImplemented
            return HANDLED[func](*args, **kwargs)

    def mean(s):
        return float(s.v)

    HANDLED[torch.mean] = mean
    s = Scalar(5, 2)
    log(torch.mean(s))
    _err(log, lambda: torch.sum(s))
    _err(log, lambda: torch.add(s, 1))

    class Meters(torch.Tensor):
        pass

    m = torch.ones(2).as_subclass(Meters)
    log(type(m + 1).__name__, type(torch.add(m, torch.ones(2))).__name__,
        type(torch.ones(2) + m).__name__, type(m.float()).__name__, type(m.numpy()).__name__,
        type(m.sum().item()).__name__, type(torch.stack([m, m])).__name__,
        type(torch.Tensor._make_subclass(Meters, torch.zeros(1))).__name__,
        torch.overrides.has_torch_function((m,)), torch.overrides.is_tensor_like(s))
    log(type(torch.nn.functional.relu(m)).__name__,
        type(torch.nn.Parameter(torch.ones(1))).__name__,
        type(m.new_ones(2)).__name__, type(m.to(torch.float64)).__name__)



@program()
def subclass_deepcopy(torch, log):
    import copy

    class Plain(torch.Tensor):
        pass

    class OwnNewEmpty(torch.Tensor):
        def new_empty(self, *args, **kwargs):
            return super().new_empty(*args, **kwargs).as_subclass(OwnNewEmpty)

    class OwnClone(torch.Tensor):
        def clone(self, *args, **kwargs):
            return super().clone(*args, **kwargs).as_subclass(OwnClone)

    for cls in (Plain, OwnNewEmpty, OwnClone):
        for x in (torch.ones(2).as_subclass(cls), torch.ones(0).as_subclass(cls)):
            _err(log, lambda: type(copy.deepcopy(x)).__name__)
    m = torch.nn.Module()
    m.register_buffer("b", torch.ones(2).as_subclass(Plain))
    _err(log, lambda: copy.deepcopy(m))
    log(type(copy.deepcopy(torch.nn.Parameter(torch.ones(2)))).__name__)



@program()
def torch_function_names_of_namespaced_functions(torch, log):
    class Sub(torch.Tensor):        # (ember dispatches to plain classes once one is defined)
        pass

    class Seen:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return func.__name__

    log(torch.linalg.norm(Seen()), torch.linalg.svd(Seen()), torch.fft.fft(Seen()),
        torch.fft.rfft2(Seen()), torch.add(Seen(), 1), torch.nn.functional.relu(Seen()),
        type(torch.ones(1).as_subclass(Sub)).__name__)


@program()
def fx_namespaced_function_names(torch, log):
    """fx names torch.linalg/fft/special calls as torch's C builtins (torch._C._linalg.
    linalg_norm, node linalg_norm); torch.special.erf is not torch.erf."""
    g = torch.fx.symbolic_trace(lambda x: torch.linalg.norm(x) + torch.fft.fft(x).real.sum() +
                                torch.special.erf(x).sum() + torch.special.expit(x).sum() +
                                torch.linalg.vector_norm(x) + torch.linalg.matmul(x, x) +
                                torch.erf(x).sum() + torch.linalg.inv(torch.eye(2)).sum())
    print(g.code)
    log(g(torch.arange(4.0)))


# ---- type promotion of in-place ops and out= ----------------------------------------------

@program()
def inplace_promotion(torch, log):
    i = torch.tensor([1, 2, 3])
    f = torch.tensor([0.5, 1.5, 2.5])
    b = torch.tensor([True, False, True])
    h = torch.tensor([1.0, 2.0], dtype=torch.float16)
    _err(log, lambda: i.add_(f))
    _err(log, lambda: i.mul_(1.5))
    _err(log, lambda: b.add_(1))
    _err(log, lambda: i.div_(2))
    _err(log, lambda: i.sqrt_())
    log(f.add_(i), f.mul_(2), i.add_(torch.tensor(2.7).long()), i.floor_divide_(2),
        h.add_(torch.tensor([1.0, 1.0])), h.dtype, h.mul_(100000.0), torch.tensor(
            [1, 2], dtype=torch.int8).add_(300), torch.tensor([1.0]).add_(torch.tensor(
                [1 + 1j]).real), b.logical_not_(), b.mul_(True))
    _err(log, lambda: torch.tensor([1.0]).add_(torch.tensor([1 + 1j])))
    u = torch.tensor([250], dtype=torch.uint8)
    log(u.add_(10), u.sub_(20), torch.tensor([3], dtype=torch.int16).pow_(2),
        torch.tensor([7], dtype=torch.int32).remainder_(-3), torch.tensor([5]).bitwise_left_shift_(
            2), torch.tensor([1.0, 2.0]).clamp_(min=torch.tensor([1.5, 1.0])))
    _err(log, lambda: torch.tensor([5]).clamp_(min=1.5))
    _err(log, lambda: torch.tensor([5]).true_divide_(2))
    _err(log, lambda: torch.tensor([1, 2]).lerp_(torch.tensor([3, 4]), 0.5))


@program()
def out_argument_promotion(torch, log):
    a = torch.tensor([1, 2, 3])
    f = torch.tensor([0.5, 1.5, 2.5])
    o64 = torch.empty(3, dtype=torch.float64)
    log(torch.add(a, f, out=o64), o64.dtype, torch.mul(a, 2, out=torch.empty(3)),
        torch.sum(a, 0, out=torch.empty((), dtype=torch.float32)))
    oi = torch.empty(3, dtype=torch.int64)
    _err(log, lambda: torch.add(a, f, out=oi))
    _err(log, lambda: torch.div(a, 2, out=oi))
    log(torch.div(a, 2, rounding_mode="floor", out=oi), oi)
    ob = torch.empty(3, dtype=torch.bool)
    log(torch.gt(f, 1.0, out=ob), torch.gt(f, 1.0, out=torch.empty(3)),
        torch.eq(a, 2, out=torch.empty(3, dtype=torch.int32)))
    _err(log, lambda: torch.abs(f, out=torch.empty(3, dtype=torch.int64)))
    small = torch.empty(1)
    log(torch.add(f, 1, out=small), small.shape)
    _err(log, lambda: torch.mm(torch.ones(2, 2), torch.ones(2, 2),
                               out=torch.empty(2, 2, dtype=torch.float64)))
    log(torch.cat([a, a], out=torch.empty(6, dtype=torch.float32)),
        torch.clamp(a, 0, 2, out=torch.empty(3, dtype=torch.float32)))
    _err(log, lambda: torch.cat([a, f], out=torch.empty(6, dtype=torch.int64)))
    _err(log, lambda: torch.exp(a, out=torch.empty(3, dtype=torch.int64)))
    _err(log, lambda: torch.add(a, a, out=a[:2]))
    log(torch.arange(5, out=torch.empty(2, 3)), torch.arange(0, 1, 0.25, out=torch.empty(3)),
        torch.arange(3, out=torch.empty(3, 1)), torch.arange(3, out=torch.empty(0)),
        torch.linspace(0, 1, 4, out=torch.empty(2, 2)), torch.logspace(0, 1, 4,
                                                                    out=torch.empty(4, 1)),
        torch.linspace(0, 1, 5, out=torch.empty(2)))


# ---- printing under set_printoptions ------------------------------------------------------

@program()
def printoptions_profiles_and_modes(torch, log):
    x = torch.tensor([[1e-5, 123.456, -7.0], [0.1, 2.5e8, float("nan")]])
    try:
        for profile in ("short", "full", "default"):
            torch.set_printoptions(profile=profile)
            print(x)
            print(torch.arange(2000.0))
        torch.set_printoptions(sci_mode=False)
        print(x)
        torch.set_printoptions(sci_mode=True, precision=2)
        print(x, torch.tensor([1.0, 2.0]))
        torch.set_printoptions(sci_mode=None, precision=4, linewidth=30)
        print(torch.arange(12.0) / 7)
        torch.set_printoptions(threshold=5, edgeitems=1)
        print(torch.arange(100).reshape(10, 10))
        print(torch.arange(10.0).reshape(2, 5).to_sparse())
    finally:
        torch.set_printoptions(profile="default")
        torch.set_printoptions(sci_mode=None)
    print(x)


@program(prototype=True)
def printing_complex_bool_half(torch, log):
    try:
        print(torch.tensor([1 + 2j, -0.5 - 1e-4j, float("inf") + 0j]))
        print(torch.tensor([[1 + 1j, 2.25 - 3j]], dtype=torch.complex128))
        print(torch.tensor([True, False]), torch.tensor([], dtype=torch.bool))
        print(torch.tensor([1.5, 65504.0, 1e-4], dtype=torch.float16))
        print(torch.tensor([1.5, 3e38, 1e-4], dtype=torch.bfloat16))
        torch.set_printoptions(precision=2, sci_mode=False)
        print(torch.tensor([1 / 3 + 2j / 3]), torch.tensor([1.0, 1e-8], dtype=torch.float16))
        torch.set_printoptions(linewidth=20)
        print(torch.tensor([True] * 12))
        print(torch.tensor([1 + 1j] * 6))
        torch.set_printoptions(precision=3, sci_mode=True)
        print(torch.tensor([1 + 1j, 1e10 - 2j]), torch.tensor([0.5, 2.0], dtype=torch.float16))
        print(torch.tensor([[1, 0], [0, 2]]).to_sparse_csr().to(torch.float16))
        print(torch.zeros(2, 0, dtype=torch.complex64), torch.tensor(1 + 0j), torch.tensor(True))
    finally:
        torch.set_printoptions(profile="default")
        torch.set_printoptions(sci_mode=None)



# ---- more of each area --------------------------------------------------------------------

@program(tol=_ULP)
def parametrize_stacked_unsafe_and_errors(torch, log):
    nn, P = torch.nn, torch.nn.utils.parametrize

    class Double(nn.Module):
        def forward(self, x):
            return x * 2

    class AddOne(nn.Module):
        def forward(self, x):
            return x + 1

        def right_inverse(self, x):
            return x - 1

    class Flatten(nn.Module):
        def forward(self, x):
            return x.reshape(-1)

    m = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    P.register_parametrization(m, "weight", Double())
    P.register_parametrization(m, "weight", AddOne())
    log(m.weight, len(m.parametrizations.weight), m.parametrizations.weight.original)
    _err(log, lambda: setattr(m, "weight", torch.zeros(2, 2)))
    _err(log, lambda: P.register_parametrization(nn.Linear(2, 2), "weight", Flatten()))
    u = nn.Linear(2, 2)
    P.register_parametrization(u, "weight", Flatten(), unsafe=True)
    log(u.weight.shape)
    P.remove_parametrizations(m, "weight", leave_parametrized=False)
    log(m.weight, type(m.weight).__name__)
    x = torch.ones(1, 2)
    m2 = nn.Linear(2, 1)
    P.register_parametrization(m2, "bias", AddOne())
    m2(x).sum().backward()
    log(m2.parametrizations.bias.original.grad, m2.weight.grad)


@program(tol=_ULP)
def fuse_skip_init_and_memory_format(torch, log):
    nn = torch.nn
    conv, bn = nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    conv.eval(), bn.eval()
    fused = nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
    x = torch.randn(1, 2, 5, 5)
    log((fused(x) - bn(conv(x))).abs().max() < 1e-5, fused.weight.shape, fused.bias.shape)
    lin, bn1 = nn.Linear(3, 4).eval(), nn.BatchNorm1d(4).eval()
    fl = nn.utils.fusion.fuse_linear_bn_eval(lin, bn1)
    log((fl(torch.ones(2, 3)) - bn1(lin(torch.ones(2, 3)))).abs().max() < 1e-6)
    sk = nn.utils.skip_init(nn.Linear, 3, 2)
    log(sk.weight.shape, type(sk).__name__)
    c2 = nn.utils.convert_conv2d_weight_memory_format(nn.Sequential(nn.Conv2d(1, 2, 2)),
                                                      torch.channels_last)
    log(c2[0].weight.is_contiguous(memory_format=torch.channels_last))
    _err(log, lambda: nn.utils.fusion.fuse_conv_bn_eval(conv.train(), bn))


@program(tol=_ULP)
def clip_grad_nonfinite_and_foreach(torch, log):
    nn = torch.nn
    a = nn.Parameter(torch.tensor([3.0, 4.0]))
    b = nn.Parameter(torch.tensor([1.0]))
    a.grad, b.grad = torch.tensor([3.0, 4.0]), torch.tensor([float("inf")])
    _err(log, lambda: nn.utils.clip_grad_norm_([a, b], 1.0, norm_type=2.0,
                                               error_if_nonfinite=True))
    log(nn.utils.clip_grad_norm_([a, b], 1.0), a.grad, b.grad)
    a.grad, b.grad = torch.tensor([3.0, 4.0]), torch.tensor([0.0])
    log(nn.utils.clip_grad_norm_([a, b], 10.0), a.grad, nn.utils.clip_grad_norm_(
        [a, b], 0.0), a.grad)
    a.grad = torch.tensor([3.0, 4.0])
    c = nn.Parameter(torch.ones(1))                   # no grad
    log(nn.utils.clip_grad_norm_([a, c], 2.5, norm_type=1), a.grad, c.grad)
    grads = [torch.tensor([1.0, -2.0]), torch.tensor([2.0])]
    tot = nn.utils.get_total_norm(grads, 2.0, foreach=True)
    nn.utils.clip_grads_with_norm_([a], 1.0, tot)
    log(tot, a.grad, nn.utils.get_total_norm([], 2.0), nn.utils.get_total_norm(grads, 0.0))
    a.grad = torch.tensor([1e30, 1e30])
    log(nn.utils.clip_grad_norm_([a], 1.0), a.grad)
    _err(log, lambda: nn.utils.clip_grad_value_([a], -1.0))


@program(tol=_ULP)
def packed_rnn_unsorted(torch, log):
    U = torch.nn.utils.rnn
    gru = torch.nn.GRU(2, 3, batch_first=True)
    x = torch.randn(3, 4, 2)
    lengths = [2, 4, 1]
    packed = U.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, h = gru(packed)
    pad, lens = U.pad_packed_sequence(out, batch_first=True, padding_value=9.0)
    log(pad, lens, h, packed.to(torch.float64).data.dtype, packed.float().data.dtype)
    lstm = torch.nn.LSTM(2, 2)
    po, (hn, cn) = lstm(U.pack_sequence([torch.ones(3, 2), torch.ones(2, 2)]))
    log(po.batch_sizes, hn, cn)
    same = U.pack_padded_sequence(x, [4, 4, 4], batch_first=True)
    log(same.batch_sizes, same.sorted_indices, same.data.shape)
    _err(log, lambda: U.pack_padded_sequence(x, [2, 2], batch_first=True))
    _err(log, lambda: gru(torch.randn(3, 4, 5)))


@program(tol=_ULP)
def checkpoint_rng_and_nested(torch, log):
    cp = _module(torch, "utils.checkpoint")
    drop = torch.nn.Dropout(0.5)
    x = torch.ones(6, requires_grad=True)

    def f(t):
        return drop(t) * 3

    for reentrant in (True, False):
        for preserve in (True, False):
            x.grad = None
            torch.manual_seed(1)
            y = cp.checkpoint(f, x, use_reentrant=reentrant, preserve_rng_state=preserve)
            torch.rand(3)
            y.sum().backward()
            log(reentrant, preserve, y, x.grad)

    def outer(t):
        return cp.checkpoint(lambda u: u.sin() * 2, t, use_reentrant=False).cos()

    x.grad = None
    z = cp.checkpoint(outer, x, use_reentrant=False)
    z.sum().backward()
    log(z, x.grad)
    kw = cp.checkpoint(lambda t, scale=1.0: t * scale, x, use_reentrant=False, scale=4.0)
    log(kw)


@program()
def subclass_repr_modes_and_disable(torch, log):
    class Tagged(torch.Tensor):
        pass

    t = torch.tensor([1.0, 2.0]).as_subclass(Tagged)
    print(t)
    print(repr(t * 2), torch.tensor([[1]]).as_subclass(Tagged))
    log(str(t.sum()), type(t.sum()).__name__)
    calls = []

    class Spy(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            calls.append(getattr(func, "__name__", "?"))
            return func(*args, **(kwargs or {}))

    with Spy():
        r = torch.ones(2) + torch.zeros(2).exp()
        torch.nn.functional.relu(r)
    log(r, calls)
    with torch._C.DisableTorchFunctionSubclass():
        log(type(t + 1).__name__)
    log(type(t + 1).__name__, torch.overrides.is_tensor_method_or_property(torch.Tensor.add),
        torch.overrides.is_tensor_like(t), torch.overrides.is_tensor_like(3))

    class Param(torch.nn.Parameter):
        pass

    p = Param(torch.ones(2))
    log(type(p).__name__, isinstance(p, torch.nn.Parameter), type(p * 2).__name__,
        p.requires_grad)


@program()
def result_type_and_scalar_promotion(torch, log):
    i8, u8 = torch.tensor([1], dtype=torch.int8), torch.tensor([1], dtype=torch.uint8)
    f16, b = torch.tensor([1.0], dtype=torch.float16), torch.tensor([True])
    z = torch.tensor(2.5, dtype=torch.float64)
    log(torch.result_type(i8, u8), torch.result_type(i8, 1.0), torch.result_type(f16, z),
        torch.result_type(b, 1), torch.result_type(u8, -1), torch.result_type(2, 3.0),
        torch.promote_types(torch.int8, torch.uint8), torch.promote_types(torch.bfloat16,
                                                                           torch.float16),
        torch.promote_types(torch.bool, torch.complex64), torch.can_cast(torch.float32,
                                                                           torch.int32),
        torch.can_cast(torch.int32, torch.float16), torch.can_cast(torch.bool, torch.uint8),
        (i8 + u8).dtype, (f16 + z).dtype, (i8 * 2.5).dtype, (u8 - 2).dtype, (u8 - 2),
        (b + b).dtype, (b * 1.5).dtype, (i8 + torch.tensor(300)).dtype,
        torch.where(b, i8, 2.5).dtype, torch.where(b, u8, i8).dtype, (i8 / i8).dtype,
        (i8 // 2).dtype, (u8 ** 2).dtype, (f16 ** z).dtype, torch.tensor(3) ** -1.0)
    _err(log, lambda: torch.tensor(3) ** -1)
    _err(log, lambda: torch.result_type(i8, "x"))
    _err(log, lambda: torch.result_type([1, 2.5], i8))
    _err(log, lambda: torch.can_cast(torch.int8, None))
    _err(log, lambda: torch.promote_types(torch.int8, "float32"))


@program()
def inplace_with_scalars_and_views(torch, log):
    i = torch.tensor([1, 2, 3], dtype=torch.int32)
    i += True
    i *= 2
    log(i, i.dtype)
    b = torch.tensor([True, False])
    b |= torch.tensor([False, False])
    b &= True
    log(b)
    u = torch.tensor([1, 2], dtype=torch.uint8)
    u -= 3
    log(u)
    f = torch.tensor([1.0, 2.0], dtype=torch.float16)
    f += torch.tensor(1e5, dtype=torch.float64)
    log(f)
    x = torch.zeros(4)
    x[::2] += torch.tensor([1, 2])
    x.view(2, 2)[1] *= 3
    log(x)
    _err(log, lambda: b.__iadd__(2))
    _err(log, lambda: i.__itruediv__(2))
    _err(log, lambda: torch.tensor([1, 2]).__imul__(torch.tensor([0.5])))
    _err(log, lambda: i.__ior__(1.5))
    c = torch.tensor([1 + 1j])
    c *= 2
    c += 1.5
    log(c)
    _err(log, lambda: f.__iadd__(torch.tensor([1j])))


@program()
def printing_parameters_grad_fn_and_extremes(torch, log):
    p = torch.nn.Parameter(torch.tensor([1.0, -2.5]))
    print(p)
    print(p * 2, (p * 2).sum())
    print(torch.tensor([1e-20, 1e20]), torch.tensor([1e-20, 1e20], dtype=torch.float64))
    print(torch.tensor([float("inf"), -float("inf"), float("nan"), 0.0, -0.0]))
    print(torch.tensor([123456789, -5]), torch.tensor([2 ** 62]))
    print(torch.tensor(3.0, requires_grad=True), torch.tensor([], requires_grad=True))
    print(torch.ones(2, 3, dtype=torch.int8).t())
    try:
        torch.set_printoptions(precision=10)
        print(torch.tensor([1 / 3], dtype=torch.float64), torch.tensor([1 / 3]))
        torch.set_printoptions(precision=4, linewidth=40)
        print(torch.arange(30).reshape(3, 10) * 1000)
        torch.set_printoptions(sci_mode=True)
        print(torch.tensor([1, 2]), torch.tensor([0.0, 1.0]), torch.tensor(5.0))
    finally:
        torch.set_printoptions(profile="default")
        torch.set_printoptions(sci_mode=None)
    log(str(torch.tensor([0.1, 0.2])), format(torch.tensor(2.5), ".3f"), f"{torch.tensor(3)}")


@program(tol=_ULP)
def stft_with_windows(torch, log):
    x = torch.sin(torch.arange(64.0) * 0.3)
    for win in (torch.hann_window(16), torch.hamming_window(16, periodic=False),
                torch.signal.windows.kaiser(16, beta=6.0)):
        S = torch.stft(x, 16, hop_length=4, window=win, return_complex=True)
        back = torch.istft(S, 16, hop_length=4, window=win, length=64)
        log(S.shape, S.dtype, S.abs()[:3, :3], (back - x).abs().max() < 1e-4)
    _err(log, lambda: torch.stft(x, 16, window=torch.hann_window(8), return_complex=True))
    _err(log, lambda: torch.stft(x, 16))
    _err(log, lambda: torch.istft(torch.stft(x, 16, window=torch.ones(16), return_complex=True,
                                             center=False), 16, window=torch.zeros(16),
                                  center=False))


@program(tol=_ULP)
def fx_interpreter_subclass_and_wrap(torch, log):
    fx = torch.fx

    class Count(fx.Interpreter):
        def __init__(self, gm):
            super().__init__(gm)
            self.seen = []

        def call_function(self, target, args, kwargs):
            self.seen.append(getattr(target, "__name__", str(target)))
            return super().call_function(target, args, kwargs)

        def call_method(self, target, args, kwargs):
            self.seen.append("." + target)
            return super().call_method(target, args, kwargs)

    def f(x, y=2.0):
        return torch.tanh(x).mul(y) + x.sum()

    gm = fx.symbolic_trace(f)
    c = Count(gm)
    x = torch.tensor([0.5, -1.0])
    log(c.run(x, 3.0), c.seen, gm(x), [n.op for n in gm.graph.nodes])
    print(gm.code)
    lin = torch.nn.Sequential(torch.nn.Linear(2, 2))
    g = fx.symbolic_trace(lin)
    log([n.op for n in g.graph.nodes], g(x), lin(x))
    print(g.graph)
    print(g.code)
    _err(log, lambda: fx.symbolic_trace(lambda t: [v for v in t]))



@program(xfail="ember has no complex32 (ComplexHalf) tensors: a float16 tensor and a complex "
         "scalar give complex64 where torch gives complex32 and warns that ComplexHalf support "
         "is experimental")
def float16_with_complex_scalar(torch, log):
    f16 = torch.tensor([1.0, 2.0], dtype=torch.float16)
    log((f16 + 1j).dtype, torch.result_type(f16, 1j))


@program(tol=_ULP)
def fx_shape_prop_and_functional_names(torch, log):
    fx, nn, F = torch.fx, torch.nn, torch.nn.functional
    ShapeProp = _module(torch, "fx.passes.shape_prop").ShapeProp

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.conv = nn.Conv2d(1, 2, 1)

        def forward(self, x, img):
            h = F.gelu(self.fc(x)).clamp(min=0)
            y = F.conv2d(img, self.conv.weight) + F.logsigmoid(img).sum()
            return h, h.max(1), y.permute(0, 2, 3, 1), F.softplus(x.t())

    gm = fx.symbolic_trace(Net())
    ShapeProp(gm).propagate(torch.randn(5, 4), torch.randn(1, 1, 3, 3))
    for n in gm.graph.nodes:
        print(n.name, n.meta.get("tensor_meta"), n.meta.get("type").__name__)
    print(gm.code)
    print(gm.graph)
    log(hasattr(fx, "passes"), [n.name for n in gm.graph.nodes])



@program()
def fx_trace_annotated_builtin_modules(torch, log):
    import inspect
    nn = torch.nn
    for m in (nn.Linear(2, 2), nn.MSELoss(), nn.MaxPool1d(2), nn.CosineSimilarity(),
              nn.TripletMarginLoss(), nn.RMSNorm(2)):
        print(torch.fx.symbolic_trace(m).code)
        log(str(inspect.signature(type(m).forward)))


test_program = PROGRAMS.test(_check)
