"""Squat-form classifiers as scikit-learn estimators.

Every classifier takes ``X`` as a sequence of per-repetition arrays ``(frames_i, features)``
(lengths may differ; NaN allowed, e.g. a temporal distance matrix per repetition) and ``y`` as
class labels of any hashable type (``"good"``, ``"bad_shallow"`` ...; ``"correct"``/``"incorrect"``).
Each repetition is resampled to ``n_frames`` frames by linear interpolation over its own duration,
gaps are bridged linearly (a wholly missing feature becomes 0 after standardisation).

* :class:`SequenceClassifier` -- torch networks of :mod:`~kinelift.analysis.classify.networks`:
  ``architecture="resnet"`` (Ogata et al.'s residual 1D CNN), ``"resnet-simple"`` (two residual
  blocks with dropout 0.5) or ``"bilstm"`` (two-layer bidirectional LSTM); Adam, cross-entropy,
  seeded, CPU or GPU.
* :class:`SummaryFeatureClassifier` -- a scikit-learn baseline: per-feature mean, standard
  deviation, minimum, maximum and the values at 0, 25, 50, 75 and 100 % of the repetition,
  standardised, into an L2 logistic regression.

Both have ``fit``, ``predict``, ``predict_proba``, ``score`` and ``classes_``, and work with
scikit-learn's model selection (``clone``, ``cross_val_score``, ``LeaveOneGroupOut``).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = [np.outer(np.sin(np.linspace(0, np.pi, 40 + i)), [1.0, a]) for i, a in enumerate(rng.uniform(0, 2, 40))]
>>> y = ["deep" if x[:, 1].max() > 1.0 else "shallow" for x in X]
>>> clf = SummaryFeatureClassifier().fit(X[:30], y[:30])
>>> clf.classes_.tolist(), bool(clf.score(X[30:], y[30:]) >= 0.8)
(['deep', 'shallow'], True)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from kinelift.errors import ShapeError, ValueRangeError

__all__ = ["ARCHITECTURES", "SequenceClassifier", "SummaryFeatureClassifier", "resample_sequences"]

logger = logging.getLogger(__name__)

ARCHITECTURES = ("resnet", "resnet-simple", "bilstm")


def resample_sequences(X: Sequence[np.ndarray] | np.ndarray, n_frames: int) -> np.ndarray:
    """Stack sequences ``(frames_i, F)`` into ``(n, n_frames, F)``: linear resampling over each
    sequence's own span, NaN bridged by linear interpolation (a feature missing throughout stays NaN)."""
    if isinstance(X, np.ndarray) and X.ndim == 2:
        raise ShapeError("X", expected="a sequence of (frames, features) arrays or an (n, frames, features) array", got=X.shape)
    seqs = [np.asarray(x, dtype=np.float64) for x in X]
    if not seqs:
        raise ShapeError("X", expected="at least one sequence", got=0)
    n_feat = seqs[0].shape[-1] if seqs[0].ndim == 2 else None
    out = np.empty((len(seqs), n_frames, n_feat or 0))
    target = np.linspace(0.0, 1.0, n_frames)
    for i, s in enumerate(seqs):
        if s.ndim != 2 or s.shape[1] != n_feat or s.shape[0] < 2:
            raise ShapeError(f"X[{i}]", expected=f"(frames >= 2, {n_feat}) like X[0]", got=s.shape)
        src = np.linspace(0.0, 1.0, s.shape[0])
        for j in range(n_feat):
            ok = np.isfinite(s[:, j])
            out[i, :, j] = np.interp(target, src[ok], s[ok, j]) if ok.sum() >= 2 else np.nan
    return out


def _check_labels(y: Any, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ShapeError("y", expected=f"({n},) one label per sequence", got=y.shape)
    return y


class _SequenceBase(ClassifierMixin, BaseEstimator):
    def _encode(self, y: np.ndarray) -> np.ndarray:
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueRangeError("y", expected="at least two classes", got=list(self.classes_))
        return codes

    def predict(self, X: Sequence[np.ndarray]) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class SummaryFeatureClassifier(_SequenceBase):
    """Per-repetition summary features into a standardised L2 logistic regression (see the module docs).

    Parameters
    ----------
    C : float, default 1.0
        Inverse regularisation strength.
    n_frames : int, default 50
        Resampling length before the summaries.
    """

    def __init__(self, *, C: float = 1.0, n_frames: int = 50) -> None:
        self.C = C
        self.n_frames = n_frames

    @staticmethod
    def summary_features(Z: np.ndarray) -> np.ndarray:
        """``(n, 9 * F)`` summaries of resampled sequences ``(n, T, F)``."""
        T = Z.shape[1]
        picks = Z[:, [0, T // 4, T // 2, (3 * T) // 4, T - 1], :]
        stats = [np.nanmean(Z, 1), np.nanstd(Z, 1), np.nanmin(Z, 1), np.nanmax(Z, 1)]
        return np.concatenate(stats + [picks.reshape(Z.shape[0], -1)], axis=1)

    def _features(self, X: Sequence[np.ndarray]) -> np.ndarray:
        F = self.summary_features(resample_sequences(X, self.n_frames))
        return np.where(np.isfinite(F), F, np.nan)

    def fit(self, X: Sequence[np.ndarray], y: Any) -> SummaryFeatureClassifier:
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if not (isinstance(self.C, (int, float)) and self.C > 0):
            raise ValueRangeError("C", expected="a positive number", got=self.C)
        y = _check_labels(y, len(X))
        codes = self._encode(y)
        self.pipeline_ = make_pipeline(SimpleImputer(keep_empty_features=True), StandardScaler(), LogisticRegression(C=self.C, max_iter=5000))
        self.pipeline_.fit(self._features(X), codes)
        return self

    def predict_proba(self, X: Sequence[np.ndarray]) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict_proba(self._features(X))


class SequenceClassifier(_SequenceBase):
    """A torch sequence network trained as a scikit-learn classifier (see the module docs).

    Parameters
    ----------
    architecture : {"resnet", "resnet-simple", "bilstm"}, default "resnet"
    n_frames : int, default 64
        Frames each repetition is resampled to.
    epochs : int, default 80
    batch_size : int, default 16
    lr : float, default 1e-3
        Adam learning rate.
    weight_decay : float, default 1e-4
    dropout : float or None, default None
        Dropout before the output layer; None uses the architecture's default (0.0, 0.5, 0.2).
    seed : int, default 0
    device : str, default "cpu"
    progress : bool, default False
        Show a tqdm bar over epochs.
    """

    def __init__(
        self,
        architecture: str = "resnet",
        *,
        n_frames: int = 64,
        epochs: int = 80,
        batch_size: int = 16,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        dropout: float | None = None,
        seed: int = 0,
        device: str = "cpu",
        progress: bool = False,
    ) -> None:
        self.architecture = architecture
        self.n_frames = n_frames
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.seed = seed
        self.device = device
        self.progress = progress

    def _validate(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueRangeError("architecture", expected=f"one of {ARCHITECTURES}", got=self.architecture)
        for name in ("n_frames", "epochs", "batch_size"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and value >= (8 if name == "n_frames" else 1)):
                raise ValueRangeError(name, expected="a positive integer" + (" >= 8" if name == "n_frames" else ""), got=value)
        if not self.lr > 0 or self.weight_decay < 0:
            raise ValueRangeError("lr/weight_decay", expected="lr > 0 and weight_decay >= 0", got=(self.lr, self.weight_decay))
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ValueRangeError("dropout", expected="a probability in [0, 1) or None", got=self.dropout)

    def _network(self, n_features: int, n_classes: int):
        from kinelift.analysis.classify.networks import BiLSTMClassifier, TemporalResNet

        if self.architecture == "bilstm":
            return BiLSTMClassifier(n_features, n_classes, dropout=0.2 if self.dropout is None else self.dropout)
        if self.architecture == "resnet-simple":
            return TemporalResNet(n_features, n_classes, n_blocks=2, dropout=0.5 if self.dropout is None else self.dropout)
        return TemporalResNet(n_features, n_classes, n_blocks=4, dropout=0.0 if self.dropout is None else self.dropout)

    def _inputs(self, Z: np.ndarray):
        """Standardised network input from resampled sequences ``(n, n_frames, F)``."""
        import torch

        return torch.as_tensor(np.nan_to_num((Z - self.mean_) / self.scale_, nan=0.0), dtype=torch.float32, device=self.device)

    def fit(self, X: Sequence[np.ndarray], y: Any) -> SequenceClassifier:
        import torch
        from tqdm.auto import tqdm

        self._validate()
        y = _check_labels(y, len(X))
        codes = self._encode(y)
        Z = resample_sequences(X, self.n_frames)
        self.mean_ = np.nan_to_num(np.nanmean(Z, axis=(0, 1)))
        std = np.nan_to_num(np.nanstd(Z, axis=(0, 1)))
        self.scale_ = np.where(std > 0, std, 1.0)
        self.n_features_in_ = Z.shape[-1]
        gen = torch.Generator().manual_seed(int(self.seed))
        torch.manual_seed(int(self.seed))
        net = self._network(self.n_features_in_, len(self.classes_)).to(self.device)
        inputs = self._inputs(Z)
        targets = torch.as_tensor(codes, device=self.device)
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        loss_fn = torch.nn.CrossEntropyLoss()
        self.loss_curve_ = []
        net.train()
        for _ in tqdm(range(self.epochs), desc=f"train {self.architecture}", disable=not self.progress, leave=False):
            order = torch.randperm(len(codes), generator=gen).to(self.device)
            total = 0.0
            for start in range(0, len(codes), self.batch_size):
                idx = order[start : start + self.batch_size]
                if len(idx) < 2 and self.architecture != "bilstm":
                    continue  # batch norm needs two samples
                optimizer.zero_grad()
                loss = loss_fn(net(inputs[idx]), targets[idx])
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
            self.loss_curve_.append(total / len(codes))
        net.eval()
        self.network_ = net
        logger.debug("SequenceClassifier(%s): final training loss %.4f", self.architecture, self.loss_curve_[-1])
        return self

    def predict_proba(self, X: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        check_is_fitted(self, "network_")
        with torch.no_grad():
            return torch.softmax(self.network_(self._inputs(resample_sequences(X, self.n_frames))), dim=1).cpu().numpy().astype(np.float64)
