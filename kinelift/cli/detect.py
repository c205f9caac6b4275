"""``kinelift detect``, ``kinelift label-frames``, ``kinelift train-detector`` and ``kinelift eval-detector``."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from kinelift.errors import ValueRangeError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detect", help="2D keypoint tracks from a video or an image folder (shipped detector by default)")
    p.add_argument("input", help="video file or folder of images")
    p.add_argument("--out", required=True, help="track file to write (.h5, .json COCO, .trc, ... by suffix)")
    p.add_argument("--weights", default="LSP-14", help="shipped detector (LSP-14, LOWER-6), a weights file, mediapipe (BlazePose, an optional install) or auto (default LSP-14)")
    p.add_argument("--boxes", help="person boxes: COCO detection results JSON (image_id = frame index) or mediapipe (BlazePose's box "
                   "of its person; the optional install); else HOG finds people")
    p.add_argument("--fps", type=float, help="frame rate of an image folder")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--max-people", type=int, default=4)
    p.add_argument("--min-frames", type=int, default=10, help="drop tracks seen in fewer frames (default 10)")
    p.add_argument("--min-track-confidence", type=float, default=0.3,
                   help="drop tracks whose mean keypoint confidence is lower: background texture (default 0.3)")
    p.add_argument("--min-peak-confidence", type=float, default=0.45,
                   help="drop tracks never seen clearly: the 90th percentile of their frames' mean keypoint confidence is lower "
                        "(background texture; heatmap detectors; default 0.45)")
    p.add_argument("--no-flip", "--no-flip-test", dest="no_flip", action="store_true", help="skip the mirrored second pass (twice as fast, less exact)")
    p.add_argument("--flip-below", type=float, default=0.8,
                   help="read a followed person whose last frames' mean keypoint confidence all lay above this without the mirrored "
                        "pass (1: the mirrored pass on every crop; default 0.8)")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=run_detect)
    f = sub.add_parser("label-frames", help="video frames labelled by tracks (a teacher's, e.g. `kinelift detect --weights mediapipe`): "
                       "training images for a detector ([data] frames)")
    f.add_argument("input", help="video file or folder of images")
    f.add_argument("tracks", help="the tracks that label it (.h5, .json, ... by suffix; 2D pixels, with hips, knees and ankles)")
    f.add_argument("--out", required=True, help="folder to write (labels.json in COCO keypoints format, images/)")
    f.add_argument("--fps", type=float, help="frame rate of an image folder")
    f.add_argument("--tracks-fps", type=float, help="frame rate of a track format that does not store one (OpenPose's JSON folders)")
    f.add_argument("--every", type=int, default=1, help="keep every N-th frame (default 1)")
    f.add_argument("--min-confidence", type=float, default=0.5, help="a point is labelled where its confidence is at least this (default 0.5)")
    f.add_argument("--min-keypoints", type=int, default=8, help="a person is labelled where at least this many of COCO's 17 points are (default 8)")
    f.add_argument("--overwrite", action="store_true")
    f.set_defaults(func=run_label_frames)
    t = sub.add_parser("train-detector", help="train a heatmap detector from a TOML configuration (see kinelift/detect/configs)")
    t.add_argument("config", help="TOML file with [model], [data], [training] tables")
    t.add_argument("--out-dir", help="override [training] out_dir")
    t.add_argument("--epochs", type=int, help="override [training] epochs")
    t.add_argument("--device", help="override [training] device")
    t.add_argument("--no-resume", action="store_true", help="start afresh even if out_dir has a checkpoint")
    t.set_defaults(func=run_train)
    e = sub.add_parser("eval-detector", help="PCK (and COCO OKS AP) of a detector on labelled images (LSP, LSPET or COCO)")
    e.add_argument("dataset", help="an LSP or LSPET folder (images/ + joints.mat), or a COCO keypoints JSON (with --images)")
    e.add_argument("--weights", default="LSP-14", help="shipped detector name or weights file")
    e.add_argument("--images", help="image folder of a COCO JSON")
    e.add_argument("--first", type=int, default=1, help="first LSP image (1-based), e.g. 1001 for the LSP test half")
    e.add_argument("--last", type=int, help="last LSP image (1-based, inclusive)")
    e.add_argument("--device", default="auto")
    e.set_defaults(func=run_eval)


def run_detect(args: argparse.Namespace) -> int:
    from kinelift.detect import detect_tracks
    from kinelift.io import save

    tracks = detect_tracks(args.input, detector=args.weights, boxes=args.boxes, fps=args.fps, device=args.device,
                           batch_size=args.batch_size, max_people=args.max_people, flip=not args.no_flip, flip_below=args.flip_below,
                           min_frames=args.min_frames,
                           min_track_confidence=args.min_track_confidence, min_peak_confidence=args.min_peak_confidence,
                           progress=sys.stderr.isatty())  # fmt: skip
    if not tracks:
        raise ValueRangeError("people", expected=f"at least one person found in {args.input} (tracks shorter than --min-frames, less "
                              "confident than --min-track-confidence or never as confident as --min-peak-confidence are dropped)",
                              got=0)  # fmt: skip
    fmt = save(args.out, tracks=tracks, overwrite=args.overwrite)
    print(f"{len(tracks)} people, {tracks[0].n_frames} frames, {tracks[0].keypoint_set.name} keypoints -> {args.out} ({fmt})")
    return 0


def run_label_frames(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from kinelift.detect.frame_labels import write_frame_labels
    from kinelift.io import read_tracks

    tracks = read_tracks(args.tracks, fps=args.tracks_fps)
    out = write_frame_labels(args.input, tracks, args.out, fps=args.fps, every=args.every, min_confidence=args.min_confidence,
                             min_keypoints=args.min_keypoints, overwrite=args.overwrite, progress=sys.stderr.isatty())  # fmt: skip
    doc = json.loads((Path(out) / "labels.json").read_text())
    print(f"{len(doc['annotations'])} people in {len(doc['images'])} frames -> {out}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from kinelift.detect.config import load_detector_config
    from kinelift.detect.training import train_detector
    from kinelift.io.toml_config import replace_given

    setup = load_detector_config(args.config)
    setup = dataclasses.replace(setup, training=replace_given(setup.training, out_dir=args.out_dir, epochs=args.epochs, device=args.device))
    result = train_detector(setup, progress=sys.stderr.isatty(), resume=not args.no_resume)
    print(f"trained {result.epochs} epochs; weights: {result.weights}")
    for key in ("pck02_torso_lower", "pck02_torso", "pck005", "pck01"):
        if key in result.metrics:
            print(f"  validation {key}: {result.metrics[key]:.3f}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kinelift.detect import evaluate_detector, load_detector
    from kinelift.detect.crops import build_crops
    from kinelift.detect.datasets import read_coco_keypoints, read_lsp, read_lspet

    device = args.device if args.device != "auto" else ("cuda" if __import__("torch").cuda.is_available() else "cpu")
    detector = load_detector(args.weights, device=device)
    path = Path(args.dataset)
    if path.suffix.lower() == ".json":
        if not args.images:
            raise ValueRangeError("--images", expected="the image folder of the COCO JSON", got=None)
        samples = read_coco_keypoints(path, args.images)
    elif len(next(iter(sorted((path / "images").glob("im*.jpg"))), Path("im0000.jpg")).stem) == 7:
        samples = read_lspet(path)
    else:
        samples = read_lsp(path, first=args.first, last=args.last)
    crops = build_crops(samples, detector.config.input_size, extent=1.0, progress=sys.stderr.isatty())
    metrics = evaluate_detector(detector, crops)
    names = [k for k in metrics if k.startswith("pck02_torso_") and k != "pck02_torso_lower"]
    print(f"{len(samples)} people from {path}; detector {detector.config.keypoints} {detector.config.architecture}")
    for key in ("pck02_torso", "pck02_torso_lower", "pck005", "pck005_lower", "pck01", "oks_AP", "oks_AP50", "oks_AP75"):
        if key in metrics:
            print(f"  {key}: {metrics[key]:.3f}")
    for key in names:
        print(f"  {key}: {metrics[key]:.3f}")
    return 0
