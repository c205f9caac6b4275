"""The embedded default input of ``make demo``: a squatting subject the project generates itself.

A procedural squat of the built-in model (:func:`kinelift.lifting.motions.procedural_squats`) is
played through the skeletal model, seen by one camera and corrupted like a detector's output
(:class:`kinelift.lifting.corruption.DetectorNoise`: jitter, drift, outliers, left/right swaps,
dropped points), then written as a COCO keypoints file (with frame times): the kind of file a user brings. The true
coordinates come with it, so the demo can say how close the pipeline got. Nothing is downloaded.

Examples
--------
>>> clip = demo_clip(n_reps=2)
>>> clip.tracks.keypoint_set.name, clip.tracks.fps
('COCO-17', 30.0)
"""

from __future__ import annotations

import os

import numpy as np

from kinelift.lifting.data import RenderedClip, render_clip
from kinelift.lifting.motions import procedural_squats

__all__ = ["demo_clip", "write_demo_input", "DEMO_SEED"]

DEMO_SEED = 7
"""Seed of the demo clip (three squats seen from the front-side, knees to about 105 deg but thighs
about 76 deg from vertical, above parallel: the demo's feedback says so)."""


def demo_clip(*, n_reps: int = 3, seed: int = DEMO_SEED, fps: float = 30.0) -> RenderedClip:
    """The demo's squat clip (COCO-17 keypoints, pixels) with its truth."""
    rng = np.random.default_rng(seed)
    motion = procedural_squats(rng, fps=fps, reps=n_reps, name="demo_squat")
    return render_clip(motion, "COCO-17", rng=rng, speed=1.0)


def write_demo_input(path: str | os.PathLike[str], *, n_reps: int = 3, seed: int = DEMO_SEED, overwrite: bool = True) -> RenderedClip:
    """Write the demo clip as a COCO keypoints JSON file at ``path``; returns the clip."""
    from kinelift.io import save

    clip = demo_clip(n_reps=n_reps, seed=seed)
    save(path, tracks=[clip.tracks], format="coco", overwrite=overwrite)
    return clip
