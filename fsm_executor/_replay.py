"""Replay: every order rebuilt from the journal alone, every transition re-validated.

The same ``plan`` and ``apply`` as the live order book run here, so a replayed order equals
the live one at the moment of the last committed row.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from collections.abc import Iterable, Iterator
from typing import Any, Final

from ._events import EVENT_TYPES
from ._exceptions import CorruptJournal, FsmExecutorError
from ._journal import JournalReader
from ._lifecycle import apply, plan
from ._model import Order, OrderSpec
from ._states import CREATE

#: json.loads without its per-call argument checks: replay decodes a million payloads.
_decode: Final = json.JSONDecoder().raw_decode


class Rebuilder:
    """Feeds journal rows, in seq order, into orders; says what is wrong with a bad row."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}

    def feed(self, row: tuple[Any, ...]) -> str | None:
        """Apply one (seq, order_id, trigger, source, dest, payload, ts) row.

        Returns None, or why the row is illegal (it is then not applied).
        """
        _seq, order_id, trigger, source, dest, payload, ts = row
        try:
            data = _decode(payload)[0]
            if trigger == CREATE:
                if order_id in self.orders:
                    return f"order {order_id!r} is created a second time"
                spec = OrderSpec.from_payload(data)
                if spec.client_order_id != order_id or source != "" or dest != "created":
                    return f"create row of {order_id!r} does not match its payload"
                self.orders[order_id] = Order.from_spec(spec, ts)
                return None
            order = self.orders.get(order_id)
            if order is None:
                return f"{trigger!r} for order {order_id!r}, which was never created"
            cls = EVENT_TYPES.get(trigger)
            if cls is None:
                return f"unknown trigger {trigger!r} for order {order_id!r}"
            step = plan(order, cls.from_payload(data))
        except FsmExecutorError as exc:
            return str(exc)
        except (ValueError, KeyError, TypeError) as exc:
            return f"payload of {trigger!r} for order {order_id!r} is malformed: {exc!r}"
        if step is None:
            return f"fill for order {order_id!r} repeats a trade already applied"
        # State is a StrEnum: compared with the row's text directly (``.value`` is slow).
        if step.source != source or step.dest != dest:
            return (f"order {order_id!r}: {trigger!r} recorded as {source} -> {dest}, but the "
                    f"table gives {step.source.value} -> {step.dest.value}")
        apply(order, step, ts)
        return None


def rebuild(rows: Iterable[tuple[Any, ...]], name: str) -> dict[str, Order]:
    """Orders from raw journal rows; the first illegal row is CorruptJournal."""
    rebuilder = Rebuilder()
    with gc_paused():
        for row in rows:
            problem = rebuilder.feed(row)
            if problem is not None:
                raise CorruptJournal(name, problem, seq=row[0])
    return rebuilder.orders


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Replay builds millions of long-lived, acyclic objects; the cyclic collector would
    rescan all of them again and again (it doubled replay's time). Paused, then restored."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def replay(path: str | os.PathLike[str]) -> dict[str, Order]:
    """Every order in the journal at ``path``, keyed by client order id.

    Re-validates every transition against the table; the file is opened read-only.
    Raises NotAJournal, UnsupportedSchema or CorruptJournal.
    """
    with JournalReader(path) as reader:
        return rebuild(reader.raw_rows(), str(reader.path))
