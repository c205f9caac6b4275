"""Inverse-kinematics speed and accuracy: kinelift against OpenSim's InverseKinematicsTool, same run.

Usage: python benchmarks/ik.py [--data ../shared/data] [--repeats 3]

One line per trial: OpenSim's frames/s, kinelift's frames/s (the compiled CPU path; the torch
path beside it), ``ratio Nx`` (OpenSim's time over kinelift's), the largest difference from
OpenSim's ``.mot`` (deg, rotational coordinates) and the worst per-frame objective ratio
(kinelift's objective over that of OpenSim's solution, on the same tasks: <= 1 means kinelift
found an equal or better fit in every frame).

Trials: OpenSim's IK regression test (gait2354, 73 frames), the Gait2392 walk (121 frames of real
markers), the walk repeated 8 times (960 frames), and keypoint IK of a lifted clip (kinelift's
compiled path against its torch path; OpenSim has no keypoint IK). Two figures per trial:

* in-process: both tools in this process, warm (models cached by each tool's loader; the best
  of ``--repeats`` runs). OpenSim's time is ``InverseKinematicsTool.run()`` with the model
  object already loaded; kinelift's the solve of :func:`kinelift.ik.inverse_kinematics`, and the
  whole job (read the TRC, solve, write the ``.mot``) beside it;
* whole process: ``kinelift ik --setup`` and a Python process that runs OpenSim's tool on the same
  setup, each started fresh (imports, model loading, numba's cache load included).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kinelift.ik import IKOptions, inverse_kinematics, read_ik_setup, run_ik_setup
from kinelift.ik.problem import build_problem, frame_objectives
from kinelift.io.mot import read_mot
from kinelift.io.trc import read_trc, write_trc
from kinelift.skeleton import SkeletalModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_time  # noqa: E402

TRIALS = {
    "regression test (gait2354)": ("opensim-core-tests/Applications/IK/tests/resources/subject01_Setup_InverseKinematics.xml", None),
    "Gait2392 walk": ("opensim-models/Pipelines/Gait2392_Simbody/subject01_Setup_IK.xml",
                      "opensim-models/Pipelines/Gait2392_Simbody/OutputReference/subject01_simbody.osim"),
}  # fmt: skip

_OPENSIM_CHILD = """
import sys, opensim as osim
osim.Logger.setLevelString("error"); osim.Logger.removeFileSink()
tool = osim.InverseKinematicsTool(sys.argv[1]); tool.set_model_file(sys.argv[2])
tool.setResultsDir(sys.argv[3]); tool.setOutputMotionFileName(sys.argv[3] + "/os_cli.mot")
assert tool.run()
"""


def opensim_tool(setup: Path, model_file: Path, out: Path, marker_file: Path | None = None, end: float | None = None):
    import opensim as osim

    tool = osim.InverseKinematicsTool(str(setup))
    model = osim.Model(str(model_file))
    model.initSystem()
    tool.setModel(model)
    if marker_file is not None:
        tool.setMarkerDataFileName(str(marker_file))
        tool.setStartTime(0.0)
        tool.setEndTime(end)
    tool.setResultsDir(str(out.parent))
    tool.setOutputMotionFileName(str(out))

    def run(keep=(model, tool)) -> None:  # the closure holds the model: OpenSim's tool does not own it
        if not tool.run():
            raise RuntimeError(f"OpenSim IK failed on {setup}")

    return run


def compare(model: SkeletalModel, markers, tasks, time_range, result, opensim_mot: Path) -> tuple[float, float]:
    """Largest rotational difference (deg) from OpenSim's solution and the worst per-frame objective ratio."""
    table = read_mot(opensim_mot)
    q_os = model.coordinates_from_table(table).numpy()
    rows = [int(np.argmin(np.abs(table.time - t))) for t in result.time]
    q_os = q_os[rows]
    rot = [i for i, u in enumerate(result.coordinate_units) if u == "rad"]
    diff = float(np.rad2deg(np.nanmax(np.abs(q_os - result.coordinates)[:, rot])))
    problem = build_problem(model, markers, tasks, time_range=time_range)
    theirs = frame_objectives(model, problem, q_os)
    return diff, float(np.nanmax(result.objective / theirs))


def trial_line(name, n, t_os, t_kl, t_job, t_torch, diff, worst) -> str:
    return (f"{name}: {n} frames | OpenSim {n / t_os:,.0f} fr/s | kinelift {n / t_kl:,.0f} fr/s (job {n / t_job:,.0f}; torch path "
            f"{n / t_torch:,.0f}) | ratio {t_os / t_kl:.0f}x (job {t_os / t_job:.0f}x) | max diff {diff:.4f} deg | "
            f"worst objective ratio {worst:.6f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    parser.add_argument("--repeats", type=int, default=3)
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
    compiled, torch_path = IKOptions(progress=False, backend="compiled"), IKOptions(progress=False, backend="torch")
    print(f"in-process, warm, best of {args.repeats}; CPU: {os.cpu_count()} cores, one used by both tools")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cli_jobs = []
        for name, (setup_rel, model_rel) in TRIALS.items():
            setup = data / setup_rel
            s = read_ik_setup(setup)
            model_file = data / model_rel if model_rel else s.model_file
            model = SkeletalModel.from_osim(model_file)
            markers = read_trc(s.marker_file)
            t_os = best_time(opensim_tool(setup, model_file, tmp / "os.mot"), args.repeats)
            solve = lambda o=compiled: inverse_kinematics(model, markers, tasks=s.tasks, time_range=s.time_range, options=o)  # noqa: E731
            t_kl, t_torch = best_time(solve, args.repeats), best_time(lambda: solve(torch_path), 1)
            job = lambda: run_ik_setup(setup, model_file=model_file, output_motion_file=tmp / "kl.mot", results_directory=tmp,  # noqa: E731
                                       overwrite=True, options=compiled)  # fmt: skip
            t_job = best_time(job, args.repeats)
            result = solve()
            print(trial_line(name, result.n_frames, t_os, t_kl, t_job, t_torch, *compare(model, markers, s.tasks, s.time_range, result, tmp / "os.mot")))
            cli_jobs.append((name, setup, model_file, result.n_frames))
        # the walk eight times over: one long trial, the same for both tools
        setup, model_file = data / TRIALS["Gait2392 walk"][0], data / TRIALS["Gait2392 walk"][1]
        s = read_ik_setup(setup)
        walk = read_trc(s.marker_file).between(*s.time_range)
        xyz = np.concatenate([np.asarray(walk.positions)] * 8)
        long = walk.replace(positions=xyz, time=np.arange(len(xyz)) / walk.fps, confidence=np.concatenate([np.asarray(walk.confidence)] * 8))
        write_trc(long, tmp / "long.trc")
        long = read_trc(tmp / "long.trc")
        end = float(long.time[-1])
        model = SkeletalModel.from_osim(model_file)
        t_os = best_time(opensim_tool(setup, model_file, tmp / "os_long.mot", tmp / "long.trc", end), args.repeats)
        solve = lambda o=compiled: inverse_kinematics(model, long, tasks=s.tasks, options=o)  # noqa: E731
        t_kl, t_torch = best_time(solve, args.repeats), best_time(lambda: solve(torch_path), 1)

        def job() -> None:
            inverse_kinematics(model, read_trc(tmp / "long.trc"), tasks=s.tasks, options=compiled).write_mot(tmp / "kl_long.mot", overwrite=True)

        t_job = best_time(job, args.repeats)
        result = solve()
        print(trial_line(f"walk x8 ({model.spec.name})", result.n_frames, t_os, t_kl, t_job, t_torch,
                         *compare(model, long, s.tasks, None, result, tmp / "os_long.mot")))  # fmt: skip
        long_setup = osim.InverseKinematicsTool(str(setup))  # the same setup on the long trial, for the command lines
        long_setup.setMarkerDataFileName(str(tmp / "long.trc"))
        long_setup.setStartTime(0.0)
        long_setup.setEndTime(end)
        long_setup.printToXML(str(tmp / "long_setup.xml"))
        cli_jobs.append(("walk x8", tmp / "long_setup.xml", model_file, result.n_frames))
        # keypoint IK of a lifted clip: compiled against torch (OpenSim has no keypoint IK)
        from kinelift.ik import keypoint_ik
        from kinelift.lifting import lift
        from kinelift.pipeline.demo_clip import demo_clip

        lifted = lift(demo_clip(n_reps=3).tracks)
        body = SkeletalModel.from_spec(lifted.model)
        t_kc = best_time(lambda: keypoint_ik(body, lifted.keypoints, options=compiled), args.repeats)
        t_kt = best_time(lambda: keypoint_ik(body, lifted.keypoints, options=torch_path), 1)
        a, b = keypoint_ik(body, lifted.keypoints, options=compiled), keypoint_ik(body, lifted.keypoints, options=torch_path)
        n = a.n_frames
        fitted = np.nanmax(np.linalg.norm(a.model_markers - b.model_markers, axis=-1)) * 1000
        print(f"keypoint IK of a lifted clip (built-in model, COCO-17): {n} frames | kinelift compiled {n / t_kc:,.0f} fr/s | torch path "
              f"{n / t_kt:,.0f} fr/s | ratio {t_kt / t_kc:.0f}x | fitted keypoints differ by at most {fitted:.2f} mm | "
              f"worst objective ratio {np.nanmax(a.objective / b.objective):.6f} (against the torch path)")  # fmt: skip
        print("whole process (fresh interpreter each: imports, model loading, numba cache):")
        kinelift_cli = [sys.executable, "-c", "import sys; from kinelift.cli import entry_point; sys.exit(entry_point())"]
        for name, setup, model_file, n in cli_jobs:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", _OPENSIM_CHILD, str(setup), str(model_file), str(tmp)], check=True, capture_output=True)
            t_os = time.perf_counter() - start
            argv = ["ik", "--setup", str(setup), "--model", str(model_file), "--out", str(tmp / "kl_cli.mot"), "--overwrite"]
            start = time.perf_counter()
            subprocess.run([*kinelift_cli, *argv], check=True, capture_output=True)
            t_kl = time.perf_counter() - start
            print(f"  {name}: {n} frames | OpenSim {t_os:.2f} s | kinelift ik {t_kl:.2f} s | ratio {t_os / t_kl:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
