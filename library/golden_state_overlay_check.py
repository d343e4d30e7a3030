# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: golden_state_overlay_check
short_description: Validate (and optionally signature-check) the config overlay on the controller
description:
  - Merges the provider chain into the base config.yaml, validates the result
    against the versioned JSON Schema, checks JSON (and YAML) files' syntax
    and, when O(require_signatures) is true, verifies every source file
    against its C(.sig) file and the trust policy (docs/signing.md).
  - "Read-only; run it with C(delegate_to: localhost) so jsonschema and
    coincurve are needed only on the controller. Fails listing every error
    with the file and the JSON path, before anything is written to a host."
  - Returns the rendered config.yaml for M(golden_state_overlay).
version_added: "0.1.0"
options:
  config:
    description: The base config.yaml, already rendered by the template lookup.
    type: dict
    required: true
    suboptions:
      src:
        description: Source path on the controller (error messages, signatures).
        type: path
        required: true
      content:
        description: Rendered base YAML.
        type: str
        required: true
  providers:
    description: The provider chain (C(golden_state_providers)), first entry preferred.
    type: list
    elements: dict
    required: true
  header:
    description: Comment block put at the top of config.yaml.
    type: str
    default: ""
  files:
    description: Further overlay files, rendered.
    type: list
    elements: dict
    default: []
    suboptions:
      src: {description: Source path on the controller., type: path, required: true}
      content: {description: Rendered text., type: str, required: true}
      format:
        description: Check to run; C(auto) picks by file name (C(.json), C(.yaml)/C(.yml)).
        type: str
        choices: [auto, json, yaml, text]
        default: auto
  secret_files:
    description: Like O(files), for secret files (C(no_log) on their content).
    type: list
    elements: dict
    default: []
    suboptions:
      src: {description: Source path on the controller., type: path, required: true}
      content: {description: Rendered text., type: str, required: true}
      format:
        description: Check to run.
        type: str
        choices: [auto, json, yaml, text]
        default: auto
  schema:
    description: JSON Schema file for config.yaml.
    type: path
    required: true
  require_signatures:
    description: Verify every source against its C(.sig) file and the trust policy.
    type: bool
    default: false
  trusted_keys:
    description: Trusted signers, C({name, pubkey}).
    type: list
    elements: dict
    default: []
  revoked_keys:
    description: Public keys whose signatures never count.
    type: list
    elements: str
    default: []
  threshold:
    description: Distinct trusted keys required per source.
    type: int
    default: 1
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
requirements:
  - jsonschema >= 4.20
  - pyyaml >= 6
  - coincurve >= 21 (only with O(require_signatures))
author:
  - Fleet golden state maintainers
"""

EXAMPLES = r"""
- name: Validate the overlay on the controller
  golden_state_overlay_check:
    config:
      src: roles/golden_state/files/overlay/config.yaml
      content: "{{ lookup('ansible.builtin.template', 'overlay/config.yaml') }}"
    providers: "{{ golden_state_providers }}"
    schema: roles/golden_state/files/schema/config.v1.schema.json
  delegate_to: localhost
"""

RETURN = r"""
config_content:
  description: config.yaml as the host gets it (header, base YAML, provider chain).
  returned: success
  type: str
  sample: "# Managed by ...\nmodel:\n  default: openai/gpt-4.1\n"
checked:
  description: Source files validated.
  returned: always
  type: list
  elements: str
  sample: [roles/golden_state/files/overlay/config.yaml]
signers:
  description: Per source, the names of the trusted keys counted (empty without signatures).
  returned: always
  type: dict
  sample: {roles/golden_state/files/overlay/config.yaml: [alice]}
errors:
  description: Every validation or signature error, each naming its file (and JSON path).
  returned: failure
  type: list
  elements: str
  sample: ["config.yaml: $.agent.max_turns: 'many' is not of type 'integer'"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.fleet_overlay import (
    OverlayError,
    check_text,
    format_for,
    load_schema,
    render_config,
)


def _signature_errors(module: AnsibleModule, sources: list[str], signers: dict) -> list[str]:
    from ansible.module_utils.fleet_signing import (
        SignatureError,
        read_sig_file,
        sig_path_for,
        verify_policy,
    )

    params = module.params
    errors = []
    for src in sources:
        try:
            with open(src, "rb") as handle:
                data = handle.read()
            result = verify_policy(data, read_sig_file(sig_path_for(src)), params["trusted_keys"],
                                   params["revoked_keys"], params["threshold"])
        except OSError as exc:
            errors.append(f"{src}: cannot read source: {exc.strerror}")
            continue
        except SignatureError as exc:
            errors.append(f"{src}: {exc}")
            continue
        signers[src] = result.signers
        if not result.accepted:
            detail = result.summary() or (f"no signatures in {sig_path_for(src)}"
                                          if not result.reasons else "")
            errors.append(f"{src}: signature check failed, {len(result.signers)} of "
                          f"{params['threshold']} required trusted keys signed it"
                          + (f"; {detail}" if detail else ""))
    return errors


def main() -> None:
    file_options = {"src": {"type": "path", "required": True},
                    "content": {"type": "str", "required": True},
                    "format": {"type": "str", "default": "auto",
                               "choices": ["auto", "json", "yaml", "text"]}}
    module = AnsibleModule(
        argument_spec={
            "config": {"type": "dict", "required": True,
                       "options": {"src": {"type": "path", "required": True},
                                   "content": {"type": "str", "required": True}}},
            "providers": {"type": "list", "elements": "dict", "required": True},
            "header": {"type": "str", "default": ""},
            "files": {"type": "list", "elements": "dict", "default": [],
                      "options": file_options},
            "secret_files": {"type": "list", "elements": "dict", "default": [],
                             "options": {**file_options,
                                         "content": {"type": "str", "required": True,
                                                     "no_log": True}}},
            "schema": {"type": "path", "required": True},
            "require_signatures": {"type": "bool", "default": False},
            "trusted_keys": {"type": "list", "elements": "dict", "default": [],
                             "no_log": False},
            "revoked_keys": {"type": "list", "elements": "str", "default": [],
                             "no_log": False},
            "threshold": {"type": "int", "default": 1},
        },
        supports_check_mode=True,
    )
    params = module.params
    config = params["config"]
    errors: list[str] = []
    content = None
    try:
        schema = load_schema(params["schema"])
        content = render_config(config["content"], params["providers"], params["header"],
                                config["src"])
        errors += check_text(content, "config", config["src"], schema)
    except OverlayError as exc:
        errors.append(str(exc))
    sources = [config["src"]]
    for option in ("files", "secret_files"):
        for item in params[option]:
            fmt = item["format"] if item["format"] != "auto" else format_for(item["src"])
            errors += check_text(item["content"], "text" if fmt == "config" else fmt,
                                 item["src"])
            sources.append(item["src"])
    signers: dict = {}
    if params["require_signatures"]:
        if not params["trusted_keys"]:
            errors.append("golden_state_trusted_keys: empty, but signatures are required")
        else:
            errors += _signature_errors(module, sources, signers)
    if errors:
        module.fail_json(msg=f"overlay rejected, no host file was changed: {len(errors)} "
                             f"error(s): " + " | ".join(errors),
                         errors=errors, checked=sources, signers=signers)
    module.exit_json(changed=False, config_content=content, checked=sources, signers=signers)


if __name__ == "__main__":
    main()
