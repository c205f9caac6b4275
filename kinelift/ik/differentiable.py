"""Marker inverse kinematics as a differentiable operation: gradients through the solution.

:func:`marker_ik` solves, for every item ``b`` of a batch,

``q*_b = argmin_q  sum_m w_bm ||x_m(q; s_b) - y_bm||^2``  subject to the model's locked, coupled and
clamped coordinates (OpenSim's IK objective without coordinate tasks),

with the batched solver of :mod:`kinelift.ik.solver` (no autograd graph through its iterations),
and differentiates the solution by the implicit function theorem: at the minimum the gradient
``g(q*, y, w, s) = d objective / d q`` vanishes on the free coordinates, so for a loss ``L(q*)``

``dL/dz = -(dg/dz)^T H^-1 dL/dq*``  for ``z`` = measured markers ``y``, weights ``w`` or scales ``s``,

with ``H = dg/dq`` the objective's exact Hessian (residual curvature included) restricted to the
coordinates that are free and not at a bound; coordinates at a bound, locked or coupled get no
gradient of their own (coupled ones follow their independent coordinate through the couplers).
The gradient is that of the exact minimiser, so two exact Newton steps polish the solver's answer
first (Gauss-Newton alone leaves ~1e-9 rad in weakly observed coordinates where the residuals are
not zero). What needs it: fitting body scales or marker weights through IK, and
training networks whose output is fitted by IK.

Examples
--------
>>> import torch
>>> from kinelift.skeleton.osim_parser import MINIMAL_OSIM
>>> from kinelift.skeleton.model import SkeletalModel
>>> model = SkeletalModel.from_osim_string(MINIMAL_OSIM)
>>> y = torch.tensor([[[0.4, 0.0, 0.0]]], dtype=torch.float64, requires_grad=True)  # the knee marker, flexed 90 deg
>>> q = marker_ik(model, y)
>>> round(float(torch.rad2deg(q[0, 0]).abs()), 3)
90.0
>>> q.sum().backward()  # d q / d y: moving the marker along the swing changes the angle
>>> y.grad.abs().max().item() > 0
True
"""

from __future__ import annotations

from typing import Any

import torch

from kinelift.errors import ShapeError, ValueRangeError
from kinelift.ik.problem import coordinate_bounds
from kinelift.ik.solver import LMOptions, levenberg_marquardt
from kinelift.skeleton.model import SkeletalModel

__all__ = ["marker_ik"]

_AT_BOUND = 1e-9  # rad or m: a coordinate this close to a bound of its range counts as held there
_POLISH_STEP = 1e-4  # rad or m: the longest Newton step taken after the solver


def _bounds(model: SkeletalModel, dtype: torch.dtype, device: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`~kinelift.ik.problem.coordinate_bounds` as tensors."""
    free, lower, upper = coordinate_bounds(model)
    return (torch.as_tensor(free, device=device), torch.as_tensor(lower, dtype=dtype, device=device),
            torch.as_tensor(upper, dtype=dtype, device=device))  # fmt: skip


def _objective(model: SkeletalModel, q: torch.Tensor, y: torch.Tensor, w: torch.Tensor, scales: torch.Tensor | None) -> torch.Tensor:
    """``sum_m w_m ||x_m(q) - y_m||^2`` per item, differentiable in every argument."""
    x = model(q, scales=scales).markers
    return (w * ((x - y) ** 2).sum(-1)).sum(-1)


def _gradient_and_hessian(model: SkeletalModel, q: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
                          scales: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """The objective's gradient ``g`` ``(B, n)`` (with its graph, for derivatives with respect to the
    inputs) and its exact Hessian ``(B, n, n)``, residual curvature included. The Hessian takes one
    second-order pass over ``n`` copies of each item (copy ``k`` gives row ``k``: the items are
    independent), not ``n`` passes."""
    n = q.shape[-1]
    leaf = q.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(_objective(model, leaf, y, w, scales).sum(), leaf, create_graph=True)
    copies = q.detach().repeat_interleave(n, dim=0).requires_grad_(True)
    y_c, w_c = y.detach().repeat_interleave(n, dim=0), w.detach().repeat_interleave(n, dim=0)
    s_c = None if scales is None else scales.detach().repeat_interleave(n, dim=0)
    (g_c,) = torch.autograd.grad(_objective(model, copies, y_c, w_c, s_c).sum(), copies, create_graph=True)
    (H,) = torch.autograd.grad(g_c.view(-1, n, n).diagonal(dim1=1, dim2=2).sum(), copies)
    return g, H.view(-1, n, n)


def _on_active(H: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """``H`` on the active coordinates, the identity elsewhere (so that solves leave the others at 0)."""
    both = active[:, :, None] & active[:, None, :]
    return torch.where(both, H, torch.eye(H.shape[-1], dtype=H.dtype, device=H.device).expand_as(H))


def _newton_polish(model: SkeletalModel, q: torch.Tensor, y: torch.Tensor, w: torch.Tensor, scales: torch.Tensor | None,
                   active: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, steps: int = 2) -> torch.Tensor:  # fmt: skip
    """A few exact Newton steps on the active coordinates from the solver's answer: Gauss-Newton
    converges only linearly where the residuals are not zero and stops on a short step, which
    leaves ~1e-9 of error in weakly observed coordinates; the implicit gradient is exact only at
    the minimum. Near the minimum the objective cannot tell such steps apart (its change is below
    float64's resolution), so a step is kept where it is short (``_POLISH_STEP``; the solver's answer
    is close) and cut at the bounds."""
    with torch.enable_grad():
        for _ in range(steps):
            g, H = _gradient_and_hessian(model, q, y, w, scales)
            g, H = g.detach(), H.detach()
            step = torch.linalg.solve(_on_active(H, active), torch.where(active, -g, 0.0)[..., None])[..., 0]
            trial = torch.minimum(torch.maximum(q + torch.where(active, step, 0.0), lower), upper)
            short = step.abs().amax(-1) < _POLISH_STEP
            q = torch.where(short[:, None], trial, q).detach()
    return q


class _MarkerIK(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y: torch.Tensor, w: torch.Tensor, scales: torch.Tensor | None, model: SkeletalModel,
                x0: torch.Tensor, options: LMOptions) -> torch.Tensor:  # fmt: skip
        free, lower, upper = _bounds(model, y.dtype, y.device)

        def residuals(q: torch.Tensor, rows: torch.Tensor, jacobian: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
            s = None if scales is None else scales[rows]
            x, J = model.point_jacobian(q, scales=s, jacobian=jacobian)
            return x - y[rows], J

        with torch.no_grad():
            solution = levenberg_marquardt(residuals, lambda rows: w[rows], x0, free=free, lower=lower, upper=upper, options=options)
        active = free & (solution.x > lower + _AT_BOUND) & (solution.x < upper - _AT_BOUND)  # (B, n): solved, inside its range
        q = _newton_polish(model, solution.x, y, w, scales, active, lower, upper)
        ctx.model, ctx.has_scales, ctx.active = model, scales is not None, active
        ctx.save_for_backward(q, y, w, *(() if scales is None else (scales,)))
        return q

    @staticmethod
    def backward(ctx, grad_q: torch.Tensor):
        q, y, w, *rest = ctx.saved_tensors
        scales = rest[0] if ctx.has_scales else None
        active = ctx.active
        with torch.enable_grad():
            inputs = [t.detach().requires_grad_(needs) for t, needs in zip((y, w), ctx.needs_input_grad[:2])]
            s = None if scales is None else scales.detach().requires_grad_(ctx.needs_input_grad[2])
            g, H = _gradient_and_hessian(ctx.model, q, inputs[0], inputs[1], s)
            lam = torch.linalg.solve(_on_active(H.detach(), active), torch.where(active, grad_q, 0.0)[..., None])[..., 0]
            lam = torch.where(active, lam, 0.0)
            wanted = [t for t in (*inputs, s) if t is not None and t.requires_grad]
            grads = iter(torch.autograd.grad(g, wanted, grad_outputs=-lam, allow_unused=True) if wanted else ())
        out = [next(grads) if t is not None and t.requires_grad else None for t in (*inputs, s)]
        return out[0], out[1], out[2], None, None, None


def marker_ik(
    model: SkeletalModel,
    markers: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    scales: torch.Tensor | None = None,
    initial: torch.Tensor | None = None,
    options: LMOptions | None = None,
) -> torch.Tensor:
    """Coordinates that fit markers, differentiable with respect to the markers, weights and scales.

    Parameters
    ----------
    model : SkeletalModel
        The model; ``markers`` follow ``model.marker_names``.
    markers : Tensor, shape (B, n_markers, 3)
        Measured positions in the model's ground frame (m); NaN where a marker is missing (its
        weight is then zero and its gradient zero).
    weights : Tensor, shape (n_markers,) or (B, n_markers), optional
        Marker weights, >= 0 (default 1).
    scales : Tensor, shape (n_bodies, 3) or (B, n_bodies, 3), optional
        Body scale factors (see :class:`~kinelift.skeleton.model.SkeletalModel`).
    initial : Tensor, shape (n_coordinates,) or (B, n_coordinates), optional
        Starting pose (default the model's defaults); locked coordinates keep these values.
    options : LMOptions, optional
        The solver's stopping rule (default: a step below 1e-8 rad or m); two exact Newton steps
        follow it on the free coordinates, so that the implicit gradient is that of the minimum.

    Returns
    -------
    Tensor, shape (B, n_coordinates)
        ``q*`` (rad / m), coupled coordinates from their constraints. Gradients flow to
        ``markers``, ``weights`` and ``scales`` by the implicit function theorem (module docs).

    Raises
    ------
    ShapeError
        For inputs of the wrong shape.
    ValueRangeError
        For negative or non-finite weights.
    """
    M, n, nb = len(model.marker_names), model.n_coordinates, len(model.body_names)
    if not torch.is_tensor(markers) or markers.dim() != 3 or markers.shape[1:] != (M, 3):
        raise ShapeError("markers", expected=f"a tensor (B, {M} markers of {model.spec.name}, 3)", got=getattr(markers, "shape", type(markers).__name__))
    B, dtype, device = markers.shape[0], markers.dtype, markers.device
    if not markers.is_floating_point():
        raise ShapeError("markers", expected="a floating-point tensor", got=str(markers.dtype))
    w = torch.ones(M, dtype=dtype, device=device) if weights is None else weights
    if not torch.is_tensor(w) or w.shape not in ((M,), (B, M)):
        raise ShapeError("weights", expected=f"({M},) or ({B}, {M})", got=getattr(w, "shape", type(w).__name__))
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
        raise ValueRangeError("weights", expected="finite numbers >= 0", got="negative or non-finite values")
    if scales is not None:
        if not torch.is_tensor(scales) or scales.shape not in ((nb, 3), (B, nb, 3)):
            raise ShapeError("scales", expected=f"({nb} bodies, 3) or ({B}, {nb}, 3)", got=getattr(scales, "shape", type(scales).__name__))
        scales = scales.to(dtype).expand(B, nb, 3)
    missing = torch.isnan(markers).any(-1)
    w = torch.where(missing, 0.0, w.to(dtype).expand(B, M))
    y = torch.where(missing[..., None], 0.0, markers)
    if initial is None:
        x0 = model.default_coordinates(dtype=dtype, device=device).expand(B, n)
    elif not torch.is_tensor(initial) or initial.shape not in ((n,), (B, n)):
        raise ShapeError("initial", expected=f"({n},) or ({B}, {n}) coordinates", got=getattr(initial, "shape", type(initial).__name__))
    else:
        x0 = initial.detach().to(dtype).expand(B, n)
    options = options or LMOptions(ftol=1e-12, xtol=1e-8)
    q = _MarkerIK.apply(y, w, scales, model, x0.contiguous(), options)
    return model.apply_couplers(q)
