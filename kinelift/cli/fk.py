"""``kinelift fk``: marker (and joint-centre) trajectories of a motion, written as TRC."""

from __future__ import annotations

import argparse

from kinelift.cli.info import add_degrees_flag
from kinelift.io import read_mot, save, write_trc
from kinelift.skeleton import SkeletalModel
from kinelift.skeleton.trajectories import motion_to_tracks


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fk", help="forward kinematics of a motion (.mot/.sto) on an OpenSim model, to .trc")
    p.add_argument("--model", required=True, help="OpenSim model (.osim)")
    p.add_argument("--motion", required=True, help="coordinates (.mot or .sto)")
    p.add_argument("--out", required=True, help="output .trc (or .h5, .c3d)")
    p.add_argument("--joints", action="store_true", help="also write joint centres, named <joint>_center")
    p.add_argument("--units", choices=("mm", "m"), default="mm", help="TRC units (default mm)")
    p.add_argument("--overwrite", action="store_true")
    add_degrees_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    model = SkeletalModel.from_osim(args.model)
    options = {} if args.in_degrees is None else {"in_degrees": args.in_degrees}
    motion = read_mot(args.motion, **options)
    tracks = motion_to_tracks(model, motion, joints=args.joints)
    if args.out.lower().endswith(".trc"):
        write_trc(tracks, args.out, units=args.units, overwrite=args.overwrite)
    else:
        save(args.out, tracks=[tracks], overwrite=args.overwrite)
    print(f"{args.motion}: {tracks.n_frames} frames -> {args.out}: {tracks.n_keypoints} trajectories ({len(model.marker_names)} markers)")
    return 0

