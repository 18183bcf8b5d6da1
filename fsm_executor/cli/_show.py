"""How the command line shows what it has to say: a table drawn by ``rich`` on a terminal,
plain aligned columns elsewhere (a pipe, a file, CI's log), JSON where a script reads it.

``rich`` is imported only to draw on a terminal: a command piped into another never pays
its import.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO


def on_terminal(out: TextIO) -> bool:
    return out.isatty() and os.environ.get("TERM") != "dumb"


def table(columns: Sequence[str], rows: Iterable[Sequence[str]], out: TextIO, *,
          right: Iterable[str] = (), title: str | None = None) -> None:
    """``rows`` under ``columns``; the columns named in ``right`` (figures) aligned right."""
    aligned = set(right)
    if on_terminal(out):
        from rich.console import Console
        from rich.table import Table

        drawn = Table(title=title, header_style="bold")
        for name in columns:
            drawn.add_column(name, justify="right" if name in aligned else "left")
        for row in rows:
            drawn.add_row(*row)
        Console(file=out).print(drawn)
        return
    kept = [list(columns), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in kept) for i in range(len(columns))]
    if title:
        print(title, file=out)
    for row in kept:
        cells = [cell.rjust(w) if name in aligned else cell.ljust(w)
                 for name, cell, w in zip(columns, row, widths, strict=True)]
        print("  ".join(cells).rstrip(), file=out)


def dump(data: Any, out: TextIO) -> None:
    """``data`` as indented JSON (Decimals as strings: exact)."""
    print(json.dumps(data, indent=2, default=_plain), file=out)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def iso(ts: float | None) -> str:
    """A journal's timestamp (seconds since the epoch) in ISO 8601, UTC."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def age(seconds: float) -> str:
    """A duration as people read it: 42s, 3m05s, 2h10m, 4d03h."""
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"
