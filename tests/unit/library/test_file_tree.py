"""file_tree module: check mode, create, idempotence, refusals before writing, validate, owners."""

from __future__ import annotations

import base64
import grp
import os
import pwd
import stat

import file_tree
import pytest
from ansible.module_utils import basic

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="owners are managed only as root")
ME = pwd.getpwuid(os.geteuid()).pw_name
GROUP = grp.getgrgid(os.getegid()).gr_name


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def listing(directory):
    return sorted(os.listdir(directory))


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, "warn",
                        lambda self, warning, **kwargs: seen.append(warning))
    return seen


@pytest.fixture
def converge(run_module):
    def run(entries, check_mode=False, diff=False, **extra):
        return run_module(file_tree, {"entries": entries, **extra}, check_mode=check_mode,
                          diff=diff)
    return run


@pytest.fixture
def tree(tmp_path):
    """A role's worth of entries below tmp_path (owned by whoever runs the tests)."""
    base = {"owner": ME, "group": GROUP}
    return [
        {"path": f"{tmp_path}/lib", "state": "directory", "mode": "0750", **base},
        {"path": f"{tmp_path}/lib/tool.py", "content": "print('hi')\n", "mode": "0755",
         "diff": False, **base},
        {"path": f"{tmp_path}/lib/blob", "content_base64": base64.b64encode(b"\0\xff").decode(),
         **base},
        {"path": f"{tmp_path}/tool", "target": f"{tmp_path}/lib/tool.py", **base},
        {"path": f"{tmp_path}/tool.conf", "content": "a = 1\n", "mode": "0640", **base},
    ]


def test_check_mode_reports_and_changes_nothing(converge, tree, tmp_path):
    status, result = converge(tree, check_mode=True, diff=True)
    assert (status, result["changed"]) == ("exit", True)
    assert result["created"] == [entry["path"] for entry in tree]
    assert (result["updated"], result["removed"], result["unchanged"]) == ([], [], [])
    assert result["msg"] == "5 created, 0 updated, 0 removed, 0 unchanged"
    assert os.listdir(tmp_path) == []
    by_path = {d["after_header"]: d for d in result["diff"]}
    assert by_path[f"{tmp_path}/tool.conf"]["before_header"] == "/dev/null"
    assert by_path[f"{tmp_path}/tool.conf"]["after"] == f"# file 0640 {ME}:{GROUP}\na = 1\n"
    assert "print" not in by_path[f"{tmp_path}/lib/tool.py"]["after"]  # diff: false


def test_create_then_nothing_to_do(converge, tree, tmp_path):
    status, result = converge(tree)
    assert (status, result["changed"]) == ("exit", True)
    assert result["created"] == [entry["path"] for entry in tree]
    assert "diff" not in result
    assert listing(tmp_path) == ["lib", "tool", "tool.conf"]
    assert listing(tmp_path / "lib") == ["blob", "tool.py"]
    assert mode_of(tmp_path / "lib") == 0o750
    assert (tmp_path / "lib/tool.py").read_text() == "print('hi')\n"
    assert mode_of(tmp_path / "lib/tool.py") == 0o755
    assert (tmp_path / "lib/blob").read_bytes() == b"\0\xff"
    assert mode_of(tmp_path / "lib/blob") == 0o644
    assert os.readlink(tmp_path / "tool") == f"{tmp_path}/lib/tool.py"
    assert (tmp_path / "tool.conf").read_text() == "a = 1\n"
    assert mode_of(tmp_path / "tool.conf") == 0o640
    status, again = converge(tree, diff=True)
    assert (status, again["changed"], again["created"], again["updated"]) == (
        "exit", False, [], [])
    assert again["unchanged"] == [entry["path"] for entry in tree]
    assert again["msg"] == "0 created, 0 updated, 0 removed, 5 unchanged"
    assert "diff" not in again
    status, in_check = converge(tree, check_mode=True)
    assert (status, in_check["changed"]) == ("exit", False)


def test_drift_is_repaired_and_shown(converge, tree, tmp_path):
    assert converge(tree)[0] == "exit"
    (tmp_path / "tool.conf").write_text("a = 2\n")
    os.chmod(tmp_path / "lib/blob", 0o600)
    status, result = converge(tree, diff=True)
    assert (status, result["changed"]) == ("exit", True)
    assert result["updated"] == [f"{tmp_path}/lib/blob", f"{tmp_path}/tool.conf"]
    assert (tmp_path / "tool.conf").read_text() == "a = 1\n"
    assert mode_of(tmp_path / "lib/blob") == 0o644
    by_path = {d["after_header"]: d for d in result["diff"]}
    assert by_path[f"{tmp_path}/tool.conf"]["before"].endswith("\na = 2\n")
    assert by_path[f"{tmp_path}/tool.conf"]["after"].endswith("\na = 1\n")


def test_purge_removes_unlisted_files(converge, tree, tmp_path):
    assert converge(tree)[0] == "exit"
    (tmp_path / "lib/stale.py").write_text("old")
    (tmp_path / "lib/keep.txt").write_text("keep")
    status, result = converge(tree, purge=[f"{tmp_path}/lib/*.py"])
    assert (status, result["changed"], result["removed"]) == (
        "exit", True, [f"{tmp_path}/lib/stale.py"])
    assert listing(tmp_path / "lib") == ["blob", "keep.txt", "tool.py"]


def test_invalid_entries_fail_with_every_error_and_write_nothing(converge, tree, tmp_path):
    bad = [*tree, {"path": "relative", "content": ""},
           {"path": "/etc/x", "content": "", "mode": "999"},
           {"path": f"{tmp_path}/y", "src": "y.conf"}]
    status, result = converge(bad)
    assert (status, result["changed"]) == ("fail", False)
    assert result["errors"][0].startswith("entries[5] (relative): path must be an absolute")
    assert result["errors"][1].startswith("entries[6] (/etc/x): mode '999' must be octal")
    assert result["errors"][2].startswith(f"entries[7] ({tmp_path}/y): unknown key 'src'")
    assert result["errors"][3].startswith(f"entries[7] ({tmp_path}/y): a file needs exactly")
    assert len(result["errors"]) == 4
    assert result["msg"] == "invalid file_tree entries:\n" + "\n".join(result["errors"])
    assert os.listdir(tmp_path) == []


def test_invalid_purge_fails_and_writes_nothing(converge, tree, tmp_path):
    status, result = converge(tree, purge=[f"{tmp_path}/*/x"])
    assert status == "fail"
    assert result["errors"] == [f"purge[0]: '{tmp_path}/*/x' must be an absolute path whose "
                                "last part (only) is a glob, such as /var/lib/trails/*.trail"]
    assert os.listdir(tmp_path) == []


def test_conflicts_fail_before_anything_is_written(converge, tree, tmp_path):
    (tmp_path / "tool.conf").mkdir()
    status, result = converge(tree)
    assert (status, result["changed"]) == ("fail", False)
    assert result["errors"] == [
        f"{tmp_path}/tool.conf: is a directory, declared a file; move it away first"]
    assert result["msg"] == result["errors"][0]
    assert os.listdir(tmp_path) == ["tool.conf"]
    assert os.listdir(tmp_path / "tool.conf") == []
    status, result = converge(tree, check_mode=True)
    assert status == "fail" and "is a directory, declared a file" in result["msg"]


def test_failing_validate_names_the_path_and_keeps_the_old_file(converge, tmp_path):
    (tmp_path / "sudoers").write_bytes(b"old content\n")
    os.chmod(tmp_path / "sudoers", 0o440)
    entries = [{"path": f"{tmp_path}/first", "content": "written before\n"},
               {"path": f"{tmp_path}/sudoers", "content": "new content\n", "mode": "0440",
                "validate": "grep -q expected %s"},
               {"path": f"{tmp_path}/after", "content": "never\n"}]
    status, result = converge(entries)
    assert status == "fail"
    assert result["msg"].startswith(f"{tmp_path}/sudoers: cannot update: validation "
                                    "(grep -q expected %s) failed with rc 1")
    assert (result["changed"], result["created"], result["updated"]) == (
        True, [f"{tmp_path}/first"], [])
    assert (tmp_path / "sudoers").read_bytes() == b"old content\n"
    assert mode_of(tmp_path / "sudoers") == 0o440
    assert listing(tmp_path) == ["first", "sudoers"]  # no temporary file left, "after" not run
    entries[1]["content"] = "expected content\n"
    status, result = converge(entries)
    assert (status, result["updated"], result["created"]) == (
        "exit", [f"{tmp_path}/sudoers"], [f"{tmp_path}/after"])
    assert (tmp_path / "sudoers").read_bytes() == b"expected content\n"


def test_validate_is_not_run_in_check_mode(converge, tmp_path):
    status, result = converge([{"path": f"{tmp_path}/f", "content": "x",
                                "validate": "false %s"}], check_mode=True)
    assert (status, result["created"]) == ("exit", [f"{tmp_path}/f"])
    assert os.listdir(tmp_path) == []


@needs_root
def test_unknown_owner_warns_in_check_mode_and_fails_a_real_run(converge, tmp_path, warnings):
    entries = [{"path": f"{tmp_path}/ok", "content": "x"},
               {"path": f"{tmp_path}/f", "content": "x", "owner": "no-such-user-xyz"}]
    status, result = converge(entries, check_mode=True)
    assert (status, result["created"]) == ("exit", [f"{tmp_path}/ok", f"{tmp_path}/f"])
    assert warnings == [f"{tmp_path}/f: owner no-such-user-xyz:root does not exist on this host "
                        "(yet); a real run fails unless an earlier task creates it"]
    status, result = converge(entries)
    assert (status, result["changed"]) == ("fail", False)
    assert result["errors"] == [
        f"{tmp_path}/f: owner no-such-user-xyz:root does not exist on this host"]
    assert os.listdir(tmp_path) == []


@needs_root
def test_owner_and_group_are_applied_as_root(converge, tmp_path):
    try:
        nobody = pwd.getpwnam("nobody")
        group = grp.getgrgid(nobody.pw_gid).gr_name
    except KeyError:
        pytest.skip("no user nobody")
    entries = [{"path": f"{tmp_path}/f", "content": "x", "owner": "nobody", "group": group},
               {"path": f"{tmp_path}/root-default", "content": "y"}]
    status, result = converge(entries)
    assert status == "exit" and result["changed"] is True
    info = os.stat(tmp_path / "f")
    assert (info.st_uid, info.st_gid) == (nobody.pw_uid, nobody.pw_gid)
    info = os.stat(tmp_path / "root-default")
    assert (info.st_uid, info.st_gid) == (0, 0)
    os.chown(tmp_path / "f", 0, 0)
    status, result = converge(entries, diff=True)
    assert result["updated"] == [f"{tmp_path}/f"]
    assert result["diff"][0]["before"].startswith("# file 0644 root:root\n")
    assert result["diff"][0]["after"].startswith(f"# file 0644 nobody:{group}\n")
    assert os.stat(tmp_path / "f").st_uid == nobody.pw_uid
