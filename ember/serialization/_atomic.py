"""Atomic, durable checkpoint writes: temp file + fsync + os.replace, as checkpoint tools do.

`torch.save` writes in place, so a crash mid-write leaves a truncated file
(pytorch/pytorch#2883). Here the target is always the old or the new complete file."""
import errno
import os
import re
import stat


def atomic_write(path, produce):
    """Call `produce(tmp_path)` for `<path>.tmp-<pid>`, fsync it, then rename it over `path`."""
    path = os.path.realpath(os.fspath(path))     # write through symlinks, as open() would
    directory, base = os.path.split(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    old = _stat(path)
    if old is not None and not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    remove_stale_temps(directory, base)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        produce(tmp)
        _fsync(tmp, os.O_RDONLY)
        if old is not None:
            _copy_owner_and_mode(old, tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync(directory or ".", os.O_RDONLY, quiet=True)


def remove_stale_temps(directory, base):
    """Delete `<base>.tmp-<pid>` files whose writer process no longer exists (SIGKILL, OOM)."""
    pattern = re.compile(re.escape(base) + r"\.tmp-(\d+)$")
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return
    for name in names:
        m = pattern.match(name)
        if m and not _alive(int(m.group(1))):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stat(path):
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _copy_owner_and_mode(old, tmp):
    try:
        os.chown(tmp, old.st_uid, old.st_gid)
    except OSError:
        pass                    # only root may give files away; the mode still carries over
    os.chmod(tmp, stat.S_IMODE(old.st_mode))


def _fsync(path, flags, quiet=False):
    try:
        fd = os.open(path, flags)
    except OSError:
        if quiet:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not quiet:           # a directory fsync may be unsupported; a file fsync may not fail
            raise
    finally:
        os.close(fd)
