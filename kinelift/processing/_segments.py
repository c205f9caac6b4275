"""NaN-free segments: every filter runs on runs of valid samples and never across a gap."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from kinelift.errors import SignalProcessingError, ValueRangeError

__all__ = ["valid_runs", "apply_segmentwise", "SHORT_POLICIES"]

SHORT_POLICIES = ("error", "keep", "nan")

log = logging.getLogger(__name__)


def valid_runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of True in a 1D boolean array.

    Examples
    --------
    >>> valid_runs(np.array([True, True, False, True]))
    [(0, 2), (3, 4)]
    """
    v = np.concatenate([[False], np.asarray(valid, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(v.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def apply_segmentwise(
    x: np.ndarray,
    func: Callable[[np.ndarray], np.ndarray],
    *,
    min_length: int,
    short: str,
    name: str,
) -> np.ndarray:
    """Apply ``func`` along axis 0 of every NaN-free segment of every column of ``x``.

    Columns (all trailing axes flattened) that share one NaN pattern are filtered
    together as a ``(segment, columns)`` block. Segments shorter than ``min_length``
    are handled by ``short``: ``"error"`` raises, ``"keep"`` leaves them as they
    are, ``"nan"`` blanks them; how many were left or blanked is logged.
    """
    if short not in SHORT_POLICIES:
        raise ValueRangeError("short", expected=f"one of {SHORT_POLICIES}", got=short)
    arr = np.asarray(x, dtype=np.float64)
    flat = arr.reshape(arr.shape[0], -1)
    out = np.full_like(flat, np.nan)
    valid = ~np.isnan(flat)
    patterns: dict[bytes, list[int]] = {}
    for c in range(flat.shape[1]):
        patterns.setdefault(np.packbits(valid[:, c]).tobytes() + bytes([valid.shape[0] % 8]), []).append(c)
    n_short = 0
    for cols in patterns.values():
        for start, stop in valid_runs(valid[:, cols[0]]):
            seg = flat[start:stop, cols]
            if stop - start < min_length:
                n_short += len(cols)
                if short == "error":
                    raise SignalProcessingError(
                        f"{name}: a NaN-free segment of {stop - start} samples (frames {start}-{stop - 1}) is shorter than "
                        f"the {min_length} samples the filter needs; fill gaps first or pass short='keep' or 'nan'"
                    )
                out[start:stop, cols] = seg if short == "keep" else np.nan
                continue
            out[start:stop, cols] = func(seg)
    if n_short:
        log.info("%s: %d column segments shorter than the %d samples the filter needs were %s", name, n_short, min_length,
                 "left unfiltered" if short == "keep" else "set to NaN")  # fmt: skip
    return out.reshape(arr.shape)
