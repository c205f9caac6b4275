"""Which way a camera saw a person: side (sagittal), front or back (frontal), or oblique.

From 2D image keypoints alone: the hip width seen in the image relative to the thigh length.
Seen from the front or back the hips are about 0.78 thigh lengths apart; seen from the side they
overlap. Below 0.3 thigh lengths the view is
``"sagittal"``, above 0.55 ``"frontal"``, in between ``"oblique"``.

What a view shows matters downstream: one camera's depth is the lifter's guess, so a frontal-plane
measure (knee valgus) lifted from a side view, or a sagittal one from a front view, is a guess too.
:data:`CAMERA_VIEW_KEY` is the metadata key under which lifted tracks carry the view of the 2D
track they came from.

Examples
--------
>>> import numpy as np
>>> from kinelift import Tracks
>>> pts = np.full((2, 6, 2), np.nan)    # LOWER-6: right ankle, knee, hip; left hip, knee, ankle
>>> pts[:, 2], pts[:, 3] = [100, 200], [104, 200]     # hips 4 px apart...
>>> pts[:, 1], pts[:, 4] = [102, 300], [106, 300]     # ...thighs 100 px long
>>> camera_view(Tracks(pts, keypoints="LOWER-6", fps=30.0))
'sagittal'
"""

from __future__ import annotations

import warnings

import numpy as np

from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError, UnknownNameError

__all__ = ["CAMERA_VIEWS", "CAMERA_VIEW_KEY", "UPSIDE_DOWN_MARGIN", "camera_view", "hip_width_ratio", "upside_down_frames"]

CAMERA_VIEWS = ("sagittal", "frontal", "oblique")
CAMERA_VIEW_KEY = "camera_view"
SAGITTAL_BELOW = 0.3
FRONTAL_ABOVE = 0.55
_NEEDED = ("left_hip", "right_hip", "left_knee", "right_knee")


def hip_width_ratio(tracks: Tracks) -> float:
    """Median image hip width over median thigh length (both thighs) of a 2D track; NaN when never seen."""
    if tracks.n_dims != 2:
        raise ShapeError("tracks", expected="2D image keypoints (a camera's view)", got=f"{tracks.n_dims}D positions")
    names = tracks.keypoint_names
    if not all(n in names for n in _NEEDED):
        raise UnknownNameError("keypoint (needed to tell the view)", [n for n in _NEEDED if n not in names], known=names)
    p = {n: tracks.positions[:, tracks.keypoint_set.index(n)] for n in _NEEDED}
    width = np.linalg.norm(p["left_hip"] - p["right_hip"], axis=-1)
    thigh = np.concatenate([np.linalg.norm(p[f"{s}_hip"] - p[f"{s}_knee"], axis=-1) for s in ("left", "right")])
    if not (np.isfinite(width).any() and np.isfinite(thigh).any()):
        return float("nan")
    return float(np.nanmedian(width) / np.nanmedian(thigh))


def camera_view(tracks: Tracks) -> str:
    """``"sagittal"``, ``"frontal"`` or ``"oblique"`` (see the module docs); ``"oblique"`` when it cannot be told."""
    ratio = hip_width_ratio(tracks)
    if not np.isfinite(ratio):
        return "oblique"
    if ratio < SAGITTAL_BELOW:
        return "sagittal"
    return "frontal" if ratio > FRONTAL_ABOVE else "oblique"


_HEAD_END = ("shoulder", "neck", "head_top", "nose", "eye", "ear")
UPSIDE_DOWN_MARGIN = 0.5
"""... by more than this fraction of the diagonal of the box around the frame's points: a person
standing on their head is about 0.8 of it head-to-ankle, while in a push-up, a sit-up or lying the
two ends are at about one height (Penn Action's 2,326 hand-labelled clips: without the margin 33
push-up clips and 3 sit-up clips read as upside down in most of their frames; with it no clip in
most frames, two push-up clips in 18 % and 7 % of theirs)."""


def upside_down_frames(tracks: Tracks) -> np.ndarray | None:
    """Frames ``(T,)`` where the person stands on their head in the picture: the mean image height
    of their shoulders, neck and head points lies below that of their ankles (image y points down)
    by more than :data:`UPSIDE_DOWN_MARGIN` of the diagonal of the box around the frame's points.

    A phone held upside down records an upside-down picture, and a file without a display
    rotation (or whose rotation was lost in editing) is read that way; both 2D detectors find the
    person there, and the lifters, which never saw an inverted person, lift nonsense: on a copy of
    the real walking video turned by 180 deg, median knee peaks of 88 and 96 deg (0.3.16).
    False where a frame lacks either end. ``None`` for tracks this cannot judge (3D, or a set
    without ankles or without points above the hips).

    Examples
    --------
    >>> import numpy as np
    >>> from kinelift import Tracks
    >>> pts = np.zeros((2, 14, 2))                  # LSP-14: the ankles are points 0 and 5
    >>> pts[0, :, 1], pts[1, :, 1] = 100.0, 300.0   # every point at one height ...
    >>> pts[:, [0, 5], 1] = 200.0                   # ... and the ankles 100 px from it
    >>> upside_down_frames(Tracks(pts, keypoints="LSP-14", fps=30.0)).tolist()
    [False, True]
    """
    if tracks.n_dims != 2 or tracks.coordinate_frame != "image":
        return None
    names = tracks.keypoint_names
    ankles = [i for i, n in enumerate(names) if n.endswith("ankle")]
    head_end = [i for i, n in enumerate(names) if any(part in n for part in _HEAD_END)]
    if not ankles or not head_end:
        return None
    p = tracks.positions
    y = p[..., 1]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames without one of the ends
        diagonal = np.linalg.norm(np.nanmax(p, axis=1) - np.nanmin(p, axis=1), axis=-1)
        return np.nanmean(y[:, head_end], axis=1) - np.nanmean(y[:, ankles], axis=1) > UPSIDE_DOWN_MARGIN * diagonal
