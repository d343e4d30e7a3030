# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: banned_providers
short_description: Fail when a banned model provider appears in the chain, variables or files
description:
  - Scans the provider chain, any extra structured data and files/directories for
    the terms that identify banned model providers (provider names, model-family
    names, API hostnames, key and environment variable names) and fails, listing
    every finding, when one is present.
  - Matching is case-insensitive, robust to separators (C(Claude-3), C(claude_3),
    C(CLAUDE 3)), URLs, provider-prefixed model ids (C(openrouter/anthropic/...)),
    Unicode look-alikes (NFKC/NFKD folding, accents, Cyrillic/Greek homoglyphs) and
    zero-width characters; words that merely contain a term (C(claudette),
    C(philanthropic)) are not findings. See docs/providers.md for the full rule.
  - Occurrences under a variable or key named C(banned_providers) declare the ban
    and are reported as allowed, not as failures.
  - "Read-only; behaves identically in check mode. Run it on the controller
    (C(delegate_to: localhost)) so C(paths) refer to the repository checkout."
version_added: "0.1.0"
author: Wizard fleet maintainers (!UNKNOWN)
options:
  banned:
    description:
      - Banned providers. Each item is a name resolved by the built-in catalogue
        (C(anthropic), C(openai), C(google); an unknown name is its own only term)
        or a dict C({name, terms, versioned, aliases, prefixes}) whose terms are added to the
        catalogue entry of that name.
      - Must name at least one provider (an empty list is an error, so a templating
        mistake cannot switch the gate off).
    type: list
    elements: raw
    default: [anthropic]
  providers:
    description:
      - The provider chain (list of C({name, base_url, model})), usually
        C(golden_state_providers). Findings are reported under O(providers_name).
    type: list
    elements: raw
    default: []
  providers_name:
    description: Root of the key paths reported for O(providers).
    type: str
    default: golden_state_providers
  data:
    description:
      - Any extra structured data to scan (keys and values). Its top-level keys
        become the roots of the reported key paths, so pass variables under their
        own names (see EXAMPLES).
    type: dict
    default: {}
  paths:
    description:
      - Files and directories to scan (directories recursively; C(.git) and cache
        directories are skipped, binary files are skipped). YAML and JSON findings
        carry their key path. A missing or unreadable path fails the task.
    type: list
    elements: path
    default: []
  allowlist:
    description:
      - Deliberate mentions. Each entry is C({path, term, reason}) with an optional
        C(key). C(path) is a glob matched against the file path (as given, absolute,
        or the basename when the glob has no C(/)) or, for variables, the key path;
        C(*) matches any characters, C(?) one, everything else is literal.
        C(term) is a term or provider name (C(*) or omitted means any). C(key) is a
        glob narrowing a file entry to key paths.
      - Allowed occurrences do not fail the task; they are returned in RV(allowed)
        with their reason.
    type: list
    elements: dict
    default: []
notes:
  - Findings never include the text around a match (a value may be a secret),
    only the matched term.
seealso:
  - name: docs/providers.md
    description: Matching rule, catalogue, allowlist, CLI and pre-commit hook.
    link: https://example.invalid/docs/providers.md
"""

EXAMPLES = r"""
- name: Pre-flight - no banned provider may reach a host
  banned_providers:
    banned: "{{ banned_providers | default(['anthropic']) }}"
    providers: "{{ golden_state_providers | default([]) }}"
    data:
      hermes_config: "{{ hermes_config | default({}) }}"
    paths:
      - "{{ playbook_dir }}/../roles"
      - "{{ playbook_dir }}/../inventory"
    allowlist:
      - path: "*/SOUL.md"
        term: claude
        reason: the identity text names the model family it must never use
  delegate_to: localhost

- name: Ban an extra provider by its own terms
  banned_providers:
    banned:
      - anthropic
      - name: acme
        terms: [acme-llm, api.acme.example, ACME_API_KEY]
    providers: "{{ golden_state_providers }}"
"""

RETURN = r"""
findings:
  description: Occurrences that are not allowed (the task fails when this is not empty).
  returned: always
  type: list
  elements: dict
  contains:
    provider: {description: Banned provider name., type: str, sample: anthropic}
    term: {description: Catalogue term that matched., type: str, sample: claude}
    match: {description: The text that matched (original characters)., type: str, sample: Claude}
    file: {description: File path (null for variables)., type: str, sample: config.yaml}
    line: {description: 1-based line in the file (null for variables)., type: int, sample: 3}
    column: {description: 1-based column in characters (null for variables)., type: int, sample: 12}
    path:
      description: Key path (variables always; YAML/JSON files when it can be computed).
      type: str
      sample: "golden_state_providers[2].base_url"
    allowed: {description: Always false here., type: bool, sample: false}
    decoded:
      description: >-
        Present and true when only the decoded YAML/JSON value (an escape sequence, a folded
        line) shows the name, not the raw text.
      type: bool
      sample: true
    reason: {description: Always null here., type: str, sample: null}
  sample:
    - {provider: anthropic, term: claude, match: claude, file: config.yaml, line: 3, column: 12,
       path: model.default, allowed: false, reason: null}
allowed:
  description: Occurrences excused by the allowlist or by being the ban's own declaration.
  returned: always
  type: list
  elements: dict
  sample:
    - {provider: anthropic, term: claude, match: Claude, file: roles/soul/files/SOUL.md, line: 7,
       column: 20, path: null, allowed: true, reason: the identity text names the model family}
scanned:
  description: What was scanned.
  returned: always
  type: dict
  contains:
    files: {description: Files scanned., type: list, elements: str}
    variables:
      description: Variable roots scanned (O(providers_name) and the keys of O(data)).
      type: list
      elements: str
    skipped: {description: Binary and special files skipped., type: list, elements: str}
    special:
      description: "FIFOs, sockets and devices met in a directory, skipped unopened
        (C(PATH: not a regular file (a FIFO)))."
      type: list
      elements: str
  sample: {files: [roles/overlay/files/config.yaml], variables: [golden_state_providers],
           skipped: [], special: []}
errors:
  description: Paths that could not be read (the task fails when this is not empty).
  returned: always
  type: list
  elements: str
  sample: []
msg:
  description:
    - Summary; on failure the number of findings, then one line per finding (file, line,
      column, matched term, provider, key path) and per unreadable path.
  returned: always
  type: str
  sample: "1 banned-provider finding(s):\nconfig.yaml:3:12: 'claude' (anthropic) in model.default"
"""

import ansible.module_utils.fleet.files  # pylint: disable=unused-import
import ansible.module_utils.fleet.text  # noqa: F401  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.fleet.providers import (
    ScanReport,
    format_finding,
    parse_allowlist,
    resolve_banned,
    scan_data,
    scan_paths,
)


def run(params: dict) -> tuple[ScanReport, str | None]:
    """Scan everything the parameters name; (report, error message or None)."""
    try:
        providers = resolve_banned(params["banned"])
        rules = parse_allowlist(params["allowlist"])
    except ValueError as error:
        return ScanReport(), str(error)
    report = ScanReport()
    roots = [(params["providers_name"], params["providers"])]
    roots.extend((str(key), value) for key, value in (params["data"] or {}).items())
    for root, value in roots:
        report.variables.append(root)
        report.findings.extend(scan_data(value, providers, root=root, allowlist=rules))
    scan_paths(params["paths"], providers, rules, report)
    return report, None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "banned": {"type": "list", "elements": "raw", "default": ["anthropic"]},
            "providers": {"type": "list", "elements": "raw", "default": []},
            "providers_name": {"type": "str", "default": "golden_state_providers"},
            "data": {"type": "dict", "default": {}},
            "paths": {"type": "list", "elements": "path", "default": []},
            "allowlist": {"type": "list", "elements": "dict", "default": []},
        },
        supports_check_mode=True,
    )
    report, error = run(module.params)
    if error:
        module.fail_json(msg=f"banned_providers: {error}", findings=[], allowed=[],
                         scanned={"files": [], "variables": [], "skipped": [], "special": []},
                         errors=[error])
    result = dict(changed=False, **report.to_dict())
    failures = report.failures
    if failures or report.errors:
        lines = [format_finding(finding) for finding in failures]
        lines.extend(f"{error} (cannot scan)" for error in report.errors)
        summary = (f"{len(failures)} banned-provider finding(s)"
                   + (f", {len(report.errors)} unreadable path(s)" if report.errors else ""))
        module.fail_json(msg=summary + ":\n" + "\n".join(lines), **result)
    module.exit_json(msg=f"no banned provider in {len(report.variables)} variable root(s) and "
                         f"{len(report.files)} file(s); {len(report.allowed)} allowed mention(s)",
                     **result)


if __name__ == "__main__":
    main()
