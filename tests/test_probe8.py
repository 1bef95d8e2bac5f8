"""Regressions found by probe batch 8 (VAE/RL/GNN/image/NLP programs, schedulers, data loading,
grad-mode decorators, printing, serialization), checked against torch."""
import pytest
import torch

import ember
from test_probe7 import _outcome, _plain     # the shared comparison helpers


def _decorated_modes(lib):
    x = lib.ones(2, requires_grad=True)

    @lib.inference_mode
    def bare(x):
        return x * 2

    @lib.inference_mode(False)
    def off(x):
        return x * 2

    y, z = bare(x), off(x)
    return y.requires_grad, y.is_inference(), z.requires_grad, z.is_inference()


def test_bare_inference_mode_decorator_like_torch():
    assert _decorated_modes(ember) == _decorated_modes(torch)


@pytest.mark.parametrize("mode", ["no_grad()", "no_grad", "enable_grad()", "inference_mode()",
                                  "set_grad_enabled(False)"])
def test_grad_mode_decorator_on_generator_like_torch(mode):
    def run(lib):
        ctx = eval("lib." + mode, {"lib": lib})      # noqa: S307 - fixed strings above

        @ctx
        def gen(x):
            for i in range(2):
                got = yield (x * i).requires_grad, lib.is_grad_enabled()
                yield got
            return "done"

        x = lib.ones(2, requires_grad=True)
        with lib.enable_grad() if mode.startswith("no") or "False" in mode else lib.no_grad():
            g = gen(x)
            first = next(g), lib.is_grad_enabled()     # the caller's mode is back between steps
            sent = g.send("hi")
            rest = list(g)
        return first, sent, rest, lib.is_grad_enabled()
    assert run(ember) == run(torch)


def test_device_never_equals_a_string_like_torch():
    def run(lib):
        x = lib.ones(2)
        d = lib.device("cpu")
        return x.device == "cpu", "cpu" == d, d != "cpu", d == "gpu", d == lib.device("cpu")
    assert run(ember) == run(torch)


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "int64", "int8", "bool"])
def test_tensor_of_multi_element_tensors_raises_like_torch(dtype):
    def run(lib):
        x = lib.ones(2, dtype=getattr(lib, dtype))
        return lib.tensor([x, x])
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def test_deepcopy_of_non_leaf_message_like_torch():
    import copy

    def run(lib):
        return copy.deepcopy(lib.ones(2, requires_grad=True) * 2)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def _scaler_setup(lib, **kw):
    p = lib.nn.Parameter(lib.ones(2))
    return p, lib.optim.SGD([p], lr=0.1), lib.amp.GradScaler("cpu", **kw)


def _scaled_backward(lib, p, sc, factor=2.0):
    sc.scale((p * factor).sum()).backward()


def _scaler_step_twice(lib):
    p, opt, sc = _scaler_setup(lib)
    _scaled_backward(lib, p, sc)
    sc.step(opt)
    sc.step(opt)


def _scaler_unscale_after_step(lib):
    p, opt, sc = _scaler_setup(lib)
    _scaled_backward(lib, p, sc)
    sc.step(opt)
    sc.unscale_(opt)


def _scaler_fp16_grads(lib):
    p = lib.nn.Parameter(lib.ones(2, dtype=lib.float16))
    sc = lib.amp.GradScaler("cpu")
    sc.scale((p * 2).sum()).backward()
    sc.step(lib.optim.SGD([p], lr=0.1))


_SCALER_MISUSE = {
    "step before scale": lambda lib: (lambda p, opt, sc: sc.step(opt))(*_scaler_setup(lib)),
    "update before scale": lambda lib: _scaler_setup(lib)[2].update(),
    "unscale_ before scale": lambda lib: (lambda p, opt, sc: sc.unscale_(opt))(
        *_scaler_setup(lib)),
    "update without a step": lambda lib: (lambda p, opt, sc: (
        _scaled_backward(lib, p, sc), sc.update()))(*_scaler_setup(lib)),
    "step twice": _scaler_step_twice,
    "unscale_ after step": _scaler_unscale_after_step,
    "closure": lambda lib: (lambda p, opt, sc: (
        _scaled_backward(lib, p, sc), sc.step(opt, closure=lambda: 0)))(*_scaler_setup(lib)),
    "no gradients": lambda lib: (lambda p, opt, sc: (
        sc.scale(p.sum()), sc.step(opt)))(*_scaler_setup(lib)),
    "fp16 gradients": _scaler_fp16_grads,
    "growth factor <= 1": lambda lib: lib.amp.GradScaler("cpu", growth_factor=0.5),
    "scale a number": lambda lib: _scaler_setup(lib)[2].scale(3.0),
}


@pytest.mark.parametrize("case", list(_SCALER_MISUSE))
def test_grad_scaler_misuse_raises_like_torch(case):
    assert _outcome(lambda: _SCALER_MISUSE[case](ember)) == \
        _outcome(lambda: _SCALER_MISUSE[case](torch))


def test_grad_scaler_training_like_torch():
    def run(lib):
        p, opt, sc = _scaler_setup(lib, init_scale=3.3, growth_factor=1.7, backoff_factor=0.3,
                                   growth_interval=2)
        out = [sc.get_scale(), sc.state_dict()]
        for i in range(7):
            opt.zero_grad()
            s = sc.scale((p * (float("inf") if i in (2, 5) else 2.0)).sum())
            s.backward()
            r = sc.step(opt)
            sc.update()
            out += [_plain(s), r, sc.get_scale(), sc.state_dict(), _plain(p)]
        sc.update(1024.0)
        out.append(sc.get_scale())
        sc.update(lib.tensor(3.7))
        out.append(sc.get_scale())
        sc2 = lib.amp.GradScaler("cpu")
        sc2.load_state_dict(sc.state_dict())
        return out, sc2.get_scale(), sc2.state_dict()
    assert run(ember) == run(torch)


def _sin_cumsum(x):
    return x.sin() * x.cumsum(0)


_FORWARD_JACOBIAN = {
    "one input": lambda lib, x: lib.autograd.functional.jacobian(
        _sin_cumsum, x, vectorize=True, strategy="forward-mode"),
    "tuples": lambda lib, x: lib.autograd.functional.jacobian(
        lambda a, b: (a * b.sum(), a.exp()[:2]), (x, x[:2] * 3), vectorize=True,
        strategy="forward-mode"),
    "constant output": lambda lib, x: lib.autograd.functional.jacobian(
        lambda a: lib.ones(2), x, vectorize=True, strategy="forward-mode"),
    "module": lambda lib, x: lib.autograd.functional.jacobian(
        lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.GELU(), lib.nn.LayerNorm(3)),
        x.view(1, 4), vectorize=True, strategy="forward-mode"),
    "hessian": lambda lib, x: lib.autograd.functional.hessian(
        lambda a, b: (a.exp() * b * b).sum(), (x, x * 2), vectorize=True,
        outer_jacobian_strategy="forward-mode"),
    "not vectorized": lambda lib, x: lib.autograd.functional.jacobian(
        _sin_cumsum, x, strategy="forward-mode"),
    "strict": lambda lib, x: lib.autograd.functional.jacobian(
        _sin_cumsum, x, vectorize=True, strict=True, strategy="forward-mode"),
    "create_graph": lambda lib, x: lib.autograd.functional.jacobian(
        _sin_cumsum, x, vectorize=True, create_graph=True, strategy="forward-mode"),
}


@pytest.mark.parametrize("case", list(_FORWARD_JACOBIAN))
def test_forward_mode_jacobian_like_torch(case):
    def run(lib):
        lib.manual_seed(0)
        return _FORWARD_JACOBIAN[case](lib, lib.randn(4))
    e, t = _outcome(lambda: run(ember)), _outcome(lambda: run(torch))
    if e[0] == "ok" == t[0]:
        flat = [x for x in torch.utils._pytree.tree_leaves(run(torch))]
        got = [torch.tensor(x.tolist()) for x in torch.utils._pytree.tree_leaves(run(ember))]
        assert [x.shape for x in got] == [x.shape for x in flat]
        for a, b in zip(got, flat):
            torch.testing.assert_close(a, b)
    else:
        assert e == t


@pytest.mark.parametrize("make", ["x[:2]", "x.view(2, 2)", "x.detach()", "x.clone()",
                                  "(x * 2)[1:]", "x.unbind()[0]"])
def test_detach_in_place_of_a_view_raises_like_torch(make):
    def run(lib):
        x = lib.ones(4, requires_grad=True)
        y = eval(make, {"x": x})      # noqa: S307 - fixed strings above
        y.detach_()
        return y.requires_grad, y.grad_fn is None
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("reduce", ["amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_extremum_grad_counts_tied_self_like_torch(reduce, include_self):
    def run(lib):
        src = lib.tensor([1., 5., 3., 5., 2., 2.], requires_grad=True)
        base = lib.tensor([2., 5., 2.], requires_grad=True)
        y = base.scatter_reduce(0, lib.tensor([0, 0, 1, 1, 2, 2]), src, reduce,
                                include_self=include_self)
        (y * lib.tensor([1., 2., 3.])).sum().backward()
        return y, src.grad, base.grad
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def test_backward_with_create_graph_warns_once_like_torch(monkeypatch):
    import subprocess
    import sys
    import warnings

    code = ("import warnings, torch\n"
            "x = torch.ones(2, requires_grad=True)\n"
            "for i in range(2):\n"
            "    with warnings.catch_warnings(record=True) as w:\n"
            "        warnings.simplefilter('always')\n"
            "        (x ** 3).sum().backward(create_graph=True)\n"
            "    print(repr([(a.category.__name__, str(a.message).split(' (Triggered')[0])"
            " for a in w]))\n")
    expected = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout.splitlines()
    monkeypatch.setattr(ember._warnings, "GIVEN", set())
    x = ember.ones(2, requires_grad=True)
    got = []
    for _ in range(2):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            (x ** 3).sum().backward(create_graph=True)
        got.append(repr([(a.category.__name__, str(a.message)) for a in w]))
    assert got == expected


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8", "bool", "uint16",
                                   "float32", "float16", "bfloat16", "complex64"])
def test_embedding_index_dtypes_like_torch(dtype):
    def run(lib):
        idx = lib.tensor([[1, 0]]).to(getattr(lib, dtype))
        return lib.nn.Embedding(3, 2)(idx).shape
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("shape", [(2,), (1, 2), (3, 1, 2)])
def test_linear_dtype_mismatch_message_like_torch(shape):
    def run(lib):
        return lib.nn.functional.linear(lib.ones(*shape), lib.ones(2, 2, dtype=lib.float64))
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_SDPA_DTYPES = [("float32",) * 3 + (None,), ("float32", "float64", "float32", None),
                ("float64", "float32", "float32", None), ("float32", "float32", "float16", None)]
_SDPA_DTYPES += [(q, q, q, m) for q in ("float32", "float64", "float16")
                 for m in ("float32", "float64", "float16", "bool", "uint8", "bfloat16")]


@pytest.mark.parametrize("q,k,v,mask", _SDPA_DTYPES)
def test_sdpa_dtype_checks_like_torch(q, k, v, mask):
    def run(lib):
        def make(d):
            return lib.ones(1, 2, 2, dtype=getattr(lib, d))
        m = None if mask is None else lib.ones(2, 2, dtype=getattr(lib, mask))
        return lib.nn.functional.scaled_dot_product_attention(make(q), make(k), make(v),
                                                              attn_mask=m)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("dtype", ["int8", "int16", "bool", "uint8"])
def test_mm_dtype_mismatch_names_like_torch(dtype):
    def run(lib):
        return lib.mm(lib.ones(2, 2), lib.ones(2, 2, dtype=getattr(lib, dtype)))
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_POOL_INPUTS = {"max_pool1d": (1, 4), "max_pool2d": (1, 1, 4, 4), "avg_pool1d": (1, 1, 4),
                "avg_pool2d": (1, 1, 4, 4), "max_pool3d": (1, 1, 4, 4, 4),
                "avg_pool3d": (1, 1, 4, 4, 4)}
_POOL_ARGS = [dict(kernel_size=0), dict(kernel_size=0, stride=1), dict(kernel_size=2, stride=0),
              dict(kernel_size=2, padding=2), dict(kernel_size=2, padding=-1),
              dict(kernel_size=2, dilation=0), dict(kernel_size=5), dict(kernel_size=-1),
              dict(kernel_size=2, stride=-1), dict(kernel_size=2, dilation=3, padding=2),
              dict(kernel_size=5, padding=2), dict(kernel_size=3, padding=1, stride=0)]


@pytest.mark.parametrize("name", list(_POOL_INPUTS))
@pytest.mark.parametrize("kwargs", _POOL_ARGS, ids=str)
def test_pooling_argument_checks_like_torch(name, kwargs):
    if name.startswith("avg") and "dilation" in kwargs:
        pytest.skip("avg pooling takes no dilation")

    def run(lib):
        return getattr(lib.nn.functional, name)(lib.ones(*_POOL_INPUTS[name]), **kwargs)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_MISC_ARGS = {
    "rrelu lower > upper": lambda lib: lib.nn.functional.rrelu(-lib.ones(2), 0.5, 0.1),
    "rrelu training": lambda lib: lib.nn.functional.rrelu(-lib.ones(2), 0.5, 0.1, training=True),
    "torch.rrelu": lambda lib: lib.rrelu(-lib.ones(2), 0.5, 0.1, training=True),
    "RReLU module": lambda lib: lib.nn.RReLU(0.5, 0.1)(-lib.ones(2)),
    "adaptive_avg_pool2d None": lambda lib: lib.nn.AdaptiveAvgPool2d(None)(lib.ones(1, 2, 3)),
    "adaptive_max_pool3d None": lambda lib: lib.nn.functional.adaptive_max_pool3d(
        lib.ones(1, 2, 3, 4), None),
    "adaptive_avg_pool1d None": lambda lib: lib.nn.functional.adaptive_avg_pool1d(
        lib.ones(1, 2, 3), None),
    "adaptive_max_pool1d (None,)": lambda lib: lib.nn.functional.adaptive_max_pool1d(
        lib.ones(1, 2, 3), (None,)),
    "adaptive None in a tuple": lambda lib: lib.nn.functional.adaptive_avg_pool2d(
        lib.ones(1, 2, 3), (None, 2)),
    "threshold without value": lambda lib: lib.nn.functional.threshold(lib.ones(2), 0.5),
    "embedding_bag offsets[0]": lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([0, 1]), lib.ones(3, 2), lib.tensor([1])),
    "embedding_bag int32 offsets[0]": lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([0, 1], dtype=lib.int32), lib.ones(3, 2), lib.tensor([1], dtype=lib.int32)),
    "mha key_padding_mask length": lambda lib: lib.nn.MultiheadAttention(4, 2)(
        lib.ones(3, 1, 4), lib.ones(2, 1, 4), lib.ones(2, 1, 4),
        key_padding_mask=lib.ones(1, 3, dtype=lib.bool)),
    "mha key_padding_mask batch": lambda lib: lib.nn.MultiheadAttention(4, 2)(
        lib.ones(3, 1, 4), lib.ones(2, 1, 4), lib.ones(2, 1, 4),
        key_padding_mask=lib.ones(2, 2, dtype=lib.bool)),
}


@pytest.mark.parametrize("case", list(_MISC_ARGS))
def test_nn_argument_checks_like_torch(case):
    assert _outcome(lambda: _MISC_ARGS[case](ember)) == _outcome(lambda: _MISC_ARGS[case](torch))


@pytest.mark.parametrize("pad", [(-3, 1), (-1, -2), (-5, 0), (2, -5), (0, 0, 1, -4),
                                 (0, 0, -3, 0), (-1, 0, -1, 0), (1, -2), (-4, 0)])
def test_constant_pad_crops_as_torch_narrows(pad):
    def run(lib):
        return lib.nn.functional.pad(lib.arange(24.).view(1, 2, 3, 4), pad, value=-1.)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_CONV_SHAPES = {"conv1d": ((1, 3, 5), (4, 3, 3)), "conv2d": ((1, 3, 5, 5), (4, 3, 3, 3)),
                "conv3d": ((1, 3, 5, 5, 5), (4, 3, 3, 3, 3)),
                "conv_transpose1d": ((1, 4, 5), (4, 3, 3)),
                "conv_transpose2d": ((1, 4, 5, 5), (4, 3, 3, 3)),
                "conv_transpose3d": ((1, 4, 5, 5, 5), (4, 3, 3, 3, 3))}
_CONV_ARGS = [dict(stride=0), dict(stride=-1), dict(dilation=0), dict(dilation=-1),
              dict(stride=0, dilation=0), dict(stride=0, padding=-1), dict(dilation=0, padding=-1),
              dict(padding=-1)]


@pytest.mark.parametrize("name", list(_CONV_SHAPES))
@pytest.mark.parametrize("kwargs", _CONV_ARGS + ["last dilation 0"], ids=str)
def test_convolution_argument_checks_like_torch(name, kwargs):
    x, w = _CONV_SHAPES[name]
    if kwargs == "last dilation 0":
        kwargs = dict(dilation=(1,) * (len(x) - 3) + (0,))

    def run(lib):
        return getattr(lib.nn.functional, name)(lib.ones(*x), lib.ones(*w), **kwargs)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("size", ["(10, 10)", "[1, 4, 10, 10]", "Size([10, 10])"])
def test_conv_transpose_output_size_message_like_torch(size):
    def run(lib):
        out = eval(size, {"Size": lib.Size})        # noqa: S307 - fixed strings above
        return lib.nn.ConvTranspose2d(4, 4, 3, stride=2)(lib.ones(1, 4, 5, 5), output_size=out)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def test_same_padding_with_even_kernel_warns_once_like_torch(monkeypatch):
    import subprocess
    import sys
    import warnings

    runs = "[((2, 2), 1), ((3, 3), 1), ((2, 3), 2), ((2, 2), 1)]"
    code = ("import sys, warnings\nlib = __import__(sys.argv[1])\n"
            f"for k, d in {runs}:\n"
            "    with warnings.catch_warnings(record=True) as w:\n"
            "        warnings.simplefilter('always')\n"
            "        lib.nn.functional.conv2d(lib.ones(1, 3, 5, 5), lib.ones(4, 3, *k),\n"
            "                                 padding='same', dilation=d)\n"
            "    print([str(a.message).split(' (Triggered')[0] for a in w])\n")
    expected = subprocess.run([sys.executable, "-c", code, "torch"], capture_output=True,
                              text=True, check=True).stdout
    monkeypatch.setattr(ember._warnings, "GIVEN", set())
    got = []
    for k, d in eval(runs):                         # noqa: S307 - the literal above
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            ember.nn.functional.conv2d(ember.ones(1, 3, 5, 5), ember.ones(4, 3, *k),
                                       padding="same", dilation=d)
        got.append(str([str(a.message) for a in w]))
    assert "\n".join(got) + "\n" == expected


@pytest.mark.parametrize("name", list(_CONV_SHAPES))
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
@pytest.mark.parametrize("batch", [2, 1, None])
def test_zero_dilation_error_follows_torchs_kernel_choice(name, dtype, batch):
    x, w = _CONV_SHAPES[name]
    x = x[1:] if batch is None else (batch,) + x[1:]

    def run(lib):
        dt = getattr(lib, dtype)
        return getattr(lib.nn.functional, name)(lib.ones(*x, dtype=dt), lib.ones(*w, dtype=dt),
                                                dilation=0)
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_BAD_SIZES = ["-1", "(2, -1)", "2.5", "2, (3,)", "T([2, 3])", "2, 2.5", "[2, 2.5]", "'a'",
              "2, None", "T(2.)", "T(2)", "range(2)", "np.array([2, 3])", "[T(2), 3]"]


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn", "full"])
@pytest.mark.parametrize("args", _BAD_SIZES)
def test_factory_size_errors_like_torch(name, args):
    import numpy as np

    def run(lib):
        a = eval(f"({args},)", {"T": lib.tensor, "np": np})    # noqa: S307 - fixed strings
        if name == "full":
            return lib.full(a[0] if len(a) == 1 else a, 1.0).shape
        return getattr(lib, name)(*a).shape
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_RANGE_ERRORS = {
    "arange to inf": lambda lib: lib.arange(0, float("inf")),
    "arange from -inf": lambda lib: lib.arange(float("-inf"), 0.5),
    "arange to nan": lambda lib: lib.arange(0, float("nan")),
    "arange nan step": lambda lib: lib.arange(0, 1, float("nan")),
    "arange inf step": lambda lib: lib.arange(0, 1, float("inf")),
    "arange 1e10 end": lambda lib: lib.arange(0.0, float("inf"), 1e10),
    "randperm(-1)": lambda lib: lib.randperm(-1),
    "heaviside dtypes": lambda lib: lib.heaviside(lib.ones(2), lib.ones(2, dtype=lib.float64)),
}


@pytest.mark.parametrize("case", list(_RANGE_ERRORS))
def test_creation_errors_like_torch(case):
    assert _outcome(lambda: _RANGE_ERRORS[case](ember)) == \
        _outcome(lambda: _RANGE_ERRORS[case](torch))


@pytest.mark.parametrize("make", ["from_numpy", "as_tensor", "tensor"])
@pytest.mark.parametrize("dtype", [">i4", ">f8", "<f4", "|b1"])
def test_non_native_byte_order_arrays_like_torch(make, dtype):
    import numpy as np

    def run(lib):
        return getattr(lib, make)(np.array([1, 0], dtype=dtype))
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_TENSOR_ARG_ERRORS = {
    "expand: last mismatching dim": lambda lib: lib.ones(3, 4).expand(2, 3),
    "expand: leading -1": lambda lib: lib.ones(3, 4).expand(-1, -1, 3, 4),
    "expand: both": lambda lib: lib.ones(3, 4).expand(5, 2, 3),
    "scatter_add dtype": lambda lib: lib.ones(3, 4).scatter_add(
        1, lib.tensor([[0]]), lib.ones(1, 1, dtype=lib.float64)),
    "scatter_reduce dtype": lambda lib: lib.ones(3, 4).scatter_reduce(
        1, lib.tensor([[0]]), lib.ones(1, 1, dtype=lib.float64), "amax"),
    "type('foo')": lambda lib: lib.ones(2).type("foo"),
    "type('float32')": lambda lib: lib.ones(2).type("float32"),
    "type(float)": lambda lib: lib.ones(2).type(float),
    "type(5)": lambda lib: lib.ones(2).type(5),
    "type('torch.DoubleTensor')": lambda lib: lib.ones(2).type("torch.DoubleTensor"),
    "bernoulli(2.)": lambda lib: lib.ones(2).bernoulli(2.0),
    "torch.bernoulli(x, -0.1)": lambda lib: lib.bernoulli(lib.ones(2), -0.1),
    "bernoulli of nan": lambda lib: lib.bernoulli(lib.tensor([float("nan")])),
    "bernoulli_(1.5)": lambda lib: lib.ones(2).bernoulli_(1.5),
    "exponential_(-1)": lambda lib: lib.ones(2).exponential_(-1),
    "exponential_(0.)": lambda lib: lib.ones(2).exponential_(0.0),
    "geometric_(2.)": lambda lib: lib.ones(2).geometric_(2.0),
    "geometric_(1)": lambda lib: lib.ones(2).geometric_(1),
    "cauchy_ sigma 0": lambda lib: lib.ones(2).cauchy_(0, 0),
    "log_normal_ std -1": lambda lib: lib.ones(2).log_normal_(0, -1),
    "uniform_ from > to": lambda lib: lib.ones(2).uniform_(2.0, 1.5),
    "normal_ std -1.": lambda lib: lib.ones(2).normal_(0, -1.0),
    "normal(tensor, -1.)": lambda lib: lib.normal(lib.zeros(2), -1.0),
    "normal(0., -1., size)": lambda lib: lib.normal(0.0, -1.0, (2,)),
    "poisson(-1)": lambda lib: lib.poisson(lib.tensor([-1.0])),
    "poisson(nan)": lambda lib: lib.poisson(lib.tensor([float("nan")])),
}


@pytest.mark.parametrize("case", list(_TENSOR_ARG_ERRORS))
def test_tensor_argument_errors_like_torch(case):
    assert _outcome(lambda: _TENSOR_ARG_ERRORS[case](ember)) == \
        _outcome(lambda: _TENSOR_ARG_ERRORS[case](torch))


_BAD_INDICES = ["x[[0, 1], [0, 1, 2]]", "x[T([[0, 1]]), T([0, 1, 2])]",
                "x.index_put_((T([0, 1]), T([0, 1, 2])), T(1.))", "x[[True, False], [0, 1, 2]]",
                "x[:, T([3])]", "x[:, :, T([9])]", "x[:, T([3]), T([1])]", "x[:, T([1]), T([9])]",
                "x[T([0]), :, T([9])]", "x[..., T([7])]", "x[0, T([3])]", "x[:, 3]",
                "x.index_put_((T([0]), T([5])), T(1.))", "x.index_put_((T([0]), T([5])), T(1.), "
                "accumulate=True)", "x.__setitem__((slice(None), T([5])), 1.)",
                "x[None, :, T([4])]", "x[T([True, False]), T([7])]", "x[..., None, T([4])]",
                "x.requires_grad_()[:, T([7])]"]


@pytest.mark.parametrize("expr", _BAD_INDICES)
def test_indexing_errors_like_torch(expr):
    def run(lib):
        x = lib.arange(24.).view(2, 3, 4)
        return eval(expr, {"x": x, "T": lib.tensor})      # noqa: S307 - fixed strings above
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_SHAPES_INTO_3x4 = [(2,), (3,), (5, 4), (2, 3, 4), (1, 4), (4, 1), (1, 3, 4), (2, 1, 4),
                    (2, 2, 4)]


@pytest.mark.parametrize("op", ["copy_", "masked_fill_", "masked_select", "masked_fill",
                                "add_", "clamp_", "add out="])
@pytest.mark.parametrize("shape", _SHAPES_INTO_3x4, ids=str)
def test_broadcast_into_errors_like_torch(op, shape):
    import warnings

    def run(lib):
        x, other = lib.ones(3, 4), lib.ones(*shape)
        mask = other.bool()
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            r = {"copy_": lambda: x.copy_(other), "masked_fill_": lambda: x.masked_fill_(mask, 2.),
                 "masked_select": lambda: x.masked_select(mask),
                 "masked_fill": lambda: x.masked_fill(mask, 2.), "add_": lambda: x.add_(other),
                 "clamp_": lambda: x.clamp_(min=other),
                 "add out=": lambda: lib.add(x, other, out=lib.empty(3, 4))}[op]()
        return r, [str(a.message).split(" (Triggered")[0] for a in w]
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("make", ["tensor([[1., 2.], [3., 4.]], requires_grad=True)",
                                  "tensor(3.)", "arange(5)", "ones(0, 2)"])
def test_reversed_is_a_flipped_tensor_like_torch(make):
    def run(lib):
        r = reversed(eval("lib." + make, {"lib": lib}))      # noqa: S307 - fixed strings
        return type(r).__name__, repr(r).replace("ember", "torch")
    assert run(ember) == run(torch)


@pytest.mark.parametrize("state", ["zeros(3)", "zeros(3, dtype=lib.uint8)", "[1, 2]",
                                   "zeros(2, 2, dtype=lib.uint8)", "zeros(5057, dtype=lib.uint8)"])
@pytest.mark.parametrize("setter", ["Generator().set_state", "set_rng_state"])
def test_rng_state_checks_like_torch(state, setter):
    def run(lib):
        s = eval(state if state.startswith("[") else "lib." + state, {"lib": lib})   # noqa: S307
        return eval("lib." + setter, {"lib": lib})(s)                               # noqa: S307
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_RNN_CASES = {
    "LSTM hidden_size float": lambda lib, o: lib.nn.LSTM(3, 4.5),
    "LSTM hidden_size -1": lambda lib, o: lib.nn.LSTM(3, -1),
    "GRUCell hidden batch": lambda lib, o: lib.nn.GRUCell(3, 4)(o(2, 3), o(3, 4)),
    "RNNCell unbatched, 2-D hidden": lambda lib, o: lib.nn.RNNCell(3, 4)(o(3), o(2, 4)),
    "LSTMCell c size": lambda lib, o: lib.nn.LSTMCell(3, 4)(o(2, 3), (o(2, 4), o(2, 5))),
    "LSTMCell h size": lambda lib, o: lib.nn.LSTMCell(3, 4)(o(2, 3), (o(2, 5), o(2, 4))),
    "LSTMCell hidden batch": lambda lib, o: lib.nn.LSTMCell(3, 4)(o(2, 3), (o(3, 4), o(3, 4))),
    "RNNCell hidden batch 1": lambda lib, o: lib.nn.RNNCell(3, 4)(o(2, 3), o(1, 4)),
    "GRU empty sequence": lambda lib, o: lib.nn.GRU(3, 4)(o(0, 3)),
    "RNN batch_first empty sequence": lambda lib, o: lib.nn.RNN(3, 4, batch_first=True)(
        o(2, 0, 3)),
    "LSTM empty sequence": lambda lib, o: lib.nn.LSTM(3, 4)(o(0, 2, 3)),
    "pad_sequence trailing dims": lambda lib, o: lib.nn.utils.rnn.pad_sequence(
        [o(2, 3), o(3, 2)], batch_first=True),
    "pad_sequence extra dim": lambda lib, o: lib.nn.utils.rnn.pad_sequence([o(2, 3), o(3, 3, 1)]),
    "pad_sequence side": lambda lib, o: lib.nn.utils.rnn.pad_sequence([o(2), o(3)],
                                                                      padding_side="middle"),
    "pad_sequence dtype of the first": lambda lib, o: lib.nn.utils.rnn.pad_sequence(
        [o(2, dtype=lib.int64), o(3)]),
}


@pytest.mark.parametrize("case", list(_RNN_CASES))
def test_rnn_argument_checks_like_torch(case):
    assert _outcome(lambda: _RNN_CASES[case](ember, ember.ones)) == \
        _outcome(lambda: _RNN_CASES[case](torch, torch.ones))


@pytest.mark.parametrize("kwargs", [{}, {"batch_first": True}, {"padding_side": "left"},
                                    {"batch_first": True, "padding_side": "left",
                                     "padding_value": -1.0}], ids=str)
def test_pad_sequence_copies_into_slots_like_torch(kwargs):
    def run(lib):
        a = lib.arange(6.).view(2, 3).requires_grad_()
        b = lib.arange(9.).view(3, 3).requires_grad_()
        p = lib.nn.utils.rnn.pad_sequence([a, b * 2], **kwargs)
        (p * lib.arange(float(p.numel())).view(p.shape)).sum().backward()
        return type(p.grad_fn).__name__, _plain(p), _plain(a.grad), _plain(b.grad), p.stride()
    assert run(ember) == run(torch)


_LAYOUT_OPS = {
    "layer_norm": lambda lib, x: lib.nn.functional.layer_norm(x, (3,)),
    "LayerNorm module": lambda lib, x: lib.nn.LayerNorm(3)(x),
    "rms_norm": lambda lib, x: lib.nn.functional.rms_norm(x, (3,)),
    "rms_norm weight": lambda lib, x: lib.nn.functional.rms_norm(x, (3,), lib.ones(3)),
    "masked_fill": lambda lib, x: x.masked_fill(x > 0, 0.0),
    "masked_fill tensor value": lambda lib, x: x.masked_fill(x > 0, lib.tensor(1.0)),
    "masked_fill channels_last": lambda lib, x: x.permute(0, 3, 1, 2).masked_fill(
        lib.tensor(True), 2.0),
}


@pytest.mark.parametrize("case", list(_LAYOUT_OPS))
def test_outputs_torch_allocates_contiguous(case):
    """A ConvNeXt-style block: layer_norm over a permuted (N, H, W, C) tensor, then view."""
    def run(lib):
        lib.manual_seed(0)
        x = lib.randn(2, 3, 4, 5).permute(0, 2, 3, 1).requires_grad_()
        y = _LAYOUT_OPS[case](lib, x)
        flat = y.view(2, -1)
        (flat * lib.arange(float(flat.shape[1]))).sum().backward()
        return y.stride(), y.is_contiguous(), _plain(flat), _plain(x.grad)
    e, t = run(ember), run(torch)
    assert e[:2] == t[:2]
    torch.testing.assert_close(torch.tensor(eval(e[2][2])), torch.tensor(eval(t[2][2])))
    torch.testing.assert_close(torch.tensor(eval(e[3][2])), torch.tensor(eval(t[3][2])),
                               atol=1e-4, rtol=1e-4)      # float32 layer_norm backward


_CAT_LAYOUTS = {
    "cat transposed": lambda lib, q, p, c: lib.cat([q, q]),
    "cat transposed dim 1": lambda lib, q, p, c: lib.cat([q, q], 1),
    "stack transposed": lambda lib, q, p, c: lib.stack([q, q]),
    "hstack": lambda lib, q, p, c: lib.hstack([q, q]),
    "vstack": lambda lib, q, p, c: lib.vstack([q, q]),
    "cat permuted": lambda lib, q, p, c: lib.cat([p, p], 2),
    "stack permuted": lambda lib, q, p, c: lib.stack([p, p], -1),
    "cat transposed + contiguous": lambda lib, q, p, c: lib.cat([q, lib.ones(4, 3)]),
    "cat channels_last": lambda lib, q, p, c: lib.cat([c, c], 1),
    "stack channels_last": lambda lib, q, p, c: lib.stack([c, c]),
}


@pytest.mark.parametrize("case", list(_CAT_LAYOUTS))
def test_cat_and_stack_layout_like_torch(case):
    def run(lib):
        q = lib.arange(12.).view(3, 4).t()
        p = lib.arange(120.).view(2, 3, 4, 5).permute(0, 2, 3, 1)
        c = lib.arange(120.).view(2, 3, 4, 5).to(memory_format=lib.channels_last)
        r = _CAT_LAYOUTS[case](lib, q, p, c)
        flat = r.view(-1) if r.is_contiguous() else None      # torch's result views flat
        return r.stride(), _plain(r), None if flat is None else _plain(flat)
    assert run(ember) == run(torch)


@pytest.mark.parametrize("name", ["sum", "mean", "std", "var", "prod", "logsumexp", "nansum",
                                  "nanmean", "all", "any", "count_nonzero", "amax", "argmax"])
@pytest.mark.parametrize("dim", [0, 1])
def test_reductions_over_transposed_input_are_contiguous_like_torch(name, dim):
    def run(lib):
        q = lib.arange(60.).view(3, 4, 5).transpose(0, 2) + 1
        x = q > 30 if name in ("all", "any") else q
        r = getattr(lib, name)(x, dim)
        return r.stride(), _plain(r.view(-1))       # torch's result views flat
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_MORE_LAYOUTS = {
    "roll dim": lambda lib, x: lib.roll(x, 1, 1),
    "roll flat": lambda lib, x: lib.roll(x, 1),
    "tril": lambda lib, x: x.tril(),
    "triu": lambda lib, x: x.triu(1),
    "norm keepdim": lambda lib, x: x.norm(dim=-1, keepdim=True),
    "vector_norm": lambda lib, x: lib.linalg.vector_norm(x, dim=1),
    "cdist": lambda lib, x: lib.cdist(x, x),
}


@pytest.mark.parametrize("layout", ["permuted", "channels_last", "transposed"])
@pytest.mark.parametrize("case", list(_MORE_LAYOUTS))
def test_more_outputs_laid_out_like_torch(case, layout):
    def run(lib):
        x = lib.arange(120.).view(2, 3, 4, 5) / 7
        x = {"permuted": lambda: x.permute(0, 2, 3, 1),
             "channels_last": lambda: x.to(memory_format=lib.channels_last),
             "transposed": lambda: x[0, 0].t()}[layout]()
        r = _MORE_LAYOUTS[case](lib, x)
        return r.stride(), r.is_contiguous()
    assert run(ember) == run(torch)


def test_functional_call_repeated_keys_and_stateless_deprecation_like_torch():
    import warnings

    def run(lib):
        m = lib.nn.Linear(2, 2)
        w = {"weight": lib.zeros(2, 2)}
        repeated = _outcome(lambda: lib.func.functional_call(m, (w, dict(w), {"bias": 1}),
                                                             lib.ones(1, 2)))
        not_dicts = _outcome(lambda: lib.func.functional_call(m, (w, [1]), lib.ones(1, 2)))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.func.functional_call(m, w, lib.ones(1, 2))
            lib.nn.utils.stateless.functional_call(m, w, lib.ones(1, 2))
        return repeated, not_dicts, [(a.category.__name__, str(a.message)) for a in caught], \
            lib.func.functional_call.__name__
    assert run(ember) == run(torch)
