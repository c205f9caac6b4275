"""Signal processing for keypoint tracks: gap filling, smoothing, outlier rejection, resampling, legs in view,
double counting.

Array functions take time on axis 0 and never reach across a gap (NaN); the
``*_tracks`` functions apply them to :class:`~kinelift.core.tracks.Tracks`.
"""

from kinelift.processing._segments import valid_runs
from kinelift.processing.double_counting import double_counted, tracks_drop_double_counted
from kinelift.processing.filters import (
    butterworth_lowpass,
    median_filter,
    savitzky_golay,
    usable_cutoff,
    winter_cutoff_correction,
)
from kinelift.processing.gaps import fill_gaps, resample_uniform
from kinelift.processing.one_euro import OneEuroFilter, one_euro
from kinelift.processing.outliers import hampel
from kinelift.processing.tracks_ops import FILTERS, fill_tracks, filter_tracks, reject_outliers, resample_tracks
from kinelift.processing.visibility import LEGS_WINDOW, MIN_LEG_RELATIVE_CONFIDENCE, legs_in_view, tracks_legs_in_view

__all__ = [
    "FILTERS",
    "LEGS_WINDOW",
    "MIN_LEG_RELATIVE_CONFIDENCE",
    "OneEuroFilter",
    "butterworth_lowpass",
    "double_counted",
    "fill_gaps",
    "fill_tracks",
    "filter_tracks",
    "hampel",
    "legs_in_view",
    "median_filter",
    "one_euro",
    "reject_outliers",
    "resample_tracks",
    "resample_uniform",
    "savitzky_golay",
    "tracks_drop_double_counted",
    "tracks_legs_in_view",
    "usable_cutoff",
    "valid_runs",
    "winter_cutoff_correction",
]
