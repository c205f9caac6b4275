"""Temporal networks over windows of 2D keypoint features: dilated convolutions and a transformer.

Both map ``(B, in_features, T_in)`` to ``(B, out_features, T_in - receptive_field + 1)``: one
output per full window of ``receptive_field`` input frames, centred on the output frame (or
ending at it when ``causal=True``, for live use).

- :class:`TemporalConvNet`: VideoPose3D's dilated temporal convolutions (Pavllo et al., CVPR
  2019): a width-3 expansion convolution, then residual blocks of a width-3 convolution of
  dilation 3, 9, 27, ... and a 1x1 convolution, each with batch norm, ReLU and dropout.
  ``filter_widths=(3, 3, 3)`` gives a receptive field of 27 frames, ``(3, 3, 3, 3)`` 81 and
  ``(3, 3, 3, 3, 3)`` 243.
- :class:`TemporalTransformer`: a transformer encoder over each window (learned positional
  embedding); the output frame's token (the centre, or the last with a causal mask) is read out.

Examples
--------
>>> import torch
>>> net = TemporalConvNet(51, 10, filter_widths=(3, 3, 3), channels=32).eval()
>>> net.receptive_field, tuple(net(torch.zeros(2, 51, 30)).shape)
(27, (2, 10, 4))
>>> tr = TemporalTransformer(51, 10, receptive_field=9, d_model=16, heads=2, layers=1).eval()
>>> tuple(tr(torch.zeros(2, 51, 12)).shape)
(2, 10, 4)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from kinelift.errors import ShapeError, ValueRangeError

__all__ = ["TemporalConvNet", "TemporalTransformer"]


def _check_input(x: torch.Tensor, in_features: int, receptive_field: int) -> None:
    if x.ndim != 3 or x.shape[1] != in_features:
        raise ShapeError("x", expected=f"(batch, {in_features} features, frames)", got=tuple(x.shape))
    if x.shape[2] < receptive_field:
        raise ShapeError("x", expected=f"at least {receptive_field} frames (the receptive field)", got=tuple(x.shape))


class TemporalConvNet(nn.Module):
    """Dilated temporal convolutions (see module docs).

    Parameters
    ----------
    in_features, out_features : int
    filter_widths : sequence of int, default (3, 3, 3, 3)
        Odd widths; the receptive field is their product.
    channels : int, default 256
    dropout : float, default 0.25
    causal : bool, default False
    """

    def __init__(self, in_features: int, out_features: int, *, filter_widths: Sequence[int] = (3, 3, 3, 3),
                 channels: int = 256, dropout: float = 0.25, causal: bool = False) -> None:  # fmt: skip
        super().__init__()
        widths = tuple(int(w) for w in filter_widths)
        if not widths or any(w < 1 or w % 2 == 0 for w in widths):
            raise ValueRangeError("filter_widths", expected="one or more odd positive widths", got=filter_widths)
        self.in_features, self.out_features, self.causal = in_features, out_features, causal
        self.receptive_field = math.prod(widths)
        self.expand = nn.Sequential(nn.Conv1d(in_features, channels, widths[0], bias=False), nn.BatchNorm1d(channels, momentum=0.1),
                                    nn.ReLU(inplace=True), nn.Dropout(dropout))  # fmt: skip
        self.blocks = nn.ModuleList()
        self._pads: list[int] = []
        dilation = widths[0]
        for w in widths[1:]:
            self._pads.append((w - 1) * dilation // 2)
            self.blocks.append(nn.Sequential(
                nn.Conv1d(channels, channels, w, dilation=dilation, bias=False), nn.BatchNorm1d(channels, momentum=0.1),
                nn.ReLU(inplace=True), nn.Dropout(dropout),
                nn.Conv1d(channels, channels, 1, bias=False), nn.BatchNorm1d(channels, momentum=0.1),
                nn.ReLU(inplace=True), nn.Dropout(dropout),
            ))  # fmt: skip
            dilation *= w
        self.shrink = nn.Conv1d(channels, out_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_features, self.receptive_field)
        x = self.expand(x)
        for pad, block in zip(self._pads, self.blocks):
            shift = pad if self.causal else 0
            res = x[:, :, pad + shift : x.shape[2] - pad + shift]
            x = res + block(x)
        return self.shrink(x)


class TemporalTransformer(nn.Module):
    """Transformer encoder over windows of ``receptive_field`` frames (see module docs).

    Parameters
    ----------
    in_features, out_features : int
    receptive_field : int, default 81
    d_model : int, default 128
    heads : int, default 4
    layers : int, default 4
    dropout : float, default 0.1
    causal : bool, default False
    """

    def __init__(self, in_features: int, out_features: int, *, receptive_field: int = 81, d_model: int = 128, heads: int = 4,
                 layers: int = 4, dropout: float = 0.1, causal: bool = False) -> None:  # fmt: skip
        super().__init__()
        if receptive_field < 1 or (not causal and receptive_field % 2 == 0):
            raise ValueRangeError("receptive_field", expected="a positive odd number of frames", got=receptive_field)
        self.in_features, self.out_features, self.causal = in_features, out_features, causal
        self.receptive_field = int(receptive_field)
        self.embed = nn.Linear(in_features, d_model)
        self.position = nn.Parameter(torch.zeros(1, self.receptive_field, d_model))
        nn.init.normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(d_model, heads, 2 * d_model, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, out_features))
        mask = torch.triu(torch.full((self.receptive_field,) * 2, float("-inf")), diagonal=1) if causal else None
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_features, self.receptive_field)
        b, f, t = x.shape
        rf = self.receptive_field
        windows = x.unfold(2, rf, 1).permute(0, 2, 3, 1).reshape(-1, rf, f)  # (B * T_out, rf, F)
        h = self.encoder(self.embed(windows) + self.position, mask=self.mask)
        token = h[:, -1] if self.causal else h[:, rf // 2]
        return self.head(token).reshape(b, t - rf + 1, self.out_features).transpose(1, 2)
