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

:func:`nearer_leg_knee_flexion` needs no facing direction: 180 deg minus the hip-knee-ankle angle
of the leg seen in more frames (in a side view, the one nearer the camera), unsigned.

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

from kinelift.analysis.geometry import frontal_projection_angle, included_angle, normalize, unwrap_angles
from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError, UnknownNameError, ValueRangeError

__all__ = ["facing_direction", "frontal_angles", "nearer_leg_knee_flexion", "sagittal_angles"]

_SIDES = {"r": "right", "l": "left"}


def _check_2d(tracks: Tracks) -> None:
    if tracks.n_dims != 2:
        raise ShapeError("tracks.positions", expected="2D image tracks (frames, keypoints, 2)", got=tracks.positions.shape)


def _point(tracks: Tracks, *names: str) -> np.ndarray | None:
    """Position of the first name the set has, else None. A ``+``-joined pair gives the mean of the
    points present in each frame: in a side view the two hips (or shoulders) nearly coincide, and
    the far one is often hidden (unlabelled, or not detected)."""
    have = set(tracks.keypoint_names)
    for name in names:
        parts = name.split("+")
        if all(p in have for p in parts):
            stacked = np.stack([tracks.positions[:, tracks.keypoint_set.index(p)] for p in parts])
            seen = np.isfinite(stacked).all(axis=-1, keepdims=True)
            with np.errstate(invalid="ignore"):
                return np.where(seen, stacked, 0.0).sum(axis=0) / seen.sum(axis=0)
    return None


def _require(tracks: Tracks, *names: str) -> np.ndarray:
    p = _point(tracks, *names)
    if p is None:
        raise UnknownNameError(f"keypoint of {tracks.keypoint_set.name} (needed: one of)", list(names), known=tracks.keypoint_names)
    return p


def facing_direction(tracks: Tracks) -> float:
    """Image x direction the person faces in a side view: ``+1.0`` (right) or ``-1.0`` (left).

    Judged, in this order, from the toes ahead of the heels, the nose ahead of the ears, or the
    knees ahead of the hip-ankle line while the knees are bent (median over frames; each leg with
    its own points, so that a side view whose far leg is hidden is judged from the near one).
    """
    _check_2d(tracks)
    for pairs in ((("left_big_toe", "left_heel"), ("right_big_toe", "right_heel")), (("nose", "left_ear"), ("nose", "right_ear"))):
        d = [a[:, 0] - b[:, 0] for a, b in ((_point(tracks, f), _point(tracks, k)) for f, k in pairs) if a is not None and b is not None]
        if d and np.isfinite(np.concatenate(d)).any():
            median = np.nanmedian(np.concatenate(d))
            if median != 0:
                return float(np.sign(median))
    offsets = []
    for side in _SIDES.values():
        hip, knee, ankle = (_require(tracks, f"{side}_{j}") for j in ("hip", "knee", "ankle"))
        with np.errstate(invalid="ignore", divide="ignore"):
            at_knee = hip[:, 0] + (knee[:, 1] - hip[:, 1]) / (ankle[:, 1] - hip[:, 1]) * (ankle[:, 0] - hip[:, 0])
        offsets.append(knee[:, 0] - at_knee)  # the knees bend forward of the hip-ankle line
    offset = np.concatenate(offsets)
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


def nearer_leg_knee_flexion(tracks: Tracks) -> tuple[str, np.ndarray]:
    """The 2D knee flexion of the leg seen in more frames: in a side view, the one nearer the camera.

    The leg whose hip, knee and ankle are all present (finite) in more frames; a tie goes to the
    higher mean confidence of those points, then to the left leg. Its flexion is 180 deg minus the
    included hip-knee-ankle angle in the image: 0 straight, positive bent, **unsigned** (a
    hyperextended knee reads as slightly flexed), and needs no facing direction, unlike
    :func:`sagittal_angles` (a standing person in a side view shows neither toes ahead of the heels
    nor bent knees). In a side view it is close to the 3D knee flexion; other views foreshorten it.

    Parameters
    ----------
    tracks : Tracks
        2D image tracks with both hips, knees and ankles.

    Returns
    -------
    side : {"r", "l"}
        The person's own side of the leg chosen.
    flexion : ndarray, shape (frames,)
        Radians, NaN where one of the leg's points is missing.

    Examples
    --------
    >>> from kinelift.synthetic import squat_tracks
    >>> clip = squat_tracks(n_reps=1, fps=30.0, camera_azimuth=np.pi / 2, noise=0.0, dropout=0.0)
    >>> side, flexion = nearer_leg_knee_flexion(clip.clean)
    >>> bool(np.nanmax(np.abs(flexion - clip.knee_flexion)) < 1e-6)
    True
    """
    _check_2d(tracks)
    best = None
    for s in ("l", "r"):
        columns = tracks.keypoint_set.indices(f"{_SIDES[s]}_{j}" for j in ("hip", "knee", "ankle"))
        flexion = np.pi - included_angle(*(tracks.positions[:, c] for c in columns))
        seen = np.isfinite(flexion)
        confidence = float(np.mean(tracks.confidence[seen][:, columns])) if seen.any() else 0.0
        key = (int(seen.sum()), confidence)
        if best is None or key > best[0]:
            best = (key, s, flexion)
    return best[1], best[2]


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
