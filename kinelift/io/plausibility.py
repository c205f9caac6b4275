"""Magnitudes no human body has: the unit mistakes a header can hide.

A TRC whose header says ``m`` for numbers in millimetres, or a ``.mot`` that says
``inDegrees=no`` over degrees, reads without any parse error and gives answers a
thousand or fifty-seven times off (IK marker errors of 542 m, hip flexion of
7,536 deg). These checks run on what a reader produced, in SI units, and name the
likely mistake:

* :func:`check_marker_spread`: the markers of one frame of one person span at most
  a few metres (a body is under 2.5 m; arms out, a few markers on the floor or a
  walkway's reference markers stay under :data:`MAX_SPREAD_M`), and several markers
  on a body span more than :data:`MIN_SPREAD_M`.
* :func:`check_angle_magnitudes`: joint angles in radians stay within one turn
  (:data:`MAX_ANGLE_RAD`); when a quarter or more of the angle columns go beyond it, they
  hold degrees.

Each raises :class:`~kinelift.errors.FileFormatError` naming the file, the field and
the factor that would make the numbers human; readers take ``check_units=False``
for data that really is not a human body.

Examples
--------
>>> import numpy as np
>>> from pathlib import Path
>>> body = np.array([[[0.0, 0.9, 0.0], [0.1, 0.5, 0.0], [0.0, 1.7, 0.1], [0.2, 0.0, 0.0]]])
>>> check_marker_spread(Path("walk.trc"), body, "Units", "m")
>>> check_marker_spread(Path("walk.trc"), body * 1000, "Units", "m")
Traceback (most recent call last):
...
kinelift.errors.FileFormatError: walk.trc: field Units says 'm', but the markers of one frame span 1.7e+03 m (median): no human body does; the numbers look like mm (x 0.001 gives 1.7 m) (expected the units the numbers are in, or check_units=False for data that is not a human body)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kinelift.errors import FileFormatError

__all__ = ["MAX_SPREAD_M", "MIN_SPREAD_M", "MAX_ANGLE_RAD", "check_marker_spread", "check_angle_magnitudes"]

MAX_SPREAD_M = 5.0
"""Largest span (m) of one frame's markers taken as one person's."""
MIN_SPREAD_M = 0.02
"""Smallest span (m) of four or more markers taken as on a body."""
MAX_ANGLE_RAD = 2 * np.pi
"""Largest magnitude (rad) of a joint angle taken as radians."""

_SCALES = (("mm", 1e-3), ("cm", 1e-2), ("m", 1.0))


def _spread(positions: np.ndarray) -> float:
    """Median over frames of the largest extent (m) of the markers seen in a frame."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with no marker
        extent = np.nanmax(positions, axis=1) - np.nanmin(positions, axis=1)
        return float(np.nanmedian(np.nanmax(extent, axis=1)))


def check_marker_spread(path: Path, positions_m: np.ndarray, field: str, stated: str) -> None:
    """Refuse 3D markers ``(frames, markers, 3)`` in metres whose per-frame spread no human body has.

    ``field`` and ``stated`` name the header field and the unit it states (for the message).
    """
    positions_m = np.asarray(positions_m, dtype=np.float64)
    if positions_m.ndim != 3 or positions_m.shape[1] < 2 or not np.isfinite(positions_m).any():
        return
    spread = _spread(positions_m)
    if not np.isfinite(spread):
        return
    small = positions_m.shape[1] >= 4 and spread < MIN_SPREAD_M
    if spread <= MAX_SPREAD_M and not small:
        return
    factor = dict(_SCALES)[stated] if stated in dict(_SCALES) else 1.0
    raw = spread / factor
    likely = [(name, raw * scale) for name, scale in _SCALES if 0.3 <= raw * scale <= 2.5]
    hint = f"; the numbers look like {likely[0][0]} (x {dict(_SCALES)[likely[0][0]] / factor:g} gives {likely[0][1]:.2g} m)" if likely else ""
    raise FileFormatError(path, f"field {field} says {stated!r}, but the markers of one frame span {spread:.2g} m (median): "
                          f"no human body does{hint}",
                          expected="the units the numbers are in, or check_units=False for data that is not a human body")  # fmt: skip


def check_angle_magnitudes(path: Path, values_rad: np.ndarray, columns: Sequence[str], field: str, stated: str) -> None:
    """Refuse joint angles ``(frames, columns)`` in radians beyond one turn: degrees read as radians."""
    values_rad = np.asarray(values_rad, dtype=np.float64)
    if values_rad.size == 0:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        peak = np.nanmax(np.abs(values_rad), axis=0)
    beyond = [(c, p) for c, p in zip(columns, peak) if np.isfinite(p) and p > MAX_ANGLE_RAD]
    if not beyond or len(beyond) < 0.25 * len(columns):
        return  # one or two odd columns (OpenSim's own files have a 72-rad patellofemoral "beta") are not a unit mistake
    name, worst = max(beyond, key=lambda pair: pair[1])
    raise FileFormatError(path, f"field {field} says {stated!r}, but {len(beyond)} angle column(s) reach {np.degrees(worst):.0f} deg "
                          f"({name!r}: {worst:.3g} rad); no joint turns that far: the numbers look like degrees",
                          expected="inDegrees=yes for angles in degrees (in_degrees=True, --in-degrees), "
                                   "or check_units=False for angles that really wind past a turn")  # fmt: skip
