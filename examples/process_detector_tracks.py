"""Process a detector's keypoints: read, clean, fill, filter and save them.

Run from the repository root: ``python examples/process_detector_tracks.py [OUT_DIR]``.
With no detector file at hand, it makes one (a generated squat clip written as MMPose output).
"""

from __future__ import annotations

import sys
from pathlib import Path

from kinelift.io import load, save
from kinelift.processing import fill_tracks, filter_tracks, reject_outliers
from kinelift.synthetic import squat_tracks

out = Path(sys.argv[1] if len(sys.argv) > 1 else "example_output")
out.mkdir(exist_ok=True)

# 1. A detector's output (here: generated and written as MMPose predictions).
save(out / "detections.json", tracks=[squat_tracks(seed=1).observed], format="mmpose", overwrite=True)

# 2. Read it like any user file; one Tracks per person.
(person,) = load(out / "detections.json", fps=30.0).tracks
lower = person.to_keypoint_set("LOWER-6")

# 3. Clean: outliers -> NaN, fill gaps of up to 8 frames, zero-lag 4 Hz low-pass.
clean = filter_tracks(fill_tracks(reject_outliers(lower), method="cubic", max_gap=8), "butterworth", cutoff=4.0)

# 4. Save: HDF5 in kinelift's schema, and a pandas CSV.
save(out / "lower_body.h5", tracks=[clean], overwrite=True)
clean.to_dataframe().to_csv(out / "lower_body.csv")
print(f"{clean}\nwrote {out / 'lower_body.h5'} and {out / 'lower_body.csv'}")
