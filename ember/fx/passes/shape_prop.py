"""torch.fx.passes.shape_prop: run a GraphModule node by node, recording in each node's meta
the TensorMetadata of its result ('tensor_meta', a structure of them for tuples and lists) and
its type ('type'). No fake-tensor mode: the nodes run on the example inputs given."""
import traceback
from typing import Any, NamedTuple

from ..._memory_format import channels_last, channels_last_3d, contiguous_format
from ..._tensor import Tensor
from ..interpreter import Interpreter
from ..node import map_aggregate

__all__ = ["TensorMetadata", "ShapeProp"]


class TensorMetadata(NamedTuple):
    shape: Any
    dtype: Any
    requires_grad: bool
    stride: tuple
    memory_format: Any
    is_quantized: bool
    qparams: dict


def _extract_tensor_metadata(result, include_contiguity=True):
    sparse = result.layout.name != "strided"
    stride = () if sparse else result.stride()
    memory_format = None
    if include_contiguity and not sparse:
        for fmt in (contiguous_format, channels_last, channels_last_3d):
            if result.is_contiguous(memory_format=fmt):
                memory_format = fmt
                break
    qparams = {}
    if result.is_quantized:
        qscheme = result.qscheme()
        qparams["qscheme"] = qscheme
        if qscheme.name in ("per_tensor_affine", "per_tensor_symmetric"):
            qparams["scale"] = result.q_scale()
            qparams["zero_point"] = result.q_zero_point()
        else:
            qparams["scale"] = result.q_per_channel_scales().tolist()
            qparams["zero_point"] = result.q_per_channel_zero_points().tolist()
            qparams["axis"] = result.q_per_channel_axis()
    return TensorMetadata(result.shape, result.dtype, result.requires_grad, stride,
                          memory_format, result.is_quantized, qparams)


class ShapeProp(Interpreter):
    """Runs `gm` on example inputs (propagate), recording each node's result's metadata."""

    def __init__(self, gm, fake_mode=None):
        super().__init__(gm)
        self.fake_module = self.fake_mode = None
        self.real_module = self.module

    def run_node(self, n):
        try:
            result = super().run_node(n)
        except Exception as e:
            traceback.print_exc()
            raise RuntimeError(f"ShapeProp error for: node={n.format_node()} with "
                               f"meta={n.meta}") from e
        found = []

        def extract(obj):
            if isinstance(obj, Tensor):
                found.append(True)
                return _extract_tensor_metadata(obj)
            return obj

        meta = map_aggregate(result, extract)
        if found:
            n.meta["tensor_meta"] = meta
        n.meta["type"] = type(result)
        return result

    def propagate(self, *args):
        return super().run(*args)
