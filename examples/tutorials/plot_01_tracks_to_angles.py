"""
From 2D tracks to joint angles
==============================

A detector's keypoints (here a generated squat written as an MMPose result file by kinelift
itself) are read, cleaned, filled and filtered, then turned into sagittal-plane joint angles.
"""

# %%
# Make a track file, as a detector would: a squat seen from the side, with jitter, outliers and
# dropped points.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from kinelift.analysis import sagittal_angles
from kinelift.io import read_tracks, save
from kinelift.processing import fill_tracks, filter_tracks, reject_outliers
from kinelift.synthetic import squat_tracks

folder = Path(tempfile.mkdtemp())
clip = squat_tracks(n_reps=2, fps=30.0, camera_azimuth=np.pi / 2, seed=3)
save(folder / "squat_mmpose.json", tracks=[clip.observed], format="mmpose")
tracks = read_tracks(folder / "squat_mmpose.json", fps=30.0)[0]
print(tracks)
print(f"missing points: {(~tracks.valid).sum()} of {tracks.valid.size}")

# %%
# Clean: Hampel outlier rejection, cubic gap filling (up to 8 frames), then a zero-lag
# Butterworth low-pass at 6 Hz. Every step returns new tracks; the input is never altered.
processed = filter_tracks(fill_tracks(reject_outliers(tracks, half_window=4), method="cubic", max_gap=8), "butterworth", cutoff=6.0)

# %%
# Sagittal angles (degrees at the plot only; radians inside, flexion positive).
angles = sagittal_angles(processed)
fig, ax = plt.subplots(figsize=(8, 3.5))
for name in ("knee_flexion_r", "hip_flexion_r", "ankle_dorsiflexion_r"):
    if name in angles.column_names:
        ax.plot(angles.time, np.degrees(angles.column(name)), label=name)
ax.set(xlabel="time (s)", ylabel="angle (deg)", title="sagittal angles of a processed 2D track")
ax.legend()
plt.show()
