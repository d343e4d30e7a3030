# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""overlay-check: validate overlay files before they are committed or deployed.

    overlay-check [--schema FILE] [--policy FILE | --no-policy] [--providers FILE]
                  [--config FILE] [-q] FILE...

Files named ``config.yaml`` (or given with ``--config``) are validated against
the harness config JSON Schema (``roles/golden_state/files/schema/
config.v1.schema.json`` by default, found from the checkout or the current
directory) and then against the config policy (``roles/golden_state/files/
policy/config.yml`` by default, found the same way; ``--policy FILE`` for
another, ``--no-policy`` to skip it): endpoints must be local or allowlisted,
no inline credentials, allowed speech providers (docs/config_policy.md).
``*.json`` files are checked for JSON syntax, ``*.yaml``/``*.yml`` files for
YAML syntax. ``--providers FILE`` (a YAML list, or a vars file whose
``golden_state_providers`` key holds it) merges the provider chain into
config.yaml first, as the role does; without it a config.yaml must carry its
own ``model`` section. A vars file's ``golden_state_endpoint_allowlist`` (same
shape as the policy's ``endpoints.allow``) extends the allowlist, as the role
does. Templated sources (``{{ ... }}``) are checked as they are, so check
rendered files where the source is a template.

Output: one line per error on stdout, a summary on stderr. Schema errors read
``FILE: $.json.path: message``; policy violations read ``FILE: path: message
(rule RULE; to permit: ...)`` and never show a credential value. Exit status:
0 all valid, 1 any invalid or unreadable file or policy violation, 2 usage
error (bad option, no schema or policy, a broken policy file or allowlist).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from fleet.config_policy import (
    EXTRA_ALLOW_SOURCE,
    Policy,
    PolicyError,
    load_policy,
    parse_allow_entries,
)
from fleet.files import read_regular
from fleet.overlay import (
    OverlayError,
    check_text,
    format_for,
    load_schema,
    parse_yaml,
    render_config,
)
from fleet.overlay_gate import config_policy_errors
from fleet.text import show
from fleet_cli.cli_common import add_version_argument, safe_streams

PROG = "overlay-check"
SCHEMA_REL = Path("roles/golden_state/files/schema/config.v1.schema.json")
POLICY_REL = Path("roles/golden_state/files/policy/config.yml")
# Overlay files and vars files are kilobytes; a bigger one is refused unread.
MAX_FILE_SIZE = 16 * 1024 * 1024


class UsageError(Exception):
    """Bad arguments (exit 2)."""


def _find(rel: Path) -> Path | None:
    for root in (Path(__file__).resolve().parents[1], Path.cwd()):
        if (root / rel).is_file():
            return root / rel
    return None


def default_schema() -> Path | None:
    return _find(SCHEMA_REL)


def default_policy() -> Path | None:
    return _find(POLICY_REL)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Validate harness overlay files (config.yaml schema and "
                               "policy, JSON syntax).",
        epilog="Exit status: 0 valid, 1 invalid or unreadable file, 2 usage error.")
    add_version_argument(parser)
    parser.add_argument("--schema", metavar="FILE", help=f"JSON Schema (default: {SCHEMA_REL})")
    policy = parser.add_mutually_exclusive_group()
    policy.add_argument("--policy", metavar="FILE",
                        help=f"config policy for config.yaml files (default: {POLICY_REL})")
    policy.add_argument("--no-policy", action="store_true",
                        help="check config.yaml files against the schema only")
    parser.add_argument("--providers", metavar="FILE",
                        help="YAML provider chain to merge into config.yaml files (a vars "
                             f"file's {EXTRA_ALLOW_SOURCE} extends the policy's allowlist)")
    parser.add_argument("--config", action="append", default=[], metavar="FILE",
                        help="validate FILE against the schema whatever its name")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    parser.add_argument("files", nargs="*", metavar="FILE")
    return parser


def _read_vars(path: str) -> object:
    try:
        # regular files only, bounded: a FIFO or device is refused, never waited on
        text = read_regular(path, MAX_FILE_SIZE).decode("utf-8")
        return parse_yaml(text, path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 (byte offset {exc.start})") from None
    except OverlayError as exc:
        raise UsageError(str(exc)) from None


def _load_providers(path: str, data: object = None) -> list:
    if data is None:
        data = _read_vars(path)
    if isinstance(data, dict) and "golden_state_providers" in data:
        data = data["golden_state_providers"]
    if not isinstance(data, list):
        raise UsageError(f"{path}: expected a list of {{name, base_url, model}}")
    return data


def _load_allowlist(path: str, data: object) -> tuple:
    """A vars file's golden_state_endpoint_allowlist, validated (reason required)."""
    if not isinstance(data, dict) or EXTRA_ALLOW_SOURCE not in data:
        return ()
    try:
        parse_allow_entries(data[EXTRA_ALLOW_SOURCE], path, EXTRA_ALLOW_SOURCE)
    except PolicyError as exc:
        raise UsageError(str(exc)) from None
    return tuple(data[EXTRA_ALLOW_SOURCE])


def _load_policy(args: argparse.Namespace) -> Policy | None:
    if args.no_policy:
        return None
    policy_path = args.policy or default_policy()
    if policy_path is None:
        raise UsageError(f"no config policy: pass --policy FILE or --no-policy (looked for "
                         f"{POLICY_REL} in the checkout and in {os.getcwd()})")
    try:
        return load_policy(str(policy_path))
    except PolicyError as exc:
        raise UsageError(str(exc)) from None


def check_file(path: str, fmt: str, schema: dict, providers: list | None,
               policy: Policy | None = None, extra_allow: tuple = ()) -> list[str]:
    """Errors for one file (each names the file); [] when it is valid."""
    try:
        text = read_regular(path, MAX_FILE_SIZE).decode("utf-8")  # never blocks on a FIFO
    except OSError as exc:
        return [f"{path}: cannot read: {exc.strerror}"]
    except UnicodeDecodeError as exc:
        return [f"{path}: not UTF-8 (byte offset {exc.start})"]
    if fmt == "config" and providers is not None:
        try:
            text = render_config(text, providers, name=path)
        except OverlayError as exc:
            return [str(exc)]
    errors = check_text(text, fmt, path, schema)
    if fmt == "config" and policy is not None:
        errors += config_policy_errors(text, path, policy, extra_allow)
    return errors


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    files = [(f, format_for(f)) for f in args.files] + [(f, "config") for f in args.config]
    if not files:
        raise UsageError("give at least one FILE")
    schema = None
    if any(fmt == "config" for _, fmt in files):
        schema_path = args.schema or default_schema()
        if schema_path is None:
            raise UsageError(f"no schema: pass --schema (looked for {SCHEMA_REL} in the "
                             f"checkout and in {os.getcwd()})")
        try:
            schema = load_schema(str(schema_path))
        except OverlayError as exc:
            raise UsageError(str(exc)) from None
    policy = None
    if any(fmt == "config" for _, fmt in files):
        policy = _load_policy(args)
    providers, extra_allow = None, ()
    if args.providers:
        data = _read_vars(args.providers)
        providers = _load_providers(args.providers, data)
        extra_allow = _load_allowlist(args.providers, data)
    errors: list[str] = []
    bad = 0
    for path, fmt in files:
        found = check_file(path, fmt, schema, providers, policy, extra_allow)
        errors += found
        bad += bool(found)
    for line in errors:
        print(show(line))  # names and values from the files: shown, never obeyed
    if not args.quiet:
        print(f"{PROG}: {len(files) - bad} of {len(files)} file(s) valid, "
              f"{len(errors)} error(s)", file=sys.stderr)
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    safe_streams()
    try:
        return run(argv)
    except UsageError as exc:
        print(f"{PROG}: {show(str(exc))}", file=sys.stderr)
        return 2
    except OverlayError as exc:  # e.g. PyYAML or jsonschema missing
        print(f"{PROG}: {show(str(exc))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
