"""torch._dynamo's user-facing switches: programs written for torch.compile set its config and
call reset(), mark_dynamic() or disable(). ember runs eagerly (ember.compile returns the model),
so these keep torch's defaults and do nothing."""
from .._config_module import ConfigModule
from ..compiler import allow_in_graph, assume_constant_result, disable, is_compiling, \
    list_backends, reset

__all__ = ["config", "reset", "disable", "allow_in_graph", "disallow_in_graph",
           "assume_constant_result", "mark_dynamic", "maybe_mark_dynamic", "mark_static",
           "mark_static_address", "is_compiling", "graph_break", "list_backends"]

config = ConfigModule("torch._dynamo.config", {
    "suppress_errors": False, "cache_size_limit": 8, "recompile_limit": 8,
    "accumulated_cache_size_limit": 256, "accumulated_recompile_limit": 256, "verbose": False,
    "capture_scalar_outputs": False, "capture_dynamic_output_shape_ops": False,
    "automatic_dynamic_shapes": True, "assume_static_by_default": True, "optimize_ddp": True,
    "inline_inbuilt_nn_modules": True, "specialize_int": False, "error_on_recompile": False,
    "guard_nn_modules": True, "force_parameter_static_shapes": True, "dynamic_shapes": True,
    "use_lazy_graph_module": True, "replay_record_enabled": False,
    "skip_nnmodule_hook_guards": True})


def disallow_in_graph(fn):
    return fn


def mark_dynamic(t, index, *, min=None, max=None, specialize_on=None):
    """Marks a dim as dynamic for compilation: nothing is compiled here."""


maybe_mark_dynamic = mark_static = mark_static_address = mark_dynamic


def graph_break():
    """Splits a compiled graph: nothing is compiled here."""
