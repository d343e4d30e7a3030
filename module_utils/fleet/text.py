# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text from untrusted sources, made safe to show on a terminal.

Pure Python (standard library only) so it imports with or without Ansible.

One rule for every face (CLIs, modules' messages, reports): a character is
shown as itself unless it is *unsafe*, a control, format (bidi overrides,
zero-width characters), surrogate, private-use or unassigned character, a
line or paragraph separator, or a space other than the ASCII one (a
no-break space looks like a space but is not one). Unsafe characters are
shown escaped, ``\\x1b``, ``\\u202e``, ``\\U000e0001``, so hostile text can
neither move the cursor, retitle the terminal, nor reorder what is shown.
Backslashes are not doubled: a shown escape may also be the four characters
of the original, which is visible either way.

* ``printable(text, limit)``: one line of at most ``limit`` characters,
  whitespace runs folded to one space (log lines, reasons, table cells).
* ``show(text, limit=None)``: every character kept, whitespace too (tabs and
  newlines escaped): names, key lists, messages, strings from a file.
* ``show_lines(text)``: ``show`` line by line, the newlines kept (listings).
* ``show_path(path)``: a file name as ``show`` shows it, with the bytes that
  are not UTF-8 (``os.fsdecode``'s surrogate escapes) shown as ``\\xff``, so a
  path prints under any locale and encoding.
* ``json_text(value)``: a JSON document whose strings carry unsafe
  characters as JSON escapes (still valid JSON; Python's ``json.loads`` gives
  back the exact strings, surrogate escapes of file names included).
"""

from __future__ import annotations

import json
import os
import unicodedata
from typing import Any

# Characters that render blank but are letters (Hangul fillers) or marks.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")


def is_unsafe(char: str) -> bool:
    """True for a character that must be shown escaped (see the module's rule)."""
    if char == " ":
        return False
    category = unicodedata.category(char)
    return category[0] in "CZ" or char in _INVISIBLE


def printable(text: str, limit: int) -> str:
    """``text`` on one line of at most ``limit`` characters, safe to print.

    Whitespace runs become one space; other unsafe characters are shown
    escaped (\\x1b, \\u202e), so a hostile log line can neither move the
    cursor nor reorder a terminal's text. A longer text ends in an ellipsis.
    """
    return _fit(_pieces(" ".join(text.split()), False), limit)


def show(text: str, limit: int | None = None) -> str:
    """``text`` with every unsafe character escaped, nothing folded or dropped.

    Tabs, newlines, no-break and other non-ASCII spaces, bidi controls and
    zero-width characters are all shown as escapes, so what is shown is what
    is there. Surrogate escapes of undecodable bytes (U+DC80-U+DCFF, as
    ``os.fsdecode`` and ``errors="surrogateescape"`` make them) are shown as
    the bytes they stand for (``\\xff``). ``limit``: at most that many
    characters, ending in an ellipsis when cut (never half an escape).
    """
    return _fit(_pieces(text, True), limit)


def show_lines(text: str) -> str:
    """``show`` for each line of a multi-line text; the newlines between them are kept."""
    return "\n".join(show(line) for line in text.split("\n"))


def show_path(path: str | bytes | os.PathLike, limit: int | None = None) -> str:
    """A path as ``show`` shows it: bytes that are not UTF-8 as ``\\xNN``, never an error."""
    return show(os.fsdecode(path), limit)


def json_text(value: Any, **options: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, **options)`` with unsafe characters escaped.

    Readable non-ASCII text stays as it is; unsafe characters inside strings
    become ``\\uXXXX`` escapes (a pair for those beyond U+FFFF), so the
    document prints on any terminal and encodes under any locale. The
    indentation's own newlines and spaces are kept.
    """
    text = json.dumps(value, ensure_ascii=False, **options)
    if text.isascii() and text.isprintable():
        return text
    return "".join(_json_escape(c) if c not in "\n " and is_unsafe(c) else c for c in text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _pieces(text: str, undecodable_as_bytes: bool) -> list[str]:
    if text.isascii() and text.isprintable():
        return list(text)
    return [_escape(c, undecodable_as_bytes) if is_unsafe(c) else c for c in text]


def _fit(pieces: list[str], limit: int | None) -> str:
    if limit is None:
        return "".join(pieces)
    used = 0
    for index, piece in enumerate(pieces):
        used += len(piece)
        if used > limit:
            kept = pieces[:index + 1]
            break
    else:
        return "".join(pieces)
    while kept and used > limit - 1:  # room for the ellipsis, never half an escape
        used -= len(kept.pop())
    return "".join(kept) + "…" if limit > 0 else ""


def _escape(char: str, undecodable_as_bytes: bool = False) -> str:
    code = ord(char)
    if undecodable_as_bytes and 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
