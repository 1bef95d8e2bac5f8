"""ember.cuda: device management on NVIDIA GPUs through CuPy (an optional extra).

Without CuPy or a GPU everything here imports and `is_available()` is False."""
_CUPY = None


def _cupy():
    """CuPy, imported on first use (never at `import ember`)."""
    global _CUPY
    if _CUPY is None:
        try:
            import cupy
            cupy.cuda.runtime.getDeviceCount()
            _CUPY = cupy
        except Exception:
            _CUPY = False
    return _CUPY


def is_available():
    cp = _cupy()
    return bool(cp) and cp.cuda.runtime.getDeviceCount() > 0


def device_count():
    cp = _cupy()
    return cp.cuda.runtime.getDeviceCount() if cp else 0


def empty_cache():
    """Release cached blocks of CuPy's memory pool (a no-op without a GPU, as in torch)."""
    cp = _cupy()
    if cp:
        cp.get_default_memory_pool().free_all_blocks()
        cp.get_default_pinned_memory_pool().free_all_blocks()


def synchronize(device=None):
    cp = _cupy()
    if cp:
        cp.cuda.get_current_stream().synchronize()


def is_initialized():
    return bool(_CUPY)
