# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers the console scripts share: error lines, --version, integer types, the sign loop.

Imports nothing from the signing library at import time, so trailctl's core
commands work where coincurve is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterable
from importlib import metadata

from fleet.text import show_lines, show_path

# The distribution that installs every console script ([project] name in pyproject.toml).
DISTRIBUTION = "wizard-fleet-golden-state"


def error(prog: str, command: str, message: str, status: int = 1) -> int:
    """Print ``PROG COMMAND: error: MESSAGE`` on stderr; return the exit status.

    The message is shown terminal-safe (``fleet.text.show_lines``): paths and
    names in it come from input files and the command line.
    """
    print(f"{prog} {command}: error: {show_lines(message)}", file=sys.stderr)
    return status


def say(text: str, file=None) -> None:
    """Print a line holding strings from inputs (names, paths, messages), terminal-safe.

    Control, bidi and zero-width characters are shown escaped, undecodable
    bytes of file names as ``\\xff`` (``fleet.text.show_lines``).
    """
    print(show_lines(text), file=file)


def safe_streams() -> None:
    """Make stdout/stderr unable to fail on a character their encoding lacks.

    Whatever the locale or PYTHONIOENCODING, an unencodable character is
    written as a backslash escape instead of raising UnicodeEncodeError. A
    safety net under ``say``/``show_path``, which already escape what matters.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # closed or detached: leave it
                reconfigure(errors="backslashreplace")


def package_version() -> str:
    """The installed package's version, or "unknown" when run from a bare checkout."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def add_version_argument(parser: argparse.ArgumentParser) -> None:
    """``--version``: print ``PROG VERSION`` and exit 0 (before any required argument)."""
    parser.add_argument("--version", action="version",
                        version=f"{parser.prog} {package_version()}")


def _int_at_least(text: str, minimum: int, complaint: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(complaint)
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    return _int_at_least(text, 1, "must be at least 1")


def non_negative_int(text: str) -> int:
    """argparse type: an integer of at least 0."""
    return _int_at_least(text, 0, "must be 0 or more")


def sign_files(fail: Callable[[str, str], int], key_path: str, paths: Iterable[str],
               sign_one: Callable, signed_line: Callable) -> int:
    """The ``sign`` subcommand: sign each path with the key in ``key_path``, report each.

    ``sign_one(path, key)`` signs one file (``fleet_signing.sign_file``) and returns
    its ``SignPlan``; ``signed_line(path, pubkey, plan)`` is the line printed when
    an event was appended. ``fail(command, message)`` reports an error and returns
    its exit status. Returns 0 when every file was signed (or already was), else
    the last error's status. Errors are ``SignatureError``s (key file, artifact,
    .sig file).
    """
    # Imported here, not at the top: trailctl's core commands load this module too.
    from fleet.signing import SignatureError, public_key_hex, read_secret_key_file

    try:
        key = read_secret_key_file(key_path)
        pubkey = public_key_hex(key)  # needs coincurve: a missing library fails here, cleanly
    except SignatureError as exc:
        return fail("sign", str(exc))
    status = 0
    for path in paths:
        try:
            plan = sign_one(path, key)
        except SignatureError as exc:
            status = fail("sign", str(exc))
            continue
        if plan.changed:
            say(signed_line(path, pubkey, plan))
        else:
            say(f"{show_path(path)}: already signed by {pubkey} in {plan.sig_path}; unchanged")
    return status
