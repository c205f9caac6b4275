"""OpenPose per-frame JSON folders (read and write).

OpenPose writes one ``<video>_<frame:012d>_keypoints.json`` per frame, with a
list of ``people``, each holding ``pose_keypoints_2d`` as ``[x, y, c, x, y, c, ...]``
in pixels (BODY-25: 75 numbers; the COCO-18 model: 54). A point with ``c == 0``
is missing (NaN). The frame number comes from the file name, so absent files
leave gaps in time; people are linked across frames by ``person_id`` when
OpenPose tracked them, else by :mod:`kinelift.io.linking`.

JSON carries no timing: pass ``fps`` (``time = frame_number / fps``).

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from kinelift import Tracks
>>> from kinelift.io.openpose import read_openpose, write_openpose
>>> t = Tracks(np.full((3, 25, 2), 5.0), keypoints="BODY-25", fps=30.0)
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "op"
>>> write_openpose([t], folder)
>>> [tr.n_frames for tr in read_openpose(folder, fps=30.0)]
[3]
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kinelift.core.keypoint_sets import KeypointSet, get_keypoint_set
from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, ValueRangeError
from kinelift.io._atomic import atomic_dir
from kinelift.io._common import check_frame_span, existing_path, frame_numbers, float_array, read_json, reading, require_fps
from kinelift.io.linking import detections_to_tracks

__all__ = ["read_openpose", "write_openpose", "OPENPOSE_18"]

OPENPOSE_18 = KeypointSet(
    "OPENPOSE-18",
    ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
     "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye",
     "right_ear", "left_ear"),
    ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
     (1, 0), (0, 14), (14, 16), (0, 15), (15, 17)),
)  # fmt: skip
"""OpenPose's older 18-point COCO model."""

_FRAME = re.compile(r"(\d+)_keypoints\.json$")


def _set_for_length(n_values: int, path: Path) -> KeypointSet:
    if n_values == 75:
        return get_keypoint_set("BODY-25")
    if n_values == 54:
        return OPENPOSE_18
    raise FileFormatError(path, f"pose_keypoints_2d has {n_values} numbers", expected="75 (BODY-25) or 54 (COCO-18 model)")


def read_openpose(
    folder: str | os.PathLike[str], *, fps: float | None = None, max_distance: float = 0.5, max_missing: int = 10
) -> list[Tracks]:
    """Read an OpenPose JSON folder into one :class:`Tracks` per person.

    Parameters
    ----------
    folder : path-like
        Folder of ``*_keypoints.json`` files (a single such file also works).
    fps : float
        Video frame rate (required; OpenPose JSON stores none).
    max_distance, max_missing
        Linking parameters (see :func:`kinelift.io.linking.link_detections`).

    Returns
    -------
    list of Tracks
        2D pixel tracks (``"image"`` frame) spanning the first to the last frame
        number; NaN where a person was not seen. Ordered by person id.
    """
    path = Path(folder)
    if path.is_file():
        files = [path]
    else:
        path = existing_path(folder, kind="dir")
        files = sorted(path.glob("*_keypoints.json"))
        if not files:
            raise FileFormatError(path, "holds no *_keypoints.json files", expected="an OpenPose --write_json folder")
    fps = require_fps(fps, path, "OpenPose JSON")
    numbered = []
    for f in files:
        m = _FRAME.search(f.name)
        if not m:
            raise FileFormatError(f, "file name has no frame number", expected="<name>_<frame number>_keypoints.json")
        numbered.append((int(m.group(1)), f))
    numbered.sort()
    numbers = [n for n, _ in numbered]
    if len(set(numbers)) != len(numbers):
        raise FileFormatError(path, "two files have the same frame number")
    first, last = numbers[0], numbers[-1]
    n_frames = check_frame_span(path, first, last, len(numbers))
    frames: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n_frames)]
    ids: list[list[int | None]] = [[] for _ in range(n_frames)]
    keypoint_set: KeypointSet | None = None
    for number, f in numbered:
        doc = read_json(f)
        people = doc.get("people") if isinstance(doc, dict) else None
        if not isinstance(people, list):
            raise FileFormatError(f, "no 'people' list", expected='{"people": [{"pose_keypoints_2d": [...]}]}')
        for i, person in enumerate(people):
            if not isinstance(person, dict) or "pose_keypoints_2d" not in person:
                raise FileFormatError(f, f"people[{i}] has no 'pose_keypoints_2d'")
            flat = float_array(person["pose_keypoints_2d"], f, f"people[{i}].pose_keypoints_2d")
            if flat.ndim != 1:
                raise FileFormatError(f, f"people[{i}].pose_keypoints_2d is not a flat list")
            ks = _set_for_length(flat.size, f)
            if keypoint_set is None:
                keypoint_set = ks
            elif ks is not keypoint_set:
                raise FileFormatError(f, f"people[{i}] uses {ks.name}, earlier files {keypoint_set.name}")
            xyc = flat.reshape(-1, 3)
            conf = xyc[:, 2]
            if not np.all(np.isfinite(conf)) or np.any((conf < 0) | (conf > 1)):
                raise FileFormatError(f, f"people[{i}]: confidences outside [0, 1]")
            pos = np.where((conf > 0)[:, None], xyc[:, :2], np.nan)
            frames[number - first].append((pos, conf.copy()))
            pid = person.get("person_id", [-1])
            pid = pid[0] if isinstance(pid, list) and pid else pid
            ids[number - first].append(int(pid) if isinstance(pid, (int, float)) and pid >= 0 else None)
    if keypoint_set is None:
        raise FileFormatError(path, "no person in any frame")
    time = (first + np.arange(n_frames)) / fps
    people = detections_to_tracks(
        frames, ids, time=time, n_keypoints=len(keypoint_set), n_dims=2, max_distance=max_distance, max_missing=max_missing
    )
    with reading(path):
        return [
            Tracks(pos, keypoints=keypoint_set, confidence=conf, time=time, fps=fps, person_id=pid,
                   metadata={"source": str(path), "format": "openpose", "first_frame": first})
            for pid, pos, conf in people
        ]  # fmt: skip


def write_openpose(
    tracks: Sequence[Tracks], folder: str | os.PathLike[str], *, name: str = "video", overwrite: bool = False
) -> None:
    """Write 2D pixel tracks (BODY-25 or OPENPOSE-18) as an OpenPose JSON folder.

    Frame numbers are ``round(time * fps)``; every frame from the first to the last
    gets a file. Missing points are written as ``0, 0, 0`` (OpenPose's convention),
    and ``person_id`` is each track's id. The folder is written atomically.
    """
    tracks = list(tracks)
    if not tracks:
        raise ValueRangeError("tracks", expected="at least one Tracks", got=[])
    for t in tracks:
        if t.n_dims != 2 or t.keypoint_set.name not in ("BODY-25", "OPENPOSE-18"):
            raise ValueRangeError(
                "tracks", expected="2D BODY-25 or OPENPOSE-18 tracks (convert first)", got=f"{t.n_dims}D {t.keypoint_set.name}"
            )
    numbers = [frame_numbers(t) for t in tracks]
    lo = min(int(n.min()) for n in numbers)
    hi = max(int(n.max()) for n in numbers)
    people_by_frame: dict[int, list[dict]] = {f: [] for f in range(lo, hi + 1)}
    for t, nums in zip(tracks, numbers):
        valid = t.valid
        for i, f in enumerate(nums):
            if not valid[i].any():
                continue
            xyc = np.concatenate([np.nan_to_num(t.positions[i]), np.where(valid[i], t.confidence[i], 0.0)[:, None]], axis=1)
            people_by_frame[int(f)].append({"person_id": [t.person_id if isinstance(t.person_id, int) else -1],
                                            "pose_keypoints_2d": [float(v) for v in xyc.ravel()]})  # fmt: skip
    with atomic_dir(folder, overwrite=overwrite) as tmp:
        for f, people in people_by_frame.items():
            (tmp / f"{name}_{f:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))
