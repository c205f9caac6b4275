"""Keypoint distance matrices (Ogata et al.'s features) and points back from distances.

Ogata, R., Simo-Serra, E., Iizuka, S., & Ishikawa, H. (2019). Temporal distance matrices for
squat classification. *CVPR Workshops*. Each frame of a 19-joint skeleton (HMR's joints, the
``HMR-19`` keypoint set) becomes its 171 pairwise Euclidean distances: the strict upper triangle
of the 19 x 19 distance matrix in row-major order (``D[numpy.triu_indices(19, 1)]``); stacked over
frames they form the *temporal distance matrix* ``(frames, 171)`` that a 1D CNN reads along time.

Everything is batched over leading axes, works for 2D and 3D points, and keeps NaN where a
point is missing. Distances are in the points' units (metres for 3D tracks).

Examples
--------
>>> import numpy as np
>>> p = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
>>> distance_features(p)
array([3., 4., 5.])
>>> points, eigenvalues = classical_mds(distance_matrix(p))
>>> bool(np.allclose(distance_matrix(points), distance_matrix(p)))
True
"""

from __future__ import annotations

import warnings

import numpy as np

from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError, ValueRangeError

__all__ = [
    "NORMALIZATIONS", "classical_mds", "distance_features", "distance_matrix", "features_to_matrix",
    "n_joints_for_features", "normalize_distances", "temporal_distance_matrix",
]  # fmt: skip

NORMALIZATIONS = ("none", "scale", "frame", "sequence", "zscore")


def _points(points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] not in (2, 3):
        raise ShapeError("points", expected="(..., joints, 2 or 3)", got=p.shape)
    return p


def distance_matrix(points: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances ``(..., J, J)`` of points ``(..., J, D)``."""
    p = _points(points)
    return np.linalg.norm(p[..., :, None, :] - p[..., None, :, :], axis=-1)


def distance_features(points: np.ndarray) -> np.ndarray:
    """The ``J (J - 1) / 2`` distances of the strict upper triangle, row-major (Ogata's order)."""
    p = _points(points)
    i, j = np.triu_indices(p.shape[-2], 1)
    return np.linalg.norm(p[..., i, :] - p[..., j, :], axis=-1)


def n_joints_for_features(n_features: int) -> int:
    """``J`` such that ``J (J - 1) / 2 == n_features`` (171 -> 19)."""
    j = int(round((1 + np.sqrt(1 + 8 * n_features)) / 2))
    if j * (j - 1) // 2 != n_features:
        raise ShapeError("features", expected="J (J - 1) / 2 distances for a whole number of joints J", got=(n_features,))
    return j


def features_to_matrix(features: np.ndarray) -> np.ndarray:
    """The symmetric ``(..., J, J)`` matrix (zero diagonal) from upper-triangle features ``(..., P)``."""
    f = np.asarray(features, dtype=np.float64)
    n = n_joints_for_features(f.shape[-1])
    i, j = np.triu_indices(n, 1)
    out = np.zeros(f.shape[:-1] + (n, n))
    out[..., i, j] = f
    out[..., j, i] = f
    return out


def normalize_distances(features: np.ndarray, *, method: str = "sequence", scale: float | None = None) -> np.ndarray:
    """Normalise a sequence of distance features ``(frames, P)`` (a new array).

    Parameters
    ----------
    method : {"none", "scale", "frame", "sequence", "zscore"}, default "sequence"
        ``"scale"``: divide by ``scale`` (e.g. body height in metres); ``"frame"``: each frame by
        its own largest distance (removes the per-frame camera distance); ``"sequence"``: every
        frame by the sequence's median largest distance (keeps changes of shape within the
        sequence, removes body size and camera distance); ``"zscore"``: each feature to zero mean
        and unit standard deviation over the sequence (the temporal pattern only).
    scale : float, optional
        The divisor for ``method="scale"``.
    """
    f = np.asarray(features, dtype=np.float64)
    if method not in NORMALIZATIONS:
        raise ValueRangeError("method", expected=f"one of {NORMALIZATIONS}", got=method)
    if method == "none":
        return f.copy()
    if method == "scale":
        if scale is None or not np.isfinite(scale) or scale <= 0:
            raise ValueRangeError("scale", expected="a positive divisor (e.g. body height in m) for method='scale'", got=scale)
        return f / scale
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a frame with no points (the subject lost) stays NaN
        if method == "frame":
            return f / np.nanmax(f, axis=-1, keepdims=True)
        if method == "sequence":
            return f / np.nanmedian(np.nanmax(f, axis=-1), axis=-1)[..., None, None]
        mean = np.nanmean(f, axis=-2, keepdims=True)
        std = np.nanstd(f, axis=-2, keepdims=True)
        return (f - mean) / np.where(std > 0, std, 1.0)


def temporal_distance_matrix(tracks: Tracks | np.ndarray, *, method: str = "sequence", scale: float | None = None) -> np.ndarray:
    """Ogata et al.'s temporal distance matrix ``(frames, J (J - 1) / 2)`` of a track, normalised.

    Parameters
    ----------
    tracks : Tracks or ndarray of shape (frames, J, D)
        2D or 3D keypoints; the joint order of the track is the feature order.
    method, scale
        See :func:`normalize_distances`.
    """
    points = tracks.positions if isinstance(tracks, Tracks) else tracks
    p = _points(points)
    if p.ndim != 3:
        raise ShapeError("tracks", expected="(frames, joints, 2 or 3)", got=p.shape)
    return normalize_distances(distance_features(p), method=method, scale=scale)


def classical_mds(distances: np.ndarray, *, n_dims: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Points whose pairwise distances are ``distances``, by classical (Torgerson) MDS.

    Double-centres the squared distances, ``B = -J D^2 J / 2``, and takes the top ``n_dims``
    eigenvectors scaled by the square roots of their eigenvalues. The points are centred at the
    origin and unique up to a rotation and a mirror. Batched over leading axes.

    Parameters
    ----------
    distances : ndarray, shape (..., J, J)
        Symmetric distance matrices with zero diagonal (NaN not allowed: fill or drop joints).
    n_dims : int, default 3

    Returns
    -------
    points : ndarray, shape (..., J, n_dims)
    eigenvalues : ndarray, shape (..., J)
        All eigenvalues of ``B``, largest first: exactly ``n_dims`` positive ones (the rest zero)
        when the distances are those of points in ``n_dims`` dimensions; negative ones mean the
        matrix is not Euclidean.
    """
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim < 2 or d.shape[-1] != d.shape[-2]:
        raise ShapeError("distances", expected="(..., J, J) square matrices", got=d.shape)
    if np.isnan(d).any():
        raise ValueRangeError("distances", expected="no NaN (a missing joint has no distances: drop it first)", got="NaN")
    if not np.allclose(d, np.swapaxes(d, -1, -2), atol=1e-9 * max(1.0, float(np.abs(d).max(initial=0.0)))):
        raise ValueRangeError("distances", expected="symmetric matrices", got="an asymmetric matrix")
    if not 1 <= n_dims <= d.shape[-1]:
        raise ValueRangeError("n_dims", expected=f"1..{d.shape[-1]}", got=n_dims)
    n = d.shape[-1]
    centering = np.eye(n) - 1.0 / n
    b = -0.5 * centering @ (d**2) @ centering
    eigenvalues, vectors = np.linalg.eigh(b)
    eigenvalues, vectors = eigenvalues[..., ::-1], vectors[..., ::-1]
    top = np.clip(eigenvalues[..., :n_dims], 0.0, None)
    return vectors[..., :n_dims] * np.sqrt(top)[..., None, :], eigenvalues
