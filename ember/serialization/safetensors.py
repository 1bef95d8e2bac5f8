"""safetensors for ember tensors: the API of `safetensors.torch`, through the package's NumPy side.

`safetensors` is an optional extra, imported when one of these functions runs."""
import os

import numpy as np

from ._errors import EmberLoadError

__all__ = ["save", "save_file", "load", "load_file"]
# safetensors dtype codes -> ember dtype names
_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
           "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
           "BOOL": "bool", "C64": "complex64", "F8_E4M3": "float8_e4m3fn",
           "F8_E5M2": "float8_e5m2", "F8_E4M3FNUZ": "float8_e4m3fnuz",
           "F8_E5M2FNUZ": "float8_e5m2fnuz", "F8_E8M0": "float8_e8m0fnu"}


def save(tensors, metadata=None):
    """The safetensors bytes of a dict of tensors (`safetensors.torch.save`)."""
    import safetensors.numpy
    return safetensors.numpy.save(_to_numpy(tensors), metadata=metadata)


def save_file(tensors, filename, metadata=None):
    """Write a dict of tensors to `filename` (`safetensors.torch.save_file`), atomically."""
    import safetensors.numpy
    from ._atomic import atomic_write
    arrays = _to_numpy(tensors)
    atomic_write(filename, lambda tmp: safetensors.numpy.save_file(arrays, tmp, metadata))


def load(data):
    """Tensors from safetensors bytes (`safetensors.torch.load`), on the CPU."""
    import safetensors
    try:
        flat = safetensors.deserialize(data)
    except safetensors.SafetensorError as e:
        raise EmberLoadError(f"not a valid safetensors file: {e}") from None
    out = {}
    for name, info in flat:
        np_dtype = _np_dtype(info["dtype"])
        arr = np.frombuffer(info["data"], np.uint8).view(np_dtype).reshape(info["shape"])
        out[name] = _wrap(arr, "cpu")
    return out


def load_file(filename, device="cpu"):
    """Tensors from a safetensors file (`safetensors.torch.load_file`)."""
    import safetensors
    device = f"cuda:{device}" if isinstance(device, int) else str(device)
    try:
        with safetensors.safe_open(os.fspath(filename), framework="np") as f:
            codes = {name: f.get_slice(name).get_dtype() for name in f.keys()}
            for code in codes.values():
                _np_dtype(code)
            if any(code.startswith("F8") for code in codes.values()):
                # safetensors.numpy has no float8s: read the file as bytes
                with open(filename, "rb") as fh:
                    return {k: _wrap(v.arr, device) for k, v in load(fh.read()).items()}
            return {name: _wrap(f.get_tensor(name), device) for name in codes}
    except safetensors.SafetensorError as e:
        raise EmberLoadError(f"not a valid safetensors file: {e}") from None


def _np_dtype(code):
    from ._rebuild import ember_dtype
    if code not in _DTYPES:
        raise EmberLoadError(f"the safetensors file uses dtype {code}, which ember does not "
                             "support")
    return ember_dtype(_DTYPES[code]).np


def _wrap(arr, device):
    from .._tensor import _new
    from ..backends import get_backend
    be = get_backend(device)
    return _new(be.from_host(arr), be)


def _to_numpy(tensors):
    """Host arrays of a dict of tensors, refusing what safetensors.torch refuses."""
    from .._tensor import Tensor
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, torch.Tensor] but received {type(tensors)}")
    for k, v in tensors.items():
        if not isinstance(v, Tensor):
            raise ValueError(f"Key `{k}` is invalid, expected torch.Tensor but received "
                             f"{type(v)}")
    _check_shared(tensors)
    out = {}
    for k, v in tensors.items():
        if not v.arr.flags.c_contiguous:
            raise ValueError(
                f"You are trying to save a non contiguous tensor: `{k}` which is not allowed. It "
                "either means you are trying to save tensors which are reference of each other "
                "in which case it's recommended to save only the full tensors, and reslice at "
                "load time, or simply call `.contiguous()` on your tensor to pack it before "
                "saving.")
        out[k] = np.ascontiguousarray(v.be.to_host(v.arr))
    return out


def _check_shared(tensors):
    """safetensors.torch's rule: tensors whose byte ranges overlap cannot be saved together."""
    from .._tensor import _ptr
    spans = sorted((str(v.device), _ptr(v.arr), _ptr(v.arr) + v.arr.nbytes, k)
                   for k, v in tensors.items() if v.arr.nbytes)
    failing, group = [], []
    for span in spans:
        if group and span[0] == group[-1][0] and span[1] < max(s[2] for s in group):
            group.append(span)
            continue
        if len(group) > 1:
            failing.append({s[3] for s in group})
        group = [span]
    if len(group) > 1:
        failing.append({s[3] for s in group})
    if failing:
        raise RuntimeError(
            "Some tensors share memory, this will lead to duplicate memory on disk and "
            f"potential differences when loading them again: {failing}.\nA potential way to "
            "correctly save your model is to use `save_model`.\nMore information at "
            "https://huggingface.co/docs/safetensors/torch_shared_tensors")
