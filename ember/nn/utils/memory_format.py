"""torch.nn.utils.convert_conv2d_weight_memory_format / convert_conv3d_weight_memory_format:
only the convolution weights change layout (channels_last kernels), the rest of the model
keeps its own."""
from ..modules.conv import Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _convert(module, memory_format, classes):
    if isinstance(module, classes):
        weight = module.weight.detach().clone(memory_format=memory_format)
        module.weight.data = weight.resize_(weight.size(), memory_format=memory_format)
    for child in module.children():
        _convert(child, memory_format, classes)
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """The weights of every Conv2d and ConvTranspose2d in `module` (itself included) in
    `memory_format`, in place; returns `module`."""
    return _convert(module, memory_format, (Conv2d, ConvTranspose2d))


def convert_conv3d_weight_memory_format(module, memory_format):
    """The weights of every Conv3d and ConvTranspose3d in `module` (itself included) in
    `memory_format`, in place; returns `module`."""
    return _convert(module, memory_format, (Conv3d, ConvTranspose3d))
