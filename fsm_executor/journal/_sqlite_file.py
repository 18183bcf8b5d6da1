"""Creating a SQLite file all at once: the journal and the venue state both need it."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path


def create_atomically(path: Path, build: Callable[[sqlite3.Connection], None]) -> None:
    """Build the file beside ``path`` with ``build``, then link it into place: a crash never
    leaves a half-made file, and a file that appeared meanwhile is never clobbered
    (FileExistsError). Mode 0o600: the owner's alone (SQLite gives -wal, -shm and -journal
    files the same mode)."""
    import uuid  # here: a process that only reads a journal never pays its import

    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            build(conn)
        finally:
            conn.close()
        os.link(tmp, path)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
