"""SummaryWriter with torch.utils.tensorboard's signatures and on-disk layout, built on
tensorboardX's summary protobufs and TFRecord writer (no hand-written protobuf)."""
import contextlib
import itertools
import os
import socket
import sys
import time
import weakref
from datetime import datetime

import numpy as np


@contextlib.contextmanager
def _torch_hidden():
    """tensorboardX imports torch at import time when torch is installed; ember never imports
    torch, so while tensorboardX loads, `import torch` fails and tensorboardX uses NumPy."""
    if "torch" in sys.modules:
        yield
        return
    sys.modules["torch"] = None
    try:
        yield
    finally:
        if "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]


def _tensorboardx():
    """The tensorboardX pieces the writer uses: (RecordWriter, summary module, event_pb2)."""
    try:
        with _torch_hidden():
            from tensorboardX import RecordWriter, summary
            from tensorboardX.proto import event_pb2
    except ImportError:
        raise ModuleNotFoundError(
            "ember.utils.tensorboard.SummaryWriter needs tensorboardX, which is not installed.\n"
            "Install it with:  pip install 'ember[tensorboard]'") from None
    return RecordWriter, summary, event_pb2


def _numpy(x):
    """A NumPy array (or the Python value) for an ember Tensor, array, list or number."""
    from ember._tensor import Tensor
    if isinstance(x, Tensor):
        x = x.detach().cpu()
        if x.dtype.is_floating_point and x.element_size() < 4:   # float16 / bfloat16
            x = x.float()
        return x.numpy()
    return x


def _scalar(x):
    """A Python float for a number or a one-element tensor or array."""
    return float(np.asarray(_numpy(x)).item())


def _tensorflow_bins():
    """TensorBoard's default histogram bucket edges (as torch.utils.tensorboard makes them)."""
    v, pos = 1e-12, []
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    return [-b for b in reversed(pos)] + [0] + pos


class _EventFile:
    """One event file, written synchronously: TFRecord records (tensorboardX's RecordWriter:
    length, masked CRC32C) of Event protobufs. Named as TensorBoard names them (time, host, pid
    and a counter), so two files never collide; flushed to disk every `max_queue` events,
    every `flush_secs` seconds, on flush() and on close()."""

    _uid = itertools.count()

    def __init__(self, log_dir, max_queue, flush_secs, filename_suffix, tbx):
        RecordWriter, _, self._event_pb2 = tbx
        os.makedirs(log_dir, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{next(self._uid)}{filename_suffix}")
        self.log_dir = log_dir
        self._records = RecordWriter(os.path.join(log_dir, name))
        self._finalizer = weakref.finalize(self, self._records.close)   # also runs at exit
        self._max_queue, self._flush_secs = max_queue, flush_secs
        self._pending, self._next_flush = 0, time.monotonic() + flush_secs
        self.add_event(self._event_pb2.Event(wall_time=time.time(),
                                             file_version="brain.Event:2"))

    def get_logdir(self):
        return self.log_dir

    def add_event(self, event):
        self._records.write(event.SerializeToString())
        self._pending += 1
        if self._pending >= self._max_queue or time.monotonic() >= self._next_flush:
            self.flush()

    def add_summary(self, summary, global_step=None, walltime=None):
        event = self._event_pb2.Event(summary=summary,
                                      wall_time=time.time() if walltime is None else walltime)
        if global_step is not None:
            event.step = int(global_step)
        self.add_event(event)

    def flush(self):
        if self._finalizer.alive:
            self._records.flush()
        self._pending, self._next_flush = 0, time.monotonic() + self._flush_secs

    def close(self):
        self.flush()
        self._finalizer()


class SummaryWriter:
    """Writes entries to TensorBoard event files in `log_dir`: buffered, and on disk after every
    `max_queue` events, every `flush_secs` seconds, flush() and close().

    Same constructor and methods as torch.utils.tensorboard.SummaryWriter (add_graph, add_video,
    add_audio, add_embedding, add_hparams, add_pr_curve and add_mesh excepted). Values may be
    ember tensors (any device), NumPy arrays or Python numbers.

    Example::

        from ember.utils.tensorboard import SummaryWriter
        with SummaryWriter("runs/exp1") as writer:
            for step in range(100):
                writer.add_scalar("loss", 1 / (step + 1), step)
    """

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        self._tbx = _tensorboardx()
        self._summary, self._event_pb2 = self._tbx[1], self._tbx[2]
        if not log_dir:
            now = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", now + "_" + socket.gethostname() + comment)
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = self.all_writers = None
        self._get_file_writer()
        self.default_bins = _tensorflow_bins()

    def _new_file_writer(self, log_dir):
        return _EventFile(log_dir, self.max_queue, self.flush_secs, self.filename_suffix, self._tbx)

    def _get_file_writer(self):
        """The main event file, (re)created after close() as torch does."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = self._new_file_writer(self.log_dir)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                Event, SessionLog = self._event_pb2.Event, self._event_pb2.SessionLog
                self.file_writer.add_event(Event(step=self.purge_step,
                                                 file_version="brain.Event:2"))
                self.file_writer.add_event(Event(step=self.purge_step,
                                                 session_log=SessionLog(status=SessionLog.START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self):
        """The directory the event files go to."""
        return self.log_dir

    def _add(self, summary, global_step, walltime):
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None):
        """Log one number (a Python number or a one-element tensor) under `tag`."""
        self._add(self._summary.scalar(tag, _scalar(scalar_value)), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Log several numbers on one chart: each goes to its own run directory
        `<log_dir>/<main_tag>_<tag>`, under the tag `main_tag` (torch's layout)."""
        walltime = time.time() if walltime is None else walltime
        log_dir = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            run_dir = os.path.join(log_dir, main_tag.replace("/", "_") + "_" + tag)
            if run_dir not in self.all_writers:
                self.all_writers[run_dir] = self._new_file_writer(run_dir)
            self.all_writers[run_dir].add_summary(self._summary.scalar(main_tag, _scalar(value)),
                                                  global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        """Log a histogram of `values`; `bins` as numpy.histogram takes it, or 'tensorflow'."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        values = np.asarray(_numpy(values))
        self._add(self._summary.histogram(tag, values, bins, max_bins=max_bins), global_step,
                  walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """Log an image: uint8 in [0, 255] or float in [0, 1], laid out as `dataformats`."""
        img = np.asarray(_numpy(img_tensor))
        self._add(self._summary.image(tag, img, dataformats=dataformats), global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        """Log a batch of images, tiled into one grid."""
        self.add_image(tag, img_tensor, global_step, walltime, dataformats)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """Log a matplotlib figure (or a list of figures) as an image."""
        from tensorboardX.utils import figure_to_image
        layout = "NCHW" if isinstance(figure, list) else "CHW"
        self.add_image(tag, figure_to_image(figure, close), global_step, walltime, layout)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """Log a (Markdown) string."""
        self._add(self._summary.text(tag, text_string), global_step, walltime)

    def flush(self):
        """Write everything pending to disk."""
        if self.all_writers is not None:
            for writer in self.all_writers.values():
                writer.flush()

    def close(self):
        """Flush and close every event file; writing again afterwards opens new ones."""
        if self.all_writers is not None:
            for writer in self.all_writers.values():
                writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()
