"""The D3KE-style training loss of the lifter.

``loss = joints * L1(joint centres) + markers * L1(markers) + scales * L1(segment scales)
+ coordinates * L1(wrapped coordinate differences) + up * L1(up vector)
[+ reprojection * L1(2D reprojection)]``, each L1 a mean absolute difference of root-relative
camera-frame positions in metres (joints, markers), of scale factors, of radians, or of
normalised image coordinates (reprojection: the predicted keypoints placed at the true root
position and projected with the true focal length, against the noise-free normalised 2D).
Defaults (1.0, 2.0, 0.1, 0.01, 0.1, 0) follow D3KE (Cotton et al.) for the first four.

Examples
--------
>>> import torch
>>> from kinelift.lifting.config import LifterConfig, LossWeights
>>> from kinelift.lifting.lifter import Lifter
>>> lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(1,), channels=4))
>>> out = lifter.decode(torch.zeros(2, lifter.n_pose + 17))
>>> total, terms = d3ke_loss(out, out, LossWeights())
>>> float(total), sorted(terms)[:2]
(0.0, ['coordinates', 'joints'])
"""

from __future__ import annotations

import torch

from kinelift.lifting.config import LossWeights
from kinelift.lifting.lifter import LifterOutput

__all__ = ["d3ke_loss", "reprojection_error"]


def reprojection_error(keypoints: torch.Tensor, root_camera: torch.Tensor, focal_over_size: torch.Tensor,
                       root_offset: torch.Tensor, clean_2d: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """Mean absolute normalised 2D error of root-relative keypoints ``(..., K, 3)`` placed at ``root_camera``."""
    cam = keypoints + root_camera[..., None, :]
    z = cam[..., 2:3].clamp_min(0.05)
    root_z = root_camera[..., None, 2:3].clamp_min(0.05)
    uv = focal_over_size[..., None, None] * (cam[..., :2] / z - root_camera[..., None, :2] / root_z) + root_offset[..., None, :]
    return (uv - clean_2d).abs().mean()


def d3ke_loss(pred: LifterOutput, target: LifterOutput, weights: LossWeights, *,
              reprojection: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, dict[str, float]]:  # fmt: skip
    """Weighted loss and its unweighted terms (floats, for logs); see the module docs."""
    d = pred.coordinates - target.coordinates
    terms = {
        "joints": (pred.joints - target.joints).abs().mean(),
        "markers": (pred.markers - target.markers).abs().mean(),
        "scales": (pred.segment_scales - target.segment_scales).abs().mean(),
        "coordinates": torch.atan2(torch.sin(d), torch.cos(d)).abs().mean(),
        "up": (pred.up - target.up).abs().mean(),
    }
    if weights.reprojection > 0:
        if reprojection is None:
            raise ValueError("the reprojection term needs root_camera, focal_over_size, root_offset and clean_2d")
        terms["reprojection"] = reprojection_error(pred.keypoints, **reprojection)
    total = sum(getattr(weights, name) * value for name, value in terms.items())
    return total, {name: float(value.detach()) for name, value in terms.items()}
