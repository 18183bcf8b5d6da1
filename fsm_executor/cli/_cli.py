"""fsm-executor: run trading signals through an exchange's orders, each a state machine
journaled before its effect; recover what a crash left; read, audit and export a journal."""

# (That docstring is the description ``--help`` prints.) Every command is declared here and
# its module imported only when it runs (``_command``): reading a journal starts without the
# executor's configuration, the paper venue or the diagram support, and ``diagram`` without
# the journal. So the declarations stay light: argparse and plain constants only.

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..core._collector import gc_paused
from ..core._exceptions import FsmExecutorError, InvalidInput, JournalLocked
from ._exits import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_LOOK,
    EXIT_OK,
    EXIT_PIPE_CLOSED,
)

if TYPE_CHECKING:
    from ..journal._journal import Entry

Command = Callable[[argparse.Namespace], int]

#: The exchanges whose manners ``--imitate`` reproduces: the keys of the paper venue's
#: MANNERS, named here so that declaring ``run`` does not import the venue
#: (tests/test_run.py checks they agree).
IMITATE = ("binance", "bybit", "okx")


def _command(module: str, name: str) -> Command:
    """The function ``name`` of the command module ``module``, imported when it runs."""

    def command(args: argparse.Namespace) -> int:
        with gc_paused():  # (start-up: see main)
            function: Command = getattr(importlib.import_module(module, __package__), name)
        return function(args)

    return command


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def _rebuilt(entries: list[Entry]) -> dict[str, Any] | None:
    """One order from its own rows, as JSON (what is wrong with them, the audit says)."""
    from ..journal._replay import Rebuilder

    rebuilder = Rebuilder()
    for e in entries:
        rebuilder.feed((e.seq, e.order_id, e.trigger, e.source, e.dest, e.payload, e.ts))
    order = rebuilder.orders.get(entries[0].order_id)
    return None if order is None else order.to_json()


def cmd_audit(args: argparse.Namespace) -> int:
    import json

    with gc_paused():  # (start-up: see main)
        from ..journal._audit import audit, timeline
        from ._progress import Bar

    with Bar("rows", 0, sys.stderr, lines=False) as bar:
        report = audit(args.journal, expected_head=args.expect_head, archives=args.archives,
                       progress=bar.update)
    if args.order is not None:
        entries = timeline(args.journal, args.order)
        if not entries:
            print(f"fsm-executor: no order {args.order!r} in {args.journal}", file=sys.stderr)
            return EXIT_BAD_INPUT
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
    return EXIT_OK if report.ok else EXIT_LOOK


def cmd_diagram(args: argparse.Namespace) -> int:
    from pathlib import Path

    with gc_paused():  # (start-up: see main)
        from ._diagram import expected_files, write

    out = Path(args.out)
    if args.check:
        stale = [name for name, text in expected_files().items()
                 if not (out / name).is_file() or (out / name).read_text() != text]
        for name in stale:
            print(f"{out / name} differs from the transition table", file=sys.stderr)
        return EXIT_LOOK if stale else EXIT_OK
    try:
        written = write(out)
    except OSError as exc:  # a path that is a file, a directory not ours to write
        raise InvalidInput(f"cannot write the diagrams into {out}: {exc.strerror or exc}"
                           ) from None
    for path in written:
        print(path)
    return EXIT_OK


def _audit_parser(sub: Any) -> None:
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


def _diagram_parser(sub: Any) -> None:
    d = sub.add_parser("diagram", help="regenerate diagrams/ from the transition table")
    d.add_argument("--out", default="diagrams")
    d.add_argument("--check", action="store_true", help="fail if the files are stale")
    d.set_defaults(func=cmd_diagram)


def _orders_parser(sub: Any) -> None:
    """``orders``, ``export`` and ``replay`` run in _orders.py."""
    o = sub.add_parser("orders", help="a table of the journal's orders (reads a journal "
                                      "a bot is writing)")
    o.add_argument("journal")
    o.add_argument("--open", action="store_true", help="only the orders not yet terminal")
    o.add_argument("--symbol", metavar="S", help="only this market's orders")
    o.add_argument("--json", action="store_true", help="machine-readable output")
    o.set_defaults(func=_command("._orders", "cmd_orders"))


def _export_parser(sub: Any) -> None:
    e = sub.add_parser("export", help="the journal's orders or fills as CSV or JSON lines, "
                                      "for accounting and tax tools")
    e.add_argument("journal")
    e.add_argument("--what", choices=("orders", "fills"), default="orders")
    e.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    e.add_argument("--open", action="store_true", help="only the orders not yet terminal")
    e.add_argument("--symbol", metavar="S", help="only this market's orders")
    e.set_defaults(func=_command("._orders", "cmd_export"))


def _replay_parser(sub: Any) -> None:
    r = sub.add_parser("replay", help="rebuild every order from the journal, every "
                                      "transition re-validated, and count them by state")
    r.add_argument("journal")
    r.add_argument("--json", action="store_true", help="machine-readable output")
    r.set_defaults(func=_command("._orders", "cmd_replay"))


def _archive_parser(sub: Any) -> None:
    """``journal archive`` (_archive.py)."""
    j = sub.add_parser("journal", help="journal maintenance")
    jsub = j.add_subparsers(dest="journal_command", required=True)
    a = jsub.add_parser("archive", help="move the rows of orders finished before a date into "
                                        "an archive file whose chain the live journal continues")
    a.add_argument("journal")
    a.add_argument("--before", required=True, metavar="DATE",
                   help="ISO date or time (UTC unless it says otherwise)")
    a.add_argument("--into", metavar="FILE",
                   help="the archive file (default: beside the journal, named by its rows)")
    a.add_argument("--json", action="store_true", help="machine-readable output")
    a.set_defaults(func=_command("._archive", "cmd_archive"))


def _venue_options(p: Any) -> None:
    """The options of ``run`` and ``recover``: the journal and the exchange (_run.py)."""
    p.add_argument("--journal", required=True)
    p.add_argument("--exchange", metavar="ID",
                   help="a ccxt exchange id; keys from FSM_EXECUTOR_API_KEY / _SECRET / "
                        "_PASSWORD (default: the embedded paper venue)")
    p.add_argument("--sandbox", action="store_true", help="use the exchange's testnet")
    p.add_argument("--config", metavar="JSON", help="execution settings (ExecutionConfig keys)")
    p.add_argument("--seed", type=int, default=0, help="paper venue and jitter seed")
    p.add_argument("--faults", action="store_true", help="paper venue: inject failures")
    p.add_argument("--latency", type=float, default=0.0, help="paper venue latency, seconds")
    p.add_argument("--realtime", action="store_true", help="paper venue on the real clock")
    p.add_argument("--venue-state", metavar="FILE",
                   help="paper venue: keep its state in FILE, so it outlives the bot")
    p.add_argument("--imitate", choices=IMITATE, default="binance",
                   help="paper venue: the exchange whose manners it reproduces")
    p.add_argument("--http", action="store_true",
                   help="paper venue: serve it over a local Binance REST server and trade "
                        "through the real ccxt.binance client")
    p.add_argument("--exchange-url", metavar="URL",
                   help="with --exchange binance: a local Binance-compatible server "
                        "(fsm-executor venue serve)")
    p.add_argument("--durability", choices=["normal", "full"], default="normal")
    p.add_argument("--json", action="store_true",
                   help="the summary as one JSON document on stdout (progress stays on "
                        "stderr)")


def _run_parser(sub: Any) -> None:
    """``run`` and ``recover`` run in _run.py."""
    r = sub.add_parser("run", help="execute a file of signals (CSV or JSON lines), after "
                                   "recovering what an earlier run left in flight")
    r.add_argument("signals")
    _venue_options(r)
    r.add_argument("--async", dest="use_async", action="store_true",
                   help="submit every signal at once to the asyncio executor "
                        "(AsyncTradeExecutor); simulated time runs a virtual event loop; "
                        "--http and --exchange-url run on the real clock")
    r.set_defaults(func=_command("._run", "cmd_run"))


def _recover_parser(sub: Any) -> None:
    c = sub.add_parser("recover", help="settle a journal's unfinished orders with the "
                                       "exchange, and print what changed")
    _venue_options(c)
    c.add_argument("--adopt", action="store_true",
                   help="journal exchange orders with our prefix that the journal lacks")
    c.set_defaults(func=_command("._run", "cmd_recover"))


def _venue_parser(sub: Any) -> None:
    v = sub.add_parser("venue", help="the paper venue as a server")
    venue_sub = v.add_subparsers(dest="venue_command", required=True)
    s = venue_sub.add_parser("serve", help="serve the paper venue as Binance's spot REST API "
                                           "on loopback, until interrupted")
    s.add_argument("--host", default="127.0.0.1", help="127.0.0.1, ::1 or localhost")
    s.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    s.add_argument("--venue-state", metavar="FILE", help="keep the venue's state in FILE")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--faults", action="store_true", help="inject failures")
    s.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    s.add_argument("--visibility-lag", type=float, default=None,
                   help="seconds a new order is invisible to lookups (Binance-like: 5)")
    s.add_argument("--json", action="store_true",
                   help="print where it serves as one JSON line: url, host, port")
    s.set_defaults(func=_command("._venue_cli", "cmd_serve"))


#: Each command, in the order ``--help`` lists them, and what declares it.
COMMANDS: dict[str, Callable[[Any], None]] = {
    "audit": _audit_parser,
    "diagram": _diagram_parser,
    "orders": _orders_parser,
    "export": _export_parser,
    "replay": _replay_parser,
    "journal": _archive_parser,
    "run": _run_parser,
    "recover": _recover_parser,
    "venue": _venue_parser,
}


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` tells it (COLUMNS, then the
    terminal of standard output, else 80), without importing shutil (below)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Parser(argparse.ArgumentParser):
    """argparse's parser with the help formatter argparse would build, but told the width:
    argparse builds one for every argument declared, and the first asks shutil, whose
    import (bz2 and lzma with it) is 2 ms of a reading command's start-up."""

    def _get_formatter(self) -> argparse.HelpFormatter:
        return self.formatter_class(prog=self.prog, width=_columns() - 2)  # type: ignore[call-arg]


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line. Given a ``command``'s name, only that command is declared: argparse
    builds a help formatter and asks gettext for every argument it declares, a few
    milliseconds in all, which a reading command's start-up need not pay for the others.
    Anything else (``--help``, a mistyped command) gets every command."""
    p = _Parser(prog="fsm-executor", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for name, declare in COMMANDS.items():
        if command in (None, name):
            declare(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else list(argv)
    first = given[0] if given else None
    # The collector is paused while the parser is built and the command's modules are
    # imported: they build tens of thousands of objects, none garbage (a few ms).
    with gc_paused():
        args = parser(first if first in COMMANDS else None).parse_args(given)
    try:
        code: int = args.func(args)
    except JournalLocked as exc:
        # Raised while the executor is built, before any exchange request.
        print(f"fsm-executor: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except FsmExecutorError as exc:
        print(f"fsm-executor: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the output's reader has gone (``| head``): stop writing
        return EXIT_PIPE_CLOSED
    return code


def entry() -> None:
    """The ``fsm-executor`` program: ``main``, whose status the process exits with. Every
    object is frozen first: the interpreter's last collection at exit would otherwise walk
    them all, the modules' included (9 ms of a reading command's 70). Nothing is lost by
    it: what the commands write they close themselves, and the standard streams are flushed
    at exit all the same."""
    try:
        code = main()
    finally:  # argparse's own exit included
        gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
