# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters for the golden_state role's overlay file list.

- ``files | overlay_file_plan(overlay_dir, owner, group, mode)``: each file with
  its source resolved against the overlay directory and its defaults filled.
- ``plan | overlay_file_sets(rendered, copied)``: the check and apply records
  (secret ones apart), given the contents of the plan's template sources and of
  the others, each in plan order (the role reads them with the template and file
  lookups, which only Ansible has).

Logic: module_utils/fleet/overlay_files.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from fleet.overlay_files import PLAN_KEYS, file_plan, file_sets


def _list(filter_name: str, argument: str, value) -> list:
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError(f"{filter_name}: {argument} must be a list, got "
                                 f"{type(value).__name__}")
    return list(value)


def overlay_file_plan(files, overlay_dir, owner, group, mode) -> list[dict]:
    """The overlay files with src resolved and owner, group, mode, restart, template, secret."""
    files = _list("overlay_file_plan", "the file list", files)
    if not isinstance(overlay_dir, str) or not overlay_dir:
        raise AnsibleFilterError(f"overlay_file_plan: overlay_dir must be a non-empty string, "
                                 f"got {overlay_dir!r}")
    try:
        return file_plan(files, overlay_dir, owner, group, mode)
    except ValueError as exc:
        raise AnsibleFilterError(f"overlay_file_plan: {exc}") from None


def overlay_file_sets(plan, rendered, copied) -> dict:
    """{check, check_secret, apply, apply_secret}: each planned file with its content."""
    plan = _list("overlay_file_sets", "the plan", plan)
    if not all(isinstance(item, Mapping) and set(item) >= PLAN_KEYS for item in plan):
        raise AnsibleFilterError("overlay_file_sets: the plan must be overlay_file_plan's result")
    rendered = _list("overlay_file_sets", "rendered", rendered)
    copied = _list("overlay_file_sets", "copied", copied)
    try:
        return file_sets(plan, rendered, copied)
    except ValueError as exc:
        raise AnsibleFilterError(f"overlay_file_sets: {exc}") from None


class FilterModule:
    """The golden_state role's overlay file filters."""

    def filters(self) -> dict:
        return {"overlay_file_plan": overlay_file_plan, "overlay_file_sets": overlay_file_sets}
