import numpy as np
import pytest

from kinelift import TimeSeriesTable
from kinelift.core.table import unit_for_coordinate_name
from kinelift.errors import ShapeError, UnknownNameError, ValueRangeError


@pytest.mark.parametrize(
    "name,unit",
    [
        ("pelvis_tx", "m"), ("pelvis_ty", "m"), ("tib_ty_r", "m"), ("pat_tx_r", "m"), ("knee_angle_r", "rad"),
        ("knee_angle_r_beta", "rad"), ("pelvis_tilt", "rad"), ("ground_force_vx", ""), ("ground_torque_x", ""),
        ("1_ground_force_px", ""), ("/jointset/ground_pelvis/pelvis_tz/value", "m"),
        ("/jointset/hip_r/hip_flexion_r/value", "rad"),
    ],
)  # fmt: skip
def test_units_from_names(name, unit):
    assert unit_for_coordinate_name(name) == unit


def test_table_validation_and_access():
    tab = TimeSeriesTable([0, 1, 2], np.arange(6.0).reshape(3, 2), ["a", "b"], ["rad", "m"])
    assert np.array_equal(tab.column("b"), [1.0, 3.0, 5.0])
    assert tab.select(["b"]).column_units == ("m",)
    assert tab[1:].n_frames == 2
    assert np.allclose(tab.in_degrees()[:, 0], np.rad2deg([0, 2, 4]))
    with pytest.raises(ShapeError):
        TimeSeriesTable([0, 1], np.zeros((3, 2)), ["a", "b"])
    with pytest.raises(ValueRangeError, match="increasing"):
        TimeSeriesTable([0, 0], np.zeros((2, 1)), ["a"])
    with pytest.raises(UnknownNameError):
        tab.column("c")


def test_duplicate_columns_are_kept_but_ambiguous_lookup_fails():
    tab = TimeSeriesTable([0, 1], np.zeros((2, 2)), ["f", "f"])
    assert tab.column_names == ("f", "f")
    with pytest.raises(ValueRangeError, match="occurs once"):
        tab.column("f")


def test_dataframe_round_trip():
    tab = TimeSeriesTable([0, 0.5], [[1.0, 2.0], [3.0, 4.0]], ["q1", "q2"], ["rad", "m"], name="ik")
    back = TimeSeriesTable.from_dataframe(tab.to_dataframe())
    assert back.column_units == ("rad", "m") and back.name == "ik"
    np.testing.assert_array_equal(back.values, tab.values)
