"""Audit: prove from the journal alone that nothing illegal happened.

Checks the hash chain (edited, inserted, deleted or reordered rows), that seq has no gaps
and no row was cut off the end, every transition against the table, and each order's
invariants. The file is opened read-only.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final

import attrs

from ..core._exceptions import CorruptJournal, InvalidInput
from ..core._ledger import fees_of
from ..core._model import Order
from ..core._states import IN_FLIGHT, OPEN, State
from ..core._values import LEDGER
from ._index import DIGEST_MODULUS, OrdersIndex, StoredRow, fingerprint, row_of, stored
from ._journal import Entry, JournalReader, chain_hash
from ._replay import Span, gc_paused, streaming

_ZERO: Final = Decimal(0)
_add: Final = LEDGER.add


@attrs.frozen
class Violation:
    seq: int | None
    message: str

    def __str__(self) -> str:
        return f"row {self.seq}: {self.message}" if self.seq is not None else self.message


@attrs.frozen
class AuditReport:
    path: str
    rows: int
    #: "SEQ:HASH" of the last row, to pass as ``expected_head`` to a later audit.
    head: str
    #: How many orders the journal holds.
    order_count: int
    #: How many orders end in each state (the table's order of states).
    by_state: dict[str, int]
    #: The orders whose outcome is still unknown (in flight), as the rows leave them.
    in_flight: tuple[Order, ...]
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "rows": self.rows,
            "head": self.head,
            "orders": self.order_count,
            "by_state": self.by_state,
            "in_flight": [
                {"client_order_id": o.client_order_id, "state": o.state.value}
                for o in self.in_flight
            ],
            "violations": [{"seq": v.seq, "message": v.message} for v in self.violations],
        }

    def render(self) -> str:
        lines = [f"journal  {self.path}", f"rows     {self.rows}",
                 f"head     {self.head}", f"orders   {self.order_count}"]
        for state, count in self.by_state.items():
            lines.append(f"  {state:<18}{count:>8}")
        flight = self.in_flight
        lines.append(f"in flight {len(flight)}")
        lines.extend(f"  {o.client_order_id}  {o.state.value}" for o in flight[:20])
        if len(flight) > 20:
            lines.append(f"  ... and {len(flight) - 20} more")
        if self.ok:
            lines.append("violations 0: the hash chain, every transition and every order hold")
        else:
            lines.append(f"violations {len(self.violations)}")
            lines.extend(f"  {v}" for v in self.violations)
        return "\n".join(lines)


def _invariants(order: Order) -> list[str]:
    """The ledger's and the lifecycle's invariants, recomputed from the order's fills."""
    problems = []
    total = cost = _ZERO
    for fill in order.fills.values():
        total = _add(total, fill.amount)
        cost = _add(cost, fill.value)
    if total != order.filled:
        problems.append(f"filled {order.filled} is not the sum of its fills {total}")
    if cost != order.cost:
        problems.append(f"cost {order.cost} is not the sum of its fills' amount x price "
                        f"{cost}")
    fees = fees_of(order.fills.values())
    if fees != dict(order.fees):
        problems.append(f"fees {dict(order.fees)} are not the sum of its fills' fees per "
                        f"currency {fees}")
    if not _ZERO <= order.filled <= order.amount:
        problems.append(f"filled {order.filled} is outside 0..{order.amount}")
    state = order.state
    if state is State.FILLED and order.filled != order.amount:
        problems.append(f"is filled with only {order.filled} of {order.amount}")
    if state in OPEN and order.exchange_order_id is None:
        problems.append(f"is {state.value} without an exchange order id")
    return [f"order {order.client_order_id!r} {p}" for p in problems] if problems else problems


class _Tally:
    """What audit keeps of the orders it has seen: counts, invariants, the index's digest
    (constant memory: the orders themselves are dropped as they finish)."""

    def __init__(self) -> None:
        self.states: dict[State, int] = {}
        self.count = 0
        self.digest = 0
        self.problems: list[str] = []
        #: The orders finished since the last create row, and their index row's share. The
        #: book writes a finished order's index row with its next create (or at close):
        #: after a crash, only these may still be held open by the index, which is no
        #: disagreement (the next writer catches them up).
        self.since_create: list[tuple[str, StoredRow]] = []

    def finished(self, order: Order, span: Span,
                 before: tuple[Order, Span] | None = None) -> None:
        states = self.states
        if before is None:
            self.count += 1
        else:  # brought back by a later row: its earlier share is taken out
            earlier, earlier_span = before
            states[earlier.state] -= 1
            self.digest -= fingerprint(stored(row_of(earlier), *earlier_span))
        states[order.state] = states.get(order.state, 0) + 1
        row = stored(row_of(order), *span)
        self.digest = (self.digest + fingerprint(row)) % DIGEST_MODULUS
        problems = _invariants(order)
        if problems:
            self.problems.extend(problems)
        if not row[3]:
            self.since_create.append((order.client_order_id, row))

    def lag_allowed(self, index: OrdersIndex) -> None:
        """Count the orders finished since the last create as the index holds them when it
        holds them still open, or ended at an earlier row (their row deferred: not written
        yet, or lost with the process)."""
        for order_id, row in self.since_create:
            held = index.row(order_id)
            if held is None or held == row or held[:3] != row[:3] or held[4] != row[4]:
                continue
            still_open = held[3] == 1 and held[5] is None
            last_moved_on = held[3] == 0 and held[5] is not None and held[5] < (row[5] or 0)
            if still_open or last_moved_on:
                self.digest = (self.digest - fingerprint(row) + fingerprint(held)
                               ) % DIGEST_MODULUS

    def by_state(self) -> dict[str, int]:
        return {s.value: n for s in State if (n := self.states.get(s, 0))}


def audit(path: str | os.PathLike[str], expected_head: str | None = None,
          archives: Iterable[str | os.PathLike[str]] = ()) -> AuditReport:
    """Verify the journal at ``path``; never raises for what it finds, only for a file that
    is not a journal at all (NotAJournal, UnsupportedSchema).

    ``expected_head`` ("SEQ:HASH", from ``Journal.head``) is a head recorded earlier: the
    journal must still contain that row, unchanged. ``archives``: the files its first rows
    were moved to (_archive.py), verified with it as one chain, oldest first. Orders are
    dropped as they finish, so memory holds only the orders open at a time (journals of
    schema 2); the orders index is checked against the rows (_index.py).
    """
    anchors: dict[int, str] = {}
    if expected_head is not None:
        seq_text, _, hash_text = expected_head.partition(":")
        if not seq_text.isdigit() or len(hash_text) != 64:
            raise InvalidInput(f"expected head must be SEQ:HASH, not {expected_head!r}")
        anchors[int(seq_text)] = hash_text
    files = [*archives, path]
    try:
        return _audit(files, anchors, tolerant=False)
    except _Undecodable:
        # Text that is not UTF-8 somewhere: read again, slower, with replacement characters,
        # so that the damaged row is named and the others still checked.
        return _audit(files, anchors, tolerant=True)


class _Undecodable(Exception):
    pass


def _audit(files: list[str | os.PathLike[str]], anchors: dict[int, str],
           tolerant: bool) -> AuditReport:
    violations: list[Violation] = []
    tally = _Tally()
    rows = 0
    with contextlib.ExitStack() as stack:
        readers = [stack.enter_context(JournalReader(f, tolerant=tolerant)) for f in files]
        for reader in readers:
            stack.enter_context(reader.consistent())
        stack.enter_context(gc_paused())  # as replay pauses it
        readers.sort(key=lambda r: r.anchor[0])
        if len({r.journal_id for r in readers}) > 1:
            violations.append(Violation(None, "the files given are of different journals"))
        rebuilder = streaming(readers, tally.finished)
        feed = rebuilder.feed
        prev_seq, prev_hash = readers[0].anchor
        if len(readers) > 1 and prev_seq:
            violations.append(Violation(None, f"{readers[0].path.name} continues row "
                                        f"{prev_seq}: the archive before it is missing"))
        if anchors.get(prev_seq, prev_hash) != prev_hash:
            violations.append(Violation(None, f"the recorded head is row {prev_seq} of "
                                        "another journal"))
        try:
            for reader in readers:
                if reader.anchor != (prev_seq, prev_hash):
                    violations.append(Violation(None, f"{reader.path.name} continues row "
                                                f"{reader.anchor[0]}, and the file before it "
                                                f"ends at row {prev_seq}, another chain"))
                    prev_seq, prev_hash = reader.anchor
                for row in reader.full_rows():
                    seq, order_id, trigger, source, dest, payload, origin, ts, hash_ = row
                    rows += 1
                    if trigger == "create":
                        tally.since_create.clear()
                    if seq != prev_seq + 1:
                        violations.append(Violation(seq, f"follows row {prev_seq}: rows are "
                                                    "missing, inserted or reordered"))
                    if hash_ != chain_hash(prev_hash, seq, order_id, trigger, source, dest,
                                           payload, origin, ts):
                        violations.append(Violation(seq, "hash does not match its content "
                                                    "and the row before it: edited, inserted "
                                                    "or moved"))
                    if anchors and anchors.get(seq, hash_) != hash_:
                        violations.append(Violation(seq, "differs from the recorded head"))
                    prev_hash, prev_seq = hash_, seq
                    problem = feed((seq, order_id, trigger, source, dest, payload, ts))
                    if problem is not None:
                        violations.append(Violation(seq, problem))
        except CorruptJournal as exc:
            if not tolerant and "decode" in str(exc):
                raise _Undecodable from None
            violations.append(Violation(exc.seq, str(exc)))
        for seq in anchors:
            if seq > prev_seq:
                violations.append(Violation(None, f"the recorded head is row {seq}, but the "
                                            f"journal ends at row {prev_seq}: it was cut off"))
        unfinished = list(rebuilder.orders.values())
        spans = rebuilder.spans or {}
        for order in unfinished:
            tally.finished(order, spans.get(order.client_order_id, [0, 0]))
        if readers[-1].indexed:
            tally.lag_allowed(readers[-1].index)
        violations.extend(_index_checked(readers, rebuilder.creates, tally.digest))
    head = f"{prev_seq}:{prev_hash}"
    violations.extend(Violation(None, p) for p in tally.problems)
    in_flight = tuple(o for o in unfinished if o.state in IN_FLIGHT)
    return AuditReport(str(files[-1]), rows, head, tally.count, tally.by_state(), in_flight,
                       tuple(violations))


def _index_checked(readers: list[JournalReader], creates: int, digest: int) -> list[Violation]:
    """The files' orders indexes against what their rows rebuilt (each file's own orders:
    those created after its anchor)."""
    if not all(r.indexed for r in readers):
        return []
    found: list[Violation] = []
    if creates != sum(r.index.count(r.anchor[0]) for r in readers):
        # More create rows than orders: a dropped order's created again, which the stream
        # could not see (or an index row missing, which the digest says).
        found.extend(Violation(seq, f"order {order_id!r} is created a second time")
                     for r in readers for seq, order_id in r.created_twice())
    indexed = sum(r.index.digest(r.anchor[0]) for r in readers) % DIGEST_MODULUS
    if digest != indexed:
        found.append(Violation(None, "the orders index disagrees with the rows (a writer "
                               "rebuilds it when it opens the journal)"))
    return found


def timeline(path: str | os.PathLike[str], order_id: str) -> list[Entry]:
    """Every journal row of one order, in order."""
    with JournalReader(path) as reader:
        try:
            return [Entry(**row) for row in reader.db.table("journal").rows_where(
                "order_id = ?", [order_id], order_by="seq")]
        except sqlite3.DatabaseError as exc:
            raise CorruptJournal(str(path), f"unreadable: {exc}") from None
