"""torch.backends.mha: the switch of the fast path of MultiheadAttention and
TransformerEncoder (ember's encoder honours its visible effect: padded positions come out zero)."""

_is_fastpath_enabled = True


def get_fastpath_enabled():
    return _is_fastpath_enabled


def set_fastpath_enabled(value):
    global _is_fastpath_enabled
    _is_fastpath_enabled = value
