"""Sign conventions of a model's coordinates, found by forward kinematics rather than by name.

OpenSim models disagree on the sign of knee flexion: gait2392 and its relatives count it negative,
the Rajagopal family positive. :func:`knee_flexion_sign` settles it for any model by bending the
knee coordinate and watching the hip-knee-ankle angle.

Examples
--------
>>> from kinelift.skeleton.builtin import builtin_model
>>> knee_flexion_sign(builtin_model(), "r")
1.0
"""

from __future__ import annotations

import numpy as np
import torch

from kinelift.core.keypoint_sets import KeypointSet
from kinelift.errors import UnknownNameError, ValueRangeError
from kinelift.skeleton.model import SkeletalModel

__all__ = ["knee_flexion_sign"]

_SIDES = {"r": "right", "l": "left"}


def knee_flexion_sign(model: SkeletalModel, side: str) -> float:
    """``+1.0`` if increasing ``knee_angle_<side>`` flexes the knee of ``model``, ``-1.0`` if it extends it.

    Parameters
    ----------
    model : SkeletalModel
    side : {"r", "l"}
        OpenSim's side suffix.
    """
    from kinelift.skeleton.keypoint_maps import KeypointModel

    if side not in _SIDES:
        raise ValueRangeError("side", expected="'r' or 'l'", got=side)
    coord = f"knee_angle_{side}"
    if coord not in model.coordinate_names:
        raise UnknownNameError(f"coordinate (in {model.spec.name})", coord, known=model.coordinate_names)
    name = _SIDES[side]
    kp = KeypointModel(model, KeypointSet.custom([f"{name}_hip", f"{name}_knee", f"{name}_ankle"]))
    q = model.default_coordinates()[None].repeat(2, 1)
    i = model.coordinate_index(coord)
    lo, hi = model.coordinate_ranges[i]
    q[0, i], q[1, i] = lo + 0.4 * (hi - lo), lo + 0.6 * (hi - lo)
    with torch.no_grad():
        p = kp(q).numpy()
    u, v = p[:, 0] - p[:, 1], p[:, 2] - p[:, 1]
    included = np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1), np.sum(u * v, axis=-1))
    return 1.0 if included[1] < included[0] else -1.0
