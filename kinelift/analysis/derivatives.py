"""Angular velocity and acceleration of filtered angles.

Examples
--------
>>> import numpy as np
>>> from kinelift import TimeSeriesTable
>>> t = np.arange(300) / 100.0
>>> angles = TimeSeriesTable(t, np.sin(2 * np.pi * 0.5 * t), ["knee_flexion_r"], ["rad"])
>>> velocity, acceleration = angular_derivatives(angles, cutoff=6.0)
>>> velocity.column_units, acceleration.column_units
(('rad/s',), ('rad/s^2',))
>>> bool(np.abs(velocity.values[20:-20, 0] - np.pi * np.cos(np.pi * t[20:-20])).max() < 0.01)
True
"""

from __future__ import annotations

import numpy as np

from kinelift.core.table import TimeSeriesTable
from kinelift.errors import ValueRangeError
from kinelift.processing import butterworth_lowpass
from kinelift.processing._segments import valid_runs

__all__ = ["angular_derivatives"]


def angular_derivatives(angles: TimeSeriesTable, *, cutoff: float | None = 6.0, order: int = 2) -> tuple[TimeSeriesTable, TimeSeriesTable]:
    """Angular velocity (rad/s) and acceleration (rad/s^2) of every ``"rad"`` column.

    The angles are low-passed first with the foundation's zero-lag Butterworth filter
    (:func:`kinelift.processing.butterworth_lowpass`, ``cutoff`` Hz, ``order`` per pass; ``None``
    skips filtering), then differentiated by second-order central differences over the actual
    timestamps (``numpy.gradient``). Differences never reach across a gap (NaN): segments shorter
    than the filter needs are left unfiltered, and single samples get NaN derivatives.

    Parameters
    ----------
    angles : TimeSeriesTable
        Angle table with uniform sampling (``"rad"`` columns are used, others dropped).
    cutoff : float or None, default 6.0
        Low-pass cutoff in Hz; 6 Hz is Winter's usual choice for joint kinematics.
    order : int, default 2
    """
    cols = [n for n, u in zip(angles.column_names, angles.column_units) if u == "rad"]
    if not cols:
        raise ValueRangeError("angles", expected="a table with angle columns (unit 'rad')", got=angles.column_units)
    if angles.n_frames < 3:
        raise ValueRangeError("angles", expected="at least 3 frames to differentiate", got=angles.n_frames)
    x = angles.select(cols).values
    t = angles.time
    if cutoff is not None:
        fs = 1.0 / float(np.median(np.diff(t)))
        x = butterworth_lowpass(x, fps=fs, cutoff=cutoff, order=order, short="keep")

    velocity = _segment_gradient(x, t)
    acceleration = _segment_gradient(velocity, t)
    meta = {"source": angles.name, "lowpass_hz": cutoff if cutoff is not None else "none"}
    return (
        TimeSeriesTable(t, velocity, cols, ["rad/s"] * len(cols), name="angular_velocity", metadata=meta),
        TimeSeriesTable(t, acceleration, cols, ["rad/s^2"] * len(cols), name="angular_acceleration", metadata=meta),
    )


def _segment_gradient(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Time derivative of each column within its NaN-free runs (NaN elsewhere)."""
    out = np.full_like(x, np.nan)
    for j in range(x.shape[1]):
        for start, stop in valid_runs(~np.isnan(x[:, j])):
            if stop - start >= 2:
                out[start:stop, j] = np.gradient(x[start:stop, j], t[start:stop])
    return out
