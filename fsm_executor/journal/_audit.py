"""Audit: prove from the journal alone that nothing illegal happened.

Checks the hash chain (edited, inserted, deleted or reordered rows), that seq has no gaps
and no row was cut off the end, every transition against the table, and each order's
invariants. The file is opened read-only.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Iterable
from typing import Any, Final

import attrs

from ..core._collector import gc_paused
from ..core._exceptions import InvalidInput
from ..core._model import Order
from ..core._states import IN_FLIGHT
from ._index import DIGEST_MODULUS
from ._journal import Entry, JournalReader
from ._pass import Progress, whole
from ._split import read_in_halves
from ._tally import Violation

__all__ = ["AuditReport", "Violation", "audit", "timeline"]


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


def audit(path: str | os.PathLike[str], expected_head: str | None = None,
          archives: Iterable[str | os.PathLike[str]] = (),
          progress: Progress | None = None) -> AuditReport:
    """Verify the journal at ``path``; never raises for what it finds, only for a file that
    is not a journal at all (NotAJournal, UnsupportedSchema) or whose meta or rows cannot be
    read at all (CorruptJournal: a damaged page met later is a violation, the rows before
    it checked).

    ``expected_head`` ("SEQ:HASH", from ``Journal.head``) is a head recorded earlier: the
    journal must still contain that row, unchanged. ``archives``: the files its first rows
    were moved to (_archive.py), verified with it as one chain, oldest first. Orders are
    dropped as they finish, so memory holds only the orders open at a time (journals of
    schema 2); the orders index is checked against the rows (_index.py). A long journal
    is read in two halves at once, on two cores (_split.py). ``progress`` is told (rows
    read so far, rows in all) as it goes.
    """
    anchors: dict[int, str] = {}
    if expected_head is not None:
        seq_text, _, hash_text = expected_head.partition(":")
        if not seq_text.isdigit() or not _HASH.fullmatch(hash_text):
            raise InvalidInput(f"expected head must be SEQ:HASH, not {expected_head!r}")
        anchors[int(seq_text)] = hash_text.lower()  # as the journal writes it
    files = [*archives, path]
    try:
        return _audit(files, anchors, tolerant=False, progress=progress)
    except _Undecodable:
        # Text that is not UTF-8 somewhere: read again, slower, with replacement characters,
        # so that the damaged row is named and the others still checked.
        return _audit(files, anchors, tolerant=True, progress=progress)


#: A row's hash: sha256, 64 hex digits (the journal writes them lower-case; a copy in
#: upper case is the same hash).
_HASH: Final = re.compile("[0-9a-fA-F]{64}")


class _Undecodable(Exception):
    pass


def _audit(files: list[str | os.PathLike[str]], anchors: dict[int, str],
           tolerant: bool, progress: Progress | None) -> AuditReport:
    violations: list[Violation] = []
    with contextlib.ExitStack() as stack:
        readers = [stack.enter_context(JournalReader(f, tolerant=tolerant)) for f in files]
        for reader in readers:
            stack.enter_context(reader.consistent())
        stack.enter_context(gc_paused())  # as replay pauses it
        readers.sort(key=lambda r: r.anchor_seq)
        if len({r.journal_id for r in readers}) > 1:
            violations.append(Violation(None, "the files given are of different journals"))
        first_seq, first_hash = readers[0].anchor
        if len(readers) > 1 and first_seq:
            violations.append(Violation(None, f"{readers[0].path.name} continues row "
                                        f"{first_seq}: the archive before it is missing"))
        if anchors.get(first_seq, first_hash) != first_hash:
            violations.append(Violation(None, f"the recorded head is row {first_seq} of "
                                        "another journal"))
        # Two processes at once for a long journal alone (not its archives, not re-read).
        halves = (read_in_halves(readers[0], True, anchors, progress=progress)
                  if len(readers) == 1 and not tolerant else None)
        reading = halves or whole(readers, True, anchors, progress)
        if reading.error is not None and not tolerant and "decode" in str(reading.error):
            raise _Undecodable
        violations.extend(reading.violations)
        end_seq = reading.end[0]
        for seq in anchors:
            if seq > end_seq:
                violations.append(Violation(None, f"the recorded head is row {seq}, but the "
                                            f"journal ends at row {end_seq}: it was cut off"))
        tally = reading.tally
        unfinished = list(reading.orders.values())
        for order in unfinished:
            tally.finished(order, reading.spans.get(order.client_order_id, [0, 0]))
        if readers[-1].indexed:
            tally.lag_allowed(readers[-1].index)
        violations.extend(_index_checked(readers, reading.creates, tally.digest,
                                         reading.indexed))
    head = f"{reading.end[0]}:{reading.end[1]}"
    violations.extend(Violation(None, p) for p in tally.problems)
    in_flight = tuple(o for o in unfinished if o.state in IN_FLIGHT)
    return AuditReport(str(files[-1]), reading.rows, head, tally.count, tally.by_state(),
                       in_flight, tuple(violations))


def _index_checked(readers: list[JournalReader], creates: int, digest: int,
                   indexed: tuple[int, int] | None) -> list[Violation]:
    """The files' orders indexes against what their rows rebuilt (each file's own orders:
    those created after its anchor). ``indexed``: their (count, digest), taken already."""
    if not all(r.indexed for r in readers):
        return []
    try:
        if indexed is None:
            indexed = (sum(r.index.count(r.anchor_seq) for r in readers),
                       sum(r.index.digest(r.anchor_seq) for r in readers) % DIGEST_MODULUS)
        found: list[Violation] = []
        if creates != indexed[0]:
            # More create rows than orders: a dropped order's created again, which the
            # stream could not see (or an index row missing, which the digest says).
            found.extend(Violation(seq, f"order {order_id!r} is created a second time")
                         for r in readers for seq, order_id in r.created_twice())
    except sqlite3.DatabaseError as exc:  # a damaged page: said, as a damaged row is
        return [Violation(None, f"the orders index cannot be read: {exc}")]
    if digest != indexed[1]:
        found.append(Violation(None, "the orders index disagrees with the rows (a writer "
                               "rebuilds it when it opens the journal)"))
    return found


def timeline(path: str | os.PathLike[str], order_id: str) -> list[Entry]:
    """Every journal row of one order, in order."""
    with JournalReader(path) as reader:
        return reader.order_entries(order_id)
