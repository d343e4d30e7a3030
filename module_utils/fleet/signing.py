# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""BIP340 keys, NIP-01 signature envelopes, detached .sig files and the trust policy.

Pure Python plus coincurve (libsecp256k1) for every elliptic-curve operation;
pyyaml only when a key list is read from YAML. Contract: docs/signing.md and
the shared signing spec.

Secret keys travel as ``SecretKey`` (a ``bytes`` subclass whose repr/str hide
the value); no exception raised here ever carries key material.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .files import atomic_write, read_private_file, read_regular
from .strict_load import DocumentError, load_file, load_json, read_document

try:
    import coincurve
except ImportError as _exc:  # reported on first use, not at import time
    coincurve = None
    COINCURVE_IMPORT_ERROR: str | None = str(_exc)
else:
    COINCURVE_IMPORT_ERROR = None

EVENT_KIND = 1063  # NIP-94 file metadata
DEFAULT_MEDIA_TYPE = "application/octet-stream"
REASONS = ("ok", "bad-id", "bad-signature", "unknown-key", "revoked-key",
           "digest-mismatch", "malformed", "duplicate")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")
_ANY_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# NIP-01 escapes only \n \" \\ \r \t \b \f; other C0 controls have no agreed
# encoding, and lone surrogates cannot be UTF-8 encoded, so a signer refuses both.
_FORBIDDEN_CHARS = re.compile("[\x00-\x07\x0b\x0e-\x1f\ud800-\udfff]")
_GROUP_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class SignatureError(ValueError):
    """Bad signature file or key input; the message names the file/field, never a secret."""


def _require_coincurve() -> None:
    if coincurve is None:
        raise SignatureError(
            f"the coincurve library is required for signing and verification "
            f"(pip install 'coincurve>=21,<22'): {COINCURVE_IMPORT_ERROR}"
        )


# --------------------------------------------------------------------------
# bech32 (BIP173) for nsec1/npub1 strings (NIP-19)

_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bech32_polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= _BECH32_GEN[i] if ((top >> i) & 1) else 0
    return chk


def _bech32_hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convertbits(data: list[int] | bytes, frombits: int, tobits: int, pad: bool) -> list[int]:
    acc = bits = 0
    out = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            raise ValueError("bech32: value out of range")
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        raise ValueError("bech32: invalid padding")
    return out


def bech32_encode(hrp: str, data: bytes) -> str:
    """Encode bytes as a BIP173 bech32 string (``npub1...``, ``nsec1...``)."""
    words = _convertbits(data, 8, 5, True)
    values = _bech32_hrp_expand(hrp) + words
    polymod = _bech32_polymod([*values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32_CHARSET[d] for d in words + checksum)


def bech32_decode(text: str) -> tuple[str, bytes]:
    """Decode a BIP173 bech32 string into (hrp, bytes); ValueError when invalid.

    The error messages never repeat the input (it may be a secret key).
    """
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("bech32: not an ASCII string")
    if text.lower() != text and text.upper() != text:
        raise ValueError("bech32: mixed case")
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise ValueError("bech32: invalid character")
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text) or len(text) > 90:
        raise ValueError("bech32: bad separator position or length")
    hrp, rest = text[:pos], text[pos + 1:]
    if any(c not in _BECH32_CHARSET for c in rest):
        raise ValueError("bech32: invalid data character")
    values = [_BECH32_CHARSET.find(c) for c in rest]
    if _bech32_polymod(_bech32_hrp_expand(hrp) + values) != 1:
        raise ValueError("bech32: checksum mismatch")
    return hrp, bytes(_convertbits(values[:-6], 5, 8, False))


# --------------------------------------------------------------------------
# Keys

class SecretKey(bytes):
    """A 32-byte secp256k1 secret whose repr and str never show the value."""

    def __repr__(self) -> str:
        return "SecretKey(<redacted>)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def secret_hex(self) -> str:
        """The secret as 64 lowercase hex characters (for writing the key file only)."""
        return bytes(self).hex()

    def nsec(self) -> str:
        return bech32_encode("nsec", bytes(self))

    def _coincurve_key(self):
        # Built once per key: each PrivateKey() derives the public key again.
        private = self.__dict__.get("_private")
        if private is None:
            private = self.__dict__["_private"] = coincurve.PrivateKey(bytes(self))
        return private


def _to_secret(raw: bytes, what: str) -> SecretKey:
    if len(raw) != 32 or not 0 < int.from_bytes(raw, "big") < _GROUP_ORDER:
        raise SignatureError(f"{what}: not a valid secp256k1 secret key (must be 1..n-1)")
    return SecretKey(raw)


def generate_secret_key() -> SecretKey:
    """A fresh secret from the OS random source, rejection-sampled by coincurve."""
    _require_coincurve()
    return SecretKey(coincurve.PrivateKey().secret)


def _stripped(text: Any, what: str) -> str:
    if not isinstance(text, str):
        raise SignatureError(f"{what}: expected a string, got {type(text).__name__}")
    return text.strip()


def _bech32_payload(text: str, hrp: str, what: str) -> bytes:
    """The data of a NIP-19 string that must have prefix ``hrp`` (nsec, npub)."""
    try:
        found, raw = bech32_decode(text)
    except ValueError as exc:
        raise SignatureError(f"{what}: invalid {hrp} string ({exc})") from None
    if found != hrp:
        raise SignatureError(f"{what}: invalid {hrp} string")
    return raw


def parse_secret_key(text: str | bytes, what: str = "secret key") -> SecretKey:
    """Parse 64 hex characters or an ``nsec1`` string (surrounding whitespace ignored)."""
    if isinstance(text, SecretKey):
        return text
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("ascii")
        except UnicodeDecodeError:
            raise SignatureError(f"{what}: not ASCII text") from None
    text = _stripped(text, what)
    if text[:5].lower() == "nsec1":
        return _to_secret(_bech32_payload(text, "nsec", what), what)
    if _ANY_HEX64.fullmatch(text):
        return _to_secret(bytes.fromhex(text), what)
    if text[:5].lower() == "npub1":
        raise SignatureError(f"{what}: this is a public key (npub), not a secret key")
    raise SignatureError(f"{what}: expected 64 hex characters or an nsec1 string")


def read_secret_key_file(path: str) -> SecretKey:
    """The secret key in a private key file (``read_private_file``: 0600, owned by the caller).

    Every failure is a ``SignatureError`` naming the file, never its content.
    """
    try:
        raw = read_private_file(path)
    except PermissionError as exc:
        raise SignatureError(str(exc)) from None
    except OSError as exc:
        raise SignatureError(f"{path}: cannot read key file: {exc.strerror}") from None
    return parse_secret_key(raw, f"key file {path}")


def _coerce_secret(secret: Any) -> SecretKey:
    if isinstance(secret, SecretKey):
        return secret
    if isinstance(secret, (bytes, bytearray, memoryview)) and len(secret) == 32:
        return _to_secret(bytes(secret), "secret key")
    return parse_secret_key(secret)


@lru_cache(maxsize=64)
def _xonly(pub: bytes):
    """A parsed x-only public key (cached: parsing costs as much as half a verify)."""
    return coincurve.PublicKeyXOnly(pub)


def public_key_hex(secret: Any) -> str:
    """The x-only public key (64 lowercase hex) of a secret key."""
    _require_coincurve()
    return _coerce_secret(secret)._coincurve_key().public_key_xonly.format().hex()


def parse_public_key(text: Any, what: str = "public key") -> str:
    """Parse 64 hex characters (any case) or ``npub1``; return 64 lowercase hex.

    The key must be a valid x-only secp256k1 point. Messages name ``what`` and
    never repeat the value (a secret pasted by mistake looks just like it).
    """
    text = _stripped(text, what)
    if text[:5].lower() == "npub1":
        raw = _bech32_payload(text, "npub", what)
        if len(raw) != 32:
            raise SignatureError(f"{what}: invalid npub string")
    elif text[:5].lower() == "nsec1":
        raise SignatureError(f"{what}: this is a secret key (nsec); give the public key instead")
    elif _ANY_HEX64.fullmatch(text):
        raw = bytes.fromhex(text)
    else:
        raise SignatureError(f"{what}: expected 64 hex characters or an npub1 string")
    _require_coincurve()
    try:
        _xonly(raw)
    except (ValueError, TypeError):
        raise SignatureError(f"{what}: not a valid secp256k1 x-only public key") from None
    return raw.hex()


def npub(pubkey_hex: str) -> str:
    """The NIP-19 ``npub1`` form of a hex public key."""
    return bech32_encode("npub", bytes.fromhex(parse_public_key(pubkey_hex)))


# --------------------------------------------------------------------------
# BIP340 through coincurve

def _as_bytes(value: Any) -> bytes | None:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)  # the same object when it is already exactly bytes
    return None


def schnorr_sign(secret: Any, message: bytes, aux_rand: bytes | None = None) -> bytes:
    """BIP340-sign a 32-byte message; ``aux_rand`` defaults to 32 fresh OS random bytes."""
    _require_coincurve()
    key = _coerce_secret(secret)
    msg = _as_bytes(message)
    if msg is None or len(msg) != 32:
        raise SignatureError("message: BIP340 signing here takes a 32-byte digest")
    aux = os.urandom(32) if aux_rand is None else _as_bytes(aux_rand)
    if aux is None or len(aux) != 32:
        raise SignatureError("aux_rand: must be 32 bytes")
    try:
        return key._coincurve_key().sign_schnorr(msg, aux)
    except (ValueError, TypeError):
        raise SignatureError("BIP340 signing failed") from None


def schnorr_verify(pubkey: Any, message: Any, signature: Any) -> bool:
    """BIP340-verify; any malformed input (type, length, off-curve key) is False."""
    if coincurve is None:
        _require_coincurve()
    pub, msg, sig = _as_bytes(pubkey), _as_bytes(message), _as_bytes(signature)
    if pub is None or msg is None or sig is None or len(pub) != 32 or len(sig) != 64:
        return False
    try:
        return bool(_xonly(pub).verify(sig, msg))
    except (ValueError, TypeError):
        return False


# --------------------------------------------------------------------------
# NIP-01 events

def _check_text(value: str, what: str) -> None:
    bad = _FORBIDDEN_CHARS.search(value)
    if bad:
        char = bad.group()
        kind = "lone surrogate" if 0xD800 <= ord(char) <= 0xDFFF else "control character"
        raise SignatureError(
            f"{what}: {kind} U+{ord(char):04X} at offset {bad.start()} is not allowed "
            f"(NIP-01 only defines \\n \\\" \\\\ \\r \\t \\b \\f)"
        )


def _is_int(value: Any) -> bool:
    # Exactly int: a bool (or any other int subclass) is not an event field's integer.
    return type(value) is int  # pylint: disable=unidiomatic-typecheck


def _shape_error(event: Any) -> str | None:
    """Why ``event`` is not a well-formed NIP-01 event (None when it is)."""
    if not isinstance(event, dict):
        return f"event is a {type(event).__name__}, not an object"
    for key in ("id", "pubkey"):
        if not isinstance(event.get(key), str) or not _HEX64.fullmatch(event[key]):
            return f"{key} is not 64 lowercase hex characters"
    if not isinstance(event.get("sig"), str) or not _HEX128.fullmatch(event["sig"]):
        return "sig is not 128 lowercase hex characters"
    for key in ("created_at", "kind"):
        if not _is_int(event.get(key)) or not 0 <= event[key] < 2**63:
            return f"{key} is not a non-negative integer"
    tags = event.get("tags")
    if not isinstance(tags, list) or not all(
        isinstance(tag, list) and all(isinstance(item, str) for item in tag) for tag in tags
    ):
        return "tags is not a list of lists of strings"
    if not isinstance(event.get("content"), str):
        return "content is not a string"
    return None


def serialize_event(event: dict) -> bytes:
    """The NIP-01 id preimage: ``[0,pubkey,created_at,kind,tags,content]`` as compact UTF-8 JSON."""
    array = [0, event["pubkey"], event["created_at"], event["kind"], event["tags"],
             event["content"]]
    try:
        return json.dumps(array, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError) as exc:
        raise SignatureError(f"event: cannot be serialized ({type(exc).__name__})") from None


def event_id(event: dict) -> str:
    """The NIP-01 id (sha256 hex of the serialization) computed from the event's fields."""
    if not isinstance(event, dict):
        raise SignatureError("event: not an object")
    missing = [k for k in ("pubkey", "created_at", "kind", "tags", "content") if k not in event]
    if missing:
        raise SignatureError(f"event: missing field(s) {', '.join(missing)}")
    return hashlib.sha256(serialize_event(event)).hexdigest()


def sign_event(secret: Any, *, created_at: int, kind: int, tags: list[list[str]],
               content: str = "", aux_rand: bytes | None = None) -> dict:
    """Build and sign a NIP-01 event; refuses content/tags NIP-01 cannot encode unambiguously."""
    key = _coerce_secret(secret)
    if not _is_int(created_at) or created_at < 0:
        raise SignatureError("created_at: must be a non-negative integer")
    if not _is_int(kind) or kind < 0:
        raise SignatureError("kind: must be a non-negative integer")
    if not isinstance(content, str):
        raise SignatureError("content: must be a string")
    _check_text(content, "content")
    if not isinstance(tags, list):
        raise SignatureError("tags: must be a list of lists of strings")
    for i, tag in enumerate(tags):
        if not isinstance(tag, list):
            raise SignatureError(f"tags[{i}]: must be a list of strings")
        for j, item in enumerate(tag):
            if not isinstance(item, str):
                raise SignatureError(f"tags[{i}][{j}]: must be a string")
            _check_text(item, f"tags[{i}][{j}]")
    event = {"pubkey": public_key_hex(key), "created_at": created_at, "kind": kind,
             "tags": [list(tag) for tag in tags], "content": content}
    digest = hashlib.sha256(serialize_event(event)).digest()
    sig = schnorr_sign(key, digest, aux_rand)
    return {"id": digest.hex(), **event, "sig": sig.hex()}


def verify_event(event: Any) -> tuple[bool, str]:
    """Check an event's id and BIP340 signature: (True, "ok") or (False, reason).

    reason is "malformed", "bad-id" or "bad-signature"; never raises.
    """
    if _shape_error(event) is not None:
        return False, "malformed"
    try:
        preimage = serialize_event(event)
    except SignatureError:
        return False, "malformed"
    digest = hashlib.sha256(preimage).digest()
    if digest.hex() != event["id"]:
        return False, "bad-id"
    if not schnorr_verify(bytes.fromhex(event["pubkey"]), digest, bytes.fromhex(event["sig"])):
        return False, "bad-signature"
    return True, "ok"


def artifact_digest(artifact: bytes) -> str:
    return hashlib.sha256(artifact).hexdigest()


def sign_artifact(artifact: bytes, secret_key: Any, *, name: str | None = None,
                  media_type: str | None = None, created_at: int | None = None) -> dict:
    """A kind-1063 event over ``artifact`` (tags x, m, size and, when given, name)."""
    data = _as_bytes(artifact)
    if data is None:
        raise SignatureError("artifact: must be bytes")
    tags = [["x", artifact_digest(data)], ["m", media_type or DEFAULT_MEDIA_TYPE],
            ["size", str(len(data))]]
    if name is not None:
        tags.append(["name", name])
    when = int(time.time()) if created_at is None else created_at
    return sign_event(secret_key, created_at=when, kind=EVENT_KIND, tags=tags)


def _event_digests(event: dict) -> list[str]:
    return [tag[1] for tag in event["tags"] if len(tag) >= 2 and tag[0] == "x"]


def _digest_matches(event: dict, digest: str, size: int) -> bool:
    """Exactly one x tag equal to the digest, and a size tag (if any) equal to the length."""
    if _event_digests(event) != [digest]:
        return False
    sizes = [tag[1] for tag in event["tags"] if len(tag) >= 2 and tag[0] == "size"]
    return all(value == str(size) for value in sizes)


def find_signature(artifact: bytes, events: list, pubkey: str) -> int | None:
    """Index of a valid kind-1063 event by ``pubkey`` over ``artifact``, or None."""
    digest = artifact_digest(artifact)
    for index, event in enumerate(events):
        if (isinstance(event, dict) and event.get("pubkey") == pubkey
                and event.get("kind") == EVENT_KIND and verify_event(event)[0]
                and _digest_matches(event, digest, len(artifact))):
            return index
    return None


# --------------------------------------------------------------------------
# .sig files

def sig_path_for(path: str) -> str:
    return f"{path}.sig"


def read_artifact(path: str) -> bytes:
    """The bytes of an artifact to sign or verify; an unreadable one is a ``SignatureError``."""
    try:
        return read_regular(path)  # never blocks: a FIFO or device is refused
    except OSError as exc:
        raise SignatureError(f"{path}: cannot read artifact: {exc.strerror}") from None


def read_sig_file(path: str) -> list[dict]:
    """The events in a detached signature file; a missing file has none.

    Read by fleet.strict_load: a regular file within the .sig size cap (checked
    before reading), strict JSON (no duplicate keys, NaN, huge integers or deep
    nesting). A foreign event's lone surrogate is kept: that event alone is
    judged malformed, the others still count.
    """
    try:
        raw = read_document(path, "sig")
        data = load_json(raw, path, "sig", lone_surrogates=True)
    except DocumentError as exc:
        if exc.errno == errno.ENOENT:
            return []
        raise SignatureError(str(exc)) from None
    if not isinstance(data, list):
        raise SignatureError(f"{path}: expected a JSON array of events, got {_json_type(data)}")
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise SignatureError(f"{path}: element {index} is {_json_type(item)}, not an object")
    return data


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def dump_sig_file(events: list[dict]) -> bytes:
    """A JSON array with one event per line: one line per signer in diffs."""
    if not events:
        return b"[]\n"
    lines = []
    for event in events:
        line = json.dumps(event, ensure_ascii=False)
        if _FORBIDDEN_CHARS.search(line):  # a foreign event with a lone surrogate
            line = json.dumps(event)  # \uXXXX escapes keep the file valid UTF-8
        lines.append(line)
    return ("[\n" + ",\n".join(lines) + "\n]\n").encode("utf-8")


def write_sig_file(path: str, events: list[dict]) -> None:
    """Atomically (re)write a signature file, keeping an existing file's mode and owner."""
    mode, uid, gid = 0o644, None, None
    try:
        info = os.stat(path)
    except FileNotFoundError:
        pass
    else:
        mode = info.st_mode & 0o7777
        if os.geteuid() == 0:
            uid, gid = info.st_uid, info.st_gid
    atomic_write(path, dump_sig_file(events), mode, uid, gid)


@dataclass
class SignPlan:
    """What signing one artifact does: the events before and after, and the new event."""

    sig_path: str
    digest: str
    before: list[dict]
    after: list[dict]
    new_event: dict | None
    existing_index: int | None

    @property
    def changed(self) -> bool:
        return self.new_event is not None


def plan_signature(path: str, secret_key: Any, *, name: str | None = None,
                   media_type: str | None = None, created_at: int | None = None) -> SignPlan:
    """Read ``path`` and its .sig; decide whether this key still has to sign it."""
    key = _coerce_secret(secret_key)
    artifact = read_artifact(path)
    sig_path = sig_path_for(path)
    before = read_sig_file(sig_path)
    existing = find_signature(artifact, before, public_key_hex(key))
    new_event = None
    after = before
    if existing is None:
        new_event = sign_artifact(artifact, key, name=name, media_type=media_type,
                                  created_at=created_at)
        after = [*before, new_event]
    return SignPlan(sig_path, artifact_digest(artifact), before, after, new_event, existing)


def sign_file(path: str, secret_key: Any, *, name: str | None = None,
              media_type: str | None = None, write: bool = True) -> SignPlan:
    """``plan_signature``, then append the new event to the .sig file (unless ``write`` is false).

    A .sig file that cannot be written is a ``SignatureError`` naming it.
    """
    try:
        plan = plan_signature(path, secret_key, name=name, media_type=media_type)
        if plan.changed and write:
            write_sig_file(plan.sig_path, plan.after)
    except OSError as exc:
        raise SignatureError(f"{sig_path_for(path)}: cannot write: {exc.strerror}") from None
    return plan


# --------------------------------------------------------------------------
# Key lists and the verification policy

def normalise_key_list(entries: Any, source: str = "trusted keys") -> list[dict]:
    """Validate ``[{name, pubkey}, ...]``; pubkeys (hex or npub) come back as lowercase hex."""
    if not isinstance(entries, list):
        raise SignatureError(f"{source}: expected a list of {{name, pubkey}} entries")
    result, seen = [], {}
    for index, entry in enumerate(entries):
        where = f"{source}[{index}]"
        if not isinstance(entry, dict):
            raise SignatureError(f"{where}: expected a mapping with name and pubkey")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise SignatureError(f"{where}.name: expected a non-empty string")
        pubkey = parse_public_key(entry.get("pubkey"), f"{where}.pubkey")
        if pubkey in seen:
            raise SignatureError(f"{where}.pubkey: same key as entry {seen[pubkey]}")
        seen[pubkey] = index
        result.append({"name": name, "pubkey": pubkey})
    return result


def normalise_revoked_list(entries: Any, source: str = "revoked keys") -> list[str]:
    """Validate revoked keys: strings (hex or npub) or {name, pubkey} mappings."""
    if entries is None:
        return []
    if not isinstance(entries, (list, tuple)):
        raise SignatureError(f"{source}: expected a list of public keys")
    result = []
    for index, entry in enumerate(entries):
        value = entry.get("pubkey") if isinstance(entry, dict) else entry
        pubkey = parse_public_key(value, f"{source}[{index}]")
        if pubkey not in result:
            result.append(pubkey)
    return result


def _load_structured(path: str) -> Any:
    """A key list file, JSON (``*.json``) or YAML, read by fleet.strict_load: size cap,
    and a repeated key (a second ``pubkey:`` silently winning) is refused."""
    try:
        return load_file(path, "key_list")
    except DocumentError as exc:
        raise SignatureError(str(exc)) from None


def _unwrap(data: Any) -> Any:
    """Accept a bare list, or a vars-style mapping holding exactly one list."""
    if isinstance(data, dict) and len(data) == 1:
        (value,) = data.values()
        if isinstance(value, list):
            return value
    return data


def load_key_list(path: str) -> list[dict]:
    """Read trusted keys ``[{name, pubkey}]`` from a YAML or JSON file (npub normalised to hex)."""
    return normalise_key_list(_unwrap(_load_structured(path)), path)


def load_revoked_list(path: str) -> list[str]:
    """Read revoked public keys (strings or {name, pubkey}) from a YAML or JSON file."""
    return normalise_revoked_list(_unwrap(_load_structured(path)) or [], path)


@dataclass
class PolicyResult:
    accepted: bool
    signers: list[str]
    reasons: list[dict]
    threshold: int = 1
    digest: str = ""
    counted: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"accepted": self.accepted, "signers": list(self.signers),
                "reasons": [dict(r) for r in self.reasons], "threshold": self.threshold,
                "digest": self.digest}

    def summary(self) -> str:
        """One line per rejected event, for error messages."""
        lines = []
        for item in self.reasons:
            if item["reason"] != "ok":
                who = item.get("name") or item.get("pubkey") or "?"
                lines.append(f"event {item['index']} ({who}): {item['reason']}")
        return "; ".join(lines)


def _event_reason(event: Any, digest: str, size: int, trusted: dict[str, str],
                  revoked: set[str]) -> str:
    ok, reason = verify_event(event)
    if not ok:
        return reason
    if event["kind"] != EVENT_KIND:
        return "malformed"
    if event["pubkey"] in revoked:
        return "revoked-key"
    if event["pubkey"] not in trusted:
        return "unknown-key"
    if not _digest_matches(event, digest, size):
        return "digest-mismatch"
    return "ok"


def verify_policy(artifact: bytes, events: list[dict], trusted: list[dict],
                  revoked: list[str] = (), threshold: int = 1) -> PolicyResult:
    """Accept ``artifact`` when ``threshold`` distinct trusted, unrevoked keys signed it.

    Each event gets a reason (ok, bad-id, bad-signature, unknown-key, revoked-key,
    digest-mismatch, malformed, duplicate). Malformed events never raise; a bad
    trusted/revoked list or threshold raises SignatureError.
    """
    data = _as_bytes(artifact)
    if data is None:
        raise SignatureError("artifact: must be bytes")
    if not _is_int(threshold) or threshold < 1:
        raise SignatureError("threshold: must be an integer >= 1")
    names = {entry["pubkey"]: entry["name"] for entry in normalise_key_list(list(trusted))}
    revoked_set = set(normalise_revoked_list(list(revoked)))
    digest = artifact_digest(data)
    if not isinstance(events, list):
        events = []
    counted: list[str] = []
    reasons = []
    for index, event in enumerate(events):
        reason = _event_reason(event, digest, len(data), names, revoked_set)
        pubkey = event.get("pubkey") if isinstance(event, dict) else None
        pubkey = pubkey if isinstance(pubkey, str) and _HEX64.fullmatch(pubkey) else None
        if reason == "ok":
            if pubkey in counted:
                reason = "duplicate"
            else:
                counted.append(pubkey)
        item = {"index": index, "pubkey": pubkey, "reason": reason}
        if pubkey in names:
            item["name"] = names[pubkey]
        reasons.append(item)
    signers = [names[p] for p in counted]
    return PolicyResult(len(counted) >= threshold, signers, reasons, threshold, digest, counted)
