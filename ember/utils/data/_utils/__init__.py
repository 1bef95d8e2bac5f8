"""torch.utils.data._utils: the path torch's documentation gives for extending default_collate
(`from torch.utils.data._utils.collate import collate, default_collate_fn_map`); its
`collate` is ember's collation module itself, so that updates to the map reach default_collate."""
import sys

from .. import _collate as collate

sys.modules[__name__ + ".collate"] = collate
