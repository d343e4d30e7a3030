# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A pinned trust root delegating to a signed key list (TUF-style), with rollback protection.

Two JSON documents, both stored in canonical form (see ``canonical_bytes``)
and signed with detached ``<doc>.sig`` files of NIP-01 events made by
``fleet_signing.sign_artifact`` over the document's exact bytes:

* ``fleet-trust-root``: root keys and a threshold. Each host pins one; it only
  changes through ``verify_rotation`` (signed by the pinned root's threshold
  and by the new root's own threshold, higher version) or an explicit operator
  install checked against an out-of-band fingerprint (``verify_bootstrap``).
* ``fleet-key-list``: the artifact-signing policy (trusted keys, revoked keys,
  threshold). Hosts accept it only when the pinned root's threshold signed it,
  it has not expired, and its version is not older than the one recorded in
  the host's state file (same version with other content is equivocation).

Contract and threat model: docs/trust_root.md. Every error is a ``TrustError``
(a ``SignatureError``) whose message starts with the document it is about.
The signing helpers used by trustctl are re-exported from here so that callers
catch the same ``SignatureError`` class this module raises.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .files import atomic_write
from .signing import (
    PolicyResult,
    SignatureError,
    load_key_list,
    load_revoked_list,
    normalise_key_list,
    parse_public_key,
    parse_secret_key,
    plan_signature,
    public_key_hex,
    read_sig_file,
    sig_path_for,
    sign_file,
    verify_policy,
    write_sig_file,
)
from .strict_load import KINDS, DocumentError, excerpt, load_json, read_document

ROOT_TYPE = "fleet-trust-root"
KEY_LIST_TYPE = "fleet-key-list"
STATE_TYPE = "fleet-key-list-state"
__all__ = [
    "DEFAULT_PIN", "DEFAULT_STATE", "KEY_LIST_TYPE", "MEDIA_TYPE", "ROOT_TYPE", "STATE_TYPE",
    "KeyListVerdict", "Rotation", "SignatureError", "TrustDocument", "TrustError",
    "canonical_bytes", "check_signatures", "describe", "dump_state", "format_time", "load_document",
    "load_key_list", "load_revoked_list",
    "make_key_list", "make_root", "parse_document", "parse_secret_key", "parse_time",
    "plan_signature", "public_key_hex", "read_sig_file", "read_signatures", "read_state",
    "sig_path_for", "sign_file", "verify_bootstrap", "verify_key_list", "verify_rotation",
    "write_pin", "write_sig_file", "write_state",
]
MEDIA_TYPE = "application/json"
DEFAULT_PIN = "/etc/golden-state/trust-root.json"
DEFAULT_STATE = "/var/lib/golden-state/trust/accepted-key-list.json"
MAX_DOCUMENT_SIZE = KINDS["trust"].limit  # a key list is a few KiB; refuse giants unread

_FIELDS = {
    ROOT_TYPE: ("expires", "root_keys", "threshold", "type", "version"),
    KEY_LIST_TYPE: ("expires", "revoked_keys", "threshold", "trusted_keys", "type", "version"),
}
_RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class TrustError(SignatureError):
    """A trust document, signature file or state record is invalid or not trusted."""


# --------------------------------------------------------------------------
# Canonical form and time

def canonical_bytes(doc: dict) -> bytes:
    """The one byte form of a document: UTF-8 JSON, keys sorted, no whitespace, no final newline.

    ``json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``.
    Documents hold only objects, arrays, strings and integers, so the form is
    unambiguous; signatures cover exactly these bytes.
    """
    try:
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise TrustError(f"document cannot be serialized: {type(exc).__name__}") from None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_time(value: Any, what: str) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SSZ`` (RFC 3339, UTC, whole seconds) into an aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not _RFC3339_UTC.fullmatch(value):
        raise TrustError(f"{what}: expected an RFC 3339 UTC time like 2030-01-01T00:00:00Z")
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise TrustError(f"{what}: not a valid date/time") from None


def format_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now(now: Any) -> datetime:
    return datetime.now(UTC) if now is None else parse_time(now, "now")


# --------------------------------------------------------------------------
# Documents

@dataclass
class TrustDocument:
    """A validated trust document: its fields, exact bytes and where it came from."""

    source: str
    data: dict
    raw: bytes

    @property
    def type(self) -> str:
        return self.data["type"]

    @property
    def version(self) -> int:
        return self.data["version"]

    @property
    def expires(self) -> str:
        return self.data["expires"]

    @property
    def threshold(self) -> int:
        return self.data["threshold"]

    @property
    def sha256(self) -> str:
        return sha256_hex(self.raw)

    @property
    def keys(self) -> list[dict]:
        """The keys that sign under this document (root keys, or trusted artifact keys)."""
        return self.data["root_keys" if self.type == ROOT_TYPE else "trusted_keys"]

    def expired(self, now: Any = None) -> bool:
        return _now(now) >= parse_time(self.expires, f"{self.source}: expires")


def _load_json(raw: bytes, source: str, kind: str = "trust") -> Any:
    """Strict JSON (fleet.strict_load): the kind's size cap, UTF-8, no repeated field,
    no float, NaN or huge integer, bounded nesting."""
    try:
        return load_json(raw, source, kind, floats=False)
    except DocumentError as exc:
        raise TrustError(str(exc)) from None


def _read(path: str, kind: str, source: str) -> bytes:
    try:
        return read_document(path, kind, source)
    except DocumentError as exc:
        if exc.errno == errno.ENOENT and kind == "trust_state":
            raise FileNotFoundError(exc.errno, str(exc), path) from None
        raise TrustError(str(exc)) from None


def _check_int(value: Any, what: str, minimum: int = 1) -> int:
    # Exactly int: true/false (bool subclasses int) is not a version or a threshold.
    if type(value) is not int or value < minimum:  # pylint: disable=unidiomatic-typecheck
        raise TrustError(f"{what}: expected an integer >= {minimum}")
    if value >= 2**53:  # stays exact in every JSON implementation
        raise TrustError(f"{what}: larger than 2^53")
    return value


def _check_keys(entries: Any, what: str) -> list[dict]:
    if not isinstance(entries, list) or not entries:
        raise TrustError(f"{what}: expected a non-empty list of {{name, pubkey}}")
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and set(entry) != {"name", "pubkey"}:
            raise TrustError(f"{what}[{index}]: expected exactly the fields name and pubkey")
        if isinstance(entry, dict) and not (isinstance(entry["pubkey"], str)
                                            and _HEX64.fullmatch(entry["pubkey"])):
            raise TrustError(f"{what}[{index}].pubkey: expected 64 lowercase hex characters")
    keys = normalise_key_list(entries, what)
    names = [entry["name"] for entry in keys]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise TrustError(f"{what}[{index}].name: {name!r} is used twice")
    return keys


def _check_revoked(entries: Any, what: str) -> list[str]:
    if not isinstance(entries, list):
        raise TrustError(f"{what}: expected a list of public keys (64 lowercase hex)")
    for index, entry in enumerate(entries):
        if not isinstance(entry, str) or not _HEX64.fullmatch(entry):
            raise TrustError(f"{what}[{index}]: expected 64 lowercase hex characters")
        parse_public_key(entry, f"{what}[{index}]")
        if entry in entries[:index]:
            raise TrustError(f"{what}[{index}]: listed twice")
    return entries


def validate_document(data: Any, source: str, expected_type: str | None = None) -> dict:
    """Check a parsed document's type and fields; return it unchanged or raise TrustError."""
    try:
        return _validate(data, source, expected_type)
    except TrustError:
        raise
    except SignatureError as exc:  # key parsing errors from fleet_signing
        raise TrustError(str(exc)) from None


def _validate(data: Any, source: str, expected_type: str | None) -> dict:
    if not isinstance(data, dict):
        raise TrustError(f"{source}: expected a JSON object")
    doc_type = data.get("type")
    if doc_type not in _FIELDS:
        raise TrustError(f"{source}: type must be {ROOT_TYPE!r} or {KEY_LIST_TYPE!r}")
    if expected_type is not None and doc_type != expected_type:
        raise TrustError(f"{source}: is a {doc_type} document, expected {expected_type}")
    fields = set(data)
    wanted = set(_FIELDS[doc_type])
    if fields != wanted:
        extra, missing = sorted(fields - wanted), sorted(wanted - fields)
        detail = "; ".join(part for part in (
            f"unknown field(s) {', '.join(extra)}" if extra else "",
            f"missing field(s) {', '.join(missing)}" if missing else "") if part)
        raise TrustError(f"{source}: {detail}")
    _check_int(data["version"], f"{source}: version")
    parse_time(data["expires"], f"{source}: expires")
    threshold = _check_int(data["threshold"], f"{source}: threshold")
    if doc_type == ROOT_TYPE:
        keys = _check_keys(data["root_keys"], f"{source}: root_keys")
    else:
        keys = _check_keys(data["trusted_keys"], f"{source}: trusted_keys")
        revoked = _check_revoked(data["revoked_keys"], f"{source}: revoked_keys")
        both = [entry["name"] for entry in keys if entry["pubkey"] in revoked]
        if both:
            raise TrustError(f"{source}: key(s) {', '.join(both)} are both trusted and revoked")
    if threshold > len(keys):
        raise TrustError(
            f"{source}: threshold {threshold} is more than the {len(keys)} keys listed")
    return data


def parse_document(raw: bytes, source: str, expected_type: str | None = None) -> TrustDocument:
    """Parse and validate document bytes, which must be in canonical form."""
    data = validate_document(_load_json(raw, source), source, expected_type)
    if canonical_bytes(data) != raw:
        raise TrustError(f"{source}: not in canonical form (keys sorted, no whitespace, no "
                         f"final newline); regenerate it with trustctl")
    return TrustDocument(source, data, raw)


def load_document(path: str, expected_type: str | None = None,
                  source: str | None = None) -> TrustDocument:
    """Read and validate a trust document file."""
    source = source or path
    return parse_document(_read(path, "trust", source), source, expected_type)


def make_root(root_keys: list, threshold: int, expires: Any, version: int = 1) -> TrustDocument:
    """A new trust-root document (keys normalised to lowercase hex)."""
    data = {"type": ROOT_TYPE, "version": version, "expires": _expires_text(expires),
            "root_keys": normalise_key_list(list(root_keys), "root_keys"),
            "threshold": threshold}
    validate_document(data, "new trust root")
    return TrustDocument("new trust root", data, canonical_bytes(data))


def make_key_list(trusted_keys: list, revoked_keys: list, threshold: int, expires: Any,
                  version: int = 1) -> TrustDocument:
    """A new key-list document (keys normalised to lowercase hex)."""
    revoked = []
    for index, entry in enumerate(revoked_keys):
        value = entry.get("pubkey") if isinstance(entry, dict) else entry
        revoked.append(parse_public_key(value, f"revoked_keys[{index}]"))
    data = {"type": KEY_LIST_TYPE, "version": version, "expires": _expires_text(expires),
            "trusted_keys": normalise_key_list(list(trusted_keys), "trusted_keys"),
            "revoked_keys": revoked, "threshold": threshold}
    validate_document(data, "new key list")
    return TrustDocument("new key list", data, canonical_bytes(data))


def _expires_text(expires: Any) -> str:
    if isinstance(expires, datetime):
        return format_time(expires)
    parse_time(expires, "expires")
    return expires


# --------------------------------------------------------------------------
# Signatures

def read_signatures(doc: TrustDocument, sig_path: str | None = None) -> list[dict]:
    """The events of ``<doc>.sig`` (none when the file is missing)."""
    return read_sig_file(sig_path or sig_path_for(doc.source))


def check_signatures(doc: TrustDocument, events: list, keys: list[dict],
                     threshold: int) -> PolicyResult:
    """Which of ``keys`` signed the document's exact bytes (fleet_signing's policy)."""
    return verify_policy(doc.raw, events, keys, [], threshold)


def _signer_detail(result: PolicyResult) -> str:
    who = f" (signed by {', '.join(result.signers)})" if result.signers else ""
    rejected = result.summary()
    return who + (f"; {rejected}" if rejected else "")


def _require(doc: TrustDocument, result: PolicyResult, whose: str) -> None:
    if not result.accepted:
        raise TrustError(
            f"{doc.source}: signed by {len(result.signers)} of the {whose}, "
            f"{result.threshold} required{_signer_detail(result)}")


# --------------------------------------------------------------------------
# Key list verification and the host's state record

@dataclass
class KeyListVerdict:
    """An accepted key list, and the state record the host should keep."""

    key_list: TrustDocument
    signers: list[str]
    record: dict
    previous: dict | None

    @property
    def changed(self) -> bool:
        """Whether the recorded version moves (a first record counts as a move)."""
        return self.previous is None or self.previous.get("version") != self.record["version"]

    @property
    def policy(self) -> dict:
        """What artifact checks use: only keys that passed."""
        data = self.key_list.data
        return {"trusted_keys": [dict(k) for k in data["trusted_keys"]],
                "revoked_keys": list(data["revoked_keys"]), "threshold": data["threshold"]}


def read_state(path: str) -> dict | None:
    """The accepted-version record, or None when the host has none yet."""
    try:
        raw = _read(path, "trust_state", path)
    except FileNotFoundError:
        return None
    data = _load_json(raw, path, "trust_state")
    if (not isinstance(data, dict) or data.get("type") != STATE_TYPE
            or not _valid_version(data.get("version"))
            or not (isinstance(data.get("sha256"), str) and _HEX64.fullmatch(data["sha256"]))):
        # Never reset silently: forgetting the version would allow a rollback.
        raise TrustError(f"{path}: not a valid {STATE_TYPE} record (type, version: an "
                         f"integer >= 1, sha256); inspect it, then fix or remove it "
                         f"deliberately")
    return data


def _valid_version(value: Any) -> bool:
    # Exactly int (not bool), >= 1 like every document's version, exact in JSON:
    # a negative or zero version would let any key list pass the rollback check.
    return (type(value) is int  # pylint: disable=unidiomatic-typecheck
            and 1 <= value < 2**53)


def state_record(doc: TrustDocument, now: Any = None) -> dict:
    return {"type": STATE_TYPE, "version": doc.version, "sha256": doc.sha256,
            "expires": doc.expires, "accepted_at": format_time(_now(now))}


def dump_state(record: dict) -> bytes:
    return (json.dumps(record, sort_keys=True, indent=2) + "\n").encode("utf-8")


def write_state(path: str, record: dict) -> None:
    """Atomically write the state record (0644; its directory 0755 when created)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    atomic_write(path, dump_state(record), 0o644)


def check_pin(pin: TrustDocument, now: Any = None) -> None:
    if pin.expired(now):
        raise TrustError(f"{pin.source}: pinned trust root expired at {pin.expires}; "
                         f"rotate to a new root (trustctl rotate, playbooks/pin_trust_root.yml)")


def verify_key_list(pin: TrustDocument, key_list: TrustDocument, events: list,
                    state: dict | None = None, now: Any = None) -> KeyListVerdict:
    """Accept ``key_list`` under the pinned root, or raise TrustError naming the reason.

    Checks, in order: the pin has not expired; the pinned root's threshold of
    root keys signed the key list's exact bytes; it has not expired; its
    version is not older than ``state`` and, at the same version, its content
    is the same (else equivocation).
    """
    if pin.type != ROOT_TYPE:
        raise TrustError(f"{pin.source}: is a {pin.type} document, not a trust root")
    if key_list.type != KEY_LIST_TYPE:
        raise TrustError(f"{key_list.source}: is a {key_list.type} document, not a key list")
    check_pin(pin, now)
    result = check_signatures(key_list, events, pin.keys, pin.threshold)
    _require(key_list, result, f"{len(pin.keys)} pinned root keys")
    if key_list.expired(now):
        raise TrustError(f"{key_list.source}: expired at {key_list.expires}; sign a new "
                         f"version with a later expiry")
    if state is not None:
        accepted = state.get("version") if isinstance(state, dict) else None
        if not _valid_version(accepted) or not isinstance(state.get("sha256"), str):
            raise TrustError(f"the accepted-version record is damaged (version "
                             f"{excerpt(accepted)}: expected an integer >= 1, and a sha256); "
                             f"inspect it, then fix or remove it deliberately")
        if key_list.version < accepted:
            raise TrustError(f"{key_list.source}: version {key_list.version} is older than "
                             f"version {accepted} already accepted on this host (rollback refused)")
        if key_list.version == accepted and key_list.sha256 != state["sha256"]:
            raise TrustError(f"{key_list.source}: version {accepted} was already accepted with "
                             f"different content (sha256 {state['sha256'][:16]}…, now "
                             f"{key_list.sha256[:16]}…); a changed key list needs a higher version")
    record = state_record(key_list, now)
    if state is not None and state["version"] == key_list.version:
        record["accepted_at"] = state.get("accepted_at", record["accepted_at"])
    return KeyListVerdict(key_list, result.signers, record, state)


# --------------------------------------------------------------------------
# Pinning: bootstrap and rotation

@dataclass
class RotationStep:
    root: TrustDocument
    signed_by_current: list[str]
    signed_by_new: list[str]


@dataclass
class Rotation:
    """The verified chain from the pinned root to the last new root."""

    pin: TrustDocument
    steps: list[RotationStep] = field(default_factory=list)

    @property
    def final(self) -> TrustDocument:
        return self.steps[-1].root if self.steps else self.pin

    @property
    def changed(self) -> bool:
        return self.final.raw != self.pin.raw


def verify_rotation(pin: TrustDocument, new_roots: list[TrustDocument], signatures: list[list],
                    now: Any = None) -> Rotation:
    """Verify each new root in turn against the root before it; raise TrustError otherwise.

    A new root needs a higher version, no expiry in the past, the threshold of
    the CURRENT root's keys and also its own threshold of its own keys (so a
    mistyped new key cannot lock every host out). A document identical to the
    current root is skipped. An expired pin may still rotate: that is the way out.
    """
    if pin.type != ROOT_TYPE:
        raise TrustError(f"{pin.source}: is a {pin.type} document, not a trust root")
    rotation = Rotation(pin)
    current = pin
    for new, events in zip(new_roots, signatures, strict=True):
        if new.type != ROOT_TYPE:
            raise TrustError(f"{new.source}: is a {new.type} document, not a trust root")
        if new.raw == current.raw:
            continue
        if new.version <= current.version:
            raise TrustError(f"{new.source}: version {new.version} is not higher than the "
                             f"current root's version {current.version} (rollback refused)")
        if new.expired(now):
            raise TrustError(f"{new.source}: expired at {new.expires}")
        old = check_signatures(new, events, current.keys, current.threshold)
        _require(new, old, f"{len(current.keys)} currently pinned root keys")
        own = check_signatures(new, events, new.keys, new.threshold)
        _require(new, own, f"{len(new.keys)} root keys it lists itself")
        rotation.steps.append(RotationStep(new, old.signers, own.signers))
        current = new
    return rotation


def verify_bootstrap(root: TrustDocument, events: list, fingerprint: str,
                     now: Any = None) -> PolicyResult:
    """Check a root document an operator pins by hand: out-of-band sha256, self-signed, fresh."""
    if root.type != ROOT_TYPE:
        raise TrustError(f"{root.source}: is a {root.type} document, not a trust root")
    expected = fingerprint.strip().lower() if isinstance(fingerprint, str) else ""
    if not _HEX64.fullmatch(expected):
        raise TrustError("fingerprint: expected the root document's sha256 (64 hex characters)")
    if root.sha256 != expected:
        raise TrustError(f"{root.source}: sha256 is {root.sha256}, not the expected "
                         f"fingerprint {expected}; do not pin it")
    if root.expired(now):
        raise TrustError(f"{root.source}: expired at {root.expires}")
    result = check_signatures(root, events, root.keys, root.threshold)
    _require(root, result, f"{len(root.keys)} root keys it lists itself")
    return result


def write_pin(path: str, doc: TrustDocument) -> None:
    """Atomically replace the pinned root (root-owned when run as root, 0644, dir 0755)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    owner = 0 if os.geteuid() == 0 else None
    atomic_write(path, doc.raw, 0o644, owner, owner)


def describe(doc: TrustDocument) -> dict:
    """Public summary of a document (for CLI output and module results)."""
    data = doc.data
    summary = {"path": doc.source, "type": doc.type, "version": doc.version,
               "expires": doc.expires, "sha256": doc.sha256, "threshold": doc.threshold,
               "keys": [dict(k) for k in doc.keys]}
    if doc.type == KEY_LIST_TYPE:
        summary["revoked_keys"] = list(data["revoked_keys"])
    return summary


# ------------------------------------------------------------ trust decision

def trust_decision(root: Any, trusted_keys: Any = None, revoked_keys: Any = None,
                   threshold: Any = 1) -> dict:
    """The one trust decision every signature check consumes.

    ``root`` is the result of verifying the signed key list against the pinned
    root (the ``trust_root`` module's return), or None/a skipped result when no
    root is pinned. With a verified root, only its key list counts and the
    repository's own keys are listed in ``ignored_keys``; without one, the
    repository's keys (``trusted_keys``, ``revoked_keys``, ``threshold``) do.
    Raises ValueError naming the field when the repository's policy is malformed.
    """
    listed = _listed_keys(trusted_keys)
    if isinstance(root, dict) and not root.get("skipped") and "trusted_keys" in root:
        return {"source": "trust_root", "key_list_version": root.get("version"),
                "trusted_keys": [dict(k) for k in root["trusted_keys"]],
                "revoked_keys": list(root.get("revoked_keys") or []),
                "threshold": _check_int(_plain_int(root.get("threshold")),
                                        "trust root key list threshold"),
                "ignored_keys": [k["name"] for k in listed]}
    if revoked_keys is not None and not isinstance(revoked_keys, list):
        raise ValueError("fleet_revoked_keys: must be a list of public keys")
    return {"source": "inventory", "key_list_version": None,
            "trusted_keys": listed, "revoked_keys": list(revoked_keys or []),
            "threshold": _check_int(_plain_int(threshold), "fleet_signature_threshold"),
            "ignored_keys": []}


def _plain_int(value: Any) -> Any:
    """An int subclass (Ansible tags values) or a digit string as a plain int; else as given."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _listed_keys(keys: Any) -> list[dict]:
    if keys is None:
        return []
    if not isinstance(keys, list) or not all(
            isinstance(k, dict) and isinstance(k.get("name"), str) for k in keys):
        raise ValueError("fleet_trusted_keys: must be a list of {name, pubkey}")
    return [dict(k) for k in keys]
