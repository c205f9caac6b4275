"""Saving and loading detector weights; the weights that ship with kinelift.

A weights file is a ``torch.save`` dictionary that loads with ``weights_only=True``: ``format``
("kinelift-detector"), ``format_version``, ``config`` (the
:class:`~kinelift.detect.config.DetectorConfig` as a dict), ``state_dict`` (float16),
``metrics`` (validation figures) and ``setup`` (the full training configuration).

Shipped weights (``kinelift/detect/weights/``): ``"LSP-14"`` (trained by ``kinelift
train-detector`` with ``kinelift/detect/configs/detector_lsp14_cpu.toml``) and ``"LOWER-6"``
(the same network with the head cut to the six leg joints, :func:`subset_keypoints`).

Examples
--------
>>> from kinelift.detect.config import DetectorConfig
>>> from kinelift.detect.networks import build_detector
>>> net = build_detector(DetectorConfig(keypoints="LSP-14", input_size=(64, 64), width=0.25, head_channels=16))
>>> subset_keypoints(net, "LOWER-6").head.out_channels
6
"""

from __future__ import annotations

import copy
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kinelift._weights import config_from_payload, load_state, read_weights, save_weights
from kinelift.core import get_keypoint_set
from kinelift.detect.config import DetectorConfig
from kinelift.detect.networks import build_detector

__all__ = ["SHIPPED_DETECTORS", "save_detector", "load_detector", "subset_keypoints", "detector_metadata"]

_DIR = Path(__file__).with_name("weights")
SHIPPED_DETECTORS = {"LSP-14": _DIR / "detector_lsp14.pt", "LOWER-6": _DIR / "detector_lower6.pt"}
_FORMAT = "kinelift-detector"


def save_detector(detector: nn.Module, path: str | os.PathLike[str], *, metrics: dict[str, Any] | None = None,
                  setup: dict[str, Any] | None = None, overwrite: bool = False) -> None:  # fmt: skip
    """Write ``detector``'s configuration and weights (float16) atomically."""
    save_weights(detector, path, fmt=_FORMAT, metrics=metrics, setup=setup, overwrite=overwrite)


def _read(source: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    return read_weights(source, shipped=SHIPPED_DETECTORS, fmt=_FORMAT, kind="detector", saver="kinelift.detect.save_detector")


def detector_metadata(source: str | os.PathLike[str]) -> dict[str, Any]:
    """``config``, ``metrics`` and ``setup`` of a weights file, without building the network."""
    return {k: v for k, v in _read(source)[1].items() if k != "state_dict"}


def load_detector(source: str | os.PathLike[str] = "LSP-14", *, device: str | torch.device = "cpu") -> nn.Module:
    """A detector in eval mode from shipped weights (a keypoint-set name) or a weights file."""
    path, payload = _read(source)
    detector = build_detector(config_from_payload(payload, DetectorConfig))
    load_state(detector, payload, path)
    return detector.to(device).eval()


def subset_keypoints(detector: nn.Module, keypoints: str) -> nn.Module:
    """A copy of ``detector`` whose 1x1 head keeps only the channels of the points of ``keypoints``.

    Every point of the new set must be in the detector's set (by name); the result is the same
    network for those points (e.g. LOWER-6 from an LSP-14 detector).
    """
    source, target = get_keypoint_set(detector.config.keypoints), get_keypoint_set(keypoints)
    idx = source.indices(target.names)
    out = copy.deepcopy(detector)
    old = out.head
    out.head = nn.Conv2d(old.in_channels, len(idx), 1).to(old.weight)
    with torch.no_grad():
        out.head.weight.copy_(old.weight[idx])
        out.head.bias.copy_(old.bias[idx])
    out.config = replace(detector.config, keypoints=target.name)
    out.n_keypoints = len(idx)
    return out
