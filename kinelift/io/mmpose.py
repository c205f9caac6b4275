"""MMPose inferencer predictions (read and write).

``MMPoseInferencer(..., pred_out_dir=...)`` saves, for a video, a JSON list of
frames ``[{"frame_id": i, "instances": [{"keypoints": [[x, y], ...],
"keypoint_scores": [...], "bbox": [[x1, y1, x2, y2]], "bbox_score": s}, ...]}]``,
and for an image a plain list of instances. Both are read. The keypoint set
follows from the number of points (17: COCO-17, 26: HALPE-26, 33: MEDIAPIPE-33,
25: BODY-25, 14: LSP-14, 6: LOWER-6) unless ``keypoints=`` names it. Instances are
linked across frames by :mod:`kinelift.io.linking`; ``fps`` is required.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from kinelift import Tracks
>>> from kinelift.io.mmpose import read_mmpose, write_mmpose
>>> t = Tracks(np.full((2, 17, 2), 8.0), keypoints="COCO-17", fps=30.0)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "pred.json"
>>> write_mmpose([t], path)
>>> read_mmpose(path, fps=30.0)[0].keypoint_set.name
'COCO-17'
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kinelift.core.keypoint_sets import KeypointSet, get_keypoint_set
from kinelift.core.tracks import Tracks, as_keypoint_set
from kinelift.errors import FileFormatError
from kinelift.io._atomic import atomic_path
from kinelift.io._common import (
    check_frame_span, existing_path, float_array, frame_numbers, read_json, reading, require_2d_pixel_tracks, require_fps,
)
from kinelift.io.linking import detections_to_tracks

__all__ = ["read_mmpose", "write_mmpose", "is_mmpose"]

_BY_COUNT = {17: "COCO-17", 26: "HALPE-26", 33: "MEDIAPIPE-33", 25: "BODY-25", 14: "LSP-14", 6: "LOWER-6"}


def is_mmpose(doc: Any) -> bool:
    if not isinstance(doc, list) or not doc or not isinstance(doc[0], dict):
        return False
    return "instances" in doc[0] or ("keypoints" in doc[0] and "keypoint_scores" in doc[0])


def read_mmpose(
    path: str | os.PathLike[str],
    *,
    fps: float | None = None,
    keypoints: str | KeypointSet | None = None,
    max_distance: float = 0.5,
    max_missing: int = 10,
) -> list[Tracks]:
    """Read MMPose predictions into one 2D pixel :class:`Tracks` per person.

    Parameters
    ----------
    path : path-like
        The predictions JSON.
    fps : float
        Frame rate (required).
    keypoints : str or KeypointSet, optional
        Keypoint set; inferred from the point count by default.
    """
    path = existing_path(path)
    doc = read_json(path)
    if not is_mmpose(doc):
        raise FileFormatError(path, "not MMPose predictions", expected='[{"frame_id": 0, "instances": [{"keypoints": ..., "keypoint_scores": ...}]}]')
    fps = require_fps(fps, path, "MMPose")
    if "instances" not in doc[0]:
        doc = [{"frame_id": 0, "instances": doc}]
    for i, fr in enumerate(doc):
        if not isinstance(fr, dict) or not isinstance(fr.get("instances"), list):
            raise FileFormatError(path, f"[{i}] has no 'instances' list")
        fid = fr.get("frame_id", i)
        if not isinstance(fid, int) or isinstance(fid, bool) or fid < 0:
            raise FileFormatError(path, f"[{i}].frame_id is {fid!r}", expected="a non-negative integer")
    numbered = sorted(((fr.get("frame_id", i), fr) for i, fr in enumerate(doc)), key=lambda pair: pair[0])
    frame_ids = [fid for fid, _ in numbered]
    doc = [fr for _, fr in numbered]
    if len(set(frame_ids)) != len(frame_ids):
        raise FileFormatError(path, "repeated frame_id")
    first = frame_ids[0]
    n_frames = check_frame_span(path, first, frame_ids[-1], len(frame_ids))
    frames: list[list] = [[] for _ in range(n_frames)]
    keypoint_set = as_keypoint_set(keypoints) if keypoints is not None else None
    for fr, fid in zip(doc, frame_ids):
        for j, inst in enumerate(fr["instances"]):
            where = f"frame_id {fid} instances[{j}]"
            if not isinstance(inst, dict) or "keypoints" not in inst:
                raise FileFormatError(path, f"{where} has no 'keypoints'")
            xy = float_array(inst["keypoints"], path, f"{where}.keypoints")
            if xy.ndim != 2 or xy.shape[1] != 2:
                raise FileFormatError(path, f"{where}.keypoints has shape {xy.shape}", expected="(K, 2)")
            if keypoint_set is None:
                if xy.shape[0] not in _BY_COUNT:
                    raise FileFormatError(path, f"{xy.shape[0]} keypoints: set unknown", expected=f"one of {sorted(_BY_COUNT)} or keypoints=")
                keypoint_set = get_keypoint_set(_BY_COUNT[xy.shape[0]])
            if xy.shape[0] != len(keypoint_set):
                raise FileFormatError(path, f"{where}: {xy.shape[0]} keypoints", expected=f"{len(keypoint_set)} ({keypoint_set.name})")
            scores = float_array(inst.get("keypoint_scores", [1.0] * len(xy)), path, f"{where}.keypoint_scores", shape=(len(xy),))
            if not np.all(np.isfinite(xy)) or not np.all(np.isfinite(scores)):
                raise FileFormatError(path, f"{where}: NaN or inf values")
            conf = np.clip(scores, 0.0, 1.0)
            frames[fid - first].append((np.where((conf > 0)[:, None], xy, np.nan), conf))
    if keypoint_set is None:
        raise FileFormatError(path, "no instance in any frame")
    time = (first + np.arange(n_frames)) / fps
    people = detections_to_tracks(frames, None, time=time, n_keypoints=len(keypoint_set), n_dims=2,
                                  max_distance=max_distance, max_missing=max_missing)  # fmt: skip
    with reading(path):
        return [
            Tracks(pos, keypoints=keypoint_set, confidence=conf, time=time, fps=fps, person_id=pid,
                   metadata={"source": str(path), "format": "mmpose"})
            for pid, pos, conf in people
        ]  # fmt: skip


def write_mmpose(tracks: Sequence[Tracks], path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Write 2D pixel tracks as MMPose video predictions (``frame_id = round(time * fps)``).

    Missing points are written at (0, 0) with score 0.
    """
    tracks = require_2d_pixel_tracks(tracks)
    by_frame: dict[int, list[dict]] = {}
    for t in tracks:
        for i, f in enumerate(frame_numbers(t)):
            valid = t.valid[i]
            if not valid.any():
                continue
            xy = np.nan_to_num(t.positions[i])
            ok = t.positions[i][valid]
            bbox = [float(v) for v in (*ok.min(axis=0), *ok.max(axis=0))]
            scores = np.where(valid, t.confidence[i], 0.0)
            by_frame.setdefault(int(f), []).append({
                "keypoints": xy.tolist(), "keypoint_scores": scores.tolist(), "bbox": [bbox], "bbox_score": float(scores[valid].mean()),
            })  # fmt: skip
    lo, hi = min(by_frame), max(by_frame)
    doc = [{"frame_id": f, "instances": by_frame.get(f, [])} for f in range(lo, hi + 1)]
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(doc))
