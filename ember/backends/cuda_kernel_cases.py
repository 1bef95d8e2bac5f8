"""The fused CUDA kernels' call cases: (op name, args of its raw forward) for each fused op,
shared by the layout test (tests/test_cuda_kernels.py, small sizes) and the CPU emulation of the
kernel sources (scripts/check_cuda_kernels.py --emulate, `big` sizes that cross block and
warp boundaries). Only NumPy; nothing here runs at `import ember`."""
import numpy as np


def fused_cases(dt, rng, dropout_seed, big=False):
    """Cases in dtype `dt` from the generator `rng`; dropout's last argument is `dropout_seed`
    (a seed or a generator, as the caller's runner takes it)."""
    def f(*shape):
        return rng.uniform(-3, 3, shape).astype(dt)

    def labels(n, classes, ignore=None):
        t = rng.integers(0, classes, n)
        if ignore is not None:
            t[::4] = ignore
        return t

    masked = f(5, 40) if big else f(6, 4)
    masked[1] = -np.inf
    masked[3, :7 if big else 3] = -np.inf
    cases = [("softmax", (f(4, 7), 1)), ("softmax", (f(2, 5, 3), 1)),
             ("softmax", (masked, 1 if big else 0, True)), ("softmax", (f(3), 0)),
             ("log_softmax", (f(4, 300 if big else 7), 1)), ("log_softmax", (f(5, 2, 3), 0)),
             ("gelu", (f(3, 4), "none")), ("gelu", (f(3, 4), "tanh")),
             ("sigmoid", (f(50 if big else 5),)), ("tanh", (f(2, 3),)),
             ("dropout", (f(40 if big else 4, 6), 0.25, (40 if big else 4, 6), dropout_seed)),
             ("dropout", (f(4, 3, 2), 0.5, (4, 3, 1), dropout_seed)),
             ("scaled_causal_softmax", (f(2, 5, 9) if big else f(2, 3, 5), 0.4)),
             ("scaled_causal_softmax", (f(3, 8, 300) if big else f(2, 6, 4), 1.3)),
             ("scaled_causal_softmax", (f(2, 7, 3), 0.7))]
    if big:
        cases += [("softmax", (f(3, 1000), 1)), ("softmax", (f(37, 4), 0))]
    for shape, k in (((3, 4, 70 if big else 6), 1), ((3, 4, 6), 2), ((100 if big else 40, 5), 1)):
        axes = tuple(range(len(shape) - k, len(shape)))
        wshape = (1,) * (len(shape) - k) + shape[len(shape) - k:]
        for affine in ((True, True), (True, False), (False, True), (False, False)):
            w, b = (f(*shape[len(shape) - k:]) if a else None for a in affine)
            cases.append(("native_layer_norm", (f(*shape), w, b, None, axes, wshape, 1e-5,
                                                None, False)))
    t = labels(9, 6, ignore=2)
    for weight in (None, np.abs(f(6))):
        for reduction in ("none", "mean", "sum"):
            for smoothing in (0.0, 0.1):
                cases.append(("cross_entropy", (f(9, 6), t, weight, reduction, 2, smoothing)))
    if big:      # many classes: the row loop
        cases.append(("cross_entropy", (f(4, 3000), labels(4, 3000), None, "mean", -100, 0.0)))
    else:        # (N, C, d): the generic path (not fused) must keep its layout
        cases.append(("cross_entropy", (f(3, 6, 2), labels(6, 6).reshape(3, 2), None, "mean",
                                        -100, 0.0)))
    return cases
