"""ember.distributions (torch.distributions), laid out as torch's package so that its imports
work (`from torch.distributions.normal import Normal`, `torch.distributions.transforms`, ...).

All of torch's: Distribution and ExponentialFamily (Bregman-divergence entropy and KL between
members of one family); Normal, Uniform, Bernoulli, ContinuousBernoulli, Categorical,
OneHotCategorical(StraightThrough), Exponential, Laplace, Cauchy, HalfCauchy, Gumbel, LogNormal,
HalfNormal, StudentT, Gamma, InverseGamma, Chi2, FisherSnedecor, Beta, Kumaraswamy, Dirichlet,
Poisson, Binomial, NegativeBinomial, Geometric, Multinomial, MultivariateNormal,
LowRankMultivariateNormal, Wishart, LKJCholesky, Weibull, Pareto, GeneralizedPareto, VonMises,
LogisticNormal, RelaxedBernoulli, RelaxedOneHotCategorical (and their logit / log-space bases),
Independent, MixtureSameFamily and TransformedDistribution; `constraints` (with `support` and
`arg_constraints` on every distribution, checked when validation is on, as by default in torch,
with torch's messages); `transforms` (Exp, Affine, Sigmoid, Softplus, Tanh, Abs, Power, Softmax,
StickBreaking, LowerCholesky, PositiveDefinite, CorrCholesky, Reshape, Independent, Compose, Cat,
Stack, CumulativeDistribution and their inverses); `constraint_registry` (biject_to /
transform_to for every constraint torch registers); kl_divergence with torch's dispatch and all
its registered pairs; `utils` (broadcast_all, probs/logits conversions, tril_matrix_to_vec,
lazy_property).

Formulas are torch's and written with ember ops, so log_prob, entropy, cdf, moments and rsample
are differentiable on any device. Samples come from ember's random streams: the same
distributions, not the same numbers as torch. Gamma, Chi2, StudentT, Beta, Dirichlet and
FisherSnedecor rsample use implicit reparameterisation gradients with torch's approximations
(see `_implicit`). Wishart warns "Singular sample detected." only when a sample is singular
(torch 2.13 warns on every rsample)."""
from . import constraint_registry, constraints, kl, transforms, utils  # noqa: F401
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .cauchy import Cauchy
from .chi2 import Chi2
from .constraint_registry import biject_to, transform_to
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .fishersnedecor import FisherSnedecor
from .gamma import Gamma
from .generalized_pareto import GeneralizedPareto
from .geometric import Geometric
from .gumbel import Gumbel
from .half_cauchy import HalfCauchy
from .half_normal import HalfNormal
from .independent import Independent
from .inverse_gamma import InverseGamma
from .kl import kl_divergence, register_kl
from .kumaraswamy import Kumaraswamy
from .laplace import Laplace
from .lkj_cholesky import LKJCholesky
from .log_normal import LogNormal
from .logistic_normal import LogisticNormal
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture_same_family import MixtureSameFamily
from .multinomial import Multinomial
from .multivariate_normal import MultivariateNormal
from .negative_binomial import NegativeBinomial
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
from .wishart import Wishart

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2",
           "ContinuousBernoulli", "Dirichlet", "Distribution", "Exponential",
           "ExponentialFamily", "FisherSnedecor", "Gamma", "GeneralizedPareto", "Geometric",
           "Gumbel", "HalfCauchy", "HalfNormal", "Independent", "InverseGamma", "Kumaraswamy",
           "LKJCholesky", "Laplace", "LogNormal", "LogisticNormal",
           "LowRankMultivariateNormal", "MixtureSameFamily", "Multinomial",
           "MultivariateNormal", "NegativeBinomial", "Normal", "OneHotCategorical",
           "OneHotCategoricalStraightThrough", "Pareto", "Poisson", "RelaxedBernoulli",
           "RelaxedOneHotCategorical", "StudentT", "TransformedDistribution", "Uniform",
           "VonMises", "Weibull", "Wishart", "biject_to", "kl_divergence", "register_kl",
           "transform_to"] + _transforms_all
