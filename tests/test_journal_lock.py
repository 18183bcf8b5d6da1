"""One writer per journal: a second writer is refused before it reads or writes anything,
in this process or another; a dead writer's lock never sticks; readers never wait."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from journal_tools import fingerprint, open_order, rows, spec

from fsm_executor import (
    FakeClock,
    Journal,
    JournalLocked,
    JournalReader,
    NotAJournal,
    OrderBook,
    TradeExecutor,
    audit,
    replay,
)
from fsm_executor.cli._cli import main
from fsm_executor.cli._exits import EXIT_LOCKED
from fsm_executor.journal._lock import WriterLock, lock_path
from fsm_executor.venue._paper import PaperExchange

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "signals.csv"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock: POSIX")

#: A child that opens the journal, journals one order, says "ready", and holds the journal
#: until a line arrives on its stdin.
HOLDER = """
import sys
from fsm_executor import OrderBook, OrderSpec
book = OrderBook.open(sys.argv[1])
book.create(OrderSpec("child-1", "BTC/USDT", "buy", "limit", "1", "100"))
print("ready", flush=True)
sys.stdin.readline()
book.close()
"""

#: A child that tries to open the journal: exit 7 and the holder's pid if refused.
OPENER = """
import sys
from fsm_executor import JournalLocked, OrderBook
try:
    OrderBook.open(sys.argv[1]).close()
except JournalLocked as exc:
    print(exc.pid)
    print(exc)
    sys.exit(7)
"""


def child_env() -> dict[str, str]:
    """The child imports this checkout, whatever is installed."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


@pytest.fixture
def holder(journal_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``journal_path``, ready."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(journal_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env())
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line != "ready\n":
            pytest.fail(f"the holder did not start: {line!r} {proc.communicate()[1]}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def snapshot(path: Path) -> tuple[object, ...]:
    """The journal's rows and bytes, and its lock file's bytes."""
    lock = lock_path(path)
    return rows(path), fingerprint(path), lock.read_bytes() if lock.exists() else None


SECOND_WRITERS: dict[str, Callable[[Path], object]] = {
    "Journal": lambda p: Journal.open(p),
    "OrderBook": lambda p: OrderBook.open(p),
    "TradeExecutor": lambda p: TradeExecutor(PaperExchange(FakeClock(0), seed=1), p),
}


@pytest.mark.parametrize("second", SECOND_WRITERS.values(), ids=SECOND_WRITERS.keys())
def test_a_second_writer_in_this_process_is_refused_naming_our_pid_and_writes_nothing(
    book: OrderBook, journal_path: Path, second: Callable[[Path], object]
) -> None:
    open_order(book)
    before = snapshot(journal_path)
    with pytest.raises(JournalLocked) as info:
        second(journal_path)
    assert info.value.pid == os.getpid()
    assert info.value.path == str(journal_path)
    assert f"this process (pid {os.getpid()}) already has this journal open" in str(info.value)
    assert snapshot(journal_path) == before
    # The refusal took nothing from the first writer: it goes on, and the chain holds.
    book.create(spec("o2"))
    assert len(rows(journal_path)) == 4
    assert audit(journal_path).ok


def test_a_symlink_to_an_open_journal_is_refused_too(book: OrderBook, journal_path: Path,
                                                     tmp_path: Path) -> None:
    link = tmp_path / "elsewhere.db"
    link.symlink_to(journal_path)
    with pytest.raises(JournalLocked):
        Journal.open(link)


def test_the_lock_file_names_its_holder(book: OrderBook, journal_path: Path) -> None:
    holder = json.loads(lock_path(journal_path).read_text())
    assert holder["pid"] == os.getpid()
    assert holder["host"] == socket.gethostname()
    assert holder["argv0"] == sys.argv[0]
    assert isinstance(holder["since"], float)
    assert lock_path(journal_path) == journal_path.with_name("journal.db.lock")


def test_another_process_is_refused_naming_this_one(book: OrderBook, journal_path: Path) -> None:
    open_order(book)
    before = snapshot(journal_path)
    done = subprocess.run([sys.executable, "-c", OPENER, str(journal_path)],
                          capture_output=True, text=True, env=child_env(), timeout=60)
    assert done.returncode == 7, done.stderr
    pid, message = done.stdout.splitlines()
    assert int(pid) == os.getpid()
    assert (f"another fsm-executor process (pid {os.getpid()}) is writing this journal; "
            "stop it, or use another journal") in message
    assert snapshot(journal_path) == before


def test_this_process_is_refused_naming_the_process_that_holds_the_journal(
    journal_path: Path, holder: subprocess.Popen[str]
) -> None:
    before = snapshot(journal_path)
    with pytest.raises(JournalLocked) as info:
        OrderBook.open(journal_path)
    assert info.value.pid == holder.pid
    assert info.value.host == socket.gethostname()
    assert f"(pid {holder.pid})" in str(info.value)
    assert snapshot(journal_path) == before
    assert holder.communicate("\n", timeout=60)[1] == ""  # let go
    assert holder.returncode == 0
    with OrderBook.open(journal_path) as book:
        assert "child-1" in book


def test_the_command_line_refuses_a_held_journal_with_one_line_and_exit_status_4(
    journal_path: Path, holder: subprocess.Popen[str], tmp_path: Path
) -> None:
    venue_state = tmp_path / "venue.db"
    before = snapshot(journal_path)
    done = subprocess.run(
        [sys.executable, "-m", "fsm_executor.cli._cli", "run", str(EXAMPLE), "--journal",
         str(journal_path), "--venue-state", str(venue_state)],
        capture_output=True, text=True, env=child_env(), timeout=120)
    assert done.returncode == EXIT_LOCKED == 4
    assert done.stdout == ""
    assert done.stderr == (f"fsm-executor: {journal_path}: another fsm-executor process "
                           f"(pid {holder.pid}) is writing this journal; stop it, or use "
                           "another journal\n")
    assert snapshot(journal_path) == before
    # Refused before any exchange request: the venue saw no order.
    venue = PaperExchange(FakeClock(0), state_path=str(venue_state))
    try:
        assert venue.all_orders() == []
    finally:
        venue.close()


@pytest.mark.parametrize("command", ["run", "recover"])
def test_run_and_recover_in_this_process_give_exit_status_4(
    book: OrderBook, journal_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    args = [command, *([str(EXAMPLE)] if command == "run" else []), "--journal",
            str(journal_path)]
    assert main(args) == EXIT_LOCKED
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "already has this journal open for writing" in err
    assert rows(journal_path) == []


def test_a_writer_killed_with_sigkill_leaves_no_stuck_lock(
    journal_path: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(JournalLocked):
        Journal.open(journal_path)
    holder.send_signal(signal.SIGKILL)
    assert holder.wait(timeout=60) == -signal.SIGKILL
    # Its lock file is still there, naming a dead process: only the OS lock counts.
    assert json.loads(lock_path(journal_path).read_text())["pid"] == holder.pid
    with OrderBook.open(journal_path) as book:
        assert "child-1" in book
        book.create(spec("o2"))
    assert audit(journal_path).ok
    assert not lock_path(journal_path).exists()


@pytest.mark.parametrize("first", SECOND_WRITERS.values(), ids=SECOND_WRITERS.keys())
def test_close_lets_go_of_the_journal(journal_path: Path, first: Callable[[Path], object]) -> None:
    for _ in range(2):
        writer = first(journal_path)
        assert lock_path(journal_path).exists()
        writer.close()  # type: ignore[attr-defined]
        writer.close()  # type: ignore[attr-defined]  # twice: harmless
        assert not lock_path(journal_path).exists()
    Journal.open(journal_path).close()


def test_a_refused_open_of_a_foreign_file_lets_go_too(tmp_path: Path) -> None:
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a journal\n")
    for _ in range(2):
        with pytest.raises(NotAJournal):
            Journal.open(foreign)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_readers_are_not_blocked_by_a_writer_and_take_no_lock(
    book: OrderBook, journal_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_order(book)
    lock_before = lock_path(journal_path).read_bytes()
    with JournalReader(journal_path) as reader:
        assert len(list(reader.entries())) == 3
    assert replay(journal_path)["o1"] == book.get("o1")
    report = audit(journal_path, expected_head=book.journal.head)
    assert report.ok and report.rows == 3
    assert main(["audit", str(journal_path)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    # None of them took the lock: the writer still holds it and goes on.
    assert lock_path(journal_path).read_bytes() == lock_before
    with pytest.raises(JournalLocked):
        Journal.open(journal_path)
    book.create(spec("o2"))
    assert len(replay(journal_path)) == 2


def test_readers_in_another_process_are_not_blocked(
    journal_path: Path, holder: subprocess.Popen[str]
) -> None:
    assert audit(journal_path).ok
    assert set(replay(journal_path)) == {"child-1"}


def test_an_opener_that_locked_a_released_lock_file_starts_over(
    journal_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race the removal on release could open: B opens the lock file, A removes it and
    # lets go, B locks the removed file. B must not count that as the lock, or C (who
    # creates a new file) would hold it as well.
    first = WriterLock.acquire(journal_path)
    stale = os.open(lock_path(journal_path), os.O_RDWR)
    first.release()
    real_open = os.open
    handed: list[int] = []

    def open_stale_first(*args: object, **kwargs: object) -> int:
        if not handed:
            handed.append(stale)
            return stale
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", open_stale_first)
    second = WriterLock.acquire(journal_path)
    monkeypatch.undo()
    assert handed == [stale]
    held = os.fstat(second._file.fileno())
    assert (held.st_dev, held.st_ino) == (os.stat(lock_path(journal_path)).st_dev,
                                          os.stat(lock_path(journal_path)).st_ino)
    with pytest.raises(JournalLocked):
        Journal.open(journal_path)
    second.release()
    Journal.open(journal_path).close()


def test_a_second_writer_is_refused_before_it_creates_anything(
    book: OrderBook, journal_path: Path
) -> None:
    # Someone removed the journal under the running writer: a second one, refused by the
    # lock before it looks, does not create a fresh journal there.
    journal_path.unlink()
    with pytest.raises(JournalLocked):
        OrderBook.open(journal_path)
    assert not journal_path.exists()
