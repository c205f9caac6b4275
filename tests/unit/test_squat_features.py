"""Unit tests of marker-set keypoints (Plug-in-Gait, Harrington hip centres) and squat feature series."""

from __future__ import annotations

import numpy as np
import pytest

from kinelift import Tracks
from kinelift.analysis.marker_sets import PLUG_IN_GAIT_KEYPOINTS, harrington_hip_centers, plug_in_gait_keypoints
from kinelift.analysis.squat_features import squat_feature_series
from kinelift.errors import ShapeError, UnknownNameError, ValueRangeError

# A standing subject, z up, facing +x, right = -y (a right-handed lab): pelvis width 0.25 m, depth 0.16 m.
PELVIS = {"LASI": [0.10, 0.125, 1.00], "RASI": [0.10, -0.125, 1.00], "LPSI": [-0.06, 0.05, 1.02], "RPSI": [-0.06, -0.05, 1.02]}


def _markers(extra=None, frames=3):
    named = {**PELVIS, **(extra or {})}
    pos = np.repeat(np.array([list(named.values())], dtype=np.float64), frames, axis=0)
    return Tracks(pos, keypoints=list(named), fps=100.0, units="m", coordinate_frame="ground")


def test_harrington_hip_centres_by_hand():
    p = {k: np.array([v]) for k, v in PELVIS.items()}
    right, left = harrington_hip_centers(p["LASI"], p["RASI"], p["LPSI"], p["RPSI"])
    # pelvis axes: right = -y, anterior from mid-PSIS to mid-ASIS made orthogonal to it = (0.16, 0, -0.02)/|.|
    width, depth = 0.25, np.hypot(0.16, 0.02)
    anterior = np.array([0.16, 0.0, -0.02]) / depth
    superior = np.cross([0, -1.0, 0], anterior)
    base = np.array([0.10, 0.0, 1.0]) + anterior * (-0.24 * depth - 0.0099) + superior * (-0.30 * width - 0.0109)
    lateral = np.array([0, -1.0, 0]) * (0.33 * width + 0.0073)
    assert np.allclose(right[0], base + lateral, atol=1e-12) and np.allclose(left[0], base - lateral, atol=1e-12)
    assert superior[2] > 0.99  # the pelvis's superior axis is the lab's up
    mm = harrington_hip_centers(*(p[k] * 1000 for k in ("LASI", "RASI", "LPSI", "RPSI")), metres=1000.0)
    assert np.allclose(mm[0], right * 1000) and np.allclose(mm[1], left * 1000)


def test_plug_in_gait_keypoints_names_sources_and_errors():
    extra = {"RKNE": [0.05, -0.12, 0.55], "LKNE": [0.05, 0.12, 0.55], "RWRA": [0.3, -0.2, 1.2], "RWRB": [0.3, -0.24, 1.2],
             "LFHD": [0.1, 0.05, 1.7], "RFHD": [0.1, -0.05, 1.7], "LBHD": [-0.05, 0.05, 1.7], "RBHD": [-0.05, -0.05, 1.7]}  # fmt: skip
    kp = plug_in_gait_keypoints(_markers(extra), up="z")
    assert kp.keypoint_names == PLUG_IN_GAIT_KEYPOINTS and kp.units == "m" and kp.n_frames == 3
    at = {n: kp.positions[0, i] for i, n in enumerate(kp.keypoint_names)}
    assert np.allclose(at["right_knee"], extra["RKNE"]) and np.allclose(at["right_wrist"], [0.3, -0.22, 1.2])
    assert np.allclose(at["head"], [0.025, 0.0, 1.7]) and np.isnan(at["left_wrist"]).all() and np.isnan(at["neck"]).all()
    assert at["right_hip"][1] < 0 < at["left_hip"][1] and at["right_hip"][2] < 1.0
    swapped = {**PELVIS, "LASI": PELVIS["RASI"], "RASI": PELVIS["LASI"], "LPSI": PELVIS["RPSI"], "RPSI": PELVIS["LPSI"]}
    pos = np.array([list(swapped.values())] * 2)
    with pytest.raises(ValueRangeError, match="L/R"):
        plug_in_gait_keypoints(Tracks(pos, keypoints=list(swapped), fps=100.0, units="m", coordinate_frame="ground"), up="z")
    with pytest.raises(UnknownNameError, match="LPSI"):
        plug_in_gait_keypoints(_markers().select(["LASI", "RASI", "RPSI"]), up="z")
    with pytest.raises(ValueRangeError, match="up"):
        plug_in_gait_keypoints(_markers(), up="w")
    with pytest.raises(ShapeError):
        plug_in_gait_keypoints(Tracks(np.zeros((2, 4, 2)), keypoints=list(PELVIS), fps=100.0), up="z")


def _pose(hip_height, knee_gap=0.2, head=(0.0, 1.65), wrist_height=1.3):
    """A frontal-symmetric pose, y up: hips at ``hip_height``, knees ``knee_gap`` apart, ankles 0.2 apart."""
    return {
        "right_hip": [0, hip_height, 0.1], "left_hip": [0, hip_height, -0.1],
        "right_knee": [0, 0.5, knee_gap / 2], "left_knee": [0, 0.5, -knee_gap / 2],
        "right_ankle": [0, 0.1, 0.1], "left_ankle": [0, 0.1, -0.1],
        "right_shoulder": [0, 1.4, 0.18], "left_shoulder": [0, 1.4, -0.18],
        "right_wrist": [0, wrist_height, 0.2], "left_wrist": [0, wrist_height, -0.2],
        "neck": [0, 1.45, 0], "head": [head[0], head[1], 0],
    }  # fmt: skip


def test_squat_feature_series_columns_by_hand():
    frames = [_pose(0.9), _pose(0.9, knee_gap=0.1, head=(0.2, 1.65), wrist_height=1.4)]
    names = list(frames[0])
    tracks = Tracks(np.array([[f[n] for n in names] for f in frames]), keypoints=names, fps=10.0, units="m", coordinate_frame="ground")
    table = squat_feature_series(tracks)
    v = {c: table.values[:, i] for i, c in enumerate(table.column_names)}
    leg = np.hypot(0.4, 0.0) + 0.4  # hip-knee 0.4 (frame 0), knee-ankle 0.4
    assert v["pelvis_drop"] == pytest.approx([0.0, 0.0])
    assert v["knee_ankle_width_ratio"] == pytest.approx([1.0, 0.5])
    assert v["head_tilt"] == pytest.approx([0.0, np.arctan2(0.2, 0.2)])
    assert v["wrist_height"] == pytest.approx([-0.1 / leg, 0.0], abs=0.01)
    assert table.column_units[table.column_names.index("head_tilt")] == "rad" and "knee_flexion_r" in table.column_names
    no_head = tracks.select([n for n in names if n not in ("head", "right_wrist")])
    assert {"head_tilt", "wrist_height"}.isdisjoint(squat_feature_series(no_head).column_names)
    with pytest.raises(UnknownNameError):
        squat_feature_series(tracks.select(["right_hip", "left_hip", "neck"]))
