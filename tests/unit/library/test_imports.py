"""Each module names every fleet module_utils it needs, directly or through another.

Mitogen (the pull runner's and Molecule's strategy) ships a module only the
module_utils its own import statements name: it does not follow the relative
imports inside module_utils/fleet. A module that forgets one fails on the host
with ModuleNotFoundError, only under Mitogen; this test fails first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "module_utils" / "fleet"
PREFIX = "ansible.module_utils.fleet"


def _relative_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names.update(alias.name for alias in node.names)
    return names


def _named(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name[len(PREFIX) + 1:].split(".")[0]
                         for alias in node.names if alias.name.startswith(PREFIX + "."))
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PREFIX:
                names.update(alias.name for alias in node.names)
            elif node.module.startswith(PREFIX + "."):
                names.add(node.module[len(PREFIX) + 1:].split(".")[0])
    return names


def _closure(names: set[str]) -> set[str]:
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_relative_imports(PACKAGE / f"{name}.py"))
    return seen


MODULES = sorted((ROOT / "library").glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_module_names_every_fleet_dependency(path):
    named = _named(path)
    missing = sorted(_closure(named) - named)
    assert not missing, (
        f"library/{path.name} uses ansible.module_utils.fleet.{{{','.join(sorted(named))}}}, "
        f"which import {missing}: add `import {PREFIX}.<name>  # noqa: F401` "
        "for each (Mitogen ships only what a module names)")


def test_closure_follows_relative_imports():
    assert {"signing", "files", "providers", "trail"} <= _closure({"trail_verify"})
