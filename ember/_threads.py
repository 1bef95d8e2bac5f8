"""set_num_threads / get_num_threads: the BLAS thread pool NumPy uses (through threadpoolctl
when installed; it ships with scikit-learn, part of the `examples` extra)."""
import os

_STATE = {"n": None, "limiter": None}


def set_num_threads(n):
    if not isinstance(n, int) or n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _STATE["n"] = n
    try:
        import threadpoolctl
    except ImportError:
        return
    if _STATE["limiter"] is not None:
        _STATE["limiter"].restore_original_limits()
    _STATE["limiter"] = threadpoolctl.threadpool_limits(limits=n, user_api="blas")


def get_num_threads():
    if _STATE["n"] is not None:
        return _STATE["n"]
    try:
        import threadpoolctl
        infos = [i["num_threads"] for i in threadpoolctl.threadpool_info()
                 if i.get("user_api") == "blas"]
        if infos:
            return max(infos)
    except ImportError:
        pass
    return os.cpu_count() or 1
