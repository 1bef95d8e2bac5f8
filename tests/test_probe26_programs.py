"""Ordinary PyTorch programs, round 26 (sparse COO and CSR tensors, nested tensors, torch.masked,
torch.fx tracing, nn.utils parametrizations, pruning, norms and clipping, packed sequences at
their edges, window functions, checkpointing, torch.testing.assert_close's messages, Tensor
subclasses with __torch_function__, the type promotion of in-place ops and out=, and printing
under set_printoptions) run under ember and torch from the same seed: everything they record
must agree (the harness is rounds 17 and 18's)."""
import contextlib
import functools

import warnings

import pytest

from probe_registry import Programs, log_outcome as _err
from test_probe18_programs import _check

PROGRAMS = Programs()


def program(tol=None, xfail=None, sparse=False):
    """Registers a program run with every warning given each time (see _always); sparse: one
    that silences sparse tensors' 'beta state' and 'invariant checks' warnings, as users do
    (torch gives them for each tensor it makes on the way, sparse.mm's CSR temporaries too)."""
    def deco(fn):
        @functools.wraps(fn)
        def run(torch, log):
            with _always(torch), warnings.catch_warnings():
                if sparse:
                    warnings.filterwarnings("ignore", "Sparse .* beta state")
                    warnings.filterwarnings("ignore", "Sparse invariant checks")
                fn(torch, log)
        return PROGRAMS.program(tol, xfail)(run)
    return deco

_ULP = 1e-6


@contextlib.contextmanager
def _always(torch):
    """Every warning each time (torch's once-a-process ones too, as sparse CSR's 'beta state'),
    so that what a program sees does not hang on what ran before it in the process."""
    old = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    try:
        yield
    finally:
        torch.set_warn_always(old)


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

@program(sparse=True)
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
    _err(log, lambda: torch.sparse_coo_tensor(i, v, (2, 2), check_invariants=True))
    _err(log, lambda: torch.sparse_coo_tensor(i - 1, v, check_invariants=True))
    _err(log, lambda: torch.sparse_coo_tensor(i, v[:4], (3, 3)))


@program(sparse=True)
def coo_hybrid_and_dense_conversion(torch, log):
    d = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    s = d.to_sparse()
    log(s.indices(), s.values(), s.is_coalesced(), s.to_dense())
    h = torch.arange(12.0).reshape(3, 4) * torch.tensor([[1.0], [0.0], [1.0]])
    hs = h.to_sparse(1)
    log(hs.sparse_dim(), hs.dense_dim(), hs.indices(), hs.values(), hs.to_dense())
    log(d.to_sparse_coo().values(), s.coalesce().to_dense().sum(), torch.zeros(2, 3).to_sparse()._nnz())
    _err(log, lambda: d.to_sparse(3))


@program(sparse=True)
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


@program(tol=_ULP, sparse=True)
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


@program(sparse=True)
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


@program(tol=_ULP, sparse=True)
def csr_matmul_and_ops(torch, log):
    d = torch.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    c = d.to_sparse_csr()
    x = torch.randn(3, 4)
    log(c @ x, torch.mm(c, x), torch.addmm(torch.zeros(2, 4), c, x), (c * 2).to_dense(),
        str(c.t().layout), torch.sparse.mm(c, x),
        c.matmul(torch.ones(3)), (c + c).to_dense())
    log(c.sum(), str(c.to_sparse_csc().layout), c.to_sparse_csc().ccol_indices(),
        c.to_sparse_csc().row_indices(), c.to_sparse_csc().to_dense())


@program(sparse=True)
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


@program(sparse=True)
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
