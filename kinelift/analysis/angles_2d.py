"""Joint angles from 2D keypoint tracks: the sagittal view and the frontal view.

Every angle is in radians, continuous over time (unwrapped, no jumps at +-pi), and NaN in a
frame where one of its points is missing. Image coordinates: x right, y down (pixels or any
unit; angles do not depend on it). "Left"/"right" are the person's own.

Sagittal view (camera at the person's side). ``forward`` is the direction the person faces
in the image (found from the toes, the face or the knee bend; see :func:`facing_direction`),
``up`` is image up. A segment's *lean* is the signed angle of its distal-to-proximal vector
from vertical, positive when the proximal end is forward of the distal one.

========================  ===================================================  =========================
column                    definition                                           zero, sign
========================  ===================================================  =========================
``trunk_lean``            lean of mid-hip -> mid-shoulder (or neck)             upright; + forward
``shank_lean_r``          lean of ankle -> knee                                 vertical; + knee forward
``thigh_lean_r``          lean of knee -> hip                                   vertical; + hip forward
``knee_flexion_r``        ``shank_lean - thigh_lean``                           straight; + flexion
``hip_flexion_r``         ``trunk_lean - thigh_lean``                           trunk in line with thigh; + flexion
``ankle_dorsiflexion_r``  ``shank_lean`` + foot pitch (heel -> big toe above     shank perpendicular to foot;
                          horizontal); foot assumed flat without toe points      + dorsiflexion
========================  ===================================================  =========================

Frontal view (camera in front of or behind the person):

=========================  =================================================  =========================
column                     definition                                         zero, sign
=========================  =================================================  =========================
``knee_fppa_r``            frontal-plane projection angle (Willson & Davis    hip, knee, ankle in line;
                           2008): 180 deg minus the hip-knee-ankle angle      + knee medial (valgus)
``pelvic_drop_r``          angle of the left -> right hip line to horizontal  level; + right hip lower
=========================  =================================================  =========================

Willson, J. D., & Davis, I. S. (2008). Utility of the frontal plane projection angle in
females with patellofemoral pain. *J Orthop Sports Phys Ther*, 38(10), 606-615.

Examples
--------
>>> from kinelift.synthetic import squat_tracks
>>> clip = squat_tracks(n_reps=1, fps=30.0, camera_azimuth=np.pi / 2, noise=0.0, dropout=0.0)
>>> angles = sagittal_angles(clip.clean)
>>> err = np.abs(angles.column("knee_flexion_r") - clip.knee_flexion)
>>> bool(np.nanmax(err) < 1e-6)
True
"""

from __future__ import annotations

import numpy as np

from kinelift.analysis.geometry import frontal_projection_angle, normalize, unwrap_angles
from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError, UnknownNameError, ValueRangeError

__all__ = ["facing_direction", "frontal_angles", "sagittal_angles"]

_SIDES = {"r": "right", "l": "left"}


def _check_2d(tracks: Tracks) -> None:
    if tracks.n_dims != 2:
        raise ShapeError("tracks.positions", expected="2D image tracks (frames, keypoints, 2)", got=tracks.positions.shape)


def _point(tracks: Tracks, *names: str) -> np.ndarray | None:
    """Position of the first name the set has (mean of a ``+``-joined pair), else None."""
    have = set(tracks.keypoint_names)
    for name in names:
        parts = name.split("+")
        if all(p in have for p in parts):
            return np.mean([tracks.positions[:, tracks.keypoint_set.index(p)] for p in parts], axis=0)
    return None


def _require(tracks: Tracks, *names: str) -> np.ndarray:
    p = _point(tracks, *names)
    if p is None:
        raise UnknownNameError(f"keypoint of {tracks.keypoint_set.name} (needed: one of)", list(names), known=tracks.keypoint_names)
    return p


def facing_direction(tracks: Tracks) -> float:
    """Image x direction the person faces in a side view: ``+1.0`` (right) or ``-1.0`` (left).

    Judged, in this order, from the toes ahead of the heels, the nose ahead of the ears, or the
    knees ahead of the hip-ankle line while the knees are bent (median over frames).
    """
    _check_2d(tracks)
    for front, back in (("left_big_toe+right_big_toe", "left_heel+right_heel"), ("nose", "left_ear+right_ear")):
        a, b = _point(tracks, front), _point(tracks, back)
        if a is not None and b is not None:
            d = np.nanmedian(a[:, 0] - b[:, 0])
            if np.isfinite(d) and d != 0:
                return float(np.sign(d))
    hip = _require(tracks, "left_hip+right_hip", "mid_hip", "pelvis")
    knee = _require(tracks, "left_knee+right_knee")
    ankle = _require(tracks, "left_ankle+right_ankle")
    with np.errstate(invalid="ignore", divide="ignore"):
        at_knee = hip[:, 0] + (knee[:, 1] - hip[:, 1]) / (ankle[:, 1] - hip[:, 1]) * (ankle[:, 0] - hip[:, 0])
    offset = knee[:, 0] - at_knee  # the knees bend forward of the hip-ankle line
    bent = np.abs(offset) >= np.nanpercentile(np.abs(offset), 75) if np.isfinite(offset).any() else offset > 0
    d = np.nanmedian(offset[bent]) if bent.any() else np.nan
    if not np.isfinite(d) or d == 0:
        raise ValueRangeError("tracks", expected="a side view with toes, face or bent knees to tell the facing direction", got="none")
    return float(np.sign(d))


def _lean(distal: np.ndarray, proximal: np.ndarray, forward: float) -> np.ndarray:
    v = proximal - distal
    return unwrap_angles(np.arctan2(forward * v[:, 0], -v[:, 1]))


def sagittal_angles(tracks: Tracks, *, facing: float | str = "auto") -> TimeSeriesTable:
    """Sagittal-plane angles of a side-view track (see the module's table), radians.

    Parameters
    ----------
    tracks : Tracks
        2D image tracks with hips, knees and ankles (LOWER-6, COCO-17, BODY-25, ...);
        shoulders or neck give the trunk and hip angles, toes and heels the foot pitch.
    facing : {"auto"} or float, default "auto"
        Image x direction the person faces (``+1`` right, ``-1`` left).

    Returns
    -------
    TimeSeriesTable
        Columns ``knee_flexion_r/l``, ``shank_lean_r/l``, ``thigh_lean_r/l``, ``ankle_dorsiflexion_r/l``,
        and with a trunk point ``trunk_lean``, ``hip_flexion_r/l``; unit ``"rad"``.
    """
    _check_2d(tracks)
    forward = facing_direction(tracks) if facing == "auto" else float(np.sign(float(facing)))
    if forward == 0:
        raise ValueRangeError("facing", expected='"auto", +1 (facing image right) or -1', got=facing)
    columns: dict[str, np.ndarray] = {}
    trunk_top = _point(tracks, "left_shoulder+right_shoulder", "neck")
    mid_hip = _point(tracks, "left_hip+right_hip", "mid_hip", "pelvis")
    trunk = _lean(mid_hip, trunk_top, forward) if trunk_top is not None and mid_hip is not None else None
    if trunk is not None:
        columns["trunk_lean"] = trunk
    for s, side in _SIDES.items():
        hip, knee, ankle = (_require(tracks, f"{side}_{j}") for j in ("hip", "knee", "ankle"))
        thigh, shank = _lean(knee, hip, forward), _lean(ankle, knee, forward)
        columns[f"thigh_lean_{s}"] = thigh
        columns[f"shank_lean_{s}"] = shank
        columns[f"knee_flexion_{s}"] = shank - thigh
        if trunk is not None:
            columns[f"hip_flexion_{s}"] = trunk - thigh
        heel, toe = _point(tracks, f"{side}_heel"), _point(tracks, f"{side}_big_toe")
        pitch = 0.0 if heel is None or toe is None else np.arctan2(-(toe[:, 1] - heel[:, 1]), forward * (toe[:, 0] - heel[:, 0]))
        columns[f"ankle_dorsiflexion_{s}"] = shank + pitch
    return _table(tracks, columns, "sagittal_angles", {"facing": forward})


def frontal_angles(tracks: Tracks) -> TimeSeriesTable:
    """Frontal-plane angles of a front- or back-view track (see the module's table), radians.

    ``knee_fppa_r/l`` is the frontal-plane projection angle, positive when the knee lies medial
    to the hip-ankle line (valgus), negative for varus; ``pelvic_drop_r`` is positive when the
    right hip is lower than the left. Both work whether the camera sees the front or the back.
    """
    _check_2d(tracks)
    columns: dict[str, np.ndarray] = {}
    hips = {s: _require(tracks, f"{side}_hip") for s, side in _SIDES.items()}
    for s, side in _SIDES.items():
        other = hips["l" if s == "r" else "r"]
        hip, knee, ankle = hips[s], _require(tracks, f"{side}_knee"), _require(tracks, f"{side}_ankle")
        columns[f"knee_fppa_{s}"] = frontal_projection_angle(hip, knee, ankle, normalize(other - hip))
    v = hips["r"] - hips["l"]
    columns["pelvic_drop_r"] = np.arctan2(v[:, 1], np.abs(v[:, 0]))
    return _table(tracks, columns, "frontal_angles", {})


def _table(tracks: Tracks, columns: dict[str, np.ndarray], name: str, extra: dict) -> TimeSeriesTable:
    names = list(columns)
    values = np.stack([np.broadcast_to(columns[n], (tracks.n_frames,)) for n in names], axis=1)
    meta = {"source": tracks.metadata.get("source", ""), "keypoint_set": tracks.keypoint_set.name, **extra}
    return TimeSeriesTable(tracks.time, values, names, ["rad"] * len(names), name=name, metadata=meta)
