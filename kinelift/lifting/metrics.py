"""Accuracy of 3D keypoints and joint angles: MPJPE, Procrustes-aligned MPJPE, angle RMSE.

All take arrays of shape ``(..., K, 3)`` (frames first), ignore NaN points, and return metres or
radians; report millimetres and degrees at the boundary.

Examples
--------
>>> import numpy as np
>>> gt = np.random.default_rng(0).normal(size=(5, 6, 3))
>>> round(mpjpe(gt + [0.01, 0.0, 0.0], gt, root=None), 6), round(pa_mpjpe(2.0 * gt, gt), 9)
(0.01, 0.0)
"""

from __future__ import annotations

import numpy as np

from kinelift.errors import ShapeError

__all__ = ["mpjpe", "pa_mpjpe", "angle_rmse", "pelvis_pitch", "segment_lean"]


def _check(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.shape[-1] != 3:
        raise ShapeError("pred", expected=f"the ground truth's shape {gt.shape}, (..., K, 3)", got=pred.shape)
    return pred, gt


def mpjpe(pred: np.ndarray, gt: np.ndarray, *, root: int | tuple[int, ...] | None = None) -> float:
    """Mean per-joint position error (m); ``root`` (an index, or indices to average) is subtracted first."""
    pred, gt = _check(pred, gt)
    if root is not None:
        r = list(np.atleast_1d(root))
        pred = pred - pred[..., r, :].mean(-2, keepdims=True)
        gt = gt - gt[..., r, :].mean(-2, keepdims=True)
    return float(np.nanmean(np.linalg.norm(pred - gt, axis=-1)))


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """MPJPE (m) after a per-frame similarity (rotation, translation, scale) Procrustes alignment;
    frames with fewer than three points present in both are left out."""
    pred, gt = _check(pred, gt)
    p = pred.reshape(-1, *pred.shape[-2:])
    g = gt.reshape(-1, *gt.shape[-2:])
    w = (np.isfinite(p).all(-1) & np.isfinite(g).all(-1)).astype(np.float64)  # (F, K)
    keep = w.sum(1) >= 3
    p, g, w = np.nan_to_num(p[keep]), np.nan_to_num(g[keep]), w[keep]
    if not len(p):
        return float("nan")
    n = w.sum(1)[:, None, None]
    a0 = (p - (w[..., None] * p).sum(1, keepdims=True) / n) * w[..., None]
    b0 = (g - (w[..., None] * g).sum(1, keepdims=True) / n) * w[..., None]
    u, sv, vt = np.linalg.svd(a0.transpose(0, 2, 1) @ b0)
    d = np.sign(np.linalg.det(u @ vt))
    sv[:, -1] *= d
    u[:, :, -1] *= d[:, None]
    rot = u @ vt
    scale = sv.sum(1) / (a0**2).sum((1, 2))
    err = np.linalg.norm(scale[:, None, None] * a0 @ rot - b0, axis=-1)
    return float((err * w).sum() / w.sum())


def angle_rmse(pred: np.ndarray, gt: np.ndarray) -> float:
    """Root mean square of the wrapped difference of two angle series (rad), NaN ignored."""
    d = np.asarray(pred, dtype=np.float64) - np.asarray(gt, dtype=np.float64)
    d = np.arctan2(np.sin(d), np.cos(d))
    return float(np.sqrt(np.nanmean(d**2)))


def pelvis_pitch(rotation: np.ndarray, up: np.ndarray) -> np.ndarray:
    """The pelvis's tilt to the floor (rad): the angle of its forward axis above the plane normal to ``up``.

    ``rotation`` ``(..., 3, 3)`` maps pelvis axes (OpenSim's: x forward, y up, z right) to the
    camera (or any) frame, whose ``up`` ``(..., 3)`` need not be unit length. Positive when the
    front of the pelvis is raised (posterior tilt), as OpenSim's ``pelvis_tilt`` on level ground.

    Examples
    --------
    >>> import numpy as np
    >>> tilt = np.deg2rad(-30.0)  # anterior tilt: rotation about the pelvis z axis
    >>> R = np.array([[np.cos(tilt), -np.sin(tilt), 0], [np.sin(tilt), np.cos(tilt), 0], [0, 0, 1]])
    >>> round(float(np.rad2deg(pelvis_pitch(R, np.array([0.0, 2.0, 0.0])))), 6)
    -30.0
    """
    rotation, up = np.asarray(rotation, dtype=np.float64), np.asarray(up, dtype=np.float64)
    if rotation.shape[-2:] != (3, 3) or up.shape[-1] != 3 or rotation.shape[:-2] != up.shape[:-1]:
        raise ShapeError("rotation, up", expected="(..., 3, 3) and (..., 3) with the same leading dimensions",
                         got=(rotation.shape, up.shape))  # fmt: skip
    unit = up / np.linalg.norm(up, axis=-1, keepdims=True)
    return np.arcsin(np.clip(np.einsum("...i,...i->...", rotation[..., :, 0], unit), -1.0, 1.0))


def segment_lean(proximal: np.ndarray, distal: np.ndarray, forward: np.ndarray, up: np.ndarray) -> np.ndarray:
    """A segment's lean from the vertical (rad): the angle of ``proximal - distal`` to ``up``, positive
    where the proximal end lies ahead of the distal one along the horizontal part of ``forward``
    (the pelvis's forward axis). The one definition of the squat analysis's ``trunk_lean``,
    ``thigh_lean`` and ``shank_lean`` (:mod:`kinelift.analysis.angles_3d`) and of the lifters'
    evaluation (:func:`kinelift.lifting.evaluation.evaluate_lifter`). For the thigh (proximal: the
    hip joint centre, distal: the knee's) it is 0 standing and negative when the knee moves
    forward (a squat, a flexed hip); unlike hip flexion, it does not depend on the pelvis's tilt,
    which one camera's keypoints hardly show (docs/lift.md, "The thigh's lean").

    ``proximal``, ``distal``, ``forward`` and ``up`` ``(..., 3)`` in one frame (camera or ground;
    ``forward`` and ``up`` of any length).

    Examples
    --------
    >>> import numpy as np
    >>> hip, knee = np.array([0.0, 1.0, 0.0]), np.array([0.3, 0.6, 0.0])  # knee ahead: thigh flexed forward
    >>> round(float(np.rad2deg(segment_lean(hip, knee, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])))), 6)
    -36.869898
    """
    proximal, distal = np.asarray(proximal, dtype=np.float64), np.asarray(distal, dtype=np.float64)
    forward, up = np.asarray(forward, dtype=np.float64), np.asarray(up, dtype=np.float64)
    if proximal.shape[-1:] != (3,) or distal.shape[-1:] != (3,) or forward.shape[-1:] != (3,) or up.shape[-1:] != (3,):
        raise ShapeError("proximal, distal, forward, up", expected="(..., 3) each, broadcastable",
                         got=(proximal.shape, distal.shape, forward.shape, up.shape))  # fmt: skip
    unit = up / np.linalg.norm(up, axis=-1, keepdims=True)
    ahead = forward - np.sum(forward * unit, axis=-1, keepdims=True) * unit
    ahead = ahead / np.linalg.norm(ahead, axis=-1, keepdims=True)
    v = proximal - distal
    return np.arctan2(np.sum(v * ahead, axis=-1), np.sum(v * unit, axis=-1))
