"""Left-right mirroring of the lifter's input and output, for flip test-time augmentation.

Mirroring the image (x -> -x about the pelvis) shows the mirrored subject: left and right swap.
The built-in model's coordinates follow OpenSim's convention of mirrored left axes (hip adduction
and rotation, subtalar, arm adduction and rotation positive on both sides), so a mirrored pose has
the same values with sides swapped, except the axial coordinates of the spine and neck
(``lumbar_bending``, ``lumbar_rotation``, ``neck_bending``, ``neck_rotation``), which change
sign. The root rotation becomes ``Mc @ R @ Mb`` with ``Mc = diag(-1, 1, 1)`` (camera x) and
``Mb = diag(1, 1, -1)`` (the body's left-right axis); the up vector ``Mc @ up``.

Examples
--------
>>> from kinelift.core.keypoint_sets import get_keypoint_set
>>> keypoint_permutation(get_keypoint_set("LOWER-6"))
[5, 4, 3, 2, 1, 0]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from kinelift.core.keypoint_sets import KeypointSet

__all__ = ["keypoint_permutation", "coordinate_mirror", "mirror_features", "mirror_prediction"]

_SIGN_FLIPS = ("lumbar_bending", "lumbar_rotation", "neck_bending", "neck_rotation")


def _swap_name(name: str) -> str:
    for a, b in (("left_", "right_"), ("right_", "left_")):
        if name.startswith(a):
            return b + name[len(a) :]
    for a, b in (("_r", "_l"), ("_l", "_r")):
        if name.endswith(a):
            return name[: -len(a)] + b
    return name


def keypoint_permutation(keypoints: KeypointSet) -> list[int]:
    """Index of each keypoint's mirror image (``left_*`` <-> ``right_*``; others map to themselves)."""
    names = keypoints.names
    return [names.index(_swap_name(n)) if _swap_name(n) in names else i for i, n in enumerate(names)]


def coordinate_mirror(names: Sequence[str]) -> tuple[list[int], torch.Tensor]:
    """Permutation (``*_r`` <-> ``*_l``) and signs that mirror coordinates named ``names``."""
    names = list(names)
    perm = [names.index(_swap_name(n)) if _swap_name(n) in names else i for i, n in enumerate(names)]
    signs = torch.tensor([-1.0 if n in _SIGN_FLIPS else 1.0 for n in names])
    return perm, signs


def mirror_features(features: torch.Tensor, keypoints: KeypointSet) -> torch.Tensor:
    """Mirror normalised features ``(..., K, 3)``: negate x, swap left and right keypoints."""
    out = features[..., keypoint_permutation(keypoints), :].clone()
    out[..., 0] = -out[..., 0]
    return out


def mirror_prediction(coordinates: torch.Tensor, rotation: torch.Tensor, up: torch.Tensor,
                      names: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """Mirror pose coordinates ``(..., n)``, root rotation ``(..., 3, 3)`` and up vector ``(..., 3)``."""
    perm, signs = coordinate_mirror(names)
    mc = torch.tensor([-1.0, 1.0, 1.0], dtype=rotation.dtype, device=rotation.device)
    mb = torch.tensor([1.0, 1.0, -1.0], dtype=rotation.dtype, device=rotation.device)
    return coordinates[..., perm] * signs.to(coordinates), mc[:, None] * rotation * mb, mc * up
