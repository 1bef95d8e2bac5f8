"""Warnings that point where torch's C++ warnings do: at the first frame outside ember (a C++
warning lands on the Python line that called into torch), and torch's TORCH_WARN_ONCE."""
import os
import sys
import warnings

_ROOT = os.path.dirname(os.path.abspath(__file__)) + os.sep
GIVEN = set()       # the keys warn_once has warned for, once each per process
ALWAYS = [False]    # torch.set_warn_always: once-a-process warnings warn every time


def outside_stacklevel():
    """The warnings.warn stacklevel, for a warn in the caller of this function, that lands on
    the first frame outside ember (past __torch_function__ dispatch and other wrappers)."""
    f, level = sys._getframe(2), 2      # 2: the caller of the function that warns
    while f is not None and f.f_code.co_filename.startswith(_ROOT):
        f, level = f.f_back, level + 1
    return level


def warn_once(message, key=None, category=UserWarning, stacklevel=None, always=True):
    """torch's TORCH_WARN_ONCE: warn the first time only for each key (by default the message),
    at the first frame outside ember; a stacklevel counts from warn_once's caller instead, as
    warnings.warn's does. `always=False`: a once-a-process warning of torch's Python code,
    which set_warn_always does not reach."""
    key = message if key is None else key
    if key not in GIVEN or always and ALWAYS[0]:
        if not (always and ALWAYS[0]):  # (torch's: a warning given under warn_always leaves
            GIVEN.add(key)              # its once-a-process flag unset)
        warnings.warn(message, category, stacklevel=outside_stacklevel() if stacklevel is None
                      else stacklevel + 1)
