"""Squat-form classification from one camera against the same from motion capture, on real squats (UI-PRMD).

Usage: python benchmarks/squat_form_from_video.py [--library build/motion_library] [--cameras 1] [--seed 0]

The motion library's UI-PRMD deep squats (`kinelift motion-library`: each repetition's Vicon markers
fitted by the built-in model; 7 subjects, about 10 correct and 10 incorrect repetitions each,
repetitions the fit had to cut in parts left out) are classified correct or incorrect twice, with
the same features and classifier (`squat_feature_series` of the model's anatomical points,
`SummaryFeatureClassifier` standardised within each subject, as `benchmarks/squat_uiprmd.py`'s
"summary-group", leave one subject out):

- motion capture: the fitted model's points (the reference);
- one camera: each repetition rendered by `kinelift.lifting.data.render_clip` as COCO-17 keypoints
  with detector-like noise through `--cameras` cameras drawn as the lifters' training draws them
  (each with its own body size), lifted by `kinelift.lift`'s default (COCO-17+LOWER-6, fitted
  through the camera it assumes from the image size), and read the same way.

Printed: the accuracy per held-out subject and pooled, the sensitivity and specificity of
"correct", and the same for the subjects the lifters never trained on (s06, s07; the lifters
trained on s01-s05's motion, so their rows flatter the one-camera route). A third row trains on
motion capture and tests on one camera (a classifier built from lab data applied to video).
"""

from __future__ import annotations

import argparse
import logging
import re
import time
from pathlib import Path

import numpy as np

from kinelift.analysis import model_keypoints
from kinelift.analysis.classify import Evaluation, SummaryFeatureClassifier, evaluate_predictions, leave_one_group_out
from kinelift.analysis.squat_features import squat_feature_series
from kinelift.core.table import TimeSeriesTable
from kinelift.lifting import lift
from kinelift.lifting.data import render_clip
from kinelift.lifting.motions import read_motion_library
from kinelift.skeleton import SkeletalModel
from kinelift.skeleton.builtin import builtin_model

DEEP_SQUAT = re.compile(r"^uiprmd_m01_s(\d+)_e(\d+)(_inc)?$")
LIFTER_HELD_OUT = {6, 7}


def _features(model: SkeletalModel, time: np.ndarray, coordinates: np.ndarray) -> np.ndarray:
    motion = TimeSeriesTable(time, coordinates, model.coordinate_names)
    return squat_feature_series(model_keypoints(model, motion), up="y").values


def _report(label: str, evaluation: Evaluation, predicted: np.ndarray, truth: np.ndarray, groups: np.ndarray) -> None:
    """One row: accuracy per held-out subject, then the pooled evaluation (sensitivity and specificity of "correct")."""
    per = "  ".join(f"s{g:02d} {np.mean(predicted[groups == g] == truth[groups == g]):.2f}" for g in np.unique(groups))
    held = np.isin(groups, list(LIFTER_HELD_OUT))
    print(f"{label:<44} {per}  | overall {evaluation.accuracy:.3f} (sensitivity {evaluation.sensitivity:.3f}, specificity "
          f"{evaluation.specificity:.3f}); s06-s07 {np.mean(predicted[held] == truth[held]):.3f}; AUC {evaluation.auc:.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", default="build/motion_library")
    parser.add_argument("--cameras", type=int, default=1, help="renderings (cameras) per repetition")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if not (Path(args.library) / "index.csv").is_file():
        print(f"{args.library} holds no motion library (kinelift motion-library builds it): nothing to measure")
        return
    motions = [m for m in read_motion_library(args.library, fps=30.0) if DEEP_SQUAT.match(m.name)]
    if not motions:
        print(f"{args.library} holds no UI-PRMD deep squats: nothing to measure")
        return
    model = builtin_model(arms=True)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    labels, groups, reference, lifted = [], [], [], []
    for motion in motions:
        subject, _, incorrect = DEEP_SQUAT.match(motion.name).groups()
        t = np.arange(motion.n_frames) / motion.fps
        ref = _features(model, t, motion.coordinates)
        for _ in range(args.cameras):
            clip = render_clip(motion, "COCO-17", rng=rng, speed=1.0)
            result = lift(clip.tracks)
            seen = result.seen
            if seen is not None and not seen.all():
                continue
            labels.append("incorrect" if incorrect else "correct")
            groups.append(int(subject))
            reference.append(ref)
            lifted.append(_features(SkeletalModel.from_spec(result.model), result.time, result.coordinates))
    labels_a, groups_a = np.array(labels), np.array(groups)
    print(f"UI-PRMD deep squats from the motion library: {len(labels)} renderings of {len(motions)} repetitions "
          f"({np.sum(labels_a == 'correct')} correct), subjects {sorted(set(groups))}; lifted in {time.perf_counter() - start:.0f} s")  # fmt: skip
    print("summary-group classifier, leave one subject out; accuracy per held-out subject")
    for name, X in (("motion capture (the fitted model's points)", reference), ("one camera (lifted from detector-like 2D)", lifted)):
        result = leave_one_group_out(SummaryFeatureClassifier(C="auto", group_normalization="group"), X, labels_a, groups_a, progress=False)
        _report(name, result.pooled, result.predictions.astype(str), labels_a, groups_a)
    classes = np.unique(labels_a)
    proba = np.zeros((len(labels_a), len(classes)))
    for g in np.unique(groups_a):  # trained on the other subjects' motion capture, tested on this subject's lifted repetitions
        test = groups_a == g
        clf = SummaryFeatureClassifier(C="auto", group_normalization="group")
        clf.fit([reference[i] for i in np.flatnonzero(~test)], labels_a[~test], groups=groups_a[~test])
        proba[np.ix_(test, [list(classes).index(c) for c in clf.classes_])] = clf.predict_proba([lifted[i] for i in np.flatnonzero(test)],
                                                                                                groups=groups_a[test])  # fmt: skip
    evaluation = evaluate_predictions(labels_a, proba, classes=classes.tolist())
    _report("trained on motion capture, tested on one camera", evaluation, classes[np.argmax(proba, 1)], labels_a, groups_a)


if __name__ == "__main__":
    main()
