"""3x3 algebra on "components": each matrix or vector entry is ``None`` (an exact zero), a Python
float (a model constant) or a contiguous ``(B,)`` tensor. Forward kinematics written this way
skips every product with a constant zero or one, and each torch operation works on one
contiguous vector, which is several times faster than batched ``(B, 3, 3)`` products.
"""

from __future__ import annotations

from typing import Union

import numpy as np
import torch

from kinelift.skeleton.rotations import cross_product_matrix_np

Component = Union[None, float, torch.Tensor]
Matrix = list[list[Component]]
Vector = list[Component]

IDENTITY: Matrix = [[1.0 if i == j else None for j in range(3)] for i in range(3)]
ZERO_VECTOR: Vector = [None, None, None]


def mul(a: Component, b: Component) -> Component:
    if a is None or b is None:
        return None
    if isinstance(a, float) and a == 1.0:
        return b
    if isinstance(b, float) and b == 1.0:
        return a
    return a * b


def add(*terms: Component) -> Component:
    out: Component = None
    for t in terms:
        if t is None:
            continue
        out = t if out is None else out + t
    return out


def const(value: float) -> Component:
    value = float(value)
    return None if value == 0.0 else value


def const_matrix(m: np.ndarray) -> Matrix:
    return [[const(m[i, j]) for j in range(3)] for i in range(3)]


def const_vector(v: np.ndarray) -> Vector:
    return [const(x) for x in v]


def dot(pairs) -> Component:
    """``sum(x * y for x, y in pairs)`` with the products folded into the sum: a tensor times a
    constant is added by ``torch.add(..., alpha=)`` and a tensor times a tensor by ``torch.addcmul``,
    one operation per term instead of two (and no Python float wrapped into a tensor)."""
    out: Component = None
    for x, y in pairs:
        if x is None or y is None:
            continue
        if isinstance(x, float) and isinstance(y, float):
            term: Component = x * y
        elif out is None or isinstance(out, float):
            term = mul(x, y)
        elif isinstance(x, float) or isinstance(y, float):
            c, t = (x, y) if isinstance(x, float) else (y, x)
            out = torch.add(out, t, alpha=c)
            continue
        else:
            out = torch.addcmul(out, x, y)
            continue
        out = term if out is None else out + term
    return out


def matmul(a: Matrix, b: Matrix) -> Matrix:
    return [[dot((a[i][k], b[k][j]) for k in range(3)) for j in range(3)] for i in range(3)]


def matvec(a: Matrix, v: Vector) -> Vector:
    return [dot((a[i][k], v[k]) for k in range(3)) for i in range(3)]


def vec_add(a: Vector, b: Vector) -> Vector:
    return [add(x, y) for x, y in zip(a, b)]


def vec_scale(v: Vector, s: Vector) -> Vector:
    """Element-wise product (scaling a body-fixed vector by a body's scale factors)."""
    return [mul(x, y) for x, y in zip(v, s)]


def transpose(a: Matrix) -> Matrix:
    return [[a[j][i] for j in range(3)] for i in range(3)]


def negate(v: Vector) -> Vector:
    return [None if x is None else -x for x in v]


def axis_constants(axis: np.ndarray) -> tuple[Vector, Vector, Matrix, Matrix]:
    """For a unit axis: the axis, its scale weights ``|axis_k| / sum |axis|`` (a translation's factor
    ``sum_k w_k s_k`` is 1 unscaled and ``s_k`` along axis ``k``), its cross-product matrix ``K`` and ``K @ K``."""
    k = cross_product_matrix_np(axis)
    return const_vector(axis), const_vector(scale_weights(axis)), const_matrix(k), const_matrix(k @ k)


def scale_weights(axis: np.ndarray) -> np.ndarray:
    """``|axis_k| / sum_k |axis_k|``: how a CustomJoint translation along ``axis`` scales with body factors ``s``."""
    a = np.abs(np.asarray(axis, dtype=np.float64))
    return a / a.sum() if a.sum() > 0 else a


def axis_rotation(k: Matrix, kk: Matrix, c: torch.Tensor, s: torch.Tensor) -> Matrix:
    """Rotation with cross-product matrix ``k`` (and ``kk = k @ k``) from ``cos``/``sin`` tensors: Rodrigues'
    formula ``I + sin K + (1 - cos) K^2``."""
    one_minus_c = 1.0 - c
    return [[add(1.0 if i == j else None, mul(s, k[i][j]), mul(one_minus_c, kk[i][j])) for j in range(3)] for i in range(3)]


def materialize(c: Component, like: torch.Tensor) -> torch.Tensor:
    """A ``(B,)`` tensor for a component, shaped and typed like ``like``."""
    if c is None:
        return torch.zeros_like(like)
    if isinstance(c, float):
        return torch.full_like(like, c)
    return c


def stack(components: list[Component], like: torch.Tensor) -> torch.Tensor:
    """``(B, n)`` from ``n`` components."""
    if not components:
        return like.new_zeros(like.shape + (0,))
    return torch.stack([materialize(c, like) for c in components], dim=-1)
