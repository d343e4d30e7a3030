# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""trailctl: compile, disassemble, verify and fingerprint Trail-FLUX v1 trails.

Exit status: 0 ok / valid, 1 invalid input (findings on stdout), 2 usage error.
Signing subcommands (keygen, sign, ...) come from ``fleet_cli.trailctl_signing``,
which defines ``register(subparsers)``; without it the core subcommands still work.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import os
import sys

from fleet.files import FileTooLargeError, atomic_write, open_regular, read_regular
from fleet.text import json_text, show_lines, show_path
from fleet.trail import TrailError, compile_bytes, disassemble, fingerprint, load_worklog
from fleet.trail_verify import (
    DEFAULT_MAX_SIZE,
    SignaturePolicy,
    verify_trail,
    verify_trail_file,
)
from fleet_cli.cli_common import (
    add_version_argument,
    error,
    non_negative_int,
    positive_int,
    safe_streams,
    say,
)

# A worklog is text that compiles to at most a trail's size: far below this.
MAX_WORKLOG_SIZE = 4 * DEFAULT_MAX_SIZE


def _error(command: str, message: str) -> int:
    return error("trailctl", command, message)


def _read_input(path: str, limit: int) -> bytes:
    """The bytes of an input file ('-' = stdin): regular files only, at most ``limit``.

    Never blocks on a FIFO or device (``read_regular``); an OSError says why
    (``not a regular file (a FIFO)``, ``file is over the N-byte limit``).
    """
    if path == "-":
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise FileTooLargeError("<stdin>", limit)
        return data
    return read_regular(path, limit)


def _fingerprint_file(path: str) -> str:
    """``fingerprint`` of a whole file ('-' = stdin), streamed: any size, bounded memory."""
    digest = hashlib.sha256()
    with (contextlib.nullcontext(sys.stdin.buffer) if path == "-"
          else os.fdopen(open_regular(path), "rb")) as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def cmd_compile(args: argparse.Namespace) -> int:
    source = "<stdin>" if args.input == "-" else args.input
    try:
        raw = _read_input(args.input, MAX_WORKLOG_SIZE)
        data = compile_bytes(load_worklog(raw, source))
    except OSError as exc:
        return _error("compile", f"{source}: {exc.strerror or exc}")
    except TrailError as exc:
        message = str(exc)
        return _error("compile", message if message.startswith(source) else f"{source}: {message}")
    try:
        if args.output == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            atomic_write(args.output, data, 0o644)
    except OSError as exc:
        return _error("compile", f"{args.output}: {exc.strerror or exc}")
    if args.output != "-":
        print(f"{show_path(args.output)}: {len(data)} bytes, sha256 {fingerprint(data)}",
              file=sys.stderr)
    return 0


def cmd_disasm(args: argparse.Namespace) -> int:
    try:
        data = _read_input(args.file, DEFAULT_MAX_SIZE)
    except OSError as exc:
        return _error("disasm", f"{args.file}: {exc.strerror or exc}")
    text = disassemble(data, verbose=args.verbose, compact=args.compact,
                       hex_offsets=args.hex)
    # The trail's strings are shown, never obeyed: C1 controls, bidi overrides
    # and zero-width characters come out as escapes (\x85, \u202e).
    sys.stdout.write(show_lines(text))
    report = verify_trail(data)
    return 0 if report.valid else 1


def cmd_fingerprint(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            digest = _fingerprint_file(path)
        except OSError as exc:
            status = _error("fingerprint", f"{path}: {exc.strerror or exc}")
            continue
        print(f"{digest}  {show_path(path)}")
    return status


def _load_policy(args: argparse.Namespace) -> SignaturePolicy | None:
    """Build the signature policy from --trusted-keys/--revoked-keys/--threshold."""
    if args.trusted_keys is None and args.revoked_keys is None and args.threshold is None:
        return None
    threshold = 1 if args.threshold is None else args.threshold
    if args.trusted_keys is None and threshold > 0:
        raise _Usage("--threshold/--revoked-keys need --trusted-keys")
    try:
        from fleet import signing as fleet_signing
    except ImportError as exc:
        raise TrailError(f"signature checks need fleet_signing: {exc}") from None
    trusted = fleet_signing.load_key_list(args.trusted_keys) if args.trusted_keys else []
    revoked: list[str] = []
    if args.revoked_keys:
        loader = getattr(fleet_signing, "load_revoked_list", None)
        if loader is not None:
            revoked = loader(args.revoked_keys)
        else:
            revoked = [e["pubkey"] if isinstance(e, dict) else e
                       for e in fleet_signing.load_key_list(args.revoked_keys)]
    return SignaturePolicy(trusted=trusted, revoked=revoked, threshold=threshold)


class _Usage(Exception):
    """A usage error found after argparse (exit 2)."""


def cmd_verify(args: argparse.Namespace) -> int:
    expects = args.expect or []
    if len(expects) not in (0, 1, len(args.files)):
        raise _Usage(f"give --expect once for all files or once per file "
                     f"({len(args.files)}), not {len(expects)} times")
    try:
        policy = _load_policy(args)
    except ValueError as exc:  # TrailError, SignatureError: bad key files
        return _error("verify", str(exc))
    reports = []
    for index, path in enumerate(args.files):
        expected = expects[0] if len(expects) == 1 else (expects[index] if expects else None)
        reports.append(verify_trail_file(path, expected_fingerprint=expected,
                                         max_size=args.max_size, policy=policy))
    valid = all(r.valid for r in reports)
    if args.json:
        print(json_text({"valid": valid, "trails": [r.to_dict() for r in reports]}, indent=2))
    else:
        for report in reports:
            if report.valid:
                signed = f", signed by {', '.join(report.signers)}" if report.signers else ""
                say(f"{report.path}: OK {report.steps} steps, sha256 "
                    f"{report.fingerprint}{signed}")
            else:
                say("\n".join(report.lines()))
    return 0 if valid else 1


def _load_plugins(subparsers) -> None:
    """Register optional subcommand modules (signing) when they are installed."""
    try:
        plugin = importlib.import_module("fleet_cli.trailctl_signing")
    except ModuleNotFoundError as exc:
        if exc.name == "fleet_cli.trailctl_signing":
            return  # not installed: the core subcommands still work
        print(f"trailctl: warning: signing subcommands unavailable: {exc}", file=sys.stderr)
        return
    except ImportError as exc:
        print(f"trailctl: warning: signing subcommands unavailable: {exc}", file=sys.stderr)
        return
    plugin.register(subparsers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trailctl", description="Compile, disassemble, verify and fingerprint trails "
        "(Trail-FLUX v1). Exit 0 ok, 1 invalid input, 2 usage error.")
    add_version_argument(parser)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_core_commands(subparsers)
    _load_plugins(subparsers)
    return parser


def add_core_commands(subparsers) -> None:
    comp = subparsers.add_parser("compile", help="compile a worklog (JSON or YAML) to a trail",
                                 description="Compile worklog entries to trail bytes.")
    comp.add_argument("input", metavar="IN", help="worklog file, JSON or YAML ('-' = stdin)")
    comp.add_argument("-o", "--output", required=True, metavar="OUT",
                      help="trail file to write ('-' = stdout)")
    comp.set_defaults(func=cmd_compile)

    dis = subparsers.add_parser("disasm", help="list a trail's steps",
                                description="Disassemble a trail; exit 1 if it is invalid.")
    dis.add_argument("file", metavar="FILE", help="trail file ('-' = stdin)")
    dis.add_argument("--verbose", "-v", action="store_true",
                     help="show string keys and the string table")
    dis.add_argument("--compact", "-c", action="store_true",
                     help="one bare line per step: no offsets, names or comments")
    dis.add_argument("--hex", action="store_true", help="offsets in hex")
    dis.set_defaults(func=cmd_disasm)

    ver = subparsers.add_parser("verify", help="verify trails (format, fingerprint, signatures)",
                                description="Run every format check; exit 1 if any trail "
                                "is invalid. Findings: FILE:offset 0x..: step N: CODE message.")
    ver.add_argument("files", nargs="+", metavar="FILE")
    ver.add_argument("--json", action="store_true", help="machine-readable report")
    ver.add_argument("--expect", action="append", metavar="FINGERPRINT",
                     help="expected sha256; once for all files or once per file, in order")
    ver.add_argument("--max-size", type=positive_int, default=DEFAULT_MAX_SIZE, metavar="N",
                     help=f"refuse files over N bytes (default {DEFAULT_MAX_SIZE})")
    ver.add_argument("--trusted-keys", metavar="FILE", help="YAML/JSON list of {name, pubkey}")
    ver.add_argument("--revoked-keys", metavar="FILE", help="YAML/JSON list of revoked keys")
    ver.add_argument("--threshold", type=non_negative_int, metavar="N",
                     help="distinct trusted signatures required (default 1 with "
                     "--trusted-keys; 0 = report signers only)")
    ver.set_defaults(func=cmd_verify)

    fp = subparsers.add_parser("fingerprint", help="print sha256 fingerprints",
                               description="Print 'FINGERPRINT  FILE' per file.")
    fp.add_argument("files", nargs="+", metavar="FILE")
    fp.set_defaults(func=cmd_fingerprint)


def main(argv: list[str] | None = None) -> int:
    safe_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except _Usage as exc:
        parser.error(str(exc))  # exits 2
    except BrokenPipeError:
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
