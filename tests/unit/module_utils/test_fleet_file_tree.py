"""fleet_file_tree: entry checks, planning against a real tree, atomic apply, diffs."""

from __future__ import annotations

import base64
import grp
import hashlib
import os
import pwd
import stat
from pathlib import Path

import pytest
from fleet import file_tree as ft
from fleet.file_tree import (
    Change,
    Current,
    FileTreeError,
    apply_change,
    diffs,
    lookup_ids,
    parse_entries,
    parse_purge,
    plan,
    read_current,
)
from fleet.files import atomic_write

AS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not AS_ROOT, reason="changing ownership needs root")
GOOD = {"path": "/etc/good", "content": "ok\n"}


def errors_of(*raw, label="entries"):
    with pytest.raises(FileTreeError) as caught:
        parse_entries(list(raw), label=label)
    assert str(caught.value) == "\n".join(caught.value.errors)
    return caught.value.errors


def entries(*raw):
    return parse_entries([dict(item, path=str(item["path"])) for item in raw])


def owner_name(path):
    info = os.lstat(path)
    return f"{pwd.getpwuid(info.st_uid).pw_name}:{grp.getgrgid(info.st_gid).gr_name}"


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def set_mode(path, mode):
    """Give a fixture file the mode a test is about (ruff's S103 guards real code)."""
    os.chmod(path, mode)


def same_ids(owner, group):
    return os.geteuid(), os.getegid()


@pytest.fixture
def strict_umask():
    old = os.umask(0o077)
    yield
    os.umask(old)


# --- parse_entries: errors name index, path and field ----------------------------

@pytest.mark.parametrize(("bad", "message"), [
    ({"content": "", "colour": "red"}, "unknown key 'colour' (allowed: content, content_base64, "
                                       "diff, group, mode, owner, path, state, target, validate)"),
    ({"state": "socket"}, "state 'socket' must be one of file, directory, link"),
    ({}, "a file needs exactly one of 'content', 'content_base64' or (through the action "
         "plugin) 'src'"),
    ({"content": "a", "content_base64": "YQ=="}, "a file needs exactly one of 'content'"),
    ({"content": 5}, "content must be a string"),
    ({"content_base64": ["YQ=="]}, "content_base64 must be a string"),
    ({"content_base64": "not base64!"}, "content_base64 is not valid base64"),
    ({"content_base64": "YQ"}, "content_base64 is not valid base64"),
    ({"state": "directory", "content": "x"}, "'content' does not apply to a directory"),
    ({"state": "link", "target": "/t", "content_base64": "YQ=="},
     "'content_base64' does not apply to a link"),
    ({"content": "", "state": "file", "target": "/t"}, "'target' does not apply to a file"),
    ({"state": "directory", "target": "/t"}, "'target' does not apply to a directory"),
    ({"state": "link"}, "a link needs 'target' (a non-empty string without NUL)"),
    ({"target": 5}, "a link needs 'target'"),
    ({"target": ""}, "a link needs 'target'"),
    ({"target": "/t\0x"}, "a link needs 'target'"),
    ({"content": "", "validate": "visudo -c"},
     "validate must be a command containing %s (the new file)"),
    ({"content": "", "validate": ["visudo", "%s"]}, "validate must be a command containing %s"),
    ({"state": "directory", "validate": "test -d %s"}, "'validate' applies to files only"),
    ({"target": "/t", "mode": "0644"}, "a link has no mode of its own"),
    ({"content": "", "mode": "999"}, "mode '999' must be octal digits, as a quoted string"),
    ({"content": "", "mode": "rw"}, "mode 'rw' must be octal digits"),
    ({"content": "", "mode": True}, "mode True must be octal digits"),
    ({"content": "", "mode": ""}, "mode '' must be octal digits"),
    ({"content": "", "mode": "0o644"}, "mode '0o644' must be octal digits"),
    ({"content": "", "mode": -1}, "mode -1 must be octal digits"),
    ({"content": "", "mode": 0o10000}, "mode 4096 must be octal digits"),
    ({"content": "", "mode": "17777"}, "mode '17777' must be octal digits"),
    ({"content": "", "mode": 6.44}, "mode 6.44 must be octal digits"),
    ({"state": "directory", "mode": "rwx"}, "mode 'rwx' must be octal digits"),
    ({"content": "", "owner": "a:b"}, "owner 'a:b' must be a user or group name"),
    ({"content": "", "owner": ""}, "owner '' must be a user or group name"),
    ({"content": "", "owner": 0}, "owner 0 must be a user or group name"),
    ({"content": "", "owner": "a/b"}, "owner 'a/b' must be a user or group name"),
    ({"content": "", "group": "x\ny"}, "group 'x\\ny' must be a user or group name"),
    ({"content": "", "group": None}, "group None must be a user or group name"),
    ({"content": "", "diff": "no"}, "diff must be true or false"),
])
def test_each_error_names_index_path_and_field(bad, message):
    [error] = errors_of(GOOD, dict(bad, path="/etc/x"))
    assert error.startswith("entries[1] (/etc/x): ")
    assert message in error


def test_src_is_unknown_here_with_a_hint_to_the_action_plugin():
    errors = errors_of({"path": "/etc/x", "src": "x.conf"})
    assert errors[0].startswith("entries[0] (/etc/x): unknown key 'src' (allowed: ")
    assert errors[0].endswith("; 'src' is read on the controller by the file_tree action plugin")
    assert errors[1] == ("entries[0] (/etc/x): a file needs exactly one of 'content', "
                         "'content_base64' or (through the action plugin) 'src'")
    assert len(errors) == 2


@pytest.mark.parametrize("path", [
    "etc/x", "", "/", "/etc/../x", "/etc/./x", "/etc//x", "//etc/x", "/etc/x/", "/etc/.",
    "/etc/x\0y", "./x",
])
def test_relative_or_unnormalised_paths_are_refused(path):
    [error] = errors_of({"path": path, "content": ""})
    assert error == (f"entries[0] ({path}): path must be an absolute, normalised path below / "
                     "(no '..', '.', '//' or trailing '/')")


@pytest.mark.parametrize("path", [None, 5, ["/etc/x"]])
def test_non_string_path_is_named_by_index_only(path):
    raw = {"content": ""} if path is None else {"path": path, "content": ""}
    [error] = errors_of(raw)
    assert error.startswith("entries[0]: path must be an absolute, normalised path")


@pytest.mark.parametrize("raw", ["/etc/x", None, 3, ["/etc/x"]])
def test_an_entry_must_be_a_mapping(raw):
    assert errors_of(GOOD, raw) == ["entries[1]: must be a mapping with at least 'path'"]


@pytest.mark.parametrize("raw", [None, {"path": "/x"}, "entries", 5])
def test_entries_must_be_a_list(raw):
    with pytest.raises(FileTreeError) as caught:
        parse_entries(raw, label="role_files")
    assert caught.value.errors == ["role_files: must be a list of entries"]


def test_duplicate_path_names_both_indexes():
    errors = errors_of(GOOD, {"path": "/etc/other", "content": ""}, dict(GOOD, mode="0600"))
    assert errors == ["entries[2] (/etc/good): path already listed at entries[0]"]


def test_all_problems_are_reported_at_once_with_the_label():
    errors = errors_of({"path": "rel", "content": "", "mode": "9"},
                       {"path": "/a", "state": "link", "target": "/t", "owner": "x:y"},
                       label="deadman_files")
    assert errors == [
        "deadman_files[0] (rel): path must be an absolute, normalised path below / "
        "(no '..', '.', '//' or trailing '/')",
        "deadman_files[0] (rel): mode '9' must be octal digits, as a quoted string such as "
        "\"0644\"",
        "deadman_files[1] (/a): owner 'x:y' must be a user or group name",
    ]


# --- parse_entries: defaults and inference --------------------------------------

def test_defaults_for_files_and_directories():
    file, directory = parse_entries([{"path": "/etc/f", "content": "ü"},
                                     {"path": "/etc/d", "state": "directory"}])
    assert (file.state, file.mode, file.owner, file.group) == ("file", 0o644, "root", "root")
    assert (file.content, file.diff, file.validate, file.target) == ("ü".encode(), True, None,
                                                                     None)
    assert (directory.state, directory.mode, directory.content) == ("directory", 0o755, None)
    assert (directory.owner, directory.group) == ("root", "root")


def test_target_makes_a_link_without_mode():
    [link] = parse_entries([{"path": "/usr/local/sbin/x", "target": "/opt/x", "owner": "bin"}])
    assert (link.state, link.target, link.mode, link.content) == ("link", "/opt/x", None, None)
    assert (link.owner, link.group) == ("bin", "root")


@pytest.mark.parametrize(("mode", "expected"), [
    ("0644", 0o644), ("644", 0o644), ("0755", 0o755), ("0", 0), ("4755", 0o4755),
    ("7777", 0o7777), (420, 0o644), (0, 0),
])
def test_modes_are_octal_strings_or_yaml_ints(mode, expected):
    assert parse_entries([dict(GOOD, mode=mode)])[0].mode == expected


def test_content_base64_is_decoded_exactly():
    data = bytes(range(256))
    [entry] = parse_entries([{"path": "/x", "content_base64": base64.b64encode(data).decode(),
                              "diff": False, "validate": "check %s", "owner": "a", "group": "b"}])
    assert entry.content == data
    assert (entry.diff, entry.validate, entry.owner, entry.group) == (False, "check %s", "a", "b")


# --- parse_purge -----------------------------------------------------------------

def test_purge_patterns_are_kept():
    patterns = ["/var/lib/trails/*.trail", "/etc/x/[ab]?.conf"]
    assert parse_purge(patterns) == patterns
    assert parse_purge(None) == []
    assert parse_purge([]) == []


@pytest.mark.parametrize("pattern", [
    "/var/*/x.trail", "/var/lib/trails", "var/lib/*.trail", "*.trail", "", 5, None,
    "/var/lib/tr?ils/a*",
])
def test_bad_purge_patterns_are_refused(pattern):
    with pytest.raises(FileTreeError) as caught:
        parse_purge(["/ok/*.trail", pattern])
    assert caught.value.errors == [
        f"purge[1]: {pattern!r} must be an absolute path whose last part (only) is a glob, "
        "such as /var/lib/trails/*.trail"]


def test_purge_must_be_a_list():
    with pytest.raises(FileTreeError, match=r"^purge: must be a list of glob patterns$"):
        parse_purge("/var/lib/*.trail")


# --- read_current and lookup_ids ------------------------------------------------

def test_read_current_sees_each_kind(tmp_path):
    (tmp_path / "f").write_bytes(b"data\0")
    set_mode(tmp_path / "f", 0o640)
    (tmp_path / "d").mkdir(mode=0o700)
    os.symlink("f", tmp_path / "l")
    os.mkfifo(tmp_path / "p")
    info = os.stat(tmp_path / "f")
    assert read_current(str(tmp_path / "f")) == Current("file", 0o640, info.st_uid, info.st_gid,
                                                        b"data\0")
    assert read_current(str(tmp_path / "d")).kind == "directory"
    assert read_current(str(tmp_path / "d")).mode == 0o700
    link = read_current(str(tmp_path / "l"))
    assert (link.kind, link.target, link.content) == ("link", "f", None)
    assert read_current(str(tmp_path / "p")).kind == "other"
    assert read_current(str(tmp_path / "missing")) == Current(None)


def test_lookup_ids():
    me = pwd.getpwuid(os.geteuid()).pw_name
    my_group = grp.getgrgid(os.getegid()).gr_name
    assert lookup_ids(me, my_group) == (os.geteuid(), os.getegid())
    assert lookup_ids("no-such-user-xyz", my_group) == (None, os.getegid())
    assert lookup_ids(me, "no-such-group-xyz") == (os.geteuid(), None)


# --- plan -------------------------------------------------------------------------

def test_plan_creates_what_is_missing_in_order_and_writes_nothing(tmp_path):
    todo = plan(entries({"path": tmp_path / "d", "state": "directory"},
                        {"path": tmp_path / "d/f", "content": "x"},
                        {"path": tmp_path / "l", "target": "/nowhere"}), manage_owner=False)
    assert [(c.action, c.path) for c in todo.changes] == [
        ("create", str(tmp_path / "d")), ("create", str(tmp_path / "d/f")),
        ("create", str(tmp_path / "l"))]
    assert all(c.current == Current(None) and c.reasons == [] for c in todo.changes)
    assert (todo.unchanged, todo.conflicts, todo.unknown_ids) == ([], [], [])
    assert os.listdir(tmp_path) == []


def test_plan_reports_each_reason_for_an_update(tmp_path):
    (tmp_path / "content").write_text("old\n")
    (tmp_path / "mode").write_text("same\n")
    set_mode(tmp_path / "mode", 0o600)
    (tmp_path / "both").write_text("old\n")
    set_mode(tmp_path / "both", 0o666)
    (tmp_path / "dir").mkdir()
    set_mode(tmp_path / "dir", 0o700)
    os.symlink("/old", tmp_path / "link")
    (tmp_path / "was-file").write_text("x")
    os.symlink("/x", tmp_path / "was-link")
    todo = plan(entries({"path": tmp_path / "content", "content": "new\n"},
                        {"path": tmp_path / "mode", "content": "same\n"},
                        {"path": tmp_path / "both", "content": "new\n", "mode": "0640"},
                        {"path": tmp_path / "dir", "state": "directory"},
                        {"path": tmp_path / "link", "target": "/new"},
                        {"path": tmp_path / "was-file", "target": "/x"},
                        {"path": tmp_path / "was-link", "content": "x"}), manage_owner=False)
    assert [(c.action, os.path.basename(c.path), c.reasons) for c in todo.changes] == [
        ("update", "content", ["content"]),
        ("update", "mode", ["mode 0600 -> 0644"]),
        ("update", "both", ["content", "mode 0666 -> 0640"]),
        ("update", "dir", ["mode 0700 -> 0755"]),
        ("update", "link", ["target /old -> /new"]),
        ("update", "was-file", ["file -> link"]),
        ("update", "was-link", ["link -> file"]),
    ]
    assert todo.changes[0].current.content == b"old\n"
    assert (todo.unchanged, todo.conflicts) == ([], [])


def test_plan_leaves_what_matches(tmp_path):
    (tmp_path / "d").mkdir()
    set_mode(tmp_path / "d", 0o750)
    (tmp_path / "f").write_bytes(b"\x00\xff")
    set_mode(tmp_path / "f", 0o600)
    os.symlink("/t", tmp_path / "l")
    listed = entries({"path": tmp_path / "d", "state": "directory", "mode": "0750"},
                     {"path": tmp_path / "f", "content_base64": "AP8=", "mode": "0600"},
                     {"path": tmp_path / "l", "target": "/t"})
    todo = plan(listed, manage_owner=False)
    assert todo.changes == []
    assert todo.unchanged == [str(tmp_path / "d"), str(tmp_path / "f"), str(tmp_path / "l")]


def test_plan_refuses_to_replace_directories_or_with_directories(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir2").mkdir()
    os.mkfifo(tmp_path / "fifo")
    todo = plan(entries({"path": tmp_path / "dir", "content": "x"},
                        {"path": tmp_path / "file", "state": "directory"},
                        {"path": tmp_path / "dir2", "target": "/t"},
                        {"path": tmp_path / "fifo", "content": "x"},
                        {"path": tmp_path / "new", "content": "x"}), manage_owner=False)
    assert todo.conflicts == [
        f"{tmp_path}/dir: is a directory, declared a file; move it away first",
        f"{tmp_path}/file: is a file, declared a directory; move it away first",
        f"{tmp_path}/dir2: is a directory, declared a link; move it away first",
        f"{tmp_path}/fifo: is a other, declared a file; move it away first",
    ]
    assert [c.path for c in todo.changes] == [str(tmp_path / "new")]


def test_purge_removes_only_unlisted_matching_files_and_links(tmp_path):
    trails = tmp_path / "trails"
    trails.mkdir()
    for name in ("a.trail", "b.trail", "listed.trail", "keep.txt"):
        (trails / name).write_text(name)
    (trails / "sub.trail").mkdir()
    os.symlink("/etc/passwd", trails / "link.trail")
    todo = plan(entries({"path": trails / "listed.trail", "content": "listed.trail"}),
                [f"{trails}/*.trail", f"{tmp_path}/missing/*.trail"], manage_owner=False)
    assert [(c.action, c.path) for c in todo.changes] == [
        ("remove", f"{trails}/a.trail"), ("remove", f"{trails}/b.trail"),
        ("remove", f"{trails}/link.trail")]
    assert all(c.entry is None for c in todo.changes)
    assert todo.changes[0].current.content == b"a.trail"
    assert todo.unchanged == [f"{trails}/listed.trail"]


def test_a_file_matched_by_two_purge_patterns_is_removed_once(tmp_path):
    (tmp_path / "old.trail").write_text("x")
    todo = plan([], [f"{tmp_path}/*.trail", f"{tmp_path}/old*"], manage_owner=False)
    assert [c.path for c in todo.changes] == [f"{tmp_path}/old.trail"]
    for change in todo.changes:
        apply_change(change, manage_owner=False)
    assert os.listdir(tmp_path) == []


def test_plan_with_owners_uses_the_injected_lookup(tmp_path):
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    set_mode(tmp_path / "d", 0o755)
    listed = entries({"path": tmp_path / "f", "content": "x", "owner": "alice", "group": "staff"},
                     {"path": tmp_path / "d", "state": "directory"})
    calls = []

    def ids(owner, group):
        calls.append((owner, group))
        return same_ids(owner, group)

    todo = plan(listed, manage_owner=True, ids=ids)
    assert calls == [("alice", "staff"), ("root", "root")]
    assert (todo.changes, todo.unchanged) == ([], [str(tmp_path / "f"), str(tmp_path / "d")])
    todo = plan(listed, manage_owner=True, ids=lambda owner, group: (54321, 54321))
    assert [(c.path, c.reasons) for c in todo.changes] == [
        (str(tmp_path / "f"), ["owner -> alice:staff"]),
        (str(tmp_path / "d"), ["owner -> root:root"])]
    assert plan(listed, manage_owner=False, ids=lambda o, g: (54321, 54321)).changes == []


def test_plan_reports_unknown_owners_only_when_it_manages_owners(tmp_path):
    listed = entries({"path": tmp_path / "f", "content": "x", "owner": "ghost"},
                     {"path": tmp_path / "g", "content": "x", "group": "phantom"},
                     {"path": tmp_path / "h", "content": "x"})

    def ids(owner, group):
        return (None if owner == "ghost" else 0, None if group == "phantom" else 0)

    todo = plan(listed, manage_owner=True, ids=ids)
    assert todo.unknown_ids == [
        f"{tmp_path}/f: owner ghost:root does not exist on this host",
        f"{tmp_path}/g: owner root:phantom does not exist on this host"]
    assert [c.action for c in todo.changes] == ["create"] * 3
    assert plan(listed, manage_owner=False, ids=ids).unknown_ids == []


# --- apply_change -----------------------------------------------------------------

def apply_all(listed, purge=None, **kwargs):
    todo = plan(listed, purge, manage_owner=False)
    for change in todo.changes:
        apply_change(change, manage_owner=False, **kwargs)
    return todo


def test_apply_creates_directories_and_files_with_exact_modes(tmp_path, strict_umask):
    apply_all(entries({"path": tmp_path / "d", "state": "directory", "mode": "0775"},
                      {"path": tmp_path / "d/f", "content": "hello\n", "mode": "0664"},
                      {"path": tmp_path / "d/s", "content": "", "mode": "4750"},
                      {"path": tmp_path / "d/l", "target": "f"}))
    assert stat.S_ISDIR(os.lstat(tmp_path / "d").st_mode) and mode_of(tmp_path / "d") == 0o775
    assert (tmp_path / "d/f").read_bytes() == b"hello\n" and mode_of(tmp_path / "d/f") == 0o664
    assert mode_of(tmp_path / "d/s") == 0o4750
    assert os.readlink(tmp_path / "d/l") == "f"
    assert sorted(os.listdir(tmp_path / "d")) == ["f", "l", "s"]


def test_apply_makes_missing_parents_of_a_directory_with_its_mode(tmp_path, strict_umask):
    set_mode(tmp_path, 0o711)
    apply_all(entries({"path": tmp_path / "a/b/c", "state": "directory", "mode": "0751"}))
    assert [mode_of(tmp_path / name) for name in ("a", "a/b", "a/b/c")] == [0o751] * 3
    assert mode_of(tmp_path) == 0o711  # an existing parent is left alone
    set_mode(tmp_path / "a", 0o700)
    set_mode(tmp_path / "a/b/c", 0o700)
    todo = apply_all(entries({"path": tmp_path / "a/b/c", "state": "directory", "mode": "0751"}))
    assert [c.action for c in todo.changes] == ["update"]
    assert (mode_of(tmp_path / "a"), mode_of(tmp_path / "a/b/c")) == (0o700, 0o751)


def test_apply_fixes_a_directory_mode(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d/kept").write_text("x")
    set_mode(tmp_path / "d", 0o700)
    apply_all(entries({"path": tmp_path / "d", "state": "directory", "mode": "0751"}))
    assert mode_of(tmp_path / "d") == 0o751
    assert (tmp_path / "d/kept").read_text() == "x"


def test_apply_replaces_a_file_by_rename_not_in_place(tmp_path):
    (tmp_path / "f").write_bytes(b"old\n")
    set_mode(tmp_path / "f", 0o666)
    os.link(tmp_path / "f", tmp_path / "hardlink")  # still sees the old inode afterwards
    todo = apply_all(entries({"path": tmp_path / "f", "content": "new\n", "mode": "0600"}))
    assert todo.changes[0].reasons == ["content", "mode 0666 -> 0600"]
    assert (tmp_path / "f").read_bytes() == b"new\n" and mode_of(tmp_path / "f") == 0o600
    assert (tmp_path / "hardlink").read_bytes() == b"old\n"
    assert sorted(os.listdir(tmp_path)) == ["f", "hardlink"]


def test_apply_replaces_links_and_files_with_links(tmp_path):
    (tmp_path / "target").write_text("t")
    os.symlink("old", tmp_path / "link")
    (tmp_path / "was-file").write_text("x")
    os.symlink("target", tmp_path / "was-link")
    apply_all(entries({"path": tmp_path / "link", "target": "target"},
                      {"path": tmp_path / "was-file", "target": "/etc/hostname"},
                      {"path": tmp_path / "was-link", "content": "now a file"}))
    assert os.readlink(tmp_path / "link") == "target"
    assert os.readlink(tmp_path / "was-file") == "/etc/hostname"
    assert not os.path.islink(tmp_path / "was-link")
    assert (tmp_path / "was-link").read_text() == "now a file"
    assert (tmp_path / "target").read_text() == "t"  # writing over a link leaves its target
    assert sorted(os.listdir(tmp_path)) == ["link", "target", "was-file", "was-link"]


def test_apply_removes_for_purge_but_not_link_targets(tmp_path):
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep/real").write_text("r")
    (tmp_path / "x.old").write_text("x")
    os.symlink(tmp_path / "keep/real", tmp_path / "l.old")
    todo = apply_all([], [f"{tmp_path}/*.old"])
    assert sorted(c.path for c in todo.changes) == [f"{tmp_path}/l.old", f"{tmp_path}/x.old"]
    assert os.listdir(tmp_path) == ["keep"]
    assert (tmp_path / "keep/real").read_text() == "r"


def test_refused_validation_leaves_the_old_file_byte_identical(tmp_path):
    old = b"old \xff\x00 bytes\n"
    (tmp_path / "f").write_bytes(old)
    set_mode(tmp_path / "f", 0o640)
    seen = []

    def refuse(command, tmp):
        seen.append((command, os.path.dirname(tmp), Path(tmp).read_bytes(), mode_of(tmp),
                     (tmp_path / "f").read_bytes()))
        raise ValueError("refused")

    listed = entries({"path": tmp_path / "f", "content": "new\n", "validate": "check %s"})
    with pytest.raises(ValueError, match="refused"):
        apply_all(listed, validate=refuse)
    assert seen == [("check %s", str(tmp_path), b"new\n", 0o644, old)]
    assert (tmp_path / "f").read_bytes() == old and mode_of(tmp_path / "f") == 0o640
    assert os.listdir(tmp_path) == ["f"]


def test_accepted_validation_writes_and_unvalidated_entries_skip_the_callable(tmp_path):
    calls = []
    apply_all(entries({"path": tmp_path / "checked", "content": "a", "validate": "ok %s"},
                      {"path": tmp_path / "plain", "content": "b"}),
              validate=lambda command, tmp: calls.append(command))
    assert calls == ["ok %s"]
    assert (tmp_path / "checked").read_text() == "a" and (tmp_path / "plain").read_text() == "b"
    # Without a callable (check mode never gets here) the command is not run.
    apply_all(entries({"path": tmp_path / "checked", "content": "c", "validate": "ok %s"}))
    assert (tmp_path / "checked").read_text() == "c"


@needs_root
def test_apply_sets_owner_and_group_as_root(tmp_path):
    try:
        nobody = pwd.getpwnam("nobody")
        group = grp.getgrgid(nobody.pw_gid).gr_name
    except KeyError:
        pytest.skip("no user nobody")
    listed = entries(
        {"path": tmp_path / "d", "state": "directory", "owner": "nobody", "group": group},
        {"path": tmp_path / "d/f", "content": "x", "owner": "nobody", "group": group},
        {"path": tmp_path / "d/l", "target": "f", "owner": "nobody", "group": group})
    for change in plan(listed).changes:
        apply_change(change)
    for name in ("d", "d/f", "d/l"):
        info = os.lstat(tmp_path / name)
        assert (info.st_uid, info.st_gid) == (nobody.pw_uid, nobody.pw_gid)
    assert plan(listed).changes == []
    assert [c.reasons for c in plan(entries({"path": tmp_path / "d/f", "content": "x"})).changes
            ] == [["owner -> root:root"]]


# --- diffs --------------------------------------------------------------------------

def one_diff(listed, purge=None):
    [diff] = diffs(plan(listed, purge, manage_owner=False))
    return diff


def test_diff_of_a_new_file_shows_header_and_content(tmp_path):
    diff = one_diff(entries({"path": tmp_path / "f", "content": "line", "mode": "0640",
                             "owner": "alice", "group": "staff"}))
    assert diff == {"before_header": "/dev/null", "after_header": str(tmp_path / "f"),
                    "before": "", "after": "# file 0640 alice:staff\nline\n"}


def test_diff_of_an_update_shows_both_sides(tmp_path):
    (tmp_path / "f").write_text("old\n")
    set_mode(tmp_path / "f", 0o600)
    diff = one_diff(entries({"path": tmp_path / "f", "content": "new\n"}))
    assert diff["before_header"] == diff["after_header"] == str(tmp_path / "f")
    assert diff["before"] == f"# file 0600 {owner_name(tmp_path / 'f')}\nold\n"
    assert diff["after"] == "# file 0644 root:root\nnew\n"


def test_diff_of_a_removal(tmp_path):
    (tmp_path / "x.old").write_text("gone\n")
    diff = one_diff([], [f"{tmp_path}/*.old"])
    assert (diff["before_header"], diff["after_header"]) == (str(tmp_path / "x.old"), "/dev/null")
    assert diff["before"] == (f"# file {mode_of(tmp_path / 'x.old'):04o} "
                              f"{owner_name(tmp_path / 'x.old')}\ngone\n")
    assert diff["after"] == ""


def test_diff_of_links_and_directories(tmp_path):
    os.symlink("/old", tmp_path / "l")
    (tmp_path / "d").mkdir()
    set_mode(tmp_path / "d", 0o700)
    link, directory = diffs(plan(entries({"path": tmp_path / "l", "target": "/new"},
                                         {"path": tmp_path / "d", "state": "directory"}),
                                 manage_owner=False))
    assert link["before"] == f"# link -> /old ({owner_name(tmp_path / 'l')})\n"
    assert link["after"] == "# link -> /new (root:root)\n"
    assert directory["before"] == f"# directory 0700 {owner_name(tmp_path / 'd')}\n"
    assert directory["after"] == "# directory 0755 root:root\n"


def test_hidden_content_shows_size_and_hash_on_both_sides(tmp_path):
    (tmp_path / "prog").write_text("old secret source\n")
    new = "new secret source\n"
    diff = one_diff(entries({"path": tmp_path / "prog", "content": new, "diff": False}))
    digest = hashlib.sha256(new.encode()).hexdigest()[:16]
    assert diff["after"] == (f"# file 0644 root:root\n(content not shown: {len(new)} bytes, "
                             f"sha256 {digest})\n")
    assert "secret" not in diff["before"] + diff["after"]
    assert diff["before"].endswith(
        f"(content not shown: 18 bytes, sha256 "
        f"{hashlib.sha256(b'old secret source' + bytes([10])).hexdigest()[:16]})\n")


@pytest.mark.parametrize("data", [b"\xff\xfeprinted?", b"text\0printed?", b"\x80"])
def test_binary_content_is_never_printed(tmp_path, data):
    (tmp_path / "old.bin").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()[:16]
    hidden = f"(content not shown: {len(data)} bytes, sha256 {digest})\n"
    diff = one_diff(entries({"path": tmp_path / "new.bin",
                             "content_base64": base64.b64encode(data).decode()}))
    assert diff["after"] == "# file 0644 root:root\n" + hidden
    removal = one_diff([], [f"{tmp_path}/*.bin"])  # diff on, still hidden
    assert removal["before"].endswith("\n" + hidden)
    assert "printed" not in diff["after"] + removal["before"]


def test_empty_content_diff(tmp_path):
    assert one_diff(entries({"path": tmp_path / "e", "content": ""}))["after"] == (
        "# file 0644 root:root\n")


def test_no_changes_no_diffs(tmp_path):
    (tmp_path / "f").write_text("x")
    set_mode(tmp_path / "f", 0o644)
    assert diffs(plan(entries({"path": tmp_path / "f", "content": "x"}), manage_owner=False)) == []


def test_diffs_for_hand_built_changes():
    entry = parse_entries([{"path": "/x", "content": "a"}])[0]
    change = Change("create", "/x", entry, Current(None))
    assert diffs(ft.Plan(changes=[change]))[0]["after"] == "# file 0644 root:root\na\n"


# --- fleet_files.atomic_write's before_replace hook -----------------------------------

def test_before_replace_sees_the_finished_temporary_file(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old")
    seen = []

    def inspect(tmp):
        seen.append((os.path.dirname(tmp), Path(tmp).read_bytes(), mode_of(tmp),
                     target.read_bytes()))

    atomic_write(str(target), b"new\0data", 0o600, before_replace=inspect)
    assert seen == [(str(tmp_path), b"new\0data", 0o600, b"old")]
    assert target.read_bytes() == b"new\0data" and mode_of(target) == 0o600
    assert os.listdir(tmp_path) == ["f"]


def test_before_replace_that_raises_leaves_target_and_no_temporary_file(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old")
    set_mode(target, 0o644)

    def refuse(tmp):
        raise RuntimeError(f"no: {tmp}")

    with pytest.raises(RuntimeError, match="no: "):
        atomic_write(str(target), b"new", 0o600, before_replace=refuse)
    assert target.read_bytes() == b"old" and mode_of(target) == 0o644
    assert os.listdir(tmp_path) == ["f"]
    with pytest.raises(RuntimeError):
        atomic_write(str(tmp_path / "fresh"), b"new", before_replace=refuse)
    assert os.listdir(tmp_path) == ["f"]


def test_lone_surrogates_are_refused_not_raised():
    with pytest.raises(FileTreeError) as caught:
        parse_entries([{"path": "/etc/x", "content": "bad \ud800"},
                       {"path": "/etc/\udcff", "content": "ok"}])
    assert any("entries[0] (/etc/x): content is not valid text" in e for e in caught.value.errors)
    assert any(e.startswith("entries[1]") and "path must be" in e for e in caught.value.errors)
