"""A batched, bound-constrained Levenberg-Marquardt solver for weighted least squares.

Solves, independently for every problem ``b`` of a batch,
``min_x  sum_i w_bi ||e_bi(x_b)||^2`` subject to ``lower <= x_b <= upper`` on free variables,
with the others held fixed. Each iteration solves the damped normal equations
``(J^T W J + lam D) dx = -J^T W e`` (``D`` Marquardt's diagonal scaling), projects the step on
the bounds, and accepts it when the objective decreases (the damping ``lam`` then shrinks;
else it grows and the step is retried). Variables at a bound whose gradient points outward
are frozen for that step (a projected active set). A problem stops when its relative
objective decrease falls below ``ftol``, its step below ``xtol`` (in its own units), or its
projected gradient below ``gtol``; problems that stop leave the batch, so late iterations
cost only what is left.

Examples
--------
>>> import torch
>>> def residuals(x, rows, jacobian=True):  # fit y = a * t + b to three points
...     t = torch.tensor([0.0, 1.0, 2.0], dtype=x.dtype)
...     e = (x[:, None, 0] * t + x[:, None, 1] - torch.tensor([1.0, 3.0, 5.0], dtype=x.dtype))[..., None]
...     jac = torch.stack([t.expand(x.shape[0], 3), torch.ones(x.shape[0], 3, dtype=x.dtype)], -1)[:, :, None, :]
...     return e, jac
>>> def weights(rows):
...     return torch.ones(len(rows), 3, dtype=torch.float64)
>>> sol = levenberg_marquardt(residuals, weights, torch.zeros(1, 2, dtype=torch.float64), options=LMOptions())
>>> sol.x.round(decimals=6).tolist(), bool(sol.converged.all())
([[2.0, 1.0]], True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from kinelift.errors import ValueRangeError

__all__ = ["LMOptions", "LMSolution", "levenberg_marquardt"]

ResidualFn = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]


@dataclass(frozen=True)
class LMOptions:
    """Stopping rule and damping of :func:`levenberg_marquardt`.

    Attributes
    ----------
    max_iterations : int
        Linearisations per problem at most (the start and each accepted step; the Jacobian of a
        rejected trial point is not counted).
    ftol : float
        Stop when an accepted step lowers the objective by less than ``ftol`` times its value.
    xtol : float
        Stop when the largest step component is below ``xtol`` (rad or m).
    gtol : float
        Stop when the largest projected gradient component is below ``gtol``.
    initial_damping : float
        ``lam`` at the start, relative to Marquardt's diagonal.
    """

    max_iterations: int = 100
    ftol: float = 1e-10
    xtol: float = 1e-8
    gtol: float = 1e-14
    initial_damping: float = 1e-6

    def __post_init__(self) -> None:
        if self.max_iterations < 1:
            raise ValueRangeError("max_iterations", expected="an integer >= 1", got=self.max_iterations)
        for name in ("ftol", "xtol", "gtol", "initial_damping"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueRangeError(name, expected="a finite number >= 0", got=value)


@dataclass(frozen=True)
class LMSolution:
    """Per problem: the solution ``x`` (B, n), ``objective`` (B,), ``iterations`` (B,) and whether
    it met the stopping rule (``converged``, (B,) bool) before ``max_iterations``."""

    x: torch.Tensor
    objective: torch.Tensor
    iterations: torch.Tensor
    converged: torch.Tensor


def _objective(e: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (w * (e * e).sum(-1)).sum(-1)


def levenberg_marquardt(
    residuals: Callable[..., tuple[torch.Tensor, torch.Tensor | None]],
    weights: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    *,
    free: torch.Tensor | None = None,
    lower: torch.Tensor | None = None,
    upper: torch.Tensor | None = None,
    options: LMOptions = LMOptions(),
) -> LMSolution:
    """Minimise ``sum_i w_i ||e_i(x)||^2`` for a batch of problems.

    Parameters
    ----------
    residuals : callable
        ``residuals(x, rows, jacobian=True)`` for ``x`` (b, n) of the problems ``rows`` (a long
        tensor of batch indices) returns ``e`` (b, r, k) and, when ``jacobian``, ``J`` (b, r, k, n)
        (else None).
    weights : callable
        ``weights(rows)`` returns ``w`` (b, r), zero where a residual is absent.
    x0 : Tensor, shape (B, n)
        Starting points; fixed variables keep these values.
    free : Tensor of bool, shape (n,), optional
        Variables to solve for (default all).
    lower, upper : Tensor, shape (n,), optional
        Bounds (``-inf``/``inf`` where none). ``x0`` is clipped into them.
    options : LMOptions

    Returns
    -------
    LMSolution
    """
    B, n = x0.shape
    dtype, device = x0.dtype, x0.device
    free = torch.ones(n, dtype=torch.bool, device=device) if free is None else free.to(device)
    lower = torch.full((n,), -torch.inf, dtype=dtype, device=device) if lower is None else lower.to(device, dtype)
    upper = torch.full((n,), torch.inf, dtype=dtype, device=device) if upper is None else upper.to(device, dtype)
    x = torch.maximum(torch.minimum(x0.clone(), upper), lower)
    objective = torch.zeros(B, dtype=dtype, device=device)
    iterations = torch.zeros(B, dtype=torch.long, device=device)
    converged = torch.zeros(B, dtype=torch.bool, device=device)
    damping = torch.full((B,), options.initial_damping, dtype=dtype, device=device)
    active = torch.arange(B, device=device)
    H = torch.zeros(B, n, n, dtype=dtype, device=device)
    g = torch.zeros(B, n, dtype=dtype, device=device)

    def normal_equations(e: torch.Tensor, J: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``J^T W J`` and ``J^T W e`` of a batch: products of flat ``(b, r * k, n)`` views, no copies of ``J``
        but the weighted one."""
        b = J.shape[0]
        J_flat = J.reshape(b, -1, n)
        Jw = J_flat * w[:, :, None].expand(-1, -1, J.shape[2]).reshape(b, -1, 1)
        return torch.bmm(Jw.transpose(1, 2), J_flat), torch.bmm(Jw.transpose(1, 2), e.reshape(b, -1, 1))[..., 0]

    e, J = residuals(x, active, jacobian=True)
    w = weights(active)
    objective[:] = _objective(e, w)
    H[:], g[:] = normal_equations(e, J, w)
    iterations += 1
    for _ in range(options.max_iterations * 4):
        if active.numel() == 0:
            break
        xa, Ha, ga, lam = x[active], H[active], g[active], damping[active]
        # projected active set: free, and not pushed out through a bound it sits on
        at_lower = (xa <= lower) & (ga > 0)
        at_upper = (xa >= upper) & (ga < 0)
        moving = free & ~at_lower & ~at_upper
        projected_gradient = torch.where(moving, ga, torch.zeros_like(ga)).abs().amax(-1)
        mask = moving[:, :, None] & moving[:, None, :]
        diag = torch.diagonal(Ha, dim1=-2, dim2=-1)
        diag = diag.clamp_min(1e-12 * (1 + diag.amax(-1, keepdim=True)))
        # damped normal equations on the moving variables, identity rows for the others
        A = torch.where(mask, Ha, torch.zeros_like(Ha)) + torch.diag_embed(torch.where(moving, lam[:, None] * diag, torch.ones_like(diag)))
        rhs = torch.where(moving, -ga, torch.zeros_like(ga))
        step = torch.linalg.solve(A, rhs)
        trial = torch.maximum(torch.minimum(xa + step, upper), lower)
        step = trial - xa
        # the trial point is linearised in the same pass: most steps are accepted, and one
        # pass with the Jacobian costs less than a pass without it followed by one with it
        e_trial, J_trial = residuals(trial, active, jacobian=True)
        w = weights(active)
        f_trial = _objective(e_trial, w)
        f_now = objective[active]
        accept = torch.isfinite(f_trial) & (f_trial < f_now)
        small_step = step.abs().amax(-1) < options.xtol
        small_decrease = accept & ((f_now - f_trial) <= options.ftol * f_trial)
        done = (projected_gradient <= options.gtol) | small_step | small_decrease | (lam > 1e16)
        accepted = active[accept]
        x[accepted] = trial[accept]
        objective[accepted] = f_trial[accept]
        # every trial point is linearised (most are accepted): selecting the small H and g of the
        # accepted ones costs less than selecting their Jacobians
        H_trial, g_trial = normal_equations(e_trial, J_trial, w)
        H[accepted], g[accepted] = H_trial[accept], g_trial[accept]
        iterations[accepted] += 1
        damping[active] = torch.where(accept, (lam / 3.0).clamp_min(1e-15), lam * 8.0)
        converged[active[done]] = True
        out_of_budget = iterations[active] >= options.max_iterations
        active = active[~done & ~out_of_budget]
    return LMSolution(x, objective, iterations, converged)
