"""vmap: torch.func.vmap's interface, implemented by looping.

ember has no batched tensors: vmap calls the function once per index of the mapped dimension,
on slices of the mapped inputs, and stacks the outputs with ember.stack. Results equal torch's;
the cost is one Python call per sample. While the function runs, a mode marks what is batched and
refuses what torch's batched tensors refuse (_batching.py). Differences that follow from looping:
an output with out_dim None is the first sample's (torch requires it not to depend on the mapped
inputs), over a mapped dimension of size 0 the function runs once on zero-filled samples (for
the outputs' shapes), and chunk_size is validated but changes nothing."""
import contextlib
import functools

from .._torch_function import STATE, dispatched, hold, release
from ..autograd.function import transform
from ..utils._pytree import _broadcast_to_and_flatten, tree_flatten, tree_unflatten
from ._batching import RUNNING, Batching, Level, module_outputs, rnn_refusal

__all__ = ["vmap"]


def check_randomness(randomness):
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")


@contextlib.contextmanager
def randomness_guard(randomness):
    """torch's randomness="error": a random op inside is an error (seen after the fact, from
    the default generator's state)."""
    from ..ops import random
    mark = random.default_generator.draw_mark() if randomness == "error" else None
    yield
    if mark is not None and random.default_generator.draw_mark() != mark:
        raise RuntimeError("vmap: called random operation while in randomness error mode. "
                           "Please either use the 'same' or 'different' randomness flags on "
                           "vmap or perform the randomness operation out of vmap")


def _name(func):
    if hasattr(func, "__name__"):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"functools.partial({_name(func.func)}, ...)"
    return repr(func)


def _batched_inputs(func, in_dims, args):
    """(batch size, flat in_dims with negatives wrapped, flat args, args spec)."""
    from .._tensor import Tensor
    head = f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>)"
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"{head}: expected `in_dims` to be int or a (potentially nested) tuple "
                         f"matching the structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to add "
                         "inputs, or you are trying to vmap over a function with no inputs. The "
                         "latter is unsupported.")
    flat_args, spec = tree_flatten(args)
    flat_dims = _broadcast_to_and_flatten(in_dims, spec)
    if flat_dims is None:
        raise ValueError(f"{head}: in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has structure {tree_flatten(in_dims)[1]} but inputs has "
                         f"structure {spec}.")
    for i, (arg, dim) in enumerate(zip(flat_args, flat_dims)):
        if dim is None:
            continue
        if not isinstance(dim, int):
            raise ValueError(f"{head}: Got in_dim={dim} for an input but in_dim must be either "
                             "an integer dimension or None.")
        if not isinstance(arg, Tensor):
            raise ValueError(f"{head}: Got in_dim={dim} for an input but the input is of type "
                             f"{type(arg)}. We cannot vmap over non-Tensor arguments, please use "
                             "None as the respective in_dim")
        if not -arg.dim() <= dim < arg.dim():
            raise ValueError(f"{head}: Got in_dim={dim} for some input, but that input is a "
                             f"Tensor of dimensionality {arg.dim()} so expected in_dim to "
                             f"satisfy -{arg.dim()} <= in_dim < {arg.dim()}.")
        flat_dims[i] = dim % arg.dim()
    sizes = [arg.shape[dim] for arg, dim in zip(flat_args, flat_dims) if dim is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(size != sizes[0] for size in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return sizes[0], flat_dims, flat_args, spec


def _check_out_dims(func, out_dims):
    for dim in tree_flatten(out_dims)[0]:
        if dim is not None and not isinstance(dim, int):
            raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims}): `out_dims` must be "
                             "an int, None or a python collection of ints representing where in "
                             "the outputs the vmapped dimension should appear.")


def _stack_outputs(func, outputs, out_dims, size):
    from .. import stack        # ember.stack as it is now: an enclosing vmap's mode sees it
    from .._tensor import Tensor
    name = _name(func)
    flat_first, spec = tree_flatten(outputs[0])
    single = isinstance(outputs[0], Tensor) and isinstance(out_dims, tuple) and len(out_dims) == 1
    flat_dims = _broadcast_to_and_flatten(out_dims[0] if single else out_dims, spec)
    if flat_dims is None:
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
                         "compatible with the structure of `outputs`. out_dims has structure "
                         f"{tree_flatten(out_dims)[1]} but outputs has structure {spec}.")
    columns = zip(*(tree_flatten(out)[0] for out in outputs))
    flat = []
    for first, dim, column in zip(flat_first, flat_dims, columns):
        if dim is None:
            flat.append(first)
        elif not isinstance(first, Tensor):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                             f"{type(first)}. Did you mean to set out_dims= to None for output?")
        else:
            out = stack(column, dim)
            flat.append(out if size else out.narrow(dim, 0, 0))
    return tree_unflatten(flat, spec)


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """func mapped over dimension in_dims of its inputs (None: not mapped; a tuple, possibly
    nested, gives one per argument), its outputs stacked along out_dims. Loops over the batch."""
    from ..nn.modules.module import (register_module_forward_hook,
                                     register_module_forward_pre_hook)
    from ..ops.random import get_rng_state, set_rng_state
    check_randomness(randomness)
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        _check_out_dims(func, out_dims)
        size, flat_dims, flat_args, spec = _batched_inputs(func, in_dims, args)
        state = get_rng_state() if randomness == "same" else None
        outputs = []
        mode, hooks = Batching(Level(randomness, size)), []
        hold()
        call = dispatched(func)     # (ember's own function, taken before the hold: its dispatcher)
        if len(flat_args) == len(args) and all(a is b for a, b in zip(flat_args, args)):
            spec = None             # (the arguments are the leaves: no unflattening per sample)
        try:
            if not RUNNING.levels:          # (the outermost vmap of the thread)
                hooks += (register_module_forward_pre_hook(rnn_refusal),
                          register_module_forward_hook(module_outputs, with_kwargs=True))
            with randomness_guard(randomness):
                for i in range(max(size, 1)):
                    if state is not None:
                        set_rng_state(state)
                    sample = [arg if dim is None else arg.select(dim, i) if size else
                              arg.new_zeros(arg.shape[:dim] + arg.shape[dim + 1:])
                              for arg, dim in zip(flat_args, flat_dims)]
                    outputs.append(_call(call, mode, sample, flat_dims, spec, kwargs))
            return _stack_outputs(func, outputs, out_dims, size)
        finally:
            release()
            for hook in hooks:
                hook.remove()
    return wrapped


def _call(func, mode, sample, flat_dims, spec, kwargs):
    """func on one sample, under the vmap's Batching mode, its level holding the sample's mapped
    inputs batched (spec None: the sample is the arguments)."""
    level = mode.level
    level.marked.clear()
    for t, dim in zip(sample, flat_dims):
        if dim is not None:
            level.mark(t)
    with transform("vmap"):
        STATE.modes += (mode,)
        RUNNING.levels.append(level)
        try:
            return func(*(sample if spec is None else tree_unflatten(sample, spec)), **kwargs)
        finally:
            RUNNING.levels.pop()
            mode.__exit__()
