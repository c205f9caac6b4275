"""Torch networks that classify a sequence of per-frame features ``(batch, frames, features)``.

* :class:`TemporalResNet` -- the 1D CNN of Ogata et al. (2019) on temporal distance matrices:
  a convolutional stem, residual blocks of 1D convolutions along time (batch norm, ReLU,
  identity or strided 1x1 shortcut), global average pooling over time and a linear layer.
  ``TemporalResNet(n_blocks=4)`` is the full network; ``n_blocks=2, dropout=0.5`` is the
  simplified form with dropout.
* :class:`BiLSTMClassifier` -- a two-layer bidirectional LSTM; the last layer's outputs are
  averaged over time, then a linear layer.

Both return unnormalised class scores ``(batch, classes)``.

Examples
--------
>>> import torch
>>> net = TemporalResNet(n_features=171, n_classes=7, n_blocks=2, dropout=0.5)
>>> net(torch.zeros(4, 64, 171)).shape
torch.Size([4, 7])
>>> BiLSTMClassifier(n_features=171, n_classes=2)(torch.zeros(4, 64, 171)).shape
torch.Size([4, 2])
"""

from __future__ import annotations

import torch
from torch import nn

from kinelift.errors import ShapeError

__all__ = ["BiLSTMClassifier", "ResidualBlock1d", "TemporalResNet"]


def _check(x: torch.Tensor, n_features: int) -> None:
    if x.ndim != 3 or x.shape[-1] != n_features:
        raise ShapeError("x", expected=f"(batch, frames, {n_features} features)", got=tuple(x.shape))


class ResidualBlock1d(nn.Module):
    """``conv-bn-relu-conv-bn`` along time plus a shortcut, then ReLU."""

    def __init__(self, c_in: int, c_out: int, *, stride: int = 1, kernel_size: int = 3) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.body = nn.Sequential(
            nn.Conv1d(c_in, c_out, kernel_size, stride=stride, padding=pad, bias=False), nn.BatchNorm1d(c_out), nn.ReLU(inplace=True),
            nn.Conv1d(c_out, c_out, kernel_size, padding=pad, bias=False), nn.BatchNorm1d(c_out),
        )  # fmt: skip
        self.shortcut = (
            nn.Identity() if stride == 1 and c_in == c_out
            else nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out))
        )  # fmt: skip
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class TemporalResNet(nn.Module):
    """Residual 1D CNN over time (see the module docs).

    Parameters
    ----------
    n_features, n_classes : int
    n_blocks : int, default 4
        Residual blocks; the channel count doubles (and time halves) every second block.
    width : int, default 64
        Channels after the stem.
    dropout : float, default 0.0
        Dropout before the linear layer.
    """

    def __init__(self, n_features: int, n_classes: int, *, n_blocks: int = 4, width: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        self.n_features = n_features
        self.stem = nn.Sequential(nn.Conv1d(n_features, width, 7, padding=3, bias=False), nn.BatchNorm1d(width), nn.ReLU(inplace=True))
        blocks, c = [], width
        for i in range(n_blocks):
            c_out = width * 2 ** (i // 2)
            blocks.append(ResidualBlock1d(c, c_out, stride=2 if i % 2 == 1 else 1))
            c = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check(x, self.n_features)
        h = self.blocks(self.stem(x.transpose(1, 2)))
        return self.head(h.mean(dim=-1))


class BiLSTMClassifier(nn.Module):
    """Two-layer bidirectional LSTM, time-averaged outputs, linear layer."""

    def __init__(self, n_features: int, n_classes: int, *, hidden: int = 64, n_layers: int = 2, dropout: float = 0.2) -> None:
        super().__init__()
        self.n_features = n_features
        self.lstm = nn.LSTM(n_features, hidden, num_layers=n_layers, batch_first=True, bidirectional=True, dropout=dropout if n_layers > 1 else 0.0)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check(x, self.n_features)
        out, _ = self.lstm(x)
        return self.head(out.mean(dim=1))
