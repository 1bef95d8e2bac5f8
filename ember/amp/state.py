"""The autocast flag read once per op by ember/ops/_apply.py (kept in a tiny module so the hot
path imports nothing else)."""


class _Amp:
    __slots__ = ("enabled", "dtype", "device_type")


AMP = _Amp()
AMP.enabled, AMP.dtype, AMP.device_type = False, None, None
