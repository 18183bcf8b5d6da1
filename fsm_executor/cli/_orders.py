"""The reading commands: ``orders`` (a table of a journal's orders), ``export`` (orders or
fills as CSV or JSON lines, for accounting and tax tools) and ``replay`` (every order rebuilt,
every transition re-validated, counted by state).

They open the journal read-only and need no lock, so they read a journal a bot is writing
(as of the moment each starts), and they never import ccxt.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, Final

from ..core._collector import gc_paused
from ..core._exceptions import CorruptJournal
from ..core._fill import Fill
from ..core._model import Order
from ..journal._journal import JournalReader
from ..journal._replay import rebuild, replay
from ._show import age, dump, iso, table

#: The columns of ``export --what orders``.
ORDER_FIELDS: Final = (
    "client_order_id", "signal_id", "exchange_order_id", "symbol", "side", "type", "state",
    "amount", "price", "filled", "average", "cost", "fees", "created_at", "updated_at",
    "reason", "failure",
)
#: The columns of ``export --what fills``: one row per fill (an inferred one says so).
#: ``timestamp`` is the exchange's own time of the trade, empty where it gave none (an
#: inferred fill never has one); ``recorded_at`` is when the journal recorded the fill, on
#: the bot's clock, so that every row has a time.
FILL_FIELDS: Final = (
    "client_order_id", "signal_id", "symbol", "side", "trade_id", "timestamp",
    "recorded_at", "amount", "price", "cost", "fee", "fee_currency", "more_fees", "inferred",
)

#: A fill's key: (client order id, trade id).
FillKey = tuple[str, str]


def _orders(args: argparse.Namespace) -> list[Order]:
    """The journal's orders, oldest first, as ``--open`` and ``--symbol`` select them (read
    before anything is printed: a file that is no journal prints nothing)."""
    return _selected(replay(args.journal).values(), args)


def _orders_and_fill_times(args: argparse.Namespace
                           ) -> tuple[list[Order], dict[FillKey, float]]:
    """``_orders``, and when the journal recorded each fill, read from the same rows (one
    snapshot, whatever a bot appends meanwhile)."""
    times: dict[FillKey, float] = {}

    def noting(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        for row in rows:
            # Read once replay has taken the row: a malformed one stops it first, named.
            yield row
            _seq, order_id, trigger, _source, _dest, payload, ts = row
            # The later row wins: a restate that puts back an inferred fill under its id
            # recorded it again.
            if trigger == "fill":
                times[order_id, str(json.loads(payload)["trade_id"])] = ts
            elif trigger == "restate":
                for fill in json.loads(payload)["fills"]:
                    times[order_id, str(fill["trade_id"])] = ts

    with JournalReader(args.journal) as reader:
        orders = rebuild(noting(reader.raw_rows()), str(reader.path))
    return _selected(orders.values(), args), times


def _selected(orders: Iterable[Order], args: argparse.Namespace) -> list[Order]:
    wanted_open, symbol = getattr(args, "open", False), getattr(args, "symbol", None)
    return [o for o in orders
            if not (wanted_open and o.is_terminal) and not (symbol and o.symbol != symbol)]


def _fees(order: Order) -> str:
    return ", ".join(f"{cost} {currency}" for currency, cost in sorted(order.fees.items()))


def cmd_orders(args: argparse.Namespace) -> int:
    orders = list(_orders(args))
    if args.json:
        dump([o.to_json() for o in orders], sys.stdout)
        return 0
    now = time.time()
    rows = [(o.client_order_id, o.signal_id or "", o.symbol, o.side.value, o.type.value,
             o.state.value, f"{o.filled}/{o.amount}", str(o.average or ""), _fees(o),
             age(now - o.created_at), o.reason or "") for o in orders]
    table(("order", "signal", "symbol", "side", "type", "state", "filled", "average",
           "fees", "age", "reason"), rows, sys.stdout, right=("filled", "average", "age"))
    return 0


def order_record(order: Order) -> dict[str, Any]:
    return {
        "client_order_id": order.client_order_id, "signal_id": order.signal_id or "",
        "exchange_order_id": order.exchange_order_id or "", "symbol": order.symbol,
        "side": order.side.value, "type": order.type.value, "state": order.state.value,
        "amount": str(order.amount), "price": _text(order.price), "filled": str(order.filled),
        "average": _text(order.average), "cost": str(order.cost), "fees": _fees(order),
        "created_at": iso(order.created_at), "updated_at": iso(order.updated_at),
        "reason": order.reason or "", "failure": order.failure or "",
    }


def fill_record(order: Order, fill: Fill, recorded_at: float | None) -> dict[str, Any]:
    """One row of ``export --what fills``; ``recorded_at``: when the journal recorded it."""
    return {
        "client_order_id": order.client_order_id, "signal_id": order.signal_id or "",
        "symbol": order.symbol, "side": order.side.value, "trade_id": fill.trade_id,
        "timestamp": iso(fill.timestamp), "recorded_at": iso(recorded_at),
        "amount": str(fill.amount),
        "price": str(fill.price), "cost": str(fill.value), "fee": str(fill.fee_cost),
        "fee_currency": fill.fee_currency or "",
        "more_fees": ", ".join(f"{cost} {currency}" for currency, cost in fill.more_fees),
        "inferred": "yes" if fill.inferred else "no",
    }


def _text(value: object) -> str:
    return "" if value is None else str(value)


def cmd_export(args: argparse.Namespace) -> int:
    fields: tuple[str, ...]
    records: Iterable[dict[str, Any]]
    if args.what == "orders":
        fields, records = ORDER_FIELDS, (order_record(o) for o in _orders(args))
    else:
        orders, times = _orders_and_fill_times(args)
        fields = FILL_FIELDS
        records = (fill_record(o, f, times.get((o.client_order_id, f.trade_id)))
                   for o in orders for f in o.fills.values())
    out = sys.stdout
    if args.format == "jsonl":
        for record in records:
            out.write(json.dumps(record) + "\n")
        return 0
    import csv  # here: orders and replay never write CSV

    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    # Here, not above: orders and export read no journal in two halves, draw no bar.
    from ..journal._pass import whole
    from ..journal._split import read_in_halves
    from ._progress import Bar

    start = time.perf_counter()
    with (JournalReader(args.journal) as reader, reader.consistent(), gc_paused(),
          Bar("rows", 0, sys.stderr, lines=False) as bar):
        head = reader.head()  # of the very rows replayed, should a bot append meanwhile
        # Orders are let go as they finish: memory holds the open ones only. A long
        # journal is read in two halves at once (_split.py).
        reading = (read_in_halves(reader, audit=False, progress=bar.update)
                   or whole([reader], audit=False, progress=bar.update))
    if reading.violations:
        first = reading.violations[0]
        error = reading.error or CorruptJournal(str(reader.path), first.message, first.seq)
        print(f"fsm-executor: {error}; `fsm-executor audit` says more", file=sys.stderr)
        return 1
    counts: Counter[str] = Counter({s.value: n for s, n in reading.tally.states.items()})
    counts.update(order.state.value for order in reading.orders.values())
    elapsed = time.perf_counter() - start
    states = {s: n for s, n in sorted(counts.items()) if n}
    rows, orders = int(head.split(":")[0]), sum(states.values())
    if args.json:
        dump({"orders": orders, "rows": rows, "head": head, "states": states,
              "seconds": round(elapsed, 3)}, sys.stdout)
        return 0
    print(f"replayed {rows:,} row(s) into {orders:,} order(s) in {elapsed:.2f} s: "
          "every transition re-validated")
    table(("state", "orders"), [(s, f"{n:,}") for s, n in states.items()], sys.stdout,
          right=("orders",))
    print(f"journal head {head}")
    return 0

