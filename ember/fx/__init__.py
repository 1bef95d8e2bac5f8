"""torch.fx: symbolic tracing of Modules and functions into Graphs, GraphModules that run them,
and the Interpreter/Transformer to walk or rewrite them.

    gm = ember.fx.symbolic_trace(model)        # or Tracer().trace(model) for a Graph
    for node in gm.graph.nodes:                 # placeholder, get_attr, call_function,
        ...                                     # call_method, call_module, output
    gm.recompile()                              # after editing the graph in place

Graphs, node names and generated code are torch's (`relu_1`, `getattr_1`, `operator.add`,
`torch.relu(x)`, `torch.nn.functional.relu(x, inplace = False)`, `self.layer.conv1(x)`): ember's
functions are named by torch's names, and generated code runs with `torch` bound to ember.

Calls of ember functions on a Proxy are recorded through ember's __torch_function__ dispatch
(ember/_torch_function.py), switched on for the trace and off again afterwards (ops run after a
trace pay nothing). A node's target is the function ember publishes, so `node.target is
ember.relu` holds, as in torch; defining a Tensor subclass later switches dispatch on for good
and replaces the published functions, so compare targets recorded before that by name.
torch's C functionals are named by their C home (`torch._C._nn.gelu`, `torch.conv2d`), and
torch's Python functions record what they call (F.sigmoid a `sigmoid` method call, F.max_pool2d
with return_indices=True max_pool2d_with_indices), as in torch.

Differences from torch:
- A function imported by name from ember (`from ember import relu`) before tracing is not
  recorded: call it as `ember.relu`/`F.relu` in traced code.
- Not supported: torch.fx.experimental (make_fx, symbolic shapes, proxy_tensor), dynamo/export
  graphs and their codegens, pytree inputs in concrete_args, Tracer.trace_asserts,
  param_shapes_constant, stack traces and verbose annotations, pickling a GraphModule, and the
  passes (torch.fx.passes) beyond replace_pattern and ShapeProp (no fake_mode).
"""
from ._symbolic_trace import PH, Tracer, is_fx_tracing, symbolic_trace, wrap
from .graph import Graph
from .graph_module import GraphModule
from .interpreter import Interpreter, Transformer
from .node import Node, has_side_effect, map_arg
from .proxy import Proxy
from .subgraph_rewriter import replace_pattern
from . import passes  # noqa: F401  (torch.fx.passes is there once torch.fx is imported)

__all__ = ["symbolic_trace", "Tracer", "wrap", "Graph", "GraphModule", "Interpreter",
           "Transformer", "Node", "Proxy", "map_arg", "PH", "is_fx_tracing", "replace_pattern",
           "has_side_effect"]
