"""Scoring a detector on labelled people: PCK@0.2 of the torso and PCK@0.05/0.1 of the crop size.

The detector sees each person through the crop of the labelled box (top-down evaluation with
given boxes), with flip test. Errors are measured in image pixels for the torso PCK and in
network-input pixels for the crop-size PCK (see :mod:`kinelift.detect.metrics`).

Examples
--------
>>> import numpy as np, tempfile, pathlib, cv2
>>> from kinelift.detect.config import DetectorConfig
>>> from kinelift.detect.crops import build_crops
>>> from kinelift.detect.datasets import PoseSamples
>>> from kinelift.detect.networks import build_detector
>>> path = str(pathlib.Path(tempfile.mkdtemp()) / "a.png")
>>> _ = cv2.imwrite(path, np.zeros((100, 80, 3), np.uint8))
>>> s = PoseSamples((path,), np.full((1, 14, 2), 40.0), np.ones((1, 14), bool), np.ones((1, 14), bool),
...                 np.array([[20.0, 10.0, 40.0, 80.0]]), "LSP-14")
>>> net = build_detector(DetectorConfig(keypoints="LOWER-6", input_size=(64, 64), width=0.25, head_channels=16))
>>> sorted(k for k in evaluate_detector(net, build_crops(s, (64, 64), progress=False)) if k.startswith("pck"))[:3]
['pck005', 'pck005_left_ankle', 'pck005_left_hip']
"""

from __future__ import annotations

import numpy as np
from torch import nn

from kinelift.core import get_keypoint_set
from kinelift.detect.crops import PersonCrops, training_batch
from kinelift.detect.datasets import LOWER_BODY
from kinelift.detect.metrics import coco_keypoint_ap, pck, torso_sizes
from kinelift.detect.predict import predict_keypoints
from kinelift.detect.transforms import apply_affine, invert_affine
from kinelift.errors import UnknownNameError

__all__ = ["evaluate_detector", "predict_people"]


def predict_people(detector: nn.Module, crops: PersonCrops, *, batch_size: int = 64, flip: bool = True,
                   precision: str = "auto") -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Keypoints ``(N, K, 2)`` in image pixels and confidences ``(N, K)`` for every stored person
    (``precision``: :data:`kinelift.detect.predict.PRECISIONS`)."""
    device = next(detector.parameters()).device
    flip_indices = get_keypoint_set(crops.samples.keypoints_name).flip_indices()
    points, scores = [], []
    for start in range(0, len(crops), batch_size):
        index = np.arange(start, min(start + batch_size, len(crops)))
        images, _, _, to_input = training_batch(crops, index, sigma=1.0, flip_indices=flip_indices, device=device)
        xy, score = predict_keypoints(detector, images, flip=flip, precision=precision)
        points.append(apply_affine(xy.cpu().double().numpy(), invert_affine(to_input)))
        scores.append(score.cpu().double().numpy())
    return np.concatenate(points), np.concatenate(scores)


def evaluate_detector(detector: nn.Module, crops: PersonCrops, *, batch_size: int = 64, flip: bool = True,
                      flip_test: bool | None = None, precision: str = "auto") -> dict[str, float]:  # fmt: skip
    """PCK figures (fractions) of ``detector`` on ``crops``: overall, per joint and over the lower body.

    Keys: ``pck02_torso`` (when the labels have shoulders and hips), ``pck005``, ``pck01``
    (and ``oks_AP``, ``oks_AP50``, ``oks_AP75`` for a COCO-17 detector on COCO labels);
    each also per joint (``pck02_torso_right_knee``...) and over the six leg joints present
    (``..._lower``). The labels may be a larger set than the detector's (LSP-14 labels for a
    LOWER-6 detector). ``flip`` and ``precision`` as :func:`kinelift.detect.predict.predict_heatmaps`
    (the default measures what ``detect_tracks`` runs on this machine).
    """
    source = get_keypoint_set(crops.samples.keypoints_name)
    names = get_keypoint_set(detector.config.keypoints).names
    missing = [n for n in names if n not in source.names]
    if missing:
        raise UnknownNameError("detector keypoints in the labels", missing, known=list(source.names))
    idx = source.indices(names)
    from kinelift._deprecation import renamed_argument

    flip = renamed_argument("evaluate_detector", "flip_test", "flip", flip_test, flip, default=True)
    predicted, confidence = predict_people(detector, crops, batch_size=batch_size, flip=flip, precision=precision)
    samples = crops.samples
    target, labelled = samples.keypoints[:, idx], samples.labelled[:, idx]
    thresholds = {}
    try:
        thresholds["pck02_torso"] = (predicted, target, 0.2 * torso_sizes(samples.keypoints, source))
    except UnknownNameError:
        pass
    in_pred, in_target = apply_affine(predicted, crops.to_input), apply_affine(target, crops.to_input)
    size = max(crops.input_size)
    thresholds["pck005"] = (in_pred, in_target, 0.05 * size)
    thresholds["pck01"] = (in_pred, in_target, 0.1 * size)
    lower = [i for i, n in enumerate(names) if n in LOWER_BODY]
    result = {}
    for key, (p, t, thr) in thresholds.items():
        per_joint, overall = pck(p, t, labelled, thresholds=thr)
        result[key] = overall
        result.update({f"{key}_{n}": float(v) for n, v in zip(names, per_joint)})
        if lower:
            result[f"{key}_lower"] = pck(p[:, lower], t[:, lower], labelled[:, lower], thresholds=thr)[1]
    if source.name == "COCO-17" and len(names) == 17 and samples.areas is not None:
        result.update({f"oks_{k}": v for k, v in _coco_ap(samples, predicted, confidence).items()})
    return result


def _coco_ap(samples, predicted: np.ndarray, confidence: np.ndarray) -> dict[str, float]:
    """COCO keypoint AP of top-down predictions on the labelled boxes, grouped by image (score: mean confidence)."""
    images = sorted(set(samples.image_paths))
    by_image = {path: np.flatnonzero([p == path for p in samples.image_paths]) for path in images}
    predictions = [(predicted[i], confidence[i].mean(-1)) for i in by_image.values()]
    targets = [(samples.keypoints[i], samples.labelled[i], samples.areas[i]) for i in by_image.values()]
    return coco_keypoint_ap(predictions, targets)


