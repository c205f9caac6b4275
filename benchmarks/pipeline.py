"""Speed of the main job on the real videos, against each video's own frame rate.

Usage: python benchmarks/pipeline.py [--detector LSP-14 mediapipe] [--videos NAME ...] [--out build/pipeline_speed]

For every real video in ../shared/data/real-videos and every detector given (a detector whose
package is not installed is skipped with a line saying so), prints the frames per second of
(1) 2D detection alone (`kinelift.detect.detect_tracks`) and (2) the whole job (`kinelift.run`: detection, 2D
processing, lifting, keypoint IK, analysis, figures, annotated video), each with its ratio to the
video's own rate (>= 1x keeps up with the recording). One pass each (a video is long enough to time);
the machine's load is whatever it is, so run it on a quiet machine.

`mediapipe` pulls opencv-contrib-python, which clashes with opencv-python-headless in one
environment: run this script from a separate environment for the MediaPipe rows.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import time
from pathlib import Path

import torch

from kinelift.detect import detect_tracks
from kinelift.detect.mediapipe_pose import MEDIAPIPE, mediapipe_version
from kinelift.detect.video import iter_frames
from kinelift.pipeline import RunConfig, run

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-videos"


def _frames_and_rate(path: Path) -> tuple[int, float]:
    times = [t for _, chunk in iter_frames(path, chunk=64) for t in chunk]
    return len(times), (len(times) - 1) / (times[-1] - times[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detector", nargs="+", default=["LSP-14", MEDIAPIPE])
    parser.add_argument("--videos", nargs="+", default=None, help="video names without .mp4 (default: all)")
    parser.add_argument("--out", default="build/pipeline_speed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not VIDEOS.is_dir():
        print(f"{VIDEOS} is not on this machine: nothing to measure")
        return
    detectors = [d for d in args.detector if d != MEDIAPIPE or mediapipe_version() is not None]
    if len(detectors) < len(args.detector):
        print("mediapipe is not installed: its rows are skipped")
    videos = [VIDEOS / f"{v}.mp4" for v in args.videos] if args.videos else sorted(VIDEOS.glob("*.mp4"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; mediapipe {mediapipe_version()}")
    print(f"{'video':<30} {'frames':>6} {'video fps':>9}  {'detector':<10} {'detect fr/s':>11} {'ratio':>6} {'whole job fr/s':>14} {'ratio':>6}")
    for path in videos:
        n, rate = _frames_and_rate(path)
        for detector in detectors:
            started = time.perf_counter()
            detect_tracks(path, detector=detector, progress=False)
            detect_rate = n / (time.perf_counter() - started)
            out = Path(args.out) / path.stem / detector
            shutil.rmtree(out, ignore_errors=True)
            started = time.perf_counter()
            run(path, out, config=RunConfig(detector=detector), progress=False)
            job_rate = n / (time.perf_counter() - started)
            print(f"{path.stem:<30} {n:6d} {rate:9.1f}  {detector:<10} {detect_rate:11.1f} {detect_rate / rate:5.2f}x "
                  f"{job_rate:14.1f} {job_rate / rate:5.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
