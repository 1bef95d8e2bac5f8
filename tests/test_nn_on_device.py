"""nn modules on every test device (cpu, mock, and cuda where CuPy sees a GPU): each layer of
the table, with torch's weights, gives torch's outputs, input gradients and parameter
gradients (torch on the CPU as the oracle), in float32 and float64. The layer tests beside this
file cover each module's options on the CPU; this table makes the same layers run through the
CUDA backend's code (im2col convolution, the fused kernels, cuBLAS through CuPy)."""
import numpy as np
import pytest
import torch

import ember
from nn_oracle import DTYPES, check_module, rand


def _ints(shape, high, seed=0):
    return np.random.default_rng(seed).integers(0, high, shape)


def _mlp(nn):
    return nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 8), nn.Tanh(),
                         nn.LayerNorm(8), nn.Linear(8, 3), nn.LogSoftmax(-1))


# name -> (module from an nn namespace, input arrays, check_module options)
ZOO = {
    "linear": (lambda nn: nn.Linear(5, 3), [rand((4, 2, 5))], {}),
    "bilinear": (lambda nn: nn.Bilinear(3, 4, 2), [rand((5, 3)), rand((5, 4), seed=1)], {}),
    "mlp": (_mlp, [rand((7, 6))], {}),
    "conv1d": (lambda nn: nn.Conv1d(3, 4, 3, padding=1), [rand((2, 3, 8))], {}),
    "conv2d_strided_grouped": (lambda nn: nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2),
                               [rand((2, 4, 7, 7))], {}),
    "conv2d_dilated_reflect": (lambda nn: nn.Conv2d(2, 3, 3, dilation=2, padding=2,
                                                    padding_mode="reflect"),
                               [rand((1, 2, 9, 8))], {}),
    "conv3d": (lambda nn: nn.Conv3d(2, 3, 2), [rand((1, 2, 4, 4, 3))], {}),
    "conv_transpose2d": (lambda nn: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                       output_padding=1),
                         [rand((2, 3, 4, 4))], {}),
    "conv_transpose1d": (lambda nn: nn.ConvTranspose1d(2, 3, 4, stride=3), [rand((2, 2, 5))],
                         {}),
    "max_pool2d": (lambda nn: nn.MaxPool2d(2), [rand((2, 3, 6, 6))], {}),
    "max_pool1d_padded": (lambda nn: nn.MaxPool1d(3, stride=2, padding=1), [rand((2, 3, 9))],
                          {}),
    "avg_pool2d": (lambda nn: nn.AvgPool2d(3, stride=2, padding=1), [rand((2, 3, 7, 6))], {}),
    "adaptive_avg_pool2d": (lambda nn: nn.AdaptiveAvgPool2d((3, 2)), [rand((2, 3, 7, 5))], {}),
    "adaptive_max_pool1d": (lambda nn: nn.AdaptiveMaxPool1d(3), [rand((2, 3, 8))], {}),
    "batch_norm2d_train": (lambda nn: nn.BatchNorm2d(3), [rand((4, 3, 5, 5))], {}),
    "batch_norm1d_eval": (lambda nn: nn.BatchNorm1d(4), [rand((6, 4))], {"train": False}),
    "group_norm": (lambda nn: nn.GroupNorm(2, 4), [rand((2, 4, 5))], {}),
    "instance_norm2d": (lambda nn: nn.InstanceNorm2d(3, affine=True), [rand((2, 3, 5, 5))],
                        {}),
    "layer_norm_2d": (lambda nn: nn.LayerNorm([4, 5]), [rand((3, 4, 5))], {}),
    "embedding": (lambda nn: nn.Embedding(10, 4, padding_idx=0), [_ints((3, 5), 10)], {}),
    "embedding_bag_mean": (lambda nn: nn.EmbeddingBag(10, 3, mode="mean"), [_ints((2, 4), 10)],
                           {}),
    "lstm_two_layers": (lambda nn: nn.LSTM(4, 5, num_layers=2, batch_first=True),
                        [rand((2, 6, 4))], {}),
    "gru_bidirectional": (lambda nn: nn.GRU(3, 4, bidirectional=True), [rand((5, 2, 3))], {}),
    "rnn_relu": (lambda nn: nn.RNN(3, 4, nonlinearity="relu"), [rand((5, 2, 3))], {}),
    "lstm_cell": (lambda nn: nn.LSTMCell(3, 4), [rand((2, 3))], {}),
    "multihead_attention": (lambda nn: nn.MultiheadAttention(8, 2, batch_first=True),
                            [rand((2, 5, 8)), rand((2, 4, 8), seed=1),
                             rand((2, 4, 8), seed=2)], {}),
    "transformer_encoder_layer": (lambda nn: nn.TransformerEncoderLayer(
        8, 2, dim_feedforward=16, dropout=0.0, batch_first=True), [rand((2, 5, 8))], {}),
    "prelu": (lambda nn: nn.PReLU(3), [rand((2, 3, 4))], {}),
    "upsample_bilinear": (lambda nn: nn.Upsample(scale_factor=2, mode="bilinear"),
                          [rand((1, 2, 3, 3))], {}),
    "pixel_shuffle": (lambda nn: nn.PixelShuffle(2), [rand((1, 8, 3, 3))], {}),
    "channel_shuffle": (lambda nn: nn.ChannelShuffle(3), [rand((2, 6, 4))], {}),
    "unfold": (lambda nn: nn.Unfold(2, stride=2), [rand((1, 2, 4, 6))], {}),
}

# float32 tolerances of the recurrent and attention stacks (longer reductions)
_LOOSE = {"float32": dict(rtol=2e-4, atol=2e-5)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ZOO))
def test_module_on_device_matches_torch(name, dtype, device):
    make, inputs, opts = ZOO[name]
    torch.manual_seed(0)
    ember.manual_seed(0)
    tol = _LOOSE.get(dtype) if name.startswith(("lstm", "gru", "rnn", "multi", "transformer")) \
        else None
    check_module(make(ember.nn), make(torch.nn), inputs, dtype, tol=tol, device=device, **opts)
