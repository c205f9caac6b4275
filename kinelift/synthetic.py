"""Synthetic squat clips, made without any downloaded data (for the demo and tests).

:func:`squat_tracks` builds a 3D stick figure with Winter's segment proportions
(Winter, *Biomechanics and Motor Control of Human Movement*, 4th ed., 2009,
Fig. 4.1: segment lengths as fractions of body height H: shank 0.246 H,
thigh 0.245 H, hip height 0.530 H, shoulder height 0.818 H, upper arm 0.186 H,
forearm 0.146 H, hip width 0.191 H, shoulder width 0.259 H), moves it through
squats (knee flexion, hip flexion and ankle dorsiflexion following a smooth
cosine profile per repetition), projects it through a pinhole camera, and adds
detector-like corruption: Gaussian noise scaled to the person's size, dropped
points, one longer gap and a few outlier spikes.

The lab frame is OpenSim's: x forward, y up, z to the subject's right.
Image coordinates are pixels, x right, y down.

Examples
--------
>>> clip = squat_tracks(n_reps=2, fps=30.0, seed=0)
>>> clip.observed.keypoint_set.name, clip.observed.n_frames
('COCO-17', 165)
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
    """A generated clip: clean and corrupted 2D tracks, the 3D truth and the joint angles (rad)."""

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
    seed : int, default 0
    """
    if n_reps < 1:
        raise ValueRangeError("n_reps", expected="at least 1", got=n_reps)
    rng = np.random.default_rng(seed)
    per_rep = int(round((rep_duration + pause) * fps))
    n = n_reps * per_rep + int(round(pause * fps))
    t = np.arange(n) / fps
    phase = np.zeros(n)
    for r in range(n_reps):
        start = int(round((r * (rep_duration + pause) + pause) * fps))
        local = (t[start : start + int(round(rep_duration * fps))] - t[start]) / rep_duration
        phase[start : start + local.size] = 0.5 * (1 - np.cos(2 * np.pi * local))
    knee, hip, ankle = depth * phase, depth * phase, 0.3 * depth * phase
    H = height
    # Sagittal inclinations from vertical (positive = leaning forward, towards +x).
    shank = ankle
    thigh = shank - knee
    trunk = thigh + hip

    def seg(angle: np.ndarray, length: float) -> np.ndarray:
        return length * np.stack([np.sin(angle), np.cos(angle), np.zeros_like(angle)], -1)

    ankle_pos = np.broadcast_to(np.array([0.0, 0.039 * H, 0.0]), (n, 3))
    knee_pos = ankle_pos + seg(shank, 0.246 * H)
    hip_pos = knee_pos + seg(thigh, 0.245 * H)
    shoulder_pos = hip_pos + seg(trunk, 0.288 * H)
    elbow_pos = shoulder_pos + 0.186 * H * np.array([1.0, 0.0, 0.0])  # arms held forward
    wrist_pos = elbow_pos + 0.146 * H * np.array([1.0, 0.0, 0.0])
    head_axis = seg(trunk, 1.0)
    nose_pos = shoulder_pos + 0.10 * H * head_axis + np.array([0.05 * H, 0, 0])
    eye_pos = nose_pos + np.array([-0.01 * H, 0.02 * H, 0.0])
    ear_pos = eye_pos + np.array([-0.06 * H, 0.0, 0.0])
    half = {"hip": 0.0955 * H, "shoulder": 0.1295 * H, "eye": 0.018 * H, "ear": 0.045 * H}
    coco = get_keypoint_set("COCO-17")
    points = {}
    for side, sign in (("left", -1.0), ("right", 1.0)):

        def off(w: float, sign: float = sign) -> np.ndarray:
            return np.array([0.0, 0.0, sign * w])

        points[f"{side}_hip"] = hip_pos + off(half["hip"])
        points[f"{side}_knee"] = knee_pos + off(half["hip"])
        points[f"{side}_ankle"] = ankle_pos + off(half["hip"])
        points[f"{side}_shoulder"] = shoulder_pos + off(half["shoulder"])
        points[f"{side}_elbow"] = elbow_pos + off(half["shoulder"])
        points[f"{side}_wrist"] = wrist_pos + off(half["shoulder"])
        points[f"{side}_eye"] = eye_pos + off(half["eye"])
        points[f"{side}_ear"] = ear_pos + off(half["ear"])
    points["nose"] = nose_pos
    xyz = np.stack([points[name] for name in coco.names], axis=1)  # (n, 17, 3)

    # Pinhole camera 3.5 m away, 1.0 m high, looking horizontally at the subject.
    distance, cam_height, focal, size = 3.5, 1.0, 1000.0, (1280, 720)
    view = np.array([np.cos(camera_azimuth), 0.0, np.sin(camera_azimuth)])  # from subject towards camera
    centre = np.array([0.0, cam_height, 0.0]) + distance * view
    forward = -view
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rel = xyz - centre
    cam = np.stack([rel @ right, rel @ down, rel @ forward], -1)
    px = focal * cam[..., :2] / cam[..., 2:3] + np.array(size) / 2.0

    clean = Tracks(px, keypoints=coco, fps=fps, metadata={"source": "kinelift.synthetic.squat_tracks", "seed": seed})
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
    observed = clean.replace(positions=noisy, confidence=conf, metadata={"source": "kinelift.synthetic.squat_tracks", "seed": seed, "noise": noise})
    return SquatClip(observed, clean, truth, knee, hip, ankle)
