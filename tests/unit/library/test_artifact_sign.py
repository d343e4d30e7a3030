"""Tests for the artifact_sign module (run in-process with the run_module fixture)."""

from __future__ import annotations

import json

import artifact_sign
import pytest
from fleet import signing as fs


@pytest.fixture
def key():
    return fs.generate_secret_key()


@pytest.fixture
def key_file(tmp_path, key):
    path = tmp_path / "signing.key"
    path.write_text(key.secret_hex() + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def files(tmp_path):
    paths = []
    for name, data in (("a.trail.json", b'{"a": 1}\n'), ("b.yml", b"b: 2\n")):
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def _assert_no_secret(result, key):
    dumped = json.dumps(result, default=str)
    for secret in (key.secret_hex(), key.secret_hex().upper(), key.nsec()):
        assert secret not in dumped


def signed(outcome):
    """The result of a run that must succeed (setup runs included)."""
    status, result = outcome
    assert status == "exit", result.get("msg")
    return result


def _args(files, key_file, **extra):
    return {"path": [str(p) for p in files], "key_file": str(key_file), **extra}


def test_signs_then_is_idempotent(run_module, files, key_file, key):
    status, result = run_module(artifact_sign, _args(files, key_file), diff=True)
    assert status == "exit" and result["changed"] is True
    assert result["pubkey"] == fs.public_key_hex(key)
    assert [f["changed"] for f in result["files"]] == [True, True]
    for path, entry in zip(files, result["files"], strict=True):
        events = fs.read_sig_file(f"{path}.sig")
        assert len(events) == 1 and events[0]["id"] == entry["event_id"]
        assert fs.verify_event(events[0]) == (True, "ok")
        assert ["name", path.name] in events[0]["tags"]
    assert len(result["diff"]) == 2 and result["diff"][0]["before"] == ""
    _assert_no_secret(result, key)

    before = [(p.with_name(p.name + ".sig")).read_bytes() for p in files]
    status, again = run_module(artifact_sign, _args(files, key_file), diff=True)
    assert status == "exit" and again["changed"] is False
    assert [f["event_id"] for f in again["files"]] == [f["event_id"] for f in result["files"]]
    assert again["diff"] == []
    assert [(p.with_name(p.name + ".sig")).read_bytes() for p in files] == before
    _assert_no_secret(again, key)


def test_check_mode_writes_nothing(run_module, files, key_file, key):
    status, result = run_module(artifact_sign, _args(files, key_file), check_mode=True, diff=True)
    assert status == "exit" and result["changed"] is True
    assert [f["changed"] for f in result["files"]] == [True, True]
    assert not any(p.with_name(p.name + ".sig").exists() for p in files)
    assert "after" in result["diff"][0]
    _assert_no_secret(result, key)


def test_check_mode_after_signing_is_unchanged(run_module, files, key_file):
    assert signed(run_module(artifact_sign, _args(files, key_file)))["changed"] is True
    status, result = run_module(artifact_sign, _args(files, key_file), check_mode=True)
    assert status == "exit" and result["changed"] is False


def test_second_signer_appends(run_module, tmp_path, files, key_file, key):
    assert signed(run_module(artifact_sign, _args(files[:1], key_file)))["changed"] is True
    other = fs.generate_secret_key()
    other_file = tmp_path / "other.key"
    other_file.write_text(other.nsec())
    other_file.chmod(0o400)
    status, result = run_module(artifact_sign, _args(files[:1], other_file, media_type="a/b",
                                                     name="trail"), diff=True)
    assert status == "exit" and result["changed"]
    events = fs.read_sig_file(f"{files[0]}.sig")
    assert [e["pubkey"] for e in events] == [fs.public_key_hex(key), fs.public_key_hex(other)]
    assert ["m", "a/b"] in events[1]["tags"] and ["name", "trail"] in events[1]["tags"]
    assert result["diff"][0]["before"].count("\n") == 3
    _assert_no_secret(result, other)


def test_resigns_changed_content(run_module, files, key_file):
    assert signed(run_module(artifact_sign, _args(files[:1], key_file)))["changed"] is True
    files[0].write_bytes(b"new content")
    result = signed(run_module(artifact_sign, _args(files[:1], key_file)))
    assert result["changed"] is True and result["files"][0]["events"] == 2


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_refuses_group_or_other_readable_key(run_module, files, key_file, key, mode):
    key_file.chmod(mode)
    status, result = run_module(artifact_sign, _args(files, key_file))
    assert status == "fail"
    assert "chmod 600" in result["msg"] and str(key_file) in result["msg"]
    assert not any(p.with_name(p.name + ".sig").exists() for p in files)
    _assert_no_secret(result, key)


def test_bad_key_file_content_does_not_leak(run_module, files, tmp_path):
    secretish = "ab" * 31 + "zz"  # almost a key
    path = tmp_path / "bad.key"
    path.write_text(secretish)
    path.chmod(0o600)
    status, result = run_module(artifact_sign, _args(files, path))
    assert status == "fail" and "64 hex characters" in result["msg"]
    assert secretish not in json.dumps(result)


def test_missing_key_file_and_missing_artifact(run_module, files, key_file, key, tmp_path):
    status, result = run_module(artifact_sign, _args(files, tmp_path / "nokey"))
    assert status == "fail" and "cannot read" in result["msg"]
    status, result = run_module(artifact_sign, _args([tmp_path / "missing"], key_file))
    assert status == "fail" and "missing: cannot read artifact" in result["msg"]
    _assert_no_secret(result, key)


def test_corrupt_sig_file_fails_with_position(run_module, files, key_file, key):
    files[0].with_name(files[0].name + ".sig").write_text("[\n{oops}\n]")
    status, result = run_module(artifact_sign, _args(files[:1], key_file))
    assert status == "fail"
    assert f"{files[0]}.sig: invalid JSON at line 2 column 2" in result["msg"]
    _assert_no_secret(result, key)


def test_key_option_is_no_log_and_secret_is_masked(run_module, monkeypatch, files, key_file,
                                                   key):
    seen = []

    class Recording(artifact_sign.AnsibleModule):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen.append(self)

    monkeypatch.setattr(artifact_sign, "AnsibleModule", Recording)
    status, _ = run_module(artifact_sign, _args(files, key_file))
    assert status == "exit"
    (module,) = seen
    assert module.argument_spec["key_file"]["no_log"] is True
    # Ansible masks these values in anything the module prints or logs.
    assert key.secret_hex() in module.no_log_values and key.nsec() in module.no_log_values
