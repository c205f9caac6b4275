"""Unit tests of the lifting layer: rotations, cameras, corruption, features, networks, lifter, loss, config, weights."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
import torch

from kinelift.core.keypoint_sets import get_keypoint_set
from kinelift.errors import FileFormatError, KeypointConversionError, ShapeError, UnknownNameError, ValueRangeError
from kinelift.lifting.cameras import PHONE_PORTRAIT, CameraDraw, look_at, project, random_cameras
from kinelift.lifting.config import DataConfig, LifterConfig, LossWeights, config_from_dict, load_config
from kinelift.lifting.corruption import DetectorNoise, double_count_groups, left_right_pairs, person_size
from kinelift.lifting.data import make_clips, render_clip, sample_windows
from kinelift.lifting.evaluation import evaluate_lifter, height_estimates, predict_clips
from kinelift.lifting.features import normalize_keypoints
from kinelift.lifting.lifter import Lifter, LifterOutput
from kinelift.lifting.loss import d3ke_loss, reprojection_error
from kinelift.lifting.metrics import mpjpe, pa_mpjpe, pelvis_pitch, segment_lean
from kinelift.lifting.motions import procedural_squats, procedural_standing, procedural_stepping
from kinelift.lifting.networks import TemporalConvNet, TemporalTransformer
from kinelift.lifting.refinement import RefinementConfig, refine_to_image, root_translation
from kinelift.lifting.rotations import (
    axis_angle_to_matrix, matrix_to_pelvis_angles, matrix_to_rotation_6d, pelvis_angles_to_matrix, rotation_6d_to_matrix,
)  # fmt: skip
from kinelift.lifting.weights import load_lifter, save_lifter
from kinelift.skeleton.builtin import builtin_model, foot_marker_indices

COCO = get_keypoint_set("COCO-17")


# ------------------------------------------------------------------ rotations
def test_pelvis_angles_match_the_skeletal_models_pelvis_rotation():
    model = builtin_model()
    rng = np.random.default_rng(0)
    q = model.default_coordinates()[None].repeat(50, 1)
    q[:, :3] = torch.as_tensor(rng.uniform([-1.5, -1.4, -3.1], [1.5, 1.4, 3.1], (50, 3)))
    R = model(q).body_rotations[:, 0]
    torch.testing.assert_close(pelvis_angles_to_matrix(q[:, :3]), R, atol=1e-7, rtol=0)
    torch.testing.assert_close(matrix_to_pelvis_angles(R), q[:, :3], atol=1e-6, rtol=0)


def test_pelvis_pitch_is_the_tilt_on_level_ground_whatever_the_heading():
    """The skeletal model's pelvis (tilt, no list) turned about the vertical: its pitch is the tilt;
    turned about its own long axis instead (heading in ``pelvis_rotation``), it is not."""
    model = builtin_model()
    rng = np.random.default_rng(1)
    tilt, heading = rng.uniform(-1.2, 0.5, 40), rng.uniform(-3.1, 3.1, 40)
    q = model.default_coordinates()[None].repeat(40, 1)
    q[:, 0] = torch.as_tensor(tilt)
    R = model(q).body_rotations[:, 0].numpy()
    c, s = np.cos(heading), np.sin(heading)
    turn = np.zeros((40, 3, 3))
    turn[:, 0, 0], turn[:, 0, 2], turn[:, 1, 1], turn[:, 2, 0], turn[:, 2, 2] = c, s, 1.0, -s, c
    up = np.tile([0.0, 3.0, 0.0], (40, 1))
    np.testing.assert_allclose(pelvis_pitch(turn @ R, up), tilt, atol=1e-9)
    q[:, 2] = torch.as_tensor(heading)
    assert np.abs(pelvis_pitch(model(q).body_rotations[:, 0].numpy(), up) - tilt).max() > 0.1
    with pytest.raises(ShapeError, match="rotation, up"):
        pelvis_pitch(R, up[:3])


def test_rotation_6d_round_trip_and_gradcheck():
    R = pelvis_angles_to_matrix(torch.tensor([[0.2, -0.4, 2.0], [1.0, 0.3, -0.5]], dtype=torch.float64))
    torch.testing.assert_close(rotation_6d_to_matrix(matrix_to_rotation_6d(R)), R)
    d6 = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(rotation_6d_to_matrix, (d6,))
    out = rotation_6d_to_matrix(d6.detach())
    torch.testing.assert_close(out @ out.transpose(-1, -2), torch.eye(3, dtype=torch.float64).expand(3, 3, 3))
    assert torch.allclose(torch.linalg.det(out), torch.ones(3, dtype=torch.float64))
    with pytest.raises(ShapeError, match="d6"):
        rotation_6d_to_matrix(torch.zeros(3, 5))


# ------------------------------------------------------------------ cameras
def test_look_at_and_projection_follow_the_opencv_convention():
    cam = look_at(np.array([0.0, 1.0, 5.0]), np.array([0.0, 1.0, 0.0]), focal=1000.0, image_size=(1280, 720))
    np.testing.assert_allclose(cam.rotation @ cam.rotation.T, np.eye(3), atol=1e-12)
    # looking along world -z, world +x is image right and world +y image up
    px = project(cam, np.array([[0.5, 1.0, 0.0], [0.0, 1.5, 0.0]]))
    np.testing.assert_allclose(px, [[640 + 100.0, 360], [640, 360 - 100.0]])
    with pytest.raises(ValueRangeError, match="in front"):
        project(cam, np.array([[0.0, 1.0, 6.0]]))


def test_random_cameras_see_the_subject():
    rng = np.random.default_rng(1)
    target = np.array([0.0, 0.9, 0.0])
    for cam in random_cameras(rng, target, n=50):
        z = cam.to_camera(target)[2]
        assert 1.4 < z < 20
        u, v = project(cam, target[None])[0]
        w, h = cam.image_size
        assert 0 < u < w and 0 < v < h


# ------------------------------------------------------------------ corruption and features
def test_detector_noise_drops_swaps_and_scores_points():
    rng = np.random.default_rng(0)
    clean = np.cumsum(rng.normal(0, 1, (200, 17, 2)), axis=0) + 300
    noisy, conf = DetectorNoise(swap_rate=1.0, drop_rate=0.2, gap_rate=1.0).apply(clean, COCO, rng)
    missing = np.isnan(noisy).any(-1)
    assert missing.mean() > 0.02 and np.all(conf[missing] == 0) and np.all(conf[~missing] > 0)
    pairs = left_right_pairs(COCO)
    swapped = np.linalg.norm(noisy[:, pairs[:, 0]] - clean[:, pairs[:, 1]], axis=-1) < np.linalg.norm(noisy[:, pairs[:, 0]] - clean[:, pairs[:, 0]], axis=-1)
    assert swapped.any()
    err = np.linalg.norm(noisy - clean, axis=-1)
    good, bad = conf > 0.8, (conf > 0) & (conf < 0.3)
    assert np.nanmean(err[good]) < np.nanmean(err[bad])
    with pytest.raises(ShapeError):
        DetectorNoise().apply(clean[:, :5], COCO, rng)
    with pytest.raises(ValueRangeError):
        DetectorNoise(drop_rate=2.0)


def test_clean_clips_and_flat_confidences_are_what_they_say():
    rng = np.random.default_rng(1)
    clean = np.cumsum(rng.normal(0, 1, (300, 17, 2)), axis=0) + 300
    size = person_size(clean)
    for seed in range(5):
        noisy, conf = DetectorNoise(clean_rate=1.0, clean_noise=0.004, noise=(0.1, 0.3), swap_rate=1.0, outlier_rate=0.5,
                                    drop_rate=0.0, gap_rate=0.0).apply(clean, COCO, np.random.default_rng(seed))  # fmt: skip
        err = np.linalg.norm(noisy - clean, axis=-1)
        assert err.max() < 6 * 0.004 * size, "a clean clip has no outliers, swaps or noise above clean_noise"
        assert np.all(conf == 1.0), "annotations carry no score"
    noisy, conf = DetectorNoise(flat_confidence_rate=1.0, swap_rate=1.0, outlier_rate=0.05, gap_rate=1.0).apply(clean, COCO, rng)
    seen = ~np.isnan(noisy).any(-1)
    assert np.all(conf[~seen] == 0) and conf[seen].min() >= 0.8, "flat confidences are high whatever the error"
    with pytest.raises(ValueRangeError, match="clean_rate"):
        DetectorNoise(clean_rate=1.5)
    with pytest.raises(ValueRangeError, match="flat_confidence_rate"):
        config_from_dict({"data": {"flat_confidence_rate": -0.1}})


def test_double_counting_puts_one_sides_ankle_on_the_others_and_is_off_by_default():
    rng = np.random.default_rng(3)
    clean = np.cumsum(rng.normal(0, 1, (400, 17, 2)), axis=0) + 300
    clean[:, COCO.index("left_ankle")] += 80.0  # the legs apart, so that a double-counted ankle is unmistakable
    quiet = dict(noise=(0.001, 0.001), jitter=0.0, outlier_rate=0.0, swap_rate=0.0, drop_rate=0.0, gap_rate=0.0)
    noisy, conf = DetectorNoise(double_count_rate=1.0, **quiet).apply(clean, COCO, np.random.default_rng(4))
    la, ra, lk, rk = (COCO.index(n) for n in ("left_ankle", "right_ankle", "left_knee", "right_knee"))
    together = np.linalg.norm(noisy[:, la] - noisy[:, ra], axis=-1) < 10.0
    assert 0.01 < together.mean() < 0.5, "spans of a fraction of the frames"
    on_right = together & (np.linalg.norm(noisy[:, la] - clean[:, ra], axis=-1) < 10.0)
    on_left = together & (np.linalg.norm(noisy[:, ra] - clean[:, la], axis=-1) < 10.0)
    assert on_right.any() and on_left.any(), "either side is moved onto the other"
    pair = conf[together][:, [la, ra]]
    assert np.all(pair.min(1) >= 0.75 * pair.max(1) - 1e-12), "a double-counted point keeps most of its source's confidence"
    knees_together = np.linalg.norm(noisy[:, lk] - noisy[:, rk], axis=-1) < 0.5 * np.linalg.norm(clean[:, lk] - clean[:, rk], axis=-1)
    assert knees_together.any() and not (knees_together & ~together).any(), "the knee goes only with its ankle"
    others = [i for i in range(len(COCO)) if i not in (la, ra, lk, rk)]
    assert np.abs(noisy[:, others] - clean[:, others]).max() < 0.05 * person_size(clean), "nothing else moves"
    default, _ = DetectorNoise(**quiet).apply(clean, COCO, np.random.default_rng(4))
    off, _ = DetectorNoise(double_count_rate=0.0, **quiet).apply(clean, COCO, np.random.default_rng(4))
    np.testing.assert_array_equal(default, off)
    assert not (np.linalg.norm(default[:, la] - default[:, ra], axis=-1) < 10.0).any()
    ankle, knee = double_count_groups(get_keypoint_set("BODY-25"))
    body25 = get_keypoint_set("BODY-25").names
    assert sorted(body25[i] for i in ankle[:, 0]) == ["left_ankle", "left_big_toe", "left_heel", "left_small_toe"]
    assert [body25[i] for i in knee[:, 1]] == ["right_knee"]
    with pytest.raises(ValueRangeError, match="double_count_rate"):
        config_from_dict({"data": {"double_count_rate": 1.5}})


def test_confidence_features_are_relative_to_the_clip():
    """A detector that scores every point half as high gives the same input as one that does not."""
    rng = np.random.default_rng(2)
    pts = rng.uniform(100, 400, (20, 17, 2))
    conf = rng.uniform(0.3, 1.0, (20, 17))
    conf[3, 4] = 0.0
    feats, _, _ = normalize_keypoints(pts, conf, COCO)
    halved, _, _ = normalize_keypoints(pts, 0.5 * conf, COCO)
    np.testing.assert_allclose(feats, halved)
    assert feats[3, 4, 2] == 0 and feats[..., 2].max() == 1.0
    np.testing.assert_allclose(feats[..., 2], np.clip(conf / np.percentile(conf[conf > 0], 90), 0, 1))
    ones, _, _ = normalize_keypoints(pts, np.ones((20, 17)), COCO)
    assert np.all(ones[..., 2] == 1.0)


def test_normalize_keypoints_centres_on_the_hips_and_interpolates_missing_hips():
    ks = get_keypoint_set("LOWER-6")
    pts = np.tile(np.array([[100.0, 400], [100, 300], [100, 200], [140, 200], [140, 300], [140, 400]]), (5, 1, 1))
    pts[:, :, 0] += np.arange(5)[:, None] * 10
    conf = np.ones((5, 6))
    pts[2, [2, 3]] = np.nan  # both hips missing in frame 2
    feats, root, size = normalize_keypoints(pts, conf, ks)
    np.testing.assert_allclose(root[:, 0], 120 + 10 * np.arange(5))
    assert np.all(feats[2, [2, 3]] == 0)
    np.testing.assert_allclose(feats[0, 0, :2], [-20 / size, 200 / size])
    with pytest.raises(KeypointConversionError, match="hip"):
        normalize_keypoints(np.full((3, 6, 2), np.nan), np.zeros((3, 6)), ks)
    with pytest.raises(ShapeError, match="confidence"):
        normalize_keypoints(pts, conf[:, :3], ks)


# ------------------------------------------------------------------ motions and data
@pytest.mark.parametrize("make", [procedural_squats, procedural_standing, procedural_stepping])
def test_procedural_motions_stand_on_the_floor(make):
    motion = make(np.random.default_rng(3))
    model = builtin_model()
    with torch.no_grad():
        out = model(torch.as_tensor(motion.coordinates))
    feet = foot_marker_indices(model.marker_names)
    np.testing.assert_allclose(out.markers[:, feet, 1].min(1).values.numpy(), 0.0, atol=1e-9)
    lo, hi = model.coordinate_ranges[6:].T
    q = motion.coordinates[:, 6:]
    assert np.mean((q >= lo - 0.2) & (q <= hi + 0.2)) > 0.99


def test_squats_tilt_the_pelvis_forward_whatever_the_heading():
    """The generated pelvis tilt is a forward tilt in the subject's own sagittal plane: at the bottom of
    every squat the pelvis's forward axis points down by the anterior tilt and hardly rolls, for
    headings all round (adding the heading to ``pelvis_rotation`` turned the tilt into sideways and
    backward leans)."""
    model = builtin_model()
    pitches, headings = [], []
    for seed in range(12):
        motion = procedural_squats(np.random.default_rng(seed))
        with torch.no_grad():
            R = model(torch.as_tensor(motion.coordinates)).body_rotations[:, 0].numpy()
        bottom = int(np.argmax(motion.coordinates[:, model.coordinate_index("knee_angle_r")]))
        forward, lateral = R[bottom][:, 0], R[bottom][:, 2]
        pitches.append(np.rad2deg(pelvis_pitch(R[bottom], np.array([0.0, 1.0, 0.0]))))
        headings.append(np.rad2deg(np.arctan2(-forward[2], forward[0])))
        assert abs(np.rad2deg(np.arcsin(lateral[1]))) < 8.0  # list: weight-shift noise only
    assert max(pitches) < 3.0 and np.median(pitches) < -5.0
    assert np.ptp(headings) > 180.0  # the headings do go all round


def test_rendered_clips_reproject_their_targets():
    """The targets put through the lifter's own skeletal layer land on the noise-free 2D input."""
    clips = make_clips([procedural_squats(np.random.default_rng(0))], "COCO-17", clips_per_motion=2, rng=np.random.default_rng(5))
    lifter = Lifter(LifterConfig(filter_widths=(1,), channels=1))
    gt = lifter.assemble(*(torch.as_tensor(a) for a in (clips.coordinates, clips.root_rotation, clips.up, clips.segment_scales)))
    err = reprojection_error(gt.keypoints, torch.as_tensor(clips.root_camera), torch.as_tensor(clips.focal_over_size),
                             torch.as_tensor(clips.root_offset), torch.as_tensor(clips.clean_2d))  # fmt: skip
    assert float(err) < 1e-5
    clip = render_clip(procedural_standing(np.random.default_rng(1)), "COCO-17", rng=np.random.default_rng(2), speed=1.0)
    np.testing.assert_allclose(project(clip.camera, clip.keypoints_3d), clip.clean, atol=1e-6)
    assert clip.tracks.keypoint_set.name == "COCO-17" and clip.tracks.n_frames == len(clip.coordinates)


def test_hip_spread_widens_only_the_rendered_2d_hips():
    """``DataConfig.hip_spread``: the 2D hips land farther apart than the projected joint centres,
    every other point and the 3D truth stay; the default draws nothing (old data stays the same)."""
    motion = procedural_standing(np.random.default_rng(1), seconds=2.0)
    plain = render_clip(motion, "LOWER-6", rng=np.random.default_rng(2), speed=1.0)
    again = render_clip(motion, "LOWER-6", rng=np.random.default_rng(2), speed=1.0, data=DataConfig(hip_spread=(1.0, 1.0)))
    np.testing.assert_array_equal(again.clean, plain.clean)
    wide = render_clip(motion, "LOWER-6", rng=np.random.default_rng(2), speed=1.0, data=DataConfig(hip_spread=(1.5, 1.5)))
    np.testing.assert_allclose(wide.keypoints_3d, plain.keypoints_3d)
    hips, others = [2, 3], [0, 1, 4, 5]
    np.testing.assert_allclose(wide.clean[:, others], project(wide.camera, wide.keypoints_3d[:, others]), atol=1e-6)
    apart = np.linalg.norm(wide.clean[:, hips[0]] - wide.clean[:, hips[1]], axis=-1)
    joint_centres = np.linalg.norm(np.diff(project(wide.camera, wide.keypoints_3d[:, hips]), axis=1)[:, 0], axis=-1)
    assert np.all(apart > 1.3 * joint_centres)
    with pytest.raises(ValueRangeError, match="hip_spread"):
        DataConfig(hip_spread=(1.5, 1.0))


def test_edge_windows_sit_at_the_ends_of_their_clip():
    """``edge_rate`` puts that share of the windows at a clip's first or last output frames, half each."""
    clips = make_clips([procedural_standing(np.random.default_rng(0), seconds=4.0)] * 3, "LOWER-6", clips_per_motion=1, rng=np.random.default_rng(0))
    ends = []
    for rate in (0.0, 0.5, 1.0):
        _, idx_out = sample_windows(clips, batch=2000, chunk=8, receptive_field=27, causal=False, rng=np.random.default_rng(1), edge_rate=rate)
        c = np.searchsorted(clips.starts, idx_out[:, 0], side="right") - 1
        first = idx_out[:, 0] == clips.starts[c]
        last = idx_out[:, -1] == clips.starts[c] + clips.lengths[c] - 1
        ends.append((first.mean(), last.mean()))
    assert sum(ends[0]) < 0.03
    assert ends[1][0] == pytest.approx(0.25, abs=0.04) and ends[1][1] == pytest.approx(0.25, abs=0.04)
    assert sum(ends[2]) == pytest.approx(1.0)
    with pytest.raises(ValueRangeError, match="edge_rate"):
        sample_windows(clips, batch=2, chunk=8, receptive_field=27, causal=False, rng=np.random.default_rng(1), edge_rate=1.5)
    with pytest.raises(ValueRangeError, match="edge_windows"):
        config_from_dict({"training": {"edge_windows": -0.1}})


def test_library_family_clips_come_from_a_toml_table(tmp_path):
    """Per-family renderings of the motion library: a TOML table, validated against the families."""
    path = tmp_path / "c.toml"
    path.write_text('[data]\nlibrary_clips = 3\n[data.library_family_clips]\nwalk = 40\nrun = 0\n')
    data = load_config(path).data
    assert data.library_family_clips == (("run", 0), ("walk", 40))
    assert [data.library_renderings(f) for f in ("walk", "run", "squat")] == [40, 0, 3]
    hash(data)
    assert config_from_dict({"data": {"library_family_clips": [["walk", 2]]}}).data.library_renderings("walk") == 2  # a saved setup's form
    with pytest.raises(ValueRangeError, match="library_family_clips"):
        config_from_dict({"data": {"library_family_clips": {"swim": 3}}})
    with pytest.raises(ValueRangeError, match="library_family_clips"):
        config_from_dict({"data": {"library_family_clips": {"walk": -1}}})
    path.write_text('[data]\nlibrary_family_clips = 3\n')
    with pytest.raises(FileFormatError, match="a table of an integer values"):
        load_config(path)


def test_the_camera_draw_is_a_data_setting_and_its_default_keeps_the_stream(tmp_path):
    """``DataConfig.cameras``: the default draw gives the clips of before to the bit; a phone held
    upright comes from a TOML table (and a saved setup's dict), and bad ranges are refused by name."""
    motion = procedural_standing(np.random.default_rng(1), seconds=2.0)
    plain = render_clip(motion, "LOWER-6", rng=np.random.default_rng(2), speed=1.0)
    again = render_clip(motion, "LOWER-6", rng=np.random.default_rng(2), speed=1.0, data=DataConfig(cameras=CameraDraw()))
    np.testing.assert_array_equal(again.clean, plain.clean)
    path = tmp_path / "c.toml"
    path.write_text('[data.cameras]\nimage_sizes = [[1080, 1920]]\nfield_of_view_deg = [60, 70]\nacross = "longer side"\n')
    data = load_config(path).data
    assert data.cameras == PHONE_PORTRAIT
    hash(data)
    assert config_from_dict({"data": asdict(data)}).data.cameras == PHONE_PORTRAIT
    for seed in range(5):
        camera = render_clip(motion, "LOWER-6", rng=np.random.default_rng(seed), speed=1.0, data=data).camera
        assert camera.image_size == (1080, 1920)
        assert 60.0 <= np.degrees(2 * np.arctan(960 / camera.focal)) <= 70.0
    for bad in ({"image_sizes": [[1080.5, 1920]]}, {"image_sizes": []}, {"field_of_view_deg": [70, 60]}, {"across": "height"}):
        with pytest.raises(ValueRangeError, match=f"data.cameras.{next(iter(bad))}"):
            DataConfig(cameras=bad)
    with pytest.raises(ValueRangeError, match="data.cameras"):
        DataConfig(cameras={"fov": 65})


def test_sample_windows_stay_inside_their_clip():
    clips = make_clips([procedural_standing(np.random.default_rng(0), seconds=2.0)] * 2, "LOWER-6", clips_per_motion=1, rng=np.random.default_rng(0))
    idx_in, idx_out = sample_windows(clips, batch=16, chunk=8, receptive_field=27, causal=False, rng=np.random.default_rng(0))
    assert idx_in.shape == (16, 34) and idx_out.shape == (16, 8)
    for a, b in zip(idx_in, idx_out):
        c = np.searchsorted(clips.starts, b[0], side="right") - 1
        lo, hi = clips.starts[c], clips.starts[c] + clips.lengths[c]
        assert lo <= a.min() and a.max() < hi
        np.testing.assert_array_equal(a[13 : 13 + 8], b)


# ------------------------------------------------------------------ networks and lifter
@pytest.mark.parametrize("widths,rf", [((3, 3, 3), 27), ((3, 3, 3, 3), 81), ((3, 3, 3, 3, 3), 243)])
def test_receptive_fields(widths, rf):
    net = TemporalConvNet(12, 5, filter_widths=widths, channels=8).eval()
    assert net.receptive_field == rf
    assert net(torch.zeros(2, 12, rf + 9)).shape == (2, 5, 10)
    with pytest.raises(ShapeError, match="receptive field"):
        net(torch.zeros(1, 12, rf - 1))


@pytest.mark.parametrize("make", [lambda: TemporalConvNet(6, 3, filter_widths=(3, 3), channels=8, causal=True),
                                  lambda: TemporalTransformer(6, 3, receptive_field=9, d_model=8, heads=2, layers=1, causal=True)])
def test_causal_networks_do_not_look_ahead(make):
    net = make().eval()
    x = torch.randn(1, 6, 20)
    y = x.clone()
    y[..., 15:] += 5.0
    with torch.no_grad():
        a, b = net(x), net(y)
    n_before = 15 - (net.receptive_field - 1)  # outputs ending before frame 15
    torch.testing.assert_close(a[..., :n_before], b[..., :n_before])
    assert not torch.allclose(a[..., -1], b[..., -1])


def test_lifter_outputs_stay_in_coordinate_ranges_and_the_loss_trains_it():
    torch.manual_seed(0)
    lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(3,), channels=16))
    out = lifter(torch.randn(2, 7, 6, 3) * 10)
    lo, hi = torch.as_tensor(builtin_model().coordinate_ranges[6:].T, dtype=torch.float32)
    assert torch.all(out.coordinates >= lo - 1e-6) and torch.all(out.coordinates <= hi + 1e-6)
    assert torch.allclose(out.up.norm(dim=-1), torch.ones(2, 5))
    clips = make_clips([procedural_squats(np.random.default_rng(0))], "LOWER-6", clips_per_motion=1, rng=np.random.default_rng(0))
    feats = torch.as_tensor(clips.features[None, :60])
    with torch.no_grad():
        target = lifter.assemble(*(torch.as_tensor(a[1:59])[None] for a in (clips.coordinates, clips.root_rotation, clips.up, clips.segment_scales)))
    opt = torch.optim.Adam(lifter.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss, terms = d3ke_loss(lifter(feats), target, LossWeights())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert set(terms) == {"joints", "markers", "scales", "coordinates", "up"}


@pytest.mark.parametrize("keypoints", ["COCO-17", "BODY-25"])
def test_assembling_only_the_keypoints_gives_the_same_keypoints_and_gradients(keypoints):
    lifter = Lifter(LifterConfig(keypoints=keypoints, filter_widths=(3,), channels=8))
    clips = make_clips([procedural_squats(np.random.default_rng(1))], keypoints, clips_per_motion=1, rng=np.random.default_rng(1))
    parts = [torch.as_tensor(a[:20], dtype=torch.float64) for a in (clips.coordinates, clips.root_rotation, clips.up, clips.segment_scales)]
    outputs, gradients = [], []
    for only in (False, True):
        coords = parts[0].clone().requires_grad_()
        out = lifter.assemble(coords, *parts[1:], keypoints_only=only)
        (out.keypoints**2).sum().backward()
        outputs.append(out)
        gradients.append(coords.grad)
    full, only = outputs
    assert full.keypoints.shape == only.keypoints.shape == (20, len(get_keypoint_set(keypoints)), 3)
    torch.testing.assert_close(only.keypoints, full.keypoints, rtol=0, atol=1e-12)
    torch.testing.assert_close(gradients[1], gradients[0], rtol=0, atol=1e-10)
    assert only.joints.shape == only.markers.shape == (20, 0, 3) and full.markers.shape[1] > 0


def test_lifter_input_needs_hips():
    from kinelift.core.keypoint_sets import KeypointSet

    no_hips = KeypointSet.custom(["nose", "left_knee", "right_knee"])
    with pytest.raises(KeypointConversionError, match="left_hip and right_hip"):
        normalize_keypoints(np.zeros((2, 3, 2)), np.ones((2, 3)), no_hips)


# ------------------------------------------------------------------ metrics
def test_pa_mpjpe_removes_similarity_and_mpjpe_does_not():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(4, 10, 3))
    R = pelvis_angles_to_matrix(torch.tensor([0.3, 0.2, 1.0], dtype=torch.float64)).numpy()
    moved = 1.3 * gt @ R.T + 0.5
    assert pa_mpjpe(moved, gt) < 1e-9 and mpjpe(moved, gt) > 0.3
    assert abs(mpjpe(gt + [0.0, 0.003, 0.004], gt) - 0.005) < 1e-12


def test_evaluation_of_the_truth_scores_zero_and_its_heights_are_the_true_ones():
    """The targets given as the lifter's outputs: zero errors with and without the height, exact heights."""
    clips = make_clips([procedural_squats(np.random.default_rng(3))], "LOWER-6", clips_per_motion=3, rng=np.random.default_rng(4))
    lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(1,), channels=1))
    truth = [lifter.assemble(*(torch.as_tensor(a[clips.clip(c)]) for a in (clips.coordinates, clips.root_rotation, clips.up, clips.segment_scales)))
             for c in range(clips.n_clips)]  # fmt: skip
    for height_given in (False, True):
        r = evaluate_lifter(lifter, clips, outputs=truth, height_given=height_given)
        assert r["mpjpe_mm"] < 1e-3 and r["pa_mpjpe_mm"] < 1e-3 and r["mean_angle_rmse_deg"] < 1e-6 and r["pelvis_tilt_rmse_deg"] < 1e-4
        assert r["thigh_lean_rmse_deg"] < 1e-4 and abs(r["hip_flexion_bias_deg"]) < 1e-6 and abs(r["pelvis_tilt_bias_deg"]) < 1e-4
        assert r["shank_lean_rmse_deg"] < 1e-4 and r["trunk_lean_rmse_deg"] < 1e-4
    estimated, true = height_estimates(truth, clips)
    np.testing.assert_allclose(estimated, true, rtol=1e-6)
    assert true.std() > 0.005  # three different bodies
    with pytest.raises(ShapeError, match="one lifter output per clip"):
        height_estimates(truth[:2], clips)



def test_keypoint_offset_moves_each_2d_keypoint_by_a_fixed_offset_in_the_pelvis_frame():
    """``DataConfig.keypoint_offset``: every rendered keypoint sits a fixed distance (in the pelvis's
    frame) from its joint centre over the whole clip, the 3D truth stays; 0 draws nothing."""
    motion = procedural_standing(np.random.default_rng(1), seconds=2.0)
    plain = render_clip(motion, "LOWER-6", rng=np.random.default_rng(2), speed=1.0)
    again = render_clip(motion, "LOWER-6", rng=np.random.default_rng(2), speed=1.0, data=DataConfig(keypoint_offset=0.0))
    np.testing.assert_array_equal(again.clean, plain.clean)
    moved = render_clip(motion, "LOWER-6", rng=np.random.default_rng(2), speed=1.0, data=DataConfig(keypoint_offset=0.05))
    np.testing.assert_allclose(moved.keypoints_3d, plain.keypoints_3d)
    # a person standing in front of a fixed camera: each keypoint's displacement in the image stays
    # about the same over the clip (the pelvis sways a little), and it is a few cm's worth of pixels
    shift = moved.clean - plain.clean
    assert np.all(shift.std(axis=0) < 0.2 * np.linalg.norm(shift, axis=-1).mean(axis=0)[:, None])
    size = np.linalg.norm(plain.clean[:, 0] - plain.clean[:, 4], axis=-1).mean()  # right ankle to right hip, about 0.85 m
    assert 0.01 * size < np.linalg.norm(shift, axis=-1).mean() < 0.25 * size
    with pytest.raises(ValueRangeError, match="keypoint_offset"):
        DataConfig(keypoint_offset=-0.01)


def test_the_standing_knee_bias_is_split_by_the_true_knee():
    """Outputs that are the truth except that they never hyperextend a knee: no bias over the knees
    of 0-10 deg, a positive one over all standing knees, and the share of hyperextended ones."""
    motion = procedural_standing(np.random.default_rng(0), seconds=3.0)
    clips = make_clips([motion], "LOWER-6", clips_per_motion=2, rng=np.random.default_rng(6))
    lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(1,), channels=1))
    knees = [lifter.pose_coordinate_names.index(f"knee_angle_{s}") for s in ("r", "l")]
    straightened = clips.coordinates.copy()
    straightened[:, knees] = np.maximum(straightened[:, knees], 0.0)
    outputs = [lifter.assemble(*(torch.as_tensor(a[clips.clip(c)]) for a in (straightened, clips.root_rotation, clips.up, clips.segment_scales)))
               for c in range(clips.n_clips)]  # fmt: skip
    r = evaluate_lifter(lifter, clips, outputs=outputs)
    hyper = clips.coordinates[:, knees] < 0
    assert hyper.any() and (~hyper).any(), "the generated person should stand with some knees hyperextended, some not"
    assert abs(r["standing_knee_bias_straight_deg"]) < 1e-4
    assert r["standing_knee_bias_deg"] > 0.05 and 0.0 < r["standing_knee_hyperextended_fraction"] < 1.0


def test_the_thigh_lean_does_not_see_a_pelvis_tilted_with_the_hips_flexed_to_match():
    """The pelvis tipped forward by 15 deg with both hips flexed by 15 deg more leaves the thighs and
    shanks where they were: hip flexion and the pelvis's tilt are off by 15 deg (opposite signs), the
    thigh's and shank's leans are not, and the trunk, carried by the pelvis, leans 15 deg more."""
    clips = make_clips([procedural_squats(np.random.default_rng(3))], "LOWER-6", clips_per_motion=1, rng=np.random.default_rng(4))
    lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(1,), channels=1))
    names = lifter.pose_coordinate_names
    q = clips.coordinates.copy()
    q[:, [names.index("hip_flexion_r"), names.index("hip_flexion_l")]] += np.deg2rad(15.0)
    tip = pelvis_angles_to_matrix(torch.tensor([np.deg2rad(-15.0), 0.0, 0.0], dtype=torch.float64)).numpy()  # about the pelvis's z
    rotation = (clips.root_rotation @ tip).astype(clips.root_rotation.dtype)
    outputs = [lifter.assemble(*(torch.as_tensor(a[clips.clip(c)]) for a in (q, rotation, clips.up, clips.segment_scales)))
               for c in range(clips.n_clips)]  # fmt: skip
    r = evaluate_lifter(lifter, clips, outputs=outputs)
    assert abs(r["hip_flexion_bias_deg"] - 15.0) < 1e-4 and abs(r["pelvis_tilt_bias_deg"] + 15.0) < 0.5
    assert r["thigh_lean_rmse_deg"] < 0.5 and r["thigh_lean_r"] > 0.999 and r["shank_lean_rmse_deg"] < 0.5
    assert abs(r["trunk_lean_rmse_deg"] - 15.0) < 1.0  # the trunk tips with the pelvis
    # a squat leans the thigh forward (negative); the lean ignores the heading
    hip, knee = np.array([[0.0, 1.0, 0.0]]), np.array([[0.3, 0.6, 0.0]])
    turn = pelvis_angles_to_matrix(torch.tensor([0.0, 0.0, 1.1], dtype=torch.float64)).numpy()
    lean = segment_lean(hip, knee, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    np.testing.assert_allclose(segment_lean(hip @ turn.T, knee @ turn.T, turn[None, :, 0], np.array([[0.0, 2.0, 0.0]])), lean, atol=1e-12)
    assert lean[0] < 0
    with pytest.raises(ShapeError, match="proximal, distal"):
        segment_lean(hip, knee[:, :2], np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))


def test_view_angles_and_the_evaluation_of_some_frames():
    from kinelift.lifting.evaluation import view_angles, view_frames

    # the pelvis facing the camera (its x axis to camera -z), turned about the up axis by yaw; camera y down
    yaw = np.deg2rad([0.0, 20.0, 45.0, 90.0, 135.0, 180.0, -70.0])
    c, s = np.cos(yaw), np.sin(yaw)
    turn = np.zeros((len(yaw), 3, 3))
    turn[:, 0, 0], turn[:, 0, 2], turn[:, 1, 1], turn[:, 2, 0], turn[:, 2, 2] = c, s, 1.0, -s, c
    facing = np.array([[0.0, 0.0, -1.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])
    rotation, up = turn @ facing, np.tile([0.0, -1.0, 0.0], (len(yaw), 1))
    expected = np.deg2rad([0.0, 20.0, 45.0, 90.0, 45.0, 0.0, 70.0])  # front and back alike, folded to [0, 90] deg
    np.testing.assert_allclose(view_angles(rotation, up), expected, atol=1e-9)
    tilt = np.deg2rad(25.0)  # a camera pitched down 25 deg: the same views in the horizontal plane
    pitch = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(tilt), -np.sin(tilt)], [0.0, np.sin(tilt), np.cos(tilt)]])
    np.testing.assert_allclose(view_angles(pitch @ rotation, up @ pitch.T), expected, atol=1e-9)
    with pytest.raises(ShapeError, match="root_rotation"):
        view_angles(rotation, up[:, :2])

    clips = make_clips([procedural_squats(np.random.default_rng(3))], "LOWER-6", clips_per_motion=3, rng=np.random.default_rng(4))
    views = view_frames(clips)
    assert sum(v.sum() for v in views.values()) == clips.n_frames and not (views["frontal"] & views["sagittal"]).any()
    lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(1,), channels=1))
    outputs = predict_clips(lifter, clips)
    every = evaluate_lifter(lifter, clips, outputs=outputs)
    halves = np.arange(clips.n_frames) < clips.n_frames // 2
    first, second = (evaluate_lifter(lifter, clips, outputs=outputs, frames=m) for m in (halves, ~halves))
    assert first["frames"] + second["frames"] == every["frames"] == clips.n_frames
    pooled = np.sqrt((first["knee_angle_rmse_deg"] ** 2 * first["frames"] + second["knee_angle_rmse_deg"] ** 2 * second["frames"]) / clips.n_frames)
    assert pooled == pytest.approx(every["knee_angle_rmse_deg"], rel=1e-6) and first["knee_angle_rmse_deg"] != second["knee_angle_rmse_deg"]
    with pytest.raises(ShapeError, match="frames"):
        evaluate_lifter(lifter, clips, outputs=outputs, frames=np.zeros(clips.n_frames, dtype=bool))

# ------------------------------------------------------------------ config and weights
def test_config_from_toml_and_its_errors(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[model]\nkeypoints = "LOWER-6"\nfilter_widths = [3, 3, 3]\n[data]\nfiles = [["a.mot", "m.osim", "degrees"]]\n')
    setup = load_config(path)
    assert setup.model.receptive_field == 27 and setup.data.files[0][0] == str(tmp_path / "a.mot") and setup.data.files[0][2] == "degrees"
    with pytest.raises(UnknownNameError, match="chanels"):
        config_from_dict({"model": {"chanels": 3}})
    with pytest.raises(UnknownNameError, match="modle"):
        config_from_dict({"modle": {}})
    with pytest.raises(ValueRangeError, match="architecture"):
        LifterConfig(architecture="lstm")
    with pytest.raises(ValueRangeError, match="files"):
        config_from_dict({"data": {"files": [["a.mot", "m.osim", "grads"]]}})
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\n")
    with pytest.raises(FileFormatError, match="TOML"):
        load_config(bad)


def test_a_resumed_run_is_the_uninterrupted_one_and_changed_settings_are_refused(tmp_path):
    """A run stopped at its warm restart and resumed gives the uninterrupted run's weights; a
    checkpoint is never resumed under other settings (here the rate), only extended; the
    schedule's options are validated."""
    from kinelift.lifting.training import train_lifter

    def setup(out, steps, lr, **extra):
        return config_from_dict({"model": {"keypoints": "LOWER-6", "filter_widths": [3], "channels": 8},
                                 "data": {"n_squats": 2, "n_standing": 1, "n_stepping": 1, "clips_per_motion": 1, "test_fraction": 0.5},
                                 "training": {"steps": steps, "batch_size": 2, "chunk": 4, "lr": lr, "lr_decay": 0.5, "eval_every": 2,
                                              "checkpoint_every": 2, "out_dir": str(out), "device": "cpu", **extra}})  # fmt: skip

    one = train_lifter(setup(tmp_path / "one", 4, 1e-3, warm_restarts=[2], warm_restart_factor=3.0), progress=False)
    train_lifter(setup(tmp_path / "two", 2, 1e-3, warm_restarts=[2], warm_restart_factor=3.0), progress=False)
    with pytest.raises(ValueRangeError, match=r"settings changed: training.lr: 0.001 -> 0.003; training.warm_restart_factor"):
        train_lifter(setup(tmp_path / "two", 4, 3e-3), progress=False)
    two = train_lifter(setup(tmp_path / "two", 4, 1e-3, warm_restarts=[2], warm_restart_factor=3.0), progress=False)  # resumes at step 2
    a, b = (torch.load(r.out_dir / "checkpoint.pt", weights_only=True)["model"] for r in (one, two))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-7) for k in a)
    plain = train_lifter(setup(tmp_path / "plain", 4, 1e-3), progress=False)  # no restart: other weights
    c = torch.load(plain.out_dir / "checkpoint.pt", weights_only=True)["model"]
    assert not all(torch.allclose(a[k], c[k], rtol=1e-5, atol=1e-7) for k in a)
    with pytest.raises(ValueRangeError, match="warm_restarts"):
        config_from_dict({"training": {"warm_restarts": [3000, 1000]}})
    with pytest.raises(ValueRangeError, match="warm_restart_factor"):
        config_from_dict({"training": {"warm_restart_factor": 0.0}})


def test_warm_restarts_take_one_factor_each_or_one_for_all():
    """A list of factors gives each restart its own; it must name one per restart."""
    each = config_from_dict({"training": {"lr": 1e-3, "lr_decay": 1.0, "warm_restarts": [10, 20], "warm_restart_factor": [2.0, 5.0]}}).training
    assert each.warm_restart_factor == (2.0, 5.0)  # a tuple: the configuration stays hashable
    assert [each.learning_rate(s) for s in (9, 10, 19, 20)] == pytest.approx([1e-3, 2e-3, 2e-3, 1e-2])
    same = config_from_dict({"training": {"lr": 1e-3, "lr_decay": 1.0, "warm_restarts": [10, 20], "warm_restart_factor": 2.0}}).training
    assert [same.learning_rate(s) for s in (9, 10, 20)] == pytest.approx([1e-3, 2e-3, 4e-3])
    for bad in ([2.0], [2.0, 3.0, 4.0], [2.0, -1.0]):
        with pytest.raises(ValueRangeError, match="one for each of the 2 warm restarts"):
            config_from_dict({"training": {"warm_restarts": [10, 20], "warm_restart_factor": bad}})


def test_data_stages_grow_the_data_as_a_resume_would(tmp_path):
    """A run whose data grows at a step, stopped there and resumed, gives the weights and log of the
    uninterrupted run; resuming under data settings other than the checkpoint's is refused."""
    from kinelift.lifting.training import train_lifter

    def setup(out, steps, **data):
        return config_from_dict({"model": {"keypoints": "LOWER-6", "filter_widths": [3], "channels": 8},
                                 "data": {"n_squats": 2, "n_standing": 1, "n_stepping": 1, "clips_per_motion": 1, "test_fraction": 0.5, **data},
                                 "training": {"steps": steps, "batch_size": 2, "chunk": 4, "eval_every": 2, "checkpoint_every": 2,
                                              "out_dir": str(out), "device": "cpu"}})  # fmt: skip

    grown = {"n_squats": 4, "n_standing": 2, "clips_per_motion": 2}
    one = train_lifter(setup(tmp_path / "one", 4, stages=[{"from_step": 2, **grown}]), progress=False)
    train_lifter(setup(tmp_path / "two", 2, stages=[{"from_step": 2, **grown}]), progress=False)
    with pytest.raises(ValueRangeError, match="settings changed: data.clips_per_motion: 1 -> 2"):
        train_lifter(setup(tmp_path / "two", 4, **grown), progress=False)
    two = train_lifter(setup(tmp_path / "two", 4, stages=[{"from_step": 2, **grown}]), progress=False)  # resumes at step 2 on the grown data
    a, b = (torch.load(r.out_dir / "checkpoint.pt", weights_only=True) for r in (one, two))
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in a["rows"]]
    assert strip == [{k: v for k, v in row.items() if k != "seconds"} for row in b["rows"]]
    assert [row["frames"] for row in a["rows"]][0] < a["rows"][-1]["frames"]  # evaluated on the grown test split
    plain = train_lifter(setup(tmp_path / "plain", 4), progress=False)  # no stage: other weights
    c = torch.load(plain.out_dir / "checkpoint.pt", weights_only=True)["model"]
    assert not all(torch.equal(a["model"][k], c[k]) for k in c)


def test_data_stages_keep_every_motion_in_its_split():
    """No test motion of a later stage was a training motion of an earlier one, and the stages are validated."""
    from kinelift.lifting.config import DataConfig
    from kinelift.lifting.data import motion_split

    data = DataConfig(n_squats=20, n_standing=4, n_stepping=4, stages=[{"from_step": 10, "n_squats": 40, "n_standing": 8},
                                                                       {"from_step": 20, "n_stepping": 12}])  # fmt: skip
    assert data.at_step(9).n_squats == 20 and data.at_step(10).n_squats == 40 and data.at_step(25).n_stepping == 12
    assert data.at_step(25).n_standing == 8 and data.at_step(25).stages == ()

    def key(motion):
        return motion.coordinates.tobytes()

    splits = [motion_split(data.at_step(step), 30.0) for step in (0, 10, 20)]
    for i, (_, test) in enumerate(splits):
        for train, _ in splits[: i + 1]:
            assert not {key(m) for m in test} & {key(m) for m in train}
    assert {key(m) for m in splits[0][0][:18]} <= {key(m) for m in splits[2][0]}  # the first squats stay in training
    with pytest.raises(ValueRangeError, match="increasing order"):
        DataConfig(stages=[{"from_step": 20, "n_squats": 4}, {"from_step": 10, "n_squats": 8}])
    with pytest.raises(ValueRangeError, match="from_step"):
        DataConfig(stages=[{"n_squats": 4}])
    with pytest.raises(ValueRangeError, match="whole counts"):
        DataConfig(stages=[{"from_step": 10, "n_squats": -4}])
    with pytest.raises(UnknownNameError, match="seed"):
        config_from_dict({"data": {"stages": [{"from_step": 10, "seed": 3}]}})


def test_weights_round_trip_and_bad_files(tmp_path):
    lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(3, 3), channels=8)).eval()
    path = tmp_path / "w.pt"
    save_lifter(lifter, path, metrics={"mpjpe_mm": 1.0})
    again = load_lifter(path)
    x = torch.randn(1, 12, 6, 3)
    with torch.no_grad():
        torch.testing.assert_close(again(x).keypoints, lifter(x).keypoints, atol=2e-2, rtol=0)  # float16 storage
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(FileFormatError, match="junk.pt"):
        load_lifter(tmp_path / "junk.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(FileFormatError, match="not a kinelift lifter"):
        load_lifter(tmp_path / "other.pt")
    with pytest.raises(UnknownNameError):
        load_lifter("BODY-99")


def test_transformer_lifter_trains_through_the_skeletal_layer():
    torch.manual_seed(0)
    lifter = Lifter(LifterConfig(keypoints="LOWER-6", architecture="transformer", transformer_window=9, transformer_dim=16,
                                 transformer_heads=2, transformer_layers=1))  # fmt: skip
    out = lifter(torch.randn(2, 12, 6, 3))
    assert out.joints.shape == (2, 4, len(lifter.joint_names), 3)
    loss, _ = d3ke_loss(out, lifter.decode(torch.zeros(2, 4, lifter.n_pose + 17)), LossWeights())
    loss.backward()
    assert all(p.grad is not None for p in lifter.network.parameters() if p.requires_grad)


def test_mirrored_prediction_is_the_mirror_image():
    """The mirror of a pose, put through the skeletal layer, gives the mirror image of its keypoints."""
    from kinelift.lifting.mirror import keypoint_permutation, mirror_features, mirror_prediction

    clips = make_clips([procedural_squats(np.random.default_rng(0))], "COCO-17", clips_per_motion=1, rng=np.random.default_rng(5))
    lifter = Lifter(LifterConfig(filter_widths=(1,), channels=1))
    coords, rot, up, seg = (torch.as_tensor(a, dtype=torch.float64) for a in (clips.coordinates, clips.root_rotation, clips.up, clips.segment_scales))
    lifter = lifter.double()
    gt = lifter.assemble(coords, rot, up, seg)
    mirrored = lifter.assemble(*mirror_prediction(coords, rot, up, lifter.pose_coordinate_names), seg)
    expected = gt.keypoints[:, keypoint_permutation(COCO)].clone()
    expected[..., 0] *= -1
    torch.testing.assert_close(mirrored.keypoints, expected, atol=1e-9, rtol=0)
    feats = torch.as_tensor(clips.features[:5])
    twice = mirror_features(mirror_features(feats, COCO), COCO)
    torch.testing.assert_close(twice, feats)


# ------------------------------------------------------------------ refinement
def test_axis_angle_matches_scipy_and_has_gradients_at_zero():
    from scipy.spatial.transform import Rotation

    v = torch.as_tensor(np.random.default_rng(0).normal(0, 1.5, (20, 3)))
    torch.testing.assert_close(axis_angle_to_matrix(v), torch.as_tensor(Rotation.from_rotvec(v.numpy()).as_matrix()), atol=1e-12, rtol=0)
    for start in (torch.zeros(2, 3), torch.randn(3, 3)):
        assert torch.autograd.gradcheck(axis_angle_to_matrix, (start.double().requires_grad_(),))
    with pytest.raises(ShapeError, match="rotation vectors"):
        axis_angle_to_matrix(torch.zeros(4))


def test_root_translation_ignores_missing_and_zero_weight_points():
    rng = np.random.default_rng(1)
    points = torch.as_tensor(rng.normal(0, 0.3, (5, 8, 3)))
    truth = torch.as_tensor(np.c_[rng.normal(0, 0.5, (5, 2)), rng.uniform(2, 6, 5)])
    seen = points + truth[:, None]
    image = seen[..., :2] / seen[..., 2:]
    weights = torch.ones(5, 8)
    image[:, 0] = float("nan")  # missing
    image[:, 1] += 0.5  # a wild point with no weight
    weights[:, 1] = 0.0
    torch.testing.assert_close(root_translation(points, image, weights), truth, atol=1e-6, rtol=0)
    with pytest.raises(ShapeError, match="image_points"):
        root_translation(points, image[:, :4], weights)


def test_refinement_config_is_validated():
    assert RefinementConfig().iterations > 0
    with pytest.raises(ValueRangeError, match="keypoint_noise"):
        RefinementConfig(keypoint_noise=0.0)
    with pytest.raises(ValueRangeError, match="iterations"):
        RefinementConfig(iterations=2.5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_fits_adam_steps_are_torchs_adam_bit_for_bit(dtype):
    from kinelift.lifting.refinement import _Adam

    torch.manual_seed(0)
    ours = [torch.randn(5, 3, dtype=dtype, requires_grad=True), torch.randn(4, dtype=dtype, requires_grad=True),
            torch.randn(2, dtype=dtype, requires_grad=True)]  # fmt: skip
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    optimizers = (_Adam(ours, lr=0.05), torch.optim.Adam(theirs, lr=0.05))
    for _ in range(30):
        for params, optimizer in zip((ours, theirs), optimizers):
            loss = (params[0] ** 2).sum().sin() + (params[1] ** 3).sum()  # the third gets no gradient: left as it is
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    assert not ours[0].equal(theirs[0].detach().clone().zero_())  # they moved
    for a, b in zip(ours, theirs):
        assert a.equal(b)


def _frontal_view(lifter: Lifter, q: torch.Tensor, offset: tuple[float, float, float]):
    """The pelvis facing the camera (its x axis towards it), upright, the built-in body: the pose
    ``q`` seen from ``offset`` (m, camera frame). Returns (rotation, up, segment scales, image points)."""
    n = len(q)
    facing = torch.tensor([[0.0, 0.0, -1.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]]).expand(n, 3, 3)
    up, seg = torch.tensor([0.0, -1.0, 0.0]).expand(n, 3), torch.ones(n, 8)
    with torch.no_grad():
        seen = lifter.assemble(q, facing, up, seg).keypoints + torch.tensor(offset)
    return facing, up, seg, seen[..., :2] / seen[..., 2:]


def test_refinement_pulls_a_wrong_visible_angle_towards_the_image():
    """A frontal view shows hip adduction: started 0.15 rad off, the fit to the true pose's image
    must remove most of the error, and leave the body and the up direction as they were."""
    lifter = Lifter(LifterConfig(keypoints="COCO-17", filter_widths=(3,), channels=8))
    n = 10
    q = torch.zeros(n, lifter.n_pose)
    names = lifter.pose_coordinate_names
    q[:, names.index("knee_angle_r")] = q[:, names.index("knee_angle_l")] = torch.linspace(0.2, 1.0, n)
    facing, up, seg, image = _frontal_view(lifter, q, (0.1, -0.2, 3.5))
    wrong = q.clone()
    col = names.index("hip_adduction_r")
    wrong[:, col] += 0.15
    with torch.no_grad():
        start = lifter.assemble(wrong, facing, up, seg)
    refined = refine_to_image(lifter, start, image, torch.ones(n, 17), focal_over_size=1000.0 / 300.0,
                              config=RefinementConfig(iterations=150))  # fmt: skip
    error = (refined.coordinates[:, col] - q[:, col]).abs().mean()
    assert error < 0.05, f"hip adduction still {float(error):.3f} rad off"
    assert refined.segment_scales.equal(seg) and refined.up.equal(up)
    with pytest.raises(ShapeError, match="image_points"):
        refine_to_image(lifter, start, image[:, :5], torch.ones(n, 17), focal_over_size=3.0)
    with pytest.raises(ValueRangeError, match="focal_over_size"):
        refine_to_image(lifter, start, image, torch.ones(n, 17), focal_over_size=-1.0)


def test_the_depth_prior_keeps_the_depth_and_fits_what_the_image_shows():
    """RefinementConfig.depth_sd: in a frontal view a start 0.15 rad off in hip adduction (seen)
    and 0.3 rad off in knee flexion (mostly depth) is fitted to the true pose's image; with the
    depth prior the keypoints' depths move less than without it while the adduction is still
    fitted; depth_sd must be positive."""
    lifter = Lifter(LifterConfig(keypoints="COCO-17", filter_widths=(3,), channels=8))
    n, names = 6, lifter.pose_coordinate_names
    q = torch.zeros(n, lifter.n_pose)
    knee, adduction = names.index("knee_angle_r"), names.index("hip_adduction_r")
    q[:, knee] = 0.4
    facing, up, seg, image = _frontal_view(lifter, q, (0.0, -0.2, 3.5))
    wrong = q.clone()
    wrong[:, adduction] += 0.15
    wrong[:, knee] += 0.3
    with torch.no_grad():
        start = lifter.assemble(wrong, facing, up, seg)
    moved = {}
    for depth_sd in (None, 0.01):
        config = RefinementConfig(depth_sd=depth_sd)  # the loose defaults, with and without their depth prior
        refined = refine_to_image(lifter, start, image, torch.ones(n, 17), focal_over_size=1000.0 / 300.0, config=config)
        moved[depth_sd] = float((refined.keypoints[..., 2] - start.keypoints[..., 2]).abs().mean())
        assert float((refined.coordinates[:, adduction] - q[:, adduction]).abs().mean()) < 0.05
    assert moved[0.01] < 0.5 * moved[None], moved
    with pytest.raises(ValueRangeError, match="depth_sd"):
        RefinementConfig(depth_sd=0.0)


def test_foot_points_pull_the_ankle_by_their_own_noise_scale():
    """RefinementConfig.foot_noise: a BODY-25 image whose heels and toes show the ankle 0.3 rad
    further than the start pulls the fitted ankle towards it, less with the foot's wider scale;
    the ankle has no foot point in COCO-17, and foot_noise must be positive."""
    lifter = Lifter(LifterConfig(keypoints="BODY-25", filter_widths=(3,), channels=8))
    assert [n for n, f in zip(lifter.keypoint_set.names, lifter.foot_keypoints) if f] == [
        "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel"]
    assert not Lifter(LifterConfig(keypoints="COCO-17", filter_widths=(3,), channels=8)).foot_keypoints.any()
    n, names = 6, lifter.pose_coordinate_names
    ankle = names.index("ankle_angle_r")
    q = torch.zeros(n, lifter.n_pose)
    q[:, names.index("knee_angle_r")] = 0.4
    seen = q.clone()
    seen[:, ankle] = 0.3
    facing, up, seg, image = _frontal_view(lifter, seen, (0.0, -0.2, 3.5))
    with torch.no_grad():
        start = lifter.assemble(q, facing, up, seg)
    moved = {}
    for foot_noise in (0.03, 0.12):
        refined = refine_to_image(lifter, start, image, torch.ones(n, 25), focal_over_size=1000.0 / 300.0,
                                  config=RefinementConfig(foot_noise=foot_noise))  # fmt: skip
        moved[foot_noise] = float(refined.coordinates[:, ankle].mean())
    assert 0.0 < moved[0.12] < 0.7 * moved[0.03] and moved[0.03] > 0.1, moved
    with pytest.raises(ValueRangeError, match="foot_noise"):
        RefinementConfig(foot_noise=0.0)


def test_fit_to_points_recovers_the_pose_that_made_the_points():
    """Lift to 3D points, then fit: the model's own points of a pose, with the fit started 0.3 rad
    off in knee and hip flexion, give that pose back; NaN points are refused."""
    from kinelift.lifting.refinement import fit_to_points

    lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(3,), channels=8))
    n, names = 6, lifter.pose_coordinate_names
    q = torch.zeros(n, lifter.n_pose, dtype=torch.float64)
    cols = [names.index(c) for c in ("knee_angle_r", "hip_flexion_l")]
    q[:, cols[0]], q[:, cols[1]] = torch.linspace(0.3, 1.2, n), 0.5
    rot, up = torch.eye(3, dtype=torch.float64).expand(n, 3, 3), torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64).expand(n, 3)
    seg = torch.ones(n, 8, dtype=torch.float64)
    with torch.no_grad():
        truth = lifter.double().assemble(q, rot, up, seg)
        wrong = q.clone()
        wrong[:, cols] += 0.3
        start = lifter.assemble(wrong, rot, up, seg)
    target = LifterOutput(start.coordinates, rot, up, seg, truth.joints, truth.markers, truth.keypoints)
    fitted = fit_to_points(lifter, target, config=RefinementConfig(iterations=300, coordinate_sd=5.0, rotation_sd=5.0))
    error = (fitted.coordinates[:, cols] - q[:, cols]).abs().max()
    assert error < 0.02, f"still {float(error):.3f} rad off"
    bad = LifterOutput(start.coordinates, rot, up, seg, truth.joints * float("nan"), truth.markers, truth.keypoints)
    with pytest.raises(ValueRangeError, match="finite 3D points"):
        fit_to_points(lifter, bad)


def test_a_points_lifter_starts_as_its_coordinate_twin():
    """``output="points"``: free points on top of the forward kinematics; with the correction's
    weights at zero (how training grows it from a coordinate lifter) the outputs are the twin's."""
    from dataclasses import replace

    twin = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(3, 3), channels=16)).eval()
    points = Lifter(replace(twin.config, output="points")).eval()
    points.load_coordinates_twin(twin)
    x = torch.randn(2, 12, 6, 3)
    with torch.no_grad():
        a, b = twin(x), points(x)
    assert points.n_points == len(points.joint_names) + points.n_markers + 6
    for name in ("coordinates", "joints", "markers", "keypoints", "segment_scales"):
        torch.testing.assert_close(getattr(b, name), getattr(a, name))
    with pytest.raises(ValueRangeError, match="output"):
        LifterConfig(output="keypoints")
    with pytest.raises(ValueRangeError, match="twin"):
        points.load_coordinates_twin(Lifter(replace(twin.config, channels=8)))


def test_a_lifter_for_another_keypoint_set_starts_from_the_shared_points():
    """``load_other_keypoints``: the input weights of the points both sets have are copied by name,
    the others start at zero, so the grown lifter reads the shared points as the old one did."""
    from dataclasses import replace

    coco = Lifter(LifterConfig(keypoints="COCO-17", filter_widths=(3, 3), channels=16)).eval()
    lsp = Lifter(replace(coco.config, keypoints="LSP-14")).eval()
    lsp.load_other_keypoints(coco)
    x = torch.randn(2, 12, 17, 3)
    names, own = list(coco.keypoint_set.names), list(lsp.keypoint_set.names)
    x[:, :, [names.index(n) for n in names if n not in own]] = 0.0  # the face, which LSP-14 does not have
    y = torch.randn(2, 12, 14, 3)  # its head top and neck: their weights are zero, so any value reads the same
    for i, n in enumerate(own):
        if n in names:
            y[:, :, i] = x[:, :, names.index(n)]
    with torch.no_grad():
        a, b = coco(x), lsp(y)
    torch.testing.assert_close(b.coordinates, a.coordinates, atol=1e-5, rtol=0)
    with pytest.raises(ValueRangeError, match="another keypoint set"):
        lsp.load_other_keypoints(Lifter(replace(coco.config, channels=8)))


def test_intrinsics_from_a_field_of_view():
    from kinelift.lifting import Intrinsics

    intr = Intrinsics.from_field_of_view(60.0, (1280, 720))
    assert intr.principal_point == (640.0, 360.0)
    assert np.degrees(2 * np.arctan(640.0 / intr.focal)) == pytest.approx(60.0)
    with pytest.raises(ValueRangeError, match="field of view"):
        Intrinsics.from_field_of_view(0.0, (1280, 720))
    with pytest.raises(ValueRangeError, match="image_size"):
        Intrinsics.from_field_of_view(60.0, (0, 720))
    # one camera in both orientations: the field of view across the longer side
    portrait = Intrinsics.from_field_of_view(60.0, (720, 1280), across="longer side")
    assert portrait.focal == pytest.approx(intr.focal) and portrait.principal_point == (360.0, 640.0)
    assert Intrinsics.from_field_of_view(60.0, (720, 1280)).focal == pytest.approx(intr.focal * 720 / 1280)
    with pytest.raises(ValueRangeError, match="across"):
        Intrinsics.from_field_of_view(60.0, (720, 1280), across="height")
    with pytest.warns(DeprecationWarning, match="horizontal_fov_deg"):
        assert Intrinsics.from_field_of_view(horizontal_fov_deg=60.0, image_size=(1280, 720)).focal == pytest.approx(intr.focal)


def test_lift_assumes_the_field_of_view_across_the_longer_side(monkeypatch):
    """A phone filming in portrait is the same camera as in landscape: without intrinsics, the fit
    projects a portrait track through the focal length of the landscape one (0.3.10 took 65 deg
    across the width, a focal length 1.8 times too short at 1080x1920)."""
    import kinelift.lifting.inference as inference
    from kinelift.lifting import lift
    from kinelift.lifting.inference import ASSUMED_FIELD_OF_VIEW_DEG
    from kinelift.synthetic import squat_tracks

    seen = []
    real_fit = inference.refine_to_image

    def recording(*args, **kwargs):
        seen.append(float(kwargs["focal_over_size"]))
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(inference, "refine_to_image", recording)
    clip = squat_tracks(n_reps=1, seed=0).observed
    for size in ((1920, 1080), (1080, 1920)):
        lift(clip.replace(metadata={**clip.metadata, "image_width": size[0], "image_height": size[1]}), lifter="LOWER-6", flip=False)
    assert seen[0] == pytest.approx(seen[1])
    from kinelift.core import get_keypoint_set
    from kinelift.lifting.features import normalize_keypoints

    lower = clip.to_keypoint_set("LOWER-6")
    _, _, size = normalize_keypoints(lower.positions, np.where(lower.valid, lower.confidence, 0.0), get_keypoint_set("LOWER-6"))
    focal = 960.0 / np.tan(np.deg2rad(ASSUMED_FIELD_OF_VIEW_DEG) / 2)  # px: half the longer side over tan(half the angle)
    assert seen[0] == pytest.approx(focal / size, rel=1e-3)
