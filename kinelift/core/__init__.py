"""Data types shared by every kinelift layer (tracks, keypoint sets, time-series tables)."""

from kinelift.core.keypoint_conversion import DERIVED_POINTS, convert_keypoints
from kinelift.core.keypoint_sets import KEYPOINT_SETS, KeypointSet, get_keypoint_set, register_keypoint_set
from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks

__all__ = [
    "DERIVED_POINTS",
    "KEYPOINT_SETS",
    "KeypointSet",
    "TimeSeriesTable",
    "Tracks",
    "convert_keypoints",
    "get_keypoint_set",
    "register_keypoint_set",
]
