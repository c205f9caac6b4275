"""OpenSim TRC marker files (read and write).

Layout (tab separated), as OpenSim's ``TRCFileAdapter`` reads and writes it::

    PathFileType  4  (X/Y/Z)  NAME.trc
    DataRate  CameraRate  NumFrames  NumMarkers  Units  OrigDataRate  OrigDataStartFrame  OrigNumFrames
    60.000000  60.000000  73  31  mm  60.000000  1  73
    Frame#  Time  M1  <tab>  <tab>  M2 ...
    <tab>  <tab>  X1  Y1  Z1  X2 ...
    <blank line>
    1  0.000000  ...

Units ``mm``, ``cm`` and ``m`` are read and converted to metres; missing values
(empty fields or ``NaN``) become NaN. A file whose units are ``px`` and whose Z
column is 0 holds 2D image points (as :func:`write_trc` writes 2D tracks) and is
read back as 2D ``"image"`` tracks.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from kinelift import Tracks
>>> from kinelift.io.trc import read_trc, write_trc
>>> t = Tracks(np.ones((3, 2, 3)), keypoints=["RASI", "LASI"], fps=100.0, units="m", coordinate_frame="ground")
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.trc"
>>> write_trc(t, path)
>>> read_trc(path).positions[0, 0]
array([1., 1., 1.])
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, ValueRangeError
from kinelift.io._atomic import atomic_path
from kinelift.io._common import (
    check_row_count,
    ends_unterminated,
    existing_path,
    format_rows,
    parse_float,
    read_text_lines,
    reading,
    writing_rate,
)
from kinelift.io.plausibility import check_marker_spread

__all__ = ["read_trc", "write_trc"]

_TO_METRES = {"mm": 1e-3, "cm": 1e-2, "m": 1.0}
_HEADER_KEYS = ("DataRate", "CameraRate", "NumFrames", "NumMarkers", "Units", "OrigDataRate", "OrigDataStartFrame", "OrigNumFrames")


def read_trc(path: str | os.PathLike[str], *, check_units: bool = True) -> Tracks:
    """Read a TRC file into 3D tracks in metres (``"ground"`` frame), or 2D ``"px"`` tracks.

    A file cut short is refused: a last line with missing fields and no line end, or fewer
    rows than ``NumFrames`` and no line end (another mismatch is logged; OpenSim reads the rows
    present). ``Units`` is checked against the numbers
    (:func:`~kinelift.io.plausibility.check_marker_spread`): markers that span kilometres
    under ``m`` are millimetres, and the error says so.

    Parameters
    ----------
    path : path-like
        The ``.trc`` file.
    check_units : bool, default True
        Refuse marker spreads no human body has (switch off for data that is not a body).

    Returns
    -------
    Tracks
        Positions in metres (or pixels for 2D files), times from the ``Time`` column,
        ``fps`` from ``DataRate``, a custom keypoint set of the marker names.

    Raises
    ------
    FileFormatError
        If the header or a data row is malformed.
    """
    path = existing_path(path)
    lines = read_text_lines(path)
    if len(lines) < 5 or not lines[0].startswith("PathFileType"):
        raise FileFormatError(path, "line 1 does not start with 'PathFileType'", expected="an OpenSim/Motion Analysis TRC file")
    # Fields are tab separated, but lab exporters pad with spaces and empty fields: split on any whitespace.
    header = dict(zip(lines[1].split(), lines[2].split()))
    for key in ("DataRate", "NumMarkers", "Units"):
        if key not in header:
            raise FileFormatError(path, f"header line 2-3 has no {key!r} field", expected=" ".join(_HEADER_KEYS))
    rate = parse_float(header["DataRate"], path, "DataRate")
    units = header["Units"]
    if units not in _TO_METRES and units != "px":
        raise FileFormatError(path, f"Units {units!r} unknown", expected="mm, cm, m or px")
    cells = lines[3].split("\t")
    if len(cells) < 2 or cells[0].strip() != "Frame#":
        raise FileFormatError(path, "line 4 does not start with 'Frame#'", expected="Frame#<tab>Time<tab>marker names")
    names = [c.strip() for c in cells[2:] if c.strip()]
    n_declared = int(parse_float(header["NumMarkers"], path, "NumMarkers"))
    if len(names) != n_declared:
        raise FileFormatError(path, f"line 4 names {len(names)} markers but NumMarkers is {n_declared}")
    rows = []
    width = 2 + 3 * len(names)
    last_data = max((i for i, line in enumerate(lines) if line.strip()), default=0) + 1
    unterminated = ends_unterminated(path)
    for lineno, line in enumerate(lines[5:], start=6):
        if not line.strip():
            continue
        fields = line.rstrip("\r\n").split("\t")
        if lineno == last_data and unterminated and len(fields) < width:
            raise FileFormatError(path, f"line {lineno} (the last) has {len(fields)} of {width} fields and no line end: the file is cut short",
                                  expected="a complete last row (a truncated copy?)")  # fmt: skip
        if len(fields) > width and any(f.strip() for f in fields[width:]):
            raise FileFormatError(path, f"line {lineno}: {len(fields)} fields", expected=f"at most {width} (Frame#, Time, 3 per marker)")
        fields = fields[:width] + [""] * (width - len(fields))
        rows.append([parse_float(f, path, f"line {lineno}") for f in fields])
    if not rows:
        raise FileFormatError(path, "no data rows")
    if "NumFrames" in header:
        check_row_count(path, "NumFrames", parse_float(header["NumFrames"], path, "NumFrames"), len(rows), unterminated)
    data = np.asarray(rows)
    time = data[:, 1]
    xyz = data[:, 2:].reshape(len(rows), len(names), 3)
    xyz[np.isnan(xyz).any(axis=2)] = np.nan
    with reading(path):
        if units == "px" and np.all(np.nan_to_num(xyz[:, :, 2]) == 0):
            return Tracks(xyz[:, :, :2], keypoints=names, time=time, fps=rate, units="px", coordinate_frame="image",
                          metadata={"source": str(path), "format": "trc"})  # fmt: skip
        if units == "px":
            raise FileFormatError(path, "Units px with non-zero Z", expected="Z = 0 for 2D image points")
        if check_units:
            check_marker_spread(path, xyz * _TO_METRES[units], "Units", units)
        return Tracks(
            xyz * _TO_METRES[units], keypoints=names, time=time, fps=rate, units="m", coordinate_frame="ground",
            metadata={"source": str(path), "format": "trc", "file_units": units},
        )  # fmt: skip


def write_trc(tracks: Tracks, path: str | os.PathLike[str], *, units: str = "mm", overwrite: bool = False) -> None:
    """Write tracks as a TRC file that OpenSim reads.

    Parameters
    ----------
    tracks : Tracks
        3D tracks in metres, or 2D tracks in pixels (written as X, Y, Z=0 with Units ``px``;
        image y still points down).
    path : path-like
        Output ``.trc`` path; written atomically.
    units : {"mm", "m"}, default "mm"
        Units written for 3D tracks (converted from metres). Ignored for 2D pixel tracks.
    overwrite : bool, default False
        Replace an existing file.

    Raises
    ------
    ValueRangeError
        For 3D tracks not in metres, 2D tracks not in pixels, or unknown ``units``.
    """
    if tracks.n_dims == 3:
        if tracks.units != "m":
            raise ValueRangeError("tracks.units", expected="'m' for 3D TRC output", got=tracks.units)
        if units not in ("mm", "m"):
            raise ValueRangeError("units", expected="'mm' or 'm'", got=units)
        xyz = tracks.positions / _TO_METRES[units]
    else:
        if tracks.units != "px":
            raise ValueRangeError("tracks.units", expected="'px' for 2D tracks written to TRC", got=tracks.units)
        units = "px"
        xyz = np.concatenate([tracks.positions, np.where(tracks.valid, 0.0, np.nan)[:, :, None]], axis=2)
    n, k = tracks.n_frames, tracks.n_keypoints
    rate = writing_rate(tracks)
    out = Path(path)
    head = [
        f"PathFileType\t4\t(X/Y/Z)\t{out.name}",
        "\t".join(_HEADER_KEYS),
        f"{rate:.6f}\t{rate:.6f}\t{n}\t{k}\t{units}\t{rate:.6f}\t1\t{n}",
        "Frame#\tTime\t" + "\t".join(f"{name}\t\t" for name in tracks.keypoint_names),
        "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, k + 1)),
        "",
    ]
    flat = xyz.reshape(n, 3 * k)
    body = [f"{i}\t{row}" for i, row in enumerate(format_rows(np.column_stack([tracks.time, flat])), start=1)]
    with atomic_path(out, overwrite=overwrite) as tmp:
        tmp.write_text("\n".join(head + body) + "\n", encoding="utf-8")
