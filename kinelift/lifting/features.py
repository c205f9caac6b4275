"""The lifter's input: 2D keypoints centred on the pelvis and scaled by the person's size.

:func:`normalize_keypoints` turns pixel tracks ``(T, K, 2)`` with confidences ``(T, K)`` into
features ``(T, K, 3)``: ``((x - root_x) / size, (y - root_y) / size, relative confidence)``,
image axes (x right, y down). The root is the midpoint of the two hips in each frame (the visible hip
where one is missing, interpolated over frames where both are); the size is one number per clip,
the 90th percentile over frames of the largest distance between two keypoints
(:func:`kinelift.lifting.corruption.person_size`), so that squatting does not change the scale.
Missing points (NaN) become zeros with confidence zero. The confidence feature is relative: each
clip's confidences divided by their 90th percentile over its valid points and clipped to
``[0, 1]``, because detectors (and hand labels, which are all 1) calibrate their scores
differently, and a lifter that learnt one scale does worse on another (docs/lift.md).

Examples
--------
>>> import numpy as np
>>> from kinelift.core.keypoint_sets import get_keypoint_set
>>> ks = get_keypoint_set("LOWER-6")
>>> pts = np.tile(np.array([[100.0, 400], [100, 300], [100, 200], [140, 200], [140, 300], [140, 400]]), (4, 1, 1))
>>> feats, root, size = normalize_keypoints(pts, np.ones((4, 6)), ks)
>>> np.round(feats[0, 2], 3).tolist(), root[0].tolist(), round(size, 1)
([-0.098, 0.0, 1.0], [120.0, 200.0], 204.0)
"""

from __future__ import annotations

import numpy as np

from kinelift.core.keypoint_sets import KeypointSet
from kinelift.errors import KeypointConversionError, ShapeError
from kinelift.lifting.corruption import person_size

__all__ = ["normalize_keypoints", "hip_indices"]


def hip_indices(keypoints: KeypointSet) -> tuple[int, int]:
    """Indices of ``left_hip`` and ``right_hip`` in ``keypoints``; the lifter needs both."""
    names = keypoints.names
    if "left_hip" not in names or "right_hip" not in names:
        raise KeypointConversionError(f"the lifter needs left_hip and right_hip; keypoint set {keypoints.name} has {list(names)}")
    return names.index("left_hip"), names.index("right_hip")


def normalize_keypoints(points: np.ndarray, confidence: np.ndarray, keypoints: KeypointSet) -> tuple[np.ndarray, np.ndarray, float]:
    """Features ``(T, K, 3)``, the root ``(T, 2)`` (px) and the size (px) of a clip (see module docs)."""
    points = np.asarray(points, dtype=np.float64)
    confidence = np.asarray(confidence, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (len(keypoints), 2):
        raise ShapeError("points", expected=f"(frames, {len(keypoints)}, 2) pixels", got=points.shape)
    if confidence.shape != points.shape[:2]:
        raise ShapeError("confidence", expected=f"{points.shape[:2]} one per point", got=confidence.shape)
    valid = np.isfinite(points).all(-1) & (confidence > 0)
    pts = np.where(valid[..., None], points, np.nan)
    left, right = hip_indices(keypoints)
    hips = pts[:, [left, right]]
    has = np.isfinite(hips).all(-1)
    counts = has.sum(1)
    root = np.full((len(pts), 2), np.nan)
    ok = counts > 0
    root[ok] = np.where(has[ok, :, None], hips[ok], 0.0).sum(1) / counts[ok, None]
    if not ok.any():
        raise KeypointConversionError("no frame has a visible hip: the lifter centres the skeleton on the hips")
    frames = np.arange(len(pts))
    for d in range(2):
        root[~ok, d] = np.interp(frames[~ok], frames[ok], root[ok, d])
    size = person_size(pts)
    feats = np.zeros(points.shape[:2] + (3,))
    feats[..., :2] = np.where(valid[..., None], (pts - root[:, None]) / size, 0.0)
    conf = np.clip(confidence, 0.0, 1.0)
    reference = float(np.percentile(conf[valid], 90))
    feats[..., 2] = np.where(valid, np.clip(conf / reference, 0.0, 1.0), 0.0)
    return feats, root, size
