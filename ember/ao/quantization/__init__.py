"""torch.ao.quantization's observers, fake quantization modules and qconfigs, as QAT code uses
them (the eager prepare/convert passes and the quantized modules are not here)."""
from .fake_quantize import (FakeQuantize, FakeQuantizeBase,  # noqa: F401
                            default_fake_quant, default_per_channel_weight_fake_quant,
                            default_weight_fake_quant, disable_fake_quant, disable_observer,
                            enable_fake_quant, enable_observer)
from .observer import (MinMaxObserver, MovingAverageMinMaxObserver,  # noqa: F401
                       MovingAveragePerChannelMinMaxObserver, ObserverBase,
                       PerChannelMinMaxObserver, UniformQuantizationObserverBase,
                       default_observer, default_per_channel_weight_observer,
                       default_weight_observer)
from .qconfig import QConfig, default_qat_qconfig, default_qconfig  # noqa: F401
