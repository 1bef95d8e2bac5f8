"""torch.fx.Graph: the node list, node creation and insertion points, and the Python code a
GraphModule runs (torch's format: `add = x + 1;  x = None`, `torch.relu(...)`, `self.linear(x)`).

Generated code refers to ember's functions by torch's names (`torch.nn.functional.gelu`) and runs
with the global `torch` bound to the ember module, so `gm.code` reads as torch's does."""
import builtins
import inspect
import keyword
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ember
from .node import Node, _qualified_name, _type_repr, map_arg

__all__ = ["Graph", "PythonCode"]

_snake_case_sub = re.compile(r"(?<=[a-z])([A-Z])").sub
_illegal_char = re.compile("[^0-9a-zA-Z_]+")
_name_regex = re.compile(r"^([a-zA-Z_][0-9a-zA-Z_]*?)(?:_(\d+))?$")


# globals every generated forward has (`torch` is ember)
_custom_builtins = {"inf": math.inf, "nan": math.nan, "NoneType": type(None), "torch": ember,
                    "device": ember.device}
_illegal_names = {k: object() for k in keyword.kwlist}
_illegal_names.update(builtins.__dict__)      # a node may not shadow a builtin name
_illegal_names.update(_custom_builtins)


def _is_magic(x):
    return x.startswith("__") and x.endswith("__")


def _snake_case(s):
    return _snake_case_sub(r"_\1", s).lower()


class _Namespace:
    """Unique names: each object one name, no name twice, builtins never shadowed (torch's
    scheme: `relu`, `relu_1`, ...; `getattr` becomes `getattr_1`)."""

    def __init__(self):
        self._obj_to_name = {}
        self._used_names = set()
        self._base_count = {}

    def create_name(self, candidate, obj):
        if obj is not None and obj in self._obj_to_name:
            return self._obj_to_name[obj]
        match = _name_regex.match(candidate)
        if match is None:
            candidate = _illegal_char.sub("_", candidate) or "_unnamed"
            if candidate[0].isdigit():
                candidate = f"_{candidate}"
            match = _name_regex.match(candidate)
        base, num = match.group(1, 2)
        if num is None or candidate in self._used_names:
            num = self._base_count.get(base, 0)
            if _illegal_names.get(candidate, obj) is not obj:
                num += 1
                candidate = f"{base}_{num}"
        else:
            num = int(num)
        while candidate in self._used_names:
            num += 1
            candidate = f"{base}_{num}"
        self._used_names.add(candidate)
        self._base_count[base] = num
        if obj is not None:
            self._obj_to_name[obj] = candidate
        return candidate

    def associate_name_with_obj(self, name, obj):
        self._obj_to_name.setdefault(obj, name)


@dataclass
class PythonCode:
    """The source of `forward` and the globals it runs with."""
    src: str
    globals: dict[str, Any]


def _format_target(base, target):
    r = base
    for e in target.split("."):
        r = f"{r}.{e}" if e.isidentifier() else f'getattr({r}, "{e}")'
    return r


reflectable_magic_methods = {
    "add": "{} + {}", "sub": "{} - {}", "mul": "{} * {}", "floordiv": "{} // {}",
    "truediv": "{} / {}", "div": "{} / {}", "mod": "{} % {}", "pow": "{} ** {}",
    "lshift": "{} << {}", "rshift": "{} >> {}", "and_": "{} & {}", "or_": "{} | {}",
    "xor": "{} ^ {}", "getitem": "{}[{}]", "matmul": "{} @ {}",
}
magic_methods = {
    "eq": "{} == {}", "ne": "{} != {}", "lt": "{} < {}", "gt": "{} > {}", "le": "{} <= {}",
    "ge": "{} >= {}", "pos": "+{}", "neg": "-{}", "invert": "~{}", **reflectable_magic_methods,
}


def _is_from_ember(obj):
    module = getattr(obj, "__module__", None) or ""
    return module == "torch" or module.startswith("ember")


class _InsertPoint:
    def __init__(self, graph, insert):
        self.graph, self.orig = graph, graph._insert
        graph._insert = insert

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        self.graph._insert = self.orig


class Graph:
    """A list of Nodes: placeholders (the inputs), operations, and one output."""

    def __init__(self, owning_module=None, tracer_cls=None):
        self._root = Node(self, "", "root", "", (), {})
        self._insert = self._root.prepend
        self._len = 0
        self._graph_namespace = _Namespace()
        self._owning_module = owning_module
        self._tracer_cls = tracer_cls

    @property
    def owning_module(self):
        return self._owning_module

    @owning_module.setter
    def owning_module(self, mod):
        self._owning_module = mod

    @property
    def nodes(self):
        """The nodes in order (a live view: erasing while iterating is fine)."""
        return _NodeList(self)

    def find_nodes(self, *, op, target=None):
        return [n for n in self.nodes if n.op == op and (target is None or n.target == target)]

    @property
    def output_node(self):
        return self._root._prev

    # ---- creating and erasing nodes -----------------------------------------------------
    def create_node(self, op, target, args=None, kwargs=None, name=None, type_expr=None):
        candidate = name if name is not None else self._target_to_str(target)
        name = self._graph_namespace.create_name(candidate, None)
        n = Node(self, name, op, target, tuple(args or ()), dict(kwargs or {}), type_expr)
        self._graph_namespace.associate_name_with_obj(name, n)
        self._insert(n)
        self._len += 1
        return n

    def erase_node(self, to_erase):
        if to_erase.users:
            raise RuntimeError(f"Tried to erase Node {to_erase} but it still had "
                               f"{len(to_erase.users)} users in the graph: {to_erase.users}!")
        if to_erase.graph is not self:
            raise RuntimeError(f"Attempting to remove {to_erase} from wrong graph!")
        to_erase._remove_from_list()
        to_erase._erased = True
        self._len -= 1
        to_erase._update_args_kwargs(map_arg(to_erase._args, lambda n: None),
                                     map_arg(to_erase._kwargs, lambda n: None))

    def inserting_before(self, n=None):
        """Context manager: nodes created inside go before `n` (the start if None)."""
        return _InsertPoint(self, (n or self._root._next).prepend)

    def inserting_after(self, n=None):
        """Context manager: nodes created inside go after `n` (the end if None)."""
        return _InsertPoint(self, (n or self._root._prev).append)

    def placeholder(self, name, type_expr=None, default_value=inspect.Signature.empty):
        args = () if default_value is inspect.Signature.empty else (default_value,)
        return self.create_node("placeholder", name, args, type_expr=type_expr)

    def get_attr(self, qualified_name, type_expr=None):
        return self.create_node("get_attr", qualified_name, type_expr=type_expr)

    def call_module(self, module_name, args=None, kwargs=None, type_expr=None):
        return self.create_node("call_module", module_name, args, kwargs, type_expr=type_expr)

    def call_method(self, method_name, args=None, kwargs=None, type_expr=None):
        return self.create_node("call_method", method_name, args, kwargs, type_expr=type_expr)

    def call_function(self, the_function, args=None, kwargs=None, type_expr=None, name=None):
        return self.create_node("call_function", the_function, args, kwargs, name=name,
                                type_expr=type_expr)

    def output(self, result, type_expr=None):
        return self.create_node("output", "output", (result,), type_expr=type_expr)

    def node_copy(self, node, arg_transform=lambda x: x):
        """A copy of `node` (from another graph) in this one; `arg_transform` maps its input
        Nodes to this graph's."""
        args = map_arg(node.args, arg_transform)
        kwargs = map_arg(node.kwargs, arg_transform)
        result = self.create_node(node.op, node.target, args, kwargs, node.name, node.type)
        result.meta = dict(node.meta)
        return result

    def graph_copy(self, g, val_map):
        """Copy the nodes of `g` into this graph (its output excepted: the copied output value
        is returned); `val_map` maps g's nodes to their copies (those already in it are not
        copied)."""
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                return map_arg(node.args[0], lambda n: val_map[n])
            val_map[node] = self.node_copy(node, lambda n: val_map[n])

    def _target_to_str(self, target):
        if callable(target):
            qualified = _qualified_name(target)     # (torch._C's builtins by their names:
            op = qualified.rsplit(".", 1)[1] if qualified.startswith("torch._C._") else \
                target.__name__                     # linalg.norm is _C._linalg.linalg_norm)
        else:
            op = target[2:-2] if _is_magic(target) else target
        return _snake_case(op)

    def eliminate_dead_code(self, is_impure_node=None):
        """Erase the nodes nothing uses (last first); returns whether any went."""
        changed = False
        for node in reversed(self.nodes):
            impure = is_impure_node(node) if is_impure_node else node.is_impure()
            if not impure and not node.users:
                self.erase_node(node)
                changed = True
        return changed

    def lint(self):
        """Check each node's inputs come before it and belong to this graph."""
        seen = set()
        for node in self.nodes:
            if node.graph is not self:
                raise RuntimeError(f"Node '{node}' does not belong to this Graph!")
            for arg in node._input_nodes:
                if arg.graph is not self:
                    raise RuntimeError(f"Argument '{arg}' of Node '{node}' does not belong to "
                                       "this Graph, but was used as an argument! If you are "
                                       "copying nodes from another graph, make sure to use "
                                       "``arg_transform`` on node_copy() to remap values\n"
                                       f"{self}")
                if arg not in seen:
                    raise RuntimeError(f"Argument '{arg}' of Node '{node}' was used before it "
                                       "has been defined! Please check that Nodes in the graph "
                                       "are topologically ordered\n" f"{self}")
            seen.add(node)

    # ---- printing -----------------------------------------------------------------------
    def __str__(self):
        s = "graph():"
        for node in self.nodes:
            s += "\n    " + node.format_node()
        return s

    def print_tabular(self):
        """Print the nodes as a table (needs the `tabulate` package, as torch's does)."""
        try:
            from tabulate import tabulate
        except ImportError:
            print("`print_tabular` relies on the library `tabulate`, which could not be found "
                  "on this machine. Run `pip install tabulate` to install the library.")
            raise
        specs = [[n.op, n.name, n.target, n.args, n.kwargs] for n in self.nodes]
        print(tabulate(specs, headers=["opcode", "name", "target", "args", "kwargs"]))

    # ---- code generation ----------------------------------------------------------------
    def python_code(self, root_module, *, verbose=False):
        """The source of `forward` for this graph, with `root_module` ("self") holding the
        submodules and attributes (`verbose`: with print_readable's comments)."""
        namespace = _Namespace()
        with _node_names(self, namespace):
            return _gen_python_code(list(self.nodes), root_module, namespace, verbose)


class _NodeList:
    def __init__(self, graph, reverse=False):
        self.graph, self.reverse = graph, reverse

    def __len__(self):
        return self.graph._len

    def __iter__(self):
        root = self.graph._root
        step = "_prev" if self.reverse else "_next"
        cur = getattr(root, step)
        while cur is not root:
            nxt = getattr(cur, step)
            if not cur._erased:
                yield cur
            cur = nxt

    def __reversed__(self):
        return iter(_NodeList(self.graph, not self.reverse))


@contextmanager
def _node_names(graph, namespace):
    """While generating code, each node's repr is its (unique) name in `namespace`."""
    nodes = list(graph.nodes)
    for node in nodes:
        node._repr_fn = lambda n: namespace.create_name(n.name, n)
    try:
        yield
    finally:
        for node in nodes:
            node._repr_fn = None


def _gen_python_code(nodes, root_module, namespace, verbose):
    free_vars, body, globals_, wrapped_fns = [], [], {}, {}
    return_annotation = [""]

    def add_global(name_hint, obj):
        if _is_from_ember(obj) and obj is not ember.device:
            return _qualified_name(obj)
        name = namespace.create_name(name_hint, obj)
        globals_[name] = obj
        return name

    for name, obj in _custom_builtins.items():
        globals_[namespace.create_name(name, obj)] = obj

    def type_repr(o):
        return add_global(_type_repr(o), o)

    def get_repr(arg):
        if isinstance(arg, Node):
            return repr(arg)
        if isinstance(arg, tuple) and hasattr(arg, "_fields"):
            return f"{add_global(_qualified_name(type(arg)), type(arg))}{repr(tuple(arg))}"
        if isinstance(arg, ember.Tensor):
            return f"torch.Tensor(size={list(arg.size())}, dtype={str(arg.dtype).split('.')[-1]})"
        if isinstance(arg, tuple):
            return f"({get_repr(arg[0])},)" if len(arg) == 1 else \
                "(" + ", ".join(get_repr(a) for a in arg) + ")"
        if isinstance(arg, list):
            return "[" + ", ".join(get_repr(a) for a in arg) + "]"
        if isinstance(arg, slice):
            return f"slice({get_repr(arg.start)}, {get_repr(arg.stop)}, {get_repr(arg.step)})"
        return repr(arg)

    def format_args(args, kwargs):
        return ", ".join([get_repr(a) for a in args] +
                         [f"{k} = {get_repr(v)}" for k, v in kwargs.items()])

    # free each value right after its last use, as torch's code does
    last_use, user_to_last_uses = {}, {}
    for node in reversed(nodes):
        for n in node._input_nodes:
            if n not in last_use:
                last_use[n] = node
                user_to_last_uses.setdefault(node, []).append(n)

    def delete_unused_values(user):
        if user.op == "placeholder":
            return
        if user.op == "output":
            body.append("\n")
            return
        to_delete = user_to_last_uses.get(user, [])
        if not user.users:
            to_delete = to_delete + [user]
        body.append(f";  {' = '.join([repr(n) for n in to_delete] + ['None'])}\n"
                    if to_delete else "\n")

    def emit_node(node):
        annotation = "" if node.type is None else f" : {type_repr(node.type)}"
        if node.op == "placeholder":
            default = f" = {get_repr(node.args[0])}" if node.args else ""
            free_vars.append(f"{node.target}{annotation}{default}")
            raw_name = node.target.replace("*", "")
            if raw_name != repr(node):
                body.append(f"{repr(node)} = {raw_name}\n")
        elif node.op == "call_method":
            body.append(f"{repr(node)}{annotation} = "
                        f"{_format_target(get_repr(node.args[0]), node.target)}"
                        f"({format_args(node.args[1:], node.kwargs)})")
        elif node.op == "call_function":
            target = node.target
            if getattr(target, "__module__", "") == "_operator" and \
                    target.__name__ in magic_methods:
                body.append(f"{repr(node)}{annotation} = " +
                            magic_methods[target.__name__].format(*map(get_repr, node.args)))
                return
            global_name = add_global(_qualified_name(target), target)
            if global_name == "getattr" and len(node.args) == 2 and \
                    isinstance(node.args[1], str) and node.args[1].isidentifier():
                body.append(f"{repr(node)}{annotation} = "
                            f"{_format_target(get_repr(node.args[0]), node.args[1])}")
                return
            body.append(f"{repr(node)}{annotation} = "
                        f"{global_name}({format_args(node.args, node.kwargs)})")
            if node.meta.get("is_wrapped", False):
                wrapped_fns.setdefault(global_name)
        elif node.op == "call_module":
            body.append(f"{repr(node)}{annotation} = {_format_target(root_module, node.target)}"
                        f"({format_args(node.args, node.kwargs)})")
        elif node.op == "get_attr":
            body.append(f"{repr(node)}{annotation} = {_format_target(root_module, node.target)}")
        elif node.op == "output":
            if node.type is not None:
                return_annotation[0] = f" -> {type_repr(node.type)}"
            body.append(f"return {get_repr(node.args[0])}")
        else:
            raise NotImplementedError(f"node: {node.op} {node.target}")

    for node in nodes:
        if verbose and node.op not in ("placeholder", "output"):
            body.append("\n# No stacktrace found for following nodes\n")     # (none recorded)
            verbose = False
        emit_node(node)
        delete_unused_values(node)
    if not body:
        body.append("pass\n")
    wrap_stmts = ""
    if wrapped_fns:
        from ._symbolic_trace import wrap
        wrap_name = add_global("wrap", wrap)
        wrap_stmts = "\n".join(f'{wrap_name}("{name}")' for name in wrapped_fns)
    if not free_vars or free_vars[0] != "self":
        free_vars.insert(0, "self")
    prologue = f"def forward({', '.join(free_vars)}){return_annotation[0]}:"
    code = "".join(body).lstrip("\n")
    code = "\n".join("    " + line for line in code.split("\n"))
    return PythonCode(f"\n{wrap_stmts}\n\n{prologue}\n{code}", globals_)
