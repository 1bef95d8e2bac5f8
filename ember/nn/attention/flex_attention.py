"""torch.nn.attention.flex_attention as torch 2.13 runs it without torch.compile.

torch's eager path (math_attention in torch/_higher_order_ops/flex_attention.py) materialises
the scores: q @ k^T in float32 (float64 for float64 queries), times the scale, then
where(mask_mod(b, h, q_idx, kv_idx), score_mod(score, b, h, q_idx, kv_idx), -inf), a softmax
that gives zeros for rows masked everywhere, and the probabilities in the query's dtype times
the values. The BlockMask's block sparsity plays no part there: only its mask_mod does.

torch vmaps score_mod and mask_mod over the four index dimensions (each index a 0-d int64
tensor); ember calls them once with int64 index tensors shaped to broadcast against the
(B, H, Q_LEN, KV_LEN) scores (b as (B, 1, 1, 1), h as (1, H, 1, 1), ...), which gives the same
values for what these functions hold: arithmetic, comparisons, where, and indexing captured
tensors (bias[h, q_idx, kv_idx]). Gradients flow by ember's autograd through that composite,
into score_mod's captured tensors too; as torch's, the CPU refuses query/key/value requiring
grad."""
from __future__ import annotations

import functools
import inspect
import itertools
import math
import operator
import typing
import warnings
from collections.abc import Callable
from typing import Any, Literal, NamedTuple, TypedDict

import ember as torch
from ember import Tensor

from .. import functional as F
from .._ops import softmax_raw

__all__ = ["BlockMask", "flex_attention", "AuxOutput", "AuxRequest", "FlexKernelOptions",
           "create_block_mask", "create_mask", "or_masks", "and_masks", "noop_mask"]

# As torch's: True skips the performance warning (there is no compiled kernel to debug around)
_FLEX_ATTENTION_DISABLE_COMPILE_DEBUG = False

_WARNINGS_SHOWN: set[str] = set()


def _warn_once(warning_id: str, message: str, category: type[Warning] = UserWarning) -> None:
    """Each warning once per process, as torch's."""
    if warning_id not in _WARNINGS_SHOWN:
        warnings.warn(message, category, stacklevel=2)
        _WARNINGS_SHOWN.add(warning_id)


_score_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tensor]
_mask_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]
_Backend = Literal["AUTO", "TRITON", "FLASH", "TRITON_DECODE"]


class FlexKernelOptions(TypedDict, total=False):
    """Options for torch's compiled kernels; the eager path checks BACKEND and ignores the
    rest."""
    num_warps: int
    num_stages: int
    BLOCK_M: int
    BLOCK_N: int
    PRESCALE_QK: bool
    ROWS_GUARANTEED_SAFE: bool
    BLOCKS_ARE_CONTIGUOUS: bool
    WRITE_DQ: bool
    FORCE_USE_FLEX_ATTENTION: bool
    USE_TMA: bool
    kpack: int
    matrix_instr_nonkdim: int
    waves_per_eu: int
    BACKEND: _Backend


class AuxRequest(NamedTuple):
    """Request which auxiliary outputs to compute from flex_attention."""
    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    """Auxiliary outputs from flex_attention; None where not requested."""
    lse: Tensor | None = None
    max_scores: Tensor | None = None


def _mod_arity(fn) -> int:
    """The number of positional arguments without defaults (torch's _get_mod_type): 5 for a
    score_mod, 4 for a mask_mod."""
    if hasattr(fn, "__code__"):
        n = fn.__code__.co_argcount - len(getattr(fn, "__defaults__", None) or ())
    else:
        n = sum(1 for p in inspect.signature(fn).parameters.values()
                if p.default is inspect.Parameter.empty)
    if n != 5 and n != 4:
        raise AssertionError(f"Expected 4 or 5 positional args, got {n}")
    return n


def _index_grids(shape, device):
    """int64 b, h, q_idx, kv_idx shaped to broadcast against `shape` (B, H, Q, KV)."""
    return tuple(torch.arange(0, n, device=device).view([n if i == d else 1 for i in range(4)])
                 for d, n in enumerate(shape))


def _call_mask_mod(mask_mod, shape, device):
    """mask_mod over every (b, h, q_idx, kv_idx) of `shape`, as a broadcastable bool tensor."""
    return mask_mod(*_index_grids(shape, device))


def _identity(score: Tensor, batch: Tensor, head: Tensor, token_q: Tensor,
              token_kv: Tensor) -> Tensor:
    return score


def noop_mask(batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor) -> Tensor:
    """Returns a noop mask_mod"""
    return batch.new_ones(size=(), dtype=torch.bool, device=batch.device)


def _sliced_mask_mod_error(batch: Tensor, head: Tensor, token_q: Tensor,
                           token_kv: Tensor) -> typing.NoReturn:
    """The mask_mod of a sliced BlockMask: torch's error when it is used."""
    raise RuntimeError(
        "Cannot use mask_mod from a sliced BlockMask. "
        "When you slice a BlockMask using [], the mask_mod attribute is reset. "
        "You must set it from the original BlockMask's mask_mod."
        "\n\nIncorrect usage:"
        "\n  base_mask = create_block_mask(my_mask_fn, ...)"
        "\n  sliced_mask = base_mask[:, :, block_idx]"
        "\n  sliced_mask.mask_mod = apply_offset(sliced_mask.mask_mod, offset)  # WRONG!"
        "\n\nCorrect usage:"
        "\n  base_mask = create_block_mask(my_mask_fn, ...)"
        "\n  sliced_mask = base_mask[:, :, block_idx]"
        "\n  sliced_mask.mask_mod = apply_offset(base_mask.mask_mod, offset)  # Use base_mask!"
    )


_DEFAULT_SPARSE_BLOCK_SIZE = 128
_LARGE_SPARSE_BLOCK_SIZE = 1 << 30


def _ordered_to_dense(num_blocks_in_row: Tensor, col_indices: Tensor, num_cols: int) -> Tensor:
    """The int32 0/1 block matrix (..., rows, num_cols) of the first num_blocks_in_row column
    indices of each row."""
    max_entries = col_indices.shape[-1]
    cols = torch.arange(max_entries, dtype=torch.int, device=num_blocks_in_row.device)
    # the entries past a row's count go to one column "out of bounds", dropped after
    valid = torch.where(cols < num_blocks_in_row.unsqueeze(-1), col_indices, num_cols)
    dense = col_indices.new_zeros(*col_indices.shape[:-1], num_cols + 1, dtype=torch.int32)
    dense.scatter_(-1, valid.long(), 1)
    return dense[..., :num_cols].contiguous()


def _dense_to_ordered(dense_mask: Tensor) -> tuple[Tensor, Tensor]:
    dense_mask = dense_mask.to(dtype=torch.int32)
    num_blocks_in_row = dense_mask.sum(dim=-1)
    col_indices = torch.argsort(dense_mask, dim=-1, descending=True, stable=True)
    return (num_blocks_in_row.to(torch.int32, memory_format=torch.contiguous_format),
            col_indices.to(torch.int32, memory_format=torch.contiguous_format))


def _transpose_ordered(num_blocks_in_row: Tensor, col_indices: Tensor) -> tuple[Tensor, Tensor]:
    dense = _ordered_to_dense(num_blocks_in_row, col_indices, col_indices.shape[-1])
    return _dense_to_ordered(dense.transpose(-2, -1))


def _adjust_num_blocks_and_indices(num_blocks: Tensor, indices: Tensor, new_num_rows: int,
                                   new_num_cols: int) -> tuple[Tensor, Tensor]:
    indices = indices[:, :, :new_num_rows, :new_num_cols]
    num_blocks = num_blocks[:, :, :new_num_rows]
    num_blocks = torch.where(num_blocks < new_num_cols, num_blocks, new_num_cols)
    num_blocks = torch.sum(indices < num_blocks[:, :, :, None], dim=-1).to(torch.int32)
    return num_blocks, indices


class BlockMask:
    r"""torch's block-sparse attention mask: per Q_BLOCK_SIZE row of blocks, how many KV blocks
    are computed (kv_num_blocks) and which (kv_indices); the blocks no element of which is
    masked apart (full_kv_*); the transposed layout for the backward (q_*, generated). The
    dq_* write-order fields of torch's deterministic FLASH backward are carried, not computed.
    """

    _TENSOR_ATTRS = ["kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices",
                     "q_num_blocks", "q_indices", "full_q_num_blocks", "full_q_indices",
                     "dq_write_order", "dq_write_order_full", "dq_kv_order"]

    def __init__(self, seq_lengths: tuple[int, int], kv_num_blocks: Tensor, kv_indices: Tensor,
                 full_kv_num_blocks: Tensor | None, full_kv_indices: Tensor | None,
                 q_num_blocks: Tensor | None, q_indices: Tensor | None,
                 full_q_num_blocks: Tensor | None, full_q_indices: Tensor | None,
                 BLOCK_SIZE: tuple[int, int] = (_DEFAULT_SPARSE_BLOCK_SIZE,
                                                _DEFAULT_SPARSE_BLOCK_SIZE),
                 mask_mod: _mask_mod_signature = noop_mask, *,
                 dq_write_order: Tensor | None = None, dq_write_order_full: Tensor | None = None,
                 dq_kv_order: Tensor | None = None, dq_kv_order_spt: bool | None = None) -> None:
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if kv_num_blocks is None:
            raise AssertionError("kv_num_blocks must be provided")
        if kv_indices is None:
            raise AssertionError("kv_indices must be provided")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError(
                "full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        if (full_q_num_blocks is None) != (full_q_indices is None):
            raise AssertionError(
                "full_q_num_blocks and full_q_indices must be both provided or omitted")
        self.seq_lengths = seq_lengths
        self.kv_num_blocks = kv_num_blocks
        self.kv_indices = kv_indices
        self.full_kv_num_blocks = full_kv_num_blocks
        self.full_kv_indices = full_kv_indices
        self.q_num_blocks = q_num_blocks
        self.q_indices = q_indices
        self.full_q_num_blocks = full_q_num_blocks
        self.full_q_indices = full_q_indices
        if dq_write_order_full is not None and dq_write_order is None:
            raise ValueError("dq_write_order_full requires dq_write_order")
        self.dq_write_order = dq_write_order
        self.dq_write_order_full = dq_write_order_full
        self.dq_kv_order = dq_kv_order
        self.dq_kv_order_spt = dq_kv_order_spt
        self.BLOCK_SIZE = BLOCK_SIZE
        self.mask_mod = mask_mod

    @classmethod
    def from_kv_blocks(cls, kv_num_blocks: Tensor, kv_indices: Tensor,
                       full_kv_num_blocks: Tensor | None = None,
                       full_kv_indices: Tensor | None = None,
                       BLOCK_SIZE: int | tuple[int, int] = _DEFAULT_SPARSE_BLOCK_SIZE,
                       mask_mod: _mask_mod_signature | None = None,
                       seq_lengths: tuple[int, int] | None = None,
                       compute_q_blocks: bool = True, *,
                       dq_write_order: Tensor | None = None,
                       dq_write_order_full: Tensor | None = None,
                       dq_kv_order: Tensor | bool | None = None) -> BlockMask:
        """A BlockMask from the KV block layout; the Q layout is generated by transposing."""
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError(
                "full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        q_num_blocks = q_indices = full_q_num_blocks = full_q_indices = None
        if compute_q_blocks:
            q_num_blocks, q_indices = _transpose_ordered(kv_num_blocks, kv_indices)
            if full_kv_num_blocks is not None:
                full_q_num_blocks, full_q_indices = _transpose_ordered(full_kv_num_blocks,
                                                                       full_kv_indices)
        if isinstance(BLOCK_SIZE, int):
            BLOCK_SIZE = (BLOCK_SIZE, BLOCK_SIZE)
        mask_mod = mask_mod if mask_mod is not None else noop_mask
        if seq_lengths is None:
            seq_lengths = (kv_indices.shape[-2] * BLOCK_SIZE[0],
                           kv_indices.shape[-1] * BLOCK_SIZE[1])
        if dq_kv_order is not None and not isinstance(dq_kv_order, (bool, Tensor)):
            raise ValueError("dq_kv_order must be a bool, Tensor, or None")
        return cls(seq_lengths=seq_lengths, kv_num_blocks=kv_num_blocks, kv_indices=kv_indices,
                   full_kv_num_blocks=full_kv_num_blocks, full_kv_indices=full_kv_indices,
                   q_num_blocks=q_num_blocks, q_indices=q_indices,
                   full_q_num_blocks=full_q_num_blocks, full_q_indices=full_q_indices,
                   BLOCK_SIZE=BLOCK_SIZE, mask_mod=mask_mod, dq_write_order=dq_write_order,
                   dq_write_order_full=dq_write_order_full,
                   dq_kv_order=dq_kv_order if isinstance(dq_kv_order, Tensor) else None,
                   dq_kv_order_spt=dq_kv_order if isinstance(dq_kv_order, bool) else None)

    def as_tuple(self, flatten: bool = True) -> tuple[Any, ...]:
        """The attributes as a tuple, BLOCK_SIZE and seq_lengths spread when flatten."""
        if flatten:
            block_size = (self.BLOCK_SIZE[0], self.BLOCK_SIZE[1])
            seq_lengths = (self.seq_lengths[0], self.seq_lengths[1])
        else:
            block_size = (self.BLOCK_SIZE,)
            seq_lengths = (self.seq_lengths,)
        return (*seq_lengths, self.kv_num_blocks, self.kv_indices, self.full_kv_num_blocks,
                self.full_kv_indices, self.q_num_blocks, self.q_indices, self.full_q_num_blocks,
                self.full_q_indices, self.dq_write_order, self.dq_write_order_full,
                self.dq_kv_order, self.dq_kv_order_spt, *block_size, self.mask_mod)

    @property
    def shape(self) -> tuple[int, ...]:
        *batch_dims, _, _ = self.kv_indices.shape
        return tuple(batch_dims) + self.seq_lengths

    def __str__(self) -> str:
        s = f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, \n"
        s += self.to_string().strip()
        s += "\n)"
        return s

    def __getitem__(self, index) -> BlockMask:
        """The BlockMask of the given batch / head / query-block index (int, slice or tensor);
        its mask_mod raises torch's error when used."""
        if self.dq_kv_order is not None:
            raise NotImplementedError(
                "Slicing BlockMask with tensor dq_kv_order is not supported yet. "
                "Construct a new BlockMask with matching precomputed dq_write_order metadata.")
        index = (index,) if not isinstance(index, tuple) else index
        padded = (*index, slice(None), slice(None), slice(None))[:3]
        sizes = self.kv_num_blocks.shape[:3]
        index = tuple((slice(i + n, i + n + 1) if -n <= i < 0 else slice(i, i + 1))
                      if isinstance(i, int) else i for i, n in zip(padded, sizes, strict=True))
        full = self.full_kv_num_blocks is not None
        new_block_mask = BlockMask.from_kv_blocks(
            self.kv_num_blocks[index], self.kv_indices[index],
            self.full_kv_num_blocks[index] if full else None,
            self.full_kv_indices[index] if full else None,
            BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=_sliced_mask_mod_error,
            seq_lengths=self.seq_lengths, compute_q_blocks=self.q_indices is not None)
        new_block_mask.dq_kv_order_spt = self.dq_kv_order_spt
        return new_block_mask

    def __repr__(self) -> str:
        def shape_or_none(x):
            return x.shape if x is not None else None

        mask_mod = self.mask_mod.__name__ if hasattr(self.mask_mod, "__name__") else \
            self.mask_mod
        return (
            f"BlockMask(\n"
            f"    kv_num_blocks={self.kv_num_blocks.shape},\n"
            f"    kv_indices={self.kv_indices.shape},\n"
            f"    full_kv_num_blocks={shape_or_none(self.full_kv_num_blocks)},\n"
            f"    full_kv_indices={shape_or_none(self.full_kv_indices)},\n"
            f"    q_num_blocks={shape_or_none(self.q_num_blocks)},\n"
            f"    q_indices={shape_or_none(self.q_indices)},\n"
            f"    full_q_num_blocks={shape_or_none(self.full_q_num_blocks)},\n"
            f"    full_q_indices={shape_or_none(self.full_q_indices)},\n"
            f"    BLOCK_SIZE={self.BLOCK_SIZE},\n"
            f"    shape={self.shape},\n"
            f"    sparsity={self.sparsity():.2f}%,\n"
            f"    mask_mod={mask_mod}\n"
            f")"
        )

    def _adjust(self, new_q_len: int, new_kv_len: int) -> BlockMask:
        """The mask cropped (or extended) to the upper left (new_q_len, new_kv_len) corner."""
        if self.dq_kv_order is not None:
            raise NotImplementedError(
                "Adjusting BlockMask with tensor dq_kv_order is not supported yet. "
                "Construct a new BlockMask with matching precomputed dq_write_order metadata.")
        new_num_rows = (new_q_len + self.BLOCK_SIZE[0] - 1) // self.BLOCK_SIZE[0]
        new_num_cols = (new_kv_len + self.BLOCK_SIZE[1] - 1) // self.BLOCK_SIZE[1]
        kv = _adjust_num_blocks_and_indices(self.kv_num_blocks, self.kv_indices, new_num_rows,
                                            new_num_cols)
        full = (None, None) if self.full_kv_num_blocks is None else \
            _adjust_num_blocks_and_indices(self.full_kv_num_blocks, self.full_kv_indices,
                                           new_num_rows, new_num_cols)
        new_block_mask = self.from_kv_blocks(*kv, *full, BLOCK_SIZE=self.BLOCK_SIZE,
                                             mask_mod=self.mask_mod,
                                             seq_lengths=(new_q_len, new_kv_len),
                                             compute_q_blocks=self.q_indices is not None)
        new_block_mask.dq_kv_order_spt = self.dq_kv_order_spt
        return new_block_mask

    def numel(self) -> int:
        """Returns the number of elements (not accounting for sparsity) in the mask."""
        return functools.reduce(operator.mul, self.shape, 1)

    def sparsity(self) -> float:
        """Computes the percentage of blocks that are sparse (i.e. not computed)"""
        computed_blocks = self.kv_num_blocks.sum()
        if self.full_kv_num_blocks is not None:
            computed_blocks += self.full_kv_num_blocks.sum()
        computed_size = computed_blocks.item() * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1]
        return 100 * (1 - computed_size / self.numel())

    def to_dense(self) -> Tensor:
        """Returns a dense block that is equivalent to the block mask."""
        partial_dense = _ordered_to_dense(self.kv_num_blocks, self.kv_indices,
                                          self.kv_indices.shape[-1])
        if self.full_kv_num_blocks is not None:
            return partial_dense | _ordered_to_dense(self.full_kv_num_blocks,
                                                     self.full_kv_indices,
                                                     self.full_kv_indices.shape[-1])
        return partial_dense

    def to_string(self, grid_size: int | tuple[int, int] = (20, 20), limit: int = 4) -> str:
        """Returns a string representation of the block mask. Quite nifty.

        If grid_size is -1, prints out an uncompressed version. Warning, it can be quite big!
        """
        dense_mask = self.to_dense()
        *batch_dims, num_rows, num_cols = dense_mask.shape
        if isinstance(grid_size, int):
            max_rows = max_cols = grid_size
        elif grid_size == -1:
            max_rows, max_cols = num_rows, num_cols
        else:
            max_rows, max_cols = grid_size

        def summarize_section(section) -> str:
            percentage = section.float().mean().item()
            return "█" if percentage == 1 else " " if percentage == 0 else "░"

        def create_block_vis(*batch_idx):
            vis = f"{batch_idx}\n"
            row_step = max(1, -(-num_rows // max_rows))
            col_step = max(1, -(-num_cols // max_cols))
            cur_mask = dense_mask
            for idx in batch_idx:
                cur_mask = cur_mask[idx]
            for r in range(0, num_rows, row_step):
                for c in range(0, num_cols, col_step):
                    vis += summarize_section(cur_mask[r:r + row_step, c:c + col_step]) * 2
                vis += "\n"
            return vis

        total_vis = []
        for idx, batch_idx in enumerate(itertools.product(*[range(i) for i in batch_dims])):
            if idx == limit:
                total_vis.append("...")
                total_vis.append("To print out more, set BlockMask.to_string(limit=N)")
                total_vis.append("You can also index (BlockMask[batch, head]) to choose a "
                                 "specific batch or head")
                break
            total_vis.append(create_block_vis(*batch_idx))
        return "\n".join(total_vis)

    def to(self, device) -> BlockMask:
        """The BlockMask with its tensors on `device` (a new BlockMask)."""
        moved = [None if x is None else x.to(device)
                 for x in (getattr(self, attr) for attr in self._TENSOR_ATTRS)]
        return BlockMask(seq_lengths=self.seq_lengths,
                         **dict(zip(self._TENSOR_ATTRS, moved, strict=True)),
                         BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=self.mask_mod,
                         dq_kv_order_spt=self.dq_kv_order_spt)


def _broadcast_to_dim(x: Tensor, dim: int) -> Tensor:
    while x.dim() < dim:
        x = x.unsqueeze(0)
    return x


def _round_up_to_multiple(x: int, multiple: int) -> int:
    return (x + multiple - 1) // multiple * multiple


def _convert_mask_to_block_mask(mask: Tensor, Q_BLOCK_SIZE: int = _DEFAULT_SPARSE_BLOCK_SIZE,
                                KV_BLOCK_SIZE: int = _DEFAULT_SPARSE_BLOCK_SIZE,
                                separate_full_blocks: bool = False):
    """The int8 (B, H, Q blocks, KV blocks) matrices of the partially (all, without
    separate_full_blocks) and fully unmasked blocks of a bool mask."""
    if mask.dtype != torch.bool:
        raise AssertionError(f"mask.dtype must be torch.bool, got {mask.dtype}")
    mask = _broadcast_to_dim(mask, 4)
    mask = F.pad(mask, (0, _round_up_to_multiple(mask.shape[-1], KV_BLOCK_SIZE) - mask.shape[-1],
                        0, _round_up_to_multiple(mask.shape[-2], Q_BLOCK_SIZE) - mask.shape[-2]))
    B, H, Q, KV = mask.shape
    mask = mask.view(B, H, Q // Q_BLOCK_SIZE, Q_BLOCK_SIZE, KV // KV_BLOCK_SIZE, KV_BLOCK_SIZE)
    mask_block_sum = mask.permute(0, 1, 2, 4, 3, 5).sum(dim=[-2, -1])
    if separate_full_blocks:
        full_block_sum = Q_BLOCK_SIZE * KV_BLOCK_SIZE
        full_blocks = mask_block_sum == full_block_sum
        partial_blocks = (mask_block_sum > 0) & (mask_block_sum < full_block_sum)
        return partial_blocks.to(dtype=torch.int8), full_blocks.to(dtype=torch.int8)
    return (mask_block_sum > 0).to(dtype=torch.int8), None


def or_masks(*mask_mods: _mask_mod_signature) -> _mask_mod_signature:
    """Returns a mask_mod that's the union of provided mask_mods"""
    if not all(callable(arg) for arg in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def or_mask(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
        result = b.new_zeros((), dtype=torch.bool)
        for mask in mask_mods:
            result = result | mask(b, h, q_idx, kv_idx)
        return result

    return or_mask


def and_masks(*mask_mods: _mask_mod_signature) -> _mask_mod_signature:
    """Returns a mask_mod that's the intersection of provided mask_mods"""
    if not all(callable(arg) for arg in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def and_mask(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
        result = b.new_ones((), dtype=torch.bool)
        for mask in mask_mods:
            result = result & mask(b, h, q_idx, kv_idx)
        return result

    return and_mask


def create_mask(mod_fn: _score_mod_signature | _mask_mod_signature, B: int | None,
                H: int | None, Q_LEN: int, KV_LEN: int, device=None) -> Tensor:
    r"""The (B, H, Q_LEN, KV_LEN) bool mask of a mask_mod, or of where a score_mod does not
    give -inf (on zero scores)."""
    if device is None:
        device = torch.accelerator.current_accelerator() or "cpu"
    shape = (1 if B is None else B, 1 if H is None else H, Q_LEN, KV_LEN)
    grids = _index_grids(shape, device)
    if _mod_arity(mod_fn) == 5:
        out = mod_fn(torch.zeros(*shape, device=device), *grids)
        mask = torch.where(torch.isneginf(out), False, True)
    else:
        mask = mod_fn(*grids)
    return mask.expand(shape).contiguous()


def create_block_mask(mask_mod: _mask_mod_signature, B: int | None, H: int | None, Q_LEN: int,
                      KV_LEN: int, device=None,
                      BLOCK_SIZE: int | tuple[int, int] = _DEFAULT_SPARSE_BLOCK_SIZE,
                      _compile=False, separate_full_blocks: bool = True,
                      compute_dq_write_order: bool = False,
                      dq_kv_order: bool = True) -> BlockMask:
    r"""The BlockMask of a mask_mod over (B, H, Q_LEN, KV_LEN): the mask evaluated densely, then
    reduced per BLOCK_SIZE tile into partial and full blocks."""
    if device is None:
        device = torch.accelerator.current_accelerator() or "cpu"
    if _mod_arity(mask_mod) != 4:
        raise AssertionError(f"create-block_mask requires a mask_mod function! Got {mask_mod}")
    if B is None:
        B = 1
    if H is None:
        H = 1
    if isinstance(BLOCK_SIZE, int):
        Q_BLOCK_SIZE = KV_BLOCK_SIZE = BLOCK_SIZE
    else:
        Q_BLOCK_SIZE, KV_BLOCK_SIZE = BLOCK_SIZE
    if _compile:
        warnings.warn(
            "_compile flag on create_block_mask was originally added to work around a "
            "torch.compile limitation. That limitation has since been addressed. So, to compile "
            "create_block_mask, we suggest doing torch.compile(create_block_mask). This still "
            "works for now, but will be removed in the future.", DeprecationWarning,
            stacklevel=2)
    if not isinstance(dq_kv_order, bool):
        raise ValueError("dq_kv_order must be a bool when using create_block_mask")
    if compute_dq_write_order:
        raise NotImplementedError("ember: create_block_mask(compute_dq_write_order=True), the "
                                  "metadata of torch's deterministic FLASH backward, is not "
                                  "supported")
    mask_tensor = create_mask(mask_mod, B, H, Q_LEN, KV_LEN, device)
    partial_blocks, full_blocks = _convert_mask_to_block_mask(
        mask_tensor, Q_BLOCK_SIZE=Q_BLOCK_SIZE, KV_BLOCK_SIZE=KV_BLOCK_SIZE,
        separate_full_blocks=separate_full_blocks)
    partial = _dense_to_ordered(partial_blocks)
    full = (None, None) if full_blocks is None else _dense_to_ordered(full_blocks)
    return BlockMask.from_kv_blocks(*partial, *full, BLOCK_SIZE=(Q_BLOCK_SIZE, KV_BLOCK_SIZE),
                                    mask_mod=mask_mod, seq_lengths=(Q_LEN, KV_LEN))


def _create_empty_block_mask(query: Tensor, key: Tensor) -> BlockMask:
    """The default BlockMask: one block covering everything, no mask."""
    device = query.device
    return BlockMask.from_kv_blocks(
        kv_num_blocks=torch.ones([1, 1, 1], dtype=torch.int32, device=device),
        kv_indices=torch.zeros([1, 1, 1, 1], dtype=torch.int32, device=device),
        BLOCK_SIZE=_LARGE_SPARSE_BLOCK_SIZE, seq_lengths=(1, 1))


def _apply_kernel_options(query, key, value, return_lse, kernel_options, return_aux):
    """torch's checks of kernel_options and of the auxiliary outputs asked for; the options
    with torch's defaults filled in."""
    kernel_options = {} if kernel_options is None else dict(kernel_options)
    if "BACKEND" in kernel_options and kernel_options.get("FORCE_USE_FLEX_ATTENTION", False):
        raise RuntimeError(
            "BACKEND cannot be combined with legacy FORCE_USE_FLEX_ATTENTION. "
            "BACKEND supersedes the legacy knob; please drop FORCE_USE_FLEX_ATTENTION "
            "and only specify the desired BACKEND.")
    if "BACKEND" in kernel_options:
        valid_backends = typing.get_args(_Backend)
        if kernel_options["BACKEND"] not in valid_backends:
            raise ValueError(f"Invalid BACKEND value '{kernel_options['BACKEND']}'. "
                             f"Must be one of {valid_backends}")
    kernel_options.setdefault("BACKEND", "AUTO")
    output_max = return_aux is not None and return_aux.max_scores
    if "OUTPUT_LOGSUMEXP" in kernel_options:
        raise AssertionError("OUTPUT_LOGSUMEXP must not be in kernel_options")
    if "OUTPUT_MAX" in kernel_options:
        raise AssertionError("OUTPUT_MAX must not be in kernel_options")
    if kernel_options["BACKEND"] == "FLASH" and output_max:
        raise NotImplementedError(
            "Returning max scores is not supported with BACKEND='FLASH'. "
            "Use return_aux=AuxRequest(lse=True) or omit max_scores.")
    if "cpu" in (query.device.type, key.device.type, value.device.type) and output_max:
        raise NotImplementedError("Returning max scores is not supported on CPU/MPS.")
    return kernel_options


def _math_attention(query, key, value, score_mod, mask_mod, scale, want_lse, want_max):
    """torch's math_attention: (out, logsumexp, max score), the statistics (None where not
    wanted) in the working precision and natural log. key and value have query's heads."""
    Bq, Bkv = query.size(0), key.size(0)
    if not ((Bq == Bkv) or (Bq > 1 and Bkv == 1)):
        raise RuntimeError(f"Bq and Bkv must broadcast. Got Bq={Bq} and Bkv={Bkv}")
    key = key.expand((Bq, *key.size()[1:]))
    value = value.expand((Bq, *value.size()[1:]))
    wp = torch.float64 if query.dtype == torch.float64 else torch.float32
    scores = query.to(wp) @ key.to(wp).transpose(-2, -1)
    scores = (scores * scale).to(wp)
    grids = _index_grids(scores.shape, scores.device)
    post = torch.where(mask_mod(*grids), score_mod(scores, *grids),
                       torch.tensor(-float("inf"), dtype=wp, device=scores.device))
    if post.shape != scores.shape:      # mods that ignore some index (or the score)
        post = post.expand(scores.shape)
    lse = None
    if want_lse:
        masked_rows = torch.all(post == -float("inf"), dim=-1)
        # -inf for the rows masked everywhere, whose logsumexp gets no nan into the backward
        lse = torch.where(masked_rows, -float("inf"), torch.logsumexp(
            torch.where(masked_rows.unsqueeze(-1), 0.0, post) if post.requires_grad else post,
            -1))
    probs = softmax_raw(post, post.ndim - 1, True)      # zeros for the rows masked everywhere
    return (probs.to(query.dtype) @ value.to(query.dtype), lse,
            torch.max(post.detach(), dim=-1)[0] if want_max else None)


# torch's, and ember's mock device standing in for a GPU
_SUPPORTED_DEVICES = {"cuda", "cpu", "xpu", "hpu", "mps", "mock"}


def flex_attention(query: Tensor, key: Tensor, value: Tensor,
                   score_mod: _score_mod_signature | None = None,
                   block_mask: BlockMask | None = None, scale: float | None = None,
                   enable_gqa: bool = False, return_lse: bool = False,
                   kernel_options: FlexKernelOptions | None = None, *,
                   return_aux: AuxRequest | None = None):
    r"""Scaled dot product attention with a score_mod(score, b, h, q_idx, kv_idx) applied to
    each score and block_mask's mask_mod(b, h, q_idx, kv_idx) selecting the scores kept.

    query (B, Hq, L, E), key (B, Hkv, S, E), value (B, Hkv, S, Ev) -> (B, Hq, L, Ev); with
    return_lse or return_aux also the logsumexp of each query row's scores (B, Hq, L)."""
    if query.is_nested or key.is_nested or value.is_nested:
        raise NotImplementedError(
            "flex_attention does not support NestedTensor inputs, including "
            "torch.compile(flex_attention) with jagged NestedTensor inputs. "
            "Convert inputs to dense tensors before calling flex_attention.")
    if query.device != key.device or query.device != value.device:
        raise ValueError(
            f"Expected query, key, and value to have the same device type, "
            f"but got query.device: {query.device}, key.device: {key.device}, "
            f"and value.device: {value.device} instead.")
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise ValueError(
            f"Expected query, key, and value to all be  at least 2 dimensional, but got "
            f"query.dim: {query.dim()}, key.dim: {key.dim()} and value.dim: {value.dim()} "
            f"instead.")
    if query.size(-1) != key.size(-1):
        raise ValueError(
            f"Expect query and key/value to have the same embedding dimension "
            f"but got E={query.size(-1)} and E={key.size(-1)}.")
    if query.device.type == "cpu" and (query.requires_grad or key.requires_grad
                                       or value.requires_grad):
        raise NotImplementedError(
            "FlexAttention does not support backward on CPU. Please set the input "
            "requires_grad to False or use another device.")
    if query.device.type not in _SUPPORTED_DEVICES:
        raise ValueError(
            "FlexAttention is only supported on CUDA, CPU, HPU, or MPS devices. "
            f"Found input tensors on {query.device.type} device.")
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        raise NotImplementedError("NYI: query, key, and value must be 4D tensors")
    if (not enable_gqa) and query.size(-3) != key.size(-3):
        raise ValueError(
            f"Expect query and key/value to have the same number of heads "
            f"but got Hq={query.size(-3)} and Hkv={key.size(-3)}. "
            f"Try setting enable_gqa=True for GQA.")
    if enable_gqa:
        Hq, Hkv = query.size(1), key.size(1)
        if Hq % Hkv != 0:
            raise ValueError(
                f"Expect number of query heads to be a multiple of kv heads for GQA "
                f"but got Hq={Hq} and Hkv={Hkv}.")
    if query.size(0) != key.size(0):
        if block_mask is None:
            raise ValueError(
                f"Expect query and key/value to have the same batch size, "
                f"or non-none block_mask, "
                f"but got block_mask=None, Bq={query.size(0)}, and Bkv={key.size(0)}.")
        if block_mask.kv_num_blocks.size(0) != query.size(0):
            raise ValueError(
                f"Expect query and key/value to have the same batch size, "
                f"or block_mask and query to have the same batch size, "
                f"but got Bq={query.size(0)}, Bkv={key.size(0)}, "
                f"B_block_mask={block_mask.kv_num_blocks.size(0)}.")
    if score_mod is None:
        score_mod = _identity
    if block_mask is None:
        block_mask = _create_empty_block_mask(query, key)
    if getattr(block_mask, "mask_mod", None) is _sliced_mask_mod_error:
        raise RuntimeError("Cannot use mask_mod from a sliced BlockMask")
    if not (block_mask.BLOCK_SIZE[0] == _LARGE_SPARSE_BLOCK_SIZE
            and block_mask.BLOCK_SIZE[1] == _LARGE_SPARSE_BLOCK_SIZE):
        q_len, kv_len = block_mask.shape[-2], block_mask.shape[-1]
        if query.size(-2) > q_len or key.size(-2) > kv_len:
            raise ValueError(
                f"block_mask was created for block_mask.shape={block_mask.shape} but got "
                f"q_len={query.size(-2)} and kv_len={key.size(-2)}. As the block mask was "
                f"created for a smaller length than you're using it for, you likely need to "
                f"create a new block mask.")
        if (query.size(-2) < q_len and key.size(-2) <= kv_len) or \
                (query.size(-2) <= q_len and key.size(-2) < kv_len):
            raise ValueError(
                f"block_mask was created for block_mask.shape={block_mask.shape} but got "
                f"q_len={query.size(-2)} and kv_len={key.size(-2)}. As the block mask was "
                f"created for a larger length than you're using it for, you can either 1. "
                f"create a new block mask with the correct length, or 2. 'adjust' the "
                f"existing block mask to the correct length by calling "
                f"block_mask._adjust(q_len, kv_len). This essentially 'crops' the block mask "
                f"to the upper left corner, which does not work for all mask_mods!")
    if scale is None:
        scale = 1.0 / math.sqrt(query.size(-1))
    if query.device != block_mask.kv_num_blocks.device:
        raise RuntimeError(
            f"Expect q/k/v and block_mask to be on the same device "
            f"but got {query.device} and {block_mask.kv_num_blocks.device}.")
    if return_lse and return_aux is not None:
        raise ValueError(
            "Cannot specify both return_lse and return_aux. "
            "return_lse is deprecated, please use return_aux=AuxRequest(lse=True) instead.")
    if return_lse:
        _warn_once("deprecated_return_lse",
                   "return_lse is deprecated and will be removed in v2.10. "
                   "Please use return_aux=AuxRequest(lse=True) instead.",
                   category=FutureWarning)
    kernel_options = _apply_kernel_options(query, key, value, return_lse, kernel_options,
                                           return_aux)
    if not _FLEX_ATTENTION_DISABLE_COMPILE_DEBUG:
        _warn_once(
            "flex_attention_performance",
            "flex_attention called without torch.compile() - this will use an unfused "
            "implementation that materializes the full scores matrix instead of generating a "
            "fused kernel.\n\n"
            "SOLUTION: Use torch.compile(flex_attention)(...)\n\n"
            "If you want to debug your score_mod/mask_mod, you can set:\n"
            "torch.nn.attention.flex_attention._FLEX_ATTENTION_DISABLE_COMPILE_DEBUG = True\n\n"
            "This will allow you to use print statements or breakpoints. Note: This doesn't "
            "work with the backwards pass and may produce incorrect results.")
    want_lse = return_lse or (return_aux is not None and return_aux.lse)
    want_max = return_aux is not None and return_aux.max_scores
    G = query.size(1) // key.size(1)
    out, lse, max_scores = _math_attention(
        query, torch.repeat_interleave(key, G, dim=1), torch.repeat_interleave(value, G, dim=1),
        score_mod, block_mask.mask_mod, scale, want_lse, want_max)
    if out.requires_grad and block_mask.q_indices is None:
        # (torch checks before it computes, for inputs and score_mod's tensors requiring grad)
        raise RuntimeError(
            "BlockMask q_indices is None. Backward pass requires q_indices to be computed. "
            "Please create the BlockMask with compute_q_blocks=True")
    out = _like_strides(out, query)
    # torch's kernel statistics are base 2 (its eager path divides by ln 2), and its top
    # level converts them back unless BACKEND is FLASH
    ln2 = math.log(2.0)
    lse, max_scores = (None if t is None else t / ln2 for t in (lse, max_scores))
    if _FLEX_ATTENTION_DISABLE_COMPILE_DEBUG or kernel_options["BACKEND"] != "FLASH":
        lse, max_scores = (None if t is None else t * ln2 for t in (lse, max_scores))
    if return_aux is not None:
        return out, AuxOutput(lse=lse, max_scores=max_scores)
    if return_lse:
        return out, lse
    return out


def _like_strides(out, query):
    """out laid out in query's dimension order (torch's _permute_strides), its last
    dimension innermost."""
    # innermost first; of equal strides the later dimension is the inner one
    order = sorted(range(4), key=lambda d: (query.stride(d), -d))
    if order[0] != 3:
        order.remove(3)
        order.insert(0, 3)
    if order == [3, 2, 1, 0]:
        return out
    perm = order[::-1]          # outermost first
    return out.permute(perm).contiguous().permute([perm.index(d) for d in range(4)])
