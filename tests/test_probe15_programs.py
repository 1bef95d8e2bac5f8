"""Regressions found by running ordinary PyTorch programs of the LLM/ViT era (LLaMA-style decoders,
LoRA, ViT, mixture-of-experts, T5 relative bias, Mamba scans, BERT MLM, beam search, schedulers,
EMA, torch.func...) under ember and torch and comparing everything they print."""
import warnings

import numpy as np
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


def _byte_index(lib, case):
    x = lib.arange(6.)
    y = lib.arange(6.).view(2, 3)
    m = lib.tensor([1, 0, 1, 0, 1, 0], dtype=lib.uint8)

    def put(t, idx, value):
        t = t.clone()
        t[idx] = value
        return t
    calls = {
        "get": [lambda: x[m], lambda: x[lib.tensor(1, dtype=lib.uint8)]],   # (0-dim: a bool)
        "get-two": [lambda: y[m[:2], m[:3]]],
        "get-grad": [lambda: x.clone().requires_grad_()[m]],
        "put-values": [lambda: put(x, m, lib.tensor([7., 8., 9.]))],
        "put-number": [lambda: put(x, m, 3), lambda: put(x, m[:3], 3)],     # (shape first)
        "put-one-element": [lambda: put(x, m, lib.tensor([5.]))],
        "put-number-unsqueezed": [lambda: put(x, (m, None), 5)],
        "put-number-after-slice": [lambda: put(y, (m[:2], slice(1, None)), 5)],
        "put-number-after-int": [lambda: put(y, (1, m[:3]), 5)],
        "put-number-two-indices": [lambda: put(y, (m[:2], [0, 2]), 5)],
        "index_put": [lambda: x.index_put((m,), lib.tensor([1., 2., 3.]))],
        "index_put-number": [lambda: x.index_put((m,), lib.tensor(1.)),
                             lambda: x.clone().index_put_((m[:3],), lib.tensor(5.))],
        "index_put-accumulate": [lambda: x.index_put((m,), lib.tensor(5.), accumulate=True)],
    }[case]
    out = []
    for fn in calls:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            try:
                r = fn().tolist()
            except Exception as e:
                r = (type(e).__name__, str(e))
        out.append((r, [(w.category, str(w.message).split(" (Triggered internally")[0],
                         w.filename) for w in seen]))
    return out


@pytest.mark.parametrize("case", [
    "get", "get-two", "get-grad", "put-values", "put-number", "put-one-element",
    "put-number-unsqueezed", "put-number-after-slice", "put-number-after-int",
    "put-number-two-indices", "index_put", "index_put-number", "index_put-accumulate"])
def test_uint8_index_warns_or_is_refused_by_masked_fill(case):
    """torch warns for each uint8 index tensor it expands, at the caller's line; a one-element
    value put through a lone uint8 mask goes to masked_fill_, which refuses it."""
    assert _byte_index(ember, case) == _byte_index(torch, case)


@pytest.mark.parametrize("case,dtype", [
    (case, dtype) for case in ("addcmul", "addcmul_value", "addcmul_", "addcdiv_value", "lerp",
                               "lerp_high", "lerp_tensor", "foreach_lerp", "foreach_addcmul")
    for dtype in ("bfloat16", "float16")
    if (case, dtype) != ("addcdiv_value", "bfloat16")])     # (that one was right already)
def test_half_ternary_ops_compute_in_float32_rounded_once(case, dtype):
    """torch's CPU kernels for float16/bfloat16 addcmul, addcdiv and lerp compute in float32
    (addcmul and lerp as one fused multiply-add) and round once; ember rounded each step."""
    def run(lib):
        lib.manual_seed(0)
        dt = getattr(lib, dtype)
        x, y, z = ((lib.randn(2053) * 3).to(dt) for _ in range(3))
        w = (lib.rand(2053) * 1.4 - 0.2).to(dt)
        out = {"addcmul": lambda: lib.addcmul(x, y, z),
               "addcmul_value": lambda: lib.addcmul(x, y, z, value=0.3),
               "addcmul_": lambda: x.clone().addcmul_(y, z, value=-0.01),
               "addcdiv_value": lambda: lib.addcdiv(x, y, z, value=0.3),
               "lerp": lambda: lib.lerp(x, y, 0.3),
               "lerp_high": lambda: x.clone().lerp_(y, 0.9),
               "lerp_tensor": lambda: lib.lerp(x, y, w),
               "foreach_lerp": lambda: lib._foreach_lerp([x], [y], 0.2)[0],
               "foreach_addcmul": lambda: lib._foreach_addcmul([x], [y], [z], 0.2)[0]}[case]()
        assert out.dtype == dt
        return out.float().numpy()
    np.testing.assert_array_equal(run(ember), run(torch))


def _rms_norm(lib, dtype, wdtype):
    lib.manual_seed(0)
    x = (lib.randn(16, 300) * 3).to(getattr(lib, dtype)).requires_grad_()
    w = None if wdtype is None else lib.randn(300).to(getattr(lib, wdtype)).requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # (the mismatched dtypes': tested below)
        out = lib.nn.functional.rms_norm(x, (300,), w, eps=1e-6)
    out.float().sum().backward()
    return (str(out.dtype), type(out.grad_fn).__name__, out.detach().float().numpy().tolist(),
            None if w is None else w.grad.float().numpy().tolist())


@pytest.mark.parametrize("dtype,wdtype", [("bfloat16", "bfloat16"), ("float16", "float16"),
                                          ("bfloat16", "float32"), ("float16", "float32"),
                                          ("bfloat16", "float16")])
def test_half_rms_norm_rounds_once(dtype, wdtype):
    """torch's rms_norm of a float16/bfloat16 input computes x * rsqrt(mean(x^2) + eps) *
    weight in float32 and rounds once (ember rounded before multiplying by the weight)."""
    assert _rms_norm(ember, dtype, wdtype) == _rms_norm(torch, dtype, wdtype)


def test_rms_norm_weight_of_another_dtype_warns_once():
    """torch cannot run its fused rms_norm for a weight of another dtype than the input's, and
    says so once per process."""
    from ember import _warnings

    def warned(lib):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            F = lib.nn.functional
            F.rms_norm(lib.ones(2, 4), (4,), lib.ones(4, dtype=lib.bfloat16))
            F.rms_norm(lib.ones(2, 4, dtype=lib.float16), (4,), lib.ones(4))
            F.rms_norm(lib.ones(2, 4), (4,), lib.ones(4))
        return [(w.category, str(w.message).split(" (Triggered internally")[0]) for w in seen]
    given = set(_warnings.GIVEN)
    _warnings.GIVEN.clear()
    try:
        got = warned(ember)
    finally:
        _warnings.GIVEN |= given
    want = warned(torch)        # (empty if torch warned earlier in this process)
    assert got == [(UserWarning, "Mismatch dtype between input and weight: input dtype = float, "
                    "weight dtype = c10::BFloat16, Cannot dispatch to fused implementation.")]
    assert want in ([], got)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("dim", [-1, 0, (0, 2)])
def test_half_logsumexp_rounds_each_step_as_torch(dtype, dim):
    """torch's logsumexp of float16/bfloat16 is its composite: max, exp(x - max), sum, log and
    + max each rounded to the 2-byte dtype (ember computed all in float32, rounding once)."""
    def run(lib):
        lib.manual_seed(0)
        x = (lib.randn(40, 30, 20) * 3).to(getattr(lib, dtype))
        x[0, 0, 0] = float("-inf")
        x.requires_grad_()
        y = x.logsumexp(dim)
        y.float().sum().backward()
        return str(y.dtype), y.detach().float().numpy().tolist(), x.grad.float().numpy().tolist()
    assert run(ember) == run(torch)


@pytest.mark.parametrize("name,kwargs,dtype", [
    ("Adam", {}, "bfloat16"), ("AdamW", {"foreach": True}, "bfloat16"),
    ("Adam", {"amsgrad": True}, "bfloat16"), ("RMSprop", {}, "bfloat16"),
    ("Adagrad", {}, "bfloat16"), ("Adagrad", {}, "float16")])
def test_half_parameters_step_as_torch(name, kwargs, dtype):
    """An optimizer over float16/bfloat16 parameters: torch's lerp_, addcmul_ and addcdiv_ each
    compute in float32 and round once (ember's update rules rounded every intermediate)."""
    def run(lib):
        lib.manual_seed(0)
        p = lib.nn.Parameter(lib.randn(1000).to(getattr(lib, dtype)))
        opt = getattr(lib.optim, name)([p], lr=1e-2, **kwargs)
        for _ in range(3):
            p.grad = (lib.randn(1000) * 0.1).to(getattr(lib, dtype))
            opt.step()
        return p.detach().float().numpy()
    np.testing.assert_array_equal(run(ember), run(torch))
