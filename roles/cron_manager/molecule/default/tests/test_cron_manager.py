"""cron_manager installs declared jobs as managed cron.d files, removes undeclared
ones, leaves hand-made entries alone, and cron really runs the jobs."""

import pytest

from tests.testinfra_helpers import wait_for

MANAGED = {
    "cron-probe": "* * * * * wizard",
    "nightly-report": "30 2 * * mon-fri root /usr/bin/true",
    "weekly-cleanup": "@weekly root /usr/bin/true",
}


@pytest.mark.parametrize(("name", "line"), MANAGED.items())
def test_declared_jobs_are_managed_cron_d_files(host, name, line):
    job = host.file(f"/etc/cron.d/golden-state-{name}")
    assert job.is_file
    assert (job.user, job.group, job.mode) == ("root", "root", 0o644)
    assert f"# golden-state-cron-job: {name}\n" in job.content_string
    assert line in job.content_string


def test_percent_is_escaped_and_environment_is_set(host):
    text = host.file("/etc/cron.d/golden-state-cron-probe").content_string
    assert 'PROBE_LABEL="hello world"\n' in text
    assert r"$(date +\%Y-\%m-\%d)" in text


def test_job_dropped_from_declaration_is_removed(host):
    assert not host.file("/etc/cron.d/golden-state-retired").exists
    assert not host.file("/etc/cron.d/golden-state-never-installed").exists


@pytest.mark.parametrize(("path", "line"), [
    ("/etc/cron.d/handmade-backup", "17 4 * * * root /usr/bin/true\n"),
    ("/etc/cron.d/golden-state-foreign", "18 4 * * * root /usr/bin/true\n"),
])
def test_hand_made_cron_d_files_survive(host, path, line):
    assert host.file(path).content_string == line


def test_hand_made_user_crontab_entry_survives(host):
    result = host.run("crontab -l -u root")
    assert result.rc == 0, result.stderr
    assert "19 4 * * * /usr/bin/true" in result.stdout


def test_no_temporary_files_left_behind(host):
    assert host.run("ls -A /etc/cron.d | grep '^\\.golden-state-'").rc == 1


def test_cron_runs_the_probe_job(host):
    assert host.service("cron").is_running
    log = host.file("/home/wizard/cron-probe.log")
    # cron fires on the minute: bounded by one minute and a margin.
    assert wait_for(lambda: log.exists, timeout=75, step=3), \
        "cron did not run the probe job within 75 s"
    assert log.user == "wizard"
    # The date of the job's last run (the file's mtime), not of this moment: no midnight race.
    line, day = host.check_output(f"tail -n 1 {log.path}; date -r {log.path} +%Y-%m-%d") \
        .splitlines()
    assert line == f"hello world {day}"
