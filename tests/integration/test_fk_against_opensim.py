"""Forward kinematics equals OpenSim's on every real model (markers and joint centres)."""


import numpy as np
import pytest
import torch

from kinelift.io import read_mot
from kinelift.skeleton import SkeletalModel
from tests.conftest import SHARED, shared_file
from tests.opensim_reference import opensim_fk, random_coordinates

osim = pytest.importorskip("opensim", reason="the opensim package (test extra) is the reference for forward kinematics")
osim.Logger.setLevelString("error")

MODELS = sorted(str(p.relative_to(SHARED)) for p in SHARED.rglob("*.osim")) if SHARED.exists() else ["(shared data absent)"]
N_DRAWS = 1000


@pytest.mark.parametrize("relative", MODELS)
def test_markers_and_joint_centres_equal_opensim(relative):
    path = shared_file(relative)
    model = SkeletalModel.from_osim(path)
    q = random_coordinates(model, N_DRAWS, np.random.default_rng(abs(hash(relative)) % 2**32))
    out64 = model(torch.tensor(q, dtype=torch.float64))
    out32 = model(torch.tensor(q, dtype=torch.float32))
    q_used = out64.coordinates.numpy()
    ref_markers, ref_joints = opensim_fk(
        osim, str(path), q_used, list(model.coordinate_names), list(model.marker_names), list(model.joint_names)
    )
    assert np.abs(out64.joint_centers.numpy() - ref_joints).max() <= 1e-6
    assert np.abs(out32.joint_centers.numpy() - ref_joints).max() <= 1e-4
    if model.marker_names:
        assert np.abs(out64.markers.numpy() - ref_markers).max() <= 1e-6
        assert np.abs(out32.markers.numpy() - ref_markers).max() <= 1e-4


@pytest.mark.parametrize("relative", MODELS)
def test_point_jacobian_positions_equal_opensim_and_its_jacobian_equals_autograd(relative):
    """The solvers' level-batched kinematics (PointJacobian) on every real model: positions against
    OpenSim, the Jacobian against autograd through the model's forward pass (couplers, splines,
    patellae and all)."""
    path = shared_file(relative)
    model = SkeletalModel.from_osim(path)
    q = random_coordinates(model, 20, np.random.default_rng(abs(hash(relative)) % 2**32 + 1))
    q_used = model(torch.tensor(q)).coordinates.numpy()
    ref_markers, ref_joints = opensim_fk(
        osim, str(path), q_used, list(model.coordinate_names), list(model.marker_names), list(model.joint_names)
    )
    for points, ref in (("markers", ref_markers), ("joint_centers", ref_joints)):
        if points == "markers" and not model.marker_names:
            continue
        positions, _ = model.point_jacobian(torch.tensor(q), points=points, jacobian=False)
        assert np.abs(positions.numpy() - ref).max() <= 1e-6
        x, jac = model.point_jacobian(torch.tensor(q[:3]), points=points)
        auto = torch.autograd.functional.jacobian(lambda v, points=points: getattr(model(v), points).sum(0), torch.tensor(q[:3])).permute(2, 0, 1, 3)
        assert np.abs(x.numpy() - ref[:3]).max() <= 1e-6
        assert (jac - auto).abs().max() <= 1e-10


@pytest.mark.parametrize("relative", [m for m in MODELS if "Rajagopal2016" in m or "LaiArnold" in m or "squatToStand" in m or "leg39" in m])
def test_coupled_coordinates_equal_opensims_constraint_functions(relative):
    path = shared_file(relative)
    model = SkeletalModel.from_osim(path)
    assert model.spec.couplers, "these models have coupler constraints"
    osim_model = osim.Model(str(path))
    q = random_coordinates(model, 50, np.random.default_rng(1))
    ours = model.apply_couplers(torch.tensor(q)).numpy()
    constraints = osim_model.getConstraintSet()
    for cp in model.spec.couplers:
        con = osim.CoordinateCouplerConstraint.safeDownCast(constraints.get(cp.name))
        func = con.getFunction()
        i, d = model.coordinate_index(cp.independent[0]), model.coordinate_index(cp.dependent)
        ref = [float(con.getPropertyByName("scale_factor").toString()) * func.calcValue(osim.Vector(1, float(v))) for v in q[:, i]]
        np.testing.assert_allclose(ours[:, d], ref, rtol=0, atol=1e-12)


def test_squat_motion_reproduces_opensim_marker_trajectories():
    """FK of the OpenCap squat .mot on its LaiArnold model equals OpenSim's markers at every frame."""
    path = shared_file("opencap-squat/Moco/models/LaiArnoldModified2017_contacts.osim")
    motion = read_mot(shared_file("opencap-squat/Moco/exampleSquat/squats1_videoAndMocap.mot"))
    model = SkeletalModel.from_osim(path)
    out = model(model.coordinates_from_table(motion, missing="error"))
    ref_markers, _ = opensim_fk(osim, str(path), out.coordinates.numpy(), list(model.coordinate_names), list(model.marker_names), [])
    assert np.abs(out.markers.numpy() - ref_markers).max() <= 1e-6
    # the file's own coupled coordinates agree with the constraints (it came from OpenSim)
    file_q = model.coordinates_from_table(motion).numpy()
    for cp in model.spec.couplers:
        d = model.coordinate_index(cp.dependent)
        np.testing.assert_allclose(out.coordinates[:, d].numpy(), file_q[:, d], atol=1e-6)


def test_scaling_equals_opensims_scale(tmp_path):
    """Body scale factors act as OpenSim's Model.scale does (offsets, markers and joint translation functions)."""
    path = shared_file("opensim-models/Models/Gait2392_Simbody/gait2392_thelen2003muscle.osim")
    model = SkeletalModel.from_osim(path)
    rng = np.random.default_rng(3)
    factors = rng.uniform(0.8, 1.25, size=(len(model.body_names), 3))
    osim_model = osim.Model(str(path))
    state = osim_model.initSystem()
    scale_set = osim.ScaleSet()
    for name, f in zip(model.body_names, factors):
        s = osim.Scale()
        s.setSegmentName(name)
        s.setScaleFactors(osim.Vec3(*f))
        s.setApply(True)
        scale_set.cloneAndAppend(s)
    osim_model.scale(state, scale_set, True)
    scaled = tmp_path / "scaled.osim"
    osim_model.printToXML(str(scaled))
    q = random_coordinates(model, 100, rng)
    ours = model(torch.tensor(q), scales=torch.tensor(factors))
    _, ref_joints = opensim_fk(osim, str(scaled), ours.coordinates.numpy(), list(model.coordinate_names), [], list(model.joint_names))
    assert np.abs(ours.joint_centers.numpy() - ref_joints).max() <= 1e-6
    # and the scaled file, read back by kinelift, gives the same answer without scale factors
    again = SkeletalModel.from_osim(scaled)(torch.tensor(q))
    assert np.abs(again.joint_centers.numpy() - ref_joints).max() <= 1e-6


def test_fk_command_writes_a_trc_opensim_reads(tmp_path):
    from kinelift.cli import main

    model_path = shared_file("opencap-squat/Moco/models/LaiArnoldModified2017_contacts.osim")
    motion_path = shared_file("opencap-squat/Moco/exampleSquat/squats1_videoAndMocap.mot")
    out = tmp_path / "squat_markers.trc"
    assert main(["fk", "--model", str(model_path), "--motion", str(motion_path), "--out", str(out), "--joints"]) == 0
    table = osim.TimeSeriesTableVec3(str(out))
    model = SkeletalModel.from_osim(model_path)
    labels = list(table.getColumnLabels())
    assert labels == list(model.marker_names) + [f"{j}_center" for j in model.joint_names]
    q = model.coordinates_from_table(read_mot(motion_path))
    ref_markers, ref_joints = opensim_fk(osim, str(model_path), model(q).coordinates.numpy()[::50], list(model.coordinate_names),
                                         list(model.marker_names), list(model.joint_names))  # fmt: skip
    rows = range(0, table.getNumRows(), 50)
    got = np.array([[[table.getRowAtIndex(i)[j][k] for k in range(3)] for j in range(len(labels))] for i in rows]) / 1000.0
    np.testing.assert_allclose(got, np.concatenate([ref_markers, ref_joints], axis=1), atol=1e-6)


_GCV_KNOTS = np.array([-1.5, -1.1, -0.6, -0.2, 0.1, 0.5, 0.8, 1.3, 1.7, 2.2])
_GCV_VALUES = np.array([0.02, -0.01, 0.03, 0.05, 0.0, -0.04, 0.01, 0.06, 0.02, -0.03])


def _gcv_xml(half_order: int, name: str = "function") -> str:
    numbers = (" ".join(map(repr, a.tolist())) for a in (_GCV_KNOTS, _GCV_VALUES))
    return '<GCVSpline name="{}"><half_order>{}</half_order><x>{}</x><y>{}</y></GCVSpline>'.format(name, half_order, *numbers)


@pytest.mark.parametrize("half_order", [1, 2, 3, 4])
def test_gcvspline_values_equal_opensims_inside_and_beyond_the_knots(tmp_path, half_order):
    from kinelift.skeleton.functions import GCVSpline

    path = tmp_path / "f.xml"
    path.write_text(f'<?xml version="1.0" encoding="UTF-8" ?><OpenSimDocument Version="40000">{_gcv_xml(half_order, "f")}</OpenSimDocument>')
    theirs = osim.GCVSpline.safeDownCast(osim.OpenSimObject.makeObjectFromFile(str(path)))
    x = np.linspace(-2.5, 3.2, 229)
    ref = np.array([theirs.calcValue(osim.Vector(1, float(v))) for v in x])
    ours = GCVSpline(_GCV_KNOTS, _GCV_VALUES, half_order)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_gcvspline_joint_functions_give_opensims_markers(tmp_path):
    body = "<Body name='{}'><mass>1</mass><mass_center>0 0 0</mass_center><inertia>0.1 0.1 0.1 0 0 0</inertia></Body>"
    axis = "<TransformAxis name='{}'><coordinates>{}</coordinates><axis>{}</axis>{}</TransformAxis>"
    linear = '<LinearFunction name="function"><coefficients>1 0</coefficients></LinearFunction>'
    zero = '<Constant name="function"><value>0</value></Constant>'
    axes = [axis.format("rotation1", "q0", "0 0 1", linear), axis.format("rotation2", "q1", "1 0 0", _gcv_xml(3)),
            axis.format("rotation3", "", "0 1 0", zero), axis.format("translation1", "q1", "1 0 0", _gcv_xml(2)),
            axis.format("translation2", "q0", "0 1 0", _gcv_xml(4)), axis.format("translation3", "", "0 0 1", zero)]  # fmt: skip
    xml = f"""<?xml version="1.0" encoding="UTF-8" ?><OpenSimDocument Version="40000"><Model name="gcv">
      <BodySet><objects>{body.format("thigh")}</objects></BodySet>
      <JointSet><objects><CustomJoint name="hip"><socket_parent_frame>/ground</socket_parent_frame><socket_child_frame>/bodyset/thigh</socket_child_frame>
        <coordinates><Coordinate name="q0"><range>-3 3</range></Coordinate><Coordinate name="q1"><range>-3 3</range></Coordinate></coordinates>
        <SpatialTransform>{"".join(axes)}</SpatialTransform></CustomJoint></objects></JointSet>
      <MarkerSet><objects><Marker name="knee"><socket_parent_frame>/bodyset/thigh</socket_parent_frame><location>0.03 -0.4 0.02</location></Marker>
      </objects></MarkerSet></Model></OpenSimDocument>"""
    path = tmp_path / "gcv.osim"
    path.write_text(xml)
    model = SkeletalModel.from_osim(path)
    q = np.random.default_rng(5).uniform(-2.6, 3.0, size=(300, 2))  # inside and beyond the knots
    ours = model(torch.tensor(q))
    ref_markers, ref_joints = opensim_fk(osim, str(path), q, list(model.coordinate_names), ["knee"], ["hip"])
    assert np.abs(ours.markers.numpy() - ref_markers).max() <= 1e-9
    assert np.abs(ours.joint_centers.numpy() - ref_joints).max() <= 1e-9
