# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filter for the one trust decision (docs/trust_root.md).

``root_result | trust_decision(trusted_keys, revoked_keys, threshold)``: the
keys every signature check counts. With the pinned root verified (the
registered ``trust_root`` result), only its key list; otherwise the
repository's keys. Logic: module_utils/fleet_trust_root.py.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from fleet.trust_root import trust_decision as _trust_decision


def trust_decision(root, trusted_keys=None, revoked_keys=None, threshold=1) -> dict:
    """The effective trusted keys, revoked keys and threshold, and where they came from."""
    try:
        return _trust_decision(root, trusted_keys, revoked_keys, threshold)
    except ValueError as exc:
        raise AnsibleFilterError(f"trust_decision: {exc}") from None


class FilterModule:
    """The trust decision filter."""

    def filters(self) -> dict:
        return {"trust_decision": trust_decision}
