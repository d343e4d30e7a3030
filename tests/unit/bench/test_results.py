"""bench/results.py: every bench's figures in one row format and one table."""

from __future__ import annotations

import argparse

from bench.results import add_results_argument, load, record, table


def test_rows_append_and_load_in_order(tmp_path):
    path = tmp_path / "results.jsonl"
    record(path, "webhook", "p50", 6.12345, "s", "< 7 s", True)
    record(path, "converge", "first converge", 12, "s")
    rows = load(path)
    assert [r["figure"] for r in rows] == ["p50", "first converge"]
    assert rows[0]["value"] == 6.123 and rows[0]["met"] is True
    assert rows[1]["met"] is None and rows[1]["target"] == ""


def test_nothing_is_recorded_without_a_results_file(tmp_path):
    record(None, "webhook", "p50", 1.0, "s")
    assert load(tmp_path / "missing.jsonl") == []


def test_table_shows_each_target_and_its_verdict():
    rows = [{"bench": "webhook", "figure": "p95", "value": 12.5, "unit": "s",
             "target": "< 10 s", "met": False},
            {"bench": "signing", "figure": "rate", "value": 7000.0, "unit": "/s",
             "target": ">= 5,000", "met": True},
            {"bench": "converge", "figure": "first", "value": 30.0, "unit": "s",
             "target": "", "met": None}]
    lines = table(rows).splitlines()
    assert lines[0].split() == ["BENCH", "FIGURE", "VALUE", "TARGET", "VERDICT"]
    assert lines[1].split() == ["webhook", "p95", "12.5", "s", "<", "10", "s", "MISSED"]
    assert lines[2].endswith("met") and lines[3].split()[-2:] == ["-", "-"]
    # One column start per field: the verdicts line up.
    assert len({line.rfind(" ") for line in lines[1:3]}) == 1


def test_results_option_parses_a_path():
    parser = argparse.ArgumentParser()
    add_results_argument(parser)
    assert str(parser.parse_args(["--results", "x.jsonl"]).results) == "x.jsonl"
    assert parser.parse_args([]).results is None
