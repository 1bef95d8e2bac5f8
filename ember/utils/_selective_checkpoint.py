"""Selective activation checkpointing's API (torch.utils.checkpoint.CheckpointPolicy and
create_selective_checkpoint_contexts, torch 2.13's definitions).

torch calls the policy for every aten op inside the checkpointed region and caches the outputs
of the ops it marks *_SAVE. ember has no aten dispatcher to intercept ops at, so its two contexts
save nothing and every op is recomputed: what torch documents as equivalent to plain
checkpointing, with the same numbers and gradients (the recomputation replays the RNG state);
only the memory/compute trade-off differs."""
import contextlib
import enum

__all__ = ["CheckpointPolicy", "SelectiveCheckpointContext", "create_selective_checkpoint_contexts"]


class CheckpointPolicy(enum.Enum):
    """Whether an op's output is saved for backward or recomputed (MUST_* may not be
    overridden by torch.compile; PREFER_* may)."""
    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


class SelectiveCheckpointContext:
    """The first argument of a policy function: is_recompute tells the two passes apart."""

    def __init__(self, *, is_recompute, op_output=None):
        self.is_recompute = is_recompute
        self.op_output = op_output


class _PolicyContext(contextlib.AbstractContextManager):
    """One of the two contexts create_selective_checkpoint_contexts returns."""

    def __init__(self, policy_fn, is_recompute):
        self.policy_fn, self.is_recompute = policy_fn, is_recompute

    def __exit__(self, *exc):
        return None


def create_selective_checkpoint_contexts(policy_fn_or_list, allow_cache_entry_mutation=False):
    """The (forward, recompute) context pair for checkpoint(..., context_fn=...): a policy
    function (ctx, op, *args, **kwargs) -> CheckpointPolicy, or a list of ops to save."""
    if isinstance(policy_fn_or_list, list):
        for op in policy_fn_or_list:
            if not callable(op):
                raise ValueError(f"Expected op in `op_list` to be an OpOverload but got: {op} "
                                 f"of type {type(op)}. ")
        ops = policy_fn_or_list

        def policy_fn(ctx, op, *args, **kwargs):
            if op in ops:
                return CheckpointPolicy.MUST_SAVE
            return CheckpointPolicy.PREFER_RECOMPUTE
    elif callable(policy_fn_or_list):
        policy_fn = policy_fn_or_list
    else:
        raise TypeError("policy_fn_or_list must be either a function or a list of ops.")
    return _PolicyContext(policy_fn, False), _PolicyContext(policy_fn, True)
