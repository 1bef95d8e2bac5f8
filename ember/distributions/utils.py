"""torch.distributions.utils: broadcast_all, probs/logits conversions, lazy_property."""
from numbers import Number

from .._tensor import Size, Tensor

__all__ = ["broadcast_all", "logits_to_probs", "clamp_probs", "probs_to_logits",
           "lazy_property", "tril_matrix_to_vec", "vec_to_tril_matrix", "euler_constant"]

euler_constant = 0.57721566490153286060


def _ember():
    import ember
    return ember


def broadcast_all(*values):
    """Numbers become tensors (of the first tensor's dtype and device, else the default dtype);
    then all broadcast to one shape."""
    if not all(isinstance(v, (Tensor, Number)) for v in values):
        raise ValueError("Input arguments must all be instances of Number, torch.Tensor or "
                         "objects implementing __torch_function__.")
    like = next((v for v in values if isinstance(v, Tensor)), None)
    opts = dict(dtype=like.dtype, device=like.device) if like is not None else \
        dict(dtype=_ember().get_default_dtype())
    return _ember().broadcast_tensors(*[v if isinstance(v, Tensor) else
                                        _ember().tensor(v, **opts) for v in values])


def _standard_normal(shape, dtype, device):
    return _ember().empty(shape, dtype=dtype, device=device).normal_()


def _sum_rightmost(value, dim):
    """Sum out the last `dim` dims."""
    return value.reshape(tuple(value.shape[:-dim]) + (-1,)).sum(-1) if dim else value


def logits_to_probs(logits, is_binary=False):
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def clamp_probs(probs):
    eps = _ember().finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    ps = clamp_probs(probs)
    return ps.log() - (-ps).log1p() if is_binary else ps.log()


class lazy_property:
    """A property computed on first use (under grad mode) and then stored on the instance, so
    that it shows in `__dict__` (a distribution's repr and expand look there)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__, self.__name__ = wrapped.__doc__, wrapped.__name__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with _ember().enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class BinaryProbsLogits:
    """The probs / logits pair of a distribution over one success probability: whichever was
    not given is computed from the other on first use."""

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)


def _tril_mask(n, diag, device):
    arange = _ember().arange(n, device=device)
    return arange < arange.view(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat, diag=0):
    """The lower-triangular entries (below diagonal `diag`) of a batch of D x D matrices, in
    row order."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    return mat[..., _tril_mask(n, diag, mat.device)]


def vec_to_tril_matrix(vec, diag=0):
    """The inverse of tril_matrix_to_vec: D x D lower-triangular matrices, zero elsewhere."""
    # the positive root of D**2 + (1+2*diag)*D - |diag| * (diag+1) - 2*vec.shape[-1] = 0
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] +
                            4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if round(n) - n > _ember().finfo(vec.dtype).eps:
        raise ValueError(f"The size of last dimension is {vec.shape[-1]} which cannot be "
                         "expressed as the lower triangular part of a square D x D matrix.")
    n = round(n)
    mat = vec.new_zeros(tuple(vec.shape[:-1]) + (n, n))
    mat[..., _tril_mask(n, diag, vec.device)] = vec
    return mat


def _size(shape):
    return shape if isinstance(shape, Size) else Size(tuple(shape))


def _set_probs_or_logits(dist, probs, logits, broadcast=True):
    """Store exactly one of probs / logits on `dist` (the other is a lazy_property derived on
    use); returns the stored tensor."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    name, value = ("probs", probs) if probs is not None else ("logits", logits)
    if broadcast:
        (value,) = broadcast_all(value)
    setattr(dist, name, value)
    dist._given = name
    return value
