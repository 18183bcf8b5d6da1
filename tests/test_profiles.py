"""Exchange profiles: every name they use exists in ccxt, and the quirks they describe are
recognised where the executor meets them (duplicate answers, client-id rules)."""

from __future__ import annotations

import inspect
import random
import re
import string

import ccxt
import pytest

from fsm_executor import ExecutionConfig, FakeClock, InvalidInput, Order, OrderSpec, TradeExecutor
from fsm_executor.core._decide import NotFound, after_not_found, new_client_order_id
from fsm_executor.core._events import DeclareAbsent, Event, Resubmit
from fsm_executor.core._profiles import (
    DEFAULT,
    PROFILES,
    ExchangeProfile,
    LookupBy,
    Uniqueness,
    profile_for,
)
from fsm_executor.core._states import State
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


# -- What each exchange documents, and what the executor does with it ---------------------
#
# Stated once more from each exchange's documentation (the profile's ``source`` cites the
# same pages), and checked through the decisions the profile drives: a changed profile
# changes what the executor does on that exchange, and one of these says so.

_DAY = 86400.0

#: Whether a reused client order id is refused (or answered with the existing order)
#: forever: only then can a lost create be sent again without risk of a second order.
#: Binance "A unique id among open orders"; Bybit's orderLinkId is always unique; OKX
#: unique among pending orders; KuCoin names no scope; Gate does not enforce its text;
#: Kraken "verifies cl_ord_id uniqueness across open orders"; Coinbase answers a reused
#: client_order_id with the existing order; Bitget names no scope; Bitfinex "unique in the
#: day (UTC) (not enforced)"; HTX within 8 (or 24) hours; an unknown exchange: no promise.
REFUSED_FOREVER = {"binance": False, "bybit": True, "okx": False, "kucoin": False,
                   "gate": False, "kraken": False, "coinbase": True, "bitget": False,
                   "bitfinex": False, "htx": False, "default": False}

#: How long an order that ended without fills can still be looked up: Binance archives
#: them after 90 days; Bybit keeps them a day; OKX 2 hours; KuCoin 2-3 days; Gate finds a
#: text an hour after completion; Kraken and Coinbase, and an unknown exchange: a day (no
#: figure published); Bitget 90 days; Bitfinex's history two weeks; HTX 2 hours.
LOOKUP_WINDOW = {"binance": 90 * _DAY, "bybit": _DAY, "okx": 7200.0, "kucoin": 2 * _DAY,
                 "gate": 3600.0, "kraken": _DAY, "coinbase": _DAY, "bitget": 90 * _DAY,
                 "bitfinex": 14 * _DAY, "htx": 7200.0, "default": _DAY}

ALL_PROFILES = {**PROFILES, "default": DEFAULT}


def _in_doubt(state: State) -> Order:
    order = Order.from_spec(OrderSpec("fsmxD1", "BTC/USDT", "buy", "limit", "1", "10"), 0.0)
    order.state = state
    return order


def test_every_profile_has_its_documented_manners_here() -> None:
    assert set(REFUSED_FOREVER) == set(LOOKUP_WINDOW) == set(ALL_PROFILES)


@pytest.mark.parametrize("exchange", ALL_PROFILES)
def test_an_order_presumed_absent_is_sent_again_only_where_a_reused_id_is_refused_forever(
        exchange: str) -> None:
    decision, _ = after_not_found(_in_doubt(State.PRESUMED_ABSENT), NotFound(3, 100.0),
                                  ALL_PROFILES[exchange], ExecutionConfig(), 200.0, True)
    assert isinstance(decision, Resubmit) is REFUSED_FOREVER[exchange], decision


@pytest.mark.parametrize("exchange", ALL_PROFILES)
def test_an_order_presumed_absent_is_watched_until_the_exchange_stops_showing_it(
        exchange: str) -> None:
    profile, window = ALL_PROFILES[exchange], LOOKUP_WINDOW[exchange]
    absent = _in_doubt(State.PRESUMED_ABSENT)

    def decided(waited: float) -> Event | None:
        return after_not_found(absent, NotFound(3, 100.0), profile, ExecutionConfig(),
                               100.0 + waited, may_resend=False)[0]

    assert decided(window - 60) is None  # it could still show up
    assert isinstance(decided(window), DeclareAbsent)


@pytest.mark.parametrize("exchange", ALL_PROFILES)
def test_a_not_found_seconds_after_placement_is_never_taken_as_absence(exchange: str) -> None:
    # No exchange publishes its lag; Binance answers -2013 for orders it holds for seconds
    # after placing them (the paper venue imitates 5 s). Twenty seconds of it is no evidence.
    decision, wait = after_not_found(_in_doubt(State.SUBMIT_UNKNOWN), NotFound(5, 100.0),
                                     ALL_PROFILES[exchange], ExecutionConfig(), 120.0, True)
    assert decision is None and wait > 0


#: The longest client order id each exchange documents, and the characters it allows
#: (regex class contents): Binance ^[\.A-Z\:/a-z0-9_-]{1,36}$; Bybit up to 36 "numbers,
#: letters (upper and lower cases), dashes, and underscores"; OKX "case-sensitive
#: alphanumerics ... up to 32 characters"; KuCoin at most 40, "numbers, characters,
#: underline(_) and separator(-)"; Gate "no longer than 28 bytes without t- prefix", "0-9,
#: A-Z, a-z, underscore(_), hyphen(-) or dot(.)"; Kraken free text up to 18 characters
#: (or a UUID); Bitfinex an int45, so 13 digits at most are always one. HTX documents a
#: maximum of 64 characters and no alphabet; Coinbase and Bitget no rule at all (None:
#: the profile assumes the default's).
ID_RULES: dict[str, tuple[int | None, str | None]] = {
    "binance": (36, r"A-Za-z0-9.:/_-"), "bybit": (36, r"A-Za-z0-9_-"),
    "okx": (32, r"A-Za-z0-9"), "kucoin": (40, r"A-Za-z0-9_-"),
    "gate": (28, r"A-Za-z0-9_.-"), "kraken": (18, r" -~"), "htx": (64, None),
    "bitfinex": (13, r"0-9"), "coinbase": (None, None), "bitget": (None, None),
}
#: What our ids and a bot's prefix are made of: letters, digits, "-" and "_".
_OURS = string.ascii_letters + string.digits + "_-"


def test_every_profile_has_its_documented_client_id_rule_here() -> None:
    assert set(ID_RULES) == set(PROFILES)


@pytest.mark.parametrize("exchange", ID_RULES)
def test_client_ids_are_refused_exactly_where_the_exchange_documents_it_would(
        exchange: str) -> None:
    profile = PROFILES[exchange]
    longest, allowed = ID_RULES[exchange]
    if longest is None:  # undocumented: the default's
        longest = DEFAULT.client_id_max_length
    if allowed is None:
        allowed = DEFAULT.client_id_alphabet[1:-2]  # "[...]+": the class's contents
    documented = re.compile(f"[{allowed}]")
    start = "1" if exchange == "bitfinex" else "f"  # Gate: "t..." is ccxt's prefix
    for char in _OURS:
        if documented.fullmatch(char):  # accepted up to the documented length
            assert profile.check_client_id((start + char * longest)[:longest]), char
        else:
            assert not profile.check_client_id(start + char), char
    assert not profile.check_client_id(start * (longest + 1))


def test_an_unknown_exchange_is_taken_as_strict_as_any_documented_rule_of_its_length(
) -> None:
    # Ids of the configuration's default length fit (nothing is refused at start), and
    # whatever the default accepts, every exchange that documents a rule at least that
    # long accepts too.
    length = ExecutionConfig().client_order_id_max_length
    assert DEFAULT.check_client_id("f" * length)
    assert not DEFAULT.check_client_id("f" * (length + 1))
    for exchange, (longest, allowed) in ID_RULES.items():
        if longest is None or longest < length or allowed is None:
            continue
        documented = re.compile(f"[{allowed}]")
        for char in _OURS:
            if DEFAULT.check_client_id("f" + char):
                assert documented.fullmatch(char), (exchange, char)
