"""Evaluation of squat classifiers: accuracy, per-class precision and recall, confusion matrix,
ROC with Youden's operating point, sensitivity and specificity of the "correct" class, and
grouped (leave-one-subject-out) cross-validation.

For a binary problem the *positive* class is the good form (``"correct"`` or ``"good"``): its
sensitivity is the share of good repetitions called good, its **specificity** the share of bad
repetitions called bad, which is the error that matters (telling someone a bad squat is good).
Youden's J = sensitivity + specificity - 1 picks the ROC threshold on the positive class's
probability that maximises J.

Examples
--------
>>> import numpy as np
>>> y = np.array(["correct", "correct", "incorrect", "incorrect"])
>>> proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
>>> ev = evaluate_predictions(y, proba, classes=["correct", "incorrect"])
>>> ev.accuracy, ev.sensitivity, ev.specificity
(0.75, 0.5, 1.0)
>>> ev.youden_threshold, ev.youden_sensitivity, ev.youden_specificity
(0.4, 1.0, 1.0)
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kinelift.errors import ShapeError, ValueRangeError

__all__ = ["Evaluation", "GroupedEvaluation", "POSITIVE_CLASSES", "evaluate_predictions", "leave_one_group_out", "plot_evaluation"]

logger = logging.getLogger(__name__)

POSITIVE_CLASSES = ("correct", "good")
"""Labels taken as the good-form class when ``positive`` is not given."""


@dataclass(frozen=True)
class Evaluation:
    """Scores of one set of predictions (see the module docs). Binary-only fields are NaN for
    more than two classes when no positive class is among them."""

    classes: tuple
    accuracy: float
    precision: dict
    recall: dict
    confusion: np.ndarray
    positive: Any
    sensitivity: float
    specificity: float
    roc_fpr: np.ndarray
    roc_tpr: np.ndarray
    roc_thresholds: np.ndarray
    auc: float
    youden_threshold: float
    youden_sensitivity: float
    youden_specificity: float

    def summary(self) -> str:
        lines = [f"accuracy {self.accuracy:.3f}"]
        for c in self.classes:
            lines.append(f"  {c}: precision {self.precision[c]:.3f}, recall {self.recall[c]:.3f}")
        if self.positive is not None:
            lines.append(f"'{self.positive}': sensitivity {self.sensitivity:.3f}, specificity {self.specificity:.3f}, ROC AUC {self.auc:.3f}")
            lines.append(f"Youden threshold {self.youden_threshold:.3f}: sensitivity {self.youden_sensitivity:.3f}, specificity {self.youden_specificity:.3f}")
        return "\n".join(lines)


def evaluate_predictions(y_true: Any, proba: np.ndarray, *, classes: Sequence, positive: Any = None) -> Evaluation:
    """Score class probabilities ``proba`` ``(n, len(classes))`` against labels ``y_true``.

    Parameters
    ----------
    y_true : array_like, shape (n,)
    proba : ndarray, shape (n, classes)
        Probabilities in the column order of ``classes`` (an estimator's ``classes_``).
    classes : sequence
    positive : label, optional
        The good-form class; default the first of ``POSITIVE_CLASSES`` in ``classes``.
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score, roc_curve

    y = np.asarray(y_true)
    p = np.asarray(proba, dtype=np.float64)
    classes = list(classes)
    if p.shape != (y.shape[0], len(classes)):
        raise ShapeError("proba", expected=f"({y.shape[0]}, {len(classes)}) probabilities per class", got=p.shape)
    unknown = set(y.tolist()) - set(classes)
    if unknown:
        raise ValueRangeError("y_true", expected=f"labels among {classes}", got=sorted(unknown))
    pred = np.asarray(classes, dtype=object)[np.argmax(p, axis=1)]
    precision, recall, _, _ = precision_recall_fscore_support(y.astype(object), pred, labels=classes, zero_division=0.0)
    confusion = confusion_matrix(y.astype(object), pred, labels=classes)
    if positive is None:
        positive = next((c for c in POSITIVE_CLASSES if c in classes), None)
    nan = float("nan")
    sens = spec = auc = thr = ys = ysp = nan
    fpr = tpr = thresholds = np.array([])
    if positive is not None:
        if positive not in classes:
            raise ValueRangeError("positive", expected=f"one of {classes}", got=positive)
        is_pos = y == positive
        called_pos = pred == positive
        sens = float(called_pos[is_pos].mean()) if is_pos.any() else nan
        spec = float((~called_pos[~is_pos]).mean()) if (~is_pos).any() else nan
        if is_pos.any() and (~is_pos).any():
            score = p[:, classes.index(positive)]
            fpr, tpr, thresholds = roc_curve(is_pos, score)
            auc = float(roc_auc_score(is_pos, score))
            best = int(np.argmax(tpr - fpr))
            thr, ys, ysp = float(thresholds[best]), float(tpr[best]), float(1.0 - fpr[best])
    return Evaluation(
        tuple(classes), float((pred == y.astype(object)).mean()), dict(zip(classes, precision.tolist())), dict(zip(classes, recall.tolist())),
        confusion, positive, sens, spec, fpr, tpr, thresholds, auc, thr, ys, ysp,
    )  # fmt: skip


@dataclass(frozen=True)
class GroupedEvaluation:
    """Leave-one-group-out results: accuracy per held-out group and the pooled evaluation."""

    per_group: dict
    pooled: Evaluation
    predictions: np.ndarray
    proba: np.ndarray


def leave_one_group_out(estimator: Any, X: Sequence, y: Any, groups: Any, *, progress: bool = True) -> GroupedEvaluation:
    """Fit a clone of ``estimator`` on all groups but one and predict the held-out group, for every group.

    Returns each held-out group's accuracy and the evaluation of the pooled out-of-group
    probabilities (every repetition predicted by a model that never saw its subject). An
    estimator whose ``fit`` takes ``groups`` (the kinelift classifiers) gets the training groups,
    and its ``predict_proba`` the held-out group's: no labels of the held-out group are used.
    """
    from sklearn.base import clone
    from tqdm.auto import tqdm

    y, groups = np.asarray(y), np.asarray(groups)
    if not (len(X) == y.shape[0] == groups.shape[0]):
        raise ShapeError("X/y/groups", expected="the same number of repetitions", got=(len(X), y.shape[0], groups.shape[0]))
    classes = np.unique(y)
    takes_groups = "groups" in inspect.signature(estimator.fit).parameters
    proba = np.zeros((len(y), len(classes)))
    per_group = {}
    for g in tqdm(np.unique(groups), desc="leave one group out", disable=not progress):
        test = groups == g
        train_X, test_X = [X[i] for i in np.flatnonzero(~test)], [X[i] for i in np.flatnonzero(test)]
        if takes_groups:
            model = clone(estimator).fit(train_X, y[~test], groups=groups[~test])
            test_proba = model.predict_proba(test_X, groups=groups[test])
        else:
            model = clone(estimator).fit(train_X, y[~test])
            test_proba = model.predict_proba(test_X)
        cols = [list(classes).index(c) for c in model.classes_]
        proba[np.ix_(test, cols)] = test_proba
        key = g.item() if hasattr(g, "item") else g
        per_group[key] = float((classes[np.argmax(proba[test], 1)] == y[test]).mean())
        logger.info("held-out group %s: accuracy %.3f", key, per_group[key])
    return GroupedEvaluation(per_group, evaluate_predictions(y, proba, classes=classes.tolist()), classes[np.argmax(proba, 1)], proba)


def plot_evaluation(evaluation: Evaluation, path: str | os.PathLike[str], *, title: str = "", overwrite: bool = False) -> None:
    """Confusion matrix and (binary) ROC curve with Youden's point, as one PNG (written atomically)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from kinelift.io._atomic import save_png

    has_roc = evaluation.roc_fpr.size > 0
    fig, axes = plt.subplots(1, 2 if has_roc else 1, figsize=(10 if has_roc else 5, 4.5), squeeze=False)
    ax = axes[0, 0]
    ax.imshow(evaluation.confusion, cmap="Blues")
    ticks = range(len(evaluation.classes))
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true", title=f"{title} accuracy {evaluation.accuracy:.3f}".strip())
    ax.set_xticklabels(evaluation.classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticklabels(evaluation.classes, fontsize=8)
    for (i, j), v in np.ndenumerate(evaluation.confusion):
        ax.text(j, i, str(v), ha="center", va="center")
    if has_roc:
        ax = axes[0, 1]
        ax.plot(evaluation.roc_fpr, evaluation.roc_tpr, label=f"AUC {evaluation.auc:.3f}")
        ax.plot([0, 1], [0, 1], color="0.7", ls="--")
        ax.plot(1 - evaluation.youden_specificity, evaluation.youden_sensitivity, "o", label=f"Youden (t={evaluation.youden_threshold:.2f})")
        ax.set(xlabel=f"1 - specificity of '{evaluation.positive}'", ylabel=f"sensitivity of '{evaluation.positive}'", title="ROC")
        ax.legend(loc="lower right")
    fig.tight_layout()
    save_png(fig, path, overwrite=overwrite)
