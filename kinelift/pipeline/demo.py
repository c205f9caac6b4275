"""The demo job (``make demo``): the main job on the embedded default clip, scored against its truth.

Writes the generated input (``input/demo_squat.json``, COCO keypoints with detector-like noise)
and the true coordinates (``input/truth.mot``), runs :func:`kinelift.pipeline.run.run` into
``out_dir`` and compares the lifted joint angles with the truth (RMSE in degrees; the lifter
never saw this motion: it is drawn with a seed outside the training streams).

Examples
--------
>>> import tempfile
>>> result = run_demo(tempfile.mkdtemp(), n_reps=2, progress=False)
>>> result.summary.repetitions, result.knee_rmse_deg < 15
(2, True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinelift.pipeline.config import RunConfig
from kinelift.pipeline.demo_clip import DEMO_SEED, write_demo_input
from kinelift.pipeline.run import RunSummary, run

__all__ = ["DemoResult", "run_demo"]


@dataclass(frozen=True)
class DemoResult:
    """The run's summary and the angle errors against the generated truth (deg)."""

    summary: RunSummary
    angle_rmse_deg: dict[str, float]

    @property
    def knee_rmse_deg(self) -> float:
        return float(np.mean([v for k, v in self.angle_rmse_deg.items() if k.startswith("knee")]))


def run_demo(out_dir: str | os.PathLike[str], *, n_reps: int = 3, seed: int = DEMO_SEED, overwrite: bool = False,
             progress: bool = True) -> DemoResult:  # fmt: skip
    """Generate the demo clip into ``out_dir/input``, run the main job into ``out_dir``, score it."""
    from kinelift.analysis import coordinate_angles
    from kinelift.core.table import TimeSeriesTable
    from kinelift.io import read_h5, read_mot
    from kinelift.io.mot import write_mot
    from kinelift.skeleton.builtin import builtin_model

    out = Path(out_dir)
    (out / "input").mkdir(parents=True, exist_ok=True)
    clip = write_demo_input(out / "input" / "demo_squat.json", n_reps=n_reps, seed=seed)
    model = builtin_model()
    truth = TimeSeriesTable(clip.tracks.time, clip.coordinates, model.coordinate_names,
                            [model.coordinate_units[c] for c in model.coordinate_names], name="truth")  # fmt: skip
    write_mot(truth, out / "input" / "truth.mot", overwrite=True)
    summary = run(out / "input" / "demo_squat.json", out, config=RunConfig(), overwrite=overwrite, progress=progress)
    lifted = read_mot(out / "kinematics.mot")
    errors = {}
    for name in ("hip_flexion_r", "hip_flexion_l", "knee_angle_r", "knee_angle_l", "ankle_angle_r", "ankle_angle_l"):
        diff = lifted.column(name) - truth.column(name)
        errors[name] = float(np.degrees(np.sqrt(np.nanmean(diff**2))))
    reported = read_h5(out / "result.h5").analysis["joint_angles"]  # every frame of the clip, NaN where the subject was not seen
    true_leans = coordinate_angles(model, truth, thigh_lean=True)
    if reported.n_frames == true_leans.n_frames and np.allclose(reported.time, true_leans.time):
        for name in ("thigh_lean_r", "thigh_lean_l"):
            diff = reported.column(name) - true_leans.column(name)
            errors[name] = float(np.degrees(np.sqrt(np.nanmean(diff**2))))
    return DemoResult(summary, errors)
