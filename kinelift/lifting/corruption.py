"""Detector-like corruption of clean 2D keypoints: noise, jitter, left-right swaps, dropped points.

:class:`DetectorNoise` holds the ranges; :meth:`DetectorNoise.apply` draws one realisation for a
clip of pixel tracks ``(T, K, 2)`` and returns the corrupted points (NaN where dropped) and
detector-like confidences in ``[0, 1]``:

- white Gaussian noise of standard deviation ``noise`` x the person's size (per clip, drawn in
  the range), plus slow jitter (low-frequency drift) of ``jitter`` x that standard deviation;
- outliers: a point jumps by ``outlier_size`` x the size with probability ``outlier_rate``;
- left-right swaps: with probability ``swap_rate`` per clip, spans of 1-6 frames where every
  left/right pair of the keypoint set is exchanged (the classic detector failure);
- double counting (``double_count_rate``, off by default): the probability that a clip has spans
  of 1-6 frames where one side's ankle (with its foot points), and in half of them its knee too,
  sits on the other leg's, as heatmap detectors put both sides on one leg in side views
  (:func:`double_count_groups`); a span starts at a frame with a third of a rate drawn per
  clip in 0.05-0.3, and a double-counted point keeps most of the confidence of the point it copies;
- dropped points: independently with probability ``drop_rate`` (drawn up to it per clip) and
  occlusion gaps of 5-20 frames on one keypoint with probability ``gap_rate`` per clip;
- confidences fall with the error of the point (``1 - error / (4 sigma)``, plus noise), and
  swapped and outlying points get low ones, as a detector's would.

Two options widen that towards inputs other than one detector's (both off by default, on in the
shipped lifters' training data, :class:`~kinelift.lifting.config.DataConfig`):

- ``clean_rate``: the probability that a clip is a hand annotation or a projected motion
  capture instead: white noise of at most ``clean_noise`` x the size (drawn per clip), no jitter,
  outliers or swaps, and confidence 1 for every point (annotations carry no score);
- ``flat_confidence_rate``: the probability that the confidences of a detector-like clip say
  nothing about its errors (uniform in ``[0.8, 1]`` per point, swapped and outlying points
  included), as an overconfident detector's.

The person's size is the 90th percentile over frames of the largest distance between two of
its keypoints.

Examples
--------
>>> import numpy as np
>>> from kinelift.core.keypoint_sets import get_keypoint_set
>>> clean = np.random.default_rng(0).uniform(0, 500, (50, 17, 2))
>>> noisy, conf = DetectorNoise().apply(clean, get_keypoint_set("COCO-17"), np.random.default_rng(1))
>>> noisy.shape, bool(np.all((conf >= 0) & (conf <= 1)))
((50, 17, 2), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinelift.core.keypoint_sets import KeypointSet
from kinelift.errors import KeypointConversionError, ShapeError, ValueRangeError
from kinelift.skeleton.builtin import FOOT_POINTS

__all__ = ["DetectorNoise", "double_count_groups", "person_size", "left_right_pairs", "spread_hips"]


_SIZE_CHUNK = 1024
"""Frames per block in :func:`person_size`: its pairwise distances take ``K^2`` values a frame (33
keypoints over a 10-minute video at 30 frames/s would be 0.3 GB at once)."""


def person_size(points: np.ndarray) -> float:
    """90th percentile over frames of the largest pairwise distance between valid keypoints ``(T, K, 2)``."""
    per_frame = np.concatenate([_largest_distance(points[a:a + _SIZE_CHUNK]) for a in range(0, len(points), _SIZE_CHUNK)] or [np.zeros(0)])
    per_frame = per_frame[np.isfinite(per_frame) & (per_frame > 0)]
    if per_frame.size == 0:
        raise ValueRangeError("keypoints", expected="at least one frame with two valid, distinct keypoints", got="none")
    return float(np.percentile(per_frame, 90))


def _largest_distance(points: np.ndarray) -> np.ndarray:
    """Per frame of ``(T, K, 2)``, the largest distance between two valid keypoints (-1 without two)."""
    diff = points[:, :, None, :] - points[:, None, :, :]
    d = np.sqrt((diff**2).sum(-1))
    return np.where(np.isnan(d), -1.0, d).max(axis=(1, 2))


def spread_hips(points: np.ndarray, keypoints: KeypointSet, factor: float) -> np.ndarray:
    """``points`` ``(..., K, D)`` with the two hip keypoints moved away from their midpoint by
    ``factor`` (1: unchanged), a copy.

    The skeletal model's hip keypoints are its hip joint centres; 2D detectors put the hips wider
    (in a frontal view of a standing person the built-in model's hip centres are 0.41 thigh
    lengths apart, kinelift's LSP-14 detector's hips 0.58 on a real frontal video, Winter's
    pelvis width 0.78). Rendering with a spread drawn per clip (``DataConfig.hip_spread``) makes a
    lifter indifferent to where a detector puts them.

    Examples
    --------
    >>> from kinelift.core.keypoint_sets import get_keypoint_set
    >>> pts = np.zeros((1, 6, 2)); pts[0, 2], pts[0, 3] = [10.0, 0.0], [-10.0, 0.0]   # LOWER-6 right and left hip
    >>> spread_hips(pts, get_keypoint_set("LOWER-6"), 1.5)[0, 2:4].tolist()
    [[15.0, 0.0], [-15.0, 0.0]]
    """
    if not 0.5 <= factor <= 3.0:
        raise ValueRangeError("hip spread", expected="a factor between 0.5 and 3", got=factor)
    names = list(keypoints.names)
    if "left_hip" not in names or "right_hip" not in names:
        raise KeypointConversionError(f"keypoint set {keypoints.name} has no left_hip and right_hip to spread")
    out = np.array(points, dtype=np.float64, copy=True)
    hips = [names.index("left_hip"), names.index("right_hip")]
    middle = out[..., hips, :].mean(axis=-2, keepdims=True)
    out[..., hips, :] = middle + factor * (out[..., hips, :] - middle)
    return out


def left_right_pairs(keypoints: KeypointSet) -> np.ndarray:
    """``(P, 2)`` indices of the set's left/right keypoint pairs (``left_*``/``right_*``)."""
    names = keypoints.names
    pairs = [(i, names.index("right_" + n[5:])) for i, n in enumerate(names) if n.startswith("left_") and "right_" + n[5:] in names]
    return np.array(pairs, dtype=int).reshape(-1, 2)


def double_count_groups(keypoints: KeypointSet) -> tuple[np.ndarray, np.ndarray]:
    """The left/right pairs (:func:`left_right_pairs` rows) that double counting moves: ``(ankle,
    knee)``, the ankle's with its foot points (:data:`kinelift.skeleton.builtin.FOOT_POINTS`); an empty ``(0, 2)`` array
    where the set lacks the point.

    Measured on kinelift's LSP-14 detector on the real videos of ``../shared/data/real-videos``,
    against MediaPipe's BlazePose, on the frames where BlazePose's two ankles are more than 0.3
    torso apart: both of kinelift's ankles lay within 0.1 torso of each other in 14 % of the
    walking video's frames and in 36-60 % of the runner's, the soccer player's and the sprinter's
    (knees 11-32 %), in spans of 1-8 frames (median 1-4), scored about as confidently as ankles apart
    (docs/lift.md, "Double counting").

    Examples
    --------
    >>> from kinelift.core.keypoint_sets import get_keypoint_set
    >>> ankle, knee = double_count_groups(get_keypoint_set("BODY-25"))
    >>> len(ankle), len(knee)
    (4, 1)
    """
    names = keypoints.names
    pairs = left_right_pairs(keypoints)
    part = [names[a][5:] for a in pairs[:, 0]]
    ankle = [i for i, n in enumerate(part) if n == "ankle" or n in FOOT_POINTS] if "ankle" in part else []
    knee = [i for i, n in enumerate(part) if n == "knee"]
    return pairs[ankle].reshape(-1, 2), pairs[knee].reshape(-1, 2)


@dataclass(frozen=True)
class DetectorNoise:
    """Ranges of the corruption (see the module docs); fractions of the person's size unless stated."""

    noise: tuple[float, float] = (0.004, 0.025)
    jitter: float = 0.5
    outlier_rate: float = 0.003
    outlier_size: float = 0.15
    swap_rate: float = 0.3
    drop_rate: float = 0.04
    gap_rate: float = 0.3
    clean_rate: float = 0.0
    clean_noise: float = 0.01
    flat_confidence_rate: float = 0.0
    double_count_rate: float = 0.0

    def __post_init__(self) -> None:
        lo, hi = self.noise
        if not 0 <= lo <= hi:
            raise ValueRangeError("noise", expected="0 <= low <= high", got=self.noise)
        if not 0 <= self.clean_noise:
            raise ValueRangeError("clean_noise", expected="a fraction of the person's size >= 0", got=self.clean_noise)
        for name in ("outlier_rate", "swap_rate", "drop_rate", "gap_rate", "clean_rate", "flat_confidence_rate", "double_count_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueRangeError(name, expected="a probability in [0, 1]", got=getattr(self, name))

    def apply(self, points: np.ndarray, keypoints: KeypointSet, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Corrupt clean pixel tracks ``(T, K, 2)``: returns ``(points, confidence)``."""
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 3 or points.shape[1:] != (len(keypoints), 2):
            raise ShapeError("points", expected=f"(frames, {len(keypoints)}, 2) pixels", got=points.shape)
        n, k, _ = points.shape
        size = person_size(points)
        clean = self.clean_rate > 0 and rng.random() < self.clean_rate  # no draw when off: the default stream is unchanged
        sigma = rng.uniform(0.0, self.clean_noise) * size if clean else rng.uniform(*self.noise) * size
        t = np.arange(n)[:, None, None]
        drift = sum(np.sin(2 * np.pi * t / rng.uniform(10, 60, (1, k, 2)) + rng.uniform(0, 2 * np.pi, (1, k, 2))) for _ in range(2))
        error = rng.normal(0.0, sigma, points.shape) + (0.0 if clean else self.jitter) * sigma * drift / np.sqrt(2)
        out = points + error
        bad = np.zeros((n, k), dtype=bool)
        outliers = rng.random((n, k)) < (0.0 if clean else self.outlier_rate)
        out[outliers] += rng.normal(0.0, self.outlier_size * size, (int(outliers.sum()), 2))
        bad |= outliers
        pairs = left_right_pairs(keypoints)
        if len(pairs) and not clean and rng.random() < self.swap_rate:
            for _ in range(int(rng.integers(1, 4))):
                start = int(rng.integers(0, n))
                span = slice(start, min(n, start + int(rng.integers(1, 7))))
                a, b = out[span][:, pairs[:, 0]].copy(), out[span][:, pairs[:, 1]].copy()
                out[span, pairs[:, 0]], out[span, pairs[:, 1]] = b, a
                bad[span, pairs.ravel()] = True
        copied = self._double_count(out, keypoints, rng, size) if self.double_count_rate > 0 and not clean else None
        err = np.linalg.norm(out - points, axis=-1)
        conf = np.clip(1.0 - err / (4 * sigma + 1e-9) + rng.normal(0.0, 0.05, (n, k)), 0.05, 1.0)
        conf[bad] = np.minimum(conf[bad], rng.uniform(0.1, 0.6, int(bad.sum())))
        if copied is not None:  # a double-counted point is about as confident as the point it sits on
            frames, to, source = copied
            conf[frames, to] = conf[frames, source] * rng.uniform(0.75, 1.0, len(frames))
        if clean:
            conf = np.ones((n, k))
        elif self.flat_confidence_rate > 0 and rng.random() < self.flat_confidence_rate:
            conf = rng.uniform(0.8, 1.0, (n, k))
        drop = rng.random((n, k)) < rng.uniform(0.0, self.drop_rate)
        if rng.random() < self.gap_rate:
            j, start = int(rng.integers(0, k)), int(rng.integers(0, n))
            drop[start : start + int(rng.integers(5, 21)), j] = True
        out[drop] = np.nan
        conf[drop] = 0.0
        return out, conf

    def _double_count(self, out: np.ndarray, keypoints: KeypointSet, rng: np.random.Generator,
                      size: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:  # fmt: skip
        """With probability ``double_count_rate``, spans where one side's ankle (and foot points;
        in half of the spans the knee too) is put on the other side's, in place in ``out``; the
        (frame, moved point, source point) index arrays, or ``None``."""
        if rng.random() >= self.double_count_rate:
            return None
        ankle, knee = double_count_groups(keypoints)
        n = len(out)
        if not len(ankle) or n == 0:
            return None
        frames, moved, source = [], [], []
        end = 0
        for start in np.flatnonzero(rng.random(n) < rng.uniform(0.05, 0.3) / 3):
            if start < end:
                continue  # spans do not overlap: a point is copied from one that was seen
            span = np.arange(start, min(n, start + int(rng.integers(1, 7))))
            end = int(span[-1]) + 1
            pairs = np.concatenate([ankle, knee]) if rng.random() < 0.5 else ankle
            side = int(rng.integers(0, 2))
            to, src = pairs[:, side], pairs[:, 1 - side]
            out[span[:, None], to] = out[span[:, None], src] + rng.normal(0.0, 0.01 * size, (len(span), len(to), 2))
            frames.append(np.repeat(span, len(to))), moved.append(np.tile(to, len(span))), source.append(np.tile(src, len(span)))
        if not frames:
            return None
        return np.concatenate(frames), np.concatenate(moved), np.concatenate(source)
