# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text from untrusted sources, made safe to show on a terminal.

Pure Python (standard library only) so it imports with or without Ansible.
"""

from __future__ import annotations

import unicodedata


def printable(text: str, limit: int) -> str:
    """``text`` on one line of at most ``limit`` characters, safe to print.

    Whitespace runs become one space; other control and format characters are
    shown escaped (\\x1b, \\u202e), so a hostile log line can neither move the
    cursor nor reorder a terminal's text. A longer text ends in an ellipsis.
    """
    pieces: list[str] = []
    used = 0
    for char in " ".join(text.split()):
        piece = _escape(char) if unicodedata.category(char)[0] == "C" else char
        pieces.append(piece)
        used += len(piece)
        if used > limit:
            break
    if used <= limit:
        return "".join(pieces)
    while pieces and used > limit - 1:  # room for the ellipsis, never half an escape
        used -= len(pieces.pop())
    return "".join(pieces) + "…" if limit > 0 else ""


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
