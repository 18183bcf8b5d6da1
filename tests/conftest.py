"""Shared fixtures. Hypothesis profiles: "ci" (the default, keeps CI well under 15 minutes)
and "soak" (``make soak``) for long runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from fsm_executor import FakeClock, OrderBook

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "soak", max_examples=2_000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


@pytest.fixture
def book(journal_path: Path, clock: FakeClock) -> Iterator[OrderBook]:
    with OrderBook.open(journal_path, clock=clock) as b:
        yield b
