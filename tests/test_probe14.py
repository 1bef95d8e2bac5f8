"""Regressions found by running ordinary PyTorch programs (DCGAN, CTC speech models, SimCLR,
RL, diffusion, PointNet, TabTransformer, distillation... training scripts) under ember and torch
and comparing what they print."""
import numpy as np
import pytest
import torch

import ember


def _run(lib, program, *args):
    lib.manual_seed(0)
    try:
        return program(lib, *args)
    except Exception as e:      # noqa: BLE001 - the class and message are what is compared
        return type(e).__name__, str(e).replace("ember", "torch")


def _same(got, want, rtol=1e-5, atol=1e-6):
    """Equal structure, exceptions, dtypes and shapes; tensors equal to float32 rounding."""
    if isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            _same(g, w, rtol, atol)
    elif isinstance(want, torch.Tensor):
        assert isinstance(got, ember.Tensor), got
        assert (str(got.dtype), got.shape) == (str(want.dtype),
                                               want.shape)
        np.testing.assert_allclose(got.detach().double().numpy(),
                                   want.detach().double().numpy(), rtol=rtol, atol=atol)
    else:
        assert got == want


def _both(program, *args, **tol):
    """`program(lib, *args)` under ember and torch from the same seed give the same results."""
    _same(_run(ember, program, *args), _run(torch, program, *args), **tol)


# ---- dropout between the layers of a packed RNN drops the packed rows ----------------------

def _packed_rnn_dropout(L, mode, bidirectional):
    rnnu = L.nn.utils.rnn
    rnn = getattr(L.nn, mode)(3, 4, num_layers=3, dropout=0.5, bidirectional=bidirectional)
    x = L.randn(5, 3, 3, requires_grad=True)
    packed = rnnu.pack_padded_sequence(x, L.tensor([5, 2, 4]), enforce_sorted=False)
    out = rnn(packed)[0].data
    out.pow(2).sum().backward()
    return out, x.grad, L.randn(2)      # the random stream after the masks


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("mode", ["GRU", "LSTM", "RNN"])
def test_packed_rnn_dropout(mode, bidirectional):
    # torch drops out the PackedSequence data (sum(lengths) rows), not the padded layout
    _both(_packed_rnn_dropout, mode, bidirectional)
