"""Video frames labelled by keypoint tracks: real training images for the heatmap detectors.

A pose model that holds on video (MediaPipe's BlazePose through kinelift's optional backend,
OpenPose's or MMPose's tracks imported with :mod:`kinelift.io`, or tracks a person corrected) can
label the frames of real videos for training kinelift's own detector: a teacher.
:func:`write_frame_labels` writes the frames where a track has a pose as JPEG images and the poses
as a COCO keypoints file, which :func:`~kinelift.detect.datasets.read_coco_keypoints` reads and
the training data option ``frames`` (:class:`~kinelift.detect.config.DetectorDataConfig`) trains on.

Conventions: the points are converted to COCO-17 by name (:mod:`kinelift.core.keypoint_conversion`;
MEDIAPIPE-33, BODY-25, HALPE-26 and COCO-17 tracks convert, points a track does not have are left
unlabelled); coordinates are the tracks' image pixels (x right, y down, of the frames as
:func:`~kinelift.detect.video.iter_frames` gives them, upright); a point counts as labelled
(COCO ``v = 2``) where its confidence is at least ``min_confidence``, else ``v = 0`` with
coordinates 0. A track frame belongs to the video frame whose time lies within 0.4 of a frame
interval of it. Each person's ``bbox`` is the tight box of their labelled points, as LSP's. Left
and right are the person's own, as in the tracks.

The output folder holds ``labels.json`` and ``images/{video stem}_{frame:06d}.jpg`` (frame: the
0-based index of the frame in the video as read); it is written whole or not at all.

Examples
--------
>>> import numpy as np, tempfile, pathlib, cv2
>>> from kinelift.core import Tracks
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> for i in range(4):
...     _ = cv2.imwrite(str(folder / f"f{i}.png"), np.full((60, 40, 3), 50 * i, np.uint8))
>>> pose = np.tile(np.linspace([10.0, 5.0], [30.0, 55.0], 17), (4, 1, 1))
>>> tracks = Tracks(pose, keypoints="COCO-17", fps=10.0, units="px")
>>> out = write_frame_labels(folder, tracks, pathlib.Path(tempfile.mkdtemp()) / "labels", fps=10.0, every=2, progress=False)
>>> from kinelift.detect.datasets import read_coco_keypoints
>>> samples = read_coco_keypoints(out / "labels.json", out)
>>> len(samples), samples.image_paths[1].endswith("_000002.jpg"), samples.labelled.sum(axis=1).tolist()
(2, True, [17, 17])
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from kinelift.core import Tracks, get_keypoint_set
from kinelift.detect.datasets import LOWER_BODY
from kinelift.detect.video import frame_count, frame_rate, frame_size, iter_frames
from kinelift.errors import ShapeError, ValueRangeError
from kinelift.io._atomic import atomic_dir

__all__ = ["write_frame_labels"]

log = logging.getLogger(__name__)

LABELS = "COCO-17"
_MATCH = 0.4  # a track frame within this share of a frame interval of a video frame's time labels it


def _coco_points(tracks: Tracks) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(frames, 17, 2)`` and confidences ``(frames, 17)`` in COCO-17; absent points NaN / 0."""
    if not set(LOWER_BODY) <= set(tracks.keypoint_names):
        raise ValueRangeError("tracks", expected="tracks with hips, knees and ankles (COCO-17, BODY-25, HALPE-26, MEDIAPIPE-33 ...)",
                              got=tracks.keypoint_set.name)  # fmt: skip
    coco = tracks.to_keypoint_set(LABELS, missing="absent")
    confidence = np.where(np.isfinite(coco.positions).all(axis=-1), coco.confidence, 0.0)
    return coco.positions, confidence


def write_frame_labels(video: str | os.PathLike[str], tracks: Tracks | Sequence[Tracks], out_dir: str | os.PathLike[str], *,
                       fps: float | None = None, every: int = 1, min_confidence: float = 0.5, min_keypoints: int = 8,
                       quality: int = 95, overwrite: bool = False, progress: bool = True) -> Path:  # fmt: skip
    """Write the frames of ``video`` where ``tracks`` have a pose, labelled by them (see the module docs).

    Parameters
    ----------
    video : path
        A video file, or a folder of images (then ``fps`` is needed).
    tracks : Tracks or sequence of Tracks
        2D pixel tracks of the people to label (each becomes one person per frame), in a keypoint
        set that names the hips, knees and ankles; their times are those of the video's frames.
    out_dir : path
        The folder to write (``labels.json``, ``images/``); an existing one needs ``overwrite``.
    fps : float, optional
        Frame rate of an image folder.
    every : int, default 1
        Keep every ``every``-th frame of the video (neighbouring frames are near copies).
    min_confidence : float, default 0.5
        A point is labelled where its confidence is at least this.
    min_keypoints : int, default 8
        A person is labelled in a frame where at least this many of the 17 points are.
    quality : int, default 95
        JPEG quality of the images.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    ValueRangeError
        Tracks that are not 2D pixels or lack the leg points, options out of range, or no frame
        with a labelled person.
    ShapeError
        Tracks whose image size differs from the video's frames.
    """
    tracks = [tracks] if isinstance(tracks, Tracks) else list(tracks)
    if not tracks:
        raise ValueRangeError("tracks", expected="at least one Tracks", got=[])
    for t in tracks:
        if t.n_dims != 2 or t.units != "px":
            raise ValueRangeError("tracks", expected="2D pixel tracks", got=f"{t.n_dims}D {t.units} {t.keypoint_set.name}")
    if not (isinstance(every, (int, np.integer)) and every >= 1):
        raise ValueRangeError("every", expected="an integer >= 1", got=every)
    if not 0 <= min_confidence <= 1 or not 1 <= min_keypoints <= 17 or not 1 <= quality <= 100:
        raise ValueRangeError("min_confidence/min_keypoints/quality", expected="in [0, 1], [1, 17], [1, 100]",
                              got=(min_confidence, min_keypoints, quality))  # fmt: skip
    video = Path(video)
    people = [_coco_points(t) for t in tracks]
    if video.is_dir() and not (fps and fps > 0):
        raise ValueRangeError("fps", expected=f"a positive frame rate for the image folder {video}", got=fps)
    size = frame_size(video)
    for t in tracks:
        if t.image_size is not None and tuple(t.image_size) != size:
            raise ShapeError("tracks image size", expected=f"the video's frames, {size}", got=tuple(t.image_size))
    rate = fps if video.is_dir() else (frame_rate(video) or tracks[0].sampling_rate)
    tolerance = _MATCH / rate
    stem = video.stem if video.is_file() else video.name
    names = list(get_keypoint_set(LABELS).names)
    images, annotations = [], []
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        (tmp / "images").mkdir()
        index = 0
        total = frame_count(video, fps=fps)
        bar = tqdm(total=total, desc=f"labelling {stem}", unit="frame", disable=not progress)
        for frames, times in iter_frames(video, fps=fps):
            for frame, time in zip(frames, times):
                number, index = index, index + 1
                bar.update(1)
                if number % every:
                    continue
                height, width = frame.shape[:2]
                found = []
                for t, (positions, confidence) in zip(tracks, people):
                    j = int(np.clip(np.searchsorted(t.time, time), 1, t.n_frames - 1)) if t.n_frames > 1 else 0
                    j = j - 1 if j > 0 and abs(t.time[j - 1] - time) <= abs(t.time[j] - time) else j
                    if abs(t.time[j] - time) > tolerance:
                        continue
                    seen = confidence[j] >= max(min_confidence, 1e-9)
                    if seen.sum() >= min_keypoints:
                        found.append((positions[j], seen))
                if not found:
                    continue
                file_name = f"images/{stem}_{number:06d}.jpg"
                image_id = len(images) + 1
                if not cv2.imwrite(str(tmp / file_name), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)]):
                    raise OSError(f"cannot write {tmp / file_name}")
                images.append({"id": image_id, "file_name": file_name, "width": int(width), "height": int(height),
                               "frame": number, "time": float(time)})  # fmt: skip
                for positions, seen in found:
                    xy = np.where(seen[:, None], positions, 0.0)
                    lo, hi = positions[seen].min(axis=0), positions[seen].max(axis=0)
                    keypoints = np.column_stack([xy, np.where(seen, 2, 0)]).reshape(-1)
                    annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                                        "keypoints": [round(float(v), 2) for v in keypoints], "num_keypoints": int(seen.sum()),
                                        "bbox": [round(float(v), 2) for v in (*lo, *(hi - lo))],
                                        "area": float(np.prod(hi - lo))})  # fmt: skip
        bar.close()
        if not annotations:
            raise ValueRangeError("tracks", expected=f"a person with at least {min_keypoints} points of confidence >= {min_confidence} "
                                  f"in a frame of {video}", got="none")  # fmt: skip
        doc = {"info": {"description": f"frames of {video.name} labelled by {', '.join(sorted({t.keypoint_set.name for t in tracks}))} "
                        "tracks (kinelift.detect.frame_labels)", "video": str(video), "every": int(every),
                        "min_confidence": float(min_confidence)},
               "images": images, "annotations": annotations,
               "categories": [{"id": 1, "name": "person", "keypoints": names,
                               "skeleton": [[a + 1, b + 1] for a, b in get_keypoint_set(LABELS).edges]}]}  # fmt: skip
        (tmp / "labels.json").write_text(json.dumps(doc))
    log.info("labelled %d people in %d frames of %s -> %s", len(annotations), len(images), video, out_dir)
    return Path(out_dir)
