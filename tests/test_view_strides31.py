"""view's (and reshape's, flatten's, unflatten's, linear's folding view's) strides at size-1 dims
as torch's computeStride gives them, forward and in the view's backward (ViewBackward0's
reshape of the gradient): NumPy's reshape gives a size-1 dim a contiguous stride, torch the
stride of the chunk of the input it falls in. Seeded sweeps over inputs with size-1 dims,
strided (a step of 2) and permuted."""
import math

import numpy as np
import pytest
import torch

import ember


def _factors(rng, n, k):
    dims = []
    for _ in range(k - 1):
        d = int(rng.choice([d for d in range(1, n + 1) if n % d == 0]))
        dims.append(d)
        n //= d
    dims.append(n)
    rng.shuffle(dims)
    return tuple(dims)


def _input(lib, shape, steps, perm):
    full = tuple(s * st for s, st in zip(shape, steps))
    a = lib.arange(float(math.prod(full))).reshape(full)
    return a[tuple(slice(None, None, st) for st in steps)].permute(perm)


def _cases(seed, n=150):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        nd = int(rng.integers(0, 5))
        shape = tuple(int(rng.choice([1, 1, 2, 3, 4])) for _ in range(nd))
        steps = tuple(int(rng.choice([1, 1, 2])) for _ in range(nd))
        perm = tuple(rng.permutation(nd).tolist())
        yield shape, steps, perm, _factors(rng, math.prod(shape), int(rng.integers(1, 5)))


def _layout(fn):
    try:
        y = fn()
    except RuntimeError as e:
        return str(e)
    return tuple(y.shape), y.stride(), y.storage_offset(), y.is_contiguous()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("op", ["view", "reshape"])
def test_view_strides_like_torch(op, seed):
    for shape, steps, perm, new in _cases(seed):
        got, want = (_layout(lambda: getattr(_input(lib, shape, steps, perm), op)(*new))
                     for lib in (ember, torch))
        assert got == want, (shape, steps, perm, new)


def test_view_adding_a_unit_dim_after_a_transpose():
    """(once left different in test_strides23): computeStride gives the new size-1 dim the
    stride of the chunk it follows; NumPy's reshape of an array it reads as contiguous gives
    it C strides."""
    got, want = (_layout(lambda: lib.arange(3.).reshape(1, 3).mT.view(3, 1, 1))
                 for lib in (ember, torch))
    assert got == want


@pytest.mark.parametrize("seed", range(3))
def test_flatten_unflatten_strides_like_torch(seed):
    rng = np.random.default_rng(100 + seed)
    for shape, steps, perm, _ in _cases(seed + 10):
        if not shape:
            continue
        s = int(rng.integers(0, len(shape)))
        e = int(rng.integers(s, len(shape)))
        d = int(rng.integers(0, len(shape)))
        sizes = _factors(rng, shape[perm[d]], int(rng.integers(1, 4)))
        for fn in (lambda t: t.flatten(s, e), lambda t: t.flatten(),
                   lambda t: t.unflatten(d, sizes)):
            got, want = (_layout(lambda: fn(_input(lib, shape, steps, perm)))
                         for lib in (ember, torch))
            assert got == want, (shape, steps, perm, s, e, d, sizes)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("op", ["view", "reshape"])
def test_view_backward_gradient_strides_like_torch(op, seed):
    """The gradient ViewBackward0 (or ReshapeAliasBackward0) hands on, for a gradient laid out
    permuted, as a hook on the input sees it."""
    rng = np.random.default_rng(200 + seed)
    for _ in range(100):
        nd = int(rng.integers(1, 5))
        shape = tuple(int(rng.choice([1, 1, 2, 3])) for _ in range(nd))
        new = _factors(rng, math.prod(shape), int(rng.integers(1, 5)))
        gperm = rng.permutation(len(new))
        results = []
        for lib in (ember, torch):
            seen = []
            x = lib.arange(float(math.prod(shape))).reshape(shape).requires_grad_() * 1
            x.register_hook(lambda g: seen.append((g.stride(), g.is_contiguous())))
            y = getattr(x, op)(*new)
            g = lib.arange(float(math.prod(new))).reshape(tuple(new[p] for p in gperm))
            y.backward(g.permute(*np.argsort(gperm).tolist()))
            results.append((y.stride(), seen))
        assert results[0] == results[1], (shape, op, new, gperm)


def test_linear_folding_view_strides_like_torch():
    """linear's view of a 3-d input whose last dim (size 1) has a stride not 1: torch's strides
    on the view the addmm/mm of the folded input saves."""
    got, want = [], []
    for lib, out in ((ember, got), (torch, want)):
        x = lib.arange(6.).reshape(1, 2, 3).permute(1, 2, 0)     # (2, 3, 1), strides (3, 1, 6)
        w = lib.ones(4, 1, dtype=lib.float32, requires_grad=True)
        for b in (None, lib.ones(4)):
            y = lib.nn.functional.linear(x.float(), w, b)
            fn = y.grad_fn
            while fn.name() not in ("MmBackward0", "AddmmBackward0"):
                fn = fn.next_functions[0][0]
            saved = fn._saved_mat1 if b is not None else fn._saved_self
            out.append((saved.stride(), y.stride()))
    assert got == want


@pytest.mark.parametrize("seed", range(3))
def test_squeeze_backward_gradient_strides_like_torch(seed):
    """SqueezeBackward0/1/2 put the squeezed dims back with unsqueeze's strides (size * stride
    of the next dim, 1 at the end), not a view's, for gradients laid out permuted or strided."""
    rng = np.random.default_rng(300 + seed)
    for _ in range(120):
        nd = int(rng.integers(1, 5))
        shape = tuple(int(rng.choice([1, 1, 2, 3])) for _ in range(nd))
        kind = int(rng.integers(3))
        d = int(rng.integers(-nd, nd))
        ds = tuple(sorted(set(int(v) for v in rng.integers(0, nd, 2))))
        step = int(rng.choice([1, 2]))
        results = []
        for lib in (ember, torch):
            seen = []
            x = lib.arange(float(math.prod(shape))).reshape(shape).requires_grad_() * 1
            x.register_hook(lambda g: seen.append(g.stride()))
            y = x.squeeze() if kind == 0 else x.squeeze(d) if kind == 1 else x.squeeze(ds)
            ys = tuple(y.shape)
            if lib is ember:
                perm = rng.permutation(len(ys))
            full = tuple(ys[p] for p in perm)
            g = lib.arange(float(math.prod(full) * step))[::step].reshape(full)
            y.backward(g.permute(np.argsort(perm).tolist()))
            results.append((type(y.grad_fn).__name__, y.grad_fn._saved_self_sym_sizes, seen))
        assert results[0] == results[1], (shape, kind, d, ds, step)
