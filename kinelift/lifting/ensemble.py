"""Several lifters on one track: each one's estimate of what its keypoints show, averaged.

The shipped lifters err differently: on held-out subjects' real motion capture (docs/lift.md)
COCO-17, which sees the arms and the trunk, and LOWER-6, which sees only the legs, are each better
in some movement families, and their average is better than either in most. An ensemble is a
sequence of lifters, the first the *primary*: its keypoint set is the result's, and its
forward kinematics assembles the averaged prediction.

What is averaged, per frame:

- a pose coordinate over the lifters that *see* it: whose keypoints move when it changes
  (:func:`seen_coordinates`, from the skeletal model, so LOWER-6 takes no part in the
  arms or the lumbar joint); over all where none sees it (the ankle, neither set having a point on
  the foot: two guesses from the legs' motion, whose mean measured better than the primary's alone);
- a segment scale likewise (:func:`seen_segments`: LOWER-6 has no say in the torso, head or arms);
- the pelvis orientation over all (every lifter sees both hips): the mean of the rotation
  matrices projected back onto a rotation, as the flip test does;
- the up direction over all: the normalised sum.

Examples
--------
>>> from kinelift.lifting.config import LifterConfig
>>> from kinelift.lifting.lifter import Lifter
>>> coco = Lifter(LifterConfig(keypoints="COCO-17", filter_widths=(3,), channels=8)).eval()
>>> legs = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(3,), channels=8)).eval()
>>> seen = dict(zip(legs.pose_coordinate_names, seen_coordinates(legs).tolist()))
>>> seen["knee_angle_r"], seen["arm_flex_r"], seen["ankle_angle_r"]
(True, False, False)
>>> out = combine_outputs([coco, legs], [coco(torch.zeros(1, 5, 17, 3)), legs(torch.zeros(1, 5, 6, 3))])
>>> tuple(out.keypoints.shape)
(1, 3, 17, 3)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from kinelift.errors import ValueRangeError
from kinelift.lifting.lifter import Lifter, LifterOutput
from kinelift.lifting.rotations import matrix_to_rotation_6d, rotation_6d_to_matrix
from kinelift.lifting.segments import SEGMENTS

__all__ = ["ENSEMBLE_SEPARATOR", "combine_outputs", "ensemble_name", "lifter_sources", "seen_coordinates", "seen_segments"]

ENSEMBLE_SEPARATOR = "+"
"""Joins the lifters of an ensemble in one name: ``"COCO-17+LOWER-6"`` (the primary first)."""

_PROBES = 4  # random poses inside the coordinates' ranges at which the support is probed
_STEP_RAD, _STEP_SCALE = 0.1, 0.1  # the change of one coordinate (rad) or one segment scale (relative)
_MOVES = 1e-5  # m: a keypoint that moves less does not move (float32 rounding is about 1e-7 m)


def lifter_sources(spec: str | os.PathLike[str] | Lifter | Sequence[str | os.PathLike[str] | Lifter]) -> list[str | os.PathLike[str] | Lifter]:
    """The lifters an ensemble ``spec`` names, the primary first.

    A :class:`Lifter`, a path or a name is one lifter, unless it is a string joining several with
    :data:`ENSEMBLE_SEPARATOR` that is not itself an existing file (``"COCO-17+LOWER-6"``,
    ``"a.pt+LOWER-6"``); a sequence is its items.

    Examples
    --------
    >>> lifter_sources("COCO-17+LOWER-6"), lifter_sources("LOWER-6")
    (['COCO-17', 'LOWER-6'], ['LOWER-6'])
    """
    if isinstance(spec, (Lifter, os.PathLike)):
        return [spec]
    if isinstance(spec, str):
        if ENSEMBLE_SEPARATOR not in spec or Path(spec).is_file():
            return [spec]
        parts = [p.strip() for p in spec.split(ENSEMBLE_SEPARATOR)]
        if not all(parts):
            raise ValueRangeError("lifter", expected=f"lifter names or weights files joined by {ENSEMBLE_SEPARATOR!r}, e.g. "
                                  "'COCO-17+LOWER-6'", got=spec)  # fmt: skip
        return parts
    items = list(spec)
    if not items:
        raise ValueRangeError("lifter", expected="at least one lifter", got="an empty sequence")
    return items


def ensemble_name(lifters: Sequence[Lifter]) -> str:
    """The ensemble's name from its lifters' keypoint sets, the primary first: ``"COCO-17+LOWER-6"``.

    Examples
    --------
    >>> from kinelift.lifting.config import LifterConfig
    >>> ensemble_name([Lifter(LifterConfig(keypoints=k, filter_widths=(3,), channels=8)) for k in ("LSP-14", "LOWER-6")])
    'LSP-14+LOWER-6'
    """
    return ENSEMBLE_SEPARATOR.join(m.config.keypoints for m in lifters)


def _probe_support(lifter: Lifter) -> tuple[np.ndarray, np.ndarray]:
    """Which pose coordinates and which segment scales move any of ``lifter``'s keypoints: each one
    changed alone (by 0.1 rad, or 10 % of a scale) from random poses inside the ranges, every change
    in one batched forward pass (a finite-difference Jacobian's support)."""
    generator = torch.Generator().manual_seed(0)
    device = next(lifter.parameters()).device
    n_pose, n_scales = lifter.n_pose, len(SEGMENTS)
    with torch.no_grad():
        raw = (0.5 * torch.randn(_PROBES, lifter.n_heads, generator=generator)).to(device)
        coords, rotation, up, scales = lifter.heads(raw)
        rows = 1 + n_pose + n_scales  # the probe itself, then each coordinate, then each scale changed
        q = coords[:, None].repeat(1, rows, 1)
        s = scales[:, None].repeat(1, rows, 1)
        q[:, 1 : 1 + n_pose] += _STEP_RAD * torch.eye(n_pose, device=device)
        s[:, 1 + n_pose :] *= 1.0 + _STEP_SCALE * torch.eye(n_scales, device=device)
        points = lifter.assemble(q, rotation[:, None].expand(-1, rows, -1, -1), up[:, None].expand(-1, rows, -1), s).keypoints
        moved = (points[:, 1:] - points[:, :1]).norm(dim=-1).amax(dim=(0, 2)) > _MOVES  # (rows - 1,)
    moved = moved.cpu().numpy()
    return moved[:n_pose], moved[n_pose:]


_SUPPORT: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # by keypoint set: the support depends only on the skeleton


def _support_of(lifter: Lifter) -> tuple[np.ndarray, np.ndarray]:
    key = lifter.config.keypoints
    if key not in _SUPPORT:
        _SUPPORT[key] = _probe_support(lifter)
    return _SUPPORT[key]


def seen_coordinates(lifter: Lifter) -> np.ndarray:
    """``(n_pose,)`` bool: the pose coordinates (:attr:`Lifter.pose_coordinate_names`) that move at
    least one of the lifter's keypoints on the built-in model, at random poses within the
    coordinates' ranges (a coordinate that moves none is the network's guess from the others)."""
    return _support_of(lifter)[0].copy()


def seen_segments(lifter: Lifter) -> np.ndarray:
    """``(n_segments,)`` bool: the segment scales (:data:`kinelift.lifting.segments.SEGMENTS`)
    that move at least one of the lifter's keypoints."""
    return _support_of(lifter)[1].copy()


def _masked_mean(values: list[torch.Tensor], masks: list[np.ndarray]) -> torch.Tensor:
    """Per column, the mean over the members whose mask is set; over all where none is."""
    weights = np.stack(masks).astype(np.float64)
    weights[:, weights.sum(0) == 0] = 1.0
    w = torch.as_tensor(weights / weights.sum(0), dtype=values[0].dtype, device=values[0].device)
    return sum(wi * v for wi, v in zip(w, values))


def combine_outputs(lifters: Sequence[Lifter], outputs: Sequence[LifterOutput]) -> LifterOutput:
    """The ensemble's prediction from each lifter's output on the same frames (module docs).

    Parameters
    ----------
    lifters : sequence of Lifter
        The primary first; all on the built-in model (the same pose coordinates).
    outputs : sequence of LifterOutput
        One per lifter, with the same leading shape (frames, or batch and frames).

    Returns
    -------
    LifterOutput
        The averaged coordinates, pelvis orientation, up direction and segment scales through the
        primary's forward kinematics (its joints, landmarks and keypoints).
    """
    if len(lifters) != len(outputs) or not lifters:
        raise ValueRangeError("outputs", expected=f"one output per lifter ({len(lifters)})", got=len(outputs))
    primary = lifters[0]
    for member, out in zip(lifters, outputs):
        if member.pose_coordinate_names != primary.pose_coordinate_names:
            raise ValueRangeError("lifters", expected="lifters on the same skeletal model (the same pose coordinates)",
                                  got=f"{member.config.keypoints} with other coordinates")  # fmt: skip
        if out.coordinates.shape != outputs[0].coordinates.shape:
            raise ValueRangeError("outputs", expected=f"outputs over the same frames {tuple(outputs[0].coordinates.shape[:-1])}",
                                  got=tuple(out.coordinates.shape[:-1]))  # fmt: skip
    if len(lifters) == 1:
        return outputs[0]
    with torch.no_grad():
        coords = _masked_mean([o.coordinates for o in outputs], [seen_coordinates(m) for m in lifters])
        scales = _masked_mean([o.segment_scales for o in outputs], [seen_segments(m) for m in lifters])
        rotation = rotation_6d_to_matrix(matrix_to_rotation_6d(sum(o.root_rotation for o in outputs) / len(outputs)))
        up = torch.nn.functional.normalize(sum(o.up for o in outputs), dim=-1, eps=1e-8)
        return primary.assemble(coords, rotation, up, scales)
