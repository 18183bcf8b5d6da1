"""``fsm-executor run --async``: the signals file through ``AsyncTradeExecutor``, every
signal submitted at once (one driver task per order), with the sync run's recovery first,
its summary and its exit statuses.

Time is the sync run's, on asyncio. The paper venue runs on simulated time unless
--realtime: here a ``VirtualClock`` that is a virtual event loop's time (``run_virtual``),
so a 30 s order timeout still takes no real time and the seed fixes the interleaving. The
sync run's ``FakeClock`` cannot be a loop's time (the async venue refuses a loop whose time
is not its clock's). --realtime, --http, --exchange-url and a real exchange run on
``asyncio.run`` with ``SystemClock``: a virtual loop does not wait for real sockets, so
the paper venue behind a local Binance server (--http) runs on the real clock too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from typing import Any

from ..core._clock import Clock, SystemClock
from ..core._exceptions import InvalidInput, OrderInDoubt
from ..core._model import Order
from ..core._signal import Signal
from ..executors._async_executor import AsyncTradeExecutor
from ..venue._virtual_loop import VirtualClock, run_virtual
from ._progress import Bar
from ._run import (
    behind,
    exchange_settings,
    local_url,
    paper_options,
    paper_venue,
    read_config,
    serve,
    show_run,
    wants_http,
)
from ._signals_file import read_signals
from ._summary import run_summary


def make_async_exchange(args: argparse.Namespace, clock: Clock,
                        cleanup: contextlib.ExitStack | None = None) -> tuple[Any, Any]:
    """(the ``ccxt.async_support`` exchange the executor talks to, the paper venue behind it
    or None). ``cleanup`` closes the local server of --http."""
    if args.exchange in (None, "paper"):
        if wants_http(args):
            from ..venue._binance_http import async_binance_client

            venue = paper_venue(args, clock)
            return async_binance_client(serve(args, venue, cleanup)), venue
        from ..venue._paper_async import AsyncPaperExchange

        async_venue = AsyncPaperExchange(clock, latency=args.latency, **paper_options(args))
        return async_venue, async_venue
    import ccxt.async_support

    cls = getattr(ccxt.async_support, args.exchange, None)
    if not isinstance(cls, type):
        raise InvalidInput(f"unknown exchange id {args.exchange!r} (any ccxt id, or 'paper')")
    settings = exchange_settings()
    url = local_url(args)
    if url:
        from ..venue._binance_http import async_local_binance

        try:
            return async_local_binance(url, **settings), None
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
    exchange = cls(settings)
    if args.sandbox:
        exchange.set_sandbox_mode(True)
    return exchange, None


def open_async_session(args: argparse.Namespace, cleanup: contextlib.ExitStack | None = None
                       ) -> tuple[AsyncTradeExecutor, Any]:
    """The asyncio executor a command line asks for, and the paper venue behind it (None
    for a real exchange). Built outside the event loop, which ``run_session`` starts."""
    config = read_config(args.config)
    # Real sockets (--http) are not waited for by a virtual loop: the real clock then.
    real = args.realtime or getattr(args, "http", False)
    simulated = args.exchange in (None, "paper") and not real
    clock: Clock = VirtualClock(time.time()) if simulated else SystemClock()
    exchange, venue = make_async_exchange(args, clock, cleanup)
    executor = AsyncTradeExecutor(exchange, args.journal, config, clock=clock,
                                  seed=args.seed if simulated else None,
                                  durability=args.durability)
    if isinstance(clock, VirtualClock):
        clock.sleep(behind(executor, venue))  # outside a loop, a VirtualClock moves on
    return executor, venue


async def run_signals(executor: AsyncTradeExecutor, venue: Any,
                      signals: list[Signal]) -> dict[str, Any]:
    """Recover, then every signal at once; the summary (``run_summary``). Closes the
    executor and its exchange."""
    try:
        # Recovery first: whatever a stopped run left in flight is settled before anything
        # new is sent.
        report = await executor.recover()
        if report.checked or report.orphans:
            print(report.render(), file=sys.stderr)
        in_doubt = list(report.in_doubt)
        progress = Bar("signals", len(signals), sys.stderr)

        async def execute(signal: Signal) -> Order | None:
            try:
                order: Order | None = await executor.execute_signal(signal)
            except OrderInDoubt as exc:
                in_doubt.append(exc)
                progress.say(f"fsm-executor: {exc}")
                order = None
            progress.step(signal.id)
            return order

        # A signal that raises (a quote that kept timing out: nothing journaled) stops the
        # run with exit status 2, as in the sync run, but only once the others have ended:
        # stopping at once would leave their orders in flight for the next recovery.
        with progress:
            results = await asyncio.gather(*(execute(s) for s in signals),
                                           return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        orders = [order for order in results if isinstance(order, Order)]
        faults = None if venue is None else len(venue.fault_log)
        return run_summary(orders, executor, in_doubt, report, faults)
    finally:
        await executor.close()
        await executor.adapter.exchange.close()


def cmd_run_async(args: argparse.Namespace) -> int:
    signals = read_signals(args.signals)
    with contextlib.ExitStack() as cleanup:
        executor, venue = open_async_session(args, cleanup)
        work = run_signals(executor, venue, signals)
        if isinstance(executor.clock, VirtualClock):
            summary = run_virtual(work, clock=executor.clock, seed=args.seed)
        else:
            summary = asyncio.run(work)
    return show_run(summary, args)
