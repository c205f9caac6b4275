"""``kinelift convert IN OUT``: between any supported formats."""

from __future__ import annotations

import argparse
import logging

from kinelift.cli.info import add_degrees_flag, add_layout_flag, reader_options
from kinelift.errors import ValueRangeError
from kinelift.io import FORMATS, load, save

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert between track, marker, motion and HDF5 formats")
    p.add_argument("input", help="input file or OpenPose folder")
    p.add_argument("output", help="output file (format from its suffix, or --to); a folder for openpose")
    p.add_argument("--to", choices=FORMATS, help="output format")
    p.add_argument("--from", dest="from_format", choices=FORMATS, help="input format (detected by default)")
    p.add_argument("--fps", type=float, help="frame rate, for input formats that store none")
    p.add_argument("--person", action="append", help="keep only this person id (repeatable)")
    p.add_argument("--keypoints", help="convert tracks to this keypoint set (e.g. COCO-17, LOWER-6)")
    p.add_argument("--allow-derived", action="store_true", help="derive neck/mid_hip as midpoints when converting sets")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    add_degrees_flag(p)
    add_layout_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load(args.input, format=args.from_format, fps=args.fps, **reader_options(args))
    tracks = loaded.tracks
    if args.person:
        wanted = set(args.person)
        tracks = [t for t in tracks if str(t.person_id) in wanted]
        if not tracks:
            raise ValueRangeError("--person", expected=f"one of {[str(t.person_id) for t in loaded.tracks]}", got=args.person)
    if args.keypoints:
        tracks = [t.to_keypoint_set(args.keypoints, allow_derived=args.allow_derived) for t in tracks]
    fmt = save(args.output, tracks=tracks, tables=loaded.tables, format=args.to, overwrite=args.overwrite)
    log.info("wrote %s (%s): %d track(s), %d table(s)", args.output, fmt, len(tracks), len(loaded.tables))
    print(f"{args.input} ({loaded.format}) -> {args.output} ({fmt}): {len(tracks)} track(s), {len(loaded.tables)} table(s)")
    return 0
