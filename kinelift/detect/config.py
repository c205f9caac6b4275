"""Configuration of the detectors, their training data and their training, as frozen dataclasses.

A TOML file for ``kinelift train-detector`` has one table per dataclass (every key optional)::

    [model]      # DetectorConfig
    architecture = "simple_baseline"   # "fpn", "dilated", "fpn_attention"
    keypoints = "LSP-14"
    input_size = [128, 96]             # height, width (multiples of 32)
    [data]       # DetectorDataConfig
    lsp = "../shared/data/lsp-train"
    [training]   # DetectorTrainingConfig
    epochs = 40
    out_dir = "runs/detector"

Examples
--------
>>> setup = detector_config_from_dict({"model": {"input_size": [128, 96]}})
>>> setup.model.heatmap_size, setup.training.lr
((32, 24), 0.001)
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from kinelift.core import get_keypoint_set
from kinelift.errors import UnknownNameError, ValueRangeError
from kinelift.io.toml_config import read_toml, rebase_paths, tables_to_dataclasses

__all__ = ["DetectorConfig", "DetectorDataConfig", "DetectorTrainingConfig", "DetectorTrainingSetup",
           "detector_config_from_dict", "load_detector_config"]  # fmt: skip

_ARCHITECTURES = ("simple_baseline", "fpn", "dilated", "fpn_attention")


@dataclass(frozen=True)
class DetectorConfig:
    """The network: architecture, keypoint set, input size ``(height, width)`` in pixels, channel
    ``width`` multiplier of the backbone, ``head_channels`` of the deconvolution/FPN head, and the
    heatmap Gaussian ``sigma`` in heatmap pixels (1/4 of the input)."""

    architecture: str = "simple_baseline"
    keypoints: str = "LSP-14"
    input_size: tuple[int, int] = (256, 192)
    width: float = 1.0
    head_channels: int = 256
    attention_heads: int = 4
    sigma: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_size", tuple(int(v) for v in self.input_size))
        if self.architecture not in _ARCHITECTURES:
            raise UnknownNameError("architecture", self.architecture, known=list(_ARCHITECTURES))
        get_keypoint_set(self.keypoints)
        if len(self.input_size) != 2 or any(v < 32 or v % 32 for v in self.input_size):
            raise ValueRangeError("input_size", expected="(height, width), each a multiple of 32", got=self.input_size)
        if self.width <= 0 or self.head_channels < 1 or self.sigma <= 0 or self.head_channels % self.attention_heads:
            raise ValueRangeError("width/head_channels/sigma/attention_heads",
                                  expected="width > 0, sigma > 0, head_channels >= 1 and divisible by attention_heads",
                                  got=(self.width, self.head_channels, self.sigma, self.attention_heads))  # fmt: skip

    @property
    def heatmap_size(self) -> tuple[int, int]:
        """``(height, width)`` of the heatmaps: a quarter of the input."""
        return self.input_size[0] // 4, self.input_size[1] // 4


@dataclass(frozen=True)
class DetectorDataConfig:
    """Training and validation images.

    ``lsp`` is a Leeds Sports Pose folder (``images/`` + ``joints.mat``): images up to
    ``lsp_train_last`` (1-based) train, the following ``lsp_validation`` images validate (held out).
    ``lspet`` is an LSP Extended folder (all its images train). ``coco_json``/``coco_images`` add
    COCO keypoint annotations. ``frames`` are folders written by
    :func:`~kinelift.detect.frame_labels.write_frame_labels` (video frames labelled by a teacher's
    tracks: ``labels.json`` + ``images/``), each person taken ``frames_repeat`` times per epoch.
    Points a dataset does not label (COCO-17 has no neck or head top) are unlabelled for the
    network's set. Relative paths are taken from the config file's folder; a folder that does not
    exist is an error. ``box_margin`` enlarges the joints' box to the crop.
    """

    lsp: str = ""
    lsp_train_last: int = 800
    lsp_validation: int = 200
    lspet: str = ""
    coco_json: str = ""
    coco_images: str = ""
    frames: tuple[str, ...] = ()
    frames_repeat: int = 1
    box_margin: float = 1.25
    require_lower_body: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.frames, str):
            raise ValueRangeError("frames", expected="a list of labelled-frame folders", got=self.frames)
        object.__setattr__(self, "frames", tuple(str(f) for f in self.frames))
        if self.lsp_train_last < 0 or self.lsp_validation < 0 or self.box_margin < 1 or self.frames_repeat < 1:
            raise ValueRangeError("lsp_train_last/lsp_validation/box_margin/frames_repeat", expected=">= 0, >= 0, >= 1, >= 1",
                                  got=(self.lsp_train_last, self.lsp_validation, self.box_margin, self.frames_repeat))  # fmt: skip


@dataclass(frozen=True)
class DetectorTrainingConfig:
    """Optimisation: Adam with decoupled weight decay (AdamW: ``lr``, ``weight_decay``); the learning
    rate schedule ``lr_schedule`` is ``"step"`` (times 0.1 at each of ``lr_steps``, epochs) or
    ``"cosine"`` (half a cosine from ``lr`` at the first epoch to ``lr / 100`` at the last,
    ``lr_steps`` ignored); ``ema_decay`` > 0 keeps an exponential moving average of the weights
    (and batch-norm statistics), updated every step, which is what is validated and saved
    (0 = off); augmentation (``scale`` and ``rotation`` (degrees) ranges, ``flip``
    probability); ``video``: the probability that a crop is degraded as a video frame (motion
    blur, low resolution, compression, lighting, noise: :mod:`kinelift.detect.degrade`; 0 = off);
    ``init_from``: shipped detector name or weights file to start from (fine-tuning; the same
    network configuration, else an error; ignored when a checkpoint is resumed); ``keep``: which
    epoch's weights ``detector.pt`` holds, ``"best"`` by the validation's lower-body PCK@0.2 or
    ``"last"`` (a fine-tune on other data than the validation's, which the best epoch by LSP
    would undo); channels-last
    memory (CPU and GPU), bf16 autocast on a GPU, optional ``compile``."""

    epochs: int = 40
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    lr_steps: tuple[int, ...] = (30, 37)
    lr_schedule: str = "step"
    ema_decay: float = 0.0
    scale: float = 0.25
    rotation: float = 30.0
    flip: float = 0.5
    video: float = 0.0
    init_from: str = ""
    keep: str = "best"
    normalize_by_visible: bool = True
    seed: int = 0
    out_dir: str = "runs/detector"
    device: str = "auto"
    bf16: bool = True
    compile: bool = False
    threads: int = 0
    max_hours: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr_steps", tuple(int(v) for v in self.lr_steps))
        if (self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or not 0 <= self.flip <= 1 or self.max_hours < 0
                or not 0 <= self.video <= 1):  # fmt: skip
            raise ValueRangeError("training", expected="epochs, batch_size >= 1, lr > 0, 0 <= flip <= 1, 0 <= video <= 1, max_hours >= 0",
                                  got=(self.epochs, self.batch_size, self.lr, self.flip, self.video, self.max_hours))  # fmt: skip
        if self.keep not in ("best", "last"):
            raise ValueRangeError("keep", expected="'best' or 'last'", got=self.keep)
        if self.lr_schedule not in ("step", "cosine"):
            raise ValueRangeError("lr_schedule", expected="'step' or 'cosine'", got=self.lr_schedule)
        if not 0 <= self.ema_decay < 1:
            raise ValueRangeError("ema_decay", expected="0 (off) or a decay in (0, 1)", got=self.ema_decay)

    def learning_rate(self, epoch: int) -> float:
        """The learning rate of zero-based ``epoch`` under ``lr_schedule``.

        Examples
        --------
        >>> c = DetectorTrainingConfig(epochs=3, lr=1.0, lr_schedule="cosine")
        >>> [round(c.learning_rate(e), 3) for e in range(3)]
        [1.0, 0.505, 0.01]
        >>> DetectorTrainingConfig(lr=1.0, lr_steps=(1,)).learning_rate(1)
        0.1
        """
        if self.lr_schedule == "cosine":
            final = self.lr / 100
            fraction = epoch / max(1, self.epochs - 1)
            return final + 0.5 * (self.lr - final) * (1 + math.cos(math.pi * min(fraction, 1.0)))
        return self.lr * 0.1 ** sum(epoch >= s for s in self.lr_steps)


@dataclass(frozen=True)
class DetectorTrainingSetup:
    """Everything ``kinelift train-detector`` needs."""

    model: DetectorConfig = field(default_factory=DetectorConfig)
    data: DetectorDataConfig = field(default_factory=DetectorDataConfig)
    training: DetectorTrainingConfig = field(default_factory=DetectorTrainingConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_TABLES = {"model": DetectorConfig, "data": DetectorDataConfig, "training": DetectorTrainingConfig}


def detector_config_from_dict(values: dict[str, Any], *, source: str = "config") -> DetectorTrainingSetup:
    """A :class:`DetectorTrainingSetup` from nested tables; unknown tables or keys raise."""
    return DetectorTrainingSetup(**tables_to_dataclasses(values, _TABLES, source=source))


def load_detector_config(path: str | os.PathLike[str]) -> DetectorTrainingSetup:
    """Read a TOML detector training configuration; data paths become relative to its folder."""
    path = os.fspath(path)
    values = read_toml(path, what="a TOML detector configuration")
    data = values.get("data")
    rebase_paths(data, ("lsp", "lspet", "coco_json", "coco_images"), path)
    if isinstance(data, dict) and isinstance(data.get("frames"), list):
        base = os.path.dirname(os.path.abspath(path))
        data["frames"] = [os.path.join(base, f) if isinstance(f, str) else f for f in data["frames"]]
    training = values.get("training")
    if isinstance(training, dict) and str(training.get("init_from", "")).endswith(".pt"):  # a file, not a shipped name
        rebase_paths(training, ("init_from",), path)
    return detector_config_from_dict(values, source=path)
