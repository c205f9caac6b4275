"""The main job on copies of the real videos made the way users' footage differs from them.

Usage: python benchmarks/real_footage_copies.py [--detector LSP-14 mediapipe] [--copies NAME ...] [--out build/real_footage]

Writes copies of ../shared/data/real-videos (x264 by PyAV, every frame decoded from the original):
of the first 240 frames of the lateral raise (a person standing) heavily compressed (CRF 45),
dark (25 % brightness with noise), after 2 s of an empty grey picture, letterboxed in a 1920x1080
frame, mirrored (a front camera's selfie video), with its legs behind a dark box for 1 s, and
side by side with the walking video (two people); of its first 90 frames cut at the hips,
mid-thigh, just below the knees and mid-shin; and of the whole walking video mirrored, thinned
to 10 frames/s, and turned by 180 deg without a display rotation (a phone held upside down).

Each copy goes through `kinelift run` with every detector given (a detector whose package is not
installed is skipped with a line saying so) and the check of `benchmarks/lift_real_videos.py`
that fits its source is printed: standing (largest |knee| or |hip| flexion, <= 10 deg in every
frame) or walking (median knee peak, 50-70 deg); a refused run prints its error. Figures:
docs/pipeline.md, "Real footage as users film it".

`mediapipe` pulls opencv-contrib-python, which clashes with opencv-python-headless in one
environment: run this script from a separate environment for the MediaPipe rows.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from lift_real_videos import VIDEOS, _verdict

from kinelift.detect.mediapipe_pose import MEDIAPIPE, mediapipe_version
from kinelift.detect.video import frame_rate, iter_frames
from kinelift.errors import KineliftError
from kinelift.pipeline import RunConfig, run

STANDING, WALKING = "sports2d_lateral_raise_front", "sports2d_walking_gym"


def _frames(name: str, n: int | None = None) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for chunk, _ in iter_frames(VIDEOS / f"{name}.mp4", chunk=32):
        out += list(chunk)
        if n is not None and len(out) >= n:
            return out[:n]
    return out


def _write(path: Path, frames: list[np.ndarray], rate: float, *, crf: int = 18) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(rate).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        stream.options = {"preset": "veryfast", "crf": str(crf)}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _occluded(frames: list[np.ndarray]) -> list[np.ndarray]:
    out = [f.copy() for f in frames]
    for f in out[90:120]:
        f[380:720, 500:800] = 40  # a dark box over the legs for 1 s (a chair, a passer-by)
    return out


def _copies() -> dict[str, tuple[str, Callable[[], tuple[list[np.ndarray], float, int]]]]:
    """name -> (the check's source video, a function giving the copy's frames, rate and CRF)."""
    rng = np.random.default_rng(0)
    stand_rate, walk_rate = (frame_rate(VIDEOS / f"{v}.mp4") for v in (STANDING, WALKING))

    def standing(make: Callable[[list[np.ndarray]], list[np.ndarray]], n: int = 240, crf: int = 18):
        return lambda: (make(_frames(STANDING, n)), stand_rate, crf)

    def cut(rows: int):
        return standing(lambda fs: [np.ascontiguousarray(f[:rows]) for f in fs], n=90)

    return {
        "compressed_crf45": (STANDING, standing(lambda fs: fs, crf=45)),
        "dark": (STANDING, standing(lambda fs: [np.clip(f * 0.25 + rng.normal(0, 4, f.shape), 0, 255).astype(np.uint8) for f in fs])),
        "empty_start": (STANDING, standing(lambda fs: [np.full_like(fs[0], 128)] * 60 + fs)),
        "letterboxed": (STANDING, standing(lambda fs: [np.pad(f, ((180, 180), (320, 320), (0, 0))) for f in fs])),
        "mirrored": (STANDING, standing(lambda fs: [f[:, ::-1] for f in fs])),
        "legs_behind_a_box": (STANDING, standing(_occluded)),
        "two_people_side_by_side": (STANDING, standing(lambda fs: [np.concatenate([a, b], axis=1) for a, b in zip(fs, _frames(WALKING, len(fs)))])),
        "cut_at_the_hips": (STANDING, cut(360)),
        "cut_at_mid_thigh": (STANDING, cut(460)),
        "cut_below_the_knees": (STANDING, cut(530)),
        "cut_at_mid_shin": (STANDING, cut(580)),
        "walking_mirrored": (WALKING, lambda: ([f[:, ::-1] for f in _frames(WALKING)], walk_rate, 18)),
        "walking_10fps": (WALKING, lambda: (_frames(WALKING)[::3], walk_rate / 3, 18)),
        "walking_upside_down": (WALKING, lambda: ([f[::-1, ::-1] for f in _frames(WALKING)], walk_rate, 18)),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    copies = _copies() if VIDEOS.is_dir() else {}
    parser.add_argument("--detector", nargs="+", default=["LSP-14", MEDIAPIPE])
    parser.add_argument("--copies", nargs="+", default=None, help=f"which copies (default: all): {', '.join(copies)}")
    parser.add_argument("--out", default="build/real_footage")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if not copies:
        print(f"{VIDEOS} is not on this machine: nothing to measure")
        return
    unknown = sorted(set(args.copies or ()) - set(copies))
    if unknown:
        parser.error(f"unknown copies {unknown}; known: {', '.join(copies)}")
    detectors = [d for d in args.detector if d != MEDIAPIPE or mediapipe_version() is not None]
    if len(detectors) < len(args.detector):
        print("mediapipe is not installed: its rows are skipped")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{'copy':<26} {'detector':<10} {'frames with a pose':>19}  check")
    for name in args.copies or copies:
        source, make = copies[name]
        frames, rate, crf = make()
        video = _write(out / f"{name}.mp4", frames, rate, crf=crf)
        for detector in detectors:
            result = out / f"{name}_{detector}"
            shutil.rmtree(result, ignore_errors=True)
            try:
                summary = run(video, result, config=RunConfig(detector=detector), progress=False)
            except KineliftError as err:
                print(f"{name:<26} {detector:<10} {'refused':>19}  {str(err)[:110]}")
                continue
            angles = pd.read_csv(result / "joint_angles.csv")
            fps = 1.0 / float(angles["time"].diff().median())
            print(f"{name:<26} {detector:<10} {f'{summary.seen_frames} of {summary.frames}':>19}  {_verdict(source, angles, fps)}")


if __name__ == "__main__":
    main()
