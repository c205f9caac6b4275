"""Our TRC and MOT/STO files, read by OpenSim itself (the `opensim` package), give back our values."""

import numpy as np
import pytest

from kinelift import TimeSeriesTable, Tracks
from kinelift.io import read_mot, read_trc, write_mot, write_trc
from tests.conftest import shared_file

osim = pytest.importorskip("opensim", reason="the opensim package (test extra) is the reference for file writers")


def vec3_table_to_array(table) -> np.ndarray:
    out = np.empty((table.getNumRows(), table.getNumColumns(), 3))
    for i in range(table.getNumRows()):
        row = table.getRowAtIndex(i)
        for j in range(table.getNumColumns()):
            v = row[j]
            out[i, j] = [v[0], v[1], v[2]]
    return out


@pytest.mark.parametrize("units,scale", [("mm", 1000.0), ("m", 1.0)])
def test_trc_written_by_kinelift_reads_in_opensim(tmp_path, rng, units, scale):
    p = rng.normal(size=(30, 5, 3))
    p[7, 2] = np.nan
    t = Tracks(p, keypoints=["R.ASIS", "L.ASIS", "V.Sacral", "R.Knee", "L.Knee"], fps=120.0, units="m", coordinate_frame="ground")
    write_trc(t, tmp_path / "m.trc", units=units)
    table = osim.TimeSeriesTableVec3(str(tmp_path / "m.trc"))
    assert list(table.getColumnLabels()) == list(t.keypoint_names)
    assert table.getTableMetaDataAsString("Units") == units
    assert float(table.getTableMetaDataAsString("DataRate")) == 120.0
    np.testing.assert_allclose(np.array(table.getIndependentColumn()), t.time, rtol=0, atol=1e-12)
    np.testing.assert_allclose(vec3_table_to_array(table) / scale, p, rtol=1e-12, atol=1e-15, equal_nan=True)


def test_mot_written_by_kinelift_reads_in_opensim(tmp_path):
    q = np.deg2rad(np.array([[10.0, -5.0], [20.0, -6.0], [30.0, -7.0]]))
    tab = TimeSeriesTable([0.0, 0.01, 0.02], np.c_[q, [0.9, 0.91, 0.92]], ["hip_flexion_r", "knee_angle_r", "pelvis_ty"], ["rad", "rad", "m"])
    write_mot(tab, tmp_path / "q.mot")
    table = osim.TimeSeriesTable(str(tmp_path / "q.mot"))
    assert table.getTableMetaDataAsString("inDegrees") == "yes"
    assert list(table.getColumnLabels()) == list(tab.column_names)
    np.testing.assert_allclose(table.getDependentColumn("hip_flexion_r").to_numpy(), [10.0, 20.0, 30.0], rtol=1e-14)
    np.testing.assert_allclose(table.getDependentColumn("pelvis_ty").to_numpy(), [0.9, 0.91, 0.92], rtol=1e-14)
    # OpenSim's Storage (used by its tools) reads the same file and the same degrees flag
    storage = osim.Storage(str(tmp_path / "q.mot"))
    assert storage.isInDegrees() and storage.getSize() == 3


def test_mot_rows_with_missing_values_are_left_out_so_opensim_reads_every_row(tmp_path, caplog):
    """OpenSim's Storage stops at the first row holding NaN, without an error: such rows are not
    written (and counted in the log); the time column keeps the gap visible."""
    t = np.arange(10) / 100.0
    q = np.deg2rad(np.c_[np.arange(10.0), -np.arange(10.0)])
    q[3:6, 1] = np.nan
    write_mot(TimeSeriesTable(t, q, ["hip_flexion_r", "knee_angle_r"], ["rad", "rad"]), tmp_path / "q.mot")
    assert "3 of 10 rows have missing values and are left out" in caplog.text
    storage = osim.Storage(str(tmp_path / "q.mot"))
    assert storage.getSize() == 7
    table = osim.TimeSeriesTable(str(tmp_path / "q.mot"))
    np.testing.assert_allclose(np.array(table.getIndependentColumn()), np.r_[t[:3], t[6:]], atol=1e-12)
    np.testing.assert_allclose(table.getDependentColumn("hip_flexion_r").to_numpy(), [0, 1, 2, 6, 7, 8, 9], rtol=1e-12)


def test_real_trc_reads_like_opensim():
    path = shared_file("opensim-models/Pipelines/Gait2392_Simbody/subject01_walk1.trc")
    ours = read_trc(path)
    table = osim.TimeSeriesTableVec3(str(path))
    assert list(table.getColumnLabels()) == list(ours.keypoint_names)
    np.testing.assert_allclose(vec3_table_to_array(table) / 1000.0, ours.positions, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(np.array(table.getIndependentColumn()), ours.time, atol=1e-12)


@pytest.mark.parametrize(
    "relative,in_degrees",
    [
        ("opencap-squat/Moco/exampleSquat/squats1_videoAndMocap.mot", None),
        ("opensim-core-tests/OpenSim/Examples/Moco/example3DWalking/coordinates.sto", None),
        ("opensim-core-tests/Applications/IK/tests/resources/std_subject01_walk1_ik.mot", True),
    ],
)
def test_real_motion_files_read_like_opensim(relative, in_degrees):
    path = shared_file(relative)
    ours = read_mot(path, in_degrees=in_degrees)
    table = osim.TimeSeriesTable(str(path))
    assert list(table.getColumnLabels()) == list(ours.column_names)
    np.testing.assert_allclose(np.array(table.getIndependentColumn()), ours.time, atol=1e-12)
    file_in_degrees = in_degrees if in_degrees is not None else table.getTableMetaDataAsString("inDegrees") == "yes"
    for j, (name, unit) in enumerate(zip(ours.column_names, ours.column_units)):
        expected = table.getDependentColumnAtIndex(j).to_numpy()
        if file_in_degrees and unit == "rad":
            expected = np.deg2rad(expected)
        np.testing.assert_allclose(ours.values[:, j], expected, rtol=1e-12, atol=1e-12, err_msg=name)


def test_header_less_mot_requires_the_caller_to_say_the_unit():
    from kinelift.errors import FileFormatError

    with pytest.raises(FileFormatError, match="inDegrees"):
        read_mot(shared_file("opensim-core-tests/Applications/IK/tests/resources/std_subject01_walk1_ik.mot"))
