"""fleet.snapshot_judge: every snapshot a rollback could restore, judged under today's policy."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from fleet import signing as fleet_signing
from fleet.overlay import FileSpec, OverlayStore
from fleet.snapshot_judge import (
    JudgePolicyError,
    judge_all,
    judge_policy_from_dict,
    judge_snapshot,
    load_judge_policy,
)

UID, GID = os.getuid(), os.getgid()
CONFIG_POLICY = {"version": 1,
                 "endpoints": {"keys": ["base_url"],
                               "allow": [{"host": "openrouter.ai", "reason": "preferred"}]},
                 "credentials": {"keys": ["api_key"]}}
GOOD_CONFIG = ("model:\n  default: openai/gpt-4.1\n  providers:\n    - name: openrouter\n"
               "      base_url: https://openrouter.ai/api/v1\n      model: openai/gpt-4.1\n")
SECRET_VALUE = "hidden-value-xyz"


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def store(tmp_path):
    return OverlayStore(str(tmp_path / "state"))


def overlay(home, config=GOOD_CONFIG, soul="soul\n", channels='{"a": 1}\n',
            secret=f"KEY={SECRET_VALUE}\n", extra=None) -> list[FileSpec]:
    specs = [FileSpec(str(home / "config.yaml"), config.encode(), 0o640, UID, GID),
             FileSpec(str(home / "SOUL.md"), soul.encode(), 0o640, UID, GID),
             FileSpec(str(home / "channel_directory.json"), channels.encode(), 0o640, UID, GID),
             FileSpec(str(home / ".env"), secret.encode(), 0o600, UID, GID, secret=True)]
    for name, content in (extra or {}).items():
        specs.append(FileSpec(str(home / name), content if isinstance(content, bytes)
                              else content.encode(), 0o640, UID, GID))
    return specs


def snapshot_of(store, home, signatures=None, **files) -> str:
    """A snapshot holding the set ``files`` describes (applied, then replaced)."""
    store.apply(overlay(home, **files), signatures=signatures)
    report = store.apply(overlay(home, soul=f"next {len(store.snapshot_ids())}\n",
                                 extra=files.get("extra")))
    return report["snapshot"]


def policy(home, **overrides):
    doc = {"banned": ["anthropic"], "allowlist": [], "config_policy": CONFIG_POLICY,
           "endpoint_allowlist": [], "config_dest": str(home / "config.yaml"),
           "require_signatures": False, "trusted_keys": [], "revoked_keys": [], "threshold": 1}
    doc.update(overrides)
    return judge_policy_from_dict(doc, "/etc/judge.json")


def test_a_clean_snapshot_is_usable(store, home):
    snap = snapshot_of(store, home)
    verdict = judge_snapshot(store, snap, policy(home))
    assert verdict["usable"] is True and verdict["reasons"] == [] and verdict["rules"] == []
    assert verdict["snapshot"] == snap
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", verdict["judged"])
    assert re.fullmatch(r"[0-9a-f]{64}", verdict["policy_sha256"])
    assert not os.path.exists(store.verdict_path(snap))  # judging alone writes nothing


def test_banned_provider_in_config(store, home):
    snap = snapshot_of(store, home, config=GOOD_CONFIG.replace("openai/gpt-4.1\n  providers",
                                                               "claude-sonnet-4\n  providers"))
    verdict = judge_snapshot(store, snap, policy(home))
    assert verdict["usable"] is False and set(verdict["rules"]) == {"banned_provider"}
    reason = verdict["reasons"][0]
    assert reason.startswith(str(home / "config.yaml") + ":2:")
    assert "in model.default" in reason and reason.endswith("[rule banned_provider]")


def test_banned_provider_spelt_with_escapes_in_yaml(store, home):
    """The text looks clean; the decoded value the harness reads is not."""
    escaped = 'fallback:\n  provider: "\\x61nthropic"\n'
    snap = snapshot_of(store, home, extra={"extra.yaml": escaped})
    verdict = judge_snapshot(store, snap, policy(home))
    assert verdict["rules"] == ["banned_provider"]
    assert str(home / "extra.yaml") in verdict["reasons"][0]
    assert "fallback.provider" in verdict["reasons"][0]
    assert "(decoded value)" in verdict["reasons"][0]


def test_banned_provider_escaped_in_json(store, home):
    snap = snapshot_of(store, home, channels='{"x": "\\u0063laude"}\n')
    verdict = judge_snapshot(store, snap, policy(home))
    assert verdict["rules"] == ["banned_provider"]
    assert "channel_directory.json" in verdict["reasons"][0]


def test_a_secret_file_is_judged_but_never_quoted(store, home):
    snap = snapshot_of(store, home, secret=f"ANTHROPIC_KEY={SECRET_VALUE}\n")
    verdict = judge_snapshot(store, snap, policy(home))
    assert verdict["rules"] == ["banned_provider"]
    assert SECRET_VALUE not in json.dumps(verdict)


def test_the_allowlist_applies_as_at_apply_time(store, home):
    snap = snapshot_of(store, home, soul="We never use Anthropic.\n")
    assert judge_snapshot(store, snap, policy(home))["rules"] == ["banned_provider"]
    allow = [{"path": "*/SOUL.md", "term": "anthropic", "reason": "identity text"}]
    assert judge_snapshot(store, snap, policy(home, allowlist=allow))["usable"] is True


def test_config_policy_violation(store, home):
    snap = snapshot_of(store, home, config=GOOD_CONFIG.replace("https://openrouter.ai/api/v1",
                                                               "https://evil.example/v1"))
    verdict = judge_snapshot(store, snap, policy(home))
    assert verdict["rules"] == ["config_policy:endpoints.local_or_allowed"]
    assert "model.providers[0].base_url" in verdict["reasons"][0]
    assert "evil.example" in verdict["reasons"][0]
    # The inventory's endpoint allowlist counts, as for a fresh overlay.
    extra = [{"host": "evil.example", "reason": "test"}]
    assert judge_snapshot(store, snap, policy(home, endpoint_allowlist=extra))["usable"]
    # Without a config policy, the config is not judged by one.
    assert judge_snapshot(store, snap, policy(home, config_policy=None))["usable"]


def test_config_dest_decides_which_file_is_config_yaml(store, home):
    bad = GOOD_CONFIG.replace("https://openrouter.ai/api/v1", "https://evil.example/v1")
    snap = snapshot_of(store, home, config=bad)
    other = policy(home, config_dest="/elsewhere/config.yaml")
    assert judge_snapshot(store, snap, other)["usable"]  # judged as plain YAML only


def test_syntax_and_encoding(store, home):
    snap = snapshot_of(store, home, channels='{"a": 1,,}\n', extra={"notes.txt": b"\xff\xfe"})
    verdict = judge_snapshot(store, snap, policy(home))
    assert verdict["rules"] == ["syntax", "encoding"]
    assert "invalid JSON at line 1" in verdict["reasons"][0]
    assert "notes.txt: not UTF-8" in verdict["reasons"][1]


# -- signatures ---------------------------------------------------------------

@pytest.fixture(scope="module")
def keys():
    """Three generated key pairs: alice, bob, carol (never a committed key)."""
    return {name: fleet_signing.public_key_hex(fleet_signing.generate_secret_key())
            for name in ("alice", "bob", "carol")}


def signed_policy(home, keys, **overrides):
    trusted = [{"name": n, "pubkey": keys[n]} for n in ("alice", "bob")]
    return policy(home, require_signatures=True, trusted_keys=trusted, **overrides)


def test_signed_by_a_trusted_key_is_usable(store, home, keys):
    snap = snapshot_of(store, home, signatures={"src/config.yaml": [keys["alice"]],
                                                "src/SOUL.md": [keys["alice"].upper()]})
    assert judge_snapshot(store, snap, signed_policy(home, keys))["usable"] is True


def test_signed_only_by_a_key_revoked_since(store, home, keys):
    snap = snapshot_of(store, home, signatures={"src/config.yaml": [keys["alice"]]})
    verdict = judge_snapshot(store, snap, signed_policy(home, keys,
                                                        revoked_keys=[keys["alice"]]))
    assert verdict["usable"] is False and verdict["rules"] == ["signatures"]
    assert verdict["reasons"][0].startswith("src/config.yaml: signed by 0 of 1 required")
    assert "revoked: alice (" + keys["alice"][:12] in verdict["reasons"][0]


def test_signed_by_an_untrusted_key(store, home, keys):
    snap = snapshot_of(store, home, signatures={"src/config.yaml": [keys["carol"]]})
    verdict = judge_snapshot(store, snap, signed_policy(home, keys))
    assert verdict["rules"] == ["signatures"]
    assert "not trusted: " + keys["carol"][:12] in verdict["reasons"][0]


def test_threshold_counts_distinct_trusted_keys(store, home, keys):
    snap = snapshot_of(store, home,
                       signatures={"src/config.yaml": [keys["alice"], keys["alice"]]})
    verdict = judge_snapshot(store, snap, signed_policy(home, keys, threshold=2))
    assert "signed by 1 of 2" in verdict["reasons"][0]


@pytest.mark.parametrize("record", [None, {}])
def test_no_record_of_who_signed(store, home, keys, record):
    snap = snapshot_of(store, home, signatures=record)
    verdict = judge_snapshot(store, snap, signed_policy(home, keys))
    assert verdict["rules"] == ["signatures"]
    assert "no record of who signed this overlay" in verdict["reasons"][0]
    # Not judged on signatures while they are not required.
    assert judge_snapshot(store, snap, policy(home))["usable"] is True


def test_malformed_signature_record(store, home, keys):
    snap = snapshot_of(store, home, signatures={"src/config.yaml": "not a list"})
    verdict = judge_snapshot(store, snap, signed_policy(home, keys))
    assert verdict["rules"] == ["signatures"] and "malformed" in verdict["reasons"][0]


# -- damaged snapshots ----------------------------------------------------------

def test_altered_or_missing_blob_is_damaged(store, home):
    snap = snapshot_of(store, home)
    files = Path(store.snapshot_dir) / snap / "files"
    (files / "1").write_bytes(b"altered\n")
    (files / "2").unlink()
    verdict = judge_snapshot(store, snap, policy(home))
    assert verdict["rules"] == ["damaged", "damaged"]
    assert verdict["reasons"][0].startswith(str(home / "SOUL.md") + ": the stored copy")


def test_damaged_manifest(store, home):
    snap = snapshot_of(store, home)
    (Path(store.snapshot_dir) / snap / "manifest.json").write_text('{"id": 1}')
    verdict = judge_snapshot(store, snap, policy(home))
    assert verdict["rules"] == ["damaged"] and "manifest.json is damaged" in verdict["reasons"][0]


# -- judge_all --------------------------------------------------------------------

def test_judge_all_orders_writes_and_is_idempotent(store, home):
    store.apply(overlay(home))
    store.mark_known_good()  # 000001
    snap_bad = snapshot_of(store, home, soul="ask claude\n")  # 000002
    newest = store.snapshot_ids()[-1]
    result = judge_all(store, policy(home))
    ids = [v["snapshot"] for v in result["verdicts"]]
    assert ids[0] == store.known_good() and ids[1:] == [i for i in reversed(store.snapshot_ids())
                                                        if i != store.known_good()]
    assert ids[1] == newest
    assert result["changed"] is True and result["newly_unusable"] == [snap_bad]
    assert result["known_good"] == store.known_good()
    stored = store.verdict(snap_bad)
    assert stored["usable"] is False and stored["rules"] == ["banned_provider"]
    assert os.stat(store.verdict_path(snap_bad)).st_mode & 0o777 == 0o600
    before = {i: Path(store.verdict_path(i)).read_bytes() for i in store.snapshot_ids()}
    again = judge_all(store, policy(home))
    assert again["changed"] is False and again["newly_unusable"] == []
    assert again["verdicts"] == result["verdicts"]
    assert {i: Path(store.verdict_path(i)).read_bytes() for i in store.snapshot_ids()} == before


def test_judge_all_check_mode_writes_nothing(store, home):
    snap = snapshot_of(store, home, soul="ask claude\n")
    result = judge_all(store, policy(home), check=True)
    assert result["changed"] is True and result["newly_unusable"] == [snap]
    assert not any(os.path.exists(store.verdict_path(i)) for i in store.snapshot_ids())
    judge_all(store, policy(home))
    assert judge_all(store, policy(home), check=True)["changed"] is False


def test_a_tightened_policy_makes_known_good_newly_unusable(store, home):
    store.apply(overlay(home, soul="we use openai\n"))
    known, _ = store.mark_known_good()
    assert judge_all(store, policy(home))["newly_unusable"] == []
    result = judge_all(store, policy(home, banned=["anthropic", "openai"]))
    assert result["changed"] and result["newly_unusable"] == [known]
    assert store.verdict(known)["usable"] is False
    # Loosened again: usable again, and a rollback would no longer be refused.
    assert judge_all(store, policy(home))["verdicts"][0]["usable"] is True


def test_a_corrupt_stored_verdict_is_replaced(store, home):
    snap = snapshot_of(store, home)
    Path(store.verdict_path(snap)).write_text("{broken")
    result = judge_all(store, policy(home))
    assert result["changed"] and store.verdict(snap)["usable"] is True


# -- the policy file ------------------------------------------------------------------

def test_load_judge_policy_reads_the_role_s_file(tmp_path, home, keys):
    path = tmp_path / "judge.json"
    path.write_text(json.dumps({"banned": ["anthropic"], "config_policy": CONFIG_POLICY,
                                "config_dest": str(home / "config.yaml"),
                                "require_signatures": True,
                                "trusted_keys": [{"name": "alice", "pubkey": keys["alice"]}],
                                "revoked_keys": [keys["bob"]], "threshold": 1,
                                "_managed": "comment"}))
    loaded = load_judge_policy(str(path))
    assert loaded.trusted_keys == [{"name": "alice", "pubkey": keys["alice"]}]
    assert loaded.revoked_keys == [keys["bob"]]
    assert loaded.config_policy.endpoint_keys == ("base_url",)
    assert loaded.sha256 == load_judge_policy(str(path)).sha256
    assert load_judge_policy(str(path)).sha256 != policy(home).sha256


@pytest.mark.parametrize(("doc", "field"), [
    ([], "expected a JSON object"),
    ({"banedd": []}, "banedd: unknown key"),
    ({"banned": [3]}, "banned: banned[0]"),
    ({"allowlist": [{"path": "x"}]}, "allowlist: allowlist[0]"),
    ({"allowlist": "x"}, "allowlist: expected a list"),
    ({"config_policy": {"version": 2}}, "config_policy"),
    ({"endpoint_allowlist": [{"host": "x.example"}]}, "endpoint_allowlist[0].reason"),
    ({"config_dest": "relative/config.yaml"}, "config_dest: expected the absolute path"),
    ({"require_signatures": "yes"}, "require_signatures: expected true or false"),
    ({"threshold": 0}, "threshold: expected an integer >= 1"),
    ({"threshold": True}, "threshold"),
    ({"require_signatures": True}, "trusted_keys: signatures are required"),
    ({"require_signatures": True, "trusted_keys": [{"name": "a", "pubkey": "zz"}]},
     "trusted_keys[0].pubkey"),
])
def test_bad_policy_names_file_and_field(doc, field):
    with pytest.raises(JudgePolicyError) as exc:
        judge_policy_from_dict(doc, "/etc/judge.json")
    assert str(exc.value).startswith("/etc/judge.json")
    assert field in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_unreadable_or_invalid_policy_file(tmp_path):
    with pytest.raises(JudgePolicyError, match=r"missing\.json: cannot read judge policy"):
        load_judge_policy(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{\n  nope\n}")
    with pytest.raises(JudgePolicyError, match=r"bad\.json: invalid JSON at line 2 column 3"):
        load_judge_policy(str(bad))


def test_config_policy_name_is_used_in_messages(store, home):
    snap = snapshot_of(store, home, config=GOOD_CONFIG.replace("https://openrouter.ai/api/v1",
                                                               "https://evil.example/v1"))
    named = policy(home, config_policy_name="roles/golden_state/files/policy/config.yml")
    reason = judge_snapshot(store, snap, named)["reasons"][0]
    assert "to endpoints.allow in roles/golden_state/files/policy/config.yml" in reason
    with pytest.raises(JudgePolicyError, match=r"^/etc/judge\.json: config_policy: roles/"):
        policy(home, config_policy={"version": 1},
               config_policy_name="roles/golden_state/files/policy/config.yml")


def test_a_revoked_key_no_longer_trusted_is_named_by_its_key(store, home, keys):
    snap = snapshot_of(store, home, signatures={"src/config.yaml": [keys["carol"]]})
    verdict = judge_snapshot(store, snap, signed_policy(home, keys,
                                                        revoked_keys=[keys["carol"]]))
    assert f"revoked: {keys['carol'][:12]}..." in verdict["reasons"][0]


def test_a_snapshot_without_manifest_is_judged_damaged_and_kept(store, home):
    snap = snapshot_of(store, home)
    (Path(store.snapshot_dir) / snap / "manifest.json").unlink()
    result = judge_all(store, policy(home))
    assert result["newly_unusable"] == [snap]
    assert store.verdict(snap)["rules"] == ["damaged"]
    assert "not found" in store.verdict(snap)["reasons"][0]
    for version in range(5):
        store.apply(overlay(home, soul=f"v{version}\n"), keep=1)
    assert snap in store.snapshot_ids()


@pytest.mark.parametrize(("config_dest", "dest", "fmt"), [
    ("", "/h/.hermes/config.yaml", "config"),
    ("/h/.hermes/config.yaml", "/h/.hermes/config.yaml", "config"),
    ("/h/.hermes/config.yaml", "/h/other/config.yaml", "yaml"),
    ("/h/.hermes/config.yaml", "/h/.hermes/channel_directory.json", "json"),
    ("/h/.hermes/config.yaml", "/h/.timmy/SOUL.md", "text"),
])
def test_only_config_dest_is_judged_as_config_yaml(config_dest, dest, fmt):
    from fleet import snapshot_judge

    assert snapshot_judge._fmt(dest, snapshot_judge.JudgePolicy(config_dest=config_dest)) == fmt
