"""``kinelift squat``: repetitions, metrics, feedback (and a classifier's verdict) of a squat recording."""

from __future__ import annotations

import argparse
import dataclasses
import logging

from kinelift.cli.info import add_layout_flag, reader_options
from kinelift.errors import ValueRangeError

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("squat", help="squat repetitions, metrics and feedback of a track file or a .mot (CSV, HDF5, PNG report)")
    p.add_argument("input", help="any track file kinelift reads (2D or 3D), or a .mot/.sto with --model")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--model", help="OpenSim model (.osim) for a coordinates file (.mot/.sto)")
    p.add_argument("--person", type=int, default=0, help="which person of a multi-person file (index, default 0)")
    p.add_argument("--fps", type=float, help="frame rate for files that do not store one")
    p.add_argument("--view", choices=("auto", "sagittal", "frontal", "3d"), default="auto")
    p.add_argument("--up", choices=("x", "y", "z"), default="y", help="vertical axis of 3D tracks (default y, OpenSim)")
    p.add_argument("--classifier", help="a classifier saved by kinelift.analysis.classify.save_classifier (loading runs no code)")
    p.add_argument("--trust-classifier", action="store_true",
                   help="also read an old pickled classifier file, which runs the code it holds: only a file you made yourself")
    p.add_argument("--no-report", action="store_true", help="skip the PNG report")
    add_layout_flag(p)
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=run)


def _load_tracks(args: argparse.Namespace):
    from kinelift.io import read_tracks
    from kinelift.io.dispatch import detect_format

    if detect_format(args.input) == "mot":
        if not args.model:
            raise ValueRangeError("--model", expected="an .osim model to turn the coordinates file into 3D points", got=None)
        from kinelift.analysis.angles_3d import model_keypoints
        from kinelift.io import read_mot
        from kinelift.skeleton import SkeletalModel

        return model_keypoints(SkeletalModel.from_osim(args.model), read_mot(args.input))
    tracks = read_tracks(args.input, fps=args.fps, **reader_options(args))
    if not 0 <= args.person < len(tracks):
        raise ValueRangeError("--person", expected=f"an index below {len(tracks)} (persons in {args.input})", got=args.person)
    return tracks[args.person]


def run(args: argparse.Namespace) -> int:
    from kinelift.analysis.squat import analyze_squat
    from kinelift.io._atomic import check_output_folder

    check_output_folder(args.out)  # before the analysis: a wrong --out costs nothing
    tracks = _load_tracks(args)
    result = analyze_squat(tracks, view=args.view, up=args.up, progress=True)
    if args.classifier:
        from kinelift.analysis.classify import load_classifier

        saved = load_classifier(args.classifier, trusted=args.trust_classifier)
        if result.repetitions:
            labels, proba = saved.classify(tracks, [(r.start, r.end) for r in result.repetitions])
            feedback = result.feedback.assign(classifier_label=labels, classifier_probability=proba.max(axis=1))
            result = dataclasses.replace(result, feedback=feedback)
    paths = result.write(args.out, overwrite=args.overwrite, report=not args.no_report)
    print(result.summary())
    print("outputs: " + ", ".join(str(p) for p in paths.values()))
    return 0
