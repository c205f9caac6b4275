"""The kinematic tree and its compiled kinematics and IK against the torch path (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError
from kinelift.ik import IKOptions, inverse_kinematics
from kinelift.skeleton import SkeletalModel
from kinelift.skeleton.builtin import builtin_model
from kinelift.skeleton.compiled import TreeKinematics, forward_points, point_jacobian
from kinelift.skeleton.tree import KinematicTree


@pytest.fixture(scope="module")
def model():
    return builtin_model(height=1.75)


def test_tree_is_immutable_and_ordered(model):
    tree = KinematicTree.from_spec(model.spec)
    assert tree.n_coordinates == model.n_coordinates and tree.point_names == model.marker_names
    placed = {tree.n_bodies}
    for parent, child in zip(tree.joint_parent, tree.joint_child):  # every parent placed before its child
        assert parent in placed
        placed.add(child)
    with pytest.raises(ValueError):
        tree.axis_kind[0, 0] = 2


def test_compiled_points_and_jacobian_equal_the_torch_path(model, rng):
    tree = KinematicTree.from_spec(model.spec)
    kin = TreeKinematics(tree)
    for _ in range(5):
        q = model.default_coordinates().numpy() + rng.normal(0, 0.4, model.n_coordinates)
        x_t, J_t = model.point_jacobian(torch.as_tensor(q)[None])
        x, J = kin.points_and_jacobian(q)
        np.testing.assert_allclose(x, x_t[0].numpy(), atol=1e-13)
        np.testing.assert_allclose(J, J_t[0].numpy(), atol=1e-12)
        np.testing.assert_allclose(forward_points(tree, q), x, atol=0)
    # the Jacobian against central differences
    q = model.default_coordinates().numpy() + rng.normal(0, 0.3, model.n_coordinates)
    _, J = point_jacobian(tree, q)
    h = 1e-6
    for i in range(model.n_coordinates):
        dq = np.zeros_like(q)
        dq[i] = h
        fd = (forward_points(tree, q + dq) - forward_points(tree, q - dq)) / (2 * h)
        np.testing.assert_allclose(J[:, :, i], fd, atol=1e-7)
    with pytest.raises(ShapeError):
        kin.points(np.zeros(3))


def test_compiled_fk_equals_torch_on_every_shared_model(rng):
    """Every .osim in ../shared that kinelift reads: markers and Jacobians equal to 1e-12."""
    from pathlib import Path

    from kinelift.errors import KineliftError
    from tests.conftest import shared_file

    root = shared_file("opensim-models").parent
    checked = 0
    for path in sorted(Path(root).rglob("*.osim")):
        try:
            m = SkeletalModel.from_osim(path)
        except KineliftError:
            continue
        if not m.marker_names:
            continue
        q = m.default_coordinates().numpy() + rng.normal(0, 0.3, m.n_coordinates)
        x_t, J_t = m.point_jacobian(torch.as_tensor(q)[None])
        x, J = point_jacobian(KinematicTree.from_spec(m.spec), q)
        assert np.abs(x - x_t[0].numpy()).max() < 1e-12 and np.abs(J - J_t[0].numpy()).max() < 1e-11, path
        checked += 1
    assert checked >= 8


def _markers_of(model, q):
    with torch.no_grad():
        x = model(torch.as_tensor(q)).markers.numpy()
    return Tracks(x, keypoints=list(model.marker_names), fps=100.0, units="m", coordinate_frame="ground")


def test_compiled_ik_recovers_poses_and_matches_the_torch_path(model, rng):
    T = 300
    t = np.arange(T) / 100.0
    q = np.tile(model.default_coordinates().numpy(), (T, 1))
    lo, hi = model.coordinate_ranges[:, 0], model.coordinate_ranges[:, 1]
    for i in range(6, model.n_coordinates):  # every joint moving within its (clamped) range
        q[:, i] = (lo[i] + hi[i]) / 2 + 0.15 * (hi[i] - lo[i]) * np.sin(2 * np.pi * (0.5 + 0.1 * i) * t + i)
    q[:, :3] += 0.1 * np.sin(2 * np.pi * 0.3 * t)[:, None]
    markers = _markers_of(model, q)
    missing = markers.positions.copy()
    missing[50:60, :4] = np.nan  # missing markers for a while
    markers = markers.replace(positions=missing)
    results = {b: inverse_kinematics(model, markers, options=IKOptions(progress=False, backend=b)) for b in ("compiled", "torch")}
    split = inverse_kinematics(model, markers.between(0.0, 0.5), options=IKOptions(progress=False, backend="compiled", threads=2))
    assert np.nanmax(split.rms_error) < 1e-6  # two runs of 120 frames at once, the second from the default pose too
    compiled = results["compiled"]
    assert np.nanmax(compiled.rms_error) < 1e-6
    # the torch path warm-starts level by level across long intervals: where it lands in the same minimum, the same objective
    same = results["torch"].rms_error < 1e-6
    assert same.mean() > 0.5
    np.testing.assert_allclose(compiled.objective[same], results["torch"].objective[same], atol=1e-10)


def test_compiled_ik_keeps_bounds_locks_and_coordinate_tasks(model):
    from dataclasses import replace

    from kinelift.ik.tasks import CoordinateTask, MarkerTask, TaskSet

    spec = model.spec
    knee = next(c for c in spec.coordinates if c.name == "knee_angle_r")
    hip = next(c for c in spec.coordinates if c.name == "hip_flexion_r")
    coords = tuple(replace(c, clamped=True, range=(0.0, 0.5)) if c.name == "knee_angle_r" else
                   replace(c, locked=True, default_value=0.2) if c.name == "hip_flexion_l" else c for c in spec.coordinates)  # fmt: skip
    bounded = SkeletalModel.from_spec(replace(spec, coordinates=coords))
    q = np.tile(bounded.default_coordinates().numpy(), (3, 1))
    q[:, bounded.coordinate_index("knee_angle_r")] = [0.2, 0.9, 1.2]  # beyond the bound in two frames
    markers = _markers_of(bounded, q)
    tasks = TaskSet([*(MarkerTask(n) for n in bounded.marker_names), CoordinateTask(hip.name, weight=10.0, value_type="manual_value", value=0.3)])
    for backend in ("compiled", "torch"):
        r = inverse_kinematics(bounded, markers, tasks=tasks, options=IKOptions(progress=False, backend=backend))
        k = r.coordinates[:, bounded.coordinate_index("knee_angle_r")]
        assert k.min() >= 0.0 and k.max() <= 0.5 + 1e-12 and np.isclose(k[1:], 0.5).all()
        assert np.allclose(r.coordinates[:, bounded.coordinate_index("hip_flexion_l")], 0.2)
        assert (r.coordinates[:, bounded.coordinate_index(hip.name)] > 0.05).all()  # pulled towards the task's 0.3
    del knee


def test_tree_order_refuses_models_that_are_not_trees():
    from dataclasses import replace

    from kinelift.errors import FileFormatError
    from kinelift.skeleton.osim_parser import MINIMAL_OSIM, parse_osim_string
    from kinelift.skeleton.spec import FrameRef
    from kinelift.skeleton.tree import tree_order

    spec = parse_osim_string(MINIMAL_OSIM)
    joint = spec.joints[0]
    assert tree_order(spec) == [0]
    with pytest.raises(FileFormatError, match="closed loop"):
        tree_order(replace(spec, joints=(joint, replace(joint, name="again"))))
    with pytest.raises(FileFormatError, match="do not connect to ground"):
        tree_order(replace(spec, joints=(replace(joint, parent=FrameRef("nowhere")),)))
    with pytest.raises(FileFormatError, match="no joint to ground"):
        tree_order(replace(spec, bodies=(*spec.bodies, "floating")))
