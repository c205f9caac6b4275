"""Property-based tests of the mathematics (hypothesis): rotations, forward kinematics, Jacobians on
random models, filters and gaps, mirroring."""

from __future__ import annotations

import os

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from kinelift.core.keypoint_sets import KEYPOINT_SETS
from kinelift.lifting.mirror import coordinate_mirror, mirror_features, mirror_prediction
from kinelift.lifting.rotations import (
    matrix_to_pelvis_angles,
    matrix_to_rotation_6d,
    pelvis_angles_to_matrix,
    rotation_6d_to_matrix,
)
from kinelift.processing.filters import butterworth_lowpass, median_filter, savitzky_golay
from kinelift.skeleton.compiled import forward_points, point_jacobian
from kinelift.skeleton.functions import LinearFunction, SimmSpline
from kinelift.skeleton.model import SkeletalModel
from kinelift.skeleton.rotations import euler_xyz_to_matrix_np
from kinelift.skeleton.spec import CoordinateSpec, FrameRef, JointSpec, MarkerSpec, ModelSpec, OffsetLink, TransformAxisSpec
from kinelift.skeleton.tree import KinematicTree

PROPERTY = settings(max_examples=int(os.environ.get("KINELIFT_PROPERTY_EXAMPLES", "30")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
angle = st.floats(-np.pi, np.pi, allow_nan=False)
small = st.floats(-0.5, 0.5, allow_nan=False)


@PROPERTY
@given(st.tuples(angle, angle, angle))
def test_body_fixed_xyz_euler_is_scipys_and_a_rotation(angles):
    R = euler_xyz_to_matrix_np(angles)
    np.testing.assert_allclose(R, Rotation.from_euler("XYZ", angles).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(R), 1.0)


@PROPERTY
@given(st.tuples(st.floats(-1.5, 1.5), st.floats(-1.5, 1.5), angle))
def test_pelvis_angles_and_6d_round_trips(angles):
    a = torch.tensor(angles, dtype=torch.float64)
    R = pelvis_angles_to_matrix(a)
    torch.testing.assert_close(matrix_to_pelvis_angles(R), a, atol=1e-9, rtol=0)
    torch.testing.assert_close(rotation_6d_to_matrix(matrix_to_rotation_6d(R)), R, atol=1e-12, rtol=0)


def _random_chain(draw_values: list[float], n_bodies: int, spline: bool) -> SkeletalModel:
    """A chain of ``n_bodies`` bodies on CustomJoints with random axes, offsets and functions (one
    coordinate per joint driving a rotation, and a spline-driven translation when ``spline``)."""
    values = iter(draw_values)

    def vec(scale: float = 1.0) -> np.ndarray:
        return np.array([next(values), next(values), next(values)]) * scale

    def unit() -> np.ndarray:
        v = vec() + np.array([0.0, 0.0, 1e-3])
        return v / np.linalg.norm(v)

    bodies, joints, coords, markers = [], [], [], []
    parent = "ground"
    for b in range(n_bodies):
        name, q = f"b{b}", f"q{b}"
        axes = [TransformAxisSpec("rotation", unit(), (q,), LinearFunction(1.0, 0.0)),
                TransformAxisSpec("rotation", unit(), (q,), LinearFunction(0.5 + 0.5 * abs(next(values)), next(values)))]  # fmt: skip
        if spline:
            knots = np.linspace(-2, 2, 6)
            axes.append(TransformAxisSpec("translation", unit(), (q,), SimmSpline(knots, 0.05 * np.sin(knots * (1 + abs(next(values)))))))
        joints.append(JointSpec(f"j{b}", "CustomJoint", FrameRef(parent, (OffsetLink(vec(0.3), vec()),)),
                                FrameRef(name, (OffsetLink(vec(0.1), vec()),)), (q,), tuple(axes)))  # fmt: skip
        coords.append(CoordinateSpec(q, f"j{b}", "rotational"))
        markers += [MarkerSpec(f"m{b}_{k}", FrameRef(name, (OffsetLink(vec(0.1), vec()),)), vec(0.3)) for k in range(2)]
        bodies.append(name)
        parent = name
    return SkeletalModel.from_spec(ModelSpec("random", tuple(bodies), tuple(joints), tuple(coords), (), tuple(markers)))


@PROPERTY
@given(st.lists(st.floats(-1, 1, allow_nan=False), min_size=300, max_size=300), st.integers(1, 5), st.booleans(),
       st.lists(small, min_size=5, max_size=5))  # fmt: skip
def test_jacobians_of_random_models_equal_finite_differences(values, n_bodies, spline, q_values):
    model = _random_chain(values, n_bodies, spline)
    q = np.array(q_values[:n_bodies]) * 2
    x_t, J_t = model.point_jacobian(torch.as_tensor(q)[None])
    tree = KinematicTree.from_spec(model.spec)
    x, J = point_jacobian(tree, q)
    np.testing.assert_allclose(x, x_t[0].numpy(), atol=1e-12)
    np.testing.assert_allclose(J, J_t[0].numpy(), atol=1e-11)
    h = 1e-6
    for i in range(n_bodies):
        dq = np.zeros(n_bodies)
        dq[i] = h
        fd = (forward_points(tree, q + dq) - forward_points(tree, q - dq)) / (2 * h)
        np.testing.assert_allclose(J[:, :, i], fd, atol=2e-7)


@PROPERTY
@given(st.lists(st.floats(-1, 1, allow_nan=False), min_size=300, max_size=300), st.integers(1, 4),
       st.lists(small, min_size=4, max_size=4), st.lists(small, min_size=4, max_size=4))  # fmt: skip
def test_forward_kinematics_keeps_distances_on_a_body(values, n_bodies, q1, q2):
    """Points fixed on one body keep their distance whatever the pose (rigid bodies, rotations are rotations)."""
    model = _random_chain(values, n_bodies, spline=True)
    with torch.no_grad():
        a = model(torch.tensor([q1[:n_bodies]], dtype=torch.float64)).markers[0].numpy()
        b = model(torch.tensor([q2[:n_bodies]], dtype=torch.float64)).markers[0].numpy()
    for k in range(n_bodies):
        d_a = np.linalg.norm(a[2 * k] - a[2 * k + 1])
        d_b = np.linalg.norm(b[2 * k] - b[2 * k + 1])
        assert abs(d_a - d_b) < 1e-12


@PROPERTY
@given(st.integers(40, 120), st.integers(5, 30), st.integers(1, 10), st.integers(0, 2**31 - 1))
def test_filters_never_cross_a_gap(n_before, gap, n_after_extra, seed):
    """A NaN gap separates two signals: the output before it does not depend on the data after it,
    and missing samples stay missing."""
    rng = np.random.default_rng(seed)
    n_after = 40 + n_after_extra
    x = np.concatenate([rng.normal(size=n_before), np.full(gap, np.nan), rng.normal(size=n_after)])
    y = x.copy()
    y[n_before + gap :] = rng.normal(size=n_after) * 10
    filters = [lambda s: butterworth_lowpass(s, fps=100.0, cutoff=6.0),
               lambda s: savitzky_golay(s, window=11, polyorder=3),
               lambda s: median_filter(s, window=5)]  # fmt: skip
    for f in filters:
        fx, fy = f(x), f(y)
        np.testing.assert_array_equal(fx[:n_before], fy[:n_before])
        assert np.isnan(fx[n_before : n_before + gap]).all()


@PROPERTY
@given(st.integers(0, 2**31 - 1))
def test_mirroring_twice_is_the_identity(seed):
    rng = np.random.default_rng(seed)
    for ks in KEYPOINT_SETS.values():
        flip = np.asarray(ks.flip_indices())
        assert (flip[flip] == np.arange(len(ks))).all(), ks.name
        features = torch.as_tensor(rng.normal(size=(2, len(ks), 3)))
        torch.testing.assert_close(mirror_features(mirror_features(features, ks), ks), features)
    from kinelift.skeleton.builtin import builtin_model

    names = builtin_model().coordinate_names
    perm, signs = coordinate_mirror(names)
    q = torch.as_tensor(rng.normal(size=(3, len(names))))
    R = torch.as_tensor(Rotation.random(3, random_state=seed % 2**32).as_matrix())
    up = torch.as_tensor(rng.normal(size=(3, 3)))
    once = mirror_prediction(q, R, up, names)
    twice = mirror_prediction(*once, names)
    for a, b in zip(twice, (q, R, up)):
        torch.testing.assert_close(a, b)
