"""What a recovery reports: the orders it changed, those it could not settle, and the
exchange's orders the journal lacks. The recovery itself is the driver's
(core/_reconcile.py); both executors report it through here."""

from __future__ import annotations

from typing import Any

import attrs

from ..core._answers import ExchangeOrder
from ..core._exceptions import OrderInDoubt
from ..core._reconcile import Reconciled
from ..core._states import State
from ..journal._book import OrderBook


@attrs.frozen
class Change:
    client_order_id: str
    before: str
    after: str
    rows: int


@attrs.frozen
class RecoveryReport:
    """What recovery changed, what it could not settle, and what it found unknown."""

    checked: int
    changes: tuple[Change, ...]
    in_doubt: tuple[OrderInDoubt, ...]
    #: Exchange orders with this executor's client-order-id prefix that the journal lacks.
    orphans: tuple[ExchangeOrder, ...]
    adopted: tuple[str, ...]
    exchange_calls: int
    #: Orders presumed absent after this recovery: watched until the lookup window passes.
    presumed_absent: tuple[str, ...] = ()

    def render(self) -> str:
        lines = [f"recovery: {self.checked} unfinished order(s) checked, {len(self.changes)} "
                 f"changed, {len(self.in_doubt)} in doubt, {len(self.orphans)} unknown to the "
                 f"journal, {len(self.presumed_absent)} presumed absent (watched), "
                 f"{self.exchange_calls} exchange call(s)"]
        lines += [f"  {c.client_order_id}  {c.before} -> {c.after}  ({c.rows} row(s))"
                  for c in self.changes]
        lines += [f"  in doubt: {d}" for d in self.in_doubt]
        for o, journal_id in zip(self.orphans, self._adopted_ids(), strict=True):
            adopted = f" (adopted as {journal_id})" if journal_id else ""
            lines.append(f"  not in the journal: {o.client_order_id} exchange id {o.id} "
                         f"{o.symbol} {o.side} {o.amount} status {o.status}{adopted}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """What ``render`` says, for a script (``fsm-executor recover --json``)."""
        return {
            "checked": self.checked,
            "changes": [{"client_order_id": c.client_order_id, "before": c.before,
                         "after": c.after, "rows": c.rows} for c in self.changes],
            "in_doubt": [doubt_json(d) for d in self.in_doubt],
            "orphans": [
                {"client_order_id": o.client_order_id, "exchange_order_id": o.id,
                 "symbol": o.symbol, "side": o.side,
                 "amount": None if o.amount is None else str(o.amount), "status": o.status,
                 "adopted_as": journal_id or None}
                for o, journal_id in zip(self.orphans, self._adopted_ids(), strict=True)
            ],
            "presumed_absent": list(self.presumed_absent),
            "exchange_calls": self.exchange_calls,
        }

    def _adopted_ids(self) -> list[str]:
        """The journal id each orphan was adopted under, or "" (same order as orphans)."""
        if not self.adopted:
            return [""] * len(self.orphans)
        return list(self.adopted)


def doubt_json(doubt: OrderInDoubt) -> dict[str, str]:
    """An order in doubt, for a script: its id, the state it was left in, and why."""
    return {"order_id": doubt.order_id, "state": doubt.state, "error": doubt.last_error}


@attrs.frozen
class Before:
    """The book as a recovery found it."""

    states: dict[str, str]
    head: str
    calls: int

    @classmethod
    def of(cls, book: OrderBook, calls: int) -> Before:
        states = {o.client_order_id: o.state.value for o in book.unfinished()
                  if o.state is not State.CREATED}
        return cls(states, book.journal.head, calls)

    def report(self, book: OrderBook, result: Reconciled, calls: int) -> RecoveryReport:
        absent = tuple(o.client_order_id for o in book.unfinished()
                       if o.state is State.PRESUMED_ABSENT)
        return RecoveryReport(result.checked, tuple(self._changes(book)), result.in_doubt,
                              result.orphans, result.adopted, calls - self.calls, absent)

    def _changes(self, book: OrderBook) -> list[Change]:
        """Orders whose state moved or that gained more than notes: a presumed-absent order
        looked up again (one more not-found note) has not changed."""
        start = int(self.head.split(":")[0])
        rows: dict[str, int] = {}
        moved: set[str] = set()
        for entry in book.journal.entries_after(start):
            rows[entry.order_id] = rows.get(entry.order_id, 0) + 1
            if entry.trigger != "note":
                moved.add(entry.order_id)
        changes = []
        for cid, count in rows.items():
            old = self.states.get(cid, "(not journaled)")
            new = book.state_of(cid).value
            if cid in moved or new != old:
                changes.append(Change(cid, old, new, count))
        return changes
