"""Fingerprints of a run's input and settings, so that a result is never reused for another job.

A fingerprint is a small JSON-able dict: the kinelift version, the SHA-256 of the input's bytes
(a folder: of every file in it, by relative name), every :class:`~kinelift.pipeline.RunConfig`
field, the SHA-256 of each file a setting names (``model``, ``boxes``, a ``detector`` or
``lifter`` weights file) and of every shipped weights file (a shipped detector or lifter is named,
not given as a file, and its weights change between kinelift builds). Only content counts: a file moved or renamed with the same bytes has the same
fingerprint; one changed byte, or one changed setting, gives another. :func:`differences`
names what differs between two fingerprints, for the error a stale folder gets.

Examples
--------
>>> import tempfile, pathlib
>>> from kinelift.pipeline.config import RunConfig
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "a.json").write_text("{}")
>>> first = run_fingerprint(folder / "a.json", RunConfig())
>>> differences(first, run_fingerprint(folder / "a.json", RunConfig(height=1.8)))
['setting height: None -> 1.8']
>>> _ = (folder / "a.json").write_text("{ }")
>>> differences(first, run_fingerprint(folder / "a.json", RunConfig()))
['input file content']
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kinelift.pipeline.config import RunConfig

__all__ = ["content_digest", "run_fingerprint", "detection_fingerprint", "differences", "shipped_weights"]

_CHUNK = 1 << 20
_FILE_SETTINGS = ("model", "boxes", "detector", "lifter")
_DETECTION_SETTINGS = ("detector", "boxes", "fps", "max_fps")


def content_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's bytes, or of a folder's files (relative names and contents, in name order)."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(item.relative_to(path).as_posix().encode() + b"\0" + content_digest(item).encode())
        return digest.hexdigest()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _setting_files(config: RunConfig, names: tuple[str, ...]) -> dict[str, str | None]:
    """Digests of the files the named settings point at (``None`` for a setting that names no file)."""
    from kinelift.lifting.ensemble import lifter_sources

    out = {}
    for name in names:
        value = getattr(config, name)
        parts = lifter_sources(value) if name == "lifter" and isinstance(value, str) else [value]  # an ensemble names several files
        digests = [content_digest(v) if isinstance(v, str) and Path(v).is_file() else None for v in parts]
        out[name] = None if not any(digests) else digests[0] if len(digests) == 1 else digests
    return out


def shipped_weights() -> dict[str, str]:
    """SHA-256 of every shipped weights file, as ``{"detector LSP-14": digest, "lifter LOWER-6": digest, ...}``."""
    from kinelift.detect.weights import SHIPPED_DETECTORS
    from kinelift.lifting.weights import SHIPPED_WEIGHTS

    files = {f"detector {k}": p for k, p in SHIPPED_DETECTORS.items()} | {f"lifter {k}": p for k, p in SHIPPED_WEIGHTS.items()}
    return {name: content_digest(path) if Path(path).is_file() else "missing" for name, path in sorted(files.items())}


def run_fingerprint(source: str | os.PathLike[str], config: RunConfig) -> dict[str, Any]:
    """The fingerprint of running ``config`` on ``source``: input content, every setting, the files they name, the shipped weights."""
    from kinelift import __version__
    from kinelift.detect.mediapipe_pose import MEDIAPIPE, mediapipe_version

    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
    weights = shipped_weights()
    if config.detector in ("auto", MEDIAPIPE) or config.boxes == MEDIAPIPE:  # what "auto" picks, and the model mediapipe bundles,
        # follow the installed package
        weights[f"detector {MEDIAPIPE}"] = f"mediapipe {mediapipe_version()}"
    return {"kinelift_version": __version__, "input_sha256": content_digest(source), "settings": settings,
            "setting_files_sha256": _setting_files(config, _FILE_SETTINGS), "shipped_weights_sha256": weights}  # fmt: skip


def detection_fingerprint(run: dict[str, Any]) -> dict[str, Any]:
    """The part of a run's fingerprint that the 2D detections depend on (for their cache)."""
    return {"kinelift_version": run["kinelift_version"], "input_sha256": run["input_sha256"],
            "settings": {k: run["settings"].get(k) for k in _DETECTION_SETTINGS},
            "setting_files_sha256": {k: run["setting_files_sha256"].get(k) for k in ("boxes", "detector")},
            "shipped_weights_sha256": {k: v for k, v in run.get("shipped_weights_sha256", {}).items() if k.startswith("detector ")}}  # fmt: skip


def differences(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """What differs from ``old`` to ``new``, in words (empty when they are equal)."""
    if not old:
        return ["the earlier result has no fingerprint (an older kinelift)"]
    out = []
    if old.get("input_sha256") != new.get("input_sha256"):
        out.append("input file content")
    old_settings, new_settings = old.get("settings", {}), new.get("settings", {})
    for key in sorted(set(old_settings) | set(new_settings)):
        if old_settings.get(key) != new_settings.get(key):
            out.append(f"setting {key}: {old_settings.get(key)!r} -> {new_settings.get(key)!r}")
    old_files, new_files = old.get("setting_files_sha256", {}), new.get("setting_files_sha256", {})
    for key in sorted(set(old_files) | set(new_files)):
        if old_files.get(key) != new_files.get(key) and old_settings.get(key) == new_settings.get(key):
            out.append(f"content of the {key} file")
    old_shipped, new_shipped = old.get("shipped_weights_sha256", {}), new.get("shipped_weights_sha256", {})
    changed = sorted(k for k in set(old_shipped) | set(new_shipped) if old_shipped.get(k) != new_shipped.get(k))
    if changed:
        out.append("shipped weights (" + ", ".join(changed) + ")")
    if old.get("kinelift_version") != new.get("kinelift_version"):
        out.append(f"kinelift version {old.get('kinelift_version')} -> {new.get('kinelift_version')}")
    return out
