"""OpenSim ``InverseKinematicsTool`` setup files as a frozen dataclass.

Paths in the file are resolved against the setup file's folder (OpenSim changes into that
folder to read the marker and coordinate files; kinelift does the same for every path, the
model file included, so a setup runs from any working directory).

Examples
--------
>>> setup = IKSetup(model_file="model.osim", marker_file="walk.trc", time_range=(0.5, 2.5))
>>> setup.constraint_weight
inf
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from kinelift.errors import FileFormatError
from kinelift.ik.tasks import TaskSet, task_set_from_element
from kinelift.io.opensim_xml import SetupDocument

__all__ = ["IKSetup", "read_ik_setup"]

# OpenSim registers the misspelt tag too, and its own regression test uses it
IK_TOOL_TAGS = ("InverseKinematicsTool", "InverseKinemtaticsTool")


@dataclass(frozen=True)
class IKSetup:
    """Everything an IK run needs, as OpenSim's tool names it.

    Attributes
    ----------
    model_file, marker_file : Path
        The ``.osim`` model and the ``.trc`` (or ``.c3d``) marker trajectories.
    tasks : TaskSet
        Marker and coordinate tasks; only markers with an applied task are tracked.
    coordinate_file : Path or None
        Coordinates for ``from_file`` coordinate tasks (``.mot``/``.sto``).
    time_range : (float, float)
        Seconds; clipped to the marker data and snapped to the nearest frames, as OpenSim does.
    output_motion_file : Path or None
        Where the ``.mot`` goes.
    results_directory : Path
        Where ``<name>_ik_marker_errors.sto`` goes when ``report_errors``.
    constraint_weight : float
        OpenSim's weight on constraint errors; kinelift always satisfies coupler constraints exactly
        (the ``inf`` case), whatever this says.
    accuracy : float
        OpenSim's optimizer accuracy; kinelift's solver converges further (see :class:`IKOptions`).
    """

    model_file: Path | None = None
    marker_file: Path | None = None
    tasks: TaskSet = field(default_factory=TaskSet)
    coordinate_file: Path | None = None
    time_range: tuple[float, float] = (-math.inf, math.inf)
    output_motion_file: Path | None = None
    results_directory: Path = Path(".")
    report_errors: bool = True
    report_marker_locations: bool = False
    constraint_weight: float = math.inf
    accuracy: float = 1e-5
    name: str = "ik"
    source: Path | None = None


def read_ik_setup(path: str | os.PathLike[str]) -> IKSetup:
    """Read an OpenSim IK setup file (``<InverseKinematicsTool>``).

    Raises
    ------
    FileFormatError
        Malformed XML, no tool element, a non-numeric value, or no ``<IKTaskSet>``.
    UnsupportedSetupError
        A task kind or coordinate ``value_type`` kinelift does not implement.
    """
    doc = SetupDocument.read(path, IK_TOOL_TAGS)
    tool = doc.root
    task_element = tool.find("IKTaskSet")
    if task_element is None:
        raise FileFormatError(doc.path, "no <IKTaskSet> in the tool", expected="an inline task set or <IKTaskSet file=...>")
    time_range = (-math.inf, math.inf)
    if doc.has(tool, "time_range"):
        start, stop = doc.numbers(tool, "time_range", 2)
        time_range = (start, stop)
    results = doc.text(tool, "results_directory")
    return IKSetup(
        model_file=doc.file(tool, "model_file"),
        marker_file=doc.file(tool, "marker_file"),
        tasks=task_set_from_element(doc, task_element),
        coordinate_file=doc.file(tool, "coordinate_file"),
        time_range=time_range,
        output_motion_file=doc.file(tool, "output_motion_file"),
        results_directory=doc.resolve(results) if results else doc.directory,
        report_errors=doc.flag(tool, "report_errors", True),
        report_marker_locations=doc.flag(tool, "report_marker_locations", False),
        constraint_weight=doc.number(tool, "constraint_weight", math.inf),
        accuracy=doc.number(tool, "accuracy", 1e-5),
        name=tool.get("name", "ik") or "ik",
        source=doc.path,
    )
