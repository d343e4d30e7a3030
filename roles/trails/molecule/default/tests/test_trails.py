"""The sample trail is deployed byte for byte with the harness's ownership and modes."""

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[5]
SAMPLE = ROOT / "roles" / "trails" / "files" / "welcome.trail"
TRAILS = "/home/wizard/.hermes/trails"


def test_trail_directory_belongs_to_the_harness(host):
    d = host.file(TRAILS)
    assert d.is_directory
    assert (d.user, d.group, d.mode) == ("wizard", "wizard", 0o750)


def test_sample_trail_is_deployed_byte_identical(host):
    f = host.file(f"{TRAILS}/welcome.trail")
    assert f.is_file
    assert (f.user, f.group, f.mode) == ("wizard", "wizard", 0o640)
    assert f.sha256sum == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()


def test_only_listed_trails_and_no_temporary_files(host):
    assert host.check_output(f"ls -A {TRAILS}").split() == ["welcome.trail"]
