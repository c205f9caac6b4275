"""Plain descriptions of a skeletal model (no torch): what the ``.osim`` parser produces.

Frames follow OpenSim: an offset frame is a translation and a body-fixed X-Y-Z Euler
orientation relative to its parent frame; every joint moves its child frame ``M``
relative to its parent frame ``F``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kinelift.skeleton.functions import OpenSimFunction

__all__ = ["CoordinateSpec", "CouplerSpec", "FrameRef", "JointSpec", "MarkerSpec", "ModelSpec", "OffsetLink", "TransformAxisSpec", "GROUND", "scales_with_parent"]

GROUND = "ground"


@dataclass(frozen=True)
class OffsetLink:
    """One fixed offset: ``translation`` (m) and body-fixed X-Y-Z Euler ``orientation`` (rad)."""

    translation: np.ndarray
    orientation: np.ndarray


@dataclass(frozen=True)
class FrameRef:
    """A frame fixed on ``body`` (or ground) through a chain of offsets (empty: the body frame itself)."""

    body: str
    links: tuple[OffsetLink, ...] = ()


@dataclass(frozen=True)
class TransformAxisSpec:
    """One axis of a joint's motion: a rotation about, or translation along, ``axis`` (unit, in F)."""

    kind: str  # "rotation" or "translation"
    axis: np.ndarray
    coordinates: tuple[str, ...]
    function: OpenSimFunction


def scales_with_parent(joint_type: str, axis: TransformAxisSpec) -> bool:
    """Whether OpenSim scales this axis's value with the parent body's scale factors.

    OpenSim scales the translation axes of a ``CustomJoint`` whose function is not the identity
    (a knee's translation splines) by ``sum_k |axis_k| s_k`` of the parent body; rotations and
    plain coordinate translations are not scaled. The one statement of the rule: forward
    kinematics, its Jacobian, the kinematic tree and ``scale_spec`` read it here.
    """
    return joint_type == "CustomJoint" and axis.kind != "rotation" and not axis.function.is_identity


@dataclass(frozen=True)
class CoordinateSpec:
    """A generalised coordinate (rad or m)."""

    name: str
    joint: str
    motion_type: str  # "rotational", "translational" or "coupled"
    default_value: float = 0.0
    range: tuple[float, float] = (-np.inf, np.inf)
    clamped: bool = False
    locked: bool = False


@dataclass(frozen=True)
class JointSpec:
    """A joint: ``X_parent_child = X_parent_F * X_FM(q) * inverse(X_child_M)``."""

    name: str
    type: str
    parent: FrameRef
    child: FrameRef
    coordinates: tuple[str, ...]
    axes: tuple[TransformAxisSpec, ...]


@dataclass(frozen=True)
class CouplerSpec:
    """``dependent = scale_factor * function(independent)`` (OpenSim's CoordinateCouplerConstraint)."""

    name: str
    dependent: str
    independent: tuple[str, ...]
    function: OpenSimFunction
    scale_factor: float = 1.0


@dataclass(frozen=True)
class MarkerSpec:
    """A marker at ``location`` (m) in ``frame``; ``fixed`` markers stay put in marker placement."""

    name: str
    frame: FrameRef
    location: np.ndarray
    fixed: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """Everything forward kinematics needs, in file order."""

    name: str
    bodies: tuple[str, ...]
    joints: tuple[JointSpec, ...]
    coordinates: tuple[CoordinateSpec, ...]
    couplers: tuple[CouplerSpec, ...] = ()
    markers: tuple[MarkerSpec, ...] = ()
    source: str = "<model>"
    metadata: dict = field(default_factory=dict)
