"""torch.hash_tensor (torch 2.13): XOR of the elements' 64-bit patterns, against torch (the
printed uint64 values, which are exact, and the errors)."""
import pytest
import torch

import ember


def _cases(L):
    H = L.hash_tensor
    x = L.arange(6.).reshape(2, 3)
    return {
        "bool": lambda: H(L.tensor([True, False, True])),
        "uint8": lambda: H(L.tensor([1, 2, 3], dtype=L.uint8)),
        "float16 with -0.0": lambda: H(L.tensor([1.5, -0.0], dtype=L.float16)),
        "complex": lambda: H(L.tensor([1 + 2j])),
        "empty": lambda: H(L.tensor([])),
        "0-d": lambda: H(L.tensor(3.)),
        "nan": lambda: H(L.tensor([float("nan")])),
        "int8": lambda: H(L.tensor([-1, -2], dtype=L.int8)),
        "bfloat16": lambda: H(L.tensor([1.], dtype=L.bfloat16)),
        "uint64": lambda: H(L.ones(2, dtype=L.uint64)),
        "uint32": lambda: H(L.ones(2, dtype=L.uint32)),
        "dims": lambda: H(x, (0, 1)),
        "empty dim list": lambda: H(x, []),
        "dim None": lambda: H(x, None),
        "mode 1": lambda: H(x, mode=1),
        "dim out of range": lambda: H(x, 2),
        "requires grad": lambda: H(L.ones(2, requires_grad=True)),
        "out": lambda: H(x, 1, out=L.empty(2, dtype=L.uint64)),
        "out int64": lambda: H(x, 1, out=L.empty(2, dtype=L.int64)),
        "method": lambda: x.hash_tensor(),
        "empty along dim 0": lambda: H(L.zeros(0, 3), 0),
        "empty, other dim": lambda: H(L.zeros(0, 3), 1),
        "keepdim": lambda: H(x, dim=1, keepdim=True),
        "not a tensor": lambda: H(3),
        "float64 values": lambda: H(L.linspace(-3, 7, 17, dtype=L.float64)),
        "transposed": lambda: H(x.T, 0),
        "int64": lambda: H(L.tensor([2 ** 62, -5, 7])),
        "int16, last dim": lambda: H(L.arange(12, dtype=L.int16).reshape(3, 4), -1),
    }


def _run(fn):
    try:
        return "ok", repr(fn())
    except Exception as e:      # noqa: BLE001 - the class and message are compared
        return type(e).__name__, str(e)


@pytest.mark.parametrize("case", list(_cases(torch)))
def test_hash_tensor_like_torch(case):
    assert _run(_cases(ember)[case]) == _run(_cases(torch)[case])
