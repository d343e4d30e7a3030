"""Tests for the trailctl signing subcommands (keygen, sign, verify-sig)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fleet import signing as fs
from fleet_cli import trailctl_signing

CLI = Path(trailctl_signing.__file__)


def run(argv, capsys):
    """Parse like trailctl does (register on its subparsers) and run; -> (rc, out, err)."""
    parser = argparse.ArgumentParser(prog="trailctl")
    trailctl_signing.register(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args([str(a) for a in argv])
        rc = args.func(args)
    except SystemExit as exc:
        rc = exc.code
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.fixture
def keyfile(tmp_path, capsys):
    path = tmp_path / "op.key"
    rc, _out, _ = run(["keygen", "-o", path], capsys)
    assert rc == 0
    return path


def _secret(path: Path) -> str:
    return path.read_text().strip()


def test_keygen_writes_0600_and_prints_public_key(tmp_path, capsys):
    path = tmp_path / "k"
    rc, out, err = run(["keygen", "-o", path], capsys)
    assert rc == 0 and err == ""
    assert path.stat().st_mode & 0o777 == 0o600
    secret = _secret(path)
    pub = fs.public_key_hex(secret)
    assert f"public key: {pub}" in out and f"npub: {fs.npub(pub)}" in out
    assert secret not in out


def test_keygen_refuses_to_overwrite(keyfile, capsys):
    before = keyfile.read_bytes()
    rc, out, err = run(["keygen", "-o", keyfile], capsys)
    assert rc == 1 and "refusing to overwrite" in err and out == ""
    assert keyfile.read_bytes() == before


def test_keygen_into_missing_directory(tmp_path, capsys):
    rc, _, err = run(["keygen", "-o", tmp_path / "no" / "k"], capsys)
    assert rc == 1 and "Traceback" not in err and "No such file" in err


def test_sign_is_idempotent_and_appends_per_key(tmp_path, keyfile, capsys):
    artifact = tmp_path / "t.json"
    artifact.write_text("{}")
    rc, out, _ = run(["sign", "--key", keyfile, artifact], capsys)
    assert rc == 0 and "signed by" in out and f"{artifact}.sig" in out
    first = (tmp_path / "t.json.sig").read_bytes()
    rc, out, _ = run(["sign", "--key", keyfile, artifact], capsys)
    assert rc == 0 and "already signed" in out
    assert (tmp_path / "t.json.sig").read_bytes() == first
    other = tmp_path / "other.key"
    assert run(["keygen", "-o", other], capsys)[0] == 0
    rc, _, _ = run(["sign", "--key", other, "--media-type", "application/json", artifact], capsys)
    assert rc == 0 and len(fs.read_sig_file(f"{artifact}.sig")) == 2
    for key in (keyfile, other):
        assert _secret(key) not in (tmp_path / "t.json.sig").read_text()


def test_sign_refuses_readable_key(tmp_path, keyfile, capsys):
    keyfile.chmod(0o644)
    artifact = tmp_path / "a"
    artifact.write_text("a")
    rc, out, err = run(["sign", "--key", keyfile, artifact], capsys)
    assert rc == 1 and "chmod 600" in err
    assert _secret(keyfile) not in out + err
    assert not (tmp_path / "a.sig").exists()


def test_sign_missing_artifact_continues_with_others(tmp_path, keyfile, capsys):
    good = tmp_path / "good"
    good.write_text("g")
    rc, _out, err = run(["sign", "--key", keyfile, tmp_path / "missing", good], capsys)
    assert rc == 1 and "cannot read artifact" in err and "Traceback" not in err
    assert (tmp_path / "good.sig").exists()


def _trusted(tmp_path, *keyfiles) -> Path:
    path = tmp_path / "trusted.yml"
    entries = [{"name": k.stem, "pubkey": fs.npub(fs.public_key_hex(_secret(k)))}
               for k in keyfiles]
    path.write_text(json.dumps(entries))  # JSON is YAML too
    return path


def test_verify_sig_accept_reject_and_reasons(tmp_path, keyfile, capsys):
    artifact = tmp_path / "t.json"
    artifact.write_text("{}")
    assert run(["sign", "--key", keyfile, artifact], capsys)[0] == 0
    trusted = _trusted(tmp_path, keyfile)
    rc, out, _ = run(["verify-sig", "--trusted-keys", trusted, artifact], capsys)
    assert rc == 0 and "accepted, signed by op" in out and "event 0: op: ok" in out

    rc, out, _ = run(["verify-sig", "--trusted-keys", trusted, "--threshold", "2", artifact],
                     capsys)
    assert rc == 1 and "REJECTED, 1 of 2" in out

    revoked = tmp_path / "revoked.yml"
    revoked.write_text(f"- {fs.public_key_hex(_secret(keyfile))}\n")
    rc, out, _ = run(["verify-sig", "--trusted-keys", trusted, "--revoked-keys", revoked,
                      artifact], capsys)
    assert rc == 1 and "event 0: op: revoked-key" in out

    artifact.write_text('{"x": 1}')
    rc, out, _ = run(["verify-sig", "--trusted-keys", trusted, artifact], capsys)
    assert rc == 1 and "event 0: op: digest-mismatch" in out


def test_verify_sig_unsigned_and_corrupt(tmp_path, keyfile, capsys):
    bare, corrupt = tmp_path / "bare", tmp_path / "corrupt"
    bare.write_text("b")
    corrupt.write_text("c")
    (tmp_path / "corrupt.sig").write_text("[1, 2")
    rc, out, err = run(["verify-sig", "--trusted-keys", _trusted(tmp_path, keyfile), bare,
                        corrupt], capsys)
    assert rc == 1 and "Traceback" not in out + err
    assert f"no events in {bare}.sig" in out
    assert f"{corrupt}.sig: invalid JSON at line 1" in out


@pytest.mark.parametrize("argv", [
    ["verify-sig", "--threshold", "0", "--trusted-keys", "t", "f"],
    ["verify-sig", "--threshold", "two", "--trusted-keys", "t", "f"],
    ["verify-sig", "f"],
    ["sign", "f"],
    ["keygen"],
])
def test_usage_errors_exit_2(argv, capsys):
    rc, _, err = run(argv, capsys)
    assert rc == 2 and "usage:" in err


def test_bad_trusted_keys_file_exits_1(tmp_path, capsys):
    bad = tmp_path / "t.yml"
    bad.write_text("- {name: a, pubkey: 1234}\n")
    rc, _, err = run(["verify-sig", "--trusted-keys", bad, "x"], capsys)
    assert rc == 1 and f"{bad}[0].pubkey" in err and "Traceback" not in err
    rc, _, err = run(["verify-sig", "--trusted-keys", tmp_path / "none.yml", "x"], capsys)
    assert rc == 1 and "cannot read key list" in err


def test_runs_from_a_checkout(tmp_path):
    """`python3 cli/trailctl_signing.py` works without installing anything."""
    key = tmp_path / "k"
    done = subprocess.run([sys.executable, str(CLI), "keygen", "-o", str(key)],
                          capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert "npub1" in done.stdout
