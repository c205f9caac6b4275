"""Training and test data for the lifter, generated through the skeletal layer.

Each clip is one motion (:mod:`kinelift.lifting.motions`) with one body (height and segment
proportions drawn from :class:`~kinelift.lifting.config.DataConfig`), one playback speed (0.75-1.35 x),
one camera (drawn from ``DataConfig.cameras``, :func:`~kinelift.lifting.cameras.random_cameras`) and one realisation of detector noise
(:class:`~kinelift.lifting.corruption.DetectorNoise`). The 2D input is normalised exactly as at
inference (:func:`~kinelift.lifting.features.normalize_keypoints`); the targets are what
:class:`~kinelift.lifting.lifter.Lifter` predicts. Splits are by motion source: a motion of the
test split never appears in training, under any camera, and test cameras come from their own
random stream.

Examples
--------
>>> import numpy as np
>>> from kinelift.lifting.motions import procedural_squats
>>> motion = procedural_squats(np.random.default_rng(0))
>>> clips = make_clips([motion], "LOWER-6", clips_per_motion=2, rng=np.random.default_rng(1))
>>> clips.n_clips, clips.features.shape[1:], clips.segment_scales.shape[1]
(2, (6, 3), 8)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from tqdm.auto import tqdm

from kinelift.core.keypoint_sets import KeypointSet, get_keypoint_set
from kinelift.core.tracks import IMAGE_SIZE_KEYS, Tracks
from kinelift.errors import ValueRangeError
from kinelift.lifting.cameras import Camera, project
from kinelift.lifting.config import DataConfig
from kinelift.lifting.corruption import DetectorNoise, spread_hips
from kinelift.lifting.features import normalize_keypoints
from kinelift.lifting.lifter import N_ROOT_COORDINATES, lifter_skeleton
from kinelift.lifting.motions import (
    Motion,
    motion_from_file,
    procedural_gait,
    procedural_single_leg,
    procedural_squats,
    procedural_standing,
    procedural_stepping,
    read_motion_library,
    resample_motion,
)  # fmt: skip
from kinelift.lifting.segments import REFERENCE_HEIGHT, SEGMENTS, segment_to_body_scales
from kinelift.processing._segments import valid_runs
from kinelift.skeleton.builtin import foot_marker_indices
from kinelift.skeleton.model import SkeletalModel

__all__ = ["LiftingClips", "RenderedClip", "render_clip", "make_clips", "motion_split", "build_datasets", "sample_windows"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class LiftingClips:
    """Clips laid end to end: per-frame arrays of ``N`` frames, clip ``c`` at ``starts[c]:starts[c] + lengths[c]``.

    ``features`` (N, K, 3) normalised input; ``coordinates`` (N, n_pose) rad; ``root_rotation``
    (N, 3, 3) camera <- pelvis; ``up`` (N, 3) camera frame; ``segment_scales`` (N, 8);
    ``root_camera`` (N, 3) pelvis origin in the camera frame (m); ``clean_2d`` (N, K, 2) noise-free
    normalised 2D; ``focal_over_size`` (N,) focal length / person size; ``root_offset`` (N, 2)
    the projected pelvis origin minus the normalisation root, over the size; ``field_of_view``
    (N,) the camera's field of view across the image's longer side (rad; its principal point is
    the image centre), the angle ``kinelift.lift`` assumes when the intrinsics are not given.
    """

    keypoints: KeypointSet
    features: np.ndarray
    coordinates: np.ndarray
    root_rotation: np.ndarray
    up: np.ndarray
    segment_scales: np.ndarray
    root_camera: np.ndarray
    clean_2d: np.ndarray
    focal_over_size: np.ndarray
    root_offset: np.ndarray
    field_of_view: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    motion_names: tuple[str, ...]

    @property
    def n_clips(self) -> int:
        return len(self.starts)

    @property
    def n_frames(self) -> int:
        return int(self.features.shape[0])

    def clip(self, c: int) -> slice:
        return slice(int(self.starts[c]), int(self.starts[c] + self.lengths[c]))


def _draw_segments(rng: np.random.Generator, data: DataConfig) -> np.ndarray:
    height = float(np.clip(rng.normal(data.height_mean, data.height_sd), 1.45, 2.05))
    return (height / REFERENCE_HEIGHT) * np.clip(rng.normal(1.0, data.segment_sd, len(SEGMENTS)), 0.85, 1.15)


@dataclass(frozen=True, eq=False)
class RenderedClip:
    """One motion seen by one camera: the corrupted 2D ``tracks`` (pixels, with confidences) and the truth.

    ``clean`` (T, K, 2) noise-free pixels; ``coordinates`` (T, n) the built-in model's
    coordinates (rad / m, world frame, feet on ``y = 0``); ``segment_scales`` (8,);
    ``keypoints_3d`` (T, K, 3) world (m); ``pelvis_rotation`` (T, 3, 3) world <- pelvis;
    ``pelvis_position`` (T, 3) world (m).
    """

    tracks: Tracks
    clean: np.ndarray
    camera: Camera
    coordinates: np.ndarray
    segment_scales: np.ndarray
    keypoints_3d: np.ndarray
    pelvis_rotation: np.ndarray
    pelvis_position: np.ndarray


@lru_cache(maxsize=4)
def _keypoint_skeleton(name: str) -> SkeletalModel:
    return lifter_skeleton(name)


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """Start and length of the longest run of True in ``mask`` (the first of equals; 0, 0 when there is none)."""
    start, stop = max(valid_runs(mask), key=lambda run: run[1] - run[0], default=(0, 0))
    return start, stop - start


def render_clip(
    motion: Motion,
    keypoints: str | KeypointSet,
    *,
    rng: np.random.Generator,
    data: DataConfig | None = None,
    noise: DetectorNoise | None = None,
    speed: float | None = None,
) -> RenderedClip:
    """Render ``motion`` with a drawn body, playback speed (``speed`` if given), camera and noise
    (``noise``, by default ``data.noise_model()``). A motion that travels further than one camera
    sees whole from in front is cut to its longest run of frames in front of the camera."""
    data = data or DataConfig()
    noise = noise or data.noise_model()
    ks = get_keypoint_set(keypoints) if isinstance(keypoints, str) else keypoints
    skeleton = _keypoint_skeleton(ks.name)
    n_markers = len(skeleton.marker_names) - len(ks)
    feet = foot_marker_indices(skeleton.marker_names)
    m = resample_motion(motion, motion.fps / (rng.uniform(0.75, 1.35) if speed is None else speed))
    q = m.coordinates.copy()
    segments = _draw_segments(rng, data)
    scales = segment_to_body_scales(torch.as_tensor(segments), skeleton.body_names)
    with torch.no_grad():
        fk = skeleton(torch.as_tensor(q), scales=scales)
    floor = float(fk.markers[0, feet, 1].min())
    q[:, 4] -= floor
    world = fk.markers[:, n_markers:].numpy() - np.array([0.0, floor, 0.0])
    pelvis_p = fk.body_positions[:, 0].numpy() - np.array([0.0, floor, 0.0])
    keep = slice(None)
    for attempt in range(40):
        # a motion that travels further than a camera sees whole (a run across a field) is kept where
        # it is in front of a camera aimed at one of its frames: its longest such run of frames
        target = pelvis_p.mean(0) if attempt < 20 else pelvis_p[rng.integers(len(pelvis_p))]
        camera = data.cameras.draw(rng, target)[0]
        in_front = camera.to_camera(world)[..., 2].min(-1) > 0.3
        if in_front.all():
            break
        start, length = _longest_run(in_front)
        if attempt >= 20 and length >= min(16, len(in_front)):
            keep = slice(start, start + length)
            break
    else:
        raise ValueRangeError(f"motion {motion.name!r}", expected="frames a camera can see from in front", got="none after 40 cameras")
    q, world, pelvis_p = q[keep], world[keep], pelvis_p[keep]
    pelvis_r = fk.body_rotations[:, 0].numpy()[keep]
    low, high = data.hip_spread  # drawn only from a range: a fixed spread leaves the random stream as it was
    spread = low if low == high else float(rng.uniform(low, high))
    seen = world if spread == 1.0 else spread_hips(world, ks, spread)  # where the detector puts the keypoints
    if data.keypoint_offset > 0:  # its convention: each keypoint displaced by an offset fixed in the pelvis's frame
        seen = seen + np.einsum("tij,kj->tki", pelvis_r, rng.normal(0.0, data.keypoint_offset, (len(ks), 3)))
    pix = project(camera, seen)
    noisy, conf = noise.apply(pix, ks, rng)
    meta = {"source": "kinelift.lifting.render_clip", "motion": motion.name, **dict(zip(IMAGE_SIZE_KEYS, camera.image_size))}
    tracks = Tracks(noisy, keypoints=ks, confidence=conf, fps=m.fps, metadata=meta)
    return RenderedClip(tracks, pix, camera, q, segments, world, pelvis_r, pelvis_p)


def make_clips(
    motions: Sequence[Motion],
    keypoints: str | KeypointSet,
    *,
    clips_per_motion: int | Sequence[int] = 3,
    rng: np.random.Generator,
    data: DataConfig | None = None,
    noise: DetectorNoise | None = None,
    progress: bool = False,
) -> LiftingClips:
    """Render ``clips_per_motion`` clips of every motion (see the module docs)."""
    ks = get_keypoint_set(keypoints) if isinstance(keypoints, str) else keypoints
    counts = [clips_per_motion] * len(motions) if isinstance(clips_per_motion, int) else list(clips_per_motion)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("features", "coordinates", "root_rotation", "up", "segment_scales",
                                                          "root_camera", "clean_2d", "focal_over_size", "root_offset", "field_of_view")}  # fmt: skip
    lengths, names = [], []
    jobs = [m for m, n in zip(motions, counts) for _ in range(n)]
    for motion in tqdm(jobs, desc="rendering clips", disable=not progress, leave=False):
        clip = render_clip(motion, ks, rng=rng, data=data, noise=noise)
        camera, R, n = clip.camera, clip.camera.rotation, len(clip.coordinates)
        feats, root2d, size = normalize_keypoints(clip.tracks.positions, clip.tracks.confidence, ks)
        root_cam = camera.to_camera(clip.pelvis_position)
        root_pix = project(camera, clip.pelvis_position)
        parts["features"].append(feats)
        parts["coordinates"].append(clip.coordinates[:, N_ROOT_COORDINATES:])
        parts["root_rotation"].append(R @ clip.pelvis_rotation)
        parts["up"].append(np.broadcast_to(R @ np.array([0.0, 1.0, 0.0]), (n, 3)))
        parts["segment_scales"].append(np.broadcast_to(clip.segment_scales, (n, len(SEGMENTS))))
        parts["root_camera"].append(root_cam)
        parts["clean_2d"].append((clip.clean - root2d[:, None]) / size)
        parts["focal_over_size"].append(np.full(n, camera.focal / size))
        parts["root_offset"].append((root_pix - root2d) / size)
        parts["field_of_view"].append(np.full(n, 2.0 * np.arctan(max(camera.image_size) / (2.0 * camera.focal))))
        lengths.append(n)
        names.append(motion.name)
    arrays = {k: np.concatenate(v).astype(np.float32) for k, v in parts.items()}
    lengths_a = np.asarray(lengths, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths_a)[:-1]]).astype(np.int64)
    return LiftingClips(ks, **arrays, starts=starts, lengths=lengths_a, motion_names=tuple(names))


def motion_split(data: DataConfig, fps: float) -> tuple[list[Motion], list[Motion]]:
    """The training and test motions of ``data``: procedural ones drawn from ``data.seed`` (every
    ``1 / test_fraction``-th to test), the real files (``test_files`` to test) and the motion
    library's (held-out subjects to test)."""
    rng = np.random.default_rng(data.seed)
    upright = data.upright_knees
    procedural = [procedural_squats(rng, fps=fps, name=f"squats_{i}", upright_knees=upright) for i in range(data.n_squats)]
    procedural += [procedural_standing(rng, fps=fps, name=f"standing_{i}", upright_knees=upright) for i in range(data.n_standing)]
    procedural += [procedural_stepping(rng, fps=fps, name=f"stepping_{i}", upright_knees=upright) for i in range(data.n_stepping)]
    # drawn from their own streams, so that adding them leaves the motions above as they were
    gait_rng, single_rng = np.random.default_rng([data.seed, 1]), np.random.default_rng([data.seed, 2])
    procedural += [procedural_gait(gait_rng, fps=fps, name=f"gait_{i}") for i in range(data.n_gait)]
    procedural += [procedural_single_leg(single_rng, fps=fps, name=f"single_leg_{i}", upright_knees=upright,
                                         straight_free_legs=data.straight_free_legs) for i in range(data.n_single_leg)]
    crouch_rng = np.random.default_rng([data.seed, 3])
    procedural += [procedural_gait(crouch_rng, fps=fps, name=f"crouch_{i}", crouch=True) for i in range(data.n_crouch)]
    every = int(round(1 / data.test_fraction)) if data.test_fraction > 0 else 0
    train = [m for i, m in enumerate(procedural) if not every or i % every != every - 1]
    test = [m for i, m in enumerate(procedural) if every and i % every == every - 1]
    for path, model, *unit in data.files:
        if not (os.path.exists(path) and os.path.exists(model)):
            log.warning("motion file %s (or its model %s) is not there: skipped", path, model)
            continue
        in_degrees = {"degrees": True, "radians": False}[unit[0]] if unit else None
        motion = motion_from_file(path, source_model=model, fps=fps, in_degrees=in_degrees)
        (test if any(t in os.path.basename(path) for t in data.test_files) else train).append(motion)
    if data.library:
        if os.path.isfile(os.path.join(data.library, "index.csv")):
            train += read_motion_library(data.library, split="train", fps=fps)
            test += read_motion_library(data.library, split="test", fps=fps)
        else:
            log.warning("motion library %s is not there (kinelift motion-library builds it): skipped", data.library)
    return train, test


def build_datasets(data: DataConfig, keypoints: str, *, fps: float = 30.0, progress: bool = True) -> tuple[LiftingClips, LiftingClips]:
    """The training and test clips of ``data`` (split by motion; test cameras drawn separately)."""
    train_motions, test_motions = motion_split(data, fps)
    log.info("lifter data: %d training motions, %d test motions", len(train_motions), len(test_motions))

    def counts(motions: list[Motion]) -> list[int]:
        return [data.clips_per_file if m.kind == "file" else data.library_renderings(m.metadata.get("family", "")) if m.kind == "library"
                else data.clips_per_motion for m in motions]  # fmt: skip

    train = make_clips(train_motions, keypoints, clips_per_motion=counts(train_motions), rng=np.random.default_rng(data.seed + 1),
                       data=data, progress=progress)  # fmt: skip
    test = make_clips(test_motions, keypoints, clips_per_motion=[2] * len(test_motions), rng=np.random.default_rng(data.seed + 10_000),
                      data=data, progress=progress)  # fmt: skip
    return train, test


def sample_windows(clips: LiftingClips, *, batch: int, chunk: int, receptive_field: int, causal: bool,
                   rng: np.random.Generator, edge_rate: float = 0.0) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Frame indices of ``batch`` random windows: inputs ``(batch, chunk + rf - 1)`` and outputs
    ``(batch, chunk)``, edges of a clip repeated where a window runs past them.

    A fraction ``edge_rate`` of the windows (on average) is put at the first or the last frames of
    its clip, half each: inference repeats a sequence's edge frames as training does, and a
    window drawn uniformly reaches an edge rarely in a long clip, so the ends of short real
    sequences were the lifter's weakest frames.
    """
    if not 0.0 <= edge_rate <= 1.0:
        raise ValueRangeError("edge_rate", expected="a fraction in [0, 1]", got=edge_rate)
    c = rng.integers(0, clips.n_clips, batch)
    start, length = clips.starts[c], clips.lengths[c]
    first = (rng.random(batch) * np.maximum(length - chunk + 1, 1)).astype(np.int64)
    edge = rng.random(batch) < edge_rate
    at_end = rng.random(batch) < 0.5
    first = np.where(edge, np.where(at_end, np.maximum(length - chunk, 0), 0), first)
    before = receptive_field - 1 if causal else (receptive_field - 1) // 2
    offsets = np.arange(chunk + receptive_field - 1) - before
    local_in = np.clip(first[:, None] + offsets, 0, length[:, None] - 1)
    local_out = np.clip(first[:, None] + np.arange(chunk), 0, length[:, None] - 1)
    return start[:, None] + local_in, start[:, None] + local_out
