"""``kinelift demo``: run the demo job on a generated clip."""

from __future__ import annotations

import argparse

from kinelift.demo import run_demo


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the demo chain on a generated squat clip")
    p.add_argument("--out", default="demo_output", help="output folder (default: demo_output)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    s = run_demo(args.out, seed=args.seed, progress=not args.no_progress)
    print(
        f"kinelift demo: {s['frames']} frames; missing points {s['missing_points_observed']} -> {s['missing_points_processed']}; "
        f"RMSE to truth {s['rmse_px_observed']:.2f} px -> {s['rmse_px_processed']:.2f} px\n"
        f"outputs in {args.out}/: {', '.join(s['outputs'])}\n"
        f"figure: {args.out}/squat_tracks.png"
    )
    return 0
