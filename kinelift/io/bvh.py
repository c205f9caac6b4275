"""Biovision Hierarchy (``.bvh``) motion capture: read and write, to 3D joint tracks.

A BVH file has a ``HIERARCHY`` of joints (``ROOT``, ``JOINT``, ``End Site``), each with an
``OFFSET`` from its parent and ``CHANNELS`` (``Xposition Yposition Zposition`` and the rotations
``Xrotation Yrotation Zrotation`` in any order), then ``MOTION``: ``Frames:``, ``Frame Time:`` and
one row of channel values per frame (positions in the file's length unit, rotations in degrees).

Conventions (those of the format's common writers: MotionBuilder, CMU's conversions, Blender):

* a joint's rotation channels are applied as **intrinsic rotations in the listed order**:
  ``Zrotation Xrotation Yrotation`` gives ``R = Rz Rx Ry``; a point ``p`` of the joint's frame is
  at ``parent(p) = offset + position + R p`` in its parent's frame;
* the length unit is not in the file: ``units`` must be given (``"m"``, ``"cm"``, ``"mm"`` or
  ``"in"``), and the spread of the joints is checked against a human body
  (:func:`~kinelift.io.plausibility.check_marker_spread`);
* axes are the file's (most are y up); the tracks are in ``"ground"``, metres.

:func:`read_bvh` gives the joints' positions (``End Site`` points named ``<joint>_end``) as
:class:`~kinelift.core.tracks.Tracks`; :func:`read_bvh_motion` the parsed file (:class:`BvhMotion`:
hierarchy and channel values) and :func:`bvh_positions` its forward kinematics; :func:`write_bvh`
writes a :class:`BvhMotion`.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> hip = BvhJoint("hips", -1, (0.0, 90.0, 0.0), ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"))
>>> knee = BvhJoint("knee", 0, (0.0, -45.0, 0.0), ("Zrotation", "Xrotation", "Yrotation"))
>>> foot = BvhJoint("knee_end", 1, (0.0, -45.0, 0.0), ())
>>> values = np.zeros((2, 9))
>>> values[1, 7] = 90.0                                   # knee flexed 90 deg about x in frame 1
>>> motion = BvhMotion((hip, knee, foot), values, frame_time=1 / 30)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "leg.bvh"
>>> write_bvh(motion, path)
>>> tracks = read_bvh(path, units="cm", check_units=False)
>>> tracks.positions[1, 2].round(3).tolist()              # the foot: 45 cm from the knee along -z
[0.0, 0.45, -0.45]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, ValueRangeError
from kinelift.io._atomic import atomic_path
from kinelift.io._common import existing_path, line_index, read_text_lines, reading
from kinelift.io.plausibility import check_marker_spread

__all__ = ["BvhJoint", "BvhMotion", "BVH_UNITS", "read_bvh", "read_bvh_motion", "bvh_positions", "write_bvh"]

BVH_UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254}
"""Length units a BVH file may be in, with their size in metres."""
_CHANNELS = ("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")


@dataclass(frozen=True)
class BvhJoint:
    """One joint of a BVH hierarchy: ``parent`` index (-1 for a root), ``offset`` in the file's unit,
    ``channels`` in file order (none for an ``End Site``)."""

    name: str
    parent: int
    offset: tuple[float, float, float]
    channels: tuple[str, ...]


@dataclass(frozen=True)
class BvhMotion:
    """A parsed BVH file: ``joints`` in file order (parents first) and ``values`` ``(frames, channels)``
    (positions in the file's unit, rotations in degrees, the joints' channels in file order)."""

    joints: tuple[BvhJoint, ...]
    values: np.ndarray
    frame_time: float

    def __post_init__(self) -> None:
        n = sum(len(j.channels) for j in self.joints)
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != n:
            raise ValueRangeError("values", expected=f"(frames, {n}) channel values", got=values.shape)
        if not (np.isfinite(self.frame_time) and self.frame_time > 0):
            raise ValueRangeError("frame_time", expected="a positive number of seconds", got=self.frame_time)
        for i, j in enumerate(self.joints):
            if not -1 <= j.parent < i:
                raise ValueRangeError(f"joint {j.name!r}", expected="a parent listed before it (-1 for a root)", got=j.parent)
            unknown = [c for c in j.channels if c not in _CHANNELS]
            if unknown:
                raise ValueRangeError(f"joint {j.name!r} channels", expected=f"names among {_CHANNELS}", got=unknown)
        object.__setattr__(self, "values", values)


def _tokens(lines: list[str]) -> list[tuple[int, str]]:
    """``(line number, token)`` of the hierarchy, braces as tokens of their own."""
    out = []
    for number, line in enumerate(lines, start=1):
        for token in line.replace("{", " { ").replace("}", " } ").split():
            out.append((number, token))
    return out


def read_bvh_motion(path: str | os.PathLike[str]) -> BvhMotion:
    """Parse a BVH file (see the module docs); :class:`~kinelift.errors.FileFormatError` names the line of any fault."""
    path = existing_path(path)
    lines = read_text_lines(path)
    motion_at = line_index(path, lines, "MOTION", expected="a BVH file: HIERARCHY ... MOTION ...")
    tokens = _tokens(lines[:motion_at])
    if not tokens or tokens[0][1].upper() != "HIERARCHY":
        raise FileFormatError(path, "line 1 is not HIERARCHY", expected="a BVH file")
    joints: list[BvhJoint] = []
    stack: list[int] = []  # indices of the open joints
    pending: dict | None = None
    k = 1

    def take(expected: str | None = None) -> tuple[int, str]:
        nonlocal k
        if k >= len(tokens):
            raise FileFormatError(path, f"hierarchy ends early (line {tokens[-1][0]})", expected=expected or "more of the hierarchy")
        item = tokens[k]
        k += 1
        return item

    def number(where: str) -> float:
        line, token = take(where)
        try:
            return float(token)
        except ValueError:
            raise FileFormatError(path, f"line {line}: {token[:30]!r} is not a number", expected=where) from None

    while k < len(tokens):
        line, token = take()
        word = token.upper()
        if word in ("ROOT", "JOINT"):
            if word == "JOINT" and not stack:
                raise FileFormatError(path, f"line {line}: JOINT outside any ROOT")
            _, name = take("a joint name")
            pending = {"name": name, "parent": stack[-1] if stack else -1, "line": line}
        elif word == "END":
            _, site = take("Site")
            if site.upper() != "SITE" or not stack:
                raise FileFormatError(path, f"line {line}: 'End {site}' where 'End Site' inside a joint was expected")
            pending = {"name": f"{joints[stack[-1]].name}_end", "parent": stack[-1], "line": line, "end": True}
        elif token == "{":
            if pending is None:
                raise FileFormatError(path, f"line {line}: '{{' without a joint before it")
            pending["index"] = len(joints)
            joints.append(BvhJoint(pending["name"], pending["parent"], (0.0, 0.0, 0.0), ()))
            stack.append(pending["index"])
            pending = None
        elif token == "}":
            if not stack:
                raise FileFormatError(path, f"line {line}: '}}' closes nothing")
            stack.pop()
        elif word == "OFFSET":
            if not stack:
                raise FileFormatError(path, f"line {line}: OFFSET outside a joint")
            offset = tuple(number("three OFFSET numbers") for _ in range(3))
            joints[stack[-1]] = BvhJoint(joints[stack[-1]].name, joints[stack[-1]].parent, offset, joints[stack[-1]].channels)
        elif word == "CHANNELS":
            if not stack:
                raise FileFormatError(path, f"line {line}: CHANNELS outside a joint")
            count = number("a channel count")
            if count != int(count) or not 0 <= count <= 6:
                raise FileFormatError(path, f"line {line}: CHANNELS {count:g}", expected="0 to 6 channels")
            names = tuple(take("a channel name")[1] for _ in range(int(count)))
            unknown = [c for c in names if c not in _CHANNELS]
            if unknown:
                raise FileFormatError(path, f"line {line}: unknown channels {unknown}", expected=f"names among {_CHANNELS}")
            j = joints[stack[-1]]
            joints[stack[-1]] = BvhJoint(j.name, j.parent, j.offset, names)
        else:
            raise FileFormatError(path, f"line {line}: unexpected {token[:30]!r} in the hierarchy",
                                  expected="ROOT, JOINT, End Site, OFFSET, CHANNELS or braces")  # fmt: skip
    if stack:
        raise FileFormatError(path, f"the hierarchy leaves {len(stack)} brace(s) open", expected="balanced braces")
    if not joints:
        raise FileFormatError(path, "the hierarchy has no joint")
    header = {}
    row0 = motion_at + 1
    for i in range(motion_at + 1, min(motion_at + 3, len(lines))):
        key, _, value = lines[i].partition(":")
        header[key.strip().lower()] = value.strip()
        row0 = i + 1
    try:
        frames, frame_time = int(header["frames"]), float(header["frame time"])
    except (KeyError, ValueError):
        raise FileFormatError(path, f"lines {motion_at + 2}-{motion_at + 3}: no 'Frames:' and 'Frame Time:'",
                              expected="Frames: <count> and Frame Time: <seconds> after MOTION") from None  # fmt: skip
    n = sum(len(j.channels) for j in joints)
    rows = []
    for number_, line in enumerate(lines[row0:], start=row0 + 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != n:
            raise FileFormatError(path, f"line {number_}: {len(fields)} values", expected=f"{n} (one per channel of the hierarchy)")
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            raise FileFormatError(path, f"line {number_}: a value is not a number") from None
    if len(rows) != frames:
        raise FileFormatError(path, f"'Frames: {frames}' but {len(rows)} rows of values", expected="as many rows as Frames says (a truncated file?)")
    with reading(path):
        return BvhMotion(tuple(joints), np.asarray(rows, dtype=np.float64).reshape(len(rows), n), frame_time)


def _axis_rotations(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Rotations ``(frames, 3, 3)`` about ``X``, ``Y`` or ``Z`` by ``degrees``."""
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    R = np.zeros((len(a), 3, 3))
    i = "XYZ".index(axis)
    j, k = (i + 1) % 3, (i + 2) % 3
    R[:, i, i] = 1.0
    R[:, j, j], R[:, j, k], R[:, k, j], R[:, k, k] = c, -s, s, c
    return R


def bvh_positions(motion: BvhMotion) -> np.ndarray:
    """World positions ``(frames, joints, 3)`` of every joint (in the file's unit) by forward kinematics."""
    T = motion.values.shape[0]
    J = len(motion.joints)
    R_world = np.zeros((T, J, 3, 3))
    p_world = np.zeros((T, J, 3))
    column = 0
    for i, joint in enumerate(motion.joints):
        translation = np.broadcast_to(np.asarray(joint.offset, dtype=np.float64), (T, 3)).copy()
        R = np.broadcast_to(np.eye(3), (T, 3, 3)).copy()
        for channel in joint.channels:
            value = motion.values[:, column]
            column += 1
            if channel.endswith("position"):
                translation[:, "XYZ".index(channel[0])] += value
            else:
                R = R @ _axis_rotations(channel[0], value)
        if joint.parent < 0:
            R_world[:, i], p_world[:, i] = R, translation
        else:
            parent_R = R_world[:, joint.parent]
            p_world[:, i] = p_world[:, joint.parent] + np.einsum("tij,tj->ti", parent_R, translation)
            R_world[:, i] = parent_R @ R
    return p_world


def read_bvh(path: str | os.PathLike[str], *, units: str | None = None, check_units: bool = True) -> Tracks:
    """The joints of a BVH file as 3D tracks in metres (``"ground"`` frame; see the module docs).

    Parameters
    ----------
    path : path-like
    units : {"m", "cm", "mm", "in"}
        The file's length unit (BVH does not state it).
    check_units : bool, default True
        Refuse joint spreads no human body has (a wrong ``units``).
    """
    if units not in BVH_UNITS:
        raise ValueRangeError("units", expected=f"the BVH file's length unit, one of {sorted(BVH_UNITS)} (BVH files do not state it)", got=units)
    motion = read_bvh_motion(path)
    xyz = bvh_positions(motion) * BVH_UNITS[units]
    if check_units:
        check_marker_spread(Path(path), xyz, "units", units)
    names = [j.name for j in motion.joints]
    fps = 1.0 / motion.frame_time
    with reading(Path(path)):
        return Tracks(xyz, keypoints=names, fps=fps, units="m", coordinate_frame="ground",
                      metadata={"source": str(path), "format": "bvh", "file_units": units})  # fmt: skip


def write_bvh(motion: BvhMotion, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Write ``motion`` as a BVH file (atomically); ``End Site`` for joints without channels that end a chain."""
    children = {i: [k for k, j in enumerate(motion.joints) if j.parent == i] for i in range(len(motion.joints))}
    out: list[str] = ["HIERARCHY"]

    def emit(i: int, depth: int) -> None:
        joint, pad = motion.joints[i], "  " * depth
        end_site = not joint.channels and not children[i] and joint.parent >= 0
        out.append(f"{pad}{'End Site' if end_site else ('ROOT ' if joint.parent < 0 else 'JOINT ') + joint.name}")
        out.append(f"{pad}{{")
        out.append(f"{pad}  OFFSET " + " ".join(repr(float(v)) for v in joint.offset))
        if not end_site:
            out.append(f"{pad}  CHANNELS {len(joint.channels)} " + " ".join(joint.channels))
        for child in children[i]:
            emit(child, depth + 1)
        out.append(f"{pad}}}")

    for i, joint in enumerate(motion.joints):
        if joint.parent < 0:
            emit(i, 0)
    out += ["MOTION", f"Frames: {len(motion.values)}", f"Frame Time: {motion.frame_time!r}"]
    out += [" ".join(repr(float(v)) for v in row) for row in motion.values]
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        tmp.write_text("\n".join(out) + "\n", encoding="utf-8")
