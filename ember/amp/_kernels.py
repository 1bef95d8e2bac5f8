"""GradScaler's kernels as torch exposes them: torch._amp_foreach_non_finite_check_and_unscale_
and torch._amp_update_scale_ (aten's CPU kernels: the scale is float32, the factors doubles)."""
import numpy as np

from ..autograd.grad_mode import no_grad


def _one_float(t, name):
    if t.numel() != 1:
        raise RuntimeError(f"{name} must be a 1-element tensor.")
    if t.arr.dtype != np.float32:
        raise RuntimeError(f"{name} must be a float tensor.")


def _amp_foreach_non_finite_check_and_unscale_(self, found_inf, inv_scale):
    """Multiplies each tensor of `self` in place by inv_scale and sets found_inf to 1.0 when any
    holds an inf or a NaN."""
    _one_float(inv_scale, "inv_scale")
    _one_float(found_inf, "found_inf")
    inv = inv_scale.reshape(())
    with no_grad():
        for t in self:
            if not t.is_floating_point():
                raise RuntimeError("_amp_foreach_non_finite_check_and_unscale_: all tensors must "
                                   "be floating point")
            if not np.isfinite(t.arr).all():
                found_inf.fill_(1.0)
            t.mul_(inv)


def _amp_update_scale_(self, growth_tracker, found_inf, scale_growth_factor,
                       scale_backoff_factor, growth_interval):
    """Backs the scale off (and zeroes the tracker) after an inf; otherwise counts a successful
    step and grows the scale every growth_interval of them, if the grown scale is finite."""
    _one_float(self, "current_scale")
    if growth_tracker.numel() != 1 or growth_tracker.arr.dtype != np.int32:
        raise RuntimeError("growth_tracker must be a 1-element int tensor.")
    _one_float(found_inf, "found_inf")
    scale, tracker = self.arr.reshape(-1), growth_tracker.arr.reshape(-1)
    scale[0], tracker[0] = update_scale(float(scale[0]), int(tracker[0]), bool(found_inf.arr.any()),
                                        scale_growth_factor, scale_backoff_factor, growth_interval)
    return self


def update_scale(scale, tracker, found_inf, growth_factor, backoff_factor, growth_interval):
    """(new float32 scale, new tracker): the float32 scale times a double factor, rounded."""
    if found_inf:
        return np.float32(scale * backoff_factor), 0
    successful = tracker + 1
    if successful == growth_interval:
        grown = np.float32(scale * growth_factor)
        return (grown if np.isfinite(grown) else np.float32(scale)), 0
    return np.float32(scale), successful
