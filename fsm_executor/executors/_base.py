"""What both executors share: the journal, the driver and the exchange's profile, and how
what came of an action becomes the driver's next view. The sync ``TradeExecutor`` and the
asyncio ``AsyncTradeExecutor`` differ only in how they wait and send."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from typing import Any

from ..core._actions import Action, Open, Record, Request, View, Wait
from ..core._answers import ExchangeOrder
from ..core._clock import Clock, monotonic_of
from ..core._config import ExecutionConfig
from ..core._decide import new_client_order_id
from ..core._driver import Driver
from ..core._exceptions import FsmExecutorError, InvalidInput, InvalidTransition
from ..core._memory import Memory
from ..core._model import Order
from ..core._profiles import ExchangeProfile
from ..core._signal import Signal
from ..exchange._calls import ExchangeCalls
from ..journal._book import OrderBook
from ..journal._journal import Durability
from ._recovery import RecoveryReport


def check_client_ids(config: ExecutionConfig, profile: ExchangeProfile) -> None:
    """Refuse, before anything is opened or sent, a configuration whose client order ids
    the exchange would reject."""
    try:
        sample = new_client_order_id(config, 0.0, random.Random(0),
                                     profile.client_id_max_length)
    except InvalidInput as exc:
        raise InvalidInput(f"{profile.id}: {exc}") from None
    if not profile.check_client_id(sample):
        raise InvalidInput(
            f"{profile.id} does not accept client order ids like {sample!r} (it wants "
            f"{profile.client_id_alphabet}, at most {profile.client_id_max_length} "
            "characters): change client_order_id_prefix or client_order_id_max_length")


class ExecutorBase:
    """The journal, the driver, and the bookkeeping around each action."""

    def __init__(self, adapter: ExchangeCalls, journal: OrderBook | str | os.PathLike[str],
                 config: ExecutionConfig | Mapping[str, Any] | None, clock: Clock | None,
                 seed: int | None, durability: Durability) -> None:
        self.config = (config if isinstance(config, ExecutionConfig)
                       else ExecutionConfig.from_dict(config or {}))
        #: How this exchange treats client order ids (_profiles.py): whether a lost create
        #: may be re-sent, how long lookups may miss a new order.
        self.adapter = adapter
        check_client_ids(self.config, adapter.profile)
        if isinstance(journal, OrderBook):
            self.book = journal
        else:
            self.book = OrderBook.open(journal, durability=durability, clock=clock)
        self.clock: Clock = clock or self.book.clock
        # Jitter may be seeded for tests; client order ids never repeat across processes.
        self.driver = Driver(self.config, adapter.profile, random.Random(seed))
        self._ids = random.Random(seed) if seed is not None else random.SystemRandom()
        #: Counts for the run summary: retries, unknown outcomes, resubmits, ...
        self.stats = self.driver.stats
        # Orders in flight when the journal opens come from a run that stopped; those this
        # run places are its own, and never call for a recovery.
        self._recovered = not any(o.is_in_flight or o.is_open for o in self.book.unfinished())
        #: The report of the last recovery, the one a start ran by itself included.
        self.last_recovery: RecoveryReport | None = None

    @property
    def pending_orders(self) -> list[Order]:
        """Orders not yet terminal."""
        return self.book.unfinished()

    def order(self, client_order_id: str) -> Order:
        """The order as journaled now, finished or not; UnknownOrder if the journal has
        none by this id."""
        return self.book.get(client_order_id)

    def order_for_signal(self, signal_id: str) -> Order | None:
        """The order journaled for ``signal_id``, finished or not; None if none."""
        return self.book.by_signal(signal_id)

    def _needs_recovery(self) -> bool:
        """A journal that opened with orders in flight comes from a run that stopped: they
        are settled with the exchange before anything new is sent."""
        return not self._recovered

    def _new_id(self) -> str:
        longest = self.adapter.profile.client_id_max_length
        cid = new_client_order_id(self.config, self.clock.now(), self._ids, longest)
        # A seeded generator restarts its sequence with the process: draw again (at least
        # five random characters make a second clash all but impossible).
        while cid in self.book:
            cid = new_client_order_id(self.config, self.clock.now(), self._ids, longest)
        return cid

    def _view(self, cid: str | None, order: Order | None = None, **outcome: Any) -> View:
        """The view of ``cid`` now. ``order``: its snapshot taken since its last change
        (a request's, which changes nothing), spared a second one."""
        if cid is None:
            return View(None, Memory(), self.clock.now(), monotonic_of(self.clock), **outcome)
        book = self.book
        if order is None:
            order = book.get(cid)
        return View(order, book.memory(cid), self.clock.now(), monotonic_of(self.clock),
                    **outcome)

    def _refused(self, action: Action, committed: Order | FsmExecutorError | None
                 ) -> View | None:
        """The view telling the driver the journal refused the rows of an answer it
        followed; any other refusal is a bug, raised."""
        if not isinstance(committed, FsmExecutorError):
            return None
        if isinstance(action, Record) and action.answer and \
                isinstance(committed, InvalidTransition):
            return self._view(action.client_order_id, refused=committed)
        raise committed

    def _remaining(self, wait: Wait) -> float:
        return wait.seconds - (monotonic_of(self.clock) - wait.at)

    def _open(self, action: Open, origin: str) -> Order:
        return self.book.create(action.spec, origin)

    def _listed(self, request: Request, order: Order | None,
                listing: Mapping[str, ExchangeOrder] | None) -> View | None:
        """The view answering a routine look from its market's listing, if it holds the
        order."""
        if not listing or not request.listable or order is None or \
                order.exchange_order_id is None:
            return None
        seen = listing.get(order.exchange_order_id)
        if seen is None:
            return None
        self.stats["answered_by_listing"] += 1
        return self._view(order.client_order_id, answer=seen)


def signal_of(signal: Signal | Mapping[str, Any]) -> Signal:
    return signal if isinstance(signal, Signal) else Signal.from_dict(signal)
