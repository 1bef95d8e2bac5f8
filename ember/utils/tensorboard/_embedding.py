"""The Projector files of torch.utils.tensorboard's add_embedding, byte for byte."""
import math
import os

import numpy as np
from google.protobuf import text_encoding


def make_tsv(metadata, save_path, metadata_header=None):
    """metadata.tsv: one label a line, or a header line and tab-separated columns."""
    if not metadata_header:
        metadata = [str(x) for x in metadata]
    else:
        if len(metadata_header) != len(metadata[0]):
            raise AssertionError("len of header must be equal to the number of columns in metadata")
        metadata = ["\t".join(str(e) for e in row) for row in [metadata_header] + metadata]
    with open(os.path.join(save_path, "metadata.tsv"), "wb") as f:
        f.write(("\n".join(metadata) + "\n").encode("utf-8"))


def make_sprite(label_img, save_path):
    """sprite.png: the (N, C, H, W) images in a grid ceil(sqrt(N)) wide, zero-padded below
    to a square (torch's layout; tensorboardX's differs)."""
    from PIL import Image
    from tensorboardX.utils import make_grid
    nrow = math.ceil(label_img.shape[0] ** 0.5)
    arranged_chw = make_grid(label_img, ncols=nrow)
    square_hwc = np.zeros((arranged_chw.shape[2], arranged_chw.shape[2], 3))
    arranged_hwc = arranged_chw.transpose(1, 2, 0)
    square_hwc[:arranged_hwc.shape[0], :, :] = arranged_hwc
    Image.fromarray(np.uint8((square_hwc * 255).clip(0, 255))).save(
        os.path.join(save_path, "sprite.png"), format="PNG")


def make_mat(mat, save_path):
    """tensors.tsv: one row of the matrix a line."""
    with open(os.path.join(save_path, "tensors.tsv"), "wb") as f:
        for row in mat:
            f.write(("\t".join(str(i.item()) for i in row) + "\n").encode("utf-8"))


def _string(value):
    return '"' + text_encoding.CEscape(value.encode("utf-8"), False) + '"'


def embedding_info(metadata, label_img, subdir, global_step, tag):
    """One ProjectorConfig `embeddings` entry, as protobuf's text_format writes torch's
    EmbeddingInfo (fields in field-number order)."""
    lines = ["embeddings {", f"  tensor_name: {_string(f'{tag}:{str(global_step).zfill(5)}')}"]
    if metadata is not None:
        lines.append(f"  metadata_path: {_string(subdir + '/metadata.tsv')}")
    if label_img is not None:
        lines += ["  sprite {", f"    image_path: {_string(subdir + '/sprite.png')}",
                  f"    single_image_dim: {label_img.shape[3]}",
                  f"    single_image_dim: {label_img.shape[2]}", "  }"]
    lines += [f"  tensor_path: {_string(subdir + '/tensors.tsv')}", "}"]
    return "".join(line + "\n" for line in lines)
