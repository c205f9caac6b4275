"""Accuracy of the shipped lifters on held-out motions under unseen cameras and detector-like noise.

Usage: python benchmarks/lift_eval.py [--lifter COCO-17 LOWER-6 COCO-17+LOWER-6 | PATH.pt ...] [--clips 1] [--file-clips 4]
                                      [--library build/motion_library] [--real-clips 2] [--real-only] [--clips-of COCO-17]
                                      [--cameras generator | phone-portrait] [--assumed-fov 65] [--by-view] [--double-count 0.5 | --exact]
                                      [--toes-merged] [--depth-sd 0.02] [--keypoint-offset 0.03]

First, real motion: the held-out subjects of the motion library (kinelift motion-library; UI-PRMD s06-s07,
CMU subjects 2, 9, 10, 13 and 139, the OpenCap subject), per movement family: MPJPE, PA-MPJPE, RMSE and
Pearson r of hip flexion, hip adduction, knee and ankle, the knee bias on standing frames (and that bias over
the knees that are not hyperextended, with the share that are), the mean errors of
hip flexion and of the pelvis's tilt, and the RMSE and r of the thigh's lean from the vertical (which,
unlike hip flexion, does not depend on the pelvis's tilt: `kinelift.lifting.metrics.segment_lean`); each
family also with the pose fitted to the 2D keypoints through the true camera and through the
camera `kinelift.lift` assumes from the image size (--no-refine: without those rows). An ensemble
(`COCO-17+LOWER-6`: both lifters averaged, `kinelift.lift`'s default for full-body tracks) is
scored on its primary's renderings; `--clips-of COCO-17` renders every motion once in that set
and lets every lifter read its own points of the same clips (LOWER-6 its six), so that the rows
compare lifters on identical input. `--by-view` adds, under each family, its last row (camera
assumed; the lifted poses with --no-refine) split by how the camera saw the person
(`kinelift.lifting.evaluation.view_frames`: within 30 deg of the front or back "frontal", beyond
60 "sagittal", "oblique" between). `--double-count 0.5` renders half of the clips with double
counting (spans where both sides' ankle, or knee and ankle, sit on one leg, as kinelift's detector
put them on the real side-view videos: `kinelift.lifting.corruption.DetectorNoise`). `--exact`
renders the joint centres projected without noise (confidences 0.85-1): what the lifter makes of perfect
points, so that the error's share that is the 2D's noise shows. `--toes-merged` (with `--clips-of BODY-25`) puts each
foot's two toes at their midpoint, as MediaPipe's 33 give them converted to BODY-25.
Then the generator's own test split (a unit check, not evidence):

For each lifter, the test split of its training configuration's last data stage (kinelift/lifting/configs/): the
procedural motions held out by motion source, the opencap squat and crouch4 (never trained on,
read from ../shared/data when present). Each motion is rendered with new bodies and cameras from
a random stream that training never drew from, with the noise model of
kinelift.lifting.corruption. Printed per group: frames, root-relative MPJPE and PA-MPJPE of the
input keypoints (mm), and the RMSE (deg) of hip flexion, hip adduction, knee flexion and ankle
angle (both sides pooled) and their mean. Targets (issue 5): MPJPE <= 35 mm, mean angle RMSE <= 3.5 deg.
Each group is evaluated twice: with the lifter's own size estimate, and with the subject's true
height given (as `kinelift.lift(tracks, height=...)`), since one camera cannot fix absolute size;
a line under each group gives the RMSE of the pelvis's tilt to the floor (hip flexion is measured
from the pelvis, whose tilt the keypoints hardly show) and compares the estimated standing
heights with the true ones.
Predictions average the input and its mirror image, as `kinelift.lift` does by default (--no-flip: without).
Each group is also scored with the camera's intrinsics given: the lifted poses fitted back to the
2D keypoints through the camera (kinelift.lifting.refinement), as `kinelift.lift(tracks,
intrinsics=...)` does by default (--no-refine: skipped).
The procedural motions are also lifted from exact 2D points with every confidence 1 (as hand labels
or projected motion capture give them): group "procedural, exact 2D".
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from kinelift.core import get_keypoint_set
from kinelift.lifting.cameras import PHONE_PORTRAIT, CameraDraw
from kinelift.lifting.config import DataConfig, load_config
from kinelift.lifting.corruption import DetectorNoise
from kinelift.lifting.data import LiftingClips
from kinelift.lifting.ensemble import ensemble_name, lifter_sources
from kinelift.lifting.evaluation import (
    EVALUATED_ANGLES,
    convert_clips,
    evaluate_lifter,
    height_estimates,
    held_out_clips,
    predict_clips,
    refine_clips,
    view_frames,
)
from kinelift.lifting.inference import ASSUMED_FIELD_OF_VIEW_DEG, DEFAULT_ENSEMBLE
from kinelift.lifting.refinement import RefinementConfig
from kinelift.lifting.weights import SHIPPED_WEIGHTS, lifter_metadata, load_lifter

CONFIGS = Path(__file__).resolve().parents[1] / "kinelift" / "lifting" / "configs"
LIBRARY = Path(__file__).resolve().parents[1] / "build" / "motion_library"
EXACT = DetectorNoise(noise=(0.0, 0.0), jitter=0.0, outlier_rate=0.0, swap_rate=0.0, drop_rate=0.0, gap_rate=0.0)
CONFIG_FOR = {"COCO-17": CONFIGS / "lifter_coco17.toml", "LOWER-6": CONFIGS / "lifter_lower6.toml", "LSP-14": CONFIGS / "lifter_lsp14_real.toml"}


def _print_row(ks: str, label: str, r: dict[str, float]) -> None:
    angles = " ".join(f"{r[f'{a}_rmse_deg']:9.2f}" for a in EVALUATED_ANGLES)
    print(f"{ks:<15} {label:<44} {int(r['frames']):7d} {r['mpjpe_mm']:7.1f} {r['pa_mpjpe_mm']:9.1f} {angles} {r['mean_angle_rmse_deg']:6.2f}")


SHORT = {"hip_flexion": "hipflex", "hip_adduction": "hipadd", "knee_angle": "knee", "ankle_angle": "ankle"}
REAL_HEADER = (f"{'lifter':<15} {'family (held-out subjects)':<28} {'frames':>7} {'MPJPE':>6} {'PA-MPJPE':>8} "
               + " ".join(f"{SHORT[a]:>8}" for a in EVALUATED_ANGLES) + f" {'mean':>5} "
               + " ".join(f"{'r ' + SHORT[a]:>10}" for a in EVALUATED_ANGLES) + f" {'stand.kneebias':>14} {'straight/hyper':>14}"
               + f" {'hipflex bias':>12} {'pelvis bias':>11} {'thigh lean':>10} {'r thigh':>7} {'shank lean':>10} {'r shank':>7} {'trunk lean':>10} {'r trunk':>7}")  # fmt: skip


def merge_toes(clips: LiftingClips) -> LiftingClips:
    """``clips`` with each foot's big and small toe both at their midpoint, as BlazePose's one
    ``foot_index`` per foot gives them when MediaPipe's 33 are converted to BODY-25 (missing where
    either was)."""
    names = clips.keypoints.names
    features, clean = clips.features.copy(), clips.clean_2d.copy()
    for side in ("left", "right"):
        big, small = names.index(f"{side}_big_toe"), names.index(f"{side}_small_toe")
        seen = (clips.features[:, big, 2] > 0) & (clips.features[:, small, 2] > 0)
        tip = np.where(seen[:, None], 0.5 * (clips.features[:, big, :2] + clips.features[:, small, :2]), 0.0)
        confidence = np.where(seen, np.minimum(clips.features[:, big, 2], clips.features[:, small, 2]), 0.0)
        for toe in (big, small):
            features[:, toe, :2], features[:, toe, 2] = tip, confidence
            clean[:, toe] = 0.5 * (clips.clean_2d[:, big] + clips.clean_2d[:, small])
    return replace(clips, features=features, clean_2d=clean)


def real_motion_table(lifters: list[str], library: str, *, clips: int, flip: bool, refine: bool = True, hip_spread: float = 1.0,
                      clips_of: str | None = None, assumed_fov: float = ASSUMED_FIELD_OF_VIEW_DEG,
                      cameras: CameraDraw = CameraDraw(), by_view: bool = False, noise: DetectorNoise | None = None,
                      toes_merged: bool = False, fit: RefinementConfig | None = None, keypoint_offset: float = 0.0) -> None:  # fmt: skip
    """Per movement family, the motion library's held-out subjects (whole subjects never trained on);
    with ``refine``, each family again with the pose fitted to the 2D keypoints through the true
    camera, and through the camera ``kinelift.lift`` assumes when it knows only the image size.
    ``clips_of``: render every motion in that keypoint set, and let each lifter read its own points
    of the same renderings (:func:`kinelift.lifting.evaluation.convert_clips`); by default each
    lifter's own set is rendered. ``cameras``: the ranges the renderings' cameras are drawn from.
    ``by_view``: each family's last row again per camera view (frontal, oblique, sagittal,
    :func:`kinelift.lifting.evaluation.view_frames`), with the frames of each: the fit through the
    assumed camera, or the lifted poses without ``refine``. ``noise``: the renderings' corruption
    (default ``DetectorNoise()``). ``toes_merged``: renderings with toes get :func:`merge_toes`. ``fit``:
    the fit's settings (default ``RefinementConfig()``, as ``kinelift.lift``). ``keypoint_offset``: the
    renderings' ``DataConfig.keypoint_offset`` (m)."""
    spread = f", 2D hips x{hip_spread:g} as far apart as the joint centres" if hip_spread != 1.0 else ""
    spread += f", keypoints displaced by a fixed offset per clip (SD {keypoint_offset:g} m per axis)" if keypoint_offset else ""
    rendered = f", rendered as {clips_of} (every lifter reads its points of the same clips)" if clips_of else ""
    rendered += f", {noise.double_count_rate:g} of the clips double counted" if noise is not None and noise.double_count_rate else ""
    rendered += ", each foot's toes at their midpoint (MediaPipe's foot_index)" if toes_merged else ""
    corrupted = "exact 2D (no noise)" if noise == EXACT else "detector noise"
    print(f"Real motion capture of held-out subjects ({library}), {clips} unseen camera(s) + {corrupted} per motion{spread}{rendered}; "
          "RMSE deg, Pearson r (both sides pooled), knee bias (deg) on standing frames (both knees < 10 deg, hips < 15 deg), "
          "then that bias over the standing knees that are not hyperextended (true 0-10 deg) and the share that are, "
          "mean errors of hip flexion and pelvis tilt (deg, predicted minus true), thigh, shank and trunk lean from the vertical: RMSE (deg) and r")  # fmt: skip
    print(REAL_HEADER)
    print("-" * len(REAL_HEADER))
    renderings: dict[str, dict] = {}
    for source in lifters:
        members = [load_lifter(m) for m in lifter_sources(source)]
        lifter = members[0]
        ks = ensemble_name(members)
        data = replace(DataConfig(), library=library, n_squats=0, n_standing=0, n_stepping=0, test_fraction=0.0,
                       hip_spread=(hip_spread, hip_spread), cameras=cameras, keypoint_offset=keypoint_offset)  # fmt: skip
        render = clips_of or lifter.config.keypoints
        if render not in renderings:
            renderings[render] = held_out_clips(data, render, fps=lifter.config.fps, clips_per_motion=clips, noise=noise)
            if toes_merged and {"left_big_toe", "right_small_toe"} <= set(get_keypoint_set(render).names):
                renderings[render] = {name: merge_toes(group) for name, group in renderings[render].items()}
        groups = {name: convert_clips(group, lifter.keypoint_set) for name, group in renderings[render].items()}
        pooled: dict[str, list[dict[str, float]]] = {}
        for name in sorted(g for g in groups if g.startswith("real ")):
            outputs = predict_clips(members, groups[name], flip=flip)
            rows = [(name[5:], outputs)]
            if refine:
                rows.append(("  fit to 2D, camera known", refine_clips(lifter, groups[name], outputs, config=fit)))
                rows.append((f"  fit, {assumed_fov:g}-deg camera assumed",
                             refine_clips(lifter, groups[name], outputs, config=fit, assumed_field_of_view=assumed_fov)))  # fmt: skip
            if by_view:
                rows += [(f"    {view}", rows[-1][1], frames) for view, frames in view_frames(groups[name]).items() if frames.any()]
            for i, (label, fitted, *frames) in enumerate(rows):
                r = evaluate_lifter(lifter, groups[name], outputs=fitted, frames=frames[0] if frames else None)
                if not frames:
                    pooled.setdefault(["lifted", "camera known", "camera assumed"][i], []).append(r)
                angles = " ".join(f"{r[f'{a}_rmse_deg']:8.2f}" for a in EVALUATED_ANGLES)
                corr = " ".join(f"{r[f'{a}_r']:10.2f}" for a in EVALUATED_ANGLES)
                bias = f"{r['standing_knee_bias_deg']:+7.2f} ({int(r['standing_frames'])})" if r["standing_frames"] else "   (none)"
                split = (f"{r['standing_knee_bias_straight_deg']:+6.2f} {100 * r['standing_knee_hyperextended_fraction']:3.0f} %"
                         if r["standing_frames"] else "")  # fmt: skip
                print(f"{ks:<15} {label:<28} {int(r['frames']):7d} {r['mpjpe_mm']:6.1f} {r['pa_mpjpe_mm']:8.1f} {angles} "
                      f"{r['mean_angle_rmse_deg']:5.2f} {corr} {bias:>14} {split:>14} {r['hip_flexion_bias_deg']:+12.2f} {r['pelvis_tilt_bias_deg']:+11.2f} "
                      f"{r['thigh_lean_rmse_deg']:10.2f} {r['thigh_lean_r']:7.2f} {r['shank_lean_rmse_deg']:10.2f} {r['shank_lean_r']:7.2f} "
                      f"{r['trunk_lean_rmse_deg']:10.2f} {r['trunk_lean_r']:7.2f}")  # fmt: skip
        for how, rs in pooled.items():
            worst = max(p["mean_angle_rmse_deg"] for p in rs)
            print(f"{'':<15} {how}: worst family mean RMSE {worst:.2f} deg, mean over families {np.mean([p['mean_angle_rmse_deg'] for p in rs]):.2f}, "
                  f"knee {np.mean([p['knee_angle_rmse_deg'] for p in rs]):.2f}; lowest knee r {min(p['knee_angle_r'] for p in rs):.2f}, "
                  f"lowest hip flexion r {min(p['hip_flexion_r'] for p in rs):.2f} (targets: <= 5 deg, r >= 0.9, |bias| <= 3 deg)")  # fmt: skip
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lifter", nargs="+", default=[*SHIPPED_WEIGHTS, DEFAULT_ENSEMBLE],
                        help="lifters: shipped (COCO-17, LOWER-6, LSP-14), weights files, or ensembles joined by + (default: the three and COCO-17+LOWER-6)")
    parser.add_argument("--config", help="training TOML for a lifter given as a file (default: by its keypoint set)")
    parser.add_argument("--clips", type=int, default=1, help="renderings (body, camera, noise) per held-out procedural motion")
    parser.add_argument("--file-clips", type=int, default=4, help="renderings per held-out motion file (the opencap squat, crouch4)")
    parser.add_argument("--no-refine", action="store_true", help="skip the evaluation with the intrinsics given (fit to the 2D keypoints)")
    parser.add_argument("--no-flip", action="store_true", help="no flip test-time augmentation (kinelift.lift uses it by default)")
    parser.add_argument("--library", default=str(LIBRARY), help="real motion library (kinelift motion-library; default build/motion_library)")
    parser.add_argument("--real-clips", type=int, default=2, help="renderings per held-out real motion")
    parser.add_argument("--real-only", action="store_true", help="only the real-motion table")
    parser.add_argument("--clips-of", help="real-motion table: render in this keypoint set for every lifter (default: each lifter's own)")
    parser.add_argument("--hip-spread", type=float, default=1.0,
                        help="real-motion table: the 2D hips this many times as far apart as the joint centres (detectors: about 1.4)")
    parser.add_argument("--cameras", choices=("generator", "phone-portrait"), default="generator",
                        help="real-motion table: the training data's camera draw (default), or phones held upright: 1080x1920, "
                             "60-70 deg across the long side")  # fmt: skip
    parser.add_argument("--assumed-fov", type=float, default=ASSUMED_FIELD_OF_VIEW_DEG,
                        help="the field of view (deg, across the image's longer side) the 'camera assumed' rows assume "
                             "(kinelift.lift's: %(default)s; 0.3.10's 65 deg across a 1080x1920 image's width is 97.1 across its long side)")  # fmt: skip
    parser.add_argument("--by-view", action="store_true",
                        help="real-motion table: each family's last row (the fit through the assumed camera; the lifted poses with "
                             "--no-refine) also per camera view: frontal, oblique, sagittal")  # fmt: skip
    parser.add_argument("--double-count", type=float, default=0.0, metavar="RATE",
                        help="real-motion table: this fraction of the renderings double counted (both sides' ankle, or knee and "
                             "ankle, on one leg in spans of frames, as detectors do in side views; DetectorNoise.double_count_rate)")  # fmt: skip
    parser.add_argument("--exact", action="store_true",
                        help="real-motion table: exact 2D (the joint centres projected without noise; confidences 0.85-1): what the lifter "
                             "makes of perfect keypoints, against the detector-like noise of the default")  # fmt: skip
    parser.add_argument("--toes-merged", action="store_true",
                        help="real-motion table: renderings with toes (--clips-of BODY-25) get each foot's big and small toe at "
                             "their midpoint, as MediaPipe's one foot_index per foot gives them converted to BODY-25")  # fmt: skip
    parser.add_argument("--keypoint-offset", type=float, default=0.0, metavar="SD",
                        help="real-motion table: each clip's keypoints displaced by an offset fixed in the pelvis's frame, each axis "
                             "of SD metres (DataConfig.keypoint_offset: a detector's convention)")  # fmt: skip
    parser.add_argument("--depth-sd", type=float,
                        help="real-motion table: the fit's depth prior (RefinementConfig.depth_sd, fractions of the standing height; "
                             f"default {RefinementConfig().depth_sd}, kinelift.lift's)")  # fmt: skip
    args = parser.parse_args()
    if args.exact and args.double_count:
        parser.error("--exact and --double-count exclude each other")
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if Path(args.library, "index.csv").is_file():
        real_motion_table(args.lifter, args.library, clips=args.real_clips, flip=not args.no_flip, refine=not args.no_refine,
                          hip_spread=args.hip_spread, clips_of=args.clips_of, assumed_fov=args.assumed_fov,
                          cameras=PHONE_PORTRAIT if args.cameras == "phone-portrait" else CameraDraw(), by_view=args.by_view,
                          noise=EXACT if args.exact else DetectorNoise(double_count_rate=args.double_count),
                          toes_merged=args.toes_merged,
                          fit=None if args.depth_sd is None else RefinementConfig(depth_sd=args.depth_sd),
                          keypoint_offset=args.keypoint_offset)  # fmt: skip
    else:
        print(f"no motion library at {args.library} (build it: kinelift motion-library): real-motion table skipped\n")
    if args.real_only:
        return
    header = f"{'lifter':<15} {'group':<44} {'frames':>7} {'MPJPE':>7} {'PA-MPJPE':>9} " + " ".join(f"{a[:9]:>9}" for a in EVALUATED_ANGLES) + f" {'mean':>6}"
    print(header)
    print("-" * len(header))
    for source in args.lifter:
        members = [load_lifter(m) for m in lifter_sources(source)]
        lifter = members[0]
        ks = lifter.config.keypoints
        setup = load_config(args.config or CONFIG_FOR[ks])
        label = ensemble_name(members)
        data = setup.final_data()
        groups = held_out_clips(data, ks, fps=lifter.config.fps, clips_per_motion=args.clips, clips_per_file=args.file_clips)
        exact = held_out_clips(data, ks, fps=lifter.config.fps, clips_per_motion=args.clips, noise=EXACT)["procedural"]
        exact.features[..., 2] = exact.features[..., 2] > 0  # every seen point at confidence 1
        groups["procedural, exact 2D"] = exact
        for name, clips in groups.items():
            outputs = predict_clips(members, clips, flip=not args.no_flip)
            for height_given in (False, True):
                r = evaluate_lifter(lifter, clips, height_given=height_given, outputs=outputs)
                _print_row(label, f"{name}{' (height given)' if height_given else ''}", r)
            estimated, true = height_estimates(outputs, clips)
            r_est = f"{np.corrcoef(estimated, true)[0, 1]:.2f}" if len(true) >= 10 and true.std() > 0 else "(too few bodies)"
            print(f"{'':<15}   pelvis tilt to the floor: RMSE {r['pelvis_tilt_rmse_deg']:.2f} deg; height estimate: RMS error "
                  f"{100 * np.sqrt(np.mean((estimated - true) ** 2)):.1f} cm, correlation with the truth {r_est} "
                  f"({len(true)} bodies, true heights {true.mean():.2f} +- {true.std():.2f} m)")  # fmt: skip
            if not args.no_refine:
                refined = refine_clips(lifter, clips, outputs)
                for height_given in (False, True):
                    r = evaluate_lifter(lifter, clips, height_given=height_given, outputs=refined)
                    _print_row(label, f"  intrinsics given: refined{', height given' if height_given else ''}", r)
        trained = lifter_metadata(source).get("metrics", {}) if len(members) == 1 else {}
        if trained:
            print(f"{'':<15} (training's last held-out check: MPJPE {trained.get('mpjpe_mm', float('nan')):.1f} mm, "
                  f"mean angle RMSE {trained.get('mean_angle_rmse_deg', float('nan')):.2f} deg)")  # fmt: skip
    print("targets: MPJPE <= 35 mm, mean of the four angle RMSEs <= 3.5 deg (issue 5); mm and deg")


if __name__ == "__main__":
    main()
