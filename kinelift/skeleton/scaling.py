"""A model with body scale factors built in: the geometry OpenSim's ``Model.scale`` produces.

``scale_spec(spec, factors)`` returns a new :class:`ModelSpec` whose forward kinematics at
any ``q`` equals ``SkeletalModel(spec)(q, scales=factors)``: offset-frame translations and
marker locations scaled by the factors of the body they are fixed to, and CustomJoint
translation functions (other than a coordinate itself) wrapped in a ``MultiplierFunction``
of the parent body's factors weighted by the absolute axis components, as OpenSim does.

Examples
--------
>>> from kinelift.skeleton.osim_parser import parse_osim_string, MINIMAL_OSIM
>>> spec = parse_osim_string(MINIMAL_OSIM)
>>> scaled = scale_spec(spec, {"thigh": (1.0, 1.5, 1.0)})
>>> scaled.markers[0].location.tolist()
[0.0, -0.6000000000000001, 0.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from kinelift.errors import ShapeError, UnknownNameError, ValueRangeError
from kinelift.skeleton import functions as fn
from kinelift.skeleton.spec import GROUND, FrameRef, ModelSpec, scales_with_parent

__all__ = ["scale_spec", "scale_factor_array"]


def scale_factor_array(spec: ModelSpec, factors: Mapping[str, Sequence[float]] | np.ndarray) -> np.ndarray:
    """``(n_bodies, 3)`` factors in ``spec.bodies`` order from ``{body: (sx, sy, sz)}`` (others 1) or an array."""
    if isinstance(factors, Mapping):
        unknown = [b for b in factors if b not in spec.bodies and b != GROUND]
        if unknown:
            raise UnknownNameError(f"body (in {spec.name})", unknown, known=spec.bodies)
        out = np.ones((len(spec.bodies), 3))
        for i, b in enumerate(spec.bodies):
            if b in factors:
                out[i] = np.broadcast_to(np.asarray(factors[b], dtype=np.float64), (3,))
    else:
        out = np.asarray(factors, dtype=np.float64)
        if out.shape != (len(spec.bodies), 3):
            raise ShapeError("factors", expected=f"({len(spec.bodies)}, 3) per body of {spec.name}", got=out.shape)
    if not np.all(np.isfinite(out)) or np.any(out <= 0):
        raise ValueRangeError("scale factors", expected="finite numbers > 0", got=out[~(np.isfinite(out) & (out > 0))][:5].tolist())
    return out


def scale_spec(spec: ModelSpec, factors: Mapping[str, Sequence[float]] | np.ndarray) -> ModelSpec:
    """``spec`` with the body scale ``factors`` applied to its geometry (see the module docs)."""
    s = scale_factor_array(spec, factors)
    by_body = {b: s[i] for i, b in enumerate(spec.bodies)} | {GROUND: np.ones(3)}

    def frame(ref: FrameRef) -> FrameRef:
        k = by_body[ref.body]
        return replace(ref, links=tuple(replace(link, translation=link.translation * k) for link in ref.links))

    joints = []
    for j in spec.joints:
        axes = j.axes
        if j.type == "CustomJoint":
            k = by_body[j.parent.body]
            axes = tuple(
                replace(a, function=fn.MultiplierFunction(a.function, float(np.abs(a.axis) @ k)))
                if scales_with_parent(j.type, a) and float(np.abs(a.axis) @ k) != 1.0
                else a
                for a in j.axes
            )
        joints.append(replace(j, parent=frame(j.parent), child=frame(j.child), axes=axes))
    markers = tuple(replace(m, frame=frame(m.frame), location=m.location * by_body[m.frame.body]) for m in spec.markers)
    return replace(spec, joints=tuple(joints), markers=markers)
