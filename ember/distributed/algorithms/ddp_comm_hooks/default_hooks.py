"""torch.distributed.algorithms.ddp_comm_hooks.default_hooks: average a GradBucket by
all_reduce, optionally compressed to float16 / bfloat16 on the wire."""
from .... import bfloat16, float16
from ... import _collectives, distributed_c10d

__all__ = ["allreduce_hook", "fp16_compress_hook", "bf16_compress_hook", "fp16_compress_wrapper",
           "bf16_compress_wrapper"]


def _group(process_group):
    return process_group if process_group is not None else distributed_c10d.group.WORLD


def _allreduce_fut(process_group, tensor):
    """Average `tensor` over the group in place (divided first, to avoid float16 overflow)."""
    group_to_use = _group(process_group)
    tensor.div_(group_to_use.size())
    return _collectives.all_reduce(tensor, group=group_to_use, async_op=True) \
        .get_future().then(lambda fut: fut.value()[0])


def allreduce_hook(process_group, bucket):
    """The hook equivalent of DDP without one: the bucket's buffer averaged by all_reduce."""
    return _allreduce_fut(process_group, bucket.buffer())


def _compress_hook(dtype, process_group, bucket):
    group_to_use = _group(process_group)
    buffer = bucket[0] if isinstance(bucket, tuple) else bucket.buffer()
    compressed_tensor = buffer.to(dtype).div_(group_to_use.size())

    def decompress(fut):
        buffer.copy_(fut.value()[0])            # in place, as torch does
        return buffer
    return _collectives.all_reduce(compressed_tensor, group=group_to_use, async_op=True) \
        .get_future().then(decompress)


def fp16_compress_hook(process_group, bucket):
    """Cast the bucket to float16 divided by the group size, all_reduce it, cast it back."""
    return _compress_hook(float16, process_group, bucket)


def bf16_compress_hook(process_group, bucket):
    """fp16_compress_hook with bfloat16 (DDP refuses it without CUDA and NCCL, as torch)."""
    return _compress_hook(bfloat16, process_group, bucket)


def _compress_wrapper(dtype, hook):
    def wrapper_hook(hook_state, bucket):
        bucket.set_buffer(bucket.buffer().to(dtype))
        fut = hook(hook_state, bucket)

        def decompress(fut):
            decompressed_tensor = bucket.buffer()
            decompressed_tensor.copy_(fut.value())
            return decompressed_tensor
        return fut.then(decompress)
    return wrapper_hook


def fp16_compress_wrapper(hook):
    """Run `hook` on the bucket cast to float16, and cast its result back: so
    fp16_compress_wrapper(allreduce_hook) is fp16_compress_hook."""
    wrapped = _compress_wrapper(float16, hook)
    wrapped.__name__ = "fp16_compress_wrapper_hook"
    return wrapped


def bf16_compress_wrapper(hook):
    """fp16_compress_wrapper with bfloat16."""
    wrapped = _compress_wrapper(bfloat16, hook)
    wrapped.__name__ = "bf16_compress_wrapper_hook"
    return wrapped
