"""The sync edge to ccxt: ``ExchangeAdapter`` carries out ``ExchangeCalls``' conversations
with a ccxt exchange's sync API (or the paper venue)."""

from __future__ import annotations

from typing import Any, TypeVar

from ..core._actions import Request
from ..core._model import Order
from ..core._profiles import ExchangeProfile
from ._calls import Call, Calls, ExchangeCalls

T = TypeVar("T")


class ExchangeAdapter(ExchangeCalls):
    """A ccxt exchange (sync API) or the paper venue, seen through the executor's needs:
    each conversation's calls are made one after another, in this thread."""

    def __init__(self, exchange: Any, profile: ExchangeProfile | None = None) -> None:
        super().__init__(exchange, profile)

    def run(self, calls: Calls[T]) -> T:
        """Carry a conversation out: each call made, its answer (or exception) sent back."""
        answer: Any = None
        error: BaseException | None = None
        while True:
            try:
                call = calls.throw(error) if error is not None else calls.send(answer)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            finally:
                # The conversation has it now. Kept here while what it raised leaves (its
                # traceback holds this frame), it would be a cycle only the garbage
                # collector frees.
                error = None
            answer = None
            try:
                answer = self.make(call)
            except Exception as exc:  # the conversation translates ccxt's; others re-raise
                error = exc

    def make(self, call: Call) -> Any:
        """One ccxt call, made."""
        return getattr(self.exchange, call.method)(*call.args)

    def request(self, request: Request, order: Order | None) -> Any:
        """The answer to a driver's request (ExchangeFailure if it failed)."""
        return self.run(self.perform(request, order))
