"""torch.torch_version: `ember.__version__` is a TorchVersion, a str that also compares as a PEP 440
version with strings, tuples and Versions, as torch's does (`torch.__version__ >= "2.0"`,
`> (1, 12)`). Its value is the torch release whose API ember follows, with ember's own release as
the local label ("2.13.0+ember.0.1.0"), so programs that test torch's version take their
current-torch paths."""
import re
from collections.abc import Iterable

from .version import __version__ as internal_version

__all__ = ["TorchVersion"]

_PATTERN = (r"v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)"
            r"(?:[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>\d+)?)?"
            r"(?:-(?P<post_n1>\d+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>\d+)?)?"
            r"(?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>\d+)?)?"
            r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?")
_PRE = {"a": "a", "alpha": "a", "b": "b", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc",
        "rc": "rc"}


class InvalidVersion(ValueError):
    """A string that is not a PEP 440 version."""


class Version:
    """A PEP 440 version, ordered as packaging.version.Version orders them."""
    __slots__ = ("_text", "release", "epoch", "pre", "post", "dev", "local", "_key")

    def __init__(self, version):
        m = re.fullmatch(_PATTERN, version.strip(), re.IGNORECASE)   # (re caches it)
        if m is None:
            raise InvalidVersion(f"Invalid version: {version!r}")
        g = m.groupdict()
        self.epoch = int(g["epoch"] or 0)
        self.release = tuple(int(p) for p in g["release"].split("."))
        self.pre = (_PRE[g["pre_l"].lower()], int(g["pre_n"] or 0)) if g["pre_l"] else None
        post = g["post_n1"] or g["post_n2"]
        self.post = int(post or 0) if (g["post_n1"] or g["post_l"]) else None
        self.dev = int(g["dev_n"] or 0) if g["dev_l"] else None
        self.local = ".".join(re.split(r"[-_.]", g["local"].lower())) if g["local"] else None
        self._text = self._normal_form()
        release = list(self.release)
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        pre = ((0, "a b rc".split().index(self.pre[0]), self.pre[1]) if self.pre
               else (-1,) if self.dev is not None and self.post is None else (1,))
        local = () if self.local is None else tuple(
            (1, int(s), "") if s.isdigit() else (0, 0, s) for s in self.local.split("."))
        self._key = (self.epoch, tuple(release), pre,
                     (-1,) if self.post is None else (0, self.post),
                     (1,) if self.dev is None else (0, self.dev),
                     (0,) if self.local is None else (1, local))

    def _normal_form(self):
        text = (f"{self.epoch}!" if self.epoch else "") + ".".join(map(str, self.release))
        if self.pre:
            text += f"{self.pre[0]}{self.pre[1]}"
        if self.post is not None:
            text += f".post{self.post}"
        if self.dev is not None:
            text += f".dev{self.dev}"
        return text + (f"+{self.local}" if self.local else "")

    def __str__(self):
        return self._text

    def __repr__(self):
        return f"<Version('{self._text}')>"

    def __hash__(self):
        return hash(self._key)

    def _compare(self, other, op):
        if not isinstance(other, Version):
            return NotImplemented
        return op(self._key, other._key)

    def __lt__(self, other):
        return self._compare(other, tuple.__lt__)

    def __le__(self, other):
        return self._compare(other, tuple.__le__)

    def __eq__(self, other):
        return self._compare(other, tuple.__eq__)

    def __ge__(self, other):
        return self._compare(other, tuple.__ge__)

    def __gt__(self, other):
        return self._compare(other, tuple.__gt__)


class TorchVersion(str):
    """A str that compares as a version with strings, tuples ((2, 1) is "2.1") and Versions; a
    string that is no version (`"parrot"`) compares as a string."""
    __slots__ = ()

    def _convert_to_version(self, inp):
        if isinstance(inp, Version):
            return inp
        if isinstance(inp, str):
            return Version(inp)
        if isinstance(inp, Iterable):
            return Version(".".join(str(item) for item in inp))
        raise InvalidVersion(inp)

    def _cmp_wrapper(self, cmp, method):
        try:
            return getattr(Version(self), method)(self._convert_to_version(cmp))
        except InvalidVersion:
            return getattr(super(), method)(cmp)


for _method in ("__gt__", "__lt__", "__eq__", "__ge__", "__le__"):
    setattr(TorchVersion, _method, lambda x, y, method=_method: x._cmp_wrapper(y, method))
del _method

__version__ = TorchVersion(internal_version)
