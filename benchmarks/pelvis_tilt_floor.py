"""How well the pelvis's tilt could be known from perfect 3D keypoints: a floor under hip-flexion error.

Usage: python benchmarks/pelvis_tilt_floor.py [--train-motions 1100] [--library build/motion_library]

Hip flexion is the thigh's angle to the pelvis, and its error is the thigh's error plus the error
of the pelvis's tilt to the floor (``kinelift.lifting.metrics.pelvis_pitch``). The keypoints of
LOWER-6 (hips, knees, ankles) put no point on the pelvis off its left-right axis, and COCO-17 adds
only the shoulders, so the tilt can only be inferred from what goes with it in the training data.
This script measures the best such inference on the lifters' own held-out motions with every
advantage a lifter does not have: the true 3D keypoints (no camera, no noise), their motion over
an 81-frame window (the shipped receptive field), and a flexible regressor
(scikit-learn's histogram gradient boosting) fitted on the training motions of the shipped
configuration's last data stage (kinelift/lifting/configs/lifter_lower6.toml; the held-out split is the one
``benchmarks/lift_eval.py`` scores). Per frame, the features are the thigh and shank directions
(and for COCO-17 the trunk's, hip midpoint to shoulder midpoint) in a frame of the hip line and the
vertical, both knee flexions, and their maxima and minima over the window.

Printed: the spread of the held-out tilt, and the RMSE of the regressor's tilt on the held-out
procedural motions for several regularisations, LOWER-6 and COCO-17 points. It is an empirical
floor, not a proof: in the generator the squat's tilt is a ratio drawn uniformly in 0.1-0.6 times
the knee flexion, independent of everything the keypoints show (kinelift.lifting.motions), so no
estimator can do much better, and a lifter's hip-flexion RMSE on those motions is not to be
expected below it.

With ``--library`` (a motion library, ``kinelift motion-library``) the same is measured on real
motion capture: the regressor learns on the training subjects' motions and is scored on the held-out
subjects' (UI-PRMD s06-s07, five CMU subjects, OpenCap), per movement family. There the tilt also
carries each subject's standing posture and marker placement, which no keypoint shows.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import maximum_filter1d, minimum_filter1d
from sklearn.ensemble import HistGradientBoostingRegressor

from kinelift.lifting.config import load_config
from kinelift.lifting.data import motion_split
from kinelift.lifting.lifter import lifter_skeleton
from kinelift.lifting.metrics import pelvis_pitch
from kinelift.lifting.motions import Motion

CONFIG = Path(__file__).resolve().parents[1] / "kinelift" / "lifting" / "configs" / "lifter_lower6.toml"
WINDOW = 81
POINTS = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_shoulder", "right_shoulder")


def features(motion: Motion, skeleton, index: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame LOWER-6 features, COCO-17 features (LOWER-6 plus the trunk) and the true tilt (deg)."""
    with torch.no_grad():
        fk = skeleton(torch.as_tensor(motion.coordinates))
    points = fk.markers.numpy()
    n = len(points)
    tilt = np.rad2deg(pelvis_pitch(fk.body_rotations[:, 0].numpy(), np.tile([0.0, 1.0, 0.0], (n, 1))))
    p = {name: points[:, index[name]] for name in POINTS}
    across = p["right_hip"] - p["left_hip"]
    across[:, 1] = 0.0
    across /= np.linalg.norm(across, axis=1, keepdims=True)
    forward = np.cross([0.0, 1.0, 0.0], across)

    def local(v: np.ndarray) -> np.ndarray:  # unit direction in (vertical, forward, across)
        v = v / np.linalg.norm(v, axis=1, keepdims=True)
        return np.stack([v[:, 1], (v * forward).sum(1), (v * across).sum(1)], axis=1)

    limbs = np.concatenate([local(p[f"{s}_knee"] - p[f"{s}_hip"]) for s in ("left", "right")]
                           + [local(p[f"{s}_ankle"] - p[f"{s}_knee"]) for s in ("left", "right")], axis=1)  # fmt: skip
    knees = np.rad2deg(motion.coordinates[:, [skeleton.coordinate_index("knee_angle_r"), skeleton.coordinate_index("knee_angle_l")]])
    lower = np.concatenate([limbs, knees] + [f(a, WINDOW, axis=0) for a in (knees, limbs) for f in (maximum_filter1d, minimum_filter1d)], axis=1)
    trunk = local((p["left_shoulder"] + p["right_shoulder"]) / 2 - (p["left_hip"] + p["right_hip"]) / 2)
    full = np.concatenate([lower, trunk, maximum_filter1d(trunk, WINDOW, axis=0), minimum_filter1d(trunk, WINDOW, axis=0)], axis=1)
    return lower, full, tilt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-motions", type=int, default=1100, help="training motions drawn for the regressor")
    parser.add_argument("--library", help="a motion library: train on its training subjects, score its held-out ones per family")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    setup = load_config(CONFIG)
    if args.library:
        from kinelift.lifting.motions import read_motion_library

        train = read_motion_library(args.library, split="train", fps=setup.model.fps)
        test = read_motion_library(args.library, split="test", fps=setup.model.fps)
    else:
        train, test = motion_split(setup.final_data(), setup.model.fps)
        test = [m for m in test if m.kind != "file"]
    rng = np.random.default_rng(0)
    train = [train[i] for i in rng.choice(len(train), min(args.train_motions, len(train)), replace=False)]
    skeleton = lifter_skeleton("COCO-17")
    index = {name: skeleton.marker_names.index(f"keypoint:{name}") for name in POINTS}

    def stack(motions: list[Motion]) -> list[np.ndarray]:
        parts = [features(m, skeleton, index) for m in motions]
        return [np.concatenate([p[i] for p in parts]) for i in range(3)]

    low_train, full_train, tilt_train = stack(train)
    low_test, full_test, tilt_test = stack(test)
    kind = "real (held-out subjects)" if args.library else "procedural"
    print(f"{len(train)} training motions ({len(tilt_train)} frames), {len(test)} held-out {kind} motions ({len(tilt_test)} frames)")
    print(f"held-out pelvis tilt: RMS about the training mean {np.sqrt(np.mean((tilt_test - tilt_train.mean()) ** 2)):.2f} deg")
    family = np.concatenate([[m.metadata.get("family", "procedural")] * len(m.coordinates) for m in test])
    settings = ((2000, None), (10000, 3)) if args.library else ((200, None), (2000, None), (5000, 4), (10000, 3))
    for label, x_train, x_test in (("LOWER-6 points", low_train, low_test), ("COCO-17 points", full_train, full_test)):
        for leaf, depth in settings:
            model = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, min_samples_leaf=leaf, max_depth=depth, random_state=0)
            model.fit(x_train, tilt_train)
            error = model.predict(x_test) - tilt_test
            rmse = np.sqrt(np.mean(error**2))
            print(f"{label:<15} min leaf {leaf:>5}, depth {depth!s:>4}: tilt RMSE on held-out motions {rmse:.2f} deg")
            if args.library:
                print("    per family (RMSE / mean error, deg): " + ", ".join(
                    f"{f} {np.sqrt(np.mean(error[family == f] ** 2)):.1f} / {error[family == f].mean():+.1f}" for f in sorted(set(family))))


if __name__ == "__main__":
    main()
