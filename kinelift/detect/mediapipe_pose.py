"""Keypoint tracks from MediaPipe's BlazePose: an optional detector backend (``pip install mediapipe``).

The ``mediapipe`` wheel (Apache-2.0; 0.10.14 tested) bundles BlazePose's person detector and its
33-landmark pose model (``mp.solutions.pose``), so it runs offline. BlazePose finds one person,
then follows that person from frame to frame by its own landmarks (re-detecting when it loses
them). Its 33 landmarks are the ``MEDIAPIPE-33`` keypoint set; the lifters take them through the
keypoint-set conversions (:meth:`kinelift.core.tracks.Tracks.to_keypoint_set`: COCO-17 and LOWER-6
are subsets). Model card: Bazarevsky et al. (2020), "BlazePose: On-device Real-time Body Pose
tracking", arXiv:2006.10204; MediaPipe's "Pose" model card (trained on in-house images of people
doing fitness, yoga and dance; one person per image; quoted PCK@0.2 97 % for the full model).

Conventions: positions in image pixels (MediaPipe's normalised ``x``, ``y`` times the frame's
width and height; origin at the top-left corner, y down), confidence = MediaPipe's per-landmark
``visibility`` (0-1). A frame where BlazePose finds nobody is NaN. When BlazePose re-finds a
person after losing one and the new box does not overlap the last one (IoU below
:data:`SAME_PERSON_IOU`), a new track starts: it may be someone else, and the main job then
chooses between the tracks (:func:`kinelift.pipeline.run.subject_score`).

Examples
--------
>>> import numpy as np
>>> points = np.full((3, 33, 2), np.nan); points[:2] = 0.5
>>> visibility = np.zeros((3, 33)); visibility[:2] = 0.9
>>> tracks = landmarks_to_tracks(points, visibility, np.array([0.0, 0.04, 0.08]), width=640, height=480, min_frames=1)
>>> len(tracks), tracks[0].keypoint_set.name, tracks[0].positions[0, 0].tolist()
(1, 'MEDIAPIPE-33', [320.0, 240.0])
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from kinelift.core import Tracks
from kinelift.core.tracks import IMAGE_SIZE_KEYS
from kinelift.detect.people import box_from_keypoints, iou, people_tracks
from kinelift.detect.video import frame_count, iter_frames
from kinelift.errors import ShapeError, UnknownNameError, ValueRangeError

__all__ = ["BOX_GROWTH", "MEDIAPIPE", "SAME_PERSON_IOU", "detect_tracks_mediapipe", "landmarks_to_tracks", "mediapipe_boxes",
           "mediapipe_version", "world_landmarks_mediapipe"]

log = logging.getLogger(__name__)

MEDIAPIPE = "mediapipe"
"""The detector name that selects this backend (``detect_tracks(detector="mediapipe")``, ``kinelift run --detector mediapipe``)."""

SAME_PERSON_IOU = 0.2
"""After a frame without a person, a person found again counts as the one before when their boxes
overlap at least this much (IoU); else a new track starts."""

_N_LANDMARKS = 33


def mediapipe_version() -> str | None:
    """The installed mediapipe's version, or None when it is not installed (or does not import:
    a broken install, e.g. a protobuf it does not work with, is logged and treated as absent)."""
    try:
        import mediapipe
    except ImportError:
        return None
    except Exception as exc:  # noqa: BLE001 - any failure of a third-party import means: not usable
        log.warning("mediapipe is installed but does not import (%s: %s): not used", type(exc).__name__, exc)
        return None
    return str(getattr(mediapipe, "__version__", "unknown"))


def _pose_solution() -> Any:
    try:
        import mediapipe as mp
    except ImportError:
        raise UnknownNameError("detector (mediapipe is not installed: pip install mediapipe)", MEDIAPIPE,
                               known=("LSP-14", "LOWER-6", "a weights file")) from None  # fmt: skip
    return mp.solutions.pose


def landmarks_to_tracks(points: np.ndarray, visibility: np.ndarray, time: np.ndarray, *, width: int, height: int,
                        min_frames: int = 10, min_track_confidence: float = 0.3) -> list[Tracks]:  # fmt: skip
    """Tracks from BlazePose's per-frame landmarks.

    Parameters
    ----------
    points : ndarray, shape (frames, 33, 2)
        Normalised image coordinates (x / width, y / height), NaN in frames without a person.
    visibility : ndarray, shape (frames, 33)
        MediaPipe's landmark visibility (0-1), the tracks' confidence.
    time : ndarray, shape (frames,)
        Frame times (s).
    width, height : int
        The frames' size (px).
    min_frames, min_track_confidence
        Tracks seen in fewer frames, or less confident on average, are dropped (as in
        :func:`~kinelift.detect.inference.detect_tracks`).

    Returns
    -------
    list of Tracks
        ``MEDIAPIPE-33``, ``units="px"``, ``coordinate_frame="image"``, the frame size in the
        metadata (``Tracks.image_size``), one per continuous person
        (see the module docs), each over the whole timeline (NaN elsewhere).
    """
    points, visibility, time = np.asarray(points, np.float64), np.asarray(visibility, np.float64), np.asarray(time, np.float64)
    T = len(time)
    if points.shape != (T, _N_LANDMARKS, 2) or visibility.shape != (T, _N_LANDMARKS):
        raise ShapeError("points/visibility", expected=f"({T}, 33, 2) and ({T}, 33) for {T} frames", got=(points.shape, visibility.shape))
    if width < 1 or height < 1:
        raise ValueRangeError("width/height", expected="the frame size in pixels", got=(width, height))
    px = points * np.array([width, height], np.float64)
    seen = np.isfinite(px).all(axis=(1, 2))
    segments: list[list[int]] = []
    last_box = None
    for f in range(T):
        if not seen[f]:
            continue
        box = box_from_keypoints(px[f])
        continues = segments and segments[-1][-1] == f - 1
        same = last_box is not None and np.isfinite(box).all() and iou(box[None], last_box[None])[0, 0] >= SAME_PERSON_IOU
        if continues or same:
            segments[-1].append(f)
        else:
            segments.append([f])
        last_box = box if np.isfinite(box).all() else last_box
    people = [(np.asarray(frames), px[frames], visibility[frames]) for frames in segments]
    return people_tracks(people, time, "MEDIAPIPE-33", min_frames=min_frames, min_track_confidence=min_track_confidence,
                         metadata={"source": "mediapipe", IMAGE_SIZE_KEYS[0]: int(width), IMAGE_SIZE_KEYS[1]: int(height)})  # fmt: skip


@dataclass(frozen=True)
class _BlazePoseRun:
    points: np.ndarray  # (frames, 33, 2) normalised image coordinates, NaN without a person
    visibility: np.ndarray  # (frames, 33)
    world: np.ndarray  # (frames, 33, 3) metres, hip-centred, x right, y down, NaN without a person
    time: np.ndarray  # (frames,) s
    size: tuple[int, int] | None  # frame (width, height); None for no frame


def _blazepose(source: str | os.PathLike[str], *, fps: float | None, model_complexity: int, min_detection_confidence: float,
               min_tracking_confidence: float, chunk: int, progress: bool, max_fps: float | None = None) -> _BlazePoseRun:  # fmt: skip
    """BlazePose over every frame of ``source`` (thinned to ``max_fps``: :func:`~kinelift.detect.video.iter_frames`): its image and world landmarks."""
    if model_complexity not in (0, 1, 2):
        raise ValueRangeError("model_complexity", expected="0 (lite), 1 (full) or 2 (heavy)", got=model_complexity)
    solution = _pose_solution()
    points, visibility, world, times = [], [], [], []
    size = None
    with solution.Pose(static_image_mode=False, model_complexity=model_complexity, smooth_landmarks=True,
                       min_detection_confidence=min_detection_confidence, min_tracking_confidence=min_tracking_confidence) as pose, \
            tqdm(total=frame_count(source, fps=fps, max_fps=max_fps), desc="detecting keypoints (mediapipe)", unit="frame",
                 disable=not progress) as bar:  # fmt: skip
        for frames, chunk_times in iter_frames(source, fps=fps, chunk=chunk, max_fps=max_fps):
            size = (frames.shape[2], frames.shape[1])
            for frame in frames:
                result = pose.process(np.ascontiguousarray(frame))  # RGB uint8, as iter_frames gives
                found, found_world = result.pose_landmarks, getattr(result, "pose_world_landmarks", None)
                if found is None:
                    points.append(np.full((_N_LANDMARKS, 2), np.nan))
                    visibility.append(np.zeros(_N_LANDMARKS))
                else:
                    points.append(np.array([[lm.x, lm.y] for lm in found.landmark], np.float64))
                    visibility.append(np.array([lm.visibility for lm in found.landmark], np.float64))
                world.append(np.full((_N_LANDMARKS, 3), np.nan) if found is None or found_world is None
                             else np.array([[lm.x, lm.y, lm.z] for lm in found_world.landmark], np.float64))  # fmt: skip
            times.append(chunk_times)
            bar.update(len(frames))
    n = len(points)
    time = np.concatenate(times) if times else np.zeros(0)
    log.info("mediapipe %s (BlazePose, model_complexity %d): a person in %d of %d frames", mediapipe_version(), model_complexity,
             int(sum(np.isfinite(p[0, 0]) for p in points)), n)  # fmt: skip
    return _BlazePoseRun(np.asarray(points).reshape(n, _N_LANDMARKS, 2), np.asarray(visibility).reshape(n, _N_LANDMARKS),
                         np.asarray(world).reshape(n, _N_LANDMARKS, 3), time, size)  # fmt: skip


def detect_tracks_mediapipe(source: str | os.PathLike[str], *, fps: float | None = None, model_complexity: int = 1,
                            min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5, chunk: int = 32,
                            min_frames: int = 10, min_track_confidence: float = 0.3, progress: bool = True,
                            max_fps: float | None = None) -> list[Tracks]:  # fmt: skip
    """Keypoint tracks of a video or image folder by MediaPipe's BlazePose (see the module docs).

    Parameters
    ----------
    source : path
        A video file or a folder of images (then ``fps`` is required).
    model_complexity : {0, 1, 2}
        BlazePose lite, full or heavy (1: full, what the issue measured at 46-54 frames/s here).
    min_detection_confidence, min_tracking_confidence : float
        MediaPipe's thresholds for finding a person and for keeping the one it follows.
    min_frames, min_track_confidence, max_fps
        As for :func:`~kinelift.detect.inference.detect_tracks`.

    Returns
    -------
    list of Tracks
        ``MEDIAPIPE-33`` tracks in image pixels.

    Raises
    ------
    UnknownNameError
        When mediapipe is not installed.
    """
    found = _blazepose(source, fps=fps, model_complexity=model_complexity, min_detection_confidence=min_detection_confidence,
                       min_tracking_confidence=min_tracking_confidence, chunk=chunk, progress=progress, max_fps=max_fps)  # fmt: skip
    if found.size is None:
        return []
    return landmarks_to_tracks(found.points, found.visibility, found.time, width=found.size[0], height=found.size[1],
                               min_frames=min_frames, min_track_confidence=min_track_confidence)  # fmt: skip


BOX_GROWTH = 1.1
"""BlazePose's landmark box grown by this factor about its centre becomes a person box for the
heatmap detectors (its highest landmarks are the eyes and ears, not the top of the head; the
crops add their own margin, :func:`~kinelift.detect.transforms.crop_matrices`)."""


def mediapipe_boxes(source: str | os.PathLike[str], *, fps: float | None = None, model_complexity: int = 1,
                    min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5, chunk: int = 32,
                    progress: bool = True, max_fps: float | None = None) -> dict[int, np.ndarray]:  # fmt: skip
    """Person boxes from BlazePose for kinelift's heatmap detectors: ``{frame index: (1, 4) box}``
    (with ``max_fps``, the index of the frames read, :func:`~kinelift.detect.video.iter_frames`).

    Each box is ``(x, y, width, height)`` in image pixels: the box of the 33 landmarks BlazePose
    places on the one person it follows (occluded ones included: it predicts them all), grown by
    :data:`BOX_GROWTH`; frames where it finds nobody have no entry.
    ``detect_tracks(video, boxes="mediapipe")`` crops these (``kinelift run`` with
    ``RunConfig.boxes = "mediapipe"``): MediaPipe finds and follows the person, the heatmap
    detector places the keypoints, and HOG is not run.
    """
    found = _blazepose(source, fps=fps, model_complexity=model_complexity, min_detection_confidence=min_detection_confidence,
                       min_tracking_confidence=min_tracking_confidence, chunk=chunk, progress=progress, max_fps=max_fps)  # fmt: skip
    if found.size is None:
        return {}
    px = found.points * np.array(found.size, np.float64)
    seen = np.flatnonzero(np.isfinite(px).all(axis=(1, 2)))
    return {int(f): box[None] for f, box in zip(seen, box_from_keypoints(px[seen], growth=BOX_GROWTH))}


def world_landmarks_mediapipe(source: str | os.PathLike[str], *, fps: float | None = None, model_complexity: int = 1,
                              min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5, chunk: int = 32,
                              progress: bool = True) -> Tracks:  # fmt: skip
    """BlazePose's own 3D estimate of the person it follows: its "world landmarks", one track.

    MediaPipe's monocular 3D, the peer kinelift's lifters are compared with (``python
    benchmarks/lift_real_videos.py`` in an environment with mediapipe). Conventions: metres,
    origin at the midpoint of the hips in every frame (no global translation), axes turned to
    OpenSim's: x to the image's right, y up, z towards the camera (MediaPipe's y down and z away
    from the camera, both negated: a rotation, so sides stay sides). NaN where BlazePose found
    nobody; the confidence is the landmarks' ``visibility``. BlazePose follows one person and
    may switch to another after losing them (:func:`detect_tracks_mediapipe` splits its 2D
    there; this track does not). :func:`kinelift.analysis.joint_angles_3d` (``up="y"``) reads
    its joint angles.

    Returns
    -------
    Tracks
        ``MEDIAPIPE-33``, ``units="m"``, ``coordinate_frame="ground"``, the frames' times.

    Raises
    ------
    UnknownNameError
        When mediapipe is not installed.
    """
    found = _blazepose(source, fps=fps, model_complexity=model_complexity, min_detection_confidence=min_detection_confidence,
                       min_tracking_confidence=min_tracking_confidence, chunk=chunk, progress=progress)  # fmt: skip
    if found.size is None:
        raise ValueRangeError("source", expected="a video with at least one frame", got=str(source))
    return Tracks(found.world * np.array([1.0, -1.0, -1.0]), keypoints="MEDIAPIPE-33", confidence=found.visibility, time=found.time,
                  units="m", coordinate_frame="ground", metadata={"source": "mediapipe world landmarks"})  # fmt: skip
