"""Forward kinematics computed by OpenSim itself (needs the optional ``opensim`` package).

Used by kinelift's tests and benchmarks as the reference, and by users who want to check a model
or a motion against OpenSim.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from kinelift.skeleton.builtin import builtin_model
>>> from kinelift.skeleton.osim_writer import write_osim
>>> model = builtin_model()
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.osim"
>>> write_osim(model.spec, path)
>>> ref = opensim_fk(path, model.default_coordinates().numpy()[None], model.coordinate_names, ["nose"], [])
>>> ref.markers.shape
(1, 1, 3)
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["OpenSimFK", "opensim_fk"]


@dataclass(frozen=True)
class OpenSimFK:
    """Marker and joint-centre positions ``(frames, n, 3)`` from OpenSim, and the seconds its frame loop took."""

    markers: np.ndarray
    joint_centers: np.ndarray
    loop_seconds: float


def opensim_fk(
    path: str | os.PathLike[str],
    q: np.ndarray,
    coordinate_names: Sequence[str],
    marker_names: Sequence[str],
    joint_names: Sequence[str],
) -> OpenSimFK:
    """Positions from OpenSim for coordinate rows ``q`` (rad / m, in ``coordinate_names`` order).

    Per frame: ``Coordinate.setValue`` for every coordinate (constraints not enforced, locks
    lifted), ``Model.realizePosition``, then ``Marker.getLocationInGround`` and the joints' child
    frame ``getPositionInGround``. ``loop_seconds`` excludes loading the model.
    """
    import opensim as osim

    osim.Logger.setLevelString("error")
    model = osim.Model(str(path))
    for i in range(model.getCoordinateSet().getSize()):
        model.getCoordinateSet().get(i).setDefaultLocked(False)
    state = model.initSystem()
    coords = [model.getCoordinateSet().get(n) for n in coordinate_names]
    markers = [model.getMarkerSet().get(n) for n in marker_names]
    joints = [model.getJointSet().get(n) for n in joint_names]
    out_m = np.empty((len(q), len(markers), 3))
    out_j = np.empty((len(q), len(joints), 3))
    start = time.perf_counter()
    for i, row in enumerate(np.asarray(q, dtype=np.float64)):
        for coord, v in zip(coords, row):
            coord.setValue(state, float(v), False)
        model.realizePosition(state)
        for k, m in enumerate(markers):
            v = m.getLocationInGround(state)
            out_m[i, k] = (v[0], v[1], v[2])
        for k, j in enumerate(joints):
            v = j.getChildFrame().getPositionInGround(state)
            out_j[i, k] = (v[0], v[1], v[2])
    return OpenSimFK(out_m, out_j, time.perf_counter() - start)
