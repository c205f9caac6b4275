"""Nothing read from a file runs code: DeepLabCut .h5 files are read without unpickling.

pandas stores object columns of a DataFrame (and, in its "table" layout, the column names) as
pickles; a crafted file with a payload there once ran code through ``kinelift info``,
``convert``, ``run``, ``lift`` and ``squat``. Each test plants a payload that would create a
witness file when unpickled, runs the reader or the command, and checks that the witness was
never made and that the error names the file.
"""

from __future__ import annotations

import pickle
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

from kinelift import Tracks
from kinelift.cli import main
from kinelift.errors import FileFormatError
from kinelift.io import load
from kinelift.io.deeplabcut import read_deeplabcut, write_deeplabcut


class _Witness:
    """Unpickling this creates ``path``."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _columns(individual_level: bool = False):
    parts = ["nose", "hip"]
    rows = [("dlc", p, c) for p in parts for c in ("x", "y", "likelihood")]
    return pd.MultiIndex.from_tuples(rows, names=["scorer", "bodyparts", "coords"])


def _object_column_file(path, witness):
    """pandas' fixed layout: an object column is a pickled array inside the file."""
    df = pd.DataFrame(np.ones((4, 6)), columns=_columns()).astype(object)
    df.iloc[0, 0] = _Witness(witness)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)  # "PyTables will pickle object types": the point
        df.to_hdf(path, key="df_with_missing", format="fixed", mode="w")
    return path


def _pickled_names_file(path, witness):
    """pandas' table layout keeps the column names as a pickle in an attribute: replace it with a payload."""
    df = pd.DataFrame(np.ones((4, 6)), columns=_columns())
    df.to_hdf(path, key="df_with_missing", format="table", mode="w")
    with h5py.File(path, "r+") as f:
        f["df_with_missing/table"].attrs["values_block_0_kind"] = np.bytes_(pickle.dumps(_Witness(witness), protocol=0))
    return path


@pytest.mark.parametrize("make", [_object_column_file, _pickled_names_file])
def test_crafted_deeplabcut_h5_cannot_run_code(tmp_path, make, capsys):
    witness = tmp_path / "code_ran"
    path = make(tmp_path / "crafted.h5", witness)
    with pytest.raises(FileFormatError, match="crafted.h5"):
        read_deeplabcut(path, fps=30.0)
    with pytest.raises(FileFormatError):
        load(path, fps=30.0)
    for argv in (["info", str(path)], ["convert", str(path), str(tmp_path / "out.trc"), "--fps", "30"],
                 ["squat", str(path), "--out", str(tmp_path / "sq"), "--fps", "30"],
                 ["lift", str(path), "--out", str(tmp_path / "lift"), "--fps", "30"],
                 ["run", str(path), "--out", str(tmp_path / "run")]):  # fmt: skip
        assert main(argv) == 2, argv
        assert "crafted.h5" in capsys.readouterr().err
    assert not witness.exists()
    assert not (tmp_path / "out.trc").exists()


def test_pandas_layouts_of_deeplabcut_files_are_read(tmp_path):
    """Both pandas layouts, single- and multi-animal, give what pandas itself gives."""
    rng = np.random.default_rng(0)
    one = Tracks(rng.uniform(0, 500, (7, 3, 2)), keypoints=["a", "b", "c"], fps=25.0, confidence=rng.uniform(0, 1, (7, 3)))
    two = one.replace(person_id=1, positions=one.positions + 5.0)
    for tracks in ([one], [one, two]):
        write_deeplabcut(tracks, tmp_path / "table.h5", overwrite=True)
        pd.read_hdf(tmp_path / "table.h5").to_hdf(tmp_path / "fixed.h5", key="df_with_missing", format="fixed", mode="w")
        for name in ("table.h5", "fixed.h5"):
            got = read_deeplabcut(tmp_path / name, fps=25.0)
            assert len(got) == len(tracks)
            for g, t in zip(got, tracks):
                assert g.keypoint_names == t.keypoint_names
                np.testing.assert_allclose(g.positions, t.positions)
                np.testing.assert_allclose(g.confidence, t.confidence)


def test_text_columns_and_foreign_h5_are_refused_by_name(tmp_path):
    df = pd.DataFrame(np.ones((3, 6)), columns=_columns())
    df[("dlc", "nose", "x")] = ["a", "b", "c"]
    df.to_hdf(tmp_path / "text.h5", key="df_with_missing", format="table", mode="w")
    with pytest.raises(FileFormatError, match="text.h5"):
        read_deeplabcut(tmp_path / "text.h5", fps=30.0)
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(FileFormatError, match="no pandas DataFrame"):
        read_deeplabcut(tmp_path / "plain.h5", fps=30.0)
