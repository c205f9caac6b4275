"""Penn Action labels: reading, detection by suffix, malformed files, read-only."""

from __future__ import annotations

import numpy as np
import pytest

from kinelift.errors import FileFormatError, ValueRangeError


def test_penn_action_reader_and_its_errors(tmp_path):
    import scipy.io

    from kinelift.io import load, save
    from kinelift.io.penn_action import read_penn_action

    x = np.arange(26, dtype=float).reshape(2, 13)
    vis = np.ones((2, 13))
    vis[1, 3] = 0
    path = tmp_path / "0042.mat"
    scipy.io.savemat(path, {"x": x, "y": x + 100, "visibility": vis, "action": "squat", "pose": "right", "train": -1})
    loaded = load(path, fps=30.0)
    assert loaded.format == "penn_action"
    t = loaded.tracks[0]
    assert t.metadata["split"] == "test" and t.metadata["action"] == "squat"
    assert np.isnan(t.positions[1, 3]).all() and t.confidence[1, 3] == 0 and t.positions[0, 3].tolist() == [3.0, 103.0]
    with pytest.raises(ValueRangeError, match="fps"):
        read_penn_action(path, fps=None)
    scipy.io.savemat(tmp_path / "bad.mat", {"x": x[:, :5], "y": x[:, :5], "visibility": vis[:, :5]})
    with pytest.raises(FileFormatError, match=r"\(frames, 13\)"):
        read_penn_action(tmp_path / "bad.mat", fps=30.0)
    scipy.io.savemat(tmp_path / "other.mat", {"a": 1})
    with pytest.raises(FileFormatError, match="visibility"):
        read_penn_action(tmp_path / "other.mat", fps=30.0)
    (tmp_path / "junk.mat").write_bytes(b"not matlab")
    with pytest.raises(FileFormatError, match="junk.mat"):
        read_penn_action(tmp_path / "junk.mat", fps=30.0)
    with pytest.raises(ValueRangeError, match="read only"):
        save(tmp_path / "out.mat", tracks=[t], format="penn_action")
