# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report (playbooks/fleet_status.yml): one row per host, one table.

``host_row`` turns what the report play read on one host (``golden-state-pull
status --json --origin``, ``deadman-check --status --json``, the harness unit's
ActiveState), or the fact that the host was unreachable, into a flat record;
``render_table`` prints the records for people. Every value read from a host is
treated as untrusted: wrong types give "?", and strings are shown escaped and
bounded (a hostile reason cannot rewrite the operator's terminal).

Pure Python (standard library only) so it imports with or without Ansible.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .text import printable

HOST_WIDTH = 40  # at most; the column is as wide as the longest host cell
COLUMNS = (  # (record key, heading, width)
    ("host", "HOST", HOST_WIDTH), ("commit", "COMMIT", 12), ("at_head", "HEAD", 4),
    ("last_run", "LAST RUN (UTC)", 16), ("result", "RESULT", 11), ("paused", "PAUSED", 16),
    ("deadman", "DEADMAN", 10), ("harness", "HARNESS", 10), ("reason", "REASON", 48),
)


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse(stdout: Any) -> tuple[Mapping | None, str | None]:
    """A command's JSON output as a mapping, or why not."""
    if not isinstance(stdout, str) or not stdout.strip():
        return None, "no output"
    try:
        data = json.loads(stdout)
    except ValueError:
        return None, "output is not JSON"
    return (data, None) if isinstance(data, Mapping) else (None, "output is not a JSON object")


def _deadman_reason(flag: Any) -> str:
    """The reason in the deadman's flag file (JSON), else the flag's text."""
    try:
        reason = _get(json.loads(flag), "reason")
    except (TypeError, ValueError):
        reason = None
    return _text(reason) or (_text(flag) or "raised")


def host_row(host: str, *, unreachable: str | None = None, pull: Any = None,
             deadman: Any = None, harness: Any = None) -> dict[str, Any]:
    """One host's record. ``pull`` and ``deadman`` are the programs' stdout (JSON)."""
    row: dict[str, Any] = {"host": host, "reachable": unreachable is None, "commit": None,
                           "origin_head": None, "at_head": None, "last_run": None,
                           "result": None, "reason": None, "log": None, "paused": None,
                           "paused_reason": None, "deadman": None, "deadman_reason": None,
                           "harness": _text(harness), "problems": []}
    if unreachable is not None:
        row["reason"] = f"unreachable: {unreachable}"
        return row
    status, problem = _parse(pull)
    if status is None:
        row["problems"].append(f"golden-state-pull status: {problem}")
    else:
        _pull_fields(row, status)
    flag_status, problem = _parse(deadman)
    if flag_status is None:
        row["problems"].append(f"deadman-check --status: {problem}")
    else:
        flag = flag_status.get("flag")
        row["deadman"] = "RAISED" if flag else "ok"
        row["deadman_reason"] = _deadman_reason(flag) if flag else None
    if row["reason"] is None and row["problems"]:
        row["reason"] = "; ".join(row["problems"])
    return row


def _pull_fields(row: dict[str, Any], status: Mapping) -> None:
    last = _get(status, "last_run")
    good = _get(status, "last_success")
    row["commit"] = _text(_get(good, "commit_after"))
    row["origin_head"] = _text(_get(status, "origin", "head"))
    if row["commit"] and row["origin_head"]:
        row["at_head"] = row["commit"] == row["origin_head"]
    if isinstance(last, Mapping):
        row["last_run"] = _text(last.get("end")) or _text(last.get("start"))
        row["result"] = _text(last.get("status"))
        row["reason"] = _text(last.get("reason"))
        row["log"] = _text(last.get("log"))
    if row["reason"] is None and _text(_get(status, "origin", "error")):
        row["reason"] = f"origin: {_get(status, 'origin', 'error')}"
    paused = _get(status, "paused")
    row["paused"] = isinstance(paused, Mapping)
    if row["paused"]:
        row["paused_reason"] = _text(paused.get("reason"))
        row["paused_since"] = _text(paused.get("since"))


def _cell(row: Mapping, key: str) -> str:
    value = row.get(key)
    if key == "host":
        return value + ("" if row.get("reachable") else " (unreachable)")
    if key == "commit":
        return value[:12] if value else "-"
    if key == "at_head":
        return {True: "yes", False: "NO", None: "?"}[value]
    if key == "last_run":
        return _short_time(value) if value else "never"
    if key == "paused":
        if not value:
            return "no" if value is False else "?"
        return f"yes: {row.get('paused_reason') or '?'}"
    if key == "deadman":
        return value or "?"
    if key == "reason":
        return value or row.get("deadman_reason") or ""
    return value if isinstance(value, str) else "?"


def _short_time(text: str) -> str:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def render_table(rows: list[Mapping]) -> str:
    """The rows as a fixed-width table, every cell escaped and cut to its column."""
    host_width = max([4] + [len(printable(_cell(row, "host"), HOST_WIDTH)) for row in rows])
    columns = [(key, heading, host_width if key == "host" else width)
               for key, heading, width in COLUMNS]
    lines = ["  ".join(heading.ljust(width) for _key, heading, width in columns).rstrip()]
    for row in rows:
        cells = [printable(_cell(row, key), width).ljust(width)
                 for key, _heading, width in columns]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
