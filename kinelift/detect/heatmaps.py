"""Heatmap targets, the joints MSE loss, decoding with sub-pixel refinement, and flip testing.

Coordinates are heatmap pixels (0-based pixel centres, x right, y down); see
:mod:`kinelift.detect.transforms` for the map to input pixels.

Examples
--------
>>> import torch
>>> points = torch.tensor([[[5.3, 7.6]]])
>>> maps, weight = gaussian_heatmaps(points, torch.ones(1, 1, dtype=torch.bool), (16, 12), sigma=1.5)
>>> xy, score = decode_heatmaps(maps, refine="dark")
>>> torch.allclose(xy, points, atol=0.02), float(weight[0, 0])
(True, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from kinelift.errors import ShapeError, ValueRangeError

__all__ = ["gaussian_heatmaps", "joints_mse_loss", "JointsMSELoss", "decode_heatmaps", "flip_heatmaps", "REFINEMENTS"]

REFINEMENTS = (None, "quarter", "dark")


def gaussian_heatmaps(points: torch.Tensor, labelled: torch.Tensor, size: tuple[int, int], *, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Unnormalised Gaussians (peak 1) at ``points`` ``(B, K, 2)`` on maps of ``size = (h, w)``.

    Returns the maps ``(B, K, h, w)`` and target weights ``(B, K)``: 1 for a labelled point whose
    centre lies on the map, else 0 (its map is all zero).
    """
    if points.ndim != 3 or points.shape[-1] != 2 or labelled.shape != points.shape[:2]:
        raise ShapeError("points/labelled", expected="(B, K, 2) and (B, K)", got=(tuple(points.shape), tuple(labelled.shape)))
    h, w = size
    ys = torch.arange(h, dtype=points.dtype, device=points.device).view(1, 1, h, 1)
    xs = torch.arange(w, dtype=points.dtype, device=points.device).view(1, 1, 1, w)
    x, y = points[..., 0, None, None], points[..., 1, None, None]
    maps = torch.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
    inside = (points[..., 0] >= -0.5) & (points[..., 0] <= w - 0.5) & (points[..., 1] >= -0.5) & (points[..., 1] <= h - 0.5)
    weight = (labelled.bool() & inside & torch.isfinite(points).all(-1)).to(points.dtype)
    return torch.nan_to_num(maps) * weight[..., None, None], weight


def joints_mse_loss(predicted: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, *, normalize_by_visible: bool = True) -> torch.Tensor:
    """Half the mean squared heatmap error per joint, weighted by ``weight`` ``(B, K)``.

    With ``normalize_by_visible`` (default) the sum over joints is divided by the number of
    weighted joints, so an image with hidden joints weighs what its labelled joints weigh; the
    original SimpleBaseline behaviour (divide by all ``B*K`` joints, which makes images with
    invisible joints look artificially good) is ``normalize_by_visible=False``.
    """
    if predicted.shape != target.shape or weight.shape != predicted.shape[:2]:
        raise ShapeError("predicted/target/weight", expected="(B, K, h, w), the same, and (B, K)",
                         got=(tuple(predicted.shape), tuple(target.shape), tuple(weight.shape)))  # fmt: skip
    dtype = torch.promote_types(predicted.dtype, torch.float32)  # bf16/fp16 network output is scored in float32
    per_joint = 0.5 * ((predicted.to(dtype) - target.to(dtype)) ** 2).mean(dim=(2, 3)) * weight
    denominator = weight.sum().clamp_min(1.0) if normalize_by_visible else float(weight.numel())
    return per_joint.sum() / denominator


class JointsMSELoss(nn.Module):
    """:func:`joints_mse_loss` as a module."""

    def __init__(self, *, normalize_by_visible: bool = True) -> None:
        super().__init__()
        self.normalize_by_visible = normalize_by_visible

    def forward(self, predicted: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return joints_mse_loss(predicted, target, weight, normalize_by_visible=self.normalize_by_visible)


def _gaussian_blur(maps: torch.Tensor, kernel: int) -> torch.Tensor:
    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8
    r = torch.arange(kernel, dtype=maps.dtype, device=maps.device) - kernel // 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    g = g / g.sum()
    b, k, h, w = maps.shape
    x = maps.reshape(b * k, 1, h, w)
    x = F.conv2d(F.pad(x, (kernel // 2,) * 4, mode="replicate"), (g[:, None] * g[None, :])[None, None])
    return x.reshape(b, k, h, w)


def decode_heatmaps(heatmaps: torch.Tensor, *, refine: str | None = "dark", blur_kernel: int = 11) -> tuple[torch.Tensor, torch.Tensor]:
    """Peak positions ``(B, K, 2)`` in heatmap pixels and peak values ``(B, K)``.

    ``refine``: ``None`` (integer argmax), ``"quarter"`` (a quarter pixel towards the higher
    neighbour, SimpleBaseline) or ``"dark"`` (Zhang et al. 2020: Taylor expansion of the
    log of the blurred heatmap about the peak; steps over 1 px fall back to the quarter offset).
    """
    if heatmaps.ndim != 4:
        raise ShapeError("heatmaps", expected="(B, K, h, w)", got=tuple(heatmaps.shape))
    if refine not in REFINEMENTS:
        raise ValueRangeError("refine", expected=" or ".join(map(repr, REFINEMENTS)), got=refine)
    maps = heatmaps.float()
    b, k, h, w = maps.shape
    score, flat = maps.flatten(2).max(dim=2)
    x, y = (flat % w).to(maps.dtype), (flat // w).to(maps.dtype)
    xy = torch.stack([x, y], dim=-1)
    if refine is None:
        return xy, score

    def at(m: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
        xi = (x.long() + dx).clamp(0, w - 1)
        yi = (y.long() + dy).clamp(0, h - 1)
        return m.flatten(2).gather(2, (yi * w + xi)[..., None])[..., 0]

    quarter = torch.stack([torch.sign(at(maps, 1, 0) - at(maps, -1, 0)), torch.sign(at(maps, 0, 1) - at(maps, 0, -1))], -1) * 0.25
    interior = ((x > 0) & (x < w - 1) & (y > 0) & (y < h - 1))[..., None]
    if refine == "quarter":
        return xy + quarter * interior, score
    logm = torch.log(_gaussian_blur(maps, blur_kernel).clamp_min(1e-10))
    dx = 0.5 * (at(logm, 1, 0) - at(logm, -1, 0))
    dy = 0.5 * (at(logm, 0, 1) - at(logm, 0, -1))
    dxx = at(logm, 1, 0) - 2 * at(logm, 0, 0) + at(logm, -1, 0)
    dyy = at(logm, 0, 1) - 2 * at(logm, 0, 0) + at(logm, 0, -1)
    dxy = 0.25 * (at(logm, 1, 1) - at(logm, 1, -1) - at(logm, -1, 1) + at(logm, -1, -1))
    det = dxx * dyy - dxy**2
    ok = det.abs() > 1e-8
    safe = torch.where(ok, det, torch.ones_like(det))
    step = -torch.stack([dyy * dx - dxy * dy, dxx * dy - dxy * dx], -1) / safe[..., None]
    good = (ok[..., None] & (step.abs() <= 1.0).all(-1, keepdim=True) & interior)
    return xy + torch.where(good, step, quarter * interior), score


def flip_heatmaps(heatmaps: torch.Tensor, flip_indices: Sequence[int]) -> torch.Tensor:
    """Heatmaps of a horizontally flipped image mapped back: mirrored in x, left and right swapped."""
    return heatmaps.flip(-1)[:, list(flip_indices)]
