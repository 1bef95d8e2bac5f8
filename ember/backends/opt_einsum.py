"""torch.backends.opt_einsum: whether the opt_einsum package is installed, and torch's switches
for it (ember.einsum has NumPy's einsum plan its contractions either way)."""
import importlib.util


def is_available():
    return importlib.util.find_spec("opt_einsum") is not None


enabled = is_available()
strategy = "auto" if enabled else None


def get_opt_einsum():
    if not is_available():
        return None
    import opt_einsum
    return opt_einsum
