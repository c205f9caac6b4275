"""The demo job: the longest real chain kinelift has, on a clip it generates itself.

Steps: a synthetic squat clip seen by one camera with detector-like noise
(:func:`kinelift.synthetic.squat_tracks`) -> written as MMPose detector output ->
read back like any user's file -> Hampel outlier rejection -> gap filling ->
zero-lag Butterworth low-pass -> outputs: kinelift HDF5 (raw and processed tracks,
validated against the schema), TRC, a pandas CSV, and a PNG of the processed
trajectories against the truth.

Examples
--------
>>> import tempfile
>>> summary = run_demo(tempfile.mkdtemp(), progress=False)
>>> summary["rmse_px_processed"] < summary["rmse_px_observed"]
True
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from kinelift.io import load, save, validate_h5
from kinelift.processing import fill_tracks, filter_tracks, reject_outliers
from kinelift.synthetic import squat_tracks

log = logging.getLogger(__name__)

__all__ = ["run_demo"]


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    d = np.linalg.norm(a - b, axis=-1)
    return float(np.sqrt(np.nanmean(d**2)))


def _plot(path: Path, clean: Any, observed: Any, processed: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for ax, name in zip(axes, ("left_knee", "right_ankle")):
        k = clean.keypoint_set.index(name)
        ax.plot(observed.time, observed.positions[:, k, 1], ".", ms=3, color="0.6", label="detector-like input")
        ax.plot(clean.time, clean.positions[:, k, 1], "-", lw=2, color="C0", label="truth")
        ax.plot(processed.time, processed.positions[:, k, 1], "-", lw=1.2, color="C3", label="outliers rejected, gaps filled, filtered")
        ax.set_ylabel(f"{name} image y (px, down)")
        ax.invert_yaxis()
    axes[0].legend(loc="lower left", fontsize=8)
    axes[1].set_xlabel("time (s)")
    fig.suptitle("kinelift demo: synthetic squat, 2D track processing")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def run_demo(out_dir: str | os.PathLike[str], *, overwrite: bool = True, progress: bool = True, seed: int = 0) -> dict[str, Any]:
    """Run the demo chain and write its outputs to ``out_dir``; returns a summary dict.

    Parameters
    ----------
    out_dir : path-like
        Output folder (created).
    overwrite : bool, default True
        Replace outputs of an earlier run.
    progress : bool, default True
        Show a progress bar.
    seed : int, default 0
        Seed of the generated clip.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    steps = tqdm(total=6, desc="kinelift demo", disable=not progress)
    clip = squat_tracks(n_reps=3, fps=30.0, seed=seed)
    save(out / "detections_mmpose.json", tracks=[clip.observed], format="mmpose", overwrite=overwrite)
    steps.update()
    (observed,) = load(out / "detections_mmpose.json", fps=30.0).tracks
    steps.update()
    cleaned = reject_outliers(observed, half_window=4, n_sigma=3.0)
    filled = fill_tracks(cleaned, method="cubic", max_gap=8)
    processed = filter_tracks(filled, "butterworth", cutoff=4.0, order=2)
    steps.update()
    h5 = out / "squat_tracks.h5"
    save(h5, tracks=[observed, processed.replace(person_id=1, metadata={"processing": "hampel+cubic fill+butterworth 4 Hz"})], overwrite=overwrite)
    validate_h5(h5)
    save(out / "squat_processed.trc", tracks=[processed], overwrite=overwrite)
    processed.to_dataframe().to_csv(out / "squat_processed.csv")
    steps.update()
    _plot(out / "squat_tracks.png", clip.clean, observed, processed)
    steps.update()
    summary = {
        "frames": observed.n_frames,
        "missing_points_observed": int((~observed.valid).sum()),
        "missing_points_processed": int((~processed.valid).sum()),
        "rmse_px_observed": _rmse(observed.positions, clip.clean.positions),
        "rmse_px_processed": _rmse(processed.positions, clip.clean.positions),
        "outputs": sorted(p.name for p in out.iterdir() if not p.name.startswith(".")),
    }
    steps.update()
    steps.close()
    log.info("demo summary: %s", summary)
    return summary
