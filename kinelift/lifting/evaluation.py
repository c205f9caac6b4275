"""Accuracy of a lifter on generated clips: MPJPE, PA-MPJPE and the RMSE of four joint angles.

Examples
--------
>>> import numpy as np
>>> from kinelift.lifting.config import LifterConfig
>>> from kinelift.lifting.data import make_clips
>>> from kinelift.lifting.lifter import Lifter, LifterOutput
>>> from kinelift.lifting.motions import procedural_standing
>>> clips = make_clips([procedural_standing(np.random.default_rng(0), seconds=2.0)], "LOWER-6",
...                    clips_per_motion=1, rng=np.random.default_rng(0))
>>> lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(3,), channels=8))
>>> sorted(evaluate_lifter(lifter, clips))[:3]
['ankle_angle_r', 'ankle_angle_rmse_deg', 'frames']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import torch

from kinelift.core.keypoint_conversion import conversion_indices
from kinelift.core.keypoint_sets import KeypointSet, get_keypoint_set
from kinelift.errors import ShapeError, ValueRangeError
from kinelift.lifting.config import DataConfig
from kinelift.lifting.corruption import DetectorNoise
from kinelift.lifting.data import LiftingClips, make_clips, motion_split
from kinelift.lifting.ensemble import combine_outputs
from kinelift.lifting.features import normalize_keypoints
from kinelift.lifting.lifter import Lifter, LifterOutput
from kinelift.lifting.metrics import angle_rmse, mpjpe, pa_mpjpe, pelvis_pitch, segment_lean
from kinelift.lifting.predict import predict_sequences
from kinelift.lifting.refinement import RefinementConfig, refine_to_image
from kinelift.lifting.segments import standing_height

__all__ = ["pearson_r", "standing_frames", "EVALUATED_ANGLES", "SEGMENT_LEANS", "VIEW_LIMITS_DEG", "view_angles", "view_frames", "evaluate_lifter", "height_estimates", "held_out_clips", "predict_clips", "refine_clips", "convert_clips"]

EVALUATED_ANGLES = ("hip_flexion", "hip_adduction", "knee_angle", "ankle_angle")
"""Coordinates (both sides pooled) whose RMSE the evaluation reports."""

SEGMENT_LEANS = {"thigh": ("hip", "knee"), "shank": ("knee", "ankle"), "trunk": ("acromial", "hip")}
"""Segments whose lean from the vertical :func:`evaluate_lifter` scores (both sides pooled; the trunk
from the hips' midpoint to the shoulders'), by their (proximal, distal) joint centres of the
built-in model (``{name}_r``, ``{name}_l``)."""


def convert_clips(clips: LiftingClips, keypoints: str | KeypointSet) -> LiftingClips:
    """``clips`` as a lifter of another keypoint set reads them: its points taken from the clips'
    (:func:`~kinelift.core.keypoint_conversion.conversion_indices`), centred and scaled again for
    its set as :func:`~kinelift.lifting.features.normalize_keypoints` does for a track, with the
    camera terms (``focal_over_size``, ``root_offset``, ``clean_2d``) rescaled to the new size;
    the ground truth is the same motion's. Comparing lifters of different sets on the same
    renderings (the same motions, cameras and noise) needs this.

    Examples
    --------
    >>> from kinelift.lifting.data import make_clips
    >>> from kinelift.lifting.motions import procedural_standing
    >>> clips = make_clips([procedural_standing(np.random.default_rng(0), seconds=1.0)], "COCO-17",
    ...                    clips_per_motion=1, rng=np.random.default_rng(0))
    >>> legs = convert_clips(clips, "LOWER-6")
    >>> legs.keypoints.name, legs.features.shape[1:], bool((legs.focal_over_size > clips.focal_over_size).all())
    ('LOWER-6', (6, 3), True)
    """
    target = get_keypoint_set(keypoints) if isinstance(keypoints, str) else keypoints
    if target.name == clips.keypoints.name:
        return clips
    index = conversion_indices(clips.keypoints, target)
    features = np.zeros(clips.features.shape[:1] + (len(index), 3), dtype=clips.features.dtype)
    ratio = np.ones(clips.n_frames)  # the new size over the old, per frame of each clip
    shift = np.zeros((clips.n_frames, 2))  # the new root minus the old, in the old units
    for c in range(clips.n_clips):
        span = clips.clip(c)
        old = clips.features[span][:, index]
        points = np.where(old[..., 2:] > 0, old[..., :2], np.nan)
        features[span], root, size = normalize_keypoints(points, old[..., 2], target)
        ratio[span], shift[span] = size, root
    scale = ratio[:, None]
    return replace(clips, keypoints=target, features=features,
                   clean_2d=((clips.clean_2d[:, index] - shift[:, None]) / scale[..., None]).astype(clips.clean_2d.dtype),
                   focal_over_size=(clips.focal_over_size / ratio).astype(clips.focal_over_size.dtype),
                   root_offset=((clips.root_offset - shift) / scale).astype(clips.root_offset.dtype))  # fmt: skip


def predict_clips(lifter: Lifter | Sequence[Lifter], clips: LiftingClips, *, flip: bool = False) -> list[LifterOutput]:
    """The lifter's outputs for every clip of ``clips`` (see :func:`kinelift.lifting.predict.predict_sequences`).

    ``lifter`` may be an ensemble (:mod:`kinelift.lifting.ensemble`), the primary first, whose
    keypoint set ``clips`` must have: every other lifter reads its own points of the clips
    (:func:`convert_clips`), as ``kinelift.lift`` gives it its points of the track.
    """
    members = [lifter] if isinstance(lifter, Lifter) else list(lifter)
    if clips.keypoints.name != members[0].keypoint_set.name:
        raise ValueRangeError("clips", expected=f"clips of the primary lifter's {members[0].keypoint_set.name} keypoints",
                              got=clips.keypoints.name)  # fmt: skip
    per_member = []
    for member in members:
        own = convert_clips(clips, member.keypoint_set)
        per_member.append(predict_sequences(member, [torch.as_tensor(own.features[own.clip(c)]) for c in range(own.n_clips)], flip=flip))
    if len(members) == 1:
        return per_member[0]
    return [combine_outputs(members, outs) for outs in zip(*per_member)]


def refine_clips(lifter: Lifter, clips: LiftingClips, outputs: list[LifterOutput], *,
                 config: RefinementConfig | None = None, assumed_field_of_view: float | None = None) -> list[LifterOutput]:  # fmt: skip
    """Each clip's ``outputs`` with its clip-averaged body, fitted to its 2D keypoints through its
    own camera (:func:`kinelift.lifting.refinement.refine_to_image`), as ``kinelift.lift(...,
    intrinsics=)`` does: the evaluation with the camera's intrinsics given. With
    ``assumed_field_of_view`` (deg), through a camera of that field of view across the image's
    longer side, centred on the image, instead, as ``kinelift.lift`` does when it knows only the
    image size.

    The keypoints in normalised image coordinates come from the clips' features and their camera
    (``(features - d) / F`` with ``F = focal / size`` and ``d`` the principal point's offset from
    the normalisation root, over the size).

    Examples
    --------
    >>> import numpy as np
    >>> from kinelift.lifting.config import LifterConfig
    >>> from kinelift.lifting.data import make_clips
    >>> from kinelift.lifting.motions import procedural_standing
    >>> clips = make_clips([procedural_standing(np.random.default_rng(0), seconds=2.0)], "LOWER-6",
    ...                    clips_per_motion=2, rng=np.random.default_rng(0))
    >>> lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(3,), channels=8))
    >>> refined = refine_clips(lifter, clips, predict_clips(lifter, clips), config=RefinementConfig(iterations=2))
    >>> [tuple(r.coordinates.shape) for r in refined] == [(int(n), 32 - 6) for n in clips.lengths]
    True
    """
    bodies = _clip_bodies(lifter, clips, outputs)
    start = LifterOutput(**{f.name: torch.cat([getattr(b, f.name) for b in bodies]) for f in fields(LifterOutput)})
    scale = clips.focal_over_size.astype(np.float64)
    offset = clips.root_offset - scale[:, None] * clips.root_camera[:, :2] / clips.root_camera[:, 2:3]  # principal point - root
    if assumed_field_of_view is not None:  # the same pixels read through another focal length
        scale = scale * np.tan(clips.field_of_view.astype(np.float64) / 2.0) / np.tan(np.deg2rad(assumed_field_of_view) / 2.0)
    image = (clips.features[..., :2] - offset[:, None]) / scale[:, None, None]
    device, dtype = start.coordinates.device, start.coordinates.dtype
    refined = refine_to_image(lifter, start, torch.as_tensor(image, dtype=dtype, device=device),
                              torch.as_tensor(clips.features[..., 2], dtype=dtype, device=device),
                              focal_over_size=torch.as_tensor(scale, dtype=dtype, device=device), clip_starts=clips.starts.tolist(),
                              config=config)  # fmt: skip
    bounds = np.r_[clips.starts, clips.n_frames]
    return [LifterOutput(**{f.name: getattr(refined, f.name)[a:b] for f in fields(LifterOutput)}) for a, b in zip(bounds[:-1], bounds[1:])]


def evaluate_lifter(lifter: Lifter, clips: LiftingClips, *, height_given: bool = False, flip: bool = False,
                    outputs: list[LifterOutput] | None = None, frames: np.ndarray | None = None) -> dict[str, float]:  # fmt: skip
    """Root-relative MPJPE and PA-MPJPE of the input keypoints (mm), the RMSE (deg) and Pearson r
    (``{angle}_r``, both sides pooled) of each of :data:`EVALUATED_ANGLES` and the mean RMSE, the
    mean knee-flexion error on standing frames (``standing_knee_bias_deg``, :func:`standing_frames`), split
    by the true knee: the share of those knees that are hyperextended (true angle below 0,
    ``standing_knee_hyperextended_fraction``) and the mean error of the others
    (``standing_knee_bias_straight_deg``: knees 0-10 deg), and of the pelvis's tilt to the floor
    (:func:`kinelift.lifting.metrics.pelvis_pitch`, ``pelvis_tilt_rmse_deg``), over every frame of ``clips``;
    the mean errors (predicted minus true) of hip flexion and of the pelvis's tilt
    (``hip_flexion_bias_deg``, ``pelvis_tilt_bias_deg``), and the RMSE and r of the thigh's lean from the
    vertical (:func:`kinelift.lifting.metrics.segment_lean` of the hip and knee joint centres,
    ``thigh_lean_rmse_deg``, ``thigh_lean_r``), which does not depend on the pelvis's tilt, and
    the same of the shank and the trunk (:data:`SEGMENT_LEANS`).

    Each clip's body is the lifter's segment scales averaged over the clip, as
    :func:`kinelift.lifting.lift` builds it; with ``height_given`` they are rescaled to the true
    standing height, as ``lift(..., height=)`` does (otherwise the size is the lifter's own
    estimate: see :func:`height_estimates`). ``flip``
    averages with the mirrored input's prediction (see :func:`kinelift.lifting.predict.predict_sequences`).
    ``outputs`` from :func:`predict_clips` are scored as they are (``flip`` is then not used).
    ``frames``: a boolean mask ``(clips.n_frames,)`` of the frames to score (the lifter still
    reads every frame; e.g. one camera view, :func:`view_frames`); at least one must be True.
    """
    mask = np.ones(clips.n_frames, dtype=bool) if frames is None else np.asarray(frames)
    if mask.shape != (clips.n_frames,) or mask.dtype != bool or not mask.any():
        raise ShapeError("frames", expected=f"a boolean mask ({clips.n_frames},) with at least one True", got=(mask.shape, str(mask.dtype)))
    outs = _clip_bodies(lifter, clips, predict_clips(lifter, clips, flip=flip) if outputs is None else outputs, height_given=height_given)
    pred_kp = torch.cat([o.keypoints for o in outs]).cpu().numpy()[mask]
    pred_q = torch.cat([o.coordinates for o in outs]).cpu().numpy()[mask]
    true_q = clips.coordinates[mask]
    device = next(lifter.parameters()).device
    with torch.no_grad():
        gt = lifter.assemble(*(torch.as_tensor(a[mask], device=device) for a in (clips.coordinates, clips.root_rotation, clips.up, clips.segment_scales)))
    gt_kp = gt.keypoints.cpu().numpy()
    result = {"frames": float(mask.sum()), "mpjpe_mm": 1000 * mpjpe(pred_kp, gt_kp), "pa_mpjpe_mm": 1000 * pa_mpjpe(pred_kp, gt_kp)}
    names = lifter.pose_coordinate_names
    rmses = []
    for angle in EVALUATED_ANGLES:
        cols = [names.index(f"{angle}_{s}") for s in ("r", "l")]
        rmse = np.rad2deg(angle_rmse(pred_q[:, cols], true_q[:, cols]))
        result[f"{angle}_rmse_deg"] = float(rmse)
        result[f"{angle}_r"] = pearson_r(pred_q[:, cols], true_q[:, cols])
        rmses.append(rmse)
    result["mean_angle_rmse_deg"] = float(np.mean(rmses))
    knees = [names.index(f"knee_angle_{s}") for s in ("r", "l")]
    hips = [names.index(f"hip_flexion_{s}") for s in ("r", "l")]
    standing = standing_frames(true_q[:, knees], true_q[:, hips])
    result["standing_frames"] = float(standing.sum())
    true_knees = true_q[standing][:, knees]
    bias = pred_q[standing][:, knees] - true_knees
    result["standing_knee_bias_deg"] = float(np.rad2deg(bias.mean())) if standing.any() else float("nan")
    straight = true_knees >= 0.0  # the knees of those frames that are not hyperextended
    result["standing_knee_hyperextended_fraction"] = float(1.0 - straight.mean()) if standing.any() else float("nan")
    result["standing_knee_bias_straight_deg"] = float(np.rad2deg(bias[straight].mean())) if straight.any() else float("nan")
    pred_rot = torch.cat([o.root_rotation for o in outs]).cpu().numpy()[mask]
    pred_up = torch.cat([o.up for o in outs]).cpu().numpy()[mask]
    tilt_error = pelvis_pitch(pred_rot, pred_up) - pelvis_pitch(clips.root_rotation[mask], clips.up[mask])
    result["pelvis_tilt_rmse_deg"] = float(np.rad2deg(angle_rmse(tilt_error, np.zeros_like(tilt_error))))
    result["pelvis_tilt_bias_deg"] = float(np.rad2deg(tilt_error.mean()))
    result["hip_flexion_bias_deg"] = float(np.rad2deg((pred_q[:, hips] - true_q[:, hips]).mean()))
    pred_joints = torch.cat([o.joints for o in outs]).cpu().numpy()[mask]
    true_joints = gt.joints.cpu().numpy()
    joint = lifter.joint_names.index
    for segment, (proximal, distal) in SEGMENT_LEANS.items():
        leans = []
        for joints, rot, up in ((pred_joints, pred_rot, pred_up), (true_joints, clips.root_rotation[mask], clips.up[mask])):
            top, bottom = (joints[:, [joint(f"{name}_{s}") for s in ("r", "l")]] for name in (proximal, distal))  # (F, 2, 3)
            if segment == "trunk":  # one segment: from the hips' midpoint to the shoulders'
                top, bottom = top.mean(1, keepdims=True), bottom.mean(1, keepdims=True)
            leans.append(segment_lean(top, bottom, rot[:, None, :, 0], up[:, None]))
        result[f"{segment}_lean_rmse_deg"] = float(np.rad2deg(angle_rmse(leans[0], leans[1])))
        result[f"{segment}_lean_r"] = pearson_r(leans[0], leans[1])
    return result


VIEW_LIMITS_DEG = (30.0, 60.0)
""":func:`view_frames`' limits on :func:`view_angles`: below 30 deg ``"frontal"`` (the camera in front
of or behind the person), above 60 ``"sagittal"`` (beside), in between ``"oblique"``."""


def view_angles(root_rotation: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Per frame, the angle (rad, 0 to pi/2) between the person's facing direction and the
    camera's line of sight (its z axis), both taken in the horizontal plane: 0 where the camera
    sees the person from the front or the back, pi/2 from the side.

    ``root_rotation`` ``(N, 3, 3)``: the pelvis's axes in camera axes (its columns; the first, x,
    points forward), as :class:`~kinelift.lifting.data.LiftingClips` and the lifter hold it;
    ``up`` ``(N, 3)``: the up direction in camera axes. For the clips' true pose this measures the
    renderings (not an estimate from 2D as :func:`kinelift.core.views.camera_view` is).

    Examples
    --------
    >>> import numpy as np
    >>> from kinelift.lifting.data import make_clips
    >>> from kinelift.lifting.motions import procedural_standing
    >>> clips = make_clips([procedural_standing(np.random.default_rng(0), seconds=1.0)], "LOWER-6",
    ...                    clips_per_motion=1, rng=np.random.default_rng(0))
    >>> angles = view_angles(clips.root_rotation, clips.up)
    >>> angles.shape == (clips.n_frames,) and bool(np.all((angles >= 0) & (angles <= np.pi / 2)))
    True
    """
    root_rotation, up = np.asarray(root_rotation, float), np.asarray(up, float)
    if root_rotation.shape[-2:] != (3, 3) or up.shape != root_rotation.shape[:-1]:
        raise ShapeError("root_rotation/up", expected="(N, 3, 3) rotations and (N, 3) up vectors", got=(root_rotation.shape, up.shape))
    up = up / np.linalg.norm(up, axis=-1, keepdims=True)
    forward = root_rotation[..., :, 0]  # the pelvis's x axis (forward) in camera axes
    sight = np.broadcast_to(np.array([0.0, 0.0, 1.0]), forward.shape)
    flat = [v - (v * up).sum(-1, keepdims=True) * up for v in (forward, sight)]
    cosine = np.abs((flat[0] * flat[1]).sum(-1)) / np.maximum(np.linalg.norm(flat[0], axis=-1) * np.linalg.norm(flat[1], axis=-1), 1e-12)
    return np.arccos(np.clip(cosine, 0.0, 1.0))


def view_frames(clips: LiftingClips) -> dict[str, np.ndarray]:
    """Boolean masks ``(clips.n_frames,)`` of the frames seen ``"frontal"``, ``"oblique"`` and
    ``"sagittal"`` (:func:`view_angles`, :data:`VIEW_LIMITS_DEG`), for :func:`evaluate_lifter`'s ``frames``."""
    degrees = np.rad2deg(view_angles(clips.root_rotation, clips.up))
    low, high = VIEW_LIMITS_DEG
    return {"frontal": degrees < low, "oblique": (degrees >= low) & (degrees <= high), "sagittal": degrees > high}


def pearson_r(pred: np.ndarray, true: np.ndarray) -> float:
    """Pearson correlation of two equal-shape arrays (flattened; NaN where either is constant)."""
    a, b = np.ravel(pred).astype(np.float64), np.ravel(true).astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def standing_frames(knee: np.ndarray, hip_flexion: np.ndarray, *, knee_max: float = np.deg2rad(10.0),
                    hip_max: float = np.deg2rad(15.0)) -> np.ndarray:  # fmt: skip
    """Frames ``(N,)`` where both knees flex less than ``knee_max`` and both hips less than ``hip_max``
    (rad; arrays ``(N, 2)``, right and left): upright standing, where a squat-shaped prior shows as knee bias."""
    return (np.abs(knee) < knee_max).all(1) & (np.abs(hip_flexion) < hip_max).all(1)


def _true_scales(clips: LiftingClips, clip: int) -> torch.Tensor:
    return torch.as_tensor(clips.segment_scales[clips.starts[clip]])


def _check_one_output_per_clip(outputs: list[LifterOutput], clips: LiftingClips) -> None:
    if len(outputs) != clips.n_clips:
        raise ShapeError("outputs", expected=f"one lifter output per clip ({clips.n_clips},)", got=(len(outputs),))


def _clip_bodies(lifter: Lifter, clips: LiftingClips, outputs: list[LifterOutput], *, height_given: bool = False) -> list[LifterOutput]:
    """Each clip's outputs on one body, the segment scales averaged over the clip as
    :func:`kinelift.lifting.lift` builds it (with ``height_given``, rescaled to the true standing height)."""
    _check_one_output_per_clip(outputs, clips)
    bodies = []
    for c, o in enumerate(outputs):
        seg = o.segment_scales.mean(0).cpu()
        if height_given:
            seg = seg * (standing_height(_true_scales(clips, c)) / standing_height(seg))
        with torch.no_grad():
            bodies.append(lifter.assemble(o.coordinates, o.root_rotation, o.up, seg.to(o.coordinates).expand_as(o.segment_scales)))
    return bodies


def height_estimates(outputs: list[LifterOutput], clips: LiftingClips) -> tuple[np.ndarray, np.ndarray]:
    """Each clip's standing height (m) from the lifter's clip-averaged segment scales, and the true one.

    One camera cannot tell a tall person far away from a short one near; comparing the two
    (error, correlation, the spread of the true heights) shows how much of the MPJPE is size.

    Examples
    --------
    >>> import numpy as np
    >>> from kinelift.lifting.config import LifterConfig
    >>> from kinelift.lifting.data import make_clips
    >>> from kinelift.lifting.motions import procedural_standing
    >>> clips = make_clips([procedural_standing(np.random.default_rng(0), seconds=2.0)], "LOWER-6",
    ...                    clips_per_motion=2, rng=np.random.default_rng(0))
    >>> lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(3,), channels=8))
    >>> estimated, true = height_estimates(predict_clips(lifter, clips), clips)
    >>> estimated.shape, bool(np.all((true > 1.3) & (true < 2.2)))
    ((2,), True)
    """
    _check_one_output_per_clip(outputs, clips)
    estimated = [float(standing_height(o.segment_scales.mean(0).cpu())) for o in outputs]
    true = [float(standing_height(_true_scales(clips, c))) for c in range(clips.n_clips)]
    return np.asarray(estimated), np.asarray(true)


def held_out_clips(data: DataConfig, keypoints: str, *, fps: float = 30.0, camera_seed: int = 20_000,
                   clips_per_motion: int = 4, clips_per_file: int | None = None, noise: DetectorNoise | None = None) -> dict[str, LiftingClips]:  # fmt: skip
    """Clips of the test split's motions (never trained on) under cameras from a stream of their own
    (``data.seed + camera_seed``, unseen in training), grouped: ``"procedural"``, one group per
    held-out file (by file stem) and one per movement family of the motion library's held-out
    subjects (``"real squat"``, ``"real walk"``, ...). ``clips_per_motion`` renderings (body, camera, noise) of each
    procedural motion and ``clips_per_file`` (default: as many) of each file. ``noise``: the
    corruption, by default a detector's (``DetectorNoise()``), not the training mixture of ``data``
    (:meth:`DataConfig.noise_model`)."""
    _, test = motion_split(data, fps)
    rng = np.random.default_rng(data.seed + camera_seed)
    groups: dict[str, list] = {}
    for m in test:
        group = {"file": Path(m.name).stem, "library": f"real {m.metadata.get('family', '')}"}.get(m.kind, "procedural")
        groups.setdefault(group, []).append(m)
    noise = noise or DetectorNoise()
    per_file = clips_per_motion if clips_per_file is None else clips_per_file
    return {name: make_clips(motions, keypoints, clips_per_motion=clips_per_motion if name == "procedural" else per_file, rng=rng, data=data,
                             noise=noise) for name, motions in groups.items()}  # fmt: skip
