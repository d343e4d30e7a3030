"""Codec tests: golden trails built by hand from the spec's byte layout, compiler errors."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
from fleet import trail as ft

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "trails"


# --- a hand encoder that follows the spec text, independent of fleet_trail -------------

def ref(text: str) -> tuple[int, int]:
    k = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return int(k[0:4], 16), int(k[4:8], 16)


def begin(agent_id: int, trail_id: str, ts: int) -> bytes:
    hi, lo = ref(trail_id)
    return struct.pack("<BBHHHH", 0xA0, agent_id, hi, lo, ts >> 16, ts & 0xFFFF)


def step(op: int, *operands: int) -> bytes:
    return struct.pack(f"<BB{len(operands)}H", op, len(operands), *operands)


def end(total: int, status: int) -> bytes:
    return struct.pack("<BHB", 0xA1, total, status)


def table(*strings: str) -> bytes:
    entries = sorted({hashlib.sha256(s.encode()).hexdigest()[:8]: s for s in strings}.items())
    out = struct.pack("<BH", 0xB0, len(entries))
    for key, text in entries:
        raw = text.encode("utf-8")
        out += struct.pack("<HHB", int(key[:4], 16), int(key[4:], 16), len(raw)) + raw
    return out


def basic_trail() -> bytes:
    agent_id = hashlib.sha256(b"alice").digest()[0]
    return b"".join([
        begin(agent_id, "trail-001", 1_700_000_000),
        step(0x92, *ref("src/app.py")),
        step(0x94, *ref("src/app.py"), *ref("x = 1"), *ref("x = 2")),
        step(0x95, *ref("tests/test_app.py"), 12),
        step(0x90, 3, *ref("fix: x is 2")),
        step(0x91, 3),
        end(7, 0),
        table("alice", "trail-001", "src/app.py", "x = 1", "x = 2", "tests/test_app.py",
              "fix: x is 2"),
    ])


def legacy_trail() -> bytes:
    """As the original encoder wrote it: random agent_id byte, misc opcodes."""
    return b"".join([
        begin(0x7E, "legacy/42", 0x12345678),
        step(0xA2, *ref("starting over")),
        step(0xA3, *ref("loop-top")),
        b"\x9f",
        step(0x9C, *ref("bob"), 0xFFFD),  # delta -3, two's complement
        step(0x9E, 7),
        step(0x99, 65535),
        step(0x9A, *ref("fireball")),
        step(0x9B, *ref("lobby")),
        step(0x9D, *ref("deploy"), *ref("carol")),
        step(0x96, *ref("TODO")),
        step(0x97, *ref("ops"), *ref("hello ✓")),
        step(0x98, *ref("ops")),
        step(0x93, *ref("notes.md"), *ref("")),
        end(15, 2),
        table("legacy-bot", "legacy/42", "starting over", "loop-top", "bob", "fireball",
              "lobby", "deploy", "carol", "TODO", "ops", "hello ✓", "notes.md", ""),
    ])


GOLDEN_FILES = {
    "basic.trail": basic_trail,
    "legacy.trail": legacy_trail,
}
FINGERPRINTS = {
    "basic.trail": "dbd4b0e2db7c2952e688dfc6c8852b6fc15ded5fb08f2adb67a52ca03e6c6321",
    "legacy.trail": "5f3bd97370123efeff98a65345c95234285e62979675e5e194f3fd5c58d315e0",
}


@pytest.mark.parametrize("name", sorted(GOLDEN_FILES))
def test_golden_file_matches_hand_layout(name):
    data = GOLDEN_FILES[name]()
    assert (GOLDEN / name).read_bytes() == data
    assert ft.fingerprint(data) == FINGERPRINTS[name]
    assert ft.fingerprint(data) == hashlib.sha256(data).hexdigest()


def test_basic_golden_decodes():
    trail = ft.decode((GOLDEN / "basic.trail").read_bytes())
    assert trail.agent == "alice"
    assert trail.agent_id == hashlib.sha256(b"alice").digest()[0]
    assert trail.trail_id == "trail-001"
    assert trail.timestamp == 1_700_000_000
    assert trail.status == 0 and trail.status_name == "success"
    assert trail.total_steps == 7
    assert [(s.name, s.args) for s in trail.steps] == [
        ("FILE_READ", {"path": "src/app.py"}),
        ("FILE_EDIT", {"path": "src/app.py", "old": "x = 1", "new": "x = 2"}),
        ("TEST_RUN", {"test_path": "tests/test_app.py", "count": 12}),
        ("GIT_COMMIT", {"repo_id": 3, "message": "fix: x is 2"}),
        ("GIT_PUSH", {"repo_id": 3}),
    ]
    assert [s.offset for s in trail.steps] == [10, 16, 30, 38, 46]


def test_basic_golden_is_what_the_compiler_writes():
    entries = [
        {"op": "TRAIL_BEGIN", "agent": "alice", "trail_id": "trail-001", "ts": 1_700_000_000},
        {"op": "file_read", "path": "src/app.py"},
        {"op": "FILE_EDIT", "path": "src/app.py", "old": "x = 1", "new": "x = 2"},
        {"op": "TEST_RUN", "path": "tests/test_app.py", "count": 12},
        {"op": "GIT_COMMIT", "repo": 3, "message": "fix: x is 2"},
        {"op": "GIT_PUSH", "repo_id": 3},
        {"op": "TRAIL_END", "status": "success"},
    ]
    assert ft.compile_bytes(entries) == basic_trail()


def test_legacy_golden_decodes_with_random_agent_id():
    data = (GOLDEN / "legacy.trail").read_bytes()
    trail = ft.decode(data)
    assert trail.agent_id == 0x7E
    assert trail.trail_id == "legacy/42"
    assert trail.timestamp == 0x12345678
    assert trail.status_name == "partial"
    assert [(s.name, s.args) for s in trail.steps] == [
        ("COMMENT", {"comment": "starting over"}),
        ("LABEL", {"label": "loop-top"}),
        ("NOP", {}),
        ("TRUST_UPDATE", {"target": "bob", "delta": -3}),
        ("BRANCH", {"register": 7}),
        ("LEVEL_UP", {"level": 65535}),
        ("SPELL_CAST", {"spell_id": "fireball"}),
        ("ROOM_ENTER", {"room_id": "lobby"}),
        ("CAP_ISSUE", {"action": "deploy", "holder": "carol"}),
        ("SEARCH_CODE", {"pattern": "TODO"}),
        ("BOTTLE_DROP", {"target": "ops", "content": "hello ✓"}),
        ("BOTTLE_READ", {"source": "ops"}),
        ("FILE_WRITE", {"path": "notes.md", "content": ""}),
    ]
    assert ft.encode(trail) == data  # re-encoding keeps the random agent_id


def test_legacy_golden_compiles_from_entries_except_agent_id():
    trail = ft.decode(legacy_trail())
    entries = trail.to_entries()
    entries[0]["agent"] = "legacy-bot"
    again = ft.compile_bytes(entries)
    assert again[0] == 0xA0 and again[2:] == legacy_trail()[2:]
    assert again[1] == hashlib.sha256(b"legacy-bot").digest()[0]


def test_disassemble_modes():
    data = basic_trail()
    text = ft.disassemble(data)
    assert '    10  FILE_READ path="src/app.py"' in text
    assert "TRAIL_END total_steps=7 status=success" in text
    assert "HASHTABLE entries=7" in text
    hexed = ft.disassemble(data, hex_offsets=True)
    assert '0x000a  FILE_READ path="src/app.py"' in hexed
    verbose = ft.disassemble(data, verbose=True)
    key = hashlib.sha256(b"src/app.py").hexdigest()[:8]
    assert f'path=@{key}:"src/app.py"' in verbose
    assert f'{key} len=10 "src/app.py"' in verbose
    compact = ft.disassemble(data, compact=True).splitlines()
    assert compact[1] == 'FILE_READ "src/app.py"'
    assert compact[-1] == "TRAIL_END 7 success"
    assert len(compact) == 7


def test_disassemble_legacy_golden_exactly():
    data = (GOLDEN / "legacy.trail").read_bytes()
    assert ft.disassemble(data, compact=True) == "\n".join([
        'TRAIL_BEGIN 126 "legacy/42" 305419896',
        'COMMENT "starting over"',
        'LABEL "loop-top"',
        "NOP",
        'TRUST_UPDATE "bob" -3',
        "BRANCH 7",
        "LEVEL_UP 65535",
        'SPELL_CAST "fireball"',
        'ROOM_ENTER "lobby"',
        'CAP_ISSUE "deploy" "carol"',
        'SEARCH_CODE "TODO"',
        'BOTTLE_DROP "ops" "hello ✓"',
        'BOTTLE_READ "ops"',
        'FILE_WRITE "notes.md" ""',
        "TRAIL_END 15 partial",
    ]) + "\n"
    lines = ft.disassemble(data, hex_offsets=True).splitlines()
    assert lines[1] == '0x0000  TRAIL_BEGIN agent_id=0x7e trail_id="legacy/42" ts=305419896'
    assert lines[4] == "0x0016  NOP"
    assert lines[5] == '0x0017  TRUST_UPDATE target="bob" delta=-3'


def test_disassemble_shows_findings_of_broken_trail():
    text = ft.disassemble(basic_trail() + b"\x00")
    assert "TRAILING_BYTES" in text


def test_decode_raises_with_offset_and_step():
    data = bytearray(basic_trail())
    data[16] = 0x42
    with pytest.raises(ft.TrailError) as info:
        ft.decode(bytes(data))
    assert info.value.offset == 16 and info.value.index == 2
    assert "UNKNOWN_OPCODE" in str(info.value)


# --- compiler errors ------------------------------------------------------------------

def entries_with(*body, begin_extra=None, status="success"):
    head = {"op": "TRAIL_BEGIN", "agent": "a", "trail_id": "t", "ts": 1}
    head.update(begin_extra or {})
    return [head, *body, {"op": "TRAIL_END", "status": status}]


@pytest.mark.parametrize(("body", "index", "field", "words"), [
    ([{"op": "FILE_READ", "path": "x" * 256}], 1, "path", "256 UTF-8 bytes"),
    ([{"op": "FILE_READ", "path": "é" * 128}], 1, "path", "256 UTF-8 bytes"),
    ([{"op": "FILE_READ"}], 1, "path", "missing field"),
    ([{"op": "FILE_READ", "path": 3}], 1, "path", "must be a string"),
    ([{"op": "FILE_READ", "path": "a", "colour": 1}], 1, "colour", "unknown field"),
    ([{"op": "TEST_RUN", "path": "a", "test_path": "b", "count": 1}], 1, "test_path", "alias"),
    ([{"op": "LEVEL_UP", "level": 65536}], 1, "level", "out of range"),
    ([{"op": "LEVEL_UP", "level": -1}], 1, "level", "out of range"),
    ([{"op": "LEVEL_UP", "level": True}], 1, "level", "must be an integer"),
    ([{"op": "TRUST_UPDATE", "target": "b", "delta": -32769}], 1, "delta", "out of range"),
    ([{"op": "TRUST_UPDATE", "target": "b", "delta": 32768}], 1, "delta", "out of range"),
    ([{"op": "FROBNICATE"}], 1, "op", "unknown op"),
    ([{"op": "HASHTABLE"}], 1, "op", "unknown op"),
    ([{"path": "a"}], 1, "op", "missing field 'op'"),
    ([{"op": "NOP"}, "nope"], 2, None, "must be a mapping"),
    ([{"op": "FILE_READ", "path": "\ud800"}], 1, "path", "not valid Unicode"),
    ([{"op": "FILE_READ", "path": "s2330"}, {"op": "COMMENT", "text": "s130636"}], 2, "comment",
     "32-bit key b07b8ed5"),
    ([{"op": "TRAIL_BEGIN", "agent": "a", "trail_id": "t", "ts": 1}], 1, "op", "first entry"),
])
def test_compile_refuses(body, index, field, words):
    with pytest.raises(ft.TrailError) as info:
        ft.compile_worklog(entries_with(*body))
    assert info.value.index == index
    assert info.value.field == field
    assert words in str(info.value)
    assert f"entry {index}" in str(info.value)


def test_known_collision_pair_collides():
    assert ft.string_key("s2330") == ft.string_key("s130636") == 0xB07B8ED5


@pytest.mark.parametrize(("extra", "field", "words"), [
    ({"ts": 2**32}, "ts", "out of range"),
    ({"ts": -1}, "ts", "out of range"),
    ({"agent": None}, "agent", "must be a string"),
])
def test_compile_refuses_bad_begin(extra, field, words):
    with pytest.raises(ft.TrailError) as info:
        ft.compile_worklog(entries_with(begin_extra=extra))
    assert (info.value.index, info.value.field) == (0, field)
    assert words in str(info.value)


def test_compile_refuses_bad_status_and_framing():
    with pytest.raises(ft.TrailError, match="'status'"):
        ft.compile_worklog(entries_with(status=7))
    with pytest.raises(ft.TrailError, match="TRAIL_END must be the last"):
        ft.compile_worklog([*entries_with()[:1], {"op": "NOP"}])
    with pytest.raises(ft.TrailError, match="TRAIL_BEGIN must be the first"):
        ft.compile_worklog([{"op": "NOP"}, {"op": "TRAIL_END", "status": 0}])
    with pytest.raises(ft.TrailError, match="list of entries"):
        ft.compile_worklog({"op": "NOP"})
    with pytest.raises(ft.TrailError, match="at least"):
        ft.compile_worklog([])


def test_compile_refuses_too_many_steps():
    with pytest.raises(ft.TrailError, match="16-bit"):
        ft.compile_worklog(entries_with(*[{"op": "NOP"}] * 65534))


def test_status_names_and_numbers():
    for value, code in [("success", 0), ("ERROR", 1), ("partial", 2), (3, 3)]:
        assert ft.compile_worklog(entries_with(status=value)).status == code


def test_trail_error_is_value_error():
    assert issubclass(ft.TrailError, ValueError)


def test_load_worklog_json_yaml_and_errors():
    assert ft.load_worklog('[{"op": "NOP"}]') == [{"op": "NOP"}]
    assert ft.load_worklog(b"- op: NOP\n") == [{"op": "NOP"}]
    with pytest.raises(ft.TrailError, match=r"in\.yaml: neither JSON nor valid YAML"):
        ft.load_worklog("- op: [unclosed\n", "in.yaml")
    with pytest.raises(ft.TrailError, match="not UTF-8"):
        ft.load_worklog(b"\xff\xfe", "x")


def test_agent_id_is_first_sha256_byte():
    assert ft.agent_id_for("alice") == hashlib.sha256(b"alice").digest()[0]
