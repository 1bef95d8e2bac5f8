"""Bit-level agreement with torch over the op table (tests/opspecs*.py): for every entry, in
float32 and float64, how many forward outputs and input gradients (under a random cotangent)
differ from torch's in any bit (NaNs equal, -0.0 apart from 0.0). The tests compare within
tolerances; this report finds where ember and torch round apart. Run:

    PYTHONPATH=. python scripts/exact_sweep.py [-k TEXT] [--zeros-equal]

Prints one line per (entry, dtype) that differs: name, dtype, forward and gradient counts.
Entries whose difference is torch's library's own rounding (MKL's BLAS, LAPACK and FFT; its VML
transcendental functions) are expected to stay on the list.
"""
import argparse
import os
import sys
import warnings

import numpy as np
import torch

import ember

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))
from opspecs import ALL_SPECS, materialize  # noqa: E402
from test_ops import _ember_args, _torch_args  # noqa: E402


def _host(x):
    if isinstance(x, (tuple, list)):
        return [_host(v) for v in x]
    if isinstance(x, ember.Tensor):
        return x.detach().numpy()
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x._is_zerotensor():      # (torch's gradient of a constant-valued op)
            return np.zeros(x.shape, str(x.dtype).replace("torch.", ""))
        return x.resolve_conj().numpy()
    return np.asarray(x)


def _differ(a, b, signed_zeros=True):
    """(elements differing, elements) of two results (nested lists of arrays)."""
    if isinstance(a, list):
        counts = [_differ(x, y, signed_zeros) for x, y in zip(a, b)]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return a.size, a.size
    same = a == b
    if a.dtype.kind == "f" and signed_zeros:
        same &= np.signbit(a) == np.signbit(b)
    if a.dtype.kind in "fc":
        same |= np.isnan(a) & np.isnan(b)
    return int((~same).sum()), a.size


def sweep(spec, dtype, signed_zeros=True):
    fwd, grad = [0, 0], [0, 0]
    for i, sample in enumerate(spec.samples):
        items = materialize(sample, dtype, spec.domain, seed=i)
        e_args, t_args = _ember_args(items, "cpu", spec.grad), _torch_args(items, spec.grad)
        e_out, t_out = spec.fn(*e_args), spec.fn(*t_args)
        d = _differ(_host(e_out), _host(t_out), signed_zeros)
        fwd[0] += d[0]
        fwd[1] += d[1]
        if not spec.grad or not getattr(t_out, "requires_grad", False):
            continue
        w = np.random.default_rng(100 + i).standard_normal(tuple(t_out.shape)).astype(dtype)
        (e_out * ember.tensor(w)).sum().backward()
        (t_out * torch.from_numpy(w)).sum().backward()
        for e, t in zip(e_args, t_args):
            if isinstance(t, torch.Tensor) and t.grad is not None and e.grad is not None:
                d = _differ(_host(e.grad), _host(t.grad), signed_zeros)
                grad[0] += d[0]
                grad[1] += d[1]
    return fwd, grad


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only entries whose name contains this")
    parser.add_argument("--zeros-equal", action="store_true", help="-0.0 and 0.0 agree")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = 0
    for spec in ALL_SPECS:
        if args.k not in spec.name:
            continue
        for dtype in ("float32", "float64"):
            if dtype not in spec.dtypes:
                continue
            try:
                (fd, fn), (gd, gn) = sweep(spec, dtype, not args.zeros_equal)
            except Exception as e:      # a sample torch or ember refuses: reported, not counted
                print(f"{spec.name:32s} {dtype:8s} error: {type(e).__name__}: {e}"[:120])
                continue
            if fd or gd:
                rows += 1
                print(f"{spec.name:32s} {dtype:8s} forward {fd}/{fn}  grad {gd}/{gn}")
    print(f"{rows} (entry, dtype) pairs differ from torch in some bit")


if __name__ == "__main__":
    main()
