"""Forward-kinematics throughput: kinelift against OpenSim's own per-frame loop, in the same run.

Usage: python benchmarks/fk.py [--data ../shared/data] [--frames 10000] [--opensim-frames 500]

For each model (Gait2392 subject01 and Rajagopal2016) it draws coordinate vectors within their
ranges and times:
- OpenSim 4.6: per frame, Coordinate.setValue for every coordinate, Model.realizePosition, and
  Marker.getLocationInGround for every marker (what a Python user of OpenSim does);
- kinelift SkeletalModel (markers materialised, as the OpenSim loop reads them): batched, CPU
  float32 and float64, batch 1 (a Python loop of single frames) and batch 10,000; compiled
  (``model.compiled_fk``) with markers in the usual row-major layout and as a component-major
  view (no transposing copy); and the GPU when torch sees one;
- nimblephysics, per frame (``setPositions``, ``getMarkerWorldPositions``), in a subprocess of
  the interpreter given by ``--nimble-python`` (or ``$KINELIFT_NIMBLE_PYTHON``): nimblephysics needs
  numpy 1.x, so it lives in its own venv (``python -m venv nimble && nimble/bin/pip install
  torch==<the CPU wheel> "numpy<2" nimblephysics``, CPU torch first so pip never pulls CUDA);
  see ``benchmarks/nimble_fk_peer.py``. Without one, a note.
It prints frames per second and the ratio to OpenSim, and checks that kinelift's markers equal
OpenSim's on the frames both computed (max difference in metres).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _timing import best_time  # benchmarks/_timing.py (scripts run from benchmarks/ on sys.path)

from kinelift.skeleton import SkeletalModel
from kinelift.skeleton.opensim_reference import opensim_fk

MODELS = {
    "gait2392 (subject01)": "opensim-models/Models/Gait2392_Simbody/subject01.osim",
    "Rajagopal2016": "opensim-models/Models/Rajagopal/Rajagopal2016.osim",
}


def random_q(model: SkeletalModel, n: int, rng: np.random.Generator) -> np.ndarray:
    r = model.coordinate_ranges.copy()
    r[~np.isfinite(r)] = np.sign(r[~np.isfinite(r)]) * np.pi
    return rng.uniform(r[:, 0], r[:, 1], size=(n, len(r)))


def time_kinelift(model: SkeletalModel, q: torch.Tensor, *, batch: int, repeat: int = 3) -> float:
    """Frames per second of the model over ``q``, ``batch`` frames per call (1: a Python loop of single frames)."""

    def run() -> None:
        chunks = q.unbind(0) if batch == 1 else q.split(batch)
        for chunk in chunks:
            _ = model(chunk).markers
        if q.is_cuda:
            torch.cuda.synchronize()

    with torch.no_grad():
        return q.shape[0] / best_time(run, repeat)


def time_compiled(fk, q: torch.Tensor, repeat: int = 20) -> float:
    """Frames per second of a compiled FK function (already compiled and run once)."""
    with torch.no_grad():
        return q.shape[0] / best_time(lambda: fk(q)["markers"], repeat, warmup=False)


def nimble_peer(python: str, path: Path, model: SkeletalModel, q: np.ndarray) -> tuple[float, float]:
    """Frames per second of nimblephysics on ``q`` (run by ``python``) and its largest marker
    difference to kinelift over the markers both have (the first frames)."""
    with tempfile.TemporaryDirectory() as tmp:
        q_file, out_file = Path(tmp) / "q.npz", Path(tmp) / "nimble.json"
        np.savez(q_file, q=q, names=np.array(model.coordinate_names))
        script = Path(__file__).with_name("nimble_fk_peer.py")
        subprocess.run([python, str(script), str(path), str(q_file), str(out_file)], check=True, capture_output=True)
        result = json.loads(out_file.read_text())
    theirs = np.asarray(result["positions"]).reshape(len(result["positions"]), -1, 3)
    with torch.no_grad():
        ours = model(torch.tensor(q[: len(theirs)])).markers.numpy()
    index = {n: i for i, n in enumerate(model.marker_names)}
    shared = [(k, index[n]) for k, n in enumerate(result["marker_names"]) if n in index]
    error = max(float(np.abs(theirs[:, k] - ours[:, i]).max()) for k, i in shared)
    return result["fps"], error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--opensim-frames", type=int, default=500)
    parser.add_argument("--single-frames", type=int, default=500, help="frames for the batch-1 loop")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows (each compiles ~1 min)")
    parser.add_argument("--nimble-python", default=os.environ.get("KINELIFT_NIMBLE_PYTHON"),
                        help="python of a venv with nimblephysics (numpy 1.x) for the peer column")
    args = parser.parse_args()
    try:
        import opensim as osim

        osim.Logger.setLevelString("error")
    except ImportError:
        osim = None
        print("opensim not installed: OpenSim columns skipped (pip install opensim)")
    if not args.nimble_python:
        print("nimblephysics: no --nimble-python (a venv with nimblephysics and numpy 1.x): column skipped")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, GPU: {torch.cuda.is_available()}")
    rng = np.random.default_rng(0)
    for label, relative in MODELS.items():
        path = Path(args.data) / relative
        if not path.exists():
            print(f"{label}: {path} not present, skipped")
            continue
        model = SkeletalModel.from_osim(path)
        q_np = random_q(model, args.frames, rng)
        print(f"\n{label}: {model.n_coordinates} coordinates, {len(model.marker_names)} markers, {len(model.joint_names)} joints")
        osim_fps = None
        if osim is not None:
            with torch.no_grad():
                sample = model(torch.tensor(q_np[: args.opensim_frames]))
            runs = [opensim_fk(path, sample.coordinates.numpy(), model.coordinate_names, model.marker_names, []) for _ in range(3)]
            ref = runs[0]
            osim_fps = args.opensim_frames / min(r.loop_seconds for r in runs)  # OpenSim's best of three
            ours, ref = sample.markers.numpy(), ref.markers
            print(f"  {'OpenSim per-frame loop (best of 3)':70s} {osim_fps:12.0f} frames/s   (1.0x)   max |kinelift - OpenSim| = {np.abs(ours - ref).max():.1e} m")
        rows = []
        if args.nimble_python:
            fps, error = nimble_peer(args.nimble_python, path, model, q_np[: args.opensim_frames])
            rows.append((f"nimblephysics per-frame loop (max |kinelift - nimble| = {error:.1e} m)", fps))
        for dtype in (torch.float32, torch.float64):
            q = torch.tensor(q_np, dtype=dtype)
            rows.append((f"kinelift CPU {str(dtype)[6:]} batch 1", time_kinelift(model, q[: args.single_frames], batch=1)))
            rows.append((f"kinelift CPU {str(dtype)[6:]} batch {args.frames}", time_kinelift(model, q, batch=args.frames)))
            if not args.no_compile:
                for contiguous, layout in ((True, "row-major"), (False, "component-major view")):
                    fk = model.compiled_fk(outputs=("markers",), contiguous=contiguous)
                    start = time.perf_counter()
                    with torch.no_grad():
                        compiled = fk(q)["markers"]
                    seconds = time.perf_counter() - start
                    error = (compiled - model(q).markers).abs().max().item()
                    rows.append((f"kinelift CPU {str(dtype)[6:]} compiled, {layout} ({seconds:.0f} s to compile)", time_compiled(fk, q)))
                    print(f"  (compiled {str(dtype)[6:]}, {layout}: max difference to eager {error:.1e} m)")
            if dtype == torch.float64:  # the kinematic tree's compiled path, one frame per call (live and streaming use)
                from kinelift.skeleton.compiled import TreeKinematics
                from kinelift.skeleton.tree import KinematicTree

                kin = TreeKinematics(KinematicTree.from_spec(model.spec))
                frames = q_np[: args.single_frames]
                error = max(np.abs(kin.points(f) - model(torch.tensor(f)[None]).markers[0].numpy()).max() for f in frames[:20])
                for label_fn, fn in (("markers", kin.points), ("markers + Jacobian", kin.points_and_jacobian)):
                    seconds = best_time(lambda fn=fn: [fn(f) for f in frames], 3)
                    rows.append((f"kinelift tree, compiled, one frame per call: {label_fn} (max diff {error:.0e} m)", len(frames) / seconds))
            if torch.cuda.is_available():
                qc = q.cuda()
                rows.append((f"kinelift GPU {str(dtype)[6:]} batch {args.frames}", time_kinelift(model, qc, batch=args.frames)))
        for name, fps in rows:
            ratio = f"{fps / osim_fps:8.1f}x" if osim_fps else ""
            print(f"  {name:70s} {fps:12.0f} frames/s {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
