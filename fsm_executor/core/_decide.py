"""Decisions without I/O: given an order and what the exchange said, what happens next.

The drivers (the sync TradeExecutor now, an asyncio one later) do the I/O around these
functions; tests drive them directly with generated exchange answers.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import attrs

from ._answers import ExchangeOrder, Kind, MarketRules
from ._config import ExecutionConfig
from ._events import (
    Acknowledge,
    Cancel,
    DeclareAbsent,
    Event,
    Expire,
    LoseAnswer,
    Note,
    PresumeAbsent,
    Reject,
    Resubmit,
)
from ._exceptions import ExchangeFailure, InvalidInput
from ._fill import Fill
from ._ledger import Figures, reconcile
from ._model import Order, OrderSpec, OrderType, Side
from ._profiles import ExchangeProfile
from ._signal import Signal
from ._states import IN_DOUBT, State
from ._values import LEDGER

_ALPHABET = string.digits + string.ascii_lowercase


def _base36(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
    return "".join(reversed(out))


#: Random base-36 characters every client order id keeps, whatever the exchange's length
#: limit: 36**5 (60 million) per millisecond stamp. Kraken's 18 characters leave exactly
#: this much after the default prefix.
MIN_ENTROPY = 5
_STAMP = 9


def new_client_order_id(config: ExecutionConfig, now: float, rng: random.Random,
                        max_length: int | None = None) -> str:
    """Prefix + milliseconds (base 36) + random: unique across restarts and processes,
    alphanumeric (every exchange accepts it), within the configured length and the
    exchange's (``max_length``, from its profile). InvalidInput when the prefix leaves
    fewer than MIN_ENTROPY random characters."""
    limit = config.client_order_id_max_length
    if max_length is not None:
        limit = min(limit, max_length)
    room = limit - len(config.client_order_id_prefix) - _STAMP
    if room < MIN_ENTROPY:
        raise InvalidInput(
            f"client_order_id_prefix {config.client_order_id_prefix!r} is too long for "
            f"client order ids of at most {limit} characters: ids need {_STAMP} characters "
            f"of time and {MIN_ENTROPY} random ones (a prefix of at most "
            f"{limit - _STAMP - MIN_ENTROPY} characters)")
    stamp = _base36(int(now * 1000), _STAMP)
    entropy = _base36(rng.getrandbits(128), room)[:room]
    return f"{config.client_order_id_prefix}{stamp}{entropy}"


@attrs.frozen
class Refusal:
    """Why a signal cannot be placed; nothing is sent."""

    reason: str


def plan_order(
    signal: Signal,
    client_order_id: str,
    config: ExecutionConfig,
    rules: MarketRules,
    best_price: Decimal | None,
    to_amount: Callable[[Decimal], Decimal],
    to_price: Callable[[Decimal], Decimal],
) -> tuple[OrderSpec, Refusal | None]:
    """The order to place for ``signal``, and the refusal if it must not be placed.

    ``to_amount``/``to_price`` are the exchange's precision rules (ccxt's, no I/O).
    """
    order_type = signal.order_type or config.order_type
    tolerance = config.slippage
    reference = signal.price if signal.price is not None else best_price

    def spec(amount: Decimal, price: Decimal | None) -> OrderSpec:
        return OrderSpec(client_order_id, signal.symbol, signal.side, order_type,
                         amount, price if price is not None else reference, signal.id)

    def refuse(reason: str, amount: Decimal = signal.amount,
               price: Decimal | None = None) -> tuple[OrderSpec, Refusal]:
        return spec(amount, price), Refusal(reason)

    if not rules.active:
        return refuse(f"market {signal.symbol} is not active")
    if reference is None:
        return refuse("no reference price: the signal has none and the exchange gave no quote")
    try:
        amount = to_amount(signal.amount)
    except (InvalidInput, ExchangeFailure) as exc:
        return refuse(f"amount {signal.amount} is below the market's precision ({exc})")
    if amount <= 0:
        return refuse(f"amount {signal.amount} rounds to 0 at the market's precision")
    if rules.min_amount is not None and amount < rules.min_amount:
        return refuse(f"amount {amount} is below the minimum {rules.min_amount}", amount)
    if rules.max_amount is not None and amount > rules.max_amount:
        return refuse(f"amount {amount} is above the maximum {rules.max_amount}", amount)

    price: Decimal | None = None
    if order_type is OrderType.LIMIT:
        price = limit_price(signal.side, reference, tolerance, rules.price_tick, to_price)
        if price is None or price <= 0:
            return refuse("no valid limit price within the slippage tolerance", amount)
        if rules.min_price is not None and price < rules.min_price:
            return refuse(f"price {price} is below the minimum {rules.min_price}", amount, price)
        if rules.max_price is not None and price > rules.max_price:
            return refuse(f"price {price} is above the maximum {rules.max_price}", amount, price)
        cost_price = price
    else:
        if best_price is None:
            return refuse("no current price to check a market order's slippage against", amount)
        drift = abs(best_price - reference) / reference
        if drift > tolerance:
            return refuse(
                f"market {signal.side.value} refused: best price {best_price} is "
                f"{drift * 100:.4f}% from the reference {reference}, over the "
                f"{config.slippage_tolerance_pct}% tolerance", amount)
        cost_price = best_price
    cost = amount * cost_price
    if rules.min_cost is not None and cost < rules.min_cost:
        return refuse(f"cost {cost} is below the minimum {rules.min_cost}", amount, price)
    return spec(amount, price), None


def limit_price(side: Side, reference: Decimal, tolerance: Decimal, tick: Decimal | None,
                to_price: Callable[[Decimal], Decimal]) -> Decimal | None:
    """The most aggressive limit within the tolerance, on the exchange's price grid: a buy
    pays at most reference * (1 + tolerance), a sell takes at least reference * (1 - tolerance)."""
    bound = reference * (1 + tolerance) if side is Side.BUY else reference * (1 - tolerance)
    if tick is not None and tick > 0:
        rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
        return (bound / tick).to_integral_value(rounding=rounding) * tick
    price = to_price(bound)
    return price if (price <= bound if side is Side.BUY else price >= bound) else None


def backoff(attempt: int, kind: str, config: ExecutionConfig, rng: random.Random) -> float:
    """Exponential, capped, jittered; rate limits wait at least the cool-down."""
    delay = min(config.retry_delay_seconds * (2 ** attempt), config.backoff_cap_seconds)
    if kind == Kind.RATE_LIMITED:
        delay = max(delay, config.rate_limit_cooldown_seconds)
    if config.jitter:
        delay *= 1 + rng.uniform(-config.jitter, config.jitter)
    return max(float(delay), 0.0)


def is_retryable(failure: ExchangeFailure) -> bool:
    return failure.kind in (Kind.TRANSIENT, Kind.RATE_LIMITED)


def after_create_failure(failure: ExchangeFailure, may_retry: bool) -> Event | None:
    """What a failed create means; None: send it again (``may_retry``: the budget allows).

    An answer the exchange documents as a refusal before execution (a rate limit, on
    Binance) placed nothing: it is sent again. A transient error leaves the outcome unknown
    (the order may be on the book); a duplicate-id answer says it *is* there: both are
    settled by a lookup. Only a definitive no fails the order."""
    if failure.unprocessed and is_retryable(failure):
        if may_retry:
            return None
        return Reject(f"refused before execution, and the retries are used up: {failure}")
    if failure.kind in (Kind.TRANSIENT, Kind.RATE_LIMITED, Kind.DUPLICATE, Kind.NOT_FOUND):
        return LoseAnswer(str(failure))
    return Reject(str(failure), fatal=failure.kind == Kind.FATAL)


@attrs.frozen
class NotFound:
    """The not-found answers to lookups by client order id since the placement last left."""

    count: int
    #: When the placement last left (or, after a restart, the earliest time it can have).
    sent_at: float


def may_be_invisible(sent_at: float, now: float, profile: ExchangeProfile) -> bool:
    """Whether an order sent at ``sent_at`` may still be invisible to the exchange's
    lookups (its visibility lag after placement): a not-found then is no evidence."""
    return now - sent_at < profile.visibility_grace_seconds


def after_not_found(order: Order, evidence: NotFound, profile: ExchangeProfile,
                    config: ExecutionConfig, now: float,
                    may_resend: bool) -> tuple[Event | None, float]:
    """What "no such order" means for an order in doubt, and how long to wait before the
    next lookup is worth making (0: none is due).

    Not-found is evidence, not a verdict. Inside the exchange's visibility grace period it
    says nothing; past it (and after ``not_found_confirmations`` answers) the order is
    presumed absent and still watched. A presumed-absent order is re-sent, with the same
    client order id, only where the exchange refuses a reused id forever (``may_resend``:
    the driver's budget allows it); elsewhere it fails only once the exchange's lookup
    window has passed, because until then it could still show up.
    """
    waited = now - evidence.sent_at
    grace = profile.visibility_grace_seconds
    window = profile.lookup_window_seconds
    if order.state is State.SUBMIT_UNKNOWN:
        if evidence.count < config.not_found_confirmations:
            return None, config.not_found_interval_seconds
        if may_be_invisible(evidence.sent_at, now, profile):
            return None, max(grace - waited, config.not_found_interval_seconds)
        return PresumeAbsent(
            f"not found by client order id: {evidence.count} answer(s) over {waited:g}s, "
            f"past {profile.id}'s visibility grace of {grace:g}s; watched until its lookup "
            f"window of {window:g}s has passed"), 0.0
    if order.state is State.PRESUMED_ABSENT:
        if profile.resend_safe and may_resend:
            return Resubmit(), 0.0
        if waited >= window:
            return DeclareAbsent(
                f"never placed: not found by client order id {waited:g}s after it was sent, "
                f"past {profile.id}'s lookup window of {window:g}s "
                f"({evidence.count} not-found answer(s) in this run)"), 0.0
    return None, 0.0


_DONE_STATUSES = {"closed", "canceled", "cancelled", "expired", "rejected"}


def observe(order: Order, seen: ExchangeOrder, trades: Sequence[Fill] | None = None) -> list[Event]:
    """The events that bring ``order`` in line with what the exchange reported.

    The ledger (_ledger.py) takes the exchange's trades (``trades``, and any in the answer)
    within its cumulative ``filled`` and infers what they do not account for yet. Odd
    answers (status missing, filled going backwards, more filled than the amount) become
    notes: the journal says what was seen, and nothing is assumed.
    """
    events: list[Event] = []
    status = (seen.status or "").lower() or None
    state = order.state
    listed = [*seen.trades, *(trades or ())]
    if order.is_terminal:
        # Terminal states absorb: an exchange that disagrees afterwards is recorded, not
        # followed. Its trades still settle the ledger within the filled the order ended with.
        agrees = seen.filled is None or seen.filled == order.filled
        if not agrees:
            events.append(Note("after_end", f"exchange reports status {seen.status!r} filled "
                               f"{seen.filled} for an order already {state.value} with "
                               f"filled {order.filled}"))
        return events + reconcile(order, _figures(order, seen, order.filled, agrees), listed)
    if state in IN_DOUBT:
        if status == "rejected":
            return [Reject(f"the exchange rejected the order (status {seen.status!r})")]
        if seen.id is None:
            return [Note("no_order_id", f"the exchange answered without an order id: {seen!r}")]
        events.append(Acknowledge(seen.id))
    elif seen.id is not None and order.exchange_order_id not in (None, seen.id):
        return [Note("id_mismatch", f"exchange reports id {seen.id} for an order it "
                     f"acknowledged as {order.exchange_order_id}")]

    filled = order.filled
    target = seen.filled
    if target is None and status == "closed":
        # ccxt's unified "closed" means fully filled; say that it was inferred.
        events.append(Note("filled_inferred", "status closed without a filled figure"))
        target = seen.amount if seen.amount is not None else order.amount
    if target is None:
        # No cumulative figure: the listed trades say how much. An inferred fill stands for
        # trades not listed yet, so they account for it first: added on top of it, they
        # could make an order filled that the exchange never said was.
        target = Decimal(0)
        for fill in order.fills.values():
            if not fill.inferred:
                target = LEDGER.add(target, fill.amount)
        for t in {t.trade_id: t for t in listed if t.trade_id not in order.fills}.values():
            target = LEDGER.add(target, t.amount)
        target = max(target, filled)
    exact = target == seen.filled
    if target > order.amount:
        events.append(Note("overfill", f"exchange reports filled {target} of an order of "
                           f"{order.amount}; recorded up to the amount"))
        target, exact = order.amount, False
    if target < filled:
        events.append(Note("filled_backwards", f"exchange reports filled {target}, below the "
                           f"{filled} already recorded: kept {filled}"))
        target, exact = filled, False
    events += reconcile(order, _figures(order, seen, target, exact), listed)
    filled = target
    if status is None:
        events.append(Note("status_missing", "the exchange reported no status"))
    elif filled == order.amount:
        # The fills complete the order, which the fills themselves take to filled; an end
        # status other than closed (a cancel that lost the race) is only recorded.
        if status not in ("closed", "open", "canceling"):
            events.append(Note("complete_with_status", f"fully filled, status {seen.status!r}"))
    elif status in ("canceled", "cancelled"):
        how = f"filled {filled} of {order.amount}"
        if state is State.PENDING_CANCEL and order.reason:
            events.append(Cancel(f"{order.reason} (confirmed by the exchange, {how})"))
        else:
            events.append(Cancel(f"cancelled on the exchange ({how})"))
    elif status == "expired":
        events.append(Expire(f"expired on the exchange (filled {filled} of {order.amount})"))
    elif status == "rejected":
        events.append(Cancel("the exchange rejected the order after acknowledging it"))
    elif status == "closed":  # short of the amount: a full fill took the branch above
        events.append(Note("closed_short", f"status closed with filled {filled} of "
                           f"{order.amount}; still watched"))
    elif status not in _DONE_STATUSES | {"open", "canceling", "new", "partially_filled"}:
        events.append(Note("unknown_status", f"status {seen.status!r}"))
    return events


def _figures(order: Order, seen: ExchangeOrder, filled: Decimal, exact: bool) -> Figures:
    """The totals the ledger must reach; the answer's cost and fees only where its filled
    is the one used (``exact``): they describe that figure, not another."""
    return Figures(
        filled,
        seen.average or order.price or Decimal(1),
        cost=seen.cost if exact else None,
        fees=seen.fees if exact else None,
        key=seen.id or order.exchange_order_id or order.client_order_id,
    )
