"""Walking nested state dicts: the leaves `flatten_state_dict` turns into dotted keys, and
setting / getting a value along an object path."""
from collections.abc import Mapping

from ..._tensor import Tensor

__all__ = ["traverse_state_dict", "set_element", "get_element"]


def _keep_visiting_tensors(value) -> bool:
    return isinstance(value, Tensor)


def traverse_state_dict(state_dict, visitor, keep_traversing=_keep_visiting_tensors) -> None:
    """Invoke ``visitor(path, value)`` for each leaf of ``state_dict``: mappings are always
    traversed, lists (and tuples) only when they hold tensors or mappings."""

    def _is_terminal(value) -> bool:
        if isinstance(value, Mapping):
            return False
        if not isinstance(value, list):
            return True
        for entry in value:
            if isinstance(entry, (Mapping, list)) and not _is_terminal(entry):
                return False
            if keep_traversing is not None and keep_traversing(entry):
                return False
        return True

    def _traverse_obj(path, value) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                _traverse_obj(path + (str(k),), v)
        elif _is_terminal(value):
            visitor(path, value)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                _traverse_obj(path + (i,), v)

    for key, value in state_dict.items():
        _traverse_obj((str(key),), value)


def traverse_state_dict_v_2_3(state_dict, visitor,
                              keep_traversing=_keep_visiting_tensors) -> None:
    """torch 2.3's traversal (a collection without tensors is one leaf), to load checkpoints
    flattened that way."""

    def _is_terminal(value) -> bool:
        if isinstance(value, Mapping):
            values = value.values()
        elif isinstance(value, list):
            values = value
        else:
            return True
        for entry in values:
            if isinstance(entry, (Mapping, list)) and not _is_terminal(entry):
                return False
            if keep_traversing is not None and keep_traversing(entry):
                return False
        return True

    def _traverse_obj(path, value) -> None:
        if _is_terminal(value):
            visitor(path, value)
        elif isinstance(value, Mapping):
            for k, v in value.items():
                _traverse_obj(path + (str(k),), v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                _traverse_obj(path + (i,), v)

    for key, value in state_dict.items():
        _traverse_obj((str(key),), value)


def set_element(root_dict, path, value) -> None:
    """Set ``value`` in ``root_dict`` along the ``path`` object path."""
    cur_container = root_dict

    def extend_list(lst, idx) -> None:
        while len(lst) <= idx:
            lst.append(None)

    for i in range(1, len(path)):
        prev_key = path[i - 1]
        key = path[i]
        def_val = {} if type(key) is str else []
        if isinstance(cur_container, Mapping):
            cur_container = cur_container.setdefault(prev_key, def_val)
        else:
            extend_list(cur_container, prev_key)
            if cur_container[prev_key] is None:
                cur_container[prev_key] = def_val
            cur_container = cur_container[prev_key]

    key = path[-1]
    if type(key) is int:
        extend_list(cur_container, key)
    cur_container[key] = value


def get_element(root_dict, path, default_value=None):
    """Retrieve the value at ``path`` from ``root_dict``, or ``default_value`` if not found."""
    cur_value = root_dict
    for part in path:
        if type(part) is int:
            if not isinstance(cur_value, list) or len(cur_value) < part:
                return default_value
        elif not isinstance(cur_value, Mapping) or part not in cur_value:
            return default_value
        cur_value = cur_value[part]
    return cur_value
