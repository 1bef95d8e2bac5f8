"""einsum's dtypes as torch's: its sums make integers int64, its products promote, its bmm
refuses mixed dtypes and has no Bool kernel; every pair of dtypes over a set of equations."""
import itertools
import re

import numpy as np
import pytest
import torch

import ember
from test_probe7 import _outcome

_SHAPES = {
    "ij,jk->ik": [(2, 3), (3, 4)], "ii->i": [(3, 3)], "ij->": [(2, 3)], "i,i->": [(3,), (3,)],
    "ij,j->i": [(2, 3), (3,)], "bij,bjk->bik": [(2, 2, 3), (2, 3, 2)], "i,j->ij": [(2,), (3,)],
    "...ij,...jk->...ik": [(2, 1, 3), (4, 3, 2)], "ij,ij->ij": [(2, 3), (2, 3)],
    "ijk->kji": [(1, 2, 3)], "ii": [(2, 2)], "ij,jk": [(2, 1), (1, 3)], "i,i": [(1,), (4,)],
    "ab,bc,cd->ad": [(2, 3), (3, 1), (1, 2)]}
_EQS = list(_SHAPES)
_DTYPES = ["int32", "int64", "bool", "uint8", "float16", "float32", "float64", "complex64",
           "bfloat16"]
_CASES = [(eq, combo) for eq in _EQS
          for combo in itertools.product(_DTYPES, repeat=len(_SHAPES[eq])) if len(set(combo)) <= 2]
_NUM = r"-?\d+\.\d+(?:e-?\d+)?"


def _run(lib, eq, combo):
    ts = []
    for k, (s, d) in enumerate(zip(_SHAPES[eq], combo)):
        t = lib.tensor(np.random.default_rng(k).uniform(-3, 3, s))
        ts.append(t > 0 if d == "bool" else t.to(getattr(lib, d)))
    return lib.einsum(eq, *ts)


@pytest.mark.parametrize("eq,combo", _CASES, ids=str)
def test_einsum_dtypes_like_torch(eq, combo):
    got = str(_outcome(lambda: _run(ember, eq, combo))).replace("ember", "torch")
    want = str(_outcome(lambda: _run(torch, eq, combo)))
    # the same outcome, dtype and shape; values to a 2-byte float's precision
    assert re.sub(_NUM, "#", got) == re.sub(_NUM, "#", want)
    np.testing.assert_allclose([float(x) for x in re.findall(_NUM, got)],
                               [float(x) for x in re.findall(_NUM, want)], rtol=1e-2, atol=1e-2)
