"""Ordinary PyTorch programs, round 24 (the breadth of the tensor API at less common arguments:
splits and scatters, sorting and selection with ties, quantiles and histograms, searches and
counting, cumulative and windowed ops, pairwise distances and products, floating-point helpers,
complex views, integer division and shifts, in-place ops on expanded or overlapping inputs and
the errors users hit) run under ember and torch from the same seed: everything they record must
agree (the harness is rounds 17 and 18's)."""
import pytest

from probe_registry import Programs
from test_probe18_programs import _check

PROGRAMS = Programs()
program = PROGRAMS.program

_ULP = 1e-6


def _err(log, fn):
    """Runs fn, logging the class and message of what it raised (or what it returned)."""
    try:
        out = fn()
    except Exception as e:
        log("raised", type(e).__name__, str(e))
    else:
        log("ran", out)


@program()
def splits_with_tensor_indices_and_sections(torch, log):
    x = torch.arange(24).reshape(4, 6)
    log(torch.tensor_split(x, torch.tensor([1, 4]), dim=1), torch.tensor_split(x, 3, dim=1),
        torch.tensor_split(x, (1, 1, 3)), x.split([2, 4], 1), x.chunk(4, 1), x.chunk(5, 1),
        torch.hsplit(x, 3), torch.vsplit(x, [1]), x.unflatten(1, (2, -1)).shape,
        torch.dsplit(x.reshape(2, 3, 4), 2)[1])
    _err(log, lambda: x.split([2, 3], 1))
    _err(log, lambda: torch.tensor_split(x, torch.tensor([[1]]), dim=1))
    _err(log, lambda: x.chunk(0))


@program()
def scatter_reduce_include_self_and_index_reduce(torch, log):
    src = torch.tensor([5.0, -1.0, 3.0, 2.0, 7.0, -4.0])
    idx = torch.tensor([0, 1, 0, 1, 2, 2])
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for inc in (True, False):
            base = torch.tensor([1.0, 10.0, -10.0, 4.0])
            log(reduce, inc, base.scatter_reduce(0, idx, src, reduce, include_self=inc))
            b2 = torch.ones(4, 2)
            log(b2.index_reduce_(0, idx, torch.arange(12.0).reshape(6, 2),
                                 reduce if reduce != "sum" else "prod", include_self=inc))
    ii = torch.tensor([0, 1, 0, 1, 2, 2])
    log(torch.zeros(3, dtype=torch.int64).scatter_reduce(0, ii, torch.arange(6), "mean"))
    log(torch.zeros(2, 3).scatter_(1, torch.tensor([[0, 1], [2, 0]]), 2.5, reduce="add"))
    _err(log, lambda: torch.zeros(3).scatter_reduce(0, ii, src, "max"))


@program()
def sorting_and_selection_with_ties(torch, log):
    x = torch.tensor([[3.0, 1.0, 3.0, 2.0, 1.0], [0.0, -0.0, float("nan"), 2.0, 2.0]])
    log(x.sort(stable=True), x.sort(descending=True, stable=True), x.argsort(dim=1, stable=True),
        x.kthvalue(2, 1), x.kthvalue(4, 1, keepdim=True), x.mode(1), x.median(1),
        x.nanmedian(1), x.msort(), x[0].unique(return_inverse=True, return_counts=True),
        torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 3, 1, 1]), return_counts=True,
                                 return_inverse=True),
        torch.unique(torch.tensor([[1, 2], [1, 2], [0, 5]]), dim=0, return_counts=True),
        x.topk(2, 1, largest=False), x.cummax(1), x.cummin(1), x.amax(1), x.aminmax(dim=1))
    _err(log, lambda: x.kthvalue(6, 1))
    _err(log, lambda: x.topk(6, 1))


@program()
def quantiles_and_histograms(torch, log):
    x = torch.tensor([[1.0, 7.0, 3.0, 4.0], [2.0, float("nan"), 0.5, 9.0]])
    q = torch.tensor([0.0, 0.25, 0.5, 0.9, 1.0])
    for mode in ("linear", "lower", "higher", "midpoint", "nearest"):
        log(mode, x[0].quantile(q, interpolation=mode),
            x.nanquantile(q, 1, True, interpolation=mode))
    log(x.quantile(0.3, dim=1), torch.histc(torch.tensor([1.0, 2, 1, 5, 9]), bins=4, min=0, max=8),
        torch.histogram(torch.tensor([1.0, 2, 1, 5, 9]), bins=3, weight=torch.tensor(
            [1.0, 0.5, 2, 1, 1]), density=True),
        torch.histogram(torch.tensor([1.0, 2, 1]), torch.tensor([0.0, 1.5, 4.0])),
        torch.bincount(torch.tensor([1, 3, 3, 0]), weights=torch.tensor([0.5, 1, 2, 3]),
                       minlength=6),
        torch.histogramdd(torch.tensor([[0.0, 1.0], [1.0, 0.5], [2.0, 2.0]]), bins=[2, 2]))
    _err(log, lambda: x[0].quantile(torch.tensor([1.5])))
    _err(log, lambda: torch.bincount(torch.tensor([-1, 2])))
    _err(log, lambda: torch.histc(torch.tensor([1, 2]), bins=3))


@program()
def searches_and_counting(torch, log):
    s = torch.tensor([1.0, 3.0, 3.0, 5.0, 9.0])
    v = torch.tensor([[3.0, 0.0], [10.0, 5.0]])
    log(torch.searchsorted(s, v), torch.searchsorted(s, v, right=True),
        torch.searchsorted(s, v, side="right", out_int32=True), torch.bucketize(v, s),
        torch.bucketize(v, s, right=True), torch.searchsorted(s, 3.0),
        torch.searchsorted(torch.tensor([9.0, 1.0, 5.0]), torch.tensor([4.0]),
                           sorter=torch.tensor([1, 2, 0])),
        torch.count_nonzero(v, dim=(0, 1)), torch.count_nonzero(v, 1),
        torch.isin(torch.tensor([1, 2, 3, 4]), torch.tensor([2, 4, 6]), invert=True),
        torch.isin(torch.tensor([1.0, 2.0]), 2.0), torch.nonzero(v, as_tuple=True),
        torch.argwhere(v), v.nonzero().dtype)
    _err(log, lambda: torch.searchsorted(s, v, side="left", right=True))
    _err(log, lambda: torch.searchsorted(s.reshape(5, 1), v))


@program(tol=_ULP)
def cumulative_and_windowed(torch, log):
    x = torch.tensor([[0.5, -1.0, 2.0, 3.0], [1.0, 1.0, -2.0, 0.25]], dtype=torch.float64)
    log(x.cumsum(1), x.cumprod(0), x.logcumsumexp(1), torch.diff(x, 2, 1),
        torch.diff(x, dim=0, prepend=x[:1]), torch.diff(x, append=torch.zeros(2, 1,
                                                                            dtype=torch.float64)),
        torch.trapezoid(x, dx=0.5), torch.trapezoid(x, torch.tensor([0.0, 1, 3, 6],
                                                                   dtype=torch.float64)),
        torch.cumulative_trapezoid(x, dim=1), x.unfold(1, 2, 1), x.unfold(1, 3, 2).shape,
        torch.cumsum(torch.tensor([True, True, False]), 0),
        torch.cumsum(torch.tensor([1, 2], dtype=torch.int8), 0, dtype=torch.float32),
        torch.tensor([1, 2, 3], dtype=torch.uint8).cumprod(0).dtype)
    _err(log, lambda: torch.diff(x, dim=2))
    _err(log, lambda: x.unfold(1, 5, 1))


@program(tol=_ULP)
def pairwise_distances_and_products(torch, log):
    a = torch.randn(3, 4, dtype=torch.float64)
    b = torch.randn(5, 4, dtype=torch.float64)
    log(torch.cdist(a, b), torch.cdist(a, b, p=1), torch.cdist(a, b, p=0),
        torch.cdist(a, b, p=float("inf")), torch.cdist(a, b, p=3.5), torch.pdist(a),
        torch.pdist(a, p=1), torch.cartesian_prod(torch.tensor([1, 2]), torch.tensor([3, 4, 5])),
        torch.combinations(torch.tensor([1, 2, 3]), 2, with_replacement=True),
        torch.block_diag(torch.ones(2, 2), torch.tensor([[5.0]]), torch.zeros(1, 3)),
        torch.kron(torch.eye(2), torch.tensor([[1, 2], [3, 4]])), torch.vander(
            torch.tensor([1, 2, 3]), 4, increasing=True), torch.outer(a[0], b[0]).shape,
        torch.tril_indices(3, 4, 1), torch.triu_indices(4, 3, -1),
        torch.nn.functional.pairwise_distance(a, a.flip(0), keepdim=True),
        torch.nn.functional.cosine_similarity(a, a.flip(0), dim=1))
    _err(log, lambda: torch.cdist(a, b[:, :3]))
    _err(log, lambda: torch.cdist(a, b, p=-1))


@program()
def floating_point_helpers(torch, log):
    x = torch.tensor([0.0, -0.0, 1.5, -3.25, 1e-40, float("inf"), float("nan"), 6e4])
    m, e = torch.frexp(x)
    log(m, e, torch.ldexp(m, e), torch.copysign(x, -1.0), torch.signbit(x),
        torch.nextafter(x, torch.tensor(0.0)), torch.nextafter(x.double(), torch.tensor(
            float("inf"), dtype=torch.float64)), torch.heaviside(x, torch.tensor(0.5)),
        x.half(), x[:6].bfloat16(), torch.float_power(x, 2).dtype, torch.fmod(x, 1.5),
        torch.remainder(x, -1.5), torch.trunc(x), x.frac(), torch.hypot(x, x),
        torch.logaddexp2(x, x), torch.isfinite(x), torch.isposinf(x), torch.isneginf(-x),
        torch.nan_to_num(x, nan=2.0), torch.finfo(torch.bfloat16).tiny,
        torch.finfo(torch.float16).eps, torch.iinfo(torch.int16).min)
    _err(log, lambda: torch.frexp(torch.tensor([1, 2])))
    _err(log, lambda: torch.ldexp(torch.tensor([1.0]), torch.tensor([1.5])))


@program(xfail="torch's vectorized float->bfloat16 copy writes a NaN as 0xffff (a contiguous "
                "float32 source; strided or double sources give 0x7fc0 with the sign kept, "
                "as ml_dtypes and ember do)")
def bfloat16_nan_bits(torch, log):
    x = torch.tensor([float("nan"), -float("nan"), 1.0])
    log(x.bfloat16().view(torch.int16), x.double().bfloat16().view(torch.int16),
        x[::2].bfloat16().view(torch.int16))


@program()
def complex_views_and_arithmetic(torch, log):
    z = torch.tensor([1 + 2j, -3.5 + 0j, 0 - 1j], dtype=torch.complex64)
    r = torch.view_as_real(z)
    r[0, 1] = 7.0
    log(z, r, torch.view_as_complex(torch.tensor([[1.0, 2.0], [0.0, -1.0]])), z.conj(),
        z.conj().is_conj(), z.conj().resolve_conj().is_conj(), z.abs(), z.angle(), z.sgn(),
        torch.polar(torch.tensor([2.0]), torch.tensor([0.5])), z.real, z.imag,
        torch.complex(torch.tensor([1.0]), torch.tensor([-2.0])), z * 2, z / (1 + 1j),
        z.reciprocal(), z.dtype, (z + 1).dtype, (z.double()).dtype, z.to(torch.complex128).dtype)
    _err(log, lambda: torch.view_as_complex(torch.tensor([[1.0, 2.0, 3.0]])))
    _err(log, lambda: torch.view_as_real(z.conj()))
    _err(log, lambda: z.clamp(0, 1))


@program()
def integer_division_and_shifts(torch, log):
    a = torch.tensor([7, -7, 5, -5, 0], dtype=torch.int32)
    b = torch.tensor([2, 2, -3, -3, 4], dtype=torch.int32)
    log(a // b, a % b, torch.div(a, b, rounding_mode="trunc"),
        torch.div(a, b, rounding_mode="floor"), torch.div(a, b), a.fmod(b), a.remainder(b),
        a << 2, a >> 1, torch.bitwise_left_shift(a, b.abs()), a & 6, a | b, a ^ b, ~a,
        torch.tensor([200], dtype=torch.uint8) + torch.tensor([100], dtype=torch.uint8),
        torch.tensor([-128], dtype=torch.int8).abs(), torch.tensor([5], dtype=torch.int8) * 100,
        a.float() // 2.5, torch.tensor([True, False]) + torch.tensor([True, True]),
        torch.gcd(a, b), torch.lcm(a, b), (a // 2.0).dtype, (a / 2).dtype)
    _err(log, lambda: a // torch.zeros(5, dtype=torch.int32))
    _err(log, lambda: a % 0)
    _err(log, lambda: torch.tensor([1.5]) << 1)


@program()
def in_place_on_expanded_and_overlapping(torch, log):
    base = torch.zeros(3)
    e = base.expand(2, 3)
    _err(log, lambda: e.add_(1))
    _err(log, lambda: torch.ones(2, 3).add_(torch.ones(3, 3)))
    x = torch.arange(6.0)
    x[1:].copy_(x[:-1].clone())
    log(x)
    y = torch.arange(6.0)
    _err(log, lambda: y[1:].add_(y[:-1]))
    log(y)
    z = torch.zeros(2, 3)
    z.add_(torch.tensor([1.0, 2.0, 3.0]))
    z.mul_(torch.tensor([[2.0], [3.0]]))
    log(z, z.t().contiguous().is_contiguous(), z.t().is_contiguous())
    w = torch.ones(3, dtype=torch.int64)
    _err(log, lambda: w.add_(0.5))
    _err(log, lambda: w.div_(2))
    log(w.mul_(True), w.div_(2, rounding_mode="floor"))


@program()
def diagonals_and_scatters_of_slices(torch, log):
    x = torch.zeros(3, 4)
    log(torch.diagonal_scatter(x, torch.ones(3), 0), torch.diagonal_scatter(x, torch.ones(2), 2),
        torch.select_scatter(x, torch.arange(4.0), 0, 1), torch.slice_scatter(
            x, torch.ones(3, 2), 1, 0, 4, 2), torch.diag_embed(torch.tensor([[1, 2], [3, 4]]), 1),
        torch.diag_embed(torch.tensor([1.0, 2.0]), -1, 0, 1), torch.diag(torch.arange(6).reshape(
            2, 3), -1), torch.diagflat(torch.tensor([[1, 2], [3, 4]]), 1), x.fill_diagonal_(5.0),
        torch.ones(5, 2).fill_diagonal_(3, wrap=True), torch.tril(torch.ones(3, 4), -1),
        torch.triu(torch.ones(2, 3, 3), 1).sum((1, 2)))
    _err(log, lambda: torch.diagonal_scatter(x, torch.ones(4), 0))
    _err(log, lambda: torch.ones(2, 3, 4).fill_diagonal_(1))


@program()
def rolls_flips_and_rotations(torch, log):
    x = torch.arange(12).reshape(3, 4)
    log(x.roll(1), x.roll((1, -1), (0, 1)), x.roll(-5, 1), x.flip(0, 1), x.fliplr(), x.flipud(),
        x.rot90(), x.rot90(-1), x.rot90(2, (1, 0)), x.rot90(5), torch.movedim(
            x.reshape(1, 3, 4), (0, 2), (2, 0)).shape, x.swapdims(0, 1).stride(),
        torch.moveaxis(x, -1, 0).is_contiguous(), x.narrow(1, torch.tensor(1), 2))
    _err(log, lambda: x.roll((1, 2), (0,)))
    _err(log, lambda: x.rot90(1, (0, 0)))
    _err(log, lambda: x.flip(0, 0))


@program(tol=_ULP)
def lerp_addcdiv_clamp_with_tensors(torch, log):
    a = torch.tensor([0.0, 1.0, -2.0, 4.0])
    b = torch.tensor([1.0, -1.0, 2.0, 8.0])
    w = torch.tensor([0.25, 0.5, 0.75, 1.5])
    log(torch.lerp(a, b, w), torch.lerp(a, b, 0.3), torch.addcdiv(a, b, w, value=-2),
        torch.addcmul(a, b, w, value=0.5), a.clamp(min=torch.tensor([0.5, 0, 0, 5.0])),
        a.clamp(max=torch.tensor(0.5)), a.clamp(torch.tensor([1.0]), torch.tensor([0.0])),
        torch.clip(a, -1), a.clamp_min(0.5), a.clamp_max(torch.tensor([0.0, 0, 0, 0])),
        torch.xlogy(a, b.abs()), torch.special.xlog1py(a, b.abs()), torch.igamma(
            b.abs() + 1, w), torch.igammac(b.abs() + 1, w))
    _err(log, lambda: a.clamp())
    _err(log, lambda: torch.lerp(a, b.double(), 0.5))
    _err(log, lambda: torch.addcdiv(torch.tensor([1]), torch.tensor([2]), torch.tensor([3])))


@program(tol=_ULP)
def norms_and_renorms(torch, log):
    x = torch.randn(3, 4, dtype=torch.float64)
    log(x.renorm(2, 0, 1.0), x.renorm(1, 1, 0.5), x.norm(), x.norm(p="fro", dim=(0, 1)),
        x.norm(p="nuc"), x.norm(0), x.norm(float("inf"), 1), x.norm(-float("inf"), 0),
        x.norm(3, 1, keepdim=True), torch.linalg.norm(x, ord=2), torch.linalg.norm(x, -2),
        torch.linalg.vector_norm(x, 0.5, dim=(0, 1)), torch.linalg.matrix_norm(x, "fro"),
        torch.nn.functional.normalize(x, p=1, dim=0), x.dist(x.flip(1), 3))
    _err(log, lambda: x.renorm(2, 0, -1.0))
    _err(log, lambda: torch.linalg.matrix_norm(x[0]))
    _err(log, lambda: torch.linalg.norm(x, "fro", dim=0))


@program()
def where_masks_and_takes(torch, log):
    x = torch.arange(12.0).reshape(3, 4)
    m = x % 3 == 0
    log(torch.where(m, x, -1.0), torch.where(m, 1, 0).dtype, torch.where(m), x.masked_fill(
        m, float("nan")), x.masked_select(m[0]), x.masked_scatter(m, torch.arange(-1.0, -9, -1)),
        torch.take(x, torch.tensor([[0, 11], [5, -1]])), torch.take_along_dim(x, torch.tensor(
            [[0], [3], [1]]), 1), torch.take_along_dim(x, torch.tensor([2, 0])),
        x.index_select(1, torch.tensor([3, 0, 3])), x.index_fill(1, torch.tensor([0]), 9),
        x.index_add(0, torch.tensor([2, 2]), torch.ones(2, 4), alpha=3),
        x.index_copy(0, torch.tensor([1]), torch.zeros(1, 4)), x.put(torch.tensor([0, 0]),
                                                                     torch.tensor([5.0, 6.0]),
                                                                     accumulate=True)[0])
    _err(log, lambda: torch.take(x, torch.tensor([12])))
    _err(log, lambda: x.masked_fill(m.int(), 0))
    _err(log, lambda: torch.where(m, x, torch.ones(2)))


def _names():
    return PROGRAMS.params()


@pytest.mark.parametrize("name", _names())
def test_program(name):
    fn, tol, _ = PROGRAMS[name]
    _check(fn, tol)
