"""``kinelift run``: the main job on one or many inputs (Dask for many, on this machine or a cluster)."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="video or track file(s) -> OpenSim kinematics, angles, squat assessment, figures")
    p.add_argument("inputs", nargs="+", help="video files, frame folders or track files")
    p.add_argument("--out", required=True, help="output folder (one subfolder per input when there are several)")
    p.add_argument("--config", help="TOML file with a [run] table (kinelift.pipeline.RunConfig)")
    p.add_argument("--model", help="OpenSim model (.osim) to fit to the lifted keypoints (default: the built-in model)")
    p.add_argument("--height", type=float, help="subject height in metres")
    p.add_argument("--fps", type=float, help="frame rate of files or frame folders that store none")
    p.add_argument("--max-fps", type=float, help="read a faster video thinned to about this many frames per second (default 30, "
                   "the lifters' rate; 0: every frame)")
    p.add_argument("--workers", type=int, help="run the inputs on a local Dask cluster of N worker processes")
    p.add_argument("--scheduler", help="run the inputs on an existing Dask scheduler (tcp://host:8786)")
    p.add_argument("--keypoint-set", help="the layout of an OpenPose folder's 75 values: BODY-25 or BODY-25B (default: from the data)")
    p.add_argument("--detector", help="2D detector of a video: auto (mediapipe when installed, else LSP-14), mediapipe, LSP-14, "
                   "LOWER-6 or a weights file (default auto)")
    p.add_argument("--boxes", help="person boxes for a video: COCO detection results JSON (image_id = frame index) or mediapipe "
                   "(BlazePose's box of its person, for the LSP-14 detector); default: HOG finds people")
    p.add_argument("--person", type=int, help="which person of the input to analyse (index; default: the one seen longest and most clearly)")
    p.add_argument("--person-at", type=float, nargs="+", metavar="PX", help="the person at this point X Y (or in this box X Y WIDTH "
                   "HEIGHT), image pixels, in the first frame where they are seen")
    p.add_argument("--focal", type=float, help="camera focal length in pixels (with --principal-point: follows the pelvis translation)")
    p.add_argument("--principal-point", type=float, nargs=2, metavar=("CX", "CY"), help="principal point in pixels")
    p.add_argument("--image-size", type=int, nargs=2, metavar=("WIDTH", "HEIGHT"),
                   help="frame size in pixels of the video a track file comes from, for files that do not record it (OpenPose's "
                        "JSON): the fit to the 2D then assumes a camera on it")
    p.add_argument("--no-refine", action="store_true", help="do not fit the lifted pose back to the 2D keypoints through the camera "
                   "(--focal's, else one of 65 deg across the longer side of the video's frame, assumed)")
    p.add_argument("--no-video", action="store_true", help="do not write the annotated video of a video input")
    p.add_argument("--overwrite", action="store_true", help="recompute results that exist")
    p.set_defaults(func=run)


def _config(args: argparse.Namespace):
    from kinelift.io.toml_config import replace_given
    from kinelift.pipeline.config import RunConfig, load_run_config

    config = load_run_config(args.config) if args.config else RunConfig()
    principal = tuple(args.principal_point) if args.principal_point is not None else None
    person_at = tuple(args.person_at) if args.person_at is not None else None
    return replace_given(config, model=args.model, height=args.height, fps=args.fps, max_fps=args.max_fps, keypoint_set=args.keypoint_set,
                         person=args.person,
                         person_at=person_at, boxes=args.boxes,
                         detector=args.detector, focal=args.focal, principal_point=principal,
                         image_size=tuple(args.image_size) if args.image_size is not None else None,
                         refine=False if args.no_refine else None, video=False if args.no_video else None)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from kinelift.errors import ValueRangeError

    config = _config(args)
    distributed = args.workers is not None or args.scheduler is not None
    if len(args.inputs) == 1 and not distributed:
        from kinelift.pipeline.run import run as run_one

        print(run_one(args.inputs[0], args.out, config=config, overwrite=args.overwrite, progress=sys.stderr.isatty()).to_text())
        return 0
    from kinelift.batch import dask_executor, process_many

    if args.workers is not None and args.workers < 1:
        raise ValueRangeError("--workers", expected=">= 1", got=args.workers)
    if distributed:
        with dask_executor(workers=args.workers, scheduler=args.scheduler) as executor:
            report = process_many(args.inputs, args.out, executor=executor, config=config, overwrite=args.overwrite,
                                  progress=sys.stderr.isatty())  # fmt: skip
    else:
        report = process_many(args.inputs, args.out, config=config, overwrite=args.overwrite, progress=sys.stderr.isatty())
    print(report.to_text())
    for outcome in report.succeeded:
        print(f"  {outcome.input} -> {outcome.out_dir}")
    return 0 if not report.failed else 1
