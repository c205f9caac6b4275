"""Pinhole cameras for the lifter's training data, and projection to pixels.

Camera frame (OpenCV's): x right, y down, z forward (the viewing direction); pixels ``u`` right,
``v`` down, origin at the top-left corner. World frame: OpenSim's ground, y up. A camera maps a
world point ``P`` to ``R @ (P - centre)``, then to ``(f * x / z + cx, f * y / z + cy)``.

:func:`random_cameras` draws cameras around a subject (the point it looks at): azimuth all round
(front, oblique, side, back), camera height 0.3-2.2 m, horizontal field of view 40-75 deg, a
distance that makes a 1.8 m person fill 35-90 % of the image height, roll up to 3 deg, and image
sizes of common cameras (1920x1080, 1280x720, 1080x1920 portrait, 640x480). :class:`CameraDraw`
holds those ranges as a setting (:attr:`kinelift.lifting.config.DataConfig.cameras`, TOML
``[data.cameras]``); :data:`PHONE_PORTRAIT` is a phone held upright.

Examples
--------
>>> import numpy as np
>>> cam = look_at(np.array([0.0, 1.0, 4.0]), np.array([0.0, 1.0, 0.0]), focal=1000.0, image_size=(1280, 720))
>>> project(cam, np.array([[0.0, 1.0, 0.0]])).tolist()
[[640.0, 360.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinelift.errors import ShapeError, ValueRangeError

__all__ = ["Camera", "CameraDraw", "PHONE_PORTRAIT", "focal_length", "look_at", "random_cameras", "project"]

_IMAGE_SIZES = ((1920, 1080), (1280, 720), (1080, 1920), (640, 480))


@dataclass(frozen=True, eq=False)
class Camera:
    """A pinhole camera: ``rotation`` (3, 3) world-to-camera, ``centre`` (3,) in the world (m),
    ``focal`` (px), ``principal_point`` (px), ``image_size`` (width, height) px."""

    rotation: np.ndarray
    centre: np.ndarray
    focal: float
    principal_point: tuple[float, float]
    image_size: tuple[int, int]

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` -> camera frame ``(..., 3)`` (m)."""
        return (np.asarray(points) - self.centre) @ self.rotation.T


def look_at(centre: np.ndarray, target: np.ndarray, *, focal: float, image_size: tuple[int, int], roll: float = 0.0) -> Camera:
    """A camera at ``centre`` looking at ``target`` (world, y up), rolled by ``roll`` rad about its axis."""
    forward = np.asarray(target, float) - np.asarray(centre, float)
    if np.linalg.norm(forward) < 1e-9:
        raise ValueRangeError("target", expected="a point away from the camera centre", got=target)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    if np.linalg.norm(right) < 1e-6:
        raise ValueRangeError("target", expected="a viewing direction that is not vertical", got=forward.tolist())
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    c, s = np.cos(roll), np.sin(roll)
    right, down = c * right + s * down, -s * right + c * down
    w, h = image_size
    return Camera(np.stack([right, down, forward]), np.asarray(centre, float), float(focal), (w / 2.0, h / 2.0), (int(w), int(h)))


def project(camera: Camera, points: np.ndarray) -> np.ndarray:
    """World points ``(..., 3)`` -> pixels ``(..., 2)``; points behind the camera raise."""
    points = np.asarray(points, dtype=np.float64)
    if points.shape[-1] != 3:
        raise ShapeError("points", expected="(..., 3) world coordinates", got=points.shape)
    cam = camera.to_camera(points)
    if np.any(cam[..., 2] <= 1e-3):
        raise ValueRangeError("points", expected="in front of the camera (z > 0)", got=float(cam[..., 2].min()))
    return camera.focal * cam[..., :2] / cam[..., 2:3] + np.asarray(camera.principal_point)


def _check_side(across: str, *, name: str = "across") -> None:
    if across not in ("width", "longer side"):
        raise ValueRangeError(name, expected='"width" or "longer side"', got=across)


def _checked_field_of_view(field_of_view_deg: tuple[float, float], *, name: str = "field_of_view_deg") -> tuple[float, float]:
    """``(low, high)`` degrees as floats; :class:`~kinelift.errors.ValueRangeError` naming ``name``
    unless they are two numbers with 1 <= low <= high <= 179."""
    fov = tuple(field_of_view_deg)
    numbers = len(fov) == 2 and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in fov)
    if not numbers or not 1.0 <= fov[0] <= fov[1] <= 179.0:
        raise ValueRangeError(name, expected="(low, high) degrees with 1 <= low <= high <= 179", got=field_of_view_deg)
    return float(fov[0]), float(fov[1])


def focal_length(field_of_view_deg: float, image_size: tuple[int, int], *, across: str = "width") -> float:
    """The focal length (px) of a pinhole camera whose field of view spans ``field_of_view_deg``
    across the image's ``across`` side: ``"width"``, or ``"longer side"`` (one physical camera in
    both orientations: a phone held upright sees about 39 deg across its width for 65 across its
    long side).

    Examples
    --------
    >>> round(focal_length(90.0, (1920, 1080)), 6), round(focal_length(90.0, (1080, 1920), across="longer side"), 6)
    (960.0, 960.0)
    """
    _check_side(across)
    width, height = image_size
    side = width if across == "width" else max(width, height)
    return float((side / 2.0) / np.tan(np.deg2rad(field_of_view_deg) / 2.0))


def random_cameras(rng: np.random.Generator, target: np.ndarray, n: int = 1, *,
                   image_sizes: tuple[tuple[int, int], ...] = _IMAGE_SIZES, field_of_view_deg: tuple[float, float] = (40.0, 75.0),
                   across: str = "width") -> list[Camera]:  # fmt: skip
    """``n`` cameras looking near ``target`` (world, m), from the ranges in the module docs.

    ``image_sizes`` (width, height) px are drawn uniformly, the field of view uniformly in
    ``field_of_view_deg`` across the image's ``across`` side (``"width"``, the training data's
    rule, or ``"longer side"``: one physical camera in both orientations, as a phone filming in
    portrait sees about 39 deg across its width for 65 across its long side).

    Examples
    --------
    >>> cams = random_cameras(np.random.default_rng(0), np.array([0.0, 1.0, 0.0]), 2, image_sizes=((1080, 1920),),
    ...                       field_of_view_deg=(65.0, 65.0), across="longer side")
    >>> [round(float(np.degrees(2 * np.arctan(960 / c.focal))), 1) for c in cams]
    [65.0, 65.0]
    """
    low, high = _checked_field_of_view(field_of_view_deg)
    _check_side(across)
    out = []
    for _ in range(n):
        w, h = image_sizes[rng.integers(len(image_sizes))]
        focal = focal_length(rng.uniform(low, high), (w, h), across=across)
        fill = rng.uniform(0.35, 0.9)
        distance = max(1.5, focal * 1.8 / (fill * h))
        azimuth = rng.uniform(-np.pi, np.pi)
        height = rng.uniform(0.3, 2.2)
        horizontal = np.sqrt(max(distance**2 - (height - target[1]) ** 2, 1.0))
        centre = np.array([target[0] + horizontal * np.cos(azimuth), height, target[2] + horizontal * np.sin(azimuth)])
        aim = np.asarray(target, float) + rng.normal(0.0, 0.1, 3)
        out.append(look_at(centre, aim, focal=focal, image_size=(w, h), roll=np.deg2rad(rng.uniform(-3, 3))))
    return out


@dataclass(frozen=True)
class CameraDraw:
    """The ranges :func:`random_cameras` draws a rendering's camera from: ``image_sizes`` (width,
    height) px, drawn uniformly; ``field_of_view_deg`` (low, high), drawn uniformly across the
    image's ``across`` side (``"width"`` or ``"longer side"``). The default is the training data's
    draw (the module docs); :data:`PHONE_PORTRAIT` is a phone held upright.

    Examples
    --------
    >>> phone = CameraDraw(image_sizes=[[1080, 1920]], field_of_view_deg=[60, 70], across="longer side")
    >>> phone == PHONE_PORTRAIT
    True
    >>> cam = phone.draw(np.random.default_rng(0), np.array([0.0, 1.0, 0.0]))[0]
    >>> cam.image_size, bool(60 <= np.degrees(2 * np.arctan(960 / cam.focal)) <= 70)
    ((1080, 1920), True)
    """

    image_sizes: tuple[tuple[int, int], ...] = _IMAGE_SIZES
    field_of_view_deg: tuple[float, float] = (40.0, 75.0)
    across: str = "width"

    def __post_init__(self) -> None:
        sizes = tuple(tuple(pair) if isinstance(pair, (list, tuple)) else (pair,) for pair in self.image_sizes)
        whole = all(len(p) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 16 for v in p) for p in sizes)
        if not sizes or not whole:
            raise ValueRangeError("data.cameras.image_sizes", expected="a non-empty list of [width, height] whole pixels >= 16",
                                  got=self.image_sizes)  # fmt: skip
        fov = _checked_field_of_view(self.field_of_view_deg, name="data.cameras.field_of_view_deg")
        _check_side(self.across, name="data.cameras.across")
        object.__setattr__(self, "image_sizes", sizes)
        object.__setattr__(self, "field_of_view_deg", fov)

    def draw(self, rng: np.random.Generator, target: np.ndarray, n: int = 1) -> list[Camera]:
        """``n`` cameras looking near ``target`` (world, m): :func:`random_cameras` with these ranges."""
        return random_cameras(rng, target, n, image_sizes=self.image_sizes, field_of_view_deg=self.field_of_view_deg, across=self.across)


PHONE_PORTRAIT = CameraDraw(image_sizes=((1080, 1920),), field_of_view_deg=(60.0, 70.0), across="longer side")
"""A phone filming upright: 1080x1920 frames, 60-70 deg across the long side."""
