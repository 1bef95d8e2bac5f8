"""ember.compile and ember.compiler (torch.compile, torch.compiler): accepted, and eager.

ember has no graph compiler: compile() checks its arguments as torch does and returns the model
or function running eagerly, so scripts written for torch.compile run and give the same numbers
(without a compiler's speed-up; a custom `backend` callable is accepted and never called). A
compiled module is wrapped as torch wraps it, in an OptimizedModule whose state_dict keys start
with `_orig_mod.`, which checkpoints written by compiled torch models also have. While a compiled
function or module runs, is_compiling() is True, as it is while torch traces one, so code that
branches on it takes torch's compiled branch."""
import functools
import threading

__all__ = ["allow_in_graph", "assume_constant_result", "compile", "cudagraph_mark_step_begin",
           "disable", "is_compiling", "is_dynamo_compiling", "is_exporting", "list_backends",
           "reset", "set_stance"]

_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")
# torch's registered backends and their tags (what list_backends filters on)
_BACKEND_TAGS = dict.fromkeys(("cudagraphs", "inductor", "openxla", "tvm"), ())
_BACKEND_TAGS["openxla_eval"] = ("experimental",)
_BACKEND_TAGS.update(dict.fromkeys((
    "aot_eager", "aot_eager_decomp_partition", "aot_eager_decomp_partition_crossref",
    "aot_eager_decomp_partition_with_mode", "aot_eager_default_partitioner", "aot_ts",
    "dynamo_accuracy_minifier_backend", "dynamo_minifier_backend", "eager", "eager_debug",
    "eager_noexcept", "invoke_subgraph", "non_leaf_compile_error_TESTING_ONLY",
    "pre_dispatch_eager", "relu_accuracy_error_TESTING_ONLY", "relu_compile_error_TESTING_ONLY",
    "relu_runtime_error_TESTING_ONLY", "ts"), ("debug",)))


class InvalidBackend(RuntimeError):
    def __init__(self, name):
        super().__init__(f"Invalid backend: {name!r}, see `torch._dynamo.list_backends()` for "
                         "available backends.")


def list_backends(exclude_tags=("debug", "experimental")):
    excluded = set(exclude_tags or ())
    return sorted(name for name, tags in _BACKEND_TAGS.items() if not excluded.intersection(tags))


def _check(model, backend, mode, options):
    if model is not None and not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if isinstance(backend, str) and backend not in _BACKEND_TAGS:
        raise InvalidBackend(backend)
    # (modes are inductor's: another backend ignores one, as torch's do)
    if mode is not None and mode not in _MODES and backend == "inductor":
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False, **kwargs):
    """torch.compile: `model` (a Module or a function) unchanged in its numbers, eager."""
    _check(model, backend, mode, options)
    if model is None:                       # @compile(mode=...) as a decorator factory
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic,
                                 backend=backend, mode=mode, options=options, disable=disable,
                                 **kwargs)
    if disable:
        return model
    from .nn import Module
    if isinstance(model, Module):
        return _optimized_module()(model)

    @functools.wraps(model)
    def compiled(*args, **kw):
        return _run_compiled(model, args, kw)
    return compiled


class _Compiling(threading.local):
    """How deep this thread is in compiled calls (is_compiling() while above 0)."""
    depth = 0


_COMPILING = _Compiling()


def _run_compiled(fn, args, kwargs):
    """fn called as a compiled region: is_compiling() True within it, but under the
    force_eager stance, where torch runs it eagerly."""
    _check_stance()
    if _STANCE[0].stance == "force_eager":
        return fn(*args, **kwargs)
    c = _COMPILING
    c.depth += 1
    try:
        return fn(*args, **kwargs)
    finally:
        c.depth -= 1


_STANCES = ("default", "force_eager", "eager_on_recompile", "fail_on_recompile",
            "eager_then_compile", "aot_eager_then_compile")


def _check_stance():
    """A compiled call refuses an unknown stance, as torch's frame callback does (set_stance
    itself takes any name)."""
    if _STANCE[0].stance not in _STANCES:
        raise RuntimeError(f"invalid torch.compile stance '{_STANCE[0]!r}'")


@functools.cache
def _optimized_module():
    from .nn import Module

    class OptimizedModule(Module):
        """What torch.compile returns for a Module: the original as `_orig_mod`, attributes
        looked up on it, calls forwarded to it."""

        def __init__(self, mod):
            super().__init__()
            self._orig_mod = mod

        def forward(self, *args, **kwargs):
            return _run_compiled(self._orig_mod, args, kwargs)

        def __getattr__(self, name):
            try:
                return super().__getattr__(name)
            except AttributeError:
                return getattr(self._modules["_orig_mod"], name)
    OptimizedModule.__module__ = __name__
    OptimizedModule.__qualname__ = "OptimizedModule"
    return OptimizedModule


def __getattr__(name):
    if name == "OptimizedModule":          # built on first use: ember.nn imports lazily
        return _optimized_module()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def disable(fn=None, recursive=True, *, reason=None):
    """torch.compiler.disable: `fn` wrapped to run outside any compiled region (is_compiling()
    False within it); a class comes back unchanged, as in torch."""
    if fn is None:
        return functools.partial(disable, recursive=recursive, reason=reason)
    from .nn import Module
    if isinstance(fn, (type, Module)):
        return fn

    @functools.wraps(fn)
    def eager(*args, **kwargs):
        c = _COMPILING
        depth, c.depth = c.depth, 0
        try:
            return fn(*args, **kwargs)
        finally:
            c.depth = depth
    return eager


def allow_in_graph(fn):
    return fn


def assume_constant_result(fn):
    return fn


def is_compiling():
    return _COMPILING.depth > 0


def is_dynamo_compiling():
    return _COMPILING.depth > 0


def is_exporting():
    return False


def reset():
    """Clears compilation caches: ember keeps none."""


def cudagraph_mark_step_begin():
    """Marks a training step for torch's CUDA-graph trees: nothing to mark when eager."""


class DynamoStance:
    """torch._dynamo's stance record (what set_stance sets)."""
    __slots__ = ("stance", "skip_guard_eval_unsafe", "backend")

    def __init__(self, stance="default", skip_guard_eval_unsafe=False, backend=None):
        self.stance, self.skip_guard_eval_unsafe, self.backend = \
            stance, skip_guard_eval_unsafe, backend

    def __repr__(self):
        return (f"DynamoStance(stance={self.stance!r}, skip_guard_eval_unsafe="
                f"{self.skip_guard_eval_unsafe!r}, backend={self.backend!r})")


_STANCE = [DynamoStance()]


class set_stance:
    """torch.compiler.set_stance: sets the compiler's stance when called, for a `with` block,
    or around a decorated function. ember's compiled code is eager under every stance; the
    stance is kept and its arguments checked as torch's."""

    def __init__(self, stance="default", *, skip_guard_eval_unsafe=False, force_backend=None):
        if force_backend is not None and stance != "default":
            raise RuntimeError("non-default stance cannot have force_backend set")
        self.stance = DynamoStance(stance, skip_guard_eval_unsafe, force_backend)
        self.prev, _STANCE[0] = _STANCE[0], self.stance

    def __call__(self, fn):
        _STANCE[0] = self.prev

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return wrapper

    def __enter__(self):
        _STANCE[0] = self.stance

    def __exit__(self, *exc):
        _STANCE[0] = self.prev

    def clone(self):
        return self.__class__(self.stance.stance, force_backend=self.stance.backend)
