# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filter for the names roles deploy files under.

``trails_files | bad_trail_names``: the base names that are not plain
``NAME.trail`` names or repeat an earlier entry's base name, for the trails
role's assert. Logic: module_utils/fleet/names.py.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from fleet.names import bad_trail_names as _bad_trail_names


def bad_trail_names(paths) -> list[str]:
    """Base names among ``paths`` that are not plain trail names or are listed twice."""
    if not isinstance(paths, (list, tuple)):
        raise AnsibleFilterError(f"bad_trail_names: expects a list of file paths, got "
                                 f"{type(paths).__name__}")
    try:
        return _bad_trail_names(paths)
    except TypeError as exc:
        raise AnsibleFilterError(f"bad_trail_names: {exc}") from None


class FilterModule:
    """Name checks."""

    def filters(self) -> dict:
        return {"bad_trail_names": bad_trail_names}
