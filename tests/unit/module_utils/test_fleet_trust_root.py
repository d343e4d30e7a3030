"""Tests for fleet_trust_root: documents, key-list acceptance, rollback, equivocation, rotation."""

from __future__ import annotations

import contextlib
import json

import pytest
from fleet import signing as fs
from fleet import trust_root as tr
from hypothesis import given, settings
from hypothesis import strategies as st

FUTURE = "2099-01-01T00:00:00Z"
PAST = "2001-01-01T00:00:00Z"
NOW = "2030-06-01T12:00:00Z"


@pytest.fixture(scope="module")
def root_secrets():
    return [fs.generate_secret_key() for _ in range(5)]


@pytest.fixture(scope="module")
def artifact_secrets():
    return [fs.generate_secret_key() for _ in range(3)]


def _entries(secrets, prefix):
    return [{"name": f"{prefix}{i}", "pubkey": fs.public_key_hex(k)} for i, k in enumerate(secrets)]


def _sign(doc, *secrets):
    return [fs.sign_artifact(doc.raw, k, name="doc.json", media_type=tr.MEDIA_TYPE)
            for k in secrets]


def _as_file(doc, source):
    """The same document as read from a file named ``source``."""
    return tr.parse_document(doc.raw, source)


@pytest.fixture(scope="module")
def root(root_secrets):
    """Root v1: keys root0..root2, threshold 2."""
    return _as_file(tr.make_root(_entries(root_secrets[:3], "root"), 2, FUTURE), "trust-root.json")


def _key_list(artifact_secrets, version=1, expires=FUTURE, threshold=1, revoked=()):
    doc = tr.make_key_list(_entries(artifact_secrets[:2], "op"), list(revoked), threshold,
                           expires, version)
    return _as_file(doc, "trust/key-list.json")


# --------------------------------------------------------------------------
# Documents

def test_canonical_form_is_sorted_compact_utf8():
    assert tr.canonical_bytes({"b": 1, "a": ["é", {"d": 2, "c": 3}]}) == \
        '{"a":["é",{"c":3,"d":2}],"b":1}'.encode()


def test_make_root_round_trips_and_normalises_npub(root_secrets):
    pub = fs.public_key_hex(root_secrets[0])
    doc = tr.make_root([{"name": "a", "pubkey": fs.npub(pub)}], 1, FUTURE, version=4)
    parsed = tr.parse_document(doc.raw, "x", tr.ROOT_TYPE)
    assert parsed.data == {"type": tr.ROOT_TYPE, "version": 4, "expires": FUTURE,
                           "root_keys": [{"name": "a", "pubkey": pub}], "threshold": 1}
    assert parsed.sha256 == fs.artifact_digest(doc.raw)


def test_non_canonical_file_refused(root):
    pretty = json.dumps(root.data, indent=2).encode()
    with pytest.raises(tr.TrustError, match=r"^r\.json: not in canonical form"):
        tr.parse_document(pretty, "r.json")
    with pytest.raises(tr.TrustError, match="canonical"):
        tr.parse_document(root.raw + b"\n", "r.json")


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda d: d.update(type="other"), "type must be"),
    (lambda d: d.update(extra=1), "unknown field"),
    (lambda d: d.pop("expires"), "missing field"),
    (lambda d: d.update(version=0), "version: expected an integer >= 1"),
    (lambda d: d.update(version=True), "version: expected an integer"),
    (lambda d: d.update(threshold=4), "threshold 4 is more than the 3 keys"),
    (lambda d: d.update(expires="2099-01-01 00:00:00"), "expires: expected an RFC 3339"),
    (lambda d: d.update(expires="2099-02-30T00:00:00Z"), "expires: not a valid date"),
    (lambda d: d.update(root_keys=[]), "root_keys: expected a non-empty list"),
    (lambda d: d["root_keys"][0].update(pubkey="ab" * 32 + "x"), r"root_keys\[0\].pubkey"),
    (lambda d: d["root_keys"][0].update(extra="x"), "exactly the fields"),
    (lambda d: d["root_keys"][1].update(name="root0"), "used twice"),
    (lambda d: d["root_keys"][1].update(pubkey=d["root_keys"][0]["pubkey"]), "same key"),
])
def test_invalid_root_documents(root, mutate, reason):
    data = json.loads(root.raw)
    mutate(data)
    with pytest.raises(tr.TrustError, match=reason) as info:
        tr.parse_document(tr.canonical_bytes(data), "trust-root.json")
    assert str(info.value).startswith("trust-root.json: ")


def test_key_list_rules(artifact_secrets):
    pubs = [fs.public_key_hex(k) for k in artifact_secrets]
    with pytest.raises(tr.TrustError, match="both trusted and revoked"):
        tr.make_key_list(_entries(artifact_secrets[:2], "op"), [pubs[0]], 1, FUTURE)
    with pytest.raises(tr.TrustError, match="threshold 3 is more"):
        tr.make_key_list(_entries(artifact_secrets[:2], "op"), [], 3, FUTURE)
    doc = tr.make_key_list(_entries(artifact_secrets[:2], "op"), [fs.npub(pubs[2])], 2, FUTURE)
    assert doc.data["revoked_keys"] == [pubs[2]]
    data = json.loads(doc.raw)
    data["revoked_keys"] = [pubs[2].upper()]
    with pytest.raises(tr.TrustError, match="lowercase hex"):
        tr.parse_document(tr.canonical_bytes(data), "kl")


@pytest.mark.parametrize("raw", [
    b'{"type":"fleet-trust-root","type":"fleet-trust-root"}',
    b'{"version":1.0}', b'{"version":NaN}', b"\xff", b"[1,", b"[" * 100000,
])
def test_hostile_json_is_a_trust_error(raw):
    with pytest.raises(tr.TrustError, match=r"^doc: "):
        tr.parse_document(raw, "doc")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_parse_never_raises_anything_else(raw):
    with contextlib.suppress(tr.TrustError):
        tr.parse_document(raw, "doc")


def test_type_confusion_refused(root, artifact_secrets):
    with pytest.raises(tr.TrustError, match="is a fleet-trust-root document, expected fleet-key"):
        tr.parse_document(root.raw, "trust/key-list.json", tr.KEY_LIST_TYPE)


# --------------------------------------------------------------------------
# Key list acceptance

def test_key_list_without_root_signatures_refused_naming_document(root, artifact_secrets):
    kl = _key_list(artifact_secrets)
    with pytest.raises(tr.TrustError) as info:
        tr.verify_key_list(root, kl, [], None, NOW)
    assert str(info.value) == ("trust/key-list.json: signed by 0 of the 3 pinned root keys, "
                               "2 required")


def test_key_list_signed_by_artifact_keys_only_refused(root, artifact_secrets):
    kl = _key_list(artifact_secrets)
    with pytest.raises(tr.TrustError, match=r"0 of the 3 pinned root keys.*unknown-key"):
        tr.verify_key_list(root, kl, _sign(kl, *artifact_secrets), None, NOW)


def test_k_of_n_accepted_and_fewer_refused(root, root_secrets, artifact_secrets):
    kl = _key_list(artifact_secrets, threshold=2)
    with pytest.raises(tr.TrustError, match=r"^trust/key-list.json: signed by 1 of the 3 "
                                            r"pinned root keys, 2 required \(signed by root1\)"):
        tr.verify_key_list(root, kl, _sign(kl, root_secrets[1]), None, NOW)
    # the same key twice still counts once
    with pytest.raises(tr.TrustError, match=r"1 of the 3.*duplicate"):
        tr.verify_key_list(root, kl, _sign(kl, root_secrets[1], root_secrets[1]), None, NOW)
    verdict = tr.verify_key_list(root, kl, _sign(kl, root_secrets[2], root_secrets[0]), None, NOW)
    assert verdict.signers == ["root2", "root0"] and verdict.changed
    assert verdict.policy == {"trusted_keys": kl.data["trusted_keys"], "revoked_keys": [],
                              "threshold": 2}
    assert verdict.record == {"type": tr.STATE_TYPE, "version": 1, "sha256": kl.sha256,
                              "expires": FUTURE, "accepted_at": NOW}


def test_signatures_over_other_content_do_not_count(root, root_secrets, artifact_secrets):
    old = _key_list(artifact_secrets)
    new = _key_list(artifact_secrets, version=2)
    with pytest.raises(tr.TrustError, match="digest-mismatch"):
        tr.verify_key_list(root, new, _sign(old, *root_secrets[:3]), None, NOW)


def test_rollback_and_equivocation_refused(root, root_secrets, artifact_secrets):
    v1, v2 = _key_list(artifact_secrets), _key_list(artifact_secrets, version=2)
    state = tr.verify_key_list(root, v2, _sign(v2, *root_secrets[:2]), None, NOW).record
    with pytest.raises(tr.TrustError, match=r"^trust/key-list.json: version 1 is older than "
                                            r"version 2 already accepted on this host"):
        tr.verify_key_list(root, v1, _sign(v1, *root_secrets[:2]), state, NOW)
    other = _key_list(artifact_secrets, version=2, threshold=2)
    with pytest.raises(tr.TrustError, match="version 2 was already accepted with different"):
        tr.verify_key_list(root, other, _sign(other, *root_secrets[:2]), state, NOW)
    later = "2031-01-01T00:00:00Z"
    same = tr.verify_key_list(root, v2, _sign(v2, *root_secrets[1:3]), state, later)
    assert not same.changed and same.record == state  # accepted_at kept: nothing to record
    v3 = _key_list(artifact_secrets, version=3)
    assert tr.verify_key_list(root, v3, _sign(v3, *root_secrets[:2]), state, NOW).changed


def test_expired_key_list_and_expired_pin_refused(root_secrets, artifact_secrets, root):
    kl = _key_list(artifact_secrets, expires="2030-06-01T12:00:00Z")
    with pytest.raises(tr.TrustError, match=r"^trust/key-list.json: expired at 2030-06-01"):
        tr.verify_key_list(root, kl, _sign(kl, *root_secrets[:2]), None, NOW)
    assert tr.verify_key_list(root, kl, _sign(kl, *root_secrets[:2]), None,
                              "2030-06-01T11:59:59Z")
    old_root = _as_file(tr.make_root(_entries(root_secrets[:3], "root"), 2, "2030-01-01T00:00:00Z"),
                        "/etc/golden-state/trust-root.json")
    fresh = _key_list(artifact_secrets)
    with pytest.raises(tr.TrustError, match="pinned trust root expired"):
        tr.verify_key_list(old_root, fresh, _sign(fresh, *root_secrets[:3]), None, NOW)


def test_wrong_document_types(root, root_secrets, artifact_secrets):
    kl = _key_list(artifact_secrets)
    with pytest.raises(tr.TrustError, match="not a trust root"):
        tr.verify_key_list(kl, kl, [], None, NOW)
    with pytest.raises(tr.TrustError, match="not a key list"):
        tr.verify_key_list(root, root, _sign(root, *root_secrets[:3]), None, NOW)


# --------------------------------------------------------------------------
# State records

def test_state_round_trip_and_corrupt_state(tmp_path, root, root_secrets, artifact_secrets):
    kl = _key_list(artifact_secrets)
    path = tmp_path / "trust" / "accepted.json"
    assert tr.read_state(str(path)) is None
    record = tr.verify_key_list(root, kl, _sign(kl, *root_secrets[:2]), None, NOW).record
    tr.write_state(str(path), record)
    assert tr.read_state(str(path)) == record
    assert path.stat().st_mode & 0o777 == 0o644
    path.write_text('{"version": 1}')
    with pytest.raises(tr.TrustError, match="not a valid fleet-key-list-state record"):
        tr.read_state(str(path))
    path.write_text("{")
    with pytest.raises(tr.TrustError, match="invalid JSON"):
        tr.read_state(str(path))


# --------------------------------------------------------------------------
# Rotation and bootstrap

def _root(root_secrets, indexes, threshold, version, expires=FUTURE):
    entries = [{"name": f"root{i}", "pubkey": fs.public_key_hex(root_secrets[i])}
               for i in indexes]
    return _as_file(tr.make_root(entries, threshold, expires, version), f"root-v{version}.json")


def test_rotation_needs_current_and_own_threshold(root, root_secrets):
    new = _root(root_secrets, [1, 2, 3], 2, 2)  # root0 out, root3 in
    for events, reason in [
        ([], "signed by 0 of the 3 currently pinned root keys, 2 required"),
        (_sign(new, root_secrets[1]), "1 of the 3 currently pinned"),
        (_sign(new, root_secrets[0], root_secrets[3]), "1 of the 3 currently pinned"),
        (_sign(new, root_secrets[0], root_secrets[1]), "1 of the 3 root keys it lists itself"),
    ]:
        with pytest.raises(tr.TrustError, match=reason) as info:
            tr.verify_rotation(root, [new], [events], NOW)
        assert str(info.value).startswith("root-v2.json: ")
    rotation = tr.verify_rotation(root, [new], [_sign(new, *root_secrets[1:3])], NOW)
    assert rotation.changed and rotation.final is new
    assert rotation.steps[0].signed_by_current == ["root1", "root2"]


def test_rotation_version_and_expiry(root, root_secrets):
    same_version = _root(root_secrets, [1, 2], 1, 1)
    with pytest.raises(tr.TrustError, match="version 1 is not higher than the current root's"):
        tr.verify_rotation(root, [same_version], [_sign(same_version, *root_secrets[:3])], NOW)
    expired = _root(root_secrets, [1, 2], 1, 2, expires=PAST)
    with pytest.raises(tr.TrustError, match="expired at 2001"):
        tr.verify_rotation(root, [expired], [_sign(expired, *root_secrets[:3])], NOW)
    unchanged = tr.verify_rotation(root, [root], [[]], NOW)
    assert not unchanged.changed and unchanged.steps == []


def test_removed_root_key_no_longer_counts(root, root_secrets, artifact_secrets):
    v2 = _root(root_secrets, [1, 2, 3], 2, 2)
    pin = tr.verify_rotation(root, [v2], [_sign(v2, *root_secrets[1:4])], NOW).final
    kl = _key_list(artifact_secrets)
    with pytest.raises(tr.TrustError, match=r"1 of the 3 pinned root keys.*unknown-key"):
        tr.verify_key_list(pin, kl, _sign(kl, root_secrets[0], root_secrets[1]), None, NOW)
    assert tr.verify_key_list(pin, kl, _sign(kl, root_secrets[3], root_secrets[1]), None, NOW)
    # and a root signed by the removed key plus one current key cannot rotate further
    v3 = _root(root_secrets, [0, 4], 1, 3)
    with pytest.raises(tr.TrustError, match="1 of the 3 currently pinned"):
        tr.verify_rotation(pin, [v3], [_sign(v3, root_secrets[0], root_secrets[1],
                                             root_secrets[4])], NOW)


def test_rotation_chain_and_expired_pin_may_rotate(root_secrets):
    old = _root(root_secrets, [0, 1, 2], 2, 1, expires="2030-01-01T00:00:00Z")
    v2 = _root(root_secrets, [1, 2, 3], 2, 2)
    v3 = _root(root_secrets, [3, 4], 2, 3)
    chain = tr.verify_rotation(old, [v2, v3], [_sign(v2, *root_secrets[1:4]),
                                               _sign(v3, *root_secrets[2:5])], NOW)
    assert chain.final is v3 and len(chain.steps) == 2
    # v3 directly from v1 lacks v1's threshold (only root2 of root0..root2 signed it)
    with pytest.raises(tr.TrustError, match="1 of the 3 currently pinned"):
        tr.verify_rotation(old, [v3], [_sign(v3, *root_secrets[2:5])], NOW)


def test_bootstrap(root, root_secrets):
    events = _sign(root, *root_secrets[:2])
    assert tr.verify_bootstrap(root, events, root.sha256.upper(), NOW).signers == ["root0", "root1"]
    with pytest.raises(tr.TrustError, match="not the expected fingerprint"):
        tr.verify_bootstrap(root, events, "0" * 64, NOW)
    with pytest.raises(tr.TrustError, match="fingerprint: expected"):
        tr.verify_bootstrap(root, events, "abc", NOW)
    with pytest.raises(tr.TrustError, match="1 of the 3 root keys it lists itself"):
        tr.verify_bootstrap(root, events[:1], root.sha256, NOW)


def test_write_pin_atomic_0644(tmp_path, root):
    path = tmp_path / "etc" / "golden-state" / "trust-root.json"
    tr.write_pin(str(path), root)
    assert path.read_bytes() == root.raw
    assert path.stat().st_mode & 0o777 == 0o644
    assert path.parent.stat().st_mode & 0o777 == 0o755
    assert tr.load_document(str(path), tr.ROOT_TYPE).data == root.data


def test_load_document_errors_name_file(tmp_path):
    with pytest.raises(tr.TrustError, match=r"^.*missing.json: cannot read"):
        tr.load_document(str(tmp_path / "missing.json"))


# -- the one trust decision ---------------------------------------------------------

INVENTORY_KEYS = [{"name": "mallory", "pubkey": "11" * 32}]
ROOT_RESULT = {"changed": False, "version": 7, "threshold": 2, "revoked_keys": ["22" * 32],
               "trusted_keys": [{"name": "ci", "pubkey": "33" * 32},
                                {"name": "ops", "pubkey": "44" * 32}]}


def test_trust_decision_with_the_root_counts_only_the_verified_key_list():
    decision = tr.trust_decision(ROOT_RESULT, INVENTORY_KEYS, [], 1)
    assert decision["source"] == "trust_root" and decision["key_list_version"] == 7
    assert [k["name"] for k in decision["trusted_keys"]] == ["ci", "ops"]
    assert decision["threshold"] == 2 and decision["revoked_keys"] == ["22" * 32]
    assert decision["ignored_keys"] == ["mallory"]


@pytest.mark.parametrize("root", [None, {"skipped": True, "changed": False}, {}])
def test_trust_decision_without_a_root_uses_the_inventory(root):
    decision = tr.trust_decision(root, INVENTORY_KEYS, ["55" * 32], "2")
    assert decision == {"source": "inventory", "key_list_version": None,
                        "trusted_keys": INVENTORY_KEYS, "revoked_keys": ["55" * 32],
                        "threshold": 2, "ignored_keys": []}


@pytest.mark.parametrize(("keys", "revoked", "threshold", "field"), [
    ("alice", [], 1, "fleet_trusted_keys"),
    ([{"pubkey": "11" * 32}], [], 1, "fleet_trusted_keys"),
    ([], "x", 1, "fleet_revoked_keys"),
    ([], [], 0, "fleet_signature_threshold"),
    ([], [], "two", "fleet_signature_threshold"),
])
def test_trust_decision_refuses_a_malformed_inventory_policy(keys, revoked, threshold, field):
    with pytest.raises(ValueError, match=field):
        tr.trust_decision(None, keys, revoked, threshold)


def test_trust_decision_takes_int_subclasses_as_ansible_passes_them():
    class TaggedInt(int):
        pass

    assert tr.trust_decision(None, [], [], TaggedInt(2))["threshold"] == 2
    assert tr.trust_decision({**ROOT_RESULT, "threshold": TaggedInt(3)})["threshold"] == 3
    with pytest.raises(ValueError, match="fleet_signature_threshold"):
        tr.trust_decision(None, [], [], True)
