"""The golden_state role's overlay file list: plan (sources, defaults) and sets (records)."""

from __future__ import annotations

import pytest
from fleet.overlay_files import PLAN_KEYS, SETS, file_plan, file_sets
from hypothesis import given, settings
from hypothesis import strategies as st

OVERLAY = "/repo/roles/golden_state/files/overlay"
DEFAULTS = {"owner": "wizard", "group": "wizard", "mode": "0640"}
STANDARD = [{"src": "SOUL.md", "dest": "/home/wizard/.timmy/SOUL.md"},
            {"src": "channel_directory.json",
             "dest": "/home/wizard/.hermes/channel_directory.json"}]


def plan(files):
    return file_plan(files, OVERLAY, DEFAULTS["owner"], DEFAULTS["group"], DEFAULTS["mode"])


def test_standard_files_resolve_against_the_overlay_dir_with_the_defaults():
    assert plan(STANDARD) == [
        {"src": f"{OVERLAY}/SOUL.md", "dest": "/home/wizard/.timmy/SOUL.md", "template": True,
         "secret": False, "owner": "wizard", "group": "wizard", "mode": "0640", "restart": True},
        {"src": f"{OVERLAY}/channel_directory.json",
         "dest": "/home/wizard/.hermes/channel_directory.json", "template": True,
         "secret": False, "owner": "wizard", "group": "wizard", "mode": "0640", "restart": True}]


def test_an_absolute_source_stays_and_given_keys_win():
    (item,) = plan([{"src": "/srv/api.env", "dest": "/h/.env", "secret": True, "owner": "root",
                     "group": "adm", "mode": "0600", "restart": False, "template": False}])
    assert item == {"src": "/srv/api.env", "dest": "/h/.env", "template": False, "secret": True,
                    "owner": "root", "group": "adm", "mode": "0600", "restart": False}


def test_a_null_counts_as_given_like_jinja_default():
    (item,) = plan([{"src": "a", "dest": "/a", "template": None, "secret": None,
                     "restart": None, "mode": None}])
    assert (item["template"], item["secret"], item["restart"], item["mode"]) == (
        False, False, None, None)


@pytest.mark.parametrize(("entry", "message"), [
    ("SOUL.md", "file 0: must be a dictionary with src and dest, got str"),
    ({"dest": "/a"}, "file 0: src must be a non-empty string"),
    ({"src": "", "dest": "/a"}, "file 0: src must be a non-empty string"),
    ({"src": "a.txt"}, r"file 0 \(a.txt\): dest must be a non-empty string"),
])
def test_a_malformed_entry_is_refused_naming_it(entry, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        plan([entry])


def test_sets_give_each_file_its_content_and_keep_secrets_apart():
    files = plan([*STANDARD, {"src": "/srv/api.env", "dest": "/h/.env", "secret": True},
                  {"src": "raw.txt", "dest": "/h/raw.txt", "template": False, "restart": False}])
    sets = file_sets(files, ["soul", "{}", "KEY=1"], ["raw {{ x }}"])
    assert sets["check"] == [
        {"src": f"{OVERLAY}/SOUL.md", "dest": "/home/wizard/.timmy/SOUL.md", "content": "soul"},
        {"src": f"{OVERLAY}/channel_directory.json",
         "dest": "/home/wizard/.hermes/channel_directory.json", "content": "{}"},
        {"src": f"{OVERLAY}/raw.txt", "dest": "/h/raw.txt", "content": "raw {{ x }}"}]
    assert sets["check_secret"] == [{"src": "/srv/api.env", "dest": "/h/.env",
                                     "content": "KEY=1"}]
    assert sets["apply"][2] == {"dest": "/h/raw.txt", "content": "raw {{ x }}",
                                "owner": "wizard", "group": "wizard", "mode": "0640",
                                "restart": False}
    assert sets["apply_secret"] == [{"dest": "/h/.env", "content": "KEY=1", "owner": "wizard",
                                     "group": "wizard", "mode": "0640", "restart": True}]


def test_no_files_give_four_empty_sets():
    assert file_sets([], [], []) == {name: [] for name in SETS}


def test_a_content_count_that_does_not_fit_the_plan_is_refused():
    with pytest.raises(ValueError, match="2 rendered and 0 copied contents expected, got 1 and 1"):
        file_sets(plan(STANDARD), ["soul"], ["{}"])


ENTRIES = st.fixed_dictionaries(
    {"src": st.sampled_from(["a.txt", "dir/b.md", "/abs/c.env"]),
     "dest": st.text(alphabet="/abcxyz.", min_size=1, max_size=8)},
    optional={"template": st.one_of(st.booleans(), st.none()),
              "secret": st.one_of(st.booleans(), st.none()),
              "owner": st.sampled_from(["root", "bot"]), "group": st.sampled_from(["adm"]),
              "mode": st.sampled_from(["0600", "0644", 420]),
              "restart": st.one_of(st.booleans(), st.none())})


@given(st.lists(ENTRIES, max_size=8))
@settings(max_examples=300, deadline=None)
def test_every_file_lands_once_in_its_sets_with_its_own_content(entries):
    planned = plan(entries)
    assert all(set(item) == PLAN_KEYS for item in planned)
    # Each source's content names its file, so a mix-up of the two lists shows.
    rendered = [f"rendered {i}" for i, item in enumerate(planned) if item["template"]]
    copied = [f"copied {i}" for i, item in enumerate(planned) if not item["template"]]
    sets = file_sets(planned, rendered, copied)
    checked = sets["check"] + sets["check_secret"]
    applied = sets["apply"] + sets["apply_secret"]
    assert len(checked) == len(applied) == len(entries)
    for i, (entry, item) in enumerate(zip(entries, planned, strict=True)):
        content = f"{'rendered' if entry.get('template', True) else 'copied'} {i}"
        where = "_secret" if entry.get("secret", False) else ""
        assert {"src": item["src"], "dest": entry["dest"], "content": content} in sets[
            "check" + where]
        assert {"dest": entry["dest"], "content": content,
                "owner": entry.get("owner", "wizard"), "group": entry.get("group", "wizard"),
                "mode": entry.get("mode", "0640"),
                "restart": entry.get("restart", True)} in sets["apply" + where]
        assert item["src"] == (entry["src"] if entry["src"].startswith("/")
                               else f"{OVERLAY}/{entry['src']}")
    # Order within each set is the listed order.
    assert [r["content"] for r in sets["check"]] == [r["content"] for r in sets["apply"]]
    assert [int(r["content"].split()[1]) for r in sets["check"]] == sorted(
        int(r["content"].split()[1]) for r in sets["check"])
