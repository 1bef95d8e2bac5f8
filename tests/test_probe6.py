"""Regressions found by probe batch 6 (module machinery, printing, type promotion, in-place
writes through views and indices, linalg, sampling, data utilities, ...), checked against torch."""
import math

import pytest
import torch

import ember


def _outcome(fn):
    try:
        r = fn()
        return "ok", r.tolist() if hasattr(r, "tolist") else r
    except Exception as e:      # noqa: BLE001 - the class and message are what is compared
        return type(e).__name__, str(e)


def _signs(t):
    return [math.copysign(1.0, v) for v in t.tolist()]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("divisor", [3.0, -3.0])
def test_remainder_zero_takes_the_dividends_sign(dtype, divisor):
    vals = [-3.0, 3.0, 0.0, -0.0, -6.0, 6.0, 1.0, -1.0]
    out = {}
    for lib in (torch, ember):
        a = lib.tensor(vals, dtype=getattr(lib, dtype))
        r = lib.remainder(a, divisor)
        out[lib] = (r.tolist(), _signs(r.float()), _signs((a % lib.tensor(divisor)).float()))
    assert out[torch] == out[ember]


_BOOL_SUB = {
    "tensor - tensor": lambda t: t.ones(2, dtype=t.bool) - t.ones(2, dtype=t.bool),
    "tensor - True": lambda t: t.ones(2, dtype=t.bool) - True,
    "True - tensor": lambda t: True - t.ones(2, dtype=t.bool),
    "rsub": lambda t: t.rsub(t.ones(2, dtype=t.bool), t.ones(2, dtype=t.bool)),
    "tensor - 1": lambda t: t.ones(2, dtype=t.bool) - 1,
    "float - bool": lambda t: t.ones(2) - t.ones(2, dtype=t.bool),
    "1 - tensor": lambda t: 1 - t.ones(2, dtype=t.bool),
}


@pytest.mark.parametrize("case", list(_BOOL_SUB))
def test_bool_subtraction_errors_like_torch(case):
    assert _outcome(lambda: _BOOL_SUB[case](ember)) == _outcome(lambda: _BOOL_SUB[case](torch))


def test_invert_of_float_and_integer_addcdiv_errors_like_torch():
    for f in (lambda t: ~t.ones(2),
              lambda t: t.addcdiv(t.arange(3), t.arange(3), t.arange(1, 4))):
        assert _outcome(lambda: f(ember)) == _outcome(lambda: f(torch))


_LEAF_KEYS = {
    "int": lambda t: 0, "slice": lambda t: slice(0, 2), "ellipsis": lambda t: Ellipsis,
    "none": lambda t: None, "index tensor": lambda t: t.tensor([0]),
    "mask": lambda t: t.tensor([True, False, True]), "ellipsis int": lambda t: (Ellipsis, 0),
    "0-d int": lambda t: t.tensor(0), "list": lambda t: [0, 1], "empty tuple": lambda t: (),
}


@pytest.mark.parametrize("case", list(_LEAF_KEYS))
def test_setitem_on_a_leaf_names_the_view_like_torch(case):
    def run(t):
        w = t.randn(3, requires_grad=True)
        w[_LEAF_KEYS[case](t)] = 1.0
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


_PUT_SHAPES = {
    "slice": (lambda t: slice(0, 2), (3,)), "int": (lambda t: 0, (3,)),
    "ellipsis": (lambda t: Ellipsis, (3, 3)), "none": (lambda t: None, (2, 3, 2)),
    "advanced": (lambda t: t.tensor([0, 1]), (3,)),
    "column": (lambda t: (slice(None), 0), (2,)), "row too many dims": (lambda t: (0, slice(None)),
                                                                        (2, 2)),
    "leading ones dropped": (lambda t: slice(None), (1, 3, 2)),
    "too many dims": (lambda t: slice(None), (2, 1, 3, 2)),
}


@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("case", list(_PUT_SHAPES))
def test_setitem_shape_mismatch_errors_like_torch(case, grad):
    key, vshape = _PUT_SHAPES[case]

    def run(t):
        x = t.zeros(3, 2, requires_grad=grad) * 1
        x[key(t)] = t.ones(vshape)
        return x
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def test_copy_into_an_expanded_tensor_errors_like_torch():
    f = lambda t: t.zeros(1).expand(3).copy_(t.ones(3))    # noqa: E731
    assert _outcome(lambda: f(ember)) == _outcome(lambda: f(torch))


_SINGULAR = {
    "swapped": [[1., 2.], [2., 4.]], "unswapped": [[2., 4.], [1., 2.]],
    "zeros": [[0., 0.], [0., 0.]], "zero row": [[0., 0.], [1., 2.]],
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(_SINGULAR))
def test_det_and_slogdet_of_singular_matrices_keep_torchs_signed_zero(case, dtype):
    out = {}
    for lib in (torch, ember):
        a = lib.tensor(_SINGULAR[case], dtype=getattr(lib, dtype))
        d, s = lib.linalg.det(a), lib.linalg.slogdet(a)
        batch = lib.linalg.det(lib.stack([lib.eye(2, dtype=a.dtype), a]))
        out[lib] = (d.dtype == a.dtype, _signs(d.reshape(1)), _signs(s.sign.reshape(1)),
                    s.logabsdet.item(), _signs(batch), lib.det(a).item())
    assert out[torch] == out[ember]


def test_solve_triangular_without_upper_and_triangular_solve_warning_like_torch(monkeypatch):
    f = lambda t: t.linalg.solve_triangular(t.eye(2), t.ones(2, 1))    # noqa: E731
    assert _outcome(lambda: f(ember)) == _outcome(lambda: f(torch))
    import warnings
    monkeypatch.setattr(ember._warnings, "GIVEN", set())
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = ember.triangular_solve(ember.ones(2, 1), ember.eye(2) * 2)
        ember.triangular_solve(ember.ones(2, 1), ember.eye(2) * 2)
    assert r.solution.tolist() == [[0.5], [0.5]]
    assert len(w) == 1 and w[0].category is UserWarning and w[0].filename == __file__
    assert str(w[0].message).startswith("torch.triangular_solve is deprecated in favor of "
                                        "torch.linalg.solve_triangularand will be removed")


_SAMPLING_CHECKS = {
    "multinomial long": lambda t: t.multinomial(t.tensor([1, 2]), 1),
    "multinomial bool": lambda t: t.multinomial(t.tensor([True]), 1),
    "multinomial half": lambda t: t.multinomial(t.tensor([1.], dtype=t.float16), 1),
    "bernoulli p out of range": lambda t: t.bernoulli(t.tensor([1.5])),
    "bernoulli_ tensor p": lambda t: t.zeros(2).bernoulli_(t.tensor([2., 0.])),
    "bernoulli_ float p": lambda t: t.zeros(2).bernoulli_(-0.5),
    "bernoulli_ nan p": lambda t: t.zeros(2).bernoulli_(float("nan")),
    "bernoulli_ p 1": lambda t: t.zeros(2).bernoulli_(1),
}


@pytest.mark.parametrize("case", list(_SAMPLING_CHECKS))
def test_sampling_argument_checks_like_torch(case):
    assert _outcome(lambda: _SAMPLING_CHECKS[case](ember)) == \
        _outcome(lambda: _SAMPLING_CHECKS[case](torch))


_SIZE_CASES = {
    "add tuple": lambda t: t.Size([2, 3]) + (1,),
    "radd tuple": lambda t: (1,) + t.Size([2, 3]),
    "add size": lambda t: t.Size([2, 3]) + t.Size([4]),
    "add list": lambda t: t.Size([2, 3]) + [1],
    "mul": lambda t: t.Size([2, 3]) * 2,
    "rmul": lambda t: 2 * t.Size([2, 3]),
    "mul 0": lambda t: t.Size([2, 3]) * 0,
    "mul float": lambda t: t.Size([2, 3]) * 2.0,
    "slice": lambda t: t.Size([2, 3, 4])[1:],
    "bools": lambda t: t.Size([True, 2]),
    "numpy ints": lambda t: t.Size([__import__("numpy").int64(3)]),
    "numpy float": lambda t: t.Size([__import__("numpy").float64(3)]),
    "int tensors": lambda t: t.Size([t.tensor(2), t.tensor([3])]),
    "from tensor": lambda t: t.Size(t.tensor([2, 3])),
    "float": lambda t: t.Size([2.5]),
    "float tensor": lambda t: t.Size([t.tensor(2.5)]),
    "str": lambda t: t.Size(["a"]),
    "none": lambda t: t.Size((2, None)),
    "int": lambda t: t.Size(3),
}


@pytest.mark.parametrize("case", list(_SIZE_CASES))
def test_size_construction_and_arithmetic_like_torch(case):
    def run(t):
        r = _SIZE_CASES[case](t)
        return type(r).__name__, repr(r), [type(v).__name__ for v in r]
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def test_shapes_are_sizes_of_ints():
    x = ember.zeros(2, 3)
    assert type(x.shape) is ember.Size and type(x.size()) is ember.Size
    assert x.shape == (2, 3) and repr(x.size()[1:]) == "torch.Size([3])"


_CONTAINS = {
    "number": lambda t: 2 in t.tensor([1., 2.]), "missing": lambda t: 3 in t.tensor([1., 2.]),
    "bool": lambda t: True in t.tensor([1., 2.]), "complex": lambda t: 1j in t.tensor([1., 2.]),
    "tensor": lambda t: t.tensor([1.]) in t.tensor([1., 2.]),
    "numpy": lambda t: __import__("numpy").float64(1) in t.tensor([1., 2.]),
    "str": lambda t: "a" in t.tensor([1, 2]), "none": lambda t: None in t.tensor([1, 2]),
    "list": lambda t: [1.] in t.tensor([1., 2.]),
    "bool of empty": lambda t: bool(t.zeros(0, 3)),
    "bool of two": lambda t: bool(t.zeros(2)),
}


@pytest.mark.parametrize("case", list(_CONTAINS))
def test_contains_and_bool_like_torch(case):
    assert _outcome(lambda: _CONTAINS[case](ember)) == _outcome(lambda: _CONTAINS[case](torch))


@pytest.mark.parametrize("call", [
    lambda t: t.tensor([1.]).var(), lambda t: t.var(t.tensor([1.])),
    lambda t: t.tensor([1.]).std(dim=0), lambda t: t.std_mean(t.tensor([1.])),
    lambda t: t.cov(t.tensor([1.])),
])
def test_degrees_of_freedom_warnings_point_at_the_caller(call):
    import warnings
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            call(lib)
        w = [x for x in w if "degrees of freedom" in str(x.message)]   # not NumPy's 0/0
        assert len(w) == 1 and w[0].category is UserWarning
        assert w[0].filename == __file__, (lib.__name__, w[0].filename)


def test_module_has_torchs_public_names():
    def names(lib):
        return sorted(n for n in dir(lib.nn.Linear(2, 2)) if not n.startswith("_"))
    assert names(ember) == names(torch)
    assert repr(ember.nn.Module.T_destination) == repr(torch.nn.Module.T_destination)


@pytest.mark.parametrize("name", ["xpu", "ipu", "mtia"])
def test_absent_backends_raise_like_a_cpu_torch(name):
    assert _outcome(lambda: getattr(ember.ones(1), name)()) == \
        _outcome(lambda: getattr(torch.ones(1), name)())
    assert _outcome(lambda: getattr(ember.nn.Linear(2, 2), name)()) == \
        _outcome(lambda: getattr(torch.nn.Linear(2, 2), name)())


_NN_CHECKS = {
    "conv groups above out channels": lambda t: t.nn.functional.conv2d(
        t.ones(1, 3, 4, 4), t.ones(2, 1, 3, 3), groups=3),
    "conv1d groups": lambda t: t.nn.functional.conv1d(t.ones(1, 3, 4), t.ones(2, 1, 3), groups=3),
    "conv not divisible": lambda t: t.nn.functional.conv2d(t.ones(1, 4, 4, 4),
                                                           t.ones(3, 2, 3, 3), groups=2),
    "conv empty weight": lambda t: t.nn.functional.conv2d(t.ones(1, 3, 4, 4), t.ones(0, 3, 3, 3)),
    "nll 1-d input, 2 targets": lambda t: t.nn.functional.nll_loss(t.ones(3), t.tensor([0, 1])),
    "ce 1-d input, 2 targets": lambda t: t.nn.functional.cross_entropy(t.ones(3),
                                                                       t.tensor([0, 1])),
    "nll 1-d input, 1 target": lambda t: t.nn.functional.nll_loss(t.ones(3), t.tensor([1])),
    "nll 1-d input, 0-d target": lambda t: t.nn.functional.nll_loss(t.ones(3), t.tensor(1)),
}


@pytest.mark.parametrize("case", list(_NN_CHECKS))
def test_conv_groups_and_unbatched_nll_checks_like_torch(case):
    assert _outcome(lambda: _NN_CHECKS[case](ember)) == _outcome(lambda: _NN_CHECKS[case](torch))


@pytest.mark.parametrize("make", [
    lambda t: t.tensor([1.5, 2.0]), lambda t: t.zeros(0), lambda t: t.arange(6, dtype=t.int16)[2:],
    lambda t: t.ones(2, 3).t(),
])
def test_storage_reprs_like_torch(make):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert repr(make(ember).untyped_storage()) == repr(make(torch).untyped_storage())
        assert repr(make(ember).storage()) == repr(make(torch).storage())


_SPLITS = {
    "split": lambda x: x.split(2), "split sizes": lambda x: x.split([1, 3]),
    "split_with_sizes": lambda x: x.split_with_sizes([3, 1]), "chunk": lambda x: x.chunk(2),
    "unbind": lambda x: x.unbind(), "tensor_split": lambda x: x.tensor_split(3),
    "tensor_split indices": lambda x: x.tensor_split([1, 3]),
    "tensor_split overlapping": lambda x: x.tensor_split([3, 1]),
    "tensor_split dim 1": lambda x: x.tensor_split(2, dim=1), "hsplit": lambda x: x.hsplit(2),
    "vsplit": lambda x: x.vsplit([1]), "unsafe_split": lambda x: x.unsafe_split(2),
    "unsafe_split_with_sizes": lambda x: x.unsafe_split_with_sizes([1, 3]),
}


@pytest.mark.parametrize("case", list(_SPLITS))
def test_split_family_nodes_views_and_inplace_writes_like_torch(case):
    def run(t):
        a = t.arange(8.).view(4, 2).requires_grad_()
        x = a * 1
        parts = _SPLITS[case](x)
        names = [p.grad_fn.name() for p in parts]
        views = [p._base is not None for p in parts]
        try:
            parts[0].mul_(3)
            err = None
        except RuntimeError as e:
            err = str(e)
        sum(((i + 1) * p).sum() for i, p in enumerate(parts)).backward()
        return names, views, err, x.tolist(), a.grad.tolist()
    assert run(ember) == run(torch)


@pytest.mark.parametrize("cast", [
    lambda t: t.zeros(2).copy_(t.tensor([1 + 1j, 2j])),
    lambda t: t.tensor([1 + 1j]).float(),
    lambda t: t.tensor([1 + 1j]).to(t.float64),
    lambda t: t.zeros(2).__setitem__(slice(None), t.tensor([1 + 1j])),
    lambda t: t.zeros(2, requires_grad=True).mul(1).copy_(t.tensor([1 + 2j])),
])
def test_complex_to_real_casts_warn_once_as_torch(cast, monkeypatch):
    import warnings
    monkeypatch.setattr(ember._warnings, "GIVEN", set())
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        cast(ember)
        cast(ember)
    w = [x for x in w if x.category is UserWarning]      # (not NumPy's, silenced in ember)
    assert [(x.category, str(x.message), x.filename) for x in w] == \
        [(UserWarning, "Casting complex values to real discards the imaginary part", __file__)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = cast(ember)
        expected = cast(torch)
    if r is not None:
        assert r.tolist() == expected.tolist()


def test_lerp_integer_kernel_names_like_torch():
    for f in (lambda t: t.lerp(t.tensor([1, 2]), t.tensor([1, 2]), 0.5),
              lambda t: t.lerp(t.tensor([1, 2]), t.tensor([1, 2]), t.tensor([1, 1]))):
        assert _outcome(lambda: f(ember)) == _outcome(lambda: f(torch))


_VIEW_DTYPE = {
    "size not divisible": lambda t: t.zeros(3, 4)[:, :3].view(t.float64),
    "transposed": lambda t: t.zeros(3, 4).t().view(t.float64),
    "0-d": lambda t: t.zeros(()).view(t.float64),
    "stride": lambda t: t.zeros(3, dtype=t.int8)[::2].view(t.int16),
    "offset": lambda t: t.zeros(3, 3)[:, 1:].view(t.float64),
    "smaller ok": lambda t: t.zeros(2, 2).view(t.int16),
    "larger ok": lambda t: t.zeros(2, 4).view(t.float64),
    "same size": lambda t: t.zeros(2, 3).t().view(t.int32),
    "t_ of 3-d": lambda t: t.zeros(2, 3, 4).t_(),
}


@pytest.mark.parametrize("case", list(_VIEW_DTYPE))
def test_dtype_views_and_t_check_like_torch(case):
    def run(t):
        r = _VIEW_DTYPE[case](t)
        return r.shape, r.stride(), r.dtype.itemsize
    assert _outcome(lambda: run(ember)) == _outcome(lambda: run(torch))


def test_T_of_a_non_matrix_warns_once_with_torchs_message():
    import subprocess
    import sys
    code = ("import warnings, {0} as t\nwarnings.simplefilter('always')\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always'); t.zeros(3).T; t.zeros(2, 3, 4).T\n"
            "print(len(w), str(w[0].message).split(' (Triggered')[0])")
    out = [subprocess.run([sys.executable, "-c", code.format(m)], capture_output=True, text=True,
                          env=dict(__import__("os").environ)).stdout for m in ("torch", "ember")]
    assert out[0] == out[1] and out[0].startswith("1 The use of `x.T`")


@pytest.mark.parametrize("key", [
    lambda t: [[0, 1], [1, 2]], lambda t: [slice(None), 0], lambda t: [0, None],
    lambda t: [t.tensor([0]), 1], lambda t: [0, 1], lambda t: t.tensor([[0, 1], [1, 2]]),
])
@pytest.mark.parametrize("write", [False, True])
def test_non_tuple_sequence_index_warns_like_torch(key, write):
    import warnings

    def run(t):
        x = t.arange(12.).view(3, 4)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            if write:
                x[key(t)] = -1.0
                r = x
            else:
                r = x[key(t)]
        return r.tolist(), [(x.category, str(x.message).split(" (Triggered")[0], x.filename)
                            for x in w if x.category is UserWarning]
    assert run(ember) == run(torch)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_unique_keeps_each_nan_like_torch(dtype):
    def run(t):
        x = t.tensor([float("nan"), 1., float("nan"), 1.], dtype=getattr(t, dtype))
        v, inv, cnt = t.unique(x, return_inverse=True, return_counts=True)
        return str(v.tolist()), inv.tolist(), cnt.tolist(), str(t.unique(x, sorted=False).tolist())
    assert run(ember) == run(torch)


def test_atan2_gradient_at_the_origin_is_zero_like_torch():
    def run(t):
        x = t.tensor([0., 1., -2., 0.], requires_grad=True)
        y = t.tensor([0., 0., 3., 0.], requires_grad=True)
        gx, gy = t.autograd.grad(t.atan2(x, y).sum(), [x, y])
        h = t.tensor([0., 1.], dtype=t.float16, requires_grad=True)
        return gx.tolist(), gy.tolist(), t.autograd.grad(t.atan2(h, h).sum(), h)[0].tolist()
    assert run(ember) == run(torch)
