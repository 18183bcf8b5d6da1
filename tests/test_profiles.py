"""Exchange profiles: every name they use exists in ccxt, and the quirks they describe are
recognised where the executor meets them (duplicate answers, client-id rules)."""

from __future__ import annotations

import inspect
import random

import ccxt
import pytest

from fsm_executor import ExecutionConfig, FakeClock, InvalidInput, TradeExecutor
from fsm_executor.core._decide import new_client_order_id
from fsm_executor.core._profiles import (
    DEFAULT,
    PROFILES,
    ExchangeProfile,
    LookupBy,
    Uniqueness,
    profile_for,
)
from fsm_executor.exchange._errors import Kind, ccxt_exception_classes, translate

CCXT_CLASSES = {cls.__name__ for cls in ccxt_exception_classes()}


def _source(profile: ExchangeProfile) -> str:
    return inspect.getsource(getattr(ccxt, profile.id))


@pytest.mark.parametrize("profile", PROFILES.values(), ids=list(PROFILES))
def test_every_profile_names_a_ccxt_exchange_and_ccxt_error_classes(
        profile: ExchangeProfile) -> None:
    assert isinstance(getattr(ccxt, profile.id, None), type), f"no ccxt.{profile.id}"
    for answer in profile.duplicate_answers:
        assert answer.ccxt_class in CCXT_CLASSES, f"ccxt has no {answer.ccxt_class}"
    assert profile.source.startswith(f"ccxt/{profile.id}.py")


@pytest.mark.parametrize("profile", PROFILES.values(), ids=list(PROFILES))
def test_every_param_a_profile_names_is_read_by_that_ccxt_exchange(
        profile: ExchangeProfile) -> None:
    source = _source(profile)
    for param in {profile.client_id_param, profile.lookup_param} - {""}:
        assert f"'{param}'" in source, f"ccxt.{profile.id} never reads {param!r}"
    for answer in profile.duplicate_answers:
        if not answer.code:
            continue
        # A code ccxt maps arrives as the class it maps it to; one it does not map arrives
        # as a plain ExchangeError with the exchange's body in the message.
        mapped = f"'{answer.code}'" in source
        assert mapped == (answer.ccxt_class != "ExchangeError"), (
            f"ccxt.{profile.id}: code {answer.code} does not arrive as {answer.ccxt_class}")


@pytest.mark.parametrize("profile", PROFILES.values(), ids=list(PROFILES))
def test_the_default_client_ids_fit_every_profile_but_those_that_want_numbers(
        profile: ExchangeProfile) -> None:
    if profile.client_id_alphabet == "[0-9]+":  # Bitfinex: an integer cid, never ours
        assert not profile.check_client_id("f" * 16 + "0")
        return
    cid = new_client_order_id(ExecutionConfig(), 1.7e9, random.Random(1),
                              profile.client_id_max_length)
    assert profile.check_client_id(cid), f"{cid!r} does not fit {profile.id}"


def test_only_exchanges_that_refuse_a_reused_id_forever_make_a_resend_safe() -> None:
    safe = {p.id for p in PROFILES.values() if p.resend_safe}
    assert safe == {p.id for p in PROFILES.values() if p.uniqueness is Uniqueness.FOREVER}
    assert "binance" not in safe and "okx" not in safe and "kraken" not in safe
    assert not DEFAULT.resend_safe


def test_an_unknown_exchange_gets_the_conservative_default() -> None:
    assert profile_for(ccxt.bitstamp()) is DEFAULT
    assert profile_for(ccxt.binance()) is PROFILES["binance"]

    class Imitation:
        id = "paper"
        imitates = "okx"

    assert profile_for(Imitation()) is PROFILES["okx"]


@pytest.mark.parametrize("exchange, error", [
    ("binance", ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}')),
    ("okx", ccxt.InvalidOrder('okx {"code":"1","data":[{"sCode":"51016",'
                              '"sMsg":"Client order ID already exists."}]}')),
    ("kucoin", ccxt.BadRequest('kucoin {"code":"400100","msg":"clientOidDuplicated"}')),
    ("bybit", ccxt.InvalidOrder('bybit {"retCode":110072,"retMsg":"OrderLinkedID is '
                                'duplicate"}')),
    ("bybit", ccxt.InvalidOrder('bybit {"retCode":170141,"retMsg":"Duplicate '
                                'clientOrderId."}')),
])
def test_a_duplicate_id_answer_means_look_it_up_never_a_reject(
        exchange: str, error: Exception) -> None:
    assert translate(error, "create_order", PROFILES[exchange]).kind == Kind.DUPLICATE
    # Without the profile it would have been a reject: the profile is what recognises it.
    assert translate(error, "create_order").kind == Kind.REJECTED


def test_binance_2010_is_a_duplicate_only_when_its_message_says_so() -> None:
    binance = PROFILES["binance"]
    broke = ccxt.InsufficientFunds(
        'binance {"code":-2010,"msg":"Account has insufficient balance for requested action."}')
    assert translate(broke, "create_order", binance).kind == Kind.REJECTED
    other = ccxt.InvalidOrder('binance {"code":-1013,"msg":"Duplicate order sent."}')
    assert translate(other, "create_order", binance).kind == Kind.REJECTED


def test_an_executor_refuses_client_ids_the_exchange_would_reject_before_opening_anything(
        tmp_path: pytest.TempPathFactory) -> None:
    journal = tmp_path / "j.db"  # type: ignore[operator]
    with pytest.raises(InvalidInput, match="bitfinex"):
        TradeExecutor(ccxt.bitfinex(), journal, clock=FakeClock())
    assert not journal.exists()


def test_listing_lookups_are_used_where_fetch_order_ignores_the_client_id() -> None:
    listings = {p.id for p in PROFILES.values() if p.lookup is LookupBy.LISTINGS}
    assert {"bybit", "kraken", "coinbase", "bitfinex"} <= listings


def test_the_readme_shows_the_profiles_as_they_are() -> None:
    from pathlib import Path

    from fsm_executor.core._profiles import markdown_table

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert markdown_table() in readme, "README's profile table is stale: regenerate it"


def test_binance_documents_rate_limit_answers_as_refusals_before_execution() -> None:
    binance = PROFILES["binance"]
    limited = ccxt.DDoSProtection('binance 429 Too Many Requests {"code":-1003,"msg":"x"}')
    assert translate(limited, "create_order", binance).unprocessed
    unknown = ccxt.RequestTimeout('binance {"code":-1007,"msg":"Timeout waiting for '
                                  'response from backend server."}')
    assert not translate(unknown, "create_order", binance).unprocessed
    assert not translate(limited, "create_order", PROFILES["okx"]).unprocessed


def test_a_prefix_that_leaves_too_little_randomness_for_the_exchange_is_refused(
        tmp_path: pytest.TempPathFactory) -> None:
    # Kraken allows 18 characters: 9 of time and 5 random leave 4 for the prefix.
    config = {"client_order_id_prefix": "fsmxlong"}
    with pytest.raises(InvalidInput, match="kraken: .*a prefix of at most 4 characters"):
        TradeExecutor(ccxt.kraken(), tmp_path / "j.db", config,  # type: ignore[operator]
                      clock=FakeClock())
    TradeExecutor(ccxt.kraken(), tmp_path / "k.db", {"client_order_id_prefix": "fsm"},  # type: ignore[operator]
                  clock=FakeClock()).close()


def test_ids_for_a_short_limit_still_differ_within_one_millisecond() -> None:
    rng = random.Random(1)
    config = ExecutionConfig(client_order_id_prefix="abc")
    ids = {new_client_order_id(config, 1.7e9, rng, 18) for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 18 for i in ids)


class GateLike:
    """Answers as ccxt's gate does: our client order id comes back as Gate's ``text``."""

    id = "gate"
    has = {"fetchOrder": True, "fetchOpenOrders": True, "fetchClosedOrders": True}

    def fetch_order(self, id: str, symbol: str, params: dict[str, str]) -> dict[str, object]:
        return {"id": "77", "clientOrderId": "t-" + params["clientOrderId"], "status": "open",
                "symbol": symbol, "amount": 1.0, "filled": 0.0}

    def fetch_open_orders(self, *args: object) -> list[dict[str, object]]:
        return [{"id": "78", "clientOrderId": "t-fsmxOTHER", "status": "open"}]


def test_gate_echoes_our_client_id_behind_t_dash_and_the_lookup_still_finds_it() -> None:
    from fsm_executor import Order, OrderSpec
    from fsm_executor.exchange._exchange import ExchangeAdapter

    adapter = ExchangeAdapter(GateLike())
    order = Order.from_spec(OrderSpec("fsmxG1", "BTC/USDT", "buy", "limit", "1", "10"), 0.0)
    lookup = adapter.run(adapter.find(order))
    assert lookup.found is not None and lookup.found.id == "77" and lookup.odd == ()
    listed = adapter.run(adapter.open_orders("BTC/USDT"))
    assert [o.client_order_id for o in listed] == ["fsmxOTHER"]


@pytest.mark.parametrize(("seconds", "text"), [
    (0.0, "0 s"), (1.5, "1.5 s"), (90.0, "90 s"), (3_600.0, "1 h"), (5_400.0, "5400 s"),
    (7_200.0, "2 h"), (86_400.0, "1 d"), (3 * 86_400.0, "3 d"), (90_000.0, "25 h"),
])
def test_a_duration_reads_in_the_largest_whole_unit(seconds: float, text: str) -> None:
    from fsm_executor.core._profiles import _duration

    assert _duration(seconds) == text
