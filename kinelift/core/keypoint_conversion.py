"""Conversion of positions between keypoint sets.

Conversion is by canonical name: a target point is copied from the source point
of the same name. A few points that some sets lack can be *derived* as the
midpoint of two others when ``allow_derived=True``:

================  ==================================
target            derived as the midpoint of
================  ==================================
``neck``          ``left_shoulder``, ``right_shoulder``
``mid_hip``       ``left_hip``, ``right_hip``
``pelvis``        ``left_hip``, ``right_hip`` (H36M root)
``thorax``        ``left_shoulder``, ``right_shoulder``
``*_big_toe``     ``*_foot_index`` (both parents)
``*_small_toe``   ``*_foot_index`` (both parents)
================  ==================================

MediaPipe's BlazePose marks one point at the tip of each foot (``foot_index``); BODY-25's big and
small toes are each taken there, a few centimetres from where they lie. On held-out motion capture rendered
as BODY-25 with each foot's two toes replaced by their midpoint, the BODY-25 lifter still reads
the feet: ankle RMSE in walks 13.3 -> 11.3 deg, jumps 16.4 -> 12.7, against lifting without the
feet (docs/lift.md, "MediaPipe's feet").

A derived point is missing (NaN) in a frame where either parent is missing, and
its confidence is the smaller of the two. Any other absent point makes the
conversion fail with :class:`~kinelift.errors.KeypointConversionError`, naming it.

Examples
--------
>>> import numpy as np
>>> from kinelift.core.keypoint_conversion import conversion_indices
>>> conversion_indices("BODY-25", "LOWER-6")
[11, 10, 9, 12, 13, 14]
"""

from __future__ import annotations

import numpy as np

from kinelift.core.keypoint_sets import KeypointSet, get_keypoint_set
from kinelift.errors import KeypointConversionError, ValueRangeError

__all__ = ["DERIVED_POINTS", "conversion_indices", "convert_keypoints"]

DERIVED_POINTS: dict[str, tuple[str, str]] = {
    "neck": ("left_shoulder", "right_shoulder"),
    "thorax": ("left_shoulder", "right_shoulder"),
    "mid_hip": ("left_hip", "right_hip"),
    "pelvis": ("left_hip", "right_hip"),
    **{f"{side}_{toe}": (f"{side}_foot_index", f"{side}_foot_index") for side in ("left", "right") for toe in ("big_toe", "small_toe")},
}


def conversion_indices(source: str | KeypointSet, target: str | KeypointSet) -> list[int]:
    """Source index of every target point, for conversions that need no derived point.

    Raises
    ------
    KeypointConversionError
        If a target point has no source point of the same name.
    """
    src, dst = get_keypoint_set(source), get_keypoint_set(target)
    missing = [n for n in dst.names if n not in src.names]
    if missing:
        raise KeypointConversionError(
            f"cannot convert {src.name} to {dst.name}: {src.name} has no {missing}"
            + (" (some can be derived: pass allow_derived=True)" if set(missing) <= set(DERIVED_POINTS) else "")
        )
    return [src.names.index(n) for n in dst.names]


def convert_keypoints(
    positions: np.ndarray,
    confidence: np.ndarray,
    source: str | KeypointSet,
    target: str | KeypointSet,
    *,
    allow_derived: bool = False,
    missing: str = "error",
) -> tuple[np.ndarray, np.ndarray]:
    """Map positions ``(..., K_src, D)`` and confidence ``(..., K_src)`` to ``target``.

    Parameters
    ----------
    positions, confidence : ndarray
        Source positions and confidences; the keypoint axis is second to last
        (positions) and last (confidence).
    source, target : str or KeypointSet
        Keypoint sets.
    allow_derived : bool, default False
        Derive ``neck``, ``mid_hip``, ``pelvis`` and ``thorax`` as midpoints (see module docs).
    missing : {"error", "absent"}, default "error"
        A target point the source neither has nor derives: an error, or ``"absent"``: missing
        in every frame (NaN positions, confidence 0; e.g. COCO-17's face points taken from a
        set without them).

    Returns
    -------
    positions, confidence : ndarray
        Arrays with ``K_target`` keypoints; new arrays, inputs untouched.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.arange(17 * 2, dtype=float).reshape(1, 17, 2)
    >>> c = np.ones((1, 17))
    >>> q, _ = convert_keypoints(p, c, "COCO-17", "BODY-25", allow_derived=False)
    Traceback (most recent call last):
    ...
    kinelift.errors.KeypointConversionError: cannot convert COCO-17 to BODY-25: COCO-17 has no ['neck', 'mid_hip', 'left_big_toe', 'left_small_toe', 'left_heel', 'right_big_toe', 'right_small_toe', 'right_heel']
    """
    src, dst = get_keypoint_set(source), get_keypoint_set(target)
    if missing not in ("error", "absent"):
        raise ValueRangeError("missing", expected="'error' or 'absent'", got=missing)
    if not allow_derived and missing == "error":
        idx = conversion_indices(src, dst)
        return positions[..., idx, :].copy(), confidence[..., idx].copy()
    derived = {n: DERIVED_POINTS[n] for n in dst.names
               if allow_derived and n not in src.names and n in DERIVED_POINTS and set(DERIVED_POINTS[n]) <= set(src.names)}  # fmt: skip
    unknown = [n for n in dst.names if n not in src.names and n not in derived]
    if unknown and missing == "error":
        raise KeypointConversionError(f"cannot convert {src.name} to {dst.name}: {src.name} has no {unknown}, even derived")
    out_p = np.full(positions.shape[:-2] + (len(dst),) + positions.shape[-1:], np.nan, dtype=positions.dtype)
    out_c = np.zeros(confidence.shape[:-1] + (len(dst),), dtype=confidence.dtype)
    for j, n in enumerate(dst.names):
        if n in src.names:
            i = src.names.index(n)
            out_p[..., j, :] = positions[..., i, :]
            out_c[..., j] = confidence[..., i]
        elif n in derived:
            a, b = (src.names.index(p) for p in derived[n])
            out_p[..., j, :] = 0.5 * (positions[..., a, :] + positions[..., b, :])
            out_c[..., j] = np.minimum(confidence[..., a], confidence[..., b])
    return out_p, out_c
