"""CUDA graphs: capture a sequence of kernel launches once and replay it (torch.cuda.graphs).

Built on CuPy's stream capture (`Stream.begin_capture()` / `end_capture()` -> `cupy.cuda.Graph`).
While capturing, nothing runs: every kernel launched on the capturing stream is recorded with
the addresses it reads and writes, and `replay()` launches them all again in one call. So the
tensors a graph touches are static: copy new data into its input tensors, replay, and read its
output tensors (which the next replay overwrites).

Memory allocated during a capture comes from a private CuPy memory pool kept by the graph (or
shared between graphs through `pool=`, as torch's graph_pool_handle()), so nothing else reuses
the addresses baked into the graph while it lives.

Matrix products inside a capture go through ember/backends/cuda_blas.py (CuPy refuses cuBLAS
calls while a stream captures). Differences from torch: the default capture mode is "relaxed"
(CuPy may load a kernel module or grow its pool with cudaMalloc during a capture; warm up first
either way), and host syncs inside a capture (`.item()`, printing, data-dependent shapes, the
generic cross_entropy target check) raise CuPy's capture error; embedding and the fused
cross_entropy skip their index checks there (torch's CUDA kernels assert on the device).
Random draws stay fresh on replay (CuPy's Generator keeps its state on the device). Capture
Adam/AdamW with capturable=True, as in torch: the step count and bias corrections then stay on
the GPU; without it a replay repeats the bias correction of the captured step."""
import gc

from . import Stream, _require, current_stream, stream as _stream_ctx
from ..backends import cuda_blas

__all__ = ["CUDAGraph", "graph", "graph_pool_handle", "make_graphed_callables",
           "is_current_stream_capturing"]

_MODES = {"global": 0, "thread_local": 1, "relaxed": 2}


class _Pool:
    """A private CuPy memory pool: what graph_pool_handle() and CUDAGraph.pool() return."""
    __slots__ = ("mempool",)

    def __init__(self, cp):
        self.mempool = cp.cuda.MemoryPool()

    def __repr__(self):
        return f"<ember.cuda graph pool, {self.mempool.total_bytes()} bytes>"


def graph_pool_handle():
    """A handle to a new memory pool, to share between captures (torch.cuda.graph_pool_handle)."""
    return _Pool(_require())


def is_current_stream_capturing():
    """Whether the current CUDA stream is capturing a graph (False without CUDA)."""
    from . import _cupy
    cp = _cupy()
    return bool(cp) and cp.cuda.get_current_stream().is_capturing()


class CUDAGraph:
    """A CUDA graph (torch.cuda.CUDAGraph): capture_begin/capture_end around the work on a
    non-default stream, then replay(); reset() drops it."""

    def __init__(self, keep_graph=False):
        self._cp = _require()
        self._graph = self._capturing = self._alloc = self._pool = None
        self._debug = False

    def capture_begin(self, pool=None, capture_error_mode="relaxed"):
        cp = self._cp
        if self._graph is not None or self._capturing is not None:
            raise RuntimeError("This CUDAGraph instance already owns a captured graph. To "
                               "capture a new graph, create a new instance or reset() it.")
        if capture_error_mode not in _MODES:
            raise ValueError(f"capture_error_mode must be one of {list(_MODES)}, got "
                             f"{capture_error_mode!r}")
        s = cp.cuda.get_current_stream()
        if s.ptr == 0:
            raise RuntimeError("CUDA graphs must be captured on a non-default stream. "
                               "(However, after capture, it's ok to replay them on the "
                               "default stream.)")
        self._pool = pool if pool is not None else _Pool(cp)
        self._alloc = cp.cuda.using_allocator(self._pool.mempool.malloc)
        self._alloc.__enter__()
        try:
            s.begin_capture(_MODES[capture_error_mode])
        except BaseException:
            self._alloc.__exit__(None, None, None)
            self._alloc = None
            raise
        self._capturing = s
        cuda_blas.CAPTURING += 1

    def capture_end(self):
        s = self._capturing
        if s is None:
            raise RuntimeError("capture_end() called without a matching capture_begin()")
        try:
            self._graph = s.end_capture()
        finally:
            cuda_blas.CAPTURING -= 1
            self._alloc.__exit__(None, None, None)
            self._alloc = self._capturing = None

    def replay(self):
        """Launch the captured work on the current stream."""
        if self._graph is None:
            raise RuntimeError("Called CUDAGraph::replay without a preceding successful "
                               "capture.")
        self._graph.launch(self._cp.cuda.get_current_stream())

    def instantiate(self):
        """CuPy instantiates at capture_end(); kept for torch's keep_graph=True workflow."""

    def reset(self):
        """Drop the graph; its pool's memory returns once no tensor of the capture is left."""
        self._graph = self._pool = None

    def pool(self):
        """The memory pool of this graph, to pass as `pool=` to another capture."""
        if self._pool is None:
            raise RuntimeError("Called CUDAGraph::pool without a preceding capture_begin.")
        return self._pool

    def enable_debug_mode(self):
        self._debug = True

    def debug_dump(self, debug_path):
        """Write the captured graph in Graphviz dot format."""
        if self._graph is None:
            raise RuntimeError("Called CUDAGraph::debug_dump without a preceding successful "
                               "capture.")
        with open(debug_path, "w") as f:
            f.write(self._graph.debug_dot_str())


class graph:
    """Context manager capturing the work inside into `cuda_graph` (torch.cuda.graph).

    Captures on `stream` (default: a side stream shared by all captures), after a device
    synchronize, with memory from `pool` (default: the graph's own)."""
    default_capture_stream = None

    def __init__(self, cuda_graph, pool=None, stream=None, capture_error_mode="relaxed"):
        if stream is None:
            if graph.default_capture_stream is None:
                graph.default_capture_stream = Stream()
            stream = graph.default_capture_stream
        self.cuda_graph, self.pool = cuda_graph, pool
        self.capture_stream, self.capture_error_mode = stream, capture_error_mode
        self._ctx = _stream_ctx(stream)

    def __enter__(self):
        cp = _require()
        cp.cuda.runtime.deviceSynchronize()
        gc.collect()
        self._ctx.__enter__()
        try:
            self.cuda_graph.capture_begin(self.pool,
                                          capture_error_mode=self.capture_error_mode)
        except BaseException:
            self._ctx.__exit__(None, None, None)
            raise

    def __exit__(self, *exc):
        try:
            self.cuda_graph.capture_end()
        finally:
            self._ctx.__exit__(*exc)


# ---- make_graphed_callables ----------------------------------------------------------------
def _capture(g, fn, pool):
    """Run fn() captured into CUDAGraph g; returns what fn returned (the static outputs)."""
    with graph(g, pool=pool):
        return fn()


class _warmup_stream:
    """Warm-up iterations run on a side stream that first waits for the current one."""

    def __enter__(self):
        self.s = Stream()
        self.s.wait_stream(current_stream())
        self.s.__enter__()

    def __exit__(self, *exc):
        self.s.__exit__(*exc)
        current_stream().wait_stream(self.s)


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _check_tensors(args, i):
    from .._tensor import Tensor
    if not isinstance(args, tuple) or not all(isinstance(a, Tensor) for a in args):
        raise TypeError(f"make_graphed_callables: sample_args[{i}] must be a tuple of Tensors "
                        "(nested structures are not supported)")


def make_graphed_callables(callables, sample_args, num_warmup_iters=3,
                           allow_unused_input=False, pool=None):
    """Graphed versions of callables (functions or Modules) for static sample args: their
    forward and backward each replay one CUDA graph (torch.cuda.make_graphed_callables).

    The returned callables copy their inputs into the static sample inputs, replay the forward
    graph and return its (static) outputs; backward copies the incoming gradients and replays
    the backward graph. A Module's forward is replaced, and used while `module.training` is what
    it was at capture (the original forward runs otherwise). Inputs must have the sample args'
    shapes, dtypes and requires_grad."""
    from ..nn.modules.module import Module
    just_one = not isinstance(callables, tuple)
    if just_one:
        callables, sample_args = (callables,), (sample_args,)
    if len(callables) != len(sample_args):
        raise ValueError("make_graphed_callables: one tuple of sample args per callable")
    for i, (c, args) in enumerate(zip(callables, sample_args)):
        _check_tensors(args, i)
        if isinstance(c, Module) and (c._forward_hooks or c._forward_pre_hooks
                                      or c._backward_hooks or c._backward_pre_hooks):
            raise RuntimeError("Modules must not have hooks registered at the time they are "
                               "passed. However, registering hooks on modules after passing "
                               "them through make_graphed_callables is allowed.")
    mempool = graph_pool_handle() if pool is None else pool
    parts = []
    for c, args in zip(callables, sample_args):
        params = tuple(c.parameters()) if isinstance(c, Module) else ()
        run = c.forward if isinstance(c, Module) else c      # (no hooks: see above)
        parts.append(_GraphedCallable(run, args, params, allow_unused_input))
    for part in parts:
        part.warm_up(num_warmup_iters)
    # as torch: every forward first, then the backwards in reverse order, so that memory a
    # backward frees into the shared pool is only reused by captures that replay after it
    for part in parts:
        part.capture_forward(mempool)
    for part in reversed(parts):
        part.capture_backward(mempool)
    out = []
    for c, part in zip(callables, parts):
        fn = part.make_callable()
        if isinstance(c, Module):
            _swap_forward(c, fn)
        out.append(c if isinstance(c, Module) else fn)
    return out[0] if just_one else tuple(out)


class _GraphedCallable:
    """One callable's static inputs, its forward and backward graphs and the autograd Function
    that replays them."""

    def __init__(self, func, sample_args, params, allow_unused):
        self.func, self.sample_args, self.allow_unused = func, tuple(sample_args), allow_unused
        self.params = params
        self.static_inputs = self.sample_args + params
        self.needs = [t.requires_grad for t in self.static_inputs]
        self.diff_inputs = [t for t, r in zip(self.static_inputs, self.needs) if r]
        self.live = {}      # the backward capture differentiates the forward's latest outputs

    def forward(self):
        self.live["outs"] = _as_tuple(self.func(*self.sample_args))
        return self.live["outs"]

    def backward(self, grad_outputs):
        from ..autograd import grad
        outs = [o for o in self.live["outs"] if o.requires_grad]
        if not outs or not self.diff_inputs:
            return (None,) * len(self.diff_inputs)
        return grad(outs, self.diff_inputs, grad_outputs=[g for g in grad_outputs if g is not None],
                    allow_unused=self.allow_unused)

    def warm_up(self, iters):
        from .. import ones_like
        with _warmup_stream():
            for _ in range(iters):
                outs = self.forward()
                self.backward(tuple(ones_like(o) if o.requires_grad else None for o in outs))
            self.live.clear()

    def capture_forward(self, mempool):
        from .. import zeros_like
        from .._tensor import Tensor
        self.fwd_graph = CUDAGraph()
        self.static_outputs = _capture(self.fwd_graph, self.forward, mempool)
        if not all(isinstance(o, Tensor) for o in self.static_outputs):
            raise TypeError("make_graphed_callables: the callable must return a Tensor or a "
                            "tuple of Tensors")
        self.static_grad_outputs = tuple(zeros_like(o) if o.requires_grad else None
                                         for o in self.static_outputs)

    def capture_backward(self, mempool):
        self.bwd_graph = CUDAGraph()
        grads = iter(_capture(self.bwd_graph, lambda: self.backward(self.static_grad_outputs),
                              mempool))
        self.static_grad_inputs = tuple(next(grads) if r else None for r in self.needs)

    def make_callable(self):
        from ..autograd import Function
        from ..autograd.grad_mode import no_grad
        part, n_user = self, len(self.sample_args)

        class Graphed(Function):
            @staticmethod
            def forward(ctx, *inputs):
                with no_grad():
                    for static, new in zip(part.static_inputs[:n_user], inputs[:n_user]):
                        if static.data_ptr() != new.data_ptr():
                            static.copy_(new)
                part.fwd_graph.replay()
                return tuple(o.detach() for o in part.static_outputs)

            @staticmethod
            def backward(ctx, *grad_outputs):
                with no_grad():
                    for static, g in zip(part.static_grad_outputs, grad_outputs):
                        if static is None:
                            continue
                        if g is None:
                            static.zero_()
                        elif static.data_ptr() != g.data_ptr():
                            static.copy_(g)
                part.bwd_graph.replay()
                # copies: the engine may keep a returned gradient as a leaf's .grad, which the
                # next replay would overwrite (and accumulate into itself)
                return tuple(None if g is None else g.detach().clone()
                             for g in part.static_grad_inputs)

        def graphed(*user_args):
            if len(user_args) != n_user:
                raise TypeError(f"graphed callable takes {n_user} arguments "
                                f"({len(user_args)} given)")
            out = _as_tuple(Graphed.apply(*(tuple(user_args) + part.params)))
            return out[0] if len(out) == 1 else out

        graphed.fwd_graph, graphed.bwd_graph = self.fwd_graph, self.bwd_graph
        return graphed


def _swap_forward(module, graphed):
    training = module.training
    eager = module.forward

    def forward(*args):
        return graphed(*args) if module.training == training else eager(*args)
    module.forward = forward
