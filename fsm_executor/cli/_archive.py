"""``fsm-executor journal archive``: the oldest finished orders' rows moved into an archive
file, the live journal kept small (journal/_archive.py). It takes the journal's writer
lock, so it runs while no bot writes the journal (exit status 4 otherwise)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from ..core._exceptions import InvalidInput
from ._show import dump, iso


def moment(text: str) -> float:
    """An ISO 8601 date or time (UTC unless it says otherwise) as epoch seconds."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--before must be an ISO date or time (2026-01-31, "
                           f"2026-01-31T12:00:00+00:00), not {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def cmd_archive(args: argparse.Namespace) -> int:
    from ..journal._archive import archive

    done = archive(args.journal, moment(args.before), args.into)
    if args.json:
        dump({"archive": str(done.into) if done.into else None, "first_seq": done.first_seq,
              "last_seq": done.last_seq, "rows": done.rows, "orders": done.orders,
              "live_rows": done.live_rows}, sys.stdout)
    elif done.into is None:
        print(f"nothing to archive before {iso(moment(args.before))}: every row before it "
              "belongs to an order still open, or finished after it")
    else:
        print(f"archived rows {done.first_seq}..{done.last_seq} ({done.rows:,} rows, "
              f"{done.orders:,} orders) into {done.into}; {done.live_rows:,} rows stay live")
        print(f"verify both: fsm-executor audit {args.journal} --with {done.into}")
    return 0

