"""Ordinary PyTorch programs, round 34 (code in the idioms of libraries built on PyTorch:
HuggingFace transformers' masks, rotary embeddings, norms, MLPs, kv-caches, samplers and logits
processors, dtype casts and embedding resizing; torchvision's ResNets, tensor transforms,
resampling and box ops; timm's DropPath, LayerScale, initialisers, EMAs and parameter groups;
Lightning-style loops with accumulation, clipping and scheduler chains; einops-like reshapes;
torch.compile and torch.jit as no-ops; seeding utilities and deterministic mode) run under ember
and torch from the same seed: everything they record must agree (the harness is rounds 17, 18
and 26's)."""
from probe_registry import Programs, log_outcome as _err
from test_probe17_programs import _module
from test_probe18_programs import _check

PROGRAMS = Programs()

program = PROGRAMS.always     # (every warning given each time)

_TRAIN = 1e-4


# ---- transformers --------------------------------------------------------------------------

@program()
def hf_extended_mask_dtypes_printed(torch, log):
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    for dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        ext = mask[:, None, None, :]
        ext = ext.to(dtype=dtype)
        ext = (1.0 - ext) * torch.finfo(dtype).min
        print(ext)
        log(ext.dtype, ext.shape, ext.stride(), torch.finfo(dtype).min)
    inv = mask[:, None, None, :].eq(0)
    print(inv, inv.dtype)
    m = torch.zeros(2, 1, 3, 3).masked_fill(inv, torch.finfo(torch.float16).min)
    print(m)
    print(torch.finfo(torch.float16), torch.finfo(torch.bfloat16))
    print(torch.finfo(torch.float32).min, torch.finfo(torch.float16).tiny,
          torch.finfo().eps, torch.iinfo(torch.int64).min)


@program()
def hf_causal_mask_triu_full_and_expand(torch, log):
    L, dtype = 4, torch.float32
    min_v = torch.finfo(dtype).min
    causal = torch.full((L, L), fill_value=min_v, dtype=dtype)
    causal = torch.triu(causal, diagonal=1)
    print(causal)
    past = 2
    causal2 = torch.cat([torch.zeros(L, past, dtype=dtype), causal], dim=-1)
    print(causal2)
    e = causal2[None, None, :, :].expand(2, 1, -1, -1)
    log(e.shape, e.stride(), e.is_contiguous())
    pad = torch.tensor([[0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    c = e.clone()
    mask_len = pad.shape[-1]
    padding_mask = c[:, :, :, :mask_len] + pad[:, None, None, :]
    padding_mask = padding_mask == 0
    c[:, :, :, :mask_len] = c[:, :, :, :mask_len].masked_fill(padding_mask, min_v)
    print(c)
    tri = torch.ones(L, L, dtype=torch.bool).tril()
    print(tri, (~tri).int())
    s = torch.randn(1, 1, L, L).masked_fill(~tri, float("-inf")).softmax(-1)
    log(s)
    log(torch.arange(L)[:, None] >= torch.arange(L)[None, :])
    idx = torch.arange(L).view(-1, 1) < torch.arange(L).view(1, -1)
    print(idx)


@program(tol=1e-6)
def hf_llama_rotary_matmul_form(torch, log):
    dim, base = 8, 10000.0
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    log(inv_freq.dtype, inv_freq)
    position_ids = torch.tensor([[0, 1, 2, 3, 4], [3, 4, 5, 6, 7]])
    inv_freq_expanded = inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
    position_ids_expanded = position_ids[:, None, :].float()
    freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
    log(freqs.shape, freqs.stride(), freqs.is_contiguous())
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    cos, sin = cos.to(torch.bfloat16), sin.to(torch.bfloat16)
    log(cos.dtype, cos, sin)

    def rotate_half(x):
        x1 = x[..., : x.shape[-1] // 2]
        x2 = x[..., x.shape[-1] // 2:]
        return torch.cat((-x2, x1), dim=-1)

    q = torch.randn(2, 3, 5, dim, dtype=torch.bfloat16)
    k = torch.randn(2, 1, 5, dim, dtype=torch.bfloat16)
    cu, su = cos.unsqueeze(1), sin.unsqueeze(1)
    q_embed = (q * cu) + (rotate_half(q) * su)
    k_embed = (k * cu) + (rotate_half(k) * su)
    log(q_embed.dtype, q_embed, k_embed)
    t = torch.arange(6, dtype=torch.float32)
    f = torch.outer(t, inv_freq)
    log(torch.einsum("i,j->ij", t, inv_freq).equal(f), f.stride())
    cis = torch.polar(torch.ones_like(f), f)
    log(cis.dtype, cis[:2])
    print(cis[:2, :2])


@program(tol=1e-6)
def hf_rmsnorm_half_and_swiglu(torch, log):
    nn, F = torch.nn, torch.nn.functional

    class LlamaRMSNorm(nn.Module):
        def __init__(self, hidden_size, eps=1e-6):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(hidden_size))
            self.variance_epsilon = eps

        def forward(self, hidden_states):
            input_dtype = hidden_states.dtype
            hidden_states = hidden_states.to(torch.float32)
            variance = hidden_states.pow(2).mean(-1, keepdim=True)
            hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
            return self.weight * hidden_states.to(input_dtype)

        def extra_repr(self):
            return f"{tuple(self.weight.shape)}, eps={self.variance_epsilon}"

    class MLP(nn.Module):
        def __init__(self, h, i):
            super().__init__()
            self.gate_proj = nn.Linear(h, i, bias=False)
            self.up_proj = nn.Linear(h, i, bias=False)
            self.down_proj = nn.Linear(i, h, bias=False)
            self.act_fn = nn.SiLU()

        def forward(self, x):
            return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_layernorm = LlamaRMSNorm(6)
            self.mlp = MLP(6, 10)

        def forward(self, x):
            return x + self.mlp(self.input_layernorm(x))

    b = Block()
    print(b)
    x = torch.randn(2, 3, 6)
    log(b(x))
    b.half()
    log([(n, p.dtype) for n, p in b.named_parameters()])
    y = b(x.half())
    log(y.dtype, y, b.input_layernorm(x.half()).dtype)
    b.to(torch.bfloat16)
    y = b(x.to(torch.bfloat16))
    log(y.dtype, y)
    b.float()
    fused = nn.Linear(6, 20, bias=False)
    gate, up = fused(x).chunk(2, dim=-1)
    log(gate.shape, gate.stride(), up.stride(), F.silu(gate) * up)
    rms = nn.RMSNorm(6, eps=1e-6)
    print(rms)
    log(rms(x), F.rms_norm(x, (6,)), rms(x.half()).dtype)


@program(tol=1e-5)
def hf_generation_kv_cache_tuples(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    V, D, H = 11, 8, 2
    emb = nn.Embedding(V, D)
    qkv = nn.Linear(D, 3 * D)
    lm_head = nn.Linear(D, V, bias=False)
    lm_head.weight = emb.weight
    log(lm_head.weight is emb.weight, lm_head.weight.data_ptr() == emb.weight.data_ptr())

    def step(ids, past):
        x = emb(ids)
        B, T, _ = x.shape
        q, k, v = qkv(x).split(D, dim=2)
        q = q.view(B, T, H, D // H).transpose(1, 2)
        k = k.view(B, T, H, D // H).transpose(1, 2)
        v = v.view(B, T, H, D // H).transpose(1, 2)
        if past is not None:
            k = torch.cat((past[0], k), dim=-2)
            v = torch.cat((past[1], v), dim=-2)
        present = (k, v)
        att = (q @ k.transpose(-2, -1)) / (k.size(-1) ** 0.5)
        S = k.shape[-2]
        mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
        att = att.masked_fill(~mask, torch.finfo(att.dtype).min)
        out = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
        return lm_head(out), present

    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    past = None
    with torch.no_grad():
        for i in range(4):
            logits, past = step(ids if past is None else ids[:, -1:], past)
            nxt = logits[:, -1, :].argmax(dim=-1, keepdim=True)
            ids = torch.cat([ids, nxt], dim=-1)
            log(i, ids, tuple(t.shape for t in past), past[0].stride(), past[0].is_contiguous())
    print(ids)
    pkv = ((past[0], past[1]),)
    log(type(pkv).__name__, len(pkv), pkv[0][0].shape)
    beam_idx = torch.tensor([1, 0])
    reordered = tuple(tuple(p.index_select(0, beam_idx) for p in layer) for layer in pkv)
    log(reordered[0][0][0].equal(pkv[0][0][1]))


@program()
def hf_top_k_top_p_filtering_classic(torch, log):
    F = torch.nn.functional

    def top_k_top_p_filtering(logits, top_k=0, top_p=1.0, filter_value=-float("Inf"),
                              min_tokens_to_keep=1):
        if top_k > 0:
            top_k = min(max(top_k, min_tokens_to_keep), logits.size(-1))
            indices_to_remove = logits < torch.topk(logits, top_k)[0][..., -1, None]
            logits[indices_to_remove] = filter_value
        if top_p < 1.0:
            sorted_logits, sorted_indices = torch.sort(logits, descending=True)
            cumulative_probs = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
            sorted_indices_to_remove = cumulative_probs > top_p
            if min_tokens_to_keep > 1:
                sorted_indices_to_remove[..., :min_tokens_to_keep] = 0
            sorted_indices_to_remove[..., 1:] = sorted_indices_to_remove[..., :-1].clone()
            sorted_indices_to_remove[..., 0] = 0
            indices_to_remove = sorted_indices_to_remove.scatter(
                1, sorted_indices, sorted_indices_to_remove)
            logits[indices_to_remove] = filter_value
        return logits

    torch.manual_seed(1)
    logits = torch.randn(3, 10)
    log(top_k_top_p_filtering(logits.clone(), top_k=3))
    log(top_k_top_p_filtering(logits.clone(), top_p=0.7))
    log(top_k_top_p_filtering(logits.clone(), top_k=5, top_p=0.9, min_tokens_to_keep=2))
    f = top_k_top_p_filtering(logits.clone(), top_k=4, top_p=0.8)
    probs = F.softmax(f, dim=-1)
    print(probs)
    log(torch.multinomial(probs, num_samples=1), torch.multinomial(probs, 2))
    g = torch.Generator().manual_seed(7)
    log(torch.multinomial(probs, 3, replacement=True, generator=g))
    ties = torch.tensor([[1.0, 1.0, 1.0, 0.5, 0.5]])
    log(top_k_top_p_filtering(ties.clone(), top_k=2))
    half = logits.half()
    log(top_k_top_p_filtering(half.clone(), top_p=0.5))


@program()
def hf_repetition_and_presence_penalties(torch, log):
    torch.manual_seed(2)
    scores = torch.randn(2, 8)
    input_ids = torch.tensor([[1, 3, 3, 5], [0, 0, 7, 2]])
    penalty = 1.3
    score = torch.gather(scores, 1, input_ids)
    log(score)
    score = torch.where(score < 0, score * penalty, score / penalty)
    s1 = scores.scatter(1, input_ids, score)
    log(s1)
    s2 = scores.clone()
    s2.scatter_(1, input_ids, score)
    log(s2.equal(s1))
    counts = torch.zeros_like(scores).scatter_add_(1, input_ids, torch.ones_like(input_ids,
                                                                           dtype=scores.dtype))
    log(counts)
    freq = scores - 0.5 * counts - 0.2 * (counts > 0).float()
    log(freq)
    bad = [[3], [5, 6]]
    banned = torch.zeros_like(scores, dtype=torch.bool)
    for b, ids in enumerate(bad):
        banned[b, ids] = True
    log(scores.masked_fill(banned, -float("inf")))
    enc = torch.tensor([[2, 4]]).expand(2, -1)
    log(torch.gather(scores, 1, enc), enc.stride())
    _err(log, lambda: torch.gather(scores, 1, input_ids.int()))
    _err(log, lambda: scores.scatter_(1, input_ids, score.double()))
    _err(log, lambda: torch.gather(scores, 1, torch.tensor([[9]])))
    log(torch.gather(scores, 0, torch.tensor([[1, 0]])))


@program()
def hf_logits_processor_list(torch, log):
    class TemperatureLogitsWarper:
        def __init__(self, temperature):
            self.temperature = temperature

        def __call__(self, input_ids, scores):
            return scores / self.temperature

    class MinLengthLogitsProcessor:
        def __init__(self, min_length, eos_token_id):
            self.min_length = min_length
            self.eos_token_id = torch.tensor(eos_token_id)

        def __call__(self, input_ids, scores):
            vocab_tensor = torch.arange(scores.shape[-1])
            eos_token_mask = torch.isin(vocab_tensor, self.eos_token_id)
            scores_processed = scores.clone()
            if input_ids.shape[-1] < self.min_length:
                scores_processed = torch.where(eos_token_mask, -float("inf"), scores)
            return scores_processed

    class TopKLogitsWarper:
        def __init__(self, top_k, filter_value=-float("Inf")):
            self.top_k = top_k
            self.filter_value = filter_value

        def __call__(self, input_ids, scores):
            top_k = min(self.top_k, scores.size(-1))
            indices_to_remove = scores < torch.topk(scores, top_k)[0][..., -1, None]
            return scores.masked_fill(indices_to_remove, self.filter_value)

    class EpsilonLogitsWarper:
        def __init__(self, epsilon):
            self.epsilon = epsilon

        def __call__(self, input_ids, scores):
            probabilities = scores.softmax(dim=-1)
            indices_to_remove = probabilities < self.epsilon
            top_k = min(2, scores.size(-1))
            indices_to_remove = indices_to_remove & (
                scores < torch.topk(scores, top_k)[0][..., -1, None])
            return scores.masked_fill(indices_to_remove, -float("inf"))

    procs = [MinLengthLogitsProcessor(5, [0, 2]), TemperatureLogitsWarper(0.7),
             TopKLogitsWarper(4), EpsilonLogitsWarper(0.05)]
    input_ids = torch.tensor([[5, 6, 7], [1, 2, 3]])
    scores = torch.randn(2, 9)
    for p in procs:
        scores = p(input_ids, scores)
        log(type(p).__name__, scores)
    probs = torch.nn.functional.softmax(scores, dim=-1)
    log(probs, torch.multinomial(probs, num_samples=1).squeeze(1))
    unfinished = torch.ones(2, dtype=torch.long)
    next_tokens = torch.tensor([0, 4])
    pad = 1
    next_tokens = next_tokens * unfinished + pad * (1 - unfinished)
    unfinished = unfinished & ~torch.isin(next_tokens, torch.tensor([0]))
    log(next_tokens, unfinished, unfinished.max() == 0, unfinished.dtype)
    log(torch.isin(torch.tensor([[1, 2], [3, 4]]), torch.tensor([2, 3]), invert=True))
    log(torch.isin(torch.tensor([1.5, 2.0]), 2.0), torch.isin(3, torch.tensor([1, 3])))

# ---- torchvision ---------------------------------------------------------------------------

@program(tol=_TRAIN)
def tv_resnet_kaiming_zero_init_residual_printed(torch, log):
    nn = torch.nn

    def conv3x3(i, o, stride=1, groups=1, dilation=1):
        return nn.Conv2d(i, o, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                         bias=False, dilation=dilation)

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv3x3(inplanes, planes, stride)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = conv3x3(planes, planes)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self, layers, num_classes=5, zero_init_residual=True):
            super().__init__()
            self.inplanes = 4
            self.conv1 = nn.Conv2d(3, 4, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(4, layers[0])
            self.layer2 = self._make_layer(8, layers[1], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(8, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
            if zero_init_residual:
                for m in self.modules():
                    if isinstance(m, BasicBlock) and m.bn2.weight is not None:
                        nn.init.constant_(m.bn2.weight, 0)

        def _make_layer(self, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes:
                downsample = nn.Sequential(
                    nn.Conv2d(self.inplanes, planes, 1, stride=stride, bias=False),
                    nn.BatchNorm2d(planes))
            layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes
            for _ in range(1, blocks):
                layers.append(BasicBlock(self.inplanes, planes))
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer2(self.layer1(x))
            x = torch.flatten(self.avgpool(x), 1)
            return self.fc(x)

    net = ResNet([2, 1])
    print(net)
    x = torch.randn(2, 3, 16, 16)
    out = net(x)
    log(out, net.layer1[0].bn2.weight)
    loss = torch.nn.functional.cross_entropy(out, torch.tensor([1, 3]))
    loss.backward()
    log(loss, net.conv1.weight.grad.abs().sum(), net.layer2[0].downsample[1].weight.grad)
    log(sum(p.numel() for p in net.parameters()),
        sum(b.numel() for b in net.buffers()), [n for n, _ in net.named_buffers()][:4])
    net.eval()
    with torch.inference_mode():
        y = net(x)
    log(y, y.requires_grad, y.is_inference())
    log(net.layer1[0].bn1.num_batches_tracked, net.bn1.running_var)


@program(tol=1e-6)
def tv_tensor_transforms_functional(torch, log):
    F = torch.nn.functional
    torch.manual_seed(3)
    img = torch.randint(0, 256, (3, 7, 9), dtype=torch.uint8)
    x = img.float() / 255
    mean = torch.tensor([0.485, 0.456, 0.406])
    std = torch.tensor([0.229, 0.224, 0.225])
    normed = (x - mean[:, None, None]) / std[:, None, None]
    n2 = x.clone()
    n2.sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1))
    log(normed.equal(n2), normed[0, 0])
    log(img.flip(-1)[0, 0], img.flip(-2)[0, :, 0], torch.flip(img, [-2, -1]).stride())
    h, w = img.shape[-2:]
    th, tw = 4, 5
    top = int(round((h - th) / 2.0))
    left = int(round((w - tw) / 2.0))
    crop = img[..., top:top + th, left:left + tw]
    log(top, left, crop.shape, crop.stride(), crop.is_contiguous(), crop[1])
    padded = F.pad(img.float(), [2, 2, 1, 1], mode="reflect")
    log(padded.shape, padded[0, :3])
    padded = F.pad(img.unsqueeze(0).float(), [1, 1, 1, 1], mode="replicate")
    log(padded[0, 0, :2])
    gray = (0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]).unsqueeze(0)
    log(gray[0, 0])
    u8 = (gray * 255).clamp(0, 255).to(torch.uint8)
    log(u8[0, 0], u8.dtype)
    b = 1.3
    log(((x * b).clamp(0, 1) * 255).round().to(torch.uint8)[0, 0])
    r = F.interpolate(x.unsqueeze(0), size=(4, 5), mode="bilinear", align_corners=False,
                      antialias=True)
    log(r.shape, r[0, 0])
    r = F.interpolate(img.unsqueeze(0), size=(5, 6), mode="nearest")
    log(r.dtype, r[0, 0])
    r = F.interpolate(img.unsqueeze(0), size=(5, 6), mode="nearest-exact")
    log(r[0, 0])
    r = F.interpolate(x.unsqueeze(0), scale_factor=0.5, mode="bicubic", align_corners=False,
                      antialias=True, recompute_scale_factor=True)
    log(r.shape, r[0, 1])
    r = F.interpolate(x.unsqueeze(0), scale_factor=1.7, mode="bilinear")
    log(r.shape, r[0, 2, 0])
    r = F.interpolate(x.unsqueeze(0), scale_factor=1.7, mode="bilinear",
                      recompute_scale_factor=True)
    log(r.shape, r[0, 2, 0])
    _err(log, lambda: F.interpolate(img.unsqueeze(0), size=(5, 6), mode="bilinear"))
    _err(log, lambda: F.interpolate(x, size=(2, 2), mode="bilinear"))
    _err(log, lambda: F.interpolate(x.unsqueeze(0), size=(4, 5), mode="nearest",
                                    antialias=True))


@program(tol=1e-5)
def tv_affine_grid_sample_rotations(torch, log):
    F = torch.nn.functional
    import math
    x = torch.arange(2 * 1 * 5 * 6, dtype=torch.float32).reshape(2, 1, 5, 6)
    angle = math.radians(30)
    theta = torch.tensor([[math.cos(angle), -math.sin(angle), 0.1],
                          [math.sin(angle), math.cos(angle), -0.2]]).unsqueeze(0).repeat(2, 1, 1)
    for ac in (False, True):
        grid = F.affine_grid(theta, list(x.shape), align_corners=ac)
        log(ac, grid.shape, grid.stride(), grid[0, 0, :2])
        for mode in ("bilinear", "nearest", "bicubic"):
            for pm in ("zeros", "border", "reflection"):
                out = F.grid_sample(x, grid, mode=mode, padding_mode=pm, align_corners=ac)
                log(mode, pm, out[0, 0])
    g3 = F.affine_grid(torch.eye(3, 4).unsqueeze(0), [1, 1, 2, 3, 4], align_corners=False)
    log(g3.shape, g3[0, 0, 0])
    xd = torch.randn(1, 1, 2, 3, 4)
    log(F.grid_sample(xd, g3, align_corners=False).sub(xd).abs().max() < 1e-5)
    _err(log, lambda: F.affine_grid(theta, [2, 1, 5], align_corners=False))
    _err(log, lambda: F.affine_grid(theta[:, :1], [2, 1, 5, 6], align_corners=False))
    _err(log, lambda: F.grid_sample(x, grid, mode="area", align_corners=False))
    _err(log, lambda: F.grid_sample(x, grid, padding_mode="circular", align_corners=False))
    _err(log, lambda: F.grid_sample(x, grid[:1], align_corners=False))
    ident = torch.tensor([[[1.0, 0, 0], [0, 1, 0]]])
    g = F.affine_grid(ident, [1, 1, 3, 3])
    log(g[0, :, :, 0])


@program()
def tv_box_ops_plain_torch(torch, log):
    def box_area(b):
        return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])

    def box_iou(b1, b2):
        a1, a2 = box_area(b1), box_area(b2)
        lt = torch.max(b1[:, None, :2], b2[:, :2])
        rb = torch.min(b1[:, None, 2:], b2[:, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[:, :, 0] * wh[:, :, 1]
        union = a1[:, None] + a2 - inter
        return inter / union

    def nms(boxes, scores, thr):
        order = scores.argsort(descending=True)
        keep = []
        while order.numel() > 0:
            i = order[0]
            keep.append(i.item())
            if order.numel() == 1:
                break
            ious = box_iou(boxes[i][None], boxes[order[1:]])[0]
            order = order[1:][ious <= thr]
        return torch.tensor(keep, dtype=torch.int64)

    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30],
                          [0, 0, 10, 10], [21, 19, 29, 31]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.9, 0.95])
    log(box_iou(boxes, boxes))
    log(nms(boxes, scores, 0.5), nms(boxes, scores, 0.0), nms(boxes[:0], scores[:0], 0.5))
    cxcywh = torch.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2,
                          boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], dim=-1)
    cx, cy, w, h = cxcywh.unbind(-1)
    back = torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)
    log(back.equal(boxes), cxcywh.stride())
    ib = boxes.to(torch.int32)
    log(box_area(ib).dtype, box_iou(ib, ib[:2]).dtype, box_iou(ib, ib[:2]))
    keep = (boxes[:, 2] - boxes[:, 0] >= 9) & (boxes[:, 3] - boxes[:, 1] >= 11)
    log(torch.where(keep)[0], keep.nonzero().squeeze(1), keep.nonzero(as_tuple=True))
    clipped = boxes.clone()
    clipped[:, 0::2] = clipped[:, 0::2].clamp(min=0, max=25)
    clipped[:, 1::2].clamp_(min=2, max=24)
    log(clipped)
    offsets = torch.tensor([0, 1, 0, 1, 0]).to(boxes) * (boxes.max() + 1)
    log(offsets, (boxes + offsets[:, None])[:, :2])
    sc, idx = scores.sort(descending=True, stable=True)
    log(sc, idx)
    print(box_iou(boxes, boxes[:2]))


# ---- timm ----------------------------------------------------------------------------------

@program(tol=1e-6)
def timm_ema_lerp_mul_add_and_state(torch, log):
    nn = torch.nn
    import copy
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    decay = 0.9
    for step in range(3):
        out = model(torch.randn(8, 4))
        loss = out.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for ema_v, model_v in zip(ema.state_dict().values(), model.state_dict().values()):
                if ema_v.dtype.is_floating_point:
                    if step % 2:
                        ema_v.lerp_(model_v, weight=1.0 - decay)
                    else:
                        ema_v.mul_(decay).add_(model_v, alpha=1.0 - decay)
                else:
                    ema_v.copy_(model_v)
        log(step, [v for v in ema.state_dict().values()])
    with torch.no_grad():
        ep = list(ema.parameters())
        mp = list(model.parameters())
        torch._foreach_lerp_(ep, mp, 0.5)
        torch._foreach_mul_(ep, 0.99)
        torch._foreach_add_(ep, mp, alpha=0.01)
    log(ep)
    w = torch.tensor([0.1, 0.9])
    a = torch.zeros(2)
    log(a.lerp(torch.ones(2), w), torch.lerp(a, torch.ones(2), 0.25))
    _err(log, lambda: a.lerp_(torch.ones(2, dtype=torch.float64), 0.5))
    _err(log, lambda: a.lerp_(torch.ones(2), torch.tensor(0.5, dtype=torch.float64)))
    log(ema.training, ema[1].num_batches_tracked, model[1].num_batches_tracked)


@program(tol=1e-6)
def timm_drop_path_layer_scale_block(torch, log):
    nn = torch.nn

    def drop_path(x, drop_prob=0.0, training=False, scale_by_keep=True):
        if drop_prob == 0.0 or not training:
            return x
        keep_prob = 1 - drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
        if keep_prob > 0.0 and scale_by_keep:
            random_tensor.div_(keep_prob)
        return x * random_tensor

    class DropPath(nn.Module):
        def __init__(self, drop_prob=0.0, scale_by_keep=True):
            super().__init__()
            self.drop_prob = drop_prob
            self.scale_by_keep = scale_by_keep

        def forward(self, x):
            return drop_path(x, self.drop_prob, self.training, self.scale_by_keep)

        def extra_repr(self):
            return f"drop_prob={round(self.drop_prob, 3):0.3f}"

    class LayerScale(nn.Module):
        def __init__(self, dim, init_values=1e-5, inplace=False):
            super().__init__()
            self.inplace = inplace
            self.gamma = nn.Parameter(init_values * torch.ones(dim))

        def forward(self, x):
            return x.mul_(self.gamma) if self.inplace else x * self.gamma

    class Block(nn.Module):
        def __init__(self, dim, dp):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim, eps=1e-6)
            self.mlp = nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(approximate="tanh"),
                                     nn.Dropout(0.0), nn.Linear(dim * 2, dim))
            self.ls1 = LayerScale(dim, 0.1)
            self.drop_path1 = DropPath(dp) if dp > 0.0 else nn.Identity()

        def forward(self, x):
            return x + self.drop_path1(self.ls1(self.mlp(self.norm1(x))))

    dpr = [x.item() for x in torch.linspace(0, 0.3, 3)]
    log(dpr)
    blocks = nn.Sequential(*[Block(6, dpr[i]) for i in range(3)])
    print(blocks)
    x = torch.randn(4, 5, 6, requires_grad=True)
    y = blocks(x)
    y.sum().backward()
    log(y, x.grad, blocks[2].ls1.gamma.grad)
    blocks.eval()
    log(blocks(x.detach()))
    t = torch.ones(4, 3)
    log(drop_path(t, 0.5, True, False), drop_path(t, 1.0, True))
    ls = LayerScale(3, inplace=True)
    z = torch.ones(2, 3, requires_grad=True)
    _err(log, lambda: ls(z))
    log(ls(torch.ones(2, 3)))


@program()
def timm_trunc_normal_and_param_groups(torch, log):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.zeros(1, 4, 6))
            self.cls_token = nn.Parameter(torch.zeros(1, 1, 6))
            self.proj = nn.Conv2d(3, 6, 2, 2)
            self.norm = nn.LayerNorm(6)
            self.head = nn.Linear(6, 3)
            self.bn = nn.BatchNorm1d(6)

        def no_weight_decay(self):
            return {"pos_embed", "cls_token"}

    net = Net()
    nn.init.trunc_normal_(net.pos_embed, std=0.02)
    nn.init.trunc_normal_(net.cls_token, std=0.02, a=-0.01, b=0.01)
    nn.init.trunc_normal_(net.head.weight, std=0.02)
    nn.init.zeros_(net.head.bias)
    log(net.pos_embed, net.cls_token, net.head.weight.abs().max() <= 0.04)
    decay, no_decay = [], []
    skip = net.no_weight_decay()
    for name, param in net.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim <= 1 or name.endswith(".bias") or name in skip:
            no_decay.append(name)
        else:
            decay.append(name)
    log(decay, no_decay)
    params = dict(net.named_parameters())
    groups = [{"params": [params[n] for n in no_decay], "weight_decay": 0.0},
              {"params": [params[n] for n in decay], "weight_decay": 0.05}]
    opt = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.999))
    print(opt)
    log([len(g["params"]) for g in opt.param_groups], opt.defaults)
    sd = opt.state_dict()
    log(sd["param_groups"])
    _err(log, lambda: torch.optim.AdamW([{"params": [params["head.bias"]]},
                                         {"params": [params["head.bias"]]}]))
    _err(log, lambda: torch.optim.AdamW(params["head.bias"]))
    _err(log, lambda: torch.optim.AdamW([], lr=1e-3))
    _err(log, lambda: torch.optim.AdamW(net.parameters(), lr=-1))
    _err(log, lambda: torch.optim.AdamW(net.parameters(), betas=(1.0, 0.9)))
    _err(log, lambda: torch.optim.AdamW(net.parameters(), weight_decay=-0.1))
    _err(log, lambda: torch.optim.AdamW(net.parameters(), eps=-1e-8))


# ---- schedulers, jit, seeding -------------------------------------------------------------

@program()
def sched_onecycle_three_phase_linear_state_and_errors(torch, log):
    nn = torch.nn
    m = nn.Linear(2, 2)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    s = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=10, three_phase=True,
                                            anneal_strategy="linear")
    for i in range(10):
        opt.step(); s.step()
        log(i, s.get_last_lr(), opt.param_groups[0]["betas"], s.last_epoch)
    sd = s.state_dict()
    log(sorted(sd))
    print({k: v for k, v in sd.items() if k not in ("_schedule_phases",)})
    print(sd.get("_schedule_phases"))
    _err(log, lambda: s.step())
    s2 = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[0.01], epochs=2, steps_per_epoch=3)
    s2.load_state_dict(sd)
    log(s2.last_epoch, s2.total_steps)
    _err(log, lambda: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1))
    _err(log, lambda: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=-1))
    OneCycleLR = torch.optim.lr_scheduler.OneCycleLR
    _err(log, lambda: OneCycleLR(opt, max_lr=0.1, total_steps=5, anneal_strategy="exp"))
    _err(log, lambda: OneCycleLR(opt, max_lr=0.1, total_steps=5, pct_start=1.5))
    _err(log, lambda: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.2], total_steps=5))
    _err(log, lambda: OneCycleLR(opt, max_lr=0.1, epochs=0, steps_per_epoch=3))
    o2 = torch.optim.SGD(m.parameters(), lr=0.1)
    _err(log, lambda: OneCycleLR(o2, max_lr=0.1, total_steps=5).total_steps)
    OneCycleLR(o2, max_lr=0.1, total_steps=5, cycle_momentum=False)
    log(o2.param_groups[0].keys().__len__(), sorted(o2.param_groups[0]))


@program()
def sched_cosine_warm_restarts_fractional_epochs(torch, log):
    m = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    s = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=1e-3)
    iters = 4
    for epoch in range(4):
        for i in range(iters):
            opt.step()
            s.step(epoch + i / iters)
            log(epoch, i, s.get_last_lr(), s.T_cur, s.T_i, s.last_epoch)
    s.step()
    log(s.get_last_lr(), s.T_cur, s.last_epoch)
    print(s.state_dict())
    _err(log, lambda: s.step(-1))
    _err(log, lambda: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0))
    _err(log, lambda: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0))
    _err(log, lambda: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2.0))
    _err(log, lambda: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1.5))
    _err(log, lambda: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, eta_min="a"))


@program()
def sched_sequential_lambda_chained_state_round_trip(torch, log):
    m = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD([{"params": [m.weight]}, {"params": [m.bias], "lr": 0.5}], lr=0.1)
    warm = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=[lambda e: (e + 1) / 3, lambda e: 1.0])
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    seq = torch.optim.lr_scheduler.SequentialLR(opt, schedulers=[warm, cos], milestones=[3])
    for i in range(8):
        opt.step(); seq.step()
        log(i, seq.get_last_lr(), [g["lr"] for g in opt.param_groups])
    sd = seq.state_dict()
    print(sd)
    seq2_opt = torch.optim.SGD([{"params": [m.weight]}, {"params": [m.bias], "lr": 0.5}], lr=0.1)
    w2 = torch.optim.lr_scheduler.LambdaLR(seq2_opt,
                                           lr_lambda=[lambda e: (e + 1) / 3, lambda e: 1.0])
    c2 = torch.optim.lr_scheduler.CosineAnnealingLR(seq2_opt, T_max=4)
    s2 = torch.optim.lr_scheduler.SequentialLR(seq2_opt, schedulers=[w2, c2], milestones=[3])
    s2.load_state_dict(sd)
    log(s2.last_epoch, s2.get_last_lr(), s2._milestones)
    _err(log, lambda: torch.optim.lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[3, 4]))
    _err(log, lambda: torch.optim.lr_scheduler.SequentialLR(opt, [], milestones=[]))
    o3 = torch.optim.SGD(m.parameters(), lr=0.1)
    c3 = torch.optim.lr_scheduler.ExponentialLR(o3, 0.9)
    _err(log, lambda: torch.optim.lr_scheduler.SequentialLR(opt, [warm, c3], milestones=[3]))
    _err(log, lambda: torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=[lambda e: 1.0]))
    lam = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5 ** e)
    log(lam.state_dict())
    S = torch.optim.lr_scheduler
    ch = S.ChainedScheduler([S.ConstantLR(opt, factor=0.5, total_iters=2),
                             S.ExponentialLR(opt, gamma=0.9)])
    for i in range(3):
        opt.step(); ch.step(); log(ch.get_last_lr())
    print(ch.state_dict())


@program()
def jit_script_trace_ignore_and_compiler_queries(torch, log):
    nn = torch.nn
    @torch.jit.script
    def f(x: torch.Tensor, n: int = 2) -> torch.Tensor:
        return x * n + 1
    log(f(torch.ones(2)), f(torch.ones(2), 3))
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    tm = torch.jit.trace(m, torch.randn(1, 3))
    log(tm(torch.ones(1, 3)).shape)
    @torch.jit.ignore
    def g(x):
        return x + 1
    @torch.jit.unused
    def h(x):
        return x - 1
    log(g(torch.ones(1)), h(torch.ones(1)))
    log(torch.jit.is_scripting(), torch.jit.is_tracing(), torch.compiler.is_compiling())
    log(torch.compiler.is_dynamo_compiling())
    @torch.compiler.disable
    def k(x):
        return x * 2
    log(k(torch.ones(2)))
    @torch.jit.export
    def e(x):
        return x
    log(e(3))
    log(torch.jit.annotate(list, []), torch.jit.Final, type(torch.jit.Attribute(3, int)).__name__)
    x = torch.jit.wait(torch.jit.fork(lambda a: a + 1, torch.ones(2)))
    log(x)
    torch.jit.trace(m, torch.randn(1, 3), check_inputs=[(torch.randn(2, 3),), (torch.ones(1, 3),)])
    torch.jit.trace(m, torch.randn(1, 3), check_trace=False)
    torch.jit.trace_module(m, {"forward": torch.randn(2, 3)})
    torch.jit.trace(lambda t: t * 2, torch.randn(2))
    torch.jit.trace(lambda t: t * 2, torch.randn(2), check_inputs=[])
    a = torch.jit.Attribute(3, int)
    log(a, a.value, a.type is int, type(a).__module__, type(a).__name__, a._fields)

    class Scripted(torch.jit.ScriptModule):
        def __init__(self):
            super().__init__()
            self.scale = torch.jit.Attribute(2.5, float)

        @torch.jit.script_method
        def forward(self, x):
            return x * self.scale

    sm = Scripted()
    log(sm.scale, sm(torch.ones(2)))


@program()
def deterministic_mode_fills_and_debug_modes(torch, log):
    log(torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled())
    torch.use_deterministic_algorithms(True)
    try:
        log(torch.are_deterministic_algorithms_enabled(), torch.get_deterministic_debug_mode())
        e = torch.empty(3)
        log(e)
        log(torch.empty(2, dtype=torch.int64), torch.empty(2, dtype=torch.bool),
            torch.empty(2, dtype=torch.uint8))
        log(torch.empty_like(torch.ones(2)), torch.ones(2).new_empty(2))
        t = torch.ones(2); t.resize_(4)
        log(t)
        log(torch.zeros(3).index_add_(0, torch.tensor([0, 0]), torch.ones(2)))
        log(torch.zeros(3).scatter_add_(0, torch.tensor([0, 0]), torch.ones(2)))
        log(torch.zeros(3).index_put_((torch.tensor([0, 0]),), torch.ones(2), accumulate=True))
        log(torch.zeros(3).put_(torch.tensor([0, 0]), torch.ones(2), accumulate=True))
        log(torch.kthvalue(torch.tensor([3., 1, 2]), 2))
        log(torch.bincount(torch.tensor([0, 1, 1])))
    finally:
        torch.use_deterministic_algorithms(False)
    torch.use_deterministic_algorithms(True, warn_only=True)
    log(torch.is_deterministic_algorithms_warn_only_enabled(), torch.get_deterministic_debug_mode())
    torch.set_deterministic_debug_mode("default")
    log(torch.get_deterministic_debug_mode())
    torch.set_deterministic_debug_mode(1)
    log(torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled())
    _err(log, lambda: torch.set_deterministic_debug_mode("foo"))
    _err(log, lambda: torch.set_deterministic_debug_mode(3))
    _err(log, lambda: torch.use_deterministic_algorithms("yes"))
    torch.set_deterministic_debug_mode(0)
    log(torch.are_deterministic_algorithms_enabled())
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    log(torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.backends.cudnn.deterministic = False
    log(torch.utils.deterministic.fill_uninitialized_memory)


@program()
def generator_objects_states_and_offsets(torch, log):
    g = torch.Generator()
    log(g.initial_seed(), g.device, repr(g.device))
    print(g.device)
    g.manual_seed(42)
    log(g.initial_seed(), torch.rand(2, generator=g), torch.randn(2, generator=g))
    log(torch.randperm(5, generator=g), torch.randint(0, 10, (3,), generator=g))
    st = g.get_state()
    log(st.dtype, st.shape)
    a = torch.rand(3, generator=g)
    g.set_state(st)
    log(torch.rand(3, generator=g).equal(a))
    g2 = torch.Generator().manual_seed(42)
    log(type(g.manual_seed(1)).__name__, g2.initial_seed())
    log(torch.normal(0.0, 1.0, (2,), generator=g2), torch.empty(3).uniform_(generator=g2))
    log(torch.empty(3).normal_(generator=g2), torch.empty(3).exponential_(generator=g2))
    log(torch.bernoulli(torch.full((4,), 0.5), generator=g2),
        torch.empty(3).random_(10, generator=g2))
    log(torch.empty(3).geometric_(0.3, generator=g2), torch.empty(3).cauchy_(generator=g2),
        torch.empty(3).log_normal_(generator=g2))
    _err(log, lambda: g.manual_seed(-1).initial_seed())
    _err(log, lambda: g.manual_seed(2**64))
    _err(log, lambda: g.manual_seed(1.5))
    _err(log, lambda: g.manual_seed("1"))
    _err(log, lambda: torch.manual_seed(-5).initial_seed())
    log(torch.manual_seed(3).initial_seed(), torch.initial_seed())
    _err(log, lambda: g.set_state(torch.zeros(3)))
    _err(log, lambda: torch.Generator(device="meta"))
    g3 = torch.Generator().manual_seed(2**63)
    log(g3.initial_seed(), torch.rand(1, generator=g3))
    g4 = torch.Generator().manual_seed(-1 + 2**64)
    log(g4.initial_seed())
    _err(log, lambda: g.graphsafe_get_state())
    _err(log, lambda: g.graphsafe_set_state(g2))
    _err(log, lambda: g.graphsafe_set_state(1))
    _err(log, lambda: g.get_offset())
    _err(log, lambda: g.set_offset(3))
    _err(log, lambda: g.set_offset(1.5))
    _err(log, lambda: torch.Generator(device="meta"))
    gc = g.clone_state()
    log(type(gc).__name__, torch.rand(1, generator=gc).equal(torch.rand(1, generator=g)))
    import random, numpy as np
    random.seed(0); np.random.seed(0)
    log(torch.random.initial_seed(), torch.default_generator.initial_seed())
    torch.random.manual_seed(5)
    log(torch.rand(1))
    with torch.random.fork_rng():
        torch.rand(3)
    log(torch.rand(1))


# ---- compile, einops, Lightning loops, casts and checkpointing ---------------------------

@program()
def compile_optimized_module_state_dict_and_modes(torch, log):
    nn = torch.nn
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    cm = torch.compile(m, backend="eager")
    log(type(cm).__name__, isinstance(cm, nn.Module), cm is m, cm._orig_mod is m)
    print(cm)
    log(list(cm.state_dict().keys()), [n for n, _ in cm.named_parameters()])
    x = torch.randn(2, 3)
    log(cm(x).equal(m(x)), cm.training)
    cm.eval()
    log(m.training, cm.training)
    sd = cm.state_dict()
    m2 = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    r = m2.load_state_dict(sd, strict=False)
    log(r.missing_keys, r.unexpected_keys)
    print(r)
    clean = {k.removeprefix("_orig_mod."): v for k, v in sd.items()}
    log(str(m2.load_state_dict(clean)))
    @torch.compile(backend="eager", fullgraph=True, dynamic=False)
    def f(a, b):
        return a * b + 1
    log(f(torch.ones(2), torch.full((2,), 3.0)), type(f).__name__)
    g = torch.compile(lambda a: a.sin(), mode="reduce-overhead", backend="eager")
    log(g(torch.zeros(2)))
    _err(log, lambda: type(torch.compile(m, mode="fast", backend="eager")).__name__)
    _err(log, lambda: torch.compile(m, mode="fast"))
    _err(log, lambda: torch.compile(m, mode="fast", backend="nope"))
    _err(log, lambda: torch.compile(m, mode="default", options={"x": 1}, backend="eager"))
    _err(log, lambda: torch.compile(3))
    torch._dynamo.reset()
    torch.compiler.reset()
    m.compile(backend="eager")
    log(type(m).__name__, m(x).shape, list(m.state_dict().keys()))
    log(getattr(cm, "__wrapped__", None) is None)


@program()
def einops_like_flatten_unflatten_movedim_strides(torch, log):
    x = torch.arange(2 * 6 * 4 * 3).reshape(2, 6, 4, 3)
    # b c h w -> b (h w) c
    y = x.flatten(2).transpose(1, 2)
    log(y.shape, y.stride(), y.is_contiguous())
    z = y.transpose(1, 2).unflatten(2, (4, 3))
    log(z.equal(x), z.stride())
    h = x.unflatten(1, (2, -1))
    log(h.shape, h.stride())
    _err(log, lambda: x.unflatten(1, (4, -1)))
    _err(log, lambda: x.unflatten(1, ()))
    _err(log, lambda: x.unflatten(5, (2, 3)))
    _err(log, lambda: x.flatten(2, 1))
    _err(log, lambda: x.flatten(0, 7))
    log(torch.movedim(x, [0, 1], [-1, -2]).shape, torch.movedim(x, 1, -1).stride())
    _err(log, lambda: torch.movedim(x, [0, 0], [1, 2]))
    _err(log, lambda: torch.movedim(x, [0, 1], [1]))
    _err(log, lambda: torch.movedim(x, 0, 4))
    log(x.moveaxis(-1, 0).shape, x.swapdims(0, 3).shape, x.swapaxes(1, 2).stride())
    p = x.permute(0, 2, 3, 1)
    log(p.stride(), p.reshape(2, -1, 6).stride(), p.contiguous().stride())
    _err(log, lambda: p.view(2, -1, 6))
    _err(log, lambda: p.permute(0, 1, 2))
    _err(log, lambda: p.permute(0, 1, 2, 2))
    log(x.permute(*range(x.ndim - 1, -1, -1)).shape, x.mT.shape, x.mH.stride())
    # b (p1 p2) ... pixel-shuffle like
    img = torch.arange(1 * 8 * 2 * 2).reshape(1, 8, 2, 2)
    r = img.reshape(1, 2, 2, 2, 2, 2).permute(0, 1, 4, 2, 5, 3).reshape(1, 2, 4, 4)
    log(r.equal(torch.nn.functional.pixel_shuffle(img, 2)), r[0, 0])
    e = torch.einsum("bhqd,bhkd->bhqk", torch.ones(1, 2, 3, 4), torch.ones(1, 2, 5, 4))
    log(e.shape, e.stride())
    log(x.flatten().stride(), x[:, ::2].flatten(1).stride(), x[:, ::2].flatten(2).stride())
    log(x.unsqueeze(-1).expand(-1, -1, -1, -1, 2).flatten(-2).stride())
    log(torch.flatten(torch.tensor(5)).shape)
    try:
        torch.tensor(5).unflatten(0, (1,))
    except RuntimeError as e:       # (torch's message goes on with its C++ stack)
        log(str(e).splitlines()[:2])
    log(x.view(2, 6, -1).stride(), x.T.shape if x.ndim == 2 else x.permute(3, 2, 1, 0).shape)


@program(tol=_TRAIN)
def pl_accumulation_clip_total_norm_and_foreach(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    accumulate = 3
    data = [(torch.randn(5, 4), torch.randn(5, 1)) for _ in range(6)]
    for i, (x, y) in enumerate(data):
        loss = nn.functional.mse_loss(model(x), y) / accumulate
        loss.backward()
        if (i + 1) % accumulate == 0:
            norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
            log(i, norm, norm.dtype, norm.shape)
            v = nn.utils.clip_grad_value_(model.parameters(), clip_value=0.05)
            log(v)
            opt.step()
            opt.zero_grad(set_to_none=True)
            log([p.grad for p in model.parameters()])
    ps = list(model.parameters())
    for p in ps:
        p.grad = torch.ones_like(p)
    grads = [p.grad for p in ps]
    tn = nn.utils.get_total_norm(grads, norm_type=2.0)
    log(tn)
    nn.utils.clip_grads_with_norm_(ps, max_norm=1.0, total_norm=tn)
    log(ps[0].grad[0])
    log(nn.utils.clip_grad_norm_(ps, 1.0, norm_type="inf"),
        nn.utils.clip_grad_norm_(ps, 1.0, norm_type=1))
    log(nn.utils.clip_grad_norm_([], 1.0))
    ps[0].grad[0, 0] = float("nan")
    _err(log, lambda: nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True))
    log(nn.utils.clip_grad_norm_(ps, 1.0, foreach=False))
    log(nn.utils.clip_grad_norm_(ps[1], 1.0))
    t = torch.ones(3, requires_grad=True)
    log(nn.utils.clip_grad_norm_(t, 1.0))
    _err(log, lambda: nn.utils.clip_grad_norm_(ps, 1.0, norm_type=0))
    _err(log, lambda: nn.utils.clip_grad_norm_(ps, 1.0, norm_type=-1))
    _err(log, lambda: nn.utils.get_total_norm([torch.ones(2), torch.ones(2, dtype=torch.float64)]))


@program()
def hf_resize_token_embeddings_tied_and_padded(torch, log):
    nn = torch.nn
    torch.manual_seed(4)
    class LM(nn.Module):
        def __init__(self, V, D):
            super().__init__()
            self.embed_tokens = nn.Embedding(V, D, padding_idx=0)
            self.lm_head = nn.Linear(D, V, bias=False)
            self.lm_head.weight = self.embed_tokens.weight
        def get_input_embeddings(self):
            return self.embed_tokens
        def set_input_embeddings(self, e):
            self.embed_tokens = e
        def resize_token_embeddings(self, new_num, pad_to_multiple_of=None):
            old = self.get_input_embeddings()
            if pad_to_multiple_of is not None:
                k = pad_to_multiple_of
                new_num = ((new_num + k - 1) // k) * k
            new = nn.Embedding(new_num, old.embedding_dim, device=old.weight.device,
                               dtype=old.weight.dtype)
            n = min(old.num_embeddings, new_num)
            with torch.no_grad():
                new.weight.data[:n, :] = old.weight.data[:n, :]
                if new_num > old.num_embeddings:
                    mean = old.weight.data.mean(0)
                    new.weight.data[n:] = mean
            new.padding_idx = old.padding_idx
            self.set_input_embeddings(new)
            self.lm_head.weight = new.weight
            return new
    m = LM(6, 4)
    print(m)
    log(m.embed_tokens.weight[0], m.lm_head.weight.shape)
    e = m.resize_token_embeddings(9, pad_to_multiple_of=4)
    print(m, e)
    log(e.weight.shape, e.weight[-1], e.weight[:6].equal(m.lm_head.weight[:6]), e.padding_idx)
    log(list(m.state_dict().keys()), len(list(m.parameters())))
    out = m.lm_head(m.embed_tokens(torch.tensor([[1, 0, 7]])))
    out.sum().backward()
    log(out.shape, m.embed_tokens.weight.grad[0],
        m.embed_tokens.weight.grad is m.lm_head.weight.grad)
    m.resize_token_embeddings(3)
    log(m.embed_tokens.weight.shape, m.lm_head.out_features, m.lm_head.weight.shape)
    _err(log, lambda: m.lm_head(torch.ones(2, 4)).shape)
    _err(log, lambda: m.embed_tokens(torch.tensor([5])))
    _err(log, lambda: m.embed_tokens(torch.tensor([1.0])))
    _err(log, lambda: nn.Embedding(3, 2, padding_idx=3))
    _err(log, lambda: nn.Embedding(3, 2, padding_idx=-4))
    print(nn.Embedding(3, 2, padding_idx=-1), nn.Embedding(3, 2, max_norm=1.0, sparse=True))


@program()
def hf_model_half_bfloat16_and_buffer_casts(torch, log):
    nn = torch.nn
    m = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3), nn.BatchNorm1d(3))
    m.register_buffer("steps", torch.tensor(3))
    m.register_buffer("scale", torch.tensor(0.5))
    m.half()
    log([(k, v.dtype) for k, v in m.state_dict().items()])
    x = torch.randn(2, 4)
    _err(log, lambda: m(x))
    y = m(x.half())
    log(y.dtype, y)
    m.to(torch.bfloat16)
    log(m[0].weight.dtype, m.scale.dtype, m.steps.dtype, m[2].num_batches_tracked.dtype)
    m.to(dtype=torch.float64)
    log(m[0].weight.dtype, m[2].running_mean.dtype)
    _err(log, lambda: m.to(torch.int32)[0].weight.dtype)
    m.type(torch.float32)
    log(m[0].weight.dtype, m.steps.dtype)
    m.double()
    log(m.scale.dtype, m.steps.dtype)
    m.float()
    p = m[0].weight
    log(p.half().dtype, p.half().requires_grad, p.half().is_leaf, p.half().grad_fn.name())
    _err(log, lambda: m.to(torch.complex64)[0].weight.dtype)
    log(m[0].weight.dtype)
    w = torch.randn(3, 3)
    log(w.half().float().sub(w).abs().max() < 1e-2, w.to(torch.float16).dtype)
    log(torch.tensor(70000.0).half(), torch.tensor(1e-8).half(),
        torch.tensor(-70000.).to(torch.bfloat16))
    print(torch.tensor([1.5, 70000.0, 1e-8]).half(), torch.tensor([1.0, 2 ** -24]).half())
    print(torch.tensor([3.14159, 1e10]).bfloat16())


@program(tol=_TRAIN)
def hf_checkpointed_layers_with_dropout_and_kwargs(torch, log):
    import importlib; importlib.import_module(torch.__name__ + '.utils.checkpoint')
    nn = torch.nn
    checkpoint = torch.utils.checkpoint.checkpoint
    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.drop = nn.Dropout(0.5)
        def forward(self, x, scale=1.0, mask=None):
            h = self.drop(torch.tanh(self.fc(x))) * scale
            if mask is not None:
                h = h.masked_fill(mask, 0.0)
            return h + x
    layers = nn.ModuleList([Layer() for _ in range(3)])
    x = torch.randn(2, 4, requires_grad=True)
    mask = torch.tensor([[False, True, False, False]] * 2)
    torch.manual_seed(10)
    h = x
    for layer in layers:
        h = checkpoint(layer, h, 2.0, mask=mask, use_reentrant=False)
    h.sum().backward()
    g1 = [p.grad.clone() for p in layers.parameters()], x.grad.clone()
    log(h, g1)
    for p in layers.parameters():
        p.grad = None
    x.grad = None
    torch.manual_seed(10)
    h2 = x
    for layer in layers:
        h2 = layer(h2, 2.0, mask=mask)
    h2.sum().backward()
    log(h2.equal(h), [p.grad.equal(q) for p, q in zip(layers.parameters(), g1[0])],
        x.grad.equal(g1[1]))
    torch.manual_seed(10)
    h3 = checkpoint(layers[0], x, use_reentrant=True)
    log(h3.grad_fn.name(), h3.requires_grad)
    h4 = checkpoint(layers[0], x, use_reentrant=False, preserve_rng_state=False)
    h4.sum().backward()
    log(h4.grad_fn.name())
    with torch.no_grad():
        h5 = checkpoint(layers[0], x, use_reentrant=False)
    log(h5.requires_grad)
    _err(log, lambda: checkpoint(layers[0], x, use_reentrant=True, mask=mask))
    _err(log, lambda: checkpoint(layers[0], x, foo=1, use_reentrant=False))
    checkpoint_sequential = _module(torch, "utils.checkpoint").checkpoint_sequential
    seq = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU())
    out = checkpoint_sequential(seq, 2, x, use_reentrant=False)
    log(out.equal(seq(x)), out.grad_fn.name())


# ---- attention, masks, detection and augmentation ----------------------------------------

@program(tol=1e-5)
def hf_sdpa_gqa_causal_and_bool_float_masks(torch, log):
    F = torch.nn.functional
    torch.manual_seed(0)
    q = torch.randn(2, 4, 5, 8)
    k = torch.randn(2, 2, 5, 8)
    v = torch.randn(2, 2, 5, 8)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    log(out.shape, out.stride())
    kr = k.repeat_interleave(2, dim=1)
    vr = v[:, :, None].expand(2, 2, 2, 5, 8).reshape(2, 4, 5, 8)
    ref = F.scaled_dot_product_attention(q, kr, vr, is_causal=True)
    log((out - ref).abs().max() < 1e-6)
    mask = torch.ones(5, 5, dtype=torch.bool).tril()
    fmask = torch.zeros(5, 5).masked_fill(~mask, torch.finfo(torch.float32).min)
    a = F.scaled_dot_product_attention(q, kr, vr, attn_mask=fmask)
    b = F.scaled_dot_product_attention(q, kr, vr, attn_mask=mask)
    log((a - b).abs().max() < 1e-6, (a - ref).abs().max() < 1e-6)
    _err(log, lambda: F.scaled_dot_product_attention(q, k, v))
    _err(log, lambda: F.scaled_dot_product_attention(q, kr, vr, attn_mask=mask, is_causal=True))
    _err(log, lambda: F.scaled_dot_product_attention(q, kr, vr, attn_mask=mask.int()))
    _err(log, lambda: F.scaled_dot_product_attention(q.half(), kr, vr))
    _err(log, lambda: F.scaled_dot_product_attention(q[0, 0], kr[0, 0], vr[0, 0],
                                                     dropout_p=0.0).shape)
    qh, kh, vh = q.half(), kr.half(), vr.half()
    o16 = F.scaled_dot_product_attention(qh, kh, vh, is_causal=True)
    log(o16.dtype, (o16.float() - ref).abs().max() < 5e-3)
    s = F.scaled_dot_product_attention(q, kr, vr, scale=0.5, is_causal=True)
    w = (q @ kr.transpose(-1, -2) * 0.5).masked_fill(~mask, float("-inf")).softmax(-1)
    log((s - w @ vr).abs().max() < 1e-5)
    pad = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    m4 = pad[:, None, None, :] & mask[None, None]
    o = F.scaled_dot_product_attention(q, kr, vr, attn_mask=m4)
    log(o.shape, torch.isnan(o).any())
    allmask = torch.zeros(5, 5, dtype=torch.bool)
    log(F.scaled_dot_product_attention(q, kr, vr, attn_mask=allmask)[0, 0, 0])


@program()
def hf_position_ids_cu_seqlens_and_eos_search(torch, log):
    attention_mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 1, 1, 1, 1]])
    position_ids = attention_mask.long().cumsum(-1) - 1
    position_ids.masked_fill_(attention_mask == 0, 1)
    log(position_ids)
    log(position_ids[:, -1:], (attention_mask.sum(-1) - 1))
    cache_position = torch.arange(3, 5)
    log(cache_position, cache_position[-1:] + 1)
    left = attention_mask.argmax(-1)
    log(left, attention_mask.flip(-1).argmax(-1))
    seq_lens = attention_mask.sum(dim=-1, dtype=torch.int32)
    log(seq_lens, seq_lens.dtype, torch.cumsum(seq_lens, 0, dtype=torch.int32))
    cu = torch.nn.functional.pad(torch.cumsum(seq_lens, dim=0, dtype=torch.int32), (1, 0))
    log(cu, cu.dtype)
    idx = torch.nonzero(attention_mask.flatten(), as_tuple=False).flatten()
    log(idx, seq_lens.max().item())
    new_mask = torch.cat([attention_mask, attention_mask.new_ones((attention_mask.shape[0], 1))],
                         dim=-1)
    log(new_mask, new_mask.dtype)
    bm = attention_mask.repeat_interleave(2, dim=0)
    log(bm.shape, bm[:3])
    exp = attention_mask[:, None, :].expand(-1, 2, -1).reshape(-1, 5)
    log(exp.equal(bm), exp.stride())
    eos = torch.tensor([[5, 2, 7, 2], [1, 1, 1, 1]])
    is_eos = eos == 2
    first = torch.where(is_eos.any(-1), is_eos.int().argmax(-1), torch.tensor(eos.shape[1]))
    log(first, is_eos.int().argmax(-1))
    token_type = torch.zeros_like(attention_mask)
    log(token_type.dtype, token_type.sum())
    ext = attention_mask[:, None, None, :].to(torch.float16)
    log(((1.0 - ext) * -10000.0).dtype, ((1.0 - ext) * -10000.0)[0])


@program()
def tv_batched_nms_per_class_offsets_and_topk(torch, log):
    torch.manual_seed(5)
    boxes = torch.rand(12, 4) * 20
    boxes[:, 2:] += boxes[:, :2]
    scores = torch.rand(12, 3)
    num_classes = 3
    labels = torch.arange(num_classes).view(1, -1).expand_as(scores)
    log(labels.stride())
    boxes_r = boxes[:, None].expand(12, num_classes, 4).reshape(-1, 4)
    scores_r = scores.reshape(-1)
    labels_r = labels.reshape(-1)
    keep = torch.where(scores_r > 0.3)[0]
    b, s, l = boxes_r[keep], scores_r[keep], labels_r[keep]
    log(keep, l)
    max_coord = b.max()
    offsets = l.to(b) * (max_coord + torch.tensor(1).to(b))
    bo = b + offsets[:, None]
    def nms(bx, sc, thr):
        x1, y1, x2, y2 = bx.unbind(1)
        areas = (x2 - x1) * (y2 - y1)
        order = sc.argsort(descending=True)
        keep = []
        while order.numel():
            i = order[0]
            keep.append(i)
            xx1 = torch.maximum(x1[i], x1[order[1:]])
            yy1 = torch.maximum(y1[i], y1[order[1:]])
            xx2 = torch.minimum(x2[i], x2[order[1:]])
            yy2 = torch.minimum(y2[i], y2[order[1:]])
            inter = (xx2 - xx1).clamp(min=0) * (yy2 - yy1).clamp(min=0)
            iou = inter / (areas[i] + areas[order[1:]] - inter)
            order = order[1:][iou <= thr]
        return torch.stack(keep) if keep else torch.empty(0, dtype=torch.long)
    k = nms(bo, s, 0.5)
    log(k, k.dtype, s[k], l[k])
    topk = s[k].topk(min(5, k.numel()))
    log(topk, topk.values.dtype)
    print(topk)
    log(nms(torch.empty(0, 4), torch.empty(0), 0.5))
    sc, ix = scores.max(dim=1)
    log(sc, ix, scores.amax(1), scores.argmax(1, keepdim=True))
    flat_idx = scores.flatten().topk(4).indices
    log(flat_idx // 3, flat_idx % 3, torch.div(flat_idx, 3, rounding_mode="floor"))
    log(torch.unravel_index(flat_idx, scores.shape))


@program(tol=_TRAIN)
def tv_resnext_bottleneck_groups_dilation_channels_last(torch, log):
    nn = torch.nn
    class Bottleneck(nn.Module):
        expansion = 4
        def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                     dilation=1):
            super().__init__()
            width = int(planes * (base_width / 64.0)) * groups
            self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride, padding=dilation, groups=groups,
                                   bias=False, dilation=dilation)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, planes * self.expansion, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * self.expansion)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample
        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            return self.relu(out)
    ds = nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))
    blk = Bottleneck(8, 4, stride=2, downsample=ds, groups=2, base_width=32)
    blk2 = Bottleneck(16, 4, groups=2, base_width=32, dilation=2)
    print(blk)
    x = torch.randn(2, 8, 9, 9)
    y = blk2(blk(x))
    log(y.shape, y.sum(), y[0, 0, 0])
    y.mean().backward()
    log(blk.conv2.weight.grad.shape, blk.conv2.weight.grad.sum(), blk.bn3.weight.grad)
    blk.eval(); blk2.eval()
    log(blk2(blk(x))[1, 2, 3])
    xcl = x.to(memory_format=torch.channels_last)
    ycl = blk(xcl)
    log(ycl.is_contiguous(memory_format=torch.channels_last), ycl.stride())
    log(nn.Conv2d(4, 4, 3, groups=4).weight.shape)
    _err(log, lambda: nn.Conv2d(4, 6, 3, groups=4))
    _err(log, lambda: nn.Conv2d(4, 4, 3, groups=0))
    _err(log, lambda: nn.Conv2d(4, 4, 3, padding="same", stride=2))
    _err(log, lambda: nn.Conv2d(4, 4, 3, padding="valid2"))
    _err(log, lambda: blk(torch.randn(2, 7, 9, 9)))


@program()
def tv_interpolate_area_trilinear_upsample_aliases(torch, log):
    F = torch.nn.functional
    x = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(1, 2, 3, 4)
    log(F.interpolate(x, scale_factor=(2, 1.5), mode="area"))
    log(F.interpolate(x, size=(2, 3), mode="area"))
    log(F.interpolate(x, size=(5, 7), mode="bicubic", align_corners=True)[0, 0])
    log(F.interpolate(x, size=(6, 8), mode="bicubic", antialias=True)[0, 1])
    log(F.interpolate(x[:, :, 0], size=7, mode="linear")[0])
    log(F.interpolate(x[:, :, 0], scale_factor=0.5, mode="linear", antialias=False)[0])
    v = torch.arange(8.).reshape(1, 1, 2, 2, 2)
    log(F.interpolate(v, scale_factor=2, mode="trilinear", align_corners=False)[0, 0, 1])
    log(F.interpolate(v, size=(3, 3, 3), mode="nearest")[0, 0, 2])
    log(F.interpolate(x, scale_factor=2.5, mode="nearest-exact").shape)
    log(F.upsample(x, scale_factor=2).shape)
    log(F.upsample_bilinear(x, scale_factor=2)[0, 0, 0])
    log(F.upsample_nearest(x, size=(4, 4))[0, 0])
    _err(log, lambda: F.interpolate(x, size=(2, 3), scale_factor=2))
    _err(log, lambda: F.interpolate(x))
    _err(log, lambda: F.interpolate(x, size=(2, 3, 4)))
    _err(log, lambda: F.interpolate(x, scale_factor=(2, 2, 2)))
    _err(log, lambda: F.interpolate(x, size=4, mode="linear"))
    _err(log, lambda: F.interpolate(x, size=(4, 4), mode="nearest", align_corners=True))
    _err(log, lambda: F.interpolate(x, size=(4, 4), mode="bogus"))
    _err(log, lambda: F.interpolate(x, size=(0, 4)))
    _err(log, lambda: F.interpolate(x, scale_factor=-1.0))
    u8 = torch.arange(24, dtype=torch.uint8).reshape(1, 2, 3, 4)
    log(F.interpolate(u8, size=(5, 6), mode="bilinear", antialias=True).dtype if False else 0)
    log(F.interpolate(x.double(), size=(2, 2), mode="bilinear", antialias=True).dtype)
    log(F.interpolate(x.half(), size=(2, 2), mode="bilinear"))
    log(F.interpolate(x.bfloat16(), size=(5, 5), mode="nearest").dtype)


@program()
def tv_random_resized_crop_and_color_jitter_draws(torch, log):
    torch.manual_seed(11)
    img = torch.rand(3, 8, 10)
    def random_resized_crop_params(height, width, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
        import math
        area = height * width
        log_ratio = torch.log(torch.tensor(ratio))
        for _ in range(10):
            target_area = area * torch.empty(1).uniform_(scale[0], scale[1]).item()
            aspect_ratio = torch.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()
            w = int(round(math.sqrt(target_area * aspect_ratio)))
            h = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < w <= width and 0 < h <= height:
                i = torch.randint(0, height - h + 1, size=(1,)).item()
                j = torch.randint(0, width - w + 1, size=(1,)).item()
                return i, j, h, w
        return 0, 0, height, width
    for _ in range(3):
        p = random_resized_crop_params(8, 10)
        log(p)
        i, j, h, w = p
        crop = img[:, i:i + h, j:j + w]
        r = torch.nn.functional.interpolate(crop[None], size=(4, 4), mode="bilinear",
                                            align_corners=False, antialias=True)
        log(r[0, 0])
    if torch.rand(1) < 0.5:
        img = img.flip(-1)
    log(img[0, 0, :3])
    fn_idx = torch.randperm(4)
    b = float(torch.empty(1).uniform_(0.6, 1.4))
    c = float(torch.empty(1).uniform_(0.6, 1.4))
    log(fn_idx, b, c)
    mean = img.mean(dim=(-3, -2, -1), keepdim=True)
    adj = (c * img + (1.0 - c) * mean).clamp(0, 1)
    log(adj[1, 1, :3], mean.shape)
    grayish = (0.2989 * img[0] + 0.587 * img[1] + 0.114 * img[2])
    log(grayish.mean(), torch.mean(grayish, dtype=torch.float64))
    erase_i, erase_j = torch.randint(0, 4, (2,)).tolist()
    v = torch.empty([3, 2, 2], dtype=torch.float32).normal_()
    img2 = img.clone()
    img2[..., erase_i:erase_i + 2, erase_j:erase_j + 2] = v
    log(img2[:, erase_i, erase_j], (img2 != img).sum())


# ---- half precision ----------------------------------------------------------------------

@program()
def half_and_bfloat16_reductions_norms_and_activations(torch, log):
    torch.manual_seed(0)
    for dt in (torch.float16, torch.bfloat16):
        x = (torch.randn(3, 257) * 3).to(dt)
        log(dt, x.sum(-1), x.mean(-1), x.cumsum(-1)[:, -3:], x.prod(-1))
        log(x.var(-1), x.std(-1), x.norm(dim=-1), x.logsumexp(-1))
        log(x.softmax(-1)[:, :3], x.log_softmax(-1)[:, :3], torch.softmax(x, -1,
                                                                          dtype=torch.float32)[:,
                                                                                               :2])
        log(x.cumprod(-1)[:, :4], x.amax(-1), x.argmax(-1), x.sort(-1, stable=True).indices[:, :5])
        log(x.sum(), x.mean(), x.to(torch.float32).sum().to(dt))
        log(x.topk(3, dim=-1), x.max(-1).values, x.median(-1), x.nansum(-1), x.nanmean(-1))
        log(torch.cumsum(x, 0, dtype=torch.float32)[:, :3], x.sum(-1, dtype=torch.float32))
        log(x.abs().sqrt().sum(-1), x.exp().sum(-1), (x * x).sum(-1),
            x.pow(2).mean(-1, keepdim=True))
        log(torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))
        log(torch.nn.functional.layer_norm(x, (257,))[:, :4],
            torch.nn.functional.rms_norm(x, (257,))[:, :4])
        log(torch.nn.functional.gelu(x)[:, :4], torch.nn.functional.silu(x)[:, :4],
            torch.nn.functional.gelu(x, approximate="tanh")[:, :4])


@program()
def half_and_bfloat16_matmul_addmm_einsum_linear(torch, log):
    torch.manual_seed(1)
    for dt in (torch.float16, torch.bfloat16):
        a = torch.randn(4, 37).to(dt)
        b = torch.randn(37, 5).to(dt)
        log(dt, a @ b, torch.addmm(torch.ones(5).to(dt), a, b, beta=0.5, alpha=2))
        log(torch.bmm(a[None], b[None])[0, 0], torch.einsum("ij,jk->ik", a, b)[0])
        lin = torch.nn.Linear(37, 5).to(dt)
        log(lin(a))
        log(torch.baddbmm(torch.zeros(1, 4, 5, dtype=dt), a[None], b[None], beta=0.0,
                          alpha=0.125)[0, 1])


@program()
def half_bfloat16_finfo_printing_and_state_dicts(torch, log):
    print(torch.full((2, 3), torch.finfo(torch.bfloat16).min, dtype=torch.bfloat16))
    print(torch.full((2,), torch.finfo(torch.float16).min, dtype=torch.float16))
    print(torch.tensor([0.1, 1e-5, 65504.0, float("inf")], dtype=torch.float16))
    print(torch.tensor([1.0, 2.0, 3.0], dtype=torch.bfloat16), torch.tensor([1e-3, 1e3],
                                                                            dtype=torch.bfloat16))
    print(torch.tensor([[0.1234, 5.0]], dtype=torch.float16, requires_grad=True))
    m = torch.nn.Linear(2, 2).half()
    print(m.state_dict())
    print(m.weight)
    print(torch.finfo(torch.bfloat16).min, torch.finfo(torch.float16).max,
          torch.finfo(torch.float16).eps)
    print(torch.tensor(torch.finfo(torch.float32).min))
    print(torch.tensor([torch.finfo(torch.float32).min, 0.0]))
    print(torch.tensor([-3.4028e+38, 1.0]).to(torch.float16))
    eye = torch.tensor([[True, False], [False, True]])
    print(torch.zeros(2, 2, dtype=torch.float16).masked_fill(eye, torch.finfo(torch.float16).min))
    x = torch.tensor([1.0, -2.5]).half()
    print(f"{x.sum():.3f}", f"{x.sum().item()}", repr(x.sum()))


@program(tol=1e-6)
def hf_causal_lm_shifted_cross_entropy_and_z_loss(torch, log):
    F = torch.nn.functional
    torch.manual_seed(2)
    logits = torch.randn(2, 5, 7)
    labels = torch.tensor([[1, 2, -100, 4, 5], [-100, -100, 3, 3, 0]])
    shift_logits = logits[..., :-1, :].contiguous()
    shift_labels = labels[..., 1:].contiguous()
    loss = F.cross_entropy(shift_logits.view(-1, 7), shift_labels.view(-1))
    log(loss, shift_logits.is_contiguous(), logits[..., :-1, :].is_contiguous())
    per = F.cross_entropy(shift_logits.view(-1, 7), shift_labels.view(-1), reduction="none")
    log(per, per.dtype)
    num = (shift_labels != -100).sum()
    log(per.sum() / num, num.dtype)
    log(F.cross_entropy(logits.transpose(1, 2), labels), F.cross_entropy(logits.transpose(1, 2),
                                                                         labels, reduction="sum"))
    log(F.cross_entropy(logits.half().float().view(-1, 7), labels.view(-1), label_smoothing=0.1))
    h = logits.half()
    _err(log, lambda: F.cross_entropy(h.view(-1, 7), labels.view(-1)))
    _err(log, lambda: F.cross_entropy(logits.view(-1, 7), labels.view(-1).int()))
    _err(log, lambda: F.cross_entropy(logits.view(-1, 7), labels.view(-1)[:-1]))
    _err(log, lambda: F.cross_entropy(logits.view(-1, 7), torch.tensor([7] * 10)))
    all_ignored = torch.full((10,), -100)
    log(F.cross_entropy(logits.view(-1, 7), all_ignored))
    log(F.cross_entropy(logits.view(-1, 7), all_ignored, reduction="sum"))
    lp = F.log_softmax(logits, -1)
    tok = torch.gather(lp, 2, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    log(tok * (labels != -100), (tok * (labels != -100)).sum(-1) / (labels != -100).sum(-1))
    z_loss = logits.logsumexp(-1).pow(2).mean()
    log(z_loss)
    log(F.nll_loss(lp.view(-1, 7), labels.view(-1), ignore_index=-100, reduction="mean"))
    acc = (logits.argmax(-1) == labels)[labels != -100].float().mean()
    log(acc)

@program()
def sort_and_argsort_argument_refusals_methods_and_functions(torch, log):
    x = torch.tensor([3.0, 1.0, 2.0])
    calls = [lambda: x.sort(-1, stable=True), lambda: torch.sort(x, -1, stable=True),
             lambda: x.sort(0, True, stable=True), lambda: x.sort(dim=True),
             lambda: x.sort(0, 1), lambda: x.sort(stable=1), lambda: x.argsort(0, stable=True),
             lambda: torch.argsort(x, 0, stable=True), lambda: x.argsort(dim=0.5),
             lambda: x.sort(0, descending=1), lambda: x.sort(1, 2, 3),
             lambda: torch.argsort(x, out=None), lambda: x.argsort(stable=None),
             lambda: x.sort(0, dim=0), lambda: x.sort(foo=1),
             lambda: x.sort(dim=0, descending=True, stable=1),
             lambda: x.sort(0, dim=0, descending=True, stable=True),
             lambda: x.sort(stable=True, foo=1, dim=0), lambda: x.argsort(0, True, stable=True),
             lambda: torch.sort(x, 0, True, stable=True, out=None),
             lambda: torch.sort(x, dim=0, descending=True, stable=1),
             lambda: torch.argsort(x, dim=0, descending=1, stable=True),
             lambda: torch.argsort(x, (1, 2), [3]), lambda: x.sort((1, 2), [3, 4.0]),
             lambda: x.sort(x, stable=True, dim=1, descending=True),
             lambda: x.sort(dim=0, foo=1, bar=2), lambda: x.sort(a=1, b=2, c=3, d=4),
             lambda: torch.sort(x, foo=1, bar=2), lambda: torch.sort(x, 0, True, 1, 2),
             lambda: torch.sort(x, dim=0, descending=True, stable=True, out=1),
             lambda: torch.argsort(x, 0, True, 1), lambda: x.sort(dim=None, descending=True,
                                                                   stable=True)]
    for call in calls:
        _err(log, lambda: call().values)
    log(x.sort(stable=None), x.sort(descending=True, dim=0, stable=None).indices)
    log(torch.argsort(x, dim=0, descending=True, stable=True, out=None))
    log(x.sort(0, True), x.argsort(0, True), torch.sort(x, stable=True, descending=True))
    log(torch.Tensor.sort.__name__, torch.Tensor.argsort.__name__)


# ---- initialisers, schedulers, torchvision's rotate --------------------------------------

@program(tol=1e-12)
def init_and_random_draws_in_low_precision(torch, log):
    nn = torch.nn
    torch.manual_seed(0)
    for dt in (torch.float16, torch.bfloat16, torch.float64):
        w = torch.empty(3, 5, dtype=dt)
        nn.init.trunc_normal_(w, std=0.02)
        log(dt, w)
        nn.init.normal_(w, 0, 0.5); log(w)
        nn.init.uniform_(w, -1, 1); log(w)
        nn.init.xavier_uniform_(w); log(w)
        nn.init.kaiming_normal_(w, mode="fan_out"); log(w)
        nn.init.orthogonal_(w) if dt == torch.float64 else None
        log(w)
        nn.init.constant_(w, 0.3); log(w)
        nn.init.zeros_(w); nn.init.ones_(w); nn.init.eye_(w); log(w)
    e = nn.Embedding(4, 3, padding_idx=1, dtype=torch.float16)
    log(e.weight.dtype, e.weight[1])
    l = nn.Linear(3, 2, dtype=torch.bfloat16)
    log(l.weight, l.bias)
    torch.manual_seed(1)
    log(torch.randn(4, dtype=torch.float16), torch.rand(4, dtype=torch.bfloat16))
    log(torch.randint(0, 100, (4,), dtype=torch.int8), torch.randint(-5, 5, (3,),
                                                                     dtype=torch.int16))
    log(torch.randn(3, dtype=torch.complex64), torch.rand(2, dtype=torch.float64))
    log(torch.normal(torch.zeros(3), torch.ones(3)), torch.normal(1.0, torch.ones(2) * 2))
    log(torch.randperm(40)[:10], torch.randperm(5, dtype=torch.int32))
    log(torch.multinomial(torch.ones(30), 10), torch.multinomial(torch.rand(2, 6), 3,
                                                                 replacement=True))
    g = torch.Generator().manual_seed(3)
    log(torch.randn(2, 3, generator=g, dtype=torch.float16), torch.randint(10, (2,), generator=g))
    log(torch.empty(4, dtype=torch.float16).uniform_(-2, 2, generator=g))
    log(torch.empty(4, dtype=torch.bfloat16).normal_(generator=g))
    log(torch.bernoulli(torch.full((5,), 0.3, dtype=torch.float16), generator=g))
    log(torch.rand_like(torch.ones(3, dtype=torch.float16)),
        torch.randn_like(torch.ones(2, dtype=torch.bfloat16)))
    log(torch.randint_like(torch.ones(3, dtype=torch.int32), 7))
    _err(log, lambda: torch.randn(3, dtype=torch.int64))
    _err(log, lambda: torch.rand(3, dtype=torch.bool))
    _err(log, lambda: torch.randint(5, 2, (3,)))
    _err(log, lambda: torch.randint(0, 300, (2,), dtype=torch.uint8))
    _err(log, lambda: torch.empty(3, dtype=torch.int32).normal_())
    _err(log, lambda: torch.multinomial(torch.ones(3), 5))
    _err(log, lambda: torch.multinomial(torch.tensor([1.0, -1.0]), 1))
    _err(log, lambda: torch.multinomial(torch.zeros(3), 1))


@program()
def sched_closed_forms_cyclic_onecycle_momentum_and_plateau(torch, log):
    m = torch.nn.Linear(2, 2)
    S = torch.optim.lr_scheduler
    for make in (lambda o: S.StepLR(o, step_size=2, gamma=0.1),
                 lambda o: S.MultiStepLR(o, milestones=[2, 3, 3], gamma=0.5),
                 lambda o: S.ExponentialLR(o, gamma=0.9),
                 lambda o: S.LinearLR(o, start_factor=0.25, total_iters=3),
                 lambda o: S.PolynomialLR(o, total_iters=4, power=2.0),
                 lambda o: S.CosineAnnealingLR(o, T_max=3, eta_min=0.01),
                 lambda o: S.ConstantLR(o, factor=0.5, total_iters=2),
                 lambda o: S.MultiplicativeLR(o, lr_lambda=lambda e: 0.95),
                 lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2,
                                      mode="triangular2"),
                 lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=6, div_factor=10,
                                        final_div_factor=100, base_momentum=0.8, max_momentum=0.9)):
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        s = make(opt)
        lrs = []
        for _ in range(6):
            opt.step(); s.step()
            lrs.append(s.get_last_lr()[0])
        log(type(s).__name__, lrs, opt.param_groups[0]["momentum"], sorted(s.state_dict()))
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    _err(log, lambda: S.LinearLR(opt, start_factor=0.0))
    _err(log, lambda: S.LinearLR(opt, end_factor=1.5))
    _err(log, lambda: S.ConstantLR(opt, factor=2.0))
    _err(log, lambda: S.StepLR(opt, step_size=0).step_size)
    _err(log, lambda: S.MultiStepLR(opt, milestones=[3, 1]).milestones)
    _err(log, lambda: S.ExponentialLR(opt, gamma=0.9, last_epoch=3).get_last_lr())
    _err(log, lambda: S.CosineAnnealingLR(opt, T_max=0).get_last_lr())
    _err(log, lambda: S.CyclicLR(opt, base_lr=0.1, max_lr=1.0, mode="foo"))
    _err(log, lambda: S.CyclicLR(opt, base_lr=[0.1, 0.2], max_lr=1.0))
    _err(log, lambda: S.StepLR("opt", 2))
    plateau = S.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=1, threshold=0.1,
                                  threshold_mode="abs", cooldown=1, min_lr=0.01)
    for metric in [0.5, 0.55, 0.56, 0.57, 0.9, 0.9, 0.9, 0.9, 0.9]:
        plateau.step(metric)
        log(metric, plateau.get_last_lr(), plateau.num_bad_epochs, plateau.cooldown_counter,
            plateau.best)
    sd = plateau.state_dict()
    log(sorted(sd), sd["best"], sd["mode"])
    _err(log, lambda: S.ReduceLROnPlateau(opt, mode="up"))
    _err(log, lambda: S.ReduceLROnPlateau(opt, factor=1.0))
    _err(log, lambda: S.ReduceLROnPlateau(opt, threshold_mode="pct"))
    _err(log, lambda: S.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2]))


@program()
def pl_lambda_lr_callable_state_and_optimizer_load_errors(torch, log):
    m = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.1)
    class Warmup:
        def __init__(self, warm, total):
            self.warm, self.total = warm, total
        def __call__(self, step):
            if step < self.warm:
                return float(step) / float(max(1, self.warm))
            return max(0.0, float(self.total - step) / float(max(1, self.total - self.warm)))
    s = torch.optim.lr_scheduler.LambdaLR(opt, Warmup(2, 6))
    for i in range(4):
        opt.step(); s.step()
    sd = s.state_dict()
    log(sd)
    print(sd)
    opt2 = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.1)
    s2 = torch.optim.lr_scheduler.LambdaLR(opt2, Warmup(1, 3))
    s2.load_state_dict(sd)
    log(s2.lr_lambdas[0].warm, s2.lr_lambdas[0].total, s2.last_epoch, s2.get_last_lr())
    s2.step()
    log(s2.get_last_lr(), opt2.param_groups[0]["lr"], opt2.param_groups[0]["initial_lr"])
    osd = opt.state_dict()
    log(osd["param_groups"], sorted(osd["state"][0]), osd["state"][0]["step"])
    opt3 = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2, 2))], lr=1e-3)
    _err(log, lambda: opt3.load_state_dict(osd))
    opt4 = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(3)),
                              torch.nn.Parameter(torch.zeros(2))], lr=1e-3)
    _err(log, lambda: opt4.load_state_dict(osd))
    bad = {"state": {}, "param_groups": osd["param_groups"] * 2}
    _err(log, lambda: opt.load_state_dict(bad))
    opt.zero_grad(set_to_none=False)
    log([p.grad for p in m.parameters()])
    opt.zero_grad()
    log([p.grad for p in m.parameters()])


@program(tol=1e-6)
def tv_rotate_inverse_affine_fill_mask_and_expand(torch, log):
    import math
    F = torch.nn.functional
    img = torch.arange(2 * 5 * 6, dtype=torch.float32).reshape(2, 5, 6)
    angle, fill = 30.0, [255.0, 128.0]
    rot = math.radians(angle)
    sx, sy = 0.0, 0.0
    cx, cy = 0.0, 0.0
    a = math.cos(rot - math.radians(sy)) / math.cos(math.radians(sy))
    b = (-math.cos(rot - math.radians(sy)) * math.tan(math.radians(sx))
         / math.cos(math.radians(sy)) - math.sin(rot))
    c = math.sin(rot - math.radians(sy)) / math.cos(math.radians(sy))
    d = (-math.sin(rot - math.radians(sy)) * math.tan(math.radians(sx))
         / math.cos(math.radians(sy)) + math.cos(rot))
    matrix = [d, -b, 0.0, -c, a, 0.0]
    matrix = [x / 1.0 for x in matrix]
    matrix[2] += matrix[0] * (-cx) + matrix[1] * (-cy)
    matrix[5] += matrix[3] * (-cx) + matrix[4] * (-cy)
    log(matrix)
    w, h = 6, 5
    theta = torch.tensor(matrix, dtype=torch.float32).reshape(1, 2, 3)
    d_ = 0.5
    base_grid = torch.empty(1, h, w, 3, dtype=theta.dtype)
    x_grid = torch.linspace(-w * 0.5 + d_, w * 0.5 + d_ - 1, steps=w)
    base_grid[..., 0].copy_(x_grid)
    y_grid = torch.linspace(-h * 0.5 + d_, h * 0.5 + d_ - 1, steps=h).unsqueeze_(-1)
    base_grid[..., 1].copy_(y_grid)
    base_grid[..., 2].fill_(1)
    rescaled_theta = theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h], dtype=theta.dtype)
    output_grid = base_grid.view(1, h * w, 3).bmm(rescaled_theta)
    grid = output_grid.view(1, h, w, 2)
    log(grid[0, 0], grid.stride())
    x = img.unsqueeze(0)
    mask = torch.ones((x.shape[0], 1, x.shape[2], x.shape[3]), dtype=x.dtype)
    x = torch.cat((x, mask), dim=1)
    out = F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    out, m = out[:, :-1], out[:, -1:]
    fill_img = torch.tensor(fill, dtype=out.dtype).view(1, -1, 1, 1).expand_as(out)
    out = out * m + (1.0 - m) * fill_img
    log(out[0, 0], out[0, 1, 0])
    out_b = F.grid_sample(img.unsqueeze(0), grid, mode="bilinear", padding_mode="zeros",
                          align_corners=False)
    log(out_b[0, 1])
    pts = torch.tensor([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0], [0.5 * w, 0.5 * h,
                                                                              1.0], [0.5 * w,
                                                                                     -0.5 * h,
                                                                            1.0]])
    theta2 = torch.tensor(matrix, dtype=torch.float).view(2, 3)
    new_pts = torch.matmul(pts, theta2.T)
    min_vals, _ = new_pts.min(dim=0)
    max_vals, _ = new_pts.max(dim=0)
    tol = 1e-4
    cmax = torch.ceil((max_vals / tol).trunc_() * tol)
    cmin = torch.floor((min_vals / tol).trunc_() * tol)
    size = cmax - cmin
    log(new_pts, size, int(size[0]), int(size[1]))
    _err(log, lambda: F.grid_sample(img.unsqueeze(0).to(torch.uint8), grid, align_corners=False))
    _err(log, lambda: F.grid_sample(img.unsqueeze(0), grid.double(), align_corners=False))


# ---- modules, state and versions ---------------------------------------------------------

@program()
def module_lookup_set_submodule_tied_and_parameter_containers(torch, log):
    nn = torch.nn
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 3)
            self.layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
            self.head = nn.Linear(3, 5, bias=False)
            self.head.weight = self.emb.weight
            self.plist = nn.ParameterList([nn.Parameter(torch.ones(2, dtype=torch.float16)),
                                           nn.Parameter(torch.zeros(3), requires_grad=False)])
            self.pdict = nn.ParameterDict({"a": nn.Parameter(torch.ones(1, dtype=torch.bfloat16)),
                                           "b": torch.zeros(2)})
    m = M()
    print(m)
    print(m.plist, m.pdict)
    log([n for n, _ in m.named_parameters()], [n for n,
                                               _ in m.named_parameters(remove_duplicate=False)])
    log([n for n, _ in m.named_modules()][:4], len(list(m.named_modules(remove_duplicate=False))))
    log(list(m.state_dict().keys()))
    log(m.get_submodule("layers.1") is m.layers[1], m.get_parameter("layers.0.bias").shape)
    _err(log, lambda: m.get_submodule("layers.5"))
    _err(log, lambda: m.get_submodule("layers.0.foo"))
    _err(log, lambda: m.get_submodule("emb.weight"))
    _err(log, lambda: m.get_parameter("layers.0.nope"))
    _err(log, lambda: m.get_parameter("layers.0"))
    _err(log, lambda: m.get_buffer("layers.0.weight"))
    m.set_submodule("layers.1", nn.Identity())
    log(type(m.layers[1]).__name__)
    _err(log, lambda: m.set_submodule("layers.7", nn.Identity()))
    _err(log, lambda: m.set_submodule("nothere.x", nn.Identity()))
    _err(log, lambda: m.set_submodule("head", 3))
    _err(log, lambda: m.register_module("a.b", nn.Identity()))
    _err(log, lambda: m.register_parameter("", nn.Parameter(torch.ones(1))))
    _err(log, lambda: m.register_buffer("emb", torch.ones(1)))
    sd = {"module." + k: v for k, v in m.state_dict().items()}
    getattr(torch.nn.modules.utils, "consume_prefix_in_state_dict_if_present")(sd, "module.")
    log(list(sd.keys()))
    log(sum(p.numel() for p in m.parameters()),
        sum(p.numel() for p in m.parameters() if p.requires_grad))
    v = nn.utils.parameters_to_vector([p for p in m.parameters() if p.dtype == torch.float32])
    log(v.shape, v.dtype)
    _err(log, lambda: nn.utils.parameters_to_vector(m.parameters()))


@program()
def hf_init_weights_apply_and_data_assignment(torch, log):
    nn = torch.nn
    torch.manual_seed(3)
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(6, 4, padding_idx=0)
            self.ln = nn.LayerNorm(4)
            self.fc = nn.Linear(4, 4)
            self.conv = nn.Conv1d(4, 4, 1)
    def _init_weights(module):
        std = 0.02
        if isinstance(module, (nn.Linear, nn.Conv1d)):
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
    b = Block()
    r = b.apply(_init_weights)
    log(r is b, b.embed.weight, b.fc.weight, b.conv.bias, b.ln.weight)
    log(b.embed.weight.data.requires_grad, b.embed.weight.data.is_leaf, b.embed.weight._version)
    with torch.no_grad():
        b.fc.weight.mul_(2)
    log(b.fc.weight._version, b.fc.weight.grad_fn)
    b.fc.weight.data = torch.zeros(4, 4)
    log(b.fc.weight.requires_grad, type(b.fc.weight).__name__, b.fc.weight.sum())
    _err(log, lambda: setattr(b.fc.weight, "data", torch.zeros(2)))
    _err(log, lambda: setattr(b.fc.weight, "data", [1.0]))
    b.fc.weight.data = b.fc.weight.data.half()
    log(b.fc.weight.dtype, isinstance(b.fc.weight, nn.Parameter))
    out = nn.functional.embedding(torch.tensor([1, 2]), b.embed.weight.half(), max_norm=0.01)
    log(out.dtype, out)


@program()
def save_load_tied_weights_half_state_and_weights_only(torch, log):
    import io
    nn = torch.nn
    m = nn.Sequential(nn.Embedding(4, 3), nn.Linear(3, 4, bias=False))
    m[1].weight = m[0].weight
    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    buf.seek(0)
    sd = torch.load(buf)
    log(list(sd), sd["0.weight"].data_ptr() == sd["1.weight"].data_ptr())
    m2 = nn.Sequential(nn.Embedding(4, 3), nn.Linear(3, 4, bias=False))
    m2[1].weight = m2[0].weight
    r = m2.load_state_dict(sd)
    log(str(r), m2[0].weight.equal(m[0].weight), m2[1].weight is m2[0].weight)
    half_sd = {k: v.half() for k, v in m.state_dict().items()}
    buf = io.BytesIO(); torch.save(half_sd, buf); buf.seek(0)
    hs = torch.load(buf, weights_only=True)
    log({k: str(v.dtype) for k, v in hs.items()})
    m2.load_state_dict(hs)
    log(m2[0].weight.dtype, m2[0].weight.equal(m[0].weight.half().float()))
    obj = {"step": 3, "lr": 0.1, "t": torch.arange(3),
           "nested": [torch.ones(1, dtype=torch.bfloat16), (1, "a")]}
    buf = io.BytesIO(); torch.save(obj, buf); buf.seek(0)
    back = torch.load(buf)
    log(back["step"], back["nested"][0].dtype, back["nested"][1], back["t"])
    buf.seek(0)
    log(type(torch.load(buf, map_location="cpu")).__name__)
    buf.seek(0)
    log(torch.load(buf, map_location=lambda s, loc: s)["t"])
    class Custom:
        pass
    buf = io.BytesIO(); torch.save({"c": Custom}, buf); buf.seek(0)
    try:
        torch.load(buf, weights_only=True)
    except Exception as e:
        log(type(e).__name__, str(e).splitlines()[0])


@program()
def parameter_versions_after_init_and_construction(torch, log):
    nn = torch.nn
    I = nn.init
    torch.manual_seed(0)
    for name, f in [("uniform_", I.uniform_), ("normal_", I.normal_), ("trunc_normal_",
                                                                       I.trunc_normal_),
                    ("ones_", I.ones_), ("eye_", I.eye_), ("xavier_uniform_", I.xavier_uniform_),
                    ("kaiming_normal_", I.kaiming_normal_), ("orthogonal_", I.orthogonal_),
                    ("sparse_", lambda w: I.sparse_(w, 0.5))]:
        w = nn.Parameter(torch.empty(3, 4))
        f(w)
        log(name, w._version)
    for mk in [lambda: nn.Embedding(6, 4, padding_idx=0), lambda: nn.Embedding(6, 4),
               lambda: nn.EmbeddingBag(3, 2, padding_idx=1), lambda: nn.Linear(3, 2),
               lambda: nn.LayerNorm(3), lambda: nn.BatchNorm1d(2), lambda: nn.LSTM(2, 3),
               lambda: nn.MultiheadAttention(4, 2), lambda: nn.Bilinear(2, 2, 2),
               lambda: nn.GRU(2, 2, bidirectional=True), lambda: nn.LSTM(2, 3, proj_size=2),
               lambda: nn.Embedding.from_pretrained(torch.ones(2, 2), padding_idx=0)]:
        m = mk()
        log(type(m).__name__, [(n, p._version) for n, p in m.named_parameters()],
            [(n, b._version) for n, b in m.named_buffers()])


# ---- foreach, statistics and retrieval ---------------------------------------------------

@program(tol=1e-6)
def timm_foreach_ops_lists_scalars_and_refusals(torch, log):
    torch.manual_seed(0)
    a = [torch.randn(3), torch.randn(2, 2), torch.randn(1).to(torch.bfloat16)]
    b = [torch.randn(3), torch.randn(2, 2), torch.randn(1).to(torch.bfloat16)]
    log(torch._foreach_add(a, b), torch._foreach_add(a, 2.0), torch._foreach_add(a, [1.0, 2.0,
                                                                                     3.0]))
    log(torch._foreach_mul(a, b), torch._foreach_mul(a, torch.tensor(2.0)), torch._foreach_div(a,
                                                                                               3.0))
    log(torch._foreach_sub(a, b, alpha=0.5), torch._foreach_neg(a), torch._foreach_abs(a))
    log(torch._foreach_sqrt(torch._foreach_abs(a)), torch._foreach_exp(a), torch._foreach_sign(a))
    log(torch._foreach_norm(a), torch._foreach_norm(a, ord=float("inf")), torch._foreach_norm(a, 1))
    log(torch._foreach_maximum(a, b), torch._foreach_clamp_min(a, 0.0),
        torch._foreach_clamp_max(a, 0.1))
    den = torch._foreach_add(torch._foreach_abs(b), 1.0)
    log(torch._foreach_addcmul(a, a, b, value=0.1), torch._foreach_addcdiv(a, a, den, value=2))
    log(torch._foreach_lerp(a, b, 0.3), torch._foreach_pow(torch._foreach_abs(a), 2.0),
        torch._foreach_pow(2.0, a))
    c = [t.clone() for t in a]
    torch._foreach_mul_(c, 0.9)
    torch._foreach_add_(c, b, alpha=0.1)
    torch._foreach_addcmul_(c, a, b, value=-1)
    torch._foreach_zero_(c[:1])
    log(c, [t._version for t in c])
    torch._foreach_copy_(c, b)
    log(c)
    _err(log, lambda: torch._foreach_add(a, b[:2]))
    _err(log, lambda: torch._foreach_add(a, [1.0]))
    _err(log, lambda: torch._foreach_add([], []))
    _err(log, lambda: torch._foreach_mul_(a, [torch.ones(2)] * 3))
    _err(log, lambda: torch._foreach_lerp_(c, b, [0.1, 0.2]))
    i = [torch.tensor([1, 2]), torch.tensor([3])]
    log(torch._foreach_add(i, 1), torch._foreach_div(i, 2), torch._foreach_mul(i, 1.5))
    _err(log, lambda: torch._foreach_add_(i, 1.5))
    _err(log, lambda: torch._foreach_sqrt_(i))
    log(torch._foreach_max(a), torch._foreach_reciprocal(torch._foreach_add(torch._foreach_abs(a),
                                                                            1)))


@program(tol=1e-6)
def retrieval_similarity_bucketize_one_hot_and_windows(torch, log):
    torch.manual_seed(4)
    x = torch.randn(4, 5, 6)
    log(torch.amax(x, dim=(1, 2)), torch.amin(x, dim=(0, -1), keepdim=True).shape)
    log(torch.std_mean(x, dim=(1, 2)), torch.var_mean(x, dim=-1, correction=0))
    log(torch.var(x, dim=1, unbiased=False)[0], x.std(dim=(0, 1), keepdim=True).shape)
    log(torch.aminmax(x, dim=-1)[0][0], torch.aminmax(x))
    q = torch.nn.functional.normalize(torch.randn(3, 8), dim=-1)
    k = torch.nn.functional.normalize(torch.randn(10, 8), p=2, dim=-1, eps=1e-12)
    sim = q @ k.T
    log(sim.topk(3, dim=-1), sim.argsort(dim=-1, descending=True)[:, :3])
    log(torch.cdist(q, k).shape, torch.cdist(q, k, p=1)[0, :3],
        torch.cdist(q, k, compute_mode="donot_use_mm_for_euclid_dist")[0, :3])
    log(torch.nn.functional.cosine_similarity(q[:, None], k[None], dim=-1)[0, :3])
    log(torch.nn.functional.pairwise_distance(q[:1], k[:3]), torch.pdist(k[:4]))
    b = torch.tensor([0.1, 0.5, 0.9])
    v = torch.tensor([0.0, 0.1, 0.3, 0.5, 0.95, 1.0])
    log(torch.bucketize(v, b), torch.bucketize(v, b, right=True), torch.searchsorted(b, v,
                                                                                     side="right"))
    log(torch.searchsorted(b, v, out_int32=True).dtype, torch.searchsorted(torch.tensor([3.0, 1.0,
                                                                                         2.0]),
                                                                 torch.tensor([2.5]),
                                  sorter=torch.tensor([1, 2, 0])))
    _err(log, lambda: torch.searchsorted(b, v, side="middle"))
    _err(log, lambda: torch.searchsorted(b, v, side="left", right=True))
    _err(log, lambda: torch.searchsorted(b[None].expand(2, 3), v))
    oh = torch.nn.functional.one_hot(torch.tensor([0, 2, 1]), num_classes=-1)
    log(oh, oh.dtype, torch.nn.functional.one_hot(torch.tensor([[1], [0]]), 3).shape)
    _err(log, lambda: torch.nn.functional.one_hot(torch.tensor([0, 3]), 3))
    _err(log, lambda: torch.nn.functional.one_hot(torch.tensor([0.0])))
    _err(log, lambda: torch.nn.functional.one_hot(torch.tensor([-1])))
    w = torch.arange(10.).unfold(0, 4, 3)
    log(w, w.stride(), torch.arange(12.).reshape(3, 4).unfold(1, 2, 2).shape)
    log(torch.as_strided(torch.arange(6.), (2, 3), (1, 2)), torch.arange(6.).as_strided((3,),
                                                                                        (2,), 1))
    m = torch.tensor([[True, False], [False, True]])
    log(torch.zeros(2, 2).masked_scatter_(m, torch.tensor([5.0, 6.0, 7.0])),
        torch.randn(2, 2).masked_select(m).shape)
    _err(log, lambda: torch.zeros(2, 2).masked_scatter_(m, torch.tensor([5.0])))


# ---- timm blocks, Lightning GAN loops, seeding -------------------------------------------

@program(tol=1e-5)
def timm_std_conv_qk_norm_attention_glu_and_se(torch, log):
    nn, F = torch.nn, torch.nn.functional
    class StdConv2d(nn.Conv2d):
        def __init__(self, i, o, k, eps=1e-6):
            super().__init__(i, o, k, padding=k // 2, bias=False)
            self.eps = eps
        def forward(self, x):
            weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                                  training=True, momentum=0.0, eps=self.eps).reshape_as(self.weight)
            return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation,
                            self.groups)
    c = StdConv2d(3, 4, 3)
    x = torch.randn(2, 3, 5, 5)
    y = c(x)
    y.sum().backward()
    log(y[0, 0], c.weight.grad[0, 0])
    class Attention(nn.Module):
        def __init__(self, dim, num_heads=2, qk_norm=True, fused=True):
            super().__init__()
            self.num_heads = num_heads
            self.head_dim = dim // num_heads
            self.scale = self.head_dim ** -0.5
            self.fused_attn = fused
            self.qkv = nn.Linear(dim, dim * 3, bias=False)
            self.q_norm = nn.LayerNorm(self.head_dim) if qk_norm else nn.Identity()
            self.k_norm = nn.LayerNorm(self.head_dim) if qk_norm else nn.Identity()
            self.proj = nn.Linear(dim, dim)
        def forward(self, x):
            B, N, C = x.shape
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            q, k = self.q_norm(q), self.k_norm(k)
            if self.fused_attn:
                x = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)
            else:
                q = q * self.scale
                attn = q @ k.transpose(-2, -1)
                attn = attn.softmax(dim=-1)
                x = attn @ v
            x = x.transpose(1, 2).reshape(B, N, C)
            return self.proj(x)
    a = Attention(8)
    t = torch.randn(2, 5, 8)
    o1 = a(t)
    a.fused_attn = False
    o2 = a(t)
    log(o1, (o1 - o2).abs().max() < 1e-5, a.qkv(t).reshape(2, 5, 3, 2, 4).permute(2, 0, 3, 1,
                                                                                  4).stride())
    q, k, v = a.qkv(t).reshape(2, 5, 3, 2, 4).permute(2, 0, 3, 1, 4).unbind(0)
    log(q.shape, q.stride(), q.is_contiguous(), k.storage_offset(), v.storage_offset())
    class GluMlp(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.fc1 = nn.Linear(d, h)
            self.act = nn.Sigmoid()
            self.fc2 = nn.Linear(h // 2, d)
        def forward(self, x):
            x = self.fc1(x)
            x1, x2 = x.chunk(2, dim=-1)
            return self.fc2(x1 * self.act(x2))
    g = GluMlp(8, 12)
    log(g(t)[0, 0])
    def make_divisible(v, divisor=8, min_value=None, round_limit=0.9):
        min_value = min_value or divisor
        new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
        if new_v < round_limit * v:
            new_v += divisor
        return new_v
    log([make_divisible(c * 0.25) for c in (16, 24, 40, 100, 1000)])
    se_x = torch.randn(2, 16, 3, 3)
    s = se_x.mean((2, 3), keepdim=True)
    fc1 = nn.Conv2d(16, 8, 1)
    fc2 = nn.Conv2d(8, 16, 1)
    log((se_x * fc2(F.relu(fc1(s))).sigmoid())[0, 0], F.hardsigmoid(s)[0, :3, 0, 0])
    pool = torch.cat([F.adaptive_avg_pool2d(se_x, 1), F.adaptive_max_pool2d(se_x, 1)], 1)
    log(pool.shape, pool.flatten(1)[0, :3])


@program(tol=1e-5)
def pl_manual_optimization_gan_toggle_and_clip(torch, log):
    nn, F = torch.nn, torch.nn.functional
    G = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 3))
    D = nn.Sequential(nn.Linear(3, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    def toggle(opt):
        for p in D.parameters():
            p.requires_grad = False
        for p in G.parameters():
            p.requires_grad = False
        for group in opt.param_groups:
            for p in group["params"]:
                p.requires_grad = True
    real = torch.randn(6, 3)
    for step in range(3):
        z = torch.randn(6, 2)
        toggle(opt_g)
        fake = G(z)
        g_loss = F.binary_cross_entropy_with_logits(D(fake), torch.ones(6, 1))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        log(step, g_loss, [p.grad is None for p in D.parameters()])
        toggle(opt_d)
        real_loss = F.binary_cross_entropy_with_logits(D(real), torch.ones(6, 1))
        fake_loss = F.binary_cross_entropy_with_logits(D(fake.detach()), torch.zeros(6, 1))
        d_loss = (real_loss + fake_loss) / 2
        opt_d.zero_grad()
        d_loss.backward()
        gn = nn.utils.clip_grad_norm_(D.parameters(), 1.0)
        opt_d.step()
        log(step, d_loss, gn, [p.requires_grad for p in G.parameters()])
    log(opt_g.state_dict()["state"][0]["exp_avg"][0],
        opt_d.state_dict()["param_groups"][0]["betas"])
    _err(log, lambda: F.binary_cross_entropy_with_logits(D(real), torch.ones(6)))
    _err(log, lambda: F.binary_cross_entropy(torch.sigmoid(D(real)), torch.ones(6, 1) * 2))
    _err(log, lambda: F.binary_cross_entropy(D(real), torch.ones(6, 1)))


@program()
def seed_everything_worker_seeds_samplers_and_flags(torch, log):
    import random
    import numpy as np
    data_mod = torch.utils.data
    def seed_everything(seed):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        torch.cuda.manual_seed_all(seed)
        return seed
    log(seed_everything(42), torch.initial_seed(), torch.rand(2))
    seed_everything(42)
    log(torch.rand(2), random.random() == random.Random(42).random())
    def seed_worker(worker_id):
        worker_seed = torch.initial_seed() % 2 ** 32
        np.random.seed(worker_seed)
        random.seed(worker_seed)
    g = torch.Generator()
    g.manual_seed(0)
    ds = data_mod.TensorDataset(torch.arange(10), torch.arange(10) * 2)
    dl = data_mod.DataLoader(ds, batch_size=3, shuffle=True, worker_init_fn=seed_worker,
                             generator=g, drop_last=False)
    log([b[0].tolist() for b in dl], len(dl))
    log([b[0].tolist() for b in dl])
    g.manual_seed(0)
    log([b[0].tolist() for b in dl])
    s = data_mod.RandomSampler(ds, replacement=True, num_samples=5,
                               generator=torch.Generator().manual_seed(1))
    log(list(s))
    ws = data_mod.WeightedRandomSampler([0.1, 0.9, 0.0, 0.5], 6,
                                        generator=torch.Generator().manual_seed(2))
    log(list(ws))
    sub = data_mod.SubsetRandomSampler([5, 6, 7], generator=torch.Generator().manual_seed(3))
    log(list(sub))
    tr, va = data_mod.random_split(ds, [0.7, 0.3], generator=torch.Generator().manual_seed(4))
    log(tr.indices, va.indices, len(tr))
    log(data_mod.get_worker_info())
    log(torch.cuda.is_available(), torch.cuda.device_count())
    torch.use_deterministic_algorithms(True, warn_only=True)
    log(torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled())
    torch.use_deterministic_algorithms(False)
    log(torch.backends.cudnn.enabled, torch.backends.cuda.matmul.allow_tf32,
        torch.get_float32_matmul_precision())
    torch.set_float32_matmul_precision("high")
    log(torch.get_float32_matmul_precision())
    _err(log, lambda: torch.set_float32_matmul_precision("low"))
    torch.set_float32_matmul_precision("highest")


@program()
def hf_multinomial_over_low_precision_probs(torch, log):
    torch.manual_seed(9)
    for dt in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        logits = torch.randn(2, 10).to(dt)
        probs = torch.softmax(logits / 0.7, dim=-1)
        log(dt, probs.dtype, torch.multinomial(probs, 1), torch.multinomial(probs, 3),
            torch.multinomial(probs, 4, replacement=True))
        log(torch.argmax(probs, -1), probs.max(-1).values)
    p = torch.tensor([[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
    log(torch.multinomial(p, 1), torch.multinomial(p, 2))
    _err(log, lambda: torch.multinomial(p, 3))
    _err(log, lambda: torch.multinomial(torch.tensor([float("nan"), 1.0]), 1))
    _err(log, lambda: torch.multinomial(torch.tensor([float("inf"), 1.0]), 1))
    _err(log, lambda: torch.multinomial(torch.ones(2, 2, 2), 1))
    _err(log, lambda: torch.multinomial(torch.ones(3), 0))
    _err(log, lambda: torch.multinomial(torch.ones(3, dtype=torch.int64), 1))


@program()
def hf_fp16_mask_overflow_unmask_and_clamp(torch, log):
    for dt in (torch.float16, torch.bfloat16, torch.float32):
        mn = torch.finfo(dt).min
        mask = torch.tensor([[1, 1, 0], [0, 0, 0]])
        ext = (1.0 - mask[:, None, None, :].to(dt)) * mn
        causal = torch.full((3, 3), mn, dtype=dt).triu(1)
        comb = ext + causal
        log(dt, comb, comb.dtype)
        scores = torch.zeros(2, 1, 3, 3, dtype=dt) + comb
        log(torch.softmax(scores, -1), torch.softmax(scores.float(), -1).to(dt))
        unm = comb.mul(~torch.all(comb == mn, dim=-1, keepdim=True))
        log(unm)
        clamped = comb.clamp(min=mn)
        log(clamped, torch.isinf(comb).sum(), torch.nan_to_num(comb)[1, 0])
        zero = torch.tensor(0.0, dtype=dt)
        log(torch.where(mask[:, None, None, :].bool(), 0.0, mn).dtype,
            torch.where(mask.bool(), zero, mn).dtype)
        t_mn = torch.tensor(mn, dtype=dt)
        log(t_mn * 2, t_mn - 1, t_mn.exp())
        x = torch.tensor([60000.0, -60000.0, 1.0], dtype=dt)
        log(x * 2, x + x, x.sum(), x.mean(), (x * x).sum(), x.pow(2), x.square())
    h = torch.tensor([1e-4, 3e4], dtype=torch.float16)
    log(h.softmax(0), torch.log_softmax(h, 0), h.exp(), h.log1p(), h.sigmoid())
    hidden = torch.tensor([[65000.0, -65000.0, 10.0]], dtype=torch.float16)
    if hidden.dtype == torch.float16 and torch.isinf(hidden * 2).any():
        clamp_value = torch.finfo(hidden.dtype).max - 1000
        hidden2 = torch.clamp(hidden * 2, min=-clamp_value, max=clamp_value)
        log(clamp_value, hidden2)
    log(torch.finfo(torch.float16).max - 1000, type(torch.finfo(torch.float16).max))


@program()
def hf_static_kv_cache_index_copy_and_beam_reorder(torch, log):
    torch.manual_seed(5)
    B, H, L, D, beams = 2, 2, 6, 4, 2
    k_cache = torch.zeros(B * beams, H, L, D)
    v_cache = torch.zeros_like(k_cache)
    log(k_cache.stride(), v_cache.is_contiguous())
    pos = 0
    for step in range(3):
        T = 2 if step == 0 else 1
        k = torch.randn(B * beams, H, T, D)
        v = torch.randn(B * beams, H, T, D)
        cache_position = torch.arange(pos, pos + T)
        k_cache.index_copy_(2, cache_position, k)
        v_cache[:, :, cache_position] = v
        pos += T
        beam_idx = torch.tensor([1, 0, 3, 3]) if step else torch.arange(B * beams)
        k_cache = k_cache.index_select(0, beam_idx)
        v_cache = v_cache[beam_idx]
        log(step, k_cache[:, 0, :pos, 0], v_cache.shape, k_cache.stride())
    scores = torch.randn(B, beams * 5)
    next_scores, next_tokens = torch.topk(scores, 2 * beams, dim=1, largest=True, sorted=True)
    next_indices = torch.div(next_tokens, 5, rounding_mode="floor")
    next_tokens = next_tokens % 5
    log(next_scores, next_indices, next_tokens)
    past = tuple((torch.randn(2, 1, 3, 2), torch.randn(2, 1, 3, 2)) for _ in range(2))
    stacked = torch.stack([torch.stack(layer) for layer in past])
    log(stacked.shape, stacked.stride())
    cropped = tuple((k[..., :2, :], v[..., :2, :]) for k, v in past)
    log(cropped[0][0].shape, cropped[0][0].is_contiguous(), cropped[1][1].stride())
    k_new = torch.cat([past[0][0], torch.ones(2, 1, 1, 2)], dim=-2)
    log(k_new.shape, k_new[0, 0, -1])
    _err(log, lambda: torch.cat([past[0][0], torch.ones(2, 2, 1, 2)], dim=-2))
    _err(log, lambda: torch.cat([past[0][0], torch.ones(2, 1, 1, 2, dtype=torch.float64)],
                                dim=-2).dtype)
    _err(log, lambda: k_cache.index_copy_(2, torch.tensor([7]), torch.ones(4, 2, 1, 4)))
    _err(log, lambda: k_cache.index_copy_(2, torch.tensor([1.0]), torch.ones(4, 2, 1, 4)))
    _err(log, lambda: k_cache.index_copy_(2, torch.tensor([1]), torch.ones(4, 2, 2, 4)))


# ---- mixed precision refusals, dynamo knobs ----------------------------------------------

@program()
def mixed_half_bfloat16_float_refusals_across_ops(torch, log):
    F = torch.nn.functional
    f32 = torch.randn(2, 4)
    f16 = torch.randn(2, 4).half()
    b16 = torch.randn(2, 4).bfloat16()
    W = torch.randn(3, 4)
    lin16 = torch.nn.Linear(4, 3).half()
    i1 = torch.tensor([0, 1])
    calls = [
        ("matmul", lambda: f16 @ W.T),
        ("matmul2", lambda: f32 @ W.T.half()),
        ("mm", lambda: torch.mm(b16, W.T)),
        ("linear", lambda: F.linear(f32, W.half())),
        ("linear_mod", lambda: lin16(f32)),
        ("linear_bias", lambda: F.linear(f32, W, torch.zeros(3).half())),
        ("bmm", lambda: torch.bmm(f16[None], W.T[None])),
        ("baddbmm", lambda: torch.baddbmm(torch.zeros(1, 2, 3), f32[None], W.T[None].half())),
        ("addmm", lambda: torch.addmm(torch.zeros(3).half(), f32, W.T)),
        ("einsum", lambda: torch.einsum("ij,kj->ik", f16, W)),
        ("layer_norm", lambda: F.layer_norm(f16, (4,), torch.ones(4), torch.zeros(4))),
        ("layer_norm_b", lambda: F.layer_norm(f32, (4,), torch.ones(4).half())),
        ("rms_norm", lambda: F.rms_norm(f16, (4,), torch.ones(4))),
        ("group_norm", lambda: F.group_norm(f16[:, :, None], 2, torch.ones(4))),
        ("embedding", lambda: F.embedding(torch.tensor([0]), W.half())),
        ("embedding_f", lambda: F.embedding(torch.tensor([0.0]), W)),
        ("conv", lambda: F.conv1d(f16[:, :, None], torch.randn(3, 4, 1))),
        ("conv_b", lambda: F.conv1d(f32[:, :, None], torch.randn(3, 4, 1),
                                    torch.zeros(3).half())),
        ("sdpa", lambda: F.scaled_dot_product_attention(f16[None, None], f32[None, None],
                                                        f32[None, None])),
        ("sdpa_mask", lambda: F.scaled_dot_product_attention(
            f32[None, None], f32[None, None], f32[None, None], attn_mask=torch.zeros(2, 2).half())),
        ("batch_norm", lambda: F.batch_norm(f16, torch.zeros(4), torch.ones(4))),
        ("ce", lambda: F.cross_entropy(f16, i1)),
        ("mse", lambda: F.mse_loss(f16, f32)),
        ("dot", lambda: torch.dot(f16[0], f32[0])),
        ("mv", lambda: torch.mv(W, f16[0])),
        ("addcmul", lambda: torch.addcmul(f32, f16, b16)),
        ("where", lambda: torch.where(f32 > 0, f16, b16).dtype),
        ("cat", lambda: torch.cat([f16, b16]).dtype),
        ("index_add", lambda: torch.zeros(3, 4).index_add_(0, i1, f16)),
        ("scatter", lambda: torch.zeros(3, 4).scatter_(0, torch.tensor([[0, 1, 2, 0]]), f16[:1])),
        ("masked_fill", lambda: f16.masked_fill(f16 > 0, torch.tensor(1.0)).dtype),
        ("copy", lambda: f16.copy_(f32).dtype),
        ("lerp", lambda: f32.lerp(f16, 0.5)),
        ("prelu", lambda: F.prelu(f16, torch.ones(1))),
        ("glu", lambda: F.glu(f16).dtype),
        ("inplace_add", lambda: f16.clone().add_(f32).dtype),
        ("inplace_int", lambda: torch.ones(2, dtype=torch.int64).add_(f16[0, :2]))]
    for name, call in calls:
        _err(log, call)
        log(name)


@program()
def dynamo_marks_config_stances_and_backend_lists(torch, log):
    dyn = torch._dynamo
    m = torch.nn.Linear(3, 2)
    x = torch.randn(4, 3)
    dyn.mark_dynamic(x, 0)
    dyn.mark_static(x, 1)
    dyn.maybe_mark_dynamic(x, 0)
    log(dyn.config.suppress_errors, dyn.config.cache_size_limit, dyn.config.capture_scalar_outputs)
    dyn.config.suppress_errors = True
    log(dyn.config.suppress_errors)
    dyn.config.suppress_errors = False
    @torch.compile(backend="eager")
    def f(a):
        dyn.graph_break()
        return a * 2
    log(f(torch.ones(2)))
    def g(a):
        return a + 1
    log(torch.compiler.allow_in_graph(g) is g, dyn.disallow_in_graph(g) is g)
    cm = torch.compile(m, backend="eager", dynamic=True)
    log(cm(x).shape)
    with torch.compiler.set_stance("force_eager"):
        log(cm(x).shape)
    plain = torch.compile(m, backend="eager")   # (torch leaks dynamic=True's config patch
    with torch.compiler.set_stance("bogus"):    # when a call under a bad stance raises)
        _err(log, lambda: plain(x).shape)
        _err(log, lambda: f(torch.ones(2)))
        log(m(x).shape)
    _err(log, lambda: torch.compiler.set_stance("force_eager", force_backend="eager"))
    log(torch._dynamo.is_compiling(), torch.compiler.is_compiling())
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    step = torch.compile(opt.step, backend="eager")
    m(x).sum().backward()
    step()
    log(m.weight.grad.shape)
    log(torch._dynamo.list_backends() == sorted(torch._dynamo.list_backends()),
        "inductor" in torch._dynamo.list_backends())
    log(torch.compiler.list_backends(exclude_tags=None)[:3])
    _err(log, lambda: torch.compile(m, backend="eager", mode="max-autotune", options={}))
    @torch._dynamo.disable
    def h(a):
        return a - 1
    log(h(torch.ones(1)))
    @torch.compiler.disable(recursive=False)
    def k(a):
        return a - 2
    log(k(torch.ones(1)))
    torch._dynamo.reset()
    log(torch._inductor.config.max_autotune if hasattr(torch, "_inductor") else None)


# ---- mask builders, deterministic mode ---------------------------------------------------

@program()
def hf_mask_builders_block_diag_padding_and_full_like(torch, log):
    F = torch.nn.functional
    L = 5
    log(torch.triu_indices(L, L, 1), torch.tril_indices(3, 4, -1),
        torch.triu_indices(2, 3, dtype=torch.int32).dtype)
    log(torch.ones(2, 3, 4).triu(-1)[1], torch.ones(3, 5).tril_(2), torch.ones(4, 2).triu(1))
    window = 2
    i, j = torch.arange(L)[:, None], torch.arange(L)[None, :]
    sliding = (j <= i) & (j > i - window)
    log(sliding.int(), (~sliding).nonzero()[:4])
    seqlens = [2, 3]
    blocks = torch.block_diag(*[torch.ones(n, n, dtype=torch.bool).tril() for n in seqlens])
    log(blocks.int(), blocks.dtype)
    doc_ids = torch.repeat_interleave(torch.arange(2), torch.tensor(seqlens))
    log(doc_ids, torch.repeat_interleave(torch.arange(2), torch.tensor(seqlens), output_size=5))
    same_doc = doc_ids[:, None] == doc_ids[None, :]
    log((same_doc & (j <= i)).int().equal(blocks.int()))
    m = torch.tensor([[True, False, True]])
    log(F.pad(m, (0, 2), value=True), F.pad(m, (1, 0)), F.pad(m, (0, 1)).dtype)
    labels = torch.tensor([[1, 2, 3], [4, 5, 6]])
    log(F.pad(labels, (0, 2), value=-100), F.pad(labels, (1, 1), mode="constant", value=0).dtype)
    _err(log, lambda: F.pad(labels, (0, 1), value=0.5))
    _err(log, lambda: F.pad(m, (0, 1), value=2))
    _err(log, lambda: F.pad(labels.float(), (0, 1), mode="reflect", value=1.0))
    _err(log, lambda: F.pad(labels, (0, 1, 0), value=0))
    _err(log, lambda: F.pad(labels, (0, 5), mode="reflect"))
    rnn = torch.nn.utils.rnn
    seqs = [torch.tensor([1, 2, 3]), torch.tensor([4]), torch.tensor([5, 6])]
    log(rnn.pad_sequence(seqs, batch_first=True, padding_value=-100),
        rnn.pad_sequence(seqs, padding_value=0).shape)
    log(rnn.pad_sequence(seqs, batch_first=True, padding_side="left"))
    log(torch.full_like(labels, -100), torch.full_like(labels, 2.7), labels.new_full((2,), 7.9))
    _err(log, lambda: torch.full_like(labels, float("-inf")))
    _err(log, lambda: torch.full((2,), float("nan"), dtype=torch.int32))
    _err(log, lambda: labels.new_full((2,), float("inf")))
    log(labels.new_zeros(2, dtype=torch.bool), labels.new_ones((1, 2)).dtype,
        labels.new_empty(0).shape)
    log(torch.zeros(2, 3).masked_fill_(torch.tensor([True, False, True]), float("-inf")))
    _err(log, lambda: labels.masked_fill(labels > 2, float("-inf")))
    _err(log, lambda: labels.masked_fill(labels > 2, 0.5))
    log(labels.masked_fill(labels > 2, 0.0), labels.masked_fill(labels > 2, True))


@program()
def deterministic_warn_only_sweep_over_training_ops(torch, log):
    F = torch.nn.functional
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        x = torch.randn(2, 3, 4, 4, requires_grad=True)
        ops = [
            lambda: F.interpolate(x, scale_factor=2, mode="bilinear").sum().backward(),
            lambda: torch.histc(torch.rand(10)),
            lambda: torch.bincount(torch.tensor([1, 2, 2])),
            lambda: torch.zeros(3).index_add_(0, torch.tensor([0, 0]), torch.ones(2)),
            lambda: torch.zeros(3).scatter_reduce_(0, torch.tensor([0, 0]), torch.ones(2), "sum"),
            lambda: torch.randn(5).kthvalue(2),
            lambda: torch.randn(5).median(0),
            lambda: F.embedding(torch.tensor([0, 0]), torch.randn(3, 2, requires_grad=True))
            .sum().backward(),
            lambda: F.ctc_loss(torch.randn(5, 1, 3).log_softmax(2), torch.tensor([[1, 2]]), [5],
                               [2]),
            lambda: F.avg_pool3d(torch.randn(1, 1, 2, 2, 2, requires_grad=True), 1).sum()
            .backward(),
            lambda: F.adaptive_avg_pool2d(x, 2).sum().backward(),
            lambda: F.max_pool2d(x, 2).sum().backward(),
            lambda: F.grid_sample(x, torch.zeros(2, 2, 2, 2), align_corners=False).sum()
            .backward(),
            lambda: torch.ones(2).resize_(3),
            lambda: torch.randn(3, requires_grad=True).gather(0, torch.tensor([0, 0])).sum()
            .backward(),
            lambda: torch.zeros(3).index_copy_(0, torch.tensor([0, 0]), torch.ones(2)),
            lambda: F.pad(x, (1, 1, 1, 1), mode="reflect").sum().backward(),
            lambda: F.pad(x, (1, 1, 1, 1), mode="replicate").sum().backward(),
            lambda: torch.unique(torch.tensor([1, 2, 1])),
            lambda: torch.tensor([1, 2, 1]).mode()]
        for i, call in enumerate(ops):
            _err(log, lambda: call() is None)
            log(i)
        torch.use_deterministic_algorithms(True)
        log(torch.empty(3), torch.empty(2, dtype=torch.int32), torch.ones(2).resize_(4)[2:])
        _err(log, lambda: torch.zeros(3).put_(torch.tensor([0, 0]), torch.ones(2),
                                              accumulate=True))
    finally:
        torch.use_deterministic_algorithms(False)

@program()
def dtype_complex_real_pairs_finfo_and_low_precision_formatting(torch, log):
    for name in ("float16", "bfloat16", "float32", "float64", "complex32", "complex64",
                 "complex128", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                 "uint64", "bool", "float8_e4m3fn", "float8_e5m2"):
        d = getattr(torch, name)
        _err(log, lambda: d.to_real())
        _err(log, lambda: d.to_complex())
    h = torch.randn(2, 3).half()
    b = torch.randn(2, 3).bfloat16()
    print(torch.finfo(torch.float16), torch.iinfo(torch.int8))
    log(torch.finfo(torch.bfloat16).resolution, torch.finfo(torch.float16).smallest_normal)
    print(f"{h[0, 0]:.3f}", f"{b.sum():.2e}", format(torch.tensor(3), "04d"))
    print(repr(torch.tensor([1e-8, 1.0], dtype=torch.float16)),
          repr(torch.tensor([1e20, 1.0], dtype=torch.bfloat16)),
          repr(torch.tensor([0.0, -0.0], dtype=torch.bfloat16)))
    print(repr(torch.arange(12, dtype=torch.float16).reshape(3, 4) / 7), repr(h.max(-1)))
    log(type(h[0, 0].item()).__name__, h.element_size(), b.itemsize, h.nbytes)
    log(torch.promote_types(torch.float16, torch.bfloat16), torch.result_type(h, 1.0),
        torch.result_type(torch.tensor(1), h), (h + b).dtype, (h + torch.tensor([2.0])).dtype)
    log(torch.can_cast(torch.float32, torch.float16), torch.can_cast(torch.float16, torch.int32))
    log(h.type(), b.type(), h.float().type(torch.HalfTensor).dtype)


test_program = PROGRAMS.test(_check)
