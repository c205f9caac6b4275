"""``SkeletalModel``: an OpenSim model as batched, differentiable forward kinematics in torch.

Conventions (OpenSim's): ground frame with y up for the usual models; coordinates in
radians (rotational) and metres (translational), in the order of
``model.coordinate_names``; body transforms map body-frame vectors into ground
(``p_G = R_GB p_B + x_GB``). A joint places its child body by
``X_GB = X_GP * X_PF * X_FM(q) * inverse(X_BM)``, where ``F`` and ``M`` are the joint's
parent and child frames. ``X_FM(q)``: rotations about the joint's rotation axes applied in
order as body-fixed rotations (``R = R1 R2 R3``), then translations along its translation
axes expressed in ``F`` — OpenSim's CustomJoint (and Pin, Slider, Universal, Gimbal, Ball,
Planar, Free and Weld joints as special cases).

Body scale factors (``scales``, one (sx, sy, sz) per body, relative to the model as loaded)
act as OpenSim's ScaleTool does: offset-frame translations and marker locations scale
with the factors of the body they are fixed to, and a CustomJoint's translation
functions scale with the parent body's factors weighted by the absolute axis components
(``sum_i |axis_i| s_i / sum_i |axis_i|``: the factor ``s_k`` for an axis along ``k``, and 1 for
an unscaled model whatever the axis), except translations that are a coordinate itself
(``LinearFunction(1, 0)``, e.g. ``pelvis_tx``).

Examples
--------
>>> import torch
>>> from kinelift.skeleton.osim_parser import MINIMAL_OSIM
>>> model = SkeletalModel.from_osim_string(MINIMAL_OSIM)
>>> out = model(torch.tensor([[0.0], [torch.pi / 2]], dtype=torch.float64))
>>> out.markers[:, 0].round(decimals=6).abs().tolist()  # the knee marker: thigh hanging, then flexed 90 deg
[[0.0, 0.4, 0.0], [0.4, 0.0, 0.0]]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
import torch
from torch import nn

from kinelift.core.table import TimeSeriesTable, coordinate_name
from kinelift.errors import FileFormatError, ShapeError, UnknownNameError, ValueRangeError
from kinelift.skeleton import _components as C
from kinelift.skeleton.jacobian import PointJacobian
from kinelift.skeleton.osim_parser import parse_osim, parse_osim_string
from kinelift.skeleton.rotations import euler_xyz_to_matrix_np
from kinelift.skeleton.spec import GROUND, FrameRef, JointSpec, ModelSpec, scales_with_parent
from kinelift.skeleton.tree import tree_order

__all__ = ["FKResult", "SkeletalModel"]


class FKResult:
    """Forward-kinematics output; leading dimensions are those of the coordinates.

    Outputs are assembled on first access, so asking only for markers costs only markers.

    Attributes
    ----------
    body_rotations : Tensor, shape (..., n_bodies, 3, 3)
        ``R_GB`` of each body in ``model.body_names`` order.
    body_positions : Tensor, shape (..., n_bodies, 3)
        Body-frame origins in ground (m).
    joint_centers : Tensor, shape (..., n_joints, 3)
        Origin of each joint's child frame ``M`` in ground (m), ``model.joint_names`` order.
    markers : Tensor, shape (..., n_markers, 3)
        Marker positions in ground (m), ``model.marker_names`` order.
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


def _const_links(ref: FrameRef) -> list[tuple[C.Matrix, C.Vector]]:
    """The offset links of a frame as component constants (rotation, translation)."""
    return [(C.const_matrix(euler_xyz_to_matrix_np(link.orientation)), C.const_vector(link.translation)) for link in ref.links]


def _columns(t: torch.Tensor, batch: tuple[int, ...], n: int, dtype: torch.dtype) -> list[C.Vector]:
    """Per-item ``(..., n, 3)`` values (or ``(n, 3)``, broadcast) as ``n`` vectors of contiguous ``(B,)`` columns."""
    t = t.to(dtype).expand(batch + (n, 3)).reshape(-1, n, 3).permute(1, 2, 0).contiguous()
    return [list(t[i].unbind(0)) for i in range(n)]


class SkeletalModel(nn.Module):
    """Forward kinematics of an OpenSim model, batched over any leading dimensions.

    Build it with :meth:`from_osim` (or :meth:`from_spec`). Calling the model,
    ``model(q, scales=None, marker_offsets=None)``, returns an :class:`FKResult`.

    Parameters
    ----------
    spec : ModelSpec
        The parsed model (what :meth:`from_osim` and :meth:`from_spec` build from).

    Other Parameters
    ----------------
    q : Tensor, shape (..., n_coordinates)
        Of the call: coordinates in ``coordinate_names`` order (rad / m). Values given for coupled
        coordinates are replaced by their constraint's value.
    scales : Tensor, shape (..., n_bodies, 3) or (n_bodies, 3), optional
        Of the call: body scale factors relative to the loaded model (default all ones).
    marker_offsets : Tensor, shape (..., n_markers, 3) or (n_markers, 3), optional
        Of the call: displacements added to marker locations, in the marker's body frame (m), before scaling.
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        self.coordinate_names: tuple[str, ...] = tuple(c.name for c in spec.coordinates)
        self.body_names: tuple[str, ...] = tuple(spec.bodies)
        self.joint_names: tuple[str, ...] = tuple(j.name for j in spec.joints)
        self.marker_names: tuple[str, ...] = tuple(m.name for m in spec.markers)
        self._coord_index = {n: i for i, n in enumerate(self.coordinate_names)}
        self._body_index = {n: i for i, n in enumerate(self.body_names)}
        if len(self._coord_index) != len(self.coordinate_names):
            raise FileFormatError(spec.source, "coordinate names are not unique")
        # joints in tree order with their body slots and model constants as Python floats (None for
        # exact zeros), ready for the component algebra of the forward pass
        self._order = [spec.joints[i] for i in tree_order(spec)]
        self._joint_plan = [
            (j, self._body_slot(j.parent.body), self._body_slot(j.child.body), _const_links(j.parent), _const_links(j.child),
             [C.axis_constants(a.axis) for a in j.axes])
            for j in self._order
        ]  # fmt: skip
        self._marker_plan = [(self._body_slot(m.frame.body), _const_links(m.frame), C.const_vector(m.location)) for m in spec.markers]

    # ------------------------------------------------------------- building
    @classmethod
    def from_spec(cls, spec: ModelSpec) -> SkeletalModel:
        return cls(spec)

    @classmethod
    def from_osim(cls, path: str | os.PathLike[str]) -> SkeletalModel:
        """Read an OpenSim 4.x (or 2.x/3.x) ``.osim`` file; no OpenSim needed."""
        return cls(parse_osim(path))

    @classmethod
    def from_osim_string(cls, text: str) -> SkeletalModel:
        return cls(parse_osim_string(text))

    def _body_slot(self, body: str) -> int:
        """Index into the per-body arrays: bodies in order, ground last."""
        if body == GROUND:
            return len(self.body_names)
        if body not in self._body_index:
            raise UnknownNameError(f"body (in {self.spec.source})", body, known=self.body_names)
        return self._body_index[body]

    # ---------------------------------------------------------------- access
    @property
    def n_coordinates(self) -> int:
        return len(self.coordinate_names)

    def coordinate_index(self, names: str | Sequence[str]) -> int | list[int]:
        """Index (or indices) of coordinates by name."""
        if isinstance(names, str):
            if names not in self._coord_index:
                raise UnknownNameError(f"coordinate (in {self.spec.name})", names, known=self.coordinate_names)
            return self._coord_index[names]
        missing = [n for n in names if n not in self._coord_index]
        if missing:
            raise UnknownNameError(f"coordinate (in {self.spec.name})", missing, known=self.coordinate_names)
        return [self._coord_index[n] for n in names]

    def default_coordinates(self, *, dtype: torch.dtype = torch.float64, device: Any = None) -> torch.Tensor:
        """The coordinates' default values ``(n_coordinates,)``."""
        return torch.tensor([c.default_value for c in self.spec.coordinates], dtype=dtype, device=device)

    @property
    def coordinate_ranges(self) -> np.ndarray:
        """``(n_coordinates, 2)`` lower and upper bounds (rad / m; +-inf when none)."""
        return np.array([c.range for c in self.spec.coordinates], dtype=np.float64)

    @property
    def coordinate_units(self) -> dict[str, str]:
        """Unit of each coordinate as OpenSim's files treat it: ``"rad"`` (rotational), ``"m"``
        (translational), ``""`` for coupled coordinates, which OpenSim never converts to degrees."""
        units = {"rotational": "rad", "translational": "m"}
        return {c.name: units.get(c.motion_type, "") for c in self.spec.coordinates}

    def coordinates_from_table(self, table: TimeSeriesTable, *, missing: str = "default", check_ranges: bool = False) -> torch.Tensor:
        """Coordinates ``(frames, n_coordinates)`` (float64) from a table read by :func:`kinelift.io.read_mot`.

        Columns are matched by coordinate name (or the name inside an OpenSim state path).
        OpenSim writes coupled coordinates without degree conversion even in ``inDegrees=yes``
        files; a reader that converted them is undone here, so the values are OpenSim's.
        Coordinates absent from the table take their default value (``missing="default"``) or
        raise (``missing="error"``); columns that name no coordinate are ignored. With
        ``check_ranges``, values far outside the model's ranges are refused
        (:meth:`coordinate_range_violations`): a motion of another model, whose names match
        and whose signs do not (OpenCap's knee flexion on gait2392).
        """
        if missing not in ("default", "error"):
            raise ValueRangeError("missing", expected="'default' or 'error'", got=missing)
        q = np.tile(self.default_coordinates().numpy(), (table.n_frames, 1))
        found = set()
        converted = table.metadata.get("read_in_degrees") == "yes"
        units = self.coordinate_units
        for j, column in enumerate(table.column_names):
            name = coordinate_name(column)
            if name not in self._coord_index or column.endswith("/speed"):
                continue
            values = np.asarray(table.values[:, j], dtype=np.float64)
            if converted and table.column_units[j] == "rad" and units[name] != "rad":
                values = np.rad2deg(values)  # the reader converted a column OpenSim left as it was
            q[:, self._coord_index[name]] = values
            found.add(name)
        absent = [n for n in self.coordinate_names if n not in found]
        if absent and missing == "error":
            raise UnknownNameError(f"coordinate column (in {table.name})", absent, known=table.column_names)
        if check_ranges and not found:
            raise UnknownNameError(f"coordinate column (in {table.metadata.get('source', table.name)}; none names a coordinate "
                                   f"of {self.spec.name})", list(table.column_names)[:10], known=self.coordinate_names)  # fmt: skip
        if check_ranges and (violations := self.coordinate_range_violations(q)):
            raise ValueRangeError(f"coordinates of {table.metadata.get('source', table.name)} on {self.spec.name}",
                                  expected="values within the model's coordinate ranges (a motion computed with this model)",
                                  got="; ".join(violations) + ": a motion of another model (other signs or zero poses), or degrees "
                                  "read as radians")  # fmt: skip
        return torch.from_numpy(q)

    def coordinate_range_violations(self, q: Any, *, margin: float = float(np.deg2rad(30.0)), fraction: float = 0.1) -> list[str]:
        """Rotational coordinates of the non-root joints that leave the model's range by more than
        ``margin`` (rad) in more than ``fraction`` of the frames of ``q`` ``(frames, n_coordinates)``,
        described in words (empty when none). The root joint (pelvis) is free and not checked."""
        values = q.detach().cpu().numpy() if torch.is_tensor(q) else np.asarray(q, dtype=np.float64)
        values = values.reshape(-1, len(self.coordinate_names))
        roots = {j.name for j in self.spec.joints if j.parent.body == "ground"}
        out = []
        for c, (lo, hi) in zip(self.spec.coordinates, self.coordinate_ranges):
            if c.motion_type != "rotational" or c.joint in roots or not (np.isfinite(lo) and np.isfinite(hi)) or c.locked:
                continue
            v = values[:, self._coord_index[c.name]]
            outside = (v < lo - margin) | (v > hi + margin)
            if outside.mean() > fraction:
                worst = v[np.argmax(np.maximum(lo - v, v - hi))]
                out.append(f"{c.name} reaches {np.degrees(worst):.0f} deg in {100 * outside.mean():.0f} % of frames "
                           f"(range {np.degrees(lo):.0f} to {np.degrees(hi):.0f} deg)")  # fmt: skip
        return out

    def coordinates_in_degrees(self, q: torch.Tensor) -> torch.Tensor:
        """``q`` with rotational coordinates in degrees (translations stay in metres; coupled ones as they are)."""
        rotational = torch.as_tensor([u == "rad" for u in self.coordinate_units.values()], device=q.device)
        return torch.where(rotational, torch.rad2deg(q), q)

    def coordinates_to_table(self, q: torch.Tensor, time: Any, *, name: str = "Coordinates") -> TimeSeriesTable:
        """A table of coordinates ``(frames, n_coordinates)`` with OpenSim's units per column, ready for
        :func:`kinelift.io.write_mot` (rotational coordinates are written in degrees, coupled ones as they are)."""
        units = self.coordinate_units
        values = q.detach().cpu().numpy() if torch.is_tensor(q) else np.asarray(q)
        return TimeSeriesTable(time, values, list(self.coordinate_names), [units[n] for n in self.coordinate_names], name=name)

    def compiled_fk(self, *, outputs: Sequence[str] = ("markers", "joint_centers"), contiguous: bool = True, **compile_options: Any):
        """Forward kinematics compiled by ``torch.compile`` into one fused, vectorised loop: a function
        ``fk(q, scales=None) -> dict`` of the named ``outputs`` (``FKResult`` attribute names).

        The compiled kernel reads the coordinates component-major (``q`` is transposed once on the
        way in), evaluates splines by comparisons instead of searches so that nothing breaks the
        fusion, and writes each output as one component-major ``(components, B)`` block, copied into
        the usual row-major layout in the same graph. With ``contiguous=False`` the outputs are
        returned as ``(..., n, 3)`` views of the blocks instead (strides ``(1, 3B, B)``: valid
        tensors for any torch operation, and no transposing copy).

        Compiling takes about half a minute on a 2-core CPU, once per input shape and dtype
        (and needs a C++ compiler, as ``torch.compile`` on CPU does). Results equal the model's
        to float rounding. See ``benchmarks/fk.py`` for the speed.
        """
        known = {"markers": (len(self.marker_names), 3), "joint_centers": (len(self.joint_names), 3),
                 "body_positions": (len(self.body_names), 3), "body_rotations": (len(self.body_names), 3, 3), "coordinates": None}  # fmt: skip
        unknown = [o for o in outputs if o not in known]
        if unknown:
            raise UnknownNameError("FK output", unknown, known=tuple(known))
        options = {"max_fusion_size": 1 << 16, **compile_options.pop("options", {})}

        def columns_fk(q_columns: torch.Tensor, scales: torch.Tensor | None) -> dict[str, torch.Tensor]:
            out = self._evaluate(q_columns.T, scales, None)
            # (components, B) blocks; the row-major copies in the same graph: run eagerly next to the
            # compiled kernel, torch's parallel copy competes with its still-spinning OpenMP threads
            blocks = {name: out.coordinates.T if name == "coordinates" else torch.stack(out.component_columns(name), dim=0) for name in outputs}
            return {name: block.T.contiguous() for name, block in blocks.items()} if contiguous else blocks

        compiled = torch.compile(columns_fk, dynamic=False, options=options, **compile_options)
        n = self.n_coordinates
        to_columns = torch.compile(lambda q: q.reshape(-1, n).T.contiguous(), dynamic=False, **compile_options)  # likewise

        def fk(q: torch.Tensor, scales: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
            if not torch.is_tensor(q) or q.shape[-1:] != (self.n_coordinates,):
                raise ShapeError("q", expected=f"a tensor (..., {self.n_coordinates}) of coordinates of {self.spec.name}", got=getattr(q, "shape", type(q).__name__))
            if scales is not None and scales.dim() > 2:  # per-frame scales follow q's flattened frames
                scales = scales.reshape((-1,) + tuple(scales.shape[-2:]))
            batch = tuple(q.shape[:-1])
            parts = compiled(to_columns(q), scales)
            # row-major (B, k) results reshape as views; component-major (k, B) blocks as transposed views
            return {name: (value if contiguous else value.T).reshape(batch + (known[name] or (n,))) for name, value in parts.items()}

        return fk

    def extra_repr(self) -> str:
        return f"name={self.spec.name!r}, bodies={len(self.body_names)}, coordinates={self.n_coordinates}, markers={len(self.marker_names)}"

    # ---------------------------------------------------------------- maths
    def apply_couplers(self, q: torch.Tensor) -> torch.Tensor:
        """``q`` with each coupled coordinate set from its constraint (a new tensor)."""
        if not self.spec.couplers:
            return q
        q = q.clone()
        for cp in self.spec.couplers:
            x = q[..., self._coord_index[cp.independent[0]]]
            q[..., self._coord_index[cp.dependent]] = cp.scale_factor * cp.function(x)
        return q

    @staticmethod
    def _frame_on_body(R: C.Matrix, p: C.Vector, scale: C.Vector, links: list[tuple[C.Matrix, C.Vector]]) -> tuple[C.Matrix, C.Vector]:
        """A frame fixed on a body (pose ``R``, ``p``) through offset links scaled by the body's factors."""
        for r_link, p_link in links:
            p = C.vec_add(p, C.matvec(R, C.vec_scale(p_link, scale)))
            R = C.matmul(R, r_link)
        return R, p

    def _joint_motion(
        self, joint: JointSpec, axis_consts: list, cols: list[torch.Tensor], s_parent: C.Vector, like: torch.Tensor
    ) -> tuple[C.Matrix, C.Vector]:
        """``R_FM``, ``p_FM`` of ``joint`` from the coordinate columns."""
        R: C.Matrix | None = None
        p: C.Vector = list(C.ZERO_VECTOR)
        for axis, (unit, abs_unit, k, kk) in zip(joint.axes, axis_consts):
            if axis.coordinates:
                value = axis.function(cols[self._coord_index[axis.coordinates[0]]])
            elif axis.function.constant_value == 0.0:
                continue
            else:
                value = torch.full_like(like, axis.function.constant_value)
            if axis.kind == "rotation":
                Ra = C.axis_rotation(k, kk, torch.cos(value), torch.sin(value))
                R = Ra if R is None else C.matmul(R, Ra)
            else:
                if scales_with_parent(joint.type, axis):
                    # OpenSim scales joint kinematics by the parent body: sum_k |axis_k| s_k
                    value = C.mul(value, C.add(*(C.mul(u, sk) for u, sk in zip(abs_unit, s_parent))))
                p = C.vec_add(p, [C.mul(value, u) for u in unit])
        return (C.IDENTITY if R is None else R), p

    def forward(self, q: torch.Tensor, scales: torch.Tensor | None = None, marker_offsets: torch.Tensor | None = None) -> FKResult:
        return self._evaluate(q, scales, marker_offsets)

    def _evaluate(self, q: torch.Tensor, scales: torch.Tensor | None, marker_offsets: torch.Tensor | None) -> FKResult:
        """The forward pass, one ``(B,)`` column per matrix and vector entry."""
        if not torch.is_tensor(q):
            raise ShapeError("q", expected=f"a tensor (..., {self.n_coordinates})", got=type(q).__name__)
        if q.shape[-1:] != (self.n_coordinates,):
            raise ShapeError("q", expected=f"(..., {self.n_coordinates}) coordinates of {self.spec.name}", got=tuple(q.shape))
        if not q.is_floating_point():
            q = q.to(torch.get_default_dtype())
        batch = tuple(q.shape[:-1])
        n_b, n_m = len(self.body_names), len(self.marker_names)
        q = self.apply_couplers(q)
        flat_q = q.reshape(-1, self.n_coordinates)
        columns = flat_q.T.contiguous()
        cols = list(columns.unbind(0))
        like = columns[0] if self.n_coordinates else flat_q.new_zeros(flat_q.shape[0])
        ones: C.Vector = [1.0, 1.0, 1.0]
        body_scale: list[C.Vector] = [ones] * (n_b + 1)
        if scales is not None:
            if scales.shape[-2:] != (n_b, 3):
                raise ShapeError("scales", expected=f"(..., {n_b} bodies, 3)", got=tuple(scales.shape))
            body_scale = _columns(scales, batch, n_b, q.dtype) + [ones]
        R_G: list[C.Matrix | None] = [None] * n_b + [C.IDENTITY]
        p_G: list[C.Vector | None] = [None] * n_b + [list(C.ZERO_VECTOR)]
        centers: dict[str, C.Vector] = {}
        for joint, pi, ci, parent_links, child_links, axis_consts in self._joint_plan:
            R_F, p_F = self._frame_on_body(R_G[pi], p_G[pi], body_scale[pi], parent_links)
            R_FM, p_FM = self._joint_motion(joint, axis_consts, cols, body_scale[pi], like)
            R_M = C.matmul(R_F, R_FM)
            p_M = C.vec_add(p_F, C.matvec(R_F, p_FM))
            # child body from its frame M: X_GB = X_GM * inverse(X_BM)
            R_BM, p_BM = self._frame_on_body(C.IDENTITY, list(C.ZERO_VECTOR), body_scale[ci], child_links)
            R_B = C.matmul(R_M, C.transpose(R_BM))
            p_B = C.vec_add(p_M, C.negate(C.matvec(R_B, p_BM)))
            R_G[ci], p_G[ci] = R_B, p_B
            centers[joint.name] = p_M
        offsets = None
        if marker_offsets is not None:
            if marker_offsets.shape[-2:] != (n_m, 3):
                raise ShapeError("marker_offsets", expected=f"(..., {n_m} markers, 3)", got=tuple(marker_offsets.shape))
            offsets = _columns(marker_offsets, batch, n_m, q.dtype)
        markers = []
        for m, (b, links, location) in enumerate(self._marker_plan):
            if offsets is not None:
                location = C.vec_add(location, offsets[m])
            R_f, p_f = self._frame_on_body(R_G[b], p_G[b], body_scale[b], links)
            markers.append(C.vec_add(p_f, C.matvec(R_f, C.vec_scale(location, body_scale[b]))))
        return FKResult(
            batch, like, R_G[:n_b], p_G[:n_b], [centers[n] for n in self.joint_names], markers, q,
        )  # fmt: skip

    def point_jacobian(
        self,
        q: torch.Tensor,
        *,
        points: str = "markers",
        scales: torch.Tensor | None = None,
        marker_offsets: torch.Tensor | None = None,
        jacobian: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Positions of model points and their Jacobian with respect to the coordinates, analytically.

        Evaluated by :class:`~kinelift.skeleton.jacobian.PointJacobian`, batched over the joints (about
        150 tensor operations whatever the model's size): what solvers should call, for a few frames
        or many. Its positions equal the model's forward pass.

        Parameters
        ----------
        q : Tensor, shape (..., n_coordinates)
            Coordinates (rad / m).
        points : {"markers", "joint_centers"}
            Which points.
        scales, marker_offsets : Tensor, optional
            As for the forward call.
        jacobian : bool
            False: positions only (and None), which for small batches is cheaper than the
            forward call.

        Returns
        -------
        positions : Tensor, shape (..., n_points, 3)
            Points in ground (m).
        jacobian : Tensor, shape (..., n_points, 3, n_coordinates), or None
            ``d position / d q``: for a rotation axis ``a`` (unit ``w`` in ground, about the joint
            centre ``c``) it is ``f'(q) w x (x - c)``, for a translation ``f'(q) t``; a coupled
            coordinate's column is zero and its effect is carried into the column of the independent
            coordinate at the root of its couplers (chain rule). Equal to autograd's Jacobian.

        Examples
        --------
        >>> import torch
        >>> from kinelift.skeleton.osim_parser import MINIMAL_OSIM
        >>> model = SkeletalModel.from_osim_string(MINIMAL_OSIM)
        >>> x, jac = model.point_jacobian(torch.zeros(1, dtype=torch.float64))
        >>> jac.shape
        torch.Size([1, 3, 1])
        """
        return self._point_jacobian(q, points=points, scales=scales, marker_offsets=marker_offsets, jacobian=jacobian)

    @cached_property
    def _point_jacobian(self) -> PointJacobian:
        return PointJacobian(self)

    def coupler_slopes(self, flat_q: torch.Tensor) -> dict[int, tuple[int, torch.Tensor]]:
        """``{dependent index: (independent index, d dependent / d independent)}`` per coupler, for
        coordinates ``flat_q`` ``(B, n_coordinates)`` (slopes ``(B,)``)."""
        out = {}
        for cp in self.spec.couplers:
            independent = self._coord_index[cp.independent[0]]
            _, slope = _value_and_slope(cp.function, flat_q[:, independent].contiguous())
            out[self._coord_index[cp.dependent]] = (independent, cp.scale_factor * C.materialize(slope, flat_q[:, 0]))
        return out


def _value_and_slope(function: Any, x: torch.Tensor) -> tuple[torch.Tensor, C.Component]:
    """``function(x)`` and its derivative as a component (``None`` where the function is constant)."""
    value, slope = function.value_and_derivative(x)
    return value, (C.const(slope) if isinstance(slope, float) else slope)
