"""The "Exit statuses" table of README.md is true: it has a row for every command the
parser declares and a column for every status cli/_exits.py names, and each status it
claims for a command is brought about here and is what ``main`` returns. A dash claims
nothing; a status brought about here that the table does not claim fails too."""

from __future__ import annotations

import argparse
import errno
import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_run import IN_DOUBT, NEVER_PLACED, scripted_venue

from fsm_executor import OrderBook
from fsm_executor.cli import _cli, _exits
from fsm_executor.cli._cli import COMMANDS, main, parser

README = Path(__file__).resolve().parents[1] / "README.md"
DASH = "—"


def exit_table() -> tuple[list[int], dict[str, set[int]]]:
    """The table's status columns, and each command's statuses (its cells without a dash)."""
    section = README.read_text().split("\n### Exit statuses\n", 1)[1]
    lines = []
    for line in section.splitlines():
        if line.startswith("|"):
            lines.append(line)
        elif lines:
            break  # the table's end
    header, rule, *rows = ([cell.strip() for cell in line.strip("|").split("|")]
                           for line in lines)
    assert header[0] == "command" and set("".join(rule)) <= {"-"}
    columns = [int(status) for status in header[1:]]
    claims = {}
    for command, *cells in rows:
        assert len(cells) == len(columns), command
        claims[command.strip("`")] = {status for status, cell in zip(columns, cells,
                                                                     strict=True)
                                      if cell != DASH}
    return columns, claims


def commands(p: argparse.ArgumentParser, prefix: str = "") -> Iterator[str]:
    """Every command the parser declares, sub-commands spelt out (``journal archive``)."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                inner = list(commands(sub, f"{prefix}{name} "))
                yield from inner or [f"{prefix}{name}"]


def test_the_exit_table_has_a_row_per_command_and_a_column_per_named_status() -> None:
    columns, claims = exit_table()
    named = sorted(v for k, v in vars(_exits).items() if k.startswith("EXIT_"))
    assert columns == named == [0, 1, 2, 3, 4, 130, 141]
    assert sorted(claims) == sorted(commands(parser()))


# -- scenarios: each brings about one status of one command and returns what main said ----

Scenario = Callable[[Path, pytest.MonkeyPatch], int]


def cli(*argv: str | Path) -> int:
    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own status for a line it cannot parse
        return int(exc.code or 0)


def signals(tmp: Path, *rows: str) -> Path:
    path = tmp / "signals.csv"
    path.write_text("id,symbol,side,amount,price,order_type\n" + "".join(f"{r}\n" for r in rows))
    return path


MARKET = "m1,ETH/USDT,buy,0.1,2000,market"


def journal(tmp: Path) -> Path:
    """A journal whose one order filled."""
    path = tmp / "j.db"
    assert cli("run", signals(tmp, MARKET), "--journal", path) == 0
    return path


def tampered(tmp: Path) -> Path:
    """A journal with a row the table does not allow (filled straight from created)."""
    path = journal(tmp)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE journal SET dest = 'filled' WHERE trigger = 'submit'")
    conn.close()
    return path


def foreign(tmp: Path) -> Path:
    path = tmp / "notes.txt"
    path.write_text("not a journal\n")
    return path


def locked(tmp: Path, *argv: str | Path) -> int:
    """``argv`` while another writer holds the journal ``tmp/j.db``."""
    with OrderBook.open(tmp / "j.db"):
        return cli(*argv)


def interrupted(monkeypatch: pytest.MonkeyPatch, *argv: str | Path) -> int:
    """``argv``, its command interrupted (Ctrl-C) as it starts."""
    real = argparse.ArgumentParser.parse_args

    def parse(self: argparse.ArgumentParser, *args: object, **kw: object) -> argparse.Namespace:
        parsed = real(self, *args, **kw)  # type: ignore[call-overload]

        def stopped(_: argparse.Namespace) -> int:
            raise KeyboardInterrupt

        parsed.func = stopped
        return parsed  # type: ignore[no-any-return]

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse)
    return cli(*argv)


def presumed_absent(tmp: Path, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    scripted_venue(monkeypatch, NEVER_PLACED)
    return cli("run", signals(tmp, MARKET), "--journal", tmp / "j.db", *argv)


def in_doubt(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    scripted_venue(monkeypatch, IN_DOUBT)
    return cli("run", signals(tmp, MARKET), "--journal", tmp / "j.db")


def served(tmp: Path, stop: signal.Signals) -> int:
    """``venue serve`` in a process of its own, stopped by ``stop`` once it serves."""
    env = {**os.environ, "FSM_EXECUTOR_API_KEY": "k", "FSM_EXECUTOR_API_SECRET": "s"}
    server = subprocess.Popen([sys.executable, "-m", "fsm_executor.cli._cli", "venue",
                               "serve", "--venue-state", str(tmp / "venue.db")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env)
    assert server.stdout is not None
    assert server.stdout.readline().startswith("serving the paper venue")
    server.send_signal(stop)
    server.communicate(timeout=10)
    return server.returncode


class _ReaderGone(io.StringIO):
    """A standard output whose pipe's reader has gone: every write is EPIPE."""

    def write(self, _text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def reader_gone(monkeypatch: pytest.MonkeyPatch, *argv: str | Path) -> int:
    """``argv`` (made first: a journal to read is written before), its output into a pipe
    whose reader has gone."""
    monkeypatch.setattr(sys, "stdout", _ReaderGone())
    return cli(*argv)


def served_to_no_reader(tmp: Path) -> int:
    """``venue serve`` in a process of its own, its output a pipe closed before it starts."""
    env = {**os.environ, "FSM_EXECUTOR_API_KEY": "k", "FSM_EXECUTOR_API_SECRET": "s"}
    read, write = os.pipe()
    os.close(read)
    try:
        server = subprocess.run([sys.executable, "-m", "fsm_executor.cli._cli", "venue",
                                 "serve", "--venue-state", str(tmp / "venue.db")],
                                stdout=write, stderr=subprocess.PIPE, text=True, env=env,
                                timeout=60, check=False)
    finally:
        os.close(write)
    assert "Traceback" not in server.stderr and "Broken" not in server.stderr, server.stderr
    return server.returncode


def no_keys(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.delenv("FSM_EXECUTOR_API_KEY", raising=False)
    return cli("venue", "serve")


SCENARIOS: dict[tuple[str, int], Scenario] = {
    ("run", 0): lambda tmp, _: cli("run", signals(tmp, MARKET), "--journal", tmp / "j.db"),
    ("run", 1): lambda tmp, _: cli("run", signals(tmp, "x,NOPE/USDT,buy,1,10,limit"),
                                   "--journal", tmp / "j.db"),
    ("run", 2): lambda tmp, _: cli("run", signals(tmp, "x,BTC/USDT,hold,1,10,limit"),
                                   "--journal", tmp / "j.db"),
    ("run", 3): presumed_absent,
    ("run", 4): lambda tmp, _: locked(tmp, "run", signals(tmp, MARKET), "--journal",
                                      tmp / "j.db"),
    ("run", 130): lambda tmp, mp: interrupted(mp, "run", "s.csv", "--journal", "j.db"),
    ("recover", 0): lambda tmp, _: cli("recover", "--journal", journal(tmp)),
    ("recover", 1): lambda tmp, mp: (in_doubt(tmp, mp), cli("recover", "--journal",
                                                            tmp / "j.db"))[1],
    ("recover", 2): lambda tmp, _: cli("recover", "--journal", foreign(tmp)),
    ("recover", 3): lambda tmp, mp: (presumed_absent(tmp, mp),
                                     cli("recover", "--journal", tmp / "j.db"))[1],
    ("recover", 4): lambda tmp, _: locked(tmp, "recover", "--journal", tmp / "j.db"),
    ("recover", 130): lambda tmp, mp: interrupted(mp, "recover", "--journal", "j.db"),
    ("audit", 0): lambda tmp, _: cli("audit", journal(tmp)),
    ("audit", 1): lambda tmp, _: cli("audit", tampered(tmp)),
    ("audit", 2): lambda tmp, _: cli("audit", foreign(tmp)),
    ("audit", 130): lambda tmp, mp: interrupted(mp, "audit", "j.db"),
    ("replay", 0): lambda tmp, _: cli("replay", journal(tmp)),
    ("replay", 1): lambda tmp, _: cli("replay", tampered(tmp)),
    ("replay", 2): lambda tmp, _: cli("replay", foreign(tmp)),
    ("replay", 130): lambda tmp, mp: interrupted(mp, "replay", "j.db"),
    ("orders", 0): lambda tmp, _: cli("orders", journal(tmp)),
    ("orders", 2): lambda tmp, _: cli("orders", foreign(tmp)),
    ("orders", 130): lambda tmp, mp: interrupted(mp, "orders", "j.db"),
    ("export", 0): lambda tmp, _: cli("export", journal(tmp), "--what", "fills"),
    ("export", 2): lambda tmp, _: cli("export", foreign(tmp)),
    ("export", 130): lambda tmp, mp: interrupted(mp, "export", "j.db"),
    ("journal archive", 0): lambda tmp, _: cli("journal", "archive", journal(tmp),
                                               "--before", "2000-01-01"),
    ("journal archive", 2): lambda tmp, _: cli("journal", "archive", journal(tmp),
                                               "--before", "last week"),
    ("journal archive", 4): lambda tmp, _: locked(tmp, "journal", "archive", tmp / "j.db",
                                                  "--before", "2000-01-01"),
    ("journal archive", 130): lambda tmp, mp: interrupted(mp, "journal", "archive", "j.db",
                                                          "--before", "2000-01-01"),
    ("diagram", 0): lambda tmp, _: cli("diagram", "--out", tmp / "d"),
    ("diagram", 1): lambda tmp, _: cli("diagram", "--out", tmp / "empty", "--check"),
    ("diagram", 2): lambda tmp, _: cli("diagram", "--out", foreign(tmp) / "d"),
    ("diagram", 130): lambda tmp, mp: interrupted(mp, "diagram"),
    ("venue serve", 0): lambda tmp, _: served(tmp, signal.SIGINT),
    ("venue serve", 2): lambda tmp, mp: no_keys(mp),
    ("venue serve", 130): lambda tmp, mp: interrupted(mp, "venue", "serve"),
    ("run", 141): lambda tmp, mp: reader_gone(mp, "run", signals(tmp, MARKET), "--journal",
                                             tmp / "j.db"),
    ("recover", 141): lambda tmp, mp: reader_gone(mp, "recover", "--journal", journal(tmp)),
    ("audit", 141): lambda tmp, mp: reader_gone(mp, "audit", journal(tmp)),
    ("replay", 141): lambda tmp, mp: reader_gone(mp, "replay", journal(tmp)),
    ("orders", 141): lambda tmp, mp: reader_gone(mp, "orders", journal(tmp)),
    ("export", 141): lambda tmp, mp: reader_gone(mp, "export", journal(tmp)),
    ("journal archive", 141): lambda tmp, mp: reader_gone(mp, "journal", "archive",
                                                          journal(tmp), "--before",
                                                          "2000-01-01"),
    ("diagram", 141): lambda tmp, mp: reader_gone(mp, "diagram", "--out", tmp / "d"),
    ("venue serve", 141): lambda tmp, _: served_to_no_reader(tmp),
}


def test_the_exit_table_claims_exactly_the_statuses_brought_about_here() -> None:
    _, claims = exit_table()
    claimed = {(command, status) for command, statuses in claims.items()
               for status in statuses}
    assert claimed == set(SCENARIOS)


@pytest.mark.parametrize(("command", "status"), sorted(SCENARIOS),
                         ids=[f"{c}-{s}" for c, s in sorted(SCENARIOS)])
def test_each_exit_status_the_table_claims_is_what_the_command_returns(
        command: str, status: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert SCENARIOS[command, status](tmp_path, monkeypatch) == status
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if status in (_exits.EXIT_BAD_INPUT, _exits.EXIT_LOCKED):
        assert re.search(r"^fsm-executor: \S", err, re.M), err  # a clear line, not silence


def test_a_command_line_argparse_cannot_parse_is_status_2_whatever_the_command() -> None:
    for command in commands(parser()):
        assert cli(*command.split(), "--no-such-option") == _exits.EXIT_BAD_INPUT, command


def helps(p: argparse.ArgumentParser, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Each (sub-)command's name and its ``--help`` text."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub.format_help()
                yield from helps(sub, f"{prefix}{name} ")


def test_a_command_declared_alone_is_the_command_declared_among_all() -> None:
    # main declares only the command it runs (start-up): the same arguments, the same help.
    everything = dict(helps(parser()))
    alone = {}
    for command in COMMANDS:
        declared = dict(helps(parser(command)))
        assert {name.split()[0] for name in declared} == {command}
        alone.update(declared)
    assert alone == everything
    assert list(commands(parser())) == list(commands(parser(None)))


def test_main_declares_only_the_command_it_runs_and_everything_for_a_mistake(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    asked: list[str | None] = []
    monkeypatch.setattr(_cli, "parser", lambda command=None: asked.append(command)
                        or parser(command))
    assert cli("diagram", "--check", "--out", "diagrams") in (0, 1)
    assert cli("audti", "journal.db") == _exits.EXIT_BAD_INPUT
    assert cli("--help") == 0
    assert asked == ["diagram", None, None]
    err = capsys.readouterr().err
    assert "invalid choice: 'audti'" in err and "'orders'" in err and "'venue'" in err


@pytest.mark.parametrize("columns", [None, "123", "0", "-5", "wide"])
def test_help_is_as_wide_as_shutil_would_make_it(
        columns: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    # The parser learns the width without importing shutil (start-up): the same answer.
    import shutil

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert _cli._columns() == shutil.get_terminal_size().columns
    formatter = parser("audit")._get_formatter()
    assert formatter._width == shutil.get_terminal_size().columns - 2


def test_the_collector_is_paused_while_a_command_is_imported_and_resumed_to_run_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import gc
    import importlib

    seen: dict[str, bool] = {}
    real_import = importlib.import_module

    def import_module(name: str, package: str | None = None) -> object:
        seen["importing"] = gc.isenabled()
        return real_import(name, package)

    def orders(args: argparse.Namespace) -> int:
        seen["running"] = gc.isenabled()
        return 0

    monkeypatch.setattr(importlib, "import_module", import_module)
    monkeypatch.setattr("fsm_executor.cli._orders.cmd_orders", orders)
    assert gc.isenabled()
    assert cli("orders", tmp_path / "j.db") == 0
    assert seen == {"importing": False, "running": True}
    assert gc.isenabled()
    gc.disable()  # a process that keeps it off has it off after
    try:
        assert cli("orders", tmp_path / "j.db") == 0
        assert not gc.isenabled() and seen["running"] is False
    finally:
        gc.enable()


@pytest.mark.parametrize(("argv", "status"), [(["diagram", "--check"], 0), (["audti"], 2)],
                         ids=["diagram-check", "typo"])
def test_the_program_exits_with_mains_status_its_objects_frozen_for_the_exit(
        argv: list[str], status: int) -> None:
    # Frozen, the interpreter's last collection skips them (start-up); in a child process,
    # since freezing this one would keep every test's garbage for good.
    check = ("import atexit, gc, sys\n"
             "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
             "from fsm_executor.cli._cli import entry\n"
             f"sys.argv[1:] = {argv!r}\n"
             "entry()\n")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                          cwd=README.parent, timeout=120, check=False)
    assert done.returncode == status, done.stderr
    assert done.stdout.splitlines()[-1] == "frozen True"
