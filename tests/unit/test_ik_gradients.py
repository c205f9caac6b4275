"""Gradients through the IK solution (kinelift.ik.differentiable): float64 gradcheck against finite
differences of the solver itself, couplers, bounds, missing markers and bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from kinelift.errors import ShapeError, ValueRangeError
from kinelift.ik.differentiable import marker_ik
from kinelift.skeleton import functions as fn
from kinelift.skeleton.builtin import builtin_model
from kinelift.skeleton.model import SkeletalModel
from kinelift.skeleton.spec import CouplerSpec, FrameRef, MarkerSpec


def _model(*, couplers: tuple = (), knee_up_to: float | None = None) -> SkeletalModel:
    """The lower-body built-in model with two markers per body (some coordinates observed weakly:
    the Hessian's curvature terms matter), no clamped ranges but, optionally, the right knee's
    flexion clamped at ``knee_up_to`` (rad), and couplers."""
    spec = builtin_model(arms=False).spec
    offsets = np.array([[0.06, 0.02, 0.0], [-0.01, 0.05, 0.07]])
    markers = tuple(MarkerSpec(f"{b}_{k}", FrameRef(b), offsets[k]) for b in spec.bodies for k in range(2))
    coordinates = tuple(replace(c, clamped=False) for c in spec.coordinates)
    if knee_up_to is not None:
        coordinates = tuple(replace(c, range=(c.range[0], knee_up_to), clamped=True) if c.name == "knee_angle_r" else c for c in coordinates)
    return SkeletalModel.from_spec(replace(spec, markers=markers, couplers=couplers, coordinates=coordinates))


def _noisy_markers(model: SkeletalModel, frames: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q = model.default_coordinates().expand(frames, -1) + 0.4 * (torch.rand(frames, model.n_coordinates, generator=g, dtype=torch.float64) - 0.5)
    x = model(q).markers
    return x + 0.01 * torch.randn(x.shape, generator=g, dtype=torch.float64)  # residuals: the fit is not exact


def test_the_solution_fits_the_markers_it_was_made_from():
    model = _model()
    g = torch.Generator().manual_seed(0)
    q_true = model.default_coordinates().expand(3, -1) + 0.3 * (torch.rand(3, model.n_coordinates, generator=g, dtype=torch.float64) - 0.5)
    q = marker_ik(model, model(q_true).markers)
    assert (model(q).markers - model(q_true).markers).abs().max() < 1e-9


def test_gradients_with_respect_to_markers_weights_and_scales_pass_gradcheck():
    model = _model()
    y = _noisy_markers(model, 1, seed=1).requires_grad_(True)
    w = (0.5 + torch.rand(len(model.marker_names), dtype=torch.float64, generator=torch.Generator().manual_seed(2))).requires_grad_(True)
    s = (1.0 + 0.05 * torch.rand(1, len(model.body_names), 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))).requires_grad_(True)
    project = torch.randn(model.n_coordinates, dtype=torch.float64, generator=torch.Generator().manual_seed(4))

    def loss(y, w, s):  # a scalar of every coordinate: one gradcheck row instead of n
        return (marker_ik(model, y, w, scales=s) * project).sum()

    assert torch.autograd.gradcheck(loss, (y, w, s), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)  # random directions: few solves


def test_a_coupled_coordinate_follows_its_independent_one_and_passes_gradcheck():
    coupler = CouplerSpec("knee_rotation", "hip_rotation_r", ("knee_angle_r",), fn.SimmSpline([-2.0, -1.0, 0.0, 1.0], [0.1, -0.2, 0.0, 0.3]), 0.5)
    model = _model(couplers=(coupler,))
    y = _noisy_markers(model, 1, seed=5).requires_grad_(True)
    q = marker_ik(model, y)
    knee, rotation = model.coordinate_index(["knee_angle_r", "hip_rotation_r"])
    assert torch.allclose(q[0, rotation], 0.5 * coupler.function(q[0, knee]), atol=1e-14)
    assert torch.autograd.gradcheck(lambda y: marker_ik(model, y)[:, [knee, rotation]].sum(), (y,), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)


def test_a_coordinate_held_at_its_bound_gets_no_gradient_and_the_others_still_do():
    model = _model(knee_up_to=0.3)  # the knee cannot reach the measured flexion
    q_true = model.default_coordinates()[None].clone()
    knee, hip = model.coordinate_index(["knee_angle_r", "hip_flexion_r"])
    q_true[0, knee], q_true[0, hip] = 0.8, 0.4
    y = model(q_true).markers.requires_grad_(True)
    q = marker_ik(model, y)
    assert abs(float(q[0, knee]) - 0.3) < 1e-12
    q[0, knee].backward(retain_graph=True)
    assert float(y.grad.abs().max()) == 0.0
    y.grad = None
    q[0, hip].backward()
    assert float(y.grad.abs().max()) > 0.0


def test_a_missing_marker_gets_no_gradient_and_does_not_pull_the_fit():
    model = _model()
    y = _noisy_markers(model, 2, seed=7)
    holes = y.clone()
    holes[0, 3] = float("nan")
    holes.requires_grad_(True)
    weights = torch.ones(2, len(model.marker_names), dtype=torch.float64)
    weights[0, 3] = 0.0
    q = marker_ik(model, holes)
    assert torch.allclose(q, marker_ik(model, y, weights), atol=1e-9)
    q.sum().backward()
    assert torch.isfinite(holes.grad).all() and float(holes.grad[0, 3].abs().max()) == 0.0


def test_bad_input_is_refused_by_name():
    model = _model()
    y = _noisy_markers(model, 1, seed=8)
    with pytest.raises(ShapeError, match="markers"):
        marker_ik(model, y[0])
    with pytest.raises(ShapeError, match="weights"):
        marker_ik(model, y, torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueRangeError, match="weights"):
        marker_ik(model, y, -torch.ones(len(model.marker_names), dtype=torch.float64))
    with pytest.raises(ShapeError, match="scales"):
        marker_ik(model, y, scales=torch.ones(2, 3, dtype=torch.float64))


def test_the_answer_is_polished_to_the_minimum_the_gradient_assumes():
    model = _model()
    y = _noisy_markers(model, 2, seed=9)
    q = marker_ik(model, y).detach().requires_grad_(True)
    objective = ((model(q).markers - y) ** 2).sum()
    (g,) = torch.autograd.grad(objective, q)
    assert float(g.abs().max()) < 1e-13  # the solver's stopping rule alone leaves ~2e-9 here
