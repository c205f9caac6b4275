"""Synthetic squat clips, made without any downloaded data (for the demo and tests).

:func:`squat_tracks` plays squats of the built-in skeletal model
(:func:`kinelift.lifting.motions.squat_motion`: knee and hip flexion to ``depth``, ankle
dorsiflexion and anterior pelvis tilt to 0.3 of it, following a smooth cosine profile per
repetition, arms held forward, feet flat on the floor) at the subject's height, takes the model's COCO-17 keypoints by forward
kinematics, projects them through a pinhole camera (:mod:`kinelift.lifting.cameras`) and adds
detector-like corruption: Gaussian noise scaled to the person's size, dropped points, one longer
gap and a few outlier spikes. The motions and the skeleton are the lifter's own (one generator).

The ground frame is OpenSim's: x forward (the subject faces +x), y up, z to the subject's right.
Image coordinates are pixels, x right, y down; the tracks carry their image size.

Examples
--------
>>> clip = squat_tracks(n_reps=2, fps=30.0, seed=0)
>>> clip.observed.keypoint_set.name, clip.observed.n_frames, clip.observed.image_size
('COCO-17', 165, (1280, 720))
>>> round(float(np.rad2deg(clip.knee_flexion.max())), 1)
95.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinelift.core.keypoint_sets import get_keypoint_set
from kinelift.core.tracks import Tracks
from kinelift.errors import ValueRangeError

__all__ = ["SquatClip", "squat_tracks"]


@dataclass(frozen=True)
class SquatClip:
    """A generated clip: clean and corrupted 2D tracks, the 3D truth (the model's keypoints, ground
    frame, m) and the joint angles: the built-in model's ``knee_angle``, ``hip_flexion`` and
    ``ankle_angle`` (rad, flexion and dorsiflexion positive; both sides alike)."""

    observed: Tracks
    clean: Tracks
    truth_3d: Tracks
    knee_flexion: np.ndarray
    hip_flexion: np.ndarray
    ankle_dorsiflexion: np.ndarray


def squat_tracks(
    *,
    n_reps: int = 3,
    fps: float = 30.0,
    rep_duration: float = 2.0,
    pause: float = 0.5,
    height: float = 1.75,
    depth: float = np.deg2rad(95.0),
    camera_azimuth: float = np.deg2rad(60.0),
    noise: float = 0.01,
    dropout: float = 0.02,
    hip_spread: float = 1.0,
    seed: int = 0,
) -> SquatClip:
    """Generate a squatting subject seen by one camera.

    Parameters
    ----------
    n_reps : int, default 3
    fps : float, default 30.0
    rep_duration, pause : float
        Seconds per repetition and standing pause before each.
    height : float, default 1.75
        Body height in metres.
    depth : float
        Peak knee flexion in radians (hip flexion peaks at the same value, ankle at 0.3 of it).
    camera_azimuth : float
        Camera direction in radians: 0 looks at the subject's front, pi/2 at the right side.
    noise : float, default 0.01
        Keypoint noise standard deviation as a fraction of the person's image height.
    dropout : float, default 0.02
        Probability of a dropped point (NaN, confidence 0).
    hip_spread : float, default 1.0
        The hip keypoints' distance from their midpoint, relative to the model's hip joint centres
        (the lifter's definition). 2D detectors put the hips wider
        (:func:`kinelift.lifting.corruption.spread_hips`); the camera-view rule
        (:func:`kinelift.core.views.camera_view`) is set for detectors' hips.
    seed : int, default 0
    """
    import torch

    from kinelift.core.tracks import IMAGE_SIZE_KEYS
    from kinelift.lifting.cameras import look_at, project
    from kinelift.lifting.corruption import spread_hips
    from kinelift.lifting.motions import squat_motion, squat_phase
    from kinelift.skeleton.builtin import builtin_model
    from kinelift.skeleton.keypoint_maps import KeypointModel

    if n_reps < 1:
        raise ValueRangeError("n_reps", expected="at least 1", got=n_reps)
    if not 0.5 <= height <= 2.5:
        raise ValueRangeError("height", expected="a body height in metres between 0.5 and 2.5", got=height)
    rng = np.random.default_rng(seed)
    phase = squat_phase(reps=n_reps, fps=fps, rep_duration=rep_duration, pause=pause)
    deg = float(np.rad2deg(depth))
    bottom = {"pelvis_tilt": -0.3 * deg}  # the pelvis and trunk tilt forward as far as the shanks: feet flat
    for s in ("r", "l"):
        bottom.update({f"knee_angle_{s}": deg, f"hip_flexion_{s}": deg, f"ankle_angle_{s}": 0.3 * deg})
    q = squat_motion(bottom, phase, fps=fps, height=height, name="synthetic_squats").coordinates.copy()
    model = builtin_model(height=height)
    for s in ("r", "l"):  # arms held forward, whatever the phase
        q[:, model.coordinate_index(f"arm_flex_{s}")] = np.pi / 2
    with torch.no_grad():
        xyz = KeypointModel(model, "COCO-17")(torch.as_tensor(q)).numpy()  # (n, 17, 3) ground frame
    coco = get_keypoint_set("COCO-17")
    n = len(q)
    if hip_spread != 1.0:
        xyz = spread_hips(xyz, coco, hip_spread)

    # Pinhole camera 3.5 m away, 1.0 m high, looking horizontally at the subject.
    view = np.array([np.cos(camera_azimuth), 0.0, np.sin(camera_azimuth)])  # from subject towards camera
    camera = look_at(np.array([0.0, 1.0, 0.0]) + 3.5 * view, np.array([0.0, 1.0, 0.0]), focal=1000.0, image_size=(1280, 720))
    px = project(camera, xyz)

    meta = {"source": "kinelift.synthetic.squat_tracks", "seed": seed, **dict(zip(IMAGE_SIZE_KEYS, camera.image_size))}
    clean = Tracks(px, keypoints=coco, fps=fps, metadata=meta)
    truth = Tracks(xyz, keypoints=coco, fps=fps, units="m", coordinate_frame="ground")
    person_px = float(np.ptp(px[0, :, 1]))
    noisy = px + rng.normal(0.0, noise * person_px, px.shape)
    conf = np.clip(rng.normal(0.85, 0.08, px.shape[:2]), 0.3, 1.0)
    drop = rng.random(px.shape[:2]) < dropout
    gap_start = n // 3
    drop[gap_start : gap_start + int(0.2 * fps), coco.index("left_knee")] = True
    spikes = rng.choice(n, size=3, replace=False)
    noisy[spikes, coco.index("right_ankle")] += 0.15 * person_px
    noisy[drop] = np.nan
    conf[drop] = 0.0
    observed = clean.replace(positions=noisy, confidence=conf, metadata={**meta, "noise": noise})
    angle = {name: q[:, model.coordinate_index(f"{name}_r")] for name in ("knee_angle", "hip_flexion", "ankle_angle")}
    return SquatClip(observed, clean, truth, angle["knee_angle"], angle["hip_flexion"], angle["ankle_angle"])
