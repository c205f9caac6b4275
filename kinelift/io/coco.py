"""COCO keypoint annotations and COCO keypoint results (read and write).

*Annotations* (``person_keypoints_*.json``): ``images``, ``annotations`` with
``keypoints = [x, y, v, ...]`` (v: 0 not labelled, 1 labelled but occluded,
2 visible) and ``categories`` naming the keypoints. *Results* (detector output,
as COCO's evaluation reads it): a list of ``{"image_id", "category_id",
"keypoints": [x, y, score, ...], "score"}``.

Images are taken as the frames of one video, in order of ``frame_id`` when every
image has one (PoseTrack style), else of image ``id``. People are grouped by
``track_id`` when present, else linked across frames (:mod:`kinelift.io.linking`).
Timing: an image's ``time`` field (seconds, as :func:`write_coco` writes), else
``frame index / fps``.

The images' ``width`` and ``height`` (when every image gives the same) become the tracks'
image size (``Tracks.image_size``); the writer writes them when the tracks know it.

Confidence from visibility flags: v=2 -> 1.0, v=1 -> 0.5 (position kept), v=0 -> missing.
The writer maps back: confidence >= 0.75 -> 2, > 0 -> 1, missing -> 0.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from kinelift import Tracks
>>> from kinelift.io.coco import read_coco, write_coco
>>> t = Tracks(np.full((2, 17, 2), 3.0), keypoints="COCO-17", fps=25.0)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "ann.json"
>>> write_coco([t], path)
>>> read_coco(path)[0].time
array([0.  , 0.04])
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kinelift.core.keypoint_sets import KeypointSet, get_keypoint_set
from kinelift.core.tracks import IMAGE_SIZE_KEYS, Tracks
from kinelift.errors import FileFormatError, ValueRangeError
from kinelift.io._atomic import atomic_path
from kinelift.io._common import existing_path, float_array, read_json, reading, require_2d_pixel_tracks, require_fps
from kinelift.io.linking import detections_to_tracks

__all__ = ["read_coco", "write_coco", "read_coco_results", "write_coco_results", "is_coco_annotations", "is_coco_results"]

_VIS_TO_CONF = {0: 0.0, 1: 0.5, 2: 1.0}


def is_coco_annotations(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("annotations"), list) and isinstance(doc.get("images"), list)


def is_coco_results(doc: Any) -> bool:
    return isinstance(doc, list) and bool(doc) and isinstance(doc[0], dict) and "image_id" in doc[0] and "keypoints" in doc[0]


def _keypoint_set_from_categories(doc: dict, path: Path) -> KeypointSet:
    categories = doc.get("categories", [])
    cats = [c for c in categories if isinstance(c, dict) and c.get("keypoints")] if isinstance(categories, list) else []
    if not cats:
        return get_keypoint_set("COCO-17")
    if not isinstance(cats[0]["keypoints"], list) or not isinstance(cats[0].get("skeleton", []), list):
        raise FileFormatError(path, "categories[].keypoints or .skeleton is not a list")
    names = tuple(str(n) for n in cats[0]["keypoints"])
    coco = get_keypoint_set("COCO-17")
    if names == coco.names:
        return coco
    with reading(path):
        edges = float_array(cats[0].get("skeleton", []), path, "categories[].skeleton").reshape(-1, 2).astype(int) - 1
        return KeypointSet("custom", names, tuple(map(tuple, edges.tolist())))


def _frame_order(images: list[dict], path: Path) -> tuple[dict[int, int], list[dict]]:
    for i, img in enumerate(images):
        if not isinstance(img, dict) or not isinstance(img.get("id"), (int, str)):
            raise FileFormatError(path, f"images[{i}] has no integer or string 'id'")
    key = "frame_id" if all(isinstance(img.get("frame_id"), int) for img in images) else "id"
    if len({type(img[key]) for img in images}) > 1:
        raise FileFormatError(path, f"images[].{key} mixes numbers and strings")
    ordered = sorted(images, key=lambda img: img[key])
    return {img["id"]: f for f, img in enumerate(ordered)}, ordered


def _timeline(ordered: list[dict], fps: float | None, path: Path) -> tuple[np.ndarray, float | None]:
    if ordered and all("time" in img for img in ordered):
        return float_array([img["time"] for img in ordered], path, "images[].time"), fps
    fps = require_fps(fps, path, "COCO")
    return np.arange(len(ordered)) / fps, fps


def _image_size(images: list[dict], path: Path) -> dict[str, int]:
    """The images' common ``width`` and ``height`` as track metadata (:data:`IMAGE_SIZE_KEYS`), or
    nothing when they are not given or differ between images; a common size that is not two
    positive whole numbers is refused."""
    sizes = {(img.get("width"), img.get("height")) for img in images}
    if len(sizes) != 1:
        return {}
    w, h = sizes.pop()
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (w, h)):
        if (w, h) != (None, None):
            raise FileFormatError(path, f"images[].width/height are {w!r}/{h!r}", expected="positive whole numbers of pixels")
        return {}
    return dict(zip(IMAGE_SIZE_KEYS, (w, h)))


def _people(frames, ids, time, fps, keypoint_set, path, fmt, image_size=None, **link) -> list[Tracks]:
    people = detections_to_tracks(frames, ids, time=time, n_keypoints=len(keypoint_set), n_dims=2, **link)
    with reading(path):
        return [
            Tracks(pos, keypoints=keypoint_set, confidence=conf, time=time, fps=fps, person_id=pid,
                   metadata={"source": str(path), "format": fmt, **(image_size or {})})
            for pid, pos, conf in people
        ]  # fmt: skip


def read_coco(
    path: str | os.PathLike[str], *, fps: float | None = None, max_distance: float = 0.5, max_missing: int = 10
) -> list[Tracks]:
    """Read COCO keypoint annotations into one :class:`Tracks` per person (2D pixels).

    Parameters
    ----------
    path : path-like
        Annotation JSON.
    fps : float, optional
        Frame rate; required unless every image has a ``time`` field.
    max_distance, max_missing
        Linking parameters for annotations without ``track_id``.
    """
    path = existing_path(path)
    doc = read_json(path)
    if not is_coco_annotations(doc):
        raise FileFormatError(path, "not COCO annotations", expected='{"images": [...], "annotations": [...]}')
    keypoint_set = _keypoint_set_from_categories(doc, path)
    frame_of, ordered = _frame_order(doc["images"], path)
    time, fps = _timeline(ordered, fps, path)
    frames: list[list] = [[] for _ in ordered]
    ids: list[list] = [[] for _ in ordered]
    for i, ann in enumerate(doc["annotations"]):
        if not isinstance(ann, dict) or "keypoints" not in ann or "image_id" not in ann:
            raise FileFormatError(path, f"annotations[{i}] lacks 'keypoints' or 'image_id'")
        if not isinstance(ann["image_id"], (int, str)) or ann["image_id"] not in frame_of:
            raise FileFormatError(path, f"annotations[{i}].image_id {ann['image_id']!r} is not in images")
        xyv = float_array(ann["keypoints"], path, f"annotations[{i}].keypoints", shape=(3 * len(keypoint_set),)).reshape(-1, 3)
        vis = xyv[:, 2]
        if not np.all(np.isin(vis, (0, 1, 2))):
            raise FileFormatError(path, f"annotations[{i}]: visibility flags other than 0, 1, 2")
        conf = np.vectorize(_VIS_TO_CONF.get)(vis.astype(int)).astype(float)
        pos = np.where((vis > 0)[:, None], xyv[:, :2], np.nan)
        f = frame_of[ann["image_id"]]
        frames[f].append((pos, conf))
        track_id = ann.get("track_id")
        if track_id is not None and (not isinstance(track_id, int) or isinstance(track_id, bool)):
            raise FileFormatError(path, f"annotations[{i}].track_id is {track_id!r}", expected="an integer")
        ids[f].append(track_id)
    return _people(frames, ids, time, fps, keypoint_set, path, "coco", _image_size(ordered, path), max_distance=max_distance,
                   max_missing=max_missing)  # fmt: skip


def read_coco_results(
    path: str | os.PathLike[str], *, fps: float | None = None, max_distance: float = 0.5, max_missing: int = 10
) -> list[Tracks]:
    """Read COCO keypoint results (COCO-17 detector output) into tracks; ``fps`` is required.

    Each distinct ``image_id`` (sorted) is a frame; keypoint scores become confidences
    (clipped to [0, 1]; a score of 0 marks a missing point).
    """
    path = existing_path(path)
    doc = read_json(path)
    if not is_coco_results(doc):
        raise FileFormatError(path, "not COCO keypoint results", expected='[{"image_id", "keypoints": [x, y, score, ...]}]')
    fps = require_fps(fps, path, "COCO results")
    keypoint_set = get_keypoint_set("COCO-17")
    for i, r in enumerate(doc):
        if not isinstance(r, dict) or not isinstance(r.get("image_id"), (int, str)) or "keypoints" not in r:
            raise FileFormatError(path, f"[{i}] lacks an integer or string 'image_id', or 'keypoints'")
    if len({type(r["image_id"]) for r in doc}) > 1:
        raise FileFormatError(path, "image_id values mix numbers and strings")
    image_ids = sorted({r["image_id"] for r in doc})
    frame_of = {iid: f for f, iid in enumerate(image_ids)}
    frames: list[list] = [[] for _ in image_ids]
    for i, r in enumerate(doc):
        xys = float_array(r["keypoints"], path, f"[{i}].keypoints", shape=(3 * len(keypoint_set),)).reshape(-1, 3)
        if not np.all(np.isfinite(xys)):
            raise FileFormatError(path, f"[{i}].keypoints has NaN or inf")
        conf = np.clip(xys[:, 2], 0.0, 1.0)
        pos = np.where((conf > 0)[:, None], xys[:, :2], np.nan)
        frames[frame_of[r["image_id"]]].append((pos, conf))
    time = np.arange(len(image_ids)) / fps
    return _people(frames, None, time, fps, keypoint_set, path, "coco-results", max_distance=max_distance, max_missing=max_missing)


def _check_2d_px(tracks: Sequence[Tracks]) -> KeypointSet:
    ks = require_2d_pixel_tracks(tracks)[0].keypoint_set
    for t in tracks:
        if t.keypoint_set != ks:
            raise ValueRangeError("tracks", expected=f"2D pixel tracks, all of {ks.name}", got=t.keypoint_set.name)
    return ks


def _frame_times(tracks: Sequence[Tracks]) -> np.ndarray:
    return np.unique(np.concatenate([t.time for t in tracks]))


def _bbox(pos: np.ndarray) -> list[float]:
    ok = ~np.isnan(pos[:, 0])
    if not ok.any():
        return [0.0, 0.0, 0.0, 0.0]
    lo, hi = pos[ok].min(axis=0), pos[ok].max(axis=0)
    return [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]


def write_coco(tracks: Sequence[Tracks], path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Write 2D pixel tracks as COCO keypoint annotations (one image per frame time, with ``time`` and ``track_id``)."""
    tracks = list(tracks)
    ks = _check_2d_px(tracks)
    times = _frame_times(tracks)
    images = [{"id": i + 1, "frame_id": i, "time": float(t), "file_name": f"frame_{i:06d}.jpg"} for i, t in enumerate(times)]
    sizes = {t.image_size for t in tracks}
    if len(sizes) == 1 and (size := sizes.pop()) is not None:  # the images' size, when the tracks know it
        for img in images:
            img["width"], img["height"] = size
    annotations = []
    for t in tracks:
        frame = np.searchsorted(times, t.time)
        for i in range(t.n_frames):
            valid = t.valid[i]
            if not valid.any():
                continue
            vis = np.where(~valid, 0, np.where(t.confidence[i] >= 0.75, 2, 1))
            xyv = np.concatenate([np.nan_to_num(t.positions[i]), vis[:, None]], axis=1)
            annotations.append({
                "id": len(annotations) + 1, "image_id": int(frame[i]) + 1, "category_id": 1, "iscrowd": 0,
                "track_id": t.person_id if isinstance(t.person_id, int) else len(annotations),
                "keypoints": [float(v) for v in xyv.ravel()], "num_keypoints": int(valid.sum()), "bbox": _bbox(t.positions[i]),
            })  # fmt: skip
    categories = [{"id": 1, "name": "person", "supercategory": "person", "keypoints": list(ks.names),
                   "skeleton": [[a + 1, b + 1] for a, b in ks.edges]}]  # fmt: skip
    doc = {"info": {"description": "written by kinelift"}, "images": images, "annotations": annotations, "categories": categories}
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(doc))


def write_coco_results(tracks: Sequence[Tracks], path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Write COCO-17 pixel tracks as COCO keypoint results (``image_id`` = frame number + 1; score = mean confidence)."""
    tracks = list(tracks)
    ks = _check_2d_px(tracks)
    if ks.name != "COCO-17":
        raise ValueRangeError("tracks", expected="COCO-17 tracks for COCO results", got=ks.name)
    times = _frame_times(tracks)
    results = []
    for t in tracks:
        frame = np.searchsorted(times, t.time)
        for i in range(t.n_frames):
            valid = t.valid[i]
            if not valid.any():
                continue
            conf = np.where(valid, t.confidence[i], 0.0)
            xys = np.concatenate([np.nan_to_num(t.positions[i]), conf[:, None]], axis=1)
            results.append({"image_id": int(frame[i]) + 1, "category_id": 1, "keypoints": [float(v) for v in xys.ravel()],
                            "score": float(conf[valid].mean())})  # fmt: skip
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(results))
