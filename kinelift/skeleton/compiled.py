"""Compiled (numba) forward kinematics and point Jacobians of a :class:`~kinelift.skeleton.tree.KinematicTree`.

Scalar code over the tree's flat arrays, one frame at a time, for what runs frame by frame on a
CPU: the IK solver of :mod:`kinelift.ik.compiled`, live and streaming use. It evaluates the
definitions of :mod:`kinelift.skeleton.kinematics` (unscaled bodies: scale a model with
:func:`kinelift.skeleton.scaling.scale_spec` first) and the Jacobian of
:mod:`kinelift.skeleton.jacobian`: a rotation axis with world unit ``w`` through the joint centre
``c``, driven by ``f(q_i)``, moves a point ``x`` below it by ``f'(q_i) w x (x - c)`` per unit of
``q_i``; a translation axis ``t`` by ``f'(q_i) t``; a coupled coordinate's column is carried into
its independent coordinate's through the coupler's slope.

numba compiles the kernels on first use and caches the machine code on disk (``cache=True``):
the first call in a fresh environment costs a few seconds (logged), later processes load the
cache in a fraction of a second.

Examples
--------
>>> import numpy as np
>>> from kinelift.skeleton.osim_parser import MINIMAL_OSIM, parse_osim_string
>>> from kinelift.skeleton.tree import KinematicTree
>>> tree = KinematicTree.from_spec(parse_osim_string(MINIMAL_OSIM))
>>> x, J = point_jacobian(tree, np.array([0.0]))
>>> np.abs(x[0]).round(6).tolist(), np.abs(J[0, :, 0]).round(6).tolist()  # the knee marker and its velocity per rad
([0.0, 0.4, 0.0], [0.4, 0.0, 0.0])
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

import numpy as np
from numba import njit

from kinelift.errors import ShapeError
from kinelift.skeleton.tree import KinematicTree

__all__ = ["KernelTree", "TreeKinematics", "forward_points", "kernel_tree", "point_jacobian", "point_locals", "warm_up"]

log = logging.getLogger(__name__)


def point_locals(tree: KinematicTree) -> np.ndarray:
    """Each point's position in its body's frame ``(M, 3)`` (unscaled): offset translation plus rotated location."""
    return np.einsum("mij,j->mi", tree.point_P, np.ones(3)) + np.einsum("mij,mj->mi", tree.point_R, tree.point_location)


class KernelTree(NamedTuple):
    """The arrays of a :class:`~kinelift.skeleton.tree.KinematicTree` that the kernels read, by name
    (numba passes a named tuple of arrays to compiled code as it is); ``point_local`` is
    :func:`point_locals`. Built by :func:`kernel_tree`."""

    joint_parent: np.ndarray
    joint_child: np.ndarray
    parent_R: np.ndarray
    parent_P: np.ndarray
    child_R: np.ndarray
    child_P: np.ndarray
    axis_kind: np.ndarray
    axis_unit: np.ndarray
    axis_coordinate: np.ndarray
    axis_function: np.ndarray
    axis_constant: np.ndarray
    function_start: np.ndarray
    function_pieces: np.ndarray
    piece_lower: np.ndarray
    piece_base: np.ndarray
    piece_coefficients: np.ndarray
    coupler_dependent: np.ndarray
    coupler_independent: np.ndarray
    coupler_function: np.ndarray
    coupler_scale: np.ndarray
    point_body: np.ndarray
    point_local: np.ndarray
    body_joints: np.ndarray


def kernel_tree(tree: KinematicTree) -> KernelTree:
    """The tree's arrays for the kernels (contiguous, as numba wants them)."""
    fields = {name: np.ascontiguousarray(getattr(tree, name)) for name in KernelTree._fields if name != "point_local"}
    return KernelTree(**fields, point_local=point_locals(tree))


@njit(cache=True)
def function_value(f, x, tree):  # pragma: no cover - compiled
    """Value and slope of function ``f`` of the tree's table at ``x`` (Horner on the piece ``x`` reaches)."""
    start, pieces, lower, base, coef = tree.function_start, tree.function_pieces, tree.piece_lower, tree.piece_base, tree.piece_coefficients
    s = start[f]
    k = s
    for i in range(s + 1, s + pieces[f]):
        if x >= lower[i]:
            k = i
        else:
            break
    dx = x - base[k]
    v = 0.0
    d = 0.0
    for i in range(coef.shape[1]):
        d = d * dx + v
        v = v * dx + coef[k, i]
    return v, d


@njit(cache=True)
def apply_couplers(q, tree, slopes):  # pragma: no cover
    """Set each coupled coordinate of ``q`` (in place, in order) and its slope in ``slopes``."""
    for k in range(tree.coupler_dependent.shape[0]):
        v, d = function_value(tree.coupler_function[k], q[tree.coupler_independent[k]], tree)
        q[tree.coupler_dependent[k]] = tree.coupler_scale[k] * v
        slopes[k] = tree.coupler_scale[k] * d


@njit(cache=True)
def forward(q, tree, R_G, p_G, centers, axis_world, axis_slope):  # pragma: no cover
    """Bodies in ground (``R_G``, ``p_G``; ground is the last slot), joint centres, and each axis's
    world direction and slope ``d(value)/d(coordinate)`` (0 for constant axes), for coupled ``q``."""
    parent, child, parent_R, parent_P, child_R, child_P = tree.joint_parent, tree.joint_child, tree.parent_R, tree.parent_P, tree.child_R, tree.child_P
    axis_kind, axis_unit, axis_coord, axis_fun, axis_const = tree.axis_kind, tree.axis_unit, tree.axis_coordinate, tree.axis_function, tree.axis_constant
    nb = R_G.shape[0] - 1
    for i in range(3):
        for j in range(3):
            R_G[nb, i, j] = 1.0 if i == j else 0.0
        p_G[nb, i] = 0.0
    R = np.empty((3, 3))
    R_F = np.empty((3, 3))
    tmp = np.empty((3, 3))
    p_F = np.empty(3)
    p_FM = np.empty(3)
    for t in range(parent.shape[0]):
        pi = parent[t]
        for i in range(3):
            p_F[i] = p_G[pi, i]
            for j in range(3):
                R_F[i, j] = R_G[pi, i, 0] * parent_R[t, 0, j] + R_G[pi, i, 1] * parent_R[t, 1, j] + R_G[pi, i, 2] * parent_R[t, 2, j]
            p_FM[i] = 0.0
        for i in range(3):
            p_F[i] += R_G[pi, i, 0] * (parent_P[t, 0, 0] + parent_P[t, 0, 1] + parent_P[t, 0, 2]) \
                + R_G[pi, i, 1] * (parent_P[t, 1, 0] + parent_P[t, 1, 1] + parent_P[t, 1, 2]) \
                + R_G[pi, i, 2] * (parent_P[t, 2, 0] + parent_P[t, 2, 1] + parent_P[t, 2, 2])
        R[:, :] = R_F
        for s in range(6):
            kind = axis_kind[t, s]
            if kind == 0:
                axis_slope[t, s] = 0.0
                continue
            c = axis_coord[t, s]
            if c >= 0:
                value, slope = function_value(axis_fun[t, s], q[c], tree)
            else:
                value, slope = axis_const[t, s], 0.0
            ux, uy, uz = axis_unit[t, s, 0], axis_unit[t, s, 1], axis_unit[t, s, 2]
            if kind == 1:  # rotation about u in the current (body-fixed) frame
                for i in range(3):
                    axis_world[t, s, i] = R[i, 0] * ux + R[i, 1] * uy + R[i, 2] * uz
                axis_slope[t, s] = slope
                if value != 0.0:
                    cv, sv = np.cos(value), np.sin(value)
                    oc = 1.0 - cv
                    # Rodrigues: I + sin K + (1 - cos) K^2 for the unit axis u
                    r00 = cv + oc * ux * ux
                    r01 = oc * ux * uy - sv * uz
                    r02 = oc * ux * uz + sv * uy
                    r10 = oc * uy * ux + sv * uz
                    r11 = cv + oc * uy * uy
                    r12 = oc * uy * uz - sv * ux
                    r20 = oc * uz * ux - sv * uy
                    r21 = oc * uz * uy + sv * ux
                    r22 = cv + oc * uz * uz
                    for i in range(3):
                        a0, a1, a2 = R[i, 0], R[i, 1], R[i, 2]
                        tmp[i, 0] = a0 * r00 + a1 * r10 + a2 * r20
                        tmp[i, 1] = a0 * r01 + a1 * r11 + a2 * r21
                        tmp[i, 2] = a0 * r02 + a1 * r12 + a2 * r22
                    R[:, :] = tmp
            else:  # translation along u in F (unscaled bodies: a scaled translation's factor is 1)
                p_FM[0] += value * ux
                p_FM[1] += value * uy
                p_FM[2] += value * uz
                for i in range(3):
                    axis_world[t, s, i] = R_F[i, 0] * ux + R_F[i, 1] * uy + R_F[i, 2] * uz
                axis_slope[t, s] = slope
        ci = child[t]
        for i in range(3):
            centers[t, i] = p_F[i] + R_F[i, 0] * p_FM[0] + R_F[i, 1] * p_FM[1] + R_F[i, 2] * p_FM[2]
        # child body: R_B = R_M R_BM^T, p_B = p_M - R_B p_BM
        for i in range(3):
            for j in range(3):
                R_G[ci, i, j] = R[i, 0] * child_R[t, j, 0] + R[i, 1] * child_R[t, j, 1] + R[i, 2] * child_R[t, j, 2]
        for i in range(3):
            b0 = child_P[t, 0, 0] + child_P[t, 0, 1] + child_P[t, 0, 2]
            b1 = child_P[t, 1, 0] + child_P[t, 1, 1] + child_P[t, 1, 2]
            b2 = child_P[t, 2, 0] + child_P[t, 2, 1] + child_P[t, 2, 2]
            p_G[ci, i] = centers[t, i] - (R_G[ci, i, 0] * b0 + R_G[ci, i, 1] * b1 + R_G[ci, i, 2] * b2)


@njit(cache=True)
def points_and_jacobian(q_coupled, slopes, point_rows, tree, R_G, p_G, centers, axis_world, axis_slope, x, J, with_jacobian):  # pragma: no cover
    """Positions ``x`` (P, 3) of the points ``point_rows`` and, with ``with_jacobian``, ``J`` (3 P, n)
    (zeroed here; coupled columns folded into their independent coordinates)."""
    point_body, point_local, body_joints = tree.point_body, tree.point_local, tree.body_joints
    axis_kind, axis_coord = tree.axis_kind, tree.axis_coordinate
    n_joints = axis_kind.shape[0]
    for r in range(point_rows.shape[0]):
        m = point_rows[r]
        b = point_body[m]
        for i in range(3):
            x[r, i] = p_G[b, i] + R_G[b, i, 0] * point_local[m, 0] + R_G[b, i, 1] * point_local[m, 1] + R_G[b, i, 2] * point_local[m, 2]
    if not with_jacobian:
        return
    J[:, :] = 0.0
    for r in range(point_rows.shape[0]):
        b = point_body[point_rows[r]]
        for t in range(n_joints):
            if not body_joints[b, t]:
                continue
            dx0, dx1, dx2 = x[r, 0] - centers[t, 0], x[r, 1] - centers[t, 1], x[r, 2] - centers[t, 2]
            for s in range(6):
                c = axis_coord[t, s]
                d = axis_slope[t, s]
                if c < 0 or d == 0.0:
                    continue
                w0, w1, w2 = axis_world[t, s, 0], axis_world[t, s, 1], axis_world[t, s, 2]
                if axis_kind[t, s] == 1:
                    J[3 * r, c] += d * (w1 * dx2 - w2 * dx1)
                    J[3 * r + 1, c] += d * (w2 * dx0 - w0 * dx2)
                    J[3 * r + 2, c] += d * (w0 * dx1 - w1 * dx0)
                else:
                    J[3 * r, c] += d * w0
                    J[3 * r + 1, c] += d * w1
                    J[3 * r + 2, c] += d * w2
    fold_couplers(J, slopes, tree.coupler_dependent, tree.coupler_independent)


@njit(cache=True)
def fold_couplers(J, slopes, c_dep, c_ind):  # pragma: no cover
    """Carry each coupled coordinate's column into its independent coordinate's (last coupler first)."""
    for k in range(c_dep.shape[0] - 1, -1, -1):
        dep, ind = c_dep[k], c_ind[k]
        for row in range(J.shape[0]):
            J[row, ind] += slopes[k] * J[row, dep]
            J[row, dep] = 0.0


class TreeKinematics:
    """One frame at a time through the compiled kernels, with the tree's arrays and work buffers held
    (what a per-frame loop, live or streaming, calls): :meth:`points` and :meth:`points_and_jacobian`.

    The arrays returned are views of the object's buffers, overwritten by the next call: copy
    what you keep.
    """

    def __init__(self, tree: KinematicTree) -> None:
        self.tree = tree
        self._kernel_tree = kernel_tree(tree)
        self._rows = np.arange(len(tree.point_names), dtype=np.int64)
        J, P = tree.n_joints, len(tree.point_names)
        self._R_G, self._p_G = np.empty((tree.n_bodies + 1, 3, 3)), np.empty((tree.n_bodies + 1, 3))
        self._centers, self._axis_world, self._axis_slope = np.empty((J, 3)), np.zeros((J, 6, 3)), np.zeros((J, 6))
        self._slopes, self._q = np.empty(len(tree.coupler_dependent)), np.empty(tree.n_coordinates)
        self._x, self._J = np.empty((P, 3)), np.zeros((3 * P, tree.n_coordinates))

    def _run(self, q: np.ndarray, jacobian: bool) -> None:
        k, t = self._kernel_tree, self.tree
        if np.shape(q) != (t.n_coordinates,):
            raise ShapeError("q", expected=f"({t.n_coordinates},) coordinates of {t.name}", got=np.shape(q))
        self._q[:] = q
        apply_couplers(self._q, k, self._slopes)
        forward(self._q, k, self._R_G, self._p_G, self._centers, self._axis_world, self._axis_slope)
        points_and_jacobian(self._q, self._slopes, self._rows, k, self._R_G, self._p_G, self._centers, self._axis_world,
                            self._axis_slope, self._x, self._J, jacobian)  # fmt: skip

    def points(self, q: np.ndarray) -> np.ndarray:
        """Positions ``(points, 3)`` in ground (m) for coordinates ``q`` ``(n_coordinates,)`` (rad / m)."""
        self._run(q, False)
        return self._x

    def points_and_jacobian(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions ``(points, 3)`` and their Jacobian ``(points, 3, n_coordinates)``."""
        self._run(q, True)
        return self._x, self._J.reshape(len(self._rows), 3, self.tree.n_coordinates)


def forward_points(tree: KinematicTree, q: np.ndarray) -> np.ndarray:
    """Positions ``(points, 3)`` in ground (m) of the tree's points for one frame of coordinates ``q`` (rad / m)."""
    return TreeKinematics(tree).points(np.asarray(q, dtype=np.float64)).copy()


def point_jacobian(tree: KinematicTree, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(points, 3)`` and their Jacobian ``(points, 3, n_coordinates)`` for one frame ``q``."""
    x, J = TreeKinematics(tree).points_and_jacobian(np.asarray(q, dtype=np.float64))
    return x.copy(), J.copy()


_WARM = False


def warm_up() -> float:
    """Compile (or load from numba's on-disk cache) the kernels; returns the seconds it took, logged once."""
    global _WARM
    if _WARM:
        return 0.0
    from kinelift.skeleton.osim_parser import MINIMAL_OSIM, parse_osim_string

    started = time.perf_counter()
    point_jacobian(KinematicTree.from_spec(parse_osim_string(MINIMAL_OSIM)), np.zeros(1))
    seconds = time.perf_counter() - started
    _WARM = True
    log.info("compiled kinematics ready in %.2f s (numba: compiled on first use, then loaded from its on-disk cache)", seconds)
    return seconds
