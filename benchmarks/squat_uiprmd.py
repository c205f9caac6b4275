"""Leave-one-subject-out squat-form classification on UI-PRMD deep squats (correct vs incorrect).

Two feature sets per repetition, from its Vicon markers (39, metres) or, with ``--sensor kinect``,
its Kinect joints (22, made absolute by ``uiprmd_kinect_positions``):
- ``kinematics``: the per-frame columns of ``squat_feature_series`` (3D joint angles, pelvis drop,
  knee/ankle width ratio, head tilt, wrist height); Vicon markers become keypoints first
  (``plug_in_gait_keypoints``: Harrington hip centres);
- ``distances``: a temporal distance matrix (all pairwise point distances per frame, divided by
  the repetition's median largest distance).
Each classifier is trained on all subjects but one and tested on the held-out one; a
``-group`` classifier standardises features within each subject (the held-out subject's
repetitions, unlabelled, as one group: see ``kinelift.analysis.classify.estimators``). Prints the
accuracy per held-out subject, the pooled accuracy, and the sensitivity and specificity of
"correct" (specificity: the share of incorrect repetitions called incorrect).

    python benchmarks/squat_uiprmd.py [--data DIR] [--sensor vicon|kinect] [--features a,b] [--classifiers a,b] [--epochs N] [--out DIR]

``--data`` is any folder in UI-PRMD's layout (default ../shared/data/ui-prmd-deep-squat).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from kinelift.analysis.classify import SequenceClassifier, SummaryFeatureClassifier, leave_one_group_out, load_uiprmd, plot_evaluation
from kinelift.analysis.distances import temporal_distance_matrix
from kinelift.analysis.marker_sets import plug_in_gait_keypoints
from kinelift.analysis.squat_features import squat_feature_series

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ui-prmd-deep-squat"
CLASSIFIERS = ("summary", "summary-group", "resnet", "resnet-group", "resnet-simple", "resnet-simple-group", "bilstm", "bilstm-group")


def make_estimator(name: str, epochs: int):
    group = "group" if name.endswith("-group") else "none"
    base = name.removesuffix("-group")
    if base == "summary":
        return SummaryFeatureClassifier(C="auto", group_normalization=group)
    return SequenceClassifier(base, epochs=epochs, group_normalization=group)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--sensor", choices=("vicon", "kinect"), default="vicon")
    parser.add_argument("--features", default="kinematics,distances")
    parser.add_argument("--classifiers", default=",".join(CLASSIFIERS), help=f"any of {','.join(CLASSIFIERS)}")
    parser.add_argument("--out", type=Path, default=None, help="folder for confusion/ROC plots")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not args.data.is_dir():
        print(f"UI-PRMD folder not found: {args.data} (pass --data)", file=sys.stderr)
        return 2
    unknown = [c for c in args.classifiers.split(",") if c not in CLASSIFIERS]
    if unknown:
        print(f"unknown classifiers {unknown}; choose from {CLASSIFIERS}", file=sys.stderr)
        return 2
    data = load_uiprmd(args.data, sensor=args.sensor, as_tracks=True)
    print(f"UI-PRMD deep squat, {args.sensor}: {len(data.sequences)} repetitions ({(data.labels == 'correct').sum()} correct), "
          f"subjects {sorted(set(data.groups.tolist()))}")  # fmt: skip
    for features in args.features.split(","):
        if features == "kinematics":
            keypoints = [plug_in_gait_keypoints(t, up="z") for t in data.sequences] if args.sensor == "vicon" else data.sequences
            X = [squat_feature_series(k, up=k.metadata["up"]).values for k in keypoints]
        elif features == "distances":
            X = [temporal_distance_matrix(t.positions, method="sequence") for t in data.sequences]
        else:
            print(f"unknown feature set {features!r}: kinematics or distances", file=sys.stderr)
            return 2
        print(f"\nfeatures: {features} ({X[0].shape[1]} per frame)")
        for name in args.classifiers.split(","):
            start = time.perf_counter()
            result = leave_one_group_out(make_estimator(name, args.epochs), X, data.labels, data.groups, progress=False)
            ev = result.pooled
            per = "  ".join(f"s{g:02d} {a:.2f}" for g, a in result.per_group.items())
            print(f"{name:20s} {per}  | overall {ev.accuracy:.3f}  correct: sensitivity {ev.sensitivity:.3f} "
                  f"specificity {ev.specificity:.3f}  AUC {ev.auc:.3f}  ({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
            if args.out is not None:
                args.out.mkdir(parents=True, exist_ok=True)
                plot_evaluation(ev, args.out / f"uiprmd_{args.sensor}_{features}_{name}.png", title=f"{name} ({features})", overwrite=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
