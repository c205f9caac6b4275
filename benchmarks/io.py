"""Reading speed of TRC and MOT files: kinelift against OpenSim's own adapters, in the same run.

Usage: python benchmarks/io.py [--data ../shared/data] [--repeat 5]

Prints rows per second for each reader and the ratio kinelift / OpenSim, on the real files of
../shared/data (skipped with a message when the folder or the opensim package is absent).
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

from _timing import best_time  # benchmarks/_timing.py (scripts run from benchmarks/ on sys.path)
from kinelift.io import read_mot, read_trc

FILES = {
    "trc": "opensim-models/Pipelines/Gait2392_Simbody/subject01_walk1.trc",
    "mot": "opencap-squat/Moco/exampleSquat/squats1_videoAndMocap.mot",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    try:
        import opensim as osim
    except ImportError:
        print("opensim is not installed: pip install opensim (the peer of this benchmark)")
        return 0
    data = Path(args.data)
    print(f"{'file':6} {'rows':>6} {'kinelift rows/s':>16} {'OpenSim rows/s':>15} {'ratio':>7}")
    for kind, relative in FILES.items():
        path = data / relative
        if not path.exists():
            print(f"{kind}: {path} not present, skipped")
            continue
        ours_reader, peer_reader = (read_trc, osim.TimeSeriesTableVec3) if kind == "trc" else (read_mot, osim.TimeSeriesTable)
        rows = ours_reader(path).n_frames
        ours, peer = partial(ours_reader, path), partial(peer_reader, str(path))
        t_ours, t_peer = best_time(ours, args.repeat, warmup=False), best_time(peer, args.repeat, warmup=False)
        print(f"{kind:6} {rows:6d} {rows / t_ours:16.0f} {rows / t_peer:15.0f} {t_peer / t_ours:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
