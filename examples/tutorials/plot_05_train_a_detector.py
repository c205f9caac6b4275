"""
Training a keypoint detector
============================

kinelift's detectors are heatmap CNNs in pure torch (SimpleBaseline, FPN, dilated, FPN with
attention). This tutorial builds a tiny training set that needs no download (stick figures drawn
from the built-in model's keypoints), trains a small SimpleBaseline for a few epochs on the CPU
and looks at its heatmaps. The shipped weights were trained the same way on LSP and LSPET
(``kinelift train-detector kinelift/detect/configs/detector_lsp14_cpu.toml``).
"""

# %%
import tempfile
from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch

from kinelift.core import get_keypoint_set
from kinelift.detect.config import detector_config_from_dict
from kinelift.detect.crops import build_crops, training_batch
from kinelift.detect.datasets import PoseSamples
from kinelift.detect.evaluation import evaluate_detector
from kinelift.detect.predict import predict_heatmaps
from kinelift.detect.training import train_detector
from kinelift.lifting.data import render_clip
from kinelift.lifting.motions import procedural_squats

rng = np.random.default_rng(0)
folder = Path(tempfile.mkdtemp())
lower = get_keypoint_set("LOWER-6")
paths, points = [], []
for i in range(6):
    clip = render_clip(procedural_squats(rng, reps=1), "LOWER-6", rng=rng)
    for f in range(0, clip.tracks.n_frames, 6):
        p = clip.clean[f] - clip.clean[f].min(0) + 40  # pixels, person near the top-left
        image = np.full((int(p[:, 1].max()) + 40, int(p[:, 0].max()) + 40, 3), 30, np.uint8)
        for a, b in lower.edges:
            cv2.line(image, tuple(map(int, p[a])), tuple(map(int, p[b])), (230, 200, 90), 6)
        paths.append(str(folder / f"{i}_{f}.png"))
        cv2.imwrite(paths[-1], image)
        points.append(p)
points = np.asarray(points)
boxes = np.concatenate([points.min(1), points.max(1) - points.min(1)], axis=1)
ones = np.ones(points.shape[:2], bool)
samples = PoseSamples(tuple(paths), points, ones, ones, boxes, "LOWER-6")
print(f"{len(samples)} drawn people")

# %%
# Train: a quarter-width ResNet-18 SimpleBaseline at 64x64, Adam, flip/scale/rotation augmentation.
setup = detector_config_from_dict({
    "model": {"keypoints": "LOWER-6", "input_size": [64, 64], "width": 0.25, "head_channels": 32, "sigma": 1.0},
    "training": {"epochs": 6, "batch_size": 16, "lr": 2e-3, "lr_steps": [5], "out_dir": str(folder / "run")},
})
torch.manual_seed(0)
crops = build_crops(samples, (64, 64), progress=False)
result = train_detector(setup, train=crops, validation=build_crops(samples, (64, 64), extent=1.0, progress=False), progress=False)
print(f"after {result.epochs} epochs: PCK@0.1 of the crop {result.metrics['pck01']:.2f}")

# %%
# The heatmaps of one crop (brighter: more likely the joint).
from kinelift.detect import load_detector

net = load_detector(result.weights)
images, target, _, _ = training_batch(crops, np.array([3]), sigma=1.0, flip_indices=lower.flip_indices())
maps = predict_heatmaps(net, images)[0]
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
axes[0].imshow(((images[0].permute(1, 2, 0) * 0.22 + 0.45).clamp(0, 1)).numpy())
axes[1].imshow(target[0].max(0).values, cmap="magma")
axes[2].imshow(maps.max(0).values, cmap="magma")
for ax, title in zip(axes, ("crop", "target heatmaps", "predicted")):
    ax.set(title=title, xticks=[], yticks=[])
plt.show()
print(evaluate_detector(net, crops)["pck01_lower"])
