# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: artifact_verify
short_description: Check files against their detached C(.sig) files and a trust policy
description:
  - For each file, reads C(<file>.sig) (a JSON array of NIP-01 kind 1063
    events) and accepts the file when at least O(threshold) distinct trusted,
    unrevoked keys have an event with a correct id, a valid BIP340 signature
    and an C(x) tag equal to the file's SHA-256.
  - Fails when any file is rejected, listing the reason for every event
    (bad-id, bad-signature, unknown-key, revoked-key, digest-mismatch,
    malformed, duplicate). Read-only; check mode behaves identically.
  - See docs/signing.md.
version_added: "0.1.0"
options:
  path:
    description:
      - Files to verify. Entries holding C(*), C(?) or C([) are glob patterns,
        which must match at least one file (C(.sig) files are skipped).
    type: list
    elements: path
    required: true
  trusted_keys:
    description:
      - Trusted signers, usually O(trusted_keys=fleet_trusted_keys).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Signer name reported in results.
        type: str
        required: true
      pubkey:
        description: x-only public key, 64 hex characters or C(npub1...).
        type: str
        required: true
  revoked_keys:
    description:
      - Public keys (hex or C(npub1...)) whose signatures never count,
        usually O(revoked_keys=fleet_revoked_keys).
    type: list
    elements: str
    default: []
  threshold:
    description:
      - Number of distinct trusted, unrevoked keys that must have signed,
        usually O(threshold=fleet_signature_threshold).
    type: int
    default: 1
attributes:
  check_mode:
    support: full
    description: The module never changes anything.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
requirements:
  - coincurve >= 21
author:
  - Wizard fleet maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Refuse a trail that two operators have not signed
  artifact_verify:
    path: /srv/trails/*.trail.json
    trusted_keys: "{{ fleet_trusted_keys }}"
    revoked_keys: "{{ fleet_revoked_keys | default([]) }}"
    threshold: "{{ fleet_signature_threshold | default(1) }}"
"""

RETURN = r"""
accepted:
  description: Whether every file was accepted.
  returned: always
  type: bool
files:
  description: One entry per verified file.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The artifact.
      type: str
    sig_path:
      description: Its detached signature file.
      type: str
    digest:
      description: SHA-256 hex of the artifact.
      type: str
    accepted:
      description: Whether enough distinct trusted keys signed it.
      type: bool
    signers:
      description: Names of the distinct trusted keys counted.
      type: list
      elements: str
    threshold:
      description: Keys required.
      type: int
    reasons:
      description: Per event in the .sig file, its index, pubkey, signer name
        (for trusted keys) and reason (ok, bad-id, bad-signature, unknown-key,
        revoked-key, digest-mismatch, malformed, duplicate).
      type: list
      elements: dict
"""

import glob
import os

# Mitogen ships only the module_utils a module names: these are used indirectly.
import ansible.module_utils.fleet.files  # pylint: disable=unused-import
import ansible.module_utils.fleet.strict_load  # pylint: disable=unused-import
import ansible.module_utils.fleet.text  # noqa: F401  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.fleet.signing import (
    SignatureError,
    normalise_key_list,
    normalise_revoked_list,
    read_artifact,
    read_sig_file,
    sig_path_for,
    verify_policy,
)


def _expand(module: AnsibleModule, patterns: list[str]) -> list[str]:
    paths: list[str] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(p for p in glob.glob(pattern)
                             if os.path.isfile(p) and not p.endswith(".sig"))
            if not matches:
                module.fail_json(msg=f"path: no file matches {pattern}")
        else:
            matches = [pattern]
        paths.extend(p for p in matches if p not in paths)
    return paths


def _verify_file(path: str, trusted, revoked, threshold: int) -> dict:
    artifact = read_artifact(path)
    sig_path = sig_path_for(path)
    result = verify_policy(artifact, read_sig_file(sig_path), trusted, revoked, threshold)
    entry = {"path": path, "sig_path": sig_path, **result.to_dict()}
    if not result.accepted:
        if not result.reasons:
            detail = f"no events in {sig_path}"
        else:
            detail = result.summary() or f"only {', '.join(result.signers)} signed"
        entry["message"] = (f"{path}: {len(result.signers)} of {threshold} required "
                            f"trusted keys signed it; {detail}")
    return entry


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "list", "elements": "path", "required": True},
            "trusted_keys": {
                "type": "list", "elements": "dict", "required": True,
                "no_log": False,  # public keys
                "options": {"name": {"type": "str", "required": True},
                            "pubkey": {"type": "str", "required": True}},
            },
            "revoked_keys": {"type": "list", "elements": "str", "default": [],
                             "no_log": False},  # public keys
            "threshold": {"type": "int", "default": 1},
        },
        supports_check_mode=True,
    )
    threshold = module.params["threshold"]
    if threshold < 1:
        module.fail_json(msg="threshold: must be at least 1")
    try:
        trusted = normalise_key_list(module.params["trusted_keys"], "trusted_keys")
        revoked = normalise_revoked_list(module.params["revoked_keys"], "revoked_keys")
    except SignatureError as exc:
        module.fail_json(msg=str(exc))
    paths = _expand(module, module.params["path"])
    if not paths:
        module.fail_json(msg="path: give at least one file to verify")

    files = []
    for path in paths:
        try:
            files.append(_verify_file(path, trusted, revoked, threshold))
        except SignatureError as exc:
            files.append({"path": path, "sig_path": sig_path_for(path), "accepted": False,
                          "signers": [], "reasons": [], "threshold": threshold,
                          "message": str(exc)})
    accepted = all(entry["accepted"] for entry in files)
    if not accepted:
        messages = [entry["message"] for entry in files if not entry["accepted"]]
        module.fail_json(msg="signature check failed: " + " | ".join(messages),
                         accepted=False, files=files, changed=False)
    module.exit_json(changed=False, accepted=True, files=files)


if __name__ == "__main__":
    main()
