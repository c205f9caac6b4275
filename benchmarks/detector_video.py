"""Detectors on photos and on video-like frames: PCK on the LSP validation people as they are and
degraded as video frames are, and the confidence of the subject's track on the real videos.

Usage: python benchmarks/detector_video.py [--weights LSP-14 runs/detector_lsp14_video/detector.pt] [--seeds 3] [--no-videos]

For every detector given (a shipped name or a weights file):

1. lower-body and all-joint PCK@0.2 (torso) on LSP im0801-im1000 (the validation people no
   shipped detector trained on), the crops as they are;
2. the same with every crop degraded by :func:`kinelift.detect.degrade.degrade_like_video`
   (probability 1, ``--seeds`` seeded draws, the same draws for every detector; mean over seeds);
3. on each real video of ``../shared/data/real-videos`` (no labels): the tracks kept and the
   longest one's frames, mean and peak keypoint confidence (a detector that holds on video sees the
   person more confidently; a proxy, not an accuracy).

The degradations are the training augmentation itself, so (2) favours a detector trained with
them by construction; (1) says what the photos lose, (3) is the real footage.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

import numpy as np
import torch

from kinelift.detect import detect_tracks, evaluate_detector, load_detector
from kinelift.detect.crops import build_crops
from kinelift.detect.datasets import read_lsp
from kinelift.detect.degrade import degrade_like_video
from kinelift.detect.people import peak_confidence

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _degraded(crops, seed: int):
    images = crops.images.permute(0, 3, 1, 2).float() / 255.0
    out = degrade_like_video(images, rng=np.random.default_rng(seed), probability=1.0)
    return dataclasses.replace(crops, images=(out * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", nargs="+", default=["LSP-14"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-videos", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not (DATA / "lsp-train").is_dir():
        print(f"{DATA / 'lsp-train'} is not on this machine: nothing to measure")
        return
    detectors = {w: load_detector(w) for w in args.weights}
    samples = read_lsp(DATA / "lsp-train", first=801, last=1000)
    size = next(iter(detectors.values())).config.input_size
    crops = build_crops(samples, size, extent=1.0, progress=False)
    degraded = [_degraded(crops, seed) for seed in range(args.seeds)]
    print(f"LSP im0801-im1000 ({len(samples)} people), PCK@0.2 torso: lower body / all joints")
    print(f"{'detector':<45} {'photos':>13} {'as video frames':>17}")
    for name, det in detectors.items():
        clean = evaluate_detector(det, crops)
        video = [evaluate_detector(det, d) for d in degraded]
        print(f"{name:<45} {clean['pck02_torso_lower']:.3f} / {clean['pck02_torso']:.3f}   "
              f"{np.mean([v['pck02_torso_lower'] for v in video]):.3f} / {np.mean([v['pck02_torso'] for v in video]):.3f}")  # fmt: skip
    videos = sorted((DATA / "real-videos").glob("*.mp4"))
    if args.no_videos or not videos:
        return
    print("\nreal videos: tracks kept; the longest track's frames, mean and peak keypoint confidence")
    for path in videos:
        for name, det in detectors.items():
            tracks = detect_tracks(path, detector=det, progress=False)
            if not tracks:
                print(f"{path.stem:<30} {name:<45} no track kept")
                continue
            seen = [np.isfinite(t.positions[:, :, 0]).all(axis=1) for t in tracks]
            best = int(np.argmax([s.sum() for s in seen]))
            scores = tracks[best].confidence[seen[best]]
            print(f"{path.stem:<30} {name:<45} {len(tracks)} tracks; {int(seen[best].sum()):4d} frames, "
                  f"mean {scores.mean():.3f}, peak {peak_confidence(scores):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
