"""The Tensor: a NumPy/CuPy array, its backend, and its place in the autograd graph."""
from operator import attrgetter as _attrgetter

import numpy as np

from . import _dtype
from ._dtype import C10_NAME, FLOAT8, OF_NP, to_dtype
from ._kernel_dtypes import cname, tname
from .autograd.grad_mode import STATE as _GRAD, TRANSFORMS as _TRANSFORMS
from .autograd.node import CLOCK, InferenceVersion, Leaf, new_inference_version, refresh_init
from ._layout import sparse_coo, sparse_csr, strided
from ._sparse_coo import NO_STORAGE as _NO_STORAGE, SparseCOO, _FLAGS as _SPARSE_FLAGS, \
    not_implemented as _sparse_not_implemented
from ._sparse_csr import SparseCSR
from ._sparse_compressed import SparseCompressed
from ._typenames import tp_name
from ._nested_array import NestedArray, NestedInt, SIZES_ERROR
from ._quantized import QArray
from ._warnings import outside_stacklevel, warn_once
from .backends import CPU, device as _device, get_backend

__all__ = ["Tensor", "Size"]

SAME_DTYPE = object()       # a leaf's default grad_dtype: its own dtype


def dense_strides(a):
    """torch's strides (in elements) of a dense array."""
    # NumPy zeroes a new empty array's strides (and so those of its views: a transposed
    # new empty tensor reads as contiguous here); torch's are contiguous, sizes taken >= 1
    if a.size == 0 and not any(a.strides):
        st, step = [], 1
        for n in reversed(a.shape):
            st.append(step)
            step *= max(n, 1)
        return tuple(reversed(st))
    return tuple(s // a.itemsize for s in a.strides)


def _subclass_deepcopy_check(t):
    """torch's refusal to deepcopy a subclass instance whose new_empty() (clone() for a sparse
    or empty one: a wrapper subclass's) gives another type, as it does (the subclass's dispatch
    off) unless the subclass overrides it."""
    from ._torch_function import DisableTorchFunctionSubclass
    wrapper = t.layout is not strided or t.arr.size == 0       # (torch: data_ptr() == 0)
    with DisableTorchFunctionSubclass():
        made = t.clone() if wrapper else t.new_empty([])
    if type(made) is not type(t):
        raise RuntimeError(
            f"The default implementation of __deepcopy__() for "
            f"{'wrapper' if wrapper else 'non-wrapper'} subclasses only works for subclass types "
            f"that implement {'clone' if wrapper else 'new_empty'}() and for which "
            f"{'cloning returns' if wrapper else 'that function returns'} another instance of "
            f"the same subclass. You should either properly implement "
            f"{'clone' if wrapper else 'new_empty'}() for your subclass or override "
            f"__deepcopy__() if it is intended behavior for "
            f"{'clone' if wrapper else 'new_empty'}() to return an instance of a different "
            f"type.")


def _sparse_no_strides(a, what):
    """A COO array's ndim (torch: zero strides, never contiguous); torch's error for the
    compressed layouts (CSR, CSC, BSR, BSC), which have no strides."""
    if type(a) is SparseCOO:
        return a.ndim
    raise RuntimeError(f"Sparse {a.kind.upper()} tensors do not have {what}")


class Size(tuple):
    """torch.Size: a tuple that prints as `torch.Size([2, 3])`."""
    __slots__ = ()

    def __new__(cls, sizes=()):
        t = tuple.__new__(cls, sizes)
        for i, n in enumerate(t):
            if type(n) is not int:      # bools, NumPy ints, 1-element integer tensors: ints
                return tuple.__new__(cls, [_size_item(v, j) for j, v in enumerate(t)])
        return t

    def __repr__(self):
        return f"torch.Size([{', '.join(map(str, self))}])"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return _SIZE(Size, r) if isinstance(i, slice) else r

    def __add__(self, other):
        if not isinstance(other, tuple):
            raise TypeError(f"can only concatenate tuple (not {type(other).__name__}) to "
                            "torch.Size")
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):          # (1,) + size is a Size, as in torch
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        try:
            r = tuple.__mul__(self, n)
        except TypeError:
            raise TypeError(f"can't multiply sequence by non-int of type "
                            f"'{type(n).__name__}'") from None
        return r if r is NotImplemented else _SIZE(Size, r)

    __rmul__ = __mul__

    def __reduce__(self):
        return (Size, (tuple(self),))


_SIZE = tuple.__new__       # a Size of known ints (a NumPy shape), skipping the checks


def _size_item(v, i):
    if isinstance(v, (np.integer, NestedInt)):  # kept as they are, as torch keeps them (and the
        return v                                # ragged size of a jagged tensor)
    if getattr(type(v), "kept_by_size", False):    # a size traced by torch.onnx.export
        return v
    if type(v) is not float and not isinstance(v, (str, type(None), np.generic)):
        try:
            return v.__index__()
        except (AttributeError, TypeError, RuntimeError, ValueError):
            pass
    name = type(v).__name__
    raise TypeError(f"torch.Size() takes an iterable of 'int' (item {i} is "
                    f"'{'numpy.' + name if isinstance(v, np.generic) else name}')")


def _warn_grad_scalar():
    """float(t) and complex(t) of a tensor requiring grad warn once per process (torch's
    TORCH_WARN_ONCE in python_variable_methods.cpp)."""
    warn_once("Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
              "behavior.\nConsider using tensor.detach() first.")


def _tensor_options(dtype):
    """How torch's legacy constructors print the options they expected or got."""
    return (f"TensorOptions(dtype={cname(dtype.np)}, device=cpu, "
            "layout=Strided, requires_grad=false (default), pinned_memory=false (default), "
            "memory_format=(nullopt))")


def _array_copy_keyword(copy):
    """torch's Tensor.__array__ takes no `copy` keyword, so under NumPy 2 np.array(t) (which
    passes copy=True) warns and np.asarray(t, copy=False) then fails: do the same."""
    import warnings
    warnings.warn("__array__ implementation doesn't accept a copy keyword, so passing copy=False "
                  "failed. __array__ must implement 'dtype' and 'copy' keyword arguments. To learn "
                  "more, see the migration guide https://numpy.org/devdocs/numpy_2_0_migration_"
                  "guide.html#adapting-to-changes-in-the-copy-keyword", DeprecationWarning,
                  stacklevel=outside_stacklevel())
    if copy is False:
        raise ValueError(
            "Unable to avoid copy while creating an array as requested.\nIf using "
            "`np.array(obj, copy=False)` replace it with `np.asarray(obj)` to allow a copy when "
            "needed (no behavior change in NumPy 1.x).\nFor more details, see https://numpy.org/"
            "devdocs/numpy_2_0_migration_guide.html#adapting-to-changes-in-the-copy-keyword.")


class TensorBase:
    """torch._C.TensorBase: Tensor's base class, which libraries' isinstance checks name."""
    __slots__ = ()


class Tensor(TensorBase):
    # `arr` is the backing ndarray; `_vc` is the version counter [version, clock stamp], shared
    # with views and created lazily; `_leaf` the AccumulateGrad node of a leaf tensor.
    # `_rg` and `_grad` hold requires_grad and grad: ember's own code reads and writes these
    # slots (plain slot access on the hot path); the public `requires_grad` and `grad` are
    # properties whose setters check what torch checks on assignment.
    __slots__ = ("arr", "be", "_rg", "_grad", "grad_fn", "_leaf", "_vc", "_base",
                 "_retain", "_fw", "__weakref__", "__dict__")    # __dict__: user attributes
    __array_priority__ = 1000       # NumPy scalars and arrays defer to our reflected operators
    is_mkldnn = False       # (is_quantized: ember/_quantized.py; is_nested below)
    is_meta = property(lambda self: self.be.name == "meta")
    is_mps = is_xpu = is_xla = is_ipu = is_mtia = is_maia = is_vulkan = False   # no such devices

    # a sparse COO tensor is a Tensor whose `arr` is a SparseCOO (ember/sparse/__init__.py)
    # and a CSR tensor one whose `arr` is a SparseCSR
    is_sparse = property(lambda self: isinstance(self.arr, SparseCOO))
    is_sparse_csr = property(lambda self: type(self.arr) is SparseCSR)
    # and a nested tensor one whose `arr` is a NestedArray (ember/nested/)
    is_nested = property(lambda self: type(self.arr) is NestedArray)

    @property
    def layout(self):
        a = self.arr
        if isinstance(a, SparseCOO):
            return sparse_coo
        if type(a) is SparseCSR:
            return sparse_csr
        if type(a) is SparseCompressed:
            from . import _layout
            return getattr(_layout, a.layout)
        if type(a) is NestedArray:
            from . import _layout
            return getattr(_layout, a.meta.layout)
        return strided

    def __new__(cls, *args, device=None, dtype=None):
        # legacy torch.Tensor(...) constructor: Tensor(2, 3) -> uninitialised float, Tensor([..]);
        # on the CPU unless told (torch.set_default_device does not reach it, as in torch). It
        # is __new__, as torch's, so a subclass's own __new__/__init__ see no second constructor
        from .ops.creation import tensor as _tensor_fn, empty
        self = object.__new__(cls)
        device = "cpu" if device is None else device
        if len(args) == 1 and isinstance(args[0], Tensor):      # new(Tensor other): an alias
            src = args[0]
            if dtype is not None and src.dtype is not dtype:
                raise TypeError(f"expected {_tensor_options(dtype)} (got "
                                f"{_tensor_options(src.dtype)})")
        elif len(args) == 1 and type(args[0]).__name__ in ("UntypedStorage", "TypedStorage"):
            dtype = dtype or _dtype.DEFAULT.float                # new(Storage storage): a view
            src = empty(0, dtype=dtype, device=device).set_(_storage_source(args[0], dtype, tname))
        elif len(args) == 1 and isinstance(args[0], Size):       # new(tuple of ints size)
            src = empty(args[0], dtype=dtype, device=device)
        elif len(args) == 1 and not isinstance(args[0], int):
            src = _tensor_fn(args[0], dtype=dtype or _dtype.DEFAULT.float, device=device)
        else:
            src = empty(*(args or (0,)), dtype=dtype, device=device)    # Tensor(): tensor([])
        _init_from(self, src.arr, src.be)
        return self

    # ---- metadata -------------------------------------------------------------------------
    @property
    def shape(self):
        return _SIZE(Size, self.arr.shape)

    def size(self, dim=None):
        if dim is None:
            return _SIZE(Size, self.arr.shape)
        try:
            return self.arr.shape[_wrap_dim(dim, self.arr.ndim)]
        except IndexError:
            _no_dims(self.arr, dim)
            raise
        except TypeError:
            raise _dim_type_error("size", dim) from None

    @property
    def dtype(self):
        return OF_NP[self.arr.dtype.num]

    @property
    def device(self):
        return self.be.device

    @property
    def is_cuda(self):
        return self.be.name == "cuda"

    @property
    def is_cpu(self):
        return self.be.name == "cpu"

    @property
    def ndim(self):
        return self.arr.ndim

    def dim(self):
        return self.arr.ndim

    ndimension = dim

    def numel(self):
        try:
            return self.arr.size
        except AttributeError:      # a nested tensor's NestedArray
            return self.arr.numel

    nelement = numel

    def element_size(self):
        return self.arr.itemsize

    @property
    def itemsize(self):
        return self.arr.itemsize

    @property
    def nbytes(self):
        return self.arr.nbytes

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def _is_view(self):
        return self._base is not None

    @property
    def _version(self):
        vc = self._vc
        if type(vc) is InferenceVersion:
            raise RuntimeError("Inference tensors do not track version counter.")
        return 0 if vc is None else vc[0]

    def is_floating_point(self):
        return self.arr.dtype.kind == "f" or self.dtype.is_floating_point

    def is_complex(self):
        return self.arr.dtype.kind == "c"

    def is_signed(self):
        return self.dtype.is_signed

    def get_device(self):
        return -1 if self.be.name == "cpu" else (self.be.device.index or 0)

    def stride(self, dim=None):
        a = self.arr
        try:
            st = dense_strides(a)
        except AttributeError:          # a nested tensor's array: no flat size
            st = a.stride()
        except NotImplementedError:     # a sparse array: a COO tensor's strides are zeros
            st = (0,) * _sparse_no_strides(a, "strides")
        if dim is None:
            return st
        try:
            return st[_wrap_dim(dim, a.ndim)]
        except IndexError:
            _no_dims(a, dim)
            raise
        except TypeError:
            raise _dim_type_error("stride", dim) from None

    def storage_offset(self):
        a = self.arr
        if type(a) is not np.ndarray and hasattr(a, "__cuda_array_interface__"):
            # CuPy: elements from the start of the allocation (its arrays have no
            # __array_interface__, so the walk below would stop at `a` and give 0)
            return (a.data.ptr - a.data.mem.ptr) // a.itemsize
        base = a
        while getattr(base, "base", None) is not None and hasattr(base.base, "__array_interface__"):
            base = base.base
        if base is a:
            return 0
        return (_ptr(a) - _ptr(base)) // a.itemsize

    def data_ptr(self):
        return _ptr(self.arr)

    const_data_ptr = data_ptr

    def is_distributed(self):
        return False

    @property
    def output_nr(self):
        """Which output of its grad_fn this tensor is (0 for leaves and single outputs)."""
        from .autograd.node import output_nr
        return 0 if self.grad_fn is None else output_nr(self.grad_fn)

    # ---- removed Variable API: torch's warnings and errors ---------------------------------
    @property
    def volatile(self):
        import warnings
        from ._warnings import outside_stacklevel
        warnings.warn("volatile was removed (Variable.volatile is always False)",
                      stacklevel=outside_stacklevel())
        return False

    @volatile.setter
    def volatile(self, value):
        import warnings
        from ._warnings import outside_stacklevel
        warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` "
                      "instead.", stacklevel=outside_stacklevel())

    @property
    def name(self):
        """Always None (torch's Variable name, read-only)."""
        return None

    @name.setter
    def name(self, value):
        raise AttributeError("attribute 'name' of 'torch._C.TensorBase' objects is not writable")

    def reinforce(self, reward):
        raise RuntimeError(_REINFORCE_REMOVED)

    def is_contiguous(self, memory_format=None):
        flags = self.arr.flags
        if flags is not _SPARSE_FLAGS:  # (sparse arrays' flags read as contiguous)
            if memory_format is None:
                return bool(flags.c_contiguous)
        else:       # (a COO tensor: never; the compressed layouts raise)
            _sparse_no_strides(self.arr, "is_contiguous")
            return False
        from ._memory_format import is_contiguous_as
        return is_contiguous_as(self.arr, memory_format)

    # ---- data access ----------------------------------------------------------------------
    @property
    def data(self):
        # torch: shares storage but NOT the version counter (writes through .data are unseen)
        return _new(self.arr, self.be)

    @data.setter
    def data(self, other):
        if not isinstance(other, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(other).__name__}")
        if self._rg and not (other.is_floating_point() or other.is_complex()):
            raise RuntimeError("data set to a tensor that requires gradients must be floating "
                               "point or complex dtype")
        # torch's set_data: the storage is shared with `other`, the version counter stays this
        # tensor's own (views of it keep sharing it; writes through `other` are unseen here)
        self.arr, self.be = other.arr, other.be

    @property
    def T(self):
        if self.arr.ndim == 2:
            return self.permute(_REVERSE_2D)
        if self.arr.ndim == 0:
            warn_once("Tensor.T is deprecated on 0-D tensors. This function is the identity in "
                      "these cases.")
        elif self.arr.ndim != 2:
            warn_once("The use of `x.T` on tensors of dimension other than 2 to reverse their "
                      "shape is deprecated and it will throw an error in a future release. "
                      "Consider `x.mT` to transpose batches of matrices or `x.permute(*torch."
                      "arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor.")
        return self.permute(tuple(range(self.arr.ndim - 1, -1, -1)))

    @property
    def H(self):
        nd = self.arr.ndim
        if nd == 0:
            warn_once("Tensor.H is deprecated on 0-D tensors. Consider using x.conj().")
            return self.conj()
        if nd != 2:
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                               f"{nd}-D tensor." + (" For batches of matrices, consider using "
                                                    "tensor.mH" if nd > 2 else ""))
        from .ops.shape import _matrix_transpose
        return _matrix_transpose(self, "mH")

    @property
    def real(self):
        from .ops.shape import real
        return real(self)

    @real.setter
    def real(self, value):
        self.real.copy_(value)

    @property
    def imag(self):
        from .ops.shape import imag
        return imag(self)

    @imag.setter
    def imag(self, value):
        self.imag.copy_(value)

    def numpy(self, *, force=False):
        a = self.arr
        if type(a) is np.ndarray and a.dtype.num < 256 and a.dtype.kind != "c" and \
                self.be is CPU and (not self._rg or force or not _GRAD.enabled):
            # the common case: NumPy's own dtypes (ml_dtypes' bfloat16 and float8s are
            # user-defined types, numbered from 256), no conjugate bit; below, torch's checks
            return a.view()
        if isinstance(self.arr, (SparseCOO, SparseCSR, SparseCompressed)):
            self.arr.__array__()            # torch's TypeError for a sparse layout
        elif type(self.arr) is NestedArray:     # torch's errors: a jagged one's before the grad's
            if self.arr.meta.layout == "strided" and self._rg and not force and _GRAD.enabled:
                raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                                   "tensor.detach().numpy() instead.")
            raise RuntimeError(SIZES_ERROR if self.arr.meta.layout == "strided" else
                               ".numpy() is not supported for tensor subclasses.")
        _check_not_conj(self)
        if self._rg and not force and _GRAD.enabled:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if self.be.name == "cuda":
            if not force:
                raise TypeError("can't convert cuda:0 device type tensor to numpy. Use "
                                "Tensor.cpu() to copy the tensor to host memory first.")
            return self.arr.get()
        if self.be.name == "meta":
            raise TypeError("can't convert meta device type tensor to numpy. Use Tensor.cpu() "
                            "to copy the tensor to host memory first.")
        _check_numpy_dtype(self)
        return self.arr.view()      # torch's own ndarray object each call, sharing the memory

    def _host(self):
        return self.be.to_host(self.arr)

    def tolist(self):
        return self._host().tolist()

    def item(self):
        a = self.arr
        if self.be is CPU and type(a) is np.ndarray and a.size == 1:    # the common case
            return a.item()
        try:
            n = self.arr.size
        except AttributeError:          # a nested tensor's array
            from .nested._ops import no_item
            raise no_item(self.arr) from None
        if n != 1:
            raise RuntimeError(f"a Tensor with {n} elements cannot be converted to Scalar")
        if self.be.name == "meta":
            raise RuntimeError("Tensor.item() cannot be called on meta tensors")
        return self._one().item()

    def __array__(self, dtype=None, copy=None):
        if copy is not None:
            _array_copy_keyword(copy)
        if self._rg and _GRAD.enabled:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        _check_not_conj(self)
        if self.be.name == "cuda":      # torch's __array__ is numpy(): no implicit copy
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
        _check_numpy_dtype(self)
        a = self._host()
        return a.view() if dtype is None else a.astype(dtype)  # (a new object, as numpy())

    def __array_wrap__(self, array):
        """A NumPy function's result back as a tensor, as torch's: np.sin(t) is a tensor (a bool
        result a uint8 one). The one-argument signature is torch's (NumPy 2 warns about it)."""
        if array.dtype == bool:
            array = array.astype("uint8")
        from .ops.creation import from_numpy
        return from_numpy(array)

    def __len__(self):
        if self.arr.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        if type(self.arr) is NestedArray and self.arr.meta.layout == "strided":
            raise RuntimeError(SIZES_ERROR)     # (size(0) it has)
        return self.arr.shape[0]

    def __iter__(self):
        if self.dim() == 0:             # (a subclass's __torch_function__ sees dim and unbind)
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __reversed__(self):
        """reversed(t) is a tensor, flipped along dim 0 (a 0-d tensor is itself), as torch's."""
        return self if self.arr.ndim == 0 else self.flip(0)

    def __bool__(self):
        try:
            n = self.arr.size
        except AttributeError:          # a nested tensor's array: its elements in numel
            n = self.arr.numel
            if n == 1:
                from .nested._ops import no_item
                raise no_item(self.arr) from None
        if n != 1:
            raise RuntimeError(f"Boolean value of Tensor with "
                               f"{'no values' if n == 0 else 'more than one value'} "
                               f"is ambiguous")
        return bool(self._one())

    def __contains__(self, element):
        import numbers
        if isinstance(element, (Tensor, numbers.Number)):
            return bool((element == self).any().item())
        raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed "
                           f"in a {type(element)}.")

    def __float__(self):
        if self._rg and _GRAD.enabled:
            _warn_grad_scalar()
        return float(self._real_scalar("double"))

    def __int__(self):
        v = self._real_scalar("int64_t")
        if self.arr.dtype.kind == "c" and not np.isfinite(v):
            raise RuntimeError("value cannot be converted to type int64_t without overflow")
        return int(v)

    __long__ = __int__          # (torch's Python 2 names)

    def __nonzero__(self):
        return self.__bool__()

    def __delitem__(self, key):
        raise TypeError("Tensor does not support deleting items")

    def _real_scalar(self, ctype):
        """The one element as a NumPy real scalar: a complex one only with a zero imaginary part
        (torch's checked conversion)."""
        if getattr(self.arr, "size", 0) != 1:     # (a nested array has none)
            raise ValueError("only one element tensors can be converted to Python scalars")
        v = self._one()[()]
        if self.arr.dtype.kind == "c":
            if v.imag != 0:         # NaN too
                raise RuntimeError(f"value cannot be converted to type {ctype} without overflow")
            v = v.real
        return v

    def __complex__(self):
        if self._rg and _GRAD.enabled:
            _warn_grad_scalar()
        if self.arr.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return complex(self._one())

    def _one(self):
        """The one element's host array, for bool/int/float/complex/index: torch's item()
        refusal for a meta tensor (no data to copy out); a sparse COO tensor's element read
        through its dense form, a compressed one refused as torch's."""
        a = self.arr
        if type(a) is SparseCOO:
            return self.be.to_host(a.to_dense()).reshape(())
        if isinstance(a, (SparseCSR, SparseCompressed)):
            raise _sparse_not_implemented("_local_scalar_dense", a.xp, "SparseCsr")
        try:
            return self._host().reshape(())
        except NotImplementedError:
            raise RuntimeError("Tensor.item() cannot be called on meta tensors") from None

    def __index__(self):
        if self.arr.dtype.kind not in "iub" or self.arr.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._one())

    __hash__ = object.__hash__

    def __repr__(self, *, tensor_contents=None):
        from ._tensor_str import tensor_repr
        return tensor_repr(self, tensor_contents)

    def __format__(self, spec):
        from ._tensor_str import formats_as_number
        if formats_as_number(self):     # torch: a plain 0-d tensor formats as its Python number
            return self.item().__format__(spec)
        return object.__format__(self, spec)  # the str(), or TypeError for a non-empty spec

    def __dlpack__(self, *, stream=-1, max_version=None, dl_device=None, copy=None):
        """The DLPack capsule of the array, with torch's refusals: what a capsule cannot carry
        (autograd, the conjugate bit, a sparse layout) and a stream on the CPU."""
        if self.requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        if self.is_conj():
            raise BufferError("Can't export tensors with the conjugate bit set")
        if self.layout is not strided:
            raise BufferError("Can't export tensors with layout other than torch.strided")
        if stream is not None and type(stream) is not int:
            raise TypeError("stream must be ``int`` or ``none``")
        if self.be.name == "cpu" and stream not in (None, -1):
            raise AssertionError("stream should be None on cpu.")
        kwargs = {k: v for k, v in (("max_version", max_version), ("dl_device", dl_device),
                                    ("copy", copy)) if v is not None}
        if stream not in (None, -1):
            kwargs["stream"] = stream
        return self.arr.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        from .utils.dlpack import DLDeviceType
        kind, index = self.arr.__dlpack_device__()
        return DLDeviceType(kind), index

    @property
    def __cuda_array_interface__(self):
        """Numba's CUDA array interface (version 2) of a dense CUDA tensor, as torch's: an
        AttributeError elsewhere, so hasattr() says whether a tensor has one."""
        if self.be.name != "cuda":
            raise AttributeError(
                f"Can't get __cuda_array_interface__ on non-CUDA tensor type: {self.type()} "
                "If CUDA data is required use tensor.cuda() to copy tensor to device memory.")
        if self.layout is not strided:
            raise AttributeError(
                f"Can't get __cuda_array_interface__ on sparse type: {self.type()} "
                "Use Tensor.to_dense() to convert to a dense tensor first.")
        if self.requires_grad:
            raise RuntimeError(
                "Can't get __cuda_array_interface__ on Variable that requires grad. If gradients "
                "aren't required, use var.detach() to get Variable that doesn't require grad.")
        a = self.arr
        strides = None if a.flags.c_contiguous else tuple(a.strides)
        return dict(typestr=a.dtype.str, shape=tuple(a.shape), strides=strides,
                    data=(self.data_ptr() if a.size else 0, False), version=2)

    def __reduce_ex__(self, proto):
        if type(self.arr) is NestedArray:
            from .nested._ops import reduce_nested
            return reduce_nested(self)
        arr, *layout = _host_layout(self)
        args = (arr, str(self.device), self._rg, *layout)
        state = self.__dict__
        if type(self) is Tensor and not state:
            return (_rebuild, args)
        # a subclass comes back as itself, and attributes set on a tensor come back too
        # (torch's _rebuild_from_type_v2)
        cls = None if type(self) is Tensor else type(self)     # Tensor pickles by function
        return (_rebuild_as, (cls, args, dict(state)))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.  If you were "
                               "attempting to deepcopy a module, this may be because of a "
                               "torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        if type(self.arr) is NestedArray:
            from .nested._ops import deepcopy_nested
            memo[id(self)] = t = deepcopy_nested(self)
            return t
        if type(self) is not Tensor:
            _subclass_deepcopy_check(self)
        t = object.__new__(type(self))      # not a subclass's own __new__ (it may want data)
        _init_from(t, _layout_copy(self.arr, self.be.xp, memo), self.be)
        t._rg = self._rg
        if self._grad is not None:
            t._grad = self._grad.__deepcopy__(memo)
        if self.__dict__:
            import copy
            t.__dict__.update(copy.deepcopy(self.__dict__, memo))
        memo[id(self)] = t
        return t

    # ---- autograd -------------------------------------------------------------------------
    def _set_requires_grad(self, value):
        """`t.requires_grad = value`: torch's checks (a bool; only a leaf's flag may change;
        only floating and complex tensors can require gradients)."""
        if type(value) is not bool:
            raise RuntimeError("requires_grad must be a bool")
        if self.grad_fn is not None:
            raise RuntimeError(_LEAF_FLAG_ERROR + ("" if value else _LEAF_FLAG_HINT))
        if value and not (self.arr.dtype.kind in "fc" or self.dtype.is_floating_point):
            raise RuntimeError("only Tensors of floating point and complex dtype can require "
                               "gradients")
        if value:
            _check_inference_rg(self)
        self._rg = value

    # reads are one C call (attrgetter); ember's hot path reads the `_rg` slot itself
    requires_grad = property(_attrgetter("_rg"), _set_requires_grad)

    def _set_grad(self, value):
        """`t.grad = value`: torch's checks (None or a Tensor of this tensor's size, dtype and
        device type, never the tensor itself)."""
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {tp_name(value)}")
            if value is self:
                raise RuntimeError("can't assign Variable as its own grad")
            want = self.arr.dtype if self._grad_dtype is SAME_DTYPE else \
                None if self._grad_dtype is None else self._grad_dtype.np
            if want is not None and value.arr.dtype != want:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{cname(value.arr.dtype)}' "
                    f"to a tensor with grad_dtype '{tname(want)}'. The gradient "
                    "must match the tensor's grad_dtype (defaults to the tensor's dtype). You can "
                    "set the tensor's grad_dtype attribute with a specific dtype, or None to allow "
                    "any dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and "
                    "its gradient may break downstream systems that assume they match.")
            gdev, dev = value.be.device.type, self.be.device.type
            if gdev != dev:
                raise RuntimeError(
                    f"attempting to assign a gradient with device type '{gdev}' to a tensor with "
                    f"device type '{dev}'. Please ensure that the gradient and the tensor are on "
                    "the same device")
            if value.arr.shape != self.arr.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.arr.shape)}' to a "
                    f"tensor of size '{list(self.arr.shape)}'. Please ensure that the gradient "
                    "and the tensor are the same size")
        self._grad = value

    def _del_grad(self):
        self._grad = None

    def _get_grad(self):
        g = self._grad
        if g is None and self.grad_fn is not None and not self._retain:
            import warnings
            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return g

    grad = property(_get_grad, _set_grad, _del_grad)

    # torch 2.13's grad_dtype: the dtype AccumulateGrad casts a leaf's gradients to (by default
    # the leaf's own; None: whatever dtype they come in). Set, it lives in the instance dict.
    _grad_dtype = SAME_DTYPE

    def _get_grad_dtype(self):
        if self.grad_fn is not None:
            raise RuntimeError("grad_dtype can only be accessed on leaf tensors.")
        return self.dtype if self._grad_dtype is SAME_DTYPE else self._grad_dtype

    def _set_grad_dtype(self, value):
        if self.grad_fn is not None:
            raise RuntimeError("grad_dtype can only be set on leaf tensors.")
        if value is not None and not isinstance(value, _dtype.dtype):
            raise RuntimeError(f"grad_dtype must be a torch.dtype or None, but got "
                               f"{type(value).__name__}")
        g = self._grad
        if g is not None and value is not None and g.arr.dtype != value.np:
            raise RuntimeError(
                f"Cannot set grad_dtype to '{tname(value.np)}' because there is already a "
                f"gradient with dtype '{cname(g.arr.dtype)}'. Please clear the gradient (.grad = "
                "None) before changing grad_dtype, or ensure the new grad_dtype matches the "
                "existing gradient's dtype.")
        self._grad_dtype = value

    grad_dtype = property(_get_grad_dtype, _set_grad_dtype)

    def _leaf_node(self):
        leaf = self._leaf
        if leaf is None:
            leaf = self._leaf = Leaf(self)
        return leaf

    def _edge(self):
        return self.grad_fn or self._leaf_node()

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        try:
            functions = _AUTOGRAD_FUNCTIONS[0]
        except IndexError:      # (it imports this module: bound on the first call, not an import
            from .autograd import functions     # statement a call, a microsecond of a backward)
            _AUTOGRAD_FUNCTIONS.append(functions)
        functions.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # ---- subclasses: the __torch_function__ protocol (see _torch_function.py) ----------------
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        from . import _torch_function
        if _torch_function._overloaded(cls):
            _torch_function.enable()

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        """torch's default: run `func` without subclass dispatch, then return Tensor results
        as `cls` (the grad and _base getters excepted)."""
        from . import _torch_function
        if not all(issubclass(cls, t) for t in types):
            return NotImplemented
        with _torch_function.DisableTorchFunctionSubclass():
            ret = func(*args, **(kwargs or {}))
            if getattr(func, "torch_name", None) in _NOWRAP:
                return ret
            return _torch_function.convert(ret, cls)

    def as_subclass(self, cls):
        """A `cls` instance sharing this tensor's data and attached to its graph (an alias,
        AliasBackward0 when it requires grad)."""
        if not (isinstance(cls, type) and issubclass(cls, Tensor)):
            raise TypeError(f"as_subclass(): argument 'cls' must be a subclass of torch.Tensor, "
                            f"not {type(cls).__name__}")
        from . import _torch_function
        from .ops.shape import _alias_fn
        with _torch_function.DisableTorchFunctionSubclass():
            return _as(cls, _alias_fn(self, ()))

    @staticmethod
    def _make_subclass(cls, data, require_grad=False, **_):
        """A `cls` leaf sharing `data`'s storage (how wrapper subclasses build themselves)."""
        t = _as(cls, Tensor.detach(data))
        if require_grad and not (t.is_floating_point() or t.is_complex()):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        t._rg = bool(require_grad)
        return t

    @staticmethod
    def _make_wrapper_subclass(cls, size, strides=None, storage_offset=None, memory_format=None,
                               dtype=None, layout=None, device=None, pin_memory=False,
                               requires_grad=False, **_):
        """A `cls` tensor of that size, strides, dtype and device whose ops go to
        cls.__torch_dispatch__ (utils/_python_dispatch.py): the shell of a tensor that holds
        others (its own buffer, which gives its metadata, is not read)."""
        from .ops.creation import empty_strided
        size = tuple(size)
        if strides is None:
            strides, n = [], 1
            for s in reversed(size):
                strides.insert(0, n)
                n *= max(s, 1)
        t = _as(cls, empty_strided(size, strides, dtype=dtype, device=device))
        t._rg = bool(requires_grad)
        return t

    def _fw_primal(self, level=0):
        """A view of self without its forward-AD tangent at `level`."""
        from .autograd.forward_ad import fw_primal
        return fw_primal(self, level)

    def detach(self):
        t = _new(self.arr, self.be)
        if self._vc is None:
            self._vc = [0, 0]
        t._vc = self._vc
        return t

    def sum_to_size(self, *size):
        from .autograd.engine import sum_to_size
        if not size:
            from .ops._apply import _missing_arg
            raise _missing_arg("sum_to_size", "size")
        return sum_to_size(self, size[0] if len(size) == 1 and not isinstance(size[0], int)
                           else size)

    def detach_(self):
        if self._base is not None or type(self.arr) is NestedArray and self.arr.is_view(self):
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using "
                "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set "
                "as True, gradients are views of DDP buckets, and hence detach_() cannot be "
                "called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        self.grad_fn, self._rg = None, False
        return self

    def requires_grad_(self, requires_grad=True):
        if requires_grad is not True and requires_grad is not False:
            name = "Tensor" if isinstance(requires_grad, Tensor) else tp_name(requires_grad)
            raise TypeError(f"requires_grad_(): argument 'requires_grad' (position 1) must be "
                            f"bool, not {name}")
        if _TRANSFORMS:
            raise RuntimeError(
                "You are attempting to call Tensor.requires_grad_() (or perhaps using "
                "torch.autograd.functional.* APIs) inside of a function being transformed by a "
                "functorch transform. This is unsupported, please attempt to use the functorch "
                "transforms (e.g. grad, vjp, jacrev, jacfwd, hessian) or call requires_grad_() "
                "outside of a function being transformed instead.")
        return self._requires_grad_(requires_grad)

    def _requires_grad_(self, requires_grad=True):
        """requires_grad_ for ember's own transforms, which may run inside others."""
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you "
                               "want to use a computed variable in a subgraph that doesn't require "
                               "differentiation use var_no_grad = var.detach().")
        if requires_grad and not (self.is_floating_point() or self.is_complex()):
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if requires_grad:
            _check_inference_rg(self)
        self._rg = bool(requires_grad)
        return self

    def retain_grad(self):
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retain:
            return
        self._retain = True
        from .autograd.node import RetainGrad
        self.grad_fn.add_tensor_hook(RetainGrad(self))

    @property
    def retains_grad(self):
        return bool(self._retain)

    def register_hook(self, hook):
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        return self._edge().add_tensor_hook(hook) if self.grad_fn is not None else \
            _leaf_hook(self._leaf_node(), hook)

    def register_post_accumulate_grad_hook(self, hook):
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        return _leaf_hook(self._leaf_node(), hook, post=True)

    # ---- conversion -----------------------------------------------------------------------
    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            name = _TYPE_NAMES.get(self.dtype.name, "torch.Tensor")
            return name.replace("torch.", "torch.sparse.") if self.is_sparse else name
        if isinstance(dtype, str) and dtype.startswith("torch.cuda.") and \
                "torch." + dtype[11:] in _TYPE_OF_NAME:
            return self.to("cuda", to_dtype(_TYPE_OF_NAME["torch." + dtype[11:]]))
        if isinstance(dtype, str) and dtype in _TYPE_OF_NAME:
            return self.to(to_dtype(_TYPE_OF_NAME[dtype]))
        if isinstance(dtype, type) and hasattr(dtype, "is_cuda"):     # torch.FloatTensor & co.
            return self.to("cuda" if dtype.is_cuda else "cpu", dtype.dtype)
        if isinstance(dtype, (str, type)):      # a name or class torch does not know
            raise ValueError(f"invalid type: '{getattr(dtype, '__name__', dtype)}'")
        if not isinstance(dtype, _dtype.dtype):
            raise TypeError("dtype must be a type, str, or dtype object")
        return self.to(dtype)

    def is_inference(self):
        """Made in inference mode (or a view of such a tensor)."""
        return type(self._vc) is InferenceVersion

    def is_same_size(self, other):
        return tuple(self.shape) == tuple(other.shape)

    def is_nonzero(self):
        n = self.arr.size
        if n != 1:
            raise RuntimeError(f"Boolean value of Tensor with {'no values' if n == 0 else 'more than one value'} is ambiguous")  # noqa: E501
        return bool(self.item() != 0)

    def type_as(self, other):
        """This tensor with `other`'s dtype and device (torch's self.type(other.type()))."""
        return self.to(device=other.device, dtype=other.dtype)

    def cpu(self, memory_format=None):
        if memory_format is not None:
            return self.to("cpu", memory_format=memory_format)
        return self if self.be is CPU else self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        dev = "cuda" if device is None else (f"cuda:{device}" if isinstance(device, int)
                                             else device)
        return self.to(dev, non_blocking=non_blocking) if memory_format is None else \
            self.to(dev, non_blocking=non_blocking, memory_format=memory_format)

    # backends ember (like a CPU-only torch build) lacks: torch's errors
    def xpu(self, device=None, non_blocking=False, memory_format=None):
        raise AssertionError("Torch not compiled with XPU enabled")

    def ipu(self, device=None, non_blocking=False, memory_format=None):
        raise RuntimeError("PyTorch is not linked with support for ipu devices")

    def record_stream(self, stream):
        """Mark the tensor as used on `stream` (torch: its memory is not reused before that
        stream's work is done). CuPy's pool keeps no such record, so for a CUDA tensor this
        does nothing; torch has no such op for host tensors."""
        from ._streams import Event, Stream
        from .cuda import Stream as CudaStream
        if not isinstance(stream, (Stream, CudaStream)) or isinstance(stream, Event):
            raise RuntimeError("unknown parameter type")
        if self.be.name == "cuda":
            return None
        if self.be.name == "meta":
            raise NotImplementedError(
                "aten::record_stream: attempted to run this operator with Meta tensors, but "
                "there was no fake impl or Meta kernel registered. You may have run into this "
                "message while using an operator with PT2 compilation APIs "
                "(torch.compile/torch.export); in order to use this operator with those APIs "
                "you'll need to add a fake impl. Please see the following for next steps:  "
                "https://pytorch.org/tutorials/advanced/custom_ops_landing_page.html")
        from .backends import no_kernel
        raise NotImplementedError(no_kernel("aten::record_stream", "CPU",
                                            "the CUDA backend here"))

    def mtia(self, device=None, non_blocking=False, memory_format=None):
        raise AssertionError("Torch not compiled with MTIA enabled. Ensure you have `import "
                             "mtia.host_runtime.torch_mtia.dynamic_library` in your python src "
                             "file and include `//mtia/host_runtime/torch_mtia:torch_mtia` as "
                             "your target dependency!")

    def float(self, memory_format=None):
        return self.to(_dtype.float32) if memory_format is None else \
            self.to(_dtype.float32, memory_format=memory_format)

    def double(self, memory_format=None):
        return self.to(_dtype.float64) if memory_format is None else \
            self.to(_dtype.float64, memory_format=memory_format)

    def half(self, memory_format=None):
        return self.to(_dtype.float16) if memory_format is None else \
            self.to(_dtype.float16, memory_format=memory_format)

    def bfloat16(self, memory_format=None):
        return self.to(_dtype.bfloat16) if memory_format is None else \
            self.to(_dtype.bfloat16, memory_format=memory_format)

    def long(self, memory_format=None):
        return self.to(_dtype.int64) if memory_format is None else \
            self.to(_dtype.int64, memory_format=memory_format)

    def int(self, memory_format=None):
        return self.to(_dtype.int32) if memory_format is None else \
            self.to(_dtype.int32, memory_format=memory_format)

    def short(self, memory_format=None):
        return self.to(_dtype.int16) if memory_format is None else \
            self.to(_dtype.int16, memory_format=memory_format)

    def char(self, memory_format=None):
        return self.to(_dtype.int8) if memory_format is None else \
            self.to(_dtype.int8, memory_format=memory_format)

    def byte(self, memory_format=None):
        return self.to(_dtype.uint8) if memory_format is None else \
            self.to(_dtype.uint8, memory_format=memory_format)

    def bool(self, memory_format=None):
        return self.to(_dtype.bool_) if memory_format is None else \
            self.to(_dtype.bool_, memory_format=memory_format)

    def cfloat(self, *, memory_format=None):
        return self.to(_dtype.complex64) if memory_format is None else \
            self.to(_dtype.complex64, memory_format=memory_format)

    def cdouble(self, *, memory_format=None):
        return self.to(_dtype.complex128) if memory_format is None else \
            self.to(_dtype.complex128, memory_format=memory_format)

    def chalf(self, *, memory_format=None):
        """complex32, which ember has no arrays for: to()'s TypeError saying so."""
        return self.to(_dtype.complex32) if memory_format is None else \
            self.to(_dtype.complex32, memory_format=memory_format)

    def pin_memory(self, device=None):
        """A no-op with a GPU (CuPy copies from any host array); torch's error without one."""
        from . import cuda
        if not cuda.is_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        return self

    def is_pinned(self, device=None):
        return False

    def share_memory_(self):
        from ._storage import _share
        if self.device.type != "cuda":
            _share(self.arr)
        return self

    def is_shared(self):
        from ._storage import _is_shared
        return self.device.type == "cuda" or _is_shared(self.arr)

    def module_load(self, other, assign=False):
        """What Module.load_state_dict puts in place of this parameter or buffer when it swaps
        tensors (torch's hook for subclasses)."""
        return other.detach() if assign else self.copy_(other).detach()

    def apply_(self, callable):
        """Replace each element x by callable(x) (Python numbers; CPU tensors only)."""
        return self._map_py("apply_", callable, ())

    def map_(self, tensor, callable):
        """self[i] = callable(self[i], tensor[i]), `tensor` broadcast to self's shape."""
        return self._map_py("map_", callable, (tensor,))

    def map2_(self, x, y, callable):
        return self._map_py("map2_", callable, (x, y))

    def _map_py(self, name, fn, others):
        if self._rg:
            raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use "
                               f"var.detach().{name}() instead.")
        if self.be.name != "cpu":
            raise RuntimeError(f"{name} is only implemented on CPU tensors")
        columns = [self.arr.ravel().tolist()]
        for i, o in enumerate(others):
            if o.dtype is not self.dtype:
                arg = "other" if len(others) == 1 else "xy"[i]
                raise TypeError(f"{name}: expected {self.type()} for '{arg}' (got {o.type()})")
            columns.append(o.expand(self.shape).arr.ravel().tolist())
        self.arr[...] = np.array([fn(*v) for v in zip(*columns)],
                                 self.arr.dtype).reshape(self.arr.shape)
        bump_version(self)
        return self

    def storage(self):
        from ._storage import TypedStorage, UntypedStorage, _warn_typed_storage_removal
        _warn_typed_storage_removal()
        return TypedStorage(wrap_storage=UntypedStorage._of(self), dtype=self.dtype,
                            _internal=True)

    def storage_type(self):
        """torch.FloatStorage & co.: the legacy storage class of this tensor's dtype."""
        from ._storage import _warn_typed_storage_removal, legacy_storage_class
        _warn_typed_storage_removal()
        return legacy_storage_class(self.dtype)

    def set_(self, source=None, storage_offset=0, size=None, stride=None):
        """Make this tensor look at `source`'s memory (a tensor, or a storage viewed with
        offset, size and stride in elements); set_() with nothing: an empty tensor."""
        # (an inference tensor's version bump below refuses it outside inference mode, after
        # the write, as torch's does)
        inference = type(self._vc) is InferenceVersion
        recording = _GRAD.enabled and (self._rg or isinstance(source, Tensor) and source._rg)
        if recording and self._rg and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
        old = _new(self.arr, self.be)
        if source is None:
            arr, be = self.be.xp.empty((0,), self.arr.dtype), self.be
        elif isinstance(source, Tensor):
            arr, be = source.arr, source.be
            if source._vc is None:
                source._vc = [0, 0]
            if (type(source._vc) is InferenceVersion) is inference:  # (it keeps its kind)
                self._vc = source._vc
        else:
            untyped = _storage_source(source, self.dtype)
            item = self.arr.itemsize
            size = (untyped.nbytes() // item - storage_offset,) if size is None else tuple(size)
            if stride is None:
                stride = tuple(int(np.prod(size[i + 1:])) for i in range(len(size)))
            need = (storage_offset + sum((n - 1) * st for n, st in zip(size, stride)) + 1) * \
                item if all(size) else 0
            if need > untyped.nbytes():         # torch grows the storage to fit
                untyped.resize_(need)
            flat = untyped._flat(self.arr.dtype)
            be = get_backend(untyped.device)
            arr = be.xp.lib.stride_tricks.as_strided(
                flat[storage_offset:], size, tuple(st * flat.itemsize for st in stride))
        self.arr, self.be = arr, be
        bump_version(self)
        if recording:
            from .ops.creation import record_set
            record_set(self, old, source)
        return self

    def is_set_to(self, tensor):
        """Whether both tensors look at the same memory with the same shape and strides."""
        a, b = self.arr, tensor.arr
        return (self.data_ptr() == tensor.data_ptr() and a.shape == b.shape
                and a.strides == b.strides and self.device == tensor.device)

    def dim_order(self, *, ambiguity_check=False):
        """The dims from outermost to innermost in memory: torch's elementwise-output
        permutation (contiguous and channels-last short cuts, then an insertion sort by stride
        whose ties keep dim order). ambiguity_check (True, or a list of memory formats) raises
        torch's RuntimeError where several orders fit (a size-1 dim, or equal adjacent strides)
        and the tensor is not contiguous in exactly one of the listed formats, or where the
        sort leaves two dims unordered."""
        from ._memory_format import channels_last, memory_format
        if not isinstance(ambiguity_check, bool) and not (
                isinstance(ambiguity_check, list)
                and all(isinstance(m, memory_format) for m in ambiguity_check)):
            raise TypeError("The ambiguity_check argument must be a bool or a list of memory "
                            "formats.")
        st, shape, nd = self.stride(), self.shape, self.ndim
        if ambiguity_check is not False and (
                1 in shape or any(a == b for a, b in zip(st, st[1:]))) and sum(
                self.is_contiguous(memory_format=m) for m in (
                    ambiguity_check if isinstance(ambiguity_check, list) else ())) != 1:
            raise RuntimeError("The tensor does not have unique dim order, or cannot map to "
                               "exact one of the given memory formats.")
        if nd < 2:
            return tuple(range(nd))
        contiguous = self.is_contiguous()
        last = nd == 4 and self.is_contiguous(memory_format=channels_last)
        if contiguous and not last:
            return tuple(range(nd))
        if last and not contiguous:
            return (0, 2, 3, 1)

        def ge(a, b):
            return b == 0 or a != 0 and (a >= b or a % b == 0)

        def order(a, b):        # 1: swap, -1: in order, 0: either
            if st[a] == 0 or st[b] == 0:
                return 0
            if st[a] == st[b]:
                return 0 if ge(shape[b], shape[a]) else 1
            return -1 if ge(st[b], st[a]) else 1 if ge(st[a], st[b]) else 0

        perm = list(reversed(range(nd)))
        for i in range(1, nd):
            d1 = i
            for d0 in reversed(range(i)):
                c = order(perm[d0], perm[d1])
                if c > 0:
                    perm[d0], perm[d1] = perm[d1], perm[d0]
                    d1 = d0
                elif c < 0:
                    break
        if ambiguity_check and any(order(perm[i], perm[i + 1]) != -1 for i in range(nd - 1)):
            raise RuntimeError("The tensor does not have unique dim order.")
        return tuple(reversed(perm))

    def resize(self, *sizes):
        """Deprecated non-inplace resize: a reshape that keeps the number of elements."""
        import math
        import warnings
        warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
        sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) \
            else sizes
        if math.prod(sizes) != self.numel():
            raise RuntimeError(
                f"requested resize to {'x'.join(map(str, sizes))} ({math.prod(sizes)} elements "
                f"in total), but the given tensor has a size of "
                f"{'x'.join(map(str, self.shape))} ({self.numel()} elements). autograd's resize "
                "can only change the shape of a given tensor, while preserving the number of "
                "elements. ")
        return self.contiguous().view(tuple(sizes))

    def resize_as(self, tensor):
        import warnings
        warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return self.resize(tuple(tensor.shape))

    def to_padded_tensor(self, padding, output_size=None):
        from .nested import to_padded_tensor
        return to_padded_tensor(self, padding, output_size)

    def untyped_storage(self):
        from ._storage import UntypedStorage
        return UntypedStorage._of(self)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from .ops.creation import _from_data, _warn_copy_construct
        if isinstance(data, Tensor):
            _warn_copy_construct("tensor.new_tensor")
        return _from_data(data, dtype or self.dtype, device or self.device, requires_grad)

    def new(self, *args, device=None):
        """The legacy constructor: x.new(2, 3) or x.new(Size) is uninitialised, x.new(data)
        holds data, x.new(tensor) or x.new(storage) is a view of it; always x's dtype and
        device."""
        from .ops import creation
        if device is not None and _device(device).type != self.device.type:
            raise RuntimeError(f"legacy constructor expects device type: {self.device.type} "
                               f"but device type: {_device(device).type} was passed")
        device = device or self.device
        if len(args) == 1 and isinstance(args[0], Tensor):
            if args[0].dtype is not self.dtype:
                raise TypeError(f"expected {self.type()} (got {args[0].type()})")
            return args[0].view_as(args[0])
        if len(args) == 1 and not isinstance(args[0], (int, Size)):
            if type(args[0]).__name__ in ("UntypedStorage", "TypedStorage"):
                return Tensor(args[0], dtype=self.dtype, device=device)
            if not isinstance(args[0], (list, tuple)) and not hasattr(args[0], "__array__"):
                raise TypeError(f"new(): data must be a sequence (got "
                                f"{type(args[0]).__name__})")
            return creation.tensor(args[0], dtype=self.dtype, device=device)
        return creation.empty(*(args or (0,)), dtype=self.dtype, device=device)

    def _new_factory(name):
        def fn(self, *size, dtype=None, device=None, requires_grad=False, **kw):
            from .ops import creation
            if not size and "size" not in kw:
                from .ops._apply import _missing_arg
                raise _missing_arg(f"new_{name}", "size")
            if type(self.arr) is NestedArray:
                from .nested._ops import new_factory_check
                new_factory_check(self.arr, name, size or (kw["size"],))
            return getattr(creation, "_new_" + name if name != "full" else name)(
                *size, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad, **kw)
        fn.__name__ = "new_" + name
        return fn

    def new_empty_strided(self, size, stride, dtype=None, device=None, requires_grad=False,
                          **kw):
        from .ops.creation import empty_strided
        return empty_strided(size, stride, dtype=dtype or self.dtype,
                             device=device or self.device, requires_grad=requires_grad)

    new_zeros = _new_factory("zeros")
    new_ones = _new_factory("ones")
    new_empty = _new_factory("empty")
    new_full = _new_factory("full")
    del _new_factory


_REINFORCE_REMOVED = """reinforce() was removed.
Use torch.distributions instead.
See https://pytorch.org/docs/main/distributions.html

Instead of:

probs = policy_network(state)
action = probs.multinomial()
next_state, reward = env.step(action)
action.reinforce(reward)
action.backward()

Use:

probs = policy_network(state)
# NOTE: categorical is equivalent to what used to be called multinomial
m = torch.distributions.Categorical(probs)
action = m.sample()
next_state, reward = env.step(action)
loss = -m.log_prob(action) * reward
loss.backward()
"""
_LEAF_FLAG_ERROR = "you can only change requires_grad flags of leaf variables."
_NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad field "
    "to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you "
    "access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See "
    "github.com/pytorch/pytorch/pull/30531 for more information.")
_LEAF_FLAG_HINT = (" If you want to use a computed variable in a subgraph that doesn't require "
                   "differentiation use var_no_grad = var.detach().")


def _leaf_hook(leaf, hook, post=False):
    from .autograd.node import _HookHandle
    if post:
        fn = _PostAcc(hook)
        leaf.hooks = (leaf.hooks or []) + [fn]
        return _HookHandle(leaf, fn)
    leaf.hooks = (leaf.hooks or []) + [hook]
    return _HookHandle(leaf, hook)


class _PostAcc:
    """Marks a leaf hook that runs after accumulation, with the tensor as argument."""
    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


_TYPE_NAMES = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor",
               "float16": "torch.HalfTensor", "bfloat16": "torch.BFloat16Tensor",
               "int64": "torch.LongTensor", "int32": "torch.IntTensor",
               "int16": "torch.ShortTensor", "int8": "torch.CharTensor",
               "uint8": "torch.ByteTensor", "bool": "torch.BoolTensor",
               "complex64": "torch.ComplexFloatTensor", "complex128": "torch.ComplexDoubleTensor",
               **{n: f"torch.{C10_NAME[n]}Tensor" for n in FLOAT8}}
_TYPE_OF_NAME = {v: k for k, v in _TYPE_NAMES.items()}
_TYPE_NAMES.update({n: f"torch.quantized.{C10_NAME[n]}Tensor"        # (type() only)
                    for n in ("quint8", "qint8", "qint32", "quint4x2", "quint2x4")})


def _check_not_conj(t):
    if t.arr.dtype.kind == "c" and t.is_conj():
        raise RuntimeError("Can't call numpy() on Tensor that has conjugate bit set. Use "
                           "tensor.resolve_conj().numpy() instead.")


_NO_NUMPY = frozenset(("bfloat16", *FLOAT8, "quint8", "qint8", "qint32", "quint4x2", "quint2x4"))


def _check_numpy_dtype(t):
    """torch has no NumPy dtype for bfloat16 and the float8s (ember's arrays hold ml_dtypes'
    ones)."""
    name = t.arr.dtype.name
    if name in _NO_NUMPY:
        raise TypeError(f"Got unsupported ScalarType {C10_NAME[name]}")


def _check_inference_rg(t):
    if type(t._vc) is InferenceVersion and not _GRAD.inference:
        raise RuntimeError("Setting requires_grad=True on inference tensor outside InferenceMode "
                           "is not allowed.")


def _ptr(a):
    if hasattr(a, "__array_interface__"):
        return a.__array_interface__["data"][0]
    if type(a) is NestedArray:      # (a strided one's buffer; torch's jagged subclass has none)
        return 0 if a.meta.layout == "jagged" else _ptr(a.parts[0])
    if isinstance(a, (SparseCOO, SparseCSR, SparseCompressed)):
        raise RuntimeError(_NO_STORAGE)
    return a.data.ptr


def _no_dims(a, dim):
    """torch's size(dim) and stride(dim) of a 0-d tensor."""
    if not a.ndim:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions") from None


def _wrap_dim(dim, ndim):
    if dim.__class__ is bool:   # torch's parser takes no bool for an int: x.size(True)
        raise TypeError("argument 'dim' must be int, not bool")
    n = ndim if ndim > 0 else 1
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim + n if dim < 0 else dim


def _storage_source(source, dtype, type_name=cname):
    """The UntypedStorage behind `source` (an UntypedStorage, or a TypedStorage of `dtype`);
    `type_name` names dtype in the error (set_ prints c10's C++ name, constructors torch's)."""
    from ._storage import TypedStorage, UntypedStorage
    if isinstance(source, TypedStorage):
        if source.dtype is not dtype:
            raise RuntimeError(f"Expected a Storage of type {type_name(dtype.np)} or an "
                               f"UntypedStorage, but got type {tname(source.dtype.np)} for "
                               f"argument 1 'storage'")
        return source._untyped_storage
    if not isinstance(source, UntypedStorage):
        raise TypeError(f"set_(): argument 'source' must be Tensor or Storage, not "
                        f"{type(source).__name__}")
    return source


_REVERSE_2D = (1, 0)


def _new(arr, be):
    """Every op output is built here, never through __init__."""
    t = object.__new__(Tensor)
    t.arr, t.be, t._rg = arr, be, False
    t._grad = t.grad_fn = t._leaf = t._vc = t._base = t._retain = None
    return t


def _new_inference(arr, be):
    """_new's code while inference mode is on: the tensor is an inference tensor."""
    t = object.__new__(Tensor)
    t.arr, t.be, t._rg = arr, be, False
    t._grad = t.grad_fn = t._leaf = t._base = t._retain = None
    t._vc = new_inference_version()
    return t


_NEW_CODE = _new.__code__


def set_inference_mode(on):
    """Turn inference mode on or off. The ops bind _new at import, so its code is what switches:
    outside inference mode making a tensor costs nothing more."""
    _GRAD.inference = on
    _new.__code__ = _new_inference.__code__ if on else _NEW_CODE
    refresh_init()


_NOWRAP = {"torch.Tensor.grad.__get__", "torch.Tensor._base.__get__"}
_UNSET = object()
_SLOTS = ("arr", "be", "_rg", "_grad", "grad_fn", "_leaf", "_vc", "_base", "_retain", "_fw")


def _as(cls, t):
    """`t`'s state moved into a new `cls` object (t is fresh and not kept)."""
    if type(t) is cls:
        return t
    obj = object.__new__(cls)
    for name in _SLOTS:
        value = getattr(t, name, _UNSET)
        if value is not _UNSET:           # `_fw` is set only on tensors with a tangent
            setattr(obj, name, value)
    if t._vc is not None and len(t._vc) > 2:          # a registered view: register this one
        from .ops._apply import register_view
        register_view(t._vc, obj)
    return obj


def _init_from(t, arr, be):
    t.arr, t.be, t._rg = arr, be, False
    t._grad = t.grad_fn = t._leaf = t._base = t._retain = None
    t._vc = new_inference_version() if _GRAD.inference else None


def _rebuild_as(cls, args, state):
    t = _rebuild(*args)
    if cls is not None:
        t = _as(cls, t)
    if state:
        t.__dict__.update(state)
    return t


def _rebuild(arr, dev, requires_grad, layout=None):
    be = get_backend(dev)
    if isinstance(arr, (SparseCOO, SparseCSR, SparseCompressed, QArray)):
        t = _new(arr, be)
    else:
        arr = be.from_host(arr)
        t = _new(arr if layout is None else _strided_view(arr, *layout), be)
    t._rg = requires_grad
    return t


def _host_layout(t):
    """What a pickled tensor carries: its host array; or, for a tensor that is not C-contiguous
    but reads its whole storage (expanded, permuted), that storage with (offset, size, stride),
    as torch pickles a tensor's storage, offset and strides. A view into a larger storage goes
    as its own elements only: pickle is how DataLoader workers hand back their samples (torch's
    move the storage to shared memory), so a row of a dataset must not carry all of it."""
    arr = t.arr
    if isinstance(arr, (SparseCOO, SparseCSR, QArray)) or arr.flags.c_contiguous:
        return (t._host(),)
    from .serialization._pickler import _flat_root
    root, flat, offset, stride = _flat_root(arr, t.be.xp)
    if root is None or flat.size > arr.size:
        return (t._host(),)
    return t.be.to_host(flat), (offset, arr.shape, stride)


def _layout_copy(arr, xp, memo):
    """A copy of `arr` that keeps its storage layout, as torch's deepcopy does: the storage
    (copied once per deepcopy `memo`, so views of one storage still share theirs) viewed at
    the same offset and strides."""
    if isinstance(arr, (SparseCOO, SparseCSR, QArray)):
        return arr.copy()
    from .serialization._pickler import _flat_root
    root, flat, offset, stride = _flat_root(arr, xp)
    if root is None:
        return arr.copy()
    key = ("ember storage", id(root), arr.dtype.str)
    copied = memo.get(key)
    if copied is None:
        copied = memo[key] = flat.copy()
        memo.setdefault(id(memo), []).append(root)      # copy.deepcopy's keep-alive list
    return _strided_view(copied, offset, arr.shape, stride)


def _strided_view(flat, offset, size, stride):
    """The array a (storage offset, size, stride) tensor views over the 1-D `flat`."""
    item = flat.itemsize
    strides = tuple(s * item for s in stride)
    if isinstance(flat, np.ndarray):
        return np.ndarray(size, flat.dtype, buffer=flat, offset=offset * item, strides=strides)
    return type(flat)(size, flat.dtype, memptr=flat.data + offset * item, strides=strides)


_AUTOGRAD_FUNCTIONS = []      # ember.autograd.functions, once Tensor.backward has run


def bump_version(t, n=1):
    """Record an in-place write to `t` (and every view of its storage); `n` writes at once."""
    CLOCK[0] += n
    vc = t._vc
    if vc is None:
        t._vc = [n, CLOCK[0]]
    else:
        vc[0] += n
        vc[1] = CLOCK[0]


# type(t) prints <class 'torch.Tensor'> as in torch (instances pickle through __reduce_ex__, so
# the class is never looked up by this name)
Tensor.__module__ = "torch"


def _dim_type_error(name, dim):
    return TypeError(f"{name}(): argument 'dim' (position 1) must be int, not "
                     f"{type(dim).__name__}")


# torch's read-only Tensor attributes (C getsets), which refuse assignment with its message
_READ_ONLY = ("H", "T", "_version", "device", "dtype", "is_cpu", "is_cuda", "is_leaf", "is_meta",
              "is_nested", "is_quantized", "is_sparse", "is_sparse_csr", "itemsize", "layout",
              "mH", "mT", "nbytes", "ndim", "output_nr", "retains_grad", "shape")


def read_only_attributes():
    """Give those properties of Tensor (some bound by later modules: called once ember is
    loaded) a setter that raises torch's AttributeError."""
    for name in _READ_ONLY:
        prop = Tensor.__dict__[name]

        def fset(self, value, name=name):
            raise AttributeError(f"attribute '{name}' of 'torch._C.TensorBase' objects is not "
                                 "writable")
        setattr(Tensor, name, property(prop.fget, fset, None, prop.__doc__))
