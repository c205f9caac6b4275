"""Positions of model points and their Jacobian, batched over the joints of the kinematic tree.

:class:`PointJacobian` is what solvers call once per iteration (inverse kinematics, marker
placement): it reads a :class:`~kinelift.skeleton.tree.KinematicTree` and evaluates the same
forward kinematics as :func:`~kinelift.skeleton.kinematics.forward_kinematics` (the conventions of
:mod:`kinelift.skeleton.kinematics`: OpenSim's joints, offset frames and scaling) and the analytic Jacobian ``d x / d q`` of markers or joint centres, in a fixed number
of tensor operations whatever the model's size. Every joint's motion ``X_FM(q)`` and its offset
frames are computed for all joints at once, as ``(B, joints, 3, 3)`` tensors (the spline
functions of all axes by one search and one Horner scheme); the bodies are then placed in
ground by pointer jumping, ``ceil(log2(depth))`` rounds (three for a whole-body model). The
forward pass of :mod:`~kinelift.skeleton.kinematics` instead works on one ``(B,)`` column per matrix entry,
which suits training and ``torch.compile`` but costs thousands of small operations; solvers call
with a few to a few hundred frames at a time, where the number of operations sets the time.

Jacobian: for a rotation axis with unit ``w`` (ground) through the joint centre ``c`` (origin
of the joint's child frame ``M``) driven by ``f(q_i)``, the column of coordinate ``i`` gets
``f'(q_i) w x (x - c)`` for every point ``x`` downstream of the joint; a translation axis ``t``
gives ``f'(q_i) t``. The axes of one joint and coordinate add up to one twist ``(w, c x w + t)``,
applied to all points by one batched product. A coupled coordinate's column is zero; its effect
is carried into the column of the independent coordinate at the root of its couplers, through
each coupler function's derivative.

Examples
--------
>>> import torch
>>> from kinelift.skeleton.model import SkeletalModel
>>> from kinelift.skeleton.osim_parser import MINIMAL_OSIM
>>> jacobian = PointJacobian(SkeletalModel.from_osim_string(MINIMAL_OSIM).tree)  # what model.point_jacobian calls
>>> x, jac = jacobian(torch.tensor([[0.0]], dtype=torch.float64))
>>> x[0, 0].abs().tolist(), jac[0, 0, :, 0].abs().tolist()  # the knee marker and its velocity per rad
([0.0, 0.4, 0.0], [0.4, 0.0, 0.0])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from kinelift.errors import FileFormatError, ShapeError, ValueRangeError
from kinelift.skeleton._components import scale_weights
from kinelift.skeleton.functions import PiecewisePolynomial
from kinelift.skeleton.kinematics import apply_couplers, coupler_slopes
from kinelift.skeleton.rotations import cross_product_matrix_np
from kinelift.skeleton.tree import AXIS_ROTATION, KinematicTree

__all__ = ["PointJacobian"]

_SLOTS = 6  # per joint: three rotations (in order), then three translations


class _FunctionBatch:
    """Many one-argument functions evaluated at once, with their derivatives: ``(B, S)`` arguments,
    one column per function, give ``(B, S)`` values and slopes. The functions' polynomial pieces
    (:meth:`~kinelift.skeleton.tree.KinematicTree.polynomial`) share one search and one Horner scheme,
    padded to the most pieces and the highest degree."""

    def __init__(self, forms: list[PiecewisePolynomial]) -> None:
        S = len(forms)
        pieces = max((len(f.bases) for f in forms), default=1)
        degree = max((f.coefficients.shape[1] - 1 for f in forms), default=0)
        thresholds = np.full((S, pieces - 1), np.inf)
        # per piece: base, the value's coefficients, then the slope's (highest power first, zero-padded)
        table = np.zeros((S, pieces, 1 + (degree + 1) + degree))
        for i, f in enumerate(forms):
            P, D = len(f.bases), f.coefficients.shape[1] - 1
            thresholds[i, : P - 1] = f.thresholds
            table[i, :P, 0] = f.bases
            table[i, :P, 1 + degree - D : 2 + degree] = f.coefficients
            table[i, :P, 2 + 2 * degree - D :] = f.coefficients[:, :-1] * np.arange(D, 0, -1)
        self._degree, self._pieces, self._count = degree, pieces, S
        self._numpy = (thresholds, table.reshape(S * pieces, table.shape[-1]))
        self._tensors: dict[tuple[Any, Any], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = (x.dtype, x.device)
        if key not in self._tensors:
            with torch.inference_mode(False):  # cached: usable outside a caller's inference mode
                thresholds, table = (torch.as_tensor(a, dtype=x.dtype, device=x.device) for a in self._numpy)
                offsets = torch.arange(self._count, device=x.device)[:, None] * self._pieces
            self._tensors[key] = (thresholds, table, offsets)
        thresholds, table, offsets = self._tensors[key]
        xs = x.T.contiguous()  # (S, B)
        rows = offsets if self._pieces == 1 else torch.searchsorted(thresholds, xs.detach(), right=True) + offsets
        chosen = table[rows]  # (S, B, columns)
        dx = xs - chosen[..., 0]
        D = self._degree
        value, slope = chosen[..., 1].expand_as(dx), chosen[..., D + 2].expand_as(dx) if D else torch.zeros_like(dx)
        for i in range(2, D + 2):
            value = torch.addcmul(chosen[..., i], value, dx)
        for i in range(D + 3, 2 * D + 2):
            slope = torch.addcmul(chosen[..., i], slope, dx)
        return value.T, slope.T


class PointJacobian:
    """Marker or joint-centre positions and their Jacobian with respect to the coordinates.

    Parameters
    ----------
    tree : KinematicTree
        The model's tree (immutable; a model's is ``SkeletalModel.tree``).

    Notes
    -----
    Call it as ``jacobian(q, points="markers", scales=None, marker_offsets=None)``:

    - ``q``: Tensor ``(..., n_coordinates)`` (rad / m); values of coupled coordinates are replaced
      by their constraint's value.
    - ``points``: ``"markers"`` (the tree's points, ``tree.point_names`` order) or ``"joint_centers"``
      (origin of each joint's child frame, in the model's joint order: ``SkeletalModel.joint_names``).
    - ``scales``: ``(..., n_bodies, 3)`` or ``(n_bodies, 3)`` body scale factors; ``marker_offsets``:
      ``(..., n_markers, 3)`` or ``(n_markers, 3)`` (m, in the marker's body frame, before scaling).

    It returns ``positions`` ``(..., n_points, 3)`` in ground (m) and ``jacobian``
    ``(..., n_points, 3, n_coordinates)``, on ``q``'s device and dtype, equal to autograd's
    Jacobian of the model's forward pass; with ``jacobian=False``, the positions and None.
    """

    def __init__(self, tree: KinematicTree) -> None:
        self.tree = tree
        self._n_joints = tree.n_joints
        self._numpy: dict[str, np.ndarray] = {}  # model constants, as tensors per dtype and device by _const
        self._indices: dict[str, np.ndarray] = {}  # index arrays, likewise
        self._place_bodies()
        self._read_joints()
        self._read_couplers()
        self._read_markers()
        self._plans: dict[tuple[str, Any, Any], tuple[torch.Tensor, ...]] = {}
        self._constants: dict[tuple[Any, Any], dict[str, Any]] = {}

    def _place_bodies(self) -> None:
        """Body slots here (ground 0, tree joint ``i``'s child ``i + 1``), the pointer-jumping rounds,
        and which joints move which bodies (``_moves[i, b]``: joint ``i`` is on body slot ``b``'s path to ground)."""
        tree, J = self.tree, self.tree.n_joints
        self._slot = np.zeros(tree.n_bodies + 1, dtype=np.int64)  # the tree's body slot (ground last) -> this slot
        self._slot[tree.joint_child] = np.arange(1, J + 1)
        self._parent = self._slot[tree.joint_parent]
        # each round composes every body with its current ancestor, then the ancestors jump twice as
        # far: after ceil(log2(depth)) rounds every body is placed in ground
        ancestor, self._jumps = np.concatenate([[0], self._parent]), []
        while ancestor.any():
            self._jumps.append(ancestor)
            ancestor = ancestor[ancestor]
        self._moves = np.concatenate([np.zeros((J, 1), dtype=bool), tree.body_joints[tree.joint_child].T], axis=1)
        self._indices.update(parent=self._parent, body_order=tree.joint_child.astype(np.int64), joint_order=np.argsort(tree.joint_order))

    def _read_joints(self) -> None:
        """Per joint: its offset frames, and its six slots (three rotations in order, then three
        translations): axes, and how each slot's value comes from the coordinates (a constant, a
        linear function of one coordinate, or another function of one)."""
        tree, J, n = self.tree, self.tree.n_joints, self.tree.n_coordinates
        U_r, U_t = tree.axis_unit[:, :3], tree.axis_unit[:, 3:]
        K = np.zeros((J, 3, 3, 3))  # rotation slots: cross-product matrices (zero: unused)
        for i, k in zip(*np.nonzero(tree.axis_kind[:, :3] == AXIS_ROTATION)):
            K[i, k] = cross_product_matrix_np(U_r[i, k])
        coordinate, function = tree.axis_coordinate.reshape(-1), tree.axis_function.reshape(-1)
        source = np.full(J * _SLOTS, n)  # the appended zero column: a constant or unused slot
        slope, intercept = np.zeros(J * _SLOTS), tree.axis_constant.reshape(-1).copy()
        nonlinear: list[int] = []
        for slot in np.flatnonzero(coordinate >= 0):
            f = int(function[slot])
            form = tree.polynomial(f)
            c = form.coefficients[0]
            if len(form.bases) == 1 and not c[:-2].any():  # a line: c1 (x - base) + c0
                c1, c0 = (c[-2], c[-1]) if len(c) > 1 else (0.0, c[-1])
                source[slot], slope[slot], intercept[slot] = coordinate[slot], c1, c0 - c1 * form.bases[0]
            else:
                nonlinear.append(int(slot))
        self._functions = _FunctionBatch([tree.polynomial(int(function[s])) for s in nonlinear])
        self._nonlinear_slots = nonlinear
        # the slots a coordinate moves, and which one
        self._slot_coordinate = {int(s): int(source[s]) for s in np.flatnonzero(slope != 0)} | {s: int(coordinate[s]) for s in nonlinear}
        self._driven = sorted(self._slot_coordinate)
        self._numpy.update(
            R_PF=tree.parent_R, P_PF=tree.parent_P, R_MB=tree.child_R.transpose(0, 2, 1), P_BM=tree.child_P, K=K, KK=K @ K, U_r=U_r, U_t=U_t,
            abs_U_t=np.apply_along_axis(scale_weights, -1, U_t), slope=slope, intercept=intercept, scaled_translation=tree.axis_scaled[:, 3:],
        )  # fmt: skip
        self._indices.update(
            source=source, driven=np.array(self._driven, dtype=np.int64), nonlinear_slots=np.array(nonlinear, dtype=np.int64),
            nonlinear_columns=coordinate[nonlinear].astype(np.int64),
        )  # fmt: skip

    def _read_couplers(self) -> None:
        """Each driven slot's Jacobian column: its coordinate, or for a coupled coordinate the
        independent coordinate at the root of its couplers, with the couplers on the way (chain rule),
        padded with the index of a column of ones."""
        tree = self.tree
        couplers = {int(d): (k, int(i)) for k, (d, i) in enumerate(zip(tree.coupler_dependent, tree.coupler_independent))}
        paths: dict[int, list[int]] = {}
        self._slot_column: dict[int, int] = {}
        for s in self._driven:
            path, column = [], self._slot_coordinate[s]
            while column in couplers:
                if len(path) == len(couplers):
                    raise FileFormatError(tree.name, "coupler constraints form a loop")
                k, column = couplers[column]
                path.append(k)
            paths[s], self._slot_column[s] = path, column
        self._chained_slots = [s for s in self._driven if paths[s]]
        longest = max((len(paths[s]) for s in self._chained_slots), default=0)
        chained = [paths[s] + [len(couplers)] * (longest - len(paths[s])) for s in self._chained_slots]
        self._indices.update(
            chained_slots=np.array(self._chained_slots, dtype=np.int64),
            chained_couplers=np.array(chained, dtype=np.int64).reshape(len(chained), longest),
        )

    def _read_markers(self) -> None:
        """Each point's body slot and its place on the body: offset rotation ``R``, scaled offset matrix
        ``P`` and location."""
        tree = self.tree
        self._numpy.update(marker_R=tree.point_R, marker_P=tree.point_P, marker_loc=tree.point_location)
        self._indices["marker_slot"] = self._slot[tree.point_body]

    def _const(self, like: torch.Tensor) -> dict[str, Any]:
        key = (like.dtype, like.device)
        if key not in self._constants:
            with torch.inference_mode(False):  # cached: usable outside a caller's inference mode
                self._constants[key] = self._build_constants(like)
        return self._constants[key]

    def _build_constants(self, like: torch.Tensor) -> dict[str, Any]:
        # copies: the tree's arrays are read-only
        c: dict[str, Any] = {k: torch.tensor(v, device=like.device, dtype=torch.bool if v.dtype == bool else like.dtype) for k, v in self._numpy.items()}
        c.update({k: torch.tensor(v, dtype=torch.long, device=like.device) for k, v in self._indices.items()})
        c["jumps"] = [torch.as_tensor(a, dtype=torch.long, device=like.device) for a in self._jumps]
        # [-[x]_x | I] from (0, x, y, z, 1): entries and signs
        c["twist_index"] = torch.as_tensor([[0, 3, 2, 4, 0, 0], [3, 0, 1, 0, 4, 0], [2, 1, 0, 0, 0, 4]], device=like.device)
        c["twist_sign"] = torch.as_tensor(
            [[0.0, 1.0, -1.0, 1.0, 0.0, 0.0], [-1.0, 0.0, 1.0, 0.0, 1.0, 0.0], [1.0, -1.0, 0.0, 0.0, 0.0, 1.0]], dtype=like.dtype, device=like.device
        )
        # unscaled constants: translations with all factors 1
        c["p_PF"] = c["P_PF"].sum(-1)
        c["p_MB"] = -(c["R_MB"] @ c["P_BM"].sum(-1)[..., None])[..., 0]
        c["marker_local"] = c["marker_P"].sum(-1) + (c["marker_R"] @ c["marker_loc"][..., None])[..., 0]
        return c

    def _plan(self, points: str, device: Any, dtype: Any) -> tuple[torch.Tensor, ...]:
        """The driven slots grouped by (coordinate column, joint). Group ``i < n`` is column ``i``'s
        first joint (none: a zero group), groups from ``n`` on are further joints of a column (a
        coupler driving axes in two joints). Returns each slot's group, whether it is a rotation, each
        group's joint, the columns of the further groups, and the ``(points, 1, groups)`` mask of the
        points that each group moves (those downstream of its joint)."""
        key = (points, device, dtype)
        if key not in self._plans:
            n = self.tree.n_coordinates
            joints_of: dict[int, list[int]] = {}
            for slot in self._driven:
                joints = joints_of.setdefault(self._slot_column[slot], [])
                if slot // _SLOTS not in joints:
                    joints.append(slot // _SLOTS)
            groups = [(column, joints_of[column][0] if column in joints_of else None) for column in range(n)]
            groups += [(column, joint) for column, joints in sorted(joints_of.items()) for joint in joints[1:]]
            group_of = {g: k for k, g in enumerate(groups)}
            point_slots = self._indices["marker_slot"].tolist() if points == "markers" else [int(j) + 1 for j in self._indices["joint_order"]]
            mask = np.array([[joint is not None and self._moves[joint, b] for _, joint in groups] for b in point_slots], dtype=np.float64)
            as_long = lambda v: torch.as_tensor(v, dtype=torch.long, device=device)  # noqa: E731
            with torch.inference_mode(False):  # cached: usable outside a caller's inference mode
                self._plans[key] = (
                    as_long([group_of[(self._slot_column[s], s // _SLOTS)] for s in self._driven]),
                    torch.as_tensor([s % _SLOTS < 3 for s in self._driven], dtype=torch.bool, device=device)[:, None],
                    as_long([0 if joint is None else joint for _, joint in groups]), as_long([column for column, _ in groups[n:]]),
                    torch.as_tensor(mask.reshape(len(point_slots), 1, len(groups)), dtype=dtype, device=device),
                )  # fmt: skip
        return self._plans[key]

    def _coordinates(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(B, n)`` coordinates with the coupled ones from their constraints, and each coupler's
        derivative ``(B, couplers)`` (None without couplers): the forward pass's own
        :func:`~kinelift.skeleton.kinematics.apply_couplers` and ``coupler_slopes``."""
        if not len(self.tree.coupler_dependent):
            return q, None
        q = apply_couplers(self.tree, q)
        slopes = coupler_slopes(self.tree, q)
        return q, torch.stack([slopes[int(d)][1] for d in self.tree.coupler_dependent], dim=1)

    def _slot_values(self, q: torch.Tensor, chain: torch.Tensor | None, c: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Every slot's value ``f(q)`` and slope ``f'(q)`` (chain rule through couplers included), ``(B, J * 6)``."""
        B = q.shape[0]
        values = torch.cat([q, q.new_zeros(B, 1)], dim=1)[:, c["source"]] * c["slope"] + c["intercept"]
        slopes = c["slope"].expand(B, -1)
        if self._nonlinear_slots:
            v, d = self._functions(q[:, c["nonlinear_columns"]])
            values[:, c["nonlinear_slots"]] = v
            slopes = slopes.clone()
            slopes[:, c["nonlinear_slots"]] = d
        if self._chained_slots:
            slopes = slopes.clone()
            chain = torch.cat([chain, chain.new_ones(B, 1)], dim=1)[:, c["chained_couplers"]].prod(-1)
            slopes[:, c["chained_slots"]] = slopes[:, c["chained_slots"]] * chain
        return values, slopes

    def __call__(
        self,
        q: torch.Tensor,
        *,
        points: str = "markers",
        scales: torch.Tensor | None = None,
        marker_offsets: torch.Tensor | None = None,
        jacobian: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        tree = self.tree
        n = tree.n_coordinates
        if points not in ("markers", "joint_centers"):
            raise ValueRangeError("points", expected="'markers' or 'joint_centers'", got=points)
        if not torch.is_tensor(q) or q.shape[-1:] != (n,):
            raise ShapeError("q", expected=f"a tensor (..., {n}) of coordinates of {tree.name}", got=getattr(q, "shape", type(q).__name__))
        if not q.is_floating_point():
            q = q.to(torch.get_default_dtype())
        batch = tuple(q.shape[:-1])
        c = self._const(q)
        q, chain = self._coordinates(q.reshape(-1, n))
        B, J = q.shape[0], self._n_joints
        s = None if scales is None else self._internal_scales(scales, batch, q, c)
        values, slopes = self._slot_values(q, chain, c)
        values, slopes = values.view(B, J, _SLOTS), slopes.view(B, J, _SLOTS)

        # joint motions X_FM: rotations in order (Rodrigues), translations along the axes in F
        angle = values[..., :3, None, None]
        R_axes = torch.eye(3, dtype=q.dtype, device=q.device) + torch.sin(angle) * c["K"] + (1.0 - torch.cos(angle)) * c["KK"]
        R_01 = R_axes[:, :, 0] @ R_axes[:, :, 1]
        R_FM = R_01 @ R_axes[:, :, 2]
        shift = values[..., 3:]
        if s is not None:  # CustomJoint translation functions scale with the parent body: sum_k w_k s_k (1 unscaled)
            factor = torch.where(c["scaled_translation"], (c["abs_U_t"] * s[:, c["parent"], None, :]).sum(-1), 1.0)
            shift, slopes = shift * factor, torch.cat([slopes[..., :3], slopes[..., 3:] * factor], dim=-1)
        p_FM = (shift[..., None, :] @ c["U_t"])[..., 0, :]

        # each child body in its parent body's frame, through the joint frames F and M
        if s is None:
            p_PF, p_MB = c["p_PF"], c["p_MB"]
        else:
            p_PF = (c["P_PF"] @ s[:, c["parent"], :, None])[..., 0]
            p_MB = -(c["R_MB"] @ (c["P_BM"] @ s[:, 1:, :, None]))[..., 0]
        R_PM = c["R_PF"] @ R_FM
        p_PM = p_PF + (c["R_PF"] @ p_FM[..., None])[..., 0]  # joint centres in the parent bodies
        R_G = torch.cat([torch.eye(3, dtype=q.dtype, device=q.device).expand(B, 1, 3, 3), R_PM @ c["R_MB"]], dim=1)
        p_G = torch.cat([q.new_zeros(B, 1, 3), p_PM + (R_PM @ p_MB[..., None])[..., 0]], dim=1)
        for ancestor in c["jumps"]:  # bodies in ground: X_b <- X_ancestor(b) X_b
            R_a = R_G[:, ancestor]
            p_G = p_G[:, ancestor] + (R_a @ p_G[..., None])[..., 0]
            R_G = R_a @ R_G
        R_parent = R_G[:, c["parent"]]
        R_F = R_parent @ c["R_PF"]
        centers = p_G[:, c["parent"]] + (R_parent @ p_PM[..., None])[..., 0]

        if points == "markers":
            local = c["marker_local"] if marker_offsets is None and s is None else self._marker_local(c, s, marker_offsets, batch, q)
            slot = c["marker_slot"]
            x = p_G[:, slot] + (R_G[:, slot] @ local[..., None])[..., 0]
        else:
            x = centers[:, c["joint_order"]]
        if not jacobian:
            return x.reshape(batch + x.shape[1:]), None

        # the driven axes in ground, times their slopes: rotation k turns about its axis carried by
        # the rotations before it; translations act along their axes in F
        directions_F = torch.cat([
            c["U_r"][:, 0].expand(B, J, 3)[:, :, None],
            (R_axes[:, :, 0] @ c["U_r"][:, 1, :, None]).transpose(-1, -2),
            (R_01 @ c["U_r"][:, 2, :, None]).transpose(-1, -2),
            c["U_t"].expand(B, J, 3, 3),
        ], dim=2)  # fmt: skip
        directions = (directions_F @ R_F.transpose(-1, -2)) * slopes[..., None]
        jac = self._assemble(x, centers, directions.view(B, J * _SLOTS, 3)[:, c["driven"]], points, c)
        return x.reshape(batch + x.shape[1:]), jac.reshape(batch + jac.shape[1:])

    def _assemble(self, x: torch.Tensor, centers: torch.Tensor, d: torch.Tensor, points: str, c: dict[str, Any]) -> torch.Tensor:
        """``(B, points, 3, n)`` from the driven slots' directions ``d`` ``(B, slots, 3)``: the slots of one
        joint and column add up to a twist ``(w, v)`` (a rotation slot about the joint centre ``c``
        gives ``w = d``, ``v = c x d``; a translation ``v = d``), and each point downstream moves by
        ``w x x + v`` per unit of the coordinate."""
        group, rotates, group_joint, extra_columns, mask = self._plan(points, x.device, x.dtype)
        B, P, G, n = x.shape[0], x.shape[1], mask.shape[-1], self.tree.n_coordinates
        v_slot = torch.where(rotates, torch.linalg.cross(centers[:, group_joint[group]], d, dim=-1), d)
        twists = torch.cat([x.new_zeros(B, G, 3).index_add_(1, group, d * rotates), x.new_zeros(B, G, 3).index_add_(1, group, v_slot)], dim=-1)
        twists = twists.transpose(1, 2).contiguous()  # (B, 6, G): a contiguous right operand halves the product's time
        # w x x + v = [-[x]_x | I] (w, v): one product for every point and group, then the mask
        x_map = torch.cat([x.new_zeros(B, P, 1), x, x.new_ones(B, P, 1)], dim=-1)[..., c["twist_index"]] * c["twist_sign"]
        x_map = x_map.view(B, P * 3, 6)
        jac = torch.bmm(x_map, twists[..., :n]).view(B, P, 3, n).mul_(mask[..., :n])
        if G > n:  # further joints of a column
            extra = torch.bmm(x_map, twists[..., n:]).view(B, P, 3, G - n).mul_(mask[..., n:])
            jac.index_add_(-1, extra_columns, extra)
        return jac

    def _internal_scales(self, scales: torch.Tensor, batch: tuple[int, ...], q: torch.Tensor, c: dict[str, Any]) -> torch.Tensor:
        """``(B or 1, J + 1, 3)`` scale factors by body slot (ground first, factor 1)."""
        nb = self.tree.n_bodies
        if not torch.is_tensor(scales) or scales.shape[-2:] != (nb, 3):
            raise ShapeError("scales", expected=f"(..., {nb} bodies, 3)", got=getattr(scales, "shape", type(scales).__name__))
        scales = scales.to(q.dtype)
        flat = scales.expand(batch + (nb, 3)).reshape(-1, nb, 3) if scales.dim() > 2 else scales[None]
        ordered = flat[:, c["body_order"]]
        return torch.cat([ordered.new_ones(ordered.shape[0], 1, 3), ordered], dim=1)

    def _marker_local(self, c: dict[str, Any], s: torch.Tensor | None, offsets: torch.Tensor | None, batch: tuple[int, ...], q: torch.Tensor) -> torch.Tensor:
        """Markers in their bodies' frames (m), scaled and offset."""
        M = len(self.tree.point_names)
        location = c["marker_loc"]
        if offsets is not None:
            if not torch.is_tensor(offsets) or offsets.shape[-2:] != (M, 3):
                raise ShapeError("marker_offsets", expected=f"(..., {M} markers, 3)", got=getattr(offsets, "shape", type(offsets).__name__))
            offsets = offsets.to(q.dtype)
            location = location + (offsets.expand(batch + (M, 3)).reshape(-1, M, 3) if offsets.dim() > 2 else offsets)
        if s is None:
            return c["marker_P"].sum(-1) + (c["marker_R"] @ location[..., None])[..., 0]
        s_m = s[:, c["marker_slot"]]
        return (c["marker_P"] @ s_m[..., None])[..., 0] + (c["marker_R"] @ (location * s_m)[..., None])[..., 0]
