"""Saving and loading lifter weights; the weights that ship with kinelift.

A weights file is a ``torch.save`` dictionary that loads with ``weights_only=True`` (no code is
run): ``format`` ("kinelift-lifter"), ``format_version``, ``config`` (the
:class:`~kinelift.lifting.config.LifterConfig` as a dict), ``state_dict`` (floating tensors stored
as float16 to keep the file small), ``metrics`` (the held-out evaluation) and ``setup`` (the
full training configuration, for reproduction).

Shipped weights (``kinelift/lifting/weights/``, trained by ``kinelift train-lifter`` with the
configurations in ``kinelift/lifting/configs/``): ``"COCO-17"``, ``"LOWER-6"`` and ``"LSP-14"``
(kinelift's own detector's points; ``lifter_lsp14_real.toml``) inputs on the built-in model; the
weights shipped now are the last of a chain of fine-tuning stages, ``lifter_*_plain_angles2.toml``
(0.3.8; the stages and their figures: docs/lift.md). ``"BODY-25"`` (``lifter_body25.toml``, 0.3.9,
grown from the COCO-17 weights, then ``lifter_body25_2.toml``, 0.3.10) also reads the six foot points; since 0.3.10 ``kinelift.lift``
lifts tracks with feet (BODY-25, HALPE-26, BODY-25B) with ``"BODY-25+LOWER-6"`` by default
(docs/lift.md, "Foot points").

Examples
--------
>>> lifter = load_lifter("LOWER-6")
>>> lifter.config.keypoints, lifter.training
('LOWER-6', False)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from kinelift._weights import config_from_payload, load_state, read_weights, save_weights
from kinelift.lifting.config import LifterConfig
from kinelift.lifting.lifter import Lifter

__all__ = ["SHIPPED_WEIGHTS", "save_lifter", "load_lifter", "lifter_metadata"]

_DIR = Path(__file__).with_name("weights")
SHIPPED_WEIGHTS = {"COCO-17": _DIR / "lifter_coco17.pt", "LOWER-6": _DIR / "lifter_lower6.pt", "LSP-14": _DIR / "lifter_lsp14.pt",
                   "BODY-25": _DIR / "lifter_body25.pt"}  # fmt: skip
_FORMAT = "kinelift-lifter"


def save_lifter(lifter: Lifter, path: str | os.PathLike[str], *, metrics: dict[str, float] | None = None,
                setup: dict[str, Any] | None = None, overwrite: bool = False) -> None:  # fmt: skip
    """Write ``lifter``'s configuration and weights (float16) atomically."""
    save_weights(lifter, path, fmt=_FORMAT, metrics=metrics, setup=setup, overwrite=overwrite)


def _read(source: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    return read_weights(source, shipped=SHIPPED_WEIGHTS, fmt=_FORMAT, kind="lifter", saver="kinelift.lifting.save_lifter")


def load_lifter(source: str | os.PathLike[str] = "COCO-17", *, device: str | torch.device = "cpu") -> Lifter:
    """A lifter in eval mode from shipped weights (a keypoint-set name) or a weights file."""
    path, payload = _read(source)
    lifter = Lifter(config_from_payload(payload, LifterConfig))
    load_state(lifter, payload, path)
    return lifter.to(device).eval()


def lifter_metadata(source: str | os.PathLike[str] = "COCO-17") -> dict[str, Any]:
    """The configuration, held-out metrics and training setup stored with the weights."""
    _, payload = _read(source)
    return {k: payload[k] for k in ("config", "metrics", "setup") if k in payload}
