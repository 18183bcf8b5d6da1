"""The package's public surface: ``fsm_executor.__all__`` is sorted, complete and real."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import fsm_executor

#: The foundation's modules. (The executor's modules have their own tests and are checked
#: only through ``__all__`` here.)
FOUNDATION = ("journal._audit", "journal._book", "core._clock", "core._events",
              "core._exceptions", "core._fill", "journal._journal", "core._lifecycle",
              "core._machine", "core._model", "journal._replay", "core._states")

#: Public-named classes users never need, and why.
INTERNAL = {
    "fsm_executor.core._events.Reasoned": "base of the events; users build the concrete events",
    "fsm_executor.core._lifecycle.Step": "plan()'s output, consumed by the book and replay",
    "fsm_executor.journal._replay.Rebuilder": "replay's and audit's row feeder",
}
#: Public classes users do need that are not exported yet (none now).
MISSING: set[str] = set()


def isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then functions."""
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def public_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    for module_name in FOUNDATION:
        module = importlib.import_module(f"fsm_executor.{module_name}")
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and obj.__module__ == module.__name__
                    and not name.startswith("_") and name == obj.__name__):
                found[f"{module.__name__}.{name}"] = obj
    return found


def test_all_is_sorted_without_duplicates() -> None:
    names = fsm_executor.__all__
    assert names == sorted(names, key=isort_key)
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", fsm_executor.__all__)
def test_every_name_in_all_exists(name: str) -> None:
    obj = getattr(fsm_executor, name)
    module = getattr(obj, "__module__", None)
    if module is not None and (inspect.isclass(obj) or inspect.isfunction(obj)):
        assert module.startswith("fsm_executor."), name


def test_every_public_name_of_the_package_is_in_all() -> None:
    # Submodules (fsm_executor.testing, once imported) are attributes, not exported names.
    public = {n for n, v in vars(fsm_executor).items()
              if not n.startswith("_") and not inspect.ismodule(v)}
    assert public - set(fsm_executor.__all__) == set()


def test_every_public_foundation_class_users_need_is_exported() -> None:
    classes = public_classes()
    assert set(INTERNAL) <= set(classes), "an INTERNAL entry names no class: update the list"
    needed = {path: cls for path, cls in classes.items()
              if path not in INTERNAL and path not in MISSING}
    not_exported = sorted(path for path, cls in needed.items()
                          if getattr(fsm_executor, cls.__name__, None) is not cls)
    assert not_exported == []


def test_every_exception_class_is_exported_and_in_the_tree() -> None:
    from fsm_executor.core import _exceptions

    doc = _exceptions.__doc__ or ""
    for name, obj in vars(_exceptions).items():
        if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == (
                _exceptions.__name__):
            assert issubclass(obj, fsm_executor.FsmExecutorError), name
            assert getattr(fsm_executor, name) is obj, name
            assert name in doc, f"{name} is missing from the exception tree in the docstring"


def test_the_violation_type_of_audit_reports_is_exported() -> None:
    from fsm_executor.journal._audit import Violation

    assert getattr(fsm_executor, "Violation", None) is Violation
    assert "Violation" in fsm_executor.__all__


def test_the_names_type_checkers_see_are_the_names_the_package_gives() -> None:
    # Every name is imported on first use (_MODULES); mypy reads the TYPE_CHECKING imports
    # instead: both must say the same name comes from the same module.
    tree = ast.parse(Path(fsm_executor.__file__).read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and "TYPE_CHECKING" in ast.unparse(node.test))
    seen = {(f".{node.module}", alias.name) for node in block.body
            if isinstance(node, ast.ImportFrom) for alias in node.names}
    given = {(module, name) for module, names in fsm_executor._MODULES.items()
             for name in names}
    assert seen == given
    assert {name for _, name in given} == set(fsm_executor.__all__)
    assert set(fsm_executor.__all__) <= set(dir(fsm_executor))
