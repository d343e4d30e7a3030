# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""trailctl subcommands for signing: keygen, sign, verify-sig.

``trailctl`` imports this module and calls ``register(subparsers)``; each
subcommand's ``func(args)`` returns the exit code (0 ok, 1 invalid input or
rejected, 2 usage). Runs standalone too: ``python3 cli/trailctl_signing.py``.
"""

from __future__ import annotations

import argparse
import os
import sys

from fleet.signing import (
    SignatureError,
    generate_secret_key,
    load_key_list,
    load_revoked_list,
    npub,
    public_key_hex,
    read_artifact,
    read_sig_file,
    sig_path_for,
    sign_file,
    verify_policy,
)
from fleet.text import show_path
from fleet_cli.cli_common import error, positive_int, safe_streams, say, sign_files


def _error(command: str, message: str) -> int:
    return error("trailctl", command, message)


def _write_new_secret(path: str, secret_hex: str) -> None:
    # O_EXCL, not atomic_write: atomic_write renames over whatever is there,
    # and keygen must never replace an existing key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secret_hex + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def cmd_keygen(args: argparse.Namespace) -> int:
    try:
        key = generate_secret_key()
        pubkey = public_key_hex(key)
        _write_new_secret(args.output, key.secret_hex())
    except FileExistsError:
        return _error("keygen", f"{args.output} exists; refusing to overwrite a key file")
    except (OSError, SignatureError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else str(exc)
        return _error("keygen", f"{args.output}: {detail}")
    print(f"secret key written to {show_path(args.output)} (mode 0600)")
    print(f"public key: {pubkey}")
    print(f"npub: {npub(pubkey)}")
    return 0


def _signed_line(path: str, pubkey: str, plan) -> str:
    return (f"{path}: signed by {pubkey}, event {plan.new_event['id']} "
            f"appended to {plan.sig_path} (now {len(plan.after)} in the file)")


def cmd_sign(args: argparse.Namespace) -> int:
    def sign_one(path: str, key):
        return sign_file(path, key, name=args.name or os.path.basename(path),
                         media_type=args.media_type)
    return sign_files(_error, args.key, args.files, sign_one, _signed_line)


def _verify_one(path: str, trusted, revoked, threshold: int) -> bool:
    # Every line goes through say(): paths, key names and reasons come from inputs.
    try:
        artifact = read_artifact(path)  # regular files only: never blocks on a FIFO
    except SignatureError as exc:
        say(f"{path}: REJECTED: {str(exc).removeprefix(f'{path}: ')}")
        return False
    try:
        events = read_sig_file(sig_path_for(path))
    except SignatureError as exc:
        say(f"{path}: REJECTED: {exc}")
        return False
    result = verify_policy(artifact, events, trusted, revoked, threshold)
    if result.accepted:
        say(f"{path}: accepted, signed by {', '.join(result.signers)} "
            f"({len(result.signers)} of {threshold} required)")
    else:
        say(f"{path}: REJECTED, {len(result.signers)} of {threshold} required trusted "
            f"keys signed it" + ("" if events else f" (no events in {sig_path_for(path)})"))
    for item in result.reasons:
        who = item.get("name") or item.get("pubkey") or "(no valid pubkey)"
        say(f"  event {item['index']}: {who}: {item['reason']}")
    return result.accepted


def cmd_verify_sig(args: argparse.Namespace) -> int:
    try:
        trusted = load_key_list(args.trusted_keys)
        revoked = load_revoked_list(args.revoked_keys) if args.revoked_keys else []
    except SignatureError as exc:
        return _error("verify-sig", str(exc))
    results = [_verify_one(path, trusted, revoked, args.threshold) for path in args.files]
    return 0 if all(results) else 1


def register(subparsers) -> None:
    """Add keygen, sign and verify-sig to trailctl's subparsers."""
    keygen = subparsers.add_parser(
        "keygen", help="create a BIP340 secret key file (0600)",
        description="Write a new secret key (64 hex characters, mode 0600) and print "
                    "its public key. Never overwrites an existing file.")
    keygen.add_argument("-o", "--output", required=True, metavar="KEYFILE",
                        help="secret key file to create")
    keygen.set_defaults(func=cmd_keygen)

    sign = subparsers.add_parser(
        "sign", help="sign files into FILE.sig",
        description="Append a NIP-01 signature event by KEYFILE to FILE.sig for each FILE, "
                    "unless this key already has a valid event over the same content.")
    sign.add_argument("--key", required=True, metavar="KEYFILE",
                      help="secret key file (must be mode 0600, owned by you)")
    sign.add_argument("--name", help="name tag (default: each file's base name)")
    sign.add_argument("--media-type", default=None, help="m tag (default: "
                      "application/octet-stream)")
    sign.add_argument("files", nargs="+", metavar="FILE")
    sign.set_defaults(func=cmd_sign)

    verify = subparsers.add_parser(
        "verify-sig", help="check files against FILE.sig and a trust policy",
        description="Exit 0 when every FILE is signed by at least N distinct trusted, "
                    "unrevoked keys; 1 (with per-signer reasons) otherwise.")
    verify.add_argument("--trusted-keys", required=True, metavar="FILE",
                        help="YAML/JSON list of {name, pubkey}")
    verify.add_argument("--revoked-keys", metavar="FILE",
                        help="YAML/JSON list of revoked public keys")
    verify.add_argument("--threshold", type=positive_int, default=1, metavar="N",
                        help="distinct trusted keys required (default 1)")
    verify.add_argument("files", nargs="+", metavar="FILE")
    verify.set_defaults(func=cmd_verify_sig)


def main(argv: list[str] | None = None) -> int:
    safe_streams()
    parser = argparse.ArgumentParser(prog="trailctl", description="artifact signing")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
