"""DeepMimic motion files (the humanoid3d character): local joint rotations per frame.

A DeepMimic motion file is JSON ``{"Loop": ..., "Frames": [[dt, root_pos(3), root_rot(4),
chest(4), neck(4), right_hip(4), right_knee(1), right_ankle(4), right_shoulder(4),
right_elbow(1), left_hip(4), left_knee(1), left_ankle(4), left_shoulder(4), left_elbow(1)],
...]}``, optionally gzipped. Quaternions are ``(w, x, y, z)``; the root's is global, every other
joint's is local (relative to its parent); knees and elbows are 1-DoF angles in radians about
the joint's z axis (DeepMimic's humanoid: knee flexion negative). Positions are metres, y up,
+x forward and +z to the character's right in the rest pose (OpenSim's axes).

Nothing in the file is executed (``json.loads``).

Examples
--------
>>> import gzip, json, os, tempfile
>>> frame = [1 / 30, 0.0, 0.9, 0.0] + [1.0, 0, 0, 0] * 3 + [1.0, 0, 0, 0, -0.5] + [1.0, 0, 0, 0] * 2 + [0.2] \\
...     + [1.0, 0, 0, 0, -0.4] + [1.0, 0, 0, 0] * 2 + [0.1]
>>> path = os.path.join(tempfile.mkdtemp(), "walk.txt")
>>> _ = open(path, "w").write(json.dumps({"Loop": "none", "Frames": [frame, frame]}))
>>> motion = read_deepmimic_motion(path)
>>> motion.fps, motion.rotations["right_hip"].shape, motion.angles["right_knee"].tolist()
(30.0, (2, 4), [-0.5, -0.5])
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass

import numpy as np

from kinelift.errors import FileFormatError

__all__ = ["DeepMimicMotion", "DEEPMIMIC_LAYOUT", "read_deepmimic_motion"]

DEEPMIMIC_LAYOUT = (
    ("root_position", 3), ("root", 4), ("chest", 4), ("neck", 4), ("right_hip", 4), ("right_knee", 1), ("right_ankle", 4),
    ("right_shoulder", 4), ("right_elbow", 1), ("left_hip", 4), ("left_knee", 1), ("left_ankle", 4), ("left_shoulder", 4),
    ("left_elbow", 1),
)  # fmt: skip
"""The fields of one frame after its duration, in file order, with their widths."""

_WIDTH = 1 + sum(w for _, w in DEEPMIMIC_LAYOUT)


@dataclass(frozen=True, eq=False)
class DeepMimicMotion:
    """One DeepMimic motion: ``fps``; ``root_position`` (T, 3) m; ``rotations`` unit quaternions
    ``(w, x, y, z)`` (T, 4) per spherical joint (``root`` global, others local); ``angles`` (T,)
    rad per revolute joint (knees, elbows)."""

    path: str
    fps: float
    root_position: np.ndarray
    rotations: dict[str, np.ndarray]
    angles: dict[str, np.ndarray]

    @property
    def n_frames(self) -> int:
        return int(self.root_position.shape[0])


def read_deepmimic_motion(path: str | os.PathLike[str]) -> DeepMimicMotion:
    """Read a DeepMimic humanoid motion file (``.txt`` or ``.txt.gz``; see the module docs)."""
    path = os.fspath(path)
    try:
        with (gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")) as f:
            doc = json.load(f)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(path, f"not readable as (gzipped) JSON: {exc}", expected='a DeepMimic motion {"Frames": [[...], ...]}') from None
    frames = doc.get("Frames") if isinstance(doc, dict) else None
    if not isinstance(frames, list) or not frames:
        raise FileFormatError(path, "no 'Frames' list", expected='a DeepMimic motion {"Frames": [[...], ...]}')
    for i, row in enumerate(frames):
        if not isinstance(row, list) or len(row) != _WIDTH or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row):
            raise FileFormatError(path, f"frame {i} is not {_WIDTH} numbers", expected=f"{_WIDTH} numbers per frame (humanoid3d: dt, root, 12 joints)")
    data = np.asarray(frames, dtype=np.float64)
    if not np.isfinite(data).all():
        raise FileFormatError(path, "non-finite values", expected="finite numbers")
    dt = data[:-1, 0] if len(data) > 1 else data[:, 0]  # DeepMimic gives the last frame a duration of 0
    if np.any(dt <= 0):
        raise FileFormatError(path, f"frame durations {sorted(set(np.round(dt, 6)))[:3]} must be > 0", expected="dt > 0 s in column 0")
    fields, c = {}, 1
    for name, width in DEEPMIMIC_LAYOUT:
        fields[name] = data[:, c : c + width]
        c += width
    rotations = {}
    for name, width in DEEPMIMIC_LAYOUT:
        if width != 4:
            continue
        quat = fields[name]
        norm = np.linalg.norm(quat, axis=1)
        if np.any(np.abs(norm - 1) > 1e-2):
            raise FileFormatError(path, f"{name} quaternions of norm {norm.min():.3g}-{norm.max():.3g}", expected="unit quaternions (w, x, y, z)")
        rotations[name] = quat / norm[:, None]
    angles = {name: fields[name][:, 0].copy() for name, width in DEEPMIMIC_LAYOUT if width == 1}
    return DeepMimicMotion(path, float(1.0 / np.median(dt)), fields["root_position"].copy(), rotations, angles)
