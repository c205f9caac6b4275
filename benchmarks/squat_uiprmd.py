"""Leave-one-subject-out squat-form classification on UI-PRMD deep squats (correct vs incorrect).

Every repetition's Vicon markers (39, metres) become a temporal distance matrix (741 pairwise
distances per frame, divided by the repetition's median largest distance); each classifier is
trained on all subjects but one and tested on the held-out one. Prints the accuracy per held-out
subject, the pooled accuracy, and the sensitivity and specificity of "correct" (specificity: the
share of incorrect repetitions called incorrect).

    python benchmarks/squat_uiprmd.py [--data DIR] [--epochs N] [--out DIR] [--classifiers a,b]

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

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ui-prmd-deep-squat"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--classifiers", default="summary,resnet,resnet-simple,bilstm")
    parser.add_argument("--out", type=Path, default=None, help="folder for confusion/ROC plots")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not args.data.is_dir():
        print(f"UI-PRMD folder not found: {args.data} (pass --data)", file=sys.stderr)
        return 2
    data = load_uiprmd(args.data)
    X = [temporal_distance_matrix(p, method="sequence") for p in data.sequences]
    print(f"UI-PRMD deep squat: {len(X)} repetitions ({(data.labels == 'correct').sum()} correct), "
          f"subjects {sorted(set(data.groups.tolist()))}, {X[0].shape[1]} distance features")  # fmt: skip
    estimators = {
        "summary": SummaryFeatureClassifier(C=0.1),
        "resnet": SequenceClassifier("resnet", epochs=args.epochs),
        "resnet-simple": SequenceClassifier("resnet-simple", epochs=args.epochs),
        "bilstm": SequenceClassifier("bilstm", epochs=args.epochs),
    }
    for name in args.classifiers.split(","):
        start = time.perf_counter()
        result = leave_one_group_out(estimators[name], X, data.labels, data.groups, progress=False)
        ev = result.pooled
        per = "  ".join(f"s{g:02d} {a:.2f}" for g, a in result.per_group.items())
        print(f"{name:14s} {per}  | overall {ev.accuracy:.3f}  correct: sensitivity {ev.sensitivity:.3f} "
              f"specificity {ev.specificity:.3f}  AUC {ev.auc:.3f}  ({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            plot_evaluation(ev, args.out / f"uiprmd_{name}.png", title=name, overwrite=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
