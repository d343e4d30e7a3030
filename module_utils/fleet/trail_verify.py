# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify Trail-FLUX v1 trails: every check of the format contract, never raising.

``verify_trail(data)`` returns a ``TrailReport`` whose ``findings`` say what is
wrong and where (code, message, byte offset, step index). ``verify_trail_file``
reads a file (size-limited) and its ``<file>.sig`` when a signature policy asks.

Finding codes: BAD_INPUT, TOO_LARGE, READ_ERROR, TRUNCATED, BEGIN_NOT_FIRST,
BEGIN_MISPLACED, BEGIN_DUPLICATE, UNKNOWN_OPCODE, BAD_OPERAND_COUNT, TOO_MANY_STEPS,
STEP_AFTER_END, END_MISSING, TOTAL_STEPS_MISMATCH, UNKNOWN_STATUS, TABLE_MISSING,
TABLE_MISPLACED, TRAILING_BYTES, KEY_MISMATCH, STRING_OVERFLOW, DUPLICATE_KEY,
INVALID_UTF8, UNRESOLVED_STRING, REENCODE_MISMATCH, FINGERPRINT_MISMATCH,
SIGNATURE_MISSING, SIGNATURE_INVALID, SIGNATURE_REJECTED, SIGNATURE_UNAVAILABLE,
BANNED_PROVIDER, INTERNAL_ERROR.

BANNED_PROVIDER needs a ``banned`` list: a decoded string names a banned provider.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import signing
from .files import open_regular
from .providers import scan_text
from .trail import (
    OP_BEGIN,
    OP_END,
    OP_NAMES,
    STATUS_NAMES,
    STRUCTURAL,
    Finding,
    encode_raw,
    guess_agent,
    parse,
    referenced_keys,
)

DEFAULT_MAX_SIZE = 16 * 1024 * 1024


@dataclass
class SignaturePolicy:
    """Who must have signed a trail: ``threshold`` distinct trusted, unrevoked keys.

    threshold 0: signatures are not required (signers are still reported).
    """

    trusted: list[dict] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    threshold: int = 1


@dataclass
class TrailReport:
    """Result of verifying one trail."""

    findings: list[Finding] = field(default_factory=list)
    fingerprint: str | None = None
    size: int = 0
    steps: int = 0
    histogram: dict[str, int] = field(default_factory=dict)
    agent_id: int | None = None
    agent: str | None = None
    trail_id: str | None = None
    timestamp: int | None = None
    status: str | None = None
    signers: list[str] = field(default_factory=list)
    signature: dict[str, Any] | None = None
    path: str | None = None

    @property
    def valid(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "valid": self.valid, "fingerprint": self.fingerprint,
            "size": self.size, "steps": self.steps, "histogram": dict(self.histogram),
            "agent_id": self.agent_id, "agent": self.agent, "trail_id": self.trail_id,
            "timestamp": self.timestamp, "status": self.status,
            "signers": list(self.signers), "signature": self.signature,
            "findings": [f.to_dict() for f in self.findings],
        }

    def lines(self, name: str | None = None) -> list[str]:
        """Human-readable findings: ``file:offset 0x..: step N: CODE message``."""
        prefix = name or self.path or "<trail>"
        return [f"{prefix}:{finding}" for finding in self.findings]


def verify_trail(data, *, expected_fingerprint: str | None = None,
                 max_size: int = DEFAULT_MAX_SIZE, policy: SignaturePolicy | None = None,
                 signatures: list[dict] | None = None,
                 signature_error: str | None = None, banned: Any = None) -> TrailReport:
    """Run every check of the format on ``data``. Never raises.

    ``signatures``: the events of the trail's ``.sig`` file (None = no file);
    ``signature_error``: why the ``.sig`` file could not be read, if it could not;
    ``banned``: banned providers (docs/providers.md) no decoded string may name.
    """
    report = TrailReport()
    try:
        _verify(report, data, expected_fingerprint, max_size, policy, signatures,
                signature_error, banned)
    except Exception as exc:  # the verifier must answer for any input
        report.findings.append(Finding("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}", 0))
    return report


def _verify(report: TrailReport, data, expected: str | None, max_size: int,
            policy: SignaturePolicy | None, signatures, signature_error,
            banned: Any = None) -> None:
    findings = report.findings
    if not isinstance(data, (bytes, bytearray, memoryview)):
        findings.append(Finding("BAD_INPUT", f"trail must be bytes, got {type(data).__name__}"))
        return
    data = bytes(data)
    report.size = len(data)
    report.fingerprint = hashlib.sha256(data).hexdigest()
    if expected is not None and not isinstance(expected, str):
        findings.append(Finding("BAD_INPUT", "expected fingerprint must be a hex string, got "
                                f"{type(expected).__name__}"))
    elif expected is not None and expected.strip().lower() != report.fingerprint:
        findings.append(Finding("FINGERPRINT_MISMATCH", f"fingerprint {report.fingerprint} "
                                f"is not the expected {expected}"))
    if len(data) > max_size:
        findings.insert(0, Finding("TOO_LARGE", f"{len(data)} bytes is over the "
                                   f"{max_size}-byte limit; not decoded", max_size))
        return
    parsed = parse(data)
    findings[:0] = parsed.findings
    _summarise(report, parsed)
    if (parsed.complete and parsed.begin and parsed.end
            and not any(f.code in STRUCTURAL for f in parsed.findings)):
        _check_reencode(report, parsed, data)
    if banned is not None:
        _check_banned(report, parsed, banned)
    if policy is not None:
        _check_signatures(report, data, policy, signatures, signature_error)


def _summarise(report: TrailReport, parsed) -> None:
    steps = parsed.steps
    report.steps = len(steps)
    counts = Counter(op for op, _offset, _operands in steps)
    report.histogram = {OP_NAMES[op]: n for op, n in sorted(counts.items())}
    if parsed.begin:
        agent_id, trail_key, timestamp = parsed.begin
        report.agent_id = agent_id
        report.timestamp = timestamp
        report.trail_id = parsed.strings.get(trail_key)
        report.agent = _guess_agent(parsed, agent_id)
    if parsed.end:
        status = parsed.end[1]
        report.status = STATUS_NAMES.get(status, f"unknown({status})")


def _guess_agent(parsed, agent_id: int) -> str | None:
    """The agent name is in the table but unreferenced; agent_id may be its hash byte."""
    if len(parsed.strings) > 4096:  # a heuristic for display; bound its cost
        return None
    return guess_agent(parsed.strings, agent_id, referenced_keys(parsed.steps))


def _check_banned(report: TrailReport, parsed, banned: Any) -> None:
    """The string table as the harness decodes it must name no banned provider."""
    for key, raw, offset in parsed.table:
        for finding in scan_text(raw.decode("utf-8", "replace"), banned):
            report.findings.append(Finding(
                "BANNED_PROVIDER", f"string 0x{key:08x} names banned provider "
                f"{finding.provider} (term {finding.term!r})", offset))


def _check_reencode(report: TrailReport, parsed, data: bytes) -> None:
    agent_id, trail_key, timestamp = parsed.begin
    total, status = parsed.end
    body = [(op, operands) for op, _offset, operands in parsed.steps
            if op not in (OP_BEGIN, OP_END)]
    again = encode_raw(agent_id, trail_key, timestamp, body, total, status,
                       [(key, raw) for key, raw, _offset in parsed.table])
    if again != data:
        at = next((i for i, (a, b) in enumerate(zip(again, data, strict=False)) if a != b),
                  min(len(again), len(data)))
        hint = ""
        if parsed.table_offset is not None and at >= parsed.table_offset:
            hint = " (table entries are not sorted by key)"
        report.findings.append(Finding("REENCODE_MISMATCH", "re-encoding the decoded trail "
                                       f"gives different bytes from here{hint}", at))


def _check_signatures(report: TrailReport, data: bytes, policy: SignaturePolicy,
                      signatures, signature_error) -> None:
    findings = report.findings
    if signature_error is not None:
        if policy.threshold > 0:
            findings.append(Finding("SIGNATURE_INVALID", signature_error))
        else:
            report.signature = {"error": signature_error}
        return
    if signatures is None:
        if policy.threshold > 0:
            findings.append(Finding("SIGNATURE_MISSING", "no signature file; "
                                    f"{policy.threshold} trusted signature(s) required"))
        return
    if signing.COINCURVE_IMPORT_ERROR is not None:
        if policy.threshold > 0:
            findings.append(Finding("SIGNATURE_UNAVAILABLE", "signature checks need the coincurve "
                                    f"library: {signing.COINCURVE_IMPORT_ERROR}"))
        return
    try:
        result = signing.verify_policy(data, signatures, policy.trusted,
                                       list(policy.revoked), max(policy.threshold, 1))
    except ValueError as exc:
        if policy.threshold > 0:
            findings.append(Finding("SIGNATURE_INVALID", str(exc)))
        return
    report.signers = list(result.signers)
    report.signature = result.to_dict()
    if policy.threshold > 0 and not result.accepted:
        why = "; ".join(f"event {r.get('index')}: {r.get('reason')}"
                        for r in result.reasons if r.get("reason") != "ok") or "no events"
        findings.append(Finding("SIGNATURE_REJECTED", f"{len(result.signers)} of "
                                f"{policy.threshold} required trusted signature(s): {why}"))


def read_limited(path: str, max_size: int) -> bytes:
    """Read at most max_size + 1 bytes, so an oversized file is not pulled into memory.

    Regular files only, never blocking (``open_regular``): a FIFO or device
    is an OSError ``not a regular file (a FIFO)``.
    """
    fd = open_regular(path)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(max_size + 1)


def verify_trail_file(path: str, *, expected_fingerprint: str | None = None,
                      max_size: int = DEFAULT_MAX_SIZE,
                      policy: SignaturePolicy | None = None,
                      banned: Any = None) -> TrailReport:
    """Verify the trail at ``path`` (and ``path.sig`` when a policy is given). Never raises."""
    try:
        data = read_limited(path, max_size)
    except OSError as exc:
        report = TrailReport(path=path)
        report.findings.append(Finding("READ_ERROR", f"cannot read: {exc.strerror or exc}"))
        return report
    if len(data) > max_size:
        report = TrailReport(path=path, size=os.path.getsize(path))
        report.findings.append(Finding("TOO_LARGE", f"file is {report.size} bytes, over the "
                                       f"{max_size}-byte limit; not read", max_size))
        return report
    signatures = signature_error = None
    if policy is not None:
        signatures, signature_error = _read_signatures(path + ".sig")
    report = verify_trail(data, expected_fingerprint=expected_fingerprint, max_size=max_size,
                          policy=policy, signatures=signatures,
                          signature_error=signature_error, banned=banned)
    report.path = path
    return report


def expected_for(expected: Any, path: str, listed: str | None = None) -> str | None:
    """The fingerprint pinned for the trail at ``path``, or None when none is.

    ``expected`` is None (nothing pinned), one fingerprint for every trail, or a
    mapping whose keys are the entry as listed (``listed``: how an inventory names
    it, before it is resolved to ``path``), the path, its absolute form or its base
    name; the first of those present wins. The trail_verify module and the trails
    role's pin lookup (filter ``trail_pin``) both ask here.
    """
    if expected is None:
        return None
    if isinstance(expected, str):
        return expected
    if not isinstance(expected, Mapping):
        raise TypeError(f"expected fingerprints must be a string or a mapping of path -> "
                        f"fingerprint, got {type(expected).__name__}")
    keys = [] if listed is None else [listed]
    for key in (*keys, path, os.path.abspath(path), os.path.basename(path)):
        if key in expected:
            return expected[key]
    return None


def _read_signatures(sig_path: str) -> tuple[list[dict] | None, str | None]:
    if not os.path.exists(sig_path):
        return None, None
    try:
        return signing.read_sig_file(sig_path), None
    except (ValueError, OSError) as exc:
        return None, f"{sig_path}: {exc}"
