"""Before/after equivalence check of the small-tensor reduction paths: random cases of sum, mean,
var/std, softmax/log_softmax, sort, topk, argsort and cat (dtypes, shapes with empty and size-1
dims, dims, keepdim, non-contiguous inputs), each result recorded as dtype, shape, strides and
bytes (or the exception's class and message), and forward+backward where the dtype has grads.

    python scripts/check_reduce_equiv.py record OUT.pkl   # with the old ember on PYTHONPATH
    python scripts/check_reduce_equiv.py compare OUT.pkl  # with the new one: counts differences
"""
import pickle
import sys
import warnings

import numpy as np

import ember

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "bool", "complex64"]


def _shape(rng):
    nd = int(rng.integers(0, 5))
    sizes = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 100]
    shape = []
    for _ in range(nd):
        shape.append(int(rng.choice(sizes)))
    while np.prod(shape, dtype=np.int64) > 20000:
        shape = [max(1, s // 2) for s in shape]
    return tuple(shape)


def _input(rng, dtype, shape):
    """A tensor of `shape`, contiguous or one of a transposed / sliced / expanded layout."""
    kind = int(rng.integers(0, 5))
    base_shape = shape
    if kind == 1 and len(shape) >= 2:           # a transpose of a contiguous tensor
        base_shape = shape[::-1]
    elif kind == 2 and shape:                   # every other row of the first dim
        base_shape = (shape[0] * 2,) + shape[1:]
    elif kind == 3 and shape:                   # a size-1 dim expanded
        base_shape = (1,) + shape[1:]
    a = rng.standard_normal(base_shape) * 3
    if rng.integers(0, 4) == 0:                 # ties and signed zeros
        a = np.round(a)
    if dtype == "bool":
        a = a > 0
    elif dtype in ("int64", "int32"):
        a = np.round(a * 10)
    elif dtype == "complex64":
        a = a + 1j * rng.standard_normal(base_shape)
    t = ember.tensor(a).to(getattr(ember, dtype))
    if kind == 1 and len(shape) >= 2:
        t = t.permute(*range(len(shape) - 1, -1, -1))
    elif kind == 2 and shape:
        t = t[::2]
    elif kind == 3 and shape:
        t = t.expand(shape)
    return t


def _record(r):
    if isinstance(r, tuple):
        return tuple(_record(v) for v in r)
    if isinstance(r, ember.Tensor):
        a = r.detach().arr
        return (str(r.dtype), tuple(r.shape), tuple(r.stride()),
                np.ascontiguousarray(a).tobytes())
    return repr(r)


def _call(f):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _record(f())
    except Exception as e:      # noqa: BLE001 - the exception is the result
        return ("raised", type(e).__name__, str(e))


def _cases(seed, count):
    rng = np.random.default_rng(seed)
    for i in range(count):
        dtype = DTYPES[int(rng.integers(0, len(DTYPES)))] if rng.integers(0, 3) else "float32"
        shape = _shape(rng)
        x = _input(rng, dtype, shape)
        nd = len(shape)
        dim = int(rng.integers(-nd, nd)) if nd else int(rng.integers(-1, 1))
        keep = bool(rng.integers(0, 2))
        grad = dtype in ("float32", "float64") and rng.integers(0, 3) == 0
        op = int(rng.integers(0, 13))
        if op == 0:
            yield i, "sum()", x, lambda t: t.sum()
        elif op == 1:
            yield i, f"sum({dim}, {keep})", x, lambda t: t.sum(dim, keepdim=keep)
        elif op == 2:
            dims = tuple(sorted({int(d) for d in rng.integers(0, max(nd, 1), 2)})) if nd else ()
            yield i, f"sum({dims}, {keep})", x, lambda t: t.sum(dims, keepdim=keep)
        elif op == 3:
            yield i, "mean()", x, lambda t: t.mean()
        elif op == 4:
            yield i, f"mean({dim}, {keep})", x, lambda t: t.mean(dim, keepdim=keep)
        elif op == 5:
            c = int(rng.integers(0, 3))
            yield i, f"std({dim}, {c}, {keep})", x, lambda t: t.std(dim, correction=c,
                                                                    keepdim=keep)
        elif op == 6:
            c = int(rng.integers(0, 3))
            yield i, f"var({dim}, {c}, {keep})", x, lambda t: t.var(dim, correction=c,
                                                                    keepdim=keep)
        elif op == 7:
            yield i, f"softmax({dim})", x, lambda t: t.softmax(dim)
        elif op == 8:
            yield i, f"log_softmax({dim})", x, lambda t: t.log_softmax(dim)
        elif op == 9:
            desc, stable = bool(rng.integers(0, 2)), bool(rng.integers(0, 2))
            yield i, f"sort({dim}, {desc}, {stable})", x, \
                lambda t: tuple(t.sort(dim=dim, descending=desc, stable=stable))
        elif op == 10:
            n = shape[dim] if nd else 1
            k = int(rng.integers(0, n + 1))
            largest, srt = bool(rng.integers(0, 2)), bool(rng.integers(0, 4))
            yield i, f"topk({k}, {dim}, {largest}, {srt})", x, \
                lambda t: tuple(t.topk(k, dim, largest, srt))
        elif op == 11:
            yield i, f"argsort({dim})", x, lambda t: t.argsort(dim)
        else:
            yield i, f"cat({dim})", x, lambda t: ember.cat([t, t * 2], dim)
        if grad and op in (0, 1, 2, 3, 4, 5, 6, 7, 8):
            yield i, "grad", x, None


def run(seed=0, count=20000):
    out = {}
    last = None
    for i, name, x, f in _cases(seed, count):
        if f is None:           # forward + backward of the previous op with a fixed gradient
            if last is None:
                continue
            xg = x.detach().clone().requires_grad_(True)

            def fb(f=last):
                y = f(xg)
                y = y[0] if isinstance(y, tuple) else y
                g = ember.linspace(-1, 2, y.numel()).reshape(y.shape).to(y.dtype)
                y.backward(g)
                return xg.grad
            out[(i, "grad")] = _call(fb)
            continue
        last = f
        out[(i, name, str(x.dtype), tuple(x.shape), tuple(x.stride()))] = _call(lambda: f(x))
    return out


def main():
    mode, path = sys.argv[1], sys.argv[2]
    seeds = [int(s) for s in sys.argv[3:]] or [0]
    res = {}
    for s in seeds:
        res.update({(s,) + k: v for k, v in run(s).items()})
    if mode == "record":
        with open(path, "wb") as f:
            pickle.dump(res, f)
        print(f"recorded {len(res)} cases")
        return
    with open(path, "rb") as f:
        old = pickle.load(f)
    assert old.keys() == res.keys(), "case lists differ"
    bad = [k for k in old if old[k] != res[k]]
    for k in bad[:20]:
        print("DIFF", k, "\n  old:", str(old[k])[:300], "\n  new:", str(res[k])[:300])
    print(f"{len(old)} cases, {len(bad)} differ")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
