"""2D keypoint detection: heatmap CNNs in pure torch, their training, and video to keypoint tracks.

Networks (:mod:`~kinelift.detect.networks`): ResNet-18 SimpleBaseline, ResNet-18 FPN, a dilated
CNN and an FPN with self-attention. Data (:mod:`~kinelift.detect.datasets`): LSP, LSPET and COCO
keypoints. Targets, loss and decoding (:mod:`~kinelift.detect.heatmaps`), metrics
(:mod:`~kinelift.detect.metrics`), training (:mod:`~kinelift.detect.training`), shipped weights
(:mod:`~kinelift.detect.weights`), video inference (:mod:`~kinelift.detect.inference`) and ONNX
export (:mod:`~kinelift.detect.export`).
"""

from kinelift.detect.backbone import load_backbone
from kinelift.detect.config import DetectorConfig
from kinelift.detect.evaluation import evaluate_detector
from kinelift.detect.inference import detect_tracks, resolve_detector
from kinelift.detect.networks import build_detector
from kinelift.detect.weights import load_detector, save_detector

__all__ = ["DetectorConfig", "build_detector", "detect_tracks", "evaluate_detector", "load_backbone", "load_detector", "resolve_detector", "save_detector"]
