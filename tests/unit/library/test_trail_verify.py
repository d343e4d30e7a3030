"""trail_verify module tests, run in-process through the run_module fixture."""

from __future__ import annotations

import hashlib

import pytest
import trail_verify
from fleet import signing
from fleet import trail as ft


def worklog(trail_id: str, *paths: str) -> list[dict]:
    return [{"op": "TRAIL_BEGIN", "agent": "bot", "trail_id": trail_id, "ts": 1},
            *({"op": "FILE_READ", "path": p} for p in paths),
            {"op": "TRAIL_END", "status": 0}]


@pytest.fixture
def trails(tmp_path):
    made = {}
    for name, paths in {"a": ("x.py",), "b": ("y.py", "z.py"), "c": ()}.items():
        path = tmp_path / f"{name}.trail"
        path.write_bytes(ft.compile_bytes(worklog(name, *paths)))
        made[name] = path
    (tmp_path / "notes.txt").write_text("not a trail")
    return made


def fp(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_single_valid_file(run_module, trails):
    status, result = run_module(trail_verify, {"path": str(trails["b"])})
    assert status == "exit", result
    assert result["changed"] is False and result["valid"] is True
    assert result["count"] == 1
    (report,) = result["trails"]
    assert report["fingerprint"] == fp(trails["b"])
    assert report["steps"] == 4
    assert report["histogram"] == {"FILE_READ": 2, "TRAIL_BEGIN": 1, "TRAIL_END": 1}
    assert report["trail_id"] == "b" and report["agent"] == "bot"
    assert report["signers"] == []


def test_directory_with_default_pattern(run_module, trails, tmp_path):
    status, result = run_module(trail_verify, {"path": str(tmp_path)})
    assert status == "exit", result
    assert [t["path"] for t in result["trails"]] == [str(trails[n]) for n in "abc"]


def test_glob_in_path(run_module, trails, tmp_path):
    status, result = run_module(trail_verify, {"path": str(tmp_path / "[ab].trail")})
    assert status == "exit", result
    assert result["count"] == 2


def test_recursive_pattern(run_module, trails, tmp_path):
    sub = tmp_path / "deep" / "er"
    sub.mkdir(parents=True)
    (sub / "d.trail").write_bytes(trails["a"].read_bytes())
    status, result = run_module(trail_verify, {"path": str(tmp_path), "pattern": "**/*.trail"})
    assert status == "exit" and result["count"] == 4


def test_tampered_trail_fails_with_findings(run_module, trails, tmp_path):
    data = bytearray(trails["b"].read_bytes())
    data[-1] ^= 0x01  # last byte of the last table string
    trails["b"].write_bytes(bytes(data))
    status, result = run_module(trail_verify, {"path": str(tmp_path)})
    assert status == "fail"
    assert result["valid"] is False
    assert result["invalid"] == [str(trails["b"])]
    bad = next(t for t in result["trails"] if t["path"] == str(trails["b"]))
    assert [f["code"] for f in bad["findings"]] == ["KEY_MISMATCH"]
    assert isinstance(bad["findings"][0]["offset"], int)
    assert "KEY_MISMATCH" in result["msg"] and str(trails["b"]) in result["msg"]
    assert result["findings"][0].startswith(f"{trails['b']}:offset 0x")


def test_expected_fingerprint_string_and_mismatch(run_module, trails):
    status, _ = run_module(trail_verify, {"path": str(trails["a"]),
                                          "expected_fingerprint": fp(trails["a"])})
    assert status == "exit"
    status, result = run_module(trail_verify, {"path": str(trails["a"]),
                                               "expected_fingerprint": "0" * 64})
    assert status == "fail"
    assert result["trails"][0]["findings"][0]["code"] == "FINGERPRINT_MISMATCH"


def test_expected_fingerprint_dict(run_module, trails, tmp_path):
    expected = {"a.trail": fp(trails["a"]), str(trails["b"]): fp(trails["b"]),
                "c.trail": fp(trails["a"])}
    status, result = run_module(trail_verify, {"path": str(tmp_path),
                                               "expected_fingerprint": expected})
    assert status == "fail"
    assert result["invalid"] == [str(trails["c"])]
    del expected["c.trail"]
    status, result = run_module(trail_verify, {"path": str(tmp_path),
                                               "expected_fingerprint": expected})
    assert status == "fail" and result["invalid"] == [str(trails["c"])]
    assert "no entry for this trail" in result["msg"]


def test_expected_fingerprint_must_look_like_sha256(run_module, trails):
    status, result = run_module(trail_verify, {"path": str(trails["a"]),
                                               "expected_fingerprint": "abc"})
    assert status == "fail" and "64 hex" in result["msg"]
    status, result = run_module(trail_verify, {"path": str(trails["a"]),
                                               "expected_fingerprint": [1]})
    assert status == "fail" and "string or a dictionary" in result["msg"]


@pytest.mark.parametrize("check_mode", [False, True])
def test_check_mode_is_identical(run_module, trails, tmp_path, check_mode):
    args = {"path": str(tmp_path)}
    normal = run_module(trail_verify, args)
    checked = run_module(trail_verify, args, check_mode=check_mode)
    assert normal == checked


def test_check_mode_identical_on_failure(run_module, trails):
    trails["a"].write_bytes(trails["a"].read_bytes() + b"!")
    args = {"path": str(trails["a"])}
    assert run_module(trail_verify, args) == run_module(trail_verify, args, check_mode=True)


def test_missing_path_fails_clearly(run_module, tmp_path):
    status, result = run_module(trail_verify, {"path": str(tmp_path / "nope.trail")})
    assert status == "fail"
    assert "nope.trail" in result["msg"] and "READ_ERROR" in result["msg"]
    assert "No such file" in result["msg"]


def test_empty_directory(run_module, tmp_path):
    status, result = run_module(trail_verify, {"path": str(tmp_path)})
    assert status == "fail" and "no trail files match" in result["msg"]
    status, result = run_module(trail_verify, {"path": str(tmp_path), "allow_empty": True})
    assert status == "exit" and result["count"] == 0


def test_too_large(run_module, trails):
    status, result = run_module(trail_verify, {"path": str(trails["a"]), "max_size": 5})
    assert status == "fail" and "TOO_LARGE" in result["msg"]


def test_threshold_without_trusted_keys(run_module, trails):
    status, result = run_module(trail_verify, {"path": str(trails["a"]),
                                               "signature_threshold": 1})
    assert status == "fail" and "trusted_keys is empty" in result["msg"]




def make_key(name):
    secret = signing.generate_secret_key()
    return secret, {"name": name, "pubkey": signing.public_key_hex(secret)}


def test_signature_policy(run_module, trails):
    secret_a, key_a = make_key("ops-a")
    _, key_b = make_key("ops-b")
    path = str(trails["a"])
    args = {"path": path, "trusted_keys": [key_a, key_b]}
    status, result = run_module(trail_verify, args)
    assert status == "fail" and "SIGNATURE_MISSING" in result["msg"]
    data = trails["a"].read_bytes()
    signing.write_sig_file(path + ".sig", [signing.sign_artifact(data, secret_a)])
    status, result = run_module(trail_verify, args)
    assert status == "exit", result
    assert result["trails"][0]["signers"] == ["ops-a"]
    status, result = run_module(trail_verify, dict(args, signature_threshold=2))
    assert status == "fail" and "SIGNATURE_REJECTED" in result["msg"]
    status, result = run_module(trail_verify, dict(args, revoked_keys=[key_a["pubkey"]]))
    assert status == "fail" and "revoked" in result["msg"]
    status, result = run_module(trail_verify, dict(args, signature_threshold=0,
                                                   revoked_keys=[key_a["pubkey"]]))
    assert status == "exit" and result["trails"][0]["signers"] == []
    # the directory scan never treats .sig files as trails
    status, result = run_module(trail_verify, {"path": str(trails["a"].parent),
                                               "pattern": "*"})
    assert "a.trail.sig" not in {t["path"].rsplit("/", 1)[-1] for t in result["trails"]}


def test_a_trail_whose_strings_name_a_banned_provider_is_invalid(run_module, tmp_path):
    path = tmp_path / "bad.trail"
    path.write_bytes(ft.compile_bytes(worklog("t", "notes/for-claude.md")))
    status, result = run_module(trail_verify, {"path": str(path), "banned": ["anthropic"]})
    assert status == "fail" and "BANNED_PROVIDER" in result["msg"]
    status, result = run_module(trail_verify, {"path": str(path)})
    assert status == "exit"
