"""kinelift's HDF5 layout (read, write, validate).

The layout is documented in ``data_schemas/README.md`` and specified by
``data_schemas/kinelift-h5.schema.json``. Files are readable with plain h5py. They are written
in the HDF5 1.10 format, whose metadata checksums turn damage into an error (the older format
lets the HDF5 library crash or loop on some damaged files).

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from kinelift import Tracks
>>> from kinelift.io.hdf5 import read_h5, validate_h5, write_h5
>>> t = Tracks(np.zeros((5, 6, 2)), keypoints="LOWER-6", fps=30.0)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "out.h5"
>>> write_h5(path, tracks=[t])
>>> validate_h5(path)
>>> read_h5(path).tracks[0].keypoint_set.name
'LOWER-6'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from kinelift.core.keypoint_sets import KeypointSet, get_keypoint_set
from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, KineliftError, UnknownNameError, ValueRangeError
from kinelift.io._atomic import atomic_path
from kinelift.io._common import existing_path, reading

__all__ = ["H5Contents", "SCHEMA_NAME", "SCHEMA_VERSION", "describe_h5", "is_kinelift_h5", "read_h5", "validate_h5", "write_h5"]

SCHEMA_NAME = "kinelift"
SCHEMA_VERSION = "1.0"
TABLE_GROUPS = ("kinematics", "analysis")
_CHUNK_FRAMES = 1024


@dataclass(frozen=True)
class H5Contents:
    """What a kinelift HDF5 file holds: tracks and named tables per group."""

    tracks: list[Tracks] = field(default_factory=list)
    kinematics: dict[str, TimeSeriesTable] = field(default_factory=dict)
    analysis: dict[str, TimeSeriesTable] = field(default_factory=dict)



def _frame_name(name: str) -> str:
    """A stored coordinate frame under today's name (files written before "ground" say "lab")."""
    return "ground" if name == "lab" else name

def _string_dataset(group: Any, name: str, values: Sequence[str]) -> None:
    import h5py

    ds = group.create_dataset(name, data=np.array(list(values), dtype=object), dtype=h5py.string_dtype("utf-8"))
    ds.attrs["units"] = ""


def _series(group: Any, name: str, data: np.ndarray, units: Any) -> None:
    chunks = (min(max(len(data), 1), _CHUNK_FRAMES),) + data.shape[1:]
    ds = group.create_dataset(name, data=data, dtype="f8", chunks=chunks, compression="gzip", compression_opts=4, shuffle=True)
    ds.attrs["units"] = units


def _track_group_name(t: Tracks, taken: set[str]) -> str:
    base = f"person_{t.person_id}"
    name, k = base, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


def write_h5(
    path: str | os.PathLike[str],
    *,
    tracks: Sequence[Tracks] = (),
    kinematics: Mapping[str, TimeSeriesTable] | None = None,
    analysis: Mapping[str, TimeSeriesTable] | None = None,
    overwrite: bool = False,
) -> None:
    """Write tracks and tables in the kinelift HDF5 layout, atomically.

    Parameters
    ----------
    path : path-like
        Output ``.h5`` file.
    tracks : sequence of Tracks
        Stored under ``/tracks/person_<id>``.
    kinematics, analysis : mapping of str to TimeSeriesTable, optional
        Tables stored under ``/kinematics/<name>`` and ``/analysis/<name>``.
    overwrite : bool, default False
    """
    import h5py

    from kinelift import __version__

    for t in tracks:
        if not isinstance(t, Tracks):
            raise ValueRangeError("tracks", expected="a sequence of Tracks", got=type(t).__name__)
    with atomic_path(Path(path), overwrite=overwrite) as tmp, h5py.File(tmp, "w", libver=("v110", "latest")) as f:
        f.attrs["schema"] = SCHEMA_NAME
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["kinelift_version"] = __version__
        if tracks:
            root = f.create_group("tracks", track_order=True)
            for t in tracks:
                g = root.create_group(_track_group_name(t, set(root)))
                g.attrs["keypoint_set"] = t.keypoint_set.name
                g.attrs["person_id"] = str(t.person_id)
                g.attrs["units"] = t.units
                g.attrs["coordinate_frame"] = t.coordinate_frame
                g.attrs["fps"] = float("nan") if t.fps is None else t.fps
                g.attrs["metadata_json"] = json.dumps(dict(t.metadata), default=str)
                _series(g, "positions", np.asarray(t.positions), t.units)
                _series(g, "confidence", np.asarray(t.confidence), "1")
                _series(g, "time", np.asarray(t.time), "s")
                _string_dataset(g, "keypoint_names", t.keypoint_names)
                edges = g.create_dataset("edges", data=np.asarray(t.keypoint_set.edges, dtype=np.int64).reshape(-1, 2))
                edges.attrs["units"] = ""
        for group_name, tables in (("kinematics", kinematics), ("analysis", analysis)):
            if not tables:
                continue
            root = f.create_group(group_name, track_order=True)
            for name, table in tables.items():
                if not isinstance(table, TimeSeriesTable):
                    raise ValueRangeError(f"{group_name}[{name!r}]", expected="a TimeSeriesTable", got=type(table).__name__)
                g = root.create_group(str(name))
                g.attrs["name"] = table.name
                g.attrs["metadata_json"] = json.dumps(dict(table.metadata), default=str)
                _series(g, "time", np.asarray(table.time), "s")
                _series(g, "values", np.asarray(table.values), np.array(table.column_units, dtype=object))
                _string_dataset(g, "column_names", table.column_names)


def is_kinelift_h5(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is an HDF5 file whose root attribute ``schema`` is ``"kinelift"``.

    Raises :class:`~kinelift.errors.FileFormatError` when the file is HDF5 but its root cannot
    be read (a damaged file).
    """
    import h5py

    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError):
        return False  # not HDF5 at all
    with f, _corrupt_file_errors(Path(path)):  # HDF5, but damaged: say so instead of "unknown format"
        return f.attrs.get("schema") == SCHEMA_NAME


def _open(path: Path) -> Any:
    import h5py

    try:
        return h5py.File(path, "r")
    except (OSError, ValueError) as err:
        raise FileFormatError(path, f"not a readable HDF5 file ({err})") from None


@contextmanager
def _corrupt_file_errors(path: Path) -> Iterator[None]:
    """HDF5 raises OSError, RuntimeError, KeyError... on corrupt files: report them as FileFormatError."""
    try:
        yield
    except KineliftError:
        raise
    except Exception as err:  # the HDF5 library's own failures on damaged files
        raise FileFormatError(path, f"damaged HDF5 file ({type(err).__name__}: {str(err)[:200]})") from None


def read_h5(path: str | os.PathLike[str]) -> H5Contents:
    """Read a kinelift HDF5 file (validated first, so a bad file fails with every problem named)."""
    path = existing_path(path)
    with _corrupt_file_errors(path):
        validate_h5(path)
        return _read_valid_h5(path)


def _read_valid_h5(path: Path) -> H5Contents:
    contents = H5Contents()
    with _open(path) as f, reading(path):
        for g in f.get("tracks", {}).values():
            names = list(g["keypoint_names"].asstr()[:])
            edges = tuple(map(tuple, g["edges"][:].tolist()))
            set_name = str(g.attrs["keypoint_set"])
            keypoints: KeypointSet
            try:
                keypoints = get_keypoint_set(set_name)
                if list(keypoints.names) != names:
                    raise UnknownNameError("keypoint set", set_name, known=[])
            except UnknownNameError:
                keypoints = KeypointSet("custom", tuple(names), edges)
            fps = float(g.attrs["fps"])
            pid = str(g.attrs["person_id"])
            contents.tracks.append(
                Tracks(
                    g["positions"][:], keypoints=keypoints, confidence=g["confidence"][:], time=g["time"][:],
                    fps=None if np.isnan(fps) else fps, person_id=int(pid) if pid.lstrip("-").isdigit() else pid,
                    units=str(g.attrs["units"]), coordinate_frame=_frame_name(str(g.attrs["coordinate_frame"])),
                    metadata=json.loads(g.attrs.get("metadata_json", "{}")),
                )  # fmt: skip
            )
        for group_name in TABLE_GROUPS:
            for name, g in f.get(group_name, {}).items():
                units = [str(u) for u in g["values"].attrs["units"]]
                getattr(contents, group_name)[name] = TimeSeriesTable(
                    g["time"][:], g["values"][:], list(g["column_names"].asstr()[:]), units,
                    name=str(g.attrs["name"]), metadata=json.loads(g.attrs.get("metadata_json", "{}")),
                )  # fmt: skip
    return contents


def _attr_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_attr_value(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def describe_h5(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A JSON-compatible description of an HDF5 tree (what the JSON Schema validates).

    Each group becomes ``{"attrs": ..., "groups": ..., "datasets": ...}``; each dataset
    ``{"dtype", "shape", "chunks", "compression", "attrs"}`` with ``dtype`` one of
    ``float64``, ``int64``, ``string`` or numpy's name for others. NaN attributes become
    JSON-compatible floats (Python ``nan``), so check them with :func:`validate_h5`.
    """
    import h5py

    path = existing_path(path)

    def group(g: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"attrs": {k: _attr_value(v) for k, v in g.attrs.items()}, "groups": {}, "datasets": {}}
        for name, item in g.items():
            if isinstance(item, h5py.Group):
                out["groups"][name] = group(item)
            else:
                is_str = h5py.check_string_dtype(item.dtype) is not None
                out["datasets"][name] = {
                    "dtype": "string" if is_str else str(item.dtype),
                    "shape": list(item.shape),
                    "chunks": list(item.chunks) if item.chunks else None,
                    "compression": item.compression,
                    "attrs": {k: _attr_value(v) for k, v in item.attrs.items()},
                }
        return out

    with _open(path) as f:
        return group(f)


@cache
def _schema() -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "schemas" / "kinelift-h5.schema.json").read_text())


def validate_h5(path: str | os.PathLike[str]) -> None:
    """Check a file against the kinelift HDF5 schema; :class:`FileFormatError` lists every problem.

    Beyond the JSON Schema, checks that shapes agree within each track and table,
    time is strictly increasing and confidence lies in [0, 1].
    """
    import jsonschema

    path = existing_path(path)
    with _corrupt_file_errors(path):
        tree = describe_h5(path)
        validator = jsonschema.Draft202012Validator(_schema())
        problems = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(tree)]
        if not problems:
            problems = _check_values(path)
    if problems:
        shown = "; ".join(problems[:10]) + (f"; ... ({len(problems)} problems)" if len(problems) > 10 else "")
        raise FileFormatError(path, f"does not follow kinelift HDF5 schema {SCHEMA_VERSION}: {shown}")


def _check_values(path: Path) -> list[str]:
    problems: list[str] = []
    with _open(path) as f:
        for name, g in f.get("tracks", {}).items():
            pos, conf, t = g["positions"], g["confidence"], g["time"]
            n, k = pos.shape[0], pos.shape[1]
            if pos.shape[2] not in (2, 3):
                problems.append(f"/tracks/{name}/positions: last axis {pos.shape[2]}, expected 2 or 3")
            if conf.shape != (n, k) or t.shape != (n,) or g["keypoint_names"].shape != (k,):
                problems.append(f"/tracks/{name}: shapes disagree (positions {pos.shape}, confidence {conf.shape}, time {t.shape})")
                continue
            problems += _check_time(f"/tracks/{name}/time", t[:])
            c = conf[:]
            if not np.all((c >= 0) & (c <= 1)):
                problems.append(f"/tracks/{name}/confidence: values outside [0, 1]")
            edges = g["edges"][:]
            if edges.size and (edges.min() < 0 or edges.max() >= k):
                problems.append(f"/tracks/{name}/edges: indices outside [0, {k})")
        for group_name in TABLE_GROUPS:
            for name, g in f.get(group_name, {}).items():
                n, c = g["values"].shape
                if g["time"].shape != (n,) or g["column_names"].shape != (c,) or len(g["values"].attrs["units"]) != c:
                    problems.append(f"/{group_name}/{name}: shapes disagree")
                    continue
                problems += _check_time(f"/{group_name}/{name}/time", g["time"][:])
    return problems


def _check_time(where: str, t: np.ndarray) -> list[str]:
    if not np.all(np.isfinite(t)):
        return [f"{where}: NaN or inf"]
    if t.size > 1 and not np.all(np.diff(t) > 0):
        return [f"{where}: not strictly increasing"]
    return []
