"""Shared fixtures: the reference data folder ../shared/data (skip with a reason when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO.parent / "shared" / "data").resolve()


def shared_file(relative: str) -> Path:
    """A file under ../shared/data, or skip the test saying which file is missing."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"reference data not present: ../shared/data/{relative} (read in place, never copied into the repo)")
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def run_torchrun(args: list[str], *, processes: int = 2, timeout: float = 600):
    """``torchrun --standalone --nproc_per_node N -m kinelift ARGS`` from the repository; skip without torchrun."""
    import shutil
    import subprocess
    import sys

    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    if torchrun is None:
        pytest.skip("torchrun is not installed beside this Python")
    return subprocess.run([torchrun, "--standalone", "--nproc_per_node", str(processes), "-m", "kinelift", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)  # fmt: skip
