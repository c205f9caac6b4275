"""Keypoint detection metrics: PCK (per joint and overall) and COCO's OKS average precision.

* PCK@alpha of a size: a labelled point is correct when the prediction lies within ``alpha x size``
  of the label. Two sizes are common: the **crop size** (the longer side of the network input,
  in its pixels: "PCK@0.05" and "PCK@0.1" of the original SimpleBaseline-style report) and the
  **torso size** (the distance from the right shoulder to the left hip: the LSP protocol's
  PCK@0.2).
* OKS (object keypoint similarity) and AP over OKS thresholds 0.50:0.05:0.95 with COCO's greedy
  matching by score and 101-point interpolated precision, as ``pycocotools`` computes it.

Examples
--------
>>> import numpy as np
>>> gt = np.zeros((2, 2, 2)); pred = gt.copy(); pred[0, 0] = [3.0, 4.0]   # one point 5 px off
>>> per_joint, overall = pck(pred, gt, np.ones((2, 2), bool), thresholds=np.array([4.0, 4.0]))
>>> per_joint.tolist(), overall
([0.5, 1.0], 0.75)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kinelift.core import KeypointSet, get_keypoint_set
from kinelift.errors import ShapeError, UnknownNameError

__all__ = ["pck", "torso_sizes", "oks", "coco_keypoint_ap", "COCO_SIGMAS"]

COCO_SIGMAS = np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89]) / 10.0
"""Per-keypoint OKS constants of COCO-17 (pycocotools)."""


def pck(predicted: np.ndarray, target: np.ndarray, labelled: np.ndarray, *, thresholds: np.ndarray | float) -> tuple[np.ndarray, float]:
    """Fraction of labelled points within ``thresholds`` (scalar or per sample ``(N,)``) of the target.

    Returns per-joint PCK ``(K,)`` (NaN for a joint never labelled) and the overall PCK over all
    labelled points. A NaN prediction counts as wrong.
    """
    predicted, target = np.asarray(predicted, float), np.asarray(target, float)
    labelled = np.asarray(labelled, bool)
    if predicted.shape != target.shape or predicted.shape[:2] != labelled.shape or predicted.shape[-1] != 2:
        raise ShapeError("predicted/target/labelled", expected="(N, K, 2), (N, K, 2), (N, K)",
                         got=(predicted.shape, target.shape, labelled.shape))  # fmt: skip
    thresholds = np.broadcast_to(np.asarray(thresholds, float).reshape(-1, 1) if np.ndim(thresholds) else thresholds, labelled.shape)
    distance = np.linalg.norm(predicted - target, axis=-1)
    correct = np.where(np.isnan(distance), False, distance <= thresholds) & labelled
    counts = labelled.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_joint = np.where(counts > 0, correct.sum(axis=0) / counts, np.nan)
    return per_joint, float(correct.sum() / max(labelled.sum(), 1))


def torso_sizes(keypoints: np.ndarray, keypoint_set: str | KeypointSet) -> np.ndarray:
    """Distance right shoulder to left hip per sample ``(N,)`` (the LSP torso size for PCK@0.2)."""
    ks = get_keypoint_set(keypoint_set)
    try:
        i, j = ks.indices(["right_shoulder", "left_hip"])
    except UnknownNameError:
        raise UnknownNameError("keypoints for the torso size", ks.name, known=["sets with right_shoulder and left_hip"]) from None
    return np.linalg.norm(np.asarray(keypoints)[:, i] - np.asarray(keypoints)[:, j], axis=-1)


def oks(predicted: np.ndarray, target: np.ndarray, labelled: np.ndarray, areas: np.ndarray, *, sigmas: np.ndarray = COCO_SIGMAS) -> np.ndarray:
    """Object keypoint similarity ``(P, G)`` of predictions ``(P, K, 2)`` against targets ``(G, K, 2)``.

    ``labelled`` ``(G, K)`` selects the points that count (COCO ``v > 0``), ``areas`` ``(G,)`` are
    the objects' segment areas in px². A target without labelled points gets OKS 0.
    """
    predicted, target = np.asarray(predicted, float), np.asarray(target, float)
    var = (2 * np.asarray(sigmas)) ** 2
    d2 = ((predicted[:, None] - target[None]) ** 2).sum(-1)
    e = d2 / var / (np.asarray(areas, float)[None, :, None] + np.spacing(1)) / 2
    mask = np.asarray(labelled, bool)[None]
    counts = mask.sum(-1)
    return np.where(counts > 0, (np.exp(-e) * mask).sum(-1) / np.maximum(counts, 1), 0.0)


def coco_keypoint_ap(predictions: Sequence[tuple[np.ndarray, np.ndarray]], targets: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                     *, sigmas: np.ndarray = COCO_SIGMAS, thresholds: np.ndarray | None = None) -> dict[str, float]:  # fmt: skip
    """COCO keypoint AP. Per image: ``predictions[i] = (keypoints (P, K, 2), scores (P,))`` and
    ``targets[i] = (keypoints (G, K, 2), labelled (G, K), areas (G,))``.

    Returns ``AP`` (mean over thresholds), ``AP50`` and ``AP75``.
    """
    if len(predictions) != len(targets):
        raise ShapeError("predictions/targets", expected="one entry per image in both", got=(len(predictions), len(targets)))
    thresholds = np.round(np.arange(0.5, 0.951, 0.05), 2) if thresholds is None else np.asarray(thresholds)
    n_gt = sum(int((np.asarray(t[1]).sum(-1) > 0).sum()) for t in targets)
    scores, hits = [], [[] for _ in thresholds]
    for (pk, ps), (gk, gl, ga) in zip(predictions, targets):
        pk, ps = np.asarray(pk, float).reshape(-1, len(sigmas), 2), np.asarray(ps, float).reshape(-1)
        keep_gt = np.asarray(gl, bool).sum(-1) > 0
        order = np.argsort(-ps, kind="stable")
        sim = oks(pk[order], np.asarray(gk, float)[keep_gt], np.asarray(gl, bool)[keep_gt], np.asarray(ga)[keep_gt], sigmas=sigmas)
        scores.extend(ps[order])
        for t_i, t in enumerate(thresholds):
            taken = np.zeros(sim.shape[1], bool)
            for p in range(sim.shape[0]):
                candidates = np.where(taken, -1.0, sim[p])
                g = int(np.argmax(candidates)) if candidates.size else -1
                ok = g >= 0 and candidates[g] >= t
                if ok:
                    taken[g] = True
                hits[t_i].append(ok)
    order = np.argsort(-np.asarray(scores), kind="mergesort")
    aps = []
    for t_hits in hits:
        tp = np.cumsum(np.asarray(t_hits, float)[order]) if order.size else np.zeros(0)
        fp = np.cumsum(1.0 - np.asarray(t_hits, float)[order]) if order.size else np.zeros(0)
        recall = tp / max(n_gt, 1)
        precision = tp / np.maximum(tp + fp, np.spacing(1))
        precision = np.maximum.accumulate(precision[::-1])[::-1] if precision.size else precision
        points = np.linspace(0, 1, 101)
        idx = np.searchsorted(recall, points, side="left")
        aps.append(float(np.mean(np.where(idx < precision.size, precision[np.minimum(idx, max(precision.size - 1, 0))], 0.0))) if precision.size else 0.0)
    aps = np.asarray(aps)
    result = {"AP": float(aps.mean())}
    for name, t in (("AP50", 0.5), ("AP75", 0.75)):
        match = np.flatnonzero(np.isclose(thresholds, t))
        if match.size:
            result[name] = float(aps[match[0]])
    return result
