# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: golden_state_overlay_check
short_description: Judge the config overlay as the host would receive it, on the controller
description:
  - Merges the provider chain into the base config.yaml, validates the result
    against the versioned JSON Schema and the config policy O(policy)
    (docs/config_policy.md), checks JSON (and YAML) files' syntax, and refuses
    any banned provider (O(banned)) in the rendered text or in any decoded
    YAML/JSON key or string of every file, secret files included
    (docs/providers.md).
  - When O(require_signatures) is true, it verifies every source file against
    its C(.sig) file and the trust decision (docs/signing.md, docs/trust_root.md).
  - "Read-only; run it with C(delegate_to: localhost) so jsonschema and
    coincurve are needed only on the controller. Fails listing every error
    with the file and the JSON path, before anything is written to a host."
  - Returns the rendered config.yaml for the C(golden_state_overlay) module.
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
      dest:
        description: Where the host gets the file (error messages); defaults to O(config.src).
        type: str
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
    suboptions: &file_suboptions  # secret_files has the same (a YAML merge key below)
      src: {description: Source path on the controller., type: path, required: true}
      dest: {description: Where the host gets the file (error messages)., type: str}
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
      <<: *file_suboptions
  schema:
    description: JSON Schema file for config.yaml.
    type: path
    required: true
  policy:
    description: Config policy file for config.yaml (docs/config_policy.md); none when omitted.
    type: path
  endpoint_allowlist:
    description: More model endpoint hosts allowed, each C({host, reason}).
    type: list
    elements: dict
    default: []
  banned:
    description: Banned providers (names or C({name, terms}) dicts, docs/providers.md).
    type: list
    elements: raw
    default: [anthropic]
  allowlist:
    description: Deliberate mentions, C({path, term, key, reason}); paths match the destination.
    type: list
    elements: dict
    default: []
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
    description: Judges rendered text on the controller, writing nothing; check mode runs it as is.
  diff_mode:
    support: none
    description: No file is written here; the apply module shows the overlay's diff.
requirements:
  - jsonschema >= 4.20
  - pyyaml >= 6
  - coincurve >= 21 (only with O(require_signatures))
notes:
  - Provider findings and errors name the destination file, its source, the
    path inside the document and the line; a secret file's content is never shown.
author:
  - Wizard fleet maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Validate the overlay on the controller
  golden_state_overlay_check:
    config:
      src: roles/golden_state/files/overlay/config.yaml
      content: "{{ lookup('ansible.builtin.template', 'overlay/config.yaml') }}"
    providers: "{{ golden_state_providers }}"
    schema: roles/golden_state/files/schema/config.v1.schema.json
    policy: roles/golden_state/files/policy/config.yml
    banned: "{{ banned_providers }}"
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
signer_keys:
  description:
    - Per source, the public key (64 lowercase hex) of each trusted, unrevoked
      key counted; empty without signatures.
    - The role passes it to the C(signatures) option of C(golden_state_overlay),
      so that each snapshot records who signed it and can be re-judged when a key is revoked.
  returned: always
  type: dict
  sample:
    roles/golden_state/files/overlay/config.yaml:
      - 79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798
errors:
  description: Every validation or signature error, each naming its file (and JSON path).
  returned: failure
  type: list
  elements: str
  sample:
    - "config.yaml: $.agent.max_turns: 'many' is not of type 'integer'"
    - "/home/wizard/.hermes/config.yaml:52: 'anthropic' (anthropic) in auxiliary.vision.provider"
"""

# Mitogen ships only the module_utils a module names: these are used indirectly.
import ansible.module_utils.fleet.config_policy  # pylint: disable=unused-import
import ansible.module_utils.fleet.files  # pylint: disable=unused-import
import ansible.module_utils.fleet.providers  # pylint: disable=unused-import
import ansible.module_utils.fleet.strict_load  # pylint: disable=unused-import
import ansible.module_utils.fleet.text  # noqa: F401  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.fleet.overlay import (
    OverlayError,
    format_for,
    load_schema,
    render_config,
)
from ansible.module_utils.fleet.overlay_gate import GatePolicy, PolicyError, RenderedFile, judge


def _signature_errors(module: AnsibleModule, sources: list[str], signers: dict,
                      signer_keys: dict) -> list[str]:
    from ansible.module_utils.fleet.signing import (
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
        signer_keys[src] = list(result.counted)
        if not result.accepted:
            detail = result.summary() or (f"no signatures in {sig_path_for(src)}"
                                          if not result.reasons else "")
            errors.append(f"{src}: signature check failed, {len(result.signers)} of "
                          f"{params['threshold']} required trusted keys signed it"
                          + (f"; {detail}" if detail else ""))
    return errors


def _rendered(item: dict, secret: bool) -> RenderedFile:
    fmt = item["format"] if item["format"] != "auto" else format_for(item["src"])
    return RenderedFile(dest=item["dest"] or item["src"], content=item["content"],
                        fmt="text" if fmt == "config" else fmt, src=item["src"], secret=secret)


def main() -> None:
    file_options = {"src": {"type": "path", "required": True},
                    "dest": {"type": "str"},
                    "content": {"type": "str", "required": True},
                    "format": {"type": "str", "default": "auto",
                               "choices": ["auto", "json", "yaml", "text"]}}
    module = AnsibleModule(
        argument_spec={
            "config": {"type": "dict", "required": True,
                       "options": {"src": {"type": "path", "required": True},
                                   "dest": {"type": "str"},
                                   "content": {"type": "str", "required": True}}},
            "providers": {"type": "list", "elements": "dict", "required": True},
            "header": {"type": "str", "default": ""},
            "files": {"type": "list", "elements": "dict", "default": [],
                      "options": file_options},
            "secret_files": {"type": "list", "elements": "dict", "default": [],
                             "no_log": False,  # only their content is secret
                             "options": {**file_options,
                                         "content": {"type": "str", "required": True,
                                                     "no_log": True}}},
            "schema": {"type": "path", "required": True},
            "policy": {"type": "path"},
            "endpoint_allowlist": {"type": "list", "elements": "dict", "default": []},
            "banned": {"type": "list", "elements": "raw", "default": ["anthropic"]},
            "allowlist": {"type": "list", "elements": "dict", "default": []},
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
    files: list[RenderedFile] = []
    try:  # config.yaml is judged only with its schema and once its chain merged
        schema = load_schema(params["schema"])
        content = render_config(config["content"], params["providers"], params["header"],
                                config["src"])
        files.append(RenderedFile(dest=config["dest"] or config["src"], content=content,
                                  fmt="config", src=config["src"]))
    except OverlayError as exc:
        errors.append(str(exc))
        schema = None  # no config.yaml in `files`: the other files need none
    files += [_rendered(item, False) for item in params["files"]]
    files += [_rendered(item, True) for item in params["secret_files"]]
    gate = GatePolicy(banned=params["banned"], allowlist=params["allowlist"], schema=schema,
                      config_policy=params["policy"],
                      endpoint_allowlist=tuple(params["endpoint_allowlist"]))
    try:
        errors += judge(files, gate)
    except (OverlayError, PolicyError, ValueError) as exc:
        errors.append(str(exc))
    sources = [config["src"]] + [f.src for f in files if f.fmt != "config"]
    signers: dict = {}
    signer_keys: dict = {}
    if params["require_signatures"]:
        if not params["trusted_keys"]:
            errors.append("signatures are required, but the trust decision lists no trusted key "
                          "(fleet_trusted_keys, or the trust root's key list)")
        else:
            errors += _signature_errors(module, sources, signers, signer_keys)
    if errors:
        module.fail_json(msg=f"overlay rejected, no host file was changed: {len(errors)} "
                             f"error(s): " + " | ".join(errors),
                         errors=errors, checked=sources, signers=signers,
                         signer_keys=signer_keys)
    module.exit_json(changed=False, config_content=content, checked=sources, signers=signers,
                     signer_keys=signer_keys)


if __name__ == "__main__":
    main()
