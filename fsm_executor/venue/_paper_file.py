"""The SQLite file that keeps the paper venue's state, so the venue outlives the bot.

The file holds three tables of JSON text (Decimals as strings): ``kv`` for the venue-wide
state (balances, counters, prices, clock grid, generator states, scripted faults), ``orders``
and ``trades``, one row each. A save writes what changed in one transaction, so a process
killed at any point leaves the venue as it was after some whole call.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from ..journal._sqlite_file import create_atomically
from ._paper_records import PaperOrder, PaperTrade, SavedState, from_json, to_json

FORMAT: Final = "fsm-executor-paper-venue"
SCHEMA_VERSION: Final = 1
SQLITE_HEADER: Final = b"SQLite format 3\x00"
dumps: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _refuse(path: Path, why: str) -> ValueError:
    return ValueError(f"{path} is not a paper venue state file: {why}")


def _check(path: Path) -> None:
    """Refuse anything but a paper venue file, without writing to it."""
    if not path.is_file():
        raise _refuse(path, "not a regular file")
    with path.open("rb") as f:
        if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise _refuse(path, "not a SQLite file")
    meta = _read_meta(path, read_only=True)
    if meta is None and Path(f"{path}-journal").exists():
        # A venue killed in the middle of a save leaves a hot rollback journal, which a
        # read-only connection cannot roll back. Rolling it back is SQLite's own crash
        # recovery of this very file (a foreign file has no hot journal of ours).
        meta = _read_meta(path, read_only=False)
    if (meta or {}).get("format") != FORMAT:
        raise _refuse(path, "a SQLite file of something else")
    assert meta is not None
    if meta.get("schema_version") != str(SCHEMA_VERSION):
        raise _refuse(path, f"unsupported schema version {meta.get('schema_version')!r}")


def _read_meta(path: Path, read_only: bool) -> dict[str, str] | None:
    """The meta table, {} when there is none, None when the file could not be read."""
    try:
        if read_only:
            conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        else:
            conn = sqlite3.connect(path)
    except sqlite3.Error as exc:
        raise _refuse(path, f"cannot be opened: {exc}") from None
    try:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.Error as exc:
        return {} if "no such table" in str(exc) else None
    finally:
        conn.close()


def _create(path: Path) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("CREATE TABLE trades (id INTEGER PRIMARY KEY, value TEXT NOT NULL)")
        conn.executemany("INSERT INTO meta VALUES (?, ?)",
                         [("format", FORMAT), ("schema_version", str(SCHEMA_VERSION))])
        conn.execute("COMMIT")

    create_atomically(path, build)


def _trade_from_row(text: str, quotes: Mapping[str, str]) -> PaperTrade:
    data = json.loads(text)
    # A trade saved before fees could be paid elsewhere paid in the quote currency.
    data.setdefault("fee_currency", quotes[data["symbol"]])
    return from_json(PaperTrade, data)


class VenueFile:
    """An open venue state file. One venue (one process) per file."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._written: dict[str, str] = {}  # the kv text on disk, to skip unchanged rows

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> VenueFile:
        """Open ``path``, creating it if missing; a file of anything else is ValueError,
        and left untouched."""
        p = Path(path)
        if not p.exists():
            with contextlib.suppress(FileExistsError):
                _create(p)
        _check(p)
        # Callers serialise every call (the venue is not thread-safe; the Binance server
        # holds one lock around it), so the connection may move between threads.
        return cls(p, sqlite3.connect(p, isolation_level=None, check_same_thread=False))

    def load(self) -> SavedState | None:
        """The saved state, or None if nothing was saved yet; ValueError if unreadable."""
        conn = self._conn
        try:
            self._written = dict(conn.execute("SELECT key, value FROM kv").fetchall())
            kv = {k: json.loads(v) for k, v in self._written.items()}
            if not kv:
                return None
            orders = [from_json(PaperOrder, json.loads(v))
                      for (v,) in conn.execute("SELECT value FROM orders ORDER BY id")]
            quotes = {m["symbol"]: m["quote"] for m in kv["markets"]}
            trades = [_trade_from_row(v, quotes)
                      for (v,) in conn.execute("SELECT value FROM trades ORDER BY id")]
        except (sqlite3.Error, KeyError, TypeError, ArithmeticError) as exc:
            raise ValueError(f"unreadable: {exc}") from exc
        return SavedState(kv, orders, trades)

    def save(self, kv: Mapping[str, Any], orders: Iterable[PaperOrder],
             trades: Iterable[PaperTrade]) -> None:
        """Write what changed since the last save, in one transaction (or nothing)."""
        texts = {k: dumps(v) for k, v in kv.items()}
        changed = [(k, t) for k, t in texts.items() if self._written.get(k) != t]
        order_rows = [(int(o.id), dumps(to_json(o))) for o in orders]
        trade_rows = [(int(t.id[1:]), dumps(to_json(t))) for t in trades]
        if not (changed or order_rows or trade_rows):
            return
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", changed)
            conn.executemany("INSERT OR REPLACE INTO orders VALUES (?, ?)", order_rows)
            conn.executemany("INSERT OR REPLACE INTO trades VALUES (?, ?)", trade_rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._written.update(changed)

    def close(self) -> None:
        self._conn.close()
