"""Real hand-labelled 2D squats (Penn Action, side views): the lifted knee against the 2D knee angle.

Usage: python benchmarks/lift_penn_action.py [--lifter LOWER-6 ...] [--no-refine] [--first N] [--depth-sd 0.02]

Penn Action (../shared/data/penn-action-labels) holds 231 real squat clips from YouTube with 13
hand-labelled joints per frame (PENN-13: no face, so the LOWER-6 lifter reads them; a lifter of
another set gets the conversion `kinelift.lift` makes). In a side view (the index's ``left`` and
``right`` clips) the 2D hip-knee-ankle angle of the leg nearer the camera (the one labelled
visible in more frames, `kinelift.analysis.nearer_leg_knee_flexion`) is close to the 3D knee
flexion: it is the proxy truth here, real people and real labels, no ground truth in 3D. Clips
whose nearer leg is labelled in fewer than 75 % of the frames are skipped. Printed per lifter:
clips, the median and mean over clips of the knee RMSE against the 2D angle (deg), the median
Pearson r, and the standing frames (2D knee angle under 15 deg, the frames between repetitions
that the issue reports lifted as a 60-deg squat): the median
over clips of the lifted-minus-2D bias, and how many clips lift some standing frame above 20 deg.
Also the bias by the 2D angle's range (over all frames).

Caveats: the view labels are the annotators' (some "side" clips are frontal or oblique, where the
2D angle understates the flexion), the far leg of a side view is often guessed, and the labels are
noisy by several pixels; the absolute figures carry that, the comparison between lifters does not.
"""

from __future__ import annotations

import argparse
import csv
import logging
from pathlib import Path

import numpy as np

from kinelift.analysis import nearer_leg_knee_flexion
from kinelift.io.penn_action import read_penn_action
from kinelift.lifting import lift
from kinelift.lifting.refinement import RefinementConfig

PENN = Path(__file__).resolve().parents[2] / "shared" / "data" / "penn-action-labels"
STANDING = np.deg2rad(15.0)
BINS = [(0, 15), (15, 45), (45, 75), (75, 105), (105, 180)]


def _side_view_clips(first: int | None) -> list[dict[str, str]]:
    with open(PENN / "index.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["action"] == "squat" and r["pose_view"] in ("left", "right")]
    return rows[:first] if first else rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lifter", nargs="+", default=[None], help="lifters (default: lift's default for PENN-13, LOWER-6)")
    parser.add_argument("--no-refine", action="store_true", help="no fit to the 2D through the assumed camera (lift's default fits)")
    parser.add_argument("--first", type=int, help="only the first N side-view squat clips of the index")
    parser.add_argument("--depth-sd", type=float, help="the fit's depth prior (RefinementConfig.depth_sd, fractions of the standing "
                        f"height; default {RefinementConfig().depth_sd})")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if not PENN.is_dir():
        print(f"{PENN} is not on this machine: nothing to measure")
        return
    rows = _side_view_clips(args.first)
    fit = False if args.no_refine else None if args.depth_sd is None else RefinementConfig(depth_sd=args.depth_sd)  # lift's refine=
    print(f"Penn Action side-view squats ({len(rows)} clips in the index), hand-labelled 2D; knee flexion lifted vs the 2D angle (deg)")
    print(f"{'lifter':<16} {'fit':<4} {'clips':>5} {'RMSE med':>8} {'mean':>6} {'r med':>6} {'stand bias':>10} {'stand>20':>8}  "
          + " ".join(f"{f'{lo}-{hi}':>8}" for lo, hi in BINS))  # fmt: skip
    for lifter in args.lifter:
        per_clip, errors, angles = [], [], []
        for row in rows:
            tracks = read_penn_action(PENN / "labels" / f"{row['seq']}.mat", fps=30.0)
            side, flex_2d = nearer_leg_knee_flexion(tracks)
            ok = np.isfinite(flex_2d)
            if ok.mean() < 0.75:
                continue
            result = lift(tracks, lifter=lifter, refine=fit)
            flex_3d = result.coordinates[:, list(result.coordinate_names).index(f"knee_angle_{side}")]
            ok &= np.isfinite(flex_3d)
            error = np.degrees(flex_3d[ok] - flex_2d[ok])
            standing = ok & (flex_2d < STANDING)
            bias = float(np.median(np.degrees(flex_3d[standing] - flex_2d[standing]))) if standing.sum() >= 5 else np.nan
            worst = float(np.degrees(flex_3d[standing].max())) if standing.sum() >= 5 else np.nan
            per_clip.append((float(np.sqrt(np.mean(error**2))), float(np.corrcoef(flex_3d[ok], flex_2d[ok])[0, 1]), bias, worst))
            errors.append(error)
            angles.append(np.degrees(flex_2d[ok]))
        a = np.array(per_clip)
        e, g = np.concatenate(errors), np.concatenate(angles)
        by_bin = " ".join(f"{np.median(e[(g >= lo) & (g < hi)]):+8.1f}" if ((g >= lo) & (g < hi)).any() else f"{'-':>8}" for lo, hi in BINS)
        name = lifter or "default"
        print(f"{name:<16} {'no' if args.no_refine else 'yes':<4} {len(a):5d} {np.median(a[:, 0]):8.1f} {a[:, 0].mean():6.1f} "
              f"{np.nanmedian(a[:, 1]):6.2f} {np.nanmedian(a[:, 2]):+10.1f} {int(np.nansum(a[:, 3] > 20)):>4}/{int(np.isfinite(a[:, 3]).sum()):<3}  {by_bin}")  # fmt: skip
    print("(by 2D angle: the median lifted-minus-2D error over the frames whose 2D knee angle lies in each range)")


if __name__ == "__main__":
    main()
