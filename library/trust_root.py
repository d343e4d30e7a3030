# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: trust_root
short_description: Verify the signed key list against the pinned trust root; rotate the pin
description:
  - O(operation=verify) (default) reads the pinned trust root O(pin) and the
    repository's signed key list O(key_list) with its C(<key_list>.sig), and
    accepts the key list only when at least the pinned root's threshold of
    root keys signed its exact bytes, it has not expired, the pin has not
    expired, and its version is not older than the version recorded in
    O(state) (the same version with different content is refused as
    equivocation). It then records the accepted version and sha256 in O(state)
    and returns the verified artifact-signing policy (RV(trusted_keys),
    RV(revoked_keys), RV(threshold)) for later artifact checks.
  - O(operation=rotate) replaces the pin with the last of O(new_root) after
    verifying each new root against the one before it, starting from the
    current pin; each must have a higher version, must not have expired, and
    must be signed by the threshold of the current root's keys and by its own
    threshold of its own keys.
  - O(operation=install) is the explicit operator action used by
    playbooks/pin_trust_root.yml. The last O(new_root) must have the sha256
    O(fingerprint) (checked out of band). On a host without a pin it must be
    signed by its own threshold; on a host with a pin it must also be a valid
    rotation (as O(operation=rotate)).
  - The module only reads and writes the paths it is given. In this repository
    it runs on the controller (C(delegate_to=localhost)); in pull mode the
    controller is the host, so O(pin) and O(state) are the host's files.
  - "Failure messages start with the document they are about and say why,
    for example C(trust/key-list.json: signed by 1 of the 3 pinned root keys,
    2 required). See docs/trust_root.md."
version_added: "0.1.0"
options:
  operation:
    description: What to do (see the description).
    type: str
    choices: [verify, rotate, install]
    default: verify
  pin:
    description: The pinned trust-root document.
    type: path
    default: /etc/golden-state/trust-root.json
  key_list:
    description:
      - The signed key-list document (its signatures are in C(<key_list>.sig)).
      - Required with O(operation=verify).
    type: path
  state:
    description:
      - Record of the last accepted key-list version and sha256 (rollback
        protection). Written atomically (mode 0644, directory 0755 when
        created) only when the recorded version changes, never in check mode.
        A record that cannot be parsed is an error, never silently reset.
    type: path
    default: /var/lib/golden-state/trust/accepted-key-list.json
  new_root:
    description:
      - New trust-root documents, applied in order (a host that missed a
        rotation can be brought forward through each intermediate root).
        Signatures are read from C(<new_root>.sig).
      - Required with O(operation=rotate) and O(operation=install).
    type: list
    elements: path
  fingerprint:
    description:
      - SHA-256 hex of the last O(new_root), obtained out of band (for example
        read aloud from C(trustctl inspect) by the root key holders).
      - Required with O(operation=install).
    type: str
  repository_keys:
    description:
      - Names of the artifact-signing keys the repository itself lists
        (C(fleet_trusted_keys)). With O(operation=verify) they do not
        count (only the verified key list does), and the module warns naming them
        so an operator sees that editing the inventory cannot add a signer.
    type: list
    elements: str
    default: []
  now:
    description:
      - Judge expiry at this RFC 3339 UTC time (C(2030-01-01T00:00:00Z))
        instead of the current time. For tests and forensics.
    type: str
attributes:
  check_mode:
    support: full
    description: Verifies everything and reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the state record (verify) or the pinned document (rotate, install).
requirements:
  - coincurve >= 21
author:
  - Wizard fleet maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Verify the signed key list against the pinned trust root
  trust_root:
    pin: /etc/golden-state/trust-root.json
    key_list: "{{ playbook_dir }}/../trust/key-list.json"
    state: /var/lib/golden-state/trust/accepted-key-list.json
  delegate_to: localhost
  register: golden_state_trust

- name: Refuse artifacts not signed under the verified key list
  artifact_verify:
    path: /srv/trails/*.trail.json
    trusted_keys: "{{ golden_state_trust.trusted_keys }}"
    revoked_keys: "{{ golden_state_trust.revoked_keys }}"
    threshold: "{{ golden_state_trust.threshold }}"
  delegate_to: localhost

- name: Rotate the pin to a new root signed by the current root's threshold
  trust_root:
    operation: rotate
    pin: /etc/golden-state/trust-root.json
    new_root: [trust/trust-root.json]
"""

RETURN = r"""
operation:
  description: The operation performed.
  returned: always
  type: str
  sample: verify
pin:
  description: Path of the pinned trust root.
  returned: always
  type: str
  sample: /etc/golden-state/trust-root.json
pin_version:
  description: Version of the trust root in force after the operation.
  returned: success
  type: int
  sample: 1
key_list:
  description: Path of the verified key list.
  returned: success and operation is verify
  type: str
  sample: trust/key-list.json
version:
  description: Version of the accepted key list (verify) or of the new pin (rotate, install).
  returned: success
  type: int
  sample: 3
previous_version:
  description: >-
    Key-list version recorded in O(state) before this run (verify), or the
    pinned root's version before this run (rotate, install); null when none.
  returned: success
  type: int
  sample: 2
sha256:
  description: SHA-256 hex of the accepted key list (verify) or of the new pin (rotate, install).
  returned: success
  type: str
  sample: 5f0c...e1
expires:
  description: Expiry of the accepted key list (verify) or of the new pin (rotate, install).
  returned: success
  type: str
  sample: "2030-01-01T00:00:00Z"
signers:
  description: >-
    Names of the pinned root keys whose signatures counted (verify), or of
    the keys that signed the last new root (rotate, install).
  returned: success
  type: list
  elements: str
  sample: [root-alice, root-bob]
trusted_keys:
  description: The verified trusted artifact-signing keys ({name, pubkey}, pubkey lowercase hex).
  returned: success and operation is verify
  type: list
  elements: dict
  sample: [{name: alice, pubkey: 7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e}]
revoked_keys:
  description: The verified revoked public keys (lowercase hex).
  returned: success and operation is verify
  type: list
  elements: str
  sample: []
threshold:
  description: The verified number of distinct trusted keys each artifact needs.
  returned: success and operation is verify
  type: int
  sample: 2
state:
  description: Path of the accepted-version record.
  returned: success and operation is verify
  type: str
  sample: /var/lib/golden-state/trust/accepted-key-list.json
steps:
  description: >-
    Each verified rotation step: path, version, signed_by_current (names of
    the previous root's keys that signed) and signed_by_new (its own keys).
  returned: success and operation is rotate or install
  type: list
  elements: dict
  sample:
    - {path: trust/trust-root.json, version: 2, signed_by_current: [a, b], signed_by_new: [b, c]}
installed:
  description: True when a host without a pin got its first pin (install only).
  returned: success and operation is rotate or install
  type: bool
  sample: false
"""

import json
import os

# Mitogen ships only the module_utils a module names: these are used indirectly.
import ansible.module_utils.fleet.files  # pylint: disable=unused-import
import ansible.module_utils.fleet.signing  # pylint: disable=unused-import
import ansible.module_utils.fleet.strict_load  # pylint: disable=unused-import
import ansible.module_utils.fleet.text  # noqa: F401  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.fleet.trust_root import (
    KEY_LIST_TYPE,
    ROOT_TYPE,
    SignatureError,
    dump_state,
    load_document,
    read_signatures,
    read_state,
    verify_bootstrap,
    verify_key_list,
    verify_rotation,
    write_pin,
    write_state,
)


def _load_pin(path: str):
    if not os.path.exists(path):
        raise SignatureError(f"{path}: no trust root is pinned on this host; an operator pins "
                             f"one with playbooks/pin_trust_root.yml (docs/trust_root.md)")
    return load_document(path, ROOT_TYPE)


def _pretty(raw: bytes) -> str:
    return json.dumps(json.loads(raw), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _verify(module: AnsibleModule, params: dict) -> dict:
    pin = _load_pin(params["pin"])
    key_list = load_document(params["key_list"], KEY_LIST_TYPE)
    state = read_state(params["state"])
    verdict = verify_key_list(pin, key_list, read_signatures(key_list), state, params["now"])
    changed = verdict.changed
    if changed and not module.check_mode:
        try:
            write_state(params["state"], verdict.record)
        except OSError as exc:
            raise SignatureError(f"{params['state']}: cannot write: {exc.strerror}") from None
    result = {"changed": changed, "pin_version": pin.version, "key_list": params["key_list"],
              "version": key_list.version, "sha256": key_list.sha256,
              "expires": key_list.expires, "signers": verdict.signers,
              "previous_version": state["version"] if state else None,
              "state": params["state"], **verdict.policy}
    if module._diff and changed:
        result["diff"] = {"before": dump_state(state).decode() if state else "",
                          "after": dump_state(verdict.record).decode(),
                          "before_header": params["state"], "after_header": params["state"]}
    return result


def _rotate(module: AnsibleModule, params: dict) -> dict:
    path, install = params["pin"], params["operation"] == "install"
    new_roots = [load_document(p, ROOT_TYPE) for p in params["new_root"]]
    signatures = [read_signatures(doc) for doc in new_roots]
    final = new_roots[-1]
    if install and final.sha256 != (params["fingerprint"] or "").strip().lower():
        verify_bootstrap(final, signatures[-1], params["fingerprint"], params["now"])
    if install and not os.path.exists(path):
        signed = verify_bootstrap(final, signatures[-1], params["fingerprint"], params["now"])
        before, steps, changed = None, [{"path": final.source, "version": final.version,
                                         "signed_by_current": [],
                                         "signed_by_new": signed.signers}], True
    else:
        pin = _load_pin(path)
        rotation = verify_rotation(pin, new_roots, signatures, params["now"])
        before, changed = pin, rotation.changed
        final = rotation.final
        steps = [{"path": s.root.source, "version": s.root.version,
                  "signed_by_current": s.signed_by_current, "signed_by_new": s.signed_by_new}
                 for s in rotation.steps]
    if changed and not module.check_mode:
        try:
            write_pin(path, final)
        except OSError as exc:
            raise SignatureError(f"{path}: cannot write: {exc.strerror}") from None
    result = {"changed": changed, "pin_version": final.version, "version": final.version,
              "previous_version": before.version if before else None, "sha256": final.sha256,
              "expires": final.expires, "signers": steps[-1]["signed_by_new"] if steps else [],
              "steps": steps, "installed": before is None}
    if module._diff and changed:
        result["diff"] = {"before": _pretty(before.raw) if before else "",
                          "after": _pretty(final.raw), "before_header": path,
                          "after_header": path}
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "operation": {"type": "str", "choices": ["verify", "rotate", "install"],
                          "default": "verify"},
            "pin": {"type": "path", "default": "/etc/golden-state/trust-root.json"},
            "key_list": {"type": "path"},
            "state": {"type": "path",
                      "default": "/var/lib/golden-state/trust/accepted-key-list.json"},
            "new_root": {"type": "list", "elements": "path"},
            "fingerprint": {"type": "str"},
            "now": {"type": "str"},
            "repository_keys": {"type": "list", "elements": "str", "default": [],
                                "no_log": False},
        },
        required_if=[("operation", "verify", ["key_list"]),
                     ("operation", "rotate", ["new_root"]),
                     ("operation", "install", ["new_root", "fingerprint"])],
        supports_check_mode=True,
    )
    params = module.params
    if params["operation"] != "verify" and not params["new_root"]:
        module.fail_json(msg="new_root: give at least one trust-root document")
    try:
        if params["operation"] == "verify":
            result = _verify(module, params)
            if params["repository_keys"]:
                module.warn("trust root pinned: only the verified key list counts; the "
                            f"{len(params['repository_keys'])} key(s) the repository lists "
                            "(fleet_trusted_keys: "
                            f"{', '.join(params['repository_keys'])}) do not")
        else:
            result = _rotate(module, params)
    except SignatureError as exc:
        module.fail_json(msg=str(exc), operation=params["operation"], pin=params["pin"])
    module.exit_json(operation=params["operation"], pin=params["pin"], **result)


if __name__ == "__main__":
    main()
