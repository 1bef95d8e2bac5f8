"""Ordinary PyTorch programs, round 20 (less common optimizers, chained schedulers, weight tying,
parametrizations, packed sequences, transformers and attention with masks, transposed
convolutions, pooling and unpooling, fold/unfold, grid_sample, losses, integer and bitwise ops,
dtype promotion, complex arithmetic, linalg, FFT, histograms and searches, printing, state_dict
and save/load round trips, hooks, double backward, checkpointing, DataLoader, generators and the
errors users hit) run under ember and torch from the same seed: everything they record must
agree (the harness is rounds 17 and 18's)."""
import io
import pickle

import pytest

from probe_registry import Programs
from test_probe17_programs import _every_warning, _module
from test_probe18_programs import _check, _raises

PROGRAMS = Programs()
program = PROGRAMS.program


# Programs that train through matmuls and convolutions compare within 1e-4 (NumPy's BLAS and
# torch's oneDNN/MKL sum in different orders); elementwise arithmetic compares bit for bit.
_TRAIN = 1e-4
# Programs through float32 exp, log, sqrt, tanh... compare within 1e-6: torch's AVX512
# (Sleef/MKL) transcendentals and its float32 sqrt are an ulp from NumPy's (see note18)
_ULP = 1e-6


# Training loops with less common optimizers


def _regression(torch):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1))
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    return model, x, y


@program(tol=_TRAIN)
def adamax_nadam_radam_training(torch, log):
    for name, kw in [("Adamax", dict(lr=0.02, weight_decay=0.01)),
                     ("NAdam", dict(lr=0.01, momentum_decay=0.004)),
                     ("NAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
                     ("RAdam", dict(lr=0.01)),
                     ("RAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1))]:
        model, x, y = _regression(torch)
        opt = getattr(torch.optim, name)(model.parameters(), **kw)
        losses = []
        for _ in range(8):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        st = opt.state_dict()["state"][0]
        log(name, losses, sorted(st), st["step"], model[0].bias)


@program(tol=_TRAIN)
def asgd_and_rprop_training(torch, log):
    model, x, y = _regression(torch)
    opt = torch.optim.ASGD(model.parameters(), lr=0.05, lambd=1e-3, alpha=0.75, t0=3)
    for _ in range(6):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        log(loss)
    st = opt.state[model[2].weight]
    log(sorted(st), st["eta"], st["mu"], st["ax"], st["step"])
    model, x, y = _regression(torch)
    opt = torch.optim.Rprop(model.parameters(), lr=0.01, etas=(0.4, 1.3), step_sizes=(1e-4, 1))
    for _ in range(6):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        log(loss)
    st = opt.state[model[0].bias]
    log(sorted(st), st["prev"], st["step_size"])


@program(tol=_TRAIN)
def lbfgs_with_strong_wolfe_line_search(torch, log):
    x = torch.linspace(-1, 1, 20).unsqueeze(1)
    y = 3 * x ** 3 - x + 0.5
    w = torch.zeros(4, requires_grad=True)
    feats = torch.cat([x ** 0, x, x ** 2, x ** 3], 1)
    opt = torch.optim.LBFGS([w], lr=1, max_iter=15, history_size=5,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-9,
                            tolerance_change=1e-12)
    calls = []

    def closure():
        opt.zero_grad()
        loss = ((feats @ w - y.squeeze(1)) ** 2).mean()
        loss.backward()
        calls.append(loss.item())
        return loss
    for _ in range(2):
        log(opt.step(closure))
    log(w, len(calls) > 3, opt.state[w]["n_iter"], opt.state[w]["func_evals"])


@program(tol=_TRAIN)
def lbfgs_without_line_search_and_state(torch, log):
    torch.manual_seed(1)
    a = torch.randn(5, 5)
    A = a @ a.T + 5 * torch.eye(5)
    b = torch.randn(5)
    x = torch.zeros(5, requires_grad=True)
    opt = torch.optim.LBFGS([x], lr=0.5, max_iter=4, history_size=3)

    def closure():
        opt.zero_grad()
        loss = 0.5 * x @ A @ x - b @ x
        loss.backward()
        return loss
    for i in range(3):
        loss = opt.step(closure)
        log(i, loss, x)
    st = opt.state_dict()["state"][0]
    log(sorted(st), len(st["old_dirs"]), st["n_iter"])


@program(tol=_TRAIN)
def sparse_adam_with_sparse_embedding(torch, log):
    nn = torch.nn
    emb = nn.Embedding(10, 3, sparse=True)
    head = nn.Linear(3, 2)
    opt1 = torch.optim.SparseAdam(list(emb.parameters()), lr=0.05)
    opt2 = torch.optim.Adam(head.parameters(), lr=0.05)
    for step in range(4):
        idx = torch.randint(0, 10, (6,))
        target = torch.randint(0, 2, (6,))
        loss = nn.functional.cross_entropy(head(emb(idx)), target)
        opt1.zero_grad()
        opt2.zero_grad()
        loss.backward()
        log(step, loss, emb.weight.grad.is_sparse, emb.weight.grad.coalesce().indices())
        opt1.step()
        opt2.step()
    log(emb.weight, sorted(opt1.state[emb.weight]))
    log(_raises(lambda: torch.optim.SparseAdam(head.parameters(), lr=0.1).step()))


@program(tol=_TRAIN)
def adagrad_with_lr_decay_and_initial_accumulator(torch, log):
    model, x, y = _regression(torch)
    opt = torch.optim.Adagrad(model.parameters(), lr=0.1, lr_decay=0.01,
                              initial_accumulator_value=0.1, weight_decay=1e-3)
    for _ in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    st = opt.state[model[0].weight]
    log(loss, sorted(st), st["step"], st["sum"][0])


@program(tol=_TRAIN)
def rmsprop_centered_with_momentum_and_adadelta(torch, log):
    model, x, y = _regression(torch)
    opt = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9, centered=True,
                              momentum=0.5, weight_decay=1e-2)
    for _ in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        log(loss)
    log(sorted(opt.state[model[0].weight]))
    model, x, y = _regression(torch)
    opt = torch.optim.Adadelta(model.parameters(), lr=1.0, rho=0.8, eps=1e-5)
    for _ in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        log(loss)
    log(sorted(opt.state[model[0].weight]), opt.defaults)


@program(tol=_TRAIN)
def adam_amsgrad_and_adamw_state_dict_round_trip(torch, log):
    model, x, y = _regression(torch)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, amsgrad=True, betas=(0.8, 0.99))
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    sd = opt.state_dict()
    buf = io.BytesIO()
    torch.save(sd, buf)
    buf.seek(0)
    sd2 = torch.load(buf)
    opt2 = torch.optim.Adam(model.parameters(), lr=0.5, amsgrad=True)
    opt2.load_state_dict(sd2)
    log(opt2.param_groups[0]["lr"], opt2.param_groups[0]["betas"], sorted(sd2["state"][0]))
    for _ in range(2):
        opt2.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt2.step()
    log(loss, opt2.state[model[0].weight]["max_exp_avg_sq"][0])


# Schedulers


@program()
def sequential_lr_of_three_and_chained_scheduler(torch, log):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    S = torch.optim.lr_scheduler
    s1 = S.ConstantLR(opt, factor=0.5, total_iters=2)
    s2 = S.LinearLR(opt, start_factor=1.0, end_factor=0.2, total_iters=3)
    s3 = S.StepLR(opt, step_size=2, gamma=0.5)
    seq = S.SequentialLR(opt, [s1, s2, s3], milestones=[2, 5])
    lrs = []
    for _ in range(10):
        opt.step()
        seq.step()
        lrs.append(round(opt.param_groups[0]["lr"], 10))
    log(lrs, seq.last_epoch)
    opt2 = torch.optim.SGD([p], lr=1.0)
    c1 = S.ExponentialLR(opt2, gamma=0.9)
    c2 = S.MultiStepLR(opt2, milestones=[2, 4], gamma=0.1)
    ch = S.ChainedScheduler([c1, c2])
    out = []
    for _ in range(6):
        opt2.step()
        ch.step()
        out.append(round(ch.get_last_lr()[0], 12))
    log(out, [round(v, 12) for v in c1.get_last_lr()])


@program()
def reduce_on_plateau_min_rel_and_multiple_groups(torch, log):
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=1.0)
    S = torch.optim.lr_scheduler
    sched = S.ReduceLROnPlateau(opt, mode="min", factor=0.1, patience=2, threshold=0.01,
                                threshold_mode="rel", min_lr=[0.01, 0.02], eps=1e-3)
    for m in [5.0, 4.0, 3.99, 3.98, 3.97, 3.96, 3.95, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]:
        opt.step()
        sched.step(m)
        log([g["lr"] for g in opt.param_groups], sched.num_bad_epochs, sched.best)
    sd = sched.state_dict()
    log(sorted(sd), sd["best"], sd["last_epoch"])
    s2 = S.ReduceLROnPlateau(torch.optim.SGD([a], lr=1.0))
    s2.load_state_dict(sd)
    log(s2.patience, s2.mode, s2.min_lrs)


@program()
def cyclic_lr_modes(torch, log):
    S = torch.optim.lr_scheduler
    p = torch.nn.Parameter(torch.zeros(1))
    for mode, kw in [("triangular", {}), ("triangular2", {}), ("exp_range", {"gamma": 0.9})]:
        opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
        sched = S.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=2,
                           mode=mode, **kw)
        lrs, moms = [], []
        for _ in range(12):
            opt.step()
            sched.step()
            lrs.append(round(opt.param_groups[0]["lr"], 10))
            moms.append(round(opt.param_groups[0]["momentum"], 10))
        log(mode, lrs, moms)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = S.CyclicLR(opt, base_lr=0.0, max_lr=1.0, step_size_up=4,
                       scale_fn=lambda x: 1 / (2.0 ** (x - 1)), scale_mode="cycle",
                       cycle_momentum=False)
    out = []
    for _ in range(10):
        opt.step()
        sched.step()
        out.append(round(sched.get_last_lr()[0], 10))
    log(out)


@program()
def polynomial_cosine_and_multiplicative_lr(torch, log):
    S = torch.optim.lr_scheduler
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    poly = S.PolynomialLR(opt, total_iters=4, power=2.0)
    out = []
    for _ in range(6):
        opt.step()
        poly.step()
        out.append(round(poly.get_last_lr()[0], 12))
    log(out)
    opt = torch.optim.SGD([p], lr=1.0)
    cos = S.CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
    out = []
    for _ in range(10):
        opt.step()
        cos.step()
        out.append(round(cos.get_last_lr()[0], 12))
    log(out)
    opt = torch.optim.SGD([p], lr=1.0)
    mul = S.MultiplicativeLR(opt, lr_lambda=lambda e: 0.95 if e % 2 else 1.0)
    out = []
    for _ in range(5):
        opt.step()
        mul.step()
        out.append(round(mul.get_last_lr()[0], 12))
    log(out, mul.state_dict()["last_epoch"])


@program()
def lambda_lr_state_dict_round_trip(torch, log):
    S = torch.optim.lr_scheduler

    class Warm:
        def __init__(self, n):
            self.n = n

        def __call__(self, e):
            return min(1.0, (e + 1) / self.n)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [p]}, {"params": [torch.nn.Parameter(torch.zeros(1))]}],
                          lr=0.1)
    sched = S.LambdaLR(opt, [Warm(4), lambda e: 0.5 ** e])
    for _ in range(3):
        opt.step()
        sched.step()
    sd = sched.state_dict()
    log(sorted(sd), sd["lr_lambdas"], sd["last_epoch"], sd["_last_lr"])
    opt2 = torch.optim.SGD([{"params": [p]}, {"params": [torch.nn.Parameter(torch.zeros(1))]}],
                           lr=0.1)
    s2 = S.LambdaLR(opt2, [Warm(10), lambda e: 1.0])
    s2.load_state_dict(sd)
    log(s2.lr_lambdas[0].n, s2.last_epoch)
    opt2.step()
    s2.step()
    log(s2.get_last_lr())


@program()
def scheduler_step_order_warning_and_epoch_argument(torch, log):
    S = torch.optim.lr_scheduler
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = S.StepLR(opt, step_size=1, gamma=0.5)
    sched.step()          # before opt.step(): torch warns
    opt.step()
    log(sched.get_last_lr())
    opt = torch.optim.SGD([p], lr=1.0)
    sched = S.ExponentialLR(opt, gamma=0.5)
    opt.step()
    sched.step(3)         # epoch argument is deprecated
    log(sched.get_last_lr(), sched.last_epoch)
    log(_raises(lambda: S.StepLR(opt, step_size=1, last_epoch=5)))
    log(_raises(lambda: S.SequentialLR(opt, [sched], milestones=[1])))


# Weight tying and parametrizations


@program(tol=_TRAIN)
def tied_embedding_and_output_projection(torch, log):
    nn = torch.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(12, 6)
            self.rnn = nn.GRU(6, 6, batch_first=True)
            self.out = nn.Linear(6, 12, bias=False)
            self.out.weight = self.emb.weight

        def forward(self, x):
            h, _ = self.rnn(self.emb(x))
            return self.out(h)
    m = LM()
    log(len(list(m.parameters())), sorted(m.state_dict()), m.out.weight is m.emb.weight)
    log([n for n, _ in m.named_parameters()],
        [n for n, _ in m.named_parameters(remove_duplicate=False)])
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    x = torch.randint(0, 12, (3, 5))
    for _ in range(3):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(m(x[:, :-1]).reshape(-1, 12), x[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        log(loss)
    log(m.out.weight.data_ptr() == m.emb.weight.data_ptr())
    m2 = LM()
    m2.load_state_dict(m.state_dict())
    log(m2.out.weight is m2.emb.weight, torch.equal(m2.emb.weight, m.emb.weight))


@program(tol=_TRAIN)
def orthogonal_parametrization_training(torch, log):
    nn = torch.nn
    P = nn.utils.parametrize
    for kw in [{}, {"orthogonal_map": "cayley"}, {"orthogonal_map": "householder"},
               {"use_trivialization": False}]:
        torch.manual_seed(0)
        lin = nn.Linear(4, 4)
        nn.utils.parametrizations.orthogonal(lin, **kw)
        W = lin.weight
        log(kw, (W @ W.T - torch.eye(4)).abs().max() < 1e-5, P.is_parametrized(lin, "weight"))
        opt = torch.optim.SGD(lin.parameters(), lr=0.1)
        x = torch.randn(8, 4)
        for _ in range(3):
            opt.zero_grad()
            loss = lin(x).pow(2).sum()
            loss.backward()
            opt.step()
        W = lin.weight
        log(loss, (W @ W.T - torch.eye(4)).abs().max() < 1e-4,
            sorted(lin.state_dict()))


@program(tol=_TRAIN)
def spectral_norm_parametrization_power_iterations(torch, log):
    nn = torch.nn
    lin = nn.Linear(5, 3)
    sn = nn.utils.parametrizations.spectral_norm(lin, n_power_iterations=3)
    log(sorted(sn.state_dict()), type(sn.parametrizations.weight[0]).__name__)
    x = torch.randn(4, 5)
    y1 = sn(x)
    sigma = torch.linalg.matrix_norm(sn.weight, 2)
    log(y1, abs(sigma.item() - 1) < 5e-2)
    sn.eval()
    y2 = sn(x)
    log(torch.allclose(sn(x), y2), sn.parametrizations.weight.original.shape)
    conv = nn.utils.parametrizations.spectral_norm(nn.Conv2d(2, 3, 3), dim=0)
    log(conv(torch.randn(1, 2, 5, 5)).shape)
    P = nn.utils.parametrize
    P.remove_parametrizations(sn, "weight", leave_parametrized=True)
    log(sorted(sn.state_dict()), type(sn.weight).__name__)


@program(tol=_TRAIN)
def weight_norm_parametrization_and_removal(torch, log):
    nn = torch.nn
    lin = nn.utils.parametrizations.weight_norm(nn.Linear(3, 4), dim=0)
    log(sorted(lin.state_dict()), lin.parametrizations.weight.original0.shape,
        lin.parametrizations.weight.original1.shape)
    opt = torch.optim.Adam(lin.parameters(), lr=0.1)
    x = torch.randn(5, 3)
    for _ in range(3):
        opt.zero_grad()
        loss = lin(x).square().mean()
        loss.backward()
        opt.step()
    log(loss, lin.parametrizations.weight.original0)
    w = lin.weight.detach().clone()
    nn.utils.parametrize.remove_parametrizations(lin, "weight")
    log(torch.allclose(w, lin.weight), sorted(lin.state_dict()))
    conv = nn.utils.parametrizations.weight_norm(nn.Conv1d(2, 3, 2), dim=None)
    log(conv.parametrizations.weight.original0.shape)


@program(tol=_TRAIN)
def custom_parametrizations_symmetric_and_cached(torch, log):
    nn = torch.nn
    P = nn.utils.parametrize

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()

    class Positive(nn.Module):
        def forward(self, X):
            return X.exp()

        def right_inverse(self, A):
            return A.log()
    lin = nn.Linear(3, 3)
    P.register_parametrization(lin, "weight", Symmetric())
    P.register_parametrization(lin, "bias", Positive())
    log(torch.equal(lin.weight, lin.weight.T), (lin.bias > 0).all())
    with P.cached():
        a = lin.weight
        b = lin.weight
        log(a is b)
    lin.bias = torch.tensor([1.0, 2.0, 3.0])
    log(lin.parametrizations.bias.original, lin.bias)
    P.register_parametrization(lin, "weight", Positive())
    log(len(lin.parametrizations.weight), lin.weight.min() > 0)
    log(repr(lin).splitlines()[:4])
    log(_raises(lambda: P.remove_parametrizations(lin, "nothing")))


# Packed sequences


@program(tol=_TRAIN)
def pack_padded_bidirectional_lstm_and_gru(torch, log):
    nn = torch.nn
    R = nn.utils.rnn
    lengths = torch.tensor([5, 2, 4])
    x = torch.randn(3, 5, 4)
    packed = R.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    log(packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices, packed.data.shape)
    for cls in (nn.LSTM, nn.GRU):
        rnn = cls(4, 3, num_layers=2, bidirectional=True, batch_first=True)
        out, h = rnn(packed)
        pad, lens = R.pad_packed_sequence(out, batch_first=True, padding_value=-1.0,
                                          total_length=6)
        hn = h[0] if cls is nn.LSTM else h
        log(cls.__name__, pad, lens, hn.shape, hn[-1])
        # last forward output at each length equals the final forward hidden state
        last = pad[torch.arange(3), lens - 1, :3]
        log(torch.allclose(last, hn[-2], atol=1e-6))


@program(tol=_TRAIN)
def pack_sequence_and_pad_sequence_variants(torch, log):
    nn = torch.nn
    R = nn.utils.rnn
    seqs = [torch.randn(4, 2), torch.randn(3, 2), torch.randn(1, 2)]
    packed = R.pack_sequence(seqs)
    log(packed.batch_sizes, packed.data, packed.sorted_indices)
    log(_raises(lambda: R.pack_sequence(seqs[::-1])))
    p2 = R.pack_sequence(seqs[::-1], enforce_sorted=False)
    log(p2.sorted_indices, p2.unsorted_indices)
    pad = R.pad_sequence(seqs, batch_first=True, padding_value=9)
    log(pad)
    log(R.pad_sequence(seqs, padding_side="left").shape)
    log(R.pad_sequence(seqs, batch_first=True, padding_side="left")[2])
    rnn = nn.RNN(2, 3, nonlinearity="relu")
    out, h = rnn(p2)
    log(type(out).__name__, out.data.shape, h)
    unpacked = R.unpack_sequence(out)
    log([u.shape for u in unpacked])
    log(R.unpad_sequence(pad, torch.tensor([4, 3, 1]), batch_first=True)[1])
    log(_raises(lambda: R.pack_padded_sequence(pad, torch.tensor([4, 0, 1]), batch_first=True,
                                               enforce_sorted=False)))
    log(_raises(lambda: R.pack_padded_sequence(pad, [1, 3, 4], batch_first=True)))


@program(tol=_TRAIN)
def packed_sequence_methods(torch, log):
    R = torch.nn.utils.rnn
    seqs = [torch.arange(4.0), torch.arange(2.0), torch.arange(3.0)]
    p = R.pack_sequence(seqs, enforce_sorted=False)
    log(p.is_cuda, p.data.dtype, p.double().data.dtype, p.to(torch.float64).data.dtype)
    log(p.is_pinned() if hasattr(p, "is_pinned") else None)
    log(p._fields, len(p), p[1], p.batch_sizes.dtype)
    q = p._replace(data=p.data * 2)
    log(type(q).__name__, R.pad_packed_sequence(q)[0])
    emb = torch.nn.Embedding(5, 2)
    idx = R.pack_sequence([torch.tensor([1, 2, 3]), torch.tensor([4])])
    out = R.PackedSequence(emb(idx.data), idx.batch_sizes)
    log(out.data.shape, out.sorted_indices)


# Transformers and attention


@program(tol=_TRAIN)
def transformer_encoder_key_padding_and_causal(torch, log):
    nn = torch.nn
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True,
                                       norm_first=True, activation="gelu")
    enc = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
    x = torch.randn(2, 5, 8)
    pad = torch.tensor([[False] * 5, [False, False, False, True, True]])
    causal = nn.Transformer.generate_square_subsequent_mask(5)
    log(causal)
    y1 = enc(x, src_key_padding_mask=pad)
    y2 = enc(x, mask=causal, is_causal=True)
    y3 = enc(x, mask=causal, src_key_padding_mask=pad)
    log(y1, y2, y3[0, 0])
    bool_causal = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)
    log(torch.allclose(enc(x, mask=bool_causal), y2, atol=1e-6))
    enc.eval()
    with torch.no_grad():
        log(enc(x, src_key_padding_mask=pad)[0])


@program(tol=_TRAIN)
def transformer_decoder_with_memory_masks(torch, log):
    nn = torch.nn
    layer = nn.TransformerDecoderLayer(6, 3, dim_feedforward=12, dropout=0.0)
    dec = nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(6))
    tgt, mem = torch.randn(4, 2, 6), torch.randn(7, 2, 6)
    tmask = nn.Transformer.generate_square_subsequent_mask(4)
    mem_pad = torch.zeros(2, 7, dtype=torch.bool)
    mem_pad[1, 5:] = True
    out = dec(tgt, mem, tgt_mask=tmask, memory_key_padding_mask=mem_pad, tgt_is_causal=True)
    log(out)
    mmask = torch.zeros(4, 7)
    mmask[:, 0] = float("-inf")
    out2 = dec(tgt, mem, memory_mask=mmask)
    log(out2[0])
    out2.sum().backward()
    log(dec.layers[0].multihead_attn.in_proj_weight.grad.abs().sum())


@program(tol=_TRAIN)
def multihead_attention_kdim_vdim_and_weights(torch, log):
    nn = torch.nn
    mha = nn.MultiheadAttention(8, 2, kdim=5, vdim=3, batch_first=True, bias=False)
    log(sorted(n for n, _ in mha.named_parameters()))
    q, k, v = torch.randn(2, 4, 8), torch.randn(2, 6, 5), torch.randn(2, 6, 3)
    out, w = mha(q, k, v)
    log(out, w.shape, w.sum(-1))
    out, w = mha(q, k, v, average_attn_weights=False)
    log(w.shape, w[0, 1])
    out, w = mha(q, k, v, need_weights=False)
    log(w)
    kpm = torch.tensor([[0, 0, 0, 0, 1, 1], [0] * 6]).bool()
    out, w = mha(q, k, v, key_padding_mask=kpm)
    log(w[0, :, 4:])
    am = torch.zeros(4, 6)
    am[:, 1] = -1e9
    out, w = mha(q, k, v, attn_mask=am)
    log(w[1, :, 1] < 1e-6)
    m3 = torch.zeros(2 * 2, 4, 6, dtype=torch.bool)
    m3[:, :, 0] = True
    out, w = mha(q, k, v, attn_mask=m3)
    log(w[..., 0])


@program(tol=_TRAIN)
def multihead_attention_add_bias_kv_and_zero_attn(torch, log):
    nn = torch.nn
    mha = nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, dropout=0.0)
    q = torch.randn(3, 2, 4)
    out, w = mha(q, q, q)
    log(out, w.shape, mha.bias_k.shape)
    kpm = torch.zeros(2, 3, dtype=torch.bool)
    kpm[0, 2] = True
    out, w = mha(q, q, q, key_padding_mask=kpm)
    log(w[0])
    mha.eval()
    with torch.no_grad():
        log(mha(q, q, q)[0][0])
    log(_raises(lambda: nn.MultiheadAttention(5, 2)))
    log(_raises(lambda: mha(q, q, q, attn_mask=torch.zeros(2, 2))))


@program(tol=_TRAIN)
def scaled_dot_product_attention_masks_and_scale(torch, log):
    F = torch.nn.functional
    q, k, v = torch.randn(2, 3, 4, 8), torch.randn(2, 3, 6, 8), torch.randn(2, 3, 6, 5)
    log(F.scaled_dot_product_attention(q, k, v))
    bm = torch.ones(4, 6, dtype=torch.bool).tril()
    log(F.scaled_dot_product_attention(q, k, v, attn_mask=bm)[0, 0])
    fm = torch.randn(2, 1, 4, 6)
    log(F.scaled_dot_product_attention(q, k, v, attn_mask=fm, scale=0.5)[1, 2])
    log(F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=0.0)[0, 1])
    qq = torch.randn(2, 4, 4, 8)
    kk, vv = torch.randn(2, 2, 6, 8), torch.randn(2, 2, 6, 8)
    log(F.scaled_dot_product_attention(qq, kk, vv, enable_gqa=True).shape)
    q.requires_grad_()
    F.scaled_dot_product_attention(q, k, v, attn_mask=bm).sum().backward()
    log(q.grad[0, 0])
    allmasked = torch.zeros(4, 6, dtype=torch.bool)
    log(F.scaled_dot_product_attention(q.detach(), k, v, attn_mask=allmasked)[0, 0, 0])
    log(_raises(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=bm, is_causal=True)))


# Convolutions, pooling and spatial ops


@program(tol=_TRAIN)
def conv_transpose_output_padding_groups_dilation(torch, log):
    nn = torch.nn
    x = torch.randn(2, 4, 5, 5)
    for kw in [dict(stride=2, output_padding=1), dict(stride=2, padding=1, output_padding=1),
               dict(groups=2, dilation=2), dict(stride=3, output_padding=2, dilation=2),
               dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=4)]:
        conv = nn.ConvTranspose2d(4, 4, 3, **kw)
        y = conv(x)
        log(kw, y.shape, y[0, 0, :2, :3])
    ct = nn.ConvTranspose2d(4, 2, 3, stride=2)
    log(ct(x, output_size=[12, 12]).shape, ct(x, output_size=(11, 11)).shape)
    log(_raises(lambda: ct(x, output_size=(14, 14))))
    log(_raises(lambda: nn.ConvTranspose2d(4, 4, 3, stride=1, output_padding=1)(x)))
    c1 = nn.ConvTranspose1d(3, 2, 4, stride=2, padding=1)
    log(c1(torch.randn(1, 3, 6)))
    c3 = nn.ConvTranspose3d(2, 1, 2, stride=2)
    log(c3(torch.randn(1, 2, 2, 2, 2)).shape)


@program(tol=_TRAIN)
def transposed_conv_decoder_training(torch, log):
    nn = torch.nn
    dec = nn.Sequential(nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1, bias=False),
                        nn.BatchNorm2d(4),
                        nn.ReLU(), nn.ConvTranspose2d(4, 1, 3, stride=1, padding=1),
                        nn.Sigmoid())
    opt = torch.optim.Adam(dec.parameters(), lr=1e-2)
    z, target = torch.randn(4, 3, 4, 4), torch.rand(4, 1, 8, 8)
    for _ in range(4):
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy(dec(z), target)
        loss.backward()
        opt.step()
        log(loss)
    log(dec[1].running_mean, dec[1].num_batches_tracked)


@program()
def max_pool_ceil_mode_indices_and_unpool(torch, log):
    nn = torch.nn
    x = torch.arange(49.0).reshape(1, 1, 7, 7) % 11
    pool = nn.MaxPool2d(2, stride=2, ceil_mode=True, return_indices=True)
    y, idx = pool(x)
    log(y, idx)
    unpool = nn.MaxUnpool2d(2, stride=2)
    log(unpool(y, idx, output_size=x.shape[-2:]))
    log(_raises(lambda: unpool(y, idx)))
    y2, i2 = nn.functional.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
    log(y2, i2)
    log(nn.functional.max_unpool2d(y2, i2, 3, stride=2, padding=1, output_size=(7, 7)))
    x1 = torch.tensor([[[1.0, 3, 2, 5, 4, 0, 7]]])
    y1, j1 = nn.functional.max_pool1d(x1, 2, return_indices=True, ceil_mode=True)
    log(y1, j1, nn.functional.max_unpool1d(y1, j1, 2, output_size=[7]))
    x3 = torch.randn(1, 1, 4, 4, 4)
    y3, j3 = nn.functional.max_pool3d(x3, 2, return_indices=True)
    log(nn.MaxUnpool3d(2)(y3, j3).shape, j3.flatten())
    log(nn.functional.max_pool2d(x, 2, dilation=2, ceil_mode=True))


@program()
def avg_and_lp_pool_options(torch, log):
    F = torch.nn.functional
    x = torch.arange(36.0).reshape(1, 1, 6, 6)
    log(F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False))
    log(F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True, ceil_mode=True))
    log(F.avg_pool2d(x, 2, divisor_override=3))
    log(F.avg_pool1d(x[0], 4, stride=3, ceil_mode=True))
    log(F.lp_pool2d(x, 2, 2), F.lp_pool1d(x[0, :, 0], 1.0, 3))
    log(F.adaptive_avg_pool2d(x, (4, 3)), F.adaptive_max_pool2d(x, 4, return_indices=True)[1])
    log(F.adaptive_avg_pool1d(x[0, :, :5], 3))
    log(_raises(lambda: F.avg_pool2d(x, 4, padding=3)))
    log(_raises(lambda: F.max_pool2d(x, 7)))


@program()
def fold_unfold_round_trip_and_overlap_counts(torch, log):
    nn = torch.nn
    x = torch.arange(2 * 3 * 5 * 6.0).reshape(2, 3, 5, 6)
    unf = nn.Unfold(kernel_size=(2, 3), dilation=1, padding=1, stride=(2, 1))
    cols = unf(x)
    log(cols.shape, cols[0, :4, :5])
    fold = nn.Fold(output_size=(5, 6), kernel_size=(2, 3), padding=1, stride=(2, 1))
    back = fold(cols)
    ones = fold(unf(torch.ones_like(x)))
    log(back[1, 2], ones[0, 0], torch.allclose(back / ones, x))
    log(nn.functional.unfold(x, 2, dilation=2).shape)
    log(nn.functional.fold(torch.ones(1, 4, 9), (4, 4), 2, stride=1))
    log(_raises(lambda: nn.functional.fold(torch.ones(1, 5, 9), (4, 4), 2)))
    log(_raises(lambda: nn.functional.fold(torch.ones(1, 4, 8), (4, 4), 2)))
    log(repr(unf), repr(fold))


@program()
def pixel_shuffle_unshuffle_and_channel_shuffle(torch, log):
    nn = torch.nn
    x = torch.arange(2 * 8 * 2 * 3.0).reshape(2, 8, 2, 3)
    ps = nn.PixelShuffle(2)
    y = ps(x)
    log(y.shape, y[0, 1])
    log(torch.equal(nn.PixelUnshuffle(2)(y), x))
    log(nn.functional.pixel_unshuffle(torch.arange(16.0).reshape(1, 1, 4, 4), 2)[0, :, 0, 0])
    log(nn.ChannelShuffle(4)(x)[0, :, 0, 0], nn.functional.channel_shuffle(x, 2)[1, :, 1, 2])
    log(_raises(lambda: ps(torch.zeros(1, 6, 2, 2))))
    log(_raises(lambda: nn.functional.pixel_unshuffle(torch.zeros(1, 1, 3, 4), 2)))
    log(ps(torch.zeros(3, 2, 4, 1, 1)).shape)


@program(tol=_ULP)
def grid_sample_padding_modes_and_align_corners(torch, log):
    F = torch.nn.functional
    img = torch.arange(1 * 2 * 4 * 5.0).reshape(1, 2, 4, 5)
    grid = torch.tensor([[[[-1.2, -1.0], [0.0, 0.0], [0.9, 1.1]],
                          [[1.0, 1.0], [-0.5, 0.25], [2.0, -2.0]]]])
    for mode in ["bilinear", "nearest", "bicubic"]:
        for pad in ["zeros", "border", "reflection"]:
            for ac in [False, True]:
                log(mode, pad, ac, F.grid_sample(img, grid, mode=mode, padding_mode=pad,
                                                 align_corners=ac))
    theta = torch.tensor([[[0.8, -0.2, 0.1], [0.3, 0.9, -0.1]]], requires_grad=True)
    g = F.affine_grid(theta, (1, 2, 3, 4), align_corners=False)
    out = F.grid_sample(img, g, align_corners=False)
    out.sum().backward()
    log(out, theta.grad)
    vol = torch.randn(1, 1, 3, 3, 3)
    g3 = torch.rand(1, 2, 2, 2, 3) * 2 - 1
    log(F.grid_sample(vol, g3, align_corners=True))


# Losses


@program(tol=_ULP)
def ctc_loss_batch_with_targets_concatenated_and_padded(torch, log):
    F = torch.nn.functional
    T, N, C = 8, 3, 5
    logits = torch.randn(T, N, C, requires_grad=True)
    lp = logits.log_softmax(2)
    il = torch.tensor([8, 6, 5])
    tl = torch.tensor([3, 2, 4])
    padded = torch.randint(1, C, (N, 4))
    concat = torch.cat([padded[i, :tl[i]] for i in range(N)])
    for red in ["mean", "sum", "none"]:
        a = F.ctc_loss(lp, padded, il, tl, reduction=red)
        b = F.ctc_loss(lp, concat, il, tl, reduction=red)
        log(red, a, torch.allclose(a, b))
    F.ctc_loss(lp, padded, il, tl).backward()
    log(logits.grad[:, 1])
    ctc = torch.nn.CTCLoss(blank=4, zero_infinity=True)
    bad = ctc(lp, torch.tensor([[1, 1, 1, 1]] * 3), torch.tensor([2, 2, 2]), tl)
    log(bad)
    log(F.ctc_loss(lp[:, 0], padded[0, :3], torch.tensor(8), torch.tensor(3)))
    log(_raises(lambda: F.ctc_loss(lp[:, 0], padded[0], il[:1], tl[:1])))


@program(tol=_ULP)
def margin_ranking_triplet_and_cosine_embedding(torch, log):
    nn, F = torch.nn, torch.nn.functional
    a, b = torch.randn(6), torch.randn(6)
    y = torch.tensor([1, -1, 1, 1, -1, -1.0])
    for red in ["mean", "sum", "none"]:
        log(F.margin_ranking_loss(a, b, y, margin=0.2, reduction=red))
    anc, pos, neg = torch.randn(5, 4), torch.randn(5, 4), torch.randn(5, 4)
    log(F.triplet_margin_loss(anc, pos, neg, margin=0.5, p=1, swap=True))
    log(F.triplet_margin_loss(anc, pos, neg, reduction="none", eps=1e-3))
    tl = nn.TripletMarginWithDistanceLoss(distance_function=nn.PairwiseDistance(), margin=2.0)
    log(tl(anc, pos, neg))
    cosd = nn.TripletMarginWithDistanceLoss(
        distance_function=lambda u, v: 1 - F.cosine_similarity(u, v), swap=True)
    log(cosd(anc, pos, neg))
    t = torch.tensor([1, -1, 1, -1, 1])
    log(F.cosine_embedding_loss(anc, pos, t, margin=0.1),
        F.cosine_embedding_loss(anc, pos, t, reduction="none"))
    log(F.hinge_embedding_loss(a, y, margin=0.5), F.soft_margin_loss(a, y))
    log(F.multi_margin_loss(anc, torch.tensor([0, 3, 2, 1, 0]), p=2, margin=0.5,
                            weight=torch.tensor([1.0, 2, 3, 4])))
    log(F.multilabel_margin_loss(anc, torch.tensor([[3, 0, -1, 1]] * 5)))
    log(_raises(lambda: F.margin_ranking_loss(a, b[:5], y)))


@program(tol=_ULP)
def kl_div_log_target_and_reductions(torch, log):
    F = torch.nn.functional
    inp = torch.randn(4, 5).log_softmax(1)
    tgt = torch.randn(4, 5).softmax(1)
    for red in ["batchmean", "sum", "mean", "none"]:
        log(red, F.kl_div(inp, tgt, reduction=red),
            F.kl_div(inp, tgt.log(), reduction=red, log_target=True))
    z = tgt.clone()
    z[0, 0] = 0.0
    log(F.kl_div(inp, z, reduction="none")[0])
    kl = torch.nn.KLDivLoss(reduction="batchmean", log_target=True)
    x = inp.clone().requires_grad_()
    kl(x, tgt.log()).backward()
    log(x.grad)
    log(F.kl_div(inp, tgt))


@program(tol=_ULP)
def cross_entropy_label_smoothing_ignore_index_and_weights(torch, log):
    F = torch.nn.functional
    logits = torch.randn(6, 4, requires_grad=True)
    target = torch.tensor([0, 3, -100, 2, 1, -100])
    w = torch.tensor([1.0, 2.0, 0.5, 3.0])
    for red in ["mean", "sum", "none"]:
        log(red, F.cross_entropy(logits, target, weight=w, label_smoothing=0.2, reduction=red))
    log(F.cross_entropy(logits, target.clamp(min=0), ignore_index=2, label_smoothing=0.1,
                        weight=w, reduction="none"))
    log(_raises(lambda: F.cross_entropy(logits, target, ignore_index=2)))
    loss = F.cross_entropy(logits, target, weight=w, label_smoothing=0.3)
    loss.backward()
    log(logits.grad)
    probs = torch.randn(6, 4).softmax(1)
    log(F.cross_entropy(logits, probs, label_smoothing=0.1, weight=w))
    img = torch.randn(2, 4, 3, 3)
    t = torch.randint(0, 4, (2, 3, 3))
    t[0, 0] = 1
    t[1, 1, 1] = -100
    log(F.cross_entropy(img, t, weight=w, label_smoothing=0.05))
    log(F.nll_loss(img.log_softmax(1), t.clamp(min=0), ignore_index=1, reduction="sum"))
    log(_raises(lambda: F.nll_loss(img.log_softmax(1), t, ignore_index=1)))
    log(F.cross_entropy(logits, torch.full((6,), -100)))
    log(_raises(lambda: F.cross_entropy(logits, torch.tensor([0, 4, 1, 1, 1, 1]))))
    log(_raises(lambda: F.cross_entropy(logits, target.float())))


@program(tol=_ULP)
def regression_losses_beta_delta_and_gaussian_nll(torch, log):
    F = torch.nn.functional
    a, b = torch.randn(10), torch.randn(10)
    for beta in [0.0, 0.5, 2.0]:
        log(F.smooth_l1_loss(a, b, beta=beta), F.huber_loss(a, b, delta=beta or 1.0))
    var = torch.rand(10) + 0.1
    log(F.gaussian_nll_loss(a, b, var), F.gaussian_nll_loss(a, b, var, full=True, eps=1e-2))
    log(F.gaussian_nll_loss(a.reshape(5, 2), b.reshape(5, 2), torch.rand(5, 1),
                            reduction="none"))
    log(F.poisson_nll_loss(a, b.abs(), log_input=True, full=True))
    log(F.poisson_nll_loss(a.abs(), b.abs(), log_input=False, eps=1e-4))
    log(F.l1_loss(a, b, reduction="sum"), F.mse_loss(a, b, reduction="none")[:3])
    log(_raises(lambda: F.gaussian_nll_loss(a, b, -var)))
    log(F.mse_loss(a, b.reshape(10, 1)).shape)


# Integers, bits and dtype promotion


@program()
def bitwise_ops_shifts_and_masks(torch, log):
    a = torch.tensor([0, 1, 5, -8, 127, -128], dtype=torch.int8)
    b = torch.tensor([3, 1, 2, 1, 7, 1], dtype=torch.int8)
    log(a & b, a | b, a ^ b, ~a, a << b, a >> b)
    log(torch.bitwise_left_shift(a, 2), torch.bitwise_right_shift(a, 1), a.bitwise_not())
    u = torch.tensor([0, 1, 200, 255], dtype=torch.uint8)
    log(u << 1, u >> 3, ~u, u ^ 0xFF, u & 0x0F, u.bitwise_xor_(torch.tensor(3, dtype=torch.uint8)))
    x = torch.tensor([1, 2, 3, 4], dtype=torch.int64)
    log(x << 62, x << 63, x << 64, x >> 64, (-x) >> 70, x << -1)
    m = torch.tensor([True, False, True])
    log(m & torch.tensor([True, True, False]), m ^ True, ~m, m | 0, (m & 1).dtype)
    log(_raises(lambda: torch.tensor([1.0]) & torch.tensor([1.0])))
    log(_raises(lambda: ~torch.tensor([1.5])))
    log(torch.bitwise_and(torch.tensor([12, 10]), 6), 5 ^ torch.tensor([1, 2, 3]))
    flags = torch.zeros(5, dtype=torch.int32)
    flags |= torch.tensor([1, 2, 4, 8, 16], dtype=torch.int32)
    flags &= ~torch.tensor(2, dtype=torch.int32)
    log(flags, flags.bitwise_count() if hasattr(flags, "bitwise_count") else None)


@program()
def integer_arithmetic_edge_cases(torch, log):
    a = torch.tensor([7, -7, 7, -7, 0], dtype=torch.int32)
    b = torch.tensor([2, 2, -2, -2, 3], dtype=torch.int32)
    log(a // b, a % b, torch.fmod(a, b), torch.remainder(a, b), a / b)
    log(torch.div(a, b, rounding_mode="trunc"), torch.div(a, b, rounding_mode="floor"))
    log(_raises(lambda: a // torch.zeros(5, dtype=torch.int32)))
    log(_raises(lambda: torch.remainder(a, 0)))
    i8 = torch.tensor([100, -100, 127], dtype=torch.int8)
    log(i8 + i8, i8 * 2, i8.abs(), -i8, i8.sum(), i8.sum().dtype, i8.cumsum(0).dtype)
    log(torch.tensor([2 ** 62]) * 4, torch.tensor([-2 ** 63]).abs(), torch.tensor([-2 ** 63]) // -1)
    log(torch.tensor([5], dtype=torch.int16).pow(7), torch.tensor([3]) ** 40)
    log(_raises(lambda: torch.tensor([2]) ** -1))
    log(torch.tensor([2]) ** torch.tensor([0]), 2 ** torch.tensor([3, 62]))
    log(torch.tensor([1, 2, 3]).float_power(2), torch.tensor([9, 10]).sqrt())
    log(torch.tensor([7, 8]).true_divide(2), torch.tensor([7]).mean(dtype=torch.float64))
    log(_raises(lambda: torch.tensor([7, 8]).mean()))
    log(torch.gcd(torch.tensor([12, -18, 0]), torch.tensor([8, 12, 0])),
        torch.lcm(torch.tensor([4, -6, 0]), torch.tensor([6, 4, 5])))


@program()
def promotion_with_zero_dim_tensors_and_python_scalars(torch, log):
    i8 = torch.tensor([1, 2], dtype=torch.int8)
    u8 = torch.tensor([1, 2], dtype=torch.uint8)
    f16 = torch.tensor([1, 2], dtype=torch.float16)
    f64_0d = torch.tensor(1.5, dtype=torch.float64)
    i64_0d = torch.tensor(3)
    c_0d = torch.tensor(1j)
    cases = [i8 + 1, i8 + 1.5, i8 + True, i8 + i64_0d, i8 + f64_0d, u8 + i8, u8 - 300,
             f16 + f64_0d, f16 + 1e10, f16 * i64_0d, u8 + c_0d, f16.double() + c_0d, i8 * 1j,
             torch.tensor(True) + torch.tensor(True), torch.tensor([True]) + 1,
             torch.tensor(2.5) + torch.tensor([1, 2]), torch.tensor(2) * torch.tensor(1.5),
             torch.tensor([1.0], dtype=torch.bfloat16) + f16, i8 + u8[0],
             torch.tensor(1, dtype=torch.int16) + torch.tensor([1], dtype=torch.int8)]
    log([(str(c.dtype), c.tolist()) for c in cases])
    log(torch.result_type(i8, 2.0), torch.result_type(f64_0d, f16), torch.result_type(3, 4.0),
        torch.promote_types(torch.uint8, torch.int8), torch.promote_types(torch.bool, torch.int16),
        torch.can_cast(torch.float32, torch.int32), torch.can_cast(torch.int8, torch.uint8))
    x = torch.tensor([1, 2], dtype=torch.int32)
    log(_raises(lambda: x.add_(1.5)))
    log(_raises(lambda: x.mul_(f64_0d)))
    y = torch.tensor([1.0, 2.0], dtype=torch.float16)
    y.add_(f64_0d)
    log(y, torch.where(x > 1, x, 2.5).dtype, torch.where(x > 1, 1, 2.5).dtype)
    log(torch.clamp(x, 0.5, 1.5).dtype, torch.full((2,), 3).dtype, torch.full((2,), True).dtype)


@program()
def integer_tensors_in_reductions_and_indexing(torch, log):
    x = torch.tensor([[3, 1, 4], [1, 5, 9]], dtype=torch.int16)
    log(x.sum(), x.prod(1), x.cumprod(1), x.max(), x.argmax(), x.float().mean(1), x.median())
    log(x.sort(1), x.topk(2), x.kthvalue(2, 1), x.mode(1))
    log(x.std(1) if x.is_floating_point() else _raises(lambda: x.std(1)))
    log(x.T.contiguous(), x.flip(0), x.roll(1, 1), x.clamp(2, 5), x.clamp(max=3))
    idx = torch.tensor([1, 0], dtype=torch.int32)
    log(x[idx], x[x > 2], _raises(lambda: x[:, torch.tensor([2, 2], dtype=torch.int16)]))
    log(_raises(lambda: x[torch.tensor([1.0])]))
    log(_raises(lambda: x.index_select(0, torch.tensor([0], dtype=torch.int16))))
    log(torch.gather(x, 1, torch.tensor([[0], [2]])), x.unique(return_counts=True))
    log(x.to(torch.uint8), torch.tensor([-1, 256, 300]).to(torch.uint8),
        torch.tensor([1e10, -1e10]).to(torch.int32).dtype)


@program(xfail="ember has no complex32 tensors: a float16 tensor with a complex scalar or 0-d "
                "tensor is complex64 there (torch: ComplexHalf, and its experimental warning)")
def half_tensor_with_a_complex_scalar_is_complex_half(torch, log):
    f16 = torch.tensor([1.0, 2.0], dtype=torch.float16)
    log((f16 + torch.tensor(1j)).dtype, (f16 * 1j).dtype, torch.result_type(f16, 1j))


# Complex numbers


@program()
def complex_arithmetic_and_views(torch, log):
    z = torch.tensor([1 + 2j, -3 + 0.5j, 0j, 2 - 1j])
    w = torch.complex(torch.tensor([0.5, 1.0, 2.0, -1.0]), torch.tensor([1.0, 0.0, -1.0, 3.0]))
    log(z.dtype, w.dtype, z + w, z * w, z / w, z.conj(), z.abs(), z.angle())
    log(z.real, z.imag, torch.view_as_real(z), torch.view_as_complex(torch.randn(3, 2)))
    log(z.conj().is_conj(), z.conj().resolve_conj().is_conj(), torch.conj_physical(z))
    log(z ** 2, z.pow(0.5), z.exp(), z.sqrt(), z.log(), w.reciprocal(), z.sgn())
    log(torch.polar(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 3.14159265])),
        z.to(torch.complex128).dtype, (z * 2.5).dtype,
        (z + torch.tensor(1, dtype=torch.int64)).dtype)
    log(_raises(lambda: z < w))
    log(_raises(lambda: z.max()))
    log(z.sum(), z.mean(), z.prod(), (z == w), z.isclose(w), z.isreal(), z.isfinite())
    log(torch.tensor([1 + 1j], dtype=torch.complex64).to(torch.float32) if False else None)
    m = torch.randn(3, 3, dtype=torch.complex64)
    log((m @ m.mH).dtype, (m @ m.mH).diagonal().imag.abs().max() < 1e-5)
    log(torch.randn(2, dtype=torch.cfloat).shape, torch.zeros(2, dtype=torch.cdouble).dtype)


@program()
def complex_casts_and_warnings(torch, log):
    z = torch.tensor([1.5 + 2j, -3.5 - 1j])
    log(z.real.dtype, z.to(torch.float64), z.float() if False else None)
    r = torch.zeros(2)
    r.copy_(z)
    log(r)
    log(z.type(torch.int32) if False else _raises(lambda: int(z[0])))
    log(complex(z[0]), float(z[0].real), z[0].item(), z.tolist())
    log(torch.tensor(3 + 4j).abs(), torch.tensor([1j]) * torch.tensor([True]))
    log(torch.isreal(torch.tensor([1 + 0j, 1j])), torch.real(torch.tensor([1.0, 2.0])))
    log(_raises(lambda: torch.imag(torch.tensor([1.0]))))


# Linear algebra


@program(tol=_TRAIN)
def linalg_solve_lstsq_and_pinv(torch, log):
    A = torch.randn(4, 4, dtype=torch.float64) + 4 * torch.eye(4, dtype=torch.float64)
    B = torch.randn(4, 2, dtype=torch.float64)
    X = torch.linalg.solve(A, B)
    log(X, torch.allclose(A @ X, B))
    log(torch.linalg.solve(A, B[:, 0]), torch.linalg.solve(A, B.T, left=False).shape)
    M = torch.randn(6, 3, dtype=torch.float64)
    y = torch.randn(6, 2, dtype=torch.float64)
    r = torch.linalg.lstsq(M, y)
    log(r.solution, r.rank, r.residuals.shape, r.singular_values.shape, type(r).__name__)
    log(torch.linalg.lstsq(M, y, driver="gelsd").solution, torch.linalg.lstsq(M, y,
                                                                           driver="gelsd").rank)
    log(torch.linalg.pinv(M), torch.linalg.pinv(M @ M.T, hermitian=True).shape)
    log(torch.linalg.pinv(M, rtol=0.5).shape, torch.linalg.matrix_rank(M @ M.T))
    log(_raises(lambda: torch.linalg.solve(torch.zeros(3, 3), torch.ones(3))))
    log(_raises(lambda: torch.linalg.solve(A, torch.ones(3))))
    log(torch.linalg.solve_ex(A, B).info, torch.linalg.inv_ex(torch.zeros(2, 2)).info)
    log(torch.linalg.cholesky_ex(-torch.eye(2)).info)


@program(tol=_TRAIN)
def linalg_decompositions_eigh_svd_qr(torch, log):
    a = torch.randn(5, 5, dtype=torch.float64)
    S = a @ a.T
    L, Q = torch.linalg.eigh(S)
    log(L, torch.allclose(Q @ torch.diag(L) @ Q.T, S), torch.linalg.eigvalsh(S, UPLO="U"))
    U, s, Vh = torch.linalg.svd(a[:, :3], full_matrices=False)
    log(s, U.shape, Vh.shape, torch.allclose(U @ torch.diag(s) @ Vh, a[:, :3]))
    log(torch.linalg.svd(a[:, :3]).U.shape, torch.linalg.svdvals(a))
    Qr, R = torch.linalg.qr(a[:, :3])
    log(Qr.shape, R.shape, torch.allclose(Qr @ R, a[:, :3]))
    log(torch.linalg.qr(a[:, :3], mode="complete").Q.shape, torch.linalg.qr(a, mode="r").Q)
    ev = torch.linalg.eigvals(a)
    log(ev.dtype, ev.abs().sort().values)
    Lc = torch.linalg.cholesky(S + torch.eye(5, dtype=torch.float64))
    log(Lc, torch.linalg.cholesky(S + torch.eye(5, dtype=torch.float64), upper=True).triu().sum())
    LU, piv = torch.linalg.lu_factor(a)
    log(piv, torch.allclose(torch.linalg.lu_solve(LU, piv, a), torch.eye(5, dtype=a.dtype)))
    P, Lm, Um = torch.linalg.lu(a)
    log(P, torch.allclose(P @ Lm @ Um, a))
    log(torch.linalg.slogdet(a), torch.linalg.det(a), torch.logdet(S))


@program(tol=_TRAIN)
def linalg_norms_and_matrix_functions(torch, log):
    a = torch.arange(12.0).reshape(3, 4) - 5
    v = a.flatten()
    for o in [None, 0, 1, -1, 2, float("inf"), -float("inf"), 3.5]:
        log(o, torch.linalg.vector_norm(v, ord=0 if o is None else o), torch.linalg.norm(v, o))
    for o in ["fro", "nuc", 1, -1, 2, -2, float("inf"), -float("inf")]:
        log(o, torch.linalg.matrix_norm(a, ord=o), torch.linalg.norm(a, o))
    log(torch.linalg.norm(a, dim=1), torch.linalg.vector_norm(a, 2, dim=(0, 1), keepdim=True))
    log(torch.linalg.vector_norm(a.int().float(), dtype=torch.float64).dtype)
    log(_raises(lambda: torch.linalg.vector_norm(a.int())))
    log(_raises(lambda: torch.linalg.norm(a, 3)))
    m = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    log(torch.linalg.matrix_exp(m), torch.linalg.matrix_exp(torch.zeros(2, 2, 2)))
    log(torch.linalg.matrix_power(a[:, :3], 3), torch.linalg.matrix_power(m, -2),
        torch.linalg.matrix_power(m, 0))
    log(_raises(lambda: torch.linalg.cross(torch.eye(3), torch.ones(3))))
    log(torch.linalg.cond(m), torch.linalg.cross(torch.eye(3), torch.ones(1, 3)),
        torch.linalg.multi_dot([a, a.T, a]), torch.linalg.vecdot(v, v))
    log(torch.linalg.diagonal(a, offset=1), torch.linalg.householder_product(
        torch.randn(3, 2), torch.randn(2)).shape)
    log(torch.linalg.vander(torch.tensor([1.0, 2.0, 3.0]), N=4))


@program(tol=_TRAIN)
def linalg_batched_and_gradients(torch, log):
    A = torch.randn(3, 4, 4, dtype=torch.float64) + 3 * torch.eye(4, dtype=torch.float64)
    A.requires_grad_()
    b = torch.randn(3, 4, dtype=torch.float64)
    x = torch.linalg.solve(A, b)
    x.sum().backward()
    log(x, A.grad[0])
    S = torch.randn(4, 4, dtype=torch.float64)
    S = (S + S.T).requires_grad_()
    torch.linalg.eigvalsh(S).sum().backward()
    log(S.grad)
    M = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    torch.linalg.svdvals(M).sum().backward()
    log(M.grad)
    D = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
    torch.linalg.det(D).backward()
    log(D.grad)
    E = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    torch.linalg.matrix_exp(E).sum().backward()
    log(E.grad)
    log(torch.linalg.inv(A.detach()).shape, torch.cholesky_solve(
        torch.ones(4, 1, dtype=torch.float64),
        torch.linalg.cholesky(A.detach()[0] @ A.detach()[0].T)).shape)


# FFT


@program(tol=_TRAIN)
def fft_real_and_complex_transforms(torch, log):
    x = torch.randn(8)
    log(torch.fft.fft(x), torch.fft.rfft(x), torch.fft.ifft(torch.fft.fft(x)).real)
    log(torch.fft.irfft(torch.fft.rfft(x), n=8), torch.fft.irfft(torch.fft.rfft(x)).shape)
    log(torch.fft.fft(x, n=12).shape, torch.fft.fft(x, n=4), torch.fft.rfft(x, norm="ortho"))
    log(torch.fft.fftfreq(8), torch.fft.rfftfreq(8, d=0.5), torch.fft.fftshift(torch.arange(8)))
    log(torch.fft.ifftshift(torch.arange(7)), torch.fft.fftfreq(5, dtype=torch.float64))
    img = torch.randn(2, 4, 6)
    log(torch.fft.fft2(img).shape, torch.fft.rfft2(img)[0, 0],
        torch.fft.fftn(img, dim=(0, 2)).shape)
    log(torch.fft.irfftn(torch.fft.rfftn(img), s=img.shape[-2:]).shape)
    log(torch.fft.hfft(torch.fft.ifft(x)[:5], n=8), torch.fft.ihfft(x))
    log(torch.fft.fft(x.double()).dtype, torch.fft.fft(torch.arange(4)).dtype)
    log(_raises(lambda: torch.fft.fft(x, norm="bogus")))
    log(_raises(lambda: torch.fft.rfft(torch.randn(4, dtype=torch.complex64))))
    x.requires_grad_()
    torch.fft.rfft(x).abs().sum().backward()
    log(x.grad)


# Histograms and searches


@program()
def histc_bincount_bucketize_searchsorted(torch, log):
    x = torch.tensor([0.5, 1.0, 1.5, 2.0, 2.5, 10.0, -1.0])
    log(torch.histc(x, bins=4, min=0, max=3), torch.histc(x, bins=3))
    log(torch.histc(torch.tensor([1.0, 1.0]), bins=2), torch.histc(x.double(), 5).dtype)
    log(_raises(lambda: torch.histc(x.int(), 3)))
    log(torch.bincount(torch.tensor([0, 2, 2, 5])),
        torch.bincount(torch.tensor([1, 1]), minlength=4))
    log(torch.bincount(torch.tensor([0, 1, 1]), weights=torch.tensor([0.5, 1.0, 2.0])))
    log(torch.bincount(torch.tensor([], dtype=torch.int64)))
    log(_raises(lambda: torch.bincount(torch.tensor([-1, 2]))))
    bounds = torch.tensor([1.0, 2.0, 3.0])
    v = torch.tensor([[0.5, 1.0, 2.5], [3.0, 3.5, 2.0]])
    log(torch.bucketize(v, bounds), torch.bucketize(v, bounds, right=True),
        torch.bucketize(v, bounds, out_int32=True).dtype)
    s = torch.tensor([[1, 3, 5, 7], [2, 4, 6, 8]])
    q = torch.tensor([[3, 6], [1, 9]])
    log(torch.searchsorted(s, q), torch.searchsorted(s, q, side="right"),
        torch.searchsorted(s[0], 5), torch.searchsorted(s[0], torch.tensor(4)))
    unsorted = torch.tensor([5, 1, 3])
    log(torch.searchsorted(unsorted, torch.tensor([2, 4]), sorter=unsorted.argsort()))
    log(_raises(lambda: torch.searchsorted(s, torch.tensor([1, 2, 3]))))
    h = torch.histogram(x, bins=3, range=(0.0, 3.0))
    log(h.hist, h.bin_edges, torch.histogram(x, torch.tensor([0.0, 1.0, 5.0]), density=True))
    log(torch.histogramdd(torch.rand(10, 2), bins=[2, 3]).hist.sum())


# Printing


@program()
def printing_odd_shapes_and_dtypes(torch, log):
    print(torch.empty(0, 3), torch.empty(2, 0, 1), torch.zeros(1, 1, 1, 1))
    print(torch.tensor([1e-8, 1.0, 1e8]), torch.tensor([123456789.0, 1.5]))
    print(torch.tensor([2 ** 40, -3]), torch.tensor([True, False]), torch.tensor(True))
    print(torch.tensor([1 + 2j, -0.5j]), torch.tensor([1e-5 + 1e5j]))
    print(torch.tensor([float("nan"), float("inf"), -float("inf"), 0.0]))
    print(torch.arange(2000).reshape(2, 1000))
    print(torch.tensor([[1.0, 2.0]], dtype=torch.float16),
          torch.tensor([1.25], dtype=torch.bfloat16))
    print(torch.tensor([-0.0, 0.0]), torch.tensor([1.0e-3, 1.0e-4]), torch.tensor([100.0, 0.001]))
    print(torch.tensor(3.5, dtype=torch.float64), torch.tensor([7], dtype=torch.uint8))
    print(torch.ones(2, 3, requires_grad=True) * 2)
    print(torch.randn(3, 2, 2, 2) * 1000)
    print(repr(torch.tensor([], dtype=torch.int32)), repr(torch.zeros(0, dtype=torch.complex64)))
    print(torch.tensor([0.1, 0.25], dtype=torch.float64) * 1e-20)


@program()
def set_printoptions_precision_sci_and_linewidth(torch, log):
    x = torch.tensor([1.123456789, 2000.5, 0.000123])
    torch.set_printoptions(precision=2)
    print(x)
    torch.set_printoptions(sci_mode=True)
    print(x, torch.tensor([1.0, 2.0]))
    torch.set_printoptions(sci_mode=False, precision=6)
    print(x, torch.tensor([1e-9, 1e9]))
    torch.set_printoptions(linewidth=30)
    print(torch.arange(20.0))
    torch.set_printoptions(threshold=5, edgeitems=1)
    print(torch.arange(10), torch.arange(24).reshape(4, 6))
    torch.set_printoptions(profile="short")
    print(torch.randn(3, 3))
    torch.set_printoptions(profile="full")
    print(torch.arange(1100)[-3:])
    torch.set_printoptions(profile="default")
    print(x, torch.randn(2, 2, dtype=torch.float64))


# state_dict, save and load


@program()
def load_state_dict_strict_false_results(torch, log):
    nn = torch.nn
    src = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    dst = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 3))
    sd = src.state_dict()
    log(list(sd), type(sd).__name__, sd["1.num_batches_tracked"])
    log(_raises(lambda: dst.load_state_dict(sd)))
    sd2 = {k: v for k, v in sd.items() if not k.startswith("2.")}
    sd2["extra.weight"] = torch.zeros(1)
    res = dst.load_state_dict(sd2, strict=False)
    log(type(res).__name__, res.missing_keys, res.unexpected_keys, str(res))
    log(torch.equal(dst[0].weight, src[0].weight))
    log(_raises(lambda: dst.load_state_dict({"0.weight": torch.zeros(2, 2)}, strict=False)))
    res = dst.load_state_dict(dst.state_dict())
    log(res, repr(res), res == ([], []))
    log(_raises(lambda: dst.load_state_dict({"0.weight": [1, 2]}, strict=False)))
    meta = getattr(sd, "_metadata")
    log(sorted(meta), meta[""], meta["1"])


@program()
def save_load_round_trips_through_bytesio(torch, log):
    nn = torch.nn
    buf = io.BytesIO()
    x = torch.arange(6.0).reshape(2, 3)
    obj = {"x": x, "view": x[:, 1], "same": x, "ints": torch.tensor([1, 2], dtype=torch.int16),
           "list": [torch.tensor(True), 3, "s", (1.5, None)], "half": x.half(),
           "grad": torch.ones(2, requires_grad=True), "size": torch.Size([2, 3]),
           "dtype": torch.float64}
    torch.save(obj, buf)
    buf.seek(0)
    back = torch.load(buf)
    log(sorted(back), back["x"], back["view"], back["same"] is back["x"], back["ints"])
    log(back["list"], back["half"].dtype, back["grad"].requires_grad, back["size"],
        back["dtype"])
    back["x"][0, 1] = 100
    log(back["view"])
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    buf.seek(0)
    sd = torch.load(buf, weights_only=True)
    log(list(sd), torch.equal(sd["0.weight"], m[0].weight))
    buf = io.BytesIO()
    torch.save(x[1], buf)
    buf.seek(0)
    y = torch.load(buf)
    log(y, y.storage_offset(), y.untyped_storage().nbytes())
    try:
        torch.load(io.BytesIO(b"not a checkpoint"))
    except Exception as e:
        log(isinstance(e, pickle.UnpicklingError))


@program()
def state_dict_of_buffers_persistent_and_nested(torch, log):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.register_buffer("running", torch.zeros(2))
            self.register_buffer("scratch", torch.ones(2), persistent=False)
            self.register_buffer("none_buf", None)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([Block(), Block()])
            self.head = nn.ModuleDict({"a": nn.Linear(2, 1)})
            self.scale = nn.Parameter(torch.tensor(2.0))
    n = Net()
    sd = n.state_dict()
    log(list(sd), [k for k, _ in n.named_buffers()])
    log(list(n.state_dict(prefix="model.", keep_vars=True))[:2],
        n.state_dict(keep_vars=True)["scale"].requires_grad, sd["scale"].requires_grad)
    n2 = Net()
    n2.load_state_dict(sd)
    log(torch.equal(n2.blocks[1].lin.weight, n.blocks[1].lin.weight))
    del sd["blocks.0.running"]
    log(_raises(lambda: n2.load_state_dict(sd)))
    log(n2.load_state_dict(sd, strict=False).missing_keys)
    n2.blocks[0].load_state_dict({"lin.weight": torch.eye(2), "lin.bias": torch.zeros(2),
                                  "running": torch.ones(2)})
    log(n2.blocks[0].lin.weight, n2.get_submodule("blocks.0").running,
        n2.get_parameter("head.a.bias").shape, n2.get_buffer("blocks.1.scratch"))


# Hooks


@program(tol=_TRAIN)
def forward_pre_hooks_with_kwargs_and_module_global_hooks(torch, log):
    nn = torch.nn

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x, scale=1.0):
            return self.lin(x) * scale
    m = Scaled()
    calls = []

    def pre(mod, args, kwargs):
        calls.append(("pre", sorted(kwargs)))
        return args, {**kwargs, "scale": 2.0}

    def post(mod, args, kwargs, out):
        calls.append(("post", kwargs.get("scale")))
        return out + 1
    h1 = m.register_forward_pre_hook(pre, with_kwargs=True)
    h2 = m.register_forward_hook(post, with_kwargs=True)
    x = torch.ones(1, 3)
    log(m(x), m(x, scale=5.0))
    h1.remove()
    h2.remove()
    log(m(x, scale=0.0), calls)
    seen = []
    g = nn.modules.module.register_module_forward_hook(
        lambda mod, inp, out: seen.append(type(mod).__name__))
    gp = nn.modules.module.register_module_forward_pre_hook(
        lambda mod, inp: seen.append("pre-" + type(mod).__name__))
    m(x)
    g.remove()
    gp.remove()
    m(x)
    log(seen)
    order = []
    m.register_forward_hook(lambda *a: order.append(1))
    m.register_forward_hook(lambda *a: order.append(0), prepend=True)
    m.register_forward_hook(lambda *a: order.append(2), always_call=True)
    m(x)
    log(order)


@program(tol=_TRAIN)
def full_backward_hooks_and_pre_hooks(torch, log):
    nn = torch.nn
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    rec = []

    def bh(mod, gin, gout):
        rec.append((type(mod).__name__, [None if g is None else tuple(g.shape) for g in gin],
                    [tuple(g.shape) for g in gout]))

    def bph(mod, gout):
        rec.append(("pre", type(mod).__name__))
        return (gout[0] * 2,)
    for layer in net:
        layer.register_full_backward_hook(bh)
    net[2].register_full_backward_pre_hook(bph)
    x = torch.randn(5, 3, requires_grad=True)
    net(x).sum().backward()
    log(rec, x.grad)
    rec.clear()
    g = nn.modules.module.register_module_full_backward_hook(
        lambda m, gi, go: rec.append(("global", type(m).__name__)))
    net(torch.randn(2, 3)).sum().backward()
    g.remove()
    log(rec)
    lin = nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,))
    inp = torch.ones(1, 2, requires_grad=True)
    lin(inp).sum().backward()
    log(inp.grad, lin.weight.grad)


@program()
def tensor_hooks_post_accumulate_and_retain_grad(torch, log):
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.clone()))
    h = w.register_hook(lambda g: g * 10)
    y = w * w
    y.retain_grad()
    y.register_hook(lambda g: seen.append(("y", g)))
    y.sum().backward()
    log(w.grad, y.grad, seen)
    h.remove()
    w.grad = None
    (w * 3).sum().backward()
    log(w.grad, len(seen))
    log(_raises(lambda: torch.ones(2).register_hook(lambda g: g)))
    z = torch.ones(2, requires_grad=True)
    log(_raises(lambda: (z * 2).register_post_accumulate_grad_hook(lambda p: None)))


# Higher-order gradients and checkpointing


@program(tol=_ULP)
def double_backward_with_create_graph(torch, log):
    x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    log(g, g.requires_grad, g.grad_fn is not None)
    (h,) = torch.autograd.grad(g.sum(), x)
    log(h)
    z = torch.sin(x) * x
    gz = torch.autograd.grad(z, x, torch.ones(3), create_graph=True)[0]
    hz = torch.autograd.grad(gz, x, torch.ones(3), create_graph=True)[0]
    log(gz, hz, torch.autograd.grad(hz.sum(), x)[0])
    net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    inp = torch.randn(4, 2, requires_grad=True)
    out = net(inp)
    gi = torch.autograd.grad(out.sum(), inp, create_graph=True)[0]
    penalty = ((gi.norm(2, dim=1) - 1) ** 2).mean()
    penalty.backward()
    log(penalty, net[0].weight.grad)
    log(_raises(lambda: torch.autograd.grad(h.sum(), x)))
    a = torch.tensor(2.0, requires_grad=True)
    b = a ** 2
    ga = torch.autograd.grad(b, a, create_graph=True)[0]
    log(torch.autograd.grad(ga, a, allow_unused=True), torch.autograd.grad(
        b, [a, torch.ones(1, requires_grad=True)], allow_unused=True, retain_graph=True))
    log(torch.autograd.grad(b, [a, torch.ones(1, requires_grad=True)],
                            materialize_grads=True)[1])


@program(tol=_TRAIN)
def checkpoint_sequential_and_reentrant_variants(torch, log):
    nn = torch.nn
    cp = _module(torch, "utils.checkpoint")
    net = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.Tanh()) for _ in range(4)])
    x = torch.randn(3, 4, requires_grad=True)
    ref = net(x).sum()
    ref.backward()
    g_ref = [p.grad.clone() for p in net.parameters()]
    xg_ref = x.grad.clone()
    net.zero_grad()
    x.grad = None
    out = cp.checkpoint_sequential(net, 2, x, use_reentrant=False).sum()
    out.backward()
    log(out, torch.allclose(x.grad, xg_ref),
        all(torch.allclose(p.grad, g) for p, g in zip(net.parameters(), g_ref)))
    net.zero_grad()
    y = cp.checkpoint(net[0], x, use_reentrant=False)
    y = cp.checkpoint(lambda t, s: net[1](t) * s, y, 2.0, use_reentrant=False)
    y.sum().backward()
    log(y.grad_fn is not None, net[1][0].weight.grad.abs().sum() > 0)
    net.zero_grad()
    d = nn.Dropout(0.5)
    z = cp.checkpoint(lambda t: d(net[0](t)), x, use_reentrant=False, preserve_rng_state=True)
    z.sum().backward()
    log(z, net[0][0].weight.grad)
    log(cp.checkpoint(net[0], x.detach(), use_reentrant=False).requires_grad)


# Data loading


@program()
def dataloader_samplers_batch_sampler_and_collate(torch, log):
    data = _module(torch, "utils.data")
    ds = data.TensorDataset(torch.arange(10.0), torch.arange(10) % 3)
    g = torch.Generator().manual_seed(7)
    dl = data.DataLoader(ds, batch_size=3, shuffle=True, drop_last=True, generator=g)
    log(len(dl), [b[1].tolist() for b in dl])
    w = torch.tensor([0.1, 0.1, 5.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 3.0])
    ws = data.WeightedRandomSampler(w, num_samples=8, replacement=True,
                                    generator=torch.Generator().manual_seed(1))
    log(list(ws), len(ws))
    bs = data.BatchSampler(data.SequentialSampler(range(7)), batch_size=3, drop_last=False)
    log(list(bs), len(bs))
    dl2 = data.DataLoader(ds, batch_sampler=bs, collate_fn=lambda items: [i[0].item()
                                                                           for i in items])
    log(list(dl2))
    rs = data.RandomSampler(ds, replacement=False, num_samples=4,
                            generator=torch.Generator().manual_seed(3))
    log(list(rs))
    srs = data.SubsetRandomSampler([1, 4, 6], generator=torch.Generator().manual_seed(0))
    log(list(srs))
    dl3 = data.DataLoader(ds, batch_size=4, sampler=srs)
    log([b[0] for b in dl3])
    log(_raises(lambda: data.DataLoader(ds, batch_size=2, shuffle=True, sampler=srs)))
    log(_raises(lambda: data.DataLoader(ds, batch_sampler=bs, batch_size=2)))


@program()
def dataloader_with_dict_dataset_and_default_collate(torch, log):
    data = _module(torch, "utils.data")

    class Items(data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"id": i, "x": torch.full((2,), float(i)), "name": f"n{i}",
                    "pair": (i, i * 0.5), "mask": i % 2 == 0}
    dl = data.DataLoader(Items(), batch_size=2)
    for b in dl:
        log(b)
    dl = data.DataLoader(Items(), batch_size=None)
    log(next(iter(dl)))
    from_np = data.default_collate([torch.tensor(1), torch.tensor(2)])
    log(from_np, data.default_convert([1, (2.0, "a")]))
    log(_raises(lambda: data.default_collate([{"a": 1}, {"b": 2}])))
    log(_raises(lambda: data.default_collate([torch.zeros(2), torch.zeros(3)])))
    stacked = data.DataLoader(list(range(7)), batch_size=3, drop_last=False)
    log(list(stacked), len(stacked))


@program()
def generators_forked_and_state_round_trip(torch, log):
    g = torch.Generator().manual_seed(123)
    a = torch.rand(3, generator=g)
    st = g.get_state()
    b = torch.randn(2, generator=g)
    g.set_state(st)
    log(a, b, torch.equal(torch.randn(2, generator=g), b), g.initial_seed())
    g2 = torch.Generator()
    g2.set_state(g.get_state())
    log(torch.randint(0, 100, (4,), generator=g2), torch.randint(0, 100, (4,), generator=g))
    log(torch.randperm(6, generator=torch.Generator().manual_seed(5)),
        torch.multinomial(torch.tensor([0.2, 0.5, 0.3]), 4, replacement=True,
                          generator=torch.Generator().manual_seed(9)))
    torch.manual_seed(42)
    s = torch.get_rng_state()
    u = torch.rand(2)
    torch.set_rng_state(s)
    log(torch.equal(torch.rand(2), u), torch.initial_seed())
    with torch.random.fork_rng():
        torch.manual_seed(0)
        inner = torch.rand(1)
    log(inner, torch.rand(1))
    e = torch.empty(4).uniform_(-1, 1, generator=torch.Generator().manual_seed(2))
    log(e, torch.empty(3).normal_(generator=torch.Generator().manual_seed(2)),
        torch.empty(3).exponential_(generator=torch.Generator().manual_seed(2)))
    log(torch.bernoulli(torch.full((5,), 0.5), generator=torch.Generator().manual_seed(4)))
    log(_raises(lambda: torch.Generator().manual_seed(-1)), g.device)


# The errors users hit


@program()
def matmul_cat_view_shape_errors(torch, log):
    a, b = torch.ones(2, 3), torch.ones(4, 5)
    log(_raises(lambda: a @ b))
    log(_raises(lambda: torch.mm(a, torch.ones(2, 3))))
    log(_raises(lambda: torch.bmm(a, a)))
    log(_raises(lambda: torch.matmul(torch.ones(3), torch.ones(4))))
    log(_raises(lambda: torch.ones(2, 2, 3) @ torch.ones(3, 2, 4)))
    log(_raises(lambda: torch.cat([a, b])))
    log(_raises(lambda: torch.cat([a, torch.ones(3)])))
    log(_raises(lambda: torch.stack([a, a.T])))
    log(_raises(lambda: a.view(4)))
    log(_raises(lambda: a.T.view(6)))
    log(_raises(lambda: a.reshape(-1, -1)))
    log(_raises(lambda: a.view(-1, 4)))
    log(_raises(lambda: a.expand(3, 3)))
    log(_raises(lambda: a + torch.ones(3, 2)))
    log(_raises(lambda: torch.nn.Linear(4, 2)(a)))
    log(_raises(lambda: torch.nn.Conv2d(3, 4, 3)(torch.ones(1, 2, 5, 5))))
    log(_raises(lambda: torch.nn.functional.linear(a, torch.ones(2, 2))))
    log(_raises(lambda: a.permute(0)))
    log(_raises(lambda: a.squeeze(2)))
    log(_raises(lambda: a.transpose(0, 2)))


@program()
def autograd_errors_users_hit(torch, log):
    w = torch.ones(3, requires_grad=True)
    log(_raises(lambda: w.add_(1)))
    log(_raises(lambda: w.zero_()))
    y = (w * 2).sum()
    y.backward()
    log(_raises(lambda: y.backward()))
    z = w.exp()
    s = z.sum()
    z.add_(1)
    log(_raises(lambda: s.backward()))
    log(_raises(lambda: (w * 2).backward()))
    log(_raises(lambda: torch.ones(2).sum().backward()))
    log(_raises(lambda: torch.autograd.grad((w * 2).sum(), torch.ones(3, requires_grad=True))))
    log(_raises(lambda: w.numpy()))
    log(_raises(lambda: torch.ones(2, dtype=torch.int64, requires_grad=True)))
    v = w[:2]
    with torch.no_grad():
        v.mul_(2)
    log(w, v.requires_grad)
    log(_raises(lambda: w.detach().requires_grad_().view(3)[0].__setitem__(..., 0) if False
                else w.view(3).mul_(2)))
    log(_raises(lambda: (w ** 2).sum().backward(torch.ones(2))))


@program()
def index_dtype_and_device_errors(torch, log):
    x = torch.arange(6.0)
    log(_raises(lambda: x[torch.tensor([1.0, 2.0])]))
    log(_raises(lambda: x[torch.tensor([True, False])]))
    log(_raises(lambda: x[torch.tensor([6])]))
    log(_raises(lambda: x.index_select(0, torch.tensor([1.0]))))
    log(_raises(lambda: x.gather(0, torch.tensor([1], dtype=torch.int32))))
    log(_raises(lambda: x.scatter_(0, torch.tensor([1]), torch.tensor([1], dtype=torch.int64))))
    log(_raises(lambda: torch.nn.Embedding(5, 2)(torch.tensor([1.0]))))
    log(_raises(lambda: torch.nn.Embedding(5, 2)(torch.tensor([5]))))
    log(_raises(lambda: torch.nn.functional.one_hot(torch.tensor([1.0]))))
    log(_raises(lambda: torch.nn.functional.one_hot(torch.tensor([3]), 2)))
    log(_raises(lambda: torch.ones(2, device="meta") + torch.ones(2)))
    log(_raises(lambda: torch.device("gpu")))
    log(_raises(lambda: x.masked_fill(torch.tensor([1, 0, 0, 0, 0, 0]), 0.0)))
    log(_raises(lambda: torch.where(x > 2, x, torch.ones(6, dtype=torch.int64) * 2)))
    log(_raises(lambda: x.long().mean()))
    log(_raises(lambda: torch.zeros(2, 2).index_put_((torch.tensor([0]),), torch.ones(3))))


# More training loops


@program(tol=_TRAIN)
def nadam_with_plateau_scheduler_and_early_stop(torch, log):
    model, x, y = _regression(torch)
    opt = torch.optim.NAdam(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    best, bad = float("inf"), 0
    for epoch in range(12):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        val = loss.item()
        sched.step(val)
        if val < best - 1e-3:
            best, bad = val, 0
        else:
            bad += 1
        log(epoch, round(val, 5), opt.param_groups[0]["lr"], sched.num_bad_epochs)
        if bad > 2:
            break


@program(tol=_TRAIN)
def radam_with_warmup_lambda_and_grad_clipping(torch, log):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(6, 12), nn.SiLU(), nn.LayerNorm(12), nn.Linear(12, 3))
    opt = torch.optim.RAdam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 4))
    x, t = torch.randn(20, 6), torch.randint(0, 3, (20,))
    for step in range(8):
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x), t)
        loss.backward()
        n = nn.utils.clip_grad_norm_(model.parameters(), 0.5, error_if_nonfinite=True)
        opt.step()
        sched.step()
        log(step, loss, n, sched.get_last_lr())
    log(model[2].weight[:4], opt.state[model[0].weight]["step"])


@program(tol=_TRAIN)
def per_parameter_group_optimizers_and_weight_decay_exclusion(torch, log):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim == 1 else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0, "lr": 3e-3}], lr=1e-2)
    log([len(g["params"]) for g in opt.param_groups], [g["lr"] for g in opt.param_groups])
    x, t = torch.randn(10, 4), torch.randint(0, 2, (10,))
    for _ in range(3):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), t)
        loss.backward()
        opt.step()
    log(loss, model[1].weight, model[3].bias)
    log(_raises(lambda: torch.optim.AdamW([{"params": decay}, {"params": decay}])))
    log(repr(opt).splitlines()[:6])


@program(tol=_TRAIN)
def sgd_dampening_nesterov_and_maximize(torch, log):
    for kw in [dict(momentum=0.9, dampening=0.5), dict(momentum=0.9, nesterov=True),
               dict(momentum=0.5, weight_decay=0.1, maximize=True), dict()]:
        torch.manual_seed(0)
        p = torch.nn.Parameter(torch.randn(3))
        opt = torch.optim.SGD([p], lr=0.1, **kw)
        for _ in range(4):
            opt.zero_grad()
            (p ** 2).sum().backward()
            opt.step()
        log(kw, p, opt.state[p].get("momentum_buffer"))
    log(_raises(lambda: torch.optim.SGD([p], lr=0.1, nesterov=True)))
    log(_raises(lambda: torch.optim.SGD([p], lr=-1)))


@program(tol=_TRAIN)
def swa_averaged_model_with_swalr(torch, log):
    nn = torch.nn
    swa = _module(torch, "optim.swa_utils")
    model, x, y = _regression(torch)
    avg = swa.AveragedModel(model)
    ema = swa.AveragedModel(model, multi_avg_fn=swa.get_ema_multi_avg_fn(0.9))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = swa.SWALR(opt, swa_lr=0.05, anneal_epochs=3, anneal_strategy="cos")
    for epoch in range(5):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        avg.update_parameters(model)
        ema.update_parameters(model)
        sched.step()
        log(epoch, opt.param_groups[0]["lr"])
    log(avg.n_averaged, avg.module[0].bias, ema.module[0].bias)
    log(avg(x[:2]), sorted(avg.state_dict())[:3])


# More nn modules


@program(tol=_TRAIN)
def lstm_cell_and_gru_cell_unrolled_vs_layer(torch, log):
    nn = torch.nn
    lstm = nn.LSTM(3, 4)
    cell = nn.LSTMCell(3, 4)
    cell.weight_ih.data.copy_(lstm.weight_ih_l0)
    cell.weight_hh.data.copy_(lstm.weight_hh_l0)
    cell.bias_ih.data.copy_(lstm.bias_ih_l0)
    cell.bias_hh.data.copy_(lstm.bias_hh_l0)
    x = torch.randn(5, 2, 3)
    out, (h, c) = lstm(x)
    hc = (torch.zeros(2, 4), torch.zeros(2, 4))
    for t in range(5):
        hc = cell(x[t], hc)
    log(out[-1], torch.allclose(hc[0], h[0], atol=1e-6), torch.allclose(hc[1], c[0], atol=1e-6))
    gc = nn.GRUCell(3, 4, bias=False)
    hh = gc(x[0])
    log(hh, gc(x[0, 0]).shape)
    rc = nn.RNNCell(3, 4, nonlinearity="relu")
    log(rc(x[0], hh))
    log(_raises(lambda: gc(torch.randn(2, 5))))
    log(_raises(lambda: nn.LSTM(3, 4)(torch.randn(5, 2, 3), torch.zeros(1, 2, 4))))


@program(tol=_TRAIN)
def embedding_padding_idx_and_from_pretrained(torch, log):
    nn = torch.nn
    emb = nn.Embedding(6, 3, padding_idx=0)
    log(emb.weight[0])
    idx = torch.tensor([[0, 2, 0], [5, 1, 2]])
    emb(idx).sum().backward()
    log(emb.weight.grad)
    pre = torch.arange(12.0).reshape(4, 3)
    frozen = nn.Embedding.from_pretrained(pre)
    log(frozen.weight.requires_grad, frozen(torch.tensor([3, 1])))
    tun = nn.Embedding.from_pretrained(pre, freeze=False, padding_idx=1, max_norm=5.0)
    log(tun(torch.tensor([2, 1])), tun.weight)
    log(_raises(lambda: nn.Embedding(3, 2, padding_idx=5)))
    bag = nn.EmbeddingBag.from_pretrained(pre, mode="max")
    log(bag(torch.tensor([[0, 1], [2, 3]])))
    log(repr(tun), repr(bag))


@program(tol=_TRAIN)
def normalization_layers_in_train_and_eval(torch, log):
    nn = torch.nn
    x = torch.randn(4, 6, 5)
    for m in [nn.BatchNorm1d(6, momentum=0.3), nn.InstanceNorm1d(6, affine=True,
                                                                  track_running_stats=True),
              nn.GroupNorm(3, 6), nn.LayerNorm([6, 5], elementwise_affine=False),
              nn.LayerNorm(5, bias=False), nn.RMSNorm(5, eps=1e-5)]:
        y_train = m(x)
        m.eval()
        y_eval = m(x)
        log(type(m).__name__, y_train[0, 0], y_eval[1, 2],
            [k for k in m.state_dict()])
    ln = nn.LocalResponseNorm(3)
    log(ln(x)[0, :2])
    bn = nn.BatchNorm2d(2, affine=False, track_running_stats=False)
    log(bn(torch.randn(3, 2, 2, 2))[0, 0], bn.running_mean)
    log(_raises(lambda: nn.BatchNorm1d(6)(torch.randn(1, 6))))
    log(_raises(lambda: nn.GroupNorm(4, 6)))


@program(tol=_ULP)
def activation_modules_with_parameters(torch, log):
    nn = torch.nn
    x = torch.linspace(-3, 3, 13)
    mods = [nn.PReLU(), nn.PReLU(num_parameters=1, init=0.1), nn.RReLU(0.1, 0.3),
            nn.Hardtanh(-2, 2), nn.ReLU6(), nn.ELU(alpha=0.5), nn.CELU(1.5), nn.SELU(),
            nn.GLU(0) if False else nn.Softplus(beta=2, threshold=5), nn.Softshrink(0.5),
            nn.Hardshrink(1.0), nn.Tanhshrink(), nn.Threshold(0.5, -1.0), nn.LogSigmoid(),
            nn.Mish(), nn.Hardswish(), nn.Hardsigmoid(), nn.SiLU(), nn.GELU("tanh")]
    for m in mods:
        m.eval()
        log(repr(m), m(x))
    glu = nn.GLU(dim=-1)
    log(glu(torch.arange(8.0).reshape(2, 4)))
    log(_raises(lambda: glu(torch.ones(3))))
    p = nn.PReLU(3)
    log(p(torch.randn(2, 3, 2))[0], _raises(lambda: p(torch.randn(2, 4))))
    log(nn.Softmax2d()(torch.randn(1, 3, 2, 2)).sum(1), nn.Softmin(dim=0)(x[:3]))


@program(tol=_TRAIN)
def bilinear_identity_flatten_unflatten_modules(torch, log):
    nn = torch.nn
    bil = nn.Bilinear(3, 4, 2)
    a, b = torch.randn(5, 3), torch.randn(5, 4)
    log(bil(a, b), repr(bil))
    seq = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (2, 6)), nn.Identity(54, unused=True))
    x = torch.randn(2, 3, 4)
    log(seq(x).shape, nn.Flatten(0, -1)(x).shape, nn.Unflatten(-1, (2, -1))(x).shape)
    log(repr(seq))
    log(_raises(lambda: nn.Unflatten(1, (5, 5))(x)))
    lazy = nn.LazyLinear(3)
    log(repr(lazy), lazy(torch.randn(2, 7)).shape, lazy.weight.shape, type(lazy).__name__)
    up = nn.Upsample(scale_factor=2, mode="nearest")
    log(up(torch.arange(4.0).reshape(1, 1, 2, 2)), repr(up))
    z = nn.ZeroPad2d((1, 0, 0, 2))
    log(z(torch.ones(1, 1, 2, 2)), nn.ConstantPad1d(2, 3.5)(torch.ones(1, 2)),
        nn.ReflectionPad1d(2)(torch.arange(4.0).reshape(1, 1, 4)),
        nn.ReplicationPad2d(1)(torch.arange(4.0).reshape(1, 1, 2, 2)))
    log(nn.CircularPad1d(1)(torch.arange(3.0).reshape(1, 1, 3)))


@program(tol=_TRAIN)
def module_apply_to_and_train_eval_flags(torch, log):
    nn = torch.nn
    net = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.3), nn.BatchNorm1d(3))

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)
            nn.init.zeros_(m.bias)
    net.apply(init)
    log(net[0].weight)
    net.eval()
    log([m.training for m in net.modules()])
    net.train()
    net[1].eval()
    log([m.training for m in net.modules()])
    d = net.double()
    log(d[0].weight.dtype, d[2].running_mean.dtype, d[2].num_batches_tracked.dtype)
    h = net.half()
    log(h[0].weight.dtype)
    net.to(torch.float32)
    log(net[2].running_var.dtype, net.requires_grad_(False)[0].weight.requires_grad)
    net.zero_grad()
    log(net[0].weight.grad, [n for n, _ in net.named_modules()])
    log(sum(p.numel() for p in net.parameters()), len(list(net.buffers())))
    log(list(net.named_children())[1][0], net.extra_repr(), net[0].extra_repr())


# More tensor ops


@program()
def tensor_splitting_and_joining(torch, log):
    x = torch.arange(10).reshape(2, 5)
    log(x.split(2, 1), x.split([1, 4], 1), x.chunk(3, 1), x.tensor_split(3, 1))
    log(x.tensor_split([1, 3], dim=1), torch.tensor_split(x, torch.tensor([2]), 1))
    log(x.unbind(1), torch.hsplit(x, [2]), torch.vsplit(x, 2), torch.dsplit(x[None], [1]))
    log(torch.hstack([x, x]).shape, torch.vstack([x[0], x[1]]), torch.dstack([x, x]).shape,
        torch.column_stack([x[0], x[1]]), torch.row_stack([x[0], x[1]]).shape)
    log(torch.cat([x, torch.empty(0)]) if False else torch.cat([x, x], -1).shape,
        torch.concat([x, x]).shape, torch.concatenate([x, x], axis=1).shape)
    log(torch.stack([x, x], dim=-1).shape, torch.atleast_3d(torch.tensor(1)).shape,
        torch.atleast_2d(torch.ones(3)).shape)
    log(_raises(lambda: x.chunk(0)), _raises(lambda: x.split(0)))
    log(x.movedim(0, 1).shape, x.swapaxes(0, 1).shape, x.unflatten(1, (5, 1)).shape)
    log(torch.cat([torch.tensor([1, 2]), torch.tensor([], dtype=torch.float32)]))


@program()
def sorting_and_selecting_with_dims(torch, log):
    x = torch.tensor([[3.0, 1.0, 2.0, 1.0], [0.0, -1.0, 5.0, 5.0]])
    log(x.sort(dim=1, descending=True), x.argsort(dim=0), x.msort())
    log(x.topk(2, dim=1, largest=False), x.kthvalue(3, dim=1, keepdim=True))
    log(x.max(dim=1), x.min(dim=0, keepdim=True), x.amax(dim=(0, 1)), x.argmin(1))
    log(x.median(dim=1), x.nanmedian(), x.mode(dim=1), torch.cummax(x, 1), torch.cummin(x, 1))
    log(x.sort(stable=True, dim=1).indices, torch.unique(x, dim=1), torch.unique(x, sorted=False)
        .sort().values)
    log(torch.take_along_dim(x, x.argsort(1), 1), torch.take(x, torch.tensor([0, 7])))
    log(x.diff(dim=1), x.diff(n=2, dim=1, prepend=torch.zeros(2, 1)), x.flatten().count_nonzero())
    log(_raises(lambda: x.topk(5, dim=1)))
    log(_raises(lambda: x.kthvalue(0)))


@program()
def where_masked_and_nonzero_variants(torch, log):
    x = torch.tensor([[1.0, -2.0, 0.0], [4.0, -5.0, 6.0]])
    log(torch.where(x > 0), torch.nonzero(x), torch.nonzero(x, as_tuple=True), x.argwhere())
    log(x.masked_select(x < 0), x.masked_fill(x == 0, float("nan")),
        x.masked_scatter(x > 0, torch.tensor([10.0, 20.0, 30.0])))
    log(torch.where(x > 0, x, torch.zeros(1)), torch.where(x > 0, 1.0, 0.0),
        torch.where(x > 0, x, -1).dtype)
    m = x.clone()
    m[m < 0] = 0
    log(m, x.clamp(min=0).equal(m), x.relu().equal(m))
    log(torch.count_nonzero(x, dim=0), (x != 0).sum(1), x.any(1), x.all(0), x.bool().all())
    log(_raises(lambda: x.masked_fill(x, 0)))
    log(_raises(lambda: x.masked_select(torch.tensor([True, False]))))
    log(x.nonzero().shape, torch.empty(0, 2).nonzero().shape, torch.tensor(0).nonzero())


@program()
def cumulative_and_windowed_ops(torch, log):
    x = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    log(x.cumsum(0), x.cumprod(0), x.logcumsumexp(0) if False else None, x.unfold(0, 3, 2))
    log(x.unfold(0, 2, 1).mean(1), x.reshape(2, 3).cumsum(1), torch.cumsum(x, 0, dtype=torch.int32))
    log(torch.cumulative_trapezoid(x), torch.trapezoid(x, dx=0.5), torch.trapz(x, x * 2))
    log(torch.diff(x), torch.diff(x, append=torch.tensor([0.0])))
    kernel = torch.ones(3) / 3
    conv = torch.nn.functional.conv1d(x.view(1, 1, -1), kernel.view(1, 1, -1), padding=1)
    log(conv)
    log(torch.vander(torch.tensor([1, 2, 3])), torch.tril_indices(3, 3),
        torch.triu_indices(2, 3, 1))
    log(torch.cartesian_prod(torch.tensor([1, 2]), torch.tensor([3, 4])),
        torch.combinations(torch.tensor([1, 2, 3]), r=2, with_replacement=True))


@program()
def repeat_expand_tile_and_broadcasting(torch, log):
    x = torch.tensor([[1, 2], [3, 4]])
    log(x.repeat(2, 1), x.repeat(1, 2, 1).shape, x.repeat_interleave(2), x.repeat_interleave(
        torch.tensor([1, 2]), dim=0), x.tile((2,)), x.tile(2, 1, 1).shape)
    log(x[:, None].expand(2, 3, 2), x.expand_as(torch.empty(3, 2, 2)).shape)
    log(torch.broadcast_tensors(x, torch.tensor([10, 20]))[1], torch.broadcast_to(x[0], (3, 2)))
    log(torch.broadcast_shapes((2, 1), (1, 3), (3,)), x.expand(-1, 2).shape)
    log(_raises(lambda: x.repeat(2)))
    log(_raises(lambda: x.expand(2)))
    log(_raises(lambda: torch.broadcast_shapes((2, 3), (3, 2))))
    log(torch.repeat_interleave(torch.tensor([2, 0, 1])), x.flip(1), x.fliplr(), x.rot90(1, (0, 1)))


@program()
def scatter_reduce_and_index_ops_on_graphs(torch, log):
    src = torch.tensor([0, 1, 1, 2, 2, 2])
    val = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    for red in ["sum", "prod", "mean", "amax", "amin"]:
        out = torch.zeros(4).scatter_reduce(0, src, val, reduce=red, include_self=False)
        out2 = torch.ones(4).scatter_reduce(0, src, val, reduce=red)
        log(red, out, out2)
    log(torch.zeros(4).index_add(0, src, val, alpha=2), torch.zeros(4).scatter_add(0, src, val))
    log(torch.zeros(3, 2).index_copy(0, torch.tensor([2, 0]), torch.ones(2, 2)),
        torch.zeros(3).index_fill(0, torch.tensor([1]), 7.0))
    log(torch.zeros(2, 3).scatter(1, torch.tensor([[2], [0]]), 5.0),
        torch.zeros(2, 3).scatter(1, torch.tensor([[2], [0]]), 5.0, reduce="add"))
    deg = torch.zeros(3, dtype=torch.int64).index_add_(0, src, torch.ones_like(src))
    log(deg, torch.bincount(src) == deg)
    log(_raises(lambda: torch.zeros(4).scatter_reduce(0, src, val, reduce="max")))
    log(torch.zeros(4).index_reduce(0, src, val, "amax", include_self=False))


@program()
def type_conversions_and_number_protocols(torch, log):
    x = torch.tensor([1.7, -2.5, 3.5, -0.5])
    log(x.int(), x.long(), x.round(), x.round(decimals=1), x.trunc(), x.floor(), x.ceil(),
        x.frac(), x.fix())
    log(x.to(torch.uint8) if False else x.abs().to(torch.uint8), x.bool(), x.half(), x.bfloat16())
    log(int(torch.tensor(3.9)), float(torch.tensor(2)), bool(torch.tensor([0.0])),
        torch.tensor(5).item(), torch.tensor([7.5]).tolist(), torch.tensor(2.5).__index__()
        if False else None)
    log(_raises(lambda: bool(torch.tensor([1, 2]))), _raises(lambda: int(torch.ones(2))))
    log(_raises(lambda: [1, 2, 3][torch.tensor(1.0)]), [1, 2, 3][torch.tensor(1)])
    log(torch.tensor(3) * 1.5, 2 ** torch.tensor(3.0), divmod(7, 2), -torch.tensor(0.0))
    log(round(torch.tensor(2.567).item(), 2), abs(torch.tensor(-3)), torch.tensor(7) // 2)
    log(x.type(torch.int32), x.type(), x.int().type(), torch.tensor([1]).type(torch.float64).dtype)
    log(x.numpy().dtype.name, torch.from_numpy(x.numpy()).dtype, x.double().numpy().dtype.name)


# Optimizer and scheduler odds and ends


@program(tol=_TRAIN)
def adafactor_training_and_state(torch, log):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    opt = torch.optim.Adafactor(model.parameters(), lr=0.01)
    x, y = torch.randn(8, 4), torch.randn(8, 2)
    for _ in range(4):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        log(loss)
    st = opt.state[model[0].weight]
    log(sorted(st), st["row_var"].shape, st["col_var"].shape, sorted(opt.state[model[0].bias]))
    log(sorted(opt.defaults))


@program(tol=_TRAIN)
def optimizer_step_hooks_and_tensor_lr(torch, log):
    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.Adam([p], lr=torch.tensor(0.1))
    events = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: events.append("pre"))
    h2 = opt.register_step_post_hook(lambda o, a, k: events.append("post"))
    opt.register_load_state_dict_pre_hook(lambda o, sd: events.append("load-pre"))
    opt.register_state_dict_post_hook(lambda o, sd: events.append("sd-post") or sd)
    for _ in range(2):
        p.grad = torch.tensor([1.0, -1.0, 0.5])
        opt.step()
    h1.remove()
    h2.remove()
    p.grad = torch.ones(3)
    opt.step()
    sd = opt.state_dict()
    opt.load_state_dict(sd)
    log(events, p, type(opt.param_groups[0]["lr"]).__name__, opt.param_groups[0]["lr"])
    opt.zero_grad()
    log(p.grad)
    opt.zero_grad(set_to_none=False) if p.grad is not None else None
    log(sorted(opt.param_groups[0]))


@program()
def custom_lr_scheduler_subclass_and_onecycle_three_phase(torch, log):
    S = torch.optim.lr_scheduler

    class Halving(S.LRScheduler):
        def __init__(self, optimizer, every, last_epoch=-1):
            self.every = every
            super().__init__(optimizer, last_epoch)

        def get_lr(self):
            return [base * 0.5 ** (self.last_epoch // self.every) for base in self.base_lrs]
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.8)
    sch = Halving(opt, 2)
    out = []
    for _ in range(6):
        opt.step()
        sch.step()
        out.append(sch.get_last_lr()[0])
    log(out, sch.state_dict())
    opt = torch.optim.Adam([p], lr=0.1)
    one = S.OneCycleLR(opt, max_lr=1.0, epochs=2, steps_per_epoch=5, three_phase=True,
                       div_factor=10, final_div_factor=100, pct_start=0.4)
    lrs = []
    for _ in range(10):
        opt.step()
        one.step()
        lrs.append(round(opt.param_groups[0]["lr"], 8))
    log(lrs, opt.param_groups[0]["betas"])
    log(_raises(lambda: one.step()))


@program()
def scheduler_with_last_epoch_resume_and_initial_lr(torch, log):
    S = torch.optim.lr_scheduler
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    log(_raises(lambda: S.StepLR(opt, 2, last_epoch=3)))
    opt.param_groups[0]["initial_lr"] = 1.0
    s = S.StepLR(opt, 2, gamma=0.1, last_epoch=3)
    log(s.last_epoch, s.get_last_lr(), opt.param_groups[0]["lr"])
    opt.step()
    s.step()
    log(s.get_last_lr(), s.base_lrs)
    opt2 = torch.optim.SGD([p], lr=0.5)
    c = S.CosineAnnealingLR(opt2, T_max=3)
    for _ in range(3):
        opt2.step()
        c.step()
    sd = c.state_dict()
    opt3 = torch.optim.SGD([p], lr=0.5)
    c2 = S.CosineAnnealingLR(opt3, T_max=3)
    c2.load_state_dict(sd)
    log(sorted(sd), c2.last_epoch, c2.get_last_lr(), opt3.param_groups[0]["lr"])


# nn.utils


@program(tol=_TRAIN)
def pruning_methods_and_removal(torch, log):
    nn = torch.nn
    prune = _module(torch, "nn.utils.prune")
    lin = nn.Linear(4, 3)
    prune.l1_unstructured(lin, "weight", amount=0.5)
    log(sorted(n for n, _ in lin.named_buffers()), lin.weight_mask.sum(),
        sorted(n for n, _ in lin.named_parameters()))
    prune.random_unstructured(lin, "bias", amount=1)
    log(lin.bias_mask.sum())
    prune.ln_structured(lin, "weight", amount=1, n=2, dim=0)
    log(lin.weight_mask.sum(1), type(lin._forward_pre_hooks[0]).__name__ if 0 in
        lin._forward_pre_hooks else None)
    prune.remove(lin, "weight")
    log(sorted(n for n, _ in lin.named_parameters()), (lin.weight == 0).sum())
    a, b = nn.Linear(5, 5), nn.Linear(5, 2)
    prune.global_unstructured([(a, "weight"), (b, "weight")],
                              pruning_method=prune.L1Unstructured, amount=10)
    log(int((a.weight == 0).sum() + (b.weight == 0).sum()))
    prune.identity(b, "bias")
    log(prune.is_pruned(b), prune.is_pruned(nn.Linear(1, 1)))
    log(_raises(lambda: prune.l1_unstructured(lin, "weight", amount=1.5)))


@program(tol=_TRAIN)
def parameters_vector_functional_call_and_fusion(torch, log):
    nn = torch.nn
    U = nn.utils
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    v = U.parameters_to_vector(net.parameters())
    log(v.shape)
    U.vector_to_parameters(torch.arange(v.numel(), dtype=torch.float32), net.parameters())
    log(net[0].weight, net[1].bias)
    x = torch.ones(1, 3)
    params = {k: torch.zeros_like(p) for k, p in net.named_parameters()}
    log(torch.func.functional_call(net, params, (x,)), net(x))
    log(_raises(lambda: U.vector_to_parameters(torch.zeros(3), net.parameters())))
    conv, bn = nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)
    bn.running_mean.uniform_()
    bn.running_var.uniform_(0.5, 2)
    conv.eval()
    bn.eval()
    fused = U.fuse_conv_bn_eval(conv, bn)
    inp = torch.randn(1, 2, 5, 5)
    log(torch.allclose(fused(inp), bn(conv(inp)), atol=1e-5), type(fused).__name__)
    lin, bn1 = nn.Linear(3, 4).eval(), nn.BatchNorm1d(4).eval()
    bn1.running_var.fill_(2.0)
    fl = U.fuse_linear_bn_eval(lin, bn1)
    log(torch.allclose(fl(x), bn1(lin(x)), atol=1e-6))
    sk = U.skip_init(nn.Linear, 2, 2)
    log(sk.weight.shape, type(sk).__name__)


# Printing


@program()
def printing_complex_ints_and_precision_mixes(torch, log):
    print(torch.tensor([1 + 1e-5j, 100 + 2j]), torch.tensor([[1.5 - 2j], [3j]]))
    print(torch.tensor([10 ** 15, 1]), torch.tensor([-(2 ** 63)]), torch.tensor([255],
                                                                                dtype=torch.uint8))
    print(torch.tensor([1.0, 2.5, 1e16]), torch.tensor([1e-10, 1.0]), torch.tensor([0.1] * 3))
    print(torch.tensor([[1e-3, 1e3], [1.0, 2.0]], dtype=torch.float64))
    print(torch.tensor(float("nan")), torch.tensor([float("inf"), 1.5]), torch.tensor([1e300,
                                                                                      1.0]))
    torch.set_printoptions(precision=2, sci_mode=False)
    print(torch.tensor([1 / 3, 2 / 3 + 1j]), torch.tensor([12345.678, 0.001]))
    torch.set_printoptions(precision=10)
    print(torch.tensor([1 / 3]), torch.tensor([1 / 3], dtype=torch.float64))
    torch.set_printoptions(profile="default")
    print(torch.tensor([[True, False]] * 2), torch.zeros(2, 0, 3, dtype=torch.bool))
    print(torch.tensor([1.0, -1.0]).to(torch.float16) / 3)
    print(f"{torch.tensor(3.14159):.2f}", f"{torch.tensor(5)}", "{:>8}".format(str(torch.tensor(
        1.0))))
    log(_raises(lambda: f"{torch.tensor([1.0, 2.0]):.2f}"))
    print(torch.Size([2, 3]), torch.Size([]), torch.float32, torch.device("cpu"),
          torch.finfo(torch.float16), torch.iinfo(torch.int8))


@program()
def printing_tensors_with_grad_fns_and_names(torch, log):
    x = torch.ones(2, requires_grad=True)
    print(x, x * 2, x.sum(), x.mean(), x[0], x.view(2, 1), x.exp(), x.clone(), x.detach())
    print((x @ x), x.unsqueeze(0).expand(3, 2), torch.cat([x, x]), x.max(), x.sort()[0])
    with torch.no_grad():
        print(x * 2)
    print(torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2),
                                                                  requires_grad=False))
    b = torch.nn.Linear(1, 1)
    print(b.weight.grad, b.bias.dtype)
    print(torch.ones(2, dtype=torch.float64, requires_grad=True).sum())
    print(torch.tensor([1.0], dtype=torch.float16, requires_grad=True) * 2)
    print(torch.arange(3).float().requires_grad_().cumsum(0))
    print(torch.zeros(3, 3).to_sparse(), torch.eye(2).to_sparse_csr())


# Data pipelines


@program()
def datasets_concat_subset_random_split_and_chain(torch, log):
    data = _module(torch, "utils.data")
    a = data.TensorDataset(torch.arange(5.0))
    b = data.TensorDataset(torch.arange(10.0, 13.0))
    cat = data.ConcatDataset([a, b])
    log(len(cat), cat[4], cat[5], cat[-1], cat.cumulative_sizes)
    sub = data.Subset(cat, [0, 6, 7])
    log(len(sub), [s[0].item() for s in sub])
    parts = data.random_split(cat, [0.5, 0.25, 0.25], generator=torch.Generator().manual_seed(0))
    log([len(p) for p in parts], [p.indices for p in parts])
    parts = data.random_split(range(10), [3, 7], generator=torch.Generator().manual_seed(1))
    log([list(p) for p in parts])
    log(_raises(lambda: data.random_split(range(10), [3, 3])))

    class Stream(data.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))
    ch = data.ChainDataset([Stream(2), Stream(3)])
    log(list(ch), list(data.DataLoader(Stream(5), batch_size=2)))
    log(_raises(lambda: data.DataLoader(Stream(5), shuffle=True)))
    st = data.StackDataset(a, a)
    log(len(st), st[1])


@program()
def dataloader_iteration_protocol_and_worker_info(torch, log):
    data = _module(torch, "utils.data")
    ds = data.TensorDataset(torch.arange(7.0), torch.arange(7))
    dl = data.DataLoader(ds, batch_size=3)
    it = iter(dl)
    log(type(it).__name__, next(it), len(dl), dl.batch_size, dl.drop_last, dl.num_workers)
    log([b[0].shape for b in dl], data.get_worker_info())
    dl = data.DataLoader(ds, batch_size=2, collate_fn=lambda b: torch.stack([x for x, _ in b]),
                         pin_memory=False)
    log([t.tolist() for t in dl])
    log(type(dl.sampler).__name__, type(dl.batch_sampler).__name__)
    dl = data.DataLoader(ds, batch_size=4, shuffle=True,
                         generator=torch.Generator().manual_seed(3))
    log([b[1].tolist() for b in dl], [b[1].tolist() for b in dl])
    log(_raises(lambda: data.DataLoader(ds, batch_size=0)))
    log(_raises(lambda: data.DataLoader(ds, num_workers=-1)))


# Round 20, more programs


@program(tol=_TRAIN)
def char_level_gru_with_packed_batches_and_sampling(torch, log):
    nn = torch.nn
    R = nn.utils.rnn
    vocab = 8
    emb, gru, head = nn.Embedding(vocab, 5, padding_idx=0), nn.GRU(5, 6, batch_first=True), \
        nn.Linear(6, vocab)
    params = list(emb.parameters()) + list(gru.parameters()) + list(head.parameters())
    opt = torch.optim.Adamax(params, lr=0.05)
    seqs = [torch.randint(1, vocab, (n,)) for n in (6, 4, 5)]
    for step in range(3):
        padded = R.pad_sequence(seqs, batch_first=True)
        lengths = torch.tensor([len(s) for s in seqs])
        packed = R.pack_padded_sequence(emb(padded[:, :-1]), lengths - 1, batch_first=True,
                                        enforce_sorted=False)
        out, _ = gru(packed)
        out, _ = R.pad_packed_sequence(out, batch_first=True)
        logits = head(out)
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab),
                                           padded[:, 1:out.shape[1] + 1].reshape(-1),
                                           ignore_index=0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(step, loss)
    h = None
    tok = torch.tensor([[1]])
    out = []
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(5):
            o, h = gru(emb(tok), h)
            probs = head(o[:, -1]).softmax(-1)
            tok = torch.multinomial(probs, 1, generator=g)
            out.append(tok.item())
    log(out)


@program(tol=_TRAIN)
def siamese_network_with_contrastive_and_triplet_losses(torch, log):
    nn, F = torch.nn, torch.nn.functional
    enc = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4))
    opt = torch.optim.RMSprop(enc.parameters(), lr=0.01)
    for step in range(3):
        a, p, n = torch.randn(5, 6), torch.randn(5, 6), torch.randn(5, 6)
        ea, ep, en = enc(a), enc(p), enc(n)
        trip = F.triplet_margin_loss(ea, ep, en, margin=1.0)
        same = torch.tensor([1, 0, 1, 0, 1.0])
        d = F.pairwise_distance(ea, en)
        contrast = (same * d ** 2 + (1 - same) * F.relu(1.0 - d) ** 2).mean()
        cos = F.cosine_embedding_loss(ea, ep, same * 2 - 1)
        loss = trip + contrast + cos
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(step, trip, contrast, cos)


@program(tol=_TRAIN)
def ctc_acoustic_model_training_with_greedy_decode(torch, log):
    nn, F = torch.nn, torch.nn.functional
    model = nn.Sequential(nn.Conv1d(4, 8, 3, padding=1), nn.ReLU(), nn.Conv1d(8, 5, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    x = torch.randn(2, 4, 12)
    targets = torch.tensor([[1, 2, 3], [2, 2, 0]])
    tl = torch.tensor([3, 2])
    il = torch.tensor([12, 10])
    for step in range(4):
        lp = model(x).permute(2, 0, 1).log_softmax(-1)
        loss = F.ctc_loss(lp, targets, il, tl, blank=0, zero_infinity=True)
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(step, loss)
    best = lp.argmax(-1).T
    decoded = []
    for row, n in zip(best.tolist(), il.tolist()):
        out, prev = [], None
        for t in row[:n]:
            if t != prev and t != 0:
                out.append(t)
            prev = t
        decoded.append(out)
    log(decoded)


@program(tol=_TRAIN)
def rprop_full_batch_regression_with_lbfgs_refinement(torch, log):
    x = torch.linspace(-2, 2, 30).unsqueeze(1)
    y = torch.sin(2 * x) + 0.1 * torch.randn(30, 1)
    model = torch.nn.Sequential(torch.nn.Linear(1, 10), torch.nn.Tanh(), torch.nn.Linear(10, 1))
    opt = torch.optim.Rprop(model.parameters())
    for _ in range(10):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    log(loss)
    lb = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=5, line_search_fn="strong_wolfe")

    def closure():
        lb.zero_grad()
        l = torch.nn.functional.mse_loss(model(x), y)
        l.backward()
        return l
    for _ in range(2):
        log(lb.step(closure))


@program(tol=_TRAIN)
def asgd_averaged_parameters_evaluation(torch, log):
    model, x, y = _regression(torch)
    opt = torch.optim.ASGD(model.parameters(), lr=0.05, t0=2)
    for step in range(6):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    averaged = {p: opt.state[p]["ax"] for p in model.parameters()}
    backup = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(averaged[p])
        log(torch.nn.functional.mse_loss(model(x), y))
        for p, b in zip(model.parameters(), backup):
            p.copy_(b)
    log(torch.nn.functional.mse_loss(model(x), y), opt.state[model[0].weight]["eta"])


@program(tol=_TRAIN)
def encoder_decoder_transformer_greedy_decoding(torch, log):
    nn = torch.nn
    vocab, d = 9, 8
    emb = nn.Embedding(vocab, d)
    tr = nn.Transformer(d_model=d, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                        dim_feedforward=16, dropout=0.0, batch_first=True)
    out_proj = nn.Linear(d, vocab)
    src = torch.randint(1, vocab, (2, 5))
    src_pad = src == 0
    src_pad[1, 3:] = True
    tr.eval()
    with torch.no_grad():
        memory = tr.encoder(emb(src), src_key_padding_mask=src_pad)
        ys = torch.ones(2, 1, dtype=torch.long)
        for _ in range(4):
            mask = nn.Transformer.generate_square_subsequent_mask(ys.shape[1])
            h = tr.decoder(emb(ys), memory, tgt_mask=mask, memory_key_padding_mask=src_pad)
            nxt = out_proj(h[:, -1]).argmax(-1, keepdim=True)
            ys = torch.cat([ys, nxt], 1)
    log(ys, memory[0, 0])


@program(tol=_TRAIN)
def self_attention_block_with_sdpa_and_causal_training(torch, log):
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.h = h
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ln = nn.LayerNorm(d)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(self.ln(x)).split(d, dim=2)
            q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return x + self.proj(y.transpose(1, 2).reshape(b, t, d))
    blk = Block(8, 2)
    opt = torch.optim.NAdam(blk.parameters(), lr=1e-2)
    x, target = torch.randn(3, 6, 8), torch.randn(3, 6, 8)
    for step in range(3):
        opt.zero_grad()
        loss = F.mse_loss(blk(x), target)
        loss.backward()
        opt.step()
        log(step, loss)
    x2 = x.clone()
    x2[:, -1] += 100
    with torch.no_grad():
        log(torch.allclose(blk(x)[:, :-1], blk(x2)[:, :-1], atol=1e-5))


@program(tol=_TRAIN)
def unet_like_decoder_with_max_unpool(torch, log):
    nn = torch.nn

    class SegNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Conv2d(1, 4, 3, padding=1)
            self.pool = nn.MaxPool2d(2, return_indices=True)
            self.unpool = nn.MaxUnpool2d(2)
            self.dec = nn.Conv2d(4, 2, 3, padding=1)

        def forward(self, x):
            h = torch.relu(self.enc(x))
            p, idx = self.pool(h)
            return self.dec(self.unpool(p, idx, output_size=h.shape))
    net = SegNet()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(2, 1, 7, 7)
    y = torch.randint(0, 2, (2, 7, 7))
    for step in range(3):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        log(step, loss)
    log(net(x).argmax(1)[0])


@program(tol=_TRAIN)
def patch_embedding_with_unfold_and_fold_reconstruction(torch, log):
    nn, F = torch.nn, torch.nn.functional
    img = torch.randn(2, 3, 8, 8)
    patches = F.unfold(img, kernel_size=4, stride=4)
    log(patches.shape)
    tokens = patches.transpose(1, 2)
    proj = nn.Linear(48, 16)
    back = nn.Linear(16, 48)
    opt = torch.optim.Adam(list(proj.parameters()) + list(back.parameters()), lr=1e-2)
    for step in range(4):
        rec = back(torch.relu(proj(tokens))).transpose(1, 2)
        out = F.fold(rec, (8, 8), kernel_size=4, stride=4)
        loss = F.mse_loss(out, img)
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(step, loss)
    conv = nn.Conv2d(3, 16, 4, stride=4, bias=False)
    conv.weight.data = proj.weight.data.reshape(16, 3, 4, 4)
    log(torch.allclose(conv(img).flatten(2).transpose(1, 2), tokens @ proj.weight.T, atol=1e-5))


@program(tol=_ULP)
def subpixel_upsampling_network(torch, log):
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.PReLU(8), nn.Conv2d(8, 4, 3, padding=1),
                        nn.PixelShuffle(2))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lo, hi = torch.rand(2, 1, 4, 4), torch.rand(2, 1, 8, 8)
    for step in range(3):
        opt.zero_grad()
        loss = nn.functional.l1_loss(net(lo), hi)
        loss.backward()
        opt.step()
        log(step, round(loss.item(), 4))
    log(net(lo).shape, net[1].weight.shape)


@program(tol=_ULP)
def knowledge_distillation_with_kl_log_target(torch, log):
    nn, F = torch.nn, torch.nn.functional
    teacher = nn.Linear(5, 4)
    student = nn.Linear(5, 4)
    opt = torch.optim.SGD(student.parameters(), lr=0.5)
    T = 2.0
    for step in range(4):
        x = torch.randn(6, 5)
        with torch.no_grad():
            t_log = F.log_softmax(teacher(x) / T, -1)
        s_log = F.log_softmax(student(x) / T, -1)
        kd = F.kl_div(s_log, t_log, reduction="batchmean", log_target=True) * T * T
        hard = F.cross_entropy(student(x), teacher(x).argmax(-1), label_smoothing=0.1)
        loss = 0.7 * kd + 0.3 * hard
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(step, kd, hard)


@program()
def integer_hashing_and_bit_packing(torch, log):
    x = torch.arange(10, dtype=torch.int64)
    h = (x * 2654435761) & 0xFFFFFFFF
    log(h, h >> 16, (h ^ (h >> 13)) % 97)
    bits = torch.tensor([[1, 0, 1, 1, 0, 0, 1, 0], [0, 0, 0, 0, 1, 1, 1, 1]], dtype=torch.uint8)
    weights = 2 ** torch.arange(7, -1, -1, dtype=torch.uint8)
    packed = (bits * weights).sum(1, dtype=torch.uint8)
    log(packed, packed.dtype)
    unpacked = (packed.unsqueeze(1) >> torch.arange(7, -1, -1, dtype=torch.uint8)) & 1
    log(unpacked, torch.equal(unpacked, bits))
    i32 = torch.tensor([0x7FFFFFFF, -1], dtype=torch.int32)
    log(i32 + 1, i32 << 1, i32 >> 31, i32.view(torch.uint8) if False else i32.to(torch.int64))
    log(torch.tensor([1, 2, 3]).bitwise_xor(torch.tensor([3, 2, 1])).sum(),
        torch.tensor([255, 256]).to(torch.uint8), torch.tensor([-1]).to(torch.uint8))
    mask = torch.zeros(4, dtype=torch.int64)
    for k in [0, 5, 63]:
        mask |= 1 << k
    log(mask, (mask >> 63) & 1, (mask & (1 << 5)) != 0)


@program()
def dtype_promotion_in_mixed_training_code(torch, log):
    counts = torch.tensor([3, 5, 2])
    total = counts.sum()
    freq = counts / total
    log(freq.dtype, freq, (counts * 0.5).dtype, (counts // 2).dtype, (counts ** 0.5).dtype)
    mask = torch.tensor([True, False, True])
    log((mask * 2.5).dtype, (mask + mask).dtype, mask.sum().dtype, mask.float().mean())
    h = torch.tensor([1.5, 2.5], dtype=torch.float16)
    log((h * 1000).dtype, h * 1000, h + torch.tensor(1.0), (h + torch.tensor([1.0])).dtype)
    b = torch.tensor([1.5], dtype=torch.bfloat16)
    log((b * h[:1]).dtype, (b + 1).dtype, b.to(torch.float16) + h[:1])
    idx = torch.tensor([0, 1], dtype=torch.int32)
    log((idx + torch.tensor(1)).dtype, (idx + 1).dtype, (idx * 1.0).dtype,
        (idx.to(torch.int8) + torch.tensor([1], dtype=torch.uint8)).dtype)
    log(torch.tensor(2) ** torch.tensor(-1.0), torch.tensor([2]) / torch.tensor(4.0, dtype=
                                                                             torch.float64))
    log(torch.arange(3) * torch.tensor(0.1, dtype=torch.float64))
    log((torch.arange(3) + 0.1).tolist(), torch.arange(3.0).dtype, torch.arange(0, 1, 0.25).dtype)


@program()
def complex_signal_processing_pipeline(torch, log):
    t = torch.arange(16.0)
    sig = torch.cos(2 * torch.pi * t / 8) + 0.5 * torch.sin(2 * torch.pi * t / 4)
    spec = torch.fft.rfft(sig)
    log(spec.abs().round(decimals=3), spec[[2, 4]].angle().round(decimals=3))
    filt = spec.clone()
    filt[3:] = 0
    rec = torch.fft.irfft(filt, n=16)
    log(rec.round(decimals=4) + 0.0)
    analytic = torch.fft.ifft(torch.cat([spec[:1], 2 * spec[1:8], spec[8:9],
                                         torch.zeros(7, dtype=spec.dtype)]))
    log(analytic.real.round(decimals=4) + 0.0, analytic.abs().round(decimals=4))
    z = torch.polar(torch.ones(4), torch.tensor([0.0, torch.pi / 2, torch.pi, -torch.pi / 2]))
    log(z.real.round(decimals=5), z.imag.round(decimals=5), (z * z.conj()).real)
    log(torch.view_as_real(z).shape, torch.view_as_complex(torch.view_as_real(z)).dtype)


@program(tol=_TRAIN)
def whitening_and_mahalanobis_with_linalg(torch, log):
    x = torch.randn(50, 3, dtype=torch.float64) @ torch.tensor([[2.0, 0, 0], [0.5, 1, 0],
                                                                [0, 0.3, 0.2]],
                                                               dtype=torch.float64)
    mu = x.mean(0)
    cov = torch.cov(x.T)
    L, Q = torch.linalg.eigh(cov)
    W = Q @ torch.diag(L.rsqrt()) @ Q.T
    white = (x - mu) @ W
    log(torch.cov(white.T).diagonal(), L)
    chol = torch.linalg.cholesky(cov)
    d = torch.linalg.solve_triangular(chol, (x - mu).T, upper=False)
    maha = (d ** 2).sum(0)
    log(maha[:5], torch.allclose(maha, torch.einsum("ni,ij,nj->n", x - mu,
                                                    torch.linalg.inv(cov), x - mu)))
    log(torch.corrcoef(x.T).diagonal(), torch.linalg.matrix_norm(cov, "nuc"),
        torch.linalg.slogdet(cov))


@program()
def searchsorted_based_sampling_and_binning(torch, log):
    w = torch.tensor([0.1, 0.0, 0.5, 0.4])
    cdf = torch.cumsum(w, 0)
    u = torch.rand(8)
    idx = torch.searchsorted(cdf, u * cdf[-1], right=True).clamp(max=3)
    log(idx, torch.bincount(idx, minlength=4))
    edges = torch.linspace(0, 1, 5)
    vals = torch.tensor([0.0, 0.24, 0.25, 0.26, 0.99, 1.0])
    log(torch.bucketize(vals, edges), torch.bucketize(vals, edges, right=True),
        torch.searchsorted(edges, vals, side="right"))
    ages = torch.tensor([3.0, 17.0, 18.0, 65.0, 80.0])
    groups = torch.bucketize(ages, torch.tensor([18.0, 65.0]), right=True)
    log(groups, torch.histc(ages, bins=4, min=0, max=80))
    h, e = torch.histogram(ages, bins=torch.tensor([0.0, 18.0, 65.0, 100.0]))
    log(h, e)


@program(tol=_TRAIN)
def spectral_normalized_discriminator_gan_step(torch, log):
    nn = torch.nn
    SN = nn.utils.parametrizations.spectral_norm
    D = nn.Sequential(SN(nn.Linear(2, 8)), nn.LeakyReLU(0.2), SN(nn.Linear(8, 1)))
    G = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    optD = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optG = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    for step in range(3):
        real = torch.randn(8, 2) + 2
        fake = G(torch.randn(8, 3))
        dl = bce(D(real), torch.ones(8, 1)) + bce(D(fake.detach()), torch.zeros(8, 1))
        optD.zero_grad()
        dl.backward()
        optD.step()
        gl = bce(D(fake), torch.ones(8, 1))
        optG.zero_grad()
        gl.backward()
        optG.step()
        log(step, dl, gl)
    log(sorted(D.state_dict())[:4])


@program(tol=_TRAIN)
def weight_normed_temporal_conv_with_chomp(torch, log):
    nn = torch.nn
    WN = nn.utils.parametrizations.weight_norm

    class Chomp(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.n = n

        def forward(self, x):
            return x[..., :-self.n]
    net = nn.Sequential(WN(nn.Conv1d(2, 4, 3, padding=2, dilation=1)), Chomp(2), nn.ReLU(),
                        WN(nn.Conv1d(4, 1, 3, padding=4, dilation=2)), Chomp(4))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x, y = torch.randn(3, 2, 10), torch.randn(3, 1, 10)
    for step in range(3):
        opt.zero_grad()
        loss = nn.functional.mse_loss(net(x), y)
        loss.backward()
        opt.step()
        log(step, loss)
    x2 = x.clone()
    x2[..., -1] = 50
    with torch.no_grad():
        log(torch.allclose(net(x)[..., :-1], net(x2)[..., :-1]))


@program()
def dataloader_bucketed_batches_by_length(torch, log):
    data = _module(torch, "utils.data")
    R = torch.nn.utils.rnn
    lengths = [5, 2, 7, 3, 3, 6, 1, 4]
    seqs = [torch.arange(n) + 1 for n in lengths]

    class BucketSampler(data.Sampler):
        def __init__(self, lengths, batch_size):
            self.order = sorted(range(len(lengths)), key=lambda i: lengths[i])
            self.bs = batch_size

        def __iter__(self):
            for i in range(0, len(self.order), self.bs):
                yield self.order[i:i + self.bs]

        def __len__(self):
            return (len(self.order) + self.bs - 1) // self.bs

    def collate(batch):
        lens = torch.tensor([len(b) for b in batch])
        return R.pad_sequence(batch, batch_first=True), lens
    dl = data.DataLoader(seqs, batch_sampler=BucketSampler(lengths, 3), collate_fn=collate)
    for padded, lens in dl:
        log(padded, lens)
    log(len(dl))


@program(tol=_TRAIN)
def saving_and_resuming_training_through_bytesio(torch, log):
    nn = torch.nn
    model, x, y = _regression(torch)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, 2, 0.5)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        sched.step()
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                "sched": sched.state_dict(), "epoch": 3, "rng": torch.get_rng_state()}, buf)
    cont = []
    for _ in range(2):
        opt.zero_grad()
        l = nn.functional.mse_loss(model(x), y)
        l.backward()
        opt.step()
        sched.step()
        cont.append(l.item())
    buf.seek(0)
    ck = torch.load(buf, weights_only=False)
    m2 = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1))
    m2.load_state_dict(ck["model"])
    o2 = torch.optim.AdamW(m2.parameters(), lr=1.0)
    o2.load_state_dict(ck["opt"])
    s2 = torch.optim.lr_scheduler.StepLR(o2, 2, 0.5)
    s2.load_state_dict(ck["sched"])
    torch.set_rng_state(ck["rng"])
    resumed = []
    for _ in range(2):
        o2.zero_grad()
        l = nn.functional.mse_loss(m2(x), y)
        l.backward()
        o2.step()
        s2.step()
        resumed.append(l.item())
    log(cont, resumed, ck["epoch"], s2.get_last_lr())


@program()
def shape_errors_in_model_code(torch, log):
    nn = torch.nn
    log(_raises(lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(10, 2))(
        torch.randn(2, 1, 6, 6))))
    log(_raises(lambda: nn.LSTM(4, 8, batch_first=True)(torch.randn(2, 5, 3))))
    log(_raises(lambda: nn.MultiheadAttention(8, 2)(torch.randn(3, 2, 8), torch.randn(4, 3, 8),
                                                    torch.randn(4, 3, 8))))
    log(_raises(lambda: nn.BatchNorm2d(3)(torch.randn(2, 4, 5, 5))))
    log(_raises(lambda: nn.LayerNorm(5)(torch.randn(2, 4))))
    log(_raises(lambda: nn.Embedding(10, 3)(torch.tensor([[1, 11]]))))
    log(_raises(lambda: nn.functional.cross_entropy(torch.randn(3, 5), torch.tensor([1, 2]))))
    log(_raises(lambda: nn.functional.mse_loss(torch.randn(3), torch.randn(4))))
    log(_raises(lambda: nn.functional.binary_cross_entropy(torch.tensor([1.5]),
                                                           torch.tensor([1.0]))))
    log(_raises(lambda: nn.functional.nll_loss(torch.randn(3, 5), torch.tensor([1, 2, 3.0]))))
    log(_raises(lambda: nn.TransformerEncoderLayer(8, 3)))
    log(_raises(lambda: nn.Conv2d(4, 6, 3, groups=4)))
    log(_raises(lambda: nn.MaxPool2d(2)(torch.randn(1, 1, 1, 1))))
    log(_raises(lambda: torch.randn(2, 3).view(3, -1, 2)))


@program(tol=_ULP)
def diverged_spatial_transformer_gives_nan_not_zeros(torch, log):
    F = torch.nn.functional
    img = torch.randn(2, 1, 5, 5)
    theta = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
                          [[float("nan"), 0.0, 0.0], [0.0, 1.0, 0.0]]])
    grid = F.affine_grid(theta, (2, 1, 3, 3), align_corners=False)
    for pad in ["zeros", "border", "reflection"]:
        out = F.grid_sample(img, grid, padding_mode=pad, align_corners=False)
        log(pad, out[0], out[1].isnan().all(), out[1])
    far = F.affine_grid(torch.tensor([[[1e30, 0.0, 0.0], [0.0, 1.0, 0.0]]]), (1, 1, 2, 2),
                        align_corners=True)
    log(F.grid_sample(img[:1], far, align_corners=True))


@program(tol=_TRAIN)
def ema_of_parameters_with_a_tensor_decay(torch, log):
    nn = torch.nn
    model, x, y = _regression(torch)
    ema = [p.detach().clone() for p in model.parameters()]
    decay = torch.tensor(0.9, dtype=torch.float64)      # e.g. read from a float64 config
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(4):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        with torch.no_grad():
            for e, p in zip(ema, model.parameters()):
                e.lerp_(p, 1 - decay)
        log(step, ema[1], torch.lerp(ema[3], model[2].bias, decay).dtype)


@program(tol=_TRAIN)
def instance_norm_with_running_stats_on_flat_features(torch, log):
    F = torch.nn.functional
    feats = torch.randn(4, 3)
    rm, rv = torch.zeros(3), torch.ones(3)
    log(F.instance_norm(feats, running_mean=rm, running_var=rv, use_input_stats=False))
    log(_raises(lambda: F.instance_norm(feats)))
    seq = torch.randn(4, 3, 6)
    log(F.instance_norm(seq, running_mean=rm, running_var=rv, momentum=0.5), rm, rv)
    m = torch.nn.InstanceNorm1d(3, track_running_stats=True)
    m(seq)
    m.eval()
    log(m(seq)[0, 0], m.running_mean)
    log(_raises(lambda: F.celu(seq, alpha=0.0)))


@program(tol=_TRAIN)
def rank_estimation_with_tolerances(torch, log):
    u = torch.randn(6, 2, dtype=torch.float64)
    A = u @ u.T + 1e-6 * torch.randn(6, 6, dtype=torch.float64)
    log(torch.linalg.matrix_rank(A), torch.linalg.matrix_rank(A, tol=1e-3),
        torch.linalg.matrix_rank(A, 1e-9), torch.linalg.matrix_rank(A, atol=1e-3, rtol=0.0),
        torch.linalg.matrix_rank(A + A.T, 1e-3, True))
    s = torch.linalg.svdvals(A)
    log((s > 1e-3).sum(), _raises(lambda: torch.linalg.matrix_rank(A, tol=1e-3, rtol=0.1)))


# (more programs above this line)


@pytest.mark.parametrize("name", PROGRAMS.params())
def test_program_like_torch(name):
    fn, tol, _ = PROGRAMS[name]
    _check(fn, tol)


# Regressions the programs found


def _run_both(fn):
    import torch
    import ember
    from test_probe17_programs import _one_torch_thread
    with _one_torch_thread():
        return _outcomes(ember, fn), _outcomes(torch, fn)


def _outcomes(lib, fn):
    """What fn(lib) returns and the warnings it gave (round 19's recorder)."""
    with _every_warning() as seen:
        got = fn(lib)
    return got, [(w.category.__name__, str(w.message).partition(" (Triggered internally")[0])
                 for w in seen]


@pytest.mark.parametrize("case", ["value_head_size", "dropout", "2d", "float64_mask",
                                  "flash"])
def test_sdpa_math_path_refuses_a_mask_with_is_causal_like_torch(case):
    """torch's math path (a value head size of its own, dropout, fewer than 4 dims) raises on an
    explicit attn_mask with is_causal=True; its flash kernel combines them. ember combined
    them on both paths."""
    def run(lib):
        lib.manual_seed(0)
        q, k, v = lib.randn(2, 3, 4, 8), lib.randn(2, 3, 6, 8), lib.randn(2, 3, 6, 8)
        mask = lib.ones(4, 6, dtype=lib.bool).tril()
        kw = {"value_head_size": dict(value=v[..., :5]), "dropout": dict(dropout_p=0.5),
              "2d": dict(query=q[0, 0], key=k[0, 0], value=v[0, 0]),
              "float64_mask": dict(attn_mask=mask.double()), "flash": {}}[case]
        args = dict(dict(query=q, key=k, value=v, attn_mask=mask, is_causal=True), **kw)
        got = _raises(lambda: lib.nn.functional.scaled_dot_product_attention(**args))
        return got if got else "ran"
    got, want = _run_both(run)
    assert got == want


@pytest.mark.parametrize("method", ["double", "float", "half", "long", "int", "short", "char",
                                    "byte"])
def test_packed_sequence_dtype_methods_like_torch(method):
    """torch's PackedSequence has double(), float()... converting its data (ember: none)."""
    def run(lib):
        R = lib.nn.utils.rnn
        p = R.pack_sequence([lib.arange(3.0), lib.arange(2.0)], enforce_sorted=False)
        q = getattr(p, method)()
        return str(q.data.dtype), q.data.tolist(), q.batch_sizes.tolist(), \
            q.sorted_indices.tolist(), type(q).__name__
    got, want = _run_both(run)
    assert got == want


@pytest.mark.parametrize("n", [1, 5, 8, 100, 1003])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_abs_and_sgn_of_complex_are_torchs_bits(dtype, n):
    """torch's |z| is hypot of the parts (complex64's through double, rounded once) and sgn
    divides the parts by it in its vectorised steps and multiplies by its reciprocal in the
    tail; ember's NumPy absolute was an ulp off in a third of the elements and its sgn a
    complex division (half of them; both silent). (complex128: hypot's own ulps aside.)"""
    import numpy as np

    def run(lib):
        lib.manual_seed(0)
        z = lib.randn(n, dtype=getattr(lib, dtype)) * 3
        z[0] = 0
        z.requires_grad_()
        a = z.abs()
        a.sum().backward()
        return [np.asarray(t.detach().numpy()) for t in (a, z.detach().sgn(), z.grad)]
    (got, _), (want, _) = _run_both(run)
    limit = 0 if dtype == "complex64" else 0.02 * n
    for g, w in zip(got, want):
        assert (g != w).sum() <= limit


@pytest.mark.parametrize("call", [
    "lib.zeros(2, 2).index_put_((lib.tensor([0]),), lib.ones(3))",
    "lib.zeros(2, 2).index_put_((lib.tensor([0]),), lib.ones(2, 2))",
    "lib.zeros(2, 2).index_put_((lib.tensor([0]),), lib.ones(3), accumulate=True)",
    "lib.zeros(2, 2).index_put_((lib.tensor([True, False]),), lib.ones(3))",
    "lib.zeros(2, 2).index_put((lib.tensor([0, 1]),), lib.ones(3, 2))"])
def test_index_put_of_a_value_that_does_not_fit_raises_like_torch(call):
    """torch's shape-mismatch RuntimeError; ember's in-place index_put_ (without autograd)
    let NumPy's broadcasting ValueError through."""
    def run(lib):
        return _raises(lambda: eval(call))
    got, want = _run_both(run)
    assert got == want


@pytest.mark.parametrize("a, w", [("[1.0, 2.0]", "lib.tensor(0.1, dtype=lib.float64)"),
                                  ("[1.0, 2.0]", "lib.tensor(0.3, dtype=lib.float16)"),
                                  ("[1.0, 2.0]", "lib.tensor(1)"),
                                  ("[1.0, 2.0]", "lib.tensor(True)"),
                                  ("[1.0, 2.0]", "lib.tensor(0.5j)"),
                                  ("1.0", "lib.tensor(0.5, dtype=lib.float64)"),
                                  ("[1.0, 2.0]", "lib.tensor([0.5], dtype=lib.float64)")])
def test_lerp_promotes_a_zero_dim_weight_like_torch(a, w):
    """torch's lerp promotes a 0-d weight tensor of another dtype with the inputs (the lowest
    tier: float32 inputs stay float32, a complex weight makes them complex); ember refused it
    ("expected dtype float for `weight`"). A float64 weight's gradient reaches it as float64.
    (torch's backward computes 1 - w in the weight's own dtype, ember in the promoted one.)"""
    def run(lib):
        x = lib.tensor(eval(a), requires_grad=True)
        weight = eval(w)
        if weight.dtype == lib.float64:
            weight.requires_grad_()
        try:
            r = x.lerp(x.detach() * 3 + 1, weight)
        except RuntimeError as e:
            return str(e)
        grads = None
        if weight.requires_grad:
            r.sum().backward()
            grads = x.grad.tolist(), str(weight.grad.dtype), weight.grad.item()
        y = x.detach().clone()
        if not weight.is_complex():
            y.lerp_(y * 2, weight.detach())
        return str(r.dtype), r.tolist(), grads, y.tolist()
    got, want = _run_both(run)
    assert got == want


@pytest.mark.parametrize("shape", [(2, 4), (4,), (1, 4, 1), (2, 3, 1, 1), (2, 3, 2)])
@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_of_few_dims_like_torch(shape, use_input_stats):
    """torch's F.instance_norm checks only for more than one spatial element (with input
    stats) and runs a 2-D input through batch norm's (1, N*C) view with running stats; ember
    refused every input of fewer than 3 dims in its own words."""
    def run(lib):
        lib.manual_seed(0)
        c = shape[1] if len(shape) > 1 else 1
        x = lib.randn(shape, requires_grad=True)
        stats = {} if use_input_stats else dict(running_mean=lib.full((c,), 0.5),
                                                running_var=lib.full((c,), 2.0))
        try:
            r = lib.nn.functional.instance_norm(x, use_input_stats=use_input_stats,
                                                weight=lib.full((c,), 3.0), **stats)
        except Exception as e:
            return type(e).__name__, str(e)
        (r * r).sum().backward()
        return r.tolist(), r.grad_fn.name(), x.grad.tolist()
    (got, _), (want, _) = _run_both(run)
    assert (got[0] if isinstance(got[0], str) else got[1]) == \
        (want[0] if isinstance(want[0], str) else want[1])
    if isinstance(got[0], str):
        assert got == want
    else:
        import numpy as np
        assert np.allclose(got[0], want[0], atol=1e-5) and np.allclose(got[2], want[2], atol=1e-4)


@pytest.mark.parametrize("call", ["lib.nn.functional.celu(lib.tensor([-1.0]), alpha=0.0)",
                                  "lib.celu(lib.tensor([1.0]), alpha=0)",
                                  "lib.nn.CELU(0.0)(lib.ones(1))"])
def test_celu_of_alpha_zero_raises_in_torchs_words(call):
    """torch: "ZeroDivisionError: alpha cannot be 0 for CELU"; ember said "ZeroDivisionError"."""
    got, want = _run_both(lambda lib: _raises(lambda: eval(call)))
    assert got == want


def test_matrix_rank_takes_torchs_tol_overload():
    """torch.linalg.matrix_rank(A, tol, hermitian) (atol=tol, rtol=0), refused beside atol or
    rtol with torch's overload TypeError; ember had only the keyword atol/rtol form."""
    def run(lib):
        A = lib.diag(lib.tensor([1.0, 0.4, 0.1]))
        calls = [lambda: lib.linalg.matrix_rank(A, tol=0.5),
                 lambda: lib.linalg.matrix_rank(A, 0.35),
                 lambda: lib.linalg.matrix_rank(A, lib.tensor(0.05)),
                 lambda: lib.linalg.matrix_rank(A, tol=0.4),
                 lambda: lib.linalg.matrix_rank(A, 0.35, True),
                 lambda: lib.linalg.matrix_rank(A.double(), 0.4),
                 lambda: lib.linalg.matrix_rank(A, tol=0.5, atol=0.1)]
        return [_raises(c) or c().tolist() for c in calls]
    got, want = _run_both(run)
    assert got == want


@pytest.mark.parametrize("nd", [2, 3])
def test_grid_sample_of_non_finite_coordinates_like_torch(nd):
    """A diverged spatial transformer's nan/inf grid: torch's 2-d kernel multiplies the zero of
    an outside tap by its nan weight (nan out, zeros padding) and its vectorised clamps take a
    nan coordinate to 0 (border, reflection); its scalar 3-d kernel skips outside taps and its
    std::min/max clamp take nan to size - 1. ember gave 0 for all of them (silently)."""
    import numpy as np
    nan, inf = float("nan"), float("inf")

    def run(lib):
        lib.manual_seed(0)
        x = lib.randn((2, 3) + (4,) * nd)
        g = lib.rand((2, 5) + (1,) * (nd - 1) + (nd,)) * 3 - 1.5
        g[0, 0] = nan
        g[0, 1, ..., 0] = nan
        g[1, 0, ..., 1] = inf
        g[1, 1] = -inf
        out = []
        for mode in ["bilinear", "nearest"] + (["bicubic"] if nd == 2 else []):
            for pad in ["zeros", "border", "reflection"]:
                for ac in (False, True):
                    out.append(lib.nn.functional.grid_sample(
                        x, g, mode=mode, padding_mode=pad, align_corners=ac).numpy())
        return out
    (got, _), (want, _) = _run_both(run)
    for a, b in zip(got, want):
        assert np.allclose(a, b, atol=1e-5, equal_nan=True)
        assert (np.isnan(a) == np.isnan(b)).all()


_CTC_CASES = {
    "blank_ends_the_targets": ("[[1, 0], [1, 1]]", "[5, 5]", "[2, 2]", 0),
    "blank_inside": ("[[0, 0, 2], [3, 0, 3]]", "[5, 4]", "[3, 3]", 0),
    "blank_3_inside": ("[[3, 1], [1, 3]]", "[5, 5]", "[2, 2]", 3),
    "empty_padded_targets": ("lib.zeros(2, 0, dtype=lib.int64)", "[5, 5]", "[0, 0]", 0),
    "empty_concatenated": ("lib.zeros(0, dtype=lib.int64)", "[5, 3]", "[0, 0]", 0),
    "one_empty": ("[[1, 2], [0, 0]]", "[5, 3]", "[2, 0]", 0),
}


@pytest.mark.parametrize("case", sorted(_CTC_CASES))
def test_ctc_loss_of_blanks_in_targets_and_empty_targets_like_torch(case):
    """torch's recursions allow the skip transition from any label but the one two before (a
    blank in the targets too; ember also required a non-blank), its last frame's gradient
    assigns the last label's term (overwriting the blank's where the targets end in the blank),
    and (N, 0) padded targets run; ember's loss and gradient differed (silently) and the empty
    targets raised NumPy's IndexError."""
    import numpy as np
    tg, il, tl, blank = _CTC_CASES[case]

    def run(lib):
        lib.manual_seed(0)
        x = lib.randn(5, 2, 4, requires_grad=True)
        targets = eval(tg) if tg.startswith("lib") else lib.tensor(eval(tg))
        out = []
        for red in ("none", "mean", "sum"):
            loss = lib.nn.functional.ctc_loss(x.log_softmax(2), targets, lib.tensor(eval(il)),
                                              lib.tensor(eval(tl)), blank=blank, reduction=red)
            out.append(loss.detach().numpy())
        loss.backward()
        return out + [x.grad.numpy()]
    (got, _), (want, _) = _run_both(run)
    for a, b in zip(got, want):
        assert np.allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("inp, target", [("[0.5]", "[2.0]"), ("[nan]", "[1.0]"),
                                         ("[0.5]", "[nan]"), ("[0.5, 1.5]", "[2.0, 1.0]"),
                                         ("[1.5, 0.5]", "[1.0, -0.5]"),
                                         ("[0.5, 0.2]", "[1.0, 0.0]")])
def test_binary_cross_entropy_checks_input_and_target_ranges_like_torch(inp, target):
    """torch refuses a target outside [0, 1] (and a nan input or target), naming the first
    element's input or target; ember checked only the input (not nan) and computed the rest."""
    nan = {"nan": float("nan")}

    def run(lib):
        return _raises(lambda: lib.nn.functional.binary_cross_entropy(
            lib.tensor(eval(inp, nan)), lib.tensor(eval(target, nan)))) or "ran"
    got, want = _run_both(run)
    assert got == want


@pytest.mark.parametrize("call", [
    "R.pack_padded_sequence(lib.randn(3, 2, 4), lib.tensor([[3, 2]]))",
    "R.pack_padded_sequence(lib.zeros(0, 2, 4), lib.tensor([0, 0]))",
    "R.pack_padded_sequence(lib.zeros(3, 2, 0), lib.tensor([3, 2]))",
    "R.pack_padded_sequence(lib.zeros(3, 2, 4), lib.tensor([3]))",
    "R.pack_padded_sequence(lib.zeros(3, 2, 4), lib.tensor(3))",
    "R.pack_padded_sequence(lib.zeros(3, 1, 4), lib.tensor(3), enforce_sorted=False)",
    "R.pack_padded_sequence(lib.zeros(3, 2, 4), [3, 2, 1])",
    "R.pack_padded_sequence(lib.zeros(3, 2, 4), [3, 2], batch_first=True)",
    "R.pack_padded_sequence(lib.zeros(3, 2, 4), [2, 3], batch_first=True)",
    "R.pack_padded_sequence(lib.zeros(3, 3, 4), [1, 3, 0])",
    "R.pack_sequence([lib.ones(0, 2)])"])
def test_pack_padded_sequence_checks_in_torchs_order(call):
    """torch's _pack_padded_sequence refuses lengths of other than one dim, empty input, a
    length count other than the batch's and a non-positive length, in that order, before the
    sortedness; ember let NumPy's errors through, indexed past the batch, or named the
    non-positive length for an empty input."""
    def run(lib):
        names = {"lib": lib, "R": lib.nn.utils.rnn}
        return _raises(lambda: eval(call, names)) or eval(call, names).batch_sizes.tolist()
    got, want = _run_both(run)
    assert got == want


@pytest.mark.parametrize("call", [
    "M(4, 2, kdim=3)(lib.randn(3, 2, 4), lib.randn(5, 2, 4), lib.randn(5, 2, 4))",
    "M(4, 2, vdim=3)(lib.randn(3, 2, 4), lib.randn(5, 2, 4), lib.randn(5, 2, 5))",
    "M(4, 2, kdim=3)(lib.randn(3, 4), lib.randn(5, 2), lib.randn(5, 4))",
    "M(4, 2, kdim=3, vdim=5, batch_first=True)(lib.randn(2, 3, 4), lib.randn(2, 5, 3), "
    "lib.randn(2, 5, 5))[0].shape"])
def test_multihead_attention_with_kdim_checks_the_projection_shapes_like_torch(call):
    """torch's _in_projection asserts each separate projection weight's shape against its
    input's last dim; ember's matmul raised its own shape error."""
    def run(lib):
        lib.manual_seed(0)
        names = {"lib": lib, "M": lib.nn.MultiheadAttention}
        return _raises(lambda: eval(call, names)) or str(eval(call, names))
    got, want = _run_both(run)
    assert got == want
