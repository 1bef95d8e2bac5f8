"""torch.utils.flop_counter: FlopCounterMode counts the flops of matrix products, convolutions,
attention and recurrent layers, per module, as torch's does.

torch counts the aten ops its dispatcher sees (mm, addmm, bmm, baddbmm, convolution,
convolution_backward, ...), each through a formula of its argument shapes. ember has no aten
layer: its ops are coarser (one `linear`, one `matmul` for every rank, one fused `einsum`). So
each counted ember op has a rule that names the aten calls torch makes for it, with their shapes:
`linear` is an addmm for a 2-D (or contiguous) input with a bias, else the mm or bmm its matmul
folds to; a matmul is an mm, a bmm, or an mv or dot (not counted) as torch's matmul decides. The
backward of a product is one product per input that needs a gradient, of the forward's flops,
as torch's mm/bmm backward formulas; a convolution's backward is one convolution_backward.
The counts then go through torch's formulas (`flop_registry`, or the mode's custom_mapping),
under torch.ops.aten's packets (ember.ops.aten.mm).

While a mode is active, the counted ops' forward and backward run through counting wrappers,
installed into the op table on entry and removed on exit (as the profiler's timing wrappers):
the hot path pays nothing otherwise. A backward counts when it runs inside the mode on a graph
recorded inside the mode."""
import sys
import warnings
from collections import defaultdict
from functools import wraps
from math import prod

import numpy as np

from .._tensor import Tensor
from ..ops._aten import OpOverloadPacket, aten
from ._pytree import tree_map, tree_map_
from .module_tracker import ModuleTracker

__all__ = ["FlopCounterMode", "register_flop_formula"]


def get_shape(i):
    if isinstance(i, Tensor):
        return i.shape
    return i


flop_registry = {}


def shape_wrapper(f):
    @wraps(f)
    def nf(*args, out_val=None, **kwargs):
        args, kwargs, out_shape = tree_map(get_shape, (args, kwargs, out_val))
        return f(*args, out_shape=out_shape, **kwargs)
    return nf


def register_flop_formula(targets, get_raw=False):
    """Register a formula for `targets` (a packet or a list of them): called with the op's
    argument shapes (its raw arguments with get_raw) and `out_shape`, it returns the flops.
    The packets are torch.ops.aten's (ember.ops.aten.mm)."""
    def register_fun(flop_formula):
        if not get_raw:
            flop_formula = shape_wrapper(flop_formula)

        def register(target):
            if not isinstance(target, OpOverloadPacket):
                raise ValueError(
                    f"register_flop_formula(targets): expected each target to be "
                    f"OpOverloadPacket (i.e. torch.ops.mylib.foo), JitFunction, "
                    f"or HigherOrderOperator"
                    f", got {target} which is of type {type(target)}")
            if target in flop_registry:
                raise RuntimeError(f"duplicate registrations for {target}")
            flop_registry[target] = flop_formula

        tree_map_(register, targets)
        return flop_formula
    return register_fun


@register_flop_formula(aten.mm)
def mm_flop(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    """Count flops for matmul."""
    m, k = a_shape
    k2, n = b_shape
    if k != k2:
        raise AssertionError(f"matmul: inner dimensions must match (k == k2), got {k} and {k2}")
    return m * n * 2 * k


@register_flop_formula(aten.addmm)
def addmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs) -> int:
    """Count flops for addmm."""
    return mm_flop(a_shape, b_shape)


@register_flop_formula(aten.bmm)
def bmm_flop(a_shape, b_shape, out_shape=None, **kwargs) -> int:
    """Count flops for the bmm operation."""
    b, m, k = a_shape
    b2, k2, n = b_shape
    if b != b2:
        raise AssertionError(f"bmm: batch dimensions must match (b == b2), got {b} and {b2}")
    if k != k2:
        raise AssertionError(f"bmm: inner dimensions must match (k == k2), got {k} and {k2}")
    return b * m * n * 2 * k


@register_flop_formula(aten.baddbmm)
def baddbmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs) -> int:
    """Count flops for the baddbmm operation."""
    return bmm_flop(a_shape, b_shape)


@register_flop_formula(aten._scaled_mm)
def _scaled_mm_flop(a_shape, b_shape, scale_a_shape, scale_b_shape, bias_shape=None,
                    scale_result_shape=None, out_dtype=None, use_fast_accum=False,
                    out_shape=None, **kwargs) -> int:
    """Count flops for _scaled_mm."""
    return mm_flop(a_shape, b_shape)


def conv_flop_count(x_shape, w_shape, out_shape, transposed=False) -> int:
    """Count flops for convolution: 2 * the multiplications (the bias is ignored); for a
    transposed convolution, per point of the input's spatial dims rather than the output's."""
    batch_size = x_shape[0]
    conv_shape = (x_shape if transposed else out_shape)[2:]
    c_out, c_in, *filter_size = w_shape
    return prod(conv_shape) * prod(filter_size) * batch_size * c_out * c_in * 2


@register_flop_formula([aten.convolution, aten._convolution, aten.cudnn_convolution,
                        aten._slow_conv2d_forward, aten.convolution_overrideable])
def conv_flop(x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed, *args,
              out_shape=None, **kwargs) -> int:
    """Count flops for convolution."""
    return conv_flop_count(x_shape, w_shape, out_shape, transposed=transposed)


@register_flop_formula(aten.convolution_backward)
def conv_backward_flop(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation,
                       transposed, _output_padding, _groups, output_mask, out_shape,
                       **kwargs) -> int:
    """Count flops for a convolution's backward: the input's gradient is a transposed
    convolution of grad_out with the weight (a convolution for a transposed one), the weight's
    a convolution of the input with grad_out (of grad_out with the input, transposed)."""
    def t(shape):
        return [shape[1], shape[0]] + list(shape[2:])
    flop_count = 0
    if output_mask[0]:
        grad_input_shape = get_shape(out_shape[0])
        flop_count += conv_flop_count(grad_out_shape, w_shape, grad_input_shape, not transposed)
    if output_mask[1]:
        grad_weight_shape = get_shape(out_shape[1])
        if transposed:
            flop_count += conv_flop_count(t(grad_out_shape), t(x_shape), t(grad_weight_shape),
                                          transposed=False)
        else:
            flop_count += conv_flop_count(t(x_shape), t(grad_out_shape), t(grad_weight_shape),
                                          transposed=False)
    return flop_count


def sdpa_flop_count(query_shape, key_shape, value_shape):
    """Count flops for self-attention (key/value may have fewer heads than the query)."""
    b, h_q, s_q, d_q = query_shape
    _b2, h_kv, s_k, _d2 = key_shape
    _b3, _h3, _s3, d_v = value_shape
    if not (b == _b2 == _b3 and h_kv == _h3 and d_q == _d2 and s_k == _s3):
        raise AssertionError(
            f"sdpa_flop_count: query/key/value shapes are incompatible: "
            f"q={query_shape}, k={key_shape}, v={value_shape}")
    if h_q < h_kv or h_q % h_kv != 0:
        raise AssertionError(
            f"sdpa_flop_count: query heads ({h_q}) must be a multiple of "
            f"key/value heads ({h_kv})")
    total_flops = 0
    total_flops += bmm_flop((b * h_q, s_q, d_q), (b * h_q, d_q, s_k))
    total_flops += bmm_flop((b * h_q, s_q, s_k), (b * h_q, s_k, d_v))
    return total_flops


@register_flop_formula([aten._scaled_dot_product_efficient_attention,
                        aten._scaled_dot_product_flash_attention,
                        aten._scaled_dot_product_cudnn_attention])
def sdpa_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """Count flops for self-attention."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape):
    b, h_q, s_q, d_q = query_shape
    _b2, h_kv, s_k, _d2 = key_shape
    _b3, _h3, _s3, d_v = value_shape
    _b4, _h4, _s4, _d4 = grad_out_shape
    if not (b == _b2 == _b3 == _b4 and h_kv == _h3 and h_q == _h4):
        raise AssertionError("sdpa_backward_flop_count: batch/heads mismatch among tensors")
    if h_q < h_kv or h_q % h_kv != 0:
        raise AssertionError(
            f"sdpa_backward_flop_count: query heads ({h_q}) must be a multiple of "
            f"key/value heads ({h_kv})")
    if not (d_q == _d2 and d_v == _d4 and s_k == _s3 and s_q == _s4):
        raise AssertionError(
            "sdpa_backward_flop_count: grad_out/value/key/query shapes are incompatible")
    total_flops = 0
    # the scores recomputed, then the gradients through scores @ v and q @ k^T
    total_flops += bmm_flop((b * h_q, s_q, d_q), (b * h_q, d_q, s_k))
    total_flops += bmm_flop((b * h_q, s_q, d_v), (b * h_q, d_v, s_k))
    total_flops += bmm_flop((b * h_q, s_k, s_q), (b * h_q, s_q, d_v))
    total_flops += bmm_flop((b * h_q, s_q, s_k), (b * h_q, s_k, d_q))
    total_flops += bmm_flop((b * h_q, d_q, s_q), (b * h_q, s_q, s_k))
    return total_flops


@register_flop_formula([aten._scaled_dot_product_efficient_attention_backward,
                        aten._scaled_dot_product_flash_attention_backward,
                        aten._scaled_dot_product_cudnn_attention_backward])
def sdpa_backward_flop(grad_out_shape, query_shape, key_shape, value_shape, *args,
                       out_shape=None, **kwargs) -> int:
    """Count flops for self-attention backward."""
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


suffixes = ["", "K", "M", "B", "T"]


def get_suffix_str(number):
    """The suffix for `number` by its digits, with some overflow: 1.01B shows as 1001M."""
    index = max(0, min(len(suffixes) - 1, (len(str(number)) - 2) // 3))
    return suffixes[index]


def convert_num_with_suffix(number, suffix):
    index = suffixes.index(suffix)
    value = f"{number / 1000 ** index:.3f}"
    return value + suffixes[index]


def convert_to_percent_str(num, denom) -> str:
    if denom == 0:
        return "0%"
    return f"{num / denom:.2%}"


class FlopCounterMode:
    """A context manager that counts the flops run inside it, in total and per module (by
    fully qualified name, "Global" for all), and prints a table of them on exit (`display`,
    down to `depth` levels of modules; the table is `tabulate`'s, as torch's).

        with FlopCounterMode() as flop_counter:
            mod(inp).sum().backward()
    """

    def __init__(self, mods=None, depth=2, display=True, custom_mapping=None):
        self.flop_counts = defaultdict(lambda: defaultdict(int))
        self.depth = depth
        self.display = display
        self.mode = None
        if custom_mapping is None:
            custom_mapping = {}
        if mods is not None:
            warnings.warn("mods argument is not needed anymore, you can stop passing it",
                          stacklevel=2)
        self.flop_registry = {
            **flop_registry,
            **{k: v if getattr(v, "_get_raw", False) else shape_wrapper(v)
               for k, v in custom_mapping.items()}
        }
        self.mod_tracker = ModuleTracker()

    def get_total_flops(self) -> int:
        return sum(self.flop_counts['Global'].values())

    def get_flop_counts(self):
        """The flop counts as a dict of dicts: module name -> {op: flops}."""
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def get_table(self, depth=None):
        if depth is None:
            depth = self.depth
        if depth is None:
            depth = 999999

        import tabulate

        tabulate.PRESERVE_WHITESPACE = True
        header = ["Module", "FLOP", "% Total"]
        values = []
        global_flops = self.get_total_flops()
        global_suffix = get_suffix_str(global_flops)
        is_global_subsumed = False

        def process_mod(mod_name, depth):
            nonlocal is_global_subsumed
            total_flops = sum(self.flop_counts[mod_name].values())
            is_global_subsumed |= total_flops >= global_flops
            padding = " " * depth
            values = [[padding + mod_name, convert_num_with_suffix(total_flops, global_suffix),
                       convert_to_percent_str(total_flops, global_flops)]]
            for k, v in self.flop_counts[mod_name].items():
                values.append([padding + " - " + str(k),
                               convert_num_with_suffix(v, global_suffix),
                               convert_to_percent_str(v, global_flops)])
            return values

        for mod in sorted(self.flop_counts.keys()):
            if mod == 'Global':
                continue
            mod_depth = mod.count(".") + 1
            if mod_depth > depth:
                continue
            values.extend(process_mod(mod, mod_depth - 1))

        # "Global" shows only where some flops are outside every module shown
        if 'Global' in self.flop_counts and not is_global_subsumed:
            for value in values:
                value[0] = " " + value[0]
            values = process_mod('Global', 0) + values

        if len(values) == 0:
            values = [["Global", "0", "0%"]]

        return tabulate.tabulate(values, headers=header, colalign=("left", "right", "right"))

    # NB: not reentrant (as torch's)
    def __enter__(self):
        self.flop_counts.clear()
        self.mod_tracker.__enter__()
        self.mode = _FlopCounterMode(self)
        self.mode.__enter__()
        return self

    def __exit__(self, *args):
        if self.mode is None:
            raise AssertionError("Internal error: FlopCounter.__exit__ called but mode is None")
        b = self.mode.__exit__(*args)
        self.mode = None
        self.mod_tracker.__exit__()
        if self.display:
            print(self.get_table(self.depth))
        return b

    def _count_flops(self, func_packet, out, args, kwargs):
        if func_packet in self.flop_registry:
            flop_count_func = self.flop_registry[func_packet]
            flop_count = flop_count_func(*args, **kwargs, out_val=out)
            for par in set(self.mod_tracker.parents):
                self.flop_counts[par][func_packet] += flop_count
        return out


_ACTIVE = []        # the counters counting now (nested ones each count), innermost last
_INSTALLED = {}     # (op, backend index) -> (wrapped pair, original pair)


class _FlopCounterMode:
    """The counting itself: while one is entered, the counted ops run through the wrappers."""

    def __init__(self, counter):
        self.counter = counter

    def __enter__(self):
        if not _ACTIVE:
            _install()
        _ACTIVE.append(self.counter)
        return self

    def __exit__(self, *args):
        _ACTIVE.remove(self.counter)
        if not _ACTIVE:
            _uninstall()


def _count(calls):
    """Count `calls`, (packet, argument shapes, output shape) triples, in each active counter."""
    for packet, args, out in calls:
        for counter in _ACTIVE:
            counter._count_flops(packet, out, args, {})


def _counting_fwd(rule, fwd):
    def run(xp, *args):
        out, saved = fwd(xp, *args)
        if _ACTIVE:                     # a wrapper kept by a graph node after the mode
            _count(rule(*args, out=out))
        return out, saved
    run.__name__, run.__wrapped__ = getattr(fwd, "__name__", "fwd"), fwd
    return run


def _counting_bwd(rule, bwd):
    def run(xp, g, *saved):
        grads = bwd(xp, g, *saved)
        if _ACTIVE:
            _count(rule(g, *saved))
        return grads
    run.__name__, run.__wrapped__ = getattr(bwd, "__name__", "bwd"), bwd
    return run


def _install():
    for op, (frule, brule) in _rules().items():
        for idx, pair in enumerate(op.impl):
            fwd, bwd = pair
            wrapped = (_counting_fwd(frule, fwd),
                       bwd if brule is None or bwd is None else _counting_bwd(brule, bwd))
            op.impl[idx] = wrapped
            _INSTALLED[op, idx] = (wrapped, pair)


def _uninstall():
    for (op, idx), (wrapped, original) in _INSTALLED.items():
        if op.impl[idx] is wrapped:          # not replaced meanwhile
            op.impl[idx] = original
    _INSTALLED.clear()


# ---- the aten calls torch makes for ember's ops ------------------------------------------------
def _shape(a):
    return tuple(a.shape)


def _mT(s):
    return s[:-2] + (s[-1], s[-2])


def _product_calls(kind, a, b, out):
    """The call of an mm or bmm of shapes a @ b."""
    return [(aten.mm if kind == "mm" else aten.bmm, (a, b), out)]


def _product_grads(kind, a, b, needs_a, needs_b):
    """torch's backward of an mm or bmm a @ b: grad @ b^T and a^T @ grad."""
    g = a[:-1] + b[-1:]
    calls = []
    if needs_a:
        calls += _product_calls(kind, g, _mT(b), a)
    if needs_b:
        calls += _product_calls(kind, _mT(a), g, b)
    return calls


def _matmul_plan(a, b, small_grad):
    """torch's matmul of arrays a @ b as ("mm" | "bmm", shape, shape), or None for its mv and
    dot (not counted). `small_grad`: whether the input of fewer dims requires grad (torch then
    folds the larger one into a matrix), or the array of the Tensor whose requires_grad
    tells, looked up where the layout alone does not decide."""
    from ..ops.linalg import _folds
    sa, sb = _shape(a), _shape(b)
    da, db = len(sa), len(sb)
    if db == 1 and da <= 2:
        return None                                         # dot, mv
    if da == 1 and db == 2:
        return "mm", (1,) + sa, sb
    if da == 2 and db == 2:
        return "mm", sa, sb
    fold = _folds(a, b, small_grad is True)
    if not fold and small_grad is not False and _folds(a, b, True):
        fold = _requires_grad(small_grad)
    if fold:
        if da >= db:
            t1, t2 = sa, sb
        else:
            t1, t2 = _mT(sb), sa[::-1]
        if len(t2) == 1:
            return None                                     # mv
        return "mm", (prod(t1[:-1]), t1[-1]), t2
    n, p = sa[-2] if da > 1 else 1, sb[-1] if db > 1 else 1
    k = sa[-1]
    batch = prod(np.broadcast_shapes(sa[:-2], sb[:-2]))
    return "bmm", (batch, n, k), (batch, k, p)


def _requires_grad(arr):
    """Whether the Tensor over `arr` requires grad, where a forward rule needs it (torch's
    matmul folds by it): the Tensor is among the locals of the op's caller (apply, _product),
    a few frames up."""
    f = sys._getframe(1)
    for _ in range(6):
        f = f.f_back
        if f is None:
            break
        for v in f.f_locals.values():
            for t in (v if type(v) is tuple else (v,)):
                if isinstance(t, Tensor) and t.arr is arr:
                    return t.requires_grad
    return False


def _matmul_fwd_rule(a, b, out):
    plan = _matmul_plan(a, b, b if a.ndim >= b.ndim else a)
    if plan is None:
        return ()
    kind, sa, sb = plan
    return _product_calls(kind, sa, sb, sa[:-1] + sb[-1:])


def _matmul_bwd_rule(g, a, b, needs):
    small = 1 if a.ndim >= b.ndim else 0
    plan = _matmul_plan(a, b, bool(needs[small]))
    if plan is None:
        return ()
    kind, sa, sb = plan
    return _product_grads(kind, sa, sb, needs[0], needs[1])


def _mm_fwd_rule(kind):
    def rule(a, b, out):
        return _product_calls(kind, _shape(a), _shape(b), _shape(out))
    return rule


def _mm_bwd_rule(kind):
    def rule(g, a, b, needs):
        return _product_grads(kind, _shape(a), _shape(b), needs[0], needs[1])
    return rule


def _vm_fwd_rule(a, b, out):
    return _product_calls("mm", (1,) + _shape(a), _shape(b), (1,) + _shape(out))


def _vm_bwd_rule(g, a, b, needs):
    return _product_grads("mm", (1,) + _shape(a), _shape(b), needs[0], needs[1])


def _linear_plan(x, w, bias):
    """torch's linear: an addmm for a 2-D input, or a contiguous one, with a bias; else
    matmul(x, w.t())."""
    sx, sw = _shape(x), _shape(w)
    if len(sw) == 2 and bias is not None and (len(sx) == 2 or x.flags.c_contiguous and (
            len(sx) == 3 or len(bias.shape) == 1)):
        return "addmm", (prod(sx[:-1]), sx[-1]), _mT(sw)
    return _matmul_plan(x, w.T, w)


def _linear_fwd_rule(x, w, bias, out):
    plan = _linear_plan(x, w, bias)
    if plan is None:
        return ()
    kind, sa, sb = plan
    if kind == "addmm":
        return [(aten.addmm, (_shape(bias), sa, sb), sa[:-1] + sb[-1:])]
    return _product_calls(kind, sa, sb, sa[:-1] + sb[-1:])


def _linear_bwd_rule(g, x, w, has_b, needs):
    if len(w.shape) == 2 and has_b and (x.ndim <= 2 or x.flags.c_contiguous):
        plan = "mm", (prod(_shape(x)[:-1]), _shape(x)[-1]), _mT(_shape(w))
    else:
        plan = _matmul_plan(x, w.T, bool(needs[1]))
    if plan is None:
        return ()
    kind, sa, sb = plan
    return _product_grads(kind, sa, sb, needs[0], needs[1])


def _linear_addmm_fwd_rule(b, x, wt, out):
    return [(aten.addmm, (_shape(b), _shape(x), _shape(wt)), _shape(out))]


def _linear_addmm_bwd_rule(g, x, wt, bshape, needs):
    """linear's addmm(bias, input, weight.t()) (its forward counted as linear's)."""
    return _product_grads("mm", _shape(x), _shape(wt), needs[1], needs[2])


def _addprod_fwd_rule(c, a, b, beta, alpha, kind, out):
    if kind not in ("addmm", "baddbmm"):
        return ()                           # addmv, addbmm: kernels torch does not count
    packet = aten.addmm if kind == "addmm" else aten.baddbmm
    return [(packet, (_shape(c), _shape(a), _shape(b)), _shape(out))]


def _addprod_bwd_rule(g, a, b, beta, alpha, kind, needs):
    if kind == "addmv":
        return ()
    return _product_grads("mm" if kind == "addmm" else "bmm", _shape(a), _shape(b), needs[1],
                          needs[2])


def _conv_fwd_rule(x, w, b, stride, pads, dilation, groups, out):
    n = len(stride)
    return [(aten.convolution, (_shape(x), _shape(w), None if b is None else _shape(b),
                                list(stride), [lo for lo, _ in pads], list(dilation), False,
                                [0] * n, groups), _shape(out))]


def _conv_bwd_rule(g, cols, w, padded, has_b, stride, pads, dilation, groups, cl, needs):
    x = tuple(padded[:2]) + tuple(s - lo - hi for s, (lo, hi) in zip(padded[2:], pads))
    return _conv_grads(_shape(g), x, _shape(w), has_b, stride, pads, dilation, False, groups,
                       needs)


def _conv_grads(g, x, w, has_b, stride, pads, dilation, transposed, groups, needs):
    n = len(stride)
    cout = w[1] * groups if transposed else w[0]
    out = (x if needs[0] else None, w if needs[1] else None,
           (cout,) if has_b and needs[2] else None)
    return [(aten.convolution_backward,
             (g, x, w, [cout] if has_b else None, list(stride), [lo for lo, _ in pads],
              list(dilation), transposed, [0] * n, groups, list(needs)), out)]


def _conv_t_fwd_rule(x, w, b, stride, pads, dilation, groups, full, out):
    n = len(stride)
    return [(aten.convolution, (_shape(x), _shape(w), None if b is None else _shape(b),
                                list(stride), [lo for lo, _ in pads], list(dilation), True,
                                [0] * n, groups), _shape(out))]


def _conv_t_bwd_rule(g, x3, wr, xshape, wshape, has_b, stride, pads, dilation, groups, needs):
    return _conv_grads(_shape(g), tuple(xshape), tuple(wshape), has_b, stride, pads, dilation,
                       True, groups, needs)


def _einsum_fwd_rule(*args, out):
    """torch's einsum contracts the operands left to right, each pair by one bmm (a mul where
    no label is summed), after summing the labels no later operand has (see
    ember.ops.linalg._einsum_recorded, which records that path)."""
    *arrays, subs, out_sub, _ = args
    labels = sorted(set("".join(subs)) - set(out_sub))
    sizes = []
    for a, sub in zip(arrays, subs):
        sizes.append({c: n for c, n in zip(sub, a.shape) if n != 1})
    holders = {c: sum(c in s for s in sizes) for c in labels}
    calls = []
    left = sizes[0]
    for right in sizes[1:]:
        summed = set()
        for c in labels:
            if c in left and c in right:
                holders[c] -= 1
                if holders[c] == 1:
                    summed.add(c)
                    holders[c] = 0
            elif holders[c] == 1 and (c in left or c in right):
                (left if c in left else right).pop(c)
                holders[c] = 0
        if summed:
            lro = prod(n for c, n in left.items() if c in right and c not in summed)
            lo = prod(n for c, n in left.items() if c not in right)
            ro = prod(n for c, n in right.items() if c not in left)
            k = prod(left[c] for c in summed)
            calls.append((aten.bmm, ((lro, lo, k), (lro, k, ro)), (lro, lo, ro)))
        left = {**{c: n for c, n in right.items() if c not in summed},
                **{c: n for c, n in left.items() if c not in summed}}
    return calls


def _rnn_steps(T, B, batch_sizes, reverse):
    """The rows each time step of a recurrent layer advances, in the order it runs them."""
    rows = [B if batch_sizes is None else int(batch_sizes[t]) for t in range(T)]
    return rows[::-1] if reverse else rows


def _rnn_fwd_rule(xw, h0, w_hh, b_hh, mode, batch_sizes, reverse, out):
    """torch's RNN and GRU layers (and cells) run linear(h, w_hh, b_hh) each step, on zeros
    for a state not given; the input projection is a linear of its own."""
    gates, hidden = _shape(w_hh)
    calls = []
    for b in _rnn_steps(xw.shape[0], xw.shape[1], batch_sizes, reverse):
        if b_hh is None:
            calls += _product_calls("mm", (b, hidden), (hidden, gates), (b, gates))
        else:
            calls.append((aten.addmm, ((gates,), (b, hidden), (hidden, gates)), (b, gates)))
    return calls


def _rnn_bwd_rule(grads, steps, w_hh, has_b, mode, batch_sizes, reverse, xw_shape, needs):
    """Each step's linear: the previous state's gradient (the initial state's where it needs
    one) and the weight's."""
    rows = _rnn_steps(xw_shape[0], xw_shape[1], batch_sizes, reverse)
    calls = []
    for i, b in reversed(list(enumerate(rows))):
        calls += _product_grads("mm", (b, w_hh.shape[1]), _mT(_shape(w_hh)), i > 0 or needs[1],
                                needs[2])
    return calls


def _lstm_fwd_rule(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse, out):
    """torch's composite LSTM layer (and cell): the input's linear, then each step
    linear(h, w_hh, b_hh) and, with projections, h @ w_hr^T."""
    gates, hidden = _shape(w_hh)
    calls = list(_linear_fwd_rule(x, w_ih, b_ih, out=None))
    for b in _rnn_steps(x.shape[0], x.shape[1], batch_sizes, reverse):
        if b_hh is None:
            calls += _product_calls("mm", (b, hidden), (hidden, gates), (b, gates))
        else:
            calls.append((aten.addmm, ((gates,), (b, hidden), (hidden, gates)), (b, gates)))
        if w_hr is not None:
            calls += _product_calls("mm", (b, w_hr.shape[1]), _mT(_shape(w_hr)), (b, hidden))
    return calls


def _lstm_bwd_rule(grads, x, h0, c0, w_ih, w_hh, w_hr, out, stacks, has_b, batch_sizes,
                   reverse, needs):
    T, B = x.shape[:2]
    calls = []
    for i, b in reversed(list(enumerate(_rnn_steps(T, B, batch_sizes, reverse)))):
        if w_hr is not None:
            calls += _product_grads("mm", (b, w_hr.shape[1]), _mT(_shape(w_hr)), True, needs[7])
        calls += _product_grads("mm", (b, w_hh.shape[1]), _mT(_shape(w_hh)), i > 0 or needs[1],
                                needs[4])
    return calls + _product_grads("mm", (T * B, w_ih.shape[1]), _mT(_shape(w_ih)), needs[0],
                                  needs[3])


def _rules():
    """Op -> (forward rule, backward rule): each gives the aten calls torch makes, from the op's
    arrays and static arguments (and its output; the backward's from grad_out and the saved
    values)."""
    from ..nn._conv_ops import _conv, _conv_t
    from ..nn._rnn_ops import lstm_layer, rnn_layer
    from ..ops.linalg import _ADDPROD, _bmm, _einsum, _linear, _linear_addmm, _linear_mm, \
        _matmul, _mm, _vm
    addprod = (_addprod_fwd_rule, _addprod_bwd_rule)
    return {
        _mm: (_mm_fwd_rule("mm"), _mm_bwd_rule("mm")),
        _bmm: (_mm_fwd_rule("bmm"), _mm_bwd_rule("bmm")),
        _vm: (_vm_fwd_rule, _vm_bwd_rule),
        _matmul: (_matmul_fwd_rule, _matmul_bwd_rule),
        _linear: (_linear_fwd_rule, _linear_bwd_rule),
        _linear_addmm: (_linear_addmm_fwd_rule, _linear_addmm_bwd_rule),
        _linear_mm: (_mm_fwd_rule("mm"), _mm_bwd_rule("mm")),
        _ADDPROD["addmm"]: addprod,
        _ADDPROD["baddbmm"]: addprod,
        _ADDPROD["addbmm"]: addprod,
        _conv: (_conv_fwd_rule, _conv_bwd_rule),
        _conv_t: (_conv_t_fwd_rule, _conv_t_bwd_rule),
        _einsum: (_einsum_fwd_rule, None),
        rnn_layer: (_rnn_fwd_rule, _rnn_bwd_rule),
        lstm_layer: (_lstm_fwd_rule, _lstm_bwd_rule),
    }
