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
from kinelift.errors import ShapeError, ValueRangeError

__all__ = ["PRECISIONS", "bfloat16_is_native", "predict_heatmaps", "predict_keypoints", "uses_bfloat16"]

PRECISIONS = ("auto", "float32", "bfloat16")
"""The arithmetic of the detector's forward pass: ``"auto"`` is bfloat16 on a GPU and float32 on a
CPU, where ``"bfloat16"`` may be asked for (fast where the CPU computes it natively,
:func:`bfloat16_is_native`)."""


def bfloat16_is_native(device: torch.device | str) -> bool:
    """Whether ``device`` runs bfloat16 convolutions natively: a GPU, or a CPU with AVX512-BF16 or
    AMX (on other CPUs oneDNN emulates bfloat16, slower than float32)."""
    kind = torch.device(device).type
    if kind == "cuda":
        return True
    if kind != "cpu":
        return False
    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(bool(check()) for check in checks if check is not None)


def uses_bfloat16(precision: str, device: torch.device | str) -> bool:
    """Whether ``precision`` (:data:`PRECISIONS`) runs the detector in bfloat16 on ``device``."""
    if precision not in PRECISIONS:
        raise ValueRangeError("precision", expected=" or ".join(map(repr, PRECISIONS)), got=precision)
    return precision == "bfloat16" or (precision == "auto" and torch.device(device).type == "cuda")


@torch.no_grad()
def predict_heatmaps(detector: nn.Module, images: torch.Tensor, *, flip: bool | torch.Tensor = True, precision: str = "auto") -> torch.Tensor:
    """Heatmaps ``(B, K, H/4, W/4)`` of normalised crops ``(B, 3, H, W)`` (float32 out).

    With ``flip`` the heatmaps of the mirrored crops, mirrored back with left and right
    swapped, are averaged in; a boolean ``(B,)`` tensor mirrors only the crops it marks (the
    others are read once), in the same batch. The detector runs in eval mode, under bfloat16 autocast when
    ``precision`` asks for it (:data:`PRECISIONS`; ``"auto"``: on a GPU). On this project's
    2-core CPU (AVX512-BF16) the shipped detector runs about twice as fast in bfloat16 (200 -> 409
    crops/s, batch 32) with the same PCK on the LSP validation images (docs/detect.md), but
    its slightly different confidences change which frames some tracks on real videos keep, so
    float32 stays the CPU default.

    Examples
    --------
    >>> from kinelift.detect.config import DetectorConfig
    >>> from kinelift.detect.networks import build_detector
    >>> net = build_detector(DetectorConfig(keypoints="LOWER-6", input_size=(64, 32), width=0.25, head_channels=16))
    >>> crops = torch.zeros(3, 3, 64, 32)
    >>> predict_heatmaps(net, crops, flip=torch.tensor([True, False, True])).shape
    torch.Size([3, 6, 16, 8])
    """
    detector.eval()
    autocast = uses_bfloat16(precision, images.device)
    if isinstance(flip, torch.Tensor) and (flip.dtype != torch.bool or flip.shape != (len(images),)):
        raise ShapeError("flip", expected=f"a boolean tensor ({len(images)},), one per crop", got=(tuple(flip.shape), str(flip.dtype)))
    marked = flip.to(images.device) if isinstance(flip, torch.Tensor) else None  # None: all or none, as ``flip`` says
    mirrored = images[marked] if marked is not None else images if flip else images[:0]
    with torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=autocast):
        if len(mirrored) == 0:
            return detector(images).float()
        both = detector(torch.cat([images, mirrored.flip(-1)])).float()  # one batch: small batches run slower per crop
    flip_indices = get_keypoint_set(detector.config.keypoints).flip_indices()
    heatmaps, back = both[:len(images)], flip_heatmaps(both[len(images):], flip_indices)
    if len(mirrored) == len(images):
        return 0.5 * (heatmaps + back)
    heatmaps[marked] = 0.5 * (heatmaps[marked] + back)
    return heatmaps


def predict_keypoints(detector: nn.Module, images: torch.Tensor, *, flip: bool | torch.Tensor = True, refine: str | None = "dark",
                      precision: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Keypoints ``(B, K, 2)`` in input-crop pixels and confidences ``(B, K)`` (peak heights clipped to [0, 1]);
    ``precision`` as :func:`predict_heatmaps`."""
    xy, score = decode_heatmaps(predict_heatmaps(detector, images, flip=flip, precision=precision), refine=refine)
    return heatmap_to_input(xy), score.clamp(0.0, 1.0)
