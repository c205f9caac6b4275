"""Per-frame kinematic features of a squat from 3D keypoints, for form classifiers.

:func:`squat_feature_series` gives every column of :func:`~kinelift.analysis.joint_angles_3d`
(radians; see its table) and, where the points exist, these body-size-free columns:

==========================  ==============================================================  ======
column                      definition                                                      unit
==========================  ==============================================================  ======
``pelvis_drop``             (highest mid-hip height of the sequence - mid-hip height) / leg  1
                            length; 0 standing tall, about 0.4-0.6 at a deep squat's bottom
``knee_ankle_width_ratio``  knee-to-knee distance / ankle-to-ankle distance (below 1:       1
                            knees closer than the ankles, as in valgus)
``head_tilt``               neck -> head from vertical (needs ``neck`` and ``head`` or       rad
                            ``head_top``)
``wrist_height``            (mid-wrist height - mid-shoulder height) / leg length (needs     1
                            wrists and shoulders)
==========================  ==============================================================  ======

Leg length is the median over frames of hip-knee plus knee-ankle distance, averaged over both
sides (segments are rigid, so it does not change as the knees bend). NaN where a point is
missing.

Examples
--------
>>> import numpy as np
>>> from kinelift import Tracks
>>> names = ["right_hip", "left_hip", "right_knee", "left_knee", "right_ankle", "left_ankle", "neck"]
>>> stand = [[0, 0.9, 0.1], [0, 0.9, -0.1], [0, 0.5, 0.1], [0, 0.5, -0.1], [0, 0.1, 0.1], [0, 0.1, -0.1], [0, 1.4, 0]]
>>> sit = [[-0.4, 0.5, 0.1], [-0.4, 0.5, -0.1], [0, 0.5, 0.1], [0, 0.5, -0.1], [0, 0.1, 0.1], [0, 0.1, -0.1], [-0.2, 1.0, 0]]
>>> features = squat_feature_series(Tracks(np.array([stand, sit]), keypoints=names, fps=1.0, units="m", coordinate_frame="ground"))
>>> features.select(["pelvis_drop", "knee_ankle_width_ratio"]).values.round(2).tolist()
[[0.0, 1.0], [0.5, 1.0]]
"""

from __future__ import annotations

import numpy as np

from kinelift.analysis.angles_3d import UP_AXES, joint_angles_3d
from kinelift.analysis.geometry import included_angle
from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.errors import ValueRangeError

__all__ = ["squat_feature_series"]


def squat_feature_series(tracks: Tracks, *, up: str = "y") -> TimeSeriesTable:
    """Kinematic feature columns of one squat sequence (see the module's table).

    Parameters
    ----------
    tracks : Tracks
        3D keypoints in metres with at least hips, knees, ankles and a superior pelvis point (as
        :func:`~kinelift.analysis.joint_angles_3d` needs), e.g. from
        :func:`~kinelift.analysis.marker_sets.plug_in_gait_keypoints` or the lifter.
    up : {"x", "y", "z"}, default "y"
        The lab's vertical axis.

    Returns
    -------
    TimeSeriesTable
        The angle columns (``"rad"``) and the ratio columns (unit ``""``), one row per frame.
    """
    angles = joint_angles_3d(tracks, up=up)
    points = {n: tracks.positions[:, i] for i, n in enumerate(tracks.keypoint_names)}
    axis = UP_AXES[up]
    columns: dict[str, tuple[np.ndarray, str]] = {}
    right, left = (tuple(points[f"{side}_{j}"] for j in ("hip", "knee", "ankle")) for side in ("right", "left"))
    leg = np.nanmedian([np.linalg.norm(h - k, axis=-1) + np.linalg.norm(k - a, axis=-1) for h, k, a in (right, left)])
    if not np.isfinite(leg) or leg <= 0:
        raise ValueRangeError("tracks", expected="at least one frame with both hips, knees and ankles (for the leg length)", got="none")
    mid_hip_height = 0.5 * (right[0] + left[0])[:, axis]
    columns["pelvis_drop"] = ((np.nanmax(mid_hip_height) - mid_hip_height) / leg, "")
    columns["knee_ankle_width_ratio"] = (np.linalg.norm(right[1] - left[1], axis=-1) / np.linalg.norm(right[2] - left[2], axis=-1), "")
    head = points.get("head", points.get("head_top"))
    if "neck" in points and head is not None:
        vertical = points["neck"] + np.eye(3)[axis]
        columns["head_tilt"] = (included_angle(head, points["neck"], vertical), "rad")
    if all(f"{s}_{j}" in points for s in ("right", "left") for j in ("wrist", "shoulder")):
        wrists = 0.5 * (points["right_wrist"] + points["left_wrist"])[:, axis]
        shoulders = 0.5 * (points["right_shoulder"] + points["left_shoulder"])[:, axis]
        columns["wrist_height"] = ((wrists - shoulders) / leg, "")
    names = list(angles.column_names) + list(columns)
    values = np.concatenate([angles.values, np.stack([v for v, _ in columns.values()], axis=1)], axis=1)
    units = list(angles.column_units) + [u for _, u in columns.values()]
    return TimeSeriesTable(tracks.time, values, names, units, name="squat_features", metadata=dict(angles.metadata))
