"""Shared helpers for the benchmark scripts: timing and printing of ratios."""

from __future__ import annotations

import time
from collections.abc import Callable


def timed(n: int, body: Callable[[], None]) -> float:
    start = time.perf_counter()
    body()
    return (time.perf_counter() - start) / n


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def line(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<46}{value:>16}  {note}")
