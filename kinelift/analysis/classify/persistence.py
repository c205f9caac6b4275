"""Saving a trained squat classifier with what it needs to classify new repetitions.

A saved classifier holds the fitted estimator as plain data (its parameters, class labels and
arrays; a network's weights as tensors), its feature recipe and the kinelift version, in a file
that :func:`torch.load` reads with ``weights_only=True``: loading one cannot run code, whoever
made it. Two recipes: ``features="distances"`` (the temporal distance matrix of the named
keypoints, in order, with a normalisation) and ``features="kinematics"`` (the columns of
:func:`~kinelift.analysis.squat_features.squat_feature_series` with the lab's ``up`` axis; the
column names are saved and checked). A classifier with group normalisation classifies the
repetitions of one recording as one group. kinelift's own estimators are saved this way
(:class:`~kinelift.analysis.classify.SummaryFeatureClassifier`,
:class:`~kinelift.analysis.classify.SequenceClassifier`); other estimators are refused.

Files from kinelift 0.1 before this format were pickles, which run code when loaded: they are
refused unless ``load_classifier(path, trusted=True)`` is asked for (then save them again).

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from kinelift.analysis.classify import SummaryFeatureClassifier
>>> from kinelift.analysis.distances import temporal_distance_matrix
>>> rng = np.random.default_rng(0)
>>> reps = [rng.normal(size=(30, 4, 3)) * s for s in (1.0, 1.1, 3.0, 3.1)]
>>> clf = SummaryFeatureClassifier().fit([temporal_distance_matrix(r, method="none") for r in reps], ["a", "a", "b", "b"])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "squat_classifier.pt"
>>> save_classifier(clf, path, keypoints=["p0", "p1", "p2", "p3"], normalization="none")
>>> load_classifier(path).keypoints
('p0', 'p1', 'p2', 'p3')
"""

from __future__ import annotations

import logging
import os
import pickle
import zipfile
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

log = logging.getLogger(__name__)

_FORMAT = "kinelift-squat-classifier"
_FORMAT_VERSION = 2  # 1: a pickle (before the safe format)
FEATURE_RECIPES = ("distances", "kinematics")


def _estimator_classes() -> dict[str, Any]:
    """The estimators a file may name: only these are rebuilt from a file's plain data."""
    from kinelift.analysis.classify.estimators import SequenceClassifier, SummaryFeatureClassifier

    return {cls.__name__: cls for cls in (SummaryFeatureClassifier, SequenceClassifier)}


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
    classes = _estimator_classes()
    if classes.get(type(estimator).__name__) is not type(estimator):  # exactly one of them: a subclass could not be rebuilt
        raise ValueRangeError("estimator", expected=f"one of kinelift's classifiers {sorted(classes)} (saved without pickle)",
                              got=type(estimator).__name__)  # fmt: skip
    import torch

    payload = {"format": _FORMAT, "format_version": _FORMAT_VERSION, "kinelift_version": __version__,
               "estimator": estimator.fitted_state(), "keypoints": [str(k) for k in keypoints], "normalization": normalization,
               "features": features, "columns": [str(c) for c in columns], "up": up}  # fmt: skip
    with atomic_path(path, overwrite=overwrite) as tmp:
        torch.save(payload, tmp)


def _is_pickle(path: Path) -> bool:
    """A bare pickle (the old format): protocol 2+ opcode, not a zip archive as torch.save writes."""
    with open(path, "rb") as fh:
        head = fh.read(2)
    return head[:1] == b"\x80" and not zipfile.is_zipfile(path)


def _load_pickle(path: Path) -> dict[str, Any]:
    """The old pickled format: runs whatever the file holds (``trusted=True`` only)."""
    log.warning("%s: loading a pickled classifier (trusted=True); save it again to get the format that runs no code", path)
    try:
        with open(path, "rb") as fh:
            payload = pickle.load(fh)  # noqa: S301 - only with trusted=True, documented
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise FileFormatError(path, f"not a readable classifier file ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise FileFormatError(path, "not a kinelift squat classifier", expected=f"a file written by save_classifier ({_FORMAT})")
    estimator = payload.get("estimator")
    if not hasattr(estimator, "predict_proba") or not hasattr(estimator, "classes_"):
        raise FileFormatError(path, "field 'estimator' is not a fitted classifier", expected="an estimator with predict_proba and classes_")
    return {**payload, "estimator": estimator}


def load_classifier(path: str | os.PathLike[str], *, trusted: bool = False) -> SavedClassifier:
    """Load a classifier saved by :func:`save_classifier`; loading runs no code from the file.

    Parameters
    ----------
    path : path
    trusted : bool, default False
        Also read the old pickled files (kinelift 0.1), which run whatever code they hold: only
        for files you made yourself or trust as you would a program.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileFormatError(path, "no such file" if not path.exists() else "not a file", expected="a classifier file")
    if _is_pickle(path):
        if not trusted:
            raise FileFormatError(path, "a pickled classifier of an older kinelift: pickles run code when loaded, so it is refused",
                                  expected="a file saved by this kinelift's save_classifier, or load_classifier(path, trusted=True) "
                                  "for a pickle you made yourself (then save it again)")  # fmt: skip
        payload = _load_pickle(path)
        missing = [k for k in ("keypoints", "normalization") if k not in payload]
        if missing:
            raise FileFormatError(path, f"fields {missing} are missing", expected="a file written by save_classifier")
        return SavedClassifier(payload["estimator"], tuple(payload["keypoints"]), payload["normalization"],
                               payload.get("features", "distances"), tuple(payload.get("columns", ())), payload.get("up", "y"))  # fmt: skip
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        raise FileFormatError(path, f"not a readable classifier file ({type(exc).__name__}: {str(exc)[:200]})",
                              expected="a file written by save_classifier") from None  # fmt: skip
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise FileFormatError(path, "not a kinelift squat classifier", expected=f"a file written by save_classifier ({_FORMAT})")
    state = payload.get("estimator")
    classes = _estimator_classes()
    name = state.get("class") if isinstance(state, dict) else None
    if name not in classes:
        raise FileFormatError(path, f"field 'estimator' names class {name!r}", expected=f"one of {sorted(classes)}")
    try:
        estimator = classes[name].from_fitted_state(state)
        recipe = SavedClassifier(estimator, tuple(str(k) for k in payload["keypoints"]), str(payload["normalization"]),
                                 str(payload["features"]), tuple(str(c) for c in payload["columns"]), str(payload["up"]))  # fmt: skip
    except KeyError as exc:
        raise FileFormatError(path, f"field {exc} is missing", expected="a file written by save_classifier") from None
    except ValueError as exc:  # ValueRangeError / ShapeError naming the state field
        raise FileFormatError(path, f"field 'estimator': {exc}") from None
    if recipe.features_kind not in FEATURE_RECIPES or recipe.normalization not in NORMALIZATIONS or recipe.up not in ("x", "y", "z"):
        raise FileFormatError(path, f"feature recipe {recipe.features_kind!r}/{recipe.normalization!r}/{recipe.up!r}",
                              expected=f"features in {FEATURE_RECIPES}, normalization in {NORMALIZATIONS}, up in x/y/z")  # fmt: skip
    return recipe
