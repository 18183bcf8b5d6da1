"""Shared fixtures. Hypothesis profiles: "ci" (the default, keeps CI well under 15 minutes),
"soak" (``make soak``) for long runs, and "mutation" (``make mutate``): CI's examples, but a
failure is not shrunk, since a mutant only has to fail (shrinking a stateful test's failure
takes minutes, for every mutant it kills)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from fsm_executor import FakeClock, OrderBook

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "soak", max_examples=2_000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "mutation", settings.get_profile("ci"),
    phases=[p for p in Phase if p not in (Phase.shrink, Phase.explain)],
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
