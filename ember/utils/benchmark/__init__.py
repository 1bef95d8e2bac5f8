"""ember.utils.benchmark (torch.utils.benchmark): Timer, Measurement and Compare, as torch's, for
timing ember code. Not here: the C++ timer, Callgrind statistics and the Fuzzer."""
from .common import (Measurement, TaskSpec, ordered_unique, select_unit, set_torch_threads,
                     trim_sigfig, unit_to_english)
from .compare import Colorize, Compare
from .timer import Language, Timer, timer

__all__ = ["Colorize", "Compare", "Language", "Measurement", "TaskSpec", "Timer",
           "ordered_unique", "select_unit", "set_torch_threads", "timer", "trim_sigfig",
           "unit_to_english"]
