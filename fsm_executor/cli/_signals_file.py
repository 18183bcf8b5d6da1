"""Reading a file of signals: CSV with a header, or JSON lines. All or nothing: a file with a
bad row is refused whole, every bad row named, before anything is executed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ..core._exceptions import InvalidInput
from ..core._signal import Signal


def read_signals(path: str | Path) -> list[Signal]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{p}: cannot read signals: {exc}") from None
    stripped = text.lstrip()
    rows: list[tuple[int, object]] = []
    errors: list[str] = []
    if p.suffix.lower() in (".jsonl", ".json", ".ndjson") or stripped.startswith("{"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                errors.append(f"line {number}: not JSON: {exc.msg}")
    else:
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames:
            raise InvalidInput(f"{p}: empty signals file")
        for number, row in enumerate(reader, 2):
            if None in row:
                errors.append(f"line {number}: more fields than the header")
                continue
            rows.append((number, {k.strip(): (v or "").strip() for k, v in row.items() if k}))
    signals = []
    for number, data in rows:
        try:
            signals.append(Signal.from_dict(data))  # type: ignore[arg-type]
        except InvalidInput as exc:
            errors.append(f"line {number}: {exc}")
    if errors:
        shown = "\n  ".join(errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise InvalidInput(f"{p}: {len(errors)} bad signal(s), nothing executed:\n  {shown}{more}")
    if not signals:
        raise InvalidInput(f"{p}: no signals")
    return signals
