"""torch._inductor.config's common keys with torch's defaults (see ember/_config_module.py)."""
import sys

from .._config_module import ConfigModule

sys.modules[__name__] = ConfigModule("torch._inductor.config", {
    "max_autotune": False, "max_autotune_gemm": False, "max_autotune_pointwise": False,
    "coordinate_descent_tuning": False, "freezing": False, "fx_graph_cache": True,
    "epilogue_fusion": True, "shape_padding": True, "cpp_wrapper": False,
    "force_fuse_int_mm_with_mul": False, "use_mixed_mm": True,
    "conv_1x1_as_mm": False, "split_reductions": True, "benchmark_kernel": False,
    "aggressive_fusion": False, "debug": False,
    "triton": ConfigModule("torch._inductor.config.triton", {
        "cudagraphs": False, "cudagraph_trees": True, "unique_kernel_names": True,
        "descriptive_names": "original_aten"})})
