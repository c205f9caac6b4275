"""Reading OpenSim setup documents (tool and task-set XML) with errors that name the file and element.

OpenSim setup files wrap one object in ``<OpenSimDocument Version="...">``; older files
hold the object as the root element. Text values are whitespace-trimmed; booleans are
``true``/``false``; numbers follow C's ``strtod`` (``inf``/``Infinity`` accepted).

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "setup.xml"
>>> _ = path.write_text('<OpenSimDocument Version="40000"><InverseKinematicsTool name="t">'
...                     '<accuracy>1e-5</accuracy></InverseKinematicsTool></OpenSimDocument>')
>>> doc = SetupDocument.read(path, ("InverseKinematicsTool",))
>>> doc.number(doc.root, "accuracy"), doc.root.get("name")
(1e-05, 't')
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kinelift.errors import FileFormatError
from kinelift.io._common import existing_path

__all__ = ["SetupDocument"]

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


@dataclass(frozen=True)
class SetupDocument:
    """The object element of an OpenSim setup file, with typed accessors.

    Attributes
    ----------
    path : Path
        The file read.
    root : Element
        The tool or set element (inside ``<OpenSimDocument>`` when there is one).
    """

    path: Path
    root: ET.Element

    @classmethod
    def read(cls, path: str | os.PathLike[str], tags: Sequence[str]) -> SetupDocument:
        """Parse ``path`` and find its object element, whose tag must be one of ``tags``."""
        path = existing_path(path)
        try:
            top = ET.parse(path).getroot()
        except ET.ParseError as exc:
            raise FileFormatError(path, f"not well-formed XML ({exc})", expected="an OpenSim setup file") from None
        candidates = list(top) if top.tag == "OpenSimDocument" else [top]
        for element in candidates:
            if element.tag in tags:
                return cls(path, element)
        found = [e.tag for e in candidates if isinstance(e.tag, str)]
        raise FileFormatError(path, f"no <{tags[0]}> element (found {found})", expected=f"one of {list(tags)}")

    @property
    def directory(self) -> Path:
        return self.path.parent

    def text(self, element: ET.Element, tag: str, default: str = "") -> str:
        child = element.find(tag)
        return default if child is None or child.text is None else child.text.strip()

    def has(self, element: ET.Element, tag: str) -> bool:
        return bool(self.text(element, tag))

    def flag(self, element: ET.Element, tag: str, default: bool) -> bool:
        value = self.text(element, tag).lower()
        if not value:
            return default
        if value in _TRUE or value in _FALSE:
            return value in _TRUE
        raise FileFormatError(self.path, f"<{tag}> of <{element.tag}> holds {value!r}", expected="true or false")

    def numbers(self, element: ET.Element, tag: str, count: int | None = None) -> list[float]:
        value = self.text(element, tag)
        try:
            numbers = [float(v) for v in value.split()]
        except ValueError:
            raise FileFormatError(self.path, f"<{tag}> of <{element.tag}> holds {value[:40]!r}", expected="numbers") from None
        if count is not None and len(numbers) != count:
            raise FileFormatError(self.path, f"<{tag}> of <{element.tag}> holds {len(numbers)} numbers", expected=f"{count}")
        return numbers

    def number(self, element: ET.Element, tag: str, default: float | None = None) -> float:
        if not self.has(element, tag):
            if default is None:
                raise FileFormatError(self.path, f"<{element.tag}> has no <{tag}>", expected="a number")
            return default
        return self.numbers(element, tag, 1)[0]

    def file(self, element: ET.Element, tag: str) -> Path | None:
        """A file property resolved against the setup file's folder (``None`` when empty or ``Unassigned``)."""
        value = self.text(element, tag)
        if not value or value == "Unassigned":
            return None
        return self.resolve(value)

    def resolve(self, value: str) -> Path:
        p = Path(value.replace("\\", "/"))
        return p if p.is_absolute() else self.directory / p

    def objects(self, element: ET.Element) -> list[ET.Element]:
        """The members of a set element (children of its ``<objects>``)."""
        objects = element.find("objects")
        return [] if objects is None else [o for o in objects if isinstance(o.tag, str)]
