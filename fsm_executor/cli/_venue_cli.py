"""``fsm-executor venue serve``: the paper venue behind a local Binance spot REST server.

For a bot's own end-to-end tests: point the real ``ccxt.binance`` client (or
``fsm-executor run --exchange binance --exchange-url URL``) at it. Loopback only, on the
real clock; the keys come from the environment, as ``run``'s do, and are never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading

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
    try:
        server.start()
    except OSError as exc:  # the port is taken, or not ours to listen on
        venue.close()
        raise InvalidInput(f"cannot serve on {args.host} port {args.port}: "
                           f"{exc.strerror or exc}") from None
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    # The venue's state is closed however serving ends (its output's reader gone included).
    with contextlib.closing(venue), server:
        if args.json:  # one line a script reads to learn where to connect
            print(json.dumps({"url": server.url, "host": args.host,
                              "port": int(server.url.rsplit(":", 1)[1])}), flush=True)
        else:
            print(f"serving the paper venue (binance-like) at {server.url}", flush=True)
        print(f"trade with: fsm-executor run SIGNALS --journal FILE --exchange binance "
              f"--exchange-url {server.url} (same keys in the environment)",
              file=sys.stderr, flush=True)
        stop.wait()
    return 0

