"""Regressions found by running torch's legacy nn test tables (common_nn's module_tests,
get_new_module_tests() and criterion_tests) through ember: each case as torch computes it."""
import pytest
import torch

import ember
from test_probe7 import _outcome


def _mm_none(L, x_shape, t):
    x = L.ones(x_shape, dtype=L.double, requires_grad=True)
    out = L.nn.functional.multi_margin_loss(x, L.tensor(t), reduction="none", p=2)
    out.backward(L.ones_like(out))
    return out, x.grad


def _sparse_embedding_grad(L, cls, w_requires_grad):
    m = getattr(L.nn, cls)(4, 3, sparse=True, dtype=L.double)
    with L.no_grad():
        m.weight.copy_(L.arange(12.).reshape(4, 3))
    out = m(L.tensor([[0, 1], [2, 2]]))
    w = L.ones_like(out, requires_grad=w_requires_grad)
    g, = L.autograd.grad((out * w).sum(), [m.weight], create_graph=True)
    gw = L.autograd.grad(g.coalesce().values().sum(), [w]) if w_requires_grad else None
    return g.to_dense(), g.requires_grad, g.is_coalesced(), gw


def _second_order(L, f, w_requires_grad=False):
    """x's gradient with create_graph=True for a constant (or not) grad_output, then the
    gradients of its square's sum."""
    L.manual_seed(0)
    x = L.randn(3, 4, dtype=L.double, requires_grad=True)
    w = L.randn(3, 4, dtype=L.double, requires_grad=w_requires_grad)
    g, = L.autograd.grad((f(L.nn.functional, x) * w).sum(), [x], create_graph=True)
    return g, g.requires_grad, L.autograd.grad((g * g).sum(), [x, w][:1 + w_requires_grad])


def _rrelu_second_order(L):
    L.manual_seed(0)
    x = L.randn(3, 4, dtype=L.double, requires_grad=True)
    w = L.randn(3, 4, dtype=L.double, requires_grad=True)
    L.manual_seed(5)
    y = L.nn.functional.rrelu(x, 0.1, 0.9, training=True)
    g, = L.autograd.grad((y * w).sum(), [x], create_graph=True)
    return g, L.autograd.grad((g * g).sum(), [w])


def _nan_amin_grad(L):
    x = L.tensor([[1., float("nan"), -2.]], requires_grad=True)
    x.amin(0).backward(-L.ones(3))
    return x.grad


def _takes_input(L, f, shape):
    """torch's backward of these ops takes the input (its derivative there zeros): with
    create_graph=True the gradient requires grad, and the input's second-order gradient is 0."""
    L.manual_seed(0)
    x = L.randn(shape, dtype=L.double, requires_grad=True)
    g, = L.autograd.grad(f(L.nn.functional, x).sum(), [x], create_graph=True)
    return g.requires_grad, L.autograd.grad(g.sum(), [x])


def _undifferentiated(L, loss):
    """torch does not differentiate these backward ops: create_graph=True gives a gradient
    under a NotImplemented node, which a second backward reaches and refuses."""
    L.manual_seed(0)
    x = L.randn(3, 4, dtype=L.double, requires_grad=True)
    g, = L.autograd.grad(loss(L.nn.functional, x, L.tensor([[3, 0, -1, 1], [1, 2, 3, -1],
                                                             [0, -1, 2, 2]])), [x],
                         create_graph=True)
    return (g, type(g.grad_fn).__name__, g.requires_grad,
            _outcome(lambda: L.autograd.grad(g.sum(), [x])))


def _bf16_conv(L, ci, co, groups):
    """A bfloat16 convolution's gradients, computed in float32 and rounded once as torch's."""
    m = L.nn.Conv2d(ci, co, 3, groups=groups, padding=1)
    with L.no_grad():
        m.weight.copy_(L.arange(m.weight.numel()).reshape(m.weight.shape).cos())
        m.bias.copy_(L.arange(co).sin())
    m = m.to(L.bfloat16)
    x = (L.arange(2 * ci * 49).reshape(2, ci, 7, 7) * 0.3).sin().to(L.bfloat16)
    x.requires_grad_()
    y = m(x)
    y.backward((L.arange(y.numel()).reshape(y.shape) * 0.7).cos().mul(3).to(L.bfloat16))
    return y, x.grad, m.weight.grad, m.bias.grad


def _embedding_bag(L, dtype):
    """torch scales mean's gradient by the reciprocal of the bag size, taken in the dtype."""
    m = L.nn.EmbeddingBag(10, 4, mode="mean").to(getattr(L, dtype))
    y = m(L.tensor([[0, 2, 4, 5, 6, 7, 9], [1, 2, 3, 4, 5, 6, 8]]))
    y.backward(L.tensor([[0.3, -0.7, 1.9, 0.01], [0.17, 2.3, -0.4, 1.1]]).to(y.dtype))
    return m.weight.grad


def _empty_batch_depthwise(L, dtype):
    m = L.nn.Conv2d(4, 4, 3, groups=4, padding=1).to(getattr(L, dtype))
    x = L.zeros(0, 4, 6, 6, dtype=getattr(L, dtype), requires_grad=True)
    y = m(x)
    y.sum().backward()
    return y, x.grad, m.weight.grad, m.bias.grad


def _empty_pixel_unshuffle(L):
    x = L.zeros(0, 1, 12, 12, requires_grad=True)
    y = L.nn.PixelUnshuffle(3)(x)
    return y, type(y.grad_fn).__name__, _outcome(lambda: y.sum().backward())


def _with_default_double(L, f):
    L.set_default_dtype(L.float64)
    try:
        return f()
    finally:
        L.set_default_dtype(L.float32)


def _sdpa_second_order(L):
    L.manual_seed(0)
    q, k, v = (L.randn(2, 3, 4, 5, dtype=L.double, requires_grad=True) for _ in range(3))
    y = L.nn.functional.scaled_dot_product_attention(q, k, v)
    g = L.autograd.grad((y * y).sum(), [q, k, v], create_graph=True)
    return g, [type(x.grad_fn).__name__ for x in g], _outcome(
        lambda: L.autograd.grad(g[0].sum(), [q]))


def _lrn_create_graph(L, create_graph=True):
    """torch's legacy CrossMapLRN2d backward writes with out=: it refuses create_graph."""
    x = (L.arange(216.).reshape(2, 3, 6, 6) * 0.1).sin().double().requires_grad_()
    y = L.nn.CrossMapLRN2d(5, 5e-3, 1e-3, 2)(x)
    return L.autograd.grad(y.sum(), [x], create_graph=create_graph)


def _layer_second_order(L, layer):
    x = L.ones(5, 3, 8, requires_grad=True)
    g, = L.autograd.grad(layer(x).pow(2).sum(), [x], create_graph=True)
    return _outcome(lambda: L.autograd.grad(g.sum(), [x])[0].shape)


def _huber_backward(L, x_dtype, t_dtype):
    x = L.tensor([1., 3., -2.], dtype=getattr(L, x_dtype), requires_grad=True)
    y = L.nn.HuberLoss(delta=0.5)(x, L.tensor([2, 2, 2]).to(getattr(L, t_dtype)))
    return y, _outcome(lambda: (y.backward(), x.grad)[1])


def _forward_ad(L, f):
    fa = L.autograd.forward_ad
    with fa.dual_level():
        x = fa.make_dual(L.tensor([[0.5, -1., 2.], [1.5, 0.2, -0.3]]), L.ones(2, 3))
        return fa.unpack_dual(f(L, L.nn.functional, x)).tangent


def _grad_0d(L, f, g):
    x = L.tensor(0.5, requires_grad=True)
    getattr(L, f)(x, 0).backward(L.tensor(g))
    return repr(x.grad.item())


def _create_graph_grad(L, f):
    x = L.tensor([-1., 2., -0.1, 0.7], dtype=L.double, requires_grad=True)
    g, = L.autograd.grad(f(L.nn.functional, x).sum(), [x], create_graph=True)
    return str(g.dtype)[-7:], g.tolist()    # in float64 (_outcome compares float32 values)


def _grad_of(L, f, dtype="float32"):
    """x's gradient for a negative grad_output: torch's select-style kernels leave +0.0."""
    x = L.tensor([-1., 2., -3., 0.5, 5., -6., -3., 3.] * 9,
                 dtype=getattr(L, dtype), requires_grad=True)
    y = f(L.nn.functional, x)
    y.backward(-L.ones_like(y))
    return x.grad


_CASES = {
    # one loss per sample unless the target is 0-d (the input's rank does not decide)
    "multi_margin_loss none, 1-d input, 1-d target": lambda L: _mm_none(L, (10,), [3]),
    "multi_margin_loss none, 2-d input, 0-d target": lambda L: _mm_none(L, (1, 10), 3),
    # create_graph=True through a sparse embedding (its values a differentiable sparse tensor)
    "sparse Embedding grad, create_graph": lambda L: _sparse_embedding_grad(L, "Embedding", False),
    "sparse Embedding grad of grad": lambda L: _sparse_embedding_grad(L, "Embedding", True),
    "sparse EmbeddingBag grad, create_graph": lambda L: _sparse_embedding_grad(
        L, "EmbeddingBag", False),
    # double backward computes leaky_relu's slope in the input's dtype (NumPy's where of two
    # Python floats is float64), not the default dtype
    "leaky_relu's gradient in float64, create_graph": lambda L: _create_graph_grad(
        L, lambda F, x: F.leaky_relu(x, 0.2)),
    # a piecewise-linear op's gradient depends on x through its mask: with create_graph it
    # requires grad (torch's ThresholdBackwardBackward0 takes self) and x's second-order
    # gradient is zeros, not missing
    "relu's gradient, create_graph": lambda L: _second_order(L, lambda F, x: F.relu(x)),
    "ReLU6's gradient, create_graph": lambda L: _second_order(L, lambda F, x: F.relu6(x)),
    "leaky_relu's gradient, create_graph": lambda L: _second_order(
        L, lambda F, x: F.leaky_relu(x, 0.2), True),
    "Hardshrink's gradient, create_graph": lambda L: _second_order(
        L, lambda F, x: F.hardshrink(x, 0.3), True),
    "Threshold's gradient, create_graph": lambda L: _second_order(
        L, lambda F, x: F.threshold(x, 0.1, 20.)),
    "nll_loss, create_graph": lambda L: _takes_input(
        L, lambda F, x: F.nll_loss(x, L.tensor([0, 1]), reduction="none"), (2, 3)),
    "nll_loss2d, create_graph": lambda L: _takes_input(
        L, lambda F, x: F.nll_loss(x, L.zeros(2, 4, 4, dtype=L.long)), (2, 3, 4, 4)),
    "replicate pad, create_graph": lambda L: _takes_input(
        L, lambda F, x: F.pad(x, (1, 1, 1, 1, 1, 1), mode="replicate"), (1, 2, 3, 3, 3)),
    "reflect pad, create_graph": lambda L: _takes_input(
        L, lambda F, x: F.pad(x, (1, 1), mode="reflect"), (2, 3, 4)),
    "avg_pool2d, create_graph": lambda L: _takes_input(
        L, lambda F, x: F.avg_pool2d(x, 2), (2, 3, 4, 4)),
    "adaptive_avg_pool2d, create_graph": lambda L: _takes_input(
        L, lambda F, x: F.adaptive_avg_pool2d(x, 3), (2, 3, 4, 4)),
    "adaptive_max_pool1d, create_graph": lambda L: _takes_input(
        L, lambda F, x: F.adaptive_max_pool1d(x, 3), (2, 3, 4)),
    "max_pool3d, create_graph": lambda L: _takes_input(
        L, lambda F, x: F.max_pool3d(x, 2), (1, 2, 4, 4, 4)),
    "bfloat16 depthwise conv2d backward": lambda L: _bf16_conv(L, 4, 4, 4),
    "bfloat16 conv2d backward, bias": lambda L: _bf16_conv(L, 4, 8, 1),
    # bfloat16 ** a float is float32 in NumPy; torch's distance keeps bfloat16
    "PairwiseDistance(p=1.5) of bfloat16": lambda L: L.nn.PairwiseDistance(1.5, 1e-05, True)(
        (L.arange(12.).reshape(3, 4) * 0.37).sin().to(L.bfloat16), L.zeros(3, 4).bfloat16()),
    # kernels dispatched on float and double only (rrelu's training one takes bfloat16 too)
    **{f"{name} of {dt}": (lambda f, dt: lambda L: f(L.nn.functional, L.ones(2, 3).to(
        getattr(L, dt))))(f, dt) for dt in ("float16", "bfloat16") for name, f in {
        "multi_margin_loss": lambda F, x: F.multi_margin_loss(x, x.new_tensor([0, 1]).long()),
        "multilabel_margin_loss": lambda F, x: F.multilabel_margin_loss(
            x, x.new_tensor([[0, 1, -1], [1, -1, 0]]).long()),
        "rrelu, training": lambda F, x: F.rrelu(x, training=True).shape}.items()},
    **{f"EmbeddingBag mean backward, {dt}": (lambda dt: lambda L: _embedding_bag(L, dt))(dt)
       for dt in ("bfloat16", "float16", "float64")},
    "depthwise conv2d of an empty batch": lambda L: _empty_batch_depthwise(L, "float32"),
    "depthwise conv2d of an empty batch, bfloat16": lambda L: _empty_batch_depthwise(
        L, "bfloat16"),
    # torch returns an empty input unchanged (and its backward then refuses that shape)
    "PixelUnshuffle of an empty batch": _empty_pixel_unshuffle,
    # torch's linear refusals, in its order
    "Linear of a 0-d input": lambda L: L.nn.Linear(4, 3)(L.tensor(1.)),
    "linear with a 0-d weight": lambda L: L.nn.functional.linear(L.ones(4), L.tensor(2.)),
    "linear with a 3-d weight": lambda L: L.nn.functional.linear(L.ones(4), L.ones(3, 4, 2)),
    "linear with a 1-d weight, a 2-d input and a bias": lambda L: L.nn.functional.linear(
        L.ones(2, 4), L.ones(4), L.tensor(1.)),
    # the margin losses' shape checks, in torch's words and order
    **{f"{name}: {what}": (lambda f: lambda L: f(L.nn.functional, L))(f) for name, cases in {
        "multi_margin_loss": {
            "3-d input": lambda F, L: F.multi_margin_loss(L.ones(1, 5, 10), L.zeros(5).long()),
            "rows of nothing": lambda F, L: F.multi_margin_loss(L.ones(3, 0), L.zeros(3).long()),
            "empty vector": lambda F, L: F.multi_margin_loss(L.ones(0), L.zeros(0).long()),
            "1-d input, 5 targets": lambda F, L: F.multi_margin_loss(L.ones(10),
                                                                     L.zeros(5).long()),
            "2-d target": lambda F, L: F.multi_margin_loss(L.ones(3, 4), L.zeros(3, 1).long()),
            "size before range": lambda F, L: F.multi_margin_loss(L.ones(3, 4),
                                                                  L.tensor([0, 9])),
            "weight size": lambda F, L: F.multi_margin_loss(L.ones(3, 4), L.zeros(3).long(),
                                                            weight=L.ones(3)),
            "shape before dtype": lambda F, L: F.multi_margin_loss(L.ones(3, 0).half(),
                                                                   L.zeros(3).long())},
        "multilabel_margin_loss": {
            "3-d input": lambda F, L: F.multilabel_margin_loss(L.ones(1, 5, 10),
                                                               L.zeros(1, 5, 10).long()),
            "empty vector": lambda F, L: F.multilabel_margin_loss(L.ones(0), L.zeros(0).long()),
            "1-element input, 0-d target": lambda F, L: F.multilabel_margin_loss(
                L.ones(1), L.tensor(0)),
            "0-d input, 1-element target": lambda F, L: F.multilabel_margin_loss(
                L.tensor(1.), L.tensor([0])),
            "range before dtype": lambda F, L: F.multilabel_margin_loss(
                L.ones(2, 3).half(), L.tensor([[0, 5, -1], [0, 1, 2]]))},
    }.items() for what, f in cases.items()},
    # torch's upsampling kernels take an empty batch but not empty samples (area's does)
    **{f"interpolate {mode} of {shape}": (lambda shape, mode: lambda L: L.nn.functional.interpolate(
        L.zeros(shape), size=(12,) * (len(shape) - 2), mode=mode))(shape, mode)
       for shape, mode in (((1, 0, 2, 4), "nearest"), ((1, 0, 4), "linear"),
                           ((0, 0, 2, 4), "bilinear"), ((1, 0, 2, 4, 4), "nearest-exact"),
                           ((1, 0, 2, 4), "area"), ((0, 2, 4), "nearest"))},
    # torch's soft_margin_loss multiplies into the input in place: the target broadcasts to it
    **{f"soft_margin_loss of {a} and {b}": (lambda a, b: lambda L: L.nn.functional.
                                            soft_margin_loss(L.ones(a), L.ones(b),
                                                             reduction="none"))(a, b)
       for a, b in (((5,), (5, 5)), ((1, 5), (5, 5)), ((5, 5), (1, 5)), ((5,), (3,)))},
    "soft_margin_loss of integers, float64 default": lambda L: _with_default_double(
        L, lambda: L.nn.functional.soft_margin_loss(L.ones(5).long(), L.ones(5).long())),
    "multilabel_margin_loss, double backward": lambda L: _undifferentiated(
        L, lambda F, x, t: F.multilabel_margin_loss(x, t)),
    "multi_margin_loss, double backward": lambda L: _undifferentiated(
        L, lambda F, x, t: F.multi_margin_loss(x, t[:, 0].clamp(0), reduction="sum")),
    # a target whose row has no active margin gets 0 - 0: +0.0
    "multi_margin_loss, gradient at a satisfied target": lambda L: _grad_of(
        L, lambda F, x: F.multi_margin_loss(x.reshape(8, 9) * 10, L.arange(8))),
    "multi_margin_loss with weights, double backward": lambda L: _undifferentiated(
        L, lambda F, x, t: F.multi_margin_loss(x, t[:, 0].clamp(0), p=2,
                                               weight=L.arange(4.).double())),
    "hardsigmoid, double backward": lambda L: _undifferentiated(
        L, lambda F, x, t: F.hardsigmoid(x * 3).sum()),
    **{f"CrossMapLRN2d of {dt}": (lambda dt: lambda L: L.nn.CrossMapLRN2d(5, 5e-3, 1e-3, 2)(
        (L.arange(96.).reshape(2, 3, 4, 4) * 0.3).to(getattr(L, dt))))(dt)
       for dt in ("bfloat16", "int64", "bool", "uint8")},
    "CrossMapLRN2d of int64, float64 default": lambda L: _with_default_double(
        L, lambda: L.nn.CrossMapLRN2d(5)(L.ones(2, 3, 4, 4).long())),
    "CrossMapLRN2d backward, create_graph": _lrn_create_graph,
    "CrossMapLRN2d backward": lambda L: _lrn_create_graph(L, False),
    # (torch's CPU flash attention kernel: 4-d inputs)
    "scaled_dot_product_attention, double backward": _sdpa_second_order,
    # MultiheadAttention without weights runs scaled_dot_product_attention, as torch's
    "TransformerEncoderLayer, double backward": lambda L: _layer_second_order(
        L, L.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)),
    "MultiheadAttention(need_weights=False), double backward": lambda L: _layer_second_order(
        L, lambda x: L.nn.MultiheadAttention(8, 2)(x, x, x, need_weights=False)[0]),
    "MultiheadAttention(need_weights=True), double backward": lambda L: _layer_second_order(
        L, lambda x: L.nn.MultiheadAttention(8, 2)(x, x, x)[0]),
    # the encoder and its layers check their masks' dtypes under their own names
    "TransformerEncoder with an int64 mask": lambda L: L.nn.TransformerEncoder(
        L.nn.TransformerEncoderLayer(4, 2, 8), 2, enable_nested_tensor=False)(
        L.ones(3, 3, 4), L.ones(3, 3).long()),
    "TransformerEncoderLayer with an int64 src_mask": lambda L: L.nn.TransformerEncoderLayer(
        4, 2, 8)(L.ones(3, 3, 4), L.ones(3, 3).long()),
    # torch's string-padding convolution casts a bias of another dtype to the input's
    **{f"conv1d(padding={pad!r}), {what}": (lambda pad, f: lambda L: f(L, pad))(pad, f)
       for pad in ("same", "valid") for what, f in {
           "float64 input, float32 bias": lambda L, pad: L.nn.functional.conv1d(
               L.ones(1, 2, 5).double(), L.ones(3, 2, 3).double(), L.ones(3), padding=pad),
           "int64 input": lambda L, pad: L.nn.functional.conv1d(
               L.ones(1, 2, 5).long(), L.ones(3, 2, 3).double(), L.ones(3).double(),
               padding=pad)}.items()},
    # torch's huber_loss takes a target of another dtype; its backward refuses it
    **{f"huber_loss of {x} and {t}, backward": (lambda x, t: lambda L: _huber_backward(L, x, t))(
        x, t) for x, t in (("float64", "float32"), ("float32", "float16"), ("float32", "int64"),
                           ("float32", "float32"))},
    # cosine_embedding_loss: the target's rank decides the inputs'
    **{f"cosine_embedding_loss of {a}, {b}, target {t}": (
        lambda a, b, t: lambda L: L.nn.functional.cosine_embedding_loss(
            L.ones(a), L.ones(b), L.ones(t), reduction="none"))(a, b, t)
       for a, b, t in (((9,), (9,), (1,)), ((2, 9), (2, 9), ()), ((2, 9), (2, 9), (2, 1)),
                       ((9,), (2, 9), ()), ((2, 2, 9), (2, 2, 9), (2, 2)), ((2, 9), (2, 9), (2,)))},
    # a 0-d tensor's size(d) and stride(d): torch's IndexError
    "size(-1) of a 0-d tensor": lambda L: L.tensor(1.).size(-1),
    "size(1) of a 0-d tensor": lambda L: L.tensor(1.).size(1),
    "stride(0) of a 0-d tensor": lambda L: L.tensor(1.).stride(0),
    "size(1) of a 1-d tensor": lambda L: L.ones(3).size(1),
    "multilabel_soft_margin_loss of a 0-d input": lambda L: L.nn.functional.
    multilabel_soft_margin_loss(L.tensor(1.), L.tensor(0.)),
    "nll_loss of a (1, 3) input and a 0-d target": lambda L: L.nn.functional.nll_loss(
        L.ones(1, 3), L.tensor(0)),
    "cross_entropy of a (2, 3, 4) input and a 0-d target": lambda L: L.nn.functional.
    cross_entropy(L.ones(2, 3, 4), L.tensor(0)),
    "nll_loss of an empty batch and a 0-d target": lambda L: L.nn.functional.nll_loss(
        L.ones(0, 3), L.tensor(0)),
    "cross_entropy of an empty batch and a 0-d target": lambda L: L.nn.functional.
    cross_entropy(L.ones(0, 3), L.tensor(0), reduction="none"),
    # forward AD that torch has not implemented refuses in its words
    **{f"forward AD through {name}": (lambda f: lambda L: _forward_ad(L, f))(f)
       for name, f in {
           "multi_margin_loss": lambda L, F, x: F.multi_margin_loss(x, L.tensor([0, 2])),
           "multilabel_margin_loss": lambda L, F, x: F.multilabel_margin_loss(
               x, L.tensor([[0, -1, 1], [2, -1, 0]])),
           "4-d scaled_dot_product_attention": lambda L, F, x: F.scaled_dot_product_attention(
               *(x.reshape(1, 1, 2, 3),) * 3),
           "CrossMapLRN2d": lambda L, F, x: L.nn.CrossMapLRN2d(3)(x.reshape(1, 2, 3, 1)),
           "embedding_bag": lambda L, F, x: F.embedding_bag(L.tensor([[0, 1]]), x),
           "ctc_loss": lambda L, F, x: F.ctc_loss(x.reshape(2, 1, 3).log_softmax(2),
                                                  L.tensor([[1]]), L.tensor([2]), L.tensor([1])),
           "grid_sample": lambda L, F, x: F.grid_sample(x.reshape(1, 1, 2, 3),
                                                        L.zeros(1, 1, 1, 2), align_corners=False),
           "pdist": lambda L, F, x: F.pdist(x),
           "cdist": lambda L, F, x: L.cdist(x, x, p=1),
           "cdist, p=2 by matmul": lambda L, F, x: L.cdist(x, x, compute_mode=
                                                           "use_mm_for_euclid_dist"),
           "hardsigmoid": lambda L, F, x: F.hardsigmoid(x)}.items()},
    # a 0-d softmax's gradient: torch's formula gives +0.0 (and NaN for a non-finite g)
    **{f"{f} of a 0-d input, gradient of {g}": (lambda f, g: lambda L: _grad_0d(L, f, g))(f, g)
       for f in ("softmax", "log_softmax") for g in (-1.5, float("inf"))},
    # training rrelu's drawn noise is a constant of its double backward
    "rrelu training, double backward": _rrelu_second_order,
}
_CASES.update({f"{name} gradient's zeros, {dt}": (lambda f, dt: lambda L: _grad_of(L, f, dt))(f, dt)
               for name, f in {
                   "relu": lambda F, x: F.relu(x),
                   "ReLU module": lambda F, x: F.relu(x * 1),
                   "relu6": lambda F, x: F.relu6(x),
                   "hardtanh": lambda F, x: F.hardtanh(x),
                   "threshold": lambda F, x: F.threshold(x, 0.1, 20.),
                   "hardshrink": lambda F, x: F.hardshrink(x),
                   "softshrink": lambda F, x: F.softshrink(x),
                   "hardsigmoid": lambda F, x: F.hardsigmoid(x),
                   "hardswish": lambda F, x: F.hardswish(x),
               }.items() for dt in ("float32", "float64", "bfloat16")})
_CASES.update({f"{name} gradient's zeros": (lambda f: lambda L: _grad_of(L, f))(f)
               for name, f in {
                   "max_pool1d": lambda F, x: F.max_pool1d(x[None], 2),
                   "max_pool1d, overlapping": lambda F, x: F.max_pool1d(x[None], 3, 2),
                   "max_pool1d, ceil_mode": lambda F, x: F.max_pool1d(x[None], 4, 4,
                                                                     ceil_mode=True),
                   "max_pool2d": lambda F, x: F.max_pool2d(x.reshape(1, 8, 9), 2),
                   "max_pool3d": lambda F, x: F.max_pool3d(x.reshape(1, 2, 4, 9), (1, 2, 3)),
                   "avg_pool2d": lambda F, x: F.avg_pool2d(x.reshape(1, 8, 9), 2),
                   # torch's resampling backward accumulates from +0.0
                   "interpolate nearest, downsampling": lambda F, x: F.interpolate(
                       x.reshape(1, 8, 9), size=4),
                   "interpolate nearest-exact": lambda F, x: F.interpolate(
                       x.reshape(1, 8, 9), size=5, mode="nearest-exact"),
                   "interpolate linear, align_corners": lambda F, x: F.interpolate(
                       x.reshape(1, 8, 9), size=3, mode="linear", align_corners=True),
                   "interpolate bilinear": lambda F, x: F.interpolate(
                       x.reshape(1, 1, 8, 9), size=(3, 4), mode="bilinear"),
                   # torch's amax/amin backward is g / count * mask: -0.0 for a negative g
                   "amax": lambda F, x: x.reshape(8, 9).amax(1),
                   "amin, keepdim": lambda F, x: x.reshape(8, 9).amin(0, keepdim=True),
                   "max of all": lambda F, x: x.max(),
               }.items()})
_CASES.update({
    # and a NaN result equals no element: NaN for the whole reduced row
    "amax's gradient with a NaN": lambda L: _grad_of(
        L, lambda F, x: L.cat([x[:7], L.tensor([float("nan")], dtype=x.dtype)]).reshape(2, 4)
        .amax(1)),
    "amin's gradient of an element that is NaN": lambda L: _nan_amin_grad(L),
})


@pytest.mark.parametrize("name", list(_CASES))
def test_case(name):
    assert _outcome(lambda: _CASES[name](ember)) == _outcome(lambda: _CASES[name](torch))
