"""Inverse-kinematics speed and accuracy: kinelift against OpenSim's InverseKinematicsTool, same run.

Usage: python benchmarks/ik.py [--data ../shared/data] [--long 8]

Trials: OpenSim's IK regression test (gait2354, 73 frames) and the Gait2392 walk (121 frames,
real markers). For each, both tools run the same setup file with the same model; the script
prints wall time (model loading included for both), frames per second, the ratio, and each
tool's largest coordinate difference (deg) from OpenSim's reference result. ``--long N`` also
runs the walk repeated N times end to end (one long trial, the same for both tools), where
kinelift's batching pays.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kinelift.ik import IKOptions, read_ik_setup, run_ik_setup
from kinelift.io.mot import read_mot
from kinelift.io.trc import read_trc, write_trc
from kinelift.skeleton import SkeletalModel

TRIALS = {
    "regression test (gait2354)": (
        "opensim-core-tests/Applications/IK/tests/resources/subject01_Setup_InverseKinematics.xml", None,
        "opensim-core-tests/Applications/IK/tests/resources/std_subject01_walk1_ik.mot",
    ),
    "Gait2392 walk": (
        "opensim-models/Pipelines/Gait2392_Simbody/subject01_Setup_IK.xml",
        "opensim-models/Pipelines/Gait2392_Simbody/OutputReference/subject01_simbody.osim",
        "opensim-models/Pipelines/Gait2392_Simbody/OutputReference/subject01_walk1_ik.mot",
    ),
}  # fmt: skip


def run_opensim(setup: Path, model: Path, marker_file: Path | None, out: Path, time_range=None) -> float:
    import opensim as osim

    tool = osim.InverseKinematicsTool(str(setup))
    tool.set_model_file(str(model))
    if marker_file is not None:
        tool.setMarkerDataFileName(str(marker_file))
    if time_range is not None:
        tool.setStartTime(time_range[0])
        tool.setEndTime(time_range[1])
    tool.setResultsDir(str(out.parent))
    tool.setOutputMotionFileName(str(out))
    start = time.perf_counter()
    if not tool.run():
        raise RuntimeError(f"OpenSim IK failed on {setup}")
    return time.perf_counter() - start


def max_deg_error(model: SkeletalModel, mot: Path, reference, time: np.ndarray) -> float:
    table = read_mot(mot, in_degrees=True) if "std_" in str(mot) else read_mot(mot)
    q = model.coordinates_from_table(table).numpy()
    rows = [int(np.argmin(np.abs(table.time - t))) for t in time]
    units = model.coordinate_units
    rot = [i for i, n in enumerate(model.coordinate_names) if units[n] == "rad"]
    return float(np.rad2deg(np.abs(q[rows] - reference[: len(rows)]))[:, rot].max())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    parser.add_argument("--long", type=int, default=8, help="repeat the walk this many times for a long trial (0: skip)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    try:
        import opensim as osim
    except ImportError:
        print("the opensim package is needed for the comparison (pip install opensim)")
        return 1
    osim.Logger.setLevelString("error")
    osim.Logger.removeFileSink()
    data = Path(args.data)
    print(f"torch threads: {__import__('torch').get_num_threads()}, CPU only")
    options = IKOptions(progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, (setup_rel, model_rel, ref_rel) in TRIALS.items():
            setup = data / setup_rel
            model_file = data / model_rel if model_rel else read_ik_setup(setup).model_file
            model = SkeletalModel.from_osim(model_file)
            ref_table = read_mot(data / ref_rel, in_degrees=True)
            reference = model.coordinates_from_table(ref_table).numpy()
            t_os = run_opensim(setup, model_file, None, tmp / "os.mot")
            run_ik_setup(setup, model_file=model_file, output_motion_file=tmp / "warm.mot", results_directory=tmp, overwrite=True, options=options)
            start = time.perf_counter()
            result = run_ik_setup(setup, model_file=model_file, output_motion_file=tmp / "kl.mot", results_directory=tmp, overwrite=True, options=options)
            t_kl = time.perf_counter() - start
            rows = [int(np.argmin(np.abs(ref_table.time - t))) for t in result.time]
            n = result.n_frames
            e_os = max_deg_error(model, tmp / "os.mot", reference[rows], result.time)
            e_kl = max_deg_error(model, tmp / "kl.mot", reference[rows], result.time)
            print(f"{name}: {n} frames | OpenSim {t_os:.3f} s ({n / t_os:,.0f} fr/s), max {e_os:.4f} deg from reference | "
                  f"kinelift {t_kl:.3f} s ({n / t_kl:,.0f} fr/s; solve {result.seconds:.3f} s), max {e_kl:.4f} deg | ratio {t_os / t_kl:.2f}x")  # fmt: skip
        if args.long > 0:
            setup = data / TRIALS["Gait2392 walk"][0]
            model_file = data / TRIALS["Gait2392 walk"][1]
            s = read_ik_setup(setup)
            walk = read_trc(s.marker_file).between(*s.time_range)
            xyz = np.concatenate([np.asarray(walk.positions)] * args.long)
            dt = 1.0 / walk.fps
            long = walk.replace(positions=xyz, time=np.arange(len(xyz)) * dt, confidence=np.concatenate([np.asarray(walk.confidence)] * args.long))
            write_trc(long, tmp / "long.trc")
            rng = (0.0, float(long.time[-1]))
            t_os = run_opensim(setup, model_file, tmp / "long.trc", tmp / "os_long.mot", rng)
            from kinelift.ik import inverse_kinematics

            model = SkeletalModel.from_osim(model_file)
            start = time.perf_counter()
            result = inverse_kinematics(model, read_trc(tmp / "long.trc"), tasks=s.tasks, options=options)
            t_kl = time.perf_counter() - start
            n = result.n_frames
            q_os = model.coordinates_from_table(read_mot(tmp / "os_long.mot")).numpy()
            rot = [i for i, u in enumerate(result.coordinate_units) if u == "rad"]
            diff = np.rad2deg(np.abs(q_os - result.coordinates))[:, rot].max()
            print(f"walk x{args.long} ({n} frames): OpenSim {t_os:.2f} s ({n / t_os:,.0f} fr/s) | kinelift {t_kl:.2f} s "
                  f"({n / t_kl:,.0f} fr/s) | ratio {t_os / t_kl:.2f}x | max difference {diff:.4f} deg")  # fmt: skip
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    sys.exit(main())
