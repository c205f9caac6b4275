"""kinelift: from video or 2D keypoints to OpenSim-grade 3D kinematics and squat assessment."""

from kinelift.core import KEYPOINT_SETS, KeypointSet, TimeSeriesTable, Tracks, get_keypoint_set

__version__ = "0.1.0"
__all__ = ["KEYPOINT_SETS", "KeypointSet", "TimeSeriesTable", "Tracks", "get_keypoint_set", "__version__"]
