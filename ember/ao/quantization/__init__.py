"""torch.ao.quantization: observers, fake quantization, qconfigs and the eager mode passes
(fuse_modules, prepare, convert, quantize, quantize_dynamic) and quantization-aware training
(fuse_modules_qat, prepare_qat, quantize_qat)."""
from .fake_quantize import (FakeQuantize, FakeQuantizeBase,  # noqa: F401
                            FusedMovingAvgObsFakeQuantize, default_embedding_fake_quant,
                            default_fake_quant, default_fused_act_fake_quant,
                            default_fused_per_channel_wt_fake_quant, default_fused_wt_fake_quant,
                            default_per_channel_weight_fake_quant, default_weight_fake_quant,
                            disable_fake_quant, disable_observer, enable_fake_quant,
                            enable_observer)
from .observer import (HistogramObserver, MinMaxObserver,  # noqa: F401
                       MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver,
                       NoopObserver, ObserverBase, PerChannelMinMaxObserver,
                       PlaceholderObserver, UniformQuantizationObserverBase,
                       default_dynamic_quant_observer, default_float_qparams_observer,
                       default_histogram_observer, default_observer,
                       default_per_channel_weight_observer, default_weight_observer)
from .qconfig import (QConfig, default_dynamic_qconfig, default_embedding_qat_qconfig,  # noqa: F401
                      default_per_channel_qconfig, float_qparams_weight_only_qconfig,
                      default_qat_qconfig, default_qat_qconfig_v2, default_qconfig,
                      get_default_qat_qconfig, get_default_qconfig,
                      per_channel_dynamic_qconfig)
from .stubs import DeQuantStub, QuantStub, QuantWrapper  # noqa: F401
from .fuse_modules import fuse_modules, fuse_modules_qat  # noqa: F401,E402
from .quantization_mappings import (get_default_dynamic_quant_module_mappings,  # noqa: F401
                                    get_embedding_qat_module_mappings,
                                    get_default_qat_module_mappings,
                                    get_default_qconfig_propagation_list,
                                    get_default_static_quant_module_mappings)
from .quantize import (add_quant_dequant, convert, prepare, prepare_qat,  # noqa: F401
                       propagate_qconfig_, quantize, quantize_dynamic, quantize_qat,
                       swap_module)
