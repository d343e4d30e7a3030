"""Tests for trustctl, including an end-to-end bootstrap / sign / verify / rotate run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fleet import signing as fs
from fleet_cli import trustctl

CLI = Path(trustctl.__file__)
NOW = "2030-06-01T00:00:00Z"
FUTURE = "2099-01-01T00:00:00Z"


def run(argv, capsys):
    """Run trustctl in-process; -> (rc, out, err)."""
    try:
        rc = trustctl.main([str(a) for a in argv])
    except SystemExit as exc:
        rc = exc.code
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.fixture(scope="module")
def secrets():
    return [fs.generate_secret_key() for _ in range(4)]


@pytest.fixture
def keyfiles(tmp_path, secrets):
    paths = []
    for i, key in enumerate(secrets):
        path = tmp_path / f"root{i}.key"
        path.write_text(key.secret_hex() + "\n")
        path.chmod(0o600)
        paths.append(path)
    return paths


def _pub(secret):
    return fs.public_key_hex(secret)


@pytest.fixture
def root(tmp_path, secrets, capsys):
    path = tmp_path / "trust-root.json"
    rc, out, err = run(["init-root", "--threshold", 2, "--expires", FUTURE, "-o", path,
                        *[a for i in range(3) for a in ("--key", f"root{i}={_pub(secrets[i])}")]],
                       capsys)
    assert rc == 0, err
    assert "sha256: " in out
    return path


@pytest.fixture
def key_list(tmp_path, secrets, capsys):
    path = tmp_path / "key-list.json"
    trusted = tmp_path / "trusted.yml"
    entry = f"{{name: alice, pubkey: {_pub(secrets[3])}}}"
    trusted.write_text(f"fleet_trusted_keys:\n  - {entry}\n")
    rc, _, err = run(["init-key-list", "--trusted-keys", trusted, "--expires", FUTURE,
                      "-o", path], capsys)
    assert rc == 0, err
    return path


def _secret_texts(keyfiles):
    return [p.read_text().strip() for p in keyfiles]


def test_end_to_end_bootstrap_sign_verify_rotate(tmp_path, root, key_list, keyfiles, secrets,
                                                 capsys):
    outputs = []
    # an unsigned key list is refused, naming the document
    rc, out, err = run(["verify-key-list", "--pin", root, key_list], capsys)
    assert rc == 1 and out == ""
    assert f"{key_list}: signed by 0 of the 3 pinned root keys, 2 required" in err
    # one signer is not enough
    rc, out, _ = run(["sign", key_list, "--key", keyfiles[0]], capsys)
    outputs.append(out)
    assert rc == 0 and "1 signature(s)" in out
    rc, _, err = run(["verify-key-list", "--pin", root, key_list], capsys)
    assert rc == 1 and "signed by 1 of the 3 pinned root keys, 2 required (signed by root0)" in err
    # a second operator signs: 2 of 3
    rc, out, _ = run(["sign", key_list, "--key", keyfiles[2]], capsys)
    outputs.append(out)
    assert rc == 0 and "2 signature(s)" in out
    state = tmp_path / "state" / "accepted.json"
    rc, out, err = run(["verify-key-list", "--pin", root, key_list, "--state", state, "--record"],
                       capsys)
    outputs.append(out)
    assert rc == 0, err
    assert "signed by root0, root2" in out and "recorded version 1" in out
    assert json.loads(state.read_text())["version"] == 1
    rc, out, _ = run(["verify-key-list", "--pin", root, key_list, "--state", state, "--record"],
                     capsys)
    assert rc == 0 and "unchanged" in out

    # rotate: root0 leaves, root3 joins; new root signed by 2 current and 2 of its own keys
    new_root = tmp_path / "trust-root-v2.json"
    rc, _, err = run(["init-root", "--threshold", 2, "--expires", FUTURE, "--version", 2,
                      "-o", new_root,
                      *[a for i in (1, 2, 3) for a in ("--key", f"root{i}={_pub(secrets[i])}")]],
                     capsys)
    assert rc == 0, err
    rc, _, err = run(["rotate", "--pin", root, new_root], capsys)
    assert rc == 1 and "signed by 0 of the 3 currently pinned root keys" in err
    assert run(["sign", new_root, "--key", keyfiles[1]], capsys)[0] == 0
    assert run(["sign", new_root, "--key", keyfiles[3]], capsys)[0] == 0
    rc, _, err = run(["rotate", "--pin", root, new_root], capsys)
    assert rc == 1 and "signed by 1 of the 3 currently pinned root keys" in err
    assert run(["sign", new_root, "--key", keyfiles[2]], capsys)[0] == 0
    pinned_before = root.read_bytes()
    rc, out, _ = run(["rotate", "--check", "--pin", root, new_root], capsys)
    assert rc == 0 and "would move from version 1 to 2" in out
    assert root.read_bytes() == pinned_before
    rc, out, err = run(["rotate", "--pin", root, new_root], capsys)
    outputs.append(out)
    assert rc == 0, err
    assert root.read_bytes() == new_root.read_bytes()
    assert root.stat().st_mode & 0o777 == 0o644
    rc, out, _ = run(["rotate", "--pin", root, new_root], capsys)
    assert rc == 0 and "unchanged" in out

    # the removed root0 no longer counts: the v1 key list (root0 + root2) now fails
    rc, _, err = run(["verify-key-list", "--pin", root, key_list], capsys)
    assert rc == 1 and "signed by 1 of the 3 pinned root keys" in err and "unknown-key" in err
    rc, out, _ = run(["inspect", key_list, "--pin", root], capsys)
    outputs.append(out)
    assert rc == 1 and "verdict: REJECTED" in out and "unknown-key" in out
    assert run(["sign", key_list, "--key", keyfiles[3]], capsys)[0] == 0
    rc, out, _ = run(["inspect", key_list, "--pin", root], capsys)
    outputs.append(out)
    assert rc == 0 and "verdict: accepted" in out and "alice" in out
    for secret in _secret_texts(keyfiles):
        assert all(secret not in text for text in outputs)
        for path in (key_list, Path(f"{key_list}.sig"), root, Path(f"{new_root}.sig"), state):
            assert secret not in path.read_text()


def test_rollback_equivocation_and_expiry(tmp_path, root, keyfiles, secrets, capsys):
    state = tmp_path / "accepted.json"
    docs = {}
    for name, version, threshold in (("v2", 2, 1), ("v1", 1, 1), ("v2b", 2, 2)):
        path = tmp_path / f"{name}.json"
        trusted = [a for i in (0, 1) for a in ("--trusted", f"op{i}={_pub(secrets[i])}")]
        assert run(["init-key-list", *trusted, "--threshold", threshold, "--version", version,
                    "--expires", "2031-01-01T00:00:00Z", "-o", path], capsys)[0] == 0
        for key in keyfiles[:2]:
            assert run(["sign", path, "--key", key], capsys)[0] == 0
        docs[name] = path
    base = ["--state", state, "--now", NOW]
    assert run(["verify-key-list", "--pin", root, docs["v2"], *base, "--record"], capsys)[0] == 0
    rc, _, err = run(["verify-key-list", "--pin", root, docs["v1"], *base], capsys)
    assert rc == 1 and "version 1 is older than version 2 already accepted" in err
    rc, _, err = run(["verify-key-list", "--pin", root, docs["v2b"], *base], capsys)
    assert rc == 1 and "version 2 was already accepted with different content" in err
    rc, _, err = run(["verify-key-list", "--pin", root, docs["v2"], "--now",
                      "2031-01-01T00:00:00Z"], capsys)
    assert rc == 1 and f"{docs['v2']}: expired at 2031-01-01T00:00:00Z" in err


def test_sign_refuses_non_documents_and_open_key_files(tmp_path, keyfiles, root, capsys):
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    rc, _, err = run(["sign", other, "--key", keyfiles[0]], capsys)
    assert rc == 1 and f"{other}:" in err and not Path(f"{other}.sig").exists()
    keyfiles[0].chmod(0o644)
    rc, _, err = run(["sign", root, "--key", keyfiles[0]], capsys)
    assert rc == 1 and "chmod 600" in err
    assert keyfiles[0].read_text().strip() not in err


def test_init_refuses_overwrite_and_bad_input(tmp_path, root, secrets, capsys):
    before = root.read_bytes()
    key = f"a={_pub(secrets[0])}"
    rc, _, err = run(["init-root", "--key", key, "--threshold", 1, "-o", root], capsys)
    assert rc == 1 and "use --force" in err and root.read_bytes() == before
    rc, _, err = run(["init-root", "--key", key, "--threshold", 2, "-o", tmp_path / "x"], capsys)
    assert rc == 1 and "threshold 2 is more than the 1 keys" in err
    rc, _, err = run(["init-root", "--key", "a=" + "0" * 64, "--threshold", 1,
                      "-o", tmp_path / "x"], capsys)
    assert rc == 1 and "not a valid secp256k1" in err
    rc, _, err = run(["init-root", "--key", "nokey", "--threshold", 1, "-o", tmp_path / "x"],
                     capsys)
    assert rc == 2 and "NAME=PUBKEY" in err
    rc, _, err = run(["init-root", "--key", key, "--threshold", 1, "--expires", "tomorrow",
                      "-o", tmp_path / "x"], capsys)
    assert rc == 1 and "RFC 3339" in err
    rc, _, _ = run(["init-root", "--key", key, "--threshold", 0, "-o", tmp_path / "x"], capsys)
    assert rc == 2
    rc, _, _ = run(["init-root", "--key", key, "--threshold", 1, "--force", "-o", root], capsys)
    assert rc == 0 and root.read_bytes() != before


@pytest.mark.parametrize("argv", [
    ["inspect", "missing.json"],
    ["verify-key-list", "--pin", "missing.json", "missing.json"],
    ["rotate", "--pin", "missing.json", "missing.json"],
])
def test_missing_files_are_exit_1_without_traceback(tmp_path, capsys, argv, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, _, err = run(argv, capsys)
    assert rc == 1 and "missing.json: cannot read" in err and "Traceback" not in err


def test_wrong_document_type_and_corrupt_sig(tmp_path, root, key_list, capsys):
    rc, _, err = run(["verify-key-list", "--pin", key_list, root], capsys)
    assert rc == 1 and "is a fleet-key-list document, expected fleet-trust-root" in err
    Path(f"{key_list}.sig").write_text("[{")
    rc, _, err = run(["verify-key-list", "--pin", root, key_list], capsys)
    assert rc == 1 and f"{key_list}.sig: invalid JSON at line 1" in err


def test_inspect_root_shows_self_signatures(root, keyfiles, capsys):
    assert run(["sign", root, "--key", keyfiles[0]], capsys)[0] == 0
    rc, out, _ = run(["inspect", root], capsys)
    assert rc == 0 and "fleet-trust-root version 1" in out
    assert "signed by 1 of 3 own root keys, 2 required (NOT enough): root0" in out


def test_runs_from_checkout(tmp_path, root):
    proc = subprocess.run([sys.executable, str(CLI), "inspect", str(root)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "fleet-trust-root" in proc.stdout
    proc = subprocess.run([sys.executable, str(CLI)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
