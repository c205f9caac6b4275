"""kinelift: from video or 2D keypoints to OpenSim-grade 3D kinematics and squat assessment.

The data types (``Tracks``, ``KeypointSet``, ``TimeSeriesTable``) and the readers and writers
(``kinelift.io``) load at once; the torch-based
layers (``SkeletalModel``, ``builtin_model``, ``lift``, ``run``) load on first use.
"""

from typing import Any

from kinelift import io  # noqa: F401  - kinelift.io.read_mot etc. after a bare `import kinelift`
from kinelift.core import KEYPOINT_SETS, KeypointSet, TimeSeriesTable, Tracks, get_keypoint_set

__version__ = "0.3.18"
__all__ = [
    "KEYPOINT_SETS", "KeypointSet", "SkeletalModel", "TimeSeriesTable", "Tracks", "builtin_model", "get_keypoint_set", "lift", "run",
    "__version__",
]  # fmt: skip

_LAZY = {"SkeletalModel": "kinelift.skeleton", "builtin_model": "kinelift.skeleton.builtin", "lift": "kinelift.lifting",
         "run": "kinelift.pipeline"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kinelift' has no attribute {name!r}")
