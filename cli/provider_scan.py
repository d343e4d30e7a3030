# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""provider-scan: find banned model providers in files (a pre-commit / CI gate).

    provider-scan [--banned NAME]... [--config FILE] [--json] [-v] PATH...

Directories are scanned recursively (.git and cache directories skipped,
binary files skipped). ``--config`` is a YAML file with ``banned:`` (names or
``{name, terms}`` dicts) and ``allowlist:`` (``{path, term, reason}``
entries); ``--banned`` adds names. With neither, ``anthropic`` is banned.

Output: one ``file:line:col: 'term' (provider)`` line per finding on stdout
(``-v`` also lists allowed mentions), a summary on stderr; ``--json`` prints
one JSON document ``{findings, allowed, scanned, errors}`` instead. Names and
text from the files are shown terminal-safe (fleet.text): control, bidi and
zero-width characters escaped, bytes of a file name that are not UTF-8 as
``\\xff``, under any locale.

Only regular files are read. A FIFO, socket or device met in a directory is
skipped unopened and listed (``skipped PATH: not a regular file (a FIFO)``); a
directory that cannot be listed is an error and the walk goes on past it.

Exit status: 0 clean, 1 findings, 2 usage error *or an incomplete scan*: a
missing or unreadable path is reported on stderr (no traceback) and exits 2
even when there are also findings, because a gate that could not read a file
cannot say it is clean. A FIFO or device given by name is such a path.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from fleet.providers import (
    DEFAULT_BANNED,
    ScanReport,
    format_finding,
    parse_allowlist,
    resolve_banned,
    scan_paths,
)
from fleet.strict_load import DocumentError, excerpt, load_file
from fleet.text import json_text, show, show_path
from fleet_cli.cli_common import add_version_argument, safe_streams

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
    try:  # strict: size cap, regular file, no repeated key, bounded aliases (fleet.strict_load)
        config = load_file(path, "scan_config", "yaml")
    except DocumentError as exc:
        raise UsageError(str(exc)) from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise UsageError(f"{path}: config must be a mapping with banned/allowlist")
    unknown = set(config) - {"banned", "allowlist"}
    if unknown:
        shown = ", ".join(excerpt(key) for key in sorted(map(str, unknown))[:5])
        raise UsageError(f"{path}: unknown config keys {shown}"
                         + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""))
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


def _finding_line(finding) -> str:
    """One finding, terminal-safe: its file name, key path and match come from the files."""
    if finding.file is not None:
        finding = replace(finding, file=show_path(finding.file))
    return show(format_finding(finding))


def _print_human(report: ScanReport, verbose: bool) -> None:
    for finding in report.failures:
        print(_finding_line(finding))
    if verbose:
        for finding in report.allowed:
            print(_finding_line(finding))
    for note in report.special:
        print(f"{PROG}: skipped {show(note)}", file=sys.stderr)
    for error in report.errors:
        print(f"{PROG}: error: {show(error)}", file=sys.stderr)
    print(f"{PROG}: {len(report.failures)} finding(s), {len(report.allowed)} allowed, "
          f"{len(report.files)} file(s) scanned"
          + (f", {len(report.special)} special file(s) skipped" if report.special else "")
          + (f", {len(report.errors)} unreadable" if report.errors else ""),
          file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    safe_streams()
    args = _parser().parse_args(argv)  # exits 2 on bad usage
    try:
        providers, rules = _settings(args)
    except UsageError as exc:
        print(f"{PROG}: error: {show(str(exc))}", file=sys.stderr)
        return 2
    report = scan_paths(args.paths, providers, rules)
    if args.json:
        print(json_text(report.to_dict(), indent=2))
    else:
        _print_human(report, args.verbose)
    if report.errors:
        return 2
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
