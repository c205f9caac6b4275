"""Forward kinematics of a :class:`~kinelift.skeleton.tree.KinematicTree` in torch, batched and differentiable.

The functional form of :class:`~kinelift.skeleton.model.SkeletalModel`'s forward pass (the model is a
thin ``nn.Module`` over :func:`forward_kinematics`). Conventions (OpenSim's): coordinates in radians
(rotational) and metres (translational) in ``tree.coordinate_names`` order; body transforms map
body-frame vectors into ground (``p_G = R_GB p_B + x_GB``); a joint places its child body by
``X_GB = X_GP * X_PF * X_FM(q) * inverse(X_BM)`` with ``X_FM(q)`` its rotation slots applied in order as
body-fixed rotations, then its translation slots along their axes in ``F``.

Every matrix and vector entry is carried as a "component" (:mod:`kinelift.skeleton._components`): an
exact zero, a model constant or one contiguous ``(B,)`` column, so that products with constant zeros
and ones are skipped. The tree's constants are turned into components once per tree and reused.

Examples
--------
>>> import torch
>>> from kinelift.skeleton.osim_parser import MINIMAL_OSIM, parse_osim_string
>>> from kinelift.skeleton.tree import KinematicTree
>>> tree = KinematicTree.from_spec(parse_osim_string(MINIMAL_OSIM))
>>> out = forward_kinematics(tree, torch.tensor([[0.0], [torch.pi / 2]], dtype=torch.float64))
>>> out.markers[:, 0].round(decimals=6).abs().tolist()  # the knee marker: thigh hanging, then flexed 90 deg
[[0.0, 0.4, 0.0], [0.4, 0.0, 0.0]]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch

from kinelift.errors import ShapeError
from kinelift.skeleton import _components as C
from kinelift.skeleton.functions import OpenSimFunction
from kinelift.skeleton.tree import AXIS_NONE, AXIS_ROTATION, KinematicTree

__all__ = ["FKResult", "apply_couplers", "coupler_slopes", "forward_kinematics", "prepare"]


class FKResult:
    """Forward-kinematics output; leading dimensions are those of the coordinates.

    Outputs are assembled on first access, so asking only for markers costs only markers.

    Attributes
    ----------
    body_rotations : Tensor, shape (..., n_bodies, 3, 3)
        ``R_GB`` of each body in ``body_names`` order.
    body_positions : Tensor, shape (..., n_bodies, 3)
        Body-frame origins in ground (m).
    joint_centers : Tensor, shape (..., n_joints, 3)
        Origin of each joint's child frame ``M`` in ground (m), in the model's joint order (the
        ``.osim`` file's, ``SkeletalModel.joint_names``).
    markers : Tensor, shape (..., n_points, 3)
        The tree's points (a model's markers) in ground (m), ``tree.point_names`` order.
    coordinates : Tensor, shape (..., n_coordinates)
        The coordinates used, with coupled coordinates computed from their constraints.
    """

    def __init__(self, batch: tuple[int, ...], like: torch.Tensor, rotations, positions, centers, markers, coordinates) -> None:
        self._batch, self._like = batch, like
        self._parts = {"body_rotations": rotations, "body_positions": positions, "joint_centers": centers, "markers": markers}
        self.coordinates = coordinates

    def component_columns(self, name: str) -> list[torch.Tensor]:
        """The ``(B,)`` columns of an output (``"markers"``, ``"joint_centers"``, ``"body_positions"``
        or ``"body_rotations"``), each entry's x, y, z (rotations: row by row) in turn: the
        component-major form that :meth:`SkeletalModel.compiled_fk` assembles."""
        entries = self._parts[name]
        if name == "body_rotations":
            entries = [row for matrix in entries for row in matrix]
        return [C.materialize(c, self._like) for vector in entries for c in vector]

    def _assembled(self, name: str, tail: tuple[int, ...]) -> torch.Tensor:
        """An output as ``(..., n, *tail)`` from its component columns."""
        flat = C.stack(self.component_columns(name), self._like)
        return flat.reshape(self._batch + (len(self._parts[name]),) + tail)

    @cached_property
    def markers(self) -> torch.Tensor:
        return self._assembled("markers", (3,))

    @cached_property
    def joint_centers(self) -> torch.Tensor:
        return self._assembled("joint_centers", (3,))

    @cached_property
    def body_positions(self) -> torch.Tensor:
        return self._assembled("body_positions", (3,))

    @cached_property
    def body_rotations(self) -> torch.Tensor:
        return self._assembled("body_rotations", (3, 3))

    @property
    def body_transforms(self) -> torch.Tensor:
        """Homogeneous ``(..., n_bodies, 4, 4)`` transforms ``X_GB``."""
        top = torch.cat([self.body_rotations, self.body_positions[..., None]], dim=-1)
        bottom = torch.zeros(top.shape[:-2] + (1, 4), dtype=top.dtype, device=top.device)
        bottom[..., 0, 3] = 1.0
        return torch.cat([top, bottom], dim=-2)


@dataclass(frozen=True)
class _Axis:
    """One used axis slot of a joint, as components."""

    rotation: bool
    coordinate: int  # -1: constant
    function: OpenSimFunction | None
    constant: float
    unit: C.Vector
    scale_weights: C.Vector
    K: C.Matrix
    KK: C.Matrix
    scaled: bool


@dataclass(frozen=True)
class _Joint:
    """One tree-ordered joint: body slots, offset frames as components, used axis slots."""

    parent: int
    child: int
    R_PF: C.Matrix | None  # None: the identity
    P_PF: C.Matrix  # translation P_PF @ s_parent
    p_PF: C.Vector  # unscaled: P_PF @ 1
    R_MB: C.Matrix | None  # inverse(R_BM); None: the identity
    P_BM: C.Matrix
    p_BM: C.Vector
    axes: tuple[_Axis, ...]


@dataclass(frozen=True)
class _Point:
    body: int
    R: C.Matrix | None  # None: the identity
    P: C.Matrix
    p: C.Vector
    location: C.Vector


@dataclass(frozen=True)
class _Plan:
    joints: tuple[_Joint, ...]
    points: tuple[_Point, ...]
    center_order: tuple[int, ...]  # the tree position of each joint in the model's (spec) order


def _rotation(R: np.ndarray) -> C.Matrix | None:
    """A constant rotation as components, None for the identity (a product skipped)."""
    return None if np.array_equal(R, np.eye(3)) else C.const_matrix(R)


def _times(a: C.Matrix, b: C.Matrix | None) -> C.Matrix:
    return a if b is None else C.matmul(a, b)


def _plan(tree: KinematicTree) -> _Plan:
    """The tree's constants as components (built once per tree, by ``tree.derived``)."""
    joints = []
    for t in range(tree.n_joints):
        axes = []
        for s in range(tree.axis_kind.shape[1]):
            kind = int(tree.axis_kind[t, s])
            if kind == AXIS_NONE:
                continue
            coordinate, function = int(tree.axis_coordinate[t, s]), int(tree.axis_function[t, s])
            if coordinate < 0 and tree.axis_constant[t, s] == 0.0:
                continue
            unit, weights, K, KK = C.axis_constants(tree.axis_unit[t, s])
            axes.append(_Axis(kind == AXIS_ROTATION, coordinate, tree.functions[function] if function >= 0 else None,
                              float(tree.axis_constant[t, s]), unit, weights, K, KK, bool(tree.axis_scaled[t, s])))  # fmt: skip
        joints.append(_Joint(
            int(tree.joint_parent[t]), int(tree.joint_child[t]), _rotation(tree.parent_R[t]), C.const_matrix(tree.parent_P[t]),
            C.const_vector(tree.parent_P[t].sum(-1)), _rotation(tree.child_R[t].T), C.const_matrix(tree.child_P[t]),
            C.const_vector(tree.child_P[t].sum(-1)), tuple(axes),
        ))  # fmt: skip
    points = tuple(
        _Point(int(b), _rotation(R), C.const_matrix(P), C.const_vector(P.sum(-1)), C.const_vector(loc))
        for b, R, P, loc in zip(tree.point_body, tree.point_R, tree.point_P, tree.point_location)
    )
    return _Plan(tuple(joints), points, tuple(int(t) for t in np.argsort(tree.joint_order)))


def prepare(tree: KinematicTree) -> None:
    """Turn the tree's constants into the forward pass's form now (:func:`forward_kinematics` does it
    on first use): needed before ``torch.compile`` traces the forward pass, which cannot trace the
    NumPy code that builds them. :class:`~kinelift.skeleton.model.SkeletalModel` calls it when built."""
    tree.derived("torch_forward_kinematics", _plan)


def apply_couplers(tree: KinematicTree, q: torch.Tensor) -> torch.Tensor:
    """``q`` ``(..., n_coordinates)`` with each coupled coordinate set from its constraint, in the
    tree's coupler order (a new tensor; ``q`` itself when the tree has no couplers)."""
    if not len(tree.coupler_dependent):
        return q
    q = q.clone()
    for dependent, independent, function, scale in zip(tree.coupler_dependent, tree.coupler_independent, tree.coupler_function, tree.coupler_scale):
        q[..., dependent] = float(scale) * tree.functions[function](q[..., independent])
    return q


def coupler_slopes(tree: KinematicTree, flat_q: torch.Tensor) -> dict[int, tuple[int, torch.Tensor]]:
    """``{dependent index: (independent index, d dependent / d independent)}`` per coupler, at
    coordinates ``flat_q`` ``(B, n_coordinates)`` (slopes ``(B,)``)."""
    out = {}
    for dependent, independent, function, scale in zip(tree.coupler_dependent, tree.coupler_independent, tree.coupler_function, tree.coupler_scale):
        x = flat_q[:, independent].contiguous()
        _, slope = tree.functions[function].value_and_derivative(x)
        slope = torch.zeros_like(x) if slope is None else (torch.full_like(x, slope) if isinstance(slope, float) else slope)
        out[int(dependent)] = (int(independent), float(scale) * slope)
    return out


def _columns(t: torch.Tensor, batch: tuple[int, ...], n: int, dtype: torch.dtype) -> list[C.Vector]:
    """Per-item ``(..., n, 3)`` values (or ``(n, 3)``, broadcast) as ``n`` vectors of contiguous ``(B,)`` columns."""
    t = t.to(dtype).expand(batch + (n, 3)).reshape(-1, n, 3).permute(1, 2, 0).contiguous()
    return [list(t[i].unbind(0)) for i in range(n)]


def _joint_motion(joint: _Joint, cols: list[torch.Tensor], s_parent: C.Vector, like: torch.Tensor) -> tuple[C.Matrix, C.Vector]:
    """``R_FM``, ``p_FM`` of a joint from the coordinate columns."""
    R: C.Matrix | None = None
    p: C.Vector = list(C.ZERO_VECTOR)
    for axis in joint.axes:
        value = axis.function(cols[axis.coordinate]) if axis.coordinate >= 0 else torch.full_like(like, axis.constant)
        if axis.rotation:
            Ra = C.axis_rotation(axis.K, axis.KK, torch.cos(value), torch.sin(value))
            R = Ra if R is None else C.matmul(R, Ra)
        else:
            if axis.scaled:  # OpenSim scales joint kinematics by the parent body: sum_k |axis_k| s_k
                value = C.mul(value, C.add(*(C.mul(w, sk) for w, sk in zip(axis.scale_weights, s_parent))))
            p = C.vec_add(p, [C.mul(value, u) for u in axis.unit])
    return (C.IDENTITY if R is None else R), p


def forward_kinematics(
    tree: KinematicTree, q: torch.Tensor, scales: torch.Tensor | None = None, marker_offsets: torch.Tensor | None = None
) -> FKResult:
    """Forward kinematics of ``tree`` at coordinates ``q``, batched over any leading dimensions.

    Parameters
    ----------
    tree : KinematicTree
        The model's tree (its points are the markers of the result).
    q : Tensor, shape (..., n_coordinates)
        Coordinates in ``tree.coordinate_names`` order (rad / m). Values given for coupled
        coordinates are replaced by their constraint's value.
    scales : Tensor, shape (..., n_bodies, 3) or (n_bodies, 3), optional
        Body scale factors relative to the tree as built (default all ones), ``tree.body_names`` order:
        offset-frame translations and point locations scale with the factors of their body, and
        a CustomJoint's translation functions with the parent body's (OpenSim's ScaleTool).
    marker_offsets : Tensor, shape (..., n_points, 3) or (n_points, 3), optional
        Displacements added to point locations, in the point's body frame (m), before scaling.

    Returns
    -------
    FKResult
        Differentiable with respect to ``q``, ``scales`` and ``marker_offsets``.
    """
    n = tree.n_coordinates
    if not torch.is_tensor(q):
        raise ShapeError("q", expected=f"a tensor (..., {n})", got=type(q).__name__)
    if q.shape[-1:] != (n,):
        raise ShapeError("q", expected=f"(..., {n}) coordinates of {tree.name}", got=tuple(q.shape))
    if not q.is_floating_point():
        q = q.to(torch.get_default_dtype())
    plan = tree.derived("torch_forward_kinematics", _plan)
    batch = tuple(q.shape[:-1])
    n_b, n_m = tree.n_bodies, len(tree.point_names)
    q = apply_couplers(tree, q)
    flat_q = q.reshape(-1, n)
    columns = flat_q.T.contiguous()
    cols = list(columns.unbind(0))
    like = columns[0] if n else flat_q.new_zeros(flat_q.shape[0])
    ones: C.Vector = [1.0, 1.0, 1.0]
    body_scale: list[C.Vector] = [ones] * (n_b + 1)
    if scales is not None:
        if not torch.is_tensor(scales) or scales.shape[-2:] != (n_b, 3):
            raise ShapeError("scales", expected=f"(..., {n_b} bodies, 3)", got=getattr(scales, "shape", type(scales).__name__))
        body_scale = _columns(scales, batch, n_b, q.dtype) + [ones]
    R_G: list[Any] = [None] * n_b + [C.IDENTITY]
    p_G: list[Any] = [None] * n_b + [list(C.ZERO_VECTOR)]
    centers: list[C.Vector] = []
    for joint in plan.joints:
        pi, ci = joint.parent, joint.child
        p_PF = joint.p_PF if scales is None else C.matvec(joint.P_PF, body_scale[pi])
        R_F = _times(R_G[pi], joint.R_PF)
        p_F = C.vec_add(p_G[pi], C.matvec(R_G[pi], p_PF))
        R_FM, p_FM = _joint_motion(joint, cols, body_scale[pi], like)
        R_M = C.matmul(R_F, R_FM)
        p_M = C.vec_add(p_F, C.matvec(R_F, p_FM))
        # the child body from its frame M: X_GB = X_GM * inverse(X_BM)
        p_BM = joint.p_BM if scales is None else C.matvec(joint.P_BM, body_scale[ci])
        R_B = _times(R_M, joint.R_MB)
        R_G[ci], p_G[ci] = R_B, C.vec_add(p_M, C.negate(C.matvec(R_B, p_BM)))
        centers.append(p_M)
    offsets = None
    if marker_offsets is not None:
        if not torch.is_tensor(marker_offsets) or marker_offsets.shape[-2:] != (n_m, 3):
            raise ShapeError("marker_offsets", expected=f"(..., {n_m} markers, 3)", got=getattr(marker_offsets, "shape", type(marker_offsets).__name__))
        offsets = _columns(marker_offsets, batch, n_m, q.dtype)
    markers = []
    for m, point in enumerate(plan.points):
        b, s_b = point.body, body_scale[point.body]
        location = point.location if offsets is None else C.vec_add(point.location, offsets[m])
        p_f = C.vec_add(p_G[b], C.matvec(R_G[b], point.p if scales is None else C.matvec(point.P, s_b)))
        markers.append(C.vec_add(p_f, C.matvec(_times(R_G[b], point.R), C.vec_scale(location, s_b))))
    return FKResult(batch, like, R_G[:n_b], p_G[:n_b], [centers[t] for t in plan.center_order], markers, q)
