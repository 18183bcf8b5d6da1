"""fsm-executor: the order layer of a trading bot.

Every order is an explicit state machine; every transition is journaled before its effect.
"""

from ._audit import AuditReport, Violation, audit
from ._book import OrderBook
from ._clock import Clock, FakeClock, SystemClock
from ._config import ExecutionConfig
from ._events import (
    Abandon,
    Acknowledge,
    Cancel,
    CancelRejected,
    DeclareAbsent,
    Event,
    Expire,
    Failing,
    LoseAnswer,
    Note,
    PresumeAbsent,
    Refuse,
    Reject,
    RequestCancel,
    Resubmit,
    Submit,
    Withdraw,
)
from ._exceptions import (
    ConcurrentWriter,
    ConflictingFill,
    CorruptJournal,
    DuplicateOrder,
    ExchangeFailure,
    FsmExecutorError,
    InvalidInput,
    InvalidTransition,
    JournalError,
    JournalLocked,
    NotAJournal,
    OrderError,
    OrderInDoubt,
    Overfill,
    UnknownOrder,
    UnknownTrigger,
    UnsupportedSchema,
)
from ._executor import TradeExecutor
from ._journal import Entry, Journal, JournalReader
from ._model import Fill, Order, OrderSpec, OrderType, Side
from ._recovery import Change, RecoveryReport
from ._replay import replay
from ._signal import Signal
from ._states import IN_FLIGHT, TERMINAL, TRANSITIONS, State, Transition

__all__ = [
    "IN_FLIGHT",
    "TERMINAL",
    "TRANSITIONS",
    "Abandon",
    "Acknowledge",
    "AuditReport",
    "Cancel",
    "CancelRejected",
    "Change",
    "Clock",
    "ConcurrentWriter",
    "ConflictingFill",
    "CorruptJournal",
    "DeclareAbsent",
    "DuplicateOrder",
    "Entry",
    "Event",
    "ExchangeFailure",
    "ExecutionConfig",
    "Expire",
    "Failing",
    "FakeClock",
    "Fill",
    "FsmExecutorError",
    "InvalidInput",
    "InvalidTransition",
    "Journal",
    "JournalError",
    "JournalLocked",
    "JournalReader",
    "LoseAnswer",
    "NotAJournal",
    "Note",
    "Order",
    "OrderBook",
    "OrderError",
    "OrderInDoubt",
    "OrderSpec",
    "OrderType",
    "Overfill",
    "PresumeAbsent",
    "RecoveryReport",
    "Refuse",
    "Reject",
    "RequestCancel",
    "Resubmit",
    "Side",
    "Signal",
    "State",
    "Submit",
    "SystemClock",
    "TradeExecutor",
    "Transition",
    "UnknownOrder",
    "UnknownTrigger",
    "UnsupportedSchema",
    "Violation",
    "Withdraw",
    "audit",
    "replay",
]
