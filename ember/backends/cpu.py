"""torch.backends.cpu: the SIMD level torch's kernels dispatch on here (see ember._cpu), which
ember's float kernels follow where it changes torch's results."""
from .._cpu import CAPABILITY


def get_cpu_capability():
    return CAPABILITY
