"""Property tests (hypothesis) for broadcasting, reshaping and indexing against torch: on random
shapes (incl. 0-size dims, 0-d, negative dims, non-contiguous inputs) ember returns what torch
returns, or raises the same kind of exception."""
import numpy as np
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import ember
import opspecs  # noqa: F401  (imports opspecs_shape itself; import it first)
from opspecs_shape import run_both

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

dims = st.integers(0, 3)
shapes = st.lists(dims, min_size=0, max_size=4).map(tuple)


def _arr(shape, seed=0):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape).round(2))


def _tensors(lib, shape, nc):
    a = _arr(shape)
    if nc and len(shape) >= 2:      # a non-contiguous view with the same values
        t = lib.tensor(np.ascontiguousarray(np.swapaxes(a, 0, 1))).transpose(0, 1)
        assert tuple(t.shape) == shape
        return t
    return lib.tensor(a)


@st.composite
def broadcast_pair(draw):
    a = draw(shapes)
    b = list(a[len(a) - draw(st.integers(0, len(a))):])
    for i in range(len(b)):
        r = draw(st.integers(0, 4))
        b[i] = 1 if r == 0 else b[i] if r < 4 else draw(dims)      # sometimes incompatible
    lead = draw(st.lists(dims, max_size=2))
    b = tuple(lead) + tuple(b)
    return (a, b) if draw(st.booleans()) else (b, a)


@SETTINGS
@given(broadcast_pair(), st.booleans())
def test_broadcasting(pair, nc):
    a, b = pair
    run_both(lambda lib: lib.broadcast_shapes(a, b))
    run_both(lambda lib: _tensors(lib, a, nc) + _tensors(lib, b, False))
    run_both(lambda lib: lib.stack(lib.broadcast_tensors(lib.tensor(_arr(a)),
                                                         lib.tensor(_arr(b, 1)))))
    run_both(lambda lib: _tensors(lib, a, nc).expand(b))
    run_both(lambda lib: _tensors(lib, a, nc).expand_as(lib.zeros(b)))


@st.composite
def reshape_case(draw):
    shape = draw(shapes)
    n = int(np.prod(shape))
    target = list(draw(st.permutations(list(shape)))) if shape else []
    if draw(st.booleans()) and target:                    # regroup the factors
        target = [int(np.prod(target))] + [1] * draw(st.integers(0, 1))
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    if draw(st.integers(0, 5)) == 0:                      # sometimes invalid
        target = target + [draw(st.integers(2, 3))]
    return shape, tuple(target), n


@SETTINGS
@given(reshape_case(), st.booleans())
def test_reshape_and_view(case, nc):
    shape, target, _ = case
    run_both(lambda lib: _tensors(lib, shape, nc).reshape(target))
    run_both(lambda lib: _tensors(lib, shape, nc).view(target))
    run_both(lambda lib: _tensors(lib, shape, nc).flatten())
    if shape:
        run_both(lambda lib: _tensors(lib, shape, nc).unsqueeze(-1).squeeze())


@SETTINGS
@given(st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple), st.data())
def test_permutations(shape, data):
    nd = len(shape)
    perm = data.draw(st.permutations(range(nd)))
    d0, d1 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd))
    run_both(lambda lib: lib.tensor(_arr(shape)).permute(*perm))
    run_both(lambda lib: lib.tensor(_arr(shape)).transpose(d0, d1))
    run_both(lambda lib: lib.tensor(_arr(shape)).movedim(d0, d1))
    run_both(lambda lib: lib.tensor(_arr(shape)).flip(d0))
    run_both(lambda lib: lib.tensor(_arr(shape)).roll(2, d0))
    off = data.draw(st.integers(-2, 2))
    run_both(lambda lib: lib.tensor(_arr(shape)).diagonal(off, d0, d1))


@st.composite
def index_case(draw):
    shape = draw(st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple))
    items, d, used_ell = [], 0, False
    for _ in range(draw(st.integers(0, len(shape) + 1))):
        n = shape[d] if d < len(shape) else 2
        kind = draw(st.sampled_from(["int", "slice", "none", "ell", "list", "tensor", "mask"]))
        if kind == "int":
            items.append(draw(st.integers(-n - 1, n)))
            d += 1
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
            stop = draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
            step = draw(st.one_of(st.none(), st.integers(1, 3), st.just(-1)))
            items.append(slice(start, stop, step))
            d += 1
        elif kind == "none":
            items.append(None)
        elif kind == "ell" and not used_ell:
            items.append(Ellipsis)
            used_ell = True
            d = len(shape)
        elif kind in ("list", "tensor"):
            k = draw(st.integers(0, 3))
            vals = draw(st.lists(st.integers(-n, max(n - 1, -n)), min_size=k, max_size=k)) \
                if n else []
            items.append(("t", vals) if kind == "tensor" else vals)
            d += 1
        elif kind == "mask" and d < len(shape):
            items.append(("m", draw(st.lists(st.booleans(), min_size=shape[d],
                                             max_size=shape[d]))))
            d += 1
    return shape, tuple(items)


def _materialize(lib, items):
    out = []
    for i in items:
        if isinstance(i, tuple) and i[0] == "t":
            out.append(lib.tensor(i[1], dtype=lib.int64))
        elif isinstance(i, tuple) and i[0] == "m":
            out.append(lib.tensor(i[1], dtype=lib.bool))
        else:
            out.append(i)
    return tuple(out)


@SETTINGS
@given(index_case(), st.booleans())
def test_getitem_property(case, nc):
    shape, items = case

    def fn(lib):
        x = _tensors(lib, shape, nc)
        r = x[_materialize(lib, items)]
        return r, lib.tensor(r._base is not None)
    run_both(fn)


@SETTINGS
@given(index_case(), st.sampled_from(["scalar", "tensor"]))
def test_setitem_property(case, kind):
    shape, items = case

    def fn(lib):
        x = lib.tensor(_arr(shape))
        idx = _materialize(lib, items)
        value = 7.5 if kind == "scalar" else lib.tensor(_arr(x[idx].shape, 1))
        x[idx] = value
        return x
    run_both(fn)


@SETTINGS
@given(st.lists(shapes, min_size=1, max_size=3), st.integers(-3, 3))
def test_cat_stack_split(shape_list, dim):
    run_both(lambda lib: lib.cat([lib.tensor(_arr(s, i)) for i, s in enumerate(shape_list)],
                                 dim))
    run_both(lambda lib: lib.stack([lib.tensor(_arr(s, i)) for i, s in enumerate(shape_list)],
                                   dim))
    s0 = shape_list[0]
    run_both(lambda lib: lib.cat([t.reshape(-1) for t in lib.tensor(_arr(s0)).split(2, dim)]))
    run_both(lambda lib: lib.cat([t.reshape(-1) for t in lib.tensor(_arr(s0)).chunk(3, dim)]))


def test_hypothesis_is_configured_fast():
    assert SETTINGS.max_examples <= 100
    assert torch.__version__ and ember.__version__
