"""ember.distributions (torch.distributions), laid out as torch's package so that its imports
work (`from torch.distributions.normal import Normal`, `torch.distributions.transforms`, ...).

Here: Distribution; Normal, Uniform, Bernoulli, Categorical, OneHotCategorical(StraightThrough),
Exponential, Laplace, Cauchy, HalfCauchy, Gumbel, LogNormal, HalfNormal, StudentT, Gamma, Chi2,
Beta, Dirichlet, Poisson, Binomial, Geometric, Multinomial, MultivariateNormal, Weibull, Pareto,
VonMises, RelaxedBernoulli, RelaxedOneHotCategorical (and their logit / log-space bases),
Independent, MixtureSameFamily and TransformedDistribution; `constraints` (with `support` and
`arg_constraints` on every distribution, checked when validation is on, as by default in torch,
with torch's messages); `transforms` (Exp, Affine, Sigmoid, Softplus, Tanh, Abs, Power, Softmax,
StickBreaking, LowerCholesky, PositiveDefinite, Reshape, Independent, Compose,
CumulativeDistribution and their inverses); kl_divergence with torch's dispatch and its formulas
for the common pairs; `utils` (broadcast_all, probs/logits conversions, lazy_property).

Formulas are torch's and written with ember ops, so log_prob, entropy, cdf, moments and rsample
are differentiable on any device. Samples come from ember's random streams: the same
distributions, not the same numbers as torch. Gamma, Chi2, StudentT, Beta and Dirichlet rsample
use implicit reparameterisation gradients with torch's approximations (see `_implicit`).

Not here yet: ExponentialFamily (and its Bregman-divergence entropy / KL fallback),
LowRankMultivariateNormal, Wishart, LKJCholesky, ContinuousBernoulli, FisherSnedecor,
InverseGamma, Kumaraswamy, GeneralizedPareto, NegativeBinomial, LogisticNormal, the
CorrCholesky / Cat / Stack transforms, constraint_registry (biject_to / transform_to) and most
KL pairs between different families."""
from . import constraints, kl, transforms, utils  # noqa: F401  (submodules, as torch)
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .cauchy import Cauchy
from .chi2 import Chi2
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .gumbel import Gumbel
from .half_cauchy import HalfCauchy
from .half_normal import HalfNormal
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import LogNormal
from .mixture_same_family import MixtureSameFamily
from .multinomial import Multinomial
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .pareto import Pareto
from .poisson import Poisson
from .relaxed_bernoulli import RelaxedBernoulli
from .relaxed_categorical import RelaxedOneHotCategorical
from .studentT import StudentT
from .transformed_distribution import TransformedDistribution
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all
from .uniform import Uniform
from .von_mises import VonMises
from .weibull import Weibull

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "Dirichlet",
           "Distribution", "Exponential", "Gamma", "Geometric",
           "Gumbel", "HalfCauchy", "HalfNormal", "Independent", "Laplace", "LogNormal",
           "MixtureSameFamily", "Multinomial", "MultivariateNormal",
           "Normal", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Pareto",
           "Poisson", "RelaxedBernoulli", "RelaxedOneHotCategorical", "StudentT",
           "TransformedDistribution", "Uniform", "VonMises", "Weibull", "kl_divergence",
           "register_kl"] + _transforms_all
