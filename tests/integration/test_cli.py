"""The kinelift command line: info and convert on every format, errors with exit status 2."""

import subprocess
import sys

import numpy as np
import pytest

from kinelift import Tracks
from kinelift.cli import main
from kinelift.io import load, save, validate_h5
from tests.conftest import shared_file


@pytest.fixture
def openpose_folder(tmp_path, rng):
    p = 300 + rng.random((20, 25, 2)) * 100 + np.arange(20)[:, None, None]
    p[4, 10] = np.nan
    tracks = [Tracks(p, keypoints="BODY-25", fps=25.0), Tracks(p + 500, keypoints="BODY-25", fps=25.0, person_id=1)]
    save(tmp_path / "op", tracks=tracks, format="openpose")
    return tmp_path / "op"


def test_info_on_every_format(tmp_path, openpose_folder, capsys):
    (person,) = load(openpose_folder, fps=25.0).tracks[:1]
    coco = person.to_keypoint_set("COCO-17")
    save(tmp_path / "c.json", tracks=[coco], format="coco")
    save(tmp_path / "r.json", tracks=[coco], format="coco-results")
    save(tmp_path / "m.json", tracks=[coco], format="mmpose")
    save(tmp_path / "d.csv", tracks=[coco])
    save(tmp_path / "d.h5", tracks=[coco])
    markers = Tracks(np.ones((5, 2, 3)), keypoints=["A", "B"], fps=100.0, units="m", coordinate_frame="ground")
    save(tmp_path / "m.trc", tracks=[markers])
    save(tmp_path / "m.c3d", tracks=[markers])
    save(tmp_path / "k.h5", tracks=[markers])
    for path in ["op", "c.json", "r.json", "m.json", "d.csv", "d.h5", "m.trc", "m.c3d", "k.h5"]:
        assert main(["info", str(tmp_path / path), "--fps", "25"]) == 0
        out = capsys.readouterr().out
        assert "track(s)" in out and "frames" in out, out


def test_convert_openpose_folder_to_h5_and_trc(tmp_path, openpose_folder, capsys):
    assert main(["convert", str(openpose_folder), str(tmp_path / "out.h5"), "--fps", "25"]) == 0
    validate_h5(tmp_path / "out.h5")
    assert len(load(tmp_path / "out.h5").tracks) == 2
    assert main(["convert", str(openpose_folder), str(tmp_path / "out.trc"), "--fps", "25", "--person", "1"]) == 0
    back = load(tmp_path / "out.trc").tracks[0]
    assert back.n_dims == 2 and back.keypoint_set.names == load(openpose_folder, fps=25.0).tracks[1].keypoint_names
    assert main(["convert", str(openpose_folder), str(tmp_path / "low.json"), "--fps", "25", "--to", "mmpose", "--keypoints", "LOWER-6"]) == 0
    assert load(tmp_path / "low.json", fps=25.0).tracks[0].keypoint_set.name == "LOWER-6"


def test_convert_real_files(tmp_path):
    mot = shared_file("opencap-squat/Moco/exampleSquat/squats1_videoAndMocap.mot")
    assert main(["convert", str(mot), str(tmp_path / "q.h5")]) == 0
    assert main(["convert", str(tmp_path / "q.h5"), str(tmp_path / "q.sto")]) == 0
    assert np.allclose(load(tmp_path / "q.sto").tables.popitem()[1].values, load(mot).tables.popitem()[1].values, rtol=1e-12)
    assert main(["info", str(shared_file("opensim-core-tests/Applications/IK/tests/resources/std_subject01_walk1_ik.mot")), "--in-degrees"]) == 0


def test_errors_exit_2_with_the_reason(tmp_path, openpose_folder, capsys):
    assert main(["info", str(openpose_folder)]) == 2
    assert "fps" in capsys.readouterr().err
    (tmp_path / "x.h5").write_text("x")
    assert main(["convert", str(openpose_folder), str(tmp_path / "x.h5"), "--fps", "25"]) == 2
    assert "overwrite" in capsys.readouterr().err
    assert (tmp_path / "x.h5").read_text() == "x"  # the user's file is untouched
    assert main(["convert", str(openpose_folder), str(tmp_path / "y.trc"), "--fps", "25"]) == 2
    assert "choose a person" in capsys.readouterr().err


def test_console_script_runs():
    done = subprocess.run([sys.executable, "-m", "kinelift", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "kinelift" in done.stdout


def test_cli_squat_on_a_track_file_and_with_a_classifier(tmp_path):
    import numpy as np

    from kinelift.analysis.classify import SummaryFeatureClassifier, save_classifier
    from kinelift.analysis.distances import temporal_distance_matrix
    from kinelift.cli import main
    from kinelift.io import save
    from kinelift.synthetic import squat_tracks

    clip = squat_tracks(n_reps=2, fps=30.0, camera_azimuth=np.pi / 2, seed=4)
    track_file = tmp_path / "clip.h5"
    save(track_file, tracks=[clip.observed])
    names = list(clip.observed.keypoint_names)
    reps = [squat_tracks(n_reps=1, fps=30.0, depth=np.deg2rad(d), seed=i).truth_3d for i, d in enumerate((50, 55, 100, 105))]
    clf = SummaryFeatureClassifier().fit([temporal_distance_matrix(r.positions) for r in reps], ["shallow", "shallow", "deep", "deep"])
    save_classifier(clf, tmp_path / "clf.pkl", keypoints=names)
    assert main(["squat", str(track_file), "--out", str(tmp_path / "out"), "--classifier", str(tmp_path / "clf.pkl")]) == 0
    feedback = (tmp_path / "out" / "squat_feedback.csv").read_text()
    assert "classifier_label" in feedback and feedback.count("\n") == 3
    assert (tmp_path / "out" / "squat_report.png").exists()
    assert main(["squat", str(track_file), "--out", str(tmp_path / "out")]) == 2  # outputs exist, no --overwrite
    assert main(["squat", str(tmp_path / "missing.trc"), "--out", str(tmp_path / "x")]) == 2
