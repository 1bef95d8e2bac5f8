"""Sequence-model training steps, ember against torch in the same run: an LSTM (input 64,
hidden 128, batch 32, sequence 50, Linear head, MSE, Adam) and a small GPT (4 layers, 4 heads,
width 128, context 64, vocabulary 65, batch 16, AdamW, gradient clipping)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import ember  # noqa: E402
import models  # noqa: E402
from _common import HEADER, have_torch, median_time, row  # noqa: E402


def lstm_step(lib):
    lib.manual_seed(0)
    model = models.lstm(lib)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((32, 50, 64), dtype=np.float32))
    y = lib.tensor(rng.standard_normal((32, 50, 1), dtype=np.float32))

    def step():
        opt.zero_grad()
        loss = lib.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    return step


def gpt_step(lib):
    lib.manual_seed(0)
    model = models.gpt(lib)
    opt = lib.optim.AdamW(model.parameters(), lr=3e-4)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.integers(0, 65, (16, 64)))
    y = lib.tensor(rng.integers(0, 65, (16, 64)))

    def step():
        opt.zero_grad()
        logits = model(x)
        loss = lib.nn.functional.cross_entropy(logits.view(-1, 65), y.view(-1))
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return step


def main():
    results = []
    for name, make in (("LSTM train step (ms)", lstm_step), ("GPT train step (ms)", gpt_step)):
        e = median_time(make(ember), repeat=5)
        t = None
        if have_torch():
            import torch
            t = median_time(make(torch), repeat=5)
        results.append((name, e, t))
    print(HEADER)
    for name, e, t in results:
        print(row(name, e, t, "ms", 1e3))


if __name__ == "__main__":
    main()
