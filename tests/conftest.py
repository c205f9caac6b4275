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
