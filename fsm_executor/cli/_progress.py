"""Progress of a long command, on stderr: a ``rich`` bar on a terminal (gone when done);
elsewhere (a log, CI) a line every tenth, or nothing for a reading command, whose output a
script may be collecting."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from ._show import on_terminal

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress


class Bar:
    def __init__(self, what: str, total: int, out: TextIO, lines: bool = True) -> None:
        self.what, self.total, self.out, self.done = what, total, out, 0
        self._lines = lines
        self._tenth = -1
        self._rich: RichProgress | None = None
        if on_terminal(out):
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._rich = Progress(TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeRemainingColumn(),
                                  console=Console(file=out), transient=True)
            self._task = self._rich.add_task(what, total=total or None)  # None: not known yet
            self._rich.start()

    def step(self, label: str = "") -> None:
        """One more done (``label``: which, shown on the bar)."""
        self.update(self.done + 1, self.total, label)

    def update(self, done: int, total: int, label: str = "") -> None:
        """``done`` of ``total`` done so far."""
        self.done, self.total = done, total
        if self._rich is not None:
            self._rich.update(self._task, completed=done, total=total,
                              description=f"{self.what} {label[:30]}" if label else self.what)
        elif self._lines and total:
            tenth = 10 * done // total
            if tenth != self._tenth:
                self._tenth = tenth
                print(f"{done}/{total} {self.what}", file=self.out, flush=True)

    def say(self, line: str) -> None:
        """A line above the bar (beside it, it would be drawn over)."""
        if self._rich is not None:
            self._rich.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=self.out, flush=True)

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
