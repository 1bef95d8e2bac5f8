"""torch.backends.mkl: ember's CPU kernels are NumPy's, so MKL is not ember's to report."""

VERBOSE_OFF = 0
VERBOSE_ON = 1


def is_available():
    return False


class verbose:
    """MKL's verbose scope: nothing to report."""

    def __init__(self, enable):
        self.enable = enable

    def __enter__(self):
        return None if self.enable == VERBOSE_OFF else self

    def __exit__(self, exc_type, exc_val, exc_tb):
        return False
