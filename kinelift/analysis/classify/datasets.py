"""Loaders of squat-classification datasets in their own layouts.

* **Ogata et al. (2019)** -- one folder per class (``good``, ``bad_back_round``, ``bad_back_warp``,
  ``bad_head``, ``bad_innner_thigh`` [sic], ``bad_shallow``, ``bad_toe``), each holding per-video JSON
  files (at any depth) ``{"0": {"index": 0, "3d_joint": [171 distances]}, "1": ...}``: the strict upper
  triangle of the 19 HMR joints' distance matrix per frame (row-major). The session is the file
  name's prefix before ``_squat`` (e.g. ``0918``): use it as the group for cross-validation.
* **UI-PRMD** (Vakanski et al. 2018, *Data* 3(1):2), deep squat ``m01``: ``Segmented Movements``
  (correct) and ``Incorrect Segmented Movements`` (incorrect), each ``Vicon/Positions`` (39
  markers x (x, y, z), mm, 100 Hz, z up) and ``Kinect/Positions`` with ``Kinect/Angles`` (22
  joints, 30 Hz, cm and degrees), gzipped or plain comma-separated text, one row per frame, files
  ``m01_sXX_eYY_{positions,angles}[_inc].txt[.gz]``.

Vicon marker names: UI-PRMD does not document them; the order matches Plug-in-Gait's 39 full-body
markers (``UIPRMD_VICON_MARKERS``), checked on the data (heights, left/right, forward toes).

Kinect skeletons (:func:`uiprmd_kinect_positions`): the positions file holds the first joint
(waist) in the camera frame and, for every other joint, its offset from the parent joint in the
parent's frame (a bone, constant up to sensor noise); the angles file holds each joint's rotation
relative to its parent as three angles (x, y, z columns, degrees). Absolute positions follow by
forward kinematics: ``R_j = R_parent Rz(z) Rx(x) Ry(y)`` and ``p_j = p_parent + R_parent offset_j``.
The dataset does not document this; it was found on the data: of all 72 axis assignments, orders
and frame choices it is the only one that keeps the feet still during a squat (foot-joint
standard deviation 1.5-2.7 cm over a repetition, against 6-26 cm for the next best), with bones of
plausible lengths (thigh 36 cm, shank 40 cm) and the head above the waist. Joint names
(``UIPRMD_KINECT_JOINTS``): Kinect's spine base is ``waist``, its upper-arm, forearm and hand joints
are the ``shoulder``, ``elbow`` and ``wrist``, the upper-leg, lower-leg, foot and toe joints are
``hip``, ``knee``, ``ankle`` and ``big_toe``; camera frame, y up, metres.

Examples
--------
>>> UIPRMD_VICON_MARKERS[23:27]
('LASI', 'RASI', 'LPSI', 'RPSI')
>>> OGATA_CLASSES[-1]
'good'
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, ShapeError, ValueRangeError

__all__ = [
    "OGATA_CLASSES", "SquatDataset", "UIPRMD_KINECT_JOINTS", "UIPRMD_VICON_MARKERS", "load_ogata", "load_uiprmd", "read_ogata_json",
    "uiprmd_kinect_positions",
]  # fmt: skip

OGATA_CLASSES = ("bad_back_round", "bad_back_warp", "bad_head", "bad_innner_thigh", "bad_shallow", "bad_toe", "good")

log = logging.getLogger(__name__)

UIPRMD_VICON_MARKERS = tuple(
    "LFHD RFHD LBHD RBHD C7 T10 CLAV STRN RBAK LSHO LUPA LELB LFRM LWRA LWRB LFIN RSHO RUPA RELB RFRM RWRA RWRB RFIN "
    "LASI RASI LPSI RPSI LTHI LKNE LTIB LANK LHEE LTOE RTHI RKNE RTIB RANK RHEE RTOE".split()
)
UIPRMD_KINECT_JOINTS = (
    "waist", "spine", "chest", "neck", "head", "head_top", "left_collar", "left_shoulder", "left_elbow", "left_wrist",
    "right_collar", "right_shoulder", "right_elbow", "right_wrist", "left_hip", "left_knee", "left_ankle", "left_big_toe",
    "right_hip", "right_knee", "right_ankle", "right_big_toe",
)  # fmt: skip
UIPRMD_KINECT_PARENTS = (-1, 0, 1, 2, 3, 4, 2, 6, 7, 8, 2, 10, 11, 12, 0, 14, 15, 16, 0, 18, 19, 20)
"""Parent index of each of ``UIPRMD_KINECT_JOINTS`` (-1: the root)."""
_UIPRMD_FILE = re.compile(r"^m(\d+)_s(\d+)_e(\d+)_positions(_inc)?\.txt(\.gz)?$")


@dataclass(frozen=True)
class SquatDataset:
    """Labelled repetitions: ``sequences[i]`` is an array ``(frames, ...)``, ``labels[i]`` its class,
    ``groups[i]`` its subject or session, ``names[i]`` its file; ``fps`` the frame rate."""

    sequences: tuple[np.ndarray, ...]
    labels: np.ndarray
    groups: np.ndarray
    names: tuple[str, ...]
    fps: float

    def __len__(self) -> int:
        return len(self.sequences)


def read_ogata_json(path: str | os.PathLike[str]) -> np.ndarray:
    """The ``(frames, 171)`` distances of one Ogata JSON file, in frame-number order."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(path, f"not readable JSON ({exc})") from exc
    if not isinstance(data, dict) or not data:
        raise FileFormatError(path, "expected an object of frames", expected='{"0": {"3d_joint": [171 numbers]}, ...}')
    frames = []
    for key, frame in data.items():
        if not (isinstance(frame, dict) and isinstance(frame.get("3d_joint"), list) and len(frame["3d_joint"]) == 171):
            raise FileFormatError(path, f"frame {key!r}: no '3d_joint' list of 171 distances", expected='{"3d_joint": [171 numbers]}')
        try:
            frames.append((int(frame.get("index", key)), np.asarray(frame["3d_joint"], dtype=np.float64)))
        except (TypeError, ValueError) as exc:
            raise FileFormatError(path, f"frame {key!r}: non-numeric index or distances ({exc})") from exc
    frames.sort(key=lambda f: f[0])
    return np.stack([f[1] for f in frames])


def load_ogata(root: str | os.PathLike[str], *, classes: tuple[str, ...] = OGATA_CLASSES, fps: float = 30.0) -> SquatDataset:
    """Every JSON file under ``root/<class>/`` for the given classes (see the module docs).

    ``fps`` is the videos' frame rate (not stored in the files). Raises FileFormatError when a
    class folder is missing or holds no JSON file.
    """
    root = Path(root)
    seqs, labels, groups, names = [], [], [], []
    for label in classes:
        folder = root / label
        files = sorted(folder.rglob("*.json")) if folder.is_dir() else []
        if not files:
            raise FileFormatError(folder, "no JSON files for this class", expected=f"{root}/<class>/**/*.json for classes {classes}")
        for f in files:
            seqs.append(read_ogata_json(f))
            labels.append(label)
            groups.append(f.stem.split("_squat")[0])
            names.append(str(f.relative_to(root)))
    return SquatDataset(tuple(seqs), np.array(labels), np.array(groups), tuple(names), fps)


def _read_rows(path: Path, n_columns: int) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="ascii") as fh:
            values = np.loadtxt(fh, delimiter=",", ndmin=2)
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        raise FileFormatError(path, f"not comma-separated numbers ({exc})") from exc
    if values.shape[1] != n_columns or values.shape[0] < 2:
        raise FileFormatError(path, f"{values.shape[0]} rows x {values.shape[1]} columns", expected=f"at least 2 rows of {n_columns} columns")
    return values


def uiprmd_kinect_positions(positions: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Absolute Kinect joint positions ``(frames, 22, 3)`` in metres from UI-PRMD's positions and
    angles rows ``(frames, 66)`` (cm and degrees; see the module docs for the convention)."""
    from scipy.spatial.transform import Rotation

    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 22, 3) / 100.0
    radians = np.deg2rad(np.asarray(angles, dtype=np.float64).reshape(-1, 22, 3))
    if radians.shape != positions.shape:
        raise ShapeError("angles", expected=f"{positions.shape[0]} frames of 66 values like the positions", got=radians.shape)
    out = np.empty_like(positions)
    world: list[np.ndarray] = []
    for j, parent in enumerate(UIPRMD_KINECT_PARENTS):
        local = Rotation.from_euler("ZXY", radians[:, j, [2, 0, 1]]).as_matrix()  # intrinsic: Rz(z) Rx(x) Ry(y)
        if parent < 0:
            world.append(local)
            out[:, j] = positions[:, j]
        else:
            world.append(world[parent] @ local)
            out[:, j] = out[:, parent] + np.einsum("fij,fj->fi", world[parent], positions[:, j])
    return out


def _index_rates(root: Path) -> dict[str, float]:
    """Frame rates per file name from a resampled copy's ``index.csv`` (``path``, ``fps_here``), if there is one."""
    index = root / "index.csv"
    if not index.is_file():
        return {}
    import csv

    with open(index, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not {"path", "fps_here"} <= set(rows[0]):
        raise FileFormatError(index, f"columns {sorted(rows[0])}", expected="path and fps_here columns")
    try:
        return {Path(r["path"]).name: float(r["fps_here"]) for r in rows}
    except ValueError as exc:
        raise FileFormatError(index, f"fps_here is not a number ({exc})") from None


def load_uiprmd(
    root: str | os.PathLike[str], *, movement: int = 1, sensor: str = "vicon", as_tracks: bool = False, skip_unreadable: bool = False
) -> SquatDataset:
    """UI-PRMD repetitions of one movement (deep squat = 1), labelled ``"correct"``/``"incorrect"``.

    Parameters
    ----------
    root : path
        The folder holding ``Segmented Movements`` and ``Incorrect Segmented Movements``.
    movement : int, default 1
    sensor : {"vicon", "kinect"}, default "vicon"
        ``"vicon"``: the 39 marker positions (``UIPRMD_VICON_MARKERS``), metres, z up, 100 Hz;
        NaN where the file gives a lost marker as ``(0, 0, 0)``.
        ``"kinect"``: the 22 joints (``UIPRMD_KINECT_JOINTS``) made absolute from the positions and
        angles files (:func:`uiprmd_kinect_positions`), metres, y up, 30 Hz.
    as_tracks : bool, default False
        Sequences as :class:`~kinelift.core.tracks.Tracks` (``units="m"``, ``coordinate_frame="ground"``,
        the up axis in ``metadata["up"]``) instead of ``(frames, points, 3)`` arrays.

    skip_unreadable : bool, default False
        Leave out files that cannot be read (e.g. a repetition of one frame), each named in a
        logged warning, instead of raising.

    Groups are subject numbers (``1``, ``2``, ...): use them for leave-one-subject-out validation.
    A copy resampled to another rate carries an ``index.csv`` with ``fps_here`` per file (as
    ``../shared/data/ui-prmd-movements`` does, 50 Hz); its rate is then used.
    """
    if sensor not in ("vicon", "kinect"):
        raise ValueRangeError("sensor", expected="'vicon' or 'kinect'", got=sensor)
    root = Path(root)
    folder_name, names_, fps, up = ("Vicon", UIPRMD_VICON_MARKERS, 100.0, "z") if sensor == "vicon" else ("Kinect", UIPRMD_KINECT_JOINTS, 30.0, "y")
    rates = _index_rates(root) if sensor == "vicon" else {}
    if len(set(rates.values())) > 1:
        raise FileFormatError(root / "index.csv", f"several rates {sorted(set(rates.values()))}", expected="one fps_here for every file")
    fps = next(iter(rates.values()), fps)
    seqs, labels, groups, names = [], [], [], []
    for label, folder in (("correct", "Segmented Movements"), ("incorrect", "Incorrect Segmented Movements")):
        directory = root / folder / folder_name / "Positions"
        if not directory.is_dir():
            raise FileFormatError(directory, "folder missing", expected=f"{root}/{{Segmented Movements, Incorrect Segmented Movements}}/{folder_name}/Positions")
        for f in sorted(directory.iterdir()):
            m = _UIPRMD_FILE.match(f.name)
            if m is None or int(m.group(1)) != movement:
                continue
            try:
                rows = _read_rows(f, 3 * len(names_))
            except FileFormatError as exc:
                if not skip_unreadable:
                    raise
                log.warning("left out: %s", exc)
                continue
            if sensor == "vicon":
                xyz = rows.reshape(-1, len(names_), 3) / 1000.0
                xyz[(xyz == 0.0).all(-1)] = np.nan  # Vicon writes a marker it lost as (0, 0, 0)
            else:
                angle_file = directory.parent / "Angles" / f.name.replace("_positions", "_angles")
                if not angle_file.is_file():
                    raise FileFormatError(angle_file, "missing: Kinect positions need their angles file", expected="the angles file beside Positions/")
                angle_rows = _read_rows(angle_file, 66)
                if angle_rows.shape[0] != rows.shape[0]:
                    raise FileFormatError(angle_file, f"{angle_rows.shape[0]} rows", expected=f"{rows.shape[0]} rows like {f.name}")
                xyz = uiprmd_kinect_positions(rows, angle_rows)
            seqs.append(Tracks(xyz, keypoints=names_, fps=fps, units="m", coordinate_frame="ground",
                               metadata={"source": str(f), "up": up}) if as_tracks else xyz)  # fmt: skip
            labels.append(label)
            groups.append(int(m.group(2)))
            names.append(f.name)
    if not seqs:
        raise FileFormatError(root, f"no {folder_name} position files of movement m{movement:02d}", expected="m01_sXX_eYY_positions[_inc].txt[.gz]")
    return SquatDataset(tuple(seqs), np.array(labels), np.array(groups), tuple(names), fps)
