"""``kinelift demo``: the main job on the embedded default clip (nothing downloaded)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job on a generated squat clip and score it against the truth")
    p.add_argument("--out", default="demo_output", help="output folder (default: demo_output)")
    p.add_argument("--reps", type=int, default=3, help="squat repetitions in the clip")
    p.add_argument("--overwrite", action="store_true", help="recompute even if the folder holds a complete result")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kinelift.pipeline.demo import run_demo

    result = run_demo(args.out, n_reps=args.reps, overwrite=args.overwrite, progress=not args.no_progress)
    print(result.summary.to_text())
    print("  angle RMSE against the generated truth (deg): "
          + ", ".join(f"{k} {v:.1f}" for k, v in result.angle_rmse_deg.items()))  # fmt: skip
    print(f"  input: {args.out}/input/demo_squat.json (COCO keypoints), truth: {args.out}/input/truth.mot")
    return 0
