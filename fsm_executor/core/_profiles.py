"""What each exchange does with a client order id, as data: one profile per exchange.

The decisions and the adapter read these instead of assuming one exchange's manners:

- ``uniqueness``: how long the exchange refuses a reused client order id. Only ``FOREVER``
  makes a re-send after a lost answer safe (a duplicate is refused or answered with the
  existing order, so at most one order can exist). Everywhere else a lost create is settled
  by lookups alone: a second placement could fill twice.
- ``visibility_grace_seconds``: how long a just-accepted order may be invisible to lookups
  (Binance answers -2013 "Order does not exist." for an order it holds). Not-found answers
  inside it say nothing.
- ``lookup_window_seconds``: how long an order that ended without fills can still be
  found. Until it has passed, an order presumed absent is still watched; afterwards a
  lookup can teach nothing more (a filled order stays visible: its trades do).
- ``lookup``: how to find an order by client order id: ``fetch_order`` with
  ``lookup_param`` (ccxt maps it to the exchange's field), or only the open and closed
  listings where ccxt's fetch_order ignores the client id.
- ``duplicate_answers``: how the exchange says "this client order id is taken". ccxt maps
  them to InvalidOrder, BadRequest or plain ExchangeError, never DuplicateOrderId; matched by
  ccxt class and code or message, they mean "it exists: look it up", never a reject. (The
  one ccxt class that says so, DuplicateOrderId, means it for every exchange: the error
  table gives it that kind.) Empty where the exchange refuses no reused id, or its answer
  is undocumented.

- ``unprocessed_answers``: answers to a create that the exchange documents as refusals
  before execution (Binance: HTTP 4XX, 429 and 418 among them, "the issue is on the
  sender's side"; only 5XX leaves the execution status unknown). Such a create is sent
  again after the cool-down: nothing exists to place twice. A refused timestamp among them
  (InvalidNonce) lets the adapter send a create once more right after resyncing the clock;
  where it is not listed, a create refused so is looked up, never sent again.

No exchange documents a not-found answer that means "ask again" other than the lag right
after placement, which ``visibility_grace_seconds`` covers: there is no such field.

No ccxt import here: the core reads profiles without paying for ccxt. tests/test_profiles.py
checks every class name against ccxt's tree and every param and code against the ccxt
exchange's source. Each entry says what in ccxt's file (4.5.90) and the exchange's documents
it rests on.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Final

import attrs


class Uniqueness(StrEnum):
    """How long an exchange refuses a reused client order id."""

    #: A reused client order id is refused (or answered with the existing order) forever.
    FOREVER = "forever"
    #: Refused only while an order with it is open: a re-send after a fill places again.
    OPEN = "open"
    #: Refused for a while after its order's creation.
    WINDOW = "window"
    #: Not enforced.
    NONE = "none"

    def value_text(self) -> str:
        """For sentences: "refuses a reused client order id ..."."""
        return {"forever": "forever", "open": "only while its order is open",
                "window": "only for a while", "none": "never"}[self.value]


class LookupBy(StrEnum):
    FETCH_ORDER = "fetch_order"
    LISTINGS = "listings"


@attrs.frozen
class ErrorAnswer:
    """An exchange answer, recognised by the ccxt class it arrives as (or an ancestor) and
    by a code or a message fragment of its text (both, when both are given)."""

    ccxt_class: str
    code: str = ""
    message: str = ""

    def matches(self, class_names: Iterable[str], text: str) -> bool:
        if self.ccxt_class not in class_names:
            return False
        if self.code and not _code_pattern(self.code).search(text):
            return False
        return not self.message or self.message.lower() in text.lower()


@functools.cache
def _code_pattern(code: str) -> re.Pattern[str]:
    """``code`` as a whole number in an answer's text. Compiled once: every error answer
    is matched against the profile's (Binance's not-found answers come at every poll
    inside its visibility lag)."""
    return re.compile(rf"(?<![\d-]){re.escape(code)}(?!\d)")


@attrs.frozen
class ExchangeProfile:
    """One exchange's manners with client order ids (see the module docstring)."""

    id: str
    #: The params key ccxt's create_order reads our client order id from.
    client_id_param: str
    client_id_max_length: int
    #: A regex every client order id must match in full.
    client_id_alphabet: str
    uniqueness: Uniqueness
    lookup: LookupBy
    #: The params key for a lookup by client order id (fetch_order's, or a listing's).
    lookup_param: str
    visibility_grace_seconds: float
    lookup_window_seconds: float
    duplicate_answers: tuple[ErrorAnswer, ...]
    #: fetch_open_orders without a symbol does not list every spot market's open orders
    #: (it refuses, or lists another market: Bybit's futures): recovery then looks for
    #: orphans market by market only.
    listings_need_symbol: bool
    unprocessed_answers: tuple[ErrorAnswer, ...] = ()
    #: What the exchange puts before our client order id when it reports it back.
    client_id_echo_prefix: str = ""
    #: Where each fact was checked (ccxt's file, the exchange's documentation).
    source: str = ""

    @property
    def resend_safe(self) -> bool:
        """Whether a re-send with the same client order id can never place a second order."""
        return self.uniqueness is Uniqueness.FOREVER

    def is_duplicate(self, class_names: Iterable[str], text: str) -> bool:
        names = tuple(class_names)
        return any(a.matches(names, text) for a in self.duplicate_answers)

    def is_unprocessed(self, class_names: Iterable[str], text: str) -> bool:
        names = tuple(class_names)
        return any(a.matches(names, text) for a in self.unprocessed_answers)

    def check_client_id(self, client_order_id: str) -> bool:
        return (len(client_order_id) <= self.client_id_max_length
                and re.fullmatch(self.client_id_alphabet, client_order_id) is not None)


_HOUR: Final = 3600.0
_DAY: Final = 24 * _HOUR
_ALNUM: Final = r"[A-Za-z0-9]+"
_ALNUM_DASH: Final = r"[A-Za-z0-9_-]+"
#: No exchange documents how long a just-accepted order may be invisible to lookups
#: (Binance and Bybit say only that processing is asynchronous): this is our margin.
_GRACE: Final = 30.0
_P = ExchangeProfile
_E = ErrorAnswer

#: Where an exchange documents no client-id rule (or part of one), its profile assumes
#: DEFAULT's: letters and digits, 32 characters (OKX's rule, the strictest documented one
#: that takes the configuration's default length).
#: A ccxt id without a profile of its own gets this: never re-send, trust no quick
#: not-found, watch a presumed-absent order for a day, list per symbol.
DEFAULT: Final = _P(
    id="default", client_id_param="clientOrderId", client_id_max_length=32,
    client_id_alphabet=_ALNUM, uniqueness=Uniqueness.NONE, lookup=LookupBy.FETCH_ORDER,
    lookup_param="clientOrderId", visibility_grace_seconds=60.0, lookup_window_seconds=_DAY,
    duplicate_answers=(), listings_need_symbol=True,
    source="conservative: assumes nothing an unknown exchange has not promised",
)

PROFILES: Final[dict[str, ExchangeProfile]] = {p.id: p for p in (
    _P(id="binance", client_id_param="clientOrderId", client_id_max_length=36,
       client_id_alphabet=_ALNUM_DASH, uniqueness=Uniqueness.OPEN,
       lookup=LookupBy.FETCH_ORDER, lookup_param="clientOrderId",
       visibility_grace_seconds=_GRACE, lookup_window_seconds=90 * _DAY,
       duplicate_answers=(_E("InvalidOrder", "-2010", "Duplicate order sent"),),
       listings_need_symbol=True,
       # ccxt raises DDoSProtection for HTTP 429 and 418 (with the status in the message);
       # its exceptions table maps -1003 alone (an answer of the websocket API) to
       # RateLimitExceeded. -1021 (HTTP 400, InvalidNonce in ccxt): the timestamp is
       # checked before the request is forwarded to the matching engine (rest-api.md,
       # "Timing security").
       unprocessed_answers=(_E("DDoSProtection", "429"), _E("DDoSProtection", "418"),
                            _E("RateLimitExceeded", "-1003"), _E("InvalidNonce", "-1021")),
       source="ccxt/binance.py: create_order sends clientOrderId as newClientOrderId, "
              "fetch_order sends it as origClientOrderId; exceptions: -2010 InvalidOrder "
              "(shared with insufficient balance: matched by message), -2013/-2011 "
              "OrderNotFound; fetch_closed_orders requires a symbol. Binance docs: a client "
              "id is unique among open orders; canceled or expired orders without fills "
              "are archived after 90 days; HTTP 4XX answers (429 and 418 included) are "
              "refusals, only 5XX leaves the execution status unknown "
              "(rest-api/http-return-codes); -1021 INVALID_TIMESTAMP is refused before "
              "the request reaches the matching engine (rest-api, timing security)."),
    _P(id="bybit", client_id_param="clientOrderId", client_id_max_length=36,
       client_id_alphabet=_ALNUM_DASH, uniqueness=Uniqueness.FOREVER,
       lookup=LookupBy.LISTINGS, lookup_param="orderLinkId",
       visibility_grace_seconds=_GRACE, lookup_window_seconds=_DAY,
       duplicate_answers=(_E("InvalidOrder", "110072"), _E("InvalidOrder", "170141")),
       listings_need_symbol=True,
       source="ccxt/bybit.py: clientOrderId is sent as orderLinkId; fetch_order ignores "
              "it (and needs acknowledged=True), fetch_open_orders filters by orderLinkId "
              "(realtime: open orders and the last 500 closed); without a symbol listings "
              "default to swap. 110072 and 170141 are InvalidOrder. Bybit docs: orderLinkId "
              "is always unique; canceled orders kept 24 h in history."),
    _P(id="okx", client_id_param="clientOrderId", client_id_max_length=32,
       client_id_alphabet=_ALNUM, uniqueness=Uniqueness.OPEN,
       lookup=LookupBy.FETCH_ORDER, lookup_param="clientOrderId",
       visibility_grace_seconds=_GRACE, lookup_window_seconds=2 * _HOUR,
       duplicate_answers=(_E("InvalidOrder", "51016"),),
       listings_need_symbol=False,
       source="ccxt/okx.py: clientOrderId is sent as clOrdId (create and fetch_order); "
              "51016 'Client order ID already exists.' is InvalidOrder; 51603 and 51400 "
              "OrderNotFound. OKX docs: clOrdId unique among pending orders; canceled "
              "orders without fills are kept 2 hours."),
    _P(id="kucoin", client_id_param="clientOrderId", client_id_max_length=40,
       client_id_alphabet=_ALNUM_DASH, uniqueness=Uniqueness.OPEN,
       lookup=LookupBy.FETCH_ORDER, lookup_param="clientOrderId",
       visibility_grace_seconds=_GRACE, lookup_window_seconds=2 * _DAY,
       duplicate_answers=(_E("BadRequest", "400100", "clientOidDuplicated"),
                          _E("InvalidOrder", "126044"), _E("InvalidOrder", "126033")),
       listings_need_symbol=True,
       source="ccxt/kucoin.py: clientOrderId is sent as clientOid; fetch_order by client "
              "id needs a symbol (HF accounts); 400100 is BadRequest (shared: matched by "
              "message), 126044 and 126033 InvalidOrder; an answer with data null parses "
              "to an order without id (treated as odd, not as found). KuCoin docs ask for "
              "unique ids without a scope (taken as open orders); canceled orders kept "
              "2-3 days."),
    _P(id="gate", client_id_param="clientOrderId", client_id_max_length=28,
       # ccxt adds Gate's "t-" only to ids that do not start with "t": such ids are refused.
       client_id_alphabet=r"(?!t)[0-9A-Za-z_.-]+", uniqueness=Uniqueness.NONE,
       lookup=LookupBy.FETCH_ORDER, lookup_param="clientOrderId",
       visibility_grace_seconds=_GRACE, lookup_window_seconds=_HOUR,
       duplicate_answers=(), listings_need_symbol=False,
       client_id_echo_prefix="t-",
       source="ccxt/gate.py: clientOrderId is sent as text, 't-' prefixed (and read back "
              "from text, prefix included); fetch_order "
              "takes it in place of the id. Gate does not enforce unique text (the later "
              "order wins); lookups by text work only while pending, or within an hour of "
              "completion."),
    _P(id="kraken", client_id_param="clientOrderId", client_id_max_length=18,
       client_id_alphabet=_ALNUM_DASH, uniqueness=Uniqueness.OPEN,
       lookup=LookupBy.LISTINGS, lookup_param="clientOrderId",
       visibility_grace_seconds=_GRACE, lookup_window_seconds=_DAY,
       duplicate_answers=(), listings_need_symbol=False,
       source="ccxt/kraken.py: clientOrderId is sent as cl_ord_id (free text, 18 "
              "characters); fetch_order maps it to userref and still needs a txid, so "
              "lookups use fetch_open_orders/fetch_closed_orders, which send it as "
              "cl_ord_id. Kraken's duplicate answer is undocumented."),
    _P(id="coinbase", client_id_param="client_order_id", client_id_max_length=32,
       client_id_alphabet=_ALNUM, uniqueness=Uniqueness.FOREVER,
       lookup=LookupBy.LISTINGS, lookup_param="",
       visibility_grace_seconds=_GRACE, lookup_window_seconds=_DAY,
       duplicate_answers=(), listings_need_symbol=False,
       source="ccxt/coinbase.py: the unified clientOrderId is replaced by ccxt's own "
              "ccxt-<uuid>, only client_order_id gets through; fetch_order and the listings "
              "take no client id (matched locally). Coinbase answers a reused "
              "client_order_id with the existing order."),
    _P(id="bitget", client_id_param="clientOrderId", client_id_max_length=32,
       client_id_alphabet=_ALNUM, uniqueness=Uniqueness.WINDOW,
       lookup=LookupBy.FETCH_ORDER, lookup_param="clientOrderId",
       visibility_grace_seconds=_GRACE, lookup_window_seconds=90 * _DAY,
       duplicate_answers=(_E("ExchangeError", "43118"), _E("ExchangeError", "45034")),
       listings_need_symbol=False,
       source="ccxt/bitget.py: clientOrderId is sent as clientOid, fetch_order honours it "
              "(with a symbol and id ''); 43118 'clientOrderId duplicate' is not mapped "
              "(ExchangeError). Bitget docs (place-order): clientOid's idempotency time is 6 "
              "hours, only while the order is unfilled."),
    # cid is an int45: 13 digits are always one (14 may pass 2**45).
    _P(id="bitfinex", client_id_param="clientOrderId", client_id_max_length=13,
       client_id_alphabet=r"[0-9]+", uniqueness=Uniqueness.NONE,
       lookup=LookupBy.LISTINGS, lookup_param="cid",
       visibility_grace_seconds=_GRACE, lookup_window_seconds=14 * _DAY,
       duplicate_answers=(), listings_need_symbol=False,
       source="ccxt/bitfinex.py: clientOrderId is sent as cid, an integer; fetch_order "
              "sees active orders only and answers an unknown id with an empty order. "
              "Bitfinex: cid 'unique in the day (UTC) (not enforced)'; history 2 weeks."),
    _P(id="htx", client_id_param="clientOrderId", client_id_max_length=64,
       client_id_alphabet=_ALNUM, uniqueness=Uniqueness.WINDOW,
       lookup=LookupBy.FETCH_ORDER, lookup_param="clientOrderId",
       visibility_grace_seconds=_GRACE, lookup_window_seconds=2 * _HOUR,
       duplicate_answers=(_E("ExchangeError", "", "invalid-client-order-id"),),
       listings_need_symbol=False,
       source="ccxt/htx.py: clientOrderId is sent as client-order-id (unique within 8 "
              "or 24 hours, the docs disagree); fetch_order honours it within 8 hours; "
              "canceled API orders stop being queryable after 2 hours; "
              "fetch_closed_orders needs a symbol, fetch_open_orders lists every spot "
              "market's (openOrders by account-id)."),
)}


def profile_for(exchange: Any) -> ExchangeProfile:
    """The profile of a ccxt exchange object (or a venue imitating one, via ``imitates``);
    the conservative DEFAULT for any other id."""
    key = getattr(exchange, "imitates", None) or getattr(exchange, "id", None)
    return PROFILES.get(str(key), DEFAULT)


def _duration(seconds: float) -> str:
    for unit, size in (("d", _DAY), ("h", _HOUR), ("s", 1.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def markdown_table() -> str:
    """The profiles as the README shows them (a test keeps the README in step)."""
    lines = ["| exchange | a reused client id is refused | lost create re-sent | lookup by "
             "client id | grace | lookup window |",
             "|---|---|---|---|---|---|"]
    for p in (*PROFILES.values(), DEFAULT):
        lookup = (f"`fetch_order` (`{p.lookup_param}`)" if p.lookup is LookupBy.FETCH_ORDER
                  else "open and closed listings")
        lines.append(f"| {p.id} | {p.uniqueness.value_text()} | "
                     f"{'yes, same id' if p.resend_safe else 'never: lookups only'} | "
                     f"{lookup} | {_duration(p.visibility_grace_seconds)} | "
                     f"{_duration(p.lookup_window_seconds)} |")
    return "\n".join(lines)
