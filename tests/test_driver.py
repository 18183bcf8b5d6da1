"""The order driver (core/_driver.py, core/_asking.py) driven directly, with scripted
answers: no executor, no exchange, no journal file (tests/driver_tools.py plays the loop).

Times are exact: the loop's monotonic clock starts at 1000 and CONFIG has no jitter
(timeout 6 s, polls 1 s apart, 2 retries from 0.5 s, a 3 s rate-limit cool-down, 2
not-found confirmations 2 s apart); BINANCE's grace is 5 s and its lookup window 20 s.
Property tests over generated answers are in test_driver_properties.py.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import attrs
import pytest
from driver_tools import (
    BINANCE,
    CONFIG,
    FOREVER,
    NOT_FOUND,
    Loop,
    Precision,
    Script,
    acknowledged,
    exchange_id,
    failure,
    found,
    lost,
    seen,
    spec,
)

from fsm_executor import (
    CancelRejected,
    ExchangeFailure,
    Fill,
    InvalidInput,
    LoseAnswer,
    Note,
    OrderInDoubt,
    PresumeAbsent,
    RequestCancel,
    Resubmit,
    Signal,
    State,
    Submit,
    Withdraw,
)
from fsm_executor.core._actions import Op, Record, Request, Send, Wait
from fsm_executor.core._answers import Kind, MarketRules
from fsm_executor.core._driver import Driver, Goal
from fsm_executor.core._memory import CANCEL_SENT, CREATE_REFUSED
from fsm_executor.core._memory import NOT_FOUND as NOT_FOUND_NOTE
from fsm_executor.core._reconcile import reconcile

CLOSED = seen(status="closed", filled="1")
CANCELED = seen(status="canceled", filled="0")
RULES = MarketRules("BTC/USDT", "BTC", "USDT", None, None, None, None, None, Decimal("0.01"))
SIGNAL = Signal("s1", "BTC/USDT", "buy", "1", "100")


def records(loop: Loop, trigger: str) -> list[float]:
    """When rows with ``trigger`` were committed."""
    return [s.mono for s in loop.trace if isinstance(s.action, Record | Send)
            and any(e.trigger == trigger for e in s.action.rows)]


# -- write-ahead -----------------------------------------------------------------------------

def test_the_create_leaves_with_its_submit_row_committed_and_counted() -> None:
    loop = Loop(answer=Script(create=[seen()], fetch=[CLOSED], trades=[None]))
    loop.open(spec())
    assert loop.run(loop.driver.drive("c1", Goal.ENDED)).state is State.FILLED
    (create,) = loop.sends(Op.CREATE)
    assert isinstance(create.action, Send) and create.action.rows == (Submit(),)
    assert create.before is not None and create.before.state is State.CREATED
    # What the exchange was asked about is the order as journaled with the row.
    assert create.after is not None and create.after.state is State.PENDING_SUBMIT
    assert create.memory.sends == 1


def test_a_create_refused_before_execution_is_sent_again_after_the_cool_down_with_a_note_first(
) -> None:
    limited = failure(Kind.RATE_LIMITED, unprocessed=True, retry_after=7.0)
    loop = Loop(answer=Script(create=[limited, CLOSED], trades=[None]))
    loop.open(spec())
    assert loop.run(loop.driver.drive("c1", Goal.ENDED)).state is State.FILLED
    first, second = loop.sends(Op.CREATE)
    assert isinstance(second.action, Send)
    assert [type(e) for e in second.action.rows] == [Note]
    assert second.action.rows[0].kind == CREATE_REFUSED  # type: ignore[union-attr]
    assert second.action.rows[0].detail == (  # type: ignore[union-attr]
        f"not executed, sent again: {limited}")
    # Retry-After (7 s) is longer than the cool-down (3 s): it wins, for every request.
    assert second.mono - first.mono == 7.0 and loop.driver.cool_until == 1007.0
    assert second.memory.sends == 2
    assert "lose_answer" not in loop.triggers("c1")


def test_each_rate_limited_create_cools_down_by_its_own_attempts_backoff_and_is_counted(
) -> None:
    # A cool-down shorter than the backoff: the backoff of each attempt shows.
    config = attrs.evolve(CONFIG, rate_limit_cooldown_seconds=0.1)
    limited = failure(Kind.RATE_LIMITED, unprocessed=True)
    loop = Loop(config, answer=Script(create=[limited, limited, CLOSED], trades=[None]))
    loop.open(spec())
    assert loop.run(loop.driver.drive("c1", Goal.ENDED)).state is State.FILLED
    # 0.5 s after the first refusal (attempt 0), 1 s after the second.
    assert [s.mono for s in loop.sends(Op.CREATE)] == [1000.0, 1000.5, 1001.5]
    assert loop.driver.stats["retries"] == 2


def test_a_create_waits_out_a_cool_down_another_request_started() -> None:
    loop = Loop(answer=Script(create=[CLOSED], trades=[None]))
    loop.open(spec())
    loop.driver.cool_until = 1004.0  # a rate limit met by another order's request
    loop.run(loop.driver.drive("c1", Goal.ENDED))
    assert [s.mono for s in loop.sends(Op.CREATE)] == [1004.0]


def test_a_create_refused_before_execution_every_time_fails_after_max_retries_resends() -> None:
    refused = failure(Kind.TRANSIENT, unprocessed=True)
    loop = Loop(answer=Script(create=[refused]))
    loop.open(spec())
    order = loop.run(loop.driver.drive("c1", Goal.ENDED))
    assert (order.state, order.failure) == (State.FAILED, "rejected")
    assert len(loop.sends(Op.CREATE)) == CONFIG.max_retries + 1
    # Backoff between them: 0.5 s, then 1 s.
    assert [s.mono for s in loop.sends(Op.CREATE)] == [1000.0, 1000.5, 1001.5]


def test_every_cancel_request_retries_included_carries_its_cancel_sent_note() -> None:
    transient = failure(Kind.TRANSIENT)
    loop = Loop(answer=Script(cancel=[transient, transient, None], fetch=[CANCELED]))
    acknowledged(loop)
    assert loop.run(loop.driver.cancel("c1")).state is State.CANCELLED
    cancels = loop.sends(Op.CANCEL)
    assert len(cancels) == 3
    for n, step in enumerate(cancels, 1):
        assert isinstance(step.action, Send)
        assert step.action.rows == (Note(CANCEL_SENT, f"cancel request {n}"),)
        assert step.memory.cancels == n


# -- ambiguity is a state --------------------------------------------------------------------

def test_a_lost_create_is_looked_up_and_presumed_absent_only_past_the_grace_never_resent(
) -> None:
    loop = Loop(answer=Script(create=[failure(Kind.TRANSIENT)], find=[NOT_FOUND]))
    loop.open(spec())
    order = loop.run(loop.driver.drive("c1", Goal.ENDED))
    assert order.state is State.PRESUMED_ABSENT
    assert len(loop.sends(Op.CREATE)) == 1
    # Two confirmations 2 s apart, then one more once the 5 s grace has passed.
    assert [s.mono for s in loop.sends(Op.FIND)] == [1000.0, 1002.0, 1005.0]
    assert records(loop, "presume_absent") == [1005.0]
    # Each lookup counted, in the words an auditor reads.
    assert [e.detail for e in loop.rows("c1") if isinstance(e, Note)] == [
        f"lookup {n}: the exchange has no order with this client order id" for n in (1, 2, 3)]


def test_not_found_answers_inside_the_grace_end_nothing_however_many() -> None:
    config = attrs.evolve(CONFIG, not_found_confirmations=1, not_found_interval_seconds=0.5)
    loop = Loop(config, answer=Script(find=[NOT_FOUND]))
    lost(loop)
    loop.run(loop.driver.drive("c1", Goal.ENDED))
    # One answer is enough evidence here, but not inside the grace: the next lookup waits.
    assert [s.mono for s in loop.sends(Op.FIND)] == [1000.0, 1005.0]
    assert records(loop, "presume_absent") == [1005.0]


def test_a_presumed_absent_order_fails_only_once_the_lookup_window_has_passed() -> None:
    loop = Loop(answer=Script(find=[NOT_FOUND]))
    lost(loop)
    loop.run(loop.driver.drive("c1", Goal.ENDED))
    assert loop.driver.stats["presumed_absent"] == 1
    loop.advance(19.0 - (loop.mono - 1000.0))  # 19 s after the placement left
    assert loop.run(loop.driver.bring_up_to_date("c1", None)).state is State.PRESUMED_ABSENT
    loop.advance(1.0)
    order = loop.run(loop.driver.drive("c1", Goal.ENDED))
    assert (order.state, order.failure) == (State.FAILED, "absent")
    assert records(loop, "declare_absent") == [1020.0]
    assert not loop.sends(Op.CREATE)
    # Counted as settled (the doubt resolved: never placed), once; presumed once.
    assert (loop.driver.stats["unknown_resolved"], loop.driver.stats["presumed_absent"]) == (
        1, 1)
    # Nothing left to wait for once it is presumed absent: no empty wait taken.
    assert not [s for s in loop.trace if isinstance(s.action, Wait) and s.action.seconds <= 0]


def test_lookups_wait_the_not_found_interval_between_them_however_short() -> None:
    config = attrs.evolve(CONFIG, not_found_confirmations=3, not_found_interval_seconds=0.5)
    loop = Loop(config, answer=Script(find=[NOT_FOUND]))
    lost(loop)
    loop.run(loop.driver.drive("c1", Goal.ENDED))
    assert [s.mono for s in loop.sends(Op.FIND)][:3] == [1000.0, 1000.5, 1001.0]


def test_a_lost_create_on_an_exchange_refusing_reused_ids_forever_is_resent_with_a_resubmit_row(
) -> None:
    loop = Loop(profile=FOREVER, answer=Script(create=[failure(Kind.TRANSIENT), seen()],
                                               find=[NOT_FOUND], fetch=[CLOSED], trades=[None]))
    loop.open(spec())
    assert loop.run(loop.driver.drive("c1", Goal.ENDED)).state is State.FILLED
    first, again = loop.sends(Op.CREATE)
    assert isinstance(again.action, Send) and again.action.rows == (Resubmit(),)
    assert again.before is not None and again.before.state is State.PRESUMED_ABSENT
    assert again.memory.sends == 2 and again.memory.not_found == 0


def test_a_lost_create_is_resent_max_retries_times_at_most_each_after_its_backoff() -> None:
    loop = Loop(profile=FOREVER, answer=Script(create=[failure(Kind.TRANSIENT)],
                                               find=[NOT_FOUND]))
    loop.open(spec())
    order = loop.run(loop.driver.drive("c1", Goal.ENDED))
    # Every answer lost, never found: sent three times in all (two re-sends), then watched.
    assert order.state is State.PRESUMED_ABSENT
    # Each re-send once presumed absent (5 s, the grace) and its backoff: 0.5 s, then 1 s.
    assert [s.mono for s in loop.sends(Op.CREATE)] == [1000.0, 1005.5, 1011.5]
    assert loop.triggers("c1").count("resubmit") == 2 == loop.driver.stats["resubmits"]


def test_the_backoff_before_a_resend_is_jittered_as_configured() -> None:
    config = attrs.evolve(CONFIG, jitter=0.5)
    loop = Loop(config, FOREVER, Script(create=[failure(Kind.TRANSIENT), seen()],
                                        find=[NOT_FOUND], fetch=[CLOSED], trades=[None]))
    loop.open(spec())
    assert loop.run(loop.driver.drive("c1", Goal.ENDED)).state is State.FILLED
    first, again = loop.sends(Op.CREATE)
    delay = again.mono - 1005.0  # presumed absent at 1005: the 0.5 s backoff, jittered
    assert 0.25 <= delay <= 0.75 and delay != 0.5


def test_a_duplicate_id_answer_to_a_create_is_looked_up_never_taken_as_a_reject() -> None:
    loop = Loop(answer=Script(create=[failure(Kind.DUPLICATE)], find=[found()],
                              fetch=[CLOSED], trades=[None]))
    loop.open(spec())
    assert loop.run(loop.driver.drive("c1", Goal.ENDED)).state is State.FILLED
    assert loop.triggers("c1")[:3] == ["submit", "lose_answer", "acknowledge"]


def test_a_create_answered_without_an_order_id_is_in_doubt_for_that_reason_and_looked_up(
) -> None:
    loop = Loop(answer=Script(create=[seen(id=None)], find=[found()], fetch=[CLOSED],
                              trades=[None]))
    loop.open(spec())
    assert loop.run(loop.driver.drive("c1", Goal.ENDED)).state is State.FILLED
    assert len(loop.sends(Op.CREATE)) == 1
    assert loop.triggers("c1")[:4] == ["submit", "note", "lose_answer", "acknowledge"]
    lose = next(e for e in loop.rows("c1") if isinstance(e, LoseAnswer))
    # Said as it was, not as a run interrupted before it could record the answer.
    assert "without an order id" in lose.reason and "interrupted" not in lose.reason


def test_a_lookup_the_exchange_never_answers_is_no_evidence_and_raises_order_in_doubt() -> None:
    loop = Loop(answer=Script(find=[failure(Kind.TRANSIENT)]))
    lost(loop)
    with pytest.raises(OrderInDoubt) as raised:
        loop.run(loop.driver.drive("c1", Goal.ENDED))
    assert raised.value.state == "submit_unknown"
    assert len(loop.sends(Op.FIND)) == CONFIG.max_retries + 1
    assert NOT_FOUND_NOTE not in loop.notes("c1")
    assert loop.get("c1").state is State.SUBMIT_UNKNOWN


# -- retries and the cool-down ---------------------------------------------------------------

LISTING = Request(Op.OPEN_ORDERS, symbol="BTC/USDT")


def test_a_transient_failure_is_retried_with_exponential_backoff() -> None:
    transient = failure(Kind.TRANSIENT)
    loop = Loop(answer=Script(open_orders=[transient, transient, ["listed"]]))
    assert loop.run(loop.driver.ask(LISTING)) == ["listed"]
    assert [s.mono for s in loop.sends()] == [1000.0, 1000.5, 1001.5]


def test_transient_failures_are_retried_max_retries_times_then_given_up() -> None:
    loop = Loop(answer=Script(open_orders=[failure(Kind.TRANSIENT)]))
    assert loop.run(loop.driver.ask(LISTING)) is None
    assert len(loop.sends()) == CONFIG.max_retries + 1


@pytest.mark.parametrize("kind", [k for k in Kind if k not in (Kind.TRANSIENT,
                                                               Kind.RATE_LIMITED)])
def test_a_definitive_answer_is_never_retried(kind: Kind) -> None:
    loop = Loop(answer=Script(open_orders=[failure(kind), ["listed"]]))
    assert loop.run(loop.driver.ask(LISTING)) is None
    assert len(loop.sends()) == 1


@pytest.mark.parametrize("retry_after, cooled", [(None, 3.0), (1.0, 3.0), (7.0, 7.0)])
def test_a_rate_limit_cools_the_exchange_down_for_the_longer_of_retry_after_and_the_cool_down(
        retry_after: float | None, cooled: float) -> None:
    limited = failure(Kind.RATE_LIMITED, retry_after=retry_after)
    loop = Loop(answer=Script(open_orders=[limited, []]), latency=0.25)
    assert loop.run(loop.driver.ask(LISTING)) == []
    first, second = loop.sends()
    assert loop.driver.cool_until == 1000.25 + cooled  # from when the answer came back
    assert second.mono == loop.driver.cool_until


def test_a_rate_limit_met_by_the_last_retry_still_cools_the_exchange_down() -> None:
    # Regression (found by test_driver_properties): only a rate limit that was going to be
    # retried cooled the exchange; one met by the last attempt let the next request of
    # every order leave at once, Retry-After or not.
    limited = failure(Kind.RATE_LIMITED, retry_after=7.0)
    loop = Loop(answer=Script(open_orders=[limited, limited, limited, []]))
    assert loop.run(loop.driver.ask(LISTING)) is None
    last = loop.sends()[-1].mono
    assert loop.driver.cool_until == last + 7.0
    assert loop.run(loop.driver.ask(LISTING)) == []
    assert loop.sends()[-1].mono == last + 7.0


def test_a_rate_limited_create_whose_outcome_is_unknown_is_looked_up_after_the_cool_down(
) -> None:
    # Regression (found by test_driver_properties): a rate limit the exchange does not
    # document as a refusal before execution leaves the create in doubt; its lookup went
    # out at once, into the rate limit.
    limited = failure(Kind.RATE_LIMITED, retry_after=7.0)
    loop = Loop(answer=Script(create=[limited], find=[found(status="closed", filled="1")],
                              trades=[None]))
    loop.open(spec())
    assert loop.run(loop.driver.drive("c1", Goal.ENDED)).state is State.FILLED
    assert loop.triggers("c1")[:2] == ["submit", "lose_answer"]
    assert [s.mono for s in loop.sends(Op.FIND)] == [1007.0]
    assert loop.driver.stats["unknown_outcomes"] == 1


def test_every_create_whose_outcome_is_unknown_is_counted() -> None:
    lost = failure(Kind.TRANSIENT)
    loop = Loop(answer=Script(create=[lost, lost],
                              find=[found("c1", "closed", "1"), found("c2", "closed", "1")],
                              trades=[None, None]))
    for cid in ("c1", "c2"):
        loop.open(spec(cid))
        assert loop.run(loop.driver.drive(cid, Goal.ENDED)).state is State.FILLED
        assert loop.triggers(cid)[:2] == ["submit", "lose_answer"]
    assert loop.driver.stats["unknown_outcomes"] == 2


def test_one_orders_rate_limit_holds_the_requests_of_every_order_of_the_exchange() -> None:
    def answer(request: Request, order: object) -> object:
        if request.op is Op.FETCH and request.client_order_id == "a" and not limited:
            limited.append(loop.mono)
            raise failure(Kind.RATE_LIMITED, retry_after=7.0)
        if request.op is Op.FETCH:
            return seen(request.client_order_id or "", "open")
        return None  # the cancels: never confirmed, as the fetches say

    limited: list[float] = []
    loop = Loop(answer=answer, latency=0.25)
    acknowledged(loop, "a")
    loop.advance(0.5)
    acknowledged(loop, "b")
    results = loop.run_all([loop.driver.drive("a", Goal.ENDED),
                            loop.driver.drive("b", Goal.ENDED)])
    assert all(isinstance(r, OrderInDoubt) for r in results)  # never confirmed: see answer
    cool_until = limited[0] + 0.25 + 7.0
    assert [s for s in loop.sends() if limited[0] < s.mono < cool_until] == []
    assert any(s.cid == "b" and s.mono == cool_until for s in loop.sends())


# -- polls, the deadline, the cancel ---------------------------------------------------------

def test_aligned_polls_fall_on_the_poll_interval_grid_and_the_deadline_cancels() -> None:
    # Every fetch is a poll but the last, which confirms the cancel.
    loop = Loop(answer=Script(create=[seen()], fetch=[seen()] * 6 + [CANCELED], cancel=[None]),
                latency=0.125)
    loop.open(spec())
    order = loop.run(loop.driver.drive("c1", Goal.ENDED, aligned=True))
    assert order.state is State.CANCELLED
    polls = [s.mono for s in loop.sends(Op.FETCH) if s.request and s.request.listable]
    assert polls == [1001.0, 1002.0, 1003.0, 1004.0, 1005.0, 1006.0]
    # The create left at 1000: the timeout (6 s) runs out at 1006, seen once that poll is back.
    assert records(loop, "request_cancel") == [1006.125]
    after = [s.op for s in loop.sends() if s.mono > 1006.0]
    assert after == [Op.CANCEL, Op.FETCH]


def test_unaligned_polls_are_one_interval_after_the_last_answer() -> None:
    loop = Loop(answer=Script(create=[seen()], fetch=[seen(), seen(), CLOSED], trades=[None]),
                latency=0.125)
    loop.open(spec())
    loop.run(loop.driver.drive("c1", Goal.ENDED))
    assert [s.mono for s in loop.sends(Op.FETCH)] == [1001.125, 1002.25, 1003.375]


def test_the_last_poll_waits_only_until_the_deadline_not_a_whole_interval() -> None:
    config = attrs.evolve(CONFIG, order_timeout_seconds=2.5)
    loop = Loop(config, answer=Script(create=[seen()], fetch=[seen()] * 3 + [CANCELED],
                                      cancel=[None]))
    loop.open(spec())
    assert loop.run(loop.driver.drive("c1", Goal.ENDED)).state is State.CANCELLED
    # Polls at 1001 and 1002, the last half an interval later: at the deadline, kept.
    assert records(loop, "request_cancel") == [1002.5]
    (request_cancel,) = [e for e in loop.rows("c1") if isinstance(e, RequestCancel)]
    assert request_cancel.reason == "not filled within 2.5s: remainder cancelled"


def test_an_order_found_open_after_a_cancel_requested_in_doubt_is_cancelled_for_that_reason(
) -> None:
    loop = Loop(answer=Script(find=[NOT_FOUND]))
    lost(loop)
    with pytest.raises(OrderInDoubt):
        loop.run(loop.driver.cancel("c1"))
    loop.advance(1.0)
    loop.answer = Script(find=[found()], cancel=[None], fetch=[CANCELED])
    assert loop.run(loop.driver.drive("c1", Goal.ENDED)).state is State.CANCELLED
    # Long before its timeout: the cancel the bot asked for, in those words.
    assert [e.reason for e in loop.rows("c1") if isinstance(e, RequestCancel)] == [
        "cancel requested", "cancel requested"]


def test_the_deadline_runs_from_the_first_placement_as_journaled_across_a_restart() -> None:
    loop = Loop(answer=Script(fetch=[seen(), seen(), CANCELED], cancel=[None]))
    acknowledged(loop)
    loop.advance(4.0)
    # A new driver (a restarted process) knows the placement only from its journal row.
    loop.driver = Driver(CONFIG, BINANCE, random.Random(0))
    assert loop.run(loop.driver.drive("c1", Goal.ENDED)).state is State.CANCELLED
    assert records(loop, "request_cancel") == [1006.0]
    (request_cancel,) = [s for s in loop.trace if isinstance(s.action, Record)
                         and isinstance(s.action.rows[0], RequestCancel)]
    assert "not filled within 6s" in request_cancel.action.rows[0].reason  # type: ignore[union-attr]


def test_a_cancel_answered_not_found_is_settled_by_the_fetch_never_assumed() -> None:
    loop = Loop(answer=Script(cancel=[failure(Kind.NOT_FOUND)], fetch=[CLOSED], trades=[None]))
    acknowledged(loop)
    order = loop.run(loop.driver.cancel("c1"))
    assert order.state is State.FILLED and order.filled == 1
    assert [s.op for s in loop.sends()][:2] == [Op.CANCEL, Op.FETCH]


def test_a_cancel_never_confirmed_raises_order_in_doubt_once_its_budget_is_spent() -> None:
    loop = Loop(answer=Script(cancel=[None], fetch=[seen()]))
    acknowledged(loop)
    with pytest.raises(OrderInDoubt) as raised:
        loop.run(loop.driver.cancel("c1"))
    assert (raised.value.order_id, raised.value.state, raised.value.last_error) == (
        "c1", "pending_cancel", "the cancel is not confirmed after 3 attempts")
    assert len(loop.sends(Op.CANCEL)) == CONFIG.max_retries + 1
    # Each unconfirmed cancel is followed by a fetch, then a poll interval's wait.
    assert [s.mono for s in loop.sends(Op.CANCEL)] == [1000.0, 1001.0, 1002.0]


def test_cancels_the_exchange_could_not_see_yet_do_not_spend_the_budget() -> None:
    unseen = failure(Kind.NOT_FOUND)
    loop = Loop(answer=Script(cancel=[None], fetch=[unseen] * 4 + [CANCELED]))
    acknowledged(loop)
    assert loop.run(loop.driver.cancel("c1")).state is State.CANCELLED
    assert len(loop.sends(Op.CANCEL)) == 5 > CONFIG.max_retries + 1
    assert [e.detail for e in loop.rows("c1") if isinstance(e, Note)
            and e.kind == "cancel_unseen"] == ["fetch by exchange id: generated not_found"] * 4


def test_a_cancel_whose_fetch_fails_outside_the_grace_is_in_doubt() -> None:
    loop = Loop(answer=Script(cancel=[None], fetch=[failure(Kind.NOT_FOUND)]))
    acknowledged(loop)
    loop.advance(5.0)
    with pytest.raises(OrderInDoubt) as raised:
        loop.run(loop.driver.cancel("c1"))
    assert (raised.value.order_id, raised.value.state, raised.value.last_error) == (
        "c1", "pending_cancel", "generated not_found")
    assert loop.get("c1").state is State.PENDING_CANCEL


def test_a_cancel_refused_otherwise_than_not_found_or_rejected_is_in_doubt_in_its_words(
) -> None:
    loop = Loop(answer=Script(cancel=[failure(Kind.FATAL)]))
    acknowledged(loop)
    with pytest.raises(OrderInDoubt) as raised:
        loop.run(loop.driver.cancel("c1"))
    assert (raised.value.order_id, raised.value.state, raised.value.last_error) == (
        "c1", "pending_cancel", "generated fatal")
    assert [s.op for s in loop.sends()] == [Op.CANCEL]


def test_a_cancel_rejected_while_the_order_rests_is_journaled_in_the_exchanges_words() -> None:
    loop = Loop(answer=Script(cancel=[failure(Kind.REJECTED), None],
                              fetch=[seen(), CANCELED]))
    acknowledged(loop)
    assert loop.run(loop.driver.cancel("c1")).state is State.CANCELLED
    assert [e for e in loop.rows("c1") if isinstance(e, CancelRejected)] == [
        CancelRejected("generated rejected")]


@pytest.mark.parametrize("fetched", [
    pytest.param([seen(status="canceled", filled="0.5")], id="the_cancels_fetch"),
    pytest.param([seen(), seen(), seen(), seen(status="canceled", filled="0.5")],
                 id="the_fetch_past_its_budget"),
])
def test_the_trades_listed_after_a_cancel_are_journaled_as_the_orders_fills(
        fetched: list[object]) -> None:
    loop = Loop(answer=Script(cancel=[None], fetch=fetched,
                              trades=[[Fill("t1", "0.5", "100")]]))
    acknowledged(loop)
    order = loop.run(loop.driver.cancel("c1"))
    assert (order.state, order.filled) == (State.CANCELLED, Decimal("0.5"))
    # The exchange's trade, listed once: no fill inferred from the figures in between.
    assert [e for e in loop.rows("c1") if isinstance(e, Fill)] == [Fill("t1", "0.5", "100")]
    assert len(loop.sends(Op.TRADES)) == 1


# -- what the exchange said ----------------------------------------------------------------

@pytest.mark.parametrize("status, state", [
    ("canceled", State.CANCELLED), ("cancelled", State.CANCELLED),
    ("rejected", State.CANCELLED), ("expired", State.EXPIRED), ("closed", State.FILLED),
])
def test_an_acknowledged_order_ends_as_its_status_on_the_exchange_says(
        status: str, state: State) -> None:
    loop = Loop(answer=Script(fetch=[seen(status=status, filled=None)], trades=[None]))
    acknowledged(loop)
    assert loop.run(loop.driver.bring_up_to_date("c1", None)).state is state


@pytest.mark.parametrize("status", ["open", "new", "partially_filled", "canceling", None,
                                    "PENDING_NEW"])
def test_an_order_the_exchange_does_not_say_has_ended_goes_on(status: str | None) -> None:
    loop = Loop(answer=Script(fetch=[seen(status=status)]))
    acknowledged(loop)
    assert loop.run(loop.driver.bring_up_to_date("c1", None)).state is State.SUBMITTED


def test_an_order_in_doubt_found_rejected_fails_and_found_open_is_followed() -> None:
    loop = Loop(answer=Script(find=[found(status="rejected")]))
    lost(loop)
    assert loop.run(loop.driver.bring_up_to_date("c1", None)).failure == "rejected"
    loop = Loop(answer=Script(find=[found(status="open")]))
    lost(loop)
    order = loop.run(loop.driver.bring_up_to_date("c1", None))
    assert (order.state, order.exchange_order_id) == (State.SUBMITTED, exchange_id("c1"))


def test_trades_listed_without_a_filled_figure_stand_for_the_inferred_fill_not_on_top_of_it(
) -> None:
    # Regression (found by test_driver_properties): the exchange said filled 0.5 (no
    # trades listed yet: an inferred fill), then answered without a filled figure but
    # with the order's trades, 0.25 and 0.25. They were counted on top of the inferred
    # 0.5: the order ended filled (1) while the exchange never said more than 0.5.
    half = seen(filled="0.5")
    listed = attrs.evolve(seen(filled=None), trades=(Fill("t0", "0.25", "100"),
                                                      Fill("t1", "0.25", "100")))
    loop = Loop(answer=Script(fetch=[half, listed], trades=[None]))
    acknowledged(loop)
    loop.run(loop.driver.bring_up_to_date("c1", None))
    loop.run(loop.driver.bring_up_to_date("c1", None))
    order = loop.get("c1")
    assert (order.state, order.filled) == (State.PARTIALLY_FILLED, Decimal("0.5"))
    assert sorted(order.fills) == ["t0", "t1"]  # the trades replaced the inferred fill


def test_trades_listed_without_a_filled_figure_add_what_they_add() -> None:
    listed = attrs.evolve(seen(filled=None), trades=(Fill("t0", "0.25", "100"),
                                                      Fill("t1", "0.25", "100")))
    more = attrs.evolve(listed, trades=(*listed.trades, Fill("t2", "0.5", "100")))
    loop = Loop(answer=Script(fetch=[listed, more], trades=[None]))
    acknowledged(loop)
    loop.run(loop.driver.bring_up_to_date("c1", None))
    assert loop.get("c1").filled == Decimal("0.5")
    loop.run(loop.driver.bring_up_to_date("c1", None))
    assert (loop.get("c1").state, loop.get("c1").filled) == (State.FILLED, 1)


# -- notes ---------------------------------------------------------------------------------

def test_an_odd_answer_repeated_at_every_poll_is_noted_once() -> None:
    odd = [seen(status=None), seen(status="PENDING_NEW"), seen(status=None),
           seen(status="PENDING_NEW"), seen(status=None)]
    loop = Loop(answer=Script(create=[seen()], fetch=[*odd, CLOSED], trades=[None]))
    loop.open(spec())
    assert loop.run(loop.driver.drive("c1", Goal.ENDED)).state is State.FILLED
    notes = loop.notes("c1")
    assert (notes.count("status_missing"), notes.count("unknown_status")) == (1, 1)


def test_another_exchange_id_for_an_acknowledged_order_is_noted_once_and_changes_nothing(
) -> None:
    other = seen(status="canceled", id="E-other")
    loop = Loop(answer=Script(fetch=[other, other, other, CLOSED], trades=[None]))
    acknowledged(loop)
    order = loop.run(loop.driver.drive("c1", Goal.ENDED))
    assert order.state is State.FILLED and order.exchange_order_id == exchange_id("c1")
    assert loop.notes("c1").count("id_mismatch") == 1


def test_odd_answers_are_noted_again_by_a_new_driver() -> None:
    loop = Loop(answer=Script(fetch=[seen(status=None)]))
    acknowledged(loop)
    loop.run(loop.driver.bring_up_to_date("c1", None))
    loop.run(loop.driver.bring_up_to_date("c1", None))
    loop.driver = Driver(CONFIG, BINANCE, random.Random(0))  # a restart
    loop.run(loop.driver.bring_up_to_date("c1", None))
    assert loop.notes("c1").count("status_missing") == 2  # once per run


# -- the entry points ------------------------------------------------------------------------

def test_place_journals_the_order_then_drives_it() -> None:
    loop = Loop(answer=Script(rules=[RULES], create=[seen()], fetch=[CLOSED], trades=[None]))
    order = loop.run(loop.driver.place(SIGNAL, "c1", Precision(), Goal.ENDED))
    assert order.state is State.FILLED and order.price == Decimal("100.1")
    assert [s.op for s in loop.sends()][:2] == [Op.RULES, Op.CREATE]


def test_place_journals_nothing_when_the_rules_are_out_of_reach() -> None:
    loop = Loop(answer=Script(rules=[failure(Kind.TRANSIENT)]))
    with pytest.raises(ExchangeFailure):
        loop.run(loop.driver.place(SIGNAL, "c1", Precision(), Goal.ENDED))
    assert "c1" not in loop and not loop.journal


def test_place_journals_a_fatal_refusal_when_the_exchange_says_no_and_sends_nothing() -> None:
    loop = Loop(answer=Script(rules=[failure(Kind.FATAL)]))
    order = loop.run(loop.driver.place(SIGNAL, "c1", Precision(), Goal.ENDED))
    assert (order.state, order.failure) == (State.FAILED, "fatal")
    assert not loop.sends(Op.CREATE)


def test_cancel_of_an_order_in_doubt_looks_it_up_and_cancels_it_once_it_shows_up() -> None:
    loop = Loop(answer=Script(find=[NOT_FOUND]))
    lost(loop)
    with pytest.raises(OrderInDoubt) as doubt:
        loop.run(loop.driver.cancel("c1"))
    assert (doubt.value.order_id, doubt.value.state, doubt.value.last_error) == (
        "c1", "submit_unknown", "cancel requested, but the exchange shows no order with this "
        "client order id; nothing was sent: it is cancelled as soon as it shows up")
    assert loop.rows("c1")[-1] == RequestCancel("cancel requested")
    assert loop.get("c1").cancel_requested and loop.get("c1").state is State.SUBMIT_UNKNOWN
    loop.advance(1.0)
    loop.answer = Script(find=[found()], cancel=[None], fetch=[CANCELED])
    assert loop.run(loop.driver.bring_up_to_date("c1", None)).state is State.CANCELLED
    assert not loop.sends(Op.CREATE)
    # Found open, the request is carried out: journaled again, in the same words.
    assert [e for e in loop.rows("c1") if isinstance(e, RequestCancel)] == [
        RequestCancel("cancel requested")] * 2


def test_cancel_before_anything_was_sent_withdraws_without_a_request() -> None:
    loop = Loop()
    loop.open(spec())
    order = loop.run(loop.driver.cancel("c1"))
    assert (order.state, order.reason) == (State.CANCELLED, "cancelled before it was sent")
    assert loop.rows("c1")[-1] == Withdraw("cancelled before it was sent")
    assert not loop.sends()


def test_cancel_of_an_order_interrupted_before_its_answer_marks_it_in_doubt_first() -> None:
    # A run died between journaling the submit and its answer: the request may have left.
    loop = Loop(answer=Script(find=[found()], cancel=[None], fetch=[CANCELED]))
    loop.open(spec(), Submit())
    order = loop.run(loop.driver.cancel("c1"))
    assert order.state is State.CANCELLED
    assert loop.rows("c1")[1:3] == [
        LoseAnswer("cancel requested: the placement's answer was never recorded"),
        RequestCancel("cancel requested")]
    assert loop.sends(Op.FIND) and not loop.sends(Op.CREATE)


def test_a_second_cancel_journals_no_second_request() -> None:
    loop = Loop(answer=Script(find=[NOT_FOUND, NOT_FOUND]))
    lost(loop)
    for _ in range(2):
        with pytest.raises(OrderInDoubt):
            loop.run(loop.driver.cancel("c1"))
        loop.advance(1.0)
    assert loop.triggers("c1").count("request_cancel") == 1


def test_recovery_looks_a_presumed_absent_order_up_but_never_resends_it_where_driving_would(
) -> None:
    answers = dict(open_orders=[[]], closed_orders=[[]], find=[NOT_FOUND], create=[seen()])
    loop = Loop(profile=FOREVER, answer=Script(**answers))
    lost(loop)
    loop.commit("c1", [PresumeAbsent("generated")])
    loop.advance(1.0)
    result = loop.run(reconcile(loop.driver, loop, "c"))
    assert result.checked == 1 and loop.get("c1").state is State.PRESUMED_ABSENT
    assert len(loop.sends(Op.FIND)) == 1 and not loop.sends(Op.CREATE)
    # The same order driven (not recovered) on this exchange is sent again.
    loop.answer = Script(**answers, fetch=[CLOSED], trades=[None])
    loop.run(loop.driver.drive("c1", Goal.ENDED))
    assert len(loop.sends(Op.CREATE)) == 1


def test_recovery_looks_a_lost_create_up_until_past_the_grace_and_never_resends_it() -> None:
    loop = Loop(profile=FOREVER, answer=Script(find=[NOT_FOUND], create=[seen()]))
    lost(loop)
    order = loop.run(loop.driver.bring_up_to_date("c1", None))
    # Looked up again and again inside the grace; presumed absent past it, where driving
    # the order on this exchange would send it again.
    assert [s.mono for s in loop.sends(Op.FIND)] == [1000.0, 1002.0, 1005.0]
    assert order.state is State.PRESUMED_ABSENT and not loop.sends(Op.CREATE)


def test_recovery_takes_no_order_listed_without_an_exchange_id_for_an_orphan_of_a_known_one(
) -> None:
    # Regression (found by test_driver_properties): a listing showing a known client
    # order id without an exchange id (an odd answer) was taken for a second exchange
    # order, adopted as "c1~None", and the next recovery, seeing it again, crashed on
    # journaling "c1~None" twice (DuplicateOrder).
    listed = [seen(id=None)]
    loop = Loop(answer=Script(open_orders=[listed], closed_orders=[listed], fetch=[seen()]))
    acknowledged(loop)
    for _ in range(2):
        result = loop.run(reconcile(loop.driver, loop, "c", adopt=True))
        assert (result.orphans, result.adopted) == ((), ())
    assert [o.client_order_id for o in loop.orders()] == ["c1"]


def test_recovery_adopts_an_order_of_a_known_client_order_id_under_another_exchange_id(
) -> None:
    listed = [seen(id="E-other")]
    loop = Loop(answer=Script(open_orders=[listed], closed_orders=[[]], fetch=[seen()]))
    acknowledged(loop)
    result = loop.run(reconcile(loop.driver, loop, "c", adopt=True))
    assert result.adopted == ("c1~E-other",)
    assert loop.get("c1~E-other").exchange_order_id == "E-other"
    # Our own c1 is not what that listing shows: it is fetched by its own id.
    assert [s.action.request.client_order_id for s in loop.sends(Op.FETCH)] == ["c1"]
    assert "id_mismatch" not in loop.notes("c1")
    assert loop.run(reconcile(loop.driver, loop, "c", adopt=True)).adopted == ()


def test_recovery_adopts_an_unknown_order_once_when_listed_with_and_without_an_exchange_id(
) -> None:
    # Regression (found by test_driver_properties): adopted as "c9" from one listing, the
    # same order listed without an id by another was adopted again, as "c9~None".
    loop = Loop(answer=Script(open_orders=[[seen("c9")]], closed_orders=[[seen("c9", id=None)]]))
    result = loop.run(reconcile(loop.driver, loop, "c", adopt=True, symbols=["BTC/USDT"]))
    assert result.adopted == ("c9",)
    assert [o.client_order_id for o in loop.orders()] == ["c9"]


def test_recovery_lists_an_ended_orders_trades_once_without_waiting() -> None:
    # Recovery asks every time it runs: one listing each, never a wait on the bot's start.
    from fsm_executor import Acknowledge, Cancel
    from fsm_executor.core._reconcile import list_trades

    loop = Loop(answer=Script(trades=[[]]))  # the exchange lists none yet
    inferred = Fill("E-c1:cum:0.5", "0.5", "100", inferred=True, cost=Decimal(50))
    loop.open(spec(), Submit(), Acknowledge(exchange_id("c1")), inferred, Cancel("gone"))
    assert loop.get("c1").state is State.CANCELLED
    loop.run(list_trades(loop.driver, "c1"))
    assert len(loop.sends(Op.TRADES)) == 1 and CONFIG.trade_listing_attempts > 1
    assert loop.notes("c1")[-1] == "trades_unlisted"


def test_a_trades_listing_that_fails_leaves_the_fill_inferred_and_says_so() -> None:
    from fsm_executor import Acknowledge, Cancel

    loop = Loop(answer=Script(trades=[failure(Kind.REJECTED)]))
    inferred = Fill("E-c1:cum:0.5", "0.5", "100", inferred=True, cost=Decimal(50))
    loop.open(spec(), Submit(), Acknowledge(exchange_id("c1")), inferred, Cancel("gone"))
    loop.run(loop.driver.settle_ledger(loop.view("c1")))
    # One listing: a refusal ends the settling (no second attempt), and says so.
    assert len(loop.sends(Op.TRADES)) == 1
    note = loop.rows("c1")[-1]
    assert isinstance(note, Note) and note.kind == "trades_unlisted"
    assert note.detail == ("its trades do not account for its filled 0.5 yet: part of it is "
                           "inferred from the order's figures")


def test_an_adopted_order_is_journaled_as_the_exchange_describes_it() -> None:
    listed = attrs.evolve(seen("c9"), symbol="ETH/USDT", side="sell", type="market",
                          amount=Decimal("2.5"), price=Decimal("101.5"))
    loop = Loop(answer=Script(open_orders=[[listed]], closed_orders=[[]]))
    assert loop.run(reconcile(loop.driver, loop, "c", adopt=True,
                              symbols=["ETH/USDT"])).adopted == ("c9",)
    order = loop.get("c9")
    assert (order.symbol, order.side.value, order.type.value, order.amount, order.price) == (
        "ETH/USDT", "sell", "market", Decimal("2.5"), Decimal("101.5"))
    assert order.exchange_order_id == listed.id and order.state is State.SUBMITTED
    untyped = attrs.evolve(seen("c8"), type=None)  # a listing that says no type: limit
    loop = Loop(answer=Script(open_orders=[[untyped]], closed_orders=[[]]))
    loop.run(reconcile(loop.driver, loop, "c", adopt=True, symbols=["BTC/USDT"]))
    assert loop.get("c8").type.value == "limit"


@pytest.mark.parametrize(("change", "why"), [
    ({"symbol": None}, "symbol must be a non-empty string, not ''"),
    ({"side": None}, "side must be one of buy, sell, not ''"),
    ({"amount": None}, "amount must be positive, not 0"),
])
def test_an_order_the_exchange_describes_too_little_to_adopt_is_refused_naming_it(
        change: dict[str, object], why: str) -> None:
    listed = attrs.evolve(seen("c9"), **change)
    loop = Loop(answer=Script(open_orders=[[listed]], closed_orders=[[]]))
    with pytest.raises(InvalidInput) as info:
        loop.run(reconcile(loop.driver, loop, "c", adopt=True, symbols=["BTC/USDT"]))
    assert str(info.value) == f"cannot adopt exchange order {listed.id}: {why}"
    assert "c9" not in loop


def test_recovery_adopts_an_unknown_order_listed_without_an_exchange_id_to_look_it_up() -> None:
    loop = Loop(answer=Script(open_orders=[[seen("c9", id=None)]], closed_orders=[[]]))
    result = loop.run(reconcile(loop.driver, loop, "c", adopt=True, symbols=["BTC/USDT"]))
    assert result.adopted == ("c9",) and loop.get("c9").state is State.PENDING_SUBMIT


def test_an_answer_that_carries_its_trades_is_taken_with_them_no_listing_asked() -> None:
    # Binance's FULL create answer, some fetch answers: the fills are in the answer.
    with_trades = attrs.evolve(CLOSED, trades=(Fill("t1", "0.4", "100"), Fill("t2", "0.6", "100")))
    loop = Loop(answer=Script(fetch=[with_trades]))
    acknowledged(loop)
    order = loop.run(loop.driver.drive("c1", Goal.ENDED))
    assert order.state is State.FILLED and set(order.fills) == {"t1", "t2"}
    assert not loop.sends(Op.TRADES)


def test_recovery_settles_a_listed_open_order_from_its_markets_listing_not_one_fetch_each(
) -> None:
    # One listing per market rather than a request per order (rate limits), asked with
    # the market: Binance refuses a listing without a symbol.
    loop = Loop(answer=Script(open_orders=[[seen()]], closed_orders=[[]]))
    acknowledged(loop)
    result = loop.run(reconcile(loop.driver, loop, "c"))
    assert result.checked == 1 and loop.get("c1").state is State.SUBMITTED
    assert not loop.sends(Op.FETCH)
    assert {s.request.symbol for s in loop.sends(Op.OPEN_ORDERS)
            if s.request is not None} == {"BTC/USDT"}


def test_recovery_reports_orphans_but_adopts_them_only_when_asked() -> None:
    loop = Loop(answer=Script(open_orders=[[seen("c9")]], closed_orders=[[]]))
    result = loop.run(reconcile(loop.driver, loop, "c", symbols=["BTC/USDT"]))
    assert [o.client_order_id for o in result.orphans] == ["c9"] and result.adopted == ()
    assert "c9" not in loop


def test_every_orphan_of_a_listing_is_found_past_our_own_order_in_doubt_and_each_id_apart(
) -> None:
    # Our order whose placement is in doubt shows up first in a listing (settled, no
    # orphan); then two orders under one foreign client order id (placed twice) are two
    # orphans.
    listed = [seen("c1"), seen("c9", id="E-a"), seen("c9", id="E-b")]
    loop = Loop(answer=Script(open_orders=[[]], closed_orders=[listed], find=[NOT_FOUND]))
    lost(loop)
    result = loop.run(reconcile(loop.driver, loop, "c"))
    assert sorted(o.id or "" for o in result.orphans) == ["E-a", "E-b"]


def test_an_odd_lookup_answer_is_noted_in_its_words_and_a_lookup_that_settles_nothing_is_doubt(
) -> None:
    from fsm_executor.core._answers import Lookup

    odd = "fetch_order by client order id answered an order without id"
    loop = Loop(answer=Script(find=[Lookup(seen(id=None), (odd,))]))
    lost(loop)
    with pytest.raises(OrderInDoubt) as doubt:
        loop.run(loop.driver.drive("c1", Goal.ENDED))
    assert (doubt.value.order_id, doubt.value.state) == ("c1", "submit_unknown")
    assert doubt.value.last_error == ("the exchange's answer to a lookup by client order id "
                                      "could not be followed")
    assert [e.detail for e in loop.rows("c1")  # type: ignore[union-attr]
            if e.trigger == "note" and e.kind == "odd_lookup"] == [odd]


def test_each_order_a_lookup_settles_is_counted() -> None:
    loop = Loop(answer=Script(find=[found("c1"), found("c2")]))
    lost(loop, "c1")
    lost(loop, "c2")
    for cid in ("c1", "c2"):
        loop.run(loop.driver.bring_up_to_date(cid, None))
    assert [loop.get(cid).state for cid in ("c1", "c2")] == [State.SUBMITTED] * 2
    assert loop.driver.stats["unknown_resolved"] == 2


def test_recovery_takes_an_unanswered_placement_for_a_lost_answer_in_its_words() -> None:
    loop = Loop(answer=Script(find=[found()], fetch=[CLOSED], trades=[None]))
    loop.open(spec(), Submit())  # the run stopped with the create in flight
    loop.run(loop.driver.bring_up_to_date("c1", None))
    (lost_answer,) = [e for e in loop.rows("c1") if e.trigger == "lose_answer"]
    assert lost_answer.reason == "the run stopped before the answer was recorded"  # type: ignore[attr-defined]


def _applied(loop: Loop, events: list[Any]) -> Any:
    """The driver applying an answer's ``events`` to c1, as after an exchange answer."""
    from fsm_executor.core._actions import Look

    def steps() -> Any:
        view = yield Look("c1")
        return (yield from loop.driver._apply(view, events))

    return loop.run(steps())


def test_an_answer_the_lifecycle_cannot_follow_is_journaled_as_such_and_changes_nothing(
) -> None:
    loop = Loop()
    acknowledged(loop)
    before = loop.triggers("c1")
    _applied(loop, [Note("odd_answer", "seen"), Submit()])  # a submit of a placed order
    assert loop.get("c1").state is State.SUBMITTED
    assert loop.triggers("c1") == [*before, "note"]  # all or none: only the saying of it
    (said,) = [e for e in loop.rows("c1")[len(before):]]
    assert said.kind == "illegal_answer"  # type: ignore[attr-defined]
    assert "submit" in said.detail and "answer events: [Note(" in said.detail  # type: ignore[attr-defined]


def test_a_note_already_journaled_is_left_out_but_the_rest_of_the_answer_applied() -> None:
    loop = Loop()
    acknowledged(loop)
    _applied(loop, [Note("odd_answer", "seen")])
    _applied(loop, [Note("odd_answer", "seen again"), Fill("t1", "0.5", "100")])
    assert loop.notes("c1").count("odd_answer") == 1
    assert loop.get("c1").filled == Decimal("0.5")


def test_driving_an_order_an_interrupted_run_left_in_flight_looks_it_up_never_resends() -> None:
    loop = Loop(answer=Script(find=[found()], fetch=[CLOSED], trades=[None]))
    loop.open(spec(), Submit())  # the request may have left
    order = loop.run(loop.driver.drive("c1", Goal.ENDED))
    assert order.state is State.FILLED and not loop.sends(Op.CREATE)
    (lost_answer,) = [e for e in loop.rows("c1") if e.trigger == "lose_answer"]
    assert lost_answer.reason == "interrupted before the answer was recorded"  # type: ignore[attr-defined]


def test_place_rounds_the_limit_price_the_exchanges_way_where_no_tick_is_published() -> None:
    class OwnRounding(Precision):
        def price_to_precision(self, symbol: str, price: Decimal) -> Decimal:
            assert symbol == "BTC/USDT"
            return price.quantize(Decimal("1"), rounding="ROUND_DOWN")

    no_tick = attrs.evolve(RULES, price_tick=None)
    loop = Loop(answer=Script(rules=[no_tick], create=[seen()], fetch=[CLOSED], trades=[None]))
    order = loop.run(loop.driver.place(SIGNAL, "c1", OwnRounding(), Goal.PLACED))
    assert order.price == Decimal("100")  # 100.1 rounded down to a whole quote unit


def test_a_refused_signal_is_journaled_with_its_order_counted_and_nothing_sent() -> None:
    inactive = attrs.evolve(RULES, active=False)
    loop = Loop(answer=Script(rules=[inactive]))
    for n, cid in enumerate(("c1", "c2"), 1):
        order = loop.run(loop.driver.place(attrs.evolve(SIGNAL, id=f"s{n}"), cid, Precision(),
                                           Goal.ENDED))
        assert (order.state, order.failure) == (State.FAILED, "refused")
    assert loop.driver.stats["refused"] == 2 and not loop.sends(Op.CREATE)


def test_a_fatal_answer_to_the_rules_journals_the_signal_as_it_came() -> None:
    loop = Loop(answer=Script(rules=[failure(Kind.FATAL)]))
    order = loop.run(loop.driver.place(SIGNAL, "c1", Precision(), Goal.ENDED))
    assert (order.price, order.signal_id, order.amount) == (Decimal(100), "s1", Decimal(1))


def test_a_placed_order_the_exchange_cannot_find_is_noted_as_lag_then_as_forgotten() -> None:
    # Inside the visibility grace (5 s here) a not-found is the exchange's lag; past it,
    # the exchange lost track of an order it acknowledged: noted, never taken as gone.
    gone = failure(Kind.NOT_FOUND)
    loop = Loop(answer=Script(fetch=[gone]))
    acknowledged(loop)
    loop.run(loop.driver.bring_up_to_date("c1", None))
    loop.advance(6.0)
    loop.run(loop.driver.bring_up_to_date("c1", None))
    notes = [e for e in loop.rows("c1") if e.trigger == "note"]
    assert [n.kind for n in notes] == ["not_visible_yet", "exchange_forgot"]  # type: ignore[attr-defined]
    assert all(n.detail == f"fetch by exchange id: {gone}" for n in notes)  # type: ignore[attr-defined]
    assert loop.get("c1").state is State.SUBMITTED


def test_a_fetch_refused_for_good_leaves_the_order_in_doubt_naming_it() -> None:
    refused = failure(Kind.FATAL)
    loop = Loop(answer=Script(fetch=[refused]))
    acknowledged(loop)
    with pytest.raises(OrderInDoubt) as doubt:
        loop.run(loop.driver.bring_up_to_date("c1", None))
    assert (doubt.value.order_id, doubt.value.state, doubt.value.last_error) == (
        "c1", "submitted", str(refused))
