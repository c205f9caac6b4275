"""Plug-in-Gait marker trials to the built-in model's coordinates: per-subject registration, then IK.

The fit follows OpenSim's scale-then-IK workflow on kinelift's own layers:

1. :func:`plug_in_gait_tracks` brings a Vicon trial into the model's ground frame (y up) and adds
   the wrist midpoints ``*WRI``;
2. :func:`register_plug_in_gait_subject` builds the built-in model with the Plug-in-Gait markers
   (:mod:`kinelift.skeleton.plug_in_gait`) for the subject's pelvis (width and depth measured from
   the markers), fits segment scales and the static poses together
   (:func:`~kinelift.ik.keypoints.fit_keypoint_scales`, the pelvis kept at the measured size), and
   moves the markers of :data:`~kinelift.skeleton.plug_in_gait.REGISTERED_MARKERS` to the
   subject's own (median over the static frames, in their body frames); the arms keep the
   proportions of the subject's height (UI-PRMD's standing frames have the arms raised, and a
   raised shoulder girdle, which the model does not have, would shorten them);
3. :func:`fit_plug_in_gait_motion` solves IK on a trial (the compiled CPU path) and reports the
   marker residuals; frames whose RMS residual exceeds ``max_rms`` (or that IK could not solve)
   are flagged, not kept silently.

Examples
--------
>>> import numpy as np
>>> from kinelift.core.tracks import Tracks
>>> from kinelift.skeleton.builtin import builtin_spec
>>> from kinelift.skeleton.model import SkeletalModel
>>> from kinelift.skeleton.plug_in_gait import PLUG_IN_GAIT_MARKERS, plug_in_gait_spec
>>> truth = SkeletalModel.from_spec(plug_in_gait_spec(builtin_spec(height=1.7), pelvis_width=0.25, pelvis_depth=0.16))
>>> q = truth.default_coordinates()[None].repeat(5, 1)
>>> xyz = truth(q).markers.numpy()[:, -len(PLUG_IN_GAIT_MARKERS):]
>>> static = Tracks(xyz, keypoints=list(PLUG_IN_GAIT_MARKERS), fps=50.0, units="m", coordinate_frame="ground")
>>> subject = register_plug_in_gait_subject([static], progress=False)
>>> fit = fit_plug_in_gait_motion(subject, static)
>>> bool(fit.kept.all()), bool(np.nanmax(fit.rms_error) < 0.005)
(True, True)
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError, UnknownNameError, ValueRangeError
from kinelift.ik.inverse_kinematics import IKOptions, inverse_kinematics
from kinelift.ik.keypoints import fit_keypoint_scales
from kinelift.ik.result import IKResult
from kinelift.ik.tasks import TaskSet
from kinelift.skeleton.builtin import builtin_spec
from kinelift.skeleton.model import SkeletalModel
from kinelift.skeleton.plug_in_gait import (
    PLUG_IN_GAIT_MARKERS,
    PLUG_IN_GAIT_WEIGHTS,
    REGISTERED_MARKERS,
    harrington_offsets,
    pelvis_size,
    plug_in_gait_spec,
)

__all__ = ["SubjectModel", "MarkerFit", "plug_in_gait_tracks", "register_plug_in_gait_subject", "fit_plug_in_gait_motion", "marker_weight", "best_start", "LOWER_BODY_CODES"]

log = logging.getLogger(__name__)

_TO_Y_UP = {"x": np.array([[0.0, 1, 0], [1, 0, 0], [0, 0, -1]]), "y": np.eye(3), "z": np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])}
_PELVIS = ("LASI", "RASI", "LPSI", "RPSI")
LOWER_BODY_CODES = ("ASI", "PSI", "KNE", "ANK", "HEE", "TOE")
"""The pelvis and leg markers (names without the side letter)."""


def marker_weight(name: str) -> float:
    """IK weight of a Plug-in-Gait marker (:data:`~kinelift.skeleton.plug_in_gait.PLUG_IN_GAIT_WEIGHTS`)."""
    code = name if name in PLUG_IN_GAIT_WEIGHTS else name[1:]
    return PLUG_IN_GAIT_WEIGHTS[code]


def plug_in_gait_tracks(markers: Tracks, *, up: str = "z") -> Tracks:
    """A Plug-in-Gait trial (metres, Vicon names) in a y-up ground frame, with ``LWRI``/``RWRI`` added.

    ``up`` is the lab's vertical axis (Vicon: z); the lab is turned about its horizontal axes
    only (a right-handed rotation), so headings are kept. Markers of
    :data:`~kinelift.skeleton.plug_in_gait.PLUG_IN_GAIT_MARKERS` that the trial lacks are NaN.
    """
    if markers.n_dims != 3 or markers.units != "m":
        raise ShapeError("markers", expected="3D marker trajectories in metres", got=f"{markers.n_dims}D in {markers.units!r}")
    if up not in _TO_Y_UP:
        raise ValueRangeError("up", expected="'x', 'y' or 'z'", got=up)
    names = markers.keypoint_names
    missing = [m for m in _PELVIS if m not in names]
    if missing:
        raise UnknownNameError("Plug-in-Gait pelvis marker", missing, known=names)
    xyz = np.asarray(markers.positions) @ _TO_Y_UP[up].T
    index = {n: i for i, n in enumerate(names)}
    nan = np.full((markers.n_frames, 3), np.nan)
    out = []
    for name in PLUG_IN_GAIT_MARKERS:
        if name.endswith("WRI"):
            a, b = (xyz[:, index[name[0] + w]] if name[0] + w in index else nan for w in ("WRA", "WRB"))
            out.append(0.5 * (a + b))
        else:
            out.append(xyz[:, index[name]] if name in index else nan)
    return Tracks(np.stack(out, axis=1), keypoints=list(PLUG_IN_GAIT_MARKERS), time=markers.time, fps=markers.fps, units="m",
                  coordinate_frame="ground", metadata={**markers.metadata, "up": "y"})  # fmt: skip


_ARM_STARTS = (0.0, 1.6, 2.8)  # arm_flex (rad): hanging, forward, overhead
_LEG_STARTS = ((), ("r",), ("l",), ("r", "l"))  # legs raised (hip 70 deg, knee 90 deg): none, right, left, both


def best_start(model: SkeletalModel, frame: Tracks, tasks: TaskSet | None = None) -> torch.Tensor:
    """A starting pose for IK of ``frame`` (one frame): the default pose with both arms hanging,
    forward or overhead and either, both or no leg raised, whichever IK takes to the lowest
    objective (one start cannot reach raised arms from hanging ones: the solver stops in a local
    minimum with the arm turned sideways; a trial may begin with a leg raised)."""
    q0 = model.default_coordinates().clone()
    names = model.coordinate_names
    arms = [names.index(c) for c in ("arm_flex_r", "arm_flex_l") if c in names]
    best, best_objective = q0, np.inf
    for flex, legs in itertools.product(_ARM_STARTS if arms else (0.0,), _LEG_STARTS):
        start = q0.clone()
        start[arms] = flex
        for s in legs:
            start[names.index(f"hip_flexion_{s}")], start[names.index(f"knee_angle_{s}")] = 1.2, 1.6
        result = inverse_kinematics(model, frame[np.arange(1)], tasks=tasks, initial=start, options=IKOptions(progress=False))
        objective = float(result.objective[0])
        if np.isfinite(objective) and objective < best_objective:
            best, best_objective = torch.as_tensor(result.coordinates[0]), objective
    return best


@dataclass(frozen=True, eq=False)
class SubjectModel:
    """A subject's built-in model with registered Plug-in-Gait markers.

    ``model`` (scaled, markers named as Plug-in-Gait's); ``scale_factors`` per body;
    ``pelvis_width``, ``pelvis_depth`` (m) measured; ``static_rms`` (m) the weighted RMS error of
    the pelvis and leg markers in the static frames after registration; ``marker_moves`` (m) how far each registered marker moved.
    """

    model: SkeletalModel
    scale_factors: dict[str, np.ndarray]
    pelvis_width: float
    pelvis_depth: float
    static_rms: float
    marker_moves: dict[str, float]


def _weights_as_confidence(tracks: Tracks) -> Tracks:
    top = max(PLUG_IN_GAIT_WEIGHTS.values())
    w = np.array([marker_weight(n) / top for n in tracks.keypoint_names])
    conf = np.where(np.isnan(np.asarray(tracks.positions)).any(-1), 0.0, w[None])
    return Tracks(tracks.positions, keypoints=tracks.keypoint_set, time=tracks.time, fps=tracks.fps, confidence=conf, units="m",
                  coordinate_frame="ground", metadata=dict(tracks.metadata))  # fmt: skip


def register_plug_in_gait_subject(statics: Sequence[Tracks], *, progress: bool = False) -> SubjectModel:
    """The subject's model from static frames (standing), e.g. the first frame of each trial.

    Parameters
    ----------
    statics : sequence of Tracks
        From :func:`plug_in_gait_tracks`; their frames are pooled.
    progress : bool, default False
    """
    if not statics:
        raise ValueRangeError("statics", expected="at least one static Tracks", got=0)
    positions = np.concatenate([np.asarray(s.positions) for s in statics])
    if positions.shape[1:] != (len(PLUG_IN_GAIT_MARKERS), 3):
        raise ShapeError("statics", expected=f"Tracks from plug_in_gait_tracks ({len(PLUG_IN_GAIT_MARKERS)} markers)", got=positions.shape)
    static = Tracks(positions, keypoints=list(PLUG_IN_GAIT_MARKERS), fps=statics[0].fps, units="m", coordinate_frame="ground")
    width, depth, psis = pelvis_size(*(positions[:, PLUG_IN_GAIT_MARKERS.index(n)] for n in _PELVIS))
    head = np.nanmedian(positions[:, [PLUG_IN_GAIT_MARKERS.index(n) for n in ("LFHD", "RFHD", "LBHD", "RBHD")], 1])
    feet = np.nanmedian(positions[:, [PLUG_IN_GAIT_MARKERS.index(n) for n in ("LHEE", "RHEE")], 1])
    height = float(np.clip((head - feet + 0.03) / 0.95, 1.3, 2.2)) if np.isfinite(head - feet) else 1.75
    spec = plug_in_gait_spec(builtin_spec(height=height, hip_half_width=harrington_offsets(width, depth)[2]),
                             pelvis_width=width, pelvis_depth=depth, psis_width=psis, knee_offset=0.06 * height / 1.75,
                             ankle_offset=0.042 * height / 1.75)  # fmt: skip
    model = SkeletalModel.from_spec(spec)
    groups: dict[str, list[str]] = {}
    for b in model.body_names:
        if b != "pelvis" and not b.startswith(("humerus", "forearm")):  # the pelvis is measured; arms below
            groups.setdefault(b[:-2] if b.endswith(("_r", "_l")) else b, []).append(b)
    options = IKOptions(progress=progress)
    start = best_start(model, static, TaskSet.from_weights({n: marker_weight(n) for n in PLUG_IN_GAIT_MARKERS}))
    scaling = fit_keypoint_scales(model, _weights_as_confidence(static), groups=groups, options=options, initial=start)
    scaled = scaling.model
    q = torch.as_tensor(np.nan_to_num(scaling.poses))
    fk = scaled(q)
    markers, moves = list(scaled.spec.markers), {}
    names = [m.name for m in markers]
    for name in REGISTERED_MARKERS:
        i = names.index(name)
        b = scaled.body_names.index(markers[i].frame.body)
        y = positions[:, PLUG_IN_GAIT_MARKERS.index(name)]
        R, p = fk.body_rotations[:, b].numpy(), fk.body_positions[:, b].numpy()
        local = np.einsum("tji,tj->ti", R, y - p)  # R^T (y - p) per frame
        if np.isfinite(local).all(-1).sum() == 0:
            continue
        new = np.nanmedian(local, axis=0)
        moves[name] = float(np.linalg.norm(new - markers[i].location))
        markers[i] = replace(markers[i], location=new)
    registered = SkeletalModel.from_spec(replace(scaled.spec, markers=tuple(markers)))
    check = fit_plug_in_gait_motion(SubjectModel(registered, scaling.scale_factors, width, depth, np.nan, moves), static, max_rms=np.inf, progress=False)
    rms = float(np.sqrt(np.nanmean(check.lower_body_rms_error**2)))
    log.info("subject registered: height %.2f m, pelvis %.0f x %.0f mm, static RMS %.1f mm", height, 1e3 * width, 1e3 * depth, 1e3 * rms)
    return SubjectModel(registered, scaling.scale_factors, width, depth, rms, moves)


@dataclass(frozen=True, eq=False)
class MarkerFit:
    """IK of one trial: ``ik`` (:class:`~kinelift.ik.result.IKResult`), ``rms_error`` (T,) the RMS of the
    present markers' errors per frame weighted by their task weights (m; NaN where IK failed: the
    pelvis and leg markers count most), ``lower_body_rms_error`` (T,) the same over the pelvis and
    leg markers, ``kept`` (T,) frames whose lower-body RMS is within ``max_rms`` and whole-body RMS
    within twice that (arm postures the model cannot take, such as a dowel held behind the neck
    with the shoulders shrugged, cost the arms some accuracy but not the frame)."""

    ik: IKResult
    rms_error: np.ndarray
    lower_body_rms_error: np.ndarray
    kept: np.ndarray
    max_rms: float

    @property
    def n_dropped(self) -> int:
        return int((~self.kept).sum())


def fit_plug_in_gait_motion(subject: SubjectModel, markers: Tracks, *, max_rms: float = 0.03, progress: bool = False) -> MarkerFit:
    """IK of a trial (from :func:`plug_in_gait_tracks`) on the subject's model; frames over ``max_rms`` (m) flagged."""
    if not max_rms > 0:
        raise ValueRangeError("max_rms", expected="> 0 (metres)", got=max_rms)
    present = [n for n in markers.keypoint_names if n in subject.model.marker_names]
    tasks = TaskSet.from_weights({n: marker_weight(n) for n in present})
    first = np.flatnonzero(np.isfinite(np.asarray(markers.positions)).all(-1).sum(1) >= 3)
    start = best_start(subject.model, markers[first[:1]], tasks) if len(first) else None
    result = inverse_kinematics(subject.model, markers, tasks=tasks, initial=start, options=IKOptions(progress=progress))
    err = np.nan_to_num(np.linalg.norm(result.model_markers - result.measured, axis=-1))
    w = result.marker_weights
    legs = np.array([n[1:] in LOWER_BODY_CODES for n in result.marker_names])
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.sqrt((w * err**2).sum(1) / w.sum(1))
        leg_rms = np.sqrt((w[:, legs] * err[:, legs] ** 2).sum(1) / w[:, legs].sum(1))
    kept = np.isfinite(leg_rms) & (leg_rms <= max_rms) & (rms <= 2 * max_rms) & np.isfinite(result.coordinates).all(1)
    return MarkerFit(result, rms, leg_rms, kept, float(max_rms))
