"""fleet.host_metrics: every metric from real state files, and missing or damaged inputs.

Each test builds the host's files under tmp_path with the fleet's own writers
where there is one (the pull runner's append_history and pause, the deadman's
State, the overlay store's snapshots), runs ``collect`` with a fake clock, a
fake ``systemctl`` and a fake ``git``, and reads the samples back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from fleet import deadman as fd
from fleet import host_metrics as hm
from fleet import pull as fp
from fleet.metrics import render
from fleet.overlay import OverlayStore

NOW = 1_800_000_000.0
COMMIT_A = "a" * 40
COMMIT_B = "b" * 40


def active(argv, timeout):
    return subprocess.CompletedProcess(argv, 0, "active\n", "")


@dataclass
class Host:
    """A host's files under tmp_path: the collector's config and the sources it reads."""

    root: Path

    @property
    def config(self) -> hm.CollectorConfig:
        return hm.CollectorConfig(
            pull_config=str(self.root / "etc/pull.json"),
            deadman_config=str(self.root / "etc/deadman.json"),
            overlay_state_dir=str(self.root / "state/overlay"),
            textfile_dir=str(self.root / "textfile"),
            collect_interval=15.0)

    @property
    def pull(self) -> fp.PullConfig:
        return fp.load_config(self.config.pull_config)

    @property
    def deadman(self) -> fd.Config:
        return fd.load_config(self.config.deadman_config)

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def with_pull(self) -> Host:
        self.write("etc/pull.json", json.dumps({
            "repo_url": "file:///srv/origin.git", "inventory_name": "h1",
            "reconcile_interval": "10min",
            "state_dir": str(self.root / "state/pull"),
            "checkout_dir": str(self.root / "checkout")}))
        (self.root / "state/pull").mkdir(parents=True, exist_ok=True)
        return self

    def run(self, status: str, start: float, end: float, commit: str | None = COMMIT_A,
            **extra) -> None:
        record = {"status": status, "start": fp.iso(start), "end": fp.iso(end),
                  "duration": round(end - start, 3), "commit_after": commit, **extra}
        fp.append_history(self.pull, record)

    def with_deadman(self, window: int = 3600) -> Host:
        self.write("etc/deadman.json", json.dumps({
            "state_dir": str(self.root / "state/deadman"), "window": window}))
        (self.root / "state/deadman").mkdir(parents=True, exist_ok=True)
        return self

    def collect(self, run=active, head=lambda checkout: None, now=NOW) -> hm.Collection:
        return hm.collect(self.config, now=lambda: now, run=run, head=head)


@pytest.fixture
def host(tmp_path) -> Host:
    return Host(tmp_path)


def samples(collection: hm.Collection) -> dict[str, float | dict]:
    """name (without the prefix) -> value, or {label value: value} for labelled families."""
    found: dict[str, float | dict] = {}
    for family in collection.result():
        name = family.name.removeprefix(hm.PREFIX)
        for labels, value in family.samples:
            if labels:
                (label,) = labels.values()
                found.setdefault(name, {})[label] = value
            else:
                assert name not in found, f"{name}: more than one unlabelled sample"
                found[name] = value
    return found


def errors(collection: hm.Collection) -> set[str]:
    flagged = samples(collection)["metrics_collector_errors"]
    assert set(flagged) == set(hm.SOURCES)
    return {source for source, value in flagged.items() if value}


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(("text", "expected"), [
    ("30min", 1800), ("1h 30min", 5400), ("1h30min", 5400), ("90", 90), ("2.5s", 2.5),
    ("1d", 86400), ("500ms", 0.5), ("2 hours", 7200), ("1w", 604800),
])
def test_systemd_time_spans_are_read_as_seconds(text, expected):
    assert hm.parse_timespan(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "fast", "30 parsecs", "-5min", "1h junk"])
def test_other_text_is_not_a_time_span(text):
    with pytest.raises(ValueError, match="not a systemd time span"):
        hm.parse_timespan(text)


def test_config_defaults_and_fields(tmp_path):
    assert hm.config_from_dict({}) == hm.CollectorConfig()
    config = hm.config_from_dict({"_comment": "managed", "collect_interval": "10s",
                                  "harness_unit": "", "textfile_dir": "/srv/textfile"})
    assert config.collect_interval == 10.0
    assert (config.harness_unit, config.textfile_dir) == ("", "/srv/textfile")
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"pull_config": "/etc/x/pull.json"}))
    assert hm.load_config(str(path)).pull_config == "/etc/x/pull.json"


@pytest.mark.parametrize(("data", "complaint"), [
    ([], "expected a JSON object"),
    ({"textfile": "/x"}, "unknown field"),
    ({"textfile_dir": "relative/dir"}, "must be an absolute path"),
    ({"harness_unit": 3}, "must be a string"),
    ({"collect_interval": 0}, "more than 0"),
    ({"collect_interval": True}, "seconds or a systemd time span"),
    ({"collect_interval": "soon"}, "not a systemd time span"),
])
def test_bad_config_fields_are_named(data, complaint):
    with pytest.raises(hm.ConfigError, match=complaint):
        hm.config_from_dict(data, "metrics.json")


def test_missing_or_broken_config_file_is_a_config_error(tmp_path):
    with pytest.raises(hm.ConfigError, match="cannot read"):
        hm.load_config(str(tmp_path / "absent.json"))
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(hm.ConfigError, match="invalid JSON at line 1"):
        hm.load_config(str(tmp_path / "broken.json"))


# --------------------------------------------------------------------------- nothing set up


def test_a_host_with_nothing_set_up_exports_only_the_collector_and_harness(host):
    collection = host.collect(run=lambda argv, timeout: subprocess.CompletedProcess(
        argv, 3, "inactive\n", ""))
    assert samples(collection) == {
        "metrics_collect_interval_seconds": 15.0,
        "harness_up": 0,
        "metrics_collector_errors": dict.fromkeys(hm.SOURCES, 0),
    }
    assert collection.errors == []


def test_no_harness_unit_configured_means_no_harness_metric(host):
    config = hm.CollectorConfig(**{**host.config.__dict__, "harness_unit": ""})
    calls = []
    collection = hm.collect(config, now=lambda: NOW, run=lambda *a: calls.append(a))
    assert "harness_up" not in samples(collection)
    assert calls == []


# --------------------------------------------------------------------------- pull


def test_pull_runner_that_never_ran(host):
    host.with_pull()
    found = samples(host.collect())
    assert found["pull_reconcile_interval_seconds"] == 600.0
    assert found["pull_paused"] == 0
    for name in ("pull_last_run_timestamp_seconds", "pull_last_run_success",
                 "pull_last_run_duration_seconds", "pull_last_success_timestamp_seconds",
                 "converged_commit_info", "pull_paused_since_timestamp_seconds"):
        assert name not in found


@pytest.mark.parametrize(("interval", "exported"), [("", None), ("1h 30min", 5400.0)])
def test_the_reconcile_interval_is_the_one_pull_json_gives(host, interval, exported):
    host.with_pull()
    data = json.loads((host.root / "etc/pull.json").read_text())
    host.write("etc/pull.json", json.dumps({**data, "reconcile_interval": interval}))
    assert samples(host.collect()).get("pull_reconcile_interval_seconds") == exported


def test_a_bad_reconcile_interval_is_a_pull_config_error(host):
    host.with_pull()
    data = json.loads((host.root / "etc/pull.json").read_text())
    host.write("etc/pull.json", json.dumps({**data, "reconcile_interval": "often"}))
    collection = host.collect()
    assert "pull_reconcile_interval_seconds" not in samples(collection)
    assert samples(collection)["metrics_collector_errors"]["pull_config"] == 1


def test_last_run_failed_after_an_earlier_success(host):
    host.with_pull()
    host.run("ok", NOW - 1000, NOW - 900, COMMIT_A)
    host.run("failed", NOW - 100, NOW - 40, COMMIT_B)
    found = samples(host.collect())
    assert found["pull_last_run_success"] == 0
    assert found["pull_last_run_timestamp_seconds"] == pytest.approx(NOW - 40)
    assert found["pull_last_run_duration_seconds"] == pytest.approx(60)
    assert found["pull_last_success_timestamp_seconds"] == pytest.approx(NOW - 900)
    # The converged commit is the last successful run's, not the failed one's.
    assert found["converged_commit_info"] == {COMMIT_A: 1}


def test_last_run_ok(host):
    host.with_pull()
    host.run("failed", NOW - 1000, NOW - 900)
    host.run("ok", NOW - 100, NOW - 10, COMMIT_B, reason="ignored", log="ignored")
    found = samples(host.collect())
    assert found["pull_last_run_success"] == 1
    assert found["pull_last_success_timestamp_seconds"] == pytest.approx(NOW - 10)
    assert found["converged_commit_info"] == {COMMIT_B: 1}


@pytest.mark.parametrize("status", ["timeout", "failed", "something new"])
def test_anything_but_ok_is_a_failed_run(host, status):
    host.with_pull()
    host.run(status, NOW - 100, NOW - 10)
    assert samples(host.collect())["pull_last_run_success"] == 0


def test_paused_records_are_not_runs(host):
    host.with_pull()
    host.run("failed", NOW - 300, NOW - 200)
    host.run("paused", NOW - 100, NOW - 100, None)
    found = samples(host.collect())
    assert found["pull_last_run_success"] == 0
    assert found["pull_last_run_timestamp_seconds"] == pytest.approx(NOW - 200)


def test_duration_falls_back_to_end_minus_start(host):
    host.with_pull()
    record = {"status": "ok", "start": fp.iso(NOW - 50), "end": fp.iso(NOW - 20)}
    fp.append_history(host.pull, record)
    assert samples(host.collect())["pull_last_run_duration_seconds"] == pytest.approx(30)


def test_commit_falls_back_to_the_checkout_head(host):
    host.with_pull()
    host.run("failed", NOW - 100, NOW - 10)
    seen = []
    found = samples(host.collect(head=lambda checkout: seen.append(checkout) or COMMIT_B))
    assert found["converged_commit_info"] == {COMMIT_B: 1}
    assert seen == [str(host.root / "checkout")]


@pytest.mark.parametrize("commit", ["not-a-commit", "ABC", "", None])
def test_no_commit_label_unless_it_is_a_commit_id(host, commit):
    host.with_pull()
    host.run("ok", NOW - 100, NOW - 10, commit)
    assert "converged_commit_info" not in samples(host.collect(head=lambda c: None))


def test_a_damaged_last_history_line_is_an_error_not_an_older_run(host):
    host.with_pull()
    host.run("ok", NOW - 100, NOW - 10)
    with open(host.pull.history_path, "a") as handle:
        handle.write('{"status": "failed", "sta')  # a run cut short mid-write
    collection = host.collect(head=lambda c: COMMIT_B)
    found = samples(collection)
    assert errors(collection) == {"pull_history"}
    assert "pull_last_run_success" not in found
    assert "converged_commit_info" not in found  # not HEAD either: the history is in doubt
    assert found["pull_paused"] == 0  # the other pull metrics stay
    assert "line 2 (the last) is not a JSON object" in collection.errors[0]


def test_older_damaged_lines_are_skipped_as_the_runner_skips_them(host):
    host.with_pull()
    Path(host.pull.history_path).write_text("garbage\n[1, 2]\n")
    host.run("ok", NOW - 100, NOW - 10)
    collection = host.collect()
    assert errors(collection) == set()
    assert samples(collection)["pull_last_run_success"] == 1


@pytest.mark.parametrize("record", [
    {"status": "failed", "start": "yesterday", "end": "today"},
    {"status": "failed", "start": "2026-01-01T00:00:00.000000Z"},
])
def test_a_last_run_without_valid_times_is_an_error(host, record):
    host.with_pull()
    fp.append_history(host.pull, record)
    collection = host.collect()
    assert errors(collection) == {"pull_history"}
    assert "pull_last_run_success" not in samples(collection)


def test_an_unreadable_history_is_an_error(host):
    host.with_pull()
    os.mkdir(host.pull.history_path)
    collection = host.collect()
    assert errors(collection) == {"pull_history"}
    assert "cannot read" in collection.errors[0]


@pytest.mark.parametrize("text", ["{", '{"repo_url": "x"}', "[]"])
def test_a_broken_pull_config_is_an_error_and_no_pull_metric(host, text):
    host.write("etc/pull.json", text)
    collection = host.collect()
    found = samples(collection)
    assert errors(collection) == {"pull_config"}
    assert not [name for name in found if name.startswith(("pull_", "converged_"))]


def test_paused_since(host):
    host.with_pull()
    fp.pause(host.pull, "debugging - alice", now=lambda: NOW - 3600)
    found = samples(host.collect())
    assert found["pull_paused"] == 1
    assert found["pull_paused_since_timestamp_seconds"] == pytest.approx(NOW - 3600)


def test_an_unreadable_pause_flag_still_counts_as_paused(host):
    host.with_pull()
    Path(host.pull.pause_path).write_text("{not json")
    collection = host.collect()
    found = samples(collection)
    assert found["pull_paused"] == 1  # the runner honours it too
    assert "pull_paused_since_timestamp_seconds" not in found
    assert errors(collection) == {"pause_flag"}


# --------------------------------------------------------------------------- deadman


def test_deadman_flag_down_and_no_state_yet(host):
    host.with_deadman()
    found = samples(host.collect())
    assert (found["deadman_flag_raised"], found["deadman_restarts_in_window"]) == (0, 0)


def test_deadman_flag_raised_and_restarts_in_the_window(host):
    host.with_deadman(window=600)
    cfg = host.deadman
    Path(cfg.flag_path).write_text("{}")
    restarts = [NOW - 2000, NOW - 500, NOW - 100]  # the first is outside the 600 s window
    Path(cfg.state_path).write_bytes(fd.State(restarts=restarts).to_json())
    found = samples(host.collect())
    assert (found["deadman_flag_raised"], found["deadman_restarts_in_window"]) == (1, 2)


@pytest.mark.parametrize("text", ["{broken", '{"version": 99}', '{"version": 1, "restarts": "x"}'])
def test_a_damaged_deadman_state_is_an_error_the_flag_still_counts(host, text):
    host.with_deadman()
    Path(host.deadman.flag_path).write_text("{}")
    Path(host.deadman.state_path).write_text(text)
    collection = host.collect()
    found = samples(collection)
    assert errors(collection) == {"deadman_state"}
    assert found["deadman_flag_raised"] == 1
    assert "deadman_restarts_in_window" not in found


def test_a_broken_deadman_config_is_an_error(host):
    host.write("etc/deadman.json", '{"window": -1}')
    collection = host.collect()
    assert errors(collection) == {"deadman_config"}
    assert "deadman_flag_raised" not in samples(collection)


# --------------------------------------------------------------------------- harness


@pytest.mark.parametrize(("status", "out", "up"), [
    (0, "active\n", 1), (3, "inactive\n", 0), (3, "failed\n", 0), (3, "activating\n", 0),
    (4, "inactive\n", 0),  # no such unit
])
def test_harness_up_follows_systemctl_is_active(host, status, out, up):
    calls = []

    def systemctl(argv, timeout):
        calls.append(list(argv))
        return subprocess.CompletedProcess(argv, status, out, "")

    assert samples(host.collect(run=systemctl))["harness_up"] == up
    assert calls == [["systemctl", "is-active", "harness.service"]]


@pytest.mark.parametrize("failure", [
    FileNotFoundError("systemctl"), subprocess.TimeoutExpired("systemctl", 10)])
def test_harness_state_unknown_is_an_error_not_down(host, failure):
    def systemctl(argv, timeout):
        raise failure

    collection = host.collect(run=systemctl)
    assert "harness_up" not in samples(collection)
    assert errors(collection) == {"harness"}


def test_systemctl_without_an_answer_is_an_error(host):
    collection = host.collect(run=lambda argv, timeout: subprocess.CompletedProcess(
        argv, 1, "", "System has not been booted with systemd"))
    assert errors(collection) == {"harness"}


# --------------------------------------------------------------------------- known-good


def known_good(host: Host) -> tuple[OverlayStore, str]:
    store = OverlayStore(host.config.overlay_state_dir)
    snap_id = store.take_snapshot([], "known-good")
    Path(store.known_good_path).write_text(snap_id + "\n")
    return store, snap_id


def test_known_good_snapshot_time_and_age(host):
    store, snap_id = known_good(host)
    created = store.load_snapshot(snap_id).created
    taken = hm.datetime.strptime(created, hm.SNAPSHOT_TIME).replace(tzinfo=hm.UTC).timestamp()
    found = samples(host.collect(now=taken + 90))
    assert found["known_good_snapshot_timestamp_seconds"] == taken
    assert found["known_good_snapshot_age_seconds"] == 90


def test_nothing_marked_known_good_yet(host):
    OverlayStore(host.config.overlay_state_dir).ensure()
    collection = host.collect()
    assert "known_good_snapshot_age_seconds" not in samples(collection)
    assert errors(collection) == set()


def test_known_good_pointing_at_a_missing_snapshot_is_an_error(host):
    store, snap_id = known_good(host)
    shutil.rmtree(os.path.join(store.snapshot_dir, snap_id))
    collection = host.collect()
    assert errors(collection) == {"overlay"}
    assert "known_good_snapshot_age_seconds" not in samples(collection)


@pytest.mark.parametrize("created", ["", "last tuesday", None])
def test_a_snapshot_without_a_valid_time_is_an_error(host, created):
    store, snap_id = known_good(host)
    manifest = Path(store.snapshot_dir, snap_id, "manifest.json")
    data = json.loads(manifest.read_text())
    data["created"] = created
    manifest.write_text(json.dumps(data))
    collection = host.collect()
    assert errors(collection) == {"overlay"}


def test_an_unreadable_known_good_record_is_an_error(host):
    store = OverlayStore(host.config.overlay_state_dir)
    store.ensure()
    os.mkdir(store.known_good_path)
    assert errors(host.collect()) == {"overlay"}


# --------------------------------------------------------------------------- together


def test_a_surprise_in_one_source_does_not_hide_the_others(host):
    host.with_pull().with_deadman()
    host.run("failed", NOW - 100, NOW - 10, None)

    def head(checkout):
        raise RuntimeError("git exploded")

    collection = host.collect(head=head)
    found = samples(collection)
    assert errors(collection) == {"pull_config"}
    assert "unexpected RuntimeError: git exploded" in collection.errors[0]
    assert found["deadman_flag_raised"] == 0 and found["harness_up"] == 1


def test_every_name_follows_the_conventions(host):
    host.with_pull().with_deadman()
    known_good(host)
    host.run("ok", NOW - 100, NOW - 10)
    fp.pause(host.pull, "freeze", now=lambda: NOW - 5)
    families = host.collect().result()
    assert all(family.samples for family in families), "a metric the test did not produce"
    for family in families:
        assert family.name.startswith("golden_state_")
        assert family.type == "gauge"
        assert "_total" not in family.name  # gauges, not counters
        if family.name.endswith("_info"):
            assert [value for _, value in family.samples] == [1]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool (Debian prometheus)")
def test_promtool_accepts_every_metric(host):
    host.with_pull().with_deadman()
    known_good(host)
    host.run("ok", NOW - 1000, NOW - 900, COMMIT_A)
    host.run("failed", NOW - 100, NOW - 10)
    fp.pause(host.pull, "freeze", now=lambda: NOW - 5)
    text = render(host.collect().result())
    result = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                            capture_output=True, check=False, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr + text
    assert result.stdout + result.stderr == ""  # no lint warning either
