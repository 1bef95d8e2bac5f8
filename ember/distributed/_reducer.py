"""What DistributedDataParallel's reducer shows a communication hook: torch's GradBucket, the
built-in hook types, and torch's rule for grouping gradients into buckets
(_compute_bucket_assignment_by_size)."""
import enum

__all__ = ["BuiltinCommHookType", "GradBucket"]


class BuiltinCommHookType(enum.Enum):
    """The hooks DistributedDataParallel._register_builtin_comm_hook takes."""
    ALLREDUCE = 1
    FP16_COMPRESS = 2

    def __str__(self):
        return f"BuiltinCommHookType.{self.name}"


class GradBucket:
    """torch.distributed.GradBucket: one bucket of gradients handed to a DDP communication
    hook. buffer() is the flat tensor to reduce (its gradients, in bucket order, not divided
    by the world size); gradients() are views of that buffer shaped like parameters()."""
    __slots__ = ("_index", "_buffer", "_gradients", "_parameters", "_is_last")

    def __init__(self, index, buffer, gradients, parameters, is_last):
        self._index, self._buffer, self._is_last = index, buffer, is_last
        self._gradients, self._parameters = gradients, parameters

    def index(self):
        """The bucket's position in the reduction order (0 is reduced first)."""
        return self._index

    def buffer(self):
        return self._buffer

    def gradients(self):
        return list(self._gradients)

    def parameters(self):
        return list(self._parameters)

    def is_last(self):
        """Whether this is the last bucket reduced in the iteration."""
        return self._is_last

    def set_buffer(self, buffer):
        """Replace the buffer (what later buffer() calls return)."""
        self._buffer = buffer


def _compute_bucket_assignment_by_size(tensors, bucket_size_limits, tensor_indices=()):
    """torch's rule: tensors go, in order, into one open bucket per (dtype, device); a bucket
    closes once its size in bytes reaches its limit (the limits are used in turn, the last
    one repeated). Without tensor_indices the buckets are sorted by their lowest index.
    Returns (bucket_indices, per_bucket_size_limits)."""
    result, open_buckets, limit_at = [], {}, {}
    for i, t in enumerate(tensors):
        key = (t.dtype, t.device)
        bucket = open_buckets.setdefault(key, [[], 0, None])
        bucket[0].append(tensor_indices[i] if tensor_indices else i)
        bucket[1] += t.numel() * t.element_size()
        at = limit_at.setdefault(key, 0)
        bucket[2] = bucket_size_limits[at]
        if bucket[1] >= bucket[2]:
            result.append((bucket[0], bucket[2]))
            del open_buckets[key]
            limit_at[key] = min(at + 1, len(bucket_size_limits) - 1)
    result += [(b[0], b[2]) for b in open_buckets.values()]
    if not tensor_indices:
        result.sort(key=lambda b: min(b[0]))
    return [b[0] for b in result], [b[1] for b in result]
