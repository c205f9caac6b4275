"""Options of the main job (``kinelift run``) as one frozen dataclass, readable from TOML.

A TOML file for ``kinelift run --config`` has one ``[run]`` table (every key optional)::

    [run]
    height = 1.78          # m; else the lifter estimates it
    cutoff = 6.0           # Hz: 2D low-pass before lifting
    model = "subject01.osim"

Examples
--------
>>> RunConfig(height=1.8).lifter is None
True
>>> run_config_from_dict({"run": {"cutoff": 4.0}}).cutoff
4.0
"""

from __future__ import annotations

import math
import os
from dataclasses import InitVar, dataclass
from typing import Any

from kinelift.core.tracks import checked_image_size
from kinelift.errors import ValueRangeError
from kinelift.io.toml_config import read_toml, rebase_paths, tables_to_dataclasses

__all__ = ["RunConfig", "run_config_from_dict", "load_run_config"]


@dataclass(frozen=True)
class RunConfig:
    """What :func:`kinelift.run` does at each step.

    Input: ``detector`` for a video or image folder: ``"auto"`` (MediaPipe's BlazePose when the
    optional ``mediapipe`` package is installed, else the shipped ``"LSP-14"``), ``"mediapipe"``, a
    shipped name or a weights file; ``boxes`` (COCO detection JSON, or ``"mediapipe"``: BlazePose's
    box of the person it follows, :func:`kinelift.detect.mediapipe_pose.mediapipe_boxes`) for the
    heatmap detectors;
    ``fps`` for files (and folders) without a frame rate, ``keypoint_set`` for an OpenPose folder's layout (``"BODY-25"``, ``"BODY-25B"``; ``None``: from the data),
    ``person`` (index in the file; ``None``: the person seen longest and most clearly,
    :func:`kinelift.pipeline.run.subject_score`) or ``person_at``: a point ``(x, y)`` or a box
    ``(x, y, width, height)`` in image pixels on the person, in the first frame where they are
    seen (:func:`kinelift.pipeline.run.subject_at`). ``max_fps``: a video (or image folder)
    faster than this is read thinned to at most about this many frames per second
    (:func:`kinelift.detect.video.iter_frames`; default 30, the lifters' own rate, which they
    resample every track to: a 60 frames/s phone video is detected on every second frame, in
    about half the time, and the 2D tracks, the kinematics and the annotated video are at the
    rate read; ``None`` or 0: every frame; not with ``boxes`` from a file, which are indexed by
    every frame).
    2D processing: frames whose mean keypoint confidence is below ``min_relative_confidence``
    times the track's median are set missing (a person entering or leaving the image, seen in part,
    or keypoints left on the background; 0 switches it off), frames where the legs are out of view
    set missing (no knee or no ankle with a confidence of at least ``min_leg_relative_confidence``
    times the median of the person's points above the hips in that frame, inside the image; a
    person filmed from the waist up, or whose legs leave the picture:
    :func:`kinelift.processing.tracks_legs_in_view`; 0 switches it off), a knee or ankle that a
    detector put on the other leg for at most ``max_double_count_frames`` frames set missing
    (double counting: it jumped onto its partner's place and back while the partner moved
    smoothly, :func:`kinelift.processing.tracks_drop_double_counted`; tracks under 20 frames/s are not
    checked; 0 switches it off), Hampel outlier rejection (``outlier_half_window`` frames each side,
    ``outlier_sigma``; 0 switches it off; a point closer than ``outlier_floor`` times the person's
    size to its window's median is never an outlier: a still person's windows have no spread), gap filling up to ``max_gap`` frames (cubic), and a
    zero-lag Butterworth low-pass at ``cutoff`` Hz (``None``: none; ``cutoff_hz`` is its old,
    deprecated name, in Python and in TOML).
    Lifting: ``lifter`` (default from the keypoints: ``"BODY-25+LOWER-6"``, two shipped lifters
    averaged, for sets with feet seen in most frames (BODY-25, HALPE-26, BODY-25B),
    ``"COCO-17+LOWER-6"`` for other COCO-like sets, ``"LSP-14+LOWER-6"`` for kinelift's detector,
    else ``"LOWER-6"``;
    see :func:`kinelift.lifting.lift`), ``height`` (m), camera ``focal`` (px) and
    ``principal_point`` (px), ``image_size`` (width, height px: the frame size of the video a
    track file comes from, for files that do not record it, such as OpenPose's JSON; without it
    and without ``focal``, such a file is lifted without the fit), ``refine``: fit the lifted pose back to the 2D keypoints through
    that camera, or without them through a camera of 65 deg field of view across the longer side
    of the video's frame, assumed (:func:`kinelift.lifting.lift`; ``False``: no fit), and ``model``: an
    OpenSim ``.osim`` fitted to the lifted keypoints by inverse kinematics (``None``: the built-in
    model the lifter predicts).
    Outputs: ``figures`` (PNG files) and ``video``: for a video or image-folder input, the
    annotated video ``annotated.mp4`` and its contact sheet ``annotated.png``
    (:mod:`kinelift.pipeline.annotated_video`).
    """

    detector: str = "auto"
    boxes: str | None = None
    fps: float | None = None
    keypoint_set: str | None = None
    person: int | None = None
    person_at: tuple[float, ...] | None = None
    max_fps: float | None = 30.0
    min_relative_confidence: float = 0.6
    min_leg_relative_confidence: float = 0.4
    max_double_count_frames: int = 8
    outlier_half_window: int = 4
    outlier_sigma: float = 3.0
    outlier_floor: float = 0.03
    max_gap: int = 8
    cutoff: float | None = 6.0
    lifter: str | None = None
    height: float | None = None
    focal: float | None = None
    principal_point: tuple[float, float] | None = None
    image_size: tuple[int, int] | None = None
    refine: bool = True
    model: str | None = None
    figures: bool = True
    video: bool = True
    cutoff_hz: InitVar[float | None] = None

    def __post_init__(self, cutoff_hz: float | None) -> None:
        if cutoff_hz is not None:
            from kinelift._deprecation import renamed_argument

            object.__setattr__(self, "cutoff", renamed_argument("RunConfig", "cutoff_hz", "cutoff", cutoff_hz, self.cutoff, default=6.0, stacklevel=4))
        if self.principal_point is not None:
            object.__setattr__(self, "principal_point", tuple(float(v) for v in self.principal_point))
        if self.person_at is not None:
            try:
                at = tuple(float(v) for v in self.person_at)
            except (TypeError, ValueError):
                at = ()
            if len(at) not in (2, 4) or not all(math.isfinite(v) for v in at) or (len(at) == 4 and min(at[2:]) <= 0):
                raise ValueRangeError("person_at", expected="a point (x, y) or a box (x, y, width > 0, height > 0) in image pixels",
                                      got=self.person_at)  # fmt: skip
            if self.person is not None:
                raise ValueRangeError("person/person_at", expected="one of them, not both", got=(self.person, at))
            object.__setattr__(self, "person_at", at)
        if self.image_size is not None:
            object.__setattr__(self, "image_size", checked_image_size(self.image_size, name="image_size"))
        if self.max_fps is not None:
            if isinstance(self.max_fps, bool) or not isinstance(self.max_fps, (int, float)) or not (math.isfinite(self.max_fps) and self.max_fps >= 0):
                raise ValueRangeError("max_fps", expected="a positive frame rate (frames/s), or 0 or None for every frame", got=self.max_fps)
            object.__setattr__(self, "max_fps", float(self.max_fps) if self.max_fps > 0 else None)
        if (self.focal is None) != (self.principal_point is None):
            raise ValueRangeError("focal/principal_point", expected="both or neither", got=(self.focal, self.principal_point))
        if not 0.0 <= self.min_relative_confidence < 1.0:
            raise ValueRangeError("min_relative_confidence", expected="a fraction in [0, 1) of the track's median confidence",
                                  got=self.min_relative_confidence)  # fmt: skip
        if not 0.0 <= self.min_leg_relative_confidence < 1.0:
            raise ValueRangeError("min_leg_relative_confidence", expected="a fraction in [0, 1) of the confidence of the points above the hips",
                                  got=self.min_leg_relative_confidence)  # fmt: skip
        if isinstance(self.max_double_count_frames, bool) or not isinstance(self.max_double_count_frames, int) or self.max_double_count_frames < 0:
            raise ValueRangeError("max_double_count_frames", expected="an integer >= 0 (frames; 0 switches it off)", got=self.max_double_count_frames)
        if not 0.0 <= self.outlier_floor < 1.0:
            raise ValueRangeError("outlier_floor", expected="a fraction in [0, 1) of the person's size", got=self.outlier_floor)
        if self.max_gap < 0 or self.outlier_half_window < 0 or self.outlier_sigma < 0:
            raise ValueRangeError("max_gap/outlier_half_window/outlier_sigma", expected="each >= 0",
                                  got=(self.max_gap, self.outlier_half_window, self.outlier_sigma))  # fmt: skip
        if self.cutoff is not None and not (isinstance(self.cutoff, (int, float)) and self.cutoff > 0):
            raise ValueRangeError("cutoff", expected="a positive frequency (Hz) or None", got=self.cutoff)
        if not isinstance(self.refine, bool):
            raise ValueRangeError("refine", expected="true or false", got=self.refine)
        if self.height is not None and not 0.5 <= self.height <= 2.5:
            raise ValueRangeError("height", expected="metres between 0.5 and 2.5", got=self.height)


def run_config_from_dict(values: dict[str, Any], *, source: str = "config") -> RunConfig:
    """A :class:`RunConfig` from ``{"run": {...}}``; unknown tables or keys raise (``cutoff_hz``, the old
    name of ``cutoff``, is taken with a DeprecationWarning)."""
    table = values.get("run")
    if isinstance(table, dict) and "cutoff_hz" in table:
        from kinelift._deprecation import renamed_argument

        table = dict(table)
        table["cutoff"] = renamed_argument(f"{source} [run]", "cutoff_hz", "cutoff", table.pop("cutoff_hz"), table.get("cutoff", 6.0), default=6.0)
        values = {**values, "run": table}
    return tables_to_dataclasses(values, {"run": RunConfig}, source=source)["run"]


def load_run_config(path: str | os.PathLike[str]) -> RunConfig:
    """Read ``[run]`` from a TOML file; ``model``, ``boxes`` and ``detector`` paths are relative to it."""
    values = read_toml(path, what="a TOML file with a [run] table")
    table = values.get("run", {})
    detector = table.get("detector") if isinstance(table, dict) else None
    weights_file = isinstance(detector, str) and detector.endswith(".pt")  # else a shipped name
    files = ("model", "boxes", "detector") if weights_file else ("model", "boxes")
    from kinelift.detect.mediapipe_pose import MEDIAPIPE  # here, not at import: kinelift.detect imports torch

    named = isinstance(table, dict) and table.get("boxes") == MEDIAPIPE  # a name, not a file
    rebase_paths(table, tuple(k for k in files if not (k == "boxes" and named)), path)
    return run_config_from_dict(values, source=str(path))
