"""ember.distributions (torch.distributions): Normal, Uniform, Bernoulli, Categorical,
Exponential, Laplace and Independent with torch's formulas, argument and support validation (on by default, as in torch), sample/rsample
(ember's random streams: the same distributions, not the same numbers as torch), log_prob,
cdf/icdf, entropy, mean/mode/variance/stddev, and kl_divergence between two of a kind.
torch's other distributions, transforms and constraints objects are not here yet."""
import math

from . import _dtype as _dt
from ._tensor import Size, Tensor
from .autograd.grad_mode import no_grad
from .ops import creation as _C, shape as _S

__all__ = ["Distribution", "Normal", "Uniform", "Bernoulli", "Categorical", "Exponential",
           "Laplace", "Independent", "kl_divergence", "register_kl"]

_VALIDATE = [True]


def _ember():
    import ember
    return ember


def _broadcast_all(*values):
    """torch.distributions.utils.broadcast_all: numbers become tensors of the default dtype
    (or of the tensors' dtype), then all broadcast to one shape."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    dtype = like.dtype if like is not None else _dt.get_default_dtype()
    device = like.device if like is not None else None
    ts = [v if isinstance(v, Tensor) else _C.tensor(float(v), dtype=dtype, device=device)
          for v in values]
    return _S.broadcast_tensors(*ts)


class Distribution:
    """The base class: shapes, validation, sample() through rsample() without gradients."""
    has_rsample = False
    arg_constraints = {}

    @staticmethod
    def set_default_validate_args(value):
        _VALIDATE[0] = bool(value)

    def __init__(self, batch_shape=Size(), event_shape=Size(), validate_args=None):
        self._batch_shape, self._event_shape = Size(batch_shape), Size(event_shape)
        self._validate_args = _VALIDATE[0] if validate_args is None else validate_args
        if self._validate_args:
            for name, (check, text) in self._constraints().items():
                value = getattr(self, name)
                if not bool(check(value).all()):
                    raise ValueError(
                        f"Expected parameter {name} (Tensor of shape {tuple(value.shape)}) of "
                        f"distribution {self!r} to satisfy the constraint {text}, but found "
                        f"invalid values:\n{value}")

    def _constraints(self):
        return {}

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=Size()):
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def sample(self, sample_shape=Size()):
        with no_grad():
            return self.rsample(sample_shape)

    @property
    def stddev(self):
        return self.variance.sqrt()

    def _validate_sample(self, value, check, text):
        if not self._validate_args:
            return
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        if not bool(check(value).all()):
            raise ValueError(
                f"Expected value argument (Tensor of shape {tuple(value.shape)}) to be within "
                f"the support ({text}) of the distribution {self!r}, but found invalid "
                f"values:\n{value}")

    def _params(self):
        return []

    def __repr__(self):
        args = ", ".join(f"{p}: {getattr(self, p) if getattr(self, p).numel() == 1 else getattr(self, p).size()}"  # noqa: E501
                         for p in self._params())
        return f"{type(self).__name__}({args})"


class _LocScale(Distribution):
    """Normal and Laplace: a location, a positive scale, reparameterised samples."""
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def _params(self):
        return ["loc", "scale"]

    def _constraints(self):
        return {"scale": (lambda v: v > 0, "GreaterThan(lower_bound=0.0)")}

    mean = mode = property(lambda self: self.loc)

    def _check_real(self, value):
        self._validate_sample(value, lambda v: v == v, "Real()")


class Normal(_LocScale):
    stddev = property(lambda self: self.scale)
    variance = property(lambda self: self.scale.pow(2))

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        eps = _ember().randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        self._check_real(value)
        var = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - \
            math.log(math.sqrt(2 * math.pi))

    def cdf(self, value):
        self._check_real(value)
        return 0.5 * (1 + _ember().erf((value - self.loc) * self.scale.reciprocal() /
                                       math.sqrt(2)))

    def icdf(self, value):
        return self.loc + self.scale * _ember().erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()


class Uniform(Distribution):
    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = _broadcast_all(low, high)
        super().__init__(self.low.shape, validate_args=validate_args)

    def _params(self):
        return ["low", "high"]

    def _constraints(self):
        return {"low": (lambda v: v < self.high, f"LessThan(upper_bound={self.high})")}

    mean = property(lambda self: (self.high + self.low) / 2)
    mode = property(lambda self: self.low * float("nan"))
    variance = property(lambda self: (self.high - self.low).pow(2) / 12)

    def _interval(self):
        return f"Interval(lower_bound={self.low}, upper_bound={self.high})"

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        u = _ember().rand(shape, dtype=self.low.dtype, device=self.low.device)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        self._validate_sample(value, lambda v: (self.low <= v) & (v <= self.high),
                              self._interval())
        lb = self.low.le(value).type_as(self.low)
        ub = self.high.gt(value).type_as(self.low)
        return (lb * ub).log() - (self.high - self.low).log()

    def cdf(self, value):
        self._validate_sample(value, lambda v: (self.low <= v) & (v <= self.high),
                              self._interval())
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return (self.high - self.low).log()


class Exponential(Distribution):
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = _broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    def _params(self):
        return ["rate"]

    def _constraints(self):
        return {"rate": (lambda v: v > 0, "GreaterThan(lower_bound=0.0)")}

    mean = property(lambda self: self.rate.reciprocal())
    stddev = mean
    mode = property(lambda self: _C.zeros_like(self.rate))
    variance = property(lambda self: self.rate.pow(-2))

    def _check(self, value):
        self._validate_sample(value, lambda v: v >= 0, "GreaterThanEq(lower_bound=0.0)")

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        u = _C.empty(shape, dtype=self.rate.dtype, device=self.rate.device).exponential_()
        return u / self.rate

    def log_prob(self, value):
        self._check(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        self._check(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value):
        return -(-value).log1p() / self.rate

    def entropy(self):
        return 1.0 - self.rate.log()


class Laplace(_LocScale):
    variance = property(lambda self: 2 * self.scale.pow(2))
    stddev = property(lambda self: math.sqrt(2) * self.scale)

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        eps = _dt.finfo(self.loc.dtype).eps
        u = _C.empty(shape, dtype=self.loc.dtype, device=self.loc.device).uniform_(eps - 1, 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value):
        self._check_real(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        self._check_real(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * \
            (-(value - self.loc).abs() / self.scale).expm1()

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self):
        return 1 + (2 * self.scale).log()


class Independent(Distribution):
    """Reinterprets the last `reinterpreted_batch_ndims` batch dims of a distribution as event
    dims: log_prob and entropy sum over them."""

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n, shape = reinterpreted_batch_ndims, tuple(base_distribution.batch_shape)
        if n > len(shape):
            raise ValueError(f"Expected reinterpreted_batch_ndims <= len(base_distribution."
                             f"batch_shape), actual {n} vs {len(shape)}")
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, n
        cut = len(shape) - n
        super().__init__(shape[:cut], shape[cut:] + tuple(base_distribution.event_shape),
                         validate_args=validate_args)

    has_rsample = property(lambda self: self.base_dist.has_rsample)
    mean = property(lambda self: self.base_dist.mean)
    mode = property(lambda self: self.base_dist.mode)
    variance = property(lambda self: self.base_dist.variance)

    def sample(self, sample_shape=Size()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=Size()):
        return self.base_dist.rsample(sample_shape)

    def _sum_rightmost(self, t):
        n = self.reinterpreted_batch_ndims
        return t.sum(tuple(range(-n, 0))) if n else t

    def log_prob(self, value):
        return self._sum_rightmost(self.base_dist.log_prob(value))

    def entropy(self):
        return self._sum_rightmost(self.base_dist.entropy())

    def __repr__(self):
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"


def _probs_to_logits(probs, is_binary):
    eps = _dt.finfo(probs.dtype).eps
    ps = probs.clamp(min=eps, max=1 - eps)
    return ps.log() - (-ps).log1p() if is_binary else ps.log()


class _ProbsOrLogits(Distribution):
    """Bernoulli and Categorical: given probs or logits, the other is derived on use."""
    _binary = True

    def _set(self, probs, logits):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        self._given = "probs" if probs is not None else "logits"
        self._probs, self._logits = probs, logits

    def _params(self):
        return [self._given]

    @property
    def probs(self):
        if self._probs is None:
            self._probs = self._logits.sigmoid() if self._binary else self._logits.softmax(-1)
        return self._probs

    @property
    def logits(self):
        if self._logits is None:
            self._logits = _probs_to_logits(self._probs, self._binary)
        return self._logits


class Bernoulli(_ProbsOrLogits):
    def __init__(self, probs=None, logits=None, validate_args=None):
        self._set(probs, logits)
        if probs is not None:
            (self._probs,) = _broadcast_all(probs)
        else:
            (self._logits,) = _broadcast_all(logits)
        super().__init__(getattr(self, self._given).shape, validate_args=validate_args)

    def _constraints(self):
        if self._given == "logits":
            return {}
        return {"probs": (lambda v: (v >= 0) & (v <= 1),
                          "Interval(lower_bound=0.0, upper_bound=1.0)")}

    mean = property(lambda self: self.probs)
    variance = property(lambda self: self.probs * (1 - self.probs))

    @property
    def mode(self):
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return mode.masked_fill(self.probs == 0.5, float("nan"))

    def sample(self, sample_shape=Size()):
        with no_grad():
            return _ember().bernoulli(self.probs.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        self._validate_sample(value, lambda v: (v == 0) | (v == 1), "Boolean()")
        logits, value = _broadcast_all(self.logits, value)
        return -_ember().nn.functional.binary_cross_entropy_with_logits(logits, value,
                                                                        reduction="none")

    def entropy(self):
        return _ember().nn.functional.binary_cross_entropy_with_logits(self.logits, self.probs,
                                                                       reduction="none")


class Categorical(_ProbsOrLogits):
    _binary = False

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._set(probs, logits)
        if probs is not None:
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self._probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self._logits = logits - logits.logsumexp(-1, keepdim=True)
        param = getattr(self, self._given)
        self._num_events = param.shape[-1]
        super().__init__(param.shape[:-1], validate_args=validate_args)

    def _constraints(self):
        if self._given == "logits":
            return {}
        return {"probs": (lambda v: (v >= 0).all(-1) & ((v.sum(-1) - 1).abs() < 1e-6),
                          "Simplex()")}

    mean = property(lambda self: _C.full(self._extended_shape(), float("nan"),
                                         dtype=self.probs.dtype, device=self.probs.device))
    variance = mean
    mode = property(lambda self: self.probs.argmax(-1))

    def sample(self, sample_shape=Size()):
        with no_grad():
            n = math.prod(tuple(sample_shape))
            probs_2d = self.probs.reshape(-1, self._num_events)
            samples = _ember().multinomial(probs_2d, n, True).T
            return samples.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value):
        k = self._num_events - 1
        self._validate_sample(value, lambda v: (v % 1 == 0) & (v >= 0) & (v <= k),
                              f"IntegerInterval(lower_bound=0, upper_bound={k})")
        value = value.long().unsqueeze(-1)
        value, log_pmf = _S.broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=_dt.finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)


# ---- KL divergence ---------------------------------------------------------------------------
_KL = {}


def register_kl(type_p, type_q):
    def deco(fn):
        _KL[type_p, type_q] = fn
        return fn
    return deco


def kl_divergence(p, q):
    fn = _KL.get((type(p), type(q)))
    if fn is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type "
                                  f"{type(p).__name__} and q type {type(q).__name__}")
    return fn(p, q)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return result.masked_fill((q.low > p.low) | (q.high < p.high), float("inf"))


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    sp = _ember().nn.functional.softplus
    t1 = p.probs * (sp(-q.logits) - sp(-p.logits))
    t1 = t1.masked_fill(q.probs == 0, float("inf")).masked_fill(p.probs == 0, 0)
    t2 = (1 - p.probs) * (sp(q.logits) - sp(p.logits))
    t2 = t2.masked_fill(q.probs == 1, float("inf")).masked_fill(p.probs == 1, 0)
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    t = t.masked_fill((q.probs == 0).expand_as(t), float("inf"))
    t = t.masked_fill((p.probs == 0).expand_as(t), 0)
    return t.sum(-1)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    rate_ratio = q.rate / p.rate
    return -rate_ratio.log() + rate_ratio - 1


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    scale_ratio = p.scale / q.scale
    loc_abs_diff = (p.loc - q.loc).abs()
    t3 = scale_ratio * (-loc_abs_diff / p.scale).exp()
    return -scale_ratio.log() + loc_abs_diff / q.scale + t3 - 1


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("KL between Independents with different event dims is not "
                                  "implemented")
    return p._sum_rightmost(kl_divergence(p.base_dist, q.base_dist))
