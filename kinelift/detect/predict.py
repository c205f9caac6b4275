"""Running a detector on normalised crops: heatmaps, flip test, decoding to input pixels.

Examples
--------
>>> import torch
>>> from kinelift.detect.config import DetectorConfig
>>> from kinelift.detect.networks import build_detector
>>> net = build_detector(DetectorConfig(keypoints="LOWER-6", input_size=(64, 64), width=0.25, head_channels=16)).eval()
>>> xy, score = predict_keypoints(net, torch.zeros(2, 3, 64, 64))
>>> tuple(xy.shape), tuple(score.shape)
((2, 6, 2), (2, 6))
"""

from __future__ import annotations

import torch
from torch import nn

from kinelift.core import get_keypoint_set
from kinelift.detect.heatmaps import decode_heatmaps, flip_heatmaps
from kinelift.detect.transforms import heatmap_to_input

__all__ = ["predict_heatmaps", "predict_keypoints"]


@torch.no_grad()
def predict_heatmaps(detector: nn.Module, images: torch.Tensor, *, flip: bool = True) -> torch.Tensor:
    """Heatmaps ``(B, K, H/4, W/4)`` of normalised crops ``(B, 3, H, W)`` (float32 out).

    With ``flip`` the heatmaps of the mirrored crops, mirrored back with left and right
    swapped, are averaged in. The detector runs in eval mode under bf16 autocast on a GPU.
    """
    detector.eval()
    autocast = images.device.type == "cuda"
    with torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=autocast):
        if not flip:
            return detector(images).float()
        both = detector(torch.cat([images, images.flip(-1)])).float()  # one batch: small batches run slower per crop
        flip_indices = get_keypoint_set(detector.config.keypoints).flip_indices()
        return 0.5 * (both[:len(images)] + flip_heatmaps(both[len(images):], flip_indices))


def predict_keypoints(detector: nn.Module, images: torch.Tensor, *, flip: bool = True, refine: str | None = "dark") -> tuple[torch.Tensor, torch.Tensor]:
    """Keypoints ``(B, K, 2)`` in input-crop pixels and confidences ``(B, K)`` (peak heights clipped to [0, 1])."""
    xy, score = decode_heatmaps(predict_heatmaps(detector, images, flip=flip), refine=refine)
    return heatmap_to_input(xy), score.clamp(0.0, 1.0)
