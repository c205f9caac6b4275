"""``kinelift ik`` and ``kinelift scale``: OpenSim's IK and scaling from their setup files or from files."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from kinelift.errors import ValueRangeError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ik", help="inverse kinematics: an OpenSim IK setup, or --model and --markers")
    p.add_argument("--setup", help="OpenSim IK setup (.xml); paths in it are relative to its folder")
    p.add_argument("--model", help="OpenSim model (.osim); with --setup, replaces the setup's model")
    p.add_argument("--markers", help="marker trajectories (.trc or .c3d), without --setup")
    p.add_argument("--tasks", help="IK task set (.xml), without --setup (default: every model marker, weight 1)")
    p.add_argument("--time-range", nargs=2, type=float, metavar=("START", "STOP"), help="seconds (default all frames)")
    p.add_argument("--out", help="output .mot (with --setup, replaces the setup's output_motion_file)")
    p.add_argument("--results-dir", help="folder for the marker-error .sto (default: the setup's results_directory)")
    p.add_argument("--h5", help="also write everything to this kinelift .h5 file")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=run_ik_command)

    s = sub.add_parser("scale", help="scaling and marker placement from an OpenSim scale setup")
    s.add_argument("--setup", required=True, help="OpenSim scale setup (.xml)")
    s.add_argument("--model", help="replace the generic model of the setup")
    s.add_argument("--marker-set", help="replace the marker set file of the setup")
    s.add_argument("--markers", help="replace the static trial (.trc) of the setup")
    s.add_argument("--out-dir", help="write the outputs here instead of where the setup says")
    s.add_argument("--overwrite", action="store_true")
    s.set_defaults(func=run_scale_command)


def _summary(result) -> str:
    s = result.summary()
    return (f"{s['frames']} frames ({s['failed_frames']} failed, {s['not_converged']} not converged) in {s['seconds']:.2f} s; "
            f"marker RMS error median {1000 * s['rms_error_median_m']:.2f} mm, max {1000 * s['rms_error_max_m']:.2f} mm")  # fmt: skip


def run_ik_command(args: argparse.Namespace) -> int:
    from kinelift.ik import IKOptions, inverse_kinematics, read_task_set, run_ik_setup
    from kinelift.ik.tool import read_markers
    from kinelift.io._atomic import check_writable
    from kinelift.skeleton import SkeletalModel

    options = IKOptions(progress=True)
    targets = [args.h5] if args.h5 else []  # every output checked before the solve, so none is written when one is refused
    if not args.setup and args.out:
        targets.append(args.out)
        if args.results_dir:
            targets.append(Path(args.results_dir) / f"{Path(args.out).stem}_ik_marker_errors.sto")
    for target in targets:
        check_writable(target, overwrite=args.overwrite)
    if args.setup:
        if args.markers or args.tasks:
            raise ValueRangeError("--markers/--tasks", expected="no --markers or --tasks with --setup (the setup names them)", got="both")
        result = run_ik_setup(args.setup, model_file=args.model, output_motion_file=args.out, results_directory=args.results_dir,
                              overwrite=args.overwrite, options=options)  # fmt: skip
        where = args.out or "the setup's output_motion_file"
    else:
        if not (args.model and args.markers and args.out):
            raise ValueRangeError("arguments", expected="--setup, or all of --model, --markers and --out", got="too few")
        model = SkeletalModel.from_osim(args.model)
        tasks = read_task_set(args.tasks) if args.tasks else None
        time_range = tuple(args.time_range) if args.time_range else None
        result = inverse_kinematics(model, read_markers(args.markers), tasks=tasks, time_range=time_range, options=options)
        result.write_mot(args.out, overwrite=args.overwrite)
        if args.results_dir:
            result.write_marker_errors(Path(args.results_dir) / f"{Path(args.out).stem}_ik_marker_errors.sto", overwrite=args.overwrite)
        where = args.out
    if args.h5:
        result.write_h5(args.h5, overwrite=args.overwrite)
    print(f"ik: {_summary(result)} -> {where}")
    return 0


def run_scale_command(args: argparse.Namespace) -> int:
    from kinelift.ik import run_scale_setup

    result = run_scale_setup(args.setup, model_file=args.model, marker_set_file=args.marker_set, marker_file=args.markers,
                             output_directory=args.out_dir, overwrite=args.overwrite)  # fmt: skip
    factors = ", ".join(f"{k} {v:.4f}" for k, v in result.measurement_factors.items())
    moved = np.array(list(result.marker_moves.values())) if result.marker_moves else np.zeros(1)
    print(f"scale: measurements {factors or '(none)'}; {len(result.marker_moves)} markers placed "
          f"(moved median {1000 * np.median(moved):.1f} mm, max {1000 * moved.max():.1f} mm)")  # fmt: skip
    if result.static_pose is not None:
        print(f"scale: static pose {_summary(result.static_pose)}")
    return 0
