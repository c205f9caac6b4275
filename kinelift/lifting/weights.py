"""Saving and loading lifter weights; the weights that ship with kinelift.

A weights file is a ``torch.save`` dictionary that loads with ``weights_only=True`` (no code is
run): ``format`` ("kinelift-lifter"), ``format_version``, ``config`` (the
:class:`~kinelift.lifting.config.LifterConfig` as a dict), ``state_dict`` (floating tensors stored
as float16 to keep the file small), ``metrics`` (the held-out evaluation) and ``setup`` (the
full training configuration, for reproduction).

Shipped weights (``kinelift/lifting/weights/``, trained by ``kinelift train-lifter`` with the
configurations in ``kinelift/lifting/configs/``): ``"COCO-17"`` and ``"LOWER-6"`` inputs on the
built-in model.

Examples
--------
>>> lifter = load_lifter("LOWER-6")
>>> lifter.config.keypoints, lifter.training
('LOWER-6', False)
"""

from __future__ import annotations

import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch

from kinelift.errors import FileFormatError, UnknownNameError
from kinelift.io._atomic import atomic_path
from kinelift.lifting.config import LifterConfig
from kinelift.lifting.lifter import Lifter

__all__ = ["SHIPPED_WEIGHTS", "save_lifter", "load_lifter", "lifter_metadata"]

_DIR = Path(__file__).with_name("weights")
SHIPPED_WEIGHTS = {"COCO-17": _DIR / "lifter_coco17.pt", "LOWER-6": _DIR / "lifter_lower6.pt"}
_FORMAT = "kinelift-lifter"


def save_lifter(lifter: Lifter, path: str | os.PathLike[str], *, metrics: dict[str, float] | None = None,
                setup: dict[str, Any] | None = None, overwrite: bool = False) -> None:  # fmt: skip
    """Write ``lifter``'s configuration and weights (float16) atomically."""
    state = {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in lifter.state_dict().items()}
    payload = {"format": _FORMAT, "format_version": 1, "config": asdict(lifter.config), "state_dict": state,
               "metrics": dict(metrics or {}), "setup": setup or {}}  # fmt: skip
    with atomic_path(path, overwrite=overwrite) as tmp:
        torch.save(payload, tmp)


def _read(source: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    if isinstance(source, str) and source in SHIPPED_WEIGHTS:
        path = SHIPPED_WEIGHTS[source]
    elif isinstance(source, str) and not os.path.exists(source) and not source.endswith(".pt"):
        raise UnknownNameError("shipped lifter", source, known=list(SHIPPED_WEIGHTS))
    else:
        path = Path(source)
    if not path.exists():
        raise FileFormatError(path, "file not found", expected="lifter weights saved by kinelift.lifting.save_lifter")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or foreign files
        raise FileFormatError(path, f"not a readable torch file ({type(err).__name__}: {err})", expected="lifter weights") from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise FileFormatError(path, "not a kinelift lifter weights file", expected=f"a dict with format={_FORMAT!r}")
    return path, payload


def load_lifter(source: str | os.PathLike[str] = "COCO-17", *, device: str | torch.device = "cpu") -> Lifter:
    """A lifter in eval mode from shipped weights (a keypoint-set name) or a weights file."""
    path, payload = _read(source)
    known = {f.name for f in fields(LifterConfig)}
    config = LifterConfig(**{k: v for k, v in payload["config"].items() if k in known})
    lifter = Lifter(config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    try:
        lifter.load_state_dict(state)
    except RuntimeError as err:
        raise FileFormatError(path, f"weights do not fit the configured network: {err}") from None
    return lifter.to(device).eval()


def lifter_metadata(source: str | os.PathLike[str] = "COCO-17") -> dict[str, Any]:
    """The configuration, held-out metrics and training setup stored with the weights."""
    _, payload = _read(source)
    return {k: payload[k] for k in ("config", "metrics", "setup") if k in payload}
