"""``lift``: one person's 2D keypoint track to 3D kinematics on the built-in model.

Examples
--------
>>> from kinelift.synthetic import squat_tracks
>>> clip = squat_tracks(n_reps=1, seed=0)
>>> result = lift(clip.observed, height=1.75)
>>> result.coordinates.shape == (clip.observed.n_frames, 32), round(result.height, 2)
(True, 1.75)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from kinelift._deprecation import renamed_argument
from kinelift.core.tracks import Tracks
from kinelift.core.views import CAMERA_VIEW_KEY, camera_view
from kinelift.errors import KeypointConversionError, ShapeError, ValueRangeError
from kinelift.lifting.cameras import focal_length
from kinelift.lifting.ensemble import ENSEMBLE_SEPARATOR, combine_outputs, ensemble_name, lifter_sources
from kinelift.lifting.features import normalize_keypoints
from kinelift.lifting.lifter import N_ROOT_COORDINATES, Lifter
from kinelift.lifting.predict import predict_sequences
from kinelift.lifting.refinement import RefinementConfig, refine_to_image, root_translation
from kinelift.lifting.result import LiftResult
from kinelift.lifting.rotations import matrix_to_pelvis_angles
from kinelift.lifting.segments import SEGMENTS, segment_to_body_scales, standing_height
from kinelift.lifting.weights import SHIPPED_WEIGHTS, load_lifter
from kinelift.processing import valid_runs
from kinelift.processing.tracks_ops import resample_tracks
from kinelift.skeleton.builtin import FOOT_POINTS, builtin_model, foot_marker_indices
from kinelift.skeleton.keypoint_maps import keypoint_map
from kinelift.skeleton.scaling import scale_spec

__all__ = ["lift", "Intrinsics", "SEEN_FRACTION", "FEET_SEEN_FRACTION", "ASSUMED_FIELD_OF_VIEW_DEG", "DEFAULT_ENSEMBLE"]

SEEN_FRACTION = 0.5
"""A frame shows the subject when at least this fraction of the lifter's keypoints is present."""

ASSUMED_FIELD_OF_VIEW_DEG = 65.0
"""Field of view (deg) across the image's longer side assumed for a camera whose intrinsics are not
given, when the image size is known (``Tracks.image_size``): phones and webcams film at about
60-75 deg across the long side of their frame, so a phone held upright (portrait, 1080x1920) sees
about 39 deg across its width (0.3.10 assumed 65 deg across the width whatever the orientation, a
focal length 44 % short in portrait). It only serves the fit of the pose to the keypoints
(``lift(refine=...)``), which kept its gain with a focal length 30-40 % off on held-out real motion
(docs/lift.md); the pelvis translation needs the true intrinsics."""

log = logging.getLogger(__name__)


class Intrinsics:
    """Pinhole intrinsics of the camera: ``focal`` (px) and ``principal_point`` (px, image x right, y down).

    Examples
    --------
    >>> Intrinsics(1000.0, (640.0, 360.0)).focal
    1000.0
    """

    def __init__(self, focal: float, principal_point: tuple[float, float]) -> None:
        if not np.isfinite(focal) or focal <= 0:
            raise ValueRangeError("focal", expected="a focal length in pixels > 0", got=focal)
        self.focal = float(focal)
        self.principal_point = (float(principal_point[0]), float(principal_point[1]))

    @classmethod
    def from_field_of_view(cls, fov_deg: float | None = None, image_size: tuple[int, int] | None = None, *, across: str = "width",
                           horizontal_fov_deg: float | None = None) -> Intrinsics:  # fmt: skip
        """Intrinsics from the field of view (deg) and the image size (width, height; px), principal
        point at the image centre: for a camera whose calibration is not known (phones and webcams:
        about 60-75 deg across the long side of the frame; the fit of ``lift`` kept most of its gain
        with a focal length 30-40 % off, docs/lift.md).

        Parameters
        ----------
        fov_deg : float
            The field of view, 1 to 179 deg.
        image_size : (int, int)
            ``(width, height)`` in pixels.
        across : {"width", "longer side"}, default "width"
            The side the field of view spans: ``"longer side"`` describes one camera in both
            orientations (a phone filming in portrait or landscape).
        horizontal_fov_deg : float, optional
            Deprecated name of ``fov_deg`` (before 0.3.11, the field of view was always across the width).

        Examples
        --------
        >>> round(Intrinsics.from_field_of_view(90.0, (1920, 1080)).focal, 6)
        960.0
        >>> round(Intrinsics.from_field_of_view(90.0, (1080, 1920), across="longer side").focal, 6)
        960.0
        """
        fov_deg = renamed_argument("Intrinsics.from_field_of_view", "horizontal_fov_deg", "fov_deg", horizontal_fov_deg, fov_deg)
        if fov_deg is None or image_size is None:
            raise ValueRangeError("fov_deg/image_size", expected="a field of view (deg) and an image size (width, height)",
                                  got=(fov_deg, image_size))  # fmt: skip
        if not 1.0 <= fov_deg <= 179.0:
            raise ValueRangeError("fov_deg", expected="a field of view in degrees, 1 to 179", got=fov_deg)
        width, height = image_size
        if not (width > 0 and height > 0):
            raise ValueRangeError("image_size", expected="(width, height) in pixels, both > 0", got=image_size)
        return cls(focal_length(fov_deg, image_size, across=across), (width / 2.0, height / 2.0))


def _resample_back(values: np.ndarray, from_time: np.ndarray, to_time: np.ndarray) -> np.ndarray:
    flat = values.reshape(len(from_time), -1)
    return np.stack([np.interp(to_time, from_time, col) for col in flat.T], axis=1).reshape((len(to_time),) + values.shape[1:])


def _ground_rotation(up: np.ndarray, pelvis: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``R_camera_ground``: y along the mean up vector, x along the mean pelvis forward axis made horizontal."""
    y = (weights[:, None] * up).sum(0)
    y /= np.linalg.norm(y)
    fwd = (weights[:, None] * pelvis[:, :, 0]).sum(0)
    x = fwd - (fwd @ y) * y
    if np.linalg.norm(x) < 1e-6:
        raise ValueRangeError("pose", expected="a pelvis forward axis that is not vertical", got=fwd.tolist())
    x /= np.linalg.norm(x)
    return np.stack([x, y, np.cross(x, y)], axis=1)


DEFAULT_ENSEMBLE = "COCO-17+LOWER-6"
"""The default lifter for tracks that give every COCO-17 point and no feet: both shipped lifters, averaged
(:mod:`kinelift.lifting.ensemble`); on held-out subjects' real motion better than either alone."""

_WHOLE_BODY = ("COCO-17", "LSP-14")  # shipped lifters that see the arms and the trunk, in order of preference
_WITH_FEET = "BODY-25"  # the shipped lifter that also reads the feet

FEET_SEEN_FRACTION = 0.5
"""Tracks whose keypoints give BODY-25's (BODY-25, HALPE-26, BODY-25B) are lifted by default with
``"BODY-25+LOWER-6"`` when every foot point (heels and toes) is present in at least this fraction
of the frames that show the subject; with feet seen less often (an OpenPose track whose feet
leave the image or were not detected), like COCO tracks, with ``"COCO-17+LOWER-6"``: the BODY-25
lifter learned on tracks whose foot points go missing now and then, not on tracks without feet."""


_OWN_FEET = tuple(f"{side}_{point}" for side in ("left", "right") for point in FOOT_POINTS)
"""The foot points a track must give itself to be lifted with the feet by default. MediaPipe's 33
convert to BODY-25 with both toes at its one ``foot_index`` per foot
(:data:`~kinelift.core.keypoint_conversion.DERIVED_POINTS`), and ``lifter="BODY-25+LOWER-6"``
reads them: on held-out motion capture rendered so (each foot's toes at their midpoint), fitted
through the assumed camera, the mean over the 11 families of the mean of four angles is 10.27 deg
against 10.96 with ``"COCO-17+LOWER-6"`` (ankle in walks 11.3 against 13.3), but on the real
standing lateral raise with MediaPipe's 2D the largest knee or hip flexion rises from 12.1 to
16.4 deg (hip flexion's median 8.0 -> 11.4): their default stays ``"COCO-17+LOWER-6"``
(docs/lift.md, "MediaPipe's feet")."""


def hold_through_unseen(features: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """``features`` ``(T, K, 3)`` with every frame where the subject is not seen (``seen`` False)
    replaced by the nearest seen frame's (the earlier one at equal distance).

    The lifter's network reads a window of frames around each one; where the subject is lost for
    a while (a person leaving the image and coming back, or first seen after the video's start)
    the missing frames' features are zeros, a "nobody" the network never trained on, and the
    first seen frames after such a stretch were lifted flexed: on the real lateral raise with 2 s
    of an empty picture before it, the standing person's knees and hips started at 26-29 deg and
    took 10 frames to settle (0.3.16; the clip alone: -3). Held, the network sees a still person
    there, as at a clip's ends, where :func:`~kinelift.lifting.predict.predict_sequences` repeats
    the edge frames. The unseen frames get no pose either way.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.arange(5.0)[:, None, None] * np.ones((5, 1, 3))
    >>> hold_through_unseen(f, np.array([False, True, False, False, True]))[:, 0, 0].tolist()
    [1.0, 1.0, 1.0, 4.0, 4.0]
    """
    seen = np.asarray(seen, dtype=bool)
    if seen.all() or not seen.any():
        return features
    idx = np.flatnonzero(seen)
    frames = np.arange(len(seen))
    after = np.clip(np.searchsorted(idx, frames), 0, len(idx) - 1)
    before = np.clip(after - 1, 0, len(idx) - 1)
    nearest = np.where(np.abs(idx[before] - frames) <= np.abs(idx[after] - frames), idx[before], idx[after])
    return features[nearest]


def _warn_if_legs_out_of_view(tracks: Tracks) -> None:
    """A warning where the 2D shows a person whose legs are out of view in some frames
    (:func:`kinelift.processing.tracks_legs_in_view`): the lifter guesses the legs there."""
    from kinelift.processing import MIN_LEG_RELATIVE_CONFIDENCE, tracks_legs_in_view

    in_view = tracks_legs_in_view(tracks)
    if in_view is None:
        return
    present = tracks.valid.any(axis=1)
    hidden = int((present & ~in_view).sum())
    if hidden:
        log.warning("the legs are out of view in %d of %d frames (no knee or no ankle inside the image with at least %.2g of the "
                    "confidence of the points above the hips): the lifter guesses them there (kinelift run sets such frames "
                    "missing)", hidden, int(present.sum()), MIN_LEG_RELATIVE_CONFIDENCE)  # fmt: skip


def _feet_seen(tracks: Tracks) -> float:
    """The fraction of the frames with the subject (:data:`SEEN_FRACTION`) where every foot point of
    ``tracks``, already in BODY-25, is present."""
    seen = tracks.valid.mean(axis=1) >= SEEN_FRACTION
    feet = tracks.valid[:, keypoint_map(builtin_model(), tracks.keypoint_set).on_foot].all(axis=1)
    return float(feet[seen].mean()) if seen.any() else 0.0


def _default_lifter(tracks: Tracks) -> str:
    """``"BODY-25+LOWER-6"`` for tracks that give BODY-25's foot points themselves (:data:`_OWN_FEET`)
    and show them (:data:`FEET_SEEN_FRACTION`); else the first shipped lifter of :data:`_WHOLE_BODY` the
    track's keypoints convert to, averaged with LOWER-6 (``"COCO-17+LOWER-6"`` for COCO,
    MediaPipe's 33, BODY-25 without feet, ...; ``"LSP-14+LOWER-6"`` for kinelift's detector); else
    LOWER-6 alone (e.g. PENN-13, H36M-17)."""
    if tracks.keypoint_set.name == "LOWER-6":
        return "LOWER-6"
    if _WITH_FEET in SHIPPED_WEIGHTS and set(_OWN_FEET) <= set(tracks.keypoint_names):
        try:
            with_feet = tracks.to_keypoint_set(_WITH_FEET, allow_derived=True)
        except KeypointConversionError:
            with_feet = None
        if with_feet is not None:
            share = _feet_seen(with_feet)
            if share >= FEET_SEEN_FRACTION:
                return f"{_WITH_FEET}{ENSEMBLE_SEPARATOR}LOWER-6"
            log.info("every foot point is present in %.0f%% of the frames with the subject (fewer than %.0f%%): lifting without the feet",
                     100 * share, 100 * FEET_SEEN_FRACTION)  # fmt: skip
    for name in (n for n in _WHOLE_BODY if n in SHIPPED_WEIGHTS):
        try:
            tracks[:1].to_keypoint_set(name)
        except KeypointConversionError:
            continue
        return f"{name}{ENSEMBLE_SEPARATOR}LOWER-6"
    log.info("lifting with the LOWER-6 lifter: %s has no shipped lifter that sees the arms (%s)", tracks.keypoint_set.name,
             ", ".join(n for n in _WHOLE_BODY if n in SHIPPED_WEIGHTS))  # fmt: skip
    return "LOWER-6"


def lift(
    tracks: Tracks,
    *,
    lifter: Lifter | str | os.PathLike[str] | Sequence[Lifter | str | os.PathLike[str]] | None = None,
    height: float | None = None,
    intrinsics: Intrinsics | None = None,
    flip: bool = True,
    refine: bool | RefinementConfig | None = None,
) -> LiftResult:
    """3D kinematics on the built-in model from one person's 2D track.

    Parameters
    ----------
    tracks : Tracks
        2D keypoints in pixels (image x right, y down). Other keypoint sets are converted to the
        lifter's (BODY-25 and the like to COCO-17); missing points (NaN or confidence 0) are allowed.
        Tracks at a frame rate other than the lifter's (30 Hz for the shipped weights) are
        resampled to it, and the results back to the track's times.
    lifter : Lifter, str, path or a sequence of them, optional
        A lifter, a shipped one by keypoint set (``"COCO-17"``, ``"LSP-14"``, ``"LOWER-6"``, ``"BODY-25"``) or a weights file;
        or an ensemble, several lifters whose predictions are averaged, each over what its
        keypoints show (:mod:`kinelift.lifting.ensemble`): a sequence, or names joined by ``+``,
        the primary (whose keypoints the result carries) first. Default: ``"BODY-25+LOWER-6"``
        for tracks with the feet (BODY-25, HALPE-26, BODY-25B; midpoints such as the neck are
        derived) whose foot points are present in most frames (:data:`FEET_SEEN_FRACTION`): its
        ankles follow the heels and toes (docs/lift.md, "Foot points"); ``"COCO-17+LOWER-6"``
        (:data:`DEFAULT_ENSEMBLE`) when the track's keypoints give all of COCO-17 (COCO,
        MediaPipe's 33, BODY-25 without feet, ...), ``"LSP-14+LOWER-6"`` for LSP-14 (kinelift's
        own detector), else ``"LOWER-6"`` (LOWER-6, PENN-13, H36M-17: no whole-body lifter reads
        them).
    height : float, optional
        The subject's height (m). Monocular video cannot tell a tall person far away from a short
        one near: give the height when you know it; otherwise the lifter's estimate sets the size,
        and it is close to the training population's mean (1.72 m; RMS error about 10 cm on
        held-out generated bodies, see docs/lift.md). Angles do not depend on it.
    intrinsics : Intrinsics, optional
        With the camera's focal length and principal point, the pelvis translation follows the
        person through the scene (the root position that best reprojects the 3D keypoints), and
        the pose is fitted back to the keypoints (``refine``). Without, ``pelvis_tx = pelvis_tz = 0``
        and ``pelvis_ty`` keeps the lowest foot point on the floor in every frame; the fit then
        assumes a camera of :data:`ASSUMED_FIELD_OF_VIEW_DEG` across the image's longer side (a
        phone's camera, in landscape or portrait), centred on the image, when the track knows its
        image size (``tracks.image_size``: kinelift's detectors record it; give it to a track
        that does not, such as OpenPose's, with :meth:`~kinelift.core.tracks.Tracks.with_image_size`).
        With neither there is no fit, and a warning says so.
    flip : bool, default True
        Also lift the mirrored track and average the two (test-time augmentation; on held-out
        generated motions it lowered MPJPE by 3-4 mm and the angle RMSEs by 0.2-0.4 deg with the
        first weights, at twice the network time).
    refine : bool or RefinementConfig, optional
        Fit the lifted pose back to the keypoints through the camera
        (:func:`kinelift.lifting.refinement.refine_to_image`: pose coordinates, pelvis orientation
        and position per frame, robust to outliers, kept near the network's estimate and smooth).
        Needs ``intrinsics`` or the track's image size (then with an assumed camera, see
        ``intrinsics``); default: on when either is known. On held-out subjects' real motion it
        lowered the knee RMSE in every movement family (docs/lift.md);
        about 5,000 frames per second on 2 CPU cores (``benchmarks/lift_speed.py``). A
        :class:`RefinementConfig` sets its priors.

    Returns
    -------
    LiftResult
        Coordinates in OpenSim's ground frame: y up (the lifter's estimate of the world's up
        direction in the camera), x along the subject's mean facing direction, floor at ``y = 0``.
        Frames where the subject was not seen (fewer than ``SEEN_FRACTION`` of the lifter's
        keypoints present in the track: the person left the image or was lost) are NaN in the
        coordinates and every 3D point, and False in ``LiftResult.seen``: the network would
        otherwise invent a pose there from the neighbouring frames.
    """
    if not isinstance(tracks, Tracks):
        raise ShapeError("tracks", expected="a kinelift.Tracks of 2D keypoints", got=type(tracks).__name__)
    if tracks.n_dims != 2:
        raise ShapeError("tracks", expected="2D keypoints (pixels); 3D tracks need no lifting", got=f"{tracks.n_dims}D positions")
    if height is not None and not 0.5 <= height <= 2.5:
        raise ValueRangeError("height", expected="a body height in metres between 0.5 and 2.5", got=height)
    if refine is not None and not isinstance(refine, (bool, RefinementConfig)):
        raise ValueRangeError("refine", expected="True, False, None or a RefinementConfig", got=type(refine).__name__)
    camera = intrinsics  # the camera the fit projects through: given, or assumed from the image size
    if camera is None and refine is not False and tracks.image_size is not None:
        camera = Intrinsics.from_field_of_view(ASSUMED_FIELD_OF_VIEW_DEG, tracks.image_size, across="longer side")
        log.info("camera intrinsics not given: the fit to the keypoints assumes a %.0f-deg field of view across the longer side of the "
                 "%dx%d image", ASSUMED_FIELD_OF_VIEW_DEG, *tracks.image_size)  # fmt: skip
    if refine is None:
        refine = camera is not None
        if camera is None:
            log.warning("the track records no image size and no intrinsics were given: the pose is not fitted to the keypoints (give "
                        "the video's frame size, Tracks.with_image_size or --image-size, or the intrinsics: on held-out motion capture "
                        "the fit lowers the knee RMSE by about 1 deg, docs/lift.md)")  # fmt: skip
    if refine is not False and camera is None:
        raise ValueRangeError("refine", expected="intrinsics= or a track that knows its image size (metadata image_width, image_height; "
                              "the fit projects the pose through the camera), or refine=False", got=refine)  # fmt: skip
    if lifter is None:
        lifter = _default_lifter(tracks)
    members = [m if isinstance(m, Lifter) else load_lifter(m) for m in lifter_sources(lifter)]
    lifter = members[0]
    if any(m.config.fps != lifter.config.fps for m in members):
        raise ValueRangeError("lifter", expected="lifters of one frame rate in an ensemble", got=[m.config.fps for m in members])
    ks = lifter.keypoint_set
    _warn_if_legs_out_of_view(tracks)
    # each lifter of an ensemble reads its own points of the given track; the primary's are the result's
    per_lifter = [tracks if tracks.keypoint_set.name == m.keypoint_set.name else tracks.to_keypoint_set(m.keypoint_set, allow_derived=True)
                  for m in members]  # fmt: skip
    tracks = per_lifter[0]
    fps = lifter.config.fps
    t0 = tracks.time
    seen_frames = tracks.valid.mean(axis=1) >= SEEN_FRACTION
    if not seen_frames.any():
        raise ValueRangeError("tracks", expected=f"frames where at least {SEEN_FRACTION:.0%} of the {ks.name} keypoints are present",
                              got=f"none of {len(t0)} frames")  # fmt: skip
    resample = len(t0) > 1 and (not tracks.is_uniform() or abs(tracks.sampling_rate - fps) > 0.05 * fps)
    resampled = [resample_tracks(t, fps=fps) if resample else t for t in per_lifter]
    inputs = [(t.positions, np.where(t.valid, t.confidence, 0.0)) for t in resampled]
    normalized = [normalize_keypoints(pix, conf, m.keypoint_set) for m, (pix, conf) in zip(members, inputs)]
    seen, (pix, conf), (feats, _, size) = resampled[0], inputs[0], normalized[0]
    grid = seen.time
    device = next(lifter.parameters()).device
    with_subject = seen.valid.mean(axis=1) >= SEEN_FRACTION  # on the lifter's time grid
    held = [hold_through_unseen(f, with_subject) for f, _, _ in normalized]  # the network sees a still person where the subject is lost
    outs = [predict_sequences(m, [torch.as_tensor(f, dtype=torch.float32, device=device)], flip=flip)[0] for m, f in zip(members, held)]
    out = combine_outputs(members, outs)
    weights = conf.mean(1) + 1e-6
    seg = (torch.as_tensor(weights[:, None], dtype=out.segment_scales.dtype, device=device) * out.segment_scales).sum(0) / float(weights.sum())
    estimated = standing_height(seg.cpu())
    if height is not None:
        seg = seg * (height / estimated)
    with torch.no_grad():
        body = lifter.assemble(out.coordinates, out.root_rotation, out.up, seg.expand_as(out.segment_scales))
    if camera is not None:
        image = torch.as_tensor((pix - np.asarray(camera.principal_point)) / camera.focal, dtype=body.keypoints.dtype, device=device)
    if refine is not False:
        config = refine if isinstance(refine, RefinementConfig) else RefinementConfig()
        weights_2d = torch.as_tensor(feats[..., 2], dtype=body.keypoints.dtype, device=device)
        body = refine_to_image(lifter, body, image, weights_2d, focal_over_size=camera.focal / size, config=config)
    R_cp, up = body.root_rotation.double().cpu().numpy(), body.up.double().cpu().numpy()
    R_cg = _ground_rotation(up, R_cp, weights)
    pelvis = matrix_to_pelvis_angles(torch.as_tensor(np.einsum("ji,tjk->tik", R_cg, R_cp))).numpy()
    pelvis = np.unwrap(pelvis, axis=0)
    root_cam = None
    if intrinsics is not None:  # the root position that best reprojects the 3D keypoints
        root_cam = root_translation(body.keypoints.double(), image.double(), torch.as_tensor(conf, device=device)).cpu().numpy()
    behind = root_cam is not None and (root_cam[:, 2] <= 0) & with_subject
    if np.any(behind):
        log.warning("the pelvis lands behind the camera in %d of %d frames with the subject: the lifted pose does not fit the image "
                    "there (check the intrinsics)", int(behind.sum()), int(with_subject.sum()))  # fmt: skip
    pose = body.coordinates.double().cpu().numpy()
    if resample:
        pose, pelvis = _resample_back(pose, grid, t0), _resample_back(pelvis, grid, t0)
        root_cam = None if root_cam is None else _resample_back(root_cam, grid, t0)
    model = builtin_model()
    body_scales = segment_to_body_scales(seg.double().cpu(), model.body_names).numpy()
    q = np.zeros((len(t0), model.n_coordinates))
    q[:, :3], q[:, N_ROOT_COORDINATES:] = pelvis, pose
    scales_t = torch.as_tensor(body_scales)
    with torch.no_grad():  # joint centres, landmarks and keypoints in one pass, pelvis translation zero
        fk = lifter.skeleton(torch.as_tensor(q), scales=scales_t)
    n_markers = len(model.marker_names)
    foot_y = fk.markers[:, foot_marker_indices(model.marker_names), 1].min(1).values.numpy()
    if root_cam is not None:
        ground = root_cam @ R_cg  # camera -> ground axes (origin still at the camera)
        first = int(np.argmax(seen_frames))  # the ground's origin and floor from the frames with the subject
        q[:, 3:6] = ground - np.array([ground[first, 0], 0.0, ground[first, 2]])
        q[:, 4] -= np.min((ground[:, 1] + foot_y)[seen_frames])
    else:
        q[:, 4] = -foot_y
    shift = torch.as_tensor(q[:, None, 3:6])  # the pelvis translation moves every point along ground axes
    joints, markers = fk.joint_centers + shift, fk.markers[:, :n_markers] + shift
    kp = fk.markers[:, n_markers:] + shift
    if not seen_frames.all():
        lost = torch.as_tensor(~seen_frames)
        q[~seen_frames] = np.nan
        joints, markers, kp = (x.masked_fill(lost[:, None, None], float("nan")) for x in (joints, markers, kp))
        if root_cam is not None:
            root_cam[~seen_frames] = np.nan
        log.warning("the subject was not seen in %d of %d frames (%d stretches): no pose is reported there",
                    int((~seen_frames).sum()), len(t0), len(valid_runs(~seen_frames)))  # fmt: skip
    fitted_through = "none" if refine is False else "given intrinsics" if intrinsics is not None else f"assumed {ASSUMED_FIELD_OF_VIEW_DEG:g}-deg camera"
    lifter_name = ensemble_name(members)
    meta = {"source": "kinelift.lifting", "lifter": lifter_name, "refined": refine is not False, "refined_camera": fitted_through,
            "input": dict(tracks.metadata), CAMERA_VIEW_KEY: camera_view(tracks)}  # fmt: skip

    def as_tracks(points: torch.Tensor, names) -> Tracks:
        return Tracks(points.numpy(), keypoints=names, time=t0, units="m", coordinate_frame="ground", metadata=meta)

    conf_out = _resample_back(conf.mean(1), grid, t0) if resample else conf.mean(1)
    spec = scale_spec(model.spec, body_scales)
    spec = replace(spec, name=f"{model.spec.name}_lifted", metadata={**spec.metadata, "segment_scales": dict(zip(SEGMENTS, seg.tolist()))})
    log.info("lifted %d frames with the %s lifter; height %.3f m (%s)", len(t0), lifter_name, height or estimated,
             "given" if height is not None else "estimated")  # fmt: skip
    return LiftResult(
        time=t0, coordinate_names=model.coordinate_names, coordinates=q,
        coordinate_units=tuple(model.coordinate_units[c] for c in model.coordinate_names),
        model=spec, body_scales=body_scales, height=float(height if height is not None else estimated),
        keypoints=as_tracks(kp, ks), joints=as_tracks(joints, [f"{j}_center" for j in model.joint_names]),
        markers=as_tracks(markers, list(model.marker_names)), confidence=conf_out, camera_rotation=R_cg.T,
        root_in_camera=root_cam, seen=seen_frames,
    )  # fmt: skip
