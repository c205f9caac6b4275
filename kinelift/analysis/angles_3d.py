"""Joint angles from 3D keypoints, and the same angles read from model coordinates.

Input points are in a lab frame in metres; ``up`` names the vertical axis (OpenSim's y by
default). Angles are in radians, continuous over time, NaN where a point is missing.
The pelvis frame comes from the hip centres and a superior point fixed on the pelvis
(``lumbar``: the pelvis-torso joint centre) or, without one, the shoulders' midpoint (then
"hip flexion" is measured against the trunk); see :func:`~kinelift.analysis.geometry.pelvis_frame`.

==========================  ===========================================================  ==========================
column                      definition                                                   zero, sign
==========================  ===========================================================  ==========================
``knee_flexion_r``          180 deg minus the hip-knee-ankle angle                       straight; + flexion (>= 0)
``hip_flexion_r``           thigh (hip -> knee) in the pelvis sagittal plane, from -y    thigh along pelvis -y; + forward
``hip_adduction_r``         thigh's angle out of the pelvis sagittal plane               in the plane; + towards midline
``knee_fppa_r``             hip-knee-ankle deviation projected on the vertical plane     in line; + knee medial (valgus)
                            through the pelvis's lateral axis (what a camera in front
                            sees; undefined once the thigh is horizontal)
``ankle_dorsiflexion_r``    90 deg minus the angle between ankle -> knee and heel -> toe  shank perpendicular to foot;
                            (only with heel and big-toe points)                          + dorsiflexion
``trunk_lean``              mid-hip -> mid-shoulder from vertical, signed by the         upright; + forward
                            pelvis's forward direction (horizontal part of pelvis x)
``thigh_lean_r``            knee -> hip from vertical, signed the same way               vertical; + hip forward
``shank_lean_r``            ankle -> knee from vertical, signed the same way             vertical; + knee forward
==========================  ===========================================================  ==========================

A keypoint-defined pelvis is not the model's anatomical pelvis frame: pass ``neutral=`` (a
standing posture, e.g. the model's default pose) to report angles relative to it, as a static
calibration trial does. On the OpenCap squat (LaiArnold model) knee and hip flexion from the
joint centres, relative to the default pose, agree with the model's own coordinates within
0.5 deg RMSE (tests/integration/test_analysis_real_data.py).

Examples
--------
>>> import numpy as np
>>> from kinelift import Tracks
>>> names = ["right_hip", "left_hip", "right_knee", "left_knee", "right_ankle", "left_ankle", "lumbar"]
>>> p = np.array([[[0, 0.9, 0.1], [0, 0.9, -0.1], [0.3, 0.9, 0.1], [0, 0.5, -0.1],
...                [0.3, 0.5, 0.1], [0, 0.1, -0.1], [0, 1.05, 0]]])
>>> angles = joint_angles_3d(Tracks(p, keypoints=names, fps=1.0, units="m", coordinate_frame="ground"))
>>> np.degrees(angles.select(["hip_flexion_r", "knee_flexion_r", "hip_flexion_l"]).values).round(1)
array([[90., 90.,  0.]])
"""

from __future__ import annotations

import numpy as np

from kinelift.analysis.geometry import frontal_projection_angle, included_angle, normalize, pelvis_frame, unwrap_angles
from kinelift.core.keypoint_sets import KeypointSet
from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError, UnknownNameError, ValueRangeError
from kinelift.lifting.metrics import segment_lean

__all__ = ["ANALYSIS_KEYPOINTS", "UP_AXES", "coordinate_angles", "joint_angles_3d", "model_keypoints"]

ANALYSIS_KEYPOINTS = KeypointSet(
    "ANALYSIS-13",
    ("right_hip", "left_hip", "right_knee", "left_knee", "right_ankle", "left_ankle", "right_shoulder", "left_shoulder",
     "right_heel", "left_heel", "right_big_toe", "left_big_toe", "lumbar"),
    ((0, 1), (0, 2), (2, 4), (1, 3), (3, 5), (0, 6), (1, 7), (6, 7), (4, 8), (8, 10), (5, 9), (9, 11), (4, 10), (5, 11), (12, 0), (12, 1)),
)  # fmt: skip
"""The points :func:`model_keypoints` takes from a model for :func:`joint_angles_3d`."""

UP_AXES = {"x": 0, "y": 1, "z": 2}
"""Index of each name an ``up=`` argument takes."""
_SIDES = {"r": "right", "l": "left"}


def _points(tracks: Tracks) -> dict[str, np.ndarray]:
    return {n: tracks.positions[:, i] for i, n in enumerate(tracks.keypoint_names)}


def _angles(points: dict[str, np.ndarray], up: np.ndarray, n: int) -> dict[str, np.ndarray]:
    def need(name: str) -> np.ndarray:
        if name not in points:
            raise UnknownNameError("keypoint (needed for 3D joint angles)", name, known=sorted(points))
        return points[name]

    rh, lh = need("right_hip"), need("left_hip")
    shoulders = [points[k] for k in ("right_shoulder", "left_shoulder") if k in points]
    mid_shoulder = 0.5 * (shoulders[0] + shoulders[1]) if len(shoulders) == 2 else points.get("neck")
    superior = points.get("lumbar", mid_shoulder)
    if superior is None:
        raise UnknownNameError("keypoint (a superior pelvis point)", ["lumbar", "right_shoulder+left_shoulder", "neck"], known=sorted(points))
    x, y, z = pelvis_frame(rh, lh, superior)
    out: dict[str, np.ndarray] = {}
    lateral = normalize(z - np.sum(z * up, axis=-1, keepdims=True) * up)

    def lean(distal: np.ndarray, proximal: np.ndarray) -> np.ndarray:
        return segment_lean(proximal, distal, x, up)

    if mid_shoulder is not None:
        out["trunk_lean"] = lean(0.5 * (rh + lh), mid_shoulder)
    for s, side in _SIDES.items():
        hip, knee, ankle = (need(f"{side}_{j}") for j in ("hip", "knee", "ankle"))
        out[f"knee_flexion_{s}"] = np.pi - included_angle(hip, knee, ankle)
        out[f"thigh_lean_{s}"] = lean(knee, hip)
        out[f"shank_lean_{s}"] = lean(ankle, knee)
        thigh = knee - hip
        tx, ty, tz = (np.sum(thigh * a, axis=-1) for a in (x, y, z))
        out[f"hip_flexion_{s}"] = np.arctan2(tx, -ty)
        medial = -1.0 if s == "r" else 1.0
        out[f"hip_adduction_{s}"] = np.arctan2(medial * tz, np.hypot(tx, ty))
        # Frontal-plane projection as a camera in front sees it: onto the vertical plane through
        # the lab's up axis and the horizontal part of the pelvis's lateral axis.
        proj = [np.stack([np.sum(p * lateral, axis=-1), p @ up], axis=-1) for p in (hip, knee, ankle)]
        out[f"knee_fppa_{s}"] = frontal_projection_angle(*proj, np.array([medial, 0.0]))
        heel, toe = points.get(f"{side}_heel"), points.get(f"{side}_big_toe")
        if heel is not None and toe is not None:
            out[f"ankle_dorsiflexion_{s}"] = 0.5 * np.pi - included_angle(knee - ankle + heel, heel, toe)
    return {k: np.broadcast_to(v, (n,)) for k, v in out.items()}


def joint_angles_3d(tracks: Tracks, *, up: str = "y", neutral: Tracks | None = None) -> TimeSeriesTable:
    """3D joint angles from 3D keypoints (see the module's table), radians.

    Parameters
    ----------
    tracks : Tracks
        3D tracks (``units="m"``) with hips, knees, ankles and a superior pelvis point
        (``lumbar``, the shoulders or ``neck``); heels and big toes add ankle dorsiflexion.
    up : {"x", "y", "z"}, default "y"
        The lab's vertical axis (OpenSim: y; most motion-capture systems: z).
    neutral : Tracks, optional
        A reference posture (its first frame, same keypoints): its angles are subtracted,
        so every angle is zero in that posture.

    Returns
    -------
    TimeSeriesTable
        One ``"rad"`` column per angle of the module's table that the points allow.
    """
    if tracks.n_dims != 3:
        raise ShapeError("tracks.positions", expected="3D tracks (frames, keypoints, 3)", got=tracks.positions.shape)
    if up not in UP_AXES:
        raise ValueRangeError("up", expected="one of 'x', 'y', 'z'", got=up)
    up_vec = np.eye(3)[UP_AXES[up]]
    angles = _angles(_points(tracks), up_vec, tracks.n_frames)
    names = list(angles)
    values = np.stack([unwrap_angles(angles[k]) for k in names], axis=1)
    if neutral is not None:
        if neutral.keypoint_names != tracks.keypoint_names or neutral.n_dims != 3:
            raise ShapeError("neutral", expected=f"3D tracks of the same keypoints {tracks.keypoint_names}", got=neutral.keypoint_names)
        ref = _angles(_points(neutral[:1]), up_vec, 1)
        values = values - np.array([ref[k][0] for k in names])
    return TimeSeriesTable(tracks.time, values, names, ["rad"] * len(names), name="joint_angles_3d",
                           metadata={"neutral": neutral is not None, "keypoint_set": tracks.keypoint_set.name})  # fmt: skip


def model_keypoints(model, motion: TimeSeriesTable | None = None, *, keypoints: KeypointSet = ANALYSIS_KEYPOINTS) -> Tracks:
    """The model's anatomical points (joint centres, the lumbar joint, landmarks) over a motion.

    Parameters
    ----------
    model : SkeletalModel
    motion : TimeSeriesTable, optional
        Coordinates by name (a ``.mot`` read by :func:`kinelift.io.read_mot`); ``None`` gives one
        frame of the model's default pose (the neutral posture for :func:`joint_angles_3d`).
    keypoints : KeypointSet, default ANALYSIS_KEYPOINTS
        Names resolved by :func:`kinelift.skeleton.keypoint_maps.keypoint_map`; NaN where unmapped.
    """
    import torch

    from kinelift.skeleton.keypoint_maps import KeypointModel

    kp_model = KeypointModel(model, keypoints)
    if motion is None:
        q, time = model.default_coordinates()[None], np.zeros(1)
    else:
        q, time = model.coordinates_from_table(motion, check_ranges=True), motion.time
    with torch.no_grad():
        pts = kp_model(q).numpy()
    return Tracks(pts, keypoints=keypoints, time=time, units="m", coordinate_frame="ground", metadata={"model": model.spec.name})


def coordinate_angles(model, motion: TimeSeriesTable, *, thigh_lean: bool = False) -> TimeSeriesTable:
    """The module's angles read from model coordinates, under kinelift's names and signs.

    ``hip_flexion_*`` and ``hip_adduction_*`` are OpenSim's coordinates of the same names;
    ``knee_flexion_*`` is ``knee_angle_*`` with its sign set so that flexion is positive (gait2392
    counts knee flexion negative, Rajagopal-family models positive: the sign is found by forward
    kinematics, from the direction in which the coordinate bends the hip-knee-ankle angle);
    ``ankle_dorsiflexion_*`` is ``ankle_angle_*``. Columns whose coordinates the model lacks are left out.

    ``thigh_lean=True`` adds ``thigh_lean_r`` and ``thigh_lean_l``: the model's knee -> hip joint
    centres from the vertical (ground y), + hip forward of the knee along the pelvis's heading (the
    table above; a squat's thigh leans negative). From one camera it is measured far better than hip
    flexion, which carries the error of the pelvis's tilt (on held-out motion capture, squats 5.4
    against 19.2 deg RMSE: docs/lift.md, "The thigh's lean"); ``kinelift run`` reports it.

    Examples
    --------
    >>> from kinelift.skeleton.builtin import builtin_model
    >>> model = builtin_model()
    >>> q = model.default_coordinates().numpy()[None]
    >>> names = list(model.coordinate_names)
    >>> q[0, names.index("hip_flexion_r")] = np.deg2rad(30.0)
    >>> motion = TimeSeriesTable([0.0], q, names)
    >>> angles = coordinate_angles(model, motion, thigh_lean=True)
    >>> np.degrees(angles.select(["hip_flexion_r", "thigh_lean_r", "thigh_lean_l"]).values).round(1).tolist()
    [[30.0, -30.0, 0.0]]
    """
    from kinelift.skeleton.conventions import knee_flexion_sign

    model.coordinates_from_table(motion, check_ranges=True)  # a motion of another model is refused, not mislabelled
    out_names, columns = [], []
    for s in _SIDES:
        for name, coord in ((f"hip_flexion_{s}", f"hip_flexion_{s}"), (f"hip_adduction_{s}", f"hip_adduction_{s}"),
                            (f"knee_flexion_{s}", f"knee_angle_{s}"), (f"ankle_dorsiflexion_{s}", f"ankle_angle_{s}")):  # fmt: skip
            if coord not in model.coordinate_names or coord not in motion.column_names:
                continue
            sign = knee_flexion_sign(model, s) if name.startswith("knee") else 1.0
            out_names.append(name)
            columns.append(sign * motion.column(coord))
    if not out_names:
        raise UnknownNameError("coordinate (hip_flexion_*, knee_angle_*, ankle_angle_*)", "none found", known=motion.column_names)
    if thigh_lean:
        leans = joint_angles_3d(model_keypoints(model, motion))
        for s in _SIDES:
            out_names.append(f"thigh_lean_{s}")
            columns.append(leans.column(f"thigh_lean_{s}"))
    return TimeSeriesTable(motion.time, np.stack(columns, axis=1), out_names, ["rad"] * len(out_names), name="coordinate_angles")
