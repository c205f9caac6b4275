"""The result of an IK run: coordinates per frame, marker errors as OpenSim reports them, and writers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks

__all__ = ["IKResult"]


@dataclass(frozen=True, eq=False)
class IKResult:
    """Inverse kinematics of one trial (``T`` frames, ``n`` coordinates, ``M`` tracked markers).

    Attributes
    ----------
    time : ndarray (T,)
        Seconds.
    coordinate_names : tuple of str
    coordinates : ndarray (T, n)
        Model coordinates, rad (rotational) and m (translational); coupled ones from their
        constraints; NaN rows for failed frames.
    coordinate_units : tuple of str
        ``"rad"``, ``"m"`` or ``""`` per coordinate (OpenSim's file units rule).
    marker_names : tuple of str
        The tracked markers.
    measured, model_markers : ndarray (T, M, 3)
        Measured and model marker positions in ground (m); NaN where missing.
    marker_weights : ndarray (T, M)
        Task weight per frame (zero where the marker is missing).
    objective : ndarray (T,)
        OpenSim's objective at the solution: weighted squared marker errors (m^2) plus weighted
        squared coordinate-task errors.
    iterations : ndarray (T,)
        Solver iterations (Jacobian evaluations) per frame.
    converged : ndarray of bool (T,)
        Whether the frame met the solver's stopping rule.
    failed_frames : ndarray of int
        Frames not solved because fewer than ``min_markers`` markers were present.
    model_name : str
    """

    time: np.ndarray
    coordinate_names: tuple[str, ...]
    coordinates: np.ndarray
    coordinate_units: tuple[str, ...]
    marker_names: tuple[str, ...]
    measured: np.ndarray
    model_markers: np.ndarray
    marker_weights: np.ndarray
    objective: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    failed_frames: np.ndarray
    model_name: str = "model"
    seconds: float = float("nan")

    # ------------------------------------------------------------ errors
    @property
    def n_frames(self) -> int:
        return len(self.time)

    @cached_property
    def marker_errors(self) -> np.ndarray:
        """``(T, M)`` distance (m) between model and measured markers; NaN where missing."""
        return np.linalg.norm(self.model_markers - self.measured, axis=-1)

    @property
    def total_squared_error(self) -> np.ndarray:
        """``(T,)`` sum of squared marker distances (m^2), unweighted, over the markers present (OpenSim's)."""
        d2 = self.marker_errors**2
        out = np.nansum(d2, axis=1)
        out[np.isnan(d2).all(axis=1)] = np.nan
        return out

    @property
    def rms_error(self) -> np.ndarray:
        """``(T,)`` root mean square marker distance (m) over the markers present."""
        present = (~np.isnan(self.marker_errors)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sqrt(self.total_squared_error / present)

    @property
    def max_error(self) -> np.ndarray:
        """``(T,)`` largest marker distance (m)."""
        e = self.marker_errors
        out = np.full(len(e), np.nan)
        ok = ~np.isnan(e).all(axis=1)
        out[ok] = np.nanmax(e[ok], axis=1)
        return out

    def summary(self) -> dict[str, Any]:
        """Frames, failures, marker RMS error (median and max, m) and solve time (s)."""
        rms = self.rms_error
        return {
            "frames": self.n_frames,
            "failed_frames": len(self.failed_frames),
            "not_converged": int((~self.converged).sum() - len(self.failed_frames)),
            "rms_error_median_m": float(np.nanmedian(rms)) if np.isfinite(rms).any() else float("nan"),
            "rms_error_max_m": float(np.nanmax(rms)) if np.isfinite(rms).any() else float("nan"),
            "seconds": self.seconds,
        }

    # ------------------------------------------------------------ tables
    def to_table(self) -> TimeSeriesTable:
        """Coordinates as a table (SI units) named ``Coordinates``, as OpenSim names its IK output."""
        return TimeSeriesTable(self.time, self.coordinates, self.coordinate_names, self.coordinate_units, name="Coordinates")

    def errors_table(self) -> TimeSeriesTable:
        """Per-frame ``total_squared_error`` (m^2), ``marker_error_RMS`` and ``marker_error_max`` (m)."""
        values = np.stack([self.total_squared_error, self.rms_error, self.max_error], axis=1)
        return TimeSeriesTable(
            self.time, values, ["total_squared_error", "marker_error_RMS", "marker_error_max"], ["m^2", "m", "m"],
            name="Model Marker Errors from IK",
        )  # fmt: skip

    def to_dataframe(self) -> Any:
        """Coordinates as a pandas DataFrame indexed by time (rad / m)."""
        return self.to_table().to_dataframe()

    def errors_dataframe(self) -> Any:
        """Marker errors as a pandas DataFrame indexed by time."""
        return self.errors_table().to_dataframe()

    def model_marker_tracks(self) -> Tracks:
        """Model marker positions as 3D tracks (m, ground frame)."""
        return Tracks(self.model_markers, keypoints=list(self.marker_names), time=self.time, units="m", coordinate_frame="ground")

    # ------------------------------------------------------------ files
    def write_mot(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """The coordinates as OpenSim's IK tool writes them (``inDegrees=yes``)."""
        from kinelift.io.mot import write_mot

        write_mot(self.to_table(), path, overwrite=overwrite)

    def write_marker_errors(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """``<name>_ik_marker_errors.sto`` as OpenSim writes it (m^2 and m)."""
        from kinelift.io.mot import write_sto

        write_sto(self.errors_table(), path, in_degrees=False, overwrite=overwrite)

    def write_h5(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Everything in the kinelift HDF5 layout: ``/kinematics/coordinates``,
        ``/analysis/ik_marker_errors`` and the measured and model markers as tracks."""
        from kinelift.io.hdf5 import write_h5

        measured = Tracks(self.measured, keypoints=list(self.marker_names), time=self.time, units="m",
                          coordinate_frame="ground", person_id="measured")  # fmt: skip
        model = self.model_marker_tracks().replace(person_id="model")
        write_h5(
            path, tracks=[measured, model], kinematics={"coordinates": self.to_table()},
            analysis={"ik_marker_errors": self.errors_table()}, overwrite=overwrite,
        )  # fmt: skip
