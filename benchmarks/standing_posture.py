"""How real people stand: knee and hip flexion on the standing frames of real motion capture.

Usage: python benchmarks/standing_posture.py [--library build/motion_library] [--families arm_exercise squat]

The real-video checks (`benchmarks/lift_real_videos.py`) and issue 26's targets judge a standing
person's lifted knee and hip against zero (within 10 deg in every frame; knee bias <= 3 deg). This
script prints what the marker-to-model fit of real motion capture (the motion library,
`kinelift motion-library`) gives on standing frames, per subject: the frames where both knees are
flexed less than 10 deg, and there the median and the 5th / 95th percentiles of knee flexion and
hip flexion (both sides pooled) and the median pelvis tilt (deg; the built-in model's coordinates:
knee flexion positive, hip flexion positive forward, pelvis tilt negative when the pelvis tips
forward). Rows are grouped by family and split (the lifters' held-out subjects: `test`).

This is the reference a standing check stands on, not a measurement of kinelift: how far from zero
a correct answer may lie for a person standing at ease.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from kinelift.io import read_mot

LIBRARY = Path(__file__).resolve().parents[1] / "build" / "motion_library"
STANDING_KNEE_DEG = 10.0


def _standing(path: Path) -> np.ndarray:
    """``(frames, 3)``: knee, hip flexion (deg, both sides as separate rows) and pelvis tilt on the standing frames."""
    table = read_mot(path)
    names = list(table.column_names)
    values = np.degrees(np.asarray(table.values, float))
    knees = values[:, [names.index("knee_angle_r"), names.index("knee_angle_l")]]
    hips = values[:, [names.index("hip_flexion_r"), names.index("hip_flexion_l")]]
    tilt = values[:, names.index("pelvis_tilt")]
    standing = (np.abs(knees) < STANDING_KNEE_DEG).all(axis=1)
    rows = [np.stack([knees[standing, s], hips[standing, s], tilt[standing]], axis=1) for s in range(2)]
    return np.concatenate(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", default=str(LIBRARY), help="motion library (kinelift motion-library; default build/motion_library)")
    parser.add_argument("--families", nargs="+", default=["arm_exercise", "squat", "sit_to_stand", "walk"])
    args = parser.parse_args()
    library = Path(args.library)
    if not (library / "index.csv").is_file():
        print(f"{library / 'index.csv'} is not on this machine (build it with `kinelift motion-library`): nothing to measure")
        return
    index = pd.read_csv(library / "index.csv")
    print(f"standing frames: both knees flexed less than {STANDING_KNEE_DEG:.0f} deg; knee and hip pooled over both sides; deg")
    print(f"{'family':<14} {'split':<6} {'source':<8} {'subject':<18} {'frames':>7}  {'knee med (p5, p95)':>20}  "
          f"{'hip flex med (p5, p95)':>24}  {'pelvis tilt':>11}")  # fmt: skip
    for family in args.families:
        for (split, source, subject), group in index[index["family"] == family].groupby(["split", "source", "subject"], sort=True):
            values = np.concatenate([_standing(library / f) for f in group["file"]])
            if len(values) == 0:
                continue
            knee, hip = np.percentile(values[:, 0], [50, 5, 95]), np.percentile(values[:, 1], [50, 5, 95])
            print(f"{family:<14} {split:<6} {source:<8} {subject:<18} {len(values) // 2:>7}  "
                  f"{knee[0]:>6.1f} ({knee[1]:5.1f}, {knee[2]:5.1f})  {hip[0]:>10.1f} ({hip[1]:5.1f}, {hip[2]:5.1f})  "
                  f"{np.median(values[:, 2]):>11.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
