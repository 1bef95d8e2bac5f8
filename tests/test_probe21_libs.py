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

from test_probe18_programs import _check

PROGRAMS = {}


def program(tol=None):
    """Registers a program; tol: the float tolerance (None: bit for bit)."""
    def deco(fn):
        PROGRAMS[fn.__name__] = (fn, tol)
        return fn
    return deco


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


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_like_torch(name):
    fn, tol = PROGRAMS[name]
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
def test_conv_weight_grad_layout_at_size_one_dims_like_torch(wshape, groups, wcl, xcl, how):
    # torch's convolution backward allocates grad_weight channels last when the input or the
    # weight suggests it, and AccumulateGrad keeps a gradient whose strides agree with the
    # weight's at every dim longer than 1 (else copies it into the weight's strides): a
    # channels-last depthwise or 1x1 weight's .grad had contiguous strides in ember
    assert _grad_strides(ember, wshape, wcl, xcl, groups, how) == \
        _grad_strides(torch, wshape, wcl, xcl, groups, how)


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
