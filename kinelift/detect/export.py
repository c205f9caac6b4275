"""ONNX export of a detector (for onnxruntime, TensorRT and other inference engines).

The exported graph takes ImageNet-normalised crops ``images`` ``(batch, 3, H, W)`` float32 (the
batch dimension is dynamic) and returns ``heatmaps`` ``(batch, K, H/4, W/4)``; decoding and the
flip test stay in Python (:mod:`kinelift.detect.heatmaps`). The keypoint set and input size are
stored in the model's metadata (``kinelift.keypoints``, ``kinelift.input_size``).
"""

from __future__ import annotations

import copy
import os

import torch
from torch import nn

from kinelift.io._atomic import atomic_path

__all__ = ["export_onnx"]


def export_onnx(detector: nn.Module, path: str | os.PathLike[str], *, opset: int = 18, overwrite: bool = False) -> None:
    """Write ``detector`` (eval mode, float32, CPU copy) as an ONNX file, atomically."""
    import onnx

    model = copy.deepcopy(detector).float().cpu().eval()
    h, w = model.config.input_size
    example = torch.zeros(2, 3, h, w)  # batch 2: a batch of 1 would be specialised by torch.export
    with atomic_path(path, overwrite=overwrite) as tmp:
        torch.onnx.export(model, (example,), str(tmp), input_names=["images"], output_names=["heatmaps"], opset_version=opset,
                          dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True, verbose=False)  # fmt: skip
        proto = onnx.load(str(tmp))
        for key, value in (("kinelift.keypoints", model.config.keypoints), ("kinelift.input_size", f"{h},{w}")):
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(proto, str(tmp))
