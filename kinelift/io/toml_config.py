"""Configuration files: TOML tables read into frozen dataclasses, with errors that name the key.

Both trainers (``kinelift train-detector``, ``kinelift train-lifter``) read a TOML file with one
table per dataclass; every key is optional and unknown tables or keys are errors, not ignored.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Opt:
...     steps: int = 10
...     sizes: tuple[int, ...] = (1, 2)
>>> tables_to_dataclasses({"opt": {"sizes": [3, 4]}}, {"opt": Opt})
{'opt': Opt(steps=10, sizes=(3, 4))}
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import fields, replace
from typing import Any

from kinelift.errors import FileFormatError, UnknownNameError

__all__ = ["read_toml", "tables_to_dataclasses", "rebase_paths", "replace_given"]


def read_toml(path: str | os.PathLike[str], *, what: str) -> dict[str, Any]:
    """The tables of a TOML file; :class:`~kinelift.errors.FileFormatError` naming ``what`` was expected."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise FileFormatError(path, "file not found", expected=what) from None
    except tomllib.TOMLDecodeError as err:
        raise FileFormatError(path, f"not valid TOML: {err}", expected=what) from None


def tables_to_dataclasses(values: dict[str, Any], tables: dict[str, type], *, source: str = "config") -> dict[str, Any]:
    """One dataclass instance per table name in ``tables`` (missing tables take the defaults).

    Lists become tuples (the dataclasses are frozen and hashable). Unknown tables and keys raise
    :class:`~kinelift.errors.UnknownNameError`; a table that is not a table raises
    :class:`~kinelift.errors.FileFormatError`.
    """
    unknown = [k for k in values if k not in tables]
    if unknown:
        raise UnknownNameError(f"table (in {source})", unknown, known=list(tables))
    parts = {}
    for name, cls in tables.items():
        table = values.get(name, {})
        if not isinstance(table, dict):
            raise FileFormatError(source, f"[{name}] must be a table", expected="key = value pairs")
        known = {f.name for f in fields(cls)}
        bad = [k for k in table if k not in known]
        if bad:
            raise UnknownNameError(f"key (in [{name}] of {source})", bad, known=sorted(known))
        parts[name] = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in table.items()})
    return parts


def rebase_paths(table: Any, keys: tuple[str, ...], config_path: str | os.PathLike[str]) -> None:
    """Make the non-empty string values of ``keys`` in ``table`` relative to the config file's folder (in place)."""
    if not isinstance(table, dict):
        return
    base = os.path.dirname(os.path.abspath(config_path))
    for key in keys:
        value = table.get(key)
        if isinstance(value, str) and value:
            table[key] = os.path.join(base, value)


def replace_given(config: Any, **values: Any) -> Any:
    """``dataclasses.replace(config, ...)`` with the values that are not None (command-line overrides)."""
    given = {k: v for k, v in values.items() if v is not None}
    return replace(config, **given) if given else config
