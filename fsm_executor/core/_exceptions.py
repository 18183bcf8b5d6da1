"""The project's one exception tree.

    FsmExecutorError
    ├── InvalidInput (also a ValueError)      a bad signal, spec, amount, price or config
    ├── InvalidTransition                     the table does not allow this trigger here
    │   └── UnknownTrigger                    no such trigger at all
    ├── OrderError
    │   ├── UnknownOrder                      no order with this client order id
    │   ├── DuplicateOrder                    an order with this client order id exists
    │   ├── Overfill                          a fill would make filled exceed amount
    │   ├── ConflictingFill                   a trade id seen before, with other figures
    │   ├── OrderArchived                     its rows were moved to an archive file
    │   └── BadRestate                        a restate that would change more than the ledger
    ├── JournalError
    │   ├── NotAJournal                       the file is not an fsm-executor journal
    │   ├── UnsupportedSchema                 a journal of a schema version we do not know
    │   ├── CorruptJournal                    a journal that cannot be read or replayed
    │   ├── JournalLocked                     another writer has the journal open
    │   └── ConcurrentWriter                  rows appended behind this writer's back
    ├── ExchangeFailure                       a ccxt error, translated in _errors.py
    │   └── ClockSkew                         the exchange refused our timestamps, even resynced
    ├── OrderInDoubt                          the exchange stayed unreachable: outcome unknown
    │   └── CancelIncomplete                  cancel_all() left some orders in doubt
    └── ExecutorClosed (also a RuntimeError)  closed before the call, or before it could end

Every error that names an order carries it as ``order_id``; nothing here is raised from
inside a half-finished change, so catching one means nothing was journaled.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._model import Order


class FsmExecutorError(Exception):
    """Root of every error this library raises on purpose."""


class InvalidInput(FsmExecutorError, ValueError):
    """A value from outside (a signal, an order spec, a config) is not acceptable."""


class InvalidTransition(FsmExecutorError):
    """The transition table does not allow ``trigger`` from ``state``."""

    def __init__(self, order_id: str, state: str, trigger: str) -> None:
        self.order_id = order_id
        self.state = state
        self.trigger = trigger
        super().__init__(
            f"order {order_id!r}: trigger {trigger!r} is not allowed in state {state!r}"
        )


class UnknownTrigger(InvalidTransition):
    """The trigger is not in the transition table at all."""

    def __init__(self, order_id: str, state: str, trigger: str) -> None:
        super().__init__(order_id, state, trigger)
        self.args = (f"order {order_id!r}: unknown trigger {trigger!r}",)


class OrderError(FsmExecutorError):
    """Something is wrong with the order named by ``order_id``."""

    def __init__(self, order_id: str, message: str) -> None:
        self.order_id = order_id
        super().__init__(f"order {order_id!r}: {message}")


class UnknownOrder(OrderError):
    def __init__(self, order_id: str) -> None:
        super().__init__(order_id, "no such order")


class OrderArchived(OrderError):
    """The order's rows were moved out of the live journal into an archive file
    (``fsm-executor journal archive``): its signal is known (nothing is placed again), its
    story is in the archive (``audit(live, archives=[...])``)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id, "archived: its rows are in an archive of this journal")


class DuplicateOrder(OrderError):
    def __init__(self, order_id: str) -> None:
        super().__init__(order_id, "an order with this client order id already exists")


class Overfill(OrderError):
    """Exchanges do overfill in races; the totals are never silently corrupted."""

    def __init__(self, order_id: str, filled: Decimal, amount: Decimal, trade_id: str,
                 fill_amount: Decimal) -> None:
        self.filled = filled
        self.amount = amount
        self.trade_id = trade_id
        self.fill_amount = fill_amount
        super().__init__(
            order_id,
            f"fill {trade_id!r} of {fill_amount} would take filled from {filled} "
            f"past the order amount {amount}",
        )


class ConflictingFill(OrderError):
    """The same trade id arrived twice with different figures."""

    def __init__(self, order_id: str, trade_id: str) -> None:
        self.trade_id = trade_id
        super().__init__(order_id, f"trade {trade_id!r} was already applied with other figures")


class BadRestate(OrderError):
    """A restate that would not only re-attribute inferred fills: retracting a listed trade,
    lowering filled, or changing a terminal order's filled."""

    def __init__(self, order_id: str, why: str) -> None:
        self.why = why
        super().__init__(order_id, f"restate refused: {why}")


class JournalError(FsmExecutorError):
    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


class NotAJournal(JournalError):
    """The file exists but is not an fsm-executor journal; it was not modified."""


class UnsupportedSchema(JournalError):
    def __init__(self, path: str, version: int) -> None:
        self.version = version
        super().__init__(path, f"journal schema version {version} is not supported by this version")


class CorruptJournal(JournalError):
    """The journal cannot be read or replayed; ``seq`` names the first bad row if known."""

    def __init__(self, path: str, message: str, seq: int | None = None) -> None:
        self.seq = seq
        where = f" (row {seq})" if seq is not None else ""
        super().__init__(path, f"{message}{where}")


class JournalLocked(JournalError):
    """Another process (or another Journal in this one) has the journal open for writing;
    nothing was read or written. ``pid`` and ``host`` name the holder (None if it had not
    written them yet)."""

    def __init__(self, path: str, pid: int | None, host: str | None = None, *,
                 this_process: bool = False, this_host: bool = True) -> None:
        self.pid = pid
        self.host = host
        if this_process:
            who = f"this process (pid {pid}) already has this journal open for writing"
            todo = "close it first, or use another journal"
        else:
            where = f" on {host}" if host and not this_host else ""
            who = (f"another fsm-executor process (pid {pid if pid is not None else 'unknown'}"
                   f"{where}) is writing this journal")
            todo = "stop it, or use another journal"
        super().__init__(path, f"{who}; {todo}")


class ConcurrentWriter(JournalError):
    """The journal holds rows this writer did not append: someone wrote to it without
    taking its lock. Nothing was written, so the journal did not fork; every later append
    is refused the same way."""

    def __init__(self, path: str, expected: int, found: int) -> None:
        #: The last seq this writer appended (or read at open), and the last seq in the file.
        self.expected = expected
        self.found = found
        super().__init__(
            path, f"another writer changed this journal behind this one's back (it ends at row "
                  f"{found}, this writer's last row is {expected}); nothing was written: stop "
                  "the other writer, then reopen the journal and audit it")


class ExchangeFailure(FsmExecutorError):
    """An exchange error after translation (_errors.py); ``kind`` says how it is treated
    and ``ccxt_class`` names the ccxt exception it came from."""

    def __init__(self, kind: str, message: str, ccxt_class: str = "",
                 unprocessed: bool = False) -> None:
        self.kind = kind
        self.ccxt_class = ccxt_class
        #: The exchange documents this answer as a refusal before execution (its profile).
        self.unprocessed = unprocessed
        #: Seconds the exchange asked to wait (its Retry-After header), if it said.
        self.retry_after: float | None = None
        super().__init__(message)


class ClockSkew(ExchangeFailure):
    """The exchange refused a request's timestamp (Binance's -1021) again after the
    adapter had resynced ccxt's clock offset and sent it once more (_exchange.py).

    Fatal (``kind`` "fatal"): no retry can help while this machine's clock disagrees with
    the exchange's, so the order fails and a person must look. ``offset_ms`` is the offset
    ccxt measured at the resync (this machine's clock minus the exchange's, in ms), or None
    where ccxt keeps none for this exchange."""

    def __init__(self, action: str, exchange: str, answer: str, offset_ms: int | None,
                 ccxt_class: str = "InvalidNonce", unprocessed: bool = False) -> None:
        self.action = action
        self.exchange = exchange
        self.offset_ms = offset_ms
        if offset_ms is None:
            measured = (f"ccxt keeps no clock offset for {exchange}, so none was measured; "
                        "where the exchange counts nonces instead of checking timestamps, "
                        "make sure no other process uses the same API key")
        else:
            where = "ahead of" if offset_ms > 0 else "behind" if offset_ms < 0 else "level with"
            measured = (f"at the resync this machine's clock was {abs(offset_ms)} ms {where} "
                        f"{exchange}'s")
        super().__init__(
            "fatal",
            f"{action}: {exchange} refused the request's timestamp again after the clock was "
            f"resynced ({answer}); {measured}. Sync this machine's clock with NTP (chrony, "
            "systemd-timesyncd: `timedatectl set-ntp true`) and check that it stays in sync, "
            "then run again",
            ccxt_class, unprocessed)


class OrderInDoubt(FsmExecutorError):
    """The exchange could not be reached long enough to learn an order's outcome.

    The order stays in its in-flight state in the journal; ``recover()`` resolves it.
    Nothing was assumed: a network error is never taken for "not placed".
    """

    def __init__(self, order_id: str, state: str, last_error: str) -> None:
        self.order_id = order_id
        self.state = state
        self.last_error = last_error
        super().__init__(f"order {order_id!r} left {state}: its outcome is unknown "
                         f"({last_error}); run recovery when the exchange answers")


class CancelIncomplete(OrderInDoubt):
    """``cancel_all()`` tried every order, and some stayed in doubt.

    ``orders``: every order as the cancels left it (the others cancelled, or ended
    otherwise); ``doubts``: why each order in doubt is. Its own fields are the first
    doubt's. The journaled cancel requests are carried out as soon as the exchange answers
    (``update()``, ``recover()``).
    """

    def __init__(self, orders: Sequence[Order], doubts: Sequence[OrderInDoubt]) -> None:
        first = doubts[0]
        super().__init__(first.order_id, first.state, first.last_error)
        self.orders = tuple(orders)
        self.doubts = tuple(doubts)
        self.args = (f"{len(doubts)} of {len(orders)} order(s) could not be cancelled for "
                     f"now, first {first.order_id!r}: {first.last_error}",)


class ExecutorClosed(FsmExecutorError, RuntimeError):
    """The executor was closed before this call, or while the call waited for an order.

    Nothing is lost: what was in flight is journaled, and the next run's recovery settles
    it. ``order_id``: the order waited for, or None.
    """

    def __init__(self, message: str, order_id: str | None = None) -> None:
        self.order_id = order_id
        super().__init__(message)
