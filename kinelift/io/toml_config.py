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
from dataclasses import fields, replace
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import tomllib

from kinelift.errors import FileFormatError, UnknownNameError

__all__ = ["read_toml", "tables_to_dataclasses", "rebase_paths", "replace_given"]


def read_toml(path: str | os.PathLike[str], *, what: str) -> dict[str, Any]:
    """The tables of a TOML file; :class:`~kinelift.errors.FileFormatError` naming ``what`` was expected."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise FileFormatError(path, "file not found", expected=what) from None
    except IsADirectoryError:
        raise FileFormatError(path, "is a folder", expected=what) from None
    except OSError as err:
        raise FileFormatError(path, f"cannot be read ({err.strerror or err})", expected=what) from None
    except UnicodeDecodeError:
        raise FileFormatError(path, "is not UTF-8 text", expected=what) from None
    except tomllib.TOMLDecodeError as err:
        raise FileFormatError(path, f"not valid TOML: {err}", expected=what) from None


def tables_to_dataclasses(values: dict[str, Any], tables: dict[str, type], *, source: str = "config") -> dict[str, Any]:
    """One dataclass instance per table name in ``tables`` (missing tables take the defaults).

    Lists become tuples (the dataclasses are frozen and hashable). Unknown tables and keys raise
    :class:`~kinelift.errors.UnknownNameError`; a table that is not a table, or a value whose type
    does not fit the field's annotation (``steps = "many"`` for an ``int``), raises
    :class:`~kinelift.errors.FileFormatError` naming the table, key and expected type.
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
        hints = get_type_hints(cls)
        for key, value in table.items():
            if not _fits(value, hints.get(key, Any)):
                raise FileFormatError(source, f"[{name}] {key} = {value!r} is a {_toml_type(value)}", expected=_describe(hints[key]))
        parts[name] = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in table.items()})
    return parts


def _toml_type(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}.get(type(value), type(value).__name__)


def _describe(hint: Any) -> str:
    """A type annotation in words, for the error message."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is tuple:
        return f"an array of {_describe(args[0])}" if len(args) == 2 and args[1] is Ellipsis else f"an array of {len(args)} values"
    if origin is Literal:
        return "one of " + ", ".join(map(repr, args))
    if origin is dict:
        return f"a table of {_describe(args[1])} values" if args else "a table"
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false", type(None): "nothing (leave the key out)"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _fits(value: Any, hint: Any) -> bool:
    """Whether a TOML value can stand for a field annotated ``hint`` (unknown kinds of hint: yes)."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return True
    if origin in (Union, UnionType):
        return any(_fits(value, a) for a in args)
    if origin is Literal:
        return value in args
    if origin is dict:
        return isinstance(value, dict) and (not args or all(_fits(k, args[0]) and _fits(v, args[1]) for k, v in value.items()))
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_fits(v, args[0]) for v in value)
        return len(args) == len(value) and all(_fits(v, a) for v, a in zip(value, args))
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if hint is type(None):
        return value is None
    return True


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
