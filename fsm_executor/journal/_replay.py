"""Replay: every order rebuilt from the journal alone, every transition re-validated.

The same ``plan`` and ``apply`` as the live order book run here, so a replayed order equals
the live one at the moment of the last committed row.

Two ways to read a row's payload: the fast path (the rows the book writes most, exactly as
it writes them: orjson, and the readers of core/_canonical.py) and the general path (json's
C scanner and each event's ``from_payload``), which takes whatever the fast path declines
and says what is wrong with it. Both give the same order or event for a payload.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from orjson import loads as _loads

from ..core._canonical import EVENTS as _FAST_EVENTS
from ..core._canonical import created as _created
from ..core._collector import gc_paused
from ..core._events import EVENT_TYPES, Event
from ..core._exceptions import CorruptJournal, FsmExecutorError
from ..core._ledger import unsettled
from ..core._lifecycle import apply, plan
from ..core._memory import REMEMBERED, Memory, remember
from ..core._model import Order
from ..core._states import CREATE, TERMINAL
from ._journal import JournalReader

#: The C scanner under json.loads: no per-call argument checks, no raw_decode frame (replay
#: decodes a million payloads). It raises StopIteration where json.loads says "Expecting value".
_scan: Final[Callable[[str, int], tuple[Any, int]]] = (
    json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set in __init__, undeclared
)

#: Each trigger's payload reader, bound once: not looked up class by class, row by row.
_READERS: Final[dict[str, Callable[[Any], Event]]] = {
    trigger: cls.from_payload for trigger, cls in EVENT_TYPES.items()
}


#: A span of seqs: an order's create row's and its last row's.
Span = list[int]
#: An order that finished, its span, and the order and span it was last handed over with
#: (None the first time).
Finished = Callable[[Order, Span, tuple[Order, Span] | None], None]
#: The rows of one order before a seq, from the file.
Reload = Callable[[str, int], list[tuple[Any, ...]]]


class Rebuilder:
    """Feeds journal rows, in seq order, into orders; says what is wrong with a bad row.

    Streaming (``finished`` and ``reload`` given), it holds only the orders still open: an
    order that finishes (terminal, its fills all the exchange's trades) is handed to
    ``finished`` and dropped, so a year of history replays in the memory of its busiest
    moment. A later row of a dropped order (a note after its end) brings it back from the
    file (``reload``: its rows before that one), and it is handed over again when it
    finishes again. A dropped order's create row seen again would pass for a new order's:
    ``creates`` counts the create rows, for the caller to compare with the orders index.

    ``spans``: the seq of each held order's create row and of its last row so far (what
    the orders index keeps), with ``finished`` or when asked for (an index rebuilt).

    ``foreign``: called with the seq of a row whose order is neither held nor brought back,
    instead of calling it an order never created (a reading of the second half of a
    journal leaves the first half's orders to another, _split.py)."""

    def __init__(self, remember: bool = False, finished: Finished | None = None,
                 reload: Reload | None = None, spans: bool = False,
                 foreign: Callable[[int], None] | None = None) -> None:
        self.orders: dict[str, Order] = {}
        #: With ``remember``: each order's decision counts (_memory.py), for the orders whose
        #: rows have any. Only a writer needs them: replay and audit skip the work.
        self.memories: dict[str, Memory] = {}
        self._remembered = REMEMBERED if remember else frozenset()
        self._finished = finished
        self._reload = reload
        self._foreign = foreign
        self.creates = 0
        self.spans: dict[str, Span] | None = {} if spans or finished else None
        #: Orders brought back after they finished: as they were handed over, and their span.
        self._returned: dict[str, tuple[Order, Span]] = {}

    def _brought_back(self, order_id: str, seq: int) -> Order | None:
        """A dropped order rebuilt from its rows before ``seq`` (None if it has none)."""
        if self._reload is None:
            return None
        again = Rebuilder(spans=True)
        for row in self._reload(order_id, seq):
            again.feed(row)  # what is wrong with a row was said when it was read
        order = again.orders.get(order_id)
        if order is None:
            return None
        assert again.spans is not None
        assert self.spans is not None
        span = again.spans[order_id]
        self._returned[order_id] = (order.snapshot(), list(span))
        self.orders[order_id] = order
        self.spans[order_id] = span
        return order

    def _hand_over(self, order: Order) -> None:
        """A finished order to ``finished``, with its span, and let go."""
        order_id = order.client_order_id
        assert self._finished is not None
        assert self.spans is not None
        self._finished(order, self.spans.pop(order_id), self._returned.pop(order_id, None))
        del self.orders[order_id]

    def feed(self, row: tuple[Any, ...]) -> str | None:
        """Apply one (seq, order_id, trigger, source, dest, payload, ts) row.

        Returns None, or why the row is illegal (it is then not applied).
        """
        seq, order_id, trigger, source, dest, payload, ts = row
        order = self.orders.get(order_id)
        # The fast path: one JSON object as the book writes it (orjson would also take
        # spaces around it, where json's scanner refuses them). Anything else, a refusal
        # included, goes the general path (_create, _event).
        if trigger == CREATE:
            if order is None:
                try:
                    data = _loads(payload)
                    created = (_created(data, ts) if type(data) is dict and payload[0] == "{"
                               and payload[-1] == "}" else None)
                except (ValueError, KeyError):  # not JSON, a key missing, a figure refused
                    created = None
                if (created is not None and created.client_order_id == order_id
                        and source == "" and dest == "created"):
                    self.creates += 1
                    self._hold(created, seq)
                    return None
            return self._create(row)
        event = None
        read = _FAST_EVENTS.get(trigger)
        if read is not None and order is not None:
            try:
                data = _loads(payload)
                if type(data) is dict and payload[0] == "{" and payload[-1] == "}":
                    event = read(data)
            except (ValueError, KeyError):
                pass
        if order is None or event is None:
            found = self._event(row)
            if found is None or isinstance(found, str):
                return found
            order, event = found
        try:
            step = plan(order, event)
        except FsmExecutorError as exc:
            return str(exc)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return f"payload of {trigger!r} for order {order_id!r} is malformed: {exc!r}"
        if step is None:
            return f"fill for order {order_id!r} repeats a trade already applied"
        # State is a StrEnum: compared with the row's text directly (``.value`` is slow).
        if step.source != source or step.dest != dest:
            return (f"order {order_id!r}: {trigger!r} recorded as {source} -> {dest}, but the "
                    f"table gives {step.source.value} -> {step.dest.value}")
        apply(order, step, ts)
        if self.spans is not None:
            self.spans[order_id][1] = seq
        if trigger in self._remembered:
            memory = self.memories.get(order_id)
            if memory is None:
                memory = self.memories[order_id] = Memory()
            remember(memory, trigger, step.event, ts)
        if self._finished is not None and step.dest in TERMINAL and not unsettled(order):
            self._hand_over(order)
        return None

    def _decode(self, row: tuple[Any, ...]) -> dict[str, Any] | str:
        """The row's payload, by json's scanner, or why it is not one JSON object."""
        payload = row[5]
        try:
            data, end = _scan(payload, 0)
        except StopIteration as exc:
            error = json.JSONDecodeError("Expecting value", payload, exc.value)
            return f"payload of {row[2]!r} for order {row[1]!r} is malformed: {error!r}"
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # TypeError: a BLOB
            return f"payload of {row[2]!r} for order {row[1]!r} is malformed: {exc!r}"
        if end != len(payload) or type(data) is not dict:
            return (f"payload of {row[2]!r} for order {row[1]!r} is malformed: not one JSON "
                    "object")
        return data

    def _create(self, row: tuple[Any, ...]) -> str | None:
        """A create row, the general way."""
        seq, order_id, trigger, source, dest, _payload, ts = row
        data = self._decode(row)
        if isinstance(data, str):
            return data
        self.creates += 1
        if order_id in self.orders:
            return f"order {order_id!r} is created a second time"
        try:
            created = Order.from_payload(data, ts)
        except FsmExecutorError as exc:
            return str(exc)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return f"payload of {trigger!r} for order {order_id!r} is malformed: {exc!r}"
        if created.client_order_id != order_id or source != "" or dest != "created":
            return f"create row of {order_id!r} does not match its payload"
        self._hold(created, seq)
        return None

    def _hold(self, order: Order, seq: int) -> None:
        # Keyed by the order's own (equal) id: the row's copy is freed, 64 bytes less per
        # order.
        order_id = order.client_order_id
        self.orders[order_id] = order
        if self.spans is not None:
            self.spans[order_id] = [seq, seq]

    def _event(self, row: tuple[Any, ...]) -> tuple[Order, Event] | str | None:
        """The order and the event of any other row, the general way; or what is wrong;
        None for a row handed to ``foreign``."""
        seq, order_id, trigger, _source, _dest, _payload, _ts = row
        data = self._decode(row)
        if isinstance(data, str):
            return data
        try:
            order = self.orders.get(order_id) or self._brought_back(order_id, seq)
            if order is None:
                if self._foreign is not None:
                    self._foreign(seq)
                    return None
                return f"{trigger!r} for order {order_id!r}, which was never created"
            reader = _READERS.get(trigger)
            if reader is None:
                return f"unknown trigger {trigger!r} for order {order_id!r}"
            return order, reader(data)
        except FsmExecutorError as exc:
            return str(exc)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return f"payload of {trigger!r} for order {order_id!r} is malformed: {exc!r}"


def streaming(readers: JournalReader | Sequence[JournalReader], finished: Finished,
              after: int = 0, foreign: Callable[[int], None] | None = None) -> Rebuilder:
    """A Rebuilder for the rows of ``readers`` (a journal, its archives first) that holds
    only the open orders, where the files have the index to bring a dropped order back
    (schema 2); else one that holds them all, handing none over."""
    files = [readers] if isinstance(readers, JournalReader) else list(readers)
    if not all(r.indexed for r in files):
        return Rebuilder()

    def reload(order_id: str, before: int) -> list[tuple[Any, ...]]:
        # An order's rows are all in one file: archiving moves whole orders.
        for reader in files:
            rows = reader.order_rows(order_id, before)
            if after:  # only an order created after ``after`` is this reading's
                rows = rows[next((i for i, r in enumerate(rows)
                                  if r[0] > after and r[2] == CREATE), len(rows)):]
            if rows:
                return rows
        return []

    return Rebuilder(finished=finished, reload=reload, foreign=foreign)


def rebuild(rows: Iterable[tuple[Any, ...]], name: str) -> dict[str, Order]:
    """Orders from raw journal rows; the first illegal row is CorruptJournal."""
    return rebuild_all(rows, name).orders


def rebuild_all(rows: Iterable[tuple[Any, ...]], name: str, remember: bool = False,
                spans: bool = False) -> Rebuilder:
    """Orders (and, with ``remember``, their decision counts, which only a writer needs;
    with ``spans``, where their rows lie) from raw journal rows; the first illegal row is
    CorruptJournal."""
    rebuilder = Rebuilder(remember, spans=spans)
    feed = rebuilder.feed
    with gc_paused():
        for row in rows:
            problem = feed(row)
            if problem is not None:
                raise CorruptJournal(name, problem, seq=row[0])
    return rebuilder


def replay(path: str | os.PathLike[str]) -> dict[str, Order]:
    """Every order in the journal at ``path``, keyed by client order id.

    Re-validates every transition against the table; the file is opened read-only.
    Raises NotAJournal, UnsupportedSchema or CorruptJournal.
    """
    with JournalReader(path) as reader:
        return rebuild(reader.raw_rows(), str(reader.path))
