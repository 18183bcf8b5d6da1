"""What ``run`` and ``recover`` say when they end, and the exit status it implies: one
document, printed as JSON for a script (``--json``) or drawn as the text people read.
``run``'s text is rendered from the document itself, so the two cannot disagree."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Final

from ..core._exceptions import OrderInDoubt
from ..core._model import Order
from ..core._states import State
from ..executors._recovery import RecoveryReport, doubt_json
from ._exits import EXIT_LOOK, EXIT_OK, EXIT_PRESUMED_ABSENT

if TYPE_CHECKING:
    from ..executors._base import ExecutorBase

#: What each exit status of ``run`` means (the "Exit statuses" table of README.md).
RUN_MEANINGS: Final = {
    EXIT_OK: "every order ended normally (filled, cancelled, expired, rejected or refused)",
    EXIT_LOOK: "an order failed for another reason (bad keys, a bad symbol, declared "
               "absent) or is in doubt: look at it",
    EXIT_PRESUMED_ABSENT: "some orders are presumed absent: their create's answer was lost "
                          "and the exchange shows nothing; not re-sent, still watched (a "
                          "later `recover` settles them)",
}
#: What each exit status of ``recover`` means.
RECOVER_MEANINGS: Final = {
    EXIT_OK: "nothing in doubt, no orphan left unadopted, none presumed absent",
    EXIT_LOOK: "an order is in doubt, or the exchange holds orders with our prefix that the "
               "journal lacks (orphans) and they were not adopted",
    EXIT_PRESUMED_ABSENT: "some orders are presumed absent: not re-sent, still watched (a "
                          "later `recover` settles them)",
}


def run_summary(orders: list[Order], executor: ExecutorBase, in_doubt: list[OrderInDoubt],
                recovery: RecoveryReport, faults: int | None) -> dict[str, Any]:
    """What a run did, as a JSON document: its orders per final state, those in doubt,
    failures by kind, the executor's counters, the recovery it began with, the journal's
    head, and the exit status with its meaning. ``faults``: the faults the paper venue
    injected (None on a real exchange).

    The exit status: EXIT_LOOK when an order failed for a reason other than a normal
    reject or refusal, or is in doubt; EXIT_PRESUMED_ABSENT when some signals' orders are
    presumed absent (most likely not executed; still watched); else EXIT_OK."""
    states = Counter(o.state.value for o in orders)
    failures = Counter(o.failure for o in orders if o.failure)
    absent = states.get(State.PRESUMED_ABSENT.value, 0)
    if in_doubt or any(o.failure in ("fatal", "absent") for o in orders):
        status = EXIT_LOOK
    else:
        status = EXIT_PRESUMED_ABSENT if absent else EXIT_OK
    stats = executor.stats
    note = None
    if absent:
        profile = executor.adapter.profile
        note = (f"{absent} order(s) presumed absent: the placement's answer was lost and "
                f"{profile.id} shows no such order past its visibility grace. {profile.id} "
                f"refuses a reused client order id {profile.uniqueness.value_text()}, so a "
                "re-send could place twice: they were not re-sent. They stay watched until "
                "the exchange's lookup window has passed: `fsm-executor recover` settles "
                "them.")
    return {
        "exit_status": status,
        "exit_meaning": RUN_MEANINGS[status],
        "states": dict(sorted(states.items())),
        "in_doubt": [{**doubt_json(d), "signal_id": _signal_of(executor, d.order_id)}
                     for d in in_doubt],
        "failures": dict(sorted(failures.items())),
        "retries": stats["retries"],
        "unknown_outcomes": {
            "total": stats["unknown_outcomes"], "resolved": stats["unknown_resolved"],
            "presumed_absent": stats["presumed_absent"], "resent": stats["resubmits"],
        },
        "already_journaled": stats["already_journaled"],
        "faults_injected": faults,
        "journal_head": executor.book.journal.head,
        "note": note,
        "orders": [
            {"signal_id": o.signal_id, "client_order_id": o.client_order_id,
             "symbol": o.symbol, "side": o.side.value, "state": o.state.value,
             "amount": str(o.amount), "filled": str(o.filled),
             "average": None if o.average is None else str(o.average),
             "failure": o.failure, "reason": o.reason}
            for o in orders
        ],
        "recovery": recovery.to_json(),
    }


def _signal_of(executor: ExecutorBase, order_id: str) -> str | None:
    """The signal an order in doubt was placed for (None for one the journal lacks)."""
    return executor.order(order_id).signal_id if order_id in executor.book else None


def render_run(summary: dict[str, Any]) -> str:
    """``run_summary``'s document as the table people read (the recovery is printed
    before the run, the orders one by one not at all)."""
    lines = ["", f"{'final state':<22}{'orders':>8}"]
    lines += [f"  {state:<20}{count:>8}" for state, count in summary["states"].items()]
    if summary["in_doubt"]:
        lines.append(f"  {'in doubt':<20}{len(summary['in_doubt']):>8}")
    if summary["failures"]:
        lines.append(f"{'failed as':<22}{'orders':>8}")
        lines += [f"  {kind:<20}{count:>8}" for kind, count in summary["failures"].items()]
    unknown = summary["unknown_outcomes"]
    for label, value in (("retries", summary["retries"]),
                         ("unknown outcomes", unknown["total"]),
                         ("  resolved", unknown["resolved"]),
                         ("  presumed absent", unknown["presumed_absent"]),
                         ("  re-sent (same id)", unknown["resent"]),
                         ("already journaled", summary["already_journaled"])):
        lines.append(f"{label:<22}{value:>8}")
    if summary["faults_injected"] is not None:
        lines.append(f"{'faults injected':<22}{summary['faults_injected']:>8}")
    lines.append(f"journal head {summary['journal_head']}")
    if summary["note"]:
        lines.append(summary["note"])
    return "\n".join(lines)


def recover_summary(report: RecoveryReport, head: str) -> dict[str, Any]:
    """What a recovery did, as a JSON document (``RecoveryReport.to_json``), with the
    journal's head after it and the exit status with its meaning: EXIT_LOOK when an order
    is in doubt or orphans were found and not adopted, EXIT_PRESUMED_ABSENT while orders
    are presumed absent, else EXIT_OK."""
    if report.in_doubt or len(report.orphans) > len(report.adopted):
        status = EXIT_LOOK
    else:
        status = EXIT_PRESUMED_ABSENT if report.presumed_absent else EXIT_OK
    return {"exit_status": status, "exit_meaning": RECOVER_MEANINGS[status],
            **report.to_json(), "journal_head": head}
