"""The bot process the crash test kills: ``fsm-executor run``, with hooks that SIGKILL it
at the two narrowest windows, and a downtime during which the venue goes on filling.

    python crash_child.py MODE N DOWNTIME -- <fsm-executor arguments>

MODE: "run" (killed from outside, if at all), "before_send" (the N-th create request:
after its journal row is committed, before the request leaves), "after_accept" (after the
exchange accepted the N-th create, before the journal records the answer). It prints
"started" once past its imports, and "requesting" at its first exchange call. The same hooks
hold the sync adapter and the asyncio one (``run --async``), where the kill lands with the
other orders' requests on their way and their rows waiting for the next group commit.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from fsm_executor.cli import _cli, _run, _run_async
from fsm_executor.exchange._async_exchange import AsyncExchangeAdapter
from fsm_executor.exchange._calls import Call
from fsm_executor.exchange._exchange import ExchangeAdapter


def main() -> int:
    mode, n, downtime = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    args = sys.argv[sys.argv.index("--") + 1:]
    open_session = _run.open_session

    def opened_after_downtime(*arguments: Any) -> Any:
        executor, venue = open_session(*arguments)
        executor.clock.sleep(downtime)  # the bot was down this long; the venue was not
        return executor, venue

    open_async_session = _run_async.open_async_session

    def opened_async_after_downtime(*arguments: Any) -> Any:
        executor, venue = open_async_session(*arguments)
        executor.clock.sleep(downtime)  # a VirtualClock outside its loop: time moves on
        return executor, venue

    _run.open_session = opened_after_downtime
    _run_async.open_async_session = opened_async_after_downtime
    make, make_async = ExchangeAdapter.make, AsyncExchangeAdapter.make
    creates, requested = 0, False

    def number(call: Call) -> int:
        """The create's number (0 for any other call)."""
        nonlocal creates, requested
        if not requested:
            requested = True
            print("requesting", flush=True)  # the parent may time a kill from here
        if call.method != "create_order":
            return 0
        creates += 1
        return creates

    def maybe_die(number: int, moment: str) -> None:
        if mode == moment and number == n:
            os.kill(os.getpid(), signal.SIGKILL)

    def create_then_maybe_die(self: ExchangeAdapter, call: Call) -> Any:
        k = number(call)
        maybe_die(k, "before_send")
        answer = make(self, call)
        maybe_die(k, "after_accept")
        return answer

    async def create_then_maybe_die_async(self: AsyncExchangeAdapter, call: Call) -> Any:
        k = number(call)
        maybe_die(k, "before_send")
        answer = await make_async(self, call)
        # Other orders' requests are on their way meanwhile, and other answers may be
        # back, waiting for their tasks' turn: the kill takes them all.
        maybe_die(k, "after_accept")
        return answer

    ExchangeAdapter.make = create_then_maybe_die  # type: ignore[method-assign]
    AsyncExchangeAdapter.make = create_then_maybe_die_async  # type: ignore[method-assign]
    print("started", flush=True)
    return _cli.main(args)


if __name__ == "__main__":
    sys.exit(main())
