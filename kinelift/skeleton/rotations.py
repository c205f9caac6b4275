"""Batched rotation matrices (functional, differentiable, dtype and device follow the input).

Conventions: right-handed; a rotation matrix ``R`` maps vectors from the rotated frame into
the reference frame (``v_ref = R @ v_rot``), as OpenSim/Simbody's ``R_GB``. Body-fixed X-Y-Z
Euler angles ``(a, b, c)`` give ``R = Rx(a) @ Ry(b) @ Rz(c)`` (OpenSim's offset-frame
``orientation`` and Gimbal/Ball/Free coordinates).

Examples
--------
>>> import torch
>>> R = axis_angle_to_matrix(torch.tensor([0.0, 0.0, 1.0]), torch.tensor(torch.pi / 2))
>>> (R @ torch.tensor([1.0, 0.0, 0.0])).round(decimals=6)
tensor([0., 1., 0.])
"""

from __future__ import annotations

import numpy as np
import torch

from kinelift.errors import ShapeError

__all__ = ["axis_angle_to_matrix", "euler_xyz_to_matrix", "euler_xyz_to_matrix_np"]


def axis_angle_to_matrix(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotation by ``angle`` (rad, shape ``(...)``) about the unit ``axis`` (shape ``(3,)``): ``(..., 3, 3)``.

    Rodrigues' formula ``R = I + sin(t) K + (1 - cos(t)) K^2`` with ``K`` the cross-product matrix of ``axis``.
    """
    if axis.shape != (3,):
        raise ShapeError("axis", expected="(3,)", got=tuple(axis.shape))
    axis = axis.to(dtype=angle.dtype, device=angle.device)
    x, y, z = axis[0], axis[1], axis[2]
    zero = torch.zeros((), dtype=angle.dtype, device=angle.device)
    k = torch.stack([torch.stack([zero, -z, y]), torch.stack([z, zero, -x]), torch.stack([-y, x, zero])])
    eye = torch.eye(3, dtype=angle.dtype, device=angle.device)
    s = torch.sin(angle)[..., None, None]
    c = torch.cos(angle)[..., None, None]
    return eye + s * k + (1.0 - c) * (k @ k)


def euler_xyz_to_matrix(angles: torch.Tensor) -> torch.Tensor:
    """Body-fixed X-Y-Z Euler angles ``(..., 3)`` (rad) to ``Rx @ Ry @ Rz``, shape ``(..., 3, 3)``."""
    if angles.shape[-1:] != (3,):
        raise ShapeError("angles", expected="(..., 3)", got=tuple(angles.shape))
    eye = torch.eye(3, dtype=angles.dtype, device=angles.device)
    r = [axis_angle_to_matrix(eye[i], angles[..., i]) for i in range(3)]
    return r[0] @ r[1] @ r[2]


def euler_xyz_to_matrix_np(angles: np.ndarray) -> np.ndarray:
    """NumPy float64 version of :func:`euler_xyz_to_matrix` for one set of angles (for constant offsets)."""
    a, b, c = (float(v) for v in angles)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rx @ ry @ rz
