"""DataParallel (torch.nn.DataParallel) as torch runs it without an accelerator: a wrapper whose
forward calls the module (state_dict keys gain the `module.` prefix). ember does not split a
batch across devices: the module runs where its parameters are."""
from .module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = []

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
