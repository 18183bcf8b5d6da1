"""fsm-executor: the order layer of a trading bot.

Every order is an explicit state machine; every transition is journaled before its effect.
"""

from .core._clock import Clock, FakeClock, SystemClock
from .core._config import ExecutionConfig
from .core._events import (
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
    Restate,
    Resubmit,
    Submit,
    Withdraw,
)
from .core._exceptions import (
    BadRestate,
    ClockSkew,
    ConcurrentWriter,
    ConflictingFill,
    CorruptJournal,
    DuplicateOrder,
    ExchangeFailure,
    ExecutorClosed,
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
from .core._fill import Fill
from .core._model import Order, OrderSpec, OrderType, Side
from .core._signal import Signal
from .core._states import IN_FLIGHT, TERMINAL, TRANSITIONS, State, Transition
from .executors._async_executor import AsyncTradeExecutor
from .executors._executor import TradeExecutor
from .executors._recovery import Change, RecoveryReport
from .journal._audit import AuditReport, Violation, audit
from .journal._book import OrderBook
from .journal._journal import Entry, Journal, JournalReader
from .journal._replay import replay

__all__ = [
    "IN_FLIGHT",
    "TERMINAL",
    "TRANSITIONS",
    "Abandon",
    "Acknowledge",
    "AsyncTradeExecutor",
    "AuditReport",
    "BadRestate",
    "Cancel",
    "CancelRejected",
    "Change",
    "Clock",
    "ClockSkew",
    "ConcurrentWriter",
    "ConflictingFill",
    "CorruptJournal",
    "DeclareAbsent",
    "DuplicateOrder",
    "Entry",
    "Event",
    "ExchangeFailure",
    "ExecutionConfig",
    "ExecutorClosed",
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
    "Restate",
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
