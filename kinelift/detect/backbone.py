"""ResNet-18 backbone in pure torch, with the parameter names of the usual ResNet checkpoints.

The layout (``conv1``, ``bn1``, ``layer1`` .. ``layer4`` of ``BasicBlock`` s with ``conv1``/``bn1``/
``conv2``/``bn2``/``downsample.0``/``downsample.1``) is that of torchvision's ``resnet18``, so an
ImageNet weights file a user has (``resnet18-f37072fd.pth`` or any state dict with those names)
loads with :func:`load_backbone`. ``width`` scales every channel count (0.5 gives a model a quarter
the size for CPU training; only ``width=1`` matches the ImageNet checkpoints).

The backbone returns the feature maps ``c2``..``c5`` at strides 4, 8, 16 and 32: for a 256x192
input, ``c5`` is ``(512, 8, 6)``.

Examples
--------
>>> import torch
>>> net = ResNet18Backbone()
>>> [tuple(f.shape[1:]) for f in net(torch.zeros(1, 3, 256, 192))]
[(64, 64, 48), (128, 32, 24), (256, 16, 12), (512, 8, 6)]
"""

from __future__ import annotations

import os

import torch
from torch import nn

from kinelift.errors import FileFormatError, ShapeError

__all__ = ["BasicBlock", "ResNet18Backbone", "load_backbone"]


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 projection) shortcut."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet18Backbone(nn.Module):
    """ResNet-18 without its classifier; ``forward`` returns ``[c2, c3, c4, c5]``.

    Parameters
    ----------
    width : float, default 1.0
        Channel multiplier (64, 128, 256, 512 at 1.0).
    """

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        c = [max(8, int(round(w * width))) for w in (64, 128, 256, 512)]
        self.channels = tuple(c)
        self.conv1 = nn.Conv2d(3, c[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(c[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(c[0], c[0]), BasicBlock(c[0], c[0]))
        self.layer2 = nn.Sequential(BasicBlock(c[0], c[1], 2), BasicBlock(c[1], c[1]))
        self.layer3 = nn.Sequential(BasicBlock(c[1], c[2], 2), BasicBlock(c[2], c[2]))
        self.layer4 = nn.Sequential(BasicBlock(c[2], c[3], 2), BasicBlock(c[3], c[3]))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ShapeError("images", expected="(batch, 3, height, width)", got=tuple(images.shape))
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        return [c2, c3, c4, self.layer4(c4)]


def load_backbone(model: nn.Module, path: str | os.PathLike[str]) -> list[str]:
    """Load ResNet-18 weights (torchvision names) into ``model``'s backbone; returns the names loaded.

    ``model`` is a :class:`ResNet18Backbone` or a detector with a ``backbone`` attribute. The
    file is read with ``weights_only=True``; a ``state_dict`` or ``model`` entry is unwrapped, the
    prefixes ``module.`` and ``backbone.`` are stripped and the classifier (``fc.*``) is ignored.
    Every backbone tensor must be present with its shape, else :class:`~kinelift.errors.FileFormatError`.
    """
    backbone = model if isinstance(model, ResNet18Backbone) else getattr(model, "backbone", None)
    if not isinstance(backbone, ResNet18Backbone):
        raise TypeError(f"model: expected a ResNet18Backbone or a detector with one, got {type(model).__name__}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileFormatError(path, "file not found", expected="a ResNet-18 state dict") from None
    except Exception as err:  # torch raises several types for corrupt or foreign files
        raise FileFormatError(path, f"not a readable torch file ({type(err).__name__})", expected="a ResNet-18 state dict") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise FileFormatError(path, "no state dict inside", expected="a dict of tensors with torchvision resnet18 names")
    cleaned = {}
    for name, value in state.items():
        for prefix in ("module.", "backbone."):
            name = name[len(prefix):] if name.startswith(prefix) else name
        if not name.startswith("fc."):
            cleaned[name] = value
    own = backbone.state_dict()
    missing = [k for k in own if k not in cleaned]
    wrong = [f"{k}: file {tuple(cleaned[k].shape)}, model {tuple(own[k].shape)}" for k in own if k in cleaned and cleaned[k].shape != own[k].shape]
    if missing or wrong:
        raise FileFormatError(path, f"backbone tensors missing {missing[:5]} or of another shape {wrong[:5]}",
                              expected="torchvision resnet18 names and shapes (width 1.0)")  # fmt: skip
    backbone.load_state_dict({k: cleaned[k] for k in own})
    return list(own)
