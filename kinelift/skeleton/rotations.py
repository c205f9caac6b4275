"""Rotation matrices for model constants (NumPy, float64).

Convention: right-handed; ``R`` maps vectors from the rotated frame into the reference frame
(``v_ref = R @ v_rot``), as OpenSim/Simbody's ``R_GB``. Body-fixed X-Y-Z Euler angles
``(a, b, c)`` give ``R = Rx(a) @ Ry(b) @ Rz(c)`` (OpenSim's offset-frame ``orientation``).
Batched rotations inside forward kinematics use :mod:`kinelift.skeleton._components`.

Examples
--------
>>> import numpy as np
>>> (euler_xyz_to_matrix_np([0.0, 0.0, np.pi / 2]) @ [1.0, 0.0, 0.0]).round(6).tolist()
[0.0, 1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["cross_product_matrix_np", "euler_xyz_to_matrix_np"]


def euler_xyz_to_matrix_np(angles: Sequence[float] | np.ndarray) -> np.ndarray:
    """``Rx(a) @ Ry(b) @ Rz(c)`` for body-fixed X-Y-Z Euler angles ``(a, b, c)`` in radians."""
    a, b, c = (float(v) for v in angles)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rx @ ry @ rz


def cross_product_matrix_np(v: Sequence[float] | np.ndarray) -> np.ndarray:
    """``K`` with ``K @ u = v x u``."""
    a, b, c = (float(x) for x in v)
    return np.array([[0.0, -c, b], [c, 0.0, -a], [-b, a, 0.0]])
