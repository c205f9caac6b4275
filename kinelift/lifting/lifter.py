"""The lifter: a temporal network whose outputs pass through the skeletal layer.

:class:`Lifter` maps normalised 2D features ``(B, T_in, K, 3)`` (see
:mod:`kinelift.lifting.features`) to, per output frame:

- ``coordinates``: the built-in model's coordinates other than the pelvis's six (rad), in
  :attr:`Lifter.pose_coordinate_names` order, inside each coordinate's range
  (``centre + half_range * tanh(x)``): this keeps the network on OpenSim's branch of the Euler
  angles (a hip at flexion ``f``, adduction ``a``, rotation ``r`` puts every point where
  ``f + pi, pi - a, r + pi`` does);
- ``root_rotation``: the pelvis orientation in the camera frame, ``R_camera_pelvis`` (3, 3)
  (camera x right, y down, z forward), from a 6D head (Zhou et al. 2019);
- ``up``: the world's up direction in the camera frame (unit vector), which fixes the ground;
- ``segment_scales``: one factor per segment of :data:`kinelift.lifting.segments.SEGMENTS`,
  relative to the built-in model of 1.75 m (``exp(0.3 tanh(x))``: positive, within 0.74-1.35);
- through forward kinematics of the built-in model (pelvis at the origin): ``joints`` (the
  model's joint centres), ``markers`` (its landmarks) and ``keypoints`` (the input set's points
  on the model), all ``(..., n, 3)`` in metres, camera axes, relative to the pelvis origin
  (the hip midpoint).

Examples
--------
>>> import torch
>>> from kinelift.lifting.config import LifterConfig
>>> lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(3, 3), channels=16)).eval()
>>> out = lifter(torch.zeros(1, 12, 6, 3))
>>> tuple(out.keypoints.shape), tuple(out.root_rotation.shape)
((1, 4, 6, 3), (1, 4, 3, 3))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from kinelift.core.keypoint_sets import get_keypoint_set
from kinelift.errors import ShapeError, ValueRangeError
from kinelift.lifting.config import LifterConfig
from kinelift.lifting.networks import TemporalConvNet, TemporalTransformer
from kinelift.lifting.rotations import rotation_6d_to_matrix
from kinelift.lifting.segments import SEGMENTS, segment_to_body_scales
from kinelift.skeleton.builtin import builtin_model
from kinelift.skeleton.keypoint_maps import keypoint_map, with_keypoints
from kinelift.skeleton.model import SkeletalModel

__all__ = ["Lifter", "LifterOutput", "N_ROOT_COORDINATES", "lifter_skeleton"]

N_ROOT_COORDINATES = 6
"""The pelvis's coordinates (tilt, list, rotation, tx, ty, tz) lead the built-in model's list."""


def lifter_skeleton(keypoints: str) -> SkeletalModel:
    """The built-in model with the points of ``keypoints`` appended to its markers (``keypoint:<name>``):
    one forward pass gives joint centres, landmarks and keypoints."""
    return with_keypoints(builtin_model(arms=True), get_keypoint_set(keypoints), prefix="keypoint:", keep_markers=True, require_all=True)[0]


@lru_cache(maxsize=8)
def _keypoint_skeleton(keypoints: str) -> SkeletalModel:
    """:func:`lifter_skeleton` with the keypoints as its only markers (for :meth:`Lifter.assemble`'s ``keypoints_only``)."""
    return with_keypoints(builtin_model(arms=True), get_keypoint_set(keypoints), prefix="keypoint:", require_all=True)[0]


@dataclass
class LifterOutput:
    """Per-frame outputs of :class:`Lifter` (see the module docs for frames and units)."""

    coordinates: torch.Tensor
    root_rotation: torch.Tensor
    up: torch.Tensor
    segment_scales: torch.Tensor
    joints: torch.Tensor
    markers: torch.Tensor
    keypoints: torch.Tensor


class Lifter(nn.Module):
    """Temporal 2D-to-3D lifter through the built-in skeletal model (see module docs).

    Parameters
    ----------
    config : LifterConfig
    """

    def __init__(self, config: LifterConfig) -> None:
        super().__init__()
        self.config = config
        self.keypoint_set = get_keypoint_set(config.keypoints)
        model = builtin_model(arms=True)
        self.n_markers = len(model.marker_names)
        self.skeleton = lifter_skeleton(config.keypoints)
        self.foot_keypoints: np.ndarray = keypoint_map(model, self.keypoint_set).on_foot
        """Boolean ``(K,)``: the keypoints on a foot below the ankle joint (heels, toes; :attr:`KeypointMap.on_foot`)."""
        self.marker_names = model.marker_names
        self.joint_names = model.joint_names
        self.pose_coordinate_names = model.coordinate_names[N_ROOT_COORDINATES:]
        self.n_pose = len(self.pose_coordinate_names)
        self.n_heads = self.n_pose + 6 + 3 + len(SEGMENTS)
        self.n_points = len(self.joint_names) + self.n_markers + len(self.keypoint_set) if config.output == "points" else 0
        n_out = self.n_heads + 3 * self.n_points
        n_in = 3 * len(self.keypoint_set)
        if config.architecture == "conv":
            self.network: nn.Module = TemporalConvNet(n_in, n_out, filter_widths=config.filter_widths, channels=config.channels,
                                                      dropout=config.dropout, causal=config.causal)  # fmt: skip
        else:
            self.network = TemporalTransformer(n_in, n_out, receptive_field=config.transformer_window, d_model=config.transformer_dim,
                                               heads=config.transformer_heads, layers=config.transformer_layers,
                                               dropout=min(config.dropout, 0.1), causal=config.causal)  # fmt: skip
        ranges = torch.as_tensor(model.coordinate_ranges[N_ROOT_COORDINATES:], dtype=torch.float32)
        self.register_buffer("_coord_centre", ranges.mean(-1))
        self.register_buffer("_coord_half_range", (ranges[:, 1] - ranges[:, 0]) / 2)
        self.register_buffer("_rot_base", torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))
        self.register_buffer("_up_base", torch.tensor([0.0, -1.0, 0.0]))

    @property
    def receptive_field(self) -> int:
        return self.network.receptive_field

    def forward(self, features: torch.Tensor) -> LifterOutput:
        k = len(self.keypoint_set)
        if features.ndim != 4 or features.shape[2:] != (k, 3):
            raise ShapeError("features", expected=f"(batch, frames, {k} keypoints, 3)", got=tuple(features.shape))
        x = features.flatten(2).transpose(1, 2)
        raw = self.network(x).transpose(1, 2).float()  # (B, T_out, n_out)
        return self.decode(raw)

    def heads(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Head values ``(..., n_out)`` -> pose coordinates, root rotation, up vector, segment scales."""
        n = self.n_pose
        coords = self._coord_centre + self._coord_half_range * torch.tanh(raw[..., :n])
        rotation = rotation_6d_to_matrix(raw[..., n : n + 6] + self._rot_base)
        up = nn.functional.normalize(raw[..., n + 6 : n + 9] + self._up_base, dim=-1, eps=1e-8)
        segments = torch.exp(0.3 * torch.tanh(raw[..., n + 9 : self.n_heads]))
        return coords, rotation, up, segments

    def load_coordinates_twin(self, twin: Lifter) -> None:
        """Load the weights of ``twin``, this network with ``output="coordinates"``, into this
        ``output="points"`` lifter: the output rows of the points' correction start at zero, so
        this lifter's outputs are the twin's until it trains (how a points lifter grows from a
        shipped one, ``[training] init_from``)."""
        from dataclasses import replace

        if self.config.output != "points" or twin.config != replace(self.config, output="coordinates"):
            raise ValueRangeError("twin", expected=f"the output='coordinates' twin of {self.config}", got=twin.config)
        own = self.state_dict()
        state = {}
        for k, v in twin.state_dict().items():  # the last layer's rows (and bias) grow by the points' outputs
            grown = v.shape != own[k].shape
            state[k] = torch.cat([v, v.new_zeros((own[k].shape[0] - v.shape[0],) + v.shape[1:])]) if grown else v
        self.load_state_dict(state)

    def load_other_keypoints(self, other: Lifter) -> None:
        """Load the weights of ``other``, this network for another keypoint set: the input weights
        of the keypoints both sets have are copied by name, those of this set's other keypoints
        start at zero (so this lifter reads what ``other`` read and learns the rest when it trains:
        how a lifter for a new keypoint set grows from a shipped one, ``[training] init_from``)."""
        from dataclasses import replace

        if other.config != replace(self.config, keypoints=other.config.keypoints):
            raise ValueRangeError("other", expected=f"a lifter like {self.config} for another keypoint set", got=other.config)
        theirs = list(other.keypoint_set.names)
        shared = [(i, theirs.index(n)) for i, n in enumerate(self.keypoint_set.names) if n in theirs]
        if not shared:
            raise ValueRangeError("other", expected=f"a keypoint set sharing points with {self.keypoint_set.name}", got=other.keypoint_set.name)
        own = self.state_dict()
        state = {}
        for k, v in other.state_dict().items():
            if v.shape == own[k].shape:
                state[k] = v
                continue
            if v.ndim < 2 or v.shape[0] != own[k].shape[0] or v.shape[1] != 3 * len(theirs):  # only the first layer reads the keypoints
                raise ValueRangeError("other", expected="networks that differ only in their input layer", got=f"{k}: {tuple(v.shape)}")
            grown = v.new_zeros(own[k].shape)
            for mine, their in shared:
                grown[:, 3 * mine : 3 * mine + 3] = v[:, 3 * their : 3 * their + 3]
            state[k] = grown
        self.load_state_dict(state)

    def clamp_coordinates(self, coords: torch.Tensor) -> torch.Tensor:
        """Pose coordinates ``(..., n_pose)`` (rad) clipped to the built-in model's ranges, the
        ones the network's outputs lie in (used after a fit that moved them)."""
        low, high = self._coord_centre - self._coord_half_range, self._coord_centre + self._coord_half_range
        return torch.minimum(torch.maximum(coords, low.to(coords)), high.to(coords))

    def decode(self, raw: torch.Tensor) -> LifterOutput:
        """Head values ``(..., n_out)`` -> :class:`LifterOutput` through forward kinematics; with
        ``config.output == "points"`` the joints, markers and keypoints are the forward kinematics'
        plus the network's free correction (metres, camera axes)."""
        out = self.assemble(*self.heads(raw[..., : self.n_heads]))
        if not self.n_points:
            return out
        nj, nm = len(self.joint_names), self.n_markers
        delta = raw[..., self.n_heads :].reshape(raw.shape[:-1] + (self.n_points, 3))
        return LifterOutput(out.coordinates, out.root_rotation, out.up, out.segment_scales, out.joints + delta[..., :nj, :],
                            out.markers + delta[..., nj : nj + nm, :], out.keypoints + delta[..., nj + nm :, :])  # fmt: skip

    def assemble(self, coords: torch.Tensor, rotation: torch.Tensor, up: torch.Tensor, segments: torch.Tensor, *,
                 keypoints_only: bool = False) -> LifterOutput:  # fmt: skip
        """Forward kinematics of given pose coordinates, root rotation and segment scales (also for targets).

        ``keypoints_only``: only the keypoints are computed, the same ones; ``joints`` and
        ``markers`` come back with no points, ``(..., 0, 3)`` (for a fit that reads only the
        keypoints: forward and backward pass a third cheaper, 16 -> 11 ms for 540 frames of the
        LSP-14 lifter on this project's CPU).
        """
        q = torch.cat([coords.new_zeros(coords.shape[:-1] + (N_ROOT_COORDINATES,)), coords], dim=-1)
        if keypoints_only:
            skeleton = _keypoint_skeleton(self.config.keypoints)
            keypoints = skeleton(q, scales=segment_to_body_scales(segments, skeleton.body_names)).markers @ rotation.transpose(-1, -2)
            return LifterOutput(coords, rotation, up, segments, keypoints[..., :0, :], keypoints[..., :0, :], keypoints)
        fk = self.skeleton(q, scales=segment_to_body_scales(segments, self.skeleton.body_names))
        points = torch.cat([fk.joint_centers, fk.markers], dim=-2)
        points = points @ rotation.transpose(-1, -2)
        nj, nm = len(self.joint_names), self.n_markers
        return LifterOutput(coords, rotation, up, segments, points[..., :nj, :], points[..., nj : nj + nm, :], points[..., nj + nm :, :])
