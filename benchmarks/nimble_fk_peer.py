"""nimblephysics forward kinematics, timed per frame: the peer that ``benchmarks/fk.py`` runs in a
subprocess, because nimblephysics needs numpy 1.x (it crashes under numpy 2) and so lives in its own
virtual environment.

    /path/to/nimble-venv/bin/python benchmarks/nimble_fk_peer.py MODEL.osim Q.npz OUT.json

``Q.npz`` holds ``q`` (frames, coordinates) and ``names`` (the coordinate names of its columns). For
every frame it sets the skeleton's positions (matched to ``q``'s columns by name; a degree of freedom
that ``q`` lacks keeps its default) and reads every marker's world position, the loop a Python user of
nimblephysics writes. ``OUT.json`` gets the frames per second, the marker names and the positions of
the first frames (for the accuracy check in fk.py). This file imports neither kinelift nor numpy 2.
"""

from __future__ import annotations

import json
import sys
import time


def main(model_path: str, q_path: str, out_path: str, check_frames: int = 50) -> int:
    import nimblephysics as nimble
    import numpy as np

    data = np.load(q_path)
    q, names = data["q"], [str(n) for n in data["names"]]
    parsed = nimble.biomechanics.OpenSimParser.parseOsim(model_path)
    skel = parsed.skeleton
    dofs = [d.getName() for d in skel.getDofs()]
    column = {n: i for i, n in enumerate(names)}
    matched = [(k, column[n]) for k, n in enumerate(dofs) if n in column]
    marker_names = list(parsed.markersMap.keys())
    markers = [parsed.markersMap[n] for n in marker_names]
    default = np.asarray(skel.getPositions(), dtype=np.float64)
    rows = np.tile(default, (len(q), 1))
    for k, i in matched:
        rows[:, k] = q[:, i]
    positions = np.empty((min(check_frames, len(q)), len(markers) * 3))
    start = time.perf_counter()
    for f in range(len(rows)):
        skel.setPositions(rows[f])
        x = skel.getMarkerWorldPositions(markers)
        if f < len(positions):
            positions[f] = x
    seconds = time.perf_counter() - start
    result = {"fps": len(rows) / seconds, "marker_names": marker_names, "positions": positions.tolist(),
              "unmatched_dofs": [n for n in dofs if n not in column], "version": getattr(nimble, "__version__", "?")}  # fmt: skip
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
