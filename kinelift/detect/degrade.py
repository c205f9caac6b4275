"""What video does to people, as a training augmentation: motion blur, low resolution,
compression, lighting and sensor noise.

Photos of people (LSP, LSPET, COCO) are sharp, well lit and stored once; video frames of people
moving are blurred along the motion, often small (a person 150 px tall in a 720p frame) and
upscaled by the crop, compressed by H.264 at a few Mbit/s, and lit by whatever a gym or a street
offers. :func:`degrade_like_video` applies such changes at random to a batch of crops, each with
its own draw, so that a detector trained on photos holds on video frames.

Each crop is degraded with probability ``probability``; a degraded crop gets each of the
following independently (the probabilities and ranges are :data:`DEGRADATIONS`):

* **motion blur**: the mean along a line of 3-13 px at a random angle (a limb moving 10 px per
  frame at 1/30 s exposure);
* **low resolution**: down to 25-70 % of the crop's size (area average) and back up (bilinear);
* **compression**: JPEG at quality 10-50 (the 8x8 blocks and ringing of a video codec);
* **lighting**: brightness x0.6-1.4, contrast x0.6-1.4 about the crop's mean, gamma 0.7-1.5 and
  a colour cast of +-10 % per channel;
* **sensor noise**: Gaussian, standard deviation 1-4 % of the range.

Examples
--------
>>> import numpy as np, torch
>>> crops = torch.rand(4, 3, 64, 48)
>>> out = degrade_like_video(crops, rng=np.random.default_rng(0), probability=1.0)
>>> tuple(out.shape), bool((out >= 0).all() and (out <= 1).all()), bool((out != crops).any())
((4, 3, 64, 48), True, True)
>>> bool(torch.equal(degrade_like_video(crops, rng=np.random.default_rng(0), probability=0.0), crops))
True
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from kinelift.errors import ShapeError, ValueRangeError

__all__ = ["degrade_like_video", "DEGRADATIONS"]

DEGRADATIONS = {
    "motion_blur": (0.5, (3, 13)),
    "low_resolution": (0.4, (0.25, 0.7)),
    "compression": (0.4, (10, 50)),
    "lighting": (0.6, (0.6, 1.4)),
    "noise": (0.3, (0.01, 0.04)),
}
"""For each degradation: the probability that a degraded crop gets it, and its range (blur length
px, resolution fraction, JPEG quality, brightness and contrast factor, noise standard deviation)."""


def _motion_kernel(length: int, angle: float) -> np.ndarray:
    size = length if length % 2 else length + 1
    kernel = np.zeros((size, size))
    centre = (size - 1) / 2
    for t in np.linspace(-(length - 1) / 2, (length - 1) / 2, 4 * length):
        x, y = centre + t * np.cos(angle), centre + t * np.sin(angle)
        kernel[int(round(y)), int(round(x))] = 1.0
    return kernel / kernel.sum()


def _jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    import cv2

    bgr = np.ascontiguousarray((image.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()[..., ::-1])
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 image
        return image
    rgb = np.ascontiguousarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1])
    return torch.from_numpy(rgb).to(image.device, image.dtype).permute(2, 0, 1) / 255.0


def degrade_like_video(images: torch.Tensor, *, rng: np.random.Generator, probability: float = 0.5) -> torch.Tensor:
    """Crops ``(B, 3, H, W)`` with values in [0, 1], each degraded as a video frame with
    ``probability`` (see the module docs); a new tensor in [0, 1], the input unchanged."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ShapeError("images", expected="(batch, 3, height, width) in [0, 1]", got=tuple(images.shape))
    if not 0.0 <= probability <= 1.0:
        raise ValueRangeError("probability", expected="in [0, 1]", got=probability)
    out = images.clone()
    h, w = images.shape[2:]
    chosen = np.flatnonzero(rng.random(len(images)) < probability)
    for i in chosen:
        x = out[i]
        p, (lo, hi) = DEGRADATIONS["motion_blur"]
        if rng.random() < p:
            kernel = torch.as_tensor(_motion_kernel(int(rng.integers(lo, hi + 1)), rng.uniform(0, np.pi)), dtype=x.dtype, device=x.device)
            pad = kernel.shape[0] // 2
            x = F.conv2d(F.pad(x[:, None], (pad, pad, pad, pad), mode="replicate"), kernel[None, None])[:, 0]
        p, (lo, hi) = DEGRADATIONS["low_resolution"]
        if rng.random() < p:
            fraction = rng.uniform(lo, hi)
            small = F.interpolate(x[None], size=(max(4, int(h * fraction)), max(4, int(w * fraction))), mode="area")
            x = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)[0]
        p, (lo, hi) = DEGRADATIONS["compression"]
        if rng.random() < p:
            x = _jpeg(x, int(rng.integers(lo, hi + 1)))
        p, (lo, hi) = DEGRADATIONS["lighting"]
        if rng.random() < p:
            mean = x.mean()
            x = (x - mean) * rng.uniform(lo, hi) + mean
            x = x * rng.uniform(lo, hi) * torch.as_tensor(rng.uniform(0.9, 1.1, 3), dtype=x.dtype, device=x.device)[:, None, None]
            x = x.clamp(0, 1) ** rng.uniform(0.7, 1.5)
        p, (lo, hi) = DEGRADATIONS["noise"]
        if rng.random() < p:
            x = x + torch.as_tensor(rng.normal(0.0, rng.uniform(lo, hi), tuple(x.shape)), dtype=x.dtype, device=x.device)
        out[i] = x.clamp(0, 1)
    return out
