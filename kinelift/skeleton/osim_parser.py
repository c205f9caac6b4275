"""Reading OpenSim ``.osim`` model files (4.x layout, and the 2.x/3.x joint-inside-body layout).

Only what forward kinematics needs is read: bodies, joints with their offset frames and
coordinates, coordinate coupler constraints, and markers. Muscles, geometry and
inertia are ignored. Anything that would change the kinematics but is not supported
(another joint or constraint type, a multi-argument function) raises
:class:`~kinelift.errors.UnsupportedModelFeatureError` naming it, instead of giving a
wrong answer.

Examples
--------
>>> from kinelift.skeleton.osim_parser import parse_osim_string
>>> spec = parse_osim_string(MINIMAL_OSIM)
>>> [j.name for j in spec.joints], [c.name for c in spec.coordinates]
(['ground_thigh'], ['hip_flexion'])
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from kinelift.errors import FileFormatError, UnsupportedModelFeatureError, ValueRangeError
from kinelift.skeleton import functions as fn
from kinelift.skeleton.spec import (
    GROUND, CoordinateSpec, CouplerSpec, FrameRef, JointSpec, MarkerSpec, ModelSpec, OffsetLink, TransformAxisSpec,
)  # fmt: skip

__all__ = ["parse_osim", "parse_osim_string", "read_marker_set", "MINIMAL_OSIM"]

MINIMAL_OSIM = """<?xml version="1.0" encoding="UTF-8" ?>
<OpenSimDocument Version="40000">
  <Model name="minimal">
    <BodySet><objects><Body name="thigh"/></objects></BodySet>
    <JointSet><objects>
      <PinJoint name="ground_thigh">
        <socket_parent_frame>/ground</socket_parent_frame>
        <socket_child_frame>/bodyset/thigh</socket_child_frame>
        <coordinates><Coordinate name="hip_flexion"><range>-1 2</range></Coordinate></coordinates>
      </PinJoint>
    </objects></JointSet>
    <MarkerSet><objects>
      <Marker name="knee"><socket_parent_frame>/bodyset/thigh</socket_parent_frame><location>0 -0.4 0</location></Marker>
    </objects></MarkerSet>
  </Model>
</OpenSimDocument>"""

_SIMPLE_JOINTS: dict[str, list[tuple[str, tuple[float, float, float]]]] = {
    "PinJoint": [("rotation", (0, 0, 1))],
    "SliderJoint": [("translation", (1, 0, 0))],
    "WeldJoint": [],
    "UniversalJoint": [("rotation", (1, 0, 0)), ("rotation", (0, 1, 0))],
    "GimbalJoint": [("rotation", (1, 0, 0)), ("rotation", (0, 1, 0)), ("rotation", (0, 0, 1))],
    "BallJoint": [("rotation", (1, 0, 0)), ("rotation", (0, 1, 0)), ("rotation", (0, 0, 1))],
    "PlanarJoint": [("rotation", (0, 0, 1)), ("translation", (1, 0, 0)), ("translation", (0, 1, 0))],
    "FreeJoint": [
        ("rotation", (1, 0, 0)), ("rotation", (0, 1, 0)), ("rotation", (0, 0, 1)),
        ("translation", (1, 0, 0)), ("translation", (0, 1, 0)), ("translation", (0, 0, 1)),
    ],
}  # fmt: skip
JOINT_TYPES = tuple(_SIMPLE_JOINTS) + ("CustomJoint",)


class _Parser:
    def __init__(self, root: ET.Element, source: str) -> None:
        self.source = source
        if root.tag != "OpenSimDocument":
            raise FileFormatError(source, f"root element is <{root.tag}>", expected="<OpenSimDocument>")
        self.version = int(root.get("Version", "40000") or 40000)
        model = root.find("Model")
        if model is None:
            raise FileFormatError(source, "no <Model> element")
        self.model = model
        self.frames: dict[str, FrameRef] = {}

    # ------------------------------------------------------------ primitives
    def unsupported(self, what: str) -> UnsupportedModelFeatureError:
        return UnsupportedModelFeatureError(self.source, what)

    def vec(self, elem: ET.Element | None, tag: str, n: int = 3, default: float = 0.0) -> np.ndarray:
        child = None if elem is None else elem.find(tag)
        if child is None or not (child.text or "").strip():
            return np.full(n, default)
        try:
            values = np.array([float(v) for v in child.text.split()])
        except ValueError:
            raise FileFormatError(self.source, f"<{tag}> holds {child.text.strip()[:40]!r}", expected=f"{n} numbers") from None
        if values.size != n:
            raise FileFormatError(self.source, f"<{tag}> holds {values.size} numbers", expected=str(n))
        return values

    def text(self, elem: ET.Element | None, tag: str, default: str = "") -> str:
        child = None if elem is None else elem.find(tag)
        return default if child is None or child.text is None else child.text.strip()

    def flag(self, elem: ET.Element, tag: str, default: bool = False) -> bool:
        value = self.text(elem, tag, "").lower()
        return default if not value else value in ("true", "1")

    def function(self, owner: ET.Element, prop: str, where: str) -> fn.OpenSimFunction:
        """The function property ``prop`` of ``owner``: 3.x wraps it (``<function><SimmSpline>``),
        4.x names it (``<SimmSpline name="function">``). A missing function is a zero constant."""
        wrapper = owner.find(prop)
        if wrapper is not None:
            kids = [k for k in wrapper if isinstance(k.tag, str)]
            return self.function_element(kids[0], where) if kids else fn.Constant(0.0)
        for k in owner:
            if isinstance(k.tag, str) and k.get("name") == prop and k.tag not in ("coordinates", "axis"):
                return self.function_element(k, where)
        return fn.Constant(0.0)

    def function_element(self, f: ET.Element, where: str) -> fn.OpenSimFunction:
        try:
            return self._function_element(f, where)
        except ValueRangeError as exc:  # knots, coefficients: name the file and the place
            raise FileFormatError(self.source, f"<{f.tag}> ({where}): {exc}") from exc

    def _function_element(self, f: ET.Element, where: str) -> fn.OpenSimFunction:
        tag = f.tag
        if tag == "Constant":
            return fn.Constant(float(self.text(f, "value", "0") or 0))
        if tag == "LinearFunction":
            c = self.vec(f, "coefficients", 2)
            return fn.LinearFunction(c[0], c[1])
        if tag in ("SimmSpline", "NaturalCubicSpline", "PiecewiseLinearFunction"):
            x, y = self.numbers(f, "x"), self.numbers(f, "y")
            cls = {"SimmSpline": fn.SimmSpline, "NaturalCubicSpline": fn.NaturalCubicSpline, "PiecewiseLinearFunction": fn.PiecewiseLinearFunction}[tag]
            return cls(x, y)
        if tag == "GCVSpline":
            half_order = self.text(f, "half_order", "3") or "3"
            try:
                order = int(half_order)
            except ValueError as exc:
                raise FileFormatError(self.source, f"GCVSpline half_order {half_order!r} ({where})", expected="an integer") from exc
            return fn.GCVSpline(self.numbers(f, "x"), self.numbers(f, "y"), order)
        if tag == "PolynomialFunction":
            return fn.PolynomialFunction(self.numbers(f, "coefficients"))
        if tag == "MultiplierFunction":
            inner = self.function(f, "function", where)
            return fn.MultiplierFunction(inner, float(self.text(f, "scale", "1") or 1))
        raise self.unsupported(f"function <{tag}> ({where})")

    def numbers(self, elem: ET.Element, tag: str) -> list[float]:
        try:
            return [float(v) for v in self.text(elem, tag).split()]
        except ValueError:
            raise FileFormatError(self.source, f"<{tag}> of <{elem.tag}> is not a list of numbers") from None

    def coordinate(self, c: ET.Element, joint: str, motion_type: str) -> CoordinateSpec:
        lo_hi = self.vec(c, "range", 2, default=np.nan)
        rng = (-np.inf, np.inf) if np.isnan(lo_hi).any() else (float(lo_hi[0]), float(lo_hi[1]))
        return CoordinateSpec(
            name=c.get("name", ""), joint=joint, motion_type=self.text(c, "motion_type", motion_type) or motion_type,
            default_value=float(self.text(c, "default_value", "0") or 0), range=rng,
            clamped=self.flag(c, "clamped"), locked=self.flag(c, "locked"),
        )  # fmt: skip

    # ------------------------------------------------------------- joints
    def axes(self, joint: ET.Element, jtype: str, coords: list[str]) -> tuple[TransformAxisSpec, ...]:
        name = joint.get("name", "")
        if jtype in _SIMPLE_JOINTS:
            layout = _SIMPLE_JOINTS[jtype]
            if len(coords) != len(layout):
                raise FileFormatError(self.source, f"{jtype} {name!r} has {len(coords)} coordinates", expected=str(len(layout)))
            return tuple(
                TransformAxisSpec(kind, np.array(axis, dtype=float), (c,), fn.LinearFunction(1.0, 0.0)) for (kind, axis), c in zip(layout, coords)
            )
        st = joint.find("SpatialTransform")
        if st is None:
            raise FileFormatError(self.source, f"CustomJoint {name!r} has no <SpatialTransform>")
        out = []
        for ta in st.findall("TransformAxis"):
            axis_name = ta.get("name", "")
            kind = "rotation" if axis_name.startswith("rotation") else "translation"
            axis = self.vec(ta, "axis")
            norm = np.linalg.norm(axis)
            if norm == 0:
                raise FileFormatError(self.source, f"{name}/{axis_name}: zero axis")
            names = tuple(self.text(ta, "coordinates").split())
            func = self.function(ta, "function", f"{name}/{axis_name}")
            if len(names) > 1:
                raise self.unsupported(f"{name}/{axis_name}: a function of {len(names)} coordinates")
            if not names and func.constant_value is None:
                raise FileFormatError(self.source, f"{name}/{axis_name}: a non-constant function of no coordinate")
            out.append(TransformAxisSpec(kind, axis / norm, names, func))
        kinds = [a.kind for a in out]
        if kinds != ["rotation"] * kinds.count("rotation") + ["translation"] * kinds.count("translation"):
            raise FileFormatError(self.source, f"CustomJoint {name!r}: rotation axes must precede translation axes")
        return tuple(out)

    def offset(self, elem: ET.Element, tag_t: str = "translation", tag_o: str = "orientation") -> OffsetLink:
        return OffsetLink(self.vec(elem, tag_t), self.vec(elem, tag_o))

    # ------------------------------------------------------ 4.x layout
    def register_frames_4x(self) -> None:
        self.frames["/ground"] = FrameRef(GROUND)
        self.frames[GROUND] = FrameRef(GROUND)
        for body in self.model.findall("BodySet/objects/Body"):
            ref = FrameRef(body.get("name", ""))
            self.frames[f"/bodyset/{ref.body}"] = ref
            self.frames[ref.body] = ref
        pending: dict[str, tuple[str, ET.Element]] = {}
        for joint in self.model.findall("JointSet/objects/*"):
            for frame in joint.findall("frames/PhysicalOffsetFrame"):
                pending[f"/jointset/{joint.get('name')}/{frame.get('name')}"] = (f"/jointset/{joint.get('name')}", frame)
        for owner_path, holder in (("/bodyset", "BodySet/objects/Body"), ("", "components")):
            for owner in self.model.findall(holder):
                base = f"{owner_path}/{owner.get('name')}" if owner_path else ""
                for frame in owner.findall("components/PhysicalOffsetFrame" if owner_path else "PhysicalOffsetFrame"):
                    pending[f"{base}/{frame.get('name')}"] = (base, frame)
        for _ in range(len(pending) + 1):
            progressed = False
            for path, (owner, frame) in list(pending.items()):
                parent = self.resolve(self.text(frame, "socket_parent"), owner, required=False)
                if parent is not None:
                    self.frames[path] = FrameRef(parent.body, parent.links + (self.offset(frame),))
                    del pending[path]
                    progressed = True
            if not progressed:
                break
        if pending:
            raise FileFormatError(self.source, f"offset frames with unresolvable parents: {sorted(pending)[:5]}")

    def resolve(self, path: str, owner: str, *, required: bool = True) -> FrameRef | None:
        candidates = [path] if path.startswith("/") else [f"{owner}/{path}", path, f"/bodyset/{path}"]
        if path.startswith(".."):
            parts = (owner + "/" + path).split("/")
            stack: list[str] = []
            for p in parts:
                if p == "..":
                    stack.pop() if stack else None
                elif p:
                    stack.append(p)
            candidates = ["/" + "/".join(stack)]
        for c in candidates:
            if c in self.frames:
                return self.frames[c]
        if required:
            raise FileFormatError(self.source, f"frame {path!r} (from {owner or '/'}) not found", expected="a body, ground or offset frame path")
        return None

    def parse_4x(self) -> ModelSpec:
        self.register_frames_4x()
        bodies = tuple(b.get("name", "") for b in self.model.findall("BodySet/objects/Body"))
        joints, coordinates = [], []
        for joint in self.model.findall("JointSet/objects/*"):
            jtype, name = joint.tag, joint.get("name", "")
            if jtype not in JOINT_TYPES:
                raise self.unsupported(f"{jtype} {name!r}")
            owner = f"/jointset/{name}"
            parent = self.resolve(self.text(joint, "socket_parent_frame"), owner)
            child = self.resolve(self.text(joint, "socket_child_frame"), owner)
            coord_elems = joint.findall("coordinates/Coordinate")
            coords = [c.get("name", "") for c in coord_elems]
            axes = self.axes(joint, jtype, coords)
            joints.append(JointSpec(name, jtype, parent, child, tuple(coords), axes))
            coordinates += [self.coordinate(c, name, _motion_type(c.get("name", ""), axes)) for c in coord_elems]
        markers = [
            MarkerSpec(
                m.get("name", ""), self.resolve(self.text(m, "socket_parent_frame"), f"/markerset/{m.get('name')}"),
                self.vec(m, "location"), self.flag(m, "fixed"),
            )
            for m in self.model.findall("MarkerSet/objects/Marker")
        ]
        return self.finish(bodies, joints, coordinates, markers)

    # ------------------------------------------------- 2.x / 3.x layout
    def parse_3x(self) -> ModelSpec:
        bodies, joints, coordinates = [], [], []
        for body in self.model.findall("BodySet/objects/Body"):
            bname = body.get("name", "")
            if bname != GROUND:
                bodies.append(bname)
            holder = body.find("Joint")
            kids = [] if holder is None else [k for k in holder if isinstance(k.tag, str)]
            if not kids:
                continue
            joint = kids[0]
            jtype, name = joint.tag, joint.get("name", "")
            if jtype not in JOINT_TYPES:
                raise self.unsupported(f"{jtype} {name!r}")
            if self.flag(joint, "reverse"):
                raise self.unsupported(f"reversed joint {name!r}")
            parent_body = self.text(joint, "parent_body")
            parent = FrameRef(parent_body, (self.offset(joint, "location_in_parent", "orientation_in_parent"),))
            child = FrameRef(bname, (self.offset(joint, "location", "orientation"),))
            coord_elems = joint.findall("CoordinateSet/objects/Coordinate")
            coords = [c.get("name", "") for c in coord_elems]
            axes = self.axes(joint, jtype, coords)
            joints.append(JointSpec(name, jtype, parent, child, tuple(coords), axes))
            coordinates += [self.coordinate(c, name, _motion_type(c.get("name", ""), axes)) for c in coord_elems]
        markers = self.body_markers(self.model.findall("MarkerSet/objects/Marker"), set(bodies) | {GROUND})
        return self.finish(tuple(bodies), joints, coordinates, markers)

    def body_markers(self, elements: list[ET.Element], known: set[str]) -> list[MarkerSpec]:
        """Markers on bodies named by ``<body>`` (2.x/3.x) or a ``socket_parent_frame`` path ending in a body."""
        markers = []
        for m in elements:
            body = self.text(m, "body") or self.text(m, "socket_parent_frame").split("/")[-1]
            if body not in known:
                raise FileFormatError(self.source, f"marker {m.get('name')!r} is on unknown body {body!r}", expected=f"one of {sorted(known)}")
            markers.append(MarkerSpec(m.get("name", ""), FrameRef(body), self.vec(m, "location"), self.flag(m, "fixed")))
        return markers

    # ------------------------------------------------------------ common
    def constraints(self) -> list[CouplerSpec]:
        couplers = []
        for c in self.model.findall("ConstraintSet/objects/*"):
            name = c.get("name", "")
            enforced = self.flag(c, "isEnforced", True) and not self.flag(c, "isDisabled", False)
            if not enforced:
                continue
            if c.tag != "CoordinateCouplerConstraint":
                raise self.unsupported(f"enforced {c.tag} {name!r} (closed kinematic loop)")
            independent = tuple(self.text(c, "independent_coordinate_names").split())
            if len(independent) != 1:
                raise self.unsupported(f"CoordinateCouplerConstraint {name!r} with {len(independent)} independent coordinates")
            couplers.append(CouplerSpec(
                name, self.text(c, "dependent_coordinate_name"), independent,
                self.function(c, "coupled_coordinates_function", name), float(self.text(c, "scale_factor", "1") or 1),
            ))  # fmt: skip
        return couplers

    def finish(self, bodies, joints, coordinates, markers) -> ModelSpec:
        couplers = self.constraints()
        names = [c.name for c in coordinates]
        for cp in couplers:
            for n in (cp.dependent, *cp.independent):
                if n not in names:
                    raise FileFormatError(self.source, f"constraint {cp.name!r} names unknown coordinate {n!r}")
        dependent = {cp.dependent for cp in couplers}
        coordinates = [
            CoordinateSpec(c.name, c.joint, c.motion_type if c.name not in dependent else "coupled", c.default_value, c.range, c.clamped, c.locked)
            for c in coordinates
        ]  # fmt: skip
        return ModelSpec(
            name=self.model.get("name", "model"), bodies=tuple(bodies), joints=tuple(joints), coordinates=tuple(coordinates),
            couplers=tuple(couplers), markers=tuple(markers), source=self.source, metadata={"version": self.version},
        )  # fmt: skip

    def parse(self) -> ModelSpec:
        if self.model.find("JointSet") is not None or self.version >= 40000:
            return self.parse_4x()
        return self.parse_3x()


def _motion_type(coordinate: str, axes: tuple[TransformAxisSpec, ...]) -> str:
    kinds = {a.kind for a in axes if coordinate in a.coordinates}
    return "rotational" if "rotation" in kinds else "translational" if kinds else "rotational"


def parse_osim_string(text: str, *, source: str = "<string>") -> ModelSpec:
    """Parse ``.osim`` XML text (see :func:`parse_osim`)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as err:
        raise FileFormatError(source, f"invalid XML: {err}") from None
    return _Parser(root, source).parse()


def parse_osim(path: str | os.PathLike[str]) -> ModelSpec:
    """Parse an OpenSim model file into a :class:`~kinelift.skeleton.spec.ModelSpec`.

    Raises
    ------
    FileFormatError
        If the XML is malformed or references are broken.
    UnsupportedModelFeatureError
        If the model uses a joint type, constraint or function kinelift does not support.
    """
    p = Path(path)
    if not p.is_file():
        raise FileFormatError(p, "no such file")
    try:
        root = ET.parse(p).getroot()
    except ET.ParseError as err:
        raise FileFormatError(p, f"invalid XML: {err}") from None
    return _Parser(root, str(p)).parse()


def read_marker_set(path: str | os.PathLike[str], spec: ModelSpec) -> tuple[MarkerSpec, ...]:
    """Markers of an OpenSim marker-set file (``<MarkerSet>``, 2.x-4.x) placed on the bodies of ``spec``."""
    source = str(path)
    try:
        top = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise FileFormatError(source, f"cannot be read as XML ({exc})", expected="an OpenSim <MarkerSet> file") from None
    marker_set = top if top.tag == "MarkerSet" else top.find("MarkerSet")
    if marker_set is None:
        raise FileFormatError(source, f"no <MarkerSet> (root is <{top.tag}>)", expected="an OpenSim marker-set file")
    parser = _Parser.__new__(_Parser)
    parser.source = source
    return tuple(parser.body_markers(marker_set.findall("objects/Marker"), set(spec.bodies) | {GROUND}))
