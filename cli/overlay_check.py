# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""overlay-check: validate overlay files before they are committed or deployed.

    overlay-check [--schema FILE] [--providers FILE] [-q] FILE...

Files named ``config.yaml`` (or given with ``--config``) are validated against
the harness config JSON Schema (``roles/golden_state/files/schema/
config.v1.schema.json`` by default, found from the checkout or the current
directory); ``*.json`` files are checked for JSON syntax, ``*.yaml``/``*.yml``
files for YAML syntax. ``--providers FILE`` (a YAML list, or a vars file whose
``golden_state_providers`` key holds it) merges the provider chain into
config.yaml first, as the role does; without it a config.yaml must carry its
own ``model`` section. Templated sources (``{{ ... }}``) are checked as they
are, so check rendered files where the source is a template.

Output: one ``FILE: $.json.path: message`` line per error on stdout, a summary
on stderr. Exit status: 0 all valid, 1 any invalid or unreadable file, 2 usage
error (bad option, no schema).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run from a checkout, not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))

from fleet_overlay import (
    OverlayError,
    check_text,
    format_for,
    load_schema,
    parse_yaml,
    render_config,
)

PROG = "overlay-check"
SCHEMA_REL = Path("roles/golden_state/files/schema/config.v1.schema.json")


class UsageError(Exception):
    """Bad arguments (exit 2)."""


def default_schema() -> Path | None:
    for root in (Path(__file__).resolve().parents[1], Path.cwd()):
        if (root / SCHEMA_REL).is_file():
            return root / SCHEMA_REL
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Validate harness overlay files (config.yaml schema, JSON syntax).",
        epilog="Exit status: 0 valid, 1 invalid or unreadable file, 2 usage error.")
    parser.add_argument("--schema", metavar="FILE", help=f"JSON Schema (default: {SCHEMA_REL})")
    parser.add_argument("--providers", metavar="FILE",
                        help="YAML provider chain to merge into config.yaml files")
    parser.add_argument("--config", action="append", default=[], metavar="FILE",
                        help="validate FILE against the schema whatever its name")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    parser.add_argument("files", nargs="*", metavar="FILE")
    return parser


def _load_providers(path: str) -> list:
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = parse_yaml(text, path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except OverlayError as exc:
        raise UsageError(str(exc)) from None
    if isinstance(data, dict) and "golden_state_providers" in data:
        data = data["golden_state_providers"]
    if not isinstance(data, list):
        raise UsageError(f"{path}: expected a list of {{name, base_url, model}}")
    return data


def check_file(path: str, fmt: str, schema: dict, providers: list | None) -> list[str]:
    """Errors for one file (each names the file); [] when it is valid."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        return [f"{path}: cannot read: {exc.strerror}"]
    except UnicodeDecodeError as exc:
        return [f"{path}: not UTF-8 (byte offset {exc.start})"]
    if fmt == "config" and providers is not None:
        try:
            text = render_config(text, providers, name=path)
        except OverlayError as exc:
            return [str(exc)]
    return check_text(text, fmt, path, schema)


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
    providers = _load_providers(args.providers) if args.providers else None
    errors: list[str] = []
    bad = 0
    for path, fmt in files:
        found = check_file(path, fmt, schema, providers)
        errors += found
        bad += bool(found)
    for line in errors:
        print(line)
    if not args.quiet:
        print(f"{PROG}: {len(files) - bad} of {len(files)} file(s) valid, "
              f"{len(errors)} error(s)", file=sys.stderr)
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except OverlayError as exc:  # e.g. PyYAML or jsonschema missing
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
