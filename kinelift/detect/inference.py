"""From a video (or an image folder) to keypoint tracks: person boxes, batched crops, the detector.

:func:`detect_tracks` reads frames in chunks (:mod:`kinelift.detect.video`), crops every person
of every frame of a step through one batched ``grid_sample`` on the detector's device, runs the
detector (with flip test; bf16 on a GPU) and maps the keypoints back to image pixels. People:

* **given boxes** (``boxes``: COCO detection results, image id = frame index): every box of every
  frame is a crop; boxes are linked across frames by overlap (Hungarian on IoU).
* **found boxes** (default): OpenCV's HOG detector starts tracks (on the first frame, then for
  newcomers every ``redetect_every`` frames, less often while its searches start no one:
  :data:`SEARCH_BACKOFF`; after the first frame only where the frame changed outside the people
  followed and the path they took since the last search, :mod:`kinelift.detect.motion`
  (the path: their boxes at every :data:`PATH_STEP`-th frame followed), and where a track was lost, :data:`LOST_GROWTH`), then each person's box
  follows the previous step's keypoints: the frames of a step of ``follow_step`` frames all use
  the box of the last keypoints before it (the size blended with the old box's,
  :data:`BOX_SIZE_MEMORY`), moved ahead at the velocity the keypoints had over the last step and
  stretched along it to cover the step's frames. A track whose mean confidence falls below
  ``min_confidence`` ends, and so does one whose keypoints collapse (the diagonal of their box
  below :data:`COLLAPSE_RATIO` of its median over the track's last second: the person left the
  crop and the keypoints settled on whatever was left in it), from the first collapsed frame on,
  and so does one that was moving and then stands still without being seen clearly (the person
  left the crop and the keypoints rest on a background that stopped changing,
  :data:`STILL_FRAMES`), its frames on that background dropped.
  A track never seen clearly over its last :data:`UNCLEAR_FRAMES` frames ends too (background
  texture, see :func:`~kinelift.detect.people.peak_confidence`), and no new track starts where it
  started or ended for :data:`REJECTED_MEMORY` frames while that spot looks the same
  (:data:`REJECTED_CHANGE`); of two unclear tracks on one spot the younger ends
  (:data:`DUPLICATE_INSIDE`), so that the older is judged.

Each person becomes one :class:`~kinelift.core.tracks.Tracks` over the whole timeline (NaN where
the person is not tracked), in image pixels with the frames' own times (variable frame rate kept).

Examples
--------
>>> import numpy as np, tempfile, pathlib, cv2
>>> from kinelift.detect.config import DetectorConfig
>>> from kinelift.detect.networks import build_detector
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> for i in range(3):
...     _ = cv2.imwrite(str(folder / f"f{i}.png"), np.zeros((96, 64, 3), np.uint8))
>>> net = build_detector(DetectorConfig(keypoints="LOWER-6", input_size=(64, 64), width=0.25, head_channels=16))
>>> tracks = detect_tracks(folder, detector=net, fps=25.0, boxes={0: [[10, 10, 30, 60]], 1: [[11, 10, 30, 60]]}, progress=False,
...                        min_frames=1, min_track_confidence=0.0, min_peak_confidence=0.0)  # an untrained network: keep its weak, short track
>>> len(tracks), tracks[0].n_frames, int(np.isfinite(tracks[0].positions[:, 0, 0]).sum())
(1, 3, 2)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from kinelift.core import Tracks, get_keypoint_set
from kinelift.core.tracks import IMAGE_SIZE_KEYS
from kinelift.detect.mediapipe_pose import MEDIAPIPE, detect_tracks_mediapipe, mediapipe_boxes, mediapipe_version
from kinelift.detect.motion import box_change, changed_region, thumbnail
from kinelift.detect.networks import fold_batch_norms
from kinelift.detect.people import (
    box_from_keypoints, hog_people, hog_scale, inside_fraction, iou, match_boxes, peak_confidence, people_tracks, read_detection_boxes,
)  # fmt: skip
from kinelift.detect.predict import bfloat16_is_native, predict_keypoints, uses_bfloat16
from kinelift.detect.transforms import apply_affine, crop_frames, crop_matrices, invert_affine, normalize_images
from kinelift.detect.video import frame_count, iter_frames, read_ahead
from kinelift.detect.weights import load_detector
from kinelift.errors import UnknownNameError, ValueRangeError

__all__ = ["detect_tracks", "resolve_detector", "FOLLOW_BOX_GROWTH", "BOX_SIZE_MEMORY", "SEARCH_BACKOFF", "REJECTED_CHANGE", "STILL_FRAMES",
           "STILL_CHANGE", "MOVING_CHANGE", "MOVING_FRAMES", "FOUND_HALF_GAIN", "TRUNK_SEEN"]

log = logging.getLogger(__name__)

FOLLOW_BOX_GROWTH = 1.15
"""Predicted keypoints lie a little inside the true joints (a heatmap's peak regresses towards the
crop centre), so their box is grown by this factor about its centre before it becomes the next crop."""

BOX_SIZE_MEMORY = 0.7
"""A followed box takes its centre from the new keypoints and its size as this blend of the old
size and the new one: a few mislocated or unseen points (low confidence) do not shrink the crop."""


@dataclass
class _Person:
    box: np.ndarray
    frames: list[int] = field(default_factory=list)
    points: list[np.ndarray] = field(default_factory=list)
    scores: list[np.ndarray] = field(default_factory=list)
    active: bool = True
    sizes: list[float] = field(default_factory=list)  # keypoint box diagonals of the followed frames (px)
    start: np.ndarray | None = None  # the box the person finder started it on
    unclear: bool = False  # ended as never seen clearly (background texture)
    changes: list[float] = field(default_factory=list)  # per followed frame: the share of its keypoint box that changed (motion.box_change)


COLLAPSE_RATIO = 0.5
"""A followed person's keypoint box whose diagonal falls below this fraction of its recent median
is no longer the person: a body does not shrink by half between two frames (a deep squat keeps
about three quarters of the standing diagonal); keypoints left behind by a person who walked out
of the image settled on the floor or a wall at a quarter of it."""

_COLLAPSE_MEMORY = 30  # frames of the median the diagonal is compared with

UNCLEAR_FRAMES = 60
"""A followed track whose :func:`~kinelift.detect.people.peak_confidence` over its last this many
frames (two seconds at 30 frames/s) is below ``min_peak_confidence`` ends: it sits on background
texture (or on a person no longer seen clearly), and following it costs as much as following the
subject. Its box, and the box it was started on, are remembered for :data:`REJECTED_MEMORY` frames."""

REJECTED_MEMORY = 300
"""For this many frames after a track ended as unclear, the person finder starts no track on a
box centred in its last box or in the box it was started on, or lying half inside one (a fixed
camera shows the same texture again at every search, in boxes of other sizes, while the followed
keypoints drift off it); the memory is finite because a camera may pan and a person may step
there later, and it lifts sooner where the spot's content changes (:data:`REJECTED_CHANGE`)."""


STILL_CHANGE = 0.02
"""A followed box is still in a frame where less than this share of it changed since the previous
frame (:func:`~kinelift.detect.motion.box_change`)."""

MOVING_CHANGE = 0.1
"""A followed box is moving in a frame where at least this share of it changed."""

STILL_FRAMES = 3
"""A track that was moving (median change over its :data:`MOVING_FRAMES` frames before at least
:data:`MOVING_CHANGE`) and is then still for this many frames without being seen clearly (peak
confidence over them below ``min_peak_confidence``) has lost its person: a fixed camera's
background stops changing at once when the person walks out of the crop, and the keypoints then
rest on it (on the real running video, the fence for the last 14 of 47 frames, with angles
reported; on the walking video, the floor beside the leaving walker for the last 10). The track
ends, its last frames that are not moving or not confident (mean confidence below
``min_track_confidence``) are dropped, and no new track starts on that spot while it looks the
same (:data:`REJECTED_MEMORY`). A person who stands still seen clearly, or who was still from the
start (the starter of the sprint start, seen at 0.31-0.44), is not affected; a moving camera
changes every box and never triggers it."""

MOVING_FRAMES = 15
"""The frames before the still ones whose motion is judged (half a second at 30 frames/s)."""


def _frames_left_behind(person: _Person, *, min_peak_confidence: float, min_track_confidence: float) -> int:
    """How many of ``person``'s last frames rest on the background after the person left (:data:`STILL_FRAMES`); 0: none."""
    changes = np.asarray(person.changes[-(STILL_FRAMES + MOVING_FRAMES):], float)
    if len(changes) <= STILL_FRAMES or not np.all(changes[-STILL_FRAMES:] < STILL_CHANGE):
        return 0
    if peak_confidence(person.scores[-STILL_FRAMES:]) >= min_peak_confidence:
        return 0
    before = changes[:-STILL_FRAMES]
    if not np.isfinite(before).any() or not float(np.nanmedian(before)) >= MOVING_CHANGE:
        return 0
    n = 0
    for change, scores in zip(reversed(person.changes), reversed(person.scores)):
        if change >= MOVING_CHANGE and float(np.mean(scores)) >= min_track_confidence:
            break
        n += 1
    return n


FOLLOWED_MARGIN = 1.2
"""Where the frame changed inside the boxes of the people followed (grown by this factor) is
their own motion: the person finder looks for newcomers only outside them (:mod:`kinelift.detect.motion`)."""

SEARCH_BACKOFF = 4
"""While people are followed, the person finder looks for newcomers every ``redetect_every``
frames; after each search that starts no track the wait doubles, up to this many times
``redetect_every`` (4 s at 30 frames/s with the default 30), and it is ``redetect_every`` again
after a search that starts one or when a followed track ends. While no one is followed it looks
every ``follow_step`` frames, doubling likewise up to ``redetect_every`` frames, and at once when
the last followed track has just ended. A search costs about as much as following one person
for 40 frames (HOG on a 720p frame, 1.1-1.2 s on this project's 2-core CPU), and most searches
find only the people already followed, or nobody: on the real walking video, which begins and ends
without anyone in view, searching at every step while nobody was followed took 30 searches and 70 %
of the detection time (11 searches with the backoff, the same track)."""


class _SearchClock:
    """When the person finder runs next (see :data:`SEARCH_BACKOFF`)."""

    def __init__(self, *, redetect_every: int, follow_step: int) -> None:
        self.base, self.step = redetect_every, follow_step
        self.next = self.last = self.wait = self.followed = 0
        self.reset = True

    def due(self, frame: int, followed: int) -> bool:
        """Whether to search at ``frame``, where ``followed`` tracks are followed."""
        if followed < self.followed:  # a followed track ended (lost, collapsed, unclear, a duplicate): look again soon
            self.next = min(self.next, frame if followed == 0 else self.last + self.base)
            self.reset = True
        self.followed = followed
        return frame >= self.next

    def searched(self, frame: int, *, started: int, followed: int) -> None:
        """A search at ``frame`` started ``started`` tracks; ``followed`` are followed now."""
        floor, ceiling = (self.base, SEARCH_BACKOFF * self.base) if followed else (self.step, self.base)
        self.wait = floor if started or self.reset else min(max(2 * self.wait, floor), ceiling)
        self.next, self.last, self.followed, self.reset = frame + self.wait, frame, followed, False


REJECTED_CHANGE = 0.03
"""A spot rejected as unclear stays rejected only while it looks the same: its box's grey patch
(16 x 32 px, mean removed) differs from the patch at the rejection by less than this mean
absolute difference (a fraction of the grey range). On the real videos the rejected texture of
the fixed lateral-raise camera changed by 0.000-0.003 between searches (a spot that took in the
exerciser's arm 0.04); the sprint start's spots, where sprinters crouch and rise, 0.007-0.16.
Without this, keeping the older of two unclear tracks split the sprint start's longest sprinter
track (236 -> 96 frames): the crouched sprinter's spot stayed closed when she rose."""


def _patch(frame: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The grey content of ``box`` in an RGB ``frame`` (clipped to it), 16 x 32 px, mean removed."""
    import cv2

    h, w = frame.shape[:2]
    x0, y0 = int(np.clip(np.floor(box[0]), 0, w - 1)), int(np.clip(np.floor(box[1]), 0, h - 1))
    x1, y1 = int(np.clip(np.ceil(box[0] + box[2]), x0 + 1, w)), int(np.clip(np.ceil(box[1] + box[3]), y0 + 1, h))
    grey = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    patch = cv2.resize(grey, (16, 32), interpolation=cv2.INTER_AREA)
    return patch - patch.mean()


@dataclass
class _Rejected:
    frame: int
    box: np.ndarray
    patch: np.ndarray

    def holds(self, frame: int, image: np.ndarray) -> bool:
        """Whether the spot is still rejected at ``frame`` (``image``: that frame)."""
        return frame - self.frame < REJECTED_MEMORY and float(np.abs(_patch(image, self.box) - self.patch).mean()) < REJECTED_CHANGE


def _diagonal(points: np.ndarray, scores: np.ndarray, min_confidence: float) -> float:
    box = box_from_keypoints(points, scores, min_confidence=min_confidence)
    return float(np.hypot(box[2], box[3])) if np.isfinite(box).all() else np.nan


def _followed_paths(active: list[_Person], since: int, names: tuple[str, ...], min_confidence: float) -> np.ndarray:
    """Boxes ``(n, 4)`` (px) that cover where the ``active`` people were from frame ``since`` (the
    last search) to now, grown by :data:`FOLLOWED_MARGIN`: their boxes now and, at every
    :data:`PATH_STEP`-th frame followed since, the box their keypoints gave the follower there
    (grown by :data:`FOLLOW_BOX_GROWTH`), so that the background a followed person uncovered by
    walking on is not taken for a newcomer (the frame changed there too)."""
    boxes = [p.box for p in active]
    for person in active:
        for i in [i for i, f in enumerate(person.frames) if f >= since][::PATH_STEP]:
            box = _follow_box(person.points[i], person.scores[i], names, min_confidence)
            if np.isfinite(box).all():
                boxes.append(_scale_boxes(box, FOLLOW_BOX_GROWTH)[0])
    return _scale_boxes(np.array(boxes).reshape(-1, 4), FOLLOWED_MARGIN)


PATH_STEP = 4
"""Every how many followed frames :func:`_followed_paths` takes a person's box (at walking pace, 30
frames/s, a person moves a tenth of their width in four frames)."""


def _scale_boxes(boxes: np.ndarray, factor: float) -> np.ndarray:
    """Boxes scaled by ``factor`` about their centres (below 1 shrinks, above 1 grows)."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    centre = boxes[:, :2] + boxes[:, 2:] / 2
    size = boxes[:, 2:] * factor
    return np.concatenate([centre - size / 2, size], axis=1)


def _blend(old: np.ndarray, new: np.ndarray, memory: float) -> np.ndarray:
    size = memory * old[2:] + (1 - memory) * new[2:]
    centre = new[:2] + new[2:] / 2  # the centre follows at once (people move); only the size has memory
    return np.concatenate([centre - size / 2, size])


def _ahead(box: np.ndarray, first: np.ndarray, last: np.ndarray, n: int) -> np.ndarray:
    """``box`` moved to where the person will be during the next ``n`` frames, at the velocity of
    the keypoint box's centre from ``first`` to ``last`` (the first and last frames of this step),
    and stretched along the motion to cover all of them: a runner crosses a quarter of its box in
    the four frames of a step, and a box that stays behind loses the person."""
    if n < 2 or not (np.isfinite(first).all() and np.isfinite(last).all()):
        return box
    velocity = ((last[:2] + last[2:] / 2) - (first[:2] + first[2:] / 2)) / (n - 1)  # px per frame
    velocity = np.clip(velocity, -box[2:], box[2:])  # a jump of more than a box per frame is a mislocated point, not motion
    centre = box[:2] + box[2:] / 2 + velocity * (n + 1) / 2
    size = box[2:] + np.abs(velocity) * (n - 1)
    return np.concatenate([centre - size / 2, size])


def _follow_box(points: np.ndarray, scores: np.ndarray, names: tuple[str, ...], min_confidence: float) -> np.ndarray:
    box = box_from_keypoints(points, scores, min_confidence=min_confidence)
    if np.isfinite(box).all() and not any(n in names for n in ("head_top", "nose", "neck", "right_shoulder")):
        box = box + np.array([0.0, -box[3], 0.0, box[3]])  # a legs-only set: the upper body is about as tall as the legs
    return box


FOUND_HALF_GAIN = 0.05
"""A person finder's box often holds only a tall person's upper half (HOG's window on a broadcast
frame's footballer ended at the thighs, and the crops that followed cut the legs off for 20 frames,
the network squeezing the whole skeleton into them). So where a track's first frame shows the
shoulders (:data:`TRUNK_SEEN`), it is also read in the box twice as tall (the same top, within the
image), and the track starts there where the network finds the ankles below the first box and is
this much more confident (mean keypoint confidence)."""

TRUNK_SEEN = 0.3
"""The shoulders' confidence above which a person finder's box holds a person's upper half (see :data:`FOUND_HALF_GAIN`)."""


def _lower_half_added(box: np.ndarray, height: int) -> np.ndarray:
    """``box`` with the same top and twice the height, its bottom within an image ``height`` px tall."""
    return np.array([box[0], box[1], box[2], min(2.0 * box[3], height - box[1])])


FLIP_BELOW = 0.8
""":func:`detect_tracks` (``flip_below``) reads a followed person's crops without the flip test
while every frame of their last :data:`FLIP_MEMORY` frames had a mean keypoint confidence above
this. The flip test steadies the points (on the real lateral raise, confidence 0.93, the frames'
second difference of the keypoints is 0.0034 of the torso with it and 0.0047 without) and keeps
the side views' legs apart, but it runs the network twice. Only the standing, frontal lateral
raise of the real videos is seen this clearly: its crops after the first frames are read once
(``detect_tracks`` 12.2-15.0 -> 9.8-10.5 s over two runs each; the points move by a median of
0.016 of the torso, at most 0.08; the largest lifted knee or hip flexion 4.0 -> 3.6 deg); the
other four videos stay below it and keep the flip test (their tracks the same to the frame). On
the labelled LSP im0801-im1000, the 31 of 200 people the network reads this confidently without
the flip test score the same lower-body PCK@0.2 with and without it (0.941 over their visible
joints), those at 0.6-0.8 0.847 -> 0.853 with it, those below 0.6 0.597 -> 0.625. Where
every crop was read once first and the flip test run only on the less confident ones (below 0.6),
the walker's double-counted knees rose from 11 to 21 % of the frames and the sprinter's track split."""

FLIP_MEMORY = 4  # the frames followed (one step) whose confidence decides the flip test


def _needs_flip(person: _Person, flip_below: float) -> bool:
    """Whether ``person``'s next crops get the flip test (see :data:`FLIP_BELOW`)."""
    recent = person.scores[-FLIP_MEMORY:]
    return len(recent) < FLIP_MEMORY or float(np.min(np.mean(recent, axis=1))) <= flip_below


class _Runner:
    def __init__(self, detector: nn.Module, *, batch_size: int, flip: bool, precision: str) -> None:
        self.detector, self.batch_size, self.flip, self.precision = detector, batch_size, flip, precision
        self.device = next(detector.parameters()).device
        self.size = tuple(detector.config.input_size)

    def __call__(self, frames: torch.Tensor, frame_index: np.ndarray, boxes: np.ndarray,
                 mirrored: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Keypoints (n, K, 2) in image px and scores (n, K) for crops ``boxes`` of ``frames[frame_index]``;
        with the flip test, only on the crops ``mirrored`` marks (n,) where given."""
        if len(boxes) == 0:
            k = self.detector.n_keypoints
            return np.zeros((0, k, 2)), np.zeros((0, k))
        matrices = crop_matrices(boxes, self.size)
        points, scores = [], []
        for start in range(0, len(boxes), self.batch_size):
            stop = min(start + self.batch_size, len(boxes))
            crops = crop_frames(frames, frame_index[start:stop], matrices[start:stop], self.size)
            sl = slice(start, stop)
            flip = self.flip if mirrored is None or not self.flip else torch.from_numpy(np.asarray(mirrored[sl], bool))
            xy, score = predict_keypoints(self.detector, normalize_images(crops).contiguous(memory_format=torch.channels_last), flip=flip,
                                          precision=self.precision)  # fmt: skip
            points.append(apply_affine(xy.double().cpu().numpy(), invert_affine(matrices[sl])))
            scores.append(score.double().cpu().numpy())
        return np.concatenate(points), np.concatenate(scores)


def _resolve(detector: nn.Module | str | os.PathLike[str], device: str | torch.device) -> nn.Module:
    """The detector on ``device``, in eval mode, its batch norms folded into the convolutions
    (:func:`~kinelift.detect.networks.fold_batch_norms`: the same heatmaps to about 1e-6, the
    network about 14 % faster), with channels-last weights (a quarter faster on this project's CPU, and what
    GPUs' convolutions prefer); a caller's module is copied, so that it stays where and as it was."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(detector, nn.Module):
        detector = load_detector(detector, device=device)
    return fold_batch_norms(detector).to(device).to(memory_format=torch.channels_last)


def detect_tracks(source: str | os.PathLike[str], *, detector: nn.Module | str | os.PathLike[str] = "LSP-14",
                  boxes: Mapping[int, np.ndarray] | str | os.PathLike[str] | None = None, fps: float | None = None,
                  device: str | torch.device = "auto", batch_size: int = 64, chunk: int = 32, follow_step: int = 4,
                  redetect_every: int = 30, max_people: int = 4, min_confidence: float = 0.15, flip: bool = True,
                  progress: bool = True, flip_test: bool | None = None, min_frames: int = 10,
                  min_track_confidence: float = 0.3, min_peak_confidence: float = 0.45, precision: str = "auto",
                  max_fps: float | None = None, flip_below: float = FLIP_BELOW) -> list[Tracks]:  # fmt: skip
    """Keypoint tracks of the people in a video or image folder (see the module docs).

    Parameters
    ----------
    source : path
        A video file (any format FFmpeg reads) or a folder of images (then ``fps`` is required).
    detector : module, shipped name, weights path, "mediapipe" or "auto"; default "LSP-14"
        The heatmap detector; its keypoint set is the tracks' set. ``"mediapipe"``: MediaPipe's
        BlazePose (:mod:`kinelift.detect.mediapipe_pose`, an optional install; ``MEDIAPIPE-33``
        tracks; ``boxes``, ``device`` and the box-following options do not apply). ``"auto"``:
        ``"mediapipe"`` when it is installed, else ``"LSP-14"`` (:func:`resolve_detector`).
    boxes : mapping frame index -> (n, 4) boxes, a COCO detection results JSON, or "mediapipe"; optional
        Person boxes ``(x, y, width, height)`` px; ``"mediapipe"``: BlazePose's box of the person
        it follows in each frame (:func:`~kinelift.detect.mediapipe_pose.mediapipe_boxes`, the
        optional install; with ``detector="auto"`` the detector is then ``"LSP-14"``); without
        boxes HOG finds people.
    follow_step, redetect_every, max_people, min_confidence
        Box following (see the module docs).
    min_frames, min_track_confidence, min_peak_confidence
        Tracks seen in fewer frames, whose mean keypoint confidence over their frames is lower, or
        never seen clearly (:func:`~kinelift.detect.people.peak_confidence` below
        ``min_peak_confidence``; heatmap detectors only) are dropped (counted in the log):
        short-lived ones, and ones on background texture (on the real videos: peaks of 0.18-0.42
        on kettlebells, a foam roller, a fence and a running track; the people 0.51-0.96, but a
        sprinter crouched in the blocks 0.33).
    flip : bool, default True
        Also run the mirrored crops and average (test-time augmentation; ``lift`` uses the same word).
    flip_below : float, default :data:`FLIP_BELOW` (0.8)
        With ``flip``, a followed person whose last frames all had a mean keypoint confidence above
        this is read without the mirrored crops (once instead of twice) until one falls to it;
        1.0: the flip test on every crop. New tracks and boxes given always get it.
    flip_test : bool, optional
        Deprecated name of ``flip``.
    precision : {"auto", "float32", "bfloat16"}, default "auto"
        The network's arithmetic (:func:`~kinelift.detect.predict.predict_heatmaps`): ``"auto"``
        runs bfloat16 on a GPU and float32 on a CPU; ``"bfloat16"`` on a CPU that computes it
        natively (AVX512-BF16 or AMX) runs the network about twice as fast with the same PCK on
        labelled images, but the tracks differ a little from float32's (docs/detect.md). Saved in
        the tracks' metadata (``detector_precision``).
    max_fps : float, optional
        Read a faster video thinned to at most about this many frames per second
        (:func:`~kinelift.detect.video.iter_frames`: a 60 frames/s phone video at ``max_fps=30``
        gives every second frame, in half the time); the tracks' times are those of the frames
        read. Not with boxes from a file (indexed by the video's frames); ``None`` (default): every frame.

    Returns
    -------
    list of Tracks
        One per person, ordered by the frame they first appear in; ``units="px"``,
        ``coordinate_frame="image"``; confidences are the heatmap peaks; the frames' size in the
        metadata (``Tracks.image_size``).
    """
    if min_frames < 1 or not 0.0 <= min_track_confidence < 1.0 or not 0.0 <= min_peak_confidence < 1.0:
        raise ValueRangeError("min_frames/min_track_confidence/min_peak_confidence",
                              expected="min_frames >= 1, min_track_confidence and min_peak_confidence in [0, 1)",
                              got=(min_frames, min_track_confidence, min_peak_confidence))  # fmt: skip
    if not 0.0 <= flip_below <= 1.0:
        raise ValueRangeError("flip_below", expected="a mean keypoint confidence in [0, 1] (1: the flip test on every crop)", got=flip_below)
    if follow_step < 1 or redetect_every < 1 or max_people < 1 or batch_size < 1:
        raise ValueRangeError("follow_step/redetect_every/max_people/batch_size", expected="each >= 1",
                              got=(follow_step, redetect_every, max_people, batch_size))  # fmt: skip
    from kinelift._deprecation import renamed_argument

    flip = renamed_argument("detect_tracks", "flip_test", "flip", flip_test, flip, default=True)
    if max_fps is not None and boxes is not None and not (isinstance(boxes, str) and boxes == MEDIAPIPE):
        raise ValueRangeError("max_fps", expected="None with person boxes given for the video's frames (they are indexed by every frame)",
                              got=max_fps)  # fmt: skip
    if isinstance(detector, str) and detector == "auto" and isinstance(boxes, str) and boxes == MEDIAPIPE:
        detector = "LSP-14"  # MediaPipe's boxes are crops for a heatmap detector
    if isinstance(detector, str) and detector in ("auto", MEDIAPIPE):
        detector = resolve_detector(detector)
    if detector == MEDIAPIPE:
        if boxes is not None:
            raise ValueRangeError("boxes", expected="no boxes with the mediapipe detector (BlazePose finds its person itself)", got=boxes)
        return detect_tracks_mediapipe(source, fps=fps, chunk=chunk, min_frames=min_frames, min_track_confidence=min_track_confidence,
                                       progress=progress, max_fps=max_fps)  # fmt: skip
    net = _resolve(detector, device)
    net_device = next(net.parameters()).device
    used = "bfloat16" if uses_bfloat16(precision, net_device) else "float32"  # resolved once, for every batch and the metadata
    if used == "bfloat16" and not bfloat16_is_native(net_device):
        log.warning("bfloat16 on a CPU without native bfloat16 (AVX512-BF16 or AMX) is emulated, slower than float32")
    run = _Runner(net, batch_size=batch_size, flip=flip, precision=used)
    names = get_keypoint_set(net.config.keypoints).names
    if isinstance(boxes, str) and boxes == MEDIAPIPE:
        given = mediapipe_boxes(source, fps=fps, chunk=chunk, progress=progress, max_fps=max_fps)  # indexed by the frames read
    else:
        given = read_detection_boxes(boxes) if isinstance(boxes, (str, os.PathLike)) else boxes
    people: list[_Person] = []
    rejected: list[_Rejected] = []  # where unclear tracks ended
    all_times: list[np.ndarray] = []
    search = _SearchClock(redetect_every=redetect_every, follow_step=follow_step)
    last_seen: np.ndarray | None = None  # the thumbnail of the frame of the last search
    previous: np.ndarray | None = None  # the thumbnail of the frame before this step, while people are followed
    last_search = 0
    searches = {"full": 0, "changed": 0, "skipped": 0}
    index = 0
    chunks = read_ahead(iter_frames(source, fps=fps, chunk=chunk, max_fps=max_fps), depth=1)  # decoding the next chunk overlaps detection
    bar = tqdm(total=frame_count(source, fps=fps, max_fps=max_fps), desc="detecting keypoints", unit="frame", disable=not progress)
    for frames_np, times in chunks:
        frames = torch.from_numpy(frames_np).to(run.device)
        all_times.append(times)
        if given is not None:
            _given_step(run, frames, index, given, people)
        else:
            for start in range(0, len(frames_np), follow_step):
                stop = min(start + follow_step, len(frames_np))
                active = [p for p in people if p.active]
                now = None  # this step's first frame's thumbnail, where a search made it
                if search.due(index + start, len(active)):
                    rejected = [r for r in rejected if r.holds(index + start, frames_np[start])]
                    now = thumbnail(frames_np[start])
                    full = last_seen is None or last_seen.shape != now.shape
                    region = None if full else _search_region(
                        changed_region(last_seen, now, exclude=_followed_paths(active, last_search, names, min_confidence)),
                        [p.box for p in people if not p.active and not p.unclear and p.frames and p.frames[-1] >= last_search],
                        frames_np.shape[1:3])  # fmt: skip
                    last_seen, last_search = now, index + start
                    if not full and region is None:
                        searches["skipped"] += 1
                        started = 0
                    else:
                        searches["full" if region is None else "changed"] += 1
                        started = _start_people(frames_np[start], people, max_people, np.array([r.box for r in rejected]).reshape(-1, 4),
                                                region=region, min_peak_confidence=min_peak_confidence)  # fmt: skip
                    active = [p for p in people if p.active]
                    search.searched(index + start, started=started, followed=len(active))
                thumbnails: list[np.ndarray | None] = [previous]
                if active:
                    thumbnails += [now if f == start and now is not None else thumbnail(frames_np[f]) for f in range(start, stop)]
                previous = thumbnails[-1] if active else None
                _follow_step(run, frames, index, start, stop, active, names, min_confidence, min_peak_confidence, thumbnails,
                             flip_below=flip_below)  # fmt: skip
                for person in active:
                    left = _frames_left_behind(person, min_peak_confidence=min_peak_confidence, min_track_confidence=min_track_confidence)
                    if left:  # also where this step's low confidence has just ended the track
                        log.info("person followed from frame %d left the crop: its keypoints rest on a background that stopped changing; "
                                 "frames %d-%d dropped, track ended", person.frames[0], person.frames[-left], person.frames[-1])  # fmt: skip
                        for kept in (person.frames, person.points, person.scores, person.sizes, person.changes):
                            del kept[-left:]
                        person.active = False
                        rejected.append(_Rejected(index + stop, person.box, _patch(frames_np[stop - 1], person.box)))
                        continue
                    if not person.active or len(person.scores) < UNCLEAR_FRAMES:
                        continue
                    peak = peak_confidence(person.scores[-UNCLEAR_FRAMES:])
                    if peak < min_peak_confidence:
                        log.info("person followed from frame %d not seen clearly over frames %d-%d (peak confidence %.2f): track ended",
                                 person.frames[0], person.frames[-UNCLEAR_FRAMES], person.frames[-1], peak)  # fmt: skip
                        person.active, person.unclear = False, True
                        spots = [box for box in (person.box, person.start) if box is not None]  # where it ended and where it began
                        rejected.extend(_Rejected(index + stop, box, _patch(frames_np[stop - 1], box)) for box in spots)
        index += len(frames_np)
        bar.update(len(frames_np))
    bar.close()
    if given is None:
        log.info("person finder: %d full-frame searches, %d where the frame changed, %d skipped (nothing changed outside the followed people)",
                 searches["full"], searches["changed"], searches["skipped"])  # fmt: skip
    time = np.concatenate(all_times) if all_times else np.zeros(0)
    size = {} if not all_times else {IMAGE_SIZE_KEYS[0]: int(frames_np.shape[2]), IMAGE_SIZE_KEYS[1]: int(frames_np.shape[1])}
    thinned = {} if max_fps is None else {"detection_max_fps": float(max_fps)}
    return _to_tracks(people, time, net.config.keypoints, min_frames, min_track_confidence,
                      {**size, "detector_precision": used, **thinned},
                      min_peak_confidence)  # fmt: skip


def resolve_detector(name: str) -> str:
    """The detector a name selects: ``"auto"`` is ``"mediapipe"`` when mediapipe is installed, else
    the shipped ``"LSP-14"``; ``"mediapipe"`` without mediapipe is refused by name; any other name
    is itself."""
    if name == "auto":
        return MEDIAPIPE if mediapipe_version() is not None else "LSP-14"
    if name == MEDIAPIPE and mediapipe_version() is None:
        raise UnknownNameError("detector (mediapipe is not installed: pip install mediapipe)", name, known=("auto", "LSP-14", "LOWER-6"))
    return name


def _start_people(frame: np.ndarray, people: list[_Person], max_people: int, rejected: np.ndarray, *, region: np.ndarray | None = None,
                  min_peak_confidence: float = 0.0) -> int:  # fmt: skip
    """Start a track on each person HOG finds in ``frame`` (in its ``region`` box only, when
    given) who is not followed yet nor where a track ended as unclear (``rejected`` boxes); the
    number started. A followed track whose box lies inside a found box and that was not seen
    clearly over its last frames (peak below ``min_peak_confidence``) does not count as
    following that person: the new track starts, and the duplicate rule
    (:data:`DUPLICATE_INSIDE`) ends the old one."""
    found = _hog_in(frame, region)
    started = 0
    # HOG boxes are used as found: OpenCV's windows are sometimes tighter, sometimes looser than the person
    tracked = np.array([p.box for p in people if p.active]).reshape(-1, 4)
    # a followed track not seen clearly yet (it began on texture, or on a part of a person) does not hide a person around it
    clear = np.array([peak_confidence(p.scores[-UNCLEAR_FRAMES:]) >= min_peak_confidence for p in people if p.active], dtype=bool)
    for box in found:
        if sum(p.active for p in people) >= max_people:
            break
        centre = box[:2] + box[2:] / 2
        if len(rejected) and ((np.abs(centre - (rejected[:, :2] + rejected[:, 2:] / 2)) < rejected[:, 2:] / 2).all(axis=1).any()
                              or inside_fraction(box[None], rejected).max() >= 0.5):  # fmt: skip
            continue  # where a track ended as background texture a moment ago
        # a box mostly inside a tracked person's (HOG fires on a raised arm) is that person, not a newcomer
        around = len(tracked) > 0 and bool(((inside_fraction(tracked, box[None])[:, 0] >= DUPLICATE_INSIDE) & ~clear).any())
        if len(tracked) == 0 or around or (iou(box[None], tracked).max() < 0.3 and inside_fraction(box[None], tracked).max() < 0.5):
            people.append(_Person(box=box, start=box))
            tracked, clear = np.vstack([tracked, box]), np.append(clear, True)
            started += 1
    log.debug("HOG found %d people, started %d, tracking %d", len(found), started, sum(p.active for p in people))
    return started


HOG_GRID = 32
"""A searched region's corner lies on this grid (px), so that its HOG windows at the finest scale
lie where the whole frame's search puts them (window stride 4 px; in a 4K frame, searched at half
size, 16 px, and its pixels averaged in the same 2x2 blocks; other downscaled sizes, up to a
fraction of a window step)."""

LOST_GROWTH = 2.0
"""Where a followed track ended since the last search (lost: its confidence fell, or its keypoints
collapsed), the person finder also looks in its last box grown by this factor: a person who
stands still there changes nothing in the frame."""


def _search_region(changed: np.ndarray | None, lost: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray | None:
    """The box (frame px) around the ``changed`` region and the ``lost`` tracks' last boxes grown by
    :data:`LOST_GROWTH`, clipped to the frame (``shape``: its height and width); ``None`` when both are empty."""
    boxes = [b for b in (changed, *(_scale_boxes(b, LOST_GROWTH)[0] for b in lost)) if b is not None and np.isfinite(b).all()]
    if not boxes:
        return None
    union = box_from_keypoints(np.concatenate([[b[:2], b[:2] + b[2:]] for b in boxes]))  # the tight box of every corner
    size = np.array([shape[1], shape[0]], float)
    lo, hi = np.clip(union[:2], 0, size), np.clip(union[:2] + union[2:], 0, size)
    return np.concatenate([lo, hi - lo]) if (hi > lo).all() else None


def _hog_in(frame: np.ndarray, region: np.ndarray | None) -> np.ndarray:
    """HOG's people boxes (frame px) in ``frame``, or in its ``region`` searched at the scale of
    the whole frame's search (so that the smallest person found is the same)."""
    if region is None:
        return hog_people(frame)[0]
    grid = HOG_GRID
    x0, y0 = (int(v) // grid * grid for v in np.floor(region[:2]))
    x1, y1 = (min(-(-int(v) // grid) * grid, limit) for v, limit in zip(np.ceil(region[:2] + region[2:]), frame.shape[1::-1]))
    part = np.ascontiguousarray(frame[y0:y1, x0:x1])
    found, _ = hog_people(part, factor=hog_scale(frame.shape[1], frame.shape[0]))
    return found + np.array([x0, y0, 0, 0], float)


def _start_whole(run: _Runner, frames: torch.Tensor, frame: int, new: list[_Person], names: tuple[str, ...], offset: int) -> None:
    """Start the ``new`` tracks (not followed yet) in the box twice as tall where their person
    finder's box holds only the upper half (:data:`FOUND_HALF_GAIN`), read at the chunk's ``frame``."""
    shoulders = [names.index(n) for n in ("right_shoulder", "left_shoulder") if n in names]
    feet = [names.index(n) for n in ("right_ankle", "left_ankle") if n in names]
    if not new or len(shoulders) < 2 or len(feet) < 2:
        return
    found = np.stack([p.box for p in new])
    taller = np.stack([_lower_half_added(b, int(frames.shape[1])) for b in found])
    points, scores = run(frames, np.full(2 * len(new), frame), np.concatenate([found, taller]))
    for person, box, short, tall, soles in zip(new, taller, scores[: len(new)], scores[len(new) :], points[len(new) :, feet, 1]):
        below = bool((soles > person.box[1] + person.box[3]).all())
        if below and (short[shoulders] > TRUNK_SEEN).all() and tall.mean() > short.mean() + FOUND_HALF_GAIN:
            log.debug("person found at frame %d: followed in a box twice as tall (confidence %.2f against %.2f)",
                      offset + frame, tall.mean(), short.mean())  # fmt: skip
            person.box = box


def _follow_step(run: _Runner, frames: torch.Tensor, offset: int, start: int, stop: int, active: list[_Person],
                 names: tuple[str, ...], min_confidence: float, min_peak_confidence: float = 0.0,
                 thumbnails: list[np.ndarray | None] | None = None, flip_below: float = 1.0) -> None:  # fmt: skip
    """Follow the ``active`` people over frames ``start:stop`` of the chunk; ``thumbnails``: those
    frames' (:func:`~kinelift.detect.motion.thumbnail`), the one before ``start`` first (None where unknown)."""
    if not active:
        return
    _start_whole(run, frames, start, [p for p in active if not p.frames and p.start is not None], names, offset)
    thumbnails = thumbnails or [None] * (stop - start + 1)
    local = np.repeat(np.arange(start, stop), len(active))
    boxes = np.tile(np.stack([p.box for p in active]), (stop - start, 1))
    points, scores = run(frames, local, boxes, np.tile([_needs_flip(p, flip_below) for p in active], stop - start))
    points = points.reshape(stop - start, len(active), *points.shape[1:])
    scores = scores.reshape(stop - start, len(active), -1)
    _drop_duplicates(active, scores[-1], min_peak_confidence)
    for j, person in enumerate(active):
        if not person.active:
            continue
        for f in range(stop - start):
            size = _diagonal(points[f, j], scores[f, j], min_confidence)
            recent = [v for v in person.sizes[-_COLLAPSE_MEMORY:] if np.isfinite(v)]
            if len(recent) >= 5 and size < COLLAPSE_RATIO * float(np.median(recent)):
                log.info("person followed from frame %d: keypoints collapsed at frame %d (box diagonal %.0f px, recent median %.0f): "
                         "track ended", person.frames[0], offset + start + f, size, float(np.median(recent)))  # fmt: skip
                person.active = False
                break
            person.frames.append(offset + start + f)
            person.points.append(points[f, j])
            person.scores.append(scores[f, j])
            person.sizes.append(size)
            before, after = thumbnails[f], thumbnails[f + 1]
            person.changes.append(np.nan if before is None or after is None else box_change(before, after, box_from_keypoints(points[f, j])))
        if not person.active:
            continue
        if scores[-1, j].mean() < min_confidence:
            log.info("person followed from frame %d: mean keypoint confidence %.2f at frame %d, below %.2f: track ended",
                     person.frames[0], float(scores[-1, j].mean()), offset + stop - 1, min_confidence)  # fmt: skip
            person.active = False
            continue
        box = _follow_box(points[-1, j], scores[-1, j], names, min_confidence)
        if np.isfinite(box).all():
            person.box = _ahead(_blend(person.box, _scale_boxes(box, FOLLOW_BOX_GROWTH)[0], BOX_SIZE_MEMORY),
                                _follow_box(points[0, j], scores[0, j], names, min_confidence), box, stop - start)  # fmt: skip


DUPLICATE_INSIDE = 0.7
"""A followed box lying this much inside another followed box sits on that person (a track started
on a raised arm, or two tracks converged): the smaller one ends; of two such boxes of about one
size, the less confident. Of two tracks never seen clearly (background texture, where HOG starts
a new track at each search while the old one drifts), the younger ends, so that the older is
followed long enough to be judged (:data:`UNCLEAR_FRAMES`) instead of being replaced."""


def _drop_duplicates(active: list[_Person], scores: np.ndarray, min_peak_confidence: float = 0.0) -> None:
    """End followed tracks that sit on another followed person (``scores``: ``(people, K)``, this step's last frame)."""
    boxes = np.stack([p.box for p in active])
    inside = inside_fraction(boxes, boxes)
    mean = scores.mean(axis=1)
    unclear = [peak_confidence([*p.scores[-UNCLEAR_FRAMES:], s]) < min_peak_confidence for p, s in zip(active, scores)]
    first = [p.frames[0] if p.frames else np.inf for p in active]  # a track started at this step has no frame yet
    for a in range(len(active)):
        for b in range(len(active)):
            if a == b or not (active[a].active and active[b].active) or inside[a, b] < DUPLICATE_INSIDE:
                continue
            if inside[b, a] < DUPLICATE_INSIDE or mean[a] <= mean[b]:
                end, keep = (b, a) if unclear[a] and unclear[b] and first[a] < first[b] else (a, b)
                log.info("person followed from frame %s sits on the person followed from frame %s: track ended",
                         first[end] if first[end] < np.inf else "now", first[keep] if first[keep] < np.inf else "now")  # fmt: skip
                active[end].active = False


def _given_step(run: _Runner, frames: torch.Tensor, offset: int, given: Mapping[int, np.ndarray], people: list[_Person]) -> None:
    per_frame = [np.asarray(given.get(offset + f, np.zeros((0, 4))), float).reshape(-1, 4) for f in range(len(frames))]
    local = np.concatenate([np.full(len(b), f) for f, b in enumerate(per_frame)]).astype(int)
    points, scores = run(frames, local, np.concatenate(per_frame))
    start = 0
    for f, boxes in enumerate(per_frame):
        pts, sc = points[start:start + len(boxes)], scores[start:start + len(boxes)]
        start += len(boxes)
        recent = [p for p in people if p.frames and p.frames[-1] >= offset + f - 5]
        pairs = dict((j, i) for i, j in match_boxes(np.array([p.box for p in recent]).reshape(-1, 4), boxes))
        for j, box in enumerate(boxes):
            person = recent[pairs[j]] if j in pairs else None
            if person is None:
                person = _Person(box=box)
                people.append(person)
            person.box = box
            person.frames.append(offset + f)
            person.points.append(pts[j])
            person.scores.append(sc[j])


def _to_tracks(people: list[_Person], time: np.ndarray, keypoints: str, min_frames: int = 1, min_track_confidence: float = 0.0,
               metadata: Mapping[str, int | str] | None = None, min_peak_confidence: float = 0.0) -> list[Tracks]:  # fmt: skip
    seen = [(np.asarray(p.frames), np.stack(p.points), np.stack(p.scores)) for p in people if p.frames]
    return people_tracks(seen, time, keypoints, min_frames=min_frames, min_track_confidence=min_track_confidence,
                         min_peak_confidence=min_peak_confidence, metadata={"source": "kinelift.detect", **(metadata or {})})  # fmt: skip
