"""fleet.metrics: the textfile exposition format, checked by promtool itself."""

from __future__ import annotations

import math
import os
import shutil
import subprocess

import pytest
from fleet.metrics import Family, format_value, render, write_textfile
from hypothesis import given
from hypothesis import strategies as st


def test_a_family_renders_help_type_and_sorted_labels():
    family = Family("golden_state_pull_last_run_success", "1 if the last run succeeded.")
    family.add(1, host="h1", branch="main")
    assert family.render() == (
        "# HELP golden_state_pull_last_run_success 1 if the last run succeeded.\n"
        "# TYPE golden_state_pull_last_run_success gauge\n"
        'golden_state_pull_last_run_success{branch="main",host="h1"} 1\n')


@pytest.mark.parametrize(("value", "text"), [
    (True, "1"), (False, "0"), (3, "3"), (1.5, "1.5"),
    (math.nan, "NaN"), (math.inf, "+Inf"), (-math.inf, "-Inf"),
])
def test_values_are_spelled_as_the_format_wants(value, text):
    assert format_value(value) == text


def test_label_values_and_help_are_escaped():
    family = Family("x_info", 'help with \\ and\nnewline').add(1, commit='a"b\\c\nd')
    text = family.render()
    assert "# HELP x_info help with \\\\ and\\nnewline\n" in text
    assert 'x_info{commit="a\\"b\\\\c\\nd"} 1' in text


@pytest.mark.parametrize("name", ["1bad", "has-dash", "", "sp ace"])
def test_invalid_metric_names_are_refused(name):
    with pytest.raises(ValueError, match="invalid metric name"):
        Family(name, "h")


@pytest.mark.parametrize("label", ["1x", "a-b", "__reserved"])
def test_invalid_label_names_are_refused(label):
    with pytest.raises(ValueError, match="invalid label name"):
        Family("ok", "h").add(1, **{label: "v"})


def test_unknown_types_and_repeated_families_are_refused():
    with pytest.raises(ValueError, match="type must be"):
        Family("ok", "h", type="histogram")
    with pytest.raises(ValueError, match="given twice"):
        render([Family("ok", "h").add(1), Family("ok", "h").add(2)])


def test_families_without_samples_are_left_out():
    assert render([Family("empty", "h"), Family("full", "h").add(2)]).count("# TYPE") == 1


def test_write_textfile_replaces_the_file_atomically(tmp_path):
    path = write_textfile(str(tmp_path), "golden_state_pull", [Family("a", "h").add(1)])
    assert path == str(tmp_path / "golden_state_pull.prom")
    write_textfile(str(tmp_path), "golden_state_pull", [Family("a", "h").add(2)])
    assert (tmp_path / "golden_state_pull.prom").read_text().endswith("a 2\n")
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert sorted(os.listdir(tmp_path)) == ["golden_state_pull.prom"]  # no temporary left


@pytest.mark.parametrize("name", ["../escape", "a/b", "x.prom", ""])
def test_textfile_names_cannot_leave_the_directory(tmp_path, name):
    with pytest.raises(ValueError, match="invalid textfile name"):
        write_textfile(str(tmp_path), name, [])


@given(st.text(max_size=40), st.text(max_size=40))
def test_any_label_value_and_help_render_on_one_line_per_sample(value, help_text):
    text = Family("m", help_text).add(1, v=value).render()
    assert text.count("\n") == 3  # the format splits lines on \n only


@pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool (Debian prometheus)")
def test_promtool_accepts_the_rendered_text():
    text = render([
        Family("golden_state_pull_last_run_timestamp_seconds", "When the last run ended.")
        .add(1700000000.25),
        Family("golden_state_pull_runs_total", "Runs so far.", type="counter").add(3),
        Family("golden_state_converged_commit_info", "The converged commit.")
        .add(1, commit='a"b\\c'),
    ])
    result = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                            capture_output=True, check=False, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
