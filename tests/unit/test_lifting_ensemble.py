"""Ensembles of lifters (kinelift.lifting.ensemble): which coordinates each lifter sees, how outputs
are averaged, and that ``lift`` and the evaluation use them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinelift.errors import ValueRangeError
from kinelift.lifting import lift, load_lifter
from kinelift.lifting.config import LifterConfig
from kinelift.lifting.ensemble import combine_outputs, lifter_sources, seen_coordinates, seen_segments
from kinelift.lifting.lifter import Lifter
from kinelift.lifting.segments import SEGMENTS


def _small(keypoints: str, seed: int) -> Lifter:
    torch.manual_seed(seed)
    return Lifter(LifterConfig(keypoints=keypoints, filter_widths=(3,), channels=8)).eval()


def test_lifter_sources_split_names_but_not_files(tmp_path):
    assert lifter_sources("COCO-17+LOWER-6") == ["COCO-17", "LOWER-6"]
    assert lifter_sources(" a.pt + LOWER-6 ") == ["a.pt", "LOWER-6"]
    assert lifter_sources("LOWER-6") == ["LOWER-6"]
    assert lifter_sources(["COCO-17", "LOWER-6"]) == ["COCO-17", "LOWER-6"]
    odd = tmp_path / "x+y.pt"
    odd.write_bytes(b"")
    assert lifter_sources(str(odd)) == [str(odd)]  # an existing file whose name has a + is one lifter
    lifter = _small("LOWER-6", 0)
    assert lifter_sources(lifter) == [lifter]
    for bad in ("COCO-17+", "+LOWER-6", []):
        with pytest.raises(ValueRangeError, match="lifter"):
            lifter_sources(bad)


def test_seen_coordinates_follow_the_keypoints():
    legs, coco = _small("LOWER-6", 0), _small("COCO-17", 0)
    names = legs.pose_coordinate_names
    seen_legs = dict(zip(names, seen_coordinates(legs)))
    seen_coco = dict(zip(names, seen_coordinates(coco)))
    for side in ("r", "l"):
        for c in ("hip_flexion", "hip_adduction", "hip_rotation", "knee_angle"):
            assert seen_legs[f"{c}_{side}"] and seen_coco[f"{c}_{side}"]
        for c in ("arm_flex", "elbow_flex"):
            assert not seen_legs[f"{c}_{side}"] and seen_coco[f"{c}_{side}"]
        assert not seen_legs[f"ankle_angle_{side}"] and not seen_coco[f"ankle_angle_{side}"]  # no foot point in either set
    assert not seen_legs["lumbar_extension"] and seen_coco["lumbar_extension"]
    assert dict(zip(SEGMENTS, seen_segments(legs))) == {s: s in ("pelvis", "thigh", "shank") for s in SEGMENTS}


def test_combine_outputs_averages_what_each_lifter_sees():
    coco, legs = _small("COCO-17", 1), _small("LOWER-6", 2)
    a, b = coco(torch.randn(1, 9, 17, 3)), legs(torch.randn(1, 9, 6, 3))
    out = combine_outputs([coco, legs], [a, b])
    names = coco.pose_coordinate_names
    for name in ("knee_angle_r", "hip_flexion_l"):
        i = names.index(name)
        torch.testing.assert_close(out.coordinates[..., i], (a.coordinates[..., i] + b.coordinates[..., i]) / 2)
    for name in ("arm_flex_r", "lumbar_extension"):  # the primary's own, the other lifter cannot see them
        i = names.index(name)
        torch.testing.assert_close(out.coordinates[..., i], a.coordinates[..., i])
    i = names.index("ankle_angle_l")  # neither sees it: both guesses averaged
    torch.testing.assert_close(out.coordinates[..., i], (a.coordinates[..., i] + b.coordinates[..., i]) / 2)
    torso = list(SEGMENTS).index("torso")
    torch.testing.assert_close(out.segment_scales[..., torso], a.segment_scales[..., torso])
    rot = out.root_rotation
    torch.testing.assert_close(rot @ rot.transpose(-1, -2), torch.eye(3).expand_as(rot), atol=1e-5, rtol=0)
    assert out.keypoints.shape == a.keypoints.shape  # the primary's keypoints
    same = combine_outputs([coco, coco], [a, a])  # two equal predictions average to themselves
    torch.testing.assert_close(same.keypoints, a.keypoints, atol=1e-5, rtol=0)
    torch.testing.assert_close(same.root_rotation, a.root_rotation, atol=1e-5, rtol=0)
    with pytest.raises(ValueRangeError, match="one output per lifter"):
        combine_outputs([coco, legs], [a])
    with pytest.raises(ValueRangeError, match="same frames"):
        combine_outputs([coco, legs], [a, legs(torch.randn(1, 10, 6, 3))])


def test_lift_with_the_default_ensemble_averages_the_two_shipped_lifters():
    from kinelift.synthetic import squat_tracks

    clip = squat_tracks(n_reps=1, seed=3).observed
    both = lift(clip, refine=False)  # the default for COCO-17 tracks
    assert both.keypoints.metadata["lifter"] == "COCO-17+LOWER-6" and both.keypoints.keypoint_set.name == "COCO-17"
    coco = lift(clip, lifter="COCO-17", refine=False)
    legs = lift(clip, lifter="LOWER-6", refine=False)
    names = list(both.coordinate_names)
    knee, arm = names.index("knee_angle_r"), names.index("arm_flex_r")
    np.testing.assert_allclose(both.coordinates[:, knee], (coco.coordinates[:, knee] + legs.coordinates[:, knee]) / 2, atol=1e-5)
    np.testing.assert_allclose(both.coordinates[:, arm], coco.coordinates[:, arm], atol=1e-5)
    same = lift(clip, lifter=[load_lifter("COCO-17"), "LOWER-6"], refine=False)
    np.testing.assert_allclose(same.coordinates, both.coordinates, atol=1e-6)
    lsp_like = clip.to_keypoint_set("LOWER-6")
    assert lift(lsp_like, refine=False).keypoints.metadata["lifter"] == "LOWER-6"


def test_evaluation_predicts_an_ensemble_from_the_primary_clips():
    from kinelift.lifting.data import make_clips
    from kinelift.lifting.evaluation import predict_clips
    from kinelift.lifting.motions import procedural_standing

    clips = make_clips([procedural_standing(np.random.default_rng(0), seconds=1.0)], "COCO-17", clips_per_motion=1,
                       rng=np.random.default_rng(0))  # fmt: skip
    coco, legs = _small("COCO-17", 1), _small("LOWER-6", 2)
    out = predict_clips([coco, legs], clips)
    assert len(out) == 1 and out[0].keypoints.shape == (int(clips.lengths[0]), 17, 3)
    with pytest.raises(ValueRangeError, match="primary"):
        predict_clips([legs, coco], clips)


def test_converted_clips_keep_the_camera_consistent():
    """A lifter of another keypoint set reads its points of the same renderings: its clean 2D
    points are the projection of its 3D keypoints through the rescaled camera terms, exactly as
    for the clips' own set."""
    from kinelift.lifting.data import make_clips
    from kinelift.lifting.evaluation import convert_clips
    from kinelift.lifting.motions import procedural_standing

    clips = make_clips([procedural_standing(np.random.default_rng(1), seconds=1.0)], "COCO-17", clips_per_motion=2,
                       rng=np.random.default_rng(1))  # fmt: skip
    for keypoints in ("COCO-17", "LOWER-6"):
        own = convert_clips(clips, keypoints)
        lifter = _small(keypoints, 0)
        with torch.no_grad():
            truth = lifter.assemble(*(torch.as_tensor(a) for a in (own.coordinates, own.root_rotation, own.up, own.segment_scales)))
        points = truth.keypoints.double().numpy() + own.root_camera[:, None]
        projected = points[..., :2] / points[..., 2:]
        scale = own.focal_over_size[:, None, None]
        offset = own.root_offset - own.focal_over_size[:, None] * own.root_camera[:, :2] / own.root_camera[:, 2:3]
        np.testing.assert_allclose(scale * projected + offset[:, None], own.clean_2d, atol=1e-4)
    legs = convert_clips(clips, "LOWER-6")
    assert np.abs(legs.features[..., :2]).max() > 0 and legs.features.shape[1] == 6
    assert convert_clips(clips, "COCO-17") is clips


def test_the_default_lifter_is_the_whole_body_one_beside_lower6():
    from kinelift.core.keypoint_sets import get_keypoint_set
    from kinelift.core.tracks import Tracks
    from kinelift.errors import KeypointConversionError
    from kinelift.lifting.inference import _default_lifter

    def track(name: str, feet_missing_in: int = 0) -> Tracks:
        points = np.zeros((4, len(get_keypoint_set(name)), 2))
        feet = [i for i, n in enumerate(get_keypoint_set(name).names) if n.endswith(("heel", "toe", "foot_index"))]
        points[:feet_missing_in, feet[:1]] = np.nan  # one foot point missing is a frame without the feet
        return Tracks(points, keypoints=name, fps=30.0)

    assert _default_lifter(track("COCO-17")) == "COCO-17+LOWER-6"
    for with_feet in ("BODY-25", "HALPE-26", "BODY-25B"):  # OpenPose, RTMPose/AlphaPose (Pose2Sim, Sports2D)
        assert _default_lifter(track(with_feet)) == "BODY-25+LOWER-6"
        assert _default_lifter(track(with_feet, feet_missing_in=2)) == "BODY-25+LOWER-6"  # half the frames: FEET_SEEN_FRACTION
        assert _default_lifter(track(with_feet, feet_missing_in=3)) == "COCO-17+LOWER-6"  # feet mostly missing: lifted without
    assert _default_lifter(track("MEDIAPIPE-33")) == "COCO-17+LOWER-6"  # its toes are one point per foot: measured worse on real video
    blazepose = Tracks(np.random.default_rng(0).random((4, 33, 2)), keypoints="MEDIAPIPE-33", fps=30.0)
    as_body25 = blazepose.to_keypoint_set("BODY-25", allow_derived=True)  # both toes at BlazePose's foot_index
    for side in ("left", "right"):
        tip = blazepose.positions[:, blazepose.keypoint_names.index(f"{side}_foot_index")]
        for toe in ("big_toe", "small_toe"):
            np.testing.assert_array_equal(as_body25.positions[:, as_body25.keypoint_names.index(f"{side}_{toe}")], tip)
    with pytest.raises(KeypointConversionError, match="derived"):
        track("MEDIAPIPE-33").to_keypoint_set("BODY-25")
    assert _default_lifter(track("LSP-14")) == "LSP-14+LOWER-6"  # kinelift's own detector
    assert _default_lifter(track("PENN-13")) == "LOWER-6"
    assert _default_lifter(track("LOWER-6")) == "LOWER-6"
    assert load_lifter("LSP-14").keypoint_set.name == "LSP-14"


def test_each_lifter_of_an_ensemble_reads_its_own_points_of_the_track():
    """LOWER-6 first, COCO-17 second: the second still gets COCO-17 from the given track (not from
    the primary's six points), and a track no member can read gets a clear error."""
    from kinelift.errors import KeypointConversionError
    from kinelift.synthetic import squat_tracks

    clip = squat_tracks(n_reps=1, seed=4).observed
    result = lift(clip, lifter="LOWER-6+COCO-17", refine=False)
    assert result.keypoints.keypoint_set.name == "LOWER-6" and result.keypoints.metadata["lifter"] == "LOWER-6+COCO-17"
    with pytest.raises(KeypointConversionError, match="COCO-17"):
        lift(clip.to_keypoint_set("LOWER-6"), lifter="LOWER-6+COCO-17", refine=False)


def test_the_feet_lifter_reads_body25_and_sets_that_convert_to_it():
    """The shipped BODY-25 lifter (the default for tracks with feet, ``"BODY-25+LOWER-6"``) sees the ankles through the
    foot points: in the ensemble the ankle is its own (LOWER-6 has no foot point), the knee the
    average; BODY-25B tracks reach it through the derived neck and hips' midpoint."""
    from kinelift.core.keypoint_sets import get_keypoint_set
    from kinelift.core.tracks import Tracks
    from kinelift.synthetic import squat_tracks

    coco = squat_tracks(n_reps=1, seed=5).observed
    names = coco.keypoint_names
    at = {n: coco.positions[:, names.index(n)] for n in names}
    conf = {n: coco.confidence[:, names.index(n)] for n in names}
    for side in ("left", "right"):  # feet below and ahead of the ankles (px; the image's y points down)
        ankle = at[f"{side}_ankle"]
        at[f"{side}_heel"], at[f"{side}_big_toe"], at[f"{side}_small_toe"] = ankle + [-8.0, 12.0], ankle + [30.0, 18.0], ankle + [25.0, 16.0]
        for point in ("heel", "big_toe", "small_toe"):
            conf[f"{side}_{point}"] = conf[f"{side}_ankle"]
    at["neck"], at["mid_hip"] = (at["left_shoulder"] + at["right_shoulder"]) / 2, (at["left_hip"] + at["right_hip"]) / 2
    conf["neck"], conf["mid_hip"] = np.minimum(conf["left_shoulder"], conf["right_shoulder"]), np.minimum(conf["left_hip"], conf["right_hip"])
    at["upper_neck"], at["head_top"], conf["upper_neck"], conf["head_top"] = at["nose"], at["nose"] - [0.0, 20.0], conf["nose"], conf["nose"]

    def track(name: str) -> Tracks:
        order = get_keypoint_set(name).names
        return Tracks(np.stack([at[n] for n in order], axis=1), keypoints=name, confidence=np.stack([conf[n] for n in order], axis=1),
                      time=coco.time)  # fmt: skip

    body25 = track("BODY-25")
    both = lift(body25, refine=False)  # the default for a track with feet
    assert both.keypoints.keypoint_set.name == "BODY-25" and both.keypoints.metadata["lifter"] == "BODY-25+LOWER-6"
    feet = lift(body25, lifter="BODY-25", refine=False)
    legs = lift(body25, lifter="LOWER-6", refine=False)
    coordinates = list(both.coordinate_names)
    ankle, knee = coordinates.index("ankle_angle_r"), coordinates.index("knee_angle_r")
    np.testing.assert_allclose(both.coordinates[:, ankle], feet.coordinates[:, ankle], atol=1e-5)
    np.testing.assert_allclose(both.coordinates[:, knee], (feet.coordinates[:, knee] + legs.coordinates[:, knee]) / 2, atol=1e-5)
    seen = dict(zip(load_lifter("BODY-25").pose_coordinate_names, seen_coordinates(load_lifter("BODY-25"))))
    assert seen["ankle_angle_r"] and seen["ankle_angle_l"]
    from_b25b = lift(track("BODY-25B"), lifter="BODY-25+LOWER-6", refine=False)  # neck and mid_hip derived as midpoints
    np.testing.assert_allclose(from_b25b.coordinates, both.coordinates, atol=1e-5)
