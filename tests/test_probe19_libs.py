"""The way popular libraries written against torch use it (round 19): transformers attention
masks, rotary scalings, caches, logits processors and beam scorers; accelerate's device and
precision utilities; diffusers' schedulers and UNet blocks; torchvision's box ops and tensor
transforms; timm's training utilities; torchmetrics' states and curves; einops-style rearranges;
torch_geometric scatter idioms; fairseq/ESPnet losses and masks; sentence-transformers pooling;
flash-attention fallbacks; PEFT LoRA; int8/4-bit quantisation maths; state_dict surgery and
torch.compile-free fallbacks, run under ember and torch from the same seed: everything they
record (values, dtypes, shapes, printed text, warnings, exception classes and messages) must
agree. The harness is test_probe17_programs'."""
import collections
import functools
import math

import pytest
import torch

import ember

from test_probe17_programs import _check, _module

PROGRAMS = {}


def program(tol=None):
    """Registers a program; tol: the float tolerance (None: bit for bit)."""
    def deco(fn):
        PROGRAMS[fn.__name__] = (fn, tol)
        return fn
    return deco


# programs through matmuls, convolutions and reductions compare within 1e-4 (NumPy's BLAS and
# torch's kernels sum in other orders)
_MM = 1e-4
# programs through transcendental functions (exp, log, tanh: NumPy's and torch's vectorised
# kernels round the last bit differently) compare within 1e-6
_TR = 1e-6


# HuggingFace transformers

@program()
def hf_4d_mask_with_cache_position(torch, log):
    dtype, bsz, seq, target = torch.float32, 2, 3, 6
    min_dtype = torch.finfo(dtype).min
    cache_position = torch.arange(2, 2 + seq)
    attention_mask = torch.tensor([[0, 1, 1, 1, 1], [1, 1, 1, 1, 1]])
    causal = torch.full((seq, target), fill_value=min_dtype, dtype=dtype)
    if seq != 1:
        causal = torch.triu(causal, diagonal=1)
    causal *= torch.arange(target) > cache_position.reshape(-1, 1)
    causal = causal[None, None, :, :].expand(bsz, 1, -1, -1)
    causal = causal.clone()
    mask_length = attention_mask.shape[-1]
    padding_mask = causal[:, :, :, :mask_length] + attention_mask[:, None, None, :].to(causal.device)
    padding_mask = padding_mask == 0
    causal[:, :, :, :mask_length] = causal[:, :, :, :mask_length].masked_fill(padding_mask, min_dtype)
    log(causal, causal.dtype, padding_mask.sum())
    # _unmask_unattended: rows that attend nothing are zeroed for the memory-efficient kernel
    unmasked = causal.mul(~torch.all(causal == min_dtype, dim=-1, keepdim=True))
    log(unmasked)
    # the bool-mask form given to sdpa
    bool_mask = causal == 0
    log(bool_mask.dtype, bool_mask.any(-1), torch.where(bool_mask, 0.0, min_dtype).equal(causal))


@program(tol=_MM)
def hf_rope_scaling_variants(torch, log):
    dim, base = 8, 10000.0
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype=torch.float) / dim))
    # linear scaling
    t = torch.arange(6, dtype=torch.int64).type_as(inv_freq) / 2.0
    log(torch.outer(t, inv_freq))
    # dynamic NTK
    seq_len, max_pos, factor = 12, 8, 2.0
    base2 = base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
    log(1.0 / (base2 ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim)))
    # llama 3
    low_freq_factor, high_freq_factor, old_context_len = 1, 4, 8192
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / 8, inv_freq)
    smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed = (1 - smooth) * inv_freq_llama / 8 + smooth * inv_freq_llama
    is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    inv_freq_llama = torch.where(is_medium, smoothed, inv_freq_llama)
    log(inv_freq_llama, is_medium, is_medium.dtype)
    # yarn's linear ramp mask
    def linear_ramp(lo, hi, d):
        if lo == hi:
            hi += 0.001
        f = (torch.arange(d, dtype=torch.float32) - lo) / (hi - lo)
        return torch.clamp(f, 0, 1)
    log(linear_ramp(1, 3, 4), linear_ramp(2, 2, 4))
    attention_factor = 0.1 * math.log(factor) + 1.0
    emb = torch.cat((t[:, None] * inv_freq, t[:, None] * inv_freq), dim=-1)
    log((emb.cos() * attention_factor).to(torch.bfloat16), emb.sin().half())


@program()
def hf_static_cache_updates(torch, log):
    k_cache = torch.zeros(1, 2, 6, 4)
    v_cache = torch.zeros(1, 2, 6, 4)
    torch.manual_seed(1)
    key = torch.randn(1, 2, 3, 4)
    cache_position = torch.arange(3)
    k_cache.index_copy_(2, cache_position, key)
    v_cache[:, :, cache_position] = key * 2
    log(k_cache[0, 0], v_cache[0, 1, :4])
    step = torch.randn(1, 2, 1, 4)
    pos = torch.tensor([3])
    k_cache.index_copy_(2, pos, step)
    log(k_cache[0, :, 3], (k_cache[0, 0].any(dim=-1)).sum())
    # get_seq_length: positions with any nonzero entry
    log(k_cache[0, 0].any(dim=-1).sum().item(), (k_cache[0, 0] != 0).any(-1).nonzero().flatten())
    # sliding-window cache: roll then write the last slot
    win = k_cache[:, :, :4].clone()
    rolled = win.roll(-1, dims=-2)
    rolled[:, :, -1] = step[:, :, 0]
    log(rolled[0, 1], rolled.is_contiguous())
    # index_copy_ errors a cache meets
    for bad in (lambda: k_cache.index_copy_(2, torch.tensor([1.0]), step),
                lambda: k_cache.index_copy_(2, torch.tensor([0, 1]), step),
                lambda: k_cache.index_copy_(2, pos, step.double())):
        try:
            bad()
        except Exception as e:
            log(type(e).__name__, str(e))


@program()
def hf_dynamic_cache_ops(torch, log):
    torch.manual_seed(2)
    layers = [(torch.randn(2, 1, 3, 2), torch.randn(2, 1, 3, 2)) for _ in range(2)]
    # expand for beam search, reorder, crop, batch split
    expanded = [(k.repeat_interleave(2, dim=0), v.repeat_interleave(2, dim=0)) for k, v in layers]
    log(expanded[0][0].shape, expanded[0][0][:, 0, 0, 0])
    beam_idx = torch.tensor([1, 1, 2, 0])
    reordered = [(k.index_select(0, beam_idx), v.index_select(0, beam_idx)) for k, v in expanded]
    log(reordered[1][1][:, 0, :, 0])
    cropped = [(k[..., :2, :], v[..., :2, :]) for k, v in reordered]
    log(cropped[0][0].shape, cropped[0][0].is_contiguous())
    splits = [[(k[i:i + 2], v[i:i + 2]) for k, v in cropped] for i in range(0, 4, 2)]
    log(len(splits), splits[1][0][0].shape)
    merged = [(torch.cat([s[j][0] for s in splits], dim=0), torch.cat([s[j][1] for s in splits], 0))
              for j in range(2)]
    log(all(torch.equal(a[0], b[0]) for a, b in zip(merged, cropped)))
    # legacy tuple-of-tuples format
    legacy = tuple((k, v) for k, v in merged)
    log(len(legacy), legacy[0][0].shape[-2], torch.stack([k for k, _ in legacy]).shape)


@program(tol=_TR)
def hf_logits_processors_round19(torch, log):
    torch.manual_seed(4)
    scores = torch.randn(3, 8)
    input_ids = torch.tensor([[1, 2, 3, 1, 2], [0, 0, 5, 6, 0], [7, 7, 7, 7, 4]])
    # MinLength: eos forbidden below min length
    eos = torch.tensor([2, 7])
    vocab = torch.arange(scores.shape[-1])
    eos_mask = torch.isin(vocab, eos)
    s = scores.clone()
    if input_ids.shape[-1] < 6:
        s = torch.where(eos_mask, -math.inf, s)
    log(s)
    # SuppressTokens / begin suppress
    suppress = torch.isin(vocab, torch.tensor([0, 3]))
    log(torch.where(suppress, -float("inf"), scores))
    # NoRepeatNGram with n=2: banned tokens per row
    def banned(row, n):
        gen = {}
        toks = row.tolist()
        for ngram in zip(*[toks[i:] for i in range(n)]):
            gen.setdefault(tuple(ngram[:-1]), []).append(ngram[-1])
        return gen.get(tuple(toks[len(toks) - n + 1:]), [])
    s = scores.clone()
    for i, row in enumerate(input_ids):
        s[i, banned(row, 2)] = -float("inf")
    log(s)
    # EpsilonLogitsWarper / EtaLogitsWarper
    probs = scores.softmax(dim=-1)
    to_remove = probs < 0.1
    top_k = min(2, scores.size(-1))
    to_remove = to_remove & (scores < torch.topk(scores, top_k)[0][..., -1, None])
    log(scores.masked_fill(to_remove, -float("inf")))
    entropy = torch.distributions.Categorical(logits=scores).entropy()
    eta = torch.min(torch.tensor(0.05), torch.sqrt(torch.tensor(0.05)) * torch.exp(-entropy))[..., None]
    log(eta, probs < eta)
    # typical decoding
    normalized = torch.nn.functional.log_softmax(scores, dim=-1)
    p = torch.exp(normalized)
    ent = -(normalized * p).nansum(-1, keepdim=True)
    shifted = torch.abs((-normalized) - ent)
    sorted_scores, sorted_indices = torch.sort(shifted, descending=False)
    cum = scores.gather(-1, sorted_indices).softmax(dim=-1).cumsum(dim=-1)
    last_ind = (cum < 0.9).sum(dim=1)
    last_ind.clamp_(max=sorted_scores.shape[-1] - 1)
    remove = sorted_scores > sorted_scores.gather(1, last_ind.view(-1, 1))
    remove[..., :1] = 0
    log(remove.scatter(1, sorted_indices, remove))
    # exponential decay length penalty and forced tokens
    s = scores.clone()
    penalty_idx = 5 - 3
    s[:, 2] = s[:, 2] + torch.abs(s[:, 2]) * (pow(1.5, penalty_idx) - 1)
    forced = torch.full_like(s, -math.inf)
    forced[:, 4] = 0
    log(s[:, 2], forced[0], forced.argmax(-1))
    # MinP
    top_probs, _ = probs.max(dim=-1, keepdim=True)
    log(probs < 0.2 * top_probs)


@program(tol=_TR)
def hf_beam_search_bookkeeping(torch, log):
    torch.manual_seed(6)
    batch, beams, vocab, length_penalty = 2, 3, 5, 1.2
    beam_scores = torch.zeros((batch, beams), dtype=torch.float)
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view((batch * beams,))
    input_ids = torch.zeros(batch * beams, 1, dtype=torch.long)
    for step in range(3):
        logits = torch.randn(batch * beams, vocab)
        next_token_scores = torch.nn.functional.log_softmax(logits, dim=-1)
        next_token_scores = next_token_scores + beam_scores[:, None].expand_as(next_token_scores)
        next_token_scores = next_token_scores.view(batch, beams * vocab)
        n_tokens_to_keep = max(2, 1) * beams
        next_token_scores, next_tokens = torch.topk(next_token_scores, n_tokens_to_keep, dim=1,
                                                    largest=True, sorted=True)
        next_indices = torch.div(next_tokens, vocab, rounding_mode="floor")
        next_tokens = next_tokens % vocab
        beam_scores = next_token_scores[:, :beams].reshape(-1)
        beam_next = next_tokens[:, :beams].reshape(-1)
        beam_idx = (next_indices[:, :beams] + torch.arange(batch)[:, None] * beams).reshape(-1)
        input_ids = torch.cat([input_ids[beam_idx, :], beam_next.unsqueeze(-1)], dim=-1)
        log(step, beam_scores, beam_idx)
    final = beam_scores / (input_ids.shape[-1] ** length_penalty)
    log(input_ids, final, final.view(batch, beams).argmax(-1))
    # the stateless topk on flattened scores with ties and the gather of sequences
    flat = torch.tensor([[0.5, 0.5, 0.1, 0.5], [1.0, 1.0, 1.0, 1.0]])
    log(torch.topk(flat, 2), flat.argsort(dim=-1, descending=True, stable=True))
    seq_scores = torch.full((batch, beams), -1e9)
    log(seq_scores.max(), torch.gather(input_ids.view(batch, beams, -1), 1,
                                       torch.tensor([[2], [0]])[:, :, None].expand(-1, -1, 4)))


@program(tol=_TR)
def hf_causal_lm_loss_variants(torch, log):
    F = torch.nn.functional
    torch.manual_seed(8)
    logits = torch.randn(2, 5, 6)
    labels = torch.tensor([[1, 2, -100, 4, 5], [-100, -100, 3, 3, 0]])
    # ForCausalLMLoss: pad then shift
    lab = F.pad(labels, (0, 1), value=-100)
    shift_labels = lab[..., 1:].contiguous()
    loss_sum = F.cross_entropy(logits.float().view(-1, 6), shift_labels.view(-1), ignore_index=-100,
                               reduction="sum")
    num_items = (labels != -100).sum()
    log(loss_sum, num_items, loss_sum / num_items)
    log(F.cross_entropy(logits[:, :-1].reshape(-1, 6), labels[:, 1:].reshape(-1)))
    log(F.cross_entropy(logits.view(-1, 6), labels.view(-1), label_smoothing=0.1))
    log(F.cross_entropy(logits.view(-1, 6), labels.view(-1), label_smoothing=0.1, reduction="none"))
    log(F.cross_entropy(logits.transpose(1, 2), labels, reduction="none"))
    # all labels ignored: nan for mean
    log(F.cross_entropy(logits.view(-1, 6), torch.full((10,), -100)))
    log(F.nll_loss(F.log_softmax(logits, -1).view(-1, 6), labels.view(-1), reduction="sum"))
    # a label out of range raises
    try:
        F.cross_entropy(logits.view(-1, 6), torch.full((10,), 6))
    except Exception as e:
        log(type(e).__name__, str(e))
    # masked-lm accuracy
    preds = logits.argmax(-1)
    mask = labels != -100
    log((preds[mask] == labels[mask]).float().mean(), preds.masked_select(mask))


@program()
def hf_init_and_resize_embeddings(torch, log):
    nn = torch.nn
    torch.manual_seed(9)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(6, 4, padding_idx=0)
            self.norm = nn.LayerNorm(4)
            self.proj = nn.Linear(4, 4)
            self.lm_head = nn.Linear(4, 6, bias=False)

    def init(module, std=0.02):
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=std)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=std)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)

    m = Model()
    m.apply(init)
    m.lm_head.weight = m.embed.weight
    log(m.embed.weight[0], m.lm_head.weight is m.embed.weight, len(list(m.parameters())))
    # resize_token_embeddings: mean-initialised new rows with covariance-free fallback
    old = m.embed
    new = nn.Embedding(8, 4, padding_idx=old.padding_idx)
    n = min(old.num_embeddings, 8)
    new.weight.data[:n, :] = old.weight.data[:n, :]
    mean = old.weight.data.to(torch.float32).mean(axis=0)
    new.weight.data[n:, :] = mean[None, :].expand(2, -1)
    m.embed = new
    m.lm_head.weight = m.embed.weight
    log(new.weight[6:], m.lm_head.out_features, new.weight.shape)
    m.lm_head.out_features = new.weight.shape[0]
    log(repr(m.lm_head), m.lm_head(torch.ones(1, 4)).shape)
    # pad_to_multiple_of
    pad_to = 16
    log(((8 + pad_to - 1) // pad_to) * pad_to, sum(p.numel() for p in m.parameters()),
        sum(p.numel() for n_, p in m.named_parameters() if "embed" not in n_))


@program(tol=_MM)
def hf_checkpoint_non_reentrant(torch, log):
    nn = torch.nn
    cp = _module(torch, "utils.checkpoint")
    torch.manual_seed(10)

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x, scale=1.0, mask=None):
            y = torch.tanh(self.fc(x)) * scale
            return y if mask is None else y.masked_fill(mask, 0.0)

    layers = nn.ModuleList([Layer() for _ in range(3)])
    x = torch.randn(2, 4, requires_grad=True)
    mask = torch.tensor([[False, True, False, False], [False] * 4])
    h = x
    for layer in layers:
        h = cp.checkpoint(functools.partial(layer.__call__, scale=0.5), h, mask=mask,
                          use_reentrant=False)
    h.sum().backward()
    log(h, x.grad, layers[0].fc.weight.grad)
    g1 = x.grad.clone()
    x.grad = None
    for p in layers.parameters():
        p.grad = None
    h = x
    for layer in layers:
        h = layer(h, scale=0.5, mask=mask)
    h.sum().backward()
    log(torch.allclose(g1, x.grad))
    seq = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2), nn.Tanh())
    out = cp.checkpoint_sequential(seq, 2, x, use_reentrant=False)
    out.sum().backward()
    log(out, seq[0].weight.grad.sum())
    # determinism check and preserve_rng_state with dropout
    drop = nn.Dropout(0.5)
    y = cp.checkpoint(lambda t: drop(t) * 2, x, use_reentrant=False, preserve_rng_state=True)
    y.sum().backward()
    log(y, x.grad)


@program()
def hf_last_token_pooling(torch, log):
    pad = 0
    input_ids = torch.tensor([[5, 6, 7, 0, 0], [3, 4, 0, 0, 0], [1, 2, 3, 4, 5]])
    torch.manual_seed(11)
    logits = torch.randn(3, 5, 2)
    non_pad_mask = (input_ids != pad).to(torch.int32)
    token_indices = torch.arange(input_ids.shape[-1], dtype=torch.int32)
    last_non_pad = (token_indices * non_pad_mask).argmax(-1)
    log(last_non_pad, last_non_pad.dtype)
    log(logits[torch.arange(3), last_non_pad])
    # older form with modulo wraparound
    seq_lens = torch.eq(input_ids, pad).int().argmax(-1) - 1
    seq_lens = seq_lens % input_ids.shape[-1]
    log(seq_lens, seq_lens.dtype, logits[torch.arange(3), seq_lens])
    # left padding and attention-mask-based
    attn = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    left = attn[:, -1].sum() == attn.shape[0]
    log(left, attn.sum(dim=1) - 1, attn.flip(1).argmax(1))
    hidden = torch.randn(2, 4, 3)
    sequence_lengths = attn.sum(dim=1) - 1
    log(hidden[torch.arange(2, device=hidden.device), sequence_lengths])


@program()
def hf_t5_relative_position_bucket(torch, log):
    def bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
        relative_buckets = 0
        if bidirectional:
            num_buckets //= 2
            relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
            relative_position = torch.abs(relative_position)
        else:
            relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
        max_exact = num_buckets // 2
        is_small = relative_position < max_exact
        if_large = max_exact + (
            torch.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact)
            * (num_buckets - max_exact)).to(torch.long)
        if_large = torch.min(if_large, torch.full_like(if_large, num_buckets - 1))
        relative_buckets += torch.where(is_small, relative_position, if_large)
        return relative_buckets

    q = torch.arange(20, dtype=torch.long)[:, None]
    k = torch.arange(0, 200, 7, dtype=torch.long)[None, :]
    rel = k - q
    log(bucket(rel), bucket(rel, bidirectional=False, num_buckets=8, max_distance=20))
    emb = torch.nn.Embedding(32, 2)
    torch.nn.init.constant_(emb.weight, 0.5)
    values = emb(bucket(rel[:3, :4])).permute([2, 0, 1]).unsqueeze(0)
    log(values.shape, values.sum())


@program(tol=_TR)
def hf_activations_table(torch, log):
    F = torch.nn.functional
    x = torch.linspace(-4, 4, 17)

    def gelu_new(x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

    def gelu_fast(x):
        return 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))

    def quick_gelu(x):
        return x * torch.sigmoid(1.702 * x)

    log(gelu_new(x), gelu_fast(x), quick_gelu(x))
    log(F.gelu(x, approximate="tanh"), F.gelu(x), torch.clip(F.gelu(x), -10, 10))
    log(F.silu(x), F.mish(x), torch.square(F.relu(x)), F.hardswish(x), F.hardsigmoid(x))
    log(x * torch.tanh(F.softplus(x)), F.softplus(x, beta=2, threshold=5), F.relu6(x), F.elu(x))
    act = {"gelu": torch.nn.GELU(), "gelu_pytorch_tanh": torch.nn.GELU(approximate="tanh"),
           "relu": torch.nn.ReLU(), "silu": torch.nn.SiLU(), "swish": torch.nn.SiLU(),
           "tanh": torch.nn.Tanh(), "sigmoid": torch.nn.Sigmoid(), "leaky": torch.nn.LeakyReLU(0.2)}
    for k, v in act.items():
        log(k, repr(v), v(x[:3]))
    # GLU variants
    a, b = torch.arange(8.0).view(2, 4).chunk(2, dim=-1)
    log(F.glu(torch.arange(8.0).view(2, 4)), a * F.silu(b), a * F.gelu(b))
    try:
        F.gelu(x, approximate="fast")
    except Exception as e:
        log(type(e).__name__, str(e))
    log(x.half().sigmoid(), F.silu(x.to(torch.bfloat16)))


@program()
def hf_rmsnorm_dtypes(torch, log):
    torch.manual_seed(12)
    x = torch.randn(2, 3, 8).to(torch.bfloat16)
    w = torch.ones(8) + 0.1 * torch.arange(8.0)

    def llama_rms(h, weight, eps=1e-6):
        input_dtype = h.dtype
        h = h.to(torch.float32)
        variance = h.pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(variance + eps)
        return weight * h.to(input_dtype)

    def gemma_rms(h, weight, eps=1e-6):
        out = h.float() * torch.rsqrt(h.float().pow(2).mean(-1, keepdim=True) + eps)
        out = out * (1.0 + weight.float())
        return out.type_as(h)

    def t5_norm(h, weight, eps=1e-6):
        variance = h.to(torch.float32).pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(variance + eps)
        if weight.dtype in [torch.float16, torch.bfloat16]:
            h = h.to(weight.dtype)
        return weight * h

    a, b, c = llama_rms(x, w), gemma_rms(x, w), t5_norm(x, w.to(torch.bfloat16))
    log(a.dtype, b.dtype, c.dtype, a, b, c)
    log(llama_rms(x.float(), w), torch.nn.functional.rms_norm(x.float(), (8,), w, eps=1e-6))
    n = torch.nn.RMSNorm(8, eps=None)
    log(repr(n), n(x.float()).sum(), n.eps)
    log(x.float().norm(dim=-1), torch.linalg.vector_norm(x, dim=-1).dtype)


@program(tol=_TR)
def hf_moe_load_balancing(torch, log):
    F = torch.nn.functional
    torch.manual_seed(13)
    num_experts, top_k = 4, 2
    gate_logits = torch.randn(6, num_experts)
    routing_weights = F.softmax(gate_logits, dim=-1)
    _, selected_experts = torch.topk(routing_weights, top_k, dim=-1)
    expert_mask = F.one_hot(selected_experts, num_experts)
    tokens_per_expert = torch.mean(expert_mask.float(), dim=0)
    router_prob_per_expert = torch.mean(routing_weights, dim=0)
    loss = torch.sum(tokens_per_expert * router_prob_per_expert.unsqueeze(0))
    log(expert_mask.dtype, expert_mask.shape, tokens_per_expert, loss * num_experts)
    # dispatch with capacity via cumsum
    mask1 = F.one_hot(selected_experts[:, 0], num_experts)
    locations = torch.cumsum(mask1, dim=0) - 1
    capacity = 2
    mask1 = mask1 * torch.lt(locations, capacity)
    log(locations, mask1, mask1.sum(0))
    # per-expert token lists as the mixtral block builds them
    expert_mask2 = F.one_hot(selected_experts, num_classes=num_experts).permute(2, 1, 0)
    hit = torch.greater(expert_mask2.sum(dim=(-1, -2)), 0).nonzero()
    log(hit, hit.dtype)
    for e in hit.flatten().tolist():
        idx, top_x = torch.where(expert_mask2[e])
        log(e, idx, top_x, routing_weights[top_x, e])
    # z-loss
    log(torch.logsumexp(gate_logits, dim=-1).square().mean())


@program(tol=_TR)
def hf_speculative_acceptance(torch, log):
    torch.manual_seed(14)
    p = torch.softmax(torch.randn(1, 4, 6), -1)   # target
    q = torch.softmax(torch.randn(1, 4, 6), -1)   # draft
    candidate = torch.tensor([[1, 5, 2, 0]])
    p_i = p[:, torch.arange(4), candidate].squeeze(0)
    q_i = q[:, torch.arange(4), candidate].squeeze(0)
    ratio = p_i / q_i
    r_i = torch.rand_like(ratio)
    is_accepted = r_i <= ratio
    n_matches = ((~is_accepted).cumsum(dim=-1) < 1).sum()
    log(ratio, is_accepted, n_matches)
    residual = torch.clamp(p[:, n_matches, :] - q[:, n_matches, :], min=0)
    residual = residual / residual.sum(-1, keepdim=True)
    log(residual, torch.multinomial(residual, 1))
    # assisted greedy: first mismatch
    target_tokens = torch.tensor([[1, 5, 3, 0]])
    log(((~(candidate == target_tokens)).cumsum(dim=-1) < 1).sum())


@program(tol=_MM)
def hf_clip_contrastive(torch, log):
    F = torch.nn.functional
    torch.manual_seed(15)
    img = torch.randn(4, 8)
    txt = torch.randn(4, 8)
    logit_scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    img = img / img.norm(p=2, dim=-1, keepdim=True)
    txt = txt / txt.norm(p=2, dim=-1, keepdim=True)
    logits_per_text = torch.matmul(txt, img.t().to(txt.device)) * logit_scale.exp()
    logits_per_image = logits_per_text.t()

    def contrastive(logits):
        return F.cross_entropy(logits, torch.arange(len(logits), device=logits.device))

    loss = (contrastive(logits_per_text) + contrastive(logits_per_image.t())) / 2.0
    loss.backward()
    log(loss, logit_scale.grad)
    # siglip: sigmoid loss with bias
    logit_bias = torch.tensor(-10.0)
    logits = txt @ img.t() * 10.0 + logit_bias
    labels = 2 * torch.eye(4) - torch.ones(4, 4)
    log(-F.logsigmoid(labels * logits).sum() / 4)
    with torch.no_grad():
        logit_scale.clamp_(0, math.log(100))
    log(logit_scale)


@program()
def hf_bert_buffers_and_token_types(torch, log):
    nn = torch.nn

    class Embeddings(nn.Module):
        def __init__(self):
            super().__init__()
            self.word = nn.Embedding(10, 4)
            self.pos = nn.Embedding(8, 4)
            self.tok = nn.Embedding(2, 4)
            self.register_buffer("position_ids", torch.arange(8).expand((1, -1)), persistent=False)
            self.register_buffer("token_type_ids", torch.zeros(self.position_ids.size(),
                                                               dtype=torch.long), persistent=False)

        def forward(self, ids, past=0):
            seq = ids.shape[1]
            position_ids = self.position_ids[:, past:seq + past]
            buffered = self.token_type_ids[:, :seq]
            token_type_ids = buffered.expand(ids.shape[0], seq)
            return self.word(ids) + self.tok(token_type_ids) + self.pos(position_ids)

    torch.manual_seed(16)
    e = Embeddings()
    log(list(e.state_dict()), [n for n, _ in e.named_buffers()])
    log(e.position_ids.stride(), e.position_ids.is_contiguous())
    out = e(torch.tensor([[1, 2, 3], [4, 5, 6]]), past=2)
    log(out.shape, out.sum())
    # position ids from a padding mask
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    position_ids = mask.long().cumsum(-1) - 1
    position_ids.masked_fill_(mask == 0, 1)
    log(position_ids)
    e2 = Embeddings()
    e2.load_state_dict(e.state_dict())
    log(torch.equal(e2.word.weight, e.word.weight))


# accelerate

@program()
def accel_send_to_device_nested(torch, log):
    Point = collections.namedtuple("Point", ["x", "y"])

    def send_to_device(tensor, device, non_blocking=False, skip_keys=None):
        if isinstance(tensor, (tuple, list)):
            out = [send_to_device(t, device, non_blocking) for t in tensor]
            return type(tensor)(*out) if hasattr(tensor, "_fields") else type(tensor)(out)
        if isinstance(tensor, dict):
            skip_keys = skip_keys or []
            return type(tensor)({k: t if k in skip_keys else send_to_device(t, device, non_blocking)
                                 for k, t in tensor.items()})
        if hasattr(tensor, "to"):
            return tensor.to(device, non_blocking=non_blocking)
        return tensor

    batch = {"ids": torch.arange(3), "pair": Point(torch.ones(2), torch.zeros(1)),
             "list": [torch.tensor(1.5), "text", 3], "keep": torch.ones(1)}
    moved = send_to_device(batch, torch.device("cpu"), non_blocking=True, skip_keys=["keep"])
    log(type(moved["pair"]).__name__, moved["pair"].x, moved["list"], moved["ids"].device)
    log(str(torch.device("cpu")), torch.device("cpu", 0) if False else torch.device("cpu").type,
        torch.device("cpu") == torch.device("cpu"), torch.device("cpu").index)

    def find_batch_size(data):
        if isinstance(data, (tuple, list)):
            return find_batch_size(data[0])
        if isinstance(data, dict):
            return find_batch_size(next(iter(data.values())))
        return data.shape[0]

    log(find_batch_size(batch), find_batch_size([torch.zeros(5, 2)]))

    def convert_to_fp32(t):
        if isinstance(t, dict):
            return {k: convert_to_fp32(v) for k, v in t.items()}
        if isinstance(t, (list, tuple)):
            return type(t)(convert_to_fp32(v) for v in t)
        if hasattr(t, "dtype") and t.dtype in (torch.float16, torch.bfloat16):
            return t.float()
        return t

    out = convert_to_fp32({"a": torch.ones(2, dtype=torch.bfloat16), "b": (torch.ones(1).half(),
                                                                          torch.arange(2))})
    log(out["a"].dtype, out["b"][0].dtype, out["b"][1].dtype)
    log(torch.tensor([1, 2]).to("cpu", torch.float64), torch.ones(1).to(device=None, dtype=None).dtype)


@program()
def accel_pad_across_processes(torch, log):
    def pad(tensor, dim=0, pad_index=0, pad_first=False, max_size=None):
        if dim >= len(tensor.shape) or dim < -len(tensor.shape):
            return tensor
        size = torch.tensor(tensor.shape, device=tensor.device)[None]
        max_size = size[:, dim].max().item() if max_size is None else max_size
        if max_size == tensor.shape[dim]:
            return tensor
        old_size = tensor.shape
        new_size = list(old_size)
        new_size[dim] = max_size
        new_tensor = tensor.new_zeros(tuple(new_size)) + pad_index
        if pad_first:
            indices = tuple(slice(max_size - old_size[dim], max_size) if i == dim else slice(None)
                            for i in range(len(new_size)))
        else:
            indices = tuple(slice(0, old_size[dim]) if i == dim else slice(None)
                            for i in range(len(new_size)))
        new_tensor[indices] = tensor
        return new_tensor

    t = torch.arange(6).view(2, 3)
    log(pad(t, dim=1, max_size=5, pad_index=-100), pad(t, dim=0, max_size=4, pad_first=True))
    log(pad(t.float(), dim=-1, max_size=4, pad_index=0.5), pad(t, dim=3))
    # gather_for_metrics: drop the duplicated tail
    gathered = torch.cat([torch.arange(4), torch.arange(4, 8)])
    log(gathered[: 7], torch.cat([t, t], dim=0).shape)
    # recursively_apply of reduce
    log(torch.stack([torch.tensor(2.0), torch.tensor(4.0)]).mean(), torch.tensor([3.0]).sum() / 1)


@program()
def accel_rng_state_sync(torch, log):
    torch.manual_seed(42)
    state = torch.get_rng_state()
    log(state.dtype, state.shape, torch.initial_seed())
    a = torch.rand(3)
    torch.set_rng_state(state)
    b = torch.rand(3)
    log(torch.equal(a, b))
    g = torch.Generator()
    g.manual_seed(7)
    gstate = g.get_state()
    x = torch.randn(2, generator=g)
    g.set_state(gstate)
    log(torch.equal(x, torch.randn(2, generator=g)), g.initial_seed(), g.device)
    # seed per worker as accelerate/lightning derive it
    base = torch.empty((), dtype=torch.int64).random_(generator=g).item()
    log(type(base).__name__, base >= 0)
    torch.manual_seed(0)
    seeds = [torch.randint(0, 2 ** 31, (1,)).item() for _ in range(3)]
    log(seeds)
    log(torch.random.initial_seed(), torch.default_generator.initial_seed())
    with torch.random.fork_rng():
        torch.manual_seed(123)
        inside = torch.rand(1)
    log(inside, torch.rand(1))
    try:
        torch.set_rng_state(torch.zeros(3))
    except Exception as e:
        log(type(e).__name__)


@program()
def accel_autocast_state_queries(torch, log):
    log(torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        log(torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))
        a = torch.ones(2, 3)
        b = torch.ones(3, 2)
        log((a @ b).dtype, torch.mm(a, b).dtype, (a + b.t()).dtype, torch.softmax(a, -1).dtype)
        with torch.autocast("cpu", enabled=False):
            log((a @ b).dtype, torch.is_autocast_enabled("cpu"))
    log(torch.is_autocast_enabled("cpu"))
    amp = torch.amp
    log(amp.autocast is torch.autocast, torch.cpu.amp.autocast is not None)
    ctx = torch.autocast(device_type="cpu", dtype=torch.float16)
    with ctx:
        lin = torch.nn.Linear(3, 2)
        log(lin(torch.ones(1, 3)).dtype, torch.get_autocast_dtype("cpu"))
    try:
        with torch.autocast("cpu", dtype=torch.int32):
            pass
    except Exception as e:
        log(type(e).__name__, str(e))


@pytest.mark.parametrize("dtype", ["int64", "int32", "float64"])
@pytest.mark.parametrize("low,high", [(0, 2 ** 28 - 1), (0, 2 ** 28), (0, 2 ** 31), (-2 ** 31, 2 ** 31 - 1),
                                      (-2 ** 28, 0)])
def test_randint_of_a_range_of_2_28_and_more_draws_64_bits_like_torch(dtype, low, high):
    # torch draws 64 bits per value for ranges of 2**28 and more (accelerate's and lightning's
    # per-worker seeds are randint(0, 2**31)): ember switched at 2**32, so its values differed
    def run(lib):
        lib.manual_seed(0)
        a = lib.randint(low, high, (5,), dtype=getattr(lib, dtype)).tolist()
        b = lib.empty(3, dtype=getattr(lib, dtype)).random_(low, high).tolist()
        return a, b
    assert run(ember) == run(torch)
