"""DataParallel (torch.nn.DataParallel). Without an accelerator, as torch: a wrapper whose forward
calls the module (state_dict keys gain the `module.` prefix). With CUDA it keeps torch's device
handling: device_ids (all GPUs by default), the parameters checked to be on device_ids[0], the
inputs moved there and the output to output_device; but the batch is not split across GPUs:
the module runs once, on device_ids[0] (so BatchNorm sees the whole batch, not one chunk)."""
from .module import Module

__all__ = ["DataParallel"]


def _device_type():
    """The accelerator DataParallel uses (torch's _get_available_device_type), or None."""
    from ... import cuda
    return "cuda" if cuda.is_available() else None


def _device_count(device_type):
    from ... import get_device_module
    return get_device_module(device_type).device_count()


def _index(d):
    from ...backends import device
    return d if isinstance(d, int) else device(d).index or 0


def _to(obj, dev):
    """Tensors inside (nested tuples, lists, dicts of) obj, moved to dev."""
    from ..._tensor import Tensor
    if isinstance(obj, Tensor):
        return obj.to(dev)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to(o, dev) for o in obj)
    if isinstance(obj, dict):
        return {k: _to(v, dev) for k, v in obj.items()}
    return obj


class DataParallel(Module):
    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        device_type = _device_type()
        if device_type is None:
            self.device_ids = []
            return
        from ...backends import device
        if device_ids is None:
            device_ids = list(range(_device_count(device_type)))
        if not device_ids:
            raise RuntimeError("no available devices were found")
        self.dim = dim
        self.device_ids = [_index(d) for d in device_ids]
        self.output_device = _index(device_ids[0] if output_device is None else output_device)
        self.src_device_obj = device(device_type, self.device_ids[0])
        if len(self.device_ids) == 1:
            self.module.to(self.src_device_obj)

    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        from itertools import chain
        for t in chain(self.module.parameters(), self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError(f"module must have its parameters and buffers on device "
                                   f"{self.src_device_obj} (device_ids[0]) but found one of "
                                   f"them on device: {t.device}")
        out = self.module(*_to(inputs, self.src_device_obj), **_to(kwargs, self.src_device_obj))
        if self.output_device != self.device_ids[0]:
            from ...backends import device
            out = _to(out, device(self.src_device_obj.type, self.output_device))
        return out
