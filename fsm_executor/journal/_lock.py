"""One writer per journal: an exclusive OS lock on ``<journal>.lock``, held while it is open.

The lock is ``flock(LOCK_EX | LOCK_NB)`` on a file beside the journal, not on the journal:
it is taken before the journal is created or read, and SQLite's own (POSIX) locks on the
journal stay undisturbed. The kernel drops it with the holder's descriptor, so a writer
killed by SIGKILL never leaves it held; a lock file it leaves on disk locks nothing. flock
locks belong to the open file description, so a second open in the same process is refused
too. The holder writes its pid, host, start time and argv[0] into the file, so that a
refused opener can name it. Readers (replay, audit) never take the lock.

The holder removes the file when it lets go, still locked: an opener that opened the old file
meanwhile sees, once it has the lock, that the file is no longer at the path, and starts over.

Windows has no flock: there ``msvcrt.locking`` locks one byte far past the holder's details
(its locks are mandatory: a locked byte cannot be read) and the file stays (an open file
cannot be removed). CI runs on Linux only; the Windows branch is type-checked, not tested.

A hard link to a journal is another path, so another lock: do not make one.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import BinaryIO, Final

from ..core._exceptions import JournalLocked

SUFFIX: Final = ".lock"

#: A refused opener rereads the holder's text this long while it is still empty: the holder
#: writes it just after taking the lock. Only the refusal waits, never a successful open.
_READ_TRIES: Final = 20
_READ_PAUSE: Final = 0.005

if sys.platform == "win32":
    import msvcrt

    _WIN_BYTE: Final = 1 << 30

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WIN_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _remove(path: Path) -> None:
        pass  # an open file cannot be removed; a stale file is harmless
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _remove(path: Path) -> None:
        path.unlink(missing_ok=True)


def lock_path(journal: Path) -> Path:
    """The lock file of ``journal``: beside the file itself, so that a symlink to a journal
    and the journal share one lock."""
    real = journal.resolve()
    return real.with_name(real.name + SUFFIX)


def _is_at(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        there = os.stat(path)
    except FileNotFoundError:
        return False
    here = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _read_holder(fd: int) -> dict[str, object]:
    for attempt in range(_READ_TRIES):
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 4096)
        try:
            holder = json.loads(text)
        except ValueError:
            holder = None
        if isinstance(holder, dict):
            return holder
        if attempt + 1 < _READ_TRIES:
            time.sleep(_READ_PAUSE)
    return {}


def _host() -> str:
    # socket's import is paid by a writer or a refused opener only, never by a reader.
    import socket

    return socket.gethostname()


def _refusal(journal: Path, fd: int) -> JournalLocked:
    holder = _read_holder(fd)
    pid, host = holder.get("pid"), holder.get("host")
    pid = pid if isinstance(pid, int) else None
    host = host if isinstance(host, str) else None
    here = _host()
    return JournalLocked(str(journal), pid, host,
                         this_process=pid is not None and pid == os.getpid() and host == here,
                         this_host=host is None or host == here)


class WriterLock:
    """The lock of one journal, held from ``acquire`` to ``release``, or until the holder
    ends or drops it unreleased (its file object is closed when collected, like SQLite's
    connection, and the lock with it)."""

    def __init__(self, path: Path, file: BinaryIO) -> None:
        self.path = path
        self._file = file

    @classmethod
    def acquire(cls, journal: Path) -> WriterLock:
        """Lock ``journal`` for writing, or raise JournalLocked naming the holder."""
        path = lock_path(journal)
        while True:
            # Python opens it non-inheritable: a child process never holds the lock.
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
            try:
                if not _try_lock(fd):
                    raise _refusal(journal, fd)
                if _is_at(fd, path):
                    break
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # locked a file its holder removed on release: start over
        holder = {"pid": os.getpid(), "host": _host(), "since": time.time(),
                  "argv0": sys.argv[0] if sys.argv else ""}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(holder).encode())
        return cls(path, os.fdopen(fd, "r+b", buffering=0))

    @property
    def held(self) -> bool:
        return not self._file.closed

    def release(self) -> None:
        """Let go (idempotent). The file is removed while still locked; see the module doc."""
        if self._file.closed:
            return
        try:
            if _is_at(self._file.fileno(), self.path):
                with contextlib.suppress(OSError):
                    _remove(self.path)
        finally:
            self._file.close()
