# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Re-judge the overlay snapshots a rollback could restore, under today's policy.

A known-good snapshot was fine when it was live, but the policy may have
moved since: a provider banned, a signer's key revoked, the config policy
tightened. Every converge therefore judges each snapshot with the same gates
as a fresh overlay (fleet.overlay_gate: syntax, config policy, banned
providers on the decoded values; and, when signatures are required, the
recorded signers under the current trust decision) and writes the verdict
beside it (``snapshots/<id>/verdict.json``, fleet.overlay). A snapshot judged
unusable is kept for forensics, never rotated away, and never restored
unless an operator forces it (``golden-state-overlay rollback
--force-unusable REASON``, logged).

The judge's policy is JSON the golden_state role hands over (a file, or
``golden-state-overlay judge --policy -`` on stdin)::

    {
      "banned": ["anthropic"],            # as fleet.providers accepts
      "allowlist": [],                    # provider allowlist {path, term, reason[, key]}
      "config_policy": {...} | null,      # the config policy document (docs/config_policy.md)
      "config_policy_name": "...",        # optional: the policy's source, for messages
      "endpoint_allowlist": [],           # more endpoint hosts {host, reason[, schemes]}
      "config_dest": "/home/wizard/.hermes/config.yaml",   # judged as config.yaml
      "require_signatures": false,
      "trusted_keys": [{"name": "alice", "pubkey": "<hex or npub>"}],
      "revoked_keys": ["<hex or npub>"],
      "threshold": 1
    }

Every key is optional (defaults: the default banned list, no config policy,
no signatures); an unknown key or a bad value raises JudgePolicyError naming
the file and the field. Verdict::

    {"snapshot": id, "usable": bool, "reasons": [str], "rules": [str],
     "judged": "2025-01-01T12:00:00Z", "policy_sha256": hex}

``rules[i]`` is the rule behind ``reasons[i]`` (each reason also ends with
``[rule <rule>]``): ``banned_provider``, ``config_policy:<rule id>``,
``syntax``, ``encoding``, ``signatures`` or ``damaged``. Reasons name the
destination file and, where the gate gives it, the path inside the document;
a secret file's content is never quoted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .config_policy import Policy, PolicyError, parse_allow_entries, parse_policy
from .files import ReadError, read_text
from .overlay import OverlayError, OverlayStore, Snapshot, format_for
from .overlay_gate import GatePolicy, RenderedFile, judge, provider_errors
from .providers import parse_allowlist, resolve_banned

RULE_BANNED = "banned_provider"
RULE_CONFIG_POLICY = "config_policy"
RULE_SYNTAX = "syntax"
RULE_ENCODING = "encoding"
RULE_SIGNATURES = "signatures"
RULE_DAMAGED = "damaged"

KEYS = ("banned", "allowlist", "config_policy", "config_policy_name", "endpoint_allowlist",
        "config_dest", "require_signatures", "trusted_keys", "revoked_keys", "threshold")
_POLICY_RULE = re.compile(r"\(rule ([A-Za-z0-9_.:-]+); to permit:")
# The schema is the controller's business (a versioned file in the role); the
# judge checks syntax, policy and providers, so config.yaml gets an empty schema.
_NO_SCHEMA: dict = {}


class JudgePolicyError(ValueError):
    """The judge's policy file is unreadable or has a bad field; the message names both."""


@dataclass
class JudgePolicy:
    """Today's policy, as the judge applies it to every snapshot."""

    banned: Any = None
    allowlist: list = field(default_factory=list)
    config_policy: Policy | None = None
    endpoint_allowlist: tuple = ()
    config_dest: str = ""  # empty: any file named config.yaml is judged as config.yaml
    require_signatures: bool = False
    trusted_keys: list = field(default_factory=list)  # [{name, pubkey hex}]
    revoked_keys: list = field(default_factory=list)  # [pubkey hex]
    threshold: int = 1
    sha256: str = ""  # of the policy document: which policy a verdict was reached under

    def gate(self) -> GatePolicy:
        return GatePolicy(banned=self.banned, allowlist=self.allowlist, schema=_NO_SCHEMA,
                          config_policy=self.config_policy,
                          endpoint_allowlist=tuple(self.endpoint_allowlist))


def _fail(path: str, key: str, problem: str) -> JudgePolicyError:
    return JudgePolicyError(f"{path}: {key}: {problem}")


def _list(doc: dict, key: str, path: str) -> list:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(path, key, f"expected a list, got {type(value).__name__}")
    return value


def judge_policy_from_dict(doc: Any, path: str = "judge policy") -> JudgePolicy:
    """Validate a decoded policy document; JudgePolicyError names ``path`` and the field."""
    if not isinstance(doc, dict):
        raise JudgePolicyError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    unknown = sorted(k for k in doc if k not in KEYS and not str(k).startswith("_"))
    if unknown:
        raise JudgePolicyError(f"{path}: {', '.join(map(str, unknown))}: unknown key(s) "
                               f"(allowed: {', '.join(KEYS)})")
    policy = JudgePolicy(sha256=hashlib.sha256(
        json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest())
    if doc.get("banned") is not None:
        try:
            resolve_banned(doc["banned"])
        except ValueError as exc:
            raise _fail(path, "banned", str(exc)) from None
        policy.banned = doc["banned"]
    try:
        policy.allowlist = parse_allowlist(_list(doc, "allowlist", path))
    except ValueError as exc:
        raise _fail(path, "allowlist", str(exc)) from None
    name = doc.get("config_policy_name") or f"{path} (config_policy)"
    if not isinstance(name, str):
        raise _fail(path, "config_policy_name", "expected a string")
    try:
        if doc.get("config_policy") is not None:
            policy.config_policy = parse_policy(doc["config_policy"], name)
        policy.endpoint_allowlist = parse_allow_entries(
            _list(doc, "endpoint_allowlist", path), path, "endpoint_allowlist")
    except PolicyError as exc:
        message = str(exc)
        if doc.get("config_policy_name") and not message.startswith(path):
            message = f"{path}: config_policy: {message}"
        raise JudgePolicyError(message) from None
    dest = doc.get("config_dest") or ""
    if not isinstance(dest, str) or (dest and not os.path.isabs(dest)):
        raise _fail(path, "config_dest", "expected the absolute path of config.yaml on the host")
    policy.config_dest = dest
    require = doc.get("require_signatures", False)
    if not isinstance(require, bool):
        raise _fail(path, "require_signatures", "expected true or false")
    policy.require_signatures = require
    threshold = doc.get("threshold", 1)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise _fail(path, "threshold", "expected an integer >= 1")
    policy.threshold = threshold
    trusted = _list(doc, "trusted_keys", path)
    revoked = _list(doc, "revoked_keys", path)
    if require:  # keys matter (and coincurve is needed to validate them) only then
        policy.trusted_keys, policy.revoked_keys = _keys(trusted, revoked, path)
        if not policy.trusted_keys:
            raise _fail(path, "trusted_keys", "signatures are required, but no trusted key is "
                                              "listed (the trust decision is empty)")
    return policy


def _keys(trusted: list, revoked: list, path: str) -> tuple[list, list]:
    from .signing import SignatureError, normalise_key_list, normalise_revoked_list

    try:
        keys = normalise_key_list(trusted, f"{path}: trusted_keys")
        gone = normalise_revoked_list(revoked, f"{path}: revoked_keys")
    except SignatureError as exc:
        raise JudgePolicyError(str(exc)) from None
    return keys, gone


def parse_judge_policy(text: str, name: str) -> JudgePolicy:
    """Parse the policy's JSON text (``name`` is the file, or ``<stdin>``, for messages)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JudgePolicyError(f"{name}: invalid JSON at line {exc.lineno} column {exc.colno}: "
                               f"{exc.msg}") from None
    except (RecursionError, ValueError) as exc:
        raise JudgePolicyError(f"{name}: invalid JSON: {type(exc).__name__}") from None
    return judge_policy_from_dict(doc, name)


def load_judge_policy(path: str) -> JudgePolicy:
    """Read the judge's policy file (JSON); JudgePolicyError names the file and the field."""
    try:
        text = read_text(path, "judge policy")
    except ReadError as exc:
        raise JudgePolicyError(str(exc)) from None
    return parse_judge_policy(text, path)


# --------------------------------------------------------------------------
# Judging


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _fmt(dest: str, policy: JudgePolicy) -> str:
    """fleet.overlay.format_for, except that only config_dest (when given) is config.yaml."""
    fmt = format_for(dest)
    if not policy.config_dest:
        return fmt
    if dest == policy.config_dest:
        return "config"
    return "yaml" if fmt == "config" else fmt


class _Verdict:
    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.rules: list[str] = []

    def add(self, reason: str, rule: str) -> None:
        self.reasons.append(f"{reason} [rule {rule}]")
        self.rules.append(rule)


def _gate_findings(item: RenderedFile, gate: GatePolicy, out: _Verdict) -> None:
    lines = judge([item], gate)
    banned = set(provider_errors(item, gate)) if lines else set()
    for line in lines:
        match = _POLICY_RULE.search(line)
        if line in banned:
            out.add(line, RULE_BANNED)
        elif match:
            out.add(line, f"{RULE_CONFIG_POLICY}:{match.group(1)}")
        else:
            out.add(line, RULE_SYNTAX)


def _judge_files(store: OverlayStore, snap: Snapshot, policy: JudgePolicy,
                 out: _Verdict) -> None:
    """Each stored file, in manifest order, as the gate would judge it fresh."""
    gate = policy.gate()
    for entry in snap.files:
        if not entry.get("present"):
            continue
        dest = str(entry.get("dest"))
        try:
            data = store.snapshot_content(snap.id, entry)
        except (OverlayError, KeyError, TypeError, OSError):
            out.add(f"{dest}: the stored copy in snapshot {snap.id} is missing or damaged",
                    RULE_DAMAGED)
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            out.add(f"{dest}: not UTF-8 (byte offset {exc.start}), cannot be judged",
                    RULE_ENCODING)
            continue
        _gate_findings(RenderedFile(dest=dest, content=text, fmt=_fmt(dest, policy),
                                    secret=bool(entry.get("secret"))), gate, out)


def _short(pubkey: str) -> str:
    return pubkey[:12] + "..." if len(pubkey) > 12 else pubkey


def _signature_findings(snap: Snapshot, policy: JudgePolicy, out: _Verdict) -> None:
    record = snap.signatures
    if not record:
        out.add("no record of who signed this overlay (taken before signers were recorded, or "
                "applied without signatures), and signatures are required", RULE_SIGNATURES)
        return
    if not isinstance(record, dict):
        out.add("the record of who signed this overlay is malformed", RULE_SIGNATURES)
        return
    trusted = {k["pubkey"]: k["name"] for k in policy.trusted_keys}
    revoked = set(policy.revoked_keys)
    for source in sorted(record, key=str):
        keys = record[source]
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            out.add(f"{source}: the record of its signers is malformed", RULE_SIGNATURES)
            continue
        keys = list(dict.fromkeys(k.strip().lower() for k in keys))
        counted = [k for k in keys if k in trusted and k not in revoked]
        if len(counted) >= policy.threshold:
            continue
        gone = [f"{trusted[k]} ({_short(k)})" if k in trusted else _short(k)
                for k in keys if k in revoked]
        unknown = [_short(k) for k in keys if k not in trusted and k not in revoked]
        detail = "".join([f"; revoked: {', '.join(gone)}" if gone else "",
                          f"; not trusted: {', '.join(unknown)}" if unknown else ""])
        out.add(f"{source}: signed by {len(counted)} of {policy.threshold} required trusted, "
                f"unrevoked key(s){detail}", RULE_SIGNATURES)


def judge_snapshot(store: OverlayStore, snap_id: str, policy: JudgePolicy) -> dict:
    """The verdict on one snapshot under ``policy`` (nothing is written)."""
    out = _Verdict()
    try:
        snap = store.load_snapshot(snap_id)
    except OverlayError as exc:
        out.add(str(exc), RULE_DAMAGED)
        snap = None
    if snap is not None:
        _judge_files(store, snap, policy, out)
        if policy.require_signatures:
            _signature_findings(snap, policy, out)
    return {"snapshot": snap_id, "usable": not out.reasons, "reasons": out.reasons,
            "rules": out.rules, "judged": _now(), "policy_sha256": policy.sha256}


def _same(stored: dict | None, verdict: dict) -> bool:
    if stored is None:
        return False
    return {k: v for k, v in stored.items() if k != "judged"} == \
        {k: v for k, v in verdict.items() if k != "judged"}


def judge_all(store: OverlayStore, policy: JudgePolicy, check: bool = False) -> dict:
    """Judge every snapshot a rollback could restore: known-good first, then newest first.

    A verdict is written (unless ``check``) only when it differs from the
    stored one, ``judged`` aside; an unchanged one is reported as stored.
    """
    known = store.known_good()
    ids = store.snapshot_ids()
    order = ([known] if known in ids else []) + [i for i in reversed(ids) if i != known]
    verdicts, newly_unusable = [], []
    changed = False
    for snap_id in order:
        verdict = judge_snapshot(store, snap_id, policy)
        try:
            stored = store.verdict(snap_id)
        except OverlayError:  # unreadable: replaced by the fresh verdict
            stored = None
        if _same(stored, verdict):
            verdict = stored
        else:
            changed = True
            if not check:
                store.set_verdict(snap_id, verdict)
        if not verdict["usable"] and (stored is None or stored.get("usable") is not False):
            newly_unusable.append(snap_id)
        verdicts.append(verdict)
    return {"changed": changed, "known_good": known, "verdicts": verdicts,
            "newly_unusable": newly_unusable}


__all__ = ["JudgePolicy", "JudgePolicyError", "judge_all", "judge_policy_from_dict",
           "judge_snapshot", "load_judge_policy", "parse_judge_policy"]
