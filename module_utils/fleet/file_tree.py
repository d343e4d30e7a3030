# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge a list of directories, files and links in one pass (the file_tree module).

A role's host-side files (programs, the module_utils they import, units,
configuration) are one list here instead of a task per item: Ansible costs
about half a second per task or loop item, one module call costs that once.

Pure Python (standard library only) so it imports with or without Ansible.
Entries are handled in list order, like the tasks they replace, so a unit
that is validated can refer to a program listed before it.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import glob
import grp
import hashlib
import os
import posixpath
import pwd
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .files import atomic_write, fsync_dir

STATES = ("file", "directory", "link")
DEFAULT_MODES = {"file": 0o644, "directory": 0o755}
KEYS = {"path", "state", "content", "content_base64", "target", "owner", "group", "mode", "diff",
        "validate"}


class FileTreeError(ValueError):
    """Invalid entries; ``errors`` holds one message per entry and field."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Entry:
    path: str
    state: str
    owner: str = "root"
    group: str = "root"
    mode: int | None = None  # links have none
    content: bytes | None = None  # files
    target: str | None = None  # links
    diff: bool = True  # False: a diff names the file but hides its content
    validate: str | None = None  # files: command with %s, run on the new content


@dataclass(frozen=True)
class Current:
    """What is at an entry's path now (``kind`` None: nothing)."""

    kind: str | None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    content: bytes | None = None
    target: str | None = None


@dataclass
class Change:
    action: str  # create, update or remove
    path: str
    entry: Entry | None
    current: Current
    reasons: list[str] = field(default_factory=list)


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)


# --- parsing -----------------------------------------------------------------


def _mode(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):  # YAML's 0644 arrives as 420: take it as it is
        mode = value
    elif isinstance(value, str) and value and all(c in "01234567" for c in value):
        mode = int(value, 8)
    else:
        raise ValueError
    if not 0 <= mode <= 0o7777:
        raise ValueError
    return mode


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value or any(c in value for c in ":/\n\0"):
        raise ValueError
    return value


def _parse_entry(raw: Any, where: str, errors: list[str]) -> Entry | None:
    if not isinstance(raw, dict):
        errors.append(f"{where}: must be a mapping with at least 'path'")
        return None
    before = len(errors)
    path = raw.get("path")
    where = f"{where} ({path})" if isinstance(path, str) else where
    for key in sorted(set(raw) - KEYS):
        errors.append(f"{where}: unknown key '{key}' (allowed: {', '.join(sorted(KEYS))})"
                      + ("; 'src' is read on the controller by the file_tree action plugin"
                         if key == "src" else ""))
    if (not isinstance(path, str) or not path.startswith("/") or path.startswith("//")
            or "\0" in path or not _encodable(path) or posixpath.normpath(path) != path
            or path == "/"):
        errors.append(f"{where}: path must be an absolute, normalised path below / "
                      "(no '..', '.', '//' or trailing '/')")
    state = raw.get("state") or ("link" if "target" in raw else "file")
    if state not in STATES:
        errors.append(f"{where}: state '{state}' must be one of {', '.join(STATES)}")
        return None
    content = _content(raw, state, where, errors)
    target = raw.get("target")
    if state == "link" and (not isinstance(target, str) or not target or "\0" in target):
        errors.append(f"{where}: a link needs 'target' (a non-empty string without NUL)")
    if state != "link" and "target" in raw:
        errors.append(f"{where}: 'target' does not apply to a {state}")
    if state != "file" and "validate" in raw:
        errors.append(f"{where}: 'validate' applies to files only")
    validate = raw.get("validate")
    if validate is not None and (not isinstance(validate, str) or "%s" not in validate):
        errors.append(f"{where}: validate must be a command containing %s (the new file)")
    if state == "link" and "mode" in raw:
        errors.append(f"{where}: a link has no mode of its own")
    mode = None
    if state != "link":
        try:
            mode = _mode(raw.get("mode", DEFAULT_MODES[state]))
        except ValueError:
            errors.append(f"{where}: mode {raw.get('mode')!r} must be octal digits, "
                          "as a quoted string such as \"0644\"")
    owners = {}
    for key in ("owner", "group"):
        try:
            owners[key] = _name(raw.get(key, "root"))
        except ValueError:
            errors.append(f"{where}: {key} {raw.get(key)!r} must be a user or group name")
    if not isinstance(raw.get("diff", True), bool):
        errors.append(f"{where}: diff must be true or false")
    if len(errors) > before:
        return None
    return Entry(path=path, state=state, mode=mode, content=content, target=raw.get("target"),
                 diff=raw.get("diff", True), validate=validate, **owners)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _content(raw: dict, state: str, where: str, errors: list[str]) -> bytes | None:
    """A file's bytes, from exactly one of content (text) and content_base64."""
    given = [key for key in ("content", "content_base64") if key in raw]
    if state != "file":
        errors.extend(f"{where}: '{key}' does not apply to a {state}" for key in given)
        return None
    if len(given) != 1:
        errors.append(f"{where}: a file needs exactly one of 'content', 'content_base64' "
                      "or (through the action plugin) 'src'")
        return None
    value = raw[given[0]]
    if not isinstance(value, str):
        errors.append(f"{where}: {given[0]} must be a string")
        return None
    if given[0] == "content":
        if not _encodable(value):
            errors.append(f"{where}: content is not valid text (a lone surrogate)")
            return None
        return value.encode("utf-8")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        errors.append(f"{where}: content_base64 is not valid base64")
        return None


def parse_entries(raw: Any, label: str = "entries") -> list[Entry]:
    """Check every entry; raise FileTreeError listing all problems at once."""
    if not isinstance(raw, list):
        raise FileTreeError([f"{label}: must be a list of entries"])
    errors: list[str] = []
    entries = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        entry = _parse_entry(item, f"{label}[{index}]", errors)
        if entry is None:
            continue
        if entry.path in seen:
            errors.append(f"{label}[{index}] ({entry.path}): path already listed at "
                          f"{label}[{seen[entry.path]}]")
        seen[entry.path] = index
        entries.append(entry)
    if errors:
        raise FileTreeError(errors)
    return entries


def parse_purge(raw: Any, label: str = "purge") -> list[str]:
    """Glob patterns of files to remove unless listed; each must name a directory's files."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise FileTreeError([f"{label}: must be a list of glob patterns"])
    errors = []
    for index, pattern in enumerate(raw):
        if (not isinstance(pattern, str) or not pattern.startswith("/")
                or glob.has_magic(posixpath.dirname(pattern))
                or not glob.has_magic(posixpath.basename(pattern))):
            errors.append(f"{label}[{index}]: {pattern!r} must be an absolute path whose last "
                          "part (only) is a glob, such as /var/lib/trails/*.trail")
    if errors:
        raise FileTreeError(errors)
    return list(raw)


# --- planning ----------------------------------------------------------------


def read_current(path: str) -> Current:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return Current(None)
    attrs = {"mode": stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid}
    if stat.S_ISLNK(info.st_mode):
        return Current("link", target=os.readlink(path), **attrs)
    if stat.S_ISDIR(info.st_mode):
        return Current("directory", **attrs)
    if stat.S_ISREG(info.st_mode):
        with open(path, "rb") as handle:
            return Current("file", content=handle.read(), **attrs)
    return Current("other", **attrs)


def lookup_ids(owner: str, group: str) -> tuple[int | None, int | None]:
    """uid and gid of names on this host (None for a name that does not exist)."""
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        uid = None
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        gid = None
    return uid, gid


def _differences(entry: Entry, current: Current, ids: tuple[int | None, int | None],
                 manage_owner: bool) -> list[str]:
    reasons = []
    if entry.state == "file" and current.content != entry.content:
        reasons.append("content")
    if entry.state == "link" and current.target != entry.target:
        reasons.append(f"target {current.target} -> {entry.target}")
    if entry.mode is not None and current.mode != entry.mode:
        reasons.append(f"mode {current.mode:04o} -> {entry.mode:04o}")
    if manage_owner and (current.uid, current.gid) != ids:
        reasons.append(f"owner -> {entry.owner}:{entry.group}")
    return reasons


def plan(entries: list[Entry], purge: list[str] | None = None, manage_owner: bool = True,
         ids: Callable[[str, str], tuple[int | None, int | None]] = lookup_ids) -> Plan:
    """Compare entries with the host; nothing is written here.

    ``manage_owner`` False (not root) leaves ownership alone. A directory in the
    way of a file or link, or a file in the way of a directory, is a conflict:
    the module refuses rather than delete something it did not write.
    """
    result = Plan()
    for entry in entries:
        current = read_current(entry.path)
        wanted_ids = ids(entry.owner, entry.group)
        if manage_owner and None in wanted_ids:
            result.unknown_ids.append(f"{entry.path}: owner {entry.owner}:{entry.group} "
                                      "does not exist on this host")
        if current.kind is None:
            result.changes.append(Change("create", entry.path, entry, current))
        elif current.kind != entry.state and not (
                current.kind in ("file", "link") and entry.state in ("file", "link")):
            result.conflicts.append(f"{entry.path}: is a {current.kind}, declared a "
                                    f"{entry.state}; move it away first")
        elif current.kind != entry.state:
            result.changes.append(Change("update", entry.path, entry, current,
                                         [f"{current.kind} -> {entry.state}"]))
        elif reasons := _differences(entry, current, wanted_ids, manage_owner):
            result.changes.append(Change("update", entry.path, entry, current, reasons))
        else:
            result.unchanged.append(entry.path)
    listed = {entry.path for entry in entries}
    for pattern in purge or []:
        directory, name_glob = posixpath.split(pattern)
        try:
            names = sorted(os.listdir(directory))
        except FileNotFoundError:
            continue
        for name in fnmatch.filter(names, name_glob):
            path = posixpath.join(directory, name)
            current = read_current(path)
            if path not in listed and current.kind in ("file", "link"):
                listed.add(path)  # matched by two patterns: remove it once
                result.changes.append(Change("remove", path, None, current))
    return result


# --- applying ----------------------------------------------------------------


def apply_change(change: Change, manage_owner: bool = True,
                 validate: Callable[[str, str], None] | None = None) -> None:
    """Carry out one change. ``validate(command, tmp_path)`` raises to refuse new content.

    Files are written atomically (a temporary file renamed over the old one), so
    a refused or failed write leaves the old file exactly as it was.
    """
    entry = change.entry
    if change.action == "remove":
        os.unlink(change.path)
        fsync_dir(posixpath.dirname(change.path))
        return
    if entry is None:  # only a removal comes without an entry
        raise AssertionError(f"apply_change: {change.action} of {change.path} without an entry")
    uid, gid = lookup_ids(entry.owner, entry.group) if manage_owner else (None, None)
    if entry.state == "directory":
        missing = [change.path]  # and its missing parents, made like `mkdir -p` (as `file` does)
        while not os.path.lexists(parent := posixpath.dirname(missing[-1])):
            missing.append(parent)
        for path in reversed(missing if change.current.kind is None else [change.path]):
            if not os.path.lexists(path):
                os.mkdir(path, entry.mode)
            os.chmod(path, entry.mode)  # mkdir's mode is filtered by the umask
            if manage_owner:
                os.chown(path, uid, gid)
    elif entry.state == "link":
        tmp = f"{change.path}.file-tree-tmp"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(entry.target, tmp)
        if manage_owner:
            os.lchown(tmp, uid, gid)
        os.replace(tmp, change.path)
        fsync_dir(posixpath.dirname(change.path))
    else:
        check = None
        if entry.validate and validate is not None:
            def check(tmp: str, command: str = entry.validate) -> None:
                validate(command, tmp)
        atomic_write(change.path, entry.content, entry.mode, uid, gid, before_replace=check)


# --- reporting ---------------------------------------------------------------


def _owner_name(uid: int | None, gid: int | None) -> str:
    try:
        user = pwd.getpwuid(uid).pw_name
    except (KeyError, TypeError):
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except (KeyError, TypeError):
        group = str(gid)
    return f"{user}:{group}"


def _text(data: bytes | None, show: bool) -> str:
    if data is None:
        return ""
    try:
        text = data.decode("utf-8") if show else None
    except UnicodeDecodeError:
        text = None
    if text is None or "\0" in text:  # hidden on request, or binary
        digest = hashlib.sha256(data).hexdigest()[:16]
        return f"(content not shown: {len(data)} bytes, sha256 {digest})\n"
    return text if text.endswith("\n") or not text else text + "\n"


def _describe_current(current: Current, show: bool) -> str:
    if current.kind is None:
        return ""
    head = f"# {current.kind}"
    if current.kind == "link":
        return f"{head} -> {current.target} ({_owner_name(current.uid, current.gid)})\n"
    head += f" {current.mode:04o} {_owner_name(current.uid, current.gid)}\n"
    return head + (_text(current.content, show) if current.kind == "file" else "")


def _describe_entry(entry: Entry | None) -> str:
    if entry is None:
        return ""
    if entry.state == "link":
        return f"# link -> {entry.target} ({entry.owner}:{entry.group})\n"
    head = f"# {entry.state} {entry.mode:04o} {entry.owner}:{entry.group}\n"
    return head + (_text(entry.content, entry.diff) if entry.state == "file" else "")


def diffs(result: Plan) -> list[dict[str, str]]:
    """One before/after pair per change: a header line of kind, mode and owner, then
    the content (or its size and hash when the entry's ``diff`` is off)."""
    out = []
    for change in result.changes:
        show = change.entry.diff if change.entry is not None else True
        out.append({
            "before_header": change.path if change.current.kind else "/dev/null",
            "after_header": change.path if change.action != "remove" else "/dev/null",
            "before": _describe_current(change.current, show),
            "after": _describe_entry(change.entry),
        })
    return out
