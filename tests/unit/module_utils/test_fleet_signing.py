"""Tests for fleet_signing: BIP340 vectors, NIP-01 events, .sig files, trust policy."""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
from pathlib import Path

import pytest
from fleet import signing as fs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VECTORS = Path(__file__).resolve().parents[2] / "data" / "bip340-test-vectors.csv"


def _vectors() -> list[dict]:
    with VECTORS.open(newline="") as handle:
        return list(csv.DictReader(handle))


ROWS = _vectors()
# Signing vectors (with a secret key) whose message is 32 bytes. Vectors 15-18
# also carry a secret key, but their messages are 0, 1, 17 and 100 bytes and
# coincurve's signing API (secp256k1_schnorrsig_sign32) takes exactly 32 bytes;
# our signer only ever signs 32-byte event ids, so they go through verification only.
SIGN_ROWS = [r for r in ROWS if r["secret key"] and len(r["message"]) == 64]
SIGN_SKIPPED = [r["index"] for r in ROWS if r["secret key"] and len(r["message"]) != 64]


@pytest.fixture(scope="module")
def key():
    return fs.generate_secret_key()


@pytest.fixture(scope="module")
def other_key():
    return fs.generate_secret_key()


# --------------------------------------------------------------------------
# BIP340 vectors

def test_vector_file_is_complete():
    assert [r["index"] for r in ROWS] == [str(i) for i in range(19)]
    assert VECTORS.read_bytes().count(b"\r\n") == 20  # kept byte for byte, CRLF
    assert [r["index"] for r in SIGN_ROWS] == ["0", "1", "2", "3"]
    assert SIGN_SKIPPED == ["15", "16", "17", "18"]


@pytest.mark.parametrize("row", SIGN_ROWS, ids=lambda r: f"vector{r['index']}")
def test_bip340_signing_vectors(row):
    secret = bytes.fromhex(row["secret key"])
    assert fs.public_key_hex(secret) == row["public key"].lower()
    sig = fs.schnorr_sign(secret, bytes.fromhex(row["message"]), bytes.fromhex(row["aux_rand"]))
    assert sig.hex() == row["signature"].lower()
    assert fs.parse_secret_key(row["secret key"]) == secret


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"vector{r['index']}")
def test_bip340_verification_vectors(row):
    expected = row["verification result"] == "TRUE"
    result = fs.schnorr_verify(bytes.fromhex(row["public key"]), bytes.fromhex(row["message"]),
                               bytes.fromhex(row["signature"]))
    assert result is expected


def test_invalid_vector_keys_refused_by_parse_public_key():
    invalid = [row for row in ROWS if row["comment"].startswith("public key")]
    assert [row["index"] for row in invalid] == ["5", "14"]
    for row in invalid:
        with pytest.raises(fs.SignatureError) as info:
            fs.parse_public_key(row["public key"], "trusted_keys[0].pubkey")
        assert row["public key"].lower() not in str(info.value).lower()


def test_fresh_aux_randomness_gives_different_valid_signatures(key):
    digest = hashlib.sha256(b"x").digest()
    one, two = fs.schnorr_sign(key, digest), fs.schnorr_sign(key, digest)
    assert one != two
    pub = bytes.fromhex(fs.public_key_hex(key))
    assert fs.schnorr_verify(pub, digest, one) and fs.schnorr_verify(pub, digest, two)


ROW1 = ROWS[1]
GOOD = (bytes.fromhex(ROW1["public key"]), bytes.fromhex(ROW1["message"]),
        bytes.fromhex(ROW1["signature"]))


@pytest.mark.parametrize("pub, msg, sig", [
    (GOOD[0] + b"\x00", GOOD[1], GOOD[2]),  # coincurve would cut a 33-byte key to 32
    (GOOD[0][:31], GOOD[1], GOOD[2]),
    (b"", GOOD[1], GOOD[2]),
    (GOOD[0], GOOD[1], GOOD[2] + b"\x00"),
    (GOOD[0], GOOD[1], GOOD[2][:63]),
    (GOOD[0].hex(), GOOD[1], GOOD[2]),
    (GOOD[0], GOOD[1].hex(), GOOD[2]),
    (GOOD[0], GOOD[1], GOOD[2].hex()),
    (None, GOOD[1], GOOD[2]),
    (GOOD[0], None, GOOD[2]),
    (GOOD[0], GOOD[1], 12345),
    (list(GOOD[0]), GOOD[1], GOOD[2]),
    (b"\xff" * 32, GOOD[1], GOOD[2]),
    (b"\x00" * 32, GOOD[1], GOOD[2]),
])
def test_malformed_verify_inputs_return_false(pub, msg, sig):
    assert fs.schnorr_verify(pub, msg, sig) is False


def test_bytes_like_inputs_still_verify():
    assert fs.schnorr_verify(bytearray(GOOD[0]), memoryview(GOOD[1]), bytearray(GOOD[2]))


@pytest.mark.parametrize("message", [b"", b"\x00" * 31, b"\x00" * 33, "a" * 32, None])
def test_sign_refuses_non_digest_messages(key, message):
    with pytest.raises(fs.SignatureError, match="message"):
        fs.schnorr_sign(key, message)


# --------------------------------------------------------------------------
# Keys and bech32

NIP19_NPUB = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"
NIP19_PUB = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"
NIP19_NSEC = "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5"
NIP19_SEC = "67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa"


def test_nip19_examples():
    assert fs.parse_public_key(NIP19_NPUB) == NIP19_PUB
    assert fs.parse_public_key(NIP19_NPUB.upper()) == NIP19_PUB
    assert fs.parse_public_key(NIP19_PUB.upper()) == NIP19_PUB
    assert fs.npub(NIP19_PUB) == NIP19_NPUB
    secret = fs.parse_secret_key(NIP19_NSEC)
    assert secret.secret_hex() == NIP19_SEC
    assert secret.nsec() == NIP19_NSEC
    assert fs.public_key_hex(secret) == NIP19_PUB
    assert fs.parse_secret_key(f"  {NIP19_SEC}\n".encode()) == bytes.fromhex(NIP19_SEC)


@pytest.mark.parametrize("text", [
    NIP19_NPUB[:-1] + ("q" if NIP19_NPUB[-1] != "q" else "p"),  # checksum
    NIP19_NPUB[:10] + NIP19_NPUB[10:].upper(),  # mixed case
    "npub1",
    "npub1qqqqqqqq",
    fs.bech32_encode("npub", b"\x01" * 31),
    fs.bech32_encode("nprof", bytes.fromhex(NIP19_PUB)),
    NIP19_NSEC,
    NIP19_PUB[:-1],
    "zz" * 32,
    "",
    None,
    42,
])
def test_bad_public_keys_raise_signature_error(text):
    with pytest.raises(fs.SignatureError) as info:
        fs.parse_public_key(text, "pubkey")
    assert str(info.value).startswith("pubkey")


@pytest.mark.parametrize("text", [
    "00" * 32,  # zero
    "ff" * 32,  # >= group order
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",  # == n
    NIP19_SEC[:-2],
    NIP19_SEC + "00",
    NIP19_NSEC[:-1] + "q",
    NIP19_NPUB,
    b"\xff\xfe",
    "",
    None,
])
def test_bad_secret_keys_raise_without_echoing(text):
    with pytest.raises(fs.SignatureError) as info:
        fs.parse_secret_key(text)
    message = str(info.value)
    if isinstance(text, str) and len(text) > 8:
        assert text.lower() not in message.lower()
        assert text[4:20] not in message


def test_secret_key_never_shows_in_repr_or_str(key):
    secret = key.secret_hex()
    for rendering in (repr(key), str(key), f"{key}", f"{key!r}", repr([key]), repr({"k": key})):
        assert secret not in rendering
        assert "redacted" in rendering


def test_generated_keys_are_distinct_and_valid():
    keys = {fs.generate_secret_key() for _ in range(20)}
    assert len(keys) == 20
    for k in keys:
        assert len(k) == 32
        assert fs.parse_public_key(fs.public_key_hex(k)) == fs.public_key_hex(k)


def test_bech32_round_trip():
    for data in (b"", b"\x00", os.urandom(32), os.urandom(40)):
        assert fs.bech32_decode(fs.bech32_encode("npub", data)) == ("npub", data)


# --------------------------------------------------------------------------
# NIP-01 events

def _nip01_reference_id(event: dict) -> str:
    """Independent NIP-01 serialization: escape only \\n \\" \\\\ \\r \\t \\b \\f."""
    escapes = {"\n": "\\n", '"': '\\"', "\\": "\\\\", "\r": "\\r", "\t": "\\t",
               "\b": "\\b", "\f": "\\f"}

    def text(value: str) -> str:
        return '"' + "".join(escapes.get(c, c) for c in value) + '"'

    tags = "[" + ",".join("[" + ",".join(text(t) for t in tag) + "]"
                          for tag in event["tags"]) + "]"
    body = (f'[0,{text(event["pubkey"])},{event["created_at"]},{event["kind"]},'
            f'{tags},{text(event["content"])}]')
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


CONTENTS = [
    "",
    'say "hi"',
    "back\\slash \\n literal",
    "line1\nline2\r\n",
    "tab\there\bbell?\fform",
    "café naïve Ωmega 日本語",
    "emoji 🔏🧪 and ZWJ 👩‍💻",
    "\u2028\u2029 separators and \x7f DEL",
    "all of them: \"\\\n\r\t\b\f é 🙂",
]


@pytest.mark.parametrize("content", CONTENTS)
def test_event_ids_match_independent_nip01_serialization(key, content):
    tags = [["x", "ab" * 32], ["name", content], ["m", "text/plain"]]
    event = fs.sign_event(key, created_at=1_700_000_000, kind=1063, tags=tags, content=content)
    assert event["id"] == _nip01_reference_id(event) == fs.event_id(event)
    assert fs.verify_event(event) == (True, "ok")
    # Round-trips through a .sig-style JSON file unchanged.
    assert fs.verify_event(json.loads(json.dumps(event, ensure_ascii=False))) == (True, "ok")


def test_published_nip01_serialization_shape():
    event = {"pubkey": NIP19_PUB, "created_at": 1, "kind": 1, "tags": [["e", "x"]],
             "content": "a\"b\nc é"}
    assert fs.serialize_event(event) == (
        f'[0,"{NIP19_PUB}",1,1,[["e","x"]],"a\\"b\\nc é"]'.encode())


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x07", "\x0b", "\x0e", "\x1b", "\x1f",
                                 "\ud800", "\udfff"])
@pytest.mark.parametrize("where", ["content", "tag"])
def test_control_chars_and_lone_surrogates_refused(key, bad, where):
    content = f"ok{bad}" if where == "content" else ""
    tags = [["name", f"ok{bad}"]] if where == "tag" else []
    with pytest.raises(fs.SignatureError) as info:
        fs.sign_event(key, created_at=1, kind=1063, tags=tags, content=content)
    message = str(info.value)
    assert ("content" if where == "content" else "tags[0][1]") in message
    assert f"U+{ord(bad):04X}" in message
    assert "offset 2" in message


@pytest.mark.parametrize("edit", [
    lambda e: e.update(content="edited"),
    lambda e: e.update(created_at=e["created_at"] + 1),
    lambda e: e.update(kind=1),
    lambda e: e["tags"][0].__setitem__(1, "00" * 32),
    lambda e: e["tags"].append(["extra", "tag"]),
])
def test_event_edited_after_signing_is_rejected(key, edit):
    event = fs.sign_artifact(b"artifact", key, name="a")
    edited = copy.deepcopy(event)
    edit(edited)
    assert fs.verify_event(edited) == (False, "bad-id")


def test_event_with_recomputed_id_but_old_signature_is_bad_signature(key):
    event = fs.sign_artifact(b"artifact", key)
    event["content"] = "edited"
    event["id"] = fs.event_id(event)
    assert fs.verify_event(event) == (False, "bad-signature")


def test_event_with_swapped_pubkey_is_rejected(key, other_key):
    event = fs.sign_artifact(b"artifact", key)
    event["pubkey"] = fs.public_key_hex(other_key)
    assert fs.verify_event(event) == (False, "bad-id")
    event["id"] = fs.event_id(event)
    assert fs.verify_event(event) == (False, "bad-signature")


def test_sign_artifact_tags(key):
    event = fs.sign_artifact(b"hello", key, name="h.txt", media_type="text/plain",
                             created_at=1_700_000_000)
    assert event["kind"] == 1063 and event["content"] == "" and event["created_at"] == 1700000000
    assert event["tags"] == [["x", hashlib.sha256(b"hello").hexdigest()], ["m", "text/plain"],
                             ["size", "5"], ["name", "h.txt"]]
    assert list(event) == ["id", "pubkey", "created_at", "kind", "tags", "content", "sig"]


def test_verify_event_with_lone_surrogate_from_json_is_malformed(key):
    event = fs.sign_artifact(b"a", key)
    event["content"] = json.loads('"\\ud800"')
    assert fs.verify_event(event) == (False, "malformed")


# --------------------------------------------------------------------------
# .sig files

def test_read_sig_file_missing_is_empty(tmp_path):
    assert fs.read_sig_file(str(tmp_path / "nope.sig")) == []


@pytest.mark.parametrize("content, expected", [
    (b'[{"a": 1},\n  {"b": 2,}]', r"line 2 column 11"),
    (b"", r"line 1 column 1"),
    (b'{"id": "x"}', "expected a JSON array of events, got an object"),
    (b"[1]", "element 0 is a number, not an object"),
    (b'[{}, "x"]', "element 1 is a string, not an object"),
    (b"\xff\xfe[]", "not UTF-8"),
    (b"[" * 100000, "nested too deeply|invalid JSON"),
    (b"[" + b"9" * 5000 + b"]", "invalid JSON"),
])
def test_read_sig_file_errors_name_file_and_position(tmp_path, content, expected):
    path = tmp_path / "a.sig"
    path.write_bytes(content)
    with pytest.raises(fs.SignatureError, match=expected) as info:
        fs.read_sig_file(str(path))
    assert str(path) in str(info.value)


def test_plan_and_write_sig_file_appends_once_per_key(tmp_path, key, other_key):
    artifact = tmp_path / "trail.json"
    artifact.write_bytes(b'{"a": 1}')
    plan = fs.plan_signature(str(artifact), key)
    assert plan.changed and plan.before == [] and len(plan.after) == 1
    fs.write_sig_file(plan.sig_path, plan.after)
    assert (tmp_path / "trail.json.sig").stat().st_mode & 0o777 == 0o644

    again = fs.plan_signature(str(artifact), key)
    assert not again.changed and again.existing_index == 0

    second = fs.plan_signature(str(artifact), other_key)
    assert second.changed
    fs.write_sig_file(second.sig_path, second.after)
    events = fs.read_sig_file(second.sig_path)
    assert [e["pubkey"] for e in events] == [fs.public_key_hex(key), fs.public_key_hex(other_key)]

    artifact.write_bytes(b'{"a": 2}')  # new content: the old events no longer count
    assert fs.plan_signature(str(artifact), key).changed


def test_write_sig_file_keeps_mode_and_escapes_foreign_surrogates(tmp_path, key):
    path = tmp_path / "x.sig"
    path.write_text("[]")
    path.chmod(0o640)
    foreign = {"content": json.loads('"\\udc00"')}
    event = fs.sign_artifact(b"x", key)
    fs.write_sig_file(str(path), [foreign, event])
    assert path.stat().st_mode & 0o777 == 0o640
    assert fs.read_sig_file(str(path)) == [foreign, event]
    assert path.read_text(encoding="utf-8").count("\n") == 4  # one event per line


def test_sign_file_writes_unless_told_not_to(tmp_path, key, monkeypatch):
    artifact = tmp_path / "a.txt"
    artifact.write_bytes(b"a")
    dry = fs.sign_file(str(artifact), key, write=False)
    assert dry.changed and not (tmp_path / "a.txt.sig").exists()
    plan = fs.sign_file(str(artifact), key, name="a", media_type="text/plain")
    assert plan.changed and fs.read_sig_file(plan.sig_path) == plan.after
    assert not fs.sign_file(str(artifact), key).changed

    def refuse(path, events):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(fs, "write_sig_file", refuse)
    artifact.write_bytes(b"b")
    with pytest.raises(fs.SignatureError, match=r"a\.txt\.sig: cannot write: Permission denied"):
        fs.sign_file(str(artifact), key)


def test_read_artifact_names_the_file(tmp_path):
    with pytest.raises(fs.SignatureError, match="missing: cannot read artifact: No such file"):
        fs.read_artifact(str(tmp_path / "missing"))


def test_read_secret_key_file(tmp_path, key):
    path = tmp_path / "k.key"
    path.write_text(key.nsec() + "\n")
    path.chmod(0o600)
    assert fs.read_secret_key_file(str(path)) == key
    path.chmod(0o640)
    with pytest.raises(fs.SignatureError, match="chmod 600"):
        fs.read_secret_key_file(str(path))
    with pytest.raises(fs.SignatureError, match="none: cannot read key file: No such file"):
        fs.read_secret_key_file(str(tmp_path / "none"))
    path.write_text("npub1xyz")
    path.chmod(0o600)
    with pytest.raises(fs.SignatureError, match=f"key file {path}: "):
        fs.read_secret_key_file(str(path))


# --------------------------------------------------------------------------
# Key lists

def test_load_key_list_yaml_json_and_vars_mapping(tmp_path, key):
    pub = fs.public_key_hex(key)
    (tmp_path / "k.yml").write_text(f"- name: alice\n  pubkey: {fs.npub(pub)}\n")
    (tmp_path / "k.json").write_text(json.dumps([{"name": "alice", "pubkey": pub.upper()}]))
    (tmp_path / "v.yml").write_text(
        f"fleet_trusted_keys:\n  - {{name: alice, pubkey: {pub}}}\n")
    for name in ("k.yml", "k.json", "v.yml"):
        assert fs.load_key_list(str(tmp_path / name)) == [{"name": "alice", "pubkey": pub}]


@pytest.mark.parametrize("content, expected", [
    ("- name: a\n  pubkey: nothex\n", r"\[0\]\.pubkey"),
    (f"- {{name: a, pubkey: {NIP19_PUB}}}\n- {{name: b, pubkey: {NIP19_NPUB}}}\n",
     r"\[1\]\.pubkey: same key as entry 0"),
    (f"- pubkey: {NIP19_PUB}\n", r"\[0\]\.name"),
    ("- just a string\n", r"\[0\]: expected a mapping"),
    ("name: a\npubkey: b\n", "expected a list"),
    (f"- {{name: a, pubkey: {NIP19_NSEC}}}\n", "secret key"),
    ("- [unclosed\n", "invalid YAML at line"),
])
def test_load_key_list_errors(tmp_path, content, expected):
    path = tmp_path / "keys.yml"
    path.write_text(content)
    with pytest.raises(fs.SignatureError, match=expected) as info:
        fs.load_key_list(str(path))
    assert str(path) in str(info.value)
    assert NIP19_NSEC not in str(info.value)


def test_load_key_list_missing_file(tmp_path):
    with pytest.raises(fs.SignatureError, match="cannot read key list"):
        fs.load_key_list(str(tmp_path / "none.yml"))


def test_load_revoked_list(tmp_path):
    path = tmp_path / "revoked.yml"
    path.write_text(f"- {NIP19_NPUB}\n- {{name: old, pubkey: {NIP19_PUB}}}\n")
    assert fs.load_revoked_list(str(path)) == [NIP19_PUB]


# --------------------------------------------------------------------------
# Policy

ARTIFACT = b"trail contents\n"


@pytest.fixture(scope="module")
def keys():
    return [fs.generate_secret_key() for _ in range(4)]


@pytest.fixture(scope="module")
def trusted(keys):
    return [{"name": f"op{i}", "pubkey": fs.public_key_hex(k)} for i, k in enumerate(keys[:3])]


def _reasons(result):
    return [r["reason"] for r in result.reasons]


def test_threshold_counts_distinct_keys(keys, trusted):
    events = [fs.sign_artifact(ARTIFACT, k) for k in keys[:2]]
    assert fs.verify_policy(ARTIFACT, events, trusted, threshold=2).accepted
    result = fs.verify_policy(ARTIFACT, events, trusted, threshold=3)
    assert not result.accepted and result.signers == ["op0", "op1"]
    assert _reasons(result) == ["ok", "ok"]


def test_duplicate_events_from_one_key_counted_once(keys, trusted):
    events = [fs.sign_artifact(ARTIFACT, keys[0]) for _ in range(3)]
    events.append(copy.deepcopy(events[0]))
    result = fs.verify_policy(ARTIFACT, events, trusted, threshold=2)
    assert not result.accepted
    assert result.signers == ["op0"]
    assert _reasons(result) == ["ok", "duplicate", "duplicate", "duplicate"]
    assert fs.verify_policy(ARTIFACT, events, trusted, threshold=1).accepted


def test_revoked_key_does_not_count(keys, trusted):
    events = [fs.sign_artifact(ARTIFACT, k) for k in keys[:2]]
    revoked = [fs.npub(trusted[1]["pubkey"])]
    result = fs.verify_policy(ARTIFACT, events, trusted, revoked, threshold=2)
    assert not result.accepted and result.signers == ["op0"]
    assert _reasons(result) == ["ok", "revoked-key"]
    assert result.reasons[1]["name"] == "op1"


def test_unknown_key_does_not_count(keys, trusted):
    result = fs.verify_policy(ARTIFACT, [fs.sign_artifact(ARTIFACT, keys[3])], trusted)
    assert not result.accepted and result.signers == []
    assert result.reasons == [{"index": 0, "pubkey": fs.public_key_hex(keys[3]),
                               "reason": "unknown-key"}]


def test_digest_mismatch(keys, trusted):
    events = [fs.sign_artifact(ARTIFACT + b"tampered", keys[0]),
              fs.sign_artifact(ARTIFACT, keys[1])]
    result = fs.verify_policy(ARTIFACT, events, trusted, threshold=1)
    assert result.accepted and result.signers == ["op1"]
    assert _reasons(result) == ["digest-mismatch", "ok"]


def test_size_tag_and_extra_x_tags_must_agree(keys, trusted):
    key = keys[0]
    digest = hashlib.sha256(ARTIFACT).hexdigest()
    wrong_size = fs.sign_event(key, created_at=1, kind=1063,
                               tags=[["x", digest], ["size", "1"]])
    two_x = fs.sign_event(key, created_at=1, kind=1063, tags=[["x", digest], ["x", "00" * 32]])
    no_x = fs.sign_event(key, created_at=1, kind=1063, tags=[])
    other_kind = fs.sign_event(key, created_at=1, kind=1, tags=[["x", digest]])
    result = fs.verify_policy(ARTIFACT, [wrong_size, two_x, no_x, other_kind], trusted)
    assert _reasons(result) == ["digest-mismatch", "digest-mismatch", "digest-mismatch",
                                "malformed"]
    assert not result.accepted


def test_bad_id_and_bad_signature(keys, trusted):
    edited = fs.sign_artifact(ARTIFACT, keys[0])
    edited["created_at"] += 1
    forged = fs.sign_artifact(ARTIFACT, keys[3])
    forged["pubkey"] = trusted[1]["pubkey"]
    forged["id"] = fs.event_id(forged)
    result = fs.verify_policy(ARTIFACT, [edited, forged], trusted)
    assert _reasons(result) == ["bad-id", "bad-signature"]
    assert not result.accepted


def test_empty_events_rejected_and_to_dict(trusted):
    result = fs.verify_policy(ARTIFACT, [], trusted)
    assert not result.accepted
    assert result.to_dict() == {"accepted": False, "signers": [], "reasons": [], "threshold": 1,
                                "digest": hashlib.sha256(ARTIFACT).hexdigest()}
    json.dumps(result.to_dict())


@pytest.mark.parametrize("threshold", [0, -1, "1", 1.0, True, None])
def test_bad_threshold_raises(trusted, threshold):
    with pytest.raises(fs.SignatureError, match="threshold"):
        fs.verify_policy(ARTIFACT, [], trusted, threshold=threshold)


def test_bad_trusted_or_revoked_list_raises(trusted):
    with pytest.raises(fs.SignatureError, match=r"trusted keys\[0\]\.pubkey"):
        fs.verify_policy(ARTIFACT, [], [{"name": "x", "pubkey": "00"}])
    with pytest.raises(fs.SignatureError, match=r"revoked keys\[0\]"):
        fs.verify_policy(ARTIFACT, [], trusted, ["nope"])


def test_malformed_event_shapes(keys, trusted):
    good = fs.sign_artifact(ARTIFACT, keys[0])
    shapes = [None, 1, "x", [], {}, {**good, "id": good["id"].upper()},
              {**good, "sig": good["sig"][:-2]}, {**good, "created_at": True},
              {**good, "created_at": 1.5}, {**good, "kind": "1063"}, {**good, "tags": [["x", 1]]},
              {**good, "tags": {"x": "y"}}, {**good, "content": None},
              {k: v for k, v in good.items() if k != "sig"}, {**good, "pubkey": None},
              {**good, "created_at": -1}, {**good, "created_at": 2**70}]
    result = fs.verify_policy(ARTIFACT, [*shapes, good], trusted)
    assert _reasons(result) == ["malformed"] * len(shapes) + ["ok"]
    assert result.accepted and result.signers == ["op0"]


_json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_json_values = st.recursive(
    _json_scalars, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
FIXTURES_OK = [HealthCheck.function_scoped_fixture]  # the fixtures used are module-scoped
_event_keys = st.sampled_from(["id", "pubkey", "created_at", "kind", "tags", "content", "sig"])


@settings(max_examples=300, deadline=None, suppress_health_check=FIXTURES_OK)
@given(events=st.lists(_json_values | st.dictionaries(_event_keys, _json_values), max_size=5))
def test_arbitrary_json_events_never_raise(trusted, events):
    result = fs.verify_policy(ARTIFACT, events, trusted)
    assert not result.accepted
    assert all(r["reason"] == "malformed" for r in result.reasons)
    json.dumps(result.to_dict())


@settings(max_examples=200, deadline=None, suppress_health_check=FIXTURES_OK)
@given(field=_event_keys, value=_json_values)
def test_mutated_valid_event_never_raises(keys, trusted, field, value):
    event = fs.sign_artifact(ARTIFACT, keys[0])
    event[field] = value
    result = fs.verify_policy(ARTIFACT, [event], trusted)
    assert result.reasons[0]["reason"] in fs.REASONS
    assert fs.verify_event(event)[1] in fs.REASONS


@settings(max_examples=200, deadline=None)
@given(content=st.text(), name=st.text())
def test_any_text_signs_or_is_refused_clearly(content, name):
    key = fs.parse_secret_key(NIP19_SEC)
    try:
        event = fs.sign_event(key, created_at=5, kind=1063, tags=[["name", name]], content=content)
    except fs.SignatureError as exc:
        assert "not allowed" in str(exc)
    else:
        assert event["id"] == _nip01_reference_id(event)
        assert fs.verify_event(event) == (True, "ok")
