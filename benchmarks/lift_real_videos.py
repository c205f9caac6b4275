"""Plausibility of the main job on real videos without ground truth (../shared/data/real-videos).

Usage: python benchmarks/lift_real_videos.py [--lifter LOWER-6 runs/x/lifter.pt ...] [--detector auto LSP-14 mediapipe]
       [--boxes mediapipe] [--out build/real_videos]

Each video is run once through `kinelift run` per detector (default `auto`: MediaPipe's BlazePose
where the optional `mediapipe` package is installed, else kinelift's LSP-14; the 2D tracks are kept
in OUT/<video>/detected[_<detector>]/tracks_2d.h5 and reused), then its 2D tracks are lifted again by every lifter
given (`kinelift run` on the tracks file with `[run] lifter = ...`). Printed per video and lifter:
frames with the subject, the median and the 95th-percentile / maximum of |knee flexion| and |hip
flexion| (deg), and the check the issue states:

- sports2d_lateral_raise_front (a person standing, raising dumbbells): knees and hips within 10 deg
  of zero in every frame;
- sports2d_walking_gym (side view): knee flexion peaks at 50-70 deg in swing (the median of the
  per-stride peaks, strides found as knee maxima at least 0.6 s apart);
- sports2d_running_side (side view, 1.6 s): knee flexion peaks at 80-130 deg in swing (Novacheck 1998).

Where mediapipe is installed, a peer row follows each video: the same checks on BlazePose's own
3D, its world landmarks (`kinelift.detect.mediapipe_pose.world_landmarks_mediapipe`), read by
`kinelift.analysis.joint_angles_3d` (knee flexion: 180 deg minus the hip-knee-ankle angle; hip
flexion: the thigh in the sagittal plane of a pelvis frame spanned by the hips and the shoulders'
midpoint, so against the trunk; no neutral posture subtracted).

`mediapipe` pulls opencv-contrib-python, which clashes with opencv-python-headless in one
environment: run this script from a separate environment for the MediaPipe rows.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from kinelift.lifting.ensemble import ENSEMBLE_SEPARATOR
from kinelift.pipeline import RunConfig, run

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-videos"
CHECKS = {
    "sports2d_lateral_raise_front": "standing: |knee|, |hip| <= 10 deg in every frame",
    "sports2d_walking_gym": "walking: knee peaks 50-70 deg",
    "sports2d_running_side": "running: knee peaks 80-130 deg",
}


def _stride_peaks(knee: np.ndarray, fps: float) -> np.ndarray:
    from scipy.signal import find_peaks

    x = np.nan_to_num(knee, nan=np.nanmedian(knee))
    peaks, _ = find_peaks(x, distance=max(1, int(0.6 * fps)), prominence=15.0)
    return x[peaks]


def _verdict(video: str, angles: pd.DataFrame, fps: float) -> str:
    knees = angles[["knee_flexion_r_deg", "knee_flexion_l_deg"]].to_numpy()
    hips = angles[["hip_flexion_r_deg", "hip_flexion_l_deg"]].to_numpy()
    if video == "sports2d_lateral_raise_front":
        worst = max(np.nanmax(np.abs(knees)), np.nanmax(np.abs(hips)))
        return f"max {worst:.1f} deg: {'PASS' if worst <= 10 else 'FAIL'}"
    lo, hi = (50, 70) if video == "sports2d_walking_gym" else (80, 130)
    peaks = np.concatenate([_stride_peaks(knees[:, i], fps) for i in range(2)])
    if not len(peaks):
        return "no stride found: FAIL"
    med = float(np.median(peaks))
    return f"{len(peaks)} peaks, median {med:.0f} deg: {'PASS' if lo <= med <= hi else 'FAIL'}"


def _run_video(path: Path, detected: Path, detector: str, boxes: str | None = None) -> None:
    """``kinelift run`` on the video into ``detected``: reused when already there (fingerprinted); a
    result made with other settings is redone in a fresh folder with its 2D detections (their
    fingerprint, which covers only what detection depends on, decides whether they still hold)."""
    from kinelift.errors import OutputExistsError

    config = RunConfig(detector=detector, boxes=boxes)
    try:
        run(path, detected, config=config, progress=False)
    except OutputExistsError:
        fresh = detected.with_name(detected.name + ".new")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        if (detected / "tracks_2d.h5").exists():
            shutil.copy2(detected / "tracks_2d.h5", fresh / "tracks_2d.h5")
        run(path, fresh, config=config, progress=False)
        shutil.rmtree(detected)
        fresh.rename(detected)


def _peer_angles(path: Path) -> pd.DataFrame:
    """Knee and hip flexion (deg) of BlazePose's world landmarks over the video (MediaPipe's own 3D)."""
    from kinelift.analysis import joint_angles_3d
    from kinelift.detect.mediapipe_pose import world_landmarks_mediapipe

    angles = joint_angles_3d(world_landmarks_mediapipe(path, progress=False), up="y")
    columns = ["knee_flexion_r", "knee_flexion_l", "hip_flexion_r", "hip_flexion_l"]
    values = np.degrees(angles.select(columns).values)
    return pd.DataFrame({"time": angles.time, **{f"{c}_deg": values[:, i] for i, c in enumerate(columns)}})


def _row(video: str, detector: str, label: str, angles: pd.DataFrame, fps: float) -> str:
    k = np.abs(angles[["knee_flexion_r_deg", "knee_flexion_l_deg"]].to_numpy())
    h = np.abs(angles[["hip_flexion_r_deg", "hip_flexion_l_deg"]].to_numpy())
    frames = int(np.isfinite(k).any(axis=1).sum())
    return (f"{video:<30} {detector:<10} {label:<44} {frames:6d} {np.nanmedian(k):8.1f} {np.nanpercentile(k, 95):6.1f} {np.nanmax(k):6.1f} "
            f"{np.nanmedian(h):8.1f} {np.nanpercentile(h, 95):6.1f} {np.nanmax(h):6.1f}  {CHECKS[video]}: {_verdict(video, angles, fps)}")  # fmt: skip


def _lifter_label(lifter: str) -> str:
    """A short name for a lifter or an ensemble (members joined by ``+``): a shipped name as it is,
    a weights file by its folder (``runs/x/lifter.pt`` -> ``x``) or its stem."""
    names = []
    for member in lifter.split(ENSEMBLE_SEPARATOR):
        path = Path(member)
        names.append(member if not member.endswith(".pt") else path.parent.name if path.stem == "lifter" else path.stem)
    return ENSEMBLE_SEPARATOR.join(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lifter", nargs="+", default=[None], help="lifters (keypoint-set name or weights file; default: the shipped one)")
    parser.add_argument("--detector", nargs="+", default=["auto"], help="2D detectors (auto, LSP-14, mediapipe, ...; default auto)")
    parser.add_argument("--boxes", help="person boxes for the heatmap detectors: mediapipe (BlazePose's box of its person); default HOG")
    parser.add_argument("--out", default="build/real_videos")
    parser.add_argument("--videos", nargs="+", default=list(CHECKS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not VIDEOS.is_dir():
        print(f"{VIDEOS} is not on this machine: nothing to measure")
        return
    peer = importlib.util.find_spec("mediapipe") is not None
    if not peer:
        print("mediapipe is not installed: detector auto is LSP-14, detector mediapipe and the BlazePose 3D peer rows are skipped")
        args.detector = [d for d in args.detector if d != "mediapipe"]
    print(f"{'video':<30} {'detector':<10} {'lifter':<44} {'frames':>6} {'knee med':>8} {'p95':>6} {'max':>6} {'hip med':>8} {'p95':>6} {'max':>6}  check")
    for video, detector in ((v, d) for v in args.videos for d in args.detector):
        path = VIDEOS / f"{video}.mp4"
        detected = Path(args.out) / video / (("detected" if detector == "auto" else f"detected_{detector}") + (f"_boxes-{args.boxes}" if args.boxes else ""))
        _run_video(path, detected, detector, args.boxes)
        fps = float(pd.read_csv(detected / "joint_angles.csv")["time"].diff().median() ** -1)
        for lifter in args.lifter:
            label = "shipped" if lifter is None else _lifter_label(lifter)
            out = detected.parent / f"{detected.name}_lift_{label.replace('/', '-')}" if lifter else detected
            if lifter is not None:
                run(detected / "tracks_2d.h5", out, config=RunConfig(lifter=lifter), progress=False)
            print(_row(video, detector, label, pd.read_csv(out / "joint_angles.csv"), fps))
        if peer and detector == args.detector[-1]:
            print(_row(video, "mediapipe", "BlazePose world landmarks (peer)", _peer_angles(path), fps))


if __name__ == "__main__":
    main()
