"""Ordinary PyTorch programs, round 17 (segmentation, detection utilities, CTC, seq2seq beam
search, word2vec, style transfer, WGAN-GP, TCNs, capsules, pruning, parametrizations,
checkpointing, custom Functions, autograd.functional, torch.func, distributions, CPU autocast,
GradScaler, data loading, state_dict surgery, saving and printing) run under ember and torch
from the same seed: everything they record (values, dtypes, shapes, printed text, warnings,
exception classes and messages) must agree."""
import contextlib
import importlib
import io
import math
import re
import warnings

import numpy as np
import pytest
import torch

import ember
from probe_registry import Programs


class _Log(list):
    """What a program records: its print() output lines and its values."""

    def __call__(self, *values):
        self.append(tuple(_snap(v) for v in values))


def _snap(v):
    if isinstance(v, (torch.Tensor, ember.Tensor)):
        t = v.detach()
        if t.layout is not (torch.strided if isinstance(v, torch.Tensor) else ember.strided):
            t = t.to_dense()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return ("tensor", str(v.dtype), tuple(v.shape), v.requires_grad, t.tolist())
    if isinstance(v, (list, tuple)):
        return type(v).__name__, [_snap(x) for x in v]
    if isinstance(v, dict):
        return "dict", [(k, _snap(x)) for k, x in v.items()]
    if isinstance(v, (torch.dtype, ember.dtype, torch.Size, ember.Size, torch.device,
                      ember.device)):
        return str(v)
    return v


@contextlib.contextmanager
def _every_warning():
    """Records every warning, repeated ones too, but for NumPy's floating-point warnings in
    ember's own modules: ember's filter silences them, and "always" would override it (as it
    would in a program that set it: a difference left, see ember/__init__.py)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", r"(invalid value|divide by zero|overflow|underflow) "
                                "encountered", RuntimeWarning, r"ember(\.|$)")
        yield seen


def _run(lib, program):
    lib.manual_seed(0)
    log = _Log()
    out = io.StringIO()
    with _every_warning() as seen, contextlib.redirect_stdout(out):
        try:
            program(lib, log)
        except Exception as e:   # the exception class and message are part of the comparison
            log(("raised", type(e).__name__, str(e)))
    return log, out.getvalue().splitlines(), [(w.category.__name__, str(w.message))
                                              for w in seen if not _INTERNAL.match(str(w.message))]


# torch's own modules script functions when first imported (a program's first torch.func or
# autograd.functional call): the warning is torch's import-time noise, not the program's
_INTERNAL = re.compile(r"`torch\.jit\.script(_method)?` is deprecated")


def _same(a, b, tol, path="", fail=None):
    """The first place (a path) where a and b differ, floats within tol (relative and absolute)."""
    if isinstance(a, complex) and isinstance(b, complex):
        return _same([a.real, a.imag], [b.real, b.imag], tol, path)
    if isinstance(a, float) and isinstance(b, float):
        if tol is None:
            ok = a == b or (math.isnan(a) and math.isnan(b))
            ok = ok and math.copysign(1, a) == math.copysign(1, b)
        else:
            ok = bool(np.isclose(a, b, rtol=tol, atol=tol, equal_nan=True))
        return None if ok else f"{path}: {a!r} != {b!r}"
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if type(a) is not type(b) or len(a) != len(b):
            return f"{path}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _same(x, y, tol, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if (a == b and type(a) is type(b)) else f"{path}: {a!r} != {b!r}"


@contextlib.contextmanager
def _one_torch_thread():
    """torch on one thread: on a busy machine its pool's waits made these tiny programs 50x
    slower (nothing here is large enough for torch to split a kernel between threads)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _check(program, tol=None):
    with _one_torch_thread():
        got, want = _run(ember, program), _run(torch, program)
    diff = _same(got[0], want[0], tol, "log")
    assert diff is None, diff
    assert got[1] == want[1]            # printed lines
    assert got[2] == want[2]            # warnings


def _module(lib, name):
    """lib's submodule name (a program's `from torch.x import y` under either library)."""
    return importlib.import_module(f"{lib.__name__}.{name}")


PROGRAMS = Programs()
program = PROGRAMS.program


# Tolerances: programs that train through matmuls and convolutions compare within 1e-4 (NumPy's
# BLAS and torch's oneDNN/MKL sum in different orders; the difference grows over steps);
# programs of elementwise arithmetic compare bit for bit.
_TRAIN = 1e-4


@program(tol=_TRAIN)
def unet_dice(torch, log):
    nn, F = torch.nn, torch.nn.functional

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.down1 = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
            self.down2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, padding=1), nn.ReLU())
            self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
            self.out = nn.Conv2d(8, 1, 1)

        def forward(self, x):
            a = self.down1(x)
            b = self.down2(a)
            u = self.up(b)
            u = F.interpolate(u, size=a.shape[-2:], mode="bilinear", align_corners=False)
            return self.out(torch.cat([a, u], 1))

    def dice_loss(logits, target, eps=1.0):
        p = torch.sigmoid(logits)
        inter = (p * target).sum(dim=(2, 3))
        union = p.sum(dim=(2, 3)) + target.sum(dim=(2, 3))
        return 1 - ((2 * inter + eps) / (union + eps)).mean()

    net = UNet()
    print(net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x = torch.randn(2, 1, 8, 8)
    y = (torch.rand(2, 1, 8, 8) > 0.5).float()
    bce = nn.BCEWithLogitsLoss()
    for _ in range(3):
        opt.zero_grad()
        logits = net(x)
        loss = dice_loss(logits, y) + bce(logits, y)
        loss.backward()
        opt.step()
        log(loss, logits.shape)
    up = F.interpolate(x, scale_factor=1.5, mode="nearest")
    log(up.shape, F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=True)[0, 0, 0])


@program()
def box_iou_and_nms(torch, log):
    def box_area(b):
        return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])

    def box_iou(a, b):
        lt = torch.max(a[:, None, :2], b[:, :2])
        rb = torch.min(a[:, None, 2:], b[:, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[..., 0] * wh[..., 1]
        return inter / (box_area(a)[:, None] + box_area(b) - inter)

    def nms(boxes, scores, thr):
        order = scores.argsort(descending=True)
        keep = []
        while order.numel() > 0:
            i = order[0]
            keep.append(i.item())
            if order.numel() == 1:
                break
            iou = box_iou(boxes[i].unsqueeze(0), boxes[order[1:]])[0]
            order = order[1:][iou <= thr]
        return torch.tensor(keep, dtype=torch.long)

    xy = torch.rand(12, 2) * 10
    wh = torch.rand(12, 2) * 5 + 1
    boxes = torch.cat([xy, xy + wh], dim=1)
    scores = torch.rand(12)
    iou = box_iou(boxes, boxes)
    log(iou, iou.diagonal())
    keep = nms(boxes, scores, 0.3)
    log(keep, boxes[keep], scores[keep])
    # batched NMS through the coordinate offset trick
    labels = torch.randint(0, 3, (12,))
    offsets = labels.to(boxes) * (boxes.max() + 1)
    log(nms(boxes + offsets[:, None], scores, 0.3))
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    log(torch.stack([cx, cy, boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], -1).unbind(1))


@program()
def anchor_generation(torch, log):
    def anchors(fsize, stride, sizes, ratios):
        scales = torch.as_tensor(sizes, dtype=torch.float32)
        ratios = torch.as_tensor(ratios, dtype=torch.float32)
        h_r = torch.sqrt(ratios)
        w_r = 1 / h_r
        ws = (w_r[:, None] * scales[None, :]).view(-1)
        hs = (h_r[:, None] * scales[None, :]).view(-1)
        base = torch.stack([-ws, -hs, ws, hs], dim=1) / 2
        base = base.round()
        sx = torch.arange(0, fsize[1], dtype=torch.int32) * stride
        sy = torch.arange(0, fsize[0], dtype=torch.int32) * stride
        yy, xx = torch.meshgrid(sy, sx, indexing="ij")
        shifts = torch.stack((xx.reshape(-1), yy.reshape(-1), xx.reshape(-1), yy.reshape(-1)), 1)
        return (shifts.view(-1, 1, 4) + base.view(1, -1, 4)).reshape(-1, 4)

    a = anchors((3, 4), 16, (32, 64), (0.5, 1.0, 2.0))
    log(a.shape, a.dtype, a[:7], a[-3:])
    gx, gy = torch.meshgrid(torch.arange(3), torch.arange(2), indexing="xy")
    log(gx, gy)
    log(torch.cartesian_prod(torch.tensor([1, 2]), torch.tensor([3, 4, 5])))


@program(tol=1e-5)
def roi_align_through_grid_sample(torch, log):
    F = torch.nn.functional
    feat = torch.randn(1, 3, 8, 8, requires_grad=True)
    rois = torch.tensor([[0.0, 0.0, 4.0, 4.0], [2.0, 1.0, 7.0, 6.0], [1.0, 3.0, 3.5, 7.5]])
    H = W = 8
    x1, y1, x2, y2 = rois.unbind(1)
    theta = torch.zeros(len(rois), 2, 3)
    theta[:, 0, 0] = (x2 - x1) / (W - 1)
    theta[:, 0, 2] = (x1 + x2) / (W - 1) - 1
    theta[:, 1, 1] = (y2 - y1) / (H - 1)
    theta[:, 1, 2] = (y1 + y2) / (H - 1) - 1
    grid = F.affine_grid(theta, (len(rois), 3, 2, 2), align_corners=True)
    pooled = F.grid_sample(feat.expand(len(rois), -1, -1, -1), grid, mode="bilinear",
                           padding_mode="zeros", align_corners=True)
    log(grid, pooled)
    pooled.pow(2).sum().backward()
    log(feat.grad)
    for mode, pad in [("nearest", "border"), ("bilinear", "reflection")]:
        g = F.grid_sample(feat, grid[:1] * 1.3, mode=mode, padding_mode=pad, align_corners=False)
        log(mode, g)
    log(F.adaptive_max_pool2d(feat[:, :, 0:5, 0:5], (2, 2), return_indices=True))


@program(tol=_TRAIN)
def ctc_speech_model(torch, log):
    nn, F = torch.nn, torch.nn.functional

    class Model(nn.Module):
        def __init__(self, n_feats=5, n_class=6):
            super().__init__()
            self.conv = nn.Conv1d(n_feats, 8, 3, padding=1)
            self.rnn = nn.GRU(8, 8, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(16, n_class)

        def forward(self, x):             # (B, F, T)
            x = F.relu(self.conv(x)).transpose(1, 2)
            x, _ = self.rnn(x)
            return self.fc(x).log_softmax(-1)

    model = Model()
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(3, 5, 12)
    targets = torch.randint(1, 6, (3, 4))
    in_len = torch.tensor([12, 10, 12])
    tgt_len = torch.tensor([4, 3, 2])
    for _ in range(3):
        opt.zero_grad()
        lp = model(x)
        loss = ctc(lp.transpose(0, 1), targets, in_len, tgt_len)
        loss.backward()
        opt.step()
        log(loss)
    best = lp.argmax(-1)
    for b in range(3):
        seq = torch.unique_consecutive(best[b, :in_len[b]])
        log(seq[seq != 0])
    flat = torch.cat([targets[b, :tgt_len[b]] for b in range(3)])
    log(F.ctc_loss(lp.transpose(0, 1), flat, in_len, tgt_len, reduction="none"))
    log(F.ctc_loss(lp.transpose(0, 1), flat, in_len, tgt_len, reduction="sum"))


@program(tol=1e-5)
def seq2seq_attention_beam_search(torch, log):
    nn, F = torch.nn, torch.nn.functional
    V, E, H, PAD, BOS, EOS = 9, 6, 8, 0, 1, 2

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, E, padding_idx=PAD)
            self.enc = nn.GRU(E, H, batch_first=True)
            self.dec = nn.GRUCell(E + H, H)
            self.attn = nn.Linear(H, H, bias=False)
            self.out = nn.Linear(2 * H, V)

        def encode(self, src):
            mem, h = self.enc(self.emb(src))
            return mem, h[0]

        def step(self, tok, h, mem, mask):
            scores = torch.bmm(mem, self.attn(h).unsqueeze(2)).squeeze(2)
            scores = scores.masked_fill(~mask, float("-inf"))
            a = F.softmax(scores, dim=1)
            ctx = torch.bmm(a.unsqueeze(1), mem).squeeze(1)
            h = self.dec(torch.cat([self.emb(tok), ctx], 1), h)
            return F.log_softmax(self.out(torch.cat([h, ctx], 1)), -1), h, a

    model = Seq2Seq().eval()
    src = torch.tensor([[3, 4, 5, 6], [7, 3, 0, 0]])
    mask = src != PAD
    K, max_len = 3, 5
    with torch.no_grad():
        mem, h = model.encode(src)
        B = src.size(0)
        mem = mem.repeat_interleave(K, 0)
        mask_k = mask.repeat_interleave(K, 0)
        h = h.repeat_interleave(K, 0)
        tok = torch.full((B * K,), BOS, dtype=torch.long)
        scores = torch.zeros(B, K)
        scores[:, 1:] = float("-inf")
        hyps = torch.full((B * K, 0), BOS, dtype=torch.long)
        finished = torch.zeros(B * K, dtype=torch.bool)
        for _ in range(max_len):
            lp, h, a = model.step(tok, h, mem, mask_k)
            lp = lp.masked_fill(finished[:, None], float("-inf"))
            lp[:, EOS] = torch.where(finished, torch.zeros(()), lp[:, EOS])
            cand = (scores.view(-1, 1) + lp).view(B, -1)
            scores, idx = cand.topk(K, dim=1)
            beam = torch.div(idx, V, rounding_mode="floor")
            tok = (idx % V).view(-1)
            base = (torch.arange(B) * K)[:, None]
            sel = (base + beam).view(-1)
            h = h.index_select(0, sel)
            hyps = torch.cat([hyps.gather(0, sel[:, None].expand(-1, hyps.size(1))),
                              tok[:, None]], 1)
            finished = finished[sel] | (tok == EOS)
        log(hyps, scores, a.sum(1))
        lengths = (hyps != EOS).long().cumprod(1).sum(1) + 1
        log(lengths, (scores / lengths.view(B, K).float() ** 0.7).argmax(1))


@program(tol=1e-5)
def word2vec_negative_sampling(torch, log):
    nn, F = torch.nn, torch.nn.functional
    corpus = torch.randint(0, 12, (60,))
    counts = torch.bincount(corpus, minlength=12).float()
    noise = counts.pow(0.75)
    noise /= noise.sum()
    window = 2
    centers, contexts = [], []
    for i in range(window, len(corpus) - window):
        for j in range(-window, window + 1):
            if j:
                centers.append(corpus[i])
                contexts.append(corpus[i + j])
    centers, contexts = torch.stack(centers), torch.stack(contexts)

    class SGNS(nn.Module):
        def __init__(self, V=12, D=5):
            super().__init__()
            self.inp = nn.Embedding(V, D)
            self.ctx = nn.Embedding(V, D)
            nn.init.uniform_(self.inp.weight, -0.5 / D, 0.5 / D)
            nn.init.zeros_(self.ctx.weight)

        def forward(self, c, o, neg):
            v = self.inp(c)
            pos = F.logsigmoid((v * self.ctx(o)).sum(-1))
            negs = F.logsigmoid(-torch.bmm(self.ctx(neg), v.unsqueeze(2)).squeeze(2)).sum(-1)
            return -(pos + negs).mean()

    model = SGNS()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for step in range(4):
        idx = torch.randperm(len(centers))[:32]
        neg = torch.multinomial(noise, 32 * 4, replacement=True).view(32, 4)
        opt.zero_grad()
        loss = model(centers[idx], contexts[idx], neg)
        loss.backward()
        opt.step()
        log(loss, neg[0])
    w = F.normalize(model.inp.weight, dim=1)
    sim = w @ w[3]
    log(sim.topk(4))


@program(tol=1e-4)
def neural_style_transfer_lbfgs(torch, log):
    nn, F = torch.nn, torch.nn.functional
    features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
    for p in features.parameters():
        p.requires_grad_(False)

    def gram(x):
        b, c, h, w = x.shape
        f = x.view(b, c, h * w)
        return f.bmm(f.transpose(1, 2)) / (c * h * w)

    content = torch.rand(1, 3, 6, 6)
    style = torch.rand(1, 3, 6, 6)
    c_feat = features(content).detach()
    s_gram = gram(features(style)).detach()
    img = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([img], lr=0.5, max_iter=4, history_size=5)
    losses = []

    def closure():
        opt.zero_grad()
        f = features(img)
        loss = F.mse_loss(f, c_feat) + 1e3 * F.mse_loss(gram(f), s_gram)
        loss.backward()
        losses.append(loss.item())
        return loss

    for _ in range(2):
        opt.step(closure)
        with torch.no_grad():
            img.clamp_(0, 1)
    log(losses, img[0, 0, 0], opt.state[img]["n_iter"], opt.state[img]["func_evals"])
    print(opt)


@program(tol=_TRAIN)
def wgan_gradient_penalty(torch, log):
    nn = torch.nn
    G = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    D = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))

    def gradient_penalty(real, fake):
        eps = torch.rand(real.size(0), 1)
        x = (eps * real + (1 - eps) * fake).requires_grad_(True)
        out = D(x)
        g, = torch.autograd.grad(out, x, grad_outputs=torch.ones_like(out), create_graph=True)
        return ((g.norm(2, dim=1) - 1) ** 2).mean()

    for it in range(3):
        real = torch.randn(16, 2) * 0.5 + 2
        for _ in range(2):
            fake = G(torch.randn(16, 2)).detach()
            opt_d.zero_grad()
            gp = gradient_penalty(real, fake)
            d_loss = D(fake).mean() - D(real).mean() + 10 * gp
            d_loss.backward()
            opt_d.step()
        opt_g.zero_grad()
        g_loss = -D(G(torch.randn(16, 2))).mean()
        g_loss.backward()
        opt_g.step()
        log(d_loss, gp, g_loss)
    log(D[0].weight.grad)


@program(tol=_TRAIN)
def temporal_convolutional_network(torch, log):
    nn, F = torch.nn, torch.nn.functional
    weight_norm = nn.utils.parametrizations.weight_norm

    class Block(nn.Module):
        def __init__(self, cin, cout, k, d):
            super().__init__()
            self.pad = (k - 1) * d
            self.conv = weight_norm(nn.Conv1d(cin, cout, k, dilation=d, padding=self.pad))
            self.down = nn.Conv1d(cin, cout, 1) if cin != cout else None

        def forward(self, x):
            y = self.conv(x)[:, :, :-self.pad]      # chomp: causal
            res = x if self.down is None else self.down(x)
            return F.relu(y + res)

    tcn = nn.Sequential(Block(2, 4, 3, 1), Block(4, 4, 3, 2), Block(4, 4, 3, 4))
    print(tcn[0])
    log(sorted(tcn.state_dict()))
    x = torch.randn(2, 2, 16)
    y = tcn(x)
    # causality: changing a future input leaves past outputs unchanged
    x2 = x.clone()
    x2[:, :, 10:] += 1
    log(y.shape, torch.equal(tcn(x2)[:, :, :10], y[:, :, :10]))
    opt = torch.optim.AdamW(tcn.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        loss = y.pow(2).mean() if _ == 0 else tcn(x).pow(2).mean()
        loss.backward()
        opt.step()
        log(loss)
    pw = tcn[1].conv.parametrizations.weight
    log(pw.original0.shape, pw.original1.shape)
    F_ = F.conv1d(F.pad(x, (4, 0)), torch.ones(1, 2, 3), dilation=2)
    log(F_)


@program(tol=1e-5)
def capsule_dynamic_routing(torch, log):
    F = torch.nn.functional

    def squash(s, dim=-1):
        n2 = (s ** 2).sum(dim, keepdim=True)
        return n2 / (1 + n2) * s / torch.sqrt(n2 + 1e-8)

    B, n_in, n_out, d_in, d_out = 2, 6, 3, 4, 5
    u = squash(torch.randn(B, n_in, d_in))
    W = torch.randn(n_in, n_out, d_out, d_in, requires_grad=True)
    u_hat = torch.einsum("ijab,nib->nija", W, u)         # (B, n_in, n_out, d_out)
    b = torch.zeros(B, n_in, n_out)
    for r in range(3):
        c = F.softmax(b, dim=2)
        s = (c.unsqueeze(-1) * u_hat).sum(1)
        v = squash(s)
        if r < 2:
            b = b + (u_hat * v.unsqueeze(1)).sum(-1)
    lengths = v.norm(dim=-1)
    target = F.one_hot(torch.tensor([1, 2]), n_out).float()
    margin = (target * F.relu(0.9 - lengths) ** 2
              + 0.5 * (1 - target) * F.relu(lengths - 0.1) ** 2).sum(1).mean()
    margin.backward()
    log(c, lengths, margin, W.grad.abs().sum())


@program()
def pruning(torch, log):
    nn = torch.nn
    prune = _module(torch, "nn.utils.prune")
    net = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    prune.l1_unstructured(net[0], name="weight", amount=0.4)
    log(sorted(n for n, _ in net[0].named_parameters()), sorted(n for n, _ in
                                                                net[0].named_buffers()))
    log(net[0].weight_mask.sum(), float(net[0].weight.eq(0).sum()))
    prune.ln_structured(net[2], "weight", amount=1, n=2, dim=0)
    log(net[2].weight_mask)
    prune.random_unstructured(net[0], "bias", amount=2)
    log(net[0].bias_mask)
    prune.l1_unstructured(net[0], name="weight", amount=0.2)   # pruning again: a container
    log(type(net[0]._forward_pre_hooks[list(net[0]._forward_pre_hooks)[0]]).__name__,
        net[0].weight_mask.sum())
    out = net(torch.randn(2, 6))
    out.sum().backward()
    log(out, net[0].weight_orig.grad.eq(0).sum())
    prune.remove(net[0], "weight")
    log(sorted(net[0].state_dict()), prune.is_pruned(net), prune.is_pruned(net[0]))
    m1, m2 = nn.Linear(4, 4), nn.Linear(4, 2)
    prune.global_unstructured([(m1, "weight"), (m2, "weight")],
                              pruning_method=prune.L1Unstructured, amount=10)
    log(m1.weight_mask.sum() + m2.weight_mask.sum(), m1.weight_mask)
    prune.identity(m2, "bias")
    log(m2.bias_mask)
    log(("raised", pytest_raises(lambda: prune.l1_unstructured(m1, "weight", amount=1.5))))


def pytest_raises(fn):
    try:
        fn()
    except Exception as e:
        return type(e).__name__, str(e)
    return None


@program(tol=1e-5)
def spectral_and_weight_norm(torch, log):
    nn = torch.nn
    sn = nn.utils.parametrizations.spectral_norm(nn.Linear(5, 4), n_power_iterations=2)
    print(sn)
    x = torch.randn(3, 5)
    y1 = sn(x)
    y2 = sn(x)
    log(y1, (y1 - y2).abs().max() < 1e-6)   # (one more power iteration each call)
    sn.eval()
    log(torch.linalg.matrix_norm(sn.weight, 2))
    log(sorted(sn.state_dict()))
    old = nn.utils.weight_norm(nn.Linear(3, 2), name="weight")   # deprecated API: a warning
    log(sorted(n for n, _ in old.named_parameters()), old.weight_g.shape)
    old = nn.utils.remove_weight_norm(old)
    log(sorted(n for n, _ in old.named_parameters()))
    c = nn.utils.spectral_norm(nn.Conv2d(2, 3, 3))
    log(sorted(c.state_dict()), c(torch.randn(1, 2, 4, 4)).shape)
    wn = nn.utils.parametrizations.weight_norm(nn.Linear(3, 2), dim=None)
    log(wn.parametrizations.weight.original0, nn.utils.parametrize.is_parametrized(wn))
    nn.utils.parametrize.remove_parametrizations(wn, "weight", leave_parametrized=True)
    log(nn.utils.parametrize.is_parametrized(wn), type(wn.weight).__name__)


@program(tol=1e-6)
def activation_checkpointing(torch, log):
    nn = torch.nn
    cp = _module(torch, "utils.checkpoint")
    checkpoint, checkpoint_sequential = cp.checkpoint, cp.checkpoint_sequential
    seq = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.Tanh()) for _ in range(4)])
    x = torch.randn(3, 4, requires_grad=True)
    ref = seq(x).sum()
    ref.backward()
    want = [p.grad.clone() for p in seq.parameters()] + [x.grad.clone()]
    for reentrant in (False, True):
        seq.zero_grad()
        x.grad = None
        h = x
        for blk in seq:
            h = checkpoint(blk, h, use_reentrant=reentrant)
        h.sum().backward()
        got = [p.grad for p in seq.parameters()] + [x.grad]
        log(reentrant, all(torch.allclose(a, b) for a, b in zip(got, want)), h.grad_fn.name())
    seq.zero_grad()
    out = checkpoint_sequential(seq, 2, x, use_reentrant=False)
    out.sum().backward()
    log(out, seq[0][0].weight.grad)
    drop = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    y = checkpoint(drop, x, use_reentrant=False)     # the RNG state is replayed
    y.sum().backward()
    log(y, x.grad)
    log(pytest_raises(lambda: checkpoint(drop, x)))


@program()
def custom_autograd_functions(torch, log):
    once_differentiable = _module(torch, "autograd.function").once_differentiable

    class Clamp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, lo, hi):
            ctx.save_for_backward(x)
            ctx.lo, ctx.hi = lo, hi
            return x.clamp(lo, hi)

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * ((x >= ctx.lo) & (x <= ctx.hi)), None, None

    class SortWithIndex(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            v, i = x.sort()
            ctx.mark_non_differentiable(i)
            ctx.save_for_backward(i)
            return v, i

        @staticmethod
        def backward(ctx, gv, gi):
            i, = ctx.saved_tensors
            log(ctx.needs_input_grad, gi)
            return torch.zeros_like(gv).scatter(-1, i, gv)

    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 2 * x * g

    x = torch.randn(5, requires_grad=True)
    y = Clamp.apply(x, -0.5, 0.5)
    y.sum().backward()
    log(y, x.grad, type(y.grad_fn).__name__)
    g, = torch.autograd.grad(Clamp.apply(x, -1, 1).sum(), x, create_graph=True)
    log(pytest_raises(lambda: g.sum().backward()))
    v, i = SortWithIndex.apply(x)
    log(i.requires_grad, v.requires_grad)
    (v * torch.arange(5.)).sum().backward()
    log(x.grad)
    xd = torch.randn(4, dtype=torch.double, requires_grad=True)
    log(torch.autograd.gradcheck(Square.apply, (xd,)),
        torch.autograd.gradgradcheck(Square.apply, (xd,)))
    gg, = torch.autograd.grad(Square.apply(xd).sum(), xd, create_graph=True)
    gg.sum().backward()
    log(xd.grad)


@program(tol=1e-6)
def autograd_functional(torch, log):
    AF = torch.autograd.functional

    def f(x):
        return torch.stack([x[0] ** 2 * x[1], x[1].sin() + x[2], (x ** 3).sum()])

    def scalar(x, y):
        return (x.exp() * y).sum() + (x * x).sum() * y.sum()

    x = torch.tensor([0.5, -1.0, 2.0])
    y = torch.tensor([1.0, 0.3, -0.2])
    log(AF.jacobian(f, x), AF.jacobian(f, x, vectorize=True, strategy="forward-mode"))
    log(AF.hessian(scalar, (x, y)))
    v = torch.tensor([1.0, 0.0, -1.0])
    log(AF.vjp(f, x, v), AF.jvp(f, x, v))
    log(AF.hvp(lambda z: scalar(z, y), x, v), AF.vhp(lambda z: scalar(z, y), x, v))
    J = AF.jacobian(lambda a, b: (a * b, a + b), (x, y))
    log(J)
    log(AF.jacobian(f, x, create_graph=True).requires_grad)
    log(pytest_raises(lambda: AF.jacobian(f, x, strategy="forward-mode")))


@program(tol=1e-5)
def torch_func_ensembles(torch, log):
    func = _module(torch, "func")
    functional_call, grad, grad_and_value = func.functional_call, func.grad, func.grad_and_value
    jacfwd, jacrev, stack_module_state, vmap = (func.jacfwd, func.jacrev,
                                                func.stack_module_state, func.vmap)
    nn = torch.nn
    models = [nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)) for _ in range(3)]
    params, buffers = stack_module_state(models)
    log(sorted(params), params["0.weight"].shape)
    base = models[0]
    x = torch.randn(5, 3)

    def fmodel(p, b, x):
        return functional_call(base, (p, b), (x,))

    ens = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
    log(ens.shape, torch.allclose(ens[1], models[1](x)))
    ps = {k: v.detach() for k, v in base.named_parameters()}

    def loss(p, xi, yi):
        return (functional_call(base, p, (xi.unsqueeze(0),)) - yi).pow(2).sum()

    y = torch.randn(5)
    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(ps, x, y)
    log({k: v.shape for k, v in per_sample.items()}, per_sample["2.bias"])
    g, val = grad_and_value(loss)(ps, x[0], y[0])
    log(val, g["0.bias"])

    def f(x):
        return x.sin() * x.sum()

    z = torch.randn(3)
    log(jacrev(f)(z), jacfwd(f)(z), jacfwd(jacrev(f))(z).shape)
    log(vmap(torch.dot)(torch.randn(4, 3), torch.randn(4, 3)))
    log(vmap(lambda a: a.sum(0), in_dims=1, out_dims=0)(torch.arange(6.).view(2, 3)))


@program(tol=1e-6)
def distributions_toolkit(torch, log):
    D = torch.distributions
    n = D.Normal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.5]))
    print(n)
    s = n.sample((3,))
    log(s, n.log_prob(s), n.entropy(), n.cdf(s), n.icdf(torch.tensor([0.1, 0.9])))
    r = n.rsample()
    log(r, n.batch_shape, n.event_shape)
    cat = D.Categorical(logits=torch.tensor([0.1, 1.0, -0.5]))
    print(cat)
    log(cat.probs, cat.sample((6,)), cat.entropy(), cat.log_prob(torch.tensor([0, 2])))
    mix = D.MixtureSameFamily(D.Categorical(torch.tensor([0.3, 0.7])),
                              D.Normal(torch.tensor([-1.0, 2.0]), torch.tensor([0.5, 1.0])))
    xs = mix.sample((4,))
    log(xs, mix.log_prob(xs), mix.mean, mix.variance, mix.cdf(torch.tensor(0.0)))
    log_normal = D.TransformedDistribution(D.Normal(0.0, 1.0),
                                           [D.transforms.AffineTransform(1.0, 2.0),
                                            D.transforms.ExpTransform()])
    z = log_normal.sample((3,))
    log(z, log_normal.log_prob(z), D.LogNormal(1.0, 2.0).log_prob(z))
    sig = D.TransformedDistribution(D.Uniform(0.0, 1.0), [D.transforms.SigmoidTransform().inv])
    log(sig.sample((2,)))
    p = D.Normal(torch.zeros(3), torch.ones(3))
    q = D.Normal(torch.tensor([0.5, 0.0, -1.0]), torch.tensor([1.0, 2.0, 0.5]))
    log(D.kl_divergence(p, q), D.kl_divergence(D.Independent(p, 1), D.Independent(q, 1)))
    log(D.kl_divergence(cat, D.Categorical(probs=torch.tensor([0.2, 0.3, 0.5]))))
    mvn = D.MultivariateNormal(torch.zeros(2), torch.tensor([[2.0, 0.3], [0.3, 0.5]]))
    log(mvn.sample((2,)), mvn.entropy(), mvn.scale_tril)
    log(pytest_raises(lambda: D.Normal(0.0, -1.0)))
    log(D.Bernoulli(logits=torch.tensor([0.0, 2.0])).sample((3,)),
        D.Beta(2.0, 3.0).sample((2,)), D.Gamma(torch.tensor([2.0]), 1.0).rsample((2,)))


@program(tol=1e-2)   # bfloat16 values: torch's oneDNN bf16 kernels may round differently
def cpu_autocast_bfloat16(torch, log):
    nn, F = torch.nn, torch.nn.functional
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16, 3))
    x = torch.randn(2, 2, 4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = model[0](x)
        out = model(x)
        loss = F.cross_entropy(out, torch.tensor([0, 2]))
        sm = out.softmax(-1)
        mm = x.view(2, -1) @ x.view(2, -1).T
        log(torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))
    log(h.dtype, out.dtype, loss.dtype, sm.dtype, mm.dtype)
    loss.backward()
    log(model[3].weight.grad.dtype, out, loss)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=False):
        log(model(x).dtype)
    with torch.autocast(device_type="cpu"):
        log(torch.mm(x.view(2, -1), x.view(2, -1).T).dtype)


@program(tol=1e-5)
def einsum_heavy(torch, log):
    a = torch.randn(2, 3, 4)
    b = torch.randn(2, 4, 5)
    W = torch.randn(3, 4, 6)
    log(torch.einsum("bij,bjk->bik", a, b), torch.einsum("bii->b", torch.randn(2, 3, 3)))
    log(torch.einsum("i,j->ij", torch.arange(3.), torch.arange(2.)))
    log(torch.einsum("bi,ioj,bj->bo", a[:, 0], W.transpose(1, 2)[:, :, :4].transpose(1, 2).
                     contiguous().view(3, 4, 6)[:, :4, :4].contiguous()[:, :, :3].transpose(0, 1)
                     .contiguous(), a[:, 1, :3]))
    q, k, v = torch.randn(3, 2, 2, 4, 3).unbind(0)
    att = torch.einsum("bhqd,bhkd->bhqk", q, k).softmax(-1)
    log(torch.einsum("bhqk,bhkd->bhqd", att, v))
    log(torch.einsum("...ij,...jk", a, b).shape, torch.einsum(a, [0, 1, 2], [0, 2]))
    log(torch.einsum("ii", torch.eye(3) * 2), torch.einsum("ij->ji", torch.arange(6).view(2, 3)))
    log(torch.einsum("i,i->", torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6])))
    log(pytest_raises(lambda: torch.einsum("ij,jk", a, b)))
    log(torch.einsum("b i d, b j d -> b i j", a, a))


@program(tol=1e-5)
def fft_convolution(torch, log):
    F = torch.nn.functional
    x = torch.randn(2, 16)
    k = torch.randn(5)
    n = x.size(-1) + k.size(-1) - 1
    y = torch.fft.irfft(torch.fft.rfft(x, n=n) * torch.fft.rfft(k, n=n), n=n)
    ref = F.conv1d(F.pad(x.unsqueeze(1), (4, 4)), k.flip(0).view(1, 1, -1)).squeeze(1)
    log(y, torch.allclose(y, ref, atol=1e-5))
    X = torch.fft.fft2(torch.randn(4, 4))
    log(X, torch.fft.fftshift(torch.fft.fftfreq(6, d=0.5)), torch.fft.ifft2(X).real)
    spec = torch.fft.rfft(x, norm="ortho")
    log(spec.abs(), spec.angle(), spec.dtype)
    log(torch.fft.irfft(spec, n=16, norm="ortho"))


@program(tol=_TRAIN)
def quantile_regression(torch, log):
    nn = torch.nn
    qs = torch.tensor([0.1, 0.5, 0.9])

    def pinball(pred, y):
        e = y.unsqueeze(1) - pred
        return torch.max(qs * e, (qs - 1) * e).mean()

    x = torch.linspace(-1, 1, 20).unsqueeze(1)
    y = 2 * x.squeeze(1) + 0.3 * torch.randn(20)
    model = nn.Linear(1, 3)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        loss = pinball(model(x), y)
        loss.backward()
        opt.step()
        log(loss)
    log(torch.quantile(y, qs), torch.quantile(y, 0.3, interpolation="midpoint"),
        torch.nanquantile(torch.tensor([1.0, float("nan"), 3.0]), 0.5))
    log(torch.quantile(y.view(4, 5), qs, dim=1, keepdim=True).shape)
    for interp in ("linear", "lower", "higher", "nearest", "midpoint"):
        log(interp, torch.quantile(torch.tensor([1.0, 2.0, 4.0, 7.0]), 0.4, interpolation=interp))


@program()
def knn_with_cdist(torch, log):
    train = torch.randn(20, 3)
    labels = torch.randint(0, 3, (20,))
    test = torch.randn(5, 3)
    d = torch.cdist(test, train)
    dist, idx = d.topk(4, largest=False)
    votes = labels[idx]
    pred, _ = votes.mode(dim=1)
    log(idx, pred, votes)
    log(torch.cdist(test, train, p=1).argmin(1), torch.cdist(test, train, p=float("inf"))[0, :4])
    onehot = torch.nn.functional.one_hot(votes, 3).sum(1)
    log(onehot, onehot.argmax(1))
    log(torch.cdist(test.double(), train.double(), compute_mode="donot_use_mm_for_euclid_dist")
        .argmin(1))


@program(tol=1e-6)
def label_smoothing_losses(torch, log):
    nn, F = torch.nn, torch.nn.functional
    logits = torch.randn(6, 4, requires_grad=True)
    target = torch.tensor([0, 1, 2, 3, -100, 1])
    for ls in (0.0, 0.1, 0.3):
        loss = nn.CrossEntropyLoss(label_smoothing=ls)(logits, target)
        log(ls, loss)
    w = torch.tensor([1.0, 2.0, 0.5, 1.0])
    loss = F.cross_entropy(logits, target, weight=w, label_smoothing=0.2, reduction="none")
    log(loss)
    loss.sum().backward()
    log(logits.grad)
    soft = torch.softmax(torch.randn(6, 4), -1)
    log(F.cross_entropy(logits, soft, label_smoothing=0.1))
    log(pytest_raises(lambda: nn.CrossEntropyLoss(label_smoothing=1.5)(logits, target)))
    print(nn.CrossEntropyLoss(label_smoothing=0.1, ignore_index=3))
    manual = -(F.log_softmax(logits, -1) * (F.one_hot(target.clamp(min=0), 4) * 0.9 + 0.1 / 4)
               ).sum(-1)
    log(manual)


@program(tol=_TRAIN)
def gradient_accumulation(torch, log):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                          weight_decay=1e-4)
    data = torch.randn(12, 4)
    target = torch.randn(12, 2)
    accum = 3
    opt.zero_grad(set_to_none=True)
    for i, (xb, yb) in enumerate(zip(data.split(2), target.split(2))):
        loss = nn.functional.mse_loss(model(xb), yb) / accum
        loss.backward()
        if (i + 1) % accum == 0:
            norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
            opt.step()
            opt.zero_grad(set_to_none=True)
            log(i, loss, norm, model[0].weight.grad)
    log(pytest_raises(lambda: nn.utils.clip_grad_value_(model.parameters(), 0.1)))  # no grads
    log(nn.utils.parameters_to_vector(model.parameters())[:5])
    log(nn.utils.get_total_norm([torch.tensor([3.0, 4.0]), torch.tensor([12.0])]))


@program(tol=1e-6)      # the gradients are matmuls
def grad_scaler_on_cpu(torch, log):
    nn = torch.nn
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8, growth_interval=2)
    x = torch.randn(4, 3)
    for step in range(5):
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        if step == 2:
            loss = loss * float("inf")
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        log(step, model.weight.grad)
        scaler.step(opt)
        scaler.update()
        log(scaler.get_scale(), model.weight)
    log(scaler.state_dict())
    log(scaler.is_enabled(), scaler.get_growth_factor(), scaler.get_backoff_factor())


@program()
def data_loading(torch, log):
    data = _module(torch, "utils.data")
    BatchSampler, ConcatDataset, DataLoader, Dataset = (data.BatchSampler, data.ConcatDataset,
                                                        data.DataLoader, data.Dataset)
    RandomSampler, SequentialSampler, Subset = (data.RandomSampler, data.SequentialSampler,
                                                data.Subset)
    SubsetRandomSampler, TensorDataset, WeightedRandomSampler, random_split = (
        data.SubsetRandomSampler, data.TensorDataset, data.WeightedRandomSampler,
        data.random_split)
    pad_sequence = _module(torch, "nn.utils.rnn").pad_sequence

    class Seqs(Dataset):
        def __init__(self):
            self.data = [torch.arange(n) + 10 * n for n in (3, 1, 4, 2, 5, 2)]

        def __len__(self):
            return len(self.data)

        def __getitem__(self, i):
            return self.data[i], len(self.data[i]), {"id": i}

    def collate(batch):
        seqs, lens, meta = zip(*batch)
        return pad_sequence(seqs, batch_first=True, padding_value=-1), torch.tensor(lens), \
            [m["id"] for m in meta]

    g = torch.Generator().manual_seed(7)
    dl = DataLoader(Seqs(), batch_size=4, shuffle=True, collate_fn=collate, generator=g)
    for batch in dl:
        log(batch)
    ws = WeightedRandomSampler([0.1, 0.5, 0.2, 0.2], num_samples=8, replacement=True)
    log(list(ws))
    log(list(BatchSampler(SequentialSampler(range(7)), 3, drop_last=False)))
    log(list(SubsetRandomSampler([5, 6, 7, 8])), list(RandomSampler(range(5), num_samples=7)))
    ds = TensorDataset(torch.arange(10.), torch.arange(10) % 3)
    a, b, c = random_split(ds, [0.5, 0.3, 0.2], generator=torch.Generator().manual_seed(1))
    log(len(a), len(b), len(c), a.indices, c[0])
    cat = ConcatDataset([ds, Subset(ds, [1, 2])])
    log(len(cat), cat[11], cat.cumulative_sizes)
    seeds = []
    dl = DataLoader(ds, batch_size=5, num_workers=0,
                    worker_init_fn=lambda wid: seeds.append(wid))
    log([b for b in dl], seeds)
    log(next(iter(DataLoader([{"x": 1.5, "y": (1, 2)}, {"x": 2.0, "y": (3, 4)}], batch_size=2))))
    log(len(DataLoader(ds, batch_size=3, drop_last=True)), len(DataLoader(ds, batch_size=3)))


@program(tol=_TRAIN)
def learning_rate_finder(torch, log):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 1))
    init = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    start, end, steps = 1e-4, 1.0, 8
    gamma = (end / start) ** (1 / (steps - 1))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    x = torch.randn(32, 2)
    y = x.sum(1, keepdim=True)
    lrs, losses, avg = [], [], 0.0
    for i in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        lrs.append(sched.get_last_lr()[0])
        avg = 0.9 * avg + 0.1 * loss.item()
        losses.append(avg / (1 - 0.9 ** (i + 1)))
        sched.step()
    log(lrs, losses)
    best = lrs[int(torch.tensor(losses).argmin())]
    log(best)
    model.load_state_dict(init)
    log(torch.equal(model[0].weight, init["0.weight"]))
    s2 = torch.optim.lr_scheduler.OneCycleLR(torch.optim.SGD(model.parameters(), lr=0.1),
                                             max_lr=best, total_steps=6)
    out = []
    for _ in range(6):
        out.append(s2.get_last_lr()[0])
        s2.optimizer.step()
        s2.step()
    log(out)


@program()
def state_dict_surgery(torch, log):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    wrapped = {"module." + k: v for k, v in model.state_dict().items()}
    fixed = {k.removeprefix("module."): v for k, v in wrapped.items()}
    new = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    log(str(new.load_state_dict(fixed)))
    partial = {k: v for k, v in fixed.items() if not k.startswith("2.")}
    partial["extra.weight"] = torch.zeros(1)
    res = new.load_state_dict(partial, strict=False)
    log(res.missing_keys, res.unexpected_keys)
    print(res)
    bad = dict(fixed)
    bad["2.weight"] = torch.zeros(3, 4)
    log(pytest_raises(lambda: new.load_state_dict(bad)))
    log(pytest_raises(lambda: new.load_state_dict(partial)))
    # re-head: new number of classes, copy the backbone only
    head = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 5))
    sd = head.state_dict()
    sd.update({k: v for k, v in fixed.items() if sd[k].shape == v.shape})
    head.load_state_dict(sd)
    log(torch.equal(head[0].weight, model[0].weight), list(sd)[:3], type(sd).__name__)
    log(list(model.state_dict(keep_vars=True)["0.weight"].shape),
        model.state_dict()["0.weight"].requires_grad)
    sd = model.state_dict(prefix="net.")
    log(list(sd))
    meta = model.state_dict()._metadata
    log(sorted(meta), meta[""], meta["1"])
    model.load_state_dict({k: v.double() for k, v in fixed.items()}, assign=False)
    log(model[0].weight.dtype)


@program()
def save_nested_containers(torch, log):
    import collections
    base = torch.arange(12.).view(3, 4)
    obj = {
        "tensors": [base, base[1], base[:, 1:3]],
        "tuple": (torch.tensor([1, 2], dtype=torch.int16), "text", 3.5, None),
        "od": collections.OrderedDict(b=torch.ones(2, dtype=torch.bool), a=torch.zeros(())),
        "nested": {"deep": [{"x": torch.randn(2)}], "set": {1, 2}},
        "complex": torch.tensor([1 + 2j]),
        "bf16": torch.tensor([1.5, 2.25], dtype=torch.bfloat16),
        "size": torch.Size([2, 3]),
        "dtype": torch.float64,
    }
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    back = torch.load(buf, weights_only=False)
    log(back["tensors"], back["tuple"], back["od"], list(back["od"]), back["nested"]["deep"],
        back["complex"].tolist(), back["bf16"], back["size"], back["dtype"])
    t0, t1, t2 = back["tensors"]
    t0[1, 2] = -1
    log(t1, t2, t2.stride(), t2.storage_offset(), t1.untyped_storage().data_ptr() ==
        t0.untyped_storage().data_ptr())
    buf.seek(0)
    log(sorted(torch.load(buf, weights_only=True)))
    buf = io.BytesIO()
    torch.save({"f": lambda: 1} if False else {"cls": collections.Counter("aab")}, buf)
    buf.seek(0)
    log(pytest_raises(lambda: torch.load(buf, weights_only=True)))
    buf.seek(0)
    log(torch.load(buf, weights_only=False))


@program()
def printing(torch, log):
    nn = torch.nn
    print(torch.tensor([1.0, 2.5, 1e-5]))
    print(torch.tensor([1e10, 1.0]))
    print(torch.tensor([[1, 2], [3, 4]], dtype=torch.int8))
    print(torch.tensor([True, False]))
    print(torch.tensor([1 + 2j, -0.5j]))
    print(torch.arange(2000.).view(40, 50))
    print(torch.randn(3, requires_grad=True) * 2)
    print(torch.zeros(2, 0, 3))
    print(torch.tensor(float("nan")), torch.tensor([float("inf"), -float("inf"), 0.0]))
    print(torch.tensor([0.1, 0.25], dtype=torch.float16), torch.tensor([3], dtype=torch.uint8))
    print(torch.tensor([1.5], dtype=torch.float64), torch.tensor([123456789.0]))
    torch.set_printoptions(precision=2, sci_mode=True)
    print(torch.tensor([1.2345, 100.0]))
    torch.set_printoptions(profile="default")
    print(torch.tensor([1.2345, 100.0]))
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8),
        nn.ModuleDict({"act": nn.SiLU(), "drop": nn.Dropout2d(0.1)}),
        nn.ModuleList([nn.Linear(2, 2), nn.Identity()]),
        nn.LSTM(4, 5, num_layers=2, dropout=0.1), nn.Embedding(10, 3, padding_idx=0),
        nn.MultiheadAttention(4, 2), nn.LayerNorm((4,), eps=1e-6), nn.Upsample(scale_factor=2),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(0), nn.Unflatten(1, (2, 2)),
        nn.TransformerEncoderLayer(4, 2, 8))
    print(model)
    opt = torch.optim.Adam([{"params": model[0].parameters()},
                            {"params": model[1].parameters(), "lr": 0.1}], lr=1e-3)
    print(opt)
    print(torch.optim.SGD(model[3].parameters(), lr=0.01, momentum=0.9))
    print(torch.optim.AdamW(model[5].parameters()))
    print(repr(torch.Size([2, 3])), torch.float16, torch.device("cpu"))
    print(nn.Parameter(torch.ones(2)))
    print(torch.ones(2, 2).to_sparse())
    print(torch.tensor([1.0, 2.0]).grad_fn, (torch.ones(1, requires_grad=True) + 1).grad_fn
          .__class__.__name__)


@program(tol=1e-5)
def mixup_and_cutmix(torch, log):
    F = torch.nn.functional
    x = torch.rand(4, 3, 8, 8)
    y = F.one_hot(torch.tensor([0, 1, 2, 1]), 3).float()
    lam = torch.distributions.Beta(torch.tensor(0.4), torch.tensor(0.4)).sample()
    perm = torch.randperm(4)
    xm = lam * x + (1 - lam) * x[perm]
    ym = torch.lerp(y[perm], y, lam)
    log(lam, perm, xm[0, 0, 0], ym)
    lam2 = float(torch.empty(1).uniform_(0.3, 0.7))
    H = W = 8
    cut = int(W * math.sqrt(1 - lam2))
    cx, cy = torch.randint(W, (1,)).item(), torch.randint(H, (1,)).item()
    x1, x2 = max(cx - cut // 2, 0), min(cx + cut // 2, W)
    y1, y2 = max(cy - cut // 2, 0), min(cy + cut // 2, H)
    xc = x.clone()
    xc[:, :, y1:y2, x1:x2] = x[perm, :, y1:y2, x1:x2]
    lam_adj = 1 - (x2 - x1) * (y2 - y1) / (W * H)
    log(lam2, (x1, x2, y1, y2), lam_adj, xc.sum())
    logits = torch.randn(4, 3)
    log(torch.sum(-ym * F.log_softmax(logits, -1), -1).mean())


@program(tol=1e-6)
def focal_loss_detection(torch, log):
    F = torch.nn.functional

    def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="mean"):
        p = torch.sigmoid(inputs)
        ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce * ((1 - p_t) ** gamma)
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
        return loss.mean() if reduction == "mean" else loss.sum()

    logits = torch.randn(8, 4, requires_grad=True)
    tg = (torch.rand(8, 4) > 0.7).float()
    loss = sigmoid_focal_loss(logits, tg)
    loss.backward()
    log(loss, logits.grad)
    pw = torch.tensor([1.0, 2.0, 3.0, 0.5])
    log(F.binary_cross_entropy_with_logits(logits, tg, pos_weight=pw),
        F.binary_cross_entropy(torch.sigmoid(logits), tg, weight=pw))
    l1 = F.smooth_l1_loss(torch.randn(5, 4), torch.randn(5, 4), beta=1 / 9, reduction="sum")
    log(l1, F.huber_loss(torch.ones(3), torch.tensor([0.0, 1.5, 4.0]), delta=0.5))


@program()
def char_rnn_sampling(torch, log):
    nn = torch.nn
    V = 7
    emb, lstm, head = nn.Embedding(V, 4), nn.LSTM(4, 6, batch_first=True), nn.Linear(6, V)
    text = torch.randint(0, V, (1, 9))
    with torch.no_grad():
        out, state = lstm(emb(text))
        logits = head(out[:, -1])
        tokens = []
        for temp in (1.0, 0.5, 1.0, 2.0, 0.8, 1.0):
            probs = torch.softmax(logits / temp, -1)
            nxt = torch.multinomial(probs, 1)
            tokens.append(nxt.item())
            out, state = lstm(emb(nxt), state)
            logits = head(out[:, -1])
    log(tokens)
    topk_v, topk_i = logits.topk(3)
    filtered = torch.full_like(logits, float("-inf")).scatter(1, topk_i, topk_v)
    log(filtered.isinf().sum(), torch.multinomial(filtered.softmax(-1), 4, replacement=True))
    sorted_logits, sorted_idx = torch.sort(logits, descending=True)
    cum = torch.cumsum(sorted_logits.softmax(-1), -1)
    remove = cum > 0.9
    remove[..., 1:] = remove[..., :-1].clone()
    remove[..., 0] = False
    log(remove, sorted_idx)


@program(tol=_TRAIN)
def super_resolution_pixel_shuffle(torch, log):
    nn, F = torch.nn, torch.nn.functional
    r = 2
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.Tanh(),
                        nn.Conv2d(8, r * r, 3, padding=1), nn.PixelShuffle(r))
    hr = torch.rand(2, 1, 8, 8)
    lr_ = F.avg_pool2d(hr, r)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        sr = net(lr_)
        loss = F.mse_loss(sr, hr)
        loss.backward()
        opt.step()
        psnr = 10 * torch.log10(1 / loss.detach())
        log(loss, psnr)
    log(sr.shape, nn.PixelUnshuffle(2)(hr).shape,
        torch.equal(F.pixel_shuffle(F.pixel_unshuffle(hr, 2), 2), hr))
    log(F.pixel_shuffle(torch.arange(8.).view(1, 8, 1, 1), 2))


@program()
def gumbel_softmax_sampling(torch, log):
    F = torch.nn.functional
    logits = torch.randn(3, 5, requires_grad=True)
    y = F.gumbel_softmax(logits, tau=0.5, hard=True)
    log(y, y.sum(-1))
    (y * torch.arange(5.)).sum().backward()
    log(logits.grad.abs().sum() > 0)
    soft = F.gumbel_softmax(logits, tau=1.0)
    log(soft.argmax(-1))
    g = -torch.empty(3, 5).exponential_().log()
    log(g.shape, (logits + g).argmax(-1))


@program(tol=1e-5)
def conv_batchnorm_fusion(torch, log):
    nn = torch.nn
    conv = nn.Conv2d(3, 4, 3, padding=1)
    bn = nn.BatchNorm2d(4)
    x = torch.randn(2, 3, 5, 5)
    bn.train()
    for _ in range(3):
        bn(conv(x))
    bn.eval()
    with torch.no_grad():
        ref = bn(conv(x))
        std = torch.sqrt(bn.running_var + bn.eps)
        fused = nn.Conv2d(3, 4, 3, padding=1)
        fused.weight.copy_(conv.weight * (bn.weight / std).view(-1, 1, 1, 1))
        fused.bias.copy_((conv.bias - bn.running_mean) * bn.weight / std + bn.bias)
        log(torch.allclose(fused(x), ref, atol=1e-5), bn.num_batches_tracked, bn.running_mean)
    f2 = torch.nn.utils.fusion.fuse_conv_bn_eval(conv.eval(), bn)
    log(torch.allclose(f2(x), ref, atol=1e-5), type(f2).__name__)


@program(tol=_TRAIN)
def sparse_autoencoder(torch, log):
    nn, F = torch.nn, torch.nn.functional
    enc, dec = nn.Linear(8, 12), nn.Linear(12, 8)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-2)
    x = torch.rand(16, 8)
    rho = 0.05
    for _ in range(3):
        opt.zero_grad()
        h = torch.sigmoid(enc(x))
        rho_hat = h.mean(0)
        kl = (rho * torch.log(rho / rho_hat)
              + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
        loss = F.mse_loss(dec(h), x) + 0.1 * kl + 1e-3 * enc.weight.abs().sum()
        loss.backward()
        opt.step()
        log(loss, kl)
    log(F.kl_div(F.log_softmax(x, -1), F.softmax(x.flip(0), -1), reduction="batchmean"))


@program(tol=_TRAIN)
def matrix_factorization(torch, log):
    nn = torch.nn
    users = torch.randint(0, 5, (30,))
    items = torch.randint(0, 6, (30,))
    ratings = torch.randint(1, 6, (30,)).float()

    class MF(nn.Module):
        def __init__(self):
            super().__init__()
            self.u, self.i = nn.Embedding(5, 3), nn.Embedding(6, 3)
            self.ub, self.ib = nn.Embedding(5, 1), nn.Embedding(6, 1)
            self.mu = nn.Parameter(torch.tensor(3.0))

        def forward(self, u, i):
            return (self.u(u) * self.i(i)).sum(1) + self.ub(u).squeeze(1) + \
                self.ib(i).squeeze(1) + self.mu

    mf = MF()
    opt = torch.optim.Adagrad(mf.parameters(), lr=0.1, weight_decay=1e-4)
    for _ in range(4):
        opt.zero_grad()
        loss = nn.functional.mse_loss(mf(users, items), ratings)
        loss.backward()
        opt.step()
        log(loss.sqrt())
    log(mf(torch.tensor([0, 1]), torch.tensor([2, 3])), opt.state_dict()["state"][4])


@program(tol=1e-5)
def least_squares_polynomial_fit(torch, log):
    x = torch.linspace(-1, 1, 10, dtype=torch.float64)
    y = 1 - 2 * x + 0.5 * x ** 3 + 0.01 * torch.randn(10, dtype=torch.float64)
    A = torch.linalg.vander(x, N=4)
    sol = torch.linalg.lstsq(A, y.unsqueeze(1))
    log(sol.solution.squeeze(1), sol.rank, sol.residuals.shape)
    coef = torch.linalg.pinv(A) @ y
    log(coef, torch.linalg.cond(A))
    Q, R = torch.linalg.qr(A)
    log(torch.linalg.solve_triangular(R, (Q.T @ y).unsqueeze(1), upper=True).squeeze(1))
    log(torch.vander(torch.tensor([1, 2, 3]), N=3, increasing=True))
    log(torch.polar(torch.tensor([2.0]), torch.tensor([0.5])))


@program(tol=1e-5)
def neural_ode_rk4(torch, log):
    nn = torch.nn
    f = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))

    def rk4(z, t0, t1, steps):
        h = (t1 - t0) / steps
        traj = [z]
        for _ in range(steps):
            k1 = f(z)
            k2 = f(z + h / 2 * k1)
            k3 = f(z + h / 2 * k2)
            k4 = f(z + h * k3)
            z = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            traj.append(z)
        return torch.stack(traj)

    z0 = torch.randn(3, 2)
    traj = rk4(z0, 0.0, 1.0, 5)
    loss = traj[-1].pow(2).sum()
    loss.backward()
    log(traj[:, 0], loss, f[0].weight.grad)


@program(tol=1e-5)
def grad_cam_with_hooks(torch, log):
    nn, F = torch.nn, torch.nn.functional
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 5, 3, padding=1),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(5, 3))
    store = {}
    h1 = net[3].register_forward_hook(lambda m, i, o: store.__setitem__("act", o))
    h2 = net[3].register_full_backward_hook(lambda m, gi, go: store.__setitem__("grad", go[0]))
    x = torch.randn(1, 3, 6, 6)
    out = net(x)
    out[0, out.argmax()].backward()
    w = store["grad"].mean(dim=(2, 3), keepdim=True)
    cam = F.relu((w * store["act"]).sum(1))
    cam = F.interpolate(cam.unsqueeze(0), size=(12, 12), mode="bilinear", align_corners=False)
    log(cam.shape, cam[0, 0, ::4, ::4], store["act"].requires_grad)
    h1.remove()
    h2.remove()
    log(len(net[3]._forward_hooks), len(net[3]._backward_hooks))
    feats = {}
    hs = [m.register_forward_pre_hook(lambda m, i, n=n: feats.__setitem__(n, i[0].shape))
          for n, m in net.named_children()]
    net(x)
    log(feats)
    for h in hs:
        h.remove()


@program(tol=_TRAIN)
def early_stopping_with_plateau(torch, log):
    import copy
    nn = torch.nn
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
    x, y = torch.randn(20, 3), torch.randn(20, 1)
    best, best_state, bad = float("inf"), None, 0
    for epoch in range(8):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        val = nn.functional.mse_loss(model(x + 0.1), y).item()
        sched.step(val)
        if val < best - 1e-4:
            best, best_state, bad = val, copy.deepcopy(model.state_dict()), 0
        else:
            bad += 1
        log(epoch, val, opt.param_groups[0]["lr"], bad)
        if bad >= 3:
            break
    model.load_state_dict(best_state)
    log(best, sched.state_dict()["num_bad_epochs"], sched.get_last_lr())


@program()
def anomaly_detection(torch, log):
    x = torch.tensor([1.0, 0.0, 2.0], requires_grad=True)
    y = (x.sqrt() * 0).sum()
    y.backward()
    log(x.grad)
    x.grad = None
    with torch.autograd.detect_anomaly(check_nan=True):
        y = (x.sqrt() * 0).sum()
        log(pytest_raises(lambda: y.backward()))
    log(torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled())
    with torch.autograd.set_detect_anomaly(True):
        log(torch.is_anomaly_enabled())
    z = torch.ones(2, requires_grad=True)
    w = z * 2
    w.add_(1)
    log(w.grad_fn.name(), w._version)
    v = z.exp()
    v.mul_(2)
    log(pytest_raises(lambda: v.sum().backward()))


@program()
def inference_and_grad_modes(torch, log):
    lin = torch.nn.Linear(2, 2)
    x = torch.randn(1, 2)
    with torch.inference_mode():
        y = lin(x)
    log(y.is_inference(), y.requires_grad, x.is_inference())
    log(pytest_raises(lambda: y.mul_(2)))
    log(pytest_raises(lambda: lin(y).sum().backward()))
    with torch.no_grad():
        z = lin(x)
    log(z.requires_grad, z.is_inference(), torch.is_grad_enabled())
    with torch.enable_grad():
        log(torch.is_grad_enabled())

    @torch.no_grad()
    def predict(a):
        return lin(a), torch.is_grad_enabled()

    log(predict(x)[1], predict(x)[0].requires_grad, torch.is_inference_mode_enabled())
    with torch.set_grad_enabled(False):
        log(lin(x).grad_fn)
    c = y.clone()
    log(c.is_inference())


@program(tol=1e-5)
def bayesian_linear_reparameterization(torch, log):
    nn, D = torch.nn, torch.distributions

    class BayesLinear(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.mu = nn.Parameter(torch.zeros(o, i).normal_(0, 0.1))
            self.rho = nn.Parameter(torch.full((o, i), -3.0))

        def forward(self, x):
            sigma = nn.functional.softplus(self.rho)
            w = self.mu + sigma * torch.randn_like(sigma)
            self.kl = D.kl_divergence(D.Normal(self.mu, sigma), D.Normal(0.0, 1.0)).sum()
            return x @ w.T

    layer = BayesLinear(3, 2)
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    x, y = torch.randn(10, 3), torch.randn(10, 2)
    for _ in range(3):
        opt.zero_grad()
        nll = nn.functional.mse_loss(layer(x), y, reduction="sum")
        loss = nll + layer.kl / 10
        loss.backward()
        opt.step()
        log(nll, layer.kl)
    preds = torch.stack([layer(x) for _ in range(5)])
    log(preds.mean(0)[:2], preds.std(0)[:2])


@program(tol=_TRAIN)
def simclr_nt_xent(torch, log):
    nn, F = torch.nn, torch.nn.functional
    enc = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4))
    x = torch.randn(4, 6)
    v1 = x + 0.1 * torch.randn_like(x)
    v2 = x * (torch.rand_like(x) > 0.2)
    z = F.normalize(enc(torch.cat([v1, v2])), dim=1)
    sim = z @ z.T / 0.5
    sim = sim.masked_fill(torch.eye(8, dtype=torch.bool), float("-inf"))
    targets = torch.cat([torch.arange(4, 8), torch.arange(0, 4)])
    loss = F.cross_entropy(sim, targets)
    loss.backward()
    log(loss, enc[0].bias.grad)
    acc = (sim.argmax(1) == targets).float().mean()
    log(acc, F.cosine_similarity(z[:4], z[4:]))


@program()
def multi_label_metrics(torch, log):
    preds = torch.rand(10, 4)
    target = (torch.rand(10, 4) > 0.5).long()
    hard = (preds > 0.5).long()
    tp = (hard * target).sum(0)
    fp = (hard * (1 - target)).sum(0)
    fn = ((1 - hard) * target).sum(0)
    precision = tp / (tp + fp).clamp(min=1)
    recall = tp / (tp + fn).clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall + 1e-8)
    log(tp, precision, recall, f1, f1.mean())
    conf = torch.bincount(target[:, 0] * 2 + hard[:, 0], minlength=4).view(2, 2)
    log(conf, conf.diag().sum() / conf.sum())
    order = preds[:, 0].argsort(descending=True)
    t = target[order, 0].float()
    tps, fps = t.cumsum(0), (1 - t).cumsum(0)
    log(tps / tps[-1].clamp(min=1), fps / fps[-1].clamp(min=1))
    log(torch.trapezoid(tps / tps[-1], fps / fps[-1]))
    log(torch.histc(preds, bins=5, min=0, max=1), torch.bucketize(preds[0], torch.tensor(
        [0.25, 0.5, 0.75])))


@program(tol=_TRAIN)
def transformer_classifier_with_padding(torch, log):
    nn = torch.nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 8, padding_idx=0)
            pe = torch.zeros(12, 8)
            pos = torch.arange(12).unsqueeze(1)
            div = torch.exp(torch.arange(0, 8, 2) * (-math.log(10000.0) / 8))
            pe[:, 0::2] = torch.sin(pos * div)
            pe[:, 1::2] = torch.cos(pos * div)
            self.register_buffer("pe", pe, persistent=False)
            layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                               norm_first=True)
            self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.fc = nn.Linear(8, 3)

        def forward(self, tok):
            pad = tok == 0
            h = self.enc(self.emb(tok) + self.pe[:tok.size(1)], src_key_padding_mask=pad)
            h = h.masked_fill(pad.unsqueeze(-1), 0).sum(1) / (~pad).sum(1, keepdim=True)
            return self.fc(h)

    model = Classifier()
    log(sorted(model.state_dict())[:4], "pe" in model.state_dict())
    tok = torch.tensor([[3, 4, 5, 0, 0], [6, 7, 8, 9, 2]])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(2):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(tok), torch.tensor([0, 2]))
        loss.backward()
        opt.step()
        log(loss)
    model.eval()
    with torch.no_grad():
        log(model(tok))


@program(tol=1e-5)
def spatial_transformer_network(torch, log):
    nn, F = torch.nn, torch.nn.functional
    loc = nn.Sequential(nn.Flatten(), nn.Linear(16, 6))
    nn.init.zeros_(loc[1].weight)
    with torch.no_grad():
        loc[1].bias.copy_(torch.tensor([1.0, 0, 0, 0, 1, 0]))
    x = torch.randn(2, 1, 4, 4, requires_grad=True)
    theta = loc(x).view(-1, 2, 3)
    grid = F.affine_grid(theta, x.size(), align_corners=False)
    out = F.grid_sample(x, grid, align_corners=False)
    log(torch.allclose(out, x, atol=1e-6))
    rot = torch.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]]).expand(2, 2, 3)
    r = F.grid_sample(x, F.affine_grid(rot, x.size(), align_corners=False), align_corners=False)
    log(r[0, 0], torch.rot90(x, 1, (2, 3))[0, 0])
    (r.sum() + out.sum()).backward()
    log(loc[1].bias.grad, x.grad[0, 0])
    g3 = F.affine_grid(torch.eye(3, 4).unsqueeze(0), (1, 1, 2, 2, 2), align_corners=True)
    log(g3.shape, g3[0, 1])


@program(tol=1e-5)
def rnn_packed_sequences_with_sort(torch, log):
    nn = torch.nn
    rnn = _module(torch, "nn.utils.rnn")
    pack_padded_sequence, pad_packed_sequence, pad_sequence = (
        rnn.pack_padded_sequence, rnn.pad_packed_sequence, rnn.pad_sequence)
    seqs = [torch.randn(n, 3) for n in (4, 2, 5)]
    lengths = torch.tensor([len(s) for s in seqs])
    padded = pad_sequence(seqs, batch_first=True)
    lstm = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
    packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
    log(packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
    out, (h, c) = lstm(packed)
    unpacked, lens = pad_packed_sequence(out, batch_first=True, total_length=6)
    log(unpacked.shape, lens, h.shape)
    last = unpacked[torch.arange(3), lens - 1, :4]
    log(torch.allclose(last, h[0]), h[1])
    log(pytest_raises(lambda: pack_padded_sequence(padded, lengths, batch_first=True)))


@program(tol=_TRAIN)
def multi_task_with_uncertainty_weights(torch, log):
    nn, F = torch.nn, torch.nn.functional
    trunk = nn.Linear(4, 6)
    heads = nn.ModuleDict({"reg": nn.Linear(6, 1), "cls": nn.Linear(6, 3)})
    log_vars = nn.Parameter(torch.zeros(2))
    opt = torch.optim.Adam([{"params": trunk.parameters()},
                            {"params": heads.parameters(), "lr": 5e-3},
                            {"params": [log_vars], "weight_decay": 0.0}], lr=1e-2)
    x = torch.randn(8, 4)
    yr, yc = torch.randn(8, 1), torch.randint(0, 3, (8,))
    for _ in range(3):
        opt.zero_grad()
        h = F.relu(trunk(x))
        losses = torch.stack([F.mse_loss(heads["reg"](h), yr), F.cross_entropy(heads["cls"](h),
                                                                                yc)])
        loss = (torch.exp(-log_vars) * losses + log_vars).sum()
        loss.backward()
        opt.step()
        log(losses, log_vars)
    log([g["lr"] for g in opt.param_groups], len(opt.state_dict()["param_groups"][1]["params"]))


@program()
def tensor_utilities_in_preprocessing(torch, log):
    img = torch.randint(0, 256, (3, 4, 4), dtype=torch.uint8)
    f = img.float().div(255)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    norm = (f - mean[:, None, None]) / std[:, None, None]
    log(norm[:, 0, 0], img.flip(-1)[0, 0], img.permute(1, 2, 0).shape, img.dtype)
    log(f.clamp(0.2, 0.8).mul(255).round().to(torch.uint8)[0, 0])
    gray = (0.299 * f[0] + 0.587 * f[1] + 0.114 * f[2]).unsqueeze(0)
    log(gray[0, 0], torch.nn.functional.pad(img.float(), (1, 1, 1, 1), mode="reflect")[0, 0])
    log(torch.nn.functional.pad(img[:1].float(), (1, 1), mode="replicate")[0, 0])
    log(torch.nn.functional.pad(img[None, :1].float(), (1, 1, 1, 1), mode="circular")[0, 0, 0])
    crop = img[:, 1:3, 1:3]
    log(crop.is_contiguous(), crop.contiguous().stride(), img.to(torch.float16)[0, 0])
    log((img > 128).sum(dim=(1, 2)), img.max(), img.float().std(dim=(1, 2)))


@program()
def lr_schedulers_printed(torch, log):
    nn, S = torch.nn, torch.optim.lr_scheduler
    p = [nn.Parameter(torch.zeros(1))]

    def trace(make, steps=7, **kw):
        opt = torch.optim.SGD(p, lr=0.1, momentum=0.9)
        sched = make(opt)
        out = []
        for _ in range(steps):
            opt.step()
            sched.step()
            out.append(round(sched.get_last_lr()[0], 10))
        return out, sorted(sched.state_dict())

    log(trace(lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01)))
    log(trace(lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2,
                                   mode="triangular2")))
    log(trace(lambda o: S.PolynomialLR(o, total_iters=4, power=2.0)))
    log(trace(lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=2),
                                           S.StepLR(o, 2, 0.5)], milestones=[2])))
    log(trace(lambda o: S.MultiStepLR(o, [2, 5], gamma=0.3)))
    log(trace(lambda o: S.LambdaLR(o, lambda e: 1 / (e + 1))))
    opt = torch.optim.Adam(p, lr=0.1)
    sched = S.OneCycleLR(opt, max_lr=0.5, total_steps=5, anneal_strategy="linear")
    out = []
    for _ in range(4):
        opt.step()
        sched.step()
        out.append((round(opt.param_groups[0]["lr"], 10), opt.param_groups[0]["betas"]))
    log(out)


@program(tol=_TRAIN)
def optimizer_state_round_trip(torch, log):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = torch.optim.AdamW([{"params": model[0].parameters(), "lr": 1e-2},
                             {"params": model[2].parameters()}], lr=1e-3, amsgrad=True)
    x = torch.randn(5, 3)
    for _ in range(2):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
    sd = opt.state_dict()
    log(sd["param_groups"], sorted(sd["state"][0]), sd["state"][0]["step"])
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": sd}, buf)
    buf.seek(0)
    ck = torch.load(buf)
    model2 = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    model2.load_state_dict(ck["model"])
    opt2 = torch.optim.AdamW([{"params": model2[0].parameters(), "lr": 1.0},
                              {"params": model2[2].parameters()}], lr=1e-3, amsgrad=True)
    opt2.load_state_dict(ck["opt"])
    log(opt2.param_groups[0]["lr"], opt2.state[model2[0].weight]["exp_avg"])
    for o, m in ((opt, model), (opt2, model2)):
        o.zero_grad()
        m(x).pow(2).mean().backward()
        o.step()
    log(torch.equal(model[0].weight, model2[0].weight))
    opt.add_param_group({"params": [nn.Parameter(torch.ones(2))], "weight_decay": 0.5})
    log(len(opt.param_groups), opt.param_groups[2]["weight_decay"], opt.param_groups[2]["lr"])
    log(pytest_raises(lambda: opt.add_param_group({"params": model[0].weight})))
    bad = opt2.state_dict()
    bad["param_groups"] = bad["param_groups"][:1]
    log(pytest_raises(lambda: opt2.load_state_dict(bad)))


@program()
def tensor_and_module_hooks(torch, log):
    nn = torch.nn
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    seen = []
    h = x.register_hook(lambda g: g * 2)
    y = x * x
    y.retain_grad()
    y.register_hook(lambda g: seen.append(g.clone()))
    y.sum().backward()
    log(x.grad, y.grad, seen, y.retains_grad, x.is_leaf, y.is_leaf)
    h.remove()
    x.grad = None
    (x * 3).sum().backward()
    log(x.grad)
    lin = nn.Linear(2, 2)
    acc = []
    for prm in lin.parameters():
        prm.register_post_accumulate_grad_hook(lambda prm: acc.append(tuple(prm.grad.shape)))
    lin(torch.ones(1, 2)).sum().backward()
    log(sorted(acc))    # (torch accumulates the bias first: its weight's edge is a t() node)
    calls = []
    lin.register_forward_pre_hook(lambda m, args: (args[0] * 0 + 1,))
    lin.register_forward_hook(lambda m, args, out: out * 10, with_kwargs=False)
    lin.register_forward_hook(lambda m, args, kwargs, out: calls.append(sorted(kwargs)),
                              with_kwargs=True)
    log(lin(torch.zeros(1, 2)), calls)
    log(pytest_raises(lambda: x.register_hook(lambda g: g).remove() or
                      torch.ones(1).register_hook(lambda g: g)))


@program(tol=1e-6)      # orthogonal_'s QR is LAPACK's (NumPy's and torch's differ in the last bit)
def weight_initialisation(torch, log):
    nn = torch.nn
    init = nn.init
    w = torch.empty(4, 6)
    log(init.xavier_uniform_(w, gain=init.calculate_gain("relu")))
    log(init.xavier_normal_(w))
    log(init.kaiming_uniform_(w, a=math.sqrt(5)))
    log(init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"))
    log(init.orthogonal_(torch.empty(3, 5)) @ init.orthogonal_(torch.empty(3, 5)).T)
    log(init.trunc_normal_(w, std=0.02, a=-0.04, b=0.04).abs().max() <= 0.04)
    log(init.sparse_(torch.empty(5, 3), sparsity=0.4).eq(0).sum(0))
    log(init.dirac_(torch.empty(2, 2, 3)), init.eye_(torch.empty(2, 3)))
    log(init.constant_(w, 0.3)[0, :2], init.uniform_(w, -1, 1)[0], init.normal_(w, 2, 0.1)[0])
    log([init.calculate_gain(n) for n in ("linear", "tanh", "selu", "sigmoid")],
        init.calculate_gain("leaky_relu", 0.2))
    log(pytest_raises(lambda: init.calculate_gain("softmax")))
    log(pytest_raises(lambda: init.xavier_uniform_(torch.empty(3))))

    def init_weights(m):
        if isinstance(m, nn.Linear):
            init.zeros_(m.bias)
            init.ones_(m.weight)
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 1)))
    net.apply(init_weights)
    log(net(torch.tensor([[1.0, 2.0]])))


@program()
def model_inspection_and_freezing(torch, log):
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))
    log(sum(p.numel() for p in model.parameters()),
        sum(p.numel() for p in model.parameters() if p.requires_grad))
    log([n for n, _ in model.named_modules()], [n for n, _ in model.named_buffers()])
    for p in model[0].parameters():
        p.requires_grad_(False)
    log([n for n, p in model.named_parameters() if p.requires_grad])
    model.eval()
    log(model.training, model[1].training, [m.training for m in model.modules()][:2])
    model[1].train()
    log(model[1].training)
    half = model.half()
    log(half[0].weight.dtype, half[1].running_mean.dtype, half[1].num_batches_tracked.dtype)
    model.to(torch.float64)
    log(model[3][1].weight.dtype, model.get_submodule("3.1").out_features)
    log(model.get_parameter("3.1.bias").shape, type(model.get_buffer("1.running_var")).__name__)
    log(pytest_raises(lambda: model.get_submodule("3.7")))
    log(pytest_raises(lambda: model.get_parameter("1.running_var")))
    log(model[3][1].extra_repr(), repr(model[0]))
    log(len(list(model.children())), [type(m).__name__ for m in model[3]])
    del model[2]
    log(len(model), [type(m).__name__ for m in model])
    model.insert(1, nn.Dropout(0.2))
    model.append(nn.Softmax(dim=1))
    log([type(m).__name__ for m in model], type(model[1:3]).__name__)


@program()
def unfold_patches_and_im2col(torch, log):
    F = torch.nn.functional
    img = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).view(2, 3, 6, 6)
    patches = F.unfold(img, kernel_size=3, stride=3)             # (B, C*9, L)
    log(patches.shape, patches[0, :4, :2])
    tokens = img.unfold(2, 3, 3).unfold(3, 3, 3)                # (B, C, 2, 2, 3, 3)
    tokens = tokens.permute(0, 2, 3, 1, 4, 5).reshape(2, 4, -1)
    log(tokens.shape, torch.equal(tokens, patches.transpose(1, 2)))
    back = F.fold(patches, output_size=(6, 6), kernel_size=3, stride=3)
    log(torch.equal(back, img))
    w = torch.randn(5, 3, 3, 3)
    col = F.unfold(img, 3, padding=1)
    out = (w.view(5, -1) @ col).view(2, 5, 6, 6)
    log(torch.allclose(out, F.conv2d(img, w, padding=1), rtol=1e-4, atol=1e-2))
    overl = F.fold(F.unfold(torch.ones(1, 1, 4, 4), 2, stride=1), (4, 4), 2, stride=1)
    log(overl)
    x = torch.arange(10.)
    log(x.unfold(0, 4, 3), x.as_strided((3, 4), (2, 1)))


@program()
def tensor_subclass_and_torch_function(torch, log):
    calls = []

    class Logged(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            calls.append(getattr(func, "__name__", str(func)))
            return super().__torch_function__(func, types, args, kwargs or {})

    x = torch.ones(2, 2).as_subclass(Logged)
    y = (x + 1).sum(0)
    log(type(y).__name__, type(x.data).__name__, y, calls[:3])
    z = torch.nn.functional.relu(x)
    log(type(z).__name__, calls[-1])

    class Scaled:
        def __init__(self, t):
            self.t = t

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            args = [a.t * 2 if isinstance(a, Scaled) else a for a in args]
            return func(*args, **(kwargs or {}))

    log(torch.add(Scaled(torch.ones(2)), torch.ones(2)), torch.mean(Scaled(torch.ones(3))))
    p = torch.nn.Parameter(torch.ones(2))
    log(type(p * 2).__name__, type(p.detach()).__name__, isinstance(p, torch.Tensor))


@program(tol=1e-6)
def complex_valued_signal_model(torch, log):
    x = torch.randn(4, 8, dtype=torch.complex64)
    w = torch.randn(8, 3, dtype=torch.complex64, requires_grad=True)
    y = x @ w
    loss = (y.abs() ** 2).mean()
    loss.backward()
    log(y.dtype, loss, w.grad)
    r = torch.view_as_real(y.detach())
    log(r.shape, torch.view_as_complex(r.contiguous()).dtype)
    log(y.detach().angle()[0], y.real.dtype, y.detach().conj().imag[0])
    z = torch.complex(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]))
    log(z, z.abs(), torch.polar(z.abs(), z.angle()), z * 1j, z.is_complex())
    log(torch.exp(1j * torch.tensor([0.0, math.pi / 2])))
    log(pytest_raises(lambda: torch.tensor([1 + 1j]) < 1))


@program()
def rng_state_reproducibility(torch, log):
    g = torch.Generator().manual_seed(42)
    a = torch.randn(3, generator=g)
    state = g.get_state()
    b = torch.randn(3, generator=g)
    g.set_state(state)
    log(a, torch.equal(b, torch.randn(3, generator=g)), g.initial_seed())
    s = torch.get_rng_state()
    u = torch.rand(2)
    torch.set_rng_state(s)
    log(torch.equal(u, torch.rand(2)))
    with torch.random.fork_rng():
        torch.manual_seed(123)
        inner = torch.randint(0, 10, (4,))
    log(inner, torch.rand(1))
    log(torch.randperm(6, generator=g), torch.randint(3, 9, (3,), generator=g))
    t = torch.empty(5)
    log(t.bernoulli_(0.3, generator=g), t.normal_(0, 1, generator=g), t.uniform_(generator=g))
    log(t.exponential_(2.0), t.geometric_(0.5), t.log_normal_(0, 0.5), t.cauchy_())
    log(torch.bernoulli(torch.full((4,), 0.5)), torch.poisson(torch.tensor([1.0, 5.0])))
    log(torch.normal(torch.zeros(3), torch.ones(3)), torch.normal(2.0, 3.0, size=(2,)))
    log(torch.rand(2, dtype=torch.float64), torch.randn(2, dtype=torch.float16))
    log(torch.randint_like(torch.zeros(3), 5), torch.randn_like(torch.zeros(2, dtype=torch.double)))


@program()
def masked_autoencoder_random_masking(torch, log):
    B, L, D, keep = 2, 8, 3, 3
    x = torch.randn(B, L, D)
    noise = torch.rand(B, L)
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ids_keep = ids_shuffle[:, :keep]
    x_masked = torch.gather(x, 1, ids_keep.unsqueeze(-1).repeat(1, 1, D))
    mask = torch.ones(B, L)
    mask[:, :keep] = 0
    mask = torch.gather(mask, 1, ids_restore)
    log(ids_keep, x_masked, mask)
    mask_tokens = torch.zeros(1, 1, D).repeat(B, L - keep, 1)
    full = torch.cat([x_masked, mask_tokens], 1)
    full = torch.gather(full, 1, ids_restore.unsqueeze(-1).expand(-1, -1, D))
    log(full[mask == 0].shape, torch.equal(full[mask == 0], x[mask == 0]))
    log(torch.take_along_dim(x, ids_keep.unsqueeze(-1), dim=1).shape)


@program(tol=1e-6)
def count_and_density_regression(torch, log):
    nn, F, D = torch.nn, torch.nn.functional, torch.distributions
    rate_logits = torch.randn(6, requires_grad=True)
    counts = torch.tensor([0.0, 1.0, 3.0, 2.0, 0.0, 7.0])
    log(F.poisson_nll_loss(rate_logits, counts), F.poisson_nll_loss(rate_logits.exp(), counts,
                                                                     log_input=False, full=True))
    log(-D.Poisson(rate_logits.exp()).log_prob(counts).mean())
    mu, var = torch.randn(6, requires_grad=True), torch.rand(6) + 0.1
    g = nn.GaussianNLLLoss(full=True)(mu, counts, var)
    g.backward()
    log(g, mu.grad)
    nb = D.NegativeBinomial(total_count=torch.tensor(3.0), logits=torch.tensor([0.1, -0.5]))
    log(nb.log_prob(torch.tensor([2.0, 0.0])), nb.mean, nb.variance)
    log(D.Binomial(10, probs=torch.tensor([0.2, 0.7])).log_prob(torch.tensor([2.0, 9.0])))
    log(D.Dirichlet(torch.tensor([1.0, 2.0, 3.0])).log_prob(torch.tensor([0.2, 0.3, 0.5])))
    log(D.StudentT(3.0).log_prob(torch.tensor([0.0, 2.0])), D.Laplace(0.0, 2.0).entropy())


@program()
def token_statistics(torch, log):
    ids = torch.tensor([5, 3, 5, 1, 3, 5, 9, 1])
    uniq, inverse, counts = torch.unique(ids, return_inverse=True, return_counts=True)
    log(uniq, inverse, counts)
    log(torch.unique(ids, sorted=False), torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 1]),
                                                                 return_counts=True))
    log(torch.bincount(ids, weights=torch.linspace(0, 1, 8)), torch.bincount(ids).argmax())
    vals, idx = torch.sort(counts, descending=True, stable=True)
    log(uniq[idx], vals)
    log(torch.histogram(ids.float(), bins=4), torch.searchsorted(uniq, torch.tensor([0, 5, 10])))
    vocab = {t: i for i, t in enumerate(uniq.tolist())}
    log(vocab, torch.tensor([vocab[t] for t in ids.tolist()]))
    mat = torch.nn.functional.one_hot(inverse).T.float()
    log(mat.sum(1), mat @ mat.T)


@program(tol=_TRAIN)
def custom_optimizer_subclass(torch, log):
    nn = torch.nn

    class SignSGD(torch.optim.Optimizer):
        def __init__(self, params, lr=0.01, momentum=0.9):
            if lr < 0:
                raise ValueError(f"Invalid learning rate: {lr}")
            super().__init__(params, dict(lr=lr, momentum=momentum))

        @torch.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    st = self.state[p]
                    if "buf" not in st:
                        st["buf"] = torch.zeros_like(p)
                    st["buf"].mul_(group["momentum"]).add_(p.grad)
                    p.add_(st["buf"].sign(), alpha=-group["lr"])
            return loss

    model = nn.Linear(3, 1)
    opt = SignSGD(model.parameters(), lr=0.05)
    print(opt)
    x, y = torch.randn(8, 3), torch.randn(8, 1)

    def closure():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    for _ in range(3):
        log(opt.step(closure))
    log(opt.state_dict()["state"][0]["buf"], opt.defaults)
    log(pytest_raises(lambda: SignSGD(model.parameters(), lr=-1)))
    log(pytest_raises(lambda: SignSGD([])))


@program(tol=_TRAIN)
def dqn_with_replay_and_soft_updates(torch, log):
    import random
    from collections import deque
    nn, F = torch.nn, torch.nn.functional
    rng = random.Random(0)
    q = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    target = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    target.load_state_dict(q.state_dict())
    opt = torch.optim.Adam(q.parameters(), lr=1e-3)
    buffer = deque(maxlen=50)
    state = np.zeros(4, dtype=np.float32)
    for t in range(40):
        eps = max(0.05, 1 - t / 20)
        if torch.rand(1).item() < eps:
            action = int(torch.randint(0, 2, ()).item())
        else:
            with torch.no_grad():
                action = int(q(torch.as_tensor(state)).argmax())
        nxt = (state + np.float32(0.1) * (action * 2 - 1)).astype(np.float32)
        buffer.append((state, action, float(-abs(nxt).sum()), nxt, t % 10 == 9))
        state = nxt
    for _ in range(3):
        batch = rng.sample(list(buffer), 8)
        s, a, r, s2, d = zip(*batch)
        s, s2 = torch.tensor(np.stack(s)), torch.tensor(np.stack(s2))
        a, r, d = torch.tensor(a), torch.tensor(r), torch.tensor(d, dtype=torch.float32)
        qsa = q(s).gather(1, a.unsqueeze(1)).squeeze(1)
        with torch.no_grad():
            y = r + 0.99 * (1 - d) * target(s2).max(1).values
        loss = F.smooth_l1_loss(qsa, y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(q.parameters(), 10.0)
        opt.step()
        with torch.no_grad():
            for tp, p in zip(target.parameters(), q.parameters()):
                tp.lerp_(p, 0.005)
        log(loss, s.dtype, r.dtype, d)
    log(target[0].bias)


@program(tol=1e-5)
def sinkhorn_optimal_transport(torch, log):
    x, y = torch.randn(5, 2), torch.randn(6, 2) + 1
    C = torch.cdist(x, y) ** 2
    eps = 0.1
    log_a = torch.full((5,), -math.log(5))
    log_b = torch.full((6,), -math.log(6))
    f, g = torch.zeros(5), torch.zeros(6)
    for _ in range(50):
        f = -eps * torch.logsumexp((g[None, :] - C) / eps + log_b[None, :], dim=1)
        g = -eps * torch.logsumexp((f[:, None] - C) / eps + log_a[:, None], dim=0)
    P = torch.exp((f[:, None] + g[None, :] - C) / eps + log_a[:, None] + log_b[None, :])
    log(P.sum(0), P.sum(1), (P * C).sum())
    K = torch.exp(-C / 1.0)
    u = torch.ones(5) / 5
    for _ in range(20):
        v = (torch.ones(6) / 6) / (K.T @ u)
        u = (torch.ones(5) / 5) / (K @ v)
    log(u, v)


@program()
def kmeans_clustering(torch, log):
    pts = torch.cat([torch.randn(10, 2) + torch.tensor([3.0, 0.0]),
                     torch.randn(10, 2) - torch.tensor([3.0, 0.0])])
    k = 2
    cent = pts[torch.randperm(len(pts))[:k]].clone()
    for it in range(5):
        assign = torch.cdist(pts, cent).argmin(1)
        sums = torch.zeros(k, 2).index_add_(0, assign, pts)
        counts = torch.bincount(assign, minlength=k).clamp(min=1).unsqueeze(1)
        cent = sums / counts
        log(it, assign, counts.squeeze(1))
    scat = torch.zeros(k, 2).scatter_add_(0, assign.unsqueeze(1).expand(-1, 2), pts)
    log(torch.allclose(scat, sums), torch.zeros(k, 2).scatter_reduce_(
        0, assign.unsqueeze(1).expand(-1, 2), pts, reduce="amax", include_self=False))
    inertia = ((pts - cent[assign]) ** 2).sum()
    log(inertia > 0)


@program(tol=1e-4)      # LAPACK's eigen and singular vectors (NumPy's and torch's builds)
def pca_and_covariance(torch, log):
    X = torch.randn(30, 4) @ torch.tensor([[2.0, 0, 0, 0], [0.5, 1, 0, 0], [0, 0, 0.3, 0],
                                            [0, 0, 0, 0.1]])
    Xc = X - X.mean(0)
    cov = torch.cov(X.T)
    log(torch.allclose(cov, Xc.T @ Xc / 29, atol=1e-5), torch.corrcoef(X.T).diagonal())
    evals, evecs = torch.linalg.eigh(cov)
    log(evals, evecs.abs())
    U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
    log(S ** 2 / 29, Vh.abs()[:2])
    proj = Xc @ Vh[:2].T
    log(proj.abs().sum(0), (S[:2] ** 2).sum() / (S ** 2).sum())
    log(torch.cov(X.T, correction=0, fweights=torch.arange(1, 31)).shape,
        torch.var(X, 0, unbiased=False))
    inv = torch.linalg.inv(cov)
    d = Xc[:3]
    log(torch.sqrt((d @ inv * d).sum(1)))


@program(tol=1e-5)
def kalman_filter(torch, log):
    dt = 0.1
    A = torch.tensor([[1.0, dt], [0.0, 1.0]], dtype=torch.float64)
    H = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    Q = 1e-3 * torch.eye(2, dtype=torch.float64)
    R = torch.tensor([[0.05]], dtype=torch.float64)
    x = torch.zeros(2, 1, dtype=torch.float64)
    P = torch.eye(2, dtype=torch.float64)
    zs = torch.arange(10, dtype=torch.float64) * 0.2 + 0.05 * torch.randn(10, dtype=torch.float64)
    out = []
    for z in zs:
        x = A @ x
        P = A @ P @ A.T + Q
        S = H @ P @ H.T + R
        K = torch.linalg.solve(S.T, (P @ H.T).T).T
        x = x + K @ (z.view(1, 1) - H @ x)
        P = (torch.eye(2, dtype=torch.float64) - K @ H) @ P
        out.append(x[:, 0].clone())
    log(torch.stack(out), P, torch.linalg.cholesky(P))
    log(torch.linalg.det(P), torch.logdet(P), torch.cholesky_inverse(torch.linalg.cholesky(P)))


@program(tol=_TRAIN)
def wavenet_mu_law(torch, log):
    nn, F = torch.nn, torch.nn.functional
    mu = 255

    def mu_law_encode(x):
        y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
        return ((y + 1) / 2 * mu + 0.5).to(torch.int64)

    def mu_law_decode(q):
        y = 2 * q.float() / mu - 1
        return torch.sign(y) * ((1 + mu) ** y.abs() - 1) / mu

    wave = torch.sin(torch.linspace(0, 4 * math.pi, 32)) * 0.8
    q = mu_law_encode(wave)
    log(q[:8], (mu_law_decode(q) - wave).abs().max() < 0.02)

    class Gated(nn.Module):
        def __init__(self, ch, d):
            super().__init__()
            self.d = d
            self.filt = nn.Conv1d(ch, ch, 2, dilation=d)
            self.gate = nn.Conv1d(ch, ch, 2, dilation=d)
            self.res = nn.Conv1d(ch, ch, 1)

        def forward(self, x):
            xp = F.pad(x, (self.d, 0))
            return x + self.res(torch.tanh(self.filt(xp)) * torch.sigmoid(self.gate(xp)))

    emb = nn.Embedding(mu + 1, 4)
    net = nn.Sequential(Gated(4, 1), Gated(4, 2), Gated(4, 4), nn.Conv1d(4, mu + 1, 1))
    opt = torch.optim.Adam(list(emb.parameters()) + list(net.parameters()), lr=1e-2)
    for _ in range(2):
        logits = net(emb(q[:-1]).T.unsqueeze(0))
        loss = F.cross_entropy(logits, q[1:].unsqueeze(0))
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(loss)


@program(tol=_TRAIN)
def tabular_model_with_embeddings(torch, log):
    nn, F = torch.nn, torch.nn.functional
    n = 24
    num = torch.randn(n, 3) * torch.tensor([1.0, 10.0, 100.0]) + torch.tensor([0.0, 5.0, -50.0])
    cat = torch.randint(0, 4, (n, 2))
    y = (num[:, 0] + (cat[:, 0] == 1).float() > 0.5).float()
    perm = torch.randperm(n)
    tr, va = perm[:18], perm[18:]
    mean, std = num[tr].mean(0), num[tr].std(0)
    numz = (num - mean) / std
    log(mean, std, numz[va].mean(0))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embs = nn.ModuleList([nn.Embedding(4, 2) for _ in range(2)])
            self.mlp = nn.Sequential(nn.Linear(7, 8), nn.BatchNorm1d(8), nn.ReLU(),
                                     nn.Dropout(0.1), nn.Linear(8, 1))

        def forward(self, xn, xc):
            e = [m(xc[:, i]) for i, m in enumerate(self.embs)]
            return self.mlp(torch.cat([xn] + e, 1)).squeeze(1)

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-4)
    pos_weight = (y[tr] == 0).sum() / (y[tr] == 1).sum().clamp(min=1)
    for _ in range(3):
        net.train()
        loss = F.binary_cross_entropy_with_logits(net(numz[tr], cat[tr]), y[tr],
                                                  pos_weight=pos_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        net.eval()
        with torch.no_grad():
            p = torch.sigmoid(net(numz[va], cat[va]))
        log(loss, p, ((p > 0.5).float() == y[va]).float().mean())


@program(tol=1e-5)
def image_filters(torch, log):
    F = torch.nn.functional
    img = torch.rand(1, 1, 8, 8)
    sobel_x = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    k = torch.stack([sobel_x, sobel_x.T]).unsqueeze(1)
    g = F.conv2d(F.pad(img, (1, 1, 1, 1), mode="replicate"), k)
    mag = g.pow(2).sum(1).sqrt()
    log(mag[0, :2], torch.atan2(g[:, 1], g[:, 0])[0, 0])
    sigma = 1.0
    ax = torch.arange(5) - 2
    gauss = torch.exp(-(ax ** 2) / (2 * sigma ** 2))
    gauss = gauss / gauss.sum()
    blur = F.conv2d(F.pad(img, (2, 2, 0, 0), mode="reflect"), gauss.view(1, 1, 1, 5))
    blur = F.conv2d(F.pad(blur, (0, 0, 2, 2), mode="reflect"), gauss.view(1, 1, 5, 1))
    log(gauss, blur[0, 0, 0])
    rgb = torch.rand(3, 4, 4)
    mx, argmx = rgb.max(0)
    mn = rgb.min(0).values
    v, s = mx, torch.where(mx > 0, (mx - mn) / mx, torch.zeros_like(mx))
    log(argmx, s[0], v.mean())
    hist = torch.histc(img, bins=4, min=0, max=1)
    cdf = hist.cumsum(0) / hist.sum()
    eq = cdf[(img * 4).long().clamp(max=3)]
    log(hist, eq[0, 0, 0])
    log(F.max_pool2d(img, 3, stride=1, padding=1).eq(img).sum())


@program(tol=1e-5)
def evolution_strategies(torch, log):
    nn = torch.nn
    policy = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    theta = nn.utils.parameters_to_vector(policy.parameters()).detach()
    x = torch.randn(16, 3)
    target = x.sum(1, keepdim=True).tanh()

    def fitness(vec):
        nn.utils.vector_to_parameters(vec, policy.parameters())
        with torch.no_grad():
            return -((policy(x) - target) ** 2).mean()

    sigma, lr, pop = 0.1, 0.05, 8
    for gen in range(3):
        eps = torch.randn(pop, theta.numel())
        rewards = torch.stack([fitness(theta + sigma * e) for e in eps])
        ranks = rewards.argsort().argsort().float()
        adv = (ranks - ranks.mean()) / ranks.std()
        theta = theta + lr / (pop * sigma) * eps.T @ adv
        log(gen, rewards.max(), fitness(theta))
    log(theta.shape, [p.shape for p in policy.parameters()])


@program(tol=1e-6)
def embedding_bag_modes(torch, log):
    nn, F = torch.nn, torch.nn.functional
    bag = nn.EmbeddingBag(10, 3, mode="sum")
    idx = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9])
    offsets = torch.tensor([0, 3, 3, 6])
    out = bag(idx, offsets)
    log(out, out.shape)
    w = torch.rand(8)
    log(bag(idx, offsets, per_sample_weights=w))
    for mode in ("mean", "max"):
        log(mode, F.embedding_bag(idx, bag.weight, offsets, mode=mode))
    log(F.embedding_bag(idx.view(2, 4), bag.weight, mode="mean"))
    log(F.embedding_bag(idx, bag.weight, torch.tensor([0, 3, 8]), include_last_offset=True))
    e = nn.Embedding(10, 3, max_norm=1.0)
    before = e.weight.norm(dim=1)[[1, 2]]
    e(torch.tensor([1, 2]))
    log(before > 1, e.weight.norm(dim=1)[[1, 2]] <= 1.0 + 1e-6)
    out = bag(idx, offsets)
    out.sum().backward()
    log(bag.weight.grad)
    log(pytest_raises(lambda: bag(idx, torch.tensor([1, 3]))))


@program(tol=1e-6)
def loss_function_zoo(torch, log):
    nn, F = torch.nn, torch.nn.functional
    a, b = torch.randn(4, 5, requires_grad=True), torch.randn(4, 5)
    y = torch.tensor([1, -1, 1, -1])
    log(nn.CosineEmbeddingLoss(margin=0.2)(a, b, y))
    log(nn.MultiLabelSoftMarginLoss()(a, (b > 0).float()))
    log(nn.MultiMarginLoss(p=1, margin=1.0)(a, torch.tensor([0, 2, 4, 1])),
        nn.MultiMarginLoss(p=2, weight=torch.arange(1.0, 6.0))(a, torch.tensor([0, 2, 4, 1])))
    log(nn.MultiLabelMarginLoss()(a, torch.tensor([[3, 0, -1, 1, 1]] * 4)))
    dist = lambda u, v: 1 - F.cosine_similarity(u, v)       # noqa: E731
    trip = nn.TripletMarginWithDistanceLoss(distance_function=dist, margin=0.5, swap=True)
    log(trip(a, b, b.flip(0)), nn.TripletMarginLoss(p=1)(a, b, b.roll(1, 0)))
    log(nn.HingeEmbeddingLoss(margin=2.0)(a, torch.ones(4, 5).neg()),
        nn.SoftMarginLoss()(a, torch.ones(4, 5)))
    bil = nn.Bilinear(5, 5, 2)
    out = bil(a, b)
    log(out.shape, nn.MarginRankingLoss(0.1)(out[:, 0], out[:, 1], y.float()))
    total = sum(f(a, b) for f in (F.l1_loss, F.mse_loss, F.smooth_l1_loss, F.huber_loss))
    total.backward()
    log(total, a.grad)
    log(F.kl_div(a.log_softmax(1), b.softmax(1), reduction="sum"),
        F.kl_div(a.log_softmax(1), b.log_softmax(1), reduction="mean", log_target=True))
    print(nn.TripletMarginLoss(margin=0.3), nn.CosineEmbeddingLoss(), bil)


@program()
def autograd_grad_options(torch, log):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    z = torch.tensor([3.0], requires_grad=True)
    y = (x ** 2).sum()
    log(torch.autograd.grad(y, [x, z], allow_unused=True, retain_graph=True))
    log(torch.autograd.grad(y, [x, z], allow_unused=True, materialize_grads=True,
                            retain_graph=True))
    log(pytest_raises(lambda: torch.autograd.grad(y, [x, z], retain_graph=True)))
    out = x * torch.tensor([1.0, 3.0])
    eye = torch.eye(2)
    log(torch.autograd.grad(out, x, grad_outputs=eye, is_grads_batched=True))
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    log(g, h, g.requires_grad)
    log(pytest_raises(lambda: torch.autograd.grad(y, x)))
    log(pytest_raises(lambda: torch.autograd.grad(x.sum() * 0 + 1, torch.ones(2))))
    w = torch.ones(2, requires_grad=True)
    loss = (w * 2).sum()
    loss.backward(inputs=[w])
    log(w.grad)
    v = torch.ones(3, requires_grad=True)
    log(pytest_raises(lambda: (v * 2).backward()))
    (v * 2).backward(torch.tensor([1.0, 0.5, 0.0]))
    log(v.grad)
    log(torch.autograd.backward([(v ** 2).sum()], inputs=[v]), v.grad)


@program()
def print_options_and_summaries(torch, log):
    t = torch.linspace(0, 1, 30).view(5, 6) * 1234.5678
    torch.set_printoptions(precision=3, linewidth=50, threshold=10, edgeitems=2)
    print(t)
    print(torch.arange(100))
    torch.set_printoptions(profile="full", linewidth=80)
    print(torch.arange(12).view(3, 4))
    torch.set_printoptions(profile="short")
    print(t)
    torch.set_printoptions(profile="default")
    print(t[:2])
    print(torch.tensor([1e-8, 1.0]), torch.tensor([1e-3, 1e3]), torch.tensor([0.1, 100000.0]))
    print(torch.tensor([[1.5, float("nan")], [float("-inf"), 2.0]]))
    print(torch.tensor([-0.0, 0.0, 1.0]), torch.tensor(3.25), torch.tensor([], dtype=torch.bool))
    print(torch.tensor([1, 2], dtype=torch.int32) * 1000000000, torch.tensor([2 ** 40]))
    print(torch.randn(2, 3, dtype=torch.float64).round(decimals=2))
    print(torch.tensor([[0.1 + 0.2j, 3.0 - 1.5j]], dtype=torch.complex128))
    print(torch.ones(2, 2, dtype=torch.bfloat16) / 3)
    x = torch.ones(2, requires_grad=True)
    print(x * 2, x.sum(), x[0], x.view(2, 1), x.mean(), (x > 0))
    print(torch.nn.Parameter(torch.zeros(2, 2)).T)


@program()
def device_selection_idioms(torch, log):
    device = "cuda" if torch.cuda.is_available() else "cpu"
    log(device, torch.cuda.device_count(), torch.backends.mps.is_available())
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.deterministic = True
    torch.cuda.manual_seed_all(0)
    torch.use_deterministic_algorithms(True)
    log(torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)
    torch.use_deterministic_algorithms(False)
    torch.set_float32_matmul_precision("high")
    log(torch.get_float32_matmul_precision())
    torch.set_float32_matmul_precision("highest")
    model = torch.nn.Linear(2, 2).to(device)
    x = torch.ones(1, 2, device=device)
    log(model(x).device, next(model.parameters()).device, str(x.device), x.is_cuda, x.device.type)
    log(torch.device(device) == x.device, x.to("cpu") is x, x.cpu() is x,
        x.to(torch.device("cpu"), torch.float64).dtype)
    log(torch.get_default_dtype(), torch.get_default_device() if hasattr(torch,
        "get_default_device") else None)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    log(torch.tensor([1.0]).dtype, torch.ones(1).dtype, torch.nn.Linear(1, 1).weight.dtype,
        torch.tensor([1]).dtype, torch.arange(3.0).dtype, (torch.ones(1, dtype=torch.int64) / 2)
        .dtype)
    torch.set_default_dtype(old)
    log(torch.tensor([1.0]).dtype)


@program()
def iterable_datasets(torch, log):
    data = _module(torch, "utils.data")

    class Stream(data.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            info = data.get_worker_info()
            log("worker", info)
            for i in range(self.n):
                yield torch.tensor([i, i * i])

    dl = data.DataLoader(Stream(5), batch_size=2)
    log([b for b in dl])
    chain = data.ChainDataset([Stream(2), Stream(3)])
    log([t.tolist() for t in chain])
    log(pytest_raises(lambda: len(data.DataLoader(Stream(3)))))
    log(pytest_raises(lambda: data.DataLoader(Stream(3), shuffle=True)))
    dl = data.DataLoader(Stream(4), batch_size=None)
    log([b for b in dl])
    samples = data.default_collate([(torch.tensor(1.0), 2, "a", np.float64(0.5)),
                                    (torch.tensor(2.0), 3, "b", np.float64(1.5))])
    log(samples)
    log(data.default_convert([np.arange(2), (np.float32(1.0),)]))


@program(tol=1e-5)
def multihead_attention_details(torch, log):
    nn, F = torch.nn, torch.nn.functional
    mha = nn.MultiheadAttention(8, 2, batch_first=True, dropout=0.0)
    q = torch.randn(2, 3, 8)
    kv = torch.randn(2, 4, 8)
    pad = torch.tensor([[False, False, True, True], [False, False, False, False]])
    out, w = mha(q, kv, kv, key_padding_mask=pad, need_weights=True,
                 average_attn_weights=False)
    log(out.shape, w.shape, w[0, :, :, 2:].abs().sum())
    out2, w2 = mha(q, kv, kv, key_padding_mask=pad)
    log(torch.allclose(out, out2), torch.allclose(w.mean(1), w2))
    causal = nn.Transformer.generate_square_subsequent_mask(3)
    log(causal)
    o3, _ = mha(q, q, q, attn_mask=causal, need_weights=False)
    log(o3[0, 0])
    mask_bool = torch.ones(3, 4, dtype=torch.bool).tril()
    a = F.scaled_dot_product_attention(q.view(2, 3, 2, 4).transpose(1, 2),
                                       kv.view(2, 4, 2, 4).transpose(1, 2),
                                       kv.view(2, 4, 2, 4).transpose(1, 2), attn_mask=mask_bool)
    log(a.shape, a[0, 0, 0])
    log(F.scaled_dot_product_attention(q, kv, kv, is_causal=True, scale=0.5)[0, 1])
    kdim = nn.MultiheadAttention(8, 2, kdim=5, vdim=6, batch_first=True)
    log(kdim(q, torch.randn(2, 4, 5), torch.randn(2, 4, 6))[0].shape,
        sorted(n for n, _ in kdim.named_parameters()))


@program(tol=1e-5)
def resizing_images(torch, log):
    F = torch.nn.functional
    img = torch.rand(1, 3, 9, 7)
    for mode, kw in [("bilinear", dict(antialias=True)), ("bicubic", dict(antialias=True)),
                     ("area", {}), ("nearest-exact", {}), ("bilinear", dict(align_corners=True))]:
        r = F.interpolate(img, size=(4, 3), mode=mode, **kw)
        log(mode, r[0, 0])
    log(F.interpolate(img, scale_factor=(0.5, 2.0), mode="bilinear",
                      recompute_scale_factor=True).shape)
    g = torch.rand(1, 2, 2, 2) * 2 - 1
    log(F.grid_sample(img, g, mode="bicubic", align_corners=False)[0, 0])
    log(F.interpolate(torch.rand(1, 2, 5), size=8, mode="linear")[0, 0],
        F.interpolate(torch.rand(1, 1, 2, 2, 2), scale_factor=2, mode="trilinear").shape)
    log(F.adaptive_avg_pool2d(img, (2, 3))[0, 0], F.avg_pool2d(img, 3, 2, 1,
                                                             count_include_pad=False)[0, 0])
    log(pytest_raises(lambda: F.interpolate(img, size=(4, 3), mode="nearest", antialias=True)))


@program()
def indexing_writes(torch, log):
    x = torch.zeros(5)
    idx = torch.tensor([0, 2, 2, 4])
    log(x.clone().index_put_((idx,), torch.tensor([1.0, 2.0, 3.0, 4.0]), accumulate=True))
    log(x.clone().index_put_((idx,), torch.tensor(7.0)))
    m = torch.tensor([True, False, True, False, True])
    log(x.clone().masked_scatter_(m, torch.tensor([9.0, 8.0, 7.0, 6.0])))
    y = torch.arange(12.).view(3, 4)
    log(y.take(torch.tensor([0, 5, 11])), y.clone().put_(torch.tensor([1, 1]), torch.tensor(
        [1.0, 2.0]), accumulate=True)[0])
    y2 = y.clone()
    y2[[0, 2], 1:3] = torch.tensor([[-1.0, -2.0], [-3.0, -4.0]])
    y2[y2 > 9] = 0
    y2[:, -1] += 1
    log(y2)
    y3 = y.clone()
    y3[torch.tensor([0, 0]), torch.tensor([1, 1])] += 5      # not accumulated
    log(y3[0], y.index_fill(1, torch.tensor([0, 3]), -1.0))
    log(y.masked_select(y % 3 == 0), y.nonzero()[:3], torch.nonzero(y > 8, as_tuple=True))
    log(torch.where(y > 5), torch.where(y > 5, y, -y)[0], torch.where(y > 5, 1.0, 0.0).dtype)
    log(y[..., None, 1].shape, y[None, :, None].shape, y[1:, [True, False, True, False]])
    log(y.index_copy(0, torch.tensor([2, 0]), torch.ones(2, 4))[:, 0],
        y.scatter(1, torch.tensor([[0], [1], [2]]), 100.0))


@program(tol=1e-5)
def policy_distributions(torch, log):
    D = torch.distributions
    mean = torch.tensor([[0.2, -0.3]], requires_grad=True)
    log_std = torch.tensor([[-0.5, 0.1]], requires_grad=True)
    base = D.Independent(D.Normal(mean, log_std.exp()), 1)
    squashed = D.TransformedDistribution(base, [D.transforms.TanhTransform(cache_size=1)])
    a = squashed.rsample()
    lp = squashed.log_prob(a)
    (lp.sum() + a.sum()).backward()
    log(a, lp, mean.grad, log_std.grad, base.event_shape, squashed.batch_shape)
    cat = D.Categorical(logits=torch.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]]))
    log(cat.enumerate_support(), cat.expand((4, 2)).batch_shape, cat.mode)
    relaxed = D.RelaxedOneHotCategorical(torch.tensor(0.5), logits=torch.tensor([1.0, 0.0, -1.0]))
    log(relaxed.rsample().sum(), D.OneHotCategorical(logits=torch.zeros(3)).sample((2,)))
    lr = D.LowRankMultivariateNormal(torch.zeros(3), torch.ones(3, 1), torch.ones(3))
    log(lr.covariance_matrix, lr.log_prob(torch.tensor([0.1, 0.2, 0.3])), lr.rsample().shape)
    beta = D.Beta(torch.tensor([2.0]), torch.tensor([5.0]))
    log(beta.mean, beta.log_prob(torch.tensor([0.3])), beta.rsample((2,)).shape)
    log(D.kl_divergence(D.Bernoulli(0.3), D.Bernoulli(0.6)),
        D.kl_divergence(D.Beta(2.0, 3.0), D.Beta(1.0, 1.0)))
    log(pytest_raises(lambda: D.Categorical(probs=torch.tensor([0.5, -0.5]))))
    log(D.Normal(0.0, 1.0).sample().shape, D.Normal(torch.zeros(2), 1.0).sample((3,)).shape)


@program(tol=_TRAIN)
def orthogonal_rnn_parametrization(torch, log):
    nn = torch.nn
    P = nn.utils.parametrizations
    lin = P.orthogonal(nn.Linear(4, 4))
    W = lin.weight
    log(torch.allclose(W @ W.T, torch.eye(4), atol=1e-5), type(lin).__name__)
    print(lin)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    x = torch.randn(3, 4)
    for _ in range(2):
        opt.zero_grad()
        lin(x).pow(2).sum().backward()
        opt.step()
    W = lin.weight
    log(torch.allclose(W @ W.T, torch.eye(4), atol=1e-5), sorted(lin.state_dict()))
    rnn = nn.RNN(3, 4, nonlinearity="relu", batch_first=True)
    out, h = rnn(torch.randn(2, 5, 3))
    log(out.shape, h.shape, (out >= 0).all())
    P.orthogonal(rnn, "weight_hh_l0")
    log(rnn(torch.randn(2, 5, 3))[0].shape,
        torch.allclose(rnn.weight_hh_l0 @ rnn.weight_hh_l0.T, torch.eye(4), atol=1e-5))


@program()
def saving_and_loading_options(torch, log):
    import os
    import tempfile
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ck.pt")
        torch.save({"epoch": 3, "model": model.state_dict(), "note": "ok"}, path)
        ck = torch.load(path, map_location="cpu", weights_only=True)
        log(sorted(ck), ck["epoch"], list(ck["model"]), ck["model"]["1.num_batches_tracked"])
        ck = torch.load(path, map_location=torch.device("cpu"), mmap=True)
        log(ck["model"]["0.weight"].shape, ck["note"])
        ck = torch.load(path, map_location=lambda storage, loc: storage)
        log(ck["epoch"])
        whole = os.path.join(d, "whole.pt")
        torch.save(torch.arange(4), whole)
        log(torch.load(whole), os.path.getsize(whole) > 0)
        legacy = os.path.join(d, "legacy.pt")
        torch.save(torch.ones(2), legacy, _use_new_zipfile_serialization=False)
        log(torch.load(legacy))
        log(pytest_raises(lambda: torch.load(os.path.join(d, "missing.pt")))[0])
    buf = io.BytesIO()
    torch.save([torch.ones(2, dtype=torch.float16), torch.tensor(True)], buf)
    buf.seek(0)
    log(torch.load(buf, map_location={"cpu": "cpu"}))


@program(tol=_TRAIN)
def optimizer_zoo(torch, log):
    nn = torch.nn
    makers = {
        "Adadelta": lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.8),
        "Adamax": lambda p: torch.optim.Adamax(p, lr=0.01),
        "NAdam": lambda p: torch.optim.NAdam(p, lr=0.01, decoupled_weight_decay=True,
                                             weight_decay=0.1),
        "RAdam": lambda p: torch.optim.RAdam(p, lr=0.01),
        "Rprop": lambda p: torch.optim.Rprop(p, lr=0.01, etas=(0.4, 1.3)),
        "ASGD": lambda p: torch.optim.ASGD(p, lr=0.01, t0=1),
        "SGD": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.5, dampening=0.1),
        "Adagrad": lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.01),
        "Adafactor": lambda p: torch.optim.Adafactor(p, lr=0.01),
        "RMSprop": lambda p: torch.optim.RMSprop(p, lr=0.01, centered=True, momentum=0.9),
        "LBFGS": lambda p: torch.optim.LBFGS(p, lr=1, line_search_fn="strong_wolfe"),
    }
    x, y = torch.randn(6, 3), torch.randn(6, 1)
    for name, make in makers.items():
        torch.manual_seed(1)
        model = nn.Linear(3, 1)
        opt = make(model.parameters())

        def closure():
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
        log(name, model.weight, sorted(opt.state_dict()["state"][0]))
    print(makers["Adafactor"]([nn.Parameter(torch.ones(1))]))
    print(makers["NAdam"]([nn.Parameter(torch.ones(1))]))


@program()
def tensor_reshaping_methods(torch, log):
    x = torch.arange(24.).view(2, 3, 4)
    log(x.new_zeros(2).dtype, x.new_full((1, 2), 7), x.new_ones(3, dtype=torch.int32))
    log(torch.ones(4).type_as(torch.ones(1, dtype=torch.float64)).dtype,
        torch.ones(1, 4).expand_as(x[0]).shape, x[0].view_as(torch.empty(4, 3)).shape)
    log(torch.tensor([1, 2, 3]).repeat_interleave(torch.tensor([2, 0, 1])),
        x.repeat_interleave(2, dim=0).shape)
    log([c.shape for c in x.chunk(3, dim=2)], [t.shape for t in x.tensor_split([1, 3], dim=2)])
    log(x.narrow(2, 1, 2)[0, 0], x.movedim(0, -1).shape, x.swapaxes(0, 1).shape)
    log(x.flatten(1).shape, x.flatten(0, 1).shape, x.unflatten(2, (2, 2)).shape)
    log(torch.zeros(1, 2, 1, 3).squeeze((0, 2)).shape, x[:, :1].squeeze(1).shape)
    log(x.permute(2, 0, 1).contiguous().stride(), x.t() if x.dim() == 2 else x.mT.shape)
    log(torch.stack([x, x], dim=-1).shape, torch.hstack([x, x]).shape, torch.vstack([x, x]).shape,
        torch.dstack([x[0], x[0]]).shape, torch.column_stack([torch.ones(3), torch.zeros(3)]))
    log(torch.atleast_2d(torch.tensor(1.0)).shape, torch.block_diag(torch.ones(1, 2),
                                                                   torch.ones(2, 1)))
    log(torch.flatten(torch.tensor(5.0)).shape, x.reshape(-1, 6).shape, x.ravel().shape)
    log(pytest_raises(lambda: x.permute(1, 0, 2).view(6, 4)))
    log(pytest_raises(lambda: x.view(5, -1)), pytest_raises(lambda: x.squeeze(5)))


@program()
def numpy_interop(torch, log):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = torch.from_numpy(a)
    a[0, 0] = 100
    log(t[0, 0], t.dtype)
    t[1, 1] = -1
    log(float(a[1, 1]), t.numpy() is not a, np.shares_memory(t.numpy(), a))
    log(torch.tensor(a).dtype, torch.as_tensor(a).data_ptr() == t.data_ptr(),
        torch.tensor(np.array([1, 2])).dtype, torch.tensor(np.array([True])).dtype)
    log(torch.tensor(np.float64(2.5)).dtype, torch.tensor([np.float32(1.0)]).dtype,
        torch.tensor(np.int16(3)).dtype)
    log(np.asarray(torch.ones(2)).dtype, np.array(torch.arange(3)).tolist())
    log(torch.ones(2).numpy().dtype, torch.ones(2, dtype=torch.float16).numpy().dtype)
    log(pytest_raises(lambda: torch.from_numpy(np.array(["a"]))))
    log(pytest_raises(lambda: torch.ones(2, requires_grad=True).numpy()))
    log(torch.ones(2, requires_grad=True).detach().numpy().tolist(),
        torch.from_numpy(a.T).is_contiguous(), torch.from_numpy(a[:, ::2]).stride())
    log(torch.tensor(3.5).item(), type(torch.tensor(3).item()).__name__,
        torch.tensor([1, 2]).tolist())


@program(tol=1e-6)
def special_functions(torch, log):
    S = torch.special
    x = torch.tensor([0.1, 0.5, 0.9])
    log(S.logit(x), S.expit(torch.tensor([-2.0, 0.0, 3.0])), S.logit(x, eps=0.2))
    log(S.xlog1py(torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 0.5])),
        S.entr(torch.tensor([0.0, 0.5, -1.0])))
    log(S.i0(x), S.i0e(x), S.i1(x), S.ndtr(torch.tensor([-1.0, 0.0, 2.0])))
    log(S.ndtri(x), S.log_ndtr(torch.tensor([-10.0, 0.0])), S.erfcx(torch.tensor([0.5, 5.0])))
    log(S.multigammaln(torch.tensor([2.5, 3.0]), 2), S.zeta(torch.tensor([2.0, 3.0]), 1.0))
    log(S.bessel_j0(x), S.gammaln(torch.tensor([0.5, 4.0])), S.digamma(torch.tensor([1.0])))
    log(S.log_softmax(torch.tensor([1.0, 2.0]), 0), S.sinc(torch.tensor([0.0, 0.5])),
        S.round(torch.tensor([2.5, -0.5])))
    log(torch.lgamma(torch.tensor([-0.5])), torch.mvlgamma(torch.tensor([3.0]), 3),
        torch.polygamma(1, torch.tensor([1.0, 2.0])))


@program(tol=_TRAIN)
def video_conv3d_model(torch, log):
    nn = torch.nn
    net = nn.Sequential(nn.Conv3d(3, 4, (3, 3, 3), padding=1), nn.BatchNorm3d(4), nn.ReLU(),
                        nn.MaxPool3d((1, 2, 2)), nn.Conv3d(4, 4, 3, stride=(1, 2, 2), padding=1),
                        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 2))
    clip = torch.randn(2, 3, 4, 8, 8)
    out = net(clip)
    loss = nn.functional.cross_entropy(out, torch.tensor([0, 1]))
    loss.backward()
    log(out, loss, net[0].weight.grad.abs().sum(), net[1].running_var)
    log(nn.functional.avg_pool3d(clip, 2).shape, nn.functional.interpolate(
        clip, scale_factor=(1, 0.5, 0.5), mode="trilinear").shape)


@program(tol=_TRAIN)
def mobilenet_block_channels_last(torch, log):
    nn = torch.nn

    class SE(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c // 2, 1), nn.ReLU(),
                                    nn.Conv2d(c // 2, c, 1), nn.Hardsigmoid())

        def forward(self, x):
            return x * self.fc(x)

    block = nn.Sequential(nn.Conv2d(4, 8, 1, bias=False), nn.BatchNorm2d(8), nn.Hardswish(),
                          nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
                          nn.BatchNorm2d(8), nn.Hardswish(), SE(8),
                          nn.Conv2d(8, 4, 1, bias=False), nn.BatchNorm2d(4))
    x = torch.randn(2, 4, 6, 6)
    block = block.to(memory_format=torch.channels_last)
    xc = x.to(memory_format=torch.channels_last)
    y = block(xc) + xc
    log(y.is_contiguous(memory_format=torch.channels_last), y.stride(), y[0, 0, 0])
    y.sum().backward()
    log(block[3].weight.grad.shape, block[3].weight.grad.abs().sum())
    same = nn.Conv2d(4, 4, 3, padding="same", dilation=2)
    log(same(x).shape, nn.Conv2d(4, 4, 3, padding="valid")(x).shape)
    log(pytest_raises(lambda: nn.Conv2d(4, 4, 3, padding="same", stride=2)))


@program(tol=_TRAIN)
def weight_standardized_groupnorm(torch, log):
    nn, F = torch.nn, torch.nn.functional

    class WSConv2d(nn.Conv2d):
        def forward(self, x):
            w = self.weight
            mean = w.mean(dim=(1, 2, 3), keepdim=True)
            var = w.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
            w = (w - mean) / torch.sqrt(var + 1e-5)
            return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation,
                            self.groups)

    net = nn.Sequential(WSConv2d(3, 8, 3, padding=1), nn.GroupNorm(4, 8), nn.ReLU(),
                        WSConv2d(8, 8, 3, padding=1, bias=False), nn.GroupNorm(2, 8))
    print(net)
    x = torch.randn(2, 3, 5, 5)
    y = net(x)
    y.pow(2).mean().backward()
    log(y[0, 0, 0], net[1].weight.grad, net[0].weight.grad.abs().sum())
    aspp = [nn.Conv2d(3, 2, 3, padding=d, dilation=d) for d in (1, 2, 3)]
    log(torch.cat([m(x) for m in aspp], 1).shape)


@program()
def sequence_utilities(torch, log):
    rnn = _module(torch, "nn.utils.rnn")
    seqs = [torch.tensor([1, 2, 3]), torch.tensor([4]), torch.tensor([5, 6])]
    packed = rnn.pack_sequence(seqs, enforce_sorted=False)
    log(packed.data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
    log(rnn.unpack_sequence(packed))
    padded = rnn.pad_sequence(seqs, batch_first=True, padding_value=-1, padding_side="left")
    log(padded)
    padded = rnn.pad_sequence(seqs)
    log(padded, rnn.unpad_sequence(padded, torch.tensor([3, 1, 2])))
    p2 = packed.to(torch.float64)
    log(p2.data.dtype, type(p2).__name__, packed.is_cuda, len(packed))
    log(pytest_raises(lambda: rnn.pack_sequence(seqs)))
    log(pytest_raises(lambda: rnn.pack_padded_sequence(torch.zeros(3, 2), torch.tensor([0, 2]),
                                                       enforce_sorted=False)))


@program(tol=_TRAIN)
def text_classification_embedding_bag(torch, log):
    nn = torch.nn
    texts = [[1, 4, 2], [3, 3], [5, 1, 1, 2], [6], [2, 7, 8]]
    labels = torch.tensor([0, 1, 0, 1, 2])

    def collate(batch):
        offs = [0] + [len(t) for t, _ in batch][:-1]
        return (torch.tensor([i for t, _ in batch for i in t]), torch.tensor(offs).cumsum(0),
                torch.tensor([y for _, y in batch]))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.EmbeddingBag(10, 4, mode="mean")
            self.fc = nn.Linear(4, 3)
            self.emb.weight.data.uniform_(-0.5, 0.5)
            self.fc.weight.data.uniform_(-0.5, 0.5)
            self.fc.bias.data.zero_()

        def forward(self, text, offsets):
            return self.fc(self.emb(text, offsets))

    model = Model()
    opt = torch.optim.SGD(model.parameters(), lr=5.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.1)
    data = list(zip(texts, labels.tolist()))
    for epoch in range(2):
        text, offsets, y = collate(data)
        opt.zero_grad()
        out = model(text, offsets)
        loss = nn.functional.cross_entropy(out, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        opt.step()
        sched.step()
        log(epoch, loss, (out.argmax(1) == y).sum().item(), sched.get_last_lr())


@program(tol=_TRAIN)
def language_model_with_tied_weights(torch, log):
    nn, F = torch.nn, torch.nn.functional

    class LM(nn.Module):
        def __init__(self, V=11, H=6):
            super().__init__()
            self.encoder = nn.Embedding(V, H)
            self.rnn = nn.LSTM(H, H, batch_first=True)
            self.decoder = nn.Linear(H, V)
            self.decoder.weight = self.encoder.weight
            self.drop = nn.Dropout(0.2)

        def forward(self, x, state=None):
            h, state = self.rnn(self.drop(self.encoder(x)), state)
            return self.decoder(self.drop(h)), state

    lm = LM()
    log(len(list(lm.parameters())), sorted(lm.state_dict()), lm.decoder.weight is
        lm.encoder.weight)
    data = torch.randint(0, 11, (2, 9))
    opt = torch.optim.Adam(lm.parameters(), lr=1e-2)
    state = None
    for i in range(2):
        x, y = data[:, i * 4:i * 4 + 4], data[:, i * 4 + 1:i * 4 + 5]
        if state is not None:
            state = tuple(s.detach() for s in state)
        logits, state = lm(x, state)
        loss = F.cross_entropy(logits.reshape(-1, 11), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(loss, math.exp(loss.item()), lm.encoder.weight.grad.abs().sum())
    lm.eval()
    with torch.no_grad():
        log(lm(data[:, :3])[0].argmax(-1))


@program(tol=1e-5)
def attention_pooling_and_infonce(torch, log):
    F = torch.nn.functional
    h = torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    w = torch.randn(4)
    scores = (h @ w).masked_fill(~mask, torch.finfo(h.dtype).min)
    a = scores.softmax(-1)
    log(a, torch.finfo(torch.float32).min, torch.finfo(torch.float16).max, torch.finfo().eps,
        torch.iinfo(torch.int8).min, torch.finfo(torch.bfloat16).tiny)
    pooled = (a.unsqueeze(-1) * h).sum(1)
    log(pooled)
    z1, z2 = F.normalize(torch.randn(4, 3), dim=-1), F.normalize(torch.randn(4, 3), dim=-1)
    logits = z1 @ z2.T / 0.1
    log(F.cross_entropy(logits, torch.arange(4)),
        (-torch.diag(logits) + torch.logsumexp(logits, 1)).mean())


@program(tol=_TRAIN)
def time_series_forecasting(torch, log):
    nn = torch.nn
    t = torch.arange(40, dtype=torch.float32)
    series = torch.sin(t / 4) + 0.1 * torch.randn(40)
    windows = series.unfold(0, 9, 1)
    x, y = windows[:, :8].unsqueeze(-1), windows[:, 8]

    class Forecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 8, batch_first=True)
            self.head = nn.Linear(8, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1]).squeeze(-1)

    model = Forecaster()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        log(loss)
    with torch.no_grad():
        hist = series[-8:].clone()
        preds = []
        for _ in range(4):
            nxt = model(hist.view(1, 8, 1))
            preds.append(nxt.item())
            hist = torch.cat([hist[1:], nxt])
        pred = model(x)
        mae = (pred - y).abs().mean()
        mape = ((pred - y).abs() / y.abs().clamp(min=1e-2)).mean() * 100
    log(preds, mae, mape)


@program(tol=_TRAIN)
def mc_dropout_and_gradient_reversal(torch, log):
    nn = torch.nn

    class GradReverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, alpha):
            ctx.alpha = alpha
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return -ctx.alpha * g, None

    feat = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Dropout(0.3))
    label_head, domain_head = nn.Linear(6, 2), nn.Linear(6, 2)
    x = torch.randn(8, 3)
    f = feat(x)
    y_loss = nn.functional.cross_entropy(label_head(f), torch.randint(0, 2, (8,)))
    d_loss = nn.functional.cross_entropy(domain_head(GradReverse.apply(f, 0.5)),
                                         torch.randint(0, 2, (8,)))
    (y_loss + d_loss).backward()
    log(y_loss, d_loss, feat[0].weight.grad)
    feat.train()
    with torch.no_grad():
        samples = torch.stack([label_head(feat(x)).softmax(-1) for _ in range(6)])
    log(samples.mean(0)[:2], samples.std(0)[:2])
    feat.eval()
    with torch.no_grad():
        log(torch.equal(feat(x), feat(x)))
    F = nn.functional
    z = torch.ones(2, 3, 4, 4)
    log(F.dropout1d(z[:, :, 0], 0.5).sum(), F.dropout2d(z, 0.5)[:, :, 0, 0],
        F.dropout3d(z.unsqueeze(2), 0.5).sum(), F.alpha_dropout(z, 0.2, training=True)[0, 0, 0],
        F.feature_alpha_dropout(z, 0.2, training=True)[0, :, 0, 0])


@program(tol=_TRAIN)
def vq_vae_codebook(torch, log):
    nn, F = torch.nn, torch.nn.functional
    K, D = 6, 3
    codebook = nn.Embedding(K, D)
    codebook.weight.data.uniform_(-1 / K, 1 / K)
    enc = nn.Linear(4, D)
    dec = nn.Linear(D, 4)
    x = torch.randn(10, 4)
    z = enc(x)
    dist = torch.cdist(z, codebook.weight)
    idx = dist.argmin(1)
    zq = codebook(idx)
    st = z + (zq - z).detach()           # straight-through estimator
    recon = dec(st)
    loss = F.mse_loss(recon, x) + F.mse_loss(zq, z.detach()) + 0.25 * F.mse_loss(z, zq.detach())
    loss.backward()
    log(idx, loss, enc.weight.grad, codebook.weight.grad.abs().sum(0))
    onehot = F.one_hot(idx, K).float()
    counts = onehot.sum(0)
    ema_counts = 0.99 * torch.ones(K) + 0.01 * counts
    ema_sum = 0.99 * codebook.weight.detach() + 0.01 * (onehot.T @ z.detach())
    n = ema_counts.sum()
    ema_counts = (ema_counts + 1e-5) / (n + K * 1e-5) * n
    log(ema_sum / ema_counts.unsqueeze(1))
    avg = onehot.mean(0)
    log(torch.exp(-(avg * torch.log(avg + 1e-10)).sum()))
    q = x.round()
    ste = x + (q - x).detach()
    log(ste.requires_grad, torch.equal(ste, q))


@program(tol=1e-5)
def pagerank_power_iteration(torch, log):
    A = (torch.rand(6, 6) > 0.6).float()
    A.fill_diagonal_(0)
    out_deg = A.sum(1, keepdim=True)
    P = torch.where(out_deg > 0, A / out_deg.clamp(min=1), torch.full_like(A, 1 / 6))
    r = torch.full((6,), 1 / 6)
    for it in range(30):
        r_new = 0.15 / 6 + 0.85 * (P.T @ r)
        if (r_new - r).abs().sum() < 1e-6:
            break
        r = r_new
    log(it, r, r.sum())
    log(torch.linalg.matrix_power(P, 3).sum(1), torch.matrix_exp(A * 0.1)[0])
    L = torch.diag(A.sum(1)) - A
    log(torch.linalg.eigvalsh(L + L.T)[:2], torch.trace(L), torch.linalg.matrix_rank(L))
    log(A.fill_diagonal_(2.0).diagonal(), torch.triu(A, 1).sum(), torch.tril_indices(3, 3))


@program(tol=_TRAIN)
def trainer_loop_with_callbacks(torch, log):
    nn = torch.nn
    data = _module(torch, "utils.data")

    class Callback:
        def on_epoch_end(self, trainer, metrics):
            pass

    class History(Callback):
        def __init__(self):
            self.rows = []

        def on_epoch_end(self, trainer, metrics):
            self.rows.append({k: round(v, 6) for k, v in metrics.items()})

    class Trainer:
        def __init__(self, model, opt, callbacks):
            self.model, self.opt, self.callbacks = model, opt, callbacks

        def fit(self, train, val, epochs):
            for epoch in range(epochs):
                self.model.train()
                total, n = 0.0, 0
                for xb, yb in train:
                    self.opt.zero_grad(set_to_none=True)
                    loss = nn.functional.cross_entropy(self.model(xb), yb)
                    loss.backward()
                    self.opt.step()
                    total += loss.item() * len(xb)
                    n += len(xb)
                self.model.eval()
                correct = 0
                with torch.inference_mode():
                    for xb, yb in val:
                        correct += (self.model(xb).argmax(1) == yb).sum().item()
                for cb in self.callbacks:
                    cb.on_epoch_end(self, {"loss": total / n, "acc": correct / len(val.dataset)})

    X = torch.randn(40, 4)
    Y = (X[:, 0] + X[:, 1] > 0).long()
    ds = data.TensorDataset(X, Y)
    tr, va = data.random_split(ds, [30, 10], generator=torch.Generator().manual_seed(0))
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    hist = History()
    Trainer(model, torch.optim.Adam(model.parameters(), lr=1e-2), [hist]).fit(
        data.DataLoader(tr, batch_size=8, shuffle=True), data.DataLoader(va, batch_size=4), 3)
    log(hist.rows)
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    whole = torch.load(buf, weights_only=False)
    log(type(whole).__name__, torch.equal(whole[0].weight, model[0].weight))


@pytest.mark.parametrize("name", PROGRAMS.params())
def test_program_like_torch(name):
    fn, tol, _ = PROGRAMS[name]
    _check(fn, tol)


# Regressions the programs found


def _anomaly_warnings(lib):
    x = lib.tensor([1.0, 0.0], requires_grad=True)
    untraced = (x.sqrt() * 0).sum()
    seen = []
    with _every_warning() as caught:
        with lib.autograd.detect_anomaly():
            traced = (x.sqrt() * 0).sum()
            for y in (traced, untraced):
                seen.append(pytest_raises(y.backward))
    return seen, [str(w.message) for w in caught]


def test_anomaly_warnings_end_with_the_line_torch_warned_from():
    # torch's TORCH_WARN adds "(Triggered internally at .../python_anomaly_mode.cpp:N.)"
    assert _anomaly_warnings(ember) == _anomaly_warnings(torch)


def test_clip_grad_value_without_gradients_errors_like_torch():
    def run(lib):
        lin = lib.nn.Linear(2, 1)
        out = [pytest_raises(lambda: lib.nn.utils.clip_grad_value_(lin.parameters(), 0.1)),
               pytest_raises(lambda: lib.nn.utils.clip_grad_value_([], 0.1))]
        lin(lib.ones(1, 2)).sum().backward()
        lin.weight.grad.mul_(3)
        lib.nn.utils.clip_grad_value_(lin.parameters(), 0.5)
        return out, lin.weight.grad.tolist(), lin.bias.grad.tolist()
    assert run(ember) == run(torch)


_THROUGH_INFINITIES = {
    "sum": lambda lib, x, y, w: x.sum(), "mean": lambda lib, x, y, w: x.mean(),
    "cumsum": lambda lib, x, y, w: x.cumsum(0), "cumprod": lambda lib, x, y, w: x.cumprod(0),
    "matmul-grad": lambda lib, x, y, w: (x.view(4, 1) @ w.T).sum().backward(),
    "prod": lambda lib, x, y, w: y.prod(), "prod-dim": lambda lib, x, y, w: x.view(2, 2).prod(1),
    "prod-grad": lambda lib, x, y, w: (x.view(4, 1) * w.T).prod(0).sum().backward(),
    "nansum": lambda lib, x, y, w: x.nansum(), "nanmean": lambda lib, x, y, w: x.nanmean(),
    "norm-1": lambda lib, x, y, w: y.norm(1), "norm-1-dim": lambda lib, x, y, w:
        x.view(2, 2).norm(1, dim=1),
    "batch_norm": lambda lib, x, y, w: lib.nn.functional.batch_norm(
        x.view(1, 1, 2, 2).expand(2, 2, 2, 2).contiguous(), None, None, training=True),
    "instance_norm": lambda lib, x, y, w: lib.nn.functional.instance_norm(x.view(1, 1, 4)),
    "sinc": lambda lib, x, y, w: x.sinc(),
    "sum-dims": lambda lib, x, y, w: x.view(2, 1, 2).sum((0, 2)),
    "var_mean-long": lambda lib, x, y, w: lib.var_mean(lib.cat([lib.ones(70), x])),
}


@pytest.mark.parametrize("case", sorted(_THROUGH_INFINITIES))
def test_reductions_through_infinities_warn_nothing_like_torch(case):
    # (a GradScaler step with an overflowed loss): ember's filter silences NumPy's floating-
    # point warnings raised in its own modules, but np.cumsum's and ndarray.sum/prod/mean's
    # Python wrappers raised them from NumPy's modules
    def run(lib):
        x = lib.tensor([float("inf"), -float("inf"), 3e38, 3e38])
        y = lib.tensor([3e38, 3e38, -3e38, -3e38])
        w = lib.ones(3, 1, requires_grad=True)
        with warnings.catch_warnings(record=True) as seen:     # the filters a user has
            _THROUGH_INFINITIES[case](lib, x, y, w)
        return [str(w.message) for w in seen if w.category is RuntimeWarning]
    assert run(ember) == run(torch)


def test_property_getters_reach_torch_function_named_as_torchs():
    # torch passes `Tensor.<name>.__get__`, a method-wrapper named "__get__"
    def run(lib):
        seen = []

        class Logged(lib.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                seen.append((func.__name__, func.__qualname__, lib.overrides.resolve_name(func)))
                return super().__torch_function__(func, types, args, kwargs or {})

        x = lib.ones(2, 2).as_subclass(Logged)
        x.data, x.shape, x.grad, x.requires_grad, x.T
        return seen
    assert run(ember) == run(torch)


@pytest.mark.parametrize("mode", ["RNN", "GRU", "LSTM"])
def test_recurrent_layers_run_parametrized_weights_and_biases_like_torch(mode):
    def run(lib):
        lib.manual_seed(0)
        nn = lib.nn

        class Doubled(nn.Module):
            def forward(self, b):
                return 2 * b

        rnn = getattr(nn, mode)(3, 4, num_layers=2, bidirectional=True)
        nn.utils.parametrizations.weight_norm(rnn, "weight_hh_l0")
        nn.utils.parametrize.register_parametrization(rnn, "bias_ih_l1_reverse", Doubled())
        out = rnn(lib.randn(5, 2, 3))[0]
        out.sum().backward()
        g = rnn.parametrizations.bias_ih_l1_reverse.original.grad
        return out.detach().numpy(), g.numpy()
    got, want = run(ember), run(torch)
    for a, b in zip(got, want):         # (matmuls: BLAS's order)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_recurrent_layer_with_only_a_parametrized_bias_keeps_it_like_torch():
    # ember's fast path read the parameters from __dict__, where a parametrized bias is not:
    # it computed without the bias
    def run(lib):
        lib.manual_seed(0)

        class Doubled(lib.nn.Module):
            def forward(self, b):
                return 2 * b

        gru = lib.nn.GRU(3, 4)
        lib.nn.utils.parametrize.register_parametrization(gru, "bias_ih_l0", Doubled())
        return gru(lib.ones(2, 1, 3))[0].detach().numpy()
    np.testing.assert_allclose(run(ember), run(torch), rtol=1e-5, atol=1e-6)


def test_numpy_gives_a_new_array_object_sharing_the_memory_like_torch():
    # ember returned its own array: reshaping the result in place reshaped the tensor
    def run(lib):
        a = np.arange(6.0)
        t = lib.from_numpy(a)
        out = [t.numpy() is a, t.numpy() is t.numpy(), np.asarray(t) is np.asarray(t),
               np.shares_memory(t.numpy(), a), np.shares_memory(np.asarray(t), a)]
        t.numpy().shape = (2, 3)
        np.asarray(t).shape = (3, 2)
        t.numpy()[0] = 7
        return out, tuple(t.shape), t.tolist(), a.tolist()
    assert run(ember) == run(torch)


def test_unpad_sequence_transposes_a_time_major_batch_in_place_like_torch():
    def run(lib):
        rnn = importlib.import_module(f"{lib.__name__}.nn.utils.rnn")
        padded = rnn.pad_sequence([lib.tensor([1, 2, 3]), lib.tensor([4])])
        parts = rnn.unpad_sequence(padded, lib.tensor([3, 1]))
        return [p.tolist() for p in parts], padded.tolist(), padded.stride()
    assert run(ember) == run(torch)
