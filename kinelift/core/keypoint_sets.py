"""Named keypoint sets: point names, skeleton edges and left/right pairs.

A :class:`KeypointSet` is the vocabulary of a detector or a marker set. kinelift
uses one canonical spelling for anatomical points across sets (``left_hip``,
``right_knee``, ``mid_hip``, ``neck``, ``head_top``...), so conversion between
sets is a lookup by name (see :mod:`kinelift.core.keypoint_conversion`).
"Left" and "right" are always the person's own.

Built-in sets (``KEYPOINT_SETS``):

==============  ====  ==========================================================
name            size  source order
==============  ====  ==========================================================
``COCO-17``     17    COCO person keypoints (and MMPose, RTMPose)
``LOWER-6``     6     right ankle, knee, hip; left hip, knee, ankle (LSP's first six)
``LSP-14``      14    Leeds Sports Pose joints
``BODY-25``     25    OpenPose BODY_25
``BODY-25B``    25    OpenPose's experimental BODY_25B (Pose2Sim's default): COCO-17 order,
                      then upper neck, head top and six foot points
``HALPE-26``    26    Halpe full-body (AlphaPose, RTMPose body8-halpe26)
``MEDIAPIPE-33`` 33   MediaPipe / BlazePose landmarks
``H36M-17``     17    Human3.6M 17-joint layout (VideoPose3D order)
``HMR-19``      19    HMR "cocoplus" joints (the order of Ogata et al.'s distances)
``PENN-13``     13    Penn Action annotations
==============  ====  ==========================================================

Examples
--------
>>> from kinelift.core.keypoint_sets import get_keypoint_set
>>> coco = get_keypoint_set("COCO-17")
>>> coco.index("left_knee")
13
>>> coco.flip_indices()[:5]
(0, 2, 1, 4, 3)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kinelift.errors import UnknownNameError, ValueRangeError

__all__ = ["KeypointSet", "KEYPOINT_SETS", "get_keypoint_set", "register_keypoint_set"]


@dataclass(frozen=True)
class KeypointSet:
    """An ordered set of named keypoints with its skeleton.

    Parameters
    ----------
    name : str
        Identifier, e.g. ``"COCO-17"``; ``"custom"`` for ad-hoc sets such as marker lists.
    names : tuple of str
        Keypoint names in storage order; unique.
    edges : tuple of (int, int)
        Skeleton edges as pairs of indices into ``names`` (for drawing and bone lengths).
    lr_pairs : tuple of (int, int), optional
        Left/right partner indices. Derived from ``left_*``/``right_*`` names when omitted.

    Examples
    --------
    >>> ks = KeypointSet.custom(["RASI", "LASI", "RKNE"])
    >>> ks.name, len(ks)
    ('custom', 3)
    """

    name: str
    names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...] = ()
    lr_pairs: tuple[tuple[int, int], ...] = field(default=())

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        object.__setattr__(self, "names", names)
        if not names:
            raise ValueRangeError("names", expected="at least one keypoint name", got=names)
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueRangeError("names", expected="unique keypoint names", got=dupes)
        n = len(names)
        edges = tuple((int(a), int(b)) for a, b in self.edges)
        for a, b in edges:
            if not (0 <= a < n and 0 <= b < n) or a == b:
                raise ValueRangeError(f"{self.name}.edges", expected=f"index pairs in [0, {n})", got=(a, b))
        object.__setattr__(self, "edges", edges)
        pairs = tuple((int(a), int(b)) for a, b in self.lr_pairs) or _derive_lr_pairs(names)
        object.__setattr__(self, "lr_pairs", pairs)

    @classmethod
    def custom(cls, names: Iterable[str], *, edges: Iterable[tuple[int, int]] = ()) -> KeypointSet:
        """Make an ad-hoc set (e.g. the markers of a TRC file) named ``"custom"``."""
        return cls("custom", tuple(names), tuple(edges))

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Index of keypoint ``name``; :class:`~kinelift.errors.UnknownNameError` if absent."""
        try:
            return self.names.index(name)
        except ValueError:
            raise UnknownNameError(f"keypoint (in {self.name})", name, known=self.names) from None

    def indices(self, names: Iterable[str]) -> list[int]:
        """Indices of several keypoints, reporting every unknown name at once."""
        names = list(names)
        missing = [n for n in names if n not in self.names]
        if missing:
            raise UnknownNameError(f"keypoint (in {self.name})", missing, known=self.names)
        return [self.names.index(n) for n in names]

    def flip_indices(self) -> tuple[int, ...]:
        """Permutation that swaps every left point with its right partner (for mirroring)."""
        perm = list(range(len(self.names)))
        for a, b in self.lr_pairs:
            perm[a], perm[b] = b, a
        return tuple(perm)

    def subset(self, names: Sequence[str], *, name: str | None = None) -> KeypointSet:
        """The set restricted to ``names`` (in that order), keeping the edges among them."""
        idx = self.indices(names)
        remap = {old: new for new, old in enumerate(idx)}
        edges = tuple((remap[a], remap[b]) for a, b in self.edges if a in remap and b in remap)
        return KeypointSet(name or "custom", tuple(names), edges)


def _derive_lr_pairs(names: Sequence[str]) -> tuple[tuple[int, int], ...]:
    pairs = []
    for i, n in enumerate(names):
        if n.startswith("left_"):
            partner = "right_" + n[len("left_") :]
            if partner in names:
                pairs.append((i, names.index(partner)))
    return tuple(pairs)


def _named_edges(names: Sequence[str], edges: Iterable[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    return tuple((names.index(a), names.index(b)) for a, b in edges)


_COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
# COCO's own skeleton (1-based in the annotation files).
_COCO17_EDGES = tuple(
    (a - 1, b - 1)
    for a, b in [
        (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8),
        (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
    ]
)  # fmt: skip

_LSP14 = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
    "neck", "head_top",
)  # fmt: skip
_LSP14_EDGES = ((0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 12), (9, 12), (9, 10), (10, 11), (12, 13), (2, 8), (3, 9))

_LOWER6 = _LSP14[:6]
_LOWER6_EDGES = ((0, 1), (1, 2), (2, 3), (3, 4), (4, 5))

_BODY25 = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
    "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe",
    "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)  # fmt: skip
# OpenPose's POSE_BODY_25_PAIRS_RENDER.
_BODY25_EDGES = (
    (1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11), (8, 12),
    (12, 13), (13, 14), (1, 0), (0, 15), (15, 17), (0, 16), (16, 18), (14, 19), (19, 20), (14, 21),
    (11, 22), (22, 23), (11, 24),
)  # fmt: skip

# OpenPose's experimental BODY_25B: COCO-17's order, then the upper neck (below the head, not
# BODY-25's neck between the shoulders), the head top and BODY-25's six foot points.
_BODY25B = _COCO17 + (
    "upper_neck", "head_top", "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)  # fmt: skip
_BODY25B_EDGES = _COCO17_EDGES + ((17, 18), (0, 17), (15, 19), (19, 20), (15, 21), (16, 22), (22, 23), (16, 24))

_HALPE26 = _COCO17 + (
    "head_top", "neck", "mid_hip", "left_big_toe", "right_big_toe", "left_small_toe",
    "right_small_toe", "left_heel", "right_heel",
)  # fmt: skip
_HALPE26_EDGES = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 18), (6, 18), (5, 7), (7, 9), (6, 8), (8, 10), (17, 18),
    (18, 19), (19, 11), (19, 12), (11, 13), (12, 14), (13, 15), (14, 16), (20, 24), (21, 25),
    (23, 25), (22, 24), (15, 24), (16, 25),
)  # fmt: skip

_MEDIAPIPE33 = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)  # fmt: skip
# MediaPipe's POSE_CONNECTIONS.
_MEDIAPIPE33_EDGES = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
    (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20),
    (16, 22), (18, 20), (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
)  # fmt: skip

# Human3.6M's 17 joints as used by VideoPose3D; "pelvis" is the root (hip centre),
# "neck_nose" is H3.6M's joint between thorax and head.
_H36M17 = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "neck_nose", "head_top", "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
)  # fmt: skip
_H36M17_EDGES = (
    (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (9, 10), (8, 11),
    (11, 12), (12, 13), (8, 14), (14, 15), (15, 16),
)  # fmt: skip

# HMR's 19 "cocoplus" joints: LSP-14 then five face points from COCO.
_HMR19 = _LSP14 + ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
_HMR19_EDGES = _LSP14_EDGES + ((12, 14), (14, 15), (14, 16), (15, 17), (16, 18))

_PENN13 = (
    "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
_PENN13_EDGES = ((0, 1), (0, 2), (1, 3), (3, 5), (2, 4), (4, 6), (1, 7), (2, 8), (7, 8), (7, 9), (9, 11), (8, 10), (10, 12), (1, 2))

KEYPOINT_SETS: dict[str, KeypointSet] = {
    ks.name: ks
    for ks in (
        KeypointSet("COCO-17", _COCO17, _COCO17_EDGES),
        KeypointSet("LOWER-6", _LOWER6, _LOWER6_EDGES),
        KeypointSet("LSP-14", _LSP14, _LSP14_EDGES),
        KeypointSet("BODY-25", _BODY25, _BODY25_EDGES),
        KeypointSet("BODY-25B", _BODY25B, _BODY25B_EDGES),
        KeypointSet("HALPE-26", _HALPE26, _HALPE26_EDGES),
        KeypointSet("MEDIAPIPE-33", _MEDIAPIPE33, _MEDIAPIPE33_EDGES),
        KeypointSet("H36M-17", _H36M17, _H36M17_EDGES),
        KeypointSet("HMR-19", _HMR19, _HMR19_EDGES),
        KeypointSet("PENN-13", _PENN13, _PENN13_EDGES),
    )
}
"""The built-in keypoint sets, by name."""


def get_keypoint_set(name: str | KeypointSet) -> KeypointSet:
    """Return the built-in (or registered) keypoint set called ``name``.

    Names are matched case-insensitively, ignoring ``-`` and ``_`` (``"coco17"`` works).

    Examples
    --------
    >>> get_keypoint_set("body_25").name
    'BODY-25'
    """
    if isinstance(name, KeypointSet):
        return name
    key = _normalise(name)
    for ks in KEYPOINT_SETS.values():
        if _normalise(ks.name) == key:
            return ks
    raise UnknownNameError("keypoint set", name, known=list(KEYPOINT_SETS))


def register_keypoint_set(keypoint_set: KeypointSet) -> None:
    """Add a keypoint set to ``KEYPOINT_SETS`` so files and conversions can name it."""
    if keypoint_set.name == "custom":
        raise ValueRangeError("keypoint_set.name", expected="a name other than 'custom'", got=keypoint_set.name)
    KEYPOINT_SETS[keypoint_set.name] = keypoint_set


def _normalise(name: str) -> str:
    return str(name).upper().replace("-", "").replace("_", "")
