import math
from numbers import Number

from .._tensor import Size
from . import constraints
from .distribution import Distribution
from .utils import _ember, _size, broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """GeneralizedPareto(loc, scale, concentration xi): survival (1 + xi z)^(-1/xi) with
    z = (x - loc) / scale (exp(-z) at xi = 0); bounded above by loc - scale / xi when xi < 0."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive,
                       "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        batch_shape = Size() if all(isinstance(v, Number) for v in
                                    (loc, scale, concentration)) else self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(GeneralizedPareto, _instance)
        batch_shape = _size(batch_shape)
        for name in ("loc", "scale", "concentration"):
            setattr(new, name, getattr(self, name).expand(batch_shape))
        super(GeneralizedPareto, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _safe_concentration(self, zero=None):
        """(concentration == 0, the concentration with 1 where it is 0).  `zero`: what torch
        compares with; log_prob and log_survival_function use tensor(0.0), in the default dtype,
        so that a float64 concentration raises isclose's dtype error there, as in torch."""
        c = self.concentration
        eq_zero = _ember().isclose(c, _ember().zeros_like(c) if zero is None else zero)
        return eq_zero, _ember().where(eq_zero, _ember().ones_like(c), c)

    def rsample(self, sample_shape=Size()):
        return self.icdf(_ember().rand(self._extended_shape(sample_shape), dtype=self.loc.dtype,
                                       device=self.loc.device))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration(_ember().tensor(0.0))
        y = 1 / safe_conc + _ember().ones_like(z)
        where_nonzero = _ember().where(y == 0, y, y * (safe_conc * z).log1p())
        return -self.scale.log() - _ember().where(eq_zero, z, where_nonzero)

    def log_survival_function(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration(_ember().tensor(0.0))
        return _ember().where(eq_zero, -z, -(safe_conc * z).log1p() / safe_conc)

    def log_cdf(self, value):
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value):
        return self.log_cdf(value).exp()

    def icdf(self, value):
        eq_zero, safe_conc = self._safe_concentration()
        logu = (-value).log1p()
        where_nonzero = self.loc + self.scale / safe_conc * (-safe_conc * logu).expm1()
        return _ember().where(eq_zero, self.loc - self.scale * logu, where_nonzero)

    def _z(self, x):
        return (x - self.loc) / self.scale

    @property
    def mean(self):
        valid = self.concentration < 1
        safe_conc = _ember().where(valid, self.concentration, 0.5)
        return _ember().where(valid, self.loc + self.scale / (1 - safe_conc), math.nan)

    @property
    def variance(self):
        valid = self.concentration < 0.5
        safe_conc = _ember().where(valid, self.concentration, 0.25)
        result = self.scale ** 2 / ((1 - safe_conc) ** 2 * (1 - 2 * safe_conc))
        return _ember().where(valid, result, math.nan)

    def entropy(self):
        return _ember().broadcast_to(self.scale.log() + self.concentration + 1,
                                     self._batch_shape)

    mode = property(lambda self: self.loc)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        _, safe_conc = self._safe_concentration()
        upper = _ember().where(self.concentration < 0, self.loc - self.scale / safe_conc,
                               math.inf)
        return constraints.interval(self.loc, upper)
