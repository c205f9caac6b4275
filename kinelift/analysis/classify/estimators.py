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
  standardised, into an L2 logistic regression (``C="auto"`` picks its strength by inner
  cross-validation, grouped when groups are given).

**Group normalisation** (``group_normalization="group"``, both classifiers): features are
standardised within each group -- a subject, a session -- over that group's repetitions, so the
classifier sees how a repetition departs from the person's own typical one rather than how the
person differs from others. ``fit`` then needs ``groups``; ``predict``/``predict_proba`` take
``groups`` too, and without them treat all repetitions given together as one group (one
person's session). This assumes each group holds several repetitions of mixed quality, as
UI-PRMD's subjects do (10 correct and 10 incorrect each): a session of only good (or only bad)
repetitions is spread around its own mean and about half of it will be called the other class.
``"both"`` appends the group-standardised features to the absolute ones (summary classifier only).

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
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from kinelift.errors import ShapeError, ValueRangeError

__all__ = ["ARCHITECTURES", "GROUP_NORMALIZATIONS", "SequenceClassifier", "SummaryFeatureClassifier", "group_standardize", "resample_sequences"]

logger = logging.getLogger(__name__)

ARCHITECTURES = ("resnet", "resnet-simple", "bilstm")
GROUP_NORMALIZATIONS = ("none", "group", "both")
C_GRID = tuple(float(c) for c in np.logspace(-3, 1, 9))
"""The inverse regularisation strengths ``C="auto"`` chooses from: 1e-3 to 10, two per decade."""


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


def group_standardize(F: np.ndarray, groups: Any, *, min_size: int = 4) -> np.ndarray:
    """``F`` ``(n, ..., features)`` standardised per feature within each group (mean 0, standard
    deviation 1 over the group's items and all middle axes; a constant feature becomes 0).

    Raises ValueRangeError when a group has fewer than ``min_size`` items: a mean and spread of
    one or two repetitions describe nothing.
    """
    F = np.asarray(F, dtype=np.float64)
    groups = _as_groups(groups, F.shape[0])
    out = np.empty_like(F)
    axes = tuple(range(F.ndim - 1))
    for g in np.unique(groups):
        members = groups == g
        if members.sum() < min_size:
            raise ValueRangeError("groups", expected=f"at least {min_size} repetitions per group for group normalisation", got=f"group {g!r} with {members.sum()}")
        block = F[members]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN features stay NaN
            mean, std = np.nanmean(block, axis=axes), np.nanstd(block, axis=axes)
        out[members] = (block - mean) / np.where(std > 0, std, 1.0)
    return out


def _check_group_normalization(value: Any, allowed: tuple[str, ...] = GROUP_NORMALIZATIONS) -> None:
    if value not in allowed:
        raise ValueRangeError("group_normalization", expected=f"one of {allowed}", got=value)


def _as_groups(groups: Any, n: int) -> np.ndarray:
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ShapeError("groups", expected=f"({n},) one group per repetition", got=groups.shape)
    return groups


def _fit_groups(estimator: Any, groups: Any, n: int) -> np.ndarray | None:
    """The groups ``fit`` was given, checked; required when the estimator normalises by group."""
    if groups is None:
        if estimator.group_normalization != "none":
            raise ValueRangeError("groups", expected=f"one group per repetition (group_normalization={estimator.group_normalization!r})", got=None)
        return None
    return _as_groups(groups, n)


def _predict_groups(groups: Any, n: int) -> np.ndarray:
    """Groups for prediction: as given, or all repetitions as one group."""
    return np.zeros(n, dtype=np.int64) if groups is None else _as_groups(groups, n)


def _check_labels(y: Any, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ShapeError("y", expected=f"({n},) one label per sequence", got=y.shape)
    return y


def _labels_to_list(classes: np.ndarray) -> dict[str, Any]:
    """Class labels as plain values that any reader can check: strings, integers, floats or booleans."""
    kind = classes.dtype.kind
    if kind == "O" and all(isinstance(c, str) for c in classes):
        kind = "U"
    if kind not in "USiubf":
        raise ValueRangeError("classes_", expected="labels that are strings, integers, floats or booleans", got=classes.dtype)
    convert = {"U": str, "S": lambda c: c.decode(), "i": int, "u": int, "b": bool, "f": float}[kind]
    return {"kind": "U" if kind == "S" else kind, "values": [convert(c) for c in classes]}


def _labels_from_list(state: dict[str, Any]) -> np.ndarray:
    dtypes = {"U": str, "i": np.int64, "u": np.uint64, "b": bool, "f": np.float64}
    if state.get("kind") not in dtypes or not isinstance(state.get("values"), list):
        raise ValueRangeError("state classes_", expected=f"kind one of {sorted(dtypes)} and a list of values", got=state)
    return np.asarray(state["values"], dtype=dtypes[state["kind"]])


def _array(state: dict[str, Any], name: str, shape: tuple[int, ...]) -> np.ndarray:
    """``state[name]`` as a float64 array of ``shape`` (a tensor or a nested list in the state)."""
    value = np.asarray(state.get(name), dtype=np.float64)
    if value.shape != shape:
        raise ShapeError(f"state {name}", expected=str(shape), got=value.shape)
    return value


class _SequenceBase(ClassifierMixin, BaseEstimator):
    def _encode(self, y: np.ndarray) -> np.ndarray:
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueRangeError("y", expected="at least two classes", got=list(self.classes_))
        return codes

    def predict(self, X: Sequence[np.ndarray], groups: Any = None) -> np.ndarray:
        """Class labels ``(n,)``; ``groups`` as for ``predict_proba``."""
        return self.classes_[np.argmax(self.predict_proba(X, groups), axis=1)]

    def fitted_state(self) -> dict[str, Any]:
        """The fitted classifier as plain data: parameters, labels and arrays, nothing executable.

        The inverse of :meth:`from_fitted_state`; :func:`~kinelift.analysis.classify.save_classifier`
        stores it in a file that loading cannot run code from.
        """
        check_is_fitted(self, "classes_")
        return {"class": type(self).__name__, "params": self.get_params(), "classes": _labels_to_list(self.classes_),
                "fitted": self._fitted_arrays()}  # fmt: skip

    @classmethod
    def from_fitted_state(cls, state: dict[str, Any]) -> _SequenceBase:
        """The fitted classifier that :meth:`fitted_state` described (parameters validated again)."""
        if not isinstance(state, dict) or state.get("class") != cls.__name__:
            raise ValueRangeError("state", expected=f"the fitted state of a {cls.__name__}", got=state.get("class") if isinstance(state, dict) else type(state).__name__)
        params = state.get("params")
        if not isinstance(params, dict) or set(params) - set(cls._get_param_names()):
            raise ValueRangeError("state params", expected=f"parameters among {cls._get_param_names()}", got=params)
        estimator = cls(**params)
        estimator.classes_ = _labels_from_list(state.get("classes", {}))
        estimator._restore(state.get("fitted", {}))
        return estimator


class SummaryFeatureClassifier(_SequenceBase):
    """Per-repetition summary features into a standardised L2 logistic regression (see the module docs).

    Parameters
    ----------
    C : float or "auto", default 1.0
        Inverse regularisation strength, or ``"auto"``: the value of :data:`C_GRID` with the best
        inner cross-validated accuracy (leave one group out when ``fit`` has three or more
        groups, else stratified 5-fold; ties go to the stronger regularisation). The value used
        is ``C_`` after fitting.
    n_frames : int, default 50
        Resampling length before the summaries.
    group_normalization : {"none", "group", "both"}, default "none"
        Standardise the summaries within each group (see the module docs); ``"both"`` keeps the
        absolute summaries too.
    min_group_size : int, default 4
        Fewest repetitions a group may have under group normalisation.
    """

    def __init__(self, *, C: float | str = 1.0, n_frames: int = 50, group_normalization: str = "none", min_group_size: int = 4) -> None:
        self.C = C
        self.n_frames = n_frames
        self.group_normalization = group_normalization
        self.min_group_size = min_group_size

    @staticmethod
    def summary_features(Z: np.ndarray) -> np.ndarray:
        """``(n, 9 * F)`` summaries of resampled sequences ``(n, T, F)``."""
        T = Z.shape[1]
        picks = Z[:, [0, T // 4, T // 2, (3 * T) // 4, T - 1], :]
        stats = [np.nanmean(Z, 1), np.nanstd(Z, 1), np.nanmin(Z, 1), np.nanmax(Z, 1)]
        return np.concatenate(stats + [picks.reshape(Z.shape[0], -1)], axis=1)

    def _features(self, X: Sequence[np.ndarray], groups: np.ndarray | None) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # features missing throughout stay NaN
            F = self.summary_features(resample_sequences(X, self.n_frames))
        F = np.where(np.isfinite(F), F, np.nan)
        if self.group_normalization == "none":
            return F
        Z = group_standardize(F, groups, min_size=self.min_group_size)
        return Z if self.group_normalization == "group" else np.concatenate([F, Z], axis=1)

    def _pipeline(self, C: float):
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(SimpleImputer(keep_empty_features=True), StandardScaler(), LogisticRegression(C=C, max_iter=5000))

    def _select_C(self, F: np.ndarray, codes: np.ndarray, groups: np.ndarray | None) -> float:
        from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold, cross_val_score

        if groups is not None and len(np.unique(groups)) >= 3:
            splits = list(LeaveOneGroupOut().split(F, codes, groups))
        else:
            folds = int(min(5, np.bincount(codes).min()))
            if folds < 2:
                raise ValueRangeError("y", expected='at least 2 repetitions of every class for C="auto"', got=np.bincount(codes).tolist())
            splits = list(StratifiedKFold(folds, shuffle=True, random_state=0).split(F, codes))
        scores = [cross_val_score(self._pipeline(C), F, codes, cv=splits).mean() for C in C_GRID]
        best = C_GRID[int(np.argmax(scores))]
        logger.debug("SummaryFeatureClassifier: C=%g chosen (inner accuracy %.3f)", best, max(scores))
        return best

    def fit(self, X: Sequence[np.ndarray], y: Any, groups: Any = None) -> SummaryFeatureClassifier:
        """Fit on repetitions ``X`` with labels ``y``; ``groups`` (one per repetition) are needed
        for group normalisation and make ``C="auto"`` select by leave-one-group-out."""
        if not (self.C == "auto" or (isinstance(self.C, (int, float)) and not isinstance(self.C, bool) and self.C > 0)):
            raise ValueRangeError("C", expected='a positive number or "auto"', got=self.C)
        _check_group_normalization(self.group_normalization)
        y = _check_labels(y, len(X))
        groups = _fit_groups(self, groups, len(X))
        codes = self._encode(y)
        F = self._features(X, groups)
        self.C_ = self._select_C(F, codes, groups) if self.C == "auto" else float(self.C)
        self.pipeline_ = self._pipeline(self.C_).fit(F, codes)
        return self

    def predict_proba(self, X: Sequence[np.ndarray], groups: Any = None) -> np.ndarray:
        """Class probabilities ``(n, classes)``; ``groups`` as for ``fit`` (default: one group)."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict_proba(self._features(X, _predict_groups(groups, len(X))))

    def _fitted_arrays(self) -> dict[str, Any]:
        import torch

        imputer, scaler, logistic = (self.pipeline_[i] for i in range(3))
        arrays = {"statistics": imputer.statistics_, "mean": scaler.mean_, "scale": scaler.scale_, "var": scaler.var_,
                  "coef": logistic.coef_, "intercept": logistic.intercept_}  # fmt: skip
        return {"C": float(self.C_), "n_samples_seen": int(np.max(scaler.n_samples_seen_)),
                **{k: torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in arrays.items()}}  # fmt: skip

    def _restore(self, fitted: dict[str, Any]) -> None:
        """Rebuild ``pipeline_`` from :meth:`_fitted_arrays` (public fitted attributes only)."""
        n = int(np.asarray(fitted.get("statistics")).size)
        rows = 1 if len(self.classes_) == 2 else len(self.classes_)
        self.C_ = float(fitted.get("C", np.nan))
        if not self.C_ > 0:
            raise ValueRangeError("state C", expected="a positive number", got=fitted.get("C"))
        pipeline = self._pipeline(self.C_)
        imputer, scaler, logistic = (pipeline[i] for i in range(3))
        imputer.fit(_array(fitted, "statistics", (n,))[None, :])  # the mean of one row is that row
        scaler.mean_, scaler.scale_, scaler.var_ = (_array(fitted, k, (n,)) for k in ("mean", "scale", "var"))
        scaler.n_samples_seen_, scaler.n_features_in_ = int(fitted.get("n_samples_seen", 1)), n
        logistic.coef_, logistic.intercept_ = _array(fitted, "coef", (rows, n)), _array(fitted, "intercept", (rows,))
        logistic.classes_, logistic.n_features_in_ = np.arange(len(self.classes_)), n
        self.pipeline_ = pipeline


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
    group_normalization : {"none", "group"}, default "none"
        Standardise each feature within each group over its repetitions and frames (see the
        module docs).
    min_group_size : int, default 4
        Fewest repetitions a group may have under group normalisation.
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
        group_normalization: str = "none",
        min_group_size: int = 4,
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
        self.group_normalization = group_normalization
        self.min_group_size = min_group_size

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
        _check_group_normalization(self.group_normalization, ("none", "group"))

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

    def _resampled(self, X: Sequence[np.ndarray], groups: np.ndarray | None) -> np.ndarray:
        Z = resample_sequences(X, self.n_frames)
        return Z if self.group_normalization == "none" else group_standardize(Z, groups, min_size=self.min_group_size)

    def fit(self, X: Sequence[np.ndarray], y: Any, groups: Any = None) -> SequenceClassifier:
        """Train on repetitions ``X`` with labels ``y`` (``groups`` needed for group normalisation)."""
        import torch
        from tqdm.auto import tqdm

        self._validate()
        y = _check_labels(y, len(X))
        groups = _fit_groups(self, groups, len(X))
        codes = self._encode(y)
        Z = self._resampled(X, groups)
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

    def predict_proba(self, X: Sequence[np.ndarray], groups: Any = None) -> np.ndarray:
        """Class probabilities ``(n, classes)``; ``groups`` as for ``fit`` (default: one group)."""
        import torch

        check_is_fitted(self, "network_")
        inputs = self._inputs(self._resampled(X, _predict_groups(groups, len(X))))
        with torch.no_grad():
            return torch.softmax(self.network_(inputs), dim=1).cpu().numpy().astype(np.float64)

    def _fitted_arrays(self) -> dict[str, Any]:
        import torch

        return {"n_features": int(self.n_features_in_), "loss_curve": [float(v) for v in self.loss_curve_],
                "mean": torch.as_tensor(self.mean_), "scale": torch.as_tensor(self.scale_),
                "network": {k: v.detach().cpu() for k, v in self.network_.state_dict().items()}}  # fmt: skip

    def _restore(self, fitted: dict[str, Any]) -> None:
        """Rebuild ``network_`` (on ``device``) from :meth:`_fitted_arrays`."""
        self._validate()
        n = fitted.get("n_features")
        if not isinstance(n, int) or n < 1:
            raise ValueRangeError("state n_features", expected="a positive integer", got=n)
        self.n_features_in_ = n
        self.mean_, self.scale_ = _array(fitted, "mean", (n,)), _array(fitted, "scale", (n,))
        self.loss_curve_ = [float(v) for v in fitted.get("loss_curve", [])]
        net = self._network(n, len(self.classes_))
        try:
            net.load_state_dict(fitted.get("network", {}))
        except (RuntimeError, TypeError, AttributeError) as err:
            raise ValueRangeError("state network", expected=f"the weights of a {self.architecture} network with {n} features "
                                  f"and {len(self.classes_)} classes", got=str(err)[:200]) from None  # fmt: skip
        self.network_ = net.to(self.device).eval()
