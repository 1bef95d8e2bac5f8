"""Ordinary PyTorch programs, round 22 (printing of unusual tensors and print-option mixes;
dtype promotion corners across binary ops; in-place writes on views and version counters;
mixed advanced/basic indexing and index_put; reductions with dtype= and out=; linalg and fft
corner cases; train/eval switching, state_dict loading, parametrizations and pruning; chained
learning-rate schedulers; DataLoader samplers and collation) run under ember and torch from the
same seed: everything they record must agree (the harness is rounds 17 and 18's)."""
import importlib
import io

import pytest

from test_probe18_programs import _check

PROGRAMS = {}


def program(tol=None, xfail=None):
    """Registers a program; tol: the float tolerance (None: bit for bit); xfail: the difference
    left that makes it fail (a strict xfail)."""
    def deco(fn):
        PROGRAMS[fn.__name__] = (fn, tol, xfail)
        return fn
    return deco


# Programs through matmuls compare within 1e-4 (NumPy's BLAS and torch's MKL sum in different
# orders); programs through float32 transcendentals within 1e-6; elementwise bit for bit.
_TRAIN = 1e-4
_ULP = 1e-6


def _err(log, fn):
    """Runs fn, logging the class and message of what it raised (or what it returned)."""
    try:
        out = fn()
    except Exception as e:
        log("raised", type(e).__name__, str(e))
    else:
        log("ran", out)


def _printing(torch, **options):
    """A context that sets print options and restores the defaults."""
    class Ctx:
        def __enter__(self):
            torch.set_printoptions(**options)

        def __exit__(self, *exc):
            torch.set_printoptions(profile="default")
            torch.set_printoptions(sci_mode=None)
    return Ctx()


# Printing of unusual tensors


@program()
def print_sci_mode_forced_on_and_off_across_ranges(torch, log):
    values = [torch.tensor([1e-10, 1.0, 1e10]), torch.tensor([0.001, 0.01]),
              torch.tensor([123456789.0, 1.5]), torch.tensor([-0.0, 0.0, 1e-5]),
              torch.tensor([1e20, -1e-20], dtype=torch.float64)]
    for sci in (True, False, None):
        with _printing(torch, sci_mode=sci, precision=3):
            for v in values:
                print(v)
                print(repr(v * 3))


@program()
def print_wide_rows_wrap_at_linewidth(torch, log):
    x = torch.arange(36.0).view(3, 12) * 1.37
    for width in (20, 45, 80, 200):
        with _printing(torch, linewidth=width):
            print(x)
            print(x.to(torch.int64) * 1000)
            print(x[0] > 10)
    with _printing(torch, linewidth=30, threshold=5, edgeitems=2):
        print(torch.arange(100.0).view(10, 10) / 7)


@program()
def print_complex_tensors_with_special_values(torch, log):
    z = torch.tensor([1 + 2j, -0.5j, float("inf") + 1j, complex(float("nan"), 2), 1e-6 + 1e6j])
    print(z)
    print(z.to(torch.complex128))
    print(torch.tensor([[1 + 1j, 2 - 3j], [0j, -1 - 1j]]))
    print(torch.complex(torch.tensor([1e-9]), torch.tensor([1.0])))
    with _printing(torch, precision=2, sci_mode=True):
        print(z[:2])
    print(torch.zeros(0, dtype=torch.complex64))
    print(torch.tensor(3 - 4j))


@program()
def print_small_integer_and_bool_dtypes_nd(torch, log):
    print(torch.tensor([[-128, 0, 127]], dtype=torch.int8))
    print(torch.tensor([0, 255, 7], dtype=torch.uint8).view(3, 1))
    print(torch.tensor([True, False]).view(1, 2, 1))
    print(torch.tensor([-32768, 5], dtype=torch.int16))
    print(torch.tensor([2 ** 40, -3]))
    print(torch.tensor([1, 2], dtype=torch.int32) * 1000000)
    print(torch.ones(2, 0, dtype=torch.int8))
    print(torch.tensor(7, dtype=torch.uint8), torch.tensor(False))
    print(torch.arange(2000, dtype=torch.int16))
    print(torch.arange(12, dtype=torch.uint8).view(2, 2, 3))


@program()
def print_zero_dim_and_empty_tensors_with_flags(torch, log):
    print(torch.tensor(3.25))
    print(torch.tensor(-0.0), torch.tensor(float("nan")), torch.tensor(float("-inf")))
    print(torch.tensor(2.5, dtype=torch.float64, requires_grad=True))
    print(torch.empty(0, 3))
    print(torch.empty(2, 0, 4, dtype=torch.float16))
    print(torch.empty(0, dtype=torch.int64))
    print(torch.zeros(0, 2, requires_grad=True) * 2)
    print(torch.tensor([], dtype=torch.bool))
    print(torch.tensor(1e-30, dtype=torch.float64))
    print(repr(torch.tensor(100000.0)), str(torch.tensor(1e16)))


@program()
def print_half_bfloat16_precision_mixes(torch, log):
    x = torch.tensor([0.1, 1.0 / 3, 1000.5, 65504.0, 6e-5])
    for dt in (torch.float16, torch.bfloat16):
        print(x.to(dt))
        with _printing(torch, precision=6):
            print(x.to(dt))
        print((x.to(dt) * 3).sum())
    print(torch.tensor([1.0, 2.0], dtype=torch.bfloat16))
    print(torch.tensor([1e-8, 1e8], dtype=torch.float16))


@program()
def print_profiles_and_threshold_in_3d(torch, log):
    x = torch.arange(2 * 8 * 8, dtype=torch.float32).view(2, 8, 8) / 3
    with _printing(torch, profile="short"):
        print(x)
    with _printing(torch, threshold=20, edgeitems=1):
        print(x)
        print(x.int())
        print(torch.arange(30.0).view(1, 30))
    with _printing(torch, edgeitems=4, threshold=50, precision=1):
        print(torch.linspace(0, 1, 100))


@program()
def print_float_tensors_that_hold_integers_and_mixed(torch, log):
    print(torch.tensor([1.0, 2.0, -3.0]))
    print(torch.tensor([1.0, 2.5]))
    print(torch.tensor([100.0, 2e8]))
    print(torch.tensor([1.0, float("inf"), float("nan")]))
    print(torch.tensor([1e-4, 1.0]))
    print(torch.tensor([0.0001, 10000.0]))
    print(torch.tensor([1.0e3, 1.0e-3], dtype=torch.float64))
    print(torch.tensor([[1.12345678, 2.0], [3.0, 4.0]], dtype=torch.float64))
    print(torch.tensor([0.1 + 0.2]).double())
    print(torch.tensor([-1e-3, 5e3]))


@program()
def format_specs_on_zero_dim_and_vectors(torch, log):
    a = torch.tensor(3.14159)
    log(f"{a:.2f}", f"{a:10.3e}", format(torch.tensor(7), "05d"), f"{torch.tensor(True)}")
    log(f"{a}", f"{torch.tensor([1.5, 2.0])}", "{:}".format(torch.tensor(2)))
    _err(log, lambda: f"{torch.tensor([1.0, 2.0]):.2f}")
    log(f"{torch.tensor(2.5, dtype=torch.float64):g}", f"{torch.tensor(-1, dtype=torch.int8):+d}")
    log(str(torch.tensor(1.0).item()), "%.3f" % torch.tensor(2.0), "%d" % torch.tensor(4))


@program()
def print_sparse_coo_and_csr_tensors(torch, log):
    i = torch.tensor([[0, 1, 1], [2, 0, 2]])
    v = torch.tensor([3.0, 4.0, 5.0])
    s = torch.sparse_coo_tensor(i, v, (2, 3))
    print(s)
    print(s.coalesce())
    print(s.to_dense())
    print(s.to_sparse_csr())
    log(s.is_sparse, str(s.layout), s._nnz(), s.coalesce().indices(), s.coalesce().values())
    print(torch.sparse_coo_tensor(torch.zeros(1, 0, dtype=torch.long), torch.zeros(0), (4,)))



# dtype promotion corners


def _values(torch, dt):
    """A small tensor of dtype dt holding edge values of its kind."""
    if dt == torch.bool:
        return torch.tensor([True, False, True])
    if dt in (torch.uint8,):
        return torch.tensor([0, 7, 255], dtype=dt)
    if dt == torch.int8:
        return torch.tensor([-128, 3, 127], dtype=dt)
    if dt.is_complex:
        return torch.tensor([1 - 2j, -0.5j, 3.0], dtype=dt)
    if dt.is_floating_point:
        return torch.tensor([-1.5, 0.25, 3.0], dtype=dt)
    return torch.tensor([-7, 2, 5], dtype=dt)


def _binary_sweep(torch, log, ops, dtypes, others):
    for name in ops:
        op = getattr(torch, name)
        for dt in dtypes:
            a = _values(torch, dt)
            for b in others(dt):
                try:
                    r = op(a, b)
                except Exception as e:
                    log(name, str(dt), "raised", type(e).__name__, str(e))
                else:
                    log(name, str(dt), r)


@program()
def binary_ops_between_small_int_dtypes_and_bool(torch, log):
    dts = [torch.bool, torch.uint8, torch.int8, torch.int16]
    _binary_sweep(torch, log, ["add", "sub", "mul", "floor_divide", "remainder", "maximum",
                               "bitwise_and", "bitwise_xor", "eq", "lt", "fmod"],
                  dts, lambda dt: [_values(torch, o) for o in dts])


@program()
def binary_ops_of_small_ints_with_python_scalars(torch, log):
    dts = [torch.bool, torch.uint8, torch.int8, torch.int32]
    _binary_sweep(torch, log, ["add", "mul", "sub", "div", "floor_divide", "remainder", "pow",
                               "maximum" if False else "fmod", "true_divide", "atan2", "ge"],
                  dts, lambda dt: [2, -1, 2.5, True, 1 + 1j] if dt != torch.bool else
                  [2, 2.5, True, 1j])


@program()
def binary_ops_with_zero_dim_tensors_of_other_categories(torch, log):
    # (a half tensor with a complex 0-d tensor is complex32, which ember does not have)
    dts = [torch.uint8, torch.int8, torch.int64, torch.float16, torch.float32]
    zs = ["tensor(3, dtype=torch.int64)", "tensor(2.5, dtype=torch.float64)",
          "tensor(True)", "tensor(200, dtype=torch.uint8)", "tensor(-3, dtype=torch.int8)"]
    _binary_sweep(torch, log, ["add", "mul", "div", "sub", "maximum", "hypot", "copysign"],
                  dts, lambda dt: [eval("torch." + z, {"torch": torch}) for z in zs] +
                  ([torch.tensor(1j, dtype=torch.complex128)] if dt != torch.float16 else []))


@program()
def binary_ops_mixing_complex_and_half(torch, log):
    dts = [torch.float32, torch.bfloat16, torch.complex64]
    _binary_sweep(torch, log, ["add", "mul", "div", "sub", "eq"], dts,
                  lambda dt: [_values(torch, torch.complex64), 1.5,
                              torch.tensor(2.0, dtype=torch.float64),
                              _values(torch, torch.complex128), _values(torch, torch.float64)])


@program()
def result_type_promote_types_and_can_cast_tables(torch, log):
    dts = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
           torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
           torch.complex128]
    for a in dts:
        log([str(torch.promote_types(a, b)) for b in dts])
        log([torch.can_cast(a, b) for b in dts])
        t = torch.ones(2, dtype=a)
        half = a in (torch.float16,)      # (with a complex number: complex32, not in ember)
        log([str(torch.result_type(t, s)) for s in (1, 1.0, True) + ((1j,) if not half else ())])
        log([str(torch.result_type(t, torch.tensor(1, dtype=b))) for b in dts
             if not (half and b.is_complex)])
    log(str(torch.result_type(2, 3.0)), str(torch.result_type(True, 2)),
        str(torch.result_type(1j, True)))


@program()
def in_place_ops_that_cannot_cast_their_result(torch, log):
    for dt in (torch.int64, torch.uint8, torch.bool, torch.float32, torch.int8):
        x = _values(torch, dt)
        for op, arg in [("add_", 1.5), ("mul_", 2), ("div_", 2), ("sub_", True),
                        ("add_", torch.tensor(1.0)), ("mul_", 1j), ("floor_divide_", 2),
                        ("pow_", 2), ("bitwise_or_", 1), ("clamp_", 0.5), ("lerp_", 0.5)]:
            y = x.clone()
            try:
                if op == "lerp_":
                    y.lerp_(y, arg)
                else:
                    getattr(y, op)(arg)
            except Exception as e:
                log(str(dt), op, type(e).__name__, str(e))
            else:
                log(str(dt), op, y)


@program()
def where_clamp_and_lerp_with_mixed_scalars(torch, log):
    c = torch.tensor([True, False, True])
    i = torch.tensor([1, 2, 3], dtype=torch.int32)
    u = torch.tensor([1, 2, 3], dtype=torch.uint8)
    h = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float16)
    log(torch.where(c, 1, 0), torch.where(c, 1.0, 0), torch.where(c, i, 2.5),
        torch.where(c, u, -1), torch.where(c, h, 2.0), torch.where(c, h, torch.tensor(2.0)),
        torch.where(c, u, torch.tensor(-1, dtype=torch.int8)), torch.where(c, True, False))
    log(torch.clamp(i, 0.5, 2.5), torch.clamp(u, max=-1), torch.clamp(h, min=torch.tensor(1.5)),
        torch.clamp(i, min=torch.tensor([2, 0, 5])))
    log(torch.lerp(h, torch.ones(3, dtype=torch.float16), 0.3))
    _err(log, lambda: torch.lerp(h, torch.ones(3), 0.5))
    log(torch.addcmul(i, i, i, value=2), torch.addcdiv(h, h, h, value=0.5))
    _err(log, lambda: torch.addcmul(i, i, i, value=0.5))
    _err(log, lambda: torch.addcdiv(i, i, i))


@program()
def division_rounding_modes_across_int_dtypes(torch, log):
    for dt in (torch.int8, torch.uint8, torch.int32, torch.int64, torch.float16, torch.float64):
        a = torch.tensor([-7, -1, 0, 5, 7], dtype=dt) if dt != torch.uint8 else \
            torch.tensor([250, 1, 0, 5, 7], dtype=dt)
        b = torch.tensor([2, 3, -2, -3, 2], dtype=dt) if dt != torch.uint8 else \
            torch.tensor([2, 3, 2, 3, 2], dtype=dt)
        for mode in (None, "trunc", "floor"):
            log(str(dt), mode, torch.div(a, b, rounding_mode=mode),
                torch.div(a, 2, rounding_mode=mode), torch.div(a, 1.5, rounding_mode=mode))
        _err(log, lambda: torch.div(a, torch.zeros_like(b), rounding_mode="floor"))
        log(torch.remainder(a, -3), torch.fmod(a, -3), torch.remainder(-5, a[1:2]))


@program()
def tensor_factories_infer_dtypes_from_python_values(torch, log):
    for v in ([True, 1], [1, 2.0], [1, 2j], [True, 1.5], [[1], [2]], [2 ** 62, 1],
              [0.5, True, 3], (1, 2), [torch.tensor(1), 2]):
        try:
            t = torch.tensor(v)
        except Exception as e:
            log("raised", type(e).__name__, str(e))
        else:
            log(t)
    log(torch.full((2,), True), torch.full((2,), 3), torch.full((2,), 3.0), torch.full((1,), 1j))
    log(torch.arange(5), torch.arange(0, 1, 0.25), torch.arange(True, 4), torch.arange(0.0, 3))
    log(torch.as_tensor([1, 2], dtype=torch.float16), torch.scalar_tensor(3),
        torch.scalar_tensor(True), torch.tensor(2 ** 63 - 1))
    _err(log, lambda: torch.tensor(2 ** 64))
    _err(log, lambda: torch.tensor([1, "a"]))
    _err(log, lambda: torch.tensor([[1, 2], [3]]))

@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=PROGRAMS[n][2]))
    if PROGRAMS[n][2] else n for n in sorted(PROGRAMS)])
def test_program_like_torch(name):
    fn, tol, _ = PROGRAMS[name]
    _check(fn, tol)
