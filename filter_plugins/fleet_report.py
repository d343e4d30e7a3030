# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters for the fleet report (playbooks/fleet_status.yml).

- ``host | fleet_status_row(pull, deadman, harness)``: one host's record, from
  the results the report play registered on it (unreachable ones included).
- ``rows | fleet_status_table``: the records as a table for people.

Logic: module_utils/fleet/fleet_report.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from fleet.fleet_report import host_row, render_table


def _unreachable(*results) -> str | None:
    for result in results:
        if isinstance(result, Mapping) and result.get("unreachable"):
            message = str(result.get("msg") or "unreachable")
            return message.removeprefix("Task failed: ")
    return None


def fleet_status_row(host, pull, deadman, harness) -> dict:
    """The record of ``host`` from its registered pull, deadman and harness results."""
    if not isinstance(host, str):
        raise AnsibleFilterError(f"fleet_status_row: host must be a name, got {host!r}")
    results = [r if isinstance(r, Mapping) else {} for r in (pull, deadman, harness)]
    status = results[2].get("status")
    return host_row(host, unreachable=_unreachable(*results),
                    pull=results[0].get("stdout"), deadman=results[1].get("stdout"),
                    harness=status.get("ActiveState") if isinstance(status, Mapping) else None)


def fleet_status_table(rows) -> str:
    """The records as a fixed-width table."""
    if not isinstance(rows, list) or not all(isinstance(row, Mapping) for row in rows):
        raise AnsibleFilterError("fleet_status_table: expects a list of fleet_status_row records")
    return render_table(rows)


class FilterModule:
    """The fleet report's filters."""

    def filters(self) -> dict:
        return {"fleet_status_row": fleet_status_row, "fleet_status_table": fleet_status_table}
