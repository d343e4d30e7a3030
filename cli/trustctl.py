# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""trustctl: create, sign, inspect and verify trust-root and key-list documents; rotate pins.

Exit status: 0 ok / verified, 1 invalid input or not trusted, 2 usage error.
Every line is printed through ``say`` (fleet.text): key names, comments, paths
and reasons come from documents a root holder is about to sign, so control,
bidi and zero-width characters in them are shown escaped, never obeyed.
Secret keys are only read from key files (``read_private_file``: 0600, owned
by the caller) and never printed. Model and procedures: docs/trust_root.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta

from fleet.files import atomic_write
from fleet.trust_root import (
    KEY_LIST_TYPE,
    MEDIA_TYPE,
    ROOT_TYPE,
    SignatureError,
    TrustDocument,
    check_signatures,
    format_time,
    load_document,
    load_key_list,
    load_revoked_list,
    make_key_list,
    make_root,
    parse_time,
    read_signatures,
    read_state,
    sig_path_for,
    sign_file,
    verify_key_list,
    verify_rotation,
    write_pin,
    write_state,
)
from fleet_cli.cli_common import (
    add_version_argument,
    error,
    positive_int,
    safe_streams,
    say,
    sign_files,
)


class UsageError(Exception):
    """Bad combination of options: exit status 2."""


def _error(command: str, message: str, status: int = 1) -> int:
    return error("trustctl", command, message, status)


def _short(pubkey: str | None) -> str:
    return f"{pubkey[:8]}…{pubkey[-4:]}" if pubkey else "(no valid pubkey)"


# --------------------------------------------------------------------------
# Building documents

def _pair(text: str, option: str) -> dict:
    name, sep, pubkey = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"{option}: expected NAME=PUBKEY, got {text[:20]!r}")
    return {"name": name.strip(), "pubkey": pubkey.strip()}


def _keys(pairs: list[str] | None, files: list[str] | None, option: str) -> list[dict]:
    keys = [_pair(item, option) for item in pairs or []]
    for path in files or []:
        keys.extend(load_key_list(path))
    return keys


def _expires(args: argparse.Namespace) -> str:
    if args.expires:
        return format_time(parse_time(args.expires, "--expires"))
    return format_time(datetime.now(UTC).replace(microsecond=0)
                       + timedelta(days=args.expires_in))


def _write_new(path: str, doc: TrustDocument, force: bool) -> None:
    if os.path.lexists(path) and not force:
        raise FileExistsError(path)
    atomic_write(path, doc.raw, 0o644)


def _report_new(command: str, path: str, doc: TrustDocument) -> int:
    say(f"{path}: {doc.type} version {doc.version}, expires {doc.expires}, "
          f"threshold {doc.threshold} of {len(doc.keys)} keys")
    say(f"sha256: {doc.sha256}")
    if os.path.exists(sig_path_for(path)):
        say(f"note: {sig_path_for(path)} holds signatures over earlier content; "
              f"they no longer count")
    say(f"next: each signer runs `trustctl sign {path} --key KEYFILE`")
    return 0


def _build(command: str, args: argparse.Namespace, make) -> int:
    try:
        doc = make()
        _write_new(args.output, doc, args.force)
    except UsageError as exc:
        return _error(command, str(exc), 2)
    except SignatureError as exc:
        return _error(command, str(exc))
    except FileExistsError:
        return _error(command, f"{args.output} exists; use --force to replace it")
    except OSError as exc:
        return _error(command, f"{args.output}: {exc.strerror}")
    return _report_new(command, args.output, doc)


def cmd_init_root(args: argparse.Namespace) -> int:
    return _build("init-root", args, lambda: make_root(
        _keys(args.key, args.keys, "--key"), args.threshold, _expires(args), args.version))


def cmd_init_key_list(args: argparse.Namespace) -> int:
    def make() -> TrustDocument:
        revoked = list(args.revoked or [])
        for path in args.revoked_keys or []:
            revoked.extend(load_revoked_list(path))
        return make_key_list(_keys(args.trusted, args.trusted_keys, "--trusted"), revoked,
                             args.threshold, _expires(args), args.version)
    return _build("init-key-list", args, make)


# --------------------------------------------------------------------------
# Signing

def _sign_document(path: str, key):
    load_document(path)  # only well-formed, canonical documents get signed
    return sign_file(path, key, name=os.path.basename(path), media_type=MEDIA_TYPE)


def _signed_line(path: str, pubkey: str, plan) -> str:
    return f"{path}: signed by {pubkey}, {len(plan.after)} signature(s) now in {plan.sig_path}"


def cmd_sign(args: argparse.Namespace) -> int:
    return sign_files(_error, args.key, args.documents, _sign_document, _signed_line)


# --------------------------------------------------------------------------
# Inspecting and verifying

def _print_document(doc: TrustDocument, now: str | None) -> None:
    state = "EXPIRED" if doc.expired(now) else "not expired"
    say(f"{doc.source}: {doc.type} version {doc.version}, expires {doc.expires} ({state})")
    say(f"  sha256: {doc.sha256}")
    label = "root keys" if doc.type == ROOT_TYPE else "trusted keys"
    say(f"  threshold: {doc.threshold} of {len(doc.keys)} {label}")
    for entry in doc.keys:
        say(f"    {entry['name']}: {entry['pubkey']}")
    if doc.type == KEY_LIST_TYPE:
        revoked = doc.data["revoked_keys"]
        say(f"  revoked keys: {len(revoked)}")
        for pubkey in revoked:
            say(f"    {pubkey}")


def _print_signatures(doc: TrustDocument, events: list, keys: list[dict], threshold: int,
                      whose: str) -> bool:
    result = check_signatures(doc, events, keys, threshold)
    verdict = "enough" if result.accepted else "NOT enough"
    say(f"  signed by {len(result.signers)} of {len(keys)} {whose}, {threshold} required "
          f"({verdict}): {', '.join(result.signers) or 'none'}")
    for item in result.reasons:
        who = item.get("name") or _short(item.get("pubkey"))
        say(f"    event {item['index']}: {who}: {item['reason']}")
    return result.accepted


def cmd_inspect(args: argparse.Namespace) -> int:
    try:
        doc = load_document(args.document)
        events = read_signatures(doc)
        pin = load_document(args.pin, ROOT_TYPE) if args.pin else None
        now = format_time(parse_time(args.now, "--now")) if args.now else None
    except SignatureError as exc:
        return _error("inspect", str(exc))
    _print_document(doc, now)
    say(f"  signatures: {len(events)} in {sig_path_for(doc.source)}")
    if doc.type == ROOT_TYPE:
        _print_signatures(doc, events, doc.keys, doc.threshold, "own root keys")
    if pin is None:
        return 0
    _print_signatures(doc, events, pin.keys, pin.threshold, f"keys pinned in {pin.source}")
    try:
        if doc.type == KEY_LIST_TYPE:
            verify_key_list(pin, doc, events, None, now)
            say(f"  verdict: accepted under {pin.source} (version {pin.version})")
        else:
            rotation = verify_rotation(pin, [doc], [events], now)
            say(f"  verdict: {'a valid rotation of' if rotation.changed else 'identical to'} "
                  f"{pin.source} (version {pin.version})")
    except SignatureError as exc:
        say(f"  verdict: REJECTED: {exc}")
        return 1
    return 0


def cmd_verify_key_list(args: argparse.Namespace) -> int:
    try:
        now = format_time(parse_time(args.now, "--now")) if args.now else None
        pin = load_document(args.pin, ROOT_TYPE)
        key_list = load_document(args.key_list, KEY_LIST_TYPE)
        state = read_state(args.state) if args.state else None
        verdict = verify_key_list(pin, key_list, read_signatures(key_list), state, now)
    except SignatureError as exc:
        return _error("verify-key-list", str(exc))
    say(f"{key_list.source}: accepted, version {key_list.version} (expires "
          f"{key_list.expires}), signed by {', '.join(verdict.signers)} "
          f"({len(verdict.signers)} of {pin.threshold} required by {pin.source})")
    policy = verdict.policy
    say(f"  artifact policy: {policy['threshold']} of "
          f"{', '.join(k['name'] for k in policy['trusted_keys'])}; "
          f"{len(policy['revoked_keys'])} revoked")
    if args.state and args.record:
        if verdict.changed:
            try:
                write_state(args.state, verdict.record)
            except OSError as exc:
                return _error("verify-key-list", f"{args.state}: cannot write: {exc.strerror}")
            say(f"  recorded version {key_list.version} in {args.state}")
        else:
            say(f"  {args.state} already records version {key_list.version}; unchanged")
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    try:
        now = format_time(parse_time(args.now, "--now")) if args.now else None
        pin = load_document(args.pin, ROOT_TYPE)
        new_roots = [load_document(path, ROOT_TYPE) for path in args.new_roots]
        rotation = verify_rotation(pin, new_roots, [read_signatures(d) for d in new_roots], now)
    except SignatureError as exc:
        return _error("rotate", str(exc))
    for step in rotation.steps:
        say(f"{step.root.source}: version {step.root.version} verified: signed by "
              f"{', '.join(step.signed_by_current)} (current root) and "
              f"{', '.join(step.signed_by_new)} (its own keys)")
    if not rotation.changed:
        say(f"{args.pin}: already pins this root (version {pin.version}); unchanged")
        return 0
    final = rotation.final
    if args.check:
        say(f"{args.pin}: would move from version {pin.version} to {final.version} "
              f"(sha256 {final.sha256}); --check: nothing written")
        return 0
    try:
        write_pin(args.pin, final)
    except OSError as exc:
        return _error("rotate", f"{args.pin}: cannot write: {exc.strerror}")
    say(f"{args.pin}: now pins version {final.version} (sha256 {final.sha256})")
    return 0


# --------------------------------------------------------------------------
# Command line

def _add_expiry(parser: argparse.ArgumentParser, default_days: int) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--expires", metavar="TIME", help="expiry, RFC 3339 UTC "
                       "(2030-01-01T00:00:00Z)")
    group.add_argument("--expires-in", type=positive_int, default=default_days, metavar="DAYS",
                       help=f"expiry in DAYS from now (default {default_days})")


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", type=positive_int, default=1, metavar="N",
                        help="document version (default 1); each new document needs a "
                             "higher one")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="document to write (canonical JSON)")
    parser.add_argument("--force", action="store_true", help="replace an existing FILE")


def _add_now(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--now", metavar="TIME",
                        help="judge expiry at this RFC 3339 UTC time instead of now")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trustctl", description="Pinned trust root and signed key lists "
                                     "(docs/trust_root.md).")
    add_version_argument(parser)
    sub = parser.add_subparsers(dest="command", required=True)

    init_root = sub.add_parser("init-root", help="create a trust-root document",
                               description="Write a fleet-trust-root document.")
    init_root.add_argument("--key", action="append", metavar="NAME=PUBKEY",
                           help="a root key (hex or npub); repeat for each")
    init_root.add_argument("--keys", action="append", metavar="FILE",
                           help="YAML/JSON list of {name, pubkey} root keys")
    init_root.add_argument("--threshold", type=positive_int, required=True, metavar="K",
                           help="root keys that must sign key lists and rotations")
    _add_expiry(init_root, 365)
    _add_output(init_root)
    init_root.set_defaults(func=cmd_init_root)

    init_kl = sub.add_parser("init-key-list", help="create a key-list document",
                             description="Write a fleet-key-list document (the artifact "
                                         "signing policy).")
    init_kl.add_argument("--trusted", action="append", metavar="NAME=PUBKEY",
                         help="a trusted artifact-signing key; repeat for each")
    init_kl.add_argument("--trusted-keys", action="append", metavar="FILE",
                         help="YAML/JSON list of {name, pubkey}")
    init_kl.add_argument("--revoked", action="append", metavar="PUBKEY",
                         help="a revoked public key; repeat for each")
    init_kl.add_argument("--revoked-keys", action="append", metavar="FILE",
                         help="YAML/JSON list of revoked public keys")
    init_kl.add_argument("--threshold", type=positive_int, default=1, metavar="T",
                         help="trusted keys that must sign each artifact (default 1)")
    _add_expiry(init_kl, 90)
    _add_output(init_kl)
    init_kl.set_defaults(func=cmd_init_key_list)

    sign = sub.add_parser("sign", help="add your signature to DOC.sig",
                          description="Append a NIP-01 signature by KEYFILE over each DOC's "
                                      "exact bytes to DOC.sig (idempotent).")
    sign.add_argument("documents", nargs="+", metavar="DOC")
    sign.add_argument("--key", required=True, metavar="KEYFILE",
                      help="secret key file (mode 0600, owned by you)")
    sign.set_defaults(func=cmd_sign)

    inspect = sub.add_parser("inspect", help="show a document, its signers and verdict",
                             description="Show version, expiry, keys, who signed; with "
                                         "--pin, whether it verifies against that pin "
                                         "(exit 1 when it does not).")
    inspect.add_argument("document", metavar="DOC")
    inspect.add_argument("--pin", metavar="ROOT", help="pinned trust-root document")
    _add_now(inspect)
    inspect.set_defaults(func=cmd_inspect)

    verify = sub.add_parser("verify-key-list", help="verify a key list against a pin",
                            description="Exit 0 when KEYLIST is signed by the pinned root's "
                                        "threshold, not expired and (with --state) not "
                                        "older than the recorded version.")
    verify.add_argument("--pin", required=True, metavar="ROOT")
    verify.add_argument("key_list", metavar="KEYLIST")
    verify.add_argument("--state", metavar="FILE", help="accepted-version record to check")
    verify.add_argument("--record", action="store_true",
                        help="also write the accepted version to --state")
    _add_now(verify)
    verify.set_defaults(func=cmd_verify_key_list)

    rotate = sub.add_parser("rotate", help="replace a pin with a verified new root",
                            description="Verify each NEWROOT against the root before it "
                                        "(threshold of the current keys and of its own, "
                                        "higher version) and write the last one to ROOT "
                                        "atomically.")
    rotate.add_argument("--pin", required=True, metavar="ROOT")
    rotate.add_argument("new_roots", nargs="+", metavar="NEWROOT")
    rotate.add_argument("--check", action="store_true", help="verify only; write nothing")
    _add_now(rotate)
    rotate.set_defaults(func=cmd_rotate)
    return parser


def main(argv: list[str] | None = None) -> int:
    safe_streams()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        return _error(args.command, str(exc), 2)


if __name__ == "__main__":
    sys.exit(main())
