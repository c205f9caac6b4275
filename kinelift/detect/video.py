"""Reading frames: videos through PyAV (exact timestamps, variable frame rate) and image folders.

:func:`iter_frames` yields chunks ``(frames, times)``: RGB uint8 ``(n, H, W, 3)`` and each
frame's presentation time in seconds (``pts x time_base`` of the stream, so a variable frame rate
video keeps its true times). An image folder is a sequence of frames in file-name order at a
given ``fps`` (images of one size).

Frames come upright, as video players show them: a phone filming in portrait stores landscape
frames and a display rotation (the container's display matrix, ``VideoFrame.rotation`` in PyAV);
the frames are turned by it (a multiple of 90 deg; another angle is rounded to the nearest one,
with a warning), so ``H x W`` and every pixel coordinate kinelift reports (keypoints, boxes,
:func:`frame_size`) are those of the displayed picture, as OpenCV, FFmpeg's player and the
importers' tools (OpenPose, MediaPipe) use them.

``max_fps`` thins a faster source as it is read, by the frames' own times: after each frame
read, the next is the one nearest to ``1 / max_fps`` later (a frame is read unless it lies more
than half its own interval before that time). A 60 frames/s phone video read at ``max_fps=30``
gives every second frame, 120 every fourth and 50 every second (25 a second); 40 and 45, whose
frames lie nearer to 1/30 s apart than to 2/30, and a 30 frames/s video whose frame times jitter
give every frame. Frames left out are decoded (a video's frames depend on each other) but not
converted to RGB.

Examples
--------
>>> import numpy as np, tempfile, pathlib, cv2
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> for i in range(3):
...     _ = cv2.imwrite(str(folder / f"f{i}.png"), np.full((8, 6, 3), i, np.uint8))
>>> [(f.shape, t.tolist()) for f, t in iter_frames(folder, fps=10.0, chunk=2)]
[((2, 8, 6, 3), [0.0, 0.1]), ((1, 8, 6, 3), [0.2])]
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np

from kinelift.errors import FileFormatError, ValueRangeError

__all__ = ["iter_frames", "read_ahead", "IMAGE_SUFFIXES", "display_turns", "frame_count", "frame_rate", "frame_size"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")

_Item = TypeVar("_Item")

log = logging.getLogger(__name__)


def display_turns(rotation: float) -> int:
    """Quarter turns (counterclockwise, ``np.rot90``'s ``k``, 0-3) that show a decoded frame upright,
    from its display rotation in degrees (counterclockwise, as PyAV's ``VideoFrame.rotation``).

    Examples
    --------
    >>> display_turns(0), display_turns(90), display_turns(-90), display_turns(-180)
    (0, 1, 3, 2)
    """
    turns = int(round(float(rotation) / 90.0))
    if abs(float(rotation) - 90.0 * turns) > 1.0:
        log.warning("the video's display rotation of %.1f deg is not a multiple of 90: frames turned by %d deg instead",
                    float(rotation), 90 * turns)  # fmt: skip
    return turns % 4


def _turn(image: np.ndarray, turns: int, out: np.ndarray | None = None) -> np.ndarray:
    """``np.rot90(image, turns)`` as a contiguous copy, through OpenCV (ten times numpy's copy of the
    view at 1080p), into ``out`` where given."""
    import cv2

    return cv2.rotate(image, (cv2.ROTATE_90_COUNTERCLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_CLOCKWISE)[turns - 1], dst=out)


def _rgb_into(frame, out: np.ndarray, turns: int) -> None:
    """Frame ``frame`` (PyAV) as RGB, turned upright by ``turns``, written into ``out`` (H, W, 3).

    The RGB picture is read from FFmpeg's own buffer (which FFmpeg reuses from frame to frame) and
    copied once, turned on the way, into the chunk: on a 1080x1920 phone video stored sideways this
    reads 540 frames in 4.5-7.3 s against 5.0-13.0 s through ``to_ndarray``, a turned copy and
    ``np.stack`` (each a fresh 6 MB array, whose first touch costs more than the copy on this
    project's machine); the pixels are the same."""
    rgb = frame.reformat(format="rgb24")
    plane = rgb.planes[0]
    height, width = rgb.height, rgb.width
    if plane.line_size < 3 * width or plane.buffer_size < plane.line_size * height:
        image = rgb.to_ndarray()  # a layout this reading does not expect: PyAV's own copy
    else:
        image = np.frombuffer(plane, np.uint8).reshape(height, plane.line_size)[:, : 3 * width].reshape(height, width, 3)
    if turns:
        _turn(image, turns, out)
    else:
        out[...] = image


def _frame_turns(frame) -> int:
    if not hasattr(frame, "rotation"):  # PyAV before 14 does not read the display matrix
        import av

        log.warning("PyAV %s does not give the video's display rotation (PyAV >= 14 does): a video filmed in portrait on a "
                    "phone may come out sideways", av.__version__)  # fmt: skip
        return 0
    return display_turns(frame.rotation or 0)


def _image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileFormatError(folder, "no image files", expected=f"a folder of {'/'.join(IMAGE_SUFFIXES)} images")
    return files


def frame_count(source: str | os.PathLike[str], *, max_fps: float | None = None, fps: float | None = None) -> int | None:
    """Number of frames when the container (or folder) says it, else None; with ``max_fps``, the
    number :func:`iter_frames` reads (a folder's at ``fps``; a video's estimated from its stated
    frame rate, for progress bars)."""
    source = Path(source)
    if source.is_dir():
        n = len(_image_files(source))
        return len(_kept(np.arange(n) / fps, max_fps)) if max_fps is not None and fps else n
    import av

    try:
        with av.open(str(source)) as container:
            stream = container.streams.video[0]
            n, rate = stream.frames or None, stream.average_rate
    except (av.error.FFmpegError, IndexError):
        return None
    if n is None or max_fps is None or not rate:
        return n
    return len(_kept(np.arange(n) / float(rate), max_fps))  # at the stated rate


def frame_rate(source: str | os.PathLike[str]) -> float | None:
    """A video's mean frame rate (frames/s) as its stream states it, else None (and for an image folder)."""
    source = Path(source)
    if source.is_dir():
        return None
    import av

    try:
        with av.open(str(source)) as container:
            rate = container.streams.video[0].average_rate
    except (av.error.FFmpegError, OSError, IndexError):
        return None
    return float(rate) if rate else None


class _Thinning:
    """Which frames a reader at ``max_fps`` reads (see the module docs), frame time by frame time."""

    def __init__(self, max_fps: float | None) -> None:
        if max_fps is not None and not (np.isfinite(max_fps) and max_fps > 0):
            raise ValueRangeError("max_fps", expected="a positive frame rate (frames/s), or None for every frame", got=max_fps)
        self.interval = 0.0 if max_fps is None else 1.0 / float(max_fps)
        self.last, self.previous = -np.inf, None  # the last frame read, the last frame seen

    def keep(self, time: float) -> bool:
        half = 0.0 if self.previous is None else 0.5 * max(time - self.previous, 0.0)
        self.previous = time
        if time + half + 1e-9 < self.last + self.interval:  # a frame nearer the due time follows
            return False
        self.last = time
        return True


def _kept(times: np.ndarray, max_fps: float | None) -> np.ndarray:
    """Indices of the frames at ``times`` a reader at ``max_fps`` reads."""
    thinning = _Thinning(max_fps)
    return np.asarray([i for i, t in enumerate(times) if thinning.keep(float(t))], dtype=int)


def frame_size(source: str | os.PathLike[str]) -> tuple[int, int]:
    """``(width, height)`` in pixels of a video's frames as shown (the stream's frame size, turned
    by its display rotation: see the module docs) or of an image folder's first image.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib, cv2
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = cv2.imwrite(str(folder / "f0.png"), np.zeros((8, 6, 3), np.uint8))
    >>> frame_size(folder)
    (6, 8)
    """
    source = Path(source)
    if source.is_dir():
        from kinelift.detect.crops import read_image

        h, w = read_image(str(_image_files(source)[0])).shape[:2]
        return int(w), int(h)
    import av

    try:
        with av.open(str(source)) as container:
            stream = container.streams.video[0]
            w, h = stream.codec_context.width, stream.codec_context.height
            first = next(container.decode(stream), None)  # the display rotation travels with the frames
    except (av.error.FFmpegError, OSError, IndexError) as err:
        raise FileFormatError(source, f"no readable video stream ({err})", expected="a video file FFmpeg reads") from None
    if not (w and h):
        raise FileFormatError(source, "the video stream declares no frame size", expected="a video with a width and height")
    if first is not None and _frame_turns(first) % 2:
        w, h = h, w
    return int(w), int(h)


def _iter_folder(folder: Path, fps: float, chunk: int, max_fps: float | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    from kinelift.detect.crops import read_image

    files = _image_files(folder)
    index = _kept(np.arange(len(files)) / fps, max_fps)
    for start in range(0, len(index), chunk):
        part = index[start:start + chunk]
        frames = [read_image(str(files[i])) for i in part]
        if len({f.shape for f in frames}) != 1:
            raise FileFormatError(folder, f"images of different sizes near {files[part[0]].name}", expected="one image size in a frame folder")
        yield np.stack(frames), part / fps


def _iter_video(path: Path, chunk: int, max_fps: float | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as err:
        raise FileFormatError(path, f"cannot be opened as a video ({err})", expected="a video file FFmpeg reads") from None
    with container:
        if not container.streams.video:
            raise FileFormatError(path, "no video stream", expected="a video file")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames: np.ndarray | None = None  # this chunk, filled frame by frame
        times: list[float] = []
        turns = None  # the first frame's display rotation holds for the stream (frames of one size)
        thinning = _Thinning(max_fps)
        try:
            for frame in container.decode(stream):
                if frame.pts is None:
                    raise FileFormatError(path, f"frame {len(times)} has no timestamp", expected="frames with presentation times")
                time = float(frame.pts * stream.time_base)
                if not thinning.keep(time):
                    continue  # thinned to max_fps: decoded, not converted
                if turns is None:
                    turns = _frame_turns(frame)
                    if turns:
                        shown = (frame.height, frame.width) if turns % 2 else (frame.width, frame.height)
                        log.info("%s: display rotation %g deg; frames turned upright to %dx%d, as players show them", path.name,
                                 frame.rotation, *shown)  # fmt: skip
                rows_cols = (frame.width, frame.height) if turns % 2 else (frame.height, frame.width)
                if frames is None:
                    frames = np.empty((chunk, *rows_cols, 3), np.uint8)
                elif frames.shape[1:3] != rows_cols:
                    raise FileFormatError(path, f"frame {len(times)} of a chunk is {rows_cols[1]}x{rows_cols[0]}, the chunk's first "
                                          f"{frames.shape[2]}x{frames.shape[1]}", expected="frames of one size")  # fmt: skip
                _rgb_into(frame, frames[len(times)], turns)
                times.append(time)
                if len(times) == chunk:
                    yield frames, np.asarray(times)
                    frames, times = None, []  # a new chunk: the consumer may still hold this one
        except av.error.FFmpegError as err:
            raise FileFormatError(path, f"decoding failed after {len(times)} frames of this chunk ({err})", expected="a readable video") from None
        if times:
            yield frames[: len(times)], np.asarray(times)


def iter_frames(source: str | os.PathLike[str], *, fps: float | None = None, chunk: int = 32,
                max_fps: float | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """Chunks of ``chunk`` frames and their times from a video file or an image folder (needs
    ``fps``), thinned to at most about ``max_fps`` frames/s where given (see the module docs)."""
    if chunk < 1:
        raise ValueRangeError("chunk", expected=">= 1", got=chunk)
    _Thinning(max_fps)  # checks max_fps now, not at the first frame
    source = Path(source)
    if not source.exists():
        raise FileFormatError(source, "not found", expected="a video file or a folder of images")
    if source.is_dir():
        if not fps or fps <= 0:
            raise ValueRangeError("fps", expected="a positive frame rate for an image folder", got=fps)
        return _iter_folder(source, fps, chunk, max_fps)
    return _iter_video(source, chunk, max_fps)


def read_ahead(items: Iterator[_Item], *, depth: int = 2) -> Iterator[_Item]:
    """``items`` as they come, produced up to ``depth`` ahead by a background thread.

    Decoding the next chunk of frames then overlaps the work on this one (FFmpeg and torch
    release the GIL). An error of the producer is raised here, at the item it stopped at; closing
    this generator early stops the producer.

    Examples
    --------
    >>> list(read_ahead(iter(range(5))))
    [0, 1, 2, 3, 4]
    """
    if depth < 1:
        raise ValueRangeError("depth", expected=">= 1", got=depth)
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def hand_over(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over((item, None)):
                    break
            else:
                hand_over((done, None))
        except BaseException as err:  # handed to the consumer, raised there
            hand_over((done, err))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator's files close in the thread that used them

    worker = threading.Thread(target=produce, name="kinelift-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, err = ready.get()
            if err is not None:
                raise err
            if item is done:
                return
            yield item
    finally:
        stop.set()
        worker.join(timeout=5.0)
