"""torch.distributions.ExponentialFamily: densities exp(<t(x), theta> - F(theta) + k(x))."""
from .distribution import Distribution
from .utils import _ember

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """A member of an exponential family. Subclasses give `_natural_params` (theta),
    `_log_normalizer(*theta)` (F) and `_mean_carrier_measure` (E[k(x)]); the entropy then
    follows from the Bregman divergence of F (autograd of F at theta), as does the KL between
    two members of the same family (`kl._kl_expfamily_expfamily`)."""

    @property
    def _natural_params(self):
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self):
        """H = F(theta) - <theta, grad F(theta)> - E[k(x)] (differentiable through F only,
        as in torch: theta is taken detached)."""
        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        lg_normal = self._log_normalizer(*nparams)
        gradients = _ember().autograd.grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for p, g in zip(nparams, gradients):
            result = result - (p * g).reshape(self._batch_shape + (-1,)).sum(-1)
        return result
