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
        with pytest.raises(AssertionError, match=r"one element \(0 dimensions\)"):
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


# --- the rest of torch.utils.tensorboard.SummaryWriter. tensorboard (which torch's writer
# imports) is not installed, so where tensorboardX writes what torch's summary.py writes, the
# reference is tensorboardX given torch tensors; elsewhere protobufs built as summary.py does.

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format  # noqa
from tensorboardX.proto.api_pb2 import DataType  # noqa: E402
from tensorboardX.proto.graph_pb2 import GraphDef  # noqa: E402
from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData  # noqa: E402
from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata  # noqa: E402
from tensorboardX.proto.tensor_pb2 import TensorProto  # noqa: E402
from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto  # noqa: E402


def _ember_values(tmp_path, write):
    with SummaryWriter(str(tmp_path / "ember")) as w:
        write(w)
    return [v for _, v in values(read_dir(tmp_path / "ember"))]


def _messages(package, messages):
    """Message classes for tensorboard protos that neither tensorboardX nor this venv has:
    {name: [(field, number, type, repeated, message type)]}, proto3."""
    F = descriptor_pb2.FieldDescriptorProto
    fd = descriptor_pb2.FileDescriptorProto(name=package + ".proto", package=package,
                                            syntax="proto3")
    for name, fields in messages.items():
        m = fd.message_type.add(name=name)
        for fname, number, ftype, repeated, type_name in fields:
            m.field.add(name=fname, number=number, type=getattr(F, "TYPE_" + ftype),
                        label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL,
                        type_name=type_name and f".{package}.{type_name}")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return [message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{n}"))
            for n in messages]


def test_add_scalar_keeps_the_tag_and_writes_new_style(tmp_path):
    got = _ember_values(tmp_path, lambda w: (
        w.add_scalar("loss (train)", ember.tensor(0.5), 0),
        w.add_scalar("f", ember.tensor([0.25]), 1, new_style=True),
        w.add_scalar("d", 0.1, 2, new_style=True, double_precision=True)))
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
    assert got == [   # torch's summary.scalar: no tag cleaning (tensorboardX writes loss__train_)
        Summary.Value(tag="loss (train)", simple_value=0.5),
        Summary.Value(tag="f", tensor=TensorProto(float_val=[0.25], dtype="DT_FLOAT"),
                      metadata=smd),
        Summary.Value(tag="d", tensor=TensorProto(double_val=[0.1], dtype="DT_DOUBLE"),
                      metadata=smd)]


def _hparams_data(value):
    return HParamsPluginData.FromString(value.metadata.plugin_data.content)


def test_add_hparams_matches_tensorboardx_in_a_run_named_run_name(tmp_path):
    hp, metrics = {"lr": 0.01, "bsize": 32, "opt": "adam", "skip": None}, {"hp/acc": 0.75}
    with SummaryWriter(str(tmp_path)) as w:
        w.add_hparams(hp, metrics, run_name="trial", global_step=3)
    assert not values(read_dir(tmp_path))          # the main run has none of it
    got = values(read_dir(tmp_path / "trial"))
    ref = tbx.summary.hparams(hp, {"hp/acc": torch.tensor(0.75)})
    assert [v for _, v in got[:3]] == [s.value[0] for s in ref]
    assert [s for s, _ in got] == [3, 3, 3, 3]
    assert (got[3][1].tag, got[3][1].simple_value) == ("hp/acc", 0.75)
    assert sorted(_hparams_data(got[1][1]).session_start_info.hparams) == ["bsize", "lr", "opt"]


def test_add_hparams_follows_torch_for_bools_tensors_domains_and_run_names(tmp_path):
    import time
    hp = {"flag": True, "t": ember.tensor([2.5]), "opt": "sgd", "n": 4}
    before = time.time()
    with SummaryWriter(str(tmp_path)) as w:
        w.add_hparams(hp, {"m": ember.tensor(1.0)}, {"opt": ["sgd", "adam"], "n": [2, 4]})
        with pytest.raises(TypeError, match="should be dictionary"):
            w.add_hparams([("lr", 1)], {})
        with pytest.raises(ValueError, match="value should be one of"):
            w.add_hparams({"x": [1]}, {})
        with pytest.raises(TypeError, match=r"hparam_domain_discrete\[n\] should be a list"):
            w.add_hparams({"n": 1}, {}, {"n": ["a"]})
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert before <= float(run.name) <= time.time()        # torch: str(time.time())
    exp, ssi, sei = (_hparams_data(v) for _, v in values(read_dir(run))[:3])
    h = ssi.session_start_info.hparams
    # torch tests isinstance(v, (int, float)) first: a bool is the number 1.0
    assert (h["flag"].number_value, h["t"].number_value, h["opt"].string_value,
            h["n"].number_value) == (1.0, 2.5, "sgd", 4.0)
    infos = {i.name: i for i in exp.experiment.hparam_infos}
    assert [infos[k].type for k in ("flag", "t", "opt")] == [
        DataType.DATA_TYPE_FLOAT64, DataType.DATA_TYPE_FLOAT64, DataType.DATA_TYPE_STRING]
    assert [v.string_value for v in infos["opt"].domain_discrete.values] == ["sgd", "adam"]
    assert [v.number_value for v in infos["n"].domain_discrete.values] == [2.0, 4.0]
    assert not infos["flag"].HasField("domain_discrete")
    assert [m.name.tag for m in exp.experiment.metric_infos] == ["m"]
    assert sei.session_end_info.status == 1                   # STATUS_SUCCESS


def test_pr_curves_histogram_raw_and_custom_scalars_match_tensorboardx(tmp_path, device):
    rng = np.random.default_rng(2)
    labels, preds = rng.integers(0, 2, 50), rng.random(50).astype(np.float32)
    weights = rng.random(50)
    counts = [rng.random(5).astype(np.float32) for _ in range(6)]
    layout = {"A": {"chart": ["Multiline", ["a", "b"]]},
              "B": {"m": ["Margin", ["v", "lo", "hi"]]}}

    def write(w, T):
        w.add_pr_curve("pr", T(labels), T(preds), 0)
        w.add_pr_curve("pr_w", T(labels), T(preds), 1, num_thresholds=200, weights=weights)
        w.add_pr_curve_raw("raw", *map(T, counts), 2, num_thresholds=5)
        w.add_histogram_raw("hr", -1.0, 3.0, 6, 4.5, 12.25, T(np.array([0.0, 1.0, 3.0])),
                            [1, 2, 3], 3)
        w.add_custom_scalars(layout)
        w.add_custom_scalars_multilinechart(["x", "y"], category="C", title="t")
        w.add_custom_scalars_marginchart(["v", "lo", "hi"])

    got = _ember_values(tmp_path, lambda w: write(w, lambda a: ember.tensor(a, device=device)))
    ref = _tbx_reference(tmp_path, lambda w: write(w, torch.tensor))
    assert got == ref
    assert got[0].metadata.plugin_data.plugin_name == "pr_curves"
    assert got[1].tensor.tensor_shape.dim[1].size == 127      # num_thresholds capped
    with SummaryWriter(str(tmp_path / "errors")) as w:
        with pytest.raises(ValueError, match="len\\(bucket_limits\\)"):
            w.add_histogram_raw("h", 0, 1, 1, 1, 1, [1.0, 2.0], [1])
        with pytest.raises(AssertionError, match="Expected 3 tags, got 2"):
            w.add_custom_scalars_marginchart(["a", "b"])


def test_add_image_with_boxes_matches_tensorboardx_and_clips_like_torch(tmp_path):
    rng = np.random.default_rng(3)
    img = rng.random((3, 24, 32)).astype(np.float32)
    img_u8 = (rng.random((24, 32, 3)) * 255).astype(np.uint8)
    boxes = np.array([[2.0, 3.0, 20.0, 15.0], [5.0, 5.0, 30.0, 22.0]])

    def write(w, T):
        w.add_image_with_boxes("b", T(img), T(boxes), 0, labels=["cat", "dog"])
        w.add_image_with_boxes("u8", T(img_u8), T(boxes), 1, dataformats="HWC", rescale=2)
        w.add_image_with_boxes("one", T(img), T(boxes[:1]), 2, labels="x")

    got = _ember_values(tmp_path, lambda w: write(w, ember.tensor))
    ref = _tbx_reference(tmp_path, lambda w: write(w, torch.tensor))
    assert got == ref
    assert (got[1].image.height, got[1].image.width) == (24, 32)
    # torch clips out-of-range floats (tensorboardX wraps them around in uint8)
    clipped = _ember_values(tmp_path / "clip", lambda w: (
        w.add_image_with_boxes("c", ember.tensor(img * 3), ember.tensor(boxes), 0),
        w.add_image_with_boxes("c", ember.tensor(np.minimum(img * 3, 1)), ember.tensor(boxes), 0)))
    assert clipped[0] == clipped[1]
    # labels whose count is not the boxes' are dropped, as torch drops them
    nolabel = _ember_values(tmp_path / "nolabel", lambda w: (
        w.add_image_with_boxes("b", ember.tensor(img), ember.tensor(boxes), 0, labels=["a"]),
        w.add_image_with_boxes("b", ember.tensor(img), ember.tensor(boxes), 0)))
    assert nolabel[0] == nolabel[1]


def test_add_tensor_writes_torch_tensor_protos(tmp_path, device):
    import struct
    cases = [
        ("f32", [[1.5, -2.0], [0.25, 3.0]], "float32", "DT_FLOAT", "float_val"),
        ("f64", [0.1, 0.2], "float64", "DT_DOUBLE", "double_val"),
        ("i64", [[1, -2, 3]], "int64", "DT_INT64", "int64_val"),
        ("i32", [7, 8], "int32", "DT_INT32", "int_val"),
        ("u8", [0, 200, 255], "uint8", "DT_UINT8", "uint32_val"),
        ("b", [True, False], "bool", "DT_BOOL", "bool_val"),
        ("f16", [1.5, -0.25], "float16", "DT_HALF", "half_val"),
        ("bf16", [2.0, 0.5], "bfloat16", "DT_BFLOAT16", "half_val"),
        ("c64", [1 + 2j, -3j], "complex64", "DT_COMPLEX64", "scomplex_val"),
        ("c128", [0.5 - 1j], "complex128", "DT_COMPLEX128", "dcomplex_val"),
    ]
    got = _ember_values(tmp_path, lambda w: [
        w.add_tensor(tag, ember.tensor(data, dtype=getattr(ember, dt), device=device), i)
        for i, (tag, data, dt, _, _) in enumerate(cases)])
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="tensor"))
    # tensorboardX's TensorProto lacks tensorboard's `repeated uint32 uint32_val = 16`
    (Uint32Val,) = _messages("tensorboard", {"TensorProto": [
        ("uint32_val", 16, "UINT32", True, None)]})
    for v, (tag, data, dt, pb_dtype, field) in zip(got, cases, strict=True):
        t = torch.tensor(data, dtype=getattr(torch, dt))      # torch's summary.tensor_proto
        if field == "half_val":
            vals = [struct.unpack("i", struct.pack("f", x))[0] for x in t.flatten().tolist()]
        elif t.is_complex():
            vals = torch.view_as_real(t).flatten().tolist()
        else:
            vals = t.flatten().tolist()
        shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=n) for n in t.shape])
        assert (v.tag, v.metadata) == (tag, smd)
        if field == "uint32_val":
            assert v.tensor.SerializeToString() == (
                TensorProto(dtype=pb_dtype, tensor_shape=shape).SerializeToString()
                + Uint32Val(uint32_val=vals).SerializeToString())
        else:
            assert v.tensor == TensorProto(**{"dtype": pb_dtype, field: vals,
                                              "tensor_shape": shape})


def test_add_audio_writes_torch_mono_wav(tmp_path, capsys):
    import io
    import wave
    x = np.sin(np.linspace(0, 40, 800)).astype(np.float32)[None] * 0.9
    got = _ember_values(tmp_path, lambda w: (w.add_audio("a", ember.tensor(x), 0, 8000),
                                             w.add_audio("loud", ember.tensor(x * 2), 1)))
    assert capsys.readouterr().out == "warning: audio amplitude out of range, auto clipped.\n"
    for v, data, rate in ((got[0], x, 8000), (got[1], (torch.tensor(x) * 2).clamp(-1, 1), 44100)):
        a = v.audio
        assert (a.sample_rate, a.num_channels, a.length_frames, a.content_type) == (
            rate, 1, 800, "audio/wav")
        with wave.open(io.BytesIO(a.encoded_audio_string)) as wav:
            assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, rate)
            frames = np.frombuffer(wav.readframes(800), "<i2")
        np.testing.assert_array_equal(frames,
                                      (np.asarray(data).squeeze() * 32767).astype("<i2"))
    with SummaryWriter(str(tmp_path / "stereo")) as w:
        with pytest.raises(AssertionError, match="1 dimensional"):
            w.add_audio("s", ember.zeros(2, 10))


def test_add_video_without_moviepy_logs_the_tag_alone_as_torch(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "moviepy", None)
    got = _ember_values(tmp_path, lambda w: w.add_video("v", ember.rand(2, 3, 3, 4, 4), 5))
    assert capsys.readouterr().out == "add_video needs package moviepy\n"
    assert got == [Summary.Value(tag="v")]


def test_add_video_encodes_torch_frames_with_moviepy_editor(tmp_path, monkeypatch):
    import types
    from tensorboardX.utils import _prepare_video   # the same code as torch's _utils'
    made = []

    class ImageSequenceClip:                 # moviepy.editor's, recording what it is given
        def __init__(self, frames, fps):
            made.append((np.stack(frames), fps))

        def write_gif(self, filename, verbose=False, logger=None):
            with open(filename, "wb") as f:
                f.write(b"GIF89a" + made[-1][0].tobytes())

    editor = types.ModuleType("moviepy.editor")
    editor.ImageSequenceClip = ImageSequenceClip
    moviepy = types.ModuleType("moviepy")
    moviepy.editor = editor
    monkeypatch.setitem(sys.modules, "moviepy", moviepy)
    monkeypatch.setitem(sys.modules, "moviepy.editor", editor)
    rng = np.random.default_rng(5)
    vid = rng.random((3, 2, 3, 4, 5)).astype(np.float32) * 1.2      # some out of [0, 1]
    vid_u8 = (rng.random((1, 2, 1, 4, 5)) * 255).astype(np.uint8)
    got = _ember_values(tmp_path, lambda w: (w.add_video("v", ember.tensor(vid), 0, fps=8),
                                             w.add_video("u8", ember.tensor(vid_u8), 1)))
    for v, (frames, fps), data, rate in zip(got, made, (vid, vid_u8), (8, 4), strict=True):
        prepared = _prepare_video(torch.tensor(data).numpy())      # torch's summary.video
        scale = 1 if prepared.dtype == np.uint8 else 255
        expected = (prepared.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
        np.testing.assert_array_equal(frames, expected)
        assert fps == rate
        t, h, w, c = expected.shape
        assert v.image == Summary.Image(height=h, width=w, colorspace=c,
                                        encoded_image_string=b"GIF89a" + expected.tobytes())
    assert made[0][0].shape == (2, 4, 20, 3)        # three videos padded to four, one row


def test_add_mesh_writes_tensorboard_mesh_summaries(tmp_path):
    vertices = np.array([[[1, 1, 1], [-1, -1, 1], [1, -1, -1], [-1, 1, -1]]], np.float32)
    colors = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 255]]], np.int32)
    faces = np.array([[[0, 2, 3], [0, 3, 1], [0, 1, 2], [1, 3, 2]]], np.int32)
    config = {"camera": {"cls": "PerspectiveCamera", "fov": 75}}
    got = _ember_values(tmp_path, lambda w: (
        w.add_mesh("m", ember.tensor(vertices), ember.tensor(colors), ember.tensor(faces),
                   config, 0),
        w.add_mesh("pc", ember.tensor(vertices), global_step=1)))
    # tensorboard's MeshPluginData (tensorboardX's lacks `components`)
    (MeshPluginData,) = _messages("tensorboard.mesh", {"MeshPluginData": [
        ("version", 1, "INT32", False, None), ("name", 2, "STRING", False, None),
        ("content_type", 3, "INT32", False, None), ("json_config", 5, "STRING", False, None),
        ("shape", 6, "INT32", True, None), ("components", 7, "INT32", False, None)]})
    expected = []
    for tag, parts, json_config in (
            ("m", [(vertices, 1, "VERTEX"), (faces, 2, "FACE"), (colors, 3, "COLOR")],
             '{"camera": {"cls": "PerspectiveCamera", "fov": 75}}'),
            ("pc", [(vertices, 1, "VERTEX")], "{}")):
        components = sum(1 << kind for _, kind, _ in parts)
        for t, kind, name in parts:
            t = torch.as_tensor(t)
            content = MeshPluginData(version=0, name=tag, content_type=kind,
                                     json_config=json_config, shape=t.shape,
                                     components=components).SerializeToString()
            expected.append(Summary.Value(
                tag=f"{tag}_{name}",
                metadata=SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
                    plugin_name="mesh", content=content)),
                tensor=TensorProto(dtype="DT_FLOAT", float_val=t.reshape(-1).tolist(),
                                   tensor_shape=TensorShapeProto(
                                       dim=[TensorShapeProto.Dim(size=n) for n in t.shape]))))
    assert got == expected


def test_add_embedding_lays_out_projector_files_as_torch(tmp_path, capsys):
    from PIL import Image
    rng = np.random.default_rng(4)
    mat = rng.standard_normal((4, 3)).astype(np.float32)
    meta = ["a", "b", "c", "d"]
    imgs = rng.random((4, 3, 5, 5)).astype(np.float32)
    with SummaryWriter(str(tmp_path / "ember")) as w:
        w.add_embedding(ember.tensor(mat), meta, ember.tensor(imgs), 3, tag="e/1")
        w.add_embedding(ember.tensor(mat[:3]), [[1, "x"], [2, "y"], [3, "z"]],
                        ember.tensor(rng.random((3, 1, 4, 6)).astype(np.float32)),
                        metadata_header=["n", "s"])
        w.add_embedding(ember.tensor(mat), global_step=3, tag="e/1")
    assert "Embedding dir exists" in capsys.readouterr().out
    ref = tbx.SummaryWriter(str(tmp_path / "ref"))
    ref.add_embedding(torch.tensor(mat), meta, torch.tensor(imgs), 3, tag="e/1")
    ref.close()
    e, r = tmp_path / "ember", tmp_path / "ref"
    for name in ("00003/e%2f1/tensors.tsv", "00003/e%2f1/metadata.tsv"):
        assert (e / name).read_bytes() == (r / name).read_bytes()
    # four square images: the same 2x2 sprite as tensorboardX's
    np.testing.assert_array_equal(np.asarray(Image.open(e / "00003/e%2f1/sprite.png")),
                                  np.asarray(Image.open(r / "00003/e%2f1/sprite.png")))
    assert (e / "00000/default/metadata.tsv").read_text() == "n\ts\n1\tx\n2\ty\n3\tz\n"
    # torch's sprite: ceil(sqrt(3)) = 2 images a row, zero-padded below to a square
    sprite = np.asarray(Image.open(e / "00000/default/sprite.png"))
    assert sprite.shape == (12, 12, 3) and not sprite[8:].any() and sprite[:4].any()
    # projector_config.pbtxt: torch's ProjectorConfig in protobuf's text format
    Config, Info, Sprite = _messages("tensorboard.projector", {
        "ProjectorConfig": [("model_checkpoint_path", 1, "STRING", False, None),
                            ("embeddings", 2, "MESSAGE", True, "EmbeddingInfo")],
        "EmbeddingInfo": [("tensor_name", 1, "STRING", False, None),
                          ("metadata_path", 2, "STRING", False, None),
                          ("sprite", 5, "MESSAGE", False, "SpriteMetadata"),
                          ("tensor_path", 6, "STRING", False, None)],
        "SpriteMetadata": [("image_path", 1, "STRING", False, None),
                           ("single_image_dim", 2, "UINT32", True, None)]})
    config = Config(embeddings=[
        Info(tensor_name="e/1:00003", metadata_path="00003/e%2f1/metadata.tsv",
             sprite=Sprite(image_path="00003/e%2f1/sprite.png", single_image_dim=[5, 5]),
             tensor_path="00003/e%2f1/tensors.tsv"),
        Info(tensor_name="default:00000", metadata_path="00000/default/metadata.tsv",
             sprite=Sprite(image_path="00000/default/sprite.png", single_image_dim=[6, 4]),
             tensor_path="00000/default/tensors.tsv"),
        Info(tensor_name="e/1:00003", tensor_path="00003/e%2f1/tensors.tsv")])
    assert (e / "projector_config.pbtxt").read_text() == text_format.MessageToString(config)
    with SummaryWriter(str(tmp_path / "bad")) as w:
        with pytest.raises(AssertionError, match="#labels should equal"):
            w.add_embedding(ember.tensor(mat), ["a"])
        with pytest.raises(AssertionError, match="mat should be 2D"):
            w.add_embedding(ember.zeros(4), global_step=1)


def _mlp():
    return ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU(), ember.nn.Linear(4, 2))


def test_add_onnx_graph_matches_tensorboardx(tmp_path, capsys):
    pytest.importorskip("onnx")
    path = str(tmp_path / "m.onnx")
    ember.onnx.export(_mlp(), (ember.randn(2, 3),), path, dynamo=False)
    with SummaryWriter(str(tmp_path / "ember")) as w:
        w.add_onnx_graph(path)
    printed = capsys.readouterr().out
    ref = tbx.SummaryWriter(str(tmp_path / "ref"))
    ref.add_onnx_graph(path)
    ref.close()
    assert printed == capsys.readouterr().out        # both print the node names, as torch

    def graphs(d):
        return [e.graph_def for e in read_dir(d) if e.HasField("graph_def")]

    assert graphs(tmp_path / "ember") == graphs(tmp_path / "ref") != []


def test_add_graph_writes_the_onnx_export_as_a_graphdef(tmp_path, capsys):
    pytest.importorskip("onnx")
    with SummaryWriter(str(tmp_path)) as w:
        w.add_graph(_mlp(), ember.randn(2, 3))
        w.add_graph(_mlp(), [ember.randn(5, 3)])
    assert capsys.readouterr().out == ""
    graphs = [GraphDef.FromString(e.graph_def) for e in read_dir(tmp_path)
              if e.HasField("graph_def")]
    assert len(graphs) == 2
    for g in graphs:
        ops = [n.op for n in g.node]
        assert ops == ["Variable", "Variable", "Gemm", "Relu", "Gemm"]
        (x,) = [n for n in g.node if n.name == "input"]
        assert [d.size for d in x.attr["shape"].shape.dim][1:] == [3]
        assert g.node[3].input == [g.node[2].name]        # Relu reads the first Gemm


def test_file_writer_reopen_writes_a_new_event_file(tmp_path):
    w = SummaryWriter(str(tmp_path))
    w.add_scalar("a", 1.0, 0)
    w.file_writer.reopen()                       # not closed: nothing happens
    w.file_writer.close()
    w.file_writer.reopen()
    w.add_scalar("a", 2.0, 1)
    w.close()
    files = sorted(glob.glob(os.path.join(tmp_path, "events.out.tfevents.*")))
    assert len(files) == 2
    assert [[v.simple_value for _, v in values(read_events(f))] for f in files] == [[1.0], [2.0]]
    assert all(read_events(f)[0].file_version == "brain.Event:2" for f in files)
