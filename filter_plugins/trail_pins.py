# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filter for trail pins.

``trails_expected_fingerprints | trail_pin(path, listed)``: the fingerprint
pinned for one trail, looked up exactly as the trail_verify module does (the
entry as listed, its resolved path, absolute path or base name), or None.
Logic: module_utils/fleet/trail_verify.py (``expected_for``).
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from fleet.trail_verify import expected_for


def trail_pin(expected, path, listed=None):
    """The fingerprint pinned for the trail at ``path`` (listed as ``listed``), or None."""
    if expected is not None and not isinstance(expected, (str, Mapping)):
        raise AnsibleFilterError(f"trail_pin: the pins must be a dictionary of path -> "
                                 f"fingerprint or one fingerprint, got {type(expected).__name__}")
    if not isinstance(path, str) or not path:
        raise AnsibleFilterError(f"trail_pin: path must be a non-empty string, got {path!r}")
    if listed is not None and not isinstance(listed, str):
        raise AnsibleFilterError(f"trail_pin: listed must be a string, got "
                                 f"{type(listed).__name__}")
    return expected_for(expected, path, listed)


class FilterModule:
    """Trail pin lookup."""

    def filters(self) -> dict:
        return {"trail_pin": trail_pin}
