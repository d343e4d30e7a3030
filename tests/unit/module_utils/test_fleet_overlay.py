"""fleet_overlay: schema validation with JSON paths, transactions, snapshots, rollback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from fleet import overlay as fleet_overlay
from fleet.overlay import (
    HIDDEN_CONTENT,
    FileSpec,
    OverlayError,
    OverlayStore,
    UnusableSnapshot,
    check_json_text,
    check_text,
    file_diff,
    json_path,
    load_schema,
    read_live,
    render_config,
)

ROOT = Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "golden_state" / "files"
SCHEMA = load_schema(str(ROLE / "schema" / "config.v1.schema.json"))
CHAIN = [{"name": "openrouter", "base_url": "https://openrouter.ai/api/v1",
          "model": "openai/gpt-4.1"},
         {"name": "ollama", "base_url": "http://127.0.0.1:11434/v1", "model": "qwen2.5:14b"}]
UID, GID = os.getuid(), os.getgid()


def default_config() -> str:
    return render_config((ROLE / "overlay" / "config.yaml").read_text(), CHAIN, "# managed\n")


def config_with(mutate) -> str:
    data = yaml.safe_load(default_config())
    mutate(data)
    return yaml.safe_dump(data)


# -- schema -----------------------------------------------------------------

def test_schema_accepts_the_default_config():
    assert check_text(default_config(), "config", "config.yaml", SCHEMA) == []


def test_rendered_config_carries_chain_and_header():
    text = default_config()
    data = yaml.safe_load(text)
    assert text.startswith("# managed\n")
    assert data["model"]["providers"] == CHAIN
    assert data["model"]["default"] == "openai/gpt-4.1"
    assert data["model"]["temperature"] == 0.7  # base keys survive the merge
    assert next(iter(data)) == "model"


def test_wrong_type_is_reported_with_its_path():
    text = config_with(lambda d: d["agent"].__setitem__("max_turns", "many"))
    errors = check_text(text, "config", "config.yaml", SCHEMA)
    assert errors == ["config.yaml: $.agent.max_turns: 'many' is not of type 'integer'"]


def test_unknown_top_level_key_is_rejected():
    errors = check_text(config_with(lambda d: d.__setitem__("modle", {})), "config", "c.yaml",
                        SCHEMA)
    assert len(errors) == 1
    assert errors[0].startswith("c.yaml: $: Additional properties are not allowed ('modle'")


def test_missing_required_key_and_bad_provider_all_reported():
    def mutate(d):
        del d["terminal"]
        d["model"]["providers"][1]["base_url"] = 11434
        d["terminal_extra"] = 1
    errors = check_text(config_with(mutate), "config", "config.yaml", SCHEMA)
    paths = [e.split(": ")[1] for e in errors]
    assert "$.model.providers[1].base_url" in paths
    assert paths.count("$") == 2  # missing terminal + unknown key
    assert any("'terminal' is a required property" in e for e in errors)


def test_disallowed_enum_value():
    text = config_with(lambda d: d["terminal"].__setitem__("backend", "chroot"))
    errors = check_text(text, "config", "config.yaml", SCHEMA)
    assert len(errors) == 1 and errors[0].startswith("config.yaml: $.terminal.backend: 'chroot'")


def test_empty_chain_is_rejected():
    text = render_config((ROLE / "overlay" / "config.yaml").read_text(), [])
    errors = check_text(text, "config", "config.yaml", SCHEMA)
    assert any(e.startswith("config.yaml: $.model") for e in errors)


def test_yaml_syntax_error_names_line():
    errors = check_text("model: [unclosed\n", "config", "config.yaml", SCHEMA)
    assert errors[0].startswith("config.yaml: invalid YAML at line")


def test_render_config_refuses_non_mapping():
    with pytest.raises(OverlayError, match=r"x.yaml: \$: expected a mapping"):
        render_config("- a\n", CHAIN, name="x.yaml")


def test_json_syntax():
    assert check_json_text('{"a": 1}', "c.json") == []
    assert check_json_text('{"a": 1,}', "c.json")[0].startswith("c.json: invalid JSON at line 1")
    assert check_text("a: b\n", "text", "SOUL.md") == []


@pytest.mark.parametrize(("parts", "path"), [
    ([], "$"), (["a", 0, "b"], "$.a[0].b"), (["with space"], '$["with space"]')])
def test_json_path(parts, path):
    assert json_path(parts) == path


# -- transactions ------------------------------------------------------------

@pytest.fixture
def tree(tmp_path):
    (tmp_path / "home").mkdir()
    return tmp_path


def specs(tree, version: str, secret_too=True) -> list[FileSpec]:
    home = tree / "home"
    out = [FileSpec(str(home / "config.yaml"), f"config {version}\n".encode(), 0o640, UID, GID),
           FileSpec(str(home / "SOUL.md"), f"soul {version}\n".encode(), 0o640, UID, GID)]
    if secret_too:
        out.append(FileSpec(str(home / ".env"), f"KEY={version}\n".encode(), 0o600, UID, GID,
                            secret=True))
    return out


def live_bytes(tree) -> dict[str, bytes]:
    home = tree / "home"
    return {p.name: p.read_bytes() for p in sorted(home.iterdir())}


def test_first_apply_writes_everything_and_takes_no_snapshot(tree):
    store = OverlayStore(str(tree / "state"))
    report = store.apply(specs(tree, "1"))
    assert report["changed"] and report["restart_required"]
    assert report["snapshot"] is None
    assert live_bytes(tree) == {".env": b"KEY=1\n", "SOUL.md": b"soul 1\n",
                                "config.yaml": b"config 1\n"}
    assert (tree / "home" / ".env").stat().st_mode & 0o777 == 0o600
    assert (tree / "home" / "config.yaml").stat().st_mode & 0o777 == 0o640
    assert oct((tree / "state").stat().st_mode & 0o777) == oct(0o700)


def test_second_apply_is_unchanged(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    report = store.apply(specs(tree, "1"))
    assert not report["changed"] and not report["restart_required"]
    assert report["diff"] == [] and store.snapshot_ids() == []


def test_change_snapshots_the_previous_set(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    report = store.apply(specs(tree, "2"))
    assert report["changed"] and report["snapshot"] == store.snapshot_ids()[0]
    snap = store.load_snapshot(report["snapshot"])
    contents = {os.path.basename(f["dest"]): store.snapshot_content(snap.id, f)
                for f in snap.files}
    assert contents == {"config.yaml": b"config 1\n", "SOUL.md": b"soul 1\n", ".env": b"KEY=1\n"}


def test_mode_only_change_is_detected(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    os.chmod(tree / "home" / "SOUL.md", 0o644)
    report = store.apply(specs(tree, "1"))
    assert report["changed"]
    assert [f["differences"] for f in report["files"] if f["changed"]] == [["mode"]]
    assert (tree / "home" / "SOUL.md").stat().st_mode & 0o777 == 0o640


def test_check_mode_writes_nothing(tree):
    store = OverlayStore(str(tree / "state"))
    report = store.apply(specs(tree, "1"), check=True)
    assert report["changed"]
    assert list((tree / "home").iterdir()) == []
    assert not (tree / "state").exists()
    store.apply(specs(tree, "1"))
    before = live_bytes(tree)
    report = store.apply(specs(tree, "2"), check=True)
    assert report["changed"] and live_bytes(tree) == before and store.snapshot_ids() == []


def test_diff_masks_secrets(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    diffs = store.apply(specs(tree, "2"), check=True)["diff"]
    by_dest = {os.path.basename(d["after_header"]): d for d in diffs}
    assert by_dest["config.yaml"]["before"] == "config 1\n"
    assert by_dest["config.yaml"]["after"] == "config 2\n"
    secret = by_dest[".env"]
    assert "KEY" not in secret["before"] + secret["after"]
    assert secret["before"] != secret["after"]  # the diff still shows that it changed
    assert HIDDEN_CONTENT in secret["after"]


def test_file_diff_new_file_header():
    spec = FileSpec("/x/SOUL.md", b"hi\n", 0o640, 0, 0)
    diff = file_diff(spec, read_live("/nonexistent/SOUL.md"))
    assert diff["before_header"].endswith("(absent)") and diff["after"] == "hi\n"


class Crash(Exception):
    pass


def crash_after(monkeypatch, renames: int):
    """Make the (renames+1)-th rename die, as a power cut would."""
    real = fleet_overlay._rename
    count = {"n": 0}

    def rename(src, dst):
        if count["n"] == renames:
            raise Crash(f"crash before renaming {dst}")
        count["n"] += 1
        real(src, dst)

    monkeypatch.setattr(fleet_overlay, "_rename", rename)


def test_crash_between_renames_is_completed_by_the_next_run(tree, monkeypatch):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    crash_after(monkeypatch, 1 + 1)  # the snapshot rename, then one file
    with pytest.raises(Crash):
        store.apply(specs(tree, "2"))
    mixed = live_bytes(tree)
    assert mixed["config.yaml"] == b"config 2\n" and mixed["SOUL.md"] == b"soul 1\n"
    assert os.path.exists(store.journal_path)
    monkeypatch.undo()
    report = store.apply(specs(tree, "2"))
    assert report["recovered"] == "completed" and report["changed"]
    assert live_bytes(tree) == {".env": b"KEY=2\n", "SOUL.md": b"soul 2\n",
                                "config.yaml": b"config 2\n"}
    assert not os.path.exists(store.journal_path)
    assert not any(p.name.endswith(fleet_overlay.TMP_SUFFIX) for p in (tree / "home").iterdir())


def test_crash_with_a_damaged_new_file_rolls_back(tree, monkeypatch):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    crash_after(monkeypatch, 2)
    with pytest.raises(Crash):
        store.apply(specs(tree, "2"))
    monkeypatch.undo()
    tmp = fleet_overlay.tmp_path(str(tree / "home" / "SOUL.md"))
    Path(tmp).write_bytes(b"torn wri")  # the pending new file did not survive intact
    assert store.recover() == "rolled-back"
    assert live_bytes(tree) == {".env": b"KEY=1\n", "SOUL.md": b"soul 1\n",
                                "config.yaml": b"config 1\n"}
    assert not os.path.exists(store.journal_path)


def test_crash_before_the_journal_leaves_live_files_untouched(tree, monkeypatch):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    monkeypatch.setattr(fleet_overlay, "_write_json", lambda *a: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        store.apply(specs(tree, "2"))
    monkeypatch.undo()
    assert {k: v for k, v in live_bytes(tree).items() if not k.startswith(".")} == {
        "SOUL.md": b"soul 1\n", "config.yaml": b"config 1\n"}
    store.apply(specs(tree, "2"))  # the next run replaces the stray temp files
    assert sorted(live_bytes(tree)) == [".env", "SOUL.md", "config.yaml"]


def test_rotation_keeps_last_n_and_known_good(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "0"))
    store.mark_known_good()
    known = store.known_good()
    for version in range(1, 6):
        store.apply(specs(tree, str(version)), keep=2)
    ids = store.snapshot_ids()
    assert known in ids
    assert len(ids) == 3  # newest two plus the known-good one
    assert ids[-2:] == sorted(ids)[-2:]


def test_mark_known_good_reuses_identical_snapshot(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    first, taken = store.mark_known_good()
    assert taken
    again, taken = store.mark_known_good()
    assert again == first and not taken
    assert store.known_good() == first


def test_mark_known_good_needs_an_applied_overlay(tree):
    with pytest.raises(OverlayError, match="no overlay has been applied"):
        OverlayStore(str(tree / "state")).mark_known_good()


def test_rollback_to_known_good_is_byte_for_byte(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "good"))
    os.chmod(tree / "home" / "SOUL.md", 0o640)
    good = live_bytes(tree)
    store.mark_known_good()
    store.apply(specs(tree, "bad"))
    (tree / "home" / "SOUL.md").write_bytes(b"hand edit\x00\xff")
    result = store.rollback()
    assert result["changed"] and result["saved"]
    assert live_bytes(tree) == good
    assert (tree / "home" / ".env").stat().st_mode & 0o777 == 0o600
    assert store.rollback()["changed"] is False  # already there
    # the pre-rollback set was kept, so the rollback itself can be undone
    saved = store.load_snapshot(result["saved"])
    soul = next(f for f in saved.files if f["dest"].endswith("SOUL.md"))
    assert store.snapshot_content(saved.id, soul) == b"hand edit\x00\xff"


def test_rollback_to_named_snapshot_and_errors(tree):
    store = OverlayStore(str(tree / "state"))
    with pytest.raises(OverlayError, match="no known-good snapshot"):
        store.rollback()
    store.apply(specs(tree, "1"))
    snap = store.apply(specs(tree, "2"))["snapshot"]
    store.rollback(snap)
    assert live_bytes(tree)["config.yaml"] == b"config 1\n"
    with pytest.raises(OverlayError, match="not a snapshot id"):
        store.rollback("../../etc")
    with pytest.raises(OverlayError, match="not found"):
        store.rollback("000099-20250101T000000Z")


def test_rollback_removes_files_absent_from_the_snapshot(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1", secret_too=False))
    snap = store.apply(specs(tree, "2"))["snapshot"]  # adds .env
    store.rollback(snap)
    assert sorted(live_bytes(tree)) == ["SOUL.md", "config.yaml"]


def test_status_reports_known_good_match(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    store.mark_known_good()
    status = store.status()
    assert [f["matches_known_good"] for f in status["files"]] == [True, True, True]
    store.apply(specs(tree, "2"))
    assert [f["matches_known_good"] for f in store.status()["files"]] == [False, False, False]


def test_corrupt_state_file_is_a_clear_error(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    Path(store.state_path).write_text("{not json")
    with pytest.raises(OverlayError, match="corrupt state file"):
        store.mark_known_good()


# -- signature records, verdicts, unusable snapshots (issue #20) -------------------

SIGS_A = {"src/config.yaml": ["aa" * 32]}
SIGS_B = {"src/config.yaml": ["bb" * 32]}
UNUSABLE = {"snapshot": "", "usable": False, "reasons": ["x: banned [rule banned_provider]"],
            "rules": ["banned_provider"], "judged": "2025-01-01T00:00:00Z"}


def manifest(store, snap_id) -> dict:
    return json.loads(Path(store.snapshot_dir, snap_id, "manifest.json").read_text())


def test_apply_records_who_signed_each_set(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"), signatures=SIGS_A)
    assert json.loads(Path(store.state_path).read_text())["signatures"] == SIGS_A
    assert store.signatures() == SIGS_A
    snap = store.apply(specs(tree, "2"), signatures=SIGS_B)["snapshot"]
    assert manifest(store, snap)["signatures"] == SIGS_A  # the old set's signers
    assert store.load_snapshot(snap).signatures == SIGS_A
    assert store.signatures() == SIGS_B
    snap = store.apply(specs(tree, "3"))["snapshot"]  # signers unknown from now on
    assert manifest(store, snap)["signatures"] == SIGS_B
    assert "signatures" not in json.loads(Path(store.state_path).read_text())
    snap = store.apply(specs(tree, "4"))["snapshot"]
    assert "signatures" not in manifest(store, snap)  # unknown: no key at all


def test_apply_check_mode_records_nothing(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"), signatures=SIGS_A)
    store.apply(specs(tree, "1"), check=True, signatures=SIGS_B)
    assert store.signatures() == SIGS_A
    store.apply(specs(tree, "1"), signatures=SIGS_B)  # same files, new record: kept
    assert store.signatures() == SIGS_B


def test_mark_known_good_records_the_state_s_signers(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    store.apply(specs(tree, "2"))
    store.apply(specs(tree, "1"), signatures=SIGS_A)  # same content as snapshot 2, unsigned
    reused, taken = store.mark_known_good()
    assert not taken and "signatures" not in manifest(store, reused)  # never rewritten
    store.apply(specs(tree, "5"), signatures=SIGS_B)
    snap, taken = store.mark_known_good()
    assert taken and manifest(store, snap)["signatures"] == SIGS_B


def test_mark_known_good_does_not_reuse_an_unusable_snapshot(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    old = store.apply(specs(tree, "2"))["snapshot"]
    store.set_verdict(old, UNUSABLE)
    store.apply(specs(tree, "1"), signatures=SIGS_A)
    snap, taken = store.mark_known_good()
    assert taken and snap != old and manifest(store, snap)["signatures"] == SIGS_A


def test_verdicts_are_stored_beside_the_snapshot(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    snap = store.apply(specs(tree, "2"))["snapshot"]
    before = Path(store.snapshot_dir, snap, "manifest.json").read_bytes()
    assert store.verdict(snap) is None
    store.set_verdict(snap, UNUSABLE)
    assert store.verdict(snap) == UNUSABLE
    assert os.stat(store.verdict_path(snap)).st_mode & 0o777 == 0o600
    assert Path(store.snapshot_dir, snap, "manifest.json").read_bytes() == before
    with pytest.raises(OverlayError, match="not found"):
        store.set_verdict("000099-20250101T000000Z", UNUSABLE)
    with pytest.raises(OverlayError, match="usable: true/false"):
        store.set_verdict(snap, {"reasons": []})
    with pytest.raises(OverlayError, match="not a snapshot id"):
        store.verdict("../x")
    Path(store.verdict_path(snap)).write_text('{"usable": "maybe"}')
    with pytest.raises(OverlayError, match="corrupt verdict"):
        store.verdict(snap)


def test_rotation_keeps_unusable_snapshots_outside_the_count(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "0"))
    store.mark_known_good()
    known = store.known_good()
    bad = store.apply(specs(tree, "1"), keep=2)["snapshot"]
    store.set_verdict(bad, UNUSABLE)
    for version in range(2, 7):
        store.apply(specs(tree, str(version)), keep=2)
    ids = store.snapshot_ids()
    assert known in ids and bad in ids
    usable = [i for i in ids if i not in (known, bad)]
    assert len(usable) == 2 and usable == ids[-2:]
    # A verdict that cannot be read is no licence to delete either.
    Path(store.verdict_path(ids[-2])).write_text("{broken")
    for version in range(7, 10):
        store.apply(specs(tree, str(version)), keep=2)
    assert ids[-2] in store.snapshot_ids()


def test_rollback_refuses_an_unusable_snapshot(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "good"))
    known, _ = store.mark_known_good()
    store.set_verdict(known, {**UNUSABLE, "snapshot": known})
    store.apply(specs(tree, "bad"))
    live = live_bytes(tree)
    with pytest.raises(UnusableSnapshot) as exc:
        store.rollback()
    assert isinstance(exc.value, OverlayError)
    assert exc.value.snapshot == known
    assert exc.value.reasons == UNUSABLE["reasons"]
    message = str(exc.value)
    assert known in message and "x: banned [rule banned_provider]" in message
    assert "--force-unusable" in message and "audit.jsonl" in message
    assert live_bytes(tree) == live
    assert not os.path.exists(store.audit_path)
    with pytest.raises(UnusableSnapshot):
        store.rollback(known)  # by name too


def test_forced_rollback_restores_and_is_audited(tree, monkeypatch):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "good"), signatures=SIGS_A)
    good = live_bytes(tree)
    known, _ = store.mark_known_good()
    store.set_verdict(known, {**UNUSABLE, "snapshot": known})
    store.apply(specs(tree, "bad"), signatures=SIGS_B)
    with pytest.raises(OverlayError, match="needs a reason"):
        store.rollback(force_reason="  ")
    monkeypatch.setenv("SUDO_USER", "ops")
    result = store.rollback(force_reason="provider outage, approved by the lead")
    assert result["changed"] and result["forced"] == "provider outage, approved by the lead"
    assert live_bytes(tree) == good
    assert store.signatures() == SIGS_A  # the live set's signers are the snapshot's
    assert manifest(store, result["saved"])["signatures"] == SIGS_B
    lines = Path(store.audit_path).read_text().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["event"] == "forced_rollback" and entry["snapshot"] == known
    assert entry["reason"] == "provider outage, approved by the lead"
    assert entry["verdict_reasons"] == UNUSABLE["reasons"]
    assert entry["verdict_rules"] == ["banned_provider"]
    assert entry["uid"] == os.getuid() and entry["sudo_user"] == "ops"
    assert entry["time"].endswith("Z")
    assert os.stat(store.audit_path).st_mode & 0o777 == 0o600


def test_snapshots_never_judged_or_usable_are_not_refused(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    snap = store.apply(specs(tree, "2"))["snapshot"]
    assert store.rollback(snap)["changed"]  # never judged
    store.apply(specs(tree, "3"))
    store.set_verdict(snap, {"usable": True, "reasons": [], "rules": []})
    result = store.rollback(snap, force_reason="not needed")
    assert result["changed"] and "forced" not in result
    assert not os.path.exists(store.audit_path)


def test_status_shows_each_snapshot_s_verdict(tree):
    store = OverlayStore(str(tree / "state"))
    store.apply(specs(tree, "1"))
    first = store.apply(specs(tree, "2"))["snapshot"]
    second = store.apply(specs(tree, "3"))["snapshot"]
    third = store.apply(specs(tree, "4"))["snapshot"]
    store.set_verdict(first, UNUSABLE)
    store.set_verdict(second, {"usable": True, "reasons": [], "rules": []})
    assert store.status()["snapshots"] == [
        {"id": first, "usable": False, "reasons": UNUSABLE["reasons"]},
        {"id": second, "usable": True, "reasons": []},
        {"id": third, "usable": None, "reasons": []}]


def test_a_schema_that_is_a_fifo_is_refused_without_waiting(tmp_path):
    import os

    from fleet.overlay import OverlayError, load_schema

    fifo = tmp_path / "schema.json"
    os.mkfifo(fifo)
    with pytest.raises(OverlayError, match="not a regular file"):
        load_schema(str(fifo))
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(OverlayError, match="must be an object"):
        load_schema(str(tmp_path / "list.json"))
