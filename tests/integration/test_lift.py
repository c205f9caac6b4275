"""The shipped lifters on generated clips, the result's files in OpenSim, and ``kinelift lift``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kinelift.cli import main
from kinelift.core.tracks import IMAGE_SIZE_KEYS, Tracks
from kinelift.errors import ShapeError, ValueRangeError
from kinelift.io.hdf5 import read_h5, write_h5
from kinelift.io.mot import read_mot
from kinelift.lifting import Intrinsics, lift
from kinelift.lifting.corruption import DetectorNoise
from kinelift.lifting.data import render_clip
from kinelift.lifting.metrics import pa_mpjpe
from kinelift.lifting.motions import motion_from_file, procedural_squats
from kinelift.lifting.segments import standing_height
from kinelift.skeleton.builtin import foot_marker_indices

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
OPENCAP = SHARED / "opencap-squat" / "Moco"


def _rmse_deg(result, clip, angle: str = "knee_angle") -> float:
    """RMSE (deg) of ``angle`` (both sides pooled) between a lift result and the clip's truth."""
    names = result.coordinate_names
    cols = [names.index(f"{angle}_r"), names.index(f"{angle}_l")]
    return float(np.rad2deg(np.sqrt(np.mean((result.coordinates[:, cols] - clip.coordinates[:, cols]) ** 2))))


def _opencap_squat():
    return motion_from_file(OPENCAP / "exampleSquat" / "squats1_videoAndMocap.mot",
                            source_model=OPENCAP / "models" / "LaiArnoldModified2017_contacts.osim")  # fmt: skip


@pytest.fixture(scope="module")
def squat_clip():
    """A procedural squat from a random stream the training data never used, seen from an oblique camera."""
    return _squat_clips(1)[0]


def _squat_clips(n: int = 6, noise: DetectorNoise | None = None):
    """``n`` procedural squats from a random stream the training data never used, each from its own
    camera, with ``noise`` (default: the detector-like noise of training)."""
    return [render_clip(procedural_squats(np.random.default_rng(2024 + i)), "COCO-17", rng=np.random.default_rng(7 + i), speed=1.0,
                        noise=noise) for i in range(n)]  # fmt: skip


# Issue 5 asks for knee flexion within 5 deg RMSE on a generated clip. One clip's figure swings by
# several degrees between trainings of equal held-out accuracy (the first of these clips: 4.9 deg from
# one COCO-17 training, 8.0 from the next), so the check is on the median clip of six. Both lifters meet
# 5 deg: COCO-17 median 3.1, LOWER-6 3.4 (the weights of docs/lift.md; those before them 3.8 and 4.0).
@pytest.mark.parametrize("keypoints,bound", [("COCO-17", 5.0), ("LOWER-6", 5.0)])
def test_shipped_lifters_recover_knee_flexion(keypoints, bound):
    rmses = []
    for clip in _squat_clips():
        tracks = clip.tracks if keypoints == "COCO-17" else clip.tracks.to_keypoint_set("LOWER-6")
        result = lift(tracks)
        assert result.coordinates.shape == (clip.tracks.n_frames, 32)
        rmses.append(_rmse_deg(result, clip))
    assert np.median(rmses) < bound and max(rmses) < 10.0, f"{keypoints}: knee flexion RMSE per clip {np.round(rmses, 2)} deg"


@pytest.mark.parametrize("keypoints", ["COCO-17", "LOWER-6"])
def test_exact_points_with_confidence_one_are_lifted_as_well_as_noisy_ones(keypoints):
    """Hand labels and projected motion capture: no detector noise, every confidence 1. Lifters
    that learnt one detector's confidence scale lifted such input worse than noisy input
    (docs/lift.md). Four squats and cameras; knee RMSE averaged over them."""
    exact = DetectorNoise(clean_rate=1.0, clean_noise=0.0, drop_rate=0.0, gap_rate=0.0)
    rmse_exact, rmse_noisy = [], []
    for clip, noisy in zip(_squat_clips(4, noise=exact), _squat_clips(4)):
        np.testing.assert_allclose(clip.clean, noisy.clean)  # the same body, camera and playback
        labelled, tracks = clip.tracks, noisy.tracks
        np.testing.assert_array_equal(labelled.positions, clip.clean)
        assert np.all(labelled.confidence == 1.0)
        if keypoints == "LOWER-6":
            labelled, tracks = labelled.to_keypoint_set("LOWER-6"), tracks.to_keypoint_set("LOWER-6")
        rmse_exact.append(_rmse_deg(lift(labelled), clip))
        rmse_noisy.append(_rmse_deg(lift(tracks), clip))
    exact_mean, noisy_mean = np.mean(rmse_exact), np.mean(rmse_noisy)
    assert exact_mean < noisy_mean + 0.5, f"{keypoints}: knee RMSE {exact_mean:.2f} deg exact, {noisy_mean:.2f} deg noisy"


def test_intrinsics_refine_the_pose_towards_the_keypoints():
    """With the camera known, ``lift`` fits the lifted pose back to the 2D keypoints
    (kinelift.lifting.refinement): the 3D keypoints' shape comes closer to the truth and knee flexion
    stays as good. Over the six squats, PA-MPJPE: COCO-17 30.2 -> 24.9 mm (26.3 with a guessed field
    of view of 60 deg; the cameras' are 40-69), knee RMSE 3.12 -> 3.08 deg (3.08); LOWER-6, which
    sees less, 14.5 -> 14.3 mm and 3.91 -> 3.86 deg (held-out figures in docs/lift.md). Since 0.3.7
    the fit's looser smoothness follows these clips' frame-independent generated noise a little
    (COCO-17 knee 3.36 -> 3.63 deg with the fit through the true camera, 3.77 and 3.69 through the
    guessed 60-deg and the assumed 65-deg ones; LOWER-6 3.83 -> 4.14; before, within 0.2), while
    it gains on real 2D and on held-out motion capture under unseen cameras (docs/lift.md, "The
    fit's depth prior"): here the knee may lose up to 0.5 deg.

    Since 0.3.11 the assumed camera spans 65 deg across the image's longer side (a phone's main
    camera in either orientation). One of these clips is filmed in portrait at 69 deg across its
    width, 101 across its long side, an ultrawide lens: the assumed focal length is 1.9 times too
    long there and its knee after the fit is 6.65 deg (plain 3.02; 4.18 under 0.3.10's 65 deg
    across the width). So the assumed camera is checked on the clips whose lens is within the
    assumption's reach (at most 85 deg across the long side); an ultrawide lens needs
    ``intrinsics=`` (docs/lift.md, "A phone held upright")."""
    for keypoints, least_gain_mm in (("COCO-17", 2.0), ("LOWER-6", -1.0)):
        runs: dict[str, dict[int, tuple[float, float]]] = {}  # clip -> (PA-MPJPE mm, knee RMSE deg)
        for c, clip in enumerate(_squat_clips()):
            tracks = clip.tracks if keypoints == "COCO-17" else clip.tracks.to_keypoint_set("LOWER-6")
            truth = Tracks(clip.keypoints_3d, keypoints="COCO-17", fps=tracks.fps).to_keypoint_set(keypoints).positions
            intrinsics = Intrinsics(clip.camera.focal, clip.camera.principal_point)
            results = {"plain": lift(tracks, intrinsics=intrinsics, refine=False), "refined": lift(tracks, intrinsics=intrinsics)}
            assert results["refined"].keypoints.metadata["refined"]
            if keypoints == "COCO-17":
                results["guessed"] = lift(tracks, intrinsics=Intrinsics.from_field_of_view(60.0, clip.camera.image_size))
                assert tracks.image_size == clip.camera.image_size  # rendered tracks know their image size
                assumed = lift(tracks)  # no intrinsics: the fit assumes a camera from the image size
                assert assumed.keypoints.metadata["refined_camera"].startswith("assumed")
                assert not results["plain"].keypoints.metadata["refined"]
                long_side_fov = np.degrees(2 * np.arctan(max(clip.camera.image_size) / (2 * clip.camera.focal)))
                if long_side_fov <= 85.0:  # not an ultrawide lens
                    results["assumed"] = assumed
            for name, result in results.items():
                runs.setdefault(name, {})[c] = (1000 * pa_mpjpe(result.keypoints.positions, truth), _rmse_deg(result, clip))
        plain_by_clip = runs.pop("plain")
        for name, scores in runs.items():  # refined; and guessed and assumed for COCO-17, each against plain on the same clips
            plain = np.mean([plain_by_clip[c] for c in scores], axis=0)
            fitted = np.mean(list(scores.values()), axis=0)
            assert plain[0] - fitted[0] > least_gain_mm and fitted[1] < plain[1] + 0.5, f"{keypoints} {name}: PA-MPJPE, knee {plain} -> {fitted}"
    bare = clip.tracks.replace(metadata={k: v for k, v in clip.tracks.metadata.items() if k not in IMAGE_SIZE_KEYS})
    assert not lift(bare).keypoints.metadata["refined"]  # neither intrinsics nor an image size: no fit
    with pytest.raises(ValueRangeError, match="intrinsics= or a track that knows its image size"):
        lift(bare, refine=True)


def test_height_sets_the_body_and_intrinsics_place_it(squat_clip):
    true_height = standing_height(torch.as_tensor(squat_clip.segment_scales))
    cam = squat_clip.camera
    result = lift(squat_clip.tracks, height=true_height, intrinsics=Intrinsics(cam.focal, cam.principal_point))
    assert result.height == pytest.approx(true_height)
    depth = cam.to_camera(squat_clip.pelvis_position)[:, 2]
    assert np.median(np.abs(result.root_in_camera[:, 2] - depth) / depth) < 0.05
    # feet on the floor of the lifted ground frame: the lowest sole landmark (heels, big and small toes)
    feet = foot_marker_indices(result.markers.keypoint_names)
    assert abs(np.nanmin(result.markers.positions[:, feet, 1])) < 1e-6
    # the estimated up direction: the camera's view of the world's vertical
    up_true = cam.rotation @ np.array([0.0, 1.0, 0.0])
    up_est = result.camera_rotation @ np.array([0.0, 1.0, 0.0])
    assert np.degrees(np.arccos(np.clip(up_true @ up_est, -1, 1))) < 8.0
    # the subject lost for the first 10 frames: no pose there, the ground from the frames seen
    lost = squat_clip.tracks.positions.copy()
    lost[:10] = np.nan
    part = lift(squat_clip.tracks.replace(positions=lost), height=true_height, intrinsics=Intrinsics(cam.focal, cam.principal_point))
    assert not part.seen[:10].any() and part.seen[10:].all()
    assert np.isnan(part.root_in_camera[:10]).all() and np.isnan(part.coordinates[:10]).all() and np.isfinite(part.coordinates[10:]).all()
    assert abs(np.nanmin(part.markers.positions[:, feet, 1])) < 1e-6 and part.coordinates[10, 3] == 0.0 and part.coordinates[10, 5] == 0.0


def test_other_frame_rates_are_resampled_and_bad_input_refused(squat_clip):
    t60 = squat_clip.tracks.replace(time=squat_clip.tracks.time / 2.0)  # the same motion at 60 Hz
    result = lift(t60)
    np.testing.assert_array_equal(result.time, t60.time)
    # resampled to the lifter's 30 Hz and back: the knee as lifted at 30 Hz, within a degree or so
    assert abs(_rmse_deg(result, squat_clip) - _rmse_deg(lift(squat_clip.tracks), squat_clip)) < 1.0
    with pytest.raises(ShapeError, match="2D"):
        lift(squat_clip.tracks.replace(positions=np.zeros((t60.n_frames, 17, 3)), units="m", coordinate_frame="ground"))
    with pytest.raises(ValueRangeError, match="height"):
        lift(squat_clip.tracks, height=17.5)
    with pytest.raises(ValueRangeError, match="none of"):
        lift(squat_clip.tracks.replace(positions=np.full_like(squat_clip.tracks.positions, np.nan)))
    assert result.seen.all() and result.seen.shape == (t60.n_frames,)


def test_written_files_load_in_opensim(squat_clip, tmp_path):
    osim = pytest.importorskip("opensim")
    osim.Logger.removeFileSink()
    osim.Logger.setLevelString("error")
    result = lift(squat_clip.tracks[:40])
    paths = result.write(tmp_path, stem="clip")
    table = read_mot(paths["mot"])
    np.testing.assert_allclose(table.values, result.coordinates, atol=1e-6)
    model = osim.Model(str(paths["osim"]))
    state = model.initSystem()
    coords = model.getCoordinateSet()
    frame = 20
    for i, name in enumerate(result.coordinate_names):
        coords.get(name).setValue(state, float(result.coordinates[frame, i]), False)
    model.assemble(state) if False else model.realizePosition(state)
    knee = model.getJointSet().get("knee_r").getChildFrame().getPositionInGround(state)
    ours = result.joints.positions[frame, result.joints.keypoint_names.index("knee_r_center")]
    np.testing.assert_allclose([knee.get(0), knee.get(1), knee.get(2)], ours, atol=1e-6)
    trc = osim.TimeSeriesTableVec3(str(paths["trc"]))
    assert trc.getNumRows() == 40


@pytest.mark.skipif(not OPENCAP.exists(), reason="../shared/data/opencap-squat is not on this machine")
def test_held_out_opencap_squat(tmp_path):
    """The real squat the lifters never saw in training, rendered through a camera with detector noise."""
    clip = render_clip(_opencap_squat(), "COCO-17", rng=np.random.default_rng(11), speed=1.0)
    result = lift(clip.tracks)
    assert _rmse_deg(result, clip) < 6.5  # 4.21 deg here; benchmarks/lift_eval.py: 4.10 deg over four renderings


@pytest.mark.skipif(not OPENCAP.exists(), reason="../shared/data/opencap-squat is not on this machine")
def test_held_out_opencap_squat_hip_flexion_from_lower6():
    """Hip flexion needs the pelvis tilt, which LOWER-6 cannot see: the lifter's prior must tilt the
    pelvis forward with depth, as the real squat does (39 deg at the bottom). Median of six renderings:
    15.6 deg RMSE (the previous weights 16.2; those trained on sideways-leaning generated pelvises 19.7)."""
    motion = _opencap_squat()
    rmses = []
    for seed in range(11, 17):
        clip = render_clip(motion, "COCO-17", rng=np.random.default_rng(seed), speed=1.0)
        rmses.append(_rmse_deg(lift(clip.tracks.to_keypoint_set("LOWER-6")), clip, "hip_flexion"))
    assert np.median(rmses) < 18.0, np.round(rmses, 1)


def test_cli_lift_writes_opensim_files(squat_clip, tmp_path, capsys):
    src = tmp_path / "clip.h5"
    write_h5(src, tracks=[squat_clip.tracks[:60]])
    assert main(["lift", str(src), "--out", str(tmp_path / "out"), "--height", "1.7"]) == 0
    out = capsys.readouterr().out
    assert "height 1.70 m" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clip.h5", "clip.mot", "clip.trc", "clip_model.osim"]
    assert main(["lift", str(src), "--out", str(tmp_path / "out"), "--focal", "1000"]) == 2
    assert "principal-point" in capsys.readouterr().err
    camera = ["--focal", str(squat_clip.camera.focal), "--principal-point", *map(str, squat_clip.camera.principal_point)]
    assert main(["lift", str(src), "--out", str(tmp_path / "refined"), *camera]) == 0
    assert main(["lift", str(src), "--out", str(tmp_path / "plain"), *camera, "--no-refine"]) == 0
    refined, plain = read_mot(tmp_path / "refined" / "clip.mot"), read_mot(tmp_path / "plain" / "clip.mot")
    knee = refined.column_names.index("knee_angle_r")
    assert 0 < np.abs(refined.values[:, knee] - plain.values[:, knee]).max() < 0.25  # rad: a correction, not a new pose
    # a file without the frame size (OpenPose's JSON): --image-size gives the fit its assumed camera
    bare = tmp_path / "bare.h5"
    write_h5(bare, tracks=[squat_clip.tracks[:60].replace(metadata={k: v for k, v in squat_clip.tracks.metadata.items()
                                                                    if k not in IMAGE_SIZE_KEYS})])  # fmt: skip
    width, height = squat_clip.camera.image_size
    assert main(["lift", str(bare), "--out", str(tmp_path / "sized"), "--image-size", str(width), str(height)]) == 0
    sized = next(t for t in read_h5(tmp_path / "sized" / "bare.h5").tracks if t.person_id == "keypoints")
    assert sized.metadata["refined_camera"].startswith("assumed")
    assert main(["lift", str(bare), "--out", str(tmp_path / "tiny"), "--image-size", "64", "48"]) == 2
    assert "image size" in capsys.readouterr().err


CROUCH = SHARED / "opensim-models" / "Tutorials" / "Intro_to_Musculoskeletal_Modeling" / "crouch1.mot"
GAIT2392 = SHARED / "opensim-models" / "Models" / "Gait2392_Simbody" / "gait2392_thelen2003muscle.osim"


@pytest.mark.skipif(not CROUCH.exists(), reason="../shared/data/opensim-models is not on this machine")
def test_motion_files_map_by_name_with_the_source_models_knee_sign():
    from kinelift.io.mot import read_mot
    from kinelift.skeleton.builtin import builtin_model

    table = read_mot(CROUCH)
    motion = motion_from_file(CROUCH, source_model=GAIT2392, fps=1.0 / float(np.median(np.diff(table.time))))
    names = builtin_model().coordinate_names
    knee = motion.coordinates[:, names.index("knee_angle_r")]
    np.testing.assert_allclose(knee, -table.column("knee_angle_r")[: len(knee)], atol=1e-3)  # gait2392 counts flexion negative
    hip = motion.coordinates[:, names.index("hip_flexion_l")]
    np.testing.assert_allclose(hip, table.column("hip_flexion_l")[: len(hip)], atol=1e-3)


PENN = SHARED / "penn-action-labels"


@pytest.mark.skipif(not PENN.exists(), reason="../shared/data/penn-action-labels is not on this machine")
def test_lifted_knee_flexion_on_real_side_view_squats_agrees_with_the_2d_angle():
    """Real hand-labelled 2D squats (Penn Action), side views: the lifted 3D knee flexion (LOWER-6
    lifter, as PENN-13 has no face) follows the 2D hip-knee-ankle angle of the leg nearer the camera
    (the one labelled visible in most frames), which a side view shows nearly undistorted."""
    import csv

    from kinelift.analysis import nearer_leg_knee_flexion
    from kinelift.io.penn_action import read_penn_action

    with open(PENN / "index.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["action"] == "squat" and r["pose_view"] in ("left", "right")]
    rmses = []
    for row in rows[:30]:
        lower = read_penn_action(PENN / "labels" / f"{row['seq']}.mat", fps=30.0).to_keypoint_set("LOWER-6")
        side, flex_2d = nearer_leg_knee_flexion(lower)
        ok = np.isfinite(flex_2d)
        if ok.mean() < 0.75:
            continue
        result = lift(lower)
        assert result.keypoints.keypoint_set.name == "LOWER-6"
        flex_3d = result.coordinates[:, result.coordinate_names.index(f"knee_angle_{side}")]
        rmses.append(np.degrees(np.sqrt(np.mean((flex_3d[ok] - flex_2d[ok]) ** 2))))
    assert len(rmses) >= 10
    assert np.median(rmses) < 8.5, np.round(rmses, 1)  # 0.3.8: 7.34 over these 24 clips (0.3.7: 7.82); the fit of 0.3.6 (no depth prior): 9.45


def test_cli_train_lifter_on_a_tiny_configuration(tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text('[model]\nkeypoints = "LOWER-6"\nfilter_widths = [3]\nchannels = 8\n'
                      '[data]\nn_squats = 2\nn_standing = 1\nn_stepping = 1\nclips_per_motion = 1\ntest_fraction = 0.5\n'
                      '[training]\nsteps = 2\nbatch_size = 2\nchunk = 4\neval_every = 2\n')  # fmt: skip
    assert main(["train-lifter", str(config), "--out-dir", str(tmp_path / "run")]) == 0
    assert "held-out mpjpe_mm" in capsys.readouterr().out
    from kinelift.lifting import load_lifter

    assert load_lifter(tmp_path / "run" / "lifter.pt").config.keypoints == "LOWER-6"
    config.write_text("[model]\nkeypionts = 1\n")
    assert main(["train-lifter", str(config)]) == 2
    assert "keypionts" in capsys.readouterr().err


def test_train_lifter_under_torchrun_with_two_processes(tmp_path):
    """DistributedDataParallel on CPU (gloo): both processes train, rank 0 evaluates and writes."""
    from tests.conftest import run_torchrun

    config = tmp_path / "tiny.toml"
    config.write_text('[model]\nkeypoints = "LOWER-6"\nfilter_widths = [3]\nchannels = 8\n'
                      '[data]\nn_squats = 2\nn_standing = 1\nn_stepping = 1\nclips_per_motion = 1\ntest_fraction = 0.5\n'
                      f'[training]\nsteps = 4\nbatch_size = 2\nchunk = 4\neval_every = 2\nout_dir = "{tmp_path / "run"}"\n')  # fmt: skip
    done = run_torchrun(["train-lifter", str(config)])
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "run" / "lifter.pt").exists()
    assert len((tmp_path / "run" / "log.csv").read_text().strip().splitlines()) == 3  # header + evaluations at steps 2, 4
