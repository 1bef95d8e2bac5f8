"""torch.autograd.graph basics: the Node ABC, gradient edges, increment_version.

Not provided: saved_tensors_hooks / save_on_cpu / disable_saved_tensors_hooks (ember's nodes
keep raw arrays, with no pack/unpack step), register_multi_grad_hook and
allow_mutation_on_saved_tensors."""
import abc
from collections import namedtuple

from .node import Leaf, Node as _Node, OutSlot, output_nr

__all__ = ["Node", "GradientEdge", "get_gradient_edge", "increment_version"]


class Node(abc.ABC):
    """isinstance(t.grad_fn, graph.Node) holds for every ember graph node."""

    @abc.abstractmethod
    def name(self):
        ...

    @property
    @abc.abstractmethod
    def next_functions(self):
        ...


for _cls in (_Node, Leaf, OutSlot):
    Node.register(_cls)

GradientEdge = namedtuple("GradientEdge", ("node", "output_nr"))
GradientEdge.__doc__ = "An edge of the graph: a node and the index of one of its outputs."


def get_gradient_edge(tensor):
    """The edge a gradient for `tensor` flows through (AccumulateGrad for a leaf)."""
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does "
                           "not require gradients")
    edge = tensor._edge()
    return GradientEdge(edge.public(), output_nr(edge))


def increment_version(tensor):
    """Bump the version counter of `tensor` (for writes ember cannot see)."""
    from .._tensor import bump_version
    for t in (tensor if isinstance(tensor, (list, tuple)) else (tensor,)):
        bump_version(t)
