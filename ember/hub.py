"""ember.hub (torch.hub): download checkpoints by URL into torch's cache and load them, and load
models from a repository's hubconf.py (a local directory, or a GitHub repository fetched as a
zip archive).

The cache is torch's own ($TORCH_HOME/hub, by default ~/.cache/torch/hub), so files downloaded by
either library serve both. Checkpoints load with ember.load."""
import hashlib
import importlib.util
import os
import re
import shutil
import sys
import uuid
import warnings
import zipfile
from urllib.parse import urlparse
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

__all__ = ["download_url_to_file", "get_dir", "help", "list", "load",
           "load_state_dict_from_url", "set_dir"]

class _Faketqdm:
    """torch.hub's progress bar where tqdm is not installed: percentages on stderr."""

    def __init__(self, total=None, disable=False, unit=None, *args, **kwargs):
        self.total, self.disable, self.n = total, disable, 0

    def update(self, n):
        if self.disable:
            return
        self.n += n
        if self.total is None:
            sys.stderr.write(f"\r{self.n:.1f} bytes")
        else:
            sys.stderr.write(f"\r{100 * self.n / float(self.total):.1f}%")
        sys.stderr.flush()

    def set_description(self, *args, **kwargs):
        pass

    def write(self, s):
        sys.stderr.write(f"{s}\n")

    def close(self):
        self.disable = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if not self.disable:
            sys.stderr.write("\n")


try:
    from tqdm import tqdm       # (torchvision imports it from torch.hub)
except ImportError:
    tqdm = _Faketqdm

HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
MODULE_HUBCONF = "hubconf.py"
VAR_DEPENDENCY = "dependencies"
READ_DATA_CHUNK = 128 * 1024
_HUB_DIR = [None]


def _torch_home():
    return os.path.expanduser(os.getenv(
        "TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")))


def get_dir():
    """Where hub keeps repositories and checkpoints: set_dir's, else $TORCH_HOME/hub."""
    if os.getenv("TORCH_HUB"):
        warnings.warn("TORCH_HUB is deprecated, please use env TORCH_HOME instead", stacklevel=2)
    return _HUB_DIR[0] if _HUB_DIR[0] is not None else os.path.join(_torch_home(), "hub")


def set_dir(d):
    _HUB_DIR[0] = os.path.expanduser(d)


def download_url_to_file(url, dst, hash_prefix=None, progress=True):
    """Download `url` to `dst` (through a temporary file, moved into place when complete),
    checking the SHA-256 digest starts with `hash_prefix` when given."""
    dst = os.path.expanduser(dst)
    tmp = f"{dst}.{uuid.uuid4().hex}.partial"
    sha256 = hashlib.sha256() if hash_prefix is not None else None
    bar = None
    try:
        with urlopen(Request(url, headers={"User-Agent": "torch.hub"})) as u, \
                open(tmp, "wb") as f:
            size = u.info().get("Content-Length")
            bar = tqdm(total=int(size) if size else None, disable=not progress, unit="B",
                       unit_scale=True, unit_divisor=1024)
            while True:
                buffer = u.read(READ_DATA_CHUNK)
                if not buffer:
                    break
                f.write(buffer)
                if sha256 is not None:
                    sha256.update(buffer)
                bar.update(len(buffer))
        if sha256 is not None:
            digest = sha256.hexdigest()
            if digest[:len(hash_prefix)] != hash_prefix:
                raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got '
                                   f'"{digest}")')
        shutil.move(tmp, dst)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        if os.path.exists(tmp):
            os.remove(tmp)


def _legacy_zip(filename):
    """The member of a single-file zip (torch's legacy checkpoint packaging), else None."""
    if not zipfile.is_zipfile(filename):
        return None
    with zipfile.ZipFile(filename) as zf:
        members = zf.infolist()
    return members[0] if len(members) == 1 and not members[0].is_dir() else None


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True,
                             check_hash=False, file_name=None, weights_only=False):
    """The object saved at `url`, downloaded once into <hub dir>/checkpoints (or model_dir)."""
    from .serialization import load
    model_dir = model_dir or os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name or os.path.basename(urlparse(url).path)
    cached = os.path.join(model_dir, filename)
    if not os.path.exists(cached):
        sys.stdout.write(f'Downloading: "{url}" to {cached}\n')
        match = HASH_REGEX.search(filename) if check_hash else None
        download_url_to_file(url, cached, match.group(1) if match else None, progress=progress)
    member = _legacy_zip(cached)
    if member is not None:
        warnings.warn("Falling back to the old format < 1.6. This support will be deprecated in "
                      "favor of default zipfile format introduced in 1.6. Please redo "
                      "torch.save() to save it in the new zipfile format.", FutureWarning,
                      stacklevel=2)
        with zipfile.ZipFile(cached) as zf:
            target = os.path.realpath(os.path.join(model_dir, member.filename))
            if not target.startswith(os.path.realpath(model_dir) + os.sep):
                raise ValueError(f"Zip member {member.filename} would escape {model_dir}")
            zf.extract(member, model_dir)
        cached = target
    return load(cached, map_location=map_location, weights_only=weights_only)


# ---- models from a hubconf.py ------------------------------------------------------------------
def _parse_repo(github):
    repo, _, ref = github.partition(":")
    owner, _, name = repo.partition("/")
    if not owner or not name:
        raise ValueError(f'Invalid input: github should be in the form of "repo_owner/repo_name'
                         f'[:ref]", got {github}')
    if not ref:     # torch's default branch: main if GitHub has it, else master; offline, the
        try:        # one cached (main first), else torch's RuntimeError
            with urlopen(f"https://github.com/{owner}/{name}/tree/main/"):
                ref = "main"
        except HTTPError as e:
            if e.code != 404:
                raise
            ref = "master"
        except URLError as e:
            for ref in ("main", "master", None):
                if ref and os.path.exists(os.path.join(get_dir(), f"{owner}_{name}_{ref}")):
                    break
            if ref is None:
                raise RuntimeError("It looks like there is no internet connection and the repo "
                                   f"could not be found in the cache ({get_dir()})") from e
    return owner, name, ref


def _repo_dir(github, force_reload, verbose):
    """A GitHub repository's checkout in the hub dir, downloaded as a zip archive if needed."""
    owner, name, ref = _parse_repo(github)
    hub = get_dir()
    os.makedirs(hub, exist_ok=True)
    repo_dir = os.path.join(hub, "_".join([owner, name, ref.replace("/", "_")]))
    if os.path.exists(repo_dir) and not force_reload:
        if verbose:
            sys.stderr.write(f"Using cache found in {repo_dir}\n")
        return repo_dir
    archive = os.path.join(hub, f"{ref.replace('/', '_')}.zip")
    url = f"https://github.com/{owner}/{name}/zipball/{ref}"
    if verbose:
        sys.stderr.write(f'Downloading: "{url}" to {archive}\n')
    download_url_to_file(url, archive, progress=False)
    with zipfile.ZipFile(archive) as zf:
        top = zf.infolist()[0].filename.split("/")[0]
        extracted = os.path.join(hub, top)
        if os.path.exists(extracted):
            shutil.rmtree(extracted)
        zf.extractall(hub)
    os.remove(archive)
    if os.path.exists(repo_dir):
        shutil.rmtree(repo_dir)
    shutil.move(extracted, repo_dir)
    return repo_dir


def _hubconf(repo_dir):
    path = os.path.join(repo_dir, MODULE_HUBCONF)
    sys.path.insert(0, repo_dir)
    try:
        spec = importlib.util.spec_from_file_location(f"hubconf_{uuid.uuid4().hex}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(repo_dir)
    missing = [d for d in getattr(module, VAR_DEPENDENCY, None) or ()
               if importlib.util.find_spec(d) is None]
    if missing:
        raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")
    return module


def _entry(module, model):
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    func = getattr(module, model, None)
    if func is None or not callable(func):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return func


def _resolve(repo_or_dir, source, force_reload, verbose):
    source = source.lower()
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    return repo_or_dir if source == "local" else _repo_dir(repo_or_dir, force_reload, verbose)


def load(repo_or_dir, model, *args, source="github", trust_repo=None, force_reload=False,
         verbose=True, skip_validation=False, **kwargs):
    """`model(*args, **kwargs)` from the repository's hubconf.py."""
    repo_dir = _resolve(repo_or_dir, source, force_reload, verbose)
    sys.path.insert(0, repo_dir)
    try:
        return _entry(_hubconf(repo_dir), model)(*args, **kwargs)
    finally:
        sys.path.remove(repo_dir)


def list(github, force_reload=False, skip_validation=False, trust_repo=None, verbose=True):
    """The entrypoints (public callables) of a GitHub repository's hubconf.py."""
    module = _hubconf(_repo_dir(github, force_reload, verbose))
    return [f for f in dir(module) if callable(getattr(module, f)) and not f.startswith("_")]


def help(github, model, force_reload=False, skip_validation=False, trust_repo=None):
    """The docstring of one entrypoint."""
    return _entry(_hubconf(_repo_dir(github, force_reload, True)), model).__doc__
