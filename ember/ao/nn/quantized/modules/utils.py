"""torch.ao.nn.quantized.modules.utils: weight quantization from an observer, and the repr of
modules whose packed parameters torch hides."""
import ember as torch
from ember.nn.modules.module import _addindent


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
    extra_repr = self.extra_repr()
    extra_lines = extra_repr.split("\n") if extra_repr else []
    child_lines = ["(" + key + "): " + _addindent(repr(module), 2)
                   for key, module in self._modules.items() if not isinstance(module, params)]
    lines = extra_lines + child_lines
    main_str = self._get_name() + "("
    if lines:
        if len(extra_lines) == 1 and not child_lines:
            main_str += extra_lines[0]
        else:
            main_str += "\n  " + "\n  ".join(lines) + "\n"
    return main_str + ")"
