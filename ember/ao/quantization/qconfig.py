"""torch.ao.quantization.qconfig: which observer (or fake quantize) classes a layer's
activations and weights get."""
from collections import namedtuple

import ember as torch

from .fake_quantize import (FakeQuantize, FusedMovingAvgObsFakeQuantize,
                            default_embedding_fake_quant, default_fake_quant,
                            default_fused_act_fake_quant, default_fused_per_channel_wt_fake_quant,
                            default_fused_wt_fake_quant, default_per_channel_weight_fake_quant,
                            default_weight_fake_quant)
from .observer import (HistogramObserver, MovingAverageMinMaxObserver, NoopObserver,
                       PlaceholderObserver, default_dynamic_quant_observer,
                       default_float_qparams_observer, default_observer,
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
default_qat_qconfig_v2 = QConfig(activation=default_fused_act_fake_quant,
                                 weight=default_fused_wt_fake_quant)
default_per_channel_qconfig = QConfig(activation=default_observer,
                                      weight=default_per_channel_weight_observer)
default_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                  weight=default_weight_observer)
per_channel_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                      weight=default_per_channel_weight_observer)
float_qparams_weight_only_qconfig = QConfig(activation=PlaceholderObserver,
                                            weight=default_float_qparams_observer)
default_embedding_qat_qconfig = QConfig(activation=NoopObserver.with_args(dtype=torch.float32),
                                        weight=default_embedding_fake_quant)


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


def get_default_qat_qconfig(backend="x86", version=1):
    """The default quantization-aware training qconfig of a backend: moving-average fake
    quantization of the activations (7-bit for fbgemm and x86), per-channel weights (per
    tensor for qnnpack); version 1 with the fused observer and fake quantize modules."""
    supported_backends = ["fbgemm", "x86", "qnnpack", "onednn"]
    if backend not in supported_backends:
        raise AssertionError("backend: " + str(backend) + " not supported. backend must be one "
                             f"of {supported_backends}")
    if version not in (0, 1):
        raise AssertionError("Version number: " + str(version) + "in get_default_qat_qconfig "
                             "is not supported. Version number must be 0 or 1")
    fake_quant = FakeQuantize if version == 0 else FusedMovingAvgObsFakeQuantize
    if version == 0:
        weight = default_weight_fake_quant if backend == "qnnpack" else \
            default_per_channel_weight_fake_quant
    else:
        weight = default_fused_wt_fake_quant if backend == "qnnpack" else \
            default_fused_per_channel_wt_fake_quant
    act_kwargs = {"observer": MovingAverageMinMaxObserver, "quant_min": 0, "quant_max": 255}
    if backend != "onednn":
        act_kwargs["reduce_range"] = backend != "qnnpack"
    return QConfig(activation=fake_quant.with_args(**act_kwargs), weight=weight)
