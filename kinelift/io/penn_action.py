"""Penn Action annotations (``labels/NNNN.mat``): 13 hand-labelled 2D joints per frame (read only).

Penn Action (Zhang, Zhu and Derpanis, ICCV 2013) stores one MATLAB file per clip with ``x``, ``y``
``(frames, 13)`` in pixels, ``visibility`` (1 = visible), ``bbox``, ``action``, ``pose`` (the
camera view: front, back, left, right, ...), ``dimensions`` (the frames' height, width and
count) and ``train`` (1 train, -1 test). Joints are
``PENN-13``: head, shoulders, elbows, wrists, hips, knees, ankles, left and right the person's own.
Invisible joints (about 30 % of them still carry guessed coordinates) become missing (NaN,
confidence 0); visible ones get confidence 1. The files store no timing: ``fps`` is required
(the clips come from YouTube, mostly at 30 Hz). Action, view and split go to ``metadata``, and
the frame size to ``image_width`` and ``image_height`` (so that ``kinelift.lift`` can fit the
pose to the keypoints through an assumed camera).

Examples
--------
>>> import numpy as np, tempfile, pathlib, scipy.io
>>> path = pathlib.Path(tempfile.mkdtemp()) / "0001.mat"
>>> scipy.io.savemat(path, {"x": np.ones((2, 13)), "y": np.ones((2, 13)), "visibility": np.ones((2, 13)),
...                         "action": "squat", "pose": "left", "train": 1, "dimensions": [[360, 480, 2]]})
>>> t = read_penn_action(path, fps=30.0)
>>> t.keypoint_set.name, t.n_frames, t.metadata["view"], t.image_size
('PENN-13', 2, 'left', (480, 360))
"""

from __future__ import annotations

import os

import numpy as np

from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError
from kinelift.io._common import existing_path, require_fps

__all__ = ["read_penn_action"]


def _text(value: object) -> str:
    arr = np.asarray(value).ravel()
    return str(arr[0]) if arr.size else ""


def read_penn_action(path: str | os.PathLike[str], *, fps: float | None) -> Tracks:
    """One clip's joints as ``PENN-13`` :class:`Tracks` in pixels (see the module docs)."""
    import scipy.io
    from scipy.io.matlab import MatReadError

    p = existing_path(path)
    fps = require_fps(fps, p, "Penn Action")
    try:
        mat = scipy.io.loadmat(p)
    except (MatReadError, ValueError, TypeError, OSError) as err:
        raise FileFormatError(p, f"not a readable MATLAB file ({err})", expected="a Penn Action labels/NNNN.mat") from None
    missing = [k for k in ("x", "y", "visibility") if k not in mat]
    if missing:
        raise FileFormatError(p, f"has no field(s) {missing}", expected="Penn Action fields x, y, visibility (frames, 13)")
    x, y, vis = (np.asarray(mat[k], dtype=np.float64) for k in ("x", "y", "visibility"))
    if x.ndim != 2 or x.shape[1] != 13 or y.shape != x.shape or vis.shape != x.shape:
        raise FileFormatError(p, f"x, y, visibility have shapes {x.shape}, {y.shape}, {vis.shape}", expected="(frames, 13) each")
    visible = vis > 0
    positions = np.where(visible[..., None], np.stack([x, y], axis=-1), np.nan)
    metadata = {"source": str(p), "action": _text(mat.get("action", "")), "view": _text(mat.get("pose", "")),
                "split": "train" if _text(mat.get("train", "1")) == "1" else "test"}  # fmt: skip
    dims = np.asarray(mat.get("dimensions", []), dtype=np.float64).ravel()
    if dims.size >= 2 and np.all(np.isfinite(dims[:2])) and np.all(dims[:2] > 0):  # [height, width, frames]
        metadata.update(image_width=int(dims[1]), image_height=int(dims[0]))
    return Tracks(positions, keypoints="PENN-13", confidence=visible.astype(np.float64), fps=fps, metadata=metadata)
