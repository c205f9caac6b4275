"""Outlier rejection: the Hampel identifier.

A sample is an outlier when it lies more than ``n_sigma`` robust standard
deviations (1.4826 x the median absolute deviation) from the median of the
``2 * half_window + 1`` samples around it, within its NaN-free segment, and more
than ``min_deviation`` from it. Outliers become NaN (fill them with
:func:`kinelift.processing.gaps.fill_gaps`). The floor matters for still signals:
a person standing still, or a video whose encoder repeats frames, gives windows
whose median absolute deviation is zero, where without a floor a change of one
pixel is an "outlier".

Examples
--------
>>> import numpy as np
>>> x = np.sin(np.linspace(0, 3, 50)); x[20] += 5.0
>>> y, outliers = hampel(x, half_window=3)
>>> np.flatnonzero(outliers).tolist(), bool(np.isnan(y[20]))
([20], True)
>>> still = np.repeat([100.0, 103.0, 100.0], [6, 3, 6])  # a still keypoint (px), three repeated frames 3 px off
>>> int(hampel(still, half_window=4)[1].sum()), int(hampel(still, half_window=4, min_deviation=10.0)[1].sum())
(3, 0)
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from kinelift.errors import ValueRangeError
from kinelift.processing._segments import apply_segmentwise

__all__ = ["hampel"]

_MAD_TO_SIGMA = 1.4826


def hampel(x: np.ndarray, *, half_window: int = 3, n_sigma: float = 3.0, min_deviation: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Mark outliers by the Hampel identifier.

    Parameters
    ----------
    x : ndarray, shape (frames, ...)
    half_window : int, default 3
        Samples on each side of the window.
    n_sigma : float, default 3.0
        Threshold in robust standard deviations.
    min_deviation : float, default 0.0
        The least distance from the window's median (``x``'s units) that can make an outlier.

    Returns
    -------
    cleaned : ndarray
        ``x`` with outliers set to NaN.
    outliers : ndarray of bool
        Where outliers were found.
    """
    if int(half_window) != half_window or half_window < 1:
        raise ValueRangeError("half_window", expected="a positive integer", got=half_window)
    if not n_sigma > 0:
        raise ValueRangeError("n_sigma", expected="a positive number", got=n_sigma)
    if not (np.isfinite(min_deviation) and min_deviation >= 0):
        raise ValueRangeError("min_deviation", expected="a distance >= 0 in the signal's units", got=min_deviation)
    w = int(half_window)

    def flag(seg: np.ndarray) -> np.ndarray:
        padded = np.pad(seg, ((w, w), (0, 0)), constant_values=np.nan)
        windows = sliding_window_view(padded, 2 * w + 1, axis=0)  # (n, cols, 2w+1)
        med = np.nanmedian(windows, axis=2)
        mad = np.nanmedian(np.abs(windows - med[:, :, None]), axis=2)
        return (np.abs(seg - med) > np.maximum(n_sigma * _MAD_TO_SIGMA * mad, min_deviation)).astype(float)

    arr = np.asarray(x, dtype=np.float64)
    flags = apply_segmentwise(arr, flag, min_length=1, short="keep", name="hampel")
    outliers = flags == 1.0
    cleaned = np.where(outliers, np.nan, arr)
    return cleaned, outliers
