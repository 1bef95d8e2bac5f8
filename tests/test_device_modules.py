"""torch.accelerator, torch.cpu, torch.get_device(_module), DLPack capsules, the math constants,
Tensor.new and the other small names device-generic scripts use, against torch (CPU build).

On a machine where CuPy sees a GPU ember's accelerator is CUDA while the CPU oracle has none, so
the comparisons with torch's answers run only without a GPU."""
import math
import warnings

import numpy as np
import pytest
import torch

import ember

NO_GPU = not ember.cuda.is_available()
needs_no_gpu = pytest.mark.skipif(not NO_GPU, reason="torch's CPU build has no accelerator")


def _raises_like(fe, ft):
    """fe() raises the same exception class and message as ft()."""
    with pytest.raises(Exception) as te:
        ft()
    with pytest.raises(type(te.value)) as ee:
        fe()
    assert str(ee.value) == str(te.value)


def test_constants():
    for name in ("e", "pi", "inf"):
        assert getattr(ember, name) == getattr(torch, name)
    assert math.isnan(ember.nan) and ember.newaxis is None is torch.newaxis
    x = ember.arange(3.0)
    assert tuple(x[ember.newaxis].shape) == (1, 3)


@needs_no_gpu
def test_accelerator_without_one_answers_as_torch():
    A, T = ember.accelerator, torch.accelerator
    assert A.is_available() is T.is_available() is False
    assert A.current_accelerator() is None and T.current_accelerator() is None
    assert A.current_accelerator(check_available=True) is None
    assert A.device_count() == T.device_count() == 0
    for name in ("current_device_index", "synchronize", "empty_cache", "memory_allocated",
                 "max_memory_allocated", "memory_reserved", "max_memory_reserved",
                 "memory_stats", "reset_peak_memory_stats", "current_stream"):
        _raises_like(getattr(A, name), getattr(T, name))
    _raises_like(lambda: A.set_device_index(0), lambda: T.set_device_index(0))
    with A.device_index(None), T.device_index(None):    # None: no switch, no error
        pass
    # the idiom of PyTorch's current examples
    dev = A.current_accelerator().type if A.is_available() else "cpu"
    assert ember.ones(2, device=dev).device == ember.device("cpu")


def test_accelerator_is_cuda_when_ember_sees_a_gpu():
    acc = ember.accelerator.current_accelerator()
    if NO_GPU:
        assert acc is None
    else:
        assert acc == ember.device("cuda") and ember.accelerator.device_count() >= 1
        assert ember.accelerator.current_device_index() == ember.cuda.current_device()
        with pytest.raises(ValueError, match="doesn't match the current accelerator"):
            ember.accelerator.synchronize("cpu")


@needs_no_gpu
def test_cuda_memory_queries_without_a_gpu():
    assert ember.cuda.memory_stats() == torch.cuda.memory_stats() == {}
    assert ember.cuda.max_memory_reserved() == torch.cuda.max_memory_reserved() == 0
    with pytest.raises(RuntimeError, match="pip install"):
        ember.cuda.mem_get_info()


def test_cpu_device_module():
    C, T = ember.cpu, torch.cpu
    for name in ("is_available", "device_count", "current_device", "is_initialized"):
        assert getattr(C, name)() == getattr(T, name)()
    assert C.synchronize() is None and C.set_device("cpu") is None
    s = C.current_stream()
    assert isinstance(s, C.Stream) and s.query() and C.current_stream() is s
    with C.stream(C.Stream()) as inner:
        assert isinstance(inner, C.Stream)
    assert C.Stream().record_event().query()


@pytest.mark.parametrize("ctor", ["autocast", "GradScaler"])
def test_cpu_amp_deprecated_spellings(ctor):
    with pytest.warns(FutureWarning) as ew:
        obj = getattr(ember.cpu.amp, ctor)()
    with pytest.warns(FutureWarning) as tw:
        getattr(torch.cpu.amp, ctor)()
    assert str(ew[0].message) == str(tw[0].message)
    if ctor == "autocast":
        assert obj.device_type == "cpu" and obj.fast_dtype is ember.bfloat16
        with obj:
            y = ember.mm(ember.ones(2, 2), ember.ones(2, 2))
        assert y.dtype is ember.bfloat16          # ml_dtypes is a test dependency


def test_get_device_and_get_device_module():
    assert ember.get_device(ember.ones(2)) == torch.get_device(torch.ones(2)) == -1
    assert ember.ones(2).get_device() == -1
    _raises_like(lambda: ember.get_device([1]), lambda: torch.get_device([1]))
    assert ember.get_device_module("cpu") is ember.cpu
    assert ember.get_device_module(ember.device("cuda:0")) is ember.cuda
    assert ember.get_device_module() is (ember.cpu if NO_GPU else ember.cuda)
    _raises_like(lambda: ember.get_device_module(3), lambda: torch.get_device_module(3))
    _raises_like(lambda: ember.get_device_module("meta"),
                 lambda: torch.get_device_module("meta"))


def test_dlpack_capsules_both_ways_share_memory():
    e = ember.arange(6.0)
    cap = ember.utils.dlpack.to_dlpack(e)
    back = ember.from_dlpack(cap)
    back[0] = 5.0                                # writable, and the same memory
    assert e[0].item() == 5.0
    _raises_like(lambda: ember.from_dlpack(cap), lambda: torch.from_dlpack(
        _used_torch_capsule()))
    t = torch.utils.dlpack.from_dlpack(ember.to_dlpack(e))     # torch reads ember's capsule
    t[1] = 7.0
    assert e[1].item() == 7.0
    ti = torch.arange(4, dtype=torch.int32)
    ei = ember.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(ti))   # torch's capsule
    assert ei.dtype is ember.int32 and ei.tolist() == [0, 1, 2, 3]


def _used_torch_capsule():
    cap = torch.utils.dlpack.to_dlpack(torch.ones(2))
    torch.from_dlpack(cap)
    return cap


def test_writing_into_read_only_memory_says_so():
    a = np.arange(3.0)
    a.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        e = ember.from_numpy(a)
    with pytest.raises(RuntimeError, match="read-only memory"):
        e[0] = 1.0


@pytest.mark.parametrize("args", [(), (2, 3), ([1, 2],), ((2, 3),), "size", "same"])
def test_tensor_new_legacy_constructor(args):
    results = []
    for lib in (ember, torch):
        x = lib.ones(2, dtype=lib.float64)
        a = {"size": (lib.Size([2, 3]),), "same": (x,)}[args] if isinstance(args, str) \
            else args
        r = x.new(*a)
        results.append((tuple(r.shape), str(r.dtype)))
        if args == "same":
            assert r is not x and r.data_ptr() == x.data_ptr()
        elif args and not isinstance(a[0], int) and not isinstance(a[0], lib.Size):
            assert r.tolist() == [float(v) for v in a[0]]
    assert results[0] == results[1]


@pytest.mark.parametrize("bad", [(1.5,), "int_tensor", "device"])
def test_tensor_new_rejects_as_torch(bad):
    def call(lib):
        x = lib.ones(2, dtype=lib.float64)
        if bad == "int_tensor":
            return lambda: x.new(lib.ones(2, dtype=lib.int32))
        if bad == "device":
            return lambda: x.new(2, device="meta")
        return lambda: x.new(*bad)
    with pytest.raises(Exception) as te:
        call(torch)()
    with pytest.raises(type(te.value)):
        call(ember)()


@pytest.mark.parametrize("data,size,fill", [([0, 1, 2, 0], 3, -1), ([[0, 1], [2, 0]], 1, 9),
                                            ([[0, 1], [2, 0]], 4, 7), (3, 2, -1), ([], 2, -1)])
def test_nonzero_static(data, size, fill):
    e = ember.nonzero_static(ember.tensor(data), size=size, fill_value=fill)
    t = torch.nonzero_static(torch.tensor(data), size=size, fill_value=fill)
    assert e.dtype is ember.int64 and e.tolist() == t.tolist() and tuple(e.shape) == t.shape
    assert ember.tensor(data).nonzero_static(size=size, fill_value=fill).tolist() == t.tolist()
    _raises_like(lambda: ember.nonzero_static(ember.tensor(data), size=-1),
                 lambda: torch.nonzero_static(torch.tensor(data), size=-1))


@pytest.mark.parametrize("name,arg", [("unsafe_chunk", 2), ("unsafe_split", 2),
                                      ("unsafe_split_with_sizes", [2, 3])])
def test_unsafe_splits(name, arg):
    e = getattr(ember.arange(5.0), name)(arg)
    t = getattr(torch, name)(torch.arange(5.0), arg)
    assert [p.tolist() for p in e] == [p.tolist() for p in t]


def test_is_inference_method():
    assert ember.ones(2).is_inference() is torch.ones(2).is_inference() is False


def test_meta_device_as_torch():
    """Meta tensors: torch's repr, ops keep the device, data never comes out, their random
    fills do not advance the generator, and torch.func's model-ensembling recipe (a meta copy
    of the model called with stacked real parameters) runs."""
    import copy
    out = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        t = lib.zeros(2, 3, device="meta")
        lin = lib.nn.Linear(4, 2, device="meta")
        seen = [repr(t), repr(lib.zeros(2, dtype=lib.int64, device="meta")), repr(lin.weight),
                repr(t + 1), repr(t.sum()), repr(lib.rand(2))]
        for code in ("t.cpu()", "t.sum().item()", "t.numpy()", "t.tolist()"):
            try:
                eval(code)
            except Exception as e:
                seen.append(f"{type(e).__name__}: {e}")
        models = [lib.nn.Linear(4, 2) for _ in range(3)]
        params, buffers = lib.func.stack_module_state(models)
        base = copy.deepcopy(models[0]).to("meta")
        y = lib.func.vmap(lambda p, b, x: lib.func.functional_call(base, (p, b), (x,)),
                          in_dims=(0, 0, None))(params, buffers, lib.ones(5, 4))
        seen.append(tuple(y.shape))
        out.append(seen)
    assert out[0] == out[1]
