# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The webhook receiver's request rules that need more than a value.

``content_length_regex(limit)``: webhook's trigger rules have no numeric
comparison, so the body-size limit becomes a regex over the Content-Length
header. It matches exactly the decimal digit strings of at most as many digits
as ``limit`` whose value is at most ``limit``: shorter strings (any digits),
or strings of the same length that are not larger, digit by digit. A leading
zero is accepted while the string stays within that length ("0999" for a limit
of 1000, as HTTP allows); a longer string never matches, whatever its value.
"""

from __future__ import annotations


def content_length_regex(limit: int) -> str:
    """An anchored regex matching the Content-Length values allowed by ``limit``."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"limit must be an integer, got {type(limit).__name__}")
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, got {limit}")
    digits = str(limit)
    width = len(digits)
    alternatives = [f"[0-9]{{1,{width - 1}}}"] if width > 1 else []
    for i, digit in enumerate(digits):
        if digit != "0":  # same prefix, a smaller digit here, anything after it
            rest = width - i - 1
            alternatives.append(f"{digits[:i]}[0-{int(digit) - 1}]"
                                + (f"[0-9]{{{rest}}}" if rest else ""))
    alternatives.append(digits)
    return f"^({'|'.join(alternatives)})$"
