"""Atomic file and folder writing: a crash never leaves a half-written output."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kinelift.errors import FileFormatError, OutputExistsError

__all__ = ["atomic_path", "atomic_dir", "check_output_folder", "check_writable", "output_folder", "staged_outputs", "save_png",
           "save_rows_csv"]


def _parents_are_folders(path: Path) -> None:
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise FileFormatError(parent, f"is a file, so {path} cannot be written inside it", expected="a folder (or a new path)")
            return


def check_writable(path: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """The output path as a :class:`Path`; :class:`OutputExistsError` if it exists and ``overwrite`` is False,
    :class:`FileFormatError` if a folder stands where the file goes or a file where a parent folder goes."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    _parents_are_folders(path)
    return path


def check_output_folder(path: str | os.PathLike[str]) -> Path:
    """``path`` as a folder outputs can go into (existing or creatable), without creating it: a file in
    the way is a :class:`FileFormatError` naming it. For commands that check before long work."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileFormatError(path, "is a file", expected="an output folder (new or existing)")
    _parents_are_folders(path)
    return path


def output_folder(path: str | os.PathLike[str]) -> Path:
    """``path`` as an output folder, created with its parents; a file in the way is a
    :class:`FileFormatError` naming it (never a bare ``FileExistsError``)."""
    path = check_output_folder(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def staged_outputs(folder: str | os.PathLike[str], names: Iterator[str] | list[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Write several outputs all or nothing: every target is checked first, the files are written into
    a staging folder inside ``folder``, and moved into place only when the block succeeds.

    A refused target (an existing file without ``overwrite``, a folder in the way) raises before
    anything is written; a failure inside the block leaves ``folder`` as it was (a folder this
    call created is removed again).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "results"
    >>> with staged_outputs(out, ["a.txt", "b.txt"]) as stage:
    ...     _ = (stage / "a.txt").write_text("1"), (stage / "b.txt").write_text("2")
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt', 'b.txt']
    """
    created = not Path(folder).exists()
    out = output_folder(folder)
    names = list(names)
    for name in names:
        target = out / name
        if target.is_dir():
            raise FileFormatError(target, "is a folder", expected="a file name for an output")
        if target.exists() and not overwrite:
            raise OutputExistsError(target)
    stage = Path(tempfile.mkdtemp(prefix=".kinelift-stage.", dir=out))
    try:
        yield stage
        for name in names:
            if (stage / name).exists():
                os.chmod(stage / name, 0o666 & ~_umask())
                os.replace(stage / name, out / name)
    except BaseException:
        if created:
            shutil.rmtree(stage, ignore_errors=True)
            if not any(out.iterdir()):
                out.rmdir()
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    The temporary file keeps the final suffix (libraries that look at extensions
    still work). If the block raises, the temporary file is removed and ``path`` is
    untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> out.read_text()
    'hello'
    """
    final = check_writable(path, overwrite=overwrite)
    if final.is_dir():
        raise FileFormatError(final, "is a folder", expected="a file name for the output")
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".tmp{final.suffix}", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def atomic_dir(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path``."""
    final = check_writable(path, overwrite=overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def save_png(fig, path: str | os.PathLike[str], *, dpi: int = 110, overwrite: bool = False) -> None:
    """Write a matplotlib figure as a PNG atomically, then close it (figures are not kept open)."""
    import matplotlib.pyplot as plt

    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)


def save_rows_csv(rows: list[dict], path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Write dict rows as a CSV atomically; the header is every key in order of first appearance."""
    import csv

    keys = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_path(path, overwrite=overwrite) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
