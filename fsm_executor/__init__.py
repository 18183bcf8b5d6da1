"""fsm-executor: the order layer of a trading bot.

Every order is an explicit state machine; every transition is journaled before its effect.

Every public name is imported when first used (PEP 562): the executors reach ccxt, whose
import takes a quarter of a second, and the command line's reading commands (``audit``,
``replay``, ``orders``, ``export``, ``diagram``) start within a few times the bare
interpreter only by importing no more than they use (benchmarks/bench_history.py measures
it; tests/test_layers.py names what they must not import).
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
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
        CancelIncomplete,
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
        OrderArchived,
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

#: Each module's public names, imported from it on first use.
_MODULES = {
    ".core._clock": ("Clock", "FakeClock", "SystemClock"),
    ".core._config": ("ExecutionConfig",),
    ".core._events": (
        "Abandon", "Acknowledge", "Cancel", "CancelRejected", "DeclareAbsent", "Event",
        "Expire", "Failing", "LoseAnswer", "Note", "PresumeAbsent", "Refuse", "Reject",
        "RequestCancel", "Restate", "Resubmit", "Submit", "Withdraw",
    ),
    ".core._exceptions": (
        "BadRestate", "CancelIncomplete", "ClockSkew", "ConcurrentWriter",
        "ConflictingFill", "CorruptJournal", "DuplicateOrder", "ExchangeFailure",
        "ExecutorClosed", "FsmExecutorError", "InvalidInput", "InvalidTransition",
        "JournalError", "JournalLocked", "NotAJournal", "OrderArchived", "OrderError",
        "OrderInDoubt", "Overfill", "UnknownOrder", "UnknownTrigger", "UnsupportedSchema",
    ),
    ".core._fill": ("Fill",),
    ".core._model": ("Order", "OrderSpec", "OrderType", "Side"),
    ".core._signal": ("Signal",),
    ".core._states": ("IN_FLIGHT", "TERMINAL", "TRANSITIONS", "State", "Transition"),
    ".journal._audit": ("AuditReport", "Violation", "audit"),
    ".journal._book": ("OrderBook",),
    ".journal._journal": ("Entry", "Journal", "JournalReader"),
    ".journal._replay": ("replay",),
    ".executors._async_executor": ("AsyncTradeExecutor",),
    ".executors._executor": ("TradeExecutor",),
    ".executors._recovery": ("Change", "RecoveryReport"),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}

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
    "CancelIncomplete",
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
    "OrderArchived",
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


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
