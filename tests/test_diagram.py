"""diagrams/ is generated from the transition table and committed: it must not go stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsm_executor import State, Transition
from fsm_executor.cli import _diagram
from fsm_executor.cli._cli import main
from fsm_executor.cli._diagram import MARKDOWN_FILE, MERMAID_FILE, expected_files
from fsm_executor.core import _machine
from fsm_executor.core._states import TERMINAL, TRANSITIONS

DIAGRAMS = Path(__file__).resolve().parent.parent / "diagrams"


@pytest.mark.parametrize("name", [MERMAID_FILE, MARKDOWN_FILE])
def test_committed_diagram_is_what_the_table_generates(name: str) -> None:
    assert (DIAGRAMS / name).read_text() == expected_files()[name], (
        f"diagrams/{name} is stale: run `make diagrams`")


def test_diagram_check_passes_on_the_committed_files(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagram", "--check", "--out", str(DIAGRAMS)]) == 0
    assert capsys.readouterr().err == ""


def test_diagram_check_fails_after_a_table_change_without_regeneration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    changed = (*TRANSITIONS, Transition("revive", (State.FAILED,), State.CREATED))
    monkeypatch.setattr("fsm_executor.core._machine.TRANSITIONS", changed)
    monkeypatch.setattr("fsm_executor.cli._diagram.TRANSITIONS", changed)
    assert "revive" in expected_files()[MERMAID_FILE]
    assert main(["diagram", "--check", "--out", str(DIAGRAMS)]) == 1
    err = capsys.readouterr().err
    assert MERMAID_FILE in err and MARKDOWN_FILE in err


def test_diagram_check_fails_when_a_file_is_missing_or_edited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagram", "--out", str(tmp_path)]) == 0
    assert main(["diagram", "--check", "--out", str(tmp_path)]) == 0
    (tmp_path / MARKDOWN_FILE).write_text(expected_files()[MARKDOWN_FILE] + "edited\n")
    (tmp_path / MERMAID_FILE).unlink()
    capsys.readouterr()
    assert main(["diagram", "--check", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err.count("differs from the transition table") == 2


def test_diagram_writes_the_expected_files(tmp_path: Path) -> None:
    out = tmp_path / "new" / "diagrams"
    assert main(["diagram", "--out", str(out)]) == 0
    for name, text in expected_files().items():
        assert (out / name).read_text() == text


def test_mermaid_shows_every_state_and_every_trigger() -> None:
    mermaid = expected_files()[MERMAID_FILE]
    assert mermaid.startswith("---\ntitle: fsm-executor order lifecycle\n---\n")
    for state in State:
        assert f'state "{state.value}" as {state.value}' in mermaid
    for t in TRANSITIONS:
        assert t.trigger in mermaid
    assert "  Class " not in mermaid  # Mermaid wants lowercase ``class``


def test_markdown_lists_one_table_row_per_transition() -> None:
    markdown = expected_files()[MARKDOWN_FILE]
    table = [line for line in markdown.splitlines() if line.startswith("| `")]
    assert len(table) == len(TRANSITIONS)
    assert all(f"`{s}`" in markdown.split("Terminal:")[1].split(".")[0] for s in TERMINAL)


def drawn_by_graph_machine() -> str:
    """Mermaid as transitions' GraphMachine draws the table, with the two fixes GitHub needs
    (a ``title:`` in the front matter, ``class`` in lowercase)."""
    source: str = _diagram.graph_machine("mermaid").get_graph().draw(None)
    title = _diagram.TITLE
    source = source.replace(f"---\n{title}\n---", f"---\ntitle: {title}\n---", 1)
    return "\n".join("  class " + line[len("  Class "):] if line.startswith("  Class ")
                     else line.rstrip() for line in source.splitlines()).rstrip() + "\n"


def test_the_mermaid_written_here_is_what_graph_machine_draws() -> None:
    assert _diagram.mermaid() == drawn_by_graph_machine()


def test_the_two_agree_on_conditions_unless_and_a_new_edge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    extra = Transition("expire", (State.CREATED, State.SUBMIT_UNKNOWN), State.EXPIRED,
                       conditions=("has_fills",), unless=("is_complete",))
    table = (*TRANSITIONS, extra)
    monkeypatch.setattr(_diagram, "TRANSITIONS", table)
    monkeypatch.setattr(_machine, "TRANSITIONS", table)
    drawn = _diagram.mermaid()
    assert "created --> expired: expire [has_fills & !is_complete]" in drawn
    assert drawn == drawn_by_graph_machine()
