"""Frozen records rebuilt from a journal payload slot by slot.

A frozen attrs ``__init__`` calls ``object.__setattr__`` per field; replay builds a record
from nearly every row, so the hot ``from_payload`` constructors (Fill, OrderSpec,
Acknowledge) make a bare instance and set each slot through its descriptor instead, with
the same converters in the same order as ``__init__``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import attrs

#: A bare instance, no ``__init__`` run.
new: Final = object.__new__


def slot_setters(cls: type, *names: str) -> tuple[Callable[[object, object], None], ...]:
    """The ``__set__`` of each of ``cls``'s slots, which must be all its fields, in order."""
    if names != tuple(a.name for a in attrs.fields(cls)):
        raise TypeError(f"{cls.__name__}.from_payload is out of step with its fields")
    return tuple(cls.__dict__[name].__set__ for name in names)
