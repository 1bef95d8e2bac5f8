"""ember.func against torch.func: each case runs the same lambda with lib = torch and lib = ember
on float64 inputs built from NumPy, and the results must match in structure, shape, dtype and
value; error cases must raise the same exception class."""
import subprocess
import sys

import numpy as np
import pytest
import torch

import ember
from oracle import assert_close, to_torch


def _t(lib, a, requires_grad=False):
    a = np.asarray(a, dtype=np.float64)
    t = to_torch(a) if lib is torch else ember.tensor(a)
    return t.requires_grad_() if requires_grad else t


def _x(lib, *shape, seed=0):
    return _t(lib, np.random.default_rng(seed).uniform(-1, 1, shape))


def _compare(e, t):
    """assert_close over nested tuples, lists and dicts."""
    if isinstance(t, dict):
        assert isinstance(e, dict) and list(e) == list(t), (e, t)
        for k in t:
            _compare(e[k], t[k])
    elif isinstance(t, (tuple, list)):
        assert type(e) is type(t) and len(e) == len(t), (type(e), type(t))
        for a, b in zip(e, t):
            _compare(a, b)
    else:
        assert_close(e, t)


def _f(lib, x):
    return (x.sin() * x).sum()


def _f2(lib, x, y):
    return (x.exp() * y.cos()).sum() + (x * y).prod()


def _vec(lib, x):
    return lib.cat([x.sin() * x[0], (x ** 2).cumsum(0)])


def _pair(lib, x, y):
    return x * y.sum(), (x.unsqueeze(1) * y).tanh()


def _vjp_then(F, f, primals, cotangents, has_aux=False):
    """vjp's output, vjp_fn(cotangents)[, aux]."""
    out = F.vjp(f, *primals, has_aux=has_aux)
    return (out[0], out[1](cotangents), *out[2:])


def _vjp_twice(lib, F):
    _, vjp_fn = F.vjp(lambda x: x.exp(), _x(lib, 3))
    return vjp_fn(_x(lib, 3, seed=3)), vjp_fn(_x(lib, 3, seed=4))


def _linearize_twice(lib, F):
    out, jvp_fn = F.linearize(lambda x: _vec(lib, x), _x(lib, 4))
    return out, jvp_fn(_x(lib, 4, seed=1)), jvp_fn(_x(lib, 4, seed=2))


CASES = {
    # grad / grad_and_value
    "grad": lambda lib, F: F.grad(lambda x: _f(lib, x))(_x(lib, 5)),
    "grad_matrix": lambda lib, F: F.grad(lambda x: (x @ x.T).logsumexp((0, 1)))(_x(lib, 3, 4)),
    "grad_argnums_1": lambda lib, F: F.grad(lambda x, y: _f2(lib, x, y), argnums=1)(
        _x(lib, 4), _x(lib, 4, seed=1)),
    "grad_argnums_tuple": lambda lib, F: F.grad(lambda x, y: _f2(lib, x, y), argnums=(0, 1))(
        _x(lib, 4), _x(lib, 4, seed=1)),
    "grad_argnums_negative": lambda lib, F: F.grad(lambda x, y: _f2(lib, x, y), argnums=-1)(
        _x(lib, 4), _x(lib, 4, seed=1)),
    "grad_has_aux": lambda lib, F: F.grad(lambda x: (_f(lib, x), {"sq": x ** 2, "n": x.mean()}),
                                          has_aux=True)(_x(lib, 3)),
    "grad_and_value": lambda lib, F: F.grad_and_value(lambda x: _f(lib, x))(_x(lib, 5)),
    "grad_and_value_aux": lambda lib, F: F.grad_and_value(
        lambda x, y: (_f2(lib, x, y), x.mean()), argnums=(0, 1), has_aux=True)(
        _x(lib, 3), _x(lib, 3, seed=1)),
    "grad_pytree_arg": lambda lib, F: F.grad(
        lambda p, x: ((x @ p["w"] + p["b"]) ** 2).sum())(
        {"w": _x(lib, 3, 2), "b": _x(lib, 2, seed=1)}, _x(lib, 4, 3, seed=2)),
    "grad_kwargs": lambda lib, F: F.grad(lambda x, scale=1.0: (x * scale).pow(2).sum())(
        _x(lib, 3), scale=_t(lib, 3.0)),
    "grad_unused_input": lambda lib, F: F.grad(lambda x, y: (y ** 2).sum(), argnums=(0, 1))(
        _x(lib, 2), _x(lib, 3)),
    "grad_of_grad": lambda lib, F: F.grad(lambda x: F.grad(lambda z: _f(lib, z))(x).sum())(
        _x(lib, 4)),
    "grad_closure_over_outer": lambda lib, F: F.grad(
        lambda x: F.grad(lambda y: (x * y ** 2).sum())(x.cos()).sum())(_x(lib, 3)),
    # vjp
    "vjp": lambda lib, F: _vjp_then(F, lambda x: _vec(lib, x), (_x(lib, 4),),
                                    _x(lib, 8, seed=3)),
    "vjp_two_primals_tuple_out": lambda lib, F: _vjp_then(
        F, lambda x, y: _pair(lib, x, y), (_x(lib, 3), _x(lib, 2, seed=1)),
        (_x(lib, 3, seed=3), _x(lib, 3, 2, seed=4))),
    "vjp_dict_out_has_aux": lambda lib, F: _vjp_then(
        F, lambda x: ({"a": x.sin(), "b": x.sum()}, x.max()), (_x(lib, 3),),
        {"a": _x(lib, 3, seed=3), "b": _t(lib, 2.0)}, has_aux=True),
    "vjp_called_twice": lambda lib, F: _vjp_twice(lib, F),
    # jvp / linearize
    "jvp": lambda lib, F: F.jvp(lambda x: _vec(lib, x), (_x(lib, 4),), (_x(lib, 4, seed=1),)),
    "jvp_two_primals": lambda lib, F: F.jvp(lambda x, y: _pair(lib, x, y),
                                            (_x(lib, 3), _x(lib, 2, seed=1)),
                                            (_x(lib, 3, seed=2), _x(lib, 2, seed=3))),
    "jvp_has_aux": lambda lib, F: F.jvp(lambda x: (x.sin(), {"c": x.cos()}), (_x(lib, 3),),
                                        (_x(lib, 3, seed=1),), has_aux=True),
    "jvp_constant_output": lambda lib, F: F.jvp(lambda x: (x * 2, lib.ones(2, dtype=x.dtype)),
                                                (_x(lib, 2),), (_x(lib, 2, seed=1),)),
    "linearize": lambda lib, F: _linearize_twice(lib, F),
    # jacobians and hessians
    "jacrev": lambda lib, F: F.jacrev(lambda x: _vec(lib, x))(_x(lib, 4)),
    "jacfwd": lambda lib, F: F.jacfwd(lambda x: _vec(lib, x))(_x(lib, 4)),
    "jacrev_matrix": lambda lib, F: F.jacrev(lambda x: x @ x.T)(_x(lib, 2, 3)),
    "jacfwd_matrix": lambda lib, F: F.jacfwd(lambda x: x @ x.T)(_x(lib, 2, 3)),
    "jacrev_argnums_tuple": lambda lib, F: F.jacrev(lambda x, y: _pair(lib, x, y),
                                                    argnums=(0, 1))(_x(lib, 3), _x(lib, 2, seed=1)),
    "jacfwd_argnums_tuple": lambda lib, F: F.jacfwd(lambda x, y: _pair(lib, x, y),
                                                    argnums=(0, 1))(_x(lib, 3), _x(lib, 2, seed=1)),
    "jacrev_argnums_1": lambda lib, F: F.jacrev(lambda x, y: x * y ** 2, argnums=1)(
        _x(lib, 3), _x(lib, 3, seed=1)),
    "jacfwd_argnums_1": lambda lib, F: F.jacfwd(lambda x, y: x * y ** 2, argnums=1)(
        _x(lib, 3), _x(lib, 3, seed=1)),
    "jacrev_has_aux": lambda lib, F: F.jacrev(lambda x: (x.sin(), x.sum()), has_aux=True)(
        _x(lib, 3)),
    "jacfwd_has_aux": lambda lib, F: F.jacfwd(lambda x: (x.sin(), x.sum()), has_aux=True)(
        _x(lib, 3)),
    "jacrev_scalar_output": lambda lib, F: F.jacrev(lambda x: _f(lib, x))(_x(lib, 3)),
    "jacrev_chunk_size": lambda lib, F: F.jacrev(lambda x: _vec(lib, x), chunk_size=2)(
        _x(lib, 4)),
    "jacrev_of_jacrev": lambda lib, F: F.jacrev(F.jacrev(lambda x: _f(lib, x)))(_x(lib, 3)),
    "hessian": lambda lib, F: F.hessian(lambda x: _f(lib, x))(_x(lib, 4)),
    "hessian_matrix": lambda lib, F: F.hessian(lambda x: (x @ x.T).sin().sum())(_x(lib, 2, 2)),
    "hessian_argnums_tuple": lambda lib, F: F.hessian(lambda x, y: _f2(lib, x, y),
                                                      argnums=(0, 1))(_x(lib, 3),
                                                                      _x(lib, 3, seed=1)),
    # vmap
    "vmap_dim0": lambda lib, F: F.vmap(lambda x: x.sum() * x)(_x(lib, 3, 4)),
    "vmap_dim1": lambda lib, F: F.vmap(lambda x: x.softmax(0), in_dims=1)(_x(lib, 3, 4)),
    "vmap_negative_dim": lambda lib, F: F.vmap(lambda x: x.cumsum(0), in_dims=-1)(_x(lib, 3, 4)),
    "vmap_none": lambda lib, F: F.vmap(lambda x, w: x @ w, in_dims=(0, None))(
        _x(lib, 5, 3), _x(lib, 3, 2, seed=1)),
    "vmap_tuple": lambda lib, F: F.vmap(lambda x, y: x * y, in_dims=(1, 0))(
        _x(lib, 3, 4), _x(lib, 4, 3, seed=1)),
    "vmap_nested_in_dims": lambda lib, F: F.vmap(lambda x, yz: x + yz[0] * yz[1],
                                                 in_dims=(0, (1, None)))(
        _x(lib, 4, 2), (_x(lib, 2, 4, seed=1), _x(lib, 2, seed=2))),
    "vmap_dict_input": lambda lib, F: F.vmap(lambda d: d["a"] - d["b"].sum())(
        {"a": _x(lib, 3, 2), "b": _x(lib, 3, 5, seed=1)}),
    "vmap_out_dims_1": lambda lib, F: F.vmap(lambda x: x.outer(x), out_dims=1)(_x(lib, 2, 3)),
    "vmap_out_dims_tuple": lambda lib, F: F.vmap(lambda x: (x.sin(), x.sum()),
                                                 out_dims=(1, 0))(_x(lib, 3, 4)),
    "vmap_out_dims_none": lambda lib, F: F.vmap(lambda x, w: (x * w, w), in_dims=(0, None),
                                                out_dims=(0, None))(_x(lib, 3, 2), _x(lib, 2)),
    "vmap_out_dims_1_tuple": lambda lib, F: F.vmap(lambda x: x * 2, out_dims=(-1,))(
        _x(lib, 3, 2)),
    "vmap_kwargs": lambda lib, F: F.vmap(lambda x, scale: x * scale)(_x(lib, 3), scale=2.5),
    "vmap_scalar_output": lambda lib, F: F.vmap(lambda x: x.dot(x))(_x(lib, 4, 3)),
    "vmap_chunk_size": lambda lib, F: F.vmap(lambda x: x.exp(), chunk_size=2)(_x(lib, 5, 2)),
    "vmap_nested": lambda lib, F: F.vmap(F.vmap(lambda a, b: a * b, in_dims=(0, None)),
                                         in_dims=(None, 0))(_x(lib, 3), _x(lib, 4, seed=1)),
    "vmap_jacrev": lambda lib, F: F.vmap(F.jacrev(lambda x: x.sin() * x.sum()))(_x(lib, 4, 3)),
    "vmap_jvp": lambda lib, F: F.vmap(lambda x, t: F.jvp(lambda z: z.exp(), (x,), (t,)))(
        _x(lib, 3, 2), _x(lib, 3, 2, seed=1)),
    "vmap_grad": lambda lib, F: F.vmap(F.grad(lambda x, y: _f2(lib, x, y)), in_dims=(0, None))(
        _x(lib, 4, 3), _x(lib, 3, seed=1)),
    "grad_of_vmap": lambda lib, F: F.grad(lambda x: F.vmap(lambda r: r.norm())(x).sum())(
        _x(lib, 3, 2)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name):
    _compare(CASES[name](ember, ember.func), CASES[name](torch, torch.func))


def _linear_pair(lib):
    model = lib.nn.Linear(3, 2).double()
    with lib.no_grad():
        model.weight.copy_(_x(lib, 2, 3, seed=10))
        model.bias.copy_(_x(lib, 2, seed=11))
    return model


def _per_sample_grads(lib, F):
    """The torch.func tutorial: per-sample gradients of a model via functional_call."""
    model = _linear_pair(lib)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        predictions = F.functional_call(model, (params, buffers), (sample.unsqueeze(0),))
        return lib.nn.functional.mse_loss(predictions, target.unsqueeze(0))

    data, targets = _x(lib, 5, 3, seed=12), _x(lib, 5, 2, seed=13)
    return F.vmap(F.grad(compute_loss), in_dims=(None, None, 0, 0))(params, buffers, data, targets)


def test_per_sample_grads():
    e, t = _per_sample_grads(ember, ember.func), _per_sample_grads(torch, torch.func)
    _compare(e, t)
    assert e["weight"].shape == (5, 2, 3) and not e["weight"].requires_grad


def _ensemble(lib, F):
    """The model-ensembling tutorial: stack_module_state + vmap over functional_call."""
    models = []
    for seed in range(3):
        m = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Tanh()).double()
        with lib.no_grad():
            m[0].weight.copy_(_x(lib, 4, 3, seed=seed))
            m[0].bias.copy_(_x(lib, 4, seed=seed + 10))
        models.append(m.eval())
    params, buffers = F.stack_module_state(models)
    base = models[0]

    def call(p, b, x):
        return F.functional_call(base, (p, b), (x,))

    out = F.vmap(call, in_dims=(0, 0, None))(params, buffers, _x(lib, 6, 3, seed=20))
    flags = {k: (v.requires_grad, v.is_leaf) for k, v in {**params, **buffers}.items()}
    return params, buffers, out, flags


def test_stack_module_state_ensemble():
    e, t = _ensemble(ember, ember.func), _ensemble(torch, torch.func)
    _compare(e[:3], t[:3])
    assert e[3] == t[3]


def test_results_are_plain_for_plain_inputs():
    F = ember.func
    x = _x(ember, 3)
    assert not F.grad(lambda x: _f(ember, x))(x).requires_grad
    assert not x.requires_grad
    out, fn = F.vjp(lambda x: x.exp(), x)
    assert not out.requires_grad and not fn(x)[0].requires_grad
    assert not any(t.requires_grad for t in F.jvp(lambda x: x.exp(), (x,), (x,)))
    assert not F.hessian(lambda x: _f(ember, x))(x).requires_grad


def _composes(lib):
    """A transform's result stays differentiable w.r.t. tensors that require grad outside it
    (inputs and closures), and grad mode off outside gives plain results."""
    x, w = _x(lib, 3), _x(lib, 3, seed=1).requires_grad_()
    xr = x.clone().requires_grad_()
    g = lib.func.grad(lambda x: (x ** 3 * w).sum())(xr)
    g.sum().backward()
    with lib.no_grad():
        plain = lib.func.grad(lambda x: (x ** 3 * w).sum())(xr)
    return g, xr.grad, w.grad, plain.requires_grad


def test_composes_with_autograd_like_torch():
    e, t = _composes(ember), _composes(torch)
    _compare(e[:3], t[:3])
    assert e[3] is t[3] is False


def test_vmap_randomness():
    F = ember.func
    with pytest.raises(RuntimeError, match="randomness"):
        F.vmap(lambda x: x + ember.rand(()))(ember.zeros(3))
    same = F.vmap(lambda x: x + ember.rand(2), randomness="same")(ember.zeros(4, 2))
    assert (same == same[0]).all()
    different = F.vmap(lambda x: x + ember.rand(2), randomness="different")(ember.zeros(4, 2))
    assert not (different == different[0]).all()
    assert F.vmap(lambda x: x * 2)(ember.ones(2)).tolist() == [2.0, 2.0]


def test_on_device(device):
    F = ember.func
    x = ember.tensor(np.linspace(-1, 1, 6).reshape(2, 3), device=device)
    g = F.vmap(F.grad(lambda r: (r.sin() * r).sum()))(x)
    jac = F.jacfwd(lambda r: r.exp())(x[0])
    assert g.device == x.device and jac.device == x.device
    xt = torch.from_numpy(np.linspace(-1, 1, 6).reshape(2, 3))
    assert_close(g.cpu(), torch.func.vmap(torch.func.grad(lambda r: (r.sin() * r).sum()))(xt))
    assert_close(jac.cpu(), torch.func.jacfwd(torch.exp)(xt[0]))


def _models(lib, n=2, mixed_class=False, mixed_mode=False):
    ms = [lib.nn.Linear(2, 2) for _ in range(n)]
    if mixed_class:
        ms[-1] = lib.nn.Identity()
    if mixed_mode:
        ms[-1].eval()
    return ms


ERRORS = {
    "grad_non_scalar": lambda lib, F: F.grad(lambda x: x * 2)(_x(lib, 3)),
    "grad_not_tensor": lambda lib, F: F.grad(lambda x: 1.0)(_x(lib, 3)),
    "grad_aux_not_pair": lambda lib, F: F.grad(lambda x: x.sum(), has_aux=True)(_x(lib, 3)),
    "grad_aux_not_tensors": lambda lib, F: F.grad(lambda x: (x.sum(), 3), has_aux=True)(
        _x(lib, 3)),
    "grad_argnum_out_of_range": lambda lib, F: F.grad(lambda x: x.sum(), argnums=2)(_x(lib, 3)),
    "grad_argnums_empty": lambda lib, F: F.grad(lambda x: x.sum(), argnums=())(_x(lib, 3)),
    "grad_argnums_repeated": lambda lib, F: F.grad(lambda x, y: x.sum(), argnums=(0, 0))(
        _x(lib, 3), _x(lib, 3)),
    "grad_argnums_list": lambda lib, F: F.grad(lambda x: x.sum(), argnums=[0])(_x(lib, 3)),
    "grad_non_tensor_arg": lambda lib, F: F.grad(lambda x: x * 2)(3.0),
    "vjp_int_output": lambda lib, F: F.vjp(lambda x: (x > 0).long(), _x(lib, 3)),
    "vjp_cotangent_structure": lambda lib, F: F.vjp(lambda x: (x, x), _x(lib, 3))[1](
        _x(lib, 3)),
    "vjp_no_output": lambda lib, F: F.vjp(lambda x: None, _x(lib, 3)),
    "jvp_primals_not_tuple": lambda lib, F: F.jvp(lambda x: x, _x(lib, 3), (_x(lib, 3),)),
    "jvp_structure_mismatch": lambda lib, F: F.jvp(lambda x: x, (_x(lib, 3),),
                                                   (_x(lib, 3), _x(lib, 3))),
    "jvp_tangent_shape": lambda lib, F: F.jvp(lambda x: x, (_x(lib, 3),), (_x(lib, 2),)),
    "jvp_non_tensor_primal": lambda lib, F: F.jvp(lambda x: x, (1.0,), (1.0,)),
    "jacrev_chunk_size_0": lambda lib, F: F.jacrev(lambda x: x, chunk_size=0),
    "jacrev_complex": lambda lib, F: F.jacrev(lambda x: x)(_x(lib, 2) * 1j),
    "jacfwd_bad_randomness": lambda lib, F: F.jacfwd(lambda x: x, randomness="x")(_x(lib, 2)),
    "vmap_batch_mismatch": lambda lib, F: F.vmap(lambda x, y: x + y)(_x(lib, 2), _x(lib, 3)),
    "vmap_in_dim_out_of_range": lambda lib, F: F.vmap(lambda x: x, in_dims=2)(_x(lib, 2, 3)),
    "vmap_in_dim_non_tensor": lambda lib, F: F.vmap(lambda x, s: x * s)(_x(lib, 2), 3.0),
    "vmap_in_dims_list": lambda lib, F: F.vmap(lambda x: x, in_dims=[0])(_x(lib, 2)),
    "vmap_in_dims_structure": lambda lib, F: F.vmap(lambda x, y: x, in_dims=(0, 0, 0))(
        _x(lib, 2), _x(lib, 2)),
    "vmap_in_dim_float": lambda lib, F: F.vmap(lambda x: x, in_dims=(0.0,))(_x(lib, 2)),
    "vmap_nothing_mapped": lambda lib, F: F.vmap(lambda x: x, in_dims=None)(_x(lib, 2)),
    "vmap_no_inputs": lambda lib, F: F.vmap(lambda: 1)(),
    "vmap_non_tensor_output": lambda lib, F: F.vmap(lambda x: 1.0)(_x(lib, 2)),
    "vmap_out_dims_structure": lambda lib, F: F.vmap(lambda x: x, out_dims=(0, 0))(_x(lib, 2)),
    "vmap_out_dims_float": lambda lib, F: F.vmap(lambda x: x, out_dims=0.5)(_x(lib, 2)),
    "vmap_out_dim_out_of_range": lambda lib, F: F.vmap(lambda x: x, out_dims=3)(_x(lib, 2)),
    "vmap_bad_randomness": lambda lib, F: F.vmap(lambda x: x, randomness="sometimes"),
    "vmap_chunk_size_0": lambda lib, F: F.vmap(lambda x: x, chunk_size=0),
    "stack_no_models": lambda lib, F: F.stack_module_state([]),
    "stack_mixed_classes": lambda lib, F: F.stack_module_state(_models(lib, mixed_class=True)),
    "stack_mixed_modes": lambda lib, F: F.stack_module_state(_models(lib, mixed_mode=True)),
}


def _raised(fn):
    try:
        fn()
    except Exception as exc:        # noqa: BLE001 - the class is what is compared
        return type(exc)
    return None


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    expected = _raised(lambda: ERRORS[name](torch, torch.func))
    assert expected is not None
    assert _raised(lambda: ERRORS[name](ember, ember.func)) is expected


def test_func_is_imported_lazily():
    code = ("import sys, ember; print('ember.func' in sys.modules); "
            "ember.func.grad; print('ember.func' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True"]


def test_replace_all_batch_norm_modules_like_torch():
    """Batch norms stop tracking running statistics, so that vmap can run them per sample."""
    seen = []
    for lib in (ember, torch):
        m = lib.nn.Sequential(lib.nn.Conv2d(1, 2, 3), lib.nn.BatchNorm2d(2),
                              lib.nn.Sequential(lib.nn.BatchNorm1d(3, track_running_stats=True)))
        assert lib.func.replace_all_batch_norm_modules_(m) is m
        seen.append(([(type(x).__name__, x.track_running_stats, x.running_mean is None,
                       x.running_var is None, x.num_batches_tracked is None)
                      for x in m.modules() if "BatchNorm" in type(x).__name__],
                     list(m.state_dict())))
        out = m[:2](lib.ones(4, 1, 5, 5))          # runs on batch statistics
        assert tuple(out.shape) == (4, 2, 3, 3)
    assert seen[0] == seen[1]
