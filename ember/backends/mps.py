"""torch.backends.mps: Apple's Metal backend, which ember does not have."""


def is_available():
    return False


def is_built():
    return False


def _without(*args, **kwargs):
    raise RuntimeError("Cannot execute isOnMacOSorNewer() without MPS backend.")


is_macos_or_newer = is_macos13_or_newer = _without
