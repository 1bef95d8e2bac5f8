"""Randomised differential sweep of tensor printing: ember against torch.

Every case builds the same tensor in both libraries from one seeded NumPy array, applies the
same transform (view, autograd op, Parameter, ...), and compares repr/str/format/tolist under
a set of print options.  Run:  PYTHONPATH=. python scripts/print_sweep.py [--seed N] [--n N]
Prints each difference (first few in full) and a count.
"""
import argparse
import itertools
import math
import os
import sys

import numpy as np
import torch

import ember

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))
from test_printing_sweep import make_array  # noqa: E402  (the test's seeded value families)

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
          "float32", "float64", "complex64", "complex128", "uint16", "uint32", "uint64"]
SHAPES = [(), (1,), (7,), (3, 4), (2, 3, 4), (2, 1, 3, 2), (0,), (0, 3), (2, 0, 4),
          (2000,), (40, 40), (3, 400), (1, 1200), (7, 7, 30), (2, 3, 2, 3, 2), (1001,)]
FAMILIES = ["small", "neg", "mixed", "intvalued", "special", "boundary", "normal", "huge"]
OPTIONS = [
    {},
    {"precision": 2}, {"precision": 0}, {"precision": 8}, {"precision": 1},
    {"sci_mode": True}, {"sci_mode": False},
    {"linewidth": 40}, {"linewidth": 200}, {"linewidth": 10},
    {"threshold": 10}, {"threshold": 10, "edgeitems": 1}, {"threshold": 5, "edgeitems": 0},
    {"edgeitems": 5, "threshold": 20},
    {"profile": "short"}, {"profile": "full"}, {"profile": "short", "sci_mode": True},
    {"precision": 3, "sci_mode": False, "linewidth": 60},
    {"precision": 12}, {"linewidth": 0}, {"threshold": 0}, {"edgeitems": 1},
    {"threshold": 1000.5, "linewidth": 81}, {"precision": 6, "sci_mode": True, "linewidth": 30},
    {"profile": "nonsense"}, {"threshold": math.inf, "linewidth": 120},
    {"default_dtype": "float64"}, {"default_dtype": "float64", "precision": 2},
    {"default_dtype": "float16"}, {"default_dtype": "bfloat16", "sci_mode": True},
]
TRANSFORMS = ["plain", "requires_grad", "mul2", "sum", "param", "param_nograd", "t", "slice",
              "neg_stride", "detach", "clone", "contiguous_t", "getitem0", "expand", "tensor_api"]


def build(lib, a, dtype):
    """The tensor of `a` in `lib` (ember or torch)."""
    if dtype == "bfloat16":
        return lib.from_numpy(a.astype(np.float32)).to(lib.bfloat16)
    return lib.from_numpy(a.copy())


def transform(lib, t, name):
    floating = t.dtype.is_floating_point or t.dtype.is_complex
    if name in ("requires_grad", "mul2", "sum", "param", "detach") and not floating:
        return None
    if name == "requires_grad":
        return t.requires_grad_()
    if name == "mul2":
        return t.requires_grad_() * 2
    if name == "sum":  # small only: a long float sum may differ in its last bits (not printing)
        return t.requires_grad_().sum() if t.numel() <= 16 else None
    if name == "param":
        return lib.nn.Parameter(t)
    if name == "param_nograd":
        return lib.nn.Parameter(t, requires_grad=False)
    if name == "t":
        return t.t() if t.dim() == 2 else t.transpose(0, -1) if t.dim() > 2 else None
    if name == "slice":
        return t[..., ::2] if t.dim() else None
    if name == "neg_stride":
        return t.flip(0) if t.dim() else None
    if name == "detach":
        return (t.requires_grad_() + 1).detach()
    if name == "clone":
        return t.clone()
    if name == "contiguous_t":
        return t.transpose(0, 1).contiguous() if t.dim() >= 2 else None
    if name == "getitem0":
        return t[0] if t.dim() and t.shape[0] else None
    if name == "expand":
        return t.unsqueeze(0).expand(2, *t.shape) if t.numel() < 100 else None
    if name == "tensor_api":
        return lib.tensor(t.tolist(), dtype=t.dtype)
    return t


def outputs(t):
    """Everything printed about `t`: (label, text or exception)."""
    def safe(label, fn):
        try:
            return label, fn()
        except Exception as e:  # noqa: BLE001 - the exception is the output
            return label, f"{type(e).__name__}: {e}"
    outs = [safe("repr", lambda: repr(t)), safe("str", lambda: str(t)),
            safe("fmt", lambda: f"{t}"), safe("tolist", lambda: str(t.tolist()))]
    if t.dim() == 0:
        outs += [safe("fmt.3f", lambda: f"{t:.3f}"), safe("fmt>12", lambda: f"{t:>12}"),
                 safe("fmt.2e", lambda: f"{t:.2e}")]
    else:
        outs.append(safe("fmt.3f", lambda: f"{t:.3f}"))
    return outs


def cases(seed, n):
    rng = np.random.default_rng(seed)
    fixed = [(d, s, f) for d in DTYPES for s in SHAPES[:9] for f in FAMILIES]
    for dtype, shape, family in fixed:
        yield dtype, shape, family, "plain", {}, rng
    for _ in range(n):
        dtype = DTYPES[rng.integers(len(DTYPES))]
        shape = SHAPES[rng.integers(len(SHAPES))]
        family = FAMILIES[rng.integers(len(FAMILIES))]
        tname = TRANSFORMS[rng.integers(len(TRANSFORMS))]
        opts = OPTIONS[rng.integers(len(OPTIONS))]
        if tname == "sum" and (family not in ("small", "neg", "special", "intvalued")
                               or dtype.startswith("complex")):
            tname = "mul2"  # inexact sums may differ in their last bits: not a printing matter
        yield dtype, shape, family, tname, opts, rng


def specials():
    """Hand-written cases: (label, builder(lib))."""
    return [
        ("tensor([])", lambda L: L.tensor([])),
        ("empty(0,3)", lambda L: L.empty(0, 3)),
        ("empty(0,3,int)", lambda L: L.empty(0, 3, dtype=L.int32)),
        ("zeros(2,0,4) rg", lambda L: L.zeros(2, 0, 4, requires_grad=True)),
        ("complex nan", lambda L: L.tensor([complex(math.nan, 1), complex(1, math.nan),
                                            complex(math.nan, math.nan)])),
        ("complex -0", lambda L: L.tensor([complex(-0.0, -0.0), complex(0.0, -0.0),
                                           complex(-0.0, 0.0)])),
        ("complex64 -0 0d", lambda L: L.tensor(complex(-0.0, -0.0), dtype=L.complex64)),
        ("scalar", lambda L: L.tensor(3.14159)),
        ("int scalar", lambda L: L.tensor(7)),
        ("bool scalar", lambda L: L.tensor(True)),
        ("half scalar", lambda L: L.tensor(1.5, dtype=L.float16)),
        ("param 0d", lambda L: L.nn.Parameter(L.tensor(2.5))),
        ("param empty", lambda L: L.nn.Parameter(L.empty(0))),
        ("param int", lambda L: L.nn.Parameter(L.arange(3), requires_grad=False)),
        ("arange 2000", lambda L: L.arange(2000)),
        ("arange 2000 f", lambda L: L.arange(2000.0)),
        ("arange 40x40 f", lambda L: L.arange(1600.0).reshape(40, 40) / 7),
        ("sum grad", lambda L: L.ones(3, requires_grad=True).sum()),
        ("mean grad", lambda L: L.ones(3, requires_grad=True).mean()),
        ("mul grad", lambda L: L.ones(2, 2, requires_grad=True) * 2),
        ("view grad", lambda L: L.ones(2, 2, requires_grad=True).view(4)),
        ("t grad", lambda L: L.ones(2, 3, requires_grad=True).t()),
        ("index grad", lambda L: L.ones(2, 3, requires_grad=True)[0]),
        ("linspace", lambda L: L.linspace(0, 1, 11)),
        ("neg zero", lambda L: L.tensor([-0.0, 0.0])),
        ("neg zero only", lambda L: L.tensor(-0.0)),
        ("bf16 -0", lambda L: L.tensor([-0.0, 1.0], dtype=L.bfloat16)),
        ("uint8 max", lambda L: L.tensor([0, 255], dtype=L.uint8)),
        ("int64 extremes", lambda L: L.tensor([-2 ** 63, 2 ** 63 - 1])),
        ("huge float", lambda L: L.tensor([1e308, -1e-308])),
        ("subnormal", lambda L: L.tensor([5e-324, 1.0], dtype=L.float64)),
        ("half sub", lambda L: L.tensor([6e-8, 1.0], dtype=L.float16)),
        ("nan only", lambda L: L.tensor([math.nan, math.nan])),
        ("inf only", lambda L: L.tensor([math.inf, -math.inf])),
        ("complex inf", lambda L: L.tensor([complex(math.inf, 0), complex(0, -math.inf)])),
        ("complex intvalued", lambda L: L.tensor([1 + 2j, 3 - 4j])),
        ("complex mixed", lambda L: L.tensor([1e-8 + 1e8j, 1 + 1j])),
        ("cplx conj", lambda L: L.tensor([1 + 2j, 3 - 4j]).conj()),
        ("cplx conj grad", lambda L: L.tensor([1 + 2j], requires_grad=True).conj()),
        ("neg view", lambda L: L.tensor([1.0, 2.0])._neg_view() if hasattr(
            L.Tensor, "_neg_view") else L.tensor([-1.0, -2.0])),
        ("float64 default", lambda L: L.tensor([1.0], dtype=L.float64)),
        ("expand 0d", lambda L: L.tensor(2.0).expand(3, 4)),
        ("repr custom contents", lambda L: L.tensor([1.0, 2.0]).__repr__(tensor_contents="X")),
        ("contents empty", lambda L: L.empty(0, 2).__repr__(tensor_contents="[..]")),
        ("contents meta", lambda L: L.empty(2, device="meta").__repr__(tensor_contents="M")),
        ("contents sparse", lambda L: L.eye(2).to_sparse().__repr__(tensor_contents="S")),
        ("contents grad", lambda L: (L.ones(2, requires_grad=True) * 2).__repr__(
            tensor_contents="G")),
        ("meta 0d", lambda L: L.empty((), device="meta")),
        ("meta 2d", lambda L: L.empty(2, 3, device="meta", dtype=L.int32)),
        ("sparse", lambda L: L.tensor([[0.0, 1.5], [2.0, 0.0]]).to_sparse()),
        ("sparse csr", lambda L: L.tensor([[0.0, 1.5], [2.0, 0.0]]).to_sparse_csr()),
        ("sparse int", lambda L: L.tensor([[0, 1], [2, 0]], dtype=L.int16).to_sparse()),
        ("buffer 0d", lambda L: L.nn.Buffer(L.tensor(1.5))),
        ("subclass", lambda L: L.tensor([1.0, 2.0]).as_subclass(type("MyT", (L.Tensor,), {}))),
        ("subclass 0d", lambda L: L.tensor(1.0).as_subclass(type("MyT", (L.Tensor,), {}))),
        ("real view", lambda L: L.tensor([1 + 2j, -3.5 + 0j]).real),
        ("imag view", lambda L: L.tensor([1 + 2j, -3.5 + 0j]).imag),
        ("conj 0d", lambda L: L.tensor(1 - 2j).conj()),
        ("neg 0d", lambda L: -L.tensor(-0.0)),
        ("grad after backward", lambda L: _grad(L)),
        ("diag view", lambda L: L.arange(9.0).reshape(3, 3).diagonal()),
        ("as_strided", lambda L: L.arange(10.0).as_strided((3, 3), (1, 1))),
        ("unfold", lambda L: L.arange(10.0).unfold(0, 3, 2)),
        ("float64 rg", lambda L: L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)),
        ("nested list", lambda L: L.tensor([[1, 2], [3, 4]], dtype=L.float16)),
        ("long row", lambda L: L.arange(30.0).reshape(1, 30) * 1.5),
        ("tall col", lambda L: L.arange(30).reshape(30, 1)),
    ]


def _grad(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    return x.grad


def compare(label, te, tt, opts, diffs):
    """Compare every output of ember's te and torch's tt under `opts`; return #outputs."""
    opts = dict(opts)
    default = opts.pop("default_dtype", "float32")
    for lib in (torch, ember):
        lib.set_printoptions(profile="default")
        lib.set_printoptions(**opts)
        lib.set_default_dtype(getattr(lib, default))
    try:
        if isinstance(tt, str):
            got, exp = [("value", te)], [("value", tt)]
        else:
            got, exp = outputs(te), outputs(tt)
        got.append(("options", ember._tensor_str.get_printoptions()))
        exp.append(("options", torch._tensor_str.get_printoptions()))
    finally:
        for lib in (torch, ember):
            lib.set_printoptions(profile="default")
            lib.set_default_dtype(lib.float32)
    for (what, g), (_, e) in zip(got, exp):
        if g != e:
            diffs.append((label, opts, what, g, e))
    return len(got)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=3000)
    p.add_argument("--show", type=int, default=15)
    args = p.parse_args()
    diffs, count, ncases = [], 0, 0
    for dtype, shape, family, tname, opts, rng in cases(args.seed, args.n):
        a = make_array(rng, dtype, shape, family)
        try:
            tt = transform(torch, build(torch, a, dtype), tname)
        except (RuntimeError, NotImplementedError):
            continue  # torch's barebones dtypes (uint16...) lack some ops
        try:
            te = transform(ember, build(ember, a, dtype), tname)
        except Exception as e:  # noqa: BLE001 - an op failing in ember (not printing)
            diffs.append(((dtype, shape, family, tname), opts, "build", repr(e), repr(tt)))
            continue
        if (te is None) != (tt is None):
            diffs.append(((dtype, shape, family, tname), opts, "build", te, tt))
            continue
        if te is None:
            continue
        ncases += 1
        count += compare((dtype, shape, family, tname), te, tt, opts, diffs)
    for (label, build_fn), opts in itertools.product(specials(), OPTIONS[:8] + OPTIONS[-2:]):
        try:
            te, tt = build_fn(ember), build_fn(torch)
        except Exception as e:  # noqa: BLE001
            diffs.append((label, opts, "build", f"{type(e).__name__}: {e}", ""))
            continue
        ncases += 1
        count += compare(label, te, tt, opts, diffs)
    seen = set()
    for label, opts, what, g, e in diffs:
        key = (label[3] if isinstance(label, tuple) else label, what)
        if len(seen) >= args.show or key in seen:
            continue
        seen.add(key)
        print(f"=== {label} {opts} [{what}]\n--- ember:\n{g}\n--- torch:\n{e}")
    failed = sum(what == "build" for _, _, what, _, _ in diffs)
    print(f"cases {ncases}, outputs compared {count}, differing {len(diffs) - failed}"
          f" (+ {failed} cases that ember failed to build)")


if __name__ == "__main__":
    main()
