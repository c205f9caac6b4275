"""Gap filling and resampling that respect a maximum gap length.

Examples
--------
>>> import numpy as np
>>> t = np.arange(6) / 10.0
>>> x = np.array([0.0, 1.0, np.nan, 3.0, np.nan, np.nan])
>>> fill_gaps(x, t, max_gap=2).tolist()
[0.0, 1.0, 2.0, 3.0, nan, nan]
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

from kinelift.errors import ShapeError, SignalProcessingError, ValueRangeError
from kinelift.processing._segments import valid_runs

__all__ = ["fill_gaps", "gap_mask", "resample_uniform"]

METHODS = ("linear", "cubic")


def _check_time(time: np.ndarray, n: int) -> np.ndarray:
    t = np.asarray(time, dtype=np.float64)
    if t.shape != (n,):
        raise ShapeError("time", expected=f"(frames,) = ({n},)", got=t.shape)
    if n > 1 and not np.all(np.diff(t) > 0):
        raise ValueRangeError("time", expected="strictly increasing timestamps", got="non-increasing values")
    return t


def gap_mask(valid: np.ndarray, max_gap: int) -> np.ndarray:
    """True at missing samples inside a gap of at most ``max_gap`` samples with valid samples on both sides.

    Gaps at the start or end of the signal are never fillable (no extrapolation).
    """
    valid = np.asarray(valid, dtype=bool)
    fill = np.zeros_like(valid)
    runs = valid_runs(~valid)
    for start, stop in runs:
        if start > 0 and stop < valid.size and stop - start <= max_gap:
            fill[start:stop] = True
    return fill


def fill_gaps(x: np.ndarray, time: np.ndarray, *, method: str = "linear", max_gap: int = 10) -> np.ndarray:
    """Fill interior gaps of at most ``max_gap`` missing samples; longer gaps stay NaN.

    Parameters
    ----------
    x : ndarray, shape (frames, ...)
        Signal with NaN for missing samples.
    time : ndarray, shape (frames,)
        Sample times in seconds (interpolation is in time, so variable rates are fine).
    method : {"linear", "cubic"}, default "linear"
        Linear interpolation between the gap's neighbours, or a natural cubic spline
        through all valid samples of the column.
    max_gap : int, default 10
        Longest gap, in missing samples, that is filled.
    """
    if method not in METHODS:
        raise ValueRangeError("method", expected=f"one of {METHODS}", got=method)
    if int(max_gap) != max_gap or max_gap < 0:
        raise ValueRangeError("max_gap", expected="a non-negative number of samples", got=max_gap)
    arr = np.asarray(x, dtype=np.float64)
    t = _check_time(time, arr.shape[0])
    flat = arr.reshape(arr.shape[0], -1).copy()
    for c in range(flat.shape[1]):
        valid = ~np.isnan(flat[:, c])
        fill = gap_mask(valid, int(max_gap))
        if not fill.any():
            continue
        if method == "linear" or valid.sum() < 4:
            flat[fill, c] = np.interp(t[fill], t[valid], flat[valid, c])
        else:
            flat[fill, c] = CubicSpline(t[valid], flat[valid, c], bc_type="natural")(t[fill])
    return flat.reshape(arr.shape)


def resample_uniform(x: np.ndarray, time: np.ndarray, *, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Linear resampling onto a uniform grid ``time[0] + i / fps``, never across a gap.

    A new sample is NaN unless both source samples around it are valid.

    Returns
    -------
    values : ndarray, shape (new_frames, ...)
    new_time : ndarray, shape (new_frames,)
    """
    arr = np.asarray(x, dtype=np.float64)
    t = _check_time(time, arr.shape[0])
    if not fps > 0:
        raise ValueRangeError("fps", expected="a positive frame rate", got=fps)
    if arr.shape[0] < 2:
        raise SignalProcessingError("resample_uniform: need at least 2 samples")
    new_t = t[0] + np.arange(int(np.floor((t[-1] - t[0]) * fps + 1e-9)) + 1) / fps
    hi = np.clip(np.searchsorted(t, new_t, side="left"), 1, t.size - 1)
    lo = hi - 1
    exact = np.isclose(t[hi], new_t, rtol=0, atol=1e-12)
    lo = np.where(exact, hi, lo)
    w = np.where(exact, 0.0, (new_t - t[lo]) / np.where(exact, 1.0, t[hi] - t[lo]))
    flat = arr.reshape(arr.shape[0], -1)
    out = flat[lo] * (1 - w)[:, None] + flat[hi] * w[:, None]  # NaN propagates from either neighbour
    return out.reshape((new_t.size,) + arr.shape[1:]), new_t
