"""ember.utils.tensorboard.SummaryWriter: the event files it writes are read back with a real
TFRecord reader (length + masked CRC32C framing, tensorboardX's generated Event protobuf) and
compared with what tensorboardX writes for the same values given as torch tensors."""
import glob
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch

import ember
from ember.utils.tensorboard import SummaryWriter

tbx = pytest.importorskip("tensorboardX")  # a test extra: always there under scripts/test.sh
from tensorboardX.crc32c import crc32c  # noqa: E402
from tensorboardX.proto.event_pb2 import Event  # noqa: E402


def _masked(data):
    x = crc32c(data) & 0xFFFFFFFF
    return (((x >> 15) | (x << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_events(path):
    """Every Event in one event file, checking the TFRecord framing and both CRCs."""
    events = []
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        assert header_crc == _masked(header)
        body = data[pos + 12:pos + 12 + length]
        (body_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        assert body_crc == _masked(body)
        events.append(Event.FromString(body))
        pos += 16 + length
    return events


def read_dir(log_dir):
    """Events of the single event file in `log_dir` (not its subdirectories)."""
    files = glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))
    assert len(files) == 1, files
    return read_events(files[0])


def values(events):
    """(step, Summary.Value) for every summary value, in file order."""
    return [(e.step, v) for e in events if e.HasField("summary") for v in e.summary.value]


def test_file_starts_with_version_event_and_scalars_round_trip(tmp_path, device):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalar("loss", 1.5, 0)
        w.add_scalar("loss", ember.tensor(0.25, device=device), 1, walltime=1234.5)
        w.add_scalar("loss", ember.tensor([0.125], device=device), 2)
        w.add_scalar("acc", np.float32(0.75), 3)
        w.add_scalar("int", 7, 4)
    events = read_dir(tmp_path)
    assert events[0].file_version == "brain.Event:2"
    got = [(s, v.tag, v.simple_value) for s, v in values(events)]
    assert got == [(0, "loss", 1.5), (1, "loss", 0.25), (2, "loss", 0.125), (3, "acc", 0.75),
                   (4, "int", 7.0)]
    assert [e.wall_time for e in events if e.step == 1] == [1234.5]


def test_add_scalar_rejects_many_elements_like_torch(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        with pytest.raises((ValueError, RuntimeError)):
            w.add_scalar("x", ember.tensor([1.0, 2.0]), 0)


def test_add_scalars_uses_torch_run_layout(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        for step in range(3):
            w.add_scalars("run/a", {"sin": float(np.sin(step)), "cos": ember.tensor(np.cos(step))},
                          step)
    # torch.utils.tensorboard: one run directory per key, named <main_tag with / as _>_<key>.
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["run_a_cos", "run_a_sin"]
    for key, fn in (("sin", np.sin), ("cos", np.cos)):
        got = values(read_dir(tmp_path / f"run_a_{key}"))
        assert [(s, v.tag) for s, v in got] == [(0, "run/a"), (1, "run/a"), (2, "run/a")]
        np.testing.assert_allclose([v.simple_value for _, v in got], fn(np.arange(3)),
                                   rtol=1e-6, atol=1e-7)


def _tbx_reference(tmp_path, write):
    """The Summary.Values tensorboardX writes when `write(writer)` logs torch tensors."""
    ref_dir = str(tmp_path / "reference")
    w = tbx.SummaryWriter(ref_dir)
    write(w)
    w.close()
    return [v for _, v in values(read_dir(ref_dir))]


def test_histogram_matches_tensorboardx_on_torch_tensors(tmp_path, device):
    x = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    with SummaryWriter(str(tmp_path / "ember")) as w:
        w.add_histogram("w", ember.tensor(x, device=device), 5)
        w.add_histogram("w_auto", ember.tensor(x, device=device), 6, bins="auto")
    got = [v for _, v in values(read_dir(tmp_path / "ember"))]
    ref = _tbx_reference(tmp_path, lambda w: (w.add_histogram("w", torch.tensor(x), 5),
                                              w.add_histogram("w_auto", torch.tensor(x), 6,
                                                              bins="auto")))
    assert [v.histo for v in got] == [v.histo for v in ref]
    h = got[0].histo
    assert (h.num, h.min, h.max) == (1000, float(x.min()), float(x.max()))
    assert sum(h.bucket) == 1000


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "int64"])
def test_histogram_of_other_dtypes(tmp_path, dtype):
    x = ember.arange(10).to(getattr(ember, dtype))
    with SummaryWriter(str(tmp_path)) as w:
        w.add_histogram("h", x, 0)
    (_, v), = values(read_dir(tmp_path))
    assert (v.histo.num, v.histo.min, v.histo.max, v.histo.sum) == (10, 0.0, 9.0, 45.0)


def test_images_and_text_match_tensorboardx(tmp_path, device):
    rng = np.random.default_rng(1)
    chw = rng.random((3, 6, 10)).astype(np.float32)
    hwc = (rng.random((6, 10, 3)) * 255).astype(np.uint8)
    batch = rng.random((4, 1, 8, 8)).astype(np.float32)
    with SummaryWriter(str(tmp_path / "ember")) as w:
        w.add_image("chw", ember.tensor(chw, device=device), 0)
        w.add_image("hwc", ember.tensor(hwc, device=device), 1, dataformats="HWC")
        w.add_images("batch", ember.tensor(batch, device=device), 2)
        w.add_text("note", "ember **works**", 3)

    def reference(w):
        w.add_image("chw", torch.tensor(chw), 0)
        w.add_image("hwc", torch.tensor(hwc), 1, dataformats="HWC")
        w.add_images("batch", torch.tensor(batch), 2)
        w.add_text("note", "ember **works**", 3)

    got = [v for _, v in values(read_dir(tmp_path / "ember"))]
    ref = _tbx_reference(tmp_path, reference)
    assert [v.tag for v in got] == ["chw", "hwc", "batch", "note/text_summary"]
    for g, r in zip(got[:3], ref[:3], strict=True):
        assert g.image == r.image
        assert g.image.encoded_image_string.startswith(b"\x89PNG")
    assert (got[0].image.height, got[0].image.width, got[0].image.colorspace) == (6, 10, 3)
    assert got[3].tensor.string_val == [b"ember **works**"]
    assert got[3].metadata.plugin_data.plugin_name == "text"


def test_add_figure(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(2, 1), dpi=50)
    plt.plot([0, 1], [1, 0])
    with SummaryWriter(str(tmp_path)) as w:
        w.add_figure("fig", fig, 0)
    (_, v), = values(read_dir(tmp_path))
    assert (v.image.height, v.image.width) == (50, 100)


def test_flush_writes_before_close_and_close_then_write_reopens(tmp_path):
    w = SummaryWriter(str(tmp_path), flush_secs=10_000)
    w.add_scalar("a", 1.0, 0)
    w.flush()
    assert [v.simple_value for _, v in values(read_dir(tmp_path))] == [1.0]
    w.close()
    w.close()                                   # a second close is harmless
    w.add_scalar("a", 2.0, 1)                   # torch reopens a new event file
    w.close()
    files = sorted(glob.glob(os.path.join(tmp_path, "events.out.tfevents.*")))
    assert len(files) >= 1
    logged = [v.simple_value for f in files for _, v in values(read_events(f))]
    assert sorted(logged) == [1.0, 2.0]


def test_purge_step_writes_session_start(tmp_path):
    with SummaryWriter(str(tmp_path), purge_step=7, filename_suffix=".ember") as w:
        w.add_scalar("a", 1.0, 8)
    (path,) = glob.glob(os.path.join(tmp_path, "events.out.tfevents.*"))
    assert path.endswith(".ember")
    events = read_events(path)
    starts = [e for e in events if e.HasField("session_log")]
    assert [(e.step, e.session_log.status) for e in starts] == [(7, 1)]   # 1: SessionLog.START


def test_default_log_dir_is_runs_datetime_host_comment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1")
    w.close()
    (run,) = os.listdir(tmp_path / "runs")
    assert run.endswith("_lr0.1") and w.get_logdir() == os.path.join("runs", run)


def _run(code):
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_tensorboardx_loaded_lazily_and_torch_never(tmp_path):
    out = _run("import sys, ember.utils.tensorboard as tb\n"
               "print('tensorboardX' in sys.modules)\n"
               f"w = tb.SummaryWriter({str(tmp_path)!r}); w.add_scalar('a', 1.0, 0); w.close()\n"
               "print('tensorboardX' in sys.modules, 'torch' in sys.modules)")
    assert out.splitlines() == ["False", "True False"]


def test_missing_tensorboardx_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'ember\[tensorboard\]'"):
        SummaryWriter(str(tmp_path))


def test_max_queue_events_reach_disk_without_flush(tmp_path):
    w = SummaryWriter(str(tmp_path), max_queue=3, flush_secs=10_000)
    w.add_scalar("a", 1.0, 0)
    w.add_scalar("a", 2.0, 1)      # with the file-version event, 3 events: written out
    assert [v.simple_value for _, v in values(read_dir(tmp_path))] == [1.0, 2.0]
    w.close()


def test_two_writers_in_one_directory_keep_both_files(tmp_path):
    with SummaryWriter(str(tmp_path)) as a, SummaryWriter(str(tmp_path)) as b:
        a.add_scalar("a", 1.0, 0)
        b.add_scalar("b", 2.0, 0)
    files = glob.glob(os.path.join(tmp_path, "events.out.tfevents.*"))
    assert len(files) == 2
    assert sorted(v.tag for f in files for _, v in values(read_events(f))) == ["a", "b"]
