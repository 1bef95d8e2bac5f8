"""torch.ao.nn.quantized.modules.utils: weight quantization from an observer, and the repr of
modules whose packed parameters torch hides."""
import ember as torch


class _OutputQParams:
    """A quantized module's output scale and zero point in its state_dict, as torch saves
    them (0-d tensors after its own entries)."""

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "scale"] = torch.tensor(self.scale)
        destination[prefix + "zero_point"] = torch.tensor(self.zero_point)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.scale = float(state_dict.pop(prefix + "scale"))
        self.zero_point = int(state_dict.pop(prefix + "zero_point"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)


class WeightedQuantizedModule(torch.nn.Module):
    """Quantized modules with weights (torch's also made from reference modules, which ember
    does not have)."""


def _needs_weight_clamping(observer, dtype):
    observer = getattr(observer, "activation_post_process", observer)
    if dtype in (torch.qint8, torch.quint8, torch.qint32):
        info = torch.iinfo(dtype)
        return observer.quant_min > info.min or observer.quant_max < info.max
    return False


def _clamp_weights(qweight, observer, scale, zp):
    """The weight's integers clamped to the observer's narrower range."""
    if not _needs_weight_clamping(observer, qweight.dtype):
        return qweight
    observer = getattr(observer, "activation_post_process", observer)
    ints = torch.clamp(qweight.int_repr(), observer.quant_min, observer.quant_max)
    if observer.qscheme in (torch.per_tensor_symmetric, torch.per_tensor_affine):
        return torch._make_per_tensor_quantized_tensor(ints, scale.item(), zp.item())
    return torch._make_per_channel_quantized_tensor(ints, scale, zp, axis=observer.ch_axis)


def _quantize_weight(float_wt, observer):
    """float_wt quantized to qint8 with the (already run) observer's parameters."""
    wt_scale, wt_zp = observer.calculate_qparams()
    if observer.qscheme in (torch.per_tensor_symmetric, torch.per_tensor_affine):
        qweight = torch.quantize_per_tensor(float_wt, float(wt_scale), int(wt_zp), torch.qint8)
    elif observer.qscheme in (torch.per_channel_symmetric, torch.per_channel_affine):
        qweight = torch.quantize_per_channel(float_wt, wt_scale.to(torch.double),
                                             wt_zp.to(torch.int64), observer.ch_axis,
                                             torch.qint8)
    else:
        raise ValueError("Unexpected qscheme " + repr(observer.qscheme))
    return _clamp_weights(qweight, observer, wt_scale, wt_zp)


def _hide_packed_params_repr(self, params):
    """Module.__repr__ without the children of class `params`."""
    return self._repr_of((key, module) for key, module in self._modules.items()
                         if not isinstance(module, params))
