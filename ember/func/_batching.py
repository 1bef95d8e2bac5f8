"""What torch's batched tensors refuse, for ember's per-sample vmap.

ember's vmap calls the function once per sample (_vmap.py), so nothing in a sample is batched
and what torch's BatchedTensors refuse would run: .item(), data-dependent control flow, boolean
masks, in-place writes of mapped values into unmapped tensors, random ops against the
randomness mode. So during each call of the function a Batching mode (a TorchFunctionMode)
sees every ember function and Tensor method called: it marks the sample's mapped inputs batched
at the call's Level, marks an op's outputs when an input is batched (or when randomness
"different" makes a random op's result batched), and raises torch's errors where torch's
batching rules raise theirs. Global module hooks do the same for modules ember computes with
its own kernels, and torch.func's transforms carry the marks onto what autograd's engine makes.
The dispatchers are in only while a vmap runs (_torch_function.hold): outside vmap nothing pays.
A tensor is taken as unbatched unless marked, so one made where neither sees (by a function
captured before the vmap call, `from torch import relu`; by autograd.grad or backward) counts
as unbatched."""
import threading
import weakref

from .._dtype import bool_
from .._tensor import Tensor
from .._torch_function import DisableTorchFunction, TorchFunctionMode
from ..autograd.grad_mode import TRANSFORMS
from ..utils._pytree import tree_flatten


class _Running(threading.local):
    def __init__(self):
        self.levels = []    # the vmap levels running in this thread, innermost last


RUNNING = _Running()


class Level:
    """One vmap call: its randomness, batch size, place in the transform stack (torch numbers
    its levels from 1 in that stack) and the tensors of the current sample that are batched."""
    __slots__ = ("randomness", "size", "index", "marked")

    def __init__(self, randomness, size):       # (made before its "vmap" is on TRANSFORMS)
        self.randomness, self.size, self.index = randomness, size, len(TRANSFORMS)
        self.marked = {}        # id -> weakref of a batched tensor

    def has(self, t):
        r = self.marked.get(id(t))
        return r is not None and r() is t

    def mark(self, t):
        self.marked[id(t)] = weakref.ref(t)

    def any(self, values):
        """Whether a tensor among `values` (or in lists or tuples among them) is batched."""
        marked = self.marked
        for v in values:
            if isinstance(v, Tensor):
                r = marked.get(id(v))
                if r is not None and r() is v:
                    return True
            elif type(v) in (list, tuple) and self.any(v):
                return True
        return False

    def mark_all(self, out):
        if isinstance(out, Tensor):
            self.marked[id(out)] = weakref.ref(out)
        elif isinstance(out, (list, tuple)):
            for o in out:
                self.mark_all(o)

    def under_grad(self):
        """Whether a transform other than vmap runs inside this level (torch's wrappers then
        reach the batching rule through _local_scalar_dense, with a longer message)."""
        return any(kind != "vmap" for kind in TRANSFORMS[self.index + 1:])


def carry(sources, results):
    """Mark the tensors of pytree `results` batched at each running level where a tensor of
    pytree `sources` is: for what torch.func's transforms make where the mode does not see
    (gradients from autograd's engine, Jacobians stacked by ember's own code)."""
    levels = RUNNING.levels
    if not levels:
        return results
    flat = _leaves(sources)
    for level in levels:
        if level.any(flat):
            level.mark_all(_leaves(results))
    return results


def _leaves(tree):
    """The leaves of pytree `tree`, walked here through lists and tuples of tensors (and None)
    and by tree_flatten past them."""
    if isinstance(tree, Tensor):
        return [tree]
    if type(tree) not in (list, tuple):
        return tree_flatten(tree)[0]
    out = []
    for t in tree:
        if isinstance(t, Tensor):
            out.append(t)
        elif type(t) in (list, tuple):
            out += _leaves(t)
        elif t is not None:
            return tree_flatten(tree)[0]
    return out


def module_outputs(module, args, kwargs, output):
    """A global forward hook while a vmap runs: a module whose forward ember computes with its
    own kernels, unseen by the mode (nn.GRUCell, nn.RNNCell), returns outputs batched where an
    input, parameter or buffer is."""
    sources = [*args, *kwargs.values(), *module._parameters.values(), *module._buffers.values()]
    for level in RUNNING.levels:
        if level.any(sources):
            level.mark_all(output)


def rnn_refusal(module, args):
    """A global forward pre-hook while a vmap runs: torch's nn.RNN, LSTM, GRU and LSTMCell call
    aten kernels without a batching rule, so torch refuses them on batched inputs, states or
    weights (ember's own kernels, which the mode does not see, would run)."""
    from ..nn.modules.rnn import LSTMCell, RNNBase
    if isinstance(module, RNNBase):
        op = f"{module.mode.lower()}.input"
    elif isinstance(module, LSTMCell):
        op = "lstm_cell"
    else:
        return
    sources = [*args, *module._parameters.values()]
    if any(level.any(sources) for level in RUNNING.levels):
        raise RuntimeError(_no_fallback(op))


def is_all_true(t):
    """bool(t.all()) as torch._is_all_true tests it (torch's distributions check their
    arguments so): its batching rule reduces over the batch too, so under vmap the test of a
    batched `t` is no data-dependent control flow (ember's tests the sample's)."""
    if not RUNNING.levels:
        return bool(t.all())
    with DisableTorchFunction():
        return bool(t.all())


# ---- torch's messages -----------------------------------------------------------------------
_ITEM = ("vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over "
         "calling .item() on a Tensor, please try to rewrite what you're doing with other "
         "operations. If error is occurring somewhere inside PyTorch internals, please file a "
         "bug report.")
_CONTROL_FLOW = ("vmap: It looks like you're attempting to use a Tensor in some data-dependent "
                 "control flow. We don't support that yet, please file an issue at "
                 "https://github.com/pytorch/pytorch/issues .")
_SCALAR_UNDER_GRAD = (
    "vmap: It looks like you're either (1) calling .item() on a Tensor or (2) attempting to use "
    "a Tensor in some data-dependent control flow or (3) encountering this error in PyTorch "
    "internals. For (1): we don't support vmap over calling .item() on a Tensor, please try to "
    "rewrite what you're doing with other operations. For (2): we don't support data-dependent "
    "control flow in vmap yet, please file an issue at https://github.com/pytorch/pytorch/"
    "issues . For (3): please file an issue.")
_NO_STORAGE = "Cannot access data pointer of Tensor that doesn't have storage"
_MASK = ("vmap: We do not support batching operators that can support dynamic shape. "
         "Attempting to batch over indexing with a boolean mask.")
_RANDOM_ERROR = ("vmap: called random operation while in randomness error mode. Please either "
                 "use the 'same' or 'different' randomness flags on vmap or perform the "
                 "randomness operation out of vmap")
_SAME_BATCHED = ("Vmap does not currently support same randomness with a batched tensor input. "
                 "Please file an issue with functorch")
_DIFFERENT_INPLACE = ("vmap: Cannot ask for different inplace randomness on an unbatched "
                      "tensor. This will appear like same randomness. If this is necessary for "
                      "your usage, please file an issue with functorch.")


def _dynamic(op):
    return ("vmap: We do not support batching operators that can output dynamic shape. "
            f"Attempted to vmap over aten::{op}. Please file an issue at "
            "https://github.com/pytorch/pytorch/issues if you need this feature.")


def _no_fallback(op):
    return f"Batching rule not implemented for aten::{op}. We could not generate a fallback."


def _inplace(op, where):
    return (f"vmap: {op}(self, *extra_args) is not possible because there exists a Tensor "
            "`other` in extra_args that has more elements than `self`. This happened due to "
            f"`other` being vmapped over but `self` not being vmapped over {where}. Please try "
            f"to use out-of-place operators instead of {op}. If said operator is being called "
            "inside the PyTorch framework, please file a bug report instead.")


# ---- refusals of batched arguments, by the name torch gives the function --------------------
def _scalar(message):
    def refuse(level, args, kwargs):
        raise RuntimeError(_SCALAR_UNDER_GRAD if level.under_grad() else message)
    return refuse


_item = _scalar(_ITEM)


def _always(message):
    def refuse(level, args, kwargs):
        raise RuntimeError(message)
    return refuse


def _format(level, args, kwargs):
    if args[0].dim() == 0:      # (torch formats a 0-d tensor's item())
        _item(level, args, kwargs)


def _one_hot(level, args, kwargs):
    if kwargs.get("num_classes", args[1] if len(args) > 1 else -1) <= 0:
        raise RuntimeError("When vmap-ing torch.nn.functional.one_hot, please provide an "
                           "explicit positive num_classes argument.")


def _from_data(level, args, kwargs):
    """torch.tensor & co. take the item() of each tensor in a (nested) list."""
    if type(args[0] if args else kwargs.get("data")) in (list, tuple):
        raise RuntimeError(_ITEM)


def _batch_norm(positions):
    """torch's refusal to update unbatched running statistics from a batched input
    (`positions`: where input, running_mean, running_var and training are passed)."""
    names = ("input", "running_mean", "running_var", "training")

    def refuse(level, args, kwargs):
        x, mean, var, training = (kwargs[n] if n in kwargs else args[i] if i < len(args) else
                                  None for n, i in zip(names, positions))
        if training and isinstance(x, Tensor) and level.has(x) and any(
                isinstance(t, Tensor) and not level.has(t) for t in (mean, var)) and \
                x.dim() > 1 and x.numel() != x.shape[1]:    # (F's own check comes first)
            raise RuntimeError(
                "Batch norm got a batched tensor as input while the running_mean or running_var,"
                " which will be updated in place, were not batched.\nIf you are using a module "
                "and do not need eval mode, please set `track_running_stats` to be False.If you "
                "are using a prebuilt module and do not need eval mode, please see the functorch "
                "website for resources on how to patch your module to work with vmap")
    return refuse


def _nonzero(level, args, kwargs):
    as_tuple = kwargs.get("as_tuple", args[1] if len(args) > 1 else False)
    raise RuntimeError(_no_fallback("nonzero_numpy") if as_tuple else _dynamic("nonzero"))


def _where(level, args, kwargs):
    if len(args) + len(kwargs) == 1:
        raise RuntimeError(_dynamic("where"))


def _unique(level, args, kwargs):
    raise RuntimeError(_dynamic("_unique2" if kwargs.get("dim") is None else "unique_dim"))


def _masked_select(level, args, kwargs):
    mask = kwargs["mask"] if "mask" in kwargs else args[1] if len(args) > 1 else None
    if isinstance(mask, Tensor) and level.has(mask):
        raise RuntimeError("vmap: Attempted to vmap over `mask` in torch.masked_select(self, "
                           "mask) We cannot support this because for each batch this would "
                           "return a differently shaped Tensor. Please file an issue at "
                           "https://github.com/pytorch/pytorch/issues if you need this feature.")


def _index_tensors(index):
    return [i for i in (index if type(index) is tuple else (index,)) if isinstance(i, Tensor)]


def _getitem(level, args, kwargs):
    if any(i.dtype is bool_ and level.has(i) for i in _index_tensors(args[1])):
        raise RuntimeError(_MASK)


def _setitem(level, args, kwargs):
    self, index, value = args
    indices = _index_tensors(index)
    if not level.has(self):
        if (isinstance(value, Tensor) and level.has(value)) or level.any(indices):
            raise RuntimeError(_inplace("index_put_" if indices else "inplace arithmetic",
                                        "in a vmap"))
    elif any(i.dtype is bool_ and level.has(i) for i in indices):
        raise RuntimeError(_MASK)


def _named(*names):
    """The names torch gives functions and their Tensor methods."""
    return [f"torch.{prefix}{n}" for n in names for prefix in ("", "Tensor.")]


_REFUSALS = {}
for _names, _rule in [
        (("torch.Tensor.item", "torch.Tensor.__int__", "torch.Tensor.__float__",
          "torch.Tensor.__index__", "torch.Tensor.__complex__", "torch.Tensor.__contains__"),
         _item),
        (("torch.Tensor.__bool__", *_named("is_nonzero")), _scalar(_CONTROL_FLOW)),
        (("torch.Tensor.tolist", "torch.Tensor.numpy", "torch.Tensor.__array__"),
         _always(_NO_STORAGE)),
        (_named("equal"), _always(_no_fallback("equal"))),
        (_named("allclose"), _always("vmap over torch.allclose isn't supported yet. Please file "
                                     "an issue at https://github.com/pytorch/pytorch/issues if "
                                     "you need this feature.")),
        (_named("nonzero"), _nonzero),
        (_named("where"), _where),
        (("torch.functional.unique", "torch.unique", "torch.Tensor.unique"), _unique),
        (_named("unique_consecutive") + ["torch.functional.unique_consecutive"],
         _always(_dynamic("unique_consecutive"))),
        (_named("masked_select"), _masked_select),
        (("torch.Tensor.__format__",), _format),
        (("torch.nn.functional.one_hot",), _one_hot),
        (("torch.nn.functional.batch_norm",), _batch_norm((0, 1, 2, 5))),
        (("torch.batch_norm",), _batch_norm((0, 3, 4, 5))),
        (("torch.tensor", "torch.as_tensor", "torch.asarray"), _from_data),
        (("torch.Tensor.__getitem__",), _getitem),
        (("torch.Tensor.__setitem__",), _setitem)]:
    _REFUSALS.update(dict.fromkeys(_names, _rule))


# ---- in-place ops whose self is unbatched and another argument batched ----------------------
# torch's batching rules: the binary pointwise ones write the batched result into self and fail
# in TensorIterator's broadcast check; some refuse by name ("inplace arithmetic" for most); the
# rest go to the fallback, which names the aten op and the level (x += y reaches modes as add_)
_BROADCAST = frozenset((
    "add_ atan2_ arctan2_ copysign_ bitwise_and_ bitwise_or_ bitwise_xor_ bitwise_left_shift_ "
    "bitwise_right_shift_ gcd_ lcm_ __iand__ __ior__ __ixor__ __ilshift__ __irshift__").split())
_BY_NAME = dict.fromkeys(
    "clamp_max_ clamp_min_ copy_ div_ divide_ logical_and_ logical_or_ logical_xor_ mul_ "
    "multiply_ sub_ true_divide_ __idiv__".split(), "inplace arithmetic")
_BY_NAME.update({n: n for n in "index_add_ scatter_add_ index_fill_ index_put_ "
                 "scatter_reduce_ fill_".split()})
_FALLBACK_NAME = {"__imod__": "remainder_", "__ifloordiv__": "floor_divide_", "__ipow__": "pow_"}


def _broadcast_shape(a, b):
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x, y = a[-i] if i <= len(a) else 1, b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            return None
        out.append(max(x, y) if x != 1 and y != 1 else x * y)
    return out[::-1]


def _refuse_broadcast(self, other):
    """torch's error for a binary in-place op writing a batched `other` into `self`: the
    shapes below all the vmap levels (each level's batch dimension in front, the logical
    shapes padded to the same rank) fail the in-place broadcast check."""
    s, o = list(self.shape), list(other.shape)
    for level in reversed(RUNNING.levels):
        rank = max(len(s), len(o))
        if level.has(self):
            s = [level.size] + [1] * (rank - len(s)) + s
        if level.has(other):
            o = [level.size] + [1] * (rank - len(o)) + o
    shape = _broadcast_shape(s, o)
    if shape is not None and shape != s:
        raise RuntimeError(f"output with shape {s} doesn't match the broadcast shape {shape}")


def _refuse_inplace(level, op, args, kwargs):
    if op in _BROADCAST:
        if len(args) > 1 and isinstance(args[1], Tensor):
            _refuse_broadcast(args[0], args[1])
        return
    name = _BY_NAME.get(op)
    if op == "masked_fill_":    # (its batching rule refuses a batched mask; a value: the fallback)
        mask = kwargs.get("mask", args[1] if len(args) > 1 else None)
        name = "inplace arithmetic" if isinstance(mask, Tensor) and level.has(mask) else None
    if name is not None:
        raise RuntimeError(_inplace(name, "in a vmap"))
    name = f"aten::{_FALLBACK_NAME.get(op, op)}"
    raise RuntimeError(_inplace(name, f"at level {level.index + 1}"))


def _out_name(name):
    op = name.rpartition(".")[2]
    return {"sum": "sum.IntList_out"}.get(op, f"{op}.out")


# ---- random ops -------------------------------------------------------------------------------
# "fresh": the result is batched under "different" only; "sampler": its tensor arguments may not
# be batched under "same"; "inplace": self may not be unbatched under "different"; "composite":
# a random op only when it draws (dropout in training, ...), told by the generator's state
_RANDOM = {}
for _kind, _names in [
        ("fresh", _named(*"rand randn randint randperm rand_like randn_like "
                          "randint_like".split())),
        ("sampler", _named(*"normal bernoulli poisson multinomial binomial _standard_gamma "
                            "_sample_dirichlet".split())),
        ("inplace", _named(*"normal_ uniform_ bernoulli_ random_ exponential_ geometric_ "
                            "cauchy_ log_normal_".split())),
        ("composite", [f"torch.nn.functional.{n}" for n in (
            "dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout rrelu "
            "rrelu_ gumbel_softmax fractional_max_pool2d fractional_max_pool3d "
            "fractional_max_pool2d_with_indices fractional_max_pool3d_with_indices").split()]
         + _named(*"dropout dropout_ alpha_dropout alpha_dropout_ feature_dropout "
                   "feature_dropout_ feature_alpha_dropout feature_alpha_dropout_ "
                   "native_dropout rrelu rrelu_".split()))]:
    _RANDOM.update(dict.fromkeys(_names, _kind))


_RULES = {}     # torch's name of a function -> (its refusal, its in-place op, its random kind)
_FUNC_RULES = {}    # the same by the function the mode is handed (dispatchers, lived long)

# what the mode need not see: no tensor results, and torch's batched tensors answer them
_SKIPS = frozenset(_named(*"dim size numel is_floating_point is_complex element_size nelement "
                           "ndimension is_contiguous stride is_signed get_device is_inference "
                           "is_conj is_neg".split()) + [
    f"torch.Tensor.{name}.__get__" for name in (
        "shape ndim dtype device requires_grad is_leaf layout is_cuda is_cpu itemsize nbytes "
        "is_sparse is_sparse_csr is_quantized is_meta is_nested retains_grad output_nr "
        "_version").split()])


def _rules(name):
    rules = _RULES.get(name)
    if rules is None:
        op = name.rpartition(".")[2]
        inplace = (op[-1:] == "_" and op[-2:] != "__" or op in _BROADCAST or op in _BY_NAME or
                   op in _FALLBACK_NAME) and not name.startswith("torch.nn.")
        rules = _RULES[name] = (_REFUSALS.get(name), op if inplace else None, _RANDOM.get(name))
    return rules


class Batching(TorchFunctionMode):
    """The mode of one vmap level (see the module's docstring)."""
    _raw_calls, _skips = True, _SKIPS

    def __init__(self, level):
        self.level = level

    def __torch_function__(self, func, types, args=(), kwargs=None):
        level, kwargs = self.level, kwargs or {}
        rules = _FUNC_RULES.get(func)
        if rules is None:
            rules = _FUNC_RULES[func] = _rules(getattr(func, "torch_name", None) or "")
        refuse, inplace, random = rules
        batched = level.any(args) or (kwargs and level.any(kwargs.values()))
        if batched:
            if refuse is not None:
                refuse(level, args, kwargs)
            if inplace is not None and args and isinstance(args[0], Tensor) and \
                    not level.has(args[0]):
                _refuse_inplace(level, inplace, args, kwargs)
            if kwargs.get("out") is not None:
                raise RuntimeError(f"Batching rule not implemented for aten::"
                                   f"{_out_name(func.torch_name)}; the fallback path doesn't "
                                   "work on out= or view ops.")
        if random is not None:
            return self._random(random, func, args, kwargs, batched)
        out = func(*args, **kwargs)
        if batched:
            level.mark_all(out)
        return out

    def _random(self, kind, func, args, kwargs, batched):
        level = self.level
        randomness = level.randomness
        if kind == "composite":
            from ..ops import random
            mark = random.default_generator.draw_mark()
            out = func(*args, **kwargs)
            drew = random.default_generator.draw_mark() != mark
            if drew and randomness == "error":
                raise RuntimeError(_RANDOM_ERROR)
            if batched or (drew and randomness == "different"):
                level.mark_all(out)
            return out
        if randomness == "error":
            raise RuntimeError(_RANDOM_ERROR)
        if kind == "inplace":
            if randomness == "different" and not level.has(args[0]):
                raise RuntimeError(_DIFFERENT_INPLACE)
        elif kind == "sampler" and randomness == "same" and batched:
            raise RuntimeError(_SAME_BATCHED)
        out = func(*args, **kwargs)
        if randomness == "different" or (batched and kind != "fresh"):
            level.mark_all(out)
        return out
