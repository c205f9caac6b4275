"""The result of lifting one person's 2D track: model coordinates, body size, 3D points, writers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.errors import ShapeError
from kinelift.skeleton.spec import ModelSpec

__all__ = ["LiftResult"]


@dataclass(frozen=True, eq=False)
class LiftResult:
    """3D kinematics lifted from one camera (``T`` frames) on the built-in model.

    Attributes
    ----------
    time : ndarray (T,)
        Seconds, those of the input track.
    coordinate_names : tuple of str
        The built-in model's coordinates (OpenSim names).
    coordinates : ndarray (T, n)
        Rad (rotational) and m (the pelvis translation). The ground frame is OpenSim's (y up),
        with x along the subject's mean facing direction; see :func:`kinelift.lifting.lift` for how
        the pelvis translation is found.
    coordinate_units : tuple of str
    model : ModelSpec
        The built-in model scaled to the subject (its ``body_scales`` applied): the model the
        coordinates belong to; :meth:`write_osim` writes it for OpenSim.
    body_scales : ndarray (n_bodies, 3)
        Scale factors of the built-in model of 1.75 m, per body of ``model``.
    height : float
        Standing height of the scaled model (m): the given one, or the lifter's estimate.
    keypoints, joints, markers : Tracks
        3D positions in ground (m): the input keypoint set's points on the model, the model's joint
        centres (``<joint>_center``) and its landmarks.
    confidence : ndarray (T,)
        Mean input keypoint confidence of each frame (missing points count 0): how much the frame
        was seen, not an error estimate.
    camera_rotation : ndarray (3, 3)
        Ground-to-camera rotation (camera x right, y down, z forward).
    root_in_camera : ndarray (T, 3) or None
        Pelvis origin in the camera frame (m), when the camera intrinsics were given.
    seen : ndarray (T,) of bool
        Frames where the subject was seen (:data:`kinelift.lifting.inference.SEEN_FRACTION`);
        the coordinates and 3D points of the others are NaN. Default: every frame.
    """

    time: np.ndarray
    coordinate_names: tuple[str, ...]
    coordinates: np.ndarray
    coordinate_units: tuple[str, ...]
    model: ModelSpec
    body_scales: np.ndarray
    height: float
    keypoints: Tracks
    joints: Tracks
    markers: Tracks
    confidence: np.ndarray
    camera_rotation: np.ndarray
    root_in_camera: np.ndarray | None = None
    seen: np.ndarray | None = None

    def __post_init__(self) -> None:
        seen = np.ones(len(self.time), dtype=bool) if self.seen is None else np.asarray(self.seen, dtype=bool)
        if seen.shape != (len(self.time),):
            raise ShapeError("seen", expected=f"({len(self.time)},) booleans, one per frame", got=seen.shape)
        object.__setattr__(self, "seen", seen)

    @property
    def n_frames(self) -> int:
        return len(self.time)

    def to_table(self) -> TimeSeriesTable:
        """Coordinates (rad / m) as a table named ``Coordinates``."""
        return TimeSeriesTable(self.time, self.coordinates, self.coordinate_names, self.coordinate_units, name="Coordinates",
                               metadata={"source": "kinelift.lifting", "model": self.model.name})  # fmt: skip

    def to_dataframe(self) -> Any:
        """Coordinates as a pandas DataFrame indexed by time (rad / m)."""
        return self.to_table().to_dataframe()

    def confidence_table(self) -> TimeSeriesTable:
        """Per frame: the mean input keypoint confidence and ``subject_seen`` (1 seen, 0 not: no pose there)."""
        return TimeSeriesTable(self.time, np.column_stack([self.confidence, self.seen.astype(float)]), ["confidence", "subject_seen"],
                               ["", ""], name="lift_confidence")  # fmt: skip

    def write_mot(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """The coordinates as an OpenSim ``.mot`` (degrees, ``inDegrees=yes``), for the model of :meth:`write_osim`."""
        from kinelift.io.mot import write_mot

        write_mot(self.to_table(), path, overwrite=overwrite)

    def write_trc(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Model landmarks and keypoints in ground as an OpenSim ``.trc`` (mm)."""
        from kinelift.io.trc import write_trc

        names = list(self.markers.keypoint_names) + [f"kp_{n}" for n in self.keypoints.keypoint_names]
        both = Tracks(np.concatenate([self.markers.positions, self.keypoints.positions], axis=1), keypoints=names, time=self.time,
                      units="m", coordinate_frame="ground")  # fmt: skip
        write_trc(both, path, units="mm", overwrite=overwrite)

    def write_osim(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """The scaled built-in model as an OpenSim 4 ``.osim`` (loads with the ``opensim`` package)."""
        from kinelift.skeleton.osim_writer import write_osim

        write_osim(self.model, path, overwrite=overwrite)

    def write_h5(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Everything in the kinelift HDF5 layout: ``/kinematics/coordinates``, ``/analysis/lift_confidence``
        and the keypoints, joint centres and landmarks as 3D tracks."""
        from kinelift.io.hdf5 import write_h5

        tracks = [self.keypoints.replace(person_id="keypoints"), self.joints.replace(person_id="joints"),
                  self.markers.replace(person_id="markers")]  # fmt: skip
        write_h5(path, tracks=tracks, kinematics={"coordinates": self.to_table()}, analysis={"lift_confidence": self.confidence_table()},
                 overwrite=overwrite)  # fmt: skip

    def write(self, out_dir: str | os.PathLike[str], *, stem: str = "lift", overwrite: bool = False) -> dict[str, Path]:
        """Write ``<stem>.h5``, ``<stem>.mot``, ``<stem>.trc`` and ``<stem>_model.osim`` into ``out_dir``; returns the paths.

        All or nothing: every target is checked before any is written (an existing one without
        ``overwrite`` is refused with nothing written)."""
        from kinelift.io._atomic import staged_outputs

        names = {kind: f"{stem}{suffix}" for kind, suffix in (("h5", ".h5"), ("mot", ".mot"), ("trc", ".trc"), ("osim", "_model.osim"))}
        with staged_outputs(out_dir, list(names.values()), overwrite=overwrite) as stage:
            self.write_h5(stage / names["h5"])
            self.write_mot(stage / names["mot"])
            self.write_trc(stage / names["trc"])
            self.write_osim(stage / names["osim"])
        return {kind: Path(out_dir) / name for kind, name in names.items()}
