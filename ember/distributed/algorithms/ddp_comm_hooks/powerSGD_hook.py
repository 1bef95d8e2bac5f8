"""torch.distributed.algorithms.ddp_comm_hooks.powerSGD_hook: PowerSGD gradient compression
(Vogels et al., NeurIPS 2019), torch's algorithm step for step.

After start_powerSGD_iter plain all_reduce iterations, each gradient matrix M (n x m) of a
bucket that compresses well is approximated by P Q^T of rank r: P = M Q, all-reduced and
orthogonalized, then Q = M^T P, all-reduced and divided by the world size; the other
gradients are all-reduced whole. The approximation error is fed back into the next
iteration's gradients (use_error_feedback) and Q is reused from the last one (warm_start).
The random start of Q draws from a NumPy RandomState(random_seed), as torch's does, so runs
repeat exactly. torch's batched_powerSGD_hook is not implemented."""
import logging
from collections import defaultdict

from .... import bfloat16, bmm, cat, empty, float16, linalg, manual_seed, norm, random, \
    randn, stack, sum as _sum, tensor, zeros
from ... import _collectives, distributed_c10d
from . import default_hooks as default

__all__ = ["PowerSGDState", "powerSGD_hook"]

logger = logging.getLogger(__name__)


def _orthogonalize(matrices, epsilon=0):
    """Orthonormalize the columns of each matrix of a batch in place (Gram-Schmidt for rank
    at most 2, else QR)."""
    if not (len(matrices.shape) == 3 and matrices.shape[2] <= matrices.shape[1]):
        raise AssertionError
    rank = matrices.shape[2]
    if rank <= 2 or matrices.dtype in (float16, bfloat16):
        _orthogonalize_gram_schmidt(matrices, epsilon)
    else:
        linalg.qr(matrices, out=(matrices, empty(matrices.shape[0], rank, rank,
                                                  device=matrices.device,
                                                  dtype=matrices.dtype)))


def _orthogonalize_gram_schmidt(matrices, epsilon=0):
    num_cols = matrices.shape[2]
    for i in range(num_cols):
        col = matrices[:, :, i:i + 1]
        if epsilon == 0:
            col /= norm(col, dim=1, keepdim=True)
        else:
            col /= norm(col, dim=1, keepdim=True) + epsilon
        if i + 1 < num_cols:
            rest = matrices[:, :, i + 1:]
            rest -= _sum(col * rest, dim=1, keepdim=True) * col


def _should_compress(num_rows, num_cols, matrix_approximation_rank, min_compression_rate):
    """(whether an n x m matrix is worth compressing to rank r, its size, its compressed
    size)."""
    uncompressed_size = num_rows * num_cols
    compressed_size = (num_rows + num_cols) * matrix_approximation_rank
    return (compressed_size * min_compression_rate < uncompressed_size, uncompressed_size,
            compressed_size)


def _report_compression_stats(bucket, state):
    if bucket.is_last() and state.iter >= state.next_stats_report:
        stats = state.compression_stats()
        logger.info("Compression stats: iter %s, total before compression %s, total after "
                    "compression %s, rate %s", state.iter, stats[1], stats[2], stats[0])
        state.next_stats_report = state.iter + state.compression_stats_logging_frequency


class PowerSGDState:
    """The hook's state: its options, the iteration count, and per bucket the error fed back
    and the last P and Q."""
    __slots__ = ["process_group", "matrix_approximation_rank", "start_powerSGD_iter",
                 "min_compression_rate", "orthogonalization_epsilon", "use_error_feedback",
                 "warm_start", "batch_tensors_with_same_shape", "rng", "error_dict",
                 "p_memory_dict", "q_memory_dict", "iter", "total_numel_before_compression",
                 "total_numel_after_compression", "compression_stats_logging_frequency",
                 "next_stats_report"]

    def __init__(self, process_group, matrix_approximation_rank=1, start_powerSGD_iter=1_000,
                 min_compression_rate=2, use_error_feedback=True, warm_start=True,
                 orthogonalization_epsilon=0, random_seed=0,
                 compression_stats_logging_frequency=10_000,
                 batch_tensors_with_same_shape=False):
        import numpy as np
        self.process_group = process_group
        self.matrix_approximation_rank = matrix_approximation_rank
        if (use_error_feedback or warm_start) and start_powerSGD_iter <= 1:
            raise ValueError("Expect `start_powerSGD_iter` > 1 if `use_error_feedback` or "
                             "`warm_start` is enabled, because PowerSGD can only be applied "
                             "after the first two iterations in DDP.")
        self.start_powerSGD_iter = start_powerSGD_iter
        self.min_compression_rate = min_compression_rate
        self.use_error_feedback = use_error_feedback
        self.warm_start = warm_start
        self.orthogonalization_epsilon = orthogonalization_epsilon
        self.rng = np.random.RandomState(random_seed)
        self.error_dict, self.p_memory_dict, self.q_memory_dict = {}, {}, {}
        self.iter = 0
        self.total_numel_before_compression = self.total_numel_after_compression = 0
        self.compression_stats_logging_frequency = max(1, compression_stats_logging_frequency)
        self.next_stats_report = 0
        self.batch_tensors_with_same_shape = batch_tensors_with_same_shape

    def __getstate__(self):
        logger.warning("NOTE: Process group is not serializable and excluded from a saved "
                       "state.")
        return {slot: getattr(self, slot) for slot in self.__slots__ if slot != "process_group"}

    def __setstate__(self, state):
        self.process_group = distributed_c10d._get_default_group()
        logger.warning("NOTE: Process group will be set to a default group (i.e. the world "
                       "size). If a different group is desired, please set "
                       "`self.process_group` after PowerSGD state is loaded.")
        for slot, value in state.items():
            setattr(self, slot, value)

    def maybe_increase_iter(self, bucket):
        """Count an iteration once its last bucket is reduced."""
        if bucket.is_last():
            self.iter += 1
        if self.iter == self.start_powerSGD_iter:
            logger.info("Start to apply PowerSGD after %s iterations.", self.iter)

    def compression_stats(self):
        """(compression rate, elements before compression, elements after)."""
        rate = self.total_numel_before_compression / self.total_numel_after_compression \
            if self.total_numel_after_compression > 0 else 0
        return rate, self.total_numel_before_compression, self.total_numel_after_compression


def powerSGD_hook(state, bucket):
    """The PowerSGD communication hook: register with ddp.register_comm_hook(state, ...),
    state a PowerSGDState."""
    group_to_use = state.process_group if state.process_group is not None \
        else distributed_c10d.group.WORLD
    world_size = group_to_use.size()
    input_tensor = bucket.buffer()
    if state.iter < state.start_powerSGD_iter:
        state.maybe_increase_iter(bucket)
        return default._allreduce_fut(group_to_use, input_tensor)

    device, dtype, bucket_index = input_tensor.device, input_tensor.dtype, bucket.index()
    input_tensor_cp = None
    total_length = input_tensor.shape[0]
    if state.use_error_feedback:
        if bucket_index in state.error_dict:
            input_tensor.add_(state.error_dict[bucket_index])
        else:
            state.error_dict[bucket_index] = zeros(total_length, device=device, dtype=dtype)
        input_tensor_cp = input_tensor.detach().clone()

    tensors = bucket.gradients()
    tensors_to_compress, uncompressed_tensors = [], []
    total_Ps_size = total_Qs_size = 0
    for t in tensors:
        matrix = t.view(t.shape[0], -1)
        n, m = matrix.shape
        rank = min(n, m, state.matrix_approximation_rank)
        compress, before, after = _should_compress(n, m, rank, state.min_compression_rate)
        state.total_numel_before_compression += before
        if compress:
            tensors_to_compress.append(matrix)
            total_Ps_size += n * rank
            total_Qs_size += m * rank
            state.total_numel_after_compression += after
        else:
            uncompressed_tensors.append(t)
            state.total_numel_after_compression += before
    _report_compression_stats(bucket, state)

    uncompressed_tensors_memory = cat([t.view(-1) for t in uncompressed_tensors]) \
        if uncompressed_tensors else tensor([], device=device, dtype=dtype)
    need_randomize_qs = not state.warm_start or bucket_index not in state.p_memory_dict
    if need_randomize_qs:
        state.p_memory_dict[bucket_index] = empty(total_Ps_size, device=device, dtype=dtype)
        state.q_memory_dict[bucket_index] = empty(total_Qs_size, device=device, dtype=dtype)

    shape_to_tensors = defaultdict(list)
    for t in tensors_to_compress:
        shape_to_tensors[t.shape].append(t)

    def maybe_batched_tensors_to_compress():
        for same_shape in shape_to_tensors.values():
            if state.batch_tensors_with_same_shape and len(same_shape) > 1:
                yield stack(same_shape)
            elif state.batch_tensors_with_same_shape:
                yield same_shape[0].unsqueeze(0)
            else:
                for t in same_shape:
                    yield t.unsqueeze(0)

    tensors_to_compress, ps, qs = [], [], []
    p_idx = q_idx = 0
    for t in maybe_batched_tensors_to_compress():
        batch_size, n, m = t.shape
        rank = min(n, m, state.matrix_approximation_rank)
        tensors_to_compress.append(t)
        ps.append(state.p_memory_dict[bucket_index][p_idx:p_idx + batch_size * n * rank]
                  .view(batch_size, n, rank))
        qs.append(state.q_memory_dict[bucket_index][q_idx:q_idx + batch_size * m * rank]
                  .view(batch_size, m, rank))
        p_idx += batch_size * n * rank
        q_idx += batch_size * m * rank

    if not need_randomize_qs:
        for q in qs:
            _orthogonalize(q, state.orthogonalization_epsilon)
    else:
        with random.fork_rng(devices=[]):
            manual_seed(state.rng.randint(1_000_000_000))
            for q in qs:
                q.copy_(randn(*q.shape, device="cpu", dtype=dtype))
                _orthogonalize(q, state.orthogonalization_epsilon)

    for t, q, p in zip(tensors_to_compress, qs, ps):
        bmm(t, q, out=p)

    allreduce_uncompressed_fut = _collectives.all_reduce(
        uncompressed_tensors_memory, group=group_to_use, async_op=True).get_future()

    def unpack_uncompressed_tensors_and_allreduce_ps(fut):
        memory = fut.value()[0].div_(world_size)
        idx = 0
        for t in uncompressed_tensors:
            t.copy_(memory[idx:idx + t.numel()].view_as(t))
            idx += t.numel()
        return _collectives.all_reduce(state.p_memory_dict[bucket_index], group=group_to_use,
                                       async_op=True).get_future().wait()[0]

    def compute_qs(fut):
        state.p_memory_dict[bucket_index] = fut.value()
        for p in ps:
            _orthogonalize(p, state.orthogonalization_epsilon)
        for t, p, q in zip(tensors_to_compress, ps, qs):
            bmm(t.transpose(1, 2), p, out=q)
        return _collectives.all_reduce(state.q_memory_dict[bucket_index], group=group_to_use,
                                       async_op=True).get_future().wait()[0]

    def decompress(fut):
        state.q_memory_dict[bucket_index] = fut.value().div_(world_size)
        for p, q, t in zip(ps, qs, tensors_to_compress):
            bmm(p, q.transpose(1, 2), out=t)
        if state.batch_tensors_with_same_shape:
            for t in tensors_to_compress:
                if t.shape[0] != 1:
                    for i, original in enumerate(shape_to_tensors[t.shape[1:]]):
                        original.copy_(t[i])
        if state.use_error_feedback:
            state.error_dict[bucket_index] = input_tensor_cp - input_tensor
        if not state.warm_start:
            state.p_memory_dict.clear()
            state.q_memory_dict.clear()
        state.maybe_increase_iter(bucket)
        return input_tensor

    return allreduce_uncompressed_fut.then(unpack_uncompressed_tensors_and_allreduce_ps) \
        .then(compute_qs).then(decompress)
