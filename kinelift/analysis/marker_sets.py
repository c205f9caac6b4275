"""Keypoints from motion-capture marker sets: Vicon Plug-in-Gait markers to the joint points the
analysis layer reads.

:func:`plug_in_gait_keypoints` turns Plug-in-Gait's full-body markers (``LASI``, ``RASI``,
``LPSI``, ``RPSI``, ``LKNE``, ``LANK``, ...) into named keypoints in the same lab frame and
units:

====================  =====================================================================
keypoint              from
====================  =====================================================================
``right_hip``,        hip joint centres by Harrington et al.'s regression (J Biomech 2007,
``left_hip``          40:595-602) on pelvis width ``PW`` (ASIS to ASIS) and depth ``PD``
                      (mid-ASIS to mid-PSIS), each the median over the trial, from the
                      mid-ASIS along the pelvis axes: ``-0.24 PD - 9.9 mm`` anterior,
                      ``-0.30 PW - 10.9 mm`` superior, ``0.33 PW + 7.3 mm`` lateral
``mid_hip``           midpoint of the two hip centres
``*_knee``            ``KNE`` (lateral femoral epicondyle marker)
``*_ankle``           ``ANK`` (lateral malleolus marker)
``*_heel``            ``HEE``
``*_big_toe``         ``TOE`` (second metatarsal head: the forefoot point Plug-in-Gait has)
``*_shoulder``        ``SHO``
``*_elbow``           ``ELB``
``*_wrist``           midpoint of ``WRA`` and ``WRB``
``neck``              ``C7``
``head``              mean of ``LFHD``, ``RFHD``, ``LBHD``, ``RBHD``
====================  =====================================================================

The knee and ankle points are the lateral markers, not joint centres (Plug-in-Gait finds those
with the subject's knee and ankle widths, which a marker file does not carry): flexion angles
from them are close to the joint-centre ones, frontal-plane angles are biased by the marker
offsets. Markers not in the input give NaN keypoints.

Examples
--------
>>> import numpy as np
>>> from kinelift import Tracks
>>> names = ["LASI", "RASI", "LPSI", "RPSI"]
>>> p = np.array([[[0.1, 1.0, -0.12], [0.1, 1.0, 0.12], [-0.05, 1.0, -0.05], [-0.05, 1.0, 0.05]]])
>>> markers = Tracks(p, keypoints=names, fps=100.0, units="m", coordinate_frame="ground")
>>> hips = plug_in_gait_keypoints(markers, up="y").select(["right_hip", "left_hip"])
>>> hips.positions[0].round(4).tolist()  # PW = 0.24 m, PD = 0.15 m; x forward, y up, z right
[[0.0541, 0.9171, 0.0865], [0.0541, 0.9171, -0.0865]]
"""

from __future__ import annotations

import numpy as np

from kinelift.analysis.geometry import normalize
from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError, UnknownNameError, ValueRangeError
from kinelift.skeleton.plug_in_gait import harrington_offsets, pelvis_size

__all__ = ["PLUG_IN_GAIT_KEYPOINTS", "harrington_hip_centers", "plug_in_gait_keypoints"]

PLUG_IN_GAIT_KEYPOINTS = (
    "right_hip", "left_hip", "mid_hip", "right_knee", "left_knee", "right_ankle", "left_ankle",
    "right_heel", "left_heel", "right_big_toe", "left_big_toe", "right_shoulder", "left_shoulder",
    "right_elbow", "left_elbow", "right_wrist", "left_wrist", "neck", "head",
)  # fmt: skip
"""The keypoints :func:`plug_in_gait_keypoints` returns, in order."""

_SINGLE = {"knee": "KNE", "ankle": "ANK", "heel": "HEE", "big_toe": "TOE", "shoulder": "SHO", "elbow": "ELB"}


def harrington_hip_centers(lasi: np.ndarray, rasi: np.ndarray, lpsi: np.ndarray, rpsi: np.ndarray, *, metres: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Right and left hip joint centres ``(frames, 3)`` from the pelvis markers (Harrington et al. 2007).

    Parameters
    ----------
    lasi, rasi, lpsi, rpsi : ndarray, shape (frames, 3)
        Anterior and posterior superior iliac spine markers in any lab frame.
    metres : float, default 1.0
        One metre in the input's unit (1000 for millimetres), for the regression's constant terms.

    Returns
    -------
    right, left : ndarray, shape (frames, 3)
        In the input's frame and unit. Pelvis width and depth are the medians over frames (a
        rigid pelvis), so a marker wobble does not move the centres relative to the pelvis.
    """
    lasi, rasi, lpsi, rpsi = (np.asarray(a, dtype=np.float64) for a in (lasi, rasi, lpsi, rpsi))
    mid_asis, mid_psis = 0.5 * (lasi + rasi), 0.5 * (lpsi + rpsi)
    right = normalize(rasi - lasi)
    anterior = mid_asis - mid_psis
    anterior = normalize(anterior - np.sum(anterior * right, axis=-1, keepdims=True) * right)
    superior = np.cross(right, anterior)
    width, depth, _ = pelvis_size(lasi, rasi, lpsi, rpsi)
    a, s, lat = harrington_offsets(width / metres, depth / metres)  # the regression in metres
    base = mid_asis + anterior * (a * metres) + superior * (s * metres)
    lateral = right * (lat * metres)
    return base + lateral, base - lateral


def plug_in_gait_keypoints(markers: Tracks, *, up: str = "z") -> Tracks:
    """Keypoints (:data:`PLUG_IN_GAIT_KEYPOINTS`) from Plug-in-Gait markers (see the module's table).

    Parameters
    ----------
    markers : Tracks
        3D marker trajectories in metres, named as Plug-in-Gait names them (``LASI``, ``RKNE``,
        ...), e.g. ``load_uiprmd(..., as_tracks=True)``. The four pelvis markers are required.
    up : {"x", "y", "z"}, default "z"
        The lab's vertical axis (Vicon labs: z). Used only to check that the pelvis markers
        give a superior axis pointing up; a mislabelled left/right pair fails here instead of
        putting the hips below the knees' side.

    Returns
    -------
    Tracks
        Same frames, time, units and frame; NaN where a source marker is missing.
    """
    from kinelift.analysis.angles_3d import UP_AXES

    if markers.n_dims != 3:
        raise ShapeError("markers.positions", expected="3D marker trajectories (frames, markers, 3)", got=markers.positions.shape)
    if up not in UP_AXES:
        raise ValueRangeError("up", expected=f"one of {tuple(UP_AXES)}", got=up)
    names = markers.keypoint_names
    pelvis = ("LASI", "RASI", "LPSI", "RPSI")
    missing = [m for m in pelvis if m not in names]
    if missing:
        raise UnknownNameError("Plug-in-Gait pelvis marker", missing, known=names)
    if markers.units != "m":
        raise ValueRangeError("markers.units", expected="'m' (marker positions in metres)", got=markers.units)
    index = {n: i for i, n in enumerate(names)}
    nan = np.full((markers.n_frames, 3), np.nan)

    def marker(name: str) -> np.ndarray:
        return markers.positions[:, index[name]] if name in index else nan

    right_hip, left_hip = harrington_hip_centers(*(marker(m) for m in pelvis))
    mid_asis = 0.5 * (marker("LASI") + marker("RASI"))
    if np.nanmedian((mid_asis - right_hip)[:, UP_AXES[up]]) <= 0:
        raise ValueRangeError(
            "markers", expected=f"hip centres below the ASIS markers along +{up} (check `up` and the L/R marker labels)", got="hips above the pelvis"
        )  # fmt: skip
    points = {"right_hip": right_hip, "left_hip": left_hip, "mid_hip": 0.5 * (right_hip + left_hip)}
    for side, prefix in (("right", "R"), ("left", "L")):
        for joint, code in _SINGLE.items():
            points[f"{side}_{joint}"] = marker(prefix + code)
        points[f"{side}_wrist"] = 0.5 * (marker(prefix + "WRA") + marker(prefix + "WRB"))
    points["neck"] = marker("C7")
    points["head"] = np.mean([marker(m) for m in ("LFHD", "RFHD", "LBHD", "RBHD")], axis=0)
    positions = np.stack([points[k] for k in PLUG_IN_GAIT_KEYPOINTS], axis=1)
    return Tracks(
        positions, keypoints=list(PLUG_IN_GAIT_KEYPOINTS), time=markers.time, fps=markers.fps, person_id=markers.person_id, units=markers.units,
        coordinate_frame=markers.coordinate_frame, metadata={**markers.metadata, "derived_from": "Plug-in-Gait markers"},
    )  # fmt: skip
