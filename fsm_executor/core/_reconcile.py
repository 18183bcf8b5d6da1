"""Recovery: after a stop at any instant, settle every unfinished order with the exchange.

The journal has already rebuilt every order (the order book replays it on open). What the
exchange did meanwhile is applied as transitions, which the loop journals with origin
"reconcile": acknowledgements, fills (from trades, or inferred from the cumulative filled),
cancels and expiries. An order whose placement outcome was unknown takes the exchange's
state if found; absent past the exchange's visibility grace period, it is presumed absent
and watched by every later recovery until the exchange's lookup window has passed; only
then does it fail (_decide.after_not_found). Recovery never re-sends. Network errors never
count as not found: such an order stays in doubt, untouched, for the next recovery.

Orphans are exchange orders with this executor's client-order-id prefix whose exchange id
the journal does not hold: an order the journal never heard of, and also a second exchange
order under a client order id the journal knows (a double placement), or one under an
order the journal gave up on.

Like the driver it runs on, this is a generator without I/O (_actions.py); it reads the
order book, which the loop keeps up to date, between its steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

import attrs

from ._actions import Look, Op, Open, Record, Request
from ._answers import ExchangeOrder
from ._asking import Steps
from ._driver import Driver
from ._events import Acknowledge, Event, Submit
from ._exceptions import InvalidInput, OrderInDoubt
from ._model import Order, OrderSpec
from ._states import State


class Orders(Protocol):
    """What recovery reads of the order book."""

    def __contains__(self, client_order_id: object) -> bool: ...

    def get(self, client_order_id: str) -> Order: ...

    def symbols(self) -> set[str]: ...

    def knows_exchange_order(self, client_order_id: str, exchange_order_id: str) -> bool: ...

    def unfinished(self) -> list[Order]: ...

    def unsettled(self) -> list[Order]: ...


@attrs.frozen
class Reconciled:
    """What recovery could not settle, and what it found that the journal lacks."""

    checked: int
    in_doubt: tuple[OrderInDoubt, ...]
    #: Exchange orders with this executor's client-order-id prefix that the journal lacks.
    orphans: tuple[ExchangeOrder, ...]
    #: The journal id each orphan was adopted under (when adopting).
    adopted: tuple[str, ...]


def reconcile(driver: Driver, book: Orders, prefix: str, adopt: bool = False,
              symbols: Iterable[str] = ()) -> Steps[Reconciled]:
    """Settle every unfinished order of ``book`` with the exchange; ``adopt``: journal the
    orphans found (in the journal's markets and ``symbols``).

    One order after another. Its phases are public so that a loop can settle the orders
    at once instead (the asyncio executor): ``survey``, then ``settle_order`` for each
    order it names, then ``list_trades`` for each order the book holds unsettled, then
    ``conclude``."""
    found = yield from survey(driver, book, symbols)
    in_doubt: list[OrderInDoubt] = []
    for cid in found.unfinished:
        doubt = yield from settle_order(driver, cid, found.listed.get(cid))
        if doubt is not None:
            in_doubt.append(doubt)
    for order in book.unsettled():
        yield from list_trades(driver, order.client_order_id)
    return (yield from conclude(driver, book, found, in_doubt, prefix, adopt))


@attrs.frozen
class Survey:
    """What recovery finds before it settles any order."""

    #: The unfinished orders to settle (placed, or whose placement is in doubt).
    unfinished: tuple[str, ...]
    #: Their markets' open orders on the exchange, by client order id.
    listed: Mapping[str, ExchangeOrder]
    #: The markets to search for orphans: the journal's, and those asked for.
    symbols: frozenset[str]


def survey(driver: Driver, book: Orders, symbols: Iterable[str] = ()) -> Steps[Survey]:
    """The unfinished orders, and one listing of open orders per market of theirs."""
    unfinished = tuple(o.client_order_id for o in book.unfinished()
                       if o.state is not State.CREATED)
    markets = {book.get(cid).symbol for cid in unfinished}
    listed = yield from _open_orders(driver, markets)
    seen = frozenset(book.symbols() | set(symbols))
    return Survey(unfinished, listed, seen)


def settle_order(driver: Driver, cid: str,
                 listed: ExchangeOrder | None) -> Steps[OrderInDoubt | None]:
    """One unfinished order brought up to date; the doubt it is left in, if any."""
    try:
        yield from driver.bring_up_to_date(cid, listed)
    except OrderInDoubt as exc:
        return exc
    return None


def list_trades(driver: Driver, cid: str) -> Steps[None]:
    """An order ended with fills inferred from its figures: its trades may be listed now.
    One listing, no waiting: every recovery asks again."""
    view = yield Look(cid)
    yield from driver.settle_ledger(view, attempts=1)


def conclude(driver: Driver, book: Orders, found: Survey, in_doubt: Iterable[OrderInDoubt],
             prefix: str, adopt: bool) -> Steps[Reconciled]:
    """The orphans searched for (and adopted), once every order is settled."""
    orphans = yield from _orphans(driver, book, prefix, set(found.symbols))
    adopted: list[str] = []
    if adopt:
        for seen in orphans:
            adopted.append((yield from _adopt(driver, book, seen)))
    return Reconciled(len(found.unfinished), tuple(in_doubt), tuple(orphans), tuple(adopted))


def _open_orders(driver: Driver, symbols: set[str]) -> Steps[dict[str, ExchangeOrder]]:
    """Every open order of these markets, in one call per market rather than one per order
    (rate limits). Unreachable: empty, and each order is fetched by itself instead."""
    found: dict[str, ExchangeOrder] = {}
    for symbol in sorted(symbols):
        listing = yield from driver.ask(Request(Op.OPEN_ORDERS, symbol=symbol))
        for seen in listing or ():
            if seen.client_order_id:
                found[seen.client_order_id] = seen
    return found


def _orphans(driver: Driver, book: Orders, prefix: str,
             symbols: set[str]) -> Steps[list[ExchangeOrder]]:
    found: dict[str, ExchangeOrder] = {}
    requests = [Request(op, symbol=symbol) for symbol in sorted(symbols)
                for op in (Op.OPEN_ORDERS, Op.CLOSED_ORDERS)]
    if not driver.profile.listings_need_symbol:
        # One listing of every market's open orders: orphans in markets the journal never
        # traded too.
        requests.append(Request(Op.OPEN_ORDERS))
    for request in requests:
        listing = yield from driver.ask(request)
        for seen in listing or ():
            cid = seen.client_order_id
            if not (cid and cid.startswith(prefix)) or (
                    seen.id is not None and book.knows_exchange_order(cid, seen.id)):
                continue
            mine = book.get(cid) if cid in book else None
            if mine is not None and mine.exchange_order_id is None and not mine.is_terminal:
                continue  # our order in doubt, showing up: settled, not an orphan
            found[seen.id or cid] = seen
    # Listed without an exchange id (an odd answer), an order is no evidence of a second
    # one under a client order id the journal holds or a listing showed with an id:
    # adopted, it would be journaled as "CID~None", and again at the next recovery.
    named = {o.client_order_id for o in found.values() if o.id is not None}
    return [o for o in found.values()
            if o.id is not None or not (o.client_order_id in book or o.client_order_id in named)]


def _adopt(driver: Driver, book: Orders, seen: ExchangeOrder) -> Steps[str]:
    """Journal an order found only on the exchange. A second exchange order under a client
    order id the journal holds is journaled under ``CID~EXCHANGE_ID``: the journal keys
    orders by client order id."""
    cid = seen.client_order_id
    assert cid is not None  # an orphan is listed under our prefix (_orphans)
    journal_id = cid if cid not in book else f"{cid}~{seen.id}"
    try:
        spec = OrderSpec(journal_id, seen.symbol or "", seen.side or "", seen.type or "limit",
                         seen.amount if seen.amount is not None else 0, seen.price)
    except InvalidInput as exc:
        raise InvalidInput(f"cannot adopt exchange order {seen.id}: {exc}") from None
    yield Open(spec)
    rows: tuple[Event, ...] = (Submit(),)
    if seen.id is not None:
        rows += (Acknowledge(seen.id),)
    view = yield Record(journal_id, rows)
    yield from driver.observe(view, seen)
    return journal_id
