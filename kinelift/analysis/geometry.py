"""Batched vector geometry for joint angles (numpy; any leading shape; NaN propagates).

Conventions: angles in radians; a point array has its coordinates on the last axis
(2 for image points, 3 for space points).

Examples
--------
>>> import numpy as np
>>> hip, knee, ankle = np.array([0.0, 1.0]), np.array([0.0, 0.5]), np.array([0.5, 0.5])
>>> round(float(np.degrees(included_angle(hip, knee, ankle))), 6)
90.0
>>> x = np.deg2rad([170.0, 179.0, -179.0, -170.0])
>>> np.degrees(unwrap_angles(x)).round(1)
array([170., 179., 181., 190.])
"""

from __future__ import annotations

import numpy as np

from kinelift.errors import ShapeError

__all__ = ["frontal_projection_angle", "included_angle", "normalize", "pelvis_frame", "unwrap_angles"]


def normalize(v: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis (NaN for zero-length or missing vectors)."""
    v = np.asarray(v, dtype=np.float64)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, v / np.where(n > 0, n, 1.0), np.nan)


def included_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle at ``b`` between ``a - b`` and ``c - b``, in ``[0, pi]`` rad (``atan2`` form, exact near 0 and pi)."""
    u = np.asarray(a, dtype=np.float64) - b
    v = np.asarray(c, dtype=np.float64) - b
    if u.shape[-1] == 2:
        cross = np.abs(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    elif u.shape[-1] == 3:
        cross = np.linalg.norm(np.cross(u, v), axis=-1)
    else:
        raise ShapeError("points", expected="coordinates on the last axis, 2 or 3", got=u.shape)
    return np.arctan2(cross, np.sum(u * v, axis=-1))


def frontal_projection_angle(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, medial: np.ndarray) -> np.ndarray:
    """Signed frontal-plane projection angle of 2D points ``(..., 2)``, rad (Willson & Davis 2008).

    180 deg minus the hip-knee-ankle angle, positive when the knee lies on the ``medial`` side
    (a 2D direction) of the hip-ankle line (valgus), negative on the other side (varus).
    """
    deviation = np.pi - included_angle(hip, knee, ankle)
    line = normalize(ankle - hip)
    rel = knee - hip
    perpendicular = rel - np.sum(rel * line, axis=-1, keepdims=True) * line
    sign = np.sign(np.sum(perpendicular * medial, axis=-1))
    return np.where(sign == 0, 1.0, sign) * deviation


def pelvis_frame(right_hip: np.ndarray, left_hip: np.ndarray, superior: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Axes ``(x forward, y up, z right)`` of a pelvis frame built from points, OpenSim's convention.

    ``z`` runs from the left to the right hip; ``y`` points from the hip midpoint towards
    ``superior`` (a point above the pelvis: the lumbar joint centre, or the shoulders' midpoint),
    made orthogonal to ``z``; ``x = y x z`` points forward. Each axis has shape ``(..., 3)``.
    """
    z = normalize(np.asarray(right_hip, dtype=np.float64) - left_hip)
    y = np.asarray(superior, dtype=np.float64) - 0.5 * (np.asarray(right_hip) + left_hip)
    y = normalize(y - np.sum(y * z, axis=-1, keepdims=True) * z)
    return np.cross(y, z), y, z


def unwrap_angles(angles: np.ndarray, *, axis: int = 0) -> np.ndarray:
    """Remove ``2 pi`` jumps along ``axis`` (time) within each NaN-free run; NaN stays NaN.

    Each run after a gap is shifted by the multiple of ``2 pi`` that brings it closest to the
    last value before the gap, so a curve stays continuous across missing frames.
    """
    x = np.moveaxis(np.array(angles, dtype=np.float64, copy=True), axis, 0)
    flat = x.reshape(x.shape[0], -1)
    for j in range(flat.shape[1]):
        column = flat[:, j]
        ok = np.flatnonzero(~np.isnan(column))
        if ok.size:
            column[ok] = np.unwrap(column[ok])
    return np.moveaxis(flat.reshape(x.shape), 0, axis)
