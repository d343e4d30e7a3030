"""overlay_file_plan and overlay_file_sets filters: thin faces with clear errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from overlay_files import FilterModule

FILTERS = FilterModule().filters()
PLAN, SETS = FILTERS["overlay_file_plan"], FILTERS["overlay_file_sets"]
FILES = [{"src": "SOUL.md", "dest": "/h/SOUL.md"},
         {"src": "/srv/raw.txt", "dest": "/h/raw.txt", "template": False, "secret": True}]


def test_plan_then_sets():
    plan = PLAN(FILES, "/overlay", "wizard", "wizard", "0640")
    assert [item["src"] for item in plan] == ["/overlay/SOUL.md", "/srv/raw.txt"]
    sets = SETS(plan, ["soul"], ["raw"])
    assert sets["check"] == [{"src": "/overlay/SOUL.md", "dest": "/h/SOUL.md", "content": "soul"}]
    assert sets["apply_secret"][0]["content"] == "raw"


@pytest.mark.parametrize(("args", "message"), [
    (("SOUL.md", "/o", "u", "g", "0640"), "the file list must be a list, got str"),
    ((FILES, "", "u", "g", "0640"), "overlay_dir must be a non-empty string"),
    ((FILES, None, "u", "g", "0640"), "overlay_dir must be a non-empty string"),
    (([{"src": "a"}], "/o", "u", "g", "0640"), r"file 0 \(a\): dest must be a non-empty string"),
])
def test_plan_errors_name_the_filter_and_the_argument(args, message):
    with pytest.raises(AnsibleFilterError, match=f"^overlay_file_plan: {message}"):
        PLAN(*args)


@pytest.mark.parametrize(("args", "message"), [
    (({}, [], []), "the plan must be a list"),
    ((FILES, ["soul"], ["raw"]), "the plan must be overlay_file_plan's result"),
    (([], "soul", []), "rendered must be a list, got str"),
    (([], [], None), "copied must be a list, got NoneType"),
    (([], ["extra"], []), "0 rendered and 0 copied contents expected, got 1 and 0"),
])
def test_sets_errors_name_the_filter_and_the_argument(args, message):
    with pytest.raises(AnsibleFilterError, match=f"^overlay_file_sets: {message}"):
        SETS(*args)
