"""The main job: from a video or a track file to OpenSim kinematics, joint angles and a squat assessment.

Steps (each logged; long ones show progress bars):

1. **2D tracks**: a video or image folder goes through the detector
   (:func:`kinelift.detect.detect_tracks`); any track file kinelift reads is read. The person is
   ``config.person`` or the one seen longest and most clearly (:func:`subject_score`). A video's detections are cached in
   ``tracks_2d.h5`` (a track file is read again: it is cheap, and an edited file is never stale).
2. **2D processing**: Hampel outlier rejection, cubic gap filling, zero-lag Butterworth low-pass.
3. **Lifting** to the built-in model (:func:`kinelift.lifting.lift`); with ``config.model`` the
   given ``.osim`` is then fitted to the lifted keypoints by inverse kinematics.
4. **Angles** (model coordinates, flexion positive) and the **squat analysis** (repetitions,
   metrics, verdicts) on the model's anatomical points.
5. **Outputs** in ``out_dir`` (SI inside; degrees and mm only where the file format says so):

   ===================  ===============================================================
   ``result.h5``        everything, in the documented kinelift HDF5 schema (validated)
   ``kinematics.mot``   model coordinates for OpenSim (degrees)
   ``markers.trc``      model landmarks and keypoints (mm)
   ``model.osim``       the scaled built-in model (when no ``config.model`` was given)
   ``*.csv``            coordinates, joint angles (degrees), squat metrics and feedback
   ``*.png``            angle curves, 3D skeleton snapshots, distance matrices, squat report
   ``summary.json``     the summary below, written last
   ===================  ===============================================================

Outputs are written to a temporary folder and moved into place file by file, ``summary.json``
last: a run that stops midway leaves no summary, and the next run redoes it. Every result
carries a fingerprint (:mod:`kinelift.pipeline.fingerprint`: the input's bytes, every setting,
the files settings name, the kinelift version) in ``summary.json``, and the 2D cache carries the
part of it that detection depends on. A folder whose complete result has the same fingerprint
is reused; a folder that holds the result of another input or other settings (or outputs of
unknown origin) is refused with what differs named, unless ``overwrite=True``. The 2D cache is
used only when its fingerprint matches, and is recomputed otherwise. A failed run removes the
folder it created when nothing is in it; staging folders of killed runs are removed by the next run.

Examples
--------
>>> import tempfile, pathlib
>>> from kinelift.pipeline.demo_clip import write_demo_input
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> clip = write_demo_input(folder / "squat.json", n_reps=2)
>>> summary = run(folder / "squat.json", folder / "out", progress=False)
>>> summary.repetitions, (folder / "out" / "result.h5").exists()
(2, True)
>>> run(folder / "squat.json", folder / "out", progress=False).reused
True
>>> run(folder / "squat.json", folder / "out", config=RunConfig(height=1.9), progress=False)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
kinelift.errors.OutputExistsError: ...out: exists (it holds the result of another job: setting height: None -> 1.9); pass overwrite=True (or --overwrite) to replace it
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from kinelift.core.tracks import Tracks
from kinelift.core.views import CAMERA_VIEW_KEY
from kinelift.errors import FileFormatError, OutputExistsError, ValueRangeError
from kinelift.io._atomic import atomic_path, output_folder
from kinelift.pipeline.config import RunConfig
from kinelift.pipeline.fingerprint import detection_fingerprint, differences, run_fingerprint

__all__ = ["RunSummary", "run", "subject_score", "VIDEO_SUFFIXES", "OUTPUT_FILES"]

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
OUTPUT_FILES = ("result.h5", "kinematics.mot", "markers.trc", "coordinates.csv", "joint_angles.csv", "squat_metrics.csv",
                "squat_feedback.csv")  # fmt: skip
_FIGURES = ("angles.png", "skeleton.png", "distances.png", "squat_report.png", "annotated.mp4", "annotated.png")
_PENDING = ".kinelift-pending.json"  # the fingerprint of a run whose outputs are being moved into place
_STAGING_PREFIX = ".kinelift-run."


@dataclass(frozen=True)
class RunSummary:
    """What a run did: the input, the frames and people, the lifted body, the repetitions and
    their verdicts (``bends_not_counted``: knee bends that moved the feet, walking or stepping, not
    squats; :func:`kinelift.analysis.squat.feet_shift`), the output files (name -> path), whether an earlier run's outputs were reused,
    and the seconds of each stage (``stage_seconds``: ``"2d"`` (detection or reading, choosing the
    subject), ``"processing"``, ``"lifting"`` (with keypoint IK where a model is given),
    ``"analysis"``, ``"outputs"`` (the files and figures), ``"annotated_video"``: the wait for the
    annotated video after the other outputs, beside which it is written in a second thread; the
    stages add up to the whole job), and how the camera saw the subject (``camera_view``:
    ``"sagittal"``, ``"frontal"`` or ``"oblique"``, :func:`kinelift.core.views.camera_view` of the
    subject's 2D keypoints; None in summaries of kinelift before 0.3.13). Seen from the front or
    back, knee and hip flexion are the lifter's depth guess: on held-out motion capture the knee's
    error was 1.3-3.5 times a side view's, by movement (docs/lift.md, "By camera view"). ``video_fps``:
    a video input's own frame rate (None for other inputs and in summaries before 0.3.14); ``frames``
    are those read, at most about ``RunConfig.max_fps`` a second."""

    input: str
    out_dir: str
    frames: int
    duration_s: float
    people: int
    keypoints: str
    lifter: str
    height_m: float
    repetitions: int
    verdicts: tuple[str, ...]
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    reused: bool = False
    fingerprint: dict[str, Any] = field(default_factory=dict, repr=False)
    seen_frames: int | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    bends_not_counted: int = 0
    camera_view: str | None = None
    video_fps: float | None = None

    def to_text(self) -> str:
        """A few lines for a terminal."""
        lines = [f"{self.input}: {self.frames} frames ({self.duration_s:.1f} s), {self.people} person(s), {self.keypoints} keypoints",
                 f"  lifted with the {self.lifter} lifter, height {self.height_m:.2f} m; {self.repetitions} repetition(s): "
                 + (", ".join(self.verdicts) or "none")
                 + (f"; {self.bends_not_counted} bend(s) that moved the feet (walking, running, stepping) not counted"
                    if self.bends_not_counted else ""),
                 f"  outputs in {self.out_dir}" + (" (reused)" if self.reused else f" ({self.seconds:.1f} s)")]  # fmt: skip
        if self.seen_frames is not None and self.seen_frames < self.frames:
            lines.insert(1, f"  the subject was seen in {self.seen_frames} of {self.frames} frames: no pose, angles or metrics in the others")
        read = (self.frames - 1) / self.duration_s if self.duration_s > 0 and self.frames > 1 else None
        if self.video_fps and read and read < 0.9 * self.video_fps:
            lines.insert(1, f"  read at {read:.3g} of the video's {self.video_fps:.3g} frames/s (RunConfig.max_fps, --max-fps; 0 reads every frame)")
        if self.camera_view == "frontal":
            lines.insert(1, "  seen from the front or back: knee and hip flexion are the lifter's depth guess, the knee's error 1.3-3.5 times "
                            "a side view's (docs/lift.md, \"By camera view\"); film from the side for sagittal-plane angles")  # fmt: skip
        if self.stage_seconds and not self.reused:
            lines.append("  seconds per stage: " + ", ".join(f"{k} {v:.1f}" for k, v in self.stage_seconds.items()))
        figures = [p for n, p in self.outputs.items() if n.endswith(".png")]
        if figures:
            lines.append("  figures: " + ", ".join(figures))
        return "\n".join(lines)


def _load_summary(out: Path) -> RunSummary | None:
    path = out / "summary.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        return RunSummary(**{**data, "verdicts": tuple(data["verdicts"]), "reused": True})
    except (ValueError, TypeError, KeyError):
        log.warning("%s is unreadable: its folder counts as holding outputs of unknown origin", path)
        return None


def _earlier_result(out: Path, fingerprint: dict[str, Any], overwrite: bool) -> RunSummary | None:
    """A complete earlier result of this very job in ``out`` (to reuse), or None to compute.

    Raises OutputExistsError when ``out`` holds another job's result, or outputs of unknown
    origin, and ``overwrite`` is False.
    """
    for stale in out.glob(_STAGING_PREFIX + "*"):
        shutil.rmtree(stale, ignore_errors=True)  # a killed run's staging folder
    if overwrite:
        return None
    summary = _load_summary(out)
    if summary is not None:
        changed = differences(summary.fingerprint, fingerprint)
        if changed:
            raise OutputExistsError(out, reason="it holds the result of another job: " + "; ".join(changed))
        if all(Path(p).exists() for p in summary.outputs.values()):
            return summary
        log.info("%s: the earlier result of this job lacks files; recomputing", out)
        return None
    present = [n for n in (*OUTPUT_FILES, *_FIGURES, "summary.json", "model.osim") if (out / n).exists()]
    if present:
        pending = out / _PENDING
        try:
            interrupted = json.loads(pending.read_text()) == fingerprint if pending.exists() else False
        except ValueError:
            interrupted = False
        if not interrupted:
            raise OutputExistsError(out, reason=f"it holds {', '.join(present)} without a summary of the same job")
        log.info("%s: an interrupted run of this job left part of its outputs; recomputing", out)
    return None


def _is_video(path: Path) -> bool:
    """A video file, or a folder of frame images (a folder of per-frame JSON files is a track file)."""
    if path.is_dir():
        from kinelift.detect.video import IMAGE_SUFFIXES

        return any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())
    return path.suffix.lower() in VIDEO_SUFFIXES


def _read_2d(source: Path, config: RunConfig, cache: Path, fingerprint: dict[str, Any], overwrite: bool, progress: bool) -> list[Tracks]:
    """The people of a track file, or of a video through the detector (its output cached in
    ``cache`` with ``fingerprint``, and reused only while the fingerprint matches, never with ``overwrite``)."""
    from kinelift.io import read_tracks, save

    if not _is_video(source):
        people = read_tracks(source, fps=config.fps, keypoint_set=config.keypoint_set)
    elif not overwrite and cache.exists() and (cached := _cached_people(cache, fingerprint)) is not None:
        log.info("2D tracks: reusing %s", cache)
        people = cached
    else:
        from kinelift.detect import detect_tracks

        people = detect_tracks(source, detector=config.detector, boxes=config.boxes, fps=config.fps, progress=progress,
                               max_fps=_read_rate(config))  # fmt: skip
        if not people:
            raise ValueRangeError("people", expected=f"at least one person found in {source} (tracks seen in fewer than 10 frames or "
                                  "with a mean keypoint confidence below 0.3 are dropped as short-lived or background texture)", got=0)  # fmt: skip
        save(cache, tracks=[t.replace(person_id=i, metadata={**t.metadata, "detection_fingerprint": fingerprint})
                            for i, t in enumerate(people)], format="h5", overwrite=True)  # fmt: skip
    people = [t for t in people if t.n_dims == 2]
    if not people:
        raise FileFormatError(source, "no 2D keypoint track", expected="image keypoints (pixels) to lift")
    if _is_video(source) and any(t.image_size is None for t in people):  # detections cached before they recorded it
        from kinelift.core.tracks import IMAGE_SIZE_KEYS
        from kinelift.detect.video import frame_size

        size = dict(zip(IMAGE_SIZE_KEYS, frame_size(source)))
        people = [t if t.image_size is not None else t.replace(metadata={**t.metadata, **size}) for t in people]
    if config.image_size is not None:  # a track file without it (OpenPose): the fit's assumed camera needs it
        try:
            people = [t.with_image_size(*config.image_size) for t in people]
        except ValueRangeError as err:
            raise ValueRangeError(f"image_size of {source.name}", expected=err.expected, got=err.got) from None
    return people


def _video_rate(source: Path) -> float | None:
    """A video file's own frame rate (None for an image folder or a track file)."""
    if not _is_video(source) or source.is_dir():
        return None
    from kinelift.detect.video import frame_rate

    return frame_rate(source)


def _read_rate(config: RunConfig) -> float | None:
    """The ``max_fps`` a video is read at: ``config.max_fps``, but every frame (``None``) where
    person boxes come from a file (indexed by every frame of the video)."""
    from kinelift.detect.mediapipe_pose import MEDIAPIPE

    if config.max_fps is None or (config.boxes is not None and config.boxes != MEDIAPIPE):
        return None
    return config.max_fps


def _cached_people(cache: Path, fingerprint: dict[str, Any]) -> list[Tracks] | None:
    """The cached detections when they were made from the same input with the same settings."""
    from kinelift.errors import KineliftError
    from kinelift.io import read_tracks

    try:
        people = read_tracks(cache)
    except KineliftError as err:
        log.warning("2D cache %s unreadable (%s): detecting again", cache, err)
        return None
    if any(t.metadata.get("detection_fingerprint") != fingerprint for t in people):
        log.info("2D cache %s was made from another input or with other settings: detecting again", cache)
        return None
    return people


CLOSE_CANDIDATES = 0.8
"""A second person whose :func:`subject_score` reaches this fraction of the chosen one's, seen at the
same time, is named in a warning."""


def subject_score(tracks: Tracks) -> float:
    """How clearly a person was seen: the sum over frames of the mean keypoint confidence (missing
    points count 0). The main job analyses the person with the highest score: seen longest and
    most clearly, so that a track left on background texture (low confidence) loses to the person."""
    return float(np.where(tracks.valid, tracks.confidence, 0.0).mean(axis=1).sum())


POINTED_MIN_IOU = 0.3
"""A person box given by the user (:attr:`RunConfig.person_at` with four numbers) names a track
whose keypoint box overlaps it at least this much (IoU) in a frame."""


def subject_at(people: Sequence[Tracks], at: Sequence[float]) -> int:
    """The index of the person a user pointed at in the video's image (pixels, origin top-left).

    ``at`` is a point ``(x, y)`` or a box ``(x, y, width, height)`` drawn on the first frame where
    the person is seen. Each track's box per frame is the box of its keypoints, grown by 10 % about
    its centre; a track matches where that box contains the point (or overlaps the given box by at
    least :data:`POINTED_MIN_IOU`). The person is the track that matches first in time; of tracks
    that first match in the same frame, the one with the smallest box holding the point (the person
    in front of a larger one behind) or the largest overlap with the given box.

    Raises
    ------
    ValueRangeError
        When no track matches in any frame (the message lists where the people were first seen),
        or for tracks not in image pixels.

    Examples
    --------
    >>> left = Tracks(np.array([[[100.0, 100], [120, 300]]] * 3), keypoints=["right_hip", "right_ankle"], fps=30.0)
    >>> right = Tracks(left.positions + [300.0, 0], keypoints=["right_hip", "right_ankle"], fps=30.0)
    >>> subject_at([left, right], (415.0, 200.0)), subject_at([left, right], (95.0, 90.0, 30.0, 220.0))
    (1, 0)
    """
    from kinelift.detect.people import box_from_keypoints, iou

    at = np.asarray(at, float).reshape(-1)
    if at.shape not in ((2,), (4,)) or not np.isfinite(at).all():
        raise ValueRangeError("person_at", expected="a point (x, y) or a box (x, y, width, height) in image pixels", got=at.tolist())
    best: tuple[float, float, int] | None = None  # (first frame matched, -preference, index)
    for i, tracks in enumerate(people):
        if tracks.units != "px" or tracks.n_dims != 2:
            raise ValueRangeError("person_at", expected="2D tracks in image pixels to point into", got=f"{tracks.n_dims}D tracks in {tracks.units}")
        boxes = box_from_keypoints(np.where(tracks.valid[..., None], tracks.positions, np.nan), growth=1.1)  # (frames, 4)
        seen = np.isfinite(boxes).all(axis=1)
        if len(at) == 2:
            inside = seen & np.all((boxes[:, :2] <= at) & (at <= boxes[:, :2] + boxes[:, 2:]), axis=1)
            preference = -np.prod(np.nan_to_num(boxes[:, 2:]), axis=1)
        else:
            preference = np.where(seen, iou(np.nan_to_num(boxes), at[None])[:, 0], 0.0)
            inside = seen & (preference >= POINTED_MIN_IOU)
        if inside.any():
            f = int(np.argmax(inside))
            key = (float(tracks.time[f]), -float(preference[f]), i)
            best = key if best is None or key < best else best
    if best is None:
        firsts = [(i, t, int(np.argmax(t.valid.any(axis=1)))) for i, t in enumerate(people) if t.valid.any()]
        where = "; ".join(f"person {i} first at {t.time[f]:.2f} s around ({np.mean(t.positions[f][t.valid[f]], axis=0)[0]:.0f}, "
                          f"{np.mean(t.positions[f][t.valid[f]], axis=0)[1]:.0f}) px" for i, t, f in firsts)  # fmt: skip
        raise ValueRangeError("person_at", expected=f"a point or box on a person found ({where or 'nobody was found'})", got=at.tolist())
    return best[2]


def _choose(people: list[Tracks], person: int | None, source: Path, at: Sequence[float] | None = None) -> Tracks:
    """``people[person]``, the person at ``at`` (:func:`subject_at`), or the person of the highest
    :func:`subject_score`; a warning names a close second."""
    if at is not None:
        index = subject_at(people, at)
        log.info("%s: person %d (%s) analysed: the one at %s", source, index, people[index].person_id, list(at))
        return people[index]
    if person is None:
        seen = [t.valid.any(axis=1) for t in people]
        score = [subject_score(t) for t in people]
        order = sorted(range(len(people)), key=lambda i: -score[i])
        best = order[0]
        for other in order[1:]:
            overlap = len(seen[other]) == len(seen[best]) and (seen[other] & seen[best]).sum() >= CLOSE_CANDIDATES * seen[other].sum()
            if score[other] >= CLOSE_CANDIDATES * score[best] and overlap:
                log.warning("%s: person %d (%s, seen in %d frames) was analysed, but person %d (%s, seen in %d frames, at the same "
                            "time) is as likely the subject: choose with --person (RunConfig.person)", source, best,
                            people[best].person_id, int(seen[best].sum()), other, people[other].person_id, int(seen[other].sum()))  # fmt: skip
        log.info("%s: person %d of %d analysed (score %.1f; the others %s)", source, best, len(people), score[best],
                 ", ".join(f"{score[i]:.1f}" for i in order[1:]) or "none")  # fmt: skip
        return people[best]
    if not 0 <= person < len(people):
        raise ValueRangeError("person", expected=f"an index below {len(people)} (people in {source})", got=person)
    return people[person]


def _process(tracks: Tracks, config: RunConfig) -> Tracks:
    from kinelift.processing import (
        fill_tracks,
        filter_tracks,
        reject_outliers,
        resample_tracks,
        tracks_drop_double_counted,
        usable_cutoff,
    )

    out = tracks = _drop_upside_down(tracks)
    if tracks.n_frames > 2 and not tracks.is_uniform():  # a real video's frame times jitter (rounded time stamps)
        dt = np.diff(tracks.time)
        rate = 1.0 / float(np.median(dt))
        log.info("frame intervals vary (%.1f-%.1f ms): resampled to a uniform %.3f frames/s before filtering", 1e3 * dt.min(),
                 1e3 * dt.max(), rate)  # fmt: skip
        out = tracks = resample_tracks(tracks, fps=rate)
    if config.min_relative_confidence > 0 and tracks.valid.any():
        frame_confidence = np.where(tracks.valid, tracks.confidence, 0.0).sum(1) / np.maximum(tracks.valid.sum(1), 1)
        seen = tracks.valid.any(axis=1)
        low = seen & (frame_confidence < config.min_relative_confidence * float(np.median(frame_confidence[seen])))
        if low.any():
            log.info("%d of %d frames with keypoints are below %.2f of the track's median confidence (%.2f): set missing "
                     "(a person in part or leaving the image)", int(low.sum()), int(seen.sum()), config.min_relative_confidence,
                     float(np.median(frame_confidence[seen])))  # fmt: skip
            out = _set_missing(out, low)
    if config.min_leg_relative_confidence > 0:
        out = _drop_frames_without_legs(out, config.min_leg_relative_confidence)
    if config.max_double_count_frames > 0:
        out, dropped = tracks_drop_double_counted(out, max_frames=config.max_double_count_frames)
        if dropped:
            log.info("%d knee and ankle points on the other leg for at most %d frames (double counting) set missing", dropped,
                     config.max_double_count_frames)  # fmt: skip
    if config.outlier_sigma > 0 and config.outlier_half_window > 0 and tracks.n_frames > 2 * config.outlier_half_window:
        floor = config.outlier_floor * _person_size(out) if config.outlier_floor > 0 else 0.0
        before = int(out.valid.sum())
        out = reject_outliers(out, half_window=config.outlier_half_window, n_sigma=config.outlier_sigma, min_deviation=floor)
        log.info("outlier rejection (Hampel, %g sigma, %d frames each side, at least %.3g %s off): %d keypoints set missing",
                 config.outlier_sigma, config.outlier_half_window, floor, out.units, before - int(out.valid.sum()))  # fmt: skip
    if config.max_gap > 0:
        out = fill_tracks(out, method="cubic", max_gap=config.max_gap)
    low_pass = f"butterworth {config.cutoff} Hz"
    if config.cutoff is not None and out.n_frames > 15:
        if usable_cutoff(config.cutoff, out.sampling_rate) is None:  # a slow video (10 frames/s): nothing above its Nyquist frequency to remove
            log.warning("the %g Hz low-pass is not below 0.9 of the Nyquist frequency of these %.3g frames/s tracks (%.3g Hz): "
                        "the 2D keypoints are not filtered", config.cutoff, out.sampling_rate, out.sampling_rate / 2)  # fmt: skip
            low_pass = f"no low-pass ({config.cutoff} Hz is not below 0.9 of the Nyquist frequency)"
        else:  # segments too short for the filter (a person seen for a few frames) stay raw, counted in the log
            out = filter_tracks(out, "butterworth", cutoff=config.cutoff, order=2, short="keep")
    return out.replace(metadata={**out.metadata, "processing": f"upside-down frames dropped, frames below {config.min_relative_confidence} of the median confidence "
                                 f"dropped, frames without legs in view ({config.min_leg_relative_confidence}) dropped, double-counted knees and ankles "
                                 f"(at most {config.max_double_count_frames} frames) dropped, hampel {config.outlier_sigma} sigma (floor {config.outlier_floor} of the person's size), "
                                 f"cubic fill {config.max_gap}, {low_pass}"})  # fmt: skip


def _set_missing(tracks: Tracks, frames: np.ndarray) -> Tracks:
    """``tracks`` with every point of the ``frames`` (bool ``(T,)``) missing, at confidence 0."""
    return tracks.replace(positions=np.where(frames[:, None, None], np.nan, tracks.positions),
                          confidence=np.where(frames[:, None], 0.0, tracks.confidence))  # fmt: skip


def _drop_upside_down(tracks: Tracks) -> Tracks:
    """``tracks`` with the frames where the subject stands on their head in the picture set missing
    (:func:`kinelift.core.views.upside_down_frames`: a detection error, a handstand, a fall), with a
    warning; an error where that is most frames with the subject (a picture turned upside down)."""
    from kinelift.core.views import upside_down_frames

    inverted = upside_down_frames(tracks)
    if inverted is None or not inverted.any():
        return tracks
    judged = int(tracks.valid.any(axis=1).sum())
    n = int(inverted.sum())
    if n >= 0.5 * judged:
        raise ValueRangeError("orientation", expected="a person upright in the picture (head above the feet; the lifters never saw "
                              "an upside-down person); the video is probably turned by 180 deg (a phone held upside down, a display "
                              "rotation lost in editing): turn it upright and run again",
                              got=f"the subject's head below their ankles in {n} of {judged} frames")  # fmt: skip
    log.warning("the subject's head is below their ankles in %d of %d frames (upside down: a detection error, a handstand or a "
                "fall, which the lifters never saw): set missing, no pose is reported there", n, judged)  # fmt: skip
    return _set_missing(tracks, inverted)


def _drop_frames_without_legs(tracks: Tracks, min_ratio: float) -> Tracks:
    """``tracks`` with the frames where the legs are out of view set missing
    (:func:`kinelift.processing.tracks_legs_in_view`); an error where no frame with the person shows them."""
    from kinelift.processing import LEGS_WINDOW, tracks_legs_in_view, valid_runs

    in_view = tracks_legs_in_view(tracks, min_relative_confidence=min_ratio)
    seen = tracks.valid.any(axis=1)
    if in_view is None or not seen.any():
        return tracks
    hidden = seen & ~in_view
    if not hidden.any():
        return tracks
    if hidden.sum() == seen.sum():
        raise ValueRangeError(
            "legs", expected=f"frames where a knee and an ankle of the subject are in view (inside the image, found with at least "
            f"{min_ratio} of the confidence of the points above the hips); kinelift measures hip, knee and ankle angles, so film "
            "the whole body (RunConfig's min_leg_relative_confidence = 0 lifts the guessed legs anyway)",
            got=f"none of the {int(seen.sum())} frames where the subject was found")  # fmt: skip
    log.warning("the subject's legs are out of view in %d of %d frames (%d stretches; no knee or no ankle inside the image with at "
                "least %.2f of the confidence of the points above the hips, smoothed over %.2f s): set missing, no pose is reported there",
                int(hidden.sum()), int(seen.sum()), len(valid_runs(hidden)), min_ratio, LEGS_WINDOW)  # fmt: skip
    return _set_missing(tracks, hidden)


def _person_size(tracks: Tracks) -> float:
    """The person's size in the tracks' units (:func:`kinelift.lifting.corruption.person_size`: the 90th percentile of the
    largest distance between two keypoints), 0 when no frame has two keypoints."""
    from kinelift.lifting.corruption import person_size

    try:
        return person_size(tracks.positions)
    except ValueRangeError:
        return 0.0


def _degrees_frame(table) -> Any:
    """The table as a DataFrame with rotational columns in degrees, renamed ``<name>_deg``."""
    import pandas as pd

    names = [f"{n}_deg" if u == "rad" else n for n, u in zip(table.column_names, table.column_units)]
    return pd.DataFrame(table.in_degrees(), index=pd.Index(table.time, name="time"), columns=names)


def run(input: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, config: RunConfig | None = None,
        overwrite: bool = False, progress: bool = True) -> RunSummary:  # fmt: skip
    """Run the main job on one input (see the module docs); returns its :class:`RunSummary`.

    Parameters
    ----------
    input : path
        A video file, a folder of frames, or any 2D track file kinelift reads.
    out_dir : path
        Output folder (created; files of other names in it are left alone).
    config : RunConfig, optional
        The options of every step (default: ``RunConfig()``).
    overwrite : bool, default False
        Recompute even when ``out_dir`` holds a complete earlier result (and the cached 2D tracks).
    progress : bool, default True
        Progress bars.
    """
    config = config or RunConfig()
    source, out = Path(input), Path(out_dir)
    if not source.exists():
        raise FileFormatError(source, "not found", expected="a video, a folder of frames or a track file")
    fingerprint = run_fingerprint(source, config)
    created = not out.exists()
    output_folder(out)
    try:
        if (done := _earlier_result(out, fingerprint, overwrite)) is not None:
            log.info("%s: complete result of the same input and settings in %s, not recomputed (overwrite=True to redo)", source, out)
            return done
        return _run(source, out, config, fingerprint, overwrite, progress)
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a failed run leaves no empty folder behind
        raise


def _run(source: Path, out: Path, config: RunConfig, fingerprint: dict[str, Any], overwrite: bool, progress: bool) -> RunSummary:
    from kinelift.analysis import analyze_squat, coordinate_angles, model_keypoints
    from kinelift.analysis.squat import ANGLE_CUTOFF
    from kinelift.io import validate_h5
    from kinelift.io.hdf5 import write_h5
    from kinelift.lifting import Intrinsics, lift
    from kinelift.processing import usable_cutoff
    from kinelift.skeleton import SkeletalModel

    started = time.perf_counter()
    stages: dict[str, float] = {}
    mark = [started]

    def stage(name: str) -> None:
        now = time.perf_counter()
        stages[name] = stages.get(name, 0.0) + now - mark[0]
        mark[0] = now

    steps = tqdm(total=5, desc=f"kinelift run {source.name}", disable=not progress)
    people = _read_2d(source, config, out / "tracks_2d.h5", detection_fingerprint(fingerprint), overwrite, progress)
    raw = _choose(people, config.person, source, config.person_at)
    stage("2d")
    steps.update()
    processed = _process(raw, config)
    stage("processing")
    steps.update()
    intrinsics = Intrinsics(config.focal, config.principal_point) if config.focal is not None else None
    lifted = lift(processed, lifter=config.lifter, height=config.height, intrinsics=intrinsics, refine=None if config.refine else False)
    if config.model:
        from kinelift.ik.keypoints import keypoint_ik

        model = SkeletalModel.from_osim(config.model)
        from kinelift.ik import IKOptions

        coordinates = keypoint_ik(model, lifted.keypoints, options=IKOptions(progress=progress)).to_table()
    else:
        model = SkeletalModel.from_spec(lifted.model)
        coordinates = lifted.to_table()
    stage("lifting")
    steps.update()
    angles = coordinate_angles(model, coordinates, thigh_lean=True)  # the thigh's lean: measured better than hip flexion from one camera
    view = lifted.keypoints.metadata[CAMERA_VIEW_KEY]  # a side view's depth (the frontal plane) is the lifter's guess
    points = model_keypoints(model, coordinates)
    points = points.replace(metadata={**points.metadata, CAMERA_VIEW_KEY: view})
    cutoff = usable_cutoff(ANGLE_CUTOFF, points.sampling_rate)  # a 10 frames/s video: its angles are not low-passed
    squat = analyze_squat(points, view="3d", up="y", feet=processed, cutoff=cutoff, progress=False)  # feet planted? seen in 2D
    stage("analysis")
    steps.update()
    video = _is_video(source) and config.video

    def annotate(folder: Path) -> None:
        _annotated_video(source, folder, processed, people, raw, angles, lifted.seen, config, progress)

    outputs = _write(out, raw, processed, lifted, coordinates, angles, points, squat, config, write_h5, fingerprint,
                     annotate if video else None, stage)  # fmt: skip
    validate_h5(outputs["result.h5"])
    stage("outputs")
    steps.update()
    steps.close()
    summary = RunSummary(
        input=str(source), out_dir=str(out), frames=processed.n_frames, duration_s=float(processed.time[-1] - processed.time[0]),
        people=len(people), keypoints=processed.keypoint_set.name, lifter=lifted.keypoints.metadata["lifter"],
        height_m=lifted.height, repetitions=len(squat.repetitions), verdicts=tuple(str(v) for v in squat.feedback.get("verdict", [])),
        outputs=outputs, seconds=time.perf_counter() - started, fingerprint=fingerprint, seen_frames=int(lifted.seen.sum()),
        stage_seconds={k: round(v, 3) for k, v in stages.items()}, bends_not_counted=len(squat.not_counted), camera_view=view,
        video_fps=_video_rate(source),
    )  # fmt: skip
    with atomic_path(out / "summary.json", overwrite=True) as tmp:
        tmp.write_text(json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in asdict(summary).items() if k != "reused"}, indent=2))
    (out / _PENDING).unlink(missing_ok=True)
    log.info("%s", summary.to_text())
    return summary


def _annotated_video(source: Path, folder: Path, subject: Tracks, people: list[Tracks], chosen: Tracks, angles, seen: np.ndarray,
                     config: RunConfig, progress: bool) -> None:  # fmt: skip
    """``annotated.mp4`` (every frame) and ``annotated.png`` (six frames spread over the seen ones) in ``folder``."""
    from kinelift.pipeline.annotated_video import write_annotated_video, write_contact_sheet

    others = [t for t in people if t is not chosen]
    times = subject.time[seen] if seen.any() else subject.time
    stills = times[np.unique(np.linspace(0, len(times) - 1, 6).round().astype(int))]
    video = write_annotated_video(source, folder / "annotated.mp4", subject, others=others, angles=angles, seen=seen, fps=config.fps,
                                  stills_at=stills, progress=progress, max_fps=_read_rate(config))  # fmt: skip
    write_contact_sheet([video.stills[float(t)] for t in stills if float(t) in video.stills], folder / "annotated.png")


def _write(out: Path, raw, processed, lifted, coordinates, angles, points, squat, config: RunConfig, write_h5,
           fingerprint: dict[str, Any], annotate: Callable[[Path], None] | None = None,
           stage: Callable[[str], None] = lambda name: None) -> dict[str, str]:  # fmt: skip
    """Write every output into a temporary folder, then move each file into ``out`` (after a note
    of the job's fingerprint, so that a run killed among the moves is recognised as this job's).

    ``annotate(folder)`` (the annotated video) runs in a second thread beside the other outputs
    (its decoding, drawing and encoding leave the interpreter free for the figures); ``stage``
    marks the end of the other outputs (``"outputs"``) and of the wait for the video after them
    (``"annotated_video"``)."""
    from kinelift.analysis.report import plot_squat_report
    from kinelift.io.mot import write_mot
    from kinelift.pipeline.figures import plot_angle_curves, plot_distance_matrices, plot_skeleton_snapshots

    staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=out))
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kinelift-annotated-video") if annotate is not None else None
    try:
        pending = pool.submit(annotate, staging) if pool is not None else None
        analysis_tables = {f"squat_{k}" if k == "joint_angles" else k: v for k, v in squat.to_tables().items()}
        write_h5(staging / "result.h5",
                 tracks=[raw.replace(person_id="detected_2d"), processed.replace(person_id="processed_2d"),
                         lifted.keypoints.replace(person_id="keypoints_3d"), lifted.joints.replace(person_id="joints_3d"),
                         lifted.markers.replace(person_id="markers_3d"), points.replace(person_id="anatomical_points_3d")],
                 kinematics={"coordinates": coordinates},
                 analysis={"joint_angles": angles, "lift_confidence": lifted.confidence_table(), **analysis_tables})  # fmt: skip
        write_mot(coordinates, staging / "kinematics.mot")
        lifted.write_trc(staging / "markers.trc")
        if not config.model:
            lifted.write_osim(staging / "model.osim")
        _degrees_frame(coordinates).to_csv(staging / "coordinates.csv", float_format="%.6g")
        _degrees_frame(angles).to_csv(staging / "joint_angles.csv", float_format="%.6g")
        squat.metrics_in_degrees().to_csv(staging / "squat_metrics.csv", index=False, float_format="%.6g")
        squat.feedback.to_csv(staging / "squat_feedback.csv", index=False)
        if config.figures:
            reps = squat.repetitions
            plot_angle_curves(angles, reps, staging / "angles.png")
            bottoms = [r.bottom_time for r in reps[:3]]
            plot_skeleton_snapshots(lifted.keypoints, [points.time[0], *bottoms, points.time[-1]], staging / "skeleton.png")
            seen = np.flatnonzero(lifted.seen)  # without a repetition: the middle frame where the subject was seen (not a NaN frame)
            shown = int(np.argmin(np.abs(points.time - bottoms[0]))) if bottoms else int(seen[len(seen) // 2]) if len(seen) else 0
            plot_distance_matrices(lifted.keypoints, shown, staging / "distances.png")
            plot_squat_report(squat, staging / "squat_report.png")
        stage("outputs")
        if pending is not None:
            pending.result()
            stage("annotated_video")
        outputs = {}
        with atomic_path(out / _PENDING, overwrite=True) as tmp:
            tmp.write_text(json.dumps(fingerprint))
        for item in sorted(staging.iterdir()):
            os.replace(item, out / item.name)
            outputs[item.name] = str(out / item.name)
        return outputs
    finally:
        if pool is not None:
            pool.shutdown(wait=True)  # the video thread writes into the staging folder: let it finish first
        shutil.rmtree(staging, ignore_errors=True)
