"""IK and body scaling on markerless keypoints (joint centres and landmarks from a track).

Each keypoint of a 3D track (metres, in the model's ground frame, e.g. triangulated or lifted
keypoints) stands for a model point given by :func:`kinelift.skeleton.keypoint_maps.keypoint_map`.
IK then treats the keypoints as markers, weighted by the task weight times the keypoint's
confidence in each frame. :func:`fit_keypoint_scales` fits segment scale factors jointly with
the poses of chosen frames (e.g. standing frames), for users with no static marker trial.

Examples
--------
>>> import numpy as np, torch
>>> from kinelift.core.tracks import Tracks
>>> from kinelift.skeleton.builtin import builtin_model
>>> model = builtin_model(arms=False)
>>> kp = keypoint_skeleton(model, "LOWER-6")
>>> q = model.default_coordinates()[None]
>>> xyz = kp(q).markers.numpy()
>>> tracks = Tracks(xyz, keypoints="LOWER-6", fps=30.0, units="m", coordinate_frame="ground")
>>> result = keypoint_ik(model, tracks, options=IKOptions(progress=False))
>>> bool(result.rms_error[0] < 1e-6)
True
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError, ValueRangeError
from kinelift.ik.inverse_kinematics import IKOptions, inverse_kinematics
from kinelift.ik.result import IKResult
from kinelift.ik.tasks import CoordinateTask, TaskSet
from kinelift.skeleton.keypoint_maps import with_keypoints
from kinelift.skeleton.model import SkeletalModel
from kinelift.skeleton.scaling import scale_spec

__all__ = ["keypoint_skeleton", "keypoint_ik", "fit_keypoint_scales", "KeypointScaling"]

log = logging.getLogger(__name__)


def keypoint_skeleton(model: SkeletalModel, keypoints) -> SkeletalModel:
    """``model`` with its markers replaced by the mapped keypoints' model points, named by keypoint."""
    return with_keypoints(model, keypoints)[0]


def _check_tracks(tracks: Tracks) -> None:
    if not isinstance(tracks, Tracks):
        raise ValueRangeError("tracks", expected="3D keypoint Tracks in metres", got=type(tracks).__name__)
    if tracks.n_dims != 3 or tracks.units != "m":
        raise ShapeError("tracks", expected="3D keypoints in metres in the model's ground frame", got=f"{tracks.n_dims}D in {tracks.units!r}")


def keypoint_ik(
    model: SkeletalModel,
    tracks: Tracks,
    *,
    weights: Mapping[str, float] | None = None,
    use_confidence: bool = True,
    time_range: tuple[float, float] | None = None,
    options: IKOptions | None = None,
    within_ranges: bool = True,
    posture_weight: float = 1e-4,
) -> IKResult:
    """Inverse kinematics on 3D keypoints (see the module docs).

    Keypoints leave some coordinates unseen (the ankle without foot points, hip rotation with
    joint centres only): with ``within_ranges`` every rotational coordinate of the non-root joints
    is kept within the model's range, as if clamped, so that an unseen coordinate stays a
    possible posture instead of drifting (on gait2392 fitted to lifted COCO-17 keypoints,
    unbounded ankles wound to -94,000 deg). ``posture_weight`` adds OpenSim coordinate tasks that
    hold those coordinates near the model's default pose with a small weight (rad^-2 against the
    keypoints' 1 m^-2): joint centres cannot tell hip rotation while the knee is straight, and
    without a prior the hip turned to its 120-deg limit in a standing frame, after which a bending
    knee was fitted as a hyperextended one.

    Parameters
    ----------
    model : SkeletalModel
    tracks : Tracks
        3D keypoints (m) in the model's ground frame; NaN where missing.
    weights : mapping of str to float, optional
        Weight per keypoint name (default 1 for every mapped keypoint).
    use_confidence : bool, default True
        Multiply the weights by each frame's keypoint confidence.
    time_range : (float, float), optional
    options : IKOptions, optional
    within_ranges : bool, default True
        Bound the non-root rotational coordinates by the model's ranges.
    posture_weight : float, default 1e-4
        Weight of the prior that holds each non-root rotational coordinate near its default
        value (0: none).
    """
    _check_tracks(tracks)
    if not (np.isfinite(posture_weight) and posture_weight >= 0):
        raise ValueRangeError("posture_weight", expected="a finite weight >= 0", got=posture_weight)
    skeleton = keypoint_skeleton(model, tracks.keypoint_set)
    roots = {j.name for j in skeleton.spec.joints if j.parent.body == "ground"}
    posture = [c for c in skeleton.spec.coordinates if c.motion_type == "rotational" and not c.locked]
    if within_ranges:
        bounded = {c.name for c in posture if c.joint not in roots and np.all(np.isfinite(c.range))}
        coordinates = tuple(replace(c, clamped=True) if c.name in bounded else c for c in skeleton.spec.coordinates)
        skeleton = SkeletalModel.from_spec(replace(skeleton.spec, coordinates=coordinates))
    markers = TaskSet.from_weights({n: (1.0 if weights is None else float(weights.get(n, 0.0))) for n in skeleton.marker_names})
    prior = [CoordinateTask(c.name, weight=posture_weight) for c in posture] if posture_weight > 0 else []
    tasks = TaskSet([*markers.tasks, *prior])
    frame_weights = np.asarray(tracks.confidence) if use_confidence else None
    return inverse_kinematics(skeleton, tracks, tasks=tasks, time_range=time_range, frame_weights=frame_weights, options=options)


@dataclass(frozen=True, eq=False)
class KeypointScaling:
    """Result of :func:`fit_keypoint_scales`: per-body ``scale_factors`` (uniform XYZ per group),
    the scaled ``model``, the fitted ``poses`` of the chosen frames and the final mean squared
    keypoint error ``rms_error`` (m)."""

    scale_factors: dict[str, np.ndarray]
    model: SkeletalModel
    poses: np.ndarray
    rms_error: float


def _default_groups(model: SkeletalModel) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for b in model.body_names:
        base = b[:-2] if b.endswith(("_r", "_l")) else b
        groups.setdefault(base, []).append(b)
    return groups


def fit_keypoint_scales(
    model: SkeletalModel,
    tracks: Tracks,
    *,
    frames: Sequence[int] | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    prior_weight: float = 1e-3,
    rounds: int = 30,
    options: IKOptions | None = None,
    initial: torch.Tensor | None = None,
) -> KeypointScaling:
    """Fit segment scale factors jointly with the poses of ``frames`` (optimisation-based scaling).

    Alternates IK of the chosen frames at the current scales with a Gauss-Newton step on the
    log scale factors at those poses, until the objective stops decreasing. One uniform factor
    per group of bodies (default: each body, with ``_r``/``_l`` bodies sharing one); a prior
    ``prior_weight * sum(log(s)^2)`` keeps unobserved groups at 1.

    Parameters
    ----------
    model : SkeletalModel
    tracks : Tracks
        3D keypoints (m) in ground.
    frames : sequence of int, optional
        Frames to use (default all; standing frames are best).
    groups : mapping of str to list of str, optional
        Bodies sharing one factor.
    prior_weight : float, default 1e-3
        Weight (m^2 per log-unit^2) of the pull towards 1.
    rounds : int, default 30
        Most alternations.
    options : IKOptions, optional
    initial : Tensor (n_coordinates,), optional
        Starting pose of the first chosen frame (default: the model's default pose), e.g. arms
        raised for a static trial with raised arms.
    """
    _check_tracks(tracks)
    options = options or IKOptions(progress=False)
    groups = dict(groups) if groups is not None else _default_groups(model)
    body_group = np.zeros((len(model.body_names), len(groups)))
    for g, bodies in enumerate(groups.values()):
        for b in bodies:
            if b not in model.body_names:
                raise ValueRangeError(f"group {list(groups)[g]!r}", expected=f"bodies of {model.spec.name}", got=b)
            body_group[model.body_names.index(b), g] = 1.0
    sub = tracks[np.asarray(frames)] if frames is not None else tracks
    skeleton = keypoint_skeleton(model, sub.keypoint_set)
    mapped = sub.select(list(skeleton.marker_names))
    y = torch.tensor(np.array(mapped.positions), dtype=torch.float64)
    w = torch.tensor(np.array(mapped.confidence), dtype=torch.float64) * ~torch.isnan(y).any(-1)
    y = torch.nan_to_num(y)
    G = torch.as_tensor(body_group)
    log_s = torch.zeros(len(groups), dtype=torch.float64)
    previous = np.inf
    for _ in range(rounds):
        scaled = SkeletalModel.from_spec(scale_spec(skeleton.spec, np.exp((G @ log_s).numpy())[:, None].repeat(3, 1)))
        pose = inverse_kinematics(scaled, mapped, frame_weights=np.asarray(mapped.confidence), options=options, initial=initial)
        q = torch.as_tensor(np.nan_to_num(pose.coordinates))

        def residual(g: torch.Tensor, q: torch.Tensor = q) -> torch.Tensor:
            s = torch.exp(G @ g)[:, None].expand(-1, 3)
            e = (skeleton(q, scales=s).markers - y) * w[..., None].sqrt()
            return torch.cat([e.reshape(-1), np.sqrt(prior_weight) * g])

        r = residual(log_s)
        objective = float(r @ r)
        if objective > previous * (1 - 1e-10):
            break
        previous = objective
        J = torch.func.jacfwd(residual)(log_s)
        log_s = log_s + torch.linalg.lstsq(J, -r[:, None]).solution[:, 0]
    factors = {b: np.full(3, float(np.exp(body_group[i] @ log_s.numpy()))) for i, b in enumerate(model.body_names)}
    scaled_model = SkeletalModel.from_spec(scale_spec(model.spec, factors))
    rms = float(np.sqrt(np.nanmean(pose.marker_errors**2)))
    return KeypointScaling(factors, scaled_model, pose.coordinates, rms)
