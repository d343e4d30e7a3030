# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The overlay gate: judge the files exactly as the host would receive them.

One decision for the ``golden_state_overlay_check`` module and the
``overlay-check`` CLI (and anything that must re-judge a snapshot later):

* syntax, and the JSON Schema for config.yaml (fleet_overlay);
* the config policy for config.yaml (fleet_config_policy): local or
  allowlisted endpoints, no inline credentials, declared speech providers;
* the banned-provider policy (fleet_providers) on the rendered text and on
  every decoded YAML/JSON key and string, so an escape sequence or a name
  assembled by a template is judged as the host would read it.

Errors name the destination file (and its source on the controller), the path
inside the document and the line where known; a secret file's content is
never quoted (findings carry only the banned term itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config_policy import PolicyError, check_config_policy
from .overlay import OverlayError, check_text, parse_yaml
from .providers import format_finding, scan_document
from .strict_load import DocumentError, decode

_SCAN_FORMAT = {"config": "yaml", "yaml": "yaml", "json": "json", "text": "text"}


@dataclass
class RenderedFile:
    """One file as the host would get it."""

    dest: str
    content: str
    fmt: str = "text"  # config (config.yaml: schema + policy), yaml, json, text
    src: str | None = None
    secret: bool = False

    @property
    def label(self) -> str:
        """The destination, with the source it was rendered from when that differs."""
        if self.src and self.src != self.dest:
            return f"{self.dest} (from {self.src})"
        return self.dest


@dataclass
class GatePolicy:
    """What the gate enforces; ``schema`` and ``config_policy`` apply to config.yaml."""

    banned: Any = None
    allowlist: Any = None
    schema: dict | None = None
    config_policy: Any = None  # a policy file's path, or a loaded fleet_config_policy.Policy
    endpoint_allowlist: tuple = ()


def provider_errors(item: RenderedFile, policy: GatePolicy) -> list[str]:
    """Banned-provider findings in the rendered text and its decoded values."""
    findings = scan_document(item.content, item.dest, _SCAN_FORMAT.get(item.fmt, "text"),
                             policy.banned, policy.allowlist)
    return [_name_source(format_finding(f), item) for f in findings if not f.allowed]


def _name_source(line: str, item: RenderedFile) -> str:
    if item.src and item.src != item.dest and line.startswith(item.dest):
        return item.dest + f" (from {item.src})" + line[len(item.dest):]
    return line


def config_policy_errors(text: str, name: str, policy: Any, extra_allow: Any = ()) -> list[str]:
    """Config-policy violations of a rendered config.yaml ([] when it does not parse:
    the syntax check reports that)."""
    try:
        data = parse_yaml(text, name)
    except OverlayError:
        return []
    return check_config_policy(data, policy, name, list(extra_allow))


def judge(files: list[RenderedFile], policy: GatePolicy) -> list[str]:
    """Every reason the host must not receive ``files``; [] when it may.

    Raises OverlayError or PolicyError for a broken schema or policy file
    (an operator's setting, not the overlay's content).
    """
    errors: list[str] = []
    for item in files:
        try:  # an oversized file is refused unparsed and unscanned (fleet.strict_load cap)
            decode(item.content, item.label, "overlay")
        except DocumentError as exc:
            errors.append(str(exc))
            continue
        fmt = item.fmt
        if fmt == "config":
            if policy.schema is None:
                raise OverlayError("the config.yaml check needs a schema")
            errors += check_text(item.content, "config", item.label, policy.schema)
            if policy.config_policy:
                errors += config_policy_errors(item.content, item.label, policy.config_policy,
                                               policy.endpoint_allowlist)
        else:
            errors += check_text(item.content, fmt, item.label)
        errors += provider_errors(item, policy)
    return errors


__all__ = ["GatePolicy", "OverlayError", "PolicyError", "RenderedFile", "config_policy_errors",
           "judge", "provider_errors"]
