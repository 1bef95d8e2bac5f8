"""Activation checkpointing (torch.utils.checkpoint): keep a segment's inputs, drop what its
graph saved for backward, and recompute it when backward first reaches the segment.

`use_reentrant=False`: the forward runs normally, recording the real graph. Afterwards every
node recorded inside the segment gives up its saved arrays and input references (the
activations), and gets a pre-hook. When backward reaches the first of them, the hook runs the
segment again (same inputs, same RNG state) and moves the recomputed nodes' saved values into
the original nodes, matched one to one in graph order. Gradients then flow exactly as without
checkpointing, to the inputs and to any parameter used inside, for `backward()` and
`autograd.grad` alike. Nodes of custom autograd Functions keep what they saved (they are
recomputed but not stripped).

`use_reentrant=True` is torch's CheckpointFunction: the segment runs under no_grad inside an
autograd Function (grad_fn CheckpointFunctionBackward); its backward reruns the segment with
grad enabled on detached inputs and calls backward on it, so parameters inside receive their
gradients directly, and autograd.grad / backward(inputs=...) raise as torch's do."""
import contextlib
import warnings
import weakref

from .._tensor import Tensor, _new
from ..amp.autocast import replay, saved_regions
from ..autograd import engine as _engine
from ..autograd.function import Function
from ..autograd.grad_mode import STATE as _grad, enable_grad, no_grad
from ..autograd.node import CLOCK, Node, OutSlot
from ._selective_checkpoint import (CheckpointPolicy, SelectiveCheckpointContext,
                                    create_selective_checkpoint_contexts)

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction",
           "noop_context_fn", "check_backward_validity", "detach_variable",
           "get_device_states", "set_device_states", "set_checkpoint_early_stop",
           "DefaultDeviceType", "set_checkpoint_debug_enabled", "CheckpointPolicy",
           "SelectiveCheckpointContext", "create_selective_checkpoint_contexts"]


class CheckpointError(RuntimeError):
    """The recomputed segment did not record the same graph as the original forward."""


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


_SETTINGS = {"debug": None, "early_stop": None}     # the context managers' overrides


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled):
    """Inside, checkpoint's `debug` is `enabled` (None: each call's own)."""
    prev, _SETTINGS["debug"] = _SETTINGS["debug"], enabled
    try:
        yield
    finally:
        _SETTINGS["debug"] = prev


@contextlib.contextmanager
def set_checkpoint_early_stop(enable):
    """Inside, non-reentrant checkpoints made stop (or not) recomputing once the needed tensors
    exist. ember's recomputation runs the whole segment either way (the same gradients)."""
    prev, _SETTINGS["early_stop"] = _SETTINGS["early_stop"], enable
    try:
        yield
    finally:
        _SETTINGS["early_stop"] = prev


def detach_variable(inputs):
    """The tensors of a tuple detached, each keeping its requires_grad (others as they are)."""
    if not isinstance(inputs, tuple):
        raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    out = []
    for inp in inputs:
        if isinstance(inp, Tensor):
            x = inp.detach()
            x.requires_grad = inp.requires_grad
            inp = x
        out.append(inp)
    return tuple(out)


class DefaultDeviceType:
    """The device type whose RNG states checkpoint saves when no argument is on an accelerator
    (the current accelerator's, else "cpu", until set)."""
    _default_device_type = None

    @staticmethod
    def set_device_type(device="cuda"):
        DefaultDeviceType._default_device_type = device

    @staticmethod
    def get_device_type():
        if not DefaultDeviceType._default_device_type:
            from .. import accelerator
            acc = accelerator.current_accelerator(True)
            DefaultDeviceType._default_device_type = acc.type if acc else "cpu"
        return DefaultDeviceType._default_device_type


def _infer_device_type(*args):
    types = [t.device.type for t in _tensors(args) if t.device.type != "cpu"]
    if len(set(types)) > 1:
        warnings.warn(
            "Tensor arguments, excluding CPU tensors, are detected on at least two types of "
            "devices. Device state will only be saved for devices of a single device type, and "
            "the remaining devices will be ignored. Consequently, if any checkpointed functions "
            "involve randomness, this may result in incorrect gradients. (Note that if CUDA "
            "devices are among the devices detected, it will be prioritized; otherwise, the "
            "first device encountered will be selected.)"
            f"\nDevice types: {sorted(set(types))} first device type: {types[0]}",
            stacklevel=3)
    if not types:
        return DefaultDeviceType.get_device_type()
    return "cuda" if "cuda" in types else types[0]


def _device_module(device_type):
    import importlib
    return importlib.import_module(f"ember.{device_type}")


def get_device_states(*args):
    """([device indices of the accelerator tensors among args], [their RNG states])."""
    ids = [t.get_device() for t in _tensors(args) if t.device.type not in ("cpu", "meta")]
    module = _device_module(_infer_device_type(*args)) if ids else None
    states = []
    for i in ids:
        with module.device(i):
            states.append(module.get_rng_state())
    return ids, states


def set_device_states(devices, states, *, device_type=None):
    """Set the RNG states of the devices (of `device_type`, by default DefaultDeviceType's)."""
    if device_type is None:
        device_type = DefaultDeviceType.get_device_type()
    if device_type == "meta":
        return
    module = _device_module(device_type)
    for device, state in zip(devices, states):
        with module.device(device):
            module.set_rng_state(state)


def check_backward_validity(inputs):
    if not any(inp.requires_grad for inp in inputs if isinstance(inp, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=3)


def _tensors(obj):
    """Tensors inside (nested) tuples, lists and dicts, in order."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _tensors(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors(o)


def _start_region():
    """Tick the in-place clock: every node recorded from now on has `epoch >= ` the result,
    every node recorded before has a smaller one."""
    CLOCK[0] += 1
    return CLOCK[0]


def _region_nodes(outputs, start):
    """Nodes recorded since `start` that lead to `outputs`, in a deterministic graph order."""
    order, seen = [], set()
    stack = [t.grad_fn for t in reversed(list(_tensors(outputs))) if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, OutSlot):
            node = node.parent
        if id(node) in seen or not isinstance(node, Node) or node.epoch < start:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend(n for n in reversed(node.next) if n is not None)
    return order


def _stub(t):
    """An empty tensor standing in for a dropped input until recomputation (the engine reads
    its backend)."""
    return _new(t.be.xp.empty((0,), t.arr.dtype), t.be)


def _versions(args):
    return [(t, t._version) for t in _tensors(args)]


class _Recompute:
    """The pre-hook put on a checkpointed segment's nodes: recomputes the segment once."""

    def __init__(self, function, args, kwargs, rng_state, nodes, determinism_check,
                 context_fn):
        self.function, self.args, self.kwargs = function, args, kwargs
        self.autocast = saved_regions()
        self.rng_state, self.determinism_check = rng_state, determinism_check
        self.context_fn = context_fn
        self.versions = _versions(args)
        self.refs = [weakref.ref(n) for n in nodes]
        self.ops = [n.op for n in nodes]
        self.done = False

    def __call__(self, grad):
        if self.done:
            return None
        self.done = True
        for t, v in self.versions:
            if t._version != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: an input of a checkpointed segment (shape "
                    f"{list(t.shape)}) is at version {t._version}; expected version {v} instead.")
        new_nodes = self._rerun()
        if self.determinism_check != "none":
            if len(new_nodes) != len(self.refs):
                raise CheckpointError(
                    "torch.utils.checkpoint: A different number of tensors was saved during the "
                    "original forward and recomputation.\nNumber of tensors saved during "
                    f"forward: {len(self.refs)}\nNumber of tensors saved during recomputation: "
                    f"{len(new_nodes)}.")
            for op, new in zip(self.ops, new_nodes):
                if op is not new.op:
                    raise CheckpointError(
                        "torch.utils.checkpoint: Recomputed values for the following tensors "
                        "have different metadata than during the forward pass: the forward "
                        f"recorded {op.name} where the recomputation recorded {new.op.name}.")
        for ref, new in zip(self.refs, new_nodes):
            old = ref()
            if old is not None and getattr(old, "op_node", False) and \
                    not _owned_by_other(old, self):
                old.saved, old.inputs = new.saved, new.inputs
                old.epoch, old.out_vc = new.epoch, new.out_vc
        self.args = self.kwargs = None
        return None

    def _rerun(self):
        current = _rng_states() if self.rng_state is not None else None
        try:
            if self.rng_state is not None:
                _set_rng_states(self.rng_state)
            _, recompute_ctx = self.context_fn()
            with enable_grad(), replay(self.autocast), recompute_ctx:
                start = _start_region()
                outputs = self.function(*self.args, **self.kwargs)
            return _region_nodes(outputs, start)
        finally:
            if current is not None:
                _set_rng_states(current)


def _rng_states():
    """The CPU and CUDA generators' states: the recomputation draws as the forward did."""
    from ..ops.random import cuda_states, default_generator
    return default_generator.get_state(), cuda_states()


def _set_rng_states(states):
    from ..ops.random import default_generator, set_cuda_states
    default_generator.set_state(states[0])
    set_cuda_states(states[1])


def _owned_by_other(node, hook):
    return any(isinstance(h, _Recompute) and h is not hook for h in node.hooks or ())


def _checkpoint(function, args, kwargs, preserve, context_fn, determinism_check):
    rng_state = _rng_states() if preserve else None
    forward_ctx, _ = context_fn()
    with forward_ctx:
        start = _start_region()
        outputs = function(*args, **kwargs)
    nodes = _region_nodes(outputs, start)
    if not nodes:
        return outputs
    hook = _Recompute(function, args, kwargs, rng_state, nodes, determinism_check, context_fn)
    for node in nodes:
        if _owned_by_other(node, hook):     # a nested checkpoint restores its own nodes
            continue
        if getattr(node, "op_node", False):  # custom Function nodes keep their own state
            node.saved = ()
            node.inputs = tuple(_stub(t) if isinstance(t, Tensor) else t for t in node.inputs)
        node.add_tensor_hook(hook)
    return outputs


class CheckpointFunction(Function):
    """torch's reentrant checkpoint."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        ctx.run_function, ctx.autocast = run_function, saved_regions()
        ctx.rng_state = _rng_states() if preserve_rng_state else None
        ctx.args = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*(a for a in args if isinstance(a, Tensor)))
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        from ..autograd import backward as _backward
        if not _engine.checkpoint_valid():
            raise RuntimeError(
                "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or "
                "passing an `inputs` parameter to .backward(). To resolve this error, you can "
                "either set use_reentrant=False, or call .backward() without passing the "
                "`inputs` argument.")
        inputs = list(ctx.args)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t.detach().requires_grad_(t.requires_grad)
        current = _rng_states() if ctx.rng_state is not None else None
        try:
            if ctx.rng_state is not None:
                _set_rng_states(ctx.rng_state)
            with enable_grad(), replay(ctx.autocast):
                outputs = ctx.run_function(*inputs)
        finally:
            if current is not None:
                _set_rng_states(current)
        outputs = (outputs,) if isinstance(outputs, Tensor) else outputs
        pairs = [(o, g) for o, g in zip(outputs, grads)
                 if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not "
                               "necessary")
        _backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) else None for a in inputs)


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn,
               determinism_check="default", debug=False, early_stop=True, **kwargs):
    """Run `function(*args, **kwargs)` without keeping its activations; recompute them in
    backward. `preserve_rng_state=True` (a keyword) replays the same random draws."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
            "exception. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
    elif (debug if _SETTINGS["debug"] is None else _SETTINGS["debug"]) and \
            context_fn is not noop_context_fn:
        raise ValueError("debug=True is incompatible with non-default context_fn")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    if use_reentrant:
        return CheckpointFunction.apply(function, preserve, *args)
    if not _grad.enabled:
        return function(*args, **kwargs)
    return _checkpoint(function, args, kwargs, preserve, context_fn, determinism_check)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Checkpoint all but the last of `segments` chunks of a sequential model."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be "
            "passed explicitly. In version 2.9 we will raise an exception if use_reentrant is "
            "not passed. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start, end, functions):
        def forward(input):
            for j in range(start, end + 1):
                input = functions[j](input)
            return input
        return forward

    from ..nn import Sequential
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end, functions), input,
                           use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1, functions)(input)
