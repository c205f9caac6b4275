"""Exceptions raised by kinelift.

Every error kinelift raises on bad input derives from :class:`KineliftError`, so a
caller can catch one type. Each message names the offending file, field or
argument, what was expected and what was found.

Examples
--------
>>> from kinelift.errors import KineliftError, ShapeError
>>> try:
...     raise ShapeError("positions", expected="(frames, keypoints, 2 or 3)", got=(5, 3))
... except KineliftError as err:
...     print(err)
positions: expected shape (frames, keypoints, 2 or 3), got (5, 3)
"""

from __future__ import annotations

from os import PathLike
from typing import Any

__all__ = [
    "KineliftError",
    "FileFormatError",
    "ShapeError",
    "UnknownNameError",
    "ValueRangeError",
    "KeypointConversionError",
    "KeypointLayoutError",
    "SignalProcessingError",
    "OutputExistsError",
    "UnsupportedModelFeatureError",
    "UnsupportedSetupError",
]


class KineliftError(Exception):
    """Base class of every error kinelift raises on bad input or bad use."""


class FileFormatError(KineliftError, ValueError):
    """A file is malformed or not of the expected format.

    Parameters
    ----------
    path : str or path-like
        The file (or folder) that could not be read.
    problem : str
        What is wrong, naming the field or line where possible.
    expected : str, optional
        The form that was expected there.
    """

    def __init__(self, path: str | PathLike[str], problem: str, *, expected: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.expected = expected
        message = f"{self.path}: {problem}"
        if expected:
            message += f" (expected {expected})"
        super().__init__(message)


class ShapeError(KineliftError, ValueError):
    """An array argument has the wrong shape.

    Parameters
    ----------
    name : str
        Argument or field name.
    expected : str
        The expected shape, in words, e.g. ``"(frames, keypoints, 2 or 3)"``.
    got : tuple of int
        The shape that came.
    """

    def __init__(self, name: str, *, expected: str, got: Any) -> None:
        self.name = name
        self.expected = expected
        self.got = tuple(got) if not isinstance(got, str) else got
        super().__init__(f"{name}: expected shape {expected}, got {self.got}")


class UnknownNameError(KineliftError, KeyError):
    """A keypoint, coordinate, keypoint-set or format name is not known.

    Parameters
    ----------
    kind : str
        What kind of name, e.g. ``"keypoint"`` or ``"keypoint set"``.
    names : sequence of str
        The unknown names.
    known : sequence of str
        The names that would have been accepted.
    """

    def __init__(self, kind: str, names: Any, *, known: Any) -> None:
        self.kind = kind
        self.names = [names] if isinstance(names, str) else list(names)
        self.known = list(known)
        shown = ", ".join(map(str, self.known[:40]))
        if len(self.known) > 40:
            shown += f", ... ({len(self.known)} in all)"
        super().__init__(f"unknown {kind} name(s) {self.names}; known: {shown}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class ValueRangeError(KineliftError, ValueError):
    """An argument or field has a value outside its allowed range or set."""

    def __init__(self, name: str, *, expected: str, got: Any) -> None:
        self.name = name
        self.expected = expected
        self.got = got
        super().__init__(f"{name}: expected {expected}, got {got!r}")


class KeypointConversionError(KineliftError, ValueError):
    """A conversion between keypoint sets needs points the source does not have."""


class KeypointLayoutError(KineliftError, ValueError):
    """Keypoints declared in one layout fit another clearly better (e.g. BODY_25B read as BODY-25).

    Parameters
    ----------
    source : str
        The file or argument the keypoints came from.
    declared, likely : str
        The declared layout and the one the data fits.
    declared_score, likely_score : float
        Their plausibility scores (0 to 1; see :mod:`kinelift.core.layout_check`).
    """

    def __init__(self, source: str, declared: str, declared_score: float, likely: str, likely_score: float) -> None:
        self.source, self.declared, self.likely = str(source), declared, likely
        super().__init__(f"{self.source}: the keypoints do not fit the declared {declared} layout (plausibility {declared_score:.2f}: "
                         f"hips, knees and ankles out of order or proportion); they fit {likely} ({likely_score:.2f}). "
                         f"Declare {likely} (keypoint_set={likely!r}, --keypoint-set {likely}) if that is what made them")  # fmt: skip


class SignalProcessingError(KineliftError, ValueError):
    """A filter cannot be applied as asked (cutoff above Nyquist, segment too short, uneven sampling)."""


class OutputExistsError(KineliftError, FileExistsError):
    """An output file exists and overwriting was not asked for."""

    def __init__(self, path: str | PathLike[str], *, reason: str | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        detail = f" ({reason})" if reason else ""
        super().__init__(f"{self.path}: exists{detail}; pass overwrite=True (or --overwrite) to replace it")


class UnsupportedModelFeatureError(KineliftError, NotImplementedError):
    """A model uses a feature kinelift does not support (named in the message), rather than a wrong answer.

    Parameters
    ----------
    path : str
        The model file (or ``"<model>"`` for models built in Python).
    feature : str
        The unsupported element, e.g. ``"EllipsoidJoint 'shoulder'"``.
    """

    def __init__(self, path: str, feature: str) -> None:
        self.path = str(path)
        self.feature = feature
        super().__init__(f"{self.path}: {feature} is not supported by kinelift's skeletal layer")


class UnsupportedSetupError(KineliftError, NotImplementedError):
    """An OpenSim setup file asks for something kinelift does not do (named in the message).

    Parameters
    ----------
    path : str
        The setup file.
    feature : str
        The unsupported element or value, e.g. ``"<IKCoordinateTask> value_type 'spline'"``.
    """

    def __init__(self, path: str, feature: str) -> None:
        self.path = str(path)
        self.feature = feature
        super().__init__(f"{self.path}: {feature} is not supported by kinelift")

