"""Old names of the public API, accepted for now with a :class:`DeprecationWarning` (docs/conventions.md
lists the one word kept for each idea)."""

from __future__ import annotations

import warnings
from typing import Any

from kinelift.errors import ValueRangeError

__all__ = ["renamed_argument"]


def renamed_argument(where: str, old: str, new: str, old_value: Any, new_value: Any, *, default: Any = None, stacklevel: int = 3) -> Any:
    """The value of argument ``new``, taking a value given under its old name ``old`` with a warning;
    both given (``new`` not at its ``default``) is an error."""
    if old_value is None:
        return new_value
    if new_value is not default and new_value != default:
        raise ValueRangeError(f"{where}: {old}/{new}", expected=f"{new}= only ({old}= is its old name)", got=(old_value, new_value))
    warnings.warn(f"{where}: {old}= is deprecated, use {new}= (the same meaning)", DeprecationWarning, stacklevel=stacklevel)
    return old_value
