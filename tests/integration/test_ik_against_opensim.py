"""IK and scaling against OpenSim's own results on real data (../shared/data) and the opensim package."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

from kinelift.cli import main
from kinelift.ik import IKOptions, read_ik_setup, read_scale_setup, run_ik_setup, run_scale_setup
from kinelift.ik.inverse_kinematics import _Residuals
from kinelift.ik.problem import build_problem
from kinelift.ik.scale_tool import average_markers
from kinelift.ik.tool import read_markers
from kinelift.io.mot import read_mot
from kinelift.skeleton.model import SkeletalModel
from tests.conftest import shared_file

QUIET = IKOptions(progress=False)
BACKENDS = pytest.mark.parametrize("backend", ["compiled", "torch"])
REGRESSION = "opensim-core-tests/Applications/IK/tests/resources"
GAIT2392 = "opensim-models/Pipelines/Gait2392_Simbody"
GAIT2354 = "opensim-models/Pipelines/Gait2354_Simbody"


def _objective(model, markers, tasks, time_range, q: np.ndarray) -> np.ndarray:
    """OpenSim's IK objective of coordinates ``q`` on the frames of ``time_range``."""
    problem = build_problem(model, markers, tasks, time_range=time_range)
    rows = torch.arange(problem.n_frames)
    res = _Residuals(model, problem, rows)
    e, _ = res(torch.as_tensor(q), rows, jacobian=False)
    return (res.weights(rows) * (e * e).sum(-1)).sum(-1).numpy()


def _rotational(result) -> list[int]:
    return [i for i, u in enumerate(result.coordinate_units) if u == "rad"]


@BACKENDS
def test_opensim_ik_regression_test(tmp_path, backend):
    setup = shared_file(f"{REGRESSION}/subject01_Setup_InverseKinematics.xml")
    reference = read_mot(shared_file(f"{REGRESSION}/std_subject01_walk1_ik.mot"), in_degrees=True)
    result = run_ik_setup(setup, output_motion_file=tmp_path / "ik.mot", results_directory=tmp_path, options=IKOptions(progress=False, backend=backend))
    model = SkeletalModel.from_osim(read_ik_setup(setup).model_file)
    ref_q = model.coordinates_from_table(reference).numpy()
    assert np.allclose(reference.time, result.time, atol=1e-6)
    error = np.rad2deg(np.abs(result.coordinates - ref_q))[:, _rotational(result)]
    assert error.max() < 0.05, f"max {error.max():.4f} deg (OpenSim's tolerance 0.2, target 0.05)"
    s = read_ik_setup(setup)
    ref_objective = _objective(model, read_markers(s.marker_file), s.tasks, s.time_range, ref_q)
    assert np.all(result.objective <= ref_objective * 1.001)
    assert (tmp_path / "ik.mot").exists() and not (tmp_path / "subject01_ik_marker_errors.sto").exists()  # report_errors false


@BACKENDS
def test_gait2392_walk_matches_opensim(tmp_path, backend):
    osim = pytest.importorskip("opensim", reason="OpenSim's marker errors are computed with the opensim package")
    setup = shared_file(f"{GAIT2392}/subject01_Setup_IK.xml")
    model_file = shared_file(f"{GAIT2392}/OutputReference/subject01_simbody.osim")
    reference = read_mot(shared_file(f"{GAIT2392}/OutputReference/subject01_walk1_ik.mot"), in_degrees=True)
    result = run_ik_setup(setup, model_file=model_file, output_motion_file=tmp_path / "walk.mot", results_directory=tmp_path, options=IKOptions(progress=False, backend=backend))
    model = SkeletalModel.from_osim(model_file)
    rows = [int(np.argmin(np.abs(reference.time - t))) for t in result.time]
    ref_q = model.coordinates_from_table(reference).numpy()[rows]
    rmse = np.sqrt(np.mean(np.rad2deg(result.coordinates - ref_q) ** 2, axis=0))[_rotational(result)]
    assert rmse.max() <= 0.1, f"per-coordinate RMSE up to {rmse.max():.4f} deg"
    s = read_ik_setup(setup)
    assert np.all(result.objective <= _objective(model, read_markers(s.marker_file), s.tasks, s.time_range, ref_q) * 1.001)

    # OpenSim's own marker errors for the same frames, from its IK tool run here
    osim.Logger.setLevelString("error")
    osim.Logger.removeFileSink()  # never write opensim.log beside the read-only reference data
    tool = osim.InverseKinematicsTool(str(setup))
    tool.set_model_file(str(model_file))  # absolute: OpenSim reads the model before it enters the setup's folder
    tool.setResultsDir(str(tmp_path / "opensim"))
    tool.setOutputMotionFileName(str(tmp_path / "opensim" / "walk.mot"))
    assert tool.run()
    theirs = read_mot(tmp_path / "opensim" / "subject01_ik_marker_errors.sto")
    assert np.allclose(theirs.time, result.time, atol=1e-6)
    assert np.all(result.rms_error <= theirs.column("marker_error_RMS") * 1.001 + 1e-6)
    ours = read_mot(tmp_path / "subject01_ik_marker_errors.sto")
    assert np.allclose(ours.column("marker_error_RMS"), result.rms_error, rtol=1e-6)


def _scale_inputs():
    return dict(
        model_file=shared_file("opensim-models/Models/Gait2354_Simbody/gait2354_simbody.osim"),
        # the setup's gait2354_Scale_MarkerSet.xml is not in the data; gait2392's is on the same bodies
        marker_set_file=shared_file(f"{GAIT2392}/gait2392_Scale_MarkerSet.xml"),
        marker_file=shared_file(f"{GAIT2392}/subject01_static.trc"),
    )


@BACKENDS
def test_gait2354_scaling_matches_opensims_scale_set(tmp_path, backend):
    setup = shared_file(f"{GAIT2354}/subject01_Setup_Scale.xml")
    reference = shared_file(f"{GAIT2354}/OutputReference/subject01_scaleSet_applied.xml")
    result = run_scale_setup(setup, output_directory=tmp_path, options=IKOptions(progress=False, backend=backend), **_scale_inputs())
    expected = {s.findtext("segment").strip(): np.array(s.findtext("scales").split(), float) for s in ET.parse(reference).getroot().iter("Scale")}
    for body, factors in result.scale_factors.items():
        assert np.allclose(factors, expected[body], rtol=0.01), body
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "subject01_scaleSet_applied.xml", "subject01_scaledOnly.osim", "subject01_simbody.osim", "subject01_static_output.mot",
    ]  # fmt: skip
    # the placed markers sit on the static trial's averaged markers at the static pose
    static = average_markers(read_markers(_scale_inputs()["marker_file"]), read_scale_setup(setup).marker_placer.time_range)
    x = result.scaled_model(torch.as_tensor(result.static_pose.coordinates)).markers.numpy()[0]
    for name, moved in result.marker_moves.items():
        y = np.asarray(static.positions)[0, static.keypoint_names.index(name)]
        assert np.linalg.norm(x[result.scaled_model.marker_names.index(name)] - y) < 1e-9, (name, moved)


@BACKENDS
def test_scaling_equals_opensims_scale_tool(tmp_path, backend):
    osim = pytest.importorskip("opensim", reason="the opensim package is the reference for scaling")
    osim.Logger.setLevelString("error")
    osim.Logger.removeFileSink()
    inputs = _scale_inputs()
    setup_file = shared_file(f"{GAIT2354}/subject01_Setup_Scale.xml")
    tool = osim.ScaleTool(str(setup_file))
    tool.setPathToSubject("")
    tool.getGenericModelMaker().setModelFileName(str(inputs["model_file"]))
    tool.getGenericModelMaker().setMarkerSetFileName(str(inputs["marker_set_file"]))
    scaler, placer = tool.getModelScaler(), tool.getMarkerPlacer()
    scaler.setMarkerFileName(str(inputs["marker_file"]))
    scaler.setOutputModelFileName(str(tmp_path / "os_scaled.osim"))
    scaler.setOutputScaleFileName(str(tmp_path / "os_scales.xml"))
    placer.setMarkerFileName(str(inputs["marker_file"]))
    placer.setOutputModelFileName(str(tmp_path / "os_placed.osim"))
    placer.setOutputMotionFileName(str(tmp_path / "os_static.mot"))
    assert tool.run()
    ours = run_scale_setup(setup_file, output_directory=tmp_path / "ours", options=IKOptions(progress=False, backend=backend), **inputs)
    theirs = {s.findtext("segment").strip(): np.array(s.findtext("scales").split(), float) for s in ET.parse(tmp_path / "os_scales.xml").getroot().iter("Scale")}
    for body, factors in ours.scale_factors.items():
        assert np.allclose(factors, theirs[body], rtol=1e-5), body
    # the scaled model (before marker placement) loads in OpenSim and has OpenSim's geometry
    os_scaled = SkeletalModel.from_osim(tmp_path / "os_scaled.osim")
    written = tmp_path / "ours" / "subject01_scaledOnly.osim"
    assert osim.Model(str(written)).initSystem() is not None
    q = os_scaled.default_coordinates().expand(5, -1) + 0.2 * torch.randn(5, os_scaled.n_coordinates, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert (os_scaled(q).markers - SkeletalModel.from_osim(written)(q).markers).abs().max() < 1e-5
    # marker placement: our static pose fits at least as well as OpenSim's
    placed = SkeletalModel.from_osim(tmp_path / "os_placed.osim")
    os_pose = placed.coordinates_from_table(read_mot(tmp_path / "os_static.mot")).numpy()
    s = read_scale_setup(setup_file)
    static = average_markers(read_markers(inputs["marker_file"]), s.marker_placer.time_range)
    scaled_only = SkeletalModel.from_osim(written)
    theirs_obj = _objective(scaled_only, static, s.marker_placer.tasks, None, os_pose)
    assert ours.static_pose.objective[0] <= theirs_obj[0] * 1.001
    assert osim.Model(str(tmp_path / "ours" / "subject01_simbody.osim")).initSystem() is not None


def test_ik_and_scale_commands(tmp_path, capsys):
    setup = shared_file(f"{REGRESSION}/subject01_Setup_InverseKinematics.xml")
    assert main(["ik", "--setup", str(setup), "--out", str(tmp_path / "a.mot"), "--results-dir", str(tmp_path), "--h5", str(tmp_path / "a.h5")]) == 0
    assert "73 frames (0 failed" in capsys.readouterr().out
    s = read_ik_setup(setup)
    assert main(["ik", "--model", str(s.model_file), "--markers", str(s.marker_file), "--tasks", str(setup.parent / "gait2354_IK_Tasks_uniform.xml"),
                 "--time-range", "0.4", "0.6", "--out", str(tmp_path / "b.mot")]) == 0  # fmt: skip
    assert read_mot(tmp_path / "b.mot").n_frames == 13
    assert main(["ik", "--model", str(s.model_file)]) == 2
    inputs = _scale_inputs()
    assert main(["scale", "--setup", str(shared_file(f"{GAIT2354}/subject01_Setup_Scale.xml")), "--model", str(inputs["model_file"]),
                 "--marker-set", str(inputs["marker_set_file"]), "--markers", str(inputs["marker_file"]), "--out-dir", str(tmp_path / "s")]) == 0  # fmt: skip
    assert "markers placed" in capsys.readouterr().out
