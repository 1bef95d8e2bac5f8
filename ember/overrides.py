"""torch.overrides: helpers for the __torch_function__ protocol (see ember/_torch_function.py).

Tensor subclasses take part from the moment one is defined, TorchFunctionModes while entered,
and objects of other classes that define __torch_function__ from the class statement on (a
class made by calling type(), or defined before `import ember`, once dispatch is on: a Tensor
subclass or another such class exists, a mode was entered, or handle_torch_function was
called)."""
import collections
import contextlib
import functools
import inspect

from . import _torch_function
from ._torch_function import TorchFunctionMode, handle_torch_function, has_torch_function

__all__ = ["has_torch_function", "has_torch_function_unary", "has_torch_function_variadic",
           "handle_torch_function", "is_tensor_like", "is_tensor_method_or_property",
           "get_default_nowrap_functions", "TorchFunctionMode", "resolve_name",
           "BaseTorchFunctionMode", "wrap_torch_function", "get_ignored_functions",
           "get_overridable_functions", "get_testing_overrides", "enable_reentrant_dispatch",
           "redispatch_function"]


class BaseTorchFunctionMode(TorchFunctionMode):
    """A mode that runs every function as called: the base to override only some of them."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **({} if kwargs is None else kwargs))


def wrap_torch_function(dispatcher):
    """Make a function dispatchable by __torch_function__: `dispatcher(*args, **kwargs)` (same
    signature) returns the arguments whose types take part."""
    def inner(func):
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            relevant = dispatcher(*args, **kwargs)
            if has_torch_function(relevant):
                return handle_torch_function(wrapped, relevant, *args, **kwargs)
            return func(*args, **kwargs)
        return wrapped
    return inner


def has_torch_function_unary(obj):
    return has_torch_function((obj,))


def has_torch_function_variadic(*args):
    return has_torch_function(args)


def is_tensor_like(inp):
    from ._tensor import Tensor
    return type(inp) is Tensor or hasattr(inp, "__torch_function__")


def is_tensor_method_or_property(func):
    return getattr(func, "torch_name", "").startswith("torch.Tensor.") or \
        getattr(func, "__name__", None) == "__get__"


def get_default_nowrap_functions():
    """The functions whose results Tensor.__torch_function__ leaves unconverted: the getter of
    Tensor.grad (ember's _base and _grad are not dispatched)."""
    from ._tensor import Tensor
    _torch_function.enable()
    return {Tensor.grad.fget.getter}


def resolve_name(f):
    """The name of a function handed to __torch_function__ ("torch.add", "torch.Tensor.add",
    "torch.Tensor.grad.__get__"), None for one that is not torch's."""
    name = getattr(f, "torch_name", None)
    return name if isinstance(name, str) else _overridable()[1].get(f)


_IGNORED = {   # torch.overrides.get_ignored_functions(), by namespace (torch 2.13)
    "torch": """
    _functional_sym_constrain_range _make_dep_token arange
    are_deterministic_algorithms_enabled as_strided as_tensor asarray
    autocast_decrement_nesting autocast_increment_nesting bartlett_window blackman_window
    broadcast_shapes can_cast clear_autocast_cache compile cond cudnn_affine_grid_generator
    cudnn_batch_norm cudnn_convolution cudnn_convolution_add_relu cudnn_convolution_relu
    cudnn_convolution_transpose cudnn_grid_sampler cudnn_is_acceptable default_generator
    device dtype empty empty_permuted empty_quantized empty_strided enable_grad eye fill
    finfo fork from_file from_numpy frombuffer full get_autocast_cpu_dtype
    get_autocast_dtype get_autocast_gpu_dtype get_autocast_ipu_dtype get_autocast_xla_dtype
    get_default_device get_default_dtype get_deterministic_debug_mode get_device_module
    get_float32_matmul_precision get_num_interop_threads get_num_threads get_rng_state
    hamming_window hann_window iinfo import_ir_module import_ir_module_from_buffer
    inference_mode init_num_threads initial_seed is_anomaly_check_nan_enabled
    is_anomaly_enabled is_autocast_cache_enabled is_autocast_cpu_enabled is_autocast_enabled
    is_autocast_ipu_enabled is_autocast_xla_enabled
    is_deterministic_algorithms_warn_only_enabled is_grad_enabled is_inference_mode_enabled
    is_storage is_tensor is_vulkan_available is_warn_always_enabled kaiser_window layout
    linspace load logspace manual_seed memory_format merge_type_from_type_comment
    miopen_ctc_loss mkldnn_adaptive_avg_pool2d mkldnn_convolution
    mkldnn_linear_backward_weights mkldnn_max_pool2d mkldnn_max_pool3d mkldnn_rnn_layer
    no_grad normal ones parse_ir parse_schema parse_type_comment promote_types qscheme rand
    rand_like randint randint_like randn randn_like randperm range result_type save
    scalar_tensor seed set_anomaly_enabled set_autocast_cache_enabled set_autocast_cpu_dtype
    set_autocast_cpu_enabled set_autocast_dtype set_autocast_enabled set_autocast_gpu_dtype
    set_autocast_ipu_dtype set_autocast_ipu_enabled set_autocast_xla_dtype
    set_autocast_xla_enabled set_default_device set_default_tensor_type
    set_deterministic_debug_mode set_float32_matmul_precision set_flush_denormal
    set_grad_enabled set_num_interop_threads set_num_threads set_printoptions set_rng_state
    set_warn_always sparse_bsc_tensor sparse_bsr_tensor sparse_compressed_tensor
    sparse_coo_tensor sparse_csc_tensor sparse_csr_tensor sym_constrain_range
    sym_constrain_range_for_size sym_fresh_size tensor thread_safe_generator tril_indices
    triu_indices typename unify_type_list use_deterministic_algorithms vander vmap wait
    zeros""",
    "torch.Tensor": """
    __class__ __delattr__ __delitem__ __dir__ __getattribute__ __hash__ __init__
    __init_subclass__ __iter__ __new__ __setattr__ __subclasshook__ __torch_dispatch__
    __torch_function__ _addmm_activation _conj _conj_physical _dtensor__new__ _fix_weakref
    _has_symbolic_sizes_strides.__get__ _is_all_true _is_any_true _is_zerotensor _lazy_clone
    _make_subclass _make_wrapper_subclass _neg_view _philox_normal_ _philox_uniform_
    _python_dispatch.__get__ _reduce_ex_internal _rev_view_func_unsafe _to_sparse
    _to_sparse_bsc _to_sparse_bsr _to_sparse_csc _to_sparse_csr _typed_storage _use_count
    _view_func _view_func_unsafe as_subclass eig lstsq new new_empty new_empty_strided
    new_full new_ones new_tensor new_zeros reinforce solve stride symeig to_padded_tensor
    to_sparse_bsc to_sparse_bsr to_sparse_coo to_sparse_csc to_sparse_csr unflatten""",
    "torch.export": """
    export load register_dataclass save""",
    "torch.fft": """
    fftfreq rfftfreq""",
    "torch.functional": """
    boolean_dispatch handle_torch_function has_torch_function has_torch_function_unary
    has_torch_function_variadic""",
    "torch.nested": """
    to_padded_tensor""",
    "torch.nn.functional": """
    _canonical_mask _none_or_dtype assert_int_or_pair grouped_mm hardsigmoid hardswish
    scaled_grouped_mm scaled_mm sigmoid tanh upsample upsample_bilinear upsample_nearest""",
    "torch.nn.init": """
    calculate_gain constant dirac eye kaiming_normal kaiming_uniform normal orthogonal
    sparse uniform xavier_normal xavier_uniform""",
}


def _namespaces():
    import ember
    import ember.fft
    import ember.functional
    import ember.linalg
    import ember.nn.functional
    import ember.nn.init
    import ember.special
    return {"torch": ember, "torch.functional": ember.functional,
            "torch.nn.functional": ember.nn.functional, "torch.nn.init": ember.nn.init,
            "torch.Tensor": ember.Tensor, "torch.linalg": ember.linalg, "torch.fft": ember.fft,
            "torch.special": ember.special}


def get_ignored_functions():
    """torch's functions that __torch_function__ cannot override (torch's list), as ember
    publishes them now."""
    import importlib
    found = set()
    for ns, names in _IGNORED.items():
        try:
            owner = _namespaces().get(ns) or importlib.import_module("ember" + ns[5:])
        except ImportError:
            continue
        for name in names.split():
            attr, _, get = name.partition(".")
            f = getattr(owner, attr, None)
            if get:
                f = getattr(f, "fget", None)
                f = getattr(f, "getter", f)
            if f is not None:
                found.add(f)
    return found


_CACHE = {}     # enable()'s generation -> _overridable()'s result


def _overridable():
    """({namespace: [its dispatched functions]}, {function: torch's name}), with dispatch on
    (built once for the dispatchers installed)."""
    _torch_function.enable()
    generation = _torch_function._GENERATION[0]
    if generation not in _CACHE:
        _CACHE.clear()
        _CACHE[generation] = _collect()
    return _CACHE[generation]


def _collect():
    funcs, index = collections.defaultdict(list), {}
    ignored = get_ignored_functions()
    for prefix, ns in _namespaces().items():
        names = dir(ns) if prefix != "torch.functional" else ns.__all__
        for name in names:
            if prefix != "torch.Tensor" and name.startswith("_"):
                continue
            f = vars(ns).get(name) if prefix == "torch.Tensor" else getattr(ns, name, None)
            if isinstance(f, property):
                get = getattr(f.fget, "getter", None)
                if get is not None:
                    index[get] = get.torch_name
                    funcs[f].append(get)
                continue
            if not callable(f) or not hasattr(f, "torch_name"):
                continue
            index[f] = index[getattr(f, "__wrapped__", f)] = f.torch_name
            # (torch lists no in-place or capitalised function outside Tensor)
            listed = prefix == "torch.Tensor" or name[0].islower() and not name.endswith("_")
            if listed and f not in ignored:
                funcs[ns].append(f)
    return funcs, index


def get_overridable_functions():
    """{namespace: [functions __torch_function__ can override]}: ember's dispatched
    functions, methods and property getters (dispatch is switched on)."""
    return collections.defaultdict(list, {ns: list(fs) for ns, fs in _overridable()[0].items()})


def get_testing_overrides():
    """{function: a stand-in with its signature that returns -1}, for every overridable
    function, as torch's (for testing a type's __torch_function__ coverage)."""
    overrides = {}
    for fs in get_overridable_functions().values():
        for f in fs:
            def dummy(*args, **kwargs):
                return -1
            try:
                dummy.__signature__ = inspect.signature(f)
            except (TypeError, ValueError):
                pass
            overrides[f] = dummy
    return overrides


@contextlib.contextmanager
def enable_reentrant_dispatch():
    """torch's re-entry into the dispatch state of a __torch_dispatch__: inside a handler
    (ember/utils/_python_dispatch.py) its calls already run ember's functions, so there is
    nothing to change; refused outside one, as torch's."""
    from .ops._aten import DISPATCH
    if DISPATCH.handed is None:
        raise RuntimeError("Accessing torch dispatch state outside of '__torch_dispatch__' is "
                           "not allowed.")
    yield


def redispatch_function(func, types, args, kwargs):
    """Call `func` skipping one level of __torch_function__ (from a handler): ember's functions
    run as themselves; a user's function that calls handle_torch_function finds no
    overloaded argument at its next has_torch_function check."""
    kwargs = kwargs or {}
    plain = getattr(func, "__wrapped__", None) if hasattr(func, "torch_name") else None
    if plain is not None:
        return plain(*args, **kwargs)
    _torch_function.STATE.skip_once = True
    try:
        return func(*args, **kwargs)
    finally:
        _torch_function.STATE.skip_once = False
