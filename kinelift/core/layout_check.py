"""Does a declared keypoint layout fit the data? A plausibility check of 2D image keypoints.

A layout (:class:`~kinelift.core.keypoint_sets.KeypointSet`) says which column is which point;
a wrong one (BODY_25B read as BODY-25, a COCO file with another tool's order) turns wrists into
hips without any error. :func:`layout_plausibility` scores how well the named points behave as a
person's, over the frames where they are seen, on checks that hold for people standing, walking,
squatting or lunging in front of a camera (image coordinates: pixels, ``y`` down):

* **vertical order**: each shoulder above its hip, each ankle below its hip and its knee;
* **one side each**: where the hips are apart across the image (a front or back view), the
  shoulders, knees and ankles are apart the same way round (left/right swapped in one place only
  is a layout mistake; a person turning round swaps all of them together);
* **proportions**: thigh / shank between 0.4 and 2.5, left / right thigh and shank between 0.5
  and 2, and hip width at most 1.5 thighs;
* **midpoints**: a layout's ``neck`` and ``mid_hip`` within 0.35 thighs of the midpoint of the
  shoulders and of the hips.

The score is the mean, over the checks that the layout's points allow, of the fraction of frames
passing. Layouts read right score about 1 on such footage; a person lying down scores low under
every layout, which is why :func:`check_layout` compares the declared layout with alternatives
before it refuses one: it raises :class:`~kinelift.errors.KeypointLayoutError` naming the likely
layout when an alternative fits clearly better, and only warns when no layout fits.

Examples
--------
>>> import numpy as np
>>> from kinelift.core.keypoint_sets import get_keypoint_set
>>> coco = get_keypoint_set("COCO-17")
>>> pose = np.zeros((1, 17, 2))
>>> pose[0, 5:17] = [[60, 50], [40, 50], [65, 75], [35, 75], [66, 98], [34, 98],
...                  [56, 100], [44, 100], [57, 140], [43, 140], [57, 180], [43, 180]]
>>> round(layout_plausibility(pose, coco), 2)
1.0
>>> round(layout_plausibility(pose[:, ::-1], coco), 2)   # the columns in reverse order
0.12
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np

from kinelift.core.keypoint_sets import KeypointSet, get_keypoint_set
from kinelift.errors import KeypointLayoutError, ShapeError

__all__ = ["layout_plausibility", "check_layout"]

log = logging.getLogger(__name__)

_POINTS = ("shoulder", "hip", "knee", "ankle")
PLAUSIBLE = 0.75
"""Scores at or above this are taken as a fitting layout."""
CLEARLY_BETTER = 0.15
"""An alternative layout must score this much above the declared one for the declared one to be refused."""


def _points(positions: np.ndarray, keypoint_set: KeypointSet) -> dict[str, np.ndarray]:
    """``{"left_hip": (frames, 2), ...}`` for the points of :data:`_POINTS` the set has."""
    out = {}
    for side in ("left", "right"):
        for point in _POINTS:
            name = f"{side}_{point}"
            if name in keypoint_set.names:
                out[name] = positions[:, keypoint_set.index(name)]
    return out


def _fraction(passed: np.ndarray, seen: np.ndarray) -> float | None:
    return float(passed[seen].mean()) if seen.sum() >= 1 else None


def layout_plausibility(positions: np.ndarray, keypoint_set: str | KeypointSet) -> float:
    """How well 2D image keypoints ``(frames, keypoints, 2)`` fit ``keypoint_set`` (0 to 1; see the module docs).

    NaN marks a missing point. Returns NaN when the set names too few of the shoulders, hips,
    knees and ankles, or they are never seen together, to check anything.
    """
    ks = get_keypoint_set(keypoint_set)
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[1] != len(ks) or positions.shape[2] != 2:
        raise ShapeError("positions", expected=f"(frames, {len(ks)} keypoints of {ks.name}, 2) image coordinates", got=positions.shape)
    p = _points(positions, ks)
    x = {k: v[:, 0] for k, v in p.items()}
    y = {k: v[:, 1] for k, v in p.items()}
    scores: list[float | None] = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for side in ("left", "right"):
            s, h, k, a = (f"{side}_{n}" for n in _POINTS)
            if s in y and h in y:
                scores.append(_fraction(y[s] < y[h], np.isfinite(y[s] + y[h])))
            if a in y and h in y:
                scores.append(_fraction(y[a] > y[h], np.isfinite(y[a] + y[h])))
            if a in y and k in y:
                scores.append(_fraction(y[a] > y[k], np.isfinite(y[a] + y[k])))
            if h in p and k in p and a in p:
                thigh = np.linalg.norm(p[h] - p[k], axis=1)
                shank = np.linalg.norm(p[k] - p[a], axis=1)
                ratio = thigh / shank
                scores.append(_fraction((ratio > 0.4) & (ratio < 2.5), np.isfinite(ratio)))
        for first, second in (("hip", "knee"), ("knee", "ankle")):
            names = [f"{side}_{n}" for side in ("left", "right") for n in (first, second)]
            if all(n in p for n in names):
                left = np.linalg.norm(p[names[0]] - p[names[1]], axis=1)
                right = np.linalg.norm(p[names[2]] - p[names[3]], axis=1)
                ratio = left / right
                scores.append(_fraction((ratio > 0.5) & (ratio < 2.0), np.isfinite(ratio)))
        if "left_hip" in x and "right_hip" in x:
            across = x["left_hip"] - x["right_hip"]
            thighs = [np.linalg.norm(p[f"{s}_hip"] - p[f"{s}_knee"], axis=1) for s in ("left", "right") if f"{s}_knee" in p]
            if thighs:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # frames with no thigh seen: NaN
                    thigh = np.nanmean(np.stack(thighs), axis=0)
                width = np.linalg.norm(p["left_hip"] - p["right_hip"], axis=1)
                scores.append(_fraction(width <= 1.5 * thigh, np.isfinite(width + thigh)))
                for middle, (a, b) in (("neck", ("left_shoulder", "right_shoulder")), ("mid_hip", ("left_hip", "right_hip"))):
                    if middle in ks.names and a in p and b in p:
                        off = np.linalg.norm(positions[:, ks.index(middle)] - (p[a] + p[b]) / 2, axis=1)
                        scores.append(_fraction(off < 0.35 * thigh, np.isfinite(off + thigh)))
                apart = np.abs(across) > 0.25 * thigh  # a front or back view
                for point in ("shoulder", "knee", "ankle"):
                    left, right = f"left_{point}", f"right_{point}"
                    if left in x and right in x:
                        other = x[left] - x[right]
                        clear = apart & (np.abs(other) > 0.25 * thigh)
                        scores.append(_fraction(np.sign(other) == np.sign(across), clear & np.isfinite(other + across)))
    known = [v for v in scores if v is not None]
    return float(np.mean(known)) if known else float("nan")


def check_layout(positions: np.ndarray, declared: str | KeypointSet, alternatives: Sequence[str | KeypointSet] = (), *,
                 source: str = "keypoints", explicit: bool = True) -> KeypointSet:  # fmt: skip
    """The layout the keypoints are in: ``declared``, unless an alternative of the same size fits clearly better.

    Parameters
    ----------
    positions : array (frames, keypoints, 2)
        Image keypoints (pixels, ``y`` down), NaN where missing.
    declared : str or KeypointSet
        The layout the file or the user states.
    alternatives : sequence
        Layouts with the same number of points that the data might be in instead.
    source : str
        The file or argument, for the messages.
    explicit : bool, default True
        The user named ``declared``. Then a clearly better alternative raises
        :class:`~kinelift.errors.KeypointLayoutError` naming it. When ``declared`` is only a
        default (a file that does not say), the better alternative is returned with a log line.

    Returns
    -------
    KeypointSet
        The layout to read the keypoints in. A warning is logged when no layout fits (a person
        lying down, a partial view): the declared one is kept.
    """
    declared_set = get_keypoint_set(declared)
    score = layout_plausibility(positions, declared_set)
    others = [get_keypoint_set(a) for a in alternatives]
    others = [a for a in others if len(a) == len(declared_set) and a.name != declared_set.name]
    rated = sorted(((layout_plausibility(positions, a), a) for a in others), key=lambda pair: -np.nan_to_num(pair[0], nan=-1.0))
    if rated and np.isfinite(rated[0][0]) and rated[0][0] >= PLAUSIBLE and rated[0][0] >= np.nan_to_num(score, nan=0.0) + CLEARLY_BETTER:
        best_score, best = rated[0]
        if explicit:
            raise KeypointLayoutError(source, declared_set.name, score, best.name, best_score)
        log.warning("%s: the keypoints fit %s (plausibility %.2f), not %s (%.2f): read as %s", source, best.name, best_score,
                    declared_set.name, score, best.name)  # fmt: skip
        return best
    if np.isfinite(score) and score < PLAUSIBLE:
        log.warning("%s: the keypoints fit the %s layout poorly (plausibility %.2f: hips, knees and ankles out of order or "
                    "proportion); check the layout, or expect poor results if the person is lying or partly seen",
                    source, declared_set.name, score)  # fmt: skip
    return declared_set
