"""Detector throughput: crops per second for each architecture, batch 1 and a large batch, fp32 and bf16.

Usage: python benchmarks/detect.py [--batch 256] [--size 256 192] [--width 1.0] [--threads N] [--repeats 3]

Times the network forward pass (eval mode, no flip test, no decoding) of the four detectors on
CPU and, when there is one, the GPU (channels-last, bf16 autocast). Each line prints crops per
second, the model's forward FLOPs (counted by torch.utils.flop_counter) and the achieved
TFLOP/s; on a GPU also the fraction of the device's dense bf16 peak (--peak-tflops, default 989
for an H100 SXM). Untrained weights: speed does not depend on them. Target (issue 8): the
ResNet-18 SimpleBaseline at 256x192 above 5,000 crops per second on an H100.
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.flop_counter import FlopCounterMode

from _timing import best_time  # benchmarks/_timing.py (scripts run from benchmarks/ on sys.path)
from kinelift.detect.config import DetectorConfig
from kinelift.detect.networks import ARCHITECTURES, build_detector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--size", type=int, nargs=2, default=(256, 192), metavar=("H", "W"))
    parser.add_argument("--width", type=float, default=1.0, help="backbone channel multiplier (0.5: the shipped compact model, with --size 192 128 --head-channels 128)")
    parser.add_argument("--head-channels", type=int, default=256)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="GPU dense bf16 peak for the fraction column")
    parser.add_argument("--cpu-batch", type=int, default=32, help="large batch on CPU (256 takes minutes per model there)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"input {args.size[0]}x{args.size[1]}, width {args.width}, torch threads {torch.get_num_threads()}"
          + (f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"))  # fmt: skip
    print(f"{'model':<16} {'device':<6} {'dtype':<5} {'batch':>5} {'crops/s':>10} {'GFLOP/crop':>10} {'TFLOP/s':>8} {'of peak':>8}")
    for arch in ARCHITECTURES:
        config = DetectorConfig(architecture=arch, keypoints="COCO-17", input_size=tuple(args.size), width=args.width,
                                head_channels=args.head_channels)  # fmt: skip
        net = build_detector(config).eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            net(torch.zeros(1, 3, *args.size))
        gflop = counter.get_total_flops() / 1e9
        for device in devices:
            model = net.to(device)
            if device == "cuda":
                model = model.to(memory_format=torch.channels_last)
            for dtype in ("fp32", "bf16"):
                for batch in (1, args.batch if device == "cuda" else args.cpu_batch):
                    x = torch.randn(batch, 3, *args.size, device=device)
                    if device == "cuda":
                        x = x.contiguous(memory_format=torch.channels_last)

                    def run(model=model, x=x, device=device, dtype=dtype):
                        with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=dtype == "bf16"):
                            model(x)
                        if device == "cuda":
                            torch.cuda.synchronize()

                    seconds = best_time(run, args.repeats)
                    rate = batch / seconds
                    tflops = rate * gflop / 1e3
                    peak = f"{100 * tflops / args.peak_tflops:7.1f}%" if device == "cuda" else f"{'-':>8}"
                    print(f"{arch:<16} {device:<6} {dtype:<5} {batch:>5} {rate:>10.1f} {gflop:>10.2f} {tflops:>8.2f} {peak}")


if __name__ == "__main__":
    main()
