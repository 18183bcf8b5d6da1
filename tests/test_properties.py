"""Random histories of several orders through the OrderBook: invariants after every step,
replay equal to the live book at the end, and audit catching any one flipped byte.

Each example gets its own temporary directory: hypothesis runs many examples per test
function, and pytest's function-scoped fixtures would be shared between them.
"""

from __future__ import annotations

import sqlite3
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import event, given
from hypothesis import strategies as st
from journal_tools import TEXT_COLUMNS, rows, states
from strategies import EVENTS, PRICES, order_specs

from fsm_executor import (
    BadRestate,
    ConflictingFill,
    FakeClock,
    Fill,
    InvalidTransition,
    Order,
    OrderBook,
    Overfill,
    State,
    audit,
    replay,
)
from fsm_executor.core._ledger import fees_of
from fsm_executor.core._machine import allowed_triggers
from fsm_executor.core._states import TERMINAL, TRIGGERS

#: The only errors a history may raise: the book refusing what the table or figures forbid.
REFUSALS = (InvalidTransition, Overfill, ConflictingFill, BadRestate)

#: How often each allowed trigger is picked: the ones ending an order early are rare.
WEIGHTS = {t: 1 for t in TRIGGERS} | {"submit": 4, "acknowledge": 4, "fill": 10,
                                       "request_cancel": 2, "cancel_rejected": 2}
KINDS = ["allowed"] * 12 + ["any", "redeliver", "redeliver", "batch", "complete"]


def head_seq(book: OrderBook) -> int:
    return int(book.journal.head.split(":")[0])


def check_invariants(order: Order, previous: Order | None) -> None:
    assert Decimal(0) <= order.filled <= order.amount
    assert order.filled == sum((f.amount for f in order.fills.values()), Decimal(0))
    assert order.cost == sum((f.value for f in order.fills.values()), Decimal(0))
    assert dict(order.fees) == fees_of(order.fills.values())
    assert (order.state is State.FILLED) == (order.filled == order.amount)
    if order.is_open:
        assert order.exchange_order_id is not None
    if previous is not None:
        assert order.filled >= previous.filled
        # Only inferred fills are ever taken back (by a restate).
        assert {k for k, f in previous.fills.items() if not f.inferred} <= set(order.fills)
        if previous.state in TERMINAL:
            assert order.state is previous.state


def run_history(data: st.DataObject, path: Path, max_steps: int) -> OrderBook:
    """Create a few orders, then drive them with random events; returns the open book."""
    clock = FakeClock()
    book = OrderBook.open(path, clock=clock)
    specs = data.draw(st.lists(order_specs, min_size=1, max_size=4,
                               unique_by=lambda s: s.client_order_id), label="orders")
    for spec in specs:
        book.create(spec)
    ids = [s.client_order_id for s in specs]
    delivered: list[tuple[str, Fill]] = []  # fills the book accepted, to deliver again
    previous = {o.client_order_id: o for o in book.orders()}
    for _ in range(data.draw(st.integers(0, max_steps), label="steps")):
        clock.advance(data.draw(st.sampled_from([0, 0.001, 1.5])))
        order_id = data.draw(st.sampled_from(ids))
        # Mostly events the table allows here, weighted towards progress so that histories
        # go deep; sometimes any event, a fill delivered again, a batch, or the last fill.
        state = book.state_of(order_id)
        allowed = [t for t in sorted(allowed_triggers(state)) for _ in range(WEIGHTS[t])]
        kind = data.draw(st.sampled_from(KINDS))
        if kind == "redeliver" and delivered:
            order_id, resent = data.draw(st.sampled_from(delivered))
            batch = [resent]
        elif kind == "batch":
            batch = data.draw(st.lists(st.sampled_from(TRIGGERS).flatmap(EVENTS.__getitem__),
                                       min_size=1, max_size=3))
        elif kind == "complete" and "fill" in allowed:
            remaining = book.get(order_id).remaining
            batch = [Fill(f"c{len(delivered)}", remaining, data.draw(st.sampled_from(PRICES)))]
        else:
            trigger = data.draw(st.sampled_from(allowed if kind != "any" else TRIGGERS))
            batch = [data.draw(EVENTS[trigger])]
        before, seq = book.get(order_id), head_seq(book)
        try:
            after = (book.apply(order_id, batch[0]) if len(batch) == 1
                     else book.apply_all(order_id, batch))
        except REFUSALS as exc:
            event(f"refused: {type(exc).__name__}")
            # A refusal changes nothing and journals nothing.
            assert book.get(order_id) == before
            assert head_seq(book) == seq
        else:
            assert after == book.get(order_id)
            journaled = head_seq(book) - seq
            assert 0 <= journaled <= len(batch)
            if journaled == 0:
                assert after == before
            delivered.extend((order_id, e) for e in batch if isinstance(e, Fill))
        for order in book.orders():
            check_invariants(order, previous[order.client_order_id])
            previous[order.client_order_id] = order
    for order in book.orders():
        event(f"ends {order.state.value}")
    return book


@given(st.data())
def test_random_histories_keep_invariants_and_replay_to_the_live_book(
    data: st.DataObject,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.db"
        with run_history(data, path, max_steps=40) as book:
            live = {o.client_order_id: o for o in book.orders()}
            head = book.journal.head
        assert replay(path) == live
        report = audit(path, expected_head=head)
        assert report.ok, report.render()
        assert report.order_count == len(live)
        assert report.by_state == states(live)
        assert list(report.in_flight) == [o for o in live.values() if o.is_in_flight]
        with OrderBook.open(path) as reopened:
            assert {o.client_order_id: o for o in reopened.orders()} == live


@given(st.data())
def test_flipping_any_byte_of_any_text_column_of_any_row_fails_the_audit(
    data: st.DataObject,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.db"
        run_history(data, path, max_steps=15).close()
        journal_rows = rows(path)
        seq = data.draw(st.integers(1, len(journal_rows)), label="seq")
        row = dict(zip(("seq", *TEXT_COLUMNS), (journal_rows[seq - 1][0],
                                                *journal_rows[seq - 1][1:7],
                                                journal_rows[seq - 1][8]), strict=True))
        column = data.draw(st.sampled_from([c for c in TEXT_COLUMNS if row[c]]), label="column")
        raw = bytearray(row[column].encode())
        position = data.draw(st.integers(0, len(raw) - 1), label="position")
        raw[position] ^= data.draw(st.integers(1, 255), label="mask")
        conn = sqlite3.connect(path)
        with conn:
            # Stored as TEXT even when the flip leaves invalid UTF-8, as a bad disk would.
            conn.execute(f"UPDATE journal SET {column} = CAST(? AS TEXT) WHERE seq = ?",
                         (bytes(raw), seq))
        conn.close()
        report = audit(path)
        assert not report.ok
