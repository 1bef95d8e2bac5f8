"""The GEMM planning behind matmul inside CUDA-graph captures (ember/backends/cuda_blas.py),
checked on the CPU: a NumPy model of cublasGemmStridedBatchedEx (column-major, strided
batches, read straight from the operands' memory) must reproduce np.matmul for every layout
the planner accepts. On a GPU, test_cuda_kernels.py runs the real calls inside captures."""
import numpy as np
import pytest

from ember.backends import cuda_blas


def _col_major(x, rows, cols, ld, stride, batch, trans):
    """The batch of column-major (rows x cols) matrices cuBLAS reads at x's address."""
    it = x.itemsize
    m = np.lib.stride_tricks.as_strided(x, shape=(batch, rows, cols),
                                        strides=(stride * it, it, ld * it))
    return m.transpose(0, 2, 1) if trans else m


def _emulated_matmul(a, b):
    a3, b3, args, shape, va, vb = cuda_blas.plan(np, a, b)
    if args is None:
        return cuda_blas.unvector(np.zeros(shape, a.dtype), va, vb)
    transa, transb, m, n, k, lda, sa, ldb, sb, ldc, sc, count = args
    assert ldc == m and sc == m * n
    op_a = _col_major(b3, *((k, m) if transa else (m, k)), lda, sa, count, transa)
    op_b = _col_major(a3, *((n, k) if transb else (k, n)), ldb, sb, count, transb)
    assert op_a.shape == (count, m, k) and op_b.shape == (count, k, n)
    c_cm = op_a @ op_b                      # (count, m, n) column-major = C^T row-major
    c = np.ascontiguousarray(c_cm.transpose(0, 2, 1)).reshape(shape)
    return cuda_blas.unvector(c, va, vb)


def _r(*shape):
    return np.random.default_rng(len(shape) + sum(shape)).standard_normal(shape)


CASES = {
    "2d": lambda: (_r(3, 4), _r(4, 5)),
    "a_T": lambda: (_r(4, 3).T, _r(4, 5)),
    "b_T": lambda: (_r(3, 4), _r(5, 4).T),
    "both_T": lambda: (_r(4, 3).T, _r(5, 4).T),
    "row_slices": lambda: (_r(3, 9)[:, 2:6], _r(4, 7)[:, :5]),
    "col_step_copied": lambda: (_r(3, 8)[:, ::2], _r(4, 5)),
    "batched": lambda: (_r(2, 3, 4), _r(2, 4, 5)),
    "batched_x_2d": lambda: (_r(6, 3, 4), _r(4, 5)),
    "2d_x_batched_T": lambda: (_r(3, 4), _r(6, 5, 4).transpose(0, 2, 1)),
    "broadcast_batch": lambda: (_r(2, 1, 3, 4), _r(1, 3, 4, 5)),
    "attention_like": lambda: (_r(2, 3, 6, 4), _r(2, 6, 3, 4).transpose(0, 2, 3, 1)),
    "vec_mat": lambda: (_r(4), _r(4, 5)),
    "mat_vec": lambda: (_r(3, 4), _r(4)),
    "vec_vec": lambda: (_r(4), _r(4)),
    "vec_batched": lambda: (_r(4), _r(2, 4, 5)),
    "unit_dims": lambda: (_r(1, 4), _r(4, 1)),
    "k_zero": lambda: (_r(3, 0), _r(0, 5)),
    "m_zero": lambda: (_r(0, 4), _r(4, 5)),
    "float32": lambda: (_r(3, 4).astype(np.float32), _r(4, 5).astype(np.float32).T.copy().T),
}


@pytest.mark.parametrize("case", CASES)
def test_plan_reproduces_matmul(case):
    a, b = CASES[case]()
    expected = np.matmul(a, b)
    got = _emulated_matmul(a, b)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


def test_transposed_operands_are_read_in_place():
    a, b = _r(4, 3).T, _r(5, 4).T
    a3, b3, args, *_ = cuda_blas.plan(np, a, b)
    assert np.shares_memory(a3, a) and np.shares_memory(b3, b)
    assert args[:2] == (cuda_blas._OP_T, cuda_blas._OP_T)


@pytest.mark.parametrize("a,b", [(np.ones((2, 3), np.int64), np.ones((3, 2), np.int64)),
                                 (np.ones((2, 3)), np.ones((3, 2), np.float32)),
                                 (np.ones((2, 3)), np.ones((4, 2))),
                                 (np.ones(()), np.ones(3))])
def test_plan_defers_to_cupy(a, b):
    assert cuda_blas.plan(np, a, b) is None


def test_namespace_keeps_cupy_matmul_outside_captures():
    calls = []

    class FakeCupy:
        __name__ = "cupy"
        __doc__ = None

        ndarray = np.ndarray

        @staticmethod
        def matmul(a, b, out=None, **kw):
            calls.append((a, b))
            return np.matmul(a, b)
    for name in (*cuda_blas._OVERRIDDEN, *cuda_blas._CREATION):
        setattr(FakeCupy, name, getattr(np, name))
    ns = cuda_blas.namespace(FakeCupy)
    a, b = _r(2, 3), _r(3, 2)
    np.testing.assert_allclose(ns.matmul(a, b), a @ b)
    assert len(calls) == 1 and ns.__name__ == "cupy"


def _fake_cuda(monkeypatch, matmul=np.matmul):
    import types
    ns = types.SimpleNamespace(matmul=matmul, ones=np.ones)
    monkeypatch.setattr(cuda_blas, "_NAMESPACES", [ns])
    return ns


def test_sum_rows_by_gemv_on_the_cuda_namespace(monkeypatch):
    fake_cuda = _fake_cuda(monkeypatch)
    a = _r(50, 7)
    np.testing.assert_allclose(cuda_blas.sum_rows(fake_cuda, a), a.sum(0), rtol=1e-12)
    assert cuda_blas.sum_rows(fake_cuda, a[:0]).shape == (7,)
    ints = np.arange(12).reshape(4, 3)
    np.testing.assert_array_equal(cuda_blas.sum_rows(fake_cuda, ints), ints.sum(0))
    assert not cuda_blas.gemv_sums(np)


def test_sum_to_reduces_leading_dims_by_gemv(monkeypatch):
    from ember.autograd.engine import sum_to
    calls = []

    def matmul(a, b):
        calls.append(b.shape)
        return np.matmul(a, b)
    fake_cuda = _fake_cuda(monkeypatch, matmul)
    g = _r(4, 5, 6)
    np.testing.assert_allclose(sum_to(fake_cuda, g, (5, 6)), g.sum(0), rtol=1e-12)
    np.testing.assert_allclose(sum_to(fake_cuda, g, (1, 1, 6)), g.sum((0, 1), keepdims=True),
                               rtol=1e-12)
    assert calls == [(4, 30), (20, 6)]
    np.testing.assert_allclose(sum_to(fake_cuda, g, (4, 1, 6)), g.sum(1, keepdims=True))
    assert len(calls) == 2                  # not leading dims: the ordinary sum
