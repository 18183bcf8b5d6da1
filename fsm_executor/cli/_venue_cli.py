"""``fsm-executor venue serve``: the paper venue behind a local Binance spot REST server.

For a bot's own end-to-end tests: point the real ``ccxt.binance`` client (or
``fsm-executor run --exchange binance --exchange-url URL``) at it. Loopback only, on the
real clock; the keys come from the environment, as ``run``'s do, and are never printed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from ..core._clock import SystemClock
from ..core._exceptions import InvalidInput
from ._run import DEFAULT_FAULTS, KEY_VARIABLES


def cmd_serve(args: argparse.Namespace) -> int:
    from ..venue._binance_http import BinanceServer
    from ..venue._paper import PaperExchange

    key = os.environ.get(KEY_VARIABLES["apiKey"])
    secret = os.environ.get(KEY_VARIABLES["secret"])
    if not key or not secret:
        raise InvalidInput(f"set {KEY_VARIABLES['apiKey']} and {KEY_VARIABLES['secret']}: the "
                           "server checks every signed request against them")
    try:
        venue = PaperExchange(SystemClock(), seed=args.seed,
                              faults=DEFAULT_FAULTS if args.faults else None,
                              latency=args.latency, state_path=args.venue_state,
                              visibility_lag=args.visibility_lag)
        server = BinanceServer(venue, api_key=key, secret=secret, host=args.host,
                               port=args.port, seed=args.seed)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with server:
        print(f"serving the paper venue (binance-like) at {server.url}", flush=True)
        print(f"trade with: fsm-executor run SIGNALS --journal FILE --exchange binance "
              f"--exchange-url {server.url} (same keys in the environment)",
              file=sys.stderr, flush=True)
        stop.wait()
    venue.close()
    return 0


def add_parser(sub: Any) -> None:
    v = sub.add_parser("venue", help="the paper venue as a server")
    venue_sub = v.add_subparsers(dest="venue_command", required=True)
    s = venue_sub.add_parser("serve", help="serve the paper venue as Binance's spot REST API "
                                           "on loopback, until interrupted")
    s.add_argument("--host", default="127.0.0.1", help="127.0.0.1, ::1 or localhost")
    s.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    s.add_argument("--venue-state", metavar="FILE", help="keep the venue's state in FILE")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--faults", action="store_true", help="inject failures")
    s.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    s.add_argument("--visibility-lag", type=float, default=None,
                   help="seconds a new order is invisible to lookups (Binance-like: 5)")
    s.set_defaults(func=cmd_serve)
