"""DeepLabCut pose files, ``.h5`` and ``.csv`` (read and write).

DeepLabCut stores a pandas DataFrame with column levels ``scorer``, (multi-animal:
``individuals``), ``bodyparts`` and ``coords`` (``x``, ``y``, ``likelihood``), one
row per video frame. The CSV spells the levels out as three (or four) header
rows; the ``.h5`` is written by pandas (PyTables) under the key
``df_with_missing``. Each individual becomes one :class:`Tracks`; a body part
with NaN coordinates is missing. Likelihoods outside [0, 1] are clipped.
``fps`` is required (DeepLabCut stores no timing).

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from kinelift import Tracks
>>> from kinelift.io.deeplabcut import read_deeplabcut, write_deeplabcut
>>> t = Tracks(np.full((3, 2, 2), 4.0), keypoints=["snout", "tail"], fps=60.0)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "poseDLC.csv"
>>> write_deeplabcut([t], path)
>>> read_deeplabcut(path, fps=60.0)[0].keypoint_names
('snout', 'tail')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, ValueRangeError
from kinelift.io._atomic import atomic_path
from kinelift.io._common import existing_path, frame_numbers, read_text_lines, reading, require_2d_pixel_tracks, require_fps

__all__ = ["read_deeplabcut", "write_deeplabcut"]

_KEY = "df_with_missing"


def _load_frame(path: Path) -> Any:
    import pandas as pd

    if path.suffix.lower() == ".csv":
        lines = read_text_lines(path)[:4]
        levels = 0
        for line in lines:
            if line.split(",")[0].strip() in ("scorer", "individuals", "bodyparts", "coords"):
                levels += 1
        if levels not in (3, 4) or not lines[levels - 1].startswith("coords"):
            raise FileFormatError(path, "header rows are not DeepLabCut's", expected="scorer, [individuals,] bodyparts, coords rows")
        try:
            return pd.read_csv(path, header=list(range(levels)), index_col=0)
        except Exception as err:  # pandas raises many types for malformed CSV; all mean "unreadable"
            raise FileFormatError(path, f"unreadable CSV ({type(err).__name__}: {str(err)[:200]})") from None
    try:
        return pd.read_hdf(path)
    except Exception as err:  # PyTables/HDF5 raise their own exception types for corrupt files
        raise FileFormatError(path, f"not a pandas/PyTables HDF5 DeepLabCut file ({type(err).__name__}: {str(err)[:200]})") from None


def read_deeplabcut(path: str | os.PathLike[str], *, fps: float | None = None) -> list[Tracks]:
    """Read a DeepLabCut ``.h5`` or ``.csv`` into one 2D pixel :class:`Tracks` per individual.

    Parameters
    ----------
    path : path-like
        The DeepLabCut output file.
    fps : float
        Video frame rate (required); frame ``i`` of the file is at ``index[i] / fps``.
    """
    import pandas as pd

    path = existing_path(path)
    fps = require_fps(fps, path, "DeepLabCut")
    df = _load_frame(path)
    if not isinstance(df, pd.DataFrame) or not isinstance(df.columns, pd.MultiIndex) or df.columns.nlevels not in (3, 4):
        raise FileFormatError(path, "columns are not DeepLabCut's", expected="levels scorer, [individuals,] bodyparts, coords")
    if df.columns.nlevels == 3:
        df = pd.concat({"single": df}, axis=1, names=["individuals"]).swaplevel(0, 1, axis=1)
    df.columns = df.columns.droplevel(0)  # scorer
    try:
        frame_numbers = df.index.to_numpy(dtype=np.float64)
        values = df.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise FileFormatError(path, "non-numeric values or frame index") from None
    if not np.all(np.isfinite(frame_numbers)):
        raise FileFormatError(path, "frame index has missing values")
    time = frame_numbers / fps
    out = []
    for pid, individual in enumerate(dict.fromkeys(df.columns.get_level_values(0))):
        sub_cols = df.columns.get_level_values(0) == individual
        sub = df.columns[sub_cols]
        parts = list(dict.fromkeys(sub.get_level_values(1)))
        coords = set(sub.get_level_values(2))
        if not {"x", "y"} <= coords:
            raise FileFormatError(path, f"individual {individual!r} lacks x/y coords", expected="coords x, y, likelihood")
        block = values[:, sub_cols]
        lookup = {(p, c): block[:, i] for i, (_, p, c) in enumerate(sub)}
        wanted = ("x", "y", "likelihood") if "likelihood" in coords else ("x", "y")
        lacking = [f"{p}/{c}" for p in parts for c in wanted if (p, c) not in lookup]
        if lacking:
            raise FileFormatError(path, f"individual {individual!r} lacks columns {lacking[:5]}", expected="x, y[, likelihood] for every body part")
        pos = np.stack([np.stack([lookup[(p, "x")], lookup[(p, "y")]], axis=1) for p in parts], axis=1)
        missing = np.isnan(pos).any(axis=2)
        pos[missing] = np.nan
        if "likelihood" in coords:
            like = np.stack([lookup[(p, "likelihood")] for p in parts], axis=1)
            conf = np.where(missing | np.isnan(like), 0.0, np.clip(like, 0.0, 1.0))
        else:
            conf = None
        with reading(path):
            out.append(Tracks(pos, keypoints=parts, confidence=conf, time=time, fps=fps, person_id=pid,
                              metadata={"source": str(path), "format": "deeplabcut", "individual": str(individual)}))  # fmt: skip
    return out


def write_deeplabcut(
    tracks: Sequence[Tracks], path: str | os.PathLike[str], *, scorer: str = "kinelift", overwrite: bool = False
) -> None:
    """Write 2D pixel tracks as DeepLabCut ``.csv`` or ``.h5`` (by suffix).

    One track is written single-animal (three header levels); several are written
    multi-animal with ``individuals`` named ``ind<person_id>``. All tracks must share
    their keypoint names and frame times; the frame index is ``round(time * fps)``.
    """
    import pandas as pd

    tracks = require_2d_pixel_tracks(tracks)
    ref = tracks[0]
    for t in tracks:
        if t.keypoint_names != ref.keypoint_names or not np.array_equal(t.time, ref.time):
            raise ValueRangeError("tracks", expected="2D pixel tracks with the same keypoints and times", got=repr(t))
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".h5"):
        raise ValueRangeError("path", expected="a .csv or .h5 file name", got=str(path))
    index = frame_numbers(ref)
    blocks, keys = [], []
    for t in tracks:
        like = np.where(t.valid, t.confidence, np.nan)
        arr = np.concatenate([t.positions, like[:, :, None]], axis=2).reshape(t.n_frames, -1)
        blocks.append(arr)
        keys += [(f"ind{t.person_id}", p, c) for p in t.keypoint_names for c in ("x", "y", "likelihood")]
    if len(tracks) == 1:
        columns = pd.MultiIndex.from_tuples([(scorer, p, c) for _, p, c in keys], names=["scorer", "bodyparts", "coords"])
    else:
        columns = pd.MultiIndex.from_tuples([(scorer, *k) for k in keys], names=["scorer", "individuals", "bodyparts", "coords"])
    df = pd.DataFrame(np.concatenate(blocks, axis=1), index=index, columns=columns)
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        if suffix == ".csv":
            df.to_csv(tmp)
        else:
            df.to_hdf(tmp, key=_KEY, mode="w", format="table")
