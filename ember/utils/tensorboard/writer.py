"""SummaryWriter with torch.utils.tensorboard's signatures, on-disk layout and protobufs, built
on tensorboardX's protobuf classes, summary builders and TFRecord writer; where tensorboardX's
builders write something else than torch's summary.py, _summary.py follows torch."""
import contextlib
import io
import itertools
import os
import socket
import sys
import tempfile
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
    """The tensorboardX pieces the writer uses: (RecordWriter, summary module, event_pb2,
    ember's torch-following summary builders)."""
    try:
        with _torch_hidden():
            from tensorboardX import RecordWriter, summary
            from tensorboardX.proto import event_pb2

            from . import _summary
    except ImportError:
        raise ModuleNotFoundError(
            "ember.utils.tensorboard.SummaryWriter needs tensorboardX, which is not installed.\n"
            "Install it with:  pip install 'ember[tensorboard]'") from None
    return RecordWriter, summary, event_pb2, _summary


def _numpy(x):
    """A NumPy array (or the Python value) for an ember Tensor, array, list or number."""
    from ember._tensor import Tensor
    if isinstance(x, Tensor):
        x = x.detach().cpu()
        if x.dtype.is_floating_point and x.element_size() < 4:   # float16 / bfloat16
            x = x.float()
        return x.numpy()
    return x


def _python(x):
    """A Python number or list for a tensor or array (protobuf fields take no tensors)."""
    x = _numpy(x)
    return x.tolist() if isinstance(x, (np.ndarray, np.generic)) else x


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
        self._RecordWriter, _, self._event_pb2, _ = tbx
        os.makedirs(log_dir, exist_ok=True)
        self.log_dir, self._suffix = log_dir, filename_suffix
        self._max_queue, self._flush_secs = max_queue, flush_secs
        self._open()

    def _open(self):
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{next(self._uid)}{self._suffix}")
        self._records = self._RecordWriter(os.path.join(self.log_dir, name))
        self._finalizer = weakref.finalize(self, self._records.close)   # also runs at exit
        self._pending, self._next_flush = 0, time.monotonic() + self._flush_secs
        self.add_event(self._event_pb2.Event(file_version="brain.Event:2"))

    def get_logdir(self):
        return self.log_dir

    def add_event(self, event, step=None, walltime=None):
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self._records.write(event.SerializeToString())
        self._pending += 1
        if self._pending >= self._max_queue or time.monotonic() >= self._next_flush:
            self.flush()

    def add_summary(self, summary, global_step=None, walltime=None):
        self.add_event(self._event_pb2.Event(summary=summary), global_step, walltime)

    def add_onnx_graph(self, graph, walltime=None):
        """Write a GraphDef protobuf (TensorBoard's Graphs tab)."""
        self.add_event(self._event_pb2.Event(graph_def=graph.SerializeToString()), None,
                       walltime)

    def flush(self):
        if self._finalizer.alive:
            self._records.flush()
        self._pending, self._next_flush = 0, time.monotonic() + self._flush_secs

    def close(self):
        self.flush()
        self._finalizer()

    def reopen(self):
        """After close(), go on writing in the same directory, into a new event file; nothing
        if not closed."""
        if not self._finalizer.alive:
            self._open()


class SummaryWriter:
    """Writes entries to TensorBoard event files in `log_dir`: buffered, and on disk after every
    `max_queue` events, every `flush_secs` seconds, flush() and close().

    Same constructor, methods and protobufs as torch.utils.tensorboard.SummaryWriter, but for
    add_graph, which exports the model to ONNX (ember.onnx.export) and writes the GraphDef
    tensorboardX's add_onnx_graph makes of it: ONNX operators (Gemm, Relu, ...) where torch
    writes a TorchScript trace's aten operators, and no run metadata (step stats). Values may be
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
        self._summary, self._event_pb2, self._torch_summary = self._tbx[1:]
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

    def _add(self, summary, global_step=None, walltime=None):
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None):
        """Log hyperparameters (bool, str, int, float, a tensor's first element; None is left
        out) and metrics for the HParams tab: written, with each metric as a scalar, to a
        new run `<log_dir>/<run_name>`, the current time.time() when run_name is not given."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        exp, ssi, sei = self._torch_summary.hparams(hparam_dict, metric_dict,
                                                    hparam_domain_discrete)
        if not run_name:
            run_name = str(time.time())
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=logdir) as w_hp:
            for summary in (exp, ssi, sei):
                w_hp.file_writer.add_summary(summary, global_step)
            for k, v in metric_dict.items():
                w_hp.add_scalar(k, v, global_step)

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        """Log one number (a Python number or a one-element tensor) under `tag`; new_style
        writes it as a float (double_precision: double) tensor of the scalars plugin."""
        self._add(self._torch_summary.scalar(tag, scalar_value, new_style, double_precision),
                  global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Log several numbers on one chart: each goes to its own run directory
        `<log_dir>/<main_tag>_<tag>`, under the tag `main_tag` (torch's layout)."""
        walltime = time.time() if walltime is None else walltime
        log_dir = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            run_dir = os.path.join(log_dir, main_tag.replace("/", "_") + "_" + tag)
            if run_dir not in self.all_writers:
                self.all_writers[run_dir] = self._new_file_writer(run_dir)
            self.all_writers[run_dir].add_summary(self._torch_summary.scalar(main_tag, value),
                                                  global_step, walltime)

    def add_tensor(self, tag, tensor, global_step=None, walltime=None):
        """Log a whole tensor (any dtype torch's writer takes) as a TensorProto."""
        from ember._tensor import Tensor
        if not isinstance(tensor, Tensor):
            import ember
            tensor = ember.as_tensor(tensor)
        self._add(self._torch_summary.tensor_proto(tag, tensor), global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        """Log a histogram of `values`; `bins` as numpy.histogram takes it, or 'tensorflow'."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        values = np.asarray(_numpy(values))
        self._add(self._summary.histogram(tag, values, bins, max_bins=max_bins), global_step,
                  walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits,
                          bucket_counts, global_step=None, walltime=None):
        """Log a histogram given by its statistics and buckets (upper limit, count)."""
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        self._add(self._summary.histogram_raw(
            tag, *map(_python, (min, max, num, sum, sum_squares, bucket_limits, bucket_counts))),
            global_step, walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """Log an image: uint8 in [0, 255] or float in [0, 1], laid out as `dataformats`."""
        img = np.asarray(_numpy(img_tensor))
        self._add(self._summary.image(tag, img, dataformats=dataformats), global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        """Log a batch of images, tiled into one grid."""
        self.add_image(tag, img_tensor, global_step, walltime, dataformats)

    def add_image_with_boxes(self, tag, img_tensor, box_tensor, global_step=None, walltime=None,
                             rescale=1, dataformats="CHW", labels=None):
        """Log an image with red boxes (an (N, 4) x1, y1, x2, y2 tensor) and their labels (one
        per box, else none are drawn)."""
        if labels is not None:
            if isinstance(labels, str):
                labels = [labels]
            if len(labels) != box_tensor.shape[0]:
                labels = None
        self._add(self._torch_summary.image_boxes(tag, img_tensor, box_tensor, rescale=rescale,
                                                  dataformats=dataformats, labels=labels),
                  global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """Log a matplotlib figure (or a list of figures) as an image."""
        from tensorboardX.utils import figure_to_image
        layout = "NCHW" if isinstance(figure, list) else "CHW"
        self.add_image(tag, figure_to_image(figure, close), global_step, walltime, layout)

    def add_video(self, tag, vid_tensor, global_step=None, fps=4, walltime=None):
        """Log an (N, T, C, H, W) batch of videos as one animated GIF; needs moviepy (< 2, for
        its moviepy.editor), without which, as torch, it prints why and logs the tag alone."""
        self._add(self._torch_summary.video(tag, vid_tensor, fps), global_step, walltime)

    def add_audio(self, tag, snd_tensor, global_step=None, sample_rate=44100, walltime=None):
        """Log a (1, L) clip of values in [-1, 1] as mono 16-bit WAV."""
        self._add(self._torch_summary.audio(tag, snd_tensor, sample_rate=sample_rate),
                  global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """Log a (Markdown) string."""
        self._add(self._summary.text(tag, text_string), global_step, walltime)

    def add_onnx_graph(self, prototxt):
        """Log the graph of the ONNX model file `prototxt` (printing its node names, as torch)."""
        from tensorboardX.onnx_graph import load_onnx_graph
        self._get_file_writer().add_onnx_graph(load_onnx_graph(prototxt))

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """Log the graph of `model` run on `input_to_model` (a tensor or a tuple/list of them):
        exported with ember.onnx.export and written as add_onnx_graph writes it (see the class
        docstring for what differs from torch). verbose prints the GraphDef; use_strict_trace
        is taken for torch's signature (no TorchScript trace here)."""
        from tensorboardX.onnx_graph import load_onnx_graph

        from ember import onnx
        args = tuple(input_to_model) if isinstance(input_to_model, list) else input_to_model
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.onnx")
            onnx.export(model, () if args is None else args, path, dynamo=False)
            with contextlib.redirect_stdout(io.StringIO()):     # its node-name prints
                graph = load_onnx_graph(path)
        if verbose:
            print(graph)
        self._get_file_writer().add_onnx_graph(graph)

    @staticmethod
    def _encode(rawstr):
        return rawstr.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None, tag="default",
                      metadata_header=None):
        """Log an (N, D) matrix for the Projector tab, as torch lays it out: under
        `<log_dir>/<global_step:05>/<tag>/`, tensors.tsv, metadata.tsv (one label per row, or
        rows of metadata_header's columns) and sprite.png (label_img, (N, C, H, W), tiled into
        a square), and an entry in `<log_dir>/projector_config.pbtxt`."""
        from ._embedding import embedding_info, make_mat, make_sprite, make_tsv
        mat = self._torch_summary.make_np(mat)
        if global_step is None:
            global_step = 0
        subdir = f"{str(global_step).zfill(5)}/{self._encode(tag)}"
        save_path = os.path.join(self._get_file_writer().get_logdir(), subdir)
        if os.path.exists(save_path):
            if not os.path.isdir(save_path):
                raise NotADirectoryError(f"Path: `{save_path}` exists, but is a file. "
                                         "Cannot proceed.")
            print("warning: Embedding dir exists, did you set global_step for add_embedding()?")
        else:
            os.makedirs(save_path)
        if metadata is not None:
            if mat.shape[0] != len(metadata):
                raise AssertionError("#labels should equal with #data points")
            make_tsv(metadata, save_path, metadata_header=metadata_header)
        if label_img is not None:
            if mat.shape[0] != label_img.shape[0]:
                raise AssertionError("#images should equal with #data points")
            make_sprite(self._torch_summary.make_np(label_img), save_path)
        if mat.ndim != 2:
            raise AssertionError("mat should be 2D, where mat.size(0) is the number of data points")
        make_mat(mat, save_path)
        # the config file is rewritten whole with every embedding, as torch does
        if not hasattr(self, "_projector_config"):
            self._projector_config = []
        self._projector_config.append(embedding_info(metadata, label_img, subdir, global_step,
                                                     tag))
        with open(os.path.join(self._get_file_writer().get_logdir(),
                               "projector_config.pbtxt"), "w") as f:
            f.write("".join(self._projector_config))

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127,
                     weights=None, walltime=None):
        """Log a precision-recall curve of binary `labels` against `predictions` in [0, 1]."""
        make_np = self._torch_summary.make_np
        self._add(self._summary.pr_curve(tag, make_np(labels), make_np(predictions),
                                         num_thresholds, _numpy(weights)),
                  global_step, walltime)

    def add_pr_curve_raw(self, tag, true_positive_counts, false_positive_counts,
                         true_negative_counts, false_negative_counts, precision, recall,
                         global_step=None, num_thresholds=127, weights=None, walltime=None):
        """Log a precision-recall curve given by its counts, precision and recall."""
        curve = map(_numpy, (true_positive_counts, false_positive_counts, true_negative_counts,
                             false_negative_counts, precision, recall))
        self._add(self._summary.pr_curve_raw(tag, *curve, num_thresholds, weights),
                  global_step, walltime)

    def add_custom_scalars_multilinechart(self, tags, category="default", title="untitled"):
        """A Custom Scalars chart of the scalar `tags` on one plot."""
        self.add_custom_scalars({category: {title: ["Multiline", tags]}})

    def add_custom_scalars_marginchart(self, tags, category="default", title="untitled"):
        """A Custom Scalars chart of three scalar tags: value, lower and upper margin."""
        if len(tags) != 3:
            raise AssertionError(f"Expected 3 tags, got {len(tags)}.")
        self.add_custom_scalars({category: {title: ["Margin", tags]}})

    def add_custom_scalars(self, layout):
        """The Custom Scalars layout {category: {chart title: ["Multiline" or "Margin",
        [scalar tags]]}}."""
        self._add(self._summary.custom_scalars(layout))

    def add_mesh(self, tag, vertices, colors=None, faces=None, config_dict=None,
                 global_step=None, walltime=None):
        """Log a (B, N, 3) mesh or point cloud: vertices, optional colors and triangle faces,
        and a Three.js config_dict."""
        self._add(self._torch_summary.mesh(tag, vertices, colors, faces, config_dict),
                  global_step, walltime)

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
