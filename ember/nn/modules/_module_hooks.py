"""Module's forward/backward hooks: per-module registration, the hooked call path, and the
global `register_module_*` hooks. The backward-hook machinery itself lives in `_hooks.py`."""
import warnings
import weakref

from ..._tensor import Tensor
from ._hooks import GLOBAL as _GLOBAL, BackwardHook, RemovableHandle


class HooksMixin:
    """Hook registration and `_call_impl`, which `Module.__call__` takes only when a hook is set."""

    # ---- calling with hooks ---------------------------------------------------------------
    def _call_impl(self, *args, **kwargs):
        called_always = set()
        try:
            return self._call_with_hooks(args, kwargs, called_always)
        except Exception:
            self._run_always_called_hooks(args, kwargs, called_always)
            raise

    def _call_with_hooks(self, args, kwargs, called_always):
        full_hooks, legacy_hooks = self._get_backward_hooks()
        pre_bw_hooks = self._get_backward_pre_hooks()
        for hook_id, hook in (*_GLOBAL.forward_pre.items(), *self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                res = hook(self, args, kwargs)
                if res is not None:
                    if isinstance(res, tuple) and len(res) == 2:
                        args, kwargs = res
                    else:
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {res}.")
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        bw_hook = None
        if full_hooks or pre_bw_hooks:
            bw_hook = BackwardHook(self, full_hooks, pre_bw_hooks)
            args = bw_hook.setup_input_hook(args)
        result = self.forward(*args, **kwargs)
        for hook_id, hook in (*_GLOBAL.forward.items(), *self._forward_hooks.items()):
            if hook_id in self._forward_hooks_always_called or \
                    hook_id in _GLOBAL.forward_always_called:
                called_always.add(hook_id)
            if hook_id in self._forward_hooks_with_kwargs or \
                    hook_id in _GLOBAL.forward_with_kwargs:
                res = hook(self, args, kwargs, result)
            else:
                res = hook(self, args, result)
            if res is not None:
                result = res
        if bw_hook is not None:
            if not isinstance(result, (Tensor, tuple)):
                warnings.warn("For backward hooks to be called, module output should be a Tensor "
                              f"or a tuple of Tensors but received {type(result)}", stacklevel=3)
            result = bw_hook.setup_output_hook(result)
        if legacy_hooks:
            self._hook_output_node(legacy_hooks, args, result)
        return result

    def _hook_output_node(self, hooks, args, result):
        """torch's non-full (register_backward_hook) hooks: on the grad_fn of the first tensor
        of the output, called with that node's gradients (grad_input: those of the node's own
        inputs, not the module's), with torch's FutureWarning where the two differ."""
        var = result
        while not isinstance(var, Tensor):
            var = next(v for v in var.values() if isinstance(v, Tensor)) \
                if isinstance(var, dict) else var[0]
        grad_fn = var.grad_fn
        if grad_fn is None:
            return
        for hook in hooks:
            grad_fn.register_hook(_ModuleHook(hook, self))
        _warn_non_full_backward_hook(args, result, grad_fn)

    def _run_always_called_hooks(self, args, kwargs, called_always):
        for hook_id, hook in (*_GLOBAL.forward.items(), *self._forward_hooks.items()):
            always = hook_id in self._forward_hooks_always_called or \
                hook_id in _GLOBAL.forward_always_called
            if not always or hook_id in called_always:
                continue
            try:
                if hook_id in self._forward_hooks_with_kwargs:
                    hook(self, args, kwargs, None)
                else:
                    hook(self, args, None)
            except Exception as e:
                warnings.warn("module forward hook with ``always_call=True`` raised an exception "
                              f"that was silenced as another error was raised in forward: {e}",
                              stacklevel=3)

    # ---- registration ---------------------------------------------------------------------
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        handle = RemovableHandle(self._forward_pre_hooks,
                                 extra_dict=self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        handle = RemovableHandle(self._forward_hooks,
                                 extra_dict=[self._forward_hooks_with_kwargs,
                                             self._forward_hooks_always_called])
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_pre_hook(self, hook, prepend=False):
        handle = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        if prepend:
            self._backward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook, prepend=False):
        if self._is_full_backward_hook is False:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        self._is_full_backward_hook = True
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_backward_hook(self, hook):
        """Deprecated in torch: the hook goes on the output's grad_fn (see _hook_output_node)."""
        if self._is_full_backward_hook is True:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        self._is_full_backward_hook = False
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        return handle

    def _get_backward_hooks(self):
        full, legacy = [], []
        if _GLOBAL.is_full_backward is True:
            full += _GLOBAL.backward.values()
        if self._is_full_backward_hook is True:
            full += self._backward_hooks.values()
        if _GLOBAL.is_full_backward is False:
            legacy += _GLOBAL.backward.values()
        if self._is_full_backward_hook is False:
            legacy += self._backward_hooks.values()
        return full, legacy

    def _get_backward_pre_hooks(self):
        return list(_GLOBAL.backward_pre.values()) + list(self._backward_pre_hooks.values())


class _ModuleHook:
    """A node hook calling hook(module, grad_input, grad_output) (torch's _WrappedHook); the
    module held weakly."""

    def __init__(self, hook, module):
        self.hook, self.module = hook, weakref.ref(module)

    def __call__(self, *args):
        module = self.module()
        if module is None:
            raise RuntimeError("You are trying to call the hook of a dead Module!")
        return self.hook(module, *args)


def _warn_non_full_backward_hook(inputs, result, grad_fn):
    """torch's Module._maybe_warn_non_full_backward_hook."""
    checked = []
    for value, does, part in ((result, "return", "grad_output"),
                              (inputs, "take as input", "grad_input")):
        tensors = (value,) if isinstance(value, Tensor) else value if isinstance(value, tuple) \
            and all(isinstance(v, Tensor) for v in value) else None
        if tensors is None:
            warnings.warn(f"Using non-full backward hooks on a Module that does not {does} a "
                          "single Tensor or a tuple of Tensors is deprecated and will be removed "
                          f"in future versions. This hook will be missing some of the {part}. "
                          "Please use register_full_backward_hook to get the documented "
                          "behavior.", FutureWarning, stacklevel=4)
            return
        checked.append(tensors)
    result, inputs = checked
    out_fns = {r.grad_fn for r in result if r.grad_fn is not None}
    if not out_fns or (len(out_fns) == 1 and grad_fn not in out_fns):
        warnings.warn("Using a non-full backward hook when outputs are nested in python data "
                      "structure is deprecated and will be removed in future versions. This hook "
                      "will be missing some grad_output.", FutureWarning, stacklevel=4)
    elif len(out_fns) > 1:
        warnings.warn("Using a non-full backward hook when outputs are generated by different "
                      "autograd Nodes is deprecated and will be removed in future versions. This "
                      "hook will be missing some grad_output. Please use "
                      "register_full_backward_hook to get the documented behavior.",
                      FutureWarning, stacklevel=4)
    elif {i.grad_fn for i in inputs if i.grad_fn is not None} != \
            {n[0] for n in grad_fn.next_functions}:
        warnings.warn("Using a non-full backward hook when the forward contains multiple "
                      "autograd Nodes is deprecated and will be removed in future versions. This "
                      "hook will be missing some grad_input. Please use "
                      "register_full_backward_hook to get the documented behavior.",
                      FutureWarning, stacklevel=4)


# ---- global module hooks ----------------------------------------------------------------
def _add_global_hook(registry, hook):
    handle = RemovableHandle(registry)
    registry[handle.id] = hook
    return handle


def register_module_forward_pre_hook(hook):
    return _add_global_hook(_GLOBAL.forward_pre, hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    handle = RemovableHandle(_GLOBAL.forward, extra_dict=[_GLOBAL.forward_always_called,
                                                          _GLOBAL.forward_with_kwargs])
    _GLOBAL.forward[handle.id] = hook
    if with_kwargs:
        _GLOBAL.forward_with_kwargs[handle.id] = True
    if always_call:
        _GLOBAL.forward_always_called[handle.id] = True
    return handle


def _register_global_backward(hook, full):
    if _GLOBAL.is_full_backward is (not full):
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks as a "
                           "global Module hook. Please use only one of them.")
    _GLOBAL.is_full_backward = full
    return _add_global_hook(_GLOBAL.backward, hook)


def register_module_backward_hook(hook):
    return _register_global_backward(hook, False)


def register_module_full_backward_hook(hook):
    return _register_global_backward(hook, True)


def register_module_full_backward_pre_hook(hook):
    return _add_global_hook(_GLOBAL.backward_pre, hook)


def register_module_buffer_registration_hook(hook):
    return _add_global_hook(_GLOBAL.buffer_registration, hook)


def register_module_module_registration_hook(hook):
    return _add_global_hook(_GLOBAL.module_registration, hook)


def register_module_parameter_registration_hook(hook):
    return _add_global_hook(_GLOBAL.parameter_registration, hook)
