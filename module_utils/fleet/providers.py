# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Banned-provider scanner: find mentions of banned model providers in data and files.

Pure Python (standard library; PyYAML, when it is importable, to add key
paths to findings in YAML/JSON files and to read their decoded values). Used by
the ``banned_providers`` module, the ``providers`` filters, ``provider-scan``
and the overlay gate.

Vocabulary
----------
A *banned provider* is a name plus the terms that identify it (``Provider``).
``CATALOGUE`` ships the known ones; inventory names a provider (resolved by
the catalogue; an unknown name is its own only term) or gives a dict
``{name, terms, versioned, aliases, prefixes}`` whose terms are *added* to the
catalogue entry of the same name (a ban can be widened, never narrowed).
The provider's name is always one of its terms.

Three kinds of term:

* ``terms``: literal terms (``claude``, ``api.anthropic.com``,
  ``ANTHROPIC_API_KEY``). A term is split into tokens (runs of letters or of
  digits); in text the tokens must appear in order, separated by at most three
  separator characters (whitespace, ``-``, ``_``, ``.``, ``/``, ``:``) or by
  nothing, so ``ANTHROPIC_API_KEY`` also matches ``anthropic-api-key`` and
  ``AnthropicApiKey``.
* ``versioned``: words that are ordinary English on their own (``sonnet``,
  ``haiku``, ``opus``) and only identify the provider's models when a version
  number follows directly or after one ``-``/``_``/``.``: ``sonnet-4``,
  ``opus4.1``, ``haiku_3`` are findings; "a haiku", "Shakespeare's Sonnet 18",
  "magnum opus" are not. Model ids that carry the family name with ``claude``
  (``claude-3-opus``, ``claude-sonnet-4``) are found through ``claude``.
* ``aliases``: bare model aliases (``sonnet``, ``opus``, ``haiku``) that count
  only as the *whole value* of a key whose name contains ``model``:
  ``model: sonnet`` / ``"default_model": "opus"`` in a file (key and value on
  one line), or a data value whose innermost key contains ``model``.
* ``prefixes``: literal prefixes of secrets (``sk-ant-`` API keys), matched
  exactly (case-insensitive, not separator-flexible) after a non-letter.

Matching rule
-------------
* Case-insensitive: ``Claude``, ``CLAUDE``, ``cLaUdE``.
* Boundaries: a match must start and end at a token boundary. Words are runs
  of letters; digits, punctuation, whitespace and the start/end of the text
  are boundaries, and so is a lower-to-upper case change (camelCase):
  ``claude3``, ``Claude-3``, ``claude_3``, ``CLAUDE 3``, ``anthropic/claude``,
  ``https://api.anthropic.com/v1``, ``ClaudeAI``, ``myAnthropicKey`` are
  findings; ``claudette``, ``Claudette``, ``anthropical``, ``philanthropic``,
  ``CLAUDETTE`` are not.
* Unicode: when (and only when) the text has non-ASCII characters it is
  normalised before matching: each character is NFKD-decomposed (compatibility
  forms such as fullwidth letters U+FF21-U+FF5A, ligatures, circled/mathematical
  letters fold to ASCII), combining marks are dropped (``Cla\u0301ude`` is
  ``Claude``), a small table folds Cyrillic/Greek letters that look like
  Latin ones (``claude`` spelt with a Cyrillic U+0441 for the ``c``), and invisible characters are
  removed (zero-width space/non-joiner/joiner U+200B-U+200D, word joiner
  U+2060, BOM U+FEFF, soft hyphen U+00AD, and a few more), so they cannot
  hide a term.
* Positions: ``line`` and ``column`` are 1-based and refer to the original
  text; the column counts characters (code points), not bytes.

Decoded values: a YAML/JSON document is judged as its reader gets it, too
(``scan_document``): every mapping key and string value after escapes
(``"\\x61nthropic"``, ``"\\u0063laude"``, a YAML escaped line break),
line folding and ``!!binary`` are decoded, with the same matcher and the
model-alias rule.

Findings never carry the text around a match (a value may be a secret), only
the matched span itself.

Speed: one regex per catalogue (``Matcher``) compiled once, plus a cheap
prefilter: the text is lower-cased and the regex only runs when one of the
catalogue's anchor words (the longest token of each term) occurs in it, and
then only where a match can start (``_Shortcut``). Pure ASCII text is never
normalised. Every step is linear in the text (bench/provider_scan.py times
the shapes that were not: one long line, many findings, near misses).
"""

from __future__ import annotations

import base64
import bisect
import gc
import json
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .files import file_kind, read_regular
from .text import show, show_path

try:  # optional: only used to put key paths on findings in YAML/JSON files
    import yaml
except ImportError:  # pragma: no cover - exercised where PyYAML is absent
    yaml = None

__all__ = [
    "CATALOGUE",
    "DEFAULT_BANNED",
    "POLICY_KEYS",
    "AllowRule",
    "Finding",
    "Matcher",
    "Provider",
    "ScanReport",
    "banned_entries",
    "format_finding",
    "format_path",
    "is_banned",
    "normalise",
    "parse_allowlist",
    "resolve_banned",
    "scan_data",
    "scan_document",
    "scan_file",
    "scan_paths",
    "scan_text",
]


@dataclass(frozen=True)
class Provider:
    """A banned provider: its name and the terms that identify it."""

    name: str
    terms: tuple[str, ...] = ()
    versioned: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()


CATALOGUE: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "anthropic",
            terms=("anthropic", "claude", "api.anthropic.com", "console.anthropic.com",
                   "claude.ai", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN",
                   "ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL", "CLAUDE_CODE", "CLAUDE_API_KEY"),
            versioned=("opus", "sonnet", "haiku"),
            aliases=("opus", "sonnet", "haiku"),
            prefixes=("sk-ant-",),
        ),
        Provider(
            "openai",
            terms=("openai", "api.openai.com", "OPENAI_API_KEY", "chatgpt"),
            versioned=("gpt",),
        ),
        Provider(
            "google",
            terms=("gemini", "generativelanguage.googleapis.com", "GEMINI_API_KEY",
                   "aistudio.google.com"),
        ),
    )
}

DEFAULT_BANNED = ("anthropic",)

# Variables/keys that *declare* the ban: naming a banned provider there is the
# policy itself, not a deployment, so those occurrences are reported as allowed.
POLICY_KEYS = ("banned_providers",)

# Invisible characters removed before matching (they could hide a term).
_INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e"
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u3164\ufe00\ufe01"
    "\ufe02\ufe03\ufe04\ufe05\ufe06\ufe07\ufe08\ufe09\ufe0a\ufe0b\ufe0c\ufe0d"
    "\ufe0e\ufe0f\ufeff\uffa0"
)

# Letters that look like Latin ones but do not NFKD-fold to them: Cyrillic and
# Greek homoglyphs, plus dotless i, long s and script l (which re.IGNORECASE
# would fold but str.lower() does not). Pairs of (look-alike, Latin letter).
_CONFUSABLE_PAIRS = (
    "\u0430a\u0432b\u0435e\u043ak\u043cm\u043dh\u043eo\u0440p\u0441c\u0442t\u0443y"
    "\u0445x\u0456i\u0458j\u0455s\u0501d\u04bbh\u04cfl\u051bq\u051dw\u0410A\u0412B"
    "\u0415E\u041aK\u041cM\u041dH\u041eO\u0420P\u0421C\u0422T\u0423Y\u0425X\u0406I"
    "\u0408J\u0405S\u04c0l\u03b1a\u03b5e\u03b9i\u03bak\u03bdv\u03bfo\u03c1p\u03c4t"
    "\u03c5u\u03c7x\u0391A\u0392B\u0395E\u0396Z\u0397H\u0399I\u039aK\u039cM\u039dN"
    "\u039fO\u03a1P\u03a4T\u03a5Y\u03a7X\u0131i\u017fs\u2113l"
)
_CONFUSABLES = {_CONFUSABLE_PAIRS[i]: _CONFUSABLE_PAIRS[i + 1]
                for i in range(0, len(_CONFUSABLE_PAIRS), 2)}

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_TOKEN = re.compile(r"[^\W\d_]+|\d+")
_SEP = r"[\s\-_./:]{0,3}"
_LETTER = r"[^\W\d_]"
# Start/end boundaries; the case-sensitive part catches camelCase joins.
_START = rf"(?:(?<!{_LETTER})|(?-i:(?<=[a-z])(?=[A-Z])))"
_END = rf"(?:(?!{_LETTER})|(?-i:(?<=[a-z])(?=[A-Z])))"

_char_cache: dict[str, str] = {}


def _fold_char(char: str) -> str:
    """Normalised form of one non-ASCII character ('' for invisible ones)."""
    folded = _char_cache.get(char)
    if folded is None:
        if char in _INVISIBLE:
            folded = ""
        else:
            parts = []
            for part in unicodedata.normalize("NFKD", char):
                if unicodedata.category(part) == "Mn" or part in _INVISIBLE:
                    continue  # accents and invisible marks
                parts.append(_CONFUSABLES.get(part, part))
            folded = "".join(parts)
        if len(_char_cache) < 65536:
            _char_cache[char] = folded
    return folded


class _OffsetMap:
    """Maps an offset in normalised text back to the original text."""

    def __init__(self) -> None:
        self.norm_starts: list[int] = []
        self.entries: list[tuple[int, bool]] = []  # (original start, 1:1 run?)

    def add(self, norm_start: int, orig_start: int, run: bool) -> None:
        self.norm_starts.append(norm_start)
        self.entries.append((orig_start, run))

    def __call__(self, pos: int) -> int:
        if not self.norm_starts:
            return pos
        index = bisect.bisect_right(self.norm_starts, pos) - 1
        if index < 0:
            return pos
        orig, run = self.entries[index]
        return orig + (pos - self.norm_starts[index]) if run else orig


def normalise(text: str) -> tuple[str, _OffsetMap | None]:
    """Return (normalised text, offset map); the map is None when nothing changed.

    Only non-ASCII characters are touched; ASCII runs are copied as they are.
    """
    if text.isascii():
        return text, None
    out: list[str] = []
    offsets = _OffsetMap()
    norm_len = 0
    last = 0
    for match in _NON_ASCII.finditer(text):
        if match.start() > last:  # the ASCII run before this non-ASCII run
            run = text[last:match.start()]
            offsets.add(norm_len, last, True)
            out.append(run)
            norm_len += len(run)
        for index in range(match.start(), match.end()):
            folded = _fold_char(text[index])
            if folded:
                offsets.add(norm_len, index, len(folded) == 1 and folded == text[index])
                out.append(folded)
                norm_len += len(folded)
        last = match.end()
    if last < len(text):
        offsets.add(norm_len, last, True)
        out.append(text[last:])
    return "".join(out), offsets


def _term_regex(term: str) -> str:
    tokens = _TOKEN.findall(term.lower())
    if not tokens:
        raise ValueError(f"term {term!r} has no letters or digits")
    body = _SEP.join(re.escape(token) for token in tokens)
    start = _START if tokens[0][0].isalpha() else ""
    end = _END if tokens[-1][-1].isalpha() else ""
    return start + body + end


def _anchor(term: str) -> str:
    return max(_TOKEN.findall(term.lower()), key=len)


_FLAGS = re.IGNORECASE | re.MULTILINE
# str.lower() does not map these to the ASCII letter that re.IGNORECASE
# matches them with (i, i, s): the shortcut's substring search would miss
# them. normalise() folds all three, so normalised text never has them.
_CASE_OUTLIERS = ("\u0130", "\u0131", "\u017f")
_VERSION = r"(?=[\-_.]?\d)"  # what follows a versioned word (`sonnet-4`, `opus4`)
_ALIAS_LEAD = "model"  # where every match of the model-alias rule starts
_ALIAS_SEARCH = re.compile(_ALIAS_LEAD)
_WORD_RUN = re.compile(r"[\w\-]*")  # the alias rule's `model[\w\-]*`


def _overlaps_itself(word: str) -> bool:
    """True when two occurrences of `word` can overlap (a prefix is also a suffix)."""
    return any(word[:size] == word[-size:] for size in range(1, len(word)))


class _Shortcut:
    """The matches of a ``Matcher``'s regex, tried only where one can start.

    ``regex.finditer`` tries every alternative at every position, about 1 us
    a character: on a large text that mentions a term once, that was most of
    the scan. Every alternative starts with a literal, its *lead* (a term's
    first token, a prefix, ``model`` for the alias rule), and each but the
    alias rule contains its anchor (the term's longest token) a bounded
    distance after its lead. So a match can only start at a lead that stands
    that distance before an anchor, or at a ``model`` when the text has an
    alias: substring search (C speed) finds those positions, and the regex
    runs at each in turn with the alternatives of that lead, in the combined
    regex's order (those of another lead fail at its first letter). The
    result is ``finditer``'s, match for match: the leftmost match from the
    end of the previous one, the first alternative winning at a position.
    """

    def __init__(self, by_lead: dict[str, re.Pattern[str] | None],
                 reaches: list[tuple[str, re.Pattern[str], tuple[tuple[str, int, int], ...]]],
                 alias_regex: re.Pattern[str] | None, alias_anchors: tuple[str, ...]) -> None:
        self.by_lead = by_lead  # lead -> its alternatives (and those of related leads)
        # (word, its search, ((lead, nearest, farthest), ...)): where a lead can
        # stand before what the search finds
        self.reaches = reaches
        self.alias_regex = alias_regex
        self.alias_anchors = alias_anchors

    @classmethod
    def build(cls, term_parts: list[tuple[str, list[str], str]],
              alias_parts: list[tuple[str, str]]) -> _Shortcut | None:
        """From (regex, tokens, lookahead after them) per alternative and (regex,
        anchor) per alias rule, in the combined regex's order."""
        words = [word for _regex, tokens, _follows in term_parts for word in tokens]
        words += [anchor for _regex, anchor in alias_parts]
        if not all(word.isascii() for word in words):
            return None  # Unicode case folding beyond str.lower(): the regex alone
        leads = {tokens[0] for _regex, tokens, _follows in term_parts}
        if alias_parts:
            leads.add(_ALIAS_LEAD)
        by_lead: dict[str, re.Pattern[str] | None] = {}
        for lead in leads:
            # Another lead can stand at the same spot only if one starts the other.
            related = [regex for regex, tokens, _follows in term_parts
                       if tokens[0].startswith(lead) or lead.startswith(tokens[0])]
            by_lead[lead] = re.compile("|".join(related), _FLAGS) if related else None
        # What to search for (an anchor, or a one-word versioned term with its
        # digit: `opus` alone is mostly English) -> where its leads can stand
        spans: dict[tuple[str, str], set[tuple[str, int, int]]] = {}
        for _regex, tokens, follows in term_parts:
            if follows and len(tokens) == 1:
                search = (tokens[0], re.escape(tokens[0]) + follows)
                spans.setdefault(search, set()).add((tokens[0], 0, 0))
                continue
            index = tokens.index(max(tokens, key=len))
            nearest = sum(len(token) for token in tokens[:index])
            # up to three separator characters between two tokens (_SEP)
            search = (tokens[index], _occurrences(tokens[index]).pattern)
            spans.setdefault(search, set()).add((tokens[0], nearest, nearest + 3 * index))
        reaches = [(word, re.compile(pattern), tuple(sorted(leads_before)))
                   for (word, pattern), leads_before in spans.items()]
        alias_regex = (re.compile("|".join(regex for regex, _anchor in alias_parts), _FLAGS)
                       if alias_parts else None)
        return cls(by_lead, reaches, alias_regex,
                   tuple(sorted({anchor for _regex, anchor in alias_parts})))

    def matches(self, text: str) -> list[re.Match[str]] | None:
        """The regex's matches in `text`, or None when the shortcut cannot judge it."""
        lowered = text.lower()
        if len(lowered) != len(text) or (
                not text.isascii() and any(char in text for char in _CASE_OUTLIERS)):
            return None
        # Offset -> a lead standing there. Where two leads stand, either will
        # do: one starts the other, so each one's regex has both's alternatives.
        starts = self._starts(lowered)
        aliases = self.alias_regex is not None and any(
            anchor in lowered for anchor in self.alias_anchors)
        if aliases:
            starts.update(dict.fromkeys(
                [lead.start() for lead in _ALIAS_SEARCH.finditer(lowered)], _ALIAS_LEAD))
        found: list[re.Match[str]] = []
        end = 0  # matches do not overlap: the next one starts at or after this
        failed_run = -1  # alias rule failed at a `model` whose [\w-] run ends here
        by_lead = self.by_lead
        for start, lead in sorted(starts.items()):
            if start < end:
                continue
            regex = by_lead[lead]
            match = regex.match(text, start) if regex is not None else None
            if (match is None and aliases and start + len(_ALIAS_LEAD) > failed_run
                    and lowered.startswith(_ALIAS_LEAD, start)):
                match = self.alias_regex.match(text, start)
                if match is None:
                    # The rule reads `model[\w-]*` to the end of the run, then
                    # needs what follows the run: a later `model` inside this
                    # run fails the same way (without this, quadratic).
                    failed_run = _WORD_RUN.match(text, start + len(_ALIAS_LEAD)).end()
            if match is not None:
                found.append(match)
                end = match.end()
        return found

    def _starts(self, lowered: str) -> dict[int, str]:
        """Offset -> lead, for each lead standing in reach before an anchor (or at
        a versioned word followed by its digit)."""
        starts: dict[int, str] = {}
        for word, search, leads_before in self.reaches:
            if word not in lowered:  # (cheaper than an empty search)
                continue
            anchors_at = [occurrence.start() for occurrence in search.finditer(lowered)]
            for lead, nearest, farthest in leads_before if anchors_at else ():
                if farthest == 0:  # the anchor is the lead
                    starts.update(dict.fromkeys(anchors_at, lead))
                    continue
                for anchor_at in anchors_at:
                    stop = anchor_at - nearest + len(lead)
                    at = lowered.find(lead, max(0, anchor_at - farthest), stop)
                    while at != -1:
                        starts[at] = lead
                        at = lowered.find(lead, at + 1, stop)
        return starts


def _model_key_regex(alias: str, group: str) -> str:
    # `model: sonnet`, `"default_model": "opus",`, `model=haiku`
    return (rf"model[\w\-]*[\"']?[ \t]*[:=][ \t]*[\"']?(?P<{group}>{re.escape(alias)})"
            r"(?=[\"']?[ \t]*(?:[,}\]#\r\n]|$))")


@dataclass
class Finding:
    """One occurrence of a banned provider's term.

    ``decoded`` is true for a finding made only by reading a decoded value
    (after YAML/JSON escapes, line folding, aliases, ``!!binary``; or in a
    decoded string table), not by the text scan: ``line``/``column`` are where
    the value starts, and the source text there may look clean.
    """

    provider: str
    term: str
    match: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    allowed: bool = False
    reason: str | None = None
    decoded: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = {
            "provider": self.provider, "term": self.term, "match": self.match,
            "file": self.file, "line": self.line, "column": self.column,
            "path": self.path, "allowed": self.allowed, "reason": self.reason,
        }
        if self.decoded:  # only then, so reports of plain text keep their shape
            data["decoded"] = True
        return data

    def __str__(self) -> str:
        return format_finding(self)


def _show(text: str) -> str:
    """Quote text for a message, escaping invisible and odd characters."""
    return "'" + "".join(c if c.isprintable() and c.isascii() else ascii(c)[1:-1]
                         for c in text).replace("'", "\\'") + "'"


def format_finding(finding: Finding) -> str:
    """``config.yaml:3:12: 'claude' (anthropic) in model.default``.

    A decoded finding ends with ``(decoded value)``: its line and column are
    where the value starts, and the source text there may look clean.
    """
    if finding.file is not None:
        where = "".join([show_path(finding.file),
                         *(f":{n}" for n in (finding.line, finding.column) if n is not None),
                         ": "])
    elif finding.path:
        where = f"{show(finding.path)}: "
    else:
        where = ""
    text = f"{where}{_show(finding.term)} ({finding.provider})"
    if finding.match.lower() != finding.term.lower():
        text += f" as {_show(finding.match)}"
    if finding.file is not None and finding.path:
        text += f" in {show(finding.path)}"
    if finding.decoded:
        text += " (decoded value)"
    if finding.allowed:
        text += f" allowed: {show(finding.reason)}"
    return text


class Matcher:
    """All terms of a set of banned providers, compiled into one regex."""

    def __init__(self, providers: Iterable[Provider]) -> None:
        self.providers = tuple(providers)
        if not self.providers:
            raise ValueError("no banned providers given")
        # (length, regex, provider, term, tokens the regex starts with and contains,
        # what must follow them)
        alternatives: list[tuple[int, str, str, str, list[str], str]] = []
        anchors: set[str] = set()
        aliases: dict[str, tuple[str, str]] = {}
        for provider in self.providers:
            for term in dict.fromkeys((provider.name, *provider.terms)):
                alternatives.append((len(term), _term_regex(term), provider.name, term,
                                     _TOKEN.findall(term.lower()), ""))
                anchors.add(_anchor(term))
            for word in provider.versioned:
                word_re = _term_regex(word).removesuffix(_END)
                alternatives.append((len(word), rf"{word_re}{_VERSION}", provider.name, word,
                                     _TOKEN.findall(word.lower()), _VERSION))
                anchors.add(_anchor(word))
            for alias in provider.aliases:
                aliases[alias.lower()] = (provider.name, alias)
                anchors.add(_anchor(alias))
            for prefix in provider.prefixes:
                alternatives.append((len(prefix), rf"(?<!{_LETTER}){re.escape(prefix)}",
                                     provider.name, prefix, [prefix.lower()], ""))
                anchors.add(prefix.lower())
        # Longest first, so `api.anthropic.com` wins over `anthropic` at one spot.
        alternatives.sort(key=lambda alt: -alt[0])
        self._groups: dict[str, tuple[str, str]] = {}
        parts = []
        term_parts: list[tuple[str, list[str], str]] = []
        for index, (_length, regex, provider_name, term, tokens, follows) in enumerate(
                alternatives):
            group = f"t{index}"
            self._groups[group] = (provider_name, term)
            parts.append(f"(?P<{group}>{regex})")
            term_parts.append((parts[-1], tokens, follows))
        alias_parts = []
        for index, (alias, (provider_name, term)) in enumerate(aliases.items()):
            group = f"a{index}"
            self._groups[group] = (provider_name, term)
            parts.append(_model_key_regex(alias, group))
            alias_parts.append((parts[-1], _anchor(alias)))
        self.regex = re.compile("|".join(parts), _FLAGS)
        self._shortcut = _Shortcut.build(term_parts, alias_parts)
        self.anchors = tuple(sorted(anchors, key=len, reverse=True))
        self.aliases = aliases
        # YAML folding turns line breaks and indentation into one space and ''
        # into '; an anchor with such a character could appear only once
        # decoded, so the decoded pass of scan_document cannot be skipped.
        self.foldable = any(char in anchor for anchor in self.anchors
                            for char in " \t\r\n\x85\u2028\u2029'")

    def mentions(self, text: str) -> bool:
        """True when *normalised* text contains an anchor word (the prefilter)."""
        lowered = text.lower()
        return any(anchor in lowered for anchor in self.anchors)

    def candidates(self, text: str) -> Iterator[tuple[int, int, str, str]]:
        """Yield (start, end, provider, term) over *normalised* text."""
        if not self.mentions(text):
            return
        yield from self._matches(text)

    def _matches(self, text: str) -> list[tuple[int, int, str, str]]:
        found = self._shortcut.matches(text) if self._shortcut is not None else None
        if found is None:
            found = self.regex.finditer(text)
        groups = self._groups
        return [(match.start(group), match.end(group), *groups[group])
                for match in found for group in (match.lastgroup,)]

    def find(self, text: str) -> list[tuple[int, int, str, str]]:
        """(start, end, provider, term) in the *original* text, robust to Unicode tricks."""
        norm, offsets = normalise(text)
        return self._find(norm, offsets) if self.mentions(norm) else []

    def _find(self, norm: str, offsets: _OffsetMap | None) -> list[tuple[int, int, str, str]]:
        """Hits in text already normalised (and known to pass the prefilter)."""
        hits = self._matches(norm)
        if offsets is None:
            return hits
        return [(offsets(start), offsets(end - 1) + 1, provider_name, term)
                for start, end, provider_name, term in hits]

    def alias_of(self, value: str) -> tuple[str, str] | None:
        """(provider, alias) when the whole value is a bare model alias."""
        norm, _offsets = normalise(value)
        return self.aliases.get(norm.strip().strip("\"'").lower())


# ---------------------------------------------------------------- banned list

def _strings(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{what} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


_KINDS = ("terms", "versioned", "aliases", "prefixes")


def resolve_banned(banned: Iterable[Any] | None = None) -> list[Provider]:
    """Turn names and {name, terms, versioned, aliases, prefixes} dicts into Providers.

    Raises ValueError naming the bad entry.
    """
    if banned is None:
        banned = DEFAULT_BANNED
    if isinstance(banned, (str, Mapping)):
        banned = [banned]
    merged: dict[str, Provider] = {}
    for index, item in enumerate(banned):
        if isinstance(item, Provider):  # already resolved
            name = item.name
            extra = {key: getattr(item, key) for key in _KINDS}
        elif isinstance(item, str):
            name, extra = item.strip(), {}
        elif isinstance(item, Mapping):
            unknown = set(item) - {"name", *_KINDS}
            if unknown:
                raise ValueError(f"banned[{index}]: unknown keys {sorted(unknown)}")
            name = item.get("name")
            if not isinstance(name, str):
                raise ValueError(f"banned[{index}]: 'name' must be a string")
            name = name.strip()
            extra = {key: _strings(item.get(key), f"banned[{index}].{key}")
                     for key in _KINDS}
        else:
            raise ValueError(f"banned[{index}]: expected a provider name or a "
                             f"{{name, terms}} dict, got {type(item).__name__}")
        if not name or not _TOKEN.search(name):
            raise ValueError(f"banned[{index}]: empty provider name")
        key = name.lower()
        base = merged.get(key) or CATALOGUE.get(key) or Provider(key)
        merged[key] = Provider(base.name, **{
            kind: tuple(dict.fromkeys(getattr(base, kind) + extra.get(kind, ())))
            for kind in _KINDS})
    if not merged:
        raise ValueError("banned must name at least one provider")
    for provider in merged.values():
        for term in (term for kind in _KINDS for term in getattr(provider, kind)):
            if not _TOKEN.search(term):
                raise ValueError(f"banned provider {provider.name!r}: term {term!r} "
                                 "has no letters or digits")
    return list(merged.values())


_matcher_cache: dict[tuple[Provider, ...], Matcher] = {}


def _matcher(banned: Any) -> Matcher:
    if isinstance(banned, Matcher):
        return banned
    providers = tuple(resolve_banned(banned))
    matcher = _matcher_cache.get(providers)
    if matcher is None:
        matcher = _matcher_cache[providers] = Matcher(providers)
    return matcher


# ------------------------------------------------------------------ allowlist

@dataclass(frozen=True)
class AllowRule:
    """A deliberate mention: ``path`` glob, ``term`` (``*`` = any) and ``reason``.

    ``path`` matches a file finding's file path (as given, absolute, or by
    basename when the glob has no ``/``) or a data finding's key path. ``*``
    matches any run of characters (``/`` included), ``?`` one character;
    everything else, ``[`` and ``]`` included, is literal. An optional ``key``
    glob narrows a file rule to findings under matching key paths.
    """

    path: str
    term: str
    reason: str
    key: str | None = None

    def matches(self, finding: Finding) -> bool:
        if self.term != "*" and self.term.lower() not in (finding.term.lower(),
                                                          finding.provider.lower()):
            return False
        if finding.file is not None:
            candidates = [finding.file, os.path.abspath(finding.file)]
            if "/" not in self.path:
                candidates.append(os.path.basename(finding.file))
            if not any(_glob(self.path).fullmatch(c) for c in candidates):
                return False
            return self.key is None or _glob(self.key).fullmatch(finding.path or "") is not None
        return _glob(self.path).fullmatch(finding.path or "") is not None


def _glob(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def parse_allowlist(entries: Iterable[Any] | None) -> list[AllowRule]:
    """Validate allowlist entries ({path, term, reason[, key]}); ValueError names the entry."""
    rules = []
    for index, entry in enumerate(entries or ()):
        if isinstance(entry, AllowRule):
            rules.append(entry)
            continue
        if not isinstance(entry, Mapping):
            raise ValueError(f"allowlist[{index}]: expected a dict with path, term, reason")
        unknown = set(entry) - {"path", "term", "reason", "key"}
        if unknown:
            raise ValueError(f"allowlist[{index}]: unknown keys {sorted(unknown)}")
        values = {}
        for key in ("path", "term", "reason", "key"):
            value = entry.get(key, "*" if key == "term" else None)
            if value is None and key == "key":
                continue
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"allowlist[{index}]: '{key}' must be a non-empty string")
            values[key] = value.strip()
        rules.append(AllowRule(**values))
    return rules


def _apply_allowlist(findings: list[Finding], rules: list[AllowRule]) -> None:
    for finding in findings:
        if finding.allowed:
            continue
        policy = _policy_key(finding.path)
        if policy:
            finding.allowed, finding.reason = True, f"declares the ban ({policy})"
            continue
        for rule in rules:
            if rule.matches(finding):
                finding.allowed, finding.reason = True, rule.reason
                break


def _policy_key(path: str | None) -> str | None:
    if not path:
        return None
    root = _ROOT_KEY.match(path).group()
    return root if root in POLICY_KEYS else None


_ROOT_KEY = re.compile(r"[^.\[]*")  # a key path's first key


# ---------------------------------------------------------------- key paths

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")


def format_path(parts: Iterable[Any]) -> str:
    """``['golden_state_providers', 2, 'base_url']`` -> ``golden_state_providers[2].base_url``."""
    text = ""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        elif isinstance(part, str) and _IDENT.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return text


# ----------------------------------------------------------- structured data

def scan_text(text: str, banned: Any = None) -> list[Finding]:
    """Findings in one string (file, line, column set; no key path)."""
    return _text_findings(text, _matcher(banned).find(text))


def _text_findings(text: str, hits: list[tuple[int, int, str, str]]) -> list[Finding]:
    findings = []
    # hits come in order: count newlines and find line starts incrementally
    # (a search back from each hit to its line start is quadratic on one long line)
    line, counted, line_start = 1, 0, 0
    for start, end, provider_name, term in hits:
        newlines = text.count("\n", counted, start)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", counted, start) + 1
        counted = start
        findings.append(Finding(provider_name, term, text[start:end],
                                line=line, column=start - line_start + 1))
    return findings


def scan_data(data: Any, banned: Any = None, root: str | None = None,
              allowlist: Iterable[Any] | None = None) -> list[Finding]:
    """Findings in nested dicts/lists: keys and string values, with key paths.

    ``root`` prefixes every path; with no root, the top-level dict's keys are
    the roots. Allowed findings are included with ``allowed=True``.
    """
    matcher = _matcher(banned)
    findings: list[Finding] = []
    _walk(data, [root] if root else [], matcher, findings, set())
    _apply_allowlist(findings, parse_allowlist(allowlist))
    return findings


def _scan_string(text: str, parts: list[Any], matcher: Matcher, out: list[Finding],
                 is_value: bool) -> None:
    path = format_path(parts)
    for start, end, provider_name, term in matcher.find(text):
        out.append(Finding(provider_name, term, text[start:end], path=path))
    if is_value and parts and isinstance(parts[-1], str) and "model" in parts[-1].lower():
        alias = matcher.alias_of(text)
        if alias and not any(f.path == path for f in out):
            out.append(Finding(alias[0], alias[1], text.strip(), path=path))


def _walk(value: Any, parts: list[Any], matcher: Matcher, out: list[Finding],
          active: set[int]) -> None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        _scan_string(value, parts, matcher, out, True)
        return
    if isinstance(value, Mapping):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = enumerate(value)
    else:
        return  # numbers, booleans, None cannot name a provider
    if id(value) in active:
        return  # a cycle (only possible from Python callers)
    active.add(id(value))
    try:
        for key, item in items:
            if isinstance(value, Mapping):
                key = key if isinstance(key, str) else str(key)
                _scan_string(key, [*parts, key], matcher, out, False)
            _walk(item, [*parts, key], matcher, out, active)
    finally:
        active.discard(id(value))


def banned_entries(providers: Any, banned: Any = None) -> list[Any]:
    """The entries of a provider chain that name a banned provider anywhere."""
    if providers is None:
        return []
    if isinstance(providers, (str, Mapping)):
        providers = [providers]
    matcher = _matcher(banned)
    return [entry for entry in providers if is_banned(entry, matcher)]


def is_banned(value: Any, banned: Any = None) -> bool:
    """True when a provider entry (dict or string) mentions a banned provider."""
    return any(not f.allowed for f in scan_data(value, banned))


# --------------------------------------------------------------------- files

@dataclass
class ScanReport:
    """Result of scanning data and files."""

    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # FIFOs, sockets, devices met by the walk: "PATH: not a regular file (a FIFO)"
    special: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if not f.allowed]

    @property
    def allowed(self) -> list[Finding]:
        return [f for f in self.findings if f.allowed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.failures],
            "allowed": [f.to_dict() for f in self.allowed],
            "scanned": {"files": self.files, "variables": self.variables,
                        "skipped": self.skipped, "special": self.special},
            "errors": self.errors,
        }


_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "node_modules",
                        ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache"})


def _decode(data: bytes) -> str | None:
    """Text of a file's bytes, or None for binary content."""
    if data.isascii():
        return None if b"\0" in data[:8192] else data.decode("ascii")
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\0\0", "utf-32"),
                       (b"\0\0\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
                       (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                break
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", "replace")


def scan_file(path: str, banned: Any = None, report: ScanReport | None = None,
              allowlist: Iterable[Any] | None = None) -> list[Finding]:
    """Findings in one file, with line/column and (YAML/JSON) key paths.

    YAML and JSON files are also judged by their decoded keys and values
    (``scan_document``). Raises OSError when the file cannot be read; returns
    [] for binary files.
    """
    matcher = _matcher(banned)
    data = read_regular(path)  # never blocks: a FIFO or device is an OSError
    text = _decode(data)
    if text is None:
        if report is not None:
            report.skipped.append(path)
        return []
    if report is not None:
        report.files.append(path)
    return scan_document(text, path, "auto", matcher, allowlist)


# ------------------------------------------------------------ decoded values

_FORMATS = ("auto", "yaml", "json", "text")


def scan_document(text: str, name: str, fmt: str = "auto", banned: Any = None,
                  allowlist: Iterable[Any] | None = None) -> list[Finding]:
    """Findings in one document as its reader would get it.

    The text scan always runs (``file`` = ``name``). For YAML/JSON (``fmt``
    ``"yaml"``/``"json"``, or ``"auto"`` by the suffix of ``name``) findings get
    key paths, and every decoded mapping key and string value is judged too,
    so a term written with escapes (``"\\x61nthropic"``, ``"\\u0063laude"``, a
    YAML escaped line break) or as ``!!binary`` is still found. A decoded
    finding the text scan already made (same provider and term in the same
    value) is not repeated, unless a YAML alias puts it under a key path the
    allowlist does not excuse; a new one carries the line and column where
    its value starts and ``decoded=True``. A document that does not parse
    keeps its text findings. Never raises for the document's content.
    """
    if fmt not in _FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(_FORMATS)}, got {fmt!r}")
    matcher = _matcher(banned)
    rules = parse_allowlist(allowlist)
    return _without_gc(_scan_document, text, name, fmt, matcher, rules)


def _scan_document(text: str, name: str, fmt: str, matcher: Matcher,
                   rules: list[AllowRule]) -> list[Finding]:
    kind = _format_of(name) if fmt == "auto" else fmt
    norm, offsets = normalise(text)
    mentioned = matcher.mentions(norm)
    findings = _text_findings(text, matcher._find(norm, offsets)) if mentioned else []
    for finding in findings:
        finding.file = name
    if kind != "text" and (mentioned or _may_hide(text, matcher)):
        findings.extend(_decoded_pass(text, name, findings, matcher, rules, norm, offsets))
        findings.sort(key=lambda f: (f.line or 0, f.column or 0))  # stable: text order kept
    if findings:
        _apply_allowlist(findings, rules)
    return findings


def _format_of(name: str) -> str:
    lower = name.lower()
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    return "json" if lower.endswith(".json") else "text"


# Escapes of YAML double-quoted scalars (a superset of JSON's).
_ESCAPE = re.compile(r"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})"
                     r"|(\r\n|[\r\n\x85\u2028\u2029])[ \t]*|(.))", re.DOTALL)
_ESCAPED_CHARS = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v",
                  "f": "\f", "r": "\r", "e": "\x1b", "N": "\x85", "_": "\xa0",
                  "L": "\u2028", "P": "\u2029"}
_SURROGATE = re.compile("[\ud800-\udfff]")


def _unescape_all(text: str) -> str:
    """The whole text with every escape decoded, wherever it stands.

    Only a prefilter: inside double-quoted scalars (and JSON strings) this is
    what a parser decodes, elsewhere it may decode too much, never too little.
    """
    def replace(match: re.Match[str]) -> str:
        code = match.group(1) or match.group(2) or match.group(3)
        if code is not None:
            return chr(int(code, 16)) if int(code, 16) <= 0x10FFFF else ""
        if match.group(4) is not None:
            return ""  # escaped line break: the next line joins this one
        return _ESCAPED_CHARS.get(match.group(5), match.group(5))
    return _join_surrogates(_ESCAPE.sub(replace, text))


def _join_surrogates(text: str) -> str:
    """Pair up surrogates (JSON writes non-BMP characters as two escapes)."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _may_hide(text: str, matcher: Matcher) -> bool:
    """False when no decoded key or value can hold a term the text does not show.

    Called when the (normalised) text has no anchor word, so it has no
    finding. Without escapes a parser's values are pieces of the text joined
    by whitespace (line folding) or with '' read as ', so an anchor could
    only appear decoded when it contains such a character (``foldable``).
    Escapes are decoded everywhere by ``_unescape_all``, which over-decodes,
    so an anchor it does not produce cannot appear. ``!!binary`` (base64)
    values are decoded by the pass itself, so a document that may have that
    tag (directly, or written with %-escapes) always takes it.
    """
    if matcher.foldable:
        return True
    if "!" in text and ("binary" in text or "%" in text):
        return True
    return "\\" in text and matcher.mentions(normalise(_unescape_all(text))[0])


# A scalar of a parsed document: (key path, role, decoded text, start, end),
# start/end being offsets in the source text; role is "key", "value", or
# "model" (a value whose own key contains `model`).
_Scalar = tuple[list[Any], str, str, int, int]


def _without_gc(function: Any, *args: Any) -> Any:
    """``function(*args)`` with the cyclic GC off.

    A scan makes objects by the million (a YAML node tree, matches, findings)
    and no cycle worth collecting: every collection the GC runs meanwhile
    walks all of them, seconds per 10 MB, growing faster than the text. What
    ``function`` leaves behind (the node tree) is freed when it returns.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return function(*args)
    finally:
        if collecting:
            gc.enable()


def _decoded_pass(text: str, name: str, findings: list[Finding], matcher: Matcher,
                  rules: list[AllowRule], norm: str, offsets: _OffsetMap | None) -> list[Finding]:
    """Key paths for the text findings, and the findings only decoding shows."""
    composed = _compose(text)
    if composed is not None:
        documents, base = composed
        line_starts = _line_starts(text)
        if findings:
            _add_key_paths(findings, documents, base, line_starts)
        watch = _watch_points(text, norm, offsets, matcher)
        scalars: Iterable[_Scalar] = _yaml_scalars(documents, base, watch)
    else:  # YAML compose failed (or no PyYAML): maybe JSON that YAML cannot read
        try:
            json.loads(text.removeprefix("\ufeff"))
        except (ValueError, RecursionError):
            return []  # unparsable: the text findings are all there is
        scalars = _json_scalars(text)
        line_starts = _line_starts(text)
    located = sorted((line_starts[f.line - 1] + f.column - 1, i) for i, f in enumerate(findings))
    positions = [offset for offset, _index in located]
    new: list[Finding] = []
    for parts, role, value, start, end in scalars:
        found = _value_findings(value, matcher, role == "model")
        low = bisect.bisect_left(positions, start)
        high = bisect.bisect_left(positions, max(end, start + 1))
        if not found and low == high:
            continue
        path = format_path(parts) or None
        inside = [findings[i] for _offset, i in located[low:high]]
        for finding in inside:
            if finding.path is None:  # JSON read without YAML: no key path yet
                finding.path = path
        _apply_allowlist(inside, rules)
        shown: dict[tuple[str, str], list[Finding]] = {}
        for finding in inside:
            shown.setdefault((finding.provider, finding.term), []).append(finding)
        line = bisect.bisect_right(line_starts, start)
        for finding in found:
            finding.file, finding.path, finding.line = name, path, line
            finding.column = start - line_starts[line - 1] + 1
            finding.decoded = True
            _apply_allowlist([finding], rules)
            same = shown.get((finding.provider, finding.term))
            # The text scan showed this occurrence in this value: report it
            # again only when an alias puts it under a key path the allowlist
            # does not excuse while the text finding was excused.
            if same and not (same.pop().allowed and not finding.allowed):
                continue
            new.append(finding)
    return new


def _value_findings(value: str, matcher: Matcher, model_value: bool) -> list[Finding]:
    """Findings in one decoded string, with the model-alias rule for `model` keys."""
    value = _join_surrogates(value)
    found = [Finding(provider_name, term, value[start:end])
             for start, end, provider_name, term in matcher.find(value)]
    if model_value and not found:
        alias = matcher.alias_of(value)
        if alias:
            found.append(Finding(alias[0], alias[1], value.strip()))
    return found


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(match.end() for match in re.finditer("\n", text))
    return starts


def _compose(text: str) -> tuple[list[Any], int] | None:
    """(YAML node trees, offset of the text they index) or None when it does not parse."""
    if yaml is None:
        return None
    base = 1 if text.startswith("\ufeff") else 0  # libyaml does not count a BOM
    try:
        return list(yaml.compose_all(text[base:], Loader=_Composer)), base
    except Exception:  # any parse failure (or nesting too deep) means "no structure"
        return None


if yaml is not None:
    class _Composer(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: same marks, faster
        """The safe loader's composer, without typing plain scalars.

        Only explicit tags are read here (``!!binary``); resolving the implicit
        type of every plain scalar (int, bool, timestamp...) was 40% of the
        time spent composing. Implicit tags come out as ``?``.
        """

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            return "?"


def _watch_points(text: str, norm: str, offsets: _OffsetMap | None,
                  matcher: Matcher) -> list[int] | None:
    """Sorted offsets a YAML node must span to be worth judging; None: judge every node.

    Without escapes (``\\``), tags (``!!binary``) and aliases (``&``/``*``),
    a decoded key or value is pieces of its source text joined by a space, a
    line break or a quote, and no anchor word holds one of those (else
    ``matcher.foldable``): a node whose source holds no anchor word gives
    nothing. Same reasoning as ``_may_hide``, node by node; without it each
    of a large file's scalars went through the matcher. ``&`` keeps alias
    targets judged where they stand, so the alias budget counts as before.
    """
    if matcher.foldable or not all(anchor.isascii() for anchor in matcher.anchors):
        return None  # an anchor can appear only once decoded; or case folding beyond ASCII
    if not text.isascii() and _SURROGATE.search(text):
        return None  # a decoded value pairs surrogates up: it may read differently
    lowered = norm.lower()
    if len(lowered) != len(norm):
        return None
    points = []
    for anchor in matcher.anchors:
        for found in _occurrences(anchor).finditer(lowered):
            points.append(found.start() if offsets is None else offsets(found.start()))
    for found in _UNSAFE.finditer(text):
        points.append(found.start())
    points.sort()
    return points


_UNSAFE = re.compile(r"[\\!&*]")  # escapes, tags, anchors and aliases


def _occurrences(word: str) -> re.Pattern[str]:
    """Finds every occurrence of `word` (overlapping ones too) in lower-cased text."""
    return re.compile(f"(?={re.escape(word)})" if _overlaps_itself(word) else re.escape(word))


_BINARY_TAG = "tag:yaml.org,2002:binary"
# Revisits of shared (aliased) YAML nodes followed, so each key path that
# receives a value is judged there; bounded against alias bombs.
_ALIAS_REVISITS = 100_000
_LEAVE = object()


def _yaml_scalars(documents: list[Any], base: int,
                  watch: list[int] | None = None) -> Iterator[_Scalar]:
    """Every key and scalar value of composed YAML, in document order (iterative).

    With ``watch`` (``_watch_points``), only the nodes whose source spans one
    of its offsets: the others, subtrees included, cannot give a finding (and
    none is an alias's target: no ``&`` in them).
    """
    def judged(nodes: list[Any]) -> Iterable[int]:
        return range(len(nodes)) if watch is None else _spanning(nodes, watch, base)

    roots = [doc for doc in documents if doc is not None]
    stack: list[Any] = [(roots[index], [], "value") for index in reversed(judged(roots))]
    seen: set[int] = set()
    active: set[int] = set()  # collections on the current path: cycles stop there
    revisits = 0
    while stack:
        node, parts, role = stack.pop()
        if node is _LEAVE:
            active.discard(parts)
            continue
        if id(node) in seen:
            if id(node) in active or revisits >= _ALIAS_REVISITS:
                continue
            revisits += 1
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            value = node.value
            if node.tag == _BINARY_TAG:
                value = _binary_text(value)
            yield (parts, role, value, base + node.start_mark.index,
                   base + node.end_mark.index)
            continue
        active.add(id(node))
        stack.append((_LEAVE, id(node), None))
        if isinstance(node, yaml.MappingNode):
            pairs = node.value
            keep = set(judged([child for pair in pairs for child in pair]))  # key, value...
            for index in range(len(pairs) - 1, -1, -1):
                if 2 * index not in keep and 2 * index + 1 not in keep:
                    continue
                key_node, value_node = pairs[index]
                key = _key_text(key_node)
                child = [*parts, key]
                if 2 * index + 1 in keep:
                    stack.append((value_node, child,
                                  "model" if "model" in key.lower() else "value"))
                if 2 * index in keep:
                    stack.append((key_node, child, "key"))
        elif isinstance(node, yaml.SequenceNode):
            for index in reversed(judged(node.value)):
                stack.append((node.value[index], [*parts, index], "value"))


def _spans(nodes: list[Any], base: int = 0) -> tuple[list[int], list[int], bool]:
    """Where each node's source starts and ends (at least one character), and
    whether the spans come in order without overlapping (no alias among them)."""
    starts = [base + node.start_mark.index for node in nodes]
    ends = [max(base + node.end_mark.index, start + 1)
            for node, start in zip(nodes, starts, strict=True)]
    return starts, ends, all(end <= start for end, start in zip(ends, starts[1:], strict=False))


def _spanning(nodes: list[Any], points: list[int], base: int) -> list[int]:
    """Indices, in order, of the nodes whose span holds one of the sorted `points`."""
    starts, ends, ordered = _spans(nodes, base)
    if not nodes:
        return []
    inside = points[bisect.bisect_left(points, starts[0]):bisect.bisect_left(points, ends[-1])]
    if not ordered or len(inside) > len(nodes):  # node by node
        return [index for index, (start, end) in enumerate(zip(starts, ends, strict=True))
                if (at := bisect.bisect_left(points, start)) < len(points) and points[at] < end]
    held: list[int] = []
    for point in inside:  # point by point: the one node whose span can hold it
        index = bisect.bisect_right(starts, point) - 1
        if point < ends[index] and (not held or held[-1] != index):
            held.append(index)
    return held


def _binary_text(value: str) -> str:
    """A !!binary value as the bytes it stands for, read as UTF-8."""
    try:
        return base64.b64decode("".join(value.split())).decode("utf-8", "replace")
    except ValueError:
        return value


_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],:]', re.DOTALL)


def _json_scalars(text: str) -> Iterator[_Scalar]:
    """Every key and string of a JSON text that ``json.loads`` accepts."""
    frames: list[list[Any]] = []  # [path, is object, key or index, expecting a key]
    for match in _JSON_TOKEN.finditer(text):
        piece = match.group()
        if piece in ("{", "["):
            frames.append([_json_child(frames), piece == "{", None if piece == "{" else 0,
                           piece == "{"])
        elif piece in ("}", "]"):
            frames.pop()
        elif piece == ",":
            frame = frames[-1]
            if frame[1]:
                frame[3] = True
            else:
                frame[2] += 1
        elif piece == ":":
            frames[-1][3] = False
        else:
            value = json.loads(piece)
            if frames and frames[-1][1] and frames[-1][3]:
                frames[-1][2] = value
                yield [*frames[-1][0], value], "key", value, match.start(), match.end()
            else:
                model = bool(frames) and frames[-1][1] and "model" in frames[-1][2].lower()
                yield (_json_child(frames), "model" if model else "value", value,
                       match.start(), match.end())


def _json_child(frames: list[list[Any]]) -> list[Any]:
    return [*frames[-1][0], frames[-1][2]] if frames else []


def _add_key_paths(findings: list[Finding], documents: list[Any], base: int,
                   line_starts: list[int]) -> None:
    """Put the YAML/JSON key path on each finding.

    A finding's path: the first document whose span holds it, then level by
    level the first child (key, value or item, in order) whose span holds it,
    ending at a key, a scalar, or a collection none of whose children holds
    it. All findings descend together and each collection's children are read
    once: one finding at a time, reading every child before the one holding
    it, was quadratic (findings x keys). A child that is the collection
    itself or one around it (a recursive alias, ``&a [*a, ...]``) holds
    nothing: following it would never end.
    """
    queries = sorted((line_starts[f.line - 1] + f.column - 1 - base, i)
                     for i, f in enumerate(findings))
    paths: dict[int, list[Any]] = {}
    roots = [document for document in documents if document is not None]
    jobs = [(roots[index], [], held, frozenset())
            for index, held in _first_holders(roots, queries)]
    while jobs:
        node, parts, held, around = jobs.pop()
        for _offset, finding_index in held:
            paths[finding_index] = parts  # unless a child holds it (below)
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]  # key, value, key...
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            continue
        around = around | {id(node)}
        for index, inner in _first_holders(children, held, around):
            child = children[index]
            if isinstance(node, yaml.MappingNode):
                part: Any = _key_text(node.value[index // 2][0])
                is_key = index % 2 == 0
            else:
                part, is_key = index, False
            if is_key or not isinstance(child, (yaml.MappingNode, yaml.SequenceNode)):
                for _offset, finding_index in inner:
                    paths[finding_index] = [*parts, part]
            else:
                jobs.append((child, [*parts, part], inner, around))
    for finding_index, parts in paths.items():
        findings[finding_index].path = format_path(parts) or None


def _first_holders(nodes: list[Any], queries: list[tuple[int, int]],
                   skip: frozenset[int] = frozenset()
                   ) -> Iterator[tuple[int, list[tuple[int, int]]]]:
    """(index of a node, the queries it holds): each query (offset, tag), sorted
    by offset, goes to the first node, in order, whose span holds its offset.
    Nodes whose id is in `skip` hold nothing."""
    starts, ends, ordered = _spans(nodes)
    if ordered:  # the one node whose span can hold it
        groups: dict[int, list[tuple[int, int]]] = {}
        for query in queries:
            index = bisect.bisect_right(starts, query[0]) - 1
            if index >= 0 and query[0] < ends[index] and id(nodes[index]) not in skip:
                groups.setdefault(index, []).append(query)
        yield from groups.items()  # in node order: the queries are sorted
        return
    positions = [offset for offset, _tag in queries]
    free = list(range(len(queries) + 1))  # free[i]: towards the first unassigned >= i

    def first_free(i: int) -> int:
        root = i
        while free[root] != root:
            root = free[root]
        while free[i] != root:  # path compression
            free[i], i = root, free[i]
        return root

    left = len(queries)
    for index, node in enumerate(nodes):
        if not left:
            return
        if id(node) in skip:
            continue
        start, end = starts[index], ends[index]
        i = first_free(bisect.bisect_left(positions, start))
        held = []
        while i < len(queries) and positions[i] < end:
            held.append(queries[i])
            free[i] = i + 1
            left -= 1
            i = first_free(i + 1)
        if held:
            yield index, held


def _key_text(node: Any) -> str:
    return node.value if isinstance(node, yaml.ScalarNode) else "?"


def _iter_files(path: str, report: ScanReport) -> Iterator[str]:
    """The regular files under ``path``, in order: a directory's files, then its subdirectories.

    Nothing but a regular file is ever opened: FIFOs, sockets and devices
    (or symlinks to them) are recorded in ``report.skipped`` and
    ``report.special`` from their directory entry; symlinks to directories
    are not followed; broken symlinks are passed over. A directory that
    cannot be listed is recorded in ``report.errors`` and the walk goes on.
    """
    if not os.path.isdir(path):
        yield path  # given by name: scan_file refuses what is not a regular file
        return
    pending = [path]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            report.errors.append(f"{directory}: cannot read directory: "
                                 f"{error.strerror or error}")
            continue
        subdirs = []
        for entry in entries:
            try:
                kind = _entry_kind(entry)
            except OSError as error:
                report.errors.append(f"{entry.path}: {error.strerror or error}")
                continue
            if kind == "file":
                yield entry.path
            elif kind == "dir":
                if entry.name not in _SKIP_DIRS:
                    subdirs.append(entry.path)
            elif kind is not None:
                report.skipped.append(entry.path)
                report.special.append(f"{entry.path}: not a regular file ({kind})")
        pending.extend(reversed(subdirs))


def _entry_kind(entry: os.DirEntry) -> str | None:
    """'file', 'dir', None (a symlink to a directory, a broken one) or a special file's kind."""
    if entry.is_symlink():
        try:
            mode = os.stat(entry.path).st_mode
        except FileNotFoundError:
            return None  # broken symlink: nothing to read
        return "file" if stat.S_ISREG(mode) else None if stat.S_ISDIR(mode) else file_kind(mode)
    if entry.is_dir(follow_symlinks=False):
        return "dir"
    if entry.is_file(follow_symlinks=False):
        return "file"
    return file_kind(entry.stat(follow_symlinks=False).st_mode)


def scan_paths(paths: Iterable[str], banned: Any = None,
               allowlist: Iterable[Any] | None = None,
               report: ScanReport | None = None) -> ScanReport:
    """Scan files and directories (recursively; VCS and cache dirs skipped).

    Unreadable files, unlistable directories, missing paths and a path given
    by name that is not a regular file (a FIFO: ``PATH: not a regular file (a
    FIFO)``) are recorded in ``report.errors`` (never raised; the walk goes on
    past them): callers must treat an incomplete scan as a failure. Special
    files found by the walk are skipped unopened (``report.special``).
    """
    matcher = _matcher(banned)
    rules = parse_allowlist(allowlist)
    report = report if report is not None else ScanReport()
    for path in paths:
        if not os.path.exists(path) and not os.path.islink(path):
            report.errors.append(f"{path}: no such file or directory")
            continue
        for file_path in _iter_files(path, report):
            try:
                report.findings.extend(scan_file(file_path, matcher, report, rules))
            except OSError as error:
                report.errors.append(f"{file_path}: {error.strerror or error}")
    return report
