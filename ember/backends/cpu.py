"""torch.backends.cpu: the SIMD level of ember's kernels is NumPy's own choice at run time."""


def get_cpu_capability():
    return "DEFAULT"
