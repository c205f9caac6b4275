"""Forward-kinematics throughput: kinelift against OpenSim's own per-frame loop, in the same run.

Usage: python benchmarks/fk.py [--data ../shared/data] [--frames 10000] [--opensim-frames 500]

For each model (Gait2392 subject01 and Rajagopal2016) it draws coordinate vectors within their
ranges and times:
- OpenSim 4.6: per frame, Coordinate.setValue for every coordinate, Model.realizePosition, and
  Marker.getLocationInGround for every marker (what a Python user of OpenSim does);
- kinelift SkeletalModel (markers materialised, as the OpenSim loop reads them): batched, CPU
  float32 and float64, batch 1 (a Python loop of single frames) and batch 10,000; and the GPU when
  torch sees one;
- nimblephysics when it is importable in this environment (it needs numpy 1.x: run this script
  from a venv that has it), else a note.
It prints frames per second and the ratio to OpenSim, and checks that kinelift's markers equal
OpenSim's on the frames both computed (max difference in metres).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

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
    best = np.inf
    with torch.no_grad():
        _ = model(q[:batch]).markers  # warm-up
        for _ in range(repeat):
            if q.is_cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            if batch == 1:
                for i in range(q.shape[0]):
                    _ = model(q[i]).markers
            else:
                for s in range(0, q.shape[0], batch):
                    _ = model(q[s : s + batch]).markers
            if q.is_cuda:
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - start)
    return q.shape[0] / best


def time_compiled(fk, q: torch.Tensor, repeat: int = 5) -> float:
    best = np.inf
    with torch.no_grad():
        for _ in range(repeat):
            start = time.perf_counter()
            _ = fk(q)["markers"]
            best = min(best, time.perf_counter() - start)
    return q.shape[0] / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--opensim-frames", type=int, default=500)
    parser.add_argument("--single-frames", type=int, default=500, help="frames for the batch-1 loop")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows (each compiles ~1 min)")
    args = parser.parse_args()
    try:
        import opensim as osim

        osim.Logger.setLevelString("error")
    except ImportError:
        osim = None
        print("opensim not installed: OpenSim columns skipped (pip install opensim)")
    try:
        import nimblephysics  # noqa: F401

        print("nimblephysics found, but its model loading of these .osim files is not wired here yet; column skipped")
    except ImportError:
        print("nimblephysics not importable in this environment (needs numpy 1.x in its own venv): column skipped")
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
            ref = opensim_fk(path, sample.coordinates.numpy(), model.coordinate_names, model.marker_names, [])
            osim_fps = args.opensim_frames / ref.loop_seconds
            ours, ref = sample.markers.numpy(), ref.markers
            print(f"  {'OpenSim per-frame loop':34s} {osim_fps:12.0f} frames/s   (1.0x)   max |kinelift - OpenSim| = {np.abs(ours - ref).max():.1e} m")
        rows = []
        for dtype in (torch.float32, torch.float64):
            q = torch.tensor(q_np, dtype=dtype)
            rows.append((f"kinelift CPU {str(dtype)[6:]} batch 1", time_kinelift(model, q[: args.single_frames], batch=1)))
            rows.append((f"kinelift CPU {str(dtype)[6:]} batch {args.frames}", time_kinelift(model, q, batch=args.frames)))
            if not args.no_compile:
                fk = model.compiled_fk(outputs=("markers",))
                start = time.perf_counter()
                with torch.no_grad():
                    compiled = fk(q)["markers"]
                seconds = time.perf_counter() - start
                error = (compiled - model(q).markers).abs().max().item()
                rows.append((f"kinelift CPU {str(dtype)[6:]} compiled ({seconds:.0f} s)", time_compiled(fk, q)))
                print(f"  (compiled {str(dtype)[6:]}: max difference to eager {error:.1e} m)")
            if torch.cuda.is_available():
                qc = q.cuda()
                rows.append((f"kinelift GPU {str(dtype)[6:]} batch {args.frames}", time_kinelift(model, qc, batch=args.frames)))
        for name, fps in rows:
            ratio = f"{fps / osim_fps:8.1f}x" if osim_fps else ""
            print(f"  {name:34s} {fps:12.0f} frames/s {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
