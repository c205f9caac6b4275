"""Squat repetitions: segmentation from a knee angle or the pelvis height.

A repetition is found at each *bottom*: a peak of knee flexion (``signal="knee"``) or a valley
of pelvis height (``signal="pelvis"``) whose prominence is at least ``min_prominence`` (a fraction of
the signal's range over the clip, or an absolute value) and which lies at least ``min_spacing``
seconds from a larger neighbour (``scipy.signal.find_peaks``). The signal is low-passed first
(zero-lag Butterworth, ``cutoff`` Hz) and short gaps are bridged linearly for the search only;
each stretch between the gaps left is searched on its own, so a bend whose descent or rise lies
in such a gap (or before the clip's first seen frame) is not a repetition: its standing level on
that side was not seen (until 0.3.17 the gap was filled with the clip's least value for the
search, which made the first seen frame of a person caught mid-stride the bottom of a
one-frame descent: a squat repetition on a real soccer clip).

Around each bottom, with ``standing`` the signal's value at the base of the peak on each side
(the least flexed point between this bottom and the previous or next one) and ``excursion`` the
bottom's distance from it:

* ``start``: last frame before the bottom within ``phase_fraction`` x excursion of the
  standing level (default 10 %); ``end``: the first such frame after it;
* the *bottom phase*: frames within ``phase_fraction`` x excursion of the bottom value;
* tempo: descent = start -> bottom phase start, bottom = bottom phase duration,
  ascent = bottom phase end -> end (seconds).

Examples
--------
>>> import numpy as np
>>> t = np.arange(0, 6, 0.01)
>>> knee = 1.4 * np.clip(np.sin(np.pi * (t - 0.5) / 1.5), 0, None) ** 2
>>> reps = find_repetitions(knee, t, kind="peaks")
>>> [round(r.bottom_time, 2) for r in reps]
[1.25, 4.25]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from kinelift.errors import ValueRangeError
from kinelift.processing import butterworth_lowpass, fill_gaps, valid_runs

__all__ = ["REPETITION_CUTOFF", "Repetition", "find_repetitions"]

REPETITION_CUTOFF = 4.0
"""Default low-pass cutoff (Hz) of the signal :func:`find_repetitions` searches."""


@dataclass(frozen=True)
class Repetition:
    """One repetition: frame indices and times (s) of its phases.

    ``start``/``end`` are the frames where it leaves and regains standing; ``bottom`` is the
    deepest frame; ``bottom_start``/``bottom_end`` bound the bottom phase. ``depth`` is the
    excursion in the signal's unit (rad of knee flexion, or m of pelvis drop), positive.
    """

    number: int
    start: int
    bottom: int
    end: int
    bottom_start: int
    bottom_end: int
    start_time: float
    bottom_time: float
    end_time: float
    descent_s: float
    bottom_s: float
    ascent_s: float
    depth: float

    @property
    def duration_s(self) -> float:
        return self.end_time - self.start_time


def find_repetitions(
    signal: np.ndarray,
    time: np.ndarray,
    *,
    kind: str,
    min_prominence: float = 0.3,
    relative: bool = True,
    min_spacing: float = 0.8,
    cutoff: float | None = REPETITION_CUTOFF,
    phase_fraction: float = 0.1,
    max_gap: int = 30,
    min_excursion: float = 0.0,
) -> list[Repetition]:
    """Repetitions of a squat-like movement in one signal (see the module docs).

    Parameters
    ----------
    signal : ndarray, shape (frames,)
        Knee flexion (rad) or pelvis height (m); NaN for missing frames.
    time : ndarray, shape (frames,)
        Timestamps in seconds (uniform sampling for the filter).
    kind : {"peaks", "valleys"}
        ``"peaks"`` when the bottom is a maximum (knee flexion), ``"valleys"`` when it is a minimum
        (pelvis height).
    min_prominence : float, default 0.3
        Least prominence of a bottom: a fraction of the signal's range (``relative=True``) or an
        absolute value in the signal's unit.
    relative : bool, default True
    min_spacing : float, default 0.8
        Least time between two bottoms in seconds.
    cutoff : float or None, default 4.0
        Low-pass cutoff (Hz) applied before the search; None to search the raw signal.
    phase_fraction : float, default 0.1
        Fraction of the excursion that bounds the standing and bottom phases.
    max_gap : int, default 30
        Longest gap (frames) bridged for the search; longer gaps split the search.
    min_excursion : float, default 0.0
        Least prominence in the signal's own unit, whatever the relative rule gives: keeps noise
        on a still recording from counting as repetitions (e.g. 0.35 rad of knee flexion).

    Returns
    -------
    list of Repetition
        In time order; empty when the signal has no bottom that prominent.
    """
    x = np.asarray(signal, dtype=np.float64)
    t = np.asarray(time, dtype=np.float64)
    if x.ndim != 1 or t.shape != x.shape:
        raise ValueRangeError("signal/time", expected="two 1D arrays of the same length", got=(x.shape, t.shape))
    if kind not in ("peaks", "valleys"):
        raise ValueRangeError("kind", expected="'peaks' (knee flexion) or 'valleys' (pelvis height)", got=kind)
    if not 0 < phase_fraction < 0.5:
        raise ValueRangeError("phase_fraction", expected="a fraction in (0, 0.5)", got=phase_fraction)
    if x.size < 3 or np.isnan(x).all():
        return []
    dt = float(np.median(np.diff(t)))
    y = fill_gaps(x, t, method="linear", max_gap=max_gap)
    if cutoff is not None and x.size > 15:
        fs = 1.0 / dt
        if not 0 < cutoff < fs / 2:
            raise ValueRangeError("cutoff", expected=f"a cutoff in Hz below the Nyquist frequency {fs / 2:.3g} Hz, or None", got=cutoff)
        y = butterworth_lowpass(y, fps=fs, cutoff=cutoff, short="keep")
    y = y if kind == "peaks" else -y
    span = float(np.nanmax(y) - np.nanmin(y))
    prominence = max(min_prominence * span if relative else float(min_prominence), float(min_excursion))
    if prominence <= 0 or not np.isfinite(prominence):
        return []
    reps: list[Repetition] = []
    for lo, hi in valid_runs(~np.isnan(y)):  # never across a gap the bridge left: a bend cut by one is not a repetition
        reps += _segment_repetitions(y[lo:hi], t[lo:hi], lo, prominence, max(1, int(round(min_spacing / dt))), phase_fraction, len(reps))
    return reps


def _segment_repetitions(y: np.ndarray, t: np.ndarray, offset: int, prominence: float, distance: int, phase_fraction: float,
                         numbered: int) -> list[Repetition]:  # fmt: skip
    """The repetitions in one NaN-free stretch ``y`` (bottoms as maxima) whose first frame is ``offset`` of the clip."""
    peaks, _ = sps.find_peaks(y, prominence=prominence, distance=distance)
    reps = []
    for i, p in enumerate(peaks):
        prev_peak = peaks[i - 1] if i > 0 else 0
        next_peak = peaks[i + 1] if i + 1 < len(peaks) else len(y) - 1
        left = prev_peak + int(np.argmin(y[prev_peak : p + 1]))
        right = p + int(np.argmin(y[p : next_peak + 1]))
        depth = y[p] - max(y[left], y[right])
        start = _last_below(y, left, p, y[left] + phase_fraction * (y[p] - y[left]))
        end = _first_below(y, p, right, y[right] + phase_fraction * (y[p] - y[right]))
        near = y[p] - phase_fraction * depth
        bottom_start = _last_below(y, start, p, near) + 1
        bottom_end = _first_below(y, p, end, near) - 1
        reps.append(Repetition(
            numbered + i + 1, offset + int(start), offset + int(p), offset + int(end), offset + int(bottom_start),
            offset + int(bottom_end), float(t[start]), float(t[p]), float(t[end]), float(t[bottom_start] - t[start]),
            float(t[bottom_end] - t[bottom_start]), float(t[end] - t[bottom_end]), float(depth),
        ))  # fmt: skip
    return reps


def _last_below(y: np.ndarray, lo: int, hi: int, level: float) -> int:
    """Last index in ``[lo, hi)`` with ``y <= level`` (``lo`` if none)."""
    hits = np.flatnonzero(y[lo:hi] <= level)
    return lo + int(hits[-1]) if hits.size else lo


def _first_below(y: np.ndarray, lo: int, hi: int, level: float) -> int:
    """First index in ``(lo, hi]`` with ``y <= level`` (``hi`` if none)."""
    hits = np.flatnonzero(y[lo + 1 : hi + 1] <= level)
    return lo + 1 + int(hits[0]) if hits.size else hi
