"""Run inverse kinematics from an OpenSim IK setup file, writing what OpenSim's tool writes.

Outputs: the ``output_motion_file`` (``.mot``, degrees), and in ``results_directory``
``<name>_ik_marker_errors.sto`` (when ``report_errors``) and
``<name>_ik_model_marker_locations.sto`` (when ``report_marker_locations``), as OpenSim names
them. Every file is written atomically.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError
from kinelift.ik.inverse_kinematics import IKOptions, inverse_kinematics
from kinelift.ik.result import IKResult
from kinelift.ik.setup import IKSetup, read_ik_setup
from kinelift.skeleton.model import SkeletalModel

__all__ = ["run_ik_setup", "run_ik", "read_markers"]

log = logging.getLogger(__name__)


def read_markers(path: str | os.PathLike[str]) -> Tracks:
    """3D marker trajectories in metres from a ``.trc`` or ``.c3d`` file (or kinelift ``.h5``)."""
    from kinelift.io.dispatch import read_tracks

    tracks = read_tracks(path)
    if len(tracks) != 1:
        raise FileFormatError(path, f"holds {len(tracks)} track sets", expected="one set of marker trajectories")
    markers = tracks[0]
    if markers.n_dims != 3 or markers.units != "m":
        raise FileFormatError(path, f"holds {markers.n_dims}D positions in {markers.units!r}", expected="3D marker positions (mm or m)")
    return markers


def run_ik(setup: IKSetup, *, model: SkeletalModel | None = None, overwrite: bool = False, options: IKOptions | None = None) -> IKResult:
    """Solve the IK described by ``setup`` and write its outputs.

    Parameters
    ----------
    setup : IKSetup
        As read by :func:`read_ik_setup` (or built in Python).
    model : SkeletalModel, optional
        Use this model instead of ``setup.model_file``.
    overwrite : bool, default False
        Replace existing output files.
    options : IKOptions, optional
    """
    from kinelift.io.mot import read_mot, write_sto

    if model is None:
        if setup.model_file is None:
            raise FileFormatError(str(setup.source or "<setup>"), "no <model_file>", expected="the model to solve")
        model = SkeletalModel.from_osim(setup.model_file)
    if setup.marker_file is None:
        raise FileFormatError(str(setup.source or "<setup>"), "no <marker_file>", expected="a .trc of marker trajectories")
    if np.isfinite(setup.constraint_weight) and model.spec.couplers:
        log.info("constraint_weight=%g: kinelift satisfies coupler constraints exactly (OpenSim's 'Infinity')", setup.constraint_weight)
    coordinates = read_mot(setup.coordinate_file) if setup.coordinate_file else None
    result = inverse_kinematics(
        model, read_markers(setup.marker_file), tasks=setup.tasks, coordinates=coordinates,
        time_range=setup.time_range, options=options,
    )  # fmt: skip
    if setup.output_motion_file is not None:
        result.write_mot(setup.output_motion_file, overwrite=overwrite)
    if setup.report_errors:
        result.write_marker_errors(setup.results_directory / f"{setup.name}_ik_marker_errors.sto", overwrite=overwrite)
    if setup.report_marker_locations:
        xyz = result.model_markers.reshape(result.n_frames, -1)
        names = [f"{m}_{axis}" for m in result.marker_names for axis in ("tx", "ty", "tz")]
        table = TimeSeriesTable(result.time, xyz, names, ["m"] * len(names), name="Model Marker Locations from IK")
        write_sto(table, setup.results_directory / f"{setup.name}_ik_model_marker_locations.sto", in_degrees=False, overwrite=overwrite)
    return result


def run_ik_setup(
    path: str | os.PathLike[str],
    *,
    model_file: str | os.PathLike[str] | None = None,
    output_motion_file: str | os.PathLike[str] | None = None,
    results_directory: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    options: IKOptions | None = None,
) -> IKResult:
    """Read an OpenSim IK setup file and run it (paths relative to the setup file's folder).

    Parameters
    ----------
    path : path-like
        The ``<InverseKinematicsTool>`` setup file.
    model_file, output_motion_file, results_directory : path-like, optional
        Replace the setup's model, output motion file or results directory (relative to the
        working directory).
    overwrite : bool, default False
    options : IKOptions, optional
    """
    setup = read_ik_setup(path)
    if model_file is not None:
        setup = replace(setup, model_file=Path(model_file))
    if output_motion_file is not None:
        setup = replace(setup, output_motion_file=Path(output_motion_file))
    if results_directory is not None:
        setup = replace(setup, results_directory=Path(results_directory))
    return run_ik(setup, overwrite=overwrite, options=options)
