"""Forward kinematics computed by OpenSim itself, for comparison with kinelift (test helper)."""

from __future__ import annotations

import numpy as np


def opensim_fk(osim, path: str, q: np.ndarray, coordinate_names: list[str], marker_names: list[str], joint_names: list[str]):
    """Marker and joint-centre positions from OpenSim for coordinate rows ``q`` (rad/m)."""
    model = osim.Model(path)
    for c in range(model.getCoordinateSet().getSize()):
        model.getCoordinateSet().get(c).setDefaultLocked(False)
    state = model.initSystem()
    coords = [model.getCoordinateSet().get(n) for n in coordinate_names]
    markers = [model.getMarkerSet().get(n) for n in marker_names]
    joints = [model.getJointSet().get(n) for n in joint_names]
    out_m = np.empty((len(q), len(markers), 3))
    out_j = np.empty((len(q), len(joints), 3))
    for i, row in enumerate(q):
        for coord, v in zip(coords, row):
            coord.setValue(state, float(v), False)
        model.realizePosition(state)
        for k, m in enumerate(markers):
            v = m.getLocationInGround(state)
            out_m[i, k] = (v[0], v[1], v[2])
        for k, j in enumerate(joints):
            v = j.getChildFrame().getPositionInGround(state)
            out_j[i, k] = (v[0], v[1], v[2])
    return out_m, out_j


def random_coordinates(model, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` coordinate rows drawn uniformly within each coordinate's range (couplers applied by the model)."""
    ranges = model.coordinate_ranges.copy()
    ranges[~np.isfinite(ranges)] = np.sign(ranges[~np.isfinite(ranges)]) * np.pi
    return rng.uniform(ranges[:, 0], ranges[:, 1], size=(n, len(ranges)))
