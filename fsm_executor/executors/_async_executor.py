"""AsyncTradeExecutor: the asyncio loop over the order driver (core/_driver.py).

Every order has its own task running its driver, so a thousand orders wait on the
exchange at once. What the tasks do at the same moment is gathered: the rows of every
order that commits in the same turn of the event loop go in one transaction (each request
still leaves only after the commit that holds its own row), and the routine looks at one
market's open orders falling due together take one listing. Polls fall on a grid of the
poll interval, so they fall due together. The policy is the driver's, as for the sync
``TradeExecutor``: only the waiting and the sending differ.

Closing cancels every task at its next await: what a request in flight did is settled by
the next recovery, as after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from ..core._actions import Action, Op, Open, Record, Send, View, Wait
from ..core._asking import Steps
from ..core._clock import Clock, monotonic_of
from ..core._config import ExecutionConfig
from ..core._driver import Goal
from ..core._exceptions import (
    CancelIncomplete,
    ExchangeFailure,
    ExecutorClosed,
    FsmExecutorError,
    OrderInDoubt,
)
from ..core._ledger import unsettled
from ..core._model import Order
from ..core._profiles import ExchangeProfile
from ..core._reconcile import Reconciled, conclude, list_trades, settle_order, survey
from ..core._signal import Signal
from ..exchange._async_exchange import AsyncExchangeAdapter
from ..journal._book import OrderBook
from ..journal._journal import Durability
from ._base import ExecutorBase, signal_of
from ._gathering import GroupCommit, Listings, all_or_none
from ._recovery import Before, RecoveryReport
from ._waiters import Waiters

T = TypeVar("T")
_Committed = Order | FsmExecutorError


class AsyncTradeExecutor(ExecutorBase):
    """Turns signals into orders on ``exchange`` (a ``ccxt.async_support`` exchange or
    ``AsyncPaperExchange``), many at once, and sees each to a terminal state, journaling
    every transition before its effect. Use it as ``async with AsyncTradeExecutor(...) as
    ex:`` (or ``await ex.start()`` ... ``await ex.close()``)."""

    def __init__(
        self,
        exchange: Any,
        journal: OrderBook | str | os.PathLike[str],
        config: ExecutionConfig | Mapping[str, Any] | None = None,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        durability: Durability = "normal",
        profile: ExchangeProfile | None = None,
    ) -> None:
        self.adapter: AsyncExchangeAdapter
        super().__init__(AsyncExchangeAdapter(exchange, profile), journal, config, clock,
                         seed, durability)
        self._commits = GroupCommit(self.book)
        self._listings = Listings(self)
        #: The task following each order to its end (one driver per order at a time).
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._waiters = Waiters()
        self._placing: dict[str, asyncio.Task[Order]] = {}
        self._started = self._closed = False
        # recover() and close() take the orders from their followers: one at a time.
        self._exclusive = asyncio.Lock()
        #: Cleared while recover() runs: no placement starts meanwhile.
        self._ready = asyncio.Event()
        self._ready.set()

    async def __aenter__(self) -> AsyncTradeExecutor:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Settle what a stopped run left in flight (recover()), then follow every
        unfinished order in the background."""
        if self._started:
            return
        self._started = True
        if self._needs_recovery():
            self._ready.clear()  # placements wait for the recovery, even those before it
            await self.recover()
        else:
            self._follow_all()

    async def close(self, grace: float = 5.0) -> None:
        """Stop following: placements under way get up to ``grace`` seconds to settle
        (each one cut short is an order in doubt for the next start to look up), then
        every task is cancelled at its next await, the rows waiting are committed, and the
        journal is closed. Orders still in flight are settled by the next run's recovery."""
        if self._closed:
            return
        self._closed = True
        async with self._exclusive:
            placing = list(self._placing.values())
            if placing and grace > 0:
                await asyncio.wait(placing, timeout=grace)
            tasks = [*self._followers.values(), *self._placing.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._commits.flush()
            self._waiters.close()
            self.book.close()

    # -- public ----------------------------------------------------------------------------

    @property
    def doubts(self) -> dict[str, OrderInDoubt]:
        """Why each order followed in the background could not be settled, for now."""
        return dict(self._waiters.doubts)

    async def execute_signal(self, signal: Signal | Mapping[str, Any]) -> Order:
        """Place ``signal``'s order and return it once terminal, or presumed absent (see
        ``TradeExecutor.execute_signal``). Raises OrderInDoubt when the exchange stays
        unreachable while the order's outcome is unknown; it is still followed."""
        order = await self.submit(signal)
        return await self.wait(order.client_order_id)

    async def submit(self, signal: Signal | Mapping[str, Any]) -> Order:
        """Place ``signal``'s order and return it once its placement is settled
        (acknowledged, refused, rejected, or in doubt), without waiting for fills: it is
        followed in the background from then on. A signal id already in the journal (or
        being placed) places nothing: its order is returned."""
        signal = signal_of(signal)
        await self.start()
        await self._ready.wait()  # not while recover() runs
        self._check_open()
        placing = self._placing.get(signal.id)
        if placing is None:
            existing = self.book.by_signal(signal.id)
            if existing is not None:
                self.stats["already_journaled"] += 1
                return existing
            placing = asyncio.get_running_loop().create_task(self._place(signal))
            self._placing[signal.id] = placing
            placing.add_done_callback(lambda _: self._placing.pop(signal.id, None))
        # The caller may give up waiting; the placement goes on, and is followed.
        try:
            return await asyncio.shield(placing)
        except asyncio.CancelledError:
            caller = asyncio.current_task()
            if placing.cancelled() and not (caller and caller.cancelling()):
                # Cut short by close(), not by the caller's own cancellation.
                raise ExecutorClosed(f"the executor was closed while signal {signal.id!r} "
                                     "was being placed; the next run's recovery settles "
                                     "it") from None
            raise

    async def _place(self, signal: Signal) -> Order:
        cid = self._new_id()
        order = await self._run(self.driver.place(signal, cid, self.adapter, Goal.PLACED))
        if not order.is_terminal or unsettled(order):
            self._follow(order.client_order_id)
        return order

    async def wait(self, client_order_id: str) -> Order:
        """The order once its follower stops: terminal, or presumed absent after a lookup
        (still watched). Raises OrderInDoubt when its outcome cannot be settled now, and
        what else stopped its follower (the journal failing, any BaseException but a
        cancellation) until it is followed again; ExecutorClosed when the executor closes
        before the order ends."""
        order = self.book.get(client_order_id)
        if self._closed and not order.is_terminal:
            raise ExecutorClosed(f"this AsyncTradeExecutor is closed: order "
                                 f"{client_order_id!r} is not followed", client_order_id)
        if client_order_id not in self._followers:
            stopped = self._waiters.why_stopped(client_order_id)
            if stopped is not None:
                raise stopped
            return order
        return await self._waiters.wait(client_order_id)

    async def cancel(self, client_order_id: str) -> Order:
        """Cancel the order now and return it once terminal (see
        ``TradeExecutor.cancel``): its follower stands aside meanwhile, and a placement of
        it under way ends first."""
        self._check_open()
        cid = client_order_id
        placing = self._placing.get(self.book.get(cid).signal_id or "")
        if placing is not None:
            # One driver per order at a time: a cancel driven now would take the create in
            # flight for one whose answer was lost (lose_answer, a lookup, OrderInDoubt)
            # while that answer is on its way.
            await asyncio.wait([placing])
            self._check_open()
        await self._unfollow(cid)
        try:
            order = await self._run(self.driver.cancel(cid))
        except OrderInDoubt as doubt:
            self._waiters.stopped(cid, doubt=doubt)
            raise
        finally:
            if not self._closed and self.book.get(cid).is_terminal is False:
                self._follow(cid)
        self._waiters.stopped(cid, order)
        return order

    async def cancel_all(self) -> list[Order]:
        """Cancel every unfinished order at once, and return them all once ended. Raises
        CancelIncomplete (an OrderInDoubt) after trying all when some stay in doubt: it
        holds every order as the cancels left it."""
        pending = self.pending_orders
        results = await asyncio.gather(*(self.cancel(o.client_order_id) for o in pending),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, OrderInDoubt):
                raise result
        doubts = [r for r in results if isinstance(r, OrderInDoubt)]
        done = [r if isinstance(r, Order) else self.book.get(o.client_order_id)
                for o, r in zip(pending, results, strict=True)]
        if doubts:
            raise CancelIncomplete(done, doubts)
        return done

    async def recover(self, adopt: bool = False, symbols: Iterable[str] = ()) -> RecoveryReport:
        """Settle every unfinished order of the journal with the exchange (see
        ``TradeExecutor.recover``); the followers stand aside meanwhile."""
        self._check_open()
        async with self._exclusive:
            self._ready.clear()
            try:
                # Placements under way end first; then no order has a driver but this one.
                await asyncio.gather(*self._placing.values(), return_exceptions=True)
                for cid in list(self._followers):
                    await self._unfollow(cid)
                before = Before.of(self.book, self.adapter.calls)
                result = await self._reconcile(adopt, symbols)
                report = before.report(self.book, result, self.adapter.calls)
                self._recovered = True
                self.last_recovery = report
                self.stats["recovered_changes"] += len(report.changes)
            finally:
                self._ready.set()
                self._follow_all()
                self._answer_unfollowed()
            return report

    async def _reconcile(self, adopt: bool, symbols: Iterable[str]) -> Reconciled:
        """core/_reconcile.py's phases, with every order settled at once: a hundred orders
        in doubt take the time of the slowest, not of all of them in turn."""
        found = await self._run(survey(self.driver, self.book, symbols), "reconcile")
        doubts = await all_or_none(self._run(settle_order(self.driver, cid, found.listed.get(cid)),
                                      "reconcile") for cid in found.unfinished)
        await all_or_none(self._run(list_trades(self.driver, o.client_order_id), "reconcile")
                   for o in self.book.unsettled())
        return await self._run(conclude(self.driver, self.book, found,
                                        [d for d in doubts if d is not None],
                                        self.config.client_order_id_prefix, adopt),
                               "reconcile")

    # -- following -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ExecutorClosed("this AsyncTradeExecutor is closed")

    def _follow_all(self) -> None:
        for order in self.book.unfinished():
            self._follow(order.client_order_id)
        for order in self.book.unsettled():
            self._follow(order.client_order_id)

    def _follow(self, cid: str) -> None:
        if cid in self._followers or self._closed:
            return
        self._waiters.followed_again(cid)
        task = asyncio.get_running_loop().create_task(self._following(cid))
        self._followers[cid] = task
        task.add_done_callback(lambda _: self._followers.pop(cid, None)
                               if self._followers.get(cid) is task else None)

    async def _unfollow(self, cid: str) -> None:
        """Stop the order's follower and commit what it had queued: the next driver reads
        the journal as it left it."""
        task = self._followers.pop(cid, None)
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        self._commits.flush()

    async def _following(self, cid: str) -> None:
        """Drive the order to its end; stopped short of it (presumed absent, in doubt), look
        again every ``watch_interval_seconds``. Stopped by anything else, its waiters get
        that exception rather than waiting for ever."""
        try:
            while True:
                try:
                    order = await self._run(self.driver.drive(cid, Goal.ENDED, aligned=True))
                except OrderInDoubt as doubt:
                    self._waiters.stopped(cid, doubt=doubt)
                else:
                    self._waiters.stopped(cid, order)
                    if order.is_terminal:
                        return
                await asyncio.sleep(self.config.watch_interval_seconds)
        except GeneratorExit:
            raise  # closed unfinished with its loop: nothing runs, nobody waits
        except BaseException as exc:
            # Any BaseException, not only Exceptions: one let by (hypothesis' StopTest, a
            # stray cancellation) left execute_signal() waiting for ever. A follower stood
            # aside (_unfollow unlists it first) leaves its waiters to recover() or cancel().
            if self._followers.get(cid) is asyncio.current_task():
                self._waiters.ended(cid, exc, self._closed)
            raise  # and asyncio reports it, should nobody be waiting
        finally:
            # Unlisted now, not by the done-callback a turn later: a wait() in between
            # (its caller woken by this very ending) would wait on a follower that is gone.
            # (Closed unfinished with its loop, when nothing runs, it has nothing to unlist.)
            with contextlib.suppress(RuntimeError):
                if self._followers.get(cid) is asyncio.current_task():
                    del self._followers[cid]

    def _answer_unfollowed(self) -> None:
        """After recover(): the orders it ended are followed no more. Their waiters (whose
        followers stood aside for it) get them now, and their doubts are over. (Closing
        meanwhile, close() tells the waiters.)"""
        if self._closed:
            return
        for cid in self._waiters.waited_on():
            if cid not in self._followers:
                self._waiters.stopped(cid, self.book.get(cid))

    # -- the loop --------------------------------------------------------------------------

    async def _run(self, steps: Steps[T], origin: str = "live") -> T:
        """Carry a driver's actions out until it returns."""
        view: View | None = None
        try:
            while True:
                try:
                    action = steps.send(view)  # type: ignore[arg-type]
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
                view = await self._carry_out(action, origin)
        finally:
            steps.close()

    async def _carry_out(self, action: Action, origin: str) -> View:
        """One action: its rows committed (with those of every order committing now), then
        its request sent."""
        cid = action.client_order_id
        committed: _Committed | None = None
        if isinstance(action, Record | Send) and action.rows:
            assert cid is not None
            committed = await self._commits.commit(cid, action.rows, origin)
        refused = self._refused(action, committed)
        if refused is not None:
            return refused
        if isinstance(action, Wait):
            remaining = self._remaining(action)
            if remaining > 0:
                await asyncio.sleep(remaining)
        elif isinstance(action, Open):
            self._open(action, origin)
        elif isinstance(action, Send):
            return await self._send(action)
        return self._view(cid)

    async def _send(self, action: Send) -> View:
        cid, request = action.client_order_id, action.request
        if request.listable and request.symbol and self.adapter.can_list_open:
            listing = await self._listings.listing(request.symbol)
        else:
            listing = None
        order = self.book.get(cid) if cid is not None else None
        answered = self._listed(request, order, listing)
        if answered is not None:
            return answered
        # Decided before a rate limit met by another order began to cool the exchange
        # down (it waited for a listing meanwhile): it waits too.
        while (cooling := self.driver.cool_until - monotonic_of(self.clock)) > 0:
            await asyncio.sleep(cooling)
        if request.op is Op.CREATE:
            self.driver.leaving(request, self._view(cid))
        try:
            answer = await self.adapter.request(request, order)
        except ExchangeFailure as failure:
            return self._view(cid, failure=failure)
        return self._view(cid, answer=answer)

