"""Whether a person's legs are in view, frame by frame, judged from the 2D detector's own confidence.

A heatmap detector puts every point of its set on every person it is shown: on a video filmed from
the waist up it still places knees and ankles, somewhere on the trunk or at the image's edge, and a
lifter turns them into a pose (on such a clip of the real lateral raise, cut below the hips, the
shipped pipeline reported 110 deg of hip and 130 deg of knee flexion for a standing person from
kinelift's detector, without a warning; MediaPipe's BlazePose guesses a standing body's legs below
the picture, right for this person by luck). What tells these points apart from seen ones is their confidence against the same
person's other points in the same frame: a leg that is out of the picture is found with a small
fraction of the confidence of the shoulders and arms that are in it, and a detector that
extrapolates (MediaPipe's BlazePose) puts it outside the image. A small or blurred athlete's
points are all found with low confidence, so the ratio, not the confidence itself, is the test.

Measured on the real videos in ``../shared/data/real-videos`` and on copies of the lateral raise
cut at the hips, mid-thigh, below the knees and mid-shin (``docs/pipeline.md``, "Legs out of
view"): at :data:`MIN_LEG_RELATIVE_CONFIDENCE` the real videos keep 99-100 % of their frames with
both detectors, and MediaPipe's legs are out of view in every frame of the four cut copies. Legs
hidden behind an object inside the picture are not always caught: BlazePose keeps their
visibility at about half the upper body's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError, ValueRangeError
from kinelift.processing._segments import valid_runs
from kinelift.processing.filters import median_filter

__all__ = ["MIN_LEG_RELATIVE_CONFIDENCE", "LEGS_WINDOW", "legs_in_view", "tracks_legs_in_view"]

MIN_LEG_RELATIVE_CONFIDENCE = 0.4
"""A knee or ankle is in view where its confidence is at least this fraction of the median
confidence of the person's points above the hips in the same frame (and it lies inside the image)."""

LEGS_WINDOW = 0.5
"""Seconds over which the per-frame verdict is smoothed by a running median (one frame's dip or
spike does not cut a track)."""

_LEG_ENDINGS = ("knee", "ankle", "heel", "toe", "foot_index")


def legs_in_view(positions: np.ndarray, confidence: np.ndarray, *, knees: Sequence[int], ankles: Sequence[int],
                 reference: Sequence[int], image_size: tuple[int, int] | None = None,
                 min_relative_confidence: float = MIN_LEG_RELATIVE_CONFIDENCE, window: int = 1) -> np.ndarray:  # fmt: skip
    """Frames ``(T,)`` where at least one knee and one ankle are in view.

    Parameters
    ----------
    positions : ndarray, shape (T, K, 2)
        Image pixels (x right, y down); NaN where a point is missing.
    confidence : ndarray, shape (T, K)
        The detector's confidence of each point (0-1; ignored where the point is missing).
    knees, ankles : sequence of int
        Indices of the knees and of the ankles among the ``K`` points.
    reference : sequence of int
        Indices of the points whose median confidence in a frame is that frame's standard (the
        points above the hips where the set has them).
    image_size : (width, height), optional
        Points outside ``[0, width) x [0, height)`` are out of view. ``None``: not checked.
    min_relative_confidence : float, default :data:`MIN_LEG_RELATIVE_CONFIDENCE`
        A point is in view where its confidence is at least this times the frame's standard;
        0: only presence (and the image's bounds) count.
    window : int, default 1
        Odd number of frames of the running median that smooths the verdict over the frames
        with a reference point (across the gaps between them), after which stretches in view
        shorter than it are out of view too, unless they are all there is (1: none).

    Returns
    -------
    ndarray of bool, shape (T,)
        False also where the frame has no reference point present.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.zeros((2, 3, 2)) + 10.0           # points: shoulder, knee, ankle
    >>> c = np.array([[0.9, 0.8, 0.7], [0.9, 0.1, 0.7]])
    >>> legs_in_view(xy, c, knees=[1], ankles=[2], reference=[0]).tolist()
    [True, False]
    """
    positions, confidence = np.asarray(positions, float), np.asarray(confidence, float)
    if positions.ndim != 3 or positions.shape[2] != 2:
        raise ShapeError("positions", expected="(frames, keypoints, 2) image pixels", got=positions.shape)
    if confidence.shape != positions.shape[:2]:
        raise ShapeError("confidence", expected=f"(frames, keypoints) = {positions.shape[:2]}", got=confidence.shape)
    if not 0.0 <= min_relative_confidence < 1.0:
        raise ValueRangeError("min_relative_confidence", expected="a fraction in [0, 1) of the frame's reference confidence",
                              got=min_relative_confidence)  # fmt: skip
    if int(window) != window or window < 1 or window % 2 == 0:
        raise ValueRangeError("window", expected="an odd number of frames >= 1", got=window)
    if not len(knees) or not len(ankles) or not len(reference):
        raise ValueRangeError("knees/ankles/reference", expected="at least one point each", got=(list(knees), list(ankles), list(reference)))
    present = np.isfinite(positions).all(-1)
    if image_size is not None:
        width, height = image_size
        with np.errstate(invalid="ignore"):
            present &= (positions[..., 0] >= 0) & (positions[..., 0] < width) & (positions[..., 1] >= 0) & (positions[..., 1] < height)
    seen = np.where(present, confidence, np.nan)
    ref = seen[:, list(reference)]
    has_reference = np.isfinite(ref).any(axis=1)
    with np.errstate(invalid="ignore"):
        standard = np.nanmedian(np.where(has_reference[:, None], ref, 0.0), axis=1)
        in_view = present & (seen >= min_relative_confidence * standard[:, None])
    verdict = in_view[:, list(knees)].any(axis=1) & in_view[:, list(ankles)].any(axis=1) & has_reference
    judged = np.flatnonzero(has_reference)  # smoothed over the frames with the person, across the gaps between them
    if window > 1 and len(judged):  # fewer judged frames than the window keep their per-frame verdict
        kept = median_filter(verdict[judged].astype(float)[:, None], window=int(window))[:, 0] > 0.5
        for start, stop in valid_runs(kept):  # what the median leaves of a spike at the ends
            if stop - start < window and stop - start < len(kept):
                kept[start:stop] = False
        verdict[judged] = kept
    return verdict


def tracks_legs_in_view(tracks: Tracks, *, min_relative_confidence: float = MIN_LEG_RELATIVE_CONFIDENCE,
                        window: float = LEGS_WINDOW) -> np.ndarray | None:  # fmt: skip
    """:func:`legs_in_view` on 2D image tracks (``window`` in seconds, at the tracks' rate; the image
    bounds from :attr:`Tracks.image_size` where recorded). The standard of each frame is the median
    confidence of the points that are neither legs nor hips (all points but the knees, ankles and
    feet where the set has nothing else, as LOWER-6's hips).

    Returns ``None`` for tracks this cannot judge: 3D tracks, or a set without knees and ankles.

    Examples
    --------
    >>> import numpy as np
    >>> from kinelift.core import Tracks
    >>> xy = np.tile(np.linspace(100.0, 400.0, 14)[None, :, None], (30, 1, 2))
    >>> c = np.full((30, 14), 0.9)
    >>> c[15:, :6] = 0.1                  # the legs (LSP-14's first six points) fade out half-way
    >>> t = Tracks(xy, keypoints="LSP-14", confidence=c, fps=30.0)
    >>> int(tracks_legs_in_view(t).sum())
    15
    """
    if tracks.n_dims != 2 or tracks.coordinate_frame != "image":
        return None
    names = tracks.keypoint_names
    knees = [i for i, n in enumerate(names) if n.endswith("knee")]
    ankles = [i for i, n in enumerate(names) if n.endswith("ankle")]
    if not knees or not ankles:
        return None
    legs = {i for i, n in enumerate(names) if n.endswith(_LEG_ENDINGS)}
    reference = [i for i, n in enumerate(names) if i not in legs and not n.endswith("hip")] or [i for i in range(len(names)) if i not in legs]
    if not reference:
        return None
    rate = tracks.sampling_rate
    frames = max(1, int(round(window * rate)) // 2 * 2 + 1) if np.isfinite(rate) and window > 0 else 1
    return legs_in_view(tracks.positions, np.where(tracks.valid, tracks.confidence, 0.0), knees=knees, ankles=ankles,
                        reference=reference, image_size=tracks.image_size, min_relative_confidence=min_relative_confidence,
                        window=frames)  # fmt: skip
