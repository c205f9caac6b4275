"""OpenSim motion and storage files, ``.mot`` and ``.sto`` (read and write).

Reads OpenSim's ``Storage`` layout (version 1, e.g. IK results) and the
``STOFileAdapter`` layout (version 3, state paths as column names): header lines
of ``key=value`` up to ``endheader``, then a row of column labels whose first is
``time``, then whitespace-separated numbers.

``inDegrees`` is honoured: when ``yes``, angular columns are converted to radians
on reading (units per column from :func:`kinelift.core.table.unit_for_coordinate_name`,
or the ``column_units`` you pass). Writers always state ``inDegrees`` and by
default write angles in degrees, as OpenSim's tools do.

Examples
--------
>>> import tempfile, pathlib
>>> from kinelift import TimeSeriesTable
>>> from kinelift.io.mot import read_mot, write_mot
>>> tab = TimeSeriesTable([0.0, 0.01], [[0.5, 0.9], [0.6, 0.91]], ["knee_angle_r", "pelvis_ty"], ["rad", "m"])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "q.mot"
>>> write_mot(tab, path)
>>> back = read_mot(path)
>>> back.column("knee_angle_r"), back.metadata["inDegrees"]
(array([0.5, 0.6]), 'yes')
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from kinelift.core.table import TimeSeriesTable, unit_for_coordinate_name
from kinelift.errors import FileFormatError, UnknownNameError, ValueRangeError
from kinelift.io._atomic import atomic_path
from kinelift.io._common import (
    check_row_count,
    ends_unterminated,
    existing_path,
    format_rows,
    line_index,
    parse_float,
    read_text_lines,
    reading,
)
from kinelift.io.plausibility import check_angle_magnitudes

__all__ = ["read_mot", "write_mot", "read_sto", "write_sto"]

log = logging.getLogger(__name__)


def read_mot(
    path: str | os.PathLike[str],
    *,
    in_degrees: bool | None = None,
    column_units: Mapping[str, str] | None = None,
    check_units: bool = True,
) -> TimeSeriesTable:
    """Read an OpenSim ``.mot``/``.sto`` file into a table in SI units.

    A file cut short is refused: fewer rows than ``nRows`` and a last line without a line end
    (another mismatch is logged: OpenSim reads the rows present, and its own tutorial files
    state more rows than they hold). Angles are
    checked against the stated unit (:func:`~kinelift.io.plausibility.check_angle_magnitudes`):
    a column past one turn under ``inDegrees=no`` holds degrees, and the error says so.

    Parameters
    ----------
    path : path-like
        The file.
    in_degrees : bool, optional
        Whether angles in the file are degrees. By default the header's ``inDegrees``
        decides; old SIMM-style files have none, and then this argument is required
        (kinelift does not guess).
    column_units : mapping of str to str, optional
        Unit of named columns (``"rad"``, ``"m"`` or any other unit string), overriding
        the name rule. Only ``"rad"`` columns are converted when ``inDegrees=yes``.
    check_units : bool, default True
        Refuse angles beyond one turn (switch off for angles that really wind further).

    Returns
    -------
    TimeSeriesTable
        Angles in radians; ``metadata`` holds the header (``inDegrees`` as in the file).

    Raises
    ------
    FileFormatError
        On a missing ``endheader``, a label row not starting with ``time``, or a bad row.
    """
    path = existing_path(path)
    lines = read_text_lines(path)
    end = line_index(path, lines, "endheader", expected="an OpenSim .mot/.sto header ending in endheader")
    name, metadata = "table", {}
    for i, line in enumerate(lines[:end]):
        if "=" in line:
            key, _, value = line.partition("=")
            metadata[key.strip()] = value.strip()
        elif i == 0 and line.strip():
            name = line.strip()
    body = [(n, line) for n, line in enumerate(lines[end + 1 :], start=end + 2) if line.strip()]
    if not body:
        raise FileFormatError(path, "no column labels after endheader")
    label_line, labels_text = body[0]
    labels = labels_text.split("\t") if "\t" in labels_text else labels_text.split()
    labels = [lab.strip() for lab in labels]
    while labels and not labels[-1]:  # a trailing tab after the last label
        labels.pop()
    if not labels or labels[0].lower() != "time":
        raise FileFormatError(path, f"line {label_line}: first column label is {labels[0][:40]!r}", expected="'time'")
    rows = []
    for lineno, line in body[1:]:
        fields = line.split()
        if len(fields) != len(labels):
            raise FileFormatError(path, f"line {lineno}: {len(fields)} values", expected=f"{len(labels)} (one per column label)")
        rows.append([parse_float(f, path, f"line {lineno}") for f in fields])
    if not rows:
        raise FileFormatError(path, f"no data rows after the column labels (line {label_line})", expected="at least one row of numbers")
    data = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(labels))
    if "nRows" in metadata:
        check_row_count(path, "nRows", parse_float(metadata["nRows"], path, "nRows"), len(rows), ends_unterminated(path))
    header_flag = metadata.get("inDegrees")
    if header_flag is not None and header_flag.strip().lower() not in ("yes", "no"):
        raise FileFormatError(path, f"inDegrees={header_flag!r}", expected="inDegrees=yes or inDegrees=no")
    if in_degrees is None:
        if header_flag is None:
            raise FileFormatError(
                path, "header has no inDegrees line, so the angle unit is unknown", expected="in_degrees=True or False from the caller"
            )
        in_degrees = header_flag.strip().lower() == "yes"
    columns = labels[1:]
    overrides = dict(column_units or {})
    unknown = set(overrides) - set(columns)
    if unknown:
        raise UnknownNameError(f"column (in {path})", sorted(unknown), known=columns)
    units = [overrides.get(c, unit_for_coordinate_name(c)) for c in columns]
    values = data[:, 1:]
    rad = [i for i, u in enumerate(units) if u == "rad"]
    if in_degrees:
        values[:, rad] = np.deg2rad(values[:, rad])
    elif check_units:
        check_angle_magnitudes(path, values[:, rad], [columns[i] for i in rad], "inDegrees", header_flag or "no (in_degrees=False)")
    with reading(path):
        return TimeSeriesTable(
            data[:, 0], values, columns, units, name=name,
            metadata=metadata | {"source": str(path), "read_in_degrees": "yes" if in_degrees else "no"},
        )  # fmt: skip


def write_mot(
    table: TimeSeriesTable,
    path: str | os.PathLike[str],
    *,
    in_degrees: bool = True,
    overwrite: bool = False,
) -> None:
    """Write a table as an OpenSim ``Storage`` file (``.mot`` or ``.sto``) that OpenSim reads.

    Parameters
    ----------
    table : TimeSeriesTable
        Values in SI units; ``"rad"`` columns are written in degrees when ``in_degrees``.
    path : path-like
        Output path; written atomically.
    in_degrees : bool, default True
        Write angles in degrees and ``inDegrees=yes`` (else radians and ``inDegrees=no``).
    overwrite : bool, default False
        Replace an existing file.

    Notes
    -----
    Rows with a missing (NaN) value are left out, with a warning that counts them: OpenSim's
    ``Storage`` stops reading at the first such row without an error (OpenSim 4.6 read 81 of 240
    rows of a file with NaN from frame 81 on), so the file holds the frames that have every value,
    and its time column shows where the others were. Keep the table itself (HDF5) for those.
    """
    if not isinstance(table, TimeSeriesTable):
        raise ValueRangeError("table", expected="a TimeSeriesTable", got=type(table).__name__)
    values = table.in_degrees() if in_degrees else np.asarray(table.values)
    time = np.asarray(table.time)
    complete = ~np.isnan(values).any(axis=1)
    if not complete.all():
        log.warning("%s: %d of %d rows have missing values and are left out (OpenSim stops reading at the first one)",
                    path, int((~complete).sum()), len(complete))  # fmt: skip
        values, time = values[complete], time[complete]
    n, c = values.shape
    head = [
        table.name or "table",
        "version=1",
        f"nRows={n}",
        f"nColumns={c + 1}",
        f"inDegrees={'yes' if in_degrees else 'no'}",
        "",
        "Units are S.I. units (second, meters, Newtons, ...)",
        "If the header above contains a line with 'inDegrees', this indicates whether rotational values "
        "are in degrees (yes) or radians (no).",
        "",
        "endheader",
        "time\t" + "\t".join(table.column_names),
    ]
    body = format_rows(np.column_stack([time, values]))
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        tmp.write_text("\n".join(head + body) + "\n", encoding="utf-8")


read_sto = read_mot
write_sto = write_mot
