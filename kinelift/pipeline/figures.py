"""Figures of the main job: joint-angle curves with the repetitions, 3D skeleton snapshots, distance matrices.

Every function writes one PNG atomically (matplotlib's Agg backend) and returns nothing.
Angles are plotted in degrees (flexion positive), positions in metres with OpenSim's y up.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from scipy.spatial.distance import cdist

from kinelift.analysis.distances import distance_matrix, temporal_distance_matrix
from kinelift.analysis.repetitions import Repetition
from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.io._atomic import save_png

__all__ = ["plot_angle_curves", "plot_skeleton_snapshots", "plot_distance_matrices"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _mark(ax, repetitions: Sequence[Repetition]) -> None:
    for rep in repetitions:
        ax.axvspan(rep.start_time, rep.end_time, color="0.92", zorder=0)
        ax.axvline(rep.bottom_time, color="0.5", lw=0.8, ls="--")


def plot_angle_curves(angles: TimeSeriesTable, repetitions: Sequence[Repetition], path: str | os.PathLike[str], *,
                      title: str = "", overwrite: bool = False) -> None:  # fmt: skip
    """Hip, knee and ankle angles and the thigh's lean of both sides (deg) over time, repetitions
    shaded, bottoms dashed (the rows the table has)."""
    plt = _pyplot()
    joints = [j for j in ("hip_flexion", "thigh_lean", "hip_adduction", "knee_flexion", "ankle_dorsiflexion") if f"{j}_r" in angles.column_names]
    fig, axes = plt.subplots(len(joints), 1, figsize=(10, 2.2 * max(len(joints), 1)), sharex=True, squeeze=False)
    for ax, joint in zip(axes[:, 0], joints):
        for side, color in (("r", "C3"), ("l", "C0")):
            name = f"{joint}_{side}"
            if name in angles.column_names:
                ax.plot(angles.time, np.degrees(angles.column(name)), color=color, lw=1.3, label="right" if side == "r" else "left")
        _mark(ax, repetitions)
        ax.set_ylabel(f"{joint.replace('_', ' ')}\n(deg)")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("time (s)")
    fig.suptitle(title or f"joint angles; {len(repetitions)} repetition(s) shaded")
    fig.tight_layout()
    save_png(fig, path, overwrite=overwrite)


def plot_skeleton_snapshots(points: Tracks, times: Sequence[float], path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """3D keypoints (m, y up) at the frames nearest ``times``, one panel each, bones from the set's edges."""
    plt = _pyplot()
    frames = [int(np.argmin(np.abs(points.time - t))) for t in times]
    edges = points.keypoint_set.edges
    fig = plt.figure(figsize=(3.2 * len(frames), 4))
    finite = points.positions[np.isfinite(points.positions).all(-1)]
    centre = finite.mean(0) if len(finite) else np.zeros(3)
    half = max(float(np.ptp(finite, axis=0).max()) / 2, 0.5) if len(finite) else 1.0
    for i, f in enumerate(frames):
        ax = fig.add_subplot(1, len(frames), i + 1, projection="3d")
        p = points.positions[f]
        for a, b in edges:
            ax.plot([p[a, 0], p[b, 0]], [p[a, 2], p[b, 2]], [p[a, 1], p[b, 1]], color="C0", lw=2)
        ax.scatter(p[:, 0], p[:, 2], p[:, 1], s=8, color="C3")
        ax.set(xlim=(centre[0] - half, centre[0] + half), ylim=(centre[2] - half, centre[2] + half), zlim=(0, 2 * half),
               xlabel="x (m)", ylabel="z (m)", zlabel="y up (m)", title=f"t = {points.time[f]:.2f} s")  # fmt: skip
        ax.view_init(elev=12, azim=-60)
    fig.tight_layout()
    save_png(fig, path, overwrite=overwrite)


def plot_distance_matrices(points: Tracks, frame: int, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Left: pairwise keypoint distances (m) at ``frame``; right: frame-by-frame distance between the
    poses' normalised distance features (how alike the poses of two moments are)."""
    plt = _pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.6))
    d = distance_matrix(points.positions[frame])
    im = a.imshow(d, cmap="viridis")
    names = [n.replace("_", " ") for n in points.keypoint_names]
    a.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
    a.set_yticks(range(len(names)), names, fontsize=6)
    a.set_title(f"keypoint distances at t = {points.time[frame]:.2f} s (m)")
    fig.colorbar(im, ax=a, fraction=0.046)
    features = temporal_distance_matrix(points)
    ok = np.isfinite(features).all(1)
    pose = np.full((len(features), len(features)), np.nan)
    sub = features[ok]
    pose[np.ix_(ok, ok)] = cdist(sub, sub)  # not a (T, T, features) difference array: 0.3 GB for 540 frames
    t = points.time
    im2 = b.imshow(pose, cmap="magma", extent=(t[0], t[-1], t[-1], t[0]))
    b.set(title="pose dissimilarity between frames", xlabel="time (s)", ylabel="time (s)")
    fig.colorbar(im2, ax=b, fraction=0.046)
    fig.tight_layout()
    save_png(fig, path, overwrite=overwrite)
