"""OpenPose per-frame JSON folders (read and write).

OpenPose writes one ``<video>_<frame:012d>_keypoints.json`` per frame, with a
list of ``people``, each holding ``pose_keypoints_2d`` as ``[x, y, c, x, y, c, ...]``
in pixels (75 numbers: BODY-25, or the experimental BODY_25B that Pose2Sim uses; the
COCO-18 model: 54). A point with ``c == 0`` is missing (NaN). The frame number is
the last number in each file's name, whatever the naming (``video_000000000012_keypoints.json``,
Pose2Sim's ``cam01.0012.json``), so absent files leave gaps in time; people are
linked across frames by ``person_id`` when OpenPose tracked them, else by
:mod:`kinelift.io.linking`.

75 numbers do not say which 25-point layout made them. Without ``keypoint_set`` the
data decide (:func:`~kinelift.core.layout_check.check_layout`): BODY-25 unless the
points fit BODY-25B clearly better. A ``keypoint_set`` that is given is checked the same
way, and refused (:class:`~kinelift.errors.KeypointLayoutError`) when the points fit
another layout clearly better.

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
from kinelift.core.layout_check import check_layout
from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, ValueRangeError
from kinelift.io._atomic import atomic_dir
from kinelift.io._common import check_frame_span, existing_path, float_array, frame_numbers, read_json, reading, require_fps
from kinelift.io.linking import detections_to_tracks

__all__ = ["read_openpose", "write_openpose", "frame_files", "OPENPOSE_18"]

OPENPOSE_18 = KeypointSet(
    "OPENPOSE-18",
    ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
     "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye",
     "right_ear", "left_ear"),
    ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
     (1, 0), (0, 14), (14, 16), (0, 15), (15, 17)),
)  # fmt: skip
"""OpenPose's older 18-point COCO model."""

_FRAME = re.compile(r"^(.*?)(\d+)\D*$")
_LAYOUTS_BY_LENGTH = {75: ("BODY-25", "BODY-25B"), 54: ("OPENPOSE-18",)}


def _layouts(n_values: int, path: Path) -> tuple[str, ...]:
    if n_values not in _LAYOUTS_BY_LENGTH:
        raise FileFormatError(path, f"pose_keypoints_2d has {n_values} numbers", expected="75 (BODY-25, BODY-25B) or 54 (COCO-18 model)")
    return _LAYOUTS_BY_LENGTH[n_values]


def _keypoint_set(name: str) -> KeypointSet:
    return OPENPOSE_18 if name == OPENPOSE_18.name else get_keypoint_set(name)


def frame_files(folder: Path) -> list[tuple[int, Path]]:
    """``(frame number, file)`` of a folder of per-frame JSON files, in frame order.

    The frame number is the last number in the name (``_keypoints`` and ``.json`` aside). Files
    of several recordings (names that differ by more than the number) are refused.
    """
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".json")
    if not files:
        raise FileFormatError(folder, "holds no .json files", expected="an OpenPose --write_json folder (one <name>_<frame>_keypoints.json per frame)")
    numbered, prefixes = [], set()
    for f in files:
        stem = f.name[: -len(".json")]
        stem = stem[: -len("_keypoints")] if stem.endswith("_keypoints") else stem
        m = _FRAME.match(stem)
        if not m:
            raise FileFormatError(f, "file name has no frame number", expected="a frame number in each name (<name>_<frame>_keypoints.json)")
        prefixes.add(m.group(1))
        numbered.append((int(m.group(2)), f))
    if len(prefixes) > 1:
        shown = sorted(prefixes)[:4]
        raise FileFormatError(folder, f"holds the frames of {len(prefixes)} recordings (names starting {shown})",
                              expected="one folder per recording")  # fmt: skip
    numbered.sort()
    return numbered


def read_openpose(
    folder: str | os.PathLike[str], *, fps: float | None = None, keypoint_set: str | None = None, max_distance: float = 0.5,
    max_missing: int = 10,
) -> list[Tracks]:  # fmt: skip
    """Read an OpenPose JSON folder into one :class:`Tracks` per person.

    Parameters
    ----------
    folder : path-like
        Folder of per-frame JSON files (a single such file also works).
    fps : float
        Video frame rate (required; OpenPose JSON stores none).
    keypoint_set : str, optional
        The layout that made the points: ``"BODY-25"``, ``"BODY-25B"`` or ``"OPENPOSE-18"``.
        Default: from the number of values, and for 75 from the data (see the module docs).
    max_distance, max_missing
        Linking parameters (see :func:`kinelift.io.linking.link_detections`).

    Returns
    -------
    list of Tracks
        2D pixel tracks (``"image"`` frame) spanning the first to the last frame
        number; NaN where a person was not seen. Ordered by person id.

    Raises
    ------
    KeypointLayoutError
        When ``keypoint_set`` is given and the points fit another layout clearly better.
    """
    path = Path(folder)
    if path.is_file():
        numbered = [(0, path)]
    else:
        path = existing_path(folder, kind="dir")
        numbered = frame_files(path)
    fps = require_fps(fps, path, "OpenPose JSON")
    numbers = [n for n, _ in numbered]
    if len(set(numbers)) != len(numbers):
        raise FileFormatError(path, "two files have the same frame number")
    first, last = numbers[0], numbers[-1]
    n_frames = check_frame_span(path, first, last, len(numbers))
    frames: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n_frames)]
    ids: list[list[int | None]] = [[] for _ in range(n_frames)]
    layouts: tuple[str, ...] | None = None
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
            candidates = _layouts(flat.size, f)
            if layouts is None:
                layouts = candidates
            elif candidates != layouts:
                raise FileFormatError(f, f"people[{i}] has {flat.size} values, earlier files {3 * len(_keypoint_set(layouts[0]))}")
            xyc = flat.reshape(-1, 3)
            conf = xyc[:, 2]
            if not np.all(np.isfinite(conf)) or np.any((conf < 0) | (conf > 1)):
                raise FileFormatError(f, f"people[{i}]: confidences outside [0, 1]")
            pos = np.where((conf > 0)[:, None], xyc[:, :2], np.nan)
            frames[number - first].append((pos, conf.copy()))
            pid = person.get("person_id", [-1])
            pid = pid[0] if isinstance(pid, list) and pid else pid
            ids[number - first].append(int(pid) if isinstance(pid, (int, float)) and pid >= 0 else None)
    if layouts is None:
        raise FileFormatError(path, "no person in any frame")
    if keypoint_set is not None and _keypoint_set(keypoint_set).name not in layouts:
        raise ValueRangeError("keypoint_set", expected=f"one of {list(layouts)} for {3 * len(_keypoint_set(layouts[0]))} values per person",
                              got=keypoint_set)  # fmt: skip
    everyone = np.stack([pos for frame in frames for pos, _ in frame])  # every detection, as frames
    declared = _keypoint_set(keypoint_set or layouts[0])
    chosen = check_layout(everyone, declared, [_keypoint_set(n) for n in layouts], source=str(path), explicit=keypoint_set is not None)
    time = (first + np.arange(n_frames)) / fps
    people = detections_to_tracks(
        frames, ids, time=time, n_keypoints=len(chosen), n_dims=2, max_distance=max_distance, max_missing=max_missing
    )
    with reading(path):
        return [
            Tracks(pos, keypoints=chosen, confidence=conf, time=time, fps=fps, person_id=pid,
                   metadata={"source": str(path), "format": "openpose", "first_frame": first})
            for pid, pos, conf in people
        ]  # fmt: skip


def write_openpose(
    tracks: Sequence[Tracks], folder: str | os.PathLike[str], *, name: str = "video", overwrite: bool = False
) -> None:
    """Write 2D pixel tracks (BODY-25, BODY-25B or OPENPOSE-18) as an OpenPose JSON folder.

    Frame numbers are ``round(time * fps)``; every frame from the first to the last
    gets a file. Missing points are written as ``0, 0, 0`` (OpenPose's convention),
    and ``person_id`` is each track's id. The folder is written atomically.
    """
    tracks = list(tracks)
    if not tracks:
        raise ValueRangeError("tracks", expected="at least one Tracks", got=[])
    for t in tracks:
        if t.n_dims != 2 or t.keypoint_set.name not in ("BODY-25", "BODY-25B", "OPENPOSE-18"):
            raise ValueRangeError(
                "tracks", expected="2D BODY-25, BODY-25B or OPENPOSE-18 tracks (convert first)", got=f"{t.n_dims}D {t.keypoint_set.name}"
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
