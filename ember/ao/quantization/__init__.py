"""torch.ao.quantization: observers, fake quantization, qconfigs and the eager mode passes
(fuse_modules, prepare, convert, quantize, quantize_dynamic)."""
from .fake_quantize import (FakeQuantize, FakeQuantizeBase,  # noqa: F401
                            default_fake_quant, default_per_channel_weight_fake_quant,
                            default_weight_fake_quant, disable_fake_quant, disable_observer,
                            enable_fake_quant, enable_observer)
from .observer import (HistogramObserver, MinMaxObserver,  # noqa: F401
                       MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver,
                       ObserverBase,
                       PerChannelMinMaxObserver, PlaceholderObserver,
                       UniformQuantizationObserverBase, default_dynamic_quant_observer,
                       default_histogram_observer, default_observer, default_per_channel_weight_observer,
                       default_weight_observer)
from .qconfig import (QConfig, default_dynamic_qconfig, default_per_channel_qconfig,  # noqa: F401
                      default_qat_qconfig, default_qconfig, get_default_qconfig,
                      per_channel_dynamic_qconfig)
from .stubs import DeQuantStub, QuantStub, QuantWrapper  # noqa: F401
from .fuse_modules import fuse_modules  # noqa: F401,E402
from .quantization_mappings import (get_default_dynamic_quant_module_mappings,  # noqa: F401
                                    get_default_qconfig_propagation_list,
                                    get_default_static_quant_module_mappings)
from .quantize import (add_quant_dequant, convert, prepare, propagate_qconfig_,  # noqa: F401
                       quantize, quantize_dynamic, swap_module)
