"""Who waits on which order, and what each is told when its follower stops: the order (at
its end, or presumed absent), the doubt it is left in, what else stopped the follower, or
that the executor closed. Nobody is left waiting: the asyncio executor answers every
waiter of an order whose follower ends, however it ends."""

from __future__ import annotations

import asyncio

from ..core._exceptions import ExecutorClosed, OrderInDoubt
from ..core._model import Order


def closed_before(cid: str) -> ExecutorClosed:
    return ExecutorClosed(f"the executor was closed before order {cid!r} ended; the next "
                          "run's recovery settles it", cid)


class Waiters:
    """The futures of the callers waiting on each order, and why an order's follower
    stopped short of its end (for a later ``wait()``)."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[asyncio.Future[Order]]] = {}
        #: Why each order followed in the background could not be settled, for now.
        self.doubts: dict[str, OrderInDoubt] = {}
        #: What stopped a follower short of the order's end other than a doubt (the journal
        #: failing, a bug): wait() raises it until the order is followed again.
        self.broken: dict[str, BaseException] = {}

    def wait(self, cid: str) -> asyncio.Future[Order]:
        done: asyncio.Future[Order] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(cid, []).append(done)
        return done

    def why_stopped(self, cid: str) -> BaseException | None:
        """Why the order, followed no more, stopped short of its end (None: it did not)."""
        return self.doubts.get(cid) or self.broken.get(cid)

    def waited_on(self) -> list[str]:
        return [*self._waiting, *self.doubts]

    def stopped(self, cid: str, order: Order | None = None,
                doubt: OrderInDoubt | None = None) -> None:
        """The follower stopped: at ``order`` (its end, or presumed absent), or in
        ``doubt``."""
        if doubt is not None:
            self.doubts[cid] = doubt
        else:
            self.doubts.pop(cid, None)
        for done in self._waiting.pop(cid, []):
            if done.done():
                continue
            if doubt is not None:
                done.set_exception(doubt)
            else:
                assert order is not None
                done.set_result(order)

    def ended(self, cid: str, exc: BaseException, closed: bool) -> None:
        """The follower ended short of the order's end by ``exc``: its waiters get ``exc``,
        and so does a later wait(); for a cancellation, they are cancelled, or told
        ExecutorClosed when the executor is ``closed``."""
        cancelled = isinstance(exc, asyncio.CancelledError)
        if not cancelled:
            self.broken[cid] = exc
        elif closed:
            exc = closed_before(cid)
        for done in self._waiting.pop(cid, []):
            if done.done():
                continue
            if cancelled and not closed:
                done.cancel()
            else:
                done.set_exception(exc)

    def followed_again(self, cid: str) -> None:
        self.broken.pop(cid, None)

    def close(self) -> None:
        """The executor closed: every caller still waiting is told so."""
        for cid, waiting in self._waiting.items():
            for done in waiting:
                if not done.done():
                    done.set_exception(closed_before(cid))
        self._waiting.clear()
