"""Warnings from nn.functional's implementation files that point where torch's point: at the
first frame outside those files (torch warns with stacklevel=2 from torch/nn/functional.py; ember
reaches the same code through helpers and wrappers, such as the complex-input guard, whose
frames a fixed stacklevel would land in)."""
import os
import sys
import warnings

_HERE = os.path.dirname(os.path.abspath(__file__))
# autocast's argument-casting wrappers and the __torch_function__ dispatchers (installed once a
# Tensor subclass exists) are transparent too
_WRAPPERS = (os.path.join(os.path.dirname(_HERE), "amp", "autocast.py"),
             os.path.join(os.path.dirname(_HERE), "_torch_function.py"))


def warn_caller(message, category=UserWarning):
    f, level = sys._getframe(1), 2      # stacklevel 2: the frame that called warn_caller
    while f is not None and (os.path.dirname(f.f_code.co_filename) == _HERE or
                             f.f_code.co_filename in _WRAPPERS):
        f, level = f.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
