"""Units and headers: numbers that no human body has, and files cut short, are refused by name.

Regression cases of the bad-input probe: a TRC in mm whose header says m (IK marker errors of
542 m), a .mot saying inDegrees=no over degrees (hip flexion of 7,536 deg), a TRC cut mid-line
(76 of 151 frames read, the last row padded with NaN), a .mot with fewer rows than its nRows.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from kinelift import TimeSeriesTable, Tracks
from kinelift.errors import FileFormatError
from kinelift.io import load, read_mot, read_trc, write_mot, write_trc


@pytest.fixture
def walk_markers():
    """Eight markers on a 1.75 m person walking 1.2 m/s for 151 frames (metres, y up)."""
    t = np.arange(151) / 100.0
    body = np.array([[0.1, 1.75, 0], [-0.1, 1.45, 0.1], [0.1, 1.0, 0.12], [-0.1, 1.0, -0.12],
                     [0.05, 0.5, 0.1], [0.0, 0.5, -0.1], [0.05, 0.05, 0.1], [0.0, 0.05, -0.1]])  # fmt: skip
    positions = body[None] + np.stack([1.2 * t, 0.02 * np.sin(2 * np.pi * t), 0 * t], axis=1)[:, None]
    return Tracks(positions, keypoints=[f"M{i}" for i in range(8)], time=t, fps=100.0, units="m", coordinate_frame="ground")


def test_trc_in_mm_labelled_m_is_refused_naming_the_likely_unit(tmp_path, walk_markers):
    write_trc(walk_markers, tmp_path / "walk.trc", units="mm")
    text = (tmp_path / "walk.trc").read_text().splitlines()
    text[2] = text[2].replace("\tmm\t", "\tm\t")
    (tmp_path / "mislabelled.trc").write_text("\n".join(text) + "\n")
    with pytest.raises(FileFormatError, match=r"mislabelled\.trc: field Units says 'm'.*look like mm"):
        read_trc(tmp_path / "mislabelled.trc")
    assert read_trc(tmp_path / "mislabelled.trc", check_units=False).positions.max() > 1000  # asked for: read as stated
    with pytest.raises(FileFormatError, match="look like mm"):
        load(tmp_path / "mislabelled.trc")
    write_trc(walk_markers.replace(positions=walk_markers.positions / 1000), tmp_path / "tiny.trc", units="mm")  # metres written as mm
    with pytest.raises(FileFormatError, match=r"tiny\.trc.*span 0.0017 m"):
        read_trc(tmp_path / "tiny.trc")
    np.testing.assert_allclose(read_trc(tmp_path / "walk.trc").positions, walk_markers.positions, atol=1e-9)


def test_trc_cut_mid_line_is_refused_and_a_count_mismatch_logged(tmp_path, walk_markers, caplog):
    write_trc(walk_markers, tmp_path / "walk.trc")
    data = (tmp_path / "walk.trc").read_bytes()
    row_76 = data.index(b"\n76\t")
    (tmp_path / "cut.trc").write_bytes(data[: row_76 + 40])  # 75 rows and part of the 76th
    with pytest.raises(FileFormatError, match=r"cut\.trc: line 82 \(the last\).*cut short"):
        read_trc(tmp_path / "cut.trc")
    cut_at_row = data[: data.index(b"\n77\t")]  # 76 whole rows, no line end after the last
    (tmp_path / "cut_row.trc").write_bytes(cut_at_row)
    with pytest.raises(FileFormatError, match="NumFrames says 151 rows, the file holds 76"):
        read_trc(tmp_path / "cut_row.trc")
    (tmp_path / "short.trc").write_bytes(cut_at_row + b"\n")  # ended cleanly: OpenSim reads such files, so do we
    with caplog.at_level(logging.WARNING, logger="kinelift.io._common"):
        assert read_trc(tmp_path / "short.trc").n_frames == 76
    assert "NumFrames says 151" in caplog.text


def test_mot_with_degrees_under_in_degrees_no_is_refused(tmp_path):
    time = np.arange(50) / 100.0
    hip = 60.0 * np.sin(np.pi * time)  # degrees
    table = TimeSeriesTable(time, np.stack([hip, hip / 2, 0.9 + 0 * hip], 1), ["hip_flexion_r", "knee_angle_r", "pelvis_ty"], ["rad", "rad", "m"])
    write_mot(table, tmp_path / "q.mot", in_degrees=False)  # the numbers stay what they are: degrees, labelled radians
    with pytest.raises(FileFormatError, match=r"q\.mot: field inDegrees says 'no'.*reach 343[67] deg.*look like degrees"):
        read_mot(tmp_path / "q.mot")
    assert read_mot(tmp_path / "q.mot", check_units=False).column("hip_flexion_r").max() > 59
    text = (tmp_path / "q.mot").read_text().replace("inDegrees=no", "inDegrees=yes")
    (tmp_path / "right.mot").write_text(text)
    assert np.degrees(read_mot(tmp_path / "right.mot").column("hip_flexion_r").max()) == pytest.approx(hip.max())


def test_mot_with_fewer_rows_than_nrows(tmp_path, caplog):
    time = np.arange(20) / 100.0
    table = TimeSeriesTable(time, np.stack([0.1 * time, 0.9 + 0 * time], 1), ["knee_angle_r", "pelvis_ty"], ["rad", "m"])
    write_mot(table, tmp_path / "q.mot")
    data = (tmp_path / "q.mot").read_bytes()
    assert b"nRows=20" in data
    cut = data[: data.rindex(b"\n", 0, len(data) - 1)]  # the last row gone, and no line end
    (tmp_path / "cut.mot").write_bytes(cut)
    with pytest.raises(FileFormatError, match=r"cut\.mot: header field nRows says 20 rows, the file holds 19.*cut short"):
        read_mot(tmp_path / "cut.mot")
    (tmp_path / "short.mot").write_bytes(cut + b"\n")
    with caplog.at_level(logging.WARNING, logger="kinelift.io._common"):
        assert read_mot(tmp_path / "short.mot").n_frames == 19


def test_real_opensim_files_pass_the_unit_checks():
    """Every .trc and .mot/.sto OpenSim ships in ../shared reads (nRows over the rows present in its
    tutorials, a 72-rad patellofemoral coordinate in a Moco example): the checks refuse no real file."""

    from tests.conftest import shared_file

    root = shared_file("opensim-models").parent
    files = sorted(root.glob("opensim-*/**/*.trc")) + sorted(p for p in root.glob("opensim-*/**/*.mot"))
    assert len(files) >= 8
    for path in files:
        try:
            load(path)
        except FileFormatError as err:
            assert "look like" not in str(err) and "cut short" not in str(err), err
