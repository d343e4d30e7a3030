"""fleet_cron: schedule grammar, declaration checks, injection refusals, cron.d convergence."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from fleet import cron as fleet_cron
from fleet.cron import CronValidationError, Job, parse_schedule, render_job, validate_jobs
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[3]


def job(**overrides):
    base = {"name": "backup", "schedule": "*/5 * * * *", "command": "/usr/bin/true",
            "user": "root"}
    base.update(overrides)
    return base


def errors_of(*jobs, label="cron_manager_jobs"):
    with pytest.raises(CronValidationError) as caught:
        validate_jobs([(label, list(jobs))])
    return caught.value.errors


# --- schedules ----------------------------------------------------------------

@pytest.mark.parametrize("schedule", [
    "0 0 1 1 0", "59 23 31 12 7", "* * * * *", "*/5 * * * *", "*/59 */23 */30 */11 */7",
    "1-10/2 0-23 1-31 1-12 0-7", "0,15,30,45 * * * *", "5 4 * jan-mar mon-fri",
    "0 12 * JAN,Jul SUN", "0 0 * * sat", "00 05 01 01 00", "* * * dec *", "5-5 * * * *",
    "  0 0 * * *  ", "*,5 * * * *", "0-59/59 * * * *",
    "@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly",
])
def test_valid_schedules_are_accepted(schedule):
    assert parse_schedule(schedule) == " ".join(schedule.split())


def test_schedule_is_normalised_to_single_spaces():
    assert parse_schedule("0   0 * *  *") == "0 0 * * *"


@pytest.mark.parametrize(("schedule", "message"), [
    ("60 * * * *", "schedule minute '60' out of range 0-59"),
    ("* 24 * * *", "schedule hour '24' out of range 0-23"),
    ("* * 0 * *", "schedule day-of-month '0' out of range 1-31"),
    ("* * 32 * *", "schedule day-of-month '32' out of range 1-31"),
    ("* * * 0 *", "schedule month '0' out of range 1-12"),
    ("* * * 13 *", "schedule month '13' out of range 1-12"),
    ("* * * * 8", "schedule day-of-week '8' out of range 0-7"),
    ("1,61 * * * *", "schedule minute '61' out of range 0-59"),
    ("0-60 * * * *", "schedule minute '60' out of range 0-59"),
    ("*/0 * * * *", "schedule minute step '0' in '*/0' must be a number between 1 and 59"),
    ("*/60 * * * *", "step '60'"),
    ("* */24 * * *", "schedule hour step '24'"),
    ("* * * */12 *", "schedule month step '12'"),
    ("* * * * */8", "schedule day-of-week step '8'"),
    ("1-10/0 * * * *", "step '0'"),
    ("*/x * * * *", "step 'x'"),
    ("*/ * * * *", "step ''"),
    ("*/-1 * * * *", "step '-1'"),
    ("5/2 * * * *", "a step needs '*' or a range"),
    ("10-5 * * * *", "range '10-5' is reversed"),
    ("* * * * fri-mon", "range 'fri-mon' is reversed"),
    ("-5 * * * *", "range '-5' needs a start and an end"),
    ("5- * * * *", "range '5-' needs a start and an end"),
    ("1,,2 * * * *", "has an empty list item"),
    (", * * * *", "has an empty list item"),
    ("* * * foo *", "schedule month 'foo' is not a number or a name (jan-dec)"),
    ("* * * * sunday", "schedule day-of-week 'sunday' is not a number or a name (sun-sat)"),
    ("jan * * * *", "schedule minute 'jan' is not a number\n"),
    ("* * * mon *", "schedule month 'mon'"),
    ("* * * * jan", "schedule day-of-week 'jan'"),
    ("99999 * * * *", "is not a number"),
    ("* * * *", "has 4 fields, expected 5"),
    ("* * * * * *", "has 6 fields, expected 5"),
    ("", "has 0 fields"),
    ("@often", "schedule macro '@often' is unknown"),
    ("@HOURLY", "macro '@HOURLY' is unknown"),
    ("@hourly *", "macro '@hourly *' is unknown"),
    ("* * * * *\n* * * * * root evil", "control character U+000A"),
    ("*\t* * * *", "control character U+0009"),
    ("x" * 201, "longer than 200"),
])
def test_invalid_schedules_name_field_and_value(schedule, message):
    with pytest.raises(CronValidationError) as caught:
        parse_schedule(schedule)
    assert message in str(caught.value) + "\n"


@pytest.mark.parametrize("value", [None, 5, ["* * * * *"], {"minute": 1}, True])
def test_non_string_schedule_is_a_validation_error(value):
    with pytest.raises(CronValidationError, match="schedule must be a string"):
        parse_schedule(value)


def test_every_field_boundary():
    for index, spec in enumerate(fleet_cron.SCHEDULE_FIELDS):
        for value, ok in ((spec.low, True), (spec.high, True), (spec.low - 1, False),
                          (spec.high + 1, False)):
            if value < 0:
                continue
            fields = ["*"] * 5
            fields[index] = str(value)
            schedule = " ".join(fields)
            if ok:
                assert parse_schedule(schedule) == schedule
            else:
                with pytest.raises(CronValidationError, match=f"{spec.name} '{value}' out of"):
                    parse_schedule(schedule)


# --- declarations -------------------------------------------------------------

def test_error_names_the_job_and_field():
    errors = errors_of(job(name="a"), job(name="b"), job(schedule="61 * * * *"))
    assert errors == ["cron_manager_jobs[2] (name 'backup'): schedule minute '61' out of "
                      "range 0-59"]


def test_all_errors_are_reported_at_once():
    errors = errors_of(job(schedule="* * *", command="", user="no body", state="gone",
                           environment={"1X": "y"}, extra=1))
    joined = "\n".join(errors)
    for part in ("unknown field(s) extra", "state 'gone'", "has 3 fields", "command is empty",
                 "user 'no body'", "environment key '1X'"):
        assert part in joined


@pytest.mark.parametrize("missing", ["schedule", "command", "user"])
def test_present_jobs_need_schedule_command_user(missing):
    raw = job()
    del raw[missing]
    assert errors_of(raw) == [f"cron_manager_jobs[0] (name 'backup'): {missing} is required"]


def test_absent_job_needs_only_a_name():
    [gone] = validate_jobs([("jobs", [{"name": "old", "state": "absent"}])])
    assert (gone.name, gone.state) == ("old", "absent")


def test_duplicate_names_across_sources_are_refused():
    with pytest.raises(CronValidationError) as caught:
        validate_jobs([("cron_manager_jobs", [job()]), ("jobs.yml", [job()])])
    assert caught.value.errors == [
        "jobs.yml[0] (name 'backup'): name is declared twice (also cron_manager_jobs[0])"]


@pytest.mark.parametrize("name", ["../etc", "a/b", "..", ".", ".hidden", "a.b", "", "-lead",
                                  "a b", "a\nb", "x" * 65, "été", None, 3])
def test_unsafe_names_are_refused(name):
    [error] = errors_of(job(name=name))
    assert error.startswith("cron_manager_jobs[0]: name ")


@pytest.mark.parametrize("name", ["a", "backup", "Backup_2", "x-y-z", "9lives", "x" * 64])
def test_safe_names_are_accepted(name):
    assert validate_jobs([("j", [job(name=name)])])[0].name == name


@pytest.mark.parametrize("command", [
    "true\nrm -rf /", "true\r* * * * * root evil", "true\x00x", "a\tb", "bell\x07", "esc\x1b[0m",
    "del\x7f", "c1\x85", "ls\u2028x", "ls\u2029x", "surrogate\ud800",
])
def test_control_characters_in_commands_are_refused(command):
    [error] = errors_of(job(command=command))
    assert "command contains a control character" in error
    assert "\n" not in error and "\r" not in error  # messages never echo the raw value


def test_percent_is_escaped_for_cron():
    [parsed] = validate_jobs([("j", [job(command="date +%Y-%m-%d > /tmp/x")])])
    assert render_job(parsed).endswith("root date +\\%Y-\\%m-\\%d > /tmp/x\n")


def test_pre_escaped_percent_is_refused():
    [error] = errors_of(job(command="date +\\%F"))
    assert "write a plain '%'" in error


@pytest.mark.parametrize("command", ["", "   ", None, 5, ["ls"]])
def test_empty_or_non_string_commands_are_refused(command):
    [error] = errors_of(job(command=command))
    assert "command" in error


def test_overlong_command_is_refused():
    [error] = errors_of(job(command="x" * 901))
    assert "longer than 900 bytes" in error
    validate_jobs([("j", [job(command="x" * 900)])])


@pytest.mark.parametrize("environment", [
    {"A": "line\nnext"}, {"A": "cr\rx"}, {"A": "nul\x00"}, {"A B": "x"}, {"1A": "x"},
    {"A=B": "x"}, {"": "x"}, {"A": True}, {"A": None}, {"A": ["x"]}, {"A": "both ' and \""},
    {3: "x"}, ["A=1"], "A=1",
])
def test_bad_environment_is_refused(environment):
    [error] = errors_of(job(environment=environment))
    assert "environment" in error


def test_environment_values_are_quoted_for_cron():
    [parsed] = validate_jobs([("j", [job(environment={
        "MAILTO": "", "A": "two words", "B": 'say "hi"', "N": 3})])])
    text = render_job(parsed)
    assert 'MAILTO=""\nA="two words"\nB=\'say "hi"\'\nN="3"\n' in text


@pytest.mark.parametrize("user", ["no body", "root\n", "a:b", "", "-x", "x" * 40, 0, None,
                                  "root;id"])
def test_bad_user_names_are_refused(user):
    [error] = errors_of(job(user=user))
    assert "user" in error


@pytest.mark.parametrize("user", ["root", "wizard", "www-data", "_apt", "svc.backup", "host$"])
def test_good_user_names_are_accepted(user):
    assert validate_jobs([("j", [job(user=user)])])[0].user == user


def test_missing_users_are_reported_per_job():
    jobs = validate_jobs([("j", [job(user="ghost"), job(name="ok"),
                                 {"name": "gone", "state": "absent"}])])
    assert fleet_cron.missing_users(jobs, lambda user: user == "root") == [
        "j[0] (name 'backup'): user 'ghost' does not exist on this host"]


@pytest.mark.parametrize(("raw", "count"), [
    (None, 0), ("", 0), ([], 0), ({"jobs": None}, 0), ({"jobs": []}, 0), ([job()], 1),
    ({"jobs": [job()]}, 1),
])
def test_definitions_file_shapes(raw, count):
    assert len(fleet_cron.definitions_jobs(raw, "jobs.yml")) == count


@pytest.mark.parametrize("raw", [{"job": []}, "text", 5, {"jobs": "x"}])
def test_bad_definitions_files_are_refused(raw):
    with pytest.raises(CronValidationError, match=r"jobs\.yml"):
        validate_jobs([("jobs.yml", fleet_cron.definitions_jobs(raw, "jobs.yml"))])


def test_non_mapping_job_is_refused():
    assert errors_of("backup") == ["cron_manager_jobs[0]: a job must be a mapping, got 'backup'"]


def test_published_schema_file_matches_module_utils():
    published = json.loads((ROOT / "roles/cron_manager/files/jobs.schema.json").read_text())
    assert published == fleet_cron.JOB_SCHEMA


def test_schema_agrees_with_the_checks_on_examples():
    import jsonschema
    validator = jsonschema.Draft202012Validator(fleet_cron.JOB_SCHEMA)
    assert validator.is_valid([job(), {"name": "x", "state": "absent"}])
    assert validator.is_valid({"jobs": [job(environment={"A": "b", "N": 1})]})
    for bad in (job(name="../x"), job(command="a\nb"), job(extra=1), job(user="a b"),
                {"name": "x"}, job(schedule="@often"), job(environment={"A B": "x"})):
        assert not validator.is_valid([bad])


# --- properties ---------------------------------------------------------------

def _field_strategy(spec):
    number = st.integers(spec.low, spec.high)
    step = st.integers(1, spec.span)
    ranges = st.tuples(number, number).map(sorted)
    item = st.one_of(
        st.just("*"), number.map(str),
        step.map(lambda s: f"*/{s}"),
        ranges.map(lambda r: f"{r[0]}-{r[1]}"),
        st.tuples(ranges, step).map(lambda t: f"{t[0][0]}-{t[0][1]}/{t[1]}"),
    )
    if spec.names:
        item = item | st.sampled_from(spec.names).map(str.upper) | st.sampled_from(spec.names)
    return st.lists(item, min_size=1, max_size=4).map(",".join)


valid_schedules = st.tuples(*(_field_strategy(spec) for spec in fleet_cron.SCHEDULE_FIELDS)
                            ).map(" ".join) | st.sampled_from(fleet_cron.MACROS)


@given(valid_schedules)
@settings(max_examples=400)
def test_generated_valid_schedules_are_accepted(schedule):
    assert parse_schedule(schedule) == schedule


@given(st.one_of(st.text(alphabet="0123456789*/,-@ abcdefjmnorstuvy\n\t%", max_size=40),
                 st.text(max_size=40), st.integers(), st.none(), st.lists(st.text())))
@settings(max_examples=500)
def test_parser_raises_only_validation_errors(value):
    try:
        result = parse_schedule(value)
    except CronValidationError as error:
        assert error.errors and "\n" not in error.errors[0]
    else:
        assert "\n" not in result and len(result.split()) in (1, 5)


@given(st.dictionaries(st.sampled_from(["name", "schedule", "command", "user", "environment",
                                        "state", "x"]),
                       st.one_of(st.text(max_size=20), st.integers(), st.none(),
                                 st.dictionaries(st.text(max_size=5), st.text(max_size=5)))))
@settings(max_examples=300)
def test_validate_jobs_raises_only_validation_errors(raw):
    try:
        [parsed] = validate_jobs([("j", [raw])])
    except CronValidationError:
        return
    if parsed.state == "present":  # whatever passes renders as exactly one job line
        lines = [line for line in render_job(parsed).splitlines()
                 if not line.startswith("#") and "=" not in line.split(" ")[0]]
        assert len(lines) == 1


# --- convergence --------------------------------------------------------------

def jobs_of(*raw):
    return validate_jobs([("cron_manager_jobs", list(raw))])


def test_plan_apply_create_update_remove(tmp_path):
    cron_dir = str(tmp_path)
    (tmp_path / "handmade").write_text("1 1 * * * root true\n")
    (tmp_path / "golden-state-foreign").write_text("2 2 * * * root true\n")
    first = fleet_cron.plan(jobs_of(job(name="a"), job(name="b")), cron_dir, "golden-state-")
    assert [(c.action, c.name) for c in first.changes] == [("create", "a"), ("create", "b")]
    fleet_cron.apply(first)
    assert os.stat(tmp_path / "golden-state-a").st_mode & 0o777 == 0o644
    second = fleet_cron.plan(jobs_of(job(name="a", command="/bin/false")), cron_dir,
                             "golden-state-")
    assert [(c.action, c.name) for c in second.changes] == [("update", "a"), ("remove", "b")]
    fleet_cron.apply(second)
    assert sorted(os.listdir(tmp_path)) == ["golden-state-a", "golden-state-foreign", "handmade"]
    assert fleet_cron.plan(jobs_of(job(name="a", command="/bin/false")), cron_dir,
                           "golden-state-").changes == []


def test_declared_job_over_unmanaged_file_is_a_conflict(tmp_path):
    (tmp_path / "golden-state-backup").write_text("2 2 * * * root true\n")
    result = fleet_cron.plan(jobs_of(job()), str(tmp_path), "golden-state-")
    assert result.changes == []
    assert "exists but was not written by cron_manager" in result.conflicts[0]


def test_marker_for_another_name_is_not_ours(tmp_path):
    [parsed] = jobs_of(job(name="other"))
    (tmp_path / "golden-state-copy").write_text(render_job(parsed))
    managed, others = fleet_cron.scan_dir(str(tmp_path), "golden-state-")
    assert managed == {} and [os.path.basename(e.path) for e in others] == ["golden-state-copy"]


def test_symlink_is_never_managed(tmp_path):
    [parsed] = jobs_of(job())
    (tmp_path / "target").write_text(render_job(parsed))
    (tmp_path / "golden-state-backup").symlink_to(tmp_path / "target")
    result = fleet_cron.plan([parsed], str(tmp_path), "golden-state-")
    assert result.conflicts and not result.changes


def test_render_is_one_cron_d_entry_with_marker():
    [parsed] = jobs_of(job(environment={"MAILTO": "ops"}))
    assert render_job(parsed).splitlines()[-3:] == [
        "# golden-state-cron-job: backup", 'MAILTO="ops"', "*/5 * * * * root /usr/bin/true"]


def test_cron_entries_skip_comments_and_environment():
    text = "# c\nSHELL=/bin/sh\n  PATH = /bin\n\n@daily root x\n5 * * * * y\n"
    assert fleet_cron.cron_entries(text) == ["@daily root x", "5 * * * * y"]


def test_drift_report(tmp_path):
    cron_dir, spool = tmp_path / "cron.d", tmp_path / "spool"
    cron_dir.mkdir()
    spool.mkdir()
    (spool / "alice").write_text("# comment\nMAILTO=x\n5 * * * * backup\n")
    (spool / "bob").write_text("# nothing\n")
    (cron_dir / "handmade").write_text("1 1 * * * root true\n")
    fleet_cron.apply(fleet_cron.plan(jobs_of(job(name="a"), job(name="b"), job(name="c")),
                                     str(cron_dir), "golden-state-"))
    report = fleet_cron.drift(jobs_of(job(name="a", command="changed"), job(name="d")),
                              str(cron_dir), "golden-state-", str(spool))
    assert (report["missing"], report["changed"], report["stale"]) == (["d"], ["a"], ["b", "c"])
    assert report["unmanaged_files"] == [{"path": str(cron_dir / "handmade"),
                                          "entries": ["1 1 * * * root true"]}]
    assert report["user_crontabs"] == [{"user": "alice", "path": str(spool / "alice"),
                                        "entries": ["5 * * * * backup"]}]
    assert report["in_sync"] is False


def test_job_dataclass_origin_in_messages():
    assert Job(name="x").origin == ""
    [parsed] = jobs_of(job())
    assert parsed.origin == "cron_manager_jobs[0] (name 'backup')"


def test_bad_name_does_not_hide_other_errors():
    errors = errors_of(job(name="../x", schedule="@often"))
    assert errors == [
        "cron_manager_jobs[0]: name '../x' must be 1-64 letters, digits, '_' or '-', starting "
        "with a letter or digit (it becomes a file name)",
        "cron_manager_jobs[0]: schedule macro '@often' is unknown (known: @reboot @yearly "
        "@annually @monthly @weekly @daily @midnight @hourly)"]


def test_checks_are_complete_without_jsonschema(monkeypatch):
    """The host's python3 has no jsonschema: the built-in checks alone must refuse bad jobs."""
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # makes `import jsonschema` fail
    assert fleet_cron._schema_errors(job(extra=1), "x") == []
    assert "unknown field(s) extra" in errors_of(job(extra=1))[0]
    assert validate_jobs([("j", [job()])])[0].name == "backup"


def test_repository_definitions_file_is_valid_and_empty():
    import yaml
    raw = yaml.safe_load((ROOT / "roles/cron_manager/files/jobs.yml").read_text())
    assert validate_jobs([("jobs.yml", fleet_cron.definitions_jobs(raw, "jobs.yml"))]) == []


# -- banned providers, judged on the job file as it would be written ----------------

def test_banned_job_lines_name_the_file_and_line_never_the_command():
    jobs = validate_jobs([("jobs", [
        {"name": "ok", "schedule": "@daily", "user": "root", "command": "true"},
        {"name": "ask", "schedule": "@daily", "user": "root",
         "command": "curl https://api.anthropic.com/v1 -d secret-payload"},
        {"name": "env", "schedule": "@daily", "user": "root", "command": "true",
         # a Cyrillic U+0441 for the "c" (a zero-width character is refused before this)
         "environment": {"MODEL": "\u0441laude-3"}},
        {"name": "gone", "state": "absent", "command": "claude"},
    ])], use_schema=False)
    lines = fleet_cron.banned_job_lines(jobs, "/etc/cron.d", "golden-state-", ["anthropic"])
    assert len(lines) == 2
    assert lines[0].startswith("/etc/cron.d/golden-state-ask:")
    assert lines[1].startswith("/etc/cron.d/golden-state-env:")
    assert not any("secret-payload" in line for line in lines)


def test_banned_job_lines_refuse_an_empty_ban():
    with pytest.raises(ValueError):
        fleet_cron.banned_job_lines([], "/etc/cron.d", "golden-state-", [])
