"""IK tasks: which markers and coordinates inverse kinematics tracks, and how strongly.

The same objects as OpenSim's ``IKTaskSet``: an :class:`MarkerTask` weights a marker's squared
distance (m^2) to its measured position; a :class:`CoordinateTask` weights the squared
difference (rad^2 or m^2) between a coordinate and a target that is the coordinate's default
value, a manual value, or the value in a coordinates file. Tasks with ``apply=False`` are
kept (so a file round-trips) but ignored by the solver, as OpenSim does.

Examples
--------
>>> tasks = TaskSet([MarkerTask("R.ASIS", weight=10.0), CoordinateTask("mtp_angle_r", weight=1000.0)])
>>> tasks.marker_weights()
{'R.ASIS': 10.0}
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from kinelift.errors import FileFormatError, UnsupportedSetupError, ValueRangeError
from kinelift.io.opensim_xml import SetupDocument

__all__ = ["MarkerTask", "CoordinateTask", "TaskSet", "read_task_set"]

VALUE_TYPES = ("default_value", "manual_value", "from_file")


@dataclass(frozen=True)
class MarkerTask:
    """Track marker ``name`` with ``weight`` (OpenSim's ``IKMarkerTask``)."""

    name: str
    weight: float = 1.0
    apply: bool = True

    def __post_init__(self) -> None:
        _check_weight(self.name, self.weight)


@dataclass(frozen=True)
class CoordinateTask:
    """Hold coordinate ``name`` near a target with ``weight`` (OpenSim's ``IKCoordinateTask``).

    ``value_type``: ``"default_value"`` (the model's default), ``"manual_value"`` (``value``, in
    rad or m) or ``"from_file"`` (the coordinates file, interpolated at each marker frame).
    """

    name: str
    weight: float = 1.0
    value_type: str = "default_value"
    value: float = 0.0
    apply: bool = True

    def __post_init__(self) -> None:
        _check_weight(self.name, self.weight)
        if self.value_type not in VALUE_TYPES:
            raise ValueRangeError(f"CoordinateTask({self.name!r}).value_type", expected=f"one of {VALUE_TYPES}", got=self.value_type)
        if not np.isfinite(self.value):
            raise ValueRangeError(f"CoordinateTask({self.name!r}).value", expected="a finite number (rad or m)", got=self.value)


def _check_weight(name: str, weight: float) -> None:
    if not (np.isfinite(weight) and weight >= 0):
        raise ValueRangeError(f"task {name!r} weight", expected="a finite number >= 0", got=weight)


@dataclass(frozen=True)
class TaskSet:
    """An ordered collection of marker and coordinate tasks (names unique per kind)."""

    tasks: tuple[MarkerTask | CoordinateTask, ...] = ()

    def __init__(self, tasks: Iterable[MarkerTask | CoordinateTask] = ()) -> None:
        tasks = tuple(tasks)
        for t in tasks:
            if not isinstance(t, (MarkerTask, CoordinateTask)):
                raise ValueRangeError("tasks", expected="MarkerTask or CoordinateTask objects", got=type(t).__name__)
        for kind in (MarkerTask, CoordinateTask):
            names = [t.name for t in tasks if isinstance(t, kind)]
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueRangeError(f"{kind.__name__} names", expected="each name once", got=repeated)
        object.__setattr__(self, "tasks", tasks)

    @classmethod
    def from_weights(cls, markers: Mapping[str, float], coordinates: Mapping[str, float] | None = None) -> TaskSet:
        """Marker tasks from ``{marker: weight}`` and default-value coordinate tasks from ``{coordinate: weight}``."""
        tasks: list[MarkerTask | CoordinateTask] = [MarkerTask(n, float(w)) for n, w in markers.items()]
        tasks += [CoordinateTask(n, float(w)) for n, w in (coordinates or {}).items()]
        return cls(tasks)

    def marker_weights(self) -> dict[str, float]:
        """``{marker: weight}`` of the applied marker tasks."""
        return {t.name: t.weight for t in self.tasks if isinstance(t, MarkerTask) and t.apply}

    def coordinate_tasks(self) -> list[CoordinateTask]:
        """The applied coordinate tasks."""
        return [t for t in self.tasks if isinstance(t, CoordinateTask) and t.apply]

    def __len__(self) -> int:
        return len(self.tasks)


def task_set_from_element(doc: SetupDocument, element: ET.Element) -> TaskSet:
    """An ``<IKTaskSet>`` element (inline, or naming a file in its ``file`` attribute)."""
    if element.get("file"):
        return read_task_set(doc.resolve(element.get("file", "")))
    tasks: list[MarkerTask | CoordinateTask] = []
    for obj in doc.objects(element):
        name = obj.get("name", "")
        apply = doc.flag(obj, "apply", True)
        weight = doc.number(obj, "weight", 1.0)
        if obj.tag == "IKMarkerTask":
            tasks.append(MarkerTask(name, weight, apply))
        elif obj.tag == "IKCoordinateTask":
            value_type = doc.text(obj, "value_type", "default_value")
            if value_type not in VALUE_TYPES:
                raise UnsupportedSetupError(str(doc.path), f"<IKCoordinateTask name={name!r}> value_type {value_type!r}")
            tasks.append(CoordinateTask(name, weight, value_type, doc.number(obj, "value", 0.0), apply))
        else:
            raise UnsupportedSetupError(str(doc.path), f"task <{obj.tag} name={name!r}> (only IKMarkerTask and IKCoordinateTask)")
    try:
        return TaskSet(tasks)
    except ValueRangeError as exc:
        raise FileFormatError(doc.path, str(exc), expected="each task name once per kind") from None


def read_task_set(path: str | os.PathLike[str]) -> TaskSet:
    """Read an OpenSim IK task-set file (``<IKTaskSet>``, e.g. ``gait2354_IK_Tasks.xml``).

    Coordinate task ``value`` entries are in the units OpenSim reads them in: rad or m.
    """
    doc = SetupDocument.read(path, ("IKTaskSet",))
    return task_set_from_element(doc, doc.root)
