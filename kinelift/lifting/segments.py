"""Body segments of the built-in model whose size the lifter estimates, and their body scale factors.

The lifter predicts one uniform scale factor per segment (relative to the built-in model of
:data:`REFERENCE_HEIGHT` m); left and right share a factor. :func:`segment_to_body_scales`
expands them to the ``(n_bodies, 3)`` factors that :class:`~kinelift.skeleton.SkeletalModel`
takes.

====================  ==================================================
segment               bodies of the built-in model
====================  ==================================================
``pelvis``            pelvis (hip width, lumbar joint position)
``thigh``             femur_r, femur_l
``shank``             tibia_r, tibia_l
``foot``              talus_r, talus_l, calcn_r, calcn_l
``torso``             torso (lumbar joint to shoulders and neck)
``head``              head
``upper_arm``         humerus_r, humerus_l
``forearm``           forearm_r, forearm_l
====================  ==================================================

Examples
--------
>>> import torch
>>> from kinelift.skeleton.builtin import builtin_model
>>> model = builtin_model()
>>> scales = segment_to_body_scales(torch.full((len(SEGMENTS),), 1.1), model.body_names)
>>> tuple(scales.shape), float(scales[model.body_names.index("tibia_l"), 1])
((15, 3), 1.100000023841858)
>>> round(standing_height(torch.ones(len(SEGMENTS))), 3)
1.75
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from kinelift.errors import ShapeError, UnknownNameError

__all__ = ["SEGMENTS", "REFERENCE_HEIGHT", "segment_to_body_scales", "body_segment_index", "standing_height"]

REFERENCE_HEIGHT = 1.75
"""Body height (m) of the built-in model that segment factors are relative to."""

SEGMENTS: dict[str, tuple[str, ...]] = {
    "pelvis": ("pelvis",), "thigh": ("femur_r", "femur_l"), "shank": ("tibia_r", "tibia_l"),
    "foot": ("talus_r", "talus_l", "calcn_r", "calcn_l"), "torso": ("torso",), "head": ("head",),
    "upper_arm": ("humerus_r", "humerus_l"), "forearm": ("forearm_r", "forearm_l"),
}  # fmt: skip


def body_segment_index(body_names: Sequence[str]) -> list[int]:
    """For each body, the index of its segment in :data:`SEGMENTS`."""
    lookup = {b: i for i, bodies in enumerate(SEGMENTS.values()) for b in bodies}
    unknown = [b for b in body_names if b not in lookup]
    if unknown:
        raise UnknownNameError("body (not a segment of the built-in model)", unknown, known=list(lookup))
    return [lookup[b] for b in body_names]


def segment_to_body_scales(segment_scales: torch.Tensor, body_names: Sequence[str]) -> torch.Tensor:
    """``(..., n_segments)`` uniform segment factors -> ``(..., n_bodies, 3)`` body factors."""
    if segment_scales.shape[-1] != len(SEGMENTS):
        raise ShapeError("segment_scales", expected=f"(..., {len(SEGMENTS)}) factors for {list(SEGMENTS)}", got=tuple(segment_scales.shape))
    index = torch.as_tensor(body_segment_index(body_names), device=segment_scales.device)
    return segment_scales[..., index, None].expand(*segment_scales.shape[:-1], len(body_names), 3)


def standing_height(segment_scales: torch.Tensor) -> float:
    """Standing height (m) of the built-in model with these ``(n_segments,)`` factors: its head top
    above its lowest foot point in the default pose (1.75 m for all-ones factors, up to the
    landmarks' rounding)."""
    from kinelift.skeleton.builtin import builtin_model, foot_marker_indices

    model = builtin_model()
    factors = torch.as_tensor(segment_scales, dtype=torch.float64).reshape(len(SEGMENTS))
    with torch.no_grad():
        out = model(model.default_coordinates()[None], scales=segment_to_body_scales(factors, model.body_names)[None])
    y = out.markers[0, :, 1]
    names = model.marker_names
    feet = foot_marker_indices(names)
    return float(y[names.index("head_top")] - y[feet].min())
