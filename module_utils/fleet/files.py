# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small file helpers shared by modules, CLIs and host scripts.

Pure Python (standard library only) so it imports with or without Ansible.
"""

from __future__ import annotations

import errno
import os
import stat
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


# --------------------------------------------------------------------------
# Reading input files: regular files only, never blocking

# What a non-regular file is, for messages ("not a regular file (a FIFO)").
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISLNK, "a symbolic link"))


def file_kind(mode: int) -> str | None:
    """What a ``st_mode`` that is not a regular file is ("a FIFO"); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "not a file"


class NotRegularFileError(OSError):
    """The path is a FIFO, device, socket or directory: refused without reading.

    ``str(exc)`` and ``exc.strerror`` read ``not a regular file (a FIFO)``;
    ``exc.kind`` is the kind ("a FIFO"). An ``OSError``, so callers that
    report ``f"{path}: {exc.strerror}"`` need no change.
    """

    def __init__(self, path: str, kind: str):
        super().__init__(errno.EINVAL, f"not a regular file ({kind})", path)
        self.kind = kind

    def __str__(self) -> str:
        return str(self.strerror)


class FileTooLargeError(OSError):
    """The file holds more than the caller's limit; no more than limit + 1 bytes were read."""

    def __init__(self, path: str, limit: int):
        super().__init__(errno.EFBIG, f"file is over the {limit}-byte limit", path)
        self.limit = limit

    def __str__(self) -> str:
        return str(self.strerror)


_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0))


def open_regular(path: str, *, follow_symlinks: bool = True) -> int:
    """Open ``path`` for reading and return its fd, only if it is a regular file.

    The one way to open an input file (configuration, keys, trails, documents,
    scanned files): it never blocks and never reads from anything but a
    regular file. A FIFO, socket or device is refused from ``stat`` without
    being opened; the open itself is non-blocking (so a FIFO swapped in after
    the ``stat`` cannot hang it), and ``fstat`` of the opened fd decides, so
    what is read is what was checked. The fd is switched back to blocking
    reads (the caller owns it: close it, or hand it to ``os.fdopen``).

    ``follow_symlinks=False`` adds ``O_NOFOLLOW`` (secret files: a symlink is
    refused). Raises ``NotRegularFileError`` (``not a regular file (a FIFO)``)
    or the ``OSError`` of the failed open (missing file, no permission).
    """
    info = os.stat(path, follow_symlinks=follow_symlinks)
    kind = file_kind(info.st_mode)
    if kind is not None:
        raise NotRegularFileError(path, kind)
    flags = _OPEN_FLAGS | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
    fd = os.open(path, flags)
    try:
        kind = file_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotRegularFileError(path, kind)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_fd(fd: int, path: str, limit: int | None = None) -> bytes:
    """The rest of an open file; ``FileTooLargeError`` when it holds more than ``limit`` bytes.

    Never reads more than ``limit + 1`` bytes, so an oversized file is not
    pulled into memory. Does not close ``fd``.
    """
    chunks = []
    size = 0
    while True:
        want = 1 << 20 if limit is None else min(1 << 20, limit + 1 - size)
        chunk = os.read(fd, want) if want > 0 else b""
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if limit is not None and size > limit:
            raise FileTooLargeError(path, limit)


def read_regular(path: str, limit: int | None = None, *, follow_symlinks: bool = True) -> bytes:
    """All bytes of the regular file at ``path`` (``open_regular``, then read).

    ``limit``: refuse a file of more than ``limit`` bytes with
    ``FileTooLargeError`` (``file is over the N-byte limit``) after reading at
    most ``limit + 1`` of them. Every error is an ``OSError`` whose
    ``strerror`` completes ``f"{path}: cannot read: {exc.strerror}"``.
    """
    fd = open_regular(path, follow_symlinks=follow_symlinks)
    try:
        return read_fd(fd, path, limit)
    finally:
        os.close(fd)


# Secret files are a key or a token: far below this.
PRIVATE_FILE_LIMIT = 1 << 20


def read_private_file(path: str, limit: int = PRIVATE_FILE_LIMIT) -> bytes:
    """Read a secret file, refusing one that others can read or someone else owns.

    Opened with ``open_regular`` (no symlink followed, never blocking: a FIFO,
    device or socket is refused); the permission checks run on the opened
    fd's ``fstat`` before any byte is read. Raises PermissionError with a
    message that says how to fix the file, ``NotRegularFileError`` or another
    ``OSError``; no message includes the file's contents.
    """
    fd = open_regular(path, follow_symlinks=False)
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
        return read_fd(fd, path, limit)
    finally:
        os.close(fd)


class ReadError(ValueError):
    """A file could not be read as UTF-8 text; the message names the file and why."""


def read_text(path: str, what: str, limit: int | None = None) -> str:
    """The whole file as UTF-8 text, for the loaders of configuration and key files.

    Read with ``read_regular`` (never blocks; FIFOs, devices and sockets are
    refused; ``limit`` bounds the bytes read). ReadError says ``PATH: cannot
    read WHAT: REASON`` (``not a regular file (a FIFO)``, ``file is over the
    N-byte limit``, ...) or ``PATH: WHAT is not UTF-8 (byte offset N)``;
    callers re-raise it as their own error type.
    """
    try:
        data = read_regular(path, limit)
    except OSError as exc:
        raise ReadError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReadError(f"{path}: {what} is not UTF-8 (byte offset {exc.start})") from None
    # what open(path, encoding="utf-8").read() gave: universal newlines
    return text.replace("\r\n", "\n").replace("\r", "\n")
