"""Unit tests of the IK layer: Jacobians, the solver, problems, setup files, results, scaling pieces."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, ShapeError, UnknownNameError, UnsupportedSetupError, ValueRangeError
from kinelift.ik import (
    CoordinateTask, IKOptions, LMOptions, MarkerTask, TaskSet, fit_keypoint_scales, inverse_kinematics, keypoint_ik,
    keypoint_skeleton, read_ik_setup, read_task_set,
)  # fmt: skip
from kinelift.ik.inverse_kinematics import warm_start_levels
from kinelift.ik.scale_tool import average_markers, measurement_scale_factors, place_markers
from kinelift.ik.scale_setup import Measurement
from kinelift.ik.solver import levenberg_marquardt
from kinelift.io.hdf5 import validate_h5
from kinelift.io.mot import read_mot
from kinelift.skeleton import functions as fn
from kinelift.skeleton.builtin import builtin_model
from kinelift.skeleton.model import SkeletalModel
from kinelift.skeleton.osim_parser import MINIMAL_OSIM
from kinelift.skeleton.scaling import scale_spec

QUIET = IKOptions(progress=False)


def _well_marked(model: SkeletalModel) -> SkeletalModel:
    """The model with three non-collinear markers on every body, so every coordinate is observable."""
    from dataclasses import replace

    from kinelift.skeleton.spec import FrameRef, MarkerSpec

    offsets = np.array([[0.05, 0.0, 0.0], [0.0, 0.06, 0.0], [0.0, 0.0, 0.07]])
    markers = tuple(MarkerSpec(f"{b}_{k}", FrameRef(b), offsets[k]) for b in model.body_names for k in range(3))
    return SkeletalModel.from_spec(replace(model.spec, markers=markers))


@pytest.fixture(scope="module")
def model() -> SkeletalModel:
    return _well_marked(builtin_model(arms=False))


def _random_q(model: SkeletalModel, n: int, seed: int = 0, spread: float = 0.3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q = model.default_coordinates().expand(n, -1) + spread * (torch.rand(n, model.n_coordinates, generator=g, dtype=torch.float64) - 0.5)
    lo, hi = (torch.as_tensor(model.coordinate_ranges[:, i]) for i in (0, 1))
    return torch.minimum(torch.maximum(q, lo), hi)


def _markers(model: SkeletalModel, q: torch.Tensor, fps: float = 100.0) -> Tracks:
    return Tracks(model(q).markers.numpy(), keypoints=list(model.marker_names), fps=fps, units="m", coordinate_frame="ground")


# ------------------------------------------------------------------ Jacobians
@pytest.mark.parametrize("points", ["markers", "joint_centers"])
def test_point_jacobian_equals_autograd(model, points):
    q = _random_q(model, 3)
    x, jac = model.point_jacobian(q, points=points)
    auto = torch.autograd.functional.jacobian(lambda v: getattr(model(v), points).sum(0), q).permute(2, 0, 1, 3)
    assert torch.allclose(x, getattr(model(q), points))
    assert (jac - auto).abs().max() < 1e-12


def test_point_jacobian_carries_couplers_into_the_independent_coordinate():
    # a coupler makes the knee translation follow the knee angle
    model = builtin_model(arms=False)
    spec = model.spec
    from dataclasses import replace

    from kinelift.skeleton.spec import CouplerSpec

    coupled = replace(spec, couplers=(CouplerSpec("c", "hip_rotation_r", ("knee_angle_r",), fn.LinearFunction(0.5, 0.1)),))
    m = SkeletalModel.from_spec(coupled)
    q = _random_q(m, 2, seed=3)
    _, jac = m.point_jacobian(q)
    auto = torch.autograd.functional.jacobian(lambda v: m(v).markers.sum(0), q).permute(2, 0, 1, 3)
    assert (jac - auto).abs().max() < 1e-12
    assert jac[..., m.coordinate_index("hip_rotation_r")].abs().max() == 0


@pytest.mark.parametrize(
    "function",
    [fn.Constant(0.3), fn.LinearFunction(2.0, -1.0), fn.PolynomialFunction([0.5, -1.0, 2.0, 0.1]),
     fn.SimmSpline([-1.0, 0.0, 0.5, 2.0], [0.0, 0.3, -0.2, 0.4]), fn.PiecewiseLinearFunction([-1.0, 0.0, 1.0], [0.0, 1.0, 0.5]),
     fn.MultiplierFunction(fn.SimmSpline([-1.0, 0.0, 0.5, 2.0], [0.0, 0.3, -0.2, 0.4]), 1.7)],
    ids=lambda f: type(f).__name__,
)  # fmt: skip
def test_function_derivatives_equal_autograd(function):
    x = torch.linspace(-2.0, 3.0, 41, dtype=torch.float64)  # includes extrapolation on both sides
    x = x[(x - x.round()).abs() > 1e-9]  # away from the knots, where the derivative jumps
    value, slope = function.value_and_derivative(x)
    xr = x.clone().requires_grad_()
    out = function(xr)
    auto = torch.autograd.grad(out.sum(), xr)[0] if out.requires_grad else torch.zeros_like(x)
    slope = torch.zeros_like(x) if slope is None else torch.as_tensor(slope, dtype=x.dtype).expand_as(x)
    assert torch.allclose(value, function(x))
    assert torch.allclose(slope, auto, atol=1e-12)


# ------------------------------------------------------------------ solver
def test_solver_respects_bounds_and_fixed_variables():
    target = torch.tensor([[2.0, -3.0, 5.0]], dtype=torch.float64)

    def residuals(x, rows, jacobian=True):
        e = (x - target)[:, :, None]
        return e, torch.eye(3, dtype=x.dtype).expand(len(rows), 3, 3)[:, :, None, :] if jacobian else None

    sol = levenberg_marquardt(
        residuals, lambda rows: torch.ones(len(rows), 3, dtype=torch.float64), torch.zeros(1, 3, dtype=torch.float64),
        free=torch.tensor([True, True, False]), lower=torch.tensor([-1.0, -1.0, -1.0]), upper=torch.tensor([1.0, 1.0, 1.0]),
    )  # fmt: skip
    assert sol.x.tolist() == [[1.0, -1.0, 0.0]]
    assert bool(sol.converged.all())


def test_lm_options_are_validated():
    with pytest.raises(ValueRangeError, match="max_iterations"):
        LMOptions(max_iterations=0)
    with pytest.raises(ValueRangeError, match="ftol"):
        LMOptions(ftol=math.nan)


def test_warm_start_levels_cover_every_frame_once():
    for n in (1, 2, 3, 7, 64, 100):
        frames = [0] + [f for level in warm_start_levels(n) for f in level[0].tolist()]
        assert sorted(frames) == list(range(n))


# ------------------------------------------------------------------ IK
def test_ik_recovers_the_pose_that_made_the_markers(model):
    truth = _random_q(model, 40, seed=1)
    result = inverse_kinematics(model, _markers(model, truth), options=QUIET)
    assert np.abs(result.coordinates - truth.numpy()).max() < 1e-7
    assert result.rms_error.max() < 1e-9 and result.converged.all()


def test_missing_markers_drop_out_and_sparse_frames_are_reported(model, caplog):
    truth = _random_q(model, 10, seed=2)
    xyz = model(truth).markers.numpy()
    xyz[3, :5] = np.nan  # a few markers missing: still solved
    xyz[6, 2:] = np.nan  # two markers left: reported, not filled
    tracks = Tracks(xyz, keypoints=list(model.marker_names), fps=50.0, units="m", coordinate_frame="ground")
    result = inverse_kinematics(model, tracks, options=QUIET)
    assert result.failed_frames.tolist() == [6]
    assert np.isnan(result.coordinates[6]).all() and "fewer than 3 markers" in caplog.text
    ok = [i for i in range(10) if i != 6]
    assert np.abs(result.coordinates[ok] - truth.numpy()[ok]).max() < 1e-6
    assert np.isnan(result.marker_errors[3, :5]).all()


def test_weights_and_coordinate_tasks_define_the_objective(model):
    truth = _random_q(model, 4, seed=4)
    knee = model.coordinate_index("knee_angle_r")
    tasks = TaskSet([MarkerTask(n, 1.0) for n in model.marker_names] + [CoordinateTask("knee_angle_r", 1e6, "manual_value", 0.2)])
    result = inverse_kinematics(model, _markers(model, truth), tasks=tasks, options=QUIET)
    assert np.abs(result.coordinates[:, knee] - 0.2).max() < 1e-3  # held by the heavy task
    # the reported objective is the weighted sum OpenSim minimises
    d2 = ((result.model_markers - result.measured) ** 2).sum(-1)
    expected = d2.sum(1) + 1e6 * (result.coordinates[:, knee] - 0.2) ** 2
    assert np.allclose(result.objective, expected, rtol=1e-9)


def test_clamped_coordinates_stay_in_range_and_locked_ones_stay_put():
    spec = builtin_model(arms=False).spec
    from dataclasses import replace

    coords = tuple(
        replace(c, clamped=True, range=(-0.1, 0.1)) if c.name == "hip_adduction_r"
        else replace(c, locked=True, default_value=0.05) if c.name == "subtalar_angle_r" else c
        for c in spec.coordinates
    )  # fmt: skip
    model = _well_marked(SkeletalModel.from_spec(replace(spec, coordinates=coords)))
    truth = _random_q(model, 3, seed=5)
    truth[:, model.coordinate_index("hip_adduction_r")] = 0.3
    result = inverse_kinematics(model, _markers(model, truth), options=QUIET)
    assert np.abs(result.coordinates[:, model.coordinate_index("hip_adduction_r")]).max() <= 0.1 + 1e-12
    assert np.all(result.coordinates[:, model.coordinate_index("subtalar_angle_r")] == 0.05)


def test_from_file_coordinate_task_interpolates_the_file(model):
    from kinelift.core.table import TimeSeriesTable

    truth = _random_q(model, 12, seed=6)
    markers = _markers(model, truth, fps=100.0)
    file_time = np.linspace(-0.05, 0.2, 26)
    table = TimeSeriesTable(file_time, 0.3 + 0.5 * file_time, ["knee_angle_r"], ["rad"])
    tasks = TaskSet([CoordinateTask("knee_angle_r", 1e8, "from_file")])
    result = inverse_kinematics(model, markers, tasks=TaskSet(list(TaskSet.from_weights({n: 1.0 for n in model.marker_names}).tasks) + list(tasks.tasks)),
                                coordinates=table, options=QUIET)  # fmt: skip
    assert np.allclose(result.coordinates[:, model.coordinate_index("knee_angle_r")], 0.3 + 0.5 * markers.time, atol=1e-5)
    with pytest.raises(ValueRangeError, match="from_file"):
        inverse_kinematics(model, markers, tasks=TaskSet([MarkerTask(model.marker_names[0]), *tasks.tasks]), options=QUIET)


def test_time_range_snaps_to_the_nearest_frames(model):
    result = inverse_kinematics(model, _markers(model, _random_q(model, 20, seed=7)), time_range=(0.031, 0.1), options=QUIET)
    assert np.allclose(result.time, np.arange(3, 11) / 100.0)


def test_bad_inputs_get_clear_errors(model):
    markers = _markers(model, _random_q(model, 2))
    with pytest.raises(UnknownNameError, match="tracked marker"):
        inverse_kinematics(model, markers, tasks=TaskSet([MarkerTask("nope")]), options=QUIET)
    with pytest.raises(UnknownNameError, match="coordinate"):
        inverse_kinematics(model, markers, tasks=TaskSet([MarkerTask(model.marker_names[0]), CoordinateTask("nope")]), options=QUIET)
    with pytest.raises(ValueRangeError, match="weight"):
        MarkerTask("a", weight=-1.0)
    with pytest.raises(ValueRangeError, match="names"):
        TaskSet([MarkerTask("a"), MarkerTask("a")])
    flat = Tracks(np.zeros((2, 3, 2)), keypoints=["a", "b", "c"], fps=10.0)
    with pytest.raises(ShapeError, match="metres"):
        inverse_kinematics(model, flat, options=QUIET)


def test_result_writers(model, tmp_path):
    result = inverse_kinematics(model, _markers(model, _random_q(model, 5, seed=8)), options=QUIET)
    result.write_mot(tmp_path / "q.mot")
    back = read_mot(tmp_path / "q.mot")
    assert back.metadata["inDegrees"] == "yes"
    assert np.allclose(back.values, result.coordinates, atol=1e-8)
    result.write_marker_errors(tmp_path / "e.sto")
    errors = read_mot(tmp_path / "e.sto")
    assert errors.column_names == ("total_squared_error", "marker_error_RMS", "marker_error_max")
    result.write_h5(tmp_path / "r.h5")
    validate_h5(tmp_path / "r.h5")
    assert list(result.to_dataframe().columns) == list(model.coordinate_names)
    assert result.summary()["frames"] == 5


# ------------------------------------------------------------------ setup files
def test_setup_files_parse_and_fail_clearly(tmp_path):
    tasks = tmp_path / "tasks.xml"
    tasks.write_text(
        '<OpenSimDocument Version="30000"><IKTaskSet name="t"><objects>'
        "<IKMarkerTask name='A'><apply>true</apply><weight>2</weight></IKMarkerTask>"
        "<IKMarkerTask name='B'><apply>false</apply><weight>1</weight></IKMarkerTask>"
        "<IKCoordinateTask name='knee'><weight>5</weight><value_type>manual_value</value_type><value>0.1</value></IKCoordinateTask>"
        "</objects></IKTaskSet></OpenSimDocument>"
    )
    setup = tmp_path / "sub" / "setup.xml"
    setup.parent.mkdir()
    setup.write_text(
        '<OpenSimDocument Version="20302"><InverseKinemtaticsTool name="trial">'
        "<model_file>m.osim</model_file><IKTaskSet file='../tasks.xml'/><marker_file>w.trc</marker_file>"
        "<time_range> 0.5 1.5 </time_range><output_motion_file>out.mot</output_motion_file>"
        "</InverseKinemtaticsTool></OpenSimDocument>"
    )
    s = read_ik_setup(setup)
    assert s.model_file == setup.parent / "m.osim" and s.time_range == (0.5, 1.5) and s.name == "trial"
    assert s.tasks.marker_weights() == {"A": 2.0}
    assert [(t.name, t.value) for t in s.tasks.coordinate_tasks()] == [("knee", 0.1)]
    bad = tmp_path / "bad.xml"
    bad.write_text("<IKTaskSet><objects><IKMarkerTask name='A'><weight>heavy</weight></IKMarkerTask></objects></IKTaskSet>")
    with pytest.raises(FileFormatError, match="weight"):
        read_task_set(bad)
    bad.write_text("<IKTaskSet><objects><IKJointTask name='A'/></objects></IKTaskSet>")
    with pytest.raises(UnsupportedSetupError, match="IKJointTask"):
        read_task_set(bad)
    bad.write_text("<IKTaskSet><objects>")
    with pytest.raises(FileFormatError, match="XML"):
        read_task_set(bad)
    with pytest.raises(FileFormatError, match="InverseKinematicsTool"):
        read_ik_setup(tasks)


# ------------------------------------------------------------------ keypoints and scaling pieces
def test_keypoint_ik_uses_confidence_as_weights(model):
    truth = _random_q(model, 6, seed=9)
    kp = keypoint_skeleton(model, "LOWER-6")
    xyz = kp(truth).markers.numpy().copy()
    confidence = np.ones(xyz.shape[:2])
    xyz[:, 0] += 0.2  # a badly wrong right ankle ...
    confidence[:, 0] = 1e-9  # ... that the detector did not trust
    tracks = Tracks(xyz, keypoints="LOWER-6", confidence=confidence, fps=30.0, units="m", coordinate_frame="ground")
    trusted = keypoint_ik(model, tracks, options=QUIET)
    naive = keypoint_ik(model, tracks, use_confidence=False, options=QUIET)
    assert np.nanmax(trusted.marker_errors[:, 1:]) < 1e-3 < np.nanmax(naive.marker_errors[:, 1:])


def test_fit_keypoint_scales_recovers_segment_lengths(model):
    factors = {"femur_r": 1.1, "femur_l": 1.1, "tibia_r": 0.92, "tibia_l": 0.92}
    true_model = SkeletalModel.from_spec(scale_spec(model.spec, {b: (f, f, f) for b, f in factors.items()}))
    kp = keypoint_skeleton(true_model, "LOWER-6")
    xyz = kp(_random_q(model, 6, seed=10, spread=0.4)).markers.numpy()
    tracks = Tracks(xyz, keypoints="LOWER-6", fps=30.0, units="m", coordinate_frame="ground")
    fitted = fit_keypoint_scales(model, tracks, groups={"thigh": ["femur_r", "femur_l"], "shank": ["tibia_r", "tibia_l"]})
    assert abs(fitted.scale_factors["femur_r"][0] - 1.1) < 0.01 and abs(fitted.scale_factors["tibia_l"][0] - 0.92) < 0.01


def test_scaled_spec_equals_fk_with_scales():
    m = SkeletalModel.from_osim_string(MINIMAL_OSIM)
    s = torch.tensor([[1.2, 0.8, 1.1]], dtype=torch.float64).expand(len(m.body_names), 3)
    q = torch.linspace(-1, 1, 5, dtype=torch.float64)[:, None]
    scaled = SkeletalModel.from_spec(scale_spec(m.spec, s.numpy()))
    assert torch.allclose(scaled(q).markers, m(q, scales=s).markers, atol=1e-15)
    with pytest.raises(ValueRangeError):
        scale_spec(m.spec, -s.numpy())


def test_measurements_average_the_static_trial_and_markers_are_placed(model):
    q = model.default_coordinates()[None]
    xyz = model(q).markers.numpy().repeat(4, 0) * 1.0
    names = list(model.marker_names)
    xyz[:, :, 1] *= 1.0  # unchanged
    a, b = names[0], names[1]
    xyz[1, 0] = np.nan  # a missing sample is skipped in the average
    tracks = Tracks(xyz, keypoints=names, fps=100.0, units="m", coordinate_frame="ground")
    static = average_markers(tracks, (0.0, 0.03))
    assert static.n_frames == 1 and np.allclose(static.positions[0], xyz[0])
    factors = measurement_scale_factors(model, (Measurement("m", ((a, b),), (("pelvis", "XYZ"),)),), static)
    assert factors["m"] == pytest.approx(1.0)
    moved = static.replace(positions=np.asarray(static.positions) + np.array([0.0, 0.01, 0.0]))
    placed, moves = place_markers(model, q[0], moved)
    assert np.allclose(SkeletalModel.from_spec(placed)(q).markers.numpy()[0], np.asarray(moved.positions)[0])
    assert min(moves.values()) == pytest.approx(0.01)
    with pytest.raises(ValueRangeError, match="move less"):
        average_markers(tracks.replace(positions=np.asarray(tracks.positions) + np.arange(4)[:, None, None]), (0, 1), max_marker_movement=0.5)
