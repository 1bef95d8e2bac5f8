"""Flattening nested state dicts into dotted keys (and back), as DCP stores them."""
from . import _version
from ._traverse import set_element, traverse_state_dict, traverse_state_dict_v_2_3

FLATTEN_MAPPING = dict


def flatten_state_dict(state_dict):
    """Flatten ``state_dict`` made of nested dicts and lists into a top level dictionary;
    returns it and the mapping from each new key to its object path (``{'a': {'b': x}}``
    gives the key ``a.b``)."""
    flattened, mappings = {}, {}

    def flat_copy(path, value) -> None:
        new_fqn = ".".join(map(str, path))
        if new_fqn in flattened:
            raise ValueError(f"duplicated flatten key {new_fqn}")
        flattened[new_fqn] = value
        mappings[new_fqn] = path

    if _version._derived_version == "2_3":
        traverse_state_dict_v_2_3(state_dict, flat_copy)
    else:
        traverse_state_dict(state_dict, flat_copy)
    return flattened, mappings


def unflatten_state_dict(state_dict, mapping):
    """Restore the original nested state_dict according to ``mapping`` and the flattened
    ``state_dict``."""
    nested = {}
    for key, value in state_dict.items():
        set_element(nested, mapping[key], value)
    return nested
