"""OpenSim's scalar functions of one coordinate, evaluated batched and differentiably in torch.

Each class mirrors the OpenSim function of the same name exactly: its coefficients are
computed once in float64 (NumPy) when the model is read, then evaluated for any batch of
arguments, on the argument's device and dtype. Supported: ``Constant``, ``LinearFunction``
(``f = c0 * x + c1``), ``PolynomialFunction`` (coefficients from the highest power down),
``SimmSpline`` (SIMM's cubic spline: end conditions from third divided differences,
linear extrapolation with the end slopes), ``NaturalCubicSpline`` (computed by OpenSim
with the same SIMM end conditions, despite its name), ``PiecewiseLinearFunction``
(linear extrapolation with the end segments' slopes), ``GCVSpline`` (OpenSim's spline of odd
degree ``2 m - 1`` fitted with no smoothing: the natural interpolating spline, extended beyond the
knots by its Taylor polynomial of degree ``m - 1``, as SimTK's ``SplineFitter`` builds it) and
``MultiplierFunction`` (``scale * f(x)``).

Examples
--------
>>> import torch
>>> f = SimmSpline([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 0.0, 1.0])
>>> f(torch.tensor([0.0, 1.5, 3.0], dtype=torch.float64))
tensor([0.0000, 0.5000, 1.0000], dtype=torch.float64)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from kinelift.errors import ValueRangeError

__all__ = [
    "Constant", "GCVSpline", "LinearFunction", "MultiplierFunction", "NaturalCubicSpline", "OpenSimFunction",
    "PiecewiseLinearFunction", "PiecewisePolynomial", "PolynomialFunction", "SimmSpline",
]  # fmt: skip

_TINY = 1e-12  # SIMM's TINY_NUMBER guard for coincident knots


@dataclass(frozen=True)
class PiecewisePolynomial:
    """A function as polynomial pieces: at ``x``, piece ``k`` is used, where ``k`` counts the
    ``thresholds`` (ascending, ``(P - 1,)``) that ``x`` reaches, and its value is
    ``sum_i coefficients[k, i] (x - bases[k])^(D - i)`` (``coefficients`` ``(P, D + 1)``, highest
    power first; ``bases`` ``(P,)``)."""

    thresholds: np.ndarray
    bases: np.ndarray
    coefficients: np.ndarray

    @classmethod
    def single(cls, coefficients: Sequence[float]) -> PiecewisePolynomial:
        """One polynomial in ``x`` for every ``x``."""
        return cls(np.zeros(0), np.zeros(1), np.asarray(coefficients, dtype=np.float64)[None])


class OpenSimFunction:
    """A scalar function of one argument; ``f(x)`` keeps the shape of ``x``."""

    def __init__(self) -> None:
        self._tensors: dict[tuple[Any, Any], tuple[torch.Tensor, ...]] = {}

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return ()

    def _set_constants(self) -> None:
        """``_arrays()`` as tuples of Python floats, for the forms ``torch.compile`` fuses."""
        self._constants = tuple(tuple(float(v) for v in a) for a in self._arrays())

    def _like(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """This function's arrays as tensors on ``x``'s device and dtype (cached)."""
        key = (x.dtype, x.device)
        if key not in self._tensors:
            self._tensors[key] = tuple(torch.as_tensor(a, dtype=x.dtype, device=x.device) for a in self._arrays())
        return self._tensors[key]

    def _at_pieces(self, x: torch.Tensor, *, thresholds: slice, rows: slice) -> list[torch.Tensor]:
        """The entries of ``_arrays()[rows]`` at the piece of every element of ``x``: entry ``k``
        where ``k`` counts the knots ``_arrays()[0][thresholds]`` that the element reaches. By
        ``searchsorted`` and indexing in eager mode, by :func:`_select_by_knots` under
        ``torch.compile`` (comparisons, which it fuses into the surrounding kernel)."""
        if torch.compiler.is_compiling():
            return _select_by_knots(x, self._constants[0][thresholds], self._constants[rows])
        arrays = self._like(x)
        k = torch.searchsorted(arrays[0][thresholds], x.detach().contiguous(), right=True)
        return [a[k] for a in arrays[rows]]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def value_and_derivative(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | float | None]:
        """``f(x)`` and ``f'(x)`` (OpenSim's ``calcDerivative`` of order 1); the derivative is a
        tensor, a float when it is the same everywhere, or None when the function is constant."""
        import torch.autograd.forward_ad as fwAD

        with fwAD.dual_level():
            value, slope = fwAD.unpack_dual(self(fwAD.make_dual(x, torch.ones_like(x))))
        return value, slope

    def piecewise_polynomial(self) -> PiecewisePolynomial | None:
        """The function as polynomial pieces (exactly: every class here has this form), or None for a
        function that has no such form; what :class:`~kinelift.skeleton.jacobian.PointJacobian` evaluates
        for many functions at once."""
        return None

    @property
    def constant_value(self) -> float | None:
        """The value when the function ignores its argument, else None."""
        return None

    @property
    def is_identity(self) -> bool:
        """True for ``f(x) = x`` (a coordinate driving an axis directly)."""
        return False


class Constant(OpenSimFunction):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = float(value)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x, self.value)

    def value_and_derivative(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self(x), None

    def piecewise_polynomial(self) -> PiecewisePolynomial:
        return PiecewisePolynomial.single([self.value])

    @property
    def constant_value(self) -> float:
        return self.value

    def __repr__(self) -> str:
        return f"Constant({self.value})"


class LinearFunction(OpenSimFunction):
    """``f(x) = slope * x + intercept`` (OpenSim's ``coefficients`` are ``slope intercept``)."""

    def __init__(self, slope: float, intercept: float) -> None:
        super().__init__()
        self.slope, self.intercept = float(slope), float(intercept)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.is_identity:
            return x
        return self.slope * x + self.intercept

    def value_and_derivative(self, x: torch.Tensor) -> tuple[torch.Tensor, float | None]:
        return self(x), (self.slope or None)

    def piecewise_polynomial(self) -> PiecewisePolynomial:
        return PiecewisePolynomial.single([self.slope, self.intercept])

    @property
    def constant_value(self) -> float | None:
        return self.intercept if self.slope == 0.0 else None

    @property
    def is_identity(self) -> bool:
        return self.slope == 1.0 and self.intercept == 0.0

    def __repr__(self) -> str:
        return f"LinearFunction({self.slope}, {self.intercept})"


class PolynomialFunction(OpenSimFunction):
    """``f(x) = c[0] x^n + c[1] x^(n-1) + ... + c[n]`` (Horner's scheme)."""

    def __init__(self, coefficients: Sequence[float]) -> None:
        super().__init__()
        self.coefficients = [float(c) for c in coefficients]
        if not self.coefficients:
            raise ValueRangeError("PolynomialFunction.coefficients", expected="at least one coefficient", got=[])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.full_like(x, self.coefficients[0])
        for c in self.coefficients[1:]:
            out = out * x + c
        return out

    def value_and_derivative(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        n = len(self.coefficients) - 1
        if n == 0:
            return self(x), None
        slope = torch.full_like(x, n * self.coefficients[0])
        for i, c in enumerate(self.coefficients[1:-1], start=1):
            slope = slope * x + (n - i) * c
        return self(x), slope

    def piecewise_polynomial(self) -> PiecewisePolynomial:
        return PiecewisePolynomial.single(self.coefficients)

    @property
    def constant_value(self) -> float | None:
        return self.coefficients[-1] if all(c == 0.0 for c in self.coefficients[:-1]) else None


class MultiplierFunction(OpenSimFunction):
    """``f(x) = scale * inner(x)`` (how OpenSim's scaling scales joint translations)."""

    def __init__(self, inner: OpenSimFunction, scale: float) -> None:
        super().__init__()
        self.inner, self.scale = inner, float(scale)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.inner(x)

    def value_and_derivative(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | float | None]:
        value, slope = self.inner.value_and_derivative(x)
        return self.scale * value, (None if slope is None else self.scale * slope)

    def piecewise_polynomial(self) -> PiecewisePolynomial | None:
        inner = self.inner.piecewise_polynomial()
        return None if inner is None else PiecewisePolynomial(inner.thresholds, inner.bases, self.scale * inner.coefficients)

    @property
    def constant_value(self) -> float | None:
        c = self.inner.constant_value
        return None if c is None else self.scale * c


def _select_by_knots(x: torch.Tensor, thresholds: Sequence[float], rows: Sequence[Sequence[float]]) -> list[torch.Tensor]:
    """For each array of ``rows``, its entry ``k`` at every element of ``x``, where ``k`` is the number
    of ``thresholds`` (ascending) that ``x`` reaches: ``searchsorted`` and indexing written as
    comparisons and selections, which ``torch.compile`` fuses into the surrounding kernel (in eager
    mode the search is faster, and the callers use it there)."""
    chosen = [torch.full_like(x, r[0]) for r in rows]
    for i, threshold in enumerate(thresholds):
        reached = x >= threshold
        chosen = [torch.where(reached, r[i + 1], c) for r, c in zip(rows, chosen)]
    return chosen


def _check_knots(name: str, x: Sequence[float], y: Sequence[float], minimum: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != ys.shape or xs.size < minimum:
        raise ValueRangeError(f"{name} x/y", expected=f"two lists of the same length >= {minimum}", got=(xs.shape, ys.shape))
    if not np.all(np.isfinite(xs)) or not np.all(np.isfinite(ys)):
        raise ValueRangeError(f"{name} x/y", expected="finite numbers", got="NaN or inf")
    if np.any(np.diff(xs) < 0):
        raise ValueRangeError(f"{name} x", expected="non-decreasing knots", got=xs.tolist())
    return xs, ys


class _CubicPieces(OpenSimFunction):
    """Piecewise cubic ``y_k + dx (b_k + dx (c_k + dx d_k))`` with linear extrapolation by the end slopes."""

    x: np.ndarray
    y: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return self.x, self.y, self.b, self.c, self.d

    def _pieces(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Knot, value and ``b, c, d`` of the piece each element of ``x`` falls in (the first piece
        below the second knot, the last from the second-last knot on)."""
        return self._at_pieces(x, thresholds=slice(1, -1), rows=slice(None))

    def _ends(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Where ``x`` lies below or above the knots, and the straight lines continuing the ends there."""
        kx, ky, kb = self._constants[:3]
        below = ky[0] + (x - kx[0]) * kb[0]
        above = ky[-1] + (x - kx[-1]) * kb[-1]
        return x < kx[0], x > kx[-1], below, above

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        xk, yk, bk, ck, dk = self._pieces(x)
        dx = x - xk
        inside = yk + dx * (bk + dx * (ck + dx * dk))
        is_below, is_above, below, above = self._ends(x)
        return torch.where(is_below, below, torch.where(is_above, above, inside))

    def value_and_derivative(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xk, yk, b, c, d = self._pieces(x)
        dx = x - xk
        value = yk + dx * (b + dx * (c + dx * d))
        slope = b + dx * (2.0 * c + 3.0 * dx * d)
        is_below, is_above, below, above = self._ends(x)
        kb = self._constants[2]
        value = torch.where(is_below, below, torch.where(is_above, above, value))
        slope = torch.where(is_below, kb[0], torch.where(is_above, kb[-1], slope))
        return value, slope

    def piecewise_polynomial(self) -> PiecewisePolynomial:
        """Pieces: the line below the first knot, the cubics of the ``n - 1`` intervals, the line from the
        last knot on (where the last cubic ends with the same value and slope)."""
        x, y, b, c, d = self._arrays()
        zero = np.zeros(1)
        coefficients = np.stack([
            np.concatenate([zero, d[:-1], zero]), np.concatenate([zero, c[:-1], zero]),
            np.concatenate([b[:1], b[:-1], b[-1:]]), np.concatenate([y[:1], y[:-1], y[-1:]]),
        ], axis=1)  # fmt: skip
        return PiecewisePolynomial(x.copy(), np.concatenate([x[:1], x[:-1], x[-1:]]), coefficients)


class SimmSpline(_CubicPieces):
    """SIMM's cubic spline (Forsythe, Malcolm and Moler's ``spline``), as OpenSim's ``SimmSpline``.

    End conditions: the third derivative at each end matches that of the cubic through the
    four end knots (divided differences); two knots give a straight line.
    """

    def __init__(self, x: Sequence[float], y: Sequence[float]) -> None:
        super().__init__()
        self.x, self.y = _check_knots("SimmSpline", x, y, 2)
        self.b, self.c, self.d = _simm_coefficients(self.x, self.y)
        self._set_constants()


def _simm_coefficients(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = x.size
    b, c, d = np.zeros(n), np.zeros(n), np.zeros(n)
    if n == 2:
        t = max(_TINY, x[1] - x[0])
        b[:] = (y[1] - y[0]) / t
        return b, c, d
    nm1, nm2 = n - 1, n - 2
    d[0] = max(_TINY, x[1] - x[0])
    c[1] = (y[1] - y[0]) / d[0]
    for i in range(1, nm1):
        d[i] = max(_TINY, x[i + 1] - x[i])
        b[i] = 2.0 * (d[i - 1] + d[i])
        c[i + 1] = (y[i + 1] - y[i]) / d[i]
        c[i] = c[i + 1] - c[i]
    b[0], b[nm1] = -d[0], -d[nm2]
    c[0] = c[nm1] = 0.0
    if n > 3:
        d31 = max(_TINY, x[3] - x[1])
        d20 = max(_TINY, x[2] - x[0])
        d1 = max(_TINY, x[nm1] - x[n - 3])
        d2 = max(_TINY, x[nm2] - x[n - 4])
        d30 = max(_TINY, x[3] - x[0])
        d3 = max(_TINY, x[nm1] - x[n - 4])
        c[0] = c[2] / d31 - c[1] / d20
        c[nm1] = c[nm2] / d1 - c[n - 3] / d2
        c[0] = c[0] * d[0] * d[0] / d30
        c[nm1] = -c[nm1] * d[nm2] * d[nm2] / d3
    for i in range(1, n):
        t = d[i - 1] / b[i - 1]
        b[i] -= t * d[i - 1]
        c[i] -= t * c[i - 1]
    c[nm1] /= b[nm1]
    for j in range(nm1):
        i = nm2 - j
        c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
    b[nm1] = (y[nm1] - y[nm2]) / d[nm2] + d[nm2] * (c[nm2] + 2.0 * c[nm1])
    for i in range(nm1):
        b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
        d[i] = (c[i + 1] - c[i]) / d[i]
        c[i] *= 3.0
    c[nm1] *= 3.0
    d[nm1] = d[nm2]
    return b, c, d


class NaturalCubicSpline(SimmSpline):
    """OpenSim's ``NaturalCubicSpline``: despite its name, OpenSim computes it with SIMM's end
    conditions (the same code as ``SimmSpline``), and kinelift follows OpenSim."""


class PiecewiseLinearFunction(OpenSimFunction):
    """Straight segments between knots; outside them, the first or last segment extended."""

    def __init__(self, x: Sequence[float], y: Sequence[float]) -> None:
        super().__init__()
        self.x, self.y = _check_knots("PiecewiseLinearFunction", x, y, 2)
        self.slope = np.diff(self.y) / np.maximum(np.diff(self.x), _TINY)
        self._set_constants()

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return self.x, self.y, self.slope

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.value_and_derivative(x)[0]

    def value_and_derivative(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xk, yk, sk = self._at_pieces(x, thresholds=slice(1, -1), rows=slice(None))
        return yk + (x - xk) * sk, sk

    def piecewise_polynomial(self) -> PiecewisePolynomial:
        return PiecewisePolynomial(self.x[1:-1].copy(), self.x[:-1].copy(), np.stack([self.slope, self.y[:-1]], axis=1))


class GCVSpline(OpenSimFunction):
    """OpenSim's ``GCVSpline`` of ``half_order`` ``m`` (degree ``2 m - 1``; OpenSim's default 3, quintic).

    OpenSim fits it with zero smoothing, so it is the natural interpolating spline of that degree:
    it passes through every knot, its derivatives of orders ``m`` to ``2 m - 2`` vanish at both
    ends, and outside the knots it continues as its Taylor polynomial of degree ``m - 1`` at the end
    knot (quadratic for the quintic). Checked against OpenSim 4.6's ``GCVSpline.calcValue`` inside
    and outside the knots (tests/integration/test_fk_against_opensim.py). Needs at least ``2 m``
    knots, as OpenSim's fitter does.
    """

    def __init__(self, x: Sequence[float], y: Sequence[float], half_order: int = 3) -> None:
        super().__init__()
        if half_order not in (1, 2, 3, 4):
            raise ValueRangeError("GCVSpline half_order", expected="1, 2, 3 or 4 (degree 1, 3, 5 or 7, as OpenSim allows)", got=half_order)
        self.half_order = int(half_order)
        self.x, self.y = _check_knots("GCVSpline", x, y, 2 * self.half_order)
        if np.any(np.diff(self.x) <= 0):
            raise ValueRangeError("GCVSpline x", expected="strictly increasing knots", got=self.x.tolist())
        self.base, self.coefficients = _gcv_pieces(self.x, self.y, self.half_order)
        self._set_constants()

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return (self.x, self.base, *self.coefficients)

    def _horner(self, dx: torch.Tensor, coefficients: Sequence[Any]) -> torch.Tensor:
        out = coefficients[0]
        for c in coefficients[1:]:
            out = out * dx + c
        return out

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self._horner(*self._selected(x))

    def _selected(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``x`` minus its piece's base point and the piece's coefficients (highest power first):
        piece 0 left of the knots, ``n`` right of them."""
        base, *coefficients = self._at_pieces(x, thresholds=slice(None), rows=slice(1, None))
        return x - base, coefficients

    def value_and_derivative(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dx, coefficients = self._selected(x)
        degree = len(coefficients) - 1
        slope = self._horner(dx, [c * (degree - i) for i, c in enumerate(coefficients[:-1])])
        return self._horner(dx, coefficients), slope

    def piecewise_polynomial(self) -> PiecewisePolynomial:
        return PiecewisePolynomial(self.x.copy(), self.base.copy(), np.stack(self.coefficients, axis=1))

    def __repr__(self) -> str:
        return f"GCVSpline(half_order={self.half_order}, knots={self.x.size})"


def _gcv_pieces(x: np.ndarray, y: np.ndarray, half_order: int) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Base points ``(n + 1,)`` and polynomial coefficients (``2 m`` arrays, highest power first) of the
    pieces: the Taylor extension left of the knots, the ``n - 1`` intervals, the extension right."""
    from scipy.interpolate import PPoly, make_interp_spline

    degree = 2 * half_order - 1
    natural = [(order, 0.0) for order in range(half_order, degree)] or None
    spline = make_interp_spline(x, y, k=degree, bc_type=(natural, natural) if natural else None)
    inner = PPoly.from_spline(spline)
    # PPoly.from_spline keeps the padded end knots: keep the intervals that start at the data knots
    starts = [int(np.flatnonzero((inner.x[:-1] == xi) & (np.diff(inner.x) > 0))[0]) for xi in x[:-1]]
    pieces = inner.c[:, starts]  # (degree + 1, n - 1)

    def extension(at: float) -> np.ndarray:
        taylor = np.zeros(degree + 1)
        for order in range(half_order):  # degree m - 1: value, then derivatives over order!
            taylor[degree - order] = spline.derivative(order)(at) / math.factorial(order) if order else spline(at)
        return taylor[:, None]

    coefficients = np.concatenate([extension(x[0]), pieces, extension(x[-1])], axis=1)
    base = np.concatenate([[x[0]], x[:-1], [x[-1]]])
    return base, tuple(coefficients)
