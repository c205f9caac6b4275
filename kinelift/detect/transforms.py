"""Crops around a person: affine matrices, warping, keypoint transforms and normalisation.

Conventions: pixel coordinates are 0-based pixel centres, x right, y down. A crop matrix ``M``
``(2, 3)`` maps image pixels to crop pixels (``[u, v] = M @ [x, y, 1]``). The crop of a box
keeps the network's aspect ratio (the box is widened or heightened to ``width/height`` of the
input, then scaled by ``margin``). A heatmap pixel ``j`` covers input pixels ``4j .. 4j+3``:
``x_input = 4 x_heatmap + 1.5``, which makes a horizontal flip exact on both.

Examples
--------
>>> import numpy as np
>>> m = crop_matrices(np.array([[10.0, 20.0, 30.0, 40.0]]), (64, 48))
>>> np.round(apply_affine(np.array([[[25.0, 40.0]]]), m), 3)  # the box centre -> the crop centre
array([[[23.5, 31.5]]])
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from kinelift.errors import ShapeError

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "crop_matrices", "apply_affine", "invert_affine", "warp_image",
           "warp_batch", "crop_frames", "brighten_dark_crops", "normalize_images", "input_to_heatmap", "heatmap_to_input", "augmentation_matrices"]  # fmt: skip

IMAGENET_MEAN = (0.485, 0.456, 0.406)
"""Per-channel mean of ImageNet (RGB, images in [0, 1])."""
IMAGENET_STD = (0.229, 0.224, 0.225)
"""Per-channel standard deviation of ImageNet (RGB)."""


def crop_matrices(boxes: np.ndarray, size: tuple[int, int], *, margin: float = 1.25, rotation: np.ndarray | None = None,
                  scale: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Affine matrices ``(N, 2, 3)`` from image pixels to crops of ``size = (height, width)``.

    ``boxes`` ``(N, 4)`` are ``x, y, width, height``; ``rotation`` (radians, counter-clockwise
    on screen) and ``scale`` (>1 zooms out) per box are optional augmentations.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ShapeError("boxes", expected="(N, 4) as x, y, width, height", got=boxes.shape)
    out_h, out_w = size
    centre = boxes[:, :2] + boxes[:, 2:] / 2
    w, h = np.maximum(boxes[:, 2], 1.0), np.maximum(boxes[:, 3], 1.0)
    aspect = out_w / out_h
    w, h = np.where(w > aspect * h, w, aspect * h), np.where(w > aspect * h, w / aspect, h)
    extent_h = h * margin * (1.0 if scale is None else np.asarray(scale))
    s = out_h / extent_h
    angle = np.zeros(len(boxes)) if rotation is None else np.asarray(rotation, dtype=np.float64)
    cos, sin = np.cos(angle) * s, np.sin(angle) * s
    m = np.empty((len(boxes), 2, 3))
    # rotate by -angle in image (y down) so that a positive angle turns the person counter-clockwise on screen
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = cos, sin, -sin, cos
    target = np.array([(out_w - 1) / 2, (out_h - 1) / 2])
    m[:, :, 2] = target - np.einsum("nij,nj->ni", m[:, :, :2], centre)
    return m


def apply_affine(points: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """``points`` ``(N, K, 2)`` through ``matrices`` ``(N, 2, 3)``."""
    return np.einsum("nij,nkj->nki", matrices[:, :, :2], points) + matrices[:, None, :, 2]


def invert_affine(matrices: np.ndarray) -> np.ndarray:
    """The inverse of each ``(2, 3)`` affine matrix."""
    a = np.linalg.inv(matrices[:, :, :2])
    return np.concatenate([a, -np.einsum("nij,nj->ni", a, matrices[:, :, 2])[..., None]], axis=2)


def warp_image(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """One crop ``(height, width, 3)`` uint8 of an image through ``matrix`` (bilinear, black border)."""
    import cv2

    return cv2.warpAffine(image, matrix, (size[1], size[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def _pool_block(scale: float) -> int:
    """The block :func:`warp_batch` averages the image over before a crop that shrinks it by ``1 / scale``."""
    return max(1, int(1.0 / scale)) if scale > 0 else 1


def _pooled_matrices(matrices: torch.Tensor, k: int) -> torch.Tensor:
    """Pixel matrices ``(B, 2, 3)`` of an image, for that image averaged over ``k x k`` blocks."""
    matrices = matrices.clone()
    # a pooled pixel j covers full pixels k j .. k j + k - 1: x_full = k x_pooled + (k - 1) / 2
    matrices[:, :, 2] = matrices[:, :, 2] + matrices[:, :, :2].sum(-1) * (k - 1) / 2
    matrices[:, :, :2] = matrices[:, :, :2] * k
    return matrices


def _block_means(region: np.ndarray, k: int) -> np.ndarray:
    """An RGB uint8 image ``(h, w, 3)`` averaged over ``k x k`` blocks, in [0, 1] float32
    ``(ceil(h / k), ceil(w / k), 3)``; the blocks cut by the right and bottom edges average the
    pixels they hold, as ``avg_pool2d(..., ceil_mode=True)`` does. OpenCV's area resampling of the
    whole blocks is the same mean (to float rounding) about seven times faster on this project's
    CPU than torch's conversion and pooling of a 4K frame's person (3.7 against 25 ms)."""
    import cv2

    h, w = region.shape[:2]
    image = region.astype(np.float32)  # scaled to [0, 1] after the averaging, on the smaller array
    hk, wk = h // k * k, w // k * k
    out = np.empty((-(-h // k), -(-w // k), 3), np.float32)
    if hk and wk:
        out[: hk // k, : wk // k] = cv2.resize(image[:hk, :wk], (wk // k, hk // k), interpolation=cv2.INTER_AREA).reshape(hk // k, wk // k, 3)
    if hk < h and wk:
        out[-1, : wk // k] = image[hk:, :wk].reshape(h - hk, wk // k, k, 3).mean(axis=(0, 2))
    if wk < w and hk:
        out[: hk // k, -1] = image[:hk, wk:].reshape(hk // k, k, w - wk, 3).mean(axis=(1, 2))
    if hk < h and wk < w:
        out[-1, -1] = image[hk:, wk:].mean(axis=(0, 1))
    return out * np.float32(1.0 / 255.0)


def warp_batch(images: torch.Tensor, matrices: torch.Tensor, size: tuple[int, int], *, antialias: bool = True) -> torch.Tensor:
    """Batched crops ``(B, C, height, width)`` of ``images`` ``(B, C, H, W)`` through pixel matrices ``(B, 2, 3)``.

    Bilinear with zero padding, on the images' device; the matrices map input pixels to output
    pixels, as :func:`crop_matrices` gives them. With ``antialias``, a crop that shrinks the
    image by ``k >= 2`` times is taken from the image averaged over ``k x k`` blocks first
    (bilinear sampling alone aliases: a person 500 px tall cropped to 128 px lost its feet to it).
    """
    if antialias:
        k = _pool_block(float(torch.sqrt(torch.abs(torch.linalg.det(matrices[:, :, :2].double()))).min()))
        if k >= 2:
            images = F.avg_pool2d(images, k, ceil_mode=True)
            matrices = _pooled_matrices(matrices, k)
    b, _, h_in, w_in = images.shape
    out_h, out_w = size
    full = torch.zeros(b, 3, 3, dtype=images.dtype, device=images.device)
    full[:, :2] = matrices.to(images)
    full[:, 2, 2] = 1
    inverse = torch.linalg.inv(full)[:, :2]
    # normalised output coords -> output pixels -> input pixels -> normalised input coords
    to_px = torch.tensor([[(out_w - 1) / 2, 0, (out_w - 1) / 2], [0, (out_h - 1) / 2, (out_h - 1) / 2], [0, 0, 1]],
                         dtype=images.dtype, device=images.device)  # fmt: skip
    from_px = torch.tensor([[2 / (w_in - 1), 0, -1], [0, 2 / (h_in - 1), -1]], dtype=images.dtype, device=images.device)
    theta = from_px @ torch.cat([inverse, full[:, 2:]], dim=1) @ to_px
    grid = F.affine_grid(theta, [b, images.shape[1], out_h, out_w], align_corners=True)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def crop_frames(frames: torch.Tensor, frame_index: np.ndarray, matrices: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """Crops ``(B, 3, height, width)`` in [0, 1] of uint8 RGB frames ``(N, H, W, 3)`` through
    pixel matrices ``(B, 2, 3)`` (crop ``i`` of ``frames[frame_index[i]]``).

    The pixels :func:`warp_batch` gives for the whole frame (antialiased, zero outside the
    frame), but each crop converts and pools only the part of its frame it samples: the cost
    follows the crops, not the frames' size (a 720p frame is ten times a person's region).
    """
    frame_index = np.asarray(frame_index, int)
    matrices = np.asarray(matrices, np.float64)
    if frames.ndim != 4 or frames.shape[3] != 3 or matrices.shape != (len(frame_index), 2, 3):
        raise ShapeError("frames/matrices", expected="(N, H, W, 3) frames and (B, 2, 3) matrices for B frame indices",
                         got=(tuple(frames.shape), matrices.shape, frame_index.shape))  # fmt: skip
    out_h, out_w = size
    height, width = frames.shape[1:3]
    crops = torch.zeros(len(frame_index), 3, out_h, out_w, device=frames.device)
    corners = np.array([[[-0.5, -0.5], [out_w - 0.5, -0.5], [-0.5, out_h - 0.5], [out_w - 0.5, out_h - 0.5]]])
    inverse = invert_affine(matrices)
    for i, f in enumerate(frame_index):
        seen = apply_affine(corners, inverse[i:i + 1])[0]
        k = _pool_block(float(np.sqrt(abs(np.linalg.det(matrices[i, :, :2])))))
        lo = np.floor(seen.min(0)) - 2 * k
        hi = np.ceil(seen.max(0)) + 2 * k + 1
        x0, y0 = (np.clip(lo, 0, [width, height]) // k * k).astype(int)  # on warp_batch's pooling grid
        x1, y1 = np.clip(hi, 0, [width, height]).astype(int)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue  # the crop lies outside the frame: zeros, as the whole frame's warp gives
        shifted = matrices[i].copy()
        shifted[:, 2] += shifted[:, :2] @ np.array([x0, y0], float)
        shifted_t = torch.as_tensor(shifted[None], dtype=torch.float32, device=frames.device)
        if k >= 2 and frames.device.type == "cpu":  # the blocks' means by OpenCV: the same pixels, faster
            pooled = torch.from_numpy(_block_means(frames[int(f), y0:y1, x0:x1].numpy(), k)).permute(2, 0, 1)[None]
            crops[i] = warp_batch(pooled, _pooled_matrices(shifted_t, k), size, antialias=False)[0]
            continue
        region = frames[int(f), y0:y1, x0:x1].permute(2, 0, 1)[None].float() / 255.0
        crops[i] = warp_batch(region, shifted_t, size)[0]
    return crops


DARK_CROP_BELOW = 0.6
"""A crop is dark where the 99th percentile of its pixels' brightest channel is below this (in [0, 1])."""
DARK_CROP_TARGET = 0.85
"""... and is brightened so that this percentile reaches this value, by at most :data:`DARK_CROP_MAX_GAIN`."""
DARK_CROP_MAX_GAIN = 4.0


def brighten_dark_crops(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] RGB crops ``(B, 3, H, W)`` with each dark crop (:data:`DARK_CROP_BELOW`, judged on every
    4th pixel each way) scaled up towards :data:`DARK_CROP_TARGET`; the others as they are.

    The detectors learned from photographs exposed for the person. In a dim room kinelift's
    LSP-14 detector crossed a standing person's legs (a copy of the real lateral raise at 25 %
    brightness with noise: largest lifted knee or hip flexion 37.1 deg; scaled up, 4.9; the clip
    as filmed, 4.8). A crop of a normally lit scene is not changed.

    Examples
    --------
    >>> import torch
    >>> x = torch.full((2, 3, 4, 4), 0.2)
    >>> x[1] = 0.9
    >>> [round(float(v), 2) for v in brighten_dark_crops(x).amax(dim=(1, 2, 3))]
    [0.8, 0.9]
    """
    brightest = images[:, :, ::4, ::4].amax(dim=1).reshape(len(images), -1)  # every 4th pixel each way: 1 ms for 64 crops, not 70
    level = brightest.kthvalue(max(1, int(round(0.99 * brightest.shape[1]))), dim=1).values.clamp_min(1e-3)
    gain = torch.where(level < DARK_CROP_BELOW, (DARK_CROP_TARGET / level).clamp(max=DARK_CROP_MAX_GAIN), torch.ones_like(level))
    return (images * gain.view(-1, 1, 1, 1)).clamp(0.0, 1.0) if bool((gain != 1).any()) else images


def normalize_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 or [0, 1] RGB ``(B, 3, H, W)`` to ImageNet-normalised float (the input of every detector,
    in training and inference), dark crops brightened first (:func:`brighten_dark_crops`)."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images
    x = brighten_dark_crops(x)
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def input_to_heatmap(points):
    """Input-crop pixels to heatmap pixels (stride 4)."""
    return (points - 1.5) / 4.0


def heatmap_to_input(points):
    """Heatmap pixels to input-crop pixels (stride 4)."""
    return points * 4.0 + 1.5


def augmentation_matrices(n: int, size: tuple[int, int], *, scale: float, rotation_deg: float, flip: float,
                          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Random crop-to-crop matrices ``(n, 2, 3)`` about the crop centre and the flip mask ``(n,)``.

    Scale ``1 + U(-scale, scale)``, rotation ``U(-r, r)`` degrees (applied to 60 % of samples, as
    in SimpleBaseline), horizontal flip with probability ``flip``.
    """
    h, w = size
    s = 1.0 + rng.uniform(-scale, scale, n)
    r = np.where(rng.random(n) < 0.6, np.deg2rad(rng.uniform(-rotation_deg, rotation_deg, n)), 0.0)
    flipped = rng.random(n) < flip
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    m = np.zeros((n, 2, 3))
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = np.cos(r) / s, np.sin(r) / s, -np.sin(r) / s, np.cos(r) / s
    m[:, 0, :2] *= np.where(flipped, -1.0, 1.0)[:, None]
    m[:, :, 2] = centre - np.einsum("nij,j->ni", m[:, :, :2], centre)
    return m, flipped
