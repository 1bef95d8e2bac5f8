"""What torch's pickles name, made of ember objects: storages, tensors, parameters, dtypes,
TorchScript class objects.

A storage is one flat array (the root buffer); every tensor that torch saved as a view of it
comes back as a NumPy/CuPy view of that array, with storage offsets and strides in elements."""
import pickle
import warnings

import numpy as np

from .. import _float8
from .._dtype import OF_NP, _BY_NAME, dtype as ember_dtype_type, to_dtype
from .._storage import TypedStorage, UntypedStorage
from .._tensor import _new
from ..backends import get_backend
from ._errors import EmberLoadError

# torch's legacy typed-storage class names (what `torch.save` writes) -> dtype names
STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "CharStorage": "int8", "ByteStorage": "uint8",
    "ShortStorage": "int16", "IntStorage": "int32", "LongStorage": "int64",
    "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128", "QUInt8Storage": "quint8", "QInt8Storage": "qint8",
    "QInt32Storage": "qint32",
}
STORAGE_OF_DTYPE = {v: k for k, v in STORAGE_DTYPES.items()}
# every dtype name torch's weights-only unpickler accepts as a global `torch.<name>`
TORCH_DTYPE_NAMES = (
    "float32", "float64", "float16", "bfloat16", "int8", "uint8", "int16", "int32", "int64",
    "bool", "complex64", "complex128", "complex32", "uint16", "uint32", "uint64",
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
    "qint8", "quint8", "qint32", "quint4x2", "quint2x4", "bits8", "bits16", "int1", "int2",
    "int3", "int4", "int5", "int6", "int7", "uint1", "uint2", "uint3", "uint4", "uint5",
    "uint6", "uint7",
)


class StorageType:
    """Stands for `torch.FloatStorage` & co. (and `torch.storage.UntypedStorage`) in a pickle."""
    __slots__ = ("dtype_name",)

    def __init__(self, dtype_name):
        self.dtype_name = dtype_name

    def __repr__(self):
        return f"StorageType(dtype=torch.{self.dtype_name})"


def ember_dtype(name):
    """The ember dtype called `name`, or an EmberLoadError naming what ember lacks."""
    d = _BY_NAME.get(name)
    if d is None:
        raise EmberLoadError(f"the checkpoint uses dtype torch.{name}, which ember does not "
                             "support")
    return d


class Storage:
    """A flat array of raw bytes on one device; what `map_location` callables receive."""
    __slots__ = ("raw", "be")

    def __init__(self, raw, be):
        self.raw, self.be = raw, be

    @property
    def device(self):
        return self.be.device

    def nbytes(self):
        return self.raw.size

    def untyped(self):
        """The ember UntypedStorage over these bytes (what the loaded objects share)."""
        return UntypedStorage._wrap(self.raw, self.be.device)

    def to(self, device):
        be = get_backend(device)
        if be is self.be:
            return self
        return Storage(be.from_host(self.be.to_host(self.raw)), be)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{int(device)}")


def typed_storage(untyped, dtype):
    """What a persistent id resolves to: a storage read as one dtype (torch's TypedStorage)."""
    return TypedStorage(wrap_storage=untyped, dtype=dtype, _internal=True)


def restore_location(map_location):
    """torch's `_get_restore_location`: (cpu Storage, location tag) -> Storage on its device."""
    if map_location is None:
        return _default_restore
    if isinstance(map_location, dict):
        return lambda s, loc: _default_restore(s, _tag(map_location.get(loc, loc)))
    if callable(map_location):
        return lambda s, loc: _call_map_location(map_location, s, loc)
    tag = _tag(map_location)
    return lambda s, loc: _default_restore(s, tag)


def _tag(place):
    if isinstance(place, bytes):
        return place.decode("ascii")
    return str(place)


def _call_map_location(fn, storage, location):
    result = fn(storage, location)
    if result is None:
        return _default_restore(storage, location)
    if not isinstance(result, Storage):
        raise TypeError(f"map_location must return None or a storage, not {type(result)}")
    return result


_NO_RESTORE = {"mps": "torch.UntypedStorage(): Storage device not recognized: mps",
               "mtia": "Cannot execute getCurrentDevice() without MTIA backend."}


def _default_restore(storage, location):
    try:
        be = get_backend(location)
    except Exception as e:      # a missing CuPy or device, a bad tag: torch's wording
        kind = location.partition(":")[0]
        if kind in ("cuda", "xpu"):
            raise RuntimeError(
                f"Attempting to deserialize object on a {kind.upper()} device but "
                f"torch.{kind}.is_available() is False. If you are running on a CPU-only "
                "machine, please use torch.load with map_location=torch.device('cpu') to map "
                "your storages to the CPU.") from e
        raise RuntimeError(_NO_RESTORE.get(kind, f"don't know how to restore data location of "
                                                 f"torch.storage.UntypedStorage (tagged with "
                                                 f"{location})")) from e
    return storage if be is storage.be else storage.to(be.device)


# ---- tensors ------------------------------------------------------------------------------

def _check_ints(name, values):
    if not isinstance(values, (tuple, list)) or any(type(v) is not int or v < 0 for v in values):
        raise EmberLoadError(f"corrupt checkpoint: tensor {name} {values!r} is not a tuple of "
                             "non-negative ints")


def _view(typed, offset, size, stride, np_dtype=None):
    """The array a (storage, offset, size, stride) tensor describes, as a view of the storage."""
    if type(typed) is not TypedStorage:
        raise EmberLoadError(f"corrupt checkpoint: expected a storage, got {type(typed)}")
    raw, np_dtype = typed._untyped_storage._arr, np_dtype or typed.dtype.np
    _check_ints("size", size)
    _check_ints("stride", stride)
    if type(offset) is not int or offset < 0 or len(size) != len(stride):
        raise EmberLoadError("corrupt checkpoint: bad storage offset or size/stride lengths")
    item = np_dtype.itemsize
    if raw.size % item:
        raise EmberLoadError(f"storage of {raw.size} bytes cannot hold {np_dtype} elements")
    xp = _backend(typed).xp
    if xp is not np and _float8.is_float8(np_dtype):
        raise EmberLoadError(f"{_float8.cuda_refusal(np_dtype)} (load it with "
                             f"map_location='cpu')")
    size, numel = tuple(size), 1
    for n in size:
        numel *= n
    if numel == 0:
        return raw[:0].view(np_dtype).reshape(size)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= raw.size // item:
        raise EmberLoadError(f"corrupt checkpoint: a tensor of size {list(size)} and stride "
                             f"{list(stride)} at offset {offset} runs past its storage of "
                             f"{raw.size // item} elements")
    strides = tuple(s * item for s in stride)
    # a view whose base chain ends at the storage's buffer, so saving it again finds the storage
    if xp is np:
        return np.ndarray(size, np_dtype, buffer=raw, offset=offset * item, strides=strides)
    return xp.ndarray(size, np_dtype, memptr=raw.data + offset * item, strides=strides)


def _backend(typed):
    return get_backend(typed._untyped_storage.device)


def _with_metadata(t, metadata):
    """torch's tensor metadata (get_tensor_metadata): the conjugate and negative bits of a view
    whose storage holds the values before conjugation (negation)."""
    if not metadata:
        return t
    if type(metadata) is not dict:
        raise EmberLoadError(f"corrupt checkpoint: tensor metadata of {type(metadata)}")
    from ..ops.elementwise import conj
    if metadata.get("conj") and t.is_complex():
        t = conj(t)
    if metadata.get("neg"):
        t = t.neg()
    return t


def _tensor(typed, arr, requires_grad, metadata=None):
    if arr.dtype.num not in OF_NP:
        raise EmberLoadError(f"the checkpoint uses dtype {arr.dtype}, which ember does not "
                             "support")
    t = _with_metadata(_new(arr, _backend(typed)), metadata)
    if requires_grad:
        if arr.dtype.kind not in "fc" and arr.dtype.name != "bfloat16":
            raise EmberLoadError("corrupt checkpoint: only floating point and complex tensors "
                                 "can require gradients")
        t.requires_grad = True
    return t


def rebuild_tensor(storage, storage_offset, size, stride):
    arr = _view(storage, storage_offset, size, stride)
    return _tensor(storage, arr, False)


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                      metadata=None):
    arr = _view(storage, storage_offset, size, stride)
    return _tensor(storage, arr, requires_grad is True, metadata)


def rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                      dtype, metadata=None):
    if not isinstance(dtype, ember_dtype_type):
        raise EmberLoadError(f"corrupt checkpoint: expected a dtype, got {type(dtype)}")
    to_dtype(dtype)             # (a float8 is a first use of a float8)
    arr = _view(storage, storage_offset, size, stride, dtype.np)
    return _tensor(storage, arr, requires_grad is True, metadata)


def rebuild_qtensor(storage, storage_offset, size, stride, quantizer_params, requires_grad,
                    backward_hooks):
    """torch._utils._rebuild_qtensor: a quantized tensor over its integer storage, with
    (torch.per_tensor_affine, scale, zero_point) or (torch.per_channel_affine, scales,
    zero_points, axis)."""
    from .. import _quantized as Q
    qd = storage.dtype
    if qd not in Q.QUANTIZED or type(quantizer_params) is not tuple:
        raise EmberLoadError("corrupt checkpoint: _rebuild_qtensor of a non-quantized storage")
    arr = _view(storage, storage_offset, size, stride, qd.storage)
    scheme = quantizer_params[0]
    if scheme is Q.per_tensor_affine and len(quantizer_params) == 3:
        q = Q.QParams(qd, float(quantizer_params[1]), int(quantizer_params[2]))
    elif scheme is Q.per_channel_affine and len(quantizer_params) == 4:
        scales, zero_points, axis = quantizer_params[1:]
        scales = np.asarray(scales.numpy() if hasattr(scales, "numpy") else scales, np.float64)
        zero_points = np.asarray(zero_points.numpy() if hasattr(zero_points, "numpy")
                                 else zero_points, np.int64)
        if type(axis) is not int or not 0 <= axis < len(size) or \
                not scales.size == zero_points.size == size[axis]:
            raise EmberLoadError("corrupt checkpoint: per-channel parameters that do not fit "
                                 "the tensor")
        q = Q.QParams(qd, scales=scales, zero_points=zero_points, axis=axis)
    else:
        raise EmberLoadError(f"the checkpoint holds a {scheme!r} quantized tensor, which ember "
                             "does not support")
    return _new(Q.make_qarray(arr, q), _backend(storage))


def get_layout(name):
    """torch.serialization._get_layout: how torch pickles a layout ("torch.sparse_coo")."""
    from .. import _layout
    layout = getattr(_layout, name[len("torch."):], None) if name.startswith("torch.") else None
    if not isinstance(layout, _layout.layout):
        raise RuntimeError(f"Invalid layout: {name}")
    return layout


def rebuild_sparse_tensor(layout, data):
    """torch._utils._rebuild_sparse_tensor: a COO tensor from (indices, values, size[,
    is_coalesced]), a CSR/CSC/BSR/BSC tensor from (compressed indices, plain indices, values,
    size); their invariants checked only under check_sparse_tensor_invariants, as torch's."""
    from .. import _layout
    from ..sparse import check_sparse_tensor_invariants, sparse_compressed_tensor, \
        sparse_coo_tensor
    check = check_sparse_tensor_invariants.is_enabled()
    if layout is _layout.sparse_coo:
        indices, values, size = data[:3]
        return sparse_coo_tensor(indices, values, size, check_invariants=check,
                                 is_coalesced=data[3] if len(data) > 3 else None)
    if layout in (_layout.sparse_csr, _layout.sparse_csc, _layout.sparse_bsr,
                  _layout.sparse_bsc):
        compressed, plain, values, size = data
        return sparse_compressed_tensor(compressed, plain, values, size, layout=layout,
                                        check_invariants=check)
    raise NotImplementedError(f"rebuilding sparse tensor for layout {layout}")


def rebuild_parameter(data, requires_grad, backward_hooks):
    from .._tensor import Tensor
    if not isinstance(data, Tensor):
        raise EmberLoadError(f"corrupt checkpoint: a Parameter of {type(data)}")
    return make_parameter(data, requires_grad is True)


def rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    param = rebuild_parameter(data, requires_grad, backward_hooks)
    set_state(param, state)
    return param


def rebuild_from_type_v2(func, new_type, args, state):
    """torch's wrapper for tensors that carry Python attributes (and for subclasses: a jagged
    tensor's state is its own fields, which rebuild_njt set)."""
    known = (rebuild_tensor_v2, rebuild_tensor_v3, rebuild_tensor, rebuild_parameter,
             rebuild_parameter_with_state, rebuild_njt)
    if not any(func is f for f in known) or type(args) is not tuple:
        raise EmberLoadError(f"corrupt checkpoint: _rebuild_from_type_v2 of {func!r}")
    result = func(*args)
    if func is not rebuild_njt:
        set_state(result, state)
    return result


class DimRange:
    """torch._dynamo.decorators._DimRange, which torch pickles among a jagged tensor's values'
    attributes (its dynamo markings): kept as read, unused."""

    def __setstate__(self, state):
        self.state = state


class NestedTensorType:
    """torch.nested._internal.nested_tensor.NestedTensor, as a jagged tensor's pickle names
    it (the type _rebuild_from_type_v2 would make)."""


def rebuild_njt(kwargs):
    """torch.nested._internal.nested_tensor._rebuild_njt: a jagged tensor over its values and
    offsets (lengths: with holes), its min / max seqlen the sizes of empty tensors."""
    from .._tensor import Tensor
    from .._nested_array import nested_int
    from ..nested._ops import from_jagged
    if type(kwargs) is not dict or not isinstance(kwargs.get("values"), Tensor) or \
            not isinstance(kwargs.get("offsets"), Tensor):
        raise EmberLoadError("corrupt checkpoint: a jagged tensor without values and offsets")
    offsets, cache = kwargs["offsets"], kwargs.get("_metadata_cache") or {}
    seqlens = tuple(cache[k].shape[0] if isinstance(cache.get(k), Tensor) else None
                    for k in ("min_seqlen", "max_seqlen"))
    out = from_jagged(kwargs["values"], offsets, kwargs.get("lengths"),
                      kwargs.get("_ragged_idx", 1), nested_int(offsets.arr), seqlens)
    return out.requires_grad_(kwargs.get("requires_grad") is True)


def rebuild_nested_tensor(buffer, sizes, strides, storage_offsets):
    """torch._utils._rebuild_nested_tensor: a strided nested tensor whose component i views
    the flat buffer from storage_offsets[i] with sizes[i] and strides[i]."""
    from .._tensor import Tensor
    from .._nested_array import STRIDED
    from ..nested._ops import VIEW_FROM_BUFFER, from_parts
    if not all(isinstance(x, Tensor) for x in (buffer, sizes, strides, storage_offsets)):
        raise EmberLoadError("corrupt checkpoint: a nested tensor's buffer or metadata")
    n = buffer.numel()
    parts = []
    for size, stride, offset in zip(sizes.tolist(), strides.tolist(), storage_offsets.tolist()):
        end = offset + 1 + sum((k - 1) * s for k, s in zip(size, stride)) if all(size) else 0
        if offset < 0 or end > n:
            raise EmberLoadError("corrupt checkpoint: a nested tensor's component outside its "
                                 "buffer")
        parts.append(buffer.as_strided(size, stride, offset))
    return from_parts(parts, STRIDED, VIEW_FROM_BUFFER)


def set_state(obj, state):
    """Python attributes saved with a tensor; never the slots that make it a tensor."""
    from .._tensor import Tensor
    if not state:
        return
    if isinstance(state, tuple) and len(state) == 2:
        state = {**(state[0] or {}), **(state[1] or {})}
    if type(state) is not dict:
        raise EmberLoadError(f"corrupt checkpoint: tensor state of {type(state)}")
    try:
        for k, v in state.items():
            if type(k) is not str or k in Tensor.__slots__ or k.startswith("__") or \
                    isinstance(getattr(Tensor, k, None), property):
                raise AttributeError(k)
            setattr(obj, k, v)
    except (AttributeError, TypeError):
        warnings.warn(f"ember tensors cannot carry the Python attributes {sorted(state)!r} "
                      "saved with this tensor; they were dropped", stacklevel=4)


def make_parameter(data, requires_grad):
    from ..nn.parameter import Parameter
    return Parameter(data, requires_grad)


# the ember classes of torch's TorchScript classes (its packed quantized parameters), by
# qualified name: (module, class); their __getstate__ and __setstate__ take torch's state
SCRIPT_CLASSES = {
    "__torch__.torch.classes.quantized.LinearPackedParamsBase": ("ember.ops._quantized_nn",
                                                                 "LinearPacked"),
    "__torch__.torch.classes.rnn.CellParamsBase": ("ember.ao.nn.quantized.dynamic.modules.rnn",
                                                   "CellParamsDynamic"),
}


class ScriptObject:
    """torch.ScriptObject as a full (not weights-only) load meets one: made empty, then given
    (state, qualified class name), it becomes an object of that class's ember equivalent."""

    def __setstate__(self, state):
        import importlib
        where = SCRIPT_CLASSES.get(state[1])
        if where is None:
            raise pickle.UnpicklingError(f"ember has no equivalent of {state[1]}")
        self.__class__ = getattr(importlib.import_module(where[0]), where[1])
        self.__setstate__(state)


def structseq(cls):
    """What unpickling torch's return type `cls` calls: torch pickles a structseq as
    cls((values...), {}), where ember's named tuple takes the values one by one."""
    def rebuild(values, fields=None):
        return cls(*values)
    rebuild.__name__ = rebuild.__qualname__ = cls.__name__
    return rebuild
