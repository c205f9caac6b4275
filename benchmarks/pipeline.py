"""Speed of the main job on the real videos, per stage, against each video's own frame rate.

Usage: python benchmarks/pipeline.py [--detector LSP-14 mediapipe] [--videos NAME ...] [--no-1080p] [--no-phone] [--repeats N]
                                     [--max-fps 30] [--out build/pipeline_speed]

For every real video in ../shared/data/real-videos, three copies of the 1280x720 lateral raise that
this script writes first (x264, CRF 18): scaled to 1920x1080, a phone's portrait video (the
9:16 window around the person scaled to 1080x1920, stored as a phone stores portrait: 1920x1080
frames and a display rotation of -90 deg, which kinelift reads upright), and the same at 60
frames/s, as phones film sport (each frame twice: for timing; `kinelift run` reads it at its
`max_fps` of 30), and every detector given (a
detector whose package is not installed is skipped with a line saying so), runs the whole job
(`kinelift.run`) once and prints the frames per second of each stage (`RunSummary.stage_seconds`:
2D detection with choosing the subject, lifting, processing and analysis together, the wait for
the annotated video after the other outputs (since 0.3.6 it is written beside them, in a second
thread; "inf": no wait), the other outputs and figures) and of the whole job, with the whole
job's ratio to the video's own rate (>= 1x keeps up with the recording); with `--repeats N` each
video runs N times from scratch and the medians are printed, with the whole job's range. The
machine's load is whatever it is, so run it on a quiet machine.

`mediapipe` pulls opencv-contrib-python, which clashes with opencv-python-headless in one
environment: run this script from a separate environment for the MediaPipe rows.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from kinelift.detect.mediapipe_pose import MEDIAPIPE, mediapipe_version
from kinelift.detect.video import frame_size, iter_frames
from kinelift.pipeline import RunConfig, run

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-videos"
UPSCALED = "sports2d_lateral_raise_front"


def _frames_and_rate(path: Path) -> tuple[int, float]:
    times = [t for _, chunk in iter_frames(path, chunk=64) for t in chunk]
    return len(times), (len(times) - 1) / (times[-1] - times[0])


def _video_copy(source: Path, path: Path, size: tuple[int, int], *, portrait: bool = False, repeat: int = 1) -> Path:
    """``source`` scaled to ``size`` (width, height), same frames and rate, written to ``path``. With
    ``portrait``, the 9:16 window around the frame's centre instead, stored turned a quarter turn
    counterclockwise with a display rotation of -90 deg (as a phone stores a portrait video).
    ``repeat``: each frame that many times, at that many times the rate."""
    import av
    import cv2

    _, rate = _frames_and_rate(source)
    stored = (size[1], size[0]) if portrait else size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(rate * repeat).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = stored[0], stored[1], "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "18"}
        if portrait:
            stream.set_display_rotation(-90)  # shown a quarter turn clockwise
        for frames, _ in iter_frames(source, chunk=32):
            for frame in frames:
                if portrait:
                    width = int(round(frame.shape[0] * size[0] / size[1]))
                    left = (frame.shape[1] - width) // 2
                    frame = frame[:, left:left + width]
                big = cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC)
                big = cv2.rotate(big, cv2.ROTATE_90_COUNTERCLOCKWISE) if portrait else big
                for _ in range(repeat):
                    for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(big), format="rgb24")):
                        container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detector", nargs="+", default=["LSP-14", MEDIAPIPE])
    parser.add_argument("--videos", nargs="+", default=None, help="video names without .mp4 (default: all)")
    parser.add_argument("--no-1080p", action="store_true", help="skip the 1920x1080 copy of the lateral raise")
    parser.add_argument("--no-phone", action="store_true", help="skip the portrait phone copies of the lateral raise (1080x1920, 30 and 60 fps)")
    parser.add_argument("--out", default="build/pipeline_speed")
    parser.add_argument("--max-fps", type=float, default=RunConfig().max_fps,
                        help="RunConfig.max_fps: faster videos are read thinned to this rate (default %(default)s; 0: every frame)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each video (from scratch each time); the median of each figure")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    logging.basicConfig(level=logging.WARNING)
    if not VIDEOS.is_dir():
        print(f"{VIDEOS} is not on this machine: nothing to measure")
        return
    detectors = [d for d in args.detector if d != MEDIAPIPE or mediapipe_version() is not None]
    if len(detectors) < len(args.detector):
        print("mediapipe is not installed: its rows are skipped")
    videos = [VIDEOS / f"{v}.mp4" for v in args.videos] if args.videos else sorted(VIDEOS.glob("*.mp4"))
    scratch = Path(tempfile.mkdtemp(prefix="kinelift-bench-"))
    try:
        if (VIDEOS / f"{UPSCALED}.mp4").exists():
            if not args.no_1080p:
                videos.append(_video_copy(VIDEOS / f"{UPSCALED}.mp4", scratch / f"{UPSCALED}_1080p.mp4", (1920, 1080)))
            if not args.no_phone:
                videos.append(_video_copy(VIDEOS / f"{UPSCALED}.mp4", scratch / f"{UPSCALED}_phone.mp4", (1080, 1920), portrait=True))
                videos.append(_video_copy(VIDEOS / f"{UPSCALED}.mp4", scratch / f"{UPSCALED}_phone60.mp4", (1080, 1920), portrait=True,
                                          repeat=2))  # fmt: skip
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; mediapipe {mediapipe_version()}")
        print("frames per second of each stage and of the whole job; ratio: the whole job against the video's own rate")
        print(f"{'video':<36} {'frames':>6} {'size':>9} {'fps':>5}  {'detector':<9} {'2d':>6} {'lifting':>7} {'analysis':>8} "
              f"{'video':>6} {'outputs':>7} {'whole':>6} {'ratio':>6}")  # fmt: skip
        for path in videos:
            n, rate = _frames_and_rate(path)
            width, height = frame_size(path)
            for detector in detectors:
                out = Path(args.out) / path.stem / detector
                figures = []
                for _ in range(args.repeats):
                    shutil.rmtree(out, ignore_errors=True)  # no detections reused from the run before
                    summary = run(path, out, config=RunConfig(detector=detector, max_fps=args.max_fps), progress=False)
                    stage = summary.stage_seconds
                    per = {k: n / v if v > 0 else float("inf") for k, v in stage.items()}
                    figures.append([per["2d"], per["lifting"], n / (stage.get("processing", 0.0) + stage.get("analysis", 0.0)),
                                    per.get("annotated_video", float("nan")), per["outputs"], n / summary.seconds])  # fmt: skip
                two_d, lifting, analysis, video, outputs, whole = np.median(np.array(figures), axis=0)
                spread = f"  (runs {min(f[-1] for f in figures) / rate:.2f}-{max(f[-1] for f in figures) / rate:.2f}x)" if args.repeats > 1 else ""
                print(f"{path.stem:<36} {n:6d} {width:>4}x{height:<4} {rate:5.1f}  {detector:<9} {two_d:6.1f} "
                      f"{lifting:7.1f} {analysis:8.1f} {video:6.1f} {outputs:7.1f} {whole:6.1f} {whole / rate:5.2f}x{spread}")  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
