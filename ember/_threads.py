"""set_num_threads / get_num_threads: torch's intra-op thread count, which the kernels that
split work as torch's do follow (full sums, long aranges, resampling); set_num_threads also
limits the BLAS thread pool NumPy uses (through threadpoolctl when installed; it ships with
scikit-learn, part of the `examples` extra)."""
import os

_STATE = {"n": None, "default": None}


def set_num_threads(n):
    if not isinstance(n, int) or n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _STATE["n"] = n
    try:
        import threadpoolctl
    except ImportError:
        return
    # (a limiter's restore_original_limits would also reset every OpenMP runtime in the
    # process, torch's among them, to its count of the time: only the BLAS pools are set)
    threadpoolctl.ThreadpoolController().select(user_api="blas").limit(limits=n)


def intra_op_threads():
    """The thread count torch's CPU kernels split work by: set_num_threads' value, else torch's
    default (OMP_NUM_THREADS, MKL_NUM_THREADS, else the physical cores). Reductions to one
    number follow it (see ops/_torch_sum.py)."""
    if _STATE["n"] is not None:
        return _STATE["n"]
    if _STATE["default"] is None:
        _STATE["default"] = _default_threads()
    return _STATE["default"]


def _default_threads():
    for var in ("MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        try:
            n = int(os.environ.get(var, ""))
        except ValueError:
            continue
        if n > 0:
            return n
    try:
        with open("/proc/cpuinfo") as f:
            cores, phys = set(), None
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "physical id":
                    phys = value.strip()
                elif key == "core id":
                    cores.add((phys, value.strip()))
        if cores:
            return min(len(cores), os.cpu_count() or len(cores))
    except OSError:
        pass
    return os.cpu_count() or 1


def get_num_threads():
    """torch.get_num_threads: the count set, else torch's default (see intra_op_threads)."""
    return intra_op_threads()
