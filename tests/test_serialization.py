"""ember.save / ember.load against torch.save / torch.load (torch is the oracle, test-only)."""
import collections
import errno
import io
import math
import mmap
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
import warnings
import zipfile
import zlib

import ml_dtypes
import numpy as np
import pytest
import torch

import ember
import ember.serialization as S
from ember._tensor import _new
from ember.backends import get_backend
from ember.nn.parameter import Parameter
from ember.serialization import EmberLoadError, _zip

DTYPES = ["float32", "float64", "float16", "bfloat16", "int8", "uint8", "int16", "int32",
          "int64", "bool", "complex64", "complex128"]
NP = {d: np.dtype(ml_dtypes.bfloat16 if d == "bfloat16" else d) for d in DTYPES}


# ---- helpers --------------------------------------------------------------------------------

def sample(dtype, shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 50
    if dtype.startswith("complex"):
        x = x + 1j * rng.standard_normal(shape)
    if dtype == "bool":
        return x > 0
    return x.astype(NP[dtype])


def E(arr, requires_grad=False, device="cpu"):
    be = get_backend(device)
    t = _new(be.from_host(np.asarray(arr)), be)
    t.requires_grad = requires_grad
    return t


def T(arr):
    arr = np.asarray(arr)
    if arr.dtype == ml_dtypes.bfloat16:
        return torch.from_numpy(arr.view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(arr.copy())


def host(x):
    """A numpy copy of an ember or torch tensor (bfloat16 kept as ml_dtypes.bfloat16)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype == torch.bfloat16:
            return x.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
        return x.numpy()
    return x.be.to_host(x.arr)


def same_tensor(e, t):
    """Same dtype, shape, requires_grad and bits (NaNs included)."""
    assert isinstance(e, ember.Tensor) and isinstance(t, torch.Tensor)
    assert str(e.dtype) == str(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    assert e.requires_grad == t.requires_grad
    a, b = host(e), host(t)
    assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def same_tree(e, t):
    """ember object tree `e` mirrors torch object tree `t`."""
    if isinstance(t, torch.Tensor):
        same_tensor(e, t)
        assert isinstance(e, Parameter) == isinstance(t, torch.nn.Parameter)
    elif isinstance(t, dict):
        assert type(e) is type(t) and list(e) == list(t)
        for k in t:
            same_tree(e[k], t[k])
        assert getattr(e, "_metadata", None) == getattr(t, "_metadata", None)
    elif isinstance(t, (list, tuple)):
        assert type(e) is type(t) and len(e) == len(t)
        for a, b in zip(e, t):
            same_tree(a, b)
    elif isinstance(t, float) and math.isnan(t):
        assert math.isnan(e)
    elif isinstance(t, torch.dtype):
        assert str(e) == str(t)
    elif isinstance(t, torch.device):
        assert str(e) == str(t)
    else:
        assert type(e) is type(t) and e == t


def torch_bytes(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def ember_bytes(obj, **kw):
    buf = io.BytesIO()
    S.save(obj, buf, **kw)
    return buf.getvalue()


def e_load(data, **kw):
    return S.load(io.BytesIO(data), **kw)


def t_load(data):
    return torch.load(io.BytesIO(data), weights_only=True)


def zip_with(records, prefix="archive"):
    """A torch-layout zip holding `records` (name -> bytes), written by ember's writer."""
    buf = io.BytesIO()
    w = _zip.ZipWriter(buf, prefix)
    for name, data in records.items():
        w.write_record(name, data)
    w.finish()
    return buf.getvalue()


def records_of(data):
    z = zipfile.ZipFile(io.BytesIO(data))
    prefix = z.namelist()[0].split("/")[0] + "/"
    return {n[len(prefix):]: z.read(n) for n in z.namelist()}


# ---- torch.save -> ember.load and ember.save -> torch.load, per dtype ------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_to_ember_dtypes(dtype):
    t = T(sample(dtype))
    same_tree(e_load(torch_bytes({"x": t, "x0": t[0, 0].clone()})), {"x": t, "x0": t[0, 0]})


@pytest.mark.parametrize("dtype", DTYPES)
def test_ember_to_torch_dtypes(dtype):
    a = sample(dtype)
    e = E(a)
    loaded = t_load(ember_bytes({"x": e, "x0": E(a[0, 0])}))
    same_tree({"x": e, "x0": E(a[0, 0])}, loaded)


def test_ember_round_trip_special_floats():
    a = np.array([np.nan, -0.0, np.inf, -np.inf, 1e-45, 3.4e38], np.float32)
    same_tensor(e_load(ember_bytes(E(a))), T(a))
    same_tensor(E(a), t_load(ember_bytes(E(a))))


@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (2, 0, 4), (1,), (2, 3, 4)])
def test_shapes_both_ways(shape):
    a = sample("float32", shape)
    same_tensor(e_load(torch_bytes(T(a))), T(a))
    same_tensor(E(a), t_load(ember_bytes(E(a))))


def test_requires_grad_both_ways():
    a = sample("float64")
    t = T(a).requires_grad_()
    same_tensor(e_load(torch_bytes(t)), t)
    same_tensor(E(a, requires_grad=True), t_load(ember_bytes(E(a, requires_grad=True))))


def test_non_leaf_tensor_saves_as_leaf_requiring_grad():
    x = E(sample("float32"), requires_grad=True)
    y = x * 2
    loaded = t_load(ember_bytes(y))
    assert loaded.requires_grad and loaded.is_leaf
    np.testing.assert_array_equal(loaded.detach().numpy(), host(y))


# ---- views and storage sharing ---------------------------------------------------------------

def torch_views():
    x = torch.arange(60, dtype=torch.float32).reshape(5, 12)
    return {"base": x, "row": x[2], "block": x[1:4, 3:9], "t": x.t(), "step": x[:, ::3],
            "expand": x[0, :4].unsqueeze(0).expand(3, 4), "scalar": x[4, 11], "flat": x.view(-1)}


def test_torch_views_load_as_views_of_one_storage():
    t = torch_views()
    e = e_load(torch_bytes(t))
    same_tree(e, t)
    assert len({id(_root(v.arr)) for v in e.values()}) == 1
    e["base"].arr[1, 3] = -7.0               # a write through the base shows in every view
    assert e["block"].arr[0, 0] == -7.0 and e["t"].arr[3, 1] == -7.0


def _root(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def test_ember_views_saved_once_and_restored_as_views_in_torch():
    base = np.arange(60, dtype=np.float32).reshape(5, 12)
    e = {"base": E(base), "row": E(base[2]), "block": E(base[1:4, 3:9]), "t": E(base.T),
         "step": E(base[:, ::3]), "expand": E(np.broadcast_to(base[0, :4], (3, 4))),
         "scalar": E(base[4, 11, ...]), "flat": E(base.reshape(-1))}
    data = ember_bytes(e)
    assert sum(n.startswith("data/") for n in records_of(data)) == 1
    t = t_load(data)
    same_tree(e, t)
    assert len({v.untyped_storage().data_ptr() for v in t.values()}) == 1
    t["base"][1, 3] = -7.0
    assert t["block"][0, 0] == -7.0
    back = e_load(data)
    same_tree(back, t_load(data))


def test_fortran_and_negative_stride_and_reinterpreted_arrays():
    f = np.asfortranarray(sample("float64", (3, 5)))
    flipped = sample("int32", (6,))[::-1]
    ints = np.arange(8, dtype=np.int64)
    # "ints" is a copy: torch refuses to save two tensors viewing one buffer as two dtypes
    e = {"f": E(f), "fview": E(f[1:, 2:]), "flip": E(flipped), "reint": E(ints.view(np.int32)),
         "ints": E(ints.copy())}
    t = t_load(ember_bytes(e))
    same_tree(e, t)
    assert t["f"].stride() == (1, 3)         # the Fortran layout survives


def test_same_tensor_object_is_one_object_after_load():
    w = E(sample("float32"))
    t = t_load(ember_bytes({"a": w, "b": w, "l": [w]}))
    assert t["a"] is t["b"] is t["l"][0]
    tw = T(sample("float32"))
    e = e_load(torch_bytes({"a": tw, "b": tw}))
    assert e["a"] is e["b"]


def test_data_pkl_is_byte_identical_to_torch():
    x = np.arange(10, dtype=np.float32)
    tx = torch.from_numpy(x.copy())
    tobj = {"a": tx, "b": tx[2:5], "c": torch.tensor(3), "p": torch.nn.Parameter(torch.ones(2)),
            "bf": torch.ones(2, dtype=torch.bfloat16), "n": [1, 2.5, "s", None],
            "empty": torch.zeros(0, 3)}
    ex = E(x)
    eobj = {"a": ex, "b": E(ex.arr[2:5]), "c": E(np.array(3)), "p": Parameter(E(np.ones(2, "f4"))),
            "bf": E(np.ones(2, ml_dtypes.bfloat16)), "n": [1, 2.5, "s", None],
            "empty": E(np.zeros((0, 3), "f4"))}     # (an empty record has no data descriptor)
    td, ed = torch_bytes(tobj), ember_bytes(eobj)
    tz, ez = zipfile.ZipFile(io.BytesIO(td)), zipfile.ZipFile(io.BytesIO(ed))
    assert tz.namelist() == ez.namelist()
    assert [i.header_offset for i in tz.infolist()] == [i.header_offset for i in ez.infolist()]
    for name in tz.namelist():
        if not name.endswith("serialization_id"):
            assert tz.read(name) == ez.read(name), name
    assert len(td) == len(ed)


def test_records_aligned_to_64_bytes_and_stored():
    data = ember_bytes({"a": E(sample("float32", (7,))), "b": E(sample("int8", (3,)))})
    z = zipfile.ZipFile(io.BytesIO(data))
    for info in z.infolist():
        local = data[info.header_offset:info.header_offset + 30]
        n, m = struct.unpack("<HH", local[26:30])
        assert (info.header_offset + 30 + n + m) % 64 == 0
        assert info.compress_type == zipfile.ZIP_STORED
    assert z.testzip() is None


# ---- containers and Python values -----------------------------------------------------------

def python_values():
    od = collections.OrderedDict([("z", 1), ("a", [2, (3, 4.5)])])
    return {"int": 7, "big": 2 ** 70, "neg": -(2 ** 40), "float": 1.25, "nan": float("nan"),
            "inf": float("-inf"), "complex": 1 + 2j, "str": "héllo ✓", "empty": "",
            "bytes": b"\x00\xff", "none": None, "bools": [True, False], "tuple": (1, "a"),
            "nested": {"l": [[], {}, ()], "od": od}, "set": {1, 2, 3}, "counter":
            collections.Counter("hello"), 3: "int key", (1, 2): "tuple key"}


def test_python_values_both_ways():
    v = python_values()
    same_tree(e_load(torch_bytes(v)), v)
    same_tree(t_load(ember_bytes(v)), v)
    same_tree(e_load(ember_bytes(v)), v)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickle_protocols(protocol):
    obj = {"t": E(sample("float32")), "v": python_values()}
    back = e_load(ember_bytes(obj, pickle_protocol=protocol))
    same_tensor(back["t"], T(host(obj["t"])))
    tobj = {"t": T(sample("float32")), "v": python_values()}
    same_tree(e_load(torch_bytes(tobj, pickle_protocol=protocol)), tobj)


def test_dtypes_devices_and_sizes_as_values():
    e = {"d": ember.float32, "b": ember.bool, "bf": ember.bfloat16, "dev": ember.device("cpu"),
         "size": ember.Size([2, 3])}
    t = t_load(ember_bytes(e))
    assert t == {"d": torch.float32, "b": torch.bool, "bf": torch.bfloat16,
                 "dev": torch.device("cpu"), "size": torch.Size([2, 3])}
    back = e_load(torch_bytes(t))
    assert back["d"] is ember.float32 and back["bf"] is ember.bfloat16
    assert back["dev"] == ember.device("cpu") and back["size"] == (2, 3)
    assert type(back["size"]) is ember.Size


def _data_pkl(data):
    z = zipfile.ZipFile(io.BytesIO(data))
    return z.read(next(n for n in z.namelist() if n.endswith("/data.pkl")))


def test_layouts_and_qschemes_as_values_pickle_as_torchs():
    """A layout is torch.serialization._get_layout("torch.sparse_coo"), a qscheme the global
    torch.per_tensor_affine: ember wrote ember._layout / ember._quantized globals, which torch
    cannot load."""
    e = [ember.sparse_coo, ember.strided, ember.sparse_csr, ember.per_tensor_affine,
         ember.per_channel_symmetric]
    t = [torch.sparse_coo, torch.strided, torch.sparse_csr, torch.per_tensor_affine,
         torch.per_channel_symmetric]
    assert _data_pkl(ember_bytes(e)) == _data_pkl(torch_bytes(t))
    assert t_load(ember_bytes(e)) == t
    back = e_load(torch_bytes(t))
    assert all(a is b for a, b in zip(back, e))


def test_generators_pickle_as_torchs_both_ways():
    """torch pickles a Generator as torch._C.Generator(device) with the state (initial seed,
    offset or None, state): ember's loader refused torch's ("state is not a dictionary") and
    ember wrote its own class, which torch.load made an ember object of."""
    def saved(lib, to_bytes):
        g = lib.Generator().manual_seed(7)
        lib.randn(3, generator=g)
        return to_bytes({"g": g}), lib.randn(2, generator=g).tolist()
    (t, t_next), (e, e_next) = saved(torch, torch_bytes), saved(ember, ember_bytes)
    back = e_load(t, weights_only=False)["g"]
    assert type(back) is ember.Generator and back.initial_seed() == 7
    assert ember.randn(2, generator=back).tolist() == t_next
    tt = torch.load(io.BytesIO(e), weights_only=False)["g"]
    assert type(tt) is torch.Generator and torch.randn(2, generator=tt).tolist() == e_next
    g = ember.Generator().manual_seed(7)
    ember.randn(3, generator=g)
    assert ember.randn(2, generator=pickle.loads(pickle.dumps(g))).tolist() == e_next


def test_return_types_pickle_as_torchs_structseqs():
    """torch pickles a return type as cls((values...), {}): ember's reader made a max() result
    of values=(values, indices), indices={}; ember wrote its own rebuild function's global."""
    t = {"m": torch.max(torch.tensor([[1.0, 3.0]]), 1), "qr": torch.linalg.qr(torch.eye(2))}
    e = {"m": ember.max(ember.tensor([[1.0, 3.0]]), 1), "qr": ember.linalg.qr(ember.eye(2))}
    assert _data_pkl(ember_bytes(e)) == _data_pkl(torch_bytes(t))
    back = e_load(torch_bytes(t), weights_only=False)
    assert type(back["m"]) is type(e["m"]) and type(back["qr"]) is type(e["qr"])
    assert back["m"].indices.tolist() == [1] and back["qr"].R.tolist() == [[1, 0], [0, 1]]
    tt = torch.load(io.BytesIO(ember_bytes(e)), weights_only=False)
    assert type(tt["m"]) is torch.return_types.max and tt["m"].values.tolist() == [3.0]
    msgs = []               # weights_only refuses them in both, in the same words
    for load, data in ((e_load, torch_bytes(t)), (t_load, ember_bytes(e))):
        with pytest.raises(pickle.UnpicklingError) as info:
            load(data)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


# ---- models, optimizers, checkpoints --------------------------------------------------------

def torch_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, padding=1, bias=False),
                            torch.nn.BatchNorm2d(8)),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 10))


def trained_checkpoint():
    model = torch_model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    for _ in range(2):
        model(torch.randn(2, 3, 6, 6)).square().mean().backward()
        opt.step()
    return model, opt


def test_model_state_dict_torch_to_ember():
    sd = torch_model().state_dict()
    e = e_load(torch_bytes(sd))
    assert type(e) is collections.OrderedDict and list(e) == list(sd)
    same_tree(e, sd)
    assert e._metadata == sd._metadata and "1.num_batches_tracked" in e


def test_model_state_dict_ember_to_torch_loads_into_module():
    sd = e_load(torch_bytes(torch_model().state_dict()))
    fresh = torch.nn.Sequential(*list(torch_model().children()))
    for p in fresh.parameters():
        torch.nn.init.zeros_(p)
    back = t_load(ember_bytes(sd))
    fresh.load_state_dict(back)
    same_tree(sd, fresh.state_dict())
    assert back._metadata == sd._metadata


def test_optimizer_state_dict_both_ways():
    model, opt = trained_checkpoint()
    osd = opt.state_dict()
    e = e_load(torch_bytes(osd))
    same_tree(e, osd)
    back = t_load(ember_bytes(e))
    same_tree(e, back)
    opt2 = torch.optim.AdamW(model.parameters(), lr=5.0)
    opt2.load_state_dict(back)
    assert opt2.param_groups[0]["lr"] == 1e-3


def test_full_checkpoint_both_ways(tmp_path):
    model, opt = trained_checkpoint()
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
            "best": 0.25, "args": {"name": "run", "layers": [3, 8]}}
    torch.save(ckpt, tmp_path / "t.pt")
    e = S.load(tmp_path / "t.pt")
    same_tree(e, ckpt)
    S.save(e, tmp_path / "e.pt")
    same_tree(e, torch.load(tmp_path / "e.pt", weights_only=True))
    same_tree(S.load(str(tmp_path / "e.pt")), ckpt)


def test_parameters_both_ways():
    tp = torch.nn.Parameter(T(sample("float32")))
    e = e_load(torch_bytes({"p": tp, "frozen": torch.nn.Parameter(T(sample("float32")), False)}))
    assert type(e["p"]) is Parameter and e["p"].requires_grad
    assert type(e["frozen"]) is Parameter and not e["frozen"].requires_grad
    same_tensor(e["p"], tp)
    ep = Parameter(E(sample("float64")))
    t = t_load(ember_bytes({"p": ep, "p2": ep}))
    assert type(t["p"]) is torch.nn.Parameter and t["p"].requires_grad and t["p"] is t["p2"]
    same_tensor(ep, t["p"])


def test_state_dict_loads_into_ember_module():
    nn = pytest.importorskip("ember.nn")        # the nn package lands separately
    if not hasattr(nn, "Linear"):
        pytest.skip("ember.nn.Linear not available yet")
    tl = torch.nn.Linear(4, 3)
    el = nn.Linear(4, 3)
    el.load_state_dict(S.load(io.BytesIO(torch_bytes(tl.state_dict()))))
    x = sample("float32", (2, 4))
    np.testing.assert_allclose(host(el(E(x))), tl(T(x)).detach().numpy(), rtol=1e-6)
    same_tree(S.load(io.BytesIO(ember_bytes(el.state_dict()))), tl.state_dict())


def test_whole_module_pickles_need_the_opt_in():
    tm = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
    data = torch_bytes(tm)
    with pytest.raises(pickle.UnpicklingError, match="torch.nn.modules.container.Sequential"):
        e_load(data)
    em = e_load(data, weights_only=False)            # torch's classes map to ember's
    assert type(em).__name__ == "Sequential" and type(em).__module__.startswith("ember.")
    x = sample("float32", (4, 2))
    np.testing.assert_allclose(host(em(E(x))), tm(T(x)).detach().numpy(), rtol=1e-6)
    again = e_load(ember_bytes(em), weights_only=False)
    np.testing.assert_allclose(host(again(E(x))), tm(T(x)).detach().numpy(), rtol=1e-6)


# ---- legacy pre-1.6 format ------------------------------------------------------------------

def test_legacy_torch_files_load():
    t = torch_views()
    t.update(python_values())
    t["bf"] = torch.ones(3, dtype=torch.bfloat16)
    t["p"] = torch.nn.Parameter(torch.ones(2))
    data = torch_bytes(t, _use_new_zipfile_serialization=False)
    assert not data.startswith(b"PK")
    e = e_load(data)
    same_tree(e, t)
    e["base"].arr[0, 0] = 99.0
    assert e["flat"].arr[0] == 99.0          # views still share one storage


def test_legacy_checkpoint_and_ember_legacy_writer():
    model, opt = trained_checkpoint()
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1}
    e = e_load(torch_bytes(ckpt, _use_new_zipfile_serialization=False))
    same_tree(e, ckpt)
    data = ember_bytes(e, _use_new_zipfile_serialization=False)
    same_tree(e, t_load(data))
    same_tree(e_load(data), ckpt)


def test_legacy_file_with_mmap_is_refused():
    data = torch_bytes(torch.ones(2), _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="mmap can only be used"):
        S.load(io.BytesIO(data), mmap=True)


# ---- map_location and devices -----------------------------------------------------------------

@pytest.mark.parametrize("map_location", [None, "cpu", ember.device("cpu"), {"cpu": "cpu"},
                                          lambda storage, loc: storage,
                                          lambda storage, loc: None, b"cpu"])
def test_map_location_to_cpu(map_location):
    t = torch_views()
    e = e_load(torch_bytes(t), map_location=map_location)
    same_tree(e, t)
    assert all(v.device == ember.device("cpu") for v in e.values())


def test_map_location_moves_storages_once(device):
    t = torch_views()
    data = torch_bytes(t)
    for ml in (device, ember.device(device), {"cpu": device},
               lambda storage, loc: storage.to(device)):
        e = e_load(data, map_location=ml)
        assert all(v.device == get_backend(device).device for v in e.values())
        same_tree(e, t)


def test_device_tensors_round_trip(device):
    a = sample("float32", (4, 5))
    base = E(a, device=device)
    e = {"base": base, "view": _new(base.arr[1:, ::2], base.be)}
    data = ember_bytes(e)
    tag = "cpu" if device == "cpu" else f"{device}:0"
    assert tag.encode() in records_of(data)["data.pkl"]
    back = e_load(data)
    assert back["base"].device == base.device
    np.testing.assert_array_equal(host(back["view"]), a[1:, ::2])
    cpu = e_load(data, map_location="cpu")
    assert cpu["base"].device == ember.device("cpu")
    t = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    np.testing.assert_array_equal(t["view"].numpy(), a[1:, ::2])


@pytest.mark.skipif(not (torch.cuda.is_available() and ember.cuda.is_available()),
                    reason="needs a CUDA GPU seen by torch and by CuPy")
def test_torch_cuda_checkpoint_loads_on_cuda_as_views():
    x = torch.arange(24.0, device="cuda").reshape(4, 6)
    t = {"x": x, "v": x[1:, ::2], "h": torch.ones(3, dtype=torch.float16, device="cuda")}
    e = e_load(torch_bytes(t))
    same_tree(e, t)
    assert e["x"].device == ember.device("cuda:0") and e["h"].device == ember.device("cuda:0")
    assert e["x"].arr.data.mem is e["v"].arr.data.mem          # one allocation, two views
    back = torch.load(io.BytesIO(ember_bytes(e)), weights_only=True)
    assert back["x"].device.type == "cuda"
    assert back["x"].untyped_storage().data_ptr() == back["v"].untyped_storage().data_ptr()
    same_tree(e, back)
    cpu = e_load(torch_bytes(t), map_location="cpu")
    assert cpu["v"].device == ember.device("cpu")
    same_tree(cpu, {k: v.cpu() for k, v in t.items()})


def cuda_tagged_file():
    """A torch.save file whose storage is tagged 'cuda:0' (written on a CPU-only machine)."""
    rec = records_of(torch_bytes({"w": torch.ones(3)}))
    rec["data.pkl"] = rec["data.pkl"].replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
    return zip_with(rec)


def test_cuda_location_without_cuda_names_map_location():
    data = cuda_tagged_file()
    if not ember.cuda.is_available():
        with pytest.raises(RuntimeError, match="map_location"):
            e_load(data)
    e = e_load(data, map_location="cpu")
    np.testing.assert_array_equal(host(e["w"]), np.ones(3, np.float32))
    e = e_load(data, map_location={"cuda:0": "mock:0"})
    assert e["w"].device == ember.device("mock:0")
    e = e_load(data, map_location=lambda s, loc: s if loc.startswith("cuda") else None)
    assert e["w"].device == ember.device("cpu")


def test_unknown_location_raises_runtime_error():
    rec = records_of(torch_bytes(torch.ones(1)))
    rec["data.pkl"] = rec["data.pkl"].replace(b"X\x03\x00\x00\x00cpu", b"X\x05\x00\x00\x00xla:0")
    with pytest.raises(RuntimeError, match="xla:0"):
        e_load(zip_with(rec))


# ---- mmap ---------------------------------------------------------------------------------------

def test_mmap_is_lazy_and_private(tmp_path):
    path = tmp_path / "m.pt"
    t = {"a": torch.arange(4096, dtype=torch.float32), "b": torch.ones(3, dtype=torch.int64)}
    t["v"] = t["a"][100:200]
    torch.save(t, path)
    e = S.load(path, mmap=True)
    same_tree(e, t)
    assert isinstance(_root(e["a"].arr).base.obj, mmap.mmap)
    # the data was not read at load time: a change made to the file afterwards shows through
    z = zipfile.ZipFile(path)
    info = next(i for i in z.infolist() if i.filename.endswith("data/0"))
    with open(path, "rb") as f:
        f.seek(info.header_offset + 26)
        n, m = struct.unpack("<HH", f.read(4))
    offset = info.header_offset + 30 + n + m
    with open(path, "r+b") as f:
        f.seek(offset + 4 * 150)
        f.write(np.float32(-5.0).tobytes())
    assert e["a"].arr[150] == -5.0 and e["v"].arr[50] == -5.0
    with pytest.raises(EmberLoadError, match="CRC"):
        S.load(path)                         # an eager load checks the record's CRC-32
    e["a"].arr[0] = 42.0                     # copy-on-write: the file keeps its bytes
    assert S.load(path, mmap=True)["a"].arr[0] == 0.0


def test_mmap_needs_a_real_file():
    with pytest.raises(ValueError, match="file path"):
        S.load(io.BytesIO(torch_bytes(torch.ones(2))), mmap=True)


def test_mmap_matches_eager_load(tmp_path):
    model, opt = trained_checkpoint()
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict()}
    S.save(e_load(torch_bytes(ckpt)), tmp_path / "c.pt")
    same_tree(S.load(tmp_path / "c.pt", mmap=True), ckpt)


# ---- ZIP64 and archive names ---------------------------------------------------------------------

def test_zip64_layout_is_read_by_torch_and_zipfile(monkeypatch, tmp_path):
    monkeypatch.setattr(_zip, "ZIP64_LIMIT", 40)
    e = {"big": E(sample("float64", (8, 8))), "small": E(np.arange(3, dtype=np.int8))}
    data = ember_bytes(e)
    assert b"PK\x06\x06" in data and zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    same_tree(e, t_load(data))
    same_tree(e_load(data), t_load(data))
    (tmp_path / "z.pt").write_bytes(data)
    same_tree(S.load(tmp_path / "z.pt", mmap=True), t_load(data))


@pytest.mark.parametrize("name,folder", [("model.pt", "model"), ("a.b.pth", "a.b"),
                                         ("noext", "noext"), ("é.pt", "archive")])
def test_archive_folder_named_like_torch(tmp_path, name, folder):
    S.save({"x": E(np.ones(2))}, tmp_path / name)
    torch.save({"x": torch.ones(2)}, tmp_path / ("t" + name))
    assert zipfile.ZipFile(tmp_path / name).namelist()[0] == f"{folder}/data.pkl"
    assert torch.load(tmp_path / name, weights_only=True)["x"].tolist() == [1.0, 1.0]


def test_ember_save_and_load_are_these_functions(tmp_path):
    assert ember.save is S.save and ember.load is S.load
    ember.save({"x": E(np.arange(3.0))}, tmp_path / "x.pt")
    assert ember.load(tmp_path / "x.pt")["x"].tolist() == [0.0, 1.0, 2.0]


def test_file_objects_and_paths(tmp_path):
    e = {"x": E(sample("float32"))}
    with open(tmp_path / "f.pt", "wb") as f:
        S.save(e, f)
    with open(tmp_path / "f.pt", "rb") as f:
        same_tree(S.load(f), t_load(ember_bytes(e)))
    same_tree(S.load(os.fspath(tmp_path / "f.pt")), t_load(ember_bytes(e)))
    with pytest.raises(AttributeError, match="write"):
        S.save(e, 3)


def test_non_seekable_stream():
    r, w = os.pipe()
    data = torch_bytes({"x": torch.ones(3)})
    os.write(w, data)
    os.close(w)
    with os.fdopen(r, "rb", buffering=0) as f:
        assert host(S.load(f)["x"]).tolist() == [1.0, 1.0, 1.0]


# ---- weights_only: malicious pickles are refused and never run -----------------------------------

CANARY = "ember_canary_{}"


class Reduce:
    """An object whose unpickling calls `fn(*args)`: the classic payload."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


class Call(Reduce):
    """A Reduce that can stand where pickle wants a callable (nested payloads)."""

    def __call__(self, *args):
        raise AssertionError("never called while pickling")


def _payloads(canary):
    import builtins
    import functools
    import operator
    import runpy
    touch = f"open({canary!r}, 'w').close()"
    cmd = f"touch {canary}"
    return {
        "os.system": Reduce(os.system, cmd),
        "posix.system": Reduce(getattr(__import__("posix"), "system"), cmd),
        "eval": Reduce(eval, touch),
        "builtins.exec": Reduce(builtins.exec, touch),
        "subprocess.call": Reduce(subprocess.call, ["touch", canary]),
        "subprocess.Popen": Reduce(subprocess.Popen, ["touch", canary]),
        "builtins.open": Reduce(open, canary, "w"),
        "getattr chain": Reduce(Call(getattr, Call(__import__, "builtins"), "exec"), touch),
        "compile": Reduce(eval, Call(compile, touch, "x", "eval")),
        "__import__": Reduce(Call(getattr, Call(__import__, "os"), "system"), cmd),
        "importlib": Reduce(Call(getattr, Call(__import__("importlib").import_module, "os"),
                                 "system"), cmd),
        "functools.partial": Reduce(functools.partial(os.system, cmd)),
        "operator.methodcaller": Reduce(operator.methodcaller("__call__", cmd), os.system),
        "operator.attrgetter": Reduce(Call(operator.attrgetter("system"),
                                           Call(__import__, "os")), cmd),
        "nested pickle.loads": Reduce(pickle.loads, pickle.dumps(Reduce(os.system, cmd))),
        "runpy": Reduce(runpy._run_code, touch, {}),
        "types.FunctionType": Reduce(Call(Call(getattr, Call(__import__, "types"),
                                               "FunctionType"),
                                          Call(compile, touch, "x", "exec"), {})),
        "in a state_dict": collections.OrderedDict(w=torch.ones(2), evil=Reduce(os.system, cmd)),
        "in a list in a dict": {"a": [1, 2, {"b": (Reduce(eval, touch),)}]},
    }


def _zip_payload(pkl):
    return zip_with({"data.pkl": pkl, "byteorder": b"little", "version": b"3\n"})


def _legacy_payload(pkl):
    head = b"".join(pickle.dumps(v, protocol=2) for v in (0x1950A86A20F9469CFC6C, 1001, {}))
    return head + pkl + pickle.dumps([], protocol=2)


def _handmade_payloads(canary):
    cmd = f"touch {canary}".encode()
    n = bytes([len(cmd)])
    return {
        # protocol 0 INST and OBJ opcodes
        "INST": b"(S'" + cmd + b"'\nios\nsystem\n.",
        "OBJ": b"(cos\nsystem\nS'" + cmd + b"'\no.",
        # STACK_GLOBAL from memoized strings (obfuscated names)
        "STACK_GLOBAL": b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x8c" + n + cmd +
                        b"\x85R.",
        "STACK_GLOBAL via memo": b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94h\x00h\x01\x93"
                                 b"\x8c" + n + cmd + b"\x85R.",
        # an extension code registered in copyreg
        "EXT1": b"\x80\x02\x82\x01\x8c" + n + cmd + b"\x85R.",
        # BUILD on an allowlisted instance, trying to swap its class
        "BUILD __class__": b"\x80\x02ccollections\nOrderedDict\n)R}X\t\x00\x00\x00__class__"
                           b"cos\nsystem\nsb.",
        # REDUCE of an allowlisted *value* that is not a callable we allow
        "REDUCE on a dtype": b"\x80\x02ctorch\nfloat32\n)R.",
        # REDUCE of torch.Tensor (allowlisted as an argument only): would allocate at will
        "torch.Tensor(10**12)": b"\x80\x02ctorch\nTensor\n\x8a\x05\x00\x10\xa5\xd4\xe8\x85R.",
        "bytearray(10**12)": b"\x80\x02c__builtin__\nbytearray\n\x8a\x05\x00\x10\xa5\xd4\xe8"
                             b"\x85R.",
        "persistent id module": b"\x80\x02X\x06\x00\x00\x00module\x85Q.",
    }


def _all_payload_files(canary):
    files = {}
    for name, obj in _payloads(canary).items():
        for proto in range(0, 6):
            try:
                pkl = pickle.dumps(obj, protocol=proto)
            except (pickle.PicklingError, TypeError, AttributeError):
                assert proto < 2, name          # every payload exists in protocols 2-5
                continue
            files[f"{name} p{proto} zip"] = _zip_payload(pkl)
            files[f"{name} p{proto} legacy"] = _legacy_payload(pkl)
    for name, pkl in _handmade_payloads(canary).items():
        files[f"{name} zip"] = _zip_payload(pkl)
        files[f"{name} legacy"] = _legacy_payload(pkl)
    return files


def test_malicious_pickles_refused_and_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    canary = tmp_path / CANARY.format("x")
    import copyreg
    copyreg.add_extension("os", "system", 1)
    try:
        files = _all_payload_files(str(canary))
        assert len(files) >= 150
        modules = set(sys.modules)
        for name, data in files.items():
            with pytest.raises(pickle.UnpicklingError) as info:
                e_load(data)
            assert not canary.exists(), f"{name} executed"
            msg = str(info.value)
            assert "Weights only load failed" in msg or isinstance(info.value, EmberLoadError), \
                (name, msg)
        assert set(sys.modules) == modules
    finally:
        copyreg.remove_extension("os", "system", 1)


def test_refusal_names_the_global():
    data = _zip_payload(pickle.dumps(Reduce(eval, "1"), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL eval was not an allowed global"):
        e_load(data)
    data = _zip_payload(pickle.dumps(Reduce(os.system, "true"), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"posix.system whose module posix is blocked"):
        e_load(data)
    data = _zip_payload(pickle.dumps(Reduce(subprocess.call, ["true"]), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"subprocess.call"):
        e_load(data)


def test_canary_proves_payloads_are_live(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    canary = tmp_path / "live"
    data = _zip_payload(pickle.dumps(_payloads(str(canary))["builtins.exec"], protocol=2))
    e_load(data, weights_only=False)          # the explicit opt-in runs the code
    assert canary.exists()


def test_torch_refuses_what_ember_refuses(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    canary = tmp_path / CANARY.format("t")
    for name in ("os.system", "eval", "subprocess.call", "functools.partial"):
        data = _zip_payload(pickle.dumps(_payloads(str(canary))[name], protocol=2))
        with pytest.raises(pickle.UnpicklingError):
            t_load(data)
        with pytest.raises(pickle.UnpicklingError):
            e_load(data)
    assert not canary.exists()


def test_weights_only_rules():
    with pytest.raises(RuntimeError, match="explicit pickle_module"):
        e_load(torch_bytes(1), pickle_module=pickle, weights_only=True)
    assert e_load(torch_bytes({"a": 1}), pickle_module=pickle) == {"a": 1}


# ---- safe globals --------------------------------------------------------------------------------

class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return type(other) is Point and (self.x, self.y) == (other.x, other.y)


def test_safe_globals_api():
    # torch registers its NestedTensor rebuilders at import: clearing them would make later
    # tests' torch.load of a jagged tensor fail, so they are put back
    torch_defaults = torch.serialization.get_safe_globals()
    S.clear_safe_globals()
    data = ember_bytes({"p": Point(1, [2.0]), "t": E(np.ones(2))})
    with pytest.raises(pickle.UnpicklingError, match=rf"GLOBAL {Point.__module__}\.Point was"):
        e_load(data)
    assert S.get_unsafe_globals_in_checkpoint(io.BytesIO(data)) == [
        f"{Point.__module__}.Point"]
    with S.safe_globals([Point]):
        assert S.get_safe_globals() == [Point]
        assert e_load(data)["p"] == Point(1, [2.0])
    assert S.get_safe_globals() == []
    S.add_safe_globals([(Point, f"{Point.__module__}.Point")])
    try:
        assert e_load(data)["p"] == Point(1, [2.0])
        torch.serialization.add_safe_globals([Point])
        assert t_load(data)["p"] == Point(1, [2.0])
    finally:
        S.clear_safe_globals()
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(torch_defaults)
    assert S.get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError):
        e_load(data)


def test_blocked_modules_stay_blocked_when_allowlisted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = _zip_payload(pickle.dumps(Reduce(os.system, "touch blocked"), protocol=2))
    with S.safe_globals([os.system]):
        with pytest.raises(pickle.UnpicklingError, match="is blocked"):
            e_load(data)
    assert not (tmp_path / "blocked").exists()


# ---- truncated, corrupt and non-checkpoint files -------------------------------------------------

def _small_files():
    e = {"w": E(sample("float32", (3,))), "b": E(np.arange(2, dtype=np.int64)), "n": [1, "x"]}
    return {"ember": ember_bytes(e),
            "torch": torch_bytes({"w": T(sample("float32", (3,))), "v": torch.ones(2)[1:]}),
            "legacy": torch_bytes({"w": torch.ones(3)}, _use_new_zipfile_serialization=False)}


@pytest.mark.parametrize("kind", ["ember", "torch", "legacy"])
def test_truncation_at_every_offset_is_a_clean_error(kind):
    data = _small_files()[kind]
    for n in range(len(data)):
        with pytest.raises(EmberLoadError):
            e_load(data[:n])


def _data_spans(data):
    """Byte ranges of every record's data (what the CRC-32s cover)."""
    spans = []
    for info in zipfile.ZipFile(io.BytesIO(data)).infolist():
        n, m = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
        start = info.header_offset + 30 + n + m
        spans.append(range(start, start + info.file_size))
    return spans


@pytest.mark.parametrize("kind", ["ember", "torch"])
def test_bit_flips_are_clean_errors_or_harmless(kind):
    data = _small_files()[kind]
    good, spans = e_load(data), _data_spans(data)
    for pos in range(len(data)):
        bad = bytearray(data)
        bad[pos] ^= 1 << (pos % 8)
        try:
            out = e_load(bytes(bad))
        except EmberLoadError:
            continue
        # only bytes outside the records' data may change harmlessly (padding, unused fields)
        assert not any(pos in span for span in spans), pos
        assert out.keys() == good.keys()
        for k in good:
            if isinstance(good[k], ember.Tensor):
                assert host(out[k]).tobytes() == host(good[k]).tobytes()
            else:
                assert out[k] == good[k]


def test_flipped_tensor_byte_fails_crc():
    data = bytearray(ember_bytes(E(np.arange(16, dtype=np.float32))))
    z = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = next(i for i in z.infolist() if i.filename.endswith("data/0"))
    n, m = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    data[info.header_offset + 30 + n + m + 5] ^= 0x10
    with pytest.raises(EmberLoadError, match="CRC"):
        e_load(bytes(data))


CHUNK = _zip.CRC_CHUNK


@pytest.mark.parametrize("len1,len2", [(0, 0), (0, 5), (7, 0), (1, 1), (100, CHUNK),
                                       (3, CHUNK + 1), (CHUNK - 1, CHUNK), (CHUNK, 4095),
                                       (12345, 987654), (5, 1 << 24)])
@pytest.mark.parametrize("tables", [True, False])
def test_crc32_combine_is_zlibs_crc_of_the_concatenation(len1, len2, tables, monkeypatch):
    # big records are read in chunks whose CRCs helper threads compute, joined by crc32_combine
    # (byte tables for the chunk length, zlib's polynomial arithmetic for others)
    monkeypatch.setattr(_zip, "_SHIFTS", {CHUNK: _zip._shift_tables(CHUNK)} if tables else {})
    rng = np.random.default_rng(len1 * 7919 + len2)
    a = rng.integers(0, 256, len1, dtype=np.uint8).tobytes()
    b = rng.integers(0, 256, len2, dtype=np.uint8).tobytes()
    assert _zip.crc32_combine(zlib.crc32(a), zlib.crc32(b), len2) == zlib.crc32(a + b)


class ShortReads(io.RawIOBase):
    """A raw binary file that returns at most 100,003 bytes a read (as pipes and sockets may)."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, pos, whence=0):
        self.pos = [pos, self.pos + pos, len(self.data) + pos][whence]
        return self.pos

    def tell(self):
        return self.pos

    def readinto(self, b):
        chunk = self.data[self.pos:self.pos + min(len(b), 100_003)]
        b[:len(chunk)] = chunk
        self.pos += len(chunk)
        return len(chunk)


class ReadOnly:
    """A file object with read and seek only (no readinto)."""

    def __init__(self, data):
        self.f = io.BytesIO(data)
        self.read, self.seek, self.tell = self.f.read, self.f.seek, self.f.tell

    def seekable(self):
        return True


def _open_as(kind, data, tmp_path, opened):
    if kind == "path":
        path = tmp_path / f"f{len(opened)}.zip"
        path.write_bytes(data)
        opened.append(open(path, "rb"))
        return opened[-1]
    return {"BytesIO": io.BytesIO, "short reads": ShortReads, "read only": ReadOnly}[kind](data)


@pytest.mark.parametrize("size", [0, 1, 4095, 2 * CHUNK - 1, 2 * CHUNK, 5 * CHUNK + 13,
                                  17 * CHUNK + 3])
@pytest.mark.parametrize("kind", ["path", "BytesIO", "short reads", "read only"])
@pytest.mark.parametrize("threads", [1, 2, 5])        # (5: more helpers than the pool has)
def test_record_reads_check_every_byte(size, kind, threads, tmp_path, monkeypatch):
    """A record is read whole and CRC-checked from any file object, on one thread or in
    chunks whose CRCs helpers compute; a flipped bit anywhere in it (the first and last byte,
    either side of a chunk boundary) is a CRC mismatch."""
    monkeypatch.setattr(_zip, "_threads", lambda: threads)
    payload = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    data = zip_with({"data/0": payload, "version": b"3\n"})
    opened = []
    try:
        _check_reads(kind, data, payload, tmp_path, opened)
    finally:
        for f in opened:
            f.close()


def _check_reads(kind, data, payload, tmp_path, opened):
    size = len(payload)
    rec = _zip.ZipReader(_open_as(kind, data, tmp_path, opened)).get("data/0")
    assert bytes(rec.read_into(bytearray(size))) == payload
    out = np.empty(size, np.uint8)
    assert rec.read_into(out) is out and out.tobytes() == payload
    start = rec.data_offset
    chunk = _zip._chunk(size)           # (17 MiB: 4 MiB chunks)
    edges = (0, chunk - 1, chunk, size // 2, size - 1)
    for pos in sorted({p for p in edges if 0 <= p < size}):
        bad = bytearray(data)
        bad[start + pos] ^= 1 << (pos % 8)
        rec = _zip.ZipReader(_open_as(kind, bytes(bad), tmp_path, opened)).get("data/0")
        with pytest.raises(EmberLoadError, match="CRC-32 mismatch"):
            rec.read_into(np.empty(size, np.uint8))
        assert rec.read_into(np.empty(size, np.uint8), check_crc=False).tobytes() != payload


def test_chunked_reads_stop_where_the_file_ends():
    # (a file shorter than its directory says: the read reports how much it got, and no CRC)
    payload = np.arange(3 * CHUNK, dtype=np.uint8).tobytes()
    for cut in (0, 5, CHUNK, 2 * CHUNK + 7):
        view = memoryview(bytearray(len(payload)))
        assert _zip._read_and_crc(io.BytesIO(payload[:cut]), view) == (cut, None)
        assert _zip._read_and_crc(ShortReads(payload[:cut]), view) == (cut, None)
    assert _zip._read_and_crc(io.BytesIO(payload), view) == (len(payload), zlib.crc32(payload))


def test_a_failed_read_leaves_no_helper_waiting(monkeypatch):
    """Helpers wait for chunks as they are read: a read that fails midway still lets them go
    (else they would hold the elementwise pool's threads for good)."""
    from ember import _parallel
    workers = _parallel._executor()._max_workers
    monkeypatch.setattr(_zip, "_threads", lambda: workers + 1)

    class Failing(ShortReads):
        armed = False

        def readinto(self, b):
            if self.armed and self.pos > 3 * CHUNK:
                raise OSError(errno.EIO, "disk error")
            return super().readinto(b)

    payload = bytes(8 * CHUNK)
    f = Failing(zip_with({"data/0": payload}))
    rec = _zip.ZipReader(f).get("data/0")
    f.armed = True
    for _ in range(2):
        with pytest.raises(OSError, match="disk error"):
            rec.read_into(np.empty(len(payload), np.uint8))
    assert [_parallel.on_helper(int, "7") for _ in range(workers)][-1].result(timeout=30) == 7


def test_one_thread_checks_crcs_without_helpers(monkeypatch, tmp_path):
    # torch.set_num_threads(1): the loading thread reads and checks every record itself
    from ember import _parallel, _threads

    def no_helpers(*args):
        raise AssertionError("a helper thread was used")

    monkeypatch.setitem(_threads._STATE, "n", 1)
    monkeypatch.setattr(_parallel, "on_helper", no_helpers)
    t = {"w": torch.from_numpy(np.random.default_rng(3).standard_normal(5 * CHUNK // 4,
                                                                        np.float32))}
    torch.save(t, tmp_path / "one.pt")
    same_tree(S.load(tmp_path / "one.pt"), t)
    same_tree(S.load(io.BytesIO((tmp_path / "one.pt").read_bytes())), t)


def _many_dtypes_checkpoint():
    """torch tensors of every dtype over random bits (NaNs and subnormals included): storages
    above and below the chunked-read size, odd lengths, and views with offsets and strides."""
    rng = np.random.default_rng(11)
    sd = collections.OrderedDict()
    for i, d in enumerate(DTYPES):
        item = NP[d].itemsize
        n = (2 * CHUNK + 4097 * (i + 1)) // item
        bits = rng.integers(0, 2, n) if d == "bool" else \
            rng.integers(0, 256, n * item, dtype=np.uint8).view(NP[d])
        base = T(bits)
        sd[f"{d}.w"] = base
        sd[f"{d}.t"] = base[: (n // 64) * 64].view(64, -1).t()
        sd[f"{d}.s"] = base[3:n - 5:7]
        sd[f"{d}.small"] = T(sample(d, (5, 3), seed=i))[1:, ::2]
        sd[f"{d}.empty"] = base[:0]
    sd["p"] = torch.nn.Parameter(torch.from_numpy(rng.standard_normal(CHUNK, np.float32)))
    return sd


@pytest.mark.parametrize("threads", [1, 2, 5])
def test_big_checkpoints_load_bit_identical_to_torch(threads, tmp_path, monkeypatch):
    monkeypatch.setattr(_zip, "_threads", lambda: threads)
    sd = _many_dtypes_checkpoint()
    path = tmp_path / "many.pt"
    torch.save(sd, path)
    want = torch.load(path, weights_only=True)
    data = path.read_bytes()
    same_tree(S.load(path), want)
    same_tree(S.load(io.BytesIO(data)), want)
    same_tree(S.load(ShortReads(data)), want)
    same_tree(S.load(path, mmap=True), want)
    # views still share their storage's memory
    got = S.load(io.BytesIO(data))
    assert np.shares_memory(got["float32.t"].arr, got["float32.w"].arr)


def test_flipped_byte_in_a_big_record_fails_crc():
    data = bytearray(ember_bytes(E(np.arange(3 << 20, dtype=np.float32))))      # 12 MiB
    z = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = next(i for i in z.infolist() if i.filename.endswith("data/0"))
    n, m = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    data[info.header_offset + 30 + n + m + (9 << 20)] ^= 0x01       # in the second half
    with pytest.raises(EmberLoadError, match="CRC"):
        e_load(bytes(data))


@pytest.mark.parametrize("content", [b"", b"x", b"hello world\n" * 10, b"PK\x03\x04",
                                     np.arange(5).tobytes(), pickle.dumps({"a": 1}),
                                     b"\x80\x02K\x01.", b"\x93NUMPY" + bytes(100)])
def test_non_checkpoint_files(content):
    with pytest.raises(EmberLoadError):
        e_load(content)


def test_npy_and_plain_zip_files(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.arange(3))
    with pytest.raises(EmberLoadError):
        e_load(buf.getvalue())
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(EmberLoadError):
        e_load(zbuf.getvalue())


def _tensor_pickle(numel=3, offset=0, size=(3,), stride=(1,), key="0"):
    import ember.serialization._pickler as P
    buf = io.BytesIO()
    p = P.TorchPickler(buf, 2)
    p.save(P.TorchName("torch._utils", "_rebuild_tensor_v2"))
    p.write(pickle.MARK)
    p.save(("storage", P.TorchName("torch", "FloatStorage"), key, "cpu", numel),
           save_persistent_id=False)
    p.write(pickle.BINPERSID)
    for v in (offset, size, stride, False, collections.OrderedDict()):
        p.save(v)
    p.write(pickle.TUPLE + pickle.REDUCE + pickle.STOP)
    return buf.getvalue()


@pytest.mark.parametrize("case", ["numel past record", "view past storage", "offset past storage",
                                  "negative stride", "missing record", "huge numel",
                                  "bad size type"])
def test_hostile_tensor_metadata(case):
    storage = np.arange(3, dtype=np.float32).tobytes()
    pkl = {"numel past record": _tensor_pickle(numel=4),
           "view past storage": _tensor_pickle(size=(2,), stride=(3,)),
           "offset past storage": _tensor_pickle(offset=3),
           "negative stride": _tensor_pickle(size=(3,), stride=(-1,), offset=2),
           "missing record": _tensor_pickle(key="7"),
           "huge numel": _tensor_pickle(numel=2 ** 60, size=(2 ** 60,)),
           "bad size type": _tensor_pickle(size=("3",))}[case]
    with pytest.raises(EmberLoadError):
        e_load(zip_with({"data.pkl": pkl, "data/0": storage}))
    assert e_load(zip_with({"data.pkl": _tensor_pickle(), "data/0": storage})).tolist() == \
        [0.0, 1.0, 2.0]


def test_compressed_duplicate_and_overlapping_records():
    good = torch_bytes(torch.ones(2))
    rec = records_of(good)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in rec.items():
            z.writestr("archive/" + name, data)
    with pytest.raises(EmberLoadError, match="compressed"):
        e_load(zbuf.getvalue())
    dbuf = io.BytesIO()
    with zipfile.ZipFile(dbuf, "w") as z, pytest.warns(UserWarning):
        for name, data in list(rec.items()) + [("data/0", b"\x00" * 8)]:
            z.writestr("archive/" + name, data)
    with pytest.raises(EmberLoadError, match="duplicate"):
        e_load(dbuf.getvalue())
    # the second central directory entry pointing at the first record
    data = bytearray(good)
    first = zipfile.ZipFile(io.BytesIO(good)).infolist()[0]
    second_entry = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 1)
    struct.pack_into("<I", data, second_entry + 42, first.header_offset)
    with pytest.raises(EmberLoadError):
        e_load(bytes(data))


def test_corrupt_pickles_are_clean_errors():
    cases = [b"\x80\x02h\x05.",                       # memo index never set
             b"\x80\x02r\xff\xff\xff\xff)\x85.",      # huge memo index, then a bad tuple op
             b"\x80\x02.",                            # STOP on an empty stack
             b"\x80\x02(K\x01K\x02K\x03u.",           # SETITEMS without a target
             b"\x80\x02)K\x01a.",                     # APPEND to a tuple
             b"\x80\x02X\xff\xff\xff\x7fabc.",        # string longer than the data
             b"\x80\x02\x8b\xff\xff\xff\xff.",        # negative LONG4 length
             b"\x80\x09K\x01.",                       # unknown protocol
             b"\x80\x02K\x01K\x02."]                  # unbalanced stack at STOP
    for pkl in cases:
        with pytest.raises(pickle.UnpicklingError):
            e_load(_zip_payload(pkl))


def test_unpickler_refuses_negative_lengths():
    from ember.serialization._unpickler import Buffer, WeightsUnpickler
    u = WeightsUnpickler(Buffer(b"abcdef"), None)
    assert u.take(2) == b"ab"
    with pytest.raises(EmberLoadError, match="negative length"):
        u.take(-1)
    assert u.pos == 2 and u.take(4) == b"cdef"
    with pytest.raises(EmberLoadError, match="truncated"):
        u.take(1)
    # the signed lengths of BINSTRING and LONG4: refused (torch refuses both opcodes)
    for pkl in (b"\x80\x02T\xfe\xff\xff\xffabc.", b"\x80\x02\x8b\xfe\xff\xff\xffab."):
        with pytest.raises(EmberLoadError, match="negative"):
            e_load(_zip_payload(pkl))
        with pytest.raises(pickle.UnpicklingError):
            t_load(_zip_payload(pkl))


@pytest.mark.parametrize("protocol", range(6))
def test_weights_unpickler_reads_plain_values_as_pickle_does(protocol):
    """Every protocol's opcodes for containers and primitive values (protocol 0's text forms
    included): the weights-only interpreter gives what pickle.loads gives."""
    from ember.serialization._unpickler import Buffer, WeightsUnpickler
    shared = [1, "x"]
    obj = {"ints": [0, 1, -1, 255, 256, 65535, 65536, -2 ** 31, 2 ** 31, 2 ** 63, -2 ** 100,
                    2 ** 2000], "bools": (True, False, None),
           "floats": [0.0, -0.0, 1.5, 1e300, float("inf")], "str": ["", "a", "héllo ✓",
                                                                   "\n\\\"'", "x" * 300],
           "bytes": [b"\x00\xff", bytes(range(256)) * 2], "tuples": [(), (1,), (1, 2),
                                                                         (1, 2, 3), (1,) * 5],
           "sets": [set(), {1, 2}, frozenset(), frozenset({"a"})], "shared": (shared, shared),
           "od": collections.OrderedDict(a=1), "counter": collections.Counter("aab"),
           "nested": [[{}], {"k": ([],)}], 7: "int key", (1, 2): "tuple key"}
    if protocol >= 3:
        obj["bytes"].append(b"")    # (before 3, a call of builtins.bytes, which torch refuses)
    if protocol >= 5:
        obj["bytearray"] = bytearray(b"abc")
    data = pickle.dumps(obj, protocol=protocol)
    buffer = Buffer(data + b"tail")
    got = WeightsUnpickler(buffer, None).load()
    assert got == pickle.loads(data) and repr(got) == repr(pickle.loads(data))
    assert got["shared"][0] is got["shared"][1]
    assert buffer.pos == len(data)          # (a legacy file's next pickle starts there)


def test_deep_nesting_does_not_recurse():
    depth = 100_000
    pkl = b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."
    out = e_load(_zip_payload(pkl))
    for _ in range(10):
        out = out[0]
    assert isinstance(out, list)


def test_shell_unsigned_dtypes_cross_both_ways():
    """uint16/32/64 have no legacy storage class: torch writes _rebuild_tensor_v3 with an
    untyped storage and the dtype; ember reads and writes that form."""
    values = {"a": [1, 60000], "b": [7, 2 ** 31 + 5], "c": [2 ** 40, 3]}
    names = {"a": "uint16", "b": "uint32", "c": "uint64"}
    got = e_load(torch_bytes({k: torch.tensor(v, dtype=getattr(torch, names[k]))
                              for k, v in values.items()}))
    for k, v in values.items():
        assert got[k].dtype is getattr(ember, names[k]) and host(got[k]).tolist() == v
    buf = io.BytesIO()
    ember.save({k: ember.tensor(v).to(getattr(ember, names[k]))[1:] for k, v in values.items()},
               buf)
    back = torch.load(io.BytesIO(buf.getvalue()))
    for k, v in values.items():
        assert back[k].dtype == getattr(torch, names[k]) and back[k].tolist() == v[1:]


def test_conjugate_and_negative_bits_of_torch_files():
    """torch saves a conjugate (negative) view as its source's storage plus the metadata
    {'conj': True} ({'neg': True}); ember read the plain values (silently unconjugated)."""
    b = torch.tensor([1 + 2j, 3 - 1j])
    leaf = torch.tensor([1 + 1j], requires_grad=True).conj().detach().requires_grad_()
    data = torch_bytes({"b": b, "c": b.conj(), "n": b.clone().conj().imag, "leaf": leaf})
    got, want = e_load(data), torch.load(io.BytesIO(data))
    for key in want:
        e, t = got[key], want[key]
        assert (e.tolist(), e.is_conj(), e.requires_grad, e.is_leaf, repr(e.dtype)) == \
            (t.tolist(), t.is_conj(), t.requires_grad, t.is_leaf, repr(t.dtype)), key


def test_unsupported_torch_dtype_and_tensor_kinds():
    with pytest.raises(EmberLoadError, match="bits16"):      # (float8s load: test_float8.py;
        # sparse layouts: test_sparse.py, test_sparse_compressed_ops.py)
        e_load(torch_bytes(torch.zeros(2, dtype=torch.bits16)))


def test_torchscript_archive_refused():
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), buf)
    with pytest.raises(RuntimeError, match="TorchScript"):
        e_load(buf.getvalue())


def test_big_endian_file_is_byteswapped():
    rec = records_of(torch_bytes({"w": torch.arange(4, dtype=torch.float32)}))
    rec["byteorder"] = b"big"
    rec["data/0"] = np.arange(4, dtype=">f4").tobytes()
    assert host(e_load(zip_with(rec))["w"]).tolist() == [0.0, 1.0, 2.0, 3.0]


# ---- atomic, durable save ------------------------------------------------------------------------

def test_save_to_path_keeps_mode_and_leaves_no_temp(tmp_path):
    path = tmp_path / "c.pt"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    S.save({"x": E(np.ones(3))}, path)
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["c.pt"]
    assert t_load(path.read_bytes())["x"].tolist() == [1.0, 1.0, 1.0]


class Boom:
    def __reduce__(self):
        raise RuntimeError("boom")


def test_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "c.pt"
    S.save({"v": 1}, path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="boom"):
        S.save({"x": E(np.ones(3)), "bad": Boom()}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["c.pt"]


def test_disk_full_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    S.save({"v": 1}, path)
    before = path.read_bytes()
    real = _zip.ZipWriter._emit

    def emit(self, data):
        if self.pos > 100:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, data)

    monkeypatch.setattr(_zip.ZipWriter, "_emit", emit)
    with pytest.raises(OSError) as info:
        S.save({"x": E(np.ones(1000))}, path)
    assert info.value.errno == errno.ENOSPC
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["c.pt"]


def test_stale_temp_of_a_dead_writer_is_removed(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    stale = tmp_path / f"c.pt.tmp-{proc.pid}"
    stale.write_bytes(b"partial")
    live = tmp_path / f"c.pt.tmp-{os.getppid()}"
    live.write_bytes(b"someone else's save in progress")
    S.save({"v": 1}, tmp_path / "c.pt")
    assert sorted(os.listdir(tmp_path)) == sorted(["c.pt", live.name])


def test_save_through_symlink_and_refuse_directory(tmp_path):
    target = tmp_path / "real.pt"
    link = tmp_path / "link.pt"
    S.save({"v": 1}, target)
    os.symlink(target, link)
    S.save({"v": 2}, link)
    assert os.path.islink(link) and S.load(target) == {"v": 2}
    with pytest.raises(IsADirectoryError):
        S.save({"v": 1}, tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write read-only files")
def test_read_only_target_is_refused_like_open(tmp_path):
    path = tmp_path / "ro.pt"
    S.save({"v": 1}, path)
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError):
        S.save({"v": 2}, path)


def test_read_only_target_keeps_its_mode(tmp_path):
    path = tmp_path / "ro.pt"
    S.save({"v": 1}, path)
    os.chmod(path, 0o444)
    if os.access(path, os.W_OK):              # root: the save goes through, mode preserved
        S.save({"v": 2}, path)
        assert S.load(path) == {"v": 2} and os.stat(path).st_mode & 0o777 == 0o444


def test_sigkill_mid_save_leaves_old_or_new_checkpoint(tmp_path):
    """Kill a saving child at random moments: the target is always a complete checkpoint."""
    path = tmp_path / "k.pt"
    versions = [np.full(300_000, v, np.float32) for v in (1.0, 2.0)]
    S.save({"w": E(versions[0]), "v": 0}, path)
    rng = np.random.default_rng(0)
    trials = 60
    for trial in range(trials):
        with warnings.catch_warnings():     # torch's native threads; the child runs no torch
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:                           # child: save the two versions forever
            try:
                i = 0
                while True:
                    S.save({"w": E(versions[i % 2]), "v": i % 2}, path)
                    i += 1
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, 0.02))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        out = S.load(path)
        assert host(out["w"]).tobytes() == versions[out["v"]].tobytes()
    S.save({"v": 9}, path)                     # the next save removes the dead children's temps
    assert os.listdir(tmp_path) == ["k.pt"]


# ---- safetensors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [d for d in DTYPES if d != "complex128"])
def test_safetensors_file_both_ways(tmp_path, dtype):
    import safetensors.torch as st
    a, b = sample(dtype, (3, 4)), sample(dtype, (5,), seed=1)
    S.save_file({"a": E(a), "b": E(b)}, tmp_path / "e.safetensors", metadata={"k": "v"})
    t = st.load_file(tmp_path / "e.safetensors")
    same_tensor(E(a), t["a"])
    same_tensor(E(b), t["b"])
    st.save_file({"a": T(a)}, tmp_path / "t.safetensors")
    same_tensor(S.load_file(tmp_path / "t.safetensors")["a"], T(a))
    same_tensor(S.load(tmp_path / "t.safetensors")["a"], T(a))


def test_safetensors_bytes_and_rules(device):
    import safetensors.torch as st
    from ember.serialization import safetensors as est
    a = sample("bfloat16", (2, 3))
    data = est.save({"a": E(a, device=device), "z": E(np.zeros((0, 2), np.float32))})
    same_tensor(E(a), st.load(data)["a"])
    back = est.load(st.save({"a": T(a)}))
    same_tensor(back["a"], T(a))
    loaded = est.load(data)
    assert tuple(loaded["z"].shape) == (0, 2)
    with pytest.raises(ValueError, match="non contiguous"):
        est.save({"a": E(sample("float32").T)})
    base = sample("float32", (4,))
    with pytest.raises(RuntimeError, match="share memory"):
        est.save({"x": E(base), "y": E(base[1:])})
    est.save({"x": E(base[:2]), "y": E(base[2:])})      # disjoint views are fine (as torch)
    with pytest.raises(EmberLoadError):
        est.load(b"\x08\x00\x00\x00\x00\x00\x00\x00{notjson")


def test_safetensors_load_file_device(tmp_path, device):
    S.save_file({"a": E(np.ones(3, np.float32))}, tmp_path / "x.safetensors")
    out = S.load_file(tmp_path / "x.safetensors", device=device)
    assert out["a"].device == get_backend(device).device
    assert S.load(tmp_path / "x.safetensors", map_location=device)["a"].device == \
        get_backend(device).device
    (tmp_path / "bad.safetensors").write_bytes(b"\xff" * 20)
    with pytest.raises(EmberLoadError):
        S.load_file(tmp_path / "bad.safetensors")
