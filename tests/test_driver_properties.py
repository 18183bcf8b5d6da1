"""Properties of the order driver over generated exchange answers: whatever the exchange
says (lost answers, not-found answers, transient errors, rate limits with Retry-After,
rejections, odd statuses and figures), what the driver asks for keeps its promises.

Each run places or drives one or two orders (on one Driver, as one executor's), then
drives, recovers or cancels them again a couple of times with time passing in between;
every answer is drawn (driver_tools.Drawn). No executor, no exchange, no journal file.
Scripted scenarios are in test_driver.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
from driver_tools import BINANCE, CONFIG, FOREVER, Drawn, Loop, Precision, Script, Step, spec
from hypothesis import given
from hypothesis import strategies as st
from strategies import exchange_failures

from fsm_executor import (
    Acknowledge,
    ExchangeFailure,
    ExecutionConfig,
    Fill,
    LoseAnswer,
    Note,
    Order,
    OrderInDoubt,
    PresumeAbsent,
    RequestCancel,
    Signal,
    State,
    Submit,
)
from fsm_executor.core._actions import Op, Record, Request, Send, Wait
from fsm_executor.core._answers import ExchangeOrder, Kind, Lookup
from fsm_executor.core._driver import Goal
from fsm_executor.core._memory import CANCEL_SENT, CANCEL_UNSEEN, CREATE_REFUSED, NOT_FOUND
from fsm_executor.core._profiles import ExchangeProfile
from fsm_executor.core._reconcile import Reconciled, reconcile
from fsm_executor.core._states import IN_DOUBT

#: Binance's manners, or an exchange that refuses a reused client order id forever.
profiles = st.sampled_from([BINANCE, FOREVER])
#: Time passing between two runs: within the grace, past it, past the lookup window.
PAUSES = st.sampled_from([0.0, 3.0, 10.0, 25.0, 25.0])
#: The kinds of failure worth a retry (spelled out: the tests' oracle, not the driver's).
RETRYABLE = {Kind.TRANSIENT, Kind.RATE_LIMITED}
#: Notes journaled every time, as counts (_memory.py): all others are journaled once.
COUNTING = {NOT_FOUND, CANCEL_SENT, CANCEL_UNSEEN, CREATE_REFUSED}


def generated(data: st.DataObject, profile: ExchangeProfile = BINANCE, orders: int = 1, *,
              place: bool | None = None, aligned: bool | None = None,
              then: tuple[str, ...] = ("drive", "recover", "cancel"),
              failures: int = 3, kinds: tuple[Kind, ...] = tuple(Kind),
              config: ExecutionConfig = CONFIG) -> Loop:
    """A run: ``orders`` orders placed (or journaled and driven: ``place``), then, while
    some are unfinished, time passes and they are driven, recovered or cancelled
    (``then``), twice at most. Drawn where None: ``place``, polls ``aligned``. In half the
    runs every create's answer is lost; ``failures`` in ten answers fail, of ``kinds``."""
    cids = tuple(f"c{i}" for i in range(1, orders + 1))
    lose = data.draw(st.booleans(), label="every create's answer lost")
    answer = Drawn(data.draw, failures, kinds, listed=(*cids, "c9"), lose_creates=lose)
    loop = Loop(config, profile, answer,
                latency=data.draw(st.sampled_from([0.0, 0.25]), label="latency"))
    if aligned is None:
        aligned = data.draw(st.booleans(), label="aligned")
    amount = data.draw(st.sampled_from(["1", "2.5"]), label="amount")
    first = []
    for cid in cids:
        placing = data.draw(st.booleans(), label=f"place {cid}") if place is None else place
        if placing:
            signal = Signal(f"s-{cid}", "BTC/USDT", "buy", amount, "100")
            first.append(loop.driver.place(signal, cid, Precision(), Goal.ENDED))
        else:
            loop.open(spec(cid, amount))
            first.append(loop.driver.drive(cid, Goal.ENDED, aligned))
    for cid, result in zip(cids, loop.run_all(first), strict=True):
        if isinstance(result, ExchangeFailure):
            # Refused before anything was journaled, so the same signal can run again.
            assert result.kind in RETRYABLE and cid not in loop
        _check_end(result)
    for _ in range(2):
        pending = [c for c in cids if c in loop and not loop.get(c).is_terminal]
        if not pending:
            break
        loop.advance(data.draw(PAUSES, label="pause"))
        how = data.draw(st.sampled_from(then), label="then")
        if how == "recover":
            steps: list[Any] = [reconcile(loop.driver, loop, "c",
                                          adopt=data.draw(st.booleans(), label="adopt"))]
        elif how == "cancel":
            steps = [loop.driver.cancel(c) for c in pending]
        else:
            steps = [loop.driver.drive(c, Goal.ENDED, aligned) for c in pending]
        for result in loop.run_all(steps):
            assert not isinstance(result, ExchangeFailure)
            _check_end(result)
    return loop


def _check_end(result: Any) -> None:
    """A driver ends with the order (or recovery's summary), OrderInDoubt, or, placing,
    the transient failure that stopped it: nothing else."""
    if not isinstance(result, Order | Reconciled | OrderInDoubt | ExchangeFailure):
        raise AssertionError(f"the driver ended with {result!r}")


def by_order(loop: Loop) -> dict[str, list[Step]]:
    steps: dict[str, list[Step]] = {}
    for step in loop.trace:
        if step.cid is not None:
            steps.setdefault(step.cid, []).append(step)
    return steps


# -- write-ahead -----------------------------------------------------------------------------

@given(data=st.data(), profile=profiles)
def test_every_create_and_cancel_leaves_with_its_row_committed_and_counted(
        data: st.DataObject, profile: ExchangeProfile) -> None:
    loop = generated(data, profile, orders=data.draw(st.sampled_from([1, 2])))
    creates: Counter[str] = Counter()
    cancels: Counter[str] = Counter()
    for step in loop.sends():
        action = step.action
        assert isinstance(action, Send)
        if step.cid is None:  # a market's rules, a listing
            assert action.rows == ()
        elif step.op is Op.CREATE:
            (row,) = action.rows
            assert row.trigger in ("submit", "resubmit") or (
                isinstance(row, Note) and row.kind == CREATE_REFUSED)
            creates[step.cid] += 1
            # The journal counts every placement that left, and the order it describes is
            # the one journaled as being placed.
            assert step.memory.sends == creates[step.cid]
            assert step.after is not None and step.after.state is State.PENDING_SUBMIT
        elif step.op is Op.CANCEL:
            (row,) = action.rows
            assert isinstance(row, Note) and row.kind == CANCEL_SENT
            cancels[step.cid] += 1
            assert step.memory.cancels == cancels[step.cid]
        else:
            assert action.rows == ()


@given(data=st.data(), profile=profiles)
def test_no_create_is_sent_for_an_order_in_doubt_unless_the_exchange_makes_it_safe(
        data: st.DataObject, profile: ExchangeProfile) -> None:
    loop = generated(data, profile)
    for cid, steps in by_order(loop).items():
        creates = [s for s in steps if s.op is Op.CREATE]
        assert len(creates) <= CONFIG.max_retries + 1
        previous: Step | None = None
        for step in creates:
            assert step.before is not None and isinstance(step.action, Send)
            (row,) = step.action.rows
            state = step.before.state
            if state is State.CREATED:
                assert row.trigger == "submit"
            elif state is State.PRESUMED_ABSENT:
                # Presumed absent: sent again only where a reused id is refused forever.
                assert profile.resend_safe and row.trigger == "resubmit", cid
            else:
                # Still pending: only after a create the exchange refused before executing.
                assert state is State.PENDING_SUBMIT and isinstance(row, Note)
                assert previous is not None and previous.failure is not None
                assert previous.failure.unprocessed and previous.failure.kind in RETRYABLE
            previous = step


# -- ambiguity is a state --------------------------------------------------------------------

@given(data=st.data(), profile=profiles)
def test_not_found_is_evidence_only_past_the_grace_and_a_verdict_only_past_the_window(
        data: st.DataObject, profile: ExchangeProfile) -> None:
    loop = generated(data, profile)
    for cid, steps in by_order(loop).items():
        sent: float | None = None
        last: Step | None = None
        for i, step in enumerate(steps):
            if step.op is Op.CREATE:
                sent = step.mono
            rows = step.action.rows if isinstance(step.action, Record | Send) else ()
            triggers = [e.trigger for e in rows]
            if "lose_answer" in triggers:
                # A lost answer is followed by lookups by client order id, never a create.
                later = [s for s in steps[i + 1:] if isinstance(s.action, Send)]
                assert not later or later[0].op is Op.FIND, cid
            if "presume_absent" in triggers:
                assert sent is not None
                assert step.mono - sent >= profile.visibility_grace_seconds
                assert step.memory.not_found >= CONFIG.not_found_confirmations
                assert last is not None and last.op is Op.FIND and last.answer.found is None
            if "declare_absent" in triggers:
                assert sent is not None and step.mono - sent >= profile.lookup_window_seconds
                assert last is not None and last.op is Op.FIND and last.answer.found is None
            if step.ended_by is not None and step.before is not None and \
                    step.before.state in IN_DOUBT and "acknowledge" not in triggers:
                # An order in doubt ends only found, by the exchange's no, or at the end of
                # the window: never by not-found answers inside it.
                assert step.ended_by in ("reject", "declare_absent"), step.ended_by
            if isinstance(step.action, Send):
                last = step


# -- retries and the cool-down ---------------------------------------------------------------

LISTING = Request(Op.OPEN_ORDERS, symbol="BTC/USDT")


@given(st.lists(exchange_failures(), max_size=4))
def test_a_request_is_retried_only_after_transient_failures_max_retries_times_with_backoff(
        failures: list[ExchangeFailure]) -> None:
    loop = Loop(answer=Script(open_orders=[*failures, ["listed"]]), latency=0.25)
    result = loop.run(loop.driver.ask(LISTING))
    stop = next((i for i, f in enumerate(failures) if f.kind not in RETRYABLE), len(failures))
    sends = loop.sends()
    assert len(sends) == min(stop, CONFIG.max_retries) + 1
    assert result == (None if sends[-1].failure is not None else ["listed"])
    for attempt, (one, then) in enumerate(zip(sends, sends[1:], strict=False)):
        assert one.failure is not None
        # CONFIG: 0.5 s doubling, capped at 4 s, no jitter; a rate limit waits at least
        # the 3 s cool-down, and Retry-After if longer.
        delay = min(0.5 * 2 ** attempt, 4.0)
        if one.failure.kind == Kind.RATE_LIMITED:
            delay = max(delay, 3.0, one.failure.retry_after or 0.0)
        assert then.mono == one.mono + loop.latency + delay


@given(data=st.data())
def test_no_request_of_any_order_leaves_while_the_exchange_cools_down(
        data: st.DataObject) -> None:
    # Half the answers fail, all of them with errors worth retrying.
    loop = generated(data, BINANCE, orders=2, failures=5,
                     kinds=(Kind.TRANSIENT, Kind.RATE_LIMITED))
    sends = loop.sends()
    for step in sends:
        assert step.mono >= step.cool_until
    for limited in sends:
        if limited.failure is None or limited.failure.kind != Kind.RATE_LIMITED:
            continue
        # From when the answer came back, for as long as Retry-After or the cool-down say.
        back = limited.mono + loop.latency
        until = back + max(CONFIG.rate_limit_cooldown_seconds,
                           limited.failure.retry_after or 0.0)
        early = [(s.cid, s.op, s.mono) for s in sends if back < s.mono < until]
        assert not early, (limited.cid, limited.op, back, until)


# -- polls -----------------------------------------------------------------------------------

@given(data=st.data())
def test_aligned_polls_fall_on_the_poll_interval_grid_or_at_the_deadline(
        data: st.DataObject) -> None:
    loop = generated(data, BINANCE, place=False, aligned=True, then=("drive",))
    interval = CONFIG.poll_interval_seconds
    for steps in by_order(loop).values():
        creates = [s.mono for s in steps if s.op is Op.CREATE]
        deadline = creates[0] + CONFIG.order_timeout_seconds if creates else None
        for before, wait, poll in zip(steps, steps[1:], steps[2:], strict=False):
            if poll.request is None or not poll.request.listable or \
                    not isinstance(wait.action, Wait) or before.failure is not None or \
                    poll.mono == poll.cool_until:
                continue  # not a poll: a retry's backoff (after a failure), a cool-down
            # Times are multiples of 0.25 s: the remainder is exact.
            assert poll.mono % interval == 0 or poll.mono == deadline, poll.mono
            # Past the deadline the order is cancelled, not polled.
            assert deadline is not None and poll.mono <= deadline


@given(data=st.data(), profile=profiles)
def test_the_timeout_cancels_no_sooner_than_the_deadline_and_a_fetch_confirms_each_cancel(
        data: st.DataObject, profile: ExchangeProfile) -> None:
    # A short timeout (2.5 s, polls 1 s apart): most orders live to see it.
    config = attrs.evolve(CONFIG, order_timeout_seconds=2.5)
    loop = generated(data, profile, orders=data.draw(st.sampled_from([1, 2])), config=config)
    for steps in by_order(loop).values():
        creates = [s.mono for s in steps if s.op is Op.CREATE]
        for i, step in enumerate(steps):
            rows = step.action.rows if isinstance(step.action, Record | Send) else ()
            if any(isinstance(e, RequestCancel) and e.reason.startswith("not filled within")
                   for e in rows):
                assert creates and step.mono >= creates[0] + config.order_timeout_seconds
            answered = step.failure is None or step.failure.kind in (Kind.NOT_FOUND,
                                                                     Kind.REJECTED)
            if step.op is Op.CANCEL and answered:
                # Whatever the cancel's answer, how the order ended is the fetch's to say.
                after = next(s for s in steps[i + 1:] if isinstance(s.action, Send))
                assert after.op is Op.FETCH and after.run == step.run
                assert after.request is not None and not after.request.listable


# -- what the exchange said ------------------------------------------------------------------

_ENDS_BY_STATUS = {"cancel": {"canceled", "cancelled", "rejected"}, "expire": {"expired"}}


def _shown(step: Step) -> list[ExchangeOrder]:
    """The orders an answer showed: a create's or a fetch's, a lookup's find, a listing's."""
    answer = step.answer
    if step.op in (Op.CREATE, Op.FETCH) and isinstance(answer, ExchangeOrder):
        return [answer]
    if step.op is Op.FIND and isinstance(answer, Lookup):
        return [] if answer.found is None else [answer.found]
    if step.op in (Op.OPEN_ORDERS, Op.CLOSED_ORDERS) and answer:
        return list(answer)
    return []


@attrs.define
class _Said:
    """What the exchange said about one order so far."""

    seen: list[ExchangeOrder] = attrs.Factory(list)
    #: The most listed for each trade id: the ledger counts each once, with one of them.
    trades: dict[str, Decimal] = attrs.Factory(dict)
    #: The last answer about it: to its own request, or a listing showing it.
    last: Step | None = None


def _what_was_said(trace: list[Step]) -> Iterator[tuple[Step, dict[str, _Said]]]:
    """Each step, with what the exchange had said of each order once it was carried out."""
    said: dict[str, _Said] = {}
    for step in trace:
        if isinstance(step.action, Send):
            shown = _shown(step)
            about: dict[str, list[ExchangeOrder]] = {}
            if step.cid is not None:
                about[step.cid] = shown
            else:  # a listing: each order it shows, by client order id
                for o in shown:
                    about.setdefault(o.client_order_id or "", []).append(o)
            for cid, orders in about.items():
                entry = said.setdefault(cid, _Said())
                entry.seen += orders
                entry.last = step
                listed = [t for o in orders for t in o.trades]
                if step.op is Op.TRADES and step.answer:
                    listed += step.answer
                for trade in listed:
                    entry.trades[trade.trade_id] = max(trade.amount,
                                                       entry.trades.get(trade.trade_id, 0))
        yield step, said


@given(data=st.data(), profile=profiles)
def test_an_order_ends_only_as_the_exchange_said(
        data: st.DataObject, profile: ExchangeProfile) -> None:
    loop = generated(data, profile, orders=data.draw(st.sampled_from([1, 2])))
    for step, said in _what_was_said(loop.trace):
        ended = step.ended_by
        # Orders adopted from listings (c9, CID~ID) are left out: which listed answer
        # adopted them is recovery's choice among several.
        if ended is None or step.cid not in ("c1", "c2"):
            continue
        assert step.after is not None
        told = said.get(step.cid, _Said())
        # An answer under another exchange id is noted, not followed: no evidence.
        seen = [o for o in told.seen if o.id in (None, step.after.exchange_order_id)]
        if ended in _ENDS_BY_STATUS:
            assert seen and (seen[-1].status or "").lower() in _ENDS_BY_STATUS[ended]
        elif ended in ("fill", "restate"):
            amount = step.after.amount
            reported = [s.filled if s.filled is not None else
                        s.amount if (s.status or "").lower() == "closed" else Decimal(0)
                        for s in seen]
            assert max(reported, default=0) >= amount or sum(told.trades.values()) >= amount
        elif ended == "reject":
            last = told.last
            assert last is not None
            said_no = last.failure is not None and (
                last.failure.kind not in (Kind.TRANSIENT, Kind.RATE_LIMITED,
                                          Kind.DUPLICATE, Kind.NOT_FOUND)
                or last.failure.unprocessed)
            status = [(o.status or "").lower() for o in _shown(last)
                      if o.client_order_id == step.cid]
            assert said_no or "rejected" in status
        elif ended in ("refuse", "withdraw"):
            assert not loop.sends(Op.CREATE, step.cid)
        else:
            assert ended == "declare_absent", ended  # past the window: see the test above


@given(data=st.data(), profile=profiles)
def test_filled_never_decreases_and_an_ended_order_stays_ended(
        data: st.DataObject, profile: ExchangeProfile) -> None:
    loop = generated(data, profile, orders=data.draw(st.sampled_from([1, 2])))
    for steps in by_order(loop).values():
        filled, ended = Decimal(0), None
        for step in steps:
            order = step.after
            if order is None:
                continue
            assert filled <= order.filled <= order.amount
            assert order.filled == sum((f.amount for f in order.fills.values()), Decimal(0))
            assert ended is None or order.state is ended
            filled = order.filled
            if order.is_terminal:
                ended = order.state


# -- recovery --------------------------------------------------------------------------------

#: Where a run may have left an order (each a legal path through the lifecycle).
LEFT = {
    "created": [],
    "pending_submit": ["submit"],
    "submit_unknown": ["submit", "lose_answer"],
    "presumed_absent": ["submit", "lose_answer", "presume_absent"],
    "cancel_in_doubt": ["submit", "lose_answer", "request_cancel"],
    "submitted": ["submit", "acknowledge"],
    "partially_filled": ["submit", "acknowledge", "fill"],
    "pending_cancel": ["submit", "acknowledge", "request_cancel"],
    "filled_inferred": ["submit", "acknowledge", "fill_all"],
}


def _events(cid: str, path: list[str]) -> list[Any]:
    make = {
        "submit": lambda: Submit(), "lose_answer": lambda: LoseAnswer("lost"),
        "presume_absent": lambda: PresumeAbsent("absent"),
        "request_cancel": lambda: RequestCancel("asked"),
        "acknowledge": lambda: Acknowledge(f"E-{cid}"),
        "fill": lambda: Fill("t0", "0.25", "100"),
        "fill_all": lambda: Fill(f"E-{cid}:cum:1", "1", "100", inferred=True),
    }
    return [make[p]() for p in path]


@given(data=st.data())
def test_recovery_never_sends_a_create(data: st.DataObject) -> None:
    # On an exchange refusing a reused id forever, where driving a presumed-absent order
    # sends it again (test_driver.py): recovery must not, even there.
    cids = ("c1", "c2", "c3")
    loop = Loop(CONFIG, FOREVER, Drawn(data.draw, listed=(*cids, "c9")),
                latency=data.draw(st.sampled_from([0.0, 0.25])))
    for cid in cids:
        left = data.draw(st.sampled_from(sorted(LEFT)), label=cid)
        loop.open(spec(cid), *_events(cid, LEFT[left]))
    for _ in range(data.draw(st.integers(1, 3), label="recoveries")):
        loop.advance(data.draw(PAUSES, label="pause"))
        (result,) = loop.run_all([reconcile(loop.driver, loop, "c",
                                            adopt=data.draw(st.booleans(), label="adopt"))])
        assert isinstance(result, Reconciled)
    assert not loop.sends(Op.CREATE)


# -- notes -----------------------------------------------------------------------------------

@given(data=st.data())
def test_an_odd_answer_is_noted_once_per_order_however_often_it_comes(
        data: st.DataObject) -> None:
    loop = generated(data, BINANCE, orders=2)
    for cid in {c for c, _ in loop.journal}:
        kinds = Counter(k for k in loop.notes(cid) if k not in COUNTING)
        assert all(n == 1 for n in kinds.values()), (cid, kinds)
