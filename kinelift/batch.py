"""Many inputs through the main job, on any :class:`concurrent.futures.Executor`; Dask for a cluster.

:func:`process_many` runs :func:`kinelift.pipeline.run.run` on every input into its own folder
``out_dir/<input stem>`` (numbered when stems repeat). Each input's results are written
atomically and independently, and a folder with a complete result is skipped, so an interrupted
batch resumes where it stopped; an input that fails (a corrupt file, say) is reported with its
error and does not stop the others.

Executors: ``None`` runs in this process one after the other; any ``concurrent.futures``
executor works (``ProcessPoolExecutor`` on one machine); :func:`dask_executor` gives a Dask
``distributed`` executor: a local cluster of ``workers`` processes, or an existing scheduler at
``scheduler`` (``tcp://host:8786``), which is how a batch runs past one machine.

Examples
--------
>>> import tempfile, pathlib
>>> from kinelift.pipeline.demo_clip import write_demo_input
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_demo_input(folder / "a.json", n_reps=1)
>>> _ = (folder / "broken.json").write_text("{")
>>> report = process_many([folder / "a.json", folder / "broken.json"], folder / "out", progress=False)
>>> [r.input.name for r in report.succeeded], [r.input.name for r in report.failed]
(['a.json'], ['broken.json'])
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from kinelift.errors import ValueRangeError
from kinelift.io._atomic import output_folder
from kinelift.pipeline.config import RunConfig
from kinelift.pipeline.run import RunSummary, run

__all__ = ["InputOutcome", "BatchReport", "process_many", "dask_executor", "output_folders"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InputOutcome:
    """One input's fate: its output folder and either its summary or its error (type and message)."""

    input: Path
    out_dir: Path
    summary: RunSummary | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class BatchReport:
    """All outcomes, in input order."""

    outcomes: tuple[InputOutcome, ...]

    @property
    def succeeded(self) -> list[InputOutcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def failed(self) -> list[InputOutcome]:
        return [o for o in self.outcomes if not o.ok]

    def to_text(self) -> str:
        reused = sum(1 for o in self.succeeded if o.summary.reused)
        lines = [f"{len(self.succeeded)} of {len(self.outcomes)} inputs done ({reused} already complete), {len(self.failed)} failed"]
        lines += [f"  FAILED {o.input}: {o.error}" for o in self.failed]
        return "\n".join(lines)


def output_folders(inputs: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str]) -> list[Path]:
    """``out_dir/<stem>`` per input; repeated stems get ``_2``, ``_3``... in input order."""
    seen: dict[str, int] = {}
    folders = []
    for item in inputs:
        stem = Path(item).stem or Path(item).name
        seen[stem] = seen.get(stem, 0) + 1
        folders.append(Path(out_dir) / (stem if seen[stem] == 1 else f"{stem}_{seen[stem]}"))
    return folders


def _run_one(source: str, out: str, config: RunConfig, overwrite: bool) -> tuple[RunSummary | None, str | None]:
    """Run one input; errors come back as text so that one bad file does not stop a batch (and
    every executor, Dask included, can return them)."""
    try:
        return run(source, out, config=config, overwrite=overwrite, progress=False), None
    except Exception as err:  # noqa: BLE001 - a batch reports every input's failure, whatever its type
        return None, f"{type(err).__name__}: {err}"


def process_many(inputs: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str], *, executor: Executor | None = None,
                 config: RunConfig | None = None, overwrite: bool = False, progress: bool = True) -> BatchReport:  # fmt: skip
    """Run the main job on every input (see the module docs); returns a :class:`BatchReport`."""
    if not inputs:
        raise ValueRangeError("inputs", expected="at least one input path", got=0)
    config = config or RunConfig()
    folders = output_folders(inputs, out_dir)
    output_folder(out_dir)
    args = [(str(Path(i)), str(f), config, overwrite) for i, f in zip(inputs, folders)]
    results: dict[int, tuple[RunSummary | None, str | None]] = {}
    bar = tqdm(total=len(args), desc="kinelift batch", unit="input", disable=not progress)
    if executor is None:
        for k, a in enumerate(args):
            results[k] = _run_one(*a)
            bar.update()
    else:
        futures = {executor.submit(_run_one, *a): k for k, a in enumerate(args)}
        for future in as_completed(futures):
            k = futures[future]
            try:
                results[k] = future.result()
            except Exception as err:  # noqa: BLE001 - a worker lost or killed: report it with the input
                results[k] = (None, f"{type(err).__name__}: {err}")
            bar.update()
    bar.close()
    outcomes = tuple(InputOutcome(Path(a[0]), Path(a[1]), *results[k]) for k, a in enumerate(args))
    for o in outcomes:
        if not o.ok:
            log.error("%s failed: %s", o.input, o.error)
    return BatchReport(outcomes)


@contextmanager
def dask_executor(*, workers: int | None = None, scheduler: str | None = None, threads_per_worker: int = 1,
                  processes: bool = True) -> Iterator[Executor]:  # fmt: skip
    """A Dask ``distributed`` executor: a local cluster of ``workers`` processes (threads with
    ``processes=False``), or the scheduler at ``scheduler``.

    Use as a context manager; a local cluster is shut down on exit. Needs ``dask[distributed]``
    (``pip install "kinelift[dask]"``). Worker processes re-import the main script: a script that
    starts a local cluster keeps that code under ``if __name__ == "__main__":``.
    """
    if (workers is None) == (scheduler is None):
        raise ValueRangeError("workers/scheduler", expected="exactly one of them", got=(workers, scheduler))
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ValueRangeError("executor", expected='dask.distributed installed (pip install "kinelift[dask]")', got="not installed") from None
    logging.getLogger("distributed").setLevel(max(logging.WARNING, log.getEffectiveLevel()))  # its INFO lines drown the report
    cluster = LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker, processes=processes,
                           dashboard_address=":0") if workers is not None else None  # fmt: skip
    client = Client(cluster if cluster is not None else scheduler)
    try:
        yield client.get_executor()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
