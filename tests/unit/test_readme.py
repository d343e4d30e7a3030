"""README.md's concern table ("What a converge does") is playbooks/site.yml.

The table lists the pre-flight first (site.yml's pre_tasks tagged ``preflight``)
and then exactly the roles site.yml applies, in the order it applies them; each
role it names exists, and its doc links point at files that exist.

A role is applied by a play's ``roles:`` or by an ``include_role``/``import_role``
of its main tasks; an include of other tasks (``tasks_from: validate``) is a
partial use, such as the pre-flight's checks, and adds no row of its own (its
role must still be applied, so it has a row). A play runs pre_tasks, roles,
tasks, post_tasks in that order, whatever the order of the keys in the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SITE = ROOT / "playbooks" / "site.yml"
HEADER = "| order | concern (tag) | what | doc |"
INCLUDES = {"include_role", "import_role",
            "ansible.builtin.include_role", "ansible.builtin.import_role"}
SECTIONS = ("pre_tasks", "roles", "tasks", "post_tasks")  # execution order within a play


def concern_table(text: str) -> list[list[str]]:
    """The table's rows as cells (header and separator excluded)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == HEADER]
    assert len(starts) == 1, f"README.md: expected one concern table headed {HEADER!r}"
    rows = []
    for line in lines[starts[0] + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def task_uses(tasks: list[Any] | None) -> list[tuple[str, str, list[str]]]:
    """(role, tasks_from, tags) for each include/import of a role, blocks included, in order."""
    uses = []
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        for key in ("block", "rescue", "always"):
            uses += task_uses(task.get(key))
        for action in INCLUDES & set(task):
            args = task[action]
            name = args if isinstance(args, str) else args.get("name") or args.get("role")
            tasks_from = "main" if isinstance(args, str) else args.get("tasks_from", "main")
            uses.append((name, str(tasks_from).removesuffix(".yml"), task.get("tags") or []))
    return uses


def applied_roles(playbook: Path) -> tuple[list[str], list[str], bool]:
    """(roles applied in order, roles only partly used, whether a pre-flight runs first)."""
    applied: list[str] = []
    partial: list[str] = []
    preflight = False
    for play in yaml.safe_load(playbook.read_text(encoding="utf-8")) or []:
        for section in SECTIONS:
            if section == "roles":
                for entry in play.get("roles") or []:
                    applied.append(entry if isinstance(entry, str) else entry.get("role")
                                   or entry.get("name"))
                continue
            if section == "pre_tasks":
                preflight = preflight or any(
                    "preflight" in (task.get("tags") or []) for task in play.get(section) or [])
            for name, tasks_from, _tags in task_uses(play.get(section)):
                (applied if tasks_from == "main" else partial).append(name)
    return list(dict.fromkeys(applied)), partial, preflight


def role_exists(name: str) -> bool:
    return (ROOT / "roles" / name / "tasks" / "main.yml").is_file()


ROWS = concern_table(README.read_text(encoding="utf-8"))
APPLIED, PARTIAL, PREFLIGHT = applied_roles(SITE)


def table_roles() -> list[str]:
    names = []
    for row in ROWS:
        match = re.fullmatch(r"`([a-z0-9_]+)`", row[1])
        if match:
            names.append(match.group(1))
    return names


def test_table_rows_are_numbered_in_order():
    assert all(len(row) == 4 for row in ROWS), ROWS
    assert [row[0] for row in ROWS] == [str(i) for i in range(1, len(ROWS) + 1)]


def test_only_the_preflight_row_is_not_a_role():
    others = [row[1] for row in ROWS if not re.fullmatch(r"`[a-z0-9_]+`", row[1])]
    if PREFLIGHT:
        assert ROWS[0][1].startswith("pre-flight"), (
            f"site.yml runs a pre-flight first; the table's first row is {ROWS[0][1]!r}")
        assert others == [ROWS[0][1]], f"rows that name no role: {others}"
    else:
        assert others == [], f"rows that name no role: {others}"


def test_table_lists_exactly_the_roles_site_applies_in_order():
    assert APPLIED, "found no role applied by playbooks/site.yml"
    assert table_roles() == APPLIED, (
        f"README.md concern table: {table_roles()}\nplaybooks/site.yml applies: {APPLIED}")


@pytest.mark.parametrize("name", table_roles())
def test_each_role_in_the_table_exists(name):
    assert role_exists(name), (
        f"README.md concern table names role {name}, but roles/{name} has no tasks/main.yml")


def test_roles_used_in_part_are_applied_too():
    assert set(PARTIAL) <= set(APPLIED), (
        f"site.yml uses tasks of {sorted(set(PARTIAL) - set(APPLIED))} but never applies them")


def test_doc_links_of_the_table_exist():
    links = [link for row in ROWS for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", row[3])]
    assert links, "the concern table links no doc"
    missing = [link for link in links if not (ROOT / link).is_file()]
    assert not missing, f"README.md concern table links missing files: {missing}"


# ------------------------------------------------------- the parser itself

def test_applied_roles_follows_execution_order(tmp_path):
    playbook = tmp_path / "site.yml"
    playbook.write_text(yaml.safe_dump([
        {"hosts": "all",
         "post_tasks": [{"ansible.builtin.import_role": {"name": "last"}}],
         "tasks": [{"block": [{"include_role": {"name": "third"}}]},
                   {"include_role": {"name": "first", "tasks_from": "check"}}],
         "roles": ["second", {"role": "second_b"}],
         "pre_tasks": [{"name": "x", "include_role": {"name": "first"}, "tags": ["preflight"]}]},
    ]))
    assert applied_roles(playbook) == (["first", "second", "second_b", "third", "last"],
                                       ["first"], True)
