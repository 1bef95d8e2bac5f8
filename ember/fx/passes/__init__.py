"""torch.fx.passes: ShapeProp (shape_prop) for now; replace_pattern lives in subgraph_rewriter."""
from . import shape_prop

__all__ = ["shape_prop"]
