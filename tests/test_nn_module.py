"""The Module system against torch: registration, iteration, state_dict / load_state_dict
(keys, order, messages), hooks, conversion, repr and errors, containers and Parameter."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as tnn

import ember
import ember.nn as nn
from nn_oracle import check_module, pair, raises_like, rand, to_ember_state
from oracle import assert_close


def build(lib):
    """The same small network in either library (tied weights, a buffer, nesting)."""
    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(4, 4)
            self.register_buffer("running", lib.zeros(4))
            self.register_buffer("scratch", lib.ones(2), persistent=False)
            self.act = lib.nn.Tanh()

        def forward(self, x):
            return self.act(self.fc(x)) + self.running

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = lib.nn.Linear(3, 4)
            self.blocks = lib.nn.ModuleList([Block(), Block()])
            self.head = lib.nn.Sequential(OrderedDict(relu=lib.nn.ReLU(),
                                                      out=lib.nn.Linear(4, 2)))
            self.tied = self.head.out            # the same module twice
            self.scale = lib.nn.Parameter(lib.ones(1))
            self.register_parameter("unused", None)

        def forward(self, x):
            h = self.embed(x)
            for b in self.blocks:
                h = b(h)
            return self.head(h) * self.scale

    return Net()


def test_names_order_and_dedup_match_torch():
    e, t = build(ember), build(torch)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    for kw in ({"remove_duplicate": False}, {"prefix": "model"}, {"recurse": False}):
        assert [n for n, _ in e.named_parameters(**kw)] == \
            [n for n, _ in t.named_parameters(**kw)]
    assert [n for n, _ in e.named_modules(remove_duplicate=False, prefix="m")] == \
        [n for n, _ in t.named_modules(remove_duplicate=False, prefix="m")]
    assert len(list(e.parameters())) == len(list(t.parameters()))
    assert len(list(e.modules())) == len(list(t.modules()))
    assert len(list(e.buffers(recurse=False))) == 0


def test_state_dict_keys_shapes_order_and_metadata():
    e, t = build(ember), build(torch)
    esd, tsd = e.state_dict(), t.state_dict()
    assert list(esd) == list(tsd)
    assert [tuple(v.shape) for v in esd.values()] == [tuple(v.shape) for v in tsd.values()]
    assert esd._metadata == tsd._metadata
    assert list(e.state_dict(prefix="p.")) == list(t.state_dict(prefix="p."))
    assert not esd["embed.weight"].requires_grad
    assert e.state_dict(keep_vars=True)["embed.weight"] is e.embed.weight
    # detached but sharing storage with the parameter
    esd["embed.weight"].zero_()
    assert not e.embed.weight.detach().numpy().any()


def test_load_state_dict_roundtrip_and_identity():
    e, t = build(ember), build(torch)
    w = e.embed.weight
    res = e.load_state_dict(to_ember_state(t.state_dict()))
    assert repr(res) == repr(t.load_state_dict(t.state_dict())) == "<All keys matched successfully>"
    assert e.embed.weight is w                      # copied into the existing Parameter
    x = rand((5, 3))
    check_module(e, t, [x])


def test_load_state_dict_errors_match_torch_messages():
    e, t = build(ember), build(torch)
    sd_t = t.state_dict()
    sd_t.pop("scale")
    sd_t["extra.key"] = torch.ones(1)
    sd_t["embed.weight"] = torch.ones(3, 3)
    sd_e = to_ember_state(sd_t)
    em, tm = raises_like(lambda: e.load_state_dict(sd_e), lambda: t.load_state_dict(sd_t))
    assert em == tm.replace("torch.Size", "torch.Size")
    res_e = e.load_state_dict({k: v for k, v in sd_e.items() if k != "embed.weight"},
                              strict=False)
    res_t = t.load_state_dict({k: v for k, v in sd_t.items() if k != "embed.weight"},
                              strict=False)
    assert res_e.missing_keys == res_t.missing_keys
    assert res_e.unexpected_keys == res_t.unexpected_keys
    assert repr(res_e) == repr(res_t)
    raises_like(lambda: e.load_state_dict([1]), lambda: t.load_state_dict([1]))


def test_load_state_dict_assign_and_scalar_broadcast():
    lin = nn.Linear(2, 2)
    new = OrderedDict(weight=ember.ones(2, 2, dtype=ember.float64), bias=ember.zeros(2))
    lin.load_state_dict(new, assign=True)
    assert lin.weight.dtype == ember.float64 and isinstance(lin.weight, nn.Parameter)
    assert lin.weight.requires_grad

    class S(nn.Module):
        def __init__(self):
            super().__init__()
            self.s = nn.Parameter(ember.tensor(1.0))
    s = S()
    s.load_state_dict({"s": ember.tensor([3.0])})       # (1,) into a 0-d parameter
    assert s.s.item() == 3.0


def test_state_dict_hooks():
    e = nn.Linear(2, 2)
    seen = []
    e.register_state_dict_pre_hook(lambda m, prefix, keep_vars: seen.append(("pre", prefix)))
    e.register_state_dict_post_hook(lambda m, sd, prefix, meta: seen.append(("post", len(sd))))
    e.register_load_state_dict_pre_hook(lambda m, sd, *a: seen.append(("lpre", len(sd))))
    e.register_load_state_dict_post_hook(lambda m, keys: seen.append(("lpost", keys)))
    sd = e.state_dict()
    e.load_state_dict(sd)
    assert seen[:3] == [("pre", ""), ("post", 2), ("lpre", 2)]
    assert seen[3][0] == "lpost" and not seen[3][1].missing_keys


def test_extra_state_round_trip():
    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.value = 1

        def get_extra_state(self):
            return {"value": self.value}

        def set_extra_state(self, state):
            self.value = state["value"]
    a = WithExtra()
    a.value = 7
    sd = a.state_dict()
    assert list(sd) == ["_extra_state"]
    b = WithExtra()
    b.load_state_dict(sd)
    assert b.value == 7


# ---- registration --------------------------------------------------------------------------
def test_setattr_registration_and_mirror():
    m = nn.Module()
    m.w = nn.Parameter(ember.ones(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("b", ember.zeros(2))
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"]
    assert list(m._buffers) == ["b"]
    assert m.w is m._parameters["w"] and "w" in m.__dict__
    m.w = None                                   # None keeps the parameter slot
    assert m._parameters["w"] is None and m.w is None
    m.b = ember.ones(2)                          # a plain tensor assigned to a buffer name
    assert m._buffers["b"] is m.b
    del m._parameters["w"]                       # direct edits keep the mirror in step
    assert not hasattr(m, "w")
    m._modules["other"] = nn.ReLU()
    assert isinstance(m.other, nn.ReLU)
    del m.sub
    assert "sub" not in m._modules and not hasattr(m, "sub")
    m.sub = nn.Parameter(ember.ones(1))          # a name moves from one registry to another
    assert "sub" in m._parameters


def test_registration_errors_match_torch():
    pairs = [
        (lambda lib: lib.nn.Module().register_parameter("a.b", None), None),
        (lambda lib: lib.nn.Module().register_parameter("", None), None),
        (lambda lib: lib.nn.Module().register_buffer("x", 3), None),
        (lambda lib: lib.nn.Module().register_parameter("x", lib.ones(2)), None),
        (lambda lib: lib.nn.Module().add_module("x", 3), None),
        (lambda lib: lib.nn.Module().add_module("a.b", lib.nn.ReLU()), None),
        (lambda lib: setattr(lib.nn.Linear(2, 2), "weight", lib.ones(2, 2)), None),
        (lambda lib: lib.nn.Linear(2, 2).register_buffer("weight", lib.ones(1)), None),
        (lambda lib: lib.nn.Linear(2, 2).nope, None),
        (lambda lib: lib.nn.Linear(2, 2).get_submodule("a.b"), None),
        (lambda lib: lib.nn.Sequential(lib.nn.Linear(2, 2)).get_parameter("0.nope"), None),
        (lambda lib: lib.nn.Sequential(lib.nn.Linear(2, 2)).get_buffer("0.weight"), None),
        (lambda lib: lib.nn.Linear(2, 2).train("yes"), None),
        (lambda lib: lib.nn.Linear(2, 2).to(lib.int64), None),
        (lambda lib: lib.nn.Module()(lib.ones(1)), None),
    ]
    for fn, _ in pairs:
        em, tm = raises_like(lambda: fn(ember), lambda: fn(torch))
        assert em == tm, (em, tm)


def test_non_leaf_parameter_is_rejected_with_torch_message():
    p = nn.Parameter(ember.ones(2))
    p.grad_fn = (p * 2).grad_fn
    with pytest.raises(ValueError) as info:
        nn.Module().register_parameter("x", p)
    tp = tnn.Parameter(torch.ones(2))
    tq = tp * 2
    tq.__class__ = tnn.Parameter
    with pytest.raises(ValueError) as tinfo:
        tnn.Module().register_parameter("x", tq)
    assert str(info.value) == str(tinfo.value)


def test_getattr_setattr_before_init():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ember.ones(1))

    class TBad(tnn.Module):
        def __init__(self):
            self.w = tnn.Parameter(torch.ones(1))
    raises_like(Bad, TBad)


def test_get_submodule_parameter_buffer():
    e = build(ember)
    assert e.get_submodule("blocks.1.fc") is e.blocks[1].fc
    assert e.get_parameter("blocks.0.fc.bias") is e.blocks[0].fc.bias
    assert e.get_buffer("blocks.1.running") is e.blocks[1].running
    e.set_submodule("blocks.0.act", nn.ReLU())
    assert isinstance(e.blocks[0].act, nn.ReLU)


def test_dir_contains_registered_names():
    e = build(ember)
    d = dir(e)
    for name in ("embed", "blocks", "scale", "forward", "state_dict"):
        assert name in d
    assert "0" not in dir(e.blocks)


# ---- modes, conversion, grads --------------------------------------------------------------
def test_train_eval_requires_grad_zero_grad():
    e = build(ember)
    e.eval()
    assert not any(m.training for m in e.modules())
    e.train()
    assert all(m.training for m in e.modules())
    e.requires_grad_(False)
    assert not any(p.requires_grad for p in e.parameters())
    e.requires_grad_()
    e(ember.ones(2, 3)).sum().backward()
    assert all(p.grad is not None for p in e.parameters())
    e.zero_grad(set_to_none=False)
    assert all(not p.grad.numpy().any() for p in e.parameters())
    e.zero_grad()
    assert all(p.grad is None for p in e.parameters())


def test_apply_visits_children_first():
    e, t = build(ember), build(torch)
    names_e, names_t = [], []
    e.apply(lambda m: names_e.append(type(m).__name__))
    t.apply(lambda m: names_t.append(type(m).__name__))
    assert names_e == names_t


def test_to_double_float_half_keep_parameter_identity():
    e = build(ember)
    w = e.embed.weight
    e(ember.ones(2, 3)).sum().backward()
    assert e.double() is e
    assert e.embed.weight is w and w.dtype == ember.float64 and w.grad.dtype == ember.float64
    assert e.blocks[0].running.dtype == ember.float64
    e.float()
    assert w.dtype == ember.float32
    e.to(ember.float16)
    assert w.dtype == ember.float16
    e.to(dtype=ember.float32).to("cpu")
    assert w.dtype == ember.float32 and w.device.type == "cpu"
    e.type(ember.float64)
    assert w.dtype == ember.float64
    e.cpu()
    counter = nn.Module()
    counter.register_buffer("n", ember.tensor(3))
    counter.double()
    assert counter.n.dtype == ember.int64


def test_to_mock_device():
    e = nn.Linear(2, 3)
    e.to("mock")
    assert e.weight.device.type == "mock" and isinstance(e.weight, nn.Parameter)
    out = e(ember.ones(4, 2, device="mock"))
    assert out.device.type == "mock"


# ---- hooks ---------------------------------------------------------------------------------
def test_forward_hooks_match_torch():
    def run(lib):
        log = []
        m = lib.nn.Linear(3, 2)
        h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
        m.register_forward_pre_hook(lambda mod, args, kwargs: log.append(sorted(kwargs)),
                                    with_kwargs=True)
        m.register_forward_hook(lambda mod, args, out: out + 1)
        m.register_forward_hook(lambda mod, args, kwargs, out: log.append("kw"),
                                with_kwargs=True)
        m.register_forward_hook(lambda mod, args, out: log.append("first"), prepend=True)
        with lib.no_grad():
            m.weight.fill_(0.5)
            m.bias.fill_(0.0)
        out = m(lib.ones(1, 3))
        h1.remove()
        out2 = m(lib.ones(1, 3))
        return out.tolist(), out2.tolist(), log
    assert run(ember) == run(torch)


def test_forward_hook_always_called_and_global_hooks():
    from ember.nn.modules import module as mod_e
    from torch.nn.modules import module as mod_t

    def run(lib, modlib):
        log = []
        m = lib.nn.Linear(3, 2)
        m.register_forward_hook(lambda *a: log.append("always"), always_call=True)
        try:
            m(lib.ones(1, 4))
        except RuntimeError:
            log.append("raised")
        h = modlib.register_module_forward_hook(lambda mod, args, out: log.append("global"))
        m(lib.ones(1, 3))
        h.remove()
        m(lib.ones(1, 3))
        return log
    assert run(ember, mod_e) == run(torch, mod_t)


def test_full_backward_hooks_match_torch():
    x = rand((4, 3), "float64")

    def run(lib):
        seen = []
        m = lib.nn.Sequential(lib.nn.Linear(3, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2)).double()
        for p, v in zip(m.parameters(), PARAMS):
            p.data = lib.tensor(v)
        tanh = m[1]

        def hook(mod, grad_in, grad_out):
            seen.append(("full", [None if g is None else g.detach().numpy().copy()
                                  for g in grad_in],
                         [g.detach().numpy().copy() for g in grad_out]))
            return (grad_in[0] * 2,)

        def pre(mod, grad_out):
            seen.append(("pre", [g.detach().numpy().copy() for g in grad_out]))
            return (grad_out[0] * 3,)
        tanh.register_full_backward_hook(hook)
        tanh.register_full_backward_pre_hook(pre)
        xin = lib.tensor(x, requires_grad=True)
        m(xin).sum().backward()
        return seen, xin.grad.numpy().copy(), [p.grad.numpy().copy() for p in m.parameters()]
    seen_e, gx_e, gp_e = run(ember)
    seen_t, gx_t, gp_t = run(torch)
    assert [s[0] for s in seen_e] == [s[0] for s in seen_t] == ["pre", "full"]
    np.testing.assert_allclose(seen_e[0][1][0], seen_t[0][1][0], rtol=1e-10)
    np.testing.assert_allclose(seen_e[1][1][0], seen_t[1][1][0], rtol=1e-10)
    np.testing.assert_allclose(seen_e[1][2][0], seen_t[1][2][0], rtol=1e-10)
    np.testing.assert_allclose(gx_e, gx_t, rtol=1e-10)
    for a, b in zip(gp_e, gp_t):
        np.testing.assert_allclose(a, b, rtol=1e-10)


PARAMS = [np.random.default_rng(i).standard_normal(s) for i, s in
          enumerate([(5, 3), (5,), (2, 5), (2,)])]


def test_full_backward_hook_when_inputs_do_not_require_grad():
    def run(lib):
        seen = []
        m = lib.nn.Linear(3, 2)
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(
            (gi, tuple(g.shape for g in go))))
        m(lib.ones(4, 3)).sum().backward()
        return [(gi, tuple(tuple(s) for s in go)) for gi, go in seen]
    assert run(ember) == run(torch)


def test_backward_hook_kinds_cannot_mix():
    raises_like(lambda: _mix(ember), lambda: _mix(torch))


def _mix(lib):
    m = lib.nn.Linear(2, 2)
    m.register_full_backward_hook(lambda *a: None)
    m.register_backward_hook(lambda *a: None)


# ---- repr, copy, pickle --------------------------------------------------------------------
def test_repr_matches_torch():
    e, t = build(ember), build(torch)
    assert repr(e) == repr(t)
    assert repr(nn.Sequential()) == repr(tnn.Sequential())
    layers_e = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU(), nn.ReLU()])
    layers_t = tnn.ModuleList([tnn.Linear(2, 2) for _ in range(3)] + [tnn.ReLU(), tnn.ReLU()])
    assert repr(layers_e) == repr(layers_t)
    assert repr(nn.ModuleList()) == repr(tnn.ModuleList())

    def multi(lib):
        class Multi(lib.nn.Module):
            def extra_repr(self):
                return "a=1\nb=2"
        return Multi()
    assert repr(multi(ember)) == repr(multi(torch))


class PickleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(3, 4)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(4, 2))
        self.tied = self.head[1]
        self.register_buffer("running", ember.zeros(4))

    def forward(self, x):
        return self.head(self.embed(x) + self.running)


def test_deepcopy_and_pickle_preserve_sharing():
    e = PickleNet()
    for clone in (copy.deepcopy(e), pickle.loads(pickle.dumps(e))):
        assert clone.tied is clone.head[1] and clone.tied is not e.tied
        assert list(clone.state_dict()) == list(e.state_dict())
        assert isinstance(clone.embed.weight, nn.Parameter)
        assert clone.embed.weight is clone._modules["embed"]._parameters["weight"]
        for (k, a), b in zip(e.state_dict().items(), clone.state_dict().values()):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        clone.embed.weight = nn.Parameter(ember.zeros(4, 3))
        assert clone.embed._parameters["weight"] is clone.embed.weight
        out = clone(ember.ones(2, 3))
        assert tuple(out.shape) == (2, 2)


# ---- Parameter -----------------------------------------------------------------------------
def test_parameter_behaviour():
    p, tp = nn.Parameter(ember.tensor([1.0, 2.0])), tnn.Parameter(torch.tensor([1.0, 2.0]))
    assert repr(p) == repr(tp)
    assert p.requires_grad and p.is_leaf and isinstance(p, ember.Tensor)
    assert repr(nn.Parameter(ember.ones(2), requires_grad=False)) == \
        repr(tnn.Parameter(torch.ones(2), requires_grad=False))
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q is not p and q.requires_grad
    np.testing.assert_array_equal(q.detach().numpy(), [1.0, 2.0])
    r = pickle.loads(pickle.dumps(p))
    assert type(r) is nn.Parameter and r.requires_grad
    assert type(p * 2) is ember.Tensor
    assert nn.Parameter().shape == (0,)
    base = ember.zeros(3)
    shared = nn.Parameter(base)
    base.fill_(5.0)
    assert shared.detach().numpy().tolist() == [5.0, 5.0, 5.0]
    raises_like(lambda: nn.Parameter(ember.tensor([1, 2])),
                lambda: tnn.Parameter(torch.tensor([1, 2])))


def test_buffer_class():
    m, t = nn.Module(), tnn.Module()
    m.buf = nn.Buffer(ember.ones(2), persistent=False)
    t.buf = tnn.Buffer(torch.ones(2), persistent=False)
    assert list(m._buffers) == list(t._buffers) == ["buf"]
    assert list(m.state_dict()) == list(t.state_dict()) == []


# ---- containers --------------------------------------------------------------------------
def _seq(lib, n=4):
    return lib.nn.Sequential(*[lib.nn.Linear(2, 2) for _ in range(n)])


def test_sequential_operations_match_torch():
    def ops(lib):
        s = _seq(lib)
        out = [len(s), type(s[1]).__name__, len(s[1:3]), type(s[1:3]).__name__, len(s[::2])]
        del s[1]
        out.append(list(s._modules))
        s.append(lib.nn.ReLU())
        s.insert(0, lib.nn.Tanh())
        s.insert(-1, lib.nn.Sigmoid())
        s.extend([lib.nn.ReLU6()])
        out.append(repr(s))
        out.append(s.pop(0).__class__.__name__)
        s2 = s + _seq(lib, 2)
        out.append(list(s2._modules))
        s3 = _seq(lib, 2) * 2
        out.append(len(s3))
        s += _seq(lib, 1)
        out.append(len(s))
        s[0] = lib.nn.Identity()
        out.append(repr(s[0]))
        out.append([type(m).__name__ for m in s])
        return out
    assert ops(ember) == ops(torch)
    raises_like(lambda: _seq(ember)[7], lambda: _seq(torch)[7])
    raises_like(lambda: _seq(ember) + 1, lambda: _seq(torch) + 1)


def test_sequential_forward_and_ordered_dict():
    e = nn.Sequential(OrderedDict(a=nn.Linear(3, 4), b=nn.ReLU(), c=nn.Linear(4, 2)))
    t = tnn.Sequential(OrderedDict(a=tnn.Linear(3, 4), b=tnn.ReLU(), c=tnn.Linear(4, 2)))
    assert repr(e) == repr(t)
    check_module(e, t, [rand((5, 3))])


def test_module_list_and_dict_match_torch():
    def ops(lib):
        ml = lib.nn.ModuleList([lib.nn.ReLU(), lib.nn.Tanh()])
        ml.append(lib.nn.Sigmoid())
        ml.extend([lib.nn.ReLU()])
        ml.insert(1, lib.nn.Identity())
        ml += [lib.nn.ReLU6()]
        out = [repr(ml), len(ml), type(ml[-1]).__name__, len(ml[1:])]
        del ml[0]
        out.append(list(ml._modules))
        out.append(repr(ml + lib.nn.ModuleList([lib.nn.ReLU()])))
        md = lib.nn.ModuleDict({"b": lib.nn.ReLU(), "a": lib.nn.Tanh()})
        md["c"] = lib.nn.Identity()
        md.update([("d", lib.nn.ReLU())])
        out += [list(md.keys()), "a" in md, len(md), repr(md)]
        md.pop("a")
        out.append(list(md))
        return out
    assert ops(ember) == ops(torch)


def test_parameter_list_and_dict_match_torch():
    def ops(lib):
        pl = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2)), lib.zeros(3)])
        pl.append(lib.ones(2, 2, dtype=lib.float64))
        out = [repr(pl), len(pl), [type(p).__name__ for p in pl],
               [n for n, _ in pl.named_parameters()]]
        pd = lib.nn.ParameterDict({"b": lib.ones(1), "a": lib.nn.Parameter(lib.zeros(2))})
        pd["c"] = lib.ones(3)
        out += [repr(pd), list(pd.keys()), [n for n, _ in pd.named_parameters()],
                "a" in pd, len(pd)]
        pd.pop("b")
        out.append(list(pd))
        return out
    assert ops(ember) == ops(torch)


def test_containers_state_dict_keys():
    e = nn.Sequential(nn.Linear(2, 3), nn.ModuleDict({"x": nn.Linear(3, 3)}),
                      nn.ParameterList([nn.Parameter(ember.ones(2))]))
    t = tnn.Sequential(tnn.Linear(2, 3), tnn.ModuleDict({"x": tnn.Linear(3, 3)}),
                       tnn.ParameterList([tnn.Parameter(torch.ones(2))]))
    assert list(e.state_dict()) == list(t.state_dict())


def test_call_runs_forward_with_kwargs():
    class KW(nn.Module):
        def forward(self, x, *, scale=1.0):
            return x * scale
    assert KW()(ember.ones(2), scale=3.0).tolist() == [3.0, 3.0]


def test_shared_parameter_counted_once_and_grads_accumulate():
    e = nn.Linear(2, 2)
    seq = nn.Sequential(e, nn.Tanh(), e)
    t_lin = tnn.Linear(2, 2)
    tseq = tnn.Sequential(t_lin, tnn.Tanh(), t_lin)
    assert len(list(seq.parameters())) == len(list(tseq.parameters())) == 2
    assert list(seq.state_dict()) == list(tseq.state_dict())
    check_module(seq, tseq, [rand((3, 2))])


def test_assigning_tensor_to_parameter_name_is_type_error():
    em, tm = raises_like(lambda: setattr(nn.Linear(1, 1), "bias", ember.ones(1)),
                         lambda: setattr(tnn.Linear(1, 1), "bias", torch.ones(1)))
    assert "cannot assign" in em


def test_pair_helper_sanity():
    e, t = pair(np.ones(2, np.float32))
    assert_close(e, t)


def test_module_step_on_device(device):
    """A model moved with .to(device) trains like torch's (cpu, mock, cuda where available)."""
    torch.manual_seed(0)
    t = tnn.Sequential(tnn.Linear(5, 8), tnn.GELU(), tnn.Dropout(0.0), tnn.Linear(8, 5))
    e = nn.Sequential(nn.Linear(5, 8), nn.GELU(), nn.Dropout(0.0), nn.Linear(8, 5))
    e.load_state_dict(to_ember_state(t.state_dict()))
    e.to(device)
    assert all(p.device.type == device for p in e.parameters())
    x, y = rand((6, 5), seed=3), np.random.default_rng(4).integers(0, 5, 6)
    seen = []
    e[1].register_full_backward_hook(lambda m, gi, go: seen.append(gi[0].device.type))
    loss_e = nn.CrossEntropyLoss()(e(ember.tensor(x, device=device)),
                                   ember.tensor(y, device=device))
    loss_t = tnn.CrossEntropyLoss()(t(torch.from_numpy(x)), torch.from_numpy(y))
    loss_e.backward()
    loss_t.backward()
    assert_close(loss_e.cpu(), loss_t)
    assert seen == [device]
    norm_e = nn.utils.clip_grad_norm_(e.parameters(), 0.1)
    norm_t = tnn.utils.clip_grad_norm_(t.parameters(), 0.1)
    assert_close(norm_e.cpu(), norm_t)
    for (name, p), q in zip(e.named_parameters(), t.parameters()):
        assert p.grad.device.type == device
        assert_close(p.grad.cpu(), q.grad)
    e.cpu()
    assert all(p.device.type == "cpu" for p in e.parameters())


def _tracked_parents(L):
    """torch.utils.module_tracker.ModuleTracker: the running modules' names in forward and in
    their backward, reset once the backward ends."""
    import importlib
    tracker_cls = importlib.import_module(L.__name__ + ".utils.module_tracker").ModuleTracker

    class Block(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin, self.act = L.nn.Linear(3, 3), L.nn.ReLU()

        def forward(self, x):
            return self.act(self.lin(x))

    class Net(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.block, self.head = Block(), L.nn.Linear(3, 1)

        def forward(self, x):
            return self.head(self.block(x))

    net, log = Net(), []
    with tracker_cls() as tracker:
        def note(where):
            return lambda *args: log.append((where, sorted(tracker.parents), tracker.is_bw))
        net.block.lin.register_forward_hook(note("lin forward"))
        net.head.register_full_backward_hook(note("head backward"))
        net.block.lin.register_full_backward_hook(note("lin backward"))
        y = net(L.ones(2, 3, requires_grad=True))
        note("after forward")()
        y.sum().backward()
        note("after backward")()
    return log


def test_module_tracker():
    assert _tracked_parents(ember) == _tracked_parents(torch)


def _legacy_hook_log(L, make, inputs):
    """What Module.register_backward_hook's hook is given (the output grad_fn's gradients:
    shapes), and the FutureWarnings torch gives with it."""
    import warnings
    L.manual_seed(0)
    m = make(L)
    seen = []
    m.register_backward_hook(lambda mod, gi, go: seen.append(
        (mod is m, [None if g is None else tuple(g.shape) for g in gi],
         [None if g is None else tuple(g.shape) for g in go])))
    xs = [L.randn(*s, requires_grad=True) if isinstance(s, tuple) else s for s in inputs]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = m(*xs)
    out = out if isinstance(out, L.Tensor) else out["a"] if isinstance(out, dict) else out[0]
    out.sum().backward()
    return seen, [str(r.message) for r in w if r.category is FutureWarning]


_LEGACY = {
    "conv": (lambda L: L.nn.Conv2d(1, 2, 3), [(1, 1, 5, 5)]),
    "relu": (lambda L: L.nn.ReLU(), [(4, 3)]),
    "sequential": (lambda L: L.nn.Sequential(L.nn.Conv2d(1, 2, 3), L.nn.ReLU()),
                   [(1, 1, 5, 5)]),
    "tanh of a sum": (lambda L: L.nn.Tanh(), [(2, 3)]),
    "bilinear": (lambda L: L.nn.Bilinear(2, 3, 4), [(5, 2), (5, 3)]),
    "dict output": (lambda L: _DictOut(L), [(2, 3)]),
    "a number among the inputs": (lambda L: _Scaled(L), [(2, 3), 2.0]),
    "outputs of two nodes": (lambda L: _TwoOuts(L), [(2, 3)]),
}


def _DictOut(L):
    class DictOut(L.nn.Module):
        def forward(self, x):
            return {"a": x * 2}
    return DictOut()


def _Scaled(L):
    class Scaled(L.nn.Module):
        def forward(self, x, k):
            return x * k
    return Scaled()


def _TwoOuts(L):
    class TwoOuts(L.nn.Module):
        def forward(self, x):
            return x * 2, x + 1
    return TwoOuts()


@pytest.mark.parametrize("name", list(_LEGACY))
def test_legacy_backward_hook_on_the_output_node_like_torch(name):
    make, inputs = _LEGACY[name]
    assert _legacy_hook_log(ember, make, inputs) == _legacy_hook_log(torch, make, inputs)


def test_legacy_backward_hook_of_linear_like_torch():
    make, inputs = (lambda L: L.nn.Linear(3, 2)), [(4, 3)]
    assert _legacy_hook_log(ember, make, inputs) == _legacy_hook_log(torch, make, inputs)
