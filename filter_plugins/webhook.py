# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filter for the webhook receiver's rules.

``limit | content_length_regex``: the regex that webhook matches against the
Content-Length header to refuse bodies larger than ``limit`` bytes (its rules
have no numeric comparison). Logic: module_utils/fleet/webhook.py.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from fleet.webhook import content_length_regex as _content_length_regex


def content_length_regex(limit) -> str:
    """The anchored regex matching Content-Length values from 0 to ``limit``."""
    if isinstance(limit, str) and limit.isascii() and limit.isdigit():
        limit = int(limit)  # e.g. set with -e on the command line
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise AnsibleFilterError(f"content_length_regex: limit must be a non-negative integer, "
                                 f"got {type(limit).__name__} {limit!r}")
    try:
        return _content_length_regex(limit)
    except ValueError as exc:
        raise AnsibleFilterError(f"content_length_regex: {exc}") from None


class FilterModule:
    """The webhook receiver's filters."""

    def filters(self) -> dict:
        return {"content_length_regex": content_length_regex}
