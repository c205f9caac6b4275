"""The analysis layer on real data in ../shared/data: OpenCap squat, Ogata fixture, UI-PRMD."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_file

OPENCAP = "opencap-squat/Moco"


@pytest.fixture(scope="module")
def opencap():
    from kinelift.io import read_mot
    from kinelift.skeleton import SkeletalModel

    model = SkeletalModel.from_osim(shared_file(f"{OPENCAP}/models/LaiArnoldModified2017_contacts.osim"))
    motion = read_mot(shared_file(f"{OPENCAP}/exampleSquat/squats1_videoAndMocap.mot"))
    return model, motion


def test_flexion_from_joint_centres_matches_the_coordinates(opencap):
    from kinelift.analysis import coordinate_angles, joint_angles_3d, model_keypoints

    model, motion = opencap
    from_points = joint_angles_3d(model_keypoints(model, motion), neutral=model_keypoints(model))
    reference = coordinate_angles(model, motion)
    for name in ("knee_flexion_r", "knee_flexion_l", "hip_flexion_r", "hip_flexion_l"):
        rmse = np.degrees(np.sqrt(np.mean((from_points.column(name) - reference.column(name)) ** 2)))
        assert rmse < 2.0, (name, rmse)  # the bound; measured 0.39-0.42 deg
        assert rmse < 0.6, (name, rmse)
    assert np.degrees(reference.column("knee_flexion_r").max()) == pytest.approx(86.97, abs=0.01)


def test_knee_sign_is_found_by_forward_kinematics(opencap):
    from kinelift.analysis import coordinate_angles
    from kinelift.errors import ValueRangeError
    from kinelift.skeleton import SkeletalModel

    _, motion = opencap
    gait2392 = SkeletalModel.from_osim(shared_file("opensim-models/Pipelines/Gait2392_Simbody/OutputReference/subject01_simbody.osim"))
    knees = [motion.column_names.index(f"knee_angle_{s}") for s in ("r", "l")]
    values = motion.values.copy()
    values[:, knees] *= -1.0  # the same squat in gait2392's convention: knee flexion negative
    flipped = coordinate_angles(gait2392, motion.replace(values=values)).column("knee_flexion_r")
    assert np.allclose(flipped, motion.column("knee_angle_r"))  # flexion positive again, found by forward kinematics
    # OpenCap's own file on gait2392: names match, signs do not; refused instead of a knee hyperextended by 90 deg
    with pytest.raises(ValueRangeError, match="knee_angle_r reaches 8[0-9] deg"):
        coordinate_angles(gait2392, motion)


@pytest.mark.parametrize("source", ["knee", "pelvis"])
def test_opencap_squat_has_exactly_five_repetitions(opencap, source):
    from kinelift.analysis import coordinate_angles, find_repetitions

    model, motion = opencap
    if source == "knee":
        knee = coordinate_angles(model, motion)
        signal = 0.5 * (knee.column("knee_flexion_r") + knee.column("knee_flexion_l"))
        reps = find_repetitions(signal, motion.time, kind="peaks")
    else:
        reps = find_repetitions(motion.column("pelvis_ty"), motion.time, kind="valleys")
    assert [r.bottom_time for r in reps] == pytest.approx([0.95, 2.46, 3.97, 5.56, 7.18], abs=0.05)


def test_squat_analysis_of_the_opencap_motion(opencap, tmp_path):
    from kinelift.analysis import analyze_squat, model_keypoints

    model, motion = opencap
    result = analyze_squat(model_keypoints(model, motion), progress=False)
    assert result.view == "3d" and len(result.repetitions) == 5
    peaks = np.degrees(result.metrics["peak_knee_flexion_r"].to_numpy())
    assert np.all((peaks > 75) & (peaks < 92))  # the .mot's knee_angle_r peaks are 80-87 deg
    assert (result.metrics["hip_below_knee"] == 0.0).all()  # the hips stay above the knees in these squats
    result.write(tmp_path)


def test_ogata_fixture_is_a_euclidean_distance_matrix():
    import pandas as pd

    from kinelift.analysis import classical_mds, features_to_matrix
    from kinelift.analysis.geometry import included_angle
    from kinelift.core.keypoint_sets import get_keypoint_set

    table = pd.read_csv(shared_file("ogata-format-fixture/0918_squat_000016_frames0-1.csv"))
    features = table[[f"d{i}" for i in range(171)]].to_numpy()
    d = features_to_matrix(features)
    points, eigenvalues = classical_mds(d)
    assert np.allclose(eigenvalues[0, :3], [3.806, 0.470, 0.200], atol=1e-3)
    assert np.abs(eigenvalues[:, 3:]).max() < 1e-9
    from kinelift.analysis import distance_matrix

    assert np.abs(distance_matrix(points) - d).max() < 1e-12
    hmr = get_keypoint_set("HMR-19")
    j = {n: hmr.index(n) for n in ("right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle")}
    right = np.degrees(included_angle(points[0, j["right_hip"]], points[0, j["right_knee"]], points[0, j["right_ankle"]]))
    left = np.degrees(included_angle(points[0, j["left_hip"]], points[0, j["left_knee"]], points[0, j["left_ankle"]]))
    assert (right, left) == pytest.approx((110.4, 104.0), abs=0.05)


def test_uiprmd_loader_and_a_leave_one_subject_out_baseline():
    from kinelift.analysis.classify import SummaryFeatureClassifier, leave_one_group_out, load_uiprmd
    from kinelift.analysis.distances import temporal_distance_matrix

    data = load_uiprmd(shared_file("ui-prmd-deep-squat"))
    subjects = sorted(set(data.groups.tolist()))
    assert len(subjects) >= 3 and set(subjects) <= set(range(1, 11))  # UI-PRMD has s01-s10; this copy may hold fewer
    assert len(data) == 20 * len(subjects) and (data.labels == "correct").sum() == 10 * len(subjects)
    pelvis = np.mean([s[0, 23:27, 2].mean() for s in data.sequences])  # ASIS/PSIS height standing, z up
    assert 0.8 < pelvis < 1.1
    X = [temporal_distance_matrix(p) for p in data.sequences]
    result = leave_one_group_out(SummaryFeatureClassifier(C=0.1), X, data.labels, data.groups, progress=False)
    assert result.pooled.accuracy > 0.65  # measured 0.707 on s01-s07 (absolute distance summaries; see docs/analysis.md)


def test_uiprmd_kinematic_features_with_subject_normalisation_classify_held_out_subjects():
    from kinelift.analysis.classify import SummaryFeatureClassifier, leave_one_group_out, load_uiprmd
    from kinelift.analysis.marker_sets import plug_in_gait_keypoints
    from kinelift.analysis.squat_features import squat_feature_series

    data = load_uiprmd(shared_file("ui-prmd-deep-squat"), as_tracks=True)
    keypoints = [plug_in_gait_keypoints(t, up="z") for t in data.sequences]
    first = {n: keypoints[0].positions[0, i] for i, n in enumerate(keypoints[0].keypoint_names)}
    thigh = np.linalg.norm(first["right_hip"] - first["right_knee"])
    hip_width = np.linalg.norm(first["right_hip"] - first["left_hip"])
    assert 0.3 < thigh < 0.55 and 0.12 < hip_width < 0.25  # Harrington hip centres land where hips are
    tables = [squat_feature_series(k, up="z") for k in keypoints]
    X = [t.values for t in tables]
    bottom = np.array([np.nanmax(t.select(["knee_flexion_r"]).values) for t in tables])
    assert 1.2 < np.median(bottom[data.labels == "correct"]) < 2.4  # a deep squat: 70-135 deg
    clf = SummaryFeatureClassifier(C="auto", group_normalization="group")
    result = leave_one_group_out(clf, X, data.labels, data.groups, progress=False)
    # measured on s01-s07: 0.957 pooled, specificity of "correct" 0.957 (benchmarks/squat_uiprmd.py)
    assert result.pooled.accuracy >= 0.9 and result.pooled.specificity >= 0.85, result.per_group

def test_uiprmd_kinect_skeletons_agree_with_vicon():
    from kinelift.analysis.classify import load_uiprmd
    from kinelift.analysis.marker_sets import plug_in_gait_keypoints
    from kinelift.analysis.squat_features import squat_feature_series

    root = shared_file("ui-prmd-deep-squat")
    kinect = load_uiprmd(root, sensor="kinect", as_tracks=True)
    vicon = load_uiprmd(root, as_tracks=True)
    assert kinect.names == vicon.names
    feet = [t.select(["left_ankle", "left_big_toe", "right_ankle", "right_big_toe"]).positions.std(axis=0).mean() for t in kinect.sequences]
    assert np.median(feet) < 0.05  # feet stay put during a squat (measured median 2.7 cm; other conventions 6-26 cm)

    def peak_knee(tracks, up):
        return np.degrees(np.nanmax(squat_feature_series(tracks, up=up).select(["knee_flexion_r"]).values))

    k = np.array([peak_knee(t, "y") for t in kinect.sequences])
    v = np.array([peak_knee(plug_in_gait_keypoints(t, up="z"), "z") for t in vicon.sequences])
    # the same repetitions seen by two sensors: measured r = 0.82, mean difference 3 deg, sd 13 deg
    assert np.corrcoef(k, v)[0, 1] > 0.7 and abs(np.mean(k - v)) < 8.0
