"""Every ccxt exception class is mapped, in one place, to what the executor does."""

from __future__ import annotations

import random
from typing import Any

import ccxt
import pytest

from fsm_executor import ExchangeFailure, ExecutionConfig, Order, OrderSpec
from fsm_executor.core._decide import after_create_failure, backoff, is_retryable
from fsm_executor.core._events import Event, LoseAnswer, Reject
from fsm_executor.exchange._errors import (
    CCXT_KINDS,
    Kind,
    ccxt_exception_classes,
    kind_of,
    translate,
)
from fsm_executor.exchange._exchange import ExchangeAdapter


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


def test_a_foreign_exception_named_as_a_ccxt_class_is_fatal_all_the_same() -> None:
    # A bot's own NetworkError is no ccxt answer: retrying on its name alone could repeat
    # whatever raised it.
    class NetworkError(Exception):
        pass

    assert "NetworkError" in CCXT_KINDS and CCXT_KINDS["NetworkError"] is not Kind.FATAL
    assert kind_of(NetworkError("boom")) is Kind.FATAL


def test_without_a_profile_no_answer_counts_as_refused_before_execution() -> None:
    # Only an exchange's documented refusals are re-sent as never executed (its profile).
    failure = translate(ccxt.DDoSProtection("429 Too Many Requests"), "create_order")
    assert failure.kind == "rate_limited" and failure.unprocessed is False


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


# -- What the executor does with each answer ---------------------------------------------
#
# The groups follow ccxt's error hierarchy as its manual describes it (docs/Manual.md,
# "Error Hierarchy"): an ExchangeError is the exchange's definitive answer to this request;
# an OperationFailed (NetworkError, and the malformed or empty answers) leaves the outcome
# unknown; an account or environment that cannot trade (permissions, a suspended account,
# an unsupported call, a closed exchange object) stops the order for a person to look.


class Answering:
    """A ccxt exchange whose every request is answered with ``exc``."""

    id = "answering"
    has = {"fetchOrder": True, "fetchOpenOrders": True, "fetchClosedOrders": True}

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.sent: list[str] = []

    def create_order(self, *args: object) -> dict[str, Any]:
        self.sent.append("create_order")
        raise self.exc

    def fetch_order(self, *args: object) -> dict[str, Any]:
        self.sent.append("fetch_order")
        raise self.exc


def _create_answered(exc: BaseException) -> tuple[Event | None, ExchangeFailure, Answering]:
    """What the executor decides when a create is answered with ``exc``."""
    exchange = Answering(exc)
    adapter = ExchangeAdapter(exchange)
    order = Order.from_spec(OrderSpec("fsmxK1", "BTC/USDT", "buy", "limit", "1", "10"), 0.0)
    with pytest.raises(ExchangeFailure) as raised:
        adapter.run(adapter.create(order))
    return after_create_failure(raised.value, may_retry=True), raised.value, exchange


@pytest.mark.parametrize("cls", [
    ccxt.BaseError, ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountNotEnabled,
    ccxt.AccountSuspended, ccxt.ArgumentsRequired, ccxt.BadSymbol,
    ccxt.ManualInteractionNeeded, ccxt.RestrictedLocation, ccxt.InvalidAddress,
    ccxt.AddressPending, ccxt.NotSupported, ccxt.InvalidProxySettings,
    ccxt.ExchangeClosedByUser, ccxt.UnsubscribeError,
])
def test_an_answer_no_retry_can_mend_fails_the_order_for_a_person_to_look(
        cls: type[Exception]) -> None:
    decision, failure, exchange = _create_answered(cls("binance {}"))
    assert isinstance(decision, Reject) and decision.fatal, decision
    assert not is_retryable(failure)
    assert exchange.sent == ["create_order"]  # no clock resync, nothing sent again


@pytest.mark.parametrize("cls", [
    ccxt.ExchangeError, ccxt.BadRequest, ccxt.OperationRejected, ccxt.NoChange,
    ccxt.MarginModeAlreadySet, ccxt.MarketClosed, ccxt.InsufficientFunds, ccxt.InvalidOrder,
    ccxt.OrderImmediatelyFillable, ccxt.OrderNotFillable, ccxt.ContractUnavailable,
])
def test_a_definitive_refusal_fails_the_order_and_the_executor_goes_on(
        cls: type[Exception]) -> None:
    decision, failure, exchange = _create_answered(cls("binance {}"))
    assert isinstance(decision, Reject) and not decision.fatal, decision
    assert not is_retryable(failure)
    assert exchange.sent == ["create_order"]


@pytest.mark.parametrize("cls", [
    ccxt.OperationFailed, ccxt.NetworkError, ccxt.ExchangeNotAvailable, ccxt.OnMaintenance,
    ccxt.RequestTimeout, ccxt.BadResponse, ccxt.NullResponse, ccxt.CancelPending,
    ccxt.OrderNotCached, ccxt.ChecksumError,
])
def test_an_answer_that_leaves_the_outcome_unknown_is_looked_up_and_retried_at_backoff(
        cls: type[Exception]) -> None:
    decision, failure, _ = _create_answered(cls("binance {}"))
    assert isinstance(decision, LoseAnswer), decision  # in doubt: settled by a lookup
    assert is_retryable(failure)
    # The ordinary backoff, not a rate limit's cool-down.
    config = ExecutionConfig(retry_delay_seconds=1, rate_limit_cooldown_seconds=10, jitter=0)
    assert backoff(0, failure.kind, config, random.Random(0)) == 1


@pytest.mark.parametrize("cls", [ccxt.DDoSProtection, ccxt.RateLimitExceeded])
def test_a_rate_limit_waits_at_least_the_cool_down(cls: type[Exception]) -> None:
    decision, failure, _ = _create_answered(cls("binance {}"))
    assert isinstance(decision, LoseAnswer), decision
    config = ExecutionConfig(retry_delay_seconds=1, rate_limit_cooldown_seconds=10, jitter=0)
    assert backoff(0, failure.kind, config, random.Random(0)) == 10
