# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""provider-scan: find banned model providers in files (a pre-commit / CI gate).

    provider-scan [--banned NAME]... [--config FILE] [--json] [-v] PATH...

Directories are scanned recursively (.git and cache directories skipped,
binary files skipped). ``--config`` is a YAML file with ``banned:`` (names or
``{name, terms}`` dicts) and ``allowlist:`` (``{path, term, reason}``
entries); ``--banned`` adds names. With neither, ``anthropic`` is banned.

Output: one ``file:line:col: 'term' (provider)`` line per finding on stdout
(``-v`` also lists allowed mentions), a summary on stderr; ``--json`` prints
one JSON document ``{findings, allowed, scanned, errors}`` instead.

Exit status: 0 clean, 1 findings, 2 usage error *or an incomplete scan*: a
missing or unreadable path is reported on stderr (no traceback) and exits 2
even when there are also findings, because a gate that could not read a file
cannot say it is clean.
"""

from __future__ import annotations

import argparse
import json
import sys

from fleet.providers import (
    DEFAULT_BANNED,
    ScanReport,
    format_finding,
    parse_allowlist,
    resolve_banned,
    scan_paths,
)
from fleet_cli.cli_common import add_version_argument

PROG = "provider-scan"


class UsageError(Exception):
    """Bad arguments or configuration (exit 2)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Find banned model providers in files.",
        epilog="Exit status: 0 clean, 1 findings, 2 usage error or unreadable path.")
    add_version_argument(parser)
    parser.add_argument("--banned", action="append", default=[], metavar="NAME",
                        help="ban this provider (repeatable; default: anthropic)")
    parser.add_argument("--config", metavar="FILE",
                        help="YAML file with 'banned:' and 'allowlist:'")
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also list allowed mentions")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    return parser


def _load_config(path: str) -> dict:
    try:
        import yaml
    except ImportError:
        raise UsageError("--config needs PyYAML (pip install pyyaml)") from None
    try:
        with open(path, encoding="utf-8") as handle:
            config = yaml.safe_load(handle)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: invalid YAML: {exc}") from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise UsageError(f"{path}: config must be a mapping with banned/allowlist")
    unknown = set(config) - {"banned", "allowlist"}
    if unknown:
        raise UsageError(f"{path}: unknown config keys {sorted(unknown)}")
    for key in ("banned", "allowlist"):
        if config.get(key) is not None and not isinstance(config[key], list):
            raise UsageError(f"{path}: '{key}' must be a list")
    return config


def _settings(args: argparse.Namespace) -> tuple[list, list]:
    config = _load_config(args.config) if args.config else {}
    banned = list(config.get("banned") or []) + list(args.banned)
    try:
        providers = resolve_banned(banned or list(DEFAULT_BANNED))
        rules = parse_allowlist(config.get("allowlist"))
    except ValueError as exc:
        raise UsageError(f"{args.config or '--banned'}: {exc}") from None
    return providers, rules


def _print_human(report: ScanReport, verbose: bool) -> None:
    for finding in report.failures:
        print(format_finding(finding))
    if verbose:
        for finding in report.allowed:
            print(format_finding(finding))
    for error in report.errors:
        print(f"{PROG}: error: {error}", file=sys.stderr)
    print(f"{PROG}: {len(report.failures)} finding(s), {len(report.allowed)} allowed, "
          f"{len(report.files)} file(s) scanned"
          + (f", {len(report.errors)} unreadable" if report.errors else ""),
          file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # exits 2 on bad usage
    try:
        providers, rules = _settings(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    report = scan_paths(args.paths, providers, rules)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_human(report, args.verbose)
    if report.errors:
        return 2
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
