"""torch.fx.GraphModule: a Module whose forward is Python code generated from a Graph.

It holds the submodules, parameters and buffers the graph's `call_module`/`get_attr` nodes
name, taken from the traced module (the same objects, so state_dict entries are shared)."""
import linecache

from ..nn import Module, Parameter
from ..nn.modules.module import _addindent
from .. import Tensor
from .graph import Graph

__all__ = ["GraphModule"]

_eval_count = [0]


def _forward_from_src(src, globals_):
    """Compile the generated `forward`; its source goes to linecache for tracebacks."""
    key = f"<eval_with_key>.{_eval_count[0]}"
    _eval_count[0] += 1
    linecache.cache[key] = (len(src), None, src.splitlines(True), key)
    g = dict(globals_)
    exec(compile(src, key, "exec", dont_inherit=True), g)
    return g["forward"]


def _copy_attr(from_module, to_module, target):
    *prefix, field = target.split(".")
    for item in prefix:
        f = getattr(from_module, item)
        t = getattr(to_module, item, None)
        if f is t:
            return          # a parent module is already installed
        if t is None:
            t = Module()
            setattr(to_module, item, t)
        from_module, to_module = f, t
    orig = getattr(from_module, field)
    if isinstance(orig, Tensor) and not isinstance(orig, Parameter):
        to_module.register_buffer(field, orig)
    else:
        setattr(to_module, field, orig)


def _assign_attr(from_obj, to_module, target):
    *prefix, field = target.split(".")
    for item in prefix:
        t = getattr(to_module, item, None)
        if t is None:
            t = Module()
            setattr(to_module, item, t)
        to_module = t
    if isinstance(from_obj, Tensor) and not isinstance(from_obj, Parameter):
        to_module.register_buffer(field, from_obj)
    else:
        setattr(to_module, field, from_obj)


class GraphModule(Module):
    """A Module running `graph`; `code` is its generated forward. After editing the graph in
    place, call recompile() (assigning `graph` recompiles by itself)."""

    def __new__(cls, *args, **kwargs):
        # each instance gets its own class, which holds its generated forward
        for t in cls.__mro__:
            if t.__qualname__.split(".")[-1] != "GraphModuleImpl":
                cls = t
                break

        class GraphModuleImpl(cls):
            pass
        return super().__new__(GraphModuleImpl)

    def __init__(self, root, graph, class_name="GraphModule"):
        super().__init__()
        self.__class__.__name__ = class_name
        if isinstance(root, Module):
            self.training = root.training
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    _copy_attr(root, self, node.target)
        elif isinstance(root, dict):
            targets = []
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    if node.target not in root:
                        raise RuntimeError(f"Node {node} referenced target {node.target} but "
                                           "that target was not provided in ``root``!")
                    targets.append(node.target)
            for target in sorted(targets, key=lambda t: t.count(".")):
                _assign_attr(root[target], self, target)
        else:
            raise RuntimeError("Unsupported type " + str(root) + " passed for root!")
        self.graph = graph
        self.meta = {}

    @property
    def graph(self):
        return self._graph

    @graph.setter
    def graph(self, g):
        if not isinstance(g, Graph):
            raise AssertionError(f"Expected a Graph instance, but got {type(g)}")
        self._graph = g
        g.owning_module = self
        self.recompile()

    @property
    def code(self):
        return self._code

    def recompile(self):
        """Regenerate `code` and `forward` from the graph."""
        python_code = self._graph.python_code(root_module="self")
        self._code = python_code.src
        type(self).forward = _forward_from_src(self._code, python_code.globals)
        return python_code

    def add_submodule(self, target, m):
        """Install `m` at dotted `target`, creating empty Modules on the way; False if the path
        goes through something that is not a Module."""
        *prefix, field = target.split(".")
        mod = self
        for item in prefix:
            submod = getattr(mod, item, None)
            if submod is None:
                submod = Module()
                setattr(mod, item, submod)
            if not isinstance(submod, Module):
                return False
            mod = submod
        mod.add_module(field, m)
        return True

    def delete_submodule(self, target):
        """Remove the submodule at dotted `target`; False if there is none."""
        *path, name = target.split(".")
        mod = self
        for item in path:
            mod = getattr(mod, item, None)
            if not isinstance(mod, Module):
                return False
        if not isinstance(getattr(mod, name, None), Module):
            return False
        delattr(mod, name)
        return True

    def delete_all_unused_submodules(self):
        """Remove the submodules no `call_module` or `get_attr` node reaches."""
        used = set()
        for node in self.graph.nodes:
            if node.op in ("call_module", "get_attr"):
                atoms = node.target.split(".")
                used.update(".".join(atoms[:i]) for i in range(1, len(atoms) + 1))
                if node.op == "call_module":
                    try:
                        submod = self.get_submodule(node.target)
                    except AttributeError:
                        continue
                    used.update(f"{node.target}.{n}" for n, _ in submod.named_modules() if n)
        for name in [name for name, _ in self.named_modules() if name not in used]:
            self.delete_submodule(name)

    def print_readable(self, print_output=True):
        """The generated code as a class (and that of child GraphModules)."""
        out = _print_readable(self, self._get_name())
        if print_output:
            print(out)
        return out

    def __str__(self):
        return "\n".join([super().__str__(), self._code,
                          "# To see more debug info, please use `graph_module.print_readable()`"])

    def __reduce__(self):
        raise NotImplementedError("ember.fx: pickling a GraphModule is not supported")

    def __deepcopy__(self, memo):
        import copy
        fake = Module()
        for k, v in self._modules.items():
            fake.add_module(k, copy.deepcopy(v, memo))
        for k, v in self._parameters.items():
            fake.register_parameter(k, copy.deepcopy(v, memo))
        for k, v in self._buffers.items():
            fake.register_buffer(k, copy.deepcopy(v, memo))
        graph = Graph()
        graph.output(graph.graph_copy(self.graph, {}), type_expr=self.graph.output_node.type)
        res = memo[id(self)] = GraphModule(fake, graph)       # named GraphModule, as torch
        res.training, res.meta = self.training, copy.deepcopy(self.meta, memo)
        return res

def _print_readable(module, module_name):
    code = module.graph.python_code(root_module="self", verbose=True).src.lstrip("\n")
    code = _addindent(f"class {module_name}(torch.nn.Module):\n" + code, 4)
    children = [""] + [_print_readable(m, name) for name, m in module.named_children()
                       if isinstance(m, GraphModule)]
    return code + _addindent("\n".join(children), 4)
