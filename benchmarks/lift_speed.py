"""Lifter inference speed: frames per second, network alone and network + skeletal layer.

Usage: python benchmarks/lift_speed.py [--frames 20000] [--sequences 32] [--threads N]

Times kinelift.lifting.predict.predict_sequences (batched over sequences, edge padding, forward
kinematics of the built-in model for every output frame) for the dilated convolution lifter with
receptive fields 27, 81 and 243 (256 channels, COCO-17 input) and the transformer option, on CPU
and on the GPU when there is one, with untrained weights (speed does not depend on them). The
peer in the same run is kinelift's own IK on the same number of frames' keypoints (the classical
route from keypoints to coordinates, kinelift.ik.keypoint_ik), for the ratio. Last, the fit of
lifted poses to the 2D keypoints that `kinelift.lift` runs when the intrinsics are given
(kinelift.lifting.refinement, default settings, the same frames in one batch).
Target (issue 5): at least 10,000 frames per second on CPU for the 243-frame model in batch.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from _timing import best_time  # benchmarks/_timing.py (scripts run from benchmarks/ on sys.path)
from kinelift.lifting.config import LifterConfig
from kinelift.lifting.lifter import Lifter
from kinelift.lifting.predict import predict_sequences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20_000, help="frames per timed pass (all sequences together)")
    parser.add_argument("--sequences", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    length = args.frames // args.sequences
    rng = np.random.default_rng(0)
    print(f"{args.sequences} sequences x {length} frames, COCO-17 input; torch threads {torch.get_num_threads()}")
    print(f"{'model':<26} {'device':<6} {'network fps':>12} {'+ FK fps':>10}")
    configs = {f"conv rf {3 ** n}": LifterConfig(filter_widths=(3,) * n) for n in (3, 4, 5)}
    configs["transformer rf 81"] = LifterConfig(architecture="transformer")
    for name, cfg in configs.items():
        for device in devices:
            lifter = Lifter(cfg).to(device).eval()
            seqs = [torch.as_tensor(rng.normal(0, 0.3, (length, 17, 3)), dtype=torch.float32, device=device) for _ in range(args.sequences)]
            rf = lifter.receptive_field
            padded = torch.stack([torch.nn.functional.pad(s.flatten(1).T[None], (rf // 2, rf // 2), mode="replicate")[0] for s in seqs])

            def network_only(lifter=lifter, padded=padded, device=device):
                with torch.no_grad():
                    lifter.network(padded)
                if device == "cuda":
                    torch.cuda.synchronize()

            def full(lifter=lifter, seqs=seqs, device=device):
                predict_sequences(lifter, seqs)
                if device == "cuda":
                    torch.cuda.synchronize()

            n = length * args.sequences
            print(f"{name:<26} {device:<6} {n / best_time(network_only, 3):12,.0f} {n / best_time(full, 3):10,.0f}")
    _peer(args, length)
    _refinement(args, length, devices)


def _refinement(args: argparse.Namespace, length: int, devices: list[str]) -> None:
    from kinelift.lifting.refinement import refine_to_image

    for device in devices:
        lifter = Lifter(LifterConfig()).to(device).eval()
        n = length * args.sequences
        feats = torch.as_tensor(np.random.default_rng(1).normal(0, 0.3, (n, 17, 3)), dtype=torch.float32, device=device)
        out = predict_sequences(lifter, [feats])[0]
        seen = out.keypoints + torch.tensor([0.0, 0.0, 4.0], device=device)
        image = seen[..., :2] / seen[..., 2:] + 0.003 * torch.randn(seen.shape[:-1] + (2,), device=device)
        starts = list(range(0, n, length))

        def fit(lifter=lifter, out=out, image=image, device=device, starts=starts):
            refine_to_image(lifter, out, image, torch.ones(image.shape[:2], device=device), focal_over_size=4.0, clip_starts=starts)
            if device == "cuda":
                torch.cuda.synchronize()

        print(f"{'refinement (60 iterations)':<26} {device:<6} {n / best_time(fit, 2):12,.0f}   (fit to the 2D keypoints, {n} frames)")


def _peer(args: argparse.Namespace, length: int) -> None:
    from kinelift.ik import IKOptions
    from kinelift.ik.keypoints import keypoint_ik
    from kinelift.lifting.motions import procedural_squats
    from kinelift.skeleton.builtin import builtin_model
    from kinelift.skeleton.keypoint_maps import KeypointModel

    model = builtin_model()
    motion = procedural_squats(np.random.default_rng(0))
    n = min(length, motion.n_frames)
    with torch.no_grad():
        pts = KeypointModel(model, "COCO-17")(torch.as_tensor(motion.coordinates[:n])).numpy()
    from kinelift.core.tracks import Tracks

    tracks = Tracks(pts, keypoints="COCO-17", fps=30.0, units="m", coordinate_frame="ground")
    t = time.perf_counter()
    keypoint_ik(model, tracks, options=IKOptions(progress=False))
    dt = time.perf_counter() - t
    print(f"{'peer: kinelift keypoint IK':<26} {'cpu':<6} {n / dt:12,.0f}   (3D keypoints -> coordinates, {n} frames)")


if __name__ == "__main__":
    main()
