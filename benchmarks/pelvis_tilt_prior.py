"""How far the pelvis tilts at the bottom of real squats, against the lifters' training generator.

Usage: python benchmarks/pelvis_tilt_prior.py [--data ../shared/data] [--squats 2000]

Hip flexion is the angle between the pelvis and the thigh. The thigh is seen in every keypoint
set; the pelvis's tilt to the floor is not (LOWER-6 has no point on the pelvis but the two hip
centres, COCO-17 adds the shoulders, and a trunk lean splits between pelvis tilt and lumbar
flexion in a way no keypoint shows), so a lifter takes it from what its training squats did at
that depth. This script measures that relation where it is known:

- UI-PRMD deep squats (Vicon Plug-in-Gait markers, 7 subjects, 70 correct and 70 incorrect
  repetitions): the pelvis's pitch from the ASIS and PSIS markers, knee flexion from the
  Harrington hip centre and the lateral knee and ankle markers, each as a change from the first
  (standing) frame, at the frame of deepest knee flexion;
- the opencap squat (OpenSim IK of a real subject, 5 repetitions): ``pelvis_tilt`` and the knee at
  each repetition's deepest frame;
- the generator's squats (``kinelift.lifting.motions.procedural_squats``, ``--squats`` seeds).

Printed per source: repetitions, knee flexion at depth, the anterior pelvis tilt at depth (change
from standing; positive = the front of the pelvis drops), its ratio to the knee flexion, and the
residual SD of the tilt about a straight-line fit on the knee flexion: the part of the tilt that
the depth of the squat does not tell, which no lifter can see from keypoints without the pelvis,
and the share of repetitions whose pelvis tilts backwards at depth.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def pitch_deg(pelvis_angles: np.ndarray) -> np.ndarray:
    """The pelvis's tilt to the floor (deg) from OpenSim's pelvis coordinates (tilt, list, rotation; rad,
    y up): ``pelvis_tilt`` itself only when the subject faces the ground's x axis."""
    import torch

    from kinelift.lifting.metrics import pelvis_pitch
    from kinelift.lifting.rotations import pelvis_angles_to_matrix

    rotation = pelvis_angles_to_matrix(torch.as_tensor(np.array(pelvis_angles, dtype=np.float64))).numpy()
    return np.degrees(pelvis_pitch(rotation, np.broadcast_to([0.0, 1.0, 0.0], rotation.shape[:-1])))


def uiprmd(root: Path) -> dict[str, np.ndarray]:
    """``{label: (repetitions, 2)}`` of (knee flexion, anterior pelvis tilt) at depth, degrees."""
    from kinelift.analysis.classify import load_uiprmd
    from kinelift.analysis.geometry import included_angle
    from kinelift.analysis.marker_sets import plug_in_gait_keypoints

    data = load_uiprmd(root, as_tracks=True)
    out: dict[str, list] = {}
    for tracks, label in zip(data.sequences, data.labels):
        m = {n: np.asarray(tracks.select([n]).positions[:, 0]) for n in ("LASI", "RASI", "LPSI", "RPSI")}
        forward = 0.5 * (m["LASI"] + m["RASI"] - m["LPSI"] - m["RPSI"])
        pitch = np.degrees(np.arctan2(forward[:, 2], np.linalg.norm(forward[:, :2], axis=1)))  # z up
        kp = plug_in_gait_keypoints(tracks, up="z")
        knees = []
        for side in ("right", "left"):
            hip, knee, ankle = (np.asarray(kp.select([f"{side}_{j}"]).positions[:, 0]) for j in ("hip", "knee", "ankle"))
            knees.append(180.0 - np.degrees(included_angle(hip, knee, ankle)))
        knee = np.nanmean(knees, axis=0)
        deepest = int(np.nanargmax(knee))
        out.setdefault(str(label), []).append((knee[deepest] - knee[0], pitch[0] - pitch[deepest]))
    return {label: np.asarray(rows) for label, rows in out.items()}


def opencap(mot: Path) -> np.ndarray:
    from scipy.signal import find_peaks

    from kinelift.io.mot import read_mot

    table = read_mot(mot).to_dataframe()
    knee = np.degrees(table["knee_angle_r"].to_numpy() + table["knee_angle_l"].to_numpy()) / 2
    tilt = pitch_deg(table[["pelvis_tilt", "pelvis_list", "pelvis_rotation"]].to_numpy())
    peaks, _ = find_peaks(knee, distance=50, prominence=30)
    return np.stack([knee[peaks] - knee[0], tilt[0] - tilt[peaks]], axis=1)


def generator(n: int) -> np.ndarray:
    from kinelift.lifting.motions import procedural_squats
    from kinelift.skeleton.builtin import builtin_model

    model = builtin_model()
    ik = model.coordinate_index("knee_angle_r")
    pelvis = [model.coordinate_index(c) for c in ("pelvis_tilt", "pelvis_list", "pelvis_rotation")]
    rows = []
    for seed in range(n):
        q = procedural_squats(np.random.default_rng(seed)).coordinates
        deepest = int(np.argmax(q[:, ik]))
        tilt = pitch_deg(q[[0, deepest]][:, pelvis])
        rows.append((np.degrees(q[deepest, ik] - q[0, ik]), tilt[0] - tilt[1]))
    return np.asarray(rows)


def describe(name: str, rows: np.ndarray) -> None:
    knee, tilt = rows[:, 0], rows[:, 1]
    fit = np.polyfit(knee, tilt, 1) if len(rows) > 2 else None
    residual = np.std(tilt - np.polyval(fit, knee), ddof=2) if fit is not None and len(rows) > 3 else float("nan")
    ratio = tilt / knee
    print(f"{name:<34} {len(rows):5d}   knee {np.median(knee):5.1f} [{knee.min():5.1f}, {knee.max():5.1f}]   "
          f"tilt {np.median(tilt):5.1f} [{tilt.min():6.1f}, {tilt.max():5.1f}] SD {tilt.std():4.1f}   "
          f"ratio {np.median(ratio):5.2f} (IQR {np.percentile(ratio, 25):5.2f}-{np.percentile(ratio, 75):4.2f})   "
          f"residual SD {residual:4.1f}   posterior {100 * np.mean(tilt < 0):3.0f} %")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--squats", type=int, default=2000, help="generated squats to sample")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print("degrees; knee flexion and anterior pelvis tilt at the deepest frame, change from standing: median [range]")
    ui_root = args.data / "ui-prmd-deep-squat"
    if ui_root.is_dir():
        for label, rows in uiprmd(ui_root).items():
            describe(f"UI-PRMD deep squat, {label}", rows)
    else:
        print(f"UI-PRMD: skipped, {ui_root} is not there")
    mot = args.data / "opencap-squat" / "Moco" / "exampleSquat" / "squats1_videoAndMocap.mot"
    if mot.is_file():
        describe("opencap squat", opencap(mot))
    else:
        print(f"opencap squat: skipped, {mot} is not there")
    describe("generator (procedural_squats)", generator(args.squats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
