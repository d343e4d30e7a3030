"""cron_jobs module: create, update, remove managed, leave unmanaged, check mode, diff, report."""

from __future__ import annotations

import getpass
import os

import cron_jobs
import pytest

USER = getpass.getuser()


def job(name="backup", **overrides):
    base = {"name": name, "schedule": "*/5 * * * *", "command": "/usr/bin/true", "user": USER}
    base.update(overrides)
    return base


@pytest.fixture
def cron_dir(tmp_path):
    directory = tmp_path / "cron.d"
    directory.mkdir()
    (directory / "handmade").write_text("1 1 * * * root true\n")
    return directory


@pytest.fixture
def converge(run_module, cron_dir):
    def run(jobs, check_mode=False, diff=False, **extra):
        args = {"jobs": jobs, "jobs_label": "cron_manager_jobs", "cron_dir": str(cron_dir),
                **extra}
        return run_module(cron_jobs, args, check_mode=check_mode, diff=diff)
    return run


def done(outcome):
    """The result of a run that must succeed (setup runs included)."""
    status, result = outcome
    assert status == "exit", result.get("msg")
    return result


def listing(cron_dir):
    return sorted(os.listdir(cron_dir))


def test_create_then_idempotent(converge, cron_dir):
    status, result = converge([job(), job("probe", schedule="@hourly")])
    assert status == "exit" and result["changed"] is True
    assert result["created"] == ["backup", "probe"]
    assert listing(cron_dir) == ["golden-state-backup", "golden-state-probe", "handmade"]
    text = (cron_dir / "golden-state-backup").read_text()
    assert text.endswith(f"*/5 * * * * {USER} /usr/bin/true\n")
    assert "# golden-state-cron-job: backup\n" in text
    assert os.stat(cron_dir / "golden-state-backup").st_mode & 0o777 == 0o644
    status, again = converge([job(), job("probe", schedule="@hourly")])
    assert (status, again["changed"], again["unchanged"]) == ("exit", False, ["backup", "probe"])


def test_update_changed_job(converge, cron_dir):
    done(converge([job()]))
    status, result = converge([job(schedule="0 3 * * *")])
    assert (status, result["changed"], result["updated"]) == ("exit", True, ["backup"])
    assert "0 3 * * * " in (cron_dir / "golden-state-backup").read_text()


def test_mode_drift_is_repaired(converge, cron_dir):
    done(converge([job()]))
    os.chmod(cron_dir / "golden-state-backup", 0o664)
    result = done(converge([job()]))
    assert (result["changed"], result["updated"]) == (True, ["backup"])
    assert os.stat(cron_dir / "golden-state-backup").st_mode & 0o777 == 0o644


def test_remove_undeclared_and_absent_but_never_unmanaged(converge, cron_dir):
    (cron_dir / "golden-state-foreign").write_text("2 2 * * * root true\n")
    done(converge([job("a"), job("b"), job("c")]))
    status, result = converge([job("a"), {"name": "b", "state": "absent"}])
    assert status == "exit" and result["changed"] is True
    assert sorted(result["removed"]) == ["b", "c"]
    assert listing(cron_dir) == ["golden-state-a", "golden-state-foreign", "handmade"]
    assert (cron_dir / "handmade").read_text() == "1 1 * * * root true\n"


def test_keep_undeclared_when_asked(converge, cron_dir):
    done(converge([job("a"), job("b")]))
    result = done(converge([job("a")], remove_undeclared=False))
    assert result["changed"] is False
    assert "golden-state-b" in listing(cron_dir)


def test_absent_over_unmanaged_file_warns_and_leaves_it(converge, cron_dir):
    (cron_dir / "golden-state-foreign").write_text("2 2 * * * root true\n")
    status, result = converge([{"name": "foreign", "state": "absent"}])
    assert (status, result["changed"]) == ("exit", False)
    assert (cron_dir / "golden-state-foreign").exists()


def test_declared_job_over_unmanaged_file_fails(converge, cron_dir):
    (cron_dir / "golden-state-backup").write_text("2 2 * * * root true\n")
    status, result = converge([job()])
    assert status == "fail"
    assert "was not written by cron_manager" in result["msg"]
    assert (cron_dir / "golden-state-backup").read_text() == "2 2 * * * root true\n"


def test_check_mode_changes_nothing_but_reports(converge, cron_dir):
    done(converge([job("old")]))
    before = {name: (cron_dir / name).read_text() for name in listing(cron_dir)}
    status, result = converge([job("new")], check_mode=True)
    assert status == "exit" and result["changed"] is True
    assert (result["created"], result["removed"]) == (["new"], ["old"])
    assert {name: (cron_dir / name).read_text() for name in listing(cron_dir)} == before


def test_diff_shows_before_and_after(converge, cron_dir):
    done(converge([job("old")]))
    result = done(converge([job("old", command="/bin/false"), job("new")], diff=True))
    by_path = {(d["before_header"], d["after_header"]): d for d in result["diff"]}
    path_old, path_new = str(cron_dir / "golden-state-old"), str(cron_dir / "golden-state-new")
    assert "/usr/bin/true" in by_path[(path_old, path_old)]["before"]
    assert "/bin/false" in by_path[(path_old, path_old)]["after"]
    assert by_path[("/dev/null", path_new)]["before"] == ""
    quiet = done(converge([job("old", command="/bin/false"), job("new")], diff=False))
    assert "diff" not in quiet


def test_validation_error_names_job_and_field_and_touches_nothing(converge, cron_dir):
    status, result = converge([job("a"), job("b"), job("backup", schedule="61 * * * *")])
    assert status == "fail"
    assert result["errors"] == [
        "cron_manager_jobs[2] (name 'backup'): schedule minute '61' out of range 0-59"]
    assert listing(cron_dir) == ["handmade"]


@pytest.mark.parametrize(("bad", "fragment"), [
    (job(command="true\n* * * * * root evil"), "control character U+000A"),
    (job(command="true\rx"), "control character U+000D"),
    (job(environment={"A": "x\ny"}), "environment A value contains a control character"),
    (job(name="../../etc/passwd"), "name '../../etc/passwd'"),
    (job(user="root nobody"), "user 'root nobody'"),
])
def test_injection_attempts_fail_without_writing(converge, cron_dir, bad, fragment):
    status, result = converge([bad])
    assert status == "fail" and fragment in result["msg"]
    assert listing(cron_dir) == ["handmade"]


def test_missing_user_fails_but_only_warns_in_check_mode(converge, cron_dir):
    status, result = converge([job(user="no-such-user-xyz")])
    assert status == "fail"
    assert "user 'no-such-user-xyz' does not exist on this host" in result["msg"]
    status, result = converge([job(user="no-such-user-xyz")], check_mode=True)
    assert status == "exit" and result["created"] == ["backup"]
    assert listing(cron_dir) == ["handmade"]


def test_definitions_are_merged_and_named_by_file(converge, cron_dir):
    status, result = converge([job("a")], definitions={"jobs": [job("b")]},
                              definitions_label="files/jobs.yml")
    assert status == "exit" and result["created"] == ["a", "b"]
    status, result = converge([job("a")], definitions=[job("a")],
                              definitions_label="files/jobs.yml")
    assert status == "fail"
    assert "files/jobs.yml[0] (name 'a'): name is declared twice" in result["msg"]


def test_validate_state_needs_no_directory_or_users(run_module, tmp_path):
    status, result = run_module(cron_jobs, {
        "state": "validate", "jobs": [job(user="no-such-user-xyz")],
        "cron_dir": str(tmp_path / "missing")})
    assert (status, result["changed"], result["jobs"]) == ("exit", False, ["backup"])


def test_report_lists_drift_and_changes_nothing(converge, cron_dir, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "root").write_text("# DO NOT EDIT\n@daily /usr/bin/true\n")
    done(converge([job("a"), job("b")]))
    before = {name: (cron_dir / name).read_text() for name in listing(cron_dir)}
    status, result = converge([job("a", command="/bin/false"), job("c")], state="report",
                              crontab_spool=str(spool))
    assert status == "exit" and result["changed"] is False
    drift = result["drift"]
    assert (drift["missing"], drift["changed"], drift["stale"]) == (["c"], ["a"], ["b"])
    assert drift["unmanaged_files"] == [{"path": str(cron_dir / "handmade"),
                                         "entries": ["1 1 * * * root true"]}]
    assert drift["user_crontabs"][0]["entries"] == ["@daily /usr/bin/true"]
    assert drift["in_sync"] is False
    assert {name: (cron_dir / name).read_text() for name in listing(cron_dir)} == before


def test_report_in_sync(converge):
    done(converge([job()]))
    result = done(converge([job()], state="report", crontab_spool="/nonexistent"))
    assert result["drift"]["in_sync"] is True


@pytest.mark.parametrize("prefix", ["", "golden.state-", "../x-", "a b"])
def test_bad_prefix_is_refused(converge, prefix):
    status, result = converge([job()], prefix=prefix)
    assert status == "fail" and "prefix" in result["msg"]


def test_missing_cron_dir_fails_clearly(run_module, tmp_path):
    status, result = run_module(cron_jobs, {"jobs": [job()], "cron_dir": str(tmp_path / "no")})
    assert status == "fail" and "does not exist" in result["msg"]


def test_failure_midway_reports_what_was_done(converge, cron_dir, monkeypatch):
    real = cron_jobs.apply_change
    calls = []

    def flaky(change, owner=None):
        calls.append(change.name)
        if len(calls) == 2:
            raise PermissionError(13, "Permission denied")
        real(change, owner)

    monkeypatch.setattr(cron_jobs, "apply_change", flaky)
    status, result = converge([job("a"), job("b")])
    assert status == "fail"
    assert (result["changed"], result["created"]) == (True, ["a"])
    assert "golden-state-b: cannot create: [Errno 13] Permission denied" in result["msg"]
    assert listing(cron_dir) == ["golden-state-a", "handmade"]


@pytest.mark.parametrize("state", ["validate", "present"])
def test_a_banned_provider_in_a_job_file_is_refused_before_any_write(converge, cron_dir, state):
    status, result = converge([job()], state=state, banned=["anthropic"])
    assert status == "exit"
    before = listing(cron_dir)
    jobs = [job(), job("ask", command="llm --provider Anthropic --key s3cret-value")]
    status, result = converge(jobs, state=state, banned=["anthropic"])
    assert status == "fail" and "golden-state-ask:" in result["msg"]
    assert "s3cret-value" not in repr(result)
    assert listing(cron_dir) == before
