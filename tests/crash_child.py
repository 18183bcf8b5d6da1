"""The bot process the crash test kills: ``fsm-executor run``, with hooks that SIGKILL it
at the two narrowest windows, and a downtime during which the venue goes on filling.

    python crash_child.py MODE N DOWNTIME -- <fsm-executor arguments>

MODE: "run" (killed from outside, if at all), "before_send" (the N-th create request:
after its journal row is committed, before the request leaves), "after_accept" (after the
exchange accepted the N-th create, before the journal records the answer).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from fsm_executor.cli import _cli, _run
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

    _run.open_session = opened_after_downtime
    make = ExchangeAdapter.make
    calls = 0

    def create_then_maybe_die(self: ExchangeAdapter, call: Call) -> Any:
        nonlocal calls
        if call.method != "create_order":
            return make(self, call)
        calls += 1
        if mode == "before_send" and calls == n:
            os.kill(os.getpid(), signal.SIGKILL)
        answer = make(self, call)
        if mode == "after_accept" and calls == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return answer

    ExchangeAdapter.make = create_then_maybe_die  # type: ignore[method-assign]
    print("started", flush=True)
    return _cli.main(args)


if __name__ == "__main__":
    sys.exit(main())
