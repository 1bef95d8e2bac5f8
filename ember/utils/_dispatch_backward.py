"""Backward under a TorchDispatchMode: the ATen calls torch's autograd engine makes, handed to
the innermost mode as the forward's are (ember/utils/_python_dispatch.py).

ember's engine (autograd/engine.py) runs array kernels; while a dispatch mode is entered when a
backward starts (and it builds no graph: create_graph off), it runs each node through here:
- the root gradient of loss.backward() is ones_like (autograd/functions.py);
- a node of a kind in _FORMULAS runs torch's derivative formula (derivatives.yaml) as ATen
  calls: the gradients of its inputs last to first, as torch's generated code computes them,
  a saved result first detached (torch's SavedVariable unpack); ATen's own backward operators
  (threshold_backward, mse_loss_backward, convolution_backward, ...) run ember's kernel of the
  node where the handler passes their arguments on;
- each gradient then summed to its input's shape (sum.dim_IntList, view) and cast, as torch's
  validate_outputs, then added to what its input gathered (add.Tensor);
- a leaf's first .grad is the gradient detached where it obeys the leaf's layout (else
  new_empty_strided and copy_), a later one added in place (add_.Tensor), as AccumulateGrad.
Other nodes (custom Functions, nodes with several outputs, hooks on the node, saved-tensor
hooks) run ember's kernels unseen. Differences from torch: a dim is handed normalised (ember's
nodes keep softmax(x, -1)'s dim as 1); a handler's replaced arguments to ATen's backward
operators have no ember kernel to run (NotImplementedError); AccumulateGrad's post hooks run
with the modes popped when a .grad is added to."""
import numpy as np

from .._tensor import Tensor, _new
from ..autograd import engine as E
from ..autograd.grad_mode import STATE as _GRAD
from ..ops._aten import aten
from ._python_dispatch import _hand, _index_plan, _reshape, dispatch


def run_node(node, g, grads, retain_graph, create_graph, needed=None):
    """engine._run_node, the node's formula handed to the modes (see the module's docstring)."""
    formula = _FORMULAS.get(type(node).__name__) if getattr(node, "op_node", False) else None
    saved = node.saved
    if formula is None or node.outs is not None or node.post is not None or \
            type(saved) is not tuple:
        return E._run_node(node, g, grads, retain_graph, create_graph, needed)
    if node.epoch < E._clock[0]:
        E._check_versions(node)
    if isinstance(g, np.generic):
        g = np.asarray(g)
    be = E._backend_of(node)
    mask = tuple(n is not None and (needed is None or n in needed) for n in node.next)
    grad_mode, _GRAD.enabled = _GRAD.enabled, False     # (torch's engine: grad mode off)
    try:
        gins = formula(node, _new(g, be), mask, _Kernel(node, g, mask, be))
        if gins is None:
            return E._run_node(node, g, grads, retain_graph, create_graph, needed)
        if not retain_graph:
            frees = node.frees if node.op.frees is None else node.op.frees
            if frees or frees is None and (node.op.saves_in or node.op.saves_out):
                node.saved = E._FREED
        fitted = []
        for gi, inp, wanted in zip(gins, node.inputs, mask):
            if not wanted or gi is None:
                fitted.append(None)
                continue
            shape = tuple(inp.shape)
            if tuple(gi.shape) != shape:
                gi = _sum_to(gi, shape)
            if gi.dtype != inp.dtype:
                gi = aten._to_copy.default(gi, dtype=inp.dtype)
            fitted.append(gi)
        for nxt, gi in zip(node.next, fitted):
            if gi is None:
                continue
            prev = grads.get(nxt)
            grads[nxt] = gi.arr if prev is None else \
                aten.add.Tensor(_new(prev, be), gi).arr
    finally:
        _GRAD.enabled = grad_mode


def accumulate(leaf, g, handed, create_graph):
    """engine._accumulate, AccumulateGrad's calls handed to the modes first."""
    t = leaf.ref()
    if t is None:
        return
    grad_mode, _GRAD.enabled = _GRAD.enabled, False
    try:
        gt = _new(np.asarray(g) if isinstance(g, np.generic) else g, t.be)
        if t._grad is None:
            a = gt.arr
            dense = getattr(a, "strides", None) is not None and _dense(t)
            if getattr(a, "strides", None) is None or id(a) not in handed and (
                    E._obeys(a, t.arr) if dense else a.flags.c_contiguous):
                g = aten.detach.default(gt).arr         # (stolen: obeys the layout contract)
            elif dense:                                 # (clone_obey_contract)
                g = aten.copy_.default(aten.new_empty_strided.default(
                    gt, list(t.shape), list(t.stride()), dtype=t.dtype, layout=t.layout,
                    device=t.device), gt).arr
            else:
                g = aten.clone.default(gt, memory_format=_contiguous()).arr
        elif not t._grad._rg and t._grad.shape == gt.shape and t._grad.dtype == gt.dtype:
            _hand(aten.add_.Tensor, (t._grad, gt), {},
                  (_accumulated, (leaf, g, handed), {}))
            return
    finally:
        _GRAD.enabled = grad_mode
    E._accumulate(leaf, g, handed, False)


def _accumulated(leaf, g, handed):
    E._accumulate(leaf, g, handed, False)
    return leaf.ref()._grad


def _dense(t):
    """torch's is_non_overlapping_and_dense of the leaf."""
    from ..ops._overlap import _dense
    return _dense(t.arr)


def root_grad(out):
    """The implicit gradient of loss.backward(): torch's ones_like."""
    import ember
    return aten.ones_like.default(out, pin_memory=False, memory_format=ember.preserve_format)


def _sum_to(g, shape):
    """torch's at::sum_to: the broadcast dims summed (keepdim), the leading ones viewed away."""
    lead = g.ndim - len(shape)
    dims = list(range(lead)) + [i for i in range(lead, g.ndim)
                                if shape[i - lead] == 1 and g.shape[i] != 1]
    if dims:
        g = aten.sum.dim_IntList(g, dims, True)
    if lead:
        g = aten.view.default(g, list(shape))
    return g


class _Kernel:
    """The node's own backward kernel, run once on first use: kernel(i) is the gradient of
    input i (a Tensor, or None); kernel.call(*ins) the (function, args, kwargs) ember runs for
    an ATen backward operator giving those inputs' gradients."""
    __slots__ = ("node", "g", "mask", "be", "gins")

    def __init__(self, node, g, mask, be):
        self.node, self.g, self.mask, self.be, self.gins = node, g, mask, be, None

    def __call__(self, i):
        if self.gins is None:
            node = self.node
            args = (node.xp, self.g, *node.saved) + ((self.mask,) if node.op.needs_mask else ())
            self.gins = node.bwd(*args)
        a = self.gins[i]
        return None if a is None or not self.mask[i] else _new(a, self.be)

    def call(self, *ins):
        if len(ins) == 1:
            return self, ins, {}
        return self.several, ins, {}

    def several(self, *ins):
        return tuple(self(i) for i in ins)


# ---- torch's derivative formulas, as ATen calls ----------------------------------------------
def _result(node):
    """The saved result, unpacked as torch's SavedVariable hands it (a detach)."""
    return dispatch(aten.detach.default, (node._saved_result,), {}, None, (Tensor,))


def _sum_backward(g, sizes, dims, keepdim):
    if not keepdim and sizes:
        if len(dims) == 1:
            g = aten.unsqueeze.default(g, dims[0])
        else:
            for d in sorted(d % len(sizes) for d in dims):
                g = aten.unsqueeze.default(g, d)
    return aten.expand.default(g, list(sizes))


def _sum0(node, g, mask, k):
    return (aten.expand.default(g, list(node.inputs[0].shape)),)


def _sum1(node, g, mask, k):
    dims, keepdim = node.static[0], node.static[1]
    return (_sum_backward(g, tuple(node.inputs[0].shape), dims, keepdim),)


def _mean0(node, g, mask, k):
    x = node.inputs[0]
    return (aten.div.Scalar(aten.expand.default(g, list(x.shape)), x.numel()),)


def _mean1(node, g, mask, k):
    dims, keepdim = node.static[0], node.static[1]
    sizes = tuple(node.inputs[0].shape)
    n = 1
    for d in dims:
        n *= sizes[d]
    return (aten.div.Scalar(_sum_backward(g, sizes, dims, keepdim), n),)


def _scaled(g, alpha):
    return g if alpha == 1 else aten.mul.Scalar(g, alpha)


def _alpha(node):
    return node.static[1] if node.static else 1


def _add(node, g, mask, k):
    other = _scaled(g, _alpha(node)) if mask[1] else None
    return (g if mask[0] else None, other)


def _sub(node, g, mask, k):
    other = _scaled(aten.neg.default(g), _alpha(node)) if mask[1] else None
    return (g if mask[0] else None, other)


def _rsub(node, g, mask, k):
    return (_scaled(aten.neg.default(g), _alpha(node)),)


def _neg(node, g, mask, k):
    return (aten.neg.default(g),)


def _mul(node, g, mask, k):
    x, y = node.inputs
    other = aten.mul.Tensor(g, x) if mask[1] else None
    return (aten.mul.Tensor(g, y) if mask[0] else None, other)


def _div(node, g, mask, k):
    x, y = node.inputs
    other = None
    if mask[1]:         # (-grad * ((self / other) / other), its right operand first)
        q = aten.div.Tensor(aten.div.Tensor(x, y), y)
        other = aten.mul.Tensor(aten.neg.default(g), q)
    return (aten.div.Tensor(g, y) if mask[0] else None, other)


def _pow(node, g, mask, k):
    x, e = node.inputs
    if isinstance(e, Tensor):
        return None     # (pow of two tensors: not here)
    if e == 0:
        return (aten.zeros_like.default(x, memory_format=_contiguous()),)
    e = complex(e) if isinstance(e, complex) else float(e)
    return (aten.mul.Tensor(g, aten.mul.Scalar(aten.pow.Tensor_Scalar(x, e - 1), e)),)


def _contiguous():
    import ember
    return ember.contiguous_format


def _exp(node, g, mask, k):
    return (aten.mul.Tensor(g, _result(node)),)


def _sqrt(node, g, mask, k):
    return (aten.div.Tensor(g, aten.mul.Scalar(_result(node), 2)),)


def _abs(node, g, mask, k):
    return (aten.mul.Tensor(g, aten.sgn.default(node.inputs[0])),)


def _of_result(op, *extra):
    """A formula that is ATen's backward operator op(grad, result, *extra) (its kernel
    ember's)."""
    def formula(node, g, mask, k):
        return (_hand(op, (g, _result(node)) + tuple(e(node) if callable(e) else e
                                                    for e in extra), {}, k.call(0)),)
    return formula


def _softmax_like(op):
    def formula(node, g, mask, k):
        r = _result(node)
        return (_hand(op, (g, r, node.static[0], node.inputs[0].dtype), {}, k.call(0)),)
    return formula


def _gelu(node, g, mask, k):
    return (_hand(aten.gelu_backward.default, (g, node.inputs[0]),
                  {"approximate": node.static[0]}, k.call(0)),)


_REDUCTION = {"none": 0, "mean": 1, "sum": 2}


def _mse(node, g, mask, k):
    x, y = node.inputs
    red = _REDUCTION[node.static[0]]
    op = aten.mse_loss_backward.default
    self = _hand(op, (g, x, y, red), {}, k.call(0)) if mask[0] else None
    return (self, _hand(op, (g, y, x, red), {}, k.call(1)) if mask[1] else None)


def _nll(node, g, mask, k):
    x, target, weight = node.inputs
    red, ignore = node.static[0], node.static[1]
    total = _new(np.asarray(node.saved[3]), x.be)
    return (_hand(aten.nll_loss_backward.default,
                  (g, x, target, weight, _REDUCTION[red], ignore, total), {}, k.call(0)),
            None, None)


def _layer_norm(node, g, mask, k):
    x, w, b = node.inputs
    axes = node.static[1]
    shape = [x.shape[a] for a in axes]
    xa = x.arr
    mean = _new(xa.mean(axes, keepdims=True), x.be)
    rstd = _new(node.saved[1], x.be)
    return _hand(aten.native_layer_norm_backward.default,
                 (g, x, shape, mean, rstd, w, b, list(mask)), {}, k.call(0, 1, 2))


def _convolution(node, g, mask, k):
    x, w, b = node.inputs
    stride, pads, dilation, groups = node.static
    if any(p != q for p, q in pads):
        return None
    return _hand(aten.convolution_backward.default,
                 (g, x, w, [0] if b is None else list(b.shape), list(stride),
                  [p for p, _ in pads], list(dilation), False, [0] * len(stride), groups,
                  list(mask)), {}, k.call(0, 1, 2))


def _mat1_backward(g, mat2, mat1):
    """torch's mm_mat1_backward: a column-major mat1 takes its gradient column-major."""
    st, sz = mat1.stride(), mat1.shape
    if st[0] == 1 and st[1] == sz[0]:
        return aten.t.default(aten.mm.default(mat2, aten.t.default(g)))
    return aten.mm.default(g, aten.t.default(mat2))


def _mat2_backward(g, mat1, mat2):
    st, sz = mat2.stride(), mat2.shape
    if st[0] == 1 and st[1] == sz[0]:
        return aten.t.default(aten.mm.default(aten.t.default(g), mat1))
    return aten.mm.default(aten.t.default(mat1), g)


def _mm(node, g, mask, k):
    a, b = node.inputs
    mat2 = _mat2_backward(g, a, b) if mask[1] else None
    return (_mat1_backward(g, b, a) if mask[0] else None, mat2)


def _mv(node, g, mask, k):
    a, v = node.inputs
    self = aten.mul.Tensor(_reshape(g, [g.shape[0], 1]), v) if mask[0] else None   # (ger)
    return (self, aten.mv.default(aten.t.default(a), g) if mask[1] else None)


def _dot(node, g, mask, k):
    a, b = node.inputs
    other = aten.mul.Tensor(g, a) if mask[1] else None
    return (aten.mul.Tensor(g, b) if mask[0] else None, other)


def _bmm(node, g, mask, k):
    a, b = node.inputs
    mat2 = aten.bmm.default(aten.transpose.int(a, 1, 2), g) if mask[1] else None
    return (aten.bmm.default(g, aten.transpose.int(b, 1, 2)) if mask[0] else None, mat2)


def _addmm(node, g, mask, k):
    if node.op.name == "addmm" and tuple(node.static[:2]) != (1, 1):
        return None
    bias, a, b = node.inputs
    mat1 = _mat1_backward(g, b, a) if mask[1] else None
    return (g if mask[0] else None, mat1, _mat2_backward(g, a, b) if mask[2] else None)


def _t(node, g, mask, k):
    return (aten.t.default(g),)


def _transpose(node, g, mask, k):
    return (aten.transpose.int(g, *node.static[:2]),)


def _view(node, g, mask, k):
    return (_reshape(g, list(node.inputs[0].shape)),)


def _unsqueeze(node, g, mask, k):
    dim = node.static[0]
    if node.op.name != "unsqueeze":         # (x[None]: the index's one unsqueeze)
        plan = _index_plan(tuple(node.inputs[0].shape), dim)
        if plan is None or len(plan) != 1 or plan[0][0] is not aten.unsqueeze.default:
            return None
        dim = plan[0][1]
    return (aten.squeeze.dim(g, dim),)


def _squeeze(node, g, mask, k):
    dims = node.static[0]
    if len(dims) != 1:
        return None
    return (aten.unsqueeze.default(g, dims[0]),)


def _expand(node, g, mask, k):
    return (_sum_to(g, tuple(node.inputs[0].shape)),)


def _indexed(node, g, mask, k):
    """select_backward and slice_backward of an index of one int or slice."""
    x = node.inputs[0]
    plan = _index_plan(tuple(x.shape), node.static[0])
    if plan is None or len(plan) != 1:
        return None
    op, *args = plan[0]
    if op is aten.select.int:
        return (_hand(aten.select_backward.default, (g, list(x.shape), *args), {},
                      k.call(0)),)
    if op is aten.slice.Tensor:
        return (_hand(aten.slice_backward.default, (g, list(x.shape), *args), {},
                      k.call(0)),)
    return None


# torch's node name -> formula(node, grad, mask, kernel): the gradients by input (None for one
# not wanted), or None where the node runs unseen
_FORMULAS = {
    "SumBackward0": _sum0, "SumBackward1": _sum1, "MeanBackward0": _mean0,
    "MeanBackward1": _mean1, "AddBackward0": _add, "SubBackward0": _sub,
    "RsubBackward1": _rsub, "NegBackward0": _neg, "MulBackward0": _mul, "DivBackward0": _div,
    "PowBackward0": _pow, "ExpBackward0": _exp, "SqrtBackward0": _sqrt, "AbsBackward0": _abs,
    "ReluBackward0": _of_result(aten.threshold_backward.default, 0),
    "TanhBackward0": _of_result(aten.tanh_backward.default),
    "SigmoidBackward0": _of_result(aten.sigmoid_backward.default),
    "SoftmaxBackward0": _softmax_like(aten._softmax_backward_data.default),
    "LogSoftmaxBackward0": _softmax_like(aten._log_softmax_backward_data.default),
    "GeluBackward0": _gelu, "MseLossBackward0": _mse, "NllLossBackward0": _nll,
    "NativeLayerNormBackward0": _layer_norm, "ConvolutionBackward0": _convolution,
    "MmBackward0": _mm, "AddmmBackward0": _addmm, "MvBackward0": _mv, "DotBackward0": _dot,
    "BmmBackward0": _bmm, "TBackward0": _t,
    "TransposeBackward0": _transpose, "ViewBackward0": _view, "UnsafeViewBackward0": _view,
    "UnsqueezeBackward0": _unsqueeze, "SqueezeBackward1": _squeeze, "ExpandBackward0": _expand,
    "SelectBackward0": _indexed, "SliceBackward0": _indexed,
}
