"""torch.distributed.checkpoint (DCP) against torch's: the file format both ways (a folder one
library saves loads in the other, the `.metadata` of both alike), in-place loading of nested
state dicts and Stateful values, the state_dict helpers, format_utils, and one 2-rank job in
which each rank writes its own files and the coordinator the metadata."""
import io
import json
import os
import pickle
import warnings

import ml_dtypes
import numpy as np
import pytest
import torch
import torch.distributed.checkpoint as tdcp
import torch.distributed.checkpoint.format_utils as tfu
import torch.distributed.checkpoint.state_dict as tsd

import ember
import ember.distributed.checkpoint as edcp
import ember.distributed.checkpoint.format_utils as efu
import ember.distributed.checkpoint.state_dict as esd
from dist_oracle import run_both
from ember.distributed.checkpoint.filesystem import _MetadataUnpickler
from ember.distributed.checkpoint.state_dict_loader import _load_state_dict_from_keys

LIBS = {"ember": (ember, edcp, esd, efu), "torch": (torch, tdcp, tsd, tfu)}

pytestmark = pytest.mark.filterwarnings(
    "ignore:torch.distributed is disabled:UserWarning",
    "ignore:torch.distributed is unavailable:UserWarning",
    "ignore:Detected an existing checkpoint:UserWarning")


def plain(obj):
    """Tensors -> (dtype name, numpy array), recursively: comparable across the libraries."""
    if isinstance(obj, (torch.Tensor, ember.Tensor)):
        dtype = str(obj.dtype).replace("torch.", "")
        arr = (obj.detach().float().numpy().astype(ml_dtypes.bfloat16) if dtype == "bfloat16"
               else obj.detach().numpy().copy())
        return ("T", dtype, arr)
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj)
    return obj


def assert_same(a, b, path="state"):
    assert type(a) is type(b) or {type(a), type(b)} <= {list, tuple}, (path, a, b)
    if isinstance(a, dict):
        assert list(a) == list(b), (path, list(a), list(b))
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), (path, a, b)
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}.{i}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, (path, a, b)
        np.testing.assert_array_equal(a, b, err_msg=path)
    else:
        assert a == b, (path, a, b)


def model(lib):
    m = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.BatchNorm1d(4),
                          lib.nn.Linear(4, 2))
    rng = np.random.default_rng(0)
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)), dtype=lib.float32))
    return m


def trained(lib, steps=2, sgd=False):
    """A model and its optimizer after ``steps`` steps. (Adam's steps on near-zero gradients
    amplify rounding: compare trained values across the libraries after SGD's.)"""
    m = model(lib)
    opt = (lib.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) if sgd else
           lib.optim.Adam(m.parameters(), lr=0.1))
    for step in range(steps):
        x = lib.tensor(np.random.default_rng(step).standard_normal((5, 3)), dtype=lib.float32)
        opt.zero_grad()
        (m(x) ** 2).mean().backward()
        opt.step()
    return m, opt


def sample_state(lib):
    """A nested state dict of every kind DCP stores: tensors of several dtypes (a view of a
    larger buffer, a 0-d one), tensors in lists, and non-tensor values."""
    m, opt = trained(lib)
    rng = np.random.default_rng(1)
    return {
        "model": m.state_dict(), "optim": opt.state_dict(), "step": 7, "name": "run-1",
        "blob": b"\x00\x01bytes", "lr": 0.25, "none": None, "shape": (2, 3),
        "ints": lib.tensor(rng.integers(-9, 9, (2, 3)), dtype=lib.int64),
        "half": lib.tensor(rng.standard_normal(4), dtype=lib.float16),
        "bf16": lib.tensor(rng.standard_normal(4), dtype=lib.bfloat16),
        "f64": lib.tensor(rng.standard_normal((2, 2)), dtype=lib.float64),
        "mask": lib.tensor([True, False, True]),
        "scalar": lib.tensor(3.5),
        "view": lib.arange(12.0).reshape(3, 4)[1:, ::2],
        "transposed": lib.arange(6.0).reshape(2, 3).t(), "expanded": lib.ones(3, 1).expand(3, 4),
        "empty": lib.zeros(0, 3), "c64": lib.tensor([1 + 2j, 3j]),
        "u8": lib.tensor([1, 255], dtype=lib.uint8), "i8": lib.tensor([-3, 4], dtype=lib.int8),
        "grad": lib.ones(2, requires_grad=True), "param": lib.nn.Parameter(lib.ones(2, 2)),
        "tuple": (lib.ones(2), 3),
        "mixed": [1, lib.ones(2), {"deep": lib.zeros(1, 2), "tag": "t"}],
        "plain_list": [1, 2, "three"],
    }


def blank_state(lib):
    """sample_state's structure with other values, to load into."""
    m, opt = trained(lib, steps=1)
    return {
        "model": m.state_dict(), "optim": opt.state_dict(), "step": 0, "name": "",
        "blob": b"", "lr": 0.0, "none": 1, "shape": (),
        "ints": lib.zeros(2, 3, dtype=lib.int64), "half": lib.zeros(4, dtype=lib.float16),
        "bf16": lib.zeros(4, dtype=lib.bfloat16), "f64": lib.zeros(2, 2, dtype=lib.float64),
        "mask": lib.zeros(3, dtype=lib.bool), "scalar": lib.tensor(0.0),
        "view": lib.zeros(2, 2), "transposed": lib.zeros(3, 2), "expanded": lib.zeros(3, 4),
        "empty": lib.ones(0, 3), "c64": lib.zeros(2, dtype=lib.complex64),
        "u8": lib.zeros(2, dtype=lib.uint8), "i8": lib.zeros(2, dtype=lib.int8),
        "grad": lib.zeros(2), "param": lib.zeros(2, 2), "tuple": None,
        "mixed": [0, lib.zeros(2), {"deep": lib.ones(1, 2), "tag": ""}], "plain_list": [],
    }


@pytest.mark.parametrize("writer,reader", [("ember", "torch"), ("torch", "ember"),
                                           ("ember", "ember")])
def test_checkpoint_loads_across_libraries(tmp_path, writer, reader):
    w, wdcp = LIBS[writer][:2]
    r, rdcp = LIBS[reader][:2]
    saved = sample_state(w)
    wdcp.save(saved, checkpoint_id=str(tmp_path / "ckpt"))
    target = blank_state(r)
    tensors = {k: target[k] for k in ("ints", "view", "scalar")}
    rdcp.load(target, checkpoint_id=str(tmp_path / "ckpt"))
    assert_same(plain(target), plain(saved))
    for k, t in tensors.items():        # tensors are loaded in place
        assert target[k] is t


def test_metadata_and_files_match_torch(tmp_path):
    """The same state dict saved by each: equal Metadata (keys, tensor properties, chunks,
    planner paths, and every item's file, offset and length), read alike by both."""
    for name, (lib, dcp, _, _) in LIBS.items():
        dcp.save(sample_state(lib), checkpoint_id=str(tmp_path / name))
    assert sorted(os.listdir(tmp_path / "ember")) == sorted(os.listdir(tmp_path / "torch")) \
        == [".metadata", "__0_0.distcp"]
    for path in (tmp_path / "ember", tmp_path / "torch"):
        assert os.path.getsize(path / "__0_0.distcp") == \
            os.path.getsize(tmp_path / "torch" / "__0_0.distcp")
    with open(tmp_path / "ember" / ".metadata", "rb") as f:
        ours = pickle.load(f)       # torch's classes
    with open(tmp_path / "torch" / ".metadata", "rb") as f:
        theirs = pickle.load(f)
    assert type(ours) is tdcp.Metadata
    assert ours.state_dict_metadata == theirs.state_dict_metadata
    assert ours.planner_data == theirs.planner_data
    assert ours.storage_data == theirs.storage_data
    assert list(ours.storage_data) == list(theirs.storage_data)
    assert ours.version == theirs.version == "1.0.0"
    assert ours.storage_meta.checkpoint_id == tmp_path / "ember"
    # ember reads torch's metadata into its own classes
    md = edcp.FileSystemReader(str(tmp_path / "torch")).read_metadata()
    assert type(md) is edcp.Metadata
    weight = md.state_dict_metadata["model.0.weight"]
    assert weight.size == ember.Size([4, 3]) and weight.properties.dtype is ember.float32
    assert weight.properties.layout is ember.strided
    assert weight.properties.memory_format is ember.contiguous_format
    assert weight.chunks == [edcp.ChunkStorageMetadata(ember.Size([0, 0]), ember.Size([4, 3]))]
    assert md.planner_data["mixed.2.deep"] == ("mixed", 2, "deep")
    assert type(md.state_dict_metadata["name"]) is edcp.BytesStorageMetadata
    # both libraries' metadata, as ember reads them, are equal
    ours_in_ember = edcp.FileSystemReader(str(tmp_path / "ember")).read_metadata()
    assert ours_in_ember.state_dict_metadata == md.state_dict_metadata
    assert ours_in_ember.storage_data == md.storage_data


def test_metadata_pickle_names_torch_classes(tmp_path):
    edcp.save({"w": ember.ones(2)}, checkpoint_id=str(tmp_path))
    with open(tmp_path / ".metadata", "rb") as f:
        data = f.read()
    assert b"ember" not in data
    for name in (b"torch.distributed.checkpoint.metadata", b"TensorStorageMetadata",
                 b"torch.distributed.checkpoint.filesystem", b"_StorageInfo",
                 b"_MEM_FORMAT_ENCODING", b"_get_layout"):
        assert name in data
    with open(tmp_path / ".metadata", "rb") as f:
        md = _MetadataUnpickler(f).load()
    assert md.storage_data[edcp.metadata.MetadataIndex("w", [0])].relative_path == \
        "__0_0.distcp"


@pytest.mark.parametrize("kwargs", [dict(thread_count=3), dict(single_file_per_rank=False)])
def test_writer_options_lay_out_files_as_torch(tmp_path, kwargs):
    listings = {}
    for name, (lib, dcp, _, _) in LIBS.items():
        sd = {"a": lib.ones(100), "b": lib.ones(10), "c": lib.ones(50), "n": 3, "s": "x"}
        dcp.save(sd, storage_writer=dcp.FileSystemWriter(str(tmp_path / name), **kwargs))
        with open(tmp_path / name / ".metadata", "rb") as f:
            md = pickle.load(f)
        listings[name] = {idx.fqn: (info.relative_path, info.offset, info.length)
                          for idx, info in md.storage_data.items()}
    assert listings["ember"] == listings["torch"]
    loaded = {"a": ember.zeros(100), "b": ember.zeros(10), "c": ember.zeros(50), "n": 0,
              "s": ""}
    edcp.load(loaded, storage_reader=edcp.FileSystemReader(str(tmp_path / "torch")))
    assert loaded["n"] == 3 and loaded["s"] == "x" and float(loaded["a"].sum()) == 100.0


def test_stateful_values_resume_training(tmp_path):
    """Modules and optimizers in the state dict are saved through state_dict() and restored
    through load_state_dict(): a resumed run continues exactly like the original (in each
    library)."""
    for name, (lib, dcp, _, _) in LIBS.items():
        m, opt = trained(lib)
        dcp.save({"model": m, "optim": opt, "epoch": 3}, checkpoint_id=str(tmp_path / name))
        m2, opt2 = trained(lib, steps=1)      # (DCP loads only the state keys present)
        opt2.param_groups[0]["lr"] = 0.7
        state = {"model": m2, "optim": opt2, "epoch": 0}
        dcp.load(state, checkpoint_id=str(tmp_path / name))
        assert state["model"] is m2 and state["optim"] is opt2 and state["epoch"] == 3
        runs = []
        for mm, oo in ((m, opt), (m2, opt2)):
            x = lib.ones(5, 3)
            oo.zero_grad()
            (mm(x) ** 2).mean().backward()
            oo.step()
            runs.append(plain(mm.state_dict()))
        assert_same(runs[0], runs[1])


def errors(lib, dcp, tmp_path):
    dcp.save({"w": lib.ones(2, 3), "n": 1}, checkpoint_id=str(tmp_path))
    out = []
    cases = [
        lambda: dcp.load({"w": lib.ones(2, 3), "missing": lib.ones(1)},
                         checkpoint_id=str(tmp_path)),
        lambda: dcp.load({"w": lib.ones(3, 2)}, checkpoint_id=str(tmp_path)),
        lambda: dcp.load({"w": 5}, checkpoint_id=str(tmp_path)),
        lambda: dcp.load({"w": lib.ones(2, 3)}),
        lambda: dcp.save({"w": lib.ones(1)}, storage_writer=dcp.FileSystemWriter(
            str(tmp_path), overwrite=False)),
        lambda: dcp.load({"w": lib.ones(2, 3)}, checkpoint_id=str(tmp_path / "absent")),
        # meta tensors are materialized on the process group's device: there is none
        lambda: dcp.load({"w": lib.empty(2, 3, device="meta")}, checkpoint_id=str(tmp_path)),
    ]
    for case in cases:
        try:
            case()
            out.append(None)
        except tdcp.CheckpointException if lib is torch else edcp.CheckpointException as e:
            [(rank, (exc, _))] = e.failures.items()
            # (ember's classes are named ember.*, torch's torch.*)
            out.append(("CheckpointException", str(e.args[0]), rank, type(exc).__name__,
                        str(exc).replace(str(tmp_path), "<dir>").replace("ember.", "torch.")))
        except Exception as e:
            out.append((type(e).__name__, str(e)))
    # (values of other types than tensors, containers, numbers and strings become None)
    partial = {"w": lib.zeros(2, 3), "extra": lib.zeros(1), "obj": object(), "set": {1},
               "tuple": (lib.zeros(1), 2)}
    dcp.load(partial, checkpoint_id=str(tmp_path),
             planner=dcp.DefaultLoadPlanner(allow_partial_load=True))
    out.append(plain(partial))
    return out


def test_errors_match_torch(tmp_path):
    ours = errors(ember, edcp, tmp_path / "ember")
    theirs = errors(torch, tdcp, tmp_path / "torch")
    assert_same(ours, theirs)
    assert ours[0][4] == "Missing key in checkpoint state_dict: missing."


def load_from_keys(loader, path):
    out = [plain(loader(checkpoint_id=str(path)))]
    for keys in ({"model", "mixed"}, "optim.param_groups", {"model.0.bias"}, {"mixed.2"}):
        try:
            out.append(plain(loader(keys, checkpoint_id=str(path))))
        except BaseException as e:      # (a CheckpointException)
            exc = e.failures[0][0]
            out.append((type(exc).__name__, str(exc).replace("ember.", "torch.")))
    return out


def test_load_from_keys_and_empty_planner(tmp_path):
    """The whole checkpoint (or chosen keys) rebuilt from its metadata, without a model."""
    from torch.distributed.checkpoint.state_dict_loader import \
        _load_state_dict_from_keys as torch_loader
    tdcp.save(sample_state(torch), checkpoint_id=str(tmp_path))
    ours = load_from_keys(_load_state_dict_from_keys, tmp_path)
    assert_same(ours, load_from_keys(torch_loader, tmp_path))
    assert list(ours[0]["optim"]["state"]) == ["0", "1", "2", "3", "4", "5"]
    assert ours[0]["mixed"][0] == 1 and ours[0]["mixed"][2]["tag"] == "t"


@pytest.mark.parametrize("direction", ["dcp_to_torch_save", "torch_save_to_dcp"])
def test_format_utils(tmp_path, direction):
    if direction == "dcp_to_torch_save":
        tdcp.save(sample_state(torch), checkpoint_id=str(tmp_path / "dcp"))
        efu.dcp_to_torch_save(str(tmp_path / "dcp"), str(tmp_path / "ember.pt"))
        tfu.dcp_to_torch_save(str(tmp_path / "dcp"), str(tmp_path / "torch.pt"))
        ours = torch.load(tmp_path / "ember.pt", weights_only=False)
        theirs = torch.load(tmp_path / "torch.pt", weights_only=False)
        assert_same(plain(ours), plain(theirs))
    else:
        torch.save(sample_state(torch), tmp_path / "src.pt")
        efu.torch_save_to_dcp(str(tmp_path / "src.pt"), str(tmp_path / "ember"))
        tfu.torch_save_to_dcp(str(tmp_path / "src.pt"), str(tmp_path / "torch"))
        loaded = {}
        for name in ("ember", "torch"):
            target = blank_state(torch)
            tdcp.load(target, checkpoint_id=str(tmp_path / name))
            loaded[name] = plain(target)
        assert_same(loaded["ember"], loaded["torch"])


def test_dynamic_meta_planner_reads_torch_save_file(tmp_path):
    torch.save({"a": torch.arange(6.0).reshape(2, 3), "b": torch.ones(2)}, tmp_path / "x.pt")
    state = {"a": ember.zeros(2, 3), "b": ember.zeros(2)}
    planner = efu.DynamicMetaLoadPlanner()
    md = efu.BroadcastingTorchSaveReader().read_metadata()
    planner.set_up_planner(state, md, True)
    plan = planner.create_local_plan()
    reader = efu.BroadcastingTorchSaveReader(str(tmp_path / "x.pt"))
    assert [item.dest_index.fqn for item in plan.items] == ["a", "b"]
    assert reader.validate_checkpoint_id(str(tmp_path / "x.pt"))
    with pytest.raises(RuntimeError, match="Non-tensor value identified at n"):
        efu.DynamicMetaLoadPlanner().set_up_planner({"n": 1}, md, True)


def compiled(lib, m):
    if lib is torch:
        return torch.compile(m)
    return ember.compile(m)


def state_dict_api(lib, sd):
    out = {}
    m, opt = trained(lib, sgd=True)
    m[0].weight.requires_grad_(False)
    msd, osd = sd.get_state_dict(m, opt)
    out["model"], out["optim"] = plain(msd), plain(osd)
    out["compiled_keys"] = list(sd.get_model_state_dict(compiled(lib, m)))
    out["frozen"] = list(sd.get_model_state_dict(
        m, options=sd.StateDictOptions(ignore_frozen_params=True, cpu_offload=True)))
    out["full"] = plain(sd.get_model_state_dict(
        m, options=sd.StateDictOptions(full_state_dict=True)))
    flat = sd.get_optimizer_state_dict(
        m, opt, options=sd.StateDictOptions(flatten_optimizer_state_dict=True))
    out["flat"] = plain(flat)
    # a fresh model and optimizer (its state empty: initialized by a zero step) take both
    m2 = model(lib)
    m2[0].weight.requires_grad_(False)
    out["fresh"] = plain(sd.get_optimizer_state_dict(m2, lib.optim.Adam(m2.parameters())))
    opt2 = lib.optim.SGD(m2.parameters(), lr=0.5, momentum=0.5)
    out["set"] = str(sd.set_state_dict(m2, opt2, model_state_dict=msd, optim_state_dict=osd))
    out["loaded"] = plain((m2.state_dict(), opt2.state_dict()))
    opt3 = lib.optim.SGD(m2.parameters(), lr=0.5, momentum=0.5)
    sd.set_optimizer_state_dict(m2, opt3, flat, options=sd.StateDictOptions(
        flatten_optimizer_state_dict=True))
    out["loaded_flat"] = plain(opt3.state_dict())
    opt4 = lib.optim.SGD(m2.parameters(), lr=0.5, momentum=0.5)
    sd.set_optimizer_state_dict(m2, opt4, osd, options=sd.StateDictOptions(
        full_state_dict=True))
    out["loaded_full"] = plain(opt4.state_dict())
    out["partial"] = str(sd.set_model_state_dict(
        m2, {k: v for k, v in msd.items() if k != "3.bias"},
        options=sd.StateDictOptions(strict=False)))
    errs = []
    for fn in (lambda: sd.get_model_state_dict(m, options=sd.StateDictOptions(
                   broadcast_from_rank0=True)),
               lambda: sd.get_optimizer_state_dict(m, []),
               lambda: sd.get_model_state_dict(lib.nn.ReLU()),     # (no process group)
               lambda: sd.get_state_dict(m2, lib.optim.SGD([lib.nn.Parameter(lib.ones(1))],
                                                            lr=0.1)),
               lambda: sd.set_optimizer_state_dict(m2, opt3, {"state": {}, "param_groups": [
                   dict(osd["param_groups"][0], params=["0.bias"])]})):
        try:
            fn()
            errs.append(None)
        except Exception as e:
            errs.append((type(e).__name__, str(e)))
    out["errors"] = errs
    return out


def test_state_dict_helpers_match_torch():
    ours, theirs = state_dict_api(ember, esd), state_dict_api(torch, tsd)
    for key in ("model", "optim", "full", "flat", "fresh", "loaded", "loaded_flat",
                "loaded_full"):
        np_close(ours[key], theirs[key])
        ours[key] = theirs[key] = None
    assert_same(ours, theirs)


def np_close(a, b, path="state"):
    """assert_same up to float32 rounding (ember's and torch's kernels sum differently)."""
    if isinstance(a, dict):
        assert list(a) == list(b), (path, list(a), list(b))
        for k in a:
            np_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)) and a and a[0] == "T" and len(a) == 3:
        assert a[1] == b[1] and a[2].shape == b[2].shape, (path, a, b)
        np.testing.assert_allclose(a[2].astype(float), b[2].astype(float), rtol=1e-5,
                                   atol=1e-6, err_msg=path)
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), (path, a, b)
        for i, (x, y) in enumerate(zip(a, b)):
            np_close(x, y, f"{path}.{i}")
    else:
        assert a == b, (path, a, b)


def test_async_save_and_deprecated_entry_points(tmp_path):
    t = ember.ones(3)
    future = edcp.async_save({"t": t, "n": 1}, checkpoint_id=str(tmp_path / "a"))
    t.add_(1)       # after staging: not in the checkpoint
    md = future.result()
    assert set(md.state_dict_metadata) == {"t", "n"}
    loaded = {"t": torch.zeros(3), "n": 0}
    tdcp.load(loaded, checkpoint_id=str(tmp_path / "a"))
    assert loaded["t"].tolist() == [1.0, 1.0, 1.0] and loaded["n"] == 1
    with pytest.warns(FutureWarning, match="`save_state_dict` is deprecated"):
        edcp.save_state_dict({"t": t}, edcp.FileSystemWriter(str(tmp_path / "b")),
                             no_dist=True)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="Default process group "
                                                    "has not been initialized"):
        edcp.save_state_dict({"t": t}, edcp.FileSystemWriter(str(tmp_path / "c")))
    back = {"t": ember.zeros(3)}
    with pytest.warns(FutureWarning, match="`load_state_dict` is deprecated"):
        edcp.load_state_dict(back, edcp.FileSystemReader(str(tmp_path / "b")), no_dist=True)
    assert back["t"].tolist() == [2.0, 2.0, 2.0]


def test_single_process_save_warns_like_torch(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        edcp.save({"t": ember.ones(1)}, checkpoint_id=str(tmp_path))
        edcp.save({"t": ember.ones(1)}, checkpoint_id=str(tmp_path))
    messages = [str(w.message) for w in caught]
    assert messages[0] == ("torch.distributed is disabled, unavailable or uninitialized, "
                           "assuming the intent is to save in a single process.")
    assert messages[2].startswith(f"Detected an existing checkpoint in {tmp_path}, "
                                  "overwriting since self.overwrite=True.")
    buf = io.BytesIO()
    ember.save(ember.ones(1), buf)      # (the item format: torch.save archives)
    with open(tmp_path / "__0_0.distcp", "rb") as f:
        assert f.read(4) == buf.getvalue()[:4] == b"PK\x03\x04"


PROGRAM = """
import os
import warnings
import numpy as np
import {lib} as torch
import {lib}.distributed as dist
import {lib}.distributed.checkpoint as dcp
from {lib}.distributed.checkpoint.state_dict import get_state_dict, set_state_dict, \\
    set_model_state_dict, set_optimizer_state_dict, StateDictOptions
from {lib}.distributed.checkpoint.utils import _assert_same_keys
from {lib}.nn.parallel import DistributedDataParallel as DDP

warnings.simplefilter("ignore")
dist.init_process_group("gloo")
rank = dist.get_rank()


def model():
    m = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)), dtype=torch.float32))
    return m


def plain(obj):
    if torch.is_tensor(obj):
        return obj.detach().numpy().copy()
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj)
    return obj


ddp = DDP(model())
opt = torch.optim.Adam(ddp.parameters(), lr=0.1)
x = torch.tensor(np.random.default_rng(rank).standard_normal((4, 3)), dtype=torch.float32)
(ddp(x) ** 2).mean().backward()
opt.step()
msd, osd = get_state_dict(ddp, opt)
state = {"model": msd, "optim": osd, "rank_only": torch.full((3,), float(rank)),
         f"only_{rank}": rank, "big": torch.ones(64)}
try:
    _assert_same_keys(state)        # (each rank has a key the other lacks)
except AssertionError as e:
    keys_error = str(e)
md = dcp.save(state, checkpoint_id="ckpt")
out = {"files": sorted(os.listdir("ckpt")),
       "where": {i.fqn: (s.relative_path, s.offset, s.length) for i, s in md.storage_data.items()},
       "keys": sorted(md.state_dict_metadata), "keys_error": keys_error}

fresh = DDP(model())
opt2 = torch.optim.Adam(fresh.parameters(), lr=0.5)
msd2, osd2 = get_state_dict(fresh, opt2)
target = {"model": msd2, "optim": osd2, "rank_only": torch.zeros(3), f"only_{1 - rank}": -1,
          "big": torch.zeros(64)}
dcp.load(target, checkpoint_id="ckpt")
meta = {"big": torch.empty(64, device="meta"), "model": {"2.bias": torch.empty(2, device="meta")}}
dcp.load(meta, checkpoint_id="ckpt")
out["meta"] = plain(meta)
set_state_dict(fresh, opt2, model_state_dict=target["model"], optim_state_dict=target["optim"])
out["loaded"] = plain({k: v for k, v in target.items() if k not in ("model", "optim")})
out["params"] = plain(fresh.module.state_dict())
out["expected"] = plain(ddp.module.state_dict())
out["lr"] = opt2.param_groups[0]["lr"]
try:
    get_state_dict(torch.nn.ReLU(), [])
except RuntimeError as e:
    out["empty_error"] = str(e)

# rank 0 alone holds the full state dicts; broadcast_from_rank0 gives them to every rank
full = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True)
third = DDP(model())
opt3 = torch.optim.Adam(third.parameters(), lr=0.5)
# (set_state_dict with an empty model state dict would load only the optimizer, as torch's)
set_model_state_dict(third, msd if rank == 0 else {}, options=full)
set_optimizer_state_dict(third, opt3, osd if rank == 0 else {}, options=full)
out["broadcast"] = plain((third.module.state_dict(), opt3.state_dict()))
out["original"] = plain((ddp.module.state_dict(), opt.state_dict()))
report(out)
"""


def test_two_ranks_write_their_files_and_coordinator_the_metadata(tmp_path):
    runs = run_both(PROGRAM, tmp_path)
    for lib in ("ember", "torch"):
        for r in (0, 1):
            out = runs[lib][r]
            # replicated values saved once, spread over the ranks; rank-own keys by their rank
            assert out["files"] == [".metadata", "__0_0.distcp", "__1_0.distcp"]
            assert out["where"]["only_0"][0] == "__0_0.distcp"
            assert out["where"]["only_1"][0] == "__1_0.distcp"
            assert out["loaded"][f"only_{1 - r}"] == 1 - r
            # a value every rank has is rank 0's (the one saved)
            np.testing.assert_array_equal(out["loaded"]["rank_only"],
                                          runs[lib][0]["loaded"]["rank_only"])
            assert_same(out["params"], out["expected"])
            assert out["lr"] == 0.1
            assert_same(out["meta"], {"big": np.ones(64, np.float32), "model": {
                "2.bias": runs[lib][0]["expected"]["2.bias"]}})
            # rank 0's state everywhere, rebuilt as torch rebuilds it (Adam's betas a list)
            model_sd, optim_sd = runs[lib][0]["original"]
            optim_sd["param_groups"][0]["betas"] = list(optim_sd["param_groups"][0]["betas"])
            assert_same(out["broadcast"], (model_sd, optim_sd))
            assert_same(out["broadcast"][1]["param_groups"],
                        runs["torch"][r]["broadcast"][1]["param_groups"])
    assert_same(runs["ember"][0]["where"], runs["torch"][0]["where"])
    assert runs["ember"][1]["empty_error"] == runs["torch"][1]["empty_error"]
    for r in (0, 1):
        assert runs["ember"][r]["keys_error"] == runs["torch"][r]["keys_error"] == (
            f"Key(s) present in other ranks but not this one, difference: {{'only_{1 - r}'}}")
    assert runs["ember"][0]["keys"] == runs["torch"][0]["keys"]
    # each library's 2-rank checkpoint loads in the other, in one process
    for writer, reader in (("ember", "torch"), ("torch", "ember")):
        lib, dcp = LIBS[reader][:2]
        state = {"big": lib.zeros(64), "only_0": 0, "only_1": 0,
                 "model": {"0.weight": lib.zeros(8, 3)}}
        dcp.load(state, checkpoint_id=str(tmp_path / writer / "ckpt"))
        assert state["only_1"] == 1 and float(state["big"].sum()) == 64.0
        np.testing.assert_allclose(state["model"]["0.weight"].numpy(),
                                   runs[writer][0]["expected"]["0.weight"], rtol=1e-6)


def chunked(lib, dcp, full, rows):
    """``full`` with the write hooks of a sharded tensor: saved as row chunks (offset, rows)."""
    md, pl = dcp.metadata, dcp.planner
    t = full.clone()

    def create_write_items(fqn, obj):
        return [pl.WriteItem(
            index=md.MetadataIndex(fqn, [o, 0]), type=pl.WriteItemType.SHARD,
            tensor_data=pl.TensorWriteData(
                chunk=md.ChunkStorageMetadata(lib.Size([o, 0]), lib.Size([n, full.shape[1]])),
                properties=md.TensorProperties.create_from_tensor(full), size=full.size()))
            for o, n in rows]

    t.__create_write_items__ = create_write_items
    t.__get_tensor_shard__ = lambda index: full.narrow(0, index.offset[0], dict(rows)[
        index.offset[0]])
    return t


@pytest.mark.parametrize("writer,reader", [("ember", "torch"), ("torch", "ember")])
def test_chunked_tensor_loads_whole(tmp_path, writer, reader):
    """A tensor saved as chunks (as sharded tensors are) is read back chunk by chunk into a
    whole tensor."""
    w, wdcp = LIBS[writer][:2]
    r, rdcp = LIBS[reader][:2]
    full = w.arange(20.0).reshape(5, 4)
    wdcp.save({"s": chunked(w, wdcp, full, [(0, 2), (2, 3)])}, checkpoint_id=str(tmp_path))
    with open(tmp_path / ".metadata", "rb") as f:
        chunks = pickle.load(f).state_dict_metadata["s"].chunks
    assert [(tuple(c.offsets), tuple(c.sizes)) for c in chunks] == [((0, 0), (2, 4)),
                                                                     ((2, 0), (3, 4))]
    target = {"s": r.zeros(5, 4)}
    rdcp.load(target, checkpoint_id=str(tmp_path))
    np.testing.assert_array_equal(target["s"].numpy(), np.arange(20.0).reshape(5, 4))


def hf_state(lib):
    return {"b.w": lib.arange(6.0).reshape(2, 3), "a": lib.arange(4, dtype=lib.int64),
            "h": lib.tensor([1.5, -2.0, 3.0], dtype=lib.bfloat16),
            "v": lib.arange(12.0).reshape(3, 4)[:, 1], "m": lib.tensor([True, False])}


def safetensors_headers(path):
    out = {}
    for name in sorted(os.listdir(path)):
        if name.endswith(".safetensors"):
            with open(path / name, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
                header = json.loads(f.read(n))
            header["__metadata__"]["DCP_SHARDING_INFO"] = json.loads(
                header["__metadata__"]["DCP_SHARDING_INFO"])
            out[name] = header
    return out


@pytest.mark.parametrize("kwargs", [dict(fqn_to_index_mapping={"b.w": 1, "a": 2, "h": 2,
                                                               "v": 1, "m": 3}),
                                    dict(), dict(save_distributed=True)])
def test_huggingface_storage_matches_torch(tmp_path, kwargs):
    """Safetensors checkpoints: the same files, headers and index as torch's, each loading
    in the other library."""
    for name, (lib, dcp, _, _) in LIBS.items():
        dcp.save(hf_state(lib), storage_writer=dcp.HuggingFaceStorageWriter(
            str(tmp_path / name), **kwargs))
    ours, theirs = tmp_path / "ember", tmp_path / "torch"
    assert sorted(os.listdir(ours)) == sorted(os.listdir(theirs))
    assert safetensors_headers(ours) == safetensors_headers(theirs)
    if not kwargs.get("save_distributed"):
        with open(ours / "model.safetensors.index.json") as f, \
                open(theirs / "model.safetensors.index.json") as g:
            assert f.read() == g.read()
    for writer, reader in (("ember", "torch"), ("torch", "ember")):
        lib, dcp = LIBS[reader][:2]
        target = {k: lib.zeros_like(v) for k, v in hf_state(lib).items()}
        dcp.load(target, storage_reader=dcp.HuggingFaceStorageReader(str(tmp_path / writer)))
        assert_same(plain(target), plain(hf_state(lib)))
    md = edcp.HuggingFaceStorageReader(str(theirs)).read_metadata()
    assert md.state_dict_metadata["v"] == edcp.TensorStorageMetadata(
        edcp.metadata.TensorProperties(ember.float32), ember.Size([3]),
        [edcp.ChunkStorageMetadata(ember.Size([0]), ember.Size([3]))])


def unflattened(lib, dcp, path):
    sd = {"t": lib.ones(2), "nested": {"a": lib.ones(3), "n": 1}, "l": [lib.zeros(1), 2],
          "empty": {}}
    md = dcp.save(sd, checkpoint_id=str(path), planner=dcp.DefaultSavePlanner(
        flatten_state_dict=False))
    out = [sorted((k, type(v).__name__) for k, v in md.state_dict_metadata.items()),
           md.planner_data]
    # (as torch's: values other than tensors are loaded into a rebuilt copy, not the dict)
    target = {"t": lib.zeros(2), "nested": {"a": lib.zeros(3), "n": 0}, "l": None}
    dcp.load(target, checkpoint_id=str(path), planner=dcp.DefaultLoadPlanner(
        flatten_state_dict=False))
    out.append(plain(target))
    target = {"t": lib.zeros(2), "nested": 0, "l": None}
    dcp.load(target, checkpoint_id=str(path), planner=dcp.DefaultLoadPlanner(
        flatten_state_dict=False, flatten_sharded_tensors=False))
    out.append(plain(target))
    return out


def test_unflattened_planners_match_torch(tmp_path):
    assert_same(unflattened(ember, edcp, tmp_path / "ember"),
                unflattened(torch, tdcp, tmp_path / "torch"))


@pytest.mark.parametrize("writer,reader", [("ember", "torch"), ("torch", "ember")])
def test_rank_local_metadata_without_collectives(tmp_path, writer, reader):
    """use_collectives=False: the rank writes __0.metadata itself; load falls back to it."""
    w, wdcp = LIBS[writer][:2]
    r, rdcp = LIBS[reader][:2]
    wdcp.save({"t": w.arange(3.0), "n": 3}, checkpoint_id=str(tmp_path),
              use_collectives=False)
    assert sorted(os.listdir(tmp_path)) == ["__0.metadata", "__0_0.distcp"]
    target = {"t": r.zeros(3), "n": 0}
    rdcp.load(target, checkpoint_id=str(tmp_path))
    assert target["t"].tolist() == [0.0, 1.0, 2.0] and target["n"] == 3


def test_format_utils_command_line(tmp_path, capsys):
    torch.save({"a": torch.ones(2), "n": {"x": 1}}, tmp_path / "src.pt")
    efu._main(["torch_to_dcp", str(tmp_path / "src.pt"), str(tmp_path / "dcp")])
    efu._main(["dcp_to_torch", str(tmp_path / "dcp"), str(tmp_path / "back.pt")])
    efu._main(["dcp_to_torch", str(tmp_path / "absent"), str(tmp_path / "x.pt")])
    back = torch.load(tmp_path / "back.pt")
    assert back["a"].tolist() == [1.0, 1.0] and back["n"] == {"x": 1}
    assert capsys.readouterr().out.splitlines()[-1] == \
        f"No checkpoint found at {tmp_path / 'absent'}. Skipping conversion."


def test_metadata_of_older_torch_loads(tmp_path):
    """Checkpoints of torch < 2.2 pickled the TensorProperties of torch's ShardedTensor."""
    from torch.distributed._shard.sharded_tensor.metadata import TensorProperties
    tdcp.save({"w": torch.arange(4.0), "n": 2}, checkpoint_id=str(tmp_path))
    with open(tmp_path / ".metadata", "rb") as f:
        md = pickle.load(f)
    md.state_dict_metadata["w"].properties = TensorProperties(
        dtype=torch.float32, memory_format=torch.channels_last)
    with open(tmp_path / ".metadata", "wb") as f:
        pickle.dump(md, f)
    with open(tmp_path / ".metadata", "rb") as f:
        assert b"torch.distributed._shard.sharded_tensor.metadata" in f.read()
    properties = edcp.FileSystemReader(str(tmp_path)).read_metadata().state_dict_metadata[
        "w"].properties
    assert properties == edcp.metadata.TensorProperties(
        dtype=ember.float32, memory_format=ember.channels_last)
    target = {"w": ember.zeros(4), "n": 0}
    edcp.load(target, checkpoint_id=str(tmp_path))
    assert target["w"].tolist() == [0.0, 1.0, 2.0, 3.0] and target["n"] == 2
