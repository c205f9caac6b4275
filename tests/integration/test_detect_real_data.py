"""The detection layer on real labelled images from ../shared/data (LSP, LSPET, COCO)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinelift.core import get_keypoint_set
from kinelift.detect.config import DetectorConfig
from kinelift.detect.crops import build_crops, training_batch
from kinelift.detect.datasets import LOWER_BODY, read_coco_keypoints, read_lsp, read_lspet
from kinelift.detect.evaluation import evaluate_detector
from kinelift.detect.heatmaps import joints_mse_loss
from kinelift.detect.networks import build_detector
from tests.conftest import shared_file

pytestmark = pytest.mark.shared_data


def test_lsp_flags_mean_visible_when_zero():
    folder = shared_file("lsp-train/joints.mat").parent
    samples = read_lsp(folder)
    assert len(samples) == 1000 and samples.keypoint_set.name == "LSP-14"
    assert samples.labelled.all()  # LSP locates occluded joints too
    assert 0.9 < samples.visible.mean() < 0.96  # PROVENANCE: 25,956 of 28,000 flags are 0 (visible)
    # person-centric left/right: the head top lies above the ankles in almost every image
    ks = samples.keypoint_set
    assert np.mean(samples.keypoints[:, ks.index("head_top"), 1] < samples.keypoints[:, ks.index("right_ankle"), 1]) > 0.9
    assert np.all(samples.boxes[:, 2:] > 0)


def test_lspet_flags_mean_visible_when_one():
    folder = shared_file("lspet-lowerbody/joints.mat").parent
    samples = read_lspet(folder)
    assert len(samples) == 5977  # PROVENANCE: the images with all six leg joints flagged 1
    assert len(samples.with_all_labelled(LOWER_BODY)) == 5977
    # flag-0 placeholders (mostly negative) are unlabelled; PROVENANCE: 8 labelled joints lie slightly outside the image
    assert np.mean(samples.keypoints[samples.labelled] < -1) < 1e-4
    assert (samples.keypoints[~samples.labelled] == 0).all()


def test_coco_sample_reader():
    folder = shared_file("coco-sample/test_coco.json").parent
    samples = read_coco_keypoints(folder / "test_coco.json", folder)
    assert samples.keypoint_set.name == "COCO-17" and len(samples) >= 8
    assert np.all(samples.labelled.sum(1) >= 1)


def test_single_batch_overfit_on_coco_sample():
    """The issue's check that the model, targets, loss and decoding fit together: a small
    SimpleBaseline learns one batch of real COCO people (loss near zero, PCK@0.05 near 1)."""
    folder = shared_file("coco-sample/test_coco.json").parent
    samples = read_coco_keypoints(folder / "test_coco.json", folder, min_keypoints=8)
    torch.manual_seed(0)
    config = DetectorConfig(keypoints="COCO-17", input_size=(128, 96), width=0.25, head_channels=32, sigma=1.5)
    net = build_detector(config)
    crops = build_crops(samples, config.input_size, extent=1.0, progress=False)
    index = np.arange(len(crops))
    images, target, weight, _ = training_batch(crops, index, sigma=config.sigma, flip_indices=get_keypoint_set("COCO-17").flip_indices())
    optimizer = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    first = None
    for _ in range(250):
        loss = joints_mse_loss(net(images), target, weight)
        first = float(loss.detach()) if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        final = float(joints_mse_loss(net(images), target, weight))
    assert final < 0.05 * first
    metrics = evaluate_detector(net, crops, flip_test=False)
    assert metrics["pck005"] > 0.9
