"""Rotations for the lifter: the continuous 6D representation and OpenSim's pelvis angles (torch, batched).

Conventions: ``R`` maps vectors from the rotated (body) frame into the reference frame,
``v_ref = R @ v_body``, as OpenSim's ``R_GB``. The 6D representation (Zhou et al., "On the
Continuity of Rotation Representations in Neural Networks", CVPR 2019) is the first two
columns of ``R``, stacked as ``(R[:, 0], R[:, 1])``. OpenSim's pelvis (``ground_pelvis``
CustomJoint of gait2392, Rajagopal and kinelift's built-in model) rotates body-fixed about
z (``pelvis_tilt``), then x (``pelvis_list``), then y (``pelvis_rotation``):
``R = Rz(tilt) @ Rx(list) @ Ry(rotation)``.

Examples
--------
>>> import torch
>>> angles = torch.tensor([0.3, -0.2, 1.1], dtype=torch.float64)
>>> torch.allclose(matrix_to_pelvis_angles(pelvis_angles_to_matrix(angles)), angles)
True
>>> R = rotation_6d_to_matrix(torch.tensor([2.0, 0.0, 0.0, 0.1, 3.0, 0.0]))
>>> R.round(decimals=4).tolist()
[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
"""

from __future__ import annotations

import torch

from kinelift.errors import ShapeError

__all__ = ["rotation_6d_to_matrix", "matrix_to_rotation_6d", "axis_angle_to_matrix", "pelvis_angles_to_matrix", "matrix_to_pelvis_angles"]


def rotation_6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """``(..., 6)`` -> ``(..., 3, 3)`` by Gram-Schmidt on the two 3-vectors (Zhou et al. 2019)."""
    if d6.shape[-1] != 6:
        raise ShapeError("d6", expected="(..., 6) two stacked column vectors", got=tuple(d6.shape))
    a, b = d6[..., :3], d6[..., 3:]
    x = torch.nn.functional.normalize(a, dim=-1, eps=1e-8)
    y = torch.nn.functional.normalize(b - (x * b).sum(-1, keepdim=True) * x, dim=-1, eps=1e-8)
    z = torch.cross(x, y, dim=-1)
    return torch.stack([x, y, z], dim=-1)


def matrix_to_rotation_6d(R: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` -> ``(..., 6)``: the first two columns."""
    if R.shape[-2:] != (3, 3):
        raise ShapeError("R", expected="(..., 3, 3) rotation matrices", got=tuple(R.shape))
    return torch.cat([R[..., :, 0], R[..., :, 1]], dim=-1)


def axis_angle_to_matrix(v: torch.Tensor) -> torch.Tensor:
    """``(..., 3)`` rotation vectors (axis times angle, rad) -> ``(..., 3, 3)`` by Rodrigues' formula.

    Smooth at zero (the series of ``sin(t) / t`` and ``(1 - cos(t)) / t**2`` below 1e-4 rad), so
    that a correction that starts at zero has a gradient.

    Examples
    --------
    >>> import math, torch
    >>> axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2])).round(decimals=6).tolist()
    [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if v.shape[-1] != 3:
        raise ShapeError("v", expected="(..., 3) rotation vectors", got=tuple(v.shape))
    theta2 = (v * v).sum(-1, keepdim=True)[..., None]
    small = theta2 < 1e-8
    theta = torch.sqrt(torch.where(small, torch.ones_like(theta2), theta2))
    a = torch.where(small, 1 - theta2 / 6, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24, (1 - torch.cos(theta)) / torch.where(small, torch.ones_like(theta2), theta2))
    zero = torch.zeros_like(v[..., 0])
    k = torch.stack([torch.stack([zero, -v[..., 2], v[..., 1]], -1), torch.stack([v[..., 2], zero, -v[..., 0]], -1),
                     torch.stack([-v[..., 1], v[..., 0], zero], -1)], dim=-2)  # fmt: skip
    eye = torch.eye(3, dtype=v.dtype, device=v.device)
    return eye + a * k + b * (k @ k)


def pelvis_angles_to_matrix(angles: torch.Tensor) -> torch.Tensor:
    """``(..., 3)`` (tilt, list, rotation) rad -> ``Rz(tilt) @ Rx(list) @ Ry(rotation)``."""
    if angles.shape[-1] != 3:
        raise ShapeError("angles", expected="(..., 3) tilt, list, rotation", got=tuple(angles.shape))
    c, s = torch.cos(angles), torch.sin(angles)
    one, zero = torch.ones_like(c[..., 0]), torch.zeros_like(c[..., 0])

    def mat(rows):
        return torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2)

    rz = mat([[c[..., 0], -s[..., 0], zero], [s[..., 0], c[..., 0], zero], [zero, zero, one]])
    rx = mat([[one, zero, zero], [zero, c[..., 1], -s[..., 1]], [zero, s[..., 1], c[..., 1]]])
    ry = mat([[c[..., 2], zero, s[..., 2]], [zero, one, zero], [-s[..., 2], zero, c[..., 2]]])
    return rz @ rx @ ry


def matrix_to_pelvis_angles(R: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`pelvis_angles_to_matrix`; list in ``[-pi/2, pi/2]``, the others in ``(-pi, pi]``."""
    if R.shape[-2:] != (3, 3):
        raise ShapeError("R", expected="(..., 3, 3) rotation matrices", got=tuple(R.shape))
    tilt = torch.atan2(-R[..., 0, 1], R[..., 1, 1])
    lst = torch.atan2(R[..., 2, 1], torch.sqrt(R[..., 0, 1] ** 2 + R[..., 1, 1] ** 2))
    rot = torch.atan2(-R[..., 2, 0], R[..., 2, 2])
    return torch.stack([tilt, lst, rot], dim=-1)
