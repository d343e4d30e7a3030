# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: golden_state_overlay
short_description: Put the harness's config overlay in place as one transaction
description:
  - Compares every overlay file (content, mode, owner, group) with the live
    file. When anything differs, snapshots the live set under
    O(state_dir)C(/snapshots/), writes every new file to a temp file beside
    its target and renames them all, with a journal so that a run that dies
    halfway is completed or rolled back by the next run (or by
    C(golden-state-overlay)). A host never keeps a mix of old and new files.
  - First finishes or undoes a transaction an earlier run left behind.
  - Keeps the newest O(snapshot_keep) snapshots plus the known-good one.
  - Standard library only on the host. Contents are rendered and validated on
    the controller before this module runs (see docs/golden_state.md).
version_added: "0.1.0"
options:
  files:
    description: Files whose contents may be shown in diffs.
    type: list
    elements: dict
    default: []
    # secret_files shares dest, owner, group and restart (YAML aliases).
    suboptions:
      dest: &dest
        description: Absolute path on the host; its directory must exist.
        type: path
        required: true
      content:
        description: Exact text of the file (UTF-8).
        type: str
        required: true
      owner: &owner
        description: Owner name or uid.
        type: str
        default: root
      group: &group
        description: Group name or gid.
        type: str
        default: root
      mode:
        description: Octal mode as a string, e.g. C("0640").
        type: str
        default: "0640"
      restart: &restart
        description: Whether the harness reads this file (a change means a restart).
        type: bool
        default: true
  secret_files:
    description:
      - Files holding secrets. Their contents are never logged or returned
        (C(no_log)); diffs show a mask; their mode is always C(0600).
    type: list
    elements: dict
    default: []
    suboptions:
      dest: *dest
      content:
        description: Exact text of the file (UTF-8); never logged (C(no_log)).
        type: str
        required: true
      owner: *owner
      group: *group
      mode:
        description: Ignored; a secret file's mode is always C(0600).
        type: str
      restart: *restart
  state_dir:
    description: Root-owned directory for the journal, snapshots and known-good marker.
    type: path
    default: /var/lib/golden-state/overlay
  snapshot_keep:
    description:
      - Number of snapshots to keep (the known-good one is kept in addition).
      - Snapshots judged unusable (C(golden-state-overlay judge)) are never
        rotated away and do not count.
    type: int
    default: 5
  signatures:
    description:
      - "Who signed the new set, C({source: [pubkey hex, ...]}) (the
        C(signer_keys) that C(golden_state_overlay_check) returns), recorded in
        O(state_dir)C(/state.json). When the set is replaced, the snapshot of the
        old set carries the old set's record, so a snapshot can be re-judged
        when a signer's key is revoked."
      - Omitted means unknown; a snapshot without a record is judged unusable
        wherever signatures are required.
    type: dict
attributes:
  check_mode:
    support: full
    description: Reports what would change; writes nothing, not even recovery.
  diff_mode:
    support: full
    description: Per-file before/after; secret files are masked.
author:
  - Wizard fleet maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Apply the overlay in one transaction
  golden_state_overlay:
    files:
      - dest: /home/wizard/.hermes/config.yaml
        content: "{{ config_text }}"
        owner: wizard
        group: wizard
        mode: "0640"
    secret_files:
      - dest: /home/wizard/.hermes/.env
        content: "{{ vault_env }}"
        owner: wizard
        group: wizard
    snapshot_keep: 5
    signatures: "{{ overlay_check.signer_keys }}"
  notify: Restart harness
"""

RETURN = r"""
files:
  description: One entry per file, in the order given (files, then secret_files).
  returned: always
  type: list
  elements: dict
  sample: [{dest: /home/wizard/.hermes/config.yaml, changed: true,
            differences: [content], secret: false, sha256: "9f86d0..."}]
  contains:
    dest: {description: Target path., type: str}
    changed: {description: Whether this file differs (or differed) from the live one., type: bool}
    differences:
      description: What differs, among missing, content, mode, owner, group.
      type: list
      elements: str
    secret: {description: Whether the file is a secret one., type: bool}
    sha256: {description: SHA-256 of the desired content., type: str}
snapshot:
  description: Id of the snapshot holding the previous live set, when one was taken.
  returned: always
  type: str
  sample: 000004-20250101T120000Z
rotated:
  description: Snapshot ids deleted by rotation.
  returned: always
  type: list
  elements: str
  sample: [000001-20250101T100000Z]
recovered:
  description: How an interrupted earlier transaction was resolved
    (completed, rolled-back), or null.
  returned: always
  type: str
  sample: completed
restart_required:
  description: Whether a file the harness reads changed (handlers restart it only then).
  returned: always
  type: bool
  sample: true
"""

import grp
import os
import pwd
import re

# Mitogen ships only the module_utils a module names: these are used indirectly.
import ansible.module_utils.fleet.files  # pylint: disable=unused-import
import ansible.module_utils.fleet.strict_load  # pylint: disable=unused-import
import ansible.module_utils.fleet.text  # noqa: F401  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.fleet.overlay import (
    FileSpec,
    OverlayError,
    OverlayStore,
)

_FILE_OPTIONS = {
    "dest": {"type": "path", "required": True},
    "content": {"type": "str", "required": True},
    "owner": {"type": "str", "default": "root"},
    "group": {"type": "str", "default": "root"},
    "mode": {"type": "str", "default": "0640"},
    "restart": {"type": "bool", "default": True},
}


def _resolve(name: str, kind: str, check: bool, where: str) -> int | None:
    """uid/gid for a name or number; None in check mode when it does not exist yet."""
    if name.isdigit():
        return int(name)
    try:
        return (pwd.getpwnam(name).pw_uid if kind == "owner" else grp.getgrnam(name).gr_gid)
    except KeyError:
        if check:  # an earlier role (base) creates it in a real run
            return None
        raise OverlayError(f"{where}.{kind}: no such {'user' if kind == 'owner' else 'group'} "
                           f"{name!r} on the host; create it first (role base)") from None


def _mode(text: str, where: str) -> int:
    try:
        mode = int(text, 8)
    except (TypeError, ValueError):
        raise OverlayError(f"{where}.mode: {text!r} is not an octal mode like \"0640\"") from None
    if not 0 <= mode <= 0o7777:
        raise OverlayError(f"{where}.mode: {text!r} is out of range")
    return mode


def _specs(module: AnsibleModule, check: bool) -> list[FileSpec]:
    specs, seen = [], {}
    for option in ("files", "secret_files"):
        secret = option == "secret_files"
        for index, item in enumerate(module.params[option]):
            where = f"{option}[{index}]"
            dest = item["dest"]
            if not dest.startswith("/"):
                raise OverlayError(f"{where}.dest: {dest!r} must be an absolute path")
            if dest in seen:
                raise OverlayError(f"{where}.dest: {dest} is also {seen[dest]}")
            seen[dest] = where
            specs.append(FileSpec(
                dest=dest, content=item["content"].encode("utf-8"),
                mode=0o600 if secret else _mode(item["mode"], where),
                uid=_resolve(item["owner"], "owner", check, where),
                gid=_resolve(item["group"], "group", check, where),
                secret=secret, restart=item["restart"]))
    return specs


def _signatures(value: dict | None) -> dict | None:
    """``{source: [pubkey hex]}`` with keys lower-cased; OverlayError names a bad entry."""
    if value is None:
        return None
    out = {}
    for source, keys in value.items():
        if not isinstance(keys, list) or not all(
                isinstance(k, str) and re.fullmatch(r"[0-9A-Fa-f]{64}", k) for k in keys):
            raise OverlayError(f"signatures[{source!r}]: expected a list of public keys "
                               f"(64 hex characters each)")
        out[str(source)] = [k.lower() for k in keys]
    return out


def _check_dirs(specs: list[FileSpec], check: bool) -> None:
    for spec in specs:
        directory = os.path.dirname(spec.dest)
        if not os.path.isdir(directory) and not check:
            raise OverlayError(f"{spec.dest}: directory {directory} does not exist; "
                               f"create it first (role base creates the harness homes)")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "list", "elements": "dict", "default": [],
                      "options": _FILE_OPTIONS},
            "secret_files": {"type": "list", "elements": "dict", "default": [],
                             "no_log": False,  # only their content is secret
                             "options": {**_FILE_OPTIONS,
                                         "content": {"type": "str", "required": True,
                                                     "no_log": True},
                                         "mode": {"type": "str"}}},  # always 0600
            "state_dir": {"type": "path", "default": "/var/lib/golden-state/overlay"},
            "snapshot_keep": {"type": "int", "default": 5},
            "signatures": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    if module.params["snapshot_keep"] < 1:
        module.fail_json(msg="snapshot_keep: must be at least 1")
    check = module.check_mode
    try:
        specs = _specs(module, check)
        if not specs:
            module.fail_json(msg="files: give at least one file (files or secret_files)")
        _check_dirs(specs, check)
        report = OverlayStore(module.params["state_dir"]).apply(
            specs, keep=module.params["snapshot_keep"], check=check,
            signatures=_signatures(module.params["signatures"]))
    except OverlayError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"{getattr(exc, 'filename', None) or 'overlay'}: {exc.strerror}; "
                             f"no partial change is left behind (the journal under "
                             f"{module.params['state_dir']} is resolved on the next run)")
    diff = report.pop("diff")
    if module._diff:
        report["diff"] = diff
    module.exit_json(**report)


if __name__ == "__main__":
    main()
