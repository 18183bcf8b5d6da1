"""Replay's fast path (core/_canonical.py, the fast branches of journal/_replay.py): for any
payload, the same order or event as the general path, or the general path's own refusal."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from strategies import mangled, payload_texts, written_payloads

from fsm_executor import Acknowledge, Fill, InvalidInput, Order, OrderSpec, Resubmit, Submit
from fsm_executor.core import _canonical
from fsm_executor.core._values import _POSITIVES, _TEXTS, _TEXTS_KEPT, to_decimal
from fsm_executor.journal import _replay
from fsm_executor.journal._replay import Rebuilder

#: Each fast reader, and the general ``from_payload`` it stands in for.
READERS: dict[str, tuple[Callable[[dict[str, Any]], Any], Callable[[dict[str, Any]], Any]]] = {
    "create": (lambda p: _canonical.created(p, 7.0), lambda p: Order.from_payload(p, 7.0)),
    "fill": (_canonical.trade, Fill.from_payload),
    "acknowledge": (_canonical.acknowledge, Acknowledge.from_payload),
    "submit": (_canonical.EVENTS["submit"], Submit.from_payload),
    "resubmit": (_canonical.EVENTS["resubmit"], Resubmit.from_payload),
}


def exactly(value: Any) -> str:
    """``value`` down to its types and digits: Decimal("0.5") and Decimal("0.50") are equal,
    1 and 1.0 too, but a replayed order must be the very same."""
    return repr(value)


def fast(read: Callable[[dict[str, Any]], Any], payload: dict[str, Any]) -> Any:
    """What the fast reader gives; None when it declines (as replay takes an error)."""
    try:
        return read(payload)
    except (ValueError, KeyError):
        return None


@settings(max_examples=400)
@given(st.sampled_from(sorted(READERS)).flatmap(
    lambda t: st.tuples(st.just(t), written_payloads[t].flatmap(mangled))))
def test_a_fast_reader_gives_what_from_payload_gives_or_declines(
        case: tuple[str, dict[str, Any]]) -> None:
    trigger, payload = case
    read, general = READERS[trigger]
    # As replay reads it: orjson's reading of the JSON text (integers beyond 64 bits come
    # back as floats there, and NaN is refused).
    try:
        decoded = orjson.loads(json.dumps(payload))
    except orjson.JSONDecodeError:
        event("not orjson's JSON")
        return
    got = fast(read, decoded)
    event(f"{trigger}: {'declined' if got is None else 'read'}")
    if got is not None:
        assert exactly(got) == exactly(general(json.loads(json.dumps(payload))))


@given(st.sampled_from(sorted(READERS)).flatmap(
    lambda t: st.tuples(st.just(t), written_payloads[t])))
def test_every_payload_the_book_writes_is_read_fast(case: tuple[str, dict[str, Any]]) -> None:
    trigger, payload = case
    read, general = READERS[trigger]
    text = json.dumps(payload, separators=(",", ":"))
    got = read(orjson.loads(text))
    assert got is not None
    assert exactly(got) == exactly(general(json.loads(text)))


@pytest.mark.parametrize(("value", "read"), [
    (2**64, True), (2**64 - 1, True), (2**63, True), (-(2**63), True), (-(2**63) - 1, True),
    (1e19, False), (1.5, True), (1700000000.25, True), (None, True), (True, False),
])
def test_a_timestamp_orjson_may_read_apart_from_json_is_declined(value: object,
                                                                 read: bool) -> None:
    # orjson reads an integer beyond 64 bits as a float (json keeps it an int): the fast
    # reader takes only floats that no integer could have become, and plain ints.
    payload = {**Fill("t1", "1", "2").to_payload(), "timestamp": value}
    decoded = orjson.loads(json.dumps(payload))
    got = _canonical.trade(decoded)
    if type(decoded["timestamp"]) is not type(value) or decoded["timestamp"] != value:
        assert got is None  # a decoder read it apart: declined
    elif read:
        assert got is not None and exactly(got) == exactly(Fill.from_payload(payload))
    else:
        assert got is None


#: One payload of each fast reader, as the book writes it.
WRITTEN: dict[str, dict[str, Any]] = {
    "create": OrderSpec("o1", "BTC/USDT", "buy", "limit", "0.5", "100", "s1").to_payload(),
    "fill": Fill("t1", "0.5", "100", "0.01", "BTC", 1.5).to_payload(),
    "acknowledge": Acknowledge("x1").to_payload(),
    "submit": {},
    "resubmit": {},
}
#: Values that orjson and json read apart: integers beyond 64 bits (a float in orjson, an
#: int in json), in containers too.
READ_APART = [2**64, -(2**63) - 1, [2**64], {"k": 2**64}]


@pytest.mark.parametrize(("trigger", "key", "value"), [
    (trigger, key, value) for trigger, payload in WRITTEN.items()
    for key in [*payload, "inferred", "more_fees", "extra"] for value in READ_APART
])
def test_a_value_two_decoders_read_apart_is_declined_wherever_it_is(
        trigger: str, key: str, value: object) -> None:
    read, general = READERS[trigger]
    text = json.dumps({**WRITTEN[trigger], key: value})
    got = fast(read, orjson.loads(text))
    assert got is None or exactly(got) == exactly(general(json.loads(text)))


@pytest.mark.parametrize(("trigger", "key", "value"), [
    ("fill", "inferred", True), ("fill", "cost", "1"), ("fill", "more_fees", {"BNB": "0.1"}),
    ("create", "extra", 1), ("acknowledge", "extra", None), ("submit", "reason", "x"),
])
def test_a_payload_with_a_key_more_is_read_as_the_general_path_reads_it(
        trigger: str, key: str, value: object) -> None:
    read, general = READERS[trigger]
    payload = {**WRITTEN[trigger], key: value}
    got = fast(read, orjson.loads(json.dumps(payload)))
    assert got is None or exactly(got) == exactly(general(payload))


@pytest.mark.parametrize("trigger", sorted(WRITTEN))
def test_a_payload_too_deep_for_json_fails_alike(trigger: str) -> None:
    # orjson reads up to 1,024 levels, json's scanner stops at the recursion limit: the fast
    # readers take only flat payloads, so such a row fails the same either way.
    deep = "[" * 1020 + "]" * 1020
    text = json.dumps({**WRITTEN[trigger], "extra": 0}).replace("0}", f"{deep}}}")
    # The order's rows up to this trigger's, whose payload is the deep one.
    rows = [(1, "o1", "create", "", "created", json.dumps(WRITTEN["create"]), 1.0),
            (2, "o1", "submit", "created", "pending_submit", "{}", 1.0),
            (3, "o1", "acknowledge", "pending_submit", "submitted", '{"exchange_order_id":"x"}',
             1.0),
            (4, "o1", "fill", "submitted", "partially_filled", "{}", 1.0)]
    at = {"create": 0, "submit": 1, "resubmit": 1, "acknowledge": 2, "fill": 3}[trigger]
    rows = [*rows[:at], (at + 1, "o1", trigger, *rows[at][3:5], text, 1.0)]
    with general_path_only(), pytest.raises(RecursionError):
        replayed(rows)
    with pytest.raises(RecursionError):
        replayed(rows)


@contextmanager
def general_path_only() -> Iterator[None]:
    """Replay with its fast branches switched off."""
    with mock.patch.object(_replay, "_FAST_EVENTS", {}), \
            mock.patch.object(_replay, "_created", lambda data, ts: None):
        yield


def replayed(rows: list[tuple[Any, ...]]) -> tuple[list[str | None], str]:
    rebuilder = Rebuilder()
    problems = [rebuilder.feed(row) for row in rows]
    return problems, exactly(rebuilder.orders)


#: Each trigger's (source, dest), as the table gives them along a plain lifecycle.
LIFECYCLE = [("create", "", "created"), ("submit", "created", "pending_submit"),
             ("acknowledge", "pending_submit", "submitted"),
             ("fill", "submitted", "partially_filled"),
             ("fill", "partially_filled", "filled")]


@st.composite
def journal_rows(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """The rows of one order's plain lifecycle, with payloads mostly as written, now and then
    a row out of place or of another order."""
    steps = LIFECYCLE[:draw(st.integers(1, len(LIFECYCLE)))]
    if draw(st.booleans()):
        steps.insert(draw(st.integers(0, len(steps))), draw(st.sampled_from(
            [*LIFECYCLE, ("resubmit", "presumed_absent", "pending_submit"),
             ("fill", "submitted", "filled"), ("create", "", "created")])))
    texts = [draw(payload_texts(trigger)) for trigger, _, _ in steps]
    # The order's id: its create row's (when that is readable), else any.
    ids = [data["client_order_id"] for text in texts
           if isinstance(data := _json_or_none(text), dict)
           and isinstance(data.get("client_order_id"), str)] or ["o1"]
    rows = []
    for seq, ((trigger, source, dest), text) in enumerate(zip(steps, texts, strict=True),
                                                         start=1):
        order_id = draw(st.sampled_from([ids[0]] * 19 + ["o2"]))
        rows.append((seq, order_id, trigger, source, dest, text,
                     draw(st.sampled_from([1.0, 1700000000.5]))))
    return rows


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


@settings(max_examples=300)
@given(journal_rows())
def test_replay_of_any_rows_is_the_general_paths_problems_and_orders(
        rows: list[tuple[Any, ...]]) -> None:
    with general_path_only():
        expected = replayed(rows)
    got = replayed(rows)
    event(f"{sum(p is None for p in got[0])} of {len(rows)} rows applied")
    assert got == expected


@pytest.mark.parametrize("payload", [
    '{"trade_id":"t1","amount":"-1","price":"100","fee_cost":"0","fee_currency":null,'
    '"timestamp":null}',
    '{"trade_id":"t1","amount":"abc","price":"100","fee_cost":"0","fee_currency":null,'
    '"timestamp":null}',
    '{"trade_id":"t1","amount":"1","price":"1e30","fee_cost":"0","fee_currency":null,'
    '"timestamp":null}',
    '{"trade_id":" ","amount":"1","price":"100","fee_cost":"0","fee_currency":null,'
    '"timestamp":null}',
    '{"trade_id":"t1","amount":"2","price":"100","fee_cost":"0","fee_currency":null,'
    '"timestamp":null}',  # overfills
    '{"trade_id":"t1","amount":"1","price":"100","fee_cost":"0","fee_currency":null}',
    ' {"trade_id":"t1","amount":"1","price":"100","fee_cost":"0","fee_currency":null,'
    '"timestamp":null}',
    '{"trade_id":"t1","amount":1,"price":"100","fee_cost":"0","fee_currency":null,'
    '"timestamp":null}',
    '{"trade_id":"t1","amount":"1","price":"100","fee_cost":"0","fee_currency":null,'
    '"timestamp":NaN}',
    '{"trade_id":"t1","amount":"1","price":"100","fee_cost":"0","fee_currency":null,'
    '"timestamp":1e999}',
    "{not json",
])
def test_a_refused_fill_gets_the_general_paths_words(payload: str) -> None:
    create = json.dumps({"client_order_id": "o1", "symbol": "X/Y", "side": "buy",
                         "type": "limit", "amount": "1", "price": "100", "signal_id": None})
    rows = [(1, "o1", "create", "", "created", create, 1.0),
            (2, "o1", "submit", "created", "pending_submit", "{}", 1.0),
            (3, "o1", "acknowledge", "pending_submit", "submitted",
             '{"exchange_order_id":"x1"}', 1.0),
            (4, "o1", "fill", "submitted", "filled", payload, 1.0)]
    with general_path_only():
        expected = replayed(rows)
    assert replayed(rows) == expected
    assert expected[0][:3] == [None, None, None]


_CREATE = ('"client_order_id":"o1","symbol":"X/Y","side":"buy","type":"limit","amount":"1",'
           '"price":"100","signal_id":null')


@pytest.mark.parametrize("payload", [
    f" {{{_CREATE}}}", f"{{{_CREATE}}} ", f"\n{{{_CREATE}}}\n",  # orjson takes the spaces
    "{" + _CREATE.replace('"amount":"1"', '"amount":"-1"') + "}", f"[{{{_CREATE}}}]",
    "{not json",
])
def test_a_refused_create_gets_the_general_paths_words(payload: str) -> None:
    rows = [(1, "o1", "create", "", "created", payload, 1.0)]
    with general_path_only():
        expected = replayed(rows)
    assert replayed(rows) == expected
    assert expected[0][0] is not None and expected[1] == exactly({})


def test_the_rows_the_book_writes_take_the_fast_path() -> None:
    order_id = "fsmx-1"
    create = json.dumps(OrderSpec(order_id, "BTC/USDT", "buy", "limit", "0.5", None,
                                  "s1").to_payload(), separators=(",", ":"))
    fill = json.dumps(Fill("t1", "0.1", "100", "0.01", "BTC", 1.5).to_payload(),
                      separators=(",", ":"))
    rows = [(1, order_id, "create", "", "created", create, 1.0),
            (2, order_id, "submit", "created", "pending_submit", "{}", 1.0),
            (3, order_id, "acknowledge", "pending_submit", "submitted",
             '{"exchange_order_id":"x1"}', 1.0),
            (4, order_id, "fill", "submitted", "partially_filled", fill, 1.0)]
    rebuilder = Rebuilder()
    with mock.patch.object(Rebuilder, "_decode", side_effect=AssertionError("slow")):
        assert [rebuilder.feed(row) for row in rows] == [None] * 4
    assert rebuilder.orders[order_id].filled == to_decimal("0.1")


def test_kept_text_conversions_stay_bounded_and_refusals_are_never_kept() -> None:
    for i in range(1, _TEXTS_KEPT + 100):
        assert to_decimal(f"{i}.5") == to_decimal(float(f"{i}.5"))
    assert len(_TEXTS) <= _TEXTS_KEPT and len(_POSITIVES) <= len(_TEXTS)
    for bad in ("abc", "NaN", "1e99", "x" * 61):
        with pytest.raises(ValueError):
            to_decimal(bad)
        assert bad not in _TEXTS
    assert to_decimal("-1") == -1 and "-1" in _TEXTS and "-1" not in _POSITIVES



def test_amounts_and_prices_no_conversion_kept_yet_are_read_fast_alike() -> None:
    # The kept conversions spare the converters only: text seen for the first time (after
    # the cache was emptied, say) gives the same order.
    payload = OrderSpec("o1", "BTC/USDT", "buy", "limit", "0.125", "61234.5").to_payload()
    for text in ("0.125", "61234.5"):
        _TEXTS.pop(text, None)
        _POSITIVES.pop(text, None)
    got = _canonical.created(payload, 7.0)
    assert got is not None
    assert exactly(got) == exactly(Order.from_payload(payload, 7.0))
    assert (got.amount, got.price) == (to_decimal("0.125"), to_decimal("61234.5"))


@pytest.mark.parametrize("field", ["client_order_id", "symbol"])
@pytest.mark.parametrize("text", ["", " ", "\t", "BTC\x00USDT"])
def test_a_blank_or_unprintable_id_or_symbol_is_left_to_the_general_paths_refusal(
        field: str, text: str) -> None:
    payload = {**OrderSpec("o1", "BTC/USDT", "buy", "limit", "1", "100").to_payload(),
               field: text}
    assert _canonical.created(payload, 7.0) is None
    with pytest.raises(InvalidInput, match=f"not {re.escape(repr(text))}$"):
        Order.from_payload(payload, 7.0)
