"""Keypoint tracks: the data type every kinelift layer passes around.

A :class:`Tracks` holds one person's keypoints over time:

* ``positions``: float64 array ``(frames, keypoints, 2 or 3)``; NaN marks a missing
  point (all of its axes are NaN together).
* ``confidence``: float64 array ``(frames, keypoints)`` in ``[0, 1]``.
* ``time``: strictly increasing timestamps in seconds ``(frames,)``; variable frame
  rate is allowed. ``fps`` is the nominal rate when known.
* ``keypoint_set``: a :class:`~kinelift.core.keypoint_sets.KeypointSet`.
* ``units``: ``"px"`` (image pixels), ``"m"`` (metres) or ``"normalized"``
  (image fraction). Millimetres exist only in files: readers convert to metres.
* ``coordinate_frame``: one of :data:`COORDINATE_FRAMES`: ``"image"`` (x right, y down, origin
  top-left), ``"ground"`` (the laboratory or world frame of the source: a motion-capture
  file's, or OpenSim's ground, y up), ``"camera"`` (x right, y down, z forward). ``"lab"``,
  its old name, is read as ``"ground"`` (with a DeprecationWarning when passed here).

Tracks are immutable: arrays are copied on construction and made read-only, so
nothing a caller passes in is altered, and every operation returns new tracks.

Examples
--------
>>> import numpy as np
>>> from kinelift import Tracks
>>> p = np.zeros((4, 6, 2))
>>> t = Tracks(p, keypoints="LOWER-6", fps=50.0)
>>> t
Tracks(person_id=0, frames=4, keypoints=6 (LOWER-6), dims=2, units='px', frame='image', time=0..0.06 s)
>>> t.select(["left_knee", "right_knee"]).keypoint_names
('left_knee', 'right_knee')
>>> t.between(0.02, 0.05).n_frames
2
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from kinelift.core.keypoint_conversion import convert_keypoints
from kinelift.core.keypoint_sets import KeypointSet, get_keypoint_set
from kinelift.errors import ShapeError, UnknownNameError, ValueRangeError

__all__ = ["Tracks", "UNITS", "COORDINATE_FRAMES", "IMAGE_SIZE_KEYS", "as_keypoint_set", "checked_image_size"]

IMAGE_SIZE_KEYS = ("image_width", "image_height")
"""Metadata keys of the size (px) of the images an image track was found in: detectors write them,
and :attr:`Tracks.image_size` reads them (the lifter's fit to the image assumes a camera from it)."""

UNITS = ("px", "m", "normalized")
"""Units a :class:`Tracks` may carry (SI inside kinelift; mm only in files)."""
COORDINATE_FRAMES = ("image", "ground", "camera")
"""The coordinate frames a track may be in (module docs)."""

_CONFIDENCE_AXIS = "confidence"
_AXES = ("x", "y", "z")


def as_keypoint_set(keypoints: str | KeypointSet | Sequence[str]) -> KeypointSet:
    """A keypoint set from a set name, a :class:`KeypointSet`, or a list of point names."""
    if isinstance(keypoints, KeypointSet):
        return keypoints
    if isinstance(keypoints, str):
        return get_keypoint_set(keypoints)
    return KeypointSet.custom(list(keypoints))


class Tracks:
    """One person's keypoint positions and confidences over time.

    Parameters
    ----------
    positions : array_like, shape (frames, keypoints, 2 or 3)
        Positions in ``units``; NaN for a missing point.
    keypoints : str, KeypointSet or sequence of str
        Keypoint set (by name or object) or the list of point names (a custom set).
    confidence : array_like, shape (frames, keypoints), optional
        Per-point confidence in [0, 1]. Default: 1 where a point is present, 0 where missing.
    time : array_like, shape (frames,), optional
        Strictly increasing timestamps in seconds.
    fps : float, optional
        Nominal frame rate. Needed when ``time`` is not given (``time = start_time + i / fps``).
    start_time : float, default 0.0
        Time of the first frame when ``time`` is built from ``fps``.
    person_id : int or str, default 0
        Identity of the person across files.
    units : {"px", "m", "normalized"}, default "px"
    coordinate_frame : {"image", "ground", "camera"}, default "image"
    metadata : mapping, optional
        Free key/value facts about the source (file name, detector...). Scalars and strings.
        ``image_width`` and ``image_height`` (:data:`IMAGE_SIZE_KEYS`), when given, are the
        image size in pixels: both positive integers (:attr:`image_size`).

    Raises
    ------
    ShapeError
        If array shapes disagree.
    ValueRangeError
        If time is not strictly increasing, confidence is outside [0, 1], units are
        unknown, or a point is NaN on some axes only.
    """

    __slots__ = (
        "_positions", "_confidence", "_time", "_fps", "_keypoint_set", "_person_id",
        "_units", "_coordinate_frame", "_metadata",
    )  # fmt: skip

    def __init__(
        self,
        positions: Any,
        *,
        keypoints: str | KeypointSet | Sequence[str],
        confidence: Any = None,
        time: Any = None,
        fps: float | None = None,
        start_time: float = 0.0,
        person_id: int | str = 0,
        units: str = "px",
        coordinate_frame: str = "image",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        keypoint_set = as_keypoint_set(keypoints)
        pos = np.array(positions, dtype=np.float64, copy=True)
        if pos.ndim != 3 or pos.shape[2] not in (2, 3):
            raise ShapeError("positions", expected="(frames, keypoints, 2 or 3)", got=pos.shape)
        n_frames, n_kp, _ = pos.shape
        if n_kp != len(keypoint_set):
            raise ShapeError(
                "positions", expected=f"(frames, {len(keypoint_set)} keypoints of {keypoint_set.name}, D)", got=pos.shape
            )
        if np.isinf(pos).any():
            raise ValueRangeError("positions", expected="finite values or NaN for missing points", got="inf")
        nan = np.isnan(pos)
        partial = nan.any(axis=2) & ~nan.all(axis=2)
        if partial.any():
            f, k = np.argwhere(partial)[0]
            raise ValueRangeError(
                "positions",
                expected="a missing point NaN on every axis",
                got=f"frame {f}, keypoint {keypoint_set.names[k]!r} NaN on some axes only",
            )
        missing = nan[:, :, 0]
        if confidence is None:
            conf = np.where(missing, 0.0, 1.0)
        else:
            conf = np.array(confidence, dtype=np.float64, copy=True)
            if conf.shape != (n_frames, n_kp):
                raise ShapeError("confidence", expected=f"(frames, keypoints) = {(n_frames, n_kp)}", got=conf.shape)
            if not np.all((conf >= 0.0) & (conf <= 1.0)):
                bad = conf[~((conf >= 0.0) & (conf <= 1.0))][0]
                raise ValueRangeError("confidence", expected="values in [0, 1] (0 for a missing point)", got=float(bad))
        if time is None:
            if fps is None:
                raise ValueRangeError("time/fps", expected="timestamps (time=) or a frame rate (fps=)", got=None)
            t = float(start_time) + np.arange(n_frames, dtype=np.float64) / _positive("fps", fps)
        else:
            t = np.array(time, dtype=np.float64, copy=True)
            if t.shape != (n_frames,):
                raise ShapeError("time", expected=f"(frames,) = ({n_frames},)", got=t.shape)
            if not np.all(np.isfinite(t)):
                raise ValueRangeError("time", expected="finite timestamps in seconds", got="NaN or inf")
            if n_frames > 1 and not np.all(np.diff(t) > 0):
                i = int(np.argmin(np.diff(t) > 0))
                raise ValueRangeError(
                    "time", expected="strictly increasing timestamps", got=f"t[{i}]={t[i]!r} then t[{i + 1}]={t[i + 1]!r}"
                )
        if units not in UNITS:
            hint = " (convert millimetres to metres: positions / 1000)" if units == "mm" else ""
            raise ValueRangeError("units", expected=f"one of {UNITS}{hint}", got=units)
        for arr in (pos, conf, t):
            arr.flags.writeable = False
        self._positions = pos
        self._confidence = conf
        self._time = t
        self._fps = None if fps is None else _positive("fps", fps)
        self._keypoint_set = keypoint_set
        self._person_id = person_id if isinstance(person_id, str) else int(person_id)
        self._units = units
        if coordinate_frame == "lab":
            import warnings

            warnings.warn('coordinate_frame="lab" is deprecated, use "ground" (the same frame)', DeprecationWarning, stacklevel=2)
            coordinate_frame = "ground"
        if coordinate_frame not in COORDINATE_FRAMES:
            raise ValueRangeError("coordinate_frame", expected=f"one of {COORDINATE_FRAMES}", got=coordinate_frame)
        self._coordinate_frame = str(coordinate_frame)
        self._metadata = MappingProxyType(dict(metadata or {}))
        _check_image_size(self._metadata)

    # ------------------------------------------------------------------ access
    positions = property(lambda self: self._positions, doc="Positions ``(frames, keypoints, D)``; NaN = missing.")
    confidence = property(lambda self: self._confidence, doc="Confidence ``(frames, keypoints)`` in [0, 1].")
    time = property(lambda self: self._time, doc="Timestamps in seconds ``(frames,)``.")
    fps = property(lambda self: self._fps, doc="Nominal frame rate (Hz), or None.")
    keypoint_set = property(lambda self: self._keypoint_set, doc="The :class:`KeypointSet`.")
    person_id = property(lambda self: self._person_id, doc="Person identity.")
    units = property(lambda self: self._units, doc="Units of ``positions``.")
    coordinate_frame = property(lambda self: self._coordinate_frame, doc="Name of the coordinate frame.")
    metadata = property(lambda self: self._metadata, doc="Read-only mapping of source facts.")

    @property
    def image_size(self) -> tuple[int, int] | None:
        """``(width, height)`` in pixels of the images the keypoints were found in, from the
        metadata (:data:`IMAGE_SIZE_KEYS`, written by kinelift's detectors), or None when not known."""
        if IMAGE_SIZE_KEYS[0] not in self._metadata:
            return None
        return int(self._metadata[IMAGE_SIZE_KEYS[0]]), int(self._metadata[IMAGE_SIZE_KEYS[1]])

    @property
    def keypoint_names(self) -> tuple[str, ...]:
        """Keypoint names in storage order."""
        return self._keypoint_set.names

    @property
    def n_frames(self) -> int:
        return self._positions.shape[0]

    @property
    def n_keypoints(self) -> int:
        return self._positions.shape[1]

    @property
    def n_dims(self) -> int:
        return self._positions.shape[2]

    @property
    def valid(self) -> np.ndarray:
        """Boolean ``(frames, keypoints)``: True where the point is present."""
        return ~np.isnan(self._positions[:, :, 0])

    @property
    def sampling_rate(self) -> float:
        """``fps`` when known, else 1 / median frame interval (NaN for a single frame)."""
        if self._fps is not None:
            return self._fps
        return float(1.0 / np.median(np.diff(self._time))) if self.n_frames > 1 else float("nan")

    def is_uniform(self, *, rtol: float = 1e-3) -> bool:
        """True when every frame interval is within ``rtol`` of the median interval."""
        if self.n_frames < 3:
            return True
        dt = np.diff(self._time)
        return bool(np.all(np.abs(dt - np.median(dt)) <= rtol * np.median(dt)))

    def __len__(self) -> int:
        return self.n_frames

    def __repr__(self) -> str:
        span = f"{self._time[0]:.6g}..{self._time[-1]:.6g} s" if self.n_frames else "empty"
        return (
            f"Tracks(person_id={self._person_id!r}, frames={self.n_frames}, keypoints={self.n_keypoints} "
            f"({self._keypoint_set.name}), dims={self.n_dims}, units={self._units!r}, "
            f"frame={self._coordinate_frame!r}, time={span})"
        )

    # --------------------------------------------------------------- building
    def replace(self, **changes: Any) -> Tracks:
        """New tracks with some fields replaced (validated again).

        Accepts the constructor's keyword names: ``positions``, ``keypoints``,
        ``confidence``, ``time``, ``fps``, ``person_id``, ``units``,
        ``coordinate_frame``, ``metadata``.
        """
        fields = {
            "positions": self._positions,
            "keypoints": self._keypoint_set,
            "confidence": self._confidence,
            "time": self._time,
            "fps": self._fps,
            "person_id": self._person_id,
            "units": self._units,
            "coordinate_frame": self._coordinate_frame,
            "metadata": self._metadata,
        }
        unknown = set(changes) - set(fields)
        if unknown:
            raise UnknownNameError("Tracks field", sorted(unknown), known=list(fields))
        fields.update(changes)
        return Tracks(fields.pop("positions"), **fields)

    def with_image_size(self, width: int, height: int) -> Tracks:
        """These tracks recording the size of the images their keypoints were found in (a file that
        does not store it, such as OpenPose's JSON: ``kinelift.lift`` then fits the pose through a
        camera assumed on it).

        Raises
        ------
        ValueRangeError
            If the tracks are not 2D pixels, record another size, or their keypoints do not fit a
            ``width x height`` image (more than 1 % of them beyond a 10 % margin: width and height
            swapped for a portrait video, or another video's size).

        Examples
        --------
        >>> import numpy as np
        >>> t = Tracks(np.full((2, 6, 2), 500.0), keypoints="LOWER-6", fps=30.0)
        >>> t.with_image_size(1080, 1920).image_size
        (1080, 1920)
        """
        if self.n_dims != 2 or self._units != "px":
            raise ValueRangeError("image size", expected="2D keypoints in pixels", got=f"{self.n_dims}D {self._units}")
        size = checked_image_size((width, height))
        if self.image_size is not None and self.image_size != size:
            raise ValueRangeError("image size", expected=f"the {self.image_size[0]}x{self.image_size[1]} the tracks record", got=size)
        xy = self._positions[self.valid]
        if len(xy):
            margin = 0.1 * np.array(size, float)
            outside = np.any((xy < -margin) | (xy > np.array(size) + margin), axis=1).mean()
            if outside > 0.01:
                raise ValueRangeError("image size", expected=f"an image the keypoints fit (they reach x {xy[:, 0].min():.0f} to "
                                      f"{xy[:, 0].max():.0f}, y {xy[:, 1].min():.0f} to {xy[:, 1].max():.0f} px)",
                                      got=f"{size[0]}x{size[1]} (width x height), with {outside:.0%} of the keypoints outside")  # fmt: skip
        return self.replace(metadata={**self._metadata, IMAGE_SIZE_KEYS[0]: size[0], IMAGE_SIZE_KEYS[1]: size[1]})

    def __getitem__(self, frames: slice | int | Sequence[int] | np.ndarray) -> Tracks:
        """Select frames by slice, index array or boolean mask (always returns Tracks)."""
        if isinstance(frames, (int, np.integer)):
            frames = [int(frames)]
        idx = np.arange(self.n_frames)[frames]
        return self.replace(positions=self._positions[idx], confidence=self._confidence[idx], time=self._time[idx])

    def between(self, start: float | None = None, stop: float | None = None) -> Tracks:
        """Frames with ``start <= time < stop`` (seconds; None for open ends)."""
        mask = np.ones(self.n_frames, dtype=bool)
        if start is not None:
            mask &= self._time >= start
        if stop is not None:
            mask &= self._time < stop
        return self[mask]

    def select(self, keypoints: Iterable[str]) -> Tracks:
        """Tracks restricted to the named keypoints, in the order given."""
        names = list(keypoints)
        idx = self._keypoint_set.indices(names)
        subset = self._keypoint_set.subset(names)
        return self.replace(positions=self._positions[:, idx], confidence=self._confidence[:, idx], keypoints=subset)

    def to_keypoint_set(self, target: str | KeypointSet, *, allow_derived: bool = False, missing: str = "error") -> Tracks:
        """Convert to another keypoint set (see :mod:`kinelift.core.keypoint_conversion`; ``missing="absent"``
        leaves the points the source lacks missing in every frame)."""
        target_set = as_keypoint_set(target)
        pos, conf = convert_keypoints(
            self._positions, self._confidence, self._keypoint_set, target_set, allow_derived=allow_derived, missing=missing
        )
        return self.replace(positions=pos, confidence=conf, keypoints=target_set)

    # ----------------------------------------------------------------- pandas
    def to_dataframe(self) -> Any:
        """A pandas DataFrame: index ``time`` (s), MultiIndex columns ``(keypoint, axis)``.

        The axes are ``x``, ``y`` (``z``) and ``confidence``. Units and frame are in ``df.attrs``.
        """
        import pandas as pd

        axes = _AXES[: self.n_dims] + (_CONFIDENCE_AXIS,)
        values = np.concatenate([self._positions, self._confidence[:, :, None]], axis=2)
        columns = pd.MultiIndex.from_product([list(self.keypoint_names), list(axes)], names=["keypoint", "axis"])
        df = pd.DataFrame(values.reshape(self.n_frames, -1), index=pd.Index(self._time, name="time"), columns=columns)
        df.attrs.update(
            keypoint_set=self._keypoint_set.name,
            units=self._units,
            coordinate_frame=self._coordinate_frame,
            person_id=self._person_id,
            fps=self._fps,
        )
        return df

    @classmethod
    def from_dataframe(cls, df: Any, *, keypoints: str | KeypointSet | None = None, **kwargs: Any) -> Tracks:
        """Tracks from a DataFrame shaped like :meth:`to_dataframe`'s output.

        Parameters
        ----------
        df : pandas.DataFrame
            Index of times in seconds; columns ``(keypoint, axis)`` with axes ``x``, ``y``
            (``z``) and optionally ``confidence``.
        keypoints : str or KeypointSet, optional
            Keypoint set; by default ``df.attrs["keypoint_set"]`` when it names a known set
            whose names match the columns, else a custom set from the column names.
        **kwargs
            Other constructor arguments; defaults come from ``df.attrs``.
        """
        import pandas as pd

        if not isinstance(df.columns, pd.MultiIndex) or df.columns.nlevels != 2:
            raise ShapeError("df.columns", expected="a 2-level MultiIndex (keypoint, axis)", got=f"{df.columns.nlevels} level(s)")
        names = list(dict.fromkeys(df.columns.get_level_values(0)))
        axes = list(dict.fromkeys(df.columns.get_level_values(1)))
        coord_axes = [a for a in axes if a != _CONFIDENCE_AXIS]
        if coord_axes not in (["x", "y"], ["x", "y", "z"]):
            raise ShapeError("df.columns axis level", expected="x, y[, z][, confidence]", got=tuple(axes))
        pos = np.stack([df.loc[:, (names, a)].to_numpy(dtype=np.float64) for a in coord_axes], axis=2)
        conf = df.loc[:, (names, _CONFIDENCE_AXIS)].to_numpy(dtype=np.float64) if _CONFIDENCE_AXIS in axes else None
        if keypoints is None:
            attr = df.attrs.get("keypoint_set")
            keypoints = names
            if attr and attr != "custom":
                try:
                    known = get_keypoint_set(attr)
                except UnknownNameError:
                    known = None
                if known is not None and list(known.names) == names:
                    keypoints = known
        options = {k: df.attrs[k] for k in ("units", "coordinate_frame", "person_id", "fps") if df.attrs.get(k) is not None}
        options.update(kwargs)
        return cls(pos, keypoints=keypoints, confidence=conf, time=df.index.to_numpy(dtype=np.float64), **options)


def _positive(name: str, value: Any) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueRangeError(name, expected="a positive finite number", got=value)
    return value


def checked_image_size(size: Any, *, name: str = "image size") -> tuple[int, int]:
    """``size`` ``(width, height)`` as whole pixels; :class:`~kinelift.errors.ValueRangeError`
    naming ``name`` unless it is two whole numbers >= 1 (ints or whole floats, not booleans).

    Examples
    --------
    >>> checked_image_size((1080, 1920.0))
    (1080, 1920)
    """
    values = tuple(size) if isinstance(size, (tuple, list)) else ()
    whole = len(values) == 2 and all(isinstance(v, (int, np.integer, float, np.floating)) and not isinstance(v, bool)
                                     and math.isfinite(float(v)) and float(v) >= 1 and float(v) == int(v) for v in values)  # fmt: skip
    if not whole:
        raise ValueRangeError(name, expected="(width, height) in whole pixels, both >= 1", got=size)
    return int(values[0]), int(values[1])


def _check_image_size(metadata: Mapping[str, Any]) -> None:
    given = [k for k in IMAGE_SIZE_KEYS if k in metadata]
    if not given:
        return
    values = tuple(metadata.get(k) for k in IMAGE_SIZE_KEYS)
    if len(given) != 2:
        raise ValueRangeError("metadata image_width/image_height", expected="both, the image size in whole pixels", got=values)
    checked_image_size(values, name="metadata image_width/image_height")
