"""Tests for the artifact_verify module (run in-process with the run_module fixture)."""

from __future__ import annotations

import json

import artifact_verify
import pytest
from fleet import signing as fs


@pytest.fixture(scope="module")
def keys():
    return [fs.generate_secret_key() for _ in range(3)]


@pytest.fixture(scope="module")
def trusted(keys):
    return [{"name": f"op{i}", "pubkey": fs.public_key_hex(k)} for i, k in enumerate(keys[:2])]


def _sign(path, *keys):
    events = fs.read_sig_file(f"{path}.sig")
    events += [fs.sign_artifact(path.read_bytes(), k, name=path.name) for k in keys]
    fs.write_sig_file(f"{path}.sig", events)


@pytest.fixture
def artifacts(tmp_path, keys):
    one, two = tmp_path / "one.trail.json", tmp_path / "two.trail.json"
    one.write_bytes(b"one\n")
    two.write_bytes(b"two\n")
    _sign(one, keys[0], keys[1])
    _sign(two, keys[0])
    return one, two


@pytest.mark.parametrize("check_mode", [False, True])
def test_accepts_signed_files(run_module, artifacts, trusted, check_mode):
    status, result = run_module(artifact_verify, {
        "path": [str(p) for p in artifacts], "trusted_keys": trusted}, check_mode=check_mode)
    assert status == "exit" and result["accepted"] and result["changed"] is False
    assert [f["signers"] for f in result["files"]] == [["op0", "op1"], ["op0"]]
    assert result["files"][0]["reasons"][0]["reason"] == "ok"


def test_glob_and_threshold(run_module, artifacts, trusted, tmp_path):
    args = {"path": [str(tmp_path / "*.trail.json")], "trusted_keys": trusted, "threshold": 2}
    results = [run_module(artifact_verify, args, check_mode=cm) for cm in (False, True)]
    assert results[0] == results[1]  # check mode is identical
    status, result = results[0]
    assert status == "fail" and result["accepted"] is False
    by_path = {f["path"]: f for f in result["files"]}
    assert by_path[str(artifacts[0])]["accepted"] is True
    assert by_path[str(artifacts[1])]["accepted"] is False
    expected = f"{artifacts[1]}: 1 of 2 required trusted keys signed it; only op0 signed"
    assert expected in result["msg"]
    assert "no events" not in result["msg"]
    assert str(artifacts[0]) + ":" not in result["msg"]


def test_revoked_unknown_and_digest_reasons(run_module, artifacts, trusted, keys):
    one = artifacts[0]
    _sign(one, keys[2])  # unknown key
    one.write_bytes(b"tampered\n")
    _sign(one, keys[1])  # valid over the new content, but revoked
    status, result = run_module(artifact_verify, {
        "path": [str(one)], "trusted_keys": trusted,
        "revoked_keys": [fs.npub(trusted[1]["pubkey"])]})
    assert status == "fail"
    reasons = [(r.get("name"), r["reason"]) for r in result["files"][0]["reasons"]]
    # a revoked key is reported as revoked whatever it signed
    assert reasons == [("op0", "digest-mismatch"), ("op1", "revoked-key"),
                       (None, "unknown-key"), ("op1", "revoked-key")]
    assert "event 3 (op1): revoked-key" in result["msg"]
    assert "event 2 (" + fs.public_key_hex(keys[2]) in result["msg"]


def test_missing_and_corrupt_sig_files(run_module, tmp_path, trusted):
    bare, corrupt = tmp_path / "bare", tmp_path / "corrupt"
    bare.write_bytes(b"x")
    corrupt.write_bytes(b"y")
    (tmp_path / "corrupt.sig").write_text('[{"id": 1},')
    status, result = run_module(artifact_verify, {
        "path": [str(bare), str(corrupt)], "trusted_keys": trusted})
    assert status == "fail"
    assert f"no events in {bare}.sig" in result["msg"]
    assert f"{corrupt}.sig: invalid JSON at line 1" in result["msg"]
    assert [f["accepted"] for f in result["files"]] == [False, False]


def test_missing_artifact_and_unmatched_glob(run_module, tmp_path, trusted):
    status, result = run_module(artifact_verify, {
        "path": [str(tmp_path / "nothing")], "trusted_keys": trusted})
    assert status == "fail" and "cannot read artifact" in result["msg"]
    status, result = run_module(artifact_verify, {
        "path": [str(tmp_path / "*.none")], "trusted_keys": trusted})
    assert status == "fail" and "no file matches" in result["msg"]


@pytest.mark.parametrize("args, expected", [
    ({"trusted_keys": [{"name": "x", "pubkey": "00"}]}, r"trusted_keys[0].pubkey"),
    ({"revoked_keys": ["nope"]}, "revoked_keys[0]"),
    ({"threshold": 0}, "threshold"),
    ({"trusted_keys": [{"name": "x"}]}, "pubkey"),
])
def test_bad_policy_options_fail_cleanly(run_module, artifacts, trusted, args, expected):
    status, result = run_module(artifact_verify, {
        "path": [str(artifacts[0])], "trusted_keys": trusted, **args})
    assert status == "fail" and expected in result["msg"]


def test_result_is_json_serialisable(run_module, artifacts, trusted):
    status, result = run_module(artifact_verify, {"path": [str(artifacts[0])],
                                                   "trusted_keys": trusted})
    assert status == "exit" and result["accepted"] is True
    assert json.loads(json.dumps(result)) == result
