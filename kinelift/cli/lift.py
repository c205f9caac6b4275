"""``kinelift lift``, ``kinelift train-lifter`` and ``kinelift motion-library``: 2D tracks to 3D
kinematics, training the lifter, and building its real motion library."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from kinelift.cli.info import add_layout_flag, reader_options
from kinelift.errors import ValueRangeError

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lift", help="lift a 2D track file to 3D kinematics on the built-in model (.h5, .mot, .trc, .osim)")
    p.add_argument("input", help="any 2D track file kinelift reads (OpenPose, COCO/MMPose, DeepLabCut, HDF5, ...)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--lifter", help="shipped lifter (COCO-17, LSP-14, LOWER-6, BODY-25), a weights file, or several joined by + and averaged "
                   "(COCO-17+LOWER-6); default from the track's keypoints: BODY-25+LOWER-6 for sets with feet (BODY-25, HALPE-26, "
                   "BODY-25B) whose feet are seen in most frames, COCO-17+LOWER-6 for other COCO-like sets, LSP-14+LOWER-6 "
                   "for kinelift's detector, else LOWER-6")
    p.add_argument("--height", type=float, help="subject height in metres (sets the body size; else estimated)")
    p.add_argument("--focal", type=float, help="camera focal length in pixels (with --principal-point: follows the pelvis translation)")
    p.add_argument("--principal-point", type=float, nargs=2, metavar=("CX", "CY"), help="principal point in pixels")
    p.add_argument("--image-size", type=int, nargs=2, metavar=("WIDTH", "HEIGHT"),
                   help="frame size in pixels of the video the track comes from, for files that do not record it (OpenPose's "
                        "JSON): the fit to the keypoints then assumes a camera on it")
    p.add_argument("--no-refine", action="store_true",
                   help="do not fit the lifted pose back to the keypoints through the camera (--focal's, else one of 65 deg "
                        "across the longer side of the track's image, assumed; kinelift.lifting.refinement)")
    p.add_argument("--person", type=int, default=0, help="which person of a multi-person file (index, default 0)")
    p.add_argument("--fps", type=float, help="frame rate for files that do not store one")
    p.add_argument("--overwrite", action="store_true")
    add_layout_flag(p)
    p.set_defaults(func=run_lift)
    t = sub.add_parser("train-lifter", help="train a lifter from a TOML configuration (see kinelift/lifting/configs)")
    t.add_argument("config", help="TOML file with [model], [loss], [data], [training] tables")
    t.add_argument("--out-dir", help="override [training] out_dir")
    t.add_argument("--steps", type=int, help="override [training] steps")
    t.add_argument("--device", help="override [training] device (auto, cpu, cuda, cuda:1)")
    t.add_argument("--no-resume", action="store_true", help="start afresh even if out_dir has a checkpoint")
    t.set_defaults(func=run_train)
    m = sub.add_parser("motion-library", help="build the lifter's real motion library (motion capture on the built-in model)")
    m.add_argument("--data", default="../shared/data", help="the shared data folder (default ../shared/data)")
    m.add_argument("--out", default="build/motion_library", help="output folder (default build/motion_library)")
    m.add_argument("--max-rms", type=float, default=30.0, help="most weighted RMS marker residual of a kept frame, mm (default 30)")
    m.add_argument("--sources", nargs="+", default=["ui-prmd", "cmu", "opensim"], help="ui-prmd, cmu, opensim (default all)")
    m.add_argument("--overwrite", action="store_true", help="replace an existing library")
    m.set_defaults(func=run_motion_library)


def run_lift(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kinelift.io import read_tracks
    from kinelift.io._atomic import check_output_folder
    from kinelift.lifting import Intrinsics, lift

    check_output_folder(args.out)  # before the lift: a wrong --out costs nothing
    tracks = read_tracks(args.input, fps=args.fps, **reader_options(args))
    if not 0 <= args.person < len(tracks):
        raise ValueRangeError("--person", expected=f"an index below {len(tracks)} (persons in {args.input})", got=args.person)
    if (args.focal is None) != (args.principal_point is None):
        raise ValueRangeError("--focal/--principal-point", expected="both or neither", got=(args.focal, args.principal_point))
    intrinsics = Intrinsics(args.focal, tuple(args.principal_point)) if args.focal is not None else None
    track = tracks[args.person] if args.image_size is None else tracks[args.person].with_image_size(*args.image_size)
    result = lift(track, lifter=args.lifter, height=args.height, intrinsics=intrinsics, refine=None if not args.no_refine else False)
    paths = result.write(args.out, stem=Path(args.input).stem, overwrite=args.overwrite)
    print(f"lifted {result.n_frames} frames; height {result.height:.2f} m")
    for kind, path in paths.items():
        print(f"  {kind}: {path}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from kinelift.io.toml_config import replace_given
    from kinelift.lifting.config import load_config
    from kinelift.lifting.training import train_lifter

    setup = load_config(args.config)
    setup = dataclasses.replace(setup, training=replace_given(setup.training, out_dir=args.out_dir, steps=args.steps, device=args.device))
    result = train_lifter(setup, progress=sys.stderr.isatty(), resume=not args.no_resume)
    print(f"trained {result.steps} steps; weights: {result.weights}")
    for key in ("mpjpe_mm", "pa_mpjpe_mm", "mean_angle_rmse_deg"):
        if key in result.metrics:
            print(f"  held-out {key}: {result.metrics[key]:.2f}")
    return 0


def run_motion_library(args: argparse.Namespace) -> int:
    from collections import defaultdict

    import numpy as np

    from kinelift.pipeline.motion_library import build_motion_library

    if not args.max_rms > 0:
        raise ValueRangeError("--max-rms", expected="> 0 (mm)", got=args.max_rms)
    motions = build_motion_library(args.data, args.out, max_rms=args.max_rms / 1000.0, overwrite=args.overwrite,
                                   sources=tuple(args.sources), progress=sys.stderr.isatty())  # fmt: skip
    by_source: dict[str, list] = defaultdict(list)
    for m in motions:
        by_source[m.source].append(m)
    print(f"{len(motions)} motions in {args.out}")
    for source, ms in sorted(by_source.items()):
        frames = sum(len(m.coordinates) for m in ms)
        rms = [m.residual_rms_mm for m in ms if np.isfinite(m.residual_rms_mm)]
        residual = f"residual RMS median {np.median(rms):.1f} mm (worst motion {max(rms):.1f} mm)" if rms else "residual not known (coordinate files)"
        print(f"  {source}: {len(ms)} motions, {frames} frames, {sum(m.dropped_frames for m in ms)} frames dropped; {residual}")
    return 0
