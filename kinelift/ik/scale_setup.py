"""OpenSim ``ScaleTool`` setup files as frozen dataclasses.

Paths are resolved against the setup file's folder. Measurements, manual scales and the
marker placer's task set are read as OpenSim reads them; the subject's ``mass`` is kept but
kinelift's models carry no inertia, so it changes nothing kinematic.

Examples
--------
>>> m = Measurement("pelvis", marker_pairs=(("R.ASIS", "L.ASIS"),), body_scales=(("pelvis", "XYZ"),))
>>> m.body_scales
(('pelvis', 'XYZ'),)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kinelift.errors import FileFormatError, UnsupportedSetupError
from kinelift.ik.tasks import TaskSet, task_set_from_element
from kinelift.io.opensim_xml import SetupDocument

__all__ = ["Measurement", "ModelScalerSetup", "MarkerPlacerSetup", "ScaleSetup", "read_scale_setup"]


@dataclass(frozen=True)
class Measurement:
    """A scale factor from marker distances: the mean over ``marker_pairs`` of measured/model distance,
    applied to the listed axes (``"XYZ"``, ``"Y"``, ...) of each body in ``body_scales``."""

    name: str
    marker_pairs: tuple[tuple[str, str], ...]
    body_scales: tuple[tuple[str, str], ...]
    apply: bool = True


@dataclass(frozen=True)
class ModelScalerSetup:
    """OpenSim's ``ModelScaler``: ``scaling_order`` among ``"measurements"`` and ``"manualScale"``."""

    apply: bool = True
    scaling_order: tuple[str, ...] = ("measurements",)
    measurements: tuple[Measurement, ...] = ()
    manual_scales: dict[str, np.ndarray] = field(default_factory=dict)
    marker_file: Path | None = None
    time_range: tuple[float, float] = (-math.inf, math.inf)
    preserve_mass_distribution: bool = False
    output_model_file: Path | None = None
    output_scale_file: Path | None = None


@dataclass(frozen=True)
class MarkerPlacerSetup:
    """OpenSim's ``MarkerPlacer``: one IK frame on the averaged static trial, then markers moved onto it."""

    apply: bool = True
    tasks: TaskSet = field(default_factory=TaskSet)
    marker_file: Path | None = None
    coordinate_file: Path | None = None
    time_range: tuple[float, float] = (-math.inf, math.inf)
    output_motion_file: Path | None = None
    output_model_file: Path | None = None
    output_marker_file: Path | None = None
    max_marker_movement: float = -1.0


@dataclass(frozen=True)
class ScaleSetup:
    name: str = "scale"
    mass: float = math.nan
    model_file: Path | None = None
    marker_set_file: Path | None = None
    model_scaler: ModelScalerSetup = field(default_factory=ModelScalerSetup)
    marker_placer: MarkerPlacerSetup = field(default_factory=MarkerPlacerSetup)
    source: Path | None = None


def _time_range(doc: SetupDocument, element) -> tuple[float, float]:
    if not doc.has(element, "time_range"):
        return (-math.inf, math.inf)
    a, b = doc.numbers(element, "time_range", 2)
    return (a, b)


def _measurement(doc: SetupDocument, element) -> Measurement:
    pairs = []
    for pair in element.findall("MarkerPairSet/objects/MarkerPair"):
        names = doc.text(pair, "markers").split()
        if len(names) != 2:
            raise FileFormatError(doc.path, f"<MarkerPair> of measurement {element.get('name')!r} names {names}", expected="two markers")
        pairs.append((names[0], names[1]))
    bodies = []
    for bs in element.findall("BodyScaleSet/objects/BodyScale"):
        axes = "".join(doc.text(bs, "axes").split()).upper()
        if not axes or set(axes) - set("XYZ"):
            raise FileFormatError(doc.path, f"<BodyScale name={bs.get('name')!r}> axes {axes!r}", expected="some of X Y Z")
        bodies.append((bs.get("name", ""), axes))
    return Measurement(element.get("name", ""), tuple(pairs), tuple(bodies), doc.flag(element, "apply", True))


def read_scale_setup(path: str | os.PathLike[str]) -> ScaleSetup:
    """Read an OpenSim scale setup file (``<ScaleTool>``)."""
    doc = SetupDocument.read(path, ("ScaleTool",))
    tool = doc.root
    maker = tool.find("GenericModelMaker")
    scaler_el, placer_el = tool.find("ModelScaler"), tool.find("MarkerPlacer")
    scaler = ModelScalerSetup(apply=False)
    if scaler_el is not None:
        order = tuple(doc.text(scaler_el, "scaling_order", "measurements").split())
        unknown = [o for o in order if o not in ("measurements", "manualScale")]
        if unknown:
            raise UnsupportedSetupError(str(doc.path), f"<scaling_order> entries {unknown}")
        measurement_set = scaler_el.find("MeasurementSet")
        measurements = () if measurement_set is None else tuple(_measurement(doc, m) for m in doc.objects(measurement_set) if m.tag == "Measurement")
        manual = {}
        scale_set = scaler_el.find("ScaleSet")
        for sc in [] if scale_set is None else doc.objects(scale_set):
            if doc.flag(sc, "apply", True):
                manual[doc.text(sc, "segment")] = np.array(doc.numbers(sc, "scales", 3))
        scaler = ModelScalerSetup(
            apply=doc.flag(scaler_el, "apply", True), scaling_order=order, measurements=measurements, manual_scales=manual,
            marker_file=doc.file(scaler_el, "marker_file"), time_range=_time_range(doc, scaler_el),
            preserve_mass_distribution=doc.flag(scaler_el, "preserve_mass_distribution", False),
            output_model_file=doc.file(scaler_el, "output_model_file"), output_scale_file=doc.file(scaler_el, "output_scale_file"),
        )  # fmt: skip
    placer = MarkerPlacerSetup(apply=False)
    if placer_el is not None:
        tasks_el = placer_el.find("IKTaskSet")
        placer = MarkerPlacerSetup(
            apply=doc.flag(placer_el, "apply", True),
            tasks=TaskSet() if tasks_el is None else task_set_from_element(doc, tasks_el),
            marker_file=doc.file(placer_el, "marker_file"), coordinate_file=doc.file(placer_el, "coordinate_file"),
            time_range=_time_range(doc, placer_el), output_motion_file=doc.file(placer_el, "output_motion_file"),
            output_model_file=doc.file(placer_el, "output_model_file"), output_marker_file=doc.file(placer_el, "output_marker_file"),
            max_marker_movement=doc.number(placer_el, "max_marker_movement", -1.0),
        )  # fmt: skip
    return ScaleSetup(
        name=tool.get("name", "scale") or "scale", mass=doc.number(tool, "mass", math.nan),
        model_file=None if maker is None else doc.file(maker, "model_file"),
        marker_set_file=None if maker is None else doc.file(maker, "marker_set_file"),
        model_scaler=scaler, marker_placer=placer, source=doc.path,
    )  # fmt: skip
