"""The IK problem of one trial as tensors: measured markers, weights, coordinate targets, bounds.

OpenSim's objective per frame is ``sum_m w_m ||x_m(q) - y_m||^2 + sum_c w_c (q_c - r_c)^2``
(markers in m, coordinates in rad or m). Markers are those with an applied task that are in
both the model and the data; a marker missing (NaN) in a frame has weight zero in that frame.
Locked coordinates stay at their default values, coupled coordinates follow their
constraints exactly, and clamped coordinates stay within their ranges.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from kinelift.core.table import TimeSeriesTable, coordinate_name
from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError, UnknownNameError, ValueRangeError
from kinelift.ik.tasks import TaskSet
from kinelift.skeleton.model import SkeletalModel

__all__ = ["IKProblem", "build_problem", "coordinate_bounds", "frame_objectives", "frames_in_range"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IKProblem:
    """Tensors of one IK trial (``T`` frames, ``M`` markers, ``C`` coordinate tasks).

    Attributes
    ----------
    frames : ndarray (T,)
        Indices of the solved frames in the marker data.
    time : ndarray (T,)
    marker_names : tuple of str
        The tracked markers.
    marker_index : Tensor (M,)
        Their index in ``model.marker_names``.
    measured : Tensor (T, M, 3)
        Measured positions (m), NaN where missing.
    marker_weights : Tensor (T, M)
        Weight per frame, zero where missing.
    coordinate_index : Tensor (C,)
    coordinate_targets : Tensor (T, C)
    coordinate_weights : Tensor (C,)
    free, lower, upper : Tensor (n,)
        Solved coordinates and their bounds.
    fixed_values : Tensor (n,)
        Starting values (defaults): what locked and coupled coordinates hold.
    """

    frames: np.ndarray
    time: np.ndarray
    marker_names: tuple[str, ...]
    marker_index: torch.Tensor
    measured: torch.Tensor
    marker_weights: torch.Tensor
    coordinate_names: tuple[str, ...]
    coordinate_index: torch.Tensor
    coordinate_targets: torch.Tensor
    coordinate_weights: torch.Tensor
    free: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor
    fixed_values: torch.Tensor

    @property
    def n_frames(self) -> int:
        return len(self.frames)


def frames_in_range(time: np.ndarray, time_range: tuple[float, float] | None) -> np.ndarray:
    """Indices of the frames from the one nearest ``start`` to the one nearest ``stop``, after
    clipping the range to the data (OpenSim's rule)."""
    if time_range is None:
        return np.arange(len(time))
    start, stop = float(time_range[0]), float(time_range[1])
    start, stop = max(start, float(time[0])), min(stop, float(time[-1]))
    if stop < start:
        raise ValueRangeError("time_range", expected=f"an interval overlapping the data's {time[0]:g}..{time[-1]:g} s", got=time_range)
    first, last = (int(np.argmin(np.abs(time - t))) for t in (start, stop))
    return np.arange(first, last + 1)


def _interpolate_coordinates(table: TimeSeriesTable, column: int, time: np.ndarray) -> np.ndarray:
    """A coordinate from a file at the marker times: OpenSim fits a quintic spline that passes through
    every sample (GCVSpline of degree 5, no smoothing); this is the same kind of spline."""
    from scipy.interpolate import make_interp_spline

    t, v = np.asarray(table.time), np.asarray(table.values[:, column])
    if np.isnan(v).any():
        raise ValueRangeError(f"coordinate file column {table.column_names[column]!r}", expected="no missing values", got="NaN")
    if time.min() < t[0] - 1e-9 or time.max() > t[-1] + 1e-9:
        raise ValueRangeError("coordinate file time", expected=f"to cover the IK frames {time.min():g}..{time.max():g} s", got=f"{t[0]:g}..{t[-1]:g} s")
    degree = 5 if len(t) >= 6 else (3 if len(t) >= 4 else 1)
    natural = [(3, 0.0), (4, 0.0)] if degree == 5 else ([(2, 0.0)] if degree == 3 else None)
    spline = make_interp_spline(t, v, k=degree, bc_type=(natural, natural) if natural else None)
    return spline(time)


def coordinate_bounds(model: SkeletalModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which coordinates IK solves for (not locked, not coupled: bool ``(n,)``) and their bounds
    ``(n,)`` (the range of a clamped coordinate, else -inf / inf; rad or m)."""
    specs = model.spec.coordinates
    dependent = {cp.dependent for cp in model.spec.couplers}
    free = np.array([not c.locked and c.name not in dependent for c in specs], dtype=bool)
    lower = np.array([c.range[0] if c.clamped else -np.inf for c in specs], dtype=np.float64)
    upper = np.array([c.range[1] if c.clamped else np.inf for c in specs], dtype=np.float64)
    return free, lower, upper


def build_problem(
    model: SkeletalModel,
    markers: Tracks,
    tasks: TaskSet | None,
    *,
    coordinates: TimeSeriesTable | None = None,
    time_range: tuple[float, float] | None = None,
    frame_weights: np.ndarray | None = None,
    dtype: torch.dtype = torch.float64,
) -> IKProblem:
    """Assemble the IK problem (see the module docs); ``frame_weights`` (frames, markers of the data)
    multiply the task weights, e.g. detector confidences."""
    if not isinstance(markers, Tracks):
        raise ValueRangeError("markers", expected="Tracks of 3D marker positions", got=type(markers).__name__)
    if markers.n_dims != 3 or markers.units != "m":
        raise ShapeError("markers", expected="3D positions in metres (units='m')", got=f"{markers.n_dims}D in {markers.units!r}")
    if tasks is None:
        tasks = TaskSet.from_weights({n: 1.0 for n in model.marker_names if n in markers.keypoint_names})
    weights = tasks.marker_weights()
    in_model, in_data = set(model.marker_names), set(markers.keypoint_names)
    absent = sorted(n for n in weights if n not in in_model or n not in in_data)
    if absent:
        log.warning("marker tasks %s have no marker in the model or the data and are ignored (as OpenSim does)", absent)
    names = tuple(n for n in model.marker_names if n in weights and n in in_data)
    if not names:
        raise UnknownNameError("tracked marker (a task's marker in both the model and the data)", sorted(weights), known=sorted(in_model & in_data))
    frames = frames_in_range(np.asarray(markers.time), time_range)
    data_index = [markers.keypoint_names.index(n) for n in names]
    measured = np.asarray(markers.positions)[frames][:, data_index]
    w = np.broadcast_to(np.array([weights[n] for n in names]), measured.shape[:2]).copy()
    if frame_weights is not None:
        fw = np.asarray(frame_weights, dtype=np.float64)
        if fw.shape != (markers.n_frames, markers.n_keypoints):
            raise ShapeError("frame_weights", expected=f"({markers.n_frames}, {markers.n_keypoints}) frames x markers", got=fw.shape)
        w = w * fw[frames][:, data_index]
    missing = np.isnan(measured).any(-1)
    w[missing] = 0.0
    time = np.asarray(markers.time)[frames]

    ctasks = tasks.coordinate_tasks()
    cnames = tuple(t.name for t in ctasks)
    cindex = model.coordinate_index(list(cnames)) if cnames else []
    defaults = model.default_coordinates(dtype=torch.float64).numpy()
    targets = np.zeros((len(frames), len(ctasks)))
    for j, task in enumerate(ctasks):
        if task.value_type == "default_value":
            targets[:, j] = defaults[cindex[j]]
        elif task.value_type == "manual_value":
            targets[:, j] = task.value
        else:
            if coordinates is None:
                raise ValueRangeError(f"coordinate task {task.name!r}", expected="a coordinates file for value_type 'from_file'", got=None)
            columns = [coordinate_name(c) for c in coordinates.column_names]
            if task.name not in columns:
                raise UnknownNameError(f"coordinate column (for task {task.name!r})", task.name, known=coordinates.column_names)
            targets[:, j] = _interpolate_coordinates(coordinates, columns.index(task.name), time)

    free, lower, upper = coordinate_bounds(model)

    def t(a, dt=dtype):
        return torch.as_tensor(np.asarray(a), dtype=dt)

    return IKProblem(
        frames=frames, time=time, marker_names=names,
        marker_index=t([model.marker_names.index(n) for n in names], torch.long),
        measured=t(measured), marker_weights=t(w),
        coordinate_names=cnames, coordinate_index=t(cindex, torch.long),
        coordinate_targets=t(targets), coordinate_weights=t([task.weight for task in ctasks]),
        free=t(free, torch.bool), lower=t(lower), upper=t(upper), fixed_values=t(defaults),
    )  # fmt: skip


def frame_objectives(model: SkeletalModel, problem: IKProblem, q: np.ndarray) -> np.ndarray:
    """OpenSim's objective (module docs) of coordinates ``q`` ``(T, n)`` on every frame of ``problem``:
    how to compare any IK solution (another tool's ``.mot``) with kinelift's on the same tasks."""
    from kinelift.skeleton.compiled import TreeKinematics
    from kinelift.skeleton.tree import KinematicTree

    q = np.asarray(q, dtype=np.float64)
    if q.shape != (problem.n_frames, model.n_coordinates):
        raise ShapeError("q", expected=f"({problem.n_frames}, {model.n_coordinates}) coordinates per frame", got=q.shape)
    kinematics = TreeKinematics(KinematicTree.from_spec(model.spec))
    rows = problem.marker_index.numpy()
    measured, w = np.nan_to_num(problem.measured.numpy()), problem.marker_weights.numpy()
    coupled = model.apply_couplers(torch.as_tensor(q)).numpy()
    c_index, targets, c_weights = problem.coordinate_index.numpy(), problem.coordinate_targets.numpy(), problem.coordinate_weights.numpy()
    out = np.empty(problem.n_frames)
    for k in range(problem.n_frames):
        x = kinematics.points(q[k])[rows]
        out[k] = np.sum(w[k] * np.sum((x - measured[k]) ** 2, axis=1)) + np.sum(c_weights * (coupled[k, c_index] - targets[k]) ** 2)
    return out
