"""torch.ao.quantization.quantize: eager mode quantization. propagate_qconfig_ hands each
module its qconfig, prepare attaches activation observers (run by forward hooks), prepare_qat
first swaps float modules for QAT ones (fake-quantized weights), convert swaps observed float
(or QAT) modules for quantized ones; quantize_dynamic converts Linear and recurrent layers to
modules that quantize their activations per call."""
import copy
import itertools
import warnings

import ember as torch
from ember import nn
from ember.ao.nn import intrinsic as nni, quantized as nnq

from .observer import ObserverBase
from .qconfig import default_dynamic_qconfig
from .quantization_mappings import (get_default_dynamic_quant_module_mappings,
                                    get_default_qat_module_mappings,
                                    get_default_qconfig_propagation_list,
                                    get_default_static_quant_module_mappings)
from .stubs import DeQuantStub, QuantWrapper

DEPRECATION_WARNING = (
    "torch.ao.quantization is deprecated and will be removed in 2.10. \n"
    "For migrations of users: \n"
    "1. Eager mode quantization (torch.ao.quantization.quantize, "
    "torch.ao.quantization.quantize_dynamic), please migrate to use torchao eager mode "
    "quantize_ API instead \n"
    "2. FX graph mode quantization (torch.ao.quantization.quantize_fx.prepare_fx,"
    "torch.ao.quantization.quantize_fx.convert_fx, please migrate to use torchao pt2e "
    "quantization API instead (prepare_pt2e, convert_pt2e) \n"
    "3. pt2e quantization has been migrated to torchao "
    "(https://github.com/pytorch/ao/tree/main/torchao/quantization/pt2e) \n"
    "see https://github.com/pytorch/ao/issues/2259 for more details")


def _deprecated():
    warnings.warn(DEPRECATION_WARNING, DeprecationWarning, stacklevel=3)


def _is_activation_post_process(module):
    from .fake_quantize import FakeQuantizeBase
    return isinstance(module, (ObserverBase, FakeQuantizeBase))


def _propagate_qconfig_helper(module, qconfig_dict, qconfig_parent=None, prefix=""):
    module_qconfig = qconfig_dict.get(type(module), qconfig_parent)
    module_qconfig = qconfig_dict.get(prefix, module_qconfig)
    module.qconfig = getattr(module, "qconfig", module_qconfig)
    for name, child in module.named_children():
        _propagate_qconfig_helper(child, qconfig_dict, module.qconfig,
                                  prefix + "." + name if prefix else name)


def propagate_qconfig_(module, qconfig_dict=None, prepare_custom_config_dict=None):
    """Give every submodule a qconfig: its own, else its type's or name's in qconfig_dict,
    else its parent's."""
    _propagate_qconfig_helper(module, qconfig_dict or {})


def _observer_forward_hook(self, input, output):
    return self.activation_post_process(output)


def _observer_forward_pre_hook(self, input):
    return self.activation_post_process(input[0])


def _activation_is_memoryless(qconfig):
    act = qconfig.activation()
    act = getattr(act, "activation_post_process", act)
    return getattr(act, "averaging_constant", None) == 1


def _add_observer_(module, qconfig_propagation_list=None, non_leaf_module_list=None):
    """Attach `activation_post_process` observers (and the hooks that run them) to the leaf
    modules of the propagation list, fused modules and FloatFunctional."""
    if qconfig_propagation_list is None:
        qconfig_propagation_list = get_default_qconfig_propagation_list()

    def needs_observation(m):
        return getattr(m, "qconfig", None) is not None

    def insert_activation_post_process(m):
        if needs_observation(m) and not isinstance(m, DeQuantStub):
            m.add_module("activation_post_process", m.qconfig.activation())
            if _activation_is_memoryless(m.qconfig):
                m.register_forward_pre_hook(_observer_forward_pre_hook, prepend=True)
            else:
                m.register_forward_hook(_observer_forward_hook, prepend=True)

    for name, child in module.named_children():
        if type(child) is nn.Dropout:
            continue
        if issubclass(type(child), (nnq.FloatFunctional, nnq.QFunctional)):
            if needs_observation(child):
                child.activation_post_process = child.qconfig.activation()
        elif isinstance(child, nni._FusedModule) or (
                non_leaf_module_list is not None and type(child) in non_leaf_module_list):
            if needs_observation(child):
                insert_activation_post_process(child)
        else:
            _add_observer_(child, qconfig_propagation_list, non_leaf_module_list)
    if not isinstance(module, nn.Sequential) and type(module) in qconfig_propagation_list and \
            (not module._modules or hasattr(module, "weight_fake_quant")):
        insert_activation_post_process(module)


def add_quant_dequant(module):
    """Wrap each leaf module with a qconfig in a QuantWrapper."""
    if not module._modules and getattr(module, "qconfig", None):
        return QuantWrapper(module)
    for name, child in module.named_children():
        module._modules[name] = add_quant_dequant(child)
    return module


def prepare(model, inplace=False, allow_list=None, observer_non_leaf_module_list=None,
            prepare_custom_config_dict=None):
    """The model (a copy unless inplace) with observers on the modules to quantize, ready for
    calibration."""
    _deprecated()
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model, qconfig_dict=None)
    if not any(getattr(m, "qconfig", None) for m in model.modules()):
        warnings.warn("None of the submodule got qconfig applied. Make sure you passed correct "
                      "configuration through `qconfig_dict` or by assigning the `.qconfig` "
                      "attribute directly on submodules", stacklevel=2)
    _add_observer_(model, allow_list or get_default_qconfig_propagation_list(),
                   observer_non_leaf_module_list)
    return model


def prepare_qat(model, mapping=None, inplace=False):
    """The model (a copy unless inplace; in training mode) with its modules swapped for QAT
    ones (fake-quantized weights) and fake quantize modules on their outputs, ready for
    quantization-aware training."""
    _deprecated()
    if not model.training:
        raise AssertionError("prepare_qat only works on models in training mode")
    if mapping is None:
        mapping = get_default_qat_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model, qconfig_dict=None)
    convert(model, mapping=mapping, inplace=True, remove_qconfig=False)
    prepare(model, observer_non_leaf_module_list=set(mapping.values()), inplace=True)
    return model


def quantize_qat(model, run_fn, run_args, inplace=False):
    """prepare_qat, run_fn(model, *run_args) to train, convert."""
    _deprecated()
    if not inplace:
        model = copy.deepcopy(model)
    model.train()
    prepare_qat(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, inplace=True)
    return model


def _remove_activation_post_process(module):
    if hasattr(module, "activation_post_process") and \
            _is_activation_post_process(module.activation_post_process):
        delattr(module, "activation_post_process")
    for hooks, fn in ((module._forward_pre_hooks, _observer_forward_pre_hook),
                      (module._forward_hooks, _observer_forward_hook)):
        for handle_id in [k for k, h in hooks.items() if h is fn]:
            hooks.pop(handle_id)


def _remove_qconfig(module):
    for child in module.children():
        _remove_qconfig(child)
    if hasattr(module, "qconfig"):
        del module.qconfig
    _remove_activation_post_process(module)


def quantize(model, run_fn, run_args, mapping=None, inplace=False):
    """prepare, run_fn(model, *run_args) to calibrate, convert."""
    _deprecated()
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    prepare(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, mapping or get_default_static_quant_module_mappings(), inplace=True)
    return model


def quantize_dynamic(model, qconfig_spec=None, dtype=torch.qint8, mapping=None, inplace=False):
    """The model (a copy unless inplace) with its Linear and recurrent layers (those of
    qconfig_spec, a set of classes or a {class or name: qconfig} dict) dynamically
    quantized."""
    _deprecated()
    if dtype is not torch.qint8:
        raise NotImplementedError(f"ember: quantize_dynamic supports dtype=torch.qint8 only, "
                                  f"got {dtype}")
    if qconfig_spec is None:
        qconfig_spec = {nn.Linear: default_dynamic_qconfig, nn.LSTM: default_dynamic_qconfig,
                        nn.GRU: default_dynamic_qconfig, nn.LSTMCell: default_dynamic_qconfig,
                        nn.RNNCell: default_dynamic_qconfig, nn.GRUCell: default_dynamic_qconfig}
    elif isinstance(qconfig_spec, set):
        qconfig_spec = dict(zip(qconfig_spec, itertools.repeat(default_dynamic_qconfig)))
    if mapping is None:
        mapping = get_default_dynamic_quant_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    propagate_qconfig_(model, qconfig_spec)
    convert(model, mapping, inplace=True)
    return model


def convert(module, mapping=None, inplace=False, remove_qconfig=True, is_reference=False,
            convert_custom_config_dict=None, use_precomputed_fake_quant=False):
    """The module (a copy unless inplace) with each observed module swapped for its quantized
    counterpart in mapping (by default the static one)."""
    _deprecated()
    if is_reference:
        raise NotImplementedError("ember: reference quantized modules are not supported")
    if not inplace:
        module = copy.deepcopy(module)
    _convert(module, mapping or get_default_static_quant_module_mappings(),
             use_precomputed_fake_quant)
    if remove_qconfig:
        _remove_qconfig(module)
    return module


def _convert(module, mapping, use_precomputed_fake_quant=False):
    reassign = {}
    for name, mod in module.named_children():
        if not isinstance(mod, nni._FusedModule):
            _convert(mod, mapping, use_precomputed_fake_quant)
        reassign[name] = swap_module(mod, mapping, {}, use_precomputed_fake_quant)
    for key, value in reassign.items():
        module._modules[key] = value
    return module


def swap_module(mod, mapping, custom_module_class_mapping, use_precomputed_fake_quant=False):
    """mod's quantized counterpart (made by from_float, keeping mod's hooks other than the
    observer's), or mod itself."""
    if getattr(mod, "qconfig", None) is None or type(mod) not in mapping:
        return mod
    new_mod = mapping[type(mod)].from_float(
        mod, use_precomputed_fake_quant=use_precomputed_fake_quant)
    for pre_hook_fn in mod._forward_pre_hooks.values():
        new_mod.register_forward_pre_hook(pre_hook_fn)
    for hook_fn in mod._forward_hooks.values():
        if hook_fn is not _observer_forward_hook:
            new_mod.register_forward_hook(hook_fn)
    return new_mod
