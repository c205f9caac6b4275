"""From a kinelift HDF5 result back to OpenSim: files (``kinelift export``) or OpenSim table objects.

:func:`export_opensim` writes, for every table and 3D track of the file:

* ``/kinematics/<name>`` -> ``<name>.mot`` (OpenSim Storage; rotational columns in degrees,
  ``inDegrees=yes``), the file OpenSim's tools and GUI load with the model;
* ``/analysis/<name>`` -> ``<name>.sto`` (degrees for angle columns, as the ``.mot``);
* every 3D track (metres in the file) -> ``<track>.trc`` in millimetres.

:func:`to_opensim_tables` gives the same data as ``opensim.TimeSeriesTable`` (coordinates and
analyses, SI: radians and metres, as OpenSim holds them in memory) and
``opensim.TimeSeriesTableVec3`` (3D tracks, metres) objects; it needs the ``opensim`` package.

Examples
--------
>>> import tempfile, pathlib
>>> from kinelift.pipeline.demo_clip import write_demo_input
>>> from kinelift.pipeline.run import run
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_demo_input(folder / "squat.json", n_reps=1)
>>> _ = run(folder / "squat.json", folder / "run", progress=False)
>>> sorted(export_opensim(folder / "run" / "result.h5", folder / "osim"))[:3]
['anatomical_points_3d.trc', 'coordinates.mot', 'joint_angles.sto']
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from kinelift.errors import FileFormatError
from kinelift.io.hdf5 import read_h5

__all__ = ["export_opensim", "to_opensim_tables"]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))


def export_opensim(h5: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, overwrite: bool = False) -> dict[str, Path]:
    """Write the OpenSim files of a kinelift HDF5 file into ``out_dir``; returns file name -> path."""
    from kinelift.io._atomic import staged_outputs
    from kinelift.io.mot import write_mot
    from kinelift.io.trc import write_trc

    contents = read_h5(h5)
    out = Path(out_dir)
    tables = {f"{_safe(name)}{suffix}": table for group, suffix in ((contents.kinematics, ".mot"), (contents.analysis, ".sto"))
              for name, table in group.items()}  # fmt: skip
    tracks = {f"{_safe(t.person_id)}.trc": t for t in contents.tracks if t.n_dims == 3 and t.units == "m"}
    if not tables and not tracks:
        raise FileFormatError(h5, "no tables and no 3D tracks to export", expected="a kinelift result file (kinelift run)")
    with staged_outputs(out, [*tables, *tracks], overwrite=overwrite) as stage:  # every target checked before any is written
        for name, table in tables.items():
            write_mot(table, stage / name)
        for name, track in tracks.items():
            write_trc(track, stage / name, units="mm")
    return {name: out / name for name in [*tables, *tracks]}


def to_opensim_tables(h5: str | os.PathLike[str]) -> dict[str, Any]:
    """OpenSim table objects of a kinelift HDF5 file: ``"kinematics/<name>"`` and ``"analysis/<name>"``
    as ``opensim.TimeSeriesTable`` (SI), 3D tracks as ``"tracks/<id>"`` ``opensim.TimeSeriesTableVec3`` (m)."""
    try:
        import opensim as osim
    except ImportError:
        raise FileFormatError(h5, "the opensim package is not installed", expected="pip install opensim") from None
    contents = read_h5(h5)
    tables: dict[str, Any] = {}
    for group_name, group in (("kinematics", contents.kinematics), ("analysis", contents.analysis)):
        for name, table in group.items():
            out = osim.TimeSeriesTable()
            out.setColumnLabels(list(table.column_names))
            for t, row in zip(table.time, table.values):
                out.appendRow(float(t), osim.RowVector([float(v) for v in row]))
            out.addTableMetaDataString("inDegrees", "no")
            tables[f"{group_name}/{name}"] = out
    for track in contents.tracks:
        if track.n_dims != 3:
            continue
        out = osim.TimeSeriesTableVec3()
        out.setColumnLabels(list(track.keypoint_names))
        for t, frame in zip(track.time, np.nan_to_num(track.positions, nan=np.nan)):
            out.appendRow(float(t), osim.RowVectorVec3([osim.Vec3(*map(float, p)) for p in frame]))
        out.addTableMetaDataString("Units", track.units)
        tables[f"tracks/{track.person_id}"] = out
    return tables
