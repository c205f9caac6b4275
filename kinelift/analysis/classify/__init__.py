"""Squat-form classification: torch sequence networks as scikit-learn estimators, dataset
loaders (Ogata et al., UI-PRMD), evaluation with grouped cross-validation."""

from kinelift.analysis.classify.datasets import (
    OGATA_CLASSES, UIPRMD_KINECT_JOINTS, UIPRMD_VICON_MARKERS, SquatDataset, load_ogata, load_uiprmd, read_ogata_json, uiprmd_kinect_positions,
)  # fmt: skip
from kinelift.analysis.classify.estimators import (
    ARCHITECTURES, GROUP_NORMALIZATIONS, SequenceClassifier, SummaryFeatureClassifier, group_standardize, resample_sequences,
)  # fmt: skip
from kinelift.analysis.classify.persistence import SavedClassifier, load_classifier, save_classifier
from kinelift.analysis.classify.evaluation import Evaluation, GroupedEvaluation, evaluate_predictions, leave_one_group_out, plot_evaluation

__all__ = [
    "ARCHITECTURES", "Evaluation", "GROUP_NORMALIZATIONS", "GroupedEvaluation", "OGATA_CLASSES", "SequenceClassifier", "SquatDataset",
    "SavedClassifier", "SummaryFeatureClassifier", "UIPRMD_KINECT_JOINTS", "UIPRMD_VICON_MARKERS", "evaluate_predictions", "group_standardize", "leave_one_group_out", "load_ogata",
    "load_classifier", "load_uiprmd", "plot_evaluation", "read_ogata_json", "resample_sequences", "save_classifier", "uiprmd_kinect_positions",
]  # fmt: skip
