"""Keypoint layouts that a file does not name are checked against the data, never assumed.

BODY_25B (OpenPose's experimental model, Pose2Sim's default) has 75 values per person like
BODY-25, in another order; read as BODY-25 its "right_hip" is a wrist and a squat analysis
reports "knees cave in: 186 deg". Pose2Sim also names its files ``cam01.0000.json``.
"""

from __future__ import annotations

import csv
import logging

import numpy as np
import pytest

from kinelift import Tracks
from kinelift.core.keypoint_sets import get_keypoint_set
from kinelift.core.layout_check import check_layout, layout_plausibility
from kinelift.errors import FileFormatError, KeypointLayoutError, ValueRangeError
from kinelift.io import read_tracks, save
from kinelift.io.openpose import read_openpose


def _as_layout(tracks: Tracks, layout: str) -> Tracks:
    """``tracks`` (COCO-17 or PENN-13 names) laid out in ``layout``; points it lacks are missing,
    ``neck``/``mid_hip`` are the midpoints OpenPose's BODY-25 puts near them."""
    target = get_keypoint_set(layout)
    source = tracks.keypoint_set
    out = np.full((tracks.n_frames, len(target), 2), np.nan)
    point = {n: tracks.positions[:, source.index(n)] for n in source.names}
    point.setdefault("nose", point.get("head"))
    point["neck"] = (point["left_shoulder"] + point["right_shoulder"]) / 2
    point["mid_hip"] = (point["left_hip"] + point["right_hip"]) / 2
    for i, name in enumerate(target.names):
        if point.get(name) is not None:
            out[:, i] = point[name]
    return Tracks(out, keypoints=target, time=tracks.time, fps=tracks.fps)


def _pose2sim_folder(tracks: Tracks, folder):
    """An OpenPose folder renamed the way Pose2Sim names its files: ``cam01.0000.json``."""
    save(folder, tracks=[tracks], format="openpose")
    for f in sorted(folder.iterdir()):
        number = int(f.name.split("_")[-2])
        f.rename(folder / f"cam01.{number:04d}.json")
    return folder


@pytest.fixture(scope="module")
def squat_coco():
    from kinelift.pipeline.demo_clip import demo_clip

    return demo_clip(n_reps=1, seed=3).tracks


def test_body25b_with_pose2sim_names_reads_with_the_right_points(tmp_path, squat_coco, caplog):
    folder = _pose2sim_folder(_as_layout(squat_coco, "BODY-25B"), tmp_path / "pose2sim")
    with caplog.at_level(logging.WARNING, logger="kinelift.core.layout_check"):
        (person,) = read_openpose(folder, fps=30.0)
    assert person.keypoint_set.name == "BODY-25B" and "BODY-25B" in caplog.text
    assert person.n_frames == squat_coco.n_frames
    coco = person.to_keypoint_set("COCO-17")
    np.testing.assert_allclose(coco.positions, squat_coco.positions, atol=1e-3)  # right_hip is the right hip
    with pytest.raises(KeypointLayoutError, match="BODY-25B"):
        read_openpose(folder, fps=30.0, keypoint_set="BODY-25")
    assert read_tracks(folder, fps=30.0, keypoint_set="BODY-25B")[0].keypoint_set.name == "BODY-25B"


def test_body25_stays_body25_and_a_wrong_declaration_is_refused(tmp_path, squat_coco):
    folder = tmp_path / "openpose"
    save(folder, tracks=[_as_layout(squat_coco, "BODY-25")], format="openpose")
    assert read_openpose(folder, fps=30.0)[0].keypoint_set.name == "BODY-25"
    with pytest.raises(KeypointLayoutError, match="fit BODY-25 "):
        read_openpose(folder, fps=30.0, keypoint_set="BODY-25B")
    with pytest.raises(ValueRangeError, match="keypoint_set"):
        read_openpose(folder, fps=30.0, keypoint_set="COCO-17")
    with pytest.raises(ValueRangeError, match="OpenPose"):
        save(tmp_path / "c.json", tracks=[squat_coco], format="coco")
        read_tracks(tmp_path / "c.json", fps=30.0, keypoint_set="BODY-25B")


def test_frame_files_by_the_last_number_whatever_the_naming(tmp_path, squat_coco):
    folder = _pose2sim_folder(_as_layout(squat_coco[:12], "BODY-25"), tmp_path / "op")
    (folder / "cam01.0003.json").unlink()  # a gap stays a gap in time
    (person,) = read_openpose(folder, fps=30.0)
    assert person.n_frames == 12 and np.isnan(person.positions[3]).all() and np.isfinite(person.positions[4, 0]).all()
    (folder / "cam02.0100.json").write_text('{"people": []}')
    with pytest.raises(FileFormatError, match="2 recordings"):
        read_openpose(folder, fps=30.0)
    (folder / "cam02.0100.json").unlink()
    (folder / "notes.json").write_text("{}")
    with pytest.raises(FileFormatError, match="no frame number"):
        read_openpose(folder, fps=30.0)


def test_cli_convert_and_run_read_a_pose2sim_folder_as_tracks(tmp_path, squat_coco):
    from kinelift.cli import main
    from kinelift.pipeline import RunConfig, run

    folder = _pose2sim_folder(_as_layout(squat_coco, "BODY-25B"), tmp_path / "pose2sim")
    assert main(["convert", str(folder), str(tmp_path / "out.h5"), "--fps", "30", "--keypoint-set", "BODY-25B"]) == 0
    assert read_tracks(tmp_path / "out.h5")[0].keypoint_set.name == "BODY-25B"
    assert main(["convert", str(folder), str(tmp_path / "bad.h5"), "--fps", "30", "--keypoint-set", "BODY-25"]) == 2
    summary = run(folder, tmp_path / "run", config=RunConfig(fps=30.0, figures=False), progress=False)
    assert summary.keypoints == "BODY-25B" and summary.repetitions == 1


def test_layout_check_on_real_penn_action_labels():
    """Real 2D labels of 15 actions (every 8th of 2,326 sequences) laid out as BODY-25 and BODY-25B: each
    is told from the other most of the time, and the right layout is almost never refused."""
    from kinelift.io.penn_action import read_penn_action
    from tests.conftest import shared_file

    root = shared_file("penn-action-labels/index.csv").parent
    rows = list(csv.DictReader(open(root / "index.csv")))[::8]
    caught, false = [], []
    for row in rows:
        t = read_penn_action(root / "labels" / f"{row['seq']}.mat", fps=30.0)
        for right, wrong in (("BODY-25B", "BODY-25"), ("BODY-25", "BODY-25B")):
            data = _as_layout(t, right).positions
            refused = False
            try:
                check_layout(data, wrong, [right], source=row["seq"])
            except KeypointLayoutError:
                refused = True
            if right == "BODY-25B":
                caught.append(refused)
            try:
                check_layout(data, right, [wrong], source=row["seq"])
            except KeypointLayoutError:
                false.append(True)
            else:
                false.append(False)
    # measured: 85 % of BODY-25B sequences declared BODY-25 refused, 1.2 % of right declarations refused (lying people)
    assert np.mean(caught) >= 0.8 and np.mean(false) <= 0.02, (np.mean(caught), np.mean(false))


def test_plausibility_needs_image_keypoints_of_the_layout():
    with pytest.raises(Exception, match="COCO-17"):
        layout_plausibility(np.zeros((3, 5, 2)), "COCO-17")
    assert np.isnan(layout_plausibility(np.full((3, 17, 2), np.nan), "COCO-17"))
