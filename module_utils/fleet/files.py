# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small file helpers shared by modules, CLIs and host scripts.

Pure Python (standard library only) so it imports with or without Ansible.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable


def atomic_write(path: str, data: bytes, mode: int = 0o644,
                 uid: int | None = None, gid: int | None = None,
                 before_replace: Callable[[str], None] | None = None) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never a mix.

    The bytes go to a temporary file in the same directory, which is given its
    final mode (and owner, when asked) before it is fsynced and renamed over
    the target; the directory is fsynced so the rename survives a crash.
    ``before_replace(tmp_path)`` may inspect the finished temporary file and
    raise to refuse it: the temporary file is removed and ``path`` is untouched.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            if uid is not None or gid is not None:
                os.fchown(handle.fileno(), -1 if uid is None else uid, -1 if gid is None else gid)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if before_replace is not None:
            before_replace(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(directory)


def fsync_dir(directory: str) -> None:
    """Flush a directory's entries (a rename, a new or removed file) to disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_private_file(path: str) -> bytes:
    """Read a secret file, refusing one that others can read or someone else owns.

    Raises PermissionError with a message that says how to fix the file; the
    message never includes the file's contents.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if info.st_mode & 0o077:
            raise PermissionError(
                f"{path}: secret file is readable or writable by group/others "
                f"(mode {info.st_mode & 0o777:04o}); fix with: chmod 600 {path}"
            )
        if info.st_uid != os.geteuid():
            raise PermissionError(
                f"{path}: secret file is owned by uid {info.st_uid}, not by the "
                f"reading user (uid {os.geteuid()}); fix with: chown {os.geteuid()} {path}"
            )
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


class ReadError(ValueError):
    """A file could not be read as UTF-8 text; the message names the file and why."""


def read_text(path: str, what: str) -> str:
    """The whole file as UTF-8 text, for the loaders of configuration and key files.

    ReadError says ``PATH: cannot read WHAT: REASON`` or ``PATH: WHAT is not UTF-8
    (byte offset N)``; callers re-raise it as their own error type.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ReadError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ReadError(f"{path}: {what} is not UTF-8 (byte offset {exc.start})") from None
