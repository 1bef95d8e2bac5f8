"""torch's top-level utilities, flags, in-place functions and *_copy functions, against torch."""
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import _toplevel
from oracle import assert_close


def _eq(a, b):
    if isinstance(b, (tuple, list)):
        assert isinstance(a, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _eq(x, y)
        return
    assert isinstance(a, ember.Tensor)
    assert str(a.dtype) == str(b.dtype) and tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-6,
                               equal_nan=True)


def _both(data, dtype="float32"):
    arr = np.asarray(data, dtype=dtype)
    return ember.tensor(arr.copy()), torch.tensor(arr.copy())


# ---- predicates ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["is_complex", "is_floating_point", "is_signed", "is_inference"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "bool", "complex64"])
def test_predicates(name, dtype):
    e, t = _both([1, 0], dtype)
    assert getattr(ember, name)(e) == getattr(torch, name)(t)


@pytest.mark.parametrize("name", ["is_complex", "is_floating_point", "is_signed", "is_inference",
                                  "is_nonzero"])
def test_predicates_reject_non_tensors(name):
    with pytest.raises(TypeError) as te:
        getattr(torch, name)(1)
    with pytest.raises(TypeError) as ee:
        getattr(ember, name)(1)
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("data", [[0.0], [2.5], [[1]], 0, 3, [False], [True]])
def test_is_nonzero(data):
    e, t = ember.tensor(data), torch.tensor(data)
    assert ember.is_nonzero(e) is torch.is_nonzero(t)


@pytest.mark.parametrize("shape", [(2,), (0,)])
def test_is_nonzero_ambiguous(shape):
    with pytest.raises(RuntimeError) as te:
        torch.is_nonzero(torch.zeros(shape))
    with pytest.raises(RuntimeError) as ee:
        ember.is_nonzero(ember.zeros(shape))
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("a,b", [((2, 3), (2, 3)), ((2, 3), (3, 2)), ((), ()), ((1,), ())])
def test_is_same_size(a, b):
    assert ember.is_same_size(ember.zeros(a), ember.zeros(b)) == \
        torch.is_same_size(torch.zeros(a), torch.zeros(b))


def test_detach_and_detach_():
    e = ember.ones(2, requires_grad=True) * 2
    d = ember.detach(e)
    assert not d.requires_grad and e.requires_grad
    assert ember.detach_(e) is e and not e.requires_grad


def test_typename_and_is_storage():
    for dtype in ["float32", "float64", "int64", "bool"]:
        e, t = _both([1], dtype)
        assert ember.typename(e) == torch.typename(t)
    assert ember.typename(1) == torch.typename(1) == "int"
    assert ember.typename(ember.nn.Linear) == "ember.nn.modules.linear.Linear" or \
        ember.typename(ember.nn.Linear).endswith(".Linear")
    assert ember.typename(object()) == torch.typename(object())
    assert ember.is_storage(ember.ones(2).untyped_storage())
    assert not ember.is_storage(ember.ones(2)) and not ember.is_storage([1, 2])


# ---- fill, dist, isin, unravel_index, frombuffer ---------------------------------------------
@pytest.mark.parametrize("value", [3, 2.5, True, "tensor"])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_fill(value, dtype):
    e, t = _both([[1, 2], [3, 4]], dtype)
    ev, tv = (ember.tensor(7.5), torch.tensor(7.5)) if value == "tensor" else (value, value)
    r = ember.fill(e, ev)
    _eq(r, torch.fill(t, tv))
    assert e.tolist() == t.tolist()             # out of place


def test_fill_grad_through_value_and_errors():
    v = ember.tensor(2.0, requires_grad=True)
    ember.fill(ember.zeros(2, 3), v).sum().backward()
    assert v.grad.item() == 6.0
    with pytest.raises(RuntimeError) as te:
        torch.fill(torch.ones(2), torch.ones(2))
    with pytest.raises(RuntimeError) as ee:
        ember.fill(ember.ones(2), ember.ones(2))
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("p", [2, 1, 0, 3.5, float("inf"), -float("inf")])
def test_dist(p):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    _eq(ember.dist(ember.tensor(a), ember.tensor(b), p), torch.dist(torch.tensor(a),
                                                                     torch.tensor(b), p))


def test_dist_grad_and_int_error():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    ta = torch.tensor([1.0, 2.0], requires_grad=True)
    ember.dist(a, ember.tensor([0.0, 0.0])).backward()
    torch.dist(ta, torch.tensor([0.0, 0.0])).backward()
    _eq(a.grad, ta.grad)
    with pytest.raises(RuntimeError) as te:
        torch.dist(torch.ones(3, dtype=torch.long), torch.zeros(3, dtype=torch.long))
    with pytest.raises(RuntimeError) as ee:
        ember.dist(ember.ones(3, dtype=ember.long), ember.zeros(3, dtype=ember.long))
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("elements,test", [
    ([[1, 2], [3, 4]], [2, 4, 9]), ([1, 2, 3], 2), (2, [1, 2]), ([5.0, 1.5], [1.5]),
    ([], [1]), ([1, 2], [])])
def test_isin(elements, test, invert):
    def mk(lib, x):
        return x if isinstance(x, int) else lib.tensor(x)
    _eq(ember.isin(mk(ember, elements), mk(ember, test), invert=invert),
        torch.isin(mk(torch, elements), mk(torch, test), invert=invert))


def test_isin_two_scalars_is_type_error():
    with pytest.raises(TypeError):
        torch.isin(1, 2)
    with pytest.raises(TypeError):
        ember.isin(1, 2)


@pytest.mark.parametrize("indices,shape", [
    ([0, 1, 5, 4], (2, 3)), ([-1, 5, 6, 100], (2, 3)), ([[3, 7], [11, 0]], (3, 4)),
    (5, (2, 3)), ([4], 7), ([23], (2, 3, 4)), ([0, 1], (1, 1, 2))])
def test_unravel_index(indices, shape):
    _eq(ember.unravel_index(ember.tensor(indices), shape),
        torch.unravel_index(torch.tensor(indices), shape))


def test_unravel_index_float_error():
    with pytest.raises(TypeError) as te:
        torch.unravel_index(torch.tensor([1.0]), (2, 3))
    with pytest.raises(TypeError) as ee:
        ember.unravel_index(ember.tensor([1.0]), (2, 3))
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("dtype,count,offset", [
    ("int8", -1, 0), ("int16", -1, 2), ("float32", 2, 4), ("uint8", 3, 1), ("int32", -1, 0)])
def test_frombuffer(dtype, count, offset):
    raw = bytes(range(16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.frombuffer(bytearray(raw), dtype=getattr(torch, dtype), count=count,
                             offset=offset)
    buf = bytearray(raw)
    e = ember.frombuffer(buf, dtype=getattr(ember, dtype), count=count, offset=offset)
    _eq(e, t)
    e[0] = 9                                    # shares the buffer's memory
    assert np.frombuffer(buf, dtype=dtype, count=1, offset=offset)[0] == 9


@pytest.mark.parametrize("buf,kw", [
    (b"", {}), (bytearray(b"abc"), {"dtype": "int16"}), (bytearray(8), {"count": 0}),
    (bytearray(8), {"offset": 8}), (bytearray(8), {"offset": -1}),
    (bytearray(8), {"count": 3, "dtype": "int32"})])
def test_frombuffer_errors(buf, kw):
    kw = dict(kw)
    dt = kw.pop("dtype", "int8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as te:
            torch.frombuffer(buf, dtype=getattr(torch, dt), **kw)
        with pytest.raises(ValueError) as ee:
            ember.frombuffer(buf, dtype=getattr(ember, dt), **kw)
    assert str(ee.value) == str(te.value)


def test_vmap_is_func_vmap():
    x = ember.arange(6.0).reshape(2, 3)
    _eq(ember.vmap(lambda r: r.sum())(x), torch.vmap(lambda r: r.sum())(torch.arange(6.0)
                                                                          .reshape(2, 3)))


# ---- default device and tensor type ----------------------------------------------------------
def test_default_device():
    assert ember.get_default_device() == ember.device("cpu")
    try:
        ember.set_default_device("mock")
        assert ember.get_default_device().type == "mock"
        for t in (ember.zeros(2), ember.ones(2, 3), ember.tensor([1.0]), ember.arange(3),
                  ember.rand(2), ember.full((2,), 1.0), ember.eye(2), ember.linspace(0, 1, 3),
                  ember.empty(2)):
            assert t.device.type == "mock"
        assert ember.zeros(2, device="cpu").device.type == "cpu"     # explicit device wins
        ember.set_default_device("cpu")
        assert ember.zeros(1).device.type == "cpu"
    finally:
        ember.set_default_device(None)
    assert ember.get_default_device() == ember.device("cpu")
    assert ember.zeros(1).device.type == "cpu"


def test_default_device_reach_matches_torch():
    """Which constructors follow set_default_device, against torch (its `meta` device standing
    for ember's `mock`): as_tensor/asarray do (moving a tensor too), the legacy constructors and
    from_numpy do not."""
    cases = {"as_tensor(list)": lambda L: L.as_tensor([1.0]),
             "as_tensor(array)": lambda L: L.as_tensor(np.ones(2)),
             "as_tensor(cpu tensor)": lambda L: L.as_tensor(L.ones(1, device="cpu")),
             "asarray": lambda L: L.asarray([1]),
             "Tensor(list)": lambda L: L.Tensor([1.0, 2.0]),
             "Tensor(sizes)": lambda L: L.Tensor(2, 3),
             "FloatTensor": lambda L: L.FloatTensor([1.0]),
             "from_numpy": lambda L: L.from_numpy(np.ones(1))}
    for name, make in cases.items():
        try:
            torch.set_default_device("meta")
            ember.set_default_device("mock")
            moved = (make(ember).device.type == "mock", make(torch).device.type == "meta")
        finally:
            torch.set_default_device(None)
            ember.set_default_device(None)
        assert moved[0] == moved[1], name


@pytest.mark.parametrize("t", ["DoubleTensor", "torch.DoubleTensor", "FloatTensor",
                               "torch.HalfTensor"])
def test_set_default_tensor_type(t):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.set_default_tensor_type(t if "." in t else getattr(torch, t))
            ember.set_default_tensor_type(t if "." in t else getattr(ember, t))
        assert str(ember.get_default_dtype()) == str(torch.get_default_dtype())
        assert str(ember.tensor([1.5]).dtype) == str(torch.tensor([1.5]).dtype)
    finally:
        torch.set_default_dtype(torch.float32)
        ember.set_default_dtype(ember.float32)


@pytest.mark.parametrize("t", ["IntTensor", "torch.LongTensor"])
def test_set_default_tensor_type_rejects_integers(t):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError) as te:
            torch.set_default_tensor_type(t if "." in t else getattr(torch, t))
        with pytest.raises(TypeError) as ee:
            ember.set_default_tensor_type(t if "." in t else getattr(ember, t))
    assert str(ee.value) == str(te.value)
    assert ember.get_default_dtype() is ember.float32


# ---- global flags ----------------------------------------------------------------------------
@pytest.fixture
def restore_flags():
    saved, always = dict(_toplevel._FLAGS), ember.is_warn_always_enabled()
    yield
    _toplevel._FLAGS.update(saved)
    ember.set_warn_always(always)


def test_matmul_precision(restore_flags):
    assert ember.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    for p in ("high", "medium", "highest"):
        ember.set_float32_matmul_precision(p)
        assert ember.get_float32_matmul_precision() == p
    with pytest.warns(UserWarning):
        ember.set_float32_matmul_precision("bogus")
    assert ember.get_float32_matmul_precision() == "highest"


def test_deterministic_flags(restore_flags):
    assert ember.are_deterministic_algorithms_enabled() is False
    assert ember.get_deterministic_debug_mode() == 0
    ember.use_deterministic_algorithms(True, warn_only=True)
    assert ember.are_deterministic_algorithms_enabled()
    assert ember.is_deterministic_algorithms_warn_only_enabled()
    assert ember.get_deterministic_debug_mode() == 1
    for mode, expect in (("error", 2), ("default", 0), (1, 1), ("warn", 1), (2, 2), (0, 0)):
        ember.set_deterministic_debug_mode(mode)
        assert ember.get_deterministic_debug_mode() == expect
    assert not ember.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize("call,exc", [
    (lambda m: m.set_deterministic_debug_mode("x"), RuntimeError),
    (lambda m: m.set_deterministic_debug_mode(1.5), TypeError),
    (lambda m: m.use_deterministic_algorithms(1), TypeError),
    (lambda m: m.set_num_interop_threads(0), RuntimeError)])
def test_flag_errors(call, exc, restore_flags):
    with pytest.raises(exc) as te:
        call(torch)
    with pytest.raises(exc) as ee:
        call(ember)
    assert str(ee.value) == str(te.value)


def test_threads_warn_always_flush_denormal(restore_flags):
    assert isinstance(ember.get_num_interop_threads(), int)
    ember.set_num_interop_threads(3)
    assert ember.get_num_interop_threads() == 3
    assert ember.is_warn_always_enabled() is False
    ember.set_warn_always(True)
    assert ember.is_warn_always_enabled() is True
    assert ember.set_flush_denormal(False) in (True, False)



def test_set_num_threads_leaves_other_openmp_runtimes_alone():
    """ember.set_num_threads limits NumPy's BLAS pool; it used to restore, through
    threadpoolctl's restore_original_limits, every OpenMP runtime in the process to its count
    of the previous call, so torch.get_num_threads() went back from 1 to 2 (and torch's 1x1
    convolutions took oneDNN's path instead of the single-threaded one)."""
    pytest.importorskip("threadpoolctl")
    before = torch.get_num_threads(), ember.get_num_threads()
    try:
        torch.set_num_threads(2)
        ember.set_num_threads(2)
        torch.set_num_threads(1)
        ember.set_num_threads(1)
        ember.set_num_threads(2)
        assert torch.get_num_threads() == 1
        assert ember.get_num_threads() == 2
    finally:
        torch.set_num_threads(before[0])
        ember.set_num_threads(before[1])

# ---- autocast state --------------------------------------------------------------------------
@pytest.fixture
def restore_amp():
    import sys
    from ember.amp.state import AMP
    ac = sys.modules["ember.amp.autocast"]
    saved = (AMP.enabled, AMP.dtype, AMP.device_type, dict(ac._DTYPES), dict(ac.CACHE),
             dict(ac._ENABLED))
    yield
    AMP.enabled, AMP.dtype, AMP.device_type = saved[:3]
    for state, before in zip((ac._DTYPES, ac.CACHE, ac._ENABLED), saved[3:]):
        state.clear()
        state.update(before)


def test_autocast_state_defaults(restore_amp):
    assert ember.is_autocast_enabled() is torch.is_autocast_enabled() is False
    for dev in ("cpu", "cuda"):
        assert ember.is_autocast_enabled(dev) is torch.is_autocast_enabled(dev)
        assert str(ember.get_autocast_dtype(dev)) == str(torch.get_autocast_dtype(dev))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert str(ember.get_autocast_cpu_dtype()) == str(torch.get_autocast_cpu_dtype())
        assert str(ember.get_autocast_gpu_dtype()) == str(torch.get_autocast_gpu_dtype())
        assert ember.is_autocast_cpu_enabled() is torch.is_autocast_cpu_enabled()
    assert ember.is_autocast_cache_enabled() is torch.is_autocast_cache_enabled()


def test_autocast_state_set_and_context(restore_amp):
    ember.set_autocast_dtype("cpu", ember.float16)
    assert ember.get_autocast_dtype("cpu") is ember.float16
    assert ember.get_autocast_cpu_dtype() is ember.float16
    with ember.autocast("cpu"):                 # the context picks up the set dtype
        assert ember.is_autocast_enabled("cpu") and ember.is_autocast_cpu_enabled()
        assert ember.get_autocast_dtype("cpu") is ember.float16
        assert (ember.ones(2, 2) @ ember.ones(2, 2)).dtype is ember.float16
    assert not ember.is_autocast_enabled("cpu")
    ember.set_autocast_cpu_dtype(ember.bfloat16)
    assert ember.get_autocast_dtype("cpu") is ember.bfloat16
    ember.set_autocast_cpu_dtype(ember.float16)
    ember.set_autocast_enabled("cpu", True)
    assert ember.is_autocast_enabled("cpu") and not ember.is_autocast_enabled("cuda")
    assert (ember.ones(2, 2) @ ember.ones(2, 2)).dtype is ember.float16
    ember.set_autocast_cpu_enabled(False)
    assert not ember.is_autocast_enabled("cpu")
    assert (ember.ones(2, 2) @ ember.ones(2, 2)).dtype is ember.float32
    ember.set_autocast_gpu_dtype(ember.bfloat16)
    assert ember.get_autocast_dtype("cuda") is ember.bfloat16
    ember.set_autocast_cache_enabled(False)
    assert ember.is_autocast_cache_enabled() is False
    ember.clear_autocast_cache()
    assert ember.autocast_increment_nesting() == 1
    assert ember.autocast_decrement_nesting() == 0


@pytest.mark.parametrize("call", [lambda m: m.get_autocast_dtype("xyz"),
                                  lambda m: m.set_autocast_enabled("xyz", True),
                                  lambda m: m.set_autocast_dtype("xyz", m.float16)])
def test_autocast_bad_device(call, restore_amp):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError):
        call(ember)


# ---- top-level in-place functions ------------------------------------------------------------
def test_inplace_names_match_torch():
    for name in _toplevel.INPLACE_METHODS + ["conj_physical_"]:
        assert hasattr(torch, name), name
        assert callable(getattr(ember, name))


_POS = [0.2, 0.5, 0.9]
_ARGS = {"clamp_": (0.3, 0.6), "clamp_min_": (0.4,), "clamp_max_": (0.4,), "clip_": (0.3, 0.6),
         "logit_": (1e-3,), "nan_to_num_": (0.0,), "round_": (), "xlogy_": "tensor",
         "ldexp_": "int", "gcd_": "int", "lcm_": "int"}
_INT_DATA = {"gcd_": [4, 6, 9], "lcm_": [4, 6, 9]}
_DATA = {"acosh_": [1.5, 2.0, 3.0], "arccosh_": [1.5, 2.0, 3.0]}


@pytest.mark.parametrize("name", _toplevel.INPLACE_METHODS)
def test_inplace_matches_torch(name):
    if name in _INT_DATA:
        e, t = _both(_INT_DATA[name], "int64")
    else:
        e, t = _both(_DATA.get(name, _POS))
    args = _ARGS.get(name, ())
    if args == "tensor":
        ea, ta = _both([1.0, 2.0, 3.0])
        args_e, args_t = (ea,), (ta,)
    elif args == "int":
        ea, ta = _both([2, 3, 4], "int64")
        args_e, args_t = (ea,), (ta,)
    else:
        args_e = args_t = args
    re_, rt = getattr(ember, name)(e, *args_e), getattr(torch, name)(t, *args_t)
    assert re_ is e and rt is t
    _eq(e, t)


def test_inplace_rejects_non_tensor():
    with pytest.raises(TypeError):
        ember.exp_(1.0)


def test_conj_physical_():
    e = ember.tensor([1 + 2j, 3 - 1j])
    t = torch.tensor([1 + 2j, 3 - 1j])
    assert ember.conj_physical_(e) is e
    torch.conj_physical_(t)
    _eq(e, t)
    r = ember.tensor([1.0, 2.0])
    assert ember.conj_physical_(r) is r and r.tolist() == [1.0, 2.0]


# ---- *_copy ----------------------------------------------------------------------------------
_COPY_CASES = [
    ("view_copy", (4, 6), ((6, 4),)), ("view_copy", (4, 6), ((-1,),)),
    ("permute_copy", (2, 3, 4), ((2, 0, 1),)), ("expand_copy", (3, 1), ((3, 5),)),
    ("t_copy", (3, 4), ()), ("transpose_copy", (2, 3, 4), (0, 2)),
    ("unsqueeze_copy", (3, 4), (1,)), ("squeeze_copy", (3, 1, 4), ()),
    ("squeeze_copy", (3, 1, 4), (1,)), ("select_copy", (3, 4), (1, 2)),
    ("slice_copy", (5, 4), ()), ("slice_copy", (5, 4), (0, 1, 4, 2)),
    ("slice_copy", (5, 4), (1, 1, 100)), ("diagonal_copy", (3, 4), ()),
    ("diagonal_copy", (2, 3, 4), (1, 1, 2)), ("split_copy", (5, 4), (2,)),
    ("split_copy", (5, 4), (3, 1)), ("split_with_sizes_copy", (5, 4), ([2, 3],)),
    ("unbind_copy", (3, 4), ()), ("unbind_copy", (3, 4), (1,)),
    ("unfold_copy", (6, 4), (0, 2, 2)), ("alias_copy", (3, 4), ()), ("detach_copy", (3, 4), ()),
    ("as_strided_copy", (4, 4), ((2, 2), (1, 2))), ("as_strided_copy", (4, 4), ((2,), (3,), 1)),
]


@pytest.mark.parametrize("name,shape,args", _COPY_CASES)
def test_copy_functions(name, shape, args):
    data = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    e = ember.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    re_, rt = getattr(ember, name)(e, *args), getattr(torch, name)(t, *args)
    _eq(re_, rt)
    outs_e = re_ if isinstance(re_, tuple) else (re_,)
    outs_t = rt if isinstance(rt, tuple) else (rt,)
    for o in outs_e:                            # a copy: writing to it leaves the input alone
        if o.numel():
            o.detach()[...] = -1.0 if o.ndim else -1.0
    np.testing.assert_array_equal(e.detach().numpy(), data)
    if name == "detach_copy":
        assert not re_.requires_grad
        return
    sum(o.sum() * (i + 1) for i, o in enumerate(outs_e)).backward()
    sum(o.sum() * (i + 1) for i, o in enumerate(outs_t)).backward()
    _eq(e.grad, t.grad)


def test_copy_functions_complex_views():
    c = np.array([[1.0, 2.0], [3.0, 4.0]])
    _eq(ember.view_as_complex_copy(ember.tensor(c)), torch.view_as_complex_copy(torch.tensor(c)))
    z = np.array([1 + 2j, 3 - 4j])
    _eq(ember.view_as_real_copy(ember.tensor(z)), torch.view_as_real_copy(torch.tensor(z)))


def test_copy_out():
    out = ember.empty(3, 2)
    r = ember.t_copy(ember.arange(6.0).reshape(2, 3), out=out)
    assert r is out and out.tolist() == torch.t_copy(torch.arange(6.0).reshape(2, 3)).tolist()


def test_import_stays_light():
    import subprocess
    import sys
    code = "import ember, sys; print('ember.nn' in sys.modules, 'ember.func' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_device_as_context_manager_sets_the_factories_default():
    with ember.device("mock"):
        assert ember.zeros(2).device.type == "mock"
        with ember.device("cpu"):
            assert ember.ones(1).device.type == "cpu"
        assert ember.randn(3).device.type == "mock"
        assert ember.get_default_device() == ember.device("mock", 0)
    assert ember.zeros(2).device.type == "cpu"
    with torch.device("cpu"):
        assert torch.zeros(1).device.type == "cpu"


@pytest.mark.parametrize("call", [
    lambda L: L.tensor([0.2, 0.5, 0.3]).dist(L.tensor([1.0, 2.0, 0.5])),
    lambda L: L.tensor([0.2, 0.5, 0.3]).dist(L.tensor([1.0, 2.0, 0.5]), 1),
    lambda L: L.ones(2, 3).is_same_size(L.ones(3, 2)),
    lambda L: L.tensor([2.0]).is_nonzero(),
    lambda L: L.tensor([]).is_nonzero(),
    lambda L: L.ones(2).is_nonzero(),
    lambda L: (L.ones(1).is_mps, L.ones(1).is_xpu, L.ones(1).is_nested, L.ones(1).is_sparse_csr),
    lambda L: L.tensor([[-1.0, 2.0], [3.0, -4.0]]).prelu(L.tensor([0.25, 0.5])),
    lambda L: L.tensor([-1.0, 0.0, 2.0]).heaviside_(L.tensor([0.5])),
    lambda L: L.tensor([2.5, 3.0]).mvlgamma_(2),
    lambda L: L.tensor([1.5, 0.5]).igamma_(L.tensor([2.0, 1.0])),
    lambda L: L.tensor([1.5, 0.5]).igammac_(L.tensor([2.0, 1.0])),
    lambda L: tuple(L.tensor([0.2, 0.8]).multinomial(6, True).shape),
    lambda L: tuple(L.tensor([[0.2], [0.9]]).bernoulli().shape),
])
def test_tensor_methods_like_torch(call):
    def run(lib):
        try:
            return "ok", call(lib)
        except Exception as e:          # noqa: BLE001 - class and message compared
            return "err", (type(e), str(e))
    (kt, t), (ke, e) = run(torch), run(ember)
    assert ke == kt, (e, t)
    if kt == "err" or not isinstance(t, torch.Tensor):
        assert e == t
    else:
        assert_close(e, t)


def test_return_types_module_lists_torchs_named_tuples():
    """Every named tuple torch.return_types has (the *_out variants aside) is in
    ember.return_types, with torch's fields, and ops return exactly those classes."""
    want = {n for n in dir(torch.return_types) if not n.startswith("_") and
            isinstance(getattr(torch.return_types, n), type) and
            not n.endswith("_out") and hasattr(getattr(torch.return_types, n), "n_fields")}
    assert want and want <= set(ember.return_types.__all__)
    x = ember.randn(3, 4)
    assert type(x.max(1)) is ember.return_types.max
    assert type(ember.linalg.eig(ember.eye(2))) is ember.return_types.linalg_eig
    assert type(ember.linalg.inv_ex(ember.eye(2))) is ember.return_types.linalg_inv_ex
    assert ember.return_types.linalg_lstsq._fields == (
        "solution", "residuals", "rank", "singular_values")
    assert repr(ember.return_types.sort).replace("ember", "torch") == \
        repr(torch.return_types.sort)


@pytest.mark.parametrize("size,layout", [((2, 3, 4), (2, 0, 1)), ((2, 3), (1, 0)),
                                         ((5,), (0,)), ((2, 3), (0, 0)), ((2, 3), (0,))])
def test_empty_permuted(size, layout):
    def run(lib):
        try:
            t = lib.empty_permuted(size, layout, dtype=lib.float64)
        except RuntimeError as e:
            return str(e)
        return tuple(t.shape), t.stride(), str(t.dtype), t.is_contiguous()
    assert run(ember) == run(torch)
    assert ember.GradScaler is ember.amp.GradScaler


def test_hook_handles_are_torch_utils_hooks_removable_handles():
    from ember.utils import hooks
    x = ember.ones(2, requires_grad=True)
    handles = [x.register_hook(lambda g: g), (x * 2).grad_fn.register_hook(lambda a, b: None),
               ember.nn.Linear(2, 2).register_forward_hook(lambda *a: None),
               ember.optim.SGD([x], lr=0.1).register_step_pre_hook(lambda *a: None)]
    assert all(isinstance(h, hooks.RemovableHandle) for h in handles)
    with x.register_hook(lambda g: g * 3):
        (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]                  # 3 with the hook, then 1 without
    assert hooks.unserializable_hook(lambda: 0).__torch_unserializable__
    assert hooks.BackwardHook.__name__ == "BackwardHook"


def test_tensors_carry_python_attributes_as_torchs():
    """t.attr = value works on any tensor (timm tags parameters, libraries tag tensors); pickle
    and deepcopy keep the attributes, clone and detach do not, as in torch."""
    import copy
    import pickle

    def run(lib):
        t = lib.ones(2)
        t.tag = {"k": 1}
        return (t.tag, vars(t), getattr(pickle.loads(pickle.dumps(t)), "tag", None),
                getattr(copy.deepcopy(t), "tag", None), hasattr(t.clone(), "tag"),
                hasattr(t.detach(), "tag"), hasattr(lib.ones(2), "tag"))
    assert run(ember) == run(torch)
