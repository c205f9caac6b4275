"""Named time-series tables: coordinates, forces, any per-column signal (OpenSim MOT/STO).

A :class:`TimeSeriesTable` stores values in SI units inside kinelift: angles in
radians, lengths in metres, forces in newtons. Each column carries its unit
(``"rad"``, ``"m"`` or the unit the source states; ``""`` when unknown), so a
writer can convert angles to degrees at the file boundary.

Examples
--------
>>> import numpy as np
>>> from kinelift import TimeSeriesTable
>>> tab = TimeSeriesTable([0.0, 0.01], [[0.1, 0.9], [0.2, 0.91]], ["knee_angle_r", "pelvis_ty"], ["rad", "m"])
>>> tab.column("knee_angle_r")
array([0.1, 0.2])
>>> tab.in_degrees()[:, 0].round(3)
array([ 5.73 , 11.459])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from kinelift.errors import ShapeError, UnknownNameError, ValueRangeError

__all__ = ["TimeSeriesTable", "coordinate_name", "unit_for_coordinate_name"]

_TRANSLATION = re.compile(r"(^|_)(t[xyz]|translation\d*)(_|$)", re.IGNORECASE)
_NOT_ANGLE = re.compile(r"(^|_)(force|moment|torque|[pv][xyz]|activation|excitation)", re.IGNORECASE)


def coordinate_name(column: str) -> str:
    """The coordinate name inside an OpenSim state path (``/jointset/hip_r/hip_flexion_r/value`` -> ``hip_flexion_r``)."""
    parts = [p for p in column.split("/") if p]
    if len(parts) >= 2 and parts[-1] in ("value", "speed"):
        return parts[-2]
    return parts[-1] if parts else column


def unit_for_coordinate_name(column: str) -> str:
    """The SI unit a column of an OpenSim coordinate file holds, judged from its name.

    ``"m"`` for translations (a token ``tx``, ``ty``, ``tz`` or ``translation``, as in
    ``pelvis_tx``); ``""`` (not an angle, unit unknown) for forces, moments, torques,
    points (``px``...), velocities (``vx``...), activations and excitations; ``"rad"``
    for everything else, which OpenSim names as rotational coordinates. The name inside
    an OpenSim state path is used. Readers take explicit unit overrides for files
    that break this rule.

    Examples
    --------
    >>> [unit_for_coordinate_name(n) for n in ("pelvis_tx", "knee_angle_r", "ground_force_vx")]
    ['m', 'rad', '']
    >>> unit_for_coordinate_name("/jointset/ground_pelvis/pelvis_ty/value")
    'm'
    """
    name = coordinate_name(column)
    if _TRANSLATION.search(name):
        return "m"
    if _NOT_ANGLE.search(name):
        return ""
    return "rad"


class TimeSeriesTable:
    """Columns of signals over time, SI units, one unit per column.

    Parameters
    ----------
    time : array_like, shape (frames,)
        Strictly increasing times in seconds.
    values : array_like, shape (frames, columns)
        Values in SI units (NaN allowed for missing samples).
    column_names : sequence of str
        Column names. Duplicates are kept as they come (OpenSim files repeat force-plate
        labels); looking up a repeated name by :meth:`column` is an error.
    column_units : sequence of str, optional
        Unit of each column (``"rad"``, ``"m"``, ``"N"``, ...). Default ``""`` (unknown).
    name : str, default "table"
        Table name (the first line of an OpenSim file).
    metadata : mapping, optional
        Header key/value pairs from the source file.
    """

    __slots__ = ("_time", "_values", "_names", "_units", "_name", "_metadata")

    def __init__(
        self,
        time: Any,
        values: Any,
        column_names: Sequence[str],
        column_units: Sequence[str] | None = None,
        *,
        name: str = "table",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        t = np.array(time, dtype=np.float64, copy=True)
        v = np.array(values, dtype=np.float64, copy=True)
        names = tuple(str(n) for n in column_names)
        if t.ndim != 1:
            raise ShapeError("time", expected="(frames,)", got=t.shape)
        if v.ndim == 1 and len(names) == 1:
            v = v[:, None]
        if v.shape != (t.shape[0], len(names)):
            raise ShapeError("values", expected=f"(frames, columns) = ({t.shape[0]}, {len(names)})", got=v.shape)
        if not np.all(np.isfinite(t)):
            raise ValueRangeError("time", expected="finite times in seconds", got="NaN or inf")
        if t.size > 1 and not np.all(np.diff(t) > 0):
            i = int(np.argmin(np.diff(t) > 0))
            raise ValueRangeError("time", expected="strictly increasing times", got=f"t[{i}]={t[i]!r}, t[{i + 1}]={t[i + 1]!r}")
        units = tuple(column_units) if column_units is not None else ("",) * len(names)
        if len(units) != len(names):
            raise ShapeError("column_units", expected=f"({len(names)},) one per column", got=(len(units),))
        for arr in (t, v):
            arr.flags.writeable = False
        self._time, self._values, self._names, self._units = t, v, names, tuple(str(u) for u in units)
        self._name = str(name)
        self._metadata = MappingProxyType(dict(metadata or {}))

    time = property(lambda self: self._time, doc="Times in seconds ``(frames,)``.")
    values = property(lambda self: self._values, doc="Values in SI units ``(frames, columns)``.")
    column_names = property(lambda self: self._names, doc="Column names.")
    column_units = property(lambda self: self._units, doc="Unit of each column.")
    name = property(lambda self: self._name, doc="Table name.")
    metadata = property(lambda self: self._metadata, doc="Header facts of the source file.")

    @property
    def n_frames(self) -> int:
        return self._values.shape[0]

    def __len__(self) -> int:
        return self.n_frames

    def __repr__(self) -> str:
        span = f"{self._time[0]:.6g}..{self._time[-1]:.6g} s" if self.n_frames else "empty"
        return f"TimeSeriesTable(name={self._name!r}, frames={self.n_frames}, columns={len(self._names)}, time={span})"

    def column(self, name: str) -> np.ndarray:
        """Values of one column (SI units)."""
        return self._values[:, self._index(name)]

    def _index(self, name: str) -> int:
        hits = [i for i, n in enumerate(self._names) if n == name]
        if not hits:
            raise UnknownNameError("column", name, known=self._names)
        if len(hits) > 1:
            raise ValueRangeError(f"column {name!r}", expected="a name that occurs once", got=f"columns {hits}")
        return hits[0]

    def select(self, columns: Iterable[str]) -> TimeSeriesTable:
        """A table of the named columns, in that order."""
        idx = [self._index(c) for c in columns]
        return self.replace(values=self._values[:, idx], column_names=[self._names[i] for i in idx], column_units=[self._units[i] for i in idx])

    def __getitem__(self, frames: slice | Sequence[int] | np.ndarray) -> TimeSeriesTable:
        """Rows by slice, index array or boolean mask."""
        idx = np.arange(self.n_frames)[frames]
        return self.replace(time=self._time[np.atleast_1d(idx)], values=self._values[np.atleast_1d(idx)])

    def replace(self, **changes: Any) -> TimeSeriesTable:
        """New table with some of ``time``, ``values``, ``column_names``, ``column_units``, ``name``, ``metadata`` replaced."""
        fields = {
            "time": self._time, "values": self._values, "column_names": self._names,
            "column_units": self._units, "name": self._name, "metadata": self._metadata,
        }  # fmt: skip
        unknown = set(changes) - set(fields)
        if unknown:
            raise UnknownNameError("TimeSeriesTable field", sorted(unknown), known=list(fields))
        fields.update(changes)
        return TimeSeriesTable(
            fields["time"], fields["values"], fields["column_names"], fields["column_units"],
            name=fields["name"], metadata=fields["metadata"],
        )  # fmt: skip

    def in_degrees(self) -> np.ndarray:
        """Values with every ``"rad"`` column converted to degrees (a new array)."""
        out = np.array(self._values, copy=True)
        rad = [i for i, u in enumerate(self._units) if u == "rad"]
        out[:, rad] = np.rad2deg(out[:, rad])
        return out

    def to_dataframe(self) -> Any:
        """A pandas DataFrame indexed by ``time`` (s); units in ``df.attrs["units"]``."""
        import pandas as pd

        df = pd.DataFrame(np.array(self._values), index=pd.Index(np.array(self._time), name="time"), columns=list(self._names))
        df.attrs.update(name=self._name, units=dict(zip(self._names, self._units)))
        return df

    @classmethod
    def from_dataframe(cls, df: Any, *, column_units: Sequence[str] | None = None, name: str | None = None) -> TimeSeriesTable:
        """A table from a DataFrame indexed by time in seconds (units from ``df.attrs["units"]`` if present)."""
        names = [str(c) for c in df.columns]
        if column_units is None:
            units_attr = df.attrs.get("units") or {}
            column_units = [units_attr.get(n, "") for n in names]
        return cls(df.index.to_numpy(dtype=np.float64), df.to_numpy(dtype=np.float64), names, column_units, name=name or df.attrs.get("name", "table"))
