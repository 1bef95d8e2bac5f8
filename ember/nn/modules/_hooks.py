"""Hook plumbing for Module: removable handles, global module hooks, full backward hooks.

Full backward hooks follow torch's BackwardHook: the module's tensor inputs and outputs pass
through one identity node each side; the output node's backward sees grad_output (and runs the
backward pre-hooks), the input node's backward sees grad_input and runs the full hooks."""
import warnings
import weakref
from collections import OrderedDict

from ..._tensor import Tensor, _new
from ...autograd.grad_mode import STATE as _grad
from ...ops._apply import apply
from ...ops._registry import Op
from ..._hooks import RemovableHandle

__all__ = ["RemovableHandle", "BackwardHook"]


def _engine_caller_level():
    """torch's stacklevel=5 for a warning in a hook the engine runs: the line that called
    Tensor.backward, or the caller of the line that called autograd.backward / autograd.grad."""
    import sys
    from ...autograd import functions
    from ..._warnings import _ROOT
    f, level = sys._getframe(2), 2          # 2: the caller of the function that warns
    while f is not None and not (f.f_code.co_filename == functions.__file__
                                 and f.f_code.co_name in ("backward", "grad")):
        f, level = f.f_back, level + 1
    if f is None:
        return 2
    f, level, through = f.f_back, level + 1, False
    while f is not None and f.f_code.co_filename.startswith(_ROOT):   # Tensor.backward, wrappers
        f, level, through = f.f_back, level + 1, True
    return level if through else level + 1


# ---- identity node carrying a callback ------------------------------------------------------
_IDENTITY = {}


def _identity_op(n, materialize=True):
    """An unregistered n-output identity op whose backward calls `saved[0]` with the grads;
    `materialize`: outputs that got no gradient get zeros (else None)."""
    o = _IDENTITY.get((n, materialize))
    if o is None:
        def fwd(xp, *arrays_and_cb):
            *arrays, cb = arrays_and_cb
            outs = tuple(a.view() for a in arrays)
            return (outs[0] if n == 1 else outs), (cb,)

        def bwd(xp, g, cb):
            return cb(g if n > 1 else (g,))
        o = _IDENTITY[(n, materialize)] = Op("backward_hook", fwd, None, True, None,
                                             "BackwardHookFunctionBackward", n, False)
        o.vjp(bwd)
        o.node_cls.custom_function = True       # torch's BackwardHookFunction is a Function
        o.node_cls.materialize_grads = materialize
    return o


def _wrap(tensors, callback, materialize=True):
    """Pass `tensors` through one identity node; returns the new tensors (a tuple), views of
    the given ones (torch's Function returns its inputs as is)."""
    out = apply(_identity_op(len(tensors), materialize), tuple(tensors) + (callback,))
    out = out if isinstance(out, tuple) else (out,)
    for t, o in zip(tensors, out):
        if t._vc is None:
            t._vc = [0, 0]
        o._vc, o._base = t._vc, t._base if t._base is not None else t
    return out


class BackwardHook:
    """Runs a module's full backward hooks and backward pre-hooks (torch.utils.hooks)."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module_ref = weakref.ref(module)
        self.user_hooks, self.user_pre_hooks = user_hooks, user_pre_hooks
        self.grad_outputs = None
        self.n_inputs = -1
        self.input_tensors_index = None

    def _module(self):
        return self.module_ref()

    def _pack(self, grads, index, size):
        full = [None] * size
        for i, g in zip(index, grads):
            full[i] = g
        return tuple(full)

    def _call_user_hooks(self, grad_inputs):
        module = self._module()
        for hook in self.user_hooks:
            out = hook(module, grad_inputs, self.grad_outputs)
            if out is None:
                continue
            if isinstance(out, Tensor):
                out = (out,)
            if len(out) != len(grad_inputs):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got "
                                   f"{len(out)}, but expected {len(grad_inputs)}")
            grad_inputs = tuple(out)
        return grad_inputs

    def setup_input_hook(self, args):
        if not _grad.enabled:
            return args
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        self.n_inputs = len(args)
        self.input_tensors_index = index
        if not index:
            return args
        tensors = [args[i] for i in index]
        be = tensors[0].be
        # torch passes every tensor argument through its Function: those that do not require
        # grad are non-differentiable outputs, whose grad_input the hooks see as zeros
        others = [(i, a) for i, a in enumerate(args) if isinstance(a, Tensor) and
                  not a.requires_grad]

        def on_grad(grads):
            packed = self._pack([_new(g, be) for g in grads], index, len(args))
            if others:
                from ...ops.creation import zeros_like
                packed = list(packed)
                for i, a in others:
                    packed[i] = zeros_like(a)
                packed = tuple(packed)
            if self.user_hooks:
                packed = self._call_user_hooks(packed)
            self.grad_outputs = None
            return tuple(None if packed[i] is None else packed[i].arr for i in index)
        new = _wrap(tensors, on_grad)
        args = list(args)
        for i, t in zip(index, new):
            args[i] = t
        return tuple(args)

    def setup_output_hook(self, result):
        if not _grad.enabled:
            return result
        single = isinstance(result, Tensor)
        outs = (result,) if single else result
        if not isinstance(outs, tuple):
            return result
        index = [i for i, a in enumerate(outs) if isinstance(a, Tensor) and a.requires_grad]
        if not index:
            return result
        tensors = [outs[i] for i in index]
        be = tensors[0].be

        def on_grad(grads):     # (an output that got no gradient: None, as torch's pre-hook)
            packed = self._pack([None if g is None else _new(g, be) for g in grads], index,
                                len(outs))
            module = self._module()
            for hook in self.user_pre_hooks:
                out = hook(module, packed)
                if out is None:
                    continue
                if isinstance(out, Tensor):
                    out = (out,)
                if len(out) != len(packed):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(out)}, but expected "
                                       f"{len(packed)}")
                packed = tuple(out)
            self.grad_outputs = packed
            if not self.input_tensors_index and self.user_hooks:
                warnings.warn(
                    "Full backward hook is firing when gradients are computed with respect to "
                    "module outputs since no inputs require gradients. See https://docs.pytorch"
                    ".org/docs/main/generated/torch.nn.Module.html#torch.nn.Module.register_full"
                    "_backward_hook for more details.", stacklevel=_engine_caller_level())
                self._call_user_hooks((None,) * max(self.n_inputs, 0))
            # then zeros for those, as torch's Function materialises them for its backward
            return tuple(be.xp.zeros(t.shape, t.arr.dtype) if packed[i] is None else
                         packed[i].arr for i, t in zip(index, tensors))
        new = _wrap(tensors, on_grad, materialize=False)
        if single:
            return new[0]
        outs = list(outs)
        for i, t in zip(index, new):
            outs[i] = t
        return tuple(outs)


# ---- global hooks (torch.nn.modules.module.register_module_*) -------------------------------
class _Globals:
    """Global module hooks; `any` is checked once per module call."""

    def __init__(self):
        self.forward_pre = OrderedDict()
        self.forward = OrderedDict()
        self.forward_always_called = OrderedDict()
        self.forward_with_kwargs = OrderedDict()
        self.backward = OrderedDict()
        self.backward_pre = OrderedDict()
        self.is_full_backward = None
        self.buffer_registration = OrderedDict()
        self.module_registration = OrderedDict()
        self.parameter_registration = OrderedDict()

    def any(self):
        return bool(self.forward_pre or self.forward or self.backward or self.backward_pre)


GLOBAL = _Globals()
