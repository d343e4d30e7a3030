# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: artifact_sign
short_description: Sign files with a BIP340 key into detached NIP-01 C(.sig) files
description:
  - Signs each file in O(path) with the secret key in O(key_file) and appends
    the signature event (a NIP-01 kind 1063 event whose C(x) tag is the file's
    SHA-256) to C(<file>.sig), a JSON array of events.
  - Idempotent although BIP340 signatures carry fresh randomness. When the
    C(.sig) file already holds a valid event by this key over this exact
    content, nothing is written and the task is not changed.
  - The secret key never appears in the result, diff or error messages.
  - See docs/signing.md.
version_added: "0.1.0"
options:
  path:
    description:
      - Files to sign. C(<file>.sig) is written beside each one.
    type: list
    elements: path
    required: true
  key_file:
    description:
      - File holding the secret key, 64 hex characters or an C(nsec1) string.
      - Must be owned by the user running the module and not readable or
        writable by group or others (C(chmod 600)), else the module fails.
    type: path
    required: true
  name:
    description:
      - Value of the event's C(name) tag. Defaults to each file's base name.
    type: str
  media_type:
    description:
      - Value of the event's C(m) (media type) tag.
    type: str
    default: application/octet-stream
attributes:
  check_mode:
    support: full
    description: Reports which files would be signed; writes nothing.
  diff_mode:
    support: full
    description: Shows the C(.sig) file before and after (public events only).
requirements:
  - coincurve >= 21
author:
  - Wizard fleet maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Sign the trail and its overlay
  artifact_sign:
    path:
      - /srv/trails/agents.trail.json
      - /srv/trails/overlay.yml
    key_file: ~/.config/fleet/signing.key
    media_type: application/json
"""

RETURN = r"""
pubkey:
  description: The signer's x-only public key (hex).
  returned: success
  type: str
  sample: 7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e
npub:
  description: The signer's public key as an npub1 string.
  returned: success
  type: str
files:
  description: One entry per signed file.
  returned: success
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
    changed:
      description: Whether an event was (or in check mode would be) appended.
      type: bool
    event_id:
      description: Id of the new event, or of the existing event by this key.
      type: str
    events:
      description: Number of events in the .sig file after signing.
      type: int
"""

import os

# Mitogen ships only the module_utils a module names: these are used indirectly.
import ansible.module_utils.fleet.strict_load  # pylint: disable=unused-import
import ansible.module_utils.fleet.text  # noqa: F401  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.fleet.files import read_private_file
from ansible.module_utils.fleet.signing import (
    SignatureError,
    dump_sig_file,
    npub,
    parse_secret_key,
    public_key_hex,
    sign_file,
)


def _load_key(module: AnsibleModule, key_file: str):
    try:
        raw = read_private_file(key_file)
    except PermissionError as exc:
        module.fail_json(msg=f"key_file: {exc}")
    except OSError as exc:
        module.fail_json(msg=f"key_file: cannot read {key_file}: {exc.strerror}")
    try:
        key = parse_secret_key(raw, f"key_file {key_file}")
    except SignatureError as exc:
        module.fail_json(msg=str(exc))
    finally:
        del raw
    # Belt and braces: Ansible masks these strings in anything it prints.
    module.no_log_values.update((key.secret_hex(), key.nsec()))
    return key


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "list", "elements": "path", "required": True},
            "key_file": {"type": "path", "required": True, "no_log": True},
            "name": {"type": "str"},
            "media_type": {"type": "str", "default": "application/octet-stream"},
        },
        supports_check_mode=True,
    )
    paths = module.params["path"]
    if not paths:
        module.fail_json(msg="path: give at least one file to sign")
    key = _load_key(module, module.params["key_file"])
    try:
        pubkey = public_key_hex(key)
    except SignatureError as exc:
        module.fail_json(msg=str(exc))

    files, diffs, changed = [], [], False
    for path in paths:
        try:
            plan = sign_file(path, key, name=module.params["name"] or os.path.basename(path),
                             media_type=module.params["media_type"], write=not module.check_mode)
        except SignatureError as exc:
            module.fail_json(msg=str(exc), files=files)
        changed = changed or plan.changed
        event = plan.new_event or plan.after[plan.existing_index]
        files.append({"path": path, "sig_path": plan.sig_path, "digest": plan.digest,
                      "changed": plan.changed, "event_id": event["id"],
                      "events": len(plan.after)})
        if plan.changed:
            diffs.append({
                "before_header": plan.sig_path,
                "after_header": plan.sig_path,
                "before": dump_sig_file(plan.before).decode() if plan.before else "",
                "after": dump_sig_file(plan.after).decode(),
            })

    result = {"changed": changed, "pubkey": pubkey, "npub": npub(pubkey), "files": files}
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
