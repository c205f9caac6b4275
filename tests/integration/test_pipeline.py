"""The main job end to end: kinelift run (one input, many, on Dask), resuming, export to OpenSim."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kinelift.batch import dask_executor, output_folders, process_many
from kinelift.cli import main
from kinelift.errors import FileFormatError, OutputExistsError, UnknownNameError, ValueRangeError
from kinelift.io import read_h5, read_mot, read_trc
from kinelift.pipeline import RunConfig, run
from kinelift.pipeline.config import load_run_config
from kinelift.pipeline.demo_clip import write_demo_input
from kinelift.pipeline.export import export_opensim, to_opensim_tables


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    write_demo_input(folder / "subject_a.json", n_reps=2, seed=11)
    write_demo_input(folder / "subject_b.json", n_reps=1, seed=12)
    (folder / "corrupt.json").write_text('{"images": [1, 2')
    return folder


def test_run_on_walking_reports_no_squats_and_says_why(tmp_path):
    """Walking bends the knees in turn; the job must not report squat repetitions (real walking and
    running videos were), and the summary counts the bends it set aside because the feet moved."""
    from kinelift.io import save
    from kinelift.lifting.data import render_clip
    from kinelift.lifting.motions import procedural_gait

    rng = np.random.default_rng(3)
    clip = render_clip(procedural_gait(rng, seconds=6.0, running=False), "COCO-17", rng=rng, speed=1.0)
    save(tmp_path / "walk.json", tracks=[clip.tracks], format="coco")
    summary = run(tmp_path / "walk.json", tmp_path / "out", config=RunConfig(figures=False), progress=False)
    assert summary.repetitions == 0 and summary.verdicts == () and summary.bends_not_counted >= 1
    assert "moved the feet" in summary.to_text()
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["bends_not_counted"] == summary.bends_not_counted


def test_run_outputs_and_resume(clip_files, tmp_path):
    out = tmp_path / "a"
    summary = run(clip_files / "subject_a.json", out, progress=False)
    assert summary.repetitions == 2 and not summary.reused
    assert not (out / "tracks_2d.h5").exists()  # only a video's detections are cached
    assert json.loads((out / "summary.json").read_text())["repetitions"] == 2
    stages = summary.stage_seconds  # not a video: no annotated video stage
    assert set(stages) == {"2d", "processing", "lifting", "analysis", "outputs"} and all(v >= 0 for v in stages.values())
    assert sum(stages.values()) <= summary.seconds + 0.01 and "seconds per stage: 2d" in summary.to_text()
    assert json.loads((out / "summary.json").read_text())["stage_seconds"].keys() == stages.keys()
    contents = read_h5(out / "result.h5")
    coords = contents.kinematics["coordinates"]
    assert coords.n_frames == summary.frames and "knee_angle_r" in coords.column_names
    assert read_mot(out / "kinematics.mot").n_frames == summary.frames
    assert read_trc(out / "markers.trc")[0].units == "m"  # written in mm, read back in SI
    stamp = (out / "result.h5").stat().st_mtime_ns
    again = run(clip_files / "subject_a.json", out, progress=False)
    assert again.reused and (out / "result.h5").stat().st_mtime_ns == stamp
    (out / "result.h5").unlink()  # an incomplete folder is redone
    assert not run(clip_files / "subject_a.json", out, progress=False).reused


def test_run_never_answers_a_changed_job_from_old_results(clip_files, tmp_path):
    """Another input under the same name, another setting, or outputs of unknown origin: refused
    with what differs named; overwrite recomputes; a killed run's staging folder goes away."""
    import shutil

    source = tmp_path / "clip.json"
    shutil.copy(clip_files / "subject_a.json", source)
    out = tmp_path / "out"
    first = run(source, out, config=RunConfig(figures=False), progress=False)
    assert first.repetitions == 2 and first.fingerprint["input_sha256"]
    (out / ".kinelift-run.killed").mkdir()
    assert run(source, out, config=RunConfig(figures=False), progress=False).reused
    assert not (out / ".kinelift-run.killed").exists()
    with pytest.raises(OutputExistsError, match="setting height: None -> 1.8"):
        run(source, out, config=RunConfig(figures=False, height=1.8), progress=False)
    shutil.copy(clip_files / "subject_b.json", source)  # same name, other content
    with pytest.raises(OutputExistsError, match="input file content"):
        run(source, out, config=RunConfig(figures=False), progress=False)
    redone = run(source, out, config=RunConfig(figures=False), overwrite=True, progress=False)
    assert not redone.reused and redone.repetitions == 1
    assert json.loads((out / "summary.json").read_text())["fingerprint"] == redone.fingerprint
    assert not (out / ".kinelift-pending.json").exists()
    (out / "summary.json").unlink()  # outputs without a summary: not ours to replace silently
    with pytest.raises(OutputExistsError, match="result.h5"):
        run(source, out, config=RunConfig(figures=False), progress=False)
    with pytest.raises(ValueRangeError):  # a failed run leaves no empty folder behind
        run(source, tmp_path / "new", config=RunConfig(person=7), progress=False)
    assert not (tmp_path / "new").exists()


def test_batch_inputs_in_another_order_are_not_answered_from_each_others_folders(tmp_path, clip_files):
    import shutil

    for sub, name in (("x", "subject_a.json"), ("y", "subject_b.json")):
        (tmp_path / sub).mkdir()
        shutil.copy(clip_files / name, tmp_path / sub / "clip.json")
    inputs = [tmp_path / "x" / "clip.json", tmp_path / "y" / "clip.json"]
    config = RunConfig(figures=False)
    first = process_many(inputs, tmp_path / "out", config=config, progress=False)
    assert [o.summary.repetitions for o in first.succeeded] == [2, 1]
    swapped = process_many(inputs[::-1], tmp_path / "out", config=config, progress=False)
    assert len(swapped.failed) == 2 and all("another job" in o.error for o in swapped.failed)
    redone = process_many(inputs[::-1], tmp_path / "out", config=config, overwrite=True, progress=False)
    assert [o.summary.repetitions for o in redone.succeeded] == [1, 2]


def test_the_2d_cache_is_used_only_for_the_same_input_and_settings(tmp_path):
    from kinelift import Tracks
    from kinelift.io import save
    from kinelift.pipeline.fingerprint import detection_fingerprint, run_fingerprint
    from kinelift.pipeline.run import _cached_people

    video = tmp_path / "v.mp4"
    video.write_bytes(b"frames")
    made = detection_fingerprint(run_fingerprint(video, RunConfig()))
    people = [Tracks(np.ones((3, 14, 2)), keypoints="LSP-14", fps=30.0, metadata={"detection_fingerprint": made})]
    save(tmp_path / "tracks_2d.h5", tracks=people)
    assert _cached_people(tmp_path / "tracks_2d.h5", made) is not None
    assert made == detection_fingerprint(run_fingerprint(video, RunConfig(height=1.8)))  # lifting settings: same detections
    for changed in (RunConfig(detector="LOWER-6"), RunConfig(fps=25.0), RunConfig(max_fps=None), RunConfig(max_fps=15.0)):
        assert _cached_people(tmp_path / "tracks_2d.h5", detection_fingerprint(run_fingerprint(video, changed))) is None
    video.write_bytes(b"other frames")
    assert _cached_people(tmp_path / "tracks_2d.h5", detection_fingerprint(run_fingerprint(video, RunConfig()))) is None


def test_new_shipped_weights_or_a_changed_lifter_file_are_another_job(tmp_path, monkeypatch):
    """The shipped lifters and detectors are named, not given as files: their content is part of the
    fingerprint (a result made with the previous weights is never reused), and so is a lifter
    weights file's; the 2D cache depends on the detectors' only."""
    import shutil

    from kinelift.lifting import weights as lifting_weights
    from kinelift.pipeline.fingerprint import detection_fingerprint, run_fingerprint

    (tmp_path / "a.json").write_text("{}")
    before = run_fingerprint(tmp_path / "a.json", RunConfig())
    copy = tmp_path / "lifter_lower6.pt"
    shutil.copy(lifting_weights.SHIPPED_WEIGHTS["LOWER-6"], copy)
    with open(copy, "ab") as fh:
        fh.write(b"\0")
    monkeypatch.setitem(lifting_weights.SHIPPED_WEIGHTS, "LOWER-6", copy)
    after = run_fingerprint(tmp_path / "a.json", RunConfig())
    from kinelift.pipeline.fingerprint import differences

    assert differences(before, after) == ["shipped weights (lifter LOWER-6)"]
    assert detection_fingerprint(before) == detection_fingerprint(after)
    own = run_fingerprint(tmp_path / "a.json", RunConfig(lifter=str(copy)))
    copy.write_bytes(copy.read_bytes() + b"\0")
    assert differences(own, run_fingerprint(tmp_path / "a.json", RunConfig(lifter=str(copy)))) == ["content of the lifter file", "shipped weights (lifter LOWER-6)"]


def test_run_with_a_given_osim_model(clip_files, tmp_path):
    from tests.conftest import shared_file

    model = shared_file("opensim-models/Models/Gait2392_Simbody/gait2392_thelen2003muscle.osim")
    summary = run(clip_files / "subject_a.json", tmp_path, config=RunConfig(model=str(model), figures=False), progress=False)
    assert "model.osim" not in summary.outputs and summary.repetitions == 2
    knee = read_h5(tmp_path / "result.h5").analysis["joint_angles"].column("knee_flexion_r")
    assert np.degrees(np.nanmax(knee)) > 60  # gait2392's negative knee angle reported as positive flexion


def test_frames_without_the_subject_get_no_pose(tmp_path):
    """A person lost for 40 frames (left the image): those frames are flagged, their coordinates,
    points and angles NaN (not a pose invented from the neighbours), the summary says so, and the
    .mot holds the other frames only, which OpenSim then reads in full."""
    from kinelift.io import write_h5
    from kinelift.synthetic import squat_tracks

    tracks = squat_tracks(n_reps=2, seed=4).observed
    positions = tracks.positions.copy()
    positions[60:100] = np.nan
    write_h5(tmp_path / "in.h5", tracks=[tracks.replace(positions=positions)])
    summary = run(tmp_path / "in.h5", tmp_path / "out", config=RunConfig(figures=True), progress=False)
    n = tracks.n_frames
    assert summary.seen_frames == n - 40 and f"seen in {n - 40} of {n} frames" in summary.to_text()
    result = read_h5(tmp_path / "out" / "result.h5")
    seen = result.analysis["lift_confidence"].column("subject_seen")
    np.testing.assert_array_equal(seen, np.r_[np.ones(60), np.zeros(40), np.ones(n - 100)])
    coords, angles = result.kinematics["coordinates"].values, result.analysis["joint_angles"].values
    assert np.isnan(coords[60:100]).all() and np.isfinite(coords[seen == 1]).all()
    keypoints_3d = next(t for t in result.tracks if t.person_id == "keypoints_3d")
    assert np.isnan(angles[60:100]).all() and np.isnan(keypoints_3d.positions[60:100]).all()
    mot = read_mot(tmp_path / "out" / "kinematics.mot")
    assert mot.n_frames == n - 40 and np.isfinite(mot.values).all()
    np.testing.assert_allclose(mot.time, result.kinematics["coordinates"].time[seen == 1])


def test_the_main_job_fits_the_pose_through_an_assumed_camera_unless_told_not_to(tmp_path):
    """A track that knows its image size (kinelift's detectors record it) is lifted with the pose
    fitted to its 2D through a 65-deg camera; ``refine=False`` (``--no-refine``) lifts without;
    the knee angles differ by a correction, not a new pose."""
    from kinelift.io import write_h5
    from kinelift.synthetic import squat_tracks

    tracks = squat_tracks(n_reps=1, seed=4).observed
    assert tracks.image_size == (1280, 720)
    write_h5(tmp_path / "in.h5", tracks=[tracks])
    knees = {}
    for refine in (True, False):
        run(tmp_path / "in.h5", tmp_path / f"out_{refine}", config=RunConfig(figures=False, refine=refine), progress=False)
        result = read_h5(tmp_path / f"out_{refine}" / "result.h5")
        keypoints_3d = next(t for t in result.tracks if t.person_id == "keypoints_3d")
        assert keypoints_3d.metadata["refined_camera"] == ("assumed 65-deg camera" if refine else "none")
        knees[refine] = result.kinematics["coordinates"].column("knee_angle_r")
    assert 0 < np.nanmax(np.abs(knees[True] - knees[False])) < 0.25  # rad
    with pytest.raises(ValueRangeError, match="refine"):
        RunConfig(refine="yes")


def test_a_track_file_without_an_image_size_is_fitted_when_given_one(tmp_path, caplog):
    """OpenPose's JSON does not record the frame size: such a track was lifted without the fit to
    the 2D, saying nothing. Now the job warns, and ``image_size`` (``--image-size W H``) gives the
    fit its assumed camera; a size the keypoints do not fit (width and height swapped) is refused."""
    import logging

    from kinelift.core.tracks import IMAGE_SIZE_KEYS
    from kinelift.io import write_h5
    from kinelift.synthetic import squat_tracks

    tracks = squat_tracks(n_reps=1, seed=4).observed
    bare = tracks.replace(metadata={k: v for k, v in tracks.metadata.items() if k not in IMAGE_SIZE_KEYS})
    write_h5(tmp_path / "in.h5", tracks=[bare])
    cameras = {}
    for size in (None, (1280, 720)):
        out = tmp_path / f"out_{size is None}"
        with caplog.at_level(logging.WARNING, logger="kinelift.lifting.inference"):
            caplog.clear()
            run(tmp_path / "in.h5", out, config=RunConfig(figures=False, image_size=size), progress=False)
        keypoints_3d = next(t for t in read_h5(out / "result.h5").tracks if t.person_id == "keypoints_3d")
        cameras[size] = keypoints_3d.metadata["refined_camera"]
        assert ("records no image size" in caplog.text) == (size is None)
    assert cameras == {None: "none", (1280, 720): "assumed 65-deg camera"}
    with pytest.raises(ValueRangeError, match="image_size of in.h5"):
        run(tmp_path / "in.h5", tmp_path / "swapped", config=RunConfig(figures=False, image_size=(720, 1280)), progress=False)
    with pytest.raises(ValueRangeError, match="image_size"):
        RunConfig(image_size=(1280, 0))


def test_two_people_seen_as_long_are_named_in_a_warning(tmp_path, caplog):
    """The person seen in the most frames is analysed; one seen (nearly) as long at the same time is
    named, with how to choose; one seen briefly is not."""
    from kinelift.io import write_h5
    from kinelift.synthetic import squat_tracks

    a = squat_tracks(n_reps=1, seed=4).observed.replace(person_id="a")
    b = a.replace(positions=a.positions + 300.0, person_id="b")
    brief = b.positions.copy()
    brief[20:] = np.nan
    write_h5(tmp_path / "two.h5", tracks=[a, b])
    write_h5(tmp_path / "one.h5", tracks=[a, b.replace(positions=brief, person_id="c")])
    with caplog.at_level("WARNING", logger="kinelift.pipeline.run"):
        run(tmp_path / "two.h5", tmp_path / "two", config=RunConfig(figures=False), progress=False)
        assert "person 1 (b, seen in" in caplog.text and "--person" in caplog.text
        caplog.clear()
        run(tmp_path / "one.h5", tmp_path / "one", config=RunConfig(figures=False), progress=False)
        assert "--person" not in caplog.text


def test_the_person_pointed_at_is_analysed(tmp_path, caplog):
    """RunConfig.person_at: a point or a box on the person in the first frame they are seen picks
    that track, whoever is seen longer; a point on nobody is a clear error that says where people
    were; a person entering later is found at their first frame; of two nested boxes the smaller."""
    from kinelift.io import write_h5
    from kinelift.pipeline.run import subject_at
    from kinelift.synthetic import squat_tracks

    a = squat_tracks(n_reps=1, seed=4).observed.replace(person_id="a")
    b = a.replace(positions=a.positions + [400.0, 0.0], person_id="b")
    late = b.positions.copy()
    late[:30] = np.nan  # b enters at frame 30
    b = b.replace(positions=late)
    first_a = a.positions[0][a.valid[0]]
    point_a = tuple(first_a.mean(axis=0))
    first_b = b.positions[30][b.valid[30]]
    box_b = (*first_b.min(axis=0), *(first_b.max(axis=0) - first_b.min(axis=0)))
    assert subject_at([a, b], point_a) == 0
    assert subject_at([a, b], box_b) == 1
    assert subject_at([b, a], point_a) == 1
    small = a.replace(positions=(a.positions - point_a) * 0.5 + point_a, person_id="small")  # in front of a, inside its box
    assert subject_at([a, small], point_a) == 1
    with pytest.raises(ValueRangeError, match="person 0 first at 0.00 s around"):
        subject_at([a, b], (5000.0, 5000.0))
    with pytest.raises(ValueRangeError, match="person_at"):
        subject_at([a], (1.0, 2.0, 3.0))
    with pytest.raises(ValueRangeError, match="pixels"):
        subject_at([a.replace(units="m")], point_a)
    write_h5(tmp_path / "two.h5", tracks=[a, b])
    with caplog.at_level("INFO", logger="kinelift.pipeline.run"):
        summary = run(tmp_path / "two.h5", tmp_path / "out", config=RunConfig(figures=False, person_at=box_b), progress=False)
    assert "person 1 (b) analysed: the one at" in caplog.text
    assert summary.frames == a.n_frames and np.isnan(read_h5(tmp_path / "out" / "result.h5").kinematics["coordinates"].values[:30]).all()
    with pytest.raises(ValueRangeError, match="person_at"):
        RunConfig(person_at=(1.0, 2.0, 3.0))
    with pytest.raises(ValueRangeError, match="person_at"):
        RunConfig(person_at=(1.0, 2.0, 3.0, 0.0))
    with pytest.raises(ValueRangeError, match="one of them"):
        RunConfig(person=0, person_at=(1.0, 2.0))


def test_run_errors(clip_files, tmp_path):
    with pytest.raises(FileFormatError, match="not found"):
        run(tmp_path / "none.json", tmp_path / "o", progress=False)
    with pytest.raises(ValueRangeError, match="person"):
        run(clip_files / "subject_a.json", tmp_path / "o", config=RunConfig(person=3), progress=False)
    with pytest.raises(ValueRangeError, match="focal"):
        RunConfig(focal=1000.0)
    (tmp_path / "c.toml").write_text("[run]\nheigth = 1.8\n")
    with pytest.raises(UnknownNameError, match="heigth"):
        load_run_config(tmp_path / "c.toml")


def test_batch_on_a_two_worker_dask_cluster_with_a_corrupt_input(clip_files, tmp_path):
    inputs = [clip_files / "subject_a.json", clip_files / "corrupt.json", clip_files / "subject_b.json"]
    with dask_executor(workers=2) as executor:
        report = process_many(inputs, tmp_path, executor=executor, config=RunConfig(figures=False), progress=False)
    assert [o.ok for o in report.outcomes] == [True, False, True]
    assert "corrupt.json" in str(report.failed[0].input) and "FileFormatError" in report.failed[0].error
    assert [o.summary.repetitions for o in report.succeeded] == [2, 1]
    assert not (tmp_path / "corrupt").joinpath("summary.json").exists()
    # resumes: the finished inputs are not redone
    again = process_many(inputs, tmp_path, config=RunConfig(figures=False), progress=False)
    assert [o.summary.reused for o in again.succeeded] == [True, True]


def test_run_config_paths_are_relative_to_the_file(tmp_path):
    (tmp_path / "c.toml").write_text('[run]\nmodel = "m.osim"\ndetector = "LOWER-6"\nheight = 1.8\n')
    config = load_run_config(tmp_path / "c.toml")
    assert config.model == str(tmp_path / "m.osim") and config.detector == "LOWER-6"  # a shipped name stays a name
    (tmp_path / "c.toml").write_text('[run]\ndetector = "w/d.pt"\n')
    assert load_run_config(tmp_path / "c.toml").detector == str(tmp_path / "w" / "d.pt")
    (tmp_path / "c.toml").write_text('[run]\nboxes = "mediapipe"\n')
    assert load_run_config(tmp_path / "c.toml").boxes == "mediapipe"  # a name, not a file beside the TOML
    (tmp_path / "c.toml").write_text('[run]\nboxes = "b.json"\n')
    assert load_run_config(tmp_path / "c.toml").boxes == str(tmp_path / "b.json")


def test_output_folders_are_unique():
    assert [p.name for p in output_folders(["x/a.json", "y/a.json", "b.mp4"], "out")] == ["a", "a_2", "b"]


def test_cli_run_takes_what_lift_takes():
    """``kinelift run`` takes --person, --focal with --principal-point, --height, --no-refine and --no-video."""
    from kinelift.cli import build_parser
    from kinelift.cli.run import _config

    args = build_parser().parse_args(["run", "a.mp4", "--out", "o", "--person", "2", "--focal", "1400", "--principal-point", "640", "360",
                                      "--height", "1.8", "--no-video", "--no-refine"])  # fmt: skip
    config = _config(args)
    assert _config(build_parser().parse_args(["run", "a.mp4", "--out", "o", "--person-at", "640", "360"])).person_at == (640.0, 360.0)
    assert (config.person, config.focal, config.principal_point, config.height, config.video) == (2, 1400.0, (640.0, 360.0), 1.8, False)
    assert config.refine is False
    plain = _config(build_parser().parse_args(["run", "a.mp4", "--out", "o"]))
    assert plain == RunConfig() and plain.video and plain.refine
    with pytest.raises(ValueRangeError, match="focal"):
        _config(build_parser().parse_args(["run", "a.mp4", "--out", "o", "--focal", "1400"]))
    # a 60 frames/s video is read at the lifters' 30 by default; 0 reads every frame
    assert plain.max_fps == 30.0 and _config(build_parser().parse_args(["run", "a.mp4", "--out", "o", "--max-fps", "0"])).max_fps is None
    assert _config(build_parser().parse_args(["run", "a.mp4", "--out", "o", "--max-fps", "60"])).max_fps == 60.0
    with pytest.raises(ValueRangeError, match="max_fps"):
        RunConfig(max_fps=-5.0)


def test_cli_run_many_and_export(clip_files, tmp_path, capsys):
    code = main(["run", str(clip_files / "subject_b.json"), str(clip_files / "corrupt.json"), "--out", str(tmp_path / "runs")])
    assert code == 1  # one input failed; the other is done
    text = capsys.readouterr().out
    assert "1 of 2 inputs done" in text and "FAILED" in text
    h5 = tmp_path / "runs" / "subject_b" / "result.h5"
    assert main(["export", str(h5), "--to", "opensim", str(tmp_path / "osim")]) == 0
    written = sorted(p.name for p in (tmp_path / "osim").iterdir())
    assert {"coordinates.mot", "joint_angles.sto", "markers_3d.trc"} <= set(written)
    coords = read_mot(tmp_path / "osim" / "coordinates.mot")
    assert np.allclose(coords.values, read_h5(h5).kinematics["coordinates"].values, atol=1e-5)


def test_opensim_tables_load_in_opensim(clip_files, tmp_path):
    osim = pytest.importorskip("opensim", reason="the opensim package (test extra) converts to its own tables")
    run(clip_files / "subject_b.json", tmp_path, config=RunConfig(figures=False), progress=False)
    tables = to_opensim_tables(tmp_path / "result.h5")
    coords = tables["kinematics/coordinates"]
    assert isinstance(coords, osim.TimeSeriesTable) and coords.getNumRows() == read_h5(tmp_path / "result.h5").tracks[0].n_frames
    assert isinstance(tables["tracks/markers_3d"], osim.TimeSeriesTableVec3)
    # the exported .mot loads in OpenSim's own Storage reader
    export_opensim(tmp_path / "result.h5", tmp_path / "osim")
    storage = osim.Storage(str(tmp_path / "osim" / "coordinates.mot"))
    assert storage.getSize() == coords.getNumRows()


def test_a_batch_leaves_the_logging_levels_alone(clip_files, tmp_path):
    import logging

    logger = logging.getLogger("kinelift")
    level = logger.level
    process_many([clip_files / "corrupt.json"], tmp_path / "out", progress=False)
    assert logger.level == level


def test_import_kinelift_gives_the_readers():
    import subprocess
    import sys

    code = "import kinelift, sys; kinelift.io.read_mot; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_cutoff_hz_is_the_old_name_of_cutoff(tmp_path):
    with pytest.warns(DeprecationWarning, match="cutoff_hz= is deprecated, use cutoff="):
        assert RunConfig(cutoff_hz=4.0).cutoff == 4.0
    (tmp_path / "old.toml").write_text("[run]\ncutoff_hz = 5.0\n")
    with pytest.warns(DeprecationWarning, match="cutoff_hz"):
        assert load_run_config(tmp_path / "old.toml").cutoff == 5.0
    with pytest.raises(ValueRangeError):
        RunConfig(cutoff_hz=4.0, cutoff=3.0)
