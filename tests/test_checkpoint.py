"""ember.utils.checkpoint against torch.utils.checkpoint: the same gradients as torch (and as no
checkpointing), activations really dropped, RNG replayed, autograd.grad through parameters,
nested and sequential checkpoints, and torch's warnings and errors."""
import gc
import warnings
import weakref

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tck

import ember
import ember.utils.checkpoint as eck

RNG = np.random.default_rng(0)
W1, W2, X = RNG.standard_normal((4, 6)), RNG.standard_normal((6, 3)), RNG.standard_normal((5, 4))


def _setup(lib):
    w1 = lib.tensor(W1.copy(), requires_grad=True)
    w2 = lib.tensor(W2.copy(), requires_grad=True)
    x = lib.tensor(X.copy(), requires_grad=True)
    return w1, w2, x


def _segment(w1, w2):
    def f(x, scale=1.0):
        h = (x @ w1).tanh() * scale
        return (h.exp() + h * h) @ w2
    return f


def _grads(lib, ck, use_reentrant, two_segments=False):
    w1, w2, x = _setup(lib)
    f = _segment(w1, w2)
    mod = tck if lib is torch else eck
    if ck:
        y = mod.checkpoint(f, x, use_reentrant=use_reentrant)
        if two_segments:
            y = mod.checkpoint(lambda t: t.sin() @ w2.T, y, use_reentrant=use_reentrant)
    else:
        y = f(x)
        if two_segments:
            y = y.sin() @ w2.T
    (y ** 2).sum().backward()
    return [t.grad.detach().numpy().copy() for t in (x, w1, w2)]


@pytest.mark.parametrize("two_segments", [False, True])
@pytest.mark.parametrize("use_reentrant", [False, True])
def test_gradients_match_torch_and_plain_backward(use_reentrant, two_segments):
    ref = _grads(torch, True, use_reentrant, two_segments)
    plain = _grads(ember, False, use_reentrant, two_segments)
    got = _grads(ember, True, use_reentrant, two_segments)
    for g, p, r in zip(got, plain, ref):
        np.testing.assert_array_equal(g, p)
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)


def test_activations_are_dropped_and_recomputed_once():
    w1, w2, x = _setup(ember)
    seen, calls = [], []

    def f(x):
        calls.append(1)
        h = (x @ w1).tanh()
        seen.append(weakref.ref(h.arr))           # the activation's memory (tanh saves it)
        return h.exp() @ w2
    y = eck.checkpoint(f, x, use_reentrant=False)
    gc.collect()
    assert seen[0]() is None                      # the intermediate is gone after forward
    y.sum().backward()
    assert len(calls) == 2                        # forward + one recomputation
    plain = f(x.detach())
    assert seen[-1]() is not None and plain is not None


def test_rng_state_is_replayed():
    def run(ck, preserve=True):
        ember.manual_seed(3)
        w1, w2, x = _setup(ember)

        def f(x):
            h = x @ w1
            mask = (ember.rand(*h.shape, dtype=h.dtype) > 0.5).to(h.dtype)
            return (h * mask) @ w2
        y = eck.checkpoint(f, x, use_reentrant=False, preserve_rng_state=preserve) if ck \
            else f(x)
        y.sum().backward()
        return w1.grad.numpy().copy()
    plain = run(False)
    np.testing.assert_array_equal(run(True), plain)
    assert not np.array_equal(run(True, preserve=False), plain)


def test_autograd_grad_reaches_parameters():
    w1, w2, x = _setup(ember)
    y = eck.checkpoint(_segment(w1, w2), x, use_reentrant=False)
    g1, g2 = ember.autograd.grad((y ** 2).sum(), [w1, w2])
    ref = _grads(torch, True, False)
    np.testing.assert_allclose(g1.numpy(), ref[1], rtol=1e-12)
    np.testing.assert_allclose(g2.numpy(), ref[2], rtol=1e-12)
    assert w1.grad is None


def test_kwargs_and_structured_outputs():
    outs = []
    for lib, mod in ((torch, tck), (ember, eck)):
        w1, w2, x = _setup(lib)

        def f(x, scale):
            h = (x @ w1).tanh() * scale
            return {"a": h @ w2, "b": (h.sum(), "tag")}, x
        out, same_x = mod.checkpoint(f, x, scale=0.5, use_reentrant=False)
        assert out["b"][1] == "tag"
        (out["a"].sum() + out["b"][0] * 2 + same_x.sum()).backward()
        outs.append([t.grad.detach().numpy().copy() for t in (x, w1, w2)])
    for e, t in zip(outs[1], outs[0]):
        np.testing.assert_allclose(e, t, rtol=1e-12)


def test_nested_checkpoints():
    def run(lib, mod):
        w1, w2, x = _setup(lib)

        def inner(t):
            return (t @ w1).tanh()

        def outer(t):
            h = mod.checkpoint(inner, t, use_reentrant=False)
            return (h * h).exp() @ w2
        y = mod.checkpoint(outer, x, use_reentrant=False)
        (y ** 2).sum().backward()
        return [t.grad.detach().numpy().copy() for t in (x, w1, w2)]
    for e, t in zip(run(ember, eck), run(torch, tck)):
        np.testing.assert_allclose(e, t, rtol=1e-12)


def test_second_backward_needs_retain_graph():
    w1, w2, x = _setup(ember)
    y = eck.checkpoint(_segment(w1, w2), x, use_reentrant=False).sum()
    y.backward(retain_graph=True)
    first = w1.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(w1.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_checkpoint_sequential_matches_torch():
    def run(lib, mod, segments):
        w1, w2, x = _setup(lib)
        fns = [lambda t: t @ w1, lambda t: t.tanh(), lambda t: t * t, lambda t: t @ w2,
               lambda t: t.sin()]
        y = mod.checkpoint_sequential(fns, segments, x, use_reentrant=False)
        y.sum().backward()
        return [t.grad.detach().numpy().copy() for t in (x, w1, w2)]
    for segments in (1, 2, 3):
        for e, t in zip(run(ember, eck, segments), run(torch, tck, segments)):
            np.testing.assert_allclose(e, t, rtol=1e-12)


def test_no_grad_mode_and_inputs_without_grad():
    for lib, mod in ((torch, tck), (ember, eck)):
        w1, w2, x = _setup(lib)
        with lib.no_grad():
            y = mod.checkpoint(_segment(w1, w2), x, use_reentrant=False)
        assert not y.requires_grad
        x = x.detach()
        y = mod.checkpoint(_segment(w1, w2), x, use_reentrant=False)
        assert y.requires_grad                       # parameters inside still get gradients
        with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
            y = mod.checkpoint(_segment(w1, w2), x, use_reentrant=True)
        assert not y.requires_grad                   # torch's reentrant quirk, kept


def _reentrant_run(lib, mod):
    """torch's CheckpointFunction: grad_fn names, gradients into inputs and into parameters
    used inside (delivered by the inner backward), outputs that all require grad, and the
    error for autograd.grad."""
    w1, w2, x = _setup(lib)
    f = _segment(w1, w2)
    y, s, d = mod.checkpoint(lambda a, k: (f(a, k), a.sum(), a.detach() * 3), x, 2.0,
                             use_reentrant=True)
    names = [type(t.grad_fn).__name__ for t in (y, s, d)]
    (y.sum() + s).backward()
    y2 = mod.checkpoint(f, x, use_reentrant=True)
    with pytest.raises(RuntimeError, match="incompatible with .grad()") as err:
        lib.autograd.grad(y2.sum(), x)
    with pytest.raises(RuntimeError, match="incompatible with .grad()"):
        mod.checkpoint(f, x, use_reentrant=True).sum().backward(inputs=[x])
    return (names, [t.requires_grad for t in (y, s, d)], str(err.value),
            [t.grad.numpy() for t in (x, w1, w2)])


def test_reentrant_checkpoint_is_torchs_checkpoint_function():
    t_names, t_rg, t_msg, t_grads = _reentrant_run(torch, tck)
    e_names, e_rg, e_msg, e_grads = _reentrant_run(ember, eck)
    assert e_names == t_names == ["CheckpointFunctionBackward"] * 3
    assert e_rg == t_rg and e_msg == t_msg
    for e, t in zip(e_grads, t_grads):
        np.testing.assert_allclose(e, t, rtol=1e-10)


def test_warnings_and_errors_match_torch():
    for lib, mod in ((torch, tck), (ember, eck)):
        w1, w2, x = _setup(lib)
        with pytest.warns(UserWarning, match="use_reentrant parameter should be passed"):
            mod.checkpoint(_segment(w1, w2), x)
        with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
            mod.checkpoint(_segment(w1, w2), x, scale=2.0, use_reentrant=True)
        with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
            mod.checkpoint(_segment(w1, w2), x, use_reentrant=True, debug=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            mod.checkpoint(_segment(w1, w2), x, use_reentrant=False)


def test_nondeterministic_graph_raises_checkpoint_error():
    w1, w2, x = _setup(ember)
    calls = []

    def f(x):
        calls.append(1)
        h = x @ w1
        return (h.exp() if len(calls) == 1 else h.sin()) @ w2
    y = eck.checkpoint(f, x, use_reentrant=False)
    with pytest.raises(eck.CheckpointError, match="different metadata"):
        y.sum().backward()
    assert issubclass(eck.CheckpointError, RuntimeError)


def test_input_modified_in_place_before_backward_raises():
    w1, w2, x = _setup(ember)
    x2 = x * 1.0
    y = eck.checkpoint(_segment(w1, w2), x2, use_reentrant=False)
    with ember.no_grad():
        x2.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_checkpointed_module_matches_torch():
    nn = pytest.importorskip("ember.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("ember.nn.Linear not available yet")
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    em = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    em.load_state_dict({k: ember.tensor(v.detach().numpy().copy())
                        for k, v in tm.state_dict().items()})
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    tck.checkpoint_sequential(tm, 2, torch.tensor(x), use_reentrant=False).sum().backward()
    eck.checkpoint_sequential(em, 2, ember.tensor(x), use_reentrant=False).sum().backward()
    for (k, tp), ep in zip(tm.named_parameters(), em.parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=k)


def test_checkpoint_on_device(device):
    def grads(ck):
        ember.manual_seed(0)
        w1 = ember.tensor(W1.astype(np.float32), device=device, requires_grad=True)
        w2 = ember.tensor(W2.astype(np.float32), device=device, requires_grad=True)
        x = ember.tensor(X.astype(np.float32), device=device, requires_grad=True)

        def f(t):
            h = (t @ w1).tanh()
            keep = (ember.rand(*h.shape, device=device) > 0.5).to(h.dtype)
            return (h * keep) @ w2
        y = eck.checkpoint(f, x, use_reentrant=False) if ck else f(x)
        (y ** 2).sum().backward()
        return [t.grad.cpu().numpy() for t in (x, w1, w2)]
    for a, b in zip(grads(True), grads(False)):
        np.testing.assert_array_equal(a, b)


def _helpers(lib):
    """torch.utils.checkpoint's helpers: detach_variable, device states, the settings'
    context managers."""
    cp, out = lib.utils.checkpoint, []
    x = lib.ones(2, requires_grad=True)
    d = cp.detach_variable((x, 1, lib.ones(2)))
    out.append(([type(v).__name__ for v in d], d[0].requires_grad, d[0].grad_fn is None,
                d[0] is x, d[0].data_ptr() == x.data_ptr()))
    try:
        cp.detach_variable([x])
    except RuntimeError as e:
        out.append(str(e))
    out.append((cp.DefaultDeviceType.get_device_type(), cp.get_device_states(x, (x, [x])),
                cp.set_device_states([], [])))
    with cp.set_checkpoint_debug_enabled(True):
        try:
            cp.checkpoint(lambda a: a * 2, x, use_reentrant=False,
                          context_fn=lambda: (lib.no_grad(), lib.no_grad()))
        except ValueError as e:
            out.append(str(e))
    with cp.set_checkpoint_debug_enabled(False):
        cp.checkpoint(lambda a: a * 2, x, use_reentrant=False, debug=True,
                      context_fn=cp.noop_context_fn)
    with cp.set_checkpoint_early_stop(False):
        y = cp.checkpoint(lambda a: a * a * 3, x, use_reentrant=False)
    y.sum().backward()
    out.append(x.grad.tolist())
    return out


def test_checkpoint_helpers_as_torchs():
    assert _helpers(ember) == _helpers(torch)
