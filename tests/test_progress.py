"""The command line's progress: a rich bar on a terminal, lines or nothing elsewhere."""

from __future__ import annotations

import io

import pytest

from fsm_executor.cli._progress import Bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_is_drawn_by_rich_and_lines_said_above_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TERM", "xterm")
    out = Terminal()
    with Bar("rows", 1000, out, lines=False) as bar:
        bar.update(500, 1000)
        bar.say("fsm-executor: an order in doubt")
    drawn = out.getvalue()
    assert "500/1000" in drawn and "\x1b[" in drawn  # rich's bar, with its escapes
    assert "fsm-executor: an order in doubt" in drawn


def test_elsewhere_a_line_every_tenth_or_nothing_for_a_reading_command() -> None:
    out = io.StringIO()
    with Bar("signals", 20, out) as bar:
        for i in range(20):
            bar.step(f"s{i}")
    assert out.getvalue().splitlines() == [
        "1/20 signals", *(f"{n}/20 signals" for n in range(2, 21, 2))]
    quiet = io.StringIO()
    with Bar("rows", 0, quiet, lines=False) as bar:
        bar.update(10, 20)
    assert quiet.getvalue() == ""


def test_a_dumb_terminal_gets_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    out = Terminal()
    with Bar("signals", 2, out) as bar:
        bar.step()
        bar.step()
    assert out.getvalue() == "1/2 signals\n2/2 signals\n"
