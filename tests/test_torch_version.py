"""ember.__version__ is a TorchVersion: the torch API release ember follows, comparing as torch's
TorchVersion compares (with strings, tuples, Versions), ordered by PEP 440 as packaging orders."""
import itertools
import operator

import pytest
import torch
from torch.torch_version import TorchVersion as TorchTV, Version as TorchV

import ember
from ember.torch_version import InvalidVersion, TorchVersion, Version

VERSIONS = ["1.0", "1.0.0", "1", "1.0a1", "1.0a2", "1.0b1", "1.0rc1", "1.0c2", "1.0.dev0",
            "1.0a1.dev3", "1.0.post1", "1.0-1", "1.0.post1.dev2", "1.0+cpu", "1.0+cu118",
            "1.0+5", "1.0+abc.5", "1!0.5", "2.13.0+cpu", "2.13.0+ember.0.1.0", "2.13.1a0",
            "v2.0", "2.0.0-rc.1", "1.10", "1.9", "1.10.0a0+git1234", "0.1.0", " 3.0 ",
            "1.0alpha1", "1.0-preview2", "1.0_post3", "1.0.rev4"]
OPS = [operator.lt, operator.le, operator.eq, operator.ge, operator.gt]


def test_version_is_the_torch_api_release_with_embers_own_as_local_label():
    assert isinstance(ember.__version__, TorchVersion) and isinstance(ember.__version__, str)
    assert ember.__version__ == f"{ember.version.api_version}+ember.{ember.version.ember_version}"
    assert ember.__version__ == torch.__version__.split("+")[0] + "+ember.0.1.0"
    assert ember.version.__version__ == str(ember.__version__)
    assert ember.__version__ >= "2.0" and ember.__version__ > (1, 12) and ember.__version__ < (3,)


@pytest.mark.parametrize("text", VERSIONS)
def test_version_parse_and_normal_form_as_packaging(text):
    ours, theirs = Version(text), TorchV(text)
    assert str(ours) == str(theirs) and repr(ours) == repr(theirs)
    assert (ours.release, ours.epoch, ours.pre, ours.post, ours.dev, ours.local) == \
        (theirs.release, theirs.epoch, theirs.pre, theirs.post, theirs.dev, theirs.local)


def test_version_order_as_packaging():
    for a, b in itertools.product(VERSIONS, repeat=2):
        for op in OPS:
            assert op(Version(a), Version(b)) == op(TorchV(a), TorchV(b)), (a, op.__name__, b)
    assert hash(Version("1.0")) == hash(Version("1.0.0"))


@pytest.mark.parametrize("bad", ["parrot", "1.0+", "1..0", ""])
def test_invalid_versions_raise(bad):
    with pytest.raises(InvalidVersion):
        Version(bad)
    assert isinstance(InvalidVersion("x"), ValueError)


@pytest.mark.parametrize("mine", ["2.13.0+cpu", "1.10.0a0", "2.0"])
def test_torchversion_compares_as_torchs(mine):
    others = ["2.13.0+cpu", "2.13", "2.12.9", "1.10", "1.9.1", "2.0", "parrot", "zzz", "2.13.0",
              (2, 13, 0), (2, 0), [1, 10], (3,), "1.10.0a0"]
    for other, op in itertools.product(others, OPS + [operator.ne]):
        assert op(TorchVersion(mine), other) == op(TorchTV(mine), other), (mine, op, other)
    assert TorchVersion(mine) > Version("1.0") and TorchTV(mine) > TorchV("1.0")
    for other in (None, 3):
        with pytest.raises(TypeError):
            TorchVersion(mine) < other
        with pytest.raises(TypeError):
            TorchTV(mine) < other
    assert hash(TorchVersion(mine)) == hash(mine)
