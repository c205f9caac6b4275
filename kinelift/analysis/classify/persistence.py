"""Saving a trained squat classifier with what it needs to classify new repetitions.

A saved classifier is a pickle of a dict: the fitted estimator, its feature recipe and the
kinelift version. Two recipes: ``features="distances"`` (the temporal distance matrix of the
named keypoints, in order, with a normalisation) and ``features="kinematics"`` (the columns of
:func:`~kinelift.analysis.squat_features.squat_feature_series` with the lab's ``up`` axis; the
column names are saved and checked). A classifier with group normalisation classifies the
repetitions of one recording as one group. Pickles run code when loaded: load only files you
made or trust (as with ``torch.load`` or joblib).

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from kinelift.analysis.classify import SummaryFeatureClassifier
>>> from kinelift.analysis.distances import temporal_distance_matrix
>>> rng = np.random.default_rng(0)
>>> reps = [rng.normal(size=(30, 4, 3)) * s for s in (1.0, 1.1, 3.0, 3.1)]
>>> clf = SummaryFeatureClassifier().fit([temporal_distance_matrix(r, method="none") for r in reps], ["a", "a", "b", "b"])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "clf.pkl"
>>> save_classifier(clf, path, keypoints=["p0", "p1", "p2", "p3"], normalization="none")
>>> load_classifier(path).keypoints
('p0', 'p1', 'p2', 'p3')
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kinelift.analysis.distances import NORMALIZATIONS, temporal_distance_matrix
from kinelift.analysis.squat_features import squat_feature_series
from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, UnknownNameError, ValueRangeError

__all__ = ["FEATURE_RECIPES", "SavedClassifier", "load_classifier", "save_classifier"]

_FORMAT = "kinelift-squat-classifier"
FEATURE_RECIPES = ("distances", "kinematics")


@dataclass(frozen=True)
class SavedClassifier:
    """A fitted estimator and the feature recipe it was trained with (see the module docs)."""

    estimator: Any
    keypoints: tuple[str, ...]
    normalization: str
    features_kind: str = "distances"
    columns: tuple[str, ...] = ()
    up: str = "y"

    def features(self, tracks: Tracks) -> np.ndarray:
        """This classifier's per-frame features of ``tracks``: ``(frames, features)``."""
        missing = [k for k in self.keypoints if k not in tracks.keypoint_names]
        if missing:
            raise UnknownNameError("keypoint the classifier needs", missing, known=tracks.keypoint_names)
        if self.features_kind == "distances":
            return temporal_distance_matrix(tracks.select(self.keypoints), method=self.normalization)
        table = squat_feature_series(tracks, up=self.up)
        absent = [c for c in self.columns if c not in table.column_names]
        if absent:
            raise UnknownNameError("feature column the classifier needs (from the tracks' keypoints)", absent, known=table.column_names)
        return table.select(list(self.columns)).values

    def classify(self, tracks: Tracks, spans: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """Labels and class probabilities of the frame spans ``[start, end]`` (inclusive) of ``tracks``."""
        X = [self.features(tracks[start : end + 1]) for start, end in spans]
        proba = self.estimator.predict_proba(X)
        return self.estimator.classes_[np.argmax(proba, axis=1)], proba


def save_classifier(
    estimator: Any,
    path: str | os.PathLike[str],
    *,
    keypoints: Sequence[str],
    normalization: str = "sequence",
    features: str = "distances",
    columns: Sequence[str] = (),
    up: str = "y",
    overwrite: bool = False,
) -> None:
    """Save a fitted classifier (atomically) with its feature recipe.

    Parameters
    ----------
    estimator : fitted classifier
    path : path
    keypoints : sequence of str
        ``"distances"``: the keypoints whose distances it reads, in order. ``"kinematics"``: the
        keypoints the tracks must have.
    normalization : str, default "sequence"
        The distance normalisation (``"distances"`` only).
    features : {"distances", "kinematics"}, default "distances"
    columns : sequence of str
        ``"kinematics"``: the feature columns it was trained on, in order.
    up : {"x", "y", "z"}, default "y"
        ``"kinematics"``: the lab's vertical axis of the tracks it will classify.
    overwrite : bool, default False
    """
    from kinelift import __version__
    from kinelift.io._atomic import atomic_path

    if not hasattr(estimator, "classes_"):
        raise ValueRangeError("estimator", expected="a fitted classifier (with classes_)", got=type(estimator).__name__)
    if normalization not in NORMALIZATIONS:
        raise ValueRangeError("normalization", expected=f"one of {NORMALIZATIONS}", got=normalization)
    if features not in FEATURE_RECIPES:
        raise ValueRangeError("features", expected=f"one of {FEATURE_RECIPES}", got=features)
    if features == "kinematics" and not columns:
        raise ValueRangeError("columns", expected='the feature column names (features="kinematics")', got=tuple(columns))
    if up not in ("x", "y", "z"):
        raise ValueRangeError("up", expected="one of 'x', 'y', 'z'", got=up)
    payload = {"format": _FORMAT, "kinelift_version": __version__, "estimator": estimator, "keypoints": tuple(keypoints),
               "normalization": normalization, "features": features, "columns": tuple(columns), "up": up}  # fmt: skip
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as fh:
            pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load_classifier(path: str | os.PathLike[str]) -> SavedClassifier:
    """Load a classifier saved by :func:`save_classifier` (a trusted file: see the module docs)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            payload = pickle.load(fh)  # noqa: S301 - documented: trusted files only
    except FileNotFoundError as exc:
        raise FileFormatError(path, "no such file") from exc
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise FileFormatError(path, f"not a readable classifier file ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise FileFormatError(path, "not a kinelift squat classifier", expected=f"a file written by save_classifier ({_FORMAT})")
    return SavedClassifier(
        payload["estimator"], tuple(payload["keypoints"]), payload["normalization"],
        payload.get("features", "distances"), tuple(payload.get("columns", ())), payload.get("up", "y"),
    )  # fmt: skip
