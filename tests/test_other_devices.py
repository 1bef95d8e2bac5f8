"""The device types torch names but a CPU-only build cannot hold (mps, xpu, mtia, hip, xla...):
torch.device accepts them, tensors made on or moved to them raise torch's errors, torch.xpu /
torch.mps / torch.mtia answer as in torch's CPU wheel, and the device-generic torch.Stream and
torch.Event behave as torch's on the host devices. Each case is run in both libraries."""
import warnings

import pytest
import torch

import ember

TYPES = ("ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia", "xla",
         "lazy", "vulkan", "mps", "hpu", "mtia", "privateuseone")


def _outcome(fn, lib):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = repr(fn(lib))
        except BaseException as e:      # noqa: BLE001  (AssertionError included)
            result = (type(e).__name__, str(e)[:200])
    return result, [str(w.message).partition(" (Triggered internally")[0] for w in caught]


def _same(fn):
    expected = _outcome(fn, torch)
    assert _outcome(fn, ember) == expected
    return expected


@pytest.mark.parametrize("t", TYPES)
def test_device_of_each_type_constructs_and_prints(t):
    for make in (lambda L: L.device(t), lambda L: L.device(t, 1), lambda L: L.device(f"{t}:0"),
                 lambda L: str(L.device(t, 2)), lambda L: L.device(t) == L.device(t, None)):
        _same(make)


@pytest.mark.parametrize("t", TYPES)
def test_tensors_on_a_missing_device_raise_torchs_errors(t):
    outcomes = [_same(f) for f in (lambda L: L.zeros(1, device=t), lambda L: L.ones(2).to(t),
                                   lambda L: L.empty(2, device=L.device(t, 1)),
                                   lambda L: L.nn.Linear(2, 2).to(t))]
    assert all(isinstance(r, tuple) for r, _ in outcomes)      # each one raised


def test_unknown_device_type_still_lists_torchs_types():
    result, _ = _same(lambda L: L.device("tpu"))
    assert result[0] == "RuntimeError"


def _stream_cases():
    return {
        "repr": lambda L: L.Stream(),
        "meta": lambda L: (L.Stream(device="meta"), L.Stream(device="meta").device_type),
        "attributes": lambda L: (L.Stream().device, L.Stream().device_type,
                                 L.Stream().device_index, L.Stream().stream_id,
                                 L.Stream(device="cpu:0").device_index),
        "query": lambda L: (L.Stream().query(), L.Stream().synchronize(),
                            L.Stream().is_capturing()),
        "equal": lambda L: (L.Stream() == L.Stream(), hash(L.Stream()) == hash(L.Stream()),
                            L.Stream() == L.Stream(device="meta"), L.Stream() == 1),
        "wait_event": lambda L: L.Stream().wait_event(L.Event()),
        "record_event": lambda L: L.Stream().record_event(),
        "wait_stream": lambda L: L.Stream().wait_stream(L.Stream()),
        "wait_meta": lambda L: L.Stream().wait_stream(L.Stream(device="meta")),
        "native_handle": lambda L: L.Stream().native_handle,
        "priority": lambda L: L.Stream(priority="a"),
        "unknown kw": lambda L: L.Stream(device="cpu", foo=1),
        "other device": lambda L: L.Stream(device="mps"),
        "context": lambda L: [s for s in [L.Stream(device="meta")] if s.__enter__() is s],
        "event repr": lambda L: (L.Event(), L.Event(enable_timing=True), L.Event(blocking=True),
                                 L.Event("meta")),
        "event attrs": lambda L: (L.Event().device, L.Event().event_id, L.Event().query(),
                                  L.Event().synchronize(), L.Event().wait()),
        "event record": lambda L: L.Event().record(),
        "event meta record": lambda L: L.Event(device="meta").record(),
        "event flag type": lambda L: L.Event(enable_timing=1),
        "elapsed untimed": lambda L: L.Event().elapsed_time(L.Event()),
        "elapsed unrecorded": lambda L: L.Event(enable_timing=True).elapsed_time(
            L.Event(enable_timing=True)),
        "ipc": lambda L: L.Event().ipc_handle(),
        "event other device": lambda L: L.Event(device="xpu"),
        "module": lambda L: (L.Stream.__module__, L.Event.__module__),
    }


@pytest.mark.parametrize("case", sorted(_stream_cases()))
def test_stream_and_event_on_host_devices(case):
    _same(_stream_cases()[case])


def test_storage_is_floatstorage():
    _same(lambda L: (L.Storage, L.Storage is L.FloatStorage))


def _module_calls():
    calls = {}
    for name in ("is_available", "device_count", "is_initialized", "init", "current_device",
                 "synchronize", "get_device_name", "get_device_properties",
                 "get_device_capability", "current_stream", "mem_get_info", "empty_cache",
                 "memory_allocated", "max_memory_allocated", "memory_reserved",
                 "max_memory_reserved", "memory_stats", "memory_stats_as_nested_dict",
                 "memory_snapshot", "seed", "seed_all", "initial_seed", "get_rng_state",
                 "get_rng_state_all", "is_bf16_supported", "is_tf32_supported", "get_arch_list",
                 "get_gencode_flags", "get_per_process_memory_fraction"):
        calls[f"xpu.{name}"] = lambda L, n=name: getattr(L.xpu, n)()
    calls.update({
        "xpu.set_device": lambda L: L.xpu.set_device(0),
        "xpu.manual_seed": lambda L: L.xpu.manual_seed(1),
        "xpu.manual_seed bad": lambda L: L.xpu.manual_seed("a"),
        "xpu.manual_seed_all": lambda L: L.xpu.manual_seed_all(1),
        "xpu.set_rng_state": lambda L: L.xpu.set_rng_state(L.zeros(8, dtype=L.uint8)),
        "xpu.set_rng_state_all": lambda L: L.xpu.set_rng_state_all([]),
        "xpu.set_stream": lambda L: L.xpu.set_stream(None),
        "xpu.stream": lambda L: L.xpu.stream(None).__enter__(),
        "xpu.device": lambda L: L.xpu.device(0).__enter__(),
        "xpu.device_of": lambda L: L.xpu.device_of(L.ones(1)).__enter__(),
        "xpu.can_device_access_peer": lambda L: L.xpu.can_device_access_peer(0, 1),
        "xpu.set_per_process_memory_fraction":
            lambda L: L.xpu.set_per_process_memory_fraction(0.5),
    })
    for name in ("is_available", "device_count", "synchronize", "empty_cache", "seed",
                 "get_rng_state", "current_allocated_memory", "driver_allocated_memory",
                 "recommended_max_memory"):
        calls[f"mps.{name}"] = lambda L, n=name: getattr(L.mps, n)()
    calls.update({
        "mps.manual_seed": lambda L: L.mps.manual_seed(1),
        "mps.set_rng_state": lambda L: L.mps.set_rng_state(L.zeros(8, dtype=L.uint8)),
        "mps.set_per_process_memory_fraction":
            lambda L: L.mps.set_per_process_memory_fraction(0.5),
        "mps.compile_shader": lambda L: L.mps.compile_shader("x"),
        "mps.profiler.start": lambda L: L.mps.profiler.start(),
        "backends.mps": lambda L: (L.backends.mps.is_available(), L.backends.mps.is_built()),
    })
    for name in ("is_available", "device_count", "is_initialized", "init", "current_device",
                 "synchronize", "empty_cache", "current_stream", "default_stream",
                 "get_device_capability", "get_device_properties", "memory_allocated",
                 "max_memory_allocated", "memory_stats", "reset_peak_memory_stats", "seed",
                 "seed_all", "initial_seed", "get_rng_state", "get_rng_state_all",
                 "is_bf16_supported"):
        calls[f"mtia.{name}"] = lambda L, n=name: getattr(L.mtia, n)()
    calls.update({
        "mtia.set_device": lambda L: L.mtia.set_device(0),
        "mtia.manual_seed": lambda L: (L.mtia.manual_seed(1), L.mtia.manual_seed_all(1)),
        "mtia.set_rng_state": lambda L: L.mtia.set_rng_state(L.zeros(8, dtype=L.uint8)),
        "mtia.set_rng_state_all": lambda L: L.mtia.set_rng_state_all([]),
        "mtia.Stream": lambda L: (L.mtia.Stream(), L.mtia.Event()),
        "mtia.device": lambda L: L.mtia.device(0).__enter__(),
    })
    return calls


@pytest.mark.parametrize("call", sorted(_module_calls()))
def test_missing_accelerator_modules_answer_as_torchs_cpu_build(call):
    _same(_module_calls()[call])


@pytest.mark.parametrize("t", ("mps", "hip", "xla", "xpu"))
def test_tensors_copied_from_data_onto_a_missing_device(t):
    """tensor()/as_tensor() copy their data there: torch's 'not linked' error, not empty's."""
    import numpy as np
    for make in (lambda L: L.tensor([1], device=t), lambda L: L.as_tensor([1.0], device=t),
                 lambda L: L.asarray([1], device=t), lambda L: L.tensor(np.ones(2), device=t),
                 lambda L: L.ones(1).new_tensor([1], device=t)):
        result, _ = _same(make)
        assert isinstance(result, tuple)


@pytest.mark.parametrize("t", TYPES)
def test_generator_on_a_missing_device(t):
    result, _ = _same(lambda L: L.Generator(device=t))
    assert result[0] == "RuntimeError"


@pytest.mark.parametrize("where", ("mps", "xpu", "xpu:1", "hip", "xla", "mtia", "lazy"))
def test_load_onto_a_missing_device(where):
    import io

    def load(L):
        buf = io.BytesIO()
        L.save({"w": L.ones(2)}, buf)
        buf.seek(0)
        return L.load(buf, map_location=where if where != "mps" else {"cpu": "mps"})
    result, _ = _same(load)
    assert result[0] == "RuntimeError"


def test_backends_mps_version_queries():
    _same(lambda L: L.backends.mps.is_macos13_or_newer())
    _same(lambda L: L.backends.mps.is_macos_or_newer(14, 0))


def test_record_stream_on_host_tensors():
    _same(lambda L: L.ones(2).record_stream(L.Stream()))
    _same(lambda L: L.ones(2).record_stream(1))
    _same(lambda L: L.ones(2, device="meta").record_stream(L.Stream()))
