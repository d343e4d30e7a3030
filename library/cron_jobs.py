# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: cron_jobs
short_description: Validate declared cron jobs and converge them as one /etc/cron.d file each
description:
  - Validates every declared job (schedule fields, ranges, steps and macros; names safe
    as file names; commands and environment values free of newlines and control
    characters; environment keys valid identifiers; users that exist on the host) and
    fails, listing every error with the job and field, before changing anything.
  - "Each present job becomes C(<cron_dir>/<prefix><name>) (mode 0644, owned by root
    when run as root) with a managed header and a marker line; files are written
    atomically and only when their content, mode or owner differ."
  - Managed files whose job is no longer declared (or is declared C(state=absent)) are
    removed. A file counts as managed only when its name has O(prefix) and it carries
    the marker for that job; other files in O(cron_dir) and user crontabs are never
    written or removed.
  - "'%' in a command is literal: the module writes it as C(\\%) for cron, which would
    otherwise turn it into a newline. A command containing C(\\%) is refused."
  - "O(state=report) changes nothing and returns RV(drift). O(state=validate) only
    validates (no host access; use it with C(delegate_to: localhost))."
version_added: "0.1.0"
author: Wizard fleet maintainers (!UNKNOWN)
options:
  jobs:
    description:
      - Declared jobs, usually C(cron_manager_jobs). Each is a mapping with C(name),
        C(schedule), C(command), C(user), optional C(environment) (mapping) and
        C(state) (C(present) or C(absent)); see docs/cron_manager.md.
    type: raw
    default: []
  jobs_label:
    description: How messages name O(jobs) (C(<label>[index])).
    type: str
    default: jobs
  definitions:
    description:
      - Parsed content of a definitions file (a list of jobs, or a mapping whose C(jobs)
        key holds the list, or null). Names must be unique across O(jobs) and this.
    type: raw
  definitions_label:
    description: How messages name O(definitions), usually the file's path.
    type: str
    default: definitions
  state:
    description:
      - C(present) converges the directory; C(report) returns RV(drift) and changes
        nothing; C(validate) only validates the declarations.
    type: str
    choices: [present, report, validate]
    default: present
  banned:
    description:
      - Banned providers (names or C({name, terms}) dicts, docs/providers.md). Each
        present job's file is rendered exactly as it would be written and refused
        when its text names one (the finding names the file and line). Omit to skip.
    type: list
    elements: raw
  cron_dir:
    description: Directory the job files go to.
    type: path
    default: /etc/cron.d
  prefix:
    description: File-name prefix of managed files (letters, digits, C(_), C(-)).
    type: str
    default: golden-state-
  remove_undeclared:
    description: Remove managed files whose job is not declared any more.
    type: bool
    default: true
  check_users:
    description:
      - Fail when a present job's user does not exist on the host. In check mode a
        missing user is a warning (an earlier task of the same play may create it).
    type: bool
    default: true
  crontab_spool:
    description: Directory of user crontabs, read (never written) by O(state=report).
    type: path
    default: /var/spool/cron/crontabs
attributes:
  check_mode:
    support: full
    description: Reports what would be created, updated and removed; writes nothing.
  diff_mode:
    support: full
    description: Before and after text of every job file that changes.
notes:
  - Standard library only; runs on the host's python3. Where C(jsonschema) is importable
    the declarations are also checked against the published schema.
seealso:
  - name: docs/cron_manager.md
    description: Declaration format, validation rules, the cron.d decision, drift report.
    link: https://example.invalid/docs/cron_manager.md
"""

EXAMPLES = r"""
- name: Install the declared cron jobs
  cron_jobs:
    jobs:
      - name: backup
        schedule: "30 2 * * mon-fri"
        command: /usr/local/sbin/backup --date "$(date +%F)"
        user: root
        environment: {MAILTO: ops@example.org}
      - name: old-job
        state: absent
    jobs_label: cron_manager_jobs

- name: Validate on the controller before touching the host
  cron_jobs:
    state: validate
    jobs: "{{ cron_manager_jobs }}"
  delegate_to: localhost
  become: false

- name: Report drift without changing anything
  cron_jobs:
    state: report
    jobs: "{{ cron_manager_jobs }}"
  register: cron_drift
"""

RETURN = r"""
jobs:
  description: Names of the declared present jobs.
  returned: always
  type: list
  elements: str
  sample: [backup, heartbeat]
created:
  description: Jobs whose file was (or in check mode would be) created.
  returned: always
  type: list
  elements: str
  sample: [backup]
updated:
  description: Jobs whose file was (or would be) rewritten (content, mode or owner differed).
  returned: always
  type: list
  elements: str
  sample: []
removed:
  description: Jobs whose managed file was (or would be) removed.
  returned: always
  type: list
  elements: str
  sample: [old-job]
unchanged:
  description: Declared present jobs already in their golden state.
  returned: always
  type: list
  elements: str
  sample: [heartbeat]
errors:
  description: Validation errors, one per job and field (the task fails when not empty).
  returned: failure
  type: list
  elements: str
  sample: ["cron_manager_jobs[2] (name 'backup'): schedule minute '61' out of range 0-59"]
drift:
  description: With O(state=report), the host's drift from the declaration.
  returned: when state is report
  type: dict
  contains:
    in_sync:
      description: True when no declared job is missing, changed or in conflict and no managed
        file is stale.
      type: bool
    missing: {description: Declared jobs without their file., type: list, elements: str}
    changed: {description: Declared jobs whose file differs., type: list, elements: str}
    stale: {description: Managed files no longer declared., type: list, elements: str}
    conflicts: {description: Declared jobs whose path holds an unmanaged file., type: list,
                elements: str}
    unmanaged_files:
      description: Other files in O(cron_dir) with their job lines.
      type: list
      elements: dict
    user_crontabs:
      description: User crontabs in O(crontab_spool) with job lines (C(user), C(path), C(entries)).
      type: list
      elements: dict
  sample:
    in_sync: false
    missing: [backup]
    changed: []
    stale: []
    conflicts: []
    unmanaged_files: [{path: /etc/cron.d/e2scrub_all, entries: ["30 3 * * 0 root ..."]}]
    user_crontabs: [{user: root, path: /var/spool/cron/crontabs/root, entries: ["@daily x"]}]
msg:
  description: Summary, or every validation error on failure.
  returned: always
  type: str
  sample: "1 created, 0 updated, 0 removed, 2 unchanged"
"""

import os
import pwd

# Mitogen ships only the module_utils a module names: these are used indirectly.
import ansible.module_utils.fleet.files  # pylint: disable=unused-import
import ansible.module_utils.fleet.providers  # pylint: disable=unused-import
import ansible.module_utils.fleet.text  # noqa: F401  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.fleet.cron import (
    PREFIX_RE,
    CronValidationError,
    apply_change,
    banned_job_lines,
    definitions_jobs,
    diffs,
    drift,
    missing_users,
    plan,
    validate_jobs,
)


def _user_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "jobs": {"type": "raw", "default": []},
            "jobs_label": {"type": "str", "default": "jobs"},
            "definitions": {"type": "raw"},
            "definitions_label": {"type": "str", "default": "definitions"},
            "state": {"type": "str", "default": "present",
                      "choices": ["present", "report", "validate"]},
            "cron_dir": {"type": "path", "default": "/etc/cron.d"},
            "prefix": {"type": "str", "default": "golden-state-"},
            "remove_undeclared": {"type": "bool", "default": True},
            "check_users": {"type": "bool", "default": True},
            "crontab_spool": {"type": "path", "default": "/var/spool/cron/crontabs"},
            "banned": {"type": "list", "elements": "raw"},
        },
        supports_check_mode=True,
    )
    params = module.params
    result: dict = {"changed": False, "jobs": [], "created": [], "updated": [], "removed": [],
                    "unchanged": []}
    if not PREFIX_RE.fullmatch(params["prefix"] or ""):
        module.fail_json(msg=f"prefix {params['prefix']!r} must be letters, digits, '_' or '-' "
                         "(cron ignores other file names)", **result)
    try:
        definitions = definitions_jobs(params["definitions"], params["definitions_label"])
        jobs = validate_jobs([(params["jobs_label"], params["jobs"]),
                              (params["definitions_label"], definitions)])
    except CronValidationError as error:
        module.fail_json(msg="invalid cron job declarations:\n" + str(error),
                         errors=error.errors, **result)
    result["jobs"] = [job.name for job in jobs if job.state == "present"]
    if params["banned"] is not None:
        try:
            banned = banned_job_lines(jobs, params["cron_dir"], params["prefix"],
                                      params["banned"])
        except ValueError as error:
            module.fail_json(msg=f"banned: {error}", **result)
        if banned:
            module.fail_json(msg="cron jobs name a banned provider:\n" + "\n".join(banned),
                             errors=banned, **result)
    if params["state"] == "validate":
        module.exit_json(msg=f"{len(jobs)} job declarations valid", **result)

    cron_dir = params["cron_dir"]
    if not os.path.isdir(cron_dir):
        module.fail_json(msg=f"cron_dir {cron_dir} does not exist (is cron installed?)", **result)
    owner = (0, 0) if os.geteuid() == 0 else None
    if params["check_users"]:
        problems = missing_users(jobs, _user_exists)
        if problems and (module.check_mode or params["state"] == "report"):
            for problem in problems:
                module.warn(problem + " (a real run fails unless an earlier task creates it)")
        elif problems:
            module.fail_json(msg="invalid cron job declarations:\n" + "\n".join(problems),
                             errors=problems, **result)

    if params["state"] == "report":
        try:
            report = drift(jobs, cron_dir, params["prefix"], params["crontab_spool"], owner)
        except OSError as error:
            module.fail_json(msg=f"cannot read the cron state: {error}", **result)
        module.exit_json(msg="in sync" if report["in_sync"] else "drift found",
                         drift=report, **result)

    try:
        todo = plan(jobs, cron_dir, params["prefix"], params["remove_undeclared"], owner)
    except OSError as error:
        module.fail_json(msg=f"cannot read {cron_dir}: {error}", **result)
    for warning in todo.warnings:
        module.warn(warning)
    if todo.conflicts:
        module.fail_json(msg="\n".join(todo.conflicts), errors=todo.conflicts, **result)
    for change in todo.changes:
        if not module.check_mode:
            try:
                apply_change(change, owner)
            except OSError as error:  # report what was done before the failure, honestly
                result["changed"] = bool(result["created"] or result["updated"]
                                         or result["removed"])
                module.fail_json(msg=f"{change.path}: cannot {change.action}: {error}", **result)
        result[{"create": "created", "update": "updated", "remove": "removed"}[change.action]
               ].append(change.name)
    result["unchanged"] = todo.unchanged
    result["changed"] = bool(todo.changes)
    if module._diff:
        result["diff"] = diffs(todo)
    module.exit_json(msg=f"{len(result['created'])} created, {len(result['updated'])} updated, "
                     f"{len(result['removed'])} removed, {len(todo.unchanged)} unchanged",
                     **result)


if __name__ == "__main__":
    main()
