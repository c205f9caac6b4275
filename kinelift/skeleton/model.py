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
from typing import Any

import numpy as np
import torch
from torch import nn

from kinelift.core.table import TimeSeriesTable, coordinate_name
from kinelift.errors import FileFormatError, ShapeError, UnknownNameError, ValueRangeError
from kinelift.skeleton import kinematics
from kinelift.skeleton.jacobian import PointJacobian
from kinelift.skeleton.kinematics import FKResult
from kinelift.skeleton.osim_parser import parse_osim, parse_osim_string
from kinelift.skeleton.spec import ModelSpec
from kinelift.skeleton.tree import KinematicTree

__all__ = ["FKResult", "SkeletalModel"]


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
        if len(self._coord_index) != len(self.coordinate_names):
            raise FileFormatError(spec.source, "coordinate names are not unique")
        self.tree = KinematicTree.from_spec(spec)  # what the forward pass and the Jacobian read
        kinematics.prepare(self.tree)

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
            out = kinematics.forward_kinematics(self.tree, q_columns.T, scales)
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
        return kinematics.apply_couplers(self.tree, q)

    def forward(self, q: torch.Tensor, scales: torch.Tensor | None = None, marker_offsets: torch.Tensor | None = None) -> FKResult:
        """Forward kinematics at ``q``: :func:`kinelift.skeleton.kinematics.forward_kinematics` of ``self.tree``."""
        return kinematics.forward_kinematics(self.tree, q, scales, marker_offsets)

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
        jacobian_of = self.tree.derived("point_jacobian", PointJacobian)
        return jacobian_of(q, points=points, scales=scales, marker_offsets=marker_offsets, jacobian=jacobian)

    def coupler_slopes(self, flat_q: torch.Tensor) -> dict[int, tuple[int, torch.Tensor]]:
        """``{dependent index: (independent index, d dependent / d independent)}`` per coupler, for
        coordinates ``flat_q`` ``(B, n_coordinates)`` (slopes ``(B,)``)."""
        return kinematics.coupler_slopes(self.tree, flat_q)
