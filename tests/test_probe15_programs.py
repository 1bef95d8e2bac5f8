"""Regressions found by running ordinary PyTorch programs of the LLM/ViT era (LLaMA-style decoders,
LoRA, ViT, mixture-of-experts, T5 relative bias, Mamba scans, BERT MLM, beam search, schedulers,
EMA, torch.func...) under ember and torch and comparing everything they print."""
import pytest
import torch

import ember


def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as e:  # the exception class is part of what is compared
        return "raised", type(e).__name__


def _class_attribute_shadowing(lib):
    nn = lib.nn

    class Emb(nn.Module):
        head = None

        def __init__(self):
            super().__init__()
            self.type = nn.Embedding(2, 3)  # shadows Module.type
            self.head = nn.Linear(3, 1)     # shadows the class attribute
            self.word = nn.Embedding(2, 3)

    m = Emb()
    return (sorted(m._modules), m.head, type(m.word).__name__,
            _outcome(lambda: m.type(lib.tensor([0, 1])).shape))


def test_submodule_named_like_a_class_attribute_does_not_shadow_it():
    assert _class_attribute_shadowing(ember) == _class_attribute_shadowing(torch)
