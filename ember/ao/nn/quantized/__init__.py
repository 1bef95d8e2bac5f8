"""torch.ao.nn.quantized: modules computing on quantized tensors (and, in .dynamic, those that
quantize their float inputs per call)."""
from . import dynamic, functional  # noqa: F401
from .modules import (ELU, BatchNorm2d, BatchNorm3d, Conv1d, Conv2d, Conv3d,  # noqa: F401
                      ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, DeQuantize, Dropout,
                      FloatFunctional, Hardswish, LeakyReLU, Linear, LinearPackedParams,
                      QFunctional, Quantize, ReLU6)
