"""Where a video frame changed: the part of the frame in which the person finder looks for newcomers.

A person who walks into a fixed camera's view changes the image where they go; a background that
stays still cannot hold a newcomer. :func:`changed_region` compares small grey thumbnails of two
frames (:func:`thumbnail`, :data:`THUMBNAIL_STEP` times smaller) and returns the box around the
pixels that changed by more than :data:`CHANGE_LEVEL` of the grey range outside the boxes of the
people already followed, in blobs of at least :data:`MIN_BLOB` thumbnail pixels (compression noise
and flicker are smaller). A moving camera changes the whole frame, so the box is the whole frame
and the search is the full one.

Examples
--------
>>> import numpy as np
>>> before = np.zeros((720, 1280, 3), np.uint8)
>>> after = before.copy()
>>> after[300:500, 1000:1080] = 200  # something appeared
>>> changed_region(thumbnail(before), thumbnail(after)).round().tolist()  # x, y, width, height (px)
[884.0, 192.0, 312.0, 416.0]
>>> changed_region(thumbnail(before), thumbnail(after), exclude=np.array([[980.0, 280.0, 120.0, 240.0]])) is None
True
"""

from __future__ import annotations

import numpy as np

from kinelift.errors import ShapeError

__all__ = ["CHANGE_LEVEL", "MIN_BLOB", "REGION_ASPECT", "REGION_GROWTH", "THUMBNAIL_STEP", "box_change", "changed_region", "thumbnail"]

THUMBNAIL_STEP = 8
"""Frames are compared as grey thumbnails this many times smaller (160 x 90 px for 720p)."""

CHANGE_LEVEL = 20
"""A thumbnail pixel changed when its grey level (0-255) moved by more than this. On the real
videos in ``../shared/data/real-videos``, 30 frames apart: 2-4 % of the fixed lateral-raise
camera's thumbnail changed (the exerciser's arms), 2-7 % of the walking video's (the walker), and
8-43 % of the sprint start's (a broadcast camera that pans)."""

MIN_BLOB = 6
"""Changed thumbnail pixels count in 8-connected blobs of at least this many (384 px of a 720p
frame, a person's head or hand): smaller specks are compression noise."""

REGION_GROWTH = 0.5
"""The changed box is grown by this fraction of its size on every side, to at least a third of
the frame's height, and to at least :data:`REGION_ASPECT` times its height wide, so that a person
of whom only a moving limb or one edge changed fits in it."""

REGION_ASPECT = 0.75
"""Least width of a searched region over its height. Narrower (the changed box grown alike on
every side), a walker entering the real walking video at the frame's edge was missed in the strip
that had changed, and HOG's false person on a wall socket beside it started a track instead."""


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """Grey ``(H // 8, W // 8)`` int16 thumbnail of an RGB uint8 ``frame`` (area averaging)."""
    import cv2

    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ShapeError("frame", expected="(height, width, 3) RGB", got=frame.shape)
    h, w = frame.shape[:2]
    grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    size = (max(1, w // THUMBNAIL_STEP), max(1, h // THUMBNAIL_STEP))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.int16)


def box_change(before: np.ndarray, after: np.ndarray, box: np.ndarray) -> float:
    """The fraction of the thumbnail pixels inside ``box`` ``(x, y, width, height)`` (frame px)
    whose grey level moved by more than :data:`CHANGE_LEVEL` from thumbnail ``before`` to
    ``after`` (:func:`thumbnail`); NaN where the box is not finite or holds no thumbnail pixel.

    A person moving in a fixed camera's view changes their box from frame to frame (on the real
    running and walking videos 25-70 % of it between consecutive frames); the background their
    keypoints are left on when they walk out of the crop does not (0-1 %). A person standing
    still does not either, so this tells motion, not people.

    Examples
    --------
    >>> import numpy as np
    >>> before = np.zeros((90, 160), np.int16)
    >>> after = before.copy()
    >>> after[10:20, 10:15] = 100  # something moved in the box's upper left quarter
    >>> box_change(before, after, np.array([80.0, 80.0, 80.0, 160.0]))
    0.25
    """
    if before.shape != after.shape or before.ndim != 2:
        raise ShapeError("before, after", expected="two thumbnails of one size", got=(before.shape, after.shape))
    box = np.asarray(box, float)
    if box.shape != (4,) or not np.isfinite(box).all():
        return float("nan")
    th, tw = before.shape
    x0, y0 = (int(np.clip(np.floor(v / THUMBNAIL_STEP), 0, n)) for v, n in zip(box[:2], (tw, th)))
    x1, y1 = (int(np.clip(np.ceil((v + s) / THUMBNAIL_STEP), 0, n)) for v, s, n in zip(box[:2], box[2:], (tw, th)))
    if x1 <= x0 or y1 <= y0:
        return float("nan")
    return float((np.abs(after[y0:y1, x0:x1].astype(np.int16) - before[y0:y1, x0:x1].astype(np.int16)) > CHANGE_LEVEL).mean())


def changed_region(before: np.ndarray, after: np.ndarray, *, exclude: np.ndarray | None = None) -> np.ndarray | None:
    """The box ``(x, y, width, height)`` in frame pixels around what changed from thumbnail
    ``before`` to ``after`` (:func:`thumbnail`), outside the ``exclude`` boxes ``(n, 4)`` (px):
    grown by :data:`REGION_GROWTH` and clipped to the frame; ``None`` where nothing changed."""
    import cv2

    if before.shape != after.shape or before.ndim != 2:
        raise ShapeError("before, after", expected="two thumbnails of one size", got=(before.shape, after.shape))
    mask = (np.abs(after.astype(np.int16) - before.astype(np.int16)) > CHANGE_LEVEL).astype(np.uint8)
    th, tw = mask.shape
    for box in np.asarray(exclude if exclude is not None else np.zeros((0, 4)), float).reshape(-1, 4):
        if not np.isfinite(box).all():
            continue
        x0, y0 = (int(np.floor(v / THUMBNAIL_STEP)) for v in box[:2])
        x1, y1 = (int(np.ceil((v + s) / THUMBNAIL_STEP)) for v, s in zip(box[:2], box[2:]))
        mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    blobs = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= MIN_BLOB]
    if not blobs:
        return None
    x0 = min(stats[i, cv2.CC_STAT_LEFT] for i in blobs)
    y0 = min(stats[i, cv2.CC_STAT_TOP] for i in blobs)
    x1 = max(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] for i in blobs)
    y1 = max(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] for i in blobs)
    lo, hi = np.array([x0, y0], float) * THUMBNAIL_STEP, np.array([x1, y1], float) * THUMBNAIL_STEP
    frame = np.array([tw, th], float) * THUMBNAIL_STEP
    grown = np.maximum((hi - lo) * (1 + 2 * REGION_GROWTH), frame[1] / 3)
    grown[0] = max(grown[0], grown[1] * REGION_ASPECT)  # a person standing in it fits, even when only their edge moved
    centre = (lo + hi) / 2
    lo = np.clip(centre - grown / 2, 0, np.maximum(frame - grown, 0))  # at the frame's edge the box moves inwards, keeping its size
    hi = np.minimum(lo + grown, frame)
    return np.concatenate([lo, hi - lo])
