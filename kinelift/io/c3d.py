"""C3D motion-capture files: marker trajectories (read and write, through ezc3d).

Only the ``POINT`` section (marker trajectories) is read; analog channels and
force plates are not. Units ``mm``, ``cm`` and ``m`` are converted to metres.
Invalid samples (negative residual) are NaN. Times follow OpenSim's
``C3DFileAdapter``: ``t = i / POINT:RATE`` for the i-th stored frame (0-based);
the file's first frame number is kept in ``metadata["first_frame"]``. Axes are
the laboratory axes of the file, unrotated.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from kinelift import Tracks
>>> from kinelift.io.c3d import read_c3d, write_c3d
>>> t = Tracks(np.full((4, 2, 3), 0.25), keypoints=["LASI", "RASI"], fps=200.0, units="m", coordinate_frame="ground")
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.c3d"
>>> write_c3d(t, path)
>>> read_c3d(path).positions[1, 1]
array([0.25, 0.25, 0.25])
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, ValueRangeError
from kinelift.io._atomic import atomic_path
from kinelift.io._common import existing_path, reading, writing_rate

__all__ = ["read_c3d", "write_c3d"]

_TO_METRES = {"mm": 1e-3, "cm": 1e-2, "m": 1.0}


# ezc3d is C++ and can crash the interpreter on a damaged file, so the parse runs in a child
# process that hands back plain arrays; a crash there becomes a FileFormatError here.
_CHILD = r"""
import sys, numpy as np, ezc3d
c = ezc3d.c3d(sys.argv[1])
point = c["parameters"]["POINT"]
labels = list(point["LABELS"]["value"])
k = 2
while f"LABELS{k}" in point:
    labels += list(point[f"LABELS{k}"]["value"])
    k += 1
units = list(point["UNITS"]["value"]) if "UNITS" in point else []
np.savez(sys.argv[2], points=np.asarray(c["data"]["points"], dtype=np.float64),
         residuals=np.asarray(c["data"]["meta_points"]["residuals"], dtype=np.float64),
         labels=np.array([str(s) for s in labels], dtype=str), units=np.array([str(u) for u in units], dtype=str),
         rate=np.asarray(point["RATE"]["value"], dtype=np.float64).ravel(),
         first_frame=np.array(int(c["header"]["points"]["first_frame"])))
"""


_BLOCK = 512


def check_c3d_header(path: Path) -> None:
    """Refuse a file that cannot hold what its C3D header says it holds.

    ezc3d does not stop at the end of a truncated file (it loops), so before parsing, the
    header block is checked against the file size: the key byte ``0x50``, the parameter
    section's first block and processor type (84 Intel, 85 DEC, 86 MIPS: the byte order of
    the header words), the data section's first block, and at least ``frames x (points x 4 +
    analog samples)`` 16-bit words of data (the smallest storage C3D allows; the header's
    16-bit frame numbers are only used as this lower bound).
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        header = f.read(_BLOCK)
        if len(header) < _BLOCK or header[1] != 0x50:
            raise FileFormatError(path, "has no C3D header (the first 512-byte block with key byte 0x50)")
        parameter_block = header[0]
        if parameter_block < 2 or (parameter_block - 1) * _BLOCK + 4 > size:
            raise FileFormatError(path, f"C3D header puts the parameter section at block {parameter_block}, beyond the file's "
                                        f"{size} bytes (the file is truncated or damaged)")  # fmt: skip
        f.seek((parameter_block - 1) * _BLOCK)
        processor = f.read(4)[3]
    if processor not in (84, 85, 86):
        raise FileFormatError(path, f"C3D processor type is {processor}", expected="84 (Intel), 85 (DEC) or 86 (MIPS)")
    words = np.frombuffer(header[:40], dtype=">u2" if processor == 86 else "<u2")
    points, analog, first, last, data_block = (int(words[i]) for i in (1, 2, 3, 4, 8))
    frames = last - first + 1 if last >= first else 0
    needed = (data_block - 1) * _BLOCK + frames * (points * 4 + analog) * 2
    if frames and (points or analog) and (data_block <= parameter_block or needed > size):
        raise FileFormatError(path, f"C3D header announces {frames} frames of {points} points and {analog} analog samples "
                                    f"from block {data_block}, at least {needed} bytes; the file has {size} "
                                    "(truncated or damaged)")  # fmt: skip


def _parse_isolated(path: Path) -> dict[str, np.ndarray]:
    check_c3d_header(path)
    # a sound file parses in seconds; the limit only guards against a parser that never ends
    limit = 60.0 + 2.0 * path.stat().st_size / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "c3d.npz"
        try:
            done = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(out)], capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            raise FileFormatError(path, f"parsing took over {limit:.0f} s; the file is damaged or not C3D") from None
        if done.returncode != 0 or not out.exists():
            why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"parser crashed (exit {done.returncode})"
            raise FileFormatError(path, f"not a readable C3D file ({why[:200]})")
        with np.load(out) as data:
            return {k: data[k] for k in data.files}


def read_c3d(path: str | os.PathLike[str]) -> Tracks:
    """Read the marker trajectories of a C3D file as 3D tracks in metres (``"ground"`` frame).

    Raises
    ------
    FileFormatError
        If the file cannot be parsed (the parser runs in a child process, so even a
        crash on a damaged file ends in this error), or its units or labels are unusable.
    """
    path = existing_path(path)
    c3d = _parse_isolated(path)
    pts = c3d["points"]  # (4, markers, frames)
    if pts.ndim != 3 or pts.shape[1] == 0 or pts.shape[2] == 0:
        raise FileFormatError(path, "holds no marker samples (POINT section empty)")
    n_markers = pts.shape[1]
    labels = [str(s).strip() for s in c3d["labels"]]
    if len(labels) < n_markers:
        raise FileFormatError(path, f"POINT:LABELS names {len(labels)} markers for {n_markers} trajectories")
    labels = labels[:n_markers]
    units = str(c3d["units"][0]).strip() if c3d["units"].size else "mm"
    if units not in _TO_METRES:
        raise FileFormatError(path, f"POINT:UNITS is {units!r}", expected="mm, cm or m")
    rate = float(c3d["rate"][0]) if c3d["rate"].size else float("nan")
    if not rate > 0 or not np.isfinite(rate):
        raise FileFormatError(path, f"POINT:RATE is {rate}", expected="a positive frame rate")
    residuals = c3d["residuals"].reshape(-1, n_markers, pts.shape[2])[0]  # (markers, frames)
    xyz = np.transpose(pts[:3], (2, 1, 0)).copy()  # (frames, markers, 3)
    bad = (residuals.T < 0) | ~np.isfinite(xyz).all(axis=2)
    xyz[bad] = np.nan
    with reading(path):
        return Tracks(
            xyz * _TO_METRES[units], keypoints=labels, fps=rate, units="m", coordinate_frame="ground",
            metadata={"source": str(path), "format": "c3d", "file_units": units, "first_frame": int(c3d["first_frame"])},
        )  # fmt: skip


def write_c3d(tracks: Tracks, path: str | os.PathLike[str], *, units: str = "mm", overwrite: bool = False) -> None:
    """Write 3D tracks (metres) as a C3D file's marker trajectories.

    Parameters
    ----------
    tracks : Tracks
        3D tracks in metres, uniformly sampled (C3D stores one rate).
    path : path-like
        Output ``.c3d``; written atomically.
    units : {"mm", "m"}, default "mm"
    overwrite : bool, default False
    """
    import ezc3d

    if tracks.n_dims != 3 or tracks.units != "m":
        raise ValueRangeError("tracks", expected="3D tracks in metres for C3D output", got=f"{tracks.n_dims}D in {tracks.units}")
    if units not in ("mm", "m"):
        raise ValueRangeError("units", expected="'mm' or 'm'", got=units)
    if not tracks.is_uniform():
        raise ValueRangeError("tracks.time", expected="uniform sampling (C3D has a single rate); resample first", got="variable intervals")
    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [writing_rate(tracks)]
    c3d["parameters"]["POINT"]["LABELS"]["value"] = tuple(tracks.keypoint_names)
    c3d["parameters"]["POINT"]["UNITS"]["value"] = [units]
    pts = np.ones((4, tracks.n_keypoints, tracks.n_frames))
    pts[:3] = np.transpose(tracks.positions / _TO_METRES[units], (2, 1, 0))
    c3d["data"]["points"] = pts
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        c3d.write(str(tmp))
