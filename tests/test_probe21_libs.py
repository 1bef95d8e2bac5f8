"""The way libraries built on torch use it (round 21): torchvision's model blocks (ResNet, MobileNet
inverted residuals, EfficientNet squeeze-excitation, ViT embeddings), torchaudio's transforms
(STFT/ISTFT, mel filterbanks, amplitude_to_DB, sinc resampling, SpecAugment), detection (FPN,
anchor matching, focal and GIoU losses, batched NMS), segmentation losses, NLP decoding and
losses, recsys (EmbeddingBag, FM, DCN), GNN message passing, RL objectives, contrastive losses,
CPU mixed precision, model surgery and checkpointing — written inline, run under ember and torch
from the same seed: everything they record must agree. The harness is test_probe17_programs'."""
import math

import pytest
import torch

import ember

from probe_registry import Programs
from test_probe18_programs import _check

PROGRAMS = Programs()
program = PROGRAMS.program


# programs through matmuls, convolutions and reductions compare within 1e-4; programs through
# transcendental functions within 1e-6 (see test_probe20_libs)
_MM = 1e-4
_TR = 1e-6


# torchvision model building blocks

@program(tol=_MM)
def tv_resnet_basic_block_train_eval(torch, log):
    nn = torch.nn

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            return self.relu(out)

    ds = nn.Sequential(nn.Conv2d(3, 6, 1, 2, bias=False), nn.BatchNorm2d(6))
    blk = BasicBlock(3, 6, 2, ds)
    for m in blk.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    nn.init.constant_(blk.bn2.weight, 0)   # zero_init_residual
    x = torch.randn(2, 3, 8, 8)
    y = blk(x)
    log(y.shape, y.sum(), blk.bn1.running_mean, blk.bn1.running_var, blk.bn1.num_batches_tracked)
    y.mean().backward()
    log(blk.conv1.weight.grad.abs().sum(), blk.bn2.weight.grad)
    blk.eval()
    with torch.no_grad():
        z = blk(x)
    log(z[0, 0, :2], blk.bn1.num_batches_tracked, z.requires_grad)


@program(tol=_MM)
def tv_resnet_bottleneck_and_frozen_bn(torch, log):
    nn = torch.nn

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride=1, groups=1, base_width=64):
            super().__init__()
            width = int(planes * (base_width / 64.0)) * groups
            self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return self.relu(out + x)

    blk = Bottleneck(8, 2, groups=2, base_width=32)
    x = torch.randn(3, 8, 5, 5)
    for _ in range(2):
        blk(x)
    log([(k, tuple(v.shape)) for k, v in blk.state_dict().items()][:6])
    log(blk.bn3.running_var, blk.bn2.num_batches_tracked.dtype)
    # freeze BN the detectron way: eval + requires_grad False
    for m in blk.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
            m.weight.requires_grad_(False)
            m.bias.requires_grad_(False)
    y = blk(x)
    y.sum().backward()
    log(y.mean(), blk.bn1.weight.grad, blk.conv2.weight.grad.shape, blk.bn3.running_mean[:3])
    bn = nn.BatchNorm2d(4, momentum=None)
    for i in range(3):
        bn(torch.randn(2, 4, 3, 3) + i)
    log(bn.running_mean, bn.num_batches_tracked)
    try:
        nn.BatchNorm2d(4)(torch.randn(1, 4, 1, 1))
    except Exception as e:
        log(type(e).__name__, str(e))


@program(tol=_MM)
def tv_mobilenet_inverted_residual_channels_last(torch, log):
    nn = torch.nn

    def _make_divisible(v, divisor, min_value=None):
        if min_value is None:
            min_value = divisor
        new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
        if new_v < 0.9 * v:
            new_v += divisor
        return new_v

    class InvertedResidual(nn.Module):
        def __init__(self, inp, oup, stride, expand_ratio):
            super().__init__()
            hidden = int(round(inp * expand_ratio))
            self.use_res = stride == 1 and inp == oup
            self.conv = nn.Sequential(
                nn.Conv2d(inp, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(True),
                nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                nn.Conv2d(hidden, oup, 1, bias=False), nn.BatchNorm2d(oup))

        def forward(self, x):
            return x + self.conv(x) if self.use_res else self.conv(x)

    log([_make_divisible(c * 0.75, 8) for c in (16, 24, 32, 96, 320)])
    blk = InvertedResidual(4, 4, 1, 6)
    x = torch.randn(2, 4, 6, 6) * 3
    blk = blk.to(memory_format=torch.channels_last)
    xc = x.to(memory_format=torch.channels_last)
    y = blk(xc)
    log(y.is_contiguous(memory_format=torch.channels_last), y.stride(), y.sum())
    log(blk.conv[3].weight.stride(), blk.conv[3].weight.shape)
    y.square().mean().backward()
    log(blk.conv[3].weight.grad.stride(), blk.conv[3].weight.grad.sum())
    r6 = nn.ReLU6()
    t = torch.tensor([-1.0, 0.0, 3.0, 6.0, 7.0], requires_grad=True)
    r6(t).sum().backward()
    log(r6(t), t.grad, repr(r6), repr(nn.ReLU6(True)))
    blk2 = InvertedResidual(4, 8, 2, 1)
    log(blk2(x).shape, blk2.use_res)


@program(tol=_TR)
def tv_efficientnet_se_and_hardswish(torch, log):
    nn, F = torch.nn, torch.nn.functional

    class SqueezeExcitation(nn.Module):
        def __init__(self, ch, sq, activation=nn.ReLU, scale_activation=nn.Sigmoid):
            super().__init__()
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc1 = nn.Conv2d(ch, sq, 1)
            self.fc2 = nn.Conv2d(sq, ch, 1)
            self.activation = activation()
            self.scale_activation = scale_activation()

        def forward(self, x):
            s = self.avgpool(x)
            s = self.scale_activation(self.fc2(self.activation(self.fc1(s))))
            return s * x

    se = SqueezeExcitation(6, 2, nn.SiLU)
    x = torch.randn(2, 6, 5, 5)
    y = se(x)
    log(y.shape, y[1, :, 0, 0], se.avgpool(x).shape)
    se3 = SqueezeExcitation(6, 2, nn.ReLU, nn.Hardsigmoid)
    log(se3(x)[0, 0, 0], nn.Hardswish()(torch.linspace(-4, 4, 9)))
    log(F.hardsigmoid(torch.linspace(-4, 4, 9)), F.adaptive_avg_pool2d(x, (2, 3)).shape)
    # stochastic depth in MBConv: bernoulli row mask divided by survival
    torch.manual_seed(5)
    keep = torch.empty(4, 1, 1, 1).bernoulli_(0.8)
    log(keep.flatten(), keep.div_(0.8).flatten())
    t = torch.randn(4, 6, 3, 3, requires_grad=True)
    out = F.silu(t) * se(t.detach()).sigmoid()
    out.sum().backward()
    log(t.grad[0, 0])


@program(tol=_TR)
def tv_vit_patch_class_token_pos_interp(torch, log):
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(1)
    hidden, patch = 8, 4
    conv_proj = nn.Conv2d(3, hidden, patch, patch)
    class_token = nn.Parameter(torch.zeros(1, 1, hidden))
    pos = nn.Parameter(torch.empty(1, 1 + 4, hidden).normal_(std=0.02))
    x = torch.randn(2, 3, 8, 8)
    n, _, h, w = x.shape
    p = conv_proj(x).reshape(n, hidden, (h // patch) * (w // patch)).permute(0, 2, 1)
    tok = torch.cat([class_token.expand(n, -1, -1), p], dim=1) + pos
    log(tok.shape, tok.stride(), tok[0, 0], p.is_contiguous())
    # interpolate_embeddings (torchvision): bicubic over the patch grid, class token kept
    pos_tok, pos_img = pos[:, :1], pos[:, 1:]
    seq = pos_img.shape[1]
    side = int(math.sqrt(seq))
    pos_img = pos_img.permute(0, 2, 1).reshape(1, hidden, side, side)
    for align in (True, False):
        new = F.interpolate(pos_img, size=(3, 3), mode="bicubic", align_corners=align)
        new = new.reshape(1, hidden, 9).permute(0, 2, 1)
        log(torch.cat([pos_tok, new], dim=1).shape, new[0, 4])
    up = F.interpolate(pos_img, scale_factor=1.5, mode="bicubic", antialias=False)
    down = F.interpolate(pos_img.detach(), size=(1, 1), mode="bicubic", antialias=True)
    log(up.shape, up[0, 0], down.flatten())
    tok.sum().backward()
    log(class_token.grad, pos.grad.shape)
    try:
        nn.Conv2d(3, hidden, patch, patch)(torch.randn(2, 4, 8, 8))
    except Exception as e:
        log(type(e).__name__, str(e))



# torchaudio

@program(tol=_MM)
def ta_stft_istft_windows(torch, log):
    torch.manual_seed(0)
    wave = torch.randn(2, 400)
    for win_fn in (torch.hann_window, torch.hamming_window, torch.blackman_window):
        w = win_fn(64)
        log(w.dtype, w[:3], w.sum())
    log(torch.hann_window(8, periodic=False), torch.kaiser_window(8, False, 5.0))
    try:
        torch.kaiser_window(8, beta=12.0)
    except TypeError as e:
        log(str(e))
    n_fft, hop = 64, 16
    win = torch.hann_window(n_fft)
    spec = torch.stft(wave, n_fft, hop, window=win, return_complex=True, center=True,
                      pad_mode="reflect")
    log(spec.shape, spec.dtype, spec.abs().sum(), spec[0, 3, :2])
    power = spec.abs().pow(2.0)
    log(power.mean(), torch.view_as_real(spec).shape)
    rec = torch.istft(spec, n_fft, hop, window=win, length=400)
    log(rec.shape, (rec - wave).abs().max() < 1e-4)
    spec2 = torch.stft(wave[0], 32, 8, win_length=24, window=torch.hann_window(24),
                       return_complex=True, normalized=True, onesided=False)
    log(spec2.shape, spec2[5, 1])
    try:
        torch.stft(wave, n_fft, hop)
    except Exception as e:
        log(type(e).__name__, str(e)[:80])


@program(tol=_MM)
def ta_melspectrogram_filterbank_db(torch, log):
    def hz_to_mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    def mel_fb(n_freqs, f_min, f_max, n_mels, sr):
        all_freqs = torch.linspace(0, sr // 2, n_freqs)
        m_pts = torch.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2)
        f_pts = 700.0 * (10 ** (m_pts / 2595.0) - 1.0)
        f_diff = f_pts[1:] - f_pts[:-1]
        slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
        down = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
        up = slopes[:, 2:] / f_diff[1:]
        fb = torch.max(torch.zeros(1), torch.min(down, up))
        enorm = 2.0 / (f_pts[2: n_mels + 2] - f_pts[:n_mels])
        return fb, fb * enorm.unsqueeze(0)

    fb, fb_slaney = mel_fb(33, 0.0, 8000.0, 10, 16000)
    log(fb.shape, fb.sum(0), fb_slaney.max())
    torch.manual_seed(2)
    wave = torch.randn(1, 800)
    spec = torch.stft(wave, 64, 32, window=torch.hann_window(64), return_complex=True).abs() ** 2
    mel = torch.matmul(spec.transpose(-1, -2), fb).transpose(-1, -2)
    log(mel.shape, mel.sum())

    def amplitude_to_DB(x, multiplier, amin, db_multiplier, top_db=None):
        x_db = multiplier * torch.log10(torch.clamp(x, min=amin))
        x_db -= multiplier * db_multiplier
        if top_db is not None:
            shape = x_db.size()
            packed = x_db.reshape(-1, shape[-3], shape[-2], shape[-1])
            x_db = torch.max(packed, (packed.amax(dim=(-3, -2, -1)) - top_db).view(-1, 1, 1, 1))
            x_db = x_db.reshape(shape)
        return x_db

    db = amplitude_to_DB(mel.unsqueeze(0), 10.0, 1e-10, math.log10(max(1e-10, 1.0)), 80.0)
    log(db.shape, db.max(), db.min(), db[0, 0, :3, :3])
    log(torch.log10(torch.tensor([0.0, 1e-12, 1.0])), torch.clamp(torch.tensor([0.0]), min=1e-10))
    mfcc_dct = torch.cos(math.pi / 10 * (torch.arange(10.0) + 0.5).unsqueeze(0)
                         * torch.arange(4.0).unsqueeze(1))
    log((db[0].transpose(-1, -2) @ mfcc_dct.t()).shape)


@program(tol=_MM)
def ta_sinc_resample_conv1d(torch, log):
    F = torch.nn.functional
    orig, new = 3, 2
    gcd = math.gcd(orig, new)
    orig, new = orig // gcd, new // gcd
    lowpass_filter_width, rolloff = 6, 0.99
    base_freq = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base_freq)
    idx = torch.arange(-width, width + orig, dtype=torch.float64)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=torch.float64)[:, None, None] / new + idx
    t *= base_freq
    t = t.clamp_(-lowpass_filter_width, lowpass_filter_width)
    window = torch.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    t *= math.pi
    scale = base_freq / orig
    kernels = torch.where(t == 0, torch.tensor(1.0).to(t), t.sin() / t)
    kernels *= window * scale
    kernels = kernels.to(torch.float32)
    log(kernels.shape, kernels[0, 0, :4], width)
    torch.manual_seed(4)
    wave = torch.randn(2, 30)
    shape = wave.size()
    w = wave.view(-1, shape[-1])
    length = w.size(-1)
    w = F.pad(w, (width, width + orig))
    res = F.conv1d(w[:, None], kernels, stride=orig)
    res = res.transpose(1, 2).reshape(2, -1)
    target = math.ceil(new * length / orig)
    res = res[..., :target]
    log(res.shape, res.sum(), res[1, :4])
    # kaiser window variant
    beta = 14.769656459379492
    beta_t = torch.tensor(beta, dtype=torch.float64)
    kw = torch.i0(beta_t * torch.sqrt(1 - (t / math.pi / lowpass_filter_width) ** 2)) / \
        torch.i0(beta_t)
    log(kw.dtype, kw[1, 0, :3])


@program()
def ta_spec_augment_masks(torch, log):
    torch.manual_seed(7)
    spec = torch.randn(3, 8, 20)

    def mask_along_axis_iid(specgrams, mask_param, mask_value, axis):
        dim = specgrams.dim() - (3 - axis) if axis < 3 else axis
        value = torch.rand(specgrams.shape[:2]) * mask_param
        min_value = torch.rand(specgrams.shape[:2]) * (specgrams.size(axis) - value)
        mask_start = min_value.long()[..., None, None]
        mask_end = (min_value.long() + value.long())[..., None, None]
        mask = torch.arange(0, specgrams.size(axis), dtype=specgrams.dtype)
        specgrams = specgrams.transpose(axis, -1)
        specgrams = specgrams.masked_fill((mask >= mask_start) & (mask < mask_end), mask_value)
        return specgrams.transpose(axis, -1), dim

    batch = spec.unsqueeze(1).expand(3, 2, 8, 20).clone()
    out, d = mask_along_axis_iid(batch, 5, 0.0, 3)
    log(d, (out == 0).sum(dim=(-1, -2)), out.stride())
    out2, _ = mask_along_axis_iid(batch, 4, batch.mean().item(), 2)
    log((out2 == batch.mean()).sum())

    def mask_along_axis(specgram, mask_param, mask_value, axis, p=1.0):
        value = torch.rand(1) * mask_param
        min_value = torch.rand(1) * (specgram.size(axis) - value)
        mask_start = (min_value.long()).squeeze()
        mask_end = (min_value.long() + value.long()).squeeze()
        mask = torch.arange(0, specgram.shape[axis], dtype=specgram.dtype)
        mask = (mask >= mask_start) & (mask < mask_end)
        if axis == 1:
            mask = mask.unsqueeze(-1)
        return specgram.masked_fill(mask, mask_value), mask_start, mask_end

    o, a, b = mask_along_axis(spec, 6, 0.0, 2)
    log(a, b, a.dtype, (o == 0).sum())
    o, a, b = mask_along_axis(spec, 3, -1.0, 1)
    log(a.shape, (o == -1).sum(dim=1))
    # time stretch-free frequency masking with index_fill
    log(spec[0].index_fill(0, torch.tensor([1, 3]), 0.0).abs().sum(1))


# detection

@program(tol=_MM)
def det_fpn_topdown(torch, log):
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(0)
    in_ch = [4, 8, 16]
    inner = nn.ModuleList(nn.Conv2d(c, 6, 1) for c in in_ch)
    layer = nn.ModuleList(nn.Conv2d(6, 6, 3, padding=1) for _ in in_ch)
    for m in list(inner) + list(layer):
        nn.init.kaiming_uniform_(m.weight, a=1)
        nn.init.constant_(m.bias, 0)
    feats = [torch.randn(2, 4, 16, 16), torch.randn(2, 8, 8, 8), torch.randn(2, 16, 4, 4)]
    last_inner = inner[-1](feats[-1])
    results = [layer[-1](last_inner)]
    for idx in range(len(feats) - 2, -1, -1):
        inner_lateral = inner[idx](feats[idx])
        feat_shape = inner_lateral.shape[-2:]
        top_down = F.interpolate(last_inner, size=feat_shape, mode="nearest")
        last_inner = inner_lateral + top_down
        results.insert(0, layer[idx](last_inner))
    results.append(F.max_pool2d(results[-1], 1, 2, 0))   # LastLevelMaxPool
    log([r.shape for r in results], [r.sum() for r in results])
    up2 = F.interpolate(results[1], scale_factor=2, mode="nearest")
    log((up2 - F.interpolate(results[1], size=(16, 16))).abs().max())
    sum(r.mean() for r in results).backward()
    log(inner[0].weight.grad.sum(), layer[2].bias.grad)


@program()
def det_anchor_matching_iou_thresholds(torch, log):
    def box_iou(a, b):
        area1 = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
        area2 = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        lt = torch.max(a[:, None, :2], b[:, :2])
        rb = torch.min(a[:, None, 2:], b[:, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[:, :, 0] * wh[:, :, 1]
        return inter / (area1[:, None] + area2 - inter)

    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 35.0]])
    anchors = torch.tensor([[0.0, 0.0, 8.0, 8.0], [1.0, 1.0, 11.0, 11.0], [18.0, 22.0, 30.0, 30.0],
                            [50.0, 50.0, 60.0, 60.0], [5.0, 5.0, 15.0, 15.0],
                            [21.0, 21.0, 29.0, 36.0]])
    match_quality = box_iou(gt, anchors)
    log(match_quality)
    BELOW, BETWEEN = -1, -2
    high, low = 0.7, 0.3
    matched_vals, matches = match_quality.max(dim=0)
    all_matches = matches.clone()
    below = matched_vals < low
    between = (matched_vals >= low) & (matched_vals < high)
    matches[below] = BELOW
    matches[between] = BETWEEN
    log(matched_vals, matches)
    # allow_low_quality_matches
    highest, _ = match_quality.max(dim=1)
    gt_pred_pairs = torch.where(match_quality == highest[:, None])
    pred_inds = gt_pred_pairs[1]
    matches[pred_inds] = all_matches[pred_inds]
    log(gt_pred_pairs, matches)
    labels = matches >= 0
    labels = labels.to(torch.float32)
    labels[matches == BELOW] = 0.0
    labels[matches == BETWEEN] = -1.0
    log(labels, gt[matches.clamp(min=0)])
    # balanced positive / negative sampler
    torch.manual_seed(1)
    positive = torch.where(labels >= 1)[0]
    negative = torch.where(labels == 0)[0]
    perm1 = torch.randperm(positive.numel())[:1]
    perm2 = torch.randperm(negative.numel())[:2]
    pos_mask = torch.zeros_like(labels, dtype=torch.uint8)
    pos_mask[positive[perm1]] = 1
    neg_mask = torch.zeros_like(labels, dtype=torch.uint8)
    neg_mask[negative[perm2]] = 1
    log(pos_mask, neg_mask, torch.where(torch.cat([pos_mask, neg_mask]))[0])
    empty = box_iou(torch.zeros(0, 4), anchors)
    log(empty.shape)
    try:
        empty.max(dim=0)
    except Exception as e:
        log(type(e).__name__, str(e))



@program(tol=_TR)
def det_focal_giou_losses(torch, log):
    F = torch.nn.functional

    def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
        p = torch.sigmoid(inputs)
        ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce * ((1 - p_t) ** gamma)
        if alpha >= 0:
            alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
            loss = alpha_t * loss
        return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss

    torch.manual_seed(3)
    logits = torch.randn(4, 5, requires_grad=True)
    tgt = (torch.rand(4, 5) > 0.7).float()
    for red in ("none", "mean", "sum"):
        log(red, sigmoid_focal_loss(logits, tgt, reduction=red))
    sigmoid_focal_loss(logits, tgt, reduction="sum").backward()
    log(logits.grad)

    def giou_loss(b1, b2, eps=1e-7):
        x1, y1, x2, y2 = b1.unbind(dim=-1)
        x1g, y1g, x2g, y2g = b2.unbind(dim=-1)
        xkis1, ykis1 = torch.max(x1, x1g), torch.max(y1, y1g)
        xkis2, ykis2 = torch.min(x2, x2g), torch.min(y2, y2g)
        intsct = torch.zeros_like(x1)
        mask = (ykis2 > ykis1) & (xkis2 > xkis1)
        intsct[mask] = (xkis2[mask] - xkis1[mask]) * (ykis2[mask] - ykis1[mask])
        union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsct
        iou = intsct / (union + eps)
        xc1, yc1 = torch.min(x1, x1g), torch.min(y1, y1g)
        xc2, yc2 = torch.max(x2, x2g), torch.max(y2, y2g)
        area_c = (xc2 - xc1) * (yc2 - yc1)
        return 1 - (iou - ((area_c - union) / (area_c + eps)))

    b1 = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 3.0, 5.0], [0.0, 0.0, 1.0, 1.0]],
                      requires_grad=True)
    b2 = torch.tensor([[1.0, 1.0, 5.0, 5.0], [1.0, 1.0, 3.0, 5.0], [2.0, 2.0, 3.0, 3.0]])
    gl = giou_loss(b1, b2)
    gl.sum().backward()
    log(gl, b1.grad)


@program()
def det_batched_nms_coordinate_offsets(torch, log):
    def nms(boxes, scores, thr):
        order = scores.argsort(descending=True)
        keep = []
        x1, y1, x2, y2 = boxes.unbind(1)
        areas = (x2 - x1) * (y2 - y1)
        while order.numel() > 0:
            i = order[0]
            keep.append(i)
            if order.numel() == 1:
                break
            rest = order[1:]
            xx1 = x1[rest].clamp(min=x1[i].item())
            yy1 = y1[rest].clamp(min=y1[i].item())
            xx2 = x2[rest].clamp(max=x2[i].item())
            yy2 = y2[rest].clamp(max=y2[i].item())
            inter = (xx2 - xx1).clamp(min=0) * (yy2 - yy1).clamp(min=0)
            iou = inter / (areas[i] + areas[rest] - inter)
            order = rest[iou <= thr]
        return torch.stack(keep) if keep else torch.empty(0, dtype=torch.int64)

    torch.manual_seed(0)
    xy = torch.rand(12, 2) * 20
    wh = torch.rand(12, 2) * 10 + 1
    boxes = torch.cat([xy, xy + wh], dim=1)
    scores = torch.rand(12)
    idxs = torch.randint(0, 3, (12,))
    max_coordinate = boxes.max()
    offsets = idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))
    boxes_for_nms = boxes + offsets[:, None]
    keep = nms(boxes_for_nms, scores, 0.3)
    keep = keep[scores[keep].sort(descending=True)[1]]
    log(offsets.dtype, keep, idxs[keep])
    # the per-class loop variant gives the same set
    keep_mask = torch.zeros_like(scores, dtype=torch.bool)
    for class_id in torch.unique(idxs):
        curr = torch.where(idxs == class_id)[0]
        keep_mask[curr[nms(boxes[curr], scores[curr], 0.3)]] = True
    keep2 = torch.where(keep_mask)[0]
    keep2 = keep2[scores[keep2].sort(descending=True)[1]]
    log(torch.equal(keep, keep2), keep_mask.sum())
    # remove_small_boxes / clip_boxes_to_image / score threshold
    ws, hs = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    log(torch.where((ws >= 3) & (hs >= 3))[0])
    clipped = torch.stack((boxes[..., 0::2].clamp(min=0, max=15),
                           boxes[..., 1::2].clamp(min=0, max=12)), dim=-1).reshape(boxes.shape)
    log(clipped[:3], torch.where(scores > 0.5)[0], nms(torch.zeros(0, 4), torch.zeros(0), 0.5))
    topk = scores.topk(min(5, scores.numel()))
    log(topk.values, topk.indices, type(topk).__name__)


# segmentation

@program(tol=_TR)
def seg_dice_lovasz_onehot(torch, log):
    F = torch.nn.functional
    torch.manual_seed(5)
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    target = torch.randint(0, 3, (2, 4, 4))
    target[0, 0, :2] = 255
    valid = target != 255
    t = target.clone()
    t[~valid] = 0
    onehot = F.one_hot(t, 3).permute(0, 3, 1, 2).float() * valid.unsqueeze(1)
    probs = logits.softmax(dim=1) * valid.unsqueeze(1)
    dims = (0, 2, 3)
    inter = torch.sum(probs * onehot, dims)
    card = torch.sum(probs + onehot, dims)
    dice = (2.0 * inter + 1.0) / (card + 1.0)
    loss = 1 - dice.mean()
    ce = F.cross_entropy(logits, target, ignore_index=255)
    (loss + ce).backward()
    log(onehot.dtype, onehot.shape, dice, ce, logits.grad[0, :, 0, 0])
    pred = logits.argmax(dim=1)
    log(pred, F.one_hot(pred, num_classes=3).sum(dim=(0, 1, 2)))

    def lovasz_grad(gt_sorted):
        p = len(gt_sorted)
        gts = gt_sorted.sum()
        intersection = gts - gt_sorted.float().cumsum(0)
        union = gts + (1 - gt_sorted).float().cumsum(0)
        jaccard = 1.0 - intersection / union
        if p > 1:
            jaccard[1:p] = jaccard[1:p] - jaccard[0:-1]
        return jaccard

    lg = torch.randn(10, requires_grad=True)
    labels = (torch.rand(10) > 0.5).float()
    signs = 2.0 * labels - 1.0
    errors = 1.0 - lg * signs
    errors_sorted, perm = torch.sort(errors, dim=0, descending=True)
    grad = lovasz_grad(labels[perm])
    lov = torch.dot(F.relu(errors_sorted), grad)
    lov.backward()
    log(perm, grad, lov, lg.grad)
    try:
        F.one_hot(torch.tensor([0, 3]), 3)
    except Exception as e:
        log(type(e).__name__, str(e))
    try:
        F.one_hot(torch.tensor([0.0, 1.0]))
    except Exception as e:
        log(type(e).__name__, str(e))


# NLP

@program(tol=_TR)
def nlp_tied_embeddings_scaled_and_sampling(torch, log):
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(0)
    vocab, d = 11, 8
    emb = nn.Embedding(vocab, d, padding_idx=0)
    head = nn.Linear(d, vocab, bias=False)
    head.weight = emb.weight
    log(head.weight is emb.weight, emb.weight[0],
        len(list(nn.ModuleList([emb, head]).parameters())))
    ids = torch.tensor([[3, 5, 0, 0], [1, 2, 9, 4]])
    h = emb(ids) * math.sqrt(d)
    logits = head(h)
    logits.sum().backward()
    log(emb.weight.grad[0], emb.weight.grad.abs().sum(), logits.shape)
    gen = torch.Generator().manual_seed(42)
    last = logits[:, -1, :].detach()
    for temp in (0.7, 1.0, 1.5):
        probs = F.softmax(last / temp, dim=-1)
        log(temp, torch.multinomial(probs, num_samples=1, generator=gen).squeeze(1))
    log(torch.multinomial(F.softmax(last, -1), 3, replacement=True, generator=gen))
    log(torch.multinomial(torch.tensor([0.0, 0.0, 1.0]), 1))
    try:
        torch.multinomial(torch.tensor([0.5, 0.5]), 3)
    except Exception as e:
        log(type(e).__name__, str(e))
    try:
        torch.multinomial(torch.tensor([-0.5, 0.5]), 1)
    except Exception as e:
        log(type(e).__name__, str(e))


@program(tol=_TR)
def nlp_beam_length_penalty_and_label_smoothing(torch, log):
    F = torch.nn.functional
    torch.manual_seed(1)
    beams, vocab = 3, 7
    scores = torch.zeros(beams)
    scores[1:] = -1e9
    seqs = torch.zeros(beams, 1, dtype=torch.long)
    for step in range(3):
        lp = F.log_softmax(torch.randn(beams, vocab), dim=-1)
        cand = (scores[:, None] + lp).view(-1)
        top, idx = cand.topk(beams)
        beam_idx = torch.div(idx, vocab, rounding_mode="floor")
        tok = idx % vocab
        seqs = torch.cat([seqs[beam_idx], tok[:, None]], dim=1)
        scores = top
        log(step, beam_idx, tok, scores)
    for alpha in (0.0, 0.6, 1.0):
        lengths = torch.tensor([4.0, 3.0, 2.0])
        pen = ((5.0 + lengths) / 6.0) ** alpha
        log(alpha, scores / pen, (scores / lengths ** alpha).argmax())
    logits = torch.randn(6, vocab, requires_grad=True)
    target = torch.tensor([1, 2, -100, 4, -100, 0])
    for ls in (0.0, 0.1):
        for red in ("mean", "sum", "none"):
            log(ls, red, F.cross_entropy(logits, target, ignore_index=-100, label_smoothing=ls,
                                         reduction=red))
    F.cross_entropy(logits, target, label_smoothing=0.2).backward()
    log(logits.grad[2], logits.grad[0])
    w = torch.rand(vocab)
    log(F.cross_entropy(logits, target, weight=w, label_smoothing=0.1))
    all_ign = torch.full((6,), -100)
    log(F.cross_entropy(logits, all_ign), F.cross_entropy(logits, all_ign, reduction="sum"))


@program(tol=_MM)
def nlp_packed_sequence_masking(torch, log):
    nn = torch.nn
    from_utils = nn.utils.rnn
    torch.manual_seed(2)
    lengths = torch.tensor([5, 3, 2])
    x = torch.randn(3, 5, 4)
    mask = torch.arange(5)[None, :] < lengths[:, None]
    log(mask, mask.sum(1))
    packed = from_utils.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=True)
    log(packed.batch_sizes, packed.data.shape, packed.sorted_indices)
    gru = nn.GRU(4, 3, batch_first=True)
    out, h = gru(packed)
    padded, lens = from_utils.pad_packed_sequence(out, batch_first=True, padding_value=-1.0)
    log(padded.shape, lens, padded[2, 2:], h.shape)
    mean = (padded * mask[..., None]).sum(1) / lengths[:, None]
    log(mean)
    packed2 = from_utils.pack_padded_sequence(x, torch.tensor([2, 5, 3]), batch_first=True,
                                              enforce_sorted=False)
    log(packed2.sorted_indices, packed2.unsorted_indices)
    seqs = [torch.ones(2), torch.ones(4) * 2, torch.ones(1) * 3]
    log(from_utils.pad_sequence(seqs, batch_first=True), from_utils.pad_sequence(seqs).shape)
    try:
        from_utils.pack_padded_sequence(x, torch.tensor([2, 5, 3]), batch_first=True)
    except Exception as e:
        log(type(e).__name__, str(e))
    ps = from_utils.pack_sequence(seqs, enforce_sorted=False)
    log(ps.data, ps.batch_sizes)


# recsys

@program(tol=_MM)
def recsys_embedding_bag_fm_dcn(torch, log):
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(3)
    bag = nn.EmbeddingBag(10, 4, mode="sum")
    inp = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9])
    offsets = torch.tensor([0, 3, 3, 6])
    psw = torch.rand(8)
    out = bag(inp, offsets, per_sample_weights=psw)
    log(out.shape, out[1], out[0])
    out.sum().backward()
    log(bag.weight.grad[4], bag.weight.grad[0])
    for mode in ("mean", "max"):
        b = nn.EmbeddingBag(10, 4, mode=mode)
        log(mode, b(inp, offsets)[1], b(inp.view(2, 4)).shape)
    try:
        nn.EmbeddingBag(10, 4, mode="mean")(inp, offsets, per_sample_weights=psw)
    except Exception as e:
        log(type(e).__name__, str(e))
    log(F.embedding_bag(inp, bag.weight, offsets, mode="sum", include_last_offset=True).shape)
    # FM second-order interactions
    emb = torch.randn(5, 6, 4, requires_grad=True)
    square_of_sum = emb.sum(dim=1) ** 2
    sum_of_square = (emb ** 2).sum(dim=1)
    fm = 0.5 * (square_of_sum - sum_of_square).sum(dim=1, keepdim=True)
    fm.sum().backward()
    log(fm.flatten(), emb.grad[0, 0])
    # DCN cross layers: x_{l+1} = x0 * (W x_l + b) + x_l
    x0 = torch.randn(5, 6)
    ws = nn.ModuleList(nn.Linear(6, 6) for _ in range(2))
    xl = x0
    for lin in ws:
        xl = x0 * lin(xl) + xl
    log(xl[0], xl.shape)
    # DCN-v1 with vector weights
    wv = torch.randn(6, 1)
    xl = x0
    for _ in range(2):
        xl = x0 * (xl @ wv) + xl
    log(xl[1])


# GNN

@program(tol=_MM)
def gnn_message_passing_sparse_adj(torch, log):
    torch.manual_seed(4)
    n = 5
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 4, 4], [1, 0, 2, 1, 4, 3, 0]])
    x = torch.randn(n, 3)
    row, col = edge_index
    loops = torch.arange(n)
    row_l, col_l = torch.cat([row, loops]), torch.cat([col, loops])
    deg = torch.zeros(n).index_add_(0, col_l, torch.ones(col_l.numel()))
    dinv = deg.pow(-0.5)
    dinv[dinv == float("inf")] = 0
    norm = dinv[row_l] * dinv[col_l]
    msgs = x[row_l] * norm[:, None]
    out = torch.zeros(n, 3).index_add_(0, col_l, msgs)
    log(deg, norm, out)
    amax = torch.full((n, 3), float("-inf")).scatter_reduce(
        0, col[:, None].expand(-1, 3), x[row], reduce="amax", include_self=True)
    amax2 = torch.zeros(n, 3).scatter_reduce(0, col[:, None].expand(-1, 3), x[row],
                                             reduce="amax", include_self=False)
    mean = torch.zeros(n, 3).scatter_reduce(0, col[:, None].expand(-1, 3), x[row],
                                            reduce="mean", include_self=False)
    log(amax, amax2, mean)
    adj = torch.sparse_coo_tensor(torch.stack([col_l, row_l]), norm, (n, n))
    log(adj.is_coalesced(), adj.coalesce().indices().shape, str(adj.layout))
    sp_out = torch.sparse.mm(adj, x)
    log(sp_out, (sp_out - out).abs().max() < 1e-6)
    w = torch.randn(3, 2, requires_grad=True)
    h = torch.sparse.mm(adj, x @ w)
    h.relu().sum().backward()
    log(h, w.grad)
    dense = adj.to_dense()
    log(dense.sum(1), torch.sparse.sum(adj, dim=1).to_dense())
    # attention softmax per destination (GAT)
    e = (x[row] * x[col]).sum(-1)
    emax = torch.zeros(n).scatter_reduce(0, col, e, reduce="amax", include_self=False)
    ex = (e - emax[col]).exp()
    den = torch.zeros(n).index_add_(0, col, ex)
    log(ex / den[col])


# RL

@program(tol=_TR)
def rl_ppo_clip_entropy_td_lambda(torch, log):
    torch.manual_seed(6)
    T = 6
    rewards = torch.rand(T)
    values = torch.rand(T + 1)
    dones = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    gamma, lam = 0.99, 0.95
    adv = torch.zeros(T)
    last = 0.0
    for t in reversed(range(T)):
        nonterm = 1.0 - dones[t]
        delta = rewards[t] + gamma * values[t + 1] * nonterm - values[t]
        last = delta + gamma * lam * nonterm * last
        adv[t] = last
    returns = adv + values[:-1]
    log(adv, returns)
    # TD(lambda) via reversed cumulative sums (flip/cumsum/flip)
    disc = gamma ** torch.arange(T, dtype=torch.float32)
    rtg = torch.flip(torch.cumsum(torch.flip(rewards * disc, [0]), 0), [0]) / disc
    log(rtg)
    adv_n = (adv - adv.mean()) / (adv.std() + 1e-8)
    logits = torch.randn(T, 4, requires_grad=True)
    dist = torch.distributions.Categorical(logits=logits)
    actions = dist.sample()
    old_logp = dist.log_prob(actions).detach() + 0.05 * torch.randn(T)
    ratio = torch.exp(dist.log_prob(actions) - old_logp)
    surr1 = ratio * adv_n
    surr2 = torch.clamp(ratio, 0.8, 1.2) * adv_n
    pg_loss = -torch.min(surr1, surr2).mean()
    ent = dist.entropy().mean()
    clipfrac = ((ratio - 1.0).abs() > 0.2).float().mean()
    approx_kl = ((ratio - 1) - (ratio.log())).mean()
    (pg_loss - 0.01 * ent).backward()
    log(actions, ratio, pg_loss, ent, clipfrac, approx_kl, logits.grad[0])
    p = logits.softmax(-1)
    log(-(p * p.log()).sum(-1), -(p * torch.log_softmax(logits, -1)).sum(-1))
    vclip = values[:-1] + (torch.rand(T) - values[:-1]).clamp(-0.2, 0.2)
    log(torch.max((vclip - returns) ** 2, (values[:-1] - returns) ** 2).mean() * 0.5)



# contrastive learning

@program(tol=_TR)
def cl_simclr_nt_xent(torch, log):
    F = torch.nn.functional
    torch.manual_seed(7)
    z1 = torch.randn(4, 6, requires_grad=True)
    z2 = torch.randn(4, 6)
    tau = 0.5
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z.shape[0]
    sim = z @ z.t() / tau
    mask = torch.eye(n, dtype=torch.bool)
    sim = sim.masked_fill(mask, float("-inf"))
    pos = torch.cat([torch.arange(n // 2, n), torch.arange(0, n // 2)])
    loss = -(sim[torch.arange(n), pos] - torch.logsumexp(sim, dim=1)).mean()
    loss2 = F.cross_entropy(sim, pos)
    log(loss, loss2, sim[0, :3], torch.logsumexp(sim, dim=1))
    loss.backward()
    log(z1.grad[0])
    # the finite masking variant (-1e9) and logsumexp of an all -inf row
    sim2 = (z @ z.t()).fill_diagonal_(-1e9)
    log(sim2.diagonal(), torch.logsumexp(torch.full((2, 3), float("-inf")), dim=1))
    # supervised-contrastive mask from labels
    labels = torch.tensor([0, 1, 0, 2])
    lab = torch.cat([labels, labels])
    pmask = (lab[:, None] == lab[None, :]).float() - torch.eye(n)
    logp = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    logp = logp.masked_fill(mask, 0.0)
    log(pmask.sum(1), ((pmask * logp).sum(1) / pmask.sum(1)).mean())


@program(tol=_MM)
def cl_moco_queue_index_copy(torch, log):
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(8)
    q_enc = nn.Linear(5, 4)
    k_enc = nn.Linear(5, 4)
    for pq, pk in zip(q_enc.parameters(), k_enc.parameters()):
        pk.data.copy_(pq.data)
        pk.requires_grad = False

    class Queue(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("queue", F.normalize(torch.randn(4, 6), dim=0))
            self.register_buffer("ptr", torch.zeros(1, dtype=torch.long))

        @torch.no_grad()
        def enqueue(self, keys):
            b = keys.shape[0]
            p = int(self.ptr)
            self.queue.index_copy_(1, torch.arange(p, p + b) % 6, keys.t())
            self.ptr[0] = (p + b) % 6

    qu = Queue()
    opt = torch.optim.SGD(q_enc.parameters(), lr=0.1)
    for step in range(3):
        x = torch.randn(4, 5)
        q = F.normalize(q_enc(x), dim=1)
        with torch.no_grad():
            for pq, pk in zip(q_enc.parameters(), k_enc.parameters()):
                pk.data.mul_(0.9).add_(pq.data, alpha=0.1)
            k = F.normalize(k_enc(x + 0.1 * torch.randn(4, 5)), dim=1)
        l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
        l_neg = torch.einsum("nc,ck->nk", [q, qu.queue.clone().detach()])
        logits = torch.cat([l_pos, l_neg], dim=1) / 0.07
        labels = torch.zeros(logits.shape[0], dtype=torch.long)
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        qu.enqueue(k)
        log(step, loss, qu.ptr, k.requires_grad, qu.queue[:, 0])
    log(k_enc.weight.requires_grad, k_enc.weight.grad, sorted(qu.state_dict()))
    try:
        qu.queue.index_copy_(1, torch.tensor([0, 1]), torch.randn(3, 2))
    except Exception as e:
        log(type(e).__name__, str(e))


# mixed precision on CPU

@program(tol=_MM)
def amp_cpu_bf16_autocast_and_disabled_scaler(torch, log):
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(9)
    lin = nn.Linear(6, 4)
    conv = nn.Conv2d(2, 3, 3)
    x = torch.randn(3, 6)
    img = torch.randn(1, 2, 5, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = lin(x)
        m = x @ x.t()
        c = conv(img)
        s = y.softmax(-1)
        ls = F.log_softmax(y, -1)
        r = y.relu()
        add = y + 1.0
        b = torch.bmm(x[None], x.t()[None])
        mse = F.mse_loss(y, torch.zeros_like(y))
        log(torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))
    log(y.dtype, m.dtype, c.dtype, s.dtype, ls.dtype, r.dtype, add.dtype, b.dtype, mse.dtype)
    log(y, c.sum())
    log(torch.is_autocast_enabled("cpu"))
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=False):
        log(lin(x).dtype)
    with torch.autocast(device_type="cpu"):
        log(lin(x).dtype)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = lin(x).float().pow(2).mean()
    scaled = scaler.scale(loss)
    log(scaled is loss, scaler.is_enabled(), scaler.get_scale())
    scaled.backward()
    scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    log(lin.weight.grad.dtype, lin.weight[0], lin.weight.dtype)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with torch.autocast("cpu", enabled=False):
            log(lin(x).dtype, (x @ x.t()).dtype)
        log(lin(x.double()).dtype if False else lin(x).dtype)


# model surgery

@program(tol=_MM)
def surgery_replace_modules_and_remap_keys(torch, log):
    nn = torch.nn
    torch.manual_seed(10)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU(inplace=True)),
                          nn.Flatten(), nn.LazyLinear(2) if False else nn.Linear(4 * 16, 2))

    def replace(module, cls, factory):
        for name, child in module.named_children():
            if isinstance(child, cls):
                setattr(module, name, factory(child))
            else:
                replace(child, cls, factory)

    replace(model, nn.ReLU, lambda m: nn.GELU())
    log([n for n, m in model.named_modules()], [type(m).__name__ for m in model.modules()])
    for name, m in list(model.named_modules()):
        if isinstance(m, nn.BatchNorm2d):
            parent = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
            setattr(parent, name.rpartition(".")[2], nn.Identity())
    log(str(model[1]), model.get_submodule("3.0").weight.shape)
    sd = model.state_dict()
    remapped = {("backbone." + k).replace(".0.", ".stem."): v for k, v in sd.items()}
    log(list(remapped)[:4])
    tgt = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Identity(), nn.GELU(),
                        nn.Sequential(nn.Conv2d(4, 4, 1), nn.GELU()), nn.Flatten(),
                        nn.Linear(64, 3))
    res = tgt.load_state_dict({k: v for k, v in sd.items() if not k.startswith("5.")},
                              strict=False)
    log(res.missing_keys, res.unexpected_keys, type(res).__name__, str(res))
    try:
        tgt.load_state_dict(sd)
    except Exception as e:
        log(type(e).__name__, str(e))
    extra = dict(sd, **{"foo.bar": torch.zeros(1)})
    res = tgt.load_state_dict({k: v for k, v in extra.items() if not k.startswith("5.")},
                              strict=False)
    log(res.unexpected_keys, bool(res.missing_keys))
    stripped = {k.removeprefix("module."): v for k, v in
                {"module." + k: v for k, v in sd.items()}.items()}
    log(list(stripped) == list(sd))


@program(tol=_MM)
def surgery_buffers_apply_init_parametrize(torch, log):
    nn = torch.nn
    P = nn.utils.parametrize
    torch.manual_seed(11)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.out = nn.Linear(4, 2)
            self.register_buffer("scale", torch.tensor(2.0), persistent=False)
            self.register_buffer("counter", torch.zeros((), dtype=torch.long))

        def forward(self, x):
            self.counter += 1
            return self.out(self.fc(x).relu() * self.scale)

    net = Net()
    log(list(net.state_dict()), [n for n, _ in net.named_buffers()])

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("relu"))
            nn.init.zeros_(m.bias)

    log(net.apply(init) is net, net.fc.bias, net.out.weight.abs().max() <= 1.5)

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

    class Positive(nn.Module):
        def forward(self, X):
            return X.exp()

        def right_inverse(self, Y):
            return Y.log()

    P.register_parametrization(net.fc, "weight", Symmetric())
    w = net.fc.weight
    log(torch.equal(w, w.t()), P.is_parametrized(net.fc), P.is_parametrized(net.fc, "bias"))
    log(sorted(net.fc.state_dict()), type(net.fc).__name__, type(net.fc.parametrizations).__name__)
    x = torch.randn(3, 4)
    net(x).sum().backward()
    log(net.fc.parametrizations.weight.original.grad.triu(1).abs().sum() > 0, net.counter)
    P.register_parametrization(net.out, "bias", Positive())
    net.out.bias = torch.tensor([1.0, 2.0])
    log(net.out.bias, net.out.parametrizations.bias.original)
    with P.cached():
        a = net.fc.weight
        b = net.fc.weight
        log(a is b)
    P.remove_parametrizations(net.fc, "weight", leave_parametrized=True)
    log(type(net.fc).__name__, torch.equal(net.fc.weight, net.fc.weight.t()),
        type(net.fc.weight).__name__)
    try:
        P.remove_parametrizations(net.fc, "weight")
    except Exception as e:
        log(type(e).__name__, str(e))


# gradient checkpointing

@program(tol=_MM)
def checkpoint_non_reentrant_and_sequential(torch, log):
    nn = torch.nn
    from_cp = torch.utils.checkpoint
    torch.manual_seed(12)
    blocks = nn.ModuleList(nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.GELU())
                           for _ in range(3))
    x = torch.randn(2, 4, requires_grad=True)
    h = x
    for b in blocks:
        h = from_cp.checkpoint(b, h, use_reentrant=False)
    h.sum().backward()
    g_cp = [b[0].weight.grad.clone() for b in blocks]
    xg = x.grad.clone()
    log(h, xg)
    for b in blocks:
        b.zero_grad()
    x.grad = None
    torch.manual_seed(12)
    _ = [nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.GELU()) for _ in range(3)]
    h2 = x
    for b in blocks:
        h2 = b(h2)
    log(torch.allclose(h, h2) in (True, False))
    # checkpoint with keyword args, non-tensor outputs and preserve_rng_state
    def fn(a, scale=1.0):
        return a * scale, a.shape[0]
    y, n = from_cp.checkpoint(fn, x, scale=3.0, use_reentrant=False)
    y.sum().backward()
    log(n, x.grad)
    seq = nn.Sequential(*[nn.Linear(4, 4) for _ in range(4)])
    out = from_cp.checkpoint_sequential(seq, 2, x, use_reentrant=False)
    out.sum().backward()
    log(out.shape, seq[0].weight.grad.sum(), g_cp[0].shape)
    with torch.no_grad():
        z = from_cp.checkpoint(blocks[0], x, use_reentrant=False)
    log(z.requires_grad, z.grad_fn is None)
    try:
        from_cp.checkpoint(blocks[0], x, use_reentrant=False, bogus=1)
    except Exception as e:
        log(type(e).__name__, str(e)[:60])



# more of the same libraries

@program(tol=_TR)
def ta_mu_law_deltas_and_centroid(torch, log):
    F = torch.nn.functional
    torch.manual_seed(13)
    x = torch.rand(10) * 2 - 1
    mu = 255.0
    mu_t = torch.tensor(mu)
    enc = torch.sign(x) * torch.log1p(mu_t * torch.abs(x)) / torch.log1p(mu_t)
    q = ((enc + 1) / 2 * mu + 0.5).to(torch.int64)
    dec_in = q.to(torch.float32) / mu * 2 - 1
    dec = torch.sign(dec_in) * (torch.exp(torch.abs(dec_in) * torch.log1p(mu_t)) - 1.0) / mu
    log(enc, q, dec)
    spec = torch.randn(2, 4, 9)
    win_length = 5
    n = (win_length - 1) // 2
    denom = n * (n + 1) * (2 * n + 1) / 3
    sp = spec.reshape(-1, 1, 9)
    sp = F.pad(sp, (n, n), mode="replicate")
    kernel = torch.arange(-n, n + 1, 1, dtype=sp.dtype).repeat(sp.shape[1], 1, 1)
    deltas = F.conv1d(sp, kernel, groups=sp.shape[1]) / denom
    log(deltas.reshape(2, 4, 9)[1, 2], kernel.shape)
    freqs = torch.linspace(0, 8000, 4)
    mag = spec.abs()
    centroid = (freqs[:, None] * mag).sum(dim=-2) / mag.sum(dim=-2)
    log(centroid[0])
    log(F.pad(torch.arange(5.0)[None, None], (2, 3), mode="reflect"),
        F.pad(torch.arange(5.0)[None, None], (2, 3), mode="circular"))


@program(tol=_MM)
def seg_upsample_logits_miou_bincount(torch, log):
    F = torch.nn.functional
    torch.manual_seed(14)
    logits = torch.randn(2, 4, 3, 3, requires_grad=True)
    up = F.interpolate(logits, size=(6, 6), mode="bilinear", align_corners=False)
    target = torch.randint(0, 4, (2, 6, 6))
    target[:, 0] = 255
    w = torch.tensor([1.0, 2.0, 0.5, 1.0])
    loss = F.cross_entropy(up, target, weight=w, ignore_index=255)
    loss.backward()
    log(loss, logits.grad[0, :, 1, 1])
    pred = up.argmax(1)
    k = target != 255
    hist = torch.bincount(4 * target[k] + pred[k], minlength=16).reshape(4, 4)
    iou = hist.diag() / (hist.sum(0) + hist.sum(1) - hist.diag())
    log(hist, iou, torch.nanmean(iou), iou.nan_to_num(0.0).mean())
    up2 = F.interpolate(logits, scale_factor=2, mode="bilinear", align_corners=True)
    log(up2[0, 0, 0], F.upsample(logits, scale_factor=2, mode="nearest").shape)


@program(tol=_TR)
def nlp_causal_padding_mask_softmax_rows(torch, log):
    torch.manual_seed(15)
    L = 4
    causal = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)
    pad = torch.tensor([[False, False, True, True], [False, False, False, False]])
    scores = torch.randn(2, 1, L, L)
    m = causal[None, None] | pad[:, None, None, :]
    s = scores.masked_fill(m, float("-inf"))
    p = s.softmax(-1)
    log(m[0, 0], p[0, 0])
    s2 = scores.masked_fill(m, torch.finfo(scores.dtype).min)
    log(s2.softmax(-1)[0, 0, 3], torch.finfo(torch.float16).min)
    full = torch.ones(1, 1, L, L, dtype=torch.bool)
    allmasked = scores[:1].masked_fill(full, float("-inf")).softmax(-1)
    log(allmasked[0, 0, 0], torch.nan_to_num(allmasked)[0, 0, 0])
    add_mask = torch.zeros(L, L).masked_fill(causal, float("-inf"))
    log(add_mask, torch.nn.Transformer.generate_square_subsequent_mask(L))
    out = torch.nn.functional.scaled_dot_product_attention(
        torch.randn(2, 1, L, 8), torch.randn(2, 1, L, 8), torch.randn(2, 1, L, 8),
        attn_mask=~m[:, :, -1:, :].expand(2, 1, L, L))
    log(out.shape, out[1, 0, 0, :3])


@program(tol=_TR)
def recsys_bpr_negative_sampling(torch, log):
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(16)
    users = nn.Embedding(5, 4)
    items = nn.Embedding(8, 4)
    nn.init.normal_(users.weight, std=0.1)
    nn.init.normal_(items.weight, std=0.1)
    u = torch.tensor([0, 1, 2, 3])
    pos = torch.tensor([1, 2, 3, 4])
    pop = torch.tensor([5.0, 1.0, 1.0, 3.0, 2.0, 0.0, 1.0, 4.0]) ** 0.75
    g = torch.Generator().manual_seed(3)
    neg = torch.multinomial(pop, 4, replacement=True, generator=g)
    log(neg, torch.randint(0, 8, (4,), generator=g))
    ue = users(u)
    ps = (ue * items(pos)).sum(-1)
    ns = (ue * items(neg)).sum(-1)
    loss = -F.logsigmoid(ps - ns).mean() + 1e-4 * (ue.norm(2).pow(2) / len(u))
    loss.backward()
    log(loss, users.weight.grad[0], items.weight.grad.abs().sum(1))
    sc = users.weight @ items.weight.t()
    sc[torch.tensor([0, 0, 1]), torch.tensor([1, 5, 2])] = -float("inf")
    log(sc.topk(3, dim=1).indices)


@program(tol=_MM)
def gnn_dense_adj_pooling_and_edge_softmax(torch, log):
    torch.manual_seed(17)
    edge_index = torch.tensor([[0, 0, 1, 2, 3, 3, 4], [1, 1, 2, 0, 4, 2, 3]])
    batch = torch.tensor([0, 0, 0, 1, 1])
    n = 5
    adj = torch.zeros(n, n).index_put_((edge_index[0], edge_index[1]), torch.ones(7),
                                       accumulate=True)
    log(adj)
    adj2 = torch.zeros(n, n)
    adj2[edge_index[0], edge_index[1]] = 1.0
    log(adj2.sum(), torch.sparse_coo_tensor(edge_index, torch.ones(7), (n, n)).coalesce().values())
    x = torch.randn(n, 3)
    size = int(batch.max()) + 1
    cnt = torch.bincount(batch, minlength=size)
    mean = torch.zeros(size, 3).index_add_(0, batch, x) / cnt[:, None]
    mx = torch.full((size, 3), float("-inf")).scatter_reduce(0, batch[:, None].expand(-1, 3), x,
                                                             "amax")
    prod = torch.ones(size, 3).scatter_reduce(0, batch[:, None].expand(-1, 3), x, "prod",
                                              include_self=False)
    log(cnt, mean, mx, prod)
    ptr = torch.cat([torch.zeros(1, dtype=torch.long), cnt.cumsum(0)])
    log(ptr, torch.segment_reduce(x, "sum", lengths=cnt) if hasattr(torch, "segment_reduce")
        else None)
    x.requires_grad_()
    m2 = torch.zeros(size, 3).scatter_reduce(0, batch[:, None].expand(-1, 3), x, "amax",
                                             include_self=False)
    m2.sum().backward()
    log(x.grad)


@program(tol=_MM)
def rl_dqn_targets_huber_soft_update(torch, log):
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(18)
    q = nn.Linear(4, 3)
    tgt = nn.Linear(4, 3)
    tgt.load_state_dict(q.state_dict())
    s, s2 = torch.randn(5, 4), torch.randn(5, 4)
    a = torch.tensor([0, 2, 1, 1, 0])
    r = torch.rand(5)
    d = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0])
    qsa = q(s).gather(1, a.unsqueeze(1)).squeeze(1)
    with torch.no_grad():
        nxt = tgt(s2).max(1)[0]
        double = tgt(s2).gather(1, q(s2).argmax(1, keepdim=True)).squeeze(1)
        y = r + 0.99 * nxt * (1 - d)
    loss = F.smooth_l1_loss(qsa, y)
    hub = F.huber_loss(qsa, y, delta=0.5)
    loss.backward()
    log(qsa, nxt, double, loss, hub, q.weight.grad[0])
    with torch.no_grad():
        for pt, pq in zip(tgt.parameters(), q.parameters()):
            pt.mul_(0.995).add_(pq, alpha=0.005)
    log(tgt.bias)
    tp = list(tgt.parameters())
    torch._foreach_lerp_(tp, list(q.parameters()), 0.5)
    log(tgt.bias, tp[0].requires_grad)
    with torch.no_grad():
        for pt, pq in zip(tgt.parameters(), q.parameters()):
            pt.lerp_(pq, 1.0)
    log(torch.equal(tgt.weight, q.weight))
    eps = torch.rand(5) < 0.3
    acts = torch.where(eps, torch.randint(0, 3, (5,)), q(s).argmax(1))
    log(eps, acts)


@program(tol=_TR)
def cl_clip_byol_barlow(torch, log):
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(19)
    logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))
    img = F.normalize(torch.randn(4, 6), dim=-1)
    txt = F.normalize(torch.randn(4, 6), dim=-1)
    scale = logit_scale.exp().clamp(max=100)
    li = scale * img @ txt.t()
    labels = torch.arange(4)
    loss = (F.cross_entropy(li, labels) + F.cross_entropy(li.t(), labels)) / 2
    loss.backward()
    log(scale, loss, logit_scale.grad)
    with torch.no_grad():
        logit_scale.clamp_(0, math.log(100))
    log(logit_scale)
    p = torch.randn(4, 6, requires_grad=True)
    z = torch.randn(4, 6)
    byol = 2 - 2 * F.cosine_similarity(p, z.detach(), dim=-1).mean()
    byol2 = (2 - 2 * (F.normalize(p, dim=-1) * F.normalize(z, dim=-1)).sum(-1)).mean()
    byol.backward()
    log(byol, byol2, p.grad[0])
    z1, z2 = torch.randn(8, 4), torch.randn(8, 4)
    bn = nn.BatchNorm1d(4, affine=False)
    c = bn(z1).T @ bn(z2) / 8
    on_diag = torch.diagonal(c).add_(-1).pow_(2).sum()

    def off_diagonal(x):
        n, m = x.shape
        return x.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()

    off = off_diagonal(c).pow_(2).sum()
    log(c.shape, on_diag, off, off_diagonal(torch.arange(9.0).view(3, 3)))


@program(tol=_MM)
def amp_autocast_norm_layers_and_dtype_queries(torch, log):
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(20)
    x = torch.randn(2, 3, 4, 4)
    conv = nn.Conv2d(3, 4, 3, padding=1)
    bn = nn.BatchNorm2d(4)
    ln = nn.LayerNorm(4)
    gn = nn.GroupNorm(2, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = conv(x)
        b = bn(h)
        g = gn(h)
        l = ln(h)
        e = F.embedding(torch.tensor([0, 1]), torch.randn(3, 4))
        cat = torch.cat([h, x.new_zeros(2, 1, 4, 4)], 1)
        st = torch.stack([h[0], h[1]])
        mm = torch.addmm(torch.zeros(2), torch.randn(2, 3), torch.randn(3, 2))
        mean = h.mean()
        lse = torch.logsumexp(h, 1)
        cs = torch.cumsum(h, 1)
        ce = F.cross_entropy(h.flatten(2).mean(-1), torch.tensor([0, 1]))
        nl = F.nll_loss(F.log_softmax(h.flatten(2).mean(-1), 1), torch.tensor([0, 1]))
    log(h.dtype, b.dtype, g.dtype, l.dtype, e.dtype, cat.dtype, st.dtype, mm.dtype)
    log(mean.dtype, lse.dtype, cs.dtype, ce.dtype, nl.dtype)
    log(bn.running_mean.dtype, b[0, 0, 0], g.float()[1, 1, 1])
    log(torch.get_autocast_dtype("cpu"), torch.amp.is_autocast_available("cpu"))
    with torch.autocast("cpu", dtype=torch.float16):
        log(conv(x).dtype, torch.get_autocast_dtype("cpu"))
    try:
        with torch.autocast("cpu", dtype=torch.float32):
            log(conv(x).dtype)
    except Exception as e:
        log(type(e).__name__, str(e))


@program(tol=_MM)
def surgery_freeze_fuse_and_prefix_hooks(torch, log):
    nn = torch.nn
    torch.manual_seed(21)
    conv = nn.Conv2d(3, 4, 3, bias=False)
    bn = nn.BatchNorm2d(4)
    x = torch.randn(2, 3, 6, 6)
    for _ in range(2):
        bn(conv(x))
    bn.eval()
    ref = bn(conv(x))
    std = (bn.running_var + bn.eps).sqrt()
    w = conv.weight * (bn.weight / std).reshape(-1, 1, 1, 1)
    b = bn.bias - bn.running_mean * bn.weight / std
    fused = nn.Conv2d(3, 4, 3)
    with torch.no_grad():
        fused.weight.copy_(w)
        fused.bias.copy_(b)
    log((fused(x) - ref).abs().max() < 1e-5, fused.bias)
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
    for name, p in model.named_parameters():
        if name.startswith("0."):
            p.requires_grad_(False)
    log([n for n, p in model.named_parameters() if p.requires_grad],
        sum(p.numel() for p in model.parameters() if p.requires_grad))
    model(torch.randn(2, 3)).sum().backward()
    log(model[0].weight.grad, model[1].weight.grad.shape)
    opt = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1)
    log(len(opt.param_groups[0]["params"]))

    def pre_hook(state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        for k in list(state_dict):
            if k.startswith(prefix + "old_"):
                state_dict[prefix + k[len(prefix) + 4:]] = state_dict.pop(k)

    lin = nn.Linear(2, 2)
    lin._register_load_state_dict_pre_hook(pre_hook)
    res = lin.load_state_dict({"old_weight": torch.ones(2, 2), "old_bias": torch.zeros(2)})
    log(lin.weight, str(res))
    sd = model.state_dict(prefix="net.", keep_vars=True)
    log(list(sd), type(sd["net.0.weight"]).__name__, sd["net.0.weight"].requires_grad)


@program(tol=_MM)
def checkpoint_reentrant_warnings_and_rng(torch, log):
    nn = torch.nn
    cp = torch.utils.checkpoint
    torch.manual_seed(22)
    drop = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    x = torch.randn(3, 4, requires_grad=True)
    torch.manual_seed(1)
    y = cp.checkpoint(drop, x, use_reentrant=False)
    torch.manual_seed(1)
    y_ref = drop(x)
    log(torch.equal(y, y_ref))
    y.sum().backward()
    g1 = x.grad.clone()
    x.grad = None
    y_ref.sum().backward()
    log(torch.equal(g1, x.grad))
    x.grad = None
    y2 = cp.checkpoint(drop, x, use_reentrant=True)
    y2.sum().backward()
    log(x.grad.shape, y2.grad_fn is not None)
    try:
        y3 = cp.checkpoint(drop, x)
        log("no-flag", y3.shape)
    except Exception as e:
        log(type(e).__name__, str(e)[:80])
    xn = torch.randn(3, 4)
    y4 = cp.checkpoint(drop, xn, use_reentrant=True)
    log(y4.requires_grad)
    y5 = cp.checkpoint(drop, xn, use_reentrant=False)
    log(y5.requires_grad)



@program(tol=_MM)
def recsys_embedding_bag_psw_grads_and_padding(torch, log):
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(23)
    w = torch.randn(6, 3, requires_grad=True)
    inp = torch.tensor([0, 2, 5, 1, 1, 3])
    offsets = torch.tensor([0, 2, 5])
    psw = torch.rand(6, requires_grad=True)
    out = F.embedding_bag(inp, w, offsets, mode="sum", per_sample_weights=psw)
    (out * torch.arange(9.0).view(3, 3)).sum().backward()
    log(out, psw.grad, w.grad)
    bag = nn.EmbeddingBag(6, 3, mode="mean", padding_idx=1)
    o = bag(torch.tensor([[1, 1, 2], [1, 4, 5]]))
    log(o.shape, (o - bag.weight[torch.tensor([2, 4])].mul(torch.tensor([[1.0], [0.5]]))
                  .mul(torch.tensor([[1.0], [2.0]]))).abs().max() < 1e-6, bag.weight[1])
    eb = nn.EmbeddingBag.from_pretrained(torch.arange(12.0).view(4, 3), mode="max")
    log(eb(torch.tensor([0, 3, 1]), torch.tensor([0, 1])), eb.weight.requires_grad)
    try:
        F.embedding_bag(inp, w, torch.tensor([0, 2, 9]), mode="sum")
    except Exception as e:
        log(type(e).__name__, str(e)[:70])


@program(tol=_MM)
def gnn_sparse_grads_and_coalesce(torch, log):
    torch.manual_seed(24)
    idx = torch.tensor([[0, 1, 1, 2, 0], [1, 0, 2, 1, 1]])
    vals = torch.rand(5, requires_grad=True)
    adj = torch.sparse_coo_tensor(idx, vals, (3, 3))
    c = adj.coalesce()
    log(c.indices(), c.values(), c.is_coalesced(), adj.is_coalesced())
    x = torch.randn(3, 2, requires_grad=True)
    out = torch.sparse.mm(adj, x)
    out.pow(2).sum().backward()
    log(out, vals.grad, x.grad)
    d = torch.sparse.softmax(c.detach(), dim=1)
    log(d.to_dense())
    row_sum = torch.sparse.sum(c.detach(), dim=1).to_dense()
    log(row_sum, (c.detach() * 2).to_dense(), torch.sparse.mm(c.detach(), torch.eye(3)))
    log(c.detach().t().coalesce().indices(), str(c.detach().to_sparse_csr().layout))


@program(tol=_TR)
def rl_categorical_entropy_and_masks(torch, log):
    torch.manual_seed(25)
    D = torch.distributions
    logits = torch.randn(3, 5)
    mask = torch.tensor([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1], [0, 0, 0, 1, 0]], dtype=torch.bool)
    ml = logits.masked_fill(~mask, -1e8)
    dist = D.Categorical(logits=ml)
    log(dist.probs, dist.entropy(), dist.logits[2])
    a = dist.sample((2,))
    log(a, dist.log_prob(a), dist.mode if hasattr(dist, "mode") else None)
    ml2 = logits.masked_fill(~mask, float("-inf"))
    d2 = D.Categorical(logits=ml2)
    log(d2.probs[2], d2.entropy())
    ent = -(d2.probs * d2.logits).nan_to_num().sum(-1) if False else \
        -torch.where(mask, d2.probs * d2.logits, torch.zeros(())).sum(-1)
    log(ent)
    kl = D.kl_divergence(dist, D.Categorical(logits=logits))
    log(kl)
    oh = D.OneHotCategorical(logits=logits)
    log(oh.sample().sum(-1), oh.entropy())



@program(tol=_MM)
def ta_stft_corners_and_errors(torch, log):
    torch.manual_seed(26)
    wave = torch.randn(100)
    win = torch.hann_window(16)
    s1 = torch.stft(wave, 16, 4, window=win, center=False, return_complex=True)
    log(s1.shape, s1[2, 1])
    r1 = torch.istft(torch.stft(wave, 16, 4, window=win, return_complex=True), 16, 4, window=win)
    log(r1.shape, (r1 - wave[: r1.shape[0]]).abs().max() < 1e-4)
    s2 = torch.stft(wave.double(), 16, window=torch.hann_window(16, dtype=torch.float64),
                    return_complex=True)
    log(s2.dtype, s2.shape)
    s3 = torch.stft(wave, 16, 4, window=win, return_complex=True, pad_mode="constant")
    log(s3[0, 0], s3.shape)
    cases = [lambda: torch.stft(wave, 16, 4, window=torch.hann_window(8), return_complex=True),
             lambda: torch.stft(wave, 200, return_complex=True, center=False),
             lambda: torch.stft(wave, 16, 0, return_complex=True),
             lambda: torch.istft(s1, 16, 4),
             lambda: torch.stft(wave, 16, 4, window=win, return_complex=False)]
    for c in cases:
        try:
            out = c()
            log("ok", out.shape)
        except Exception as e:
            log(type(e).__name__, str(e)[:90])


@program(tol=_TR)
def tv_vit_interp_antialias_and_dtypes(torch, log):
    F = torch.nn.functional
    torch.manual_seed(27)
    pos = torch.randn(1, 4, 6, 6)
    for mode in ("bicubic", "bilinear"):
        for aa in (False, True):
            out = F.interpolate(pos, size=(4, 4), mode=mode, antialias=aa, align_corners=False)
            log(mode, aa, out[0, 0, 1])
    up = F.interpolate(pos, size=(9, 9), mode="bicubic", antialias=True)
    log(up[0, 1, 4, :4])
    half = F.interpolate(pos.to(torch.bfloat16), size=(3, 3), mode="bicubic")
    log(half.dtype, half.float()[0, 0, 0])
    p = pos.clone().requires_grad_()
    F.interpolate(p, size=(4, 5), mode="bicubic", antialias=True).sum().backward()
    log(p.grad[0, 0, 0])
    try:
        F.interpolate(pos[0], size=(3, 3), mode="bicubic")
    except Exception as e:
        log(type(e).__name__, str(e)[:90])
    try:
        F.interpolate(pos[:, :, None], size=(2, 3, 3), mode="bicubic", antialias=True)
    except Exception as e:
        log(type(e).__name__, str(e)[:90])



@program(tol=_MM)
def amp_autocast_backward_grads_and_checkpoint(torch, log):
    nn, F = torch.nn, torch.nn.functional
    cp = torch.utils.checkpoint
    torch.manual_seed(28)
    lin = nn.Linear(5, 3)
    conv = nn.Conv2d(2, 2, 3, padding=1)
    x = torch.randn(4, 5, requires_grad=True)
    img = torch.randn(1, 2, 4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = cp.checkpoint(lin, x, use_reentrant=False)
        z = conv(img)
        loss = y.float().pow(2).mean() + z.float().mean()
    log(y.dtype, z.dtype, loss.dtype)
    loss.backward()
    log(lin.weight.grad.dtype, x.grad.dtype, conv.weight.grad.dtype, lin.bias.grad)
    log(x.grad[0], conv.bias.grad)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        t = F.linear(x.detach(), lin.weight)
        log(t.dtype, t.requires_grad, t.grad_fn is not None, type(t.grad_fn).__name__)


@pytest.mark.parametrize("name", PROGRAMS.params())
def test_program_like_torch(name):
    fn, tol, _ = PROGRAMS[name]
    _check(fn, tol)


# Regressions the programs found


def _grad_strides(lib, wshape, wcl, xcl, groups, how):
    g = torch.Generator().manual_seed(0)
    w = lib.tensor(torch.randn(*wshape, generator=g).tolist())
    if wcl:
        w = w.to(memory_format=lib.channels_last)
    w.requires_grad_()
    x = lib.tensor(torch.randn(2, wshape[1] * groups, 5, 5, generator=g).tolist())
    if xcl:
        x = x.to(memory_format=lib.channels_last)
    if how == "conv":
        lib.nn.functional.conv2d(x, w, groups=groups, padding=1).sum().backward()
    elif how == "handed":
        w.backward(lib.ones(wshape))
    else:
        (w * 2).sum().backward()
    return w.grad.stride(), [round(v, 3) for v in w.grad.flatten().tolist()]


@pytest.mark.parametrize("wshape,groups", [((6, 1, 3, 3), 6), ((4, 3, 1, 1), 1),
                                           ((4, 2, 3, 3), 2), ((4, 4, 3, 3), 1)])
@pytest.mark.parametrize("wcl,xcl", [(0, 0), (0, 1), (1, 0), (1, 1)])
@pytest.mark.parametrize("how", ["conv", "handed", "mul"])
@pytest.mark.parametrize("threads", [1, 2])
def test_conv_weight_grad_layout_at_size_one_dims_like_torch(wshape, groups, wcl, xcl, how,
                                                             threads):
    # torch's oneDNN convolution backward allocates grad_weight channels last when the input or
    # the weight suggests it (its native path, which a single-threaded 1x1 convolution of a
    # small batch takes, as the weight), and AccumulateGrad keeps a gradient whose strides agree
    # with the weight's at every dim longer than 1 (else copies it into the weight's strides):
    # a channels-last depthwise or 1x1 weight's .grad had contiguous strides in ember. (A 1x1
    # convolution of a small batch goes to oneDNN only on more than one thread.)
    before = torch.get_num_threads(), ember.get_num_threads()
    try:
        torch.set_num_threads(threads)
        ember.set_num_threads(threads)
        assert _grad_strides(ember, wshape, wcl, xcl, groups, how) == \
            _grad_strides(torch, wshape, wcl, xcl, groups, how)
    finally:
        torch.set_num_threads(before[0])
        ember.set_num_threads(before[1])


@pytest.mark.parametrize("call", [lambda lib: lib.kaiser_window(8, beta=12.0),
                                  lambda lib: lib.kaiser_window(8, beta=1.0, dtype=lib.float64),
                                  lambda lib: lib.kaiser_window(6, False, 3.0).shape,
                                  lambda lib: round(lib.kaiser_window(6).sum().item(), 5)])
def test_kaiser_window_takes_beta_only_after_periodic_like_torch(call):
    # torch's overloads are (N), (N, periodic) and (N, periodic, beta): ember took beta as a
    # keyword without periodic
    def outcome(lib):
        try:
            return call(lib)
        except Exception as e:
            return type(e).__name__, str(e)
    assert outcome(ember) == outcome(torch)


@pytest.mark.parametrize("offsets,last", [([0, 2, 9], False), ([0, 2, 7], False),
                                          ([0, 2, 9], True), ([0, 2, 6], True),
                                          ([0, 2, 5], False)])
def test_embedding_bag_checks_the_last_offset_given_like_torch(offsets, last):
    # torch checks offsets[-1] against the input's length before include_last_offset drops it
    # ("... length 6 but got offsets[-1] of 9"): ember printed the length in parentheses and,
    # with include_last_offset, let an out-of-range last offset through silently
    def outcome(lib):
        try:
            return lib.nn.functional.embedding_bag(
                lib.tensor([0, 2, 5, 1, 1, 3]), lib.ones(6, 3), lib.tensor(offsets), mode="sum",
                include_last_offset=last).tolist()
        except Exception as e:
            return type(e).__name__, str(e)
    assert outcome(ember) == outcome(torch)
