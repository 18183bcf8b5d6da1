"""Every ccxt exception class is mapped, in one place, to what the executor does."""

from __future__ import annotations

import ccxt
import pytest

from fsm_executor import ExchangeFailure
from fsm_executor.exchange._errors import (
    CCXT_KINDS,
    Kind,
    ccxt_exception_classes,
    kind_of,
    translate,
)


def _all_ccxt_classes() -> set[type[BaseException]]:
    return set(ccxt_exception_classes())


def test_every_ccxt_exception_class_is_named_in_the_table() -> None:
    unmapped = sorted(c.__name__ for c in _all_ccxt_classes() if c.__name__ not in CCXT_KINDS)
    assert unmapped == [], f"ccxt classes with no decision: {unmapped}"


def test_the_table_names_no_class_ccxt_does_not_have() -> None:
    names = {c.__name__ for c in _all_ccxt_classes()}
    assert set(CCXT_KINDS) <= names


@pytest.mark.parametrize("cls, kind", [
    (ccxt.RequestTimeout, Kind.TRANSIENT), (ccxt.ExchangeNotAvailable, Kind.TRANSIENT),
    (ccxt.OnMaintenance, Kind.TRANSIENT), (ccxt.RateLimitExceeded, Kind.RATE_LIMITED),
    (ccxt.DDoSProtection, Kind.RATE_LIMITED), (ccxt.OrderNotFound, Kind.NOT_FOUND),
    (ccxt.DuplicateOrderId, Kind.DUPLICATE), (ccxt.InsufficientFunds, Kind.REJECTED),
    (ccxt.InvalidOrder, Kind.REJECTED), (ccxt.AuthenticationError, Kind.FATAL),
    (ccxt.BadSymbol, Kind.FATAL), (ccxt.OrderNotCached, Kind.TRANSIENT),
    # ChecksumError subclasses InvalidNonce in ccxt: a websocket book's checksum, no clock.
    (ccxt.InvalidNonce, Kind.CLOCK), (ccxt.ChecksumError, Kind.TRANSIENT),
])
def test_the_families_map_as_documented(cls: type[Exception], kind: Kind) -> None:
    assert kind_of(cls("x")) is kind


def test_an_exchange_specific_subclass_takes_its_nearest_ccxt_ancestor() -> None:
    class VenueTimeout(ccxt.RequestTimeout):
        pass

    class VenueMaintenance(ccxt.OnMaintenance):
        pass

    assert kind_of(VenueTimeout("x")) is Kind.TRANSIENT
    assert kind_of(VenueMaintenance("x")) is Kind.TRANSIENT


def test_a_foreign_exception_is_fatal_not_transient() -> None:
    assert kind_of(RuntimeError("boom")) is Kind.FATAL


def test_translate_keeps_the_class_and_message() -> None:
    failure = translate(ccxt.InsufficientFunds("balance too low"), "create_order")
    assert isinstance(failure, ExchangeFailure)
    assert failure.kind == "rejected"
    assert failure.ccxt_class == "InsufficientFunds"
    assert str(failure) == "create_order: InsufficientFunds: balance too low"


def test_the_tree_is_ccxts_own_classes_each_once_not_a_subclass_made_elsewhere() -> None:
    class OursOnTopOfCcxt(ccxt.NetworkError):  # a bot's own, or a plugin's
        pass

    classes = ccxt_exception_classes()
    assert OursOnTopOfCcxt not in classes
    assert all(c.__module__.startswith("ccxt") for c in classes)
    assert len({c.__name__ for c in classes}) == len(classes)
    assert ccxt.BaseError in classes and ccxt.RequestTimeout in classes
