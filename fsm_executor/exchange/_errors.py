"""The one place ccxt exceptions are translated into what the executor does about them.

    transient     the request may not have been processed: retry with backoff. On a
                  *create*, it means the outcome is unknown: look the order up first.
    rate_limited  transient, with a longer cool-down (RateLimitExceeded, DDoSProtection).
    not_found     the exchange's definitive "no such order" (OrderNotFound). Only this
                  counts as not found; a network error never does.
    duplicate     an order with this client order id exists already: DuplicateOrderId, or
                  the exchange's own duplicate answer as its profile names it (Binance's
                  -2010 "Duplicate order sent." arrives as InvalidOrder). "Look it up."
    rejected      the exchange's definitive no to this order (InsufficientFunds,
                  InvalidOrder, ...): the order fails, with the exchange's reason.
    fatal         the order fails, and so does the run: keys, permissions, a bad symbol,
                  an unsupported call. Not a normal exchange reject; a person must look.
    clock         the exchange refused the request's timestamp or nonce (InvalidNonce:
                  Binance's -1021). Never reaches the executor: ExchangeAdapter resyncs
                  ccxt's clock offset and sends the request once more, and a second refusal
                  becomes ClockSkew, which is fatal. Retrying with backoff cannot mend a
                  clock.

tests/test_errors.py fails when ccxt grows a class this table does not name, so a ccxt
upgrade cannot slip an unclassified error through.
"""

from __future__ import annotations

from typing import Final

import ccxt

from ..core._answers import Kind
from ..core._exceptions import ExchangeFailure
from ..core._profiles import ExchangeProfile

K = Kind
#: Every class of ccxt's exception tree, by name (ccxt moves them between releases).
CCXT_KINDS: Final[dict[str, Kind]] = {
    "BaseError": K.FATAL,
    "ExchangeError": K.REJECTED,
    "AuthenticationError": K.FATAL,
    "PermissionDenied": K.FATAL,
    "AccountNotEnabled": K.FATAL,
    "AccountSuspended": K.FATAL,
    "ArgumentsRequired": K.FATAL,
    "BadRequest": K.REJECTED,
    "BadSymbol": K.FATAL,
    "OperationRejected": K.REJECTED,
    "NoChange": K.REJECTED,
    "MarginModeAlreadySet": K.REJECTED,
    "MarketClosed": K.REJECTED,
    "ManualInteractionNeeded": K.FATAL,
    "RestrictedLocation": K.FATAL,
    "InsufficientFunds": K.REJECTED,
    "InvalidAddress": K.FATAL,
    "AddressPending": K.FATAL,
    "InvalidOrder": K.REJECTED,
    "OrderNotFound": K.NOT_FOUND,
    # "Not in ccxt's cache" says nothing about the exchange: not a definitive answer.
    "OrderNotCached": K.TRANSIENT,
    "OrderImmediatelyFillable": K.REJECTED,
    "OrderNotFillable": K.REJECTED,
    "DuplicateOrderId": K.DUPLICATE,
    "ContractUnavailable": K.REJECTED,
    "NotSupported": K.FATAL,
    "InvalidProxySettings": K.FATAL,
    "ExchangeClosedByUser": K.FATAL,
    "OperationFailed": K.TRANSIENT,
    "NetworkError": K.TRANSIENT,
    "DDoSProtection": K.RATE_LIMITED,
    "RateLimitExceeded": K.RATE_LIMITED,
    "ExchangeNotAvailable": K.TRANSIENT,
    "OnMaintenance": K.TRANSIENT,
    "InvalidNonce": K.CLOCK,
    "ChecksumError": K.TRANSIENT,
    "RequestTimeout": K.TRANSIENT,
    "BadResponse": K.TRANSIENT,
    "NullResponse": K.TRANSIENT,
    "CancelPending": K.TRANSIENT,
    "UnsubscribeError": K.FATAL,
}


def ccxt_exception_classes() -> list[type[BaseException]]:
    """Every class of ccxt's exception tree, by name."""
    found: dict[str, type[BaseException]] = {}
    todo: list[type[BaseException]] = [ccxt.BaseError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("ccxt") and cls.__name__ not in found:
            found[cls.__name__] = cls
            todo.extend(cls.__subclasses__())
    return [found[name] for name in sorted(found)]


def kind_of(exc: BaseException) -> Kind:
    """How to treat ``exc``: by its own class, else its nearest named ccxt ancestor
    (exchange-specific subclasses), else fatal."""
    for cls in type(exc).__mro__:
        if cls.__module__.startswith("ccxt") and cls.__name__ in CCXT_KINDS:
            return CCXT_KINDS[cls.__name__]
    return Kind.FATAL


def translate(exc: BaseException, action: str,
              profile: ExchangeProfile | None = None) -> ExchangeFailure:
    """The project's exception for a ccxt one; raise it ``from exc``. The exchange's
    profile recognises its duplicate-id answers, which arrive as generic classes
    (InvalidOrder, BadRequest, ExchangeError)."""
    name = type(exc).__name__
    kind = kind_of(exc)
    unprocessed = False
    if profile is not None:
        names = [c.__name__ for c in type(exc).__mro__]
        text = str(exc)
        if profile.is_duplicate(names, text):
            kind = Kind.DUPLICATE
        unprocessed = profile.is_unprocessed(names, text)
    return ExchangeFailure(kind.value, f"{action}: {name}: {exc}", name, unprocessed)


#: What ccxt raises, for ``except`` clauses at the edge.
CCXT_ERRORS: Final = (ccxt.BaseError,)
