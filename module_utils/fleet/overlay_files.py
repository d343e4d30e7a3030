# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which overlay files the golden_state role renders, and the records it passes on.

The role lists its standard files and ``golden_state_extra_files`` as
``{src, dest, mode, secret, owner, group, restart, template}``. Three steps; the
middle one is Ansible's lookups, the only part that needs Ansible:

1. ``file_plan``: resolve each ``src`` against the overlay directory (unless
   absolute) and fill in the defaults (owner, group, mode, restart; template
   true, secret false).
2. the role renders the planned sources: ``template`` lookup for those with
   ``template`` true, ``file`` lookup (as is) for the others, each in plan order.
3. ``file_sets``: give each file its content and split the records into the
   shapes the check module (controller: src, dest, content) and the apply
   module (host: dest, content, owner, group, mode, restart) take, secret files
   apart so that only they are hidden from logs.

A key given as null counts as given (as Jinja's ``default`` filter treats it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SETS = ("check", "check_secret", "apply", "apply_secret")
PLAN_KEYS = frozenset(("src", "dest", "template", "secret", "owner", "group", "mode", "restart"))


def _where(index: int, entry: Any) -> str:
    if isinstance(entry, Mapping) and isinstance(entry.get("src"), str) and entry["src"]:
        return f"file {index} ({entry['src']})"
    return f"file {index}"


def file_plan(files: Iterable[Mapping], overlay_dir: str, owner: Any, group: Any,
              mode: Any) -> list[dict]:
    """One record per file: src resolved, template/secret as booleans, defaults filled."""
    plan = []
    for index, entry in enumerate(files):
        if not isinstance(entry, Mapping):
            raise ValueError(f"{_where(index, entry)}: must be a dictionary with src and dest, "
                             f"got {type(entry).__name__}")
        src, dest = entry.get("src"), entry.get("dest")
        if not isinstance(src, str) or not src:
            raise ValueError(f"{_where(index, entry)}: src must be a non-empty string")
        if not isinstance(dest, str) or not dest:
            raise ValueError(f"{_where(index, entry)}: dest must be a non-empty string")
        plan.append({
            "src": src if src.startswith("/") else f"{overlay_dir}/{src}",
            "dest": dest,
            "template": bool(entry.get("template", True)),
            "secret": bool(entry.get("secret", False)),
            "owner": entry.get("owner", owner),
            "group": entry.get("group", group),
            "mode": entry.get("mode", mode),
            "restart": entry.get("restart", True),
        })
    return plan


def file_sets(plan: Sequence[Mapping], rendered: Sequence[Any],
              copied: Sequence[Any]) -> dict[str, list[dict]]:
    """The check and apply records, secret ones apart, each file with its content.

    ``rendered`` holds the contents of the plan's ``template`` files and
    ``copied`` those of the others, each in plan order.
    """
    templated = sum(1 for item in plan if item["template"])
    if len(rendered) != templated or len(copied) != len(plan) - templated:
        raise ValueError(f"{templated} rendered and {len(plan) - templated} copied contents "
                         f"expected, got {len(rendered)} and {len(copied)}")
    contents = {True: iter(rendered), False: iter(copied)}
    sets: dict[str, list[dict]] = {name: [] for name in SETS}
    for item in plan:
        content = next(contents[bool(item["template"])])
        suffix = "_secret" if item["secret"] else ""
        sets["check" + suffix].append({"src": item["src"], "dest": item["dest"],
                                       "content": content})
        sets["apply" + suffix].append({"dest": item["dest"], "content": content,
                                       "owner": item["owner"], "group": item["group"],
                                       "mode": item["mode"], "restart": item["restart"]})
    return sets
