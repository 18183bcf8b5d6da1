"""How the paper venue takes a request, in the manners of the exchange it imitates: a new
order checked as that exchange checks it, in its order, then placed; a lookup or a listing
that sees only what the exchange would show (a new order stays hidden for its visibility
lag). Functions of the venue's state (_paper_store.py), its manners and its clock; the call
around them (latency, faults, saving) and the answer's ccxt shape are _paper.py's.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import ccxt

from ..core._clock import Clock
from ._paper_ccxt import binance_error, check_request, raise_answer
from ._paper_manners import Answer, VenueManners
from ._paper_records import MarketSpec, PaperOrder, ms
from ._paper_store import VenueState


def market(state: VenueState, symbol: str) -> MarketSpec:
    """``symbol``'s spec; ccxt.BadSymbol if the venue has no such market."""
    spec = state.specs.get(symbol)
    if spec is None:
        raise ccxt.BadSymbol(f"paper does not have market symbol {symbol}")
    return spec


def place(state: VenueState, manners: VenueManners, clock: Clock, symbol: str, type: str,
          side: str, amount: Any, price: Any, params: Mapping[str, Any]) -> PaperOrder:
    """Validate as a venue would, in its order, then place."""
    spec = market(state, symbol)
    qty, limit, reference = check_request(spec, type, side, amount, price,
                                          state.quotes(symbol))
    expire_after = params.get("expireAfterSeconds")
    if expire_after is not None:
        expire_after = float(expire_after)
        if not expire_after > 0:
            raise ccxt.InvalidOrder(binance_error(-1100, "Illegal expireAfterSeconds."))
    cid = params.get("clientOrderId")
    if cid is None:
        cid = state.new_client_id()
    elif state.client_id_in_use(str(cid)) or (
            manners.unique_forever and str(cid) in state.by_client):
        # Like Binance: refused only while an order with this id is open. A client id
        # whose order has ended can be used again, so a blind re-send after a lost answer
        # *would* place a second order: this venue does not hide that bug.
        raise_answer(manners.duplicate)
    currency, hold = state.hold_for(side, spec, qty, reference)
    if state.free.get(currency, Decimal(0)) < hold:
        raise ccxt.InsufficientFunds(
            binance_error(-2010, "Account has insufficient balance for requested action."))
    return state.place(spec, str(cid), type, side, qty, limit, expire_after, clock.now())


def visible(order: PaperOrder, manners: VenueManners, clock: Clock) -> bool:
    """Whether lookups can see the order yet (the imitated exchange's query lag)."""
    return order.created + ms(manners.visibility_lag) <= ms(clock.now())


def find(state: VenueState, manners: VenueManners, clock: Clock, id: str | None,
         symbol: str | None, params: Mapping[str, Any] | None,
         unknown: Answer) -> PaperOrder:
    """The order by ``id``, or with an empty id by ``params["clientOrderId"]``; ``unknown``
    raised if there is none the exchange would show (on ``symbol``, when given)."""
    if symbol is not None:
        market(state, symbol)
    order = None
    if id:
        order = state.orders.get(str(id))
    elif (cid := (params or {}).get("clientOrderId")) is not None:
        oid = state.by_client.get(str(cid))
        order = None if oid is None else state.orders[oid]
    if (order is None or (symbol is not None and order.symbol != symbol)
            or not visible(order, manners, clock)):
        raise_answer(unknown)
    return order


def listed(state: VenueState, manners: VenueManners, clock: Clock, symbol: str | None,
           open_: bool | None) -> list[PaperOrder]:
    """Visible orders, oldest first: open ones, closed ones (filled only where the manners
    say so), or (``open_`` None) every one."""
    if symbol is not None:
        market(state, symbol)

    def shown(o: PaperOrder) -> bool:
        if open_ is None:
            return True
        if open_:
            return o.status == "open"
        return o.status != "open" and (o.status == "closed"
                                       or not manners.closed_lists_filled_only)

    return [o for o in state.orders.values()
            if shown(o) and (symbol is None or o.symbol == symbol)
            and visible(o, manners, clock)]
