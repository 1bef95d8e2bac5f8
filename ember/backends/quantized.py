"""torch.backends.quantized: which engine runs the quantized kernels. ember computes as torch's
x86 engine (the default) and fbgemm (the same but for convolutions, which x86 gives oneDNN);
qnnpack's and oneDNN's own kernels round differently and are not here."""
import sys
import types

_ENGINES = ("qnnpack", "onednn", "x86", "fbgemm")
_STATE = {"engine": "x86"}


class QuantizedEngine(types.ModuleType):
    @property
    def engine(self):
        return _STATE["engine"]

    @engine.setter
    def engine(self, val):
        if val not in _ENGINES:
            raise RuntimeError(f"{val} is not a valid value for quantized engine")
        if val in ("qnnpack", "onednn"):
            raise NotImplementedError(f"ember: the {val} quantized engine's kernels are not "
                                      "implemented (x86 and fbgemm are)")
        _STATE["engine"] = val

    @property
    def supported_engines(self):
        return list(_ENGINES)


sys.modules[__name__].__class__ = QuantizedEngine
