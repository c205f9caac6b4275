"""Resuming a training run only from a checkpoint made with the same settings.

A checkpoint stores the setup it was trained with. Resuming it under changed settings (other data,
another loss, another network) would silently continue a different run and report its figures as
this one's, so :func:`resumable_state` refuses with the settings that differ; only the keys
that cannot change the result so far (how long to go on, where to run, how often to log) may
differ.

Examples
--------
>>> flat_settings({"training": {"steps": 10, "lr": 0.1}, "model": {"widths": (3, 3)}})
{'training.steps': 10, 'training.lr': 0.1, 'model.widths': (3, 3)}
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from kinelift.errors import ValueRangeError

__all__ = ["flat_settings", "resumable_state"]


def flat_settings(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables as ``{"table.key": value}``; lists become tuples (a saved setup's form)."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat_settings(value, f"{name}."))
        else:
            out[name] = _frozen(value)
    return out


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, (list, tuple)) else value


def resumable_state(checkpoint: str | os.PathLike[str], settings: Mapping[str, Any], *, device: torch.device,
                    free: Iterable[str] = ()) -> dict[str, Any]:  # fmt: skip
    """The state saved in ``checkpoint`` (``torch.load`` of tensors and plain values only), if it
    was made with ``settings``.

    Parameters
    ----------
    checkpoint
        A checkpoint whose ``"setup"`` entry holds the nested settings it was trained with.
    settings
        The settings of the run that wants to resume (nested tables, as ``asdict`` gives them).
    device
        Where the tensors are loaded.
    free
        Dotted keys (``"training.steps"``) that may differ: they cannot change what was trained so far.

    Raises
    ------
    ValueRangeError
        When the checkpoint has no saved setup or its settings differ outside ``free``; the message
        names each differing key with both values.
    """
    state = torch.load(checkpoint, map_location=device, weights_only=True)
    saved = state.get("setup")
    if not isinstance(saved, Mapping):
        raise ValueRangeError(f"{checkpoint}: setup", expected="the settings the checkpoint was trained with (start afresh: --no-resume)",
                              got="none saved")  # fmt: skip
    old, new, free = flat_settings(saved), flat_settings(settings), set(free)
    differ = {k: (old.get(k, "(absent)"), new.get(k, "(absent)")) for k in sorted(old.keys() | new.keys())
              if k not in free and old.get(k, "(absent)") != new.get(k, "(absent)")}  # fmt: skip
    if differ:
        listed = "; ".join(f"{k}: {a!r} -> {b!r}" for k, a, b in ((k, *v) for k, v in differ.items()))
        raise ValueRangeError(f"{checkpoint}", expected="a checkpoint of these settings (another out_dir, or --no-resume to start afresh)",
                              got=f"settings changed: {listed}")  # fmt: skip
    return state
