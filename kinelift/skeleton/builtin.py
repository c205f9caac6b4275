"""kinelift's built-in full-body model, authored here from published proportions.

Topology and coordinate names follow OpenSim's usual models (gait2392 / Rajagopal 2016), so
coordinate files from those models map onto it by name::

    ground -(ground_pelvis: pelvis_tilt, pelvis_list, pelvis_rotation, pelvis_tx, pelvis_ty, pelvis_tz)-> pelvis
    pelvis -(hip_r: hip_flexion_r, hip_adduction_r, hip_rotation_r)-> femur_r -(knee_r: knee_angle_r)-> tibia_r
           -(ankle_r: ankle_angle_r)-> talus_r -(subtalar_r: subtalar_angle_r)-> calcn_r        (and _l)
    pelvis -(back: lumbar_extension, lumbar_bending, lumbar_rotation)-> torso
    torso -(neck: neck_flexion, neck_bending, neck_rotation)-> head
    torso -(acromial_r: arm_flex_r, arm_add_r, arm_rot_r)-> humerus_r -(elbow_r: elbow_flex_r)-> forearm_r   (arms=True)

Frames: OpenSim's, x forward, y up, z to the right. Signs (OpenSim's): flexion of hip and
knee positive (knee flexion positive as in Rajagopal 2016), ankle dorsiflexion positive,
hip adduction and internal rotation positive on both sides (left axes mirrored, as in
gait2392), subtalar inversion positive (gait2392's oblique subtalar axis), lumbar and neck
extension/bending/rotation as in gait2392's back joint, elbow flexion positive.
Every body frame has its origin at the joint that carries it; the pelvis origin is the
midpoint of the hip joint centres.

Proportions (fractions of body height H; Winter, *Biomechanics and Motor Control of Human
Movement*, 4th ed., 2009, Fig. 4.1, after Drillis and Contini 1966): thigh 0.245 H, shank
0.246 H, ankle height 0.039 H, foot length 0.152 H, upper arm 0.186 H, forearm 0.146 H,
shoulder (acromion) height 0.818 H, shoulder width 0.259 H, eye height 0.936 H. Hip joint
centres: Harrington et al. (2007, J. Biomech. 40:595) regression, lateral offset
0.33 PW + 7.3 mm with pelvis width PW = 0.14 H, giving 0.0503 H each side at H = 1.75 m.

Examples
--------
>>> import torch
>>> from kinelift.skeleton.builtin import builtin_model
>>> model = builtin_model(height=1.75)
>>> out = model(model.default_coordinates())
>>> round(float(out.joint_centers[model.joint_names.index("hip_r"), 1]), 4)  # standing hip height, m
0.9275
"""

from __future__ import annotations

import numpy as np

from kinelift.errors import ValueRangeError
from kinelift.skeleton import functions as fn
from kinelift.skeleton.model import SkeletalModel
from kinelift.skeleton.spec import (
    GROUND, CoordinateSpec, FrameRef, JointSpec, MarkerSpec, ModelSpec, OffsetLink, TransformAxisSpec,
)  # fmt: skip

__all__ = ["builtin_model", "builtin_spec", "foot_marker_indices", "FOOT_POINTS", "PROPORTIONS"]

PROPORTIONS = {
    "thigh": 0.245, "shank": 0.246, "ankle_height": 0.039, "foot_length": 0.152, "upper_arm": 0.186,
    "forearm": 0.146, "shoulder_height": 0.818, "shoulder_half_width": 0.1295, "hip_half_width": 0.0503,
    "eye_height": 0.936,
}  # fmt: skip
"""Segment proportions (fractions of body height) used by :func:`builtin_spec`."""

_DEG = np.pi / 180.0
_Z, _X, _Y = np.array([0.0, 0, 1]), np.array([1.0, 0, 0]), np.array([0.0, 1, 0])


def _point(body: str, xyz) -> FrameRef:
    return FrameRef(body, (OffsetLink(np.asarray(xyz, dtype=float), np.zeros(3)),))


def _rot(axis, coord: str) -> TransformAxisSpec:
    return TransformAxisSpec("rotation", np.asarray(axis, dtype=float) / np.linalg.norm(axis), (coord,), fn.LinearFunction(1.0, 0.0))


def _trans(axis, coord: str) -> TransformAxisSpec:
    return TransformAxisSpec("translation", np.asarray(axis, dtype=float), (coord,), fn.LinearFunction(1.0, 0.0))


def builtin_spec(*, height: float = 1.75, arms: bool = True, hip_half_width: float | None = None) -> ModelSpec:
    """The built-in model's description for a subject of ``height`` metres (see module docs).

    ``hip_half_width`` (m) sets the distance of each hip joint centre from the pelvis origin, e.g.
    a subject's Harrington estimate (default ``PROPORTIONS["hip_half_width"] * height``).
    """
    if not 0.5 <= height <= 2.5:
        raise ValueRangeError("height", expected="a body height in metres between 0.5 and 2.5", got=height)
    if hip_half_width is not None and not 0.03 <= hip_half_width <= 0.2:
        raise ValueRangeError("hip_half_width", expected="metres between 0.03 and 0.2", got=hip_half_width)
    H, P = float(height), PROPORTIONS
    half_width = P["hip_half_width"] * H if hip_half_width is None else float(hip_half_width)
    joints: list[JointSpec] = []
    coords: list[CoordinateSpec] = []
    markers: list[MarkerSpec] = []
    bodies: list[str] = ["pelvis"]

    def coordinate(name: str, joint: str, lo: float, hi: float, default: float = 0.0, kind: str = "rotational") -> str:
        scale = _DEG if kind == "rotational" else 1.0
        coords.append(CoordinateSpec(name, joint, kind, default, (lo * scale, hi * scale), clamped=True))
        return name

    def joint(name, jtype, parent, location, child, axes):
        joints.append(JointSpec(name, jtype, _point(parent, location), FrameRef(child), tuple(c.coordinates[0] for c in axes), tuple(axes)))

    hip_height = P["ankle_height"] + P["shank"] + P["thigh"]
    joint("ground_pelvis", "CustomJoint", GROUND, (0, 0, 0), "pelvis", [
        _rot(_Z, coordinate("pelvis_tilt", "ground_pelvis", -90, 90)),
        _rot(_X, coordinate("pelvis_list", "ground_pelvis", -90, 90)),
        _rot(_Y, coordinate("pelvis_rotation", "ground_pelvis", -180, 180)),
        _trans(_X, coordinate("pelvis_tx", "ground_pelvis", -10, 10, kind="translational")),
        _trans(_Y, coordinate("pelvis_ty", "ground_pelvis", -1, 3, default=hip_height * H, kind="translational")),
        _trans(_Z, coordinate("pelvis_tz", "ground_pelvis", -10, 10, kind="translational")),
    ])  # fmt: skip
    for side, sgn in (("r", 1.0), ("l", -1.0)):
        femur, tibia, talus, calcn = f"femur_{side}", f"tibia_{side}", f"talus_{side}", f"calcn_{side}"
        bodies += [femur, tibia, talus, calcn]
        joint(f"hip_{side}", "CustomJoint", "pelvis", (0, 0, sgn * half_width), femur, [
            _rot(_Z, coordinate(f"hip_flexion_{side}", f"hip_{side}", -30, 120)),
            _rot(sgn * _X, coordinate(f"hip_adduction_{side}", f"hip_{side}", -50, 30)),
            _rot(sgn * _Y, coordinate(f"hip_rotation_{side}", f"hip_{side}", -40, 40)),
        ])  # fmt: skip
        joint(f"knee_{side}", "CustomJoint", femur, (0, -P["thigh"] * H, 0), tibia, [_rot(-_Z, coordinate(f"knee_angle_{side}", f"knee_{side}", -10, 140))])
        joint(f"ankle_{side}", "CustomJoint", tibia, (0, -P["shank"] * H, 0), talus, [_rot(_Z, coordinate(f"ankle_angle_{side}", f"ankle_{side}", -40, 30))])
        subtalar_at = np.array([-0.0275, -0.0235, 0.0]) * H
        joint(f"subtalar_{side}", "CustomJoint", talus, subtalar_at, calcn, [
            _rot((0.78717961, 0.60474746, -0.12094949) if sgn > 0 else (-0.78717961, -0.60474746, -0.12094949),
                 coordinate(f"subtalar_angle_{side}", f"subtalar_{side}", -20, 20))
        ])  # fmt: skip
        # foot landmarks in calcn (subtalar-origin) frame: relative to the ankle centre, minus the subtalar offset
        sole = -P["ankle_height"] * H
        for name, rel in (("heel", (-0.035 * H, sole, 0.0)), ("big_toe", (0.117 * H, sole, -sgn * 0.012 * H)), ("small_toe", (0.095 * H, sole, sgn * 0.022 * H))):
            markers.append(MarkerSpec(f"{name}_{side}", FrameRef(calcn), np.asarray(rel) - subtalar_at))
    bodies += ["torso", "head"]
    lumbar_at = np.array([-0.03, 0.06, 0.0]) * H
    joint("back", "CustomJoint", "pelvis", lumbar_at, "torso", [
        _rot(_Z, coordinate("lumbar_extension", "back", -90, 90)),
        _rot(_X, coordinate("lumbar_bending", "back", -90, 90)),
        _rot(_Y, coordinate("lumbar_rotation", "back", -90, 90)),
    ])  # fmt: skip
    shoulder_y = (P["shoulder_height"] - hip_height) * H - lumbar_at[1]
    neck_at = np.array([0.0, shoulder_y + 0.017 * H, 0.0])
    joint("neck", "CustomJoint", "torso", neck_at, "head", [
        _rot(_Z, coordinate("neck_flexion", "neck", -60, 60)),
        _rot(_X, coordinate("neck_bending", "neck", -45, 45)),
        _rot(_Y, coordinate("neck_rotation", "neck", -80, 80)),
    ])  # fmt: skip
    markers.append(MarkerSpec("neck_base", FrameRef("torso"), np.array([0.03 * H, shoulder_y, 0.0])))
    eye_y = (P["eye_height"] - P["shoulder_height"] - 0.017) * H
    head_points = {
        "head_top": (0.01, 1.0 - P["shoulder_height"] - 0.017, 0.0), "nose": (0.09, eye_y / H - 0.016, 0.0),
        "eye_r": (0.07, eye_y / H, 0.032), "eye_l": (0.07, eye_y / H, -0.032),
        "ear_r": (0.0, eye_y / H - 0.006, 0.075), "ear_l": (0.0, eye_y / H - 0.006, -0.075),
    }  # fmt: skip
    markers += [MarkerSpec(n, FrameRef("head"), np.asarray(v) * H) for n, v in head_points.items()]
    for side, sgn in (("r", 1.0), ("l", -1.0)):
        shoulder = np.array([0.03 * H, shoulder_y, sgn * 0.115 * H])
        markers.append(MarkerSpec(f"shoulder_{side}", _point("torso", shoulder), np.zeros(3)))
        if not arms:
            continue
        humerus, forearm = f"humerus_{side}", f"forearm_{side}"
        bodies += [humerus, forearm]
        joint(f"acromial_{side}", "CustomJoint", "torso", shoulder, humerus, [
            _rot(_Z, coordinate(f"arm_flex_{side}", f"acromial_{side}", -90, 180)),
            _rot(sgn * _X, coordinate(f"arm_add_{side}", f"acromial_{side}", -120, 90)),
            _rot(sgn * _Y, coordinate(f"arm_rot_{side}", f"acromial_{side}", -90, 90)),
        ])  # fmt: skip
        joint(f"elbow_{side}", "CustomJoint", humerus, (0, -P["upper_arm"] * H, 0), forearm, [_rot(_Z, coordinate(f"elbow_flex_{side}", f"elbow_{side}", 0, 150))])
        markers.append(MarkerSpec(f"wrist_{side}", FrameRef(forearm), np.array([0.0, -P["forearm"] * H, 0.0])))
    spec = ModelSpec(
        name=f"kinelift_builtin_{'fullbody' if arms else 'noarms'}", bodies=tuple(bodies), joints=tuple(joints),
        coordinates=tuple(coords), markers=tuple(markers), source="kinelift.skeleton.builtin",
        metadata={"height": H, "arms": arms},
    )  # fmt: skip
    return spec


FOOT_POINTS = ("heel", "big_toe", "small_toe")
"""The sole landmarks below each ankle: the built-in model's markers ``<point>_r``/``<point>_l``,
and the keypoints ``right_<point>``/``left_<point>`` of the sets with feet (BODY-25, HALPE-26, ...)."""


def foot_marker_indices(marker_names) -> list[int]:
    """Indices of the built-in model's sole landmarks (``heel_*``, ``big_toe_*``, ``small_toe_*``) in ``marker_names``."""
    return [i for i, n in enumerate(marker_names) if n.startswith(FOOT_POINTS)]


def builtin_model(*, height: float = 1.75, arms: bool = True) -> SkeletalModel:
    """The built-in model as a :class:`~kinelift.skeleton.model.SkeletalModel` (see module docs)."""
    return SkeletalModel.from_spec(builtin_spec(height=height, arms=arms))
