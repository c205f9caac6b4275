"""
The skeletal model and OpenSim: forward kinematics, inverse kinematics, scaling
===============================================================================

kinelift's skeletal layer is an OpenSim model as a batched, differentiable torch forward
kinematics. Here: the built-in model's joint centres over a batch of poses, a comparison with
OpenSim's own forward kinematics (when the ``opensim`` package is installed), and inverse
kinematics with scaling on keypoints.
"""

# %%
import numpy as np
import torch

from kinelift import Tracks, builtin_model
from kinelift.ik import fit_keypoint_scales, keypoint_ik

model = builtin_model()
print(model)
q = torch.zeros(50, model.n_coordinates, dtype=torch.float64)
knee = model.coordinate_names.index("knee_angle_r")
q[:, knee] = torch.linspace(0, 1.8, 50)
fk = model(q)
print("joint centres:", tuple(fk.joint_centers.shape), "(poses, joints, xyz) in metres, y up")

# %%
# Against OpenSim: write the model as an .osim, load it in OpenSim, and compare the joint
# centres of random poses.
try:
    import opensim  # noqa: F401
except ImportError:
    print("opensim not installed: pip install opensim to compare with OpenSim")
else:
    import tempfile
    from pathlib import Path

    from kinelift.skeleton.opensim_reference import opensim_fk
    from kinelift.skeleton.osim_writer import write_osim

    path = Path(tempfile.mkdtemp()) / "builtin.osim"
    write_osim(model.spec, path)
    rng = np.random.default_rng(0)
    poses = model.default_coordinates().double().repeat(5, 1) + torch.as_tensor(rng.normal(0, 0.3, (5, model.n_coordinates)))
    ours = model(poses).joint_centers.numpy()
    theirs = opensim_fk(path, poses.numpy(), model.coordinate_names, [], model.joint_names).joint_centers
    print(f"largest joint-centre difference to OpenSim: {np.abs(ours - theirs).max() * 1000:.2e} mm")

# %%
# Inverse kinematics on keypoints: generate COCO-17 points of a scaled subject, fit the scales
# on a few frames, then solve every frame.
from kinelift.skeleton.keypoint_maps import KeypointModel

true_model = builtin_model(height=1.85)
kp_model = KeypointModel(true_model, "COCO-17")
with torch.no_grad():
    points = kp_model(q).numpy()
tracks = Tracks(points, keypoints="COCO-17", fps=50.0, units="m", coordinate_frame="ground")
scaling = fit_keypoint_scales(model, tracks, frames=[0, 25, 49])
result = keypoint_ik(scaling.model, tracks)
print(f"scaled RMS keypoint error {scaling.rms_error * 1000:.2f} mm; IK mean RMS {np.nanmean(result.rms_error) * 1000:.2f} mm")
solved = result.coordinates[:, result.coordinate_names.index("knee_angle_r")]
print(f"knee angle error: {np.degrees(np.abs(solved - q[:, knee].numpy())).max():.3f} deg at most")
