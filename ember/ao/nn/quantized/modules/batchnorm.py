"""torch.ao.nn.quantized.BatchNorm2d and 3d: batch norm of quantized tensors with the running
statistics (torch.quantized_batch_norm's kernel), the output quantized with the module's scale
and zero point (buffers)."""
import ember as torch
from ember.ao.nn import intrinsic as nni
from ember.nn.modules.normalization import _BatchNorm as _FloatBatchNorm
from ember.ops._quantized_nn import batch_norm


class _BatchNorm(_FloatBatchNorm):
    _relu = False

    def __init__(self, num_features, eps=1e-5, momentum=0.1, device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(num_features, eps, momentum, True, True, **factory_kwargs)
        self.register_buffer("scale", torch.tensor(1.0, **factory_kwargs))
        self.register_buffer("zero_point", torch.tensor(0, **factory_kwargs))

    def _get_name(self):
        return "Quantized" + type(self).__name__

    def forward(self, input):
        if len(input.shape) != self._RANK:
            if self._relu:
                raise ValueError(f"Input shape must be `{self._SHAPE}`!")
            raise RuntimeError(f"Expecting the input tensor of rank {self._RANK}.")
        return batch_norm(input, self.weight, self.bias, self.running_mean, self.running_var,
                          self.eps, float(self.scale), int(self.zero_point), self._relu)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The quantized batch norm of an observed float one (or fused bn-relu), sharing its
        parameters and statistics."""
        activation_post_process = mod.activation_post_process
        if type(mod) is cls._NNI_BN_RELU_MODULE:
            mod = mod[0]
        scale, zero_point = activation_post_process.calculate_qparams()
        new_mod = cls(mod.num_features, mod.eps)
        new_mod.weight = mod.weight
        new_mod.bias = mod.bias
        new_mod.running_mean = mod.running_mean
        new_mod.running_var = mod.running_var
        new_mod.scale = scale
        new_mod.zero_point = zero_point
        return new_mod


class BatchNorm2d(_BatchNorm):
    _NNI_BN_RELU_MODULE = nni.BNReLU2d
    _RANK, _SHAPE = 4, "(N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    _NNI_BN_RELU_MODULE = nni.BNReLU3d
    _RANK, _SHAPE = 5, "(N, C, D, H, W)"
