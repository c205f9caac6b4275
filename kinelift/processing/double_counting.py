"""Points a 2D detector put on the other leg for a few frames (double counting), set missing.

Seen from the side, a heatmap detector often loses the swinging foot, blurred by its speed, and puts
both ankles (or both knees) on the standing leg for a few frames: one side's point jumps onto the
other leg and back. Such a frame joins one leg's thigh to the other's shank (on the real walking
video, the swinging knee at 0-15 deg in 2D where MediaPipe's BlazePose sees 57-71), and no label swap
can repair it: the missing foot is in no heatmap. What can be told is which point jumped: over a
short span where a pair's two points are together, the one that arrived there from its own track
with a jump, and leaves again with one, while its partner moved smoothly in and out, is the one on
the wrong leg. It is set missing (the main job's gap filling then interpolates its own track across
the span, :func:`kinelift.processing.fill_tracks`). Feet brought together move smoothly and are
kept; a fast foot passing the other is set missing for the frame they meet, and filled again.

The steps are per frame, judged at the rate the tracks have (the main job reads video at 30 frames/s
at most). Measured (docs/pipeline.md, "Double counting"): on the real walking video, 38 knee and
ankle points of kinelift's LSP-14 tracks; on Penn Action's 2,326 hand-labelled clips, 81 of 1.66
million points (fast throws, bowls and serves).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError, ValueRangeError
from kinelift.processing._segments import valid_runs

__all__ = ["DOUBLE_COUNT_JOINTS", "DOUBLE_COUNT_MAX_FRAMES", "DOUBLE_COUNT_TOGETHER", "DOUBLE_COUNT_JUMP", "DOUBLE_COUNT_MIN_RATE",
           "double_counted", "tracks_drop_double_counted"]  # fmt: skip

log = logging.getLogger(__name__)

DOUBLE_COUNT_JOINTS = ("knee", "ankle")
"""Joints whose left and right points are checked."""

DOUBLE_COUNT_MAX_FRAMES = 8
"""Longest span (frames) of a double-counted pair; longer spans of a pair together are kept (feet together)."""

DOUBLE_COUNT_TOGETHER = 0.09
"""Two points closer than this fraction of the person's leg length (hip to knee to ankle) are together."""

DOUBLE_COUNT_JUMP = 0.09
"""A step of a point into or out of a span longer than this fraction of the leg length is a jump."""

DOUBLE_COUNT_MIN_RATE = 20.0
"""Tracks slower than this (frames/s) are not checked: a swinging foot's step between frames is then
as long as the jump onto the other leg. On copies of the real walking video thinned to 10 frames/s
the rule moved the median knee peak by +5 deg with kinelift's 2D and by -7 with MediaPipe's."""


def double_counted(positions: np.ndarray, pairs: Sequence[tuple[int, int]], *, scale: float, together: float = DOUBLE_COUNT_TOGETHER,
                   jump: float = DOUBLE_COUNT_JUMP, max_frames: int = DOUBLE_COUNT_MAX_FRAMES) -> np.ndarray:  # fmt: skip
    """Points ``(T, K)`` put on their partner's place for a few frames.

    Parameters
    ----------
    positions : ndarray, shape (T, K, 2)
        Image pixels (x right, y down); NaN where a point is missing.
    pairs : sequence of (int, int)
        Indices of the ``(right, left)`` points of each pair checked.
    scale : float
        The person's leg length in pixels: ``together`` and ``jump`` are fractions of it.
    together, jump : float
        A pair is together in a frame where its points are closer than ``together``; a step
        between consecutive frames longer than ``jump`` is a jump.
    max_frames : int
        Spans of a pair together longer than this are left alone (0: nothing is checked).

    Returns
    -------
    ndarray of bool, shape (T, K)
        True for each point, over a span of at most ``max_frames`` frames where its pair is
        together, that jumped into the span and out of it (from and to the frames on either side)
        while its partner did neither. Spans at a track's ends or next to a missing frame are
        not judged.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(8.0)
    >>> stance = np.stack([np.full(8, 100.0), np.full(8, 300.0)], -1)    # a standing foot
    >>> swing = np.stack([-100.0 + 40.0 * t, np.full(8, 300.0)], -1)      # the other foot swinging past it
    >>> xy = np.stack([swing, stance], 1)
    >>> xy[1:3, 0] = xy[1:3, 1] + [1.0, 0.0]                              # frames 1-2: both on the standing foot
    >>> np.flatnonzero(double_counted(xy, [(0, 1)], scale=300.0)[:, 0]).tolist()
    [1, 2, 5]

    Frame 5 is where the swinging foot really passes the standing one, at 40 px a frame: a
    point that fast is set missing where it meets its partner, and gap filling puts it back on
    its own track.
    """
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 3 or positions.shape[-1] != 2:
        raise ShapeError("positions", expected="(frames, keypoints, 2) image pixels", got=positions.shape)
    if not scale > 0 or not together > 0 or not jump > 0 or int(max_frames) != max_frames or max_frames < 0:
        raise ValueRangeError("scale, together, jump, max_frames", expected="scale, together and jump > 0, max_frames an integer >= 0",
                              got=(scale, together, jump, max_frames))  # fmt: skip
    t, k = positions.shape[:2]
    out = np.zeros((t, k), dtype=bool)
    for pair in pairs:
        if len(pair) != 2 or not all(0 <= i < k for i in pair) or pair[0] == pair[1]:
            raise ValueRangeError("pairs", expected=f"(right, left) pairs of two different indices below {k}", got=list(pairs))
        a, b = (positions[:, i] / scale for i in pair)
        with np.errstate(invalid="ignore"):
            close = np.linalg.norm(a - b, axis=-1) < together
        for start, stop in valid_runs(close):
            if stop - start > max_frames or start == 0 or stop == t:
                continue
            steps = {}
            for i, p in zip(pair, (a, b)):
                into, out_of = np.linalg.norm(p[start] - p[start - 1]), np.linalg.norm(p[stop] - p[stop - 1])
                steps[i] = (into, out_of)
            if not all(np.isfinite(v) for s in steps.values() for v in s):
                continue
            jumped = [i for i, (into, out_of) in steps.items() if into > jump and out_of > jump]
            smooth = [i for i, (into, out_of) in steps.items() if into <= jump and out_of <= jump]
            if len(jumped) == 1 and len(smooth) == 1:
                out[start:stop, jumped[0]] = True
    return out


def tracks_drop_double_counted(tracks: Tracks, *, joints: Sequence[str] = DOUBLE_COUNT_JOINTS, max_frames: int = DOUBLE_COUNT_MAX_FRAMES,
                               min_rate: float = DOUBLE_COUNT_MIN_RATE) -> tuple[Tracks, int]:  # fmt: skip
    """:func:`double_counted` on 2D tracks with ``right_*`` / ``left_*`` points: the points found set
    missing (position NaN, confidence 0). The leg length is the median over frames and both sides of hip to
    knee to ankle. Returns the tracks and the number of points set missing (0: the same
    tracks object; also for a set without hips, knees and ankles, and for tracks slower than
    ``min_rate`` frames/s, which are not checked, with a line in the log).

    Examples
    --------
    >>> import numpy as np
    >>> from kinelift import Tracks
    >>> xy = np.zeros((12, 6, 2))                                       # LOWER-6: R ankle, knee, hip, L hip, knee, ankle
    >>> xy[:, 2], xy[:, 3] = [100, 100], [110, 100]
    >>> xy[:, 1], xy[:, 4] = [60, 200], [110, 200]
    >>> xy[:, 0], xy[:, 5] = [20, 280], [110, 300]                      # the right foot behind, the left one standing
    >>> xy[4:7, 0] = xy[4:7, 5]                                         # frames 4-6: the right ankle on the left foot
    >>> fixed, n = tracks_drop_double_counted(Tracks(xy, keypoints="LOWER-6", fps=30.0))
    >>> n, bool(np.isnan(fixed.positions[4:7, 0]).all())
    (3, True)
    """
    if tracks.coordinate_frame != "image" or tracks.positions.shape[-1] != 2:
        raise ValueRangeError("tracks", expected="2D image tracks", got=f"{tracks.positions.shape[-1]}D, {tracks.coordinate_frame}")
    if tracks.n_frames > 1 and tracks.sampling_rate < min_rate:
        log.info("double counting not checked: %.3g frames/s is below %g (a swinging foot's step between frames is as long as a jump "
                 "onto the other leg)", tracks.sampling_rate, min_rate)  # fmt: skip
        return tracks, 0
    names = tracks.keypoint_set.names
    index = {n: i for i, n in enumerate(names)}
    legs = [[index.get(f"{side}_{j}") for j in ("hip", "knee", "ankle")] for side in ("right", "left")]
    if any(i is None for leg in legs for i in leg):
        return tracks, 0
    p = tracks.positions
    length = np.array([np.linalg.norm(p[:, h] - p[:, k], axis=-1) + np.linalg.norm(p[:, k] - p[:, a], axis=-1) for h, k, a in legs]).ravel()
    if not np.isfinite(length).any():
        return tracks, 0
    scale = float(np.nanmedian(length))  # both sides' frames pooled
    pairs = [(index[f"right_{j}"], index[f"left_{j}"]) for j in joints if f"right_{j}" in index and f"left_{j}" in index]
    if not pairs or not scale > 0:
        return tracks, 0
    drop = double_counted(p, pairs, scale=scale, max_frames=max_frames)
    n = int(drop.sum())
    if not n:
        return tracks, 0
    return tracks.replace(positions=np.where(drop[..., None], np.nan, p), confidence=np.where(drop, 0.0, tracks.confidence)), n
