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
>>> t = Tracks(np.full((4, 2, 3), 0.25), keypoints=["LASI", "RASI"], fps=200.0, units="m", coordinate_frame="lab")
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.c3d"
>>> write_c3d(t, path)
>>> read_c3d(path).positions[1, 1]
array([0.25, 0.25, 0.25])
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, ValueRangeError
from kinelift.io._atomic import atomic_path
from kinelift.io._common import existing_path, reading

__all__ = ["read_c3d", "write_c3d"]

_TO_METRES = {"mm": 1e-3, "cm": 1e-2, "m": 1.0}


def _labels(point: dict) -> list[str]:
    labels = list(point["LABELS"]["value"])
    k = 2
    while f"LABELS{k}" in point:  # more than 255 markers continue in LABELS2, LABELS3...
        labels += list(point[f"LABELS{k}"]["value"])
        k += 1
    return [str(s).strip() for s in labels]


def read_c3d(path: str | os.PathLike[str]) -> Tracks:
    """Read the marker trajectories of a C3D file as 3D tracks in metres (``"lab"`` frame).

    Raises
    ------
    FileFormatError
        If ezc3d cannot parse the file, or its point units or labels are unusable.
    """
    import ezc3d

    path = existing_path(path)
    try:
        c3d = ezc3d.c3d(str(path))
    except Exception as err:  # ezc3d raises plain RuntimeError/IOError for corrupt files
        raise FileFormatError(path, f"not a readable C3D file ({err})") from None
    point = c3d["parameters"]["POINT"]
    pts = np.asarray(c3d["data"]["points"], dtype=np.float64)  # (4, markers, frames)
    if pts.ndim != 3 or pts.shape[1] == 0 or pts.shape[2] == 0:
        raise FileFormatError(path, "holds no marker samples (POINT section empty)")
    labels = _labels(point)
    n_markers = pts.shape[1]
    if len(labels) < n_markers:
        raise FileFormatError(path, f"POINT:LABELS names {len(labels)} markers for {n_markers} trajectories")
    labels = labels[:n_markers]
    units = str(point["UNITS"]["value"][0]).strip() if len(point["UNITS"]["value"]) else "mm"
    if units not in _TO_METRES:
        raise FileFormatError(path, f"POINT:UNITS is {units!r}", expected="mm, cm or m")
    rate = float(np.asarray(point["RATE"]["value"]).ravel()[0])
    if not rate > 0:
        raise FileFormatError(path, f"POINT:RATE is {rate}", expected="a positive frame rate")
    residuals = np.asarray(c3d["data"]["meta_points"]["residuals"])[0]  # (markers, frames)
    xyz = np.transpose(pts[:3], (2, 1, 0)).copy()  # (frames, markers, 3)
    xyz[(residuals.T < 0) | np.isnan(xyz).any(axis=2)] = np.nan
    first = int(c3d["header"]["points"]["first_frame"])
    with reading(path):
        return Tracks(
            xyz * _TO_METRES[units], keypoints=labels, fps=rate, units="m", coordinate_frame="lab",
            metadata={"source": str(path), "format": "c3d", "file_units": units, "first_frame": first},
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
    c3d["parameters"]["POINT"]["RATE"]["value"] = [tracks.sampling_rate if tracks.n_frames > 1 else (tracks.fps or 1.0)]
    c3d["parameters"]["POINT"]["LABELS"]["value"] = tuple(tracks.keypoint_names)
    c3d["parameters"]["POINT"]["UNITS"]["value"] = [units]
    pts = np.ones((4, tracks.n_keypoints, tracks.n_frames))
    pts[:3] = np.transpose(tracks.positions / _TO_METRES[units], (2, 1, 0))
    c3d["data"]["points"] = pts
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        c3d.write(str(tmp))
