"""Analysis layer: joint angles, distance matrices, squat repetitions, metrics, feedback and classifiers.

Modules: :mod:`~kinelift.analysis.angles_2d` and :mod:`~kinelift.analysis.angles_3d` (angle
definitions in their tables and in ``docs/analysis.md``), :mod:`~kinelift.analysis.derivatives`,
:mod:`~kinelift.analysis.distances`, :mod:`~kinelift.analysis.repetitions`,
:mod:`~kinelift.analysis.squat`, :mod:`~kinelift.analysis.squat_features`,
:mod:`~kinelift.analysis.marker_sets`, :mod:`~kinelift.analysis.classify`,
:mod:`~kinelift.analysis.synthetic_squats`.
"""

from kinelift.analysis.angles_2d import frontal_angles, nearer_leg_knee_flexion, sagittal_angles
from kinelift.analysis.angles_3d import coordinate_angles, joint_angles_3d, model_keypoints
from kinelift.analysis.derivatives import angular_derivatives
from kinelift.analysis.distances import classical_mds, distance_features, distance_matrix, features_to_matrix, temporal_distance_matrix
from kinelift.analysis.marker_sets import plug_in_gait_keypoints
from kinelift.analysis.repetitions import Repetition, find_repetitions
from kinelift.analysis.squat import SquatAnalysis, SquatThresholds, analyze_squat
from kinelift.analysis.squat_features import squat_feature_series

__all__ = [
    "Repetition", "SquatAnalysis", "SquatThresholds", "analyze_squat", "angular_derivatives", "classical_mds",
    "coordinate_angles", "distance_features", "distance_matrix", "features_to_matrix", "find_repetitions",
    "frontal_angles", "joint_angles_3d", "model_keypoints", "nearer_leg_knee_flexion", "plug_in_gait_keypoints", "sagittal_angles",
    "squat_feature_series", "temporal_distance_matrix",
]  # fmt: skip
