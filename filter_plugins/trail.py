# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filters for trails: trail_fingerprint and trail_summary.

Both take either the raw trail bytes or the path of a trail file on the controller.
"""

from __future__ import annotations

import hashlib
import os

from ansible.errors import AnsibleFilterError
from fleet.trail_verify import DEFAULT_MAX_SIZE, verify_trail


def _trail_bytes(value, filter_name: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if not isinstance(value, str):
        raise AnsibleFilterError(f"{filter_name}: expects trail bytes or a file path, got "
                                 f"{type(value).__name__}")
    try:
        if os.path.getsize(value) > DEFAULT_MAX_SIZE:
            raise AnsibleFilterError(f"{filter_name}: {value}: larger than "
                                     f"{DEFAULT_MAX_SIZE} bytes")
        with open(value, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise AnsibleFilterError(f"{filter_name}: {value}: cannot read: "
                                 f"{exc.strerror or exc}") from None


def trail_fingerprint(value) -> str:
    """SHA-256 hex fingerprint of a trail (bytes, or a path on the controller)."""
    return hashlib.sha256(_trail_bytes(value, "trail_fingerprint")).hexdigest()


def trail_summary(value) -> dict:
    """Steps, status, agent, histogram, fingerprint, validity and findings of a trail."""
    report = verify_trail(_trail_bytes(value, "trail_summary"))
    return {
        "valid": report.valid,
        "fingerprint": report.fingerprint,
        "steps": report.steps,
        "status": report.status,
        "agent": report.agent,
        "agent_id": report.agent_id,
        "trail_id": report.trail_id,
        "timestamp": report.timestamp,
        "histogram": dict(report.histogram),
        "findings": [finding.to_dict() for finding in report.findings],
    }


class FilterModule:
    def filters(self):
        return {"trail_fingerprint": trail_fingerprint, "trail_summary": trail_summary}
