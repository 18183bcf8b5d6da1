"""Stateful: new signals, venue events (price moves, fills, faults) and crashes (the
executor's memory dropped mid-request, rebuilt from the journal and recovered), with the
invariants checked after every step."""

from __future__ import annotations

import asyncio
import inspect
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from async_face import AsyncFace, LoopStopped
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from fsm_executor import (
    ExchangeFailure,
    FakeClock,
    OrderInDoubt,
    TradeExecutor,
    audit,
    replay,
)
from fsm_executor.exchange._calls import Call
from fsm_executor.venue._paper import PaperExchange

CONFIG = {"order_timeout_seconds": 10, "poll_interval_seconds": 2, "jitter": 0.0,
          "not_found_confirmations": 2, "max_retries": 2}
STATE_OF_STATUS = {"closed": "filled", "canceled": "cancelled", "expired": "expired"}
MIDS = {"BTC/USDT": Decimal(30000), "ETH/USDT": Decimal(2000)}


class Crash(BaseException):
    """The process dies here: nothing after this point of the call runs."""


class ExecutorWithCrashes(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.path = Path(self.tmp.name) / "journal.db"
        self.clock = FakeClock()
        self.venue = PaperExchange(self.clock, seed=11, fill_probability=0.5)
        self.executor = self._open()
        self.signals = 0
        self.filled_seen: dict[str, Decimal] = {}
        self.terminal_seen: dict[str, str] = {}

    def _open(self) -> Any:
        return TradeExecutor(self.venue, self.path, CONFIG, clock=self.clock, seed=1)

    def _restart(self) -> None:
        """Memory lost; the journal and the exchange remain."""
        self.executor.book.journal.close()
        if isinstance(self.executor, AsyncFace):
            self.executor.die()  # its tasks die with it, their rows not committed
        self.executor = self._open()
        self.executor.recover()

    @rule(symbol=st.sampled_from(sorted(MIDS)), side=st.sampled_from(["buy", "sell"]),
          kind=st.sampled_from(["limit", "market"]),
          offset=st.sampled_from(["1", "0.999", "1.001", "0.99"]),
          crash_at=st.one_of(st.none(), st.tuples(
              st.sampled_from(["before_create", "after_create", "before_call", "after_call"]),
              st.integers(1, 3))))
    def new_signal(self, symbol: str, side: str, kind: str, offset: str,
                   crash_at: tuple[str, int] | None) -> None:
        self.signals += 1
        signal = {"id": f"sig{self.signals}", "symbol": symbol, "side": side,
                  "amount": "0.01" if symbol == "BTC/USDT" else "0.1",
                  "price": str(MIDS[symbol] * Decimal(offset)), "order_type": kind}
        adapter = self.executor.adapter
        original = adapter.make
        counts = {"create": 0, "call": 0}

        def hit(request: Call) -> bool:
            # The narrowest windows are around a create: after its journal row, before the
            # request; after the exchange acted, before the journal heard of it.
            kind = "create" if request.method == "create_order" else "call"
            counts[kind] += 1
            return crash_at is not None and crash_at[0].endswith(kind) and \
                counts[kind] == crash_at[1]

        def call(request: Call) -> Any:
            here = hit(request)
            if here and crash_at is not None and crash_at[0].startswith("before"):
                raise Crash
            result = original(request)
            if here:
                raise Crash  # the exchange acted; the answer dies with the process
            return result

        async def call_async(request: Call) -> Any:
            # The process dies here: the loop stops at once, and this request never ends.
            here = hit(request)
            if here and crash_at is not None and crash_at[0].startswith("before"):
                asyncio.get_running_loop().stop()
                await asyncio.Future()
            result = await original(request)
            if here:
                asyncio.get_running_loop().stop()
                await asyncio.Future()
            return result

        adapter.make = (call_async if inspect.iscoroutinefunction(original)  # type: ignore[method-assign]
                        else call)
        executor = self.executor
        try:
            executor.execute_signal(signal)
        except (Crash, LoopStopped):
            self._restart()
        except (OrderInDoubt, ExchangeFailure):
            pass
        finally:
            if executor is self.executor:
                adapter.make = original  # type: ignore[method-assign]

    @rule(seconds=st.sampled_from([1, 5, 30]), symbol=st.sampled_from(sorted(MIDS)),
          move=st.sampled_from(["1", "0.995", "1.005"]))
    def market_moves(self, seconds: int, symbol: str, move: str) -> None:
        self.venue.set_mid(symbol, MIDS[symbol] * Decimal(move))
        self.clock.advance(seconds)

    @rule(method=st.sampled_from(["create_order", "fetch_order", "cancel_order"]),
          fault=st.sampled_from(["timeout_before", "unavailable", "rate_limit"]))
    def fault(self, method: str, fault: str) -> None:
        self.venue.inject(method, fault)

    @rule()
    def timeout_after_acceptance(self) -> None:
        self.venue.inject("create_order", "timeout_after")

    @rule()
    def crash_and_recover(self) -> None:
        self._restart()

    @invariant()
    def filled_never_decreases_terminal_states_absorb(self) -> None:
        for order in self.executor.book.orders():
            cid = order.client_order_id
            assert 0 <= order.filled <= order.amount
            assert order.filled >= self.filled_seen.get(cid, Decimal(0))
            self.filled_seen[cid] = order.filled
            if cid in self.terminal_seen:
                assert order.state.value == self.terminal_seen[cid]
            elif order.is_terminal:
                self.terminal_seen[cid] = order.state.value

    @invariant()
    def the_exchange_holds_no_order_twice_and_none_unknown(self) -> None:
        journal = {o.client_order_id for o in self.executor.book.orders()}
        seen: dict[str, int] = {}
        for placed in self.venue.all_orders():
            cid = str(placed["clientOrderId"])
            seen[cid] = seen.get(cid, 0) + 1
            assert cid in journal, f"{cid} is on the exchange, not in the journal"
        assert all(n == 1 for n in seen.values()), seen

    @invariant()
    def finished_orders_agree_with_the_exchange(self) -> None:
        for order in self.executor.book.orders():
            if not order.is_terminal:
                continue
            placed = self.venue.orders_for_client_id(order.client_order_id)
            if placed:
                assert order.state.value == STATE_OF_STATUS.get(placed[0]["status"])
                assert order.filled == Decimal(str(placed[0]["filled"]))

    @invariant()
    def the_journal_audits_clean_and_replays_to_the_live_state(self) -> None:
        assert audit(self.path).ok
        assert replay(self.path) == {o.client_order_id: o for o in self.executor.book.orders()}

    def teardown(self) -> None:
        self.executor.close()
        self.venue.close()
        self.tmp.cleanup()


# Cheap examples (~50 ms): three times the profile's budget, so that the CI profile itself
# finds a blind re-send after a crash (checked by sabotaging recovery).
ExecutorWithCrashes.TestCase.settings = settings(
    settings(), max_examples=settings().max_examples * 3, stateful_step_count=12)
TestExecutorWithCrashes = ExecutorWithCrashes.TestCase


class AsyncExecutorWithCrashes(ExecutorWithCrashes):
    """The same machine, the asyncio executor in it (async_face.py)."""

    def _open(self) -> Any:
        return AsyncFace(self.venue, self.path, CONFIG, clock=self.clock, seed=1)


AsyncExecutorWithCrashes.TestCase.settings = ExecutorWithCrashes.TestCase.settings
TestAsyncExecutorWithCrashes = AsyncExecutorWithCrashes.TestCase
