"""Scaling as OpenSim's ScaleTool does it: measured scale factors, manual factors, marker placement.

1. The generic model, with the markers of ``marker_set_file`` replacing (or adding to) its own.
2. ``ModelScaler``: marker positions of the static trial are averaged over its time range; each
   measurement's factor is the mean over its marker pairs of measured distance / model distance
   (model markers in the default pose); factors go to the listed axes of the listed bodies, in
   ``scaling_order`` (a later ``manualScale`` overrides a measurement). Unlisted bodies keep 1.
3. ``MarkerPlacer``: one IK frame of the scaled model on the static markers averaged over its
   time range (its own task set), then every marker that is not ``fixed`` and was measured is
   moved onto its measured position (expressed in its body's frame).

Outputs (atomic): the scaled model before and after marker placement (``.osim``; kinelift
writes the skeleton, coordinates, constraints and markers: muscles and inertia are not
carried over), the applied scale set (``.xml``), and the static pose (``.mot``).
"""

from __future__ import annotations

import logging
import os
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, UnknownNameError, ValueRangeError
from kinelift.ik.inverse_kinematics import IKOptions, inverse_kinematics
from kinelift.ik.problem import frames_in_range
from kinelift.ik.result import IKResult
from kinelift.ik.scale_setup import Measurement, ScaleSetup, read_scale_setup
from kinelift.ik.tasks import TaskSet
from kinelift.io._atomic import atomic_path
from kinelift.skeleton.model import SkeletalModel
from kinelift.skeleton.osim_parser import parse_osim, read_marker_set
from kinelift.skeleton.osim_writer import write_osim
from kinelift.skeleton.rotations import euler_xyz_to_matrix_np
from kinelift.skeleton.scaling import scale_spec
from kinelift.skeleton.spec import ModelSpec

__all__ = ["ScaleResult", "average_markers", "measurement_scale_factors", "place_markers", "run_scale_setup", "scale_model"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ScaleResult:
    """Outcome of scaling.

    Attributes
    ----------
    scale_factors : dict of str to ndarray (3,)
        Per body, the factors applied (1 where none).
    measurement_factors : dict of str to float
        Per applied measurement, its factor.
    scaled_model : SkeletalModel
        After scaling (and marker placement, when applied).
    static_pose : IKResult or None
        The marker placer's IK frame.
    marker_moves : dict of str to float
        Distance (m) each placed marker moved.
    """

    scale_factors: dict[str, np.ndarray]
    measurement_factors: dict[str, float]
    scaled_model: SkeletalModel
    static_pose: IKResult | None
    marker_moves: dict[str, float]


def average_markers(markers: Tracks, time_range: tuple[float, float], *, max_marker_movement: float = -1.0) -> Tracks:
    """One frame: each marker's mean position over ``time_range`` (NaN samples skipped; NaN if none).

    With ``max_marker_movement > 0`` (m), a marker that moves more than that within the range
    is an error, as in OpenSim.
    """
    t = np.asarray(markers.time)
    lo, hi = time_range
    inside = np.flatnonzero((t >= lo - 1e-9) & (t <= hi + 1e-9))
    frames = inside if inside.size else frames_in_range(t, time_range)[:1]
    xyz = np.asarray(markers.positions)[frames]
    if max_marker_movement > 0:
        spread = np.nanmax(np.linalg.norm(xyz - xyz[:1], axis=-1), axis=0)
        moving = [n for n, s in zip(markers.keypoint_names, spread) if s > max_marker_movement]
        if moving:
            raise ValueRangeError("static trial markers", expected=f"to move less than {max_marker_movement} m in {time_range}", got=moving)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN markers stay NaN
        mean = np.nanmean(xyz, axis=0)
    return Tracks(mean[None], keypoints=list(markers.keypoint_names), time=[float(t[frames].mean())], units="m",
                  coordinate_frame=markers.coordinate_frame)  # fmt: skip


def measurement_scale_factors(model: SkeletalModel, measurements: tuple[Measurement, ...], static: Tracks) -> dict[str, float]:
    """Each applied measurement's factor: mean over its pairs of measured / model distance
    (``static``: one frame of measured markers; model markers in the default pose)."""
    default = model(model.default_coordinates()).markers.numpy()
    measured = np.asarray(static.positions)[0]
    factors = {}
    for m in measurements:
        if not m.apply:
            continue
        ratios = []
        for a, b in m.marker_pairs:
            for name in (a, b):
                if name not in model.marker_names:
                    raise UnknownNameError(f"marker of measurement {m.name!r} (in the model)", name, known=model.marker_names)
                if name not in static.keypoint_names:
                    raise UnknownNameError(f"marker of measurement {m.name!r} (in the static trial)", name, known=static.keypoint_names)
            ia, ib = model.marker_names.index(a), model.marker_names.index(b)
            ja, jb = static.keypoint_names.index(a), static.keypoint_names.index(b)
            d_model = float(np.linalg.norm(default[ia] - default[ib]))
            d_measured = float(np.linalg.norm(measured[ja] - measured[jb]))
            if not np.isfinite(d_measured):
                raise ValueRangeError(f"markers {a!r}, {b!r} of measurement {m.name!r}", expected="measured in the static time range", got="NaN")
            if d_model == 0:
                raise ValueRangeError(f"markers {a!r}, {b!r} of measurement {m.name!r}", expected="distinct model positions", got="distance 0")
            ratios.append(d_measured / d_model)
        if not ratios:
            raise ValueRangeError(f"measurement {m.name!r}", expected="at least one marker pair", got=0)
        factors[m.name] = float(np.mean(ratios))
    return factors


def scale_model(
    model: SkeletalModel, setup: ScaleSetup, static: Tracks | None
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Body scale factors by ``setup.model_scaler`` (``static``: averaged static markers, for measurements)."""
    scaler = setup.model_scaler
    factors = {b: np.ones(3) for b in model.body_names}
    measured: dict[str, float] = {}
    if not scaler.apply:
        return factors, measured
    for step in scaler.scaling_order:
        if step == "measurements":
            if static is None:
                raise FileFormatError(str(setup.source or "<setup>"), "measurements need <marker_file> in <ModelScaler>")
            measured = measurement_scale_factors(model, scaler.measurements, static)
            for m in scaler.measurements:
                if m.apply:
                    for body, axes in m.body_scales:
                        if body not in factors:
                            log.warning("measurement %r scales body %r, which %s does not have (ignored, as OpenSim does)", m.name, body, model.spec.name)
                            continue
                        for axis in axes:
                            factors[body]["XYZ".index(axis)] = measured[m.name]
        else:
            for body, value in scaler.manual_scales.items():
                if body == "ground":
                    continue
                if body not in factors:
                    log.warning("manual <Scale> of body %r, which %s does not have (ignored, as OpenSim does)", body, model.spec.name)
                    continue
                factors[body] = np.array(value, dtype=np.float64)
    return factors, measured


def _frame_in_ground(model: SkeletalModel, fk, marker_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Rotation and origin in ground of the frame a marker is fixed in (``fk``: the model's FK result)."""
    spec = model.spec.markers[marker_index]
    b = model.body_names.index(spec.frame.body) if spec.frame.body in model.body_names else None
    R = np.eye(3) if b is None else fk.body_rotations[b].numpy()
    p = np.zeros(3) if b is None else fk.body_positions[b].numpy()
    for link in spec.frame.links:
        p = p + R @ link.translation
        R = R @ euler_xyz_to_matrix_np(link.orientation)
    return R, p


def place_markers(model: SkeletalModel, q: torch.Tensor, static: Tracks) -> tuple[ModelSpec, dict[str, float]]:
    """Move every marker that is not fixed and was measured onto its measured position at pose ``q``."""
    measured = np.asarray(static.positions)[0]
    markers, moves = list(model.spec.markers), {}
    fk = model(q)
    current = fk.markers.numpy()
    for i, m in enumerate(markers):
        if m.fixed or m.name not in static.keypoint_names:
            continue
        y = measured[static.keypoint_names.index(m.name)]
        if np.isnan(y).any():
            continue
        R, p = _frame_in_ground(model, fk, i)
        markers[i] = replace(m, location=R.T @ (y - p))
        moves[m.name] = float(np.linalg.norm(y - current[i]))
    return replace(model.spec, markers=tuple(markers)), moves


def write_scale_set(factors: dict[str, np.ndarray], path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """The applied scale factors as an OpenSim ``<ScaleSet>`` file."""
    doc = ET.Element("OpenSimDocument", Version="40000")
    objects = ET.SubElement(ET.SubElement(doc, "ScaleSet", name="ScaleSet"), "objects")
    for body, f in factors.items():
        sc = ET.SubElement(objects, "Scale")
        ET.SubElement(sc, "scales").text = " ".join(repr(float(v)) for v in f)
        ET.SubElement(sc, "segment").text = body
        ET.SubElement(sc, "apply").text = "true"
    ET.indent(doc)
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        ET.ElementTree(doc).write(tmp, encoding="UTF-8", xml_declaration=True)


def run_scale_setup(
    path: str | os.PathLike[str] | ScaleSetup,
    *,
    model_file: str | os.PathLike[str] | None = None,
    marker_set_file: str | os.PathLike[str] | None = None,
    marker_file: str | os.PathLike[str] | None = None,
    output_directory: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    options: IKOptions | None = None,
) -> ScaleResult:
    """Run an OpenSim scale setup (see the module docs).

    Parameters
    ----------
    path : path-like or ScaleSetup
        The ``<ScaleTool>`` setup file (paths relative to its folder), or a setup built in Python.
    model_file, marker_set_file, marker_file : path-like, optional
        Replace the generic model, its marker set, or the static trial of both steps.
    output_directory : path-like, optional
        Write the outputs here (same file names) instead of where the setup says.
    overwrite : bool, default False
    options : IKOptions, optional
        For the marker placer's IK frame.
    """
    from kinelift.ik.tool import read_markers

    setup = path if isinstance(path, ScaleSetup) else read_scale_setup(path)
    if model_file is not None:
        setup = replace(setup, model_file=Path(model_file))
    if marker_set_file is not None:
        setup = replace(setup, marker_set_file=Path(marker_set_file))
    if marker_file is not None:
        setup = replace(setup, model_scaler=replace(setup.model_scaler, marker_file=Path(marker_file)),
                        marker_placer=replace(setup.marker_placer, marker_file=Path(marker_file)))  # fmt: skip
    if setup.model_file is None:
        raise FileFormatError(str(setup.source or "<setup>"), "no <model_file> in <GenericModelMaker>")

    def out(p: Path | None) -> Path | None:
        return None if p is None else (Path(output_directory) / p.name if output_directory is not None else p)

    spec = parse_osim(setup.model_file)
    if setup.marker_set_file is not None:
        extra = read_marker_set(setup.marker_set_file, spec)
        names = {m.name for m in extra}
        spec = replace(spec, markers=tuple(m for m in spec.markers if m.name not in names) + extra)
    generic = SkeletalModel.from_spec(spec)
    scaler, placer = setup.model_scaler, setup.marker_placer
    trials: dict[Path, Tracks] = {}  # both steps usually read the same static trial: read it once

    def trial(path: Path) -> Tracks:
        if path not in trials:
            trials[path] = read_markers(path)
        return trials[path]

    static = None
    if scaler.apply and scaler.marker_file is not None:
        static = average_markers(trial(scaler.marker_file), scaler.time_range)
    factors, measured = scale_model(generic, setup, static)
    scaled = SkeletalModel.from_spec(replace(scale_spec(spec, factors), name=setup.name))
    if scaler.apply and scaler.output_scale_file is not None:
        write_scale_set(factors, out(scaler.output_scale_file), overwrite=overwrite)
    if scaler.apply and scaler.output_model_file is not None:
        write_osim(scaled.spec, out(scaler.output_model_file), overwrite=overwrite)
    pose, moves = None, {}
    if placer.apply:
        if placer.marker_file is None:
            raise FileFormatError(str(setup.source or "<setup>"), "<MarkerPlacer> applies but has no <marker_file>")
        static_pose = average_markers(trial(placer.marker_file), placer.time_range, max_marker_movement=placer.max_marker_movement)
        coordinates = None
        if placer.coordinate_file is not None:
            from kinelift.io.mot import read_mot

            coordinates = read_mot(placer.coordinate_file)
        options = options or IKOptions(progress=False)
        tasks = placer.tasks if len(placer.tasks) else TaskSet.from_weights({n: 1.0 for n in scaled.marker_names})
        pose = inverse_kinematics(scaled, static_pose, tasks=tasks, coordinates=_constant_table(coordinates, static_pose), options=options)
        if len(pose.failed_frames):
            raise ValueRangeError("static trial", expected=f"at least {options.min_markers} markers for marker placement", got="too few")
        placed, moves = place_markers(scaled, torch.as_tensor(pose.coordinates[0]), static_pose)
        scaled = SkeletalModel.from_spec(placed)
        if placer.output_motion_file is not None:
            pose.write_mot(out(placer.output_motion_file), overwrite=overwrite)
        if placer.output_model_file is not None:
            write_osim(scaled.spec, out(placer.output_model_file), overwrite=overwrite)
    log.info("scaled %s: %s", setup.name, {k: round(v, 4) for k, v in measured.items()})
    return ScaleResult(factors, measured, scaled, pose, moves)


def _constant_table(coordinates, static: Tracks):
    """The coordinates file at the static frame's time, as a two-row table the IK can interpolate."""
    if coordinates is None:
        return None
    from kinelift.core.table import TimeSeriesTable

    t = float(np.asarray(static.time)[0])
    i = int(np.argmin(np.abs(np.asarray(coordinates.time) - t)))
    row = np.asarray(coordinates.values)[i]
    return TimeSeriesTable([t - 1.0, t + 1.0], np.stack([row, row]), coordinates.column_names, coordinates.column_units,
                           metadata=coordinates.metadata)  # fmt: skip
