"""The CPU fast path of inverse kinematics: a compiled, per-frame bound-constrained Levenberg-Marquardt.

The same problem as the torch path (:mod:`kinelift.ik.problem`: OpenSim's weighted marker and
coordinate tasks, missing markers, locked, coupled and clamped coordinates) and the same
iteration as :func:`kinelift.ik.solver.levenberg_marquardt` (damped normal equations with
Marquardt's diagonal, steps projected on the bounds, variables pushed out through a bound frozen
for the step, the same stopping rules), written as scalar numba code over a
:class:`~kinelift.skeleton.tree.KinematicTree`:

* frames are solved in time order; the first from the given start with ``first_frame_iterations``,
  each later one from the linear extrapolation of the two solutions before it (clipped to the
  bounds), a warm start a few iterations from the answer (``IKOptions.threads`` > 1 cuts long trials
  into contiguous runs solved side by side, each from the start pose);
* per iteration: couplers, forward kinematics, the points' Jacobian by twists, ``J^T W J`` and
  ``J^T W e`` on the free coordinates, a Cholesky solve;
* no Python, no allocation and no torch in the loop: tens of thousands of frames per second for
  gait2392 on one core (``benchmarks/ik.py``).

:func:`kinelift.ik.inverse_kinematics` uses it on the CPU (``IKOptions(backend="auto")``); the
torch path stays for GPUs, float32 and gradients.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kinelift.skeleton.compiled import apply_couplers, forward, kernel_tree, points_and_jacobian
from kinelift.skeleton.tree import KinematicTree

__all__ = ["solve_frames"]


@njit(cache=True)
def _residuals(xq, tree, rows, measured_k, w_k, c_index, c_target_k, c_weight, qc, slopes, bufs, e, J, with_jacobian):  # pragma: no cover
    """Residuals ``e`` (3 M + C) and Jacobian ``J`` of one frame at ``xq``; returns the objective."""
    c_dep, c_ind = tree.coupler_dependent, tree.coupler_independent
    R_G, p_G, centers, axis_world, axis_slope, x = bufs
    qc[:] = xq
    apply_couplers(qc, tree, slopes)
    forward(qc, tree, R_G, p_G, centers, axis_world, axis_slope)
    M = rows.shape[0]
    Jm = J[: 3 * M]
    points_and_jacobian(qc, slopes, rows, tree, R_G, p_G, centers, axis_world, axis_slope, x, Jm, with_jacobian)
    f = 0.0
    for m in range(M):
        for i in range(3):
            r = x[m, i] - measured_k[m, i] if w_k[m] > 0.0 else 0.0
            e[3 * m + i] = r
            f += w_k[m] * r * r
    C = c_index.shape[0]
    for j in range(C):
        r = qc[c_index[j]] - c_target_k[j]
        e[3 * M + j] = r
        f += c_weight[j] * r * r
    if with_jacobian and C > 0:
        Jc = J[3 * M :]
        Jc[:, :] = 0.0
        for j in range(C):
            Jc[j, c_index[j]] = 1.0
        # a task on a coupled coordinate follows its independent coordinate through the couplers
        for k in range(c_dep.shape[0] - 1, -1, -1):
            for row in range(C):
                Jc[row, c_ind[k]] += slopes[k] * Jc[row, c_dep[k]]
                Jc[row, c_dep[k]] = 0.0
    return f


@njit(cache=True)
def _normal_equations(e, J, w_rows, M, cols, n_cols, free_pos, free_idx, H, g):  # pragma: no cover
    """``H = J^T W J`` and ``g = J^T W e`` on the free coordinates, from each marker's few nonzero
    columns (``cols[m, :n_cols[m]]``, ascending) and the dense coordinate-task rows."""
    nf = free_idx.shape[0]
    H[:, :] = 0.0
    g[:] = 0.0
    for m in range(M):
        r0 = 3 * m
        w = w_rows[r0]
        if w == 0.0:
            continue
        for i in range(n_cols[m]):
            ca = cols[m, i]
            pa = free_pos[ca]
            if pa < 0:
                continue
            ja0, ja1, ja2 = J[r0, ca], J[r0 + 1, ca], J[r0 + 2, ca]
            g[pa] += w * (ja0 * e[r0] + ja1 * e[r0 + 1] + ja2 * e[r0 + 2])
            for j in range(i + 1):
                cb = cols[m, j]
                pb = free_pos[cb]
                if pb < 0:
                    continue
                H[pa, pb] += w * (ja0 * J[r0, cb] + ja1 * J[r0 + 1, cb] + ja2 * J[r0 + 2, cb])
    for r in range(3 * M, e.shape[0]):
        w = w_rows[r]
        for a in range(nf):
            ja = J[r, free_idx[a]]
            if ja == 0.0:
                continue
            g[a] += w * ja * e[r]
            for b in range(a + 1):
                H[a, b] += w * ja * J[r, free_idx[b]]
    for a in range(nf):
        for b in range(a):
            H[b, a] = H[a, b]


@njit(cache=True)
def _cholesky_solve(A, rhs, out):  # pragma: no cover
    """Solve ``A out = rhs`` for symmetric positive definite ``A`` (overwritten by its factor); False if not SPD."""
    n = A.shape[0]
    for j in range(n):
        s = A[j, j]
        for k in range(j):
            s -= A[j, k] * A[j, k]
        if not s > 0.0:
            return False
        d = np.sqrt(s)
        A[j, j] = d
        for i in range(j + 1, n):
            s = A[i, j]
            for k in range(j):
                s -= A[i, k] * A[j, k]
            A[i, j] = s / d
    for i in range(n):
        s = rhs[i]
        for k in range(i):
            s -= A[i, k] * out[k]
        out[i] = s / A[i, i]
    for i in range(n - 1, -1, -1):
        s = out[i]
        for k in range(i + 1, n):
            s -= A[k, i] * out[k]
        out[i] = s / A[i, i]
    return True


@njit(cache=True, nogil=True)
def _solve_all(tree, rows, measured, weights, c_index, c_targets, c_weight, free_idx, free_pos, cols, n_cols, lower, upper, fixed,
               valid, start, first_iterations, max_iterations, ftol, xtol, gtol, initial_damping, n_bodies, out_q, out_f, out_it,
               out_conv):  # pragma: no cover
    T = measured.shape[0]
    M = rows.shape[0]
    C = c_index.shape[0]
    n = fixed.shape[0]
    nf = free_idx.shape[0]
    n_joints = tree.joint_parent.shape[0]
    bufs = (np.empty((n_bodies + 1, 3, 3)), np.empty((n_bodies + 1, 3)), np.empty((n_joints, 3)), np.zeros((n_joints, 6, 3)),
            np.zeros((n_joints, 6)), np.empty((M, 3)))
    qc = np.empty(n)
    slopes = np.empty(tree.coupler_dependent.shape[0])
    e = np.empty(3 * M + C)
    J = np.zeros((3 * M + C, n))
    e_t = np.empty(3 * M + C)
    J_t = np.zeros((3 * M + C, n))
    w_rows = np.empty(3 * M + C)
    H = np.empty((nf, nf))
    g = np.empty(nf)
    A = np.empty((nf, nf))
    rhs = np.empty(nf)
    step = np.empty(nf)
    moving = np.empty(nf, dtype=np.bool_)
    x = np.empty(n)
    trial = np.empty(n)
    solved = 0
    prev1 = -1
    prev2 = -1
    for k in range(T):
        if not valid[k]:
            continue
        # warm start: the start, the last solution, or the extrapolation of the last two
        for i in range(n):
            x[i] = fixed[i]
        for a in range(nf):
            i = free_idx[a]
            if solved == 0:
                v = start[i]
            elif solved == 1:
                v = out_q[prev1, i]
            else:
                v = 2.0 * out_q[prev1, i] - out_q[prev2, i]
            x[i] = min(max(v, lower[i]), upper[i])
        budget = first_iterations if solved == 0 else max_iterations
        for m in range(M):
            for i in range(3):
                w_rows[3 * m + i] = weights[k, m]
        for j in range(C):
            w_rows[3 * M + j] = c_weight[j]
        f = _residuals(x, tree, rows, measured[k], weights[k], c_index, c_targets[k], c_weight, qc, slopes, bufs, e, J, True)
        _normal_equations(e, J, w_rows, M, cols, n_cols, free_pos, free_idx, H, g)
        iterations = 1
        lam = initial_damping
        converged = False
        for _ in range(4 * budget):
            # projected active set: free coordinates not pushed out through a bound they sit on
            pg = 0.0
            for a in range(nf):
                i = free_idx[a]
                moving[a] = not ((x[i] <= lower[i] and g[a] > 0.0) or (x[i] >= upper[i] and g[a] < 0.0))
                if moving[a]:
                    pg = max(pg, abs(g[a]))
            dmax = 0.0
            for a in range(nf):
                dmax = max(dmax, H[a, a])
            for a in range(nf):
                for b in range(nf):
                    A[a, b] = H[a, b] if (moving[a] and moving[b]) else 0.0
                if moving[a]:
                    A[a, a] += lam * max(H[a, a], 1e-12 * (1.0 + dmax))
                    rhs[a] = -g[a]
                else:
                    A[a, a] = 1.0
                    rhs[a] = 0.0
            ok = _cholesky_solve(A, rhs, step)
            small_step = True
            for i in range(n):
                trial[i] = x[i]
            if ok:
                for a in range(nf):
                    i = free_idx[a]
                    trial[i] = min(max(x[i] + step[a], lower[i]), upper[i])
                    if abs(trial[i] - x[i]) >= xtol:
                        small_step = False
            f_trial = _residuals(trial, tree, rows, measured[k], weights[k], c_index, c_targets[k], c_weight, qc, slopes,
                                 bufs, e_t, J_t, True) if ok else np.inf
            accept = ok and np.isfinite(f_trial) and f_trial < f
            small_decrease = accept and (f - f_trial) <= ftol * f_trial
            done = pg <= gtol or (ok and small_step) or small_decrease or lam > 1e16
            if accept:
                for i in range(n):
                    x[i] = trial[i]
                f = f_trial
                e, e_t = e_t, e
                J, J_t = J_t, J
                _normal_equations(e, J, w_rows, M, cols, n_cols, free_pos, free_idx, H, g)
                iterations += 1
                lam = max(lam / 3.0, 1e-15)
            else:
                lam = lam * 8.0
            if done:
                converged = True
                break
            if iterations >= budget:
                break
        apply_couplers(x, tree, slopes)
        for i in range(n):
            out_q[k, i] = x[i]
        out_f[k] = f
        out_it[k] = iterations
        out_conv[k] = converged
        prev2 = prev1
        prev1 = k
        solved += 1


@njit(cache=True)
def _points_all(tree, rows, Q, valid, n_bodies, out):  # pragma: no cover
    """Positions ``out`` (T, P, 3) of the points ``rows`` for every valid frame of coupled coordinates ``Q``."""
    n_joints = tree.joint_parent.shape[0]
    R_G, p_G = np.empty((n_bodies + 1, 3, 3)), np.empty((n_bodies + 1, 3))
    centers, axis_world, axis_slope = np.empty((n_joints, 3)), np.zeros((n_joints, 6, 3)), np.zeros((n_joints, 6))
    J = np.zeros((1, 1))
    slopes = np.empty(tree.coupler_dependent.shape[0])
    for k in range(Q.shape[0]):
        if not valid[k]:
            continue
        forward(Q[k], tree, R_G, p_G, centers, axis_world, axis_slope)
        points_and_jacobian(Q[k], slopes, rows, tree, R_G, p_G, centers, axis_world, axis_slope, out[k], J, False)


def _chunks(valid: np.ndarray, threads: int, min_chunk: int) -> list[np.ndarray]:
    """``valid`` split into at most ``threads`` masks of contiguous runs of at least ``min_chunk`` valid frames."""
    frames = np.flatnonzero(valid)
    count = max(1, min(int(threads), len(frames) // max(int(min_chunk), 1)))
    if count == 1:
        return [valid]
    out = []
    for part in np.array_split(frames, count):
        mask = np.zeros_like(valid)
        mask[part] = True
        out.append(mask)
    return out


def _marker_columns(tree: KinematicTree, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per tracked point, the coordinates its position depends on (ascending, padded): the axes'
    coordinates of the joints between its body and ground, a coupled one replaced by its independent."""
    independent = {int(d): int(i) for d, i in zip(tree.coupler_dependent, tree.coupler_independent)}

    def root(c: int) -> int:
        seen = set()
        while c in independent and c not in seen:
            seen.add(c)
            c = independent[c]
        return c

    per_point = []
    for m in rows:
        joints = np.flatnonzero(tree.body_joints[tree.point_body[m]])
        coords = {root(int(c)) for t in joints for c in tree.axis_coordinate[t] if c >= 0}
        per_point.append(sorted(coords))
    width = max((len(c) for c in per_point), default=0)
    cols = np.zeros((len(rows), max(width, 1)), np.int64)
    for m, c in enumerate(per_point):
        cols[m, : len(c)] = c
    return cols, np.array([len(c) for c in per_point], np.int64)


def solve_frames(tree: KinematicTree, *, point_rows: np.ndarray, measured: np.ndarray, weights: np.ndarray, coordinate_index: np.ndarray,
                 coordinate_targets: np.ndarray, coordinate_weights: np.ndarray, free: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 fixed: np.ndarray, valid: np.ndarray, start: np.ndarray, first_iterations: int, max_iterations: int, ftol: float,
                 xtol: float, gtol: float, initial_damping: float, threads: int = 1, min_chunk: int = 120) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Solve every ``valid`` frame (see the module docs); returns coordinates ``(T, n)`` (coupled ones
    set, NaN for frames not solved), objectives, iterations, whether each met a stopping rule, and the
    tracked points' model positions ``(T, M, 3)``.

    ``point_rows`` index the tree's points tracked by ``measured`` ``(T, M, 3)`` (NaN where
    missing, with ``weights`` ``(T, M)`` zero there); coordinate tasks ``coordinate_index`` ``(C,)``
    with per-frame ``coordinate_targets`` ``(T, C)`` and ``coordinate_weights`` ``(C,)``; ``free``,
    ``lower``, ``upper``, ``fixed`` ``(n,)`` as in :class:`~kinelift.ik.problem.IKProblem`.
    With ``threads`` > 1 a trial of at least ``2 * min_chunk`` valid frames is cut into contiguous
    runs solved side by side, each run's first frame from ``start`` with ``first_iterations``.
    """
    kernels = kernel_tree(tree)
    rows = np.ascontiguousarray(point_rows, np.int64)
    cols, n_cols = _marker_columns(tree, rows)
    free_idx = np.flatnonzero(free).astype(np.int64)
    free_pos = np.full(tree.n_coordinates, -1, np.int64)
    free_pos[free_idx] = np.arange(len(free_idx))
    T, n = measured.shape[0], tree.n_coordinates
    out_q = np.full((T, n), np.nan)
    out_f = np.full(T, np.nan)
    out_it = np.zeros(T, np.int64)
    out_conv = np.zeros(T, np.bool_)
    f64 = np.float64
    valid = np.ascontiguousarray(valid, np.bool_)
    inputs = (kernels, rows, np.nan_to_num(np.asarray(measured, f64)), np.ascontiguousarray(weights, f64),
              np.ascontiguousarray(coordinate_index, np.int64), np.ascontiguousarray(coordinate_targets, f64).reshape(T, len(coordinate_index)),
              np.ascontiguousarray(coordinate_weights, f64), free_idx, free_pos, cols, n_cols, np.ascontiguousarray(lower, f64),
              np.ascontiguousarray(upper, f64), np.ascontiguousarray(fixed, f64))  # fmt: skip
    settings = (np.ascontiguousarray(start, f64), int(first_iterations), int(max_iterations), float(ftol), float(xtol), float(gtol),
                float(initial_damping), tree.n_bodies)  # fmt: skip
    chunks = _chunks(valid, threads, min_chunk)
    if len(chunks) == 1:
        _solve_all(*inputs, valid, *settings, out_q, out_f, out_it, out_conv)
    else:  # contiguous runs of frames on their own threads (the kernel releases the GIL), each from the start pose
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(chunks)) as pool:
            for future in [pool.submit(_solve_all, *inputs, mask, *settings, out_q, out_f, out_it, out_conv) for mask in chunks]:
                future.result()
    points = np.full((T, len(rows), 3), np.nan)
    _points_all(kernels, rows, out_q, valid, tree.n_bodies, points)
    return out_q, out_f, out_it, out_conv, points
