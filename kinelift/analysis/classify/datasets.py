"""Loaders of squat-classification datasets in their own layouts.

* **Ogata et al. (2019)** -- one folder per class (``good``, ``bad_back_round``, ``bad_back_warp``,
  ``bad_head``, ``bad_innner_thigh`` [sic], ``bad_shallow``, ``bad_toe``), each holding per-video JSON
  files (at any depth) ``{"0": {"index": 0, "3d_joint": [171 distances]}, "1": ...}``: the strict upper
  triangle of the 19 HMR joints' distance matrix per frame (row-major). The session is the file
  name's prefix before ``_squat`` (e.g. ``0918``): use it as the group for cross-validation.
* **UI-PRMD** (Vakanski et al. 2018, *Data* 3(1):2), deep squat ``m01``: ``Segmented Movements``
  (correct) and ``Incorrect Segmented Movements`` (incorrect), each ``Vicon/Positions`` (39
  markers x (x, y, z), mm, 100 Hz, z up) and ``Kinect/Positions`` (22 joints, 30 Hz; the first
  joint absolute, the others relative to their parent), gzipped or plain comma-separated text,
  one row per frame, files ``m01_sXX_eYY_positions[_inc].txt[.gz]``.

Vicon marker names: UI-PRMD does not document them; the order matches Plug-in-Gait's 39 full-body
markers (``UIPRMD_VICON_MARKERS``), checked on the data (heights, left/right, forward toes).

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
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, ShapeError

__all__ = ["OGATA_CLASSES", "SquatDataset", "UIPRMD_VICON_MARKERS", "load_ogata", "load_uiprmd", "read_ogata_json"]

OGATA_CLASSES = ("bad_back_round", "bad_back_warp", "bad_head", "bad_innner_thigh", "bad_shallow", "bad_toe", "good")

UIPRMD_VICON_MARKERS = tuple(
    "LFHD RFHD LBHD RBHD C7 T10 CLAV STRN RBAK LSHO LUPA LELB LFRM LWRA LWRB LFIN RSHO RUPA RELB RFRM RWRA RWRB RFIN "
    "LASI RASI LPSI RPSI LTHI LKNE LTIB LANK LHEE LTOE RTHI RKNE RTIB RANK RHEE RTOE".split()
)
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


def load_uiprmd(
    root: str | os.PathLike[str], *, movement: int = 1, sensor: str = "vicon", as_tracks: bool = False
) -> SquatDataset:
    """UI-PRMD repetitions of one movement (deep squat = 1), labelled ``"correct"``/``"incorrect"``.

    Parameters
    ----------
    root : path
        The folder holding ``Segmented Movements`` and ``Incorrect Segmented Movements``.
    movement : int, default 1
    sensor : {"vicon"}, default "vicon"
        Vicon marker positions, converted to metres. (Kinect positions are stored relative to
        parent joints and need the angle files to become absolute; not loaded here.)
    as_tracks : bool, default False
        Sequences as :class:`~kinelift.core.tracks.Tracks` (``units="m"``, ``coordinate_frame="lab"``,
        z up, Plug-in-Gait marker names) instead of ``(frames, 39, 3)`` arrays.

    Groups are subject numbers (``1``, ``2``, ...): use them for leave-one-subject-out validation.
    """
    if sensor != "vicon":
        raise ShapeError("sensor", expected="'vicon' (Kinect positions are parent-relative and not supported)", got=sensor)
    root = Path(root)
    seqs, labels, groups, names = [], [], [], []
    for label, folder in (("correct", "Segmented Movements"), ("incorrect", "Incorrect Segmented Movements")):
        directory = root / folder / "Vicon" / "Positions"
        if not directory.is_dir():
            raise FileFormatError(directory, "folder missing", expected=f"{root}/{{Segmented Movements, Incorrect Segmented Movements}}/Vicon/Positions")
        for f in sorted(directory.iterdir()):
            m = _UIPRMD_FILE.match(f.name)
            if m is None or int(m.group(1)) != movement:
                continue
            xyz = _read_rows(f, 3 * len(UIPRMD_VICON_MARKERS)).reshape(-1, len(UIPRMD_VICON_MARKERS), 3) / 1000.0
            seqs.append(Tracks(xyz, keypoints=UIPRMD_VICON_MARKERS, fps=100.0, units="m", coordinate_frame="lab",
                               metadata={"source": str(f), "up": "z"}) if as_tracks else xyz)  # fmt: skip
            labels.append(label)
            groups.append(int(m.group(2)))
            names.append(f.name)
    if not seqs:
        raise FileFormatError(root, f"no Vicon position files of movement m{movement:02d}", expected="m01_sXX_eYY_positions[_inc].txt[.gz]")
    return SquatDataset(tuple(seqs), np.array(labels), np.array(groups), tuple(names), 100.0)
