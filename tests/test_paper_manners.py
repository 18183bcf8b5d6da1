"""The paper venue is as unkind as the exchange it imitates: each manner, pinned."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import ccxt
import pytest

from fsm_executor import FakeClock
from fsm_executor.venue._paper import MANNERS, PaperExchange

BTC = "BTC/USDT"


@pytest.fixture
def binance(clock: FakeClock) -> Iterator[PaperExchange]:
    venue = PaperExchange(clock, seed=1, fill_probability=1.0)
    yield venue
    venue.close()


def resting(venue: PaperExchange, cid: str) -> dict[str, object]:
    return venue.create_order(BTC, "limit", "buy", 0.01, 25000, {"clientOrderId": cid})


def test_binance_is_the_default_and_a_new_order_is_invisible_for_its_lag(
        binance: PaperExchange, clock: FakeClock) -> None:
    assert binance.imitates == "binance" and binance.manners.visibility_lag == 5.0
    placed = resting(binance, "a")
    with pytest.raises(ccxt.OrderNotFound, match='"code":-2013,"msg":"Order does not exist."'):
        binance.fetch_order("", BTC, {"clientOrderId": "a"})
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        binance.fetch_order(placed["id"], BTC)
    with pytest.raises(ccxt.OrderNotFound, match='"code":-2011,"msg":"Unknown order sent."'):
        binance.cancel_order(placed["id"], BTC)
    assert binance.fetch_open_orders(BTC) == []
    assert len(binance.orders_for_client_id("a")) == 1  # the venue holds it all along
    clock.advance(5)
    assert binance.fetch_order("", BTC, {"clientOrderId": "a"})["id"] == placed["id"]
    assert [o["id"] for o in binance.fetch_open_orders(BTC)] == [placed["id"]]


def test_binance_order_answers_carry_no_trades_and_no_fee_but_the_create_does(
        binance: PaperExchange, clock: FakeClock) -> None:
    created = binance.create_order(BTC, "market", "buy", 0.01)
    assert created["trades"] and created["status"] == "closed"
    clock.advance(5)
    fetched = binance.fetch_order(created["id"], BTC)
    assert fetched["filled"] == 0.01 and fetched["trades"] == []
    assert fetched["fee"] is None and fetched["fees"] == []


def test_binance_lists_trades_late_while_the_filled_already_counts_them(
        binance: PaperExchange, clock: FakeClock) -> None:
    created = binance.create_order(BTC, "market", "buy", 0.01)
    assert binance.fetch_my_trades(BTC, params={"orderId": created["id"]}) == []
    clock.advance(2)
    listed = binance.fetch_my_trades(BTC, params={"orderId": created["id"]})
    assert sum(t["amount"] for t in listed) == pytest.approx(0.01)


def test_binance_refuses_a_client_id_as_invalid_order_only_while_its_order_is_open(
        binance: PaperExchange) -> None:
    resting(binance, "dup")
    with pytest.raises(ccxt.InvalidOrder, match='"code":-2010,"msg":"Duplicate order sent."'):
        resting(binance, "dup")
    done = binance.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "m"})
    assert done["status"] == "closed"
    again = binance.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "m"})
    assert len(binance.orders_for_client_id("m")) == 2 and again["id"] != done["id"]


def test_binance_cancel_answers_carry_the_cancels_own_client_id(
        binance: PaperExchange, clock: FakeClock) -> None:
    placed = resting(binance, "mine")
    clock.advance(5)
    answer = binance.cancel_order(placed["id"], BTC)
    assert answer["status"] == "canceled"
    assert answer["clientOrderId"] != "mine"
    assert answer["info"]["origClientOrderId"] == "mine"


def test_okx_answers_a_duplicate_with_51016_and_its_orders_carry_their_fee(
        clock: FakeClock) -> None:
    venue = PaperExchange(clock, seed=1, imitate="okx")
    resting(venue, "x")
    with pytest.raises(ccxt.InvalidOrder, match="51016"):
        resting(venue, "x")
    clock.advance(1)
    assert venue.fetch_order("", BTC, {"clientOrderId": "x"})["fee"] is not None
    with pytest.raises(ccxt.OrderNotFound, match="51603"):
        venue.fetch_order("", BTC, {"clientOrderId": "nope"})


def test_bybit_refuses_a_reused_client_id_forever(clock: FakeClock) -> None:
    venue = PaperExchange(clock, seed=1, imitate="bybit")
    venue.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "once"})
    with pytest.raises(ccxt.InvalidOrder, match="170141"):
        venue.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "once"})
    assert len(venue.orders_for_client_id("once")) == 1


def test_unknown_manners_and_negative_lags_are_refused(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="unknown manners 'kind'"):
        PaperExchange(clock, imitate="kind")
    with pytest.raises(ValueError, match="must be >= 0"):
        PaperExchange(clock, visibility_lag=-1)


def test_binance_lists_only_filled_orders_as_closed_as_ccxt_does(
        binance: PaperExchange, clock: FakeClock) -> None:
    cancelled = resting(binance, "c")
    filled = binance.create_order(BTC, "market", "buy", 0.01)
    clock.advance(5)
    binance.cancel_order(cancelled["id"], BTC)
    assert [o["id"] for o in binance.fetch_closed_orders(BTC)] == [filled["id"]]
    assert binance.fetch_order(cancelled["id"], BTC)["status"] == "canceled"
    # allOrders lists every status.
    assert [o["status"] for o in binance.fetch_orders(BTC)] == ["canceled", "closed"]


def test_every_profile_lists_trades_with_ids_unless_told_not_to(clock: FakeClock) -> None:
    assert all(m.trade_ids for m in MANNERS.values())
    venue = PaperExchange(clock, seed=1, trade_ids=False, trade_lag=0)
    assert venue.manners == attrs.evolve(MANNERS["binance"], trade_ids=False, trade_lag=0.0)
    created = venue.create_order(BTC, "market", "buy", 0.01)
    assert created["trades"] and {t["id"] for t in created["trades"]} == {None}
    assert {t["id"] for t in venue.fetch_my_trades(BTC)} == {None}
    okx = PaperExchange(clock, seed=1, imitate="okx", trade_lag=0)
    okx.create_order(BTC, "market", "buy", 0.01)
    assert all(t["id"] is not None for t in okx.fetch_my_trades(BTC))
