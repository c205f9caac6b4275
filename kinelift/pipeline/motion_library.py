"""The lifter's real motion library: real motion capture on the built-in model's coordinates.

:func:`build_motion_library` turns every real recording of ``../shared/data`` into coordinate
files of the built-in model (:mod:`kinelift.skeleton.builtin`) and one ``index.csv``:

- **UI-PRMD** (Vicon Plug-in-Gait markers, movements m01-m10, subjects s01-s07): per subject, the
  first frame of every deep-squat repetition (standing) registers the subject's model
  (:func:`kinelift.ik.marker_fit.register_plug_in_gait_subject`); every repetition is then solved
  by IK (:func:`~kinelift.ik.marker_fit.fit_plug_in_gait_motion`). Frames whose weighted RMS
  residual of the pelvis and leg markers exceeds ``max_rms`` (or of all markers twice that) are
  dropped and counted; the repetition is cut there. The index's residuals are the pelvis and leg
  markers'.
- **CMU** clips retargeted onto DeepMimic's humanoid (:func:`deepmimic_coordinates`): the humanoid's
  local rotations decomposed in the built-in model's joint axes (Z-X-Y for the pelvis, hips,
  back, neck and shoulders; the knee sign flipped; the ankle's plantar/dorsiflexion kept, its two
  other turns dropped: the built-in ankle has one axis), the pelvis levelled to a mean anterior
  tilt of 12 deg (:func:`_level_pelvis`: the humanoid's root is not an anatomical pelvis). The
  residual is the distance between the
  humanoid's and the built-in model's hip, knee and ankle centres with the built-in thigh and
  shank set to the humanoid's lengths. Acrobatics and hanging clips are left out (no movement
  family of the lifter's).
- **OpenSim** coordinate files (gait2354 walk, gait2392 tutorial normal and crouch gait, OpenCap
  squat and walk): mapped by coordinate name (:func:`kinelift.lifting.motions.motion_from_file`);
  their residual is not known here (the files are IK results, not markers).

Each motion is written as ``motions/<name>.mot`` (OpenSim's format, degrees) and listed in
``index.csv`` with ``name, source, subject, movement, family, split, frames, fps,
dropped_frames, residual_rms_mm, residual_max_mm, file``. ``split`` is ``"test"`` for the
held-out subjects (:data:`TEST_SUBJECTS`): whole subjects, never clips.

Examples
--------
>>> import numpy as np
>>> from kinelift.io.deepmimic import DeepMimicMotion
>>> T = 3
>>> unit = np.tile([1.0, 0, 0, 0], (T, 1))
>>> names = ("root", "chest", "neck", "right_hip", "right_ankle", "right_shoulder", "left_hip", "left_ankle", "left_shoulder")
>>> motion = DeepMimicMotion("x", 30.0, np.tile([0.0, 0.9, 0.0], (T, 1)), {n: unit for n in names},
...                          {"right_knee": np.full(T, -0.5), "left_knee": np.zeros(T), "right_elbow": np.zeros(T), "left_elbow": np.zeros(T)})
>>> q, names_ = deepmimic_coordinates(motion)
>>> round(float(np.degrees(q[0, names_.index("knee_angle_r")])), 1)
28.6
"""

from __future__ import annotations

import csv
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from kinelift.core.table import TimeSeriesTable, unit_for_coordinate_name
from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, OutputExistsError
from kinelift.io.deepmimic import DeepMimicMotion, read_deepmimic_motion
from kinelift.io.mot import write_mot
from kinelift.lifting.motions import MOTION_FAMILIES, motion_from_file
from kinelift.lifting.rotations import matrix_to_pelvis_angles, pelvis_angles_to_matrix
from kinelift.processing._segments import valid_runs
from kinelift.skeleton.builtin import PROPORTIONS, builtin_model, builtin_spec
from kinelift.skeleton.model import SkeletalModel
from kinelift.skeleton.scaling import scale_spec

__all__ = [
    "TEST_SUBJECTS", "LibraryMotion", "UIPRMD_MOVEMENTS", "CMU_FAMILIES", "build_motion_library", "deepmimic_coordinates",
    "deepmimic_joint_residuals",
]  # fmt: skip

log = logging.getLogger(__name__)

UIPRMD_MOVEMENTS = {
    1: ("deep squat", "squat"), 2: ("hurdle step", "step"), 3: ("inline lunge", "lunge"), 4: ("side lunge", "lunge"),
    5: ("sit to stand", "sit_to_stand"), 6: ("standing active straight leg raise", "leg_raise"),
    7: ("standing shoulder abduction", "arm_exercise"), 8: ("standing shoulder extension", "arm_exercise"),
    9: ("standing shoulder internal-external rotation", "arm_exercise"), 10: ("standing shoulder scaption", "arm_exercise"),
}  # fmt: skip
"""UI-PRMD movement number -> (name, movement family)."""

CMU_FAMILIES = {"walk": "walk", "run": "run", "run_obstacle": "run", "jump": "jump", "kick": "kick", "get_up_or_fall": "get_up",
                "sport_basketball": "jump"}  # fmt: skip
"""CMU index category -> movement family (categories not listed are left out)."""

TEST_SUBJECTS = {"ui-prmd": ("s06", "s07"), "cmu": ("2", "9", "10", "13", "139"), "opencap": ("opencap",), "opensim": ("gait2392-tutorial",)}
"""Held-out subjects per source: every motion of these subjects is in the test split."""

_OPENSIM_FILES = (  # (path under the data root, source model, subject, movement, family, unit)
    ("opensim-core-tests/Applications/IK/tests/resources/std_subject01_walk1_ik.mot",
     "opensim-core-tests/Applications/IK/tests/resources/subject01_simbody.osim", "subject01", "walk", "walk", "degrees"),
    ("opensim-models/Tutorials/Intro_to_Musculoskeletal_Modeling/normal.mot",
     "opensim-models/Models/Gait2392_Simbody/gait2392_thelen2003muscle.osim", "gait2392-tutorial", "normal gait", "walk", None),
    *((f"opensim-models/Tutorials/Intro_to_Musculoskeletal_Modeling/crouch{i}.mot",
       "opensim-models/Models/Gait2392_Simbody/gait2392_thelen2003muscle.osim", "gait2392-tutorial", f"crouch gait {i}", "walk", None)
      for i in range(1, 5)),
    ("opencap-squat/Moco/exampleSquat/squats1_videoAndMocap.mot",
     "opencap-squat/Moco/models/LaiArnoldModified2017_contacts.osim", "opencap", "squats", "squat", None),
    ("opencap-squat/Moco/exampleWalking/walking1_videoAndMocap.mot",
     "opencap-squat/Moco/models/LaiArnoldModified2017_contacts.osim", "opencap", "walking", "walk", None),
)  # fmt: skip
_INDEX_FIELDS = ("name", "source", "subject", "movement", "family", "split", "frames", "fps", "dropped_frames", "residual_rms_mm",
                 "residual_max_mm", "file")  # fmt: skip
_MIN_SEGMENT = 15


@dataclass(frozen=True, eq=False)
class LibraryMotion:
    """One motion of the library before it is written: coordinates ``(T, n)`` of the built-in
    model (rad / m) at ``fps`` and its index fields."""

    name: str
    source: str
    subject: str
    movement: str
    family: str
    coordinates: np.ndarray
    fps: float
    dropped_frames: int = 0
    residual_rms_mm: float = float("nan")
    residual_max_mm: float = float("nan")

    @property
    def split(self) -> str:
        return "test" if self.subject in TEST_SUBJECTS.get(self.source, ()) else "train"


def _quat_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = (q[..., i] for i in range(4))
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)  # fmt: skip


def _zxy(R: np.ndarray) -> np.ndarray:
    """Z-X-Y body-fixed angles (rad) of rotation matrices (the built-in model's joints' order)."""
    return matrix_to_pelvis_angles(torch.as_tensor(R)).numpy()


def _zxy_matrix(angles: np.ndarray) -> np.ndarray:
    """Rotation matrices of Z-X-Y body-fixed angles ``(..., 3)`` (rad): the inverse of :func:`_zxy`."""
    return pelvis_angles_to_matrix(torch.as_tensor(angles, dtype=torch.float64)).numpy()


def deepmimic_coordinates(motion: DeepMimicMotion) -> tuple[np.ndarray, tuple[str, ...]]:
    """The built-in model's coordinates ``(T, n)`` (rad / m) of a DeepMimic humanoid motion (see the module docs)."""
    model = builtin_model()
    names = model.coordinate_names
    q = np.zeros((motion.n_frames, len(names)))
    idx = {n: i for i, n in enumerate(names)}

    def put(joint: str, coords: tuple[str, str, str], signs=(1.0, 1.0, 1.0)) -> None:
        a = _zxy(_quat_matrix(motion.rotations[joint]))
        for k, (c, s) in enumerate(zip(coords, signs)):
            if c:
                q[:, idx[c]] = s * a[:, k]

    put("root", ("pelvis_tilt", "pelvis_list", "pelvis_rotation"))
    q[:, idx["pelvis_tx"] : idx["pelvis_tz"] + 1] = motion.root_position
    put("chest", ("lumbar_extension", "lumbar_bending", "lumbar_rotation"))
    put("neck", ("neck_flexion", "neck_bending", "neck_rotation"))
    for side, s, sign in (("right", "r", 1.0), ("left", "l", -1.0)):
        put(f"{side}_hip", (f"hip_flexion_{s}", f"hip_adduction_{s}", f"hip_rotation_{s}"), (1.0, sign, sign))
        q[:, idx[f"knee_angle_{s}"]] = -motion.angles[f"{side}_knee"]
        put(f"{side}_ankle", (f"ankle_angle_{s}", "", ""))
        put(f"{side}_shoulder", (f"arm_flex_{s}", f"arm_add_{s}", f"arm_rot_{s}"), (1.0, sign, sign))
        q[:, idx[f"elbow_flex_{s}"]] = motion.angles[f"{side}_elbow"]
    return q, names


def deepmimic_joint_residuals(motion: DeepMimicMotion, q: np.ndarray, *, thigh: float = 0.421546, shank: float = 0.40987,
                              hip_half_width: float = 0.084887) -> np.ndarray:  # fmt: skip
    """Per-frame RMS distance (m) between the humanoid's hip, knee and ankle centres (its own forward
    kinematics) and the built-in model's at ``q``, the model's thigh, shank and hip width set to the humanoid's."""
    H = 1.75
    spec = builtin_spec(height=H, hip_half_width=hip_half_width)
    factors = {b: np.ones(3) for b in spec.bodies}
    for s in ("r", "l"):
        factors[f"femur_{s}"] = np.full(3, thigh / (PROPORTIONS["thigh"] * H))
        factors[f"tibia_{s}"] = np.full(3, shank / (PROPORTIONS["shank"] * H))
    model = SkeletalModel.from_spec(scale_spec(spec, factors))
    with torch.no_grad():
        fk = model(torch.as_tensor(q))
    joints = [model.joint_names.index(f"{j}_{s}") for s in ("r", "l") for j in ("hip", "knee", "ankle")]
    ours = fk.joint_centers[:, joints].numpy()
    R0 = _quat_matrix(motion.rotations["root"])
    p0 = motion.root_position
    theirs = []
    for side, z in (("right", 1.0), ("left", -1.0)):
        R_hip = R0 @ _quat_matrix(motion.rotations[f"{side}_hip"])
        hip = p0 + R0 @ np.array([0.0, 0.0, z * hip_half_width])
        kz = motion.angles[f"{side}_knee"]
        Rk = _zxy_matrix(np.stack([kz, np.zeros_like(kz), np.zeros_like(kz)], axis=-1))  # the revolute knee turns about z
        knee = hip + R_hip @ np.array([0.0, -thigh, 0.0])
        ankle = knee + (R_hip @ Rk) @ np.array([0.0, -shank, 0.0])
        theirs += [hip, knee, ankle]
    d = np.linalg.norm(ours - np.stack(theirs, axis=1), axis=-1)
    return np.sqrt(np.mean(d**2, axis=1))


CMU_PELVIS_TILT = np.deg2rad(-12.0)
"""Mean pelvis tilt (rad, anterior negative) given to every CMU clip (see :func:`_level_pelvis`)."""


def _level_pelvis(q: np.ndarray, names: tuple[str, ...]) -> None:
    """Turn a clip's pelvis about its own transverse axis so that the mean pitch of its forward axis
    is :data:`CMU_PELVIS_TILT`, the hips and lumbar spine turned back by as much: the pelvis
    orientation is post-multiplied by ``Rz(delta)`` and the hip flexion and lumbar extension (the
    first, z, turns of their Z-X-Y joints) lose ``delta``, so thighs and trunk stay exactly in place.

    The retargeted humanoid's root is not an anatomical pelvis: its tilt is the CMU subject's
    calibration (its tilt spans about -12 to +33 deg across the clips, posterior in most runs,
    where real pelvises tilt forward by about 0-20 deg), and every hip flexion would carry that offset."""
    cols = [names.index(c) for c in ("pelvis_tilt", "pelvis_list", "pelvis_rotation")]
    R = _zxy_matrix(q[:, cols])
    pitch = np.arcsin(np.clip(R[:, 1, 0], -1.0, 1.0))  # the forward axis's rise (anterior tilt negative)
    delta = CMU_PELVIS_TILT - float(np.mean(pitch))
    q[:, cols] = np.unwrap(_zxy(R @ _zxy_matrix(np.array([delta, 0.0, 0.0]))), axis=0)
    q[:, names.index("lumbar_extension")] -= delta
    for side in ("r", "l"):
        q[:, names.index(f"hip_flexion_{side}")] -= delta


def _cmu_motions(root: Path, progress: bool) -> Iterator[LibraryMotion]:
    index = root / "index.csv"
    if not index.is_file():
        raise FileFormatError(index, "missing", expected="the CMU (DeepMimic) clips' index.csv")
    with open(index, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in tqdm(rows, desc="CMU clips", disable=not progress, leave=False):
        family = CMU_FAMILIES.get(row["category"])
        if family is None:
            continue
        motion = read_deepmimic_motion(root / "motions" / f"{row['trial']}.txt.gz")
        q, names = deepmimic_coordinates(motion)
        _level_pelvis(q, names)
        res = deepmimic_joint_residuals(motion, q)
        yield LibraryMotion(f"cmu_{row['trial']}", "cmu", row["subject"], row["description"], family, q, motion.fps,
                            0, 1e3 * float(np.sqrt(np.mean(res**2))), 1e3 * float(res.max()))  # fmt: skip


_UIPRMD_FILE = re.compile(r"^m(\d+)_s(\d+)_e(\d+)_positions(_inc)?\.txt\.gz$")


def _uiprmd_motions(roots: list[Path], max_rms: float, progress: bool) -> Iterator[LibraryMotion]:
    from kinelift.analysis.classify import load_uiprmd
    from kinelift.ik.marker_fit import fit_plug_in_gait_motion, plug_in_gait_tracks, register_plug_in_gait_subject

    trials: dict[int, list[tuple[str, int, Tracks]]] = {}
    for root in roots:
        movements = sorted({int(m.group(1)) for p in root.rglob("*.txt.gz") if (m := _UIPRMD_FILE.match(p.name))})
        for movement in movements:
            ds = load_uiprmd(root, movement=movement, as_tracks=True, skip_unreadable=True)
            for seq, subject, name in zip(ds.sequences, ds.groups, ds.names):
                trials.setdefault(int(subject), []).append((name, movement, plug_in_gait_tracks(seq)))
    for subject, items in tqdm(sorted(trials.items()), desc="UI-PRMD subjects", disable=not progress, leave=False):
        # deep squats start standing (other movements may start mid-motion, e.g. the hurdle step's raised leg)
        statics = [t[np.arange(1)] for _, movement, t in items if movement == 1] or [t[np.arange(1)] for _, _, t in items]
        model = register_plug_in_gait_subject(statics)
        if model.static_rms > max_rms:
            log.warning("UI-PRMD s%02d: registration RMS %.0f mm over %.0f mm: subject left out", subject, 1e3 * model.static_rms, 1e3 * max_rms)
            continue
        for name, movement, tracks in items:
            fit = fit_plug_in_gait_motion(model, tracks, max_rms=max_rms)
            q = fit.ik.coordinates
            runs = valid_runs(fit.kept)
            used = [(k, a, b) for k, (a, b) in enumerate(runs) if b - a >= _MIN_SEGMENT]
            # frames over the residual bound or unsolved, and kept frames in runs too short to use
            dropped = len(q) - sum(b - a for _, a, b in used)
            if not used:
                log.warning("%s: all %d frames dropped (%d over the residual bound of %.0f mm or unsolved, the rest in runs under %d frames)",
                            name, dropped, fit.n_dropped, 1e3 * max_rms, _MIN_SEGMENT)  # fmt: skip
                continue
            stem = name.split(".")[0].replace("_positions", "")
            for k, a, b in used:
                seg = "" if len(runs) == 1 else f"_part{k + 1}"
                rms = fit.lower_body_rms_error[a:b]
                yield LibraryMotion(f"uiprmd_{stem}{seg}", "ui-prmd", f"s{subject:02d}", UIPRMD_MOVEMENTS[movement][0],
                                    UIPRMD_MOVEMENTS[movement][1], q[a:b], tracks.fps, dropped if k == used[0][0] else 0,
                                    1e3 * float(np.sqrt(np.mean(rms**2))), 1e3 * float(rms.max()))  # fmt: skip


def _opensim_motions(root: Path) -> Iterator[LibraryMotion]:
    for path, model, subject, movement, family, unit in _OPENSIM_FILES:
        p, m = root / path, root / model
        if not (p.is_file() and m.is_file()):
            log.warning("%s (or its model) is not there: skipped", p)
            continue
        motion = motion_from_file(p, source_model=m, fps=30.0, in_degrees=True if unit == "degrees" else None)
        yield LibraryMotion(f"opensim_{p.stem}", "opensim" if subject != "opencap" else "opencap", subject, movement, family,
                            motion.coordinates, motion.fps)  # fmt: skip


def build_motion_library(
    data_root: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, max_rms: float = 0.03, overwrite: bool = False,
    sources: tuple[str, ...] = ("ui-prmd", "cmu", "opensim"), progress: bool = True,
) -> list[LibraryMotion]:  # fmt: skip
    """Build the motion library from ``data_root`` (``../shared/data``) into ``out_dir`` (see the module docs).

    Parameters
    ----------
    data_root : path
        The shared data folder; sources that are absent are skipped with a warning.
    out_dir : path
        Written whole: ``motions/*.mot`` and ``index.csv`` (the index last).
    max_rms : float, default 0.03
        Most RMS marker residual (m) of a kept UI-PRMD frame.
    overwrite : bool, default False
        Replace an existing library in ``out_dir``.
    sources : tuple of str
        Any of ``"ui-prmd"``, ``"cmu"``, ``"opensim"``.
    progress : bool, default True
    """
    root, out = Path(data_root), Path(out_dir)
    if (out / "index.csv").exists() and not overwrite:
        raise OutputExistsError(out / "index.csv", reason="a motion library is already there (overwrite=True to rebuild it)")
    unknown = set(sources) - {"ui-prmd", "cmu", "opensim"}
    if unknown:
        from kinelift.errors import UnknownNameError

        raise UnknownNameError("motion library source", sorted(unknown), known=("ui-prmd", "cmu", "opensim"))
    generators: list[Iterator[LibraryMotion]] = []
    if "ui-prmd" in sources:
        folders = [root / f for f in ("ui-prmd-deep-squat", "ui-prmd-movements") if (root / f).is_dir()]
        if folders:
            generators.append(_uiprmd_motions(folders, max_rms, progress))
        else:
            log.warning("no UI-PRMD folder under %s: skipped", root)
    if "cmu" in sources:
        if (root / "cmu-mocap-deepmimic-jump").is_dir():
            generators.append(_cmu_motions(root / "cmu-mocap-deepmimic-jump", progress))
        else:
            log.warning("no cmu-mocap-deepmimic-jump under %s: skipped", root)
    if "opensim" in sources:
        generators.append(_opensim_motions(root))
    (out / "motions").mkdir(parents=True, exist_ok=True)
    (out / "index.csv").unlink(missing_ok=True)
    names = builtin_model().coordinate_names
    units = [unit_for_coordinate_name(n) for n in names]
    motions: list[LibraryMotion] = []
    for gen in generators:
        for m in gen:
            table = TimeSeriesTable(np.arange(len(m.coordinates)) / m.fps, m.coordinates, names, units, name=m.name,
                                    metadata={"source": m.source, "subject": m.subject, "movement": m.movement})  # fmt: skip
            write_mot(table, out / "motions" / f"{m.name}.mot", overwrite=True)
            motions.append(m)
    tmp = out / "index.csv.partial"
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(_INDEX_FIELDS)
        for m in motions:
            writer.writerow([m.name, m.source, m.subject, m.movement, m.family, m.split, len(m.coordinates), f"{m.fps:g}", m.dropped_frames,
                             f"{m.residual_rms_mm:.2f}", f"{m.residual_max_mm:.2f}", f"motions/{m.name}.mot"])  # fmt: skip
    os.replace(tmp, out / "index.csv")
    log.info("motion library: %d motions, %d frames, in %s", len(motions), sum(len(m.coordinates) for m in motions), out)
    if not set(f for f in MOTION_FAMILIES) >= {m.family for m in motions}:
        log.warning("families outside MOTION_FAMILIES: %s", sorted({m.family for m in motions} - set(MOTION_FAMILIES)))
    return motions
