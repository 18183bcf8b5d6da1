"""The asyncio executor behind the sync executor's face, so that the scenario, property and
stateful suites run against both executors with the same tests.

``AsyncFace`` opens an ``AsyncTradeExecutor`` on a virtual-time event loop that runs on the
test's own clock (a ``FakeClock``, or a ``ScheduledClock`` whose actions fire as time
passes) and carries each call out with ``run_until_complete``. Between calls the loop is
stopped, so, as with the sync executor, nothing happens while the test looks. The sync
exchange the test built (the paper venue, a generated exchange, the ccxt client over HTTP)
is given ccxt.async_support's coroutine methods by ``AsyncShim``, without latency of its own.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, TypeVar

from fsm_executor import AsyncTradeExecutor, Order, RecoveryReport
from fsm_executor.venue._virtual_loop import VirtualEventLoop

T = TypeVar("T")
DAY = 86_400.0

#: ccxt's methods that ask the network: coroutines in ccxt.async_support.
IO_METHODS = frozenset({
    "load_markets", "fetch_ticker", "fetch_order_book", "create_order", "fetch_order",
    "fetch_open_orders", "fetch_closed_orders", "fetch_orders", "fetch_my_trades",
    "cancel_order", "load_time_difference", "fetch_balance",
})


class LoopStopped(Exception):
    """The event loop was stopped before the call ended (a test's process dying)."""


class AsyncShim:
    """A sync ccxt exchange with ccxt.async_support's interface: its network methods are
    coroutines (each runs the sync call at once), everything else is the exchange's own."""

    def __init__(self, exchange: Any) -> None:
        object.__setattr__(self, "exchange", exchange)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.exchange, name)
        if name not in IO_METHODS:
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            return attribute(*args, **kwargs)

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.exchange, name, value)


class AsyncFace:
    """An ``AsyncTradeExecutor`` answering the sync ``TradeExecutor``'s calls."""

    def __init__(self, exchange: Any, journal: Any, config: Any = None, *, clock: Any,
                 **options: Any) -> None:
        self.loop = VirtualEventLoop(clock)
        self.inner = AsyncTradeExecutor(AsyncShim(exchange), journal, config, clock=clock,
                                        **options)
        self._run(self.inner.start)

    def _run(self, call: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        try:
            # A call that never ends would spin through virtual time for ever: a day of it
            # is a failure, not a hang.
            return self.loop.run_until_complete(asyncio.wait_for(call(*args), DAY))
        except RuntimeError as exc:
            if "stopped before Future completed" in str(exc):
                raise LoopStopped from exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def execute_signal(self, signal: Mapping[str, Any] | Any) -> Order:
        return self._run(self.inner.execute_signal, signal)

    def submit(self, signal: Mapping[str, Any] | Any) -> Order:
        return self._run(self.inner.submit, signal)

    def cancel(self, client_order_id: str) -> Order:
        return self._run(self.inner.cancel, client_order_id)

    def cancel_all(self) -> list[Order]:
        return self._run(self.inner.cancel_all)

    def recover(self, adopt: bool = False, symbols: Iterable[str] = ()) -> RecoveryReport:
        return self._run(self.inner.recover, adopt, symbols)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        try:
            self._run(self.inner.close)
            leftovers = asyncio.all_tasks(self.loop)
            for task in leftovers:
                task.cancel()
            if leftovers:
                self.loop.run_until_complete(asyncio.wait(leftovers))
        finally:
            self.loop.close()

    def die(self) -> None:
        """The process dies: the loop is dropped with its tasks where they are, their rows
        not committed. (Told so, asyncio does not warn about the tasks it drops.)"""
        for task in asyncio.all_tasks(self.loop):
            task._log_destroy_pending = False  # type: ignore[attr-defined]
            coroutine = task.get_coro()
            if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()  # never started: nothing of it ran, nothing to warn of
        self.loop.close()

    def __enter__(self) -> AsyncFace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
