"""The guides in ``docs/`` run as tests, so they cannot rot.

What runs, guide by guide (``docs/*.md``):

- Every block fenced ``python``, in the order of the file, in one namespace shared by
  the guide's blocks (as a notebook's cells), in a fresh temporary working directory (a
  journal the guide writes lands there), with ``random`` seeded. A block that raises, or
  whose ``assert`` fails, fails the guide; the traceback points at the guide's own lines.
- A block fenced ``python no-run`` is shown, never run: only for what cannot run offline (a
  real exchange's keys). Keep those rare and tiny.
- In blocks fenced ``console``, each ``$ fsm-executor ...`` line runs through the
  command line's ``main`` (argv split by ``shlex``) in the same working directory. It
  must exit 0, unless the next line is ``$ echo $?`` followed by the status expected.
  The lines shown under a command are an excerpt of what it printed (stdout and
  stderr): they must appear there in order and one after another, trailing spaces
  aside, except where a line ``...`` stands for any number of lines.
- Other fences (``sh``, ``text``...) are prose.

Every guide must run at least one block and assert something in it, and the README must
link every guide.
"""

from __future__ import annotations

import contextlib
import io
import random
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from fsm_executor.cli._cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GUIDES = sorted(DOCS.glob("*.md"))
SEED = 0

_FENCE = re.compile(r"^```(?P<info>.*)$")


@attrs.frozen
class Block:
    """A fenced block: its info string's words (``python``, ``no-run``), its first line's
    number in the file (1-based) and its text."""

    words: tuple[str, ...]
    line: int
    text: str

    @property
    def language(self) -> str:
        return self.words[0] if self.words else ""

    @property
    def runs(self) -> bool:
        return self.language == "python" and "no-run" not in self.words


def blocks(markdown: str) -> Iterator[Block]:
    """The fenced blocks of ``markdown``, in order."""
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and lines[end] != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"line {i + 1}: a fence that is never closed")
        yield Block(tuple(opening["info"].split()), i + 2, "\n".join(lines[i + 1:end]) + "\n")
        i = end + 1


def run_python(block: Block, path: Path, namespace: dict[str, object]) -> None:
    # Padded to the block's place in the file: tracebacks name the guide's own lines.
    code = compile("\n" * (block.line - 1) + block.text, str(path), "exec")
    exec(code, namespace)


@attrs.frozen
class Command:
    """A ``$`` line of a console block: its line number, its words, the output shown
    under it and the exit status expected."""

    line: int
    argv: tuple[str, ...]
    shown: tuple[str, ...] = ()
    status: int = 0


def commands(block: Block) -> list[Command]:
    """The ``$ fsm-executor`` commands of a console block (other commands are shown, not
    run), each with the output shown under it and the exit status expected: 0, or what
    a ``$ echo $?`` right after it says."""
    found: list[Command] = []
    status_next = False
    for offset, text in enumerate(block.text.splitlines()):
        if status_next:
            found[-1] = attrs.evolve(found[-1], status=int(text))
            status_next = False
        elif text.startswith("$ "):
            words = tuple(shlex.split(text[2:]))
            if words == ("echo", "$?"):
                if not found:
                    raise ValueError(f"line {block.line + offset}: `echo $?` after no command")
                status_next = True
            else:
                found.append(Command(block.line + offset, words))
        elif found:
            found[-1] = attrs.evolve(found[-1], shown=(*found[-1].shown, text.rstrip()))
    return [c for c in found if c.argv[:1] == ("fsm-executor",)]


def shown_in(shown: tuple[str, ...], printed: list[str]) -> bool:
    """Whether the lines ``shown`` appear in ``printed``, in order and one after another,
    except where ``...`` stands for any run of lines (none included)."""
    def match(s: int, p: int) -> bool:
        if s == len(shown):
            return True
        if shown[s] == "...":
            return any(match(s + 1, q) for q in range(p, len(printed) + 1))
        return p < len(printed) and printed[p] == shown[s] and match(s + 1, p + 1)

    # The lines shown are an excerpt: they may start and end anywhere in the output.
    return any(match(0, p) for p in range(len(printed) + 1))


def run_console(block: Block, path: Path) -> None:
    for command in commands(block):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            status = cli_main(list(command.argv[1:]))
        printed = [line.rstrip() for line in out.getvalue().splitlines()]
        where = f"{path.name}, line {command.line}: $ {shlex.join(command.argv)}"
        assert status == command.status, (
            f"{where} exited {status}, not {command.status}:\n{out.getvalue()}")
        assert shown_in(command.shown, printed), (
            f"{where} printed:\n{out.getvalue()}\nwhich lacks the lines shown:\n"
            + "\n".join(command.shown))


def run_guide(path: Path) -> int:
    """Run the guide at ``path`` in the current directory; the number of blocks run."""
    random.seed(SEED)
    namespace: dict[str, object] = {"__name__": f"docs.{path.stem}"}
    ran = 0
    for block in blocks(path.read_text()):
        if block.runs:
            run_python(block, path, namespace)
            ran += 1
        elif block.language == "console":
            run_console(block, path)
    return ran


@pytest.mark.parametrize("guide", GUIDES, ids=[g.name for g in GUIDES])
def test_the_guide_runs_and_what_it_asserts_holds(
        guide: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_guide(guide) > 0
    ran = "".join(b.text for b in blocks(guide.read_text()) if b.runs)
    assert re.search(r"^\s*assert ", ran, re.MULTILINE), f"{guide.name} asserts nothing"


def test_there_are_guides_and_the_readme_links_each_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert GUIDES
    for guide in GUIDES:
        assert f"](docs/{guide.name})" in readme, f"README.md does not link docs/{guide.name}"


def test_every_guide_the_readme_links_exists() -> None:
    linked = re.findall(r"\]\((docs/[^)#]+)", (ROOT / "README.md").read_text())
    assert linked
    assert [link for link in linked if not (ROOT / link).is_file()] == []


# -- the runner itself: a broken guide fails ---------------------------------------------------

def _guide(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "guide.md"
    path.write_text(text)
    return path


def test_blocks_share_one_namespace_in_order_and_no_run_blocks_are_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = _guide(tmp_path, "# A guide\n\n```python\nx = 1\n```\n\n"
                            "```python no-run\nraise SystemExit('needs real keys')\n```\n\n"
                            "```sh\nexit 1\n```\n\n"
                            "```python\nassert x == 1\nopen('here.txt', 'w').close()\n```\n")
    assert run_guide(path) == 2
    assert (tmp_path / "here.txt").is_file()  # in the working directory


def test_a_failing_assert_fails_the_guide_and_names_its_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = _guide(tmp_path, "Text.\n\n```python\nfilled = 0\n\nassert filled == 1\n```\n")
    with pytest.raises(AssertionError) as caught:
        run_guide(path)
    assert caught.traceback[-1].path == path and caught.traceback[-1].lineno + 1 == 6


def test_a_block_that_raises_fails_the_guide(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NameError):
        run_guide(_guide(tmp_path, "```python\nundefined_name\n```\n"))


def test_console_commands_run_and_their_status_and_lines_are_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-a-journal.db").write_text("hello")
    ok = ("```console\n$ fsm-executor audit not-a-journal.db\n...\n$ echo $?\n2\n"
          "$ ls\nanything\n```\n")
    assert run_guide(_guide(tmp_path, ok)) == 0
    for broken in ("```console\n$ fsm-executor audit not-a-journal.db\n```\n",  # exits 2
                   "```console\n$ fsm-executor audit not-a-journal.db\nall is well\n"
                   "$ echo $?\n2\n```\n"):
        with pytest.raises(AssertionError):
            run_guide(_guide(tmp_path, broken))


def test_lines_shown_match_in_order_with_ellipses() -> None:
    printed = ["a", "b", "c", "d"]
    assert shown_in(("a", "...", "d"), printed)
    assert shown_in(("b", "c"), printed)
    assert shown_in(("...", "d"), printed) and shown_in((), printed)
    assert not shown_in(("c", "b"), printed)
    assert not shown_in(("a", "c"), printed)  # consecutive unless "..." says otherwise
    assert not shown_in(("e",), printed)
