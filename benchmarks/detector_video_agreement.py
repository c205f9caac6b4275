"""kinelift's person following beside MediaPipe's BlazePose on the real videos (no labels: agreement, not accuracy).

Usage, in two environments (mediapipe pulls opencv-contrib-python, which clashes with
opencv-python-headless):

    # with mediapipe 0.10.14 installed: MediaPipe's tracks of every video, kept as HDF5
    python benchmarks/detector_video_agreement.py --save-mediapipe build/mediapipe_tracks
    # kinelift's environment: kinelift's tracks compared with them
    python benchmarks/detector_video_agreement.py --mediapipe build/mediapipe_tracks [--weights LSP-14] [--per-frame sports2d_soccer]
        [--no-flip] [--videos sports2d_soccer ...]

For every video of ../shared/data/real-videos and every track kinelift's `detect_tracks` keeps,
prints the frames with a pose, the frames where MediaPipe follows the same person (the hips'
midpoints within 0.5 of MediaPipe's torso: right shoulder to left hip), and over those frames the
lower-body (hips, knees, ankles) PCK@0.2 of that torso with MediaPipe's landmarks as the reference:
as labelled, and side-free (each frame scored with the left and right points swapped too, the
better kept: side views, where either detector may swap the legs), and double counting: of the
frames where MediaPipe's two knees (ankles) are more than 0.3 torso apart, the share where
kinelift's are within 0.1 torso of each other (both sides on one leg), with the double-counted
ankles' spans (consecutive frames) and the lower of the two ankles' confidences there against the
frames where kinelift's ankles are apart too. MediaPipe is a peer whose own
errors count against kinelift here; a track that sits on the wrong person or on a crop cut through
the person scores low on every count. The seconds `detect_tracks` took per video are printed beside
(--no-flip: without the flip test, the network run once per crop instead of twice; --flip-below:
`detect_tracks`' rule for reading a clearly seen person without it, 1 for the flip test on every crop); --precision
bfloat16: the network in bfloat16, `detect_tracks(precision=)`).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import time
from pathlib import Path

import numpy as np

from kinelift.core import Tracks
from kinelift.detect import detect_tracks
from kinelift.detect.inference import FLIP_BELOW
from kinelift.detect.metrics import pck, torso_sizes
from kinelift.detect.predict import PRECISIONS
from kinelift.io import read_tracks, save

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-videos"
LOWER = ("right_hip", "left_hip", "right_knee", "left_knee", "right_ankle", "left_ankle")
SWAPPED = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
SAME_PERSON = 0.5
APART, TOGETHER = 0.3, 0.1  # double counting: MediaPipe's two points more than APART torso apart, kinelift's within TOGETHER


def _reference(tracks: list[Tracks], n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe's lower-body points ``(tracks, frames, 6, 2)`` and torso sizes ``(tracks, frames)``, NaN where a track has no pose."""
    points = np.full((len(tracks), n_frames, len(LOWER), 2), np.nan)
    torso = np.full((len(tracks), n_frames), np.nan)
    for i, t in enumerate(tracks):
        n = min(n_frames, t.n_frames)
        points[i, :n] = t.select(LOWER).positions[:n]
        torso[i, :n] = torso_sizes(t.positions[:n], t.keypoint_set)
    return points, torso


def _agreement(track: Tracks, reference: np.ndarray, torso: np.ndarray) -> dict[str, float | int | np.ndarray]:
    n = min(track.n_frames, reference.shape[1])
    mine, swapped = track.select(LOWER).positions[:n], track.select(SWAPPED).positions[:n]
    hips = mine[:, :2].mean(axis=1)
    gap = np.linalg.norm(reference[:, :n, :2].mean(axis=2) - hips[None], axis=-1) / torso[:, :n]  # (tracks, frames)
    gap = np.where(np.isfinite(gap), gap, np.inf)
    nearest = gap.argmin(axis=0)
    same = gap[nearest, np.arange(n)] < SAME_PERSON
    target = reference[nearest, np.arange(n)]
    size = torso[nearest, np.arange(n)]
    labelled = np.repeat(same[:, None], len(LOWER), axis=1)
    per_frame = np.full(n, np.nan)
    if same.any():
        near = np.linalg.norm(mine - target, axis=-1) <= 0.2 * size[:, None]
        far = np.linalg.norm(swapped - target, axis=-1) <= 0.2 * size[:, None]
        per_frame = np.where(same, np.maximum(near.mean(axis=1), far.mean(axis=1)), np.nan)
    _, strict = pck(mine, np.nan_to_num(target), labelled, thresholds=0.2 * np.nan_to_num(size, nan=1.0))
    double: dict[str, float | str] = {}
    confidence = track.select(LOWER).confidence[:n]
    for joint, (r, l) in (("knee", (2, 3)), ("ankle", (4, 5))):  # LOWER's order
        apart = same & (np.linalg.norm(target[:, r] - target[:, l], axis=-1) > APART * size)
        together = apart & (np.linalg.norm(mine[:, r] - mine[:, l], axis=-1) < TOGETHER * size)
        double[joint] = float(together.sum() / apart.sum()) if apart.any() else np.nan
        if joint == "ankle":  # how long a double counting lasts, and how confident the detector is there
            edges = np.diff(np.r_[0, together.astype(int), 0])
            spans = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
            double["spans"] = f"{spans.min()}-{spans.max()} (median {np.median(spans):g})" if len(spans) else "-"
            lower = confidence[:, [r, l]].min(axis=1)
            separate = apart & ~together
            double["confidence"] = (f"{lower[together].mean():.2f} / {lower[separate].mean():.2f}"
                                    if together.any() and separate.any() else "-")  # fmt: skip
    posed = np.isfinite(track.positions).all(axis=-1).all(axis=-1)
    return {"posed": int(posed.sum()), "first": int(np.argmax(posed)) if posed.any() else -1,
            "last": int(len(posed) - 1 - np.argmax(posed[::-1])) if posed.any() else -1, "same": int(same.sum()),
            "strict": strict if same.any() else np.nan, "side_free": float(np.nanmean(per_frame)) if same.any() else np.nan,
            "per_frame": per_frame, "double_knee": double["knee"], "double_ankle": double["ankle"], "double_spans": double["spans"],
            "double_confidence": double["confidence"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save-mediapipe", type=Path, help="write MediaPipe's tracks of every video here (needs mediapipe)")
    parser.add_argument("--mediapipe", type=Path, help="compare kinelift's tracks with the MediaPipe tracks written here")
    parser.add_argument("--weights", default="LSP-14", help="kinelift's detector: a shipped name or a weights file")
    parser.add_argument("--videos", nargs="*", help="only these videos (stems; e.g. those a fine-tune on labelled frames did not see)")
    parser.add_argument("--per-frame", nargs="*", default=[], help="videos (stems) whose per-frame side-free PCK is printed")
    parser.add_argument("--no-flip", action="store_true", help="detect_tracks without the flip test (flip=False)")
    parser.add_argument("--flip-below", type=float, default=FLIP_BELOW,
                        help="detect_tracks' flip_below (1: the flip test on every crop, as before 0.3.15; default %(default)s)")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS, help="detect_tracks' precision (the network's arithmetic)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    videos = [v for v in sorted(VIDEOS.glob("*.mp4")) if not args.videos or v.stem in args.videos]
    if not videos:
        print(f"skipped: no videos in {VIDEOS}")
        return
    if args.save_mediapipe:
        if importlib.util.find_spec("mediapipe") is None:
            raise SystemExit("--save-mediapipe needs mediapipe (pip install mediapipe==0.10.14, in an environment of its own)")
        args.save_mediapipe.mkdir(parents=True, exist_ok=True)
        for video in videos:
            tracks = detect_tracks(video, detector="mediapipe", progress=False)
            save(args.save_mediapipe / f"{video.stem}.h5", tracks=tracks, overwrite=True)
            print(f"{video.stem}: {len(tracks)} MediaPipe tracks written")
        return
    if not args.mediapipe:
        parser.error("give --mediapipe DIR (written by --save-mediapipe DIR in an environment with mediapipe)")
    flip = " without the flip test" if args.no_flip else f" (flip_below {args.flip_below:g})"
    print(f"kinelift {args.weights}{flip}, precision {args.precision}, against MediaPipe's BlazePose: "
          "lower-body PCK@0.2 (torso) on the frames where both follow the same person")  # fmt: skip
    print(f"{'video':30s} {'track':>5s} {'frames with a pose':>20s} {'same person':>11s} {'PCK':>6s} {'side-free':>9s} "
          f"{'double knees':>12s} {'ankles':>6s} {'ankle spans (frames)':>22s} {'conf. double / apart':>20s} {'seconds':>8s}")  # fmt: skip
    for video in videos:
        peer = args.mediapipe / f"{video.stem}.h5"
        if not peer.exists():
            print(f"{video.stem:30s} skipped: no {peer}")
            continue
        reference = [t for t in read_tracks(peer) if set(LOWER) <= set(t.keypoint_names)]
        if not reference:
            print(f"{video.stem:30s} skipped: {peer} holds no track with the hips, knees and ankles")
            continue
        start = time.perf_counter()
        tracks = detect_tracks(video, detector=args.weights, progress=False, flip=not args.no_flip, flip_below=args.flip_below,
                               precision=args.precision)
        seconds = time.perf_counter() - start
        points, torso = _reference(reference, max([t.n_frames for t in tracks + reference], default=0))
        for track in tracks:
            a = _agreement(track, points, torso)
            span = f"{a['posed']} ({a['first']}-{a['last']})"
            print(f"{video.stem:30s} {track.person_id!s:>5s} {span:>20s} {a['same']:>11d} {a['strict']:>6.3f} {a['side_free']:>9.3f} "
                  f"{a['double_knee']:>12.2f} {a['double_ankle']:>6.2f} {a['double_spans']:>22s} {a['double_confidence']:>20s} "
                  f"{seconds:8.1f}")  # fmt: skip
            if video.stem in args.per_frame:
                shown = [f"{f}:{v:.2f}" for f, v in enumerate(a["per_frame"]) if np.isfinite(v)]
                print("    per frame (side-free): " + " ".join(shown))


if __name__ == "__main__":
    main()
