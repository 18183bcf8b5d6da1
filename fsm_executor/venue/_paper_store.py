"""The paper venue's rules (``VenueState``): holds, fills, price steps and expiry, applied to
its records (_paper_records.py). The file that keeps them is _paper_file.py.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any, Final

from ._paper_faults import rng_state
from ._paper_fees import FeeSchedule
from ._paper_records import (
    MarketSpec,
    OrderTruth,
    PaperOrder,
    PaperTrade,
    SavedState,
    from_json,
    ms,
    to_json,
    to_tick,
)

FIRST_ORDER_ID: Final = 1_000_001
#: A jump in time longer than this many steps skips the earliest ones: it must not hang.
MAX_STEPS: Final = 100_000
_HALF_SPREAD: Final = Decimal("0.0001")
_FRACTIONS: Final = (25, 50, 100)



class VenueState:
    """Everything the venue knows and the rules that change it: no ccxt shapes, no I/O.

    Callers validate first; the methods here assume a valid request and keep the books
    balanced: a buy holds quote (fees at the dearer rate included) from creation, a sell
    holds base, each trade spends from the hold (a fee in another currency, or a rebate,
    moves that currency's free balance), and a finished order gives back what is left.
    """

    def __init__(self, *, seed: int, specs: Sequence[MarketSpec],
                 balances: Mapping[str, Decimal], fees: FeeSchedule, fill_probability: float,
                 step_seconds: float, volatility: float, origin: float) -> None:
        fees.check(specs)
        self.seed = seed
        self.fees = fees
        self.fill_probability = fill_probability
        self.step_seconds = step_seconds
        self.volatility = volatility
        self.specs = {s.symbol: s for s in specs}
        self.mids = {s.symbol: s.mid for s in specs}
        self._pairs = {(s.base, s.quote): s.symbol for s in specs}
        self.free = dict(balances)
        self.used = dict.fromkeys(self.free, Decimal(0))
        for s in specs:
            for cur in (s.base, s.quote):
                self.free.setdefault(cur, Decimal(0))
                self.used.setdefault(cur, Decimal(0))
        self.rng = random.Random(seed)
        self.orders: dict[str, PaperOrder] = {}
        #: The newest order of each client order id (what a lookup by client id finds).
        self.by_client: dict[str, str] = {}
        self.open: dict[str, None] = {}  # open order ids, in creation order
        self.trades: dict[str, PaperTrade] = {}
        self.next_order = FIRST_ORDER_ID
        self.next_trade = 1
        self.next_client = 1
        self.origin = origin  # the step grid: origin + k * step_seconds
        self.steps = 0
        self._dirty: dict[str, PaperOrder] = {}
        self._new_trades: list[PaperTrade] = []

    # -- prices ----------------------------------------------------------------------------

    def quotes(self, symbol: str) -> tuple[Decimal, Decimal]:
        """(bid, ask): one basis point either side of the mid, rounded outwards to the tick."""
        tick, mid = self.specs[symbol].price_tick, self.mids[symbol]
        bid = max(to_tick(mid * (1 - _HALF_SPREAD), tick, ROUND_FLOOR), tick)
        ask = max(to_tick(mid * (1 + _HALF_SPREAD), tick, ROUND_CEILING), bid + tick)
        return bid, ask

    def set_mid(self, symbol: str, mid: Decimal) -> None:
        tick = self.specs[symbol].price_tick
        self.mids[symbol] = max(to_tick(mid, tick, ROUND_HALF_EVEN), tick)

    def marketable(self, order: PaperOrder) -> bool:
        bid, ask = self.quotes(order.symbol)
        assert order.price is not None  # only limit orders rest
        return order.price >= ask if order.side == "buy" else order.price <= bid

    # -- orders ----------------------------------------------------------------------------

    def hold_for(self, side: str, spec: MarketSpec, amount: Decimal,
                 price: Decimal) -> tuple[str, Decimal]:
        """(currency, amount) an order must hold: quote with fees for a buy, base for a sell."""
        if side == "buy":
            return spec.quote, amount * price * (1 + self.fees.hold_rate)
        return spec.base, amount

    def client_id_in_use(self, client_order_id: str) -> bool:
        """Whether the newest order with this client order id is still open."""
        oid = self.by_client.get(client_order_id)
        return oid is not None and oid in self.open

    def new_client_id(self) -> str:
        while True:
            cid = f"paper-{self.next_client}"
            self.next_client += 1
            if cid not in self.by_client:
                return cid

    def place(self, spec: MarketSpec, client_order_id: str, type: str, side: str,
              amount: Decimal, limit: Decimal | None, expire_after: float | None,
              now: float) -> PaperOrder:
        """Create a validated, funded order and fill what fills at once."""
        bid, ask = self.quotes(spec.symbol)
        touch = ask if side == "buy" else bid
        currency, hold = self.hold_for(side, spec, amount, touch if limit is None else limit)
        self.free[currency] -= hold
        self.used[currency] += hold
        ts = ms(now)
        order = PaperOrder(
            str(self.next_order), client_order_id, spec.symbol, type, side, amount, limit, ts,
            reserved=hold, updated=ts,
            expires_at=None if expire_after is None else now + expire_after,
        )
        self.next_order += 1
        self.orders[order.id] = self._dirty[order.id] = order
        self.by_client[client_order_id] = order.id
        self.open[order.id] = None
        if limit is None:
            parts = self.rng.randint(1, 3)
            part = to_tick(amount / parts, spec.amount_tick, ROUND_FLOOR)
            sizes = [amount] if part == 0 else [part] * (parts - 1) + [amount - part * (parts - 1)]
            for size in sizes:
                self.trade(order, touch, size, ts, maker=False)
        elif self.marketable(order) and self.rng.random() < self.fill_probability:
            # Taker at the touch, not the limit: price improvement.
            self.trade(order, touch, self._fraction(order), ts, maker=False)
        return order

    def _fraction(self, order: PaperOrder) -> Decimal:
        """A seeded 25, 50 or 100% of what remains, down to the tick (all of it if that is 0)."""
        tick = self.specs[order.symbol].amount_tick
        part = to_tick(order.remaining * self.rng.choice(_FRACTIONS) / 100, tick, ROUND_FLOOR)
        return part if part > 0 else order.remaining

    def trade(self, order: PaperOrder, price: Decimal, amount: Decimal, ts: int,
              maker: bool) -> PaperTrade:
        spec = self.specs[order.symbol]
        cost = price * amount
        if order.side == "buy":
            self.used[spec.quote] -= cost
            order.reserved -= cost
            self.free[spec.base] += amount
        else:
            self.used[spec.base] -= amount
            order.reserved -= amount
            self.free[spec.quote] += cost
        currency, fee = self.fees.charge(spec, len(order.trade_ids), price, amount, maker,
                                         self.free, self._mid)
        if order.side == "buy" and currency == spec.quote and fee > 0:
            self.used[currency] -= fee  # out of the hold, which counted it
            order.reserved -= fee
        else:
            self.free[currency] -= fee  # a rebate is free at once, never held
        trade = PaperTrade(f"T{self.next_trade}", order.id, order.symbol, order.side, price,
                           amount, fee, ts, maker, currency)
        self.next_trade += 1
        self.trades[trade.id] = trade
        self._new_trades.append(trade)
        order.filled += amount
        order.cost += cost
        order.trade_ids.append(trade.id)
        order.last_trade = order.updated = ts
        self._dirty[order.id] = order
        if order.remaining == 0:
            self.finish(order, "closed", ts)
        return trade

    def _mid(self, base: str, quote: str) -> Decimal:
        return self.mids[self._pairs[base, quote]]

    def truth(self, order: PaperOrder) -> OrderTruth:
        return OrderTruth.of(order, (self.trades[t] for t in order.trade_ids))

    def finish(self, order: PaperOrder, status: str, ts: int) -> None:
        """End an open order and give back what it still holds."""
        currency = self.hold_for(order.side, self.specs[order.symbol], Decimal(0), Decimal(0))[0]
        self.used[currency] -= order.reserved
        self.free[currency] += order.reserved
        order.reserved = Decimal(0)
        order.status = status
        order.updated = ts
        del self.open[order.id]
        self._dirty[order.id] = order

    # -- time ------------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Play the market's steps up to ``now``, then expire what is due by ``now``."""
        due = math.floor((now - self.origin) / self.step_seconds) - self.steps
        if due > MAX_STEPS:
            self.steps += due - MAX_STEPS
            due = MAX_STEPS
        if due > 0 and self.volatility == 0 and not any(
                self.marketable(self.orders[oid]) for oid in self.open):
            # Nothing can move or fill: every step would draw nothing, so skip them all.
            self.steps += due
            due = 0
        for _ in range(due):
            self.steps += 1
            self._step(self.origin + self.steps * self.step_seconds)
        self._expire(now)

    def _step(self, t: float) -> None:
        self._expire(t)
        if self.volatility > 0:
            for symbol, mid in self.mids.items():
                move = Decimal(repr(self.rng.gauss(0.0, 1.0) * self.volatility))
                self.set_mid(symbol, mid + mid * move)
        ts = ms(t)
        for oid in list(self.open):
            order = self.orders[oid]
            if self.marketable(order) and self.rng.random() < self.fill_probability:
                assert order.price is not None
                self.trade(order, order.price, self._fraction(order), ts, maker=True)

    def _expire(self, t: float) -> None:
        for oid in list(self.open):
            order = self.orders[oid]
            if order.expires_at is not None and order.expires_at <= t:
                self.finish(order, "expired", ms(order.expires_at))

    # -- saving ----------------------------------------------------------------------------

    def take_changes(self) -> tuple[list[PaperOrder], list[PaperTrade]]:
        """Orders and trades changed since the last call."""
        changes = list(self._dirty.values()), self._new_trades
        self._dirty, self._new_trades = {}, []
        return changes

    def to_kv(self) -> dict[str, Any]:
        version, internal, gauss_next = self.rng.getstate()
        return {
            "config": {"seed": self.seed, **self.fees.to_config(),
                       "fill_probability": self.fill_probability,
                       "step_seconds": self.step_seconds, "volatility": self.volatility},
            "markets": [to_json(s) for s in self.specs.values()],
            "mids": {k: str(v) for k, v in self.mids.items()},
            "balances": {c: [str(self.free[c]), str(self.used[c])] for c in self.free},
            "counters": [self.next_order, self.next_trade, self.next_client],
            "grid": [self.origin, self.steps],
            "rng": [version, list(internal), gauss_next],
        }

    @classmethod
    def from_saved(cls, saved: SavedState) -> VenueState:
        kv, cfg = saved.kv, saved.kv["config"]
        state = cls(
            seed=cfg["seed"], specs=[from_json(MarketSpec, d) for d in kv["markets"]],
            balances={c: Decimal(f) for c, (f, _) in kv["balances"].items()},
            fees=FeeSchedule.from_config(cfg), fill_probability=cfg["fill_probability"],
            step_seconds=cfg["step_seconds"], volatility=cfg["volatility"],
            origin=kv["grid"][0],
        )
        state.used = {c: Decimal(u) for c, (_, u) in kv["balances"].items()}
        state.mids = {k: Decimal(v) for k, v in kv["mids"].items()}
        state.next_order, state.next_trade, state.next_client = kv["counters"]
        state.steps = kv["grid"][1]
        state.rng.setstate(rng_state(kv["rng"]))
        for order in saved.orders:
            state.orders[order.id] = order
            state.by_client[order.client_order_id] = order.id
            if order.status == "open":
                state.open[order.id] = None
        state.trades = {t.id: t for t in saved.trades}
        return state
