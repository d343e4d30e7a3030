# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: file_tree
short_description: Converge a list of directories, files and links in one task
description:
  - One call in place of a C(file), C(copy) or C(template) task per item. Ansible
    costs about half a second per task or loop item; this module costs that once
    for a role's whole set of host-side files (docs/CONVENTIONS.md, task economy).
  - Entries are handled in list order. A directory is made with its missing parents,
    which get the same owner and mode (as M(ansible.builtin.file) does). Each entry is
    compared with the host (content, link target, mode, owner and group) and written
    only when it differs. Files are written atomically (temporary file, fsync,
    rename), so a reader sees the old or the new file, never a mix.
  - "Every entry is checked before anything is written: a malformed entry, an owner
    that does not exist, or a directory where a file is declared (or the reverse)
    fails the task with the entry's index, path and field, and nothing changes."
  - A file with a C(validate) command is checked before it replaces its destination;
    a refused file leaves the destination exactly as it was (entries before it in
    the list stay written, as separate tasks would have).
  - O(purge) removes files and links that match a glob and are not listed, for a
    directory whose listed files are the whole truth.
  - The action plugin of the same name reads each entry's C(src) on the controller
    (a role's C(files/) or an absolute path, as C(copy) does) and sends its bytes.
version_added: "0.1.0"
author: Wizard fleet maintainers (!UNKNOWN)
options:
  entries:
    description:
      - The directories, files and links, in the order they are converged; a list of
        dicts with the keys below. The module checks the entries itself (type C(raw)),
        so that a malformed one fails naming its index, path and field.
      - C(path) (str, required) - absolute, normalised path on the host.
      - C(state) (str, C(file), C(directory) or C(link)) - what the path is; C(link)
        when C(target) is given, else C(file).
      - C(src) (str) - a file's content, read from this controller path by the action
        plugin (binary safe). Relative paths are searched like C(copy)'s.
      - C(content) (str) - a file's content as text (UTF-8), for example a C(template)
        lookup.
      - C(content_base64) (str) - a file's content, base64 encoded (what the action
        plugin sends for C(src)). Give one of C(src), C(content) and C(content_base64).
      - C(target) (str) - a link's target.
      - C(owner), C(group) (str, default C(root)) - owner and group names (managed when
        the module runs as root).
      - C(mode) (str) - octal mode as a quoted string; C("0644") for files and
        C("0755") for directories when not given. Links have none.
      - C(diff) (bool, default C(true)) - show the content in diffs. When false the diff
        shows the file's size and sha256 instead (programs, whose source tells an
        operator little).
      - C(validate) (str) - command run on the new file before it replaces the old one;
        C(%s) is the temporary file's path. Not run in check mode.
    type: raw
    required: true
  purge:
    description:
      - A list of glob patterns such as C(/var/lib/trails/*.trail). Files and links that
        match and are not in O(entries) are removed. Only the last part may be a glob,
        and directories never match.
    type: raw
    default: []
attributes:
  check_mode:
    support: full
    description: Reports what would be created, updated and removed; writes nothing.
  diff_mode:
    support: full
    description: Before and after of every changed entry (size and sha256 where C(diff) is false).
notes:
  - Standard library only; runs on the host's python3.
  - Not for secrets; a secret file belongs in its own task with C(no_log), so that
    nothing else's diff is hidden with it.
seealso:
  - module: ansible.builtin.copy
  - module: ansible.builtin.file
"""

EXAMPLES = r"""
- name: Install deadman-check, its library, link, configuration and units
  file_tree:
    entries:
      - {path: /usr/local/lib/golden-state/deadman, state: directory}
      - {path: /usr/local/lib/golden-state/deadman/deadman_check.py, mode: "0755",
         src: "{{ role_path }}/../../scripts/deadman_check.py", diff: false}
      - {path: /usr/local/sbin/deadman-check,
         target: /usr/local/lib/golden-state/deadman/deadman_check.py}
      - path: /etc/systemd/system/deadman-check.service
        content: "{{ lookup('template', 'deadman-check.service.j2') }}"
        validate: systemd-analyze verify %s:deadman-check.service
  register: deadman_files
  notify: Restart deadman-check timer

- name: Keep exactly the listed trails
  file_tree:
    entries: "{{ trails | map('trail_entry') }}"
    purge: [/var/lib/wizard/trails/*.trail]
"""

RETURN = r"""
created:
  description: Paths that were (or in check mode would be) created.
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/deadman-check.service]
updated:
  description: Paths whose content, target, mode or owner was (or would be) changed.
  returned: always
  type: list
  elements: str
  sample: [/usr/local/lib/golden-state/deadman/deadman_check.py]
removed:
  description: Paths removed by O(purge).
  returned: always
  type: list
  elements: str
  sample: []
unchanged:
  description: Listed paths already as declared.
  returned: always
  type: list
  elements: str
  sample: [/usr/local/lib/golden-state/deadman]
errors:
  description: Every problem found before anything was written, one per entry and field.
  returned: failure
  type: list
  elements: str
  sample: ["entries[2] (/etc/x): mode '999' must be octal digits"]
msg:
  description: Summary, or what failed.
  returned: always
  type: str
  sample: "1 created, 1 updated, 0 removed, 5 unchanged"
"""

import os

# Mitogen ships only the module_utils a module names: these are used indirectly.
import ansible.module_utils.fleet.files  # noqa: F401  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.fleet.file_tree import (
    FileTreeError,
    apply_change,
    diffs,
    parse_entries,
    parse_purge,
    plan,
)


class ValidationRefused(Exception):
    pass


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            # Entries are checked by parse_entries, which names the index and field.
            "entries": {"type": "raw", "required": True},
            "purge": {"type": "raw", "default": []},
        },
        supports_check_mode=True,
    )
    result: dict = {"changed": False, "created": [], "updated": [], "removed": [],
                    "unchanged": []}
    try:
        entries = parse_entries(module.params["entries"])
        purge = parse_purge(module.params["purge"])
    except FileTreeError as error:
        module.fail_json(msg="invalid file_tree entries:\n" + str(error),
                         errors=error.errors, **result)
    as_root = os.geteuid() == 0
    try:
        todo = plan(entries, purge, manage_owner=as_root)
    except OSError as error:
        module.fail_json(msg=f"cannot read the current state: {error}", **result)
    problems = todo.conflicts + ([] if module.check_mode else todo.unknown_ids)
    if problems:
        module.fail_json(msg="\n".join(problems), errors=problems, **result)
    for unknown in todo.unknown_ids:  # an earlier task of the same play may create it
        module.warn(unknown + " (yet); a real run fails unless an earlier task creates it")

    def validate(command: str, tmp_path: str) -> None:
        rc, out, err = module.run_command(command.replace("%s", tmp_path))
        if rc != 0:
            raise ValidationRefused(f"validation ({command}) failed with rc {rc}: "
                                    f"{(err or out).strip()}")

    done = {"create": result["created"], "update": result["updated"],
            "remove": result["removed"]}
    for change in todo.changes:
        if not module.check_mode:
            try:
                apply_change(change, manage_owner=as_root, validate=validate)
            except (OSError, ValidationRefused) as error:
                result["changed"] = any(done.values())  # what was written before, honestly
                module.fail_json(msg=f"{change.path}: cannot {change.action}: {error}",
                                 **result)
        done[change.action].append(change.path)
    result["unchanged"] = todo.unchanged
    result["changed"] = bool(todo.changes)
    if module._diff and todo.changes:
        result["diff"] = diffs(todo)
    module.exit_json(msg=f"{len(result['created'])} created, {len(result['updated'])} updated, "
                     f"{len(result['removed'])} removed, {len(todo.unchanged)} unchanged",
                     **result)


if __name__ == "__main__":
    main()
