# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names the roles deploy under: checked once, here, for every role.

A trail is deployed under its base name, and pruning removes ``*.trail`` files
that are no longer listed; so a base name must be plain (``NAME.trail``:
letters, digits, ``.``, ``_``, ``-``, starting with a letter or digit; no glob
characters, no whitespace or newline) and unique among those listed.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

TRAIL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.trail")
TRAIL_NAME_RULE = ("a file named NAME.trail (letters, digits, '.', '_', '-'; "
                   "no glob characters)")


def is_trail_name(name: str) -> bool:
    """True for a plain trail file name (a base name, no directory)."""
    return isinstance(name, str) and TRAIL_NAME.fullmatch(name) is not None


def bad_trail_names(paths: Iterable[str]) -> list[str]:
    """The base names among ``paths`` that cannot be deployed, each named once.

    A base name is bad when it is not a plain trail name, or when an earlier
    entry has the same base name (it would overwrite that one on the host). The
    order is that of the list: where the name is first bad (a repeated one
    where it repeats).
    """
    seen: set[str] = set()
    bad: list[str] = []
    for path in paths:
        if not isinstance(path, str):
            raise TypeError(f"expects file paths (strings), got {type(path).__name__} {path!r}")
        name = posixpath.basename(path)
        if (not is_trail_name(name) or name in seen) and name not in bad:
            bad.append(name)
        seen.add(name)
    return bad
