"""Test helpers around kinelift's OpenSim reference (kinelift.skeleton.opensim_reference)."""

from __future__ import annotations

import numpy as np

from kinelift.skeleton.opensim_reference import opensim_fk as _opensim_fk


def opensim_fk(osim, path: str, q: np.ndarray, coordinate_names, marker_names, joint_names):
    """``(markers, joint_centres)`` from OpenSim (``osim`` is the imported module, kept for skip logic)."""
    ref = _opensim_fk(path, q, coordinate_names, marker_names, joint_names)
    return ref.markers, ref.joint_centers


def random_coordinates(model, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` coordinate rows drawn uniformly within each coordinate's range (infinite ranges: +-pi)."""
    ranges = model.coordinate_ranges.copy()
    ranges[~np.isfinite(ranges)] = np.sign(ranges[~np.isfinite(ranges)]) * np.pi
    return rng.uniform(ranges[:, 0], ranges[:, 1], size=(n, len(ranges)))
