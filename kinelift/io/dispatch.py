"""Reading and writing any supported file, with the format found from its name or content.

==================  =====================================  ===========================
format              files                                  holds
==================  =====================================  ===========================
``trc``             ``*.trc``                              one track (3D markers, or 2D px)
``c3d``             ``*.c3d``                              one track (3D markers)
``mot``             ``*.mot``, ``*.sto``                   one table (coordinates, ...)
``h5``              ``*.h5``/``*.hdf5`` with kinelift      tracks and tables
                    schema
``openpose``        folder of ``*_keypoints.json``         tracks (2D)
``coco``            ``*.json`` COCO annotations            tracks (2D)
``coco-results``    ``*.json`` COCO keypoint results       tracks (2D)
``mmpose``          ``*.json`` MMPose predictions          tracks (2D)
``deeplabcut``      ``*.csv``, or ``*.h5`` without the     tracks (2D)
                    kinelift schema
``penn_action``     ``*.mat`` Penn Action labels           one track (2D, PENN-13)
``bvh``             ``*.bvh`` Biovision Hierarchy          one track (3D joints; pass
                                                           ``units=``)
==================  =====================================  ===========================

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from kinelift import Tracks
>>> from kinelift.io import load, save
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> t = Tracks(np.zeros((3, 17, 2)), keypoints="COCO-17", fps=25.0)
>>> save(folder / "t.json", tracks=[t], format="mmpose")
'mmpose'
>>> load(folder / "t.json", fps=25.0).format
'mmpose'
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, UnknownNameError, ValueRangeError
from kinelift.io import bvh, c3d, coco, deeplabcut, hdf5, mmpose, mot, openpose, penn_action, trc
from kinelift.io._common import existing_path, read_json

__all__ = ["FORMATS", "Loaded", "detect_format", "load", "read_tracks", "read_table", "save"]

FORMATS = ("trc", "c3d", "mot", "h5", "openpose", "coco", "coco-results", "mmpose", "deeplabcut", "penn_action", "bvh")
_NEEDS_FPS = ("openpose", "coco-results", "mmpose", "deeplabcut", "penn_action")
_READ_ONLY = ("penn_action", "bvh")  # a BVH is written from its hierarchy (kinelift.io.bvh.write_bvh), not from tracks


@dataclass(frozen=True)
class Loaded:
    """The contents of a file: its format, tracks and tables (by group and name)."""

    path: str
    format: str
    tracks: list[Tracks] = field(default_factory=list)
    tables: dict[str, TimeSeriesTable] = field(default_factory=dict)


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format of ``path`` by its suffix and, for JSON and HDF5, its content."""
    p = Path(path)
    if p.is_dir():
        return "openpose"
    suffix = p.suffix.lower()
    if suffix in (".trc", ".c3d"):
        return suffix[1:]
    if suffix in (".mot", ".sto"):
        return "mot"
    if suffix == ".csv":
        return "deeplabcut"
    if suffix == ".mat":
        return "penn_action"
    if suffix == ".bvh":
        return "bvh"
    if suffix in (".h5", ".hdf5"):
        existing_path(p)
        return "h5" if hdf5.is_kinelift_h5(p) else "deeplabcut"
    if suffix == ".json":
        if p.name.endswith("_keypoints.json"):
            return "openpose"
        doc = read_json(existing_path(p))
        if coco.is_coco_annotations(doc):
            return "coco"
        if coco.is_coco_results(doc):
            return "coco-results"
        if mmpose.is_mmpose(doc):
            return "mmpose"
        if isinstance(doc, dict) and "people" in doc:
            return "openpose"
        raise FileFormatError(p, "JSON of no known layout", expected="COCO annotations or results, MMPose predictions or OpenPose")
    raise FileFormatError(p, f"unknown file type {suffix or '(no suffix)'!r}", expected=f"one of the formats {FORMATS}")


def load(path: str | os.PathLike[str], *, format: str | None = None, fps: float | None = None, **options: Any) -> Loaded:
    """Read any supported file.

    Parameters
    ----------
    path : path-like
        File or (OpenPose) folder.
    format : str, optional
        One of ``FORMATS``; detected by default.
    fps : float, optional
        Frame rate, for the formats that store none (OpenPose, COCO results, MMPose,
        DeepLabCut, Penn Action; COCO annotations without image times).
    **options
        Passed to the reader (e.g. ``in_degrees`` for old ``.mot`` files, ``keypoint_set`` for
        OpenPose folders: ``"BODY-25"``, ``"BODY-25B"``).
    """
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise UnknownNameError("file format", fmt, known=FORMATS)
    if options.get("keypoint_set") is not None and fmt != "openpose":
        raise ValueRangeError("keypoint_set", expected=f"an OpenPose input (a {fmt} file names its own points)", got=options["keypoint_set"])
    if options.get("units") is not None and fmt != "bvh":
        raise ValueRangeError("units", expected=f"a BVH input (a {fmt} file states its own units)", got=options["units"])
    options = {k: v for k, v in options.items() if not (k in ("keypoint_set", "units") and v is None)}
    p = str(path)
    if fmt == "trc":
        return Loaded(p, fmt, tracks=[trc.read_trc(path, **{k: v for k, v in options.items() if k == "check_units"})])
    if fmt == "c3d":
        return Loaded(p, fmt, tracks=[c3d.read_c3d(path)])
    if fmt == "mot":
        table = mot.read_mot(path, **options)
        return Loaded(p, fmt, tables={f"kinematics/{Path(path).stem}": table})
    if fmt == "h5":
        contents = hdf5.read_h5(path)
        tables = {f"kinematics/{k}": v for k, v in contents.kinematics.items()}
        tables.update({f"analysis/{k}": v for k, v in contents.analysis.items()})
        return Loaded(p, fmt, tracks=contents.tracks, tables=tables)
    if fmt == "penn_action":
        return Loaded(p, fmt, tracks=[penn_action.read_penn_action(path, fps=fps)])
    if fmt == "bvh":
        return Loaded(p, fmt, tracks=[bvh.read_bvh(path, **{k: v for k, v in options.items() if k in ("units", "check_units")})])
    readers = {
        "openpose": openpose.read_openpose, "coco": coco.read_coco, "coco-results": coco.read_coco_results,
        "mmpose": mmpose.read_mmpose, "deeplabcut": deeplabcut.read_deeplabcut,
    }  # fmt: skip
    return Loaded(p, fmt, tracks=readers[fmt](path, fps=fps, **options))


def read_tracks(path: str | os.PathLike[str], *, format: str | None = None, fps: float | None = None, **options: Any) -> list[Tracks]:
    """All tracks in a file (one per person), in any supported format; see :func:`load`."""
    loaded = load(path, format=format, fps=fps, **options)
    if not loaded.tracks:
        raise FileFormatError(path, f"holds no keypoint tracks (a {loaded.format} file of tables)")
    return loaded.tracks


def read_table(path: str | os.PathLike[str], **options: Any) -> TimeSeriesTable:
    """The one table of a ``.mot``/``.sto`` file (or the only table of a kinelift HDF5 file)."""
    loaded = load(path, **options)
    if len(loaded.tables) != 1:
        raise FileFormatError(path, f"holds {len(loaded.tables)} tables", expected="exactly one")
    return next(iter(loaded.tables.values()))


def _output_format(path: Path, format: str | None) -> str:
    if format:
        if format not in FORMATS:
            raise UnknownNameError("file format", format, known=FORMATS)
        if format in _READ_ONLY:
            raise ValueRangeError("format", expected=f"a format kinelift writes ({format} is read only)", got=format)
        return format
    suffix = path.suffix.lower()
    by_suffix = {".trc": "trc", ".c3d": "c3d", ".mot": "mot", ".sto": "mot", ".h5": "h5", ".hdf5": "h5", ".csv": "deeplabcut", "": "openpose"}
    if suffix == ".json":
        raise ValueRangeError("format", expected="--to coco, coco-results or mmpose for a .json output", got=None)
    if suffix not in by_suffix:
        raise ValueRangeError("output", expected=f"a suffix of {sorted(by_suffix)} or an explicit format", got=path.name)
    return by_suffix[suffix]


def _one(tracks: Sequence[Tracks], fmt: str) -> Tracks:
    if len(tracks) != 1:
        ids = [t.person_id for t in tracks]
        raise ValueRangeError("tracks", expected=f"exactly one track for {fmt} (choose a person: {ids})", got=len(tracks))
    return tracks[0]


def save(
    path: str | os.PathLike[str],
    *,
    tracks: Sequence[Tracks] = (),
    tables: Mapping[str, TimeSeriesTable] | None = None,
    format: str | None = None,
    overwrite: bool = False,
) -> str:
    """Write tracks and/or tables to ``path`` in the format named or implied by the suffix; returns the format.

    Table keys are ``"kinematics/<name>"`` or ``"analysis/<name>"`` (as :func:`load` gives them).
    """
    out = Path(path)
    fmt = _output_format(out, format)
    tracks, tables = list(tracks), dict(tables or {})
    if fmt == "h5":
        groups: dict[str, dict[str, TimeSeriesTable]] = {"kinematics": {}, "analysis": {}}
        for key, table in tables.items():
            group, _, name = key.rpartition("/")
            if group not in groups:
                raise ValueRangeError("tables", expected="keys 'kinematics/<name>' or 'analysis/<name>'", got=key)
            groups[group][name] = table
        hdf5.write_h5(out, tracks=tracks, kinematics=groups["kinematics"], analysis=groups["analysis"], overwrite=overwrite)
        return fmt
    if fmt == "mot":
        if len(tables) != 1 or tracks:
            raise ValueRangeError("contents", expected="exactly one table (and no tracks) for .mot/.sto", got=f"{len(tables)} tables, {len(tracks)} tracks")
        mot.write_mot(next(iter(tables.values())), out, overwrite=overwrite)
        return fmt
    if tables:
        raise ValueRangeError("tables", expected=f"no tables: {fmt} holds keypoint tracks only (use .h5 or .mot)", got=list(tables))
    if not tracks:
        raise ValueRangeError("tracks", expected="at least one track", got=0)
    if fmt == "trc":
        trc.write_trc(_one(tracks, fmt), out, overwrite=overwrite)
    elif fmt == "c3d":
        c3d.write_c3d(_one(tracks, fmt), out, overwrite=overwrite)
    elif fmt == "openpose":
        openpose.write_openpose(tracks, out, overwrite=overwrite)
    elif fmt == "coco":
        coco.write_coco(tracks, out, overwrite=overwrite)
    elif fmt == "coco-results":
        coco.write_coco_results(tracks, out, overwrite=overwrite)
    elif fmt == "mmpose":
        mmpose.write_mmpose(tracks, out, overwrite=overwrite)
    else:
        deeplabcut.write_deeplabcut(tracks, out, overwrite=overwrite)
    return fmt
