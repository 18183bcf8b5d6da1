"""``make demo`` before the executor: a few orders through the machine, replayed, audited."""

from __future__ import annotations

import argparse

from ._audit import audit
from ._book import OrderBook
from ._events import Acknowledge, Cancel, Reject, RequestCancel, Submit
from ._model import Fill, OrderSpec
from ._replay import replay


def demo(args: argparse.Namespace) -> int:
    with OrderBook.open(args.journal) as book:
        book.create(OrderSpec("demo-1", "BTC/USDT", "buy", "limit", "0.5", "30000"))
        book.apply("demo-1", Submit())
        book.apply("demo-1", Acknowledge("1001"))
        book.apply("demo-1", Fill("t1", "0.2", "30000", "0.0002", "BTC"))
        book.apply("demo-1", Fill("t2", "0.3", "29999.5", "0.0003", "BTC"))
        book.create(OrderSpec("demo-2", "ETH/USDT", "sell", "limit", "2", "2000"))
        book.apply("demo-2", Submit())
        book.apply("demo-2", Acknowledge("1002"))
        book.apply("demo-2", Fill("t3", "0.5", "2000"))
        book.apply("demo-2", RequestCancel("timeout"))
        book.apply("demo-2", Cancel("cancelled at our request"))
        book.create(OrderSpec("demo-3", "ETH/USDT", "buy", "market", "100"))
        book.apply("demo-3", Submit())
        book.apply("demo-3", Reject("InsufficientFunds: balance too low"))
        live = {o.client_order_id: o for o in book.orders()}
        head = book.journal.head
    replayed = replay(args.journal)
    print(f"replayed {len(replayed)} orders; equal to the live ones: {replayed == live}")
    report = audit(args.journal, expected_head=head)
    print(report.render())
    return 0 if report.ok and replayed == live else 1
