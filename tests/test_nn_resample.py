"""Resampling and padding against torch: F.interpolate (nearest, nearest-exact, linear, bilinear,
bicubic, trilinear, area; size / scale_factor / recompute_scale_factor / align_corners;
antialiased bilinear and bicubic, float and uint8), the Upsample modules, F.pad in every mode
(negative pads crop) and the padding modules, pixel (un)shuffle, grid_sample and affine_grid;
outputs and gradients, gradchecks, reprs, errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn as nn
import ember.nn.functional as F
from nn_oracle import DTYPES, check_fn, check_module, gradcheck, pair, raises_like, rand

pytestmark = [pytest.mark.filterwarnings("ignore:Default grid_sample and affine_grid"),
              pytest.mark.filterwarnings("ignore:Since version 1.3.0, affine_grid")]

X4 = (2, 3, 9, 8)
SIZES = [dict(size=(5, 13)), dict(scale_factor=2), dict(scale_factor=(0.5, 1.7)),
         dict(scale_factor=1.5, recompute_scale_factor=True), dict(size=(9, 8)), dict(size=4)]
MODES = [("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True),
         ("bicubic", False), ("bicubic", True), ("area", None)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,align", MODES)
@pytest.mark.parametrize("kw", SIZES, ids=lambda k: "-".join(f"{a}={b}" for a, b in k.items()))
def test_interpolate_2d(kw, mode, align, dtype):
    check_fn(lambda x: F.interpolate(x, mode=mode, align_corners=align, **kw),
             lambda x: TF.interpolate(x, mode=mode, align_corners=align, **kw),
             [rand(X4, dtype)], dtype)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_interpolate_forward_bit_exact(dtype, seed):
    """Random sizes, scales, channel counts and layouts: linear, bilinear, bicubic and
    trilinear equal torch's outputs bit for bit (its generic kernel's fused sums per dim; its
    channels-last kernel, which bilinear also takes for outputs of height + width <= 128, over
    all corners at once, vector and scalar channels apart; floorf source indices)."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        mode = str(rng.choice(["linear", "bilinear", "bicubic", "trilinear"]))
        nsp = {"linear": 1, "trilinear": 3}.get(mode, 2)
        big = 40 if nsp < 3 else 10
        shape = (int(rng.integers(1, 3)), int(rng.choice([1, 3, 4, 5, 8, 11]))) + tuple(
            int(rng.integers(2, big)) for _ in range(nsp))
        a = rng.standard_normal(shape).astype(dtype)
        align = bool(rng.integers(0, 2))
        if rng.integers(0, 2):
            kw = dict(size=tuple(int(rng.integers(1, 2 * big)) for _ in range(nsp)))
        else:
            kw = dict(scale_factor=tuple(float(f) for f in rng.uniform(0.5, 3, nsp)))
        x, t = ember.tensor(a), torch.tensor(a)
        if nsp > 1 and rng.integers(0, 2):
            x = x.contiguous(memory_format=ember.channels_last if nsp == 2
                             else ember.channels_last_3d)
            t = t.contiguous(memory_format=torch.channels_last if nsp == 2
                             else torch.channels_last_3d)
        want = TF.interpolate(t, mode=mode, align_corners=align, **kw)
        got = F.interpolate(x, mode=mode, align_corners=align, **kw)
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=f"{shape} {kw}")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("mode", ["linear", "bilinear", "bicubic", "trilinear"])
def test_interpolate_low_precision_bit_exact(mode, dtype):
    """float16/bfloat16: torch's generic kernel holds its weights in the input's dtype
    (linear: lambda1 and 1 - lambda1 rounded, cubic: each coefficient), its channels-last one
    in float32, whose vector loop takes 16 channels of a 2-byte dtype."""
    nsp = {"linear": 1, "trilinear": 3}.get(mode, 2)
    rng = np.random.default_rng(0)
    for c, sizes in ((3, (9, 11, 7)), (8, (40, 70, 9)), (17, (90, 70, 5))):
        a = rng.standard_normal((2, c) + (5, 7, 6)[:nsp]).astype(np.float32)
        x = ember.tensor(a).to(getattr(ember, dtype))
        t = torch.tensor(a).to(getattr(torch, dtype))
        got = F.interpolate(x, size=sizes[:nsp], mode=mode).float().numpy()
        want = TF.interpolate(t, size=sizes[:nsp], mode=mode).float().numpy()
        if dtype == "float16" and mode == "bilinear":
            # its float16 channels-last kernel rounds otherwise in about 1e-4 of the outputs
            assert np.mean(got != want) < 1e-3
        else:
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,align,shape,kw", [
    ("linear", False, (2, 3, 7), dict(scale_factor=2.5)),
    ("linear", True, (2, 3, 7), dict(size=4)),
    ("nearest", None, (2, 3, 7), dict(size=10)),
    ("area", None, (2, 3, 7), dict(size=3)),
    ("trilinear", True, (1, 2, 3, 4, 5), dict(size=(4, 6, 3))),
    ("trilinear", False, (1, 2, 3, 4, 5), dict(scale_factor=(1.5, 0.5, 2))),
    ("nearest", None, (1, 2, 3, 4, 5), dict(size=(4, 6, 3))),
    ("nearest-exact", None, (1, 2, 3, 4, 5), dict(scale_factor=1.7)),
])
def test_interpolate_1d_3d(mode, align, shape, kw, dtype):
    check_fn(lambda x: F.interpolate(x, mode=mode, align_corners=align, **kw),
             lambda x: TF.interpolate(x, mode=mode, align_corners=align, **kw),
             [rand(shape, dtype)], dtype)


def test_interpolate_gradcheck():
    for mode, align in (("bilinear", False), ("bicubic", True), ("nearest", None)):
        gradcheck(lambda x: F.interpolate(x, size=(5, 11), mode=mode, align_corners=align),
                  [rand(X4, "float64")])


def test_interpolate_wide_taps():
    """Strong downsampling and global pooling run through the dense path."""
    check_fn(lambda x: F.interpolate(x, size=(2, 3), mode="area"),
             lambda x: TF.interpolate(x, size=(2, 3), mode="area"), [rand((2, 3, 20, 31))])
    check_fn(lambda x: F.adaptive_avg_pool2d(x, 1), lambda x: TF.adaptive_avg_pool2d(x, 1),
             [rand((2, 3, 20, 31))])


def test_interpolate_uint8_nearest():
    x = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5).astype(np.uint8)
    check_fn(lambda t: F.interpolate(t, scale_factor=2), lambda t: TF.interpolate(
        t, scale_factor=2), [x], grad=False)


def test_interpolate_grad_fn_names():
    x, t = pair(rand(X4), True)
    for mode in ("nearest", "bilinear", "bicubic", "nearest-exact"):
        assert F.interpolate(x, scale_factor=2, mode=mode).grad_fn.name() == type(
            TF.interpolate(t, scale_factor=2, mode=mode).grad_fn).__name__


# ---- antialias ------------------------------------------------------------------------------
AA_SIZES = [dict(size=(4, 3)), dict(size=(2, 1)), dict(size=(13, 17)), dict(size=(5, 13)),
            dict(scale_factor=(0.3, 0.45)), dict(scale_factor=0.5, recompute_scale_factor=True),
            dict(scale_factor=(2.5, 0.7)), dict(size=(9, 8)), dict(scale_factor=(1.1, 0.6)),
            dict(size=(3, 1)), dict(size=1)]
AA_MODES = [("bilinear", False), ("bilinear", True), ("bicubic", False), ("bicubic", True)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,align", AA_MODES)
@pytest.mark.parametrize("kw", AA_SIZES, ids=lambda k: "-".join(f"{a}={b}" for a, b in k.items()))
def test_interpolate_antialias(kw, mode, align, dtype):
    """Output and input gradient, downsampling (the filter widens) and upsampling; includes
    torch's two corner cases: a width-1 output (the height pass reuses the first row's taps)
    and a same-size dim under a scale_factor (copied forward, weighted backward)."""
    for shape in (X4, (1, 2, 23, 17)):
        check_fn(lambda x: F.interpolate(x, mode=mode, align_corners=align, antialias=True, **kw),
                 lambda x: TF.interpolate(x, mode=mode, align_corners=align, antialias=True,
                                          **kw), [rand(shape, dtype)], dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode,align", AA_MODES)
def test_interpolate_antialias_weights_bit_exact(mode, align, dtype):
    """Each output of one-hot rows is one of torch's filter weights, so the weights must agree
    bit for bit (the cubic filter's multiply-adds are fused once, in float64 too)."""
    for n, o in ((53, 17), (64, 29), (30, 9), (12, 5)):
        eye = np.eye(n, dtype=dtype)[None, :, None, :]
        got = F.interpolate(ember.tensor(eye), size=(1, o), mode=mode, align_corners=align,
                            antialias=True).numpy()
        want = TF.interpolate(torch.tensor(eye), size=(1, o), mode=mode, align_corners=align,
                              antialias=True).numpy()
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_interpolate_antialias_forward_bit_exact(dtype, seed):
    """Random sizes, scales and layouts: the forward equals torch's bit for bit (each output
    sums its taps in torch's order, the last few fused as its AVX2 build compiles them; a
    width-1 output of a contiguous input reuses the first row's taps, a channels-last one
    does not)."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        mode = str(rng.choice(["bilinear", "bicubic"]))
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 60)),
                 int(rng.integers(1, 60)))
        a = rng.standard_normal(shape).astype(dtype)
        align = bool(rng.integers(0, 2))
        if rng.integers(0, 2):
            kw = dict(size=(int(rng.integers(1, 70)), int(rng.integers(1, 70))))
        else:
            kw = dict(scale_factor=tuple(float(f) for f in rng.uniform(0.1, 2, 2)))
        x, t = ember.tensor(a), torch.tensor(a)
        if rng.integers(0, 3) == 0:
            x = x.contiguous(memory_format=ember.channels_last)
            t = t.contiguous(memory_format=torch.channels_last)
        want = TF.interpolate(t, mode=mode, align_corners=align, antialias=True, **kw)
        got = F.interpolate(x, mode=mode, align_corners=align, antialias=True, **kw)
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=f"{shape} {kw}")


@pytest.mark.parametrize("mode,align", AA_MODES)
def test_interpolate_antialias_gradcheck_and_grad_fn(mode, align):
    for size in ((4, 3), (11, 5)):
        gradcheck(lambda x: F.interpolate(x, size=size, mode=mode, align_corners=align,
                                          antialias=True), [rand((1, 2, 9, 8), "float64")])
    x, t = pair(rand(X4), True)
    assert F.interpolate(x, size=(4, 5), mode=mode, antialias=True).grad_fn.name() == type(
        TF.interpolate(t, size=(4, 5), mode=mode, antialias=True).grad_fn).__name__


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_interpolate_antialias_uint8(mode, seed):
    """torch's integer passes on int16 weights, bit for bit (<= 4 channels: the AVX kernel;
    more: the generic one)."""
    rng = np.random.default_rng(seed)
    for _ in range(10):
        c = int(rng.choice([1, 3, 4, 5]))
        a = rng.integers(0, 256, (2, c, int(rng.integers(3, 20)), int(rng.integers(3, 20))))
        size = (int(rng.integers(1, 24)), int(rng.integers(1, 24)))
        align = bool(rng.integers(0, 2))
        check_fn(lambda x: F.interpolate(x, size=size, mode=mode, align_corners=align,
                                         antialias=True),
                 lambda x: TF.interpolate(x, size=size, mode=mode, align_corners=align,
                                          antialias=True),
                 [a.astype(np.uint8)], grad=False, tol=dict(rtol=0, atol=0))


UPSAMPLE = [
    ("Upsample", dict(scale_factor=2)),
    ("Upsample", dict(size=(3, 4), mode="bilinear", align_corners=True)),
    ("Upsample", dict(scale_factor=(2, 3), mode="bicubic")),
    ("Upsample", dict(size=5, mode="nearest-exact")),
    ("UpsamplingNearest2d", dict(scale_factor=2)),
    ("UpsamplingBilinear2d", dict(size=3)),
]


@pytest.mark.parametrize("cls,kw", UPSAMPLE)
def test_upsample_modules(cls, kw):
    e, t = getattr(nn, cls)(**kw), getattr(torch.nn, cls)(**kw)
    assert repr(e) == repr(t)
    check_module(e, t, [rand(X4)])


# ---- padding --------------------------------------------------------------------------------
PADS = [(1, 2), (1, 2, 2, 1), (-1, 2, 3, -2), (0, 0, 2, 2), (2, -1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad(mode, dtype):
    for shape, pads in [(X4, p) for p in PADS] + [((2, 3, 6), (2, 3)), ((2, 3, 6), (-2, 3)),
                                                  ((2, 3, 4, 5, 6), (1, 2, 0, 1, 2, 1)),
                                                  ((3, 4, 5), (1, 1, 2, 0))]:
        try:
            TF.pad(torch.tensor(rand(shape, dtype)), pads, mode=mode)
        except (RuntimeError, NotImplementedError):
            raises_like(lambda: F.pad(ember.tensor(rand(shape, dtype)), pads, mode=mode),
                        lambda: TF.pad(torch.tensor(rand(shape, dtype)), pads, mode=mode))
            continue
        check_fn(lambda x: F.pad(x, pads, mode=mode), lambda x: TF.pad(x, pads, mode=mode),
                 [rand(shape, dtype)], dtype)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
@pytest.mark.parametrize("shape,pads", [((2, 3, 6), (-1, 5)), ((2, 3, 6), (5, -1)),
                                        ((2, 3, 6), (-6, 1)), ((2, 3, 6), (-3, -3)),
                                        ((1, 3, 4), (1, -2, -1, 2)), ((1, 3, 4), (-2, -2, 0, 0)),
                                        ((1, 2, 3, 4), (-1, 3, 0, 0, 1, -1))])
def test_pad_crop_one_side_pad_the_other(mode, shape, pads):
    """Reflect and replicate index the uncropped input (torch's kernels): a crop on one side
    and a pad on the other bring the cropped elements back; 2-d and 3-d may come out empty,
    1-d may not. (torch's circular reads uninitialised memory for such pads: not compared.)"""
    try:
        TF.pad(torch.tensor(rand(shape, "float64")), pads, mode=mode)
    except RuntimeError:
        raises_like(lambda: F.pad(ember.tensor(rand(shape, "float64")), pads, mode=mode),
                    lambda: TF.pad(torch.tensor(rand(shape, "float64")), pads, mode=mode))
        return
    check_fn(lambda x: F.pad(x, pads, mode=mode), lambda x: TF.pad(x, pads, mode=mode),
             [rand(shape, "float64")], "float64")


def test_pad_constant_value_and_grad_fn():
    check_fn(lambda x: F.pad(x, (1, 2, 3, 4, 1, 1), value=2.5),
             lambda x: TF.pad(x, (1, 2, 3, 4, 1, 1), value=2.5), [rand(X4)])
    check_fn(lambda x: F.pad(x, (1, 2)), lambda x: TF.pad(x, (1, 2)),
             [np.arange(12).reshape(3, 4)], grad=False)
    x, t = pair(rand(X4), True)
    for mode in ("constant", "reflect", "replicate"):
        assert F.pad(x, (1, 1, 1, 1), mode=mode).grad_fn.name() == type(
            TF.pad(t, (1, 1, 1, 1), mode=mode).grad_fn).__name__


def test_pad_gradcheck():
    for mode in ("reflect", "replicate", "circular"):
        gradcheck(lambda x: F.pad(x, (2, 1, -1, 2), mode=mode), [rand(X4, "float64")])


PAD_MODULES = [("ZeroPad1d", (2,)), ("ZeroPad2d", ((1, 2, 0, 1),)), ("ZeroPad3d", (1,)),
               ("ConstantPad1d", ((1, 2), 3.5)), ("ConstantPad2d", (1, -1.0)),
               ("ConstantPad3d", ((1, 0, 1, 0, 0, 2), 0)), ("ReflectionPad1d", (2,)),
               ("ReflectionPad2d", ((1, 2, 3, 1),)), ("ReflectionPad3d", (1,)),
               ("ReplicationPad1d", ((3, 1),)), ("ReplicationPad2d", (2,)),
               ("ReplicationPad3d", (1,)), ("CircularPad1d", (2,)),
               ("CircularPad2d", ((1, 2, 2, 1),)), ("CircularPad3d", (1,))]


@pytest.mark.parametrize("cls,args", PAD_MODULES)
def test_pad_modules(cls, args):
    e, t = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
    assert repr(e) == repr(t)
    nsp = int(cls[-2])
    check_module(e, t, [rand((2, 3) + (5, 6, 4)[:nsp])])
    check_module(e, t, [rand((3,) + (5, 6, 4)[:nsp])])


def test_circular_pad_module_rank():
    raises_like(lambda: nn.CircularPad2d(1)(ember.tensor(rand((3,)))),
                lambda: torch.nn.CircularPad2d(1)(torch.tensor(rand((3,)))))


# ---- pixel shuffle --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_pixel_shuffle(dtype):
    check_fn(lambda x: F.pixel_shuffle(x, 2), lambda x: TF.pixel_shuffle(x, 2),
             [rand((2, 12, 3, 4), dtype)], dtype)
    check_fn(lambda x: F.pixel_unshuffle(x, 2), lambda x: TF.pixel_unshuffle(x, 2),
             [rand((2, 2, 3, 4, 6), dtype)], dtype)
    for e, t, shape in ((nn.PixelShuffle(3), torch.nn.PixelShuffle(3), (1, 18, 2, 2)),
                        (nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2), (3, 4, 6))):
        assert repr(e) == repr(t)
        check_module(e, t, [rand(shape, dtype)], dtype)
    x, t = pair(rand((2, 12, 3, 4)), True)
    assert F.pixel_shuffle(x, 2).grad_fn.name() == type(TF.pixel_shuffle(t, 2).grad_fn).__name__


# ---- grid_sample / affine_grid --------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample(mode, padding_mode, align, dtype):
    x = rand((2, 3, 5, 6), dtype)
    grid = rand((2, 4, 7, 2), dtype, 1, -1.6, 1.6)
    check_fn(lambda a, g: F.grid_sample(a, g, mode, padding_mode, align),
             lambda a, g: TF.grid_sample(a, g, mode, padding_mode, align), [x, grid], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample_3d(mode, padding_mode, align, dtype):
    x = rand((2, 3, 4, 5, 6), dtype)
    grid = rand((2, 3, 2, 4, 3), dtype, 1, -1.6, 1.6)
    e, t = check_fn(lambda a, g: F.grid_sample(a, g, mode, padding_mode, align),
                    lambda a, g: TF.grid_sample(a, g, mode, padding_mode, align), [x, grid],
                    dtype)
    assert e.grad_fn.name() == type(t.grad_fn).__name__


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample_exact_points(mode, padding_mode, align):
    """Grid points on pixel centres, halfway between them (nearest rounds half to even) and far
    outside; single-pixel axes."""
    grid = np.array([0.0, 0.5, 0.25, -0.75, 1e6, -3e5, -0.5, 0.0], np.float32).reshape(1, 2, 2, 2)
    for shape in ((1, 2, 4, 4), (1, 2, 1, 3)):
        check_fn(lambda a, g: F.grid_sample(a, g, mode, padding_mode, align),
                 lambda a, g: TF.grid_sample(a, g, mode, padding_mode, align),
                 [rand(shape), grid])


@pytest.mark.parametrize("shapes", [((0, 3, 4, 5), (0, 2, 3, 2)), ((2, 0, 4, 5), (2, 2, 3, 2)),
                                    ((2, 3, 4, 5), (2, 0, 3, 2)),
                                    ((0, 3, 2, 4, 5), (0, 2, 3, 2, 3))])
def test_grid_sample_empty(shapes):
    check_fn(lambda a, g: F.grid_sample(a, g, align_corners=False),
             lambda a, g: TF.grid_sample(a, g, align_corners=False),
             [rand(shapes[0]), rand(shapes[1])])


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample_gradcheck(mode, padding_mode, align):
    gradcheck(lambda a, g: F.grid_sample(a, g, mode, padding_mode, align),
              [rand((2, 3, 5, 6), "float64"), rand((2, 4, 7, 2), "float64", 1, -1.6, 1.6)])
    if mode == "bilinear":
        gradcheck(lambda a, g: F.grid_sample(a, g, mode, padding_mode, align),
                  [rand((2, 3, 4, 5, 6), "float64"),
                   rand((2, 3, 2, 4, 3), "float64", 1, -1.6, 1.6)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align", [False, True])
def test_affine_grid(align, dtype):
    check_fn(lambda t: F.affine_grid(t, (2, 3, 4, 5), align),
             lambda t: TF.affine_grid(t, (2, 3, 4, 5), align), [rand((2, 2, 3), dtype)], dtype)
    check_fn(lambda t: F.affine_grid(t, (2, 3, 4, 5, 3), align),
             lambda t: TF.affine_grid(t, (2, 3, 4, 5, 3), align), [rand((2, 3, 4), dtype)],
             dtype)
    check_fn(lambda t: F.affine_grid(t, (1, 1, 1, 4), align),
             lambda t: TF.affine_grid(t, (1, 1, 1, 4), align), [rand((1, 2, 3), dtype)], dtype)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_affine_grid_low_precision(dtype):
    """The grid in theta's dtype, as torch's bmm rounds it (bfloat16 came out float32)."""
    out = []
    for L in (ember, torch):
        theta = L.tensor(rand((2, 2, 3))).to(getattr(L, dtype)).requires_grad_()
        grid = L.nn.functional.affine_grid(theta, (2, 3, 4, 5), align_corners=False)
        grid.float().pow(2).sum().backward()
        out.append((str(grid.dtype), grid.float().tolist(), str(theta.grad.dtype),
                    theta.grad.float().tolist()))
    assert out[0][0].replace("ember", "torch") == out[1][0]
    assert out[0][1:] == out[1][1:]


def test_affine_grid_then_sample():
    theta = np.array([[[0.8, -0.3, 0.1], [0.2, 1.1, -0.2]]], np.float32).repeat(2, 0)
    x = rand((2, 3, 6, 7))

    def run(f, t, a):
        return f.grid_sample(a, f.affine_grid(t, (2, 3, 5, 4), False), align_corners=False)
    check_fn(lambda t, a: run(F, t, a), lambda t, a: run(TF, t, a), [theta, x])


def test_affine_grid_then_sample_3d():
    theta = np.array([[[0.8, -0.3, 0.1, 0.2], [0.2, 1.1, -0.2, 0.0], [0.1, 0.0, 0.9, -0.3]]],
                     np.float32).repeat(2, 0)
    x = rand((2, 3, 4, 6, 5))

    def run(f, t, a):
        return f.grid_sample(a, f.affine_grid(t, (2, 3, 3, 5, 4), False), align_corners=False)
    check_fn(lambda t, a: run(F, t, a), lambda t, a: run(TF, t, a), [theta, x])


def test_grid_sample_align_warning():
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(ember.tensor(rand((1, 1, 3, 3))), ember.tensor(rand((1, 2, 2, 2))))


# ---- errors ---------------------------------------------------------------------------------
def _x(*shape):
    return rand(shape)


ERRORS = {
    "pad_odd": lambda f, T: f.pad(T(_x(2, 3, 8, 8)), (1,)),
    "pad_long": lambda f, T: f.pad(T(_x(2, 3, 8, 8)), (1, 1) * 5),
    "pad_reflect_size": lambda f, T: f.pad(T(_x(2, 3, 8, 8)), (8, 1, 1, 1), mode="reflect"),
    "pad_circular_wrap": lambda f, T: f.pad(T(_x(2, 3, 8, 8)), (9, 1, 1, 1), mode="circular"),
    "pad_value": lambda f, T: f.pad(T(_x(2, 3, 8, 8)), (1, 1), mode="reflect", value=2),
    "pad_mode": lambda f, T: f.pad(T(_x(2, 3, 8, 8)), (1, 1), mode="foo"),
    "pad_rank": lambda f, T: f.pad(T(_x(2, 3, 8, 8)), (1,) * 8, mode="replicate"),
    "pad_rank_1d": lambda f, T: f.pad(T(_x(2, 3, 8, 8)), (1, 1), mode="replicate"),
    "pad_crop_negative": lambda f, T: f.pad(T(_x(2, 3)), (-5, -5)),
    "pad_empty": lambda f, T: f.pad(T(_x(2, 0, 3)), (1, 1), mode="replicate"),
    "interp_both": lambda f, T: f.interpolate(T(_x(2, 3, 8, 8)), size=4, scale_factor=2),
    "interp_none": lambda f, T: f.interpolate(T(_x(2, 3, 8, 8))),
    "interp_size_len": lambda f, T: f.interpolate(T(_x(2, 3, 8, 8)), size=(4, 4, 4)),
    "interp_scale_len": lambda f, T: f.interpolate(T(_x(2, 3, 8, 8)), scale_factor=(2, 2, 2)),
    "interp_linear_rank": lambda f, T: f.interpolate(T(_x(2, 3, 8, 8)), size=4, mode="linear"),
    "interp_tri_rank": lambda f, T: f.interpolate(T(_x(2, 3, 8, 8)), size=4, mode="trilinear"),
    "interp_align": lambda f, T: f.interpolate(T(_x(2, 3, 8, 8)), size=4, align_corners=True),
    "interp_mode": lambda f, T: f.interpolate(T(_x(2, 3, 8, 8)), size=4, mode="foo"),
    "interp_rank": lambda f, T: f.interpolate(T(_x(2, 3)), size=4),
    "interp_recompute": lambda f, T: f.interpolate(T(_x(2, 3, 8, 8)), size=4,
                                                   recompute_scale_factor=True),
    "interp_zero": lambda f, T: f.interpolate(T(_x(2, 3, 8, 8)), size=0),
    "interp_aa_mode": lambda f, T: f.interpolate(T(_x(2, 3, 8, 8)), size=4, antialias=True),
    "interp_aa_rank": lambda f, T: f.interpolate(T(_x(2, 3, 8)), size=4, mode="linear",
                                                 antialias=True),
    "interp_aa_rank_bilinear": lambda f, T: f.interpolate(T(_x(2, 8, 8)), size=4,
                                                          mode="bilinear", antialias=True),
    "interp_aa_int": lambda f, T: f.interpolate(T(np.ones((1, 2, 8, 8), np.int64)), size=4,
                                                mode="bicubic", antialias=True),
    "interp_aa_zero": lambda f, T: f.interpolate(T(_x(2, 3, 8, 8)), size=(0, 3),
                                                 mode="bilinear", antialias=True),
    "gs_last_dim": lambda f, T: f.grid_sample(T(_x(2, 3, 8, 8)), T(_x(2, 3, 3, 3)),
                                              align_corners=False),
    "gs_batch": lambda f, T: f.grid_sample(T(_x(2, 3, 8, 8)), T(_x(3, 3, 3, 2)),
                                           align_corners=False),
    "gs_mode": lambda f, T: f.grid_sample(T(_x(2, 3, 8, 8)), T(_x(2, 3, 3, 2)), mode="foo",
                                          align_corners=False),
    "gs_padding": lambda f, T: f.grid_sample(T(_x(2, 3, 8, 8)), T(_x(2, 3, 3, 2)),
                                             padding_mode="foo", align_corners=False),
    "gs_dtype": lambda f, T: f.grid_sample(T(_x(2, 3, 8, 8)), T(_x(2, 3, 3, 2).astype(
        np.float64)), align_corners=False),
    "gs_empty": lambda f, T: f.grid_sample(T(_x(2, 3, 0, 8)), T(_x(2, 3, 3, 2)),
                                           align_corners=False),
    "gs_rank_4d": lambda f, T: f.grid_sample(T(_x(2, 3, 8, 8)), T(_x(2, 3, 3, 3, 2)),
                                             align_corners=False),
    "gs_rank_3d": lambda f, T: f.grid_sample(T(_x(2, 3, 8)), T(_x(2, 3, 1)),
                                             align_corners=False),
    "gs_last_dim_5d": lambda f, T: f.grid_sample(T(_x(2, 3, 4, 4, 4)), T(_x(2, 3, 3, 3, 2)),
                                                 align_corners=False),
    "gs_bicubic_5d": lambda f, T: f.grid_sample(T(_x(2, 3, 4, 4, 4)), T(_x(2, 3, 3, 3, 3)),
                                                mode="bicubic", align_corners=False),
    "gs_int": lambda f, T: f.grid_sample(T(np.ones((2, 3, 4, 4), np.int64)),
                                         T(_x(2, 3, 3, 2)), align_corners=False),
    "gs_int_5d": lambda f, T: f.grid_sample(T(np.ones((2, 3, 4, 4, 4), np.int64)),
                                            T(_x(2, 3, 3, 3, 3)), align_corners=False),
    "gs_dtype_5d": lambda f, T: f.grid_sample(T(_x(2, 3, 4, 4, 4)), T(_x(2, 3, 3, 3, 3).astype(
        np.float64)), align_corners=False),
    "ag_theta": lambda f, T: f.affine_grid(T(_x(2, 3, 3)), (2, 3, 4, 4), align_corners=False),
    "ag_size": lambda f, T: f.affine_grid(T(_x(2, 2, 3)), (2, 3, 4), align_corners=False),
    "ag_zero": lambda f, T: f.affine_grid(T(_x(2, 2, 3)), (2, 3, 0, 4), align_corners=False),
    "ag_batch": lambda f, T: f.affine_grid(T(_x(2, 2, 3)), (3, 3, 4, 4), align_corners=False),
    "ag_int": lambda f, T: f.affine_grid(T(np.zeros((2, 2, 3), np.int64)), (2, 3, 4, 4),
                                         align_corners=False),
    "ps_rank": lambda f, T: f.pixel_shuffle(T(_x(3, 4)), 2),
    "ps_channels": lambda f, T: f.pixel_shuffle(T(_x(5, 4, 4)), 2),
    "ps_factor": lambda f, T: f.pixel_shuffle(T(_x(4, 4, 4)), 0),
    "pu_height": lambda f, T: f.pixel_unshuffle(T(_x(4, 5, 4)), 2),
    "pu_width": lambda f, T: f.pixel_unshuffle(T(_x(4, 4, 5)), 2),
    "pu_rank": lambda f, T: f.pixel_unshuffle(T(_x(4, 4)), 2),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_resample_errors(name):
    e_msg, t_msg = raises_like(lambda: ERRORS[name](F, ember.tensor),
                               lambda: ERRORS[name](TF, torch.tensor))
    if name not in ("pad_crop_negative", "pad_empty"):   # torch words these in C++ internals
        assert e_msg == t_msg


def _complex_refusals(lib):
    F, out = lib.nn.functional, []
    for shape, modes in [((1, 2, 4), ["nearest", "linear", "area"]),
                         ((1, 2, 4, 4), ["nearest", "bilinear", "bicubic", "area"]),
                         ((1, 2, 40, 100), ["nearest", "bilinear", "bicubic"]),
                         ((1, 1, 2, 2, 2), ["nearest", "trilinear"])]:
        for mode in modes:
            for fn in (F.interpolate, F.upsample):
                with pytest.raises(NotImplementedError) as e:
                    fn(lib.ones(shape, dtype=lib.complex64), scale_factor=2, mode=mode)
                out.append(str(e.value))
    with pytest.raises(RuntimeError) as e:      # the arguments are checked first
        F.interpolate(lib.ones(1, 1, 4, 4, dtype=lib.complex128), scale_factor=-2)
    return out + [str(e.value)]


def test_complex_input_refusal_names_the_kernel_torch_picks():
    """A complex input reaches torch's upsample kernel dispatch after the argument checks,
    which names the kernel of the mode and size (ember named the nearest one for all)."""
    assert _complex_refusals(ember) == _complex_refusals(torch)
