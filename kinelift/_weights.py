"""Network weights files shared by the detectors and the lifter: written float16, read safely.

A weights file is a ``torch.save`` dictionary that loads with ``weights_only=True`` (no code is
run): ``format`` (which kind of network), ``format_version``, ``config`` (the network's
configuration dataclass as a dict), ``state_dict`` (floating tensors as float16), ``metrics`` and
``setup`` (the training configuration). :func:`read_weights` resolves a shipped name or a path and
checks the format; :func:`load_state` puts the tensors (back in float32) into a network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kinelift.errors import FileFormatError, UnknownNameError
from kinelift.io._atomic import atomic_path

__all__ = ["save_weights", "read_weights", "config_from_payload", "load_state"]


def save_weights(module: nn.Module, path: str | os.PathLike[str], *, fmt: str, metrics: Mapping[str, Any] | None = None,
                 setup: Mapping[str, Any] | None = None, overwrite: bool = False) -> None:  # fmt: skip
    """Write ``module.config`` and its weights (float16) atomically as a ``fmt`` file."""
    state = {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in module.state_dict().items()}
    payload = {"format": fmt, "format_version": 1, "config": asdict(module.config), "state_dict": state,
               "metrics": dict(metrics or {}), "setup": dict(setup or {})}  # fmt: skip
    with atomic_path(path, overwrite=overwrite) as tmp:
        torch.save(payload, tmp)


def read_weights(source: str | os.PathLike[str], *, shipped: Mapping[str, Path], fmt: str, kind: str, saver: str) -> tuple[Path, dict[str, Any]]:
    """The path and payload of shipped weights (a key of ``shipped``) or of a weights file.

    ``kind`` ("lifter", "detector") and ``saver`` (the function that writes such files) word the
    errors: an unknown shipped name, a missing or unreadable file, a file of another format.
    """
    if isinstance(source, str) and source in shipped:
        path = shipped[source]
    elif isinstance(source, str) and not os.path.exists(source) and not source.endswith(".pt"):
        raise UnknownNameError(f"shipped {kind}", source, known=list(shipped))
    else:
        path = Path(source)
    if not path.exists():
        raise FileFormatError(path, "file not found", expected=f"{kind} weights saved by {saver}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or foreign files
        raise FileFormatError(path, f"not a readable torch file ({type(err).__name__}: {err})", expected=f"{kind} weights") from None
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        raise FileFormatError(path, f"not a kinelift {kind} weights file", expected=f"a dict with format={fmt!r}")
    return path, payload


def config_from_payload(payload: Mapping[str, Any], config_class: type) -> Any:
    """The configuration dataclass of a payload (keys the class no longer has are dropped)."""
    known = {f.name for f in fields(config_class)}
    return config_class(**{k: v for k, v in payload["config"].items() if k in known})


def load_state(module: nn.Module, payload: Mapping[str, Any], path: Path) -> None:
    """Load the payload's tensors (float32) into ``module``; :class:`FileFormatError` if they do not fit."""
    state = {k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        raise FileFormatError(path, f"weights do not fit the configured network: {err}") from None
