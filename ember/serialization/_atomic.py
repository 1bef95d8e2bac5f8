"""Atomic, durable checkpoint writes: temp file + fsync + os.replace, as checkpoint tools do.

`torch.save` writes in place, so a crash mid-write leaves a truncated file
(pytorch/pytorch#2883). Here the target is always the old or the new complete file."""
import errno
import os
import re
import stat
import threading


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
        _replace(tmp, path, old is not None and old.st_size >= _ASYNC_DELETE)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync(directory or ".", os.O_RDONLY, quiet=True)


_ASYNC_DELETE = 64 << 20


class SyncingWriter:
    """A binary file that starts flushing its pages to disk (in a thread) while it is still
    being written, so the fsync that makes the checkpoint durable has little left to do."""
    STEP = 32 << 20

    def __init__(self, path):
        self.file, self.pending, self.worker = open(path, "wb"), 0, None

    def write(self, data):
        n = self.file.write(data)
        self.pending += n
        if self.pending >= self.STEP and (self.worker is None or not self.worker.is_alive()):
            self.file.flush()
            self.worker = threading.Thread(target=_sync_quietly, args=(self.file.fileno(),))
            self.worker.start()
            self.pending = 0
        return n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.worker is not None:
            self.worker.join()
        self.file.close()


def _sync_quietly(fd):
    try:
        os.fdatasync(fd)
    except OSError:
        pass                    # the final fsync reports real failures


def _replace(tmp, path, big_old_file):
    """os.replace; for a big old file, its deletion (freeing its blocks takes ~20 ms per 100 MB
    on ext4) runs in a thread: a second link keeps the old inode alive through the rename."""
    old = f"{tmp}.old"
    try:
        if not big_old_file:
            raise OSError
        os.link(path, old)
    except OSError:             # no old file, or hard links unsupported: a plain replace
        os.replace(tmp, path)
        return
    os.replace(tmp, path)
    threading.Thread(target=_unlink_quietly, args=(old,), name="ember-save-cleanup").start()


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def remove_stale_temps(directory, base):
    """Delete `<base>.tmp-<pid>[.old]` files whose process no longer exists (SIGKILL, OOM)."""
    pattern = re.compile(re.escape(base) + r"\.tmp-(\d+)(\.old)?$")
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
