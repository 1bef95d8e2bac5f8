"""Differences from torch that earlier rounds listed and left (round 21), each against torch:
optimizers' float16/bfloat16 arithmetic (foreach steps, tensor betas, numbers added in the
parameter's dtype), torch's Number arguments given as tensors."""
import pytest
import torch

import ember


def _run_both(fn):
    from test_probe17_programs import _one_torch_thread
    with _one_torch_thread():
        return fn(ember), fn(torch)


# ---- optimizers: every step bit for bit, parameters and states -------------------------------
def _steps(lib, name, kw, dtype, foreach, scale, tensor_kw=(), nsteps=6):
    g = torch.Generator().manual_seed(1)

    def make(*shape):
        return lib.tensor((torch.randn(*shape, generator=g) * scale).tolist()).to(
            getattr(lib, dtype))
    params = [lib.nn.Parameter(make(*s)) for s in [(5, 9), (3,), (40,)]]
    kw = dict(kw)
    for k in tensor_kw:
        v = kw[k]
        kw[k] = tuple(map(lib.tensor, v)) if isinstance(v, tuple) else lib.tensor(v)
    opt = getattr(lib.optim, name)(params, foreach=foreach, **kw)
    for _ in range(nsteps):
        for p in params:
            p.grad = make(*p.shape)
        opt.step()
    states = [str(v.tolist()) if isinstance(v, (lib.Tensor,)) else str(v)
              for st in opt.state.values() for v in st.values()]
    return [str(p.detach().tolist()) for p in params] + states


_CONFIGS = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1,
             "maximize": True}),
    ("Adam", {"lr": 1e-2, "eps": 1e-6}),
    ("Adam", {"lr": 1e-2, "eps": 1e-4, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 1e-2, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 1e-2, "eps": 1e-5, "maximize": True}),
    ("NAdam", {"lr": 1e-2, "eps": 1e-5, "weight_decay": 0.1}),
    ("NAdam", {"lr": 1e-2, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("RAdam", {"lr": 1e-2, "eps": 1e-5, "weight_decay": 0.1}),
    ("RAdam", {"lr": 1e-2, "decoupled_weight_decay": True, "weight_decay": 0.1,
               "maximize": True}),
    ("Adamax", {"lr": 1e-2, "eps": 1e-5, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "eps": 1e-5, "lr_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "maximize": True}),
    ("Adadelta", {"eps": 1e-5, "lr": 0.7}),
    ("Adadelta", {"lr": 0.5, "weight_decay": 0.1, "maximize": True}),
    ("RMSprop", {"lr": 1e-2, "eps": 1e-5, "centered": True, "momentum": 0.3}),
    ("RMSprop", {"lr": 1e-2, "weight_decay": 0.1, "maximize": True}),
    ("Rprop", {"lr": 1e-2, "maximize": True}),
    ("ASGD", {"lr": 1e-2, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("scale", [1.0, 1e-3])
@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name,kw", _CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in
                                                   enumerate(_CONFIGS)])
def test_low_precision_optimizer_steps_bit_for_bit_like_torch(name, kw, dtype, foreach, scale):
    """torch's foreach steps order their ops differently from its single-tensor steps, and its
    in-place `_foreach_mul_(tensors, number)` rounds the number to the dtype (ember ran the
    single-tensor arithmetic); its add kernel reads a Python number cast to the dtype (ember
    added eps in float32: bfloat16 Adadelta/RMSprop with eps 1e-5/1e-6 an ulp off); RAdam's
    `bc2_sqrt / (sqrt(v) + eps)` is a reciprocal times the number, its rect factor a float32
    number (ember divided once and rounded rect to the dtype); Adadelta's `add_(delta,
    alpha=-lr)` rounds once."""
    assert _steps(ember, name, kw, dtype, foreach, scale) == \
        _steps(torch, name, kw, dtype, foreach, scale)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name,kw,tensor_kw", [
    ("Adam", {"lr": 0.01, "betas": (0.9, 0.999)}, ["betas"]),
    ("Adam", {"lr": 0.01, "betas": (0.9, 0.999), "amsgrad": True, "maximize": True},
     ["lr", "betas"]),
    ("Adam", {"lr": 0.01, "betas": (0.9, 0.999), "weight_decay": 0.1}, ["betas"]),
    ("AdamW", {"lr": 0.01, "betas": (0.9, 0.999), "weight_decay": 0.1}, ["lr", "betas"])])
def test_adam_with_tensor_betas_like_torch(name, kw, tensor_kw, dtype):
    """torch's single-tensor Adam with tensor betas: beta1 cast to the parameter's dtype for
    the lerp weight, beta2 a 0-d tensor in mul_ (the dtype's), the bias corrections float32
    tensors (ember took the betas' values as Python numbers)."""
    assert _steps(ember, name, kw, dtype, False, 1.0, tensor_kw) == \
        _steps(torch, name, kw, dtype, False, 1.0, tensor_kw)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("maximize,weight_decay", [(False, 0), (True, 0), (False, 0.1)])
def test_sgd_foreach_nesterov_step_writes_into_the_gradient_like_torch(dtype, maximize,
                                                                       weight_decay):
    """torch's foreach SGD adds momentum * buf into its gradient list in place: p.grad itself
    changes where neither maximize nor weight decay made a copy (ember left p.grad alone)."""
    def run(lib):
        p = lib.nn.Parameter(lib.ones(3, dtype=getattr(lib, dtype)))
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, foreach=True,
                            maximize=maximize, weight_decay=weight_decay)
        seen = []
        for _ in range(2):
            p.grad = lib.full((3,), 0.5, dtype=getattr(lib, dtype))
            g = p.grad
            opt.step()
            seen.append((g.tolist(), p.grad is g, p.tolist()))
        return seen
    got, want = _run_both(run)
    assert got == want


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
@pytest.mark.parametrize("number", [0.9, [0.3, 1.7], 1e-3])
def test_foreach_mul_in_place_rounds_the_number_to_the_dtype_like_torch(dtype, number):
    """torch's in-place _foreach_mul_ with numbers rounds them to a float16/bfloat16 tensor's
    dtype (t.mul_(number) and the out-of-place _foreach_mul take them in float32)."""
    def run(lib):
        g = torch.Generator().manual_seed(0)
        ts = [lib.tensor(torch.randn(n, generator=g).tolist(), dtype=getattr(lib, dtype))
              for n in (37, 5)]
        out = [t.tolist() for t in lib._foreach_mul(ts, number)]
        lib._foreach_mul_(ts, number)
        return [t.tolist() for t in ts], out
    got, want = _run_both(run)
    assert got == want


@pytest.mark.parametrize("op", ["add", "sub"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_optimizer_numbers_added_in_the_parameters_dtype_like_torch(op, dtype):
    """The rule the optimizers' eps follows: torch's add/sub read a Python number cast to a
    float16/bfloat16 tensor's dtype, mul/div take it in float32."""
    def run(lib):
        g = torch.Generator().manual_seed(0)
        x = lib.tensor((torch.rand(200, generator=g) * 3e-6).tolist(), dtype=getattr(lib, dtype))
        return [getattr(x, name)(s).tolist() for name in (op, "mul", "div")
                for s in (1e-6, 1e-8, 0.3)]
    got, want = _run_both(run)
    assert got == want


# ---- addcmul/addcdiv's Number `value` given as a tensor ---------------------------------------
@pytest.mark.parametrize("name", ["addcmul", "addcdiv", "addcmul_", "addcdiv_"])
@pytest.mark.parametrize("value", ["0-d", "0-d int", "1-element", "requires_grad", "float64"])
def test_addc_value_as_tensor_like_torch(name, value):
    """torch's Number argument takes a 0-d tensor that needs no grad (its value), and refuses
    others with a TypeError (ember's addcdiv raised AttributeError on any tensor value, its
    addcmul accepted them all)."""
    def run(lib):
        v = {"0-d": lambda: lib.tensor(0.5), "0-d int": lambda: lib.tensor(2),
             "1-element": lambda: lib.tensor([0.5]),
             "requires_grad": lambda: lib.tensor(0.5, requires_grad=True),
             "float64": lambda: lib.tensor(0.1, dtype=lib.float64)}[value]()
        x = lib.tensor([1.0, 2.0, 3.0])
        try:
            return getattr(x, name)(x, x + 1, value=v).tolist()
        except TypeError as e:
            return "TypeError", str(e)
    got, want = _run_both(run)
    assert got == want


def test_configs_cover_every_foreach_optimizer():
    """Each optimizer with a foreach step is in the configurations above."""
    from ember.optim import _op_steps
    names = {n for n, _ in _CONFIGS}
    assert set(_op_steps._STEPS) <= names, set(_op_steps._STEPS) - names


# ---- torch.save: an empty view of a buffer in another dtype -----------------------------------
@pytest.mark.parametrize("objs", [
    "[x, x[4:].view(torch.int32)]", "[x, x[:0].view(torch.int32)]",
    "[x[:0], x.view(torch.int32)]", "[x[:0], x[:0].view(torch.int32)]",
    "[x, x[:0].view(torch.float64)]", "[torch.empty(0), torch.empty(0).view(torch.int32)]",
    "[x[2:2].view(torch.int32)]", "[x, x[:0]]"])
def test_saving_an_empty_view_in_another_dtype_raises_like_torch(objs):
    """torch checks the dtype of every storage with data, an empty view's too (ember skipped
    empty tensors: the conflicting save went through); an empty buffer is never checked."""
    import io

    def run(lib):
        names = {"torch": lib, "x": lib.arange(4.0)}
        try:
            lib.save(eval(objs, names), io.BytesIO())
        except RuntimeError as e:
            return str(e)
        return "saved"
    got, want = _run_both(run)
    assert got == want


# ---- signed zeros: softshrink's scalar loop, bfloat16 clamp, erfinv ----------------------------
_LAYOUTS = {
    "step": lambda b, L: b[:80:2], "t20x2": lambda b, L: b[:40].reshape(20, 2).t(),
    "t2x20": lambda b, L: b[:40].reshape(2, 20).t(),
    "rows": lambda b, L: b[:100].reshape(5, 20)[:, :18],
    "rows_offset": lambda b, L: b[:100].reshape(5, 20)[:, 2:],
    "column": lambda b, L: b[:100].reshape(20, 5)[:, 1],
    "permuted": lambda b, L: b[:120].reshape(2, 3, 20).permute(1, 0, 2),
    "expanded": lambda b, L: b[:1].expand(20),
    "expanded_rows": lambda b, L: b[:3, None].expand(3, 20),
    "0-d": lambda b, L: b[0], "flipped": lambda b, L: b[:40].flip(0), "one": lambda b, L: b[:1],
    "37": lambda b, L: b[:37], "300": lambda b, L: b,
    "4-d sliced": lambda b, L: b[:240].reshape(2, 3, 5, 8)[:, :, :, :7],
    "channels_last": lambda b, L: b[:240].reshape(2, 3, 5, 8).permute(0, 2, 3, 1),
    "row_of_33": lambda b, L: b[:64].reshape(1, 64)[:, :33]}


@pytest.mark.parametrize("layout", list(_LAYOUTS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_softshrink_window_zeros_signed_as_torchs_loops(dtype, layout):
    """torch's softshrink runs its scalar lambda (x * 0 inside the window: -0.0 for a negative
    x) on the elements after the last pair of 32-byte vectors of each contiguous inner run, and
    on every element of a strided one; its vectorised lambda gives +0.0 (ember gave +0.0
    everywhere)."""
    def run(lib):
        vals = ([-0.3, 0.3, -0.0, 0.0, -0.7, float("nan"), -0.4, 0.4] * 40)[:300]
        x = _LAYOUTS[layout](lib.tensor(vals, dtype=getattr(lib, dtype)), lib)
        y = lib.nn.functional.softshrink(x, 0.4)
        nan = y.isnan()         # (the sign of a NaN is not compared)
        return (lib.signbit(y) & ~nan).tolist(), nan.tolist(), y.float().nan_to_num().tolist()
    got, want = _run_both(run)
    assert got == want


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32"])
def test_clamp_keeps_negative_zero_at_a_zero_bound_like_torch(dtype):
    """torch's clamp keeps x on a tie with the bound (-0.0 clamped to min 0.0 stays -0.0);
    ember's bfloat16 clamp went through its maximum, which gave +0.0."""
    def run(lib):
        x = lib.tensor([-0.0, 0.0, -1.0, 2.0, float("nan")] * 8, dtype=getattr(lib, dtype))
        return [(lib.signbit(y) & ~y.isnan()).tolist()
                for y in (x.clamp(min=0.0), x.clamp(max=-0.0), x.clamp(-0.0, 0.0),
                          x.clamp_min(0.0))]
    got, want = _run_both(run)
    assert got == want


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_erfinv_of_negative_zero_is_negative_zero_like_torch(dtype):
    def run(lib):
        y = lib.tensor([-0.0, 0.0, -1e-30, 0.5], dtype=getattr(lib, dtype)).erfinv()
        return lib.signbit(y).tolist(), y.float().tolist()
    got, want = _run_both(run)
    assert got == want


# ---- empty tensors' strides through views and *_like ------------------------------------------
_EMPTY_CASES = {
    "permute": lambda L: L.empty(2, 0, 3).permute(2, 0, 1),
    "transpose": lambda L: L.empty(2, 0).t(),
    "transpose_3d": lambda L: L.empty(2, 0, 3).transpose(0, 2),
    "mT": lambda L: L.empty(2, 0, 3).mT,
    "movedim": lambda L: L.empty(2, 0, 3).movedim(0, 2),
    "t_then_contiguous": lambda L: L.empty(0, 3).t().contiguous(),
    "t_detached": lambda L: L.empty(0, 3).t().detach(),
    "permute_twice": lambda L: L.empty(2, 0, 3).permute(2, 0, 1).permute(1, 2, 0),
    "expand_size_1": lambda L: L.empty(0, 1).expand(0, 4),
    "expand_middle": lambda L: L.empty(0, 1, 3).expand(0, 4, 3),
    "expand_permuted": lambda L: L.empty(1, 0).t().expand(0, 5),
    "empty_like_permuted": lambda L: L.empty_like(L.empty(2, 0, 3).permute(2, 0, 1)),
    "empty_like_strided": lambda L: L.empty_like(L.empty_strided((2, 0, 3), (5, 7, 11))),
    "zeros_like_t": lambda L: L.zeros_like(L.empty(0, 3).t()),
    "ones_like_slice": lambda L: L.ones_like(L.arange(12.).view(3, 4)[:, 2:2]),
    "rand_like_t": lambda L: L.rand_like(L.empty(4, 0).t()),
    "full_like_permuted": lambda L: L.full_like(L.empty(2, 0, 3).permute(1, 2, 0), 2.0),
    "empty_like_contiguous_format": lambda L: L.empty_like(
        L.empty(2, 0, 3).permute(2, 0, 1), memory_format=L.contiguous_format)}


@pytest.mark.parametrize("case", list(_EMPTY_CASES))
def test_empty_tensor_strides_like_torch(case):
    """NumPy zeroes a new empty array's strides, and its views' strides followed (a permuted
    (2, 0, 3) read as contiguous (2, 1, 1); torch: (1, 3, 3)); torch's *_like of an empty
    tensor takes its strides as they are."""
    def run(lib):
        x = _EMPTY_CASES[case](lib)
        return tuple(x.shape), x.stride(), x.is_contiguous()
    got, want = _run_both(run)
    assert got == want


@pytest.mark.parametrize("op", ["cummax", "cummin"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_cummax_cummin_values_are_those_at_the_indices_like_torch(op, dtype):
    """torch's running extreme takes the value at its index (the latest of tied zeros, with its
    sign); ember's float16 maximum kept the first of -0.0 and 0.0."""
    def run(lib):
        x = lib.tensor([[-0.0, 0.0, -0.0, 1.0, float("nan"), 0.5, 0.0, -0.0],
                        [0.0, -0.0, 0.0, -1.0, -1.0, 2.0, float("nan"), 2.0]],
                       dtype=getattr(lib, dtype))
        out = []
        for dim in (0, 1):
            v, i = getattr(x, op)(dim)
            nan = v.isnan()
            out.append(((lib.signbit(v) & ~nan).tolist(), nan.tolist(),
                        v.float().nan_to_num().tolist(), i.tolist()))
        return out
    got, want = _run_both(run)
    assert got == want


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_nextafter_of_equal_values_is_the_target_like_torch(dtype):
    """C's nextafter(x, y) returns y where x == y: nextafter(-0.0, 0.0) is 0.0 (ember's
    float16 gave -0.0)."""
    def run(lib):
        x = lib.tensor([-0.0, 0.0, -0.0, 1.0, 0.5], dtype=getattr(lib, dtype))
        y = lib.tensor([0.0, -0.0, -0.0, 2.0, 0.0], dtype=getattr(lib, dtype))
        r = lib.nextafter(x, y)
        return lib.signbit(r).tolist(), r.float().tolist()
    got, want = _run_both(run)
    assert got == want
