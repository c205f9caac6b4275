"""Person boxes: OpenCV's HOG people detector, boxes from keypoints, box overlap and matching.

Boxes are ``(x, y, width, height)`` in image pixels. The HOG detector (Dalal & Triggs, the
pre-trained SVM that ships inside opencv-python-headless: nothing to download) finds upright
people at least 64x128 px; smaller images are upscaled before the search.

Examples
--------
>>> import numpy as np
>>> iou(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 10, 10], [20, 20, 5, 5]])).round(3)
array([[0.333, 0.   ]])
>>> box_from_keypoints(np.array([[0.0, 0.0], [10.0, 20.0], [np.nan, np.nan]]))
array([ 0.,  0., 10., 20.])
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from kinelift.core import Tracks
from kinelift.errors import FileFormatError, ShapeError, ValueRangeError
from kinelift.io._common import existing_path, read_json

log = logging.getLogger(__name__)

__all__ = ["HOG_MIN_HEIGHT", "HOG_MAX_PIXELS", "hog_scale", "hog_people", "box_from_keypoints", "inside_fraction", "iou", "match_boxes", "peak_confidence", "people_tracks",
           "read_detection_boxes", "PEAK_QUANTILE", "JOIN_GAP_S", "JOIN_DISTANCE", "confident_stretch", "join_fragments"]  # fmt: skip

HOG_MIN_HEIGHT = 256
""":func:`hog_people` upscales images lower than this many pixels (people of at least 128 px are found in them)."""

HOG_MAX_PIXELS = 1920 * 1080
""":func:`hog_people` searches images larger than this many pixels scaled down to it (area
averaging): a 4K frame's search took 3.7 s on this project's 2-core CPU against 0.73 s at 1080p.
Searched at that size, a frame's people are found from 12 % of its height up (HOG's window is
128 px of 1080); a full-size 4K search would reach down to 6 %."""


def hog_scale(width: int, height: int, *, min_height: int = HOG_MIN_HEIGHT, max_pixels: int = HOG_MAX_PIXELS) -> float:
    """The factor :func:`hog_people` resizes a ``width`` x ``height`` image by: up so that it is
    ``min_height`` px tall where it is lower, down so that it holds ``max_pixels`` where it holds
    more, else 1.

    Examples
    --------
    >>> hog_scale(1280, 720), hog_scale(3840, 2160), hog_scale(1080, 1920), hog_scale(320, 128)
    (1.0, 0.5, 1.0, 2.0)
    """
    if height < min_height:
        return min_height / height
    return min(1.0, math.sqrt(max_pixels / (width * height)))

PEAK_QUANTILE = 0.9
""":func:`peak_confidence` is this quantile of a track's per-frame mean keypoint confidence."""


def peak_confidence(scores: np.ndarray) -> float:
    """How clearly a track was seen as a person at its best: the :data:`PEAK_QUANTILE` quantile,
    over its frames, of the mean keypoint confidence of each frame (``scores`` ``(frames, K)``).

    A heatmap detector puts a person-shaped set of points on anything it is shown, so the points'
    geometry does not tell a person from a kettlebell rack; their confidence does, and a person
    is seen clearly at least now and then. On the real videos in ``../shared/data/real-videos``
    the people's tracks peak at 0.51-0.96 (a small, blurred runner 0.57; but a sprinter crouched
    in the blocks 0.33) and the tracks on kettlebells, a foam roller, a fence, a wall and a
    running track's surface at 0.18-0.42, although the latter's mean confidence (0.30-0.35) is
    about that of small athletes (0.31-0.46).
    """
    scores = np.asarray(scores, float).reshape(len(scores), -1)
    return float(np.quantile(scores.mean(axis=1), PEAK_QUANTILE)) if len(scores) else 0.0


def hog_people(image: np.ndarray, *, min_height: int = HOG_MIN_HEIGHT, score_threshold: float = 0.3, nms_iou: float = 0.5,
               stride: int = 4, scale: float = 1.05, factor: float | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """People in an RGB uint8 image: boxes ``(n, 4)`` (image px) and SVM scores ``(n,)``, best first.

    The image is searched resized by ``factor`` (default :func:`hog_scale`: upscaled so that its
    height is at least ``min_height`` px, downscaled to :data:`HOG_MAX_PIXELS` where larger; a
    part of a frame is given its frame's factor); the detection window moves by ``stride`` px;
    overlapping boxes (IoU above ``nms_iou``) are suppressed. A stride of 8 searches 3.6 times
    faster on 720p frames, but its coarser boxes start worse crops: on the real soccer clip the
    followed player's keypoints fell from a mean confidence of 0.47 to 0.32. Window sizes grow
    by ``scale`` from one level of the search to the next: 1.1 searches 1.9
    times faster than 1.05 on 720p frames, but on the real soccer clip no track on the player
    survived and the sprint start's longest track fell from 236 to 111 frames. An image (or part of
    a frame) smaller than the 64x128-px window after the resize holds nobody HOG can find: no boxes
    (OpenCV's search crashed the process on a 288x96 region of a dark real clip, 0.3.16).
    """
    import cv2

    if image.ndim != 3 or image.shape[2] != 3:
        raise ShapeError("image", expected="(height, width, 3) RGB", got=image.shape)
    if factor is None:
        factor = hog_scale(image.shape[1], image.shape[0], min_height=min_height)
    if not factor > 0:
        raise ValueRangeError("factor", expected="a positive scale factor", got=factor)
    if factor == 1.0:
        work = image
    else:
        work = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR if factor > 1 else cv2.INTER_AREA)
    hog = cv2.HOGDescriptor()
    if work.shape[0] < hog.winSize[1] or work.shape[1] < hog.winSize[0]:
        # nobody fits (the window is 64x128 px); OpenCV's search crashes the process (a segmentation fault) on such an image
        return np.zeros((0, 4)), np.zeros(0)
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    rects, weights = hog.detectMultiScale(cv2.cvtColor(work, cv2.COLOR_RGB2GRAY), winStride=(stride, stride), padding=(8, 8), scale=scale)
    if len(rects) == 0:
        return np.zeros((0, 4)), np.zeros(0)
    boxes, scores = np.asarray(rects, float) / factor, np.asarray(weights, float).reshape(-1)
    keep = scores >= score_threshold
    boxes, scores = boxes[keep], scores[keep]
    order = np.argsort(-scores)
    chosen: list[int] = []
    for i in order:
        if not chosen or iou(boxes[i:i + 1], boxes[chosen]).max() <= nms_iou:
            chosen.append(int(i))
    return boxes[chosen], scores[chosen]


def box_from_keypoints(points: np.ndarray, confidence: np.ndarray | None = None, *, min_confidence: float = 0.0,
                       growth: float = 1.0) -> np.ndarray:  # fmt: skip
    """Tight box ``(..., 4)`` of the finite points ``(..., K, 2)`` (with confidence above
    ``min_confidence``), grown by ``growth`` about its centre; NaN where fewer than two points are left.

    Batched over any leading axes (frames, people): ``(K, 2)`` gives one box ``(4,)``.
    """
    points = np.asarray(points, float)
    ok = np.isfinite(points).all(-1)
    if confidence is not None:
        ok &= np.asarray(confidence) > min_confidence
    masked = np.where(ok[..., None], points, np.nan)
    enough = ok.sum(-1) >= 2
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN sets, NaN below
        lo, hi = np.nanmin(masked, axis=-2), np.nanmax(masked, axis=-2)
    centre, size = (lo + hi) / 2, (hi - lo) * growth
    box = np.concatenate([centre - size / 2, size], axis=-1) if growth != 1.0 else np.concatenate([lo, hi - lo], axis=-1)
    return np.where(enough[..., None], box, np.nan)


def _intersection(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both sets of boxes as ``(n, 4)`` floats and the areas of their pairwise intersections ``(len(a), len(b))``."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, :2] + a[:, None, 2:], b[None, :, :2] + b[None, :, 2:])
    return a, b, np.clip(hi - lo, 0, None).prod(-1)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union ``(len(a), len(b))`` of two sets of boxes."""
    a, b, inter = _intersection(a, b)
    union = a[:, None, 2:].prod(-1) + b[None, :, 2:].prod(-1) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def inside_fraction(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The fraction of each box of ``a`` that lies inside each box of ``b``: ``(len(a), len(b))``.

    A box found on a limb of a tracked person lies mostly inside that person's box although
    their IoU is small (a small box inside a large one).

    Examples
    --------
    >>> inside_fraction(np.array([[2, 2, 4, 4]]), np.array([[0, 0, 10, 10], [4, 2, 10, 10]])).round(2)
    array([[1. , 0.5]])
    """
    a, _, inter = _intersection(a, b)
    area = a[:, None, 2:].prod(-1)
    return np.where(area > 0, inter / np.where(area > 0, area, 1), 0.0)


def match_boxes(previous: np.ndarray, current: np.ndarray, *, min_iou: float = 0.3) -> list[tuple[int, int]]:
    """Pairs ``(i_previous, j_current)`` maximising total IoU (Hungarian), each with IoU >= ``min_iou``."""
    if len(previous) == 0 or len(current) == 0:
        return []
    overlap = iou(previous, current)
    rows, cols = linear_sum_assignment(-overlap)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if overlap[i, j] >= min_iou]


def read_detection_boxes(path: str | os.PathLike[str], *, min_score: float = 0.5) -> dict[int, np.ndarray]:
    """Person boxes per image id from a COCO detection results JSON (``category_id`` 1, ``score >= min_score``).

    For a video the image id is the frame index (0-based).
    """
    path = existing_path(path)
    doc = read_json(path)
    if not isinstance(doc, list):
        raise FileFormatError(path, "not a list of detections", expected='[{"image_id", "category_id", "bbox", "score"}, ...]')
    boxes: dict[int, list] = {}
    for i, det in enumerate(doc):
        try:
            if det.get("category_id", 1) == 1 and float(det.get("score", 1.0)) >= min_score:
                box = [float(v) for v in det["bbox"]]
                if len(box) != 4:
                    raise ValueError
                boxes.setdefault(int(det["image_id"]), []).append(box)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise FileFormatError(path, f"detection {i} is malformed", expected='{"image_id": int, "bbox": [x, y, w, h], "score": float}') from None
    return {k: np.asarray(v) for k, v in boxes.items()}


JOIN_GAP_S = 0.5
"""Two tracks are fragments of one person (:func:`join_fragments`) when one starts at most this many
seconds after the other ends: the follower lost the person for a moment (a fast step out of its
crop) and the person finder found them again."""

JOIN_DISTANCE = 0.6
"""... and the later fragment's first keypoint box is centred within this many box heights (the
larger of the two boxes) of the earlier one's last, the two heights within a factor of 2: a
person walking at 1.5 m/s moves about 0.4 body heights in half a second."""

_Fragment = tuple[np.ndarray, np.ndarray, np.ndarray]
"""One person's frame indices ``(f,)``, points ``(f, K, 2)`` and confidences ``(f, K)``."""


def confident_stretch(scores: np.ndarray, min_confidence: float) -> slice:
    """The longest run of consecutive entries of ``scores`` ``(frames, K)`` whose mean keypoint
    confidence is at least ``min_confidence`` (an empty slice when there is none).

    Examples
    --------
    >>> confident_stretch(np.array([[0.1], [0.5], [0.6], [0.2], [0.7]]), 0.3)
    slice(1, 3, None)
    """
    good = np.asarray(scores, float).reshape(len(scores), -1).mean(axis=1) >= min_confidence
    edges = np.flatnonzero(np.diff(np.r_[0, good.astype(int), 0]))
    if len(edges) == 0:
        return slice(0, 0)
    starts, stops = edges[::2], edges[1::2]
    i = int(np.argmax(stops - starts))
    return slice(int(starts[i]), int(stops[i]))


def join_fragments(people: Sequence[_Fragment], time: np.ndarray, *, max_gap_s: float = JOIN_GAP_S,
                   max_distance: float = JOIN_DISTANCE) -> list[_Fragment]:  # fmt: skip
    """Tracks that are fragments of one person, joined: a track that starts at most ``max_gap_s``
    after another ends (never overlapping it), with its first keypoint box near that one's last
    (:data:`JOIN_DISTANCE`), continues it; of several such, the nearest. The frames between stay
    empty. Order: by first frame.

    Examples
    --------
    >>> pts = np.array([[[100.0, 100.0], [100.0, 300.0]]])
    >>> a = (np.arange(10), np.repeat(pts, 10, 0), np.ones((10, 2)))
    >>> b = (np.arange(13, 20), np.repeat(pts + [40.0, 0.0], 7, 0), np.ones((7, 2)))
    >>> far = (np.arange(13, 20), np.repeat(pts + [900.0, 0.0], 7, 0), np.ones((7, 2)))
    >>> [f[0].tolist() for f in join_fragments([a, b, far], np.arange(20) / 30.0)]
    [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 18, 19], [13, 14, 15, 16, 17, 18, 19]]
    """
    tracks = sorted((p for p in people if len(p[0])), key=lambda p: int(p[0][0]))
    joined: list[_Fragment] = []
    for frames, points, scores in tracks:
        first = box_from_keypoints(points[0], scores[0])  # the points with a confidence above 0
        best, nearest = None, np.inf
        for i, (f0, p0, s0) in enumerate(joined):
            gap = time[frames[0]] - time[f0[-1]]
            if not 0 < gap <= max_gap_s:
                continue
            last = box_from_keypoints(p0[-1], s0[-1])
            if not (np.isfinite(first).all() and np.isfinite(last).all()):
                continue
            height = max(first[3], last[3])
            distance = float(np.linalg.norm((first[:2] + first[2:] / 2) - (last[:2] + last[2:] / 2)))
            if height > 0 and 0.5 <= first[3] / max(last[3], 1e-9) <= 2.0 and distance <= max_distance * height and distance < nearest:
                best, nearest = i, distance
        if best is None:
            joined.append((frames, points, scores))
            continue
        f0, p0, s0 = joined[best]
        log.info("the track from frame %d continues the one that ended at frame %d (%d frames between, %.0f px apart): joined",
                 frames[0], f0[-1], frames[0] - f0[-1] - 1, nearest)  # fmt: skip
        joined[best] = (np.concatenate([f0, frames]), np.concatenate([p0, points]), np.concatenate([s0, scores]))
    return joined


def people_tracks(people: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], time: np.ndarray, keypoints: str, *, min_frames: int = 1,
                  min_track_confidence: float = 0.0, min_peak_confidence: float = 0.0,
                  metadata: Mapping[str, Any] | None = None) -> list[Tracks]:  # fmt: skip
    """One :class:`~kinelift.core.tracks.Tracks` per person over the whole timeline ``time`` (NaN where the
    person was not seen), in image pixels, from each person's frame indices ``(f,)``, points
    ``(f, K, 2)`` and confidences ``(f, K)``. People seen in fewer than ``min_frames`` frames, with
    a mean keypoint confidence below ``min_track_confidence``, or never seen clearly
    (:func:`peak_confidence` below ``min_peak_confidence``) are dropped and counted in the log
    (short-lived tracks and tracks on background texture). A track of low mean confidence keeps its
    :func:`confident_stretch` instead when that is ``min_frames`` long (a person who walked into
    the image is seen faintly until whole: on the real walking video frames 53-63 of a track that
    began beside her at the image's edge at frame 28 and drifted onto her); the stretch is then judged
    like a track. The tracks kept that are fragments of one person are joined
    (:func:`join_fragments`); the others are numbered in order of their first frame."""
    found = []
    for p in (p for p in people if len(p[0])):
        if len(p[0]) >= min_frames and float(np.mean(p[2])) < min_track_confidence:
            stretch = confident_stretch(p[2], min_track_confidence)
            if stretch.stop - stretch.start >= min_frames:
                log.info("a track of frames %d-%d (mean keypoint confidence %.2f) keeps its confident frames %d-%d", p[0][0], p[0][-1],
                         float(np.mean(p[2])), p[0][stretch.start], p[0][stretch.stop - 1])  # fmt: skip
                p = (p[0][stretch], p[1][stretch], p[2][stretch])
        found.append(p)
    short = [p for p in found if len(p[0]) < min_frames]
    faint = [p for p in found if len(p[0]) >= min_frames and float(np.mean(p[2])) < min_track_confidence]
    unclear = [p for p in found if len(p[0]) >= min_frames and float(np.mean(p[2])) >= min_track_confidence
               and peak_confidence(p[2]) < min_peak_confidence]  # fmt: skip
    dropped = {id(p) for p in short + faint + unclear}
    kept = join_fragments([p for p in found if id(p) not in dropped], time)
    if dropped:
        log.info("%d of %d tracks dropped: %d seen in fewer than %d frames, %d of mean keypoint confidence below %.2f, %d never seen "
                 "clearly (peak confidence below %.2f: background texture)", len(dropped), len(found), len(short), min_frames,
                 len(faint), min_track_confidence, len(unclear), min_peak_confidence)  # fmt: skip
    out = []
    for pid, (frames, points, scores) in enumerate(kept):
        positions = np.full((len(time), points.shape[1], 2), np.nan)
        confidence = np.zeros((len(time), points.shape[1]))
        positions[frames], confidence[frames] = points, scores
        out.append(Tracks(positions, keypoints=keypoints, confidence=confidence, time=time, person_id=pid, metadata=metadata))
    return out
