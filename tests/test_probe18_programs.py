"""Ordinary PyTorch programs, round 18 (policy-gradient RL, normalising flows, VAEs, graph
networks, recommenders, ODE and Hamiltonian integrators, Gaussian processes, CRFs, distillation,
meta-learning, spectral methods, augmentation maths, integer and bit arithmetic, dtype edge cases,
printing, shape arithmetic and the errors users hit) run under ember and torch from the same
seed: everything they record must agree (the harness is round 17's)."""
import contextlib
import math

import pytest

import ember
from probe_registry import Programs
from test_probe17_programs import _module, _one_torch_thread, _run, _same

PROGRAMS = Programs()
program = PROGRAMS.program


def _raises(fn):
    """The class and message of what fn raised (a program that goes on after an error)."""
    try:
        fn()
    except Exception as e:
        return type(e).__name__, str(e)
    return None


def _check(program, tol=None):
    """Round 17's comparison, but for the C++ line torch's TORCH_WARN messages end with (" (Triggered
    internally at .../ReduceOps.cpp:1861.)"): most of ember's warnings leave it out, so it is
    compared on neither side. The TypedStorage warning, once a process in both libraries, starts
    unwarned in both (what earlier tests in this process did to either flag does not count), and
    sparse invariant checks start explicitly off in both."""
    import torch
    import torch.storage
    torch.storage._reset_warn_typed_storage_removal()
    ember._warnings.GIVEN.discard(ember._storage._TYPED_STORAGE_WARNING)
    # sparse constructors warn that invariant checks are implicitly off until the checks are
    # set explicitly, in either library by whatever ran before in the process: set in both
    for lib in (torch, ember):
        lib.sparse.check_sparse_tensor_invariants.disable()
    with _one_torch_thread():
        got, want = _run(ember, program), _run(torch, program)
    diff = _same(got[0], want[0], tol, "log")
    assert diff is None, diff
    assert got[1] == want[1]            # printed lines
    assert [(c, m.partition(" (Triggered internally")[0]) for c, m in got[2]] == \
        [(c, m.partition(" (Triggered internally")[0]) for c, m in want[2]]


# Programs that train through matmuls and convolutions compare within 1e-4 (NumPy's BLAS and
# torch's oneDNN/MKL sum in different orders); elementwise arithmetic compares bit for bit.
_TRAIN = 1e-4


@program(tol=_TRAIN)
def reinforce_with_baseline(torch, log):
    nn, F = torch.nn, torch.nn.functional
    policy = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = torch.optim.Adam(policy.parameters(), lr=1e-2)
    gamma = 0.99
    for episode in range(3):
        states = torch.randn(6, 4)
        logits = policy(states)
        dist = torch.distributions.Categorical(logits=logits)
        actions = dist.sample()
        rewards = torch.rand(6)
        returns = []
        R = 0.0
        for r in reversed(rewards.tolist()):
            R = r + gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + 1e-8)
        loss = -(dist.log_prob(actions) * returns).sum() - 0.01 * dist.entropy().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(actions, returns, loss, F.softmax(logits, -1)[0])


@program(tol=_TRAIN)
def ppo_clipped_objective(torch, log):
    nn = torch.nn
    actor = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 4))
    critic = nn.Linear(3, 1)
    opt = torch.optim.Adam(list(actor.parameters()) + list(critic.parameters()), lr=3e-4)
    obs = torch.randn(16, 3)
    with torch.no_grad():
        old_dist = torch.distributions.Categorical(logits=actor(obs))
        acts = old_dist.sample()
        old_logp = old_dist.log_prob(acts)
        values = critic(obs).squeeze(-1)
    adv = torch.randn(16)
    ret = adv + values
    for epoch in range(4):
        for idx in torch.randperm(16).split(8):
            dist = torch.distributions.Categorical(logits=actor(obs[idx]))
            logp = dist.log_prob(acts[idx])
            ratio = (logp - old_logp[idx]).exp()
            a = adv[idx]
            a = (a - a.mean()) / (a.std() + 1e-8)
            surr = torch.min(ratio * a, torch.clamp(ratio, 0.8, 1.2) * a)
            v_loss = 0.5 * (critic(obs[idx]).squeeze(-1) - ret[idx]).pow(2).mean()
            loss = -surr.mean() + 0.5 * v_loss - 0.01 * dist.entropy().mean()
            opt.zero_grad()
            loss.backward()
            gn = nn.utils.clip_grad_norm_(actor.parameters(), 0.5)
            opt.step()
            approx_kl = ((ratio - 1) - ratio.log()).mean()
            clipfrac = ((ratio - 1).abs() > 0.2).float().mean()
        log(epoch, loss, gn, approx_kl, clipfrac)


@program()
def generalized_advantage_estimation(torch, log):
    T, N = 8, 3
    rewards = torch.rand(T, N)
    values = torch.rand(T + 1, N)
    dones = torch.rand(T, N) < 0.2
    gamma, lam = 0.99, 0.95
    adv = torch.zeros(T, N)
    last = torch.zeros(N)
    for t in reversed(range(T)):
        nonterminal = 1.0 - dones[t].float()
        delta = rewards[t] + gamma * values[t + 1] * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    returns = adv + values[:-1]
    log(adv, returns, dones.sum(0), dones.any(), adv.flatten().shape)
    disc = gamma ** torch.arange(T, dtype=torch.float32)
    log(disc, (rewards * disc[:, None]).sum(0), torch.cumsum(rewards.flip(0), 0).flip(0)[0])


@program(tol=_TRAIN)
def dqn_double_q_targets(torch, log):
    nn, F = torch.nn, torch.nn.functional
    q = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 3))
    target = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 3))
    target.load_state_dict(q.state_dict())
    opt = torch.optim.RMSprop(q.parameters(), lr=1e-3)
    buf_s, buf_a = torch.randn(20, 4), torch.randint(0, 3, (20,))
    buf_r, buf_s2 = torch.randn(20), torch.randn(20, 4)
    buf_d = torch.zeros(20, dtype=torch.bool)
    buf_d[::5] = True
    for step in range(3):
        idx = torch.randint(0, 20, (8,))
        s, a, r, s2, d = buf_s[idx], buf_a[idx], buf_r[idx], buf_s2[idx], buf_d[idx]
        qsa = q(s).gather(1, a.unsqueeze(1)).squeeze(1)
        with torch.no_grad():
            best = q(s2).argmax(dim=1, keepdim=True)
            tq = target(s2).gather(1, best).squeeze(1)
            y = r + 0.99 * tq * (~d)
        loss = F.smooth_l1_loss(qsa, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        eps = max(0.05, 1.0 - step * 0.3)
        greedy = q(s[:1]).argmax().item()
        log(loss, y.dtype, eps, greedy, d)


@program(tol=1e-5)
def realnvp_coupling_flow(torch, log):
    nn = torch.nn

    class Coupling(nn.Module):
        def __init__(self, dim, mask):
            super().__init__()
            self.register_buffer("mask", mask)
            self.s = nn.Sequential(nn.Linear(dim, 16), nn.Tanh(), nn.Linear(16, dim))
            self.t = nn.Sequential(nn.Linear(dim, 16), nn.ReLU(), nn.Linear(16, dim))

        def forward(self, x):
            xm = x * self.mask
            s = self.s(xm) * (1 - self.mask)
            t = self.t(xm) * (1 - self.mask)
            y = xm + (1 - self.mask) * (x * torch.exp(s) + t)
            return y, s.sum(dim=1)

        def inverse(self, y):
            ym = y * self.mask
            s = self.s(ym) * (1 - self.mask)
            t = self.t(ym) * (1 - self.mask)
            return ym + (1 - self.mask) * ((y - t) * torch.exp(-s))

    masks = [torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])] * 2
    flows = nn.ModuleList(Coupling(2, m) for m in masks)
    prior = torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
    opt = torch.optim.Adam(flows.parameters(), lr=1e-3)
    x = torch.randn(32, 2) * torch.tensor([2.0, 0.5]) + 1
    for it in range(3):
        z, logdet = x, torch.zeros(32)
        for f in flows:
            z, ld = f(z)
            logdet = logdet + ld
        loss = -(prior.log_prob(z) + logdet).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(loss)
    with torch.no_grad():
        back = z
        for f in reversed(flows):
            back = f.inverse(back)
    log(torch.allclose(back, x, atol=1e-5), prior.sample((2,)).shape, buf_names(flows))


def buf_names(m):
    return [n for n, _ in m.named_buffers()]


@program(tol=1e-5)
def vae_reparameterisation(torch, log):
    nn, F = torch.nn, torch.nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(16, 8)
            self.mu = nn.Linear(8, 2)
            self.logvar = nn.Linear(8, 2)
            self.dec = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 16))

        def forward(self, x):
            h = F.relu(self.enc(x))
            mu, logvar = self.mu(h), self.logvar(h)
            std = torch.exp(0.5 * logvar)
            z = mu + std * torch.randn_like(std)
            return self.dec(z), mu, logvar

    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(10, 16)
    for epoch in range(3):
        recon, mu, logvar = model(x)
        bce = F.binary_cross_entropy_with_logits(recon, x, reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = (bce + kld) / x.size(0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"epoch {epoch}: loss={loss.item():.4f} kld={kld.item():.3f}")
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    kl = torch.distributions.kl_divergence(q, p).sum()
    log(kl, kld, q.rsample().requires_grad, q.batch_shape, q.event_shape)
    ind = torch.distributions.Independent(q, 1)
    log(ind.batch_shape, ind.event_shape, ind.log_prob(mu).shape)


@program(tol=1e-5)
def gcn_with_index_add(torch, log):
    nn = torch.nn
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 4, 4], [1, 0, 2, 1, 4, 3, 0]])
    n = 5
    x = torch.randn(n, 3)
    loops = torch.arange(n)
    ei = torch.cat([edge_index, torch.stack([loops, loops])], dim=1)
    src, dst = ei
    deg = torch.zeros(n).index_add_(0, dst, torch.ones(ei.size(1)))
    norm = deg[src].rsqrt() * deg[dst].rsqrt()
    lin = nn.Linear(3, 4, bias=False)
    h = lin(x)
    out = torch.zeros(n, 4).index_add_(0, dst, h[src] * norm[:, None])
    log(deg, norm, out)
    out.sum().backward()
    log(lin.weight.grad)
    agg_max = torch.full((n, 3), float("-inf")).scatter_reduce(
        0, dst[:, None].expand(-1, 3), x[src], reduce="amax", include_self=True)
    agg_mean = torch.zeros(n, 3).scatter_reduce(0, dst[:, None].expand(-1, 3), x[src],
                                                 reduce="mean", include_self=False)
    log(agg_max, agg_mean)
    batch = torch.tensor([0, 0, 0, 1, 1])
    pooled = torch.zeros(2, 3).index_add(0, batch, x) / torch.bincount(batch)[:, None]
    log(pooled, torch.bincount(batch, minlength=4))


@program(tol=1e-5)
def graph_attention_segment_softmax(torch, log):
    F = torch.nn.functional
    src = torch.tensor([0, 1, 2, 0, 3, 2])
    dst = torch.tensor([1, 1, 1, 2, 2, 3])
    n = 4
    h = torch.randn(n, 5, requires_grad=True)
    a = torch.randn(10)
    e = F.leaky_relu(torch.cat([h[src], h[dst]], dim=1) @ a, 0.2)
    emax = torch.zeros(n).scatter_reduce(0, dst, e, reduce="amax", include_self=False)
    ex = (e - emax[dst]).exp()
    denom = torch.zeros(n).scatter_add(0, dst, ex)
    alpha = ex / denom[dst]
    out = torch.zeros(n, 5).index_add(0, dst, alpha[:, None] * h[src])
    out.pow(2).sum().backward()
    log(alpha, out, h.grad)
    seg = torch.segment_reduce(e.detach(), "sum", lengths=torch.tensor([3, 2, 1])) \
        if hasattr(torch, "segment_reduce") else None
    log(seg)


@program(tol=1e-5)
def recommender_negative_sampling(torch, log):
    nn, F = torch.nn, torch.nn.functional
    n_users, n_items, d = 6, 10, 4
    users = nn.Embedding(n_users, d)
    items = nn.Embedding(n_items, d, sparse=False)
    hist = nn.EmbeddingBag(n_items, d, mode="mean")
    opt = torch.optim.SparseAdam if False else torch.optim.Adagrad
    opt = opt(list(users.parameters()) + list(items.parameters()) + list(hist.parameters()),
              lr=0.1)
    u = torch.tensor([0, 1, 2, 3])
    pos = torch.tensor([1, 2, 3, 4])
    flat = torch.tensor([1, 2, 2, 5, 7, 9])
    offsets = torch.tensor([0, 2, 3, 5])
    for step in range(3):
        neg = torch.randint(0, n_items, (4, 3))
        ue = users(u) + hist(flat, offsets)
        ps = (ue * items(pos)).sum(-1)
        ns = torch.bmm(items(neg), ue.unsqueeze(2)).squeeze(2)
        loss = -(F.logsigmoid(ps) + F.logsigmoid(-ns).sum(1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(neg, loss)
    bpr = -F.logsigmoid(ps - ns[:, 0]).mean()
    scores = users.weight @ items.weight.T
    top = scores.topk(3, dim=1)
    log(bpr, top.indices, top.values.shape)
    hits = (top.indices == pos.repeat(2)[:, None][:6]).any(1).float().mean()
    log(hits)


@program(tol=_TRAIN)
def sliding_window_forecasting(torch, log):
    nn = torch.nn
    series = torch.sin(torch.arange(40, dtype=torch.float32) * 0.3) + 0.1 * torch.randn(40)
    window, horizon = 8, 2
    w = series.unfold(0, window + horizon, 1)
    x, y = w[:, :window], w[:, window:]
    log(w.shape, w.stride(), x.is_contiguous())
    mean, std = x.mean(1, keepdim=True), x.std(1, keepdim=True)
    xn = (x - mean) / std
    gru = nn.GRU(1, 8, batch_first=True)
    head = nn.Linear(8, 1)
    opt = torch.optim.Adam(list(gru.parameters()) + list(head.parameters()), lr=1e-2)
    for epoch in range(2):
        out, hN = gru(xn.unsqueeze(-1))
        preds = []
        inp = xn[:, -1:, None]
        h = hN
        for t in range(horizon):
            o, h = gru(inp if t == 0 or epoch == 0 else preds[-1].unsqueeze(1), h)
            p = head(o[:, -1])
            preds.append(p)
            if epoch == 0:   # teacher forcing
                inp = ((y[:, t:t + 1] - mean) / std).unsqueeze(-1)
        pred = torch.cat(preds, 1) * std + mean
        loss = nn.functional.mse_loss(pred, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(epoch, loss, pred.shape)
    log(torch.nn.functional.l1_loss(pred, y), (pred - y).abs().max(dim=0))


@program(tol=1e-5)
def hamiltonian_leapfrog_and_rk4(torch, log):
    def H(q, p):
        return 0.5 * p.pow(2).sum() + (1 - torch.cos(q)).sum()

    q = torch.tensor([1.0, 0.5], requires_grad=True)
    p = torch.tensor([0.0, 0.2], requires_grad=True)
    dt = 0.1
    e0 = H(q, p).item()
    for _ in range(5):
        dq = torch.autograd.grad(H(q, p), q, create_graph=True)[0]
        p = p - 0.5 * dt * dq
        dp = torch.autograd.grad(H(q, p), p, create_graph=True)[0]
        q = q + dt * dp
        dq = torch.autograd.grad(H(q, p), q, create_graph=True)[0]
        p = p - 0.5 * dt * dq
    log(q, p, abs(H(q, p).item() - e0) < 1e-2)
    q.sum().backward()
    log(q.grad_fn is not None)

    def f(t, y):
        return torch.stack([y[1], -torch.sin(y[0])])

    def rk4(f, y, t0, t1, n):
        h = (t1 - t0) / n
        t = t0
        for _ in range(n):
            k1 = f(t, y)
            k2 = f(t + h / 2, y + h / 2 * k1)
            k3 = f(t + h / 2, y + h / 2 * k2)
            k4 = f(t + h, y + h * k3)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            t += h
        return y

    y0 = torch.tensor([0.5, 0.0], dtype=torch.float64, requires_grad=True)
    yT = rk4(f, y0, 0.0, 1.0, 10)
    g, = torch.autograd.grad(yT[0], y0)
    log(yT, g)
    hess = torch.autograd.functional.hessian(lambda z: H(z[:2], z[2:]), torch.ones(4))
    log(hess)


@program(tol=1e-5)
def gaussian_process_regression(torch, log):
    def rbf(a, b, ls, var):
        d2 = torch.cdist(a, b).pow(2)
        return var * torch.exp(-0.5 * d2 / ls ** 2)

    X = torch.linspace(0, 5, 12, dtype=torch.float64).unsqueeze(1)
    y = torch.sin(X).squeeze() + 0.05 * torch.randn(12, dtype=torch.float64)
    log_ls = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    log_var = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    log_noise = torch.tensor(-2.0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([log_ls, log_var, log_noise], lr=0.05)
    for it in range(5):
        K = rbf(X, X, log_ls.exp(), log_var.exp()) + log_noise.exp() * torch.eye(12,
                                                                                  dtype=X.dtype)
        L = torch.linalg.cholesky(K)
        alpha = torch.cholesky_solve(y.unsqueeze(1), L)
        nll = 0.5 * (y @ alpha.squeeze()) + L.diagonal().log().sum() + 6 * math.log(2 * math.pi)
        opt.zero_grad()
        nll.backward()
        opt.step()
        log(nll, torch.logdet(K), 2 * L.diagonal().log().sum())
    Xs = torch.tensor([[2.5], [6.0]], dtype=torch.float64)
    with torch.no_grad():
        Ks = rbf(Xs, X, log_ls.exp(), log_var.exp())
        mean = Ks @ alpha
        v = torch.linalg.solve_triangular(L, Ks.T, upper=False)
        var = rbf(Xs, Xs, log_ls.exp(), log_var.exp()).diagonal() - v.pow(2).sum(0)
    log(mean, var)
    sign, logabs = torch.linalg.slogdet(K.detach())
    log(sign, logabs, torch.cholesky_inverse(L.detach()).shape)


@program()
def crf_viterbi_decoding(torch, log):
    T, K = 6, 4
    emissions = torch.randn(T, K)
    trans = torch.randn(K, K)
    start, end = torch.randn(K), torch.randn(K)
    score = start + emissions[0]
    history = []
    for t in range(1, T):
        nxt = score.unsqueeze(1) + trans + emissions[t].unsqueeze(0)
        score, idx = nxt.max(dim=0)
        history.append(idx)
    score = score + end
    best_score, best_last = score.max(dim=0)
    path = [best_last.item()]
    for idx in reversed(history):
        path.append(idx[path[-1]].item())
    path.reverse()
    log(best_score, path, [h.tolist() for h in history])
    # forward algorithm (partition function) with logsumexp
    alpha = start + emissions[0]
    for t in range(1, T):
        alpha = torch.logsumexp(alpha.unsqueeze(1) + trans + emissions[t].unsqueeze(0), dim=0)
    log_z = torch.logsumexp(alpha + end, dim=0)
    tags = torch.tensor(path)
    gold = start[tags[0]] + emissions[torch.arange(T), tags].sum() + trans[tags[:-1],
                                                                           tags[1:]].sum() + end[tags[-1]]
    log(log_z, gold, gold <= log_z)


@program(tol=1e-5)
def knowledge_distillation(torch, log):
    nn, F = torch.nn, torch.nn.functional
    teacher = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 5)).eval()
    student = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 5))
    opt = torch.optim.SGD(student.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    x, y = torch.randn(12, 8), torch.randint(0, 5, (12,))
    T, alpha = 4.0, 0.7
    for step in range(3):
        with torch.no_grad():
            t_logits = teacher(x)
        s_logits = student(x)
        soft = F.kl_div(F.log_softmax(s_logits / T, dim=1), F.softmax(t_logits / T, dim=1),
                        reduction="batchmean") * T * T
        soft_lt = F.kl_div(F.log_softmax(s_logits / T, dim=1),
                           F.log_softmax(t_logits / T, dim=1), reduction="batchmean",
                           log_target=True)
        hard = F.cross_entropy(s_logits, y)
        loss = alpha * soft + (1 - alpha) * hard
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(soft, soft_lt * T * T, hard)
    crit = nn.KLDivLoss(reduction="mean")
    log(crit(F.log_softmax(s_logits, 1), F.softmax(t_logits, 1)))
    log((s_logits.argmax(1) == t_logits.argmax(1)).sum().item() / 12)


@program(tol=1e-5)
def mixture_density_network(torch, log):
    nn, F = torch.nn, torch.nn.functional
    K = 3

    class MDN(nn.Module):
        def __init__(self):
            super().__init__()
            self.h = nn.Sequential(nn.Linear(1, 16), nn.Tanh())
            self.pi = nn.Linear(16, K)
            self.mu = nn.Linear(16, K)
            self.sigma = nn.Linear(16, K)

        def forward(self, x):
            h = self.h(x)
            return F.log_softmax(self.pi(h), -1), self.mu(h), F.softplus(self.sigma(h)) + 1e-3

    mdn = MDN()
    opt = torch.optim.Adam(mdn.parameters(), lr=1e-2)
    x = torch.rand(20, 1) * 2 - 1
    y = torch.sin(3 * x) + 0.1 * torch.randn(20, 1)
    for it in range(3):
        log_pi, mu, sigma = mdn(x)
        comp = torch.distributions.Normal(mu, sigma)
        nll = -torch.logsumexp(log_pi + comp.log_prob(y), dim=-1).mean()
        opt.zero_grad()
        nll.backward()
        opt.step()
        log(nll)
    mix = torch.distributions.MixtureSameFamily(torch.distributions.Categorical(logits=log_pi),
                                                torch.distributions.Normal(mu, sigma))
    log(mix.log_prob(y.squeeze(1)).mean(), mix.mean.shape, mix.sample().shape)


@program(tol=1e-5)
def maml_inner_loop(torch, log):
    nn, F = torch.nn, torch.nn.functional
    func = _module(torch, "func")
    model = nn.Sequential(nn.Linear(1, 20), nn.ReLU(), nn.Linear(20, 1))
    meta_opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    inner_lr = 0.01
    for it in range(2):
        meta_loss = 0.0
        for task in range(2):
            amp, phase = torch.rand(1) * 4 + 1, torch.rand(1) * 3
            xs, xq = torch.rand(5, 1) * 10 - 5, torch.rand(5, 1) * 10 - 5
            ys, yq = amp * torch.sin(xs + phase), amp * torch.sin(xq + phase)
            params = dict(model.named_parameters())
            for _ in range(2):
                loss = F.mse_loss(func.functional_call(model, params, (xs,)), ys)
                grads = torch.autograd.grad(loss, params.values(), create_graph=True)
                params = {k: v - inner_lr * g for (k, v), g in zip(params.items(), grads)}
            meta_loss = meta_loss + F.mse_loss(func.functional_call(model, params, (xq,)), yq)
        meta_opt.zero_grad()
        meta_loss.backward()
        meta_opt.step()
        log(meta_loss, model[0].weight.grad.norm())
    log(sorted(params), params["0.weight"].grad_fn is not None)


@program(tol=1e-5)
def sinkhorn_log_domain_barycentric(torch, log):
    n, m = 5, 4
    x, y = torch.randn(n, 2), torch.randn(m, 2)
    C = torch.cdist(x, y, p=2) ** 2
    a, b = torch.full((n,), 1 / n), torch.full((m,), 1 / m)
    eps = 0.1
    f, g = torch.zeros(n), torch.zeros(m)
    for _ in range(50):
        f = -eps * torch.logsumexp((g[None, :] - C) / eps + b.log()[None, :], dim=1)
        g = -eps * torch.logsumexp((f[:, None] - C) / eps + a.log()[:, None], dim=0)
    P = torch.exp((f[:, None] + g[None, :] - C) / eps) * a[:, None] * b[None, :]
    log(P.sum(1), P.sum(0), (P * C).sum())
    bary = (P @ y) / P.sum(1, keepdim=True)
    log(bary, torch.cdist(x, y, p=1), torch.cdist(x, y, p=float("inf")))


@program(tol=1e-5)
def sparse_and_causal_attention_masks(torch, log):
    F = torch.nn.functional
    B, H, L, D = 2, 2, 6, 4
    q, k, v = torch.randn(B, H, L, D), torch.randn(B, H, L, D), torch.randn(B, H, L, D)
    causal = torch.ones(L, L, dtype=torch.bool).tril()
    window = (torch.arange(L)[:, None] - torch.arange(L)[None, :]).abs() <= 1
    local = causal & window
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)
    out1 = scores.masked_fill(~local, float("-inf")).softmax(-1) @ v
    out2 = F.scaled_dot_product_attention(q, k, v, attn_mask=local)
    log(torch.allclose(out1, out2, atol=1e-6), local.int())
    lengths = torch.tensor([4, 6])
    pad = torch.arange(L)[None, :] >= lengths[:, None]
    bias = torch.zeros(B, 1, 1, L).masked_fill(pad[:, None, None, :], float("-inf"))
    out3 = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    out4 = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    log(out3[0, 0, 0], out4[1, 1, -1])
    fully = torch.zeros(L, L, dtype=torch.bool)
    log(F.scaled_dot_product_attention(q, k, v, attn_mask=fully)[0, 0, 0])
    blk = torch.block_diag(torch.ones(2, 2), torch.ones(4, 4)).bool()
    log(blk.int(), torch.triu_indices(3, 3, 1), torch.tril_indices(3, 3))


@program(tol=1e-6)
def label_smoothing_and_focal(torch, log):
    F = torch.nn.functional
    logits = torch.randn(8, 5, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 4, 0, -100, 2])
    ce = F.cross_entropy(logits, y, label_smoothing=0.1, ignore_index=-100)
    eps, K = 0.1, 5
    logp = F.log_softmax(logits, -1)
    valid = y != -100
    yy = y[valid]
    manual = -((1 - eps) * logp[valid].gather(1, yy[:, None]).squeeze(1) +
               eps / K * logp[valid].sum(1)).mean()
    log(ce, manual)
    w = torch.tensor([1.0, 2.0, 1.0, 0.5, 1.0])
    log(F.cross_entropy(logits, y, weight=w, label_smoothing=0.2),
        F.cross_entropy(logits, y, reduction="none", label_smoothing=0.05))
    gamma, alpha = 2.0, 0.25
    p = logp.exp()
    pt = p[valid].gather(1, yy[:, None]).squeeze(1)
    focal = (-alpha * (1 - pt) ** gamma * pt.log()).mean()
    focal.backward()
    log(focal, logits.grad[0])
    soft_targets = F.softmax(torch.randn(8, 5), -1)
    log(F.cross_entropy(logits, soft_targets, label_smoothing=0.1))
    log(_raises(lambda: F.cross_entropy(logits, y, label_smoothing=1.5)))


@program(tol=1e-5)
def bayesian_layer_local_reparam(torch, log):
    nn, F = torch.nn, torch.nn.functional

    class BayesLinear(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.w_mu = nn.Parameter(torch.empty(o, i).uniform_(-0.2, 0.2))
            self.w_rho = nn.Parameter(torch.full((o, i), -5.0))
            self.b = nn.Parameter(torch.zeros(o))

        def forward(self, x):
            sig = F.softplus(self.w_rho)
            mu_act = F.linear(x, self.w_mu, self.b)
            var_act = F.linear(x.pow(2), sig.pow(2))
            return mu_act + var_act.sqrt() * torch.randn_like(mu_act)

        def kl(self, prior_sigma=1.0):
            sig = F.softplus(self.w_rho)
            return (torch.log(prior_sigma / sig) + (sig ** 2 + self.w_mu ** 2) /
                    (2 * prior_sigma ** 2) - 0.5).sum()

    net = nn.Sequential(BayesLinear(3, 8), nn.ReLU(), BayesLinear(8, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    for step in range(3):
        preds = torch.stack([net(x) for _ in range(4)])
        nll = F.gaussian_nll_loss(preds.mean(0), y, preds.var(0) + 1e-3)
        kl = sum(m.kl() for m in net if isinstance(m, BayesLinear))
        loss = nll + kl / 1000
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(nll, kl)
    log(preds.std(0).mean(), type(kl).__name__)


@program(tol=1e-5)
def stft_spectrogram_and_istft(torch, log):
    sr = 800
    t = torch.arange(sr // 2) / sr
    sig = torch.sin(2 * math.pi * 50 * t) + 0.5 * torch.sin(2 * math.pi * 120 * t)
    win = torch.hann_window(64)
    spec = torch.stft(sig, n_fft=64, hop_length=16, window=win, return_complex=True)
    log(spec.shape, spec.dtype)
    mag = spec.abs()
    log(mag.argmax(0)[:5], mag.mean(), spec.angle()[3, 3])
    back = torch.istft(spec, n_fft=64, hop_length=16, window=win, length=sig.numel())
    log((back - sig).abs().max() < 1e-5)
    power_db = 10 * torch.log10(mag.pow(2).clamp(min=1e-10))
    log(power_db.max(), power_db.shape)
    spec2 = torch.stft(sig, 32, window=torch.hamming_window(32), center=False,
                       return_complex=True, onesided=False)
    log(spec2.shape, torch.fft.rfftfreq(8, d=1 / sr), torch.fft.fftfreq(5))
    log(_raises(lambda: torch.stft(sig, 64, window=win)))
    log(torch.stft(sig, 64, return_complex=True).shape, torch.stft(sig, 64, window=win,
        return_complex=False).shape, torch.ones(1).std(), torch.var_mean(torch.ones(1)))


@program(tol=1e-5)
def fft_based_circular_convolution(torch, log):
    x = torch.randn(2, 16)
    k = torch.randn(5)
    kp = torch.zeros(16)
    kp[:5] = k
    circ = torch.fft.irfft(torch.fft.rfft(x) * torch.fft.rfft(kp), n=16)
    direct = torch.stack([sum(k[j] * x[:, (i - j) % 16] for j in range(5)) for i in range(16)], 1)
    log(torch.allclose(circ, direct, atol=1e-5), circ.shape, circ.dtype)
    img = torch.randn(8, 8)
    F2 = torch.fft.fft2(img)
    log(torch.fft.fftshift(F2).abs()[4, 4], F2.real.sum(), torch.fft.ifft2(F2).real[0, :3])
    lowpass = torch.zeros(8, 8)
    lowpass[:2, :2] = 1
    log(torch.fft.ifft2(F2 * lowpass).real[0, :3], torch.fft.rfft2(img).shape)
    log(torch.fft.fft(torch.arange(4.0), norm="ortho"), torch.fft.hfft(torch.tensor([1.0, 2j])))


@program(tol=1e-5)
def augmentation_interpolate_and_pad(torch, log):
    F = torch.nn.functional
    img = torch.rand(1, 3, 10, 10)
    down_aa = F.interpolate(img, size=(4, 4), mode="bilinear", antialias=True,
                            align_corners=False)
    down = F.interpolate(img, size=(4, 4), mode="bilinear", align_corners=False)
    log(down_aa[0, 0], (down_aa - down).abs().max() > 0)
    log(F.interpolate(img, size=(5, 7), mode="bicubic", antialias=True)[0, 1, 0])
    log(F.interpolate(img, scale_factor=0.5, mode="area")[0, 2])
    log(F.interpolate(img, size=(3, 3), mode="nearest-exact")[0, 0])
    for mode in ["constant", "reflect", "replicate", "circular"]:
        p = F.pad(img, (2, 1, 1, 2), mode=mode)
        log(mode, p.shape, p[0, 0, 0, :4])
    log(F.pad(img, (1, 1), value=-1.0)[0, 0, 0, :3], F.pad(img, (-1, -1, -2, 0)).shape)
    flip = torch.flip(img, dims=[3])
    rot = torch.rot90(img, k=1, dims=(2, 3))
    log(flip[0, 0, 0, 0] == img[0, 0, 0, -1], rot.shape, torch.rot90(img, -1, (2, 3))[0, 0, 0, 0])
    crop_y, crop_x = torch.randint(0, 3, (2,)).tolist()
    log(img[..., crop_y:crop_y + 8, crop_x:crop_x + 8].shape)
    gray = (img * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    jitter = (img * 1.2 + 0.1).clamp(0, 1)
    log(gray.shape, jitter.max(), (jitter == 1).sum())
    log(_raises(lambda: F.pad(img, (2, 2), mode="reflect", value=1.0)))
    log(_raises(lambda: F.pad(img, (20, 20), mode="reflect")))


@program(tol=1e-5)
def affine_grid_and_grid_sample_modes(torch, log):
    F = torch.nn.functional
    img = torch.arange(16.0).view(1, 1, 4, 4)
    theta = torch.tensor([[[0.8, -0.2, 0.1], [0.3, 0.9, -0.1]]])
    for ac in [False, True]:
        grid = F.affine_grid(theta, (1, 1, 4, 4), align_corners=ac)
        for mode in ["bilinear", "nearest", "bicubic"]:
            for pm in ["zeros", "border", "reflection"]:
                out = F.grid_sample(img, grid, mode=mode, padding_mode=pm, align_corners=ac)
                log(ac, mode, pm, out[0, 0])
    shift = torch.tensor([[[1.0, 0, 0.5], [0, 1.0, 0]]])
    g = F.affine_grid(shift, (1, 1, 4, 4), align_corners=False)
    log(g[0, 0], F.grid_sample(img, g, align_corners=False)[0, 0, 0])
    theta3 = torch.eye(3, 4).unsqueeze(0)
    log(F.affine_grid(theta3, (1, 1, 2, 2, 2), align_corners=False).shape)


@program()
def bit_manipulation(torch, log):
    x = torch.tensor([0b1011, 0b0110, 255, -1, -128], dtype=torch.int32)
    log(x & 0xF, x | 0x100, x ^ 0b1111, ~x, x << 2, x >> 1)
    log(torch.bitwise_and(x, torch.tensor(3, dtype=torch.int32)), torch.bitwise_left_shift(x, 3),
        torch.bitwise_right_shift(x, torch.tensor([0, 1, 2, 3, 4], dtype=torch.int32)))
    u = torch.tensor([1, 128, 255], dtype=torch.uint8)
    log(u << 1, u >> 7, ~u, u ^ 0xFF, (u & 1).bool())
    popcount = torch.zeros_like(u)
    v = u.clone()
    for _ in range(8):
        popcount += v & 1
        v >>= 1
    log(popcount, v)
    bits = (torch.tensor([5, 9])[:, None] >> torch.arange(4)) & 1
    log(bits, (bits * (2 ** torch.arange(4))).sum(1))
    i8 = torch.tensor([100, -100], dtype=torch.int8)
    log(i8 << 1, i8 >> 3, i8.bitwise_not(), torch.bitwise_xor(i8, i8.flip(0)))
    b = torch.tensor([True, False, True])
    log(b & torch.tensor([True, True, False]), b ^ True, ~b, b | False)
    log(_raises(lambda: torch.tensor([1.0]) & 1), _raises(lambda: torch.tensor([1.5]) << 1))
    h = torch.tensor([0x12345678], dtype=torch.int64)
    log(((h * 2654435761) & 0xFFFFFFFF) >> 16, h.item() & 0xFF)


@program()
def integer_overflow_and_wraparound(torch, log):
    a = torch.tensor([127], dtype=torch.int8)
    log(a + 1, a * 2, -torch.tensor([-128], dtype=torch.int8))
    u = torch.tensor([250, 5], dtype=torch.uint8)
    log(u + 10, u - 10, u * 2, u + torch.tensor([10], dtype=torch.uint8), u.sum(), u.sum().dtype)
    log(u.cumsum(0), u.prod(), u.to(torch.int8), torch.tensor([300, -1]).to(torch.uint8))
    i32 = torch.tensor([2 ** 31 - 1], dtype=torch.int32)
    log(i32 + 1, i32.sum().dtype, i32 * i32, i32.to(torch.int16))
    i64 = torch.tensor([2 ** 62])
    log(i64 * 2, i64 * 4, torch.iinfo(torch.int64).max, repr(torch.iinfo(torch.uint8)))
    log(torch.tensor([1e10]).to(torch.int32).dtype, torch.tensor([3.9, -3.9]).int(),
        torch.tensor([3.9, -3.9]).long(), torch.tensor([255.7]).byte())
    log(u.float().mean(), u.double().var(), (u.int() - 251))
    log(torch.tensor([200], dtype=torch.uint8) + 100, torch.tensor([200], dtype=torch.uint8) + 100.0)
    log(torch.iinfo(torch.int32).min, torch.finfo(torch.float16).max, torch.finfo().eps,
        torch.finfo(torch.bfloat16).tiny)


@program()
def floor_division_and_remainder_of_negatives(torch, log):
    a = torch.tensor([7, -7, 7, -7])
    b = torch.tensor([2, 2, -2, -2])
    log(a // b, a % b, torch.div(a, b, rounding_mode="trunc"), torch.fmod(a, b),
        torch.remainder(a, b), torch.div(a, b, rounding_mode="floor"), a / b)
    f = a.float()
    log(f // 2, f % -3, torch.fmod(f, -3), torch.floor_divide(f, 2.5), -7.5 // f)
    log(torch.tensor(-7) // 2, -7 // torch.tensor(2), 7 % torch.tensor(-3),
        torch.tensor([5.0]) % 0, torch.tensor([-5.0]) // 0)
    log(_raises(lambda: torch.tensor([5]) // 0), _raises(lambda: torch.tensor([5]) % 0))
    u = torch.tensor([7], dtype=torch.uint8)
    log(u // 2, u % 3, torch.div(u, 2), torch.div(u, 2, rounding_mode="floor"))
    x = torch.arange(-5, 6)
    log(x // 3, x % 3, x.div(3, rounding_mode="trunc"), x.remainder(-4), x.float().fmod(2.5))
    log(divmod(17, 5), torch.tensor(17).__divmod__(torch.tensor(5))
        if hasattr(torch.Tensor, "__divmod__") else "no")


@program()
def integer_tensor_dtype_edge_cases(torch, log):
    x = torch.tensor([1, 2, 3, 4])
    log(x / 2, (x / 2).dtype, x * 0.5, x + True, (x > 2).sum(), (x > 2).sum().dtype)
    log(x.float().mean(), x.sum() / x.numel(), x.double().std())
    log(_raises(lambda: x.mean()), _raises(lambda: x.std()), _raises(lambda: torch.mean(x)))
    log(_raises(lambda: x.var()), _raises(lambda: torch.median(x.float()[:0])))
    b = torch.tensor([True, False, True, True])
    log(b.sum(), b.float().mean(), b.int(), b + b, b * 3, b.all(), b.any(), b.prod())
    log(_raises(lambda: b - b), _raises(lambda: -b), b.cumsum(0), b.long().cumprod(0))
    log(torch.tensor([1, 2]) ** 2, torch.tensor([2]) ** -1.0, _raises(
        lambda: torch.tensor([2]) ** -1))
    log(torch.tensor([1, 2]) ** 0.5, 2 ** torch.tensor([3, 4]), torch.tensor([4]).sqrt(),
        torch.tensor([4]).exp().dtype)
    log(x.max(), x.argmax(), x.clamp(max=2.5).dtype, x.clamp(2, 3), torch.clamp(x, min=1.5))
    log(torch.tensor([3]) * 1.5, torch.tensor([3], dtype=torch.int16) * torch.tensor(1.5),
        (torch.tensor([3], dtype=torch.int16) + torch.tensor(100000)).dtype)
    log(torch.arange(5).sum(dtype=torch.float32), torch.tensor([1, 2]).prod(dtype=torch.int8),
        torch.tensor([True]).sum(dtype=torch.bool) if False else None)
    log(_raises(lambda: x.add_(0.5)), _raises(lambda: b.add_(1)), x.mul_(2))
    log(torch.round(torch.tensor([0.5, 1.5, 2.5, -0.5])), torch.tensor([7]).to(torch.float16) / 3)


@program()
def formatted_printing_of_tensors(torch, log):
    loss = torch.tensor(0.123456789)
    acc = torch.tensor(0.91)
    print(f"loss={loss:.4f} acc={acc:.2%} raw={loss}")
    print(f"{loss.item():e} {float(loss):10.3f}| {int(torch.tensor(7)):04d}")
    print("epoch %d loss %.3f" % (1, loss))
    print("{:.2f}".format(torch.tensor(3.14159)))
    print(f"{torch.tensor(5):>4}", f"{torch.tensor(2.5)}", f"{torch.tensor([1.5, 2.0])}")
    print(str(torch.tensor([1.0])), repr(torch.tensor(1.0, dtype=torch.float64)))
    print(torch.tensor([1e-10, 1e10]), torch.tensor([0.001, 0.0001]))
    print(torch.tensor([[float("nan"), 1.0], [float("inf"), -0.0]]))
    print(torch.tensor([1 + 1j, float("nan") + 2j], dtype=torch.complex64))
    print(torch.tensor([123456.7, 0.5]), torch.tensor([1.0, 2.0, 3.0]) * 1e-5)
    print(torch.full((3,), 1e20), torch.tensor([1.0, 10.0, 100.0]))
    print(torch.tensor(2.0, requires_grad=True), torch.tensor([1, 2], dtype=torch.int16))
    print(torch.tensor([0.5], dtype=torch.float16), torch.tensor([0.1], dtype=torch.bfloat16))
    print(torch.empty(0), torch.empty(2, 0, dtype=torch.int64), torch.tensor([[]]))
    print(torch.tensor([-1.5, 2.25]).abs(), torch.tensor([1, -2]).sign())
    log(format(torch.tensor(3.0), ".1f"), "{}".format(torch.tensor([1])))
    log(_raises(lambda: f"{torch.tensor([1.0, 2.0]):.2f}"))
    torch.set_printoptions(precision=2)
    print(torch.tensor([3.14159, 2.71828]))
    torch.set_printoptions(sci_mode=False)
    print(torch.tensor([1e-6, 1e6]))
    torch.set_printoptions(threshold=5, edgeitems=1)
    print(torch.arange(10.0), torch.arange(30).view(5, 6))
    torch.set_printoptions(profile="default")
    torch.set_printoptions(sci_mode=None)
    print(torch.tensor([1e-6, 1e6]))


@program()
def torch_size_arithmetic(torch, log):
    x = torch.zeros(2, 3, 4, 5)
    s = x.shape
    log(s, s[1:], s[-1], s + (6,), len(s), s.numel(), s[::-1], type(s[1:]).__name__)
    log(list(s), tuple(s), s == (2, 3, 4, 5), s == [2, 3, 4, 5], torch.Size([2, 3]) + torch.Size([4]))
    log(x.size(), x.size(1), x.size(-1), x.dim(), x.ndim, x.numel(), x.nelement())
    b, *rest = x.shape
    log(b, rest, math.prod(rest), x.view(b, -1).shape, x.flatten(1).shape)
    log(torch.Size([]), torch.Size([]).numel(), torch.zeros(()).shape, torch.tensor(5).size())
    log(repr(torch.Size([1])), str(s), hash(s) == hash((2, 3, 4, 5)), s.count(4), s.index(4))
    log(x.new_zeros(s[:2]).shape, torch.zeros(*s[1:]).shape, torch.ones(s).shape)
    log(x.reshape(s[0] * s[1], *s[2:]).shape, x.unflatten(1, (3, 1)).shape)
    log(torch.broadcast_shapes((2, 1, 4), (3, 1)), torch.Size((1, 2)) * 2)
    log(_raises(lambda: torch.broadcast_shapes((2, 3), (4,))),
        _raises(lambda: x.size(4)), _raises(lambda: torch.Size([2.5])))
    log(isinstance(s, tuple), x.shape[2:] == torch.Size([4, 5]), max(s), sum(s))


@program()
def shape_error_messages(torch, log):
    a, b = torch.randn(2, 3), torch.randn(4, 5)
    log(_raises(lambda: a @ b))
    log(_raises(lambda: torch.mm(a, b)))
    log(_raises(lambda: torch.matmul(torch.randn(2, 3, 4), torch.randn(5, 6))))
    log(_raises(lambda: torch.bmm(torch.randn(2, 3, 4), torch.randn(3, 4, 5))))
    log(_raises(lambda: torch.cat([a, b])))
    log(_raises(lambda: torch.cat([a, torch.randn(2, 3, 1)])))
    log(_raises(lambda: torch.stack([a, a.T])))
    log(_raises(lambda: a.view(4, 2)))
    log(_raises(lambda: a.T.view(6)))
    log(_raises(lambda: a.reshape(-1, -1)))
    log(_raises(lambda: a + b))
    log(_raises(lambda: a.expand(4, 3)))
    log(_raises(lambda: torch.nn.Linear(4, 2)(a)))
    log(_raises(lambda: torch.nn.Conv2d(3, 8, 3)(torch.randn(1, 4, 8, 8))))
    log(_raises(lambda: torch.nn.Conv2d(3, 8, 5)(torch.randn(1, 3, 3, 3))))
    log(_raises(lambda: torch.nn.functional.cross_entropy(a, torch.tensor([0, 5]))))
    log(_raises(lambda: torch.nn.functional.mse_loss(a, b)))
    log(_raises(lambda: a[2]))
    log(_raises(lambda: a[:, 3]))
    log(_raises(lambda: a.permute(0, 0)))
    log(_raises(lambda: a.transpose(0, 2)))
    log(_raises(lambda: a.squeeze(3)))
    log(_raises(lambda: torch.dot(torch.ones(3), torch.ones(4))))
    log(_raises(lambda: torch.randn(2, 3).gather(1, torch.tensor([[0, 1, 5]]))))
    log(_raises(lambda: a.split([1, 1, 2], dim=1)))
    log(_raises(lambda: a.view(-1, 4)))


@program()
def dtype_and_device_mismatch_errors(torch, log):
    a = torch.randn(2, 3)
    d = torch.randn(3, 2, dtype=torch.float64)
    log(_raises(lambda: a @ d))
    log(_raises(lambda: torch.mm(a, torch.ones(3, 2, dtype=torch.int64))))
    log(_raises(lambda: torch.nn.Linear(3, 2)(torch.ones(1, 3, dtype=torch.float64))))
    log(_raises(lambda: torch.nn.Linear(3, 2)(torch.ones(1, 3, dtype=torch.long))))
    log(_raises(lambda: torch.nn.Embedding(5, 2)(torch.tensor([1.0]))))
    log(_raises(lambda: torch.nn.functional.cross_entropy(a, torch.tensor([0.0, 1.0]))))
    log(_raises(lambda: torch.nn.functional.nll_loss(a, torch.tensor([0, 1], dtype=torch.int32))))
    log(_raises(lambda: a.index_select(0, torch.tensor([0.0]))))
    log(_raises(lambda: a[torch.tensor([0.5])]))
    log(_raises(lambda: torch.zeros(3).index_add_(0, torch.tensor([0]), torch.ones(1,
                                                                                   dtype=torch.float64))))
    log(_raises(lambda: torch.zeros(3, dtype=torch.long).scatter_(0, torch.tensor([0]),
                                                                   torch.ones(1))))
    log(_raises(lambda: torch.where(a > 0, a, torch.zeros(2, 3, dtype=torch.float64)).dtype))
    log(_raises(lambda: torch.randn(2, dtype=torch.int64)))
    log(_raises(lambda: torch.ones(2, dtype=torch.int64).requires_grad_()))
    log(_raises(lambda: torch.tensor([1, 2], requires_grad=True)))
    x = torch.ones(2, requires_grad=True)
    log(_raises(lambda: x.numpy()), _raises(lambda: x.add_(1)), _raises(lambda: x.sum().backward()
                                                                        or x.sum().backward()))
    y = x * 2
    y.sum().backward()
    log(_raises(lambda: y.sum().backward()))
    log(_raises(lambda: torch.ones(2).backward()))
    log(_raises(lambda: torch.ones(2, requires_grad=True).mul(2).backward()))


@program(tol=1e-5)
def moco_queue_infonce(torch, log):
    nn, F = torch.nn, torch.nn.functional
    enc_q = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    enc_k = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    for pq, pk in zip(enc_q.parameters(), enc_k.parameters()):
        pk.data.copy_(pq.data)
        pk.requires_grad = False
    queue = F.normalize(torch.randn(4, 12), dim=0)
    ptr = 0
    opt = torch.optim.SGD(enc_q.parameters(), lr=0.03, momentum=0.9, weight_decay=1e-4)
    for step in range(3):
        x = torch.randn(4, 8)
        q = F.normalize(enc_q(x + 0.1 * torch.randn_like(x)), dim=1)
        with torch.no_grad():
            for pq, pk in zip(enc_q.parameters(), enc_k.parameters()):
                pk.data = pk.data * 0.99 + pq.data * 0.01
            k = F.normalize(enc_k(x + 0.1 * torch.randn_like(x)), dim=1)
        l_pos = torch.einsum("nc,nc->n", q, k).unsqueeze(-1)
        l_neg = torch.einsum("nc,ck->nk", q, queue.clone().detach())
        logits = torch.cat([l_pos, l_neg], dim=1) / 0.07
        labels = torch.zeros(logits.shape[0], dtype=torch.long)
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        queue[:, ptr:ptr + 4] = k.T
        ptr = (ptr + 4) % 12
        log(loss, ptr, (logits.argmax(1) == 0).float().mean())


@program(tol=1e-5)
def triplet_and_contrastive_margins(torch, log):
    nn, F = torch.nn, torch.nn.functional
    emb = nn.Linear(6, 3)
    a, p, n = torch.randn(5, 6), torch.randn(5, 6), torch.randn(5, 6)
    ea, ep, en = emb(a), emb(p), emb(n)
    log(F.triplet_margin_loss(ea, ep, en, margin=1.0, p=2, swap=True))
    loss_fn = nn.TripletMarginWithDistanceLoss(
        distance_function=lambda x, y: 1.0 - F.cosine_similarity(x, y), margin=0.5)
    log(loss_fn(ea, ep, en))
    d = F.pairwise_distance(ea, ep, keepdim=True)
    same = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0])
    contrastive = (same * d.squeeze().pow(2) + (1 - same) * F.relu(1.0 - d.squeeze()).pow(2)).mean()
    log(d.shape, contrastive)
    log(F.cosine_embedding_loss(ea, ep, torch.tensor([1, -1, 1, -1, 1]), margin=0.2))
    log(F.margin_ranking_loss(d.squeeze(), F.pairwise_distance(ea, en),
                              torch.full((5,), -1.0), margin=0.1))
    dist = torch.cdist(ea, ea)
    pos_mask = torch.eye(5, dtype=torch.bool)
    hardest_neg = dist.masked_fill(pos_mask, float("inf")).min(1)
    log(hardest_neg.values, hardest_neg.indices)
    (contrastive + hardest_neg.values.sum()).backward()
    log(emb.weight.grad)


@program(tol=1e-5)
def ddpm_noise_schedule(torch, log):
    nn, F = torch.nn, torch.nn.functional
    T = 50
    betas = torch.linspace(1e-4, 0.02, T)
    alphas = 1.0 - betas
    abar = torch.cumprod(alphas, dim=0)
    abar_prev = F.pad(abar[:-1], (1, 0), value=1.0)
    post_var = betas * (1 - abar_prev) / (1 - abar)
    log(abar[[0, 24, -1]], post_var[:3], abar_prev[:2])

    def extract(a, t, shape):
        return a.gather(-1, t).reshape(t.shape[0], *((1,) * (len(shape) - 1)))

    def timestep_embedding(t, dim):
        half = dim // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        args = t[:, None].float() * freqs[None]
        return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)

    net = nn.Sequential(nn.Linear(4 + 8, 32), nn.SiLU(), nn.Linear(32, 4))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x0 = torch.randn(6, 4)
    for step in range(3):
        t = torch.randint(0, T, (6,))
        noise = torch.randn_like(x0)
        xt = extract(abar, t, x0.shape).sqrt() * x0 + extract(1 - abar, t, x0.shape).sqrt() * noise
        pred = net(torch.cat([xt, timestep_embedding(t, 8)], 1))
        loss = F.mse_loss(pred, noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(t, loss)
    with torch.no_grad():
        x = torch.randn(2, 4)
        for i in reversed(range(0, T, 10)):
            tt = torch.full((2,), i, dtype=torch.long)
            eps = net(torch.cat([x, timestep_embedding(tt, 8)], 1))
            mean = (x - betas[i] / (1 - abar[i]).sqrt() * eps) / alphas[i].sqrt()
            x = mean + (post_var[i].sqrt() * torch.randn_like(x) if i > 0 else 0)
    log(x)


@program(tol=1e-5)
def langevin_energy_model(torch, log):
    nn = torch.nn
    energy = nn.Sequential(nn.Linear(2, 16), nn.Softplus(), nn.Linear(16, 1))
    x = torch.randn(8, 2, requires_grad=True)
    for k in range(5):
        e = energy(x).sum()
        g, = torch.autograd.grad(e, x)
        x = (x - 0.05 * g + math.sqrt(0.1) * 0.1 * torch.randn_like(x)).detach().requires_grad_()
    log(x, energy(x).mean())
    data = torch.randn(8, 2) * 0.5 + 1
    cd = energy(data).mean() - energy(x.detach()).mean()
    reg = (energy(data) ** 2).mean() + (energy(x.detach()) ** 2).mean()
    (cd + 0.1 * reg).backward()
    log(cd, [p.grad.norm() for p in energy.parameters()])


@program(tol=1e-5)
def pinn_heat_equation(torch, log):
    nn = torch.nn
    net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                        nn.Linear(16, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for it in range(3):
        xt = torch.rand(20, 2, requires_grad=True)
        u = net(xt)
        du = torch.autograd.grad(u, xt, grad_outputs=torch.ones_like(u), create_graph=True)[0]
        u_x, u_t = du[:, 0:1], du[:, 1:2]
        u_xx = torch.autograd.grad(u_x, xt, torch.ones_like(u_x), create_graph=True)[0][:, 0:1]
        residual = u_t - 0.1 * u_xx
        x0 = torch.rand(10, 1)
        ic = net(torch.cat([x0, torch.zeros_like(x0)], 1)) - torch.sin(math.pi * x0)
        bc = net(torch.tensor([[0.0, 0.5], [1.0, 0.5]]))
        loss = residual.pow(2).mean() + ic.pow(2).mean() + bc.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(loss, u_xx.shape, u_xx.requires_grad)


@program(tol=1e-7)   # the float32 exp of the initial profile: torch's vectorised exp is 1 ulp off
def finite_difference_stencils(torch, log):
    F = torch.nn.functional
    n = 10
    u = torch.exp(-((torch.linspace(-1, 1, n) / 0.3) ** 2)).view(1, 1, n).double()
    lap = torch.tensor([[[1.0, -2.0, 1.0]]], dtype=torch.float64)
    for step in range(5):
        u = u + 0.2 * F.conv1d(F.pad(u, (1, 1), mode="replicate"), lap)
    log(u, u.sum())
    grid = torch.zeros(1, 1, 6, 6, dtype=torch.float64)
    grid[..., 2:4, 2:4] = 1
    k2 = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=torch.float64).view(1, 1, 3, 3)
    log(F.conv2d(F.pad(grid, (1, 1, 1, 1), mode="circular"), k2)[0, 0])
    dx = torch.diff(u.flatten(), n=1)
    log(dx, torch.diff(u.flatten(), n=2, prepend=u.flatten()[:1]),
        torch.gradient(u.flatten(), spacing=0.5)[0])
    y = torch.sin(torch.linspace(0, math.pi, 11, dtype=torch.float64))
    log(torch.trapezoid(y, dx=math.pi / 10), torch.cumulative_trapezoid(y)[-1])


@program()
def game_of_life_int_conv(torch, log):
    F = torch.nn.functional
    board = torch.zeros(8, 8, dtype=torch.uint8)
    board[1, 2] = board[2, 3] = board[3, 1] = board[3, 2] = board[3, 3] = 1   # glider
    kernel = torch.ones(1, 1, 3, 3)
    kernel[0, 0, 1, 1] = 0
    for gen in range(4):
        nb = F.conv2d(F.pad(board.float()[None, None], (1, 1, 1, 1), mode="circular"),
                      kernel).squeeze().to(torch.uint8)
        board = ((nb == 3) | ((board == 1) & (nb == 2))).to(torch.uint8)
        log(gen, board.sum(), board.nonzero().tolist())
    alt = board.clone()
    neigh = sum(torch.roll(alt, (i, j), (0, 1)) for i in (-1, 0, 1) for j in (-1, 0, 1)
                if (i, j) != (0, 0))
    log(neigh.dtype, neigh.max(), ((neigh == 3) | (alt.bool() & (neigh == 2))).int().sum())
    print(board)


@program()
def mandelbrot_complex(torch, log):
    xs = torch.linspace(-2, 0.5, 12)
    ys = torch.linspace(-1, 1, 8)
    Y, X = torch.meshgrid(ys, xs, indexing="ij")
    c = torch.complex(X, Y)
    z = torch.zeros_like(c)
    count = torch.zeros(c.shape, dtype=torch.int32)
    for i in range(20):
        z = torch.where(z.abs() <= 2, z * z + c, z)
        count += (z.abs() <= 2).int()
    log(c.dtype, count, z.abs().isfinite().all())
    log(torch.view_as_real(c[0, :2]), c.real.dtype, torch.polar(torch.ones(2), torch.tensor(
        [0.0, math.pi / 2])), c.conj()[0, 0], (c * 1j)[0, 0], c.angle()[0, 0])
    print(c[0, :3])


@program(tol=1e-6)
def markov_chain_and_hmm(torch, log):
    P = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]], dtype=torch.float64)
    pi = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    log(pi @ torch.linalg.matrix_power(P, 50), torch.linalg.matrix_power(P, 0))
    vals, vecs = torch.linalg.eig(P.T)
    i = vals.real.argmax()
    stat = vecs[:, i].real / vecs[:, i].real.sum()
    log(vals.dtype, vals.abs().max(), stat)
    E = torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]], dtype=torch.float64)
    obs = torch.tensor([0, 1, 1, 0])
    alpha = pi * E[:, obs[0]]
    scales = [alpha.sum()]
    alpha = alpha / scales[-1]
    for o in obs[1:]:
        alpha = (alpha @ P) * E[:, o]
        scales.append(alpha.sum())
        alpha = alpha / scales[-1]
    log(torch.stack(scales).log().sum(), alpha)
    chain = [0]
    for _ in range(10):
        chain.append(torch.multinomial(P[chain[-1]], 1).item())
    log(chain)


@program()
def monte_carlo_estimation(torch, log):
    n = 2000
    pts = torch.rand(n, 2)
    inside = (pts.pow(2).sum(1) <= 1).sum()
    log(inside, 4 * inside / n, (4 * inside / n).dtype)
    x = torch.randn(n)
    log((x > 1.96).float().mean(), x.mean(), x.var(unbiased=False), torch.std_mean(x))
    w = torch.distributions.Normal(0.0, 2.0)
    samples = w.sample((n,))
    iw = torch.distributions.Normal(0.0, 1.0).log_prob(samples) - w.log_prob(samples)
    log((iw.exp() * (samples > 1.96)).mean())
    idx = torch.multinomial(torch.tensor([0.1, 0.2, 0.7]), 1000, replacement=True)
    log(torch.bincount(idx), torch.multinomial(torch.tensor([1.0, 1.0, 8.0, 0.0]), 3))
    log(torch.bernoulli(torch.full((10,), 0.3)), torch.poisson(torch.tensor([1.0, 5.0, 20.0])))
    g = torch.Generator().manual_seed(42)
    log(torch.rand(3, generator=g), torch.randn(2, generator=g), torch.randperm(5, generator=g),
        torch.randint(10, (3,), generator=g))
    log(torch.normal(torch.zeros(3), torch.tensor([1.0, 0.1, 10.0])),
        torch.normal(2.0, 3.0, size=(2,)), torch.empty(3).exponential_(2.0),
        torch.empty(3).geometric_(0.5), torch.empty(2).log_normal_(), torch.empty(2).cauchy_())


@program()
def vocabulary_and_histograms(torch, log):
    tokens = torch.tensor([5, 3, 5, 1, 3, 5, 9, 1, 1, 1])
    uniq, inverse, counts = torch.unique(tokens, return_inverse=True, return_counts=True)
    log(uniq, inverse, counts, torch.unique(tokens, sorted=True, return_counts=True)[1])
    log(torch.unique_consecutive(tokens, return_counts=True),
        torch.unique(torch.tensor([[1, 2], [1, 2], [3, 4]]), dim=0))
    order = counts.argsort(descending=True, stable=True)
    log(uniq[order], counts[order])
    bins = torch.tensor([0.0, 0.25, 0.5, 1.0])
    vals = torch.tensor([0.1, 0.25, 0.7, 1.0, -1.0, 2.0])
    log(torch.bucketize(vals, bins), torch.bucketize(vals, bins, right=True),
        torch.searchsorted(bins, vals), torch.searchsorted(bins, vals, side="right"))
    log(torch.histc(vals, bins=4, min=0, max=1), torch.histogram(vals, bins=3))
    cdf = torch.cumsum(torch.tensor([0.2, 0.3, 0.5]), 0)
    u = torch.rand(5)
    log(torch.searchsorted(cdf, u), cdf)
    log(torch.bincount(tokens, weights=torch.ones(10) * 0.5), tokens.mode(), tokens.median())
    words = "the cat sat on the mat the end".split()
    vocab = {w: i for i, w in enumerate(sorted(set(words)))}
    ids = torch.tensor([vocab[w] for w in words])
    log(ids, torch.bincount(ids).argmax().item(), torch.nn.functional.one_hot(ids).sum(0))


@program()
def fake_quantization(torch, log):
    x = torch.randn(8) * 3
    qmin, qmax = -128, 127
    scale = (x.max() - x.min()) / (qmax - qmin)
    zp = (qmin - torch.round(x.min() / scale)).clamp(qmin, qmax).int()
    q = torch.clamp(torch.round(x / scale) + zp, qmin, qmax)
    deq = (q - zp) * scale
    log(scale, zp, q, deq, (deq - x).abs().max() <= scale)
    fq = torch.fake_quantize_per_tensor_affine(x, scale.item(), int(zp), qmin, qmax)
    log(fq, torch.equal(fq, deq))
    qi8 = q.to(torch.int8)
    log(qi8, qi8.dtype, qi8.to(torch.float32) * scale)
    w = torch.randn(3, 4)
    s = w.abs().amax(dim=1, keepdim=True) / 127
    wq = (w / s).round().clamp(-127, 127).to(torch.int8)
    log(wq, (wq.float() * s - w).abs().max() < s.max())
    xs = torch.randn(4, requires_grad=True)
    ste = xs + (torch.round(xs * 4) / 4 - xs).detach()
    ste.sum().backward()
    log(ste, xs.grad)
    log(torch.fake_quantize_per_channel_affine(w, s.squeeze(1), torch.zeros(3, dtype=torch.int32),
                                               0, -127, 127))


@program(tol=1e-6)   # float32 sigmoid(-20): torch's vectorised exp is 1 ulp off
def numerically_stable_functions(torch, log):
    x = torch.tensor([-1000.0, -20.0, 0.0, 20.0, 1000.0])
    log(torch.log1p(torch.exp(x)), torch.nn.functional.softplus(x), torch.logaddexp(x, x))
    log(torch.sigmoid(x), torch.nn.functional.logsigmoid(x), torch.log(torch.sigmoid(x)))
    log(torch.expm1(torch.tensor([1e-10, 1.0])), torch.exp(torch.tensor([1e-10])) - 1,
        torch.log1p(torch.tensor([1e-10])))
    log(torch.logsumexp(torch.tensor([-float("inf"), -float("inf")]), 0),
        torch.log_softmax(torch.tensor([0.0, -float("inf")]), 0),
        torch.softmax(torch.tensor([-float("inf"), -float("inf")]), 0))
    log(torch.logsumexp(torch.tensor([1000.0, 1000.0]), 0), torch.logaddexp2(x[:2], x[:2]))
    log(torch.xlogy(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 2.0])),
        torch.special.xlog1py(torch.tensor([0.0]), torch.tensor([-1.0])),
        torch.special.entr(torch.tensor([0.0, 0.5, -1.0])))
    p = torch.tensor([0.0, 0.3, 1.0])
    log(torch.special.logit(p), torch.special.logit(p, eps=1e-6), torch.nan_to_num(
        torch.special.logit(p), posinf=10.0, neginf=-10.0))
    x16 = torch.tensor([60000.0, 70000.0], dtype=torch.float16)
    log(x16, x16 * 2, x16.float() * 2, (x16 / 1000).exp())
    log(torch.tensor([1e-45]), torch.tensor([1e-46]), torch.tensor(1e38) * 10,
        torch.finfo(torch.float32).tiny / 2)
    log(torch.hypot(torch.tensor([3e30]), torch.tensor([4e30])), torch.tensor([3e30]).pow(2))


@program(tol=1e-6)
def ranking_metrics(torch, log):
    scores = torch.tensor([0.9, 0.3, 0.6, 0.8, 0.1, 0.5])
    labels = torch.tensor([1, 0, 1, 0, 0, 1])
    order = scores.argsort(descending=True)
    ranks = torch.empty_like(order)
    ranks[order] = torch.arange(1, 7)
    log(order, ranks)
    pos = labels.bool()
    auc = ((scores[pos][:, None] > scores[~pos][None, :]).float().mean())
    log(auc)
    rel = labels[order].float()
    prec_at = rel.cumsum(0) / torch.arange(1, 7)
    ap = (prec_at * rel).sum() / rel.sum()
    dcg = (rel / torch.log2(torch.arange(2, 8).float())).sum()
    ideal = (rel.sort(descending=True).values / torch.log2(torch.arange(2, 8).float())).sum()
    log(prec_at, ap, dcg / ideal)
    topk = scores.topk(3)
    log(topk, labels[topk.indices].sum() / 3)
    rr = 1.0 / (rel.nonzero()[0] + 1)
    log(rr, torch.kthvalue(scores, 2), scores.sort(stable=True))


@program()
def confusion_matrix_and_iou(torch, log):
    num_classes = 4
    pred = torch.tensor([0, 1, 2, 3, 1, 1, 2, 0, 3, 3])
    target = torch.tensor([0, 1, 1, 3, 1, 2, 2, 0, 0, 3])
    cm = torch.bincount(target * num_classes + pred, minlength=num_classes ** 2).reshape(4, 4)
    log(cm)
    tp = cm.diag()
    precision = tp / cm.sum(0).clamp(min=1)
    recall = tp / cm.sum(1)
    f1 = 2 * precision * recall / (precision + recall)
    log(precision, recall, f1, f1.nanmean(), (tp.sum() / cm.sum()).item())
    iou = tp / (cm.sum(0) + cm.sum(1) - tp)
    log(iou, iou.mean(), iou.dtype)
    seg_pred = torch.randint(0, 3, (2, 4, 4))
    seg_true = torch.randint(0, 3, (2, 4, 4))
    seg_true[0, 0] = 255
    valid = seg_true != 255
    cm2 = torch.zeros(3, 3, dtype=torch.long)
    cm2.index_put_((seg_true[valid], seg_pred[valid]), torch.ones(valid.sum(), dtype=torch.long),
                   accumulate=True)
    log(cm2, valid.sum(), cm2.sum())
    log((pred == target).float().mean(), (pred == target).sum().item() / len(pred),
        torch.eq(pred, target).sum())


@program(tol=1e-6)
def survival_cox_and_ordinal(torch, log):
    F = torch.nn.functional
    risk = torch.randn(8, requires_grad=True)
    time = torch.tensor([5.0, 3.0, 8.0, 1.0, 6.0, 2.0, 7.0, 4.0])
    event = torch.tensor([1, 0, 1, 1, 0, 1, 1, 0]).float()
    order = torch.argsort(time, descending=True)
    r, e = risk[order], event[order]
    log_cum = torch.logcumsumexp(r, dim=0)
    cox = -((r - log_cum) * e).sum() / e.sum()
    cox.backward()
    log(log_cum, cox, risk.grad)
    logits = torch.randn(5, 1, requires_grad=True)
    raw = torch.randn(3)
    cuts = torch.cat([raw[:1], raw[:1] + F.softplus(raw[1:]).cumsum(0)])
    cdf = torch.sigmoid(cuts[None, :] - logits)
    probs = torch.diff(F.pad(cdf, (1, 1), value=0.0).index_fill(1, torch.tensor([4]), 1.0), dim=1)
    y = torch.tensor([0, 1, 2, 3, 1])
    nll = -probs.gather(1, y[:, None]).clamp_min(1e-9).log().mean()
    nll.backward()
    log(cuts, probs.sum(1), nll, logits.grad.squeeze())
    rate = torch.exp(torch.randn(6))
    counts = torch.poisson(torch.full((6,), 3.0))
    log(F.poisson_nll_loss(rate.log(), counts), F.poisson_nll_loss(rate, counts, log_input=False,
                                                                   full=True))


@program(tol=1e-5)
def hinge_losses_and_svm(torch, log):
    nn, F = torch.nn, torch.nn.functional
    X = torch.randn(20, 2)
    y = torch.where(X[:, 0] + X[:, 1] > 0, 1.0, -1.0)
    w = torch.zeros(2, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=0.1)
    for epoch in range(10):
        margin = y * (X @ w + b)
        loss = torch.clamp(1 - margin, min=0).mean() + 0.01 * w.dot(w)
        opt.zero_grad()
        loss.backward()
        opt.step()
    log(w, b, loss, (torch.sign(X @ w + b) == y).float().mean())
    scores = torch.randn(4, 5, requires_grad=True)
    tgt = torch.tensor([1, 0, 4, 2])
    log(F.multi_margin_loss(scores, tgt), F.multi_margin_loss(scores, tgt, p=2, margin=0.5),
        nn.MultiLabelMarginLoss()(scores, torch.tensor([[1, 2, -1, 0, 0]] * 4)),
        F.multilabel_soft_margin_loss(scores, (torch.rand(4, 5) > 0.5).float()),
        F.soft_margin_loss(scores[:, 0], torch.tensor([1.0, -1.0, 1.0, -1.0])),
        F.hinge_embedding_loss(scores[0], torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0])))


@program(tol=1e-5)
def logistic_regression_lbfgs(torch, log):
    X = torch.randn(30, 3, dtype=torch.float64)
    true_w = torch.tensor([1.5, -2.0, 0.5], dtype=torch.float64)
    y = (torch.sigmoid(X @ true_w) > torch.rand(30, dtype=torch.float64)).double()
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=1, max_iter=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(X @ w, y) + 1e-3 * w.pow(2).sum()
        loss.backward()
        return loss

    for _ in range(2):
        loss = opt.step(closure)
        log(loss, w)
    state = opt.state[w]
    log(state["func_evals"], state["n_iter"], sorted(state.keys()))
    H = torch.autograd.functional.hessian(
        lambda v: torch.nn.functional.binary_cross_entropy_with_logits(X @ v, y, reduction="sum"),
        w.detach())
    se = torch.linalg.inv(H).diagonal().sqrt()
    log(se, w.detach() / se)


@program(tol=1e-5)
def newton_and_root_finding(torch, log):
    x = torch.tensor(1.0, requires_grad=True)
    for i in range(6):
        f = x ** 3 - 2 * x - 5
        g, = torch.autograd.grad(f, x)
        with torch.no_grad():
            x -= f / g
    log(x, x ** 3 - 2 * x - 5)
    coeffs = torch.tensor([1.0, -6.0, 11.0, -6.0], dtype=torch.float64)
    n = len(coeffs) - 1
    comp = torch.zeros(n, n, dtype=torch.float64)
    comp[0] = -coeffs[1:] / coeffs[0]
    comp[1:, :-1] = torch.eye(n - 1, dtype=torch.float64)
    roots = torch.linalg.eigvals(comp)
    log(roots.real.sort().values, roots.imag.abs().max() < 1e-8)
    a, b = torch.tensor(0.0), torch.tensor(3.0)
    fn = lambda t: torch.cos(t) - t  # noqa: E731
    for _ in range(30):
        m = (a + b) / 2
        if fn(m) * fn(a) > 0:
            a = m
        else:
            b = m
    log(m, fn(m).abs() < 1e-5)
    z = torch.tensor([2.0, 3.0], requires_grad=True)
    J = torch.autograd.functional.jacobian(lambda v: torch.stack([v[0] ** 2 + v[1], v[0] * v[1]]), z)
    log(J, torch.linalg.solve(J, torch.ones(2)))


@program(tol=1e-5)
def echo_state_network(torch, log):
    W = torch.randn(20, 20) * (torch.rand(20, 20) < 0.2)
    radius = torch.linalg.eigvals(W).abs().max()
    W = W * (0.9 / radius)
    log(torch.linalg.eigvals(W).abs().max())
    Win = torch.rand(20, 1) * 2 - 1
    u = torch.sin(torch.arange(60.0) * 0.2)
    h = torch.zeros(20)
    states = []
    for t in range(59):
        h = torch.tanh(Win @ u[t:t + 1] + W @ h)
        states.append(h)
    S = torch.stack(states[10:])
    Y = u[11:60]
    ridge = 1e-4
    Wout = torch.linalg.solve(S.T @ S + ridge * torch.eye(20), S.T @ Y)
    log(((S @ Wout - Y) ** 2).mean() < 1e-2, Wout.shape)
    sol = torch.linalg.lstsq(S, Y.unsqueeze(1))
    log(sol.solution.shape, type(sol).__name__)


@program(tol=1e-6)   # the energy's matrix-vector products sum in another order
def hopfield_network(torch, log):
    patterns = torch.tensor([[1, -1, 1, -1, 1, -1], [1, 1, 1, -1, -1, -1]], dtype=torch.float32)
    W = patterns.T @ patterns / patterns.shape[1]
    W.fill_diagonal_(0)
    log(W)
    probe = patterns[0].clone()
    probe[:2] *= -1
    s = probe
    for _ in range(5):
        s = torch.sign(W @ s)
        s[s == 0] = 1
    log(s, torch.equal(s, patterns[0]), -0.5 * s @ W @ s)
    log(torch.sign(torch.tensor([-0.0, 0.0, -2.0])), torch.sgn(torch.tensor([3 + 4j])),
        torch.signbit(torch.tensor([-0.0, 0.0])), torch.copysign(torch.tensor([1.0]), -0.0))


# NaN signs differ (a difference left): torch's vectorised max() / min() / softmax kernels return
# the x86 default NaN (sign bit set) for some layouts, ember the NaN of the data; a tolerance
# compares NaNs regardless of sign, and float32 values within it are equal
@program(tol=1e-12)
def nan_aware_statistics(torch, log):
    x = torch.tensor([[1.0, float("nan"), 3.0], [float("nan"), float("nan"), 2.0]])
    log(x.nansum(), x.nansum(1), x.nanmean(0), torch.nanmedian(x), torch.nanmedian(x, dim=1))
    log(x.sum(), x.mean(1), x.max(), x.amax(1), torch.fmax(x, torch.zeros(1)),
        torch.maximum(x, torch.zeros(1)), x.argmax(1), x.min(0))
    log(torch.nanquantile(x, 0.5, dim=1), torch.quantile(x[0], 0.5), x.isnan().sum(),
        torch.nan_to_num(x, nan=-1.0), x.sort(1))
    log(x == x, torch.isclose(x, x, equal_nan=True), torch.allclose(x, x), torch.equal(x, x))
    log(x.topk(2, dim=1), x.unique(), torch.tensor([float("nan"), 1.0]).median())
    y = torch.tensor([1.0, float("inf"), -float("inf")])
    log(y - y, y * 0, y.clamp(-1, 1), y.isinf(), y.isposinf(), y.isfinite(), torch.tanh(y))
    log(torch.tensor([0.0]) / 0, torch.tensor([1.0]) / 0, torch.tensor([-1.0]) / 0.0,
        torch.tensor(0.0).log(), torch.tensor(-1.0).sqrt())
    z = torch.tensor([1.0, float("nan")], requires_grad=True)
    torch.nansum(z * 2).backward()
    log(z.grad)


@program()
def boolean_masks_and_index_put(torch, log):
    x = torch.arange(12.0).view(3, 4)
    m = x > 5
    log(x[m], m.nonzero(), m.nonzero(as_tuple=True), torch.where(m), m.sum(dim=1))
    y = x.clone()
    y[m] = 0
    y[~m] *= -1
    log(y)
    y[:, torch.tensor([True, False, True, False])] = torch.tensor([100.0, 200.0])
    log(y)
    z = torch.zeros(5)
    z.index_put_((torch.tensor([0, 0, 2]),), torch.tensor([1.0, 2.0, 3.0]), accumulate=True)
    z2 = torch.zeros(5)
    z2[torch.tensor([0, 0, 2])] += torch.tensor([1.0, 2.0, 3.0])
    log(z, z2)
    row_mask = torch.tensor([True, False, True])
    log(x[row_mask, 1:], x[row_mask][:, [0, 3]], x[[0, 2], [1, 3]], x[[[0], [2]], [1, 3]])
    x2 = x.clone()
    x2.masked_scatter_(x2 < 3, torch.tensor([-1.0, -2.0, -3.0]))
    log(x2, x.masked_select(x % 2 == 0), torch.masked_fill(x, x > 9, float("nan")))
    log(_raises(lambda: x[torch.tensor([True, False])]))
    log(_raises(lambda: x.masked_fill(torch.ones(3, 4), 0.0)))
    t = torch.zeros(3, 4)
    t[1] = torch.tensor([1.0, 2.0, 3.0, 4.0])
    t[:, 0] = 7
    t[..., -1] += 0.5
    t[t > 3] = torch.tensor(9.0)
    log(t)


@program()
def tensor_construction_errors(torch, log):
    log(_raises(lambda: torch.tensor([[1, 2], [3]])))
    log(_raises(lambda: torch.tensor([1, "a"])))
    log(_raises(lambda: torch.tensor([[1, 2], 3])))
    log(torch.tensor([1, 2.5]).dtype, torch.tensor([True, 1]).dtype, torch.tensor([1, 2j]).dtype,
        torch.tensor([]).dtype, torch.tensor([[]]).shape, torch.tensor(3).dim())
    log(_raises(lambda: torch.zeros(-1)), _raises(lambda: torch.ones(2, 3.0)),
        _raises(lambda: torch.arange(0, 10, 0)), _raises(lambda: torch.arange(5, 0, 1)))
    log(torch.arange(0, 1, 0.25), torch.arange(5, 0, -2), torch.arange(10, dtype=torch.float16)[-1],
        torch.linspace(0, 1, 1), torch.linspace(0, 1, 0), torch.logspace(0, 2, 3, base=2))
    log(_raises(lambda: torch.full((2,), [1.0, 2.0])), torch.full((2,), 7).dtype,
        torch.full((2,), True).dtype, torch.full((1,), 1.5).dtype)
    log(torch.as_tensor([1, 2], dtype=torch.float32), torch.from_numpy(
        __import__("numpy").array([1, 2], dtype="int16")).dtype)
    log(_raises(lambda: torch.eye(-1)), torch.eye(2, 3), torch.empty(2, 3).shape,
        torch.zeros_like(torch.ones(2), dtype=torch.int64))
    log(_raises(lambda: torch.tensor(torch.ones(2), dtype=torch.int64)))
    log(_raises(lambda: torch.randint(5, 3, (2,))), _raises(lambda: torch.rand(2, 3, dtype=torch.int32)))
    log(torch.tensor(2 ** 63 - 1), _raises(lambda: torch.tensor(2 ** 64)),
        torch.tensor([0.1]).double().item(), torch.tensor(0.1, dtype=torch.float64).item())


@program()
def inplace_autograd_errors(torch, log):
    w = torch.randn(3, requires_grad=True)
    log(_raises(lambda: w.mul_(2)))
    with torch.no_grad():
        w.mul_(2)
    log(w.requires_grad, w.is_leaf)
    y = w.sigmoid()
    z = y * 2
    y.add_(1)
    log(_raises(lambda: z.sum().backward()))
    a = w.exp()
    b = a.sum()
    a[0] = 0
    log(_raises(lambda: b.backward()))
    v = w.view(3)
    log(_raises(lambda: v.add_(1)))
    c = w * 1
    c.relu_()
    c.sum().backward()
    log(w.grad, c.grad_fn.name())
    d = torch.ones(2, requires_grad=True).clone()
    e = d[0]
    d.mul_(3)
    log(_raises(lambda: e.backward()), d._version)
    x = torch.ones(2, requires_grad=True)
    log(_raises(lambda: torch.autograd.grad(x.sum(), x) and torch.autograd.grad((x * 2).sum(),
                                                                                  torch.ones(2))))
    log(_raises(lambda: torch.autograd.grad((x * 2).sum(), [x, torch.ones(1,
                                                                             requires_grad=True)])))
    log(torch.autograd.grad((x * 2).sum(), [x, torch.ones(1, requires_grad=True)],
                            allow_unused=True))
    log(_raises(lambda: x.grad.zero_()), _raises(lambda: torch.ones(2).detach_().requires_grad_(
        True).backward(torch.ones(3))))

@program(tol=1e-5)
def glow_invertible_1x1_conv(torch, log):
    F = torch.nn.functional
    C = 3
    w_init = torch.linalg.qr(torch.randn(C, C))[0]
    W = torch.nn.Parameter(w_init)
    x = torch.randn(2, C, 4, 4)
    y = F.conv2d(x, W.view(C, C, 1, 1))
    logdet = 16 * torch.slogdet(W)[1]
    x_back = F.conv2d(y, torch.inverse(W).view(C, C, 1, 1))
    log(logdet, torch.allclose(x_back, x, atol=1e-5), torch.det(W).abs())
    P, L, U = torch.linalg.lu(w_init)
    s = U.diagonal()
    log(torch.allclose(P @ L @ U, w_init, atol=1e-6), s.abs().log().sum(), L.diagonal())
    LU, piv = torch.linalg.lu_factor(w_init)
    log(piv.dtype, torch.linalg.lu_solve(LU, piv, torch.eye(C)).shape)
    logdet.backward()
    log(W.grad, torch.inverse(W).T * 16)
    an_loc = x.mean(dim=(0, 2, 3), keepdim=True)
    an_scale = 1 / (x.std(dim=(0, 2, 3), keepdim=True) + 1e-6)
    z = (x - an_loc) * an_scale
    log(z.mean(dim=(0, 2, 3)), 16 * an_scale.abs().log().sum())


@program(tol=1e-5)
def planar_flow_and_transformed_distributions(torch, log):
    D = torch.distributions
    u = torch.randn(2, requires_grad=True)
    w = torch.randn(2, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    z = torch.randn(10, 2)
    lin = z @ w + b
    f = z + u * torch.tanh(lin)[:, None]
    psi = (1 - torch.tanh(lin) ** 2)[:, None] * w
    logdet = torch.log((1 + psi @ u).abs() + 1e-8)
    logdet.mean().backward()
    log(f, logdet, u.grad)
    base = D.Normal(torch.zeros(2), torch.ones(2))
    squashed = D.TransformedDistribution(base, [D.transforms.TanhTransform(cache_size=1)])
    s = squashed.rsample((3,))
    log(s.abs().max() < 1, squashed.log_prob(s).shape)
    lognormal = D.TransformedDistribution(D.Normal(0.0, 1.0), [D.transforms.ExpTransform()])
    log(lognormal.log_prob(torch.tensor([1.0, 2.0])), D.LogNormal(0.0, 1.0).log_prob(
        torch.tensor([1.0, 2.0])))
    aff = D.TransformedDistribution(D.Uniform(0.0, 1.0), [D.transforms.AffineTransform(2.0, 3.0)])
    log(aff.log_prob(torch.tensor([3.0])), str(aff.support), aff.sample((2,)))
    chain = D.transforms.ComposeTransform([D.transforms.AffineTransform(0.0, 2.0),
                                           D.transforms.SigmoidTransform()])
    xx = torch.tensor([0.5, -1.0])
    log(chain(xx), chain.inv(chain(xx)), chain.log_abs_det_jacobian(xx, chain(xx)))


@program(tol=1e-6)
def sac_tanh_gaussian_policy(torch, log):
    nn, F = torch.nn, torch.nn.functional
    net = nn.Linear(3, 4)
    obs = torch.randn(5, 3)
    mu, log_std = net(obs).chunk(2, dim=-1)
    log_std = torch.clamp(log_std, -20, 2)
    normal = torch.distributions.Normal(mu, log_std.exp())
    x_t = normal.rsample()
    y_t = torch.tanh(x_t)
    action = y_t * 2.0 + 0.5
    logp = normal.log_prob(x_t) - torch.log(2.0 * (1 - y_t.pow(2)) + 1e-6)
    logp = logp.sum(1, keepdim=True)
    log(action, logp)
    alt = (normal.log_prob(x_t) - (2 * (math.log(2) - x_t - F.softplus(-2 * x_t)))).sum(1)
    log(alt)
    log_alpha = torch.zeros(1, requires_grad=True)
    alpha_loss = -(log_alpha * (logp + -2.0).detach()).mean()
    alpha_loss.backward()
    log(log_alpha.grad, normal.entropy().sum(-1), normal.stddev.shape)


@program()
def tabular_q_learning_gridworld(torch, log):
    n_states, n_actions = 16, 4
    Q = torch.zeros(n_states, n_actions)
    moves = torch.tensor([[-1, 0], [1, 0], [0, -1], [0, 1]])
    alpha, gamma, eps = 0.5, 0.9, 0.2
    for ep in range(20):
        s = 0
        for t in range(20):
            if torch.rand(1).item() < eps:
                a = torch.randint(0, 4, (1,)).item()
            else:
                a = Q[s].argmax().item()
            r0, c0 = divmod(s, 4)
            r1, c1 = (torch.tensor([r0, c0]) + moves[a]).clamp(0, 3).tolist()
            s2 = r1 * 4 + c1
            reward = 1.0 if s2 == 15 else -0.01
            Q[s, a] += alpha * (reward + gamma * Q[s2].max() * (s2 != 15) - Q[s, a])
            s = s2
            if s == 15:
                break
    log(Q.argmax(1).view(4, 4), Q.max(1).values.view(4, 4))
    V = torch.zeros(16)
    for _ in range(30):
        V = torch.stack([((torch.tensor([s // 4, s % 4]) + moves).clamp(0, 3) *
                          torch.tensor([4, 1])).sum(1) for s in range(16)]).pipe(V) \
            if hasattr(V, "pipe") else V
    log(V)


@program()
def bandits_thompson_and_ucb(torch, log):
    true_p = torch.tensor([0.2, 0.5, 0.7])
    a_post, b_post = torch.ones(3), torch.ones(3)
    counts, values = torch.zeros(3), torch.zeros(3)
    picks = []
    for t in range(1, 31):
        theta = torch.distributions.Beta(a_post, b_post).sample()
        arm = theta.argmax()
        r = torch.bernoulli(true_p[arm])
        a_post[arm] += r
        b_post[arm] += 1 - r
        ucb = values / counts.clamp(min=1) + torch.sqrt(2 * math.log(t) / counts.clamp(min=1e-9))
        arm2 = ucb.argmax()
        counts[arm2] += 1
        values[arm2] += torch.bernoulli(true_p[arm2])
        picks.append((arm.item(), arm2.item()))
    log(picks, a_post, b_post, counts, values)
    log(torch.distributions.Beta(a_post, b_post).mean, torch.distributions.Beta(a_post, b_post)
        .variance)


@program(tol=1e-6)   # the float32 exp of the likelihoods: torch's vectorised exp is 1 ulp off
def particle_filter_systematic_resampling(torch, log):
    N = 10
    particles = torch.randn(N)
    weights = torch.ones(N) / N
    for obs in [0.5, 0.8, 1.2]:
        particles = particles + 0.3 * torch.randn(N)
        lik = torch.exp(-0.5 * ((obs - particles) / 0.5) ** 2)
        weights = weights * lik
        weights = weights / weights.sum()
        ess = 1.0 / (weights ** 2).sum()
        if ess < N / 2:
            positions = (torch.arange(N) + torch.rand(1)) / N
            cum = torch.cumsum(weights, 0)
            cum[-1] = 1.0
            idx = torch.searchsorted(cum, positions)
            particles, weights = particles[idx], torch.full((N,), 1.0 / N)
        log(ess, (weights * particles).sum(), particles.var())


@program(tol=1e-6)
def bayesian_optimisation_expected_improvement(torch, log):
    Normal = torch.distributions.Normal
    mu = torch.tensor([0.2, 0.5, 0.1, 0.9])
    sigma = torch.tensor([0.1, 0.3, 0.0, 0.05])
    best = 0.6
    z = (mu - best) / sigma.clamp_min(1e-9)
    std = Normal(0.0, 1.0)
    ei = (mu - best) * std.cdf(z) + sigma * std.log_prob(z).exp()
    ei = torch.where(sigma > 0, ei, torch.zeros_like(ei))
    log(ei, ei.argmax(), std.icdf(torch.tensor([0.025, 0.5, 0.975])))
    ucb = mu + 2 * sigma
    pi = std.cdf((mu - best - 0.01) / sigma.clamp_min(1e-9))
    log(ucb, pi, torch.special.ndtr(z), torch.special.ndtri(torch.tensor([0.9])),
        torch.special.erfinv(torch.tensor([0.5])), torch.erfc(torch.tensor([1.0])))


@program()
def genetic_algorithm(torch, log):
    pop = torch.randint(0, 2, (8, 10))
    target = torch.tensor([1, 0] * 5)
    for gen in range(5):
        fitness = (pop == target).sum(1)
        top = fitness.topk(4).indices
        parents = pop[top]
        pa, pb = parents[torch.randint(0, 4, (8,))], parents[torch.randint(0, 4, (8,))]
        mask = torch.rand(8, 10) < 0.5
        child = torch.where(mask, pa, pb)
        mut = torch.rand(8, 10) < 0.05
        pop = child ^ mut.long()
        log(gen, fitness.max(), fitness.float().mean(), pop.dtype)
    log(pop, (pop == target).all(1).any())


@program(tol=1e-5)
def ista_sparse_coding_and_nmf(torch, log):
    A = torch.randn(10, 20)
    x_true = torch.zeros(20)
    x_true[[2, 7, 15]] = torch.tensor([1.5, -2.0, 0.7])
    b = A @ x_true
    L = torch.linalg.matrix_norm(A, ord=2) ** 2
    x = torch.zeros(20)
    lam = 0.1
    for _ in range(50):
        z = x - A.T @ (A @ x - b) / L
        x = torch.sign(z) * torch.clamp(z.abs() - lam / L, min=0)
    log((x.abs() > 0.1).nonzero().flatten(), torch.nn.functional.softshrink(z, 0.5)[:5])
    V = torch.rand(6, 5)
    W, H = torch.rand(6, 2), torch.rand(2, 5)
    for _ in range(30):
        H = H * (W.T @ V) / (W.T @ W @ H + 1e-9)
        W = W * (V @ H.T) / (W @ H @ H.T + 1e-9)
    log(torch.linalg.norm(V - W @ H), (W >= 0).all(), torch.linalg.norm(V, "fro"))


@program(tol=1e-5)
def svd_compression_and_procrustes(torch, log):
    img = torch.rand(8, 6)
    U, S, Vh = torch.linalg.svd(img, full_matrices=False)
    log(U.shape, S, Vh.shape)
    for k in [1, 3, 6]:
        approx = U[:, :k] @ torch.diag(S[:k]) @ Vh[:k]
        log(k, torch.linalg.norm(img - approx), S[k:].pow(2).sum().sqrt())
    log(torch.linalg.matrix_rank(img), torch.linalg.svdvals(img)[0], torch.linalg.cond(img))
    P = torch.randn(5, 3, dtype=torch.float64)
    angle = 0.7
    R_true = torch.tensor([[math.cos(angle), -math.sin(angle), 0], [math.sin(angle),
                           math.cos(angle), 0], [0, 0, 1]], dtype=torch.float64)
    Q = P @ R_true.T + torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    Pc, Qc = P - P.mean(0), Q - Q.mean(0)
    U2, _, Vt2 = torch.linalg.svd(Pc.T @ Qc)
    d = torch.sign(torch.det(Vt2.T @ U2.T))
    D = torch.diag(torch.tensor([1.0, 1.0, d.item()], dtype=torch.float64))
    R = Vt2.T @ D @ U2.T
    log(torch.allclose(R, R_true), R.det(), torch.linalg.pinv(img).shape)


@program(tol=1e-5)
def rotations_and_camera_projection(torch, log):
    def quat_to_matrix(q):
        w, x, y, z = q.unbind(-1)
        return torch.stack([
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1).view(
            *q.shape[:-1], 3, 3)

    q = torch.nn.functional.normalize(torch.randn(4, 4), dim=-1)
    R = quat_to_matrix(q)
    log(torch.allclose(R @ R.transpose(-1, -2), torch.eye(3).expand(4, 3, 3), atol=1e-5),
        torch.linalg.det(R))
    axis = torch.tensor([0.0, 0.0, 1.0])
    theta = torch.tensor(math.pi / 2)
    K = torch.zeros(3, 3)
    K[0, 1], K[0, 2], K[1, 0], K[1, 2], K[2, 0], K[2, 1] = -axis[2], axis[1], axis[2], -axis[0], \
        -axis[1], axis[0]
    R2 = torch.eye(3) + torch.sin(theta) * K + (1 - torch.cos(theta)) * K @ K
    log(R2, torch.linalg.matrix_exp(theta * K), torch.linalg.cross(axis, torch.tensor([1.0, 0, 0])))
    pts = torch.randn(6, 3) + torch.tensor([0.0, 0.0, 5.0])
    intr = torch.tensor([[100.0, 0, 32], [0, 100.0, 24], [0, 0, 1]])
    homo = torch.cat([pts, torch.ones(6, 1)], 1)
    ext = torch.cat([R2, torch.tensor([[0.1], [0.0], [0.2]])], 1)
    cam = homo @ ext.T
    pix = cam @ intr.T
    uv = pix[:, :2] / pix[:, 2:]
    log(uv, (uv[:, 0] >= 0) & (uv[:, 0] < 64))


@program(tol=1e-5)
def nerf_volume_rendering(torch, log):
    def posenc(x, L):
        freqs = 2.0 ** torch.arange(L) * math.pi
        xf = x[..., None] * freqs
        return torch.cat([x, torch.sin(xf).flatten(-2), torch.cos(xf).flatten(-2)], -1)

    nn = torch.nn
    mlp = nn.Sequential(nn.Linear(3 + 3 * 2 * 4, 32), nn.ReLU(), nn.Linear(32, 4))
    rays_o = torch.zeros(5, 3)
    rays_d = torch.nn.functional.normalize(torch.randn(5, 3), dim=-1)
    t = torch.linspace(2.0, 6.0, 8).expand(5, 8)
    t = t + torch.rand(5, 8) * (4.0 / 8)
    pts = rays_o[:, None] + rays_d[:, None] * t[..., None]
    out = mlp(posenc(pts, 4))
    rgb, sigma = torch.sigmoid(out[..., :3]), torch.relu(out[..., 3])
    delta = torch.cat([t[:, 1:] - t[:, :-1], torch.full((5, 1), 1e10)], -1)
    alpha = 1 - torch.exp(-sigma * delta)
    trans = torch.cumprod(torch.cat([torch.ones(5, 1), 1 - alpha + 1e-10], -1), -1)[:, :-1]
    w = alpha * trans
    color = (w[..., None] * rgb).sum(-2)
    depth = (w * t).sum(-1)
    color.sum().backward()
    log(color, depth, w.sum(-1), mlp[0].weight.grad.abs().sum())


@program(tol=1e-5)
def chamfer_and_farthest_point_sampling(torch, log):
    a, b = torch.rand(2, 12, 3), torch.rand(2, 9, 3)
    d = torch.cdist(a, b) ** 2
    chamfer = d.min(2).values.mean(1) + d.min(1).values.mean(1)
    log(chamfer, d.argmin(2)[0])
    pts = a[0]
    idx = [0]
    dist = torch.full((12,), float("inf"))
    for _ in range(4):
        dist = torch.minimum(dist, ((pts - pts[idx[-1]]) ** 2).sum(1))
        idx.append(dist.argmax().item())
    log(idx, dist)
    knn = torch.cdist(pts, pts).topk(3, largest=False)
    log(knn.indices[:, 0], knn.values[:, 1:].mean())
    centered = pts - pts.mean(0)
    cov = centered.T @ centered / 11
    evals, evecs = torch.linalg.eigh(cov)
    log(evals, torch.allclose(cov, evecs @ torch.diag(evals) @ evecs.T, atol=1e-6),
        torch.cov(pts.T), torch.corrcoef(pts.T)[0])


@program(tol=1e-5)
def factorization_machine(torch, log):
    nn = torch.nn

    class FM(nn.Module):
        def __init__(self, n_feat, k):
            super().__init__()
            self.w0 = nn.Parameter(torch.zeros(1))
            self.w = nn.Embedding(n_feat, 1)
            self.v = nn.Embedding(n_feat, k)

        def forward(self, idx):
            lin = self.w0 + self.w(idx).sum(1).squeeze(1)
            e = self.v(idx)
            inter = 0.5 * (e.sum(1).pow(2) - e.pow(2).sum(1)).sum(1)
            return lin + inter

    fm = FM(20, 4)
    opt = torch.optim.Adam(fm.parameters(), lr=0.05)
    idx = torch.randint(0, 20, (16, 3))
    y = torch.randint(0, 2, (16,)).float()
    for step in range(4):
        out = fm(idx)
        loss = nn.functional.binary_cross_entropy_with_logits(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(loss)
    log(fm.v.weight.grad.abs().sum(1).nonzero().numel(), idx.unique().numel())


@program(tol=1e-5)
def deep_sets_masked_pooling(torch, log):
    nn = torch.nn
    phi = nn.Sequential(nn.Linear(2, 8), nn.ReLU())
    rho = nn.Linear(8, 1)
    sets = [torch.randn(n, 2) for n in (3, 5, 1)]
    padded = nn.utils.rnn.pad_sequence(sets, batch_first=True)
    mask = torch.zeros(padded.shape[:2], dtype=torch.bool)
    for i, s in enumerate(sets):
        mask[i, :len(s)] = True
    h = phi(padded) * mask[..., None]
    mean_pool = h.sum(1) / mask.sum(1, keepdim=True)
    max_pool = h.masked_fill(~mask[..., None], float("-inf")).max(1).values
    out = rho(mean_pool + max_pool)
    perm = torch.randperm(5)
    sets2 = [sets[0], sets[1][perm], sets[2]]
    padded2 = nn.utils.rnn.pad_sequence(sets2, batch_first=True)
    h2 = phi(padded2) * mask[..., None]
    out2 = rho(h2.sum(1) / mask.sum(1, keepdim=True) +
               h2.masked_fill(~mask[..., None], float("-inf")).max(1).values)
    log(out, torch.allclose(out, out2, atol=1e-6), padded.shape, mask.sum(1))
    log(nn.utils.rnn.pad_sequence(sets, padding_value=-1.0, padding_side="left")[:, 2],
        nn.utils.rnn.pad_sequence(sets).shape)


@program(tol=1e-5)
def rotary_embeddings_complex(torch, log):
    def freqs_cis(dim, end, theta=10000.0):
        freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim))
        t = torch.arange(end, dtype=torch.float32)
        return torch.polar(torch.ones(end, dim // 2), torch.outer(t, freqs))

    def apply_rotary(x, fc):
        xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
        return torch.view_as_real(xc * fc).flatten(-2).type_as(x)

    fc = freqs_cis(8, 5)
    q = torch.randn(2, 5, 8)
    k = torch.randn(2, 5, 8)
    qr, kr = apply_rotary(q, fc), apply_rotary(k, fc)
    log(fc.dtype, fc.shape, qr.shape, (qr.norm(dim=-1) - q.norm(dim=-1)).abs().max() < 1e-5)
    s1 = (apply_rotary(q, fc)[:, 2] * apply_rotary(k, fc)[:, 0]).sum(-1)
    log(s1, qr[0, 1, :4])
    alibi_slopes = torch.tensor([2 ** (-8 * (i + 1) / 4) for i in range(4)])
    pos = torch.arange(5)
    bias = alibi_slopes[:, None, None] * (pos[None, None, :] - pos[None, :, None])
    log(bias[1], alibi_slopes)


@program()
def top_p_and_repetition_penalty_sampling(torch, log):
    logits = torch.randn(2, 10)
    prev = torch.tensor([[1, 3, 3], [0, 9, 2]])
    score = logits.gather(1, prev)
    score = torch.where(score < 0, score * 1.2, score / 1.2)
    logits = logits.scatter(1, prev, score)
    log(logits)
    temp = logits / 0.7
    sorted_logits, sorted_idx = torch.sort(temp, descending=True)
    cum = sorted_logits.softmax(-1).cumsum(-1)
    remove = cum > 0.9
    remove[..., 1:] = remove[..., :-1].clone()
    remove[..., 0] = False
    to_remove = remove.scatter(1, sorted_idx, remove)
    filtered = temp.masked_fill(to_remove, -float("inf"))
    log(to_remove.sum(1), filtered.isinf().sum())
    probs = filtered.softmax(-1)
    nxt = torch.multinomial(probs, 1)
    log(nxt, probs.sum(-1))
    kth = torch.topk(temp, 3)[0][..., -1, None]
    log(temp.masked_fill(temp < kth, float("-inf")).isfinite().sum(1))
    greedy = temp.argmax(-1, keepdim=True)
    log(torch.cat([prev, greedy], 1))


@program()
def python_protocols_on_tensors(torch, log):
    t = torch.tensor([3.0, 1.0, 2.0])
    log(len(t), list(t), [x.item() for x in t], sorted(t.tolist()), max(t), sum(t), min(t))
    a, b, c = t
    log(a, b + c, float(a), int(a), bool(a), round(float(t[2]) / 3, 2))
    log(2.0 in t, 5 in t, abs(torch.tensor(-2)), -t, +t, t.__len__())
    log(math.sqrt(torch.tensor(4.0)), math.floor(torch.tensor(2.7)), math.isclose(
        torch.tensor(0.1).item(), 0.1, rel_tol=1e-6), math.exp(torch.tensor(1.0)))
    log(_raises(lambda: bool(t)), _raises(lambda: float(t)), _raises(lambda: len(torch.tensor(1.0))))
    log(_raises(lambda: iter(torch.tensor(1.0))), _raises(lambda: t.item()),
        _raises(lambda: int(torch.tensor([1, 2]))))
    log(list(reversed(t.tolist())), list(enumerate(torch.arange(2))), dict(zip("ab", t.tolist())))
    d = {t: "x"}
    log(d[t], t in d, hash(t) == id(t) or hash(t) == hash(t))
    log(sorted([torch.tensor(3), torch.tensor(1)]), torch.tensor(5) == 5, [1, 2, 3][torch.tensor(1)])
    import operator
    log(operator.index(torch.tensor(2)), _raises(lambda: operator.index(torch.tensor(2.0))),
        "ab"[torch.tensor(0)], range(10)[torch.tensor(3)])
    log(round(torch.tensor(2.567).item(), 1), round(torch.tensor(2.567), 1) if False else None,
        divmod(torch.tensor(7).item(), 2), torch.tensor(7) ** 2, pow(torch.tensor(2.0), 3))
    x, *rest = torch.arange(4)
    log(x, rest, [*torch.ones(2, 2)], torch.tensor([1, 2]).tolist() == [1, 2])


@program(tol=1e-12)   # the NaN mean of no elements: torch's has its sign bit set (0 / 0)
def common_runtime_errors(torch, log):
    log(_raises(lambda: torch.cat([])), _raises(lambda: torch.stack([])))
    log(_raises(lambda: torch.ones(2, 2).item()))
    log(_raises(lambda: torch.tensor([1, 2]) + "a"))
    log(_raises(lambda: torch.ones(3)[3]), _raises(lambda: torch.ones(3)[-4]))
    log(_raises(lambda: torch.ones(2, 3).view(3, 3)))
    log(_raises(lambda: torch.ones(2).unsqueeze(3)), _raises(lambda: torch.ones(2, 2).sum(2)))
    log(_raises(lambda: torch.ones(2, 2).max(dim=3)), _raises(lambda: torch.ones(2).softmax(1)))
    log(_raises(lambda: torch.nn.functional.softmax(torch.ones(2, 2))))
    log(_raises(lambda: torch.ones(2, 3).chunk(0)), _raises(lambda: torch.ones(0).max()))
    log(_raises(lambda: torch.ones(0).argmax()), torch.ones(0).sum(), torch.ones(0).mean())
    log(_raises(lambda: torch.ones(2).repeat(2, 2, -1)), _raises(lambda: torch.ones(2).expand(1)))
    log(_raises(lambda: torch.zeros(2, 3).t_().view(-1)))
    log(_raises(lambda: torch.ones(3).topk(5)), _raises(lambda: torch.ones(3).narrow(0, 2, 2)))
    log(_raises(lambda: torch.multinomial(torch.tensor([0.0, 0.0]), 1)))
    log(_raises(lambda: torch.multinomial(torch.tensor([1.0, 1.0]), 3)))
    log(_raises(lambda: torch.multinomial(torch.tensor([-1.0, 1.0]), 1)))
    log(_raises(lambda: torch.nn.functional.one_hot(torch.tensor([3]), 3)))
    log(_raises(lambda: torch.nn.functional.one_hot(torch.tensor([1.0]))))
    log(_raises(lambda: torch.nn.Embedding(3, 2)(torch.tensor([3]))))
    log(_raises(lambda: torch.nn.functional.nll_loss(torch.randn(2, 3), torch.tensor([0, 3]))))
    log(_raises(lambda: torch.nn.functional.binary_cross_entropy(torch.tensor([1.5]),
                                                                 torch.tensor([1.0]))))
    log(_raises(lambda: torch.linalg.cholesky(torch.tensor([[1.0, 2.0], [2.0, 1.0]]))))
    log(_raises(lambda: torch.linalg.inv(torch.zeros(2, 2))))
    log(_raises(lambda: torch.linalg.solve(torch.zeros(2, 2), torch.ones(2))))
    log(_raises(lambda: torch.randint(0, 0, (1,))), _raises(lambda: torch.randperm(-1)))


@program(tol=1e-5)
def optical_flow_warping(torch, log):
    F = torch.nn.functional
    B, C, H, W = 1, 2, 5, 6
    img = torch.rand(B, C, H, W)
    flow = torch.randn(B, 2, H, W) * 0.5
    yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    base = torch.stack([xx, yy], 0).float()[None]
    coords = base + flow
    gx = 2.0 * coords[:, 0] / (W - 1) - 1.0
    gy = 2.0 * coords[:, 1] / (H - 1) - 1.0
    grid = torch.stack([gx, gy], -1)
    warped = F.grid_sample(img, grid, align_corners=True, padding_mode="border")
    valid = F.grid_sample(torch.ones_like(img), grid, align_corners=True) > 0.999
    log(warped[0, 0], valid.sum())
    photometric = ((warped - img).abs() * valid).sum() / valid.sum()
    dx = flow[..., :, 1:] - flow[..., :, :-1]
    dy = flow[..., 1:, :] - flow[..., :-1, :]
    smooth = dx.abs().mean() + dy.abs().mean()
    log(photometric, smooth)
    zero = F.grid_sample(img, (base.permute(0, 2, 3, 1) / torch.tensor([W - 1, H - 1]) * 2 - 1),
                         align_corners=True)
    log(torch.allclose(zero, img, atol=1e-6))


@program(tol=1e-5)
def classic_image_processing(torch, log):
    F = torch.nn.functional
    img = torch.rand(1, 3, 8, 8)
    k1 = torch.exp(-torch.arange(-2, 3).float() ** 2 / 2)
    k1 = k1 / k1.sum()
    kx = k1.view(1, 1, 1, 5).repeat(3, 1, 1, 1)
    ky = k1.view(1, 1, 5, 1).repeat(3, 1, 1, 1)
    blur = F.conv2d(F.conv2d(F.pad(img, (2, 2, 2, 2), mode="reflect"), kx, groups=3), ky, groups=3)
    log(blur.shape, blur[0, 0, 0])
    gray = img.mean(1, keepdim=True)
    sx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]).view(1, 1, 3, 3)
    gx = F.conv2d(gray, sx, padding=1)
    gy = F.conv2d(gray, sx.transpose(2, 3), padding=1)
    mag, ang = torch.sqrt(gx ** 2 + gy ** 2), torch.atan2(gy, gx)
    log(mag[0, 0, 3], ang[0, 0, 3])
    binary = (gray > 0.5).float()
    dil = F.max_pool2d(binary, 3, stride=1, padding=1)
    ero = -F.max_pool2d(-binary, 3, stride=1, padding=1)
    log(binary.sum(), dil.sum(), ero.sum(), (dil - ero).sum())
    r, g, b = img[0]
    mx, mn = img[0].max(0).values, img[0].min(0).values
    v, s = mx, (mx - mn) / mx.clamp(min=1e-8)
    log(v[0], s[0])
    hist = torch.histc(gray, bins=8, min=0, max=1)
    cdf = hist.cumsum(0) / hist.sum()
    eq = cdf[(gray * 8).long().clamp(max=7)]
    log(hist, eq[0, 0, 0])
    ys, xs = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    m = gray[0, 0]
    log((m * xs).sum() / m.sum(), (m * ys).sum() / m.sum())


@program(tol=1e-5)
def audio_features_mel_mfcc(torch, log):
    sr, n_fft, n_mels = 8000, 64, 8
    t = torch.arange(800) / sr
    wav = torch.sin(2 * math.pi * 440 * t) + 0.1 * torch.randn(800)
    pre = torch.cat([wav[:1], wav[1:] - 0.97 * wav[:-1]])
    spec = torch.stft(pre, n_fft, hop_length=32, window=torch.hann_window(n_fft),
                      return_complex=True).abs() ** 2

    def hz_to_mel(f):
        return 2595 * torch.log10(1 + f / 700)

    def mel_to_hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    mels = torch.linspace(hz_to_mel(torch.tensor(0.0)), hz_to_mel(torch.tensor(sr / 2.0)),
                          n_mels + 2)
    hz = mel_to_hz(mels)
    bins = torch.floor((n_fft + 1) * hz / sr).long()
    fb = torch.zeros(n_mels, n_fft // 2 + 1)
    for m in range(1, n_mels + 1):
        lo, c, hi = bins[m - 1].item(), bins[m].item(), bins[m + 1].item()
        for k in range(lo, c):
            fb[m - 1, k] = (k - lo) / max(c - lo, 1)
        for k in range(c, hi):
            fb[m - 1, k] = (hi - k) / max(hi - c, 1)
    mel = fb @ spec
    logmel = torch.log(mel + 1e-6)
    n = torch.arange(n_mels).float()
    dct = torch.cos(math.pi / n_mels * (n[None, :] + 0.5) * n[:, None])
    mfcc = dct @ logmel
    log(bins, mel.shape, mfcc[:3, :3], torch.amax(logmel, 1))
    delta = torch.nn.functional.conv1d(mfcc[:, None], torch.tensor([[[-1.0, 0.0, 1.0]]]) / 2,
                                       padding=1)
    log(delta.shape, delta[0, 0, :4])
    frames = pre.unfold(0, 160, 80)
    energy = frames.pow(2).sum(1)
    zcr = (frames[:, 1:] * frames[:, :-1] < 0).float().mean(1)
    log(energy, zcr)


@program(tol=_TRAIN)
def swa_averaged_model(torch, log):
    nn = torch.nn
    swa_utils = _module(torch, "optim.swa_utils")
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    swa_model = swa_utils.AveragedModel(model)
    sched = swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=2, anneal_strategy="cos")
    X, y = torch.randn(16, 3), torch.randn(16, 1)
    loader = [(X[i:i + 4], y[i:i + 4]) for i in range(0, 16, 4)]
    for epoch in range(4):
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.mse_loss(model(xb), yb).backward()
            opt.step()
        if epoch >= 1:
            swa_model.update_parameters(model)
            sched.step()
        log(epoch, opt.param_groups[0]["lr"], swa_model.n_averaged)
    swa_utils.update_bn([xb for xb, _ in loader], swa_model)
    log(swa_model.module[1].running_mean, swa_model.module[0].weight,
        swa_model(X[:2]))
    ema = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9))
    ema.update_parameters(model)
    log(ema.n_averaged, type(ema.module).__name__)


@program()
def samplers_and_splits(torch, log):
    data = _module(torch, "utils.data")
    ds = data.TensorDataset(torch.arange(10).float(), torch.tensor([0] * 8 + [1] * 2))
    train, val = data.random_split(ds, [0.8, 0.2], generator=torch.Generator().manual_seed(1))
    log(len(train), len(val), train.indices, val.indices)
    labels = ds.tensors[1]
    class_w = 1.0 / torch.bincount(labels).float()
    sampler = data.WeightedRandomSampler(class_w[labels], num_samples=10, replacement=True)
    idx = list(sampler)
    log(idx, labels[idx].sum())
    sub = data.SubsetRandomSampler([1, 3, 5])
    log(sorted(sub), len(sub))
    bs = data.BatchSampler(data.SequentialSampler(range(7)), batch_size=3, drop_last=False)
    log(list(bs), len(bs))
    loader = data.DataLoader(ds, batch_size=4, sampler=sampler, drop_last=True)
    log(len(loader), [b[0].shape for b in loader])

    def collate(batch):
        xs, ys = zip(*batch)
        return torch.stack(xs) * 10, torch.tensor(ys)
    log(next(iter(data.DataLoader(ds, batch_size=3, collate_fn=collate))))
    log(_raises(lambda: data.random_split(ds, [5, 6])))
    cat = data.ConcatDataset([ds, train])
    log(len(cat), cat[12], cat.cumulative_sizes)


@program(tol=1e-6)
def gradcheck_custom_function(torch, log):
    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 3 * x ** 2 * g

    class BadCube(Cube):
        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 2 * x ** 2 * g

    x = torch.randn(4, dtype=torch.float64, requires_grad=True)
    log(torch.autograd.gradcheck(Cube.apply, (x,)))
    log(torch.autograd.gradcheck(BadCube.apply, (x,), raise_exception=False))
    log(torch.autograd.gradgradcheck(lambda v: (v.sin() * v).sum(), (x,)))
    r = _raises(lambda: torch.autograd.gradcheck(BadCube.apply, (x,)))
    log(r[0], r[1].splitlines()[0])
    x32 = torch.randn(3, requires_grad=True)
    w = []
    import warnings
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ok = torch.autograd.gradcheck(Cube.apply, (x32,), eps=1e-3, atol=1e-2, raise_exception=False)
    log(ok, [str(m.message)[:60] for m in w])


@program()
def grad_mode_decorators_and_contexts(torch, log):
    x = torch.ones(2, requires_grad=True)

    @torch.no_grad()
    def infer(v):
        return v * 2

    @torch.enable_grad()
    def train_step(v):
        return v * 3

    @torch.inference_mode()
    def fast(v):
        return v + 1

    log(infer(x).requires_grad, fast(x).requires_grad, fast(x).is_inference())
    with torch.no_grad():
        log(train_step(x).requires_grad, torch.is_grad_enabled())
    with torch.set_grad_enabled(False):
        y = x * 2
    log(y.requires_grad, torch.is_grad_enabled())
    torch.set_grad_enabled(False)
    log((x * 2).requires_grad)
    torch.set_grad_enabled(True)
    log((x * 2).requires_grad, infer.__name__)
    with torch.inference_mode():
        z = x * 2
    log(_raises(lambda: z.add_(1) if False else (z * x).sum().backward()))
    log(_raises(lambda: torch.ones(2).requires_grad_().add_(1) and None), z.requires_grad)
    with torch.no_grad():
        w = x.clone()
    w.requires_grad_()
    (w * 2).sum().backward()
    log(w.grad, x.grad)
    with torch.autograd.set_grad_enabled(False), torch.enable_grad():
        log((x * 2).requires_grad)

    class Net(torch.nn.Module):
        def forward(self, v):
            return v.sum()
    net = Net()
    log(torch.no_grad()(net.forward)(x).requires_grad, net(x).requires_grad)


@program(tol=1e-6)
def complex_autograd(torch, log):
    z = torch.tensor([1 + 2j, 3 - 1j], requires_grad=True)
    loss = (z * z.conj()).real.sum()
    loss.backward()
    log(z.grad, z.grad.dtype)
    w = torch.randn(3, dtype=torch.cfloat, requires_grad=True)
    out = torch.abs(w).pow(2).sum() + torch.angle(w).sum()
    out.backward()
    log(w.grad)
    lin = torch.nn.Linear(2, 2, dtype=torch.complex64)
    y = lin(torch.randn(1, 2, dtype=torch.complex64))
    y.abs().sum().backward()
    log(lin.weight.grad.dtype, lin.weight.dtype, y.dtype)
    log(_raises(lambda: y.sum().backward()))
    r = torch.randn(3, requires_grad=True)
    c = torch.complex(r, r * 2)
    torch.view_as_real(c).pow(2).sum().backward()
    log(r.grad)
    f = torch.fft.rfft(r.detach().requires_grad_())
    log(f.dtype, f.requires_grad)


@program(tol=1e-5)
def param_groups_and_add_param_group(torch, log):
    nn = torch.nn
    backbone, head = nn.Linear(3, 3), nn.Linear(3, 1)
    opt = torch.optim.SGD(backbone.parameters(), lr=0.01, momentum=0.9)
    opt.add_param_group({"params": head.parameters(), "lr": 0.1, "weight_decay": 1e-2})
    log([(g["lr"], g["momentum"], g["weight_decay"], len(g["params"])) for g in opt.param_groups])
    x, y = torch.randn(4, 3), torch.randn(4, 1)
    for _ in range(2):
        opt.zero_grad(set_to_none=True)
        nn.functional.mse_loss(head(backbone(x)), y).backward()
        opt.step()
    for g in opt.param_groups:
        g["lr"] *= 0.5
    log([g["lr"] for g in opt.param_groups], head.weight, len(opt.state))
    log(_raises(lambda: opt.add_param_group({"params": head.parameters()})))
    log(_raises(lambda: torch.optim.SGD([], lr=0.1)))
    log(_raises(lambda: torch.optim.Adam(backbone.parameters(), lr=-1)))
    log(_raises(lambda: torch.optim.Adam(backbone.parameters(), betas=(1.0, 0.999))))
    sd = opt.state_dict()
    log(sd["param_groups"][1]["params"], sorted(sd["state"].keys()), list(sd["state"][0].keys()))
    frozen = [p.requires_grad_(False) for p in backbone.parameters()]
    n_train = sum(p.numel() for p in list(backbone.parameters()) + list(head.parameters())
                  if p.requires_grad)
    log(len(frozen), n_train)


@program()
def model_summary_printing(torch, log):
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    print(f"{'Layer':<20}{'Shape':<25}{'Params':>10}")
    print("-" * 55)
    total = 0
    for name, p in model.named_parameters():
        print(f"{name:<20}{str(list(p.shape)):<25}{p.numel():>10,}")
        total += p.numel()
    print(f"{'Total':<20}{'':<25}{total:>10,}")
    x = torch.randn(1, 3, 8, 8)
    for layer in model:
        x = layer(x)
        print(f"{layer.__class__.__name__:>12} -> {tuple(x.shape)}")
    print(model[1], model[2], model[3], sep=" | ")
    print(repr(model[5].weight.shape), model[0].weight.dtype, model[0].kernel_size)
    mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 1024 ** 2
    print(f"size: {mb:.4f} MB, buffers: {[n for n, _ in model.named_buffers()]}")
    print(model.state_dict().keys())
    log(model[1].num_batches_tracked, model[1].running_var.dtype)


@program()
def uint8_image_arithmetic(torch, log):
    img = torch.randint(0, 256, (2, 4, 4), dtype=torch.uint8)
    log(img.dtype, img.max(), img.float().div(255).max(), (img / 255).dtype)
    bright = img + 50
    safe = (img.int() + 50).clamp(0, 255).to(torch.uint8)
    log(bright, safe, torch.equal(bright, safe))
    diff = img[0] - img[1]
    absdiff = (img[0].int() - img[1].int()).abs().to(torch.uint8)
    log(diff, absdiff)
    mean = img.float().mean(dim=(1, 2))
    log(mean, img.sum(dim=(1, 2)), img.sum(dim=(1, 2)).dtype, img.to(torch.int64).sum())
    inverted = 255 - img
    log(inverted.dtype, inverted[0, 0], (~img)[0, 0])
    halved = img // 2
    log(halved.dtype, (img * 0.5).dtype, (img >> 1).equal(halved), img.float().round().byte()[0, 0])
    norm = (img.float() / 255 - 0.5) / 0.5
    back = ((norm * 0.5 + 0.5) * 255).round().to(torch.uint8)
    log(torch.equal(back, img), norm.min() >= -1)
    log(torch.tensor([3], dtype=torch.uint8) - torch.tensor([5], dtype=torch.uint8),
        torch.tensor([3], dtype=torch.uint8) - 5, torch.tensor([3], dtype=torch.uint8) * -1)
    log(img.to(torch.float16)[0, 0], img.bool().all(), img.argmax(), img.view(-1).bincount().shape)

@program()
def integer_number_theory(torch, log):
    n = 50
    sieve = torch.ones(n + 1, dtype=torch.bool)
    sieve[:2] = False
    for i in range(2, int(n ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = False
    primes = sieve.nonzero().squeeze(1)
    log(primes, primes.dtype, sieve.sum())
    a, b = torch.tensor([12, 18, -24, 0]), torch.tensor([8, 27, 36, 5])
    log(torch.gcd(a, b), torch.lcm(a, b), a.abs() % b)
    x = torch.arange(1, 11)
    steps = torch.zeros_like(x)
    v = x.clone()
    while (v != 1).any():
        odd = v % 2 == 1
        v = torch.where(v == 1, v, torch.where(odd, 3 * v + 1, v // 2))
        steps += (v != 1).long() + 0
    log(steps)
    num = torch.tensor([1234, 908, 7])
    digits = torch.stack([(num // 10 ** k) % 10 for k in range(4)], 1).flip(1)
    log(digits, digits.sum(1))
    base, exp, mod = torch.tensor([2, 3, 5]), 13, 1000
    result = torch.ones(3, dtype=torch.long)
    bb = base.clone()
    e = exp
    while e:
        if e & 1:
            result = result * bb % mod
        bb = bb * bb % mod
        e >>= 1
    log(result, torch.tensor([2, 3, 5]) ** 13 % mod)
    h = torch.tensor([1, 2, 3], dtype=torch.int64)
    for _ in range(3):
        h = h * 6364136223846793005 + 1442695040888963407
    log(h, h % 97, h >> 60, (h >> 33) ^ h)


@program()
def dtype_promotion_in_practice(torch, log):
    i8, u8 = torch.tensor([1], dtype=torch.int8), torch.tensor([1], dtype=torch.uint8)
    log((i8 + u8).dtype, (u8 + torch.tensor([1], dtype=torch.int16)).dtype, (u8 * True).dtype)
    h = torch.ones(2, dtype=torch.float16)
    log((h + torch.ones(2, dtype=torch.int64)).dtype, (h + 1.5).dtype, (h + torch.tensor(1.5,
        dtype=torch.float64)).dtype, (h * torch.ones(2, dtype=torch.bfloat16)).dtype)
    f = torch.ones(2)
    log((f + torch.tensor(1, dtype=torch.float64)).dtype, (f + torch.ones(1, dtype=torch.float64))
        .dtype, (torch.tensor(2) * 1.5).dtype, (torch.ones(2, dtype=torch.int32) + 2 ** 40).dtype)
    log((f + 1j).dtype, (torch.ones(1, dtype=torch.complex64) * torch.ones(1,
        dtype=torch.float64)).dtype)
    log(torch.result_type(u8, -1), torch.result_type(torch.tensor(1.0), 1),
        torch.promote_types(torch.uint8, torch.int8), torch.can_cast(torch.float32, torch.int32),
        torch.can_cast(torch.int32, torch.float32))
    log(torch.where(torch.tensor([True, False]), 1, 0.5).dtype, torch.where(
        torch.tensor([True]), torch.tensor([1]), 2.5).dtype, torch.where(torch.tensor([True]), 1, 0)
        .dtype)
    log(torch.cat([torch.ones(1, dtype=torch.int32), torch.ones(1)]).dtype,
        torch.stack([torch.ones(1, dtype=torch.uint8), torch.ones(1, dtype=torch.int8)]).dtype)
    log(torch.tensor([1, 2]).float().dtype, torch.tensor(1.0).to(torch.int32) + 0.5,
        torch.tensor([True]) + torch.tensor([True]), torch.tensor([1, 2], dtype=torch.int16).sum().dtype,
        torch.tensor([1.0], dtype=torch.float16).sum().dtype, torch.tensor([1], dtype=torch.int8)
        .cumsum(0).dtype, torch.tensor([True]).cumsum(0).dtype)
    x = torch.ones(3, dtype=torch.int32)
    x += 2
    log(x, x.dtype, _raises(lambda: x.__iadd__(2.5)), _raises(lambda: x.__itruediv__(2)))
    y = torch.ones(2)
    y += torch.tensor([1, 2])
    log(y, y.dtype)
    log(torch.float32.is_floating_point, torch.int64.is_signed, torch.uint8.is_signed,
        torch.complex64.is_complex, torch.float16.itemsize, torch.bfloat16.to_real() if hasattr(
            torch.bfloat16, "to_real") else None, torch.complex128.to_real(), torch.float32.to_complex())


@program(tol=1e-5)
def hand_written_adam_vs_builtin(torch, log):
    torch.manual_seed(1)
    w1 = torch.randn(4, requires_grad=True)
    w2 = w1.detach().clone().requires_grad_()
    target = torch.randn(4)
    m, v = torch.zeros(4), torch.zeros(4)
    b1, b2, lr, eps, wd = 0.9, 0.999, 0.01, 1e-8, 0.01
    opt = torch.optim.AdamW([w2], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    for t in range(1, 6):
        loss1 = ((w1 - target) ** 2).sum()
        loss1.backward()
        with torch.no_grad():
            g = w1.grad
            w1.mul_(1 - lr * wd)
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            mhat = m / (1 - b1 ** t)
            vhat = v / (1 - b2 ** t)
            w1.addcdiv_(mhat, vhat.sqrt().add_(eps), value=-lr)
            w1.grad.zero_()
        loss2 = ((w2 - target) ** 2).sum()
        opt.zero_grad()
        loss2.backward()
        opt.step()
        log(t, loss1, loss2, torch.allclose(w1, w2, atol=1e-6))
    st = opt.state[w2]
    log(st["step"], torch.allclose(st["exp_avg"], m), torch.allclose(st["exp_avg_sq"], v))
    log(torch.lerp(torch.zeros(2), torch.ones(2), torch.tensor([0.25, 2.0])),
        torch.addcmul(torch.ones(2), torch.ones(2), torch.ones(2), value=3),
        torch.addcdiv(torch.ones(2), torch.ones(2), torch.full((2,), 4.0), value=-2))


@program(tol=1e-5)
def distributions_zoo(torch, log):
    D = torch.distributions
    dirich = D.Dirichlet(torch.tensor([0.5, 1.0, 2.0]))
    s = dirich.sample((3,))
    log(s.sum(1), dirich.log_prob(s), dirich.mean, dirich.entropy())
    L = torch.tensor([[1.0, 0.0], [0.5, 0.8]])
    mvn = D.MultivariateNormal(torch.zeros(2), scale_tril=L)
    x = mvn.rsample((4,))
    log(mvn.log_prob(x), mvn.covariance_matrix, mvn.entropy(), mvn.precision_matrix)
    mvn2 = D.MultivariateNormal(torch.ones(2), covariance_matrix=torch.eye(2) * 2)
    log(D.kl_divergence(mvn, mvn2), D.kl_divergence(mvn2, mvn))
    lr = D.LowRankMultivariateNormal(torch.zeros(3), torch.ones(3, 1), torch.ones(3))
    log(lr.log_prob(torch.zeros(3)), lr.covariance_matrix)
    for d in [D.Poisson(torch.tensor(3.0)), D.Binomial(10, torch.tensor(0.3)),
              D.NegativeBinomial(5, torch.tensor(0.4)), D.Geometric(torch.tensor(0.2)),
              D.Laplace(0.0, 2.0), D.StudentT(3.0), D.Gamma(2.0, 3.0), D.Exponential(1.5),
              D.Cauchy(0.0, 1.0), D.Gumbel(0.0, 1.0), D.HalfNormal(1.0), D.VonMises(0.0, 2.0),
              D.Chi2(4.0), D.Weibull(1.0, 2.0), D.Pareto(1.0, 3.0), D.Kumaraswamy(2.0, 3.0)]:
        v = d.sample((2,))
        log(type(d).__name__, v, d.log_prob(v), d.mean if type(d).__name__ not in (
            "Cauchy", "VonMises") else None)
    ohc = D.OneHotCategorical(probs=torch.tensor([0.2, 0.3, 0.5]))
    log(ohc.sample((2,)), ohc.enumerate_support(), D.Categorical(probs=torch.tensor(
        [0.2, 0.8])).enumerate_support())
    rb = D.RelaxedBernoulli(torch.tensor(0.5), probs=torch.tensor([0.3, 0.9]))
    log(rb.rsample().shape, D.Bernoulli(logits=torch.tensor([0.0, 2.0])).probs)
    log(_raises(lambda: D.Normal(0.0, -1.0)), _raises(lambda: D.Categorical(torch.tensor([]))))
    log(_raises(lambda: D.Bernoulli(torch.tensor([0.5])).log_prob(torch.tensor([0.5]))))
    log(repr(D.Normal(torch.zeros(2), 1.0)), repr(D.Categorical(logits=torch.zeros(3))))


@program(tol=1e-5)
def linalg_toolkit(torch, log):
    A = torch.randn(4, 3, dtype=torch.float64)
    Q, R = torch.linalg.qr(A)
    log(Q.shape, R.shape, torch.allclose(Q @ R, A), torch.linalg.qr(A, mode="complete")[0].shape,
        torch.linalg.qr(A, mode="r")[0].shape)
    S = A.T @ A
    w, V = torch.linalg.eigh(S)
    log(w, torch.linalg.eigvalsh(S), torch.allclose(V @ torch.diag(w) @ V.T, S))
    log(torch.linalg.vector_norm(A, ord=1), torch.linalg.vector_norm(A, ord=float("inf"), dim=0),
        torch.linalg.matrix_norm(A, ord="nuc"), torch.linalg.norm(A, dim=1), torch.linalg.norm(A))
    log(torch.kron(torch.eye(2), torch.tensor([[1.0, 2.0]])), torch.linalg.vander(
        torch.tensor([1.0, 2.0, 3.0])), torch.linalg.multi_dot([A.T, A, torch.ones(3, 1,
                                                                                      dtype=A.dtype)]))
    log(torch.linalg.det(S), torch.trace(S), torch.linalg.inv_ex(S).info,
        torch.linalg.cholesky_ex(-S).info, torch.outer(torch.arange(3.0), torch.arange(2.0)))
    log(torch.linalg.solve(S, torch.ones(3, dtype=A.dtype)), torch.linalg.lstsq(A, torch.ones(4, 1,
        dtype=A.dtype)).solution.squeeze(), torch.linalg.matrix_power(S, -1).shape)
    log(torch.linalg.householder_product(*torch.geqrf(A)).shape, torch.linalg.tensorsolve(
        torch.eye(6, dtype=A.dtype).view(2, 3, 6), torch.ones(2, 3, dtype=A.dtype)).shape)
    log(_raises(lambda: torch.linalg.inv(torch.ones(2, 3))), _raises(lambda: torch.linalg.eigh(A)))
    log(_raises(lambda: torch.linalg.solve(S, torch.ones(4, dtype=A.dtype))))
    log(torch.linalg.diagonal(torch.arange(9.0).view(3, 3), offset=1), torch.tril(torch.ones(3, 3),
        -1), torch.triu(torch.ones(2, 3), 1), torch.diag_embed(torch.ones(2, 2)).shape)


@program(tol=1e-5)
def recurrent_cells_by_hand(torch, log):
    nn = torch.nn
    cell = nn.LSTMCell(3, 4)
    gru = nn.GRUCell(3, 4)
    rnn = nn.RNNCell(3, 4, nonlinearity="relu")
    x = torch.randn(5, 2, 3)
    h, c = torch.zeros(2, 4), torch.zeros(2, 4)
    hg = torch.zeros(2, 4)
    hr = None
    for t in range(5):
        h, c = cell(x[t], (h, c))
        hg = gru(x[t], hg)
        hr = rnn(x[t], hr)
    log(h, c, hg, hr)
    lstm = nn.LSTM(3, 4, batch_first=False)
    lstm.weight_ih_l0.data.copy_(cell.weight_ih)
    lstm.weight_hh_l0.data.copy_(cell.weight_hh)
    lstm.bias_ih_l0.data.copy_(cell.bias_ih)
    lstm.bias_hh_l0.data.copy_(cell.bias_hh)
    out, (hn, cn) = lstm(x)
    log(torch.allclose(hn[0], h, atol=1e-6), out.shape)
    proj = nn.LSTM(3, 6, proj_size=2, num_layers=2, bidirectional=True)
    o, (hp, cp) = proj(x)
    log(o.shape, hp.shape, cp.shape, [n for n, _ in proj.named_parameters()][:5])
    log(cell(x[0]).__class__.__name__, _raises(lambda: cell(torch.randn(2, 5))))
    unbatched = nn.GRU(3, 4)(torch.randn(5, 3))
    log(unbatched[0].shape, unbatched[1].shape)


@program(tol=1e-5)
def pooling_and_unpooling(torch, log):
    nn, F = torch.nn, torch.nn.functional
    x = torch.randn(1, 2, 6, 6)
    pooled, idx = F.max_pool2d(x, 2, return_indices=True)
    up = F.max_unpool2d(pooled, idx, 2, output_size=x.shape)
    log(pooled.shape, idx[0, 0], (up != 0).sum())
    log(F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)[0, 0])
    log(F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)[0, 0], F.avg_pool2d(x, 4,
        divisor_override=2)[0, 0])
    log(F.lp_pool2d(x.abs(), 2, 2)[0, 0, 0], F.adaptive_max_pool2d(x, (2, 3), return_indices=True)[1]
        [0, 0])
    log(F.adaptive_avg_pool2d(x, (4, 5))[0, 1, 0], F.adaptive_avg_pool1d(x[0], 4)[0, 0])
    log(F.max_pool1d(x[0], 3, stride=2, dilation=2)[0, 0], F.max_pool2d(x, 3, stride=3,
        ceil_mode=True).shape)
    pool3 = nn.MaxPool3d(2, return_indices=True)
    v = torch.randn(1, 1, 4, 4, 4)
    p3, i3 = pool3(v)
    log(p3.shape, nn.MaxUnpool3d(2)(p3, i3).shape, F.avg_pool3d(v, 2).mean())
    log(_raises(lambda: F.max_pool2d(x, 2, padding=2)), _raises(lambda: F.max_pool2d(x, 7)))
    log(nn.LocalResponseNorm(2)(x)[0, 0, 0], nn.Fold((4, 4), 2, stride=2)(nn.Unfold(2, stride=2)(
        x[:, :, :4, :4])).equal(x[:, :, :4, :4]))


@program(tol=1e-5)
def transformer_decoder_with_masks(torch, log):
    nn = torch.nn
    d_model, nhead = 8, 2
    dec_layer = nn.TransformerDecoderLayer(d_model, nhead, dim_feedforward=16, dropout=0.0,
                                           batch_first=True, norm_first=True)
    decoder = nn.TransformerDecoder(dec_layer, num_layers=2)
    memory = torch.randn(2, 5, d_model)
    tgt = torch.randn(2, 4, d_model)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(4)
    log(tgt_mask)
    mem_pad = torch.tensor([[False] * 5, [False, False, False, True, True]])
    tgt_pad = torch.tensor([[False] * 4, [False, False, False, True]])
    out = decoder(tgt, memory, tgt_mask=tgt_mask, tgt_key_padding_mask=tgt_pad,
                  memory_key_padding_mask=mem_pad, tgt_is_causal=True)
    log(out.shape, out[0, 0])
    out2 = decoder(tgt[:, :2], memory, tgt_mask=tgt_mask[:2, :2],
                   memory_key_padding_mask=mem_pad)
    log(torch.allclose(out[0, :2], out2[0], atol=1e-5))
    model = nn.Transformer(d_model, nhead, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=16, dropout=0.0, batch_first=True)
    log(model(torch.randn(2, 5, d_model), tgt, tgt_mask=tgt_mask).shape)
    log(_raises(lambda: decoder(tgt, memory, tgt_mask=torch.zeros(3, 3))))


@program(tol=1e-5)
def bidirectional_gru_tagger_packed(torch, log):
    nn = torch.nn
    rnn_utils = nn.utils.rnn
    emb = nn.Embedding(20, 4, padding_idx=0)
    gru = nn.GRU(4, 5, batch_first=True, bidirectional=True, num_layers=2, dropout=0.0)
    head = nn.Linear(10, 3)
    seqs = [torch.tensor([3, 4, 5]), torch.tensor([6, 7, 8, 9, 10]), torch.tensor([11])]
    lengths = torch.tensor([len(s) for s in seqs])
    padded = rnn_utils.pad_sequence(seqs, batch_first=True)
    packed = rnn_utils.pack_padded_sequence(emb(padded), lengths, batch_first=True,
                                            enforce_sorted=False)
    out, h = gru(packed)
    unpacked, lens = rnn_utils.pad_packed_sequence(out, batch_first=True, total_length=6)
    logits = head(unpacked)
    tags = torch.randint(0, 3, (3, 6))
    mask = torch.arange(6)[None] < lengths[:, None]
    loss = nn.functional.cross_entropy(logits[mask], tags[mask])
    loss.backward()
    log(packed.batch_sizes, packed.sorted_indices, unpacked.shape, lens, h.shape, loss)
    log(unpacked[2, 1:].abs().sum(), emb.weight.grad[0], logits.argmax(-1)[mask])
    packed2 = rnn_utils.pack_sequence(seqs, enforce_sorted=False)
    log(packed2.data, packed2.unsorted_indices)
    log(_raises(lambda: rnn_utils.pack_padded_sequence(padded, lengths, batch_first=True)))


@program()
def sorting_ties_and_cumulative_extrema(torch, log):
    x = torch.tensor([3, 1, 2, 3, 1, 2, 3])
    log(x.sort(stable=True), x.argsort(stable=True), x.sort(descending=True, stable=True).indices)
    log(torch.cummax(x, 0), torch.cummin(x, 0), x.unique(return_counts=True))
    f = torch.tensor([0.5, -1.0, 2.0, 2.0, -3.0])
    log(f.cumprod(0), torch.logcumsumexp(f, 0), f.msort(), f.argmax(), f.argmin(), f.max(0))
    m = torch.tensor([[1, 5, 5], [7, 7, 2]])
    log(m.max(1), m.min(1), m.mode(1), m.argmax(1), m.argsort(dim=1, stable=True), m.amax(0))
    log(torch.topk(torch.tensor([1.0, 3.0, 2.0, 3.0]), 2, sorted=True),
        torch.kthvalue(torch.tensor([4.0, 1.0, 3.0, 1.0]), 2))
    g = torch.tensor([1.0, 2.0, 0.0, 4.0], requires_grad=True)
    g.cumprod(0).sum().backward()
    log(g.grad)
    g2 = torch.tensor([1.0, 3.0, 2.0, 3.0], requires_grad=True)
    g2.cummax(0).values.sum().backward()
    log(g2.grad)
    log(torch.searchsorted(torch.tensor([1, 3, 5, 7]), torch.tensor([[0, 3], [6, 9]])),
        torch.sort(torch.tensor([2, float("nan"), 1.0])), torch.sort(torch.tensor([True, False])))


@program()
def custom_function_ctx_features(torch, log):
    class Clamp01(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, lo):
            ctx.lo = lo
            mask = (x >= lo) & (x <= 1)
            ctx.save_for_backward(mask)
            out = x.clamp(lo, 1)
            idx = torch.nonzero(mask)
            ctx.mark_non_differentiable(idx)
            return out, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            mask, = ctx.saved_tensors
            log("needs", ctx.needs_input_grad, g_idx)
            return g * mask, None

    x = torch.tensor([-0.5, 0.3, 0.9, 1.5], requires_grad=True)
    y, idx = Clamp01.apply(x, 0.0)
    log(y, idx, idx.requires_grad, y.grad_fn.__class__.__name__)
    y.sum().backward()
    log(x.grad)

    class Double(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.set_materialize_grads(False)
            return a * 2, b * 2

        @staticmethod
        def backward(ctx, ga, gb):
            log("grads", ga is None, gb is None)
            return (None if ga is None else ga * 2), (None if gb is None else gb * 2)

    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    p, q = Double.apply(a, b)
    p.sum().backward()
    log(a.grad, b.grad)

    class Inplace(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.mark_dirty(t)
            return t.mul_(3)

        @staticmethod
        def backward(ctx, g):
            return g * 3

    z = torch.ones(2, requires_grad=True).clone()
    w = Inplace.apply(z)
    log(w is z, z.grad_fn.__class__.__name__)
    log(_raises(lambda: Inplace.apply(torch.ones(2, requires_grad=True))))


@program()
def bool_and_logical_ops(torch, log):
    a = torch.tensor([True, False, True, False])
    b = torch.tensor([True, True, False, False])
    log(torch.logical_and(a, b), torch.logical_or(a, b), torch.logical_xor(a, b), torch.logical_not(a))
    log(a.sum(), a.count_nonzero(), a.float().mean(), a.any(), a.all(), a.long().sum(),
        torch.count_nonzero(torch.tensor([[0, 1], [2, 0]]), dim=0))
    x = torch.tensor([0.0, 1.5, -2.0, 0.0])
    log(torch.logical_and(x, a), torch.logical_not(x), x.bool(), (x != 0).nonzero().flatten())
    log(a * b, a + b, (a * 1).dtype, a & b, a.int() - b.int(), torch.where(a, b, ~b))
    log((a == b).all(), torch.equal(a, b), a.eq(b).sum(), a.ne(b), a > b, a.max(), a.argmax())
    m = torch.tensor([[True, False], [False, False]])
    log(m.any(dim=1), m.all(dim=0), m.any(dim=1, keepdim=True), m.sum(1), m.cumsum(1), m.T)
    log(torch.zeros(0, dtype=torch.bool).all(), torch.zeros(0, dtype=torch.bool).any(),
        torch.tensor([1, 0, 3]).all(), torch.tensor([0.0, 0.1]).any())
    log(_raises(lambda: a - b), _raises(lambda: a.sub_(b)), torch.sub(a.int(), b.int()))


@program()
def printing_edge_values(torch, log):
    print(torch.tensor([1.0, -0.0]), torch.tensor(-0.0), torch.tensor([0.0, 1e-40]))
    print(torch.tensor([1e-5, 1e5]), torch.tensor([1e-4, 1e4]), torch.tensor([1e16, 1.0]))
    print(torch.tensor([12345678.0, 1.0]), torch.tensor([0.1 + 0.2]), torch.tensor(1 / 3,
                                                                                  dtype=torch.float64))
    print(torch.tensor([2 ** 53], dtype=torch.float64), torch.tensor([-7, 12345678901]))
    print(torch.tensor([float("nan"), float("inf")], dtype=torch.float16), torch.tensor(
        [1.0, 2.0], dtype=torch.bfloat16) / 3)
    print(torch.tensor([1 + 0j, 0 - 1j, 1e-8 + 1e8j]), torch.tensor([[1.5 + 2j], [-3 - 0.25j]]))
    print(torch.tensor([[-1.0, 2.0], [3.5, -400.25]]), torch.tensor([[1, -200], [3, 4]]))
    print(torch.ones(2, 1, 3), torch.zeros(1, 0), torch.tensor([[[True]]]))
    print(torch.arange(0, 1, 0.1), torch.linspace(-1, 1, 7))
    print(torch.randn(3, 3).exp().log().round(decimals=1) * 0)
    print(torch.tensor([1e-3, 1.0, 100.0]) * torch.tensor([1.0, 1e-3, 1e-6]))
    print(torch.tensor([[0.001, 1000.0], [10.0, 0.5]], dtype=torch.float64))
    print(torch.tensor(7, dtype=torch.uint8), torch.tensor([-1], dtype=torch.int8),
          torch.tensor(3.5, dtype=torch.float16), torch.tensor([300.0], dtype=torch.float16))
    torch.set_printoptions(precision=6, linewidth=40)
    print(torch.tensor([math.pi, math.e, 1 / 7, 2 ** 0.5, 1e-3]))
    torch.set_printoptions(precision=0)
    print(torch.tensor([1.49, 2.5, 3.51]))
    torch.set_printoptions(profile="default")
    print(torch.tensor([1.49, 2.5, 3.51]), torch.get_printoptions() if hasattr(
        torch, "get_printoptions") else None)
    log(str(torch.float32), str(torch.int64), repr(torch.bool), torch.float.__repr__(),
        str(torch.double), torch.half, torch.cfloat, torch.long)


@program()
def tensor_formatting_in_fstrings(torch, log):
    t = torch.tensor(0.5)
    v = torch.tensor([0.5, 0.25])
    print(f"{t}", f"{t!r}", f"{t!s}", f"{t:}", f"{t:.3e}", f"{t:>10.2f}|", f"{t:+.1%}")
    print(f"{torch.tensor(3):d}", f"{torch.tensor(3):x}", f"{torch.tensor(255):#x}",
          f"{torch.tensor(3):5}", f"{torch.tensor(True)}")
    print(f"{v}", "{}".format(v), "%s" % (v,), str(v.shape), f"{v.shape}", f"{v.dtype}")
    print("%d items, %.2f avg" % (torch.tensor(5), torch.tensor(2.345)))
    print("loss: " + str(torch.tensor(1.5).item()), "val", torch.tensor([1.0]).item())
    print(f"{torch.tensor(1e-8):.2g}", f"{torch.tensor(123456.0):,.1f}", f"{torch.tensor(-0.0)}")
    print(f"{torch.tensor(2.5, dtype=torch.float64):.10f}", f"{torch.tensor(0.1, dtype=torch.float16)}")
    print(f"{torch.tensor(1 + 2j)}", f"{torch.tensor([1, 2])}", f"{torch.tensor(5, requires_grad=False)}")
    log(_raises(lambda: f"{v:.2f}"), _raises(lambda: f"{torch.tensor(3.5):d}"),
        _raises(lambda: "%d" % torch.tensor([1, 2])))
    x = torch.tensor(2.0, requires_grad=True)
    print(f"{x * 3}", f"{(x * 3):.1f}", f"{x.grad}")
    print("{:.3f}".format(torch.tensor(1.0 / 3)), "{:10.4f}|".format(torch.tensor(2.0)),
          format(torch.tensor(5), "03d"))


@program(tol=1e-5)
def sparse_graph_propagation(torch, log):
    idx = torch.tensor([[0, 1, 1, 2, 3], [1, 0, 2, 1, 2]])
    vals = torch.ones(5)
    A = torch.sparse_coo_tensor(idx, vals, (4, 4))
    log(A.is_sparse, A._nnz(), A.coalesce().indices(), A.to_dense())
    deg = torch.sparse.sum(A, dim=1).to_dense()
    dinv = deg.clamp(min=1).pow(-0.5)
    X = torch.randn(4, 3)
    h = torch.sparse.mm(A, X)
    log(deg, h, dinv)
    W = torch.randn(3, 2, requires_grad=True)
    out = torch.sparse.mm(A, X @ W) * dinv[:, None]
    out.sum().backward()
    log(out, W.grad)
    csr = A.to_sparse_csr()
    log(csr.crow_indices(), csr.col_indices(), (csr @ X).shape)
    dup = torch.sparse_coo_tensor(torch.tensor([[0, 0], [1, 1]]), torch.tensor([2.0, 3.0]), (2, 2))
    log(dup.is_coalesced(), dup.coalesce().values(), dup.to_dense())
    log(torch.sparse.softmax(A.coalesce(), dim=1).to_dense())


@program(tol=1e-5)
def parameters_to_vector_and_hypernetwork(torch, log):
    nn = torch.nn
    utils = nn.utils
    target_net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    vec = utils.parameters_to_vector(target_net.parameters())
    log(vec.shape, vec.requires_grad)
    utils.vector_to_parameters(torch.zeros_like(vec), target_net.parameters())
    log(target_net[0].weight, target_net(torch.ones(1, 2)))
    hyper = nn.Linear(4, vec.numel())
    z = torch.randn(4)
    flat = hyper(z)
    shapes = [p.shape for p in target_net.parameters()]
    chunks = torch.split(flat, [math.prod(s) for s in shapes])
    params = {n: c.view(s) for (n, _), c, s in zip(target_net.named_parameters(), chunks, shapes)}
    func = _module(torch, "func")
    out = func.functional_call(target_net, params, (torch.randn(5, 2),))
    out.pow(2).mean().backward()
    log(out.shape, hyper.weight.grad.abs().sum() > 0, target_net[0].weight.grad)
    log(utils.parameters_to_vector([torch.ones(2, 2), torch.zeros(3)]))


@program()
def init_schemes(torch, log):
    nn = torch.nn
    init = nn.init
    w = torch.empty(64, 32)
    init.trunc_normal_(w, std=0.02, a=-0.04, b=0.04)
    log(w.abs().max() <= 0.04, w.std())
    init.orthogonal_(w)
    log(torch.allclose(w.T @ w, torch.eye(32), atol=1e-5))
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    log(w.std())
    init.xavier_uniform_(w, gain=init.calculate_gain("tanh"))
    log(w.abs().max(), init.calculate_gain("leaky_relu", 0.2), init.calculate_gain("selu"),
        init.calculate_gain("conv2d"))
    c = torch.empty(8, 4, 3, 3)
    init.kaiming_uniform_(c, a=math.sqrt(5))
    log(c.abs().max(), init._calculate_fan_in_and_fan_out(c))
    init.dirac_(c[:4])
    log(c[0, 0], init.eye_(torch.empty(2, 3)), init.constant_(torch.empty(2), 0.3))
    init.sparse_(w, sparsity=0.5)
    log((w == 0).float().mean(0)[:3])
    log(_raises(lambda: init.orthogonal_(torch.empty(3))), _raises(lambda: init.calculate_gain(
        "foo")), _raises(lambda: init.xavier_uniform_(torch.empty(3))))
    lin = nn.Linear(4, 4)

    def reset(m):
        if isinstance(m, nn.Linear):
            init.zeros_(m.bias)
            init.ones_(m.weight)
    nn.Sequential(lin).apply(reset)
    log(lin.weight.sum(), lin.bias)

@program(tol=1e-5)
def barlow_twins_and_vicreg(torch, log):
    nn, F = torch.nn, torch.nn.functional
    proj = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 4))
    x = torch.randn(10, 6)
    z1, z2 = proj(x + 0.1 * torch.randn_like(x)), proj(x + 0.1 * torch.randn_like(x))
    bn = nn.BatchNorm1d(4, affine=False)
    c = bn(z1).T @ bn(z2) / 10
    on = torch.diagonal(c).add_(-1).pow_(2).sum()
    off = c.flatten()[:-1].view(3, 5)[:, 1:].flatten().pow(2).sum()
    log(on, off, c.shape)
    inv = F.mse_loss(z1, z2)
    std1 = torch.sqrt(z1.var(dim=0) + 1e-4)
    var_loss = F.relu(1 - std1).mean()
    z1c = z1 - z1.mean(0)
    cov = (z1c.T @ z1c) / 9
    cov_loss = (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / 4
    loss = 25 * inv + 25 * var_loss + cov_loss + on + 0.005 * off
    loss.backward()
    log(inv, var_loss, cov_loss, proj[0].weight.grad.norm())


@program(tol=1e-5)
def byol_and_dino_heads(torch, log):
    nn, F = torch.nn, torch.nn.functional
    online = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 4))
    predictor = nn.Linear(4, 4)
    target = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 4))
    target.load_state_dict(online.state_dict())
    for p in target.parameters():
        p.requires_grad_(False)
    opt = torch.optim.SGD(list(online.parameters()) + list(predictor.parameters()), lr=0.1)
    center = torch.zeros(4)
    for step in range(3):
        v1, v2 = torch.randn(6, 5), torch.randn(6, 5)
        p1 = F.normalize(predictor(online(v1)), dim=-1)
        with torch.no_grad():
            t2 = F.normalize(target(v2), dim=-1)
        byol = (2 - 2 * (p1 * t2).sum(-1)).mean()
        s_out = online(v1) / 0.1
        with torch.no_grad():
            t_out = F.softmax((target(v2) - center) / 0.04, dim=-1)
            center = center * 0.9 + target(v2).mean(0) * 0.1
        dino = torch.sum(-t_out * F.log_softmax(s_out, dim=-1), dim=-1).mean()
        opt.zero_grad()
        (byol + dino).backward()
        opt.step()
        with torch.no_grad():
            for po, pt in zip(online.parameters(), target.parameters()):
                pt.mul_(0.99).add_(po.detach(), alpha=0.01)
        log(byol, dino, center)


@program(tol=1e-5)
def swav_sinkhorn_knopp(torch, log):
    F = torch.nn.functional
    z = F.normalize(torch.randn(8, 4), dim=1)
    prototypes = F.normalize(torch.randn(5, 4), dim=1)
    scores = z @ prototypes.T
    Q = torch.exp(scores / 0.05).T
    Q /= Q.sum()
    K, B = Q.shape
    for _ in range(3):
        Q /= Q.sum(dim=1, keepdim=True)
        Q /= K
        Q /= Q.sum(dim=0, keepdim=True)
        Q /= B
    Q = (Q * B).T
    log(Q.sum(1), Q.argmax(1), Q.sum(0))
    p = F.softmax(scores / 0.1, dim=1)
    loss = -(Q * p.log()).sum(1).mean()
    log(loss)


@program(tol=1e-5)
def arcface_and_center_loss(torch, log):
    nn, F = torch.nn, torch.nn.functional
    emb = torch.randn(6, 4, requires_grad=True)
    W = nn.Parameter(torch.randn(3, 4))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    cos = F.linear(F.normalize(emb), F.normalize(W)).clamp(-1 + 1e-7, 1 - 1e-7)
    theta = torch.acos(cos)
    target_logit = torch.cos(theta + 0.5)
    onehot = F.one_hot(y, 3).bool()
    logits = torch.where(onehot, target_logit, cos) * 30.0
    loss = F.cross_entropy(logits, y)
    loss.backward()
    log(loss, theta.min(), W.grad.norm(), emb.grad[0])
    centers = torch.zeros(3, 4)
    feats = emb.detach()
    diff = feats - centers[y]
    center_loss = diff.pow(2).sum(1).mean() / 2
    counts = torch.bincount(y, minlength=3).float()
    delta = torch.zeros(3, 4).index_add_(0, y, diff) / (1 + counts[:, None])
    centers += 0.5 * delta
    log(center_loss, centers)


@program(tol=1e-5)
def transe_and_poincare_embeddings(torch, log):
    nn, F = torch.nn, torch.nn.functional
    ent = nn.Embedding(6, 3, max_norm=1.0)
    rel = nn.Embedding(2, 3)
    h, r, t = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 0]), torch.tensor([3, 4, 5])
    t_neg = torch.tensor([5, 3, 4])
    before = ent.weight.detach().clone()
    pos = (ent(h) + rel(r) - ent(t)).norm(p=1, dim=1)
    neg = (ent(h) + rel(r) - ent(t_neg)).norm(p=1, dim=1)
    loss = F.relu(1.0 + pos - neg).mean()
    loss.backward()
    log(pos, neg, loss, ent.weight.norm(dim=1), (ent.weight.detach() != before).any(1))
    log(ent.weight.grad[0], rel.weight.grad)

    def poincare_dist(u, v, eps=1e-5):
        sq = ((u - v) ** 2).sum(-1)
        uu = (1 - (u ** 2).sum(-1)).clamp(min=eps)
        vv = (1 - (v ** 2).sum(-1)).clamp(min=eps)
        return torch.acosh(1 + 2 * sq / (uu * vv))

    u = torch.tensor([[0.1, 0.2], [0.5, -0.3]], requires_grad=True)
    v = torch.tensor([[0.0, 0.0], [0.9, 0.4]])
    d = poincare_dist(u, v)
    d.sum().backward()
    log(d, u.grad)
    with torch.no_grad():
        nrm = u.norm(dim=-1, keepdim=True)
        u.copy_(torch.where(nrm >= 1, u / nrm * (1 - 1e-5), u))
    log(u, F.embedding(torch.tensor([1]), torch.randn(3, 2) * 5, max_norm=2.0).norm())


@program(tol=1e-5)
def bahdanau_and_pointer_attention(torch, log):
    nn, F = torch.nn, torch.nn.functional
    enc = torch.randn(2, 5, 6)
    dec_h = torch.randn(2, 6)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    Wa, Ua, va = nn.Linear(6, 6, bias=False), nn.Linear(6, 6), nn.Linear(6, 1, bias=False)
    e = va(torch.tanh(Wa(dec_h).unsqueeze(1) + Ua(enc))).squeeze(-1)
    e = e.masked_fill(~mask, -1e9)
    a = F.softmax(e, dim=-1)
    ctx = torch.bmm(a.unsqueeze(1), enc).squeeze(1)
    log(a, ctx.shape)
    luong = torch.einsum("bd,btd->bt", dec_h, enc).masked_fill(~mask, float("-inf"))
    log(F.log_softmax(luong, -1), F.softmax(luong, -1)[0, 3:])
    visited = torch.zeros(2, 5, dtype=torch.bool)
    tour = []
    for step in range(3):
        logits = luong.masked_fill(visited, float("-inf"))
        choice = logits.argmax(-1)
        tour.append(choice)
        visited = visited.scatter(1, choice[:, None], True)
    log(torch.stack(tour, 1), visited.sum(1))


@program(tol=_TRAIN)
def resnet_blocks_and_drop_path(torch, log):
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        expansion = 1

        def __init__(self, cin, cout, stride=1, drop=0.0):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            nn.init.zeros_(self.bn2.weight)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))
            self.drop = drop

        def drop_path(self, x):
            if not self.training or self.drop == 0:
                return x
            keep = 1 - self.drop
            mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
            return x * mask / keep

        def forward(self, x):
            idt = x if self.down is None else self.down(x)
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(idt + self.drop_path(out))

    net = nn.Sequential(Block(3, 4), Block(4, 8, 2, drop=0.5), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(8, 2))
    x = torch.randn(4, 3, 8, 8)
    out = net(x)
    out.sum().backward()
    log(out, net[0].bn2.weight.grad, net[1].down[0].weight.grad.shape)
    net.eval()
    log(net(x))
    se_fc = nn.Sequential(nn.Linear(8, 2), nn.ReLU(), nn.Linear(2, 8), nn.Sigmoid())
    feat = torch.randn(2, 8, 4, 4)
    w = se_fc(feat.mean((2, 3)))
    avg = feat.mean(1, keepdim=True)
    mx = feat.amax(1, keepdim=True)
    spatial = torch.sigmoid(nn.Conv2d(2, 1, 3, padding=1)(torch.cat([avg, mx], 1)))
    log((feat * w[:, :, None, None] * spatial).shape, spatial[0, 0, 0])


@program(tol=1e-5)
def ohem_lovasz_and_tversky(torch, log):
    F = torch.nn.functional
    logits = torch.randn(12, 3, requires_grad=True)
    y = torch.randint(0, 3, (12,))
    per = F.cross_entropy(logits, y, reduction="none")
    hard = per.topk(4).values.mean()
    log(per.topk(4).indices, hard)

    def lovasz_grad(gt_sorted):
        gts = gt_sorted.sum()
        inter = gts - gt_sorted.cumsum(0)
        union = gts + (1 - gt_sorted).cumsum(0)
        jac = 1.0 - inter / union
        jac[1:] = jac[1:] - jac[:-1]
        return jac

    pred = torch.randn(10, requires_grad=True)
    gt = (torch.rand(10) > 0.5).float()
    signs = 2 * gt - 1
    errors = 1 - pred * signs
    errs_sorted, perm = torch.sort(errors, descending=True)
    lovasz = torch.dot(F.relu(errs_sorted), lovasz_grad(gt[perm]))
    (hard + lovasz).backward()
    log(lovasz, pred.grad, logits.grad.abs().sum())
    p = torch.sigmoid(torch.randn(2, 1, 4, 4))
    t = (torch.rand(2, 1, 4, 4) > 0.5).float()
    tp = (p * t).sum((1, 2, 3))
    fp = (p * (1 - t)).sum((1, 2, 3))
    fn = ((1 - p) * t).sum((1, 2, 3))
    tversky = (tp + 1) / (tp + 0.3 * fp + 0.7 * fn + 1)
    log(1 - tversky, (1 - tversky).pow(0.75).mean())


@program(tol=1e-5)
def ewc_fisher_penalty(torch, log):
    nn, F = torch.nn, torch.nn.functional
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    xa, ya = torch.randn(10, 4), torch.randint(0, 3, (10,))
    fisher = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    for i in range(10):
        model.zero_grad()
        F.cross_entropy(model(xa[i:i + 1]), ya[i:i + 1]).backward()
        for n, p in model.named_parameters():
            fisher[n] += p.grad.detach() ** 2 / 10
    anchor = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    xb, yb = torch.randn(10, 4), torch.randint(0, 3, (10,))
    for step in range(3):
        task = F.cross_entropy(model(xb), yb)
        penalty = sum((fisher[n] * (p - anchor[n]) ** 2).sum() for n, p in model.named_parameters())
        loss = task + 100 * penalty
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(task, penalty)
    log({n: f.sum() for n, f in fisher.items()})


@program(tol=1e-5)
def per_sample_gradients_with_vmap(torch, log):
    func = _module(torch, "func")
    nn, F = torch.nn, torch.nn.functional
    model = nn.Linear(3, 2)
    params = {k: v.detach() for k, v in model.named_parameters()}
    x, y = torch.randn(5, 3), torch.randint(0, 2, (5,))

    def loss_fn(p, xi, yi):
        out = func.functional_call(model, p, (xi.unsqueeze(0),))
        return F.cross_entropy(out, yi.unsqueeze(0))

    grads = func.vmap(func.grad(loss_fn), in_dims=(None, 0, 0))(params, x, y)
    log({k: v.shape for k, v in grads.items()})
    model.zero_grad()
    F.cross_entropy(model(x), y, reduction="sum").backward()
    log(torch.allclose(grads["weight"].sum(0), model.weight.grad, atol=1e-6))
    norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads.values()]).norm(dim=0)
    clip = (1.0 / (norms + 1e-6)).clamp(max=1.0)
    log(norms, clip)
    jac = func.jacrev(lambda v: torch.sin(v) * v.sum())(torch.arange(3.0))
    jf = func.jacfwd(lambda v: torch.sin(v) * v.sum())(torch.arange(3.0))
    log(jac, torch.allclose(jac, jf), func.hessian(lambda v: (v ** 3).sum())(torch.ones(2)))
    gv, aux = func.grad(lambda v: ((v ** 2).sum(), v.mean()), has_aux=True)(torch.ones(3))
    log(gv, aux, func.vmap(torch.dot)(torch.ones(4, 2), torch.arange(8.0).view(4, 2)))
    log(func.vmap(lambda a: a.sum(), chunk_size=2)(torch.arange(6.0).view(3, 2)))


@program(tol=1e-6)
def autograd_functional_products(torch, log):
    AF = torch.autograd.functional

    def f(x):
        return torch.stack([x[0] * x[1], x[0].sin() + x[1] ** 2, x.exp().sum()])

    x = torch.tensor([0.5, -1.0])
    v = torch.tensor([1.0, 2.0])
    out, vjp = AF.vjp(f, x, torch.ones(3))
    log(out, vjp)
    out, jvp = AF.jvp(f, x, v)
    log(jvp, AF.jacobian(f, x) @ v)

    def g(x):
        return (x ** 3).sum() + x.prod()

    log(AF.hvp(g, x, v), AF.vhp(g, x, v), AF.hessian(g, x) @ v)
    log(AF.jacobian(lambda a, b: a * b, (x, v)), AF.jacobian(f, x, vectorize=True,
                                                              strategy="forward-mode"))
    log(_raises(lambda: AF.jacobian(lambda a: a.detach() * 2, x, strict=True)))


@program(tol=1e-6)
def special_functions_for_statistics(torch, log):
    S = torch.special
    x = torch.tensor([0.5, 1.0, 2.5, 10.0], dtype=torch.float64)
    log(S.gammaln(x), S.digamma(x), S.polygamma(1, x), torch.lgamma(x), S.multigammaln(x + 2, 3))
    log(S.i0(x), S.i0e(x), S.i1(x), S.i1e(x), S.bessel_j0(x), S.bessel_j1(x))
    log(S.zeta(x + 1, torch.ones(4, dtype=torch.float64)), S.log_ndtr(torch.tensor([-10.0, 0.0,
                                                                                        3.0])))
    log(S.sinc(torch.tensor([0.0, 0.5, 1.0])), S.round(torch.tensor([2.5, -0.5])), S.expit(
        torch.tensor([0.0])), S.erfcx(torch.tensor([1.0, 10.0])), S.gammainc(x, x),
        S.gammaincc(x, x))
    log(S.softmax(torch.tensor([1.0, 2.0]), 0), S.log1p(torch.tensor([1e-8])), S.exp2(
        torch.tensor([3.0])), S.logsumexp(torch.tensor([[1.0, 2.0]]), 1))
    n, k = torch.tensor([10.0, 20.0]), torch.tensor([3.0, 10.0])
    log_binom = torch.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)
    log(log_binom.exp().round(), torch.exp(S.gammaln(torch.tensor([5.0]))))
    log(torch.frexp(torch.tensor([8.0, 0.3, -5.0])), torch.ldexp(torch.tensor([1.0]),
        torch.tensor([4])), torch.nextafter(torch.tensor([1.0]), torch.tensor([2.0])) - 1,
        torch.float_power(torch.tensor([2]), 0.5), torch.true_divide(torch.tensor([3]), 2))


@program()
def index_utilities(torch, log):
    x = torch.arange(12).view(3, 4)
    log(torch.take(x, torch.tensor([0, 5, 11])), torch.take_along_dim(x, torch.tensor([[0], [3],
                                                                                        [1]]), 1))
    log(torch.take_along_dim(x, x.argmax(1, keepdim=True), dim=1), x.index_select(1,
        torch.tensor([3, 0])), x.narrow(1, 1, 2))
    log(torch.repeat_interleave(torch.tensor([1, 2, 3]), torch.tensor([2, 0, 1])),
        torch.repeat_interleave(torch.tensor([2, 1])), x.repeat_interleave(2, dim=0).shape,
        torch.repeat_interleave(torch.tensor([5, 6]), torch.tensor([1, 2]), output_size=3))
    log(torch.cartesian_prod(torch.tensor([1, 2]), torch.tensor([3, 4])), torch.combinations(
        torch.tensor([1, 2, 3]), r=2), torch.combinations(torch.tensor([1, 2]), with_replacement=True))
    src = torch.ones(3, 4)
    log(torch.zeros(3, 2).index_reduce_(1, torch.tensor([0, 1, 0, 1]), src * 2, "prod"),
        torch.full((2,), 5.0).index_reduce(0, torch.tensor([0, 0, 1]), torch.tensor([1.0, 9.0,
                                                                                       3.0]), "amax", include_self=False))
    log(torch.zeros(4).scatter_reduce(0, torch.tensor([0, 0, 3]), torch.tensor([2.0, 3.0, 4.0]),
                                      "prod", include_self=False))
    log(torch.tile(torch.tensor([1, 2]), (2, 2)), torch.tensor([[1, 2]]).expand(3, -1).contiguous()
        .stride(), torch.flip(x, [0, 1])[0], torch.fliplr(x)[0], torch.flipud(x)[0])
    log(torch.tensordot(torch.ones(2, 3), torch.ones(3, 4), dims=1).shape, torch.tensordot(
        torch.arange(6.0).view(2, 3), torch.arange(6.0).view(3, 2), dims=([0, 1], [1, 0])))
    log(torch.einsum("...ij,...jk->...ik", torch.ones(2, 2, 3), torch.ones(3, 1)).shape,
        torch.einsum("i,j->ij", torch.arange(2.0), torch.arange(3.0)), torch.einsum("ii", torch.eye(3)))
    log(torch.diff(torch.tensor([1, 4, 9]), append=torch.tensor([16])), torch.pdist(
        torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])))


@program(tol=1e-6)
def activation_zoo(torch, log):
    nn, F = torch.nn, torch.nn.functional
    x = torch.linspace(-4, 4, 9, requires_grad=True)
    acts = [F.hardtanh(x, -2, 2), F.relu6(x), F.hardswish(x), F.hardsigmoid(x), F.mish(x),
            F.celu(x, 0.5), F.selu(x), F.elu(x, 2.0), F.silu(x), F.gelu(x, approximate="tanh"),
            F.softsign(x), F.tanhshrink(x), F.threshold(x, 1.0, -1.0), F.hardshrink(x, 1.5),
            F.leaky_relu(x, 0.1), F.logsigmoid(x), F.softplus(x, beta=2, threshold=5)]
    for a in acts:
        log(a)
    sum(a.sum() for a in acts).backward()
    log(x.grad)
    log(F.glu(torch.arange(8.0).view(2, 4)), F.rrelu(x, training=False), nn.PReLU(3)(
        torch.ones(2, 3) * -1), nn.Softmax2d()(torch.ones(1, 2, 1, 1)))
    log(F.softmin(torch.tensor([1.0, 2.0]), 0), F.log_softmax(torch.tensor([[1.0, 2.0]]), dim=1,
        dtype=torch.float64), nn.Threshold(0.5, 0)(torch.tensor([0.2, 0.8])))
    log(_raises(lambda: F.glu(torch.ones(3))), _raises(lambda: F.relu(torch.tensor([1, -1]).bool())))


@program(tol=1e-5)
def normalization_functionals(torch, log):
    F = torch.nn.functional
    x = torch.randn(4, 6, 3, 3)
    log(F.layer_norm(x, (3, 3))[0, 0, 0], F.group_norm(x, 3)[0, 0, 0], F.instance_norm(x)[0, 0, 0])
    rm, rv = torch.zeros(6), torch.ones(6)
    y = F.batch_norm(x, rm, rv, training=True, momentum=0.2)
    log(rm, rv, y.mean((0, 2, 3)))
    log(F.batch_norm(x, rm, rv, training=False)[0, 0, 0], F.instance_norm(
        x, running_mean=torch.zeros(6), running_var=torch.ones(6), use_input_stats=True)[0, 0, 0])
    log(F.normalize(x[:, :, 0, 0], p=1, dim=1)[0], F.normalize(torch.zeros(2, 3), dim=1),
        F.normalize(x[0, 0], p=float("inf"), dim=0))
    log(F.rms_norm(x, (3,))[0, 0, 0], F.local_response_norm(x, 3)[0, 0, 0])
    log(torch.renorm(x[:, :, 0, 0], p=2, dim=0, maxnorm=1.0).norm(dim=1),
        torch.nn.utils.clip_grad_norm_([torch.ones(2, requires_grad=True)], 1.0))
    log(_raises(lambda: F.group_norm(x, 4)), _raises(lambda: F.layer_norm(x, (4,))))
    log(_raises(lambda: F.batch_norm(torch.ones(1, 2), None, None, training=True)))


@program(tol=1e-5)
def conv_variants(torch, log):
    F = torch.nn.functional
    x = torch.randn(1, 4, 9)
    w = torch.randn(4, 2, 3)
    log(F.conv1d(x, w, padding="same", dilation=2, groups=2).shape,
        F.conv1d(x, torch.randn(2, 4, 4), padding="same")[0, 0, :3])
    log(F.conv1d(x, w[:2].repeat(1, 2, 1), stride=2, padding=1).shape)
    img = torch.randn(1, 2, 5, 5)
    wt = torch.randn(2, 3, 3, 3)
    y = F.conv_transpose2d(img, wt, stride=2, padding=1, output_padding=1)
    log(y.shape, y[0, 0, 0, :3])
    log(F.conv_transpose2d(img, torch.randn(2, 1, 2, 2), stride=2, groups=2).shape,
        F.conv_transpose1d(x, torch.randn(4, 1, 3), dilation=2).shape)
    log(F.conv2d(img, torch.randn(4, 2, 3, 3), padding=(1, 0), padding_mode="zeros"
                 if False else (1, 0)).shape if False else F.conv2d(img, torch.randn(4, 2, 3, 3),
                                                                   padding=(1, 0)).shape)
    conv = torch.nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect")
    conv_c = torch.nn.Conv2d(2, 2, 3, padding=2, padding_mode="circular", dilation=2)
    log(conv(img)[0, 0, 0], conv_c(img).shape, repr(conv))
    unf = F.unfold(img, kernel_size=3, dilation=2, padding=1, stride=2)
    log(unf.shape, F.fold(unf, (5, 5), kernel_size=3, dilation=2, padding=1, stride=2)[0, 0, 0])
    ones = F.fold(F.unfold(torch.ones(1, 1, 4, 4), 2, stride=1), (4, 4), 2, stride=1)
    log(ones[0, 0])
    log(_raises(lambda: F.conv1d(x, w, padding="same", stride=2)),
        _raises(lambda: F.conv2d(img, torch.randn(3, 2, 3, 3), groups=2)))
    log(F.conv3d(torch.randn(1, 1, 3, 4, 4), torch.randn(2, 1, 2, 2, 2), stride=(1, 2, 2)).shape)


@program(tol=1e-5)
def interpolation_modes(torch, log):
    F = torch.nn.functional
    s = torch.arange(5.0).view(1, 1, 5)
    log(F.interpolate(s, size=8, mode="linear", align_corners=True),
        F.interpolate(s, scale_factor=1.7, mode="linear"), F.interpolate(s, size=3, mode="nearest"))
    v = torch.arange(8.0).view(1, 1, 2, 2, 2)
    log(F.interpolate(v, scale_factor=2, mode="trilinear")[0, 0, 1], F.interpolate(
        v, size=(3, 3, 3), mode="nearest")[0, 0, 2])
    img = torch.arange(16.0).view(1, 1, 4, 4)
    log(F.interpolate(img, scale_factor=0.6, mode="bilinear", recompute_scale_factor=True).shape,
        F.interpolate(img, scale_factor=0.6, mode="bilinear")[0, 0])
    log(F.interpolate(img, scale_factor=(2, 0.5), mode="nearest")[0, 0],
        F.interpolate(img, size=(7, 3), mode="bicubic", align_corners=True)[0, 0, 1])
    log(F.interpolate(img.to(torch.float64), size=(2, 2), mode="area")[0, 0],
        F.upsample(img, scale_factor=2).shape if hasattr(F, "upsample") else None)
    log(_raises(lambda: F.interpolate(img, size=(2, 2), scale_factor=2)),
        _raises(lambda: F.interpolate(img, mode="linear", size=2)),
        _raises(lambda: F.interpolate(img, size=(2, 2), mode="nearest", align_corners=True)))
    log(F.interpolate(img.to(torch.uint8), size=(6, 6), mode="bilinear", antialias=False)[0, 0, 1]
        if False else F.interpolate(img.to(torch.uint8), size=(6, 6), mode="nearest")[0, 0, 1])


@program()
def collate_nested_structures(torch, log):
    data = _module(torch, "utils.data")
    from collections import namedtuple
    Point = namedtuple("Point", ["x", "y"])
    batch = [{"img": torch.ones(2), "label": 1, "meta": {"id": "a", "w": 0.5}, "pt": Point(1, 2.0)},
             {"img": torch.zeros(2), "label": 0, "meta": {"id": "b", "w": 1.5}, "pt": Point(3, 4.0)}]
    out = data.default_collate(batch)
    log(out["img"], out["label"], out["meta"]["id"], out["meta"]["w"], type(out["pt"]).__name__,
        out["pt"].x, out["pt"].y)
    log(data.default_collate([(1, "x"), (2, "y")]), data.default_collate([[1.0, 2.0], [3.0, 4.0]]))
    import numpy as np
    log(data.default_collate([np.array([1, 2]), np.array([3, 4])]), data.default_collate(
        [np.float64(1.5), np.float64(2.5)]))
    log(_raises(lambda: data.default_collate([torch.ones(2), torch.ones(3)])))
    log(_raises(lambda: data.default_collate([object(), object()])))
    log(data.default_convert(np.array([1.0, 2.0])), data.default_collate([True, False]))
    loader = data.DataLoader([{"a": torch.tensor([i]), "b": i * 1.0} for i in range(5)], batch_size=2)
    log([b["a"].shape for b in loader], [b["b"] for b in loader])


@program()
def clamp_and_elementwise_bounds(torch, log):
    x = torch.linspace(-3, 3, 7)
    lo = torch.tensor([-1.0, -2.0, 0.0, 0.0, 0.0, 1.0, 2.0])
    log(x.clamp(lo, lo + 1), torch.clamp(x, min=torch.tensor(0.5)), x.clip(-1, 1),
        torch.clamp(x, max=lo))
    log(torch.clamp(x, 2, 1), torch.clamp(torch.tensor([float("nan")]), 0, 1),
        torch.clamp(torch.tensor([1, 5, 9]), 2.5, 7.5))
    log(_raises(lambda: torch.clamp(x)), torch.clamp(torch.tensor([1, 5], dtype=torch.uint8), max=3))
    g = torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0], requires_grad=True)
    g.clamp(0, 1).sum().backward()
    log(g.grad)
    g2 = torch.tensor([0.0, 1.0], requires_grad=True)
    torch.maximum(g2, torch.tensor([0.0, 0.0])).sum().backward()
    log(g2.grad)
    g3 = torch.tensor([2.0, 2.0], requires_grad=True)
    g3.max().backward()
    log(g3.grad)
    g4 = torch.tensor([1.0, 3.0, 3.0], requires_grad=True)
    torch.amax(g4, 0).backward()
    log(g4.grad)
    g5 = torch.tensor([0.0, -0.0, 1.0], requires_grad=True)
    g5.abs().sum().backward()
    log(g5.grad, torch.tensor([-0.0]).abs(), torch.relu(torch.tensor([-0.0])))

@program()
def grad_fn_names_in_printed_tensors(torch, log):
    nn, F = torch.nn, torch.nn.functional
    x = torch.randn(2, 3, requires_grad=True)
    lin = nn.Linear(3, 2)
    outs = [lin(x), x @ lin.weight.T, x.view(6), x.reshape(3, 2), x.T, x.mean(), x.mean(0),
            x.sum(1), x[0], x[:, 1:], x.exp(), x * 2, x + x, x / 3, x - 1, x.pow(2), x ** 0.5,
            F.relu(x), torch.sigmoid(x), torch.tanh(x), F.softmax(x, 1), F.log_softmax(x, 1),
            x.unsqueeze(0), x.squeeze(), x.permute(1, 0), x.flatten(), torch.cat([x, x]),
            torch.stack([x, x]), x.max(), x.max(1)[0], x.abs(), x.clamp(0, 1), x.expand(2, 2, 3),
            x.norm(), x.std(), x.var(1), F.dropout(x, 0.0), torch.where(x > 0, x, 0.0),
            x.masked_fill(x > 0, 0), x.gather(1, torch.tensor([[0], [1]])), x.contiguous(),
            x.clone(), x.to(torch.float64), x.float(), x.detach(), x.sum(), x.prod(),
            F.gelu(x), F.layer_norm(x, (3,)), F.embedding(torch.tensor([0]), x),
            x.transpose(0, 1).contiguous().view(-1), x.split(1)[0], x.chunk(3, 1)[2],
            torch.bmm(x[None], x.T[None]), x.matmul(x.T), torch.mm(x, x.T), x.outer(x[0]) if
            False else x.sum(0).outer(x.sum(0)), x.cumsum(1), x.sort(1)[0], x.topk(1)[0],
            x.log_softmax(-1).exp(), x.neg(), x.reciprocal(), x.sqrt(), x.rsqrt(), x.sin(),
            x.repeat(2, 1), x.flip(0), x.roll(1), F.pad(x, (1, 1)), x.unbind(0)[0], x.diag(),
            x.tril(), x.new_ones(2).requires_grad_() * 1, x.squeeze(0), x.narrow(1, 0, 2),
            x.index_select(0, torch.tensor([1])), x[torch.tensor([0, 1])], x[x > 0],
            x.amax(1), x.logsumexp(1), x.mean(dtype=torch.float64), F.mse_loss(x, x.detach()),
            F.cross_entropy(x, torch.tensor([0, 1])), F.nll_loss(x, torch.tensor([0, 1])),
            F.binary_cross_entropy_with_logits(x, torch.ones(2, 3)), x.type(torch.float64),
            x.unfold(1, 2, 1), x.movedim(0, 1), torch.einsum("ij->j", x), x.addmm(x.T, x)
            if False else torch.addmm(torch.zeros(2, 2), x, x.T), x.baddbmm(x[None], x.T[None])
            if False else x.lerp(x.detach(), 0.5), x.atan2(x.detach() + 1), torch.dist(x, x.detach())]
    for o in outs:
        log(o.grad_fn.name() if o.grad_fn is not None else None)
    print(lin(x))
    print(x.sum(), x.mean(), x[0], x.T, x.view(-1)[:2], x.max(), x.clone())


@program()
def module_reprs_with_extra_repr(torch, log):
    nn = torch.nn
    mods = [nn.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2, bias=False),
            nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1), nn.Conv3d(1, 2, (1, 2, 3)),
            nn.BatchNorm1d(5, momentum=None, track_running_stats=False), nn.GroupNorm(2, 4),
            nn.InstanceNorm2d(3, affine=True), nn.LayerNorm([4, 4], elementwise_affine=False),
            nn.RMSNorm(8), nn.Dropout(0.3, inplace=True), nn.AlphaDropout(0.1),
            nn.MaxPool2d(3, 2, 1, ceil_mode=True), nn.AvgPool1d(2), nn.AdaptiveMaxPool1d(4),
            nn.LPPool2d(2, 3), nn.Embedding(10, 3, padding_idx=1, max_norm=2.0),
            nn.EmbeddingBag(10, 3, mode="max"), nn.GRU(3, 4, 2, bidirectional=True),
            nn.RNN(2, 3, nonlinearity="relu"), nn.LSTMCell(2, 3), nn.Bilinear(2, 3, 4),
            nn.PixelShuffle(2), nn.PixelUnshuffle(2), nn.Upsample(size=(4, 4), mode="bilinear"),
            nn.ReflectionPad2d((1, 0, 2, 0)), nn.ConstantPad1d(2, 3.5), nn.ZeroPad2d(1),
            nn.ReplicationPad3d(1), nn.CircularPad1d(2), nn.Softplus(beta=2), nn.ELU(alpha=0.5),
            nn.LeakyReLU(0.2, inplace=True), nn.Hardtanh(-2, 2), nn.Softmax(dim=-1),
            nn.LogSoftmax(1), nn.GELU("tanh"), nn.CELU(), nn.Threshold(0.1, 20), nn.GLU(),
            nn.Flatten(1, -1), nn.Unflatten(1, (2, 2)), nn.CosineSimilarity(), nn.PairwiseDistance(),
            nn.CrossEntropyLoss(label_smoothing=0.1), nn.MSELoss(reduction="sum"),
            nn.TripletMarginLoss(margin=2.0), nn.Identity(3, foo=1), nn.Fold(4, 2), nn.Unfold(2),
            nn.ChannelShuffle(2), nn.Hardshrink(), nn.RReLU(0.1, 0.3), nn.SiLU(inplace=True),
            nn.Transformer(8, 2, 1, 1, 16).encoder.layers[0].self_attn, nn.MaxUnpool2d(2),
            nn.FractionalMaxPool2d(2, output_size=3), nn.SyncBatchNorm(3), nn.LazyLinear(3),
            nn.Linear(2, 2, bias=False), nn.Tanh(), nn.Dropout2d()]
    for m in mods:
        print(m)
    print(nn.ModuleDict({"a": nn.ReLU(), "b": nn.Sequential()}), nn.ParameterList(
        [nn.Parameter(torch.ones(2)), nn.Parameter(torch.zeros(3, dtype=torch.float64))]),
        nn.ParameterDict({"w": nn.Parameter(torch.ones(1))}))


@program()
def print_option_layouts(torch, log):
    torch.set_printoptions(linewidth=30)
    print(torch.arange(20.0) * 1.5, torch.arange(12).view(2, 6) * 1000)
    torch.set_printoptions(linewidth=80, precision=3)
    print(torch.tensor([[1e-4, 2.0], [3.0, 4e5]]), torch.tensor([1 / 3 + 2j / 3]))
    torch.set_printoptions(sci_mode=True)
    print(torch.tensor([1, 2, 3]), torch.tensor([0.5, 2.0]), torch.tensor([[1.0 + 1j]]))
    torch.set_printoptions(sci_mode=False, precision=8)
    print(torch.tensor([1e-9, 123456.0]), torch.tensor(1 / 7, dtype=torch.float64))
    torch.set_printoptions(threshold=8, edgeitems=2)
    print(torch.arange(27).view(3, 3, 3), torch.randn(20).round(decimals=2).shape)
    print(torch.arange(10.0)[None].expand(3, 10))
    torch.set_printoptions(profile="default")
    print(torch.arange(1001)[-3:], torch.arange(1001).shape, torch.arange(1001)[:1001:250])
    print(torch.arange(1002.0))
    print(torch.zeros(2, 3, 1001)[:, :, :2])


@program()
def quantile_and_statistics_options(torch, log):
    x = torch.tensor([1.0, 7.0, 3.0, 9.0, 4.0, 6.0])
    q = torch.tensor([0.1, 0.5, 0.9])
    for method in ["linear", "lower", "higher", "nearest", "midpoint"]:
        log(method, torch.quantile(x, q, interpolation=method))
    m = x.view(2, 3)
    log(torch.quantile(m, 0.5, dim=1, keepdim=True), m.median(1), torch.median(x), x.median())
    log(torch.std(m, dim=1, correction=0), torch.var(m, 0, unbiased=False), torch.var_mean(m, 1),
        torch.std_mean(m, dim=None, correction=2), torch.aminmax(m), torch.aminmax(m, dim=0))
    log(m.var(dim=(0, 1)), m.std(1, keepdim=True), torch.mean(m, (0, 1), keepdim=True))
    log(torch.histogramdd(torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.5, 0.9]]), bins=[2, 2]).hist)
    log(_raises(lambda: torch.quantile(x, 1.5)), _raises(lambda: torch.quantile(x.long(), 0.5)),
        _raises(lambda: torch.quantile(x, q, interpolation="cubic")))
    log(torch.cov(m, correction=0), torch.cov(m, fweights=torch.tensor([1, 2, 1]),
                                              aweights=torch.tensor([0.5, 1.0, 1.0])))


@program(tol=1e-5)
def embedding_max_norm_and_freq_scaling(torch, log):
    nn = torch.nn
    torch.manual_seed(3)
    emb = nn.Embedding(5, 3, max_norm=1.0, norm_type=2.0)
    before = emb.weight.detach().norm(dim=1)
    out = emb(torch.tensor([0, 2, 2]))
    after = emb.weight.detach().norm(dim=1)
    log(before, after, out.norm(dim=1))
    out.sum().backward()
    log(emb.weight.grad)
    emb2 = nn.Embedding(4, 2, scale_grad_by_freq=True, padding_idx=0)
    o2 = emb2(torch.tensor([[1, 1, 0], [2, 1, 3]]))
    o2.sum().backward()
    log(emb2.weight.grad, emb2.weight[0])
    bag = nn.EmbeddingBag(6, 2, mode="sum", padding_idx=5)
    r = bag(torch.tensor([[1, 5, 2], [5, 5, 5]]), per_sample_weights=None)
    log(r, bag(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 1]), per_sample_weights=torch.tensor(
        [1.0, 2.0, 3.0, 4.0])) if False else bag(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 1])))
    pre = nn.Embedding.from_pretrained(torch.eye(3), freeze=True)
    log(pre.weight.requires_grad, pre(torch.tensor([2])), nn.EmbeddingBag.from_pretrained(
        torch.eye(3), mode="mean")(torch.tensor([[0, 1]])))
    log(_raises(lambda: nn.Embedding(3, 2, padding_idx=5)), _raises(lambda: emb(torch.tensor(
        [[0.5]]))))


@program(tol=1e-5)
def linear_attention_and_kernels(torch, log):
    F = torch.nn.functional
    B, L, D = 2, 6, 4
    q, k, v = torch.randn(B, L, D), torch.randn(B, L, D), torch.randn(B, L, D)
    phi_q, phi_k = F.elu(q) + 1, F.elu(k) + 1
    kv = torch.einsum("bld,ble->bde", phi_k, v)
    z = 1 / (torch.einsum("bld,bd->bl", phi_q, phi_k.sum(1)) + 1e-6)
    out = torch.einsum("bld,bde,bl->ble", phi_q, kv, z)
    log(out.shape, out[0, 0])
    kv_c = torch.einsum("bld,ble->blde", phi_k, v).cumsum(1)
    k_c = phi_k.cumsum(1)
    causal = torch.einsum("bld,blde->ble", phi_q, kv_c) / torch.einsum("bld,bld->bl", phi_q,
                                                                       k_c)[..., None]
    log(causal[1, -1], torch.allclose(causal[:, -1], out[:, -1], atol=1e-5))
    omega = torch.randn(D, 8)
    feat = lambda x: torch.exp(x @ omega - (x ** 2).sum(-1, keepdim=True) / 2) / math.sqrt(8)  # noqa
    approx = feat(q) @ feat(k).transpose(1, 2)
    log(approx.shape, (approx > 0).all())


@program(tol=1e-6)
def rbf_kernels_and_mmd(torch, log):
    x, y = torch.randn(6, 2), torch.randn(5, 2) + 1

    def k(a, b, s):
        return torch.exp(-torch.cdist(a, b) ** 2 / (2 * s ** 2))

    def mmd(a, b, s=1.0):
        return k(a, a, s).mean() + k(b, b, s).mean() - 2 * k(a, b, s).mean()

    log(mmd(x, y), mmd(x, x), sum(mmd(x, y, s) for s in [0.5, 1.0, 2.0]))
    log(torch.cdist(x, y, p=0), torch.cdist(x, y, compute_mode="use_mm_for_euclid_dist")[0],
        torch.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist")[0])
    xx = (x ** 2).sum(1, keepdim=True)
    d2 = xx - 2 * x @ x.T + xx.T
    log(d2.diagonal().abs().max() < 1e-5, d2.clamp_min(0).sqrt()[0, 1], torch.cdist(x, x)[0, 1])
    K = k(x, x, 1.0) + 1e-3 * torch.eye(6)
    alpha = torch.linalg.solve(K, torch.ones(6))
    log(alpha, torch.linalg.eigvalsh(K).min() > 0)


@program()
def tokenizer_padding_and_truncation(torch, log):
    rnn = torch.nn.utils.rnn
    vocab = {"<pad>": 0, "<bos>": 1, "<eos>": 2, "<unk>": 3}
    sents = ["the cat sat", "a dog", "the quick brown fox jumps high"]
    for s in sents:
        for w in s.split():
            vocab.setdefault(w, len(vocab))
    max_len = 5
    ids = [[1] + [vocab.get(w, 3) for w in s.split()][:max_len - 2] + [2] for s in sents]
    batch = rnn.pad_sequence([torch.tensor(i) for i in ids], batch_first=True, padding_value=0)
    attn = (batch != 0).long()
    log(batch, attn, attn.sum(1), batch.dtype)
    ext = (1.0 - attn[:, None, None, :].float()) * torch.finfo(torch.float32).min
    log(ext[1, 0, 0], ext.dtype)
    pos = (attn.cumsum(1) - 1).clamp(min=0) * attn
    log(pos)
    labels = batch.clone()
    labels[labels == 0] = -100
    shift_logits_len = labels[:, 1:].shape
    log(labels, shift_logits_len, (labels != -100).sum())
    rev = {v: k for k, v in vocab.items()}
    log([" ".join(rev[i] for i in row.tolist() if i not in (0, 1, 2)) for row in batch])
    lp = rnn.pad_sequence([torch.tensor(i) for i in ids], batch_first=True, padding_side="left")
    log(lp, rnn.unpad_sequence(lp, torch.tensor([len(i) for i in ids]), batch_first=True)[1]
        if False else lp.shape)


@program(tol=1e-5)
def mixed_precision_bfloat16_training(torch, log):
    nn, F = torch.nn, torch.nn.functional
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).to(torch.bfloat16)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(6, 4, dtype=torch.bfloat16)
    y = torch.randint(0, 2, (6,))
    for step in range(2):
        out = model(x)
        loss = F.cross_entropy(out.float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        log(out.dtype, loss, model[0].weight.grad.dtype, model[0].weight[0, :2])
    h = torch.tensor([1.0, 1e-4, 65504.0], dtype=torch.float16)
    log(h + h, h * 2, h.sum(), h.mean(), h.to(torch.bfloat16), h.float().to(torch.bfloat16))
    b = torch.tensor([1.0, 1.001, 256.0, 257.0], dtype=torch.bfloat16)
    log(b, b + 1, b.sum(), b.cumsum(0), b * 3, b / 3, torch.finfo(torch.bfloat16).eps)
    log(torch.tensor(0.1, dtype=torch.bfloat16).item(), torch.tensor(0.1, dtype=torch.float16).item())


@program(tol=1e-5)
def neural_ode_adjoint_free_fixed_step(torch, log):
    nn = torch.nn

    class ODEFunc(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 2))

        def forward(self, t, y):
            return self.net(torch.cat([y, t.expand(y.shape[0], 1)], 1))

    f = ODEFunc()
    y0 = torch.randn(4, 2)
    ts = torch.linspace(0, 1, 6)
    ys = [y0]
    y = y0
    for t0, t1 in zip(ts[:-1], ts[1:]):
        h = t1 - t0
        k1 = f(t0, y)
        k2 = f(t0 + h / 2, y + h / 2 * k1)
        k3 = f(t0 + h / 2, y + h / 2 * k2)
        k4 = f(t1, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        ys.append(y)
    traj = torch.stack(ys)
    loss = traj[-1].pow(2).mean()
    loss.backward()
    log(traj.shape, traj[-1], f.net[0].weight.grad.norm())
    ye = y0
    for t0, t1 in zip(ts[:-1], ts[1:]):
        ye = ye + (t1 - t0) * f(t0, ye)
    log((ye - y).abs().max() < 0.5, ts.diff())

@program()
def module_api_bookkeeping(torch, log):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
            self.head = nn.Linear(3, 1)
            self.register_buffer("steps", torch.zeros((), dtype=torch.long))
            self.register_buffer("cache", torch.ones(2), persistent=False)

        def forward(self, x):
            self.steps += 1
            return self.head(self.enc(x))

    net = Net()
    log([n for n, _ in net.named_modules()], [n for n, _ in net.named_buffers()],
        list(net.state_dict().keys()))
    log(net.get_submodule("enc.0").out_features, _raises(lambda: net.get_submodule("enc.5")),
        _raises(lambda: net.get_parameter("head.nope")))
    res = net.load_state_dict({"head.weight": torch.zeros(1, 3), "extra": torch.ones(1)},
                              strict=False)
    log(res.missing_keys, res.unexpected_keys, str(res))
    log(_raises(lambda: net.load_state_dict({"head.weight": torch.zeros(1, 3)})))
    log(_raises(lambda: net.load_state_dict({**net.state_dict(), "head.bias": torch.zeros(2)})))
    net.requires_grad_(False)
    log([p.requires_grad for p in net.parameters()])
    net.head.requires_grad_()
    out = net(torch.ones(4, 2))
    out.sum().backward()
    log(net.steps, net.head.weight.grad, net.enc[0].weight.grad)
    net.zero_grad()
    log(net.head.weight.grad)
    net.add_module("extra", nn.Identity())
    log(_raises(lambda: net.add_module("a.b", nn.Identity())), _raises(lambda: net.register_buffer(
        "head", torch.ones(1))), _raises(lambda: setattr(net, "head", torch.ones(1))))
    net.eval()
    log(net.training, net.enc.training, net.enc[1].training, sum(1 for _ in net.modules()))
    net.half()
    log(net.head.weight.dtype, net.steps.dtype, net.cache.dtype)
    log(_raises(lambda: nn.Linear(2, 2).register_parameter("w", torch.ones(1))))


@program()
def views_storage_and_inplace(torch, log):
    base = torch.arange(12.0)
    v = base.view(3, 4)
    t = v.t()
    s = v[:, 1]
    log(v._base is base, t.is_contiguous(), s.stride(), s.storage_offset(), t.data_ptr() ==
        base.data_ptr(), s.untyped_storage().nbytes())
    s.mul_(10)
    log(base, v.is_set_to(v), base.untyped_storage().data_ptr() == v.untyped_storage().data_ptr())
    e = torch.zeros(1).expand(3)
    log(_raises(lambda: e.add_(1)), _raises(lambda: torch.zeros(2, 1).expand(2, 3).mul_(2)))
    r = torch.arange(6.0)
    r.resize_(2, 2)
    log(r, r.shape, _raises(lambda: v.resize_(20)))
    a = torch.ones(2, 3)
    a.t_()
    a.unsqueeze_(0)
    a.squeeze_()
    a.transpose_(0, 1)
    log(a.shape, a.stride())
    st = torch.as_strided(torch.arange(9.0), (2, 2), (3, 1), 1)
    log(st, st.is_contiguous())
    x = torch.randn(2, 3, 4, 5)
    cl = x.to(memory_format=torch.channels_last)
    log(cl.stride(), cl.is_contiguous(), cl.is_contiguous(memory_format=torch.channels_last),
        torch.empty_like(cl).stride(), (cl + 1).stride(), cl.contiguous().stride())
    log(torch.zeros(2, 3).new_full((2,), 5).dtype, torch.ones(1, dtype=torch.int8).new_tensor(
        [1.5]).dtype, torch.ones(1).new_empty(0).shape, torch.ones(2, dtype=torch.float64).new_ones(
        3).dtype)
    d = torch.ones(3)
    d2 = d.detach()
    d2[0] = 5
    log(d, d.clone().data_ptr() != d.data_ptr(), d.numpy().base is not None)


@program()
def cumulative_ops_dtypes(torch, log):
    b = torch.tensor([True, True, False])
    i8 = torch.tensor([100, 100, 100], dtype=torch.int8)
    log(b.cumsum(0), b.cumsum(0).dtype, i8.cumsum(0), i8.cumsum(0).dtype, i8.cumsum(0,
        dtype=torch.int8), i8.cumprod(0).dtype, torch.cumsum(i8, 0, dtype=torch.float32))
    u = torch.tensor([200, 100], dtype=torch.uint8)
    log(u.sum(), u.sum(dtype=torch.uint8), u.prod(), u.cumsum(0), u.mean(dtype=torch.float32))
    h = torch.tensor([60000.0, 10000.0], dtype=torch.float16)
    log(h.sum(), h.cumsum(0), h.sum(dtype=torch.float32), h.mean(), h.prod())
    f = torch.tensor([1e8, 1.0, -1e8, 1.0])
    log(f.sum(), f.cumsum(0), f.double().sum(), torch.tensor([0.1] * 10).sum(),
        torch.tensor([0.1] * 10).cumsum(0)[-1])
    log(torch.arange(5).cumsum(0).dtype, torch.arange(5.0).cumprod(0), torch.tensor([]).cumsum(0),
        _raises(lambda: torch.ones(2).cumsum(1)))
    log(torch.tensor([[1, 2], [3, 4]]).cumsum(dim=-1), torch.tensor([[1, 2], [3, 4]]).cummax(0)
        .indices, torch.tensor([3, 1, 2]).cumsum(0).flip(0))


@program(tol=1e-6)
def distributions_validation_and_constraints(torch, log):
    D = torch.distributions
    C = D.constraints
    log(_raises(lambda: D.Normal(torch.tensor([0.0]), torch.tensor([0.0]))))
    log(_raises(lambda: D.Bernoulli(probs=torch.tensor([1.5]))))
    log(_raises(lambda: D.Categorical(probs=torch.tensor([-0.1, 1.1]))))
    log(_raises(lambda: D.Normal(0.0, 1.0).log_prob(torch.tensor([float("nan")]))) if False
        else D.Normal(0.0, 1.0).log_prob(torch.tensor([float("nan")])))
    log(_raises(lambda: D.Exponential(1.0).log_prob(torch.tensor([-1.0]))))
    log(D.Exponential(1.0, validate_args=False).log_prob(torch.tensor([-1.0])))
    log(_raises(lambda: D.Beta(1.0, 1.0).log_prob(torch.tensor([1.5]))))
    log(C.positive.check(torch.tensor([0.0, 1.0])), C.unit_interval.check(torch.tensor([0.0, 1.0])),
        C.simplex.check(torch.tensor([0.3, 0.7])), C.integer_interval(0, 3).check(torch.tensor(
            [1.0, 4.0])), str(C.greater_than(2.0)), str(C.interval(0.0, 1.0)))
    log(_raises(lambda: D.Normal(0.0, 1.0).sample((2,)).numpy() and D.Uniform(1.0, 0.0)))
    D.Distribution.set_default_validate_args(False)
    log(D.Normal(0.0, -1.0).scale)
    D.Distribution.set_default_validate_args(True)
    n = D.Normal(torch.zeros(2), torch.ones(2))
    log(n.expand((3, 2)).batch_shape, _raises(lambda: n.expand((3, 3))), n.has_rsample,
        D.Categorical(logits=torch.zeros(3)).has_enumerate_support, n.support)
    log(str(D.Categorical(logits=torch.zeros(3)).support), D.Dirichlet(torch.ones(3)).support)


@program(tol=1e-5)
def hooks_with_kwargs_and_state_dict_hooks(torch, log):
    nn = torch.nn
    lin = nn.Linear(2, 2)
    seen = []

    def pre(mod, args, kwargs):
        seen.append(("pre", len(args), sorted(kwargs)))
        return (args[0] * 2,), kwargs

    def post(mod, args, kwargs, out):
        seen.append(("post", out.shape))
        return out + 1

    h1 = lin.register_forward_pre_hook(pre, with_kwargs=True)
    h2 = lin.register_forward_hook(post, with_kwargs=True)
    y = lin(torch.ones(1, 2))
    log(seen, y)
    h1.remove()
    h2.remove()
    log(torch.allclose(lin(torch.ones(1, 2)), y), len(lin._forward_hooks))
    grads = []
    h3 = lin.register_full_backward_pre_hook(lambda m, go: grads.append(go[0].shape))
    h4 = lin.register_full_backward_hook(lambda m, gi, go: grads.append(
        (gi[0] is None, go[0].shape)))
    x = torch.ones(3, 2, requires_grad=True)
    lin(x).sum().backward()
    log(grads)
    h3.remove()
    h4.remove()

    def sd_hook(module, state_dict, prefix, local_metadata):
        state_dict[prefix + "note"] = torch.tensor(1)
    lin.register_state_dict_post_hook(sd_hook) if hasattr(lin, "register_state_dict_post_hook") \
        else lin._register_state_dict_hook(lambda m, sd, p, meta: sd)
    log(list(lin.state_dict().keys()))
    called = []
    lin.register_load_state_dict_post_hook(lambda m, keys: called.append(
        (keys.missing_keys, keys.unexpected_keys)))
    lin.load_state_dict({"weight": torch.zeros(2, 2), "bias": torch.zeros(2)})
    log(called, lin.weight.sum())

@program()
def training_setup_errors(torch, log):
    nn, F = torch.nn, torch.nn.functional
    data = _module(torch, "utils.data")
    w = torch.ones(2, requires_grad=True)
    log(_raises(lambda: torch.optim.SGD([w * 2], lr=0.1)))
    log(_raises(lambda: torch.optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)))
    log(_raises(lambda: torch.optim.SGD(w, lr=0.1)))
    log(_raises(lambda: data.TensorDataset(torch.ones(3), torch.ones(4))))
    bn = nn.BatchNorm1d(3)
    log(_raises(lambda: bn(torch.randn(1, 3))))
    bn.eval()
    log(bn(torch.ones(1, 3)).shape)
    log(_raises(lambda: nn.LSTM(3, 4)(torch.randn(2, 5))))
    log(_raises(lambda: nn.LSTM(3, 4)(torch.randn(2, 5, 4, 1))))
    log(_raises(lambda: nn.GRU(3, 4)(torch.randn(5, 2, 3), torch.zeros(1, 3, 4))))
    log(_raises(lambda: F.cross_entropy(torch.randn(2, 3), torch.randn(2, 4))))
    log(_raises(lambda: F.cross_entropy(torch.randn(2, 3, 4), torch.tensor([0, 1]))))
    log(_raises(lambda: F.binary_cross_entropy_with_logits(torch.randn(2, 3), torch.ones(3, 2))))
    log(_raises(lambda: F.nll_loss(torch.randn(3), torch.tensor([0, 1, 2]))))
    log(_raises(lambda: torch.load("/nonexistent/model.pt")))
    log(_raises(lambda: nn.Conv2d(3, 4, 3)(torch.randn(3, 8))))
    log(nn.Conv2d(3, 4, 3)(torch.randn(3, 8, 8)).shape, nn.Linear(3, 2)(torch.randn(3)).shape)
    log(_raises(lambda: nn.Sequential(nn.Linear(2, 3), nn.Linear(2, 1))(torch.ones(1, 2))))
    log(_raises(lambda: nn.Embedding(10, 3)(torch.tensor([[1, 2], [3, 10]]))))
    log(_raises(lambda: data.DataLoader(torch.arange(5), batch_size=0)))
    log(_raises(lambda: data.DataLoader(torch.arange(5), shuffle=True, sampler=[0, 1])))
    log(_raises(lambda: nn.MultiheadAttention(5, 2)))
    log(_raises(lambda: nn.TransformerEncoderLayer(6, 4)))
    log(_raises(lambda: torch.nn.utils.clip_grad_norm_([torch.tensor([float("inf")],
        requires_grad=True)], 1.0, error_if_nonfinite=True) if False else None))
    p = torch.tensor([1.0], requires_grad=True)
    p.grad = torch.tensor([float("nan")])
    log(_raises(lambda: nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)))
    log(nn.utils.clip_grad_norm_([p], 1.0), p.grad)


@program()
def scatter_legacy_reduce_and_index_errors(torch, log):
    x = torch.zeros(3)
    log(x.scatter(0, torch.tensor([0, 0, 2]), torch.tensor([1.0, 2.0, 3.0]), reduce="add"))
    log(torch.ones(3).scatter(0, torch.tensor([0, 0]), 2.0, reduce="multiply"))
    log(torch.zeros(2, 2).scatter_(1, torch.tensor([[1], [0]]), 5.0))
    log(_raises(lambda: torch.zeros(3).scatter_(0, torch.tensor([3]), 1.0)))
    log(_raises(lambda: torch.zeros(3).scatter_(0, torch.tensor([[0]]), 1.0)))
    log(_raises(lambda: torch.zeros(3).scatter_reduce(0, torch.tensor([0]), torch.ones(1), "mul")))
    log(_raises(lambda: torch.zeros(3).index_add_(0, torch.tensor([3]), torch.ones(1))))
    log(_raises(lambda: torch.zeros(3).index_fill_(0, torch.tensor([5]), 1.0)))
    log(_raises(lambda: torch.zeros(3).index_copy_(0, torch.tensor([0, 1]), torch.ones(3))))
    log(_raises(lambda: torch.zeros(3)[torch.tensor([0, 5])]))
    log(_raises(lambda: torch.zeros(3, 3)[torch.tensor([0, 1]), torch.tensor([0, 1, 2])]))
    log(_raises(lambda: torch.zeros(3).gather(0, torch.tensor([0, 3]))))
    log(_raises(lambda: torch.zeros(3).take(torch.tensor([7]))))
    y = torch.zeros(4)
    y[torch.tensor([1, 1, 1])] = torch.tensor([1.0, 2.0, 3.0])
    log(y, torch.zeros(4).index_put((torch.tensor([1, 1]),), torch.tensor([1.0, 2.0]),
                                    accumulate=True))

@pytest.mark.parametrize("name", PROGRAMS.params())
def test_program_like_torch(name):
    fn, tol, _ = PROGRAMS[name]
    _check(fn, tol)


# Regressions the programs found


@contextlib.contextmanager
def _torch_threads(n):
    """torch and ember on n intra-op threads (torch's kernels split long loops by them)."""
    import torch
    before, ember_before = torch.get_num_threads(), ember.get_num_threads()
    torch.set_num_threads(n)
    ember.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        ember.set_num_threads(ember_before)


def _outcome(fn):
    try:
        return ("ok", str(fn()))
    except Exception as e:
        return type(e).__name__, str(e)


@pytest.mark.parametrize("shapes", [
    [(2, 3), (4,)], [(2, 3), (4, 3), (1,)], [[2, 3], [1, 4]], [3, [1, 3], "Size4"], [(-1,)],
    [(2,), (-1,)], [None, (2,)], [], [(2, 0), (1, 3)], [(2, 0), (1, 1)], [2.5]])
def test_broadcast_shapes_checks_and_errors_like_torch(shapes):
    import torch
    import ember

    def run(lib):
        return _outcome(lambda: lib.broadcast_shapes(
            *[lib.Size([4]) if s == "Size4" else s for s in shapes]))
    assert run(ember) == run(torch)


@pytest.mark.parametrize("value", ["list", "str", None, "ndarray0", "ndarray1", "Decimal",
                                   "Fraction", "int", "numpy"])
@pytest.mark.parametrize("dtype", [None, "bool"])
def test_full_takes_a_number_or_a_0d_tensor_like_torch(value, dtype):
    import decimal
    import fractions

    import numpy as np
    import torch
    import ember
    v = {"list": [1.0, 2.0], "str": "a", None: None, "ndarray0": np.array(1.0),
         "ndarray1": np.array([1.0]), "Decimal": decimal.Decimal(1),
         "Fraction": fractions.Fraction(1, 2), "int": 3, "numpy": np.float32(2)}[value]

    def run(lib):
        return _outcome(lambda: lib.full((2,), v, dtype=dtype and getattr(lib, dtype)))
    assert run(ember) == run(torch)


@pytest.mark.parametrize("fn", ["cat", "concat", "concatenate", "stack", "hstack"])
def test_joining_no_tensors_errors_like_torch(fn):
    import torch
    import ember
    assert _outcome(lambda: getattr(ember, fn)([])) == _outcome(lambda: getattr(torch, fn)([]))


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
def test_logcumsumexp_accumulates_like_torchs_cpu_scan(dtype):
    import torch
    import ember
    torch.manual_seed(0)
    x = (torch.randn(8, 60) * 5).to(getattr(torch, dtype))
    got = ember.logcumsumexp(ember.tensor(x.float().numpy()).to(getattr(ember, dtype)), 1)
    assert got.float().tolist() == torch.logcumsumexp(x, 1).float().tolist()


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("n", [5, 31, 100, 1000])
@pytest.mark.parametrize("case", ["add_", "add", "sub", "rsub", "number", "one_element",
                                  "zero_dim"])
def test_half_add_with_alpha_rounds_its_scalar_tail_like_torch(dtype, n, case):
    """torch's float16/bfloat16 add/sub with alpha: the elements after the vectorised loop's
    last 32 round `alpha * other` to the dtype before the sum (an SGD step over a bias)."""
    import torch
    import ember

    def run(lib, a, b):
        return {"add_": lambda: a.clone().add_(b, alpha=-0.1),
                "add": lambda: lib.add(a, b, alpha=0.37), "sub": lambda: lib.sub(a, b, alpha=0.37),
                "rsub": lambda: lib.rsub(a, b, alpha=0.37),
                "number": lambda: lib.add(a, 2.5, alpha=0.3),
                "one_element": lambda: lib.add(a[:1], b, alpha=0.3),
                "zero_dim": lambda: lib.add(a[1], b[2], alpha=0.3)}[case]().float().tolist()
    with _torch_threads(1):
        torch.manual_seed(0)
        a, b = (torch.randn(2, n) * 4).to(getattr(torch, dtype))
        got = run(ember, *(ember.tensor(t.float().numpy()).to(getattr(ember, dtype))
                           for t in (a, b)))
        assert got == run(torch, a, b)


def test_half_sgd_step_over_small_parameters_like_torch():
    import torch
    import ember

    def run(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 2))
        model = model.to(lib.bfloat16)
        opt = lib.optim.SGD(model.parameters(), lr=0.1, weight_decay=0.01)
        for _ in range(3):
            for p in model.parameters():
                p.grad = lib.randn(p.shape).to(lib.bfloat16)
            opt.step()
        return [p.float().tolist() for p in model.parameters()]
    with _torch_threads(1):
        assert run(ember) == run(torch)


@pytest.mark.parametrize("indices", [[7, 1], [-6], [1, 9, 8], [-1], "bool", "float"])
def test_embedding_max_norm_checks_its_indices_like_torch(indices):
    import torch
    import ember

    def run(lib):
        w = lib.ones(5, 3) * 2
        idx = lib.tensor({"bool": [True], "float": [0.5]}.get(indices) if isinstance(
            indices, str) else indices)
        return _outcome(lambda: lib.nn.functional.embedding(idx, w, max_norm=1.0)), w.tolist()
    assert run(ember) == run(torch)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("name,kwargs", [
    ("RMSprop", {"momentum": 0.5}), ("RMSprop", {"momentum": 0.9, "centered": True}),
    ("SGD", {"momentum": 0.9, "weight_decay": 0.01})])
def test_half_optimizer_steps_over_a_small_parameter_like_torch(name, kwargs, dtype):
    """RMSprop's momentum step is param.add_(buf, alpha=-lr), torch's add with alpha and its
    scalar tail (ember's update rule rounded lr to the dtype and the product everywhere)."""
    import torch
    import ember

    def run(lib):
        lib.manual_seed(0)
        p = lib.nn.Parameter(lib.randn(40).to(getattr(lib, dtype)))
        opt = getattr(lib.optim, name)([p], lr=1e-2, **kwargs)
        for _ in range(4):
            p.grad = (lib.randn(40) * 0.1).to(getattr(lib, dtype))
            opt.step()
        return p.detach().float().tolist()
    with _torch_threads(1):
        assert run(ember) == run(torch)
