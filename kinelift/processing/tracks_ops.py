"""The processing functions applied to :class:`~kinelift.core.tracks.Tracks`.

Each returns new tracks; the input is untouched. Positions are processed per
keypoint and axis on NaN-free segments (see :mod:`kinelift.processing.filters`).

Examples
--------
>>> import numpy as np
>>> from kinelift import Tracks
>>> from kinelift.processing import fill_tracks, filter_tracks
>>> p = np.cumsum(np.ones((100, 6, 2)), axis=0); p[40:43] = np.nan
>>> t = Tracks(p, keypoints="LOWER-6", fps=100.0)
>>> filled = fill_tracks(t, max_gap=5)
>>> bool(filled.valid.all()), float(filled.confidence[41, 0])
(True, 0.0)
>>> smooth = filter_tracks(filled, "butterworth", cutoff=6.0)
>>> smooth.n_frames
100
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kinelift.core.tracks import Tracks
from kinelift.errors import SignalProcessingError, UnknownNameError
from kinelift.processing.filters import butterworth_lowpass, median_filter, savitzky_golay
from kinelift.processing.gaps import fill_gaps, resample_uniform
from kinelift.processing.one_euro import one_euro
from kinelift.processing.outliers import hampel

__all__ = ["FILTERS", "fill_tracks", "filter_tracks", "reject_outliers", "resample_tracks"]

FILTERS = ("butterworth", "savgol", "median", "one_euro")


def _uniform_rate(tracks: Tracks, what: str) -> float:
    if not tracks.is_uniform():
        raise SignalProcessingError(f"{what} needs uniform sampling; these tracks have variable frame intervals: resample_tracks() first")
    return tracks.sampling_rate


def filter_tracks(tracks: Tracks, method: str, **params: Any) -> Tracks:
    """Smooth positions with one of ``FILTERS``.

    Parameters
    ----------
    tracks : Tracks
    method : {"butterworth", "savgol", "median", "one_euro"}
        ``butterworth``: :func:`~kinelift.processing.filters.butterworth_lowpass` (``cutoff``, ``order``...);
        ``savgol``: :func:`~kinelift.processing.filters.savitzky_golay` (``window``, ``polyorder``);
        ``median``: :func:`~kinelift.processing.filters.median_filter` (``window``);
        ``one_euro``: :func:`~kinelift.processing.one_euro.one_euro` (``min_cutoff``, ``beta``), any sampling.
    **params
        Keyword arguments of that filter; the sampling rate comes from the tracks.
    """
    if method == "one_euro":
        return tracks.replace(positions=one_euro(tracks.positions, tracks.time, **params))
    if method == "butterworth":
        out = butterworth_lowpass(tracks.positions, fps=_uniform_rate(tracks, "butterworth"), **params)
    elif method == "savgol":
        out = savitzky_golay(tracks.positions, fps=_uniform_rate(tracks, "savgol"), **params)
    elif method == "median":
        _uniform_rate(tracks, "median")
        out = median_filter(tracks.positions, **params)
    else:
        raise UnknownNameError("filter", method, known=FILTERS)
    return tracks.replace(positions=out)


def fill_tracks(tracks: Tracks, *, method: str = "linear", max_gap: int = 10, filled_confidence: float = 0.0) -> Tracks:
    """Fill interior gaps of at most ``max_gap`` frames (:func:`~kinelift.processing.gaps.fill_gaps`).

    Filled points get ``filled_confidence`` (default 0: they were not observed).
    """
    pos = fill_gaps(tracks.positions, tracks.time, method=method, max_gap=max_gap)
    filled = ~tracks.valid & ~np.isnan(pos[:, :, 0])
    return tracks.replace(positions=pos, confidence=np.where(filled, filled_confidence, tracks.confidence))


def reject_outliers(tracks: Tracks, *, half_window: int = 3, n_sigma: float = 3.0, min_deviation: float = 0.0) -> Tracks:
    """Set Hampel outliers (on any axis) to missing, with confidence 0 (:func:`~kinelift.processing.outliers.hampel`;
    ``min_deviation`` in the tracks' units, e.g. a few percent of the person's size in pixels)."""
    _, outliers = hampel(tracks.positions, half_window=half_window, n_sigma=n_sigma, min_deviation=min_deviation)
    bad = outliers.any(axis=2)
    pos = np.where(bad[:, :, None], np.nan, tracks.positions)
    return tracks.replace(positions=pos, confidence=np.where(bad, 0.0, tracks.confidence))


def resample_tracks(tracks: Tracks, *, fps: float) -> Tracks:
    """Resample onto a uniform ``fps`` grid from the first frame (linear, never across gaps)."""
    pos, t = resample_uniform(tracks.positions, tracks.time, fps=fps)
    conf, _ = resample_uniform(np.where(tracks.valid, tracks.confidence, np.nan), tracks.time, fps=fps)
    return tracks.replace(positions=pos, confidence=np.nan_to_num(conf, nan=0.0), time=t, fps=fps)
