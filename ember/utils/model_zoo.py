"""torch.utils.model_zoo: the older name of ember.hub's load_state_dict_from_url."""
from ..hub import load_state_dict_from_url as load_url  # noqa: F401
