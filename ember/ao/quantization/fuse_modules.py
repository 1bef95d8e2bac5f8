"""torch.ao.quantization.fuse_modules: runs of modules (conv-bn, conv-bn-relu, conv-relu,
linear-bn, linear-relu, bn-relu, conv_transpose-bn; convolutions of 1, 2 or 3 dims) replaced
by one fused module, the rest of the run by Identity; in eval mode the batch norm is folded
into the convolution's weight and bias."""
import copy

from ember import nn
from ember.ao.nn import intrinsic as nni


def _same_mode(*mods):
    if len({m.training for m in mods}) > 1:
        raise AssertionError("Conv and BN both must be in the same mode (train or eval).")


def _trainable_bn(conv, bn, end):
    """torch's checks of a batch norm that QAT fusion keeps training."""
    if bn.num_features != conv.out_channels:
        raise AssertionError("Output channel of Conv2d must match num_features of BatchNorm2d"
                             + end)
    if not bn.affine:
        raise AssertionError("Only support fusing BatchNorm2d with affine set to True")
    if not bn.track_running_stats:
        raise AssertionError("Only support fusing BatchNorm2d with tracking_running_stats set "
                             "to True")


def _fused(fused, mods, mode):
    cls = fused.get(type(mods[0]))
    if cls is None:
        raise NotImplementedError(f"Cannot fuse {mode} modules: {mods}")
    return cls(*mods)


def fuse_conv_bn(is_qat, conv, bn):
    _same_mode(conv, bn)
    if is_qat:
        _trainable_bn(conv, bn, ".")
        return _fused({nn.Conv1d: nni.ConvBn1d, nn.Conv2d: nni.ConvBn2d,
                       nn.Conv3d: nni.ConvBn3d}, (conv, bn), "train")
    return nn.utils.fuse_conv_bn_eval(conv, bn)


def fuse_conv_bn_relu(is_qat, conv, bn, relu):
    _same_mode(conv, bn, relu)
    if is_qat:
        _trainable_bn(conv, bn, "")
        return _fused({nn.Conv1d: nni.ConvBnReLU1d, nn.Conv2d: nni.ConvBnReLU2d,
                       nn.Conv3d: nni.ConvBnReLU3d}, (conv, bn, relu), "train")
    return _fused({nn.Conv1d: nni.ConvReLU1d, nn.Conv2d: nni.ConvReLU2d,
                   nn.Conv3d: nni.ConvReLU3d},
                  (nn.utils.fusion.fuse_conv_bn_eval(conv, bn), relu), "eval")


def fuse_linear_bn(is_qat, linear, bn):
    if linear.training != bn.training:
        raise AssertionError("Linear and BN both must be in the same mode (train or eval).")
    if is_qat:
        if bn.num_features != linear.out_features:
            raise AssertionError("Output features of Linear must match num_features of "
                                 "BatchNorm1d")
        if not bn.affine:
            raise AssertionError("Only support fusing BatchNorm1d with affine set to True")
        if not bn.track_running_stats:
            raise AssertionError("Only support fusing BatchNorm1d with tracking_running_stats "
                                 "set to True")
        return nni.LinearBn1d(linear, bn)
    return nn.utils.fusion.fuse_linear_bn_eval(linear, bn)


def fuse_convtranspose_bn(is_qat, convt, bn):
    if convt.training != bn.training:
        raise AssertionError("ConvTranspose and BN both must be in the same mode (train or "
                             "eval).")
    if is_qat:
        raise Exception("Fusing ConvTranspose+BatchNorm not yet supported in QAT.")
    return nn.utils.fusion.fuse_conv_bn_eval(convt, bn, transpose=True)


def _pair_of(fused):
    return lambda is_qat, m1, m2: fused(m1, m2)


_DEFAULT_OP_LIST_TO_FUSER_METHOD = {
    (nn.Conv1d, nn.BatchNorm1d): fuse_conv_bn,
    (nn.Conv1d, nn.BatchNorm1d, nn.ReLU): fuse_conv_bn_relu,
    (nn.Conv2d, nn.BatchNorm2d): fuse_conv_bn,
    (nn.Conv2d, nn.BatchNorm2d, nn.ReLU): fuse_conv_bn_relu,
    (nn.Conv3d, nn.BatchNorm3d): fuse_conv_bn,
    (nn.Conv3d, nn.BatchNorm3d, nn.ReLU): fuse_conv_bn_relu,
    (nn.Conv1d, nn.ReLU): _pair_of(nni.ConvReLU1d),
    (nn.Conv2d, nn.ReLU): _pair_of(nni.ConvReLU2d),
    (nn.Conv3d, nn.ReLU): _pair_of(nni.ConvReLU3d),
    (nn.Linear, nn.BatchNorm1d): fuse_linear_bn,
    (nn.Linear, nn.ReLU): _pair_of(nni.LinearReLU),
    (nn.BatchNorm2d, nn.ReLU): _pair_of(nni.BNReLU2d),
    (nn.BatchNorm3d, nn.ReLU): _pair_of(nni.BNReLU3d),
    (nn.ConvTranspose1d, nn.BatchNorm1d): fuse_convtranspose_bn,
    (nn.ConvTranspose2d, nn.BatchNorm2d): fuse_convtranspose_bn,
    (nn.ConvTranspose3d, nn.BatchNorm3d): fuse_convtranspose_bn,
}


def get_fuser_method(op_list, additional_fuser_method_mapping=None):
    mapping = {**_DEFAULT_OP_LIST_TO_FUSER_METHOD, **(additional_fuser_method_mapping or {})}
    fuser_method = mapping.get(op_list, None)
    if fuser_method is None:
        raise AssertionError(f"did not find fuser method for: {op_list} ")
    return fuser_method


def fuse_known_modules(mod_list, is_qat, additional_fuser_method_mapping=None):
    """The fused module of mod_list, followed by Identities; the first module's forward pre
    hooks and the last one's forward hooks move to the fused module."""
    types = tuple(type(m) for m in mod_list)
    fused = get_fuser_method(types, additional_fuser_method_mapping)(is_qat, *mod_list)
    for pre_hook_fn in mod_list[0]._forward_pre_hooks.values():
        fused.register_forward_pre_hook(pre_hook_fn)
    mod_list[0]._forward_pre_hooks.clear()
    for hook_fn in mod_list[-1]._forward_hooks.values():
        fused.register_forward_hook(hook_fn)
    mod_list[-1]._forward_hooks.clear()
    new_mod = [fused]
    for _ in mod_list[1:]:
        identity = nn.Identity()
        identity.training = mod_list[0].training
        new_mod.append(identity)
    return new_mod


def _fuse_one(model, names, is_qat, fuser_func, additional):
    mods = [model.get_submodule(name) for name in names]
    for name, new in zip(names, fuser_func(mods, is_qat, additional)):
        parent, _, last = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, last, new)


def _fuse_modules(model, modules_to_fuse, is_qat, inplace=False,
                  fuser_func=fuse_known_modules, fuse_custom_config_dict=None):
    if not inplace:
        model = copy.deepcopy(model)
    additional = (fuse_custom_config_dict or {}).get("additional_fuser_method_mapping", {})
    if all(isinstance(m, str) for m in modules_to_fuse):
        modules_to_fuse = [modules_to_fuse]
    for names in modules_to_fuse:
        _fuse_one(model, names, is_qat, fuser_func, additional)
    return model


def fuse_modules(model, modules_to_fuse, inplace=False, fuser_func=fuse_known_modules,
                 fuse_custom_config_dict=None):
    """model (a copy unless inplace) with each list of submodule names in modules_to_fuse
    (or the one list) fused, in eval mode."""
    return _fuse_modules(model, modules_to_fuse, False, inplace, fuser_func,
                         fuse_custom_config_dict)


def fuse_modules_qat(model, modules_to_fuse, inplace=False, fuser_func=fuse_known_modules,
                     fuse_custom_config_dict=None):
    """fuse_modules for quantization-aware training: conv-bn(-relu) and linear-bn become
    ConvBn{1,2,3}d, ConvBnReLU{1,2,3}d and LinearBn1d, whose batch norm keeps training
    (prepare_qat makes them QAT modules)."""
    return _fuse_modules(model, modules_to_fuse, True, inplace, fuser_func,
                         fuse_custom_config_dict)
