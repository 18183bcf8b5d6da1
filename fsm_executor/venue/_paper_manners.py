"""How unkind the paper venue is: the manners of the exchange it imitates, as data.

A venue kinder than the real exchange hides exactly the bugs that lose money (a blind
re-send that places twice, a not-found taken as a verdict, a fee counted once). Each profile
reproduces what its exchange does, as ccxt reports it:

- ``visibility_lag``: a new order is invisible to lookups, listings and cancels for this
  long (Binance's query path is asynchronous: -2013 "Order does not exist." for an order it
  holds).
- ``trade_lag``: a trade shows in ``fetch_my_trades`` only this long after it happened,
  while the order's cumulative ``filled`` already counts it.
- ``order_has_trades`` / ``order_has_fee``: whether an order answer carries its trades and
  its fee (Binance's GET /api/v3/order carries neither; its FULL create answer carries the
  fills of the moment).
- ``unique_forever``: a reused client order id is refused forever, not only while its order
  is open (Bybit) - the one case where a re-send after a lost answer is safe.
- ``duplicate`` / ``not_found`` / ``cancel_unknown``: the error each situation raises: the
  ccxt class ccxt's own ``exceptions`` table maps the exchange's answer to, and the body.
- ``cancel_reply_own_client_id``: a cancel's answer carries the *cancel request's* client
  id where ccxt reads ``clientOrderId`` (Binance: the order's is in ``origClientOrderId``).
- ``closed_lists_filled_only``: ``fetch_closed_orders`` lists filled orders only, not the
  cancelled or expired ones (ccxt's binance.py filters its allOrders listing on "closed").
- ``trade_ids``: whether trades are listed with an id. Some exchanges list fills without
  one, and ccxt's ``id`` is then None: trades can only be told apart by their figures.
  None of the three profiles does it; ``PaperExchange(trade_ids=False)`` turns it on.
"""

from __future__ import annotations

import json
from typing import Final

import attrs


@attrs.frozen
class Answer:
    """An error the venue raises: a ccxt class name and the body it carries."""

    ccxt_class: str
    body: str

    @classmethod
    def binance(cls, ccxt_class: str, code: int, msg: str) -> Answer:
        return cls(ccxt_class, json.dumps({"code": code, "msg": msg}, separators=(",", ":")))

    @classmethod
    def okx(cls, ccxt_class: str, code: str, msg: str) -> Answer:
        return cls(ccxt_class, json.dumps(
            {"code": "1", "data": [{"sCode": code, "sMsg": msg}], "msg": ""},
            separators=(",", ":")))

    @classmethod
    def bybit(cls, ccxt_class: str, code: int, msg: str) -> Answer:
        return cls(ccxt_class, json.dumps({"retCode": code, "retMsg": msg},
                                          separators=(",", ":")))


@attrs.frozen
class VenueManners:
    #: The ccxt id of the exchange imitated: the executor reads that exchange's profile.
    imitates: str
    visibility_lag: float
    trade_lag: float
    order_has_trades: bool
    order_has_fee: bool
    unique_forever: bool
    duplicate: Answer
    not_found: Answer
    cancel_unknown: Answer
    cancel_reply_own_client_id: bool
    closed_lists_filled_only: bool = False
    trade_ids: bool = True


MANNERS: Final[dict[str, VenueManners]] = {m.imitates: m for m in (
    # ccxt/binance.py: -2013 and -2011 are OrderNotFound; -2010 is InvalidOrder, with the
    # message saying which of its meanings it is ("Duplicate order sent.").
    VenueManners(
        imitates="binance", visibility_lag=5.0, trade_lag=2.0, order_has_trades=False,
        order_has_fee=False, unique_forever=False,
        duplicate=Answer.binance("InvalidOrder", -2010, "Duplicate order sent."),
        not_found=Answer.binance("OrderNotFound", -2013, "Order does not exist."),
        cancel_unknown=Answer.binance("OrderNotFound", -2011, "Unknown order sent."),
        cancel_reply_own_client_id=True, closed_lists_filled_only=True,
    ),
    # ccxt/okx.py: 51016 "Client order ID already exists." is InvalidOrder (unique among
    # pending orders only), 51603 "Order does not exist" OrderNotFound on a query, 51400 on
    # a cancel (also for a filled or cancelled order); an order answer carries its fee but
    # no trades.
    VenueManners(
        imitates="okx", visibility_lag=1.0, trade_lag=1.0, order_has_trades=False,
        order_has_fee=True, unique_forever=False,
        duplicate=Answer.okx("InvalidOrder", "51016", "Client order ID already exists."),
        not_found=Answer.okx("OrderNotFound", "51603", "Order does not exist"),
        cancel_unknown=Answer.okx("OrderNotFound", "51400",
                                  "Order cancellation failed as the order has been filled, "
                                  "canceled or does not exist"),
        cancel_reply_own_client_id=False,
    ),
    # ccxt/bybit.py: a reused orderLinkId is refused forever, 170141 "Duplicate
    # clientOrderId" as InvalidOrder; 170213 "Order does not exist." OrderNotFound.
    VenueManners(
        imitates="bybit", visibility_lag=1.0, trade_lag=1.0, order_has_trades=False,
        order_has_fee=True, unique_forever=True,
        duplicate=Answer.bybit("InvalidOrder", 170141, "Duplicate clientOrderId."),
        not_found=Answer.bybit("OrderNotFound", 170213, "Order does not exist."),
        cancel_unknown=Answer.bybit("OrderNotFound", 170213, "Order does not exist."),
        cancel_reply_own_client_id=False,
    ),
)}

DEFAULT_MANNERS: Final = "binance"


def choose_manners(imitate: str | VenueManners, visibility_lag: float | None = None,
                   trade_lag: float | None = None, trade_ids: bool | None = None) -> VenueManners:
    """The manners ``imitate`` names (or is), with the lags and ``trade_ids`` given (not
    None) overriding its own; ValueError for an unknown name or a negative lag."""
    if isinstance(imitate, VenueManners):
        manners = imitate
    elif imitate in MANNERS:
        manners = MANNERS[imitate]
    else:
        raise ValueError(f"unknown manners {imitate!r}; valid: {', '.join(MANNERS)}")
    if visibility_lag is not None or trade_lag is not None or trade_ids is not None:
        manners = attrs.evolve(
            manners,
            visibility_lag=manners.visibility_lag if visibility_lag is None
            else float(visibility_lag),
            trade_lag=manners.trade_lag if trade_lag is None else float(trade_lag),
            trade_ids=manners.trade_ids if trade_ids is None else bool(trade_ids))
    if manners.visibility_lag < 0 or manners.trade_lag < 0:
        raise ValueError("visibility_lag and trade_lag must be >= 0")
    return manners
