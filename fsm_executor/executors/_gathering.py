"""What the asyncio executor's tasks do at the same moment, gathered: the rows they commit
in one turn of the event loop go in one transaction (``GroupCommit``), and the routine looks
at one market's open orders falling due together take one listing (``Listings``); and many
drivers run at once, none going on behind its caller's back (``all_or_none``)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from ..core._actions import Op, Request
from ..core._answers import ExchangeOrder
from ..core._asking import Steps
from ..core._driver import Driver
from ..core._events import Event
from ..core._exceptions import FsmExecutorError
from ..core._model import Order
from ..core._tracker import LISTING_FROM, index
from ..journal._book import OrderBook

T = TypeVar("T")

_Committed = Order | FsmExecutorError


class Listing(Protocol):
    """The executor a listing is asked through."""

    driver: Driver

    async def _run(self, steps: Steps[Any], origin: str = ...) -> Any: ...


class GroupCommit:
    """The rows that orders commit in the same turn of the event loop, in one transaction
    per origin. A waiter cancelled meanwhile still has its rows committed."""

    def __init__(self, book: OrderBook) -> None:
        self._book = book
        self._pending: dict[str, list[tuple[str, tuple[Event, ...],
                                            asyncio.Future[_Committed]]]] = {}
        self._handle: asyncio.Handle | None = None

    def commit(self, cid: str, rows: tuple[Event, ...],
               origin: str) -> asyncio.Future[_Committed]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[_Committed] = loop.create_future()
        self._pending.setdefault(origin, []).append((cid, rows, done))
        if self._handle is None:
            self._handle = loop.call_soon(self.flush)
        return done

    def flush(self) -> None:
        """Commit what waits, now."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        pending, self._pending = self._pending, {}
        for origin, items in pending.items():
            try:
                results = self._book.apply_many([(cid, rows) for cid, rows, _ in items],
                                                origin)
            except BaseException as exc:  # the journal failed: every waiter hears of it
                for _, _, done in items:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for cid, _, done in items:
                if not done.done():
                    done.set_result(results[cid])


class Listings:
    """Routine looks at a market's open orders falling due in the same turn of the event
    loop, answered by one listing from ``LISTING_FROM`` looks on."""

    def __init__(self, executor: Listing) -> None:
        self._executor = executor
        self._waiting: dict[str, list[asyncio.Future[Mapping[str, ExchangeOrder] | None]]] = {}
        self._handle: asyncio.Handle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def listing(self, symbol: str) -> asyncio.Future[Mapping[str, ExchangeOrder] | None]:
        """The market's open orders by exchange id, or None: look yourself."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Mapping[str, ExchangeOrder] | None] = loop.create_future()
        self._waiting.setdefault(symbol, []).append(done)
        if self._handle is None:
            self._handle = loop.call_soon(self._flush)
        return done

    def _flush(self) -> None:
        self._handle = None
        waiting, self._waiting = self._waiting, {}
        for symbol, futures in waiting.items():
            if len(futures) < LISTING_FROM:
                for done in futures:
                    done.set_result(None)
                continue
            task = asyncio.get_running_loop().create_task(self._list(symbol, futures))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _list(self, symbol: str,
                    futures: list[asyncio.Future[Mapping[str, ExchangeOrder] | None]]) -> None:
        found: Mapping[str, ExchangeOrder] | None = None
        try:
            listing = await self._executor._run(
                self._executor.driver.ask(Request(Op.OPEN_ORDERS, symbol=symbol)))
            found = index(listing)
        finally:
            for done in futures:
                if not done.done():
                    done.set_result(found)

async def all_or_none(calls: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Every call's result, in order. The first to raise cancels the others, and they have
    ended when it is raised: no driver goes on behind its caller's back."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
