"""torch.distributions.Distribution: shapes, argument and sample validation, expand, repr."""
import sys
import warnings

from .._tensor import Size, Tensor
from ..autograd.grad_mode import no_grad
from . import constraints
from .utils import _size, lazy_property

__all__ = ["Distribution"]


def is_all_true(t):
    """torch._is_all_true(t)'s test of the arguments: under vmap that of a batched `t` is no
    data-dependent control flow (ember/func/_batching.py, loaded once a vmap has run)."""
    batching = sys.modules.get("ember.func._batching")
    return bool(t.all()) if batching is None else batching.is_all_true(t)


def _torch_class(cls):
    """str(cls) as torch prints it: <class 'torch.distributions.x.X'> for ember's own classes."""
    module = cls.__module__
    return f"<class '{'torch' + module[5:] if module.startswith('ember.') else module}." \
           f"{cls.__qualname__}'>"


class Distribution:
    """The base class. Subclasses set `arg_constraints` (parameter name -> Constraint) and
    `support`; validation (on by default, as in torch) checks them in `__init__` and in
    `_validate_sample`."""
    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value):
        if value not in [True, False]:
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=Size(), event_shape=Size(), validate_args=None):
        self._batch_shape, self._event_shape = _size(batch_shape), _size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if not self._validate_args:
            return
        try:
            arg_constraints = self.arg_constraints
        except NotImplementedError:
            arg_constraints = {}
            warnings.warn(f"{self.__class__} does not define `arg_constraints`. Please set "
                          "`arg_constraints = {}` or initialize the distribution with "
                          "`validate_args=False` to turn off validation.", stacklevel=2)
        for name, constraint in arg_constraints.items():
            if constraints.is_dependent(constraint):
                continue
            if name not in self.__dict__ and isinstance(getattr(type(self), name, None),
                                                        lazy_property):
                continue                      # not given: derived from another parameter
            value = getattr(self, name)
            if not is_all_true(constraint.check(value)):
                raise ValueError(
                    f"Expected parameter {name} ({type(value).__name__} of shape "
                    f"{tuple(value.shape)}) of distribution {self!r} to satisfy the "
                    f"constraint {constraint!r}, but found invalid values:\n{value}")

    @property
    def arg_constraints(self):
        """Parameter name -> Constraint; as in torch, a subclass must define it."""
        raise NotImplementedError

    @property
    def support(self):
        raise NotImplementedError

    batch_shape = property(lambda self: self._batch_shape)
    event_shape = property(lambda self: self._event_shape)

    def expand(self, batch_shape, _instance=None):
        """A copy with batch dims expanded to `batch_shape` (views of the parameters: each
        parameter in `arg_constraints` keeps its own event dims). Distributions holding other
        batch-shaped state override this."""
        new = self.__new__(type(self)) if _instance is None else _instance
        batch_shape = _size(batch_shape)
        new.__dict__.update(self.__dict__)
        for name, constraint in self.arg_constraints.items():
            p = self.__dict__.get(name)
            if isinstance(p, Tensor):
                n = constraint.event_dim
                new.__dict__[name] = p.expand(batch_shape + (p.shape[p.dim() - n:] if n else ()))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _get_checked_instance(self, cls, _instance=None):
        """The blank instance an `expand` fills (torch's helper for subclasses)."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                "__init__ method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    @property
    def mean(self):
        raise NotImplementedError

    @property
    def mode(self):
        raise NotImplementedError(f"{_torch_class(type(self))} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=Size()):
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=Size()):
        raise NotImplementedError

    def sample_n(self, n):
        """sample((n,)), with torch's FutureWarning."""
        warnings.warn("`sample_n(n)` will be deprecated. Use `sample((n,))` instead.",
                      FutureWarning, stacklevel=2)
        return self.sample(Size((n,)))

    def log_prob(self, value):
        raise NotImplementedError

    def cdf(self, value):
        raise NotImplementedError

    def icdf(self, value):
        raise NotImplementedError

    def enumerate_support(self, expand=True):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def perplexity(self):
        return self.entropy().exp()

    def _extended_shape(self, sample_shape=Size()):
        return Size(tuple(sample_shape) + self._batch_shape + self._event_shape)

    def _validate_sample(self, value):
        """A value to score must be a Tensor whose right-most dims match the event shape,
        broadcastable with batch_shape + event_shape and inside the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        start = value.dim() - len(self._event_shape)
        if value.size()[start:] != self._event_shape:
            raise ValueError(f"The right-most size of value must match event_shape: "
                             f"{value.size()} vs {self._event_shape}.")
        actual, expected = value.size(), self._batch_shape + self._event_shape
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{actual} vs {expected}.")
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(f"{self.__class__} does not define `support` to enable sample "
                          "validation. Please initialize the distribution with "
                          "`validate_args=False` to turn off validation.", stacklevel=2)
            return
        if not is_all_true(support.check(value)):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape "
                f"{tuple(value.shape)}) to be within the support ({support!r}) of the "
                f"distribution {self!r}, but found invalid values:\n{value}")

    def __repr__(self):
        args = ", ".join(f"{p}: {v if v.numel() == 1 else v.size()}"
                         for p, v in ((p, self.__dict__[p]) for p in self.arg_constraints
                                      if p in self.__dict__))
        return f"{type(self).__name__}({args})"
