"""Smoothing filters on NaN-free segments: zero-lag Butterworth, Savitzky-Golay, median.

All functions take an array whose axis 0 is time (any trailing shape) and return
a new array; NaN samples stay NaN and no filter reaches across a gap.

Butterworth convention (Winter, *Biomechanics and Motor Control of Human
Movement*, 4th ed., 2009, section 3.4.4): ``order`` is the order of *one* pass.
The signal is filtered forward and backward (``scipy.signal.sosfiltfilt``), which
removes the phase lag and doubles the effective order (order 2 -> a 4th-order
zero-lag filter). Each pass attenuates the cutoff, so the double pass would put
the -3 dB point below ``cutoff``; with ``correct_cutoff=True`` (default) the
design cutoff is raised by Winter's correction
``C = (2 ** (1 / n_passes) - 1) ** (1 / (2 * order))`` (0.802 for order 2, two
passes), applied to the pre-warped frequency:
``f_design = fs / pi * arctan(tan(pi * cutoff / fs) / C)``, so the -3 dB point of
the whole zero-lag filter is at ``cutoff``.

Examples
--------
>>> import numpy as np
>>> fs = 100.0
>>> t = np.arange(200) / fs
>>> x = np.sin(2 * np.pi * 1.0 * t) + 0.1 * np.sin(2 * np.pi * 30.0 * t)
>>> y = butterworth_lowpass(x, fps=fs, cutoff=6.0)
>>> float(np.abs(y - np.sin(2 * np.pi * t))[20:-20].max()) < 0.01
True
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, signal

from kinelift._deprecation import renamed_argument
from kinelift.errors import SignalProcessingError, ValueRangeError
from kinelift.processing._segments import apply_segmentwise

__all__ = ["butterworth_lowpass", "usable_cutoff", "winter_cutoff_correction", "savitzky_golay", "median_filter"]


def usable_cutoff(cutoff: float | None, fps: float) -> float | None:
    """``cutoff`` (Hz) where it lies below 0.9 of the Nyquist frequency of a signal sampled at
    ``fps``, else ``None``: a slow recording (a 10 frames/s video against a 6 Hz cutoff) has
    nothing above its Nyquist frequency to remove, and is left unfiltered.

    Examples
    --------
    >>> usable_cutoff(6.0, 30.0), usable_cutoff(6.0, 10.0), usable_cutoff(None, 30.0)
    (6.0, None, None)
    """
    return cutoff if cutoff is not None and cutoff < 0.9 * fps / 2 else None


def winter_cutoff_correction(order: int, n_passes: int = 2) -> float:
    """Winter's cutoff correction factor ``C`` for ``n_passes`` passes of an ``order``-order Butterworth filter.

    Examples
    --------
    >>> round(winter_cutoff_correction(2), 3)
    0.802
    """
    return float((2.0 ** (1.0 / n_passes) - 1.0) ** (1.0 / (2.0 * order)))


def _check_fs(fs: float | None) -> float:
    if fs is None or isinstance(fs, bool) or not isinstance(fs, (int, float, np.number)) or not np.isfinite(fs) or fs <= 0:
        raise ValueRangeError("fps", expected="a positive sampling rate in Hz", got=fs)
    return float(fs)


def butterworth_lowpass(
    x: np.ndarray, *, fps: float | None = None, cutoff: float, order: int = 2, correct_cutoff: bool = True, short: str = "error",
    fs: float | None = None,
) -> np.ndarray:
    """Zero-lag (forward-backward) low-pass Butterworth filter, segment by segment.

    Parameters
    ----------
    x : ndarray, shape (frames, ...)
        Signal; NaN marks missing samples.
    fps : float
        Sampling rate in Hz (uniform sampling): frames per second.
    cutoff : float
        -3 dB frequency of the whole zero-lag filter in Hz (with ``correct_cutoff``).
    order : int, default 2
        Order of one pass (see the module notes).
    correct_cutoff : bool, default True
        Apply Winter's double-pass correction.
    short : {"error", "keep", "nan"}, default "error"
        What to do with segments too short to filter (``3 * (2 * sections + 1) + 1`` samples).
    fs : float, optional
        Deprecated name of ``fps``.

    Raises
    ------
    SignalProcessingError
        If the (corrected) cutoff is not below Nyquist, or a segment is too short.
    """
    fs = _check_fs(renamed_argument("butterworth_lowpass", "fs", "fps", fs, fps))
    nyquist = fs / 2.0
    if not (0 < cutoff < nyquist):
        raise SignalProcessingError(f"butterworth_lowpass: cutoff {cutoff} Hz must lie in (0, {nyquist}) Hz (Nyquist of fps={fs})")
    if int(order) != order or order < 1:
        raise ValueRangeError("order", expected="a positive integer", got=order)
    f_design = cutoff
    if correct_cutoff:
        f_design = fs / np.pi * np.arctan(np.tan(np.pi * cutoff / fs) / winter_cutoff_correction(int(order)))
    sos = signal.butter(int(order), f_design, btype="low", fs=fs, output="sos")
    ntaps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    padlen = 3 * ntaps
    return apply_segmentwise(
        x, lambda seg: signal.sosfiltfilt(sos, seg, axis=0, padlen=padlen), min_length=padlen + 1, short=short, name="butterworth_lowpass"
    )


def savitzky_golay(
    x: np.ndarray, *, window: int, polyorder: int = 3, deriv: int = 0, fps: float = 1.0, short: str = "error", fs: float | None = None
) -> np.ndarray:
    """Savitzky-Golay smoothing (or derivative) on each NaN-free segment.

    Parameters
    ----------
    window : int
        Window length in samples (odd, > polyorder).
    polyorder : int, default 3
    deriv : int, default 0
        Derivative order; the result is in units per second ** deriv using ``fps``.
    fps : float, default 1.0
        Sampling rate in Hz (only used for derivatives).
    fs : float, optional
        Deprecated name of ``fps``.
    """
    if window % 2 != 1 or window <= polyorder:
        raise ValueRangeError("window", expected=f"an odd number of samples > polyorder ({polyorder})", got=window)
    fs = _check_fs(renamed_argument("savitzky_golay", "fs", "fps", fs, fps, default=1.0))
    return apply_segmentwise(
        x,
        lambda seg: signal.savgol_filter(seg, window, polyorder, deriv=deriv, delta=1.0 / fs, axis=0, mode="interp"),
        min_length=window,
        short=short,
        name="savitzky_golay",
    )


def median_filter(x: np.ndarray, *, window: int, short: str = "keep") -> np.ndarray:
    """Running median over ``window`` samples (odd) on each NaN-free segment (edges: nearest value)."""
    if window % 2 != 1 or window < 1:
        raise ValueRangeError("window", expected="an odd positive number of samples", got=window)
    return apply_segmentwise(
        x, lambda seg: ndimage.median_filter(seg, size=(window, 1), mode="nearest"), min_length=window, short=short, name="median_filter"
    )
