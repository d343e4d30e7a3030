"""Verifier tests: every finding code, with its offset and step index; report shape."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
from fleet import signing
from fleet import trail as ft
from fleet import trail_verify as fv


def ref(text: str) -> tuple[int, int]:
    k = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return int(k[0:4], 16), int(k[4:8], 16)


def begin(trail_id: str = "t1", agent_id: int = 0x11, ts: int = 5) -> bytes:
    return struct.pack("<BBHHHH", 0xA0, agent_id, *ref(trail_id), ts >> 16, ts & 0xFFFF)


def step(op: int, *operands: int, count: int | None = None) -> bytes:
    n = len(operands) if count is None else count
    return struct.pack(f"<BB{len(operands)}H", op, n, *operands)


def end(total: int, status: int = 0) -> bytes:
    return struct.pack("<BHB", 0xA1, total, status)


def entry(text: str | bytes, key: str | None = None, length: int | None = None) -> bytes:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    key = key or hashlib.sha256(raw).hexdigest()[:8]
    n = len(raw) if length is None else length
    return struct.pack("<HHB", int(key[:4], 16), int(key[4:], 16), n) + raw


def table(*entries: bytes) -> bytes:
    return struct.pack("<BH", 0xB0, len(entries)) + b"".join(entries)


def sorted_entries(*strings: str) -> list[bytes]:
    return [entry(s) for s in sorted(set(strings), key=lambda s: hashlib.sha256(
        s.encode()).hexdigest()[:8])]


READ = step(0x92, *ref("a.py"))  # 6 bytes
HEAD = begin()  # 10 bytes
GOOD = HEAD + READ + end(3) + table(*sorted_entries("t1", "a.py"))
TABLE_AT = 10 + 6 + 4  # offset of the HASHTABLE in GOOD


def codes(report):
    return [(f.code, f.offset, f.step) for f in report.findings]


def test_good_trail_is_valid_with_summary():
    report = fv.verify_trail(GOOD, expected_fingerprint=hashlib.sha256(GOOD).hexdigest())
    assert report.valid, report.findings
    assert report.steps == 3
    assert report.histogram == {"FILE_READ": 1, "TRAIL_BEGIN": 1, "TRAIL_END": 1}
    assert (report.agent_id, report.trail_id, report.timestamp, report.status) == (
        0x11, "t1", 5, "success")
    data = report.to_dict()
    assert data["valid"] is True and data["findings"] == []
    assert data["fingerprint"] == hashlib.sha256(GOOD).hexdigest()


@pytest.mark.parametrize(("data", "expected"), [
    (b"", [("TRUNCATED", 0, 0)]),
    (GOOD[:12], [("TRUNCATED", 10, 1)]),  # FILE_READ cut inside its operands
    (GOOD[:11], [("TRUNCATED", 10, 1)]),  # FILE_READ without its count byte
    (GOOD[:5], [("TRUNCATED", 0, 0)]),  # TRAIL_BEGIN cut short
    (GOOD[:18], [("TRUNCATED", 16, 2)]),  # TRAIL_END cut short
    (GOOD[:TABLE_AT + 2], [("TRUNCATED", TABLE_AT, None)]),  # table header
    (GOOD[:TABLE_AT + 5], [("TRUNCATED", TABLE_AT + 3, None)]),  # first entry header
    (GOOD[:-1], [("TRUNCATED", len(GOOD) - 5 - 4, None)]),  # last string cut short
])
def test_truncated(data, expected):
    assert codes(fv.verify_trail(data)) == expected


def test_begin_not_first():
    report = fv.verify_trail(b"\x9f" + GOOD)
    assert codes(report) == [("BEGIN_NOT_FIRST", 0, 0), ("BEGIN_MISPLACED", 1, 1),
                             ("TOTAL_STEPS_MISMATCH", 17, 3)]


def test_begin_duplicate():
    data = HEAD + HEAD + READ + end(4) + table(*sorted_entries("t1", "a.py"))
    assert codes(fv.verify_trail(data)) == [("BEGIN_DUPLICATE", 10, 1)]


def test_unknown_opcode():
    data = HEAD + READ + b"\x42\x00" + end(4) + table(*sorted_entries("t1", "a.py"))
    assert codes(fv.verify_trail(data)) == [("UNKNOWN_OPCODE", 16, 2)]


def test_bad_operand_count():
    bad = step(0x92, *ref("a.py"), 1)  # FILE_READ with 3 operands
    data = HEAD + bad + end(3) + table(*sorted_entries("t1", "a.py"))
    assert codes(fv.verify_trail(data)) == [("BAD_OPERAND_COUNT", 10, 1)]


def test_too_many_steps_stops_early():
    data = HEAD + b"\x9f" * 70000 + end(3) + table(*sorted_entries("t1"))
    assert codes(fv.verify_trail(data)) == [("TOO_MANY_STEPS", 10 + 65535, 65536)]


def test_hostile_table_is_bounded():
    bad = [entry(b"x" * 200, key="00000000") for _ in range(3000)]
    data = HEAD + end(2) + table(*bad)
    report = fv.verify_trail(data)
    assert [f.code for f in report.findings].count("KEY_MISMATCH") == 3000


def test_step_after_end():
    data = HEAD + READ + end(3) + b"\x9f" + table(*sorted_entries("t1", "a.py"))
    assert codes(fv.verify_trail(data)) == [("STEP_AFTER_END", 20, 3)]


def test_end_missing_and_table_misplaced():
    data = HEAD + READ + table(*sorted_entries("t1", "a.py"))
    assert codes(fv.verify_trail(data)) == [("END_MISSING", 16, 2), ("TABLE_MISPLACED", 16, None)]


def test_end_missing_at_eof():
    data = HEAD + READ
    assert codes(fv.verify_trail(data)) == [("END_MISSING", 16, 2), ("TABLE_MISSING", 16, None)]


def test_total_steps_mismatch():
    data = HEAD + READ + end(9) + table(*sorted_entries("t1", "a.py"))
    report = fv.verify_trail(data)
    assert codes(report) == [("TOTAL_STEPS_MISMATCH", 16, 2)]
    assert "says 9" in report.findings[0].message


def test_unknown_status():
    data = HEAD + READ + end(3, 4) + table(*sorted_entries("t1", "a.py"))
    report = fv.verify_trail(data)
    assert codes(report) == [("UNKNOWN_STATUS", 16, 2)]
    assert report.status == "unknown(4)"


def test_table_missing():
    data = HEAD + READ + end(3)
    assert codes(fv.verify_trail(data)) == [("TABLE_MISSING", 20, None)]


def test_second_table_is_trailing():
    assert codes(fv.verify_trail(GOOD + table()))[0] == ("TRAILING_BYTES", len(GOOD), None)


def test_trailing_bytes():
    report = fv.verify_trail(GOOD + b"\x00\x00")
    assert codes(report) == [("TRAILING_BYTES", len(GOOD), None)]


def test_key_mismatch():
    entries = sorted_entries("t1", "a.py")
    tampered = entries[0][:5] + b"X" + entries[0][6:]
    data = HEAD + READ + end(3) + table(tampered, entries[1])
    assert codes(fv.verify_trail(data)) == [("KEY_MISMATCH", TABLE_AT + 3, None)]


def test_duplicate_key():
    entries = sorted_entries("t1", "a.py")
    data = HEAD + READ + end(3) + table(entries[0], entries[0], entries[1])
    second = TABLE_AT + 3 + len(entries[0])
    assert codes(fv.verify_trail(data)) == [("DUPLICATE_KEY", second, None)]


def test_invalid_utf8():
    raw = b"\xff\xfe"
    hi, lo = struct.unpack(">HH", hashlib.sha256(raw).digest()[:4])
    body = HEAD + step(0x92, hi, lo) + end(3)
    bad, t1 = entry(raw), entry("t1")
    ordered = sorted([bad, t1], key=lambda e: struct.unpack_from("<HH", e))
    data = body + table(*ordered)
    at = 20 + 3 + (0 if ordered[0] == bad else len(t1))
    assert codes(fv.verify_trail(data)) == [("INVALID_UTF8", at, None)]


def test_string_overflow_from_original_encoder():
    long = "L" * 300
    body = HEAD + step(0x92, *ref(long)) + end(3)
    key_long = hashlib.sha256(long.encode()).hexdigest()[:8]
    key_t1 = hashlib.sha256(b"t1").hexdigest()[:8]
    overflow = entry(long, length=300 & 0xFF)
    ordered = [overflow, entry("t1")] if key_long < key_t1 else [entry("t1"), overflow]
    data = body + table(*ordered)
    at = 23 if key_long < key_t1 else 23 + len(entry("t1"))
    report = fv.verify_trail(data)
    assert codes(report) == [("STRING_OVERFLOW", at, None)]
    assert "len & 0xFF" in report.findings[0].message


def test_unresolved_string():
    data = HEAD + READ + step(0x96, *ref("missing")) + end(4) + table(*sorted_entries("t1", "a.py"))
    report = fv.verify_trail(data)
    assert codes(report) == [("UNRESOLVED_STRING", 16, 2)]
    assert "pattern" in report.findings[0].message


def test_unresolved_trail_id():
    data = HEAD + READ + end(3) + table(entry("a.py"))
    assert codes(fv.verify_trail(data)) == [("UNRESOLVED_STRING", 0, 0)]


def test_reencode_mismatch_on_unsorted_table():
    entries = sorted_entries("t1", "a.py")
    data = HEAD + READ + end(3) + table(entries[1], entries[0])
    report = fv.verify_trail(data)
    assert codes(report) == [("REENCODE_MISMATCH", TABLE_AT + 3, None)]
    assert "not sorted" in report.findings[0].message


def test_fingerprint_mismatch():
    report = fv.verify_trail(GOOD, expected_fingerprint="0" * 64)
    assert codes(report) == [("FINGERPRINT_MISMATCH", 0, None)]


def test_fingerprint_expectation_is_case_insensitive():
    fp = hashlib.sha256(GOOD).hexdigest().upper()
    assert fv.verify_trail(GOOD, expected_fingerprint=fp).valid


def test_too_large():
    report = fv.verify_trail(GOOD, max_size=10)
    assert codes(report) == [("TOO_LARGE", 10, None)]
    assert report.steps == 0


def test_bad_input():
    assert codes(fv.verify_trail("not bytes")) == [("BAD_INPUT", 0, None)]
    assert codes(fv.verify_trail(None)) == [("BAD_INPUT", 0, None)]
    assert codes(fv.verify_trail(GOOD, expected_fingerprint=5)) == [("BAD_INPUT", 0, None)]


def test_internal_error_is_a_finding(monkeypatch):
    def boom(data):
        raise RuntimeError("kaput")

    monkeypatch.setattr(fv, "parse", boom)
    report = fv.verify_trail(GOOD)
    assert codes(report) == [("INTERNAL_ERROR", 0, None)]
    assert not report.valid


def test_file_read_error_and_too_large(tmp_path):
    report = fv.verify_trail_file(str(tmp_path / "nope.trail"))
    assert codes(report) == [("READ_ERROR", 0, None)]
    big = tmp_path / "big.trail"
    big.write_bytes(GOOD)
    report = fv.verify_trail_file(str(big), max_size=8)
    assert codes(report) == [("TOO_LARGE", 8, None)]
    assert report.size == len(GOOD)


def test_report_lines_format():
    report = fv.verify_trail(GOOD + b"\x00")
    assert report.lines("x.trail") == [
        f"x.trail:offset 0x{len(GOOD):x}: TRAILING_BYTES 1 bytes after the HASHTABLE "
        f"(which starts at 0x{TABLE_AT:x})"]
    report = fv.verify_trail(HEAD + READ + end(9) + table(*sorted_entries("t1", "a.py")))
    assert report.lines("y")[0].startswith("y:offset 0x10: step 2: TOTAL_STEPS_MISMATCH ")


def test_compiled_trails_verify():
    data = ft.compile_bytes([
        {"op": "TRAIL_BEGIN", "agent": "bot", "trail_id": "x", "ts": 0},
        {"op": "TRUST_UPDATE", "target": "bot", "delta": -32768},
        {"op": "TRAIL_END", "status": "cancelled"},
    ])
    report = fv.verify_trail(data)
    assert report.valid and report.agent == "bot" and report.status == "cancelled"


# --- signatures ----------------------------------------------------------------------



@pytest.fixture
def keys():
    made = []
    for name in ("ops-a", "ops-b", "ops-c"):
        secret = signing.generate_secret_key()
        made.append({"name": name, "secret": secret, "pubkey": signing.public_key_hex(secret)})
    return made


def trusted(keys, *names):
    return [{"name": k["name"], "pubkey": k["pubkey"]} for k in keys if k["name"] in names]


def sign(data, key):
    return signing.sign_artifact(data, key["secret"], name="t.trail")


def test_signature_accepted(keys):
    policy = fv.SignaturePolicy(trusted=trusted(keys, "ops-a", "ops-b"), threshold=2)
    events = [sign(GOOD, keys[0]), sign(GOOD, keys[1])]
    report = fv.verify_trail(GOOD, policy=policy, signatures=events)
    assert report.valid, report.findings
    assert sorted(report.signers) == ["ops-a", "ops-b"]
    assert report.signature["accepted"] is True


def test_signature_rejected_below_threshold_and_revoked(keys):
    policy = fv.SignaturePolicy(trusted=trusted(keys, "ops-a", "ops-b"),
                                revoked=[keys[1]["pubkey"]], threshold=2)
    events = [sign(GOOD, keys[0]), sign(GOOD, keys[1]), sign(GOOD, keys[2])]
    report = fv.verify_trail(GOOD, policy=policy, signatures=events)
    assert codes(report) == [("SIGNATURE_REJECTED", 0, None)]
    assert "revoked" in report.findings[0].message
    assert "unknown" in report.findings[0].message
    assert report.signers == ["ops-a"]


def test_signature_over_other_bytes_rejected(keys):
    policy = fv.SignaturePolicy(trusted=trusted(keys, "ops-a"))
    report = fv.verify_trail(GOOD, policy=policy, signatures=[sign(GOOD + b"x", keys[0])])
    assert codes(report) == [("SIGNATURE_REJECTED", 0, None)]


def test_signature_missing_and_threshold_zero(keys):
    policy = fv.SignaturePolicy(trusted=trusted(keys, "ops-a"))
    assert codes(fv.verify_trail(GOOD, policy=policy)) == [("SIGNATURE_MISSING", 0, None)]
    lenient = fv.SignaturePolicy(trusted=trusted(keys, "ops-a"), threshold=0)
    assert fv.verify_trail(GOOD, policy=lenient).valid
    report = fv.verify_trail(GOOD, policy=lenient, signatures=[sign(GOOD, keys[0])])
    assert report.valid and report.signers == ["ops-a"]


def test_signature_file_beside_trail(tmp_path, keys):
    path = tmp_path / "t.trail"
    path.write_bytes(GOOD)
    policy = fv.SignaturePolicy(trusted=trusted(keys, "ops-a"))
    assert codes(fv.verify_trail_file(str(path), policy=policy)) == [
        ("SIGNATURE_MISSING", 0, None)]
    signing.write_sig_file(str(path) + ".sig", [sign(GOOD, keys[0])])
    report = fv.verify_trail_file(str(path), policy=policy)
    assert report.valid and report.signers == ["ops-a"]
    (tmp_path / "t.trail.sig").write_text("{not json")
    report = fv.verify_trail_file(str(path), policy=policy)
    assert codes(report) == [("SIGNATURE_INVALID", 0, None)]
    assert "t.trail.sig" in report.findings[0].message


def test_signature_unavailable(monkeypatch, keys):
    monkeypatch.setattr(fv.signing, "COINCURVE_IMPORT_ERROR", "No module named 'coincurve'")
    policy = fv.SignaturePolicy(trusted=trusted(keys, "ops-a"))
    report = fv.verify_trail(GOOD, policy=policy, signatures=[{}])
    assert codes(report) == [("SIGNATURE_UNAVAILABLE", 0, None)]


def test_signature_invalid_trusted_list():
    policy = fv.SignaturePolicy(trusted=[{"name": "x", "pubkey": "zz"}])
    report = fv.verify_trail(GOOD, policy=policy, signatures=[])
    assert codes(report) == [("SIGNATURE_INVALID", 0, None)]


ALL_CODES = {
    "BAD_INPUT", "TOO_LARGE", "READ_ERROR", "TRUNCATED", "BEGIN_NOT_FIRST", "BEGIN_MISPLACED",
    "BEGIN_DUPLICATE", "UNKNOWN_OPCODE", "TOO_MANY_STEPS", "BAD_OPERAND_COUNT", "STEP_AFTER_END",
    "END_MISSING",
    "TOTAL_STEPS_MISMATCH", "UNKNOWN_STATUS", "TABLE_MISSING", "TABLE_MISPLACED",
    "TRAILING_BYTES", "KEY_MISMATCH", "STRING_OVERFLOW", "DUPLICATE_KEY", "INVALID_UTF8",
    "UNRESOLVED_STRING", "REENCODE_MISMATCH", "FINGERPRINT_MISMATCH", "SIGNATURE_MISSING",
    "SIGNATURE_INVALID", "SIGNATURE_REJECTED", "SIGNATURE_UNAVAILABLE", "BANNED_PROVIDER",
    "INTERNAL_ERROR",
}


def test_every_documented_code_is_tested():
    documented = set(fv.__doc__.split("Finding codes:")[1].split("\n\n")[0].replace("\n", " ")
                     .replace(".", "").replace(",", " ").split())
    assert documented == ALL_CODES
    source = Path(__file__).read_text(encoding="utf-8")
    for code in ALL_CODES:
        assert source.count(f'"{code}"') >= 2, code  # listed here and asserted in a test


# -- banned providers in the decoded string table ----------------------------------

def _trail_saying(text: str) -> bytes:
    return ft.compile_bytes([{"op": "TRAIL_BEGIN", "agent": "bot", "trail_id": "t", "ts": 9},
                             {"op": "COMMENT", "text": text},
                             {"op": "TRAIL_END", "status": "success"}])


@pytest.mark.parametrize("text", ["ask Claude", "use ANTHROPIC_API_KEY", "c\u200blaude-3",
                                  "\uff43\uff4c\uff41\uff55\uff44\uff45"])
def test_a_string_naming_a_banned_provider_is_a_finding_with_its_offset(text):
    data = _trail_saying(text)
    report = fv.verify_trail(data, banned=["anthropic"])
    hits = [f for f in report.findings if f.code == "BANNED_PROVIDER"]
    assert codes(report)[0][0] == "BANNED_PROVIDER"
    assert hits and not report.valid
    assert "anthropic" in hits[0].message and text not in hits[0].message
    assert data.find(text.encode()) >= hits[0].offset > 0


def test_strings_are_judged_only_when_a_banned_list_is_given():
    data = _trail_saying("ask Claude")
    assert fv.verify_trail(data).valid
    assert fv.verify_trail(_trail_saying("a haiku about claudette"), banned=["anthropic"]).valid


def test_a_malformed_banned_list_fails_closed():
    report = fv.verify_trail(_trail_saying("hello"), banned=[])
    assert not report.valid
