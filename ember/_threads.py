"""set_num_threads / get_num_threads: torch's intra-op thread count, which the kernels that
split work as torch's do follow (full sums, long aranges, resampling); set_num_threads also
limits the BLAS thread pool NumPy uses (through threadpoolctl when installed; it ships with
scikit-learn, part of the `examples` extra)."""
import os
import threading

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


# ---- one BLAS thread for loops of small products ---------------------------------------------
# A recurrent layer's time loop runs one small product a step ((4H, H) @ (H, B): 512 x 128 x 32
# in the LSTM benchmark), which OpenBLAS splits over its threads as soon as there are two: each
# split costs a hand-over and a wait that the product does not pay back, and on a machine whose
# other cores are busy the waiting thread is descheduled (the LSTM layer's forward and backward,
# median of 30: 109 ms on one BLAS thread against 577 ms on two, with the load at 4 on 2
# cores). torch's oneDNN layer runs each step's product on one thread as well. `serial_blas()`
# brackets such a loop: the process's OpenBLAS pool (NumPy's, found among the loaded libraries)
# runs one thread inside, and its count is restored on leaving the outermost bracket. Where no
# OpenBLAS is found (another BLAS, another system) it changes nothing.
_BLAS = {"fns": None, "depth": 0, "saved": None}
_BLAS_LOCK = threading.Lock()
_SET_GET = (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
            ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
            ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
            ("openblas_set_num_threads", "openblas_get_num_threads"))


def _openblas_fns():
    """(set_num_threads, get_num_threads) of the OpenBLAS loaded in this process, or ()."""
    fns = _BLAS["fns"]
    if fns is None:
        fns = _BLAS["fns"] = _find_openblas()
    return fns


def _find_openblas():
    try:
        import ctypes
        with open("/proc/self/maps") as f:
            paths = {ln.split(None, 5)[-1].strip() for ln in f if "openblas" in ln.lower()}
        for path in sorted(p for p in paths if p.startswith("/")):
            lib = ctypes.CDLL(path)
            for set_name, get_name in _SET_GET:
                if hasattr(lib, set_name) and hasattr(lib, get_name):
                    setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                    setter.restype, getter.restype = None, ctypes.c_int
                    setter.argtypes, getter.argtypes = [ctypes.c_int], []
                    return setter, getter
    except (OSError, AttributeError, ValueError):
        pass
    return ()


class serial_blas:
    """`with serial_blas():` NumPy's BLAS on one thread inside (see the comment above)."""
    __slots__ = ("fns",)

    def __enter__(self):
        self.fns = fns = _openblas_fns()
        if fns:
            with _BLAS_LOCK:
                if _BLAS["depth"] == 0:
                    n = fns[1]()
                    _BLAS["saved"] = n
                    if n > 1:
                        fns[0](1)
                _BLAS["depth"] += 1
        return self

    def __exit__(self, *exc):
        fns = self.fns
        if fns:
            with _BLAS_LOCK:
                _BLAS["depth"] -= 1
                # (unless the count was changed inside: set_num_threads' value stays)
                if _BLAS["depth"] == 0 and _BLAS["saved"] > 1 and fns[1]() == 1:
                    fns[0](_BLAS["saved"])
        return False
