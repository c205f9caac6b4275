"""Linking per-frame person detections into tracks (for multi-person detector output).

Detector files (OpenPose, COCO results, MMPose) list the people seen in each
frame without identities. :func:`link_detections` joins them over time: in each
frame, detections are matched to the open tracks by the Hungarian algorithm on
the mean distance of their shared keypoints, normalised by the track's size
(bounding-box diagonal). A match costing more than ``max_distance`` starts a new
track; a track unseen for more than ``max_missing`` frames is closed.

Examples
--------
>>> import numpy as np
>>> a = np.array([[0.0, 0.0], [0.0, 10.0]])
>>> b = a + 100.0
>>> frames = [[(a, np.ones(2)), (b, np.ones(2))], [(b + 1, np.ones(2)), (a + 1, np.ones(2))]]
>>> [track_frames for track_frames, _ in link_detections(frames)]
[[0, 1], [0, 1]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["detections_to_tracks", "link_detections", "tracks_arrays"]

Detection = tuple[np.ndarray, np.ndarray]  # positions (K, D) with NaN, confidence (K,)


def _scale(points: np.ndarray) -> float:
    ok = ~np.isnan(points[:, 0])
    if ok.sum() < 2:
        return 1.0
    span = np.nanmax(points[ok], axis=0) - np.nanmin(points[ok], axis=0)
    return max(float(np.hypot(*span[:2])), 1e-9)


def link_detections(
    frames: Sequence[Sequence[Detection]], *, max_distance: float = 0.5, max_missing: int = 10
) -> list[tuple[list[int], list[Detection]]]:
    """Join per-frame detections into tracks.

    Parameters
    ----------
    frames : sequence of sequences of (positions, confidence)
        For each frame, the people detected: positions ``(K, D)`` (NaN = missing) and confidence ``(K,)``.
    max_distance : float, default 0.5
        Largest accepted mean keypoint distance, as a fraction of the track's bounding-box diagonal.
    max_missing : int, default 10
        Frames a track may go unseen before it is closed.

    Returns
    -------
    list of (frame indices, detections)
        One entry per track, in order of first appearance.
    """
    tracks: list[tuple[list[int], list[Detection]]] = []
    open_ids: list[int] = []
    for f, detections in enumerate(frames):
        open_ids = [i for i in open_ids if f - tracks[i][0][-1] <= max_missing + 1]
        assigned: dict[int, int] = {}
        if open_ids and detections:
            cost = np.full((len(open_ids), len(detections)), np.inf)
            for r, tid in enumerate(open_ids):
                last = tracks[tid][1][-1][0]
                scale = _scale(last)
                for c, (pos, _) in enumerate(detections):
                    both = ~np.isnan(last[:, 0]) & ~np.isnan(pos[:, 0])
                    if both.any():
                        cost[r, c] = float(np.mean(np.linalg.norm(last[both] - pos[both], axis=1))) / scale
            finite = np.where(np.isfinite(cost), cost, 1e12)
            rows, cols = linear_sum_assignment(finite)
            for r, c in zip(rows, cols):
                if cost[r, c] <= max_distance:
                    assigned[c] = open_ids[r]
        for c, det in enumerate(detections):
            if c in assigned:
                tid = assigned[c]
            else:
                tracks.append(([], []))
                tid = len(tracks) - 1
                open_ids.append(tid)
            tracks[tid][0].append(f)
            tracks[tid][1].append(det)
    return tracks


def tracks_arrays(
    frame_indices: Sequence[int], detections: Sequence[Detection], n_frames: int, n_keypoints: int, n_dims: int
) -> tuple[np.ndarray, np.ndarray]:
    """Dense ``(n_frames, K, D)`` positions (NaN where unseen) and ``(n_frames, K)`` confidence for one track."""
    pos = np.full((n_frames, n_keypoints, n_dims), np.nan)
    conf = np.zeros((n_frames, n_keypoints))
    idx = np.asarray(frame_indices, dtype=int)
    if len(idx):
        pos[idx] = np.stack([d[0] for d in detections])
        conf[idx] = np.stack([d[1] for d in detections])
    return pos, conf


def detections_to_tracks(
    frames: Sequence[Sequence[Detection]],
    ids: Sequence[Sequence[int | None]] | None,
    *,
    time: np.ndarray,
    n_keypoints: int,
    n_dims: int,
    max_distance: float = 0.5,
    max_missing: int = 10,
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """``(person_id, positions, confidence)`` per person, from per-frame detections.

    Detections with an id (``ids[f][i]`` not None) are grouped by id; the others are
    joined by :func:`link_detections` and numbered after the largest given id.
    """
    by_id: dict[int, tuple[list[int], list[Detection]]] = {}
    anonymous: list[list[Detection]] = [[] for _ in frames]
    for f, dets in enumerate(frames):
        for i, det in enumerate(dets):
            pid = None if ids is None else ids[f][i]
            if pid is None:
                anonymous[f].append(det)
            else:
                entry = by_id.setdefault(int(pid), ([], []))
                entry[0].append(f)
                entry[1].append(det)
    out = []
    for pid in sorted(by_id):
        pos, conf = tracks_arrays(*by_id[pid], len(time), n_keypoints, n_dims)
        out.append((pid, pos, conf))
    next_id = max(by_id, default=-1) + 1
    for frame_idx, dets in link_detections(anonymous, max_distance=max_distance, max_missing=max_missing):
        pos, conf = tracks_arrays(frame_idx, dets, len(time), n_keypoints, n_dims)
        out.append((next_id, pos, conf))
        next_id += 1
    return out
