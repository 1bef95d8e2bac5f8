"""ember.save / ember.load: PyTorch's checkpoint format both ways, safe by default.

`save` writes the zip layout of `torch.save` (loadable by `torch.load(weights_only=True)`),
atomically when given a path. `load` reads files from `torch.save` (zip format of every torch
version since 1.6, and the legacy pre-1.6 format) and from `save`; by default it admits only
tensors, containers, primitive values and globals registered with `add_safe_globals`.
`save_file`/`load_file` (and `ember.serialization.safetensors`) speak safetensors."""
import io
import mmap as _mmap
import os
import pickle

from ._errors import EmberLoadError
from ._allowlist import (add_safe_globals, clear_safe_globals, get_safe_globals,
                         safe_globals)

__all__ = ["save", "load", "add_safe_globals", "clear_safe_globals", "get_safe_globals",
           "safe_globals", "get_unsafe_globals_in_checkpoint", "EmberLoadError", "save_file",
           "load_file"]

DEFAULT_PROTOCOL = 2
UNSAFE_MESSAGE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` "
    "from `False` to `True`. Re-running `torch.load` with `weights_only` set to `False` will "
    "likely succeed, but it can result in arbitrary code execution. Do it only if you got the "
    "file from a trusted source.")

DOCS_MESSAGE = (
    "\n\nCheck the documentation of torch.load to learn more about types accepted by default "
    "with weights_only https://pytorch.org/docs/stable/generated/torch.load.html.")


def save(obj, f, pickle_module=pickle, pickle_protocol=DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False):
    """Save `obj` as `torch.save` does (https://pytorch.org/docs/stable/generated/torch.save.html).

    `f` is a path (written atomically: a temporary file renamed into place, so a crash never
    leaves a truncated checkpoint) or a binary file object with `write`."""
    from ._atomic import atomic_write
    from ._pickler import write_legacy, write_zip
    if pickle_module is not pickle:
        raise TypeError("ember.save supports only the standard pickle module")
    if not 2 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
        raise ValueError(f"pickle_protocol must be between 2 and {pickle.HIGHEST_PROTOCOL}")
    if isinstance(f, (str, os.PathLike)):
        name = _archive_name(os.fspath(f))
    elif hasattr(f, "write"):
        name = "archive"
    else:
        raise AttributeError("expected 'f' to be string, path, or a file-like object with a "
                             "'write' attribute")

    def write(file):
        if _use_new_zipfile_serialization:
            write_zip(obj, file, name, pickle_protocol, not _disable_byteorder_record)
        else:
            write_legacy(obj, file, pickle_protocol)

    if hasattr(f, "write") and not isinstance(f, (str, os.PathLike)):
        write(f)
        if hasattr(f, "flush"):
            f.flush()
    else:
        atomic_write(f, lambda tmp: _write_path(tmp, write))


def _write_path(path, write):
    from ._atomic import SyncingWriter
    with SyncingWriter(path) as file:
        write(file)


def _archive_name(path):
    """torch's archive folder: the file name without its last extension ("archive" if odd)."""
    base = os.path.basename(os.path.realpath(path))
    stem = base[:base.rfind(".")] if base.rfind(".") > 0 else base
    ok = stem and all(c.isascii() and (c.isalnum() or c in "._-") for c in stem)
    return stem if ok else "archive"


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Load an object saved with `torch.save` or `ember.save`.

    As `torch.load` (https://pytorch.org/docs/stable/generated/torch.load.html): `map_location`
    is a device, a string, a dict of location tags or a callable `(storage, location)`;
    `weights_only=True` (the default) refuses any global outside the allowlist with a
    `pickle.UnpicklingError` naming it; `mmap=True` maps storages from the file, reading no
    tensor data until it is used. Broken files raise `EmberLoadError`."""
    from ._rebuild import restore_location
    if weights_only is None:
        weights_only = pickle_module is None
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    if pickle_load_args.keys() - {"encoding"}:
        raise TypeError(f"unexpected arguments {sorted(pickle_load_args.keys() - {'encoding'})}")
    encoding = pickle_load_args.get("encoding", "utf-8")
    is_path = isinstance(f, (str, os.PathLike))
    if is_path and os.fspath(f).endswith(".safetensors"):
        return _load_safetensors(os.fspath(f), map_location)
    restore = restore_location(map_location)
    opened = open(f, "rb") if is_path else f
    try:
        return _load_from(opened, restore, weights_only, encoding, pickle_module, mmap)
    except pickle.UnpicklingError as e:
        if weights_only and not isinstance(e, EmberLoadError):
            raise pickle.UnpicklingError(_weights_only_message(str(e))) from None
        raise
    finally:
        if is_path:
            opened.close()


def _load_from(f, restore, weights_only, encoding, pickle_module, use_mmap):
    from ._load import is_legacy, load_legacy, load_zip
    from ._zip import ZipReader
    if not (hasattr(f, "seekable") and f.seekable()):
        f = io.BytesIO(f.read())
    head = f.read(4)
    f.seek(-len(head), 1)
    if head == b"PK\x03\x04":
        mm = _map(f) if use_mmap else None
        return load_zip(ZipReader(f), restore, weights_only, encoding, pickle_module, mm)
    if use_mmap:
        raise RuntimeError("mmap can only be used with files saved with "
                           "`torch.save(_use_new_zipfile_serialization=True), please torch.save "
                           "your checkpoint with this option in order to use mmap.")
    if is_legacy(head):
        return load_legacy(f.read(), restore, weights_only, encoding, pickle_module)
    if _is_tar(f):
        raise RuntimeError("the file uses torch's .tar checkpoint format (PyTorch < 0.4), which "
                           "ember cannot load")
    raise EmberLoadError("not a PyTorch checkpoint: the file is neither a zip archive nor a "
                         "legacy torch.save file" + (" (it is empty)" if not head else ""))


def _map(f):
    try:
        fileno = f.fileno()
    except (AttributeError, io.UnsupportedOperation, OSError):
        raise ValueError("f must be a file path in order to use the mmap argument") from None
    # a private (copy-on-write) mapping: writes to loaded tensors never reach the file
    return _mmap.mmap(fileno, 0, access=_mmap.ACCESS_COPY)


def _is_tar(f):
    pos = f.tell()
    f.seek(pos + 257)
    magic = f.read(5)
    f.seek(pos)
    return magic == b"ustar"


def _weights_only_message(message):
    """torch.load's wording around a weights-only unpickler error (its _get_wo_message)."""
    import re
    if re.search(r"GLOBAL (\S+) was not an allowed global by default.", message):
        out = ("Weights only load failed. This file can still be loaded, to do so you have two "
               "options, \033[1mdo those steps only if you trust the source of the checkpoint"
               f"\033[0m. \n\t(1) {UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with "
               "`weights_only=True` please check the recommended steps in the following error "
               "message.\n\tWeightsUnpickler error: " + message)
    else:
        if re.search(r"(\S+) must be (\S+) to load", message):
            return f"Weights only load failed. {message}\n {UNSAFE_MESSAGE}\n"
        out = f"Weights only load failed. {UNSAFE_MESSAGE}\n"
        if not re.search(r"whose module (\S+) is blocked", message):
            out += ("Please file an issue with the following so that we can make "
                    "`weights_only=True` compatible with your use case: WeightsUnpickler error: ")
        out += "\n\n" + message
    return out + DOCS_MESSAGE


def get_unsafe_globals_in_checkpoint(f):
    """The globals in a checkpoint's pickle that a weights-only `load` would refuse."""
    from ._unpickler import unsafe_globals
    from ._zip import ZipReader
    opened = open(f, "rb") if isinstance(f, (str, os.PathLike)) else f
    try:
        if opened.read(4) != b"PK\x03\x04":
            raise ValueError("Expected input to be a checkpoint returned by torch.save")
        opened.seek(-4, 1)
        return unsafe_globals(ZipReader(opened).read("data.pkl"))
    finally:
        if opened is not f:
            opened.close()


def _load_safetensors(path, map_location):
    from .safetensors import load_file as _load_file
    if isinstance(map_location, dict) or callable(map_location):
        raise RuntimeError("Loading safetensors file with dict or callable map_location is not "
                           "supported. Use a device string or torch.device instead.")
    return _load_file(path, device="cpu" if map_location is None else str(map_location))


def save_file(tensors, filename, metadata=None):
    """`safetensors.torch.save_file` for ember tensors."""
    from .safetensors import save_file as _save_file
    _save_file(tensors, filename, metadata)


def load_file(filename, device="cpu"):
    """`safetensors.torch.load_file` for ember tensors."""
    from .safetensors import load_file as _load_file
    return _load_file(filename, device)
