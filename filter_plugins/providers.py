# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters for the banned-provider policy.

- ``providers | banned_entries(banned=['anthropic'])``: the entries of a
  provider chain that name a banned provider (in any field), for asserts and
  templates; ``[]`` when the chain is clean.
- ``entry | is_banned_provider(banned=['anthropic'])``: true when one provider
  entry (dict or string such as a model id) names a banned provider.
- ``value | banned_findings(banned=['anthropic'], root='x')``: the findings
  themselves (dicts with provider, term, match, path) for messages.

Matching follows module_utils/fleet_providers.py (docs/providers.md).
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from fleet.providers import banned_entries as _banned_entries
from fleet.providers import is_banned, scan_data


def _checked(filter_name: str, call, *args):
    try:
        return call(*args)
    except ValueError as exc:  # a bad `banned` list: say which filter and why
        raise AnsibleFilterError(f"{filter_name}: {exc}") from None


def banned_entries(providers, banned=None) -> list:
    """Entries of ``providers`` (a list, or one entry) that name a banned provider."""
    if providers is not None and not isinstance(providers, (list, tuple, dict, str)):
        raise AnsibleFilterError(f"banned_entries: expects a provider list, got "
                                 f"{type(providers).__name__}")
    return _checked("banned_entries", _banned_entries, providers, banned)


def is_banned_provider(entry, banned=None) -> bool:
    """True when one provider entry (dict, or a name/model id/URL string) is banned."""
    return _checked("is_banned_provider", is_banned, entry, banned)


def banned_findings(value, banned=None, root=None) -> list[dict]:
    """Findings (not allowed by the ban's own declaration) as dicts."""
    findings = _checked("banned_findings", scan_data, value, banned, root)
    return [finding.to_dict() for finding in findings if not finding.allowed]


class FilterModule:
    """Banned-provider filters."""

    def filters(self):
        return {
            "banned_entries": banned_entries,
            "is_banned_provider": is_banned_provider,
            "banned_findings": banned_findings,
        }
