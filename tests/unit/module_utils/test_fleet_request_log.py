"""fleet.request_log: today's tokens from the usage log and its rotated files, streamed."""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import tracemalloc
from pathlib import Path

import harness_standin as hs
import pytest
from fleet import request_log as rl
from fleet.request_log import MalformedLine, Usage, parse_line
from hypothesis import given, settings
from hypothesis import strategies as st

DAY = rl.DAY_SECONDS
MIDNIGHT = 1_800_000_000 - 1_800_000_000 % DAY  # 2027-01-15T00:00:00Z, a fixed UTC day start
NOON = MIDNIGHT + DAY // 2


def line(**record) -> bytes:
    return json.dumps(record).encode()


def write_log(path: Path, *records, mtime: float | None = NOON, compress: bool = False) -> Path:
    data = b"".join((r if isinstance(r, bytes) else line(**r)) + b"\n" for r in records)
    path.write_bytes(gzip.compress(data) if compress else data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


# --------------------------------------------------------------------------- parse_line


@pytest.mark.parametrize(("record", "tokens"), [
    ({"tokens": 12}, 12),
    ({"tokens": 0}, 0),
    ({"usage": {"total_tokens": 30}}, 30),
    ({"usage": {"prompt_tokens": 20, "completion_tokens": 3}}, 23),
    ({"usage": {"input_tokens": 5, "output_tokens": 6}}, 11),
    # The first field present wins: a total over its parts, tokens over usage.
    ({"tokens": 1, "usage": {"total_tokens": 30}}, 1),
    ({"usage": {"total_tokens": 30, "prompt_tokens": 1, "completion_tokens": 1}}, 30),
    ({"tokens": 7, "model": "x", "extra": [1, {"nested": True}]}, 7),
])
def test_token_fields(record, tokens):
    assert parse_line(line(ts=NOON, **record)) == Usage(float(NOON), tokens)


@pytest.mark.parametrize(("ts", "seconds"), [
    ("2027-01-15T12:00:00Z", NOON),
    ("2027-01-15T12:00:00.250Z", NOON + 0.25),
    ("2027-01-15T14:00:00+02:00", NOON),
    ("2027-01-15T12:00:00", NOON),  # no offset: UTC
    ("2027-01-15 12:00:00+00:00", NOON),
    (NOON, NOON),
    (NOON + 0.5, NOON + 0.5),
])
def test_timestamps(ts, seconds):
    assert parse_line(line(ts=ts, tokens=1)).ts == seconds


@pytest.mark.parametrize("raw", [b"", b"   ", b"\t\r"])
def test_blank_lines_are_not_usage(raw):
    assert parse_line(raw) is None


@pytest.mark.parametrize(("raw", "reason"), [
    (b"\xff\xfe{}", "not UTF-8"),
    (b"{not json", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'"text"', "not a JSON object"),
    (b"[" * 5000 + b"]" * 5000, "not JSON"),            # nested past the recursion limit
    (b'{"ts": ' + b"9" * 5000 + b', "tokens": 1}', "not JSON"),  # past int digit limit
    (line(tokens=1), "ts is missing"),
    (line(ts=True, tokens=1), "ts is a boolean"),
    (line(ts="yesterday", tokens=1), "not an ISO 8601"),
    (line(ts=None, tokens=1), "ts is missing"),
    (b'{"ts": NaN, "tokens": 1}', "not finite"),
    (b'{"ts": Infinity, "tokens": 1}', "not finite"),
    (line(ts=1e300, tokens=1), None),  # a number that far out is still a number: accepted below
    (line(ts="2027-01-15T12:00:00+25:00", tokens=1), "not an ISO 8601"),
    (line(ts=NOON), "no tokens field"),
    (line(ts=NOON, tokens=-1), "out of range"),
    (line(ts=NOON, tokens=1.5), "not an integer"),
    (line(ts=NOON, tokens=True), "not an integer"),
    (line(ts=NOON, tokens="12"), "not an integer"),
    (line(ts=NOON, tokens=rl.MAX_TOKENS + 1), "out of range"),
    (line(ts=NOON, usage="12"), "no usage object"),
    (line(ts=NOON, usage={"prompt_tokens": 1}), "no total_tokens"),
    (line(ts=NOON, usage={"total_tokens": -5}), "usage.total_tokens is out of range"),
    (line(ts=NOON, usage={"prompt_tokens": 1, "completion_tokens": "2"}), "completion_tokens"),
    (b"x" * (rl.MAX_LINE_BYTES + 1), "longer than"),
])
def test_malformed_lines_say_why(raw, reason):
    if reason is None:
        assert parse_line(raw).ts == 1e300
        return
    with pytest.raises(MalformedLine, match=reason):
        parse_line(raw)


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_are_malformed(raw):
    try:
        result = parse_line(raw)
    except MalformedLine:
        return
    assert result is None or (math.isfinite(result.ts) and 0 <= result.tokens <= rl.MAX_TOKENS)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10)


@settings(max_examples=500)
@given(st.dictionaries(st.sampled_from(["ts", "tokens", "usage", "model"]) | st.text(max_size=5),
                       JSON, max_size=5))
def test_any_json_object_parses_or_is_malformed(record):
    try:
        result = parse_line(json.dumps(record).encode())
    except MalformedLine:
        return
    assert isinstance(result.tokens, int) and 0 <= result.tokens <= rl.MAX_TOKENS
    assert result.ts == float(record["ts"]) or isinstance(record["ts"], str)


@settings(max_examples=300)
@given(ts=st.integers(min_value=0, max_value=4_000_000_000) | st.floats(0, 4e9),
       tokens=st.integers(0, rl.MAX_TOKENS),
       form=st.sampled_from(["tokens", "total", "pair", "iso"]),
       extra=st.dictionaries(st.sampled_from(["model", "id", "seq"]), JSON, max_size=3))
def test_valid_lines_round_trip(ts, tokens, form, extra):
    record = dict(extra)
    if form == "iso":
        record["ts"] = rl.datetime.datetime.fromtimestamp(int(ts), rl.datetime.UTC).isoformat()
        ts = int(ts)
    else:
        record["ts"] = ts
    if form in ("tokens", "iso"):
        record["tokens"] = tokens
    elif form == "total":
        record["usage"] = {"total_tokens": tokens}
    else:
        record["usage"] = {"prompt_tokens": tokens // 2, "completion_tokens": tokens - tokens // 2}
    assert parse_line(json.dumps(record).encode()) == Usage(float(ts), tokens)


def test_the_standin_harness_writes_lines_this_module_reads(tmp_path):
    standin = hs.Standin(tmp_path / "hb", tmp_path / "control", interval=5,
                         request_log=tmp_path / "requests.jsonl",
                         usage_log=tmp_path / "usage.jsonl", request_interval=1)
    for step in range(3):
        standin.step(NOON + step)
    usage = [parse_line(raw) for raw in (tmp_path / "usage.jsonl").read_bytes().splitlines()]
    assert usage == [Usage(float(NOON + n), hs.REQUEST_TOKENS) for n in range(3)]
    requests = [json.loads(raw) for raw in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert [r["seq"] for r in requests] == [1, 2, 3]
    assert (tmp_path / "usage.jsonl").stat().st_mode & 0o777 == 0o600


# --------------------------------------------------------------------------- read_lines


def lines_of(data: bytes, max_line=10, chunk=4):
    return list(rl.read_lines(io.BytesIO(data), max_line=max_line, chunk=chunk))


def test_lines_across_chunk_boundaries():
    assert lines_of(b"ab\ncdefg\n\nh\n") == [
        (b"ab", True), (b"cdefg", True), (b"", True), (b"h", True)]


def test_overlong_lines_are_skipped_whole():
    data = b"short\n" + b"x" * 25 + b"\nafter\n" + b"y" * 11
    assert lines_of(data) == [(b"short", True), (None, True), (b"after", True), (None, False)]
    assert lines_of(b"x" * 10 + b"\n") == [(b"x" * 10, True)]  # exactly the limit is fine


def test_unterminated_last_piece_is_flagged():
    assert lines_of(b"done\npartial") == [(b"done", True), (b"partial", False)]
    assert lines_of(b"") == []


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=20),
       st.integers(1, 40), st.integers(1, 50), st.booleans())
def test_read_lines_gives_back_each_line(pieces, chunk, max_line, terminated):
    data = b"\n".join(pieces) + (b"\n" if terminated and pieces else b"")
    got = list(rl.read_lines(io.BytesIO(data), max_line=max_line, chunk=chunk))
    expected = [(p if len(p) <= max_line else None, True) for p in pieces]
    if pieces and not terminated:
        expected[-1] = (expected[-1][0], False)
        if pieces[-1] == b"":
            expected.pop()  # nothing after the last newline
    assert got == expected


class Endless(io.RawIOBase):
    """``size`` bytes of one byte value then ``tail``, made up as they are read."""

    def __init__(self, size: int, byte: bytes = b"x", tail: bytes = b"") -> None:
        self.left = size
        self.byte = byte
        self.tail = tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = self.byte * n
        self.left -= n
        if n == 0 and self.tail:
            n = min(len(buffer), len(self.tail))
            buffer[:n], self.tail = self.tail[:n], self.tail[n:]
        return n


def test_a_huge_line_is_counted_malformed_in_bounded_memory():
    totals = rl.Totals(day_start=MIDNIGHT)
    tracemalloc.start()
    try:
        rl.tally(io.BufferedReader(Endless(50 * 2**20, b"{")), totals)
        rl.tally(io.BufferedReader(Endless(30 * 2**20, b"{", tail=b"\n")), totals)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert totals.malformed == 1  # the terminated one; the unterminated piece is not counted
    assert peak < 4 * 2**20, f"peak {peak} bytes"


def test_a_gzip_bomb_streams_in_bounded_memory(tmp_path):
    bomb = tmp_path / "usage.jsonl.2.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:
        for _ in range(40):
            out.write(b"\0" * 2**20)
    assert bomb.stat().st_size < 100_000
    totals = rl.Totals(day_start=MIDNIGHT)
    stream, _ = rl.open_log(str(bomb))
    tracemalloc.start()
    try:
        with stream:
            rl.tally(stream, totals)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert totals.tokens == 0
    assert peak < 4 * 2**20, f"peak {peak} bytes"


# --------------------------------------------------------------------------- one day


def test_day_start_is_the_utc_midnight():
    assert rl.day_start(MIDNIGHT) == MIDNIGHT
    assert rl.day_start(MIDNIGHT + DAY - 0.001) == MIDNIGHT
    assert rl.day_start(MIDNIGHT - 0.001) == MIDNIGHT - DAY


def test_only_the_days_lines_count(tmp_path):
    log = write_log(
        tmp_path / "usage.jsonl",
        {"ts": MIDNIGHT - 0.001, "tokens": 1},                    # yesterday
        {"ts": MIDNIGHT, "tokens": 10},                           # first instant of today
        {"ts": "2027-01-15T01:30:00+02:00", "tokens": 1000},     # 23:30Z yesterday
        {"ts": "2027-01-14T23:30:00-02:00", "tokens": 100},      # 01:30Z today
        {"ts": MIDNIGHT + DAY - 0.001, "tokens": 20000},          # last instant of today
        {"ts": MIDNIGHT + DAY, "tokens": 300000},                 # tomorrow (a clock ahead)
        mtime=MIDNIGHT + DAY - 1)
    totals = rl.totals_for_day(str(log), now=NOON)
    assert (totals.tokens, totals.lines, totals.malformed) == (20110, 3, 0)
    # The same file seen from the next day: only tomorrow's line.
    totals = rl.totals_for_day(str(log), now=MIDNIGHT + DAY + 5)
    assert (totals.tokens, totals.files_read) == (0, 0)  # last written before that day began
    os.utime(log, (MIDNIGHT + DAY + 1, MIDNIGHT + DAY + 1))
    assert rl.totals_for_day(str(log), now=MIDNIGHT + DAY + 5).tokens == 300000


def test_malformed_lines_are_skipped_and_counted(tmp_path):
    log = write_log(tmp_path / "usage.jsonl",
                    {"ts": NOON, "tokens": 5}, b"garbage", b"", {"ts": NOON, "tokens": "5"},
                    b"x" * (rl.MAX_LINE_BYTES + 10), {"ts": NOON, "tokens": 7})
    with log.open("ab") as out:
        out.write(b'{"ts": 1800')  # a write in progress: neither counted nor malformed
    os.utime(log, (NOON, NOON))
    totals = rl.totals_for_day(str(log), now=NOON)
    assert (totals.tokens, totals.lines, totals.malformed) == (12, 2, 3)


def test_an_unterminated_but_complete_last_line_counts(tmp_path):
    log = tmp_path / "usage.jsonl"
    log.write_bytes(line(ts=NOON, tokens=4) + b"\n" + line(ts=NOON, tokens=6))
    os.utime(log, (NOON, NOON))
    assert rl.totals_for_day(str(log), now=NOON).tokens == 10


# --------------------------------------------------------------------------- rotated files


def test_log_files_lists_live_then_rotated_newest_first(tmp_path):
    for name in ["usage.jsonl", "usage.jsonl.1", "usage.jsonl.2.gz", "usage.jsonl.10.gz",
                 "usage.jsonl.3.gz", "usage.jsonl.3",  # being compressed: the plain one
                 "usage.jsonl.0", "usage.jsonl.bak", "usage.jsonl.1.tmp", "usage.jsonlx.1",
                 "requests.jsonl.1", "usage.jsonl-2027011512.backup", "usage.jsonl.4.xz"]:
        (tmp_path / name).write_bytes(b"")
    base = str(tmp_path / "usage.jsonl")
    assert rl.log_files(base) == [base] + [f"{base}{suffix}" for suffix in
                                           (".1", ".2.gz", ".3", ".10.gz")]
    assert rl.log_files(str(tmp_path / "missing" / "usage.jsonl")) == [
        str(tmp_path / "missing" / "usage.jsonl")]


def test_todays_lines_in_rotated_files_count(tmp_path):
    base = tmp_path / "usage.jsonl"
    write_log(base, {"ts": NOON + 60, "tokens": 1}, mtime=NOON + 60)
    write_log(tmp_path / "usage.jsonl.1", {"ts": NOON, "tokens": 10}, mtime=NOON)
    write_log(tmp_path / "usage.jsonl.2.gz", {"ts": MIDNIGHT - 5, "tokens": 1000},
              {"ts": MIDNIGHT + 5, "tokens": 100}, compress=True, mtime=MIDNIGHT + 5)
    # Last written yesterday: not read, and nothing older either (even if touched later).
    write_log(tmp_path / "usage.jsonl.3.gz", {"ts": NOON, "tokens": 10**6}, compress=True,
              mtime=MIDNIGHT - 1)
    write_log(tmp_path / "usage.jsonl.4.gz", {"ts": NOON, "tokens": 10**7}, compress=True)
    totals = rl.totals_for_day(str(base), now=NOON + 120)
    assert (totals.tokens, totals.lines, totals.files_read, totals.errors) == (111, 3, 3, [])


def test_a_missing_live_file_still_reads_the_rotated_one(tmp_path):
    write_log(tmp_path / "usage.jsonl.1", {"ts": NOON, "tokens": 10})
    assert rl.totals_for_day(str(tmp_path / "usage.jsonl"), now=NOON).tokens == 10
    assert rl.totals_for_day(str(tmp_path / "nowhere" / "usage.jsonl"), now=NOON).tokens == 0


def test_a_file_under_two_names_is_read_once(tmp_path):
    write_log(tmp_path / "usage.jsonl", {"ts": NOON, "tokens": 10})
    os.link(tmp_path / "usage.jsonl", tmp_path / "usage.jsonl.1")  # a rename half seen
    totals = rl.totals_for_day(str(tmp_path / "usage.jsonl"), now=NOON)
    assert (totals.tokens, totals.files_read) == (10, 1)


def test_links_fifos_and_directories_are_refused_not_followed(tmp_path):
    secret = write_log(tmp_path / "secret", {"ts": NOON, "tokens": 10**6})
    (tmp_path / "usage.jsonl").symlink_to(secret)
    os.mkfifo(tmp_path / "usage.jsonl.1")  # opening it for reading must not block
    (tmp_path / "usage.jsonl.2").mkdir()
    write_log(tmp_path / "usage.jsonl.3", {"ts": NOON, "tokens": 3})
    totals = rl.totals_for_day(str(tmp_path / "usage.jsonl"), now=NOON)
    assert totals.tokens == 3
    assert len(totals.errors) == 3
    assert all(str(tmp_path) in error for error in totals.errors)


def test_a_truncated_gzip_counts_what_it_could_read(tmp_path):
    records = [line(ts=NOON, tokens=1) + b"\n" for _ in range(20000)]
    packed = gzip.compress(b"".join(records))
    broken = tmp_path / "usage.jsonl.2.gz"
    broken.write_bytes(packed[: len(packed) // 2])
    os.utime(broken, (NOON, NOON))
    totals = rl.totals_for_day(str(tmp_path / "usage.jsonl"), now=NOON)
    assert 0 < totals.tokens < 20000
    assert len(totals.errors) == 1 and "usage.jsonl.2.gz" in totals.errors[0]
    (tmp_path / "usage.jsonl.3.gz").write_bytes(b"not gzip at all")
    os.utime(tmp_path / "usage.jsonl.3.gz", (NOON, NOON))
    assert len(rl.totals_for_day(str(tmp_path / "usage.jsonl"), now=NOON).errors) == 2


def test_disk_usage_counts_live_and_rotated_regular_files(tmp_path):
    write_log(tmp_path / "requests.jsonl", b"abc")
    write_log(tmp_path / "requests.jsonl.1", b"defgh")
    write_log(tmp_path / "requests.jsonl.2.gz", b"ij", compress=True)
    (tmp_path / "requests.jsonl.3.gz").symlink_to("/etc/passwd")
    size = sum((tmp_path / n).stat().st_size
               for n in ("requests.jsonl", "requests.jsonl.1", "requests.jsonl.2.gz"))
    assert rl.disk_usage(str(tmp_path / "requests.jsonl")) == (3, size)
    assert rl.disk_usage(str(tmp_path / "none.jsonl")) == (0, 0)
