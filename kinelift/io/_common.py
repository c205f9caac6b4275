"""Helpers shared by the readers: text access, number parsing, error wrapping."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from kinelift.errors import FileFormatError, KineliftError, ValueRangeError

log = logging.getLogger(__name__)

def existing_path(path: str | os.PathLike[str], *, kind: str = "file") -> Path:
    """``path`` as a Path, with a :class:`FileFormatError` if it is missing."""
    p = Path(path)
    if kind == "file" and not p.is_file():
        raise FileFormatError(p, "no such file" if not p.exists() else "is not a file")
    if kind == "dir" and not p.is_dir():
        raise FileFormatError(p, "no such folder" if not p.exists() else "is not a folder")
    return p


def read_text_lines(path: Path) -> list[str]:
    """Lines of a text file, decoded as UTF-8 (Latin-1 as a fallback for old lab files)."""
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise FileFormatError(path, "is binary, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.splitlines()


def line_index(path: Path, lines: list[str], word: str, *, expected: str) -> int:
    """Index of the first line that is ``word`` (case and surrounding blanks ignored); a named error without one."""
    try:
        return next(i for i, line in enumerate(lines) if line.strip().lower() == word.lower())
    except StopIteration:
        raise FileFormatError(path, f"no {word!r} line", expected=expected) from None


def ends_unterminated(path: Path) -> bool:
    """The file's last line has no line end (a copy cut short, or a writer that never finished)."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        if fh.tell() == 0:
            return False
        fh.seek(-1, 2)
        return fh.read(1) not in (b"\n", b"\r")


def check_row_count(path: Path, field: str, declared: float, found: int, unterminated: bool) -> None:
    """A header's row count against the rows read: a shortfall in a file whose last line has no
    line end is a truncated file (refused); otherwise a mismatch is logged, as OpenSim reads the
    rows present (its own tutorial files state nRows=120 over 101 rows)."""
    if declared == found:
        return
    if unterminated and declared > found:
        raise FileFormatError(path, f"header field {field} says {declared:g} rows, the file holds {found} and its last line has no "
                              "line end: the file is cut short", expected="a complete file (a truncated copy?)")  # fmt: skip
    log.warning("%s: header field %s says %g rows, the file holds %d; reading the rows present", path, field, declared, found)


def read_json(path: Path) -> Any:
    """Parsed JSON, with a :class:`FileFormatError` naming the line on a syntax error."""
    try:
        return json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise FileFormatError(path, f"invalid JSON: {err}") from None


def parse_float(token: str, path: Path, where: str) -> float:
    """A float from a text field; empty fields are NaN."""
    token = token.strip()
    if not token:
        return float("nan")
    try:
        return float(token)
    except ValueError:
        raise FileFormatError(path, f"{where}: {token[:40]!r} is not a number") from None


def float_array(values: Any, path: Path, where: str, *, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A float64 array from JSON data, with clear errors for non-numbers and wrong lengths."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise FileFormatError(path, f"{where}: not a list of numbers") from None
    if shape is not None and arr.shape != shape:
        raise FileFormatError(path, f"{where}: has shape {arr.shape}", expected=f"shape {shape}")
    return arr


def require_fps(fps: float | None, path: Path, fmt: str) -> float:
    """The frame rate for formats that store none."""
    if fps is None:
        raise ValueRangeError(
            "fps", expected=f"a frame rate for {path} ({fmt} files store no timing); pass fps= or --fps", got=None
        )
    fps = float(fps)
    if not np.isfinite(fps) or fps <= 0:
        raise ValueRangeError("fps", expected="a positive frame rate in Hz", got=fps)
    return fps


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Re-raise validation errors from building data types as :class:`FileFormatError` naming ``path``."""
    try:
        yield
    except FileFormatError:
        raise
    except KineliftError as err:
        raise FileFormatError(path, str(err)) from err


def format_rows(values: np.ndarray) -> list[str]:
    """Each row of a 2D array as tab-separated numbers, one string per row: the shortest text that
    reads back as the same float, ``NaN`` for missing values (OpenSim's spelling).

    Examples
    --------
    >>> format_rows(np.array([[0.1, np.nan], [2.0, -1e-20]]))
    ['0.1\\tNaN', '2.0\\t-1e-20']
    """
    rows = ["\t".join(map(repr, row)) for row in np.asarray(values, dtype=np.float64).tolist()]
    return [r.replace("nan", "NaN") if "nan" in r else r for r in rows]  # repr spells no other float with "nan"


MAX_SPARSE_SPAN = 1_000_000


def check_frame_span(path: Path, first: int, last: int, count: int) -> int:
    """Frames from ``first`` to ``last``; refuses spans far larger than the frames present (a damaged numbering)."""
    span = last - first + 1
    if span > MAX_SPARSE_SPAN and span > 100 * count:
        raise FileFormatError(path, f"frame numbers run from {first} to {last} for only {count} frames", expected="a dense frame numbering")
    return span


def writing_rate(tracks: Any) -> float:
    """The frame rate a writer records: the tracks' rate, or ``fps`` (else 1 Hz) for a single frame."""
    return tracks.sampling_rate if tracks.n_frames > 1 else (tracks.fps or 1.0)


def frame_numbers(tracks: Any) -> np.ndarray:
    """Integer frame numbers ``round(time * rate)`` for formats that number frames instead of timing them."""
    return np.rint(tracks.time * writing_rate(tracks)).astype(int)


def require_2d_pixel_tracks(tracks: Any) -> list:
    """``tracks`` as a list, refusing an empty one and any track that is not 2D in pixels."""
    tracks = list(tracks)
    if not tracks:
        raise ValueRangeError("tracks", expected="at least one Tracks", got=[])
    for t in tracks:
        if t.n_dims != 2 or t.units != "px":
            raise ValueRangeError("tracks", expected="2D pixel tracks", got=f"{t.n_dims}D {t.units} {t.keypoint_set.name}")
    return tracks
