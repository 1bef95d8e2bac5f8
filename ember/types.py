"""torch.types: the type aliases torch's signatures use (`Number`, `Device`, `_size`, ...), for
annotations in user code."""
import os
from builtins import (bool as _bool, bytes as _bytes, complex as _complex,  # noqa: F401
                      float as _float, int as _int, str as _str)
from collections.abc import Sequence
from typing import IO, Union

from . import Size, SymBool, SymFloat, SymInt, Tensor  # noqa: F401
from . import device as _device, dtype as _dtype, layout as _layout  # noqa: F401
from ._storage import TypedStorage, UntypedStorage

__all__ = ["Number", "Device", "FileLike", "Storage"]

_TensorOrTensors = Union[Tensor, Sequence[Tensor]]
_TensorOrOptionalTensors = Union[Tensor, Sequence[Union[Tensor, None]]]
_size = Union[Size, list[int], tuple[int, ...]]
_symsize = Union[Size, Sequence[Union[int, SymInt]]]
IntLikeType = Union[int, SymInt]
FloatLikeType = Union[float, SymFloat]
BoolLikeType = Union[bool, SymBool]
py_sym_types = (SymInt, SymFloat, SymBool)
PySymType = Union[SymInt, SymFloat, SymBool]
Number = Union[int, float, bool]
_Number = (int, float, bool)
FileLike = Union[str, os.PathLike, IO[bytes]]
Device = Union[_device, str, int, None]
Storage = Union[UntypedStorage, TypedStorage]
