"""The built-in model in OpenSim, its sign conventions against OpenSim's models, and keypoint maps."""

import numpy as np
import pytest
import torch

from kinelift.skeleton import SkeletalModel
from kinelift.skeleton.builtin import PROPORTIONS, builtin_model
from kinelift.skeleton.keypoint_maps import KeypointModel, keypoint_map, with_keypoints
from kinelift.skeleton.osim_parser import parse_osim
from kinelift.skeleton.osim_writer import write_osim
from tests.conftest import shared_file
from tests.opensim_reference import opensim_fk, random_coordinates

osim = pytest.importorskip("opensim", reason="the opensim package (test extra) is the reference")
osim.Logger.setLevelString("error")


@pytest.mark.parametrize("arms", [True, False])
def test_builtin_model_loads_in_opensim_with_equal_kinematics(tmp_path, arms):
    model = builtin_model(height=1.62, arms=arms)
    path = tmp_path / "builtin.osim"
    write_osim(model.spec, path)
    q = random_coordinates(model, 300, np.random.default_rng(5))
    ours = model(torch.tensor(q))
    ref_m, ref_j = opensim_fk(osim, str(path), q, list(model.coordinate_names), list(model.marker_names), list(model.joint_names))
    assert np.abs(ours.markers.numpy() - ref_m).max() <= 1e-9
    assert np.abs(ours.joint_centers.numpy() - ref_j).max() <= 1e-9


def test_builtin_segment_lengths_follow_the_documented_proportions():
    H = 1.8
    model = builtin_model(height=H)
    out = model(model.default_coordinates())
    c = {n: out.joint_centers[i].numpy() for i, n in enumerate(model.joint_names)}
    assert np.linalg.norm(c["hip_r"] - c["knee_r"]) == pytest.approx(PROPORTIONS["thigh"] * H)
    assert np.linalg.norm(c["knee_r"] - c["ankle_r"]) == pytest.approx(PROPORTIONS["shank"] * H)
    assert c["ankle_r"][1] == pytest.approx(PROPORTIONS["ankle_height"] * H)
    assert c["acromial_r"][1] == pytest.approx(PROPORTIONS["shoulder_height"] * H)
    assert np.linalg.norm(c["elbow_r"] - c["acromial_r"]) == pytest.approx(PROPORTIONS["upper_arm"] * H)
    assert c["hip_r"][2] - c["hip_l"][2] == pytest.approx(2 * PROPORTIONS["hip_half_width"] * H)
    sole = [out.markers[model.marker_names.index(n), 1].item() for n in ("heel_r", "big_toe_r", "small_toe_l")]
    np.testing.assert_allclose(sole, 0.0, atol=1e-12)  # standing on the ground plane


# coordinate, builtin point, reference model, reference point (a joint centre), +0.3 rad moves the point this way
SIGNS = [
    ("hip_flexion_r", "knee_r", "Rajagopal", "walker_knee_r"),
    ("hip_adduction_r", "knee_r", "gait2392", "knee_r"),
    ("hip_adduction_l", "knee_l", "gait2392", "knee_l"),
    ("hip_rotation_r", "subtalar_r", "gait2392", "subtalar_r"),
    ("hip_rotation_l", "subtalar_l", "gait2392", "subtalar_l"),
    ("ankle_angle_r", "subtalar_r", "gait2392", "subtalar_r"),
    ("knee_angle_r", "ankle_r", "Rajagopal", "ankle_r"),
    ("knee_angle_l", "ankle_l", "Rajagopal", "ankle_l"),
    ("lumbar_extension", "acromial_r", "Rajagopal", "acromial_r"),
    ("lumbar_bending", "acromial_r", "Rajagopal", "acromial_r"),
    ("arm_flex_r", "elbow_r", "Rajagopal", "elbow_r"),
    ("pelvis_tilt", "back", "gait2392", "back"),
]
REFERENCES = {
    "Rajagopal": "opensim-models/Models/Rajagopal/Rajagopal2016.osim",
    "gait2392": "opensim-models/Models/Gait2392_Simbody/gait2392_thelen2003muscle.osim",
}


@pytest.mark.parametrize("coordinate,point,reference,ref_point", SIGNS)
def test_sign_conventions_match_opensims_models(coordinate, point, reference, ref_point):
    """+0.3 rad of a coordinate moves the same joint centre the same way in the built-in model as in OpenSim's model."""
    path = str(shared_file(REFERENCES[reference]))
    ref_model = SkeletalModel.from_osim(path)
    names = list(ref_model.coordinate_names)
    q0 = np.zeros((2, len(names)))
    q0[1, names.index(coordinate)] = 0.3
    _, joints = opensim_fk(osim, path, q0, names, [], [ref_point])
    ref_move = joints[1, 0] - joints[0, 0]
    model = builtin_model()
    q = model.default_coordinates().repeat(2, 1)
    q[1, model.coordinate_index(coordinate)] += 0.3
    out = model(q).joint_centers[:, model.joint_names.index(point)].numpy()
    move = out[1] - out[0]
    cosine = move @ ref_move / (np.linalg.norm(move) * np.linalg.norm(ref_move))
    assert cosine > 0.9, f"{coordinate}: built-in moves {move.round(3)}, {reference} moves {ref_move.round(3)}"


@pytest.mark.parametrize("relative", ["opensim-models/Models/Rajagopal/Rajagopal2016.osim", "opencap-squat/Moco/models/LaiArnoldModified2017_contacts.osim"])
def test_writer_round_trips_real_models_through_opensim(tmp_path, relative):
    spec = parse_osim(shared_file(relative))
    write_osim(spec, tmp_path / "copy.osim")
    model = SkeletalModel.from_spec(spec)
    q = random_coordinates(model, 100, np.random.default_rng(2))
    ours = model(torch.tensor(q))
    ref_m, ref_j = opensim_fk(osim, str(tmp_path / "copy.osim"), ours.coordinates.numpy(), list(model.coordinate_names),
                              list(model.marker_names), list(model.joint_names))  # fmt: skip
    assert np.abs(ours.markers.numpy() - ref_m).max() <= 1e-9
    assert np.abs(ours.joint_centers.numpy() - ref_j).max() <= 1e-9


@pytest.mark.parametrize("reference", sorted(REFERENCES))
def test_lower6_keypoints_are_opensims_joint_centres(reference):
    path = str(shared_file(REFERENCES[reference]))
    model = SkeletalModel.from_osim(path)
    kmodel = KeypointModel(model, "LOWER-6")
    assert not kmodel.map.missing and not any(p.approximate for p in kmodel.map.points)
    q = random_coordinates(model, 50, np.random.default_rng(9))
    ours = kmodel(torch.tensor(q)).numpy()
    knee = "walker_knee" if reference == "Rajagopal" else "knee"
    joint_names = ["ankle_r", f"{knee}_r", "hip_r", "hip_l", f"{knee}_l", "ankle_l"]  # LOWER-6 order
    _, ref = opensim_fk(osim, path, model(torch.tensor(q)).coordinates.numpy(), list(model.coordinate_names), [], joint_names)
    np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_keypoint_maps_cover_the_sets_and_say_what_is_missing():
    raj = SkeletalModel.from_osim(shared_file(REFERENCES["Rajagopal"]))
    gait = SkeletalModel.from_osim(shared_file(REFERENCES["gait2392"]))
    assert keypoint_map(raj, "COCO-17").missing == ()
    assert keypoint_map(raj, "BODY-25").missing == ()
    assert set(keypoint_map(gait, "COCO-17").missing) == {"left_elbow", "right_elbow", "left_wrist", "right_wrist"}
    for ks in ("COCO-17", "LOWER-6", "BODY-25"):
        kmap = keypoint_map(builtin_model(), ks)
        assert kmap.missing == () and not any(p.approximate for p in kmap.points)


def test_keypoint_model_is_differentiable_and_nan_where_unmapped():
    model = builtin_model(arms=False)
    kmodel = KeypointModel(model, "COCO-17")
    q = model.default_coordinates().requires_grad_()
    pts = kmodel(q)
    missing = [kmodel.keypoint_names.index(n) for n in kmodel.map.missing]
    assert torch.isnan(pts[missing]).all() and not torch.isnan(pts[[i for i in range(17) if i not in missing]]).any()
    pts[kmodel.keypoint_names.index("left_ankle")].sum().backward()
    assert q.grad[model.coordinate_index("knee_angle_l")] != 0


def test_keypoints_attach_to_a_model_in_one_place():
    """IK's keypoint skeleton, the lifter's skeleton and KeypointModel all attach keypoints through
    with_keypoints: the same points, named by keypoint, with or without the model's own markers."""
    from kinelift.errors import KeypointConversionError
    from kinelift.ik.keypoints import keypoint_skeleton
    from kinelift.lifting.lifter import lifter_skeleton

    model = builtin_model(arms=True)
    q = model.default_coordinates()
    q[model.coordinate_index("knee_angle_r")] = 0.7
    alone, kmap = with_keypoints(model, "COCO-17")
    assert alone.marker_names == kmap.keypoint_set.names
    lifter = lifter_skeleton("COCO-17")
    assert lifter.marker_names == model.marker_names + tuple(f"keypoint:{n}" for n in kmap.keypoint_set.names)
    n = len(model.marker_names)
    torch.testing.assert_close(lifter(q).markers[n:], alone(q).markers)
    torch.testing.assert_close(keypoint_skeleton(model, "COCO-17")(q).markers, alone(q).markers)
    torch.testing.assert_close(KeypointModel(model, "COCO-17")(q), alone(q).markers)
    no_arms = builtin_model(arms=False)
    assert len(with_keypoints(no_arms, "COCO-17")[0].marker_names) == 13
    with pytest.raises(KeypointConversionError, match="left_elbow"):
        with_keypoints(no_arms, "COCO-17", require_all=True)
