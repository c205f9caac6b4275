"""``kinelift export``: OpenSim files from a kinelift HDF5 result."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write the OpenSim files (.mot, .sto, .trc) of a kinelift HDF5 result")
    p.add_argument("h5", help="a kinelift HDF5 file (result.h5 of kinelift run)")
    p.add_argument("--to", choices=("opensim",), default="opensim", help="target (opensim)")
    p.add_argument("out", help="output folder")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kinelift.pipeline.export import export_opensim

    written = export_opensim(args.h5, args.out, overwrite=args.overwrite)
    print(f"{len(written)} OpenSim files in {args.out}: " + ", ".join(sorted(written)))
    return 0
