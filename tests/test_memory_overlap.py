"""Writes whose input shares memory with the written tensor: torch refuses those where the
memory is shared in part (TensorIterator's assert_no_partial_overlap; the scatters refuse the
same memory too) and runs the rest. ember gives the same error or the same values for each
in-place op, out= op and index write below, over inputs sharing memory in part, wholly,
through a 0-d element, or not at all (where NumPy would silently compute as if the input were
copied first)."""
import pytest
import torch

import ember

# (name, write(dst, src, lib)): the written tensor dst and an input src, both views of one
# 1-d float64 tensor holding 1..8
WRITES = [
    ("add_", lambda a, b, L: a.add_(b)), ("sub_", lambda a, b, L: a.sub_(b, alpha=2)),
    ("mul_", lambda a, b, L: a.mul_(b)), ("div_", lambda a, b, L: a.div_(b)),
    ("div_floor", lambda a, b, L: a.div_(b, rounding_mode="floor")),
    ("pow_", lambda a, b, L: a.pow_(b)), ("atan2_", lambda a, b, L: a.atan2_(b)),
    ("fmod_", lambda a, b, L: a.fmod_(b)), ("remainder_", lambda a, b, L: a.remainder_(b)),
    ("hypot_", lambda a, b, L: a.hypot_(b)), ("copysign_", lambda a, b, L: a.copysign_(b)),
    ("clamp_min", lambda a, b, L: a.clamp_(min=b)), ("clamp_max", lambda a, b, L: a.clamp_(max=b)),
    ("clamp_min_", lambda a, b, L: a.clamp_min_(b)), ("lerp_", lambda a, b, L: a.lerp_(b, 0.5)),
    ("lerp_weight", lambda a, b, L: a.lerp_(b, b)), ("addcmul_", lambda a, b, L: a.addcmul_(b, b)),
    ("addcdiv_", lambda a, b, L: a.addcdiv_(b, b)), ("copy_", lambda a, b, L: a.copy_(b)),
    ("xlogy_", lambda a, b, L: a.xlogy_(b)), ("eq_", lambda a, b, L: a.eq_(b)),
    ("lt_", lambda a, b, L: a.lt_(b)), ("logical_and_", lambda a, b, L: a.logical_and_(b)),
    ("float_power_", lambda a, b, L: a.float_power_(b)),
    ("nextafter_", lambda a, b, L: a.nextafter_(b)), ("ldexp_", lambda a, b, L: a.ldexp_(b)),
    ("heaviside_", lambda a, b, L: a.heaviside_(b)),
    ("mul_0d", lambda a, b, L: a.mul_(b[0])),
    ("index_copy_", lambda a, b, L: a.index_copy_(0, L.tensor([0]), b[:1])),
    ("index_add_", lambda a, b, L: a.index_add_(0, L.tensor([0, 1]), b[:2])),
    ("scatter_", lambda a, b, L: a.scatter_(0, L.tensor([0, 1]), b)),
    ("scatter_add_", lambda a, b, L: a.scatter_add_(0, L.tensor([0, 1]), b)),
    ("scatter_reduce_", lambda a, b, L: a.scatter_reduce_(0, L.tensor([0, 1]), b, "amax")),
    ("masked_fill_", lambda a, b, L: a.masked_fill_(b > 3, 0.0)),
    ("put_", lambda a, b, L: a.put_(L.tensor([0, 1]), b[:2])),
    ("addr_", lambda a, b, L: a.view(2, 2).addr_(b[:2], b[2:])),
    ("add_out", lambda a, b, L: L.add(b, 1, out=a)),
    ("sub_out", lambda a, b, L: L.sub(a, b, out=a)),
    ("div_out", lambda a, b, L: L.div(b, 2, out=a)),
    ("mul_out", lambda a, b, L: L.mul(b, b, out=a)),
    ("maximum_out", lambda a, b, L: L.maximum(a, b, out=a)),
    ("exp_out", lambda a, b, L: L.exp(b, out=a)), ("neg_out", lambda a, b, L: L.neg(b, out=a)),
    ("where_out", lambda a, b, L: L.where(b > 2, b, a, out=a)),
    ("clamp_out", lambda a, b, L: L.clamp(b, 2, 3, out=a)),
    ("clamp_tensor_out", lambda a, b, L: L.clamp(a, b, out=a)),
    ("pow_out", lambda a, b, L: L.pow(b, 2, out=a)), ("lerp_out", lambda a, b, L: L.lerp(
        b, a, 0.5, out=a)), ("addcmul_out", lambda a, b, L: L.addcmul(a, b, b, out=a)),
    ("addcdiv_out", lambda a, b, L: L.addcdiv(a, b, b, out=a)),
    ("xlogy_out", lambda a, b, L: L.xlogy(b, 2.0, out=a)),
    ("copysign_out", lambda a, b, L: L.copysign(b, -1, out=a)),
    ("heaviside_out", lambda a, b, L: L.heaviside(b, a, out=a)),
    ("nan_to_num_out", lambda a, b, L: L.nan_to_num(b, out=a)),
    ("round_out", lambda a, b, L: L.round(b, decimals=1, out=a)),
    ("cumsum_out", lambda a, b, L: L.cumsum(b, 0, out=a)),
    ("cumprod_out", lambda a, b, L: L.cumprod(b, 0, out=a)),
    ("logcumsumexp_out", lambda a, b, L: L.logcumsumexp(b, 0, out=a)),
    ("index_select_out", lambda a, b, L: L.index_select(b, 0, L.tensor([3, 0, 1, 2]), out=a)),
    ("gather_out", lambda a, b, L: L.gather(b, 0, L.tensor([3, 0, 1, 2]), out=a)),
    ("take_out", lambda a, b, L: L.take(b, L.tensor([3, 0, 1, 2]), out=a)),
    ("masked_select_out", lambda a, b, L: L.masked_select(b, b > 0, out=a)),
    ("cat_out", lambda a, b, L: L.cat([b[:2], b[2:]], out=a)),
    ("stack_out", lambda a, b, L: L.stack([b[:2], b[2:]], out=a.view(2, 2))),
    ("setitem", lambda a, b, L: a.__setitem__(slice(None), b)),
    ("setitem_index", lambda a, b, L: a.__setitem__(L.tensor([1, 2]), b[:2])),
    ("setitem_mask", lambda a, b, L: a.__setitem__(L.tensor([True, False, True, False]), b[:2])),
    ("iadd", lambda a, b, L: a.__iadd__(b)),
]

# how dst and src view the tensor y = 1..8
LAYOUTS = {"partial": lambda y: (y[1:5], y[0:4]), "same": lambda y: (y[0:4], y[0:4]),
           "itself": lambda y: (y[0:4],) * 2, "disjoint": lambda y: (y[4:8], y[0:4]),
           "interleaved": lambda y: (y[0::2], y[1::2])}


def _run(lib, write, layout):
    y = lib.arange(1.0, 9.0, dtype=lib.float64)
    a, b = LAYOUTS[layout](y)
    try:
        write(a, b, lib)
    except RuntimeError as e:
        return "RuntimeError", str(e)
    return "ran", y.tolist()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", [n for n, _ in WRITES])
def test_write_sharing_memory_matches_torch(name, layout):
    write = dict(WRITES)[name]
    assert _run(ember, write, layout) == _run(torch, write, layout)


def test_partial_overlap_is_refused_with_torchs_message():
    y = ember.arange(8.0)
    with pytest.raises(RuntimeError, match="some elements of the input tensor and the "
                       "written-to tensor refer to a single memory location"):
        y[1:] += y[:-1]
    assert y.tolist() == list(range(8))        # nothing written


@pytest.mark.parametrize("case", ["rows", "transposed", "grad", pytest.param(
    "2d_column", marks=pytest.mark.xfail(strict=True, reason=(
        "torch does not check an input it cannot tell about (not dense: a column) and its "
        "kernel then reads elements it has already written; ember reads the values before "
        "the write (NumPy buffers overlapping operands)")))])
def test_more_layouts_match_torch(case):
    def program(L):
        y = L.arange(12.0).reshape(3, 4)
        if case == "rows":          # distinct rows of one tensor: no overlap
            y[1].add_(y[0])
        elif case == "transposed":  # the same memory, other strides: refused
            y.view(2, 6).t().add_(y.view(6, 2))
        elif case == "grad":        # recorded in-place op: the same check
            w = L.ones(8, requires_grad=True) * 1
            w[1:].mul_(w[:-1])
        else:                       # a column against the matrix it views
            y.add_(y[:, :1])
        return y.tolist()
    results = []
    for L in (ember, torch):
        try:
            results.append(("ran", program(L)))
        except RuntimeError as e:
            results.append(("RuntimeError", str(e)))
    assert results[0] == results[1]
