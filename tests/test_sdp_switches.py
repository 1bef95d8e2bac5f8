"""torch.nn.attention.sdpa_kernel / SDPBackend and torch.backends.cuda's *_sdp switches against
torch: the flags each context sets and restores, the errors, and that attention keeps torch's
numbers under every backend choice that torch's CPU build also runs."""
import numpy as np
import pytest
import torch

import ember

NAMES = ("flash", "mem_efficient", "math", "cudnn")


def _flags(lib):
    return tuple(getattr(lib.backends.cuda, f"{n}_sdp_enabled")() for n in NAMES)


@pytest.fixture(autouse=True)
def _restore():
    yield
    for lib in (ember, torch):
        for n in NAMES:
            getattr(lib.backends.cuda, f"enable_{n}_sdp")(True)


def test_enum_matches_torch():
    E, T = ember.nn.attention.SDPBackend, torch.nn.attention.SDPBackend
    assert list(E.__members__) == list(T.__members__)
    for name in T.__members__:
        e, t = getattr(E, name), getattr(T, name)
        assert e.value == t.value and repr(e) == repr(t)


@pytest.mark.parametrize("choice", [["MATH"], ["FLASH_ATTENTION"], ["EFFICIENT_ATTENTION", "MATH"],
                                    ["CUDNN_ATTENTION"], "MATH", []])
def test_sdpa_kernel_sets_and_restores_flags(choice):
    seen = []
    for lib in (ember, torch):
        B = lib.nn.attention.SDPBackend
        backends = getattr(B, choice) if isinstance(choice, str) else \
            [getattr(B, c) for c in choice]
        lib.backends.cuda.enable_cudnn_sdp(False)        # a non-default state to restore
        before = _flags(lib)
        with lib.nn.attention.sdpa_kernel(backends) as ctx:
            seen.append((_flags(lib), ctx))
        assert _flags(lib) == before
    assert seen[0] == seen[1]


def test_sdpa_kernel_rejects_non_backends():
    for lib in (ember, torch):
        with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend"):
            with lib.nn.attention.sdpa_kernel("math"):
                pass


def test_deprecated_sdp_kernel():
    seen = []
    for lib in (ember, torch):
        with pytest.warns(FutureWarning, match="sdp_kernel\\(\\)` is deprecated"):
            with lib.backends.cuda.sdp_kernel(enable_flash=False, enable_cudnn=False):
                seen.append(_flags(lib))
    assert seen[0] == seen[1] == (False, True, True, False)


def test_attention_numbers_under_math_and_error_with_every_backend_off():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 2, 5, 4)).astype(np.float32) for _ in range(3))
    outs = []
    for lib in (ember, torch):
        B = lib.nn.attention.SDPBackend
        with lib.nn.attention.sdpa_kernel(B.MATH):
            outs.append(lib.nn.functional.scaled_dot_product_attention(
                *(lib.tensor(a) for a in (q, k, v)), is_causal=True).numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-6)
    errors = []
    for lib in (ember, torch):
        for n in NAMES:
            getattr(lib.backends.cuda, f"enable_{n}_sdp")(False)
        with pytest.raises(RuntimeError) as e:
            lib.nn.functional.scaled_dot_product_attention(*(lib.tensor(a) for a in (q, k, v)))
        errors.append(str(e.value))
    assert errors[0] == errors[1]
