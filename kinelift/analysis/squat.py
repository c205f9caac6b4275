"""Squat analysis: repetitions, per-repetition metrics and rule-based feedback.

:func:`analyze_squat` takes one person's track, 2D (a side or a front view) or 3D (lab frame),
computes the joint angles (:mod:`~kinelift.analysis.angles_2d`, :mod:`~kinelift.analysis.angles_3d`),
finds the repetitions (:func:`~kinelift.analysis.repetitions.find_repetitions`, from knee flexion
when the view shows it, else from the pelvis height), and measures each repetition:

=============================  ==============================================================
metric                         definition (SI inside; the CSV has degrees)
=============================  ==============================================================
``peak_knee_flexion_r/l``      largest knee flexion in the repetition (rad)
``peak_hip_flexion_r/l``       largest hip flexion (rad)
``thigh_angle_at_bottom``      thigh's angle from vertical at the bottom, mean of both sides
                               (rad; pi/2 = thighs parallel to the floor)
``hip_below_knee``             1 when the hip centres are lower than the knees at the bottom
``peak_knee_fppa_r/l``         largest frontal-plane projection angle (rad; + valgus), front view or 3D
``peak_trunk_lean``            largest forward trunk lean from vertical (rad)
``trunk_shank_difference``     trunk lean minus shank lean at the bottom (rad; 0 = trunk parallel to tibia)
``knee_symmetry``              smaller / larger peak knee flexion of the two sides (1 = symmetric)
``descent_s`` etc.             tempo: ``descent_s``, ``bottom_s``, ``ascent_s`` (s), see :mod:`~kinelift.analysis.repetitions`
=============================  ==============================================================

A repetition must bend the knees by at least 20 deg (``MIN_KNEE_EXCURSION``) or drop the pelvis by
15 % of the thigh length (``MIN_PELVIS_DROP``), so a still recording has none; and it must keep both
feet planted: the vector from the left to the right ankle may move by at most 0.35 leg lengths
(thigh + shank; ``MAX_FEET_SHIFT``, the 90th percentile over the repetition's frames of its
distance from its median), where walking, running and stepping move one foot past the other by most
of a leg length. Bends that fail it are kept apart (``SquatAnalysis.not_counted``) and logged, not
measured as squats.

Feedback rules (:class:`SquatThresholds`; every threshold is a parameter):

* **depth** -- thighs at least parallel to the floor (thigh angle >= 90 deg), the depth criterion
  of Myer et al. (2014) and of the NSCA's back-squat technique;
* **knee valgus** -- frontal-plane projection angle at most 10 deg (kinelift's default; the FPPA
  measure is Willson & Davis 2008's; adjust to your population);
* **trunk** -- trunk lean within 15 deg of the shank's lean ("trunk parallel to tibia", Myer et al.
  2014; the tolerance is kinelift's default);
* **symmetry** -- knee-flexion symmetry at least 0.90 (the 90 % limb-symmetry convention of
  return-to-sport testing).

Myer, G. D., et al. (2014). The back squat: a proposed assessment of functional deficits and
technical factors that limit performance. *Strength Cond J*, 36(6), 4-27.

Examples
--------
>>> from kinelift.synthetic import squat_tracks
>>> clip = squat_tracks(n_reps=2, fps=30.0, camera_azimuth=np.pi / 2, noise=0.0, dropout=0.0)
>>> result = analyze_squat(clip.clean, progress=False)
>>> result.view, len(result.repetitions)
('sagittal', 2)
>>> round(float(np.degrees(result.metrics["peak_knee_flexion_r"].iloc[0])), 1)
95.0
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from kinelift.analysis.angles_2d import frontal_angles, sagittal_angles
from kinelift.analysis.angles_3d import UP_AXES, joint_angles_3d
from kinelift.analysis.repetitions import REPETITION_CUTOFF, Repetition, find_repetitions
from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.core.views import CAMERA_VIEW_KEY, camera_view, hip_width_ratio
from kinelift.errors import ValueRangeError
from kinelift.processing import butterworth_lowpass, fill_gaps, usable_cutoff

__all__ = ["ANGLE_CUTOFF", "MAX_FEET_SHIFT", "SquatAnalysis", "SquatThresholds", "analyze_squat", "feet_shift", "squat_feedback", "squat_metrics"]

logger = logging.getLogger(__name__)

VIEWS = ("auto", "sagittal", "frontal", "3d")
_ANGLE_METRICS = (
    "peak_knee_flexion_r", "peak_knee_flexion_l", "peak_hip_flexion_r", "peak_hip_flexion_l", "thigh_angle_at_bottom",
    "peak_knee_fppa_r", "peak_knee_fppa_l", "peak_trunk_lean", "trunk_shank_difference",
)  # fmt: skip


@dataclass(frozen=True)
class SquatThresholds:
    """Limits of the feedback rules (radians; see the module docs for their sources)."""

    min_thigh_angle: float = float(np.deg2rad(90.0))
    max_knee_fppa: float = float(np.deg2rad(10.0))
    max_trunk_shank_difference: float = float(np.deg2rad(15.0))
    min_knee_symmetry: float = 0.90

    def __post_init__(self) -> None:
        for name in ("min_thigh_angle", "max_knee_fppa", "max_trunk_shank_difference"):
            value = getattr(self, name)
            if not 0 <= value <= np.pi:
                raise ValueRangeError(name, expected="an angle in radians within [0, pi]", got=value)
        if not 0 <= self.min_knee_symmetry <= 1:
            raise ValueRangeError("min_knee_symmetry", expected="a ratio in [0, 1]", got=self.min_knee_symmetry)


@dataclass(frozen=True)
class SquatAnalysis:
    """Everything :func:`analyze_squat` found. ``metrics`` and ``feedback`` are pandas DataFrames,
    one row per repetition, SI units (rad, s)."""

    tracks: Tracks
    view: str
    angles: TimeSeriesTable
    repetitions: tuple[Repetition, ...]
    metrics: Any
    feedback: Any
    thresholds: SquatThresholds = field(default_factory=SquatThresholds)
    not_counted: tuple[Repetition, ...] = ()
    """Bends that moved the feet (walking, running, stepping; :func:`feet_shift`), not measured as squats."""

    def metrics_in_degrees(self) -> Any:
        """``metrics`` with angle columns converted to degrees and renamed ``<name>_deg``."""
        df = self.metrics.copy()
        return df.rename(columns={c: f"{c}_deg" for c in _ANGLE_METRICS if c in df}).assign(
            **{f"{c}_deg": np.degrees(df[c]) for c in _ANGLE_METRICS if c in df}
        )

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [f"{len(self.repetitions)} repetition(s), {self.view} view"]
        if self.not_counted:
            lines[0] += f"; {len(self.not_counted)} bend(s) with the feet moving not counted"
        for (_, row), (_, fb) in zip(self.metrics.iterrows(), self.feedback.iterrows()):
            knee = _max_present(row.get("peak_knee_flexion_r", np.nan), row.get("peak_knee_flexion_l", np.nan))
            knee_text = f"peak knee flexion {np.degrees(knee):.0f} deg, " if np.isfinite(knee) else ""
            lines.append(f"  rep {int(row['repetition'])}: bottom at {row['bottom_time']:.2f} s, {knee_text}{fb['verdict']}: {fb['messages']}")
        return "\n".join(lines)

    def to_tables(self) -> dict[str, TimeSeriesTable]:
        """The angle table and the repetition table (indexed by bottom time; absent without repetitions) for HDF5."""
        if not self.repetitions:
            return {"joint_angles": self.angles}
        numeric = self.metrics.drop(columns=["bottom_time"]).astype(float)
        units = ["rad" if c in _ANGLE_METRICS else ("s" if c.endswith(("_s", "_time")) else "") for c in numeric.columns]
        reps = TimeSeriesTable(
            self.metrics["bottom_time"].to_numpy(float), numeric.to_numpy(), list(numeric.columns), units,
            name="squat_repetitions", metadata={"feedback": self.feedback.to_dict(orient="records"), "view": self.view},
        )  # fmt: skip
        return {"joint_angles": self.angles, "squat_repetitions": reps}

    def write(self, out_dir: str | os.PathLike[str], *, overwrite: bool = False, report: bool = True) -> dict[str, Path]:
        """Write ``squat_metrics.csv`` (degrees), ``squat_feedback.csv``, ``joint_angles.csv`` (degrees),
        ``squat.h5`` (kinelift layout, SI) and, with ``report``, ``squat_report.png``; atomically."""
        from kinelift.io._atomic import staged_outputs
        from kinelift.io.hdf5 import write_h5

        out = Path(out_dir)
        names = {"metrics": "squat_metrics.csv", "feedback": "squat_feedback.csv", "angles": "joint_angles.csv", "h5": "squat.h5"}
        if report:
            names["report"] = "squat_report.png"
        with staged_outputs(out, list(names.values()), overwrite=overwrite) as stage:
            self.metrics_in_degrees().to_csv(stage / names["metrics"], index=False, float_format="%.6g")
            self.feedback.to_csv(stage / names["feedback"], index=False)
            self.angles.to_dataframe().apply(np.degrees).add_suffix("_deg").to_csv(stage / names["angles"], float_format="%.6g")
            write_h5(stage / names["h5"], tracks=[self.tracks], analysis=self.to_tables())
            if report:
                from kinelift.analysis.report import plot_squat_report

                plot_squat_report(self, stage / names["report"])
        return {k: out / n for k, n in names.items()}


def _view(tracks: Tracks, view: str) -> str:
    if view not in VIEWS:
        raise ValueRangeError("view", expected=f"one of {VIEWS}", got=view)
    if tracks.n_dims == 3:
        if view not in ("auto", "3d"):
            raise ValueRangeError("view", expected="'auto' or '3d' for 3D tracks", got=view)
        return "3d"
    if view == "3d":
        raise ValueRangeError("view", expected="'auto', 'sagittal' or 'frontal' for 2D tracks", got=view)
    if view != "auto":
        return view
    seen = camera_view(tracks)
    if seen == "oblique":
        logger.warning("analyze_squat: oblique view (hip width %.2f thigh lengths); sagittal angles are projections and "
                       "will be distorted. Pass view='sagittal' or 'frontal' to choose.", hip_width_ratio(tracks))  # fmt: skip
        return "sagittal"
    return seen


def _mean_present(*values: Any) -> Any:
    """Mean of the finite values (elementwise); NaN where none is finite."""
    v = np.stack([np.asarray(x, dtype=float) for x in values])
    n = np.isfinite(v).sum(axis=0)
    return np.where(n > 0, np.nansum(v, axis=0) / np.maximum(n, 1), np.nan)


def _max_present(*values: Any) -> float:
    v = np.asarray(values, dtype=float)
    return float(np.nanmax(v)) if np.isfinite(v).any() else float("nan")


MIN_KNEE_EXCURSION = float(np.deg2rad(20.0))
"""Least knee-flexion excursion (rad) of a repetition in :func:`analyze_squat`."""
MIN_PELVIS_DROP = 0.15
"""Least pelvis drop of a repetition in :func:`analyze_squat`, as a fraction of the thigh length."""
ANGLE_CUTOFF = 6.0
"""Default low-pass cutoff (Hz) of :func:`analyze_squat`'s angles."""


MAX_FEET_SHIFT = 0.35
"""Largest shift of the left-to-right ankle vector during a repetition in :func:`analyze_squat`, as a
fraction of the leg length (thigh + shank): a squat keeps both feet planted. Real squats, lunges and
sit-to-stands stay under 0.17, real walking and running bends over 0.5 (``docs/analysis.md``)."""


def _median_length(tracks: Tracks, sides: tuple[str, ...], joints: tuple[str, ...]) -> float:
    """Median over frames and ``sides`` of the summed lengths of the segments joining ``joints``
    in order (``("hip", "knee", "ankle")``: thigh + shank), in the track's units; NaN when never seen."""
    p, index = tracks.positions, tracks.keypoint_set.index
    lengths = np.concatenate([sum(np.linalg.norm(p[:, index(f"{side}_{a}")] - p[:, index(f"{side}_{b}")], axis=-1)
                                  for a, b in zip(joints[:-1], joints[1:])) for side in sides])  # fmt: skip
    return float(np.nanmedian(lengths)) if np.isfinite(lengths).any() else float("nan")


def _thigh_length(tracks: Tracks) -> float:
    """Median left thigh (hip-knee) length in the track's units; NaN when never seen."""
    return _median_length(tracks, ("left",), ("hip", "knee"))


def _leg_length(tracks: Tracks) -> float:
    """Median over frames and sides of thigh + shank length, in the track's units; NaN when never seen."""
    return _median_length(tracks, ("left", "right"), ("hip", "knee", "ankle"))


def feet_shift(tracks: Tracks, repetition: Repetition) -> float:
    """How far the feet moved relative to each other during ``repetition``, in leg lengths.

    The 90th percentile over the frames of ``tracks`` between the repetition's start and end times
    (so ``tracks`` may be another track of the same recording, at its own frame rate) of the
    distance of the left-to-right ankle vector from its median, divided by the track's median leg
    length (thigh + shank). Near 0 when both feet stay planted (a squat); walking, running and
    stepping move one foot past the other by most of a leg length. Works on 2D image tracks and on
    3D tracks alike (a shift of the whole body cancels). NaN when the ankles are seen in fewer than
    two of those frames. Of a person lifted from one camera, give the 2D image track: the lifted
    depth of each foot is a guess (Penn Action's real squats, lifted: median 0.19 leg lengths, up
    to 0.82; their hand-labelled 2D: at most 0.09).

    Examples
    --------
    >>> from kinelift.synthetic import squat_tracks
    >>> from kinelift.analysis.repetitions import find_repetitions
    >>> clip = squat_tracks(n_reps=1, fps=30.0, camera_azimuth=np.pi / 2, noise=0.0, dropout=0.0)
    >>> rep = find_repetitions(clip.knee_flexion, clip.clean.time, kind="peaks")[0]
    >>> bool(feet_shift(clip.clean, rep) < 0.05)
    True
    """
    index = tracks.keypoint_set.index
    half_frame = 0.5 / tracks.sampling_rate if tracks.n_frames > 1 else 0.0
    span = (tracks.time >= repetition.start_time - half_frame) & (tracks.time <= repetition.end_time + half_frame)
    d = tracks.positions[span, index("right_ankle")] - tracks.positions[span, index("left_ankle")]
    d = d[np.isfinite(d).all(axis=1)]
    leg = _leg_length(tracks)
    if len(d) < 2 or not np.isfinite(leg) or leg <= 0:
        return float("nan")
    return float(np.percentile(np.linalg.norm(d - np.median(d, axis=0), axis=1), 90) / leg)


def _heights(tracks: Tracks, up: str) -> dict[str, np.ndarray]:
    """Vertical position (up positive) of hips and knees: lab ``up`` axis in 3D, minus image y in 2D."""
    axis = UP_AXES[up] if tracks.n_dims == 3 else 1
    sign = 1.0 if tracks.n_dims == 3 else -1.0
    out = {}
    for part in ("hip", "knee"):
        cols = [tracks.positions[:, tracks.keypoint_set.index(f"{s}_{part}"), axis] for s in ("left", "right")]
        out[part] = sign * _mean_present(*cols)
    return out


def squat_metrics(angles: TimeSeriesTable, repetitions: list[Repetition], heights: dict[str, np.ndarray]) -> Any:
    """Per-repetition metrics (see the module's table) as a DataFrame, SI units."""
    import pandas as pd

    def col(name: str) -> np.ndarray:
        return angles.column(name) if name in angles.column_names else np.full(angles.n_frames, np.nan)

    rows = []
    for rep in repetitions:
        span = slice(rep.start, rep.end + 1)

        def peak(name: str, span: slice = span) -> float:
            return _max_present(*col(name)[span])

        b = rep.bottom
        thigh = _mean_present(abs(col("thigh_lean_r")[b]), abs(col("thigh_lean_l")[b]))
        shank = _mean_present(col("shank_lean_r")[b], col("shank_lean_l")[b])
        knees = [peak("knee_flexion_r"), peak("knee_flexion_l")]
        symmetry = min(knees) / max(knees) if np.all(np.isfinite(knees)) and max(knees) > 0 else np.nan
        hip_below = float(heights["hip"][b] < heights["knee"][b]) if np.isfinite([heights["hip"][b], heights["knee"][b]]).all() else np.nan
        rows.append({
            "repetition": rep.number, "start_time": rep.start_time, "bottom_time": rep.bottom_time, "end_time": rep.end_time,
            "descent_s": rep.descent_s, "bottom_s": rep.bottom_s, "ascent_s": rep.ascent_s,
            "peak_knee_flexion_r": knees[0], "peak_knee_flexion_l": knees[1],
            "peak_hip_flexion_r": peak("hip_flexion_r"), "peak_hip_flexion_l": peak("hip_flexion_l"),
            "thigh_angle_at_bottom": float(thigh), "hip_below_knee": hip_below,
            "peak_knee_fppa_r": peak("knee_fppa_r"), "peak_knee_fppa_l": peak("knee_fppa_l"),
            "peak_trunk_lean": peak("trunk_lean"),
            "trunk_shank_difference": float(col("trunk_lean")[b] - shank) if np.isfinite(shank) else np.nan,
            "knee_symmetry": symmetry,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=None if rows else ["repetition", "bottom_time"])


def squat_feedback(metrics: Any, thresholds: SquatThresholds = SquatThresholds()) -> Any:
    """The feedback rules (module docs) applied to each repetition's metrics.

    Returns a DataFrame with one boolean-or-NaN column per rule (``depth_ok``, ``valgus_ok``,
    ``trunk_ok``, ``symmetry_ok``; NaN when the view cannot judge it), ``verdict`` (``"good"``
    when every judged rule passes, else ``"needs work"``) and ``messages``.
    """
    import pandas as pd

    th = thresholds
    rows = []
    for _, m in metrics.iterrows():
        checks: dict[str, Any] = {}
        messages = []

        def judge(key: str, value: float, ok: bool, message: str, checks: dict = checks, messages: list = messages) -> None:
            if not np.isfinite(value):
                checks[key] = np.nan
                return
            checks[key] = bool(ok)
            if not ok:
                messages.append(message)

        thigh = m["thigh_angle_at_bottom"]
        judge("depth_ok", thigh, thigh >= th.min_thigh_angle,
              f"not deep enough: thighs {np.degrees(thigh):.0f} deg from vertical (parallel is {np.degrees(th.min_thigh_angle):.0f})")
        fppa = _max_present(m["peak_knee_fppa_r"], m["peak_knee_fppa_l"])
        judge("valgus_ok", fppa, fppa <= th.max_knee_fppa, f"knees cave in: projection angle {np.degrees(fppa):.0f} deg")
        diff = m["trunk_shank_difference"]
        judge("trunk_ok", diff, abs(diff) <= th.max_trunk_shank_difference,
              f"trunk {'leans further forward' if diff > 0 else 'more upright'} than the shins by {abs(np.degrees(diff)):.0f} deg")
        sym = m["knee_symmetry"]
        judge("symmetry_ok", sym, sym >= th.min_knee_symmetry, f"left-right knee flexion symmetry {sym:.2f}")  # fmt: skip
        judged = [v for v in checks.values() if isinstance(v, bool)]
        verdict = "good" if judged and all(judged) else ("needs work" if judged else "not judged")
        rows.append({"repetition": int(m["repetition"]), **checks, "verdict": verdict, "messages": "; ".join(messages) or "ok"})
    return pd.DataFrame(rows)


def analyze_squat(
    tracks: Tracks,
    *,
    view: str = "auto",
    up: str = "y",
    signal: str = "auto",
    thresholds: SquatThresholds = SquatThresholds(),
    min_spacing: float = 0.8,
    cutoff: float | None = ANGLE_CUTOFF,
    max_gap: int = 5,
    frontal_plane: bool | None = None,
    max_feet_shift: float | None = MAX_FEET_SHIFT,
    feet: Tracks | None = None,
    progress: bool = True,
) -> SquatAnalysis:
    """Repetitions, metrics and feedback of a squatting person's track.

    Parameters
    ----------
    tracks : Tracks
        2D image tracks (side or front view) or 3D lab tracks (m) with hips, knees and ankles
        (shoulders for the trunk; heels and toes for the ankle).
    view : {"auto", "sagittal", "frontal", "3d"}, default "auto"
        2D: judged from the hip width relative to thigh length; 3D tracks are always ``"3d"``.
    up : {"x", "y", "z"}, default "y"
        Vertical axis of 3D tracks.
    signal : {"auto", "knee", "pelvis"}, default "auto"
        Repetition signal: knee flexion (side view, 3D) or pelvis height (any view; the front view's only choice),
        searched after a :data:`~kinelift.analysis.repetitions.REPETITION_CUTOFF` low-pass, or unfiltered in a clip
        too slow for it (under 8.9 frames/s).
    thresholds : SquatThresholds
    min_spacing : float, default 0.8
        Least time between repetitions (s).
    cutoff : float or None, default 6.0
        Low-pass cutoff (Hz) of the zero-lag Butterworth filter applied to the angles before
        the metrics (peaks of unfiltered angles are biased by noise); None keeps them raw.
    max_gap : int, default 5
        Gaps in the angles up to this many frames are bridged linearly before filtering
        (:func:`kinelift.processing.fill_gaps`); longer gaps stay NaN.
    frontal_plane : bool, optional
        Whether the data show the frontal plane, so that knee valgus (the frontal-plane projection
        angle) can be judged. Default: a 2D front view yes, a 2D side view no; 3D yes, except 3D
        lifted from one camera that did not face the person (tracks whose metadata
        ``camera_view``, :data:`kinelift.core.views.CAMERA_VIEW_KEY`, is not ``"frontal"``): that
        camera's depth is the frontal plane's unknown. Without it the FPPA metrics are NaN and the
        valgus rule is not judged.
    max_feet_shift : float or None, default MAX_FEET_SHIFT (0.35)
        A bend counts as a repetition only if the feet stay planted: :func:`feet_shift` (leg
        lengths) at most this. The others (walking, running, stepping) go to
        ``SquatAnalysis.not_counted`` and the log. None counts every bend.
    feet : Tracks, optional
        The track whose ankles that rule reads (same recording, matched by time; with hips, knees
        and ankles). Default ``tracks``; for 3D lifted from one camera pass the 2D image track,
        whose feet the camera saw (:func:`feet_shift`).
    progress : bool, default True
        Show a progress bar over the steps (angles, repetitions, metrics); the steps are logged at
        DEBUG level either way.
    """
    if signal not in ("auto", "knee", "pelvis"):
        raise ValueRangeError("signal", expected="'auto', 'knee' or 'pelvis'", got=signal)
    if max_feet_shift is not None and not max_feet_shift > 0:
        raise ValueRangeError("max_feet_shift", expected="a fraction of the leg length > 0, or None", got=max_feet_shift)
    from tqdm.auto import tqdm

    kind = _view(tracks, view)
    bar = tqdm(total=3, desc="squat analysis", disable=not progress, leave=False)
    logger.debug("analyze_squat: %s view, %d frames", kind, tracks.n_frames)
    if kind == "3d":
        angles = joint_angles_3d(tracks, up=up)
    elif kind == "sagittal":
        angles = sagittal_angles(tracks)
    else:
        angles = frontal_angles(tracks)
    if max_gap > 0 and tracks.n_frames > 1:
        angles = angles.replace(values=fill_gaps(angles.values, angles.time, method="linear", max_gap=max_gap))
    if cutoff is not None and tracks.n_frames > 15:
        fs = tracks.sampling_rate
        if not 0 < cutoff < fs / 2:
            raise ValueRangeError("cutoff", expected=f"a cutoff below the Nyquist frequency {fs / 2:.3g} Hz, or None", got=cutoff)
        angles = angles.replace(values=butterworth_lowpass(angles.values, fps=fs, cutoff=cutoff, short="keep"),
                                metadata={**angles.metadata, "lowpass_hz": cutoff})  # fmt: skip
    bar.update()
    heights = _heights(tracks, up)
    use_knee = signal == "knee" or (signal == "auto" and kind != "frontal")
    search_cutoff = usable_cutoff(REPETITION_CUTOFF, tracks.sampling_rate)  # a clip under 8.9 frames/s: unfiltered
    if use_knee:
        if "knee_flexion_r" not in angles.column_names:
            raise ValueRangeError("signal", expected="'pelvis' for a front view (knee flexion is not visible)", got=signal)
        knee = _mean_present(angles.column("knee_flexion_r"), angles.column("knee_flexion_l"))
        reps = find_repetitions(knee, tracks.time, kind="peaks", min_spacing=min_spacing, min_excursion=MIN_KNEE_EXCURSION,
                                cutoff=search_cutoff)  # fmt: skip
    else:
        reps = find_repetitions(heights["hip"], tracks.time, kind="valleys", min_spacing=min_spacing, cutoff=search_cutoff,
                                min_excursion=float(np.nan_to_num(MIN_PELVIS_DROP * _thigh_length(tracks))))  # fmt: skip
    not_counted: list[Repetition] = []
    if max_feet_shift is not None:
        shifts = [feet_shift(tracks if feet is None else feet, rep) for rep in reps]
        moved = [shift > max_feet_shift for shift in shifts]
        not_counted = [rep for rep, m in zip(reps, moved) if m]
        if not_counted:
            logger.info("analyze_squat: %d bend(s) at %s s moved the feet by %s leg lengths (more than %.2f): walking or stepping, "
                        "not counted as squat repetitions", len(not_counted), ", ".join(f"{r.bottom_time:.2f}" for r in not_counted),
                        ", ".join(f"{x:.2f}" for x, m in zip(shifts, moved) if m), max_feet_shift)  # fmt: skip
        reps = [replace(rep, number=i + 1) for i, rep in enumerate(r for r, m in zip(reps, moved) if not m)]
    bar.update()
    logger.debug("analyze_squat: %d repetition(s)", len(reps))
    metrics = squat_metrics(angles, reps, heights)
    if frontal_plane is None:
        frontal_plane = kind == "frontal" or (kind == "3d" and tracks.metadata.get(CAMERA_VIEW_KEY, "frontal") == "frontal")
    if not frontal_plane and len(metrics):
        metrics = metrics.assign(peak_knee_fppa_r=np.nan, peak_knee_fppa_l=np.nan)
        logger.info("analyze_squat: no knee valgus verdict: the frontal plane is not seen (%s)",
                    f"3D lifted from a {tracks.metadata.get(CAMERA_VIEW_KEY)} camera view" if kind == "3d" else f"{kind} view")  # fmt: skip
    bar.update()
    bar.close()
    return SquatAnalysis(tracks, kind, angles, tuple(reps), metrics, squat_feedback(metrics, thresholds), thresholds, tuple(not_counted))
