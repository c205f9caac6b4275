"""kinelift's heatmap detector beside MediaPipe's BlazePose on labelled people: PCK@0.2 of the torso.

Usage: python benchmarks/detector_vs_mediapipe.py [--weights LSP-14 ...] [--first 801 --last 1000] [--complexity 1 2]

On LSP images ``im{first}``..``im{last}`` of ../shared/data/lsp-train (im0801-im1000: the
validation people no shipped detector trained on), prints for every detector the PCK@0.2 of the
torso (LSP's rule: within 0.2 of the right-shoulder-to-left-hip distance) over the lower body
(hips, knees, ankles: the issue's figure) and over the twelve joints both sets have (the head and
neck are not MediaPipe landmarks):

- kinelift's detectors (``--weights``: shipped names or weights files) as ``kinelift
  eval-detector`` scores them: top-down on the labelled person's box, with flip test;
- MediaPipe's BlazePose (``mp.solutions.pose``, ``static_image_mode=True``, each model complexity
  given; the mediapipe 0.10.14 wheel bundles only the full model, 1: lite and heavy are fetched
  from the internet on first use and are reported as not available offline), which finds its
  person itself: once on the same region (the labelled box grown by
  ``--margin`` about its centre, clipped to the image) and once on the whole image. An image
  where it finds nobody counts every joint as missed. Landmarks are mapped to LSP's joints by name
  (both name sides from the person's point of view).

`mediapipe` pulls opencv-contrib-python, which clashes with opencv-python-headless in one
environment: run this script from a separate environment for the MediaPipe rows; without
mediapipe they are skipped with a line saying so.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
from pathlib import Path

import numpy as np

from kinelift.core import get_keypoint_set
from kinelift.detect import evaluate_detector, load_detector
from kinelift.detect.crops import build_crops, read_image
from kinelift.detect.datasets import LOWER_BODY, PoseSamples, read_lsp
from kinelift.detect.metrics import pck, torso_sizes

LSP = Path(__file__).resolve().parents[2] / "shared" / "data" / "lsp-train"


def _mediapipe_points(samples: PoseSamples, *, complexity: int, margin: float | None) -> np.ndarray:
    """BlazePose's landmarks on each sample's image (``margin``: on the labelled box grown by it;
    None: the whole image), as LSP-14 joints in image pixels ``(N, 14, 2)``, NaN where not found."""
    import mediapipe as mp

    lsp = get_keypoint_set("LSP-14").names
    mp_names = get_keypoint_set("MEDIAPIPE-33").names
    pairs = [(i, mp_names.index(n)) for i, n in enumerate(lsp) if n in mp_names]
    out = np.full((len(samples), len(lsp), 2), np.nan)
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=complexity) as pose:
        for k, (path, box) in enumerate(zip(samples.image_paths, samples.boxes)):
            image = read_image(path)
            h, w = image.shape[:2]
            x0, y0, x1, y1 = 0, 0, w, h
            if margin is not None:
                centre, half = box[:2] + box[2:] / 2, box[2:] * margin / 2
                x0, y0 = (int(max(0, np.floor(v))) for v in centre - half)
                x1, y1 = int(min(w, np.ceil(centre[0] + half[0]))), int(min(h, np.ceil(centre[1] + half[1])))
            result = pose.process(np.ascontiguousarray(image[y0:y1, x0:x1]))
            if result.pose_landmarks is None:
                continue
            landmarks = result.pose_landmarks.landmark
            for i, j in pairs:
                out[k, i] = (x0 + landmarks[j].x * (x1 - x0), y0 + landmarks[j].y * (y1 - y0))
    return out


def _scores(predicted: np.ndarray, samples: PoseSamples) -> tuple[float, float, float]:
    """Lower-body PCK@0.2, PCK@0.2 over the joints MediaPipe has, fraction of people found."""
    names = samples.keypoint_set.names
    shared = [i for i, n in enumerate(names) if n not in ("neck", "head_top")]
    lower = samples.keypoint_set.indices(LOWER_BODY)
    threshold = 0.2 * torso_sizes(samples.keypoints, samples.keypoint_set)
    _, lower_pck = pck(predicted[:, lower], samples.keypoints[:, lower], samples.labelled[:, lower], thresholds=threshold)
    _, shared_pck = pck(predicted[:, shared], samples.keypoints[:, shared], samples.labelled[:, shared], thresholds=threshold)
    return lower_pck, shared_pck, float(np.isfinite(predicted[:, lower, 0]).all(axis=1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", nargs="+", default=["LSP-14"], help="kinelift detectors (shipped names or weights files)")
    parser.add_argument("--lsp", default=str(LSP), help="the LSP folder (joints.mat, images/)")
    parser.add_argument("--first", type=int, default=801)
    parser.add_argument("--last", type=int, default=1000)
    parser.add_argument("--complexity", type=int, nargs="+", default=[1],
                        help="BlazePose model complexities (1 full: in the wheel; 0 lite, 2 heavy: downloaded on first use)")
    parser.add_argument("--margin", type=float, default=1.25, help="MediaPipe's region: the labelled box grown by this factor")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not Path(args.lsp).is_dir():
        print(f"{args.lsp} is not on this machine: nothing to measure")
        return
    samples = read_lsp(args.lsp, first=args.first, last=args.last)
    print(f"LSP im{args.first:04d}-im{args.last:04d}: {len(samples)} people; PCK@0.2 of the torso")
    print(f"{'detector':<52} {'lower body':>10} {'12 joints':>10} {'found':>6}")
    for weights in args.weights:
        net = load_detector(weights)
        result = evaluate_detector(net, build_crops(samples, tuple(net.config.input_size), progress=False))
        shared = [n for n in get_keypoint_set(net.config.keypoints).names if n not in ("neck", "head_top")]
        twelve = float(np.mean([result[f"pck02_torso_{n}"] for n in shared]))  # LSP labels every joint: the mean of per-joint PCKs
        label = f"kinelift {weights} (labelled box, flip test)"
        print(f"{label:<52} {result['pck02_torso_lower']:10.3f} {twelve:10.3f} {1.0:6.2f}")
    if importlib.util.find_spec("mediapipe") is None:
        print("mediapipe is not installed: its rows are skipped")
        return
    import mediapipe as mp

    for complexity in args.complexity:
        for margin, where in ((args.margin, f"labelled box x{args.margin:g}"), (None, "whole image")):
            label = f"MediaPipe {mp.__version__} BlazePose c{complexity} ({where})"
            try:
                lower, twelve, found = _scores(_mediapipe_points(samples, complexity=complexity, margin=margin), samples)
            except OSError as err:  # the heavy model is fetched from the internet on first use, which this machine cannot reach
                print(f"{label:<52} not available offline ({type(err).__name__}: {err})")
                break
            print(f"{label:<52} {lower:10.3f} {twelve:10.3f} {found:6.2f}")


if __name__ == "__main__":
    main()
