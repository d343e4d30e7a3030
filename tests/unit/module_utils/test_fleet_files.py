"""The shared file helpers: atomic writes, private (secret) files, text for the loaders."""

from __future__ import annotations

import os
import stat

import pytest
from fleet import files


def test_atomic_write_replaces_with_the_mode_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "pull.json"
    target.write_text("old")
    files.atomic_write(str(target), b"new", mode=0o600)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["pull.json"]


def test_atomic_write_refused_by_before_replace_keeps_the_old_file(tmp_path):
    target = tmp_path / "unit.service"
    target.write_text("old")
    seen = []

    def refuse(tmp: str) -> None:
        seen.append(open(tmp, "rb").read())  # noqa: SIM115 (closed at once, a test)
        raise ValueError("systemd-analyze refused it")

    with pytest.raises(ValueError, match="refused"):
        files.atomic_write(str(target), b"new", before_replace=refuse)
    assert seen == [b"new"]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["unit.service"]


def test_fsync_dir_accepts_a_directory_and_refuses_a_missing_one(tmp_path):
    files.fsync_dir(str(tmp_path))
    with pytest.raises(FileNotFoundError):
        files.fsync_dir(str(tmp_path / "missing"))


def test_read_private_file_reads_a_0600_file(tmp_path):
    key = tmp_path / "key"
    key.write_bytes(b"secret\n")
    key.chmod(0o600)
    assert files.read_private_file(str(key)) == b"secret\n"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620])
def test_read_private_file_refuses_others_access_without_showing_content(tmp_path, mode):
    key = tmp_path / "key"
    key.write_bytes(b"do-not-print")
    key.chmod(mode)
    with pytest.raises(PermissionError) as refused:
        files.read_private_file(str(key))
    assert f"chmod 600 {key}" in str(refused.value)
    assert "do-not-print" not in str(refused.value)


def test_read_private_file_does_not_follow_a_symlink(tmp_path):
    key = tmp_path / "key"
    key.write_bytes(b"secret")
    key.chmod(0o600)
    (tmp_path / "link").symlink_to(key)
    with pytest.raises(OSError):
        files.read_private_file(str(tmp_path / "link"))


def test_read_text_returns_the_text(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text("version: 1\n")
    assert files.read_text(str(path), "config policy") == "version: 1\n"


def test_read_text_names_the_file_and_what_it_is(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(files.ReadError, match=f"^{missing}: cannot read pull configuration: "):
        files.read_text(str(missing), "pull configuration")
    latin = tmp_path / "keys.yml"
    latin.write_bytes(b"- name: caf\xe9\n")
    with pytest.raises(files.ReadError) as bad:
        files.read_text(str(latin), "key list")
    assert str(bad.value) == f"{latin}: key list is not UTF-8 (byte offset 11)"
    assert isinstance(bad.value, ValueError)


def test_read_text_refuses_a_directory(tmp_path):
    with pytest.raises(files.ReadError, match="cannot read argument specs"):
        files.read_text(str(tmp_path), "argument specs")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a file someone else's")
def test_read_private_file_refuses_a_file_owned_by_someone_else(tmp_path):
    key = tmp_path / "key"
    key.write_bytes(b"secret")
    key.chmod(0o600)
    os.chown(key, 65534, 65534)
    with pytest.raises(PermissionError, match="owned by uid 65534"):
        files.read_private_file(str(key))
