"""Which model point stands for each keypoint of a keypoint set.

A :class:`KeypointMap` ties every keypoint of a set (COCO-17, LOWER-6, BODY-25, ...) to a point
fixed on a body of a model, or marks it missing. Points are chosen in this order:

0. a marker of the model with the keypoint's own name (e.g. Plug-in-Gait markers on a model
   that has them, :mod:`kinelift.skeleton.plug_in_gait`);
1. a joint centre (the origin of the joint's child frame), exact: hips (``hip_*``), knees
   (``knee_*`` or Rajagopal's ``walker_knee_*``), ankles, shoulders (``acromial_*``), elbows
   (``elbow_*``), wrists (``radius_hand_*``, ``radius_lunate_*`` or ``wrist_*``);
2. a named landmark of kinelift's built-in model (nose, eyes, ears, head top, neck base,
   shoulders, wrists, heels, toes);
3. midpoints: ``mid_hip``/``pelvis`` between the hip centres, ``neck`` between the shoulders;
   ``lumbar`` (custom sets) is the centre of the pelvis-torso joint (``back``), fixed on the pelvis;
4. for OpenSim models without such landmarks, fixed offsets on the torso (face, shoulders) and
   calcaneus (heel, toes) for an adult of about 1.8 m, taken from the gait2392 and Rajagopal
   marker sets. These are approximate (about 2 cm) and marked ``approximate=True``.

Left and right follow OpenSim's body names (``_l``/``_r``), and mirrored offsets use
OpenSim's z-to-the-right convention.

Examples
--------
>>> from kinelift.skeleton.builtin import builtin_model
>>> model = builtin_model()
>>> kmap = keypoint_map(model, "LOWER-6")
>>> [p.source for p in kmap.points][:2]
['joint ankle_r', 'joint knee_r']
>>> keypoint_map(builtin_model(arms=False), "COCO-17").missing
('left_elbow', 'right_elbow', 'left_wrist', 'right_wrist')
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from kinelift.core.keypoint_sets import KeypointSet, get_keypoint_set
from kinelift.skeleton.model import SkeletalModel
from kinelift.skeleton.rotations import euler_xyz_to_matrix_np
from kinelift.skeleton.spec import FrameRef, MarkerSpec

__all__ = ["KeypointMap", "KeypointModel", "ModelPoint", "keypoint_map", "with_keypoints"]

# Offsets for OpenSim models without landmarks (adult, ~1.8 m), right side; z mirrored for left.
_TORSO_OFFSETS = {
    "shoulder": (-0.02, 0.43, 0.17), "nose": (0.12, 0.62, 0.0), "eye": (0.10, 0.645, 0.032),
    "ear": (0.01, 0.625, 0.075), "head_top": (0.06, 0.70, 0.0),
}  # fmt: skip
_CALCN_OFFSETS = {"heel": (-0.02, 0.02, 0.0), "big_toe": (0.21, 0.0, -0.03), "small_toe": (0.19, -0.01, 0.07)}


@dataclass(frozen=True)
class ModelPoint:
    """A point fixed in ``frame`` at ``location`` (m), and where it came from."""

    frame: FrameRef
    location: np.ndarray
    source: str
    approximate: bool = False


@dataclass(frozen=True)
class KeypointMap:
    """Model points for the keypoints of ``keypoint_set`` (None where the model has none)."""

    keypoint_set: KeypointSet
    points: tuple[ModelPoint | None, ...]
    model_name: str

    @property
    def mapped(self) -> np.ndarray:
        """Boolean ``(K,)``: True where the keypoint has a model point."""
        return np.array([p is not None for p in self.points])

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(n for n, p in zip(self.keypoint_set.names, self.points) if p is None)

    @property
    def on_foot(self) -> np.ndarray:
        """Boolean ``(K,)``: True where the keypoint is fixed on a foot below the ankle joint
        (the calcaneus or toes bodies: heels, toes), so that it moves with the ankle angle.

        Examples
        --------
        >>> from kinelift.skeleton.builtin import builtin_model
        >>> kmap = keypoint_map(builtin_model(), "BODY-25")
        >>> [n for n, foot in zip(kmap.keypoint_set.names, kmap.on_foot) if foot]
        ['left_big_toe', 'left_small_toe', 'left_heel', 'right_big_toe', 'right_small_toe', 'right_heel']
        """
        return np.array([p is not None and p.frame.body.startswith(("calcn_", "toes_")) for p in self.points])


def _frame_origin(ref: FrameRef) -> np.ndarray:
    R, p = np.eye(3), np.zeros(3)
    for link in ref.links:
        p = p + R @ link.translation
        R = R @ euler_xyz_to_matrix_np(link.orientation)
    return p


def _side(name: str) -> tuple[str, str, float] | None:
    for prefix, s, sign in (("left_", "l", -1.0), ("right_", "r", 1.0)):
        if name.startswith(prefix):
            return name[len(prefix) :], s, sign
    return None


def keypoint_map(model: SkeletalModel, keypoints: str | KeypointSet) -> KeypointMap:
    """The model point of every keypoint of ``keypoints`` on ``model`` (see the module docs)."""
    ks = get_keypoint_set(keypoints)
    spec = model.spec
    joints = {j.name: j for j in spec.joints}
    markers = {m.name: m for m in spec.markers}
    bodies = set(spec.bodies)

    def joint_point(*names: str, parent_side: bool = False) -> ModelPoint | None:
        # A joint centre is fixed on both bodies; the parent side keeps e.g. both shoulders on the torso.
        for n in names:
            if n in joints:
                return ModelPoint(joints[n].parent if parent_side else joints[n].child, np.zeros(3), f"joint {n}")
        return None

    def marker_point(name: str) -> ModelPoint | None:
        m = markers.get(name)
        return None if m is None else ModelPoint(m.frame, m.location, f"marker {name}")

    def offset(body: str, xyz, what: str) -> ModelPoint | None:
        return ModelPoint(FrameRef(body), np.asarray(xyz, dtype=float), f"offset on {body} ({what})", approximate=True) if body in bodies else None

    def midpoint(a: ModelPoint | None, b: ModelPoint | None, what: str) -> ModelPoint | None:
        if a is None or b is None or a.frame.body != b.frame.body:
            return None
        pa = _frame_origin(a.frame) + a.location  # both frames are pure translations for joint/landmark points
        pb = _frame_origin(b.frame) + b.location
        return ModelPoint(FrameRef(a.frame.body), 0.5 * (pa + pb), what, a.approximate or b.approximate)


    def side_point(part: str, s: str, sign: float) -> ModelPoint | None:
        if part == "hip":
            return joint_point(f"hip_{s}")
        if part == "knee":
            return joint_point(f"knee_{s}", f"walker_knee_{s}")
        if part == "ankle":
            return joint_point(f"ankle_{s}")
        if part == "elbow":
            return joint_point(f"elbow_{s}")
        if part == "wrist":
            return marker_point(f"wrist_{s}") or joint_point(f"radius_hand_{s}", f"radius_lunate_{s}", f"wrist_{s}")
        if part == "shoulder":
            return marker_point(f"shoulder_{s}") or joint_point(f"acromial_{s}", parent_side=True) or offset(
                "torso", np.multiply(_TORSO_OFFSETS["shoulder"], (1, 1, sign)), "approximate shoulder")
        if part in ("eye", "ear"):
            return marker_point(f"{part}_{s}") or offset("torso", np.multiply(_TORSO_OFFSETS[part], (1, 1, sign)), f"approximate {part}")
        if part in _CALCN_OFFSETS:
            return marker_point(f"{part}_{s}") or offset(f"calcn_{s}", np.multiply(_CALCN_OFFSETS[part], (1, 1, sign)), f"approximate {part}")
        return None

    points: list[ModelPoint | None] = []
    for name in ks.names:
        sided = _side(name)
        if name in markers and name not in ("neck", "thorax"):
            points.append(marker_point(name))  # a model marker of the keypoint's own name (e.g. Plug-in-Gait's "RKNE")
        elif sided is not None:
            points.append(side_point(*sided))
        elif name in ("nose", "head_top"):
            points.append(marker_point(name) or offset("torso", _TORSO_OFFSETS[name], f"approximate {name}"))
        elif name in ("mid_hip", "pelvis"):
            points.append(midpoint(joint_point("hip_l", parent_side=True), joint_point("hip_r", parent_side=True), "midpoint of the hip centres"))
        elif name == "lumbar":
            points.append(joint_point("back", "lumbar", "L5_S1", parent_side=True))
        elif name in ("neck", "thorax"):
            points.append(marker_point("neck_base") or midpoint(side_point("shoulder", "l", -1.0), side_point("shoulder", "r", 1.0), "midpoint of the shoulders"))
        else:
            points.append(None)
    return KeypointMap(ks, tuple(points), spec.name)


def with_keypoints(model: SkeletalModel, keypoints: str | KeypointSet, *, prefix: str = "", keep_markers: bool = False,
                   require_all: bool = False) -> tuple[SkeletalModel, KeypointMap]:  # fmt: skip
    """``model`` with one marker per mapped keypoint, the one place that attaches keypoints to a model.

    Parameters
    ----------
    model : SkeletalModel
    keypoints : str or KeypointSet
        The set to map (:func:`keypoint_map`).
    prefix : str
        The markers are named ``prefix + keypoint name``, in the set's order (unmapped ones left out).
    keep_markers : bool
        Keep the model's own markers, ahead of the keypoints' (one forward pass gives both);
        else the keypoints' markers replace them.
    require_all : bool
        Raise when a keypoint has no point on the model (else it is left out).

    Returns
    -------
    (SkeletalModel, KeypointMap)

    Raises
    ------
    KeypointConversionError
        When no keypoint maps, or (``require_all``) some do not.

    Examples
    --------
    >>> from kinelift.skeleton.builtin import builtin_model
    >>> skeleton, kmap = with_keypoints(builtin_model(), "LOWER-6", prefix="kp:")
    >>> skeleton.marker_names[:2]
    ('kp:right_ankle', 'kp:right_knee')
    """
    from kinelift.errors import KeypointConversionError

    kmap = keypoint_map(model, keypoints)
    if require_all and kmap.missing:
        raise KeypointConversionError(f"keypoints {list(kmap.missing)} of {kmap.keypoint_set.name} have no point on model {model.spec.name}")
    added = tuple(MarkerSpec(f"{prefix}{n}", p.frame, p.location) for n, p in zip(kmap.keypoint_set.names, kmap.points) if p is not None)
    if not added:
        raise KeypointConversionError(f"no keypoint of {kmap.keypoint_set.name} has a point on model {model.spec.name}")
    markers = model.spec.markers + added if keep_markers else added
    return SkeletalModel.from_spec(replace(model.spec, markers=markers)), kmap


class KeypointModel(nn.Module):
    """Forward kinematics of the keypoints of a :class:`KeypointMap`: ``(..., K, 3)`` in ground, NaN where unmapped.

    Parameters
    ----------
    model : SkeletalModel
        The skeletal model.
    keypoints : str or KeypointSet
        Keypoint set to map (see :func:`keypoint_map`).
    """

    def __init__(self, model: SkeletalModel, keypoints: str | KeypointSet) -> None:
        super().__init__()
        self.skeleton, self.map = with_keypoints(model, keypoints)
        self._index = [i for i, p in enumerate(self.map.points) if p is not None]
        self.keypoint_names = self.map.keypoint_set.names

    def forward(self, q: torch.Tensor, scales: torch.Tensor | None = None) -> torch.Tensor:
        pts = self.skeleton(q, scales=scales).markers
        out = torch.full(pts.shape[:-2] + (len(self.keypoint_names), 3), float("nan"), dtype=pts.dtype, device=pts.device)
        out[..., self._index, :] = pts
        return out
