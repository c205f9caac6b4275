"""Vicon Plug-in-Gait markers on kinelift's built-in model, placed from its anatomy.

:func:`plug_in_gait_spec` adds the full-body Plug-in-Gait markers to a
:func:`~kinelift.skeleton.builtin.builtin_spec` (bodies named as there). Locations are in the
body frames of the built-in model (x forward, y up, z right; every body frame at the joint that
carries it) for a subject of height ``H``:

=========================  =========  ==================================================================
marker                     body       location (right side; the left mirrors z)
=========================  =========  ==================================================================
``RASI`` / ``RPSI``        pelvis     the subject's own pelvis width ``PW`` and depth ``PD`` through
                                      Harrington et al.'s hip-centre regression (J Biomech 2007,
                                      40:595-602), inverted: ASIS at ``(0.24 PD + 9.9 mm,
                                      0.30 PW + 10.9 mm, PW / 2)`` from the mid-hip origin, PSIS ``PD``
                                      behind at ``psis_width / 2``; the pelvis frame is the ASIS-PSIS
                                      plane (``pelvis_tilt = 0`` when the ASIS and PSIS are level)
``RKNE``                   femur_r    lateral femoral epicondyle: the knee centre + ``knee_offset`` along z
``RANK``                   tibia_r    lateral malleolus: the ankle centre + ``ankle_offset`` along z
``RHEE``                   calcn_r    posterior calcaneus, 3 cm above the sole, 1 cm behind the heel point
``RTOE``                   calcn_r    dorsum of the second metatarsal head, 0.075 H ahead of the ankle,
                                      2.5 cm above the sole
``RSHO``                   torso      acromion, 0.025 H above the shoulder centre
``RELB``                   humerus_r  lateral epicondyle, 0.02 H lateral of the elbow centre
``RWRI``                   forearm_r  wrist centre (the midpoint of ``RWRA`` and ``RWRB``)
``C7``, ``T10``,           torso      spinous processes and sternum, typical adult positions
``CLAV``, ``STRN``
``RFHD``, ``RBHD``         head       front and back head band
=========================  =========  ==================================================================

Offsets given as fractions of ``H`` scale with the model; those in mm are fixed. The torso,
head, heel and toe markers are typical positions to be registered per subject
(:data:`REGISTERED_MARKERS`, moved to the subject's static frames by the fit); the pelvis, knee,
ankle, elbow and wrist markers define the joint centres and stay where anatomy puts them.

Examples
--------
>>> from kinelift.skeleton.builtin import builtin_spec
>>> spec = plug_in_gait_spec(builtin_spec(height=1.75), pelvis_width=0.24, pelvis_depth=0.16)
>>> sorted(m.name for m in spec.markers if m.frame.body == "pelvis")
['LASI', 'LPSI', 'RASI', 'RPSI']
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from kinelift.errors import UnknownNameError, ValueRangeError
from kinelift.skeleton.builtin import PROPORTIONS
from kinelift.skeleton.spec import FrameRef, MarkerSpec, ModelSpec

__all__ = [
    "HARRINGTON", "PLUG_IN_GAIT_MARKERS", "PLUG_IN_GAIT_WEIGHTS", "REGISTERED_MARKERS", "harrington_offsets", "pelvis_size",
    "plug_in_gait_spec",
]  # fmt: skip

HARRINGTON = {"anterior": (-0.24, -0.0099), "superior": (-0.30, -0.0109), "lateral": (0.33, 0.0073)}
"""Harrington et al. (2007) hip-centre regression from the mid-ASIS: ``(factor, metres)`` along
the pelvis axes, the factor of pelvis depth (anterior) or width (superior, lateral)."""

PLUG_IN_GAIT_MARKERS = (
    "LASI", "RASI", "LPSI", "RPSI", "LKNE", "RKNE", "LANK", "RANK", "LHEE", "RHEE", "LTOE", "RTOE",
    "LSHO", "RSHO", "LELB", "RELB", "LWRI", "RWRI", "C7", "T10", "CLAV", "STRN", "LFHD", "RFHD", "LBHD", "RBHD",
)  # fmt: skip
"""The markers :func:`plug_in_gait_spec` places (``*WRI`` is the midpoint of ``*WRA`` and ``*WRB``)."""

PLUG_IN_GAIT_WEIGHTS = {
    "ASI": 10.0, "PSI": 10.0, "KNE": 5.0, "ANK": 5.0, "HEE": 3.0, "TOE": 3.0, "SHO": 1.0, "ELB": 2.0, "WRI": 2.0,
    "C7": 1.0, "T10": 1.0, "CLAV": 1.0, "STRN": 1.0, "FHD": 0.5, "BHD": 0.5,
}  # fmt: skip
"""IK task weight per marker (by name without its side letter): the pelvis and leg markers
define the lower body's joint centres, the head band the least."""

REGISTERED_MARKERS = ("LHEE", "RHEE", "LTOE", "RTOE", "C7", "T10", "CLAV", "STRN", "LFHD", "RFHD", "LBHD", "RBHD")
"""Markers whose typical location is replaced by the subject's own (measured in static frames).
The acromion markers are not among them: they ride up with the shoulder girdle when the arms
rise (by about 10 cm in UI-PRMD's deep squats, whose arms are raised), so that a static trial
with raised arms would misplace them for every other posture."""


def harrington_offsets(pelvis_width: float, pelvis_depth: float) -> tuple[float, float, float]:
    """The right hip centre from the mid-ASIS ``(anterior, superior, lateral)`` in metres (Harrington et al. 2007)."""
    (fa, ca), (fs, cs), (fl, cl) = HARRINGTON["anterior"], HARRINGTON["superior"], HARRINGTON["lateral"]
    return fa * pelvis_depth + ca, fs * pelvis_width + cs, fl * pelvis_width + cl


def pelvis_size(lasi: np.ndarray, rasi: np.ndarray, lpsi: np.ndarray, rpsi: np.ndarray) -> tuple[float, float, float]:
    """Pelvis width (ASIS to ASIS), depth (mid-ASIS to mid-PSIS) and PSIS width of marker
    trajectories ``(frames, 3)``, each the median over the frames (a rigid pelvis; NaN frames
    ignored), in the markers' unit."""
    lasi, rasi, lpsi, rpsi = (np.asarray(a, dtype=np.float64) for a in (lasi, rasi, lpsi, rpsi))
    width = float(np.nanmedian(np.linalg.norm(rasi - lasi, axis=-1)))
    depth = float(np.nanmedian(np.linalg.norm(0.5 * (lasi + rasi) - 0.5 * (lpsi + rpsi), axis=-1)))
    psis = float(np.nanmedian(np.linalg.norm(rpsi - lpsi, axis=-1)))
    return width, depth, psis


def plug_in_gait_spec(
    spec: ModelSpec,
    *,
    pelvis_width: float,
    pelvis_depth: float,
    psis_width: float = 0.09,
    knee_offset: float = 0.06,
    ankle_offset: float = 0.042,
) -> ModelSpec:
    """``spec`` (a built-in model's) with the Plug-in-Gait markers added (see the module docs).

    Parameters
    ----------
    spec : ModelSpec
        From :func:`kinelift.skeleton.builtin.builtin_spec` (its ``metadata["height"]`` is ``H``).
    pelvis_width, pelvis_depth : float
        ASIS to ASIS and mid-ASIS to mid-PSIS distances of the subject (m).
    psis_width : float, default 0.09
        PSIS to PSIS distance (m).
    knee_offset, ankle_offset : float
        Lateral distance of the knee and ankle markers from the joint centres (m): half the
        knee or ankle width plus the marker's radius (Plug-in-Gait's KneeWidth and AnkleWidth).
    """
    for name, value, lo, hi in (("pelvis_width", pelvis_width, 0.12, 0.5), ("pelvis_depth", pelvis_depth, 0.06, 0.4),
                                ("psis_width", psis_width, 0.0, 0.2), ("knee_offset", knee_offset, 0.02, 0.12),
                                ("ankle_offset", ankle_offset, 0.015, 0.1)):  # fmt: skip
        if not (np.isfinite(value) and lo <= value <= hi):
            raise ValueRangeError(name, expected=f"metres between {lo} and {hi}", got=value)
    needed = {"pelvis", "femur_r", "tibia_r", "calcn_r", "torso", "head", "humerus_r", "forearm_r"}
    missing = sorted(needed - set(spec.bodies))
    if missing or "height" not in spec.metadata:
        raise UnknownNameError("built-in model body", missing or ["metadata height"], known=spec.bodies)
    H, P = float(spec.metadata["height"]), PROPORTIONS
    anterior, superior, _ = harrington_offsets(pelvis_width, pelvis_depth)
    asis = np.array([-anterior, -superior, 0.5 * pelvis_width])
    psis = np.array([-anterior - pelvis_depth, -superior, 0.5 * psis_width])
    hip_height = P["ankle_height"] + P["shank"] + P["thigh"]
    shoulder_y = (P["shoulder_height"] - hip_height - 0.06) * H  # above the lumbar joint (builtin_spec's torso frame)
    subtalar = np.array([-0.0275, -0.0235, 0.0]) * H
    sole = -P["ankle_height"] * H
    sided = {  # right side; (body, location)
        "ASI": ("pelvis", asis), "PSI": ("pelvis", psis),
        "KNE": ("femur", np.array([0.0, -P["thigh"] * H, knee_offset])),
        "ANK": ("tibia", np.array([0.0, -P["shank"] * H, ankle_offset])),
        "HEE": ("calcn", np.array([-0.035 * H - 0.01, sole + 0.03, 0.0]) - subtalar),
        "TOE": ("calcn", np.array([0.075 * H, sole + 0.025, -0.005 * H]) - subtalar),
        "SHO": ("torso", np.array([0.03 * H, shoulder_y + 0.025 * H, 0.115 * H])),
        "ELB": ("humerus", np.array([0.0, -P["upper_arm"] * H, 0.02 * H])),
        "WRI": ("forearm", np.array([0.0, -P["forearm"] * H, 0.0])),
        "FHD": ("head", np.array([0.065 * H, 0.125 * H, 0.04 * H])),
        "BHD": ("head", np.array([-0.05 * H, 0.11 * H, 0.04 * H])),
    }  # fmt: skip
    central = {
        "C7": np.array([-0.045 * H, shoulder_y + 0.03 * H, 0.0]), "T10": np.array([-0.08 * H, shoulder_y - 0.13 * H, 0.0]),
        "CLAV": np.array([0.055 * H, shoulder_y + 0.01 * H, 0.0]), "STRN": np.array([0.09 * H, shoulder_y - 0.09 * H, 0.0]),
    }  # fmt: skip
    markers: dict[str, MarkerSpec] = {}
    for code, (body, xyz) in sided.items():
        for letter, s, sign in (("R", "r", 1.0), ("L", "l", -1.0)):
            name = body if body in ("pelvis", "torso", "head") else f"{body}_{s}"
            markers[letter + code] = MarkerSpec(letter + code, FrameRef(name), xyz * np.array([1.0, 1.0, sign]))
    for code, xyz in central.items():
        markers[code] = MarkerSpec(code, FrameRef("torso"), xyz)
    kept = tuple(m for m in spec.markers if m.name not in markers)
    return replace(spec, markers=kept + tuple(markers[n] for n in PLUG_IN_GAIT_MARKERS))
