"""The kinematic tree of a model as one immutable object of flat arrays.

A :class:`KinematicTree` is built once from a :class:`~kinelift.skeleton.spec.ModelSpec` and holds
everything forward kinematics, the Jacobian and the compiled IK solver read, in arrays that
compiled code takes as they are::

    ground ──joint 0──► pelvis ──joint 1──► femur_r ──joint 2──► tibia_r ...
              │                  │
              │                  └─ X_PF (parent offset, constant) · X_FM(q) · inverse(X_BM)
              └─ per joint, up to six transform axes: three rotations (body-fixed, in order),
                 then three translations (in F); each driven by one coordinate through a
                 function (a piecewise polynomial), or constant

* joints in tree order (a parent's joint before its children's), their parent and child body
  slots (ground is the last slot), and the constant offsets of their parent frame ``F`` and
  child frame ``M`` (rotation ``R`` and a matrix ``P`` with translation ``P @ s`` for body scale
  factors ``s``; ``P @ 1`` unscaled);
* axis slots ``(joints, 6)``: kind (0 none, 1 rotation, 2 translation), unit axis, coordinate
  index (-1: constant), function index (-1: the constant value), and whether a translation
  scales with its parent body (OpenSim's CustomJoint rule, see :mod:`kinelift.skeleton.model`);
* functions as polynomial pieces (:meth:`~kinelift.skeleton.functions.OpenSimFunction.piecewise_polynomial`),
  padded to the highest degree: per piece its lower knot, base and coefficients; and the function
  objects themselves, which torch's forward pass calls (their comparison form fuses under ``torch.compile``);
* couplers (dependent, independent, function, scale factor), in the order they apply;
* points attached to bodies (the model's markers, or any other named points: keypoints,
  landmarks) as body slot plus location in the body frame.

Every kinematics of the model reads this object: torch's forward pass
(:func:`kinelift.skeleton.kinematics.forward_kinematics`, wrapped by
:class:`~kinelift.skeleton.model.SkeletalModel`), the batched Jacobian
(:class:`kinelift.skeleton.jacobian.PointJacobian`) and the compiled kernels
(:mod:`kinelift.skeleton.compiled`); tests check them against each other and OpenSim on every
model in ``../shared``.

Examples
--------
>>> from kinelift.skeleton.osim_parser import MINIMAL_OSIM, parse_osim_string
>>> tree = KinematicTree.from_spec(parse_osim_string(MINIMAL_OSIM))
>>> tree.n_joints, tree.n_coordinates, tree.point_names
(1, 1, ('knee',))
>>> tree.axis_kind[0].tolist()      # one rotation axis, five empty slots
[1, 0, 0, 0, 0, 0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from kinelift.errors import FileFormatError, UnknownNameError
from kinelift.skeleton.functions import OpenSimFunction, PiecewisePolynomial
from kinelift.skeleton.rotations import euler_xyz_to_matrix_np
from kinelift.skeleton.spec import GROUND, FrameRef, ModelSpec, scales_with_parent

_Derived = TypeVar("_Derived")

__all__ = ["KinematicTree", "AXIS_NONE", "AXIS_ROTATION", "AXIS_TRANSLATION", "tree_order"]

AXIS_NONE, AXIS_ROTATION, AXIS_TRANSLATION = 0, 1, 2
_SLOTS = 6


def _offset(ref: FrameRef) -> tuple[np.ndarray, np.ndarray]:
    """A frame's offset from its body: rotation ``R`` and ``P`` with translation ``P @ s`` (each link's
    translation scales with the body's factors: ``sum_k R_<k diag(p_k) s``)."""
    R, P = np.eye(3), np.zeros((3, 3))
    for link in ref.links:
        P = P + R @ np.diag(np.asarray(link.translation, dtype=np.float64))
        R = R @ euler_xyz_to_matrix_np(link.orientation)
    return R, P


def tree_order(spec: ModelSpec) -> list[int]:
    """Indices of ``spec.joints`` with every parent body placed before the joint that hangs on it.

    Raises FileFormatError for a closed loop, a joint that does not connect to ground, or a body
    without a joint to ground."""
    placed, order, remaining = {GROUND}, [], list(range(len(spec.joints)))
    children = [j.child.body for j in spec.joints]
    repeated = sorted({c for c in children if children.count(c) > 1})
    if repeated:
        raise FileFormatError(spec.source, f"bodies {repeated} are the child of more than one joint (closed loop)")
    while remaining:
        ready = [i for i in remaining if spec.joints[i].parent.body in placed]
        if not ready:
            raise FileFormatError(spec.source, f"joints {[spec.joints[i].name for i in remaining]} do not connect to ground")
        for i in ready:
            order.append(i)
            placed.add(spec.joints[i].child.body)
            remaining.remove(i)
    missing = set(spec.bodies) - placed
    if missing:
        raise FileFormatError(spec.source, f"bodies {sorted(missing)} have no joint to ground")
    return order


class _Functions:
    """Functions gathered into one table of polynomial pieces."""

    def __init__(self) -> None:
        self.functions: list[OpenSimFunction] = []
        self.forms: list = []
        self.index: dict[int, int] = {}

    def add(self, f: OpenSimFunction, where: str) -> int:
        if id(f) in self.index:
            return self.index[id(f)]
        form = f.piecewise_polynomial()
        if form is None:
            raise FileFormatError(where, f"function {type(f).__name__} has no polynomial form for the compiled path")
        self.index[id(f)] = len(self.forms)
        self.functions.append(f)
        self.forms.append(form)
        return self.index[id(f)]

    def arrays(self) -> tuple[np.ndarray, ...]:
        degree = max((f.coefficients.shape[1] - 1 for f in self.forms), default=0)
        counts = np.array([len(f.bases) for f in self.forms], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(counts) else np.zeros(0, np.int64)
        total = int(counts.sum())
        lower, base, coef = np.full(total, -np.inf), np.zeros(total), np.zeros((total, degree + 1))
        for f, s, n in zip(self.forms, starts, counts):
            lower[s + 1 : s + n] = f.thresholds
            base[s : s + n] = f.bases
            D = f.coefficients.shape[1] - 1
            coef[s : s + n, degree - D :] = f.coefficients
        return starts, counts, lower, base, coef


@dataclass(frozen=True, eq=False)
class KinematicTree:
    """A model's kinematic tree as flat, read-only arrays (see the module docs for each field)."""

    name: str
    body_names: tuple[str, ...]
    coordinate_names: tuple[str, ...]
    joint_names: tuple[str, ...]
    point_names: tuple[str, ...]
    joint_order: np.ndarray  # (J,) spec index of each tree-ordered joint
    joint_parent: np.ndarray  # (J,) body slot; ground = n_bodies
    joint_child: np.ndarray  # (J,)
    parent_R: np.ndarray  # (J, 3, 3) R_PF
    parent_P: np.ndarray  # (J, 3, 3) translation P_PF @ s_parent
    child_R: np.ndarray  # (J, 3, 3) R_BM
    child_P: np.ndarray  # (J, 3, 3)
    axis_kind: np.ndarray  # (J, 6) int
    axis_unit: np.ndarray  # (J, 6, 3)
    axis_coordinate: np.ndarray  # (J, 6) int, -1 constant
    axis_function: np.ndarray  # (J, 6) int, -1 constant value
    axis_constant: np.ndarray  # (J, 6)
    axis_scaled: np.ndarray  # (J, 6) bool
    function_start: np.ndarray  # (F,)
    function_pieces: np.ndarray  # (F,)
    piece_lower: np.ndarray  # (pieces,) knot that starts each piece (-inf for a function's first)
    piece_base: np.ndarray  # (pieces,)
    piece_coefficients: np.ndarray  # (pieces, degree + 1), highest power first
    coupler_dependent: np.ndarray  # (K,)
    coupler_independent: np.ndarray  # (K,)
    coupler_function: np.ndarray  # (K,)
    coupler_scale: np.ndarray  # (K,)
    point_body: np.ndarray  # (M,) body slot
    point_R: np.ndarray  # (M, 3, 3) offset frame of the point on its body
    point_P: np.ndarray  # (M, 3, 3)
    point_location: np.ndarray  # (M, 3) in the offset frame
    body_joints: np.ndarray  # (n_bodies + 1, J) bool: the tree-ordered joints between a body and ground
    default_coordinates: np.ndarray  # (n_coordinates,)
    functions: tuple[OpenSimFunction, ...]  # (F,) the functions the pieces were read from, for torch's forward pass
    _derived: dict[str, Any] = field(default_factory=dict, repr=False)  # see derived()

    def derived(self, name: str, build: Callable[[KinematicTree], _Derived]) -> _Derived:
        """A form of this tree that another layer derives from it (the torch forward pass's constants,
        the batched Jacobian's tensors): ``build(self)`` on the first call for ``name``, the same object
        after. The tree is immutable, so what is derived from it never goes stale."""
        if name not in self._derived:
            self._derived[name] = build(self)
        return self._derived[name]

    @property
    def n_bodies(self) -> int:
        return len(self.body_names)

    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    @property
    def n_coordinates(self) -> int:
        return len(self.coordinate_names)

    def polynomial(self, function: int) -> PiecewisePolynomial:
        """Function ``function`` (an index of ``axis_function`` or ``coupler_function``) as its polynomial
        pieces, coefficients padded to the tree's highest degree."""
        start, count = int(self.function_start[function]), int(self.function_pieces[function])
        rows = slice(start, start + count)
        return PiecewisePolynomial(self.piece_lower[start + 1 : start + count], self.piece_base[rows], self.piece_coefficients[rows])

    @classmethod
    def from_spec(cls, spec: ModelSpec, points: Sequence | None = None) -> KinematicTree:
        """The tree of ``spec``; ``points`` (``MarkerSpec``-like: ``name``, ``frame``, ``location``)
        default to the model's markers."""
        bodies = tuple(spec.bodies)
        slot = {b: i for i, b in enumerate(bodies)}
        slot[GROUND] = len(bodies)

        def body_slot(body: str) -> int:
            if body not in slot:
                raise UnknownNameError(f"body (in {spec.source})", body, known=bodies)
            return slot[body]

        coords = tuple(c.name for c in spec.coordinates)
        cindex = {n: i for i, n in enumerate(coords)}
        order = tree_order(spec)
        J = len(order)
        functions = _Functions()
        arrays = {k: np.zeros(s) for k, s in (("parent_R", (J, 3, 3)), ("parent_P", (J, 3, 3)), ("child_R", (J, 3, 3)),
                                               ("child_P", (J, 3, 3)), ("axis_unit", (J, _SLOTS, 3)), ("axis_constant", (J, _SLOTS)))}  # fmt: skip
        kind = np.zeros((J, _SLOTS), np.int64)
        coordinate = np.full((J, _SLOTS), -1, np.int64)
        function = np.full((J, _SLOTS), -1, np.int64)
        scaled = np.zeros((J, _SLOTS), bool)
        parent = np.zeros(J, np.int64)
        child = np.zeros(J, np.int64)
        for t, i in enumerate(order):
            joint = spec.joints[i]
            parent[t], child[t] = body_slot(joint.parent.body), body_slot(joint.child.body)
            arrays["parent_R"][t], arrays["parent_P"][t] = _offset(joint.parent)
            arrays["child_R"][t], arrays["child_P"][t] = _offset(joint.child)
            rotations = [a for a in joint.axes if a.kind == "rotation"]
            translations = [a for a in joint.axes if a.kind != "rotation"]
            if len(rotations) > 3 or len(translations) > 3:
                raise FileFormatError(spec.source, f"joint {joint.name!r} has more than three rotation or translation axes")
            for s, axis in [*enumerate(rotations), *((3 + k, a) for k, a in enumerate(translations))]:
                kind[t, s] = AXIS_ROTATION if axis.kind == "rotation" else AXIS_TRANSLATION
                arrays["axis_unit"][t, s] = axis.axis
                where = f"{spec.source}: joint {joint.name}"
                if axis.coordinates:
                    if axis.coordinates[0] not in cindex:
                        raise UnknownNameError(f"coordinate (joint {joint.name} in {spec.source})", axis.coordinates[0], known=coords)
                    coordinate[t, s] = cindex[axis.coordinates[0]]
                    function[t, s] = functions.add(axis.function, where)
                else:
                    value = axis.function.constant_value
                    if value is None:
                        raise FileFormatError(spec.source, f"joint {joint.name!r}: an axis without a coordinate has a non-constant function")
                    arrays["axis_constant"][t, s] = value
                scaled[t, s] = scales_with_parent(joint.type, axis)
        couplers = spec.couplers
        coupler_function = np.array([functions.add(cp.function, f"{spec.source}: coupler {cp.name}") for cp in couplers], np.int64)
        points = spec.markers if points is None else tuple(points)
        M = len(points)
        point_R, point_P, point_location = np.zeros((M, 3, 3)), np.zeros((M, 3, 3)), np.zeros((M, 3))
        for m, p in enumerate(points):
            point_R[m], point_P[m] = _offset(p.frame)
            point_location[m] = p.location
        body_joints = np.zeros((len(bodies) + 1, J), bool)
        joint_of_child = {int(child[t]): t for t in range(J)}
        for b in range(len(bodies)):
            node = b
            while node in joint_of_child:
                t = joint_of_child[node]
                body_joints[b, t] = True
                node = int(parent[t])
        starts, counts, lower, base, coef = functions.arrays()
        tree = cls(
            name=spec.name, body_names=bodies, coordinate_names=coords, joint_names=tuple(spec.joints[i].name for i in order),
            point_names=tuple(p.name for p in points), joint_order=np.asarray(order, np.int64), joint_parent=parent, joint_child=child,
            axis_kind=kind, axis_coordinate=coordinate, axis_function=function, axis_scaled=scaled,
            function_start=starts, function_pieces=counts, piece_lower=lower, piece_base=base, piece_coefficients=coef,
            coupler_dependent=np.array([cindex[cp.dependent] for cp in couplers], np.int64),
            coupler_independent=np.array([cindex[cp.independent[0]] for cp in couplers], np.int64),
            coupler_function=coupler_function, coupler_scale=np.array([cp.scale_factor for cp in couplers], np.float64),
            point_body=np.array([body_slot(p.frame.body) for p in points], np.int64), point_R=point_R, point_P=point_P,
            point_location=point_location, body_joints=body_joints,
            default_coordinates=np.array([c.default_value for c in spec.coordinates], np.float64),
            functions=tuple(functions.functions), **arrays,
        )  # fmt: skip
        for value in tree.__dict__.values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        return tree
