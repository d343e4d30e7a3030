# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One strict loader for every operator-supplied YAML and JSON document.

Pure Python; PyYAML only for YAML, imported on first use. Every rule gives a
``DocumentError`` (a ValueError) naming the file and where (line and column,
or byte offset), never a traceback, a hang or an unbounded message:

* a size cap per kind of file (``KINDS``), checked from ``fstat`` before a
  byte is read, and again on the bytes or text given to ``load``;
* UTF-8 only (the byte offset of the first bad byte; a lone surrogate in a
  ``str`` counts as one);
* no duplicate mapping keys (``key 'x' at line 7 repeats line 3``), in YAML
  and JSON alike (an invalid first value must not hide behind a second);
* nesting at most ``MAX_DEPTH`` collections deep (YAML while composing, JSON
  with a post-parse walk, and a ``RecursionError`` of the C scanner is caught
  and reported the same way);
* YAML aliases bounded while composing, before anything is expanded: at most
  ``MAX_ALIASES`` alias nodes, together standing for at most
  ``MAX_ALIAS_UNITS`` units (a node, or ``ALIAS_UNIT_CHARS`` characters of a
  scalar); an alias inside its own anchor (a recursive structure) is refused;
* JSON without NaN/Infinity, without numbers that overflow to infinity and
  without lone surrogates (``"\\ud800"``); integers of at most
  ``MAX_INT_DIGITS`` digits in both formats (Python's own int-string limit
  would otherwise raise a bare ValueError, and nothing needs more);
* messages quote at most ``EXCERPT`` characters of a value, escaped
  (fleet.text), and a bounded part of the parser's own message.

Callers keep their own error type: ``raise OverlayError(str(exc)) from None``.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from errno import EFBIG
from typing import Any

from .files import open_regular, read_fd
from .text import printable, show, show_path

MAX_DEPTH = 64  # nested collections; real documents stay under 10
MAX_ALIASES = 100  # alias nodes (``*name``, ``<<: *name``) in one document
MAX_ALIAS_UNITS = 10_000  # what the aliases stand for, together
ALIAS_UNIT_CHARS = 100  # a unit: one node, or this many characters of a scalar
MAX_INT_DIGITS = 40  # 128-bit integers fit; timestamps and versions need 20
EXCERPT = 60  # characters of a value a message may quote
_PROBLEM = 120  # characters of a parser's own message
_SOURCE = 300  # characters of a file name


@dataclass(frozen=True)
class Kind:
    """A kind of operator document: its size cap and how messages name it."""

    limit: int
    what: str


# Caps are far above any real file of the kind (so no operator meets them)
# and far below what would cost seconds or hundreds of MB to parse: pure-Python
# YAML reads about 1 MB/s and keeps ~100 bytes per node.
KINDS: dict[str, Kind] = {
    # config.yaml and the overlay's other JSON/YAML files: a few KiB today.
    "overlay": Kind(1 << 20, "overlay file"),
    # vars files (overlay-check --providers): inventory-sized.
    "vars": Kind(1 << 20, "vars file"),
    # the config policy: allowlists of tens of entries.
    "policy": Kind(256 << 10, "config policy"),
    # trusted/revoked key lists: ~150 bytes a key, so ~1,700 keys.
    "key_list": Kind(256 << 10, "key list"),
    # trust root and signed key list documents (canonical JSON).
    "trust": Kind(256 << 10, "trust document"),
    # the accepted-version record: a few hundred bytes.
    "trust_state": Kind(64 << 10, "trust state record"),
    # detached .sig files: ~700 bytes an event, so ~1,500 signatures.
    "sig": Kind(1 << 20, "signature file"),
    # trail worklogs: at most 65,535 steps of short strings; ~60 bytes a step.
    "worklog": Kind(4 << 20, "worklog"),
    # cron job declarations: tens of jobs.
    "cron": Kind(256 << 10, "cron declarations file"),
    # provider-scan --config: a banned list and an allowlist.
    "scan_config": Kind(256 << 10, "provider-scan config"),
    # JSON Schemas (the overlay's config.schema.json): tens of KiB at most.
    "schema": Kind(256 << 10, "JSON Schema"),
    # the host programs' own JSON configuration (pull.json, deadman.json,
    # metrics.json), written by the roles: a few hundred bytes.
    "host_config": Kind(64 << 10, "host program configuration"),
}


class DocumentError(ValueError):
    """An operator document refused; ``str()`` names the file and where.

    ``reason``: "syntax" (not JSON/YAML at all), "refused" (parses, but breaks
    a rule above), "encoding", "size", "read" (``errno`` set), "dependency".
    ``line``/``column`` (1-based) or ``offset`` (bytes) when known.
    """

    def __init__(self, source: str, problem: str, *, reason: str = "refused",
                 line: int | None = None, column: int | None = None,
                 offset: int | None = None, errno: int | None = None):
        self.source = source
        self.problem = problem
        self.reason = reason
        self.line = line
        self.column = column
        self.offset = offset
        self.errno = errno
        super().__init__(f"{show_path(source, _SOURCE)}: {problem}")


class _Refused(Exception):
    """Raised inside the parsers; load_* turn it into a DocumentError with the file name."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None,
                 placed: bool = False):
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.column = column
        self.placed = placed  # the problem names its own line(s)


def _invalid(fmt: str, problem: str, line: int | None, column: int | None,
             placed: bool = False) -> str:
    if line is None or placed:
        return f"invalid {fmt}: {problem}"
    return f"invalid {fmt} at line {line} column {column}: {problem}"


def excerpt(value: Any) -> str:
    """A value as messages may quote it: at most EXCERPT characters, escaped, quoted."""
    text = value if isinstance(value, str) else repr(value)
    return "'" + show(text[:EXCERPT + 1], EXCERPT) + "'"


def _problem(text: str) -> str:
    return printable(str(text)[:4 * _PROBLEM], _PROBLEM)


def kind_of(kind: str) -> Kind:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown document kind {kind!r} (one of {', '.join(KINDS)})") \
            from None


# --------------------------------------------------------------------------
# Files and text


def read_document(path: str, kind: str, source: str | None = None) -> bytes:
    """The bytes of an operator document at ``path``, within its kind's size cap.

    Regular files only (fleet.files.open_regular: a FIFO or device is refused
    unopened, never waited on); the size is checked from ``fstat`` before
    anything is read, and no more than cap + 1 bytes are ever read (a file
    growing meanwhile). DocumentError with ``reason`` "read" (``errno`` set:
    callers may treat ENOENT as "none") or "size". ``source``: how messages name
    the file (default ``path``).
    """
    spec = kind_of(kind)
    source = path if source is None else source
    try:
        fd = open_regular(path)
    except OSError as exc:
        raise DocumentError(source, f"cannot read {spec.what}: {exc.strerror or exc}",
                            reason="read", errno=exc.errno) from None
    try:
        size = os.fstat(fd).st_size
        if size > spec.limit:
            raise _too_large(source, spec, size)
        try:
            return read_fd(fd, path, spec.limit)
        except OSError as exc:
            if exc.errno == EFBIG:  # read_fd: the file grew past the cap while read
                raise _too_large(source, spec, None) from None
            raise DocumentError(source, f"cannot read {spec.what}: {exc.strerror or exc}",
                                reason="read", errno=exc.errno) from None
    finally:
        os.close(fd)


def _too_large(source: str, spec: Kind, size: int | None) -> DocumentError:
    shown = f"{size} bytes" if size is not None else "it grew while read"
    return DocumentError(source, f"{spec.what} is too large ({shown}; at most {spec.limit} "
                                 f"bytes)", reason="size")


def decode(data: bytes | str, source: str, kind: str | None = None) -> str:
    """``data`` as text: UTF-8 only (the byte offset of the first bad byte), within the cap."""
    if isinstance(data, str):
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError as exc:
            offset = len(data[:exc.start].encode("utf-8", "surrogatepass"))
            raise DocumentError(source, f"not UTF-8 (a lone surrogate at byte offset {offset})",
                                reason="encoding", offset=offset) from None
        if kind is not None and size > kind_of(kind).limit:
            raise _too_large(source, kind_of(kind), size)
        return data
    if kind is not None and len(data) > kind_of(kind).limit:
        raise _too_large(source, kind_of(kind), len(data))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        what = f"{kind_of(kind).what} is " if kind is not None else ""
        raise DocumentError(source, f"{what}not UTF-8 (byte offset {exc.start})",
                            reason="encoding", offset=exc.start) from None


def load(data: bytes | str, fmt: str, source: str, kind: str | None = None,
         *, floats: bool = True) -> Any:
    """Parse ``data`` as ``fmt`` ("json" or "yaml") under every rule; DocumentError otherwise."""
    if fmt == "json":
        return load_json(data, source, kind, floats=floats)
    if fmt == "yaml":
        return load_yaml(data, source, kind)
    raise ValueError(f"unknown document format {fmt!r} (json or yaml)")


def format_for(path: str) -> str:
    """"json" for a ``*.json`` file, else "yaml"."""
    return "json" if str(path).lower().endswith(".json") else "yaml"


def load_file(path: str, kind: str, fmt: str | None = None, *, floats: bool = True) -> Any:
    """Read (``read_document``) and parse (``load``) the document at ``path``.

    ``fmt``: "json", "yaml", or None for the file name's (``format_for``).
    """
    raw = read_document(path, kind)
    return load(raw, fmt or format_for(path), path, kind, floats=floats)


# --------------------------------------------------------------------------
# JSON


def load_json(data: bytes | str, source: str, kind: str | None = None,
              *, floats: bool = True, lone_surrogates: bool = False) -> Any:
    """Parse a JSON document strictly; ``floats=False`` refuses any non-integer number.

    ``lone_surrogates=True`` keeps ``"\\ud800"`` escapes as they decode (for a
    file of independent records, each judged on its own: a .sig file's foreign
    events).
    """
    text = decode(data, source, kind)
    hooks = _JsonHooks(floats)
    try:
        value = json.loads(text, object_pairs_hook=hooks.mapping, parse_constant=hooks.constant,
                           parse_int=hooks.integer, parse_float=hooks.number)
    except json.JSONDecodeError as exc:
        raise DocumentError(source, f"invalid JSON at line {exc.lineno} column {exc.colno}: "
                                    f"{_problem(exc.msg)}", reason="syntax", line=exc.lineno,
                            column=exc.colno) from None
    except (_Refused, RecursionError) as exc:
        raise _json_refusal(text, source, floats, exc) from None
    except ValueError as exc:  # not expected with the hooks above; never a traceback
        raise DocumentError(source, f"invalid JSON: {_problem(exc)}") from None
    _check_tree(value, source, text, floats, lone_surrogates)
    return value


class _JsonHooks:
    """json.loads hooks: each refuses what the rules refuse (located later by ``_locate``)."""

    def __init__(self, floats: bool):
        self.floats = floats

    @staticmethod
    def mapping(pairs: list[tuple[str, Any]]) -> dict:
        result: dict = {}
        for key, value in pairs:
            if key in result:
                raise _Refused(f"key {excerpt(key)} repeats")
            result[key] = value
        return result

    @staticmethod
    def constant(token: str) -> Any:
        raise _Refused(f"{token} is not a JSON number (NaN and Infinity are refused)")

    @staticmethod
    def integer(token: str) -> int:
        digits = len(token.lstrip("-"))
        if digits > MAX_INT_DIGITS:
            raise _Refused(f"integer of {digits} digits (at most {MAX_INT_DIGITS})")
        return int(token)

    def number(self, token: str) -> float:
        problem = _float_problem(token, self.floats)
        if problem:
            raise _Refused(problem)
        return float(token)


def _float_problem(token: str, floats: bool) -> str | None:
    if not floats:
        return f"number {excerpt(token)} is not an integer"
    if not math.isfinite(float(token)):
        return f"number {excerpt(token)} is out of range (it would be infinite)"
    return None


# Tokens of a JSON text: a string, a structural character, or a bare word
# (number, true/false/null, NaN/Infinity).
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[][{},:]|[^\s"\[\]{},:]+')
_JSON_INT = re.compile(r"-?\d+")


def _json_refusal(text: str, source: str, floats: bool, exc: BaseException) -> DocumentError:
    """The first rule ``text`` breaks, with its line and column (``_locate``)."""
    found = _locate(text, floats)
    if found is None:  # not expected: report what the parser said, without a place
        problem = (exc.problem if isinstance(exc, _Refused)
                   else f"nested deeper than {MAX_DEPTH} levels")
        return DocumentError(source, f"invalid JSON: {problem}")
    problem, line, column, placed = found
    return DocumentError(source, _invalid("JSON", problem, line, column, placed), line=line,
                         column=column)


def _locate(text: str, floats: bool) -> tuple[str, int, int, bool] | None:
    """(problem, line, column, placed) of the first duplicate key, too deep nesting, refused
    constant or number in a JSON text the parser refused through a hook; None if none."""
    stack: list[dict | None] = []  # one frame per open collection: its keys, or None
    expect_key = False
    line, line_start, scanned = 1, 0, 0

    def where(pos: int) -> tuple[int, int]:
        nonlocal line, line_start, scanned
        newlines = text.count("\n", scanned, pos)
        if newlines:
            line += newlines
            line_start = text.rindex("\n", scanned, pos) + 1
        scanned = pos
        return line, pos - line_start + 1

    for match in _JSON_TOKEN.finditer(text):
        token, pos = match.group(), match.start()
        first = token[0]
        if first in "[{":
            if len(stack) >= MAX_DEPTH:
                return (f"nested deeper than {MAX_DEPTH} levels", *where(pos), False)
            stack.append({} if first == "{" else None)
            expect_key = first == "{"
        elif first in "]}":
            if stack:
                stack.pop()
            expect_key = False
        elif first == ",":
            expect_key = bool(stack) and stack[-1] is not None
        elif first == ":":
            expect_key = False
        elif first == '"':
            if expect_key and stack and stack[-1] is not None:
                expect_key = False
                try:
                    key = json.loads(token)
                except ValueError:
                    continue
                at = where(pos)
                if key in stack[-1]:
                    return (f"key {excerpt(key)} at line {at[0]} repeats line {stack[-1][key]}",
                            *at, True)
                stack[-1][key] = at[0]
        else:
            problem = _bare_problem(token, floats)
            if problem:
                return (problem, *where(pos), False)
    return None


def _bare_problem(token: str, floats: bool) -> str | None:
    if token in ("NaN", "Infinity", "-Infinity"):
        return f"{token} is not a JSON number (NaN and Infinity are refused)"
    if _JSON_INT.fullmatch(token):
        digits = len(token.lstrip("-"))
        if digits > MAX_INT_DIGITS:
            return f"integer of {digits} digits (at most {MAX_INT_DIGITS})"
        return None
    try:
        return _float_problem(token, floats)
    except ValueError:  # not a number: true/false/null, or a syntax error json reported
        return None


def _check_tree(value: Any, source: str, text: str | None, floats: bool = True,
                lone_surrogates: bool = False) -> None:
    """Walk a parsed document (iteratively): nesting depth, lone surrogates in strings."""
    stack: list[tuple[Any, int, tuple]] = [(value, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            if not lone_surrogates:
                _check_string(node, source, path)
            continue
        if isinstance(node, dict):
            items: Any = node.items()
        elif isinstance(node, (list, tuple, set, frozenset)):
            items = enumerate(node)
        else:
            continue
        if depth >= MAX_DEPTH:
            found = _locate(text, floats) if text is not None else None
            if found is not None:
                problem, line, column, placed = found
                raise DocumentError(source, _invalid("JSON", problem, line, column, placed),
                                    line=line, column=column)
            raise DocumentError(source, f"nested deeper than {MAX_DEPTH} levels at "
                                        f"{_path(path)}")
        for key, child in items:
            child_path = (*path, key)
            if isinstance(node, dict) and isinstance(key, str) and not lone_surrogates:
                _check_string(key, source, child_path)
            stack.append((child, depth + 1, child_path))


def _check_string(text: str, source: str, path: tuple) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DocumentError(source, f"lone surrogate \\u{ord(text[exc.start]):04x} in a string "
                                    f"at {_path(path)} (not valid Unicode)") from None


def _path(parts: tuple) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f"[{excerpt(part)}]"
    return printable(out, 2 * EXCERPT)


# --------------------------------------------------------------------------
# YAML


_LOADER: Any = None


def _yaml_loader(source: str) -> tuple[Any, Any]:
    """(the yaml module, the strict SafeLoader subclass), built on first use."""
    global _LOADER  # pylint: disable=global-statement
    try:
        import yaml
    except ImportError:
        raise DocumentError(source, "reading YAML needs PyYAML (pip install pyyaml)",
                            reason="dependency") from None
    if _LOADER is None:
        _LOADER = _build_loader(yaml)
    return yaml, _LOADER


def _mark_refusal(problem: str, mark: Any, placed: bool = False) -> _Refused:
    return _Refused(problem, mark.line + 1, mark.column + 1, placed)


def _base_loader(yaml: Any) -> Any:
    """SafeLoader, with libyaml's scanner and parser when PyYAML has them (3-4 times
    faster); the composer stays PyYAML's Python one, where the checks below hook in."""
    try:
        from yaml._yaml import CParser  # pylint: disable=import-outside-toplevel
    except ImportError:
        return yaml.SafeLoader
    composer, constructor, resolver = (yaml.composer.Composer, yaml.constructor.SafeConstructor,
                                       yaml.resolver.Resolver)

    class FastSafeLoader(composer, CParser, constructor, resolver):  # type: ignore[misc]
        """libyaml's events, composed (and checked) in Python."""

        def __init__(self, stream: str):
            CParser.__init__(self, stream)
            composer.__init__(self)
            constructor.__init__(self)
            resolver.__init__(self)

    return FastSafeLoader


def _build_loader(yaml: Any) -> Any:
    events = yaml.events
    merge_tag = "tag:yaml.org,2002:merge"

    class StrictLoader(_base_loader(yaml)):  # type: ignore[misc]
        """SafeLoader with the module's rules checked while composing and constructing."""

        def __init__(self, stream: str):
            super().__init__(stream)
            self.fleet_open: set[str] = set()  # anchors whose node is being composed
            self.fleet_units: dict[str, int] = {}  # anchor -> units its node stands for
            self.fleet_sums: list[int] = []  # units of the open collections' children
            self.fleet_aliases = 0
            self.fleet_alias_units = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, events.AliasEvent):
                return self._fleet_alias(parent, index, event)
            anchor = event.anchor
            if isinstance(event, events.ScalarEvent):
                node = super().compose_node(parent, index)
                units = 1 + len(node.value) // ALIAS_UNIT_CHARS
            else:
                if len(self.fleet_sums) >= MAX_DEPTH:
                    raise _mark_refusal(f"nested deeper than {MAX_DEPTH} levels",
                                        event.start_mark)
                if anchor is not None:
                    self.fleet_open.add(anchor)
                self.fleet_sums.append(0)
                node = super().compose_node(parent, index)
                units = 1 + self.fleet_sums.pop()
                self.fleet_open.discard(anchor)
            if anchor is not None:
                self.fleet_units[anchor] = units
            self._fleet_count(units)
            return node

        def _fleet_alias(self, parent: Any, index: Any, event: Any) -> Any:
            name = event.anchor
            if name in self.fleet_open:
                raise _mark_refusal(f"alias *{show(name, EXCERPT)} is inside its own anchor "
                                    f"(a recursive structure)", event.start_mark)
            units = self.fleet_units.get(name)  # None: undefined, PyYAML says so below
            if units is not None:
                self.fleet_aliases += 1
                self.fleet_alias_units += units
                if self.fleet_aliases > MAX_ALIASES:
                    raise _mark_refusal(f"more than {MAX_ALIASES} aliases (an alias bomb?)",
                                        event.start_mark)
                if self.fleet_alias_units > MAX_ALIAS_UNITS:
                    raise _mark_refusal(
                        f"aliases expand to more than {MAX_ALIAS_UNITS} nodes (an alias "
                        f"bomb?)", event.start_mark)
            node = super().compose_node(parent, index)
            self._fleet_count(units or 1)
            return node

        def _fleet_count(self, units: int) -> None:
            if self.fleet_sums:
                self.fleet_sums[-1] += units

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, int] = {}
                for key_node, _value_node in node.value:
                    if key_node.tag == merge_tag:
                        continue  # a merge key's own keys may be overridden: YAML's rule
                    key = self.construct_object(key_node, deep=deep)
                    try:
                        first = seen.get(key)
                    except TypeError:
                        continue  # unhashable: SafeConstructor refuses it below
                    line = key_node.start_mark.line + 1
                    if first is not None:
                        raise _mark_refusal(f"key {excerpt(key)} at line {line} repeats line "
                                            f"{first}", key_node.start_mark, placed=True)
                    seen[key] = line
            return super().construct_mapping(node, deep=deep)

        def construct_strict_int(self, node: Any) -> int:
            # Every base counts (0x..., 0b...): a huge hex value is as big an int.
            digits = len(node.value.replace("_", "").lstrip("+-"))
            if digits > MAX_INT_DIGITS + 2:
                raise _mark_refusal(f"integer of more than {MAX_INT_DIGITS} digits",
                                    node.start_mark)
            return self.construct_yaml_int(node)

    StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_strict_int)
    return StrictLoader


def load_yaml(data: bytes | str, source: str, kind: str | None = None) -> Any:
    """Parse one YAML document (SafeLoader's types) strictly."""
    text = decode(data, source, kind)
    yaml, loader_class = _yaml_loader(source)
    loader = None
    try:
        loader = loader_class(text)  # the reader checks every character here
        value = loader.get_single_data()
    except _Refused as exc:
        raise DocumentError(source, _invalid("YAML", exc.problem, exc.line, exc.column,
                                             exc.placed),
                            line=exc.line, column=exc.column) from None
    except yaml.MarkedYAMLError as exc:
        raise _yaml_syntax(source, exc) from None
    except yaml.reader.ReaderError as exc:
        line, column = _line_column(text, exc.position)
        char = chr(exc.character) if isinstance(exc.character, int) else "?"
        raise DocumentError(source, f"invalid YAML at line {line} column {column}: "
                                    f"{_problem(exc.reason)} (character {show(char)})",
                            reason="syntax", line=line, column=column) from None
    except yaml.YAMLError as exc:
        raise DocumentError(source, f"invalid YAML: {_problem(exc)}", reason="syntax") \
            from None
    except RecursionError:
        raise DocumentError(source, f"invalid YAML: nested deeper than {MAX_DEPTH} levels") \
            from None
    except (ValueError, TypeError, OverflowError) as exc:  # a constructor's own failure
        raise DocumentError(source, f"invalid YAML: {_problem(exc)}") from None
    finally:
        if loader is not None:
            loader.dispose()
    _check_tree(value, source, None)
    return value


def _yaml_syntax(source: str, exc: Any) -> DocumentError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "syntax error"
    if exc.context:
        context = exc.context
        if exc.context_mark is not None and mark is not None \
                and exc.context_mark.line != mark.line:
            context += f" (line {exc.context_mark.line + 1})"
        problem = f"{context}: {problem}"
    if mark is None:
        return DocumentError(source, f"invalid YAML: {_problem(problem)}", reason="syntax")
    line, column = mark.line + 1, mark.column + 1
    return DocumentError(source, f"invalid YAML at line {line} column {column}: "
                                 f"{_problem(problem)}", reason="syntax", line=line,
                         column=column)


def _line_column(text: str, position: int) -> tuple[int, int]:
    position = max(0, min(position, len(text)))
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


__all__ = ["ALIAS_UNIT_CHARS", "EXCERPT", "KINDS", "MAX_ALIASES", "MAX_ALIAS_UNITS",
           "MAX_DEPTH", "MAX_INT_DIGITS", "DocumentError", "Kind", "decode", "excerpt",
           "format_for", "kind_of", "load", "load_file", "load_json", "load_yaml",
           "read_document"]
