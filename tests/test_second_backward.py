"""A second backward through a graph that was not retained: torch raises "Trying to backward
through the graph a second time" where a node of the graph held saved tensors (freed by the
first backward) and runs again where none did. ember must agree on every op of the table, on
nn's functions and modules, and on the grad_fn-name cases; where both run, the twice
accumulated gradients agree."""
import importlib.util
import os

import numpy as np
import pytest
import torch

import ember
from oracle import assert_close
from opspecs import ALL_SPECS, materialize
from test_grad_fn_names import CASES as NAME_CASES, _inputs
from test_ops import _ember_args, _torch_args

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_node_table_is_torchs():
    """ember/autograd/_torch_saved.py is what scripts/gen_torch_saved_nodes.py reads off torch."""
    spec = importlib.util.spec_from_file_location(
        "gen_torch_saved_nodes", os.path.join(_ROOT, "scripts", "gen_torch_saved_nodes.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    from ember.autograd._torch_saved import PLAIN, SAVES
    saves, plain = gen.torch_node_classes()
    assert (sorted(SAVES), sorted(PLAIN)) == (saves, plain)


def _twice(out, lib):
    """Backward twice with the same cotangent: None if the second ran, else the error."""
    w = lib.tensor(np.random.default_rng(9).standard_normal(tuple(out.shape)), dtype=out.dtype)
    out.backward(w)
    try:
        out.backward(w)
    except RuntimeError as e:
        return type(e), str(e).split(".")[0]
    return None


def _same_outcome(e_out, t_out, e_leaves, t_leaves):
    e, t = _twice(e_out, ember), _twice(t_out, torch)
    assert e == t
    if t is None:
        for el, tl in zip(e_leaves, t_leaves):
            if tl.grad is not None:
                assert_close(el.grad, tl.grad)


_GRAD_SPECS = [s for s in ALL_SPECS if s.grad and "float64" in s.dtypes]


@pytest.mark.parametrize("spec", _GRAD_SPECS, ids=lambda s: s.name)
def test_op_table(spec):
    compared = 0
    for i, sample in enumerate(spec.samples[:2]):
        items = materialize(sample, "float64", spec.domain, seed=i)
        e_args, t_args = _ember_args(items, "cpu", True), _torch_args(items, True)
        try:
            t_out = spec.fn(*t_args)
        except RuntimeError:        # (a sample torch refuses: test_ops compares the errors)
            continue
        if not getattr(t_out, "requires_grad", False):
            continue
        e_out = spec.fn(*e_args)
        leaves = [(e, t) for e, t in zip(e_args, t_args)
                  if isinstance(t, torch.Tensor) and t.requires_grad]
        _same_outcome(e_out, t_out, *zip(*leaves))
        compared += 1
    if not compared:
        pytest.skip(f"{spec.name}: no sample records a graph")


def _F(L):
    return L.nn.functional


def _r(L, *shape, seed=0, positive=False):
    a = np.random.default_rng(seed).standard_normal(shape)
    return L.tensor(np.abs(a) + 0.1 if positive else a, requires_grad=True)


def _long(L, v):
    return L.tensor(v)


# f(L) -> output; every tensor made by _r requires grad
NN = {
    "conv2d": lambda L: _F(L).conv2d(_r(L, 2, 3, 6, 6), _r(L, 4, 3, 3, 3, seed=1),
                                     _r(L, 4, seed=2), padding=1),
    "conv_transpose2d": lambda L: _F(L).conv_transpose2d(_r(L, 2, 3, 5, 5),
                                                         _r(L, 3, 4, 3, 3, seed=1)),
    "max_pool2d": lambda L: _F(L).max_pool2d(_r(L, 2, 3, 6, 6), 2),
    "max_pool1d": lambda L: _F(L).max_pool1d(_r(L, 2, 3, 6), 2),
    "avg_pool2d": lambda L: _F(L).avg_pool2d(_r(L, 2, 3, 6, 6), 2),
    "adaptive_avg_pool2d": lambda L: _F(L).adaptive_avg_pool2d(_r(L, 2, 3, 6, 6), 3),
    "adaptive_max_pool2d": lambda L: _F(L).adaptive_max_pool2d(_r(L, 2, 3, 6, 6), 3),
    "embedding": lambda L: _F(L).embedding(_long(L, [[0, 2], [1, 3]]), _r(L, 5, 3)),
    "embedding_bag": lambda L: _F(L).embedding_bag(_long(L, [0, 2, 1, 3]), _r(L, 5, 3),
                                                   _long(L, [0, 2])),
    "batch_norm": lambda L: _F(L).batch_norm(_r(L, 4, 3), None, None, _r(L, 3, seed=1),
                                             _r(L, 3, seed=2), training=True),
    "layer_norm": lambda L: _F(L).layer_norm(_r(L, 4, 3), (3,), _r(L, 3, seed=1),
                                             _r(L, 3, seed=2)),
    "group_norm": lambda L: _F(L).group_norm(_r(L, 2, 4, 3), 2, _r(L, 4, seed=1)),
    "relu": lambda L: _F(L).relu(_r(L, 4, 3)),
    "gelu": lambda L: _F(L).gelu(_r(L, 4, 3)),
    "silu": lambda L: _F(L).silu(_r(L, 4, 3)),
    "tanhshrink": lambda L: _F(L).tanhshrink(_r(L, 4, 3)),
    "softsign": lambda L: _F(L).softsign(_r(L, 4, 3)),
    "hardtanh": lambda L: _F(L).hardtanh(_r(L, 4, 3)),
    "softmax": lambda L: _F(L).softmax(_r(L, 4, 3), 1),
    "dropout_eval": lambda L: _F(L).dropout(_r(L, 4, 3), training=False),
    "pad_constant": lambda L: _F(L).pad(_r(L, 2, 3, 4), (1, 2)),
    "pad_reflect": lambda L: _F(L).pad(_r(L, 2, 3, 4), (1, 2), mode="reflect"),
    "pad_circular": lambda L: _F(L).pad(_r(L, 2, 3, 4), (1, 2), mode="circular"),
    "interpolate_nearest": lambda L: _F(L).interpolate(_r(L, 1, 2, 3, 3), scale_factor=2),
    "interpolate_bilinear": lambda L: _F(L).interpolate(_r(L, 1, 2, 3, 3), scale_factor=2,
                                                        mode="bilinear"),
    "interpolate_area": lambda L: _F(L).interpolate(_r(L, 1, 2, 4, 4), size=2, mode="area"),
    "unfold": lambda L: _F(L).unfold(_r(L, 1, 2, 4, 4), 2),
    "grid_sample": lambda L: _F(L).grid_sample(_r(L, 1, 2, 4, 4),
                                               _r(L, 1, 3, 3, 2, seed=1).tanh(),
                                               align_corners=False),
    "sdpa": lambda L: _F(L).scaled_dot_product_attention(
        _r(L, 1, 2, 3, 4), _r(L, 1, 2, 3, 4, seed=1), _r(L, 1, 2, 3, 4, seed=2)),
    "linear_3d": lambda L: _F(L).linear(_r(L, 2, 3, 4), _r(L, 5, 4, seed=1)),
    "linear_1d": lambda L: _F(L).linear(_r(L, 4), _r(L, 5, 4, seed=1), _r(L, 5, seed=2)),
    "matmul_3d_1d": lambda L: L.matmul(_r(L, 2, 3, 4), _r(L, 4, seed=1)),
    "cdist": lambda L: L.cdist(_r(L, 4, 3), _r(L, 5, 3, seed=1)),
    "l1_loss": lambda L: _F(L).l1_loss(_r(L, 4, 3), _r(L, 4, 3, seed=1)),
    "kl_div": lambda L: _F(L).kl_div(_r(L, 4, 3), _r(L, 4, 3, seed=1, positive=True)),
    "nll_loss_2d": lambda L: _F(L).nll_loss(_r(L, 2, 3, 2, 2),
                                            _long(L, [[[0, 1], [2, 0]], [[1, 1], [0, 2]]])),
    "cross_entropy_weight": lambda L: _F(L).cross_entropy(
        _r(L, 4, 3), _long(L, [0, 1, 2, 0]), weight=L.tensor([1.0, 2.0, 3.0],
                                                             dtype=L.float64)),
    "cross_entropy_smoothing": lambda L: _F(L).cross_entropy(
        _r(L, 4, 3), _long(L, [0, 1, 2, 0]), label_smoothing=0.1),
    "ctc_loss": lambda L: _F(L).ctc_loss(_r(L, 6, 2, 4).log_softmax(2),
                                         _long(L, [[1, 2], [3, 1]]), _long(L, [6, 6]),
                                         _long(L, [2, 2])),
    "trapezoid": lambda L: L.trapezoid(_r(L, 3, 5)),
    "trapezoid_x": lambda L: L.trapezoid(_r(L, 2, 3, 4), _r(L, 3, 4, seed=1)),
    "cumulative_trapezoid_dx": lambda L: L.cumulative_trapezoid(_r(L, 3, 5), dx=0.5),
    "gradient_edge2": lambda L: L.gradient(_r(L, 3, 5), spacing=2.0, edge_order=2)[1],
    "fmod_scalar": lambda L: _r(L, 4, 3).fmod(1.5),
    "lerp_scalar": lambda L: L.lerp(_r(L, 4), _r(L, 4, seed=1), 0.3),
    "setitem_constant": lambda L: _setitem(L),
}


def _setitem(L):
    y = _r(L, 4) * 1
    y[1:3] = 0.5
    return y


def _module(L, name):
    L.manual_seed(0)
    m = {"LSTM": lambda: L.nn.LSTM(3, 4, batch_first=True), "GRU": lambda: L.nn.GRU(3, 4),
         "MultiheadAttention": lambda: L.nn.MultiheadAttention(4, 2),
         "TransformerEncoderLayer": lambda: L.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0),
         "Bilinear": lambda: L.nn.Bilinear(3, 3, 2)}[name]().double()
    if name == "Bilinear":
        return m(_r(L, 2, 3), _r(L, 2, 3, seed=1))
    x = _r(L, 2, 3, 3) if name in ("LSTM", "GRU") else _r(L, 3, 2, 4)
    if name == "MultiheadAttention":
        return m(x, x, x)[0]
    return m(x)[0] if name in ("LSTM", "GRU") else m(x)


for _name in ("LSTM", "GRU", "MultiheadAttention", "TransformerEncoderLayer", "Bilinear"):
    NN["module_" + _name] = (lambda n: lambda L: _module(L, n))(_name)
for _name, _fn in NAME_CASES.items():
    NN["names_" + _name] = (lambda f: lambda L: f(L, _inputs(L, "float64")))(_fn)


@pytest.mark.parametrize("name", sorted(NN))
def test_nn_and_named_cases(name):
    # the outputs alone: the leaves' gradients are compared by test_nn_* and test_grad_fn_names
    e, t = _twice(NN[name](ember), ember), _twice(NN[name](torch), torch)
    assert e == t


def test_trapezoid_with_fewer_dims_of_x():
    """x with fewer dims than y lines up with y's last dims (ember differenced the wrong dim
    or raised)."""
    r = np.random.default_rng(0)
    y, x = r.standard_normal((2, 3, 4)), r.standard_normal((3, 4))
    for dim in (-1, 1):
        for f in ("trapezoid", "cumulative_trapezoid"):
            e = getattr(ember, f)(ember.tensor(y), ember.tensor(x), dim=dim)
            t = getattr(torch, f)(torch.tensor(y), torch.tensor(x), dim=dim)
            assert_close(e, t)


@pytest.mark.parametrize("f", [
    lambda L, a, b: L.lerp(a, b, 0.3),          # LerpBackward0 saves the number only
    lambda L, a, b: a.fmod(1.5),                # FmodBackward0, RemainderBackward0: nothing
    lambda L, a, b: a.remainder(1.5),
    lambda L, a, b: L.trapezoid(a),
    lambda L, a, b: L.lerp(a, b, b),            # LerpBackward1 saves its inputs: raises
    lambda L, a, b: a.fmod(b),
], ids=["lerp_scalar", "fmod_scalar", "remainder_scalar", "trapezoid", "lerp_tensor",
        "fmod_tensor"])
def test_input_written_after_the_op(f):
    """Writing an op's input in place before backward raises only where torch's node saved
    that input (ember checked the inputs of every op that reads them, by the op)."""
    def run(L):
        x = L.tensor([0.5, -1.25, 2.0], requires_grad=True)
        b = L.tensor([0.25, 0.5, 0.75], requires_grad=True)
        a = x * 1
        y = f(L, a, b)
        a.add_(1)
        try:
            y.sum().backward()
        except RuntimeError as e:
            return str(e).split(":")[0]
        return x.grad.tolist(), None if b.grad is None else b.grad.tolist()
    assert run(ember) == run(torch)
