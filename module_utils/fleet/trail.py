# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Trail-FLUX bytecode v1: compile worklogs, encode, parse, decode, disassemble.

The byte layout is the contract in docs/trails.md (from the shared spec
trail-format.md). Pure Python, standard library only (PyYAML is imported lazily
by ``load_worklog``, through fleet.strict_load, when the input is not JSON).

``parse`` is the tolerant reader shared by ``decode`` (strict) and the verifier
(``fleet_trail_verify``): it never raises and collects findings with the byte
offset and step index where each problem was seen.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any

from .strict_load import DocumentError, load_json, load_yaml
from .strict_load import decode as decode_text

# --- opcodes ---------------------------------------------------------------

OP_NOP = 0x9F
OP_BEGIN = 0xA0
OP_END = 0xA1
OP_TABLE = 0xB0

STATUS_NAMES = {0: "success", 1: "error", 2: "partial", 3: "cancelled"}
STATUS_CODES = {name: code for code, name in STATUS_NAMES.items()}

MAX_STRING_BYTES = 255
# Hash mismatches for which the parser looks for an over-long string (len & 0xFF).
MAX_OVERFLOW_SEARCHES = 8
U16_MAX = 0xFFFF
U32_MAX = 0xFFFFFFFF

# op -> (name, ((field, kind, aliases), ...)); kind "s" string ref, "n" u16, "d" i16
OPCODES: dict[int, tuple[str, tuple[tuple[str, str, tuple[str, ...]], ...]]] = {
    0x90: ("GIT_COMMIT", (("repo_id", "n", ("repo",)), ("message", "s", ()))),
    0x91: ("GIT_PUSH", (("repo_id", "n", ("repo",)),)),
    0x92: ("FILE_READ", (("path", "s", ()),)),
    0x93: ("FILE_WRITE", (("path", "s", ()), ("content", "s", ()))),
    0x94: ("FILE_EDIT", (("path", "s", ()), ("old", "s", ()), ("new", "s", ()))),
    0x95: ("TEST_RUN", (("test_path", "s", ("path",)), ("count", "n", ()))),
    0x96: ("SEARCH_CODE", (("pattern", "s", ()),)),
    0x97: ("BOTTLE_DROP", (("target", "s", ()), ("content", "s", ()))),
    0x98: ("BOTTLE_READ", (("source", "s", ()),)),
    0x99: ("LEVEL_UP", (("level", "n", ()),)),
    0x9A: ("SPELL_CAST", (("spell_id", "s", ("spell",)),)),
    0x9B: ("ROOM_ENTER", (("room_id", "s", ("room",)),)),
    0x9C: ("TRUST_UPDATE", (("target", "s", ()), ("delta", "d", ()))),
    0x9D: ("CAP_ISSUE", (("action", "s", ()), ("holder", "s", ()))),
    0x9E: ("BRANCH", (("register", "n", ("reg",)),)),
    OP_NOP: ("NOP", ()),
    0xA2: ("COMMENT", (("comment", "s", ("text",)),)),
    0xA3: ("LABEL", (("label", "s", ("name",)),)),
}
OP_NAMES = {op: name for op, (name, _fields) in OPCODES.items()}
OP_NAMES.update({OP_BEGIN: "TRAIL_BEGIN", OP_END: "TRAIL_END", OP_TABLE: "HASHTABLE"})
OPS_BY_NAME = {name: op for op, name in OP_NAMES.items()}

_BEGIN_FIELDS = (("agent", "s", ()), ("trail_id", "s", ()), ("ts", "t", ()))
_END_FIELDS = (("status", "x", ()),)


def _operand_count(fields) -> int:
    return sum(2 if kind == "s" else 1 for _fname, kind, _aliases in fields)


# Precomputed per-opcode tables, indexed by opcode byte (0..255), for the hot loop.
# EXPECTED_COUNT[op]: operand count, or -1 for bytes that are not step opcodes.
EXPECTED_COUNT = [-1] * 256
# STRING_SLOTS[op]: operand indexes where a (hi, lo) string reference starts.
STRING_SLOTS: list[tuple[int, ...]] = [()] * 256
# SLOT_FIELDS[op]: field name for each operand slot start (for messages).
_SLOT_FIELDS: list[dict[int, str]] = [{} for _opcode in range(256)]
for _op, (_name, _fields) in OPCODES.items():
    EXPECTED_COUNT[_op] = _operand_count(_fields)
    _slot = 0
    _slots = []
    for _fname, _kind, _ in _fields:
        _SLOT_FIELDS[_op][_slot] = _fname
        if _kind == "s":
            _slots.append(_slot)
            _slot += 2
        else:
            _slot += 1
    STRING_SLOTS[_op] = tuple(_slots)
del _op, _name, _fields, _slot, _slots, _fname, _kind

_UNPACKERS = [struct.Struct(f"<{n}H") for n in range(256)]
_BEGIN = struct.Struct("<BBHHHH")
_END = struct.Struct("<BHB")
_TABLE_HEAD = struct.Struct("<BH")
_ENTRY_HEAD = struct.Struct("<HHB")


class TrailError(ValueError):
    """A worklog entry or a trail that cannot be compiled or decoded.

    ``index`` is the worklog entry index (compile) or step index (decode),
    ``field`` the entry field, ``offset`` the byte offset (decode).
    """

    def __init__(self, message: str, *, index: int | None = None,
                 field: str | None = None, offset: int | None = None) -> None:
        super().__init__(message)
        self.index = index
        self.field = field
        self.offset = offset


# --- strings ---------------------------------------------------------------

def string_key(value: str | bytes) -> int:
    """32-bit key of a string: the first 8 hex digits of its SHA-256."""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return int.from_bytes(hashlib.sha256(raw).digest()[:4], "big")


def key_hex(key: int) -> str:
    return f"{key:08x}"


def agent_id_for(agent: str) -> int:
    """Deterministic agent_id byte: the first byte of SHA-256 of the agent name."""
    return hashlib.sha256(agent.encode("utf-8")).digest()[0]


def fingerprint(data: bytes) -> str:
    """Fingerprint of a trail file: SHA-256 hex of all its bytes."""
    return hashlib.sha256(data).hexdigest()


# --- model -----------------------------------------------------------------

@dataclass
class Step:
    """One step record. ``operands`` are the raw u16 values; ``args`` resolved."""

    op: int
    operands: tuple[int, ...] = ()
    args: dict[str, Any] = field(default_factory=dict)
    offset: int | None = None

    @property
    def name(self) -> str:
        return OP_NAMES.get(self.op, f"0x{self.op:02X}")


@dataclass
class Trail:
    """A trail: header, body steps (without BEGIN/END) and its string table."""

    agent_id: int
    trail_id: str | None
    timestamp: int
    status: int
    steps: list[Step]
    agent: str | None = None
    trail_key: int | None = None
    total_steps: int | None = None  # as recorded; None = computed
    table: dict[int, str] = field(default_factory=dict)

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, f"unknown({self.status})")

    def to_entries(self) -> list[dict[str, Any]]:
        """The worklog entries that compile back to this trail."""
        out: list[dict[str, Any]] = [{"op": "TRAIL_BEGIN", "agent": self.agent,
                                      "trail_id": self.trail_id, "ts": self.timestamp}]
        for step in self.steps:
            out.append({"op": step.name, **step.args})
        out.append({"op": "TRAIL_END", "status": self.status})
        return out


# --- compiler --------------------------------------------------------------

def _pick(entry: dict, index: int, opname: str, fname: str, aliases: tuple[str, ...]):
    present = [k for k in (fname, *aliases) if k in entry]
    if not present:
        raise TrailError(f"entry {index} ({opname}): missing field '{fname}'",
                         index=index, field=fname)
    if len(present) > 1:
        raise TrailError(f"entry {index} ({opname}): fields {present} are aliases; give one",
                         index=index, field=fname)
    return present[0], entry[present[0]]


def _check_string(value, index: int, opname: str, fname: str) -> str:
    if not isinstance(value, str):
        raise TrailError(f"entry {index} ({opname}): field '{fname}' must be a string, "
                         f"got {type(value).__name__}", index=index, field=fname)
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise TrailError(f"entry {index} ({opname}): field '{fname}' is not valid "
                         f"Unicode ({exc.reason})", index=index, field=fname) from None
    if size > MAX_STRING_BYTES:
        raise TrailError(f"entry {index} ({opname}): field '{fname}' is {size} UTF-8 bytes; "
                         f"the format allows at most {MAX_STRING_BYTES}",
                         index=index, field=fname)
    return value


def _check_int(value, index: int, opname: str, fname: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TrailError(f"entry {index} ({opname}): field '{fname}' must be an integer, "
                         f"got {type(value).__name__}", index=index, field=fname)
    if not low <= value <= high:
        raise TrailError(f"entry {index} ({opname}): field '{fname}' = {value} is out of "
                         f"range [{low}, {high}]", index=index, field=fname)
    return value


def _check_status(value, index: int) -> int:
    if isinstance(value, str) and value.lower() in STATUS_CODES:
        return STATUS_CODES[value.lower()]
    if isinstance(value, int) and not isinstance(value, bool) and value in STATUS_NAMES:
        return value
    raise TrailError(f"entry {index} (TRAIL_END): field 'status' = {value!r} is not one of "
                     f"{sorted(STATUS_NAMES)} or {sorted(STATUS_CODES)}",
                     index=index, field="status")


def _entry_fields(entry, index: int, fields, opname: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise TrailError(f"entry {index}: must be a mapping, got {type(entry).__name__}",
                         index=index)
    allowed = {"op"}
    values: dict[str, Any] = {}
    for fname, kind, aliases in fields:
        allowed.update((fname, *aliases))
        used, raw = _pick(entry, index, opname, fname, aliases)
        if kind == "s":
            values[fname] = _check_string(raw, index, opname, used)
        elif kind == "n":
            values[fname] = _check_int(raw, index, opname, used, 0, U16_MAX)
        elif kind == "d":
            values[fname] = _check_int(raw, index, opname, used, -0x8000, 0x7FFF)
        elif kind == "t":
            values[fname] = _check_int(raw, index, opname, used, 0, U32_MAX)
        else:
            values[fname] = _check_status(raw, index)
    unknown = sorted(str(k) for k in entry if k not in allowed)
    if unknown:
        raise TrailError(f"entry {index} ({opname}): unknown field(s) {unknown}; "
                         f"{opname} takes {sorted(allowed - {'op'})}",
                         index=index, field=unknown[0])
    return values


def _entry_op(entry, index: int) -> int:
    if not isinstance(entry, dict):
        raise TrailError(f"entry {index}: must be a mapping, got {type(entry).__name__}",
                         index=index)
    if "op" not in entry:
        raise TrailError(f"entry {index}: missing field 'op'", index=index, field="op")
    name = entry["op"]
    op = OPS_BY_NAME.get(name.upper()) if isinstance(name, str) else None
    if op is None or op == OP_TABLE:
        raise TrailError(f"entry {index}: unknown op {name!r}", index=index, field="op")
    return op


class _Strings:
    """String table under construction; refuses 32-bit key collisions."""

    def __init__(self) -> None:
        self.by_key: dict[int, str] = {}

    def add(self, value: str, index: int, fname: str) -> int:
        key = string_key(value)
        known = self.by_key.setdefault(key, value)
        if known != value:
            raise TrailError(f"entry {index}: field '{fname}': string {value!r} has the same "
                             f"32-bit key {key_hex(key)} as {known!r}; the format cannot hold "
                             f"both", index=index, field=fname)
        return key


def compile_worklog(entries) -> Trail:
    """Compile worklog entries (TRAIL_BEGIN first, TRAIL_END last) to a Trail."""
    if not isinstance(entries, list):
        raise TrailError(f"worklog must be a list of entries, got {type(entries).__name__}")
    if len(entries) < 2:
        raise TrailError("worklog needs at least a TRAIL_BEGIN and a TRAIL_END entry")
    last = len(entries) - 1
    strings = _Strings()
    steps: list[Step] = []
    head: dict[str, Any] = {}
    status = 0
    for index, entry in enumerate(entries):
        op = _entry_op(entry, index)
        if (index == 0) != (op == OP_BEGIN):
            raise TrailError(f"entry {index}: TRAIL_BEGIN must be the first entry and only there",
                             index=index, field="op")
        if (index == last) != (op == OP_END):
            raise TrailError(f"entry {index}: TRAIL_END must be the last entry and only there",
                             index=index, field="op")
        if op == OP_BEGIN:
            head = _entry_fields(entry, index, _BEGIN_FIELDS, "TRAIL_BEGIN")
            strings.add(head["agent"], index, "agent")
            strings.add(head["trail_id"], index, "trail_id")
            continue
        if op == OP_END:
            status = _entry_fields(entry, index, _END_FIELDS, "TRAIL_END")["status"]
            continue
        name, fields = OPCODES[op]
        args = _entry_fields(entry, index, fields, name)
        operands: list[int] = []
        for fname, kind, _aliases in fields:
            value = args[fname]
            if kind == "s":
                key = strings.add(value, index, fname)
                operands += (key >> 16, key & 0xFFFF)
            else:
                operands.append(value & 0xFFFF)
        steps.append(Step(op, tuple(operands), args))
    if len(steps) + 2 > U16_MAX:
        raise TrailError(f"worklog has {len(steps) + 2} steps; total_steps is 16-bit "
                         f"(at most {U16_MAX})")
    if len(strings.by_key) > U16_MAX:
        raise TrailError(f"worklog has {len(strings.by_key)} distinct strings; the table "
                         f"holds at most {U16_MAX}")
    return Trail(agent_id=agent_id_for(head["agent"]), trail_id=head["trail_id"],
                 timestamp=head["ts"], status=status, steps=steps, agent=head["agent"],
                 trail_key=string_key(head["trail_id"]), table=strings.by_key)


def load_worklog(text: str | bytes, source: str = "<input>") -> list:
    """Parse worklog text: JSON, else YAML. Raises TrailError naming ``source``.

    Strict (fleet.strict_load): the worklog size cap, UTF-8, no repeated key,
    bounded nesting, aliases and integers; JSON that parses but breaks a rule
    is refused as such, not retried as YAML.
    """
    try:
        text = decode_text(text, source, "worklog")
        try:
            return load_json(text, source)
        except DocumentError as exc:
            if exc.reason != "syntax":
                raise
        return load_yaml(text, source)
    except DocumentError as exc:
        if exc.reason == "syntax":
            raise TrailError(f"{source}: neither JSON nor valid YAML: {exc.problem}") from None
        if exc.reason == "dependency":
            raise TrailError(f"{source}: not JSON, and PyYAML is not installed to read YAML") \
                from None
        raise TrailError(str(exc)) from None


# --- encoder ---------------------------------------------------------------

def pack_begin(agent_id: int, trail_key: int, timestamp: int) -> bytes:
    return _BEGIN.pack(OP_BEGIN, agent_id, trail_key >> 16, trail_key & 0xFFFF,
                       timestamp >> 16, timestamp & 0xFFFF)


def pack_step(op: int, operands: tuple[int, ...]) -> bytes:
    if op == OP_NOP:
        return b"\x9f"
    return bytes((op, len(operands))) + _UNPACKERS[len(operands)].pack(*operands)


def pack_end(total_steps: int, status: int) -> bytes:
    return _END.pack(OP_END, total_steps, status)


def pack_table(entries: list[tuple[int, bytes]]) -> bytes:
    parts = [_TABLE_HEAD.pack(OP_TABLE, len(entries))]
    head = _ENTRY_HEAD.pack
    for key, raw in entries:
        parts.append(head(key >> 16, key & 0xFFFF, len(raw)))
        parts.append(raw)
    return b"".join(parts)


def encode_raw(agent_id: int, trail_key: int, timestamp: int,
               steps: list[tuple[int, tuple[int, ...]]], total_steps: int, status: int,
               table: list[tuple[int, bytes]]) -> bytes:
    """Lay out a trail from raw parts; the table is written sorted by key."""
    body = [pack_begin(agent_id, trail_key, timestamp)]
    body += [pack_step(op, operands) for op, operands in steps]
    body.append(pack_end(total_steps, status))
    body.append(pack_table(sorted(table, key=lambda item: item[0])))
    return b"".join(body)


def encode(trail: Trail) -> bytes:
    """Bytes of a compiled (or decoded) trail. Deterministic."""
    trail_key = trail.trail_key if trail.trail_key is not None else string_key(trail.trail_id)
    total = trail.total_steps if trail.total_steps is not None else len(trail.steps) + 2
    table = [(key, value.encode("utf-8")) for key, value in trail.table.items()]
    for key, raw in table:
        if len(raw) > MAX_STRING_BYTES:
            raise TrailError(f"string with key {key_hex(key)} is {len(raw)} UTF-8 bytes; "
                             f"at most {MAX_STRING_BYTES} fit")
    return encode_raw(trail.agent_id, trail_key, trail.timestamp,
                      [(s.op, s.operands) for s in trail.steps], total, trail.status, table)


def compile_bytes(entries) -> bytes:
    """compile_worklog + encode."""
    return encode(compile_worklog(entries))


# --- tolerant parser -------------------------------------------------------

@dataclass
class Finding:
    """A problem found in a trail, where it was found."""

    code: str
    message: str
    offset: int = 0
    step: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "offset": self.offset,
                "step": self.step}

    def __str__(self) -> str:
        where = f"offset 0x{self.offset:x}"
        if self.step is not None:
            where += f": step {self.step}"
        return f"{where}: {self.code} {self.message}"


@dataclass
class Parsed:
    """What ``parse`` could read. ``steps`` are (op, offset, operands) incl. BEGIN/END."""

    findings: list[Finding]
    steps: list[tuple[int, int, tuple[int, ...]]]
    begin: tuple[int, int, int] | None = None  # agent_id, trail_key, timestamp
    end: tuple[int, int] | None = None  # total_steps, status
    end_offset: int | None = None
    table: list[tuple[int, bytes, int]] = field(default_factory=list)  # key, raw, offset
    table_offset: int | None = None
    strings: dict[int, str] = field(default_factory=dict)  # key -> decoded (first, valid)
    complete: bool = False  # structurally read to the end with nothing left over
    overflow_searches: int = 0


# Findings after which re-encoding cannot reproduce the layout (so is not tried).
STRUCTURAL = frozenset({
    "TRUNCATED", "BEGIN_NOT_FIRST", "BEGIN_MISPLACED", "BEGIN_DUPLICATE", "UNKNOWN_OPCODE",
    "STEP_AFTER_END", "END_MISSING", "TABLE_MISSING", "TABLE_MISPLACED", "TRAILING_BYTES",
    "STRING_OVERFLOW", "TOO_MANY_STEPS",
})


def _add(findings: list[Finding], code: str, message: str, offset: int,
         step: int | None = None) -> None:
    findings.append(Finding(code, message, offset, step))


def _parse_table(data: bytes, pos: int, parsed: Parsed) -> int:
    """Read a HASHTABLE at pos; return the offset after it, or -1 if cut short."""
    findings = parsed.findings
    size = len(data)
    if pos + 3 > size:
        _add(findings, "TRUNCATED", "HASHTABLE header needs 3 bytes, "
             f"{size - pos} left", pos)
        return -1
    count = data[pos + 1] | data[pos + 2] << 8
    if parsed.table_offset is None:
        parsed.table_offset = pos
    cur = pos + 3
    unpack = _ENTRY_HEAD.unpack_from
    sha = hashlib.sha256
    table = parsed.table
    strings = parsed.strings
    seen: dict[int, int] = {}
    for entry in range(count):
        if cur + 5 > size:
            _add(findings, "TRUNCATED", f"table entry {entry} of {count}: header needs 5 "
                 f"bytes, {size - cur} left", cur)
            return -1
        hi, lo, length = unpack(data, cur)
        key = hi << 16 | lo
        start = cur + 5
        end = start + length
        if end > size:
            _add(findings, "TRUNCATED", f"table entry {entry} of {count}: string needs "
                 f"{length} bytes, {size - start} left", cur)
            return -1
        raw = data[start:end]
        if int.from_bytes(sha(raw).digest()[:4], "big") != key:
            longer = None
            if parsed.overflow_searches < MAX_OVERFLOW_SEARCHES:  # bound hostile inputs
                parsed.overflow_searches += 1
                longer = _overflowed_length(data, start, length, key)
            if longer is not None:
                _add(findings, "STRING_OVERFLOW", f"table entry {entry}: string of {longer} "
                     f"bytes written with length byte {length} (len & 0xFF); the rest of "
                     f"the table was resynchronised", cur)
                end = start + longer
                raw = data[start:end]
            else:
                _add(findings, "KEY_MISMATCH", f"table entry {entry}: string does not hash "
                     f"to its key {key_hex(key)} (sha256 gives "
                     f"{sha(raw).hexdigest()[:8]})", cur)
        if key in seen:
            _add(findings, "DUPLICATE_KEY", f"table entry {entry}: key {key_hex(key)} "
                 f"already defined by entry {seen[key]}", cur)
        else:
            seen[key] = entry
            try:
                strings[key] = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                _add(findings, "INVALID_UTF8", f"table entry {entry}: string is not valid "
                     f"UTF-8 ({exc.reason} at byte {exc.start})", cur)
        table.append((key, raw, cur))
        cur = end
    return cur


def _overflowed_length(data: bytes, start: int, length: int, key: int) -> int | None:
    """The original encoder wrote len & 0xFF then the whole string: find such a string."""
    longer = length + 256
    size = len(data)
    while start + longer <= size and longer <= 0xFFFF:
        raw = data[start:start + longer]
        if int.from_bytes(hashlib.sha256(raw).digest()[:4], "big") == key:
            return longer
        longer += 256
    return None


def parse(data: bytes) -> Parsed:
    """Read a trail as far as possible. Never raises for any bytes input."""
    findings: list[Finding] = []
    steps: list[tuple[int, int, tuple[int, ...]]] = []
    parsed = Parsed(findings, steps)
    size = len(data)
    if size == 0:
        _add(findings, "TRUNCATED", "empty file: no TRAIL_BEGIN", 0, 0)
        return parsed
    expected = EXPECTED_COUNT
    unpackers = _UNPACKERS
    append = steps.append
    pos = 0
    index = 0
    after_end = False
    if data[0] != OP_BEGIN:
        _add(findings, "BEGIN_NOT_FIRST", f"first byte is 0x{data[0]:02x}, not TRAIL_BEGIN "
             "(0xa0)", 0, 0)
    while pos < size:
        op = data[pos]
        want = expected[op]
        if index > U16_MAX:
            _add(findings, "TOO_MANY_STEPS", f"more than {U16_MAX} step records; "
                 "total_steps is 16-bit", pos, index)
            return parsed
        if want >= 0 and op != OP_NOP:
            if pos + 2 > size:
                _add(findings, "TRUNCATED", f"{OP_NAMES[op]}: no operand count byte", pos,
                     index)
                return parsed
            count = data[pos + 1]
            nxt = pos + 2 + 2 * count
            if nxt > size:
                _add(findings, "TRUNCATED", f"{OP_NAMES[op]}: {count} operands need "
                     f"{2 * count} bytes, {size - pos - 2} left", pos, index)
                return parsed
            if count != want:
                _add(findings, "BAD_OPERAND_COUNT", f"{OP_NAMES[op]} takes {want} operands, "
                     f"record has {count}", pos, index)
            if after_end:
                _add(findings, "STEP_AFTER_END", f"{OP_NAMES[op]} after TRAIL_END", pos, index)
            append((op, pos, unpackers[count].unpack_from(data, pos + 2)))
            pos = nxt
            index += 1
            continue
        if op == OP_NOP:
            if after_end:
                _add(findings, "STEP_AFTER_END", "NOP after TRAIL_END", pos, index)
            append((op, pos, ()))
            pos += 1
            index += 1
            continue
        if op == OP_BEGIN:
            if pos + 10 > size:
                _add(findings, "TRUNCATED", f"TRAIL_BEGIN needs 10 bytes, {size - pos} left",
                     pos, index)
                return parsed
            if pos != 0:
                _add(findings, "BEGIN_DUPLICATE" if parsed.begin else "BEGIN_MISPLACED",
                     "TRAIL_BEGIN is not the first record", pos, index)
            if after_end:
                _add(findings, "STEP_AFTER_END", "TRAIL_BEGIN after TRAIL_END", pos, index)
            _opcode, agent_id, thi, tlo, shi, slo = _BEGIN.unpack_from(data, pos)
            if parsed.begin is None:
                parsed.begin = (agent_id, thi << 16 | tlo, shi << 16 | slo)
            append((op, pos, (thi, tlo)))
            pos += 10
            index += 1
            continue
        if op == OP_END:
            if pos + 4 > size:
                _add(findings, "TRUNCATED", f"TRAIL_END needs 4 bytes, {size - pos} left",
                     pos, index)
                return parsed
            _opcode, total, status = _END.unpack_from(data, pos)
            if after_end:
                _add(findings, "STEP_AFTER_END", "second TRAIL_END", pos, index)
            else:
                parsed.end = (total, status)
                parsed.end_offset = pos
                if total != index + 1:
                    _add(findings, "TOTAL_STEPS_MISMATCH", f"TRAIL_END says {total} steps, "
                         f"the trail has {index + 1}", pos, index)
                if status not in STATUS_NAMES:
                    _add(findings, "UNKNOWN_STATUS", f"status {status} is not one of "
                         f"{sorted(STATUS_NAMES)}", pos, index)
            append((op, pos, ()))
            after_end = True
            pos += 4
            index += 1
            continue
        if op == OP_TABLE:
            if not after_end:
                _add(findings, "END_MISSING", "HASHTABLE reached before any TRAIL_END", pos,
                     index)
                _add(findings, "TABLE_MISPLACED", "HASHTABLE before TRAIL_END", pos, None)
            elif parsed.table_offset is not None:
                _add(findings, "TABLE_MISPLACED", "second HASHTABLE", pos, None)
            table_at = pos
            pos = _parse_table(data, pos, parsed)
            if pos < 0:
                return parsed
            if after_end:
                if pos < size:
                    _add(findings, "TRAILING_BYTES", f"{size - pos} bytes after the HASHTABLE "
                         f"(which starts at 0x{table_at:x})", pos, None)
                    return parsed
                break
            continue
        _add(findings, "UNKNOWN_OPCODE", f"0x{op:02x} is not an opcode", pos, index)
        return parsed
    else:
        # ran out of bytes without a table after END
        if not after_end and parsed.table_offset is None:
            _add(findings, "END_MISSING", "file ends before TRAIL_END", size, index)
        if parsed.table_offset is None:
            _add(findings, "TABLE_MISSING", "file ends without a HASHTABLE", size, None)
        _check_refs(parsed)
        return parsed
    parsed.complete = True
    _check_refs(parsed)
    return parsed


def _check_refs(parsed: Parsed) -> None:
    """Every string operand (and BEGIN's trail id) must resolve in the table."""
    if parsed.table_offset is None:
        return  # no table at all: reported once as TABLE_MISSING
    known = {key for key, _raw, _offset in parsed.table}
    slots = STRING_SLOTS
    expected = EXPECTED_COUNT
    findings = parsed.findings
    for index, (op, pos, operands) in enumerate(parsed.steps):
        if op == OP_BEGIN:
            key = operands[0] << 16 | operands[1]
            if key not in known:
                _add(findings, "UNRESOLVED_STRING", f"TRAIL_BEGIN trail_id key "
                     f"{key_hex(key)} is not in the table", pos, index)
            continue
        if len(operands) != expected[op]:
            continue  # misaligned operands; already reported as BAD_OPERAND_COUNT
        for slot in slots[op]:
            key = operands[slot] << 16 | operands[slot + 1]
            if key not in known:
                _add(findings, "UNRESOLVED_STRING", f"{OP_NAMES[op]} {_SLOT_FIELDS[op][slot]} "
                     f"key {key_hex(key)} is not in the table", pos, index)


# --- strict decoder --------------------------------------------------------

def guess_agent(strings: dict[int, str], agent_id: int, referenced: set[int]) -> str | None:
    """Best effort: the table string whose SHA-256 starts with agent_id, unreferenced first."""
    matches = [(key, s) for key, s in strings.items()
               if hashlib.sha256(s.encode("utf-8")).digest()[0] == agent_id]
    free = [s for key, s in matches if key not in referenced]
    if len(free) == 1:
        return free[0]
    if not free and len(matches) == 1:
        return matches[0][1]
    return None


def step_args(op: int, operands: tuple[int, ...], strings: dict[int, str]) -> dict[str, Any]:
    """Resolve a step's operands to named arguments (strings looked up in the table)."""
    _name, fields = OPCODES[op]
    args: dict[str, Any] = {}
    slot = 0
    for fname, kind, _aliases in fields:
        if kind == "s":
            args[fname] = strings.get(operands[slot] << 16 | operands[slot + 1])
            slot += 2
        elif kind == "d":
            value = operands[slot]
            args[fname] = value - 0x10000 if value & 0x8000 else value
            slot += 1
        else:
            args[fname] = operands[slot]
            slot += 1
    return args


def referenced_keys(steps) -> set[int]:
    keys: set[int] = set()
    for op, _offset, operands in steps:
        if op == OP_BEGIN:
            keys.add(operands[0] << 16 | operands[1])
        elif len(operands) == EXPECTED_COUNT[op]:
            for slot in STRING_SLOTS[op]:
                keys.add(operands[slot] << 16 | operands[slot + 1])
    return keys


def trail_from_parsed(parsed: Parsed) -> Trail:
    """Build a Trail from whatever parse read (missing parts get neutral values)."""
    agent_id, trail_key, timestamp = parsed.begin or (0, 0, 0)
    total, status = parsed.end or (None, 0)
    strings = parsed.strings
    steps = [Step(op, operands, step_args(op, operands, strings)
                  if len(operands) == EXPECTED_COUNT[op] else {}, pos)
             for op, pos, operands in parsed.steps if op not in (OP_BEGIN, OP_END)]
    agent = guess_agent(strings, agent_id, referenced_keys(parsed.steps))
    return Trail(agent_id=agent_id, trail_id=strings.get(trail_key), timestamp=timestamp,
                 status=status, steps=steps, agent=agent, trail_key=trail_key,
                 total_steps=total, table=dict(strings))


def decode(data: bytes) -> Trail:
    """Decode a trail; raise TrailError (with offset and step) on the first problem."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TrailError(f"trail must be bytes, got {type(data).__name__}")
    parsed = parse(bytes(data))
    if parsed.findings:
        first = parsed.findings[0]
        raise TrailError(f"{first}", index=first.step, offset=first.offset)
    return trail_from_parsed(parsed)


# --- disassembler ----------------------------------------------------------

def _quote(value: str | None, key: int) -> str:
    if value is None:
        return f"<unresolved {key_hex(key)}>"
    return json.dumps(value, ensure_ascii=False)


def _format_step(op: int, operands: tuple[int, ...], strings: dict[int, str],
                 *, verbose: bool, compact: bool) -> str:
    if op not in OPCODES or len(operands) != EXPECTED_COUNT[op]:
        raw = " ".join(f"{v:04x}" for v in operands)
        return f"{OP_NAMES.get(op, hex(op))} ?count={len(operands)} [{raw}]"
    _name, fields = OPCODES[op]
    parts = []
    slot = 0
    for fname, kind, _aliases in fields:
        if kind == "s":
            key = operands[slot] << 16 | operands[slot + 1]
            text = _quote(strings.get(key), key)
            if verbose:
                text = f"@{key_hex(key)}:{text}"
            slot += 2
        else:
            value = operands[slot]
            if kind == "d" and value & 0x8000:
                value -= 0x10000
            text = str(value)
            slot += 1
        parts.append(text if compact else f"{fname}={text}")
    return " ".join([OP_NAMES[op], *parts])


def disassemble(data: bytes, *, verbose: bool = False, compact: bool = False,
                hex_offsets: bool = False) -> str:
    """Text listing of a trail, one step a line; problems listed as ';!' comments.

    verbose: string keys on operands plus the string table; compact: no offsets,
    no field names, no comments; hex_offsets: offsets in hex instead of decimal.
    """
    parsed = parse(bytes(data))
    strings = parsed.strings
    width = max(4, len(f"{len(data):x}"))

    def where(pos: int) -> str:
        if compact:
            return ""
        return (f"0x{pos:0{width}x}" if hex_offsets else f"{pos:>{width + 2}d}") + "  "

    lines = []
    if not compact:
        lines.append(f"; trail-flux v1, {len(data)} bytes, sha256 {fingerprint(data)}")
    for op, pos, operands in parsed.steps:
        if op == OP_BEGIN:
            agent_id, key, ts = (parsed.begin if pos == 0 and parsed.begin
                                 else (None, operands[0] << 16 | operands[1], None))
            text = _quote(strings.get(key), key)
            if verbose:
                text = f"@{key_hex(key)}:{text}"
            if compact:
                line = f"TRAIL_BEGIN {agent_id} {text} {ts}"
            else:
                agent_txt = f"0x{agent_id:02x}" if agent_id is not None else "?"
                line = f"TRAIL_BEGIN agent_id={agent_txt} trail_id={text} ts={ts}"
        elif op == OP_END:
            total, status = parsed.end or (None, None)
            name = STATUS_NAMES.get(status, f"unknown({status})")
            line = (f"TRAIL_END {total} {name}" if compact
                    else f"TRAIL_END total_steps={total} status={name}")
        elif op == OP_NOP:
            line = "NOP"
        else:
            line = _format_step(op, operands, strings, verbose=verbose, compact=compact)
        lines.append(where(pos) + line)
    if parsed.table_offset is not None and not compact:
        lines.append(f"{where(parsed.table_offset)}HASHTABLE entries={len(parsed.table)}")
        if verbose:
            for key, raw, pos in parsed.table:
                value = strings.get(key)
                shown = _quote(value, key) if value is not None else repr(raw)
                lines.append(f"{where(pos)}  {key_hex(key)} len={len(raw)} {shown}")
    if not compact:
        lines += [f"; !{finding}" for finding in parsed.findings]
    return "\n".join(lines) + "\n"
