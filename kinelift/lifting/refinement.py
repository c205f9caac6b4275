"""Fitting the lifter's output to the 2D keypoints through the camera (needs the intrinsics).

The network's 3D pose is a regression: its projection misses the keypoints it was lifted from
by about 1.5-3 % of the person's size even on exact 2D. With the camera's intrinsics the pose
can be fitted back to them. :func:`refine_to_image` moves, per frame, the pose coordinates, the
pelvis orientation and the pelvis position in the camera to minimise

``sum_k w_k log(1 + |r_k|^2 / s^2)`` (Cauchy, robust to outliers and left-right swaps)
``+ sum_k (dz_k / (sd_z h))^2``
``+ |dq / sd_q|^2 + |omega / sd_R|^2 + |second difference of dq / sd_a|^2``

where ``r_k`` is the reprojection error of keypoint ``k`` in units of the person's size
(``focal / size`` times the error in normalised image coordinates), ``s`` its 2D noise scale
(``keypoint_noise``; ``foot_noise`` for the points on a foot below the ankle, the heels and toes
of BODY-25 and HALPE-26, :attr:`Lifter.foot_keypoints`), ``w_k`` its relative
confidence, ``dq`` the change of the pose coordinates, ``omega`` the pelvis's rotation change
(rotation vector in the pelvis frame) and the second difference is over consecutive frames of
one clip; ``dz_k`` is the change of keypoint ``k``'s depth (camera z, relative to the pelvis)
from the network's and ``h`` the body's standing height. The image fixes each keypoint's x and y;
the depth prior keeps what it cannot show, the depth, at the network's estimate, so the
coordinate prior can be loose: a knee bent in a side view is fitted to the image, while in a
frontal view (where bending it moves the ankle in depth) it stays where the network put it. The
body (segment scales) and the up direction are kept. Coordinates end inside the model's ranges.

On real motion of held-out subjects (``benchmarks/lift_eval.py --real-only``: its "fit to
2D" rows) it lowers the knee RMSE in every movement family (docs/lift.md). A focal length 30-40 %
off still gave most of the gain, so ``kinelift.lift`` fits through an assumed camera when only
the image size is known.

Examples
--------
>>> import torch
>>> from kinelift.lifting.config import LifterConfig
>>> from kinelift.lifting.lifter import Lifter
>>> lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(3,), channels=8)).eval()
>>> with torch.no_grad():
...     out = lifter(torch.zeros(1, 6, 6, 3))
>>> out = lifter.assemble(*(x[0] for x in (out.coordinates, out.root_rotation, out.up, out.segment_scales)))
>>> seen = out.keypoints + torch.tensor([0.0, 0.0, 4.0])  # the pose 4 m in front of the camera
>>> image = seen[..., :2] / seen[..., 2:]
>>> refined = refine_to_image(lifter, out, image, torch.ones(4, 6), focal_over_size=4.0)
>>> bool(torch.allclose(refined.coordinates, out.coordinates, atol=0.01))  # an exact image: the pose stays
True
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.optim.adam import adam
from tqdm.auto import tqdm

from kinelift.errors import ShapeError, ValueRangeError
from kinelift.lifting.lifter import Lifter, LifterOutput
from kinelift.lifting.rotations import axis_angle_to_matrix
from kinelift.lifting.segments import standing_height

__all__ = ["RefinementConfig", "fit_to_points", "refine_to_image", "root_translation"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefinementConfig:
    """Settings of :func:`refine_to_image` (see the module docs for the objective).

    ``keypoint_noise``: the 2D error scale ``s`` of the Cauchy term, in fractions of the person's
    size; ``foot_noise``: the same for the keypoints on the feet (heels, toes; only lifters that
    read them have any); ``depth_sd``: how far the fit may move each keypoint's depth from the network's, in
    fractions of the body's standing height (``None``: no depth prior, the objective before
    0.3.7); ``coordinate_sd``, ``rotation_sd`` (rad): how far it may move the pose coordinates
    and the pelvis orientation; ``smoothness_sd`` (rad per frame squared): the second difference
    of the coordinate change; ``iterations`` and ``learning_rate`` of Adam.

    The defaults (0.3.7) are the loose priors with the depth prior, and a looser smoothness
    (0.2 rad per frame squared; ``kinelift.lift`` fits on the lifter's 30-Hz grid, resampling
    other frame rates, so this is per 1/30 s). Before (``iterations=60,
    learning_rate=0.02, keypoint_noise=0.015, coordinate_sd=0.2, rotation_sd=0.2,
    smoothness_sd=0.05, depth_sd=None``) the fit stayed close to the network: a Cauchy scale of 1.5 % of the person's
    size treats a knee 10 deg off as an outlier, and the lifted knee stayed about 2 deg under the
    real 2D angle of Penn Action's side-view squats at 15-45 deg. The loose priors alone followed
    the detector's errors where the view hides the joint (the real standing video, filmed from
    the front: largest knee or hip flexion 10.1 deg, limit 10); with the depth prior they do not
    (docs/lift.md, "The fit's depth prior": Penn Action's knee RMSE median 9.7 -> 8.5 deg, the
    standing video 6.0 -> 5.1 deg, the walking video's knee peaks 47 -> 50 deg; held-out motion
    capture's mean of four 10.99 -> 10.89, knee 12.69 -> 12.08). The tighter smoothness of 0.05
    flattened the swing's knee peaks of walking (the lifted peaks about 10 deg under the 2D ones).

    ``foot_noise`` (0.3.10) is four times ``keypoint_noise``: a foot is about 20 cm long, so 2D
    noise of a few centimetres on a heel or toe is many degrees of ankle angle, and at the body's
    scale the fit followed that noise on a still foot. On held-out subjects' motion capture read by
    ``BODY-25+LOWER-6`` (0.3.9's BODY-25 weights) through the assumed camera (docs/lift.md, "Foot points") the mean of the
    four angle RMSEs over 11 movement families is 10.33 deg at 0.03, 10.25 at 0.06, 10.35 at 0.12,
    10.55 at 0.25 and 10.70 at 1 (the feet hardly count); the standing arm exercises' 5.23, 4.89,
    4.57, 4.44, 4.44 and the jumps' 8.78, 9.04, 9.50, 9.95, 10.20 show the trade between a still
    foot and a moving one. 0.12 keeps every family within 0.2 deg of the lifter without feet, or
    better. A tighter smoothness on the ankle's change instead (second difference 0.02 rad per
    frame squared) gave 10.59: the network's ankle errors change from frame to frame too.
    """

    iterations: int = 100
    learning_rate: float = 0.04
    keypoint_noise: float = 0.03
    coordinate_sd: float = 0.8
    rotation_sd: float = 0.5
    smoothness_sd: float = 0.2
    depth_sd: float | None = 0.02
    foot_noise: float = 0.12

    def __post_init__(self) -> None:
        if not isinstance(self.iterations, int) or self.iterations < 0:
            raise ValueRangeError("iterations", expected="an integer >= 0", got=self.iterations)
        for name in ("learning_rate", "keypoint_noise", "foot_noise", "coordinate_sd", "rotation_sd", "smoothness_sd"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueRangeError(name, expected="a number > 0", got=value)
        if self.depth_sd is not None and not self.depth_sd > 0:
            raise ValueRangeError("depth_sd", expected="a number > 0, or None", got=self.depth_sd)


def root_translation(points: torch.Tensor, image_points: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Per-frame camera-frame position ``(T, 3)`` (m) of the origin of root-relative camera-frame
    points ``(T, K, 3)`` whose projection best matches ``image_points`` ``(T, K, 2)``
    (normalised image coordinates ``(u - cx) / f``, ``(v - cy) / f``), by linear least squares
    on ``X + tx - x (Z + tz) = 0`` and ``Y + ty - y (Z + tz) = 0`` weighted by ``weights`` ``(T, K)``.
    Points with a weight of 0 (or not finite) do not count.

    Examples
    --------
    >>> import torch
    >>> pts = torch.tensor([[[0.0, -0.5, 0.0], [0.1, 0.4, 0.1], [-0.2, 0.3, 0.0]]], dtype=torch.float64)
    >>> true = torch.tensor([0.3, 0.1, 3.0], dtype=torch.float64)
    >>> seen = pts + true
    >>> root_translation(pts, seen[..., :2] / seen[..., 2:], torch.ones(1, 3)).round(decimals=6).tolist()
    [[0.3, 0.1, 3.0]]
    """
    if points.ndim != 3 or points.shape[-1] != 3:
        raise ShapeError("points", expected="(frames, keypoints, 3) camera-frame points", got=tuple(points.shape))
    if image_points.shape != points.shape[:2] + (2,) or weights.shape != points.shape[:2]:
        raise ShapeError("image_points, weights", expected=f"{tuple(points.shape[:2]) + (2,)} and {tuple(points.shape[:2])}",
                         got=(tuple(image_points.shape), tuple(weights.shape)))  # fmt: skip
    finite = torch.isfinite(image_points).all(-1)
    w = torch.where(finite, weights.to(points), torch.zeros_like(weights, dtype=points.dtype))
    xn = torch.where(finite[..., None], image_points.to(points), torch.zeros_like(image_points, dtype=points.dtype))
    a = torch.zeros(points.shape[:2] + (2, 3), dtype=points.dtype, device=points.device)
    a[..., 0, 0] = a[..., 1, 1] = 1.0
    a[..., 0, 2], a[..., 1, 2] = -xn[..., 0], -xn[..., 1]
    b = torch.stack([xn[..., 0] * points[..., 2] - points[..., 0], xn[..., 1] * points[..., 2] - points[..., 1]], dim=-1)
    sw = torch.sqrt(w)[..., None, None]
    a = (a * sw).reshape(len(points), -1, 3)
    b = (b * sw[..., 0]).reshape(len(points), -1, 1)
    ata = a.transpose(1, 2) @ a + 1e-9 * torch.eye(3, dtype=points.dtype, device=points.device)
    return torch.linalg.solve(ata, a.transpose(1, 2) @ b)[..., 0]


def refine_to_image(
    lifter: Lifter,
    output: LifterOutput,
    image_points: torch.Tensor,
    weights: torch.Tensor,
    *,
    focal_over_size: float | torch.Tensor,
    clip_starts: Sequence[int] | None = None,
    config: RefinementConfig | None = None,
    progress: bool = False,
) -> LifterOutput:
    """The lifter's per-frame ``output`` fitted to the keypoints it was lifted from (module docs).

    Parameters
    ----------
    lifter : Lifter
        The lifter that made ``output`` (its skeletal layer; its weights are not used or changed).
    output : LifterOutput
        ``(T, ...)`` per-frame outputs, the body as it should stay (e.g. the clip's mean segment scales).
    image_points : Tensor
        ``(T, K, 2)`` the keypoints in normalised image coordinates, ``(u - cx) / f``,
        ``(v - cy) / f`` (x right, y down); NaN where missing.
    weights : Tensor
        ``(T, K)`` per keypoint weights (relative confidences in ``[0, 1]``, 0 for missing).
    focal_over_size : float or Tensor
        Focal length over the person's size in pixels, one number or one per frame ``(T,)``:
        turns normalised image errors into fractions of the person's size.
    clip_starts : sequence of int, optional
        First frames of the clips laid end to end in ``output`` (smoothness stops at their edges);
        default one clip.
    config : RefinementConfig, optional
    progress : bool, default False
        Show a progress bar over the iterations.

    Returns
    -------
    LifterOutput
        Refined coordinates and pelvis orientation (``root_rotation``, camera <- pelvis), the same
        up vector and segment scales, and the joints, markers and keypoints they give
        (camera axes, relative to the pelvis origin), without gradients.
    """
    config = config or RefinementConfig()
    if output.keypoints.ndim != 3:
        raise ShapeError("output", expected="per-frame outputs (frames, keypoints, 3)", got=tuple(output.keypoints.shape))
    n, k = output.keypoints.shape[:2]
    if image_points.shape != (n, k, 2) or weights.shape != (n, k):
        raise ShapeError("image_points, weights", expected=f"({n}, {k}, 2) and ({n}, {k})", got=(tuple(image_points.shape), tuple(weights.shape)))
    dtype, device = output.coordinates.dtype, output.coordinates.device
    scale = torch.as_tensor(focal_over_size, dtype=dtype, device=device).expand(n)
    if not bool(torch.all(scale > 0)):
        raise ValueRangeError("focal_over_size", expected="> 0", got=float(scale.min()))
    finite = torch.isfinite(image_points).all(-1)
    w = torch.where(finite, weights.to(dtype=dtype, device=device), torch.zeros((), dtype=dtype, device=device))
    target = torch.where(finite[..., None], image_points.to(dtype=dtype, device=device), torch.zeros((), dtype=dtype, device=device))
    with torch.no_grad():
        t0 = root_translation(output.keypoints.detach(), target, w)
    t0[:, 2] = t0[:, 2].clamp_min(0.1)
    dt = torch.zeros_like(t0, requires_grad=True)
    foot = torch.as_tensor(lifter.foot_keypoints, device=device)
    s2 = torch.where(foot, config.foot_noise, config.keypoint_noise).to(dtype) ** 2  # (K,) the Cauchy scale per keypoint
    depth0 = output.keypoints[..., 2].detach()
    if config.depth_sd is not None:
        depth_var = (config.depth_sd * _mean_height(output)) ** 2

    def image_term(pose: LifterOutput) -> torch.Tensor:
        points = pose.keypoints + (t0 + dt)[:, None]
        projected = points[..., :2] / points[..., 2:].clamp_min(0.05)
        r2 = (((projected - target) * scale[:, None, None]) ** 2).sum(-1)
        term = (w * torch.log1p(r2 / s2)).sum()
        if config.depth_sd is not None:  # the image fixes x and y; the depth stays the network's
            term = term + ((pose.keypoints[..., 2] - depth0) ** 2).sum() / depth_var
        return term

    return _fit_pose(lifter, output, image_term, [dt], clip_starts=clip_starts, config=config, progress=progress, keypoints_only=True)


def fit_to_points(lifter: Lifter, output: LifterOutput, *, clip_starts: Sequence[int] | None = None,
                  config: RefinementConfig | None = None, progress: bool = False) -> LifterOutput:  # fmt: skip
    """The skeletal model fitted to free 3D points: the second half of "lift to 3D points, then fit".

    A lifter with ``config.output == "points"`` predicts the model's joint centres, landmarks and
    keypoints as free 3D points (its own forward kinematics plus a learned correction). This fits
    the pose coordinates and pelvis orientation per frame, from the network's own coordinates, to
    those points: the objective of :func:`refine_to_image` with the image term replaced by
    ``sum_p log(1 + |x_p - y_p|^2 / (s h)^2)`` over every point (Cauchy), ``s`` the config's
    ``keypoint_noise`` and ``h`` the body's standing height (so that ``s`` is again a fraction of
    the person's size).

    Parameters
    ----------
    lifter : Lifter
        Its skeletal layer (weights unused).
    output : LifterOutput
        ``(T, ...)`` per-frame outputs: ``joints``, ``markers`` and ``keypoints`` are the targets
        (camera axes, relative to the pelvis origin, m); the coordinates, root rotation, up vector
        and segment scales are the start, the last two kept.
    clip_starts, config, progress
        As :func:`refine_to_image`.

    Returns
    -------
    LifterOutput
        The fitted pose and the points it gives, without gradients.

    Examples
    --------
    >>> import torch
    >>> from kinelift.lifting.config import LifterConfig
    >>> lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(3,), channels=8)).eval()
    >>> with torch.no_grad():
    ...     out = lifter(torch.zeros(1, 6, 6, 3))
    >>> out = lifter.assemble(*(x[0] for x in (out.coordinates, out.root_rotation, out.up, out.segment_scales)))
    >>> fitted = fit_to_points(lifter, out, config=RefinementConfig(iterations=5))
    >>> bool(torch.allclose(fitted.joints, out.joints, atol=1e-3))  # points the model gives: the pose stays
    True
    """
    config = config or RefinementConfig()
    if output.joints.ndim != 3:
        raise ShapeError("output", expected="per-frame outputs (frames, joints, 3)", got=tuple(output.joints.shape))
    target = torch.cat([output.joints, output.markers, output.keypoints], dim=-2).detach()
    if not bool(torch.isfinite(target).all()):
        raise ValueRangeError("output", expected="finite 3D points to fit", got="NaN or inf")
    s2 = (config.keypoint_noise * _mean_height(output)) ** 2

    def point_term(pose: LifterOutput) -> torch.Tensor:
        points = torch.cat([pose.joints, pose.markers, pose.keypoints], dim=-2)
        return torch.log1p(((points - target) ** 2).sum(-1) / s2).sum()

    return _fit_pose(lifter, output, point_term, [], clip_starts=clip_starts, config=config, progress=progress)


def _mean_height(output: LifterOutput) -> float:
    """The standing height (m) of ``output``'s body averaged over its frames."""
    return standing_height(output.segment_scales.detach().reshape(-1, output.segment_scales.shape[-1]).mean(0).cpu())


class _Adam:
    """``torch.optim.Adam``'s update with its default settings, through torch's own functional form
    (``torch.optim.adam.adam``, the same arithmetic): the optimiser class's first construction
    imports ``torch._dynamo``, 1.1-1.8 s of every ``kinelift run`` on this project's CPU for a fit
    of about a second."""

    def __init__(self, params: Sequence[torch.Tensor], *, lr: float) -> None:
        self.params, self.lr = list(params), lr
        self.exp_avgs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.steps = [torch.tensor(0.0, dtype=torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32)
                      for _ in self.params]  # fmt: skip

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        held = [i for i, p in enumerate(self.params) if p.grad is not None]
        adam([self.params[i] for i in held], [self.params[i].grad for i in held], [self.exp_avgs[i] for i in held],
             [self.exp_avg_sqs[i] for i in held], [], [self.steps[i] for i in held], foreach=False, amsgrad=False,
             beta1=0.9, beta2=0.999, lr=self.lr, weight_decay=0.0, eps=1e-8, maximize=False)  # fmt: skip


def _fit_pose(lifter: Lifter, output: LifterOutput, data_term: Callable[[LifterOutput], torch.Tensor], extra: list[torch.Tensor], *,
              clip_starts: Sequence[int] | None, config: RefinementConfig, progress: bool, keypoints_only: bool = False) -> LifterOutput:  # fmt: skip
    """Minimise ``data_term(pose) + |dq / sd_q|^2 + |omega / sd_R|^2 + |second difference of dq / sd_a|^2``
    over the coordinate change ``dq``, the pelvis rotation change ``omega`` and the ``extra``
    tensors ``data_term`` reads (module docs); segment scales and up vector kept. ``keypoints_only``:
    ``data_term`` reads only the pose's keypoints (:meth:`Lifter.assemble`'s option)."""
    n = output.coordinates.shape[0]
    dtype, device = output.coordinates.dtype, output.coordinates.device
    q0, r0, up, seg = (t.detach() for t in (output.coordinates, output.root_rotation, output.up, output.segment_scales))
    starts = torch.as_tensor([0] if clip_starts is None else list(clip_starts), dtype=torch.long, device=device)
    inside = torch.ones(max(n - 2, 0), dtype=torch.bool, device=device)  # second differences within one clip
    cut = torch.cat([starts - 1, starts - 2])
    inside[cut[(cut >= 0) & (cut < len(inside))]] = False
    dq = torch.zeros_like(q0, requires_grad=True)
    omega = torch.zeros(n, 3, dtype=dtype, device=device, requires_grad=True)
    optimizer = _Adam([dq, omega, *extra], lr=config.learning_rate)
    with torch.enable_grad():
        for _ in tqdm(range(config.iterations), desc="refining", disable=not progress, leave=False):
            pose = lifter.assemble(q0 + dq, r0 @ axis_angle_to_matrix(omega), up, seg, keypoints_only=keypoints_only)
            acc = dq[2:] - 2 * dq[1:-1] + dq[:-2]
            loss = (data_term(pose) + (dq**2).sum() / config.coordinate_sd**2 + (omega**2).sum() / config.rotation_sd**2
                    + (acc[inside] ** 2).sum() / config.smoothness_sd**2)  # fmt: skip
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        coords = lifter.clamp_coordinates(q0 + dq)
        return lifter.assemble(coords, r0 @ axis_angle_to_matrix(omega), up, seg)
