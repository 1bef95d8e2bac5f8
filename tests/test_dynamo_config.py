"""torch._dynamo and torch._inductor.config as programs written for torch.compile use them:
the config keys with torch's defaults, settable, unknown keys refused in torch's words, and the
decorators and markers that do nothing when nothing is compiled."""
import importlib

import pytest
import torch
import torch._dynamo  # noqa: F401
import torch._inductor.config  # noqa: F401

import ember

DYNAMO_KEYS = ["suppress_errors", "cache_size_limit", "recompile_limit",
               "accumulated_cache_size_limit", "verbose", "capture_scalar_outputs",
               "capture_dynamic_output_shape_ops", "automatic_dynamic_shapes",
               "assume_static_by_default", "optimize_ddp", "specialize_int",
               "error_on_recompile", "dynamic_shapes"]
INDUCTOR_KEYS = ["max_autotune", "coordinate_descent_tuning", "freezing", "fx_graph_cache",
                 "epilogue_fusion", "shape_padding", "cpp_wrapper", "debug"]


def _outcome(fn):
    try:
        return repr(fn())
    except Exception as e:      # noqa: BLE001
        return type(e).__name__, str(e)


def test_dynamo_config_defaults_and_refusals():
    import ember._dynamo
    for key in DYNAMO_KEYS:
        assert getattr(ember._dynamo.config, key) == getattr(torch._dynamo.config, key), key
    for lib in (torch, ember):
        lib._dynamo.config.suppress_errors = True
    assert ember._dynamo.config.suppress_errors is True
    for lib in (torch, ember):
        lib._dynamo.config.suppress_errors = False
    for fn in (lambda L: L._dynamo.config.no_such_key,
               lambda L: setattr(L._dynamo.config, "no_such_key", 1)):
        assert _outcome(lambda: fn(ember)) == _outcome(lambda: fn(torch))


def test_inductor_config_defaults_and_refusals():
    cfg = importlib.import_module("ember._inductor.config")
    for key in INDUCTOR_KEYS:
        assert getattr(cfg, key) == getattr(torch._inductor.config, key), key
    assert cfg.triton.cudagraphs == torch._inductor.config.triton.cudagraphs
    assert ember._inductor.config is cfg
    with pytest.raises(AttributeError, match="torch._inductor.config.nope does not exist"):
        cfg.nope = 1


def test_dynamo_markers_do_nothing_as_when_not_compiling():
    import ember._dynamo as d

    def helper(v):      # (never a builtin: torch's allow_in_graph registers it process-wide)
        return v
    t = ember.ones(2)
    for lib, x in ((torch._dynamo, torch.ones(2)), (d, t)):
        assert lib.mark_dynamic(x, 0) is None and lib.reset() is None
        assert lib.allow_in_graph(helper) is helper and lib.is_compiling() is False
        assert lib.disable(lambda v: v + 1)(1) == 2
    assert d.list_backends() == torch._dynamo.list_backends()
