"""The one-euro filter (Casiez, Roussel and Vogel, CHI 2012) for streaming keypoints.

An adaptive low-pass: its cutoff rises with the signal's speed,
``cutoff = min_cutoff + beta * |dx/dt|``, so still points are smoothed hard and
fast motion lags little. Every element of the input array is filtered
independently; a NaN sample resets that element (no smearing across gaps).

Examples
--------
>>> import numpy as np
>>> f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
>>> [round(float(f(np.array([v]), t)[0]), 3) for t, v in [(0.0, 0.0), (0.1, 1.0), (0.2, 1.0)]]
[0.0, 0.386, 0.623]
"""

from __future__ import annotations

import numpy as np

from kinelift.errors import ValueRangeError
from kinelift.processing.gaps import _check_time

__all__ = ["OneEuroFilter", "one_euro"]


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Streaming one-euro filter over arrays of any fixed shape.

    Parameters
    ----------
    min_cutoff : float, default 1.0
        Cutoff (Hz) at zero speed.
    beta : float, default 0.0
        Speed coefficient (Hz per unit/s).
    d_cutoff : float, default 1.0
        Cutoff (Hz) of the derivative estimate.
    """

    def __init__(self, *, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> None:
        for name, value in (("min_cutoff", min_cutoff), ("d_cutoff", d_cutoff)):
            if not value > 0:
                raise ValueRangeError(name, expected="a positive frequency in Hz", got=value)
        if not beta >= 0:
            raise ValueRangeError("beta", expected="a non-negative number", got=beta)
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        """Forget the state (the next sample passes through)."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        """Filter one sample ``x`` taken at time ``t`` (seconds, increasing)."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        if x.shape != self._x.shape:
            raise ValueRangeError("x", expected=f"shape {self._x.shape} as before", got=x.shape)
        dt = float(t) - self._t
        if not dt > 0:
            raise ValueRangeError("t", expected=f"a time after {self._t}", got=t)
        fresh = np.isnan(self._x) & ~np.isnan(x)
        dx = (x - self._x) / dt
        dx_hat = self._dx + _alpha(self.d_cutoff, dt) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(dx_hat)
        x_hat = self._x + _alpha(cutoff, dt) * (x - self._x)
        x_hat = np.where(fresh, x, x_hat)
        dx_hat = np.where(fresh | np.isnan(x), 0.0, dx_hat)
        self._x, self._dx, self._t = x_hat, dx_hat, float(t)
        return x_hat.copy()


def one_euro(x: np.ndarray, time: np.ndarray, *, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> np.ndarray:
    """Run :class:`OneEuroFilter` over a whole recording (axis 0 = time)."""
    arr = np.asarray(x, dtype=np.float64)
    t = _check_time(time, arr.shape[0])
    f = OneEuroFilter(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)
    return np.stack([f(arr[i], t[i]) for i in range(arr.shape[0])]) if arr.shape[0] else arr.copy()
