"""One set of cron rules: the verdict never depends on jsonschema being importable.

The controller validates with jsonschema installed (the built-in checks, then
the published schema as a second opinion); the host's python3 runs the same
module without it. Every declaration must get the same verdict, and the same
messages, both ways: the built-in rules are complete on their own.
"""

from __future__ import annotations

import json
import os
import sys

import jsonschema
import pytest
from fleet import cron as fleet_cron
from fleet.cron import CronValidationError, validate_jobs
from fleet.text import is_unsafe
from hypothesis import given, settings
from hypothesis import strategies as st

VALID = {"name": "backup", "schedule": "*/5 * * * *", "command": "/usr/bin/true",
         "user": "root"}


def job(**overrides):
    return {**VALID, **overrides}


def env(key="A", value="x"):
    return job(environment={key: value})


def verdict(raw) -> tuple[bool, list[str]]:
    try:
        validate_jobs([("jobs", [raw])])
    except CronValidationError as error:
        return False, error.errors
    return True, []


def both_ways(raw, monkeypatch) -> tuple[tuple[bool, list[str]], tuple[bool, list[str]]]:
    """(verdict with jsonschema, verdict with jsonschema unimportable)."""
    with_schema = verdict(raw)
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "jsonschema", None)  # `import jsonschema` raises ImportError
        without = verdict(raw)
    return with_schema, without


# (job, valid?, what the refusal names: field and code point)
CORPUS = [
    # valid, per field
    (job(), True, None),
    (job(schedule="@daily"), True, None),
    (job(schedule="  0 0 * * *  "), True, None),
    (job(schedule="0   12 * JAN,Jul SUN"), True, None),
    (job(command="echo 'café' — 日本 %F"), True, None),
    (job(command="printf '%s' \"$HOME\""), True, None),
    (job(user="www-data"), True, None),
    (job(user="machine$"), True, None),
    (job(name="x-Y_9"), True, None),
    (env("MAILTO", "ops@example.org"), True, None),
    (env("N", 3), True, None),
    (env("GREETING", "grüß dich"), True, None),
    (job(environment={}), True, None),
    ({"name": "old", "state": "absent"}, True, None),
    # names
    (job(name="a\u00a0b"), False, ("name", "U+00A0")),
    (job(name="a\u200bb"), False, ("name", "U+200B")),
    (job(name="a\u202eb"), False, ("name", "U+202E")),
    (job(name="a\x1bb"), False, ("name", "U+001B")),
    (job(name="a\nb"), False, ("name", "U+000A")),
    (job(name="backup\n"), False, ("name", "U+000A")),
    (job(name="été"), False, ("name", None)),
    (job(name="a b"), False, ("name", None)),
    # schedules
    (job(schedule="*\u00a0* * * *"), False, ("schedule", "U+00A0")),
    (job(schedule="* * * * *\u00a0"), False, ("schedule", "U+00A0")),
    (job(schedule="*\u2009* * * *"), False, ("schedule", "U+2009")),
    (job(schedule="*\u3000* * * *"), False, ("schedule", "U+3000")),
    (job(schedule="*\u2007* * * *"), False, ("schedule", "U+2007")),
    (job(schedule="* * * * *\u200b"), False, ("schedule", "U+200B")),
    (job(schedule="\ufeff@daily"), False, ("schedule", "U+FEFF")),
    (job(schedule="@daily\u202e"), False, ("schedule", "U+202E")),
    (job(schedule="*\t* * * *"), False, ("schedule", "U+0009")),
    (job(schedule="* * * * *\n"), False, ("schedule", "U+000A")),
    (job(schedule="*\x85* * * *"), False, ("schedule", "U+0085")),
    (job(schedule="*\u2028* * * *"), False, ("schedule", "U+2028")),
    (job(schedule=" @daily"), False, ("schedule", None)),
    (job(schedule="@daily "), False, ("schedule", None)),
    (job(schedule="61 * * * *"), False, ("schedule", None)),
    # users
    (job(user="ro\u00a0ot"), False, ("user", "U+00A0")),
    (job(user="root\u200d"), False, ("user", "U+200D")),
    (job(user="\u2066root"), False, ("user", "U+2066")),
    (job(user="root\n"), False, ("user", "U+000A")),
    (job(user="no body"), False, ("user", None)),
    # environment keys and values
    (env("A\u00a0B"), False, ("environment", "U+00A0")),
    (env("A\u200b"), False, ("environment", "U+200B")),
    (env("A", "x\u202ey"), False, ("environment", "U+202E")),
    (env("A", "x\u2069"), False, ("environment", "U+2069")),
    (env("A", "no\u00a0break"), False, ("environment", "U+00A0")),
    (env("A", "wide\u3000space"), False, ("environment", "U+3000")),
    (env("A", "zw\u200cnj"), False, ("environment", "U+200C")),
    (env("A", "nl\nx"), False, ("environment", "U+000A")),
    (env("A", "del\x7f"), False, ("environment", "U+007F")),
    (env("A", "soft\u00adhyphen"), False, ("environment", "U+00AD")),
    (job(environment=None), False, ("environment", None)),
    (env("A", True), False, ("environment", None)),
    (env("A", 1.0), False, ("environment", None)),
    # commands, per character class
    (job(command="ls \u202e gpj.exe"), False, ("command", "U+202E")),
    (job(command="ls \u2067x\u2069"), False, ("command", "U+2067")),
    (job(command="rm\u200b -rf /tmp/x"), False, ("command", "U+200B")),
    (job(command="echo\u00a0hi"), False, ("command", "U+00A0")),
    (job(command="echo\u202fhi"), False, ("command", "U+202F")),
    (job(command="echo\u2009hi"), False, ("command", "U+2009")),
    (job(command="echo hi\u2028* * * * * root evil"), False, ("command", "U+2028")),
    (job(command="echo hi\u2029"), False, ("command", "U+2029")),
    (job(command="echo \x1b[2J"), False, ("command", "U+001B")),
    (job(command="echo \x9b31m"), False, ("command", "U+009B")),
    (job(command="true\n* * * * * root evil"), False, ("command", "U+000A")),
    (job(command="true\n"), False, ("command", "U+000A")),
    (job(command="echo \ud800"), False, ("command", "U+D800")),
    (job(command="echo \ue000"), False, ("command", "U+E000")),
    (job(command="echo \U000e0041"), False, ("command", "U+E0041")),
    (job(command="echo \u0378"), False, ("command", "U+0378")),  # unassigned
    (job(command="echo \u3164"), False, ("command", "U+3164")),  # Hangul filler: blank
    (job(command="   "), False, ("command", None)),
]


@pytest.mark.parametrize(("raw", "valid", "names"), CORPUS,
                         ids=[f"{i}-{'ok' if c[1] else 'bad'}" for i, c in enumerate(CORPUS)])
def test_corpus_gets_one_verdict_with_and_without_jsonschema(raw, valid, names, monkeypatch):
    with_schema, without = both_ways(raw, monkeypatch)
    assert with_schema == without
    assert with_schema[0] is valid, with_schema[1]
    if names is not None:
        field, code_point = names
        joined = "\n".join(with_schema[1])
        assert field in joined
        if code_point is not None:
            assert code_point in joined, joined
    for message in with_schema[1]:  # shown, never echoed raw
        assert not any(is_unsafe(c) for c in message), message


def test_the_corpus_is_big_enough_and_covers_every_field():
    assert len(CORPUS) >= 60
    fields = {names[0] for _raw, valid, names in CORPUS if not valid}
    assert fields == {"name", "schedule", "user", "environment", "command"}


def test_the_schema_really_runs_when_importable(monkeypatch):
    calls = []
    real = jsonschema.Draft202012Validator
    monkeypatch.setattr(jsonschema, "Draft202012Validator",
                        lambda schema: calls.append(1) or real(schema))
    assert verdict(job())[0]
    assert calls == [1]


def test_the_published_schema_refuses_what_the_rules_refuse_where_it_can():
    """The schema is a second opinion: never stricter than the built-in rules (else verdicts
    would differ), and on these it agrees on its own."""
    validator = jsonschema.Draft202012Validator(
        {**fleet_cron.JOB_SCHEMA["$defs"]["job"], "$defs": fleet_cron.JOB_SCHEMA["$defs"]})
    for raw in (job(schedule="*\u00a0* * * *"), job(schedule=" @daily"),
                job(environment=None), job(name="a\u200bb")):
        assert list(validator.iter_errors(raw)), raw


# -- random declarations -----------------------------------------------------

ODD = st.sampled_from(["\u00a0", "\u2007", "\u202f", "\u2009", "\u3000", "\u200b", "\u200c",
                       "\u200d", "\u2060", "\ufeff", "\u202a", "\u202e", "\u2066", "\u2069",
                       "\u061c", "\u200e", "\x1b", "\n", "\t", "\r", "\x85", "\x7f", "\u2028",
                       "\u2029", "\u00ad", "\ud800", "\ue000", "\u3164", " ", "%", "\\", "'",
                       '"', "$", "@", "*", "/", ",", "-", "é", "Ж", "0", "7"])


def _mutated(base: str) -> st.SearchStrategy[str]:
    """``base`` with a few odd characters inserted or substituted anywhere."""
    return st.lists(st.tuples(st.integers(0, len(base)), ODD, st.booleans()),
                    max_size=3).map(lambda edits: _apply(base, edits))


def _apply(base: str, edits) -> str:
    text = base
    for position, char, replace in edits:
        position = min(position, len(text))
        text = text[:position] + char + text[position + (1 if replace else 0):]
    return text


def _field(values: list[str]) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(values).flatmap(_mutated), st.text(max_size=12),
                     st.integers(-2, 3), st.none(), st.booleans())


NAMES = _field(["backup", "x-Y_9", "a"])
SCHEDULES = _field(["*/5 * * * *", "@daily", " 0 0 * * * ", "5 4 * jan-mar mon-fri",
                    "0-59/59 * * * *"])
COMMANDS = _field(["/usr/bin/true", "echo 'café' %F", "printf x"])
USERS = _field(["root", "www-data", "machine$"])
ENV_VALUES = st.one_of(_field(["x", "ops@example.org", "grüß"]), st.floats(allow_nan=False))
ENVIRONMENTS = st.one_of(
    st.dictionaries(_field(["MAILTO", "A", "_x1"]), ENV_VALUES, max_size=3),
    st.none(), st.text(max_size=5), st.lists(st.text(max_size=3), max_size=2))
STATES = st.one_of(st.sampled_from(["present", "absent"]), _field(["present"]))
JOBS = st.fixed_dictionaries(
    {}, optional={"name": NAMES, "schedule": SCHEDULES, "command": COMMANDS, "user": USERS,
                  "environment": ENVIRONMENTS, "state": STATES,
                  "extra": st.integers()})


@given(JOBS)
@settings(max_examples=600, deadline=None)
def test_random_jobs_get_one_verdict_with_and_without_jsonschema(raw):
    with_schema = verdict(raw)
    saved = sys.modules.get("jsonschema")
    sys.modules["jsonschema"] = None  # hypothesis and function fixtures do not mix: by hand
    try:
        without = verdict(raw)
    finally:
        sys.modules["jsonschema"] = saved
    assert with_schema == without, raw
    for message in with_schema[1]:
        assert not any(is_unsafe(c) for c in message), message


# -- the drift report shows the host's own lines, escaped ---------------------

def test_drift_report_escapes_foreign_cron_lines_and_names(tmp_path):
    cron_dir, spool = tmp_path / "cron.d", tmp_path / "crontabs"
    cron_dir.mkdir()
    spool.mkdir()
    (cron_dir / "handmade").write_text("1 1 * * * root /bin/ls \u202egpj.exe\x1b[2J\n")
    with open(os.fsencode(cron_dir) + b"/odd\xff", "wb") as handle:
        handle.write(b"2 2 * * * root true\xc2\x85x\n")
    (spool / "al\u200bice").write_text("@daily rm -rf /tmp/x \u2066\n")
    report = fleet_cron.drift([], str(cron_dir), "golden-state-", str(spool))
    files = {entry["path"]: entry["entries"] for entry in report["unmanaged_files"]}
    assert files == {f"{cron_dir}/handmade": ["1 1 * * * root /bin/ls \\u202egpj.exe\\x1b[2J"],
                     f"{cron_dir}/odd\\xff": ["2 2 * * * root true\\x85x"]}
    (crontab,) = report["user_crontabs"]
    assert crontab["user"] == "al\\u200bice"
    assert crontab["entries"] == ["@daily rm -rf /tmp/x \\u2066"]
    assert not any(is_unsafe(c) for c in json.dumps(report, ensure_ascii=False))


def test_drift_report_bounds_each_shown_line(tmp_path):
    (tmp_path / "long").write_text("* * * * * root " + "x" * 5000 + "\n")
    report = fleet_cron.drift([], str(tmp_path), "golden-state-", None)
    (entry,) = report["unmanaged_files"][0]["entries"]
    assert len(entry) == fleet_cron.SHOWN_ENTRY_CHARS and entry.endswith("…")
