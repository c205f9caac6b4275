"""Lift to 3D points and fit the skeletal model, or lift to coordinates directly? (issue 26)

Usage: python benchmarks/lift_points_fit.py [--points runs/lifter_lower6_points/lifter.pt] [--direct LOWER-6]
                                            [--library build/motion_library] [--real-clips 2] [--families squat walk ...]

On the motion library's held-out subjects (the clips of `benchmarks/lift_eval.py --real-only`: 2 unseen
cameras and detector-like noise per motion), per movement family, mean of the four angle RMSEs,
knee and hip-flexion RMSE (deg), knee r and MPJPE (mm) of:

- direct: the shipped (or given) coordinate lifter, as `kinelift.lift` runs it (flip averaging);
- direct, no flip: the same without flip averaging (the points lifter has none);
- points net, its head: the points lifter's own coordinate head (the same network, trained as long);
- points net, free points: the MPJPE of its free 3D points (the first half of "points, then fit");
- points net, fitted: the skeletal model fitted to its free points (kinelift.lifting.refinement.fit_to_points).

Train the points lifter first: kinelift train-lifter kinelift/lifting/configs/lifter_lower6_points.toml
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from kinelift.lifting.config import DataConfig
from kinelift.lifting.evaluation import evaluate_lifter, held_out_clips, predict_clips
from kinelift.lifting.lifter import LifterOutput
from kinelift.lifting.metrics import mpjpe
from kinelift.lifting.refinement import RefinementConfig, fit_to_points
from kinelift.lifting.weights import load_lifter

ROOT = Path(__file__).resolve().parents[1]
FIT = RefinementConfig(iterations=100, coordinate_sd=1.0, rotation_sd=1.0, keypoint_noise=0.02)
"""The fit follows the free points: weak priors towards the head's coordinates."""


def _fitted_outputs(lifter, outputs: list[LifterOutput]) -> list[LifterOutput]:
    """Each clip's free points (as predicted, on the per-frame bodies) fitted by the skeletal model on the clip's mean body."""
    fitted = []
    for o in outputs:
        seg = o.segment_scales.mean(0, keepdim=True).expand_as(o.segment_scales)
        fitted.append(fit_to_points(lifter, LifterOutput(o.coordinates, o.root_rotation, o.up, seg, o.joints, o.markers, o.keypoints),
                                    config=FIT))  # fmt: skip
    return fitted


def _row(label: str, r: dict[str, float]) -> None:
    print(f"  {label:<26} mean {r['mean_angle_rmse_deg']:6.2f}  knee {r['knee_angle_rmse_deg']:6.2f}  hip flex {r['hip_flexion_rmse_deg']:6.2f}  "
          f"hip add {r['hip_adduction_rmse_deg']:6.2f}  ankle {r['ankle_angle_rmse_deg']:6.2f}  knee r {r['knee_angle_r']:5.2f}  "
          f"MPJPE {r['mpjpe_mm']:6.1f} mm")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", default=str(ROOT / "runs" / "lifter_lower6_points" / "lifter.pt"))
    parser.add_argument("--direct", default="LOWER-6")
    parser.add_argument("--library", default=str(ROOT / "build" / "motion_library"))
    parser.add_argument("--real-clips", type=int, default=2)
    parser.add_argument("--families", nargs="+", help="only these movement families (the fit is the slow part: about 1 s per 100 frames)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not Path(args.library, "index.csv").is_file():
        print(f"no motion library at {args.library} (build it: kinelift motion-library): nothing to measure")
        return
    if not Path(args.points).is_file():
        print(f"no points lifter at {args.points} (train it: kinelift train-lifter kinelift/lifting/configs/lifter_lower6_points.toml)")
        return
    direct, points = load_lifter(args.direct), load_lifter(args.points)
    if points.config.output != "points" or points.config.keypoints != direct.config.keypoints:
        raise SystemExit(f"--points must be an output='points' lifter of the direct lifter's keypoints ({direct.config.keypoints})")
    data = replace(DataConfig(), library=args.library, n_squats=0, n_standing=0, n_stepping=0, test_fraction=0.0)
    groups = held_out_clips(data, direct.config.keypoints, fps=direct.config.fps, clips_per_motion=args.real_clips)
    totals: dict[str, list[float]] = {}
    for name in sorted(g for g in groups if g.startswith("real ") and (not args.families or g[5:] in args.families)):
        clips = groups[name]
        print(f"{name[5:]} ({clips.n_frames} frames)")
        raw = predict_clips(points, clips)
        rows = {
            "direct": evaluate_lifter(direct, clips, outputs=predict_clips(direct, clips, flip=True)),
            "direct, no flip": evaluate_lifter(direct, clips, outputs=predict_clips(direct, clips)),
            # evaluate_lifter scores the forward kinematics of the outputs' coordinates: the head's pose, the free points unread
            "points net, its head": evaluate_lifter(points, clips, outputs=raw),
            "points net, fitted": evaluate_lifter(points, clips, outputs=_fitted_outputs(points, raw)),
        }
        for label, r in rows.items():
            _row(label, r)
            totals.setdefault(label, []).append(r["mean_angle_rmse_deg"])
        with torch.no_grad():
            gt = points.assemble(*(torch.as_tensor(a) for a in (clips.coordinates, clips.root_rotation, clips.up, clips.segment_scales)))
        free = torch.cat([o.keypoints for o in raw]).numpy()
        print(f"  {'points net, free points':<26} MPJPE {1000 * mpjpe(free, gt.keypoints.numpy()):6.1f} mm (per-frame body, as predicted)")
    print("mean over families of the mean angle RMSE: " + ", ".join(f"{k} {np.mean(v):.2f}" for k, v in totals.items()))


if __name__ == "__main__":
    main()
