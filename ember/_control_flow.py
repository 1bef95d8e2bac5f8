"""ember.cond and ember.while_loop (torch.cond, torch.while_loop), run eagerly.

torch runs both through torch.compile (eager backend); ember calls the branch taken, or the
loop body while cond_fn holds, in Python. Autograd records what runs, so outputs and gradients
are those of the branch taken and of the iterations run. torch's checks on the arguments are
made with its exception classes and messages, and while_loop checks each body output against
the carried values (the same structure, Tensors of the same shape and dtype, ints for ints).

Not checked, as nothing is traced: that cond's two branches return matching outputs, and that
a branch or body leaves its inputs unmutated and returns no input itself (torch refuses these
with torch._dynamo errors, RuntimeErrors).

Gradients are eager autograd's, exact for the iterations run. torch 2.13's while_loop backward
differs in two cases: it counts one iteration for tensors the body closes over, and when the
loop runs no iteration it still differentiates through one run of the body."""
from ._dtype import bool_
from ._tensor import Tensor
from .utils._pytree import tree_flatten, tree_unflatten

__all__ = ["cond", "while_loop"]


def cond(pred, true_fn, false_fn, operands=()):
    """true_fn(*operands) if pred else false_fn(*operands); pred a bool or a one-element
    tensor, operands a tuple or list of (nested dicts, lists, tuples of) Tensors."""
    if isinstance(pred, (bool, int, float)):        # a Python constant: no checks in torch
        return true_fn(*operands) if pred else false_fn(*operands)
    if not isinstance(pred, Tensor):
        raise RuntimeError(f"Expected pred to be bool or tensor, but got {pred}.")
    if pred.numel() != 1:
        raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")
    if not callable(true_fn) or not callable(false_fn):
        raise RuntimeError("Expect both branches to be callable.")
    if not isinstance(operands, (tuple, list)) or not all(
            isinstance(t, Tensor) for t in tree_flatten(operands)[0]):
        raise RuntimeError("Expect operands to be a tuple of possibly nested dict/list/tuple "
                           f"that only consists of tensor leaves, but got {operands}.")
    return true_fn(*operands) if pred.item() else false_fn(*operands)


def _should_loop(pred):
    if isinstance(pred, bool) or (isinstance(pred, Tensor) and pred.shape == ()
                                  and pred.dtype is bool_):
        return bool(pred)
    raise RuntimeError(f"cond_fn must return a boolean scalar tensor or a boolean but got {pred}")


def _check_body_output(out, carried):
    if len(out) != len(carried):
        raise RuntimeError("body_fn should return the same number of elements as "
                           f"carried_inputs, got {len(out)} vs {len(carried)}")
    for i, (o, c) in enumerate(zip(out, carried)):
        if isinstance(o, Tensor) != isinstance(c, Tensor):
            diff = f"type: {o} vs {c}"
        elif isinstance(o, Tensor) and o.shape != c.shape:
            diff = f"'shape: {o.shape} vs {c.shape}'"
        elif isinstance(o, Tensor) and o.dtype != c.dtype:
            diff = f"'dtype: {o.dtype} vs {c.dtype}'"
        else:
            continue
        raise RuntimeError("Expected body_fn_output and carried_inputs to have same metadata "
                           f"but found:\npair[{i}] differ in {diff}")


def while_loop(cond_fn, body_fn, carried_inputs):
    """Runs `carried = body_fn(*carried)` while cond_fn(*carried) is true. Returns the last
    body output, or clones of carried_inputs (as a tuple) when the loop runs no iteration."""
    flat, spec = tree_flatten(carried_inputs)
    if not callable(cond_fn) or not callable(body_fn):
        raise RuntimeError("Expect cond_fn and body_fn to be callable.")
    if not all(isinstance(v, (Tensor, int)) for v in flat):
        raise AssertionError(f"{flat} can only be of {(Tensor, int)} but got "
                             f"{tuple(type(v) for v in flat)}")
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(f"carried_inputs must be a tuple or list but got "
                           f"{type(carried_inputs)}")
    if not _should_loop(cond_fn(*carried_inputs)):
        return tuple(v.clone() if isinstance(v, Tensor) else v for v in carried_inputs)
    while True:
        out = body_fn(*tree_unflatten(flat, spec))
        flat_out = tree_flatten(out)[0]
        _check_body_output(flat_out, flat)
        flat = flat_out
        if not _should_loop(cond_fn(*tree_unflatten(flat, spec))):
            return out
