# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: role_variables
short_description: Fail on variables that carry a role's prefix but that no argument spec declares
description:
  - The typo guard of the site pre-flight. A misspelled role variable
    (C(harness_service_comand) in group_vars) would otherwise be silently ignored.
  - Every role directory under O(roles_dir) with C(meta/argument_specs.yml) owns the
    prefix C(<role>_); the names it declares are the options of all its entry points.
    O(spec_files) declare further fleet-wide names that carry a role prefix.
  - Each name in O(names) that carries a role prefix (the longest prefix wins) and
    that no loaded spec declares fails the task, unless O(allowlist) allows it.
    Names beginning with C(__) are internal and never checked.
  - Each finding names the role, the files under O(sources) that set the variable,
    and up to three close declared names. Values are never read into the result.
  - "Read-only; behaves identically in check mode. Run it on the controller
    (C(delegate_to: localhost)) so the paths refer to the repository checkout."
version_added: "0.1.0"
author: Wizard fleet maintainers (!UNKNOWN)
options:
  names:
    description:
      - The variable names visible to the host, usually the C(ansible.builtin.varnames)
        lookup over the role prefixes (see EXAMPLES).
      - Names without a role prefix are ignored.
    type: list
    elements: str
    required: true
  roles_dir:
    description: Directory of the roles (each C(<role>/meta/argument_specs.yml) is read).
    type: path
    required: true
  spec_files:
    description:
      - Further argument_specs-shaped files (C(argument_specs.<entry>.options)) declaring
        fleet-wide names that carry a role prefix, such as
        C(playbooks/vars/site.argument_specs.yml). A missing or malformed file fails the task.
    type: list
    elements: path
    default: []
  sources:
    description:
      - Inventory files and directories (C(group_vars/), C(host_vars/)) searched to say
        which files set each finding, by key name (YAML C(NAME:), INI C(NAME=)). A
        Vault-encrypted file is reported as C(possibly set in vault-encrypted FILE).
      - Paths below the parent of O(roles_dir) (the repository) are shown relative to it.
    type: list
    elements: path
    default: []
  allowlist:
    description:
      - Deliberately undeclared names. Each entry is C({name, reason}); C(name) is an exact
        name or a glob (C(*) any characters, C(?) one); C(reason) is required.
    type: list
    elements: dict
    default: []
attributes:
  check_mode:
    support: full
    description: Reads variable names and spec files only, so check mode runs it as is.
  diff_mode:
    support: none
    description: It never writes; a finding names variables and files, never values.
notes:
  - Findings never include a variable's value, only its name and the files that set it.
  - The conventions are in docs/CONVENTIONS.md (role variables are declared; the typo guard).
"""

EXAMPLES = r"""
- name: Refuse role variables that no argument spec declares
  role_variables:
    names: "{{ query('ansible.builtin.varnames', '^(base|golden_state|harness_service)_') }}"
    roles_dir: "{{ playbook_dir }}/../roles"
    spec_files:
      - "{{ playbook_dir }}/vars/site.argument_specs.yml"
    sources:
      - "{{ inventory_dir }}"
    allowlist: "{{ undeclared_variable_allowlist }}"
  delegate_to: localhost
  become: false

- name: Allow a variable kept for an out-of-tree tool
  role_variables:
    names: [golden_state_legacy_url]
    roles_dir: roles
    allowlist:
      - name: golden_state_legacy_*
        reason: read by the migration script until 2026-01
"""

RETURN = r"""
undeclared:
  description: The findings (the task fails when this is not empty).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: The variable name., type: str, sample: harness_service_comand}
    role: {description: The role whose prefix it carries., type: str, sample: harness_service}
    suggestions:
      description: Up to three declared names close to it, best first.
      type: list
      elements: str
      sample: [harness_service_command]
    sources:
      description:
        - Files under O(sources) that set it, and C(possibly set in vault-encrypted FILE)
          notes for files that cannot be searched.
      type: list
      elements: str
      sample: [inventory/group_vars/wizards.yml]
  sample:
    - {name: harness_service_comand, role: harness_service,
       suggestions: [harness_service_command], sources: [inventory/group_vars/wizards.yml]}
checked:
  description: How many distinct names in O(names) carry a role prefix (internal names excluded).
  returned: always
  type: int
  sample: 42
msg:
  description:
    - Summary. On failure, the count of findings followed by one line per finding
      joined with C( | ).
    - "For example: 2 undeclared role variable(s): harness_service_comand: not declared by
      role harness_service (set in inventory/group_vars/wizards.yml); did you mean
      harness_service_command? | ..."
  returned: always
  type: str
"""

import os

# Mitogen ships only the module_utils a module names: this one is used indirectly.
import ansible.module_utils.fleet.files  # noqa: F401  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.fleet.role_vars import (
    RoleVarsError,
    find_sources,
    format_undeclared,
    load_declared,
    parse_allowlist,
    prefixed,
    undeclared,
)


def run(params: dict) -> dict:
    """Check the names; the result dict (with 'error' set on bad input)."""
    try:
        rules = parse_allowlist(params["allowlist"])
        declared = load_declared(params["roles_dir"], params["spec_files"])
    except RoleVarsError as error:
        return {"error": str(error), "undeclared": [], "checked": 0}
    names = [str(name) for name in params["names"]]
    found = undeclared(names, declared, rules)
    root = os.path.dirname(os.path.abspath(params["roles_dir"]))
    sources = (find_sources([record.name for record in found], params["sources"], root=root)
               if params["sources"] else {})
    lines = [format_undeclared(record, sources.get(record.name) if params["sources"] else None)
             for record in found]
    records = [dict(record.to_dict(), sources=sources.get(record.name, [])) for record in found]
    return {"error": None, "undeclared": records, "checked": len(prefixed(names, declared)),
            "lines": lines}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "names": {"type": "list", "elements": "str", "required": True},
            "roles_dir": {"type": "path", "required": True},
            "spec_files": {"type": "list", "elements": "path", "default": []},
            "sources": {"type": "list", "elements": "path", "default": []},
            "allowlist": {"type": "list", "elements": "dict", "default": []},
        },
        supports_check_mode=True,
    )
    outcome = run(module.params)
    result = {"changed": False, "undeclared": outcome["undeclared"], "checked": outcome["checked"]}
    if outcome["error"]:
        module.fail_json(msg=f"role_variables: {outcome['error']}", **result)
    if outcome["undeclared"]:
        module.fail_json(msg=f"{len(outcome['undeclared'])} undeclared role variable(s): "
                             + " | ".join(outcome["lines"]), **result)
    module.exit_json(msg=f"{outcome['checked']} role variable(s) checked, all declared", **result)


if __name__ == "__main__":
    main()
