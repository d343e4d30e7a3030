"""Property tests: round trip, determinism, and a verifier that never raises."""

from __future__ import annotations

import copy
import hashlib

from fleet import trail as ft
from fleet import trail_verify as fv
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40).filter(
    lambda s: len(s.encode("utf-8")) <= 255)
U16 = st.integers(0, 0xFFFF)

STEPS = st.one_of(
    st.builds(lambda r, m: {"op": "GIT_COMMIT", "repo_id": r, "message": m}, U16, TEXT),
    st.builds(lambda r: {"op": "git_push", "repo": r}, U16),
    st.builds(lambda p: {"op": "FILE_READ", "path": p}, TEXT),
    st.builds(lambda p, c: {"op": "FILE_WRITE", "path": p, "content": c}, TEXT, TEXT),
    st.builds(lambda p, o, n: {"op": "File_Edit", "path": p, "old": o, "new": n},
              TEXT, TEXT, TEXT),
    st.builds(lambda p, c: {"op": "TEST_RUN", "test_path": p, "count": c}, TEXT, U16),
    st.builds(lambda p: {"op": "SEARCH_CODE", "pattern": p}, TEXT),
    st.builds(lambda t, c: {"op": "BOTTLE_DROP", "target": t, "content": c}, TEXT, TEXT),
    st.builds(lambda s: {"op": "BOTTLE_READ", "source": s}, TEXT),
    st.builds(lambda v: {"op": "LEVEL_UP", "level": v}, U16),
    st.builds(lambda s: {"op": "SPELL_CAST", "spell": s}, TEXT),
    st.builds(lambda s: {"op": "ROOM_ENTER", "room_id": s}, TEXT),
    st.builds(lambda t, d: {"op": "TRUST_UPDATE", "target": t, "delta": d}, TEXT,
              st.integers(-0x8000, 0x7FFF)),
    st.builds(lambda a, h: {"op": "CAP_ISSUE", "action": a, "holder": h}, TEXT, TEXT),
    st.builds(lambda r: {"op": "BRANCH", "reg": r}, U16),
    st.just({"op": "NOP"}),
    st.builds(lambda t: {"op": "COMMENT", "text": t}, TEXT),
    st.builds(lambda t: {"op": "LABEL", "label": t}, TEXT),
)


@st.composite
def worklogs(draw):
    head = {"op": "TRAIL_BEGIN", "agent": draw(TEXT), "trail_id": draw(TEXT),
            "ts": draw(st.integers(0, 0xFFFFFFFF))}
    body = draw(st.lists(STEPS, max_size=25))
    tail = {"op": "TRAIL_END", "status": draw(st.sampled_from([0, 1, 2, 3, "partial"]))}
    return [head, *body, tail]


@given(worklogs())
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_compile_encode_decode_round_trip(entries):
    compiled = ft.compile_worklog(entries)
    data = ft.encode(compiled)
    decoded = ft.decode(data)
    assert [(s.op, s.args) for s in decoded.steps] == [(s.op, s.args) for s in compiled.steps]
    assert decoded.trail_id == entries[0]["trail_id"]
    assert decoded.timestamp == entries[0]["ts"]
    assert decoded.status == compiled.status
    assert decoded.agent_id == hashlib.sha256(entries[0]["agent"].encode()).digest()[0]
    assert decoded.agent in (None, entries[0]["agent"])
    assert ft.encode(decoded) == data
    assert ft.compile_bytes(decoded.to_entries() if decoded.agent is not None
                            else entries) == data
    report = fv.verify_trail(data, expected_fingerprint=hashlib.sha256(data).hexdigest())
    assert report.valid, report.findings
    assert report.steps == len(entries)
    assert sum(report.histogram.values()) == len(entries)


@given(worklogs())
@settings(max_examples=100)
def test_compile_is_deterministic(entries):
    assert ft.compile_bytes(entries) == ft.compile_bytes(copy.deepcopy(entries))


@given(st.binary(max_size=600))
@settings(max_examples=500)
def test_verifier_never_raises_on_random_bytes(data):
    report = fv.verify_trail(data)
    assert isinstance(report.to_dict(), dict)
    ft.disassemble(data)  # the disassembler is as tolerant
    if not report.valid:  # an invalid trail always says why, and where
        assert report.findings
        assert all(isinstance(f.offset, int) for f in report.findings)


@given(st.binary(max_size=200))
@settings(max_examples=300)
def test_verifier_never_raises_on_trail_prefixed_garbage(tail):
    report = fv.verify_trail(b"\xa0" + tail)
    assert not report.valid or len(tail) >= 9


MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.just(0)),
)


def mutate(data: bytes, how) -> bytes:
    kind, where, value = how
    pos = where % (len(data) + (1 if kind == "insert" else 0))
    if kind == "flip":
        return data[:pos] + bytes([data[pos] ^ (1 << value)]) + data[pos + 1:]
    if kind == "truncate":
        return data[:pos]
    if kind == "insert":
        return data[:pos] + bytes([value]) + data[pos:]
    return data[:pos] + data[pos + 1:]


@given(worklogs(), st.lists(MUTATIONS, min_size=1, max_size=3))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_trails_never_pass_with_original_fingerprint(entries, mutations):
    data = ft.compile_bytes(entries)
    expected = hashlib.sha256(data).hexdigest()
    mutated = data
    for how in mutations:
        mutated = mutate(mutated, how) if mutated else mutated
    report = fv.verify_trail(mutated, expected_fingerprint=expected)
    if mutated == data:
        assert report.valid
    else:
        assert not report.valid
        assert "FINGERPRINT_MISMATCH" in {f.code for f in report.findings}


@given(worklogs(), st.integers(0, 10**6))
@settings(max_examples=200)
def test_truncated_trails_are_invalid_even_without_fingerprint(entries, cut):
    data = ft.compile_bytes(entries)
    report = fv.verify_trail(data[:cut % len(data)])
    assert not report.valid


@given(worklogs(), st.integers(0, 10**6), st.integers(0, 7))
@settings(max_examples=300)
def test_bit_flips_in_table_strings_are_caught_without_fingerprint(entries, where, bit):
    data = ft.compile_bytes(entries)
    parsed = ft.parse(data)
    spans = [(pos + 5, pos + 5 + len(raw)) for _, raw, pos in parsed.table if raw]
    assume(spans)
    start, stop = spans[where % len(spans)]
    pos = start + where % (stop - start)
    flipped = data[:pos] + bytes([data[pos] ^ (1 << bit)]) + data[pos + 1:]
    assert not fv.verify_trail(flipped).valid
