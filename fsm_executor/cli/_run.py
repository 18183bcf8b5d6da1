"""``fsm-executor run``: execute a file of signals, on the paper venue or a real exchange."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
import time
from typing import TYPE_CHECKING, Any

from ..core._clock import Clock, FakeClock, SystemClock
from ..core._config import ExecutionConfig
from ..core._exceptions import InvalidInput, OrderInDoubt
from ..core._model import Order
from ._progress import Bar
from ._show import dump
from ._signals_file import read_signals
from ._summary import recover_summary, render_run, run_summary

if TYPE_CHECKING:  # the executors reach ccxt: imported only by the commands that trade
    from ..executors._base import ExecutorBase
    from ..executors._executor import TradeExecutor

#: Keys come from the environment only, never the command line (shell history, ps).
KEY_VARIABLES = {"apiKey": "FSM_EXECUTOR_API_KEY", "secret": "FSM_EXECUTOR_API_SECRET",
                 "password": "FSM_EXECUTOR_API_PASSWORD"}

#: The fault rates of ``--faults``.
DEFAULT_FAULTS = {"timeout_before": 0.05, "timeout_after": 0.05, "unavailable": 0.03,
                  "rate_limit": 0.03, "insufficient_funds": 0.02, "invalid_order": 0.02,
                  "cancel_race": 0.2}


def paper_options(args: argparse.Namespace) -> dict[str, Any]:
    """The paper venue's keywords a command line asks for (but its clock and latency)."""
    return {"seed": args.seed, "faults": DEFAULT_FAULTS if args.faults else None,
            "state_path": getattr(args, "venue_state", None),
            "imitate": getattr(args, "imitate", "binance")}


def paper_venue(args: argparse.Namespace, clock: Clock) -> Any:
    """The paper venue a command line asks for."""
    from ..venue._paper import PaperExchange

    return PaperExchange(clock, latency=args.latency, **paper_options(args))


def exchange_settings() -> dict[str, Any]:
    """ccxt's settings for a real exchange: its rate limiter on, the keys from the
    environment."""
    settings: dict[str, Any] = {"enableRateLimit": True}
    for key, variable in KEY_VARIABLES.items():
        if os.environ.get(variable):
            settings[key] = os.environ[variable]
    return settings


def make_exchange(args: argparse.Namespace, clock: Clock,
                  cleanup: contextlib.ExitStack | None = None) -> tuple[Any, Any]:
    """(the exchange the executor talks to, the paper venue behind it or None).

    ``--http``: the paper venue is served by a local Binance REST server for this run, and
    the executor talks to it through the real ccxt.binance client (keys made up per run).
    """
    if args.exchange in (None, "paper"):
        http = wants_http(args)
        venue = paper_venue(args, clock)
        if not http:
            return venue, venue
        from ..venue._binance_http import binance_client

        return binance_client(serve(args, venue, cleanup)), venue
    import ccxt

    cls = getattr(ccxt, args.exchange, None)
    if not isinstance(cls, type):
        raise InvalidInput(f"unknown exchange id {args.exchange!r} (any ccxt id, or 'paper')")
    settings = exchange_settings()
    url = local_url(args)
    if url:
        from ..venue._binance_http import local_binance

        try:
            return local_binance(url, **settings), None
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
    exchange = cls(settings)
    if args.sandbox:
        exchange.set_sandbox_mode(True)
    return exchange, None


def serve(args: argparse.Namespace, venue: Any,
          cleanup: contextlib.ExitStack | None) -> Any:
    """--http: a local Binance REST server over ``venue`` for this run (keys made up per
    run), closed by ``cleanup``."""
    from ..venue._binance_http import BinanceServer

    server = BinanceServer(venue, api_key=secrets.token_hex(16),
                           secret=secrets.token_hex(32), seed=args.seed).start()
    if cleanup is not None:
        cleanup.callback(server.close)
    return server


def wants_http(args: argparse.Namespace) -> bool:
    """--http, checked to go with Binance's manners (before anything opens)."""
    http = bool(getattr(args, "http", False))
    if http and getattr(args, "imitate", "binance") != "binance":
        raise InvalidInput("--http serves Binance's API: it needs --imitate binance")
    return http


def local_url(args: argparse.Namespace) -> str | None:
    """--exchange-url, checked to go with --exchange binance."""
    url: str | None = getattr(args, "exchange_url", None)
    if url and args.exchange != "binance":
        raise InvalidInput("--exchange-url is for a local Binance-compatible server: use it "
                           "with --exchange binance")
    return url


def read_config(path: str | None) -> ExecutionConfig:
    if not path:
        return ExecutionConfig()
    try:
        with open(path, encoding="utf-8") as f:
            return ExecutionConfig.from_dict(json.load(f))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read config: {exc}") from None


def open_session(args: argparse.Namespace,
                 cleanup: contextlib.ExitStack | None = None) -> tuple[TradeExecutor, Any]:
    """The executor a command line asks for. The paper venue runs on simulated time unless
    --realtime (a demo with 30 s order timeouts finishes at once); a real exchange always
    runs on the real clock. ``cleanup`` closes what the run opened besides the executor
    (the local server of --http). Returns the executor and the paper venue behind it (None
    for a real exchange)."""
    config = read_config(args.config)
    simulated = args.exchange in (None, "paper") and not args.realtime
    clock: Clock = FakeClock(time.time()) if simulated else SystemClock()
    exchange, venue = make_exchange(args, clock, cleanup)
    from ..executors._executor import TradeExecutor

    executor = TradeExecutor(exchange, args.journal, config, clock=clock,
                             seed=args.seed if simulated else None,
                             durability=args.durability)
    if isinstance(clock, FakeClock):
        clock.advance(behind(executor, venue))
    return executor, venue


def behind(executor: ExecutorBase, venue: Any) -> float:
    """How far simulated time must move on: it ran ahead of the wall clock in earlier
    runs, and never goes back on the journal's or a persistent venue's time."""
    times = [executor.book.last_ts]
    if venue is not None:
        times.append(venue.venue_time())
    return max(times) - executor.clock.now()


def cmd_recover(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as cleanup:
        executor, _ = open_session(args, cleanup)
        with executor:
            report = executor.recover(adopt=args.adopt)
            summary = recover_summary(report, executor.book.journal.head)
    if args.json:
        dump(summary, sys.stdout)
    else:
        print(report.render())
    code: int = summary["exit_status"]
    return code


def cmd_run(args: argparse.Namespace) -> int:
    if args.use_async:
        from ._run_async import cmd_run_async

        return cmd_run_async(args)
    signals = read_signals(args.signals)
    orders: list[Order] = []
    in_doubt: list[OrderInDoubt] = []
    with contextlib.ExitStack() as cleanup:
        executor, venue = open_session(args, cleanup)
        cleanup.enter_context(executor)
        # Recovery first: whatever a stopped run left in flight is settled before anything
        # new is sent.
        report = executor.recover()
        if report.checked or report.orphans:
            print(report.render(), file=sys.stderr)
        in_doubt.extend(report.in_doubt)
        progress = cleanup.enter_context(Bar("signals", len(signals), sys.stderr))
        for signal in signals:
            try:
                orders.append(executor.execute_signal(signal))
            except OrderInDoubt as exc:
                in_doubt.append(exc)
                progress.say(f"fsm-executor: {exc}")
            progress.step(signal.id)
        faults = None if venue is None else len(venue.fault_log)
        summary = run_summary(orders, executor, in_doubt, report, faults)
    return show_run(summary, args)


def show_run(summary: dict[str, Any], args: argparse.Namespace) -> int:
    """Print a run's summary on stdout (JSON with --json: stdout then holds that one
    document, progress stays on stderr) and return its exit status."""
    if getattr(args, "json", False):
        dump(summary, sys.stdout)
    else:
        print(render_run(summary))
    code: int = summary["exit_status"]
    return code
