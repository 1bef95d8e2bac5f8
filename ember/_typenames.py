"""Names of Python types as torch prints them in messages: ember's modules under torch's name
(ember.nn.modules.linear.Linear -> torch.nn.modules.linear.Linear) and ember's classes for
torch's C types under theirs (torch.dtype, torch.Size)."""

C_TYPES = {"dtype": "torch.dtype", "Size": "torch.Size", "device": "torch.device",
           "layout": "torch.layout", "memory_format": "torch.memory_format",
           "Generator": "torch._C.Generator", "finfo": "torch.finfo", "iinfo": "torch.iinfo"}


def torch_module(module):
    """`module` with ember's package named torch."""
    if module == "ember" or module.startswith("ember."):
        return "torch" + module[5:]
    return module


def qualified(module, qualname):
    """torch.typename's `module.qualname` (bare for builtins), ember's classes named as torch's."""
    if not module or module == "builtins":
        return qualname
    if module.startswith("ember") and qualname in C_TYPES:
        return C_TYPES[qualname]
    return f"{torch_module(module)}.{qualname}"


def type_qualified(obj):
    """qualified() of obj's type."""
    tp = type(obj)
    return qualified(getattr(tp, "__module__", "") or "", tp.__qualname__)


_HEAPTYPE = 1 << 9     # Py_TPFLAGS_HEAPTYPE: a class defined in Python


def tp_name(obj):
    """The C tp_name of obj's type, which torch's C++ messages print: a class defined in Python
    or a builtin bare (Linear, int), other C types qualified (numpy.ndarray), ember's classes
    for torch's C types as those (torch.device)."""
    tp = type(obj)
    if tp.__module__.startswith("ember") and tp.__name__ in C_TYPES:
        return C_TYPES[tp.__name__]
    if tp.__flags__ & _HEAPTYPE or tp.__module__ == "builtins":
        return tp.__name__
    return f"{tp.__module__}.{tp.__qualname__}"
