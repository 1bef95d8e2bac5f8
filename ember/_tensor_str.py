"""Tensor printing: the text of torch's `repr(tensor)`, character for character.

The algorithm is the one of torch/_tensor_str.py, written on NumPy host arrays:
a `_Formatter` scans the (summarised) values once to choose integer / fixed / scientific notation
and a common width, then the array is laid out recursively, rows wrapped at `linewidth`, and the
`dtype=`, `device=`, `grad_fn=` ... suffixes are appended.  Elements are formatted as the Python
numbers that `tolist()` gives (exact widenings of the stored values), as torch does via `item()`.
"""
import contextlib
import dataclasses
import math

import numpy as np

from ._dtype import DEFAULT
from .autograd.node import short_name
from ._layout import strided as _STRIDED

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "format_tensor",
           "tensor_repr"]


@dataclasses.dataclass
class __PrinterOptions:  # torch's name (not mangled at module level)
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = __PrinterOptions()

# profile -> (precision, threshold, edgeitems, linewidth); unknown profiles are ignored, as in torch
_PROFILES = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """torch.set_printoptions: `sci_mode` is always reset (None lets the formatter choose)."""
    if profile in _PROFILES:
        (PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems,
         PRINT_OPTS.linewidth) = _PROFILES[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    """The current options, as keyword arguments for set_printoptions()."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Temporarily change the print options (same arguments as set_printoptions)."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Chooses the notation and the common width of every element of one real array."""

    def __init__(self, values, floating):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        if not floating:
            self.max_width = max([1] + [len(str(v)) for v in values.ravel().tolist()])
            return
        flat = values.ravel()
        if flat.dtype.name == "float8_e8m0fnu":     # torch's isfinite is true for its NaN, and
            finite = flat[flat.view(np.uint8) != 0].astype(np.float32)    # its 0 is 2**-127
        else:
            finite = flat[np.isfinite(flat) & (flat != 0)]
        if finite.size == 0:
            return
        magnitudes = np.abs(finite)
        lo, hi = float(magnitudes.min()), float(magnitudes.max())
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        precision = PRINT_OPTS.precision
        finite = finite.tolist()
        if self.sci_mode:
            widths = [len(f"{v:.{precision}e}") for v in finite]
        elif self.int_mode:  # room for the trailing "." that marks a float
            widths = [len(f"{v:.0f}") + 1 for v in finite]
        else:
            widths = [len(f"{v:.{precision}f}") for v in finite]
        self.max_width = max([self.max_width] + widths)

    def format(self, value):
        precision = PRINT_OPTS.precision
        if not self.floating:
            text = f"{value}"
        elif self.sci_mode:
            text = f"{value:.{precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if math.isfinite(value):
                text += "."
        else:
            text = f"{value:.{precision}f}"
        return text.rjust(self.max_width)


def _element_str(value, real_fmt, imag_fmt):
    if imag_fmt is None:
        return real_fmt.format(value)
    real = real_fmt.format(value.real)
    imag = (imag_fmt.format(value.imag) + "j").lstrip()
    return real + imag if imag[0] in "+-" else real + "+" + imag


def _vector_str(vec, indent, summarize, real_fmt, imag_fmt):
    element_length = real_fmt.max_width + 2  # with ", "
    if imag_fmt is not None:
        element_length += imag_fmt.max_width + 1  # with "j"
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    edge = PRINT_OPTS.edgeitems

    def fmt(values):
        return [_element_str(v, real_fmt, imag_fmt) for v in values.tolist()]

    if summarize and not edge:
        data = ["..."]
    elif summarize and vec.shape[0] > 2 * edge:
        data = fmt(vec[:edge]) + [" ..."] + fmt(vec[-edge:])
    else:
        data = fmt(vec)
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _array_str(arr, indent, summarize, real_fmt, imag_fmt):
    if arr.ndim == 0:
        return _element_str(arr.item(), real_fmt, imag_fmt)
    if arr.ndim == 1:
        return _vector_str(arr, indent, summarize, real_fmt, imag_fmt)
    n, edge = arr.shape[0], PRINT_OPTS.edgeitems
    if summarize and n > 2 * edge:
        rows = [*range(edge), None, *range(n - edge, n)]
    else:
        rows = range(n)
    slices = ["..." if i is None else
              _array_str(arr[i], indent + 1, summarize, real_fmt, imag_fmt) for i in rows]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized_data(arr):
    """The elements that a summarised print shows (the formatter only looks at these)."""
    edge = PRINT_OPTS.edgeitems
    if arr.ndim == 0:
        return arr
    if arr.ndim == 1:
        if arr.shape[0] > 2 * edge:
            return np.concatenate((arr[:edge], arr[-edge:]))
        return arr
    if not edge:
        return np.empty((0,) * arr.ndim, arr.dtype)
    n = arr.shape[0]
    rows = [*range(edge), *range(n - edge, n)] if n > 2 * edge else range(n)
    if not rows:  # a negative edgeitems: torch.stack of no rows
        raise RuntimeError("stack expects a non-empty TensorList")
    return np.stack([_summarized_data(arr[i]) for i in rows])


def _tensor_str(arr, indent, kind):
    summarize = arr.size > PRINT_OPTS.threshold
    shown = _summarized_data(arr) if summarize else arr
    if kind == "complex":
        real_fmt = _Formatter(shown.real, True)
        imag_fmt = _Formatter(shown.imag, True)
    else:
        real_fmt, imag_fmt = _Formatter(shown, kind == "float"), None
    return _array_str(arr, indent, summarize, real_fmt, imag_fmt)


def _add_suffixes(text, suffixes, indent, force_newline=False):
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1  # torch's count: 2 over the true length
    for suffix in suffixes:
        if force_newline or last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
            force_newline = False
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _dtype_kind(name):
    if name.startswith("complex"):
        return "complex"
    if name.startswith(("float", "bfloat")):
        return "float"
    return "integral"  # bool and the integer dtypes


def format_tensor(arr, dtype, *, device_str="cpu", requires_grad=False, grad_fn_name=None,
                  is_parameter=False, type_name=None, tangent=None, contents=None):
    """repr() of a tensor holding the host array `arr`, of ember dtype `dtype` (or its name).

    `is_parameter` gives nn.Parameter's repr (the "Parameter containing:" line); `type_name`
    names a Tensor subclass, which torch prints in place of `tensor`; `contents` (torch's
    `tensor_contents`) replaces the text of the values."""
    if isinstance(dtype, str):
        name, dtype_str = dtype, "torch." + dtype
    else:
        name, dtype_str = dtype.name, repr(dtype)
    arr = np.asarray(arr)
    prefix = ("tensor" if type_name is None else type_name) + "("
    indent = len(prefix)
    suffixes = []
    if device_str != "cpu":
        suffixes.append(f"device='{device_str}'")
    default_float = DEFAULT.float.name
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if name != default_float:  # no element shows the kind, so even int64 is spelled out
            suffixes.append("dtype=" + dtype_str)
        body = "[]" if contents is None else contents
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(arr.shape)}")
        if name not in (default_float, DEFAULT.complex.name, "int64", "bool"):
            suffixes.append("dtype=" + dtype_str)
        body = _tensor_str(arr, indent, _dtype_kind(name)) if contents is None else contents
    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    if tangent is not None:
        suffixes.append(f"tangent={tangent}")  # format(): a 0-d tangent prints as a number
    text = _add_suffixes(prefix + body, suffixes, indent)
    return "Parameter containing:\n" + text if is_parameter else text


def _meta_repr(t, grad_fn, contents):
    """torch's repr of a meta tensor: no values; its size, and any dtype but the default."""
    suffixes = ["device='meta'", f"size={tuple(t.arr.shape)}"]
    if t.dtype is not DEFAULT.float:
        suffixes.append(f"dtype={t.dtype!r}")
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{short_name(grad_fn.name())}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    body = "..." if contents is None else contents
    return _add_suffixes("tensor(" + body, suffixes, len("tensor("))


def _tangent(t):
    fw = getattr(t, "_fw", None)
    if fw is None:
        return None
    from .autograd.forward_ad import tangent_of
    return tangent_of(t)


def formats_as_number(t):
    """Whether format(t, spec) is format(t.item(), spec): torch's rule, a 0-d tensor of type
    exactly Tensor (a buffer is one) that is not on the meta device."""
    from ._tensor import Tensor
    from .nn.parameter import _FlaggedTensor
    return t.arr.ndim == 0 and type(t) in (Tensor, _FlaggedTensor) and t.be.name != "meta"


def tensor_repr(t, contents=None):
    """Tensor.__repr__ of an ember Tensor (nn.Parameter.__repr__ adds its own first line);
    `contents` is torch's `tensor_contents`, a text printed in place of the values."""
    cls = type(t)
    # Tensor, Parameter, ...: torch's `tensor(` (a user's subclass prints its own name)
    plain = cls.__module__.startswith("ember.") or cls.__module__ == "torch"
    grad_fn = t.grad_fn
    if t.be.name == "meta":
        return _meta_repr(t, grad_fn, contents)
    if t.is_nested:
        return nested_repr(t)
    if t.layout is not _STRIDED:
        return _sparse_repr(t, grad_fn, contents)
    if t.is_quantized:
        from ._quantized import quantized_repr
        return quantized_repr(t, None if grad_fn is None else short_name(grad_fn.name()),
                              contents)
    text = format_tensor(t.be.to_host(t.arr), t.dtype, device_str=str(t.device),
                         requires_grad=t.requires_grad,
                         grad_fn_name=None if grad_fn is None else short_name(grad_fn.name()),
                         type_name=None if plain else cls.__name__,
                         tangent=_tangent(t), contents=contents)
    if not plain:
        from .nn.parameter import Parameter
        if isinstance(t, Parameter):
            text = f"Parameter({text})"
    return text


def _sparse_part(arr, name, indent):
    """`indices=tensor([[...]])` / `values=tensor([...])` inside a sparse tensor's repr."""
    prefix = name + "=tensor("
    if arr.size == 0:
        return f"{prefix}[], size={tuple(arr.shape)})"
    from ._dtype import OF_NP
    kind = _dtype_kind(OF_NP[arr.dtype.num].name)
    return prefix + _tensor_str(arr, indent + len(prefix), kind) + ")"


def _sparse_repr(t, grad_fn, contents):
    """torch's repr of a sparse tensor: its index arrays and values, then size, nnz, dtype,
    layout and the autograd suffixes (for COO the first on a new line)."""
    s, indent = t.arr, len("tensor(")
    coo = t.is_sparse
    if coo:
        parts = (("indices", s.indices), ("values", s.values))
    elif t.is_sparse_csr:
        parts = (("crow_indices", s.crow), ("col_indices", s.col), ("values", s.values))
    else:           # CSC, BSR, BSC
        from ._sparse_compressed import INDEX_NAMES
        names = INDEX_NAMES[s.layout]
        parts = ((names[0], s.compressed), (names[1], s.plain), ("values", s.values))
    suffixes = []
    if str(t.device) != "cpu":
        suffixes.append(f"device='{t.device}'")
    suffixes += [f"size={tuple(s.shape)}", f"nnz={s.nnz}"]
    if t.dtype.name not in (DEFAULT.float.name, DEFAULT.complex.name, "int64", "bool"):
        suffixes.append(f"dtype={t.dtype!r}")
    body = contents if contents is not None else (",\n" + " " * indent).join(
        _sparse_part(np.asarray(t.be.to_host(a)), name, indent) for name, a in parts)
    suffixes.append(f"layout={t.layout!r}")
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{short_name(grad_fn.name())}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes("tensor(" + body, suffixes, indent, force_newline=coo)


def nested_repr(t):
    """torch's repr of a nested tensor: a strided one lists its components (each printed as a
    tensor requiring grad when it does), a jagged one (torch's NestedTensor) its size and
    offsets."""
    a, grad_fn = t.arr, t.grad_fn
    if a.meta.layout == "jagged":
        size = "(" + ", ".join(map(str, a.shape)) + ")"
        tail = f", requires_grad={t.requires_grad}" if t.requires_grad else ""
        if grad_fn is not None:
            tail = f", grad_fn={grad_fn!r}"
        return (f"NestedTensor(size={size}, offsets={a.meta.offsets!r}{tail}, "
                f"contiguous={a.flags.c_contiguous})")
    from ._dtype import OF_NP
    parts = [format_tensor(p, OF_NP[p.dtype.num], device_str="cpu", requires_grad=t.requires_grad,
                           grad_fn_name=None, type_name=None, tangent=None, contents=None)
             for p in a.parts]
    body = ",\n".join("\n".join("  " + line for line in p.split("\n")) for p in parts)
    tail = ""
    if grad_fn is not None:
        tail = f", grad_fn=<{short_name(grad_fn.name())}>"
    elif t.requires_grad:
        tail = ", requires_grad=True"
    return f"nested_tensor([\n{body}\n]{tail})"
