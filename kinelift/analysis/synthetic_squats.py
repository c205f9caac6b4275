"""Labelled synthetic squat repetitions for Ogata et al.'s seven classes, through the skeletal model.

Each repetition is a cosine-shaped descent and ascent of kinelift's built-in model
(:func:`kinelift.lifting.motions.squat_motion`, the motions' one squat generator, feet on the floor;
:func:`kinelift.skeleton.builtin.builtin_model` at the subject's height, drawn per synthetic subject)
with the class's fault at the bottom; forward kinematics gives the 19 HMR joints (``HMR-19``)
in metres, ground frame (y up), plus Gaussian noise. Peak values at the bottom (degrees, drawn uniformly per repetition;
signs are the built-in model's, OpenSim's usual ones):

====================  ==========================================================================
class                 pose at the bottom
====================  ==========================================================================
``good``              knee 100-125, hip 0.85-1.0 x knee, ankle dorsiflexion 20-30, lumbar -5..0
``bad_shallow``       knee 45-70 (hip and ankle scaled with it)
``bad_back_round``    as good, lumbar flexion 25-40 (``lumbar_extension`` -25..-40)
``bad_back_warp``     as good, lumbar extension 15-30
``bad_head``          as good, neck flexion or extension 25-40 (either sign)
``bad_innner_thigh``  as good, hip adduction 8-15 and internal rotation 10-20 (knees in) [sic, Ogata's name]
``bad_toe``           as good, ankle dorsiflexion 30-40 with hip 0.55-0.7 x knee (knees travel forward)
====================  ==========================================================================

Arms are held forward (shoulder flexion 70-90 deg at the bottom). These are kinematic caricatures
for tests and pre-training, not a model of real faults; judge classifiers on real data.

Examples
--------
>>> data = synthetic_squats(n_per_class=2, n_subjects=2, seed=0)
>>> len(data), data.sequences[0].shape[1:], np.unique(data.labels).tolist()[:2]
(14, (19, 3), ['bad_back_round', 'bad_back_warp'])
"""

from __future__ import annotations

import numpy as np

from kinelift.analysis.classify.datasets import OGATA_CLASSES, SquatDataset
from kinelift.errors import ValueRangeError

__all__ = ["synthetic_squats"]


def _bottom_pose(label: str, rng: np.random.Generator) -> dict[str, float]:
    u = rng.uniform
    knee = u(100, 125) if label != "bad_shallow" else u(45, 70)
    pose = {"knee": knee, "hip": knee * u(0.85, 1.0), "ankle": knee * u(0.2, 0.25), "lumbar_extension": u(-5, 0),
            "neck_flexion": u(-5, 5), "hip_adduction": 0.0, "hip_rotation": 0.0, "arm_flex": u(70, 90)}  # fmt: skip
    if label == "bad_back_round":
        pose["lumbar_extension"] = -u(25, 40)
    elif label == "bad_back_warp":
        pose["lumbar_extension"] = u(15, 30)
    elif label == "bad_head":
        pose["neck_flexion"] = u(25, 40) * rng.choice([-1.0, 1.0])
    elif label == "bad_innner_thigh":
        pose["hip_adduction"], pose["hip_rotation"] = u(8, 15), u(10, 20)
    elif label == "bad_toe":
        pose["ankle"], pose["hip"] = u(30, 40), knee * u(0.55, 0.7)
    return pose


def synthetic_squats(
    *,
    n_per_class: int = 20,
    classes: tuple[str, ...] = OGATA_CLASSES,
    n_subjects: int = 5,
    fps: float = 30.0,
    noise: float = 0.01,
    seed: int = 0,
) -> SquatDataset:
    """Labelled repetitions ``(frames, 19, 3)`` (HMR-19 joints, metres) of the classes in the module's table.

    Parameters
    ----------
    n_per_class : int, default 20
    classes : tuple of str
        Any of the seven Ogata class names.
    n_subjects : int, default 5
        Synthetic subjects (heights 1.55-1.95 m); ``groups`` holds each repetition's subject.
    fps : float, default 30.0
    noise : float, default 0.01
        Standard deviation of the Gaussian noise on every joint (m).
    seed : int, default 0
    """
    import torch

    from kinelift.lifting.motions import squat_motion
    from kinelift.skeleton.builtin import builtin_model
    from kinelift.skeleton.keypoint_maps import KeypointModel

    unknown = [c for c in classes if c not in OGATA_CLASSES]
    if unknown:
        raise ValueRangeError("classes", expected=f"names among {OGATA_CLASSES}", got=unknown)
    if n_per_class < 1 or n_subjects < 1:
        raise ValueRangeError("n_per_class/n_subjects", expected="positive integers", got=(n_per_class, n_subjects))
    rng = np.random.default_rng(seed)
    heights = rng.uniform(1.55, 1.95, n_subjects)
    seqs, labels, groups, names = [], [], [], []
    for subject, height in enumerate(heights):
        kp = KeypointModel(builtin_model(height=float(height)), "HMR-19")
        for label in classes:
            for r in range(subject, n_per_class, n_subjects):
                pose = _bottom_pose(label, rng)
                n = int(round(rng.uniform(2.0, 3.5) * fps))
                bottom = {"lumbar_extension": pose["lumbar_extension"], "neck_flexion": pose["neck_flexion"]}
                for s in ("r", "l"):
                    bottom.update({f"hip_flexion_{s}": pose["hip"], f"knee_angle_{s}": pose["knee"], f"ankle_angle_{s}": pose["ankle"],
                                   f"hip_adduction_{s}": pose["hip_adduction"], f"hip_rotation_{s}": pose["hip_rotation"],
                                   f"arm_flex_{s}": pose["arm_flex"]})  # fmt: skip
                phase = 0.5 * (1 - np.cos(2 * np.pi * np.linspace(0, 1, n)))
                motion = squat_motion(bottom, phase, fps=fps, height=float(height), name=f"synthetic_{label}")
                with torch.no_grad():
                    pts = kp(torch.as_tensor(motion.coordinates)).numpy()
                seqs.append(pts + rng.normal(0.0, noise, pts.shape))
                labels.append(label)
                groups.append(subject)
                names.append(f"synthetic_{label}_{subject}_{r}")
    return SquatDataset(tuple(seqs), np.array(labels), np.array(groups), tuple(names), fps)
