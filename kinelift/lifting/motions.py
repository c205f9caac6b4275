"""Motion sources for the lifter's training data: procedural motions and real coordinate files.

A :class:`Motion` is a sequence of the built-in model's coordinates (OpenSim's usual names, see
:mod:`kinelift.skeleton.builtin`; rad and m) at a fixed frame rate. Procedural motions are drawn
from documented ranges (degrees below; signs are the built-in model's: hip and knee flexion,
ankle dorsiflexion, hip adduction and internal rotation positive, ``pelvis_tilt`` positive
backwards, ``lumbar_extension`` positive in extension):

- :func:`procedural_squats`: 1-5 repetitions; peak knee flexion 40-125, ankle dorsiflexion
  0.12-0.32 x knee (at most 28), anterior pelvis tilt 0.1-0.6 x knee but hip flexion at most
  about 115 (the built-in model's range ends at 120); feet kept flat (hip flexion =
  knee - ankle + anterior tilt), stance (hip abduction 0-20, external rotation 0-30), knee valgus
  in a third of the motions (hip adduction +0-12 and internal rotation +0-15 at the bottom),
  lumbar -50..+10, per-side asymmetry up to 10 %, tempo (stand 0.3-1.5 s, descent 0.7-2.0 s,
  bottom 0-0.6 s, ascent 0.6-1.8 s) and arm postures (forward, hanging, crossed, on the hips).
- :func:`procedural_standing`: quiet standing with sway and weight shifts.
- :func:`procedural_stepping`: stepping in place (hip flexion 30-80, knee 40-100, 0.5-1.1 Hz).
- :func:`procedural_gait`: walking and running from normative sagittal curves (Winter 2009,
  Novacheck 1998), with pelvis motion, trunk lean and arm swing, moving forward.
- :func:`procedural_single_leg`: standing on one leg with the trunk leaning forward.
- :func:`squat_motion` (with :func:`squat_phase`): squats of a given pose at the bottom, no
  random draw: the one squat of the demo's tests (:mod:`kinelift.synthetic`) and of the squat
  classes (:mod:`kinelift.analysis.synthetic_squats`).

A person's upright knees (standing, the squats' start and end, the support leg when stepping or on
one leg) are straight or slightly hyperextended, as real people stand: -1.5 +- 3.5 deg per person
and +- 1.5 per leg, measured on the motion library's training subjects (``_upright_knees``); a
third of the one-leg motions keep the free leg straight. ``upright_knees=False`` draws the knees of
kinelift 0.3.3 instead (standing flexed 0-15 deg, the squats from exactly 0, every free leg bent),
with that version's random stream, so that its training data can be made again
(:attr:`kinelift.lifting.config.DataConfig.upright_knees`).

Every motion turns to a random heading (about the ground's vertical, so that the pelvis tilt stays
a forward tilt whatever the heading) and gets slow random variation of
all coordinates; the pelvis translation keeps the lowest foot point on the floor (``y = 0``) and
the mean of the two ankles in place horizontally. :func:`motion_from_file` maps a real ``.mot``/``.sto`` onto the built-in
model by coordinate name, with the knee sign of the model it came from (found by forward
kinematics, :func:`kinelift.skeleton.conventions.knee_flexion_sign`).

Examples
--------
>>> import numpy as np
>>> motion = procedural_squats(np.random.default_rng(0), fps=30.0)
>>> motion.coordinates.shape[1], motion.fps
(32, 30.0)
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from kinelift.errors import UnknownNameError, ValueRangeError
from kinelift.lifting.rotations import matrix_to_pelvis_angles, pelvis_angles_to_matrix
from kinelift.lifting.segments import REFERENCE_HEIGHT
from kinelift.skeleton.builtin import builtin_model, foot_marker_indices
from kinelift.skeleton.model import SkeletalModel

__all__ = ["MOTION_FAMILIES", "Motion", "read_motion_library", "squat_phase", "squat_motion", "procedural_gait", "procedural_single_leg", "procedural_squats", "procedural_standing", "procedural_stepping", "motion_from_file", "resample_motion"]

_D = np.pi / 180.0

MOTION_FAMILIES = ("squat", "lunge", "step", "sit_to_stand", "leg_raise", "walk", "run", "jump", "kick", "get_up", "stand", "arm_exercise")
"""Movement families of real motions (the motion library's ``family`` column, per-family evaluation)."""


@dataclass(frozen=True, eq=False)
class Motion:
    """Coordinates ``(T, n)`` of the built-in model (rad / m, ``coordinate_names`` order) at ``fps``."""

    name: str
    coordinates: np.ndarray
    fps: float
    kind: str = "procedural"
    metadata: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.coordinates.shape[0])


@lru_cache(maxsize=2)
def _reference_model(arms: bool = True) -> SkeletalModel:
    return builtin_model(arms=arms)


def _index() -> dict[str, int]:
    return {n: i for i, n in enumerate(_reference_model().coordinate_names)}


def smooth_noise(rng: np.random.Generator, n: int, fps: float, *, amplitude: float, period: tuple[float, float] = (1.5, 6.0)) -> np.ndarray:
    """A smooth random signal (sum of three sinusoids of random period and phase) of std about ``amplitude``."""
    t = np.arange(n) / fps
    out = np.zeros(n)
    for _ in range(3):
        out += np.sin(2 * np.pi * t / rng.uniform(*period) + rng.uniform(0, 2 * np.pi))
    return amplitude * out / np.sqrt(1.5)


def _feet_on_floor(q: np.ndarray) -> np.ndarray:
    """Set the pelvis translation so that the mean ankle keeps its first-frame horizontal place and
    the lowest foot point touches ``y = 0`` in every frame."""
    model = _reference_model()
    q = q.copy()
    q[:, 3:6] = 0.0
    with torch.no_grad():
        out = model(torch.as_tensor(q))
    names = model.joint_names
    ankles = out.joint_centers[:, [names.index("ankle_r"), names.index("ankle_l")]].mean(1).numpy()
    feet = foot_marker_indices(model.marker_names)
    lowest = out.markers[:, feet, 1].min(1).values.numpy()
    q[:, 3], q[:, 5] = ankles[0, 0] - ankles[:, 0], ankles[0, 2] - ankles[:, 2]
    q[:, 4] = -lowest
    return q


def _arms(rng: np.random.Generator, q: np.ndarray, phase: np.ndarray, fps: float) -> None:
    idx, n = _index(), len(q)
    style = rng.choice(["forward", "hanging", "crossed", "hips", "free"])
    for s in ("r", "l"):
        if style == "forward":
            flex, add, elbow = rng.uniform(20, 60) + rng.uniform(20, 40) * phase, 0.0, rng.uniform(0, 20)
        elif style == "hanging":
            flex, add, elbow = rng.uniform(-10, 15), rng.uniform(-10, 0), rng.uniform(5, 30)
        elif style == "crossed":
            flex, add, elbow = rng.uniform(70, 95), rng.uniform(10, 30), rng.uniform(90, 130)
        elif style == "hips":
            flex, add, elbow = rng.uniform(-10, 10), rng.uniform(-45, -25), rng.uniform(80, 110)
        else:
            flex, add, elbow = rng.uniform(-20, 120), rng.uniform(-60, 10), rng.uniform(0, 140)
        q[:, idx[f"arm_flex_{s}"]] = (flex + smooth_noise(rng, n, fps, amplitude=5)) * _D
        q[:, idx[f"arm_add_{s}"]] = (add + smooth_noise(rng, n, fps, amplitude=4)) * _D
        q[:, idx[f"arm_rot_{s}"]] = (rng.uniform(-20, 30) + smooth_noise(rng, n, fps, amplitude=5)) * _D
        q[:, idx[f"elbow_flex_{s}"]] = np.clip(elbow + smooth_noise(rng, n, fps, amplitude=6), 0, 150) * _D


def _turn(q: np.ndarray, heading: np.ndarray) -> None:
    """Turn the body about the ground's vertical by ``heading`` (rad, per frame), in place.

    The pelvis joint rotates body-fixed about z (tilt), x (list), then y (rotation), so adding the
    heading to ``pelvis_rotation`` would turn the body about its own tilted long axis, and the
    tilt would stay about the ground's z axis: a forward tilt would become a sideways or backward
    lean for most headings. Instead the pelvis orientation is pre-multiplied by ``Ry(heading)`` and
    decomposed back into the three angles (unwrapped along time)."""
    idx = _index()
    cols = [idx["pelvis_tilt"], idx["pelvis_list"], idx["pelvis_rotation"]]
    turn = pelvis_angles_to_matrix(torch.as_tensor(np.stack([np.zeros_like(heading), np.zeros_like(heading), heading], axis=-1)))
    angles = matrix_to_pelvis_angles(turn @ pelvis_angles_to_matrix(torch.as_tensor(q[:, cols]))).numpy()
    q[:, cols] = np.unwrap(angles, axis=0)


def _anterior_tilt(rng: np.random.Generator) -> float:
    """A standing anterior pelvis tilt (rad), 5-20 deg."""
    return float(rng.uniform(5.0, 20.0)) * _D


def _upright_knees(rng: np.random.Generator) -> np.ndarray:
    """A person's knee flexion when standing upright (deg; right, left): -1.5 +- 3.5 per person and
    +- 1.5 per leg, within -8..8. Real people stand with their knees straight or slightly
    hyperextended: the standing frames of the motion library's training subjects (UI-PRMD s01-s05,
    both knees within 10 deg and both hips flexed under 15 deg, 104,026 knee samples) have a
    median of -2.2 deg (mean -1.5, SD 4.3, 5-95 % -7.6 to +5.5)."""
    person = rng.normal(-1.5, 3.5)
    return np.clip(person + rng.normal(0.0, 1.5, size=2), -8.0, 8.0)


def _finish(rng: np.random.Generator, q: np.ndarray, fps: float, name: str, kind: str, **metadata) -> Motion:
    """Standing anterior pelvis tilt, heading (about the ground's vertical), slow variation of the
    axial coordinates, arms where unset, then the feet on the floor."""
    idx, n = _index(), len(q)
    # Real people stand with the pelvis (its ASIS-PSIS plane, OpenSim's pelvis frame) tilted forward
    # by about 5-20 deg (the first, standing frames of UI-PRMD's deep squats fit to a median of -8 deg,
    # 5-95 % -23 to +1 deg): the pelvis turns forward, the
    # hips flex and the lumbar spine extends by as much, so that thighs and trunk stay where they were.
    forward = _anterior_tilt(rng)
    q[:, idx["pelvis_tilt"]] -= forward
    q[:, idx["lumbar_extension"]] += forward
    for s in ("r", "l"):
        q[:, idx[f"hip_flexion_{s}"]] += forward
    heading = rng.uniform(-np.pi, np.pi) + smooth_noise(rng, n, fps, amplitude=3 * _D)
    q[:, idx["pelvis_list"]] += smooth_noise(rng, n, fps, amplitude=2 * _D)
    _turn(q, heading)
    for c in ("lumbar_bending", "lumbar_rotation", "neck_bending", "neck_rotation", "neck_flexion"):
        q[:, idx[c]] += smooth_noise(rng, n, fps, amplitude=4 * _D)
    for s in ("r", "l"):
        q[:, idx[f"subtalar_angle_{s}"]] += smooth_noise(rng, n, fps, amplitude=3 * _D)
    return Motion(name, _feet_on_floor(q), fps, kind, metadata)


def procedural_squats(rng: np.random.Generator, *, fps: float = 30.0, name: str = "squats", reps: int | None = None,
                      upright_knees: bool = True) -> Motion:  # fmt: skip
    """Squat repetitions from the module's ranges (one draw of every parameter per call);
    ``reps`` fixes the number of repetitions (the draws stay the same otherwise).
    ``upright_knees``: the squat starts and ends at the person's upright knees (the module's
    note); ``False``, at exactly 0 (the generator of kinelift 0.3.3)."""
    idx = _index()
    u = rng.uniform
    drawn = int(rng.integers(1, 6))
    reps = drawn if reps is None else int(reps)
    if reps < 1:
        raise ValueRangeError("reps", expected=">= 1", got=reps)
    phases = []
    for _ in range(reps):
        stand, down, hold, up = u(0.3, 1.5), u(0.7, 2.0), u(0.0, 0.6), u(0.6, 1.8)
        depth = u(0.9, 1.1)
        seg = [np.zeros(int(stand * fps)), depth * 0.5 * (1 - np.cos(np.pi * np.arange(int(down * fps)) / int(down * fps))),
               np.full(int(hold * fps), depth), depth * 0.5 * (1 + np.cos(np.pi * np.arange(int(up * fps)) / int(up * fps)))]  # fmt: skip
        phases.append(np.concatenate(seg))
    phases.append(np.zeros(int(u(0.3, 1.0) * fps)))
    phase = np.concatenate(phases)
    n = len(phase)
    q = np.zeros((n, len(idx)))
    knee_peak = u(40, 125)
    ankle_peak = min(knee_peak * u(0.12, 0.32), 28.0)
    # anterior pelvis tilt, limited so that hip flexion (knee - ankle + tilt) stays within 115 deg
    tilt_peak = min(knee_peak * u(0.1, 0.6), max(115.0 / 1.1 - (knee_peak - ankle_peak), 0.0))
    lumbar_peak = u(-50, 10)
    valgus = rng.random() < 1 / 3
    abduction, ext_rotation = u(0, 20), u(0, 30)
    upright = _upright_knees(rng) if upright_knees else np.zeros(2)
    for side, s in enumerate(("r", "l")):
        k = upright[side] * (1 - phase) + knee_peak * u(0.9, 1.1) * phase
        a = ankle_peak * u(0.9, 1.1) * phase
        tilt = tilt_peak * phase
        q[:, idx[f"knee_angle_{s}"]] = k * _D
        q[:, idx[f"ankle_angle_{s}"]] = a * _D
        q[:, idx[f"hip_flexion_{s}"]] = (k - a + tilt + smooth_noise(rng, n, fps, amplitude=2)) * _D
        add = -abduction * u(0.8, 1.2) + (u(0, 12) * phase if valgus else 0.0) + smooth_noise(rng, n, fps, amplitude=1.5)
        rot = -ext_rotation * u(0.8, 1.2) + (u(0, 15) * phase if valgus else 0.0) + smooth_noise(rng, n, fps, amplitude=2)
        q[:, idx[f"hip_adduction_{s}"]] = add * _D
        q[:, idx[f"hip_rotation_{s}"]] = rot * _D
    q[:, idx["pelvis_tilt"]] = -tilt_peak * phase * _D
    q[:, idx["lumbar_extension"]] = (lumbar_peak * phase + u(-10, 5)) * _D
    q[:, idx["neck_flexion"]] = (u(-15, 15) * phase) * _D
    _arms(rng, q, phase, fps)
    return _finish(rng, q, fps, name, "squat", reps=reps, knee_peak_deg=knee_peak, valgus=valgus)


def squat_phase(*, reps: int = 3, fps: float = 30.0, rep_duration: float = 2.0, pause: float = 0.5) -> np.ndarray:
    """How far down ``(frames,)`` a squatter is, 0 standing to 1 at the bottom: ``reps`` repetitions
    of ``0.5 (1 - cos(2 pi s))`` over ``rep_duration`` seconds, each after ``pause`` seconds of
    standing, and a last pause.

    Examples
    --------
    >>> phase = squat_phase(reps=2, fps=10.0, rep_duration=1.0, pause=0.5)
    >>> len(phase), float(phase.max()), float(phase[0])
    (35, 1.0, 0.0)
    """
    if reps < 1 or fps <= 0 or rep_duration <= 0 or pause < 0:
        raise ValueRangeError("reps/fps/rep_duration/pause", expected="reps >= 1, fps > 0, rep_duration > 0, pause >= 0",
                              got=(reps, fps, rep_duration, pause))  # fmt: skip
    n = reps * round((rep_duration + pause) * fps) + round(pause * fps)
    t = np.arange(n) / fps
    phase = np.zeros(n)
    for r in range(reps):
        start = round((r * (rep_duration + pause) + pause) * fps)
        local = (t[start : start + round(rep_duration * fps)] - t[start]) / rep_duration
        phase[start : start + local.size] = 0.5 * (1 - np.cos(2 * np.pi * local))
    return phase


def squat_motion(bottom: Mapping[str, float], phase: np.ndarray, *, fps: float = 30.0, height: float = REFERENCE_HEIGHT,
                 name: str = "squat") -> Motion:  # fmt: skip
    """A squat without random draws: every coordinate named in ``bottom`` moves from 0 (standing)
    to its value there (deg, or m for translations; the built-in model's names and signs) as
    ``value * phase`` (:func:`squat_phase`); the others stay at 0; the feet stay on the floor
    (``y = 0``) and the subject faces the ground's +x axis. The coordinates are those of
    ``builtin_model(height=height)`` (the model scales uniformly with height, so its pelvis
    translations are the reference body's times ``height / REFERENCE_HEIGHT``).

    Examples
    --------
    >>> m = squat_motion({"knee_angle_r": 90.0, "knee_angle_l": 90.0}, squat_phase(reps=1))
    >>> knee = builtin_model().coordinate_index("knee_angle_r")
    >>> m.n_frames, round(float(np.rad2deg(m.coordinates[:, knee].max())), 1)
    (90, 90.0)
    """
    model = _reference_model()
    idx = _index()
    unknown = sorted(set(bottom) - set(idx))
    if unknown:
        raise UnknownNameError("coordinate", unknown[0], known=model.coordinate_names)
    phase = np.asarray(phase, np.float64)
    if phase.ndim != 1 or not np.isfinite(phase).all():
        raise ValueRangeError("phase", expected="a finite 1-D profile (0 standing, 1 at the bottom)", got=phase.shape)
    q = np.zeros((len(phase), len(idx)))
    for coordinate, value in bottom.items():
        unit = 1.0 if model.coordinate_units[coordinate] == "m" else _D
        q[:, idx[coordinate]] = float(value) * unit * phase
    q = _feet_on_floor(q)
    q[:, 3:6] *= height / REFERENCE_HEIGHT  # the pelvis translations (tx, ty, tz)
    return Motion(name, q, float(fps), "squat", {"bottom": dict(bottom), "height": float(height)})


def procedural_standing(rng: np.random.Generator, *, fps: float = 30.0, seconds: float | None = None, name: str = "standing",
                        upright_knees: bool = True) -> Motion:  # fmt: skip
    """Quiet standing: sway of the lower-limb coordinates and slow weight shifts. ``upright_knees``:
    the knees sway about the person's upright knees (the module's note); ``False``, flexed 0-15
    deg (the generator of kinelift 0.3.3)."""
    idx = _index()
    n = int((seconds or rng.uniform(3, 8)) * fps)
    q = np.zeros((n, len(idx)))
    shift = smooth_noise(rng, n, fps, amplitude=4, period=(2, 8))
    stance = rng.uniform(0, 12)
    upright = _upright_knees(rng) if upright_knees else None
    for side, (s, sign) in enumerate((("r", 1.0), ("l", -1.0))):
        if upright is None:
            knee = np.abs(smooth_noise(rng, n, fps, amplitude=5)) + rng.uniform(0, 10)
        else:
            knee = np.clip(upright[side] + smooth_noise(rng, n, fps, amplitude=3), -9.0, None)
        ankle = smooth_noise(rng, n, fps, amplitude=3) + 0.3 * knee
        q[:, idx[f"knee_angle_{s}"]] = knee * _D
        q[:, idx[f"ankle_angle_{s}"]] = ankle * _D
        q[:, idx[f"hip_flexion_{s}"]] = (knee - ankle + smooth_noise(rng, n, fps, amplitude=3)) * _D
        q[:, idx[f"hip_adduction_{s}"]] = (-stance + sign * shift) * _D
        q[:, idx[f"hip_rotation_{s}"]] = (-rng.uniform(0, 20) + smooth_noise(rng, n, fps, amplitude=3)) * _D
    q[:, idx["pelvis_list"]] = shift * _D
    q[:, idx["lumbar_extension"]] = (rng.uniform(-10, 5) + smooth_noise(rng, n, fps, amplitude=4)) * _D
    _arms(rng, q, np.zeros(n), fps)
    return _finish(rng, q, fps, name, "standing")


def procedural_stepping(rng: np.random.Generator, *, fps: float = 30.0, seconds: float | None = None, name: str = "stepping",
                        upright_knees: bool = True) -> Motion:  # fmt: skip
    """Stepping in place: alternate leg lifts, the support leg at the person's upright knee
    (``upright_knees=False``: at 5 deg, the generator of kinelift 0.3.3)."""
    idx = _index()
    n = int((seconds or rng.uniform(3, 8)) * fps)
    t = np.arange(n) / fps
    freq = rng.uniform(0.5, 1.1)
    hip_peak, knee_peak = rng.uniform(30, 80), rng.uniform(40, 100)
    upright = _upright_knees(rng) if upright_knees else np.full(2, 5.0)
    q = np.zeros((n, len(idx)))
    for side, (s, offset) in enumerate((("r", 0.0), ("l", np.pi))):
        lift = np.clip(np.sin(2 * np.pi * freq * t + offset), 0, None) ** 1.5
        q[:, idx[f"hip_flexion_{s}"]] = (hip_peak * lift + 5) * _D
        q[:, idx[f"knee_angle_{s}"]] = (knee_peak * lift + upright[side]) * _D
        q[:, idx[f"ankle_angle_{s}"]] = (-15 * lift + 3) * _D
        q[:, idx[f"hip_adduction_{s}"]] = smooth_noise(rng, n, fps, amplitude=2) * _D
    q[:, idx["lumbar_extension"]] = (rng.uniform(-8, 4) + smooth_noise(rng, n, fps, amplitude=3)) * _D
    _arms(rng, q, np.zeros(n), fps)
    return _finish(rng, q, fps, name, "stepping", frequency_hz=freq)


# Sagittal joint angles over one stride (percent of the cycle from the right heel strike; deg),
# key points of the normative curves of Winter (Biomechanics and Motor Control of Human Movement,
# 4th ed., 2009, ch. 7 appendix, natural cadence) for walking and of Novacheck (Gait Posture
# 1998, 7:77-95) for running. Interpolated by periodic cubic splines.
_GAIT_CURVES = {
    "walk": {
        "hip_flexion": ((0, 30), (10, 27), (30, 8), (50, -10), (60, 0), (75, 25), (87, 33), (100, 30)),
        "knee_angle": ((0, 4), (15, 18), (40, 4), (60, 38), (72, 62), (85, 35), (97, 3), (100, 4)),
        "ankle_angle": ((0, 0), (7, -6), (30, 5), (48, 10), (62, -18), (75, -2), (90, 1), (100, 0)),
    },
    "run": {
        "hip_flexion": ((0, 38), (15, 22), (35, -8), (45, -12), (60, 5), (80, 45), (92, 45), (100, 38)),
        "knee_angle": ((0, 18), (15, 42), (35, 15), (50, 40), (70, 105), (85, 60), (95, 20), (100, 18)),
        "ankle_angle": ((0, 2), (15, 22), (35, -20), (45, -25), (70, 0), (90, 5), (100, 2)),
    },
}  # fmt: skip


def _stride_curve(points: tuple[tuple[float, float], ...], phase: np.ndarray) -> np.ndarray:
    from scipy.interpolate import CubicSpline

    x = np.array([p[0] for p in points]) / 100.0
    y = np.array([p[1] for p in points], dtype=float)
    y[-1] = y[0]
    return CubicSpline(x, y, bc_type="periodic")(np.mod(phase, 1.0))


def procedural_gait(rng: np.random.Generator, *, fps: float = 30.0, seconds: float | None = None, running: bool | None = None,
                    name: str = "gait", crouch: bool = False) -> Motion:  # fmt: skip
    """Walking or running (half of the draws each, unless ``running`` says) from normative curves.

    Sagittal hip, knee and ankle angles follow :data:`_GAIT_CURVES` with per-joint amplitude
    0.8-1.2 x (running knee swing up to 125 deg), the left side half a cycle later, stride rate
    0.8-1.1 Hz walking and 1.3-1.6 Hz running, slow variation; pelvis tilt (anterior 0-15 deg,
    more when running), list and rotation at the stride rate, hip adduction in stance, trunk
    lean forward 0-10 deg (running 5-20) and arm swing against the legs. The body moves forward
    at the step length times the rate (a walk that crosses the view).

    ``crouch``: crouch gait, as clinical gait analysis describes it (cerebral palsy and other
    pathologies: the knee never straightens in stance): a walk whose knee stays flexed by a
    crouch of 20-55 deg drawn per person (its swing on top at 0.4-0.8 of the normal excursion,
    up to 125 deg), hip flexion raised by 0.2-0.5 of the crouch and ankle dorsiflexion by
    0.2-0.5 of it, anterior pelvis tilt 5-20 deg and a slower stride (0.6-0.9 Hz). Drawn from
    ``rng`` after the normal walk's draws, so that ``crouch=False`` keeps the random stream."""
    idx = _index()
    u = rng.uniform
    running = False if crouch else bool(rng.random() < 0.5) if running is None else running
    curves = _GAIT_CURVES["run" if running else "walk"]
    n = int((seconds or u(2, 5)) * fps)
    rate = u(1.3, 1.6) if running else u(0.8, 1.1)
    phase = np.cumsum(np.full(n, rate / fps) * (1 + 0.05 * smooth_noise(rng, n, fps, amplitude=1))) + u(0, 1)
    q = np.zeros((n, len(idx)))
    gains = {k: u(0.8, 1.2) for k in curves}
    for s, shift in (("r", 0.0), ("l", 0.5)):
        asym = u(0.95, 1.05)
        for joint, points in curves.items():
            value = gains[joint] * asym * _stride_curve(points, phase + shift) + smooth_noise(rng, n, fps, amplitude=1.5)
            if joint == "knee_angle":
                value = np.clip(value, 0.0, 125.0)
            q[:, idx[f"{joint}_{s}"]] = value * _D
        stance = np.cos(2 * np.pi * (phase + shift - 0.2))
        q[:, idx[f"hip_adduction_{s}"]] = (u(2, 6) * stance + u(-4, 2) + smooth_noise(rng, n, fps, amplitude=1)) * _D
        q[:, idx[f"hip_rotation_{s}"]] = (u(-10, 5) + u(2, 5) * stance) * _D
        swing = np.sin(2 * np.pi * (phase + shift + 0.5))
        q[:, idx[f"arm_flex_{s}"]] = ((u(20, 40) if running else u(10, 25)) * swing + u(-5, 10)) * _D
        q[:, idx[f"arm_add_{s}"]] = u(-15, -3) * _D
        q[:, idx[f"elbow_flex_{s}"]] = ((u(70, 100) if running else u(10, 35)) + 8 * swing) * _D
    tilt = u(5, 20) if running else u(0, 15)
    q[:, idx["pelvis_tilt"]] = -(tilt + 2 * np.sin(4 * np.pi * phase)) * _D
    q[:, idx["pelvis_list"]] = u(3, 6) * np.sin(2 * np.pi * phase) * _D
    q[:, idx["pelvis_rotation"]] = u(3, 8) * np.sin(2 * np.pi * (phase + 0.25)) * _D
    q[:, idx["lumbar_extension"]] = -((u(5, 20) if running else u(0, 10)) - tilt * 0.5 + smooth_noise(rng, n, fps, amplitude=2)) * _D
    q[:, idx["lumbar_rotation"]] = -u(2, 6) * np.sin(2 * np.pi * (phase + 0.25)) * _D
    if crouch:  # the knee never straightens; hip and ankle follow it, the pelvis tips forward, the stride slows
        bend, swing, hip_share, ankle_share = u(20, 55), u(0.4, 0.8), u(0.2, 0.5), u(0.2, 0.5)
        slower = u(0.6, 0.9) / rate
        phase = phase[0] + (phase - phase[0]) * slower
        rate *= slower
        for s, shift in (("r", 0.0), ("l", 0.5)):
            knee = _stride_curve(curves["knee_angle"], phase + shift)
            q[:, idx[f"knee_angle_{s}"]] = np.clip(bend + swing * (knee - 4.0) + smooth_noise(rng, n, fps, amplitude=1.5), 0.0, 125.0) * _D
            q[:, idx[f"hip_flexion_{s}"]] = (_stride_curve(curves["hip_flexion"], phase + shift) + hip_share * bend) * _D
            q[:, idx[f"ankle_angle_{s}"]] = (_stride_curve(curves["ankle_angle"], phase + shift) + ankle_share * bend) * _D
        q[:, idx["pelvis_tilt"]] = -(u(5, 20) + 2 * np.sin(4 * np.pi * phase)) * _D
        q[:, idx["pelvis_list"]] = u(3, 6) * np.sin(2 * np.pi * phase) * _D
        q[:, idx["pelvis_rotation"]] = u(3, 8) * np.sin(2 * np.pi * (phase + 0.25)) * _D
    motion = _finish(rng, q, fps, name, "run" if running else "walk", stride_rate_hz=rate)  # a crouch is a walk (running is False)
    step = (u(1.1, 1.6) if running else u(0.55, 0.8)) * 2  # stride length, m
    q = motion.coordinates.copy()
    rotation = q[:, idx["pelvis_rotation"]]  # the walking direction Ry(rotation) @ x = (cos, 0, -sin)
    q[:, idx["pelvis_tx"]] += np.cumsum(np.cos(rotation)) * step * rate / fps
    q[:, idx["pelvis_tz"]] -= np.cumsum(np.sin(rotation)) * step * rate / fps
    return Motion(name, q, fps, motion.kind, motion.metadata)


def procedural_single_leg(rng: np.random.Generator, *, fps: float = 30.0, seconds: float | None = None, name: str = "single_leg",
                          upright_knees: bool = True, straight_free_legs: float = 0.0) -> Motion:  # fmt: skip
    """Standing on one leg with the trunk leaning forward (balance tests, single-leg squats, reaching):
    the free leg's hip -20 to 70 deg and knee 20-100 deg (in a third of the motions straight, 0-10
    deg), the stance knee 0-50 deg from upright, anterior pelvis tilt up to 45 deg and lumbar flexion
    up to 30 deg, moving slowly in and out of the pose. ``upright_knees=False``: the stance knee
    from 0-8 deg and the free leg bent 20-100 deg (the generator of kinelift 0.3.3), except in a
    ``straight_free_legs`` share of the motions, whose free knee goes from the standing 5 deg to
    0-10 deg (the default 0 draws nothing more: 0.3.3's random stream)."""
    idx = _index()
    u = rng.uniform
    n = int((seconds or u(3, 8)) * fps)
    t = np.arange(n) / fps
    cycles = u(0.5, 2.5)
    phase = 0.5 * (1 - np.cos(2 * np.pi * cycles * t / t[-1])) if n > 1 else np.zeros(n)
    stance, free = ("r", "l") if rng.random() < 0.5 else ("l", "r")
    q = np.zeros((n, len(idx)))
    lean = u(0, 45)
    q[:, idx["pelvis_tilt"]] = -lean * phase * _D
    q[:, idx["lumbar_extension"]] = (-u(0, 30) * phase + smooth_noise(rng, n, fps, amplitude=2)) * _D
    stance_knee = u(0, 50) * phase + (_upright_knees(rng)[0] if upright_knees else u(0, 8))
    q[:, idx[f"knee_angle_{stance}"]] = stance_knee * _D
    q[:, idx[f"ankle_angle_{stance}"]] = (0.35 * stance_knee + smooth_noise(rng, n, fps, amplitude=2)) * _D
    q[:, idx[f"hip_flexion_{stance}"]] = (0.65 * stance_knee + lean * phase + smooth_noise(rng, n, fps, amplitude=2)) * _D
    q[:, idx[f"hip_adduction_{stance}"]] = (u(-3, 6) + smooth_noise(rng, n, fps, amplitude=2)) * _D
    hip_free = u(-20, 70)
    q[:, idx[f"hip_flexion_{free}"]] = (hip_free * phase + lean * phase * u(0, 1) + 10) * _D
    # a third of the free legs stay straight (straight-leg raises, leg swings, reaching back), the rest bend 20-100 deg
    if upright_knees:
        free_knee = u(0, 10) if rng.random() < 1 / 3 else u(20, 100)
        knee = free_knee * np.clip(phase * 1.3, 0, 1) + _upright_knees(rng)[1] + 2
    elif straight_free_legs > 0 and rng.random() < straight_free_legs:
        knee = (u(0, 10) - 5) * np.clip(phase * 1.3, 0, 1) + 5
    else:
        knee = u(20, 100) * np.clip(phase * 1.3, 0, 1) + 5
    q[:, idx[f"knee_angle_{free}"]] = knee * _D
    q[:, idx[f"ankle_angle_{free}"]] = (u(-25, 10) * phase) * _D
    q[:, idx[f"hip_adduction_{free}"]] = (u(-15, 5) * phase) * _D
    _arms(rng, q, phase, fps)
    return _finish(rng, q, fps, name, "single_leg", stance_side=stance)


def resample_motion(motion: Motion, fps: float) -> Motion:
    """Linear interpolation of every coordinate onto a ``fps`` grid (angles are continuous in files)."""
    if fps <= 0:
        raise ValueRangeError("fps", expected="> 0", got=fps)
    t = np.arange(motion.n_frames) / motion.fps
    new_t = np.arange(0.0, t[-1] + 0.5 / fps, 1.0 / fps)
    q = np.stack([np.interp(new_t, t, c) for c in motion.coordinates.T], axis=1)
    return Motion(motion.name, q, float(fps), motion.kind, dict(motion.metadata))


def motion_from_file(
    path: str | os.PathLike[str], *, source_model: str | os.PathLike[str] | SkeletalModel, fps: float = 30.0, in_degrees: bool | None = None
) -> Motion:
    """A real coordinates file (``.mot``/``.sto``) on the built-in model, resampled to ``fps``.

    Coordinates are matched by OpenSim name; those the file lacks stay at the built-in default
    (arms, for gait2392 files, then get the procedural arm postures). ``knee_angle_*`` takes the
    sign that makes flexion positive, found from ``source_model`` (the ``.osim`` the file was
    computed with). The pelvis translation is recomputed to keep the feet on the floor.
    ``in_degrees`` is for old SIMM-format files whose header does not say (see :func:`kinelift.io.read_mot`).
    """
    from kinelift.io.mot import read_mot
    from kinelift.skeleton.conventions import knee_flexion_sign

    table = read_mot(path, in_degrees=in_degrees)
    source = source_model if isinstance(source_model, SkeletalModel) else SkeletalModel.from_osim(source_model)
    target = _reference_model()
    q = target.coordinates_from_table(table, missing="default").numpy().copy()
    for s in ("r", "l"):
        name = f"knee_angle_{s}"
        if name in table.column_names:
            q[:, target.coordinate_index(name)] *= knee_flexion_sign(source, s)
    dt = np.diff(table.time)
    file_fps = 1.0 / float(np.median(dt))
    motion = resample_motion(Motion(os.fspath(path), q, file_fps, "file", {"path": os.fspath(path)}), fps)
    q = motion.coordinates
    rng = np.random.default_rng(zlib.crc32(os.path.basename(os.fspath(path)).encode()))  # the same arms in every run
    if not any(c.startswith("arm_flex") for c in table.column_names):
        _arms(rng, q, np.zeros(len(q)), fps)
    return Motion(motion.name, _feet_on_floor(q), fps, "file", motion.metadata)


def read_motion_library(folder: str | os.PathLike[str], *, split: str | None = None, fps: float = 30.0) -> list[Motion]:
    """The motions of a library built by :func:`kinelift.pipeline.motion_library.build_motion_library`.

    Parameters
    ----------
    folder : path
        Holds ``index.csv`` and ``motions/``.
    split : {"train", "test"}, optional
        Only the motions of held-out (``"test"``) or training subjects (default: all).
    fps : float, default 30.0
        Resampled to this rate.

    Each :class:`Motion` has ``kind="library"`` and the index row in ``metadata`` (``source``,
    ``subject``, ``movement``, ``family``, ``split``, residuals); its pelvis height is shifted so
    that the lowest foot point of the clip touches ``y = 0``.
    """
    import csv

    from kinelift.errors import FileFormatError
    from kinelift.io.mot import read_mot

    index = os.path.join(os.fspath(folder), "index.csv")
    if not os.path.isfile(index):
        raise FileFormatError(index, "missing", expected="a motion library (kinelift motion-library builds one)")
    if split not in (None, "train", "test"):
        raise ValueRangeError("split", expected="'train', 'test' or None", got=split)
    with open(index, newline="") as f:
        rows = list(csv.DictReader(f))
    needed = {"name", "family", "split", "subject", "source", "file"}
    if rows and not needed <= set(rows[0]):
        raise FileFormatError(index, f"columns {sorted(rows[0])}", expected=f"at least {sorted(needed)}")
    target = _reference_model()
    feet = foot_marker_indices(target.marker_names)
    motions = []
    for row in rows:
        if split is not None and row["split"] != split:
            continue
        table = read_mot(os.path.join(os.fspath(folder), row["file"]))
        q = target.coordinates_from_table(table, missing="default").numpy().copy()
        file_fps = 1.0 / float(np.median(np.diff(table.time))) if len(table.time) > 1 else fps
        motion = resample_motion(Motion(row["name"], q, file_fps, "library", dict(row)), fps)
        q = motion.coordinates.copy()
        with torch.no_grad():
            low = float(target(torch.as_tensor(q)).markers[:, feet, 1].min())
        q[:, target.coordinate_index("pelvis_ty")] -= low
        motions.append(Motion(row["name"], q, fps, "library", dict(row)))
    return motions
