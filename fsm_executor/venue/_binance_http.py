"""A local Binance spot REST server over the paper venue, for end-to-end tests of the real
``ccxt.binance`` client (its signing, its parsing, its error mapping) without the internet.

``BinanceServer`` answers the handful of /api/v3 endpoints an order layer uses (ping, time,
exchangeInfo, tickers, depth, order create/query/cancel, openOrders, allOrders, myTrades,
account) in Binance's documented shapes, checks signed requests as Binance does (API key,
HMAC-SHA256 signature, timestamp within recvWindow of the server's clock, which
``clock_offset`` can skew from the client's), and turns the venue's
ccxt errors into Binance's bodies and HTTP statuses. Every behaviour of the market (fills,
visibility lag, duplicate client ids, trade lag, the venue's faults) comes from calling the
venue's unified methods (what each endpoint does: _binance_endpoints.py); the venue's
records only supply exact figures for the answer. Requests are checked in
_binance_requests.py, answers shaped in _binance_shapes.py. HTTP-layer faults are scripted
per endpoint with ``inject``.

Here: the server (its lifecycle, the signature checks, HTTP faults, dispatching a request
to its endpoint), its HTTP plumbing, and the real clients pointed at it (``local_binance``;
``async_binance_client``: ``ccxt.async_support``'s, over aiohttp).

Deliberately not modelled: order types other than LIMIT and MARKET, timeInForce other than
GTC, ``quoteOrderQty`` (refused), cancelRestrictions, order lists, the 24h statistics of
tickers (open/high/low are the last price, volumes zero), rate-limit headers and weights,
IP bans (418), RSA and Ed25519 keys, microsecond timestamps, SBE, WebSocket streams, sapi
(404). Commissions are the venue's: in the currency it charged (the quote, or BNB and
the like with ``fee_currencies``), negative for a maker rebate. A venue RequestTimeout
closes the connection without an answer; the client sees a NetworkError.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import ccxt
import ccxt.async_support

from ..core._clock import Clock, SystemClock
from . import _binance_shapes as shapes
from ._binance_endpoints import ENDPOINTS, ROUTES, Answer, BinanceEndpoints
from ._binance_requests import Params, Refusal, check_signed
from ._paper import PaperExchange

__all__ = [
    "HTTP_FAULTS", "BinanceServer", "async_binance_client", "binance_client", "local_binance",
]

_log = logging.getLogger(__name__)

#: drop_before: close without touching the venue; drop_after: act, then close without an
#: answer (the order IS placed); http_503: answer 503 without touching the venue.
HTTP_FAULTS: Final = ("drop_before", "drop_after", "http_503")
LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})


class _Drop(Exception):
    """Close the connection without writing any answer."""


class BinanceServer(BinanceEndpoints):
    """Binance spot's REST API on 127.0.0.1 over ``venue``, in a daemon thread.

    ``clock`` is the wall clock signed timestamps are checked against (and /api/v3/time
    answers): the real one by default, whatever clock the venue runs on. ``clock_offset``
    (seconds, settable at any time) puts the server's clock that far ahead of ``clock``
    (behind when negative): ccxt signs with the machine's clock, so this is clock skew,
    which ccxt's ``load_time_difference`` measures through /api/v3/time. ``seed`` makes
    the client ids the server invents (a cancel's own id) reproducible. ``trade_ids=False``
    answers trades without their id (no ``id`` in myTrades, no ``tradeId`` in FULL fills):
    ccxt's trades then have id None. (The venue itself must list its trades with ids, which
    the server needs to render them; ``venue.order_truth`` is the ground truth either way.)
    """

    def __init__(self, venue: PaperExchange, *, api_key: str, secret: str,
                 clock: Clock | None = None, clock_offset: float = 0.0,
                 host: str = "127.0.0.1", port: int = 0, seed: int = 0,
                 trade_ids: bool = True) -> None:
        if not venue.manners.trade_ids:
            raise ValueError("the venue lists trades without ids, which the server needs: "
                             "use BinanceServer(trade_ids=False) over a venue with them")
        if host not in LOOPBACK:
            raise ValueError(f"BinanceServer binds loopback only ({', '.join(sorted(LOOPBACK))}),"
                             f" not {host!r}")
        if not api_key or not secret:
            raise ValueError("api_key and secret must not be empty")
        self.venue = venue
        self.trade_ids = trade_ids
        #: Seconds a 429 answer asks the client to wait (its Retry-After header).
        self.retry_after = 1.0
        self.api_key = api_key
        self._secret = secret.encode()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.clock_offset = float(clock_offset)
        self._host = "127.0.0.1" if host == "localhost" else host
        self._port = port
        #: Requests received per endpoint ("METHOD /path"), whatever became of them.
        self.requests: Counter[str] = Counter()
        self._faults: dict[str, list[str]] = {}
        self._lock = threading.Lock()  # the venue, the faults and the id generator
        self._rng = random.Random(seed)
        self._symbols: dict[str, str] = {}  # Binance id -> unified symbol
        self._ids: dict[str, str] = {}  # unified symbol -> Binance id
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``http://[::1]:PORT``) once started."""
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        port = self._httpd.server_address[1]
        return f"http://[{self._host}]:{port}" if ":" in self._host else \
            f"http://{self._host}:{port}"

    def start(self) -> BinanceServer:
        if self._httpd is not None:
            return self
        with self._lock:
            markets = self.venue.load_markets()
            self._symbols = {str(m["id"]): symbol for symbol, m in markets.items()}
            self._ids = {symbol: mid for mid, symbol in self._symbols.items()}
        cls = _HTTPServer6 if ":" in self._host else _HTTPServer
        httpd = cls((self._host, self._port), _Handler)
        httpd.binance = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="binance-http",
                                        kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> BinanceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def inject(self, endpoint: str, fault: str, times: int = 1) -> None:
        """Make the next ``times`` requests to ``endpoint`` ("POST /api/v3/order") suffer
        ``fault`` (HTTP_FAULTS). Venue faults are scripted on the venue itself."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; valid: {', '.join(ENDPOINTS)}")
        if fault not in HTTP_FAULTS:
            raise ValueError(f"unknown fault {fault!r}; valid: {', '.join(HTTP_FAULTS)}")
        if times < 1:
            raise ValueError(f"times must be at least 1, not {times!r}")
        with self._lock:
            self._faults.setdefault(endpoint, []).extend([fault] * times)

    # -- one request -----------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str],
               body: bytes) -> Answer:
        """The answer to one HTTP request (``headers`` named in lower case); raises _Drop
        for no answer at all."""
        path, _, query = target.partition("?")
        endpoint = f"{method} {path}"
        with self._lock:
            self.requests[endpoint] += 1
            queue = self._faults.get(endpoint)
            fault = queue.pop(0) if queue else None
        if fault == "drop_before":
            raise _Drop
        if fault == "http_503":
            return Answer(503, None)
        route = ROUTES.get(endpoint)
        if route is None:
            return Answer(404, shapes.error(-1020, "This operation is not supported."))
        text = body.decode("utf-8", errors="replace")
        try:
            params = dict(parse_qsl(text, keep_blank_values=True))
            params.update(parse_qsl(query, keep_blank_values=True))  # the query string wins
            if route[0]:
                check_signed(headers, query, text, params, api_key=self.api_key,
                             secret=self._secret, now_ms=self._now_ms())
            with self._lock:
                handler: Callable[[Params], Answer] = getattr(self, route[1])
                answer = handler(params)
        except Refusal as refusal:
            status = refusal.status
            answer = Answer(status, shapes.error(refusal.code, refusal.msg))
        except ccxt.RequestTimeout:
            raise _Drop from None  # the venue may have acted: its answer is lost
        except ccxt.BaseError as exc:
            status, error = shapes.venue_error(exc)
            answer = Answer(status, error, {"Retry-After": f"{self.retry_after:g}"}
                            if status == 429 else {})
        except Exception:
            # A bug must not look like a lost answer (a dropped connection): say so.
            _log.exception("BinanceServer failed on %s", endpoint)
            answer = Answer(500, shapes.error(
                -1000, "An unknown error occurred while processing the request."))
        if fault == "drop_after":
            raise _Drop
        return answer

    def _now_ms(self) -> int:
        """The server's clock: signed timestamps are checked against it, /time answers it."""
        return round((self.clock.now() + self.clock_offset) * 1000)


# -- HTTP ------------------------------------------------------------------------------------

class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    binance: BinanceServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer; never a traceback on stderr.
        _log.debug("BinanceServer: connection from %s failed", client_address, exc_info=True)


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    timeout = 10.0  # a silent client does not hold a thread for ever

    def _serve(self) -> None:
        server = self.server
        assert isinstance(server, _HTTPServer)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body = self.rfile.read(length) if length > 0 else b""
        try:
            answer = server.binance.handle(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        except _Drop:
            self.close_connection = True  # nothing written: the client sees the line go dead
            return
        if answer.body is None:
            data, kind = b"Service Unavailable", "text/plain"
        else:
            data, kind = shapes.dumps(answer.body).encode(), "application/json;charset=UTF-8"
        self.send_response(answer.status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PUT = _serve

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The path only: a query string carries signatures, never worth a log line.
        _log.debug("%s %s -> %s", self.command, self.path.partition("?")[0], code)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("BinanceServer: " + format, *args)


# -- the client ------------------------------------------------------------------------------

def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        old = out.get(key)
        out[key] = (_merge(old, value) if isinstance(old, dict) and isinstance(value, Mapping)
                    else value)
    return out


def binance_client(server: BinanceServer, **overrides: Any) -> Any:
    """A real ``ccxt.binance`` that talks only to ``server`` (see ``local_binance``)."""
    return local_binance(server.url, **{"apiKey": server.api_key,
                                        "secret": server._secret.decode(), **overrides})


def async_binance_client(server: BinanceServer, **overrides: Any) -> Any:
    """A real ``ccxt.async_support.binance`` (aiohttp) that talks only to ``server``, as
    ``binance_client`` does, except that ccxt's rate limiter stays on: the async executor
    has many orders' requests in flight at once and relies on ccxt's throttle to pace
    them, so a test should run that throttle as a bot would (``enableRateLimit=False``
    turns it off). Close it with ``await client.close()`` (or ``async with client:``)."""
    return async_local_binance(server.url, **{"apiKey": server.api_key,
                                              "secret": server._secret.decode(),
                                              **overrides})


def async_local_binance(url: str, **overrides: Any) -> Any:
    """``local_binance`` for asyncio: a real ``ccxt.async_support.binance`` that talks
    only to the Binance-compatible server at ``url``, ccxt's rate limiter on (see
    ``async_binance_client``)."""
    config = _local_config(url, {"enableRateLimit": True, **overrides})
    return _pointed_at(ccxt.async_support.binance(config), url)


def local_binance(url: str, **overrides: Any) -> Any:
    """A real ``ccxt.binance`` that talks only to the Binance-compatible server at ``url``
    (loopback only): every ``urls['api']`` entry points at it (sapi, futures and options
    paths answer 404 there), markets load from spot exchangeInfo alone (no sapi currencies
    or margin pairs), no rate limiter, a 3 s timeout. ``overrides`` (``apiKey`` and
    ``secret`` among them) are merged into ccxt's config (dicts deeply, e.g. ``options``)."""
    # No rate limiter by default: ccxt's sync throttle sleeps for real (time.sleep), which
    # tests on a FakeClock would pay for, and the sync executor sends one request at a
    # time, so there are no concurrent requests to pace.
    return _pointed_at(ccxt.binance(_local_config(url, overrides)), url)


def _local_config(url: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    host = urlsplit(url).hostname or ""
    if urlsplit(url).scheme != "http" or host not in LOOPBACK:
        raise ValueError(f"a local Binance server is http:// on loopback, not {url!r}")
    return _merge({
        "enableRateLimit": False, "timeout": 3000,
        "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                    "fetchMargins": False, "adjustForTimeDifference": False},
    }, overrides)


def _pointed_at(client: Any, url: str) -> Any:
    base = url.rstrip("/")
    client.urls["api"] = {name: base + urlsplit(u).path if isinstance(u, str) else u
                          for name, u in client.urls["api"].items()}
    return client
