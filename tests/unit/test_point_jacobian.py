"""Unit tests of the solvers' kinematics (kinelift.skeleton.jacobian): functions as polynomial pieces,
positions equal to the forward pass, Jacobians equal to autograd's, bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from kinelift.errors import FileFormatError, ShapeError, ValueRangeError
from kinelift.ik import IKOptions
from kinelift.ik.inverse_kinematics import warm_start_levels
from kinelift.skeleton import functions as fn
from kinelift.skeleton.builtin import builtin_model
from kinelift.skeleton.jacobian import PointJacobian, _FunctionBatch
from kinelift.skeleton.model import SkeletalModel
from kinelift.skeleton.osim_parser import MINIMAL_OSIM, parse_osim_string
from kinelift.skeleton.spec import CouplerSpec

FUNCTIONS = [
    fn.Constant(0.3), fn.LinearFunction(2.0, -1.0), fn.PolynomialFunction([0.5, -1.0, 2.0, 0.1]),
    fn.SimmSpline([-1.0, 0.0, 0.5, 2.0], [0.0, 0.3, -0.2, 0.4]), fn.SimmSpline([0.0, 1.0], [1.0, 3.0]),
    fn.NaturalCubicSpline([-1.0, 0.0, 0.0, 2.0, 3.0], [0.0, 0.3, 0.3, 0.4, 1.0]),  # coincident knots
    fn.PiecewiseLinearFunction([-1.0, 0.0, 1.0], [0.0, 1.0, 0.5]),
    fn.MultiplierFunction(fn.SimmSpline([-1.0, 0.0, 0.5, 2.0], [0.0, 0.3, -0.2, 0.4]), 1.7),
    fn.GCVSpline(np.linspace(-1.0, 2.0, 8), np.sin(np.linspace(-1.0, 2.0, 8))),
    fn.GCVSpline(np.linspace(-1.0, 2.0, 6), np.cos(np.linspace(-1.0, 2.0, 6)), half_order=2),
]  # fmt: skip


class _Sine(fn.OpenSimFunction):
    """A function with no polynomial pieces (none of OpenSim's is like this)."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)

    def value_and_derivative(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.sin(x), torch.cos(x)


def _random_q(model: SkeletalModel, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return model.default_coordinates().expand(n, -1) + 0.6 * (torch.rand(n, model.n_coordinates, generator=g, dtype=torch.float64) - 0.5)


def _autograd(model: SkeletalModel, q: torch.Tensor, points: str = "markers", scales=None, offsets=None) -> torch.Tensor:
    """``(B, points, 3, n)`` by reverse mode through the model's forward pass."""
    out = torch.autograd.functional.jacobian(lambda v: getattr(model(v, scales, offsets), points).sum(0), q)
    return out.permute(2, 0, 1, 3)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: type(f).__name__)
def test_polynomial_pieces_equal_each_function_inside_and_beyond_its_knots(function):
    x = torch.linspace(-2.5, 3.5, 241, dtype=torch.float64)
    pieces = function.piecewise_polynomial()
    assert pieces is not None and len(pieces.bases) == len(pieces.thresholds) + 1
    values, slopes = _FunctionBatch([pieces])(x[:, None])
    ref_value, ref_slope = function.value_and_derivative(x)
    ref_slope = torch.zeros_like(x) if ref_slope is None else torch.as_tensor(ref_slope, dtype=x.dtype).expand_as(x)
    torch.testing.assert_close(values[:, 0], ref_value, rtol=0, atol=1e-12)
    torch.testing.assert_close(slopes[:, 0], ref_slope, rtol=0, atol=1e-12)


def test_a_batch_of_mixed_functions_evaluates_each_on_its_own_column():
    functions = list(FUNCTIONS)
    x = torch.randn(50, len(functions), dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2.0
    values, slopes = _FunctionBatch([f.piecewise_polynomial() for f in functions])(x)
    for i, f in enumerate(functions):
        v, d = f.value_and_derivative(x[:, i].contiguous())
        d = torch.zeros_like(v) if d is None else torch.as_tensor(d, dtype=v.dtype).expand_as(v)
        torch.testing.assert_close(values[:, i], v, rtol=0, atol=1e-12)
        torch.testing.assert_close(slopes[:, i], d, rtol=0, atol=1e-12)


def test_a_function_without_polynomial_pieces_is_refused_by_name():
    spec = parse_osim_string(MINIMAL_OSIM)
    joint = spec.joints[0]
    sine = replace(joint, axes=(replace(joint.axes[0], function=_Sine()),))
    with pytest.raises(FileFormatError, match="_Sine has no polynomial form"):
        SkeletalModel(replace(spec, joints=(sine, *spec.joints[1:])))


@pytest.mark.parametrize("points", ["markers", "joint_centers"])
def test_whole_body_jacobian_with_scales_and_marker_offsets_equals_autograd(points):
    model = builtin_model(arms=True)  # six levels from pelvis to hand: three pointer-jumping rounds
    q = _random_q(model, 4, seed=1)
    g = torch.Generator().manual_seed(2)
    scales = 0.85 + 0.3 * torch.rand(4, len(model.body_names), 3, generator=g, dtype=torch.float64)
    offsets = 0.02 * torch.randn(len(model.marker_names), 3, generator=g, dtype=torch.float64)
    x, jac = model.point_jacobian(q, points=points, scales=scales, marker_offsets=offsets)
    assert torch.allclose(x, getattr(model(q, scales, offsets), points), rtol=0, atol=1e-14)
    assert (jac - _autograd(model, q, points, scales, offsets)).abs().max() < 1e-12
    positions, none = model.point_jacobian(q, points=points, scales=scales, marker_offsets=offsets, jacobian=False)
    assert none is None and torch.equal(positions, x)


def test_couplers_that_feed_each_other_carry_the_chain_rule_to_the_root_coordinate():
    model = builtin_model(arms=False)
    chained = (
        CouplerSpec("a", "hip_rotation_r", ("knee_angle_r",), fn.LinearFunction(0.5, 0.1)),
        CouplerSpec("b", "hip_adduction_r", ("hip_rotation_r",), fn.SimmSpline([-1.0, 0.0, 1.0, 2.0], [0.1, -0.2, 0.3, 0.0]), 0.8),
    )
    m = SkeletalModel.from_spec(replace(model.spec, couplers=chained))
    q = _random_q(m, 3, seed=4)
    x, jac = m.point_jacobian(q)
    assert torch.allclose(x, m(q).markers, rtol=0, atol=1e-14)
    assert (jac - _autograd(m, q)).abs().max() < 1e-12
    assert jac[..., m.coordinate_index("hip_adduction_r")].abs().max() == 0


def test_single_precision_follows_the_input():
    model = builtin_model(arms=False)
    q = _random_q(model, 2, seed=5)
    x64, jac64 = model.point_jacobian(q)
    x32, jac32 = model.point_jacobian(q.float())
    assert x32.dtype == jac32.dtype == torch.float32
    assert (x32.double() - x64).abs().max() < 1e-5 and (jac32.double() - jac64).abs().max() < 1e-5


def test_leading_dimensions_are_kept():
    model = builtin_model(arms=False)
    q = _random_q(model, 6, seed=6).reshape(2, 3, -1)
    x, jac = model.point_jacobian(q)
    assert x.shape == (2, 3, len(model.marker_names), 3)
    assert jac.shape == (2, 3, len(model.marker_names), 3, model.n_coordinates)
    flat_x, flat_jac = model.point_jacobian(q.reshape(6, -1))
    assert torch.equal(x.reshape(flat_x.shape), flat_x) and torch.equal(jac.reshape(flat_jac.shape), flat_jac)


def test_bad_input_names_what_was_expected():
    model = builtin_model(arms=False)
    jacobian = PointJacobian(model.tree)
    with pytest.raises(ShapeError, match=r"\(\.\.\., 2[0-9]\)"):
        jacobian(torch.zeros(3, 5, dtype=torch.float64))
    with pytest.raises(ValueRangeError, match="points"):
        jacobian(model.default_coordinates()[None], points="bodies")
    with pytest.raises(ShapeError, match="bodies"):
        jacobian(model.default_coordinates()[None], scales=torch.ones(2, 3, dtype=torch.float64))
    with pytest.raises(ShapeError, match="markers"):
        jacobian(model.default_coordinates()[None], marker_offsets=torch.zeros(1, 3, dtype=torch.float64))


@pytest.mark.parametrize("branching", [2, 3, 8, 16])
def test_warm_start_levels_solve_every_frame_once_after_its_neighbours(branching):
    for n in (1, 2, 3, 7, 64, 100, 961):
        levels = warm_start_levels(n, branching)
        solved = {0}
        for frames, left, right, alpha in levels:
            assert set(left.tolist()) <= solved and set(right.tolist()) <= solved
            assert np.all((alpha >= 0) & (alpha <= 1))
            assert not solved & set(frames.tolist())
            solved |= set(frames.tolist())
        assert solved == set(range(n))
        if n > 2:  # about log_branching(n) levels after the last frame's
            assert len(levels) <= 2 + int(np.ceil(np.log(n - 1) / np.log(branching)))


def test_warm_start_branching_is_validated():
    with pytest.raises(ValueRangeError, match="warm_start_branching"):
        IKOptions(warm_start_branching=1)
    with pytest.raises(ValueRangeError, match="branching"):
        warm_start_levels(10, 1)


def test_constants_cached_during_inference_mode_still_serve_autograd():
    model = builtin_model(arms=False)
    q = _random_q(model, 2, seed=7)
    with torch.inference_mode():  # the first call builds and caches the constants (as IK does)
        model.point_jacobian(q.clone())
    q = q.clone().requires_grad_()
    x, jac = model.point_jacobian(q)
    (x.sum() + jac.sum()).backward()
    assert q.grad is not None and torch.isfinite(q.grad).all()
