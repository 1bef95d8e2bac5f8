"""torch.ao.quantization.qconfig: which observer (or fake quantize) classes a layer's
activations and weights get."""
from collections import namedtuple

from .fake_quantize import default_fake_quant, default_weight_fake_quant
from .observer import (HistogramObserver, default_dynamic_quant_observer, default_observer,
                       default_per_channel_weight_observer, default_weight_observer)


class QConfig(namedtuple("QConfig", ["activation", "weight"])):
    """(activation, weight): observer classes or factories, never instances."""
    __slots__ = ()

    def __new__(cls, activation, weight):
        from ember.nn import Module
        if isinstance(activation, Module) or isinstance(weight, Module):
            raise ValueError("QConfig received observer instance, please pass observer class "
                             "instead. Use MyObserver.with_args(x=1) to override arguments to "
                             "constructor if needed")
        return super().__new__(cls, activation, weight)


default_qconfig = QConfig(activation=default_observer, weight=default_weight_observer)
default_qat_qconfig = QConfig(activation=default_fake_quant, weight=default_weight_fake_quant)
default_per_channel_qconfig = QConfig(activation=default_observer,
                                      weight=default_per_channel_weight_observer)
default_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                  weight=default_weight_observer)
per_channel_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                      weight=default_per_channel_weight_observer)


def get_default_qconfig(backend="x86", version=0):
    """The default post-training qconfig of a backend: histogram-observed activations (7-bit
    for fbgemm and x86), per-channel weights (per tensor for qnnpack)."""
    supported_backends = ["fbgemm", "x86", "qnnpack", "onednn"]
    if backend not in supported_backends:
        raise AssertionError("backend: " + str(backend) + " not supported. backend must be one "
                             f"of {supported_backends}")
    if version != 0:
        raise AssertionError("Version number: " + str(version) + " in get_default_qconfig is "
                             "not supported. Version number must be 0")
    if backend == "qnnpack":
        return QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                       weight=default_weight_observer)
    return QConfig(activation=HistogramObserver.with_args(reduce_range=backend != "onednn"),
                   weight=default_per_channel_weight_observer)
