"""Marker and joint-centre trajectories of a motion, as :class:`~kinelift.core.tracks.Tracks`.

Examples
--------
>>> import torch
>>> from kinelift.skeleton import SkeletalModel
>>> from kinelift.skeleton.osim_parser import MINIMAL_OSIM
>>> from kinelift.core.table import TimeSeriesTable
>>> model = SkeletalModel.from_osim_string(MINIMAL_OSIM)
>>> motion = TimeSeriesTable([0.0, 0.01], [[0.0], [0.1]], ["hip_flexion"], ["rad"])
>>> motion_to_tracks(model, motion, joints=True).keypoint_names
('knee', 'ground_thigh_center')
"""

from __future__ import annotations

import torch

from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.skeleton.model import SkeletalModel

__all__ = ["motion_to_tracks"]


def motion_to_tracks(model: SkeletalModel, motion: TimeSeriesTable, *, joints: bool = False, missing: str = "default") -> Tracks:
    """Forward kinematics of every frame of ``motion``: markers (and joint centres, named
    ``<joint>_center``, with ``joints=True``) in ground, metres, ``"ground"`` frame."""
    q = model.coordinates_from_table(motion, missing=missing)
    with torch.no_grad():
        out = model(q)
    points, names = out.markers, list(model.marker_names)
    if joints:
        points = torch.cat([points, out.joint_centers], dim=-2)
        names += [f"{j}_center" for j in model.joint_names]
    return Tracks(
        points.numpy(), keypoints=names, time=motion.time, units="m", coordinate_frame="ground",
        metadata={"model": model.spec.source, "motion": motion.metadata.get("source", motion.name)},
    )  # fmt: skip
