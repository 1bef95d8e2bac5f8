"""ember.hub against torch.hub: checkpoints downloaded by URL (file:// here) into the shared
cache and loaded, hash checks, single-file zip checkpoints, and models from a hubconf.py (a
local directory, and a GitHub archive served from disk)."""
import hashlib
import os
import shutil
import zipfile

import numpy as np
import pytest
import torch

import ember

HUBCONF = '''"""A tiny model repository."""
dependencies = ["numpy"]


def tiny(width=3, scale=1.0):
    """A Linear(2, width) whose weight is all `scale`."""
    import ember
    m = ember.nn.Linear(2, width)
    ember.nn.init.constant_(m.weight, scale)
    return m


def _helper():
    return None
'''


@pytest.fixture
def hub_dirs(tmp_path):
    old = ember.hub.get_dir(), torch.hub.get_dir()
    ember.hub.set_dir(str(tmp_path / "ember_hub"))
    torch.hub.set_dir(str(tmp_path / "torch_hub"))
    yield tmp_path
    ember.hub.set_dir(old[0])
    torch.hub.set_dir(old[1])


def _checkpoint(path):
    sd = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.ones(2, dtype=torch.float64)}
    torch.save(sd, path)
    return sd


def test_default_dir_is_torchs(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert ember.hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "th" / "hub")


def test_state_dict_from_url_downloads_once_and_loads(hub_dirs, capsys):
    src = hub_dirs / "ckpt.pth"
    want = _checkpoint(src)
    url = src.as_uri()
    got = ember.hub.load_state_dict_from_url(url, progress=False, weights_only=True)
    ref = torch.hub.load_state_dict_from_url(url, progress=False, weights_only=True)
    assert sorted(got) == sorted(ref) == sorted(want)
    for k in want:
        np.testing.assert_array_equal(got[k].numpy(), ref[k].numpy())
        assert str(got[k].dtype) == str(ref[k].dtype)
    cached = hub_dirs / "ember_hub" / "checkpoints" / "ckpt.pth"
    assert cached.is_file() and f'Downloading: "{url}" to {cached}' in capsys.readouterr().out
    src.unlink()                                      # the second call reads the cache
    again = ember.hub.load_state_dict_from_url(url, progress=False)
    assert capsys.readouterr().out == "" and again["w"].tolist() == want["w"].tolist()


def test_hash_check_and_file_name(hub_dirs):
    data = hub_dirs / "plain.pth"
    _checkpoint(data)
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    good = hub_dirs / f"net-{digest[:8]}.pth"
    shutil.copy(data, good)
    ember.hub.load_state_dict_from_url(good.as_uri(), check_hash=True, progress=False)
    bad = hub_dirs / "net-deadbeef.pth"
    shutil.copy(data, bad)
    msgs = []
    for lib in (ember, torch):
        with pytest.raises(RuntimeError) as e:
            lib.hub.load_state_dict_from_url(bad.as_uri(), check_hash=True, progress=False)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1] == f'invalid hash value (expected "deadbeef", got "{digest}")'
    renamed = ember.hub.load_state_dict_from_url(data.as_uri(), file_name="other.pt",
                                                 progress=False)
    assert (hub_dirs / "ember_hub" / "checkpoints" / "other.pt").is_file() and "w" in renamed


def test_single_file_zip_checkpoint(hub_dirs):
    inner = hub_dirs / "weights.pth"
    _checkpoint(inner)
    legacy = hub_dirs / "legacy.zip"
    with zipfile.ZipFile(legacy, "w") as zf:
        zf.write(inner, "weights.pth")
    for lib in (ember, torch):
        with pytest.warns(FutureWarning, match="Falling back to the old format < 1.6"):
            got = lib.hub.load_state_dict_from_url(legacy.as_uri(), progress=False)
        assert got["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def _repo(root):
    root.mkdir()
    (root / "hubconf.py").write_text(HUBCONF)
    return root


def test_load_from_a_local_hubconf(hub_dirs):
    repo = _repo(hub_dirs / "repo")
    m = ember.hub.load(str(repo), "tiny", 4, source="local", scale=0.5)
    assert isinstance(m, ember.nn.Linear) and tuple(m.weight.shape) == (4, 2)
    assert m.weight.tolist() == [[0.5, 0.5]] * 4
    with pytest.raises(RuntimeError, match="Cannot find callable missing in hubconf"):
        ember.hub.load(str(repo), "missing", source="local")
    with pytest.raises(ValueError, match='Unknown source: "svn"'):
        ember.hub.load(str(repo), "tiny", source="svn")
    (repo / "hubconf.py").write_text(HUBCONF.replace('["numpy"]', '["numpy", "no_such_pkg"]'))
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="Missing dependencies: no_such_pkg"):
            lib.hub.load(str(repo), "tiny", source="local")


def test_github_repository_from_its_archive(hub_dirs, monkeypatch):
    """list / help / load of "owner/name:ref": the zipball (served from disk here) is unpacked
    once into the hub dir and reused."""
    repo = _repo(hub_dirs / "owner-name-abc123")
    archive = hub_dirs / "served.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(repo / "hubconf.py", "owner-name-abc123/hubconf.py")
    fetched = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        fetched.append(url)
        shutil.copy(archive, dst)
    monkeypatch.setattr(ember.hub, "download_url_to_file", fake_download)
    assert ember.hub.list("owner/name:v1", verbose=False) == ["tiny"]
    assert fetched == ["https://github.com/owner/name/zipball/v1"]
    assert ember.hub.help("owner/name:v1", "tiny").startswith("A Linear(2, width)")
    m = ember.hub.load("owner/name:v1", "tiny", verbose=False)
    assert tuple(m.weight.shape) == (3, 2) and len(fetched) == 1          # from the cache
    assert (hub_dirs / "ember_hub" / "owner_name_v1" / "hubconf.py").is_file()
    ember.hub.load("owner/name:v1", "tiny", force_reload=True, verbose=False)
    assert len(fetched) == 2
    with pytest.raises(ValueError, match="Invalid input: github should be in the form"):
        ember.hub.list("nonsense")


def test_model_zoo_load_url(hub_dirs):
    """Older model code loads pretrained weights through torch.utils.model_zoo.load_url."""
    import torch.utils.model_zoo
    import ember.utils.model_zoo
    src = hub_dirs / "zoo.pth"
    want = _checkpoint(src)
    got = ember.utils.model_zoo.load_url(src.as_uri(), progress=False)
    ref = torch.utils.model_zoo.load_url(src.as_uri(), progress=False)
    assert sorted(got) == sorted(ref) == sorted(want)
    assert all(got[k].tolist() == ref[k].tolist() for k in want)


@pytest.mark.parametrize("progress", [True, False])
def test_download_progress_without_tqdm(tmp_path, monkeypatch, capsys, progress):
    """Without tqdm, torch.hub's stand-in writes the percentage done to stderr; hub.tqdm is
    what torchvision imports."""
    src = tmp_path / "blob.bin"
    src.write_bytes(bytes(range(256)) * 1200)            # three read chunks
    seen = []
    for lib in (ember, torch):
        monkeypatch.setattr(lib.hub, "tqdm", lib.hub._Faketqdm)
        lib.hub.download_url_to_file(src.as_uri(), str(tmp_path / f"{lib.__name__}.bin"),
                                     progress=progress)
        seen.append(capsys.readouterr().err)
        assert (tmp_path / f"{lib.__name__}.bin").read_bytes() == src.read_bytes()
    assert seen[0] == seen[1]
    assert ("100.0%" in seen[0]) == progress
