# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harness's request and token-usage logs: today's token total, streamed.

Pure Python (standard library only): the face is request-log-metrics
(cli/request_log_metrics.py), a console script of the fleet package, run by
the request_log role's timer.

The token-usage log is JSON lines (UTF-8, one object per line, ``\\n``-ended)::

    {"ts": "2025-06-01T12:00:00.250Z", "tokens": 1234, "model": "...", ...}

- ``ts``: when the request ended; RFC 3339 / ISO 8601 text with an offset
  (``Z`` or ``+02:00``; text without one is taken as UTC), or Unix seconds.
- the tokens, the first of these present: ``tokens``; ``usage.total_tokens``;
  ``usage.prompt_tokens + usage.completion_tokens``; ``usage.input_tokens +
  usage.output_tokens`` (each a non-negative integer, at most MAX_TOKENS).
- any other key is ignored. Blank lines are ignored.

Anything else (not UTF-8, not JSON, not an object, no usable ``ts`` or tokens,
longer than MAX_LINE_BYTES) is a malformed line: skipped and counted, never
fatal. An unterminated last piece (a write in progress, or a writer killed
mid-line) is counted when it parses and otherwise ignored.

"Today" is the UTC day. Its lines are in the live file and, after one or more
rotations today, in the rotated files (``usage.jsonl.1``, uncompressed under
logrotate's ``delaycompress``, then ``.2.gz`` ...): files are read newest
first until one was last modified before today began (it and every older one
can hold no line of today). Each file is streamed in chunks (memory stays
bounded by CHUNK_BYTES + MAX_LINE_BYTES whatever the file holds), opened
without following links, and only when it is a regular file. A rotation
during a scan can make that one scan's total low (a file renamed between the
listing and the open is missed); the next scan is right again. A file seen
twice under two names (renamed during the scan) is read once.
"""

from __future__ import annotations

import datetime
import gzip
import json
import math
import os
import re
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

CHUNK_BYTES = 64 * 1024
MAX_LINE_BYTES = 64 * 1024   # a longer line is malformed: skipped without being kept
MAX_TOKENS = 10**9           # per line: more is a broken or hostile line, not usage
DAY_SECONDS = 86400
ROTATED = re.compile(r"\.(\d{1,6})(\.gz)?\Z")  # logrotate's numbered names, optionally gzipped

# The token fields, in order of preference: a single total, or the sum of a pair.
USAGE_PAIRS = (("prompt_tokens", "completion_tokens"), ("input_tokens", "output_tokens"))


class MalformedLine(ValueError):
    """A line of the usage log that cannot be counted; the message says why."""


class NotRegularFile(OSError):
    """A log name that is a link, FIFO, directory or device: refused, never read."""


@dataclass(frozen=True)
class Usage:
    """One counted line: when (Unix seconds) and how many tokens."""

    ts: float
    tokens: int


@dataclass
class Totals:
    """What one scan of a log found for one UTC day."""

    day_start: float
    tokens: int = 0
    lines: int = 0           # usage lines of the day
    malformed: int = 0       # in the files read (whatever their day)
    files_read: int = 0
    errors: list[str] = field(default_factory=list)  # files that could not be read (fully)


# --------------------------------------------------------------------------- one line


def parse_timestamp(value: Any) -> float:
    """Unix seconds from a ``ts`` field (number, or ISO 8601 text; no offset means UTC)."""
    if isinstance(value, bool):
        raise MalformedLine("ts is a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            when = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise MalformedLine("ts is not an ISO 8601 time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp()
    else:
        raise MalformedLine("ts is missing or not a time")
    if not math.isfinite(seconds):
        raise MalformedLine("ts is not finite")
    return seconds


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedLine(f"{name} is not an integer")
    if not 0 <= value <= MAX_TOKENS:
        raise MalformedLine(f"{name} is out of range (0..{MAX_TOKENS})")
    return value


def token_count(record: dict[str, Any]) -> int:
    """The tokens a usage record reports (see the module's docstring for the fields)."""
    if "tokens" in record:
        return _count(record["tokens"], "tokens")
    usage = record.get("usage")
    if not isinstance(usage, dict):
        raise MalformedLine("no tokens field and no usage object")
    if "total_tokens" in usage:
        return _count(usage["total_tokens"], "usage.total_tokens")
    for first, second in USAGE_PAIRS:
        if first in usage and second in usage:
            return _count(usage[first], f"usage.{first}") + _count(usage[second], f"usage.{second}")
    raise MalformedLine("usage has no total_tokens nor a prompt/completion or input/output pair")


def parse_line(raw: bytes) -> Usage | None:
    """One line (without its newline) as Usage; None for a blank line; MalformedLine otherwise."""
    if len(raw) > MAX_LINE_BYTES:
        raise MalformedLine(f"longer than {MAX_LINE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedLine("not UTF-8") from None
    if not text.strip():
        return None
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: [[[[... nested past the limit
        raise MalformedLine("not JSON") from None
    if not isinstance(record, dict):
        raise MalformedLine("not a JSON object")
    return Usage(parse_timestamp(record.get("ts")), token_count(record))


# --------------------------------------------------------------------------- one file


def read_lines(stream: IO[bytes], max_line: int = MAX_LINE_BYTES,
               chunk: int = CHUNK_BYTES) -> Iterator[tuple[bytes | None, bool]]:
    """Yield ``(line, terminated)`` for each line of a binary stream, read in chunks.

    ``line`` is the line without its newline, or None when it is longer than
    ``max_line`` (its bytes are skipped, never held). ``terminated`` is False
    only for an unterminated last piece.
    """
    held = bytearray()
    too_long = False
    while block := stream.read(chunk):
        start = 0
        while (end := block.find(b"\n", start)) >= 0:
            piece = block[start:end]
            if too_long or len(held) + len(piece) > max_line:
                yield None, True
            else:
                held += piece
                yield bytes(held), True
            held.clear()
            too_long = False
            start = end + 1
        rest = block[start:]
        if not too_long:
            if len(held) + len(rest) > max_line:
                too_long = True
                held.clear()
            else:
                held += rest
    if too_long:
        yield None, False
    elif held:
        yield bytes(held), False


def tally(stream: IO[bytes], totals: Totals, max_line: int = MAX_LINE_BYTES) -> None:
    """Add the stream's lines of ``totals``' day to it; count its malformed lines."""
    start, end = totals.day_start, totals.day_start + DAY_SECONDS
    for raw, terminated in read_lines(stream, max_line):
        try:
            if raw is None:
                raise MalformedLine("too long")
            usage = parse_line(raw)
        except MalformedLine:
            if terminated:  # an unterminated piece may still be being written
                totals.malformed += 1
            continue
        if usage is not None and start <= usage.ts < end:
            totals.tokens += usage.tokens
            totals.lines += 1


def open_log(path: str) -> tuple[IO[bytes], os.stat_result]:
    """Open a log file for streaming: never through a link, only a regular file.

    A name ending in ``.gz`` is decompressed as it is read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(f"{path}: not a regular file")
        raw = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    if path.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="rb"), info
    return raw, info


# ------------------------------------------------------------ a log and its rotations


def log_files(path: str) -> list[str]:
    """The live file and its rotated siblings, newest first.

    logrotate's numbered names (``NAME.1``, ``NAME.2.gz``...). When both
    ``NAME.N`` and ``NAME.N.gz`` exist, logrotate is compressing the first into
    the second right now: the uncompressed one is complete and is the one listed.
    The live file is listed whether or not it exists (the reader skips it).
    """
    directory, name = os.path.split(path)
    try:
        names = os.listdir(directory or ".")
    except FileNotFoundError:
        return [path]
    rotated: dict[int, str] = {}
    for entry in names:
        if not entry.startswith(name):
            continue
        match = ROTATED.match(entry, len(name))
        if match is None:
            continue
        number = int(match.group(1))
        if number == 0:
            continue
        if number not in rotated or not match.group(2):  # prefer NAME.N over NAME.N.gz
            rotated[number] = entry
    return [path] + [os.path.join(directory, rotated[n]) for n in sorted(rotated)]


def day_start(now: float) -> float:
    """Unix seconds at the start of ``now``'s UTC day."""
    return math.floor(now / DAY_SECONDS) * DAY_SECONDS


def totals_for_day(path: str, now: float, max_line: int = MAX_LINE_BYTES) -> Totals:
    """Tokens of ``now``'s UTC day in the log at ``path`` and its rotated files."""
    totals = Totals(day_start=day_start(now))
    seen: set[tuple[int, int]] = set()
    for candidate in log_files(path):
        try:
            stream, info = open_log(candidate)
        except FileNotFoundError:
            continue  # the live file not written yet, or a rotated one renamed meanwhile
        except OSError as error:
            totals.errors.append(f"{candidate}: {error.strerror or error}")
            continue
        with stream:
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            if info.st_mtime < totals.day_start:
                # Last written before today began: it, and every older file, holds
                # no line of today. (A live file idle since yesterday: the same.)
                break
            totals.files_read += 1
            try:
                tally(stream, totals, max_line)
            except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
                totals.errors.append(f"{candidate}: {error}")
    return totals


def disk_usage(path: str) -> tuple[int, int]:
    """(files, bytes) of a log: the live file and its rotated siblings (regular files only).

    While logrotate compresses NAME.N into NAME.N.gz, only NAME.N is counted.
    """
    files = size = 0
    for candidate in log_files(path):
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            files += 1
            size += info.st_size
    return files, size
