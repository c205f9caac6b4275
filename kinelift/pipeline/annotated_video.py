"""What the main job saw, drawn on the video: the subject, the other people, the current angles.

:func:`write_annotated_video` draws on every frame of a video (or image folder):

- the subject's box (around its keypoints, padded by 10 % of its size) and id;
- its keypoints and skeleton edges coloured by confidence (red at 0, yellow at 0.5, green at 1;
  a point filled in by gap filling has confidence 0);
- the current joint angles as numbers (degrees, kinelift's signs: flexion positive);
- every other person found, in grey;
- "subject not seen" on frames where the subject was lost (no angles are reported there).

It writes H.264 (``libx264``) where the PyAV build has it, else MPEG-4 Part 2, at the video's
own frame rate (odd widths and heights lose their last pixel column or row, as yuv420p needs
even sizes). :func:`write_contact_sheet` tiles a few annotated frames into one PNG for a quick look.

Frames are matched to track samples by time (the tracks' times are the frames' presentation
times when the detector made them); a frame without a sample within half a frame interval is
drawn without a subject.

Examples
--------
>>> import numpy as np, tempfile, pathlib, cv2
>>> from kinelift.core.tracks import Tracks
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> for i in range(4):
...     _ = cv2.imwrite(str(folder / f"f{i}.png"), np.zeros((120, 160, 3), np.uint8))
>>> p = np.tile([[80.0, 30.0], [70.0, 60.0], [90.0, 60.0], [70.0, 90.0], [90.0, 90.0], [70.0, 110.0]], (4, 1, 1))
>>> subject = Tracks(p, keypoints="LOWER-6", fps=10.0)
>>> video = write_annotated_video(folder, folder / "out.mp4", subject, fps=10.0, stills_at=[0.0, 0.3])
>>> video.n_frames, sorted(video.stills), video.stills[0.3].shape
(4, [0.0, 0.3], (120, 160, 3))
>>> write_contact_sheet(list(video.stills.values()), folder / "sheet.png").name
'sheet.png'
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError, ValueRangeError
from kinelift.io._atomic import atomic_path

__all__ = ["AnnotatedVideo", "annotate_frame", "write_annotated_video", "write_contact_sheet", "ANGLES_SHOWN"]

log = logging.getLogger(__name__)

_DRAWING_THREADS = 1
"""Threads that draw the frames (annotations and the conversion to the encoder's colours; the
frames are encoded in order): drawing in its own thread overlaps the encoding, OpenCV and NumPy
releasing the interpreter. On the 18-s 720p lateral raise, this project's 2-core CPU writes the
video in 3.2-3.4 s instead of 3.8-4.0; two drawing threads gave the same."""

ANGLES_SHOWN = ("hip_flexion_r", "hip_flexion_l", "thigh_lean_r", "thigh_lean_l", "knee_flexion_r", "knee_flexion_l", "ankle_dorsiflexion_r",
                "ankle_dorsiflexion_l")
"""The angles written on each frame (those the table has), in this order."""

_GREY = (150, 150, 150)


@dataclass(frozen=True)
class AnnotatedVideo:
    """What :func:`write_annotated_video` wrote: the file, its frame count and the annotated
    frames kept for a contact sheet (requested time -> RGB image)."""

    path: Path
    n_frames: int
    stills: dict[float, np.ndarray] = field(default_factory=dict)


def _confidence_colour(c: float) -> tuple[int, int, int]:
    """RGB from red (0) through yellow (0.5) to green (1)."""
    c = float(np.clip(c, 0.0, 1.0)) if np.isfinite(c) else 0.0
    return (255, int(round(510 * c)), 0) if c < 0.5 else (int(round(510 * (1.0 - c))), 255, 0)


def _sample_index(tracks: Tracks, times: np.ndarray, half_interval: float) -> np.ndarray:
    """For each frame time, the tracks' sample within ``half_interval`` of it, or -1."""
    t = tracks.time
    i = np.clip(np.searchsorted(t, times), 1, max(len(t) - 1, 1))
    nearer = np.where(np.abs(t[i - 1] - times) <= np.abs(t[np.minimum(i, len(t) - 1)] - times), i - 1, i)
    nearer = np.minimum(nearer, len(t) - 1)
    return np.where(np.abs(t[nearer] - times) <= half_interval, nearer, -1)


def _label_origin(lo: np.ndarray, hi: np.ndarray, text_height: int, covered: tuple[int, int], image_height: int) -> tuple[int, int]:
    """Where a box's label goes: above the box, unless that spot lies under the angle lines (the
    top-left ``covered`` (width, height) px; a person filling a portrait frame reaches them), then
    under the box, or inside its bottom edge when the frame ends there."""
    x, y = int(lo[0]), max(int(lo[1]) - 4, text_height)
    if x < covered[0] and y - text_height < covered[1]:
        below = int(hi[1]) + text_height + 4
        y = below if below < image_height else int(hi[1]) - 4
    return x, y


def _draw_person(image: np.ndarray, tracks: Tracks, k: int, *, grey: bool, label: str, scale: float,
                 covered: tuple[int, int] = (0, 0)) -> None:  # fmt: skip
    import cv2

    xy, valid = tracks.positions[k], tracks.valid[k]
    if not valid.any():
        return
    conf = np.where(valid, tracks.confidence[k], 0.0)
    thick = max(1, int(round(2 * scale)))
    for a, b in tracks.keypoint_set.edges:
        if valid[a] and valid[b]:
            colour = _GREY if grey else _confidence_colour(min(conf[a], conf[b]))
            cv2.line(image, tuple(int(v) for v in np.round(xy[a])), tuple(int(v) for v in np.round(xy[b])), colour, thick, cv2.LINE_AA)
    for j in np.flatnonzero(valid):
        colour = _GREY if grey else _confidence_colour(conf[j])
        cv2.circle(image, tuple(int(v) for v in np.round(xy[j])), max(2, int(round(3 * scale))), colour, -1, cv2.LINE_AA)
    lo, hi = xy[valid].min(0), xy[valid].max(0)
    pad = 0.1 * max(float((hi - lo).max()), 1.0)
    lo, hi = (lo - pad).astype(int), (hi + pad).astype(int)
    cv2.rectangle(image, tuple(lo), tuple(hi), _GREY if grey else (0, 200, 255), thick)
    (_, text_height), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, thick)
    cv2.putText(image, label, _label_origin(lo, hi, max(text_height, 12), covered, image.shape[0]), cv2.FONT_HERSHEY_SIMPLEX,
                0.5 * scale, _GREY if grey else (0, 200, 255), thick, cv2.LINE_AA)  # fmt: skip


@lru_cache(maxsize=512)
def _text_coverage(line: str, scale: float) -> tuple[int, int, np.ndarray, np.ndarray]:
    """``line`` in white with a black outline, as OpenCV's anti-aliased text: the offset of its
    patch from the text origin (x, y) and the patch's outline and fill coverage ``(h, w, 1)``
    (uint8, 255 = covered; about 45 kB a line at 720p). Cached: the angle lines repeat, and drawing
    text was the annotated video's costliest step after encoding (putText 0.33 ms a call at 720p)."""
    import cv2

    font, size = cv2.FONT_HERSHEY_SIMPLEX, 0.55 * scale
    outline, fill = max(2, int(round(4 * scale))), max(1, int(round(1.5 * scale)))
    (width, height), base = cv2.getTextSize(line, font, size, outline)
    pad = outline + 2
    origin = (pad, pad + height)
    shape = (height + base + 2 * pad, width + 2 * pad)
    covered = []
    for thickness in (outline, fill):
        canvas = np.zeros(shape, np.uint8)
        cv2.putText(canvas, line, origin, font, size, 255, thickness, cv2.LINE_AA)
        covered.append(canvas[..., None])
    return -origin[0], -origin[1], covered[0], covered[1]


def _line_origin(i: int, scale: float) -> tuple[int, int]:
    """The text origin (x, y) px of angle line ``i`` (0 at the top) that :func:`_draw_text` writes."""
    return int(round(8 * scale)), int(round(8 * scale)) + int(round(20 * scale)) * (i + 1)


def _text_extent(lines: Sequence[str], scale: float) -> tuple[int, int]:
    """The (width, height) px from the top-left corner that :func:`_draw_text` covers with ``lines``."""
    if not lines:
        return 0, 0
    widths = []
    for line in lines:
        dx, _, outline, _ = _text_coverage(line, scale)
        widths.append(_line_origin(0, scale)[0] + dx + outline.shape[1])
    return max(widths), _line_origin(len(lines) - 1, scale)[1] + int(round(10 * scale))


def _draw_text(image: np.ndarray, lines: Sequence[str], scale: float) -> None:
    for i, line in enumerate(lines):
        dx, dy, outline, fill = _text_coverage(line, scale)
        x, y = _line_origin(i, scale)
        x0, y0 = x + dx, y + dy
        h, w = outline.shape[:2]
        a0, b0 = max(y0, 0), max(x0, 0)
        a1, b1 = min(y0 + h, image.shape[0]), min(x0 + w, image.shape[1])
        if a1 <= a0 or b1 <= b0:
            continue
        rows, cols = slice(a0 - y0, a1 - y0), slice(b0 - x0, b1 - x0)
        region = image[a0:a1, b0:b1].astype(np.float32) * (1.0 - outline[rows, cols] / np.float32(255.0))  # black outline
        f = fill[rows, cols] / np.float32(255.0)
        image[a0:a1, b0:b1] = np.rint(region * (1.0 - f) + 255.0 * f).astype(np.uint8)  # white text


def annotate_frame(image: np.ndarray, subject: Tracks, k: int, *, others: Sequence[tuple[Tracks, int]] = (),
                   angles: TimeSeriesTable | None = None, seen: bool = True, label: str = "subject",
                   in_place: bool = False) -> np.ndarray:  # fmt: skip
    """One RGB frame ``(H, W, 3)`` uint8 with sample ``k`` of ``subject`` drawn (``k < 0``: none),
    the others' samples in grey and the angles of row ``k`` of ``angles`` (degrees); a copy, or
    with ``in_place`` (a C-contiguous, writable ``image``) drawn on ``image`` itself and returned."""
    if in_place and not (image.flags.c_contiguous and image.flags.writeable and image.dtype == np.uint8):
        raise ValueRangeError("image", expected="a C-contiguous, writable uint8 array to draw on in place", got=image.dtype)
    out = image if in_place else np.ascontiguousarray(image).copy()
    scale = max(out.shape[0], out.shape[1]) / 1000.0 + 0.4
    lines = []
    if k < 0 or not seen:
        lines.append("subject not seen")
    elif angles is not None:
        row = np.rad2deg(angles.values[k])
        for name in ANGLES_SHOWN:
            if name in angles.column_names:
                value = row[angles.column_names.index(name)]
                lines.append(f"{name.replace('_', ' ')}: " + (f"{value:5.0f} deg" if np.isfinite(value) else "-"))
    covered = _text_extent(lines, scale)  # the labels keep out of the angle lines
    for tracks, j in others:
        if j >= 0:
            _draw_person(out, tracks, j, grey=True, label=str(tracks.person_id), scale=scale, covered=covered)
    if k >= 0:
        _draw_person(out, subject, k, grey=False, label=f"{label} {subject.person_id}", scale=scale, covered=covered)
    _draw_text(out, lines, scale)
    return out


def write_annotated_video(source: str | os.PathLike[str], path: str | os.PathLike[str], subject: Tracks, *,
                          others: Sequence[Tracks] = (), angles: TimeSeriesTable | None = None, seen: np.ndarray | None = None,
                          fps: float | None = None, overwrite: bool = False, progress: bool = True,
                          stills_at: Sequence[float] = (), max_fps: float | None = None) -> AnnotatedVideo:  # fmt: skip
    """Draw the subject (and ``others``) on every frame of ``source`` into ``path`` (every frame
    read at ``max_fps``, as the tracks were made: :func:`kinelift.detect.video.iter_frames`).

    Parameters
    ----------
    source : path
        The video (or image folder, with ``fps``) the tracks were made from.
    path : path
        The ``.mp4`` to write (atomically: whole or not at all).
    subject : Tracks
        The analysed person's 2D keypoints (pixels), times in seconds of the video.
    others : sequence of Tracks
        Other people found, drawn in grey.
    angles : TimeSeriesTable, optional
        Angles (rad) on the subject's samples (same rows), written as degrees (:data:`ANGLES_SHOWN`).
    seen : ndarray (n_samples,) of bool, optional
        Where the subject was seen; elsewhere the frame says "subject not seen" and shows no angles.
    fps : float, optional
        The frame rate: needed for an image folder; a video's comes from the tracks' times.
    stills_at : sequence of float
        Times (s) whose nearest annotated frames are also returned (for :func:`write_contact_sheet`).
    max_fps : float, optional
        Read the source thinned to at most about this rate (the video is written at the rate of
        the frames read); ``None``: every frame.

    Returns
    -------
    AnnotatedVideo
    """
    import av
    import cv2

    from kinelift.detect.video import iter_frames, read_ahead

    if subject.n_dims != 2:
        raise ShapeError("subject", expected="2D keypoints in pixels", got=f"{subject.n_dims}D positions")
    if angles is not None and angles.n_frames != subject.n_frames:
        raise ShapeError("angles", expected=f"{subject.n_frames} rows, one per sample of the subject", got=angles.n_frames)
    seen = np.ones(subject.n_frames, dtype=bool) if seen is None else np.asarray(seen, dtype=bool)
    if seen.shape != (subject.n_frames,):
        raise ShapeError("seen", expected=f"({subject.n_frames},) booleans", got=seen.shape)
    rate = fps or (subject.sampling_rate if np.isfinite(subject.sampling_rate) else None)
    if not rate or rate <= 0:
        raise ValueRangeError("fps", expected="the video's frame rate (the tracks do not give it)", got=fps)
    half = 0.5 / rate
    written, kept, nearest = 0, {}, {float(t): np.inf for t in stills_at}
    bar = tqdm(desc="annotated video", unit="frame", disable=not progress)
    with atomic_path(Path(path), overwrite=overwrite) as tmp, ThreadPoolExecutor(_DRAWING_THREADS, "kinelift-drawing") as drawing:
        container = av.open(str(tmp), mode="w", format="mp4")
        try:
            stream = None
            for frames, times in read_ahead(iter_frames(source, fps=fps, chunk=16, max_fps=max_fps), depth=1):  # decoding overlaps drawing
                if stream is None and max_fps is not None and len(times) > 1:  # the rate of the frames read, not the source's
                    rate = 1.0 / float(np.median(np.diff(times)))
                    half = 0.5 / rate
                index = _sample_index(subject, times, half)
                other_index = [(t, _sample_index(t, times, half)) for t in others]

                def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
                    k = int(index[n])
                    drawn = annotate_frame(frames[n], subject, k, others=[(t, int(i[n])) for t, i in other_index], angles=angles,
                                           seen=bool(seen[k]) if k >= 0 else False, in_place=True)  # fmt: skip (a chunk of its own)
                    drawn = drawn[: drawn.shape[0] // 2 * 2, : drawn.shape[1] // 2 * 2]
                    # the encoder's pixel format converted by OpenCV: 0.6 ms a 720p frame against FFmpeg's 4.7 (same BT.601 colours)
                    return drawn, cv2.cvtColor(drawn, cv2.COLOR_RGB2YUV_I420)

                for n, (drawn, planes) in enumerate(drawing.map(draw, range(len(frames)))):  # in order
                    if stream is None:
                        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
                        stream = container.add_stream(codec, rate=Fraction(rate).limit_denominator(1001))  # 30000/1001 for 29.97
                        stream.width, stream.height, stream.pix_fmt = drawn.shape[1], drawn.shape[0], "yuv420p"
                        if codec == "libx264":  # a preview: speed before size (720p on the 2-core CPU: "veryfast" 215-225 frames/s,
                            stream.options = {"preset": "ultrafast"}  # "ultrafast" 440-540 at 4.9x the size, about 6 KB a frame)
                        log.info("annotated video: %s, %dx%d at %.3g frames/s", codec, drawn.shape[1], drawn.shape[0], rate)
                    for packet in stream.encode(av.VideoFrame.from_ndarray(planes, format="yuv420p")):
                        container.mux(packet)
                    for t in nearest:
                        if abs(times[n] - t) < nearest[t]:
                            nearest[t], kept[t] = abs(times[n] - t), drawn
                    written += 1
                    bar.update()
                for t, image in kept.items():  # a still drawn in this chunk is a view of it: kept alone, not with its chunk
                    if image.base is not None:
                        kept[t] = image.copy()
            if stream is not None:
                for packet in stream.encode():
                    container.mux(packet)
        finally:
            container.close()
            bar.close()
        if not written:
            raise ValueRangeError("source", expected="a video with at least one frame", got=str(source))
    return AnnotatedVideo(Path(path), written, kept)


def write_contact_sheet(images: Sequence[np.ndarray], path: str | os.PathLike[str], *, columns: int = 3, width: int = 480,
                        overwrite: bool = True) -> Path:  # fmt: skip
    """Tile RGB images (each resized to ``width`` pixels wide) into one PNG, ``columns`` per row."""
    import cv2

    if not images:
        raise ValueRangeError("images", expected="at least one image", got=0)
    if columns < 1 or width < 8:
        raise ValueRangeError("columns, width", expected="columns >= 1 and width >= 8", got=(columns, width))
    tiles = [cv2.resize(np.ascontiguousarray(im), (width, max(1, int(round(im.shape[0] * width / im.shape[1]))))) for im in images]
    height = max(t.shape[0] for t in tiles)
    tiles = [np.pad(t, ((0, height - t.shape[0]), (0, 0), (0, 0))) for t in tiles]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    rows = [np.concatenate(tiles[i : i + columns], axis=1) for i in range(0, len(tiles), columns)]
    sheet = np.concatenate(rows, axis=0)
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        ok, data = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        if not ok:
            raise ValueRangeError("images", expected="images OpenCV can encode as PNG", got=sheet.shape)
        tmp.write_bytes(data.tobytes())
    return Path(path)
