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
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from kinelift.errors import ValueRangeError
from kinelift.lifting.rotations import matrix_to_pelvis_angles, pelvis_angles_to_matrix
from kinelift.skeleton.builtin import builtin_model, foot_marker_indices
from kinelift.skeleton.model import SkeletalModel

__all__ = ["Motion", "procedural_squats", "procedural_standing", "procedural_stepping", "motion_from_file", "resample_motion"]

_D = np.pi / 180.0


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


def _finish(rng: np.random.Generator, q: np.ndarray, fps: float, name: str, kind: str, **metadata) -> Motion:
    """Heading (about the ground's vertical), slow variation of the axial coordinates, arms where
    unset, then the feet on the floor."""
    idx, n = _index(), len(q)
    heading = rng.uniform(-np.pi, np.pi) + smooth_noise(rng, n, fps, amplitude=3 * _D)
    q[:, idx["pelvis_list"]] += smooth_noise(rng, n, fps, amplitude=2 * _D)
    _turn(q, heading)
    for c in ("lumbar_bending", "lumbar_rotation", "neck_bending", "neck_rotation", "neck_flexion"):
        q[:, idx[c]] += smooth_noise(rng, n, fps, amplitude=4 * _D)
    for s in ("r", "l"):
        q[:, idx[f"subtalar_angle_{s}"]] += smooth_noise(rng, n, fps, amplitude=3 * _D)
    return Motion(name, _feet_on_floor(q), fps, kind, metadata)


def procedural_squats(rng: np.random.Generator, *, fps: float = 30.0, name: str = "squats", reps: int | None = None) -> Motion:
    """Squat repetitions from the module's ranges (one draw of every parameter per call);
    ``reps`` fixes the number of repetitions (the draws stay the same otherwise)."""
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
    for s in ("r", "l"):
        k = knee_peak * u(0.9, 1.1) * phase
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


def procedural_standing(rng: np.random.Generator, *, fps: float = 30.0, seconds: float | None = None, name: str = "standing") -> Motion:
    """Quiet standing: sway of the lower-limb coordinates and slow weight shifts."""
    idx = _index()
    n = int((seconds or rng.uniform(3, 8)) * fps)
    q = np.zeros((n, len(idx)))
    shift = smooth_noise(rng, n, fps, amplitude=4, period=(2, 8))
    stance = rng.uniform(0, 12)
    for s, sign in (("r", 1.0), ("l", -1.0)):
        knee = np.abs(smooth_noise(rng, n, fps, amplitude=5)) + rng.uniform(0, 10)
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


def procedural_stepping(rng: np.random.Generator, *, fps: float = 30.0, seconds: float | None = None, name: str = "stepping") -> Motion:
    """Stepping in place: alternate leg lifts with the support leg slightly flexed."""
    idx = _index()
    n = int((seconds or rng.uniform(3, 8)) * fps)
    t = np.arange(n) / fps
    freq = rng.uniform(0.5, 1.1)
    hip_peak, knee_peak = rng.uniform(30, 80), rng.uniform(40, 100)
    q = np.zeros((n, len(idx)))
    for s, offset in (("r", 0.0), ("l", np.pi)):
        lift = np.clip(np.sin(2 * np.pi * freq * t + offset), 0, None) ** 1.5
        q[:, idx[f"hip_flexion_{s}"]] = (hip_peak * lift + 5) * _D
        q[:, idx[f"knee_angle_{s}"]] = (knee_peak * lift + 5) * _D
        q[:, idx[f"ankle_angle_{s}"]] = (-15 * lift + 3) * _D
        q[:, idx[f"hip_adduction_{s}"]] = smooth_noise(rng, n, fps, amplitude=2) * _D
    q[:, idx["lumbar_extension"]] = (rng.uniform(-8, 4) + smooth_noise(rng, n, fps, amplitude=3)) * _D
    _arms(rng, q, np.zeros(n), fps)
    return _finish(rng, q, fps, name, "stepping", frequency_hz=freq)


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
