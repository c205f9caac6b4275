"""Unit tests of squat classification: networks, estimators, evaluation, loaders, persistence."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import torch
from sklearn.base import clone

from kinelift.analysis.classify import (
    OGATA_CLASSES,
    SequenceClassifier,
    SummaryFeatureClassifier,
    evaluate_predictions,
    leave_one_group_out,
    load_classifier,
    load_ogata,
    load_uiprmd,
    plot_evaluation,
    read_ogata_json,
    resample_sequences,
    save_classifier,
)  # fmt: skip
from kinelift.analysis.classify.networks import BiLSTMClassifier, TemporalResNet
from kinelift.analysis.distances import temporal_distance_matrix
from kinelift.analysis.synthetic_squats import synthetic_squats
from kinelift.core.keypoint_sets import get_keypoint_set
from kinelift.errors import FileFormatError, ShapeError, ValueRangeError


@pytest.mark.parametrize("net", [TemporalResNet(12, 3), TemporalResNet(12, 3, n_blocks=2, dropout=0.5), BiLSTMClassifier(12, 3)])
def test_networks_shapes_and_gradients(net):
    x = torch.randn(4, 40, 12, requires_grad=True)
    out = net(x)
    assert out.shape == (4, 3)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    with pytest.raises(ShapeError):
        net(torch.zeros(4, 40, 11))


def test_resample_sequences_bridges_gaps_and_checks_shapes():
    seq = np.arange(10.0)[:, None] * np.ones((1, 2))
    seq[3, 0] = np.nan
    seq[:, 1] = np.nan
    out = resample_sequences([seq], 19)
    assert out.shape == (1, 19, 2) and np.allclose(out[0, :, 0], np.linspace(0, 9, 19)) and np.isnan(out[0, :, 1]).all()
    with pytest.raises(ShapeError):
        resample_sequences([np.zeros((5, 2)), np.zeros((5, 3))], 8)


@pytest.fixture(scope="module")
def good_vs_shallow():
    data = synthetic_squats(n_per_class=12, classes=("good", "bad_shallow"), n_subjects=3, seed=1)
    X = [temporal_distance_matrix(s) for s in data.sequences]
    return X, data.labels, data.groups


@pytest.mark.parametrize("estimator", [
    SummaryFeatureClassifier(),
    SequenceClassifier("resnet-simple", epochs=15, n_frames=32),
    SequenceClassifier("bilstm", epochs=15, n_frames=32),
])  # fmt: skip
def test_classifiers_separate_depth_on_held_out_subjects(estimator, good_vs_shallow):
    X, y, groups = good_vs_shallow
    result = leave_one_group_out(estimator, X, y, groups, progress=False)
    assert result.pooled.accuracy >= 0.9, result.per_group
    assert set(result.per_group) == {0, 1, 2}
    fitted = clone(estimator).fit(X, y)
    assert fitted.predict_proba(X[:3]).sum(axis=1) == pytest.approx(1.0)
    assert set(fitted.predict(X)) <= {"good", "bad_shallow"}


def test_sequence_classifier_validates_its_parameters(good_vs_shallow):
    X, y, _ = good_vs_shallow
    for bad in ({"architecture": "transformer"}, {"epochs": 0}, {"n_frames": 4}, {"lr": -1.0}, {"dropout": 1.5}):
        with pytest.raises(ValueRangeError):
            SequenceClassifier(**bad).fit(X, y)
    with pytest.raises(ValueRangeError):
        SummaryFeatureClassifier().fit(X, ["good"] * len(X))
    with pytest.raises(ShapeError):
        SummaryFeatureClassifier().fit(X, y[:-1])
    assert SequenceClassifier("bilstm", epochs=3).get_params()["architecture"] == "bilstm"


def test_seeded_training_is_reproducible(good_vs_shallow):
    X, y, _ = good_vs_shallow
    a = SequenceClassifier("resnet-simple", epochs=3, n_frames=16, seed=7).fit(X, y).predict_proba(X)
    b = SequenceClassifier("resnet-simple", epochs=3, n_frames=16, seed=7).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b)


def test_evaluation_multiclass_and_plot(tmp_path):
    y = np.array(["a", "b", "c", "c"])
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.2, 0.7], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
    ev = evaluate_predictions(y, proba, classes=["a", "b", "c"])
    assert ev.accuracy == 0.75 and ev.recall == {"a": 1.0, "b": 0.0, "c": 1.0} and ev.precision["c"] == pytest.approx(2 / 3)
    assert ev.positive is None and np.isnan(ev.specificity)
    assert ev.confusion.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
    plot_evaluation(ev, tmp_path / "ev.png")
    binary = evaluate_predictions(["good", "bad_toe"], [[0.2, 0.8], [0.9, 0.1]], classes=["bad_toe", "good"])
    assert binary.positive == "good" and binary.auc == 1.0
    plot_evaluation(binary, tmp_path / "roc.png")
    with pytest.raises(ShapeError):
        evaluate_predictions(y, proba[:, :2], classes=["a", "b", "c"])
    with pytest.raises(ValueRangeError):
        evaluate_predictions(["z"], [[1.0]], classes=["a"])


def _ogata_file(path, n_frames=3):
    frames = {str(i): {"index": i, "3d_joint": list(np.linspace(0.1, 1.0, 171) + i)} for i in range(n_frames)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(frames))


def test_ogata_loader_reads_class_folders(tmp_path):
    for c in OGATA_CLASSES:
        _ogata_file(tmp_path / c / "1115_3djoints_index" / "0918_squat_000001.json")
    _ogata_file(tmp_path / "good" / "1115_3djoints_index" / "0922_squat_000002.json", n_frames=5)
    data = load_ogata(tmp_path)
    assert len(data) == 8 and data.sequences[-1].shape == (5, 171)
    assert sorted(set(data.groups.tolist())) == ["0918", "0922"]
    assert data.sequences[0][1, 0] == pytest.approx(1.1)
    bad = tmp_path / "broken.json"
    bad.write_text('{"0": {"3d_joint": [1, 2]}}')
    with pytest.raises(FileFormatError, match="171"):
        read_ogata_json(bad)
    with pytest.raises(FileFormatError):
        load_ogata(tmp_path / "good")


def test_uiprmd_loader_reads_its_layout(tmp_path, rng):
    for folder, suffix in (("Segmented Movements", ""), ("Incorrect Segmented Movements", "_inc")):
        d = tmp_path / folder / "Vicon" / "Positions"
        d.mkdir(parents=True)
        for s in (1, 2):
            rows = "\n".join(",".join(f"{v:.3f}" for v in rng.normal(500, 100, 117)) for _ in range(6))
            with gzip.open(d / f"m01_s{s:02d}_e01_positions{suffix}.txt.gz", "wt") as fh:
                fh.write(rows)
        (d / "m02_s01_e01_positions.txt").write_text("1,2,3")  # another movement: ignored
    data = load_uiprmd(tmp_path)
    assert len(data) == 4 and data.sequences[0].shape == (6, 39, 3)
    assert data.labels.tolist() == ["correct", "correct", "incorrect", "incorrect"] and data.groups.tolist() == [1, 2, 1, 2]
    assert np.abs(data.sequences[0]).max() < 2.0  # millimetres became metres
    tracks = load_uiprmd(tmp_path, as_tracks=True).sequences[0]
    assert tracks.units == "m" and tracks.keypoint_names[23] == "LASI"
    (tmp_path / "Segmented Movements" / "Vicon" / "Positions" / "m01_s03_e01_positions.txt").write_text("1,2\n3,4\n")
    with pytest.raises(FileFormatError, match="117"):
        load_uiprmd(tmp_path)
    with pytest.raises(FileFormatError):
        load_uiprmd(tmp_path / "nowhere")


def test_saved_classifier_round_trip_and_bad_files(tmp_path, good_vs_shallow):
    data = synthetic_squats(n_per_class=4, classes=("good", "bad_shallow"), n_subjects=2, seed=3)
    clf = SummaryFeatureClassifier().fit([temporal_distance_matrix(s) for s in data.sequences], data.labels)
    path = tmp_path / "clf.pt"
    names = [f"j{i}" for i in range(19)]
    save_classifier(clf, path, keypoints=names)
    saved = load_classifier(path)
    from kinelift import Tracks

    track = Tracks(np.concatenate(data.sequences[:2]), keypoints=names, fps=30.0, units="m", coordinate_frame="ground")
    n0 = data.sequences[0].shape[0]
    labels, proba = saved.classify(track, [(0, n0 - 1), (n0, track.n_frames - 1)])
    assert labels.tolist() == data.labels[:2].tolist() and proba.shape == (2, 2)
    with pytest.raises(ValueRangeError):
        save_classifier(SummaryFeatureClassifier(), tmp_path / "unfitted.pkl", keypoints=names)
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(FileFormatError):
        load_classifier(junk)
    with pytest.raises(FileFormatError):
        load_classifier(tmp_path / "missing.pkl")


@pytest.mark.parametrize("estimator", [
    SummaryFeatureClassifier(C="auto", group_normalization="both"),
    SummaryFeatureClassifier(),  # three classes: a multinomial coefficient matrix
    SequenceClassifier("resnet-simple", epochs=2, n_frames=16),
    SequenceClassifier("bilstm", epochs=2, n_frames=16, group_normalization="group"),
])  # fmt: skip
def test_saved_classifiers_predict_exactly_as_fitted(tmp_path, estimator):
    classes = ("good", "bad_shallow", "bad_toe") if estimator.get_params().get("C") == 1.0 else ("good", "bad_shallow")
    data = synthetic_squats(n_per_class=4, classes=classes, n_subjects=2, seed=5)
    X = [temporal_distance_matrix(s) for s in data.sequences]
    clf = clone(estimator).fit(X, data.labels, groups=data.groups)
    names = [f"j{i}" for i in range(19)]
    save_classifier(clf, tmp_path / "clf.pt", keypoints=names)
    loaded = load_classifier(tmp_path / "clf.pt").estimator
    assert type(loaded) is type(clf) and loaded.get_params() == clf.get_params()
    assert np.array_equal(loaded.classes_, clf.classes_) and loaded.classes_.dtype.kind == "U"
    np.testing.assert_allclose(loaded.predict_proba(X, groups=data.groups), clf.predict_proba(X, groups=data.groups), rtol=0, atol=1e-12)


def test_classifier_files_cannot_run_code(tmp_path, good_vs_shallow):
    """A pickle payload (the old format, or planted in a file) never runs without trusted=True; a
    torch file that names anything but plain data is refused by the weights-only reader."""
    import pickle

    witness = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(witness), "w"))

    planted = tmp_path / "evil.pkl"
    planted.write_bytes(pickle.dumps({"format": "kinelift-squat-classifier", "estimator": Payload()}, protocol=4))
    with pytest.raises(FileFormatError, match="trusted=True"):
        load_classifier(planted)
    assert not witness.exists()
    in_torch = tmp_path / "evil.pt"
    torch.save({"format": "kinelift-squat-classifier", "estimator": Payload()}, in_torch)
    with pytest.raises(FileFormatError, match="not a readable classifier"):
        load_classifier(in_torch)
    assert not witness.exists()
    # an old pickled classifier of one's own still loads when trusted
    X, y, _ = good_vs_shallow
    clf = SummaryFeatureClassifier().fit(X, y)
    old = tmp_path / "old.pkl"
    old.write_bytes(pickle.dumps({"format": "kinelift-squat-classifier", "estimator": clf, "keypoints": ("a",), "normalization": "sequence"}))
    with pytest.raises(FileFormatError, match="pickled classifier"):
        load_classifier(old)
    assert load_classifier(old, trusted=True).estimator.predict(X[:2]).shape == (2,)


def test_classifier_files_with_wrong_fields_are_refused(tmp_path, good_vs_shallow):
    X, y, _ = good_vs_shallow
    path = tmp_path / "clf.pt"
    save_classifier(SummaryFeatureClassifier().fit(X, y), path, keypoints=["a"])
    good = torch.load(path, weights_only=True)
    cases = {
        "unknown class": {**good, "estimator": {**good["estimator"], "class": "os.system"}},
        "wrong shape": {**good, "estimator": {**good["estimator"], "fitted": {**good["estimator"]["fitted"], "coef": torch.zeros(3)}}},
        "unknown parameter": {**good, "estimator": {**good["estimator"], "params": {"evil": 1}}},
        "no keypoints": {k: v for k, v in good.items() if k != "keypoints"},
        "bad recipe": {**good, "features": "angles"},
        "not a classifier": {"format": "something else"},
    }
    for name, payload in cases.items():
        torch.save(payload, tmp_path / f"{name}.pt")
        with pytest.raises(FileFormatError):
            load_classifier(tmp_path / f"{name}.pt")
    with pytest.raises(ValueRangeError, match="kinelift's classifiers"):
        from sklearn.linear_model import LogisticRegression

        save_classifier(LogisticRegression().fit(np.eye(2), [0, 1]), tmp_path / "lr.pt", keypoints=["a"])
    with pytest.raises(FileFormatError, match="not a file"):
        load_classifier(tmp_path)


def _subject_offset_data(rng, n_subjects=5, per_class=6):
    """Per-subject offsets (2.0 sd between subjects) much larger than the class shift (0.6) within one."""
    X, y, groups = [], [], []
    t = np.linspace(0, np.pi, 30)
    for s in range(n_subjects):
        offset = rng.normal(0, 2.0)
        for label, shift in (("correct", 0.3), ("incorrect", -0.3)):
            for _ in range(per_class):
                amp = offset + shift + rng.normal(0, 0.1)
                X.append(np.stack([amp * np.sin(t), rng.normal(0, 1, t.size)], axis=1))
                y.append(label)
                groups.append(s)
    return X, np.array(y), np.array(groups)


def test_group_normalisation_separates_what_subject_offsets_hide(rng):
    X, y, groups = _subject_offset_data(rng)
    plain = leave_one_group_out(SummaryFeatureClassifier(C=1.0), X, y, groups, progress=False)
    grouped = leave_one_group_out(SummaryFeatureClassifier(C=1.0, group_normalization="group"), X, y, groups, progress=False)
    assert grouped.pooled.accuracy >= 0.95 and plain.pooled.accuracy < 0.8, (plain.per_group, grouped.per_group)
    clf = SummaryFeatureClassifier(C="auto", group_normalization="both").fit(X, y, groups=groups)
    assert clf.C_ > 0 and clf.pipeline_ is not None
    one_subject = groups == 0
    session = [X[i] for i in np.flatnonzero(one_subject)]
    assert (clf.predict(session) == y[one_subject]).mean() >= 0.9  # no groups: the session is one group
    with pytest.raises(ValueRangeError, match="groups"):
        SummaryFeatureClassifier(group_normalization="group").fit(X, y)
    with pytest.raises(ValueRangeError, match="at least 4"):
        clf.predict_proba(X[:3])
    with pytest.raises(ValueRangeError):
        SummaryFeatureClassifier(group_normalization="subject").fit(X, y, groups=groups)
    with pytest.raises(ValueRangeError):
        SummaryFeatureClassifier(C=-1).fit(X, y)
    with pytest.raises(ShapeError):
        SummaryFeatureClassifier(group_normalization="group").fit(X, y, groups=groups[:-1])


def test_group_standardize_and_auto_c(rng):
    from kinelift.analysis.classify.estimators import C_GRID, group_standardize

    F = rng.normal(3.0, 2.0, size=(12, 5, 2))
    F[:, :, 1] = 7.0  # constant feature
    Z = group_standardize(F, np.repeat([0, 1, 2], 4))
    for g in range(3):
        block = Z[4 * g : 4 * g + 4]
        assert np.allclose(block[..., 0].mean(), 0) and np.allclose(block[..., 0].std(), 1) and np.all(block[..., 1] == 0)
    with pytest.raises(ShapeError):
        group_standardize(F, np.zeros(5))
    X, y, groups = _subject_offset_data(rng, n_subjects=3, per_class=5)
    clf = SummaryFeatureClassifier(C="auto").fit(X, y)
    assert clf.C_ in C_GRID


def test_sequence_classifier_with_group_normalisation(rng):
    X, y, groups = _subject_offset_data(rng, n_subjects=3, per_class=5)
    clf = SequenceClassifier("resnet-simple", epochs=3, n_frames=16, group_normalization="group").fit(X, y, groups=groups)
    assert clf.predict_proba(X, groups=groups).shape == (len(X), 2)
    with pytest.raises(ValueRangeError):
        SequenceClassifier("resnet-simple", epochs=1, group_normalization="both").fit(X, y, groups=groups)


def test_saved_kinematics_classifier_classifies_a_session(tmp_path):
    from kinelift import Tracks
    from kinelift.analysis.squat_features import squat_feature_series

    data = synthetic_squats(n_per_class=5, classes=("good", "bad_shallow"), n_subjects=2, seed=4)
    names = list(get_keypoint_set("HMR-19").names)
    tracks = [Tracks(s, keypoints=names, fps=30.0, units="m", coordinate_frame="ground") for s in data.sequences]
    table = squat_feature_series(tracks[0])
    X = [squat_feature_series(t).values for t in tracks]
    clf = SummaryFeatureClassifier(group_normalization="group").fit(X, data.labels, groups=data.groups)
    path = tmp_path / "kinematics.pt"
    save_classifier(clf, path, keypoints=names, features="kinematics", columns=table.column_names)
    saved = load_classifier(path)
    assert saved.features_kind == "kinematics" and saved.columns == tuple(table.column_names)
    session = np.flatnonzero(data.groups == data.groups[0])
    track = Tracks(np.concatenate([data.sequences[i] for i in session]), keypoints=names, fps=30.0, units="m", coordinate_frame="ground")
    ends = np.cumsum([len(data.sequences[i]) for i in session])
    labels, _ = saved.classify(track, [(int(e - len(data.sequences[i])), int(e - 1)) for e, i in zip(ends, session)])
    assert (labels == data.labels[session]).mean() >= 0.9
    with pytest.raises(ValueRangeError):
        save_classifier(clf, tmp_path / "x.pkl", keypoints=names, features="kinematics")
    with pytest.raises(ValueRangeError):
        save_classifier(clf, tmp_path / "x.pkl", keypoints=names, features="angles", columns=["a"])


def test_uiprmd_kinect_forward_kinematics_by_hand():
    from kinelift.analysis.classify.datasets import UIPRMD_KINECT_JOINTS, UIPRMD_KINECT_PARENTS, uiprmd_kinect_positions

    offsets = np.zeros((2, 22, 3))
    offsets[:, 0] = [10.0, 80.0, -200.0]  # waist, cm, camera frame
    offsets[:, 14] = [8.0, 0.0, 0.0]  # left hip from the waist
    offsets[:, 15] = [0.0, -40.0, 0.0]  # left knee from the hip (a thigh along -y)
    offsets[:, 16] = [0.0, -40.0, 0.0]  # left ankle from the knee
    angles = np.zeros((2, 22, 3))
    angles[1, 15] = [90.0, 0.0, 0.0]  # knee joint: 90 deg about x
    angles[1, 14] = [0.0, 0.0, 90.0]  # hip about z: the thigh (and all below) turns from -y to +x
    p = uiprmd_kinect_positions(offsets.reshape(2, 66), angles.reshape(2, 66))
    j = {n: i for i, n in enumerate(UIPRMD_KINECT_JOINTS)}
    assert np.allclose(p[0, j["left_ankle"]], [0.18, 0.0, -2.0]) and np.allclose(p[0, j["left_knee"]], [0.18, 0.4, -2.0])
    # frame 1: hip Rz(90) maps the thigh (0, -0.4, 0) to (0.4, 0, 0); the knee's Rx(90) maps the shank
    # (0, -0.4, 0) to (0, 0, -0.4) in the thigh frame, then Rz(90) leaves z alone
    assert np.allclose(p[1, j["left_knee"]], [0.58, 0.8, -2.0]) and np.allclose(p[1, j["left_ankle"]], [0.58, 0.8, -2.4])
    assert UIPRMD_KINECT_PARENTS[j["left_ankle"]] == j["left_knee"]
    with pytest.raises(ShapeError):
        uiprmd_kinect_positions(offsets.reshape(2, 66), angles.reshape(2, 66)[:1])


def test_uiprmd_kinect_layout_needs_the_angle_files(tmp_path, rng):
    for folder, suffix in (("Segmented Movements", ""), ("Incorrect Segmented Movements", "_inc")):
        for kind in ("Positions", "Angles"):
            d = tmp_path / folder / "Kinect" / kind
            d.mkdir(parents=True)
            rows = "\n".join(",".join(f"{v:.3f}" for v in rng.normal(0, 10, 66)) for _ in range(5))
            (d / f"m01_s01_e01_{kind.lower()}{suffix}.txt").write_text(rows)
    data = load_uiprmd(tmp_path, sensor="kinect", as_tracks=True)
    assert len(data) == 2 and data.fps == 30.0 and data.sequences[0].keypoint_names[15] == "left_knee"
    assert data.sequences[0].metadata["up"] == "y"
    (tmp_path / "Segmented Movements" / "Kinect" / "Angles" / "m01_s01_e01_angles.txt").unlink()
    with pytest.raises(FileFormatError, match="angles"):
        load_uiprmd(tmp_path, sensor="kinect")
    with pytest.raises(ValueRangeError):
        load_uiprmd(tmp_path, sensor="optitrack")
