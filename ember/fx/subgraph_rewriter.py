"""torch.fx.replace_pattern: find each occurrence of a pattern (a function or GraphModule,
traced) in a GraphModule's graph and put the replacement's nodes in its place.

A match is torch's: same ops and targets, literals equal, the pattern's inputs bound to any
values (consistently), inner nodes used only inside the match; overlapping matches are dropped,
first come first served. torch's extra check that a match could be fused without a cycle is
not made."""
import copy
from typing import NamedTuple

from ._symbolic_trace import symbolic_trace
from .graph import Graph
from .graph_module import GraphModule
from .node import Node
from .. import Tensor
from ..nn import Module

__all__ = ["Match", "replace_pattern"]


class Match(NamedTuple):
    anchor: Node                # the pattern node the match was grown from
    nodes_map: dict             # pattern node -> graph node


def _graph_of(fn):
    if isinstance(fn, GraphModule):
        return fn.graph
    return fn if isinstance(fn, Graph) else symbolic_trace(fn).graph


class _Matcher:
    def __init__(self, pattern):
        self.placeholders = [n for n in pattern.nodes if n.op == "placeholder"]
        output = pattern.output_node
        self.returning = output.all_input_nodes
        self.anchors = [n for n in self.returning if len(n.users) == 1]

    @staticmethod
    def _same(pn, gn):
        if pn.op == "placeholder":
            return True
        if pn.op != gn.op:
            return False
        if pn.op == "get_attr":
            pv = _fetch(pn.graph.owning_module, pn.target)
            return type(pv) is type(_fetch(gn.graph.owning_module, gn.target)) and \
                isinstance(pv, Tensor)
        return pn.op == "output" or pn.target == gn.target

    def _match_literal(self, pa, ga, nodes_map):
        if isinstance(pa, Node):
            if pa.op != "placeholder":
                return False
            return nodes_map.setdefault(pa, ga) is ga
        return not isinstance(ga, Node) and type(ga) is type(pa) and ga == pa

    def _match_args(self, pargs, gargs, nodes_map):
        if len(pargs) != len(gargs):
            return False
        for pa, ga in zip(pargs, gargs):
            if isinstance(pa, Node) and isinstance(ga, Node):
                ok = self._match_node(pa, ga, nodes_map)
            elif isinstance(pa, (list, tuple)) and isinstance(ga, (list, tuple)):
                ok = self._match_args(pa, ga, nodes_map)
            else:
                ok = self._match_literal(pa, ga, nodes_map)
            if not ok:
                return False
        return True

    def _match_node(self, pn, gn, nodes_map):
        if pn in nodes_map:
            return nodes_map[pn] is gn
        if gn in nodes_map.values() or not self._same(pn, gn):
            return False
        nodes_map[pn] = gn
        if pn.op == "placeholder":
            return True
        if len(pn.args) != len(gn.args) or list(pn.kwargs) != list(gn.kwargs):
            return False
        return self._match_args([*pn.args, *pn.kwargs.values()],
                                [*gn.args, *gn.kwargs.values()], nodes_map)

    def _contained(self, nodes_map):
        inner = {gn: pn for pn, gn in nodes_map.items() if pn.op != "placeholder"}
        return all(pn in self.returning or all(u in inner for u in gn.users)
                   for gn, pn in inner.items())

    def match(self, graph):
        candidates = [(a, [n for n in graph.nodes if self._same(a, n)]) for a in self.anchors]
        found = []

        def grow(i, nodes_map):
            if i == len(candidates):
                found.append(nodes_map)
                return
            anchor, nodes = candidates[i]
            for node in nodes:
                trial = dict(nodes_map)
                if self._match_node(anchor, node, trial):
                    grow(i + 1, trial)
        if candidates:
            grow(0, {})
        matches, used = [], set()
        for nodes_map in found:
            inner = [gn for pn, gn in nodes_map.items()
                     if pn.op not in ("placeholder", "output")]
            if self._contained(nodes_map) and not used.intersection(inner):
                used.update(inner)
                matches.append(nodes_map)
        return matches


def _fetch(mod, target):
    for atom in target.split("."):
        mod = getattr(mod, atom)
    return mod


def replace_pattern(gm, pattern, replacement):
    """Replace every (non-overlapping) match of `pattern` in `gm.graph` by `replacement`
    (both functions or GraphModules taking the same inputs); returns the Matches."""
    pattern_graph = _graph_of(pattern)
    replacement_graph = _graph_of(replacement)
    matcher = _Matcher(pattern_graph)
    graph = gm.graph
    changed, results = {}, []
    for nodes_map in matcher.match(graph):
        for p in matcher.placeholders:     # an input an earlier replacement has changed
            nodes_map[p] = changed.get(nodes_map[p], nodes_map[p])
        inputs = [nodes_map[p] for p in matcher.placeholders]
        val_map = dict(zip([n for n in replacement_graph.nodes if n.op == "placeholder"],
                           inputs))
        returning = [nodes_map[p] for p in matcher.returning]
        users = {u for n in returning for u in n.users}
        if users:
            insert_point = next(n for n in graph.nodes if n in users)
        else:
            insert_point = next(n for n in reversed(graph.nodes) if n in returning).next
        with graph.inserting_before(insert_point):
            copied = graph.graph_copy(replacement_graph, val_map)
        for old, new in zip(returning, copied if isinstance(copied, (tuple, list))
                            else (copied,)):
            old.replace_all_uses_with(new)
            changed[old] = new
        for pn in reversed(pattern_graph.nodes):
            if pn.op not in ("placeholder", "output"):
                graph.erase_node(nodes_map[pn])
        results.append(Match(anchor=matcher.anchors[0], nodes_map=nodes_map))
    gm.recompile()
    if isinstance(replacement, Module):
        _copy_attributes(gm, replacement)
    return results


def _copy_attributes(gm, replacement):
    """Bring over the submodules and attributes the replacement's nodes name."""
    gm.delete_all_unused_submodules()
    for node in gm.graph.nodes:
        if node.op in ("call_module", "get_attr"):
            try:
                _fetch(gm, node.target)
            except AttributeError:
                value = copy.deepcopy(_fetch(replacement, node.target))
                if isinstance(value, Module):
                    gm.add_submodule(node.target, value)
                else:
                    setattr(gm, node.target, value)
    gm.graph.lint()
