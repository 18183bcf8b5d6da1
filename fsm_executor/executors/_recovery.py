"""Recovery: after a stop at any instant, settle every unfinished order with the exchange.

The journal has already rebuilt every order (the order book replays it on open). What the
exchange did meanwhile is applied as transitions with origin "reconcile":
acknowledgements, fills (from trades, or inferred from the cumulative filled), cancels and
expiries. An order whose placement outcome was unknown takes the exchange's state if found;
absent past the exchange's visibility grace period, it is presumed absent and watched by
every later recovery until the exchange's lookup window has passed; only then does it fail
(_decide.after_not_found). Recovery never re-sends. Network errors never count as not found:
such an order stays in doubt, untouched, for the next recovery.

Orphans are exchange orders with this executor's client-order-id prefix whose exchange id
the journal does not hold: an order the journal never heard of, and also a second exchange
order under a client order id the journal knows (a double placement), or one under an
order the journal gave up on.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

import attrs

from ..core._answers import ExchangeOrder
from ..core._events import Acknowledge, LoseAnswer, RequestCancel, Submit
from ..core._exceptions import ExchangeFailure, InvalidInput, OrderInDoubt
from ..core._model import Order, OrderSpec
from ..core._states import State

if TYPE_CHECKING:
    from ._executor import TradeExecutor


@attrs.frozen
class Change:
    client_order_id: str
    before: str
    after: str
    rows: int


@attrs.frozen
class RecoveryReport:
    """What recovery changed, what it could not settle, and what it found unknown."""

    checked: int
    changes: tuple[Change, ...]
    in_doubt: tuple[OrderInDoubt, ...]
    #: Exchange orders with this executor's client-order-id prefix that the journal lacks.
    orphans: tuple[ExchangeOrder, ...]
    adopted: tuple[str, ...]
    exchange_calls: int
    #: Orders presumed absent after this recovery: watched until the lookup window passes.
    presumed_absent: tuple[str, ...] = ()

    def render(self) -> str:
        lines = [f"recovery: {self.checked} unfinished order(s) checked, {len(self.changes)} "
                 f"changed, {len(self.in_doubt)} in doubt, {len(self.orphans)} unknown to the "
                 f"journal, {len(self.presumed_absent)} presumed absent (watched), "
                 f"{self.exchange_calls} exchange call(s)"]
        lines += [f"  {c.client_order_id}  {c.before} -> {c.after}  ({c.rows} row(s))"
                  for c in self.changes]
        lines += [f"  in doubt: {d}" for d in self.in_doubt]
        for o, journal_id in zip(self.orphans, self._adopted_ids(), strict=True):
            adopted = f" (adopted as {journal_id})" if journal_id else ""
            lines.append(f"  not in the journal: {o.client_order_id} exchange id {o.id} "
                         f"{o.symbol} {o.side} {o.amount} status {o.status}{adopted}")
        return "\n".join(lines)

    def _adopted_ids(self) -> list[str]:
        """The journal id each orphan was adopted under, or "" (same order as orphans)."""
        if not self.adopted:
            return [""] * len(self.orphans)
        return list(self.adopted)


def recover(executor: TradeExecutor, adopt: bool = False,
            symbols: Iterable[str] = ()) -> RecoveryReport:
    book, adapter = executor.book, executor.adapter
    calls_before = adapter.calls
    unfinished = [o for o in book.unfinished() if o.state is not State.CREATED]
    before = {o.client_order_id: (o.state.value, book.journal.head) for o in unfinished}
    seq_before = book.journal.head
    in_doubt: list[OrderInDoubt] = []
    symbols_seen = {o.symbol for o in book.orders()} | set(symbols)
    open_now = _open_orders(executor, {o.symbol for o in unfinished})
    for order in unfinished:
        try:
            _settle(executor, order, open_now)
        except OrderInDoubt as exc:
            in_doubt.append(exc)
    for order in book.unsettled():
        # Ended with fills inferred from the order's figures: its trades may be listed now.
        # One listing each, no waiting: every recovery asks again.
        executor._settle_ledger(order, attempts=1)
    orphans = _orphans(executor, symbols_seen)
    adopted = [_adopt(executor, o) for o in orphans] if adopt else []
    changes = _changes(executor, before, seq_before)
    absent = tuple(o.client_order_id for o in book.unfinished()
                   if o.state is State.PRESUMED_ABSENT)
    return RecoveryReport(len(unfinished), tuple(changes), tuple(in_doubt), tuple(orphans),
                          tuple(adopted), adapter.calls - calls_before, absent)


def _open_orders(executor: TradeExecutor, symbols: set[str]) -> dict[str, ExchangeOrder]:
    """Every open order of these markets, in one call per market rather than one per order
    (rate limits). Unreachable: empty, and each order is fetched by itself instead."""
    found: dict[str, ExchangeOrder] = {}
    for symbol in sorted(symbols):
        try:
            listing = executor._retrying(partial(executor.adapter.open_orders, symbol))
        except ExchangeFailure:
            continue
        for seen in listing:
            if seen.client_order_id:
                found[seen.client_order_id] = seen
    return found


def _settle(executor: TradeExecutor, order: Order, open_now: dict[str, ExchangeOrder]) -> None:
    _bring_up_to_date(executor, order, open_now)
    order = executor.book.get(order.client_order_id)
    if order.cancel_requested and order.state in (State.SUBMITTED, State.PARTIALLY_FILLED):
        # Cancelled while in doubt (or the run stopped before it could cancel): carry it out.
        order = executor._record(order.client_order_id, RequestCancel("cancel requested"))
    while (order := executor.book.get(order.client_order_id)).state is State.PENDING_CANCEL:
        executor._cancel(order)


def _bring_up_to_date(executor: TradeExecutor, order: Order,
                      open_now: dict[str, ExchangeOrder]) -> None:
    cid = order.client_order_id
    if order.state is State.PENDING_SUBMIT:
        order = executor._record(cid, LoseAnswer("the run stopped before the answer was "
                                                 "recorded"))
    if order.state in (State.SUBMIT_UNKNOWN, State.PRESUMED_ABSENT):
        seen = open_now.get(cid)
        if seen is not None:
            executor._observe(order, seen)
            return
        executor._resolve_unknown(order, resend=False)
        while (order := executor.book.get(cid)).state is State.SUBMIT_UNKNOWN:
            executor._resolve_unknown(order, resend=False)
        return
    if order.state is State.PENDING_CANCEL:
        return  # _settle sends the cancel again and settles it
    seen = open_now.get(cid)
    if seen is not None and seen.id == order.exchange_order_id:
        executor._observe(order, seen, executor._trades_if_changed(order, seen))
    else:
        executor._refresh(order)


def _orphans(executor: TradeExecutor, symbols: set[str]) -> list[ExchangeOrder]:
    prefix = executor.config.client_order_id_prefix
    book, adapter = executor.book, executor.adapter
    known_ids = {o.exchange_order_id for o in book.orders() if o.exchange_order_id}
    found: dict[str, ExchangeOrder] = {}
    calls = [partial(listing, symbol) for symbol in sorted(symbols)
             for listing in (adapter.open_orders, adapter.closed_orders)]
    if not adapter.profile.listings_need_symbol:
        # One listing of every market's open orders: orphans in markets the journal
        # never traded too.
        calls.append(partial(adapter.open_orders, None))
    for call in calls:
        try:
            orders = executor._retrying(call)
        except ExchangeFailure:
            continue
        for seen in orders:
            cid = seen.client_order_id
            if not (cid and cid.startswith(prefix)) or seen.id in known_ids:
                continue
            mine = book.get(cid) if cid in book else None
            if mine is not None and mine.exchange_order_id is None and not mine.is_terminal:
                continue  # our order in doubt, showing up: settled, not an orphan
            found[seen.id or cid] = seen
    return list(found.values())


def _adopt(executor: TradeExecutor, seen: ExchangeOrder) -> str:
    """Journal an order found only on the exchange, as reconciliation rows. A second
    exchange order under a client order id the journal holds is journaled under
    ``CID~EXCHANGE_ID``: the journal keys orders by client order id."""
    cid = seen.client_order_id or ""
    book = executor.book
    journal_id = cid if cid not in book else f"{cid}~{seen.id}"
    try:
        spec = OrderSpec(journal_id, seen.symbol or "", seen.side or "", seen.type or "limit",
                         seen.amount if seen.amount is not None else 0, seen.price)
    except InvalidInput as exc:
        raise InvalidInput(f"cannot adopt exchange order {seen.id}: {exc}") from None
    book.create(spec, "reconcile")
    order = book.apply(journal_id, Submit(), "reconcile")
    if seen.id is not None:
        order = book.apply(journal_id, Acknowledge(seen.id), "reconcile")
    executor._observe(order, seen)
    return journal_id


def _changes(executor: TradeExecutor, before: dict[str, tuple[str, str]],
             seq_before: str) -> list[Change]:
    """Orders whose state moved or that gained more than notes: a presumed-absent order
    looked up again (one more not-found note) has not changed."""
    start = int(seq_before.split(":")[0])
    rows: dict[str, int] = {}
    moved: set[str] = set()
    for entry in executor.book.journal.entries_after(start):
        rows[entry.order_id] = rows.get(entry.order_id, 0) + 1
        if entry.trigger != "note":
            moved.add(entry.order_id)
    changes = []
    for cid, count in rows.items():
        old = before.get(cid, ("(not journaled)", ""))[0]
        new = executor.book.state_of(cid).value
        if cid in moved or new != old:
            changes.append(Change(cid, old, new, count))
    return changes
