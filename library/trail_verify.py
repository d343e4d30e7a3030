# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: trail_verify
short_description: Verify Trail-FLUX v1 trails (format, fingerprint, signatures)
description:
  - Runs every check of the Trail-FLUX v1 format on one trail file or on every trail
    file under a directory or matching a glob, and fails the task when any trail is
    invalid, listing every finding per file with its byte offset and step index.
  - Checks framing, opcodes, operand counts, C(total_steps), status, the string table
    (each key must be the SHA-256 prefix of its string, keys unique, valid UTF-8),
    string references, trailing bytes, and that re-encoding gives the same bytes.
  - Optionally checks expected fingerprints (SHA-256 of the file) and a signature
    policy over the detached signature file C(<trail>.sig).
  - Read-only; check mode does exactly the same.
version_added: "0.1.0"
author:
  - Wizard fleet maintainers (!UNKNOWN)
options:
  path:
    description:
      - A trail file, a directory (trails under it are selected with O(pattern)), or a
        glob such as C(/var/lib/agent/trails/*.trail).
    type: path
    required: true
  pattern:
    description:
      - Glob of trail file names under O(path) when O(path) is a directory.
        C(**) matches subdirectories too. Files ending in C(.sig) are never trails.
    type: str
    default: "*.trail"
  expected_fingerprint:
    description:
      - Expected SHA-256 hex fingerprint. A string applies to every trail (useful with a
        single file); a dictionary maps trail paths (as found, absolute, or base names)
        to their fingerprints, and every selected trail must then have an entry.
    type: raw
  max_size:
    description:
      - Trails larger than this many bytes are refused without being read.
    type: int
    default: 16777216
  allow_empty:
    description:
      - Succeed when O(path) selects no trail file. By default that fails the task.
    type: bool
    default: false
  trusted_keys:
    description:
      - Public keys allowed to sign trails, as C(name)/C(pubkey) mappings
        (64 hex characters or C(npub1...)).
    type: list
    elements: dict
    default: []
  revoked_keys:
    description:
      - Public keys (hex or C(npub1...)) whose signatures never count.
    type: list
    elements: str
    default: []
  signature_threshold:
    description:
      - How many distinct trusted, unrevoked keys must have signed each trail.
      - C(0) means signatures are not required (signers are still reported).
      - Defaults to C(1) when O(trusted_keys) is given, else C(0).
    type: int
  banned:
    description:
      - Banned providers (names or C({name, terms}) dicts, docs/providers.md). A
        trail whose decoded string table names one is invalid (C(BANNED_PROVIDER),
        with the string's key and byte offset). Omit to skip the check.
    type: list
    elements: raw
notes:
  - Supports check mode; the module never changes anything.
  - The signature file format and policy are described in C(docs/trails.md) and the
    signing documentation.
"""

EXAMPLES = r"""
- name: Verify one trail against its pinned fingerprint
  trail_verify:
    path: /var/lib/agent/trails/t-42.trail
    expected_fingerprint: "{{ trail_fingerprints['t-42'] }}"

- name: Verify every trail in a directory, signed by two operators
  trail_verify:
    path: /var/lib/agent/trails
    pattern: "**/*.trail"
    trusted_keys: "{{ fleet_operator_keys }}"
    revoked_keys: "{{ fleet_revoked_keys | default([]) }}"
    signature_threshold: 2
  register: trails

- name: Show the opcode histogram of each trail
  ansible.builtin.debug:
    msg: "{{ item.path }}: {{ item.histogram }}"
  loop: "{{ trails.trails }}"
"""

RETURN = r"""
valid:
  description: Whether every selected trail is valid.
  returned: always
  type: bool
  sample: true
count:
  description: Number of trail files verified.
  returned: always
  type: int
  sample: 3
invalid:
  description: Paths of the invalid trails.
  returned: always
  type: list
  elements: str
  sample: []
findings:
  description: "Every finding, one line each, as C(path:offset 0x..: step N: CODE message)."
  returned: always
  type: list
  elements: str
  sample: ["/trails/a.trail:offset 0x96: TRAILING_BYTES 2 bytes after the HASHTABLE"]
trails:
  description: One report per trail file, in path order.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The trail file.
      type: str
      sample: /var/lib/agent/trails/t-42.trail
    valid:
      description: Whether this trail passed every check.
      type: bool
    fingerprint:
      description: SHA-256 hex of the file (null when it could not be read).
      type: str
      sample: acb20253fad55fd43124ceaefbaf6a9f917017038406b340453315c3564796d7
    size:
      description: File size in bytes.
      type: int
    steps:
      description: Step records decoded, TRAIL_BEGIN and TRAIL_END included.
      type: int
      sample: 8
    histogram:
      description: Opcode name to number of steps with that opcode.
      type: dict
      sample: {"TRAIL_BEGIN": 1, "FILE_READ": 5, "TRAIL_END": 1}
    agent_id:
      description: The agent id byte of TRAIL_BEGIN.
      type: int
    agent:
      description: The agent name, when it can be identified in the string table.
      type: str
    trail_id:
      description: The trail id string.
      type: str
    timestamp:
      description: TRAIL_BEGIN timestamp (seconds since the epoch).
      type: int
    status:
      description: TRAIL_END status (success, error, partial, cancelled).
      type: str
    signers:
      description: Names of the trusted keys whose signatures counted.
      type: list
      elements: str
    signature:
      description: The signature policy result (accepted, signers, reasons per event), or null.
      type: dict
    findings:
      description: Problems found, each with code, message, offset and step (null when
        the problem is not inside a step, e.g. in the string table).
      type: list
      elements: dict
      sample: [{"code": "KEY_MISMATCH", "message": "table entry 2: ...", "offset": 92,
                "step": null}]
"""

import glob
import os

# Mitogen ships only the module_utils a module names: these are used indirectly.
import ansible.module_utils.fleet.files  # pylint: disable=unused-import
import ansible.module_utils.fleet.providers  # pylint: disable=unused-import
import ansible.module_utils.fleet.signing  # pylint: disable=unused-import
import ansible.module_utils.fleet.strict_load  # pylint: disable=unused-import
import ansible.module_utils.fleet.text  # noqa: F401  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.fleet.trail import Finding
from ansible.module_utils.fleet.trail_verify import (
    SignaturePolicy,
    expected_for,
    verify_trail_file,
)

HEX = set("0123456789abcdef")


def _select(path: str, pattern: str) -> list[str]:
    """The trail files that path (file, directory or glob) selects, sorted."""
    if os.path.isdir(path):
        found = glob.glob(os.path.join(glob.escape(path), pattern), recursive=True)
    elif glob.has_magic(path) and not os.path.exists(path):
        found = glob.glob(path, recursive=True)
    else:
        return [path]
    return sorted(p for p in found if os.path.isfile(p) and not p.endswith(".sig"))


def _expected_for(expected, path: str) -> str | None:
    """The pin for one selected trail (keys: path, absolute path, base name)."""
    return expected_for(expected, path)


def _check_fingerprints(module: AnsibleModule, expected) -> None:
    if expected is None:
        return
    values = [expected] if isinstance(expected, str) else None
    if isinstance(expected, dict):
        values = list(expected.values())
    if values is None:
        module.fail_json(msg="expected_fingerprint: must be a string or a dictionary of "
                             f"path -> fingerprint, got {type(expected).__name__}")
    for value in values:
        if not isinstance(value, str) or len(value) != 64 or not set(value.lower()) <= HEX:
            module.fail_json(msg=f"expected_fingerprint: {value!r} is not a SHA-256 hex "
                                 "digest (64 hex characters)")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "pattern": {"type": "str", "default": "*.trail"},
            "expected_fingerprint": {"type": "raw"},
            "max_size": {"type": "int", "default": 16 * 1024 * 1024},
            "allow_empty": {"type": "bool", "default": False},
            "trusted_keys": {"type": "list", "elements": "dict", "default": [],
                             "no_log": False},
            "revoked_keys": {"type": "list", "elements": "str", "default": [],
                             "no_log": False},
            "signature_threshold": {"type": "int"},
            "banned": {"type": "list", "elements": "raw"},
        },
        supports_check_mode=True,
    )
    params = module.params
    expected = params["expected_fingerprint"]
    _check_fingerprints(module, expected)
    if params["max_size"] < 1:
        module.fail_json(msg="max_size: must be at least 1")
    threshold = params["signature_threshold"]
    if threshold is None:
        threshold = 1 if params["trusted_keys"] else 0
    if threshold < 0:
        module.fail_json(msg="signature_threshold: must be 0 or more")
    if threshold > 0 and not params["trusted_keys"]:
        module.fail_json(msg=f"signature_threshold is {threshold} but trusted_keys is empty; "
                             "no trail could ever be accepted")
    policy = None
    if params["trusted_keys"] or threshold > 0:
        policy = SignaturePolicy(trusted=params["trusted_keys"],
                                 revoked=params["revoked_keys"], threshold=threshold)

    path = params["path"]
    paths = _select(path, params["pattern"])
    if not paths and not params["allow_empty"]:
        module.fail_json(msg=f"{path}: no trail files match (pattern {params['pattern']!r})",
                         valid=False, count=0, invalid=[], findings=[], trails=[])
    reports = []
    for trail in paths:
        pinned = _expected_for(expected, trail)
        report = verify_trail_file(trail, expected_fingerprint=pinned,
                                   max_size=params["max_size"], policy=policy,
                                   banned=params["banned"])
        if isinstance(expected, dict) and pinned is None:
            report.findings.append(Finding("FINGERPRINT_MISMATCH", "expected_fingerprint has "
                                           "no entry for this trail"))
        reports.append(report)
    invalid = [r.path for r in reports if not r.valid]
    findings = [line for r in reports for line in r.lines()]
    result = {
        "changed": False,
        "valid": not invalid,
        "count": len(reports),
        "invalid": invalid,
        "findings": findings,
        "trails": [r.to_dict() for r in reports],
    }
    if invalid:
        shown = "; ".join(findings[:10])
        more = f" (and {len(findings) - 10} more)" if len(findings) > 10 else ""
        module.fail_json(msg=f"{len(invalid)} of {len(reports)} trail(s) invalid: "
                             f"{shown}{more}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
