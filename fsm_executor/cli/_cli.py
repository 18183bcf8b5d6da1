"""The ``fsm-executor`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core._exceptions import FsmExecutorError, JournalLocked
from ..journal._audit import audit, timeline
from ..journal._journal import Entry
from ..journal._replay import Rebuilder


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def _rebuilt(entries: list[Entry]) -> dict[str, Any] | None:
    """One order from its own rows, as JSON (what is wrong with them, the audit says)."""
    rebuilder = Rebuilder()
    for e in entries:
        rebuilder.feed((e.seq, e.order_id, e.trigger, e.source, e.dest, e.payload, e.ts))
    order = rebuilder.orders.get(entries[0].order_id)
    return None if order is None else order.to_json()


def cmd_audit(args: argparse.Namespace) -> int:
    report = audit(args.journal, expected_head=args.expect_head, archives=args.archives)
    if args.order is not None:
        entries = timeline(args.journal, args.order)
        if not entries:
            print(f"fsm-executor: no order {args.order!r} in {args.journal}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps({
                "order": _rebuilt(entries),
                "timeline": [
                    {"seq": e.seq, "ts": e.ts, "trigger": e.trigger, "source": e.source,
                     "dest": e.dest, "origin": e.origin, "payload": e.data()}
                    for e in entries
                ],
                "violations": [str(v) for v in report.violations],
            }, indent=2))
        else:
            for e in entries:
                origin = "" if e.origin == "live" else f"  [{e.origin}]"
                move = e.dest if not e.source else f"{e.source} -> {e.dest}"
                print(f"{e.seq:>8}  {_iso(e.ts)}  {e.trigger:<16}{move:<40}"
                      f"{e.payload}{origin}")
    elif args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.render())
    return 0 if report.ok else 1


def cmd_diagram(args: argparse.Namespace) -> int:
    from ._diagram import expected_files, write

    out = Path(args.out)
    if args.check:
        stale = [name for name, text in expected_files().items()
                 if not (out / name).is_file() or (out / name).read_text() != text]
        for name in stale:
            print(f"{out / name} differs from the transition table", file=sys.stderr)
        return 1 if stale else 0
    for path in write(out):
        print(path)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fsm-executor", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("audit", help="verify a journal: hash chain, transitions, invariants")
    a.add_argument("journal")
    a.add_argument("--order", metavar="ID", help="print one order's timeline")
    a.add_argument("--json", action="store_true", help="machine-readable output")
    a.add_argument("--expect-head", metavar="SEQ:HASH",
                   help="a head recorded earlier: detects rows cut off the end")
    a.add_argument("--with", dest="archives", action="append", default=[], metavar="ARCHIVE",
                   help="an archive of the journal's first rows (journal archive): verified "
                        "with it as one chain; repeat for each")
    a.set_defaults(func=cmd_audit)

    d = sub.add_parser("diagram", help="regenerate diagrams/ from the transition table")
    d.add_argument("--out", default="diagrams")
    d.add_argument("--check", action="store_true", help="fail if the files are stale")
    d.set_defaults(func=cmd_diagram)

    from ._archive import add_parser as add_archive
    from ._orders import add_parsers as add_reading
    from ._run import add_parser as add_run
    from ._venue_cli import add_parser as add_venue

    add_reading(sub)
    add_archive(sub)
    add_run(sub)
    add_venue(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except JournalLocked as exc:
        # Raised while the executor is built, before any exchange request.
        from ._run import EXIT_LOCKED

        print(f"fsm-executor: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except FsmExecutorError as exc:
        print(f"fsm-executor: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
