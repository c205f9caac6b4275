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
(``sum_i |axis_i| s_i``), except translations that are a coordinate itself
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
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from kinelift.core.table import TimeSeriesTable, coordinate_name
from kinelift.errors import FileFormatError, ShapeError, UnknownNameError, ValueRangeError
from kinelift.skeleton.osim_parser import parse_osim, parse_osim_string
from kinelift.skeleton.rotations import euler_xyz_to_matrix_np
from kinelift.skeleton.spec import GROUND, FrameRef, JointSpec, ModelSpec

__all__ = ["FKResult", "SkeletalModel"]


@dataclass(frozen=True)
class FKResult:
    """Forward-kinematics output; leading dimensions are those of the coordinates.

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

    body_rotations: torch.Tensor
    body_positions: torch.Tensor
    joint_centers: torch.Tensor
    markers: torch.Tensor
    coordinates: torch.Tensor

    @property
    def body_transforms(self) -> torch.Tensor:
        """Homogeneous ``(..., n_bodies, 4, 4)`` transforms ``X_GB``."""
        top = torch.cat([self.body_rotations, self.body_positions[..., None]], dim=-1)
        bottom = torch.zeros(top.shape[:-2] + (1, 4), dtype=top.dtype, device=top.device)
        bottom[..., 0, 3] = 1.0
        return torch.cat([top, bottom], dim=-2)


class _Offset:
    """A fixed frame on a body: chain of (R, p) links; translations scale with the body's factors."""

    def __init__(self, ref: FrameRef) -> None:
        self.body = ref.body
        self.links = [(euler_xyz_to_matrix_np(link.orientation), np.asarray(link.translation, dtype=np.float64)) for link in ref.links]


class SkeletalModel(nn.Module):
    """Forward kinematics of an OpenSim model, batched over any leading dimensions.

    Build it with :meth:`from_osim` (or :meth:`from_spec`). Calling the model,
    ``model(q, scales=None, marker_offsets=None)``, returns an :class:`FKResult`.

    Parameters of the call
    ----------------------
    q : Tensor, shape (..., n_coordinates)
        Coordinates in ``coordinate_names`` order (rad / m). Values given for coupled
        coordinates are replaced by their constraint's value.
    scales : Tensor, shape (..., n_bodies, 3) or (n_bodies, 3), optional
        Body scale factors relative to the loaded model (default all ones).
    marker_offsets : Tensor, shape (..., n_markers, 3) or (n_markers, 3), optional
        Displacements added to marker locations, in the marker's body frame (m), before scaling.
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
        self._order = self._topological_joints(spec)
        self._offsets = {j.name: (_Offset(j.parent), _Offset(j.child)) for j in spec.joints}
        self._marker_frames = [_Offset(m.frame) for m in spec.markers]
        self._marker_locations = np.stack([m.location for m in spec.markers]) if spec.markers else np.zeros((0, 3))
        self._marker_bodies = [self._body_slot(m.frame.body) for m in spec.markers]
        # runs of consecutive markers on one body: one product per run, outputs already in order
        self._marker_runs: list[tuple[int, int, int]] = []
        for m, b in enumerate(self._marker_bodies):
            if self._marker_runs and self._marker_runs[-1][0] == b:
                self._marker_runs[-1] = (b, self._marker_runs[-1][1], m + 1)
            else:
                self._marker_runs.append((b, m, m + 1))
        self._cache: dict[tuple[Any, Any], dict[str, torch.Tensor]] = {}

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

    def _topological_joints(self, spec: ModelSpec) -> list[JointSpec]:
        placed, order, remaining = {GROUND}, [], list(spec.joints)
        children = [j.child.body for j in spec.joints]
        dup = sorted({c for c in children if children.count(c) > 1})
        if dup:
            raise FileFormatError(spec.source, f"bodies {dup} are the child of more than one joint (closed loop)")
        while remaining:
            ready = [j for j in remaining if j.parent.body in placed]
            if not ready:
                raise FileFormatError(spec.source, f"joints {[j.name for j in remaining]} do not connect to ground")
            for j in ready:
                order.append(j)
                placed.add(j.child.body)
                remaining.remove(j)
        missing = set(self.body_names) - placed
        if missing:
            raise FileFormatError(spec.source, f"bodies {sorted(missing)} have no joint to ground")
        return order

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
    def rotational(self) -> np.ndarray:
        """Boolean ``(n_coordinates,)``: True for rotational (and coupled rotational) coordinates."""
        return np.array([c.motion_type != "translational" for c in self.spec.coordinates])

    @property
    def coordinate_units(self) -> dict[str, str]:
        """Unit of each coordinate as OpenSim's files treat it: ``"rad"`` (rotational), ``"m"``
        (translational), ``""`` for coupled coordinates, which OpenSim never converts to degrees."""
        units = {"rotational": "rad", "translational": "m"}
        return {c.name: units.get(c.motion_type, "") for c in self.spec.coordinates}

    def coordinates_from_table(self, table: TimeSeriesTable, *, missing: str = "default") -> torch.Tensor:
        """Coordinates ``(frames, n_coordinates)`` (float64) from a table read by :func:`kinelift.io.read_mot`.

        Columns are matched by coordinate name (or the name inside an OpenSim state path).
        OpenSim writes coupled coordinates without degree conversion even in ``inDegrees=yes``
        files; a reader that converted them is undone here, so the values are OpenSim's.
        Coordinates absent from the table take their default value (``missing="default"``) or
        raise (``missing="error"``); columns that name no coordinate are ignored.
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
        return torch.from_numpy(q)

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

    def extra_repr(self) -> str:
        return f"name={self.spec.name!r}, bodies={len(self.body_names)}, coordinates={self.n_coordinates}, markers={len(self.marker_names)}"

    # ------------------------------------------------------------ constants
    def _constants(self, dtype: torch.dtype, device: Any) -> dict[str, torch.Tensor]:
        key = (dtype, device)
        if key not in self._cache:
            t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype, device=device)  # noqa: E731
            c: dict[str, torch.Tensor] = {"marker_locations": t(self._marker_locations), "eye": t(np.eye(3))}
            for j in self.spec.joints:
                for side, off in zip(("parent", "child"), self._offsets[j.name]):
                    for k, (r, p) in enumerate(off.links):
                        c[f"{j.name}/{side}/{k}/R"] = t(r)
                        c[f"{j.name}/{side}/{k}/p"] = t(p)
                for a, axis in enumerate(j.axes):
                    c[f"{j.name}/axis{a}"] = t(axis.axis)
                    k = -np.cross(np.eye(3), axis.axis).T  # cross-product matrix: k @ v = axis x v
                    c[f"{j.name}/K{a}"] = t(k)
                    c[f"{j.name}/KK{a}"] = t(k @ k)
            for m, off in enumerate(self._marker_frames):
                for k, (r, p) in enumerate(off.links):
                    c[f"marker{m}/{k}/R"] = t(r)
                    c[f"marker{m}/{k}/p"] = t(p)
            self._cache[key] = c
        return self._cache[key]

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
    def _frame_on_body(
        R_body: torch.Tensor, p_body: torch.Tensor, s_body: torch.Tensor, links: list[tuple[torch.Tensor, torch.Tensor]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        R, p = R_body, p_body
        for r_link, p_link in links:
            p = p + torch.einsum("...ij,...j->...i", R, s_body * p_link)
            R = R @ r_link
        return R, p

    def _joint_motion(self, joint: JointSpec, q: torch.Tensor, s_parent: torch.Tensor, c: dict[str, torch.Tensor]):
        """``R_FM``, ``p_FM`` of ``joint`` for coordinates ``q``."""
        batch = q.shape[:-1]
        R = None
        p = torch.zeros(batch + (3,), dtype=q.dtype, device=q.device)
        for a, axis in enumerate(joint.axes):
            value_const = axis.function.constant_value
            if axis.coordinates:
                x = q[..., self._coord_index[axis.coordinates[0]]]
                value = axis.function(x)
            elif value_const == 0.0:
                continue
            else:
                value = torch.full(batch, value_const, dtype=q.dtype, device=q.device)
            u = c[f"{joint.name}/axis{a}"]
            if axis.kind == "rotation":
                # Rodrigues: R = I + sin(t) K + (1 - cos(t)) K^2, with K and K^2 precomputed
                Ra = c["eye"] + torch.sin(value)[..., None, None] * c[f"{joint.name}/K{a}"] + (1.0 - torch.cos(value))[..., None, None] * c[f"{joint.name}/KK{a}"]
                R = Ra if R is None else R @ Ra
            else:
                if joint.type == "CustomJoint" and not axis.function.is_identity:
                    value = value * (s_parent * u.abs()).sum(-1)  # OpenSim scales joint kinematics by the parent body
                p = p + value[..., None] * u
        if R is None:
            R = torch.eye(3, dtype=q.dtype, device=q.device).expand(batch + (3, 3))
        return R, p

    def forward(self, q: torch.Tensor, scales: torch.Tensor | None = None, marker_offsets: torch.Tensor | None = None) -> FKResult:
        if not torch.is_tensor(q):
            raise ShapeError("q", expected=f"a tensor (..., {self.n_coordinates})", got=type(q).__name__)
        if q.shape[-1:] != (self.n_coordinates,):
            raise ShapeError("q", expected=f"(..., {self.n_coordinates}) coordinates of {self.spec.name}", got=tuple(q.shape))
        if not q.is_floating_point():
            q = q.to(torch.get_default_dtype())
        batch = q.shape[:-1]
        dtype, device = q.dtype, q.device
        c = self._constants(dtype, device)
        n_b = len(self.body_names)
        if scales is None:
            s = torch.ones(batch + (n_b + 1, 3), dtype=dtype, device=device)
        else:
            if scales.shape[-2:] != (n_b, 3):
                raise ShapeError("scales", expected=f"(..., {n_b} bodies, 3)", got=tuple(scales.shape))
            s = torch.cat([scales.to(dtype).expand(batch + (n_b, 3)), torch.ones(batch + (1, 3), dtype=dtype, device=device)], dim=-2)
        q = self.apply_couplers(q)
        eye = torch.eye(3, dtype=dtype, device=device).expand(batch + (3, 3))
        zero = torch.zeros(batch + (3,), dtype=dtype, device=device)
        R_G: list[torch.Tensor | None] = [None] * n_b + [eye]
        p_G: list[torch.Tensor | None] = [None] * n_b + [zero]
        centers: dict[str, torch.Tensor] = {}
        for joint in self._order:
            pi, ci = self._body_slot(joint.parent.body), self._body_slot(joint.child.body)
            parent_off, child_off = self._offsets[joint.name]
            links_p = [(c[f"{joint.name}/parent/{k}/R"], c[f"{joint.name}/parent/{k}/p"]) for k in range(len(parent_off.links))]
            R_F, p_F = self._frame_on_body(R_G[pi], p_G[pi], s[..., pi, :], links_p)
            R_FM, p_FM = self._joint_motion(joint, q, s[..., pi, :], c)
            R_M = R_F @ R_FM
            p_M = p_F + torch.einsum("...ij,...j->...i", R_F, p_FM)
            # child body from its frame M: X_GB = X_GM * inverse(X_BM)
            R_BM, p_BM = eye, zero
            for k in range(len(child_off.links)):
                R_BM, p_BM = self._frame_on_body(R_BM, p_BM, s[..., ci, :], [(c[f"{joint.name}/child/{k}/R"], c[f"{joint.name}/child/{k}/p"])])
            R_B = R_M @ R_BM.transpose(-1, -2)
            p_B = p_M - torch.einsum("...ij,...j->...i", R_B, p_BM)
            R_G[ci], p_G[ci] = R_B, p_B
            centers[joint.name] = p_M
        body_R = torch.stack(R_G[:n_b], dim=-3) if n_b else torch.zeros(batch + (0, 3, 3), dtype=dtype, device=device)
        body_p = torch.stack(p_G[:n_b], dim=-2) if n_b else torch.zeros(batch + (0, 3), dtype=dtype, device=device)
        joint_centers = torch.stack([centers[n] for n in self.joint_names], dim=-2)
        markers = self._markers(R_G, p_G, s, c, marker_offsets, batch, dtype, device)
        return FKResult(body_R, body_p, joint_centers, markers, q)

    def _markers(self, R_G, p_G, s, c, marker_offsets, batch, dtype, device) -> torch.Tensor:
        n_m = len(self.marker_names)
        if n_m == 0:
            return torch.zeros(batch + (0, 3), dtype=dtype, device=device)
        loc = c["marker_locations"].expand(batch + (n_m, 3))
        if marker_offsets is not None:
            if marker_offsets.shape[-2:] != (n_m, 3):
                raise ShapeError("marker_offsets", expected=f"(..., {n_m} markers, 3)", got=tuple(marker_offsets.shape))
            loc = loc + marker_offsets.to(dtype)
        if any(off.links for off in self._marker_frames):
            rows = []
            for m, off in enumerate(self._marker_frames):
                b = self._marker_bodies[m]
                links = [(c[f"marker{m}/{k}/R"], c[f"marker{m}/{k}/p"]) for k in range(len(off.links))]
                Rf, pf = self._frame_on_body(R_G[b], p_G[b], s[..., b, :], links)
                rows.append(pf + (Rf @ (s[..., b, :] * loc[..., m, :])[..., None])[..., 0])
            return torch.stack(rows, dim=-2)
        # p_B + R_GB (s_B * location), one product per run of markers on the same body
        runs = []
        for b, start, stop in self._marker_runs:
            local = s[..., b, None, :] * loc[..., start:stop, :]  # (..., n, 3)
            runs.append(p_G[b][..., None, :] + torch.einsum("...ij,...nj->...ni", R_G[b], local))
        return runs[0] if len(runs) == 1 else torch.cat(runs, dim=-2)
