"""Tests for the trust_root module (run in-process with the run_module fixture)."""

from __future__ import annotations

import json

import pytest
import trust_root
from fleet import signing as fs
from fleet import trust_root as tr

FUTURE = "2099-01-01T00:00:00Z"
NOW = "2030-06-01T00:00:00Z"


@pytest.fixture(scope="module")
def secrets():
    return [fs.generate_secret_key() for _ in range(5)]


def _entries(secrets, indexes, prefix="root"):
    return [{"name": f"{prefix}{i}", "pubkey": fs.public_key_hex(secrets[i])} for i in indexes]


def _write(path, doc, *signers):
    path.write_bytes(doc.raw)
    fs.write_sig_file(f"{path}.sig", [fs.sign_artifact(doc.raw, k) for k in signers])
    return path


@pytest.fixture
def env(tmp_path, secrets):
    """A pinned root v1 (root0..root2, threshold 2) and paths for the key list and state."""
    pin = tmp_path / "etc" / "trust-root.json"
    pin.parent.mkdir()
    pin.write_bytes(tr.make_root(_entries(secrets, [0, 1, 2]), 2, FUTURE).raw)
    return {"pin": pin, "key_list": tmp_path / "key-list.json",
            "state": tmp_path / "var" / "trust" / "accepted.json", "dir": tmp_path}


def _key_list(secrets, version=1, threshold=1, expires=FUTURE):
    return tr.make_key_list(_entries(secrets, [3, 4], "op"), [], threshold, expires, version)


def _args(env, **extra):
    args = {"pin": str(env["pin"]), "key_list": str(env["key_list"]), "state": str(env["state"]),
            "now": NOW}
    args.update(extra)
    return args


def test_verify_records_version_and_returns_policy(run_module, env, secrets):
    doc = _key_list(secrets, threshold=2)
    _write(env["key_list"], doc, secrets[0], secrets[2])
    status, result = run_module(trust_root, _args(env), diff=True)
    assert status == "exit" and result["changed"] is True
    assert result["trusted_keys"] == doc.data["trusted_keys"]
    assert result["revoked_keys"] == [] and result["threshold"] == 2
    assert result["signers"] == ["root0", "root2"] and result["version"] == 1
    assert result["previous_version"] is None and result["pin_version"] == 1
    assert json.loads(env["state"].read_text())["sha256"] == doc.sha256
    assert env["state"].stat().st_mode & 0o777 == 0o644
    assert '"version": 1' in result["diff"]["after"]
    status, again = run_module(trust_root, _args(env))
    assert status == "exit" and again["changed"] is False and again["previous_version"] == 1


def test_check_mode_records_nothing(run_module, env, secrets):
    _write(env["key_list"], _key_list(secrets), secrets[0], secrets[1])
    status, result = run_module(trust_root, _args(env), check_mode=True)
    assert status == "exit" and result["changed"] is True and result["threshold"] == 1
    assert not env["state"].exists()


@pytest.mark.parametrize("check_mode", [False, True])
def test_unsigned_or_under_signed_key_list_fails_naming_document(run_module, env, secrets,
                                                                  check_mode):
    _write(env["key_list"], _key_list(secrets), secrets[1], secrets[3], secrets[4])
    status, result = run_module(trust_root, _args(env), check_mode=check_mode)
    assert status == "fail" and not env["state"].exists()
    assert result["msg"].startswith(f"{env['key_list']}: signed by 1 of the 3 pinned root keys, "
                                    f"2 required (signed by root1)")
    assert "trusted_keys" not in result


def test_rollback_equivocation_expiry(run_module, env, secrets):
    _write(env["key_list"], _key_list(secrets, version=2), secrets[0], secrets[1])
    assert run_module(trust_root, _args(env))[0] == "exit"
    recorded = env["state"].read_bytes()
    _write(env["key_list"], _key_list(secrets, version=1), secrets[0], secrets[1])
    status, result = run_module(trust_root, _args(env))
    assert status == "fail" and "version 1 is older than version 2" in result["msg"]
    _write(env["key_list"], _key_list(secrets, version=2, threshold=2), secrets[0], secrets[1])
    status, result = run_module(trust_root, _args(env))
    assert status == "fail" and "already accepted with different content" in result["msg"]
    _write(env["key_list"], _key_list(secrets, version=3, expires="2030-01-01T00:00:00Z"),
           secrets[0], secrets[1])
    status, result = run_module(trust_root, _args(env))
    assert status == "fail" and "expired at 2030-01-01T00:00:00Z" in result["msg"]
    assert env["state"].read_bytes() == recorded
    _write(env["key_list"], _key_list(secrets, version=3), secrets[0], secrets[1])
    status, result = run_module(trust_root, _args(env))
    assert status == "exit" and result["changed"] and result["previous_version"] == 2


def test_missing_pin_and_corrupt_state(run_module, env, secrets):
    _write(env["key_list"], _key_list(secrets), secrets[0], secrets[1])
    status, result = run_module(trust_root, _args(env, pin=str(env["dir"] / "none.json")))
    assert status == "fail" and "no trust root is pinned" in result["msg"]
    env["state"].parent.mkdir(parents=True)
    env["state"].write_text("garbage")
    status, result = run_module(trust_root, _args(env))
    assert status == "fail" and result["msg"].startswith(f"{env['state']}: invalid JSON")


def test_required_options(run_module, env):
    status, result = run_module(trust_root, {"pin": str(env["pin"])})
    assert status == "fail" and "key_list" in result["msg"]
    status, result = run_module(trust_root, {"operation": "install", "new_root": ["x"]})
    assert status == "fail" and "fingerprint" in result["msg"]


# --------------------------------------------------------------------------
# rotate / install

def _new_root(env, secrets, indexes, version, signers, name="new-root.json"):
    doc = tr.make_root(_entries(secrets, indexes), 2, FUTURE, version)
    return doc, _write(env["dir"] / name, doc, *signers)


def test_rotate_check_mode_diff_then_apply(run_module, env, secrets):
    doc, path = _new_root(env, secrets, [1, 2, 3], 2, [secrets[1], secrets[2], secrets[3]])
    before = env["pin"].read_bytes()
    args = {"operation": "rotate", "pin": str(env["pin"]), "new_root": [str(path)], "now": NOW}
    status, result = run_module(trust_root, args, check_mode=True, diff=True)
    assert status == "exit" and result["changed"] and env["pin"].read_bytes() == before
    assert result["previous_version"] == 1 and result["version"] == 2
    assert '"version": 2' in result["diff"]["after"] and '"version": 1' in result["diff"]["before"]
    status, result = run_module(trust_root, args)
    assert status == "exit" and result["changed"] and env["pin"].read_bytes() == doc.raw
    assert result["steps"][0]["signed_by_current"] == ["root1", "root2"]
    assert env["pin"].stat().st_mode & 0o777 == 0o644
    status, result = run_module(trust_root, args)
    assert status == "exit" and result["changed"] is False


def test_rotate_refused_without_current_threshold(run_module, env, secrets):
    _doc, path = _new_root(env, secrets, [2, 3, 4], 2, [secrets[2], secrets[3], secrets[4]])
    before = env["pin"].read_bytes()
    status, result = run_module(trust_root, {"operation": "rotate", "pin": str(env["pin"]),
                                             "new_root": [str(path)], "now": NOW})
    assert status == "fail" and env["pin"].read_bytes() == before
    assert result["msg"].startswith(f"{path}: signed by 1 of the 3 currently pinned root keys")


def test_rotate_needs_existing_pin(run_module, env, secrets):
    _doc, path = _new_root(env, secrets, [1, 2, 3], 2, secrets[:4])
    status, result = run_module(trust_root, {"operation": "rotate",
                                             "pin": str(env["dir"] / "absent.json"),
                                             "new_root": [str(path)]})
    assert status == "fail" and "no trust root is pinned" in result["msg"]


def test_install_on_fresh_host_checks_fingerprint(run_module, env, secrets):
    doc, path = _new_root(env, secrets, [1, 2, 3], 5, [secrets[1], secrets[2]])
    target = env["dir"] / "fresh" / "trust-root.json"
    args = {"operation": "install", "pin": str(target), "new_root": [str(path)], "now": NOW}
    status, result = run_module(trust_root, dict(args, fingerprint="0" * 64))
    assert status == "fail" and "not the expected fingerprint" in result["msg"]
    status, result = run_module(trust_root, dict(args, fingerprint=doc.sha256), check_mode=True)
    assert status == "exit" and result["changed"] and result["installed"] and not target.exists()
    status, result = run_module(trust_root, dict(args, fingerprint=doc.sha256))
    assert status == "exit" and result["changed"] and target.read_bytes() == doc.raw
    assert target.parent.stat().st_mode & 0o777 == 0o755
    status, result = run_module(trust_root, dict(args, fingerprint=doc.sha256))
    assert status == "exit" and result["changed"] is False and result["installed"] is False


def test_install_over_existing_pin_must_be_a_rotation(run_module, env, secrets):
    # signed by its own keys only: fine for a fresh host, not for one pinned to root v1
    doc, path = _new_root(env, secrets, [3, 4], 2, [secrets[3], secrets[4]])
    before = env["pin"].read_bytes()
    status, result = run_module(trust_root, {"operation": "install", "pin": str(env["pin"]),
                                             "new_root": [str(path)], "fingerprint": doc.sha256,
                                             "now": NOW})
    assert status == "fail" and "0 of the 3 currently pinned root keys" in result["msg"]
    assert env["pin"].read_bytes() == before


def test_no_secret_in_results(run_module, env, secrets):
    _write(env["key_list"], _key_list(secrets), secrets[0], secrets[1])
    results = [run_module(trust_root, _args(env), diff=True)[1]]
    _doc, path = _new_root(env, secrets, [1, 2, 3], 2, secrets[1:4])
    results.append(run_module(trust_root, {"operation": "rotate", "pin": str(env["pin"]),
                                           "new_root": [str(path)], "now": NOW}, diff=True)[1])
    text = json.dumps(results)
    for key in secrets:
        assert key.secret_hex() not in text and key.nsec() not in text
