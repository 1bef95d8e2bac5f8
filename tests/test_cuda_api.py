"""ember.cuda's device API: device queries, memory accounting, streams and events, seeding,
transfers and DLPack exchange. On a GPU (skipped elsewhere) the queries are checked against
torch.cuda on the same device and DLPack against torch and CuPy tensors sharing the memory;
without one, the functions that need no GPU answer as torch's do and the others raise ember's
missing-CUDA error."""
import numpy as np
import pytest
import torch

import ember
from oracle import host

MISSING = r"CUDA is not available: .*ember\[cuda12\]"


def _gpu():
    if not ember.cuda.is_available():
        pytest.skip("needs a GPU that CuPy sees")


def _torch_gpu():
    _gpu()
    if not torch.cuda.is_available():
        pytest.skip("needs torch with CUDA as the oracle")


def test_without_gpu_queries_answer_and_the_rest_names_the_extra():
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    assert ember.cuda.device_count() == 0
    assert ember.cuda.memory_allocated() == 0 and ember.cuda.memory_reserved() == 0
    assert not ember.cuda.is_bf16_supported()
    assert not ember.cuda.is_initialized()
    ember.cuda.synchronize()                      # no-ops without a GPU
    ember.cuda.empty_cache()
    for make in (ember.cuda.Stream, ember.cuda.Event, ember.cuda.current_device,
                 lambda: ember.cuda.get_device_properties(0), lambda: ember.cuda.set_device(0),
                 ember.cuda.reset_peak_memory_stats):
        with pytest.raises(RuntimeError, match=MISSING):
            make()


def test_error_classes_as_torch():
    """torch.OutOfMemoryError (the same class as torch.cuda.OutOfMemoryError) and
    torch.AcceleratorError: RuntimeErrors that code can name in an except clause."""
    assert ember.cuda.OutOfMemoryError is ember.OutOfMemoryError
    assert torch.cuda.OutOfMemoryError is torch.OutOfMemoryError
    for name in ("OutOfMemoryError", "AcceleratorError"):
        e, t = getattr(ember, name), getattr(torch, name)
        assert [c.__name__ for c in e.__mro__] == [c.__name__ for c in t.__mro__]
        assert repr(e("out of memory")) == repr(t("out of memory"))


def test_device_queries_match_torch():
    _torch_gpu()
    assert ember.cuda.device_count() == torch.cuda.device_count()
    assert ember.cuda.get_device_name(0) == torch.cuda.get_device_name(0)
    p, tp = ember.cuda.get_device_properties(0), torch.cuda.get_device_properties(0)
    assert (p.name, p.major, p.minor, p.multi_processor_count, p.total_memory) == \
        (tp.name, tp.major, tp.minor, tp.multi_processor_count, tp.total_memory)
    assert ember.cuda.get_device_capability(0) == torch.cuda.get_device_capability(0)
    assert ember.cuda.is_bf16_supported() == torch.cuda.is_bf16_supported()
    assert ember.cuda.current_device() == 0
    with ember.cuda.device(0):
        assert ember.cuda.current_device() == 0
    assert ember.cuda.is_initialized()


def test_memory_accounting():
    _gpu()
    ember.cuda.synchronize()
    ember.cuda.empty_cache()
    ember.cuda.reset_peak_memory_stats()
    base = ember.cuda.memory_allocated()
    x = ember.empty(2 ** 20, device="cuda")         # 4 MiB of float32
    assert ember.cuda.memory_allocated() >= base + 4 * 2 ** 20
    assert ember.cuda.memory_reserved() >= ember.cuda.memory_allocated()
    peak = ember.cuda.max_memory_allocated()
    assert peak >= base + 4 * 2 ** 20
    del x
    assert ember.cuda.memory_allocated() <= base
    assert ember.cuda.max_memory_allocated() == peak
    ember.cuda.reset_peak_memory_stats()
    assert ember.cuda.max_memory_allocated() < peak
    assert "allocated" in ember.cuda.memory_summary()


def test_streams_and_events_order_and_time_work():
    _gpu()
    a = ember.randn(2048, 2048, device="cuda")
    s = ember.cuda.Stream()
    s.wait_stream(ember.cuda.current_stream())
    start, end = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
    with ember.cuda.stream(s):
        start.record()
        b = a @ a
        end.record()
    end.synchronize()
    assert end.query() and s.query()
    assert start.elapsed_time(end) > 0
    ember.cuda.current_stream().wait_stream(s)
    np.testing.assert_allclose(host(b[:4]), host(a[:4]) @ host(a), rtol=1e-4, atol=1e-2)


def test_manual_seed_reproduces_cuda_draws():
    _gpu()
    draws = []
    for _ in range(2):
        ember.cuda.manual_seed(7)
        draws.append(host(ember.randn(5, device="cuda")))
    np.testing.assert_array_equal(*draws)


def test_transfers_to_and_from_the_gpu():
    _gpu()
    x = ember.arange(6.0).reshape(2, 3)
    for y in (x.to("cuda", non_blocking=True), x.cuda(), x.to(device="cuda:0"),
              x.pin_memory().cuda(non_blocking=True)):
        assert y.device == ember.device("cuda", 0)
        back = y.cpu()
        assert back.device.type == "cpu"
        np.testing.assert_array_equal(host(back), host(x))


def test_dlpack_shares_gpu_memory_with_torch_and_cupy():
    _torch_gpu()
    import cupy
    t = torch.arange(6.0, device="cuda")
    e = ember.from_dlpack(t)
    assert e.device.type == "cuda" and e.dtype == ember.float32
    e.mul_(2)                                       # through ember, seen by torch
    torch.cuda.synchronize()
    assert t.tolist() == [0, 2, 4, 6, 8, 10]
    back = torch.from_dlpack(e)                     # and the other way round
    back.add_(1)
    torch.cuda.synchronize()
    assert host(e).tolist() == [1, 3, 5, 7, 9, 11]
    c = cupy.from_dlpack(e)
    c[0] = -1
    assert host(e)[0] == -1


def _no_gpu_answers(lib):
    """torch.cuda's functions that answer without a GPU: their values and warnings."""
    import warnings
    C, out = lib.cuda, []
    calls = [C.memory_cached, C.max_memory_cached, C.memory_stats_as_nested_dict, C.get_arch_list,
             C.get_gencode_flags, C.is_tf32_supported, C.list_gpu_processes, C.host_memory_stats,
             lambda: C.set_stream(None), lambda: C.device_of(lib.ones(1)).__enter__(),
             lambda: C.StreamContext(None).__enter__(), lambda: C.nvtx.range("r"),
             C.utilization, C.temperature, C.memory_usage, C.clock_rate, C.power_draw,
             C.device_memory_used, lambda: C.nvtx.range_push("r"), C.nvtx.range_pop,
             lambda: C.nvtx.mark("m"), lambda: issubclass(C.CudaError, RuntimeError)]
    for call in calls:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                r = call()
                got = ("ok", type(r).__name__ if hasattr(r, "__enter__") else r)
            except Exception as e:      # noqa: BLE001 - the class and message are compared
                got = (type(e).__name__, str(e))
        out.append((got, [(m.category, str(m.message)) for m in w]))
    return out


def test_without_gpu_more_of_torch_cuda_answers_as_torch():
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    assert _no_gpu_answers(ember) == _no_gpu_answers(torch)
    for call in (ember.cuda.init, ember.cuda.ipc_collect, ember.cuda.get_sync_debug_mode,
                 lambda: ember.cuda.set_per_process_memory_fraction(0.5),
                 ember.cuda.get_per_process_memory_fraction,
                 lambda: ember.cuda.can_device_access_peer(0, 1),
                 ember.cuda.reset_accumulated_memory_stats):
        with pytest.raises(RuntimeError, match=MISSING):
            call()


def test_gpu_settings_and_queries():
    _gpu()
    ember.cuda.init()
    cap = ember.cuda.get_device_capability()
    assert ember.cuda.get_arch_list()[0].startswith("sm_")
    assert ember.cuda.is_tf32_supported() == (cap[0] >= 8)
    ember.cuda.set_per_process_memory_fraction(0.5)
    assert ember.cuda.get_per_process_memory_fraction() == 0.5
    ember.cuda.set_per_process_memory_fraction(1.0)
    ember.cuda.set_sync_debug_mode("warn")
    assert ember.cuda.get_sync_debug_mode() == 1
    ember.cuda.set_sync_debug_mode(0)
    x = ember.ones(3, device="cuda")
    with ember.cuda.device_of(x):
        assert ember.cuda.current_device() == x.get_device()
    assert ember.cuda.memory_stats_as_nested_dict()["allocated_bytes"]["all"]["current"] > 0
    s = ember.cuda.Stream()
    ember.cuda.set_stream(s)
    ember.cuda.set_stream(ember.cuda.default_stream())
    with ember.cuda.nvtx.range("ember {}", 1):
        ember.cuda.nvtx.mark("inside")
