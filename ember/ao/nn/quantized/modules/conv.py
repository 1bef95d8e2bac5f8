"""torch.ao.nn.quantized.Conv1d, 2d and 3d and ConvTranspose1d, 2d and 3d: quantized in,
quantized out (channels last), the weight int8 and the bias float (ember/ops/_quantized_nn.py);
the 1-d ones run as 2-d ones of height 1, as torch's quantized::conv1d does."""
import ember as torch
from ember import nn
from ember.ao.nn import intrinsic as nni
from ember.ao.nn.intrinsic import qat as nniqat
from ember.nn.modules.utils import _pair, _single, _triple
from ember.ops._quantized_nn import ConvPacked, conv

from .utils import WeightedQuantizedModule, _quantize_weight


class _ConvNd(WeightedQuantizedModule):
    _relu = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):
        t = self._tuple
        self._init(in_channels, out_channels, t(kernel_size), t(stride), t(padding),
                   t(dilation), False, t(0), groups, bias, padding_mode)

    def _init(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
              transposed, output_padding, groups, bias, padding_mode):
        super().__init__()
        if out_channels <= 0:
            raise ValueError(f"out_channels must be greater than 0, got {out_channels}")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise NotImplementedError("ember: quantized convolution pads with zeros only")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = kernel_size, stride
        self.padding, self.dilation = padding, dilation
        self.transposed, self.output_padding = transposed, output_padding
        self.groups, self.padding_mode = groups, padding_mode
        shape = [in_channels, out_channels // groups] if transposed else \
            [out_channels, in_channels // groups]
        qweight = torch._empty_affine_quantized(shape + list(kernel_size), scale=1,
                                                zero_point=0, dtype=torch.qint8)
        self.set_weight_bias(qweight, torch.zeros(out_channels, dtype=torch.float)
                             if bias else None)
        self.scale = 1.0
        self.zero_point = 0

    def _get_name(self):
        return "Quantized" + type(self).__name__

    def set_weight_bias(self, w, b):
        self._packed_params = ConvPacked(w, b, self.stride, self.padding, self.dilation,
                                         self.groups)

    def _weight_bias(self):
        return self._packed_params.unpack()

    def weight(self):
        return self._weight_bias()[0]

    def bias(self):
        return self._weight_bias()[1]

    def extra_repr(self):
        s = ("{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}, "
             "scale={scale}, zero_point={zero_point}")
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias() is None:
            s += ", bias=False"
        return s.format(**self.__dict__)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        w, b = self._weight_bias()
        destination[prefix + "weight"] = w
        destination[prefix + "bias"] = b
        destination[prefix + "scale"] = torch.tensor(self.scale)
        destination[prefix + "zero_point"] = torch.tensor(self.zero_point)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.set_weight_bias(state_dict.pop(prefix + "weight"), state_dict.pop(prefix + "bias"))
        self.scale = float(state_dict.pop(prefix + "scale"))
        self.zero_point = int(state_dict.pop(prefix + "zero_point"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The quantized conv of an observed float (or fused conv-relu) one."""
        if hasattr(mod, "weight_fake_quant"):       # a QAT module: its batch norm folded in
            if type(mod) is cls._NNIQAT_CONV_BN_MODULE:
                mod.weight, mod.bias = nn.utils.fuse_conv_bn_weights(
                    mod.weight, mod.bias, mod.bn.running_mean, mod.bn.running_var, mod.bn.eps,
                    mod.bn.weight, mod.bn.bias)
            if not hasattr(mod, "activation_post_process"):
                raise AssertionError("Input QAT module must have observer attached")
            weight_post_process = mod.weight_fake_quant
            activation_post_process = mod.activation_post_process
        else:
            if type(mod) is not cls._FLOAT_MODULE:
                raise AssertionError(f"nnq.{cls.__name__}.from_float only works for "
                                     f"{cls._FLOAT_MODULE.__name__} but got: "
                                     f"{type(mod).__name__}")
            if not hasattr(mod, "qconfig"):
                raise AssertionError("Input float module must have qconfig defined.")
            activation_post_process = getattr(mod, "activation_post_process", None)
            if type(mod) is cls._NNI_CONV_RELU_MODULE:
                mod = mod[0]
            weight_post_process = mod.qconfig.weight()
        weight_post_process(mod.weight)
        if weight_post_process.dtype is not torch.qint8:
            raise AssertionError("Weight observer must have a dtype of qint8, got "
                                 f"{weight_post_process.dtype}")
        qweight = _quantize_weight(mod.weight.float(), weight_post_process)
        qconv = cls(mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride,
                    mod.padding, mod.dilation, mod.groups, mod.bias is not None,
                    mod.padding_mode)
        qconv.set_weight_bias(qweight, mod.bias)
        if activation_post_process is not None and \
                activation_post_process.dtype is not torch.float:
            act_scale, act_zp = activation_post_process.calculate_qparams()
            qconv.scale, qconv.zero_point = float(act_scale), int(act_zp)
        return qconv


class Conv1d(_ConvNd):
    _FLOAT_MODULE = nn.Conv1d
    _NNIQAT_CONV_BN_MODULE = nniqat.ConvBn1d
    _NNI_CONV_RELU_MODULE = nni.ConvReLU1d
    _tuple = staticmethod(_single)

    def set_weight_bias(self, w, b):
        # packed as a Conv2d of height 1 (torch's conv1d_prepack)
        self._packed_params = ConvPacked(w.unsqueeze(2), b, (1,) + self.stride,
                                         (0,) + self.padding, (1,) + self.dilation,
                                         self.groups)

    def _weight_bias(self):
        w, b = self._packed_params.unpack()
        return w.squeeze(2), b

    def forward(self, input):
        if len(input.shape) != 3:
            raise ValueError("Input shape must be `(N, C, L)`!")
        return conv(input.unsqueeze(2), self._packed_params, self.scale, self.zero_point,
                    self._relu).squeeze(2)


class Conv2d(_ConvNd):
    _FLOAT_MODULE = nn.Conv2d
    _NNIQAT_CONV_BN_MODULE = nniqat.ConvBn2d
    _NNI_CONV_RELU_MODULE = nni.ConvReLU2d
    _tuple = staticmethod(_pair)

    def forward(self, input):
        if len(input.shape) != 4:
            raise ValueError("Input shape must be `(N, C, H, W)`!")
        return conv(input, self._packed_params, self.scale, self.zero_point, self._relu)


class Conv3d(_ConvNd):
    _FLOAT_MODULE = nn.Conv3d
    _NNIQAT_CONV_BN_MODULE = nniqat.ConvBn3d
    _NNI_CONV_RELU_MODULE = nni.ConvReLU3d
    _tuple = staticmethod(_triple)

    def forward(self, input):
        if len(input.shape) != 5:
            raise ValueError("Input shape must be `(N, C, D, H, W)`!")
        return conv(input, self._packed_params, self.scale, self.zero_point, self._relu)


class _ConvTransposeNd(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        t = self._tuple
        self._init(in_channels, out_channels, t(kernel_size), t(stride), t(padding),
                   t(dilation), True, t(output_padding), groups, bias, padding_mode)

    def set_weight_bias(self, w, b):
        self._packed_params = ConvPacked(w, b, self.stride, self.padding, self.dilation,
                                         self.groups, self.output_padding)

    def forward(self, input):
        if len(input.shape) != len(self.kernel_size) + 2:
            raise ValueError(f"Input shape must be `{self._SHAPE}`!")
        return conv(input, self._packed_params, self.scale, self.zero_point)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The quantized transposed conv of an observed float one."""
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError(f" nnq.{cls.__name__}.from_float only works for "
                                 f"{cls._FLOAT_MODULE.__name__}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined.")
        weight_post_process = mod.qconfig.weight()
        weight_post_process(mod.weight)
        if weight_post_process.dtype is not torch.qint8:
            raise AssertionError("Weight observer must have a dtype of qint8, got "
                                 f"{weight_post_process.dtype}")
        qweight = _quantize_weight(mod.weight.float(), weight_post_process)
        qconv = cls(mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride,
                    mod.padding, mod.output_padding, mod.groups, mod.bias is not None,
                    mod.dilation, mod.padding_mode)
        qconv.set_weight_bias(qweight, mod.bias)
        post = getattr(mod, "activation_post_process", None)
        if post is not None and post.dtype is not torch.float:
            act_scale, act_zp = post.calculate_qparams()
            qconv.scale, qconv.zero_point = float(act_scale), int(act_zp)
        return qconv


class ConvTranspose1d(_ConvTransposeNd):
    _FLOAT_MODULE = nn.ConvTranspose1d
    _tuple = staticmethod(_single)
    _SHAPE = "(N, C, L)"

    def set_weight_bias(self, w, b):
        # packed as a ConvTranspose2d of height 1
        self._packed_params = ConvPacked(w.unsqueeze(2), b, (1,) + self.stride,
                                         (0,) + self.padding, (1,) + self.dilation,
                                         self.groups, (0,) + self.output_padding)

    def _weight_bias(self):
        w, b = self._packed_params.unpack()
        return w.squeeze(2), b

    def forward(self, input):
        if len(input.shape) != 3:
            raise ValueError("Input shape must be `(N, C, L)`!")
        return conv(input.unsqueeze(2), self._packed_params, self.scale,
                    self.zero_point).squeeze(2)


class ConvTranspose2d(_ConvTransposeNd):
    _FLOAT_MODULE = nn.ConvTranspose2d
    _tuple = staticmethod(_pair)
    _SHAPE = "(N, C, H, W)"


class ConvTranspose3d(_ConvTransposeNd):
    _FLOAT_MODULE = nn.ConvTranspose3d
    _tuple = staticmethod(_triple)
    _SHAPE = "(N, C, T, H, W)"
