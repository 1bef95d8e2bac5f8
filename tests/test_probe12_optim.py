"""Regressions found by running torch's optimizer database (common_optimizers.optim_db: each
optimizer's constructor configurations and error inputs) through ember, checked against torch."""
import pytest
import torch

import ember
from test_probe7 import _outcome


def _params(L):
    return [L.nn.Parameter(L.ones(2, 2)), L.nn.Parameter(L.ones(3, dtype=L.float64))]


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_tensor_betas_with_foreach_refused_like_torch(name):
    def make(L):
        betas = (L.tensor(0.9), L.tensor(0.99))
        return getattr(L.optim, name)(_params(L), betas=betas, foreach=True)
    assert _outcome(lambda: make(ember)) == _outcome(lambda: make(torch))
    assert _outcome(lambda: make(ember))[0] == "ValueError"
