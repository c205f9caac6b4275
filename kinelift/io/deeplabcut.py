"""DeepLabCut pose files, ``.h5`` and ``.csv`` (read and write).

DeepLabCut stores a pandas DataFrame with column levels ``scorer``, (multi-animal:
``individuals``), ``bodyparts`` and ``coords`` (``x``, ``y``, ``likelihood``), one
row per video frame. The CSV spells the levels out as three (or four) header
rows; the ``.h5`` is written by pandas (PyTables) under the key
``df_with_missing``. The ``.h5`` is read through h5py, never through pandas'
reader: pandas stores object columns (and, in its "table" layout, the column
names) as pickles, and unpickling a file's contents can run any code. Column
names are read from their HDF5 arrays, or from their pickled lists by a reader
that accepts only strings, numbers, lists and tuples; object columns are refused. Each individual becomes one :class:`Tracks`; a body part
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

import io
import os
import pickle
import pickletools
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


# Pickle opcodes that build plain lists, tuples, strings and numbers; anything that names a class
# or calls something (GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, EXT*, PERSID...) is refused.
_PLAIN_OPCODES = frozenset(
    "PROTO FRAME STOP MARK POP POP_MARK DUP PUT BINPUT LONG_BINPUT MEMOIZE GET BINGET LONG_BINGET "
    "NONE NEWTRUE NEWFALSE INT BININT BININT1 BININT2 LONG LONG1 LONG4 FLOAT BINFLOAT "
    "STRING BINSTRING SHORT_BINSTRING UNICODE BINUNICODE SHORT_BINUNICODE BINUNICODE8 BINBYTES SHORT_BINBYTES BINBYTES8 "
    "EMPTY_LIST APPEND APPENDS LIST EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3 EMPTY_DICT DICT SETITEM SETITEMS".split()
)


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:  # never reached after the opcode check; a second lock
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refused a persistent id")


def _plain_pickle(path: Path, raw: Any, field: str) -> Any:
    """A pickled attribute that holds only lists, tuples, strings and numbers (pandas' column names)."""
    data = bytes(raw)
    try:
        refused = sorted({op.name for op, _, _ in pickletools.genops(data)} - _PLAIN_OPCODES)
    except (ValueError, EOFError) as err:
        raise FileFormatError(path, f"attribute {field!r} is not readable ({err})") from None
    if refused:
        raise FileFormatError(path, f"attribute {field!r} holds Python objects (pickle opcodes {refused}), which are never loaded",
                              expected="column names as plain strings (a DeepLabCut file)")  # fmt: skip
    try:
        return _PlainUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, ValueError, EOFError, IndexError, KeyError) as err:
        raise FileFormatError(path, f"attribute {field!r} is not readable ({err})") from None


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _numeric(path: Path, values: np.ndarray, field: str) -> np.ndarray:
    if values.dtype.kind not in "fiub":
        raise FileFormatError(path, f"{field} holds {values.dtype} values (object or text columns are refused: pandas pickles them)",
                              expected="numeric x, y, likelihood columns")  # fmt: skip
    return values.astype(np.float64)


def _fixed_columns(path: Path, group: Any, prefix: str) -> list[tuple[str, ...]]:
    """MultiIndex columns of pandas' "fixed" layout: ``{prefix}_level{i}`` names, ``{prefix}_label{i}`` codes."""
    levels = int(group.attrs.get(f"{prefix}_nlevels", 0))
    if levels < 1 or _text(group.attrs.get(f"{prefix}_variety", b"")) != "multi":
        raise FileFormatError(path, f"{group.name}: {prefix} is not a column MultiIndex", expected="levels scorer, [individuals,] bodyparts, coords")
    names, codes = [], []
    for i in range(levels):
        level, label = group.get(f"{prefix}_level{i}"), group.get(f"{prefix}_label{i}")
        if level is None or label is None or level.dtype.kind not in "SU" or label.dtype.kind not in "iu":
            raise FileFormatError(path, f"{group.name}/{prefix}_level{i}: missing or not text", expected="DeepLabCut's column levels as text arrays")
        names.append([_text(v) for v in level[()]])
        codes.append(np.asarray(label[()], dtype=np.int64))
    if len({c.shape for c in codes}) != 1 or any(c.min(initial=0) < 0 or c.max(initial=-1) >= len(n) for c, n in zip(codes, names)):
        raise FileFormatError(path, f"{group.name}: column codes out of range of their levels")
    return [tuple(n[c[j]] for n, c in zip(names, codes)) for j in range(codes[0].size)]


def _read_fixed(path: Path, group: Any) -> tuple[np.ndarray, list[tuple[str, ...]], np.ndarray]:
    index = group.get("axis1")
    if index is None or int(group.attrs.get("nblocks", 0)) < 1:
        raise FileFormatError(path, f"{group.name}: no frame index or no value blocks", expected="a pandas DataFrame (DeepLabCut)")
    columns, blocks = [], []
    for b in range(int(group.attrs["nblocks"])):
        values = group.get(f"block{b}_values")
        if values is None or not hasattr(values, "dtype"):
            raise FileFormatError(path, f"{group.name}/block{b}_values is missing")
        blocks.append(_numeric(path, np.asarray(values[()]), f"{group.name}/block{b}_values"))
        columns += _fixed_columns(path, group, f"block{b}_items")
    return np.asarray(index[()]), columns, np.concatenate(blocks, axis=1)


def _read_table(path: Path, group: Any) -> tuple[np.ndarray, list[tuple[str, ...]], np.ndarray]:
    table = group.get("table")
    if table is None or table.dtype.names is None or "index" not in table.dtype.names:
        raise FileFormatError(path, f"{group.name}/table is missing or not a table", expected="a pandas 'table' DataFrame (DeepLabCut)")
    rows = table[()]
    blocks = [n for n in table.dtype.names if n != "index"]
    columns, values = [], []
    for name in blocks:
        kind = table.attrs.get(f"{name}_kind")
        if kind is None:
            raise FileFormatError(path, f"{group.name}/table: no column names for {name}")
        names = _plain_pickle(path, kind, f"{name}_kind")
        block = _numeric(path, np.asarray(rows[name]), f"{group.name}/table {name}")
        block = block.reshape(len(rows), -1)
        if not isinstance(names, list) or len(names) != block.shape[1] or not all(isinstance(c, tuple) for c in names):
            raise FileFormatError(path, f"{group.name}/table: {name} names {len(names) if isinstance(names, list) else names!r} "
                                  f"columns for {block.shape[1]}", expected="one (scorer, [individual,] bodypart, coord) per column")  # fmt: skip
        columns += [tuple(_text(v) for v in c) for c in names]
        values.append(block)
    if not values:
        raise FileFormatError(path, f"{group.name}/table has no value columns")
    return np.asarray(rows["index"]), columns, np.concatenate(values, axis=1)


def _read_h5(path: Path) -> Any:
    """The DataFrame of a pandas-written DeepLabCut ``.h5``, read without unpickling anything."""
    import h5py
    import pandas as pd

    try:
        with h5py.File(path, "r") as f:
            frames = [k for k, g in f.items() if isinstance(g, h5py.Group) and "pandas_type" in g.attrs]
            if not frames:
                raise FileFormatError(path, "no pandas DataFrame in the file", expected="a DeepLabCut .h5 (key df_with_missing) or a kinelift .h5")
            key = _KEY if _KEY in frames else frames[0]
            group = f[key]
            kind = _text(group.attrs["pandas_type"])
            if kind == "frame":
                index, columns, values = _read_fixed(path, group)
            elif kind == "frame_table":
                index, columns, values = _read_table(path, group)
            else:
                raise FileFormatError(path, f"/{key} is a pandas {kind!r}", expected="a DataFrame (pandas_type 'frame' or 'frame_table')")
    except OSError as err:
        raise FileFormatError(path, f"not a readable HDF5 file ({err})") from None
    if index.ndim != 1 or values.shape != (index.size, len(columns)):
        raise FileFormatError(path, f"{index.size} frames and {len(columns)} columns for values of shape {values.shape}")
    if len({len(c) for c in columns}) != 1:
        raise FileFormatError(path, "columns with differing numbers of levels", expected="levels scorer, [individuals,] bodyparts, coords")
    names = ["scorer", "bodyparts", "coords"] if len(columns[0]) == 3 else ["scorer", "individuals", "bodyparts", "coords"]
    return pd.DataFrame(values, index=_numeric(path, index, "the frame index"),
                        columns=pd.MultiIndex.from_tuples(columns, names=names[: len(columns[0])] if len(columns[0]) in (3, 4) else None))  # fmt: skip


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
    return _read_h5(path)


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
