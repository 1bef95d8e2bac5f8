"""What a weights-only load admits: torch's default allowlist, mapped to ember objects, plus
the globals a user registers (torch.serialization's `add_safe_globals` API)."""
import _compat_pickle
import codecs
from collections import Counter, OrderedDict
from pickle import UnpicklingError

from . import _rebuild
from ._errors import EmberLoadError

BLOCKED_MODULES = ("sys", "os", "posix", "nt")
# torch rebuild functions for tensor kinds ember has no equivalent of
_UNSUPPORTED = ("_rebuild_qtensor", "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
                "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor")

# ---- user allowlist (torch.serialization's API) --------------------------------------------

_user_globals = set()


def add_safe_globals(safe_globals):
    """Allow these functions/classes (or `(obj, "module.qualname")` pairs) in weights-only loads."""
    global _user_globals
    _user_globals = _user_globals | set(safe_globals)


def get_safe_globals():
    """The user-added globals allowed in weights-only loads."""
    return list(_user_globals)


def clear_safe_globals():
    """Forget every global added with `add_safe_globals`."""
    global _user_globals
    _user_globals = set()


class safe_globals:
    """Context manager that allows `safe_globals` for weights-only loads inside its block."""

    def __init__(self, safe_globals):
        self.safe_globals = safe_globals

    def __enter__(self):
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc):
        global _user_globals
        _user_globals = _user_globals - set(self.safe_globals)


def user_table():
    table = {}
    for g in _user_globals:
        if isinstance(g, tuple):
            if len(g) != 2:
                raise ValueError("Expected tuple of length 2 (global, str of callable full "
                                 f"path), but got tuple of length: {len(g)}")
            if type(g[1]) is not str:
                raise TypeError("Expected second item in tuple to be str of callable full path, "
                                f"but got: {type(g[1])}")
            table[g[1]] = g[0]
        else:
            table[f"{g.__module__}.{g.__qualname__}"] = g
    return table


# ---- the default allowlist -----------------------------------------------------------------

_TEXT_CODECS = ("latin1", "latin-1", "iso-8859-1", "utf-8", "utf8", "ascii")


def _encode(obj, encoding="utf-8", errors="strict"):
    # protocol 2 pickles bytes as _codecs.encode(str, "latin1"); only text codecs, named
    # without `codecs.lookup`, which would import whatever encodings.* module the file names
    if type(obj) is not str or type(encoding) is not str or \
            encoding.lower().replace("_", "-") not in _TEXT_CODECS or errors != "strict":
        raise UnpicklingError(f"_codecs.encode is only allowed on str with a text encoding, "
                              f"got {type(obj).__name__} and {encoding!r}")
    return codecs.encode(obj, encoding, errors)


def _bytearray(*args):
    # bytearray(n) would allocate n bytes: only accept existing bytes (memory amplification)
    if args and not isinstance(args[0], (bytes, bytearray, str)):
        raise UnpicklingError("bytearray is only allowed from bytes or str")
    return bytearray(*args)


def parameter_new(data=None, requires_grad=True):
    return _rebuild.make_parameter(data, requires_grad is True)


_DEFAULTS = None


def default_globals():
    """`module.name` -> ember object, for every global a torch weights-only load accepts."""
    global _DEFAULTS
    if _DEFAULTS is None:
        from .._dtype import _BY_NAME
        from .._tensor import Size, Tensor
        from ..backends import device
        table = {
            "collections.OrderedDict": OrderedDict, "collections.Counter": Counter,
            "torch.nn.parameter.Parameter": parameter_new, "torch.Size": Size,
            "torch.Tensor": Tensor, "torch.device": device, "_codecs.encode": _encode,
            "builtins.bytearray": _bytearray, "builtins.set": set,
            "builtins.frozenset": frozenset, "builtins.complex": complex,
            "torch._utils._rebuild_tensor": _rebuild.rebuild_tensor,
            "torch._utils._rebuild_tensor_v2": _rebuild.rebuild_tensor_v2,
            "torch._utils._rebuild_tensor_v3": _rebuild.rebuild_tensor_v3,
            "torch._utils._rebuild_parameter": _rebuild.rebuild_parameter,
            "torch._utils._rebuild_parameter_with_state": _rebuild.rebuild_parameter_with_state,
            "torch._tensor._rebuild_from_type_v2": _rebuild.rebuild_from_type_v2,
            "torch._utils._rebuild_sparse_tensor": _rebuild.rebuild_sparse_tensor,
            "torch._utils._rebuild_nested_tensor": _rebuild.rebuild_nested_tensor,
            "torch.nested._internal.nested_tensor._rebuild_njt": _rebuild.rebuild_njt,
            "torch.nested._internal.nested_tensor.NestedTensor": _rebuild.NestedTensorType,
            "torch._dynamo.decorators._DimRange": _rebuild.DimRange,
            "torch.storage.UntypedStorage": _rebuild.StorageType("uint8"),
        }
        for cls, name in _rebuild.STORAGE_DTYPES.items():
            table["torch." + cls] = _rebuild.StorageType(name)
        table["torch.serialization._get_layout"] = _rebuild.get_layout
        table["torch._utils._rebuild_qtensor"] = _rebuild.rebuild_qtensor
        from .. import _quantized
        for scheme in (_quantized.per_tensor_affine, _quantized.per_channel_affine,
                       _quantized.per_tensor_symmetric, _quantized.per_channel_symmetric,
                       _quantized.per_channel_affine_float_qparams):
            table["torch." + scheme.name] = scheme
        for name in _rebuild.TORCH_DTYPE_NAMES:
            if name in _BY_NAME:
                table["torch." + name] = _BY_NAME[name]
        _DEFAULTS = table
    return _DEFAULTS


def refuse_global(module, name):
    full = f"{module}.{name}"
    if module in BLOCKED_MODULES:
        return UnpicklingError(f"Trying to load unsupported GLOBAL {full} whose module {module} "
                               "is blocked.")
    if module == "torch" and name in _rebuild.TORCH_DTYPE_NAMES:
        return EmberLoadError(f"the checkpoint uses dtype torch.{name}, which ember does not "
                              "support")
    if module == "torch._utils" and name in _UNSUPPORTED:
        return EmberLoadError(f"the checkpoint holds a tensor kind ember does not support "
                              f"({full})")
    shown = full[len("builtins."):] if module == "builtins" else full
    return UnpicklingError(
        f"Unsupported global: GLOBAL {shown} was not an allowed global by default. Please use "
        f"`torch.serialization.add_safe_globals([{shown}])` or the "
        f"`torch.serialization.safe_globals([{shown}])` context manager to allowlist this "
        "global if you trust this class/function.")


def map_name(module, name):
    """Python 2 names (`__builtin__.set`, `copy_reg`...) as Python 3 spells them."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name
