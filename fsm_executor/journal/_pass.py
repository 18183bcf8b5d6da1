"""One reading of a journal's rows in seq order: for audit, the hash chain checked row by
row; for audit and replay alike, every transition re-validated and each order handed to a
tally (_tally.py) as it finishes.

What a reading found is a ``Reading``: the rows it read, where its chain ends, the orders
still open at its end, its tally and violations. A reading of the second half of a journal
in another process (_split.py) is one too, handed over pickled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Final

import attrs

from ..core._exceptions import CorruptJournal
from ..core._model import Order
from ..core._states import CREATE
from ._journal import JournalReader, chain_hash
from ._replay import Rebuilder, Span, streaming
from ._tally import Tally, Violation


@attrs.define
class Reading:
    """What one reading of rows found."""

    #: Whether the hash chain and seqs are checked (audit) or not (replay).
    audit: bool
    tally: Tally
    #: (seq, hash) of the last row read: the row the next one chains from (audit: replay
    #: checks no chain, and leaves it where the reading started).
    end: tuple[int, str]
    rows: int = 0
    #: The seq of the last create row read (0: none).
    last_create: int = 0
    creates: int = 0
    violations: list[Violation] = attrs.Factory(list)
    #: The orders not finished at the end, and where their rows lie.
    orders: dict[str, Order] = attrs.Factory(dict)
    spans: dict[str, Span] = attrs.Factory(dict)
    #: The damage that stopped the reading (a page unreadable, text not UTF-8), if any.
    error: CorruptJournal | None = None
    #: (count, digest) of the file's orders index, where the reading took them (_split.py
    #: does, while the other half is read).
    indexed: tuple[int, int] | None = None

    @classmethod
    def of(cls, reader: JournalReader, audit: bool) -> Reading:
        """A reading from where ``reader``'s file continues its chain. Replay checks no
        chain, so it takes no hash, not even the genesis one."""
        return cls(audit, Tally(audit), reader.anchor if audit else (reader.anchor_seq, ""))


class Pass:
    """Feeds rows to ``rebuilder`` (whose ``finished`` is ``reading.tally.finished``),
    checking the chain first when auditing."""

    def __init__(self, rebuilder: Rebuilder, reading: Reading,
                 anchors: Mapping[int, str] | None = None) -> None:
        self.rebuilder = rebuilder
        self.reading = reading
        #: Hashes recorded earlier, by seq: each such row must still have it.
        self.anchors = anchors or {}

    def read(self, rows: Iterable[tuple[Any, ...]], first_only: bool = False) -> None:
        """Rows as ``JournalReader.rows(audit)`` gives them. ``first_only``: stop at the
        first violation (replay). A damaged file raises CorruptJournal, the rows before it
        counted."""
        if self.reading.audit:
            self._checked(rows)
        else:
            self._replayed(rows, first_only)

    def _checked(self, rows: Iterable[tuple[Any, ...]]) -> None:
        reading, anchors, feed = self.reading, self.anchors, self.rebuilder.feed
        violations, since_create = reading.violations, reading.tally.since_create
        prev_seq, prev_hash = reading.end
        n = last_create = 0
        try:
            for row in rows:
                seq, order_id, trigger, source, dest, payload, origin, ts, hash_ = row
                n += 1
                if trigger == CREATE:
                    since_create.clear()
                    last_create = seq
                if seq != prev_seq + 1:
                    violations.append(Violation(seq, f"follows row {prev_seq}: rows are "
                                                "missing, inserted or reordered"))
                try:
                    computed = chain_hash(prev_hash, seq, order_id, trigger, source, dest,
                                          payload, origin, ts)
                except TypeError:  # a BLOB where text belongs: SQLite keeps what it is given
                    computed = None
                if hash_ != computed:
                    violations.append(Violation(seq, _mismatch(row, prev_hash)))
                if anchors and anchors.get(seq, hash_) != hash_:
                    violations.append(Violation(seq, "differs from the recorded head"))
                prev_hash, prev_seq = hash_, seq
                problem = feed((seq, order_id, trigger, source, dest, payload, ts))
                if problem is not None:
                    violations.append(Violation(seq, problem))
        finally:
            reading.end = (prev_seq, prev_hash)
            reading.rows += n
            reading.last_create = last_create or reading.last_create

    def _replayed(self, rows: Iterable[tuple[Any, ...]], first_only: bool) -> None:
        reading, feed = self.reading, self.rebuilder.feed
        for row in rows:
            problem = feed(row)
            if problem is not None:
                reading.violations.append(Violation(row[0], problem))
                if first_only:
                    return

    def close(self) -> Reading:
        """The reading, with the orders still open and the create rows counted."""
        reading, rebuilder = self.reading, self.rebuilder
        reading.orders = rebuilder.orders
        reading.spans = rebuilder.spans or {}
        reading.creates = rebuilder.creates
        return reading


#: Each column of a row as audit reads it (after its seq), and the type the journal writes.
_TYPES: Final = (("order_id", str), ("trigger", str), ("source", str), ("dest", str),
                 ("payload", str), ("origin", str), ("ts", float), ("hash", str))


def _mismatch(row: tuple[Any, ...], prev_hash: object) -> str:
    """Why a row's hash does not match: a column of another type than the journal writes
    (only SQL from outside stores one: a BLOB, a text ts), or its content or place."""
    wrong = [f"{name} is {type(row[i]).__name__}" for i, (name, kind) in enumerate(_TYPES, 1)
             if type(row[i]) is not kind]
    if type(prev_hash) is not str:
        wrong.append(f"the hash of the row before is {type(prev_hash).__name__}")
    if wrong:
        return (f"hash does not match, and {', '.join(wrong)}, not what the journal "
                "writes: edited outside it")
    return "hash does not match its content and the row before it: edited, inserted or moved"


#: Told (rows read so far, rows in all) as a reading goes (a progress bar).
Progress = Callable[[int, int], None]


def whole(readers: Sequence[JournalReader], audit: bool,
          anchors: Mapping[int, str] | None = None, progress: Progress | None = None
          ) -> Reading:
    """Every row of ``readers`` (a journal, its archives first), in one reading. Replay
    stops at the first violation; audit reads on, and a file whose chain does not continue
    the one before it is a violation. Damage that stops the reading ends it, said."""
    reading = Reading.of(readers[0], audit)
    each = Pass(streaming(readers, reading.tally.finished), reading, anchors)
    total = sum(r.last_seq() - r.anchor_seq for r in readers) if progress else 0
    done = 0
    try:
        for reader in readers:
            told = None if progress is None else partial(_told, progress, done, total)
            done += reader.last_seq() - reader.anchor_seq if progress else 0
            if audit and reader.anchor != reading.end:
                reading.violations.append(Violation(
                    None, f"{reader.path.name} continues row {reader.anchor_seq}, and the file "
                    f"before it ends at row {reading.end[0]}, another chain"))
                reading.end = reader.anchor
            each.read(reader.rows(audit, progress=told), first_only=not audit)
            if reading.violations and not audit:
                break
    except CorruptJournal as exc:
        reading.violations.append(Violation(exc.seq, str(exc)))
        reading.error = exc
    return each.close()


def _told(progress: Progress, before: int, total: int, rows: int) -> None:
    progress(before + rows, total)
