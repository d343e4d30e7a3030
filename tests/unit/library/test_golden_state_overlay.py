"""golden_state_overlay module (host side) and golden_state_overlay_check (controller side)."""

from __future__ import annotations

import grp
import json
import os
import pwd
from pathlib import Path

import golden_state_overlay
import pytest

ROOT = Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "golden_state"
USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
CHAIN = [{"name": "openrouter", "base_url": "https://openrouter.ai/api/v1", "model": "m1"}]


import golden_state_overlay_check as check_module  # noqa: E402


def args(tmp_path, version="1", secret="s3cr3t-token-value"):  # noqa: S107 - test value
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "files": [{"dest": str(home / "config.yaml"), "content": f"config {version}\n",
                   "owner": USER, "group": GROUP, "mode": "0640"},
                  {"dest": str(home / "notes.txt"), "content": f"notes {version}\n",
                   "owner": USER, "group": GROUP, "mode": "0644", "restart": False}],
        "secret_files": [{"dest": str(home / ".env"), "content": f"KEY={secret}{version}\n",
                          "owner": USER, "group": GROUP}],
        "state_dir": str(tmp_path / "state"),
        "snapshot_keep": 2,
    }


def test_apply_then_idempotent(run_module, tmp_path):
    status, result = run_module(golden_state_overlay, args(tmp_path))
    assert status == "exit" and result["changed"] and result["restart_required"]
    assert (tmp_path / "home" / "config.yaml").read_text() == "config 1\n"
    assert (tmp_path / "home" / ".env").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "home" / "notes.txt").stat().st_mode & 0o777 == 0o644
    status, result = run_module(golden_state_overlay, args(tmp_path))
    assert status == "exit" and not result["changed"] and not result["restart_required"]


def test_check_mode_changes_nothing(run_module, tmp_path):
    status, result = run_module(golden_state_overlay, args(tmp_path), check_mode=True)
    assert status == "exit" and result["changed"]
    assert list((tmp_path / "home").iterdir()) == []
    assert not (tmp_path / "state").exists()


def test_check_mode_tolerates_a_user_that_does_not_exist_yet(run_module, tmp_path):
    a = args(tmp_path)
    a["files"][0]["owner"] = "no-such-user-gs"
    status, result = run_module(golden_state_overlay, a, check_mode=True)
    assert status == "exit" and result["changed"]
    status, result = run_module(golden_state_overlay, a)
    assert status == "fail" and "files[0].owner" in result["msg"]
    assert list((tmp_path / "home").iterdir()) == []


def applied(outcome):
    """The result of a run that must succeed (setup runs included)."""
    status, result = outcome
    assert status == "exit", result.get("msg")
    return result


def test_diff_masks_secrets_and_no_secret_in_result(run_module, tmp_path):
    assert applied(run_module(golden_state_overlay, args(tmp_path)))["changed"]
    status, result = run_module(golden_state_overlay, args(tmp_path, "2"), diff=True)
    assert status == "exit"
    text = repr(result)
    assert "s3cr3t-token-value" not in text
    befores = {d["before_header"].split()[0]: d for d in result["diff"]}
    assert befores[str(tmp_path / "home" / "config.yaml")]["after"] == "config 2\n"
    assert "KEY" not in befores[str(tmp_path / "home" / ".env")]["after"]


def test_only_non_restart_files_changed_needs_no_restart(run_module, tmp_path):
    assert applied(run_module(golden_state_overlay, args(tmp_path)))["changed"]
    a = args(tmp_path)
    a["files"][1]["content"] = "other notes\n"
    result = applied(run_module(golden_state_overlay, a))
    assert result["changed"] and not result["restart_required"]


def test_snapshot_rotation(run_module, tmp_path):
    for version in range(1, 6):
        result = applied(run_module(golden_state_overlay, args(tmp_path, str(version))))
        assert result["changed"] is True
    snaps = sorted(os.listdir(tmp_path / "state" / "snapshots"))
    assert len(snaps) == 2 and result["snapshot"] == snaps[-1] and result["rotated"]


@pytest.mark.parametrize(("change", "message"), [
    (lambda a: a["files"][0].update(mode="rw-r"), "files[0].mode"),
    (lambda a: a["files"][0].update(dest="relative/x"), "must be an absolute path"),
    (lambda a: a["files"][1].update(dest=a["files"][0]["dest"]), "is also files[0]"),
    (lambda a: a["files"][0].update(dest="/nonexistent-gs/dir/config.yaml"), "does not exist"),
    (lambda a: a.update(snapshot_keep=0), "snapshot_keep"),
    (lambda a: a.update(files=[], secret_files=[]), "at least one file"),
])
def test_bad_input_fails_without_writing(run_module, tmp_path, change, message):
    a = args(tmp_path)
    change(a)
    status, result = run_module(golden_state_overlay, a)
    assert status == "fail" and message in result["msg"]
    assert not (tmp_path / "home" / "config.yaml").exists()


# -- the controller-side check module -------------------------------------------

def check_args(tmp_path, base=None, **extra):
    config_src = ROLE / "files" / "overlay" / "config.yaml"
    return {"config": {"src": str(config_src),
                       "content": base if base is not None else config_src.read_text()},
            "providers": CHAIN, "header": "# managed\n",
            "files": [{"src": "/x/channel_directory.json", "content": '{"a": 1}'}],
            "secret_files": [{"src": "/x/api.env", "content": "KEY=hidden-value"}],
            "schema": str(ROLE / "files" / "schema" / "config.v1.schema.json"), **extra}


def test_check_returns_rendered_config(run_module, tmp_path):
    status, result = run_module(check_module, check_args(tmp_path))
    assert status == "exit" and not result["changed"]
    assert result["config_content"].startswith("# managed\nmodel:\n")
    assert "hidden-value" not in repr(result)


def test_check_reports_every_error_with_file_and_path(run_module, tmp_path):
    base = "model: {}\nagent: {max_turns: lots}\ntoolsets: [web]\nbogus: 1\n"
    a = check_args(tmp_path, base)
    a["files"][0]["content"] = '{"a": 1,,}'
    status, result = run_module(check_module, a, check_mode=True)
    assert status == "fail"
    src = a["config"]["src"]
    assert f"{src}: $.agent.max_turns: 'lots' is not of type 'integer'" in result["errors"]
    assert any(e.startswith(f"{src}: $: Additional properties") for e in result["errors"])
    assert any(e.startswith(f"{src}: $: 'terminal' is a required") for e in result["errors"])
    assert any(e.startswith("/x/channel_directory.json: invalid JSON at line 1 column 9")
               for e in result["errors"])
    assert "no host file was changed" in result["msg"]


def test_check_signatures(run_module, tmp_path):
    from fleet import signing as fleet_signing
    key = fleet_signing.generate_secret_key()
    pub = fleet_signing.public_key_hex(key)
    src = tmp_path / "config.yaml"
    src.write_text((ROLE / "files" / "overlay" / "config.yaml").read_text())
    other = tmp_path / "SOUL.md"
    other.write_text("soul\n")
    a = check_args(tmp_path, src.read_text(), require_signatures=True,
                   trusted_keys=[{"name": "alice", "pubkey": pub}])
    a["config"]["src"] = str(src)
    a["files"] = [{"src": str(other), "content": "soul\n"}]
    a["secret_files"] = []
    status, result = run_module(check_module, a)
    assert status == "fail"
    assert any("SOUL.md: signature check failed, 0 of 1" in e for e in result["errors"])
    for path in (src, other):
        fleet_signing.write_sig_file(str(path) + ".sig",
                                     [fleet_signing.sign_artifact(path.read_bytes(), key)])
    status, result = run_module(check_module, a)
    assert status == "exit", result.get("msg")
    assert result["signers"][str(other)] == ["alice"]
    assert result["signer_keys"] == {str(src): [pub], str(other): [pub]}
    other.write_text("tampered\n")
    status, result = run_module(check_module, a)
    assert status == "fail" and "digest-mismatch" in result["msg"]


def test_check_signer_keys_count_only_trusted_unrevoked_keys(run_module, tmp_path):
    from fleet import signing as fleet_signing
    keys = [fleet_signing.generate_secret_key() for _ in range(3)]
    alice, bob, carol = (fleet_signing.public_key_hex(k) for k in keys)
    src = tmp_path / "config.yaml"
    src.write_text((ROLE / "files" / "overlay" / "config.yaml").read_text())
    fleet_signing.write_sig_file(str(src) + ".sig", [
        fleet_signing.sign_artifact(src.read_bytes(), key) for key in keys])
    a = check_args(tmp_path, src.read_text(), require_signatures=True,
                   trusted_keys=[{"name": "alice", "pubkey": alice},
                                 {"name": "bob", "pubkey": bob}],
                   revoked_keys=[bob])
    a["config"]["src"] = str(src)
    a["files"], a["secret_files"] = [], []
    result = applied(run_module(check_module, a))
    assert result["signer_keys"] == {str(src): [alice]}  # carol untrusted, bob revoked
    assert carol not in repr(result["signer_keys"])


def test_check_without_signatures_returns_empty_signer_keys(run_module, tmp_path):
    assert applied(run_module(check_module, check_args(tmp_path)))["signer_keys"] == {}


def test_apply_records_signatures_for_later_judging(run_module, tmp_path):
    key = "AB" * 32
    a = args(tmp_path)
    a["signatures"] = {"roles/golden_state/files/overlay/config.yaml": [key]}
    assert applied(run_module(golden_state_overlay, a))["changed"]
    state = json.loads((tmp_path / "state" / "state.json").read_text())
    assert state["signatures"] == {"roles/golden_state/files/overlay/config.yaml": [key.lower()]}
    b = args(tmp_path, "2")  # no record for the new set: unknown
    result = applied(run_module(golden_state_overlay, b))
    manifest = json.loads((tmp_path / "state" / "snapshots" / result["snapshot"]
                           / "manifest.json").read_text())
    assert manifest["signatures"] == state["signatures"]
    assert "signatures" not in json.loads((tmp_path / "state" / "state.json").read_text())


def test_apply_refuses_a_malformed_signature_record(run_module, tmp_path):
    a = args(tmp_path)
    a["signatures"] = {"config.yaml": ["not-a-key"]}
    status, result = run_module(golden_state_overlay, a)
    assert status == "fail" and "signatures['config.yaml']" in result["msg"]
    assert not (tmp_path / "home" / "config.yaml").exists()


def test_check_requires_trusted_keys_when_signatures_required(run_module, tmp_path):
    status, result = run_module(check_module, check_args(tmp_path, require_signatures=True))
    assert status == "fail" and "the trust decision lists no trusted key" in result["msg"]
