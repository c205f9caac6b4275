"""
Lifting a 2D clip to 3D kinematics
==================================

The shipped lifter turns one person's 2D keypoints into the built-in model's coordinates, body
size and 3D points. Here a clip is generated (a squat of the built-in model seen by a camera,
with detector-like noise), so the lifted angles can be compared with the truth.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import kinelift
from kinelift.lifting.data import render_clip
from kinelift.lifting.motions import procedural_squats
from kinelift.skeleton.builtin import builtin_model

rng = np.random.default_rng(2024)
clip = render_clip(procedural_squats(rng, reps=2), "COCO-17", rng=rng, speed=1.0)
print(clip.tracks)

# %%
# Lift. Monocular video cannot tell size from distance: give the subject's height when known.
result = kinelift.lift(clip.tracks)
print(f"{result.n_frames} frames, estimated height {result.height:.2f} m")

# %%
# Compare the knee angle with the truth (the lifter never saw this motion).
names = builtin_model().coordinate_names
k = names.index("knee_angle_r")
lifted, truth = np.degrees(result.coordinates[:, k]), np.degrees(clip.coordinates[:, k])
print(f"right knee RMSE {np.sqrt(np.mean((lifted - truth) ** 2)):.1f} deg")
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(result.time, truth, label="truth", lw=2)
ax.plot(result.time, lifted, label="lifted")
ax.set(xlabel="time (s)", ylabel="knee flexion (deg)")
ax.legend()
plt.show()

# %%
# The result writes OpenSim files: ``result.write("out/")`` gives ``lift.mot`` (degrees),
# ``lift.trc`` (mm), ``lift_model.osim`` (the scaled built-in model) and ``lift.h5``.
