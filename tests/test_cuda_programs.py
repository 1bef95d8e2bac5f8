"""Whole training programs on every test device against the same program on the CPU, and the
CPU run against torch: an MLP, a small CNN with batch norm, a tiny GPT with AdamW (also under
autocast float16 with a GradScaler), and a checkpoint saved on one device and loaded with
map_location on the other.

Under the fake CuPy (tests/fake_cupy: NumPy behind CuPy's names) the `cuda` runs take the CUDA
backend's code paths with NumPy's arithmetic. The float32 programs agree with the CPU run to
about 1e-6, not bit for bit: CUDA sums in CuPy's order (a GEMV, or CuPy's reduction) where the
CPU path reproduces torch's CPU order. The autocast program follows each device's own autocast
op list (CUDA's and the CPU's differ), so it agrees to float16's precision. Nothing here says
anything about real GPUs."""
import io

import numpy as np
import pytest

import torch

import ember
import ember.nn as nn
from oracle import host

_R = np.random.default_rng(0)
_X = _R.standard_normal((16, 6)).astype(np.float32)
_Y = _R.integers(0, 3, 16)
_IMG = _R.standard_normal((4, 2, 8, 8)).astype(np.float32)
_TOK = _R.integers(0, 11, (3, 7))


def _mlp(L, dev):
    nn, F = L.nn, L.nn.functional
    L.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)).to(dev)
    opt = L.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                      weight_decay=1e-3)
    x, y = L.tensor(_X, device=dev), L.tensor(_Y, device=dev)
    log = []
    for _ in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        log.append(loss)
    return log + list(model.parameters())


def _cnn(L, dev):
    nn, F = L.nn, L.nn.functional
    L.manual_seed(0)
    # (no bias before the batch norm: its gradient is 0 but for rounding, which Adam amplifies;
    # no dropout: CUDA has its own random stream)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, stride=2),
                          nn.Flatten(), nn.Linear(4, 3)).to(dev)
    opt = L.optim.Adam(model.parameters(), lr=1e-2)
    sched = L.optim.lr_scheduler.StepLR(opt, 2, gamma=0.5)
    x, y = L.tensor(_IMG, device=dev), L.tensor(_Y[:4], device=dev)
    log = []
    for _ in range(4):
        opt.zero_grad()
        loss = F.nll_loss(F.log_softmax(model(x), -1), y)
        loss.backward()
        opt.step()
        sched.step()
        log.append(loss)
    model.eval()
    with L.no_grad():
        log.append(model(x))
    return log + list(model.parameters()) + list(model.buffers())


def _gpt_model(L, vocab=11, d=16, heads=2, n=2, ctx=8):
    nn, F = L.nn, L.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            # (no qkv bias: the key bias's gradient is 0 but for rounding, which AdamW amplifies)
            self.qkv, self.proj = nn.Linear(d, 3 * d, bias=False), nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(approximate="tanh"),
                                     nn.Linear(4 * d, d))

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = (z.view(b, t, heads, d // heads).transpose(1, 2)
                       for z in self.qkv(self.ln1(x)).split(d, -1))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
            self.blocks = nn.ModuleList(Block() for _ in range(n))
            self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)
            self.head.weight = self.tok.weight

        def forward(self, idx):
            x = self.tok(idx) + self.pos(L.arange(idx.shape[1], device=idx.device))
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.ln(x))
    return GPT()


def _gpt(L, dev, amp):
    L.manual_seed(0)
    model = _gpt_model(L).to(dev)
    opt = L.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1)
    scaler = L.amp.GradScaler(dev, init_scale=2.0 ** 10, enabled=amp)
    idx = L.tensor(_TOK, device=dev)
    log = []
    for _ in range(4):
        opt.zero_grad(set_to_none=True)
        with L.autocast(dev, dtype=L.float16, enabled=amp):
            logits = model(idx[:, :-1])
            loss = L.nn.functional.cross_entropy(logits.float().reshape(-1, 11),
                                                 idx[:, 1:].reshape(-1))
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        L.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        log += [loss, L.tensor(scaler.get_scale(), device=dev)]
    return log + list(model.parameters())


# tolerances: CUDA sums in CuPy's order (one GEMV, or CuPy's reduction), where the CPU path
# reproduces torch's CPU order, so float32 programs agree to rounding, not bit for bit
_PROGRAMS = {"mlp": (_mlp, 1e-5), "cnn": (_cnn, 1e-5),
             "gpt": (lambda L, d: _gpt(L, d, False), 1e-5),
             "gpt_autocast_fp16": (lambda L, d: _gpt(L, d, True), 2e-2)}


def _same(got, want, tol, device):
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.device.type == device and str(g.dtype) == str(w.dtype), i
        assert tuple(g.shape) == tuple(w.shape), i
        np.testing.assert_allclose(host(g.detach()), w.detach().cpu().numpy(), rtol=tol,
                                   atol=tol, err_msg=str(i))


@pytest.mark.parametrize("name", list(_PROGRAMS))
def test_training_program_on_device_matches_cpu(name, device):
    program, tol = _PROGRAMS[name]
    _same(program(ember, device), program(ember, "cpu"), tol, device)


@pytest.mark.parametrize("name", list(_PROGRAMS))
def test_training_program_on_cpu_matches_torch(name):
    program, tol = _PROGRAMS[name]
    _same(program(ember, "cpu"), program(torch, "cpu"), tol, "cpu")


def test_checkpoint_moves_between_devices_with_map_location(device):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Linear(5, 3)).to(device)
    opt = ember.optim.Adam(model.parameters(), lr=1e-2)
    x = ember.tensor(_X, device=device)
    model(x).sum().backward()
    opt.step()
    buf = io.BytesIO()
    ember.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    # map_location a device, a function (given the storage loaded on the CPU), or a dict
    for where, target in (("cpu", "cpu"), (device, device), (lambda s, loc: s, "cpu"),
                          ({str(x.device): "cpu"}, "cpu")):
        buf.seek(0)
        state = ember.load(buf, map_location=where)
        copy = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Linear(5, 3)).to(target)
        copy.load_state_dict(state["model"])
        for v in state["model"].values():
            assert v.device.type == target
        assert state["opt"]["state"][0]["exp_avg"].device.type == target
        model.eval(), copy.eval()
        with ember.no_grad():
            np.testing.assert_array_equal(host(copy(x.to(target))), host(model(x)))
