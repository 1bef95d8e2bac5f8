"""Shared timing helpers: medians of repeated runs, ember and torch in the same process."""
import statistics
import time


def median_time(fn, repeat=7, number=None, min_time=0.05):
    """Median seconds per call of fn() over `repeat` rounds of `number` calls."""
    fn()
    if number is None:
        number, t = 1, 0.0
        while t < min_time:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            t = time.perf_counter() - t0
            if t < min_time:
                number *= 2
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def have_torch():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def row(name, ember_s, torch_s, unit="us", scale=1e6, higher_is_better=False):
    """One table row; ratio > 1 means ember is faster."""
    if torch_s is None:
        return f"{name:<44} {ember_s * scale:>10.2f} {unit:<4} {'-':>10}      {'-':>7}"
    ratio = torch_s / ember_s if not higher_is_better else ember_s / torch_s
    return (f"{name:<44} {ember_s * scale:>10.2f} {unit:<4} {torch_s * scale:>10.2f} {unit:<4} "
            f"{ratio:>6.2f}x")


HEADER = f"{'benchmark':<44} {'ember':>15} {'torch':>15} {'speed vs torch':>14}"
