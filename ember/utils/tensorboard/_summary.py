"""The Summary protobufs of torch.utils.tensorboard.summary where tensorboardX's builders write
something else (tag cleaning, soundfile audio, hparams types and domains, mesh tags, ...): the
same fields and values as torch's, built from tensorboardX's wire-compatible protobuf classes.
Imported with tensorboardX, when the first writer is made."""
import io
import json
import struct
import tempfile
import wave

import numpy as np
from google.protobuf import struct_pb2
from tensorboardX.proto.api_pb2 import DataType, Experiment, HParamInfo, MetricInfo, MetricName
from tensorboardX.proto.api_pb2 import Status
from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData, SessionEndInfo
from tensorboardX.proto.plugin_hparams_pb2 import SessionStartInfo
from tensorboardX.proto.plugin_mesh_pb2 import MeshPluginData
from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboardX.proto.tensor_pb2 import TensorProto
from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboardX.summary import make_image
from tensorboardX.utils import _prepare_video, convert_to_HWC

from ..._tensor import Tensor
from .writer import _numpy


def make_np(x):
    """torch's make_np: a NumPy array for an array, a number (one element) or a tensor."""
    if isinstance(x, np.ndarray):
        return x
    if np.isscalar(x):
        return np.array([x])
    if isinstance(x, Tensor):
        return _numpy(x)
    raise NotImplementedError(f"Got {type(x)}, but numpy array or torch tensor are expected.")


def scalar(name, tensor, new_style=False, double_precision=False):
    """A simple_value (or, new_style, a one-element float/double TensorProto); the tag as given."""
    tensor = make_np(tensor).squeeze()
    if tensor.ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). \
            Was given size: {tensor.size} and {tensor.ndim} dimensions.")
    value = float(tensor)
    if not new_style:
        return Summary(value=[Summary.Value(tag=name, simple_value=value)])
    if double_precision:
        proto = TensorProto(double_val=[value], dtype="DT_DOUBLE")
    else:
        proto = TensorProto(float_val=[value], dtype="DT_FLOAT")
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
    return Summary(value=[Summary.Value(tag=name, tensor=proto, metadata=smd)])


def _half_val(t):
    # torch packs each value's float32 bits into the int half_val field
    return [struct.unpack("i", struct.pack("f", v))[0] for v in t.flatten().tolist()]


def _complex_val(t):
    from ... import view_as_real
    return view_as_real(t).flatten().tolist()


def _list(t):
    return t.flatten().tolist()


def _tensor_types():
    """torch's _TENSOR_TYPE_MAP: dtype -> (TensorProto dtype, value field, conversion)."""
    import ember
    return {
        ember.float16: ("DT_HALF", "half_val", _half_val),
        ember.bfloat16: ("DT_BFLOAT16", "half_val", _half_val),
        ember.float32: ("DT_FLOAT", "float_val", _list),
        ember.float64: ("DT_DOUBLE", "double_val", _list),
        ember.int8: ("DT_INT8", "int_val", _list),
        ember.int16: ("DT_INT16", "int_val", _list),
        ember.int32: ("DT_INT32", "int_val", _list),
        ember.qint32: ("DT_INT32", "int_val", _list),
        ember.int64: ("DT_INT64", "int64_val", _list),
        ember.complex32: ("DT_COMPLEX32", "scomplex_val", _complex_val),
        ember.complex64: ("DT_COMPLEX64", "scomplex_val", _complex_val),
        ember.bool: ("DT_BOOL", "bool_val", _list),
        ember.complex128: ("DT_COMPLEX128", "dcomplex_val", _complex_val),
        # torch's map lists uint8 twice: the later entry (uint32_val) wins; qint8 with it
        ember.uint8: ("DT_UINT8", "uint32_val", _list),
        ember.qint8: ("DT_UINT8", "int_val", _list),
        ember.quint8: ("DT_UINT8", "uint32_val", _list),
        ember.quint4x2: ("DT_UINT8", "uint32_val", _list),
    }


def _varint(n):
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out) + bytes([n])


def _field(number, wire_type, payload=b""):
    """A protobuf field's bytes: for fields tensorboard's protos have and tensorboardX's lack.
    Appended after the known ones, they serialize as tensorboard's (field-number order)."""
    return _varint(number << 3 | wire_type) + payload


def tensor_proto(tag, tensor):
    """The whole tensor as a TensorProto under the "tensor" plugin."""
    if tensor.numel() * tensor.element_size() >= (1 << 31):
        raise ValueError("tensor is bigger than protocol buffer's hard limit of 2GB in size")
    types = _tensor_types()
    if tensor.dtype not in types:
        raise ValueError(f"{tag} has unsupported tensor dtype {tensor.dtype}")
    dtype, field, conversion = types[tensor.dtype]
    tensor = tensor.detach().cpu()
    shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=x) for x in tensor.shape])
    if field == "uint32_val":    # tensorboard's `repeated uint32 uint32_val = 16 [packed]`
        proto = TensorProto(dtype=dtype, tensor_shape=shape)
        packed = b"".join(_varint(v) for v in conversion(tensor))
        proto.MergeFromString(_field(16, 2, _varint(len(packed)) + packed))
    else:
        proto = TensorProto(**{"dtype": dtype, "tensor_shape": shape, field: conversion(tensor)})
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="tensor"))
    return Summary(value=[Summary.Value(tag=tag, metadata=smd, tensor=proto)])


def _hparams_summary(tag, **data):
    content = HParamsPluginData(version=0, **data)
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
        plugin_name="hparams", content=content.SerializeToString()))
    return Summary(value=[Summary.Value(tag=tag, metadata=smd)])


def hparams(hparam_dict=None, metric_dict=None, hparam_domain_discrete=None):
    """The hparams plugin's (experiment, session start info, session end info) Summaries.
    As torch: a bool is a number (bool is an int), a tensor's first element is a number,
    None is left out."""
    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    hparam_domain_discrete = hparam_domain_discrete or {}
    if not isinstance(hparam_domain_discrete, dict):
        raise TypeError(
            "parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for k, v in hparam_domain_discrete.items():
        if (k not in hparam_dict or not isinstance(v, list)
                or not all(isinstance(d, type(hparam_dict[k])) for d in v)):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same "
                            f"type as hparam_dict[{k}].")
    hps = []
    ssi = SessionStartInfo()
    for k, v in hparam_dict.items():
        if v is None:
            continue
        if isinstance(v, (int, float)):
            field, data_type = "number_value", "DATA_TYPE_FLOAT64"
        elif isinstance(v, str):
            field, data_type = "string_value", "DATA_TYPE_STRING"
        elif isinstance(v, Tensor):
            ssi.hparams[k].number_value = make_np(v)[0]
            hps.append(HParamInfo(name=k, type=DataType.Value("DATA_TYPE_FLOAT64")))
            continue
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
        setattr(ssi.hparams[k], field, v)
        domain = None
        if k in hparam_domain_discrete:
            domain = struct_pb2.ListValue(
                values=[struct_pb2.Value(**{field: d}) for d in hparam_domain_discrete[k]])
        hps.append(HParamInfo(name=k, type=DataType.Value(data_type), domain_discrete=domain))
    ssi = _hparams_summary("_hparams_/session_start_info", session_start_info=ssi)
    mts = [MetricInfo(name=MetricName(tag=k)) for k in metric_dict]
    exp = _hparams_summary("_hparams_/experiment",
                           experiment=Experiment(hparam_infos=hps, metric_infos=mts))
    sei = _hparams_summary("_hparams_/session_end_info",
                           session_end_info=SessionEndInfo(status=Status.Value("STATUS_SUCCESS")))
    return exp, ssi, sei


def _scale_factor(array):
    return 1 if array.dtype == np.uint8 else 255


def image_boxes(tag, tensor_image, tensor_boxes, rescale=1, dataformats="CHW", labels=None):
    """An image with red boxes (x1, y1, x2, y2) drawn on it; values scaled and clipped as torch."""
    tensor_image = convert_to_HWC(make_np(tensor_image), dataformats)
    tensor_boxes = make_np(tensor_boxes)
    tensor_image = tensor_image.astype(np.float32) * _scale_factor(tensor_image)
    image = make_image(tensor_image.clip(0, 255).astype(np.uint8), rescale=rescale,
                       rois=tensor_boxes, labels=labels)
    return Summary(value=[Summary.Value(tag=tag, image=image)])


def video(tag, tensor, fps=4):
    """A (N, T, C, H, W) batch of videos tiled into one GIF (moviepy's moviepy.editor)."""
    tensor = _prepare_video(make_np(tensor))
    scale = _scale_factor(tensor)
    tensor = (tensor.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    return Summary(value=[Summary.Value(tag=tag, image=_make_video(tensor, fps))])


def _make_video(tensor, fps):
    """torch's make_video: without moviepy (or its moviepy.editor, gone in moviepy 2) it prints
    why and returns None, and the summary holds the tag alone."""
    try:
        import moviepy  # noqa: F401
    except ImportError:
        print("add_video needs package moviepy")
        return None
    try:
        from moviepy import editor as mpy
    except ImportError:
        print("moviepy is installed, but can't import moviepy.editor.",
              "Some packages could be missing [imageio, requests]")
        return None
    _t, h, w, c = tensor.shape
    clip = mpy.ImageSequenceClip(list(tensor), fps=fps)
    with tempfile.NamedTemporaryFile(suffix=".gif") as f:
        try:            # newer moviepy takes a logger instead of progress_bar
            clip.write_gif(f.name, verbose=False, logger=None)
        except TypeError:
            try:
                clip.write_gif(f.name, verbose=False, progress_bar=False)
            except TypeError:
                clip.write_gif(f.name, verbose=False)
        f.seek(0)
        return Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=f.read())


def audio(tag, tensor, sample_rate=44100):
    """Mono 16-bit WAV (the standard library's wave module) of values in [-1, 1]."""
    array = make_np(tensor).squeeze()
    if abs(array).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        array = array.clip(-1, 1)
    if array.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    array = (array * np.iinfo(np.int16).max).astype("<i2")
    with io.BytesIO() as fio:
        with wave.open(fio, "wb") as wave_write:
            wave_write.setnchannels(1)
            wave_write.setsampwidth(2)
            wave_write.setframerate(sample_rate)
            wave_write.writeframes(array.data)
        audio_string = fio.getvalue()
    audio = Summary.Audio(sample_rate=sample_rate, num_channels=1, length_frames=array.shape[-1],
                          encoded_audio_string=audio_string, content_type="audio/wav")
    return Summary(value=[Summary.Value(tag=tag, audio=audio)])


def mesh(tag, vertices, colors, faces, config_dict):
    """One (B, N, 3) float TensorProto per given part, tagged <tag>_VERTEX / _FACE / _COLOR,
    with tensorboard's mesh plugin metadata."""
    json_config = "{}" if config_dict is None else json.dumps(config_dict, sort_keys=True)
    parts = [(make_np(t) if isinstance(t, Tensor) else np.asarray(t), kind) for t, kind in
             ((vertices, MeshPluginData.VERTEX), (faces, MeshPluginData.FACE),
              (colors, MeshPluginData.COLOR)) if t is not None]
    components = 0
    for _, kind in parts:
        components |= 1 << kind
    values = []
    for array, kind in parts:
        if array.ndim != 3:
            raise ValueError(f"Tensor shape should be of shape BxNx3, but got {list(array.shape)}.")
        content = MeshPluginData(version=0, name=tag, content_type=kind, json_config=json_config,
                                 shape=array.shape).SerializeToString()
        # tensorboard's MeshPluginData has `int32 components = 7`, which tensorboardX's lacks
        content += _field(7, 0, _varint(components))
        smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="mesh",
                                                                     content=content))
        proto = TensorProto(dtype="DT_FLOAT", float_val=array.reshape(-1).tolist(),
                            tensor_shape=TensorShapeProto(
                                dim=[TensorShapeProto.Dim(size=d) for d in array.shape]))
        values.append(Summary.Value(tag=f"{tag}_{MeshPluginData.ContentType.Name(kind)}",
                                    tensor=proto, metadata=smd))
    return Summary(value=values)
