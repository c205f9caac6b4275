"""Inverse kinematics of whole trials at once: OpenSim's problem, a batched solver in torch.

For each frame, the coordinates ``q`` minimise OpenSim's objective
``sum_m w_m ||x_m(q) - y_m||^2 + sum_c w_c (q_c - r_c)^2`` (see :mod:`kinelift.ik.problem`)
with a bound-constrained Levenberg-Marquardt solver (:mod:`kinelift.ik.solver`) on analytic
Jacobians (:meth:`SkeletalModel.point_jacobian`), in float64 by default.

Warm start along time, in parallel: the first frame starts from the model's default pose (as
OpenSim assembles it); then, level by level, the intervals between solved frames are split into
``IKOptions.warm_start_branching`` parts (short intervals are taken whole), and all frames of a
level are solved as one batch (:func:`warm_start_levels`): the first level's frames (the last
frame among them) start from the first frame's solution, later ones from the linear
interpolation of their interval's ends. A few batched solves replace ``frames`` sequential ones.

Examples
--------
>>> import numpy as np, torch
>>> from kinelift.core.tracks import Tracks
>>> from kinelift.skeleton.osim_parser import MINIMAL_OSIM
>>> from kinelift.skeleton.model import SkeletalModel
>>> model = SkeletalModel.from_osim_string(MINIMAL_OSIM)
>>> truth = torch.linspace(0.0, 1.0, 5, dtype=torch.float64)[:, None]
>>> xyz = model(truth).markers.numpy()
>>> markers = Tracks(xyz, keypoints=list(model.marker_names), fps=100.0, units="m", coordinate_frame="ground")
>>> result = inverse_kinematics(model, markers, options=IKOptions(min_markers=1, progress=False))
>>> np.allclose(result.coordinates, truth.numpy(), atol=1e-8)
True
"""

from __future__ import annotations

import logging
import time as _time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError, ValueRangeError
from kinelift.ik.problem import IKProblem, build_problem
from kinelift.ik.result import IKResult
from kinelift.ik.solver import LMOptions, levenberg_marquardt
from kinelift.ik.tasks import TaskSet
from kinelift.skeleton.model import SkeletalModel

__all__ = ["IKOptions", "inverse_kinematics", "warm_start_levels"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IKOptions:
    """Options of :func:`inverse_kinematics`.

    Attributes
    ----------
    solver : LMOptions
        Stopping rule of the per-frame solver: by default a step below 1e-5 (rad or m) or a relative
        decrease of the objective below 1e-7 (on the Gait2392 walk: within 0.006 deg and 1e-7 of the
        objective of the solution at ``xtol=1e-12``, in two thirds of the iterations).
    first_frame_iterations : int
        Iteration budget of the first frame, which starts from the default pose.
    min_markers : int
        Frames with fewer markers present are not solved: NaN coordinates, listed in
        ``failed_frames``.
    dtype : torch.dtype
        float64 by default.
    device : str, optional
        Torch device (default CPU).
    batch_size : int
        Most frames solved in one batch.
    warm_start_branching : int
        Each warm-start level splits the intervals between solved frames into this many parts
        (see :func:`warm_start_levels`): more parts, fewer levels (fewer sequential solves)
        but starting points interpolated across longer intervals.
    progress : bool
        Show a progress bar.
    threads : int
        Compiled path: cores to solve long trials on (contiguous runs of at least 120 frames side
        by side). Each run after the first starts from the default pose, as the first frame does,
        and can settle in another local minimum where that pose is far from the run's first
        frame (on a generated whole-body motion, 117 of 300 frames did with 2 threads, none with
        1): default 1, time order throughout.
    backend : {"auto", "compiled", "torch"}
        ``"compiled"``: the CPU fast path (:mod:`kinelift.ik.compiled`, frames solved in time
        order, each from the extrapolation of the two before); ``"torch"``: batched torch (GPUs,
        float32; frames warm-started level by level, :func:`warm_start_levels`). ``"auto"``:
        compiled for float64 on the CPU, torch otherwise.
    """

    solver: LMOptions = field(default_factory=lambda: LMOptions(xtol=1e-5, ftol=1e-7))
    first_frame_iterations: int = 500
    min_markers: int = 3
    dtype: torch.dtype = torch.float64
    device: str | None = None
    batch_size: int = 4096
    warm_start_branching: int = 8
    progress: bool = True
    backend: str = "auto"
    threads: int = 1

    def __post_init__(self) -> None:
        if self.backend not in ("auto", "compiled", "torch"):
            raise ValueRangeError("backend", expected="'auto', 'compiled' or 'torch'", got=self.backend)
        if self.backend == "compiled" and (self.dtype != torch.float64 or (self.device not in (None, "cpu"))):
            raise ValueRangeError("backend", expected="'compiled' only with float64 on the CPU (or 'auto')", got=(self.dtype, self.device))
        if self.min_markers < 1:
            raise ValueRangeError("min_markers", expected="an integer >= 1", got=self.min_markers)
        if not (isinstance(self.threads, int) and self.threads >= 1):
            raise ValueRangeError("threads", expected="an integer >= 1", got=self.threads)
        if self.batch_size < 1:
            raise ValueRangeError("batch_size", expected="an integer >= 1", got=self.batch_size)
        if self.warm_start_branching < 2:
            raise ValueRangeError("warm_start_branching", expected="an integer >= 2", got=self.warm_start_branching)
        if self.dtype not in (torch.float32, torch.float64):
            raise ValueRangeError("dtype", expected="torch.float32 or torch.float64", got=self.dtype)


def warm_start_levels(n: int, branching: int = 8) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The order of the warm start for ``n`` frames: per level, ``(frames, left, right, alpha)`` where each
    frame starts from ``(1 - alpha) q[left] + alpha q[right]`` (frames solved at earlier levels).

    Frame 0 comes first (not listed). The first level splits the trial into ``branching`` parts
    (as evenly as the frames allow) and solves their ends, the last frame included, from frame 0's
    solution; each further level splits every interval between solved frames the same way, its
    frames starting from the interpolation of their interval's ends. An interval at most
    ``2 * branching`` frames long is taken whole.

    >>> [lv[0].tolist() for lv in warm_start_levels(12, branching=2)]
    [[5, 11], [2, 8], [1, 3, 4, 6, 7, 9, 10]]
    >>> [lv[0].tolist() for lv in warm_start_levels(30, branching=4)]
    [[7, 14, 21, 29], [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18, 19, 20, 22, 23, 24, 25, 26, 27, 28]]
    """
    if branching < 2:
        raise ValueRangeError("branching", expected="an integer >= 2", got=branching)
    levels = []
    intervals = [(0, n - 1)] if n > 1 else []
    while intervals:
        parts = []  # (left, frame, right) of every new frame, and the intervals that remain
        remaining = []
        for a, b in intervals:
            if b - a <= 2 * branching:  # a short interval: every frame in it at once
                cuts = list(range(a + 1, b))
            else:
                cuts = sorted({a + (b - a) * k // branching for k in range(1, branching)})
            parts.extend((a, f, b) for f in cuts)
            bounds = [a, *cuts, b]
            remaining.extend((u, v) for u, v in zip(bounds[:-1], bounds[1:]) if v - u > 1)
        if not levels:  # the first level: the last frame too, and every frame from frame 0
            parts = [(0, f, 0) for _, f, _ in parts] + [(0, n - 1, 0)]
        f = np.array([m for _, m, _ in parts])
        left, right = np.array([a for a, _, _ in parts]), np.array([b for _, _, b in parts])
        levels.append((f, left, right, np.where(right > left, (f - left) / np.maximum(right - left, 1), 0.0)))
        intervals = remaining
    return levels


class _Residuals:
    """Residuals and Jacobians of the frames ``subset`` of a problem, for the solver."""

    def __init__(self, model: SkeletalModel, problem: IKProblem, subset: torch.Tensor) -> None:
        self.model, self.p = model, problem
        self.measured = torch.nan_to_num(problem.measured[subset])
        w_markers = problem.marker_weights[subset]
        self.w = torch.cat([w_markers, problem.coordinate_weights.expand(len(w_markers), -1)], dim=1)
        self.targets = problem.coordinate_targets[subset]
        dependent = {model.coordinate_index(cp.dependent) for cp in model.spec.couplers}
        self.coupled_tasks = [j for j, c in enumerate(problem.coordinate_index.tolist()) if c in dependent]
        self.all_markers = problem.marker_index.tolist() == list(range(len(model.marker_names)))

    def weights(self, rows: torch.Tensor) -> torch.Tensor:
        return self.w[rows]

    def __call__(self, q: torch.Tensor, rows: torch.Tensor, jacobian: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        p, model = self.p, self.model
        x, J = model.point_jacobian(q, jacobian=jacobian)
        if not self.all_markers:
            x, J = x[:, p.marker_index], (None if J is None else J[:, p.marker_index])
        e = x - self.measured[rows]
        if p.coordinate_index.numel() == 0:
            return e, J
        C = p.coordinate_index.numel()
        value = model.apply_couplers(q)[:, p.coordinate_index] - self.targets[rows]
        e_c = torch.zeros(q.shape[0], C, 3, dtype=q.dtype, device=q.device)
        e_c[:, :, 0] = value
        e = torch.cat([e, e_c], dim=1)
        if J is not None:
            J_c = torch.zeros(q.shape[0], C, 3, q.shape[1], dtype=q.dtype, device=q.device)
            J_c[:, torch.arange(C), 0, p.coordinate_index] = 1.0
            if self.coupled_tasks:
                slopes = model.coupler_slopes(q)
                for j in self.coupled_tasks:
                    independent, slope = slopes[int(p.coordinate_index[j])]
                    J_c[:, j, 0, :] = 0.0
                    J_c[:, j, 0, independent] = slope
            J = torch.cat([J, J_c], dim=1)
        return e, J


def _solve(model: SkeletalModel, problem: IKProblem, subset: torch.Tensor, x0: torch.Tensor, options: LMOptions):
    res = _Residuals(model, problem, subset)
    return levenberg_marquardt(res, res.weights, x0, free=problem.free, lower=problem.lower, upper=problem.upper, options=options)


def inverse_kinematics(
    model: SkeletalModel,
    markers: Tracks,
    *,
    tasks: TaskSet | None = None,
    coordinates: TimeSeriesTable | None = None,
    time_range: tuple[float, float] | None = None,
    initial: torch.Tensor | None = None,
    frame_weights: np.ndarray | None = None,
    options: IKOptions | None = None,
) -> IKResult:
    """Solve inverse kinematics for every frame of a marker trial.

    Parameters
    ----------
    model : SkeletalModel
        The model (its markers are matched to the data by name).
    markers : Tracks
        Measured marker positions, 3D, metres, in the model's ground frame (a TRC read by
        :func:`kinelift.io.read_trc`); NaN where a marker is missing.
    tasks : TaskSet, optional
        Marker and coordinate tasks (default: every model marker in the data, weight 1).
    coordinates : TimeSeriesTable, optional
        Coordinate values for ``from_file`` coordinate tasks (rad / m).
    time_range : (float, float), optional
        Seconds; clipped to the data and snapped to the nearest frames (OpenSim's rule).
    initial : Tensor (n_coordinates,), optional
        Starting pose of the first frame (default: the model's default coordinates).
    frame_weights : ndarray (frames, markers of the data), optional
        Per-frame multipliers of the marker weights (e.g. confidences).
    options : IKOptions, optional

    Returns
    -------
    IKResult
    """
    options = options or IKOptions()
    started = _time.perf_counter()
    problem = build_problem(model, markers, tasks, coordinates=coordinates, time_range=time_range,
                            frame_weights=frame_weights, dtype=options.dtype)  # fmt: skip
    device = torch.device(options.device) if options.device else torch.device("cpu")
    model = model.to(device)
    problem = IKProblem(**{k: (v.to(device) if torch.is_tensor(v) else v) for k, v in problem.__dict__.items()})
    T, n = problem.n_frames, model.n_coordinates
    present = (problem.marker_weights > 0).sum(1).cpu().numpy()
    valid = np.flatnonzero(present >= options.min_markers)
    failed = np.flatnonzero(present < options.min_markers)
    if len(failed):
        log.warning("%d of %d frames have fewer than %d markers and are not solved (NaN): times %s",
                    len(failed), T, options.min_markers, np.round(problem.time[failed][:10], 4).tolist())  # fmt: skip
    if _use_compiled(options):
        return _compiled_ik(model, problem, valid, failed, initial, options, started)
    q = problem.fixed_values.expand(T, n).clone()
    objective = torch.full((T,), float("nan"), dtype=options.dtype, device=device)
    iterations = torch.zeros(T, dtype=torch.long, device=device)
    converged = torch.zeros(T, dtype=torch.bool, device=device)
    if len(valid):
        start = problem.fixed_values.clone() if initial is None else _initial(initial, model, options.dtype, device)
        first = torch.as_tensor(valid[:1], device=device)
        lm_first = LMOptions(**{**options.solver.__dict__, "max_iterations": options.first_frame_iterations})
        from tqdm.auto import tqdm

        # no autograd anywhere in the solve: inference mode spares each small operation some bookkeeping
        with tqdm(total=len(valid), desc="IK", unit="frame", disable=not options.progress) as bar, torch.inference_mode():
            for level, (frames, init) in enumerate(_levels(valid, q, first, start[None], options)):
                sol = _solve(model, problem, frames, init(), lm_first if level == 0 else options.solver)
                q[frames], objective[frames] = sol.x, sol.objective
                iterations[frames], converged[frames] = sol.iterations, sol.converged
                bar.update(len(frames))
    q_np = q.detach().cpu().numpy().astype(np.float64)
    q_np[failed] = np.nan
    with torch.inference_mode():
        model_markers = model.point_jacobian(q, jacobian=False)[0][:, problem.marker_index].cpu().numpy().astype(np.float64)
    model_markers[failed] = np.nan
    return _result(model, problem, q_np, model_markers, objective.cpu().numpy().astype(np.float64), iterations.cpu().numpy(),
                   converged.cpu().numpy(), valid, failed, started)


def _use_compiled(options: IKOptions) -> bool:
    return options.backend == "compiled" or (options.backend == "auto" and options.dtype == torch.float64 and options.device in (None, "cpu"))


def _compiled_ik(model: SkeletalModel, problem: IKProblem, valid: np.ndarray, failed: np.ndarray, initial: Any,
                 options: IKOptions, started: float) -> IKResult:  # fmt: skip
    """:func:`inverse_kinematics` on the compiled CPU path (:mod:`kinelift.ik.compiled`)."""
    from tqdm.auto import tqdm

    from kinelift.ik.compiled import solve_frames
    from kinelift.skeleton.compiled import warm_up
    from kinelift.skeleton.tree import KinematicTree

    warm_up()
    tree = KinematicTree.from_spec(model.spec)
    T = problem.n_frames
    valid_mask = np.zeros(T, bool)
    valid_mask[valid] = True
    start = problem.fixed_values.numpy() if initial is None else _initial(initial, model, torch.float64, torch.device("cpu")).numpy()
    solver = options.solver
    with tqdm(total=len(valid), desc="IK", unit="frame", disable=not options.progress) as bar:
        q, objective, iterations, converged, model_markers = solve_frames(
            tree, point_rows=problem.marker_index.numpy(), measured=problem.measured.numpy(), weights=problem.marker_weights.numpy(),
            coordinate_index=problem.coordinate_index.numpy(), coordinate_targets=problem.coordinate_targets.numpy(),
            coordinate_weights=problem.coordinate_weights.numpy(), free=problem.free.numpy(), lower=problem.lower.numpy(),
            upper=problem.upper.numpy(), fixed=problem.fixed_values.numpy(), valid=valid_mask, start=start,
            first_iterations=options.first_frame_iterations, max_iterations=solver.max_iterations, ftol=solver.ftol, xtol=solver.xtol,
            gtol=solver.gtol, initial_damping=solver.initial_damping,
            threads=options.threads,
        )  # fmt: skip
        bar.update(len(valid))
    return _result(model, problem, q, model_markers, objective, iterations, converged, valid, failed, started)


def _result(model: SkeletalModel, problem: IKProblem, q: np.ndarray, model_markers: np.ndarray, objective: np.ndarray,
            iterations: np.ndarray, converged: np.ndarray, valid: np.ndarray, failed: np.ndarray, started: float) -> IKResult:  # fmt: skip
    """The :class:`IKResult` of either path (arrays on the CPU), with a warning for frames that ran out of iterations."""
    not_converged = int((~converged[valid]).sum()) if len(valid) else 0
    if not_converged:
        log.warning("%d frames stopped at the iteration limit before meeting the stopping rule", not_converged)
    units = model.coordinate_units
    return IKResult(
        time=problem.time, coordinate_names=model.coordinate_names, coordinates=q,
        coordinate_units=tuple(units[c] for c in model.coordinate_names), marker_names=problem.marker_names,
        measured=problem.measured.cpu().numpy().astype(np.float64), model_markers=model_markers,
        marker_weights=problem.marker_weights.cpu().numpy().astype(np.float64), objective=objective, iterations=iterations,
        converged=converged, failed_frames=failed, model_name=model.spec.name, seconds=_time.perf_counter() - started,
    )  # fmt: skip


def _initial(initial: torch.Tensor, model: SkeletalModel, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    initial = torch.as_tensor(initial, dtype=dtype, device=device)
    if initial.shape != (model.n_coordinates,):
        raise ShapeError("initial", expected=f"({model.n_coordinates},) coordinates of {model.spec.name}", got=tuple(initial.shape))
    return initial


def _levels(valid: np.ndarray, q: torch.Tensor, first: torch.Tensor, start: torch.Tensor, options: IKOptions):
    """Batches of problem frames with a function giving their starting points (see the module docs):
    the ``first`` frame from ``start``, then the warm-start levels from the solutions in ``q``."""
    yield first, lambda: start
    device = q.device
    for frames, left, right, alpha in warm_start_levels(len(valid), options.warm_start_branching):
        for lo in range(0, len(frames), options.batch_size):
            sl = slice(lo, lo + options.batch_size)
            f, lt, rt = (torch.as_tensor(valid[a[sl]], device=device) for a in (frames, left, right))
            a = torch.as_tensor(alpha[sl], dtype=q.dtype, device=device)[:, None]
            yield f, (lambda lt=lt, rt=rt, a=a: (1 - a) * q[lt] + a * q[rt])
