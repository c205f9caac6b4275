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
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kinelift.core import get_keypoint_set
from kinelift.detect.config import DetectorConfig
from kinelift.detect.networks import build_detector
from kinelift.errors import FileFormatError, UnknownNameError
from kinelift.io._atomic import atomic_path

__all__ = ["SHIPPED_DETECTORS", "save_detector", "load_detector", "subset_keypoints", "detector_metadata"]

_DIR = Path(__file__).with_name("weights")
SHIPPED_DETECTORS = {"LSP-14": _DIR / "detector_lsp14.pt", "LOWER-6": _DIR / "detector_lower6.pt"}
_FORMAT = "kinelift-detector"


def save_detector(detector: nn.Module, path: str | os.PathLike[str], *, metrics: dict[str, Any] | None = None,
                  setup: dict[str, Any] | None = None, overwrite: bool = False) -> None:  # fmt: skip
    """Write ``detector``'s configuration and weights (float16) atomically."""
    state = {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in detector.state_dict().items()}
    payload = {"format": _FORMAT, "format_version": 1, "config": asdict(detector.config), "state_dict": state,
               "metrics": dict(metrics or {}), "setup": setup or {}}  # fmt: skip
    with atomic_path(path, overwrite=overwrite) as tmp:
        torch.save(payload, tmp)


def _read(source: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    if isinstance(source, str) and source in SHIPPED_DETECTORS:
        path = SHIPPED_DETECTORS[source]
    elif isinstance(source, str) and not os.path.exists(source) and not source.endswith(".pt"):
        raise UnknownNameError("shipped detector", source, known=list(SHIPPED_DETECTORS))
    else:
        path = Path(source)
    if not path.exists():
        raise FileFormatError(path, "file not found", expected="detector weights saved by kinelift.detect.save_detector")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or foreign files
        raise FileFormatError(path, f"not a readable torch file ({type(err).__name__}: {err})", expected="detector weights") from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise FileFormatError(path, "not a kinelift detector weights file", expected=f"a dict with format={_FORMAT!r}")
    return path, payload


def detector_metadata(source: str | os.PathLike[str]) -> dict[str, Any]:
    """``config``, ``metrics`` and ``setup`` of a weights file, without building the network."""
    return {k: v for k, v in _read(source)[1].items() if k != "state_dict"}


def load_detector(source: str | os.PathLike[str] = "LSP-14", *, device: str | torch.device = "cpu") -> nn.Module:
    """A detector in eval mode from shipped weights (a keypoint-set name) or a weights file."""
    path, payload = _read(source)
    known = {f.name for f in fields(DetectorConfig)}
    detector = build_detector(DetectorConfig(**{k: v for k, v in payload["config"].items() if k in known}))
    state = {k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    try:
        detector.load_state_dict(state)
    except RuntimeError as err:
        raise FileFormatError(path, f"weights do not fit the configured network: {err}") from None
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
