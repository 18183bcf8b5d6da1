"""The asyncio edge to ccxt: ``AsyncExchangeAdapter`` carries out ``ExchangeCalls``'
conversations with a ``ccxt.async_support`` exchange (or ``AsyncPaperExchange``)."""

from __future__ import annotations

from typing import Any, TypeVar

from ..core._actions import Request
from ..core._model import Order
from ..core._profiles import ExchangeProfile
from ._calls import Call, Calls, ExchangeCalls

T = TypeVar("T")


class AsyncExchangeAdapter(ExchangeCalls):
    """A ``ccxt.async_support`` exchange seen through the executor's needs. The
    conversations are the sync adapter's (_calls.py); only here are the calls awaited.
    Pacing is ccxt's own (``enableRateLimit``, per-endpoint costs): many orders' requests
    may be in flight at once, and ccxt's throttle spaces them."""

    def __init__(self, exchange: Any, profile: ExchangeProfile | None = None) -> None:
        super().__init__(exchange, profile)

    async def run(self, calls: Calls[T]) -> T:
        """Carry a conversation out: each call awaited, its answer (or exception) sent back."""
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
                answer = await self.make(call)
            except Exception as exc:  # the conversation translates ccxt's; others re-raise
                error = exc

    async def make(self, call: Call) -> Any:
        """One ccxt call, awaited."""
        return await getattr(self.exchange, call.method)(*call.args)

    async def request(self, request: Request, order: Order | None) -> Any:
        """The answer to a driver's request (ExchangeFailure if it failed)."""
        return await self.run(self.perform(request, order))
